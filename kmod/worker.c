// SPDX-License-Identifier: GPL-2.0
/*
 * Mark workers: one kernel thread bound to each CPU online at load, shared
 * by every heap. See collect.c for the cycle.
 *
 * A cycle is posted to a FIFO; every worker joins the oldest cycle it has
 * not worked on, takes root jobs from its parallel-for until none are left,
 * then drains grey objects until the getfull barrier ends the mark, and
 * leaves; the last to leave completes the cycle. Each worker keeps its
 * current workbuf to itself (the per-CPU cache) and trades only whole
 * buffers.
 *
 * Cycles of different heaps share the workers. A cycle whose world is
 * stopped is urgent: its program waits for every microsecond of the mark.
 * One whose world runs (a concurrent cycle's mark and precleaning) is not,
 * and may be long (a second for 256 MiB under TCG): a worker marking it
 * looks, every few dozen objects and while it waits at the barrier
 * (gcmem_worker_yield()), for a cycle posted since it joined, marks that
 * one to its end, and comes back. So a small heap's stop-the-world cycle
 * waits for no other heap's concurrent mark, and a second concurrent mark
 * runs before the first one's rest; a stopped world's mark is never left.
 * Termination stays sound (work.c): the worker away holds no work of the
 * cycle it left and counts as waiting there, so that cycle's mark goes on,
 * and may end, without it; no worker ever waits for one that is away (the
 * first version kept its buffer, and a worker at the depth limit could
 * then wait forever for one that had gone to a cycle waiting for it).
 *
 * A worker runs on its own CPU, but for the few that mark beside the
 * running program (a quarter): the scheduler places those, as it places
 * the program's threads. Bound, the one worker of a 2-CPU machine shares
 * CPU 0 with whichever thread the scheduler put there, while the other
 * CPU idles: GCBench's one thread pinned to CPU 0 ran 4.57 s, pinned to
 * CPU 1 2.96 s, unpinned 3.5-3.9 s (concurrent, the 6.12 guest under
 * TCG).
 *
 * CPUs brought online after the module loaded get no worker; a worker whose
 * CPU goes offline keeps running elsewhere.
 */
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/kthread.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "collect.h"

struct gcmem_worker {
	struct task_struct *task;
	int cpu;
	int index;
	u64 last_seq;			/* the last cycle it worked on */
	int depth;			/* cycles it marks, one inside another */
	bool floating;			/* not bound to @cpu (above) */
	u64 away_ns;			/* time marking cycles it went to */
};

/* How deep a worker goes from cycle to cycle (a heap each). */
#define GCMEM_WORKER_DEPTH_MAX	4

/* How many workers mark a cycle: 0 for all (benchmarks compare 1 and 2). */
static int gcmem_mark_workers;
module_param_named(mark_workers, gcmem_mark_workers, int, 0644);
MODULE_PARM_DESC(mark_workers, "mark workers per cycle, 0 for one per CPU");

static struct gcmem_worker *gcmem_workers;
static int gcmem_nworkers;
static LIST_HEAD(gcmem_cycles);		/* posted, oldest first */
static DEFINE_SPINLOCK(gcmem_cycles_lock);
static DECLARE_WAIT_QUEUE_HEAD(gcmem_workers_wq);
static u64 gcmem_cycle_seq;
static atomic64_t gcmem_posted_seq;	/* @gcmem_cycle_seq, for a peek */

/*
 * How many workers mark beside the running program (a concurrent cycle's
 * mark and precleaning): 0 for a quarter of the cycle's workers, at least
 * one. Go's background mark takes a quarter of the CPUs for the same
 * reason: a mark that takes them all leaves the program nothing while it
 * runs, and its allocations then wait at the goal for the mark to end;
 * what the workers cannot do, the allocating threads' assists do
 * (gcmem_mark_assist()). The mark termination, its world stopped, takes
 * them all.
 */
static int gcmem_mark_workers_beside;
module_param_named(mark_workers_beside, gcmem_mark_workers_beside, int, 0644);
MODULE_PARM_DESC(mark_workers_beside, "mark workers beside the running program, 0 for a quarter of them (at least one)");

/* The workers of the next cycle: fixed when the cycle is created. */
int gcmem_workers_nproc(void)
{
	int n = READ_ONCE(gcmem_mark_workers);

	return n > 0 && n < gcmem_nworkers ? n : gcmem_nworkers;
}

/* Of @nproc, those that mark while the world runs. */
int gcmem_workers_nproc_beside(int nproc)
{
	int n = READ_ONCE(gcmem_mark_workers_beside);

	if (n <= 0)
		n = DIV_ROUND_UP(nproc, 4);
	return min(n, nproc);
}

/* @c->work.nproc workers, the first ones, join the cycle. */
void gcmem_workers_post(struct gcmem_cycle *c)
{
	atomic_set(&c->workers_left, c->work.nproc);
	spin_lock(&gcmem_cycles_lock);
	c->seq = ++gcmem_cycle_seq;
	atomic64_set(&gcmem_posted_seq, c->seq);
	list_add_tail(&c->node, &gcmem_cycles);
	spin_unlock(&gcmem_cycles_lock);
	wake_up_all(&gcmem_workers_wq);
}

/* The oldest posted cycle @w has not joined yet, or NULL. */
static struct gcmem_cycle *gcmem_next_cycle(struct gcmem_worker *w)
{
	struct gcmem_cycle *c;

	spin_lock(&gcmem_cycles_lock);
	list_for_each_entry(c, &gcmem_cycles, node) {
		if (c->seq <= w->last_seq)
			continue;
		w->last_seq = c->seq;
		if (w->index >= c->work.nproc)
			continue;	/* not one of this cycle's workers */
		spin_unlock(&gcmem_cycles_lock);
		return c;
	}
	spin_unlock(&gcmem_cycles_lock);
	return NULL;
}

/* Let the scheduler place @w (@floating), or bind it to its CPU again. */
static void gcmem_worker_float(struct gcmem_worker *w, bool floating)
{
	if (w->floating == floating)
		return;
	/* Only fails for a mask with no CPU online: stay where we are. */
	if (!set_cpus_allowed_ptr(current, floating ? cpu_online_mask :
						     cpumask_of(w->cpu)))
		w->floating = floating;
}

/* @w marks @c to its end in @c's address space; the last completes it. */
static void gcmem_worker_run(struct gcmem_worker *w, struct gcmem_cycle *c)
{
	u64 away = w->away_ns, ns;
	ktime_t start = ktime_get();
	bool floating = w->floating;

	w->depth++;
	gcmem_worker_float(w, READ_ONCE(c->beside));
	kthread_use_mm(c->mm);
	gcmem_mark_worker(c, w->cpu);
	kthread_unuse_mm(c->mm);
	gcmem_worker_float(w, floating);
	w->depth--;
	/* Not the time spent on the cycles it went to meanwhile. */
	ns = ktime_to_ns(ktime_sub(ktime_get(), start));
	atomic64_add(ns - min(ns, w->away_ns - away), &c->heap->worker_ns);

	if (atomic_dec_and_test(&c->workers_left)) {
		spin_lock(&gcmem_cycles_lock);
		list_del(&c->node);
		spin_unlock(&gcmem_cycles_lock);
		complete(&c->done);
	}
}

/*
 * gcmem_worker_yield() - @owner scans for the cycle of @work: if it is one
 * of the mark workers, the cycle's world runs, and a cycle was posted
 * since the worker joined, say so (@go false), or mark that one now and
 * come back (@go true; the caller holds no work of @work's and counts as
 * waiting there). See above.
 */
bool gcmem_worker_yield(struct gcmem_work *work, int owner, bool go)
{
	struct gcmem_cycle *c = container_of(work, struct gcmem_cycle, work);
	struct gcmem_cycle *next;
	struct gcmem_worker *w;
	ktime_t start;
	int i;

	if (owner < 0 || READ_ONCE(c->stopped))
		return false;
	for (i = 0, w = NULL; i < gcmem_nworkers; i++)
		if (gcmem_workers[i].cpu == owner &&
		    gcmem_workers[i].task == current)
			w = &gcmem_workers[i];
	if (!w || w->depth >= GCMEM_WORKER_DEPTH_MAX ||
	    atomic64_read(&gcmem_posted_seq) <= w->last_seq)
		return false;
	if (!go)
		return true;
	next = gcmem_next_cycle(w);
	if (!next)
		return false;
	start = ktime_get();
	kthread_unuse_mm(c->mm);
	gcmem_worker_run(w, next);
	kthread_use_mm(c->mm);
	w->away_ns += ktime_to_ns(ktime_sub(ktime_get(), start));
	return true;
}

static int gcmem_worker_fn(void *data)
{
	struct gcmem_worker *w = data;
	struct gcmem_cycle *c;

	while (!kthread_should_stop()) {
		c = NULL;
		wait_event_interruptible(gcmem_workers_wq,
					 kthread_should_stop() ||
					 (c = gcmem_next_cycle(w)));
		if (kthread_should_stop())
			break;
		if (c)
			gcmem_worker_run(w, c);
	}
	return 0;
}

int gcmem_workers_start(void)
{
	struct gcmem_worker *w;
	int cpu, n = 0;

	gcmem_workers = kcalloc(num_possible_cpus(), sizeof(*gcmem_workers),
				GFP_KERNEL);
	if (!gcmem_workers)
		return -ENOMEM;
	cpus_read_lock();
	for_each_online_cpu(cpu) {
		w = &gcmem_workers[n];
		w->cpu = cpu;
		w->index = n;
		w->task = kthread_create_on_cpu(gcmem_worker_fn, w, cpu,
						"gcmem_mark/%u");
		if (IS_ERR(w->task))
			break;
		n++;
	}
	cpus_read_unlock();
	gcmem_nworkers = n;
	if (!n) {
		kfree(gcmem_workers);
		return -ENOMEM;
	}
	for (cpu = 0; cpu < n; cpu++)
		wake_up_process(gcmem_workers[cpu].task);
	return 0;
}

/* Module exit: no heap exists, so no cycle is posted. */
void gcmem_workers_stop(void)
{
	int i;

	for (i = 0; i < gcmem_nworkers; i++)
		kthread_stop(gcmem_workers[i].task);
	kfree(gcmem_workers);
}
