// SPDX-License-Identifier: GPL-2.0
/*
 * fork(): a heap for the child.
 *
 * The arena is a shared PFN mapping that fork() does not copy (VM_DONTCOPY):
 * a child would otherwise share the parent's objects, and its collections
 * would free the parent's. Instead libgcuser asks for a copy just before
 * fork() (GCMEM_IOC_FORK): a new heap, on a new file, with the parent's
 * memory at the same arena offsets, its spans, span table, pointer bits,
 * types, roots, limit and pacing. The child inherits the file, adopts the
 * heap (GCMEM_IOC_ADOPT), and maps the arena at the same address: its
 * objects are where the parent's were, as fork() promises for all other
 * memory, and from then on the two heaps are independent. The parent
 * closes its descriptor of the copy; if the child execs or dies, the copy
 * goes with the child's descriptor.
 *
 * The memory is copied on write (cow.c): the copy takes a reference to each
 * of the parent's chunk pages, both heaps mark those chunks @cow, and the
 * parent's mapping is zapped so that it maps them again read-only. fork()
 * costs the heap's metadata (the spans, and per chunk its span table and
 * pointer bits: about 2% of its size), and a chunk is copied when either
 * heap first writes it while the other still holds it. fork() followed by
 * exec() copies nothing (docs/allocation.md has the figures).
 *
 * Consistency. The copy runs under the parent's heap->lock, so no cycle,
 * refill or free changes the heap's metadata meanwhile; the parent's other
 * threads may go on allocating from their cached spans and writing
 * objects until the zap takes their write access away. Their spans are
 * handed back in the copy with every slot below the thread's cursor
 * allocated, and the cursors are read after the zap: a thread publishes
 * its cursor before it stores the new object's address anywhere (x86 keeps
 * the two stores in order), so any address the copy holds is of a slot the
 * copy counts as allocated. A slot taken after its cursor was read is not
 * in the copy, and neither is anything that points to it.
 */
#include "gcmem.h"

static int gcmem_fork_types(struct gcmem_heap *heap, struct gcmem_heap *child)
{
	struct gcmem_type *type, *copy;
	unsigned long id;
	int ret;

	xa_for_each(&heap->types, id, type) {
		copy = kmemdup(type, struct_size(type, mask,
						 BITS_TO_LONGS(type->nwords)),
			       GFP_KERNEL_ACCOUNT);
		if (!copy)
			return -ENOMEM;
		ret = xa_insert(&child->types, id, copy, GFP_KERNEL_ACCOUNT);
		if (ret) {
			kfree(copy);
			return ret;
		}
	}
	return 0;
}

static int gcmem_fork_roots(struct gcmem_heap *heap, struct gcmem_heap *child)
{
	struct gcmem_root_range *root, *copy;

	list_for_each_entry(root, &heap->roots, node) {
		copy = kmemdup(root, sizeof(*root), GFP_KERNEL_ACCOUNT);
		if (!copy)
			return -ENOMEM;
		list_add_tail(&copy->node, &child->roots);
		child->nroots++;
	}
	return 0;
}

/*
 * The allocator's chunks: their pages shared copy-on-write, their pointer
 * bits copied. The parent's chunks stay @cow if the copy fails half way:
 * unsharing a chunk no one else holds costs a fault, not a copy.
 */
static int gcmem_fork_chunks(struct gcmem_heap *heap, struct gcmem_heap *child)
{
	unsigned long c, nchunks = heap->pages_grown / GCMEM_CHUNK_PAGES;
	struct gcmem_chunk *from, *to;
	int ret = 0;

	/* A chunk has at most one stale page (cow.c). */
	gcmem_chunks_put_stale(heap);
	mutex_lock(&heap->chunk_lock);
	mutex_lock_nested(&child->chunk_lock, SINGLE_DEPTH_NESTING);
	for (c = 0; c < nchunks; c++) {
		from = heap->chunk_tab[c];
		/*
		 * Chunks the process only touched hold no objects; those a
		 * cycle is giving back hold none either: the copy leaves
		 * their pages free (below), to be taken anew on demand.
		 */
		if (!from || !from->owned || from->releasing)
			continue;
		to = gcmem_chunk_get(child, c, from->page);
		if (IS_ERR(to)) {
			ret = PTR_ERR(to);
			break;
		}
		from->cow = true;
		to->cow = true;
		to->owned = true;
		bitmap_copy(to->dirty_pages, from->dirty_pages,
			    GCMEM_CHUNK_PAGES);
		bitmap_copy(to->ptrbits, from->ptrbits, GCMEM_CHUNK_WORDS);
		cond_resched();
	}
	mutex_unlock(&child->chunk_lock);
	mutex_unlock(&heap->chunk_lock);
	/* Even after a failure: a @cow chunk is never mapped writable. */
	gcmem_heap_write_protect(heap);
	if (ret)
		return ret;
	child->pages_grown = heap->pages_grown;
	bitmap_copy(child->pagemap, heap->pagemap,
		    heap->arena_size >> GCMEM_PAGE_SHIFT);
	list_for_each_entry(from, &heap->released, release)
		bitmap_clear(child->pagemap, from->index * GCMEM_CHUNK_PAGES,
			     GCMEM_CHUNK_PAGES);
	return 0;
}

/* One span, settled if a thread holds it, in the copy's span table. */
static int gcmem_fork_span(struct gcmem_heap *child,
			   const struct gcmem_span *span)
{
	unsigned long words = BITS_TO_LONGS(span->nelems), i;
	struct gcmem_span *copy;

	copy = kmemdup(span, struct_size(span, bits, 3 * words),
		       GFP_KERNEL_ACCOUNT);
	if (!copy)
		return -ENOMEM;
	copy->allocbits = copy->bits;
	copy->markbits = copy->bits + words;
	copy->checkbits = copy->bits + 2 * words;
	bitmap_zero(copy->markbits, span->nelems);
	bitmap_zero(copy->checkbits, span->nelems);
	copy->sweepgen = child->sweepgen;
	INIT_LIST_HEAD(&copy->central);
	list_add_tail(&copy->node, &child->spans);
	if (span->home) {
		copy->home = gcmem_central(child, copy->size_class,
					   copy->type_id, true);
		if (!copy->home)
			return -ENOMEM;
	}

	if (span->state == GCMEM_SPAN_CACHED) {
		/* The copy still names the owner, whose cursor settles it. */
		child->small_allocated += gcmem_span_settle(copy);
		copy->owner = NULL;
		copy->handout_cursor = 0;
		copy->needzero = true;
		copy->state = copy->nalloc == copy->nelems ?
			      GCMEM_SPAN_FULL : GCMEM_SPAN_PARTIAL;
	}
	if (copy->state == GCMEM_SPAN_PARTIAL)
		list_add(&copy->central, copy->home);
	for (i = copy->page; i < copy->page + copy->npages; i++)
		gcmem_chunk_of(child, (u64)i << GCMEM_PAGE_SHIFT)
			->spans[i % GCMEM_CHUNK_PAGES] = copy;
	return 0;
}

/* Fill @child, which nothing else can reach yet, from @heap. */
static int gcmem_fork_copy(struct gcmem_heap *heap, struct gcmem_heap *child)
{
	struct gcmem_span *span;
	int ret;

	lockdep_assert_held(&heap->lock);
	lockdep_assert_held(&child->lock);
	mutex_lock(&child->chunk_lock);
	child->limit = READ_ONCE(heap->limit);
	mutex_unlock(&child->chunk_lock);
	child->gcpercent = heap->gcpercent;
	child->mode = heap->mode;
	child->concurrent_min = heap->concurrent_min;
	child->goal = heap->goal;
	child->trigger = heap->trigger;
	child->runway = heap->runway;
	child->marked_bytes = heap->marked_bytes;
	child->live_bytes = heap->live_bytes;
	child->handshake_done = true;

	ret = gcmem_fork_types(heap, child);
	if (!ret)
		ret = gcmem_fork_roots(heap, child);
	if (!ret)
		ret = gcmem_finalize_fork(heap, child);
	if (ret || !heap->arena_start)
		return ret;

	ret = gcmem_heap_arena_init(child, heap->arena_start, heap->arena_size,
				    false);
	if (!ret)
		ret = gcmem_fork_chunks(heap, child);
	if (ret)
		return ret;
	/* After the zap: see "Consistency" above. */
	smp_rmb();
	list_for_each_entry(span, &heap->spans, node) {
		ret = gcmem_fork_span(child, span);
		if (ret)
			return ret;
	}
	child->inuse_bytes = heap->inuse_bytes;
	child->idle_bytes = heap->idle_bytes;
	child->nspans = heap->nspans;
	return 0;
}

int gcmem_fork(struct gcmem_heap *heap, struct gcmem_fork *arg)
{
	struct gcmem_heap *child;
	int ret;

	if (arg->flags)
		return -EINVAL;
	child = gcmem_heap_create(NULL);
	if (!child)
		return -ENOMEM;

	/* Not beside a concurrent mark: the copy takes the heap as it is. */
	ret = gcmem_heap_lock_idle(heap);
	if (ret)
		goto out;
	/* Every span swept: the copy has no sweep to finish. */
	gcmem_sweep_some(heap, ULONG_MAX, false);
	/* And none zeroed beside us: its chunks are about to be shared. */
	wait_event(heap->zero_wq, !atomic_read(&heap->zeroing));
	/* The child is new and private: its lock nests in the parent's. */
	mutex_lock_nested(&child->lock, SINGLE_DEPTH_NESTING);
	ret = gcmem_fork_copy(heap, child);
	mutex_unlock(&child->lock);
	gcmem_heap_unlock(heap);
	if (ret)
		goto out;
	/* The descriptor takes over our reference. */
	return gcmem_heap_fd(child);
out:
	gcmem_heap_put(child);
	return ret;
}

int gcmem_adopt(struct gcmem_heap *heap, struct gcmem_adopt *arg)
{
	int ret = 0;

	if (arg->flags)
		return -EINVAL;
	/* heap->lock orders two adopters (and an owner's ADOPT, EBUSY). */
	ret = gcmem_heap_lock(heap);
	if (ret)
		return ret;
	if (heap->mm)
		ret = -EBUSY;
	else
		gcmem_heap_bind(heap, current->mm);
	gcmem_heap_unlock(heap);
	return ret;
}
