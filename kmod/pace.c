// SPDX-License-Identifier: GPL-2.0
/*
 * Pacing: when a cycle starts.
 *
 * A cycle starts when the heap in use (bytes of spans) would reach
 *
 *	trigger = max(GCMEM_HEAP_MINIMUM, live * (1 + gcpercent / 100))
 *
 * where live is what the last cycle marked, and gcpercent is 100 by default
 * or off (Go's GOGC: the heap may grow by gcpercent of what survived). The
 * allocation paths ask gcmem_pacer_wants_cycle() before they take a span
 * or a large object from fresh pages; an allocation that fails at the
 * heap's limit runs a cycle whatever the pacer says and tries once more
 * (alloc.c), failing with ENOMEM only if that did not free enough. A
 * pacer's cycle that cannot finish paces the next as if everything in use
 * were live, so that a heap whose cycles keep failing does not stop the
 * world at every refill. While a concurrent cycle marks, the heap's growth
 * is bounded by the cycle's goal (below).
 */
#include <linux/math64.h>

#include "gcmem.h"

/* Below 4 MiB a cycle costs more than the memory it could give back. */
#define GCMEM_HEAP_MINIMUM	(4ULL << 20)

/* Set the next cycle's trigger from the bytes @live marked. */
void gcmem_pace(struct gcmem_heap *heap, u64 live)
{
	u64 trigger = GCMEM_HEAP_MINIMUM;

	if (heap->gcpercent != GCMEM_GCPERCENT_OFF)
		trigger = max(trigger,
			      live + div64_u64(live * heap->gcpercent, 100));
	heap->trigger = trigger;
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
 * A concurrent cycle's goal (collect.c): while it marks, the heap may grow
 * past what it was in use when the cycle began by gcpercent / 2 of that
 * (at least GCMEM_HEAP_MINIMUM); an allocation that would take it further
 * waits for the cycle to end (alloc.c), so that a program allocating
 * faster than the workers mark does not run the heap to its limit. A
 * stand-in for mark assists, which would have the thread help instead.
 */
void gcmem_pace_cycle(struct gcmem_heap *heap)
{
	u64 before = heap->inuse_bytes;

	if (heap->gcpercent == GCMEM_GCPERCENT_OFF) {
		heap->cycle_goal = U64_MAX;
		return;
	}
	heap->cycle_goal = before + max(GCMEM_HEAP_MINIMUM,
					div64_u64(before * heap->gcpercent,
						  200));
}

/* Must an allocation of @bytes more wait for the cycle? heap->lock. */
bool gcmem_pacer_must_wait(struct gcmem_heap *heap, u64 bytes)
{
	lockdep_assert_held(&heap->lock);
	return heap->cycle && heap->inuse_bytes + bytes > heap->cycle_goal;
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
