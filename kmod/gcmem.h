/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gcmem internal declarations: the heap object and the interfaces between
 * the module's files. See heap.c for the heap's life cycle and arena.c for
 * the arena mapping.
 */
#ifndef _GCMEM_H
#define _GCMEM_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/xarray.h>

#include "../uapi/linux/gcmem.h"

#define GCMEM_CHUNK_SHIFT	21
#define GCMEM_CHUNK_ORDER	(GCMEM_CHUNK_SHIFT - PAGE_SHIFT)
#define GCMEM_ARENA_MAX		(64ULL << 30)

/*
 * struct gcmem_heap - one per open file of /dev/gcmem.
 *
 * Lock order: mmap_lock (taken by the mm core around mmap and faults), then
 * heap->lock. Nothing takes mmap_lock while holding heap->lock.
 *
 * Invariant: committed == number of chunks in @chunks * GCMEM_CHUNK_SIZE
 * and committed <= limit, both under @lock.
 */
struct gcmem_heap {
	/* The owning process; immutable, held by mmgrab() until release. */
	struct mm_struct *mm;

	/* Serializes handshake, arena setup, chunk allocation and limit. */
	struct mutex lock;

	/* Set once under @lock; read without it once set. */
	bool handshake_done;

	/* The control page; the pointer is immutable, contents WRITE_ONCE. */
	struct page *control_page;
	struct gcmem_control *control;

	/*
	 * The arena's user range: set once under @lock by the first (and
	 * only) arena mmap, immutable afterwards. An arena unmapped by the
	 * process is never mapped again.
	 */
	unsigned long arena_start;
	unsigned long arena_size;

	/*
	 * Chunk index (offset in the arena >> GCMEM_CHUNK_SHIFT) to the
	 * order-9 page backing it. Entries are added under @lock and only
	 * removed at release; lookups are lockless.
	 */
	struct xarray chunks;

	/* Written under @lock, read with READ_ONCE. */
	u64 limit;
	u64 committed;
	u64 peak_committed;

	atomic64_t pmd_faults;
	atomic64_t pte_faults;
	atomic64_t limit_faults;
};

/* heap.c */
struct gcmem_heap *gcmem_heap_create(void);
void gcmem_heap_destroy(struct gcmem_heap *heap);
bool gcmem_heap_owned(const struct gcmem_heap *heap);
int gcmem_heap_set_limit(struct gcmem_heap *heap, u64 limit);
struct page *gcmem_chunk_get(struct gcmem_heap *heap, unsigned long index);
void gcmem_heap_stats(struct gcmem_heap *heap, struct gcmem_stats *st);

/* arena.c */
int gcmem_mmap(struct file *file, struct vm_area_struct *vma);

/* ioctl.c */
long gcmem_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

#endif /* _GCMEM_H */
