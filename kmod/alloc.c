// SPDX-License-Identifier: GPL-2.0
/*
 * Span handout and return, and large objects.
 *
 * Small objects are allocated by user space, without system calls, from
 * spans the kernel hands to a thread (GCMEM_IOC_REFILL). While a span is
 * CACHED by a thread, the thread takes its free slots in index order and
 * publishes how far it got in its slot page: every slot below that cursor
 * that was free at handout is allocated. The kernel never changes a CACHED
 * span's slots behind the thread's back. When the span comes back (the next
 * refill of that cache, or unregistration) the kernel reads the cursor,
 * clamps it to [cursor at handout, nelems] so that a forged value can
 * neither free what was allocated nor reach past the span, and folds it
 * into the alloc bits. A span with free slots left goes to its central list
 * (one per size class and type) for any thread's next refill; its free
 * slots are zeroed before it is handed out again, since the process could
 * have written to them, and so are a new span's pages that a freed span
 * left behind.
 *
 * Large objects get a span of their own, allocated and zeroed here.
 *
 * All of this runs under heap->lock but a fast refill, which takes a swept
 * span from its central list beside the lock (gcmem_refill_fast()), a
 * refill's zeroing, which runs after it, beside other threads' refills
 * (gcmem_refill_zero()), and the zeroing of the chunk page the heap's next
 * growth will take, after the handout (gcmem_heap_spare_make(), from
 * ioctl.c) or before a growth that found none is retried
 * (gcmem_alloc_relock()); user memory is copied before and after (see
 * struct gcmem_heap for the lock order).
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "gcmem.h"

struct list_head *gcmem_central(struct gcmem_heap *heap, u32 size_class,
				u32 type_id, bool create)
{
	unsigned long key = (unsigned long)type_id * GCMEM_MAX_CLASSES +
			    size_class;
	struct list_head *list = xa_load(&heap->central, key);
	void *old;

	if (list || !create)
		return list;
	list = kmalloc(sizeof(*list), GFP_KERNEL_ACCOUNT);
	if (!list)
		return NULL;
	INIT_LIST_HEAD(list);
	old = xa_store(&heap->central, key, list, GFP_KERNEL_ACCOUNT);
	if (xa_is_err(old)) {
		kfree(list);
		return NULL;
	}
	return list;
}

/*
 * Carve a new span and enter it in the span table, NEW (no object) until
 * the caller hands it out or makes it LARGE. Pages a freed span left
 * behind hold its old objects: zeroed here, or, @later, left to the
 * handout (the span is then needzero). @home: its central list (NULL for
 * a large object).
 */
static struct gcmem_span *gcmem_span_new(struct gcmem_heap *heap,
					 unsigned long npages, u32 size_class,
					 u64 elem_size, u32 nelems,
					 const struct gcmem_type *type,
					 u32 type_id, bool later,
					 struct list_head *home)
{
	unsigned long words = BITS_TO_LONGS(nelems);
	struct gcmem_span *span;
	unsigned long i;
	long page;
	int ret;

	lockdep_assert_held(&heap->lock);
	span = kzalloc(struct_size(span, bits, 3 * words), GFP_KERNEL_ACCOUNT);
	if (!span)
		return ERR_PTR(-ENOMEM);
	page = gcmem_pages_alloc(heap, npages);
	if (page < 0) {
		kfree(span);
		return ERR_PTR(page);
	}
	/* The kernel zeroes its dirty pages; the owner writes the rest. */
	ret = gcmem_heap_unshare(heap, (u64)page << GCMEM_PAGE_SHIFT,
				 (u64)npages << GCMEM_PAGE_SHIFT);
	if (ret) {
		gcmem_pages_free(heap, page, npages);
		kfree(span);
		return ERR_PTR(ret);
	}
	span->page = page;
	span->npages = npages;
	span->size_class = size_class;
	span->elem_size = elem_size;
	span->div_mul = gcmem_class_divmul[size_class];
	span->nelems = nelems;
	span->reach = elem_size;
	span->type_id = type_id;
	span->sweepgen = heap->sweepgen;
	span->allocbits = span->bits;
	span->markbits = span->bits + words;
	span->checkbits = span->bits + 2 * words;
	INIT_LIST_HEAD(&span->central);
	span->home = home;
	list_add(&span->node, &heap->spans);

	for (i = page; i < page + npages; i++) {
		struct gcmem_chunk *chunk;
		unsigned int p = i % GCMEM_CHUNK_PAGES;

		chunk = gcmem_chunk_of(heap, (u64)i << GCMEM_PAGE_SHIFT);
		if (!__test_and_clear_bit(p, chunk->dirty_pages))
			continue;
		if (later)
			span->needzero = true;
		else
			gcmem_heap_zero(heap, (u64)i << GCMEM_PAGE_SHIFT,
					GCMEM_PAGE_SIZE);
	}
	gcmem_span_set_ptrbits(heap, span, type);
	for (i = page; i < page + npages; i++) {
		struct gcmem_chunk *chunk = gcmem_chunk_of(heap, (u64)i <<
							   GCMEM_PAGE_SHIFT);

		/* Complete before a concurrent mark can find it (mark.c). */
		smp_store_release(&chunk->spans[i % GCMEM_CHUNK_PAGES], span);
	}
	heap->inuse_bytes += (u64)npages * GCMEM_PAGE_SIZE;
	heap->nspans++;
	return span;
}

/* Give a span's pages back; its objects are garbage. Holds heap->lock. */
void gcmem_span_free(struct gcmem_heap *heap, struct gcmem_span *span)
{
	unsigned long i;

	lockdep_assert_held(&heap->lock);
	for (i = span->page; i < span->page + span->npages; i++) {
		struct gcmem_chunk *chunk;
		unsigned int p = i % GCMEM_CHUNK_PAGES;

		chunk = gcmem_chunk_of(heap, (u64)i << GCMEM_PAGE_SHIFT);
		WRITE_ONCE(chunk->spans[p], NULL);
		__set_bit(p, chunk->dirty_pages);
	}
	gcmem_pages_free(heap, span->page, span->npages);
	heap->inuse_bytes -= (u64)span->npages * GCMEM_PAGE_SIZE;
	if (span->idle)
		heap->idle_bytes -= (u64)span->npages * GCMEM_PAGE_SIZE;
	heap->nspans--;
	list_del(&span->node);
	spin_lock(&heap->central_lock);
	list_del(&span->central);
	spin_unlock(&heap->central_lock);
	kfree(span);
}

/*
 * gcmem_spans_trim() - free the idle spans that are swept (the unswept ones
 * are the sweep's: it frees them), before the heap grows. Never while a
 * cycle is under way: a concurrent mark reads the spans without heap->lock,
 * and none may be freed while it can find one.
 */
void gcmem_spans_trim(struct gcmem_heap *heap)
{
	struct gcmem_span *span, *next;
	bool idle;

	lockdep_assert_held(&heap->lock);
	if (!heap->idle_bytes || heap->cycle)
		return;
	list_for_each_entry_safe(span, next, &heap->spans, node) {
		if (!READ_ONCE(span->idle))
			continue;
		/* A fast refill may take it meanwhile: then it is not idle. */
		spin_lock(&heap->central_lock);
		idle = span->idle;
		if (idle)
			list_del_init(&span->central);
		spin_unlock(&heap->central_lock);
		if (idle)
			gcmem_span_free(heap, span);
	}
}

/* Heap destruction: spans go with their chunks. */
static void gcmem_span_drop(struct gcmem_span *span)
{
	list_del(&span->node);
	kfree(span);
}

/* The cursor of a CACHED span, read from its owner and clamped. */
u32 gcmem_span_cursor(const struct gcmem_span *span)
{
	u32 cursor = READ_ONCE(span->owner->slot->cursor[span->cache_index]);

	return clamp(cursor, span->handout_cursor, span->nelems);
}

/* The cached part of gcmem_span_slot_allocated(): the owner's cursor. */
bool gcmem_span_cached_allocated(const struct gcmem_span *span, u32 idx)
{
	return idx >= span->handout_cursor && idx < gcmem_span_cursor(span);
}

/*
 * A CACHED span's slots its owner took since the handout (below its cursor)
 * get their alloc bits, and the handout cursor moves up to the cursor: the
 * alloc bits alone then say what is allocated below it. The owner only
 * takes slots above its cursor, so this is safe while it allocates. The
 * bits are set before the cursor moves, for a concurrent mark
 * (gcmem_mark_slot_live()). Returns the objects newly counted, for the
 * caller's heap->small_allocated. Under heap->lock with no fast refill
 * beside, or by the owner's own fast refill.
 */
u32 gcmem_span_settle(struct gcmem_span *span)
{
	u32 from = span->handout_cursor, cursor = gcmem_span_cursor(span);
	u32 n = 0;

	if (cursor > from) {
		/* Word at a time: a refill settles a whole span (1024 slots). */
		n = cursor - from - (bitmap_weight(span->allocbits, cursor) -
				     bitmap_weight(span->allocbits, from));
		bitmap_set(span->allocbits, from, cursor - from);
		span->nalloc += n;
	}
	/* The bits, then the cursor: pairs with gcmem_mark_slot_live(). */
	smp_wmb();
	WRITE_ONCE(span->handout_cursor, cursor);
	return n;
}

/*
 * A CACHED span comes back from its owner: settled, FULL or PARTIAL (then
 * on its central list). *@allocated: the objects settled; returns the
 * bytes of its free slots, which the handout counted for the pacer and
 * nobody took. The callers account for both: the slow path in the heap's
 * counters, a fast refill in its deltas.
 */
static u64 gcmem_span_detach(struct gcmem_heap *heap, struct gcmem_span *span,
			     u32 *allocated)
{
	*allocated = gcmem_span_settle(span);
	span->owner->caches[span->cache_index] = NULL;
	span->owner = NULL;
	if (span->nalloc == span->nelems) {
		/* After the bits: pairs with gcmem_mark_slot_live(). */
		smp_store_release(&span->state, GCMEM_SPAN_FULL);
		return 0;
	}
	/* After the bits: pairs with gcmem_mark_slot_live(). */
	smp_store_release(&span->state, GCMEM_SPAN_PARTIAL);
	span->needzero = true;
	spin_lock(&heap->central_lock);
	list_add(&span->central, span->home);
	spin_unlock(&heap->central_lock);
	return (u64)(span->nelems - span->nalloc) * span->elem_size;
}

/* A CACHED span comes back from its owner, under heap->lock. */
void gcmem_span_return(struct gcmem_heap *heap, struct gcmem_span *span)
{
	u32 allocated;
	u64 unallocated;

	lockdep_assert_held(&heap->lock);
	unallocated = gcmem_span_detach(heap, span, &allocated);
	heap->small_allocated += allocated;
	gcmem_pace_unallocated(heap, unallocated);
}

/*
 * Take @span off its central list, under heap->central_lock. An idle span
 * is idle no more: counted in the fast refills' deltas (@delta, without
 * heap->lock), else in heap->idle_bytes.
 */
static void gcmem_central_take(struct gcmem_heap *heap,
			       struct gcmem_span *span, bool delta)
{
	u64 bytes = (u64)span->npages * GCMEM_PAGE_SIZE;

	lockdep_assert_held(&heap->central_lock);
	list_del_init(&span->central);
	if (!span->idle)
		return;
	span->idle = false;
	if (delta)
		atomic64_sub(bytes, &heap->fast.idle);
	else
		heap->idle_bytes -= bytes;
}

/* Find or make a span of (class, type) with a free slot; @central, its list. */
static struct gcmem_span *gcmem_span_get(struct gcmem_heap *heap,
					 u32 size_class, u32 type_id,
					 const struct gcmem_type *type,
					 struct list_head *central)
{
	struct gcmem_span *span;
	int ret;

	for (;;) {
		/*
		 * The first span, which fast refills may take meanwhile
		 * (gcmem_refill_fast()); but they never take one while a
		 * sweep is under way (its unswept spans are heap->lock's) or
		 * one that is shared with a fork (see gcmem_span_ready()).
		 */
		spin_lock(&heap->central_lock);
		span = list_first_entry_or_null(central, struct gcmem_span,
						central);
		spin_unlock(&heap->central_lock);
		if (!span)
			break;
		/* Never unswept: its free slots are not known before. */
		if (!gcmem_sweep_before_handout(heap, span))
			continue;
		/* Its free slots are zeroed at the handout. */
		ret = span->needzero ?
		      gcmem_heap_unshare(heap,
					 (u64)span->page << GCMEM_PAGE_SHIFT,
					 (u64)span->npages << GCMEM_PAGE_SHIFT) :
		      0;
		if (ret)
			return ERR_PTR(ret);
		spin_lock(&heap->central_lock);
		/* Taken by a fast refill after all: look again. */
		if (list_empty(&span->central)) {
			spin_unlock(&heap->central_lock);
			continue;
		}
		gcmem_central_take(heap, span, false);
		spin_unlock(&heap->central_lock);
		return span;
	}
	return gcmem_span_new(heap, gcmem_class_npages[size_class], size_class,
			      gcmem_class_size[size_class],
			      gcmem_class_nelems[size_class], type, type_id, true,
			      central);
}

/*
 * Spans a request sweeps before it takes fresh pages while a sweep is
 * under way (sweep.c): the heap grows less while the sweep catches up.
 */
#define GCMEM_SWEEP_ASSIST	16

/*
 * Before a refill or a large object: start a cycle first when up to
 * @bytes more would take the heap past its trigger (pace.c); a concurrent
 * one goes on beside the request (gcmem_collect_start()). Returns 1 if it
 * did: the request looks up again what it looked up before. While a
 * concurrent cycle marks, -EINPROGRESS if they would take the heap past
 * the cycle's goal: the request waits for the cycle to end
 * (gcmem_heap_lock_idle()) and starts over. @fresh: the request would
 * take fresh pages.
 */
static int gcmem_pace_alloc(struct gcmem_heap *heap, u64 bytes, bool fresh)
{
	/* Unswept spans may free what fresh pages would hold: a few first. */
	if (fresh)
		gcmem_sweep_some(heap, GCMEM_SWEEP_ASSIST, false);
	if (gcmem_pacer_must_wait(heap, bytes))
		return -EINPROGRESS;
	if (!gcmem_pacer_wants_cycle(heap, bytes))
		return 0;
	gcmem_collect_start(heap, GCMEM_GC_PACER);
	return 1;
}

/*
 * At the limit: collect, after which the request starts over, once
 * (@at_limit). While another cycle marks, -EINPROGRESS, as above. While the
 * last cycle's sweep is under way, finish it first, and start over: what
 * it frees may be enough, and a cycle comes after it if not. A cycle that
 * cannot finish fails the request with -ENOMEM.
 *
 * A concurrent cycle lets heap->lock go while it marks: what the request
 * looked up before a cycle (its thread, which another thread may
 * unregister meanwhile) it looks up again when it starts over.
 */
static int gcmem_collect_at_limit(struct gcmem_heap *heap, bool *at_limit)
{
	if (heap->cycle)
		return -EINPROGRESS;
	if (heap->sweeping) {
		gcmem_sweep_some(heap, ULONG_MAX, false);
		return 0;
	}
	*at_limit = true;
	return gcmem_collect_locked(heap, GCMEM_GC_LIMIT) ? -ENOMEM : 0;
}

/*
 * Give @span, taken off its central list, to @thread's cache @idx. Its free
 * slots are the caller's to zero, if it returns true, before the thread can
 * take one: the refill does, after heap->lock (gcmem_refill_zero()). @black:
 * its free slots are marked (gcmem_allocating_black()). *@live: the bytes of
 * its free slots, for the caller to count as allocated.
 */
static bool gcmem_span_handout(struct gcmem_heap *heap,
			       struct gcmem_span *span,
			       struct gcmem_thread *thread, u32 idx,
			       bool black, u64 *live)
{
	bool zero = span->needzero;

	span->needzero = false;
	/* Its free slots count as allocated for the pacer (pace.c). */
	*live = (u64)(span->nelems -
		      bitmap_weight(span->allocbits, span->nelems)) *
		span->elem_size;
	thread->caches[idx] = span;
	span->owner = thread;
	span->cache_index = idx;
	WRITE_ONCE(span->handout_cursor,
		   find_first_zero_bit(span->allocbits, span->nelems));
	WRITE_ONCE(thread->slot->cursor[idx], span->handout_cursor);
	if (black)
		gcmem_span_blacken(heap, span, span->handout_cursor);
	/* Last: the span is complete when a concurrent mark sees it CACHED. */
	smp_store_release(&span->state, GCMEM_SPAN_CACHED);
	return zero;
}

/*
 * After a refill's heap->lock: zero the free slots of the span it handed
 * out (@bits, its alloc bits then), one memset per run of free slots, while
 * other threads refill. The span is the calling thread's, CACHED; no one
 * else writes its free slots, and the thread takes none before the ioctl
 * returns. Its chunks' pages stay as they are: they are the heap's own
 * (the handout unshared them), and a fork, which would share them again,
 * waits for @zeroing, raised under heap->lock before it was let go.
 */
static void gcmem_refill_zero(struct gcmem_heap *heap,
			      const struct gcmem_refill *arg, const u64 *bits)
{
	DECLARE_BITMAP(alloc, GCMEM_MAX_NELEMS);
	u64 base = arg->span_base - heap->arena_start;
	u32 i, end, n = arg->nelems;

	bitmap_from_arr64(alloc, bits, n);
	for (i = find_first_zero_bit(alloc, n); i < n;
	     i = find_next_zero_bit(alloc, n, end)) {
		end = find_next_bit(alloc, n, i);
		gcmem_heap_zero(heap, base + (u64)i * arg->elem_size,
				(u64)(end - i) * arg->elem_size);
	}
	/* Every refill ends so: the queue's lock only if someone waits. */
	if (atomic_dec_and_test(&heap->zeroing) &&
	    wq_has_sleeper(&heap->zero_wq))
		wake_up_all(&heap->zero_wq);
}

/*
 * gcmem_fast_fold() - fold the fast refills' counter deltas into the heap's
 * counters (struct gcmem_heap, @fast). Exact when no fast refill runs
 * beside (gcmem_fast_exclude()); else what the ones that ended had moved.
 * heap->lock.
 */
void gcmem_fast_fold(struct gcmem_heap *heap)
{
	s64 live, idle;

	lockdep_assert_held(&heap->lock);
	/*
	 * Every fast refill counts itself: with none since the last fold
	 * (fast_refill off, or none took a span), four loads instead of four
	 * exchanges on every lock. A refill that failed to copy its result
	 * out takes its count back, but its other deltas stay: not zero then.
	 */
	if (!atomic64_read(&heap->fast.refills) &&
	    !atomic64_read(&heap->fast.live) &&
	    !atomic64_read(&heap->fast.idle) &&
	    !atomic64_read(&heap->fast.allocated))
		return;
	live = atomic64_xchg(&heap->fast.live, 0);
	idle = atomic64_xchg(&heap->fast.idle, 0);
	if (live < 0)
		heap->live_bytes -= min_t(u64, -live, heap->live_bytes);
	else
		heap->live_bytes += live;
	if (idle < 0)
		heap->idle_bytes -= min_t(u64, -idle, heap->idle_bytes);
	else
		heap->idle_bytes += idle;
	heap->small_allocated += atomic64_xchg(&heap->fast.allocated, 0);
	heap->refills += atomic64_xchg(&heap->fast.refills, 0);
}

/*
 * gcmem_fast_exclude() - no fast refill runs beside the caller until its
 * gcmem_fast_allow(): the ones under way end first. Nests. heap->lock.
 */
void gcmem_fast_exclude(struct gcmem_heap *heap)
{
	lockdep_assert_held(&heap->lock);
	WRITE_ONCE(heap->fast_off, heap->fast_off + 1);
	/* Pairs with the barrier in gcmem_refill_fast(). */
	smp_mb();
	/* Bounded: a fast refill neither sleeps nor faults before it ends. */
	wait_event(heap->fast_wq, !atomic_read(&heap->fast_inflight));
	gcmem_fast_fold(heap);
}

void gcmem_fast_allow(struct gcmem_heap *heap)
{
	lockdep_assert_held(&heap->lock);
	if (WARN_ON_ONCE(heap->fast_off <= 0))
		return;
	WRITE_ONCE(heap->fast_off, heap->fast_off - 1);
}

/* Tell the refill's caller what it got: @span, its alloc bits in @bits. */
static void gcmem_refill_result(struct gcmem_heap *heap,
				const struct gcmem_span *span,
				struct gcmem_refill *arg, u64 *bits)
{
	bitmap_to_arr64(bits, span->allocbits, span->nelems);
	arg->span_base = heap->arena_start +
			 ((u64)span->page << GCMEM_PAGE_SHIFT);
	arg->elem_size = span->elem_size;
	arg->nelems = span->nelems;
	arg->cursor = span->handout_cursor;
	arg->__reserved2 = 0;
}

/*
 * Tunable: refills that find a swept span on their class's central list
 * take it beside heap->lock (gcmem_refill_fast()). 0: every refill takes
 * the slow path, for comparison and to rule the fast path out.
 */
static bool gcmem_fast_refills = true;
module_param_named(fast_refill, gcmem_fast_refills, bool, 0644);
MODULE_PARM_DESC(fast_refill, "refills take a swept span from a central list without the heap lock (default 1)");

/*
 * May a fast refill hand out @span, the first of its central list? Swept
 * (always, outside a sweep, which fast refills stay out of), and none of
 * its chunks shared with a fork: unsharing one is heap->lock's (cow.c). A
 * fork, which makes chunks shared, excludes fast refills while it does.
 */
static bool gcmem_span_ready(struct gcmem_heap *heap,
			     const struct gcmem_span *span)
{
	unsigned long c, last;

	if (span->sweepgen != heap->sweepgen)
		return false;
	if (!span->needzero)
		return true;
	last = (span->page + span->npages - 1) / GCMEM_CHUNK_PAGES;
	for (c = span->page / GCMEM_CHUNK_PAGES; c <= last; c++)
		if (gcmem_chunk_cow(gcmem_chunk_of(heap,
						   (u64)c << GCMEM_CHUNK_SHIFT)))
			return false;
	return true;
}

/*
 * gcmem_refill_fast() - the refill, beside heap->lock, when its class has a
 * span ready on its central list and nothing excludes fast refills
 * (struct gcmem_heap, @fast_off): what the slow path does under heap->lock
 * for such a span, but the central list's pop under heap->central_lock,
 * and the counters moved as deltas (gcmem_fast_fold()). The old span goes
 * back as the slow path returns it. Pacing: a refill that would take the
 * heap past its trigger takes the slow path, which starts the cycle;
 * every cycle excludes fast refills from its start to its end, so none
 * needs the cycle's waits, assists or allocate-black. A fast refill never
 * makes a span: the limit and the page allocator stay heap->lock's.
 *
 * Returns 0 with @arg and @bits filled, heap->handing_out raised (as the
 * slow path leaves it) and *@zero as gcmem_refill_locked()'s; or -EAGAIN
 * for the slow path, with nothing changed.
 */
static int gcmem_refill_fast(struct gcmem_heap *heap, struct gcmem_refill *arg,
			     u64 *bits, bool *zero)
{
	struct gcmem_span *span, *old;
	struct gcmem_thread *thread;
	struct list_head *central;
	u64 live, unallocated;
	u32 allocated;
	int ret = -EAGAIN;

	if (!READ_ONCE(gcmem_fast_refills))
		return -EAGAIN;
	/* Until the result is the caller's, as the slow path: for a stop. */
	atomic_inc(&heap->handing_out);
	atomic_inc(&heap->fast_inflight);
	/* Pairs with the barriers in gcmem_fast_exclude() and the stop. */
	smp_mb__after_atomic();
	if (READ_ONCE(heap->fast_off) || READ_ONCE(heap->stopping) ||
	    READ_ONCE(heap->sweeping))
		goto out;

	/* Freed with kfree_rcu(); removed only with fast refills excluded. */
	rcu_read_lock();
	thread = xa_load(&heap->threads, arg->thread_id);
	if (!thread || thread->task != current)
		goto out_rcu;
	/* Made by the slow path, after the type's lookup: a type is known. */
	central = gcmem_central(heap, arg->size_class, arg->type_id, false);
	if (!central)
		goto out_rcu;

	spin_lock(&heap->central_lock);
	span = list_first_entry_or_null(central, struct gcmem_span, central);
	if (!span || !gcmem_span_ready(heap, span) ||
	    !gcmem_pacer_fast_ok(heap, (u64)span->nelems * span->elem_size)) {
		spin_unlock(&heap->central_lock);
		goto out_rcu;
	}
	gcmem_central_take(heap, span, true);
	spin_unlock(&heap->central_lock);

	old = thread->caches[arg->cache_index];
	if (old) {
		unallocated = gcmem_span_detach(heap, old, &allocated);
		atomic64_add(allocated, &heap->fast.allocated);
		atomic64_sub(unallocated, &heap->fast.live);
	}
	/* No cycle beside a fast refill: nothing is allocated black. */
	*zero = gcmem_span_handout(heap, span, thread, arg->cache_index, false,
				   &live);
	atomic64_add(live, &heap->fast.live);
	atomic64_inc(&heap->fast.refills);
	gcmem_refill_result(heap, span, arg, bits);
	/* Before the exclusion can end: a fork waits for this zeroing. */
	if (*zero)
		atomic_inc(&heap->zeroing);
	ret = 0;
out_rcu:
	rcu_read_unlock();
out:
	if (atomic_dec_and_test(&heap->fast_inflight) &&
	    wq_has_sleeper(&heap->fast_wq))
		wake_up_all(&heap->fast_wq);
	if (ret)
		gcmem_handout_done(heap);
	return ret;
}

/*
 * An allocation let heap->lock go to wait (@why): -EINPROGRESS, for a
 * concurrent cycle to end (gcmem_pace_alloc()); -EAGAIN, to make the chunk
 * page its growth needs (gcmem_pages_alloc()). Takes it again, with the
 * fast refills' deltas folded, or returns -EINTR without it.
 */
static int gcmem_alloc_relock(struct gcmem_heap *heap, int why)
{
	int ret;

	if (why == -EINPROGRESS)
		return gcmem_heap_lock_idle(heap);
	gcmem_heap_spare_grow(heap);
	ret = gcmem_heap_lock_beside(heap);
	if (!ret)
		gcmem_fast_fold(heap);
	return ret;
}

/*
 * Under heap->lock. -EINPROGRESS: a concurrent cycle must end first (see
 * gcmem_pace_alloc()); the caller waits for it and calls again with the
 * same @paced (not paced again: a cycle just ended), and at the limit a
 * cycle of our own may come once more (another thread's may have ended
 * before its sweep freed anything). -EAGAIN: a chunk page is to be made
 * without the lock first (gcmem_alloc_relock()); the old span went back,
 * and the caller calls again paced anew: without the lock, a cycle may
 * have begun, or reached its last precleaning round, where allocations
 * wait (pace.c). *@zero: the span's free slots are the caller's to zero
 * (gcmem_refill_zero()).
 */
static int gcmem_refill_locked(struct gcmem_heap *heap,
			       struct gcmem_refill *arg, u64 *bits,
			       bool *paced, bool *zero)
{
	const struct gcmem_type *type = NULL;
	bool at_limit = false;
	struct gcmem_thread *thread;
	struct list_head *central;
	struct gcmem_span *span;
	u64 live;
	int ret;

	lockdep_assert_held(&heap->lock);
again:
	thread = xa_load(&heap->threads, arg->thread_id);
	if (!thread)
		return -ENOENT;
	if (thread->task != current)
		return -EPERM;
	if (!(arg->flags & GCMEM_REFILL_RELEASE)) {
		ret = gcmem_type_lookup(heap, arg->type_id, &type);
		if (ret)
			return ret;
	}

	span = thread->caches[arg->cache_index];
	if (span)
		gcmem_span_return(heap, span);
	if (arg->flags & GCMEM_REFILL_RELEASE)
		return 0;

	/* Made here if the class has none: every small span has one. */
	central = gcmem_central(heap, arg->size_class, arg->type_id, true);
	if (!central)
		return -ENOMEM;
	if (!*paced) {
		*paced = true;
		ret = gcmem_pace_alloc(heap, (u64)GCMEM_PAGE_SIZE *
				       gcmem_class_npages[arg->size_class],
				       list_empty(central));
		if (ret < 0)
			return ret;
		/* A cycle ran: everything is looked up again after it. */
		if (ret)
			goto again;
	}
	span = gcmem_span_get(heap, arg->size_class, arg->type_id, type,
			      central);
	if (PTR_ERR_OR_ZERO(span) == -ENOMEM && !at_limit) {
		ret = gcmem_collect_at_limit(heap, &at_limit);
		if (ret)
			return ret;
		goto again;
	}
	if (IS_ERR(span))
		return PTR_ERR(span);
	*zero = gcmem_span_handout(heap, span, thread, arg->cache_index,
				   gcmem_allocating_black(heap), &live);
	heap->live_bytes += live;
	heap->refills++;
	gcmem_refill_result(heap, span, arg, bits);
	return 0;
}

/* The span a refill handed out holds objects (its alloc bits, @bits). */
static bool gcmem_refill_any(const u64 *bits, const struct gcmem_refill *arg)
{
	u32 i;

	for (i = 0; i < DIV_ROUND_UP(arg->nelems, 64); i++)
		if (bits[i])
			return true;
	return false;
}

/*
 * gcmem_refill() - the slow path of small allocation. The span's alloc bits
 * are copied out after heap->lock is dropped. If that copy faults the span
 * stays cached all the same, with its cursor in the thread slot: the next
 * refill of the cache returns it, and nothing is lost.
 */
int gcmem_refill(struct gcmem_heap *heap, struct gcmem_refill *arg)
{
	u64 bits[DIV_ROUND_UP(GCMEM_MAX_NELEMS, 64)];
	bool paced = false, zero = false;
	u32 nelems;
	int ret;

	if (arg->flags & ~GCMEM_REFILL_RELEASE || arg->__reserved ||
	    arg->__reserved2)
		return -EINVAL;
	if (arg->cache_index >= GCMEM_THREAD_CACHES)
		return -EINVAL;
	if (!(arg->flags & GCMEM_REFILL_RELEASE)) {
		if (!arg->size_class || arg->size_class >= gcmem_nclasses)
			return -EINVAL;
		nelems = gcmem_class_nelems[arg->size_class];
		if (arg->bitmap_words < DIV_ROUND_UP(nelems, 64))
			return -EINVAL;
		if (!gcmem_arena_start(heap))
			return -EINVAL;
		/* While a concurrent cycle marks: pay for the span first. */
		gcmem_pace_assist(heap, (u64)GCMEM_PAGE_SIZE *
				  gcmem_class_npages[arg->size_class]);
	}

	ret = arg->flags & GCMEM_REFILL_RELEASE ? -EAGAIN :
	      gcmem_refill_fast(heap, arg, bits, &zero);
	if (!ret)
		goto zero;

	ret = gcmem_heap_lock_beside(heap);
	if (ret)
		return ret;
	/* The fast refills' deltas, before the pacer reads the counters. */
	gcmem_fast_fold(heap);
	while ((ret = gcmem_refill_locked(heap, arg, bits, &paced,
					  &zero)) == -EINPROGRESS ||
	       ret == -EAGAIN) {
		/* Paced again: a cycle may have begun without the lock. */
		if (ret == -EAGAIN)
			paced = false;
		gcmem_heap_unlock(heap);
		ret = gcmem_alloc_relock(heap, ret);
		if (ret)
			return ret;
	}
	/* Before the unlock: a fork waits for this zeroing. */
	zero = !ret && zero;
	if (zero)
		atomic_inc(&heap->zeroing);
	/* Until the result is the caller's: gcmem_handout_done(). */
	if (!ret)
		atomic_inc(&heap->handing_out);
	gcmem_heap_unlock(heap);
zero:
	if (zero)
		gcmem_refill_zero(heap, arg, bits);
	if (ret || arg->flags & GCMEM_REFILL_RELEASE)
		return ret;
	/* A span with live objects, while a concurrent mark precleans. */
	if (READ_ONCE(heap->track_precise) && gcmem_refill_any(bits, arg))
		gcmem_track_refill(heap, arg->span_base - heap->arena_start);

	if (copy_to_user(u64_to_user_ptr(arg->alloc_bitmap), bits,
			 DIV_ROUND_UP(arg->nelems, 64) * sizeof(u64))) {
		/* Not a successful refill, though the span stays cached. */
		gcmem_handout_done(heap);
		atomic64_dec(&heap->fast.refills);
		return -EFAULT;
	}
	return 0;
}

int gcmem_alloc_large(struct gcmem_heap *heap, struct gcmem_alloc_large *arg)
{
	const struct gcmem_type *type;
	bool at_limit = false, paced = false;
	struct gcmem_span *span;
	unsigned long npages;
	u64 bytes;
	int ret;

	if ((arg->flags & ~GCMEM_LARGE_IGNORE_OFF_PAGE) || arg->__reserved ||
	    !arg->bytes)
		return -EINVAL;
	if (arg->bytes > GCMEM_ARENA_MAX)
		return -ENOMEM;
	npages = DIV_ROUND_UP(arg->bytes, GCMEM_PAGE_SIZE);
	bytes = (u64)npages * GCMEM_PAGE_SIZE;
	/* While a concurrent cycle marks: pay for the object first. */
	gcmem_pace_assist(heap, bytes);

	ret = gcmem_heap_lock_beside(heap);
	if (ret)
		return ret;
	/* The fast refills' deltas, before the pacer reads the counters. */
	gcmem_fast_fold(heap);
again:
	ret = gcmem_type_lookup(heap, arg->type_id, &type);
	if (ret)
		goto out;
	if (!heap->arena_start) {
		ret = -EINVAL;
		goto out;
	}
	if (!paced) {
		paced = true;
		ret = gcmem_pace_alloc(heap, bytes, true);
		if (ret >= 0)
			goto again;
	} else {
		span = gcmem_span_new(heap, npages, 0, bytes, 1, type,
				      arg->type_id, false, NULL);
		ret = PTR_ERR_OR_ZERO(span);
		if (ret == -ENOMEM && !at_limit) {
			ret = gcmem_collect_at_limit(heap, &at_limit);
			if (!ret)
				goto again;
		}
	}
	/* A cycle to end or a chunk page to make: as gcmem_refill(). */
	if (ret == -EINPROGRESS || ret == -EAGAIN) {
		if (ret == -EINPROGRESS)
			at_limit = false;
		else
			paced = false;
		gcmem_heap_unlock(heap);
		ret = gcmem_alloc_relock(heap, ret);
		if (ret)
			return ret;
		goto again;
	}
	if (ret)
		goto out;
	/*
	 * White if a concurrent mark runs (the program's store is seen), or
	 * black (its writes are).
	 */
	__set_bit(0, span->allocbits);
	if (gcmem_allocating_black(heap))
		set_bit(0, span->markbits);
	span->nalloc = 1;
	if (arg->flags & GCMEM_LARGE_IGNORE_OFF_PAGE)
		span->reach = GCMEM_PAGE_SIZE;
	/* After the bit: pairs with gcmem_mark_slot_live(). */
	smp_store_release(&span->state, GCMEM_SPAN_LARGE);
	heap->large_objects++;
	heap->live_bytes += bytes;
	arg->addr = heap->arena_start + ((u64)span->page << GCMEM_PAGE_SHIFT);
	/* Until the address is the caller's: gcmem_handout_done(). */
	atomic_inc(&heap->handing_out);
out:
	gcmem_heap_unlock(heap);
	return ret;
}

/*
 * gcmem_handout_done() - a refill's or large allocation's result is in the
 * caller's memory, or will never be (see heap->handing_out).
 */
void gcmem_handout_done(struct gcmem_heap *heap)
{
	/* Every refill ends so: the queue's lock only if someone waits. */
	if (atomic_dec_and_test(&heap->handing_out) &&
	    wq_has_sleeper(&heap->stop_wq))
		wake_up_all(&heap->stop_wq);
}

void gcmem_spans_destroy(struct gcmem_heap *heap)
{
	struct gcmem_span *span, *next;

	list_for_each_entry_safe(span, next, &heap->spans, node)
		gcmem_span_drop(span);
	list_for_each_entry_safe(span, next, &heap->unswept, node)
		gcmem_span_drop(span);
}
