// SPDX-License-Identifier: GPL-2.0
/*
 * A user-space stand-in for /dev/gcmem's allocation side, for the native
 * allocation benchmark (allochost.c): the refill is kmod/alloc.c's own
 * gcmem_refill(), unchanged, compiled against the host shims with
 * sizeclass.c, bitmap.c and sweep.c; what the rest of the module would do
 * under it is reduced to an allocation-only heap:
 *  - pages come from a bump allocator over the arena (heap.c's page
 *    allocator hands out the same pages to a heap that never frees);
 *  - chunks are the arena's own memory (the kernel's are the same pages
 *    through the direct map), owned as the bump reaches them;
 *  - no cycle ever starts (the pacer says no: gcu_set_gcpercent(-1) with
 *    the limit out of reach), so nothing is marked, swept or freed;
 *  - the heap lock is a mutex.
 * It stands in for measuring the user-space fast path and the refill's
 * logic natively; it is not the module (no page tables, no faults of the
 * module's, no system call: the refill is a function call here).
 */
#include "../../selftests/host/host_module.h"
#include "standin.h"

static struct gcmem_heap *sh;
static u32 sh_next_id;

void standin_init(void *arena, unsigned long len)
{
	sh = calloc(1, sizeof(*sh));
	gcmem_sizeclass_init();
	gcmem_debug = false;
	pthread_mutex_init(&sh->lock.m, NULL);
	sh->arena_start = (unsigned long)arena;
	sh->arena_size = len;
	sh->limit = len;
	sh->chunk_tab = calloc(len / GCMEM_CHUNK_SIZE, sizeof(*sh->chunk_tab));
	INIT_LIST_HEAD(&sh->spans);
	INIT_LIST_HEAD(&sh->unswept);
	if (!sh->chunk_tab)
		abort();
}

void standin_control(struct gcmem_control *ctl)
{
	u32 i;

	ctl->api_version = GCMEM_API_VERSION;
	ctl->limit = sh->limit;
	ctl->nclasses = gcmem_nclasses;
	for (i = 0; i < gcmem_nclasses; i++) {
		ctl->class_size[i] = gcmem_class_size[i];
		ctl->class_npages[i] = gcmem_class_npages[i];
	}
}

/* The calling thread's task, for alloc.c's check that it refills its own. */
static struct task_struct *standin_task(void)
{
	if (!host_current)
		host_current = calloc(1, sizeof(*host_current));
	return host_current;
}

int standin_thread_register(struct gcmem_thread_slot *slot, unsigned int *id)
{
	struct gcmem_thread *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->caches = calloc(GCMEM_THREAD_CACHES, sizeof(*t->caches));
	if (!t->caches) {
		free(t);
		return -ENOMEM;
	}
	t->task = standin_task();
	t->slot = slot;
	gcmem_heap_lock(sh);
	t->id = sh_next_id++;
	slot->thread_id = t->id;
	xa_store(&sh->threads, t->id, t, 0);
	gcmem_heap_unlock(sh);
	*id = t->id;
	return 0;
}

int standin_refill(struct gcmem_refill *arg)
{
	standin_task();
	return gcmem_refill(sh, arg);
}

unsigned long long standin_refills(void)
{
	return READ_ONCE(sh->refills);
}

/* --- what the rest of the module does under the refill ------------------ */

int gcmem_heap_lock(struct gcmem_heap *heap)
{
	pthread_mutex_lock(&heap->lock.m);
	return 0;
}

int gcmem_heap_lock_idle(struct gcmem_heap *heap)
{
	return gcmem_heap_lock(heap);
}

void gcmem_heap_unlock(struct gcmem_heap *heap)
{
	pthread_mutex_unlock(&heap->lock.m);
}

/* Pages from the arena's bottom up, owning each chunk as it is reached. */
long gcmem_pages_alloc(struct gcmem_heap *heap, unsigned long npages)
{
	unsigned long start = heap->pages_grown, c;

	if (!npages || start + npages > heap->arena_size >> GCMEM_PAGE_SHIFT)
		return -ENOMEM;
	for (c = start / GCMEM_CHUNK_PAGES;
	     c <= (start + npages - 1) / GCMEM_CHUNK_PAGES; c++) {
		struct gcmem_chunk *chunk;

		if (heap->chunk_tab[c])
			continue;
		chunk = calloc(1, sizeof(*chunk));
		if (!chunk)
			return -ENOMEM;
		chunk->base = (void *)(heap->arena_start +
				       c * GCMEM_CHUNK_SIZE);
		chunk->index = c;
		chunk->owned = true;
		smp_store_release(&heap->chunk_tab[c], chunk);
		heap->committed += GCMEM_CHUNK_SIZE;
	}
	heap->pages_grown = start + npages;
	return start;
}

void gcmem_pages_free(struct gcmem_heap *heap, unsigned long start,
		      unsigned long npages)
{
}

void gcmem_heap_zero(struct gcmem_heap *heap, u64 off, u64 len)
{
	memset((char *)heap->arena_start + off, 0, len);
}

int gcmem_heap_unshare(struct gcmem_heap *heap, u64 off, u64 len)
{
	return 0;
}

bool gcmem_pacer_wants_cycle(struct gcmem_heap *heap, u64 bytes)
{
	return false;
}

bool gcmem_pacer_must_wait(struct gcmem_heap *heap, u64 bytes)
{
	return false;
}

void gcmem_pace_unallocated(struct gcmem_heap *heap, u64 bytes)
{
}

bool gcmem_allocating_black(struct gcmem_heap *heap)
{
	return false;
}

void gcmem_span_blacken(struct gcmem_heap *heap, struct gcmem_span *span,
			u32 from)
{
}

/* No write tracking without a cycle (track.c). */
void gcmem_track_refill(struct gcmem_heap *heap, u64 off)
{
}

/* No cycle here: the pacer never asks for one; at the limit, none helps. */
int gcmem_collect_locked(struct gcmem_heap *heap, enum gcmem_gc_reason why)
{
	return -ENOMEM;
}

int gcmem_collect_start(struct gcmem_heap *heap, enum gcmem_gc_reason why)
{
	return 0;
}
