// SPDX-License-Identifier: GPL-2.0
/*
 * Introspection: what the heap holds at an address (GCMEM_IOC_QUERY).
 *
 * This is the same resolution the mark workers do for a candidate pointer
 * (seed: objectstart): arena bounds, then the chunk, then the span table,
 * then the object index within the span. Nothing about @addr is trusted.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "gcmem.h"

/*
 * The span of the allocated object that starts at arena offset @off, its
 * index in @idx; NULL if no allocated object starts there. Under
 * heap->lock.
 */
struct gcmem_span *gcmem_object_at(struct gcmem_heap *heap, u64 off,
				   u32 *idx)
{
	struct gcmem_span *span;
	u64 span_off;

	lockdep_assert_held(&heap->lock);
	if (off >= heap->arena_size)
		return NULL;
	span = gcmem_span_of(heap, off);
	if (!span)
		return NULL;
	span_off = off - ((u64)span->page << GCMEM_PAGE_SHIFT);
	*idx = div64_u64(span_off, span->elem_size);
	if (*idx >= span->nelems || span_off != (u64)*idx * span->elem_size ||
	    !gcmem_span_slot_allocated(span, *idx))
		return NULL;
	return span;
}

/* Most object words whose pointer bits one query copies (an 8 KiB buffer). */
#define GCMEM_QUERY_MAX_WORDS	65536

int gcmem_query(struct gcmem_heap *heap, struct gcmem_query *arg)
{
	unsigned long astart = gcmem_arena_start(heap);
	u64 off = arg->addr - astart, obj_off;
	u32 nwords = 0, idx;
	struct gcmem_span *span;
	u64 *mask = NULL;
	int ret = 0;

	if (arg->flags)
		return -EINVAL;
	arg->result = 0;
	arg->type_id = 0;
	arg->obj_start = 0;
	arg->obj_size = 0;
	arg->size_class = 0;
	if (!astart || arg->addr < astart || off >= heap->arena_size)
		return 0;
	arg->result = GCMEM_QUERY_IN_HEAP;

	if (arg->ptrmask_words) {
		/* The buffer holds 64 bits, i.e. 64 object words, per u64. */
		nwords = min_t(u64, (u64)arg->ptrmask_words * 64,
			       GCMEM_QUERY_MAX_WORDS);
		mask = kvcalloc(DIV_ROUND_UP(nwords, 64), sizeof(u64),
				GFP_KERNEL | __GFP_NOWARN);
		if (!mask)
			return -ENOMEM;
	}

	ret = gcmem_heap_lock(heap);
	if (ret)
		goto out_free;
	span = gcmem_span_of(heap, off);
	if (!span)
		goto out_unlock;
	obj_off = off - ((u64)span->page << GCMEM_PAGE_SHIFT);
	idx = div64_u64(obj_off, span->elem_size);
	if (idx >= span->nelems)
		goto out_unlock;	/* the span's unused tail */

	obj_off = ((u64)span->page << GCMEM_PAGE_SHIFT) +
		  (u64)idx * span->elem_size;
	arg->result |= GCMEM_QUERY_IN_SPAN;
	if (gcmem_span_slot_allocated(span, idx))
		arg->result |= GCMEM_QUERY_ALLOCATED;
	if (span->state == GCMEM_SPAN_CACHED)
		arg->result |= GCMEM_QUERY_CACHED;
	if (span->state == GCMEM_SPAN_LARGE)
		arg->result |= GCMEM_QUERY_LARGE;
	arg->type_id = span->type_id;
	arg->obj_start = astart + obj_off;
	arg->obj_size = span->elem_size;
	arg->size_class = span->size_class;
	nwords = min_t(u64, nwords, span->elem_size / 8);
	if (mask)
		gcmem_get_ptrbits(heap, obj_off, mask, nwords);
out_unlock:
	gcmem_heap_unlock(heap);

	if (mask && (arg->result & GCMEM_QUERY_IN_SPAN) &&
	    copy_to_user(u64_to_user_ptr(arg->ptrmask), mask,
			 DIV_ROUND_UP(nwords, 64) * sizeof(u64)))
		ret = -EFAULT;
out_free:
	kvfree(mask);
	return ret;
}
