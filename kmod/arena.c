// SPDX-License-Identifier: GPL-2.0
/*
 * The heap's mappings: the read-only control page and the arena.
 *
 * The arena is one VM_PFNMAP mapping per heap, 2 MiB aligned, that the
 * process cannot split, move, grow or pass to a child. Its memory is the
 * heap's chunks (heap.c), allocated on first touch. On kernels with huge PFN
 * mappings (compat.h) ->huge_fault maps a whole chunk with one PMD; elsewhere
 * ->fault maps the whole chunk with 512 PTEs at once, so either way a chunk
 * costs one fault (while the world is being stopped, ->fault maps only the
 * faulting page, and the rest waits for later faults). Debuggers and
 * /proc/pid/mem reach the arena through ->access, which reads through the
 * kernel's direct map because get_user_pages() cannot follow PFN mappings.
 *
 * A chunk a fork shares with another heap (@cow, cow.c) is mapped
 * read-only. A write to it faults (->pfn_mkwrite for a PTE, ->huge_fault
 * for a PMD), which unshares the chunk, zaps its mapping and returns
 * VM_FAULT_NOPAGE: the access faults again and maps the chunk's new page
 * writable. ->pfn_mkwrite makes vm_page_prot read-only (write notify), so
 * the PTEs of a chunk that is the heap's own are inserted with an explicit
 * writable protection. A chunk whose writes are tracked (@wp, track.c) is
 * mapped read-only in the same way, but for the pages written since the
 * last harvest: a write to a read-only PTE is recorded and makes that PTE
 * alone writable, one to a PMD the whole chunk.
 */
#include <linux/mm.h>
#include <linux/module.h>

#include "compat.h"
#include "gcmem.h"

/* The arena's mapping in the heap's process, or NULL. Under mmap_lock. */
struct vm_area_struct *gcmem_arena_vma(struct gcmem_heap *heap)
{
	struct vm_area_struct *vma;

	mmap_assert_locked(heap->mm);
	vma = find_vma(heap->mm, heap->arena_start);
	if (vma && (vma->vm_start != heap->arena_start ||
		    vma->vm_private_data != heap))
		vma = NULL;
	return vma;
}

/*
 * The chunk for a fault at @addr (a chunk boundary), made the heap's own
 * for a write fault, which is recorded (track.c) at @page (the faulting
 * PAGE_SIZE page, or -1: the whole chunk is to be mapped by one PMD);
 * returns with heap->chunk_lock held, or an error, or NULL for a PMD
 * fault on a chunk to be mapped by pages (@by_page), without it.
 */
static struct gcmem_chunk *gcmem_arena_chunk(struct vm_fault *vmf,
					     unsigned long addr, int page)
{
	struct vm_area_struct *vma = vmf->vma;
	struct gcmem_heap *heap = vma->vm_private_data;
	struct gcmem_chunk *chunk;
	int ret;

	mutex_lock(&heap->chunk_lock);
	chunk = gcmem_chunk_fault(heap, (addr - vma->vm_start) >>
				  GCMEM_CHUNK_SHIFT);
	if (!IS_ERR(chunk) && page < 0 &&
	    (chunk->by_page || ((vmf->flags & FAULT_FLAG_WRITE) &&
				gcmem_track_pmd_write(heap, chunk)))) {
		mutex_unlock(&heap->chunk_lock);
		return NULL;
	}
	if (!IS_ERR(chunk) && (vmf->flags & FAULT_FLAG_WRITE)) {
		ret = gcmem_chunk_unshare(heap, chunk, vma);
		if (ret < 0)
			chunk = ERR_PTR(ret);
		else
			gcmem_track_write(heap, chunk, page);
	}
	if (IS_ERR(chunk)) {
		mutex_unlock(&heap->chunk_lock);
		atomic64_inc(&heap->limit_faults);
	}
	return chunk;
}

/*
 * A chunk that is the heap's own is mapped writable where it is not
 * tracked (track.c) or its page @page is written already, if the VMA is:
 * with the protection vm_page_prot would have without write notify (the
 * arena's mmap sets no caching or other bits of its own).
 */
static pgprot_t gcmem_arena_prot(struct vm_area_struct *vma,
				 const struct gcmem_chunk *chunk,
				 unsigned int page)
{
	return chunk->cow ||
	       (chunk->wp && !test_bit(page, chunk->written_pages)) ?
		vma->vm_page_prot : vm_get_page_prot(vma->vm_flags);
}

static vm_fault_t gcmem_arena_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct gcmem_heap *heap = vma->vm_private_data;
	unsigned long base = ALIGN_DOWN(vmf->address, GCMEM_CHUNK_SIZE);
	unsigned int first = (vmf->address - base) >> PAGE_SHIFT;
	vm_fault_t ret = VM_FAULT_NOPAGE;
	struct gcmem_chunk *chunk;
	unsigned int i, p;
	unsigned long pfn;

	chunk = gcmem_arena_chunk(vmf, base, first);
	if (IS_ERR(chunk))
		return VM_FAULT_SIGBUS;
	atomic64_inc(&heap->pte_faults);
	chunk->pmd = false;

	/*
	 * The pages from the faulting one on, wrapping around, until the
	 * world is to stop: the rest then waits for the faults that need it.
	 * The 512 inserts take 5-6 ms under TCG, and a stop waits for a
	 * thread in a fault: the chunks a young heap's last precleaning round
	 * split (track.c) made GCBench's first pause 10 ms, nearly all of it
	 * stopping; 1.2-1.6 ms since (GCB_DEPTH=16, five runs, TCG).
	 */
	pfn = page_to_pfn(chunk->page);
	for (i = 0; i < GCMEM_TRACK_PAGES; i++) {
		if (i && READ_ONCE(heap->stopping))
			break;
		p = (first + i) % GCMEM_TRACK_PAGES;
		ret = vmf_insert_pfn_prot(vma, base + p * PAGE_SIZE, pfn + p,
					  gcmem_arena_prot(vma, chunk, p));
		if (ret != VM_FAULT_NOPAGE)
			break;
	}
	mutex_unlock(&heap->chunk_lock);
	return ret;
}

/*
 * A write to a read-only PTE: of a @cow chunk, which gets a page of its
 * own and is mapped again; of a chunk whose writes are tracked, noted and
 * made writable (track.c: the PTE alone, or, once the chunk is tracked
 * whole, all 512 PTEs, mapped again); or of a chunk mprotect() made
 * read-only, which only needs its PTE made writable.
 *
 * The PTE is made writable here, under chunk_lock, never by returning 0:
 * the core would do it after the lock is gone (finish_mkwrite_fault()),
 * if the PTE is the one the fault began with. A harvest in between zaps
 * the chunk and takes the page, a read fault by another thread maps the
 * page read-only again, bit for bit the same PTE, and the write that
 * follows would go unrecorded on a page left writable.
 */
static vm_fault_t gcmem_arena_pfn_mkwrite(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct gcmem_heap *heap = vma->vm_private_data;
	unsigned long base = ALIGN_DOWN(vmf->address, GCMEM_CHUNK_SIZE);
	unsigned long addr = vmf->address & PAGE_MASK;
	unsigned int page = (addr - base) >> PAGE_SHIFT;
	struct gcmem_chunk *chunk;
	vm_fault_t ret;
	int err = 0;

	mutex_lock(&heap->chunk_lock);
	chunk = gcmem_chunk_of(heap, base - vma->vm_start);
	/* A chunk released meanwhile had its mapping zapped: fault again. */
	if (!chunk) {
		ret = VM_FAULT_NOPAGE;
	} else if (chunk->cow) {
		err = gcmem_chunk_unshare(heap, chunk, vma);
		ret = err < 0 ? VM_FAULT_SIGBUS : VM_FAULT_NOPAGE;
		if (err >= 0)
			gcmem_track_write(heap, chunk, -1);
	} else if (gcmem_track_write(heap, chunk, page)) {
		zap_vma_ptes(vma, base, GCMEM_CHUNK_SIZE);
		ret = VM_FAULT_NOPAGE;
	} else {
		zap_vma_ptes(vma, addr, PAGE_SIZE);
		ret = vmf_insert_pfn_prot(vma, addr,
					  page_to_pfn(chunk->page) + page,
					  gcmem_arena_prot(vma, chunk, page));
	}
	mutex_unlock(&heap->chunk_lock);
	if (err < 0)
		atomic64_inc(&heap->limit_faults);
	return ret;
}

#if GCMEM_HAVE_PMD_PFNMAP
/*
 * Tunable: map chunks with PMDs. A PMD-mapped chunk costs one TLB entry
 * but its writes are tracked by the chunk (track.c), so that a concurrent
 * mark's pause scans again all its marked objects for one write; mapped
 * with PTEs, only those on the pages written. Whatever this says, a chunk
 * whose writes proved hot (@by_page, track.c) is mapped by PTEs. 0 trades
 * TLB reach for the pause, for every chunk mapped from then on.
 */
static bool gcmem_arena_pmd = true;
module_param_named(arena_pmd, gcmem_arena_pmd, bool, 0644);
MODULE_PARM_DESC(arena_pmd, "map the arena's chunks with PMDs where the kernel can (default 1; 0: PTEs, writes tracked by the page)");

static vm_fault_t gcmem_arena_huge_fault(struct vm_fault *vmf,
					 unsigned int order)
{
	struct vm_area_struct *vma = vmf->vma;
	struct gcmem_heap *heap = vma->vm_private_data;
	unsigned long base = vmf->address & PMD_MASK;
	struct gcmem_chunk *chunk;
	vm_fault_t ret;

	if (order != PMD_ORDER || !READ_ONCE(gcmem_arena_pmd))
		return VM_FAULT_FALLBACK;
	if (base < vma->vm_start || base + PMD_SIZE > vma->vm_end)
		return VM_FAULT_FALLBACK;

	chunk = gcmem_arena_chunk(vmf, base, -1);
	if (!chunk)
		return VM_FAULT_FALLBACK;
	if (IS_ERR(chunk))
		return VM_FAULT_SIGBUS;
	atomic64_inc(&heap->pmd_faults);
	ret = gcmem_insert_pfn_pmd(vmf, page_to_pfn(chunk->page),
				   !chunk->cow && !chunk->wp &&
				   (vma->vm_flags & VM_WRITE));
	if (ret == VM_FAULT_NOPAGE)
		chunk->pmd = true;
	mutex_unlock(&heap->chunk_lock);
	return ret;
}
#endif

/*
 * ptrace and /proc/pid/mem. A chunk never touched reads as zeros and is not
 * allocated for a write: memory is charged to the task that faults it in,
 * never to a debugger.
 */
static int gcmem_arena_access(struct vm_area_struct *vma, unsigned long addr,
			      void *buf, int len, int write)
{
	struct gcmem_heap *heap = vma->vm_private_data;
	unsigned long off = addr - vma->vm_start;
	int done = 0, ret;

	if (addr < vma->vm_start || addr >= vma->vm_end || len <= 0)
		return -EINVAL;
	len = min_t(unsigned long, len, vma->vm_end - addr);

	/* chunk_lock keeps the chunks from being released under us. */
	mutex_lock(&heap->chunk_lock);
	while (done < len) {
		unsigned long in = off & (GCMEM_CHUNK_SIZE - 1);
		int n = min_t(unsigned long, len - done, GCMEM_CHUNK_SIZE - in);
		struct gcmem_chunk *chunk = gcmem_chunk_of(heap, off);
		void *p;

		if (!chunk) {
			if (write)
				break;
			memset(buf + done, 0, n);
		} else {
			/* A shared chunk's copy is the debugger's, though. */
			ret = write ? gcmem_chunk_unshare(heap, chunk, vma) : 0;
			if (ret < 0)
				break;
			p = chunk->base + in;
			if (write)
				memcpy(p, buf + done, n);
			else
				memcpy(buf + done, p, n);
			/* Pointers a debugger stores count (track.c). */
			if (write)
				gcmem_track_access(heap, chunk, in, n);
		}
		done += n;
		off += n;
	}
	mutex_unlock(&heap->chunk_lock);
	return done ? done : -EIO;
}

static int gcmem_arena_may_split(struct vm_area_struct *vma,
				 unsigned long addr)
{
	return -EINVAL;
}

static int gcmem_arena_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

static const struct vm_operations_struct gcmem_arena_vm_ops = {
	.fault = gcmem_arena_fault,
	.pfn_mkwrite = gcmem_arena_pfn_mkwrite,
#if GCMEM_HAVE_PMD_PFNMAP
	.huge_fault = gcmem_arena_huge_fault,
#endif
	.access = gcmem_arena_access,
	.may_split = gcmem_arena_may_split,
	.mremap = gcmem_arena_mremap,
};

static int gcmem_arena_mmap(struct gcmem_heap *heap, struct vm_area_struct *vma)
{
	unsigned long len = vma->vm_end - vma->vm_start;
	int ret;

	if (len > GCMEM_ARENA_MAX || !IS_ALIGNED(len, GCMEM_CHUNK_SIZE) ||
	    !IS_ALIGNED(vma->vm_start, GCMEM_CHUNK_SIZE))
		return -EINVAL;

	ret = gcmem_heap_arena_init(heap, vma->vm_start, len, true);
	if (ret)
		return ret;

	/*
	 * VM_IO: MADV_DOFORK may not clear VM_DONTCOPY. A child's copy of
	 * the PFN mapping would hold no reference to the chunks' pages and
	 * keep writing them after the heap freed or unshared them.
	 */
	vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTCOPY | VM_DONTEXPAND |
		     VM_DONTDUMP);
	vm_flags_clear(vma, VM_MAYEXEC);
	vma->vm_ops = &gcmem_arena_vm_ops;
	vma->vm_private_data = heap;
	return 0;
}

static int gcmem_control_mmap(struct gcmem_heap *heap,
			      struct vm_area_struct *vma)
{
	BUILD_BUG_ON(GCMEM_CONTROL_SIZE != PAGE_SIZE);
	BUILD_BUG_ON(sizeof(struct gcmem_control) > GCMEM_CONTROL_SIZE);

	if (vma->vm_end - vma->vm_start != GCMEM_CONTROL_SIZE)
		return -EINVAL;
	if (vma->vm_flags & VM_WRITE)
		return -EACCES;

	vm_flags_clear(vma, VM_MAYWRITE | VM_MAYEXEC);
	vm_flags_set(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP);
	return vm_insert_page(vma, vma->vm_start, heap->control_page);
}

int gcmem_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct gcmem_heap *heap = file->private_data;
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;

	BUILD_BUG_ON(GCMEM_CHUNK_SIZE != PMD_SIZE);
	BUILD_BUG_ON(GCMEM_CHUNK_SIZE != 1UL << GCMEM_CHUNK_SHIFT);

	if (vma->vm_mm != heap->mm || !gcmem_heap_owned(heap))
		return -EPERM;
	/* Pairs with the release in the handshake. */
	if (!smp_load_acquire(&heap->handshake_done))
		return -EINVAL;
	/* A private PFN mapping would hit copy-on-write of special pages. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EACCES;

	if (off == GCMEM_MMAP_CONTROL)
		return gcmem_control_mmap(heap, vma);
	if (off == GCMEM_MMAP_ARENA)
		return gcmem_arena_mmap(heap, vma);
	if (off >= GCMEM_MMAP_THREADS && off < GCMEM_MMAP_THREADS +
	    (u64)GCMEM_MAX_THREADS * GCMEM_THREAD_SLOT_SIZE)
		return gcmem_thread_slot_mmap(heap, vma, off - GCMEM_MMAP_THREADS);
	return -EINVAL;
}
