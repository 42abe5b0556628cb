// SPDX-License-Identifier: GPL-2.0
/*
 * Sweep: free what the mark left white. See collect.c for the cycle.
 *
 * Runs in the cycle's driver with the world stopped and heap->lock held,
 * over every span:
 *
 *  - FULL and PARTIAL spans keep the alloc bits of marked slots only; a span
 *    with no object left is freed (its pages go back to the page
 *    allocator), one with free slots goes to its central list;
 *  - a LARGE span is freed unless its object is marked;
 *  - a CACHED span belongs to its thread, which takes its slots from the
 *    cursor up, so sweep only looks below the cursor: slots allocated there
 *    (alloc bit, or free at handout and below the cursor) keep their bit if
 *    marked, and the span's handout cursor moves up to the cursor, so that
 *    the span's eventual return does not count them again. The slot just
 *    below the cursor is always kept: a thread stopped by force between
 *    publishing its cursor and holding the new object in a register or on
 *    its stack must not lose it.
 *
 * Every span leaves with its mark bits clear, ready for the next cycle.
 * Freed slots are zeroed before they are handed out again (needzero); the
 * pages of freed spans are zeroed when reused (gcmem_span_new()). The
 * cycle then gives back chunks left empty (gcmem_chunks_reserve_empty()).
 */
#include <linux/bitmap.h>

#include "collect.h"

static void gcmem_sweep_cached(struct gcmem_heap *heap, struct gcmem_span *span,
			       const unsigned long *marks, u64 *marked,
			       u64 *freed)
{
	u32 cursor = gcmem_span_cursor(span), i;

	for (i = 0; i < cursor; i++) {
		bool allocated = test_bit(i, span->allocbits) ||
				 i >= span->handout_cursor;

		if (!allocated)
			continue;
		if (test_bit(i, marks) || i == cursor - 1) {
			if (!__test_and_set_bit(i, span->allocbits)) {
				span->nalloc++;
				heap->small_allocated++;
			}
			*marked += span->elem_size;
		} else {
			if (__test_and_clear_bit(i, span->allocbits))
				span->nalloc--;
			else
				heap->small_allocated++;
			span->needzero = true;
			*freed += span->elem_size;
		}
	}
	span->handout_cursor = cursor;
}

/*
 * A FULL or PARTIAL span: alloc bits become alloc & mark, a word at a time
 * (a span of small objects is a few words of bits). A marked slot that
 * is not allocated (the mark counts every slot of a cached span from its
 * handout cursor up, mark.c) stays free.
 */
static void gcmem_sweep_bits(struct gcmem_span *span, u64 *marked,
			     u64 *freed)
{
	unsigned long *alloc = span->allocbits;
	const unsigned long *marks = span->markbits;
	unsigned int w, nfreed = 0, nkept = 0;

	for (w = 0; w < BITS_TO_LONGS(span->nelems); w++) {
		nfreed += hweight_long(alloc[w] & ~marks[w]);
		alloc[w] &= marks[w];
		nkept += hweight_long(alloc[w]);
	}
	if (nfreed)
		span->needzero = true;
	span->nalloc -= nfreed;
	*marked += (u64)nkept * span->elem_size;
	*freed += (u64)nfreed * span->elem_size;
}

void gcmem_sweep(struct gcmem_heap *heap, struct gcmem_cycle *c)
{
	struct gcmem_span *span, *next;
	struct list_head *central;
	u64 marked = 0, freed = 0;

	lockdep_assert_held(&heap->lock);
	list_for_each_entry_safe(span, next, &heap->spans, node) {
		const unsigned long *marks = span->markbits;

		switch (span->state) {
		case GCMEM_SPAN_LARGE:
			if (test_bit(0, marks)) {
				marked += span->elem_size;
				break;
			}
			freed += span->elem_size;
			gcmem_span_free(heap, span);
			continue;
		case GCMEM_SPAN_CACHED:
			gcmem_sweep_cached(heap, span, marks, &marked, &freed);
			break;
		case GCMEM_SPAN_FULL:
		case GCMEM_SPAN_PARTIAL:
			gcmem_sweep_bits(span, &marked, &freed);
			if (!span->nalloc) {
				gcmem_span_free(heap, span);
				continue;
			}
			if (span->state == GCMEM_SPAN_FULL &&
			    span->nalloc < span->nelems) {
				span->state = GCMEM_SPAN_PARTIAL;
				central = gcmem_central(heap, span->size_class,
							span->type_id, true);
				if (central)
					list_add(&span->central, central);
			}
			break;
		}
		bitmap_zero(span->markbits, span->nelems);
	}
	heap->marked_bytes = marked;
	heap->freed_bytes += freed;
}
