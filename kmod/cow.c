// SPDX-License-Identifier: GPL-2.0
/*
 * Copy-on-write of the arena after a fork.
 *
 * GCMEM_IOC_FORK (fork.c) gives the copy of a heap the parent's chunk pages
 * themselves, a page reference each, instead of a copy of them: fork()
 * followed by exec() copies no object. A chunk whose page a fork shared is
 * marked @cow in both heaps, and nothing writes a @cow chunk's page:
 *
 *  - the user mappings map it read-only (arena.c). A write faults; the
 *    fault unshares the chunk, which zaps the chunk's mapping before the
 *    old page's reference goes, and lets the access fault again, which
 *    maps the chunk's page, now its own, writable.
 *  - the kernel's own writes (zeroing slots and pages it hands out, a
 *    debugger's write through ->access) unshare the range first:
 *    gcmem_heap_unshare() under heap->lock, arena.c's ->access under
 *    chunk_lock.
 *
 * Unsharing copies the page only while another heap still holds it (the
 * page's count is above one): once the other process exec'd or exited, the
 * page is the heap's alone and costs a fault and no copy. Nothing else
 * takes a reference to a chunk page, so a count of one means no other
 * heap; a passing speculative reference can only cost a needless copy.
 *
 * The parent's mapping is zapped when its chunks become @cow
 * (gcmem_heap_write_protect()), the child maps its own arena after the
 * fork; from then on every mapping of a @cow chunk is read-only.
 *
 * Locking. A chunk's @page and @base change under chunk_lock. The mark
 * workers read @base without it, while a thread the cycle did not stop (an
 * unregistered one, a debugger, any thread during a concurrent cycle's
 * mark) may unshare the chunk: the replaced page
 * keeps its reference as @stale until the cycle is over
 * (gcmem_chunks_put_stale()). A fork puts the stale pages before it marks
 * chunks @cow again, so a chunk has at most one.
 *
 * @cow is read without chunk_lock by the kernel's writers, which take a
 * chunk found clear as the heap's own (gcmem_chunk_cow()): so it is cleared
 * last, after the user mapping of the old page is zapped and @base is the
 * new page. Cleared first, a fast refill (alloc.c) found it so while the
 * fault that unshared was preempted before its zap, zeroed freed slots in
 * the new page, and the program read them through the old one's mapping,
 * their old objects still there.
 */
#include <linux/mm.h>

#include "gcmem.h"

/**
 * gcmem_chunk_unshare() - make @chunk's page the heap's own before a write.
 * @heap: the heap
 * @chunk: one of its chunks
 * @vma: the arena's mapping in the heap's process, or NULL if none
 *
 * A @cow chunk gets a copy of its page if another heap still holds it; its
 * user mapping is zapped (the next access maps it again, writable) before
 * the old page's reference goes, so that no mapping outlives the page.
 *
 * Return: 0 if @chunk was not @cow, 1 if it was and now is not, -ENOMEM if
 * the copy could not be allocated. Holds heap->chunk_lock, and mmap_lock
 * if @vma is set.
 */
int gcmem_chunk_unshare(struct gcmem_heap *heap, struct gcmem_chunk *chunk,
			struct vm_area_struct *vma)
{
	struct page *old = chunk->page, *page = NULL;

	lockdep_assert_held(&heap->chunk_lock);
	if (!chunk->cow)
		return 0;
	if (page_count(old) > 1) {
		page = gcmem_chunk_page_alloc();
		if (!page)
			return -ENOMEM;
		memcpy(page_address(page), chunk->base, GCMEM_CHUNK_SIZE);
	}
	/*
	 * No user mapping of the old page is left when @cow is seen clear:
	 * a refill that reads it without chunk_lock (alloc.c, cow.c) zeroes
	 * slots through @base at once, and the program must not read them
	 * through a mapping of the old page. The zap is under chunk_lock,
	 * which every fault takes: none maps the chunk again before we end.
	 */
	if (vma)
		zap_vma_ptes(vma, heap->arena_start +
			     ((u64)chunk->index << GCMEM_CHUNK_SHIFT),
			     GCMEM_CHUNK_SIZE);
	if (page) {
		chunk->page = page;
		WRITE_ONCE(chunk->base, page_address(page));
		atomic64_inc(&heap->cow_copies);
	}
	/* After @base: pairs with gcmem_chunk_cow(). */
	smp_store_release(&chunk->cow, false);
	if (!page)
		return 1;
	/*
	 * Pairs with the barrier after a cycle is posted (collect.c): either
	 * the cycle's workers read the new @base, or we see the cycle and
	 * keep the old page for it.
	 */
	smp_mb();
	if (READ_ONCE(heap->cycle)) {
		WARN_ON_ONCE(chunk->stale);
		chunk->stale = old;
		heap->nstale++;
	} else {
		put_page(old);
	}
	return 1;
}

/*
 * gcmem_heap_unshare() - unshare the chunks of arena [@off, @off + @len)
 * before the kernel writes there, zapping their user mapping. Returns 0 or
 * -ENOMEM. Under heap->lock, which keeps chunks that are not @cow so.
 */
int gcmem_heap_unshare(struct gcmem_heap *heap, u64 off, u64 len)
{
	unsigned long first = off >> GCMEM_CHUNK_SHIFT, c;
	unsigned long last = (off + len - 1) >> GCMEM_CHUNK_SHIFT;
	struct vm_area_struct *vma = NULL;
	struct mm_struct *mm = heap->mm;
	struct gcmem_chunk *chunk;
	int ret = 0;

	lockdep_assert_held(&heap->lock);
	if (!len)
		return 0;
	for (c = first; c <= last; c++) {
		chunk = gcmem_chunk_of(heap, (u64)c << GCMEM_CHUNK_SHIFT);
		if (chunk && gcmem_chunk_cow(chunk))
			break;
	}
	if (c > last)
		return 0;

	/* mmap_lock nests inside heap->lock (gcmem.h). */
	if (mm && !mmget_not_zero(mm))
		mm = NULL;
	if (mm) {
		mmap_read_lock(mm);
		vma = gcmem_arena_vma(heap);
	}
	mutex_lock(&heap->chunk_lock);
	for (; c <= last && ret >= 0; c++) {
		chunk = gcmem_chunk_of(heap, (u64)c << GCMEM_CHUNK_SHIFT);
		if (chunk)
			ret = gcmem_chunk_unshare(heap, chunk, vma);
	}
	mutex_unlock(&heap->chunk_lock);
	if (mm) {
		mmap_read_unlock(mm);
		mmput(mm);
	}
	return ret < 0 ? ret : 0;
}

/*
 * gcmem_heap_write_protect() - after a fork made the heap's chunks @cow,
 * zap its user mapping: the next access maps them again, read-only. Under
 * heap->lock.
 */
void gcmem_heap_write_protect(struct gcmem_heap *heap)
{
	struct mm_struct *mm = heap->mm;
	struct vm_area_struct *vma;

	lockdep_assert_held(&heap->lock);
	if (!mm || !heap->pages_grown || !mmget_not_zero(mm))
		return;
	mmap_read_lock(mm);
	vma = gcmem_arena_vma(heap);
	if (vma)
		zap_vma_ptes(vma, heap->arena_start,
			     (u64)heap->pages_grown << GCMEM_PAGE_SHIFT);
	mmap_read_unlock(mm);
	mmput(mm);
}

/*
 * gcmem_chunks_put_stale() - drop the pages unsharing replaced while a
 * cycle could read them. Under heap->lock, outside any cycle.
 */
void gcmem_chunks_put_stale(struct gcmem_heap *heap)
{
	struct gcmem_chunk *chunk;
	unsigned long c;

	lockdep_assert_held(&heap->lock);
	WARN_ON_ONCE(heap->cycle);
	mutex_lock(&heap->chunk_lock);
	for (c = 0; heap->nstale && c < heap->chunks_hi; c++) {
		chunk = heap->chunk_tab[c];
		if (chunk && chunk->stale) {
			put_page(chunk->stale);
			chunk->stale = NULL;
			heap->nstale--;
		}
	}
	mutex_unlock(&heap->chunk_lock);
}
