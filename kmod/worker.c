// SPDX-License-Identifier: GPL-2.0
/*
 * Mark workers: one kernel thread bound to each CPU online at load, shared
 * by every heap. See collect.c for the cycle.
 *
 * A cycle is posted to a FIFO; every worker joins the oldest cycle it has
 * not worked on, takes root jobs from its parallel-for until none are left,
 * then drains grey objects until the getfull barrier ends the mark, and
 * leaves; the last to leave completes the cycle. Cycles of different heaps
 * thus run one after the other, each with every CPU: one process's
 * collection delays another's by at most its own mark, and never starves
 * it. Each worker keeps its current workbuf to itself (the per-CPU cache)
 * and trades only whole buffers.
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
};

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

/* The workers of the next cycle: fixed when the cycle is created. */
int gcmem_workers_nproc(void)
{
	int n = READ_ONCE(gcmem_mark_workers);

	return n > 0 && n < gcmem_nworkers ? n : gcmem_nworkers;
}

/* @c->work.nproc workers, the first ones, join the cycle. */
void gcmem_workers_post(struct gcmem_cycle *c)
{
	atomic_set(&c->workers_left, c->work.nproc);
	spin_lock(&gcmem_cycles_lock);
	c->seq = ++gcmem_cycle_seq;
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

static int gcmem_worker_fn(void *data)
{
	struct gcmem_worker *w = data;
	struct gcmem_cycle *c;
	ktime_t start;

	while (!kthread_should_stop()) {
		c = NULL;
		wait_event_interruptible(gcmem_workers_wq,
					 kthread_should_stop() ||
					 (c = gcmem_next_cycle(w)));
		if (kthread_should_stop())
			break;
		if (!c)
			continue;

		start = ktime_get();
		kthread_use_mm(c->mm);
		gcmem_mark_worker(c, w->cpu);
		kthread_unuse_mm(c->mm);
		atomic64_add(ktime_to_ns(ktime_sub(ktime_get(), start)),
			     &c->heap->worker_ns);

		if (atomic_dec_and_test(&c->workers_left)) {
			spin_lock(&gcmem_cycles_lock);
			list_del(&c->node);
			spin_unlock(&gcmem_cycles_lock);
			complete(&c->done);
		}
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
