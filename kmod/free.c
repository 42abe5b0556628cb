// SPDX-License-Identifier: GPL-2.0
/*
 * Early free (GCMEM_IOC_FREE): the program gives an object back before a
 * collection finds it unreachable, as bdwgc's GC_free does.
 *
 * The object is found as a candidate pointer is (query.c), but only its
 * exact start counts, and only if it is allocated: anything else -- a
 * pointer outside the heap, into an object, to a free slot (a double free
 * whose slot was not reused) -- is EINVAL and changes nothing. Then it is
 * freed as sweep frees an unmarked object:
 *
 *  - a large object's span is freed (its pages are zeroed when reused);
 *  - a small object's alloc bit is cleared and its span marked needzero,
 *    so the slot is zeroed before it is handed out again. A CACHED span is
 *    settled first (gcmem_span_settle()), so that the slot, if its owner
 *    took it since the handout, has an alloc bit to clear; the owner takes
 *    only slots above its cursor and never sees the slot again while it
 *    holds the span. A FULL span becomes PARTIAL and goes to its central
 *    list; a PARTIAL span left empty is freed.
 *
 * The object's finalizer, if it had one, is forgotten (finalize.c).
 *
 * Runs under heap->lock with no cycle under way (gcmem_heap_lock_idle()),
 * so never beside a mark, concurrent or not: a collection either saw
 * the object allocated or sees it free. Nor beside a fast refill (alloc.c),
 * which would hand back or out the span of another thread's object.
 */
#include "gcmem.h"

int gcmem_free(struct gcmem_heap *heap, struct gcmem_free *arg)
{
	unsigned long astart = gcmem_arena_start(heap);
	u64 off = arg->addr - astart;
	struct gcmem_span *span;
	u32 idx;
	int ret;

	if (arg->flags)
		return -EINVAL;
	if (!astart || arg->addr < astart || off >= heap->arena_size)
		return -EINVAL;

	ret = gcmem_heap_lock_idle(heap);
	if (ret)
		return ret;
	ret = -EINVAL;
	span = gcmem_object_at(heap, off, &idx);
	if (!span)
		goto out;
	ret = 0;
	gcmem_finalize_forget(heap, off, span->elem_size);

	gcmem_pace_unallocated(heap, span->elem_size);
	if (span->state == GCMEM_SPAN_LARGE) {
		gcmem_span_free(heap, span);
		goto out;
	}
	if (span->state == GCMEM_SPAN_CACHED)
		heap->small_allocated += gcmem_span_settle(span);
	__clear_bit(idx, span->allocbits);
	span->nalloc--;
	span->needzero = true;
	if (span->state == GCMEM_SPAN_FULL) {
		span->state = GCMEM_SPAN_PARTIAL;
		spin_lock(&heap->central_lock);
		list_add(&span->central, span->home);
		spin_unlock(&heap->central_lock);
	}
	if (span->state == GCMEM_SPAN_PARTIAL && !span->nalloc)
		gcmem_span_free(heap, span);
out:
	gcmem_heap_unlock(heap);
	return ret;
}
