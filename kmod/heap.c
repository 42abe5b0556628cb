// SPDX-License-Identifier: GPL-2.0
/*
 * The heap: its life cycle, its memory limit, its chunks and its pages.
 *
 * A heap is created by open() of /dev/gcmem and bound to the opener's mm for
 * its whole life. Its memory is a set of 2 MiB chunks, each one order-9
 * physically contiguous, zeroed allocation charged to the memory cgroup of
 * the task whose fault or ioctl needed it. A chunk backs a fixed 2 MiB of
 * the arena (chunk i at arena offset i << 21); the kernel reaches it through
 * its direct map, never through the user mapping.
 *
 * The page allocator hands out runs of GCMEM_PAGE_SIZE pages for spans.
 * It owns the chunks [0, pages_grown / GCMEM_CHUNK_PAGES) of the arena and
 * grows that prefix one chunk at a time, within the heap's limit, when no
 * free run is long enough: first fit in a bitmap of pages, which keeps the
 * heap compact at its low end. Chunks that the process touched on its own
 * before the allocator took them are zeroed first, so that spans are always
 * handed out zeroed.
 *
 * Everything is freed when the last reference to the file goes away: the
 * kernel keeps nothing of a heap after release.
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

static void gcmem_control_init(struct gcmem_control *c)
{
	unsigned int i;

	c->magic = GCMEM_CONTROL_MAGIC;
	c->api_version = GCMEM_API_VERSION;
	c->phase = GCMEM_PHASE_OFF;
	c->nclasses = gcmem_nclasses;
	for (i = 0; i < gcmem_nclasses; i++) {
		c->class_size[i] = gcmem_class_size[i];
		c->class_npages[i] = gcmem_class_npages[i];
	}
}

struct gcmem_heap *gcmem_heap_create(void)
{
	struct gcmem_heap *heap;

	heap = kvzalloc(sizeof(*heap), GFP_KERNEL_ACCOUNT);
	if (!heap)
		return NULL;

	heap->control_page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!heap->control_page) {
		kvfree(heap);
		return NULL;
	}
	heap->control = page_address(heap->control_page);
	gcmem_control_init(heap->control);

	mutex_init(&heap->lock);
	xa_init(&heap->chunks);
	xa_init(&heap->central);
	xa_init_flags(&heap->types, XA_FLAGS_ALLOC);
	xa_init_flags(&heap->threads, XA_FLAGS_ALLOC);
	INIT_LIST_HEAD(&heap->spans);
	INIT_LIST_HEAD(&heap->roots);
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
	struct gcmem_chunk *chunk;
	unsigned long index;
	void *list;

	gcmem_threads_destroy(heap);
	gcmem_spans_destroy(heap);
	gcmem_roots_destroy(heap);
	gcmem_types_destroy(heap);
	xa_for_each(&heap->central, index, list)
		kfree(list);
	xa_destroy(&heap->central);
	xa_for_each(&heap->chunks, index, chunk) {
		__free_pages(chunk->page, GCMEM_CHUNK_ORDER);
		kvfree(chunk);
	}
	xa_destroy(&heap->chunks);
	kvfree(heap->pagemap);
	__free_page(heap->control_page);
	mmdrop(heap->mm);
	mutex_destroy(&heap->lock);
	kvfree(heap);
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

/* The arena mmap: the page allocator gets a bit per page of it. */
int gcmem_heap_arena_init(struct gcmem_heap *heap, unsigned long start,
			  unsigned long len)
{
	unsigned long *pagemap;
	int ret = 0;

	pagemap = kvcalloc(BITS_TO_LONGS(len >> GCMEM_PAGE_SHIFT),
			   sizeof(long), GFP_KERNEL_ACCOUNT);
	if (!pagemap)
		return -ENOMEM;

	mutex_lock(&heap->lock);
	if (heap->arena_start) {
		ret = -EBUSY;
	} else {
		heap->pagemap = pagemap;
		heap->arena_size = len;
		/* Published last: a non-zero start means the arena is set. */
		smp_store_release(&heap->arena_start, start);
		pagemap = NULL;
	}
	mutex_unlock(&heap->lock);
	kvfree(pagemap);
	return ret;
}

/* The chunk backing chunk @index, allocated within the limit if need be. */
static struct gcmem_chunk *gcmem_chunk_get(struct gcmem_heap *heap,
					   unsigned long index)
{
	struct gcmem_chunk *chunk;
	void *old;

	lockdep_assert_held(&heap->lock);
	chunk = xa_load(&heap->chunks, index);
	if (chunk)
		return chunk;

	if (heap->committed + GCMEM_CHUNK_SIZE > heap->limit)
		return ERR_PTR(-ENOMEM);
	chunk = kvzalloc(sizeof(*chunk), GFP_KERNEL_ACCOUNT);
	if (!chunk)
		return ERR_PTR(-ENOMEM);
	/* No warning on failure: the caller reports it, the log stays clean. */
	chunk->page = alloc_pages(GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_COMP |
				  __GFP_NOWARN, GCMEM_CHUNK_ORDER);
	if (!chunk->page) {
		kvfree(chunk);
		return ERR_PTR(-ENOMEM);
	}
	chunk->base = page_address(chunk->page);
	old = xa_store(&heap->chunks, index, chunk, GFP_KERNEL_ACCOUNT);
	if (xa_is_err(old)) {
		__free_pages(chunk->page, GCMEM_CHUNK_ORDER);
		kvfree(chunk);
		return ERR_PTR(xa_err(old));
	}
	heap->committed += GCMEM_CHUNK_SIZE;
	heap->peak_committed = max(heap->peak_committed, heap->committed);
	gcmem_control_publish(heap);
	return chunk;
}

/*
 * gcmem_chunk_fault() - the chunk for an arena fault at chunk @index.
 * Returns ERR_PTR(-ENOMEM) when the limit or the allocator refuses.
 *
 * May sleep. Called with mmap_lock held for read.
 */
struct gcmem_chunk *gcmem_chunk_fault(struct gcmem_heap *heap,
				      unsigned long index)
{
	struct gcmem_chunk *chunk;

	chunk = xa_load(&heap->chunks, index);
	if (chunk)
		return chunk;

	mutex_lock(&heap->lock);
	chunk = gcmem_chunk_get(heap, index);
	if (!IS_ERR(chunk) && !chunk->owned)
		chunk->dirty = true;
	mutex_unlock(&heap->lock);
	return chunk;
}

/* Give the page allocator one more chunk at the end of what it owns. */
static int gcmem_pages_grow(struct gcmem_heap *heap)
{
	unsigned long index = heap->pages_grown / GCMEM_CHUNK_PAGES;
	struct gcmem_chunk *chunk;

	lockdep_assert_held(&heap->lock);
	if ((u64)(index + 1) << GCMEM_CHUNK_SHIFT > heap->arena_size)
		return -ENOMEM;
	chunk = gcmem_chunk_get(heap, index);
	if (IS_ERR(chunk))
		return PTR_ERR(chunk);
	if (chunk->dirty) {
		memset(chunk->base, 0, GCMEM_CHUNK_SIZE);
		chunk->dirty = false;
	}
	chunk->owned = true;
	heap->pages_grown += GCMEM_CHUNK_PAGES;
	return 0;
}

/*
 * gcmem_pages_alloc() - find @npages free pages, growing the heap if need
 * be. Returns the first page's index in the arena, or -ENOMEM.
 */
long gcmem_pages_alloc(struct gcmem_heap *heap, unsigned long npages)
{
	unsigned long start;
	int ret;

	lockdep_assert_held(&heap->lock);
	if (!heap->arena_start || !npages ||
	    npages > heap->arena_size >> GCMEM_PAGE_SHIFT)
		return -ENOMEM;

	for (;;) {
		start = bitmap_find_next_zero_area(heap->pagemap,
						   heap->pages_grown, 0,
						   npages, 0);
		if (start < heap->pages_grown)
			break;
		ret = gcmem_pages_grow(heap);
		if (ret)
			return ret;
	}
	bitmap_set(heap->pagemap, start, npages);
	return start;
}

/* Zero [off, off + len) of the arena through the direct map. */
void gcmem_heap_zero(struct gcmem_heap *heap, u64 off, u64 len)
{
	while (len) {
		struct gcmem_chunk *chunk = gcmem_chunk_of(heap, off);
		u64 in = off & (GCMEM_CHUNK_SIZE - 1);
		u64 n = min_t(u64, len, GCMEM_CHUNK_SIZE - in);

		memset(chunk->base + in, 0, n);
		off += n;
		len -= n;
	}
}

void gcmem_heap_stats(struct gcmem_heap *heap, struct gcmem_stats *st)
{
	unsigned long index;
	void *entry;
	u32 n = 0;

	mutex_lock(&heap->lock);
	st->committed = heap->committed;
	st->peak_committed = heap->peak_committed;
	st->limit = heap->limit;
	st->arena_start = heap->arena_start;
	st->arena_size = heap->arena_size;
	st->inuse_bytes = heap->inuse_bytes;
	st->spans = heap->nspans;
	st->refills = heap->refills;
	st->large_objects = heap->large_objects;
	st->small_allocated = heap->small_allocated;
	xa_for_each(&heap->threads, index, entry)
		n++;
	st->threads = n;
	n = 2;
	xa_for_each(&heap->types, index, entry)
		n++;
	st->types = n;
	st->roots = heap->nroots;
	st->__reserved = 0;
	mutex_unlock(&heap->lock);
	st->pmd_faults = atomic64_read(&heap->pmd_faults);
	st->pte_faults = atomic64_read(&heap->pte_faults);
	st->limit_faults = atomic64_read(&heap->limit_faults);
}
