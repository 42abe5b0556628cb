// SPDX-License-Identifier: GPL-2.0
/*
 * Sweep: free what the mark left white. See collect.c for the cycle.
 *
 * Each span is swept once a cycle, between the end of the cycle's mark
 * and the next cycle's mark:
 *
 *  - FULL and PARTIAL spans keep the alloc bits of marked slots only; a span
 *    with no object left is freed (its pages go back to the page
 *    allocator), or, by a small heap's stop-the-world cycle of the pacer's,
 *    kept idle on its central list for the next refills of its class
 *    (gcmem_span_keep_idle()); one with free slots goes to its central
 *    list;
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
 * When: gcmem_sweep_start(), with the world stopped at the end of the
 * mark, sweeps the CACHED spans, whose owners allocate white objects above
 * their cursors as soon as the world restarts (so their cursors must be
 * read now), and moves every other span to heap->unswept. The rest is
 * swept with heap->lock held but the world running (gcmem_sweep_some()):
 * in the same pause for a stop-the-world cycle; right after it by the
 * thread that ran a concurrent cycle for gcu_collect() or the limit, which
 * want the memory before they return; by the kernel's driver, a batch of
 * spans a lock hold, for a cycle of the pacer's; and, whoever comes
 * first, by a refill before it hands out a span from a central list (it
 * is never handed out unswept: its free slots are not known before), by
 * an allocation that would take fresh pages (a few spans first, which
 * may free some), and by the next cycle before it stops the world (every
 * span is swept and every mark bit clear before a mark).
 *
 * A span's @sweepgen says it is swept: it equals heap->sweepgen, which
 * gcmem_sweep_start() advances. Spans made after that are swept already.
 * Until the last span is swept the pacer starts no cycle, and the cycle's
 * figures (bytes marked and freed, the heap after it, the next trigger,
 * the chunks it gives back) wait for it: gcmem_sweep_done().
 *
 * Every span leaves with its mark bits clear, ready for the next cycle.
 * Freed slots are zeroed before they are handed out again (needzero); the
 * pages of freed spans are zeroed when reused (gcmem_span_new()).
 */
#include <linux/bitmap.h>
#include <linux/ktime.h>

#include "collect.h"

/*
 * A CACHED span, below its cursor, a word at a time: a slot is allocated
 * if its alloc bit is set or it was free at the handout and is below the
 * cursor now (its owner took it); it stays so if marked, and so does the
 * slot just below the cursor. What the owner took counts as allocated
 * here, kept or freed (heap->small_allocated), as a return would have.
 */
static void gcmem_sweep_cached(struct gcmem_heap *heap, struct gcmem_span *span,
			       const unsigned long *marks)
{
	u32 cursor = gcmem_span_cursor(span), from = span->handout_cursor;
	unsigned int w, nkept = 0, nfreed = 0, ngained = 0, nlost = 0;
	unsigned long *alloc = span->allocbits;

	for (w = 0; w < BITS_TO_LONGS(cursor); w++) {
		unsigned long below = ~0UL, taken = 0, mark = marks[w];
		unsigned long was = alloc[w], in, keep;

		if (w == (cursor - 1) / BITS_PER_LONG) {
			below = BITMAP_LAST_WORD_MASK(cursor);
			mark |= BIT((cursor - 1) % BITS_PER_LONG);
		}
		if (from <= w * BITS_PER_LONG)
			taken = ~0UL;
		else if (from < (w + 1) * BITS_PER_LONG)
			taken = BITMAP_FIRST_WORD_MASK(from);
		in = (was | taken) & below;
		keep = in & mark;
		alloc[w] = (was & ~below) | keep;
		nkept += hweight_long(keep);
		nfreed += hweight_long(in & ~mark);
		ngained += hweight_long(keep & ~was);
		nlost += hweight_long(in & ~mark & was);
	}
	span->nalloc += ngained - nlost;
	heap->small_allocated += ngained + nfreed - nlost;
	if (nfreed)
		span->needzero = true;
	heap->sweep_marked += (u64)nkept * span->elem_size;
	heap->sweep_marked_objs += nkept;
	heap->sweep_freed += (u64)nfreed * span->elem_size;
	span->handout_cursor = cursor;
}

/*
 * A FULL or PARTIAL span: alloc bits become alloc & mark, a word at a time
 * (a span of small objects is a few words of bits). A marked slot that
 * is not allocated (the mark counts every slot of a cached span from its
 * handout cursor up, mark.c) stays free.
 */
static void gcmem_sweep_bits(struct gcmem_heap *heap, struct gcmem_span *span)
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
	heap->sweep_marked_objs += nkept;
	heap->sweep_marked += (u64)nkept * span->elem_size;
	heap->sweep_freed += (u64)nfreed * span->elem_size;
}

/*
 * gcmem_span_keep_idle() - a sweep found @span, small and not CACHED, empty:
 * keep it on its central list, idle, rather than free it? Only the sweep of
 * a pacer's stop-the-world cycle of a small heap keeps one
 * (heap->sweep_keep_idle, GCMEM_IDLE_HEAP_MAX), and only once: the
 * program, allocating at the rate that started the cycle, asks for as many
 * spans of the class again before the next, and one that is reused costs
 * its zeroing (after heap->lock), where a free and a new span cost the page
 * allocator, the span table and a span structure, under heap->lock, which
 * every refill takes. A span no refill took before the next sweep is freed
 * by it, so that a program whose heap shrank gives back its chunks a cycle
 * later; and the page allocator frees the idle spans before it grows the
 * heap (gcmem_spans_trim()), so that keeping them never grows it.
 * Collections that want their memory (gcu_collect(), the limit) keep none.
 * Nor does a concurrent cycle's sweep: the next cycle marks beside the
 * program, when no span may be freed, so idle spans of one class could not
 * make way for another's growth then; kept by every pacer's sweep, GCBench
 * in concurrent mode ran 2.13 s instead of 1.74 (medians of 5, in-boot
 * A/B, 6.12 guest).
 */
static bool gcmem_span_keep_idle(struct gcmem_heap *heap,
				 struct gcmem_span *span)
{
	lockdep_assert_held(&heap->lock);
	WARN_ON_ONCE(span->nalloc || !span->home);
	if (!heap->sweep_keep_idle || span->idle)
		return false;
	span->idle = true;
	heap->idle_bytes += (u64)span->npages * GCMEM_PAGE_SIZE;
	return true;
}

/*
 * Sweep @span, which is not CACHED, and put it back on heap->spans. Returns
 * true if it was freed.
 */
static bool gcmem_sweep_span(struct gcmem_heap *heap, struct gcmem_span *span)
{
	const unsigned long *marks = span->markbits;

	span->sweepgen = heap->sweepgen;
	list_move(&span->node, &heap->spans);
	switch (span->state) {
	case GCMEM_SPAN_LARGE:
		if (test_bit(0, marks)) {
			heap->sweep_marked += span->elem_size;
			heap->sweep_marked_objs++;
			break;
		}
		heap->sweep_freed += span->elem_size;
		gcmem_span_free(heap, span);
		return true;
	case GCMEM_SPAN_FULL:
	case GCMEM_SPAN_PARTIAL:
		gcmem_sweep_bits(heap, span);
		if (!span->nalloc && !gcmem_span_keep_idle(heap, span)) {
			gcmem_span_free(heap, span);
			return true;
		}
		if (span->state == GCMEM_SPAN_FULL &&
		    span->nalloc < span->nelems) {
			span->state = GCMEM_SPAN_PARTIAL;
			spin_lock(&heap->central_lock);
			list_add(&span->central, span->home);
			spin_unlock(&heap->central_lock);
		}
		break;
	case GCMEM_SPAN_CACHED:
		/* gcmem_sweep_start() swept it; none is handed out unswept. */
	case GCMEM_SPAN_NEW:
		/* Handed out in the heap->lock hold that carved it. */
		WARN_ON_ONCE(1);
		break;
	}
	bitmap_zero(span->markbits, span->nelems);
	return false;
}

/*
 * gcmem_sweep_start() - with the world stopped at the end of a cycle's mark
 * (heap->lock held): sweep the CACHED spans and leave the rest for
 * gcmem_sweep_some(). @why: whose cycle it is (what it keeps, see
 * gcmem_sweep_done()).
 */
void gcmem_sweep_start(struct gcmem_heap *heap, enum gcmem_gc_reason why)
{
	struct gcmem_thread *t;
	struct gcmem_span *span;
	unsigned long id;
	u32 i;

	lockdep_assert_held(&heap->lock);
	WARN_ON_ONCE(heap->sweeping);
	WRITE_ONCE(heap->sweeping, true);
	heap->sweepgen++;
	heap->sweep_why = why;
	heap->sweep_cycle = heap->cycles + 1;
	heap->sweep_marked = 0;
	heap->sweep_marked_objs = 0;
	heap->sweep_freed = 0;
	heap->live_at_sweep = heap->live_bytes;
	list_splice_init(&heap->spans, &heap->unswept);
	xa_for_each(&heap->threads, id, t) {
		for (i = 0; i < GCMEM_THREAD_CACHES; i++) {
			span = t->caches[i];
			if (!span)
				continue;
			gcmem_sweep_cached(heap, span, span->markbits);
			bitmap_zero(span->markbits, span->nelems);
			span->sweepgen = heap->sweepgen;
			list_move(&span->node, &heap->spans);
		}
	}
}

/* The last span is swept: the cycle's figures, the next trigger. */
static void gcmem_sweep_done(struct gcmem_heap *heap)
{
	heap->swept_cycles = heap->sweep_cycle;
	heap->marked_bytes = heap->sweep_marked;
	heap->marked_objs = heap->sweep_marked_objs;
	heap->freed_bytes += heap->sweep_freed;
	/* What survived, and what was handed out since the mark ended. */
	heap->live_bytes = heap->sweep_marked + heap->live_bytes -
			   heap->live_at_sweep;
	/* The idle spans hold nothing: the heap after does not have them. */
	heap->heap_after = heap->inuse_bytes - heap->idle_bytes;
	gcmem_pace(heap, heap->marked_bytes);
	gcmem_chunks_reserve_empty(heap, heap->sweep_why == GCMEM_GC_PACER ?
				   gcmem_pace_keep(heap) : 0);
	gcmem_chunks_release(heap);
	/* Last: fast refills (alloc.c) come back, paced by the new trigger. */
	WRITE_ONCE(heap->sweeping, false);
}

/*
 * gcmem_sweep_some() - sweep up to @n spans left unswept (all of them for
 * ULONG_MAX); heap->lock held. Returns true when none is left. @in_pause:
 * the world is stopped (the time counts as the pause's).
 */
bool gcmem_sweep_some(struct gcmem_heap *heap, unsigned long n,
		      bool in_pause)
{
	struct gcmem_span *span;
	ktime_t start;

	lockdep_assert_held(&heap->lock);
	if (!heap->sweeping)
		return true;
	start = ktime_get();
	while (n-- && !list_empty(&heap->unswept)) {
		span = list_first_entry(&heap->unswept, struct gcmem_span,
					node);
		gcmem_sweep_span(heap, span);
	}
	if (list_empty(&heap->unswept))
		gcmem_sweep_done(heap);
	if (!in_pause)
		heap->concurrent_sweep_ns +=
			ktime_to_ns(ktime_sub(ktime_get(), start));
	return !heap->sweeping;
}

/*
 * gcmem_sweep_before_handout() - a refill is about to hand out @span, from
 * a central list: sweep it first if it is not. Returns false if that
 * freed it (it had no object left).
 */
bool gcmem_sweep_before_handout(struct gcmem_heap *heap,
				struct gcmem_span *span)
{
	ktime_t start;
	bool freed;

	lockdep_assert_held(&heap->lock);
	if (span->sweepgen == heap->sweepgen)
		return true;
	start = ktime_get();
	freed = gcmem_sweep_span(heap, span);
	if (list_empty(&heap->unswept))
		gcmem_sweep_done(heap);
	heap->concurrent_sweep_ns += ktime_to_ns(ktime_sub(ktime_get(), start));
	return !freed;
}
