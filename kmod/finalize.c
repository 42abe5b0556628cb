// SPDX-License-Identifier: GPL-2.0
/*
 * Finalization and weak references: the collector's part.
 *
 * The program registers objects that have a finalizer
 * (GCMEM_IOC_FINALIZER) and locations that refer weakly to an object
 * (GCMEM_IOC_WEAK); the library keeps the functions and calls them. The
 * kernel keeps three sets, all xarrays of xa_mk_value()s under heap->lock:
 *
 *   finalizers  object (arena offset / 8) -> its GCMEM_FINALIZER_* order
 *   ready       objects found unreachable, waiting for GCMEM_IOC_FINALIZE
 *   weak[0..1]  short and long references: location (user address / 8)
 *               -> object (arena offset / 8)
 *
 * At the end of marking (gcmem_finalize_mark(), with the world stopped and
 * the workers done) the driver, single-threaded, in the order of the uapi's
 * "Finalization and weak references":
 *
 *  1. marks the ready objects, and what they reach: they live until the
 *     program takes them (bdwgc's finalization queue is a root too);
 *  2. clears the short references to unmarked objects;
 *  3. marks what each unmarked finalizable object reaches, not the object
 *     (the ordering: an object reachable from another such object is
 *     marked here, and waits for a later cycle);
 *  4. moves each finalizable object still unmarked to the ready set, and
 *     marks it and what it reaches;
 *  5. clears the long references to unmarked objects; then, marking
 *     being final, forgets the references that live in an object this
 *     cycle frees (its slot may be reused: a later clear would write into
 *     someone else's object).
 *
 * A registration whose object is no longer allocated (a thread's cursor
 * moved back below it, say) is dropped at step 3: nothing is scanned from
 * an address that is not an object's start.
 *
 * Clearing writes 0 to the reference with put_user(): the driver is a
 * thread of the heap's process. A reference that cannot be written keeps
 * its object alive (it is marked, and stays registered): a failed write
 * must never leave the program a pointer to freed memory.
 *
 * Marking here can fail as the workers' can (no workbuf): the cycle is then
 * abandoned before anything is freed. Steps 1 to 3 change nothing that an
 * abandoned cycle must undo (a short reference is cleared once its object
 * is unreachable from the roots, which an abandoned cycle does not
 * change); step 4 happens only after step 3 marked everything.
 */
#include <linux/bitops.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "collect.h"

static inline unsigned long gcmem_obj_key(u64 off)
{
	return off >> 3;
}

static inline u64 gcmem_key_obj(unsigned long key)
{
	return (u64)key << 3;
}

/* The allocated object starting at user address @addr: its offset. */
static int gcmem_finalize_object(struct gcmem_heap *heap, u64 addr, u64 *off)
{
	u32 idx;

	if (addr < heap->arena_start)
		return -EINVAL;
	*off = addr - heap->arena_start;
	return gcmem_object_at(heap, *off, &idx) ? 0 : -EINVAL;
}

int gcmem_finalizer(struct gcmem_heap *heap, struct gcmem_finalizer *arg)
{
	const u32 order = GCMEM_FINALIZER_NO_ORDER |
			  GCMEM_FINALIZER_IGNORE_SELF;
	void *old;
	u64 off;
	int ret;

	if (arg->flags & ~(order | GCMEM_FINALIZER_REMOVE) ||
	    hweight32(arg->flags) > 1)
		return -EINVAL;
	ret = gcmem_heap_lock(heap);
	if (ret)
		return ret;
	ret = gcmem_finalize_object(heap, arg->addr, &off);
	if (ret)
		goto out;
	if (arg->flags & GCMEM_FINALIZER_REMOVE) {
		if (!xa_erase(&heap->finalizers, gcmem_obj_key(off)))
			ret = -ENOENT;
		goto out;
	}
	old = xa_store(&heap->finalizers, gcmem_obj_key(off),
		       xa_mk_value(arg->flags), GFP_KERNEL_ACCOUNT);
	ret = xa_err(old);
out:
	gcmem_heap_unlock(heap);
	return ret;
}

static void gcmem_finalize_publish(struct gcmem_heap *heap)
{
	WRITE_ONCE(heap->control->finalizers_ready, heap->nready);
}

int gcmem_finalize_take(struct gcmem_heap *heap, struct gcmem_finalize *arg)
{
	u64 __user *buf = u64_to_user_ptr(arg->buf);
	unsigned long key;
	u32 n = 0;
	void *entry;
	int ret;

	if (arg->flags || arg->__reserved || arg->count > GCMEM_FINALIZE_MAX)
		return -EINVAL;
	ret = gcmem_heap_lock(heap);
	if (ret)
		return ret;
	/*
	 * Written under the lock: an object leaves the ready set only once
	 * the program's memory holds it, with no cycle in between.
	 */
	xa_for_each(&heap->ready, key, entry) {
		if (n == arg->count)
			break;
		if (put_user(heap->arena_start + gcmem_key_obj(key), buf + n))
			break;
		xa_erase(&heap->ready, key);
		n++;
	}
	heap->nready -= n;
	gcmem_finalize_publish(heap);
	arg->remaining = heap->nready;
	gcmem_heap_unlock(heap);
	if (!n && arg->count && arg->remaining)
		return -EFAULT;
	arg->count = n;
	return 0;
}

/* Move the reference at @key to @to: ENOENT, EEXIST, ENOMEM or 0. */
static int gcmem_weak_move(struct xarray *set, unsigned long key,
			   unsigned long to)
{
	void *entry = xa_load(set, key);
	int ret;

	if (!entry)
		return -ENOENT;
	if (to == key)
		return 0;
	ret = xa_insert(set, to, entry, GFP_KERNEL_ACCOUNT);
	if (ret)
		return ret == -EBUSY ? -EEXIST : ret;
	xa_erase(set, key);
	return 0;
}

int gcmem_weak(struct gcmem_heap *heap, struct gcmem_weak *arg)
{
	struct xarray *set;
	unsigned long key;
	void *old;
	u64 off = 0;
	int ret;

	if (arg->flags & ~(GCMEM_WEAK_LONG | GCMEM_WEAK_REMOVE |
			   GCMEM_WEAK_MOVE) ||
	    hweight32(arg->flags & (GCMEM_WEAK_REMOVE | GCMEM_WEAK_MOVE)) > 1)
		return -EINVAL;
	if (!arg->link || !IS_ALIGNED(arg->link, 8) ||
	    !access_ok(u64_to_user_ptr(arg->link), 8))
		return -EINVAL;
	if ((arg->flags & GCMEM_WEAK_REMOVE) && arg->addr)
		return -EINVAL;
	/* MOVE: @addr is the new location, as good a one as @link. */
	if ((arg->flags & GCMEM_WEAK_MOVE) &&
	    (!arg->addr || !IS_ALIGNED(arg->addr, 8) ||
	     !access_ok(u64_to_user_ptr(arg->addr), 8)))
		return -EINVAL;
	set = &heap->weak[!!(arg->flags & GCMEM_WEAK_LONG)];
	key = arg->link >> 3;

	ret = gcmem_heap_lock(heap);
	if (ret)
		return ret;
	if (arg->flags & GCMEM_WEAK_REMOVE) {
		if (!xa_erase(set, key))
			ret = -ENOENT;
		goto out;
	}
	if (arg->flags & GCMEM_WEAK_MOVE) {
		ret = gcmem_weak_move(set, key, arg->addr >> 3);
		goto out;
	}
	ret = gcmem_finalize_object(heap, arg->addr, &off);
	if (ret)
		goto out;
	old = xa_store(set, key, xa_mk_value(gcmem_obj_key(off)),
		       GFP_KERNEL_ACCOUNT);
	ret = xa_is_err(old) ? xa_err(old) : !!old;
out:
	gcmem_heap_unlock(heap);
	return ret;
}

/*
 * The object at @off, @size bytes, was given back early (free.c): no
 * finalizer, and no weak reference that lives in it (its slot will be
 * reused: a later clear must not write there).
 */
void gcmem_finalize_forget(struct gcmem_heap *heap, u64 off, u64 size)
{
	u64 first = heap->arena_start + off, last = first + size - 1;
	unsigned long key;
	void *entry;
	int i;

	lockdep_assert_held(&heap->lock);
	xa_erase(&heap->finalizers, gcmem_obj_key(off));
	if (xa_erase(&heap->ready, gcmem_obj_key(off))) {
		heap->nready--;
		gcmem_finalize_publish(heap);
	}
	for (i = 0; i < 2; i++)
		xa_for_each_range(&heap->weak[i], key, entry, first >> 3,
				  last >> 3)
			xa_erase(&heap->weak[i], key);
}

/* Is the allocated object at arena @off marked? */
static bool gcmem_marked(struct gcmem_heap *heap, u64 off)
{
	struct gcmem_span *span;
	u32 idx;

	span = gcmem_object_at(heap, off, &idx);
	return span && test_bit(idx, span->markbits);
}

/* Does user address @addr lie in an object this cycle frees? */
static bool gcmem_in_garbage(struct gcmem_heap *heap, u64 addr)
{
	u64 off = addr - heap->arena_start, span_off;
	struct gcmem_span *span;
	u32 idx;

	if (addr < heap->arena_start || off >= heap->arena_size)
		return false;
	span = gcmem_span_of(heap, off);
	if (!span)
		return true;
	span_off = off - ((u64)span->page << GCMEM_PAGE_SHIFT);
	idx = div64_u64(span_off, span->elem_size);
	return idx >= span->nelems || !gcmem_span_slot_allocated(span, idx) ||
	       !test_bit(idx, span->markbits);
}

/*
 * Clear the references of @set whose object is unmarked; one that cannot
 * be written keeps its object instead (marked, to be drained).
 */
static void gcmem_weak_clear(struct gcmem_cycle *c, struct gcmem_greyer *g,
			     struct xarray *set)
{
	struct gcmem_heap *heap = c->heap;
	unsigned long key;
	void *entry;
	u64 off;

	xa_for_each(set, key, entry) {
		off = gcmem_key_obj(xa_to_value(entry));
		if (gcmem_marked(heap, off))
			continue;
		if (!put_user(0ULL, (u64 __user *)u64_to_user_ptr((u64)key << 3)))
			xa_erase(set, key);
		else
			gcmem_mark_addr(c, g, heap->arena_start + off);
		cond_resched();
	}
}

/* Once marking is final: forget the references that live in garbage. */
static void gcmem_weak_forget(struct gcmem_heap *heap, struct xarray *set)
{
	unsigned long key;
	void *entry;

	xa_for_each(set, key, entry) {
		if (gcmem_in_garbage(heap, (u64)key << 3))
			xa_erase(set, key);
		cond_resched();
	}
}

/* Everything greyed is marked; false if the cycle must be abandoned. */
static bool gcmem_finalize_drain(struct gcmem_cycle *c,
				 struct gcmem_greyer *g)
{
	gcmem_mark_drain(c, g);
	if (READ_ONCE(c->work.abandon))
		return false;
	gcmem_work_reopen(&c->work);
	return true;
}

/**
 * gcmem_finalize_mark() - the end of marking for finalizers and weak
 * references (see above).
 * @heap: the heap, locked, its world stopped
 * @c: the cycle, its mark complete
 *
 * Return: false if the cycle must be abandoned.
 */
bool gcmem_finalize_mark(struct gcmem_heap *heap, struct gcmem_cycle *c)
{
	struct gcmem_greyer g;
	unsigned long key;
	void *entry;
	bool ok = false;
	u64 off;

	lockdep_assert_held(&heap->lock);
	if (xa_empty(&heap->finalizers) && xa_empty(&heap->ready) &&
	    xa_empty(&heap->weak[0]) && xa_empty(&heap->weak[1]))
		return true;

	/* The workers are gone: the driver marks alone. */
	gcmem_work_destroy(&c->work);
	gcmem_work_init(&c->work, 1, gcmem_debug);
	gcmem_greyer_init(&g, c, GCMEM_OWNER_FINALIZE);

	/* The ready objects, and what they reach, are alive. */
	xa_for_each(&heap->ready, key, entry)
		gcmem_mark_addr(c, &g, heap->arena_start + gcmem_key_obj(key));
	if (!gcmem_finalize_drain(c, &g))
		goto out;
	gcmem_weak_clear(c, &g, &heap->weak[0]);
	if (!gcmem_finalize_drain(c, &g))
		goto out;

	/*
	 * A registration whose object is gone (a slot a thread's cursor no
	 * longer covers, freed since) is dropped: never scanned from.
	 */
	xa_for_each(&heap->finalizers, key, entry) {
		struct gcmem_span *span;
		u32 idx;

		off = gcmem_key_obj(key);
		span = gcmem_object_at(heap, off, &idx);
		if (!span) {
			xa_erase(&heap->finalizers, key);
			continue;
		}
		if (xa_to_value(entry) & GCMEM_FINALIZER_NO_ORDER ||
		    test_bit(idx, span->markbits))
			continue;
		gcmem_mark_children(c, &g, off, xa_to_value(entry) &
				    GCMEM_FINALIZER_IGNORE_SELF);
		cond_resched();
	}
	if (!gcmem_finalize_drain(c, &g))
		goto out;

	xa_for_each(&heap->finalizers, key, entry) {
		int err;

		off = gcmem_key_obj(key);
		if (gcmem_marked(heap, off))
			continue;
		/*
		 * Already ready (registered again while it waited): once is
		 * enough. Without room in the ready set it waits, alive, for
		 * the next cycle.
		 */
		err = xa_insert(&heap->ready, key, xa_mk_value(0),
				GFP_KERNEL_ACCOUNT);
		if (!err)
			heap->nready++;
		if (!err || err == -EBUSY)
			xa_erase(&heap->finalizers, key);
		gcmem_mark_addr(c, &g, heap->arena_start + off);
		cond_resched();
	}
	if (!gcmem_finalize_drain(c, &g))
		goto out;

	gcmem_weak_clear(c, &g, &heap->weak[1]);
	if (!gcmem_finalize_drain(c, &g))
		goto out;
	gcmem_weak_forget(heap, &heap->weak[0]);
	gcmem_weak_forget(heap, &heap->weak[1]);
	ok = true;
out:
	gcmem_grey_flush(&g);
	gcmem_finalize_publish(heap);
	return ok;
}

static int gcmem_xa_copy(struct xarray *to, struct xarray *from)
{
	unsigned long key;
	void *entry;
	int ret;

	xa_for_each(from, key, entry) {
		ret = xa_insert(to, key, entry, GFP_KERNEL_ACCOUNT);
		if (ret)
			return ret;
	}
	return 0;
}

/* A fork's copy (fork.c) gets the same registrations. Both locked. */
int gcmem_finalize_fork(struct gcmem_heap *heap, struct gcmem_heap *child)
{
	int ret;

	ret = gcmem_xa_copy(&child->finalizers, &heap->finalizers);
	if (!ret)
		ret = gcmem_xa_copy(&child->ready, &heap->ready);
	if (!ret)
		ret = gcmem_xa_copy(&child->weak[0], &heap->weak[0]);
	if (!ret)
		ret = gcmem_xa_copy(&child->weak[1], &heap->weak[1]);
	child->nready = heap->nready;
	gcmem_finalize_publish(child);
	return ret;
}

void gcmem_finalize_destroy(struct gcmem_heap *heap)
{
	xa_destroy(&heap->finalizers);
	xa_destroy(&heap->ready);
	xa_destroy(&heap->weak[0]);
	xa_destroy(&heap->weak[1]);
}
