// SPDX-License-Identifier: GPL-2.0
/*
 * Workbufs: how mark work moves between scanners. See collect.c for the
 * cycle.
 *
 * Each scanner (a mark worker, or a thread scanning its own stack at a
 * safepoint) fills and drains its own current buffer without locking, and
 * trades whole buffers through the cycle's lists: full ones to share work,
 * partial ones when it stops with work left, empty ones to reuse memory
 * (seeds 000-002). The lists are plain lists under one spinlock, taken
 * once per buffer, i.e. once per ~250 objects; a lock-free stack would save
 * little at that rate and bring the ABA problem with it.
 *
 * Termination is the getfull barrier: a worker with no buffer counts itself
 * waiting; marking is over when all workers wait and no list holds work.
 * Since a worker only waits with no buffer of its own and only stops waiting
 * by taking a buffer off a list, "all wait and the lists are empty" cannot
 * change once true. A worker that goes to mark another cycle meanwhile
 * (@yield) puts its buffer back first and counts as waiting while away,
 * so the mark may end without it (it finds it over when it is back) and
 * no worker waits for one that is away. A thread that helps the mark
 * (@nassist) is not a worker: it never waits at the barrier, but the
 * barrier waits for it, since what it holds is on no list; it counts
 * itself helping and takes its first buffer under the lock, so the
 * barrier's last look, under the lock too, sees either the buffer on a
 * list or the helper. A helper that found nothing and waits for work
 * (@hungry) holds nothing and is not counted helping: the scanners share
 * with it as with a waiting worker, and it counts itself helping again
 * before it takes what they shared.
 *
 * With debugging on, every get and put checks the buffer's owner and that
 * full buffers are non-empty and empty ones empty (seed 002's
 * logget/logput).
 */
#include <linux/delay.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "work.h"

#define GCMEM_WB_NOBODY	(-1)

/*
 * A worker that finds no work spins GCMEM_GETFULL_SPINS pauses first (a
 * few microseconds natively, about the time another worker takes to scan
 * a few objects and share a buffer), then sleeps 20-100 us at a time:
 * short against a mark of milliseconds, long enough to give its CPU to
 * the program or to a worker that has work (workers are not alone on
 * their CPUs), and a range so that the timer can batch wakeups.
 */
#define GCMEM_GETFULL_SPINS	64
#define GCMEM_GETFULL_SLEEP_US	20
#define GCMEM_GETFULL_SLACK_US	80

/*
 * Splitting a buffer costs a buffer from the lists, a copy and the list
 * lock twice, about what scanning a few small objects costs: below this
 * many objects a worker keeps them.
 */
#define GCMEM_BALANCE_MIN	8

void gcmem_work_init(struct gcmem_work *work, int nproc, bool debug)
{
	spin_lock_init(&work->lock);
	INIT_LIST_HEAD(&work->full);
	INIT_LIST_HEAD(&work->partial);
	INIT_LIST_HEAD(&work->empty);
	work->nfull = 0;
	atomic_set(&work->nwait, 0);
	work->nproc = nproc;
	work->nassist = 0;
	work->hungry = NULL;
	work->abandon = false;
	work->debug = debug;
	work->yield = NULL;
	atomic_set(&work->nbufs, 0);
}

static void gcmem_work_free_list(struct gcmem_work *work,
				 struct list_head *list)
{
	struct gcmem_workbuf *b, *next;

	list_for_each_entry_safe(b, next, list, node) {
		list_del(&b->node);
		atomic_dec(&work->nbufs);
		kfree(b);
	}
}

/* Every scanner has flushed: all buffers are on the lists. */
void gcmem_work_destroy(struct gcmem_work *work)
{
	gcmem_work_free_list(work, &work->full);
	gcmem_work_free_list(work, &work->partial);
	gcmem_work_free_list(work, &work->empty);
	if (work->debug && atomic_read(&work->nbufs))
		pr_err("gcmem: debug: %d workbufs leaked by a cycle\n",
		       atomic_read(&work->nbufs));
}

/* Debug check at a get: @b leaves the lists for @owner. */
static void gcmem_wb_logget(struct gcmem_work *work, struct gcmem_workbuf *b,
			    int owner, bool want_full)
{
	if (!work->debug)
		return;
	if (b->owner != GCMEM_WB_NOBODY || (want_full ? !b->nobj : b->nobj))
		pr_err("gcmem: debug: workbuf %p got by %d: owner %d, %u objects\n",
		       b, owner, b->owner, b->nobj);
	b->owner = owner;
}

/* Debug check at a put: @b goes back to the lists. */
static void gcmem_wb_logput(struct gcmem_work *work, struct gcmem_workbuf *b,
			    bool want_full)
{
	if (!work->debug)
		return;
	if (b->owner == GCMEM_WB_NOBODY || (want_full ? !b->nobj : b->nobj))
		pr_err("gcmem: debug: workbuf %p put: owner %d, %u objects\n",
		       b, b->owner, b->nobj);
	b->owner = GCMEM_WB_NOBODY;
}

struct gcmem_workbuf *gcmem_work_getempty(struct gcmem_work *work, int owner)
{
	struct gcmem_workbuf *b;

	spin_lock(&work->lock);
	b = list_first_entry_or_null(&work->empty, struct gcmem_workbuf, node);
	if (b)
		list_del(&b->node);
	spin_unlock(&work->lock);

	if (!b) {
		BUILD_BUG_ON(struct_size(b, obj, GCMEM_WORKBUF_OBJS) >
			     GCMEM_WORKBUF_SIZE);
		b = kmalloc(GCMEM_WORKBUF_SIZE, GFP_KERNEL | __GFP_NOWARN);
		if (!b) {
			gcmem_work_abandon(work);
			return NULL;
		}
		atomic_inc(&work->nbufs);
		b->nobj = 0;
		b->owner = GCMEM_WB_NOBODY;
	}
	gcmem_wb_logget(work, b, owner, false);
	return b;
}

void gcmem_work_putempty(struct gcmem_work *work, struct gcmem_workbuf *b)
{
	gcmem_wb_logput(work, b, false);
	spin_lock(&work->lock);
	list_add(&b->node, &work->empty);
	spin_unlock(&work->lock);
}

/* Full or partial: any buffer with work goes here. */
void gcmem_work_putfull(struct gcmem_work *work, struct gcmem_workbuf *b)
{
	gcmem_wb_logput(work, b, true);
	spin_lock(&work->lock);
	list_add(&b->node, b->nobj == GCMEM_WORKBUF_OBJS ? &work->full :
		 &work->partial);
	WRITE_ONCE(work->nfull, work->nfull + 1);
	spin_unlock(&work->lock);
}

struct gcmem_workbuf *gcmem_work_trygetfull(struct gcmem_work *work,
					    int owner)
{
	struct gcmem_workbuf *b;

	if (!READ_ONCE(work->nfull))
		return NULL;
	spin_lock(&work->lock);
	b = list_first_entry_or_null(&work->full, struct gcmem_workbuf, node);
	if (!b)
		b = list_first_entry_or_null(&work->partial,
					     struct gcmem_workbuf, node);
	if (b) {
		list_del(&b->node);
		WRITE_ONCE(work->nfull, work->nfull - 1);
	}
	spin_unlock(&work->lock);
	if (b)
		gcmem_wb_logget(work, b, owner, true);
	return b;
}

/*
 * gcmem_work_assist() - a thread that is not a worker begins (@on) or ends
 * helping the mark. Between the two it takes work with
 * gcmem_work_trygetfull() only, and it ends only when all it took is
 * drained or back on the lists.
 */
void gcmem_work_assist(struct gcmem_work *work, bool on)
{
	spin_lock(&work->lock);
	WRITE_ONCE(work->nassist, work->nassist + (on ? 1 : -1));
	spin_unlock(&work->lock);
}

/*
 * gcmem_work_pause() - a scanner waiting for work, its @spins-th look:
 * spin briefly, then yield the CPU (workers share it; see above).
 */
void gcmem_work_pause(unsigned int *spins)
{
	if (++*spins < GCMEM_GETFULL_SPINS)
		cpu_relax();
	else
		usleep_range(GCMEM_GETFULL_SLEEP_US,
			     GCMEM_GETFULL_SLEEP_US + GCMEM_GETFULL_SLACK_US);
}

/* The getfull barrier's test: all wait, no list holds work, none helps. */
static bool gcmem_work_over(struct gcmem_work *work)
{
	bool over;

	if (atomic_read(&work->nwait) != work->nproc ||
	    READ_ONCE(work->nfull) || READ_ONCE(work->nassist))
		return false;
	spin_lock(&work->lock);
	over = !work->nfull && !work->nassist;
	spin_unlock(&work->lock);
	return over;
}

/*
 * gcmem_work_getfull() - a buffer with work, or NULL when marking is over
 * (or abandoned). The getfull barrier.
 */
struct gcmem_workbuf *gcmem_work_getfull(struct gcmem_work *work, int owner)
{
	struct gcmem_workbuf *b;
	unsigned int spins = 0;

	b = gcmem_work_trygetfull(work, owner);
	if (b)
		return b;

	atomic_inc(&work->nwait);
	for (;;) {
		if (READ_ONCE(work->abandon))
			return NULL;
		if (READ_ONCE(work->nfull)) {
			atomic_dec(&work->nwait);
			b = gcmem_work_trygetfull(work, owner);
			if (b)
				return b;
			atomic_inc(&work->nwait);
		}
		if (gcmem_work_over(work))
			return NULL;
		/*
		 * Waiting, we hold no work: the mark may even end while we
		 * are away, and we find it over when we are back.
		 */
		if (work->yield)
			work->yield(work, owner, true);
		gcmem_work_pause(&spins);
	}
}

/*
 * gcmem_work_reopen() - after the getfull barrier, make @work usable for
 * another round of marking (the driver's phases at mark termination,
 * finalize.c): no scanner waits any more. Every scanner has left.
 */
void gcmem_work_reopen(struct gcmem_work *work)
{
	WARN_ON_ONCE(READ_ONCE(work->nfull));
	atomic_set(&work->nwait, 0);
}

/*
 * gcmem_work_alone() - with no worker on @work, make the caller its one
 * scanner: the getfull barrier then ends the mark when it waits alone.
 * The lists may hold work.
 */
void gcmem_work_alone(struct gcmem_work *work)
{
	work->nproc = 1;
	atomic_set(&work->nwait, 0);
}

/*
 * Give half of @b to the others when some are waiting (workers at the
 * barrier, hungry helpers) and nothing is shared, so that one long chain
 * of work does not leave CPUs idle. The older half: a scanner takes from
 * the top of its buffer, so in a depth-first walk the bottom holds what
 * was greyed nearest the roots, the most work to share (a tree's big
 * subtrees, where the top holds leaves), as work-stealing deques take.
 */
void gcmem_work_balance(struct gcmem_work *work, struct gcmem_workbuf *b,
			int owner)
{
	struct gcmem_workbuf *half;
	u32 n;

	if (b->nobj < GCMEM_BALANCE_MIN || READ_ONCE(work->nfull) ||
	    (!atomic_read(&work->nwait) &&
	     !(work->hungry && atomic_read(work->hungry))))
		return;
	half = gcmem_work_getempty(work, owner);
	if (!half)
		return;
	n = b->nobj / 2;
	memcpy(half->obj, b->obj, n * sizeof(u64));
	memmove(b->obj, b->obj + n, (b->nobj - n) * sizeof(u64));
	half->nobj = n;
	b->nobj -= n;
	gcmem_work_putfull(work, half);
}
