// SPDX-License-Identifier: GPL-2.0
/*
 * Stopping and restarting the world: the thread status protocol, the
 * SAFEPOINT and BLOCKING_LEAVE ioctls, and forced stops. See collect.c for
 * the cycle and uapi/linux/gcmem.h (enum gcmem_thread_status) for the
 * status word.
 *
 * The status word lives in the thread's slot page, which the process can
 * write: the kernel changes it only by compare-and-swap and never trusts it.
 * What the collector relies on is its own per-thread stop state (enum
 * gcmem_stop, gcmem.h; its transitions are gcmem_stop_from[] below): PARKED
 * (the thread scanned its own stack and waits in the kernel), CLAIMED (the
 * driver CASed BLOCKED -> BLOCKED|SCAN, so the thread cannot leave BLOCKED
 * without waiting here until the driver lets it go), ASLEEP. The seeds'
 * transition rules for the status word, with the SCAN bit acting as a
 * lock:
 *
 *   thread:  RUNNING -> BLOCKED           gcu_blocking_enter()
 *            BLOCKED -> RUNNING           gcu_blocking_leave(), if SCAN clear
 *   kernel:  BLOCKED -> BLOCKED|SCAN      the driver claims a blocked thread
 *            BLOCKED|SCAN -> BLOCKED      the world restarts
 *            RUNNING -> RUNNING|SCAN      a thread scans itself at a safepoint
 *            RUNNING|SCAN -> PARKED       ... and parks
 *            PARKED -> RUNNING            the world restarts
 *            any -> DEAD                  unregistration
 *
 * Stopping: the driver sets heap->stopping, makes the control page's epoch
 * odd and signals the eventfd of every thread not yet stopped; threads poll
 * the epoch and call GCMEM_IOC_SAFEPOINT, and every heap ioctl that would
 * wait for heap->lock parks instead. A thread that has not stopped after
 * GCMEM_STOP_FORCE_MS gets a task work queued, which parks it at its next
 * return to user mode (with TWA_RESUME the kernel kicks it off its CPU, so
 * a tight loop that never polls stops within a tick) — no signal is
 * involved. A thread asleep in the kernel (a system call, a fault) is
 * stopped where it is: a park is queued for its way out and its stack is
 * scanned from the registers saved at kernel entry. A thread that is
 * exiting counts as stopped. A world that is not stopped after
 * GCMEM_STOP_ABANDON_MS (a thread the kick cannot reach) abandons the
 * cycle.
 *
 * Ragged scans, while a concurrent cycle runs (its SCAN and precleaning,
 * collect.c): the driver asks every running thread to scan its own stack
 * and registers at its next safepoint, as at a stop, but without parking
 * and without stopping the others, so that what the stacks hold is
 * marked beside the program rather than in the cycle's pause (the blocked
 * ones the workers scan in place, unclaimed: collect.c,
 * gcmem_blocked_in_scan()). The same odd epoch and eventfd bring the threads
 * in; heap->ragged, not
 * heap->stopping, tells them not to park. Marking more is always safe
 * here: what a ragged scan marks, the workers scan, and a later store into
 * it is tracked. The driver waits a little for the threads
 * (GCMEM_RAGGED_MS), not for the ones that do not come: whatever their
 * stacks hold, the mark termination's stop scans again.
 */
#include <linux/eventfd.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/task_work.h>

#include "collect.h"
#include "compat.h"

/*
 * Tunables. 20 ms lets a thread that polls at its allocation slow path or
 * in its event loop stop by itself; beyond it the kick costs an IPI.
 * 2 s bounds how long allocation can wait for a world that cannot stop.
 */
#define GCMEM_STOP_FORCE_MS	20
#define GCMEM_STOP_ABANDON_MS	2000

/*
 * How often the stop looks again at the threads not stopped yet, unless
 * a park wakes it first. A thread that goes to sleep instead of parking
 * (into a blocking call from user code, say) wakes nobody: the stop
 * finds it asleep, and stopped, when it looks. At a jiffy (4 ms at HZ
 * 250) such a thread held the latency benchmark's stops up for 7-8 ms.
 * Faster is not better: looking after 25 us, doubling up to 200, made
 * its longest stops 0.6-3.5 ms against at most 0.4 (in-boot A/B, 6.12
 * guest, TCG): the driver's wake-ups take the CPU from the very thread
 * it waits for.
 */
#define GCMEM_STOP_POLL_US	200

/* CAS the status word from @old to @new; false if it held something else. */
static bool gcmem_status_cas(struct gcmem_thread *t, u32 old, u32 new)
{
	return cmpxchg(&t->slot->status, old, new) == old;
}

/*
 * Clear the SCAN bit, whatever else the word holds: one atomic AND, so it
 * cannot fail. (A well-behaved thread never writes its status while SCAN
 * is set, since its own CASes expect the bit clear; a process scribbling on
 * its slot gets whatever it wrote, minus the bit.)
 */
static void gcmem_status_unscan(struct gcmem_thread *t)
{
	BUILD_BUG_ON(sizeof(atomic_t) != sizeof(t->slot->status));
	atomic_andnot(GCMEM_THREAD_SCAN, (atomic_t *)&t->slot->status);
}

/* The states of a thread that a stop still waits for. */
#define GCMEM_STOP_WAITING	(BIT(GCMEM_STOP_NONE) | \
				 BIT(GCMEM_STOP_SIGNALED) | \
				 BIT(GCMEM_STOP_FORCED))

/*
 * The stop state's transitions: the states each may be reached from. One
 * of PARKED (the thread), CLAIMED and ASLEEP (the driver) is reached,
 * whichever comes first; the restart lets a claim go to NONE and resets
 * every other state to NONE.
 */
static const u8 gcmem_stop_from[] = {
	[GCMEM_STOP_NONE] = BIT(GCMEM_STOP_CLAIMED),
	[GCMEM_STOP_SIGNALED] = BIT(GCMEM_STOP_NONE),
	[GCMEM_STOP_FORCED] = BIT(GCMEM_STOP_NONE) | BIT(GCMEM_STOP_SIGNALED),
	[GCMEM_STOP_PARKED] = GCMEM_STOP_WAITING,
	[GCMEM_STOP_CLAIMED] = GCMEM_STOP_WAITING,
	[GCMEM_STOP_ASLEEP] = GCMEM_STOP_WAITING,
};

/* Move @t's stop state to @to, if the table allows it from where it is. */
static bool gcmem_stop_move(struct gcmem_thread *t, enum gcmem_stop to)
{
	u32 old = READ_ONCE(t->stop);

	do {
		if (!(gcmem_stop_from[to] & BIT(old)))
			return false;
	} while (!try_cmpxchg(&t->stop, &old, to));
	return true;
}

static bool gcmem_stop_is(const struct gcmem_thread *t, enum gcmem_stop s)
{
	return READ_ONCE(t->stop) == s;
}

/* Is @t claimed? Its status word is read after. */
static bool gcmem_claimed(const struct gcmem_thread *t)
{
	/* Pairs with the barrier in gcmem_thread_unclaim(). */
	return smp_load_acquire(&t->stop) == GCMEM_STOP_CLAIMED;
}

/*
 * Let a claimed thread go: its SCAN bit first, then its state, with the
 * move's full barrier, so that a thread that sees itself unclaimed in
 * BLOCKING_LEAVE sees the bit clear too. heap->lock; the caller wakes
 * @restart_wq.
 */
static void gcmem_thread_unclaim(struct gcmem_thread *t)
{
	gcmem_status_unscan(t);
	WARN_ON_ONCE(!gcmem_stop_move(t, GCMEM_STOP_NONE));
}

static void gcmem_scanning_done(struct gcmem_heap *heap)
{
	if (atomic_dec_and_test(&heap->scanning) ||
	    READ_ONCE(heap->stopping))
		wake_up_all(&heap->stop_wq);
}

/* Is a ragged scan asked for that @t (may be NULL) has not done yet? */
bool gcmem_ragged_wanted(struct gcmem_heap *heap, struct gcmem_thread *t)
{
	return t && READ_ONCE(heap->ragged) &&
	       READ_ONCE(heap->ragged_gen) != t->ragged_gen;
}

/*
 * A ragged scan is asked for: scan our stack and registers into the
 * cycle's work lists, once a request, and go on. Under @scanning, which
 * keeps the cycle (see gcmem_ragged_scan()).
 */
static void gcmem_ragged_self(struct gcmem_heap *heap, struct gcmem_thread *t)
{
	struct gcmem_cycle *c;
	u64 gen = READ_ONCE(heap->ragged_gen);

	/* The cycle is published before a ragged scan is asked for. */
	c = smp_load_acquire(&heap->cycle);
	if (!c || t->ragged_gen == gen)
		return;
	t->ragged_gen = gen;
	/* The thread calls in no more for this request (uapi). */
	WRITE_ONCE(t->slot->answered_epoch,
		   READ_ONCE(heap->control->safepoint_epoch));
	gcmem_mark_self(c, t);
	atomic_inc(&heap->ragged_acks);
	if (READ_ONCE(t->ragged_wanted) == gen)
		atomic_inc(&heap->ragged_waited);
	wake_up_all(&heap->stop_wq);
}

/*
 * gcmem_safepoint() - park the calling thread while the world is stopped.
 *
 * If a stop is under way and the thread has not parked in this cycle, it
 * scans its own stack and registers into the cycle's work lists, then tells
 * the driver. It sleeps until the world restarts. Called without heap->lock
 * (the driver holds it). Returns 0, or -EINTR if the thread was killed.
 */
int gcmem_safepoint(struct gcmem_heap *heap, struct gcmem_thread *t)
{
	struct gcmem_cycle *c;
	u64 gen;
	int ret;

	/*
	 * @scanning keeps the cycle alive while we use it: the driver waits
	 * for it to drop to zero after clearing @stopping, and we look at
	 * @stopping only after raising it.
	 */
	atomic_inc(&heap->scanning);
	/* Pairs with the smp_mb() in gcmem_start_the_world(). */
	smp_mb__after_atomic();
	if (!READ_ONCE(heap->stopping)) {
		/* Pairs with the release in gcmem_ragged_scan(). */
		if (smp_load_acquire(&heap->ragged))
			gcmem_ragged_self(heap, t);
		gcmem_scanning_done(heap);
		return 0;
	}
	/* The driver publishes the cycle before it sets @stopping. */
	c = smp_load_acquire(&heap->cycle);
	gen = READ_ONCE(heap->world_gen);
	/*
	 * Not if the driver claimed us or found us asleep first: it scans
	 * us in place. The driver sees PARKED before our scan is done, and
	 * waits for @scanning before the mark begins.
	 */
	if (c && gcmem_stop_move(t, GCMEM_STOP_PARKED)) {
		gcmem_status_cas(t, GCMEM_THREAD_RUNNING,
				 GCMEM_THREAD_RUNNING | GCMEM_THREAD_SCAN);
		gcmem_mark_self(c, t);
		WRITE_ONCE(t->slot->status, GCMEM_THREAD_PARKED);
		atomic_inc(&heap->parks);
	}
	gcmem_scanning_done(heap);

	ret = wait_event_killable(heap->restart_wq,
				  READ_ONCE(heap->world_gen) != gen);
	gcmem_status_cas(t, GCMEM_THREAD_PARKED, GCMEM_THREAD_RUNNING);
	return ret ? -EINTR : 0;
}

static int gcmem_thread_op_check(struct gcmem_heap *heap,
				 struct gcmem_thread_op *op,
				 struct gcmem_thread **tp)
{
	struct gcmem_thread *t;

	if (op->flags || op->__reserved)
		return -EINVAL;
	t = gcmem_thread_current(heap);
	if (!t) {
		rcu_read_lock();
		t = xa_load(&heap->threads, op->thread_id);
		rcu_read_unlock();
		return t ? -EPERM : -ENOENT;
	}
	if (t->id != op->thread_id) {
		gcmem_thread_put(t);
		return -EPERM;
	}
	*tp = t;
	return 0;
}

int gcmem_ioc_safepoint(struct gcmem_heap *heap, struct gcmem_thread_op *op)
{
	struct gcmem_thread *t;
	int ret;

	ret = gcmem_thread_op_check(heap, op, &t);
	if (ret)
		return ret;
	ret = gcmem_safepoint(heap, t);
	gcmem_thread_put(t);
	return ret;
}

/* Neither claimed nor with SCAN set: a claim is over or not begun. */
static bool gcmem_thread_unclaimed(const struct gcmem_thread *t)
{
	return !gcmem_claimed(t) &&
	       !(READ_ONCE(t->slot->status) & GCMEM_THREAD_SCAN);
}

/*
 * BLOCKING_LEAVE: the thread found SCAN set on leaving BLOCKED. Wait until
 * the driver lets the thread go (the restart), then make it RUNNING; it
 * may not return before it is, since the driver may scan its stack until
 * then. The driver sets SCAN before it moves the stop state to CLAIMED
 * (gcmem_thread_try_stop()), so either one set means a claim, and a
 * claim that begins after the wait makes the CAS fail: wait again. If a
 * new stop has begun by then, the thread sees the odd epoch when it
 * returns and parks like any other.
 */
int gcmem_blocking_leave(struct gcmem_heap *heap, struct gcmem_thread_op *op)
{
	struct gcmem_thread *t;
	int ret;

	ret = gcmem_thread_op_check(heap, op, &t);
	if (ret)
		return ret;
	do {
		ret = wait_event_killable(heap->restart_wq,
					  gcmem_thread_unclaimed(t));
	} while (!ret &&
		 READ_ONCE(t->slot->status) == GCMEM_THREAD_BLOCKED &&
		 !gcmem_status_cas(t, GCMEM_THREAD_BLOCKED,
				   GCMEM_THREAD_RUNNING));
	gcmem_thread_put(t);
	return ret ? -EINTR : 0;
}

/* A forced stop: a task work that parks the thread on its way to user. */
struct gcmem_force {
	struct callback_head cb;
	struct gcmem_heap *heap;
};

static void gcmem_force_fn(struct callback_head *cb)
{
	struct gcmem_force *f = container_of(cb, struct gcmem_force, cb);
	struct gcmem_thread *t;

	if (!(current->flags & PF_EXITING)) {
		t = gcmem_thread_current(f->heap);
		if (t) {
			atomic_set(&t->park_queued, 0);
			gcmem_safepoint(f->heap, t);
			gcmem_thread_put(t);
		}
	}
	gcmem_heap_put(f->heap);
	kfree(f);
	/*
	 * The work held the module (it may run after the heap's file is
	 * closed). Dropping it is the last thing done here; the few
	 * instructions of the return are the only module text used after.
	 */
	module_put(THIS_MODULE);
}

/*
 * Queue a park for @t's next return to user mode, unless one is pending.
 * TWA_RESUME also kicks the task if it is running on a CPU. Returns true
 * if a park is queued.
 */
static bool gcmem_queue_park(struct gcmem_heap *heap, struct gcmem_thread *t)
{
	struct gcmem_force *f;

	if (atomic_read(&t->park_queued))
		return true;
	f = kmalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return false;
	init_task_work(&f->cb, gcmem_force_fn);
	f->heap = heap;
	kref_get(&heap->ref);
	__module_get(THIS_MODULE);
	atomic_set(&t->park_queued, 1);
	if (task_work_add(t->task, &f->cb, TWA_RESUME)) {
		/* The task is exiting: it counts as stopped anyway. */
		atomic_set(&t->park_queued, 0);
		gcmem_heap_put(heap);
		kfree(f);
		module_put(THIS_MODULE);
		return false;
	}
	return true;
}

/* Is @t asleep, or aside (gcmem_stop_aside_begin()): running no user code? */
static bool gcmem_thread_away(struct gcmem_thread *t)
{
	return !task_is_running(t->task) || READ_ONCE(t->aside);
}

/*
 * Stop @t for this cycle if that needs no waiting, and say whether it is
 * stopped: parked already, or claimed now if it is BLOCKED, or found
 * asleep now if it sleeps in the kernel: a sleeping task is not running
 * user code, and with a park queued before we look, it will not run any
 * before the restart. So a thread waiting in pthread_join() or read()
 * without gcu_blocking_enter() does not hold up the world either; it is
 * scanned from the registers and stack pointer saved at its kernel entry.
 * A move that fails found the thread parked meanwhile: stopped too.
 */
static bool gcmem_thread_try_stop(struct gcmem_heap *heap,
				  struct gcmem_thread *t)
{
	u32 st;

	if (!(GCMEM_STOP_WAITING & BIT(READ_ONCE(t->stop))) ||
	    gcmem_task_gone(t->task))
		return true;
	st = READ_ONCE(t->slot->status);
	if ((st & ~GCMEM_THREAD_SCAN) == GCMEM_THREAD_BLOCKED &&
	    gcmem_status_cas(t, st, GCMEM_THREAD_BLOCKED | GCMEM_THREAD_SCAN)) {
		/* A misbehaving thread may park while BLOCKED: not claimed. */
		if (!gcmem_stop_move(t, GCMEM_STOP_CLAIMED)) {
			gcmem_status_unscan(t);
			wake_up_all(&heap->restart_wq);
		}
		return true;
	}
	if (gcmem_thread_away(t) && gcmem_queue_park(heap, t)) {
		/*
		 * The park is queued before the task's state is read again;
		 * pairs with the barrier in gcmem_stop_aside_end().
		 */
		smp_mb();
		if (gcmem_thread_away(t))
			return gcmem_stop_move(t, GCMEM_STOP_ASLEEP) ||
			       gcmem_stop_is(t, GCMEM_STOP_PARKED);
	}
	return false;
}

/*
 * gcmem_stop_aside_begin() - the calling thread, if registered, goes about
 * kernel work that reads and writes neither its user memory nor anything
 * a stop guards, and takes heap->lock (or parks) before it does more: the
 * zeroing of a chunk page for the heap's growth (heap.c), 3-5 ms under
 * TCG. A stop meanwhile takes it as it takes a thread asleep in the
 * kernel (gcmem_thread_try_stop()): scanned in place from the registers
 * saved at its kernel entry, a park queued for its way out, rather than
 * waited for. The latency benchmark's first cycles, while its threads grow
 * the heap, stopped 1-4 ms waiting for such a zeroing. Returns the thread,
 * for gcmem_stop_aside_end(), or NULL.
 */
struct gcmem_thread *gcmem_stop_aside_begin(struct gcmem_heap *heap)
{
	struct gcmem_thread *t = gcmem_thread_current(heap);

	if (t)
		WRITE_ONCE(t->aside, true);
	return t;
}

void gcmem_stop_aside_end(struct gcmem_thread *t)
{
	if (!t)
		return;
	/*
	 * Before the thread looks for a queued park on its way out: a stop
	 * that saw it aside has queued one (gcmem_thread_try_stop()).
	 */
	smp_store_mb(t->aside, false);
	gcmem_thread_put(t);
}

/*
 * gcmem_stop_the_world() - stop every registered thread but @self (the
 * driver, which scans itself). Called with heap->lock held and heap->cycle
 * set. Returns 0 when every thread is parked, claimed or gone; -EAGAIN when
 * one could not be stopped in time; -EINTR when the driver was killed. The
 * caller restarts the world in every case.
 */
int gcmem_stop_the_world(struct gcmem_heap *heap, struct gcmem_thread *self)
{
	unsigned long start = jiffies, id;
	struct gcmem_thread *t;
	int pending, seen;

	lockdep_assert_held(&heap->lock);
	WRITE_ONCE(heap->stopping, true);
	/* Threads reading the epoch odd find @stopping set. */
	smp_store_release(&heap->control->safepoint_epoch,
			  heap->control->safepoint_epoch + 1);
	/* Threads waiting for heap->lock must park instead. */
	wake_up_all(&heap->lock_wq);
	/*
	 * A thread going to sleep for the cycle (gcmem_heap_lock_idle())
	 * either sees @stopping or is seen asleep below: pairs with the
	 * barrier in set_current_state().
	 */
	smp_mb();

	if (self) {
		gcmem_mark_self(heap->cycle, self);
		WARN_ON_ONCE(!gcmem_stop_move(self, GCMEM_STOP_PARKED));
	}

	for (;;) {
		seen = atomic_read(&heap->parks);
		pending = 0;
		xa_for_each(&heap->threads, id, t) {
			if (gcmem_thread_try_stop(heap, t))
				continue;
			pending++;
			if (t->eventfd && gcmem_stop_is(t, GCMEM_STOP_NONE) &&
			    gcmem_stop_move(t, GCMEM_STOP_SIGNALED))
				gcmem_eventfd_signal(t->eventfd);
			if (!gcmem_stop_is(t, GCMEM_STOP_FORCED) &&
			    time_after(jiffies, start +
				       msecs_to_jiffies(GCMEM_STOP_FORCE_MS)) &&
			    gcmem_stop_move(t, GCMEM_STOP_FORCED) &&
			    gcmem_queue_park(heap, t))
				heap->forced_stops++;
		}
		/*
		 * And every refill or large allocation under way has written
		 * its result (heap->handing_out): none begins, we hold the
		 * lock they take first.
		 */
		if (!pending && !atomic_read(&heap->handing_out))
			break;
		if (time_after(jiffies, start +
			       msecs_to_jiffies(GCMEM_STOP_ABANDON_MS)))
			return -EAGAIN;
		/* Not killable: fatal signals are looked at every pass. */
		wait_event_hrtimeout(heap->stop_wq,
				     atomic_read(&heap->parks) != seen ||
				     (!pending &&
				      !atomic_read(&heap->handing_out)),
				     ns_to_ktime(GCMEM_STOP_POLL_US *
						 NSEC_PER_USEC));
		if (fatal_signal_pending(current))
			return -EINTR;
	}
	/*
	 * Every thread is parked, claimed, asleep or gone. A thread that
	 * parked may still be scanning itself in gcmem_safepoint(): let such
	 * scans finish, so that all they grey is on the work lists before
	 * the mark starts; and a thread that was helping the mark (mark.c,
	 * gcmem_mark_assist()) gives its work back, having seen @stopping.
	 */
	smp_mb();
	if (wait_event_killable(heap->stop_wq,
				!atomic_read(&heap->scanning) &&
				!atomic_read(&heap->assisting)))
		return -EINTR;
	return 0;
}

/*
 * Tunable: long enough for a thread that refills or polls every few
 * hundred microseconds (GCBench's, under TCG), short enough that a thread
 * that does not come costs the mark little.
 */
#define GCMEM_RAGGED_MS		5

/*
 * gcmem_ragged_scan() - from a concurrent cycle's driver, in its SCAN or
 * between two of its mark's rounds (no worker runs, the work lists are
 * open): ask the running threads to scan their stacks, wait for them a
 * little, and end the request. Called without heap->lock.
 */
void gcmem_ragged_scan(struct gcmem_heap *heap)
{
	struct gcmem_thread *t;
	struct gcmem_cycle *c;
	unsigned long id;
	u64 last;
	int want = 0;
	bool first;

	mutex_lock(&heap->lock);
	c = heap->cycle;
	if (WARN_ON_ONCE(heap->stopping || !c ||
			 (heap->phase != GCMEM_PHASE_SCAN &&
			  heap->phase != GCMEM_PHASE_MARK))) {
		gcmem_heap_unlock(heap);
		return;
	}
	last = heap->ragged_gen;
	first = !c->ragged_asked;
	c->ragged_asked = true;
	atomic_set(&heap->ragged_acks, 0);
	atomic_set(&heap->ragged_waited, 0);
	/*
	 * Whom to wait for, before the request is published: a thread that
	 * answers at once reads its @ragged_wanted after the acquire of
	 * @ragged (gcmem_ragged_self()), and is counted.
	 *
	 * Not the driver, if it is a thread of the process: it is here. A
	 * thread asleep now is waited for as well (up to the timeout): it
	 * may be waiting for a moment only, for heap->lock or in a fault.
	 * Not one asleep at its program's request, though (interruptibly: a
	 * join, a read, a sleep; the kernel's own waits here are killable),
	 * which libgcuser does not know of: it does not come in time, and
	 * the stop scans it in place anyway; nor one aside
	 * (gcmem_stop_aside_begin()), which comes only after its work, nor
	 * one BLOCKED: both are scanned in place (collect.c). Waited for at
	 * each of the precleaning's rounds, the allocation benchmark's main
	 * thread, in pthread_join(), made a concurrent cycle with nothing to
	 * mark last 30 ms under TCG.
	 *
	 * After the cycle's first request, a thread is waited for only if it
	 * has its turn: it did the last request, or it had its turn then but
	 * was away (asleep, aside or BLOCKED). One that ran through a request
	 * without coming (it does not poll) loses its turn, or it would hold
	 * up every round. One away keeps it: a cycle the pacer starts in a
	 * refill finds its thread aside, zeroing the chunk the refill grows
	 * the heap by (6 ms under TCG); dropped for the cycle, GCBench's
	 * thread never scanned its stack beside the mark of a heap's first
	 * cycle, and its pause traced the tree under construction, 16-28 ms.
	 * Each running thread is still asked.
	 */
	xa_for_each(&heap->threads, id, t) {
		bool turn;

		if (t->task == current || gcmem_task_gone(t->task))
			continue;
		turn = first || READ_ONCE(t->ragged_gen) == last ||
		       t->ragged_away == last;
		if (!turn)
			continue;
		if (READ_ONCE(t->slot->status) != GCMEM_THREAD_RUNNING ||
		    (READ_ONCE(t->task->__state) & TASK_INTERRUPTIBLE) ||
		    READ_ONCE(t->aside)) {
			t->ragged_away = last + 1;
		} else {
			WRITE_ONCE(t->ragged_wanted, last + 1);
			want++;
		}
	}
	WRITE_ONCE(heap->ragged_gen, last + 1);
	/* Pairs with the acquire in gcmem_safepoint(). */
	smp_store_release(&heap->ragged, true);
	/* Threads reading the epoch odd find @ragged set. */
	smp_store_release(&heap->control->safepoint_epoch,
			  heap->control->safepoint_epoch + 1);
	xa_for_each(&heap->threads, id, t)
		if (t->eventfd && t->task != current &&
		    READ_ONCE(t->slot->status) == GCMEM_THREAD_RUNNING &&
		    !gcmem_task_gone(t->task))
			gcmem_eventfd_signal(t->eventfd);
	/* And the threads waiting for the cycle to end. */
	wake_up_all(&heap->idle_wq);
	gcmem_heap_unlock(heap);

	wait_event_timeout(heap->stop_wq,
			   atomic_read(&heap->ragged_waited) >= want,
			   msecs_to_jiffies(GCMEM_RAGGED_MS));

	mutex_lock(&heap->lock);
	WRITE_ONCE(heap->ragged, false);
	/*
	 * Pairs with the barrier after raising @scanning in
	 * gcmem_safepoint(): a thread either finds @ragged clear or is
	 * waited for here, so that no scan writes to the work lists once
	 * the workers run.
	 */
	smp_mb();
	wait_event(heap->stop_wq, !atomic_read(&heap->scanning));
	heap->ragged_scans += atomic_read(&heap->ragged_acks);
	/* Threads reading the epoch even find no request. */
	smp_store_release(&heap->control->safepoint_epoch,
			  heap->control->safepoint_epoch + 1);
	gcmem_heap_unlock(heap);
}

/*
 * gcmem_start_the_world() - let every thread go, after a stop (whether it
 * succeeded or not). Holds heap->lock. The cycle's phase is the caller's:
 * a concurrent cycle restarts the world to mark beside it.
 */
void gcmem_start_the_world(struct gcmem_heap *heap)
{
	struct gcmem_thread *t;
	unsigned long id;

	lockdep_assert_held(&heap->lock);
	WRITE_ONCE(heap->stopping, false);
	/* Pairs with the barrier after raising @scanning in gcmem_safepoint(). */
	smp_mb();
	/*
	 * No thread may still be scanning into this cycle when it is freed,
	 * and none may start: a thread entering gcmem_safepoint() from here
	 * on finds @stopping clear. Only then are the stop states reset;
	 * reset earlier, a thread arriving in between would scan itself
	 * into the ending cycle and be PARKED again, and the next
	 * cycle would take it as stopped without scanning it. Not killable,
	 * but bounded: a self-scan takes no page faults (what it cannot read
	 * so it leaves to the driver), so the longest wait is one scan of a
	 * stack in memory.
	 */
	wait_event(heap->stop_wq, !atomic_read(&heap->scanning));
	xa_for_each(&heap->threads, id, t) {
		if (gcmem_stop_is(t, GCMEM_STOP_CLAIMED))
			gcmem_thread_unclaim(t);
		WRITE_ONCE(t->stop, GCMEM_STOP_NONE);
	}
	WRITE_ONCE(heap->world_gen, heap->world_gen + 1);
	/* Threads reading the epoch even find the world restarted. */
	smp_store_release(&heap->control->safepoint_epoch,
			  heap->control->safepoint_epoch + 1);
	wake_up_all(&heap->restart_wq);
	wake_up_all(&heap->lock_wq);
}
