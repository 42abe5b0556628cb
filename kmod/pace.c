// SPDX-License-Identifier: GPL-2.0
/*
 * Pacing: when a cycle starts.
 *
 * The heap may grow to its goal
 *
 *	goal = max(GCMEM_HEAP_MINIMUM, live * (1 + gcpercent / 100))
 *
 * where live is what the last cycle marked, and gcpercent is 100 by default
 * or off (Go's GOGC: the heap may grow by gcpercent of what survived). A
 * stop-the-world cycle starts when the heap would pass the goal: trigger =
 * goal. A concurrent cycle must start earlier, for the program allocates
 * while it marks: by the runway, the growth the last concurrent cycles saw
 * from their start to their mark's end (a running average; where an
 * allocation had to wait at the goal, the growth until then projected
 * over the whole mark, taken at once), so that the mark ends as the heap
 * reaches the goal; but the trigger stays in the upper three quarters of
 * the growth (GCMEM_RUNWAY_MAX_PCT), so that a runway out of proportion
 * never starts cycles back to back. While a concurrent cycle marks, an
 * allocation that would take the heap past the goal (or 4 MiB past where
 * the cycle began, if that is more) waits for the cycle to end (alloc.c),
 * helping the mark meanwhile (mark assists); so does every allocation in
 * the precleaning's last round (heap->track_final), whose writes the
 * pause scans again: what the program writes most is new objects, and a
 * last round that runs beside them never converged in the latency
 * benchmark (865 pages written in it, a 26 ms pause). Proportional
 * assists, before the goal, are an option (assist_ratio, below).
 *
 * The heap, for the pacer, is heap->live_bytes (Go's heapLive): what the
 * last cycle marked plus what was handed out since, the free slots of
 * every span a refill hands out and every large object. Not the spans in
 * use: where the garbage is scattered over the spans (a table whose
 * entries are replaced at random), few spans empty, and a heap measured in
 * spans stays above twice the marked bytes after its sweep: every cycle
 * would start at once, and with the goal passed, allocation would wait for
 * the whole mark (the latency benchmark's threads did, a second a cycle,
 * at 256 MiB live). The limit is the spans', the chunks committed.
 *
 * The allocation paths ask gcmem_pacer_wants_cycle() before every refill
 * and large object; an allocation that fails at the
 * heap's limit runs a cycle whatever the pacer says and tries once more
 * (alloc.c), failing with ENOMEM only if that did not free enough. A
 * pacer's cycle that cannot finish paces the next as if everything
 * allocated were live, so that a heap whose cycles keep failing does not stop the
 * world at every refill.
 *
 * A concurrent heap's cycle marks beside the program only if there is
 * enough to mark (gcmem_pace_concurrent(), GCMEM_OPTION_CONCURRENT_MIN);
 * a small heap's stops the world throughout, which there costs less than
 * a concurrent cycle's own work: arming the tracking zaps the arena's
 * mappings, which the program faults in again, and the driver's
 * hand-offs. With every cycle concurrent, the allocation benchmark
 * (nothing live, a few MiB of heap, a cycle every few ms) ran at half its
 * stop-the-world speed (bench/RESULTS.md at 56b057b; at 0b80eb5, 6.1
 * against 14.2 M allocations a second, one thread), while a stopped
 * mark of 1 MiB of live objects takes about 3 ms in the guest under TCG,
 * a twentieth of that natively.
 */
#include <linux/math64.h>
#include <linux/module.h>

#include "collect.h"

/* Below 4 MiB a cycle costs more than the memory it could give back. */
#define GCMEM_HEAP_MINIMUM	(4ULL << 20)

/* GCMEM_OPTION_CONCURRENT_MIN's default, for new heaps. */
static unsigned long gcmem_concurrent_min = 1UL << 20;
module_param_named(concurrent_min_live, gcmem_concurrent_min, ulong, 0644);
MODULE_PARM_DESC(concurrent_min_live, "bytes a concurrent heap's last cycle must have marked for the next to mark concurrently (GCMEM_OPTION_CONCURRENT_MIN's default)");

u64 gcmem_default_concurrent_min(void)
{
	return min_t(u64, READ_ONCE(gcmem_concurrent_min),
		     GCMEM_CONCURRENT_MIN_MAX);
}

/* Will a cycle of @heap, which marked @live bytes last, mark beside it? */
static bool gcmem_pace_beside(struct gcmem_heap *heap, u64 live)
{
	return heap->mode == GCMEM_MODE_CONCURRENT &&
	       live >= heap->concurrent_min;
}

/*
 * Does the cycle beginning now mark concurrently? Its live estimate is
 * what the last cycle marked, or for the first, the heap in use (which
 * holds at least what it will mark). heap->lock.
 */
bool gcmem_pace_concurrent(struct gcmem_heap *heap)
{
	lockdep_assert_held(&heap->lock);
	return gcmem_pace_beside(heap, heap->cycles ? heap->marked_bytes :
						      heap->live_bytes);
}

/*
 * The runway is at most this share of the growth from the live heap to the
 * goal. GCBench (8 MiB live, a 16 MiB goal, one worker marking beside it)
 * waited at the goal for half of every mark with a cap of half the growth
 * (10 of 21 ms, 0.6 s of a 2.1 s run), while the second vCPU idled a
 * quarter of the time; with three quarters it ran 1.90-2.00 s against
 * 2.05-2.33 s (interleaved runs in the 6.12 guest), as many cycles (a
 * cycle's growth is the goal's, wherever it starts), no pause longer.
 */
#define GCMEM_RUNWAY_MAX_PCT	75

/* Set the next cycle's goal and trigger from the bytes @live marked. */
void gcmem_pace(struct gcmem_heap *heap, u64 live)
{
	u64 goal = GCMEM_HEAP_MINIMUM;

	if (heap->gcpercent != GCMEM_GCPERCENT_OFF)
		goal = max(goal, live + div64_u64(live * heap->gcpercent, 100));
	heap->goal = goal;
	heap->trigger = goal;
	if (gcmem_pace_beside(heap, live) && goal > live)
		heap->trigger -= min(heap->runway,
				     div64_u64((goal - live) *
					       GCMEM_RUNWAY_MAX_PCT, 100));
}

/*
 * What a pacer's cycle keeps of the heap after its sweep, for
 * gcmem_chunks_reserve_empty() (heap.c): what the heap grows back to
 * before the next cycle's sweep, so that no chunk is given back only to
 * be committed again, a zeroed 2 MiB page and a fault each. That is the
 * goal if the next cycle marks beside the program, which allocates on
 * while it marks, up to the goal; the trigger if it stops the world. Or
 * the spans in use when this cycle began, if more, but never more than
 * the goal. Keeping the trigger for a concurrent heap, GCBench's gave two
 * of its nine chunks back every cycle and took them back in the next,
 * 7% of the run's time in the refills' clear_page_erms (perf in the
 * guest). After gcmem_pace(); heap->lock.
 */
u64 gcmem_pace_keep(struct gcmem_heap *heap)
{
	u64 grows_to = gcmem_pace_concurrent(heap) ? heap->goal :
						      heap->trigger;

	return max(grows_to, min(heap->heap_before, heap->goal));
}

/* A waiting cycle's growth, projected, at most this many times. */
#define GCMEM_RUNWAY_PROJECT_MAX	16

/*
 * A concurrent cycle's mark is over (the world stopped for its end): what
 * the heap grew by since the cycle began is the next runway's measure.
 * If an allocation had to wait, the growth stopped there: the program's
 * pace until then, over the whole mark, is the measure, and the runway
 * takes it at once rather than halfway (a runway too short costs a wait
 * for the rest of the mark, a second at 256 MiB live under TCG).
 */
void gcmem_pace_mark_done(struct gcmem_heap *heap)
{
	u64 grown = heap->live_bytes - min(heap->live_bytes,
					   heap->live_before);
	u64 mark_ns = ktime_to_ns(ktime_sub(ktime_get(), heap->cycle->t_start));

	if (!heap->cycle_waited) {
		heap->runway = (heap->runway + grown) / 2;
		return;
	}
	grown = heap->wait_grown;
	if (heap->wait_after_ns && mark_ns > heap->wait_after_ns) {
		mark_ns = min_t(u64, mark_ns, heap->wait_after_ns *
					      GCMEM_RUNWAY_PROJECT_MAX);
		grown = mul_u64_u64_div_u64(grown, mark_ns,
					    heap->wait_after_ns);
	}
	heap->runway = max(heap->runway, grown);
}

/*
 * @bytes counted in heap->live_bytes are not allocated after all: freed
 * explicitly, or free slots of a span its thread gave back. Never below
 * what a sweep under way counts from (see gcmem_sweep_done()). heap->lock.
 */
void gcmem_pace_unallocated(struct gcmem_heap *heap, u64 bytes)
{
	u64 floor = heap->sweeping ? heap->live_at_sweep : 0;

	lockdep_assert_held(&heap->lock);
	heap->live_bytes -= min(bytes, heap->live_bytes - min(heap->live_bytes,
							      floor));
}

/*
 * Would @bytes more in use take the heap past its trigger, and can a cycle
 * start (none is under way, and the last one's sweep is over: its figures
 * set the trigger)? heap->lock.
 */
bool gcmem_pacer_wants_cycle(struct gcmem_heap *heap, u64 bytes)
{
	lockdep_assert_held(&heap->lock);
	return !heap->cycle && !heap->sweeping &&
	       heap->gcpercent != GCMEM_GCPERCENT_OFF &&
	       heap->live_bytes + bytes > heap->trigger;
}

/*
 * gcmem_pacer_fast_ok() - may a fast refill (alloc.c) hand out @bytes more
 * without heap->lock? Not past the trigger: the slow path starts the
 * cycle there. Read without the lock, so two refills may both pass by a
 * span each; the next slow path paces what they took.
 */
bool gcmem_pacer_fast_ok(struct gcmem_heap *heap, u64 bytes)
{
	u64 live;

	if (READ_ONCE(heap->gcpercent) == GCMEM_GCPERCENT_OFF)
		return true;
	live = READ_ONCE(heap->live_bytes) + atomic64_read(&heap->fast.live);
	return live + bytes <= READ_ONCE(heap->trigger);
}

/*
 * A cycle begins (collect.c): how far the heap may grow while it marks,
 * if it marks concurrently (see above), so that a program allocating
 * faster than the workers mark does not run the heap to its limit.
 */
void gcmem_pace_cycle(struct gcmem_heap *heap)
{
	heap->cycle_waited = false;
	if (heap->gcpercent == GCMEM_GCPERCENT_OFF) {
		heap->cycle_goal = U64_MAX;
		return;
	}
	heap->cycle_goal = max(heap->goal,
			       heap->live_bytes + GCMEM_HEAP_MINIMUM);
}

/*
 * Tunable: proportional assists. While a concurrent cycle's workers mark,
 * an allocation pays for itself in mark work before it gets its memory:
 * the objects left to scan (the last cycle kept heap->marked_objs; the
 * drains have scanned c->scanned) over the bytes left before the cycle's
 * goal, times the bytes it takes (Go's assist ratio, without its credit).
 * So the program slows in proportion as it outruns the workers, rather
 * than running into the goal and waiting there for the rest of the mark.
 */
static bool gcmem_assist_ratio;
module_param_named(assist_ratio, gcmem_assist_ratio, bool, 0644);
MODULE_PARM_DESC(assist_ratio, "allocations during a concurrent mark help it in proportion to what they take (default 0)");

/* Does a concurrent cycle beginning now take proportional assists? */
bool gcmem_pace_assists(void)
{
	return READ_ONCE(gcmem_assist_ratio);
}

/*
 * gcmem_pace_assist() - before an allocation of @bytes (a refill, a large
 * object), without heap->lock: pay a concurrent mark what it owes, if its
 * cycle takes proportional assists (gcmem_mark_assist() decides, under
 * its own guard of the cycle). Without the option, nothing but this test.
 */
void gcmem_pace_assist(struct gcmem_heap *heap, u64 bytes)
{
	if (READ_ONCE(gcmem_assist_ratio) && READ_ONCE(heap->cycle))
		gcmem_mark_assist(heap, bytes, NULL);
}

/*
 * gcmem_pace_assist_objs() - what an allocation of @bytes during @c's mark
 * owes it, in objects to scan (see above); 0 if nothing, or if @c counts
 * no scans (@c->assists, set at its start). Read without heap->lock: an
 * estimate, as the figures move under it anyway.
 */
u64 gcmem_pace_assist_objs(struct gcmem_heap *heap, struct gcmem_cycle *c,
			   u64 bytes)
{
	u64 expect = READ_ONCE(heap->marked_objs);
	u64 done = atomic64_read(&c->scanned);
	u64 live = READ_ONCE(heap->live_bytes);
	u64 goal = READ_ONCE(heap->cycle_goal);

	if (!c->assists || done >= expect || live >= goal)
		return 0;
	return mul_u64_u64_div_u64(bytes, expect - done, goal - live);
}

/* Must an allocation of @bytes more wait for the cycle? heap->lock. */
bool gcmem_pacer_must_wait(struct gcmem_heap *heap, u64 bytes)
{
	lockdep_assert_held(&heap->lock);
	/*
	 * In the precleaning's last round, what the program writes the
	 * pause scans again: its allocations, most of what it writes, wait
	 * (and help) until the cycle ends.
	 */
	if (heap->cycle && READ_ONCE(heap->track_final))
		return true;
	if (!heap->cycle || heap->live_bytes + bytes <= heap->cycle_goal)
		return false;
	if (!heap->cycle_waited) {
		heap->wait_after_ns = ktime_to_ns(ktime_sub(ktime_get(),
							    heap->cycle->t_start));
		heap->wait_grown = heap->live_bytes -
				   min(heap->live_bytes, heap->live_before);
	}
	heap->cycle_waited = true;
	return true;
}

/*
 * Set one of the pacing options (@field: the heap's) to @val, and pace
 * the next cycle by it.
 */
static int gcmem_pace_set(struct gcmem_heap *heap, u64 *field, u64 val)
{
	int ret;

	ret = gcmem_heap_lock(heap);
	if (ret)
		return ret;
	*field = val;
	gcmem_pace(heap, heap->marked_bytes);
	gcmem_heap_unlock(heap);
	return 0;
}

int gcmem_set_gcpercent(struct gcmem_heap *heap, u64 pct)
{
	if (pct > GCMEM_GCPERCENT_MAX && pct != GCMEM_GCPERCENT_OFF)
		return -EINVAL;
	return gcmem_pace_set(heap, &heap->gcpercent, pct);
}

/* GCMEM_OPTION_CONCURRENT_MIN: bytes, at most the arena. */
int gcmem_set_concurrent_min(struct gcmem_heap *heap, u64 bytes)
{
	if (bytes > GCMEM_CONCURRENT_MIN_MAX)
		return -EINVAL;
	return gcmem_pace_set(heap, &heap->concurrent_min, bytes);
}
