// SPDX-License-Identifier: GPL-2.0
/*
 * The heap object: its life cycle, its memory limit and its chunks.
 *
 * A heap is created by open() of /dev/gcmem and bound to the opener's mm for
 * its whole life. Its memory is a set of 2 MiB chunks, each one order-9
 * physically contiguous, zeroed allocation charged to the memory cgroup of
 * the task that first touched it. Chunks are added on demand (arena faults,
 * see arena.c) while the heap stays within its limit, and all are freed
 * when the last reference to the file goes away: the kernel keeps nothing of
 * a heap after release.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "gcmem.h"

static u64 gcmem_default_limit(void)
{
	u64 limit = ((u64)totalram_pages() << PAGE_SHIFT) / 4;

	limit = round_down(limit, GCMEM_CHUNK_SIZE);
	return clamp_t(u64, limit, GCMEM_CHUNK_SIZE, GCMEM_ARENA_MAX);
}

/* The control page mirrors a few heap words for lock-free user reads. */
static void gcmem_control_publish(struct gcmem_heap *heap)
{
	lockdep_assert_held(&heap->lock);
	WRITE_ONCE(heap->control->committed, heap->committed);
	WRITE_ONCE(heap->control->limit, heap->limit);
}

struct gcmem_heap *gcmem_heap_create(void)
{
	struct gcmem_heap *heap;

	heap = kzalloc(sizeof(*heap), GFP_KERNEL_ACCOUNT);
	if (!heap)
		return NULL;

	heap->control_page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!heap->control_page) {
		kfree(heap);
		return NULL;
	}
	heap->control = page_address(heap->control_page);
	heap->control->magic = GCMEM_CONTROL_MAGIC;
	heap->control->api_version = GCMEM_API_VERSION;
	heap->control->phase = GCMEM_PHASE_OFF;

	mutex_init(&heap->lock);
	xa_init(&heap->chunks);
	heap->limit = gcmem_default_limit();

	mmgrab(current->mm);
	heap->mm = current->mm;

	mutex_lock(&heap->lock);
	gcmem_control_publish(heap);
	mutex_unlock(&heap->lock);
	return heap;
}

/* Called at release: no mapping and no file reference remain. */
void gcmem_heap_destroy(struct gcmem_heap *heap)
{
	struct page *chunk;
	unsigned long index;

	xa_for_each(&heap->chunks, index, chunk)
		__free_pages(chunk, GCMEM_CHUNK_ORDER);
	xa_destroy(&heap->chunks);
	__free_page(heap->control_page);
	mmdrop(heap->mm);
	mutex_destroy(&heap->lock);
	kfree(heap);
}

/* Only the process that opened the heap may use it. */
bool gcmem_heap_owned(const struct gcmem_heap *heap)
{
	return current->mm == heap->mm;
}

int gcmem_heap_set_limit(struct gcmem_heap *heap, u64 limit)
{
	int ret = 0;

	if (limit < GCMEM_CHUNK_SIZE || limit > GCMEM_ARENA_MAX ||
	    !IS_ALIGNED(limit, GCMEM_CHUNK_SIZE))
		return -EINVAL;

	mutex_lock(&heap->lock);
	if (limit < heap->committed) {
		ret = -EBUSY;
	} else {
		heap->limit = limit;
		gcmem_control_publish(heap);
	}
	mutex_unlock(&heap->lock);
	return ret;
}

/*
 * gcmem_chunk_get() - the chunk backing arena chunk @index, allocated if need
 * be. Returns ERR_PTR(-ENOMEM) when the limit or the allocator refuses.
 *
 * May sleep. Called from the fault path with mmap_lock held for read.
 */
struct page *gcmem_chunk_get(struct gcmem_heap *heap, unsigned long index)
{
	struct page *chunk;
	void *old;

	chunk = xa_load(&heap->chunks, index);
	if (chunk)
		return chunk;

	mutex_lock(&heap->lock);
	chunk = xa_load(&heap->chunks, index);
	if (chunk)
		goto out;

	if (heap->committed + GCMEM_CHUNK_SIZE > heap->limit) {
		chunk = ERR_PTR(-ENOMEM);
		goto out;
	}
	/* No warning on failure: the process gets SIGBUS, the log stays clean. */
	chunk = alloc_pages(GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_COMP |
			    __GFP_NOWARN, GCMEM_CHUNK_ORDER);
	if (!chunk) {
		chunk = ERR_PTR(-ENOMEM);
		goto out;
	}
	old = xa_store(&heap->chunks, index, chunk, GFP_KERNEL_ACCOUNT);
	if (xa_is_err(old)) {
		__free_pages(chunk, GCMEM_CHUNK_ORDER);
		chunk = ERR_PTR(xa_err(old));
		goto out;
	}
	heap->committed += GCMEM_CHUNK_SIZE;
	heap->peak_committed = max(heap->peak_committed, heap->committed);
	gcmem_control_publish(heap);
out:
	mutex_unlock(&heap->lock);
	return chunk;
}

void gcmem_heap_stats(struct gcmem_heap *heap, struct gcmem_stats *st)
{
	mutex_lock(&heap->lock);
	st->committed = heap->committed;
	st->peak_committed = heap->peak_committed;
	st->limit = heap->limit;
	st->arena_start = heap->arena_start;
	st->arena_size = heap->arena_size;
	mutex_unlock(&heap->lock);
	st->pmd_faults = atomic64_read(&heap->pmd_faults);
	st->pte_faults = atomic64_read(&heap->pte_faults);
	st->limit_faults = atomic64_read(&heap->limit_faults);
}
