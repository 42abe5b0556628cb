// SPDX-License-Identifier: GPL-2.0
/*
 * The heap: its life cycle, its lock, its memory limit, its chunks and its
 * pages.
 *
 * A heap is created by open() of /dev/gcmem and bound to the opener's mm for
 * its whole life. Its memory is a set of 2 MiB chunks, each one order-9
 * physically contiguous, zeroed allocation charged to the memory cgroup of
 * the task whose fault or ioctl needed it. A chunk backs a fixed 2 MiB of
 * the arena (chunk i at arena offset i << 21); the kernel reaches it through
 * its direct map, never through the user mapping.
 *
 * The page allocator hands out runs of GCMEM_PAGE_SIZE pages for spans.
 * It owns the pages [0, pages_grown) of the arena, grows that prefix one
 * chunk at a time within the heap's limit when no free run is long enough
 * (first fit in a bitmap of pages keeps the heap compact at its low end),
 * and brings back a chunk that sweep gave back when a run needs it again.
 * Chunks the process touched on its own before the allocator took them are
 * zeroed first, so that spans are always handed out zeroed.
 *
 * A cycle gives chunks left empty back to the system, beyond what the heap
 * will use again before the next cycle: it reserves their pages (so nothing
 * is allocated there), and at the end of the cycle
 * gcmem_chunks_release() unhooks them, zaps their user mapping and frees
 * them, then lifts the reservation.
 *
 * The committed chunks count in the process's RSS (gcmem_heap_rss_add()),
 * which is what the OOM killer weighs a process by: the mm counts nothing
 * of a PFN mapping itself, and a process holding a heap of most of the
 * machine would otherwise look small while another one is killed.
 *
 * Everything is freed with the last reference: the kernel keeps nothing of a
 * heap once its file is closed and its last cycle is over.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/clock.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "compat.h"
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
	lockdep_assert_held(&heap->chunk_lock);
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

/*
 * gcmem_heap_create() - a new heap, bound to @mm, or to no process for a
 * fork's copy (@mm NULL) until gcmem_adopt() binds it.
 */
struct gcmem_heap *gcmem_heap_create(struct mm_struct *mm)
{
	struct gcmem_heap *heap;

	heap = kvzalloc(sizeof(*heap), GCMEM_GFP);
	if (!heap)
		return NULL;

	heap->control_page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!heap->control_page) {
		kvfree(heap);
		return NULL;
	}
	heap->control = page_address(heap->control_page);
	gcmem_control_init(heap->control);

	kref_init(&heap->ref);
	mutex_init(&heap->lock);
	mutex_init(&heap->chunk_lock);
	init_waitqueue_head(&heap->lock_wq);
	init_waitqueue_head(&heap->stop_wq);
	init_waitqueue_head(&heap->restart_wq);
	init_waitqueue_head(&heap->idle_wq);
	init_waitqueue_head(&heap->zero_wq);
	init_waitqueue_head(&heap->fast_wq);
	spin_lock_init(&heap->central_lock);
	xa_init(&heap->central);
	xa_init_flags(&heap->types, XA_FLAGS_ALLOC);
	xa_init_flags(&heap->threads, XA_FLAGS_ALLOC);
	xa_init(&heap->by_task);
	INIT_LIST_HEAD(&heap->spans);
	INIT_LIST_HEAD(&heap->unswept);
	INIT_LIST_HEAD(&heap->roots);
	xa_init(&heap->finalizers);
	xa_init(&heap->ready);
	xa_init(&heap->weak[0]);
	xa_init(&heap->weak[1]);
	INIT_LIST_HEAD(&heap->released);
	heap->limit = gcmem_default_limit();
	heap->gcpercent = 100;
	heap->mode = gcmem_default_mode();
	heap->concurrent_min = gcmem_default_concurrent_min();
	gcmem_pace(heap, 0);

	if (mm)
		gcmem_heap_bind(heap, mm);

	mutex_lock(&heap->chunk_lock);
	gcmem_control_publish(heap);
	mutex_unlock(&heap->chunk_lock);
	return heap;
}

/*
 * gcmem_heap_rss_add() - @bytes more (or fewer) committed chunks of @heap
 * in its process's RSS, as MM_ANONPAGES: memory the process alone holds,
 * copied on write after a fork as its anonymous pages are. So heap->mm's
 * count is always @committed; a heap not bound yet (a fork's copy) counts
 * nowhere, and gcmem_heap_bind() counts what it has. The heap holds its
 * mm's mm_count and takes its count back at its end, so check_mm(), at
 * the mm's last mmdrop, finds the counter at zero. @chunk_lock, under
 * which both @committed and @mm change.
 */
static void gcmem_heap_rss_add(struct gcmem_heap *heap, s64 bytes)
{
	lockdep_assert_held(&heap->chunk_lock);
	if (heap->mm)
		gcmem_mm_counter_add(heap->mm, MM_ANONPAGES,
				     bytes / (s64)PAGE_SIZE);
}

/* Bind @heap to @mm, the caller's; once, before anything uses it. */
void gcmem_heap_bind(struct gcmem_heap *heap, struct mm_struct *mm)
{
	mmgrab(mm);
	heap->tgid = task_tgid_nr(current);
	gcmem_heap_debugfs_add(heap);
	mutex_lock(&heap->chunk_lock);
	/* Pairs with the acquire in gcmem_heap_owned(). */
	smp_store_release(&heap->mm, mm);
	/* A fork's copy has its chunks before its process adopts it. */
	gcmem_heap_rss_add(heap, heap->committed);
	mutex_unlock(&heap->chunk_lock);
}

/* A chunk's page may be shared with a fork's copy (cow.c): a reference. */
static void gcmem_chunk_free(struct gcmem_chunk *chunk)
{
	put_page(chunk->page);
	if (chunk->stale)
		put_page(chunk->stale);
	kvfree(chunk);
}

/* The last reference is gone: no mapping, no file, no cycle remain. */
static void gcmem_heap_destroy(struct kref *ref)
{
	struct gcmem_heap *heap = container_of(ref, struct gcmem_heap, ref);
	unsigned long index;
	void *list;

	/* Every exclusion of fast refills ended (alloc.c): none leaked. */
	WARN_ON_ONCE(heap->fast_off || atomic_read(&heap->fast_inflight));
	gcmem_heap_debugfs_remove(heap);
	gcmem_threads_destroy(heap);
	gcmem_spans_destroy(heap);
	gcmem_roots_destroy(heap);
	gcmem_types_destroy(heap);
	gcmem_finalize_destroy(heap);
	xa_for_each(&heap->central, index, list)
		kfree(list);
	xa_destroy(&heap->central);
	if (heap->chunk_tab) {
		for (index = 0; index < heap->chunks_hi; index++)
			if (heap->chunk_tab[index])
				gcmem_chunk_free(heap->chunk_tab[index]);
	}
	kvfree(heap->chunk_tab);
	kvfree(heap->pagemap);
	if (heap->spare)
		put_page(heap->spare);
	__free_page(heap->control_page);
	if (heap->mm) {
		mutex_lock(&heap->chunk_lock);
		gcmem_heap_rss_add(heap, -(s64)heap->committed);
		mutex_unlock(&heap->chunk_lock);
		mmdrop(heap->mm);
	}
	mutex_destroy(&heap->lock);
	mutex_destroy(&heap->chunk_lock);
	kvfree(heap);
}

void gcmem_heap_put(struct gcmem_heap *heap)
{
	kref_put(&heap->ref, gcmem_heap_destroy);
}

/* Only the process that opened (or adopted) the heap may use it. */
bool gcmem_heap_owned(const struct gcmem_heap *heap)
{
	/* Pairs with the release in gcmem_heap_bind(). */
	struct mm_struct *mm = smp_load_acquire(&heap->mm);

	return mm && current->mm == mm;
}

/*
 * Tunable: how long a thread wanting heap->lock polls for it before it
 * sleeps. A refill holds the lock a few microseconds, and a sleep and its
 * wake-up cost more than that (tens of microseconds under TCG).
 */
#define GCMEM_LOCK_SPIN_NS	(20 * NSEC_PER_USEC)

/*
 * __gcmem_heap_lock() - take heap->lock on behalf of a user request.
 *
 * A cycle holds the lock while it stops the world, so a registered thread
 * must not simply wait for it: it parks at a safepoint (scanning its own
 * stack) and tries again when the world restarts. Every wait is killable.
 * Returns 0 with the lock held, or -EINTR.
 *
 * The lock is not fair by itself: a waiter woken at the release takes tens
 * of microseconds to run under TCG, and a thread that releases the lock and
 * asks again at once (gcu_collect() in a loop, each stop-the-world cycle
 * holding it for milliseconds) takes it back first, again and again: in
 * gc_test's threads_exit_registered_during_cycles, in the stop-the-world
 * mode, a refill waited up to 1.3 s, and once long enough for the test's
 * 300 s timeout. So, as Go's sync.Mutex does, a waiter that has to wait
 * again (it slept, or parked for a stop, and the lock was taken before it
 * could) becomes starving (heap->lock_starving), and while one is, the
 * others wait instead of trying: the lock goes to the starving ones at its
 * next release.
 */
static void gcmem_heap_lock_wait(struct gcmem_heap *heap, bool *waited,
				 bool *starving)
{
	if (*waited && !*starving) {
		*starving = true;
		atomic_inc(&heap->lock_starving);
	}
	*waited = true;
}

static int __gcmem_heap_lock(struct gcmem_heap *heap)
{
	bool looked = false, waited = false, starving = false;
	struct gcmem_thread *self = NULL;
	u64 spin = 0;
	int ret, gen;

	for (;;) {
		ret = 0;
		gen = atomic_read(&heap->lock_gen);
		/* Before the try: a release after it ends the wait below. */
		smp_rmb();
		if (starving || !atomic_read(&heap->lock_starving)) {
			if (mutex_trylock(&heap->lock))
				break;
			if (!READ_ONCE(heap->stopping) && !need_resched()) {
				if (!spin)
					spin = local_clock() + GCMEM_LOCK_SPIN_NS;
				if (local_clock() < spin) {
					cpu_relax();
					continue;
				}
			}
		}
		if (READ_ONCE(heap->stopping)) {
			if (!looked) {
				self = gcmem_thread_current(heap);
				looked = true;
			}
			if (self) {
				gcmem_heap_lock_wait(heap, &waited, &starving);
				ret = gcmem_safepoint(heap, self);
				if (ret)
					break;
				continue;
			}
		}
		/* Until the next release, or a stop to park for. */
		gcmem_heap_lock_wait(heap, &waited, &starving);
		ret = wait_event_killable(heap->lock_wq,
					  atomic_read(&heap->lock_gen) != gen ||
					  (READ_ONCE(heap->stopping) &&
					   (!looked || self)));
		if (ret) {
			ret = -EINTR;
			break;
		}
	}
	/*
	 * Those who let us go first may try again: at our release, or now
	 * if we leave without the lock (a release they may have missed).
	 */
	if (starving && atomic_dec_and_test(&heap->lock_starving) && ret) {
		atomic_inc(&heap->lock_gen);
		wake_up_all(&heap->lock_wq);
	}
	if (self)
		gcmem_thread_put(self);
	return ret;
}

/*
 * gcmem_heap_lock() - take heap->lock on behalf of a user request, with no
 * fast refill beside the holder until gcmem_heap_unlock(): what it reads
 * of the spans, the thread caches and the pacer's counters stays still.
 */
int gcmem_heap_lock(struct gcmem_heap *heap)
{
	int ret = __gcmem_heap_lock(heap);

	if (ret)
		return ret;
	gcmem_fast_exclude(heap);
	heap->fast_excl = true;
	return 0;
}

/*
 * gcmem_heap_lock_beside() - the same, for the slow paths of allocation
 * (alloc.c), which run beside other threads' fast refills: they take
 * central lists' spans under heap->central_lock, and fold the counters
 * before the pacer reads them.
 */
int gcmem_heap_lock_beside(struct gcmem_heap *heap)
{
	return __gcmem_heap_lock(heap);
}

/*
 * gcmem_heap_lock_idle() - gcmem_heap_lock(), with no cycle under way: for
 * the requests that must not run beside a concurrent cycle's mark, which
 * runs without heap->lock (collect.c): explicit frees, fork, collections,
 * write-tracking control, and allocations that found the heap at its
 * limit. Returns 0 with the lock held and heap->cycle NULL, or -EINTR.
 */
int gcmem_heap_lock_idle(struct gcmem_heap *heap)
{
	struct gcmem_thread *self = NULL;
	bool looked = false;
	ktime_t t0 = 0;
	int ret;

	for (;;) {
		ret = gcmem_heap_lock(heap);
		if (ret || !heap->cycle)
			break;
		gcmem_heap_unlock(heap);
		if (!looked) {
			t0 = ktime_get();
			self = gcmem_thread_current(heap);
			looked = true;
		}
		/* Help the mark that holds us back until it is over. */
		if (self)
			gcmem_mark_assist(heap, 0, self);
		/*
		 * Asleep here, a registered thread is stopped where it is
		 * when the cycle stops the world (safepoint.c); it does the
		 * ragged scans the cycle's precleaning asks for (an
		 * allocation waiting for the cycle to end would never reach
		 * a safepoint to do them). A stop that found it running (say,
		 * helping) parks it at once: it looks at @stopping after its
		 * task state is set, the stop at the task state after
		 * @stopping is (the barrier in gcmem_stop_the_world()), so
		 * either it parks or the stop finds it asleep, and the stop
		 * never waits for a thread that fell asleep behind its back.
		 */
		if (wait_event_killable(heap->idle_wq,
					!READ_ONCE(heap->cycle) ||
					gcmem_ragged_wanted(heap, self) ||
					(self && READ_ONCE(heap->stopping)))) {
			ret = -EINTR;
			break;
		}
		if (gcmem_ragged_wanted(heap, self) ||
		    (self && READ_ONCE(heap->stopping)))
			gcmem_safepoint(heap, self);
	}
	if (looked) {
		atomic64_add(ktime_to_ns(ktime_sub(ktime_get(), t0)),
			     &heap->wait_ns);
		atomic64_inc(&heap->waits);
	}
	if (self)
		gcmem_thread_put(self);
	return ret;
}

void gcmem_heap_unlock(struct gcmem_heap *heap)
{
	if (heap->fast_excl) {
		heap->fast_excl = false;
		gcmem_fast_allow(heap);
	}
	mutex_unlock(&heap->lock);
	/*
	 * After the release: a waiter that read the old value found the
	 * lock held when it tried, and wakes for this one (bumped before
	 * the release, a waiter could read the new value, find the lock
	 * still held, and sleep through the only wake-up).
	 */
	atomic_inc(&heap->lock_gen);
	/*
	 * Every refill ends here: skip the wait queue's lock when nobody
	 * waits. The barrier in wq_has_sleeper() pairs with the one a
	 * waiter's prepare_to_wait_event() makes before it tests
	 * @lock_gen.
	 */
	if (wq_has_sleeper(&heap->lock_wq))
		wake_up_all(&heap->lock_wq);
}

int gcmem_heap_set_limit(struct gcmem_heap *heap, u64 limit)
{
	int ret = 0;

	if (limit < GCMEM_CHUNK_SIZE || limit > GCMEM_ARENA_MAX ||
	    !IS_ALIGNED(limit, GCMEM_CHUNK_SIZE))
		return -EINVAL;

	mutex_lock(&heap->chunk_lock);
	if (limit < heap->committed) {
		ret = -EBUSY;
	} else {
		heap->limit = limit;
		gcmem_control_publish(heap);
	}
	mutex_unlock(&heap->chunk_lock);
	return ret;
}

/*
 * gcmem_heap_arena_init() - the arena at [start, start + len): a chunk slot
 * and a page bit for all of it. @map: the arena mmap, which may come only
 * once; a fork's copy sets its arena up unmapped (!@map), and then only a
 * mapping of exactly that range may take it.
 */
int gcmem_heap_arena_init(struct gcmem_heap *heap, unsigned long start,
			  unsigned long len, bool map)
{
	struct gcmem_chunk **tab;
	unsigned long *pagemap;
	int ret = 0;

	tab = kvcalloc(len >> GCMEM_CHUNK_SHIFT, sizeof(*tab), GCMEM_GFP);
	pagemap = kvcalloc(BITS_TO_LONGS(len >> GCMEM_PAGE_SHIFT),
			   sizeof(long), GCMEM_GFP);
	if (!tab || !pagemap) {
		ret = -ENOMEM;
		goto out;
	}

	mutex_lock(&heap->chunk_lock);
	if (heap->arena_mapped) {
		ret = -EBUSY;
	} else if (heap->arena_start) {
		if (start != heap->arena_start || len != heap->arena_size)
			ret = -EINVAL;
		else
			heap->arena_mapped = map;
	} else {
		heap->chunk_tab = tab;
		heap->pagemap = pagemap;
		heap->arena_size = len;
		heap->arena_mapped = map;
		/* Published last: a non-zero start means the arena is set. */
		smp_store_release(&heap->arena_start, start);
		tab = NULL;
		pagemap = NULL;
	}
	mutex_unlock(&heap->chunk_lock);
out:
	kvfree(tab);
	kvfree(pagemap);
	return ret;
}

/*
 * A chunk's memory: one compound order-9 page, charged to the caller's
 * memory cgroup. No warning on failure: the caller reports it, the log
 * stays clean.
 */
struct page *gcmem_chunk_page_alloc(void)
{
	return alloc_pages(GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_COMP |
			   __GFP_NOWARN, GCMEM_CHUNK_ORDER);
}

/*
 * The chunk backing chunk @index, allocated within the limit if need be:
 * a new zeroed page, or a reference to @share (a fork's copy, cow.c).
 */
struct gcmem_chunk *gcmem_chunk_get(struct gcmem_heap *heap,
				    unsigned long index, struct page *share)
{
	struct gcmem_chunk *chunk;

	lockdep_assert_held(&heap->chunk_lock);
	chunk = heap->chunk_tab[index];
	if (chunk)
		return chunk;

	if (heap->committed + GCMEM_CHUNK_SIZE > heap->limit)
		return ERR_PTR(-ENOMEM);
	chunk = kvzalloc(sizeof(*chunk), GCMEM_GFP);
	if (!chunk)
		return ERR_PTR(-ENOMEM);
	if (share) {
		get_page(share);
		chunk->page = share;
	} else {
		chunk->page = heap->spare ?: gcmem_chunk_page_alloc();
		WRITE_ONCE(heap->spare, NULL);
		atomic_set(&heap->spare_wanted, 1);
	}
	if (!chunk->page) {
		kvfree(chunk);
		return ERR_PTR(-ENOMEM);
	}
	chunk->base = page_address(chunk->page);
	chunk->index = index;
	gcmem_track_new_chunk(heap, chunk);
	/* Complete before a concurrent mark can find it (mark.c). */
	smp_store_release(&heap->chunk_tab[index], chunk);
	heap->chunks_hi = max(heap->chunks_hi, index + 1);
	heap->committed += GCMEM_CHUNK_SIZE;
	heap->peak_committed = max(heap->peak_committed, heap->committed);
	gcmem_heap_rss_add(heap, GCMEM_CHUNK_SIZE);
	gcmem_control_publish(heap);
	return chunk;
}

/*
 * gcmem_heap_spare_make() - after a request that may have grown the heap,
 * with no lock held: zero a chunk page for its next growth, beside other
 * threads' requests, if the growth took the spare (or found none). One
 * thread makes it, the one that clears @spare_wanted; the others go on. A
 * spare is only an optimization: a failed allocation is not an error.
 */
static void __gcmem_heap_spare_make(struct gcmem_heap *heap)
{
	/* A stop takes us as asleep meanwhile. */
	struct gcmem_thread *self = gcmem_stop_aside_begin(heap);
	struct page *page = gcmem_chunk_page_alloc();

	mutex_lock(&heap->chunk_lock);
	heap->spare_failed = !page;
	/* Not past the limit: the chunk that takes it would not be made. */
	if (page && !heap->spare &&
	    heap->committed + GCMEM_CHUNK_SIZE <= heap->limit) {
		WRITE_ONCE(heap->spare, page);
		page = NULL;
	}
	mutex_unlock(&heap->chunk_lock);
	/* Another thread's, made beside ours, is the spare already. */
	if (page)
		put_page(page);
	gcmem_stop_aside_end(self);
}

void gcmem_heap_spare_make(struct gcmem_heap *heap)
{
	if (!atomic_read(&heap->spare_wanted) ||
	    !atomic_xchg(&heap->spare_wanted, 0))
		return;
	__gcmem_heap_spare_make(heap);
}

/*
 * gcmem_heap_spare_grow() - a growth found no spare (gcmem_pages_alloc()
 * returned -EAGAIN): make one, with no lock held, for the caller to take
 * heap->lock again and retry. Under TCG a zeroed chunk page takes 3-5 ms,
 * during which the other threads' refills went on waiting for the lock
 * when the growth made it under the lock: 12 ms of each two-thread run
 * of the allocation benchmark, at its start, one thread waiting while the
 * other committed the heap's first chunks. If the page cannot be had, the
 * retry allocates under the lock (@spare_failed), and fails as it does.
 */
void gcmem_heap_spare_grow(struct gcmem_heap *heap)
{
	lockdep_assert_not_held(&heap->lock);
	/* Another thread's made it meanwhile: not a second 2 MiB zeroed. */
	if (READ_ONCE(heap->spare))
		return;
	__gcmem_heap_spare_make(heap);
}

/* The spare page, taken for freeing: the heap shrinks, or goes. */
static struct page *gcmem_heap_spare_take(struct gcmem_heap *heap)
{
	struct page *page = heap->spare;

	lockdep_assert_held(&heap->chunk_lock);
	WRITE_ONCE(heap->spare, NULL);
	atomic_set(&heap->spare_wanted, 0);
	return page;
}

/*
 * gcmem_chunk_fault() - the chunk for an arena fault at chunk @index.
 * Returns ERR_PTR(-ENOMEM) when the limit or the allocator refuses.
 *
 * Called with chunk_lock held, which the fault handler keeps until the
 * chunk is mapped: gcmem_chunks_release() takes it too, so a chunk is never
 * mapped after its release zapped the range. May sleep; takes no other heap
 * lock, so a fault never waits for a collection.
 */
struct gcmem_chunk *gcmem_chunk_fault(struct gcmem_heap *heap,
				      unsigned long index)
{
	struct gcmem_chunk *chunk;

	chunk = gcmem_chunk_get(heap, index, NULL);
	if (!IS_ERR(chunk) && !chunk->owned)
		chunk->dirty = true;
	return chunk;
}

/*
 * Make sure the allocator's chunk @index exists and is clean. -EAGAIN if
 * it must be made and no spare page is ready, and the caller @may_defer:
 * the page is made without heap->lock (gcmem_heap_spare_grow()).
 */
static int gcmem_chunk_own(struct gcmem_heap *heap, unsigned long index,
			   bool may_defer)
{
	struct gcmem_chunk *chunk;

	mutex_lock(&heap->chunk_lock);
	if (may_defer && !heap->chunk_tab[index] && !heap->spare &&
	    !heap->spare_failed &&
	    heap->committed + GCMEM_CHUNK_SIZE <= heap->limit) {
		mutex_unlock(&heap->chunk_lock);
		return -EAGAIN;
	}
	chunk = gcmem_chunk_get(heap, index, NULL);
	if (!IS_ERR(chunk) && !chunk->owned) {
		/* A fork shares only the allocator's chunks. */
		VM_WARN_ON_ONCE(chunk->cow);
		if (chunk->dirty)
			memset(chunk->base, 0, GCMEM_CHUNK_SIZE);
		chunk->dirty = false;
		chunk->owned = true;
	}
	mutex_unlock(&heap->chunk_lock);
	return PTR_ERR_OR_ZERO(chunk);
}

/*
 * A request that grew the heap from @grown pages and then failed gives the
 * chunks it grew back at once: empty, they would otherwise stay committed
 * until the next cycle (up to the limit, for one huge request, which with
 * a raised limit can be most of the machine's memory).
 */
static void gcmem_pages_ungrow(struct gcmem_heap *heap, unsigned long grown)
{
	unsigned long c;
	struct gcmem_chunk *chunk;

	for (c = grown / GCMEM_CHUNK_PAGES;
	     c < heap->pages_grown / GCMEM_CHUNK_PAGES; c++) {
		chunk = heap->chunk_tab[c];
		if (!chunk || !chunk->owned || chunk->releasing)
			continue;
		/* Grown by this request: no page of it is in use. */
		bitmap_set(heap->pagemap, c * GCMEM_CHUNK_PAGES,
			   GCMEM_CHUNK_PAGES);
		chunk->releasing = true;
		list_add(&chunk->release, &heap->released);
	}
	gcmem_chunks_release(heap);
}

/*
 * gcmem_pages_alloc() - find @npages free pages, growing the heap if need
 * be. Returns the first page's index in the arena, or -ENOMEM; or -EAGAIN
 * if a chunk must be made and no spare page is ready: the caller lets
 * heap->lock go, makes one (gcmem_heap_spare_grow()) and asks again; the
 * chunks this call made stay, free, for the retry. Only for requests of a
 * chunk or less, which need one or two chunks made: a larger one, which
 * would drop the lock for each, makes its pages under it.
 */
long gcmem_pages_alloc(struct gcmem_heap *heap, unsigned long npages)
{
	unsigned long start, c, first, grown = heap->pages_grown;
	bool trimmed = false, defer = npages <= GCMEM_CHUNK_PAGES;
	int ret;

	lockdep_assert_held(&heap->lock);
	if (!heap->arena_start || !npages ||
	    npages > heap->arena_size >> GCMEM_PAGE_SHIFT ||
	    (u64)npages << GCMEM_PAGE_SHIFT > READ_ONCE(heap->limit))
		return -ENOMEM;

	for (;;) {
		/*
		 * From the first free page on: a search from 0 would read the
		 * bitmap of the whole heap, under heap->lock, at every span
		 * a growing heap makes.
		 */
		first = find_next_zero_bit(heap->pagemap, heap->pages_grown,
					   heap->pages_hint);
		start = bitmap_find_next_zero_area(heap->pagemap,
						   heap->pages_grown, first,
						   npages, 0);
		if (start < heap->pages_grown)
			break;
		/*
		 * Idle spans' pages before the heap grows (once: the unswept
		 * ones are left to the sweep).
		 */
		if (!trimmed) {
			trimmed = true;
			gcmem_fast_fold(heap);
			if (heap->idle_bytes) {
				gcmem_spans_trim(heap);
				continue;
			}
		}
		ret = -ENOMEM;
		if (heap->arena_size >> GCMEM_PAGE_SHIFT >=
		    heap->pages_grown + GCMEM_CHUNK_PAGES)
			ret = gcmem_chunk_own(heap, heap->pages_grown /
					      GCMEM_CHUNK_PAGES, defer);
		if (ret == -EAGAIN)
			return ret;
		if (ret) {
			gcmem_pages_ungrow(heap, grown);
			return ret;
		}
		heap->pages_grown += GCMEM_CHUNK_PAGES;
	}
	/* Chunks given back by sweep come back on demand. */
	for (c = start / GCMEM_CHUNK_PAGES;
	     c <= (start + npages - 1) / GCMEM_CHUNK_PAGES; c++) {
		ret = gcmem_chunk_own(heap, c, defer);
		if (ret == -EAGAIN)
			return ret;
		if (ret) {
			gcmem_pages_ungrow(heap, grown);
			return ret;
		}
	}
	bitmap_set(heap->pagemap, start, npages);
	heap->pages_hint = start == first ? start + npages : first;
	return start;
}

/* A span's pages go back to the allocator. */
void gcmem_pages_free(struct gcmem_heap *heap, unsigned long start,
		      unsigned long npages)
{
	lockdep_assert_held(&heap->lock);
	bitmap_clear(heap->pagemap, start, npages);
	heap->pages_hint = min(heap->pages_hint, start);
}

/*
 * gcmem_chunks_reserve_empty() - after a sweep, reserve owned chunks with no
 * page in use, to be given back by gcmem_chunks_release() once the locks are
 * dropped, keeping enough owned chunks to hold @keep bytes.
 *
 * The pacer's cycles keep what the heap grows back to before the next
 * cycle (gcmem_pace_keep(): the goal or the trigger), or the spans in use
 * at the cycle's start if more, since giving chunks back only to take them
 * again costs a zeroed order-9 allocation and a fault each (GCBench's heap
 * swings between its live 8 MiB and its 16 MiB goal every cycle; a heap
 * whose live set is a few small objects took back a chunk a cycle, a
 * third of the allocation benchmark's time at 16-128 bytes). A heap whose
 * live set shrank keeps its old size one cycle more, but never more than
 * its new goal, which it may grow to before the next cycle ends: an idle
 * program does not hold its old peak. Those bytes are rounded up to whole
 * chunks, and one chunk more is kept: spans of many size classes, and the
 * ones the threads keep cached across the sweep, never pack the chunks
 * full, and a 4 MiB heap of 16-128-byte objects (4.2 MiB of spans at the
 * trigger, in three chunks) gave back the one empty chunk of its three
 * and took it back every cycle, a zeroed 2 MiB page and a fault each
 * time, most of that benchmark's system time. Other cycles (the limit,
 * gcu_collect()) keep nothing. The highest empty chunks go first, so
 * that the heap stays compact at its low end.
 */
void gcmem_chunks_reserve_empty(struct gcmem_heap *heap, u64 keep)
{
	unsigned long c, first, nchunks = heap->pages_grown / GCMEM_CHUNK_PAGES;
	struct gcmem_chunk *chunk;
	u64 owned = 0;

	lockdep_assert_held(&heap->lock);
	if (keep)
		keep = round_up(keep, GCMEM_CHUNK_SIZE) + GCMEM_CHUNK_SIZE;
	for (c = 0; c < nchunks; c++) {
		chunk = heap->chunk_tab[c];
		if (chunk && chunk->owned && !chunk->releasing)
			owned += GCMEM_CHUNK_SIZE;
	}
	for (c = nchunks; c-- > 0 && owned >= keep + GCMEM_CHUNK_SIZE;) {
		first = c * GCMEM_CHUNK_PAGES;
		chunk = heap->chunk_tab[c];
		if (!chunk || !chunk->owned || chunk->releasing)
			continue;
		if (find_next_bit(heap->pagemap, first + GCMEM_CHUNK_PAGES,
				  first) < first + GCMEM_CHUNK_PAGES)
			continue;
		bitmap_set(heap->pagemap, first, GCMEM_CHUNK_PAGES);
		chunk->releasing = true;
		list_add(&chunk->release, &heap->released);
		owned -= GCMEM_CHUNK_SIZE;
	}
}

/*
 * gcmem_chunks_release() - give the reserved empty chunks back to the
 * system, at the end of a cycle, with heap->lock held. Each chunk is
 * unhooked and its user mapping zapped under chunk_lock, which the fault
 * path holds from lookup to mapping, so no mapping of it survives; then it
 * is freed and its pages unreserved. mmap_lock nests inside heap->lock
 * (gcmem.h), but it is only tried here: when an mmap or munmap of the
 * process holds it, the chunks wait for the next cycle rather than every
 * allocation of the heap waiting behind that call.
 */
void gcmem_chunks_release(struct gcmem_heap *heap)
{
	struct gcmem_chunk *chunk, *next;
	struct vm_area_struct *vma;
	struct page *spare;
	unsigned long addr;

	lockdep_assert_held(&heap->lock);
	/* A concurrent mark may read them: the cycle's end frees them. */
	if (heap->cycle)
		return;
	if (list_empty(&heap->released) || !mmget_not_zero(heap->mm))
		return;
	if (!mmap_read_trylock(heap->mm)) {
		mmput(heap->mm);
		return;
	}
	vma = gcmem_arena_vma(heap);

	mutex_lock(&heap->chunk_lock);
	list_for_each_entry(chunk, &heap->released, release) {
		WRITE_ONCE(heap->chunk_tab[chunk->index], NULL);
		heap->committed -= GCMEM_CHUNK_SIZE;
		gcmem_heap_rss_add(heap, -(s64)GCMEM_CHUNK_SIZE);
		if (chunk->stale)
			heap->nstale--;
		addr = heap->arena_start +
		       ((u64)chunk->index << GCMEM_CHUNK_SHIFT);
		if (vma)
			zap_vma_ptes(vma, addr, GCMEM_CHUNK_SIZE);
	}
	gcmem_control_publish(heap);
	/* A heap that shrinks keeps no page for growing. */
	spare = gcmem_heap_spare_take(heap);
	mutex_unlock(&heap->chunk_lock);
	mmap_read_unlock(heap->mm);
	if (spare)
		put_page(spare);

	list_for_each_entry_safe(chunk, next, &heap->released, release) {
		list_del(&chunk->release);
		gcmem_pages_free(heap, chunk->index * GCMEM_CHUNK_PAGES,
				 GCMEM_CHUNK_PAGES);
		gcmem_chunk_free(chunk);
	}
	mmput(heap->mm);
}

/*
 * Zero [off, off + len) of the arena through the direct map, after
 * gcmem_heap_unshare() of the range: under heap->lock, or with
 * heap->zeroing raised under it since (a refill, alloc.c), so that no fork
 * shares the range's chunks again meanwhile.
 */
void gcmem_heap_zero(struct gcmem_heap *heap, u64 off, u64 len)
{
	while (len) {
		struct gcmem_chunk *chunk = gcmem_chunk_of(heap, off);
		u64 in = off & (GCMEM_CHUNK_SIZE - 1);
		u64 n = min_t(u64, len, GCMEM_CHUNK_SIZE - in);

		VM_WARN_ON_ONCE(gcmem_chunk_cow(chunk));

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

	lockdep_assert_held(&heap->lock);
	gcmem_fast_fold(heap);
	mutex_lock(&heap->chunk_lock);
	st->committed = heap->committed;
	st->peak_committed = heap->peak_committed;
	st->limit = heap->limit;
	mutex_unlock(&heap->chunk_lock);

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
	st->cycles = heap->cycles;
	st->abandoned = heap->abandoned;
	st->forced_stops = heap->forced_stops;
	st->pause_total_ns = heap->pause_total_ns;
	st->pause_max_ns = heap->pause_max_ns;
	memcpy(st->pause_hist, heap->pause_hist, sizeof(st->pause_hist));
	st->marked_bytes = heap->marked_bytes;
	st->heap_before = heap->heap_before;
	st->heap_after = heap->heap_after;
	st->freed_bytes = heap->freed_bytes;
	st->worker_ns = atomic64_read(&heap->worker_ns);
	st->checkmark_failures = heap->checkmark_failures;
	st->stop_total_ns = heap->stop_total_ns;
	st->mark_total_ns = heap->mark_total_ns;
	st->sweep_total_ns = heap->sweep_total_ns;
	st->pmd_faults = atomic64_read(&heap->pmd_faults);
	st->pte_faults = atomic64_read(&heap->pte_faults);
	st->limit_faults = atomic64_read(&heap->limit_faults);
	st->cow_copies = atomic64_read(&heap->cow_copies);
	st->pauses = heap->pauses;
	st->concurrent_cycles = heap->concurrent_cycles;
	st->markterm_total_ns = heap->markterm_total_ns;
	st->precleaned_chunks = heap->precleaned_chunks;
	st->rescanned_chunks = heap->rescanned_chunks;
	st->track_faults = atomic64_read(&heap->track_faults);
	st->concurrent_sweep_ns = heap->concurrent_sweep_ns;
	st->precleaned_pages = heap->precleaned_pages;
	st->rescanned_pages = heap->rescanned_pages;
	st->swept_cycles = heap->swept_cycles;
	st->ragged_scans = heap->ragged_scans;
	st->markterm_stop_ns = heap->markterm_stop_ns;
	st->markterm_rescan_ns = heap->markterm_rescan_ns;
	st->split_chunks = atomic64_read(&heap->split_chunks);
	st->assist_marked = atomic64_read(&heap->assist_marked);
	st->wait_ns = atomic64_read(&heap->wait_ns);
	st->waits = atomic64_read(&heap->waits);
	st->alone_marks = heap->alone_marks;
	st->alone_handovers = heap->alone_handovers;
}
