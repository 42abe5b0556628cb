// SPDX-License-Identifier: GPL-2.0
/*
 * A user-space stand-in for /dev/gcmem's allocation side, for the native
 * allocation benchmark (allochost.c): the refill is kmod/alloc.c's own
 * gcmem_refill(), unchanged, compiled against the host shims with
 * sizeclass.c, bitmap.c and sweep.c; what the rest of the module would do
 * under it is reduced to an allocation-only heap:
 *  - pages come from a first-fit bitmap over the arena, grown a chunk at a
 *    time, as heap.c's page allocator does;
 *  - chunks are the arena's own memory (the kernel's are the same pages
 *    through the direct map), owned as the heap grows over them;
 *  - without @reuse no cycle ever starts (the pacer says no), so nothing
 *    is marked, swept or freed: the heap only grows. With it, a cycle
 *    starts whenever the spans in use would pass 4 MiB, pace.c's least
 *    goal (nothing is live: the workload keeps no object), and is
 *    kmod/sweep.c's sweep alone: nothing to mark, no world to stop, as
 *    for a program whose roots hold nothing. The thread caches are swept
 *    at once, the other spans lazily by the refills (gcmem_span_get(),
 *    gcmem_pace_alloc()), which then hand out swept spans and the pages
 *    of freed ones again, zeroing their free slots as the module does;
 *  - the heap lock is a mutex, and fast refills (alloc.c) run beside it.
 * It stands in for measuring the user-space fast path and the refill's
 * logic natively; it is not the module (no page tables, no faults of the
 * module's, no system call: the refill is a function call here).
 */
#include "../../selftests/host/host_module.h"
#include "standin.h"

/* pace.c's GCMEM_HEAP_MINIMUM: the goal of a heap with nothing live. */
#define STANDIN_GOAL	(4ULL << 20)

static struct gcmem_heap *sh;
static u32 sh_next_id;
static bool sh_reuse;

void standin_init(void *arena, unsigned long len, bool reuse)
{
	sh_reuse = reuse;
	sh = calloc(1, sizeof(*sh));
	gcmem_sizeclass_init();
	gcmem_debug = false;
	pthread_mutex_init(&sh->lock.m, NULL);
	sh->arena_start = (unsigned long)arena;
	sh->arena_size = len;
	sh->limit = len;
	sh->chunk_tab = calloc(len / GCMEM_CHUNK_SIZE, sizeof(*sh->chunk_tab));
	sh->pagemap = calloc(BITS_TO_LONGS(len >> GCMEM_PAGE_SHIFT),
			     sizeof(long));
	INIT_LIST_HEAD(&sh->spans);
	INIT_LIST_HEAD(&sh->unswept);
	spin_lock_init(&sh->central_lock);
	if (!sh->chunk_tab || !sh->pagemap)
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
	/* And the fast refills' (alloc.c), not folded in yet. */
	return READ_ONCE(sh->refills) + atomic64_read(&sh->fast.refills);
}

/* Cycles run, and the arena the heap grew over, in bytes. */
void standin_heap(unsigned long long *cycles, unsigned long long *grown)
{
	gcmem_heap_lock(sh);
	*cycles = sh->cycles;
	*grown = (unsigned long long)sh->pages_grown << GCMEM_PAGE_SHIFT;
	gcmem_heap_unlock(sh);
}

/* --- what the rest of the module does under the refill ------------------ */

/*
 * As heap.c's gcmem_heap_lock(): poll for the lock a while (a refill holds
 * it a microsecond or so here), then sleep. A plain pthread mutex slept
 * at once, a futex wait and wake-up for a lock held a microsecond, and
 * two threads allocated slower than one.
 */
#define STANDIN_LOCK_SPIN_NS	20000

int gcmem_heap_lock_beside(struct gcmem_heap *heap)
{
	struct timespec t0, t;

	if (!pthread_mutex_trylock(&heap->lock.m))
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		__builtin_ia32_pause();
		if (!pthread_mutex_trylock(&heap->lock.m))
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000L +
		 (t.tv_nsec - t0.tv_nsec) < STANDIN_LOCK_SPIN_NS);
	pthread_mutex_lock(&heap->lock.m);
	return 0;
}

/* As heap.c's: no fast refill beside the holder (alloc.c). */
int gcmem_heap_lock(struct gcmem_heap *heap)
{
	gcmem_heap_lock_beside(heap);
	gcmem_fast_exclude(heap);
	heap->fast_excl = true;
	return 0;
}

int gcmem_heap_lock_idle(struct gcmem_heap *heap)
{
	return gcmem_heap_lock(heap);
}

void gcmem_heap_unlock(struct gcmem_heap *heap)
{
	if (heap->fast_excl) {
		heap->fast_excl = false;
		gcmem_fast_allow(heap);
	}
	pthread_mutex_unlock(&heap->lock.m);
}

/* Chunks here are the arena's own memory: none is made ahead. */
void gcmem_heap_spare_grow(struct gcmem_heap *heap)
{
}

/*
 * Pages first fit among the owned chunks' (heap.c's way), else from the
 * arena's bottom up, owning each chunk as it is reached.
 */
long gcmem_pages_alloc(struct gcmem_heap *heap, unsigned long npages)
{
	unsigned long start, c, first;

	first = find_next_zero_bit(heap->pagemap, heap->pages_grown,
				   heap->pages_hint);
	start = bitmap_find_next_zero_area(heap->pagemap, heap->pages_grown,
					   first, npages, 0);
	if (start < heap->pages_grown) {
		bitmap_set(heap->pagemap, start, npages);
		heap->pages_hint = start == first ? start + npages : first;
		return start;
	}
	start = heap->pages_grown;
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
		heap->chunks_hi = max(heap->chunks_hi, c + 1);
		heap->committed += GCMEM_CHUNK_SIZE;
	}
	heap->pages_grown = start + npages;
	bitmap_set(heap->pagemap, start, npages);
	if (first == start)
		heap->pages_hint = start + npages;
	return start;
}

void gcmem_pages_free(struct gcmem_heap *heap, unsigned long start,
		      unsigned long npages)
{
	bitmap_clear(heap->pagemap, start, npages);
	heap->pages_hint = min(heap->pages_hint, start);
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
	return sh_reuse && heap->inuse_bytes + bytes > STANDIN_GOAL;
}

/* Fast refills take spans in use already: the spans' measure stays. */
bool gcmem_pacer_fast_ok(struct gcmem_heap *heap, u64 bytes)
{
	return true;
}

bool gcmem_pacer_must_wait(struct gcmem_heap *heap, u64 bytes)
{
	return false;
}

void gcmem_pace_unallocated(struct gcmem_heap *heap, u64 bytes)
{
}

/* No mark, so nothing to help with. */
void gcmem_pace_assist(struct gcmem_heap *heap, u64 bytes)
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

/* At the limit no cycle helps: the arena is far larger than a run needs. */
int gcmem_collect_locked(struct gcmem_heap *heap, enum gcmem_gc_reason why)
{
	return -ENOMEM;
}

/*
 * A cycle with nothing to mark (@reuse): the last one's sweep finished
 * first, as collect.c does before a cycle, then sweep.c's start. Under
 * heap->lock (the refill's).
 */
int gcmem_collect_start(struct gcmem_heap *heap, enum gcmem_gc_reason why)
{
	if (heap->sweeping)
		gcmem_sweep_some(heap, ULONG_MAX, false);
	/* The thread caches are swept: no fast refill beside (alloc.c). */
	gcmem_fast_exclude(heap);
	gcmem_sweep_start(heap, why);
	gcmem_fast_allow(heap);
	heap->cycles++;
	return 0;
}
