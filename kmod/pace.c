// SPDX-License-Identifier: GPL-2.0
/*
 * Pacing: when a cycle starts.
 *
 * The heap (bytes of spans in use) may grow to its goal
 *
 *	goal = max(GCMEM_HEAP_MINIMUM, live * (1 + gcpercent / 100))
 *
 * where live is what the last cycle marked, and gcpercent is 100 by default
 * or off (Go's GOGC: the heap may grow by gcpercent of what survived). A
 * stop-the-world cycle starts when the heap would pass the goal: trigger =
 * goal. A concurrent cycle must start earlier, for the program allocates
 * while it marks: by the runway, the growth the last concurrent cycles saw
 * from their start to their mark's end (a running average, doubled for a
 * cycle during which an allocation had to wait at the goal), so that the
 * mark ends as the heap reaches the goal; but the trigger stays in the
 * upper half of the growth, so that a runway out of proportion never
 * starts cycles back to back. While a concurrent cycle marks, an
 * allocation that would take the heap past the goal (or 4 MiB past where
 * the cycle began, if that is more) waits for the cycle to end (alloc.c):
 * a stand-in for mark assists, which would have the thread help instead.
 *
 * The allocation paths ask gcmem_pacer_wants_cycle() before they take a
 * span or a large object from fresh pages; an allocation that fails at the
 * heap's limit runs a cycle whatever the pacer says and tries once more
 * (alloc.c), failing with ENOMEM only if that did not free enough. A
 * pacer's cycle that cannot finish paces the next as if everything in use
 * were live, so that a heap whose cycles keep failing does not stop the
 * world at every refill.
 */
#include <linux/math64.h>

#include "gcmem.h"

/* Below 4 MiB a cycle costs more than the memory it could give back. */
#define GCMEM_HEAP_MINIMUM	(4ULL << 20)

/* Set the next cycle's goal and trigger from the bytes @live marked. */
void gcmem_pace(struct gcmem_heap *heap, u64 live)
{
	u64 goal = GCMEM_HEAP_MINIMUM;

	if (heap->gcpercent != GCMEM_GCPERCENT_OFF)
		goal = max(goal, live + div64_u64(live * heap->gcpercent, 100));
	heap->goal = goal;
	heap->trigger = goal;
	if (heap->mode == GCMEM_MODE_CONCURRENT && goal > live)
		heap->trigger -= min(heap->runway, (goal - live) / 2);
}

/*
 * A concurrent cycle's mark is over (the world stopped for its end): what
 * the heap grew by since the cycle began is the next runway's measure.
 */
void gcmem_pace_mark_done(struct gcmem_heap *heap)
{
	u64 grown = heap->inuse_bytes - min(heap->inuse_bytes,
					    heap->heap_before);

	if (heap->cycle_waited)
		grown *= 2;
	heap->runway = (heap->runway + grown) / 2;
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
	       heap->inuse_bytes + bytes > heap->trigger;
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
			       heap->inuse_bytes + GCMEM_HEAP_MINIMUM);
}

/* Must an allocation of @bytes more wait for the cycle? heap->lock. */
bool gcmem_pacer_must_wait(struct gcmem_heap *heap, u64 bytes)
{
	lockdep_assert_held(&heap->lock);
	if (!heap->cycle || heap->inuse_bytes + bytes <= heap->cycle_goal)
		return false;
	heap->cycle_waited = true;
	return true;
}

int gcmem_set_gcpercent(struct gcmem_heap *heap, u64 pct)
{
	int ret;

	if (pct > GCMEM_GCPERCENT_MAX && pct != GCMEM_GCPERCENT_OFF)
		return -EINVAL;
	ret = gcmem_heap_lock(heap);
	if (ret)
		return ret;
	heap->gcpercent = pct;
	gcmem_pace(heap, heap->marked_bytes);
	gcmem_heap_unlock(heap);
	return 0;
}
