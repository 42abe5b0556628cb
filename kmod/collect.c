// SPDX-License-Identifier: GPL-2.0
/*
 * Garbage collector: the cycle.
 *
 * gcmem's collector is a stop-the-world, parallel, non-moving mark-sweep
 * collector descended from the Go runtime's (seeds 000-004). It is built to
 * grow into the concurrent collector of DESIGN.md: phases are published in
 * the control page, thread status words carry a scan bit, and mark work
 * lives in workbufs that any scanner can fill and any worker can drain.
 *
 * A cycle starts in the thread that needs it — the pacer in an allocation
 * ioctl, the heap limit, or GCMEM_IOC_COLLECT. In stop-the-world mode that
 * thread is the cycle's driver, which holds heap->lock from the first step
 * to the last:
 *
 * 1. Stop the world (GCMEM_PHASE_SCAN; safepoint.c). Mark bits are clear
 *    (the last sweep or abandoned cycle cleared them).
 *    a. Make the control page's safepoint epoch odd and signal each running
 *       thread's eventfd. Each thread, at its next poll or allocation slow
 *       path, enters the kernel, scans its own stack and registers into the
 *       cycle's work lists and parks. The driver scans its own.
 *    b. Claim each BLOCKED thread by CASing its status to BLOCKED|SCAN: it
 *       stays off user code until the restart, and its stack is scanned by
 *       the workers below without waking it.
 *    c. Stop a thread that does not answer in time with a task work; give
 *       up the cycle (nothing freed) if the world cannot be stopped at all.
 *
 * 2. Mark (GCMEM_PHASE_MARK; mark.c, worker.c, work.c).
 *    a. Post the cycle to the mark workers, one bound kthread per CPU. Their
 *       roots are one parallel-for over [every registered root range, every
 *       claimed thread's stack and saved registers] — there is no
 *       single-threaded root phase (seed 003).
 *    b. Each worker greys what its roots reach, then drains: it scans grey
 *       objects from its current workbuf and trades full and empty buffers
 *       through the cycle's lists.
 *    c. Marking ends at the getfull barrier: every worker waits and no
 *       buffer holds work.
 *
 * 3. Mark termination (GCMEM_PHASE_MARKTERM). With the world stopped
 *    nothing was allocated during the mark, so there are no buffers to
 *    harvest and allocation state needs no fixing up beyond what sweep does
 *    for cached spans. Weak references to unmarked objects are cleared and
 *    unreachable objects with a finalizer are queued, and kept, for their
 *    finalizer (finalize.c). In debug mode the checkmark pass marks everything
 *    again, single-threaded, into a second set of bits from roots taken
 *    anew (parked threads' registers at kernel entry), and reports any
 *    object it reaches that the real mark missed.
 *
 * 4. Sweep (GCMEM_PHASE_SWEEP; sweep.c). Unmarked objects are freed,
 *    spans with free slots go to their central lists, empty spans go back
 *    to the page allocator, and empty chunks to the system: all of them
 *    after a cycle forced by the limit or by the user, those beyond the
 *    next trigger after a cycle of the pacer (the heap grows back to the
 *    trigger before the next cycle anyway).
 *
 * 5. Restart the world (GCMEM_PHASE_OFF), set the next trigger, account the
 *    pause.
 *
 * Invariants: no object reachable from the roots at the stop is freed (a
 * cycle that cannot mark everything — a thread not stopping, the driver
 * killed, a failed allocation — is abandoned before sweep); freed memory is
 * zeroed before it is handed out again; a span cached by a thread is never
 * changed at or above the thread's cursor; every mark bit is clear when a
 * mark begins (debug mode checks it): the sweep clears them, or the
 * abandoned cycle, once no thread marks any more.
 *
 * Concurrent mode (GCMEM_MODE_CONCURRENT, per heap, the default; a heap with
 * little to mark runs its cycles stopped, pace.c) marks beside the
 * program, and no moment stops every thread but the mark termination's.
 * Step 1 does not stop the world: the starting thread arms the tracking of
 * the program's writes (track.c: the arena is mapped read-only and the
 * first write to each page, or to each chunk mapped by a PMD, faults and
 * is recorded) and gathers the registered roots. A cycle of the pacer's is
 * then handed to the driver, a kernel worker (gcmem_cycle_drive()), and
 * the thread goes back to its program; a collection or an allocation at
 * the limit, which wait for the cycle's memory anyway, drive it
 * themselves. The driver has the stacks scanned beside the program (the
 * running threads scan their own at their next safepoint, the blocked
 * ones are claimed and scanned in place one at a time: a ragged scan,
 * safepoint.c), then lets the workers mark (step 2) without heap->lock,
 * then precleans: rounds that take the pages written so far and scan
 * their marked objects again while the program runs, each round's stacks
 * scanned again raggedly first. Threads run, write, refill and register;
 * what must not run beside the mark waits for it
 * (gcmem_heap_lock_idle()). Step 3 stops the world and scans again
 * whatever the program may have changed behind the workers: every
 * thread's stack and registers (the stop's self-scans and claims), every
 * registered root, and every marked object on a page written since the
 * tracking was armed; the workers drain what that greys, and the rest of
 * step 3 and steps 4-5 run as in stop-the-world mode, but that step 4
 * sweeps only the spans threads cache before the restart, and the rest
 * beside the program (sweep.c).
 *
 * Why that loses nothing: take an object reachable at the stop and
 * a path to it from a root. If its first object is unmarked, the root scan
 * at the stop marks it. Along the path, an unmarked object's predecessor is
 * either grey (then the drain reaches it) or marked and scanned during the
 * mark: then the pointer to it was stored after that scan (else the scan
 * would have greyed it), so the store faulted, its page is written, and
 * the rescan of the objects on it greys it. Objects allocated during the
 * mark are white by default: they are marked only if reachable at the
 * stop, by the same argument (a new object is reached from a
 * register, a stack, a root, or a store into the heap, all scanned again),
 * and the stop traces those that are. Allocating white costs
 * nothing on the fast path; it is the allocation state (the cursor) that
 * keeps them from being swept early: the spans threads cache are swept
 * with the world stopped, and no span a thread allocates from after the
 * restart is swept in this cycle (each is swept before a refill hands it
 * out, or is new). Allocating black (allocate_black=1) marks, at the start
 * and at each refill and large allocation during SCAN and MARK, every
 * free slot a thread may take before the stop: nothing allocated
 * during the mark is freed by it, and a black object, never greyed, is
 * scanned where it matters: a pointer stored into it after its slot was
 * zeroed lands on a written page, whose marked objects are scanned again
 * (by a precleaning round, beside the program, or by the stop).
 *
 * The driver runs the steps in order, each a function below, each setting
 * its phase through gcmem_set_phase(), which asserts that the transition
 * is one of the table's: OFF -> SCAN -> MARK -> MARKTERM -> SWEEP -> OFF,
 * and SCAN, MARK or MARKTERM -> OFF when the cycle is abandoned.
 *
 * When a cycle starts is pace.c's business.
 */
#include <linux/bitmap.h>
#include <linux/bits.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "collect.h"
#include "trace.h"

bool gcmem_debug;
module_param_named(debug, gcmem_debug, bool, 0644);
MODULE_PARM_DESC(debug, "check workbuf ownership and re-mark (checkmark) every cycle");

/*
 * New heaps mark concurrently unless the module is loaded with
 * concurrent=0; a concurrent heap too small for a concurrent cycle to pay
 * runs its cycles stopped (pace.c, GCMEM_OPTION_CONCURRENT_MIN).
 */
static bool gcmem_concurrent = true;
module_param_named(concurrent, gcmem_concurrent, bool, 0644);
MODULE_PARM_DESC(concurrent, "new heaps mark concurrently (GCMEM_OPTION_MODE's default)");

/*
 * Objects a concurrent cycle's program allocates while the workers mark:
 * white (the default), marked only if reachable at mark termination, which
 * traces them in its pause; or black (allocate_black=1), marked as they
 * are allocated, so that they survive the cycle, and their contents
 * scanned where the program wrote them (the written pages' rescans,
 * precleaning included, beside the program). See "Why that loses nothing".
 *
 * White is the default because it measured better: GCBench (depth 18, the
 * 6.1 guest under TCG, a quiet machine, docs/collector.md) ran 8.0 s with
 * pauses of at most 21.6 ms, 328 ms in all, and a peak heap of 28 MiB
 * allocating white; 8.9 and 9.2 s, at most 40.0 and 31.7 ms, 491 and 382
 * ms, 46 MiB allocating black. Black keeps a cycle's garbage one more
 * cycle (the heap and the marked bytes grow, cycles come later), and its
 * second pause scans again every marked object on the pages written last,
 * new ones included; white's traces only the new objects still reachable.
 */
static bool gcmem_black;
module_param_named(allocate_black, gcmem_black, bool, 0644);
MODULE_PARM_DESC(allocate_black, "a concurrent mark's new objects are marked as they are allocated");

/*
 * Idle spans are for small heaps, which a program turns over every few
 * milliseconds (the allocation benchmark's 4 MiB, 9,500 new spans a run
 * without them): a large heap makes few spans for what it allocates, and
 * gcmem_spans_trim() would walk all of its spans under heap->lock.
 */
#define GCMEM_IDLE_HEAP_MAX	(16ULL << 20)

/* Off: every sweep frees the empty spans (gcmem_span_keep_idle()). */
static bool gcmem_keep_idle = true;
module_param_named(keep_idle, gcmem_keep_idle, bool, 0644);
MODULE_PARM_DESC(keep_idle, "a pacer's stop-the-world cycle keeps empty spans for their class's next refills");

/* The mode a new heap starts in. */
enum gcmem_mode gcmem_default_mode(void)
{
	return READ_ONCE(gcmem_concurrent) ? GCMEM_MODE_CONCURRENT :
					     GCMEM_MODE_STW;
}

/*
 * Is @t BLOCKED in a concurrent cycle's SCAN (no stop runs, heap->lock
 * held)? Its stack and registers, as it published them, are then scanned
 * by the workers without a claim: the thread may leave BLOCKED and change
 * them meanwhile, which is safe because the mark termination's stop scans
 * every stack again; a scan here only marks early what the stack held.
 * Without a claim no thread waits for a scan of its stack beside the
 * program, and a worker's scan takes no page fault (gcmem_mark_user_range()).
 */
static bool gcmem_blocked_in_scan(struct gcmem_heap *heap,
				  struct gcmem_thread *t)
{
	return heap->phase == GCMEM_PHASE_SCAN &&
	       (READ_ONCE(t->slot->status) & ~GCMEM_THREAD_SCAN) ==
	       GCMEM_THREAD_BLOCKED && !gcmem_task_gone(t->task);
}

/*
 * Is @t aside (gcmem_stop_aside_begin()) while its world runs (no stop:
 * a concurrent cycle's SCAN or precleaning round)? It is then scanned in
 * place, unclaimed, as a BLOCKED thread is in SCAN (above): its user
 * registers as saved at its kernel entry, and its stack. Aside, it runs
 * no user code until its work is done, and a ragged scan does not wait
 * for it; once back in user mode it may change what the workers read,
 * which is as safe as for a BLOCKED thread. A cycle the pacer starts in
 * a refill finds its thread aside, zeroing the chunk page the refill
 * grows the heap by (6 ms under TCG), and in a young heap the first
 * rounds can end before it is back: GCBench's thread then had its stack,
 * the tree under construction, scanned first by the pause (16-28 ms).
 */
static bool gcmem_aside_beside(struct gcmem_thread *t)
{
	return READ_ONCE(t->aside) && !gcmem_task_gone(t->task);
}

/*
 * A written chunk's pages are scanned again in jobs of at least this many
 * written pages, and at most GCMEM_RESCAN_JOBS jobs a chunk, so that the
 * workers share a chunk the program wrote all over: the latency
 * benchmark's table, one or two chunks of which take 25-40 written pages
 * into a remark, 30-50 us each under TCG, was 1-2 ms of a pause in one
 * job, 0.7-1.1 ms split (in-boot A/B, 6.12 guest). The bound keeps the
 * job array of a heap written all over at 4 jobs a chunk (a job is ~170
 * bytes: 1 GiB written, ~340 KiB of jobs).
 */
#define GCMEM_RESCAN_JOB_PAGES	8
#define GCMEM_RESCAN_JOBS	4

/* The written pages of @chunk a job of it scans again. */
static unsigned int gcmem_chunk_job_pages(const struct gcmem_chunk *chunk)
{
	return max_t(unsigned int, GCMEM_RESCAN_JOB_PAGES,
		     DIV_ROUND_UP(bitmap_weight(chunk->rescan_pages,
						GCMEM_TRACK_PAGES),
				  GCMEM_RESCAN_JOBS));
}

/* Queue @chunk's written pages as jobs from @n on; returns the next. */
static unsigned int gcmem_chunk_jobs(struct gcmem_cycle *c, unsigned int n,
				     const struct gcmem_chunk *chunk)
{
	unsigned int k = 0, per = gcmem_chunk_job_pages(chunk);
	unsigned long p;

	for_each_set_bit(p, chunk->rescan_pages, GCMEM_TRACK_PAGES) {
		if (k++ % per)
			continue;
		if (k > 1)
			c->jobs[n - 1].page_to = p;
		c->jobs[n].kind = GCMEM_JOB_CHUNK;
		c->jobs[n].start = chunk->index;
		c->jobs[n].page_from = p;
		c->jobs[n++].page_to = GCMEM_TRACK_PAGES;
	}
	return n;
}

/*
 * Root jobs for the workers: registered roots, claimed and sleeping
 * threads (and, @parked_too, parked ones; in a concurrent cycle's SCAN,
 * blocked ones; beside the program, ones aside), and the chunks of
 * @written.
 */
static int gcmem_cycle_jobs(struct gcmem_heap *heap, struct gcmem_cycle *c,
			    bool parked_too, const unsigned long *written)
{
	unsigned long nchunks = heap->arena_size >> GCMEM_CHUNK_SHIFT;
	struct gcmem_root_range *root;
	struct gcmem_thread *t;
	unsigned long id;
	unsigned int n = heap->nroots;

	xa_for_each(&heap->threads, id, t)
		n++;
	if (written)
		n += GCMEM_RESCAN_JOBS * bitmap_weight(written, nchunks);
	kvfree(c->jobs);
	c->jobs = kvcalloc(max(n, 1U), sizeof(*c->jobs), GFP_KERNEL_ACCOUNT);
	if (!c->jobs)
		return -ENOMEM;
	n = 0;
	list_for_each_entry(root, &heap->roots, node) {
		c->jobs[n].start = root->start;
		c->jobs[n].end = root->start + root->len;
		c->jobs[n].type_id = root->type_id;
		n++;
	}
	xa_for_each(&heap->threads, id, t) {
		u32 stop = READ_ONCE(t->stop);

		if (stop == GCMEM_STOP_CLAIMED) {
			gcmem_blocked_job(t, &c->jobs[n++]);
		} else if (stop == GCMEM_STOP_NONE &&
			   gcmem_blocked_in_scan(heap, t)) {
			gcmem_blocked_job(t, &c->jobs[n++]);
			heap->ragged_scans++;
		} else if (stop == GCMEM_STOP_NONE && gcmem_aside_beside(t)) {
			gcmem_parked_job(t, &c->jobs[n++]);
			heap->ragged_scans++;
		} else if (stop == GCMEM_STOP_ASLEEP ||
			 (parked_too && stop == GCMEM_STOP_PARKED &&
			  !gcmem_task_gone(t->task))) {
			gcmem_parked_job(t, &c->jobs[n++]);
		}
	}
	if (written)
		for_each_set_bit(id, written, nchunks)
			if (heap->chunk_tab[id])
				n = gcmem_chunk_jobs(c, n, heap->chunk_tab[id]);
	c->written_pages = written ? gcmem_track_npages(heap, written) : 0;
	c->njobs = n;
	atomic_set(&c->next_job, 0);
	return 0;
}

/*
 * Tunables: a mark expected to read at most mark_alone_bytes (what it may
 * find unmarked, gcmem_cycle_unmarked(), and the extent of its root ranges
 * and stacks), with at most one job of written pages to scan again, is
 * the driver's alone. Waking the workers and meeting at their barrier
 * cost more than such a mark: 0.73 ms of a 1.1 ms pause, for a heap with
 * nothing live, under TCG (the allocation benchmark's cycles); 0.2-0.3 ms
 * of a concurrent cycle's remark, which the driver alone does in 0.1 ms
 * (the latency benchmark). More written pages are the workers' to share
 * (GCMEM_RESCAN_JOB_PAGES). The guess can be wrong (a thread that missed
 * every stack scan beside the program may hold the only pointer to a big
 * structure): with the world stopped, the driver hands the rest to the
 * workers once it has scanned mark_alone_objs objects (1024: a few
 * hundred microseconds of small objects under TCG; 0, never).
 */
static unsigned long gcmem_mark_alone_bytes = 256 << 10;
module_param_named(mark_alone_bytes, gcmem_mark_alone_bytes, ulong, 0644);
MODULE_PARM_DESC(mark_alone_bytes, "the driver marks alone when the mark looks at most this big (default 256 KiB)");

static unsigned int gcmem_mark_alone_objs = 1024;
module_param_named(mark_alone_objs, gcmem_mark_alone_objs, uint, 0644);
MODULE_PARM_DESC(mark_alone_objs, "objects the driver marks alone in a stop before the workers take on the rest (default 1024, 0: no limit)");

/*
 * What the mark under way may find unmarked beyond its root jobs: for a
 * concurrent cycle's remark, what was allocated since the stacks were last
 * scanned beside the program (the objects reachable before were marked,
 * or a pointer to them moved onto a written page, a stack or a root, all
 * root jobs now, which lead to them); for a mark from scratch, what the
 * last cycle marked, or before one the heap in use.
 */
static u64 gcmem_cycle_unmarked(struct gcmem_cycle *c)
{
	struct gcmem_heap *heap = c->heap;
	u64 live;

	if (READ_ONCE(heap->phase) == GCMEM_PHASE_MARKTERM) {
		live = READ_ONCE(heap->live_bytes);
		return live > c->live_at_rescan ? live - c->live_at_rescan : 0;
	}
	return READ_ONCE(heap->swept_cycles) ? READ_ONCE(heap->marked_bytes) :
					       READ_ONCE(heap->inuse_bytes);
}

static bool gcmem_cycle_mark_alone(struct gcmem_cycle *c)
{
	u64 bytes, most = READ_ONCE(gcmem_mark_alone_bytes);
	unsigned int i;

	if (READ_ONCE(c->driver) != current ||
	    c->written_pages > GCMEM_RESCAN_JOB_PAGES)
		return false;
	bytes = gcmem_cycle_unmarked(c);
	for (i = 0; i < c->njobs && bytes <= most; i++)
		if (c->jobs[i].kind == GCMEM_JOB_RANGE)
			bytes += c->jobs[i].end - c->jobs[i].start;
	return bytes <= most;
}

/*
 * A small mark, in the driver alone. False if it handed the rest to the
 * workers: with the world stopped no thread assists, so the lists are
 * the driver's, and it can leave its work there and post them.
 */
static bool gcmem_cycle_mark_driver(struct gcmem_cycle *c)
{
	struct gcmem_heap *heap = c->heap;

	gcmem_work_alone(&c->work);
	if (!c->stopped) {
		gcmem_mark_worker(c, GCMEM_OWNER_DRIVER);
	} else {
		lockdep_assert_held(&heap->lock);
		heap->alone_marks++;
		if (!gcmem_mark_alone(c, READ_ONCE(gcmem_mark_alone_objs))) {
			heap->alone_handovers++;
			return false;
		}
	}
	if (fatal_signal_pending(current))
		gcmem_work_abandon(&c->work);
	return true;
}

/*
 * Run the mark on the cycle's workers and wait (or, a small one, in the
 * driver), then read what they left to the driver. 0, or -EINTR (the
 * driver was killed) or -EAGAIN (the mark cannot be completed): the cycle
 * is then given up.
 */
static int gcmem_cycle_mark(struct gcmem_cycle *c)
{
	if (gcmem_cycle_mark_alone(c) && gcmem_cycle_mark_driver(c))
		goto deferred;
	/*
	 * mark_deferred() drains alone; every round starts with them all:
	 * all the workers where the world is stopped, or where what the
	 * program writes meanwhile is what the pause scans again (the
	 * precleaning's last round), else a quarter (worker.c).
	 */
	c->beside = !c->stopped && !READ_ONCE(c->heap->track_final);
	c->work.nproc = c->beside ? c->nproc_beside : c->nproc;
	reinit_completion(&c->done);
	gcmem_workers_post(c);
	if (wait_for_completion_killable(&c->done)) {
		/* Workers notice within one object; wait for them to leave. */
		gcmem_work_abandon(&c->work);
		wait_for_completion(&c->done);
	}
deferred:
	if (!READ_ONCE(c->work.abandon) && gcmem_mark_deferred(c))
		return 0;
	return fatal_signal_pending(current) ? -EINTR : -EAGAIN;
}

/* The first object the checkmark found that the real mark did not. */
static struct gcmem_span *gcmem_checkmark_missed(struct gcmem_heap *heap,
						 u32 *idx)
{
	struct gcmem_span *span;
	u32 i;

	list_for_each_entry(span, &heap->spans, node)
		for_each_set_bit(i, span->checkbits, span->nelems)
			if (!test_bit(i, span->markbits)) {
				*idx = i;
				return span;
			}
	return NULL;
}

/*
 * Mark into checkbits from @self's stack and registers (if not NULL) and
 * root jobs [@from, @to), and drain.
 */
static void gcmem_checkmark_mark(struct gcmem_cycle *c,
				 struct gcmem_thread *self, u32 from, u32 to)
{
	struct gcmem_greyer g;

	gcmem_work_reopen(&c->work);
	c->check = true;
	gcmem_greyer_init(&g, c, GCMEM_OWNER_CHECKMARK);
	if (self)
		gcmem_mark_self(c, self);
	for (; from < to; from++)
		gcmem_mark_job(c, &g, &c->jobs[from]);
	gcmem_mark_drain(c, &g);
	gcmem_grey_flush(&g);
	c->check = false;
}

static void gcmem_checkmark_reset(struct gcmem_heap *heap,
				  struct gcmem_cycle *c)
{
	struct gcmem_span *span;

	list_for_each_entry(span, &heap->spans, node)
		bitmap_zero(span->checkbits, span->nelems);
	gcmem_work_destroy(&c->work);
	gcmem_work_init(&c->work, 1, true);
}

/* Say which words of @job point into [@lo, @hi). */
static void gcmem_checkmark_words(const struct gcmem_root_job *job, u64 lo,
				  u64 hi)
{
	unsigned int n = 0;
	unsigned long a;
	u64 v;
	u32 i;

	for (i = 0; i < job->nregs; i++)
		if (job->regs[i] >= lo && job->regs[i] < hi)
			pr_err("gcmem: checkmark:   register %u = %#llx\n", i,
			       job->regs[i]);
	if (job->kind != GCMEM_JOB_RANGE)
		return;
	for (a = ALIGN(job->start, 8); a + 8 <= job->end && n < 16; a += 8) {
		/* A stack range may be megabytes, read a word at a time. */
		if (!(a & (PAGE_SIZE - 1)))
			cond_resched();
		if (copy_from_user(&v, (const void __user *)a, sizeof(v)))
			continue;
		if (v < lo || v >= hi)
			continue;
		pr_err("gcmem: checkmark:   word at %#lx (%lu above the start) = %#llx\n",
		       a, a - job->start, v);
		n++;
	}
}

/*
 * The checkmark found objects the real mark did not: mark again, a root at
 * a time, and say which root reaches the first of them first (the driver's
 * own stack, a registered range, a thread's stack and registers) and which
 * of its words point at it directly. Debug mode, after a failure only.
 */
static void gcmem_checkmark_blame(struct gcmem_heap *heap,
				  struct gcmem_cycle *c,
				  struct gcmem_thread *self)
{
	struct gcmem_span *span = NULL;
	struct gcmem_root_job *job;
	struct gcmem_thread *t;
	unsigned long id;
	u32 i, idx;
	u64 obj;

	gcmem_checkmark_reset(heap, c);
	/* Step 0: the driver's own stack; step i: job i - 1. */
	for (i = 0; i <= c->njobs && !span; i++) {
		gcmem_checkmark_mark(c, i ? NULL : self, i ? i - 1 : 0, i);
		span = gcmem_checkmark_missed(heap, &idx);
	}
	if (!span) {
		pr_err("gcmem: checkmark: no one root reaches it again\n");
		return;
	}
	obj = heap->arena_start + ((u64)span->page << GCMEM_PAGE_SHIFT) +
	      (u64)idx * span->elem_size;
	if (i == 1) {
		pr_err("gcmem: checkmark: %#llx first reached from the driver's own stack (thread %u)\n",
		       obj, self->id);
		return;
	}
	job = &c->jobs[i - 2];
	pr_err("gcmem: checkmark: %#llx first reached from root job %u of %u: [%#lx, %#lx) type %u, %u registers\n",
	       obj, i - 2, c->njobs, job->start, job->end, job->type_id,
	       job->nregs);
	xa_for_each(&heap->threads, id, t)
		if (job->end == t->stack_hi)
			pr_err("gcmem: checkmark:   thread %u's stack [%#lx, %#lx): stop %u, status %#x\n",
			       t->id, t->stack_lo, t->stack_hi,
			       READ_ONCE(t->stop), READ_ONCE(t->slot->status));
	gcmem_checkmark_words(job, obj, obj + span->elem_size);
}

/*
 * The checkmark pass: mark again, into checkbits, single-threaded in the
 * driver, from roots taken anew, and count objects the real mark missed.
 */
static void gcmem_checkmark(struct gcmem_heap *heap, struct gcmem_cycle *c,
			    struct gcmem_thread *self)
{
	struct gcmem_span *span;
	u64 missed = 0;
	u32 i;

	gcmem_work_destroy(&c->work);
	gcmem_work_init(&c->work, 1, true);
	if (gcmem_cycle_jobs(heap, c, true, NULL))
		return;
	gcmem_checkmark_mark(c, self, 0, c->njobs);
	if (gcmem_checkmark_missed(heap, &i)) {
		gcmem_checkmark_blame(heap, c, self);
		/* Again as a whole, for the count and the report below. */
		gcmem_checkmark_reset(heap, c);
		gcmem_checkmark_mark(c, self, 0, c->njobs);
	}

	list_for_each_entry(span, &heap->spans, node) {
		for_each_set_bit(i, span->checkbits, span->nelems) {
			if (test_bit(i, span->markbits))
				continue;
			if (missed++ < 8)
				pr_err("gcmem: checkmark: object at %#llx (class %u, type %u, slot %u of %u: span state %d, handout cursor %u, owner's cursor %d, alloc bit %d, %u allocated, swept %d) reachable but not marked\n",
				       heap->arena_start +
				       ((u64)span->page << GCMEM_PAGE_SHIFT) +
				       i * span->elem_size, span->size_class,
				       span->type_id, i, span->nelems,
				       span->state, span->handout_cursor,
				       span->state == GCMEM_SPAN_CACHED &&
				       span->owner ?
				       (int)gcmem_span_cursor(span) : -1,
				       test_bit(i, span->allocbits),
				       span->nalloc,
				       span->sweepgen == heap->sweepgen);
			/* Keep it: never free what is reachable. */
			set_bit(i, span->markbits);
		}
		bitmap_zero(span->checkbits, span->nelems);
	}
	heap->checkmark_failures += missed;
}

static void gcmem_account_pause(struct gcmem_heap *heap, u64 ns)
{
	u64 us = ns / NSEC_PER_USEC;
	unsigned int b = us ? min_t(unsigned int, ilog2(us),
				    GCMEM_PAUSE_BUCKETS - 1) : 0;

	heap->pauses++;
	heap->pause_total_ns += ns;
	heap->pause_max_ns = max(heap->pause_max_ns, ns);
	heap->pause_hist[b]++;
}

/* The phases a phase may go to; OFF from SCAN to MARKTERM: abandoned. */
static const u8 gcmem_phase_next[] = {
	[GCMEM_PHASE_OFF] = BIT(GCMEM_PHASE_SCAN),
	[GCMEM_PHASE_SCAN] = BIT(GCMEM_PHASE_MARK) | BIT(GCMEM_PHASE_OFF),
	[GCMEM_PHASE_MARK] = BIT(GCMEM_PHASE_MARKTERM) | BIT(GCMEM_PHASE_OFF),
	[GCMEM_PHASE_MARKTERM] = BIT(GCMEM_PHASE_SWEEP) | BIT(GCMEM_PHASE_OFF),
	[GCMEM_PHASE_SWEEP] = BIT(GCMEM_PHASE_OFF),
};

/* Publish @phase in the control page; heap->lock, a legal transition. */
void gcmem_set_phase(struct gcmem_heap *heap, enum gcmem_phase phase)
{
	lockdep_assert_held(&heap->lock);
	WARN_ON_ONCE(phase >= ARRAY_SIZE(gcmem_phase_next) ||
		     !(gcmem_phase_next[heap->phase] & BIT(phase)));
	WRITE_ONCE(heap->phase, phase);
	WRITE_ONCE(heap->control->phase, phase);
}

/*
 * Are objects allocated now black (a concurrent cycle that allocates black,
 * from its start to its stop)? heap->lock.
 */
bool gcmem_allocating_black(struct gcmem_heap *heap)
{
	lockdep_assert_held(&heap->lock);
	return (heap->phase == GCMEM_PHASE_SCAN ||
		heap->phase == GCMEM_PHASE_MARK) &&
	       heap->cycle && heap->cycle->black;
}

/*
 * Allocate black: mark the free slots of @span from @from up, which a
 * thread may take before the mark ends (its span, handed out now or cached
 * at the first stop, its cursor @from). Allocated slots keep their colour:
 * one marked here would never be scanned. Atomic bit operations: the
 * workers mark the span's other objects meanwhile.
 */
void gcmem_span_blacken(struct gcmem_heap *heap, struct gcmem_span *span,
			u32 from)
{
	u32 i;

	lockdep_assert_held(&heap->lock);
	for (i = find_next_zero_bit(span->allocbits, span->nelems, from);
	     i < span->nelems;
	     i = find_next_zero_bit(span->allocbits, span->nelems, i + 1))
		set_bit(i, span->markbits);
}

/*
 * Debug: no mark bit is set when a mark begins (the last sweep, or the
 * abandoned cycle, cleared them all). One left set would keep its object
 * from being scanned in this cycle, and what only it reaches from being
 * marked: objects lost, the checkmark's "reachable but not marked".
 */
static void gcmem_check_marks_clear(struct gcmem_heap *heap)
{
	struct gcmem_span *span;

	lockdep_assert_held(&heap->lock);
	list_for_each_entry(span, &heap->spans, node)
		if (WARN_ONCE(!bitmap_empty(span->markbits, span->nelems),
			      "gcmem: span at %#llx (class %u, state %d): slot %lu marked before the mark\n",
			      heap->arena_start +
			      ((u64)span->page << GCMEM_PAGE_SHIFT),
			      span->size_class, span->state,
			      find_first_bit(span->markbits, span->nelems)))
			return;
}

/*
 * A cycle for @heap, published for the safepoints. -EAGAIN without memory,
 * -EINTR when the heap's process is going away.
 */
static struct gcmem_cycle *gcmem_cycle_new(struct gcmem_heap *heap,
					   enum gcmem_gc_reason why)
{
	struct gcmem_cycle *c;

	/* One cycle at a time: see gcmem_heap_lock_idle(). */
	if (WARN_ON_ONCE(heap->cycle))
		return ERR_PTR(-EAGAIN);
	/* The last cycle's sweep ends before this one marks. */
	gcmem_sweep_some(heap, ULONG_MAX, false);
	if (gcmem_debug)
		gcmem_check_marks_clear(heap);
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return ERR_PTR(-EAGAIN);
	if (!mmget_not_zero(heap->mm)) {
		kfree(c);
		return ERR_PTR(-EINTR);
	}
	c->heap = heap;
	c->concurrent = gcmem_pace_concurrent(heap);
	c->black = c->concurrent && READ_ONCE(gcmem_black);
	c->assists = c->concurrent && gcmem_pace_assists();
	c->why = why;
	c->driver = current;
	c->mm = heap->mm;
	c->t_start = ktime_get();
	c->nproc = gcmem_workers_nproc();
	c->nproc_beside = gcmem_workers_nproc_beside(c->nproc);
	gcmem_work_init(&c->work, c->nproc, gcmem_debug);
	c->work.hungry = &heap->hungry;
	c->work.yield = gcmem_worker_yield;
	init_completion(&c->done);
	spin_lock_init(&c->deferred_lock);
	INIT_LIST_HEAD(&c->deferred);
	/*
	 * No fast refill beside a cycle, to its end (gcmem_cycle_finish()):
	 * they would hand out spans the mark reads, unpaced, and white.
	 */
	gcmem_fast_exclude(heap);
	heap->heap_before = heap->inuse_bytes;
	heap->live_before = heap->live_bytes;
	gcmem_pace_cycle(heap);
	trace_gcmem_cycle_start(heap->tgid, heap->cycles + 1, heap->inuse_bytes);
	/* Pairs with the acquire in gcmem_safepoint(). */
	smp_store_release(&heap->cycle, c);
	/*
	 * And with the barrier in gcmem_chunk_unshare(): a chunk's old page
	 * is kept for this cycle's workers, or they read the new one.
	 */
	smp_mb();
	return c;
}

/*
 * Stop the world for the cycle (a pause begins): 0 when every thread is
 * stopped and has scanned itself or been claimed, else see
 * gcmem_stop_the_world(). Either way the world is restarted by
 * gcmem_cycle_restart().
 */
static int gcmem_cycle_stop_world(struct gcmem_cycle *c,
				  struct gcmem_thread *self)
{
	c->t_pause = ktime_get();
	c->stopped = true;
	trace_gcmem_pause_start(c->heap->tgid, c->heap->cycles + 1);
	return gcmem_stop_the_world(c->heap, self);
}

/* Restart the world if it is stopped, and account the pause. */
static void gcmem_cycle_restart(struct gcmem_cycle *c)
{
	struct gcmem_heap *heap = c->heap;
	u64 pause;

	if (!c->stopped)
		return;
	gcmem_start_the_world(heap);
	c->stopped = false;
	pause = ktime_to_ns(ktime_sub(ktime_get(), c->t_pause));
	gcmem_account_pause(heap, pause);
	trace_gcmem_pause_end(heap->tgid, heap->cycles + 1, pause);
}

/* Step 1 (SCAN), stopped: stop the world, then gather the root jobs. */
static int gcmem_cycle_stop(struct gcmem_cycle *c, struct gcmem_thread *self)
{
	struct gcmem_heap *heap = c->heap;
	int ret;

	gcmem_set_phase(heap, GCMEM_PHASE_SCAN);
	ret = gcmem_cycle_stop_world(c, self);
	c->t_stop = ktime_get();
	if (!ret && gcmem_cycle_jobs(heap, c, false, NULL))
		ret = -EAGAIN;
	return ret;
}

/* Allocating black: what threads take from their spans is black. */
static void gcmem_cycle_blacken_cached(struct gcmem_heap *heap)
{
	struct gcmem_thread *t;
	unsigned long id;
	u32 i;

	xa_for_each(&heap->threads, id, t)
		for (i = 0; i < GCMEM_THREAD_CACHES; i++)
			if (t->caches[i])
				gcmem_span_blacken(heap, t->caches[i],
						   gcmem_span_cursor(t->caches[i]));
}

/*
 * Step 1 (SCAN) of a concurrent cycle, begun where it starts (heap->lock
 * held, the world running): arm the tracking of the program's writes, and
 * only then gather the roots and blacken (allocating black) the cached
 * spans' free slots. From here on, a pointer the program stores in the
 * arena lands on a chunk the mark termination scans again, one it keeps in
 * a register, on a stack or in a root is there when they are scanned
 * again, and one in an object the mark has not reached yet is found when
 * it is. No thread stops: gcmem_cycle_scan() then has their stacks
 * scanned, beside the program.
 */
static int gcmem_cycle_scan_start(struct gcmem_cycle *c)
{
	struct gcmem_heap *heap = c->heap;

	gcmem_set_phase(heap, GCMEM_PHASE_SCAN);
	if (gcmem_track(heap, GCMEM_TRACK_ARM, NULL) ||
	    gcmem_cycle_jobs(heap, c, false, NULL))
		return -EAGAIN;
	if (c->black)
		gcmem_cycle_blacken_cached(heap);
	c->t_stop = ktime_get();
	return 0;
}

/*
 * The rest of SCAN, in the driver, without heap->lock: the stacks. The
 * driver scans its own if it is a thread of the process (@self) and asks
 * the running threads to scan theirs at their next safepoint
 * (gcmem_ragged_scan()); the blocked and aside ones are root jobs of the
 * mark (gcmem_blocked_in_scan(), gcmem_aside_beside()). A thread that does
 * not come in time, or asleep in the kernel, is scanned at the stop.
 * Marking more here is always safe: a stack scanned is scanned again at
 * the stop, and what it greys the workers scan, its later writes tracked.
 */
static void gcmem_cycle_scan(struct gcmem_cycle *c, struct gcmem_thread *self)
{
	struct gcmem_heap *heap = c->heap;

	c->live_at_rescan = READ_ONCE(heap->live_bytes);
	if (self)
		gcmem_mark_self(c, self);
	gcmem_ragged_scan(heap);
	mutex_lock(&heap->lock);
	gcmem_set_phase(heap, GCMEM_PHASE_MARK);
	gcmem_heap_unlock(heap);
}

/*
 * Precleaning, in a concurrent cycle's mark: while the program runs, take
 * the pages it wrote so far (their mappings are revoked first, so a later
 * write is seen again) and scan their marked objects again, with the roots,
 * in rounds, until a round finds few: what is left for the second pause
 * is what the program wrote during the last round. At most this many
 * rounds; a round that finds fewer written pages (PAGE_SIZE; a chunk
 * tracked whole counts all of its) than the second, 1 MiB, is the last.
 *
 * So is a round before which the cycle has scanned fewer objects than the
 * third in all: the pause scans again only marked objects, of which there
 * are fewer than that, however many pages the program writes. The first
 * round always runs: its ragged scan marks what the stacks hold of what
 * the program built since the cycle began. A heap's first cycle marks
 * beside the program (its estimate of the live is the heap in use) and,
 * where little lives, precleaned four rounds of thousands of freshly
 * allocated pages for nothing: 21-25 ms of a 0.25 s run of the allocation
 * benchmark, its threads waiting at the cycle's goal meanwhile.
 */
/* Tunable: end the precleaning when little is marked (below). */
static bool gcmem_preclean_few = true;
module_param_named(preclean_few, gcmem_preclean_few, bool, 0644);
MODULE_PARM_DESC(preclean_few, "a concurrent mark's precleaning ends once a round finds the cycle has scanned few objects (default 1)");

#define GCMEM_PRECLEAN_ROUNDS	4
#define GCMEM_PRECLEAN_ENOUGH	256
#define GCMEM_PRECLEAN_FEW	4096

static int gcmem_cycle_preclean(struct gcmem_cycle *c)
{
	struct gcmem_heap *heap = c->heap;
	unsigned long nchunks = heap->arena_size >> GCMEM_CHUNK_SHIFT, n = 0;
	unsigned long *written;
	int round, ret = 0;
	bool last = false;

	written = bitmap_zalloc(nchunks, GFP_KERNEL);
	if (!written)
		return -EAGAIN;
	for (round = 0; round < GCMEM_PRECLEAN_ROUNDS && !ret; round++) {
		/* Open for the threads' ragged scans, then the workers. */
		gcmem_work_reopen(&c->work);
		c->live_at_rescan = READ_ONCE(heap->live_bytes);
		gcmem_ragged_scan(heap);
		/* The harvest and the roots need the lock, the scan not. */
		mutex_lock(&heap->lock);
		if (gcmem_track(heap, GCMEM_TRACK_HARVEST, written) ||
		    gcmem_cycle_jobs(heap, c, false, written))
			ret = -EAGAIN;
		if (!ret) {
			heap->precleaned_chunks += bitmap_weight(written,
								 nchunks);
			n = c->written_pages;
			heap->precleaned_pages += n;
			/*
			 * The last round, whichever ends it: allocations wait
			 * in it (gcmem_track_refill()). Decided here, before
			 * its mark: ended after it by the few objects scanned,
			 * the round ran unflagged, and the latency benchmark's
			 * young heap (few objects, but large) rescanned up to
			 * three whole chunks in the pause, 6-8 ms.
			 */
			last = n < GCMEM_PRECLEAN_ENOUGH ||
			       round == GCMEM_PRECLEAN_ROUNDS - 1 ||
			       (READ_ONCE(gcmem_preclean_few) &&
				atomic64_read(&c->scanned) <
				GCMEM_PRECLEAN_FEW);
			if (last)
				WRITE_ONCE(heap->track_final, true);
		}
		gcmem_heap_unlock(heap);
		if (ret)
			break;
		ret = gcmem_cycle_mark(c);
		if (last)
			break;
	}
	bitmap_free(written);
	return ret;
}

/* Step 2 (MARK) of a stopped cycle: the workers mark. */
static int gcmem_cycle_mark_stopped(struct gcmem_cycle *c)
{
	int ret;

	gcmem_set_phase(c->heap, GCMEM_PHASE_MARK);
	ret = gcmem_cycle_mark(c);
	c->t_mark = ktime_get();
	return ret;
}

/*
 * A concurrent cycle's stack scans, mark and precleaning, beside the
 * program and without heap->lock, which the driver (@self if a thread of
 * the process) holds on entry and on return: threads refill and register
 * meanwhile; whatever must not run beside the mark waits for heap->cycle
 * to go (gcmem_heap_lock_idle()).
 */
static int gcmem_cycle_mark_beside(struct gcmem_cycle *c,
				   struct gcmem_thread *self, bool locked)
{
	struct gcmem_heap *heap = c->heap;
	int ret;

	if (locked)
		gcmem_heap_unlock(heap);
	gcmem_cycle_scan(c, self);
	ret = gcmem_cycle_mark(c);
	if (!ret)
		ret = gcmem_cycle_preclean(c);
	/* Not killable: the cycle must be finished or given up in order. */
	mutex_lock(&heap->lock);
	c->t_mark = ktime_get();
	return ret;
}

/*
 * The first part of a concurrent cycle's mark termination: stop the world
 * again; stop tracking writes, taking the pages written since the last
 * harvest; and mark from everything the program may have changed behind
 * the workers: every stack and register set (the stop scans them again),
 * every root, and the marked objects on every written page. After it no
 * object reachable from the roots is unmarked.
 */
static int gcmem_cycle_remark(struct gcmem_cycle *c, struct gcmem_thread *self)
{
	struct gcmem_heap *heap = c->heap;
	unsigned long nchunks = heap->arena_size >> GCMEM_CHUNK_SHIFT;
	unsigned long *written;
	int ret;

	written = bitmap_zalloc(nchunks, GFP_KERNEL);
	if (!written)
		return -EAGAIN;
	/* The mark's lists are empty; the stop's self-scans fill them. */
	gcmem_work_reopen(&c->work);
	ret = gcmem_cycle_stop_world(c, self);
	c->t_stopped = ktime_get();
	if (!ret && gcmem_track(heap, GCMEM_TRACK_STOP, written))
		ret = -EAGAIN;
	if (!ret && gcmem_cycle_jobs(heap, c, false, written))
		ret = -EAGAIN;
	if (!ret) {
		heap->rescanned_chunks += bitmap_weight(written, nchunks);
		heap->rescanned_pages += c->written_pages;
		ret = gcmem_cycle_mark(c);
	}
	c->t_remarked = ktime_get();
	bitmap_free(written);
	return ret;
}

/*
 * Step 3 (MARKTERM): a concurrent cycle's second stop and mark; weak
 * references and finalizers; the checkmark.
 */
static int gcmem_cycle_markterm(struct gcmem_cycle *c,
				struct gcmem_thread *self)
{
	int ret;

	gcmem_set_phase(c->heap, GCMEM_PHASE_MARKTERM);
	if (c->concurrent) {
		ret = gcmem_cycle_remark(c, self);
		if (ret)
			return ret;
	}
	if (!gcmem_finalize_mark(c->heap, c))
		return -EAGAIN;
	if (gcmem_debug)
		gcmem_checkmark(c->heap, c, self);
	c->t_markterm = ktime_get();
	return 0;
}

/*
 * Step 4 (SWEEP): free what is unmarked (a concurrent cycle: the spans
 * threads cache; the rest after the restart, sweep.c), count the cycle.
 */
static void gcmem_cycle_sweep(struct gcmem_cycle *c, enum gcmem_gc_reason why)
{
	struct gcmem_heap *heap = c->heap;
	ktime_t t_sweep;

	gcmem_set_phase(heap, GCMEM_PHASE_SWEEP);
	t_sweep = ktime_get();
	/* Idle spans: a pacer's stop-the-world cycle's (alloc.c). */
	heap->sweep_keep_idle = why == GCMEM_GC_PACER && !c->concurrent &&
				heap->inuse_bytes <= GCMEM_IDLE_HEAP_MAX &&
				READ_ONCE(gcmem_keep_idle);
	/* The rest after the restart (gcmem_collect_run(), the driver). */
	gcmem_sweep_start(heap, why);
	heap->sweep_total_ns += ktime_to_ns(ktime_sub(ktime_get(), t_sweep));
	heap->stop_total_ns += ktime_to_ns(ktime_sub(c->t_stop, c->t_start));
	heap->mark_total_ns += ktime_to_ns(ktime_sub(c->t_mark, c->t_stop));
	if (c->concurrent) {
		heap->markterm_total_ns +=
			ktime_to_ns(ktime_sub(c->t_markterm, c->t_pause));
		heap->markterm_stop_ns +=
			ktime_to_ns(ktime_sub(c->t_stopped, c->t_pause));
		heap->markterm_rescan_ns +=
			ktime_to_ns(ktime_sub(c->t_remarked, c->t_stopped));
		heap->concurrent_cycles++;
		/* Others start at any size: they would skew the runway. */
		if (why == GCMEM_GC_PACER)
			gcmem_pace_mark_done(heap);
	}
	heap->cycles++;
	WRITE_ONCE(heap->control->cycle, heap->cycles);
}

/* Or step 4': give the cycle up, nothing freed. */
static void gcmem_cycle_abandon(struct gcmem_cycle *c,
				enum gcmem_gc_reason why)
{
	struct gcmem_heap *heap = c->heap;
	struct gcmem_span *span;

	/*
	 * No thread marks any more, nor can start to: a mark assist that
	 * began before the cycle failed (gcmem_mark_assist(); the phase may
	 * still be MARK, or the stop that would have waited for it failed)
	 * would set bits after they are cleared below, and the next cycle
	 * would find those objects marked and never scan them. The workers
	 * and self-scans are done already (gcmem_cycle_mark(), the restart).
	 */
	gcmem_work_abandon(&c->work);
	/* Pairs with the barrier after raising @assisting. */
	smp_mb();
	wait_event(heap->stop_wq, !atomic_read(&heap->assisting));
	/* Mark bits are clear between cycles (sweep clears them). */
	list_for_each_entry(span, &heap->spans, node)
		bitmap_zero(span->markbits, span->nelems);
	/* A concurrent cycle given up while it marked still tracks. */
	if (c->concurrent && heap->tracking)
		gcmem_track(heap, GCMEM_TRACK_DISARM, NULL);
	heap->abandoned++;
	/*
	 * Back off as if everything were live: a heap whose cycles cannot
	 * finish (a root that cannot be read, a thread that cannot be
	 * stopped) would otherwise try again, and stop the world, at every
	 * refill past the trigger.
	 */
	if (why == GCMEM_GC_PACER)
		gcmem_pace(heap, heap->live_bytes);
}

/* Step 5 (OFF): restart the world, free the cycle. */
static void gcmem_cycle_finish(struct gcmem_cycle *c, int ret)
{
	struct gcmem_heap *heap = c->heap;

	gcmem_cycle_restart(c);
	/* The world runs: what the tracking left read-only, writable again. */
	if (c->concurrent)
		gcmem_track(heap, GCMEM_TRACK_RELAX, NULL);
	gcmem_set_phase(heap, GCMEM_PHASE_OFF);
	WRITE_ONCE(heap->cycle, NULL);
	gcmem_fast_allow(heap);
	/*
	 * No thread helps this cycle's mark any more, nor can start to
	 * (gcmem_mark_assist() finds no cycle): its work lists can go.
	 */
	smp_mb();
	wait_event(heap->stop_wq, !atomic_read(&heap->assisting));
	wake_up_all(&heap->idle_wq);
	gcmem_chunks_release(heap);
	trace_gcmem_cycle_end(heap->tgid, heap->cycles, ret, heap->marked_bytes,
			      heap->inuse_bytes);
	gcmem_work_destroy(&c->work);
	gcmem_deferred_free(c);
	kvfree(c->jobs);
	mmput(c->mm);
	kfree(c);
	/* The workers are done: pages unsharing replaced can go. */
	gcmem_chunks_put_stale(heap);
}

/*
 * Steps 3-5, after the mark (@ret its result): in the thread that started
 * the cycle, or in the driver work.
 */
static int gcmem_cycle_complete(struct gcmem_cycle *c,
				struct gcmem_thread *self, int ret)
{
	enum gcmem_gc_reason why = c->why;

	if (!ret)
		ret = gcmem_cycle_markterm(c, self);
	if (!ret)
		gcmem_cycle_sweep(c, why);
	else
		gcmem_cycle_abandon(c, why);
	gcmem_cycle_finish(c, ret);
	return ret;
}

/*
 * The driver: a concurrent cycle that a thread started and went on from
 * (gcmem_collect_start()) is run to its end here, in a kernel worker of
 * gcmem_drive_wq that adopts the process's address space as the mark
 * workers do: the mark, the precleaning, the mark termination's stop (of
 * every registered thread: the driver is none), the sweep.
 *
 * It is the cycle's only scanner that takes page faults (the roots the
 * workers left, gcmem_mark_deferred(); the checkmark; clearing weak
 * references), and it cannot be killed. A fault that waits for the
 * process itself — a userfaultfd page, a FUSE file the process serves —
 * is answered while the program runs beside the mark; if the world is
 * stopped then (the mark termination), it waits until the process is
 * killed, which closes the userfaultfd or the FUSE device and ends the
 * wait with an error: the cycle is then abandoned, and the process was
 * going anyway. The process is held (mmget) until the cycle ends, and the
 * heap (a reference); its file may be closed meanwhile. After the cycle,
 * the driver sweeps what the pause left (sweep.c).
 */
static struct workqueue_struct *gcmem_drive_wq;

/* Spans the driver sweeps a lock hold. */
#define GCMEM_SWEEP_BATCH	64

static void gcmem_cycle_drive(struct work_struct *work)
{
	struct gcmem_cycle *c = container_of(work, struct gcmem_cycle, drive);
	struct gcmem_heap *heap = c->heap;
	struct mm_struct *mm = c->mm;
	int ret;

	/* Ours, to let the address space go after the cycle frees c's. */
	mmget(mm);
	kthread_use_mm(mm);
	WRITE_ONCE(c->driver, current);
	ret = gcmem_cycle_mark_beside(c, NULL, false);
	gcmem_cycle_complete(c, NULL, ret);
	/*
	 * The sweep, beside the program, a batch of spans a lock hold. A
	 * refill waiting for the lock gets it before the next batch.
	 */
	while (!gcmem_sweep_some(heap, GCMEM_SWEEP_BATCH, false)) {
		/* Before the unlock, whose wake-up empties the queue. */
		bool waited = wq_has_sleeper(&heap->lock_wq);

		gcmem_heap_unlock(heap);
		if (waited)
			usleep_range(20, 50);
		cond_resched();
		mutex_lock(&heap->lock);
	}
	gcmem_heap_unlock(heap);
	kthread_unuse_mm(mm);
	mmput(mm);
	gcmem_heap_put(heap);
	/* Last: gcmem_collect_exit() waits for the return that follows. */
	module_put(THIS_MODULE);
}

/*
 * Hand a concurrent cycle whose world has restarted to the driver; the
 * caller goes back to its program. From here on the driver owns @c and
 * scans everyone. It holds the module: the heap's file, which does, may
 * go before the cycle ends, and a rmmod must not begin while the driver
 * can still queue forced stops (safepoint.c).
 *
 * The caller (@self, if a thread of the process) scans its stack first,
 * before the heap growth that often follows takes it aside for the
 * cycle's first ragged scans; no longer the driver, as a ragged scan, so
 * that it takes no fault under heap->lock (what it cannot read is the
 * driver's, gcmem_mark_deferred()).
 */
static void gcmem_cycle_hand_off(struct gcmem_cycle *c,
				 struct gcmem_thread *self)
{
	WRITE_ONCE(c->driver, NULL);
	if (self)
		gcmem_mark_self(c, self);
	kref_get(&c->heap->ref);
	__module_get(THIS_MODULE);
	INIT_WORK(&c->drive, gcmem_cycle_drive);
	queue_work(gcmem_drive_wq, &c->drive);
}

/*
 * Run a cycle from the thread that needs it; heap->lock held by the
 * caller, a thread of the heap's process, and no cycle under way. The
 * world is stopped and the roots gathered here. A stop-the-world cycle
 * then runs to its end here. A concurrent one restarts the world and,
 * if @hand_off, goes on in the driver while the caller goes on
 * allocating; else the caller drives it, letting the lock go while it
 * marks (the caller finds the heap changed by other threads' requests),
 * and finishes its sweep before it returns.
 */
static int gcmem_collect_run(struct gcmem_heap *heap, enum gcmem_gc_reason why,
			     bool hand_off)
{
	struct gcmem_thread *self;
	struct gcmem_cycle *c;
	int ret;

	lockdep_assert_held(&heap->lock);
	if (!heap->arena_start)
		return 0;
	c = gcmem_cycle_new(heap, why);
	if (IS_ERR(c))
		return PTR_ERR(c);
	self = gcmem_thread_current(heap);
	if (!c->concurrent) {
		ret = gcmem_cycle_stop(c, self);
		if (!ret)
			ret = gcmem_cycle_mark_stopped(c);
	} else {
		ret = gcmem_cycle_scan_start(c);
	}
	if (!ret && c->concurrent && hand_off) {
		gcmem_cycle_hand_off(c, self);
	} else {
		if (!ret && c->concurrent)
			ret = gcmem_cycle_mark_beside(c, self, true);
		ret = gcmem_cycle_complete(c, self, ret);
		/* The world runs, the lock is ours: the sweep's rest. */
		gcmem_sweep_some(heap, ULONG_MAX, false);
	}
	if (self)
		gcmem_thread_put(self);
	return ret;
}

/*
 * gcmem_collect_locked() - run one cycle to its end, for a caller that
 * wants its memory (a collection, an allocation at the limit); heap->lock
 * held, see gcmem_collect_run(). @why decides how much memory the cycle
 * keeps for the heap to grow back into. Returns 0, -EAGAIN (abandoned: a
 * thread could not be stopped, or memory ran out), or -EINTR (the caller
 * was killed; abandoned).
 */
int gcmem_collect_locked(struct gcmem_heap *heap, enum gcmem_gc_reason why)
{
	return gcmem_collect_run(heap, why, false);
}

/*
 * gcmem_collect_start() - start a cycle of the pacer's, which a concurrent
 * heap's driver runs on while the caller goes on allocating; heap->lock
 * held. Returns what gcmem_collect_locked() does, or 0 once the driver
 * has the cycle.
 */
int gcmem_collect_start(struct gcmem_heap *heap, enum gcmem_gc_reason why)
{
	return gcmem_collect_run(heap, why, true);
}

int gcmem_collect_init(void)
{
	gcmem_drive_wq = alloc_workqueue("gcmem_drive", WQ_UNBOUND, 0);
	return gcmem_drive_wq ? 0 : -ENOMEM;
}

/* Module exit: waits for the cycles the driver still runs. */
void gcmem_collect_exit(void)
{
	destroy_workqueue(gcmem_drive_wq);
}

/* GCMEM_OPTION_MODE: the next cycle's. */
int gcmem_set_mode(struct gcmem_heap *heap, u64 mode)
{
	int ret;

	if (mode != GCMEM_MODE_STW && mode != GCMEM_MODE_CONCURRENT)
		return -EINVAL;
	ret = gcmem_heap_lock(heap);
	if (ret)
		return ret;
	heap->mode = mode;
	/* A concurrent heap's trigger is earlier (pace.c). */
	gcmem_pace(heap, heap->marked_bytes);
	gcmem_heap_unlock(heap);
	return 0;
}

int gcmem_collect(struct gcmem_heap *heap, struct gcmem_collect *arg)
{
	int ret;

	if (arg->flags)
		return -EINVAL;
	ret = gcmem_heap_lock_idle(heap);
	if (ret)
		return ret;
	ret = gcmem_collect_locked(heap, GCMEM_GC_USER);
	arg->cycle = heap->cycles;
	gcmem_heap_unlock(heap);
	return ret;
}
