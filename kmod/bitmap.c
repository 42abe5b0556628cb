// SPDX-License-Identifier: GPL-2.0
/*
 * The heap bitmap's pointer bits. See heap.c for the heap's layout.
 *
 * One bit per 8-byte word of the arena, kept per chunk (struct
 * gcmem_chunk.ptrbits), set when the word may hold a pointer. The kernel
 * writes a span's bits once, when it hands the span out, from the span's
 * type: all ones for CONSERVATIVE, none for NOSCAN, and a registered type's
 * mask repeated with the type's period over each object (so an array of the
 * type, or a value in a larger slot, is covered). Words after the last whole
 * object of a span get no bits. The mark workers read these bits; user space
 * never writes them.
 *
 * The alloc and mark bits are per span (struct gcmem_span, alloc.c).
 */
#include <linux/bitmap.h>

#include "gcmem.h"

/* Words [lo, lo + n) of @chunk are words [i, i + n) of the span. */
static void gcmem_ptrbits_run(struct gcmem_chunk *chunk, u64 lo, u64 n,
			      u64 i, const struct gcmem_span *span,
			      const struct gcmem_type *type)
{
	u64 objwords = span->elem_size / 8;
	u64 used = objwords * span->nelems;
	u64 k, ptrs;

	if (span->type_id == GCMEM_TYPE_NOSCAN || i >= used) {
		bitmap_clear(chunk->ptrbits, lo, n);
		return;
	}
	if (span->type_id == GCMEM_TYPE_CONSERVATIVE) {
		ptrs = min(n, used - i);
		bitmap_set(chunk->ptrbits, lo, ptrs);
		bitmap_clear(chunk->ptrbits, lo + ptrs, n - ptrs);
		return;
	}
	for (k = 0; k < n; k++, i++) {
		bool ptr = i < used &&
			   test_bit((i % objwords) % type->nwords, type->mask);

		__assign_bit(lo + k, chunk->ptrbits, ptr);
	}
}

void gcmem_span_set_ptrbits(struct gcmem_heap *heap, struct gcmem_span *span,
			    const struct gcmem_type *type)
{
	u64 word0 = (u64)span->page * (GCMEM_PAGE_SIZE / 8);
	u64 nwords = (u64)span->npages * (GCMEM_PAGE_SIZE / 8);
	u64 i = 0;

	lockdep_assert_held(&heap->lock);
	while (i < nwords) {
		u64 w = word0 + i;
		struct gcmem_chunk *chunk = gcmem_chunk_of(heap, w * 8);
		u64 lo = w % GCMEM_CHUNK_WORDS;
		u64 n = min(nwords - i, GCMEM_CHUNK_WORDS - lo);

		gcmem_ptrbits_run(chunk, lo, n, i, span, type);
		i += n;
	}
}

/*
 * Copy the pointer bits of @nwords words from arena offset @off (8-byte
 * aligned, inside spans) into @out, bit i of out[i / 64] for word i.
 */
void gcmem_get_ptrbits(struct gcmem_heap *heap, u64 off, u64 *out, u32 nwords)
{
	u64 w = off / 8;
	u32 i;

	lockdep_assert_held(&heap->lock);
	memset(out, 0, DIV_ROUND_UP(nwords, 64) * sizeof(u64));
	for (i = 0; i < nwords; i++, w++) {
		struct gcmem_chunk *chunk = gcmem_chunk_of(heap, w * 8);

		if (test_bit(w % GCMEM_CHUNK_WORDS, chunk->ptrbits))
			out[i / 64] |= 1ULL << (i % 64);
	}
}
