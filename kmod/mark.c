// SPDX-License-Identifier: GPL-2.0
/*
 * Marking: roots, scanning, greying. See collect.c for the cycle.
 *
 * The split is the seeds': gcmem_mark_candidate() is greyobject and
 * objectstart together (a word that may be a pointer is resolved through the
 * span table to the object holding it, which is marked and queued), and
 * gcmem_scan_object() is scanobject (an object's pointer words, by the heap
 * bitmap's pointer bits). Roots are ranges of user memory read through the
 * process's mm, and registers.
 *
 * Nothing read from user memory or from the heap is trusted: a candidate is
 * followed only if it lies in this heap's arena, in a span handed out, in
 * an allocated slot of that span.
 *
 * Mark bits are set with test_and_set_bit(), so that several workers never
 * queue the same object twice. The checkmark pass (debug) runs the same code
 * on a second set of bits.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "collect.h"

void gcmem_greyer_init(struct gcmem_greyer *g, struct gcmem_cycle *c,
		       int owner)
{
	g->work = &c->work;
	g->wbuf = NULL;
	g->owner = owner;
	g->nobj = 0;
}

static inline unsigned long *gcmem_marks(struct gcmem_cycle *c,
					 struct gcmem_span *span)
{
	return c->check ? span->checkbits : span->markbits;
}

/*
 * The index of the object at byte @off of @span (no division if possible);
 * for a large object past its reach, 1 (no object).
 */
static inline u32 gcmem_span_index(const struct gcmem_span *span, u64 off)
{
	if (!span->size_class)
		return off >= span->reach;
	if (likely(span->div_mul))
		return off * span->div_mul >> 32;
	return div_u64(off, (u32)span->elem_size);
}

/*
 * Is slot @idx of @span allocated, or may it be? The mark asks this and
 * not gcmem_span_slot_allocated(), because in a concurrent cycle it runs
 * beside refills, and a CACHED span's owner may be handing it back or
 * gone: every slot of a CACHED span from its handout cursor up counts,
 * taken or not. A free slot marked so is harmless: it holds zeros or
 * garbage that is scanned once, and the sweep keeps alloc & mark only.
 *
 * The state is read first (acquire), the bits last: a span handed back
 * (gcmem_span_return()) has its bits set before its handout cursor moves
 * and before its state changes, so either the old cursor covers @idx or
 * the bit is seen. A span handed out meanwhile was PARTIAL when read: its
 * bits say what was allocated then, and a new object's address stored
 * since is scanned again at mark termination; so is one in a span found
 * NEW, which has no alloc bit (gcmem_span_new()).
 */
static inline bool gcmem_mark_slot_live(const struct gcmem_cycle *c,
					const struct gcmem_span *span,
					u32 idx)
{
	/*
	 * The checkmark runs with the world stopped and heap->lock held, so
	 * it knows what is allocated: the owner's cursor too. A free slot of
	 * a CACHED span is no object, though a stale word may name it: one
	 * freed last cycle, its span handed out during this mark after the
	 * mark read the word (a slot of a PARTIAL span is live by its alloc
	 * bit alone). Counted live here, it made "reachable but not marked"
	 * reports of free slots (concurrent_test's race variants).
	 */
	if (unlikely(c->check))
		return gcmem_span_slot_allocated(span, idx);
	/* Pairs with the releases in alloc.c's handout and return. */
	if (smp_load_acquire(&span->state) == GCMEM_SPAN_CACHED &&
	    idx >= READ_ONCE(span->handout_cursor))
		return true;
	/* The cursor, then the bits: pairs with gcmem_span_settle(). */
	smp_rmb();
	return test_bit(idx, span->allocbits);
}

/*
 * greyobject, once the candidate's span is known (gcmem_off_span()):
 * mark the object of @span at arena offset @off, or holding it, and queue
 * it for scanning. Most candidates are not pointers into the heap at all
 * (integers, NULL, stack addresses) and never get here; of those that are,
 * many point to an object already marked, which a plain read sees before
 * the atomic test_and_set_bit() is paid for.
 */
static __always_inline void
gcmem_mark_in_span(struct gcmem_cycle *c, struct gcmem_greyer *g,
		   struct gcmem_span *span, u64 off)
{
	u64 base = (u64)span->page << GCMEM_PAGE_SHIFT;
	unsigned long *marks = gcmem_marks(c, span);
	u32 idx = gcmem_span_index(span, off - base);

	/* What this reads of the span is on its first line (gcmem.h). */
	BUILD_BUG_ON(offsetofend(struct gcmem_span, handout_cursor) > 64);
	if (idx >= span->nelems || test_bit(idx, marks) ||
	    !gcmem_mark_slot_live(c, span, idx) ||
	    test_and_set_bit(idx, marks))
		return;
	if (span->type_id == GCMEM_TYPE_NOSCAN)
		return;
	gcmem_grey_push(g, base + (u64)idx * span->elem_size);
}

/*
 * The span holding arena offset @off (< arena_size), or NULL: in a chunk
 * of the allocator's (only those have spans in the span table), in a span.
 */
static __always_inline struct gcmem_span *
gcmem_off_span(struct gcmem_heap *heap, u64 off)
{
	struct gcmem_chunk *chunk = gcmem_chunk_of(heap, off);

	if (!chunk)
		return NULL;
	return READ_ONCE(chunk->spans[(off >> GCMEM_PAGE_SHIFT) %
				      GCMEM_CHUNK_PAGES]);
}

static __always_inline void
gcmem_mark_candidate(struct gcmem_cycle *c, struct gcmem_greyer *g, u64 v)
{
	struct gcmem_heap *heap = c->heap;
	u64 off = v - heap->arena_start;
	struct gcmem_span *span;

	if (off >= heap->arena_size)
		return;
	span = gcmem_off_span(heap, off);
	if (span)
		gcmem_mark_in_span(c, g, span, off);
}

/*
 * The drain's pipeline (gcmem_mark_drain()): loads started ahead of their
 * use, so that several misses are in flight at once. An object to scan
 * waits GCMEM_MARKQ_AHEAD objects with its first line prefetched; a
 * candidate found in an object waits GCMEM_MARKQ_AHEAD candidates with its
 * span's first line and bits prefetched, and is marked when it leaves.
 * (A first stage that prefetched the span table slot as well was no
 * faster natively: the table is small, and mostly in cache; and its
 * bookkeeping cost as much again under TCG.) Marking later is as safe as
 * marking at once: a scanner marks every candidate in flight before it
 * waits for work or leaves (gcmem_markq_flush()).
 */
#define GCMEM_MARKQ_AHEAD	16
#define GCMEM_MARKQ_MASK	(GCMEM_MARKQ_AHEAD - 1)

struct gcmem_markq {
	u64 obj[GCMEM_MARKQ_AHEAD];		/* to scan */
	u64 cand[GCMEM_MARKQ_AHEAD];		/* candidates, span loading */
	struct gcmem_span *span[GCMEM_MARKQ_AHEAD];
	/* Free running: in - out entries, at index & GCMEM_MARKQ_MASK. */
	unsigned int obj_in, obj_out;
	unsigned int cand_in, cand_out;
};

static __always_inline void
gcmem_markq_mark(struct gcmem_cycle *c, struct gcmem_greyer *g,
		 struct gcmem_markq *q)
{
	unsigned int i = q->cand_out++ & GCMEM_MARKQ_MASK;

	gcmem_mark_in_span(c, g, q->span[i], q->cand[i]);
}

/* Queue the candidate at arena offset @off (< arena_size), if in a span. */
static __always_inline void
gcmem_markq_candidate(struct gcmem_cycle *c, struct gcmem_greyer *g,
		      struct gcmem_markq *q, u64 off)
{
	struct gcmem_span *span = gcmem_off_span(c->heap, off);
	unsigned int i;

	if (!span)
		return;
	prefetch(span);
	prefetch(span->bits);
	if (q->cand_in - q->cand_out == GCMEM_MARKQ_AHEAD)
		gcmem_markq_mark(c, g, q);
	i = q->cand_in++ & GCMEM_MARKQ_MASK;
	q->cand[i] = off;
	q->span[i] = span;
}

static void gcmem_markq_init(struct gcmem_markq *q)
{
	q->obj_in = 0;
	q->obj_out = 0;
	q->cand_in = 0;
	q->cand_out = 0;
}

/* Mark every candidate in flight (which may grey objects). */
static void gcmem_markq_flush(struct gcmem_cycle *c, struct gcmem_greyer *g,
			      struct gcmem_markq *q)
{
	while (q->cand_in != q->cand_out)
		gcmem_markq_mark(c, g, q);
}

/*
 * A word of an object being scanned: a candidate if it points into the
 * arena (most words do not, and cost only this test: the arena's bounds
 * are the caller's locals, which no store through the queue can change),
 * and not into [@skip, @skip + @skip_len).
 */
static __always_inline void
gcmem_scan_word(struct gcmem_cycle *c, struct gcmem_greyer *g,
		struct gcmem_markq *q, u64 v, u64 arena_start, u64 arena_size,
		u64 skip, u64 skip_len)
{
	u64 off = v - arena_start;
	struct gcmem_span *span;

	if (off >= arena_size || v - skip < skip_len)
		return;
	if (q) {
		gcmem_markq_candidate(c, g, q, off);
		return;
	}
	span = gcmem_off_span(c->heap, off);
	if (span)
		gcmem_mark_in_span(c, g, span, off);
}

/*
 * The words [@off, @end) of an object (all of them candidates if @all,
 * else those the chunks' pointer bits name), which may cross chunks: one
 * run of words per chunk.
 */
static __always_inline void
__gcmem_scan_words(struct gcmem_cycle *c, struct gcmem_greyer *g,
		   struct gcmem_markq *q, u64 off, u64 end, bool all,
		   u64 skip, u64 skip_len)
{
	struct gcmem_heap *heap = c->heap;
	const u64 arena_start = heap->arena_start;
	const u64 arena_size = heap->arena_size;
	struct gcmem_chunk *chunk = gcmem_chunk_of(heap, off);

	while (off < end) {
		unsigned long lo = (off % GCMEM_CHUNK_SIZE) / 8;
		unsigned long hi = min_t(u64, GCMEM_CHUNK_WORDS,
					 lo + (end - off) / 8);
		const u64 *words = READ_ONCE(chunk->base);
		unsigned long w = lo;

		if (all) {
			const u64 *p = words + lo, *e = words + hi;

			for (; p < e; p++)
				gcmem_scan_word(c, g, q, READ_ONCE(*p),
						arena_start, arena_size,
						skip, skip_len);
			w = hi;
		}
		while (w < hi) {
			unsigned long first = round_down(w, BITS_PER_LONG);
			unsigned long bits = chunk->ptrbits[w / BITS_PER_LONG];
			unsigned long top = min(hi, first + BITS_PER_LONG);

			bits &= BITMAP_FIRST_WORD_MASK(w);
			if (top % BITS_PER_LONG)
				bits &= BITMAP_LAST_WORD_MASK(top);
			while (bits) {
				unsigned long i = __ffs(bits);

				bits &= bits - 1;
				gcmem_scan_word(c, g, q,
						READ_ONCE(words[first + i]),
						arena_start, arena_size,
						skip, skip_len);
			}
			w = top;
		}
		off += (hi - lo) * 8;
		if (off < end)
			chunk = gcmem_chunk_of(heap, off);
	}
}

/*
 * scanobject: follow the pointer words of the object at arena @off, as the
 * chunk's pointer bits name them, a bitmap word at a time; but not words
 * that point into [@skip, @skip + @skip_len) (constant 0 in the mark loop,
 * where the test compiles away). With @q (the drain's: the caller's
 * constant, inlined) the candidates enter its pipeline; without, each is
 * marked at once. A conservative object (every word a candidate, the
 * common case) is a plain loop over its words, a chunk at a time; the
 * first test is the common case of all, a small object.
 */
static __always_inline void
__gcmem_scan_object(struct gcmem_cycle *c, struct gcmem_greyer *g,
		    struct gcmem_markq *q, u64 off, u64 skip, u64 skip_len)
{
	struct gcmem_heap *heap = c->heap;
	const u64 arena_start = heap->arena_start;
	const u64 arena_size = heap->arena_size;
	struct gcmem_chunk *chunk = gcmem_chunk_of(heap, off);
	struct gcmem_span *span = chunk->spans[(off >> GCMEM_PAGE_SHIFT) %
					       GCMEM_CHUNK_PAGES];
	/*
	 * A conservative span's pointer bits are all ones (bitmap.c): take
	 * them as read, and save a random access to the chunk's bitmap.
	 */
	bool all = span->type_id == GCMEM_TYPE_CONSERVATIVE;
	u64 end = off + span->elem_size;

	if (all && likely((off % GCMEM_CHUNK_SIZE) + span->elem_size <=
			  GCMEM_CHUNK_SIZE)) {
		const u64 *p = (const u64 *)READ_ONCE(chunk->base) +
			       (off % GCMEM_CHUNK_SIZE) / 8;
		const u64 *e = p + span->elem_size / 8;

		for (; p < e; p++)
			gcmem_scan_word(c, g, q, READ_ONCE(*p), arena_start,
					arena_size, skip, skip_len);
		return;
	}
	__gcmem_scan_words(c, g, q, off, end, all, skip, skip_len);
}

/* The drain's scan, its candidates into @q (inlined: @q is known). */
static __always_inline void
gcmem_scan_object_queued(struct gcmem_cycle *c, struct gcmem_greyer *g,
			 struct gcmem_markq *q, u64 off)
{
	__gcmem_scan_object(c, g, q, off, 0, 0);
}

/* A scan outside the drain: each candidate marked at once. */
static void gcmem_scan_object(struct gcmem_cycle *c, struct gcmem_greyer *g,
			      u64 off)
{
	__gcmem_scan_object(c, g, NULL, off, 0, 0);
}

/* Mark the object @v points into, and queue it (finalize.c). */
void gcmem_mark_addr(struct gcmem_cycle *c, struct gcmem_greyer *g, u64 v)
{
	gcmem_mark_candidate(c, g, v);
}

/*
 * Mark what the allocated object at arena @off points to, but not the
 * object itself, nor with @ignore_self what its words point into itself
 * (finalize.c: what a finalizable object reaches). @off must be the start
 * of an allocated object (gcmem_object_at()).
 */
void gcmem_mark_children(struct gcmem_cycle *c, struct gcmem_greyer *g,
			 u64 off, bool ignore_self)
{
	struct gcmem_span *span = gcmem_span_of(c->heap, off);

	if (WARN_ON_ONCE(!span) || span->type_id == GCMEM_TYPE_NOSCAN)
		return;
	if (ignore_self)
		__gcmem_scan_object(c, g, NULL, off,
				    c->heap->arena_start + off, span->elem_size);
	else
		__gcmem_scan_object(c, g, NULL, off, 0, 0);
}

/*
 * Mark from @n words of a root: all of them conservatively, or those that
 * @type's mask (repeating) names. @first is the index of words[0] in the
 * root, for the mask's phase.
 */
void gcmem_mark_words(struct gcmem_cycle *c, struct gcmem_greyer *g,
		      const u64 *words, unsigned long n,
		      const struct gcmem_type *type, u64 first)
{
	unsigned long i;

	for (i = 0; i < n; i++) {
		if (type && !test_bit((first + i) % type->nwords, type->mask))
			continue;
		/* In place, the program's page (gcmem_mark_in_place()). */
		gcmem_mark_candidate(c, g, READ_ONCE(words[i]));
	}
}

/*
 * Words read from user memory at once, where they cannot be read in place:
 * a buffer on the stack, so that a scan has nothing to allocate and nothing
 * to fail but the read itself.
 */
#define GCMEM_SCAN_BATCH	64

/*
 * Mark from the words of [start, end) that lie in start's page, read in
 * place through the kernel's mapping of the page, if the page is there to
 * be taken without a fault or a lock (get_user_page_fast_only()). Returns
 * the words read, or 0: the page is not present, or not one the fast walk
 * takes (the zero page, a PFN mapping such as the arena, a page the
 * program may not read), and the caller copies instead, which faults or
 * defers (gcmem_mark_user_words()). A copy reads each word, writes it to
 * the buffer and reads it again; under TCG, where every access goes
 * through QEMU's software TLB, reading the pages in place took the root
 * scan of a small stop-the-world cycle (a static binary's 85 KiB of
 * globals) from 29 to 16 ms a run of the allocation benchmark, and
 * GCBench's longest pause from 0.75-2.0 to 0.54-0.63 ms (in-boot A/B,
 * 6.12). The program may write the page meanwhile, as it may while a copy
 * reads it: each word is read once (READ_ONCE), whole.
 */
static unsigned long gcmem_mark_in_place(struct gcmem_cycle *c,
					 struct gcmem_greyer *g,
					 unsigned long start, unsigned long end,
					 const struct gcmem_type *type, u64 first)
{
	unsigned long n = (min(end, (start | ~PAGE_MASK) + 1) - start) / 8;
	struct page *page;
	const u64 *p;

	if (!n || !get_user_page_fast_only(start, 0, &page))
		return 0;
	p = kmap_local_page(page);
	gcmem_mark_words(c, g, p + offset_in_page(start) / 8, n, type, first);
	kunmap_local(p);
	put_page(page);
	return n;
}

/* Leave [start, end) of a root, from its word @first on, to the driver. */
static void gcmem_defer(struct gcmem_cycle *c, unsigned long start,
			unsigned long end, u32 type_id, u64 first)
{
	struct gcmem_deferred *d = kmalloc(sizeof(*d), GFP_KERNEL);

	if (!d) {
		gcmem_work_abandon(&c->work);
		return;
	}
	d->start = start;
	d->end = end;
	d->type_id = type_id;
	d->first = first;
	spin_lock(&c->deferred_lock);
	list_add_tail(&d->node, &c->deferred);
	spin_unlock(&c->deferred_lock);
}

/*
 * A mapping no word of which the program can have stored: a private one it
 * can never write (no VM_MAYWRITE, no VM_MAYSHARE: a shared buffer mapped
 * read-only here may be written through another mapping) whose pages come
 * from a driver (VM_IO, VM_PFNMAP), such as the vDSO's [vvar], whose
 * pvclock, hvclock and time namespace pages fault with SIGBUS when there
 * is no such clock or namespace (no kvmclock under TCG, for one). On
 * 6.12 the vDSO sits at the top of the mmap area, beside anonymous
 * mappings a root range may run into; 6.1 put it above the main thread's
 * stack.
 */
static bool gcmem_vma_holds_no_roots(const struct vm_area_struct *vma)
{
	return (vma->vm_flags & (VM_IO | VM_PFNMAP)) &&
	       !(vma->vm_flags & (VM_MAYWRITE | VM_MAYSHARE));
}

/*
 * A read of user memory at @addr failed with faults allowed. If nothing is
 * mapped there (or nothing readable: PROT_NONE, or nothing the program can
 * have written: gcmem_vma_holds_no_roots()), the root has no words there
 * and the scan goes on at the next readable mapping, whose start is
 * returned (@end if none). If a readable mapping is there now, @addr is
 * returned: the read may have found the place unmapped before the program
 * mapped it again (a thread's stack scanned in place after the thread
 * exited, unmapped at its join, and the next thread's stack mapped there),
 * and the caller reads again. 0 if the driver was killed.
 */
static unsigned long gcmem_skip_unmapped(struct gcmem_cycle *c,
					 unsigned long addr, unsigned long end)
{
	struct vm_area_struct *vma;
	unsigned long next = end;

	if (mmap_read_lock_killable(c->mm))
		return 0;
	for (vma = find_vma(c->mm, addr); vma && vma->vm_start < end;
	     vma = find_vma(c->mm, vma->vm_end)) {
		if ((vma->vm_flags & VM_READ) &&
		    !gcmem_vma_holds_no_roots(vma)) {
			next = max(vma->vm_start, addr);
			break;
		}
	}
	mmap_read_unlock(c->mm);
	return next;
}

/*
 * Reads of one place that fail while a readable mapping is there, before
 * the scan gives up: more than one means its contents cannot be had (no
 * memory to fault the page in, a mapping that refuses faults), not a
 * mapping that came and went.
 */
#define GCMEM_READ_TRIES	3

/*
 * Mark from the words of [start, end), a root or a stack, whose first word
 * is word @first of the root (for a typed root's mask). Returns nothing: a
 * scan that cannot read all of its range abandons the cycle, so that no
 * caller can lose a root by ignoring an error.
 */
static void gcmem_mark_user_words(struct gcmem_cycle *c,
				  struct gcmem_greyer *g, unsigned long start,
				  unsigned long end, u32 type_id, u64 first)
{
	bool nofault = current != READ_ONCE(c->driver);
	const struct gcmem_type *type = NULL;
	u64 buf[GCMEM_SCAN_BATCH];
	unsigned long n, done, next, copied_to = 0;
	int tries = 0;
	long failed;

	if (type_id != GCMEM_TYPE_CONSERVATIVE &&
	    gcmem_type_lookup(c->heap, type_id, &type)) {
		gcmem_work_abandon(&c->work);
		return;
	}
	if (!IS_ALIGNED(start, 8)) {
		first += (ALIGN(start, 8) - start) / 8;
		start = ALIGN(start, 8);
	}
	while (start < end && end - start >= 8 &&
	       !READ_ONCE(c->work.abandon)) {
		/* A page not taken in place is copied to its end. */
		done = start >= copied_to ?
		       gcmem_mark_in_place(c, g, start, end, type, first) : 0;
		if (done) {
			start += done * 8;
			first += done;
			tries = 0;
			cond_resched();
			continue;
		}
		copied_to = max(copied_to, (start | ~PAGE_MASK) + 1);
		n = min_t(unsigned long, GCMEM_SCAN_BATCH, (end - start) / 8);
		if (nofault) {
			failed = copy_from_user_nofault(buf, (const void __user *)start,
							n * 8);
			if (failed) {
				gcmem_defer(c, start, end, type_id, first);
				return;
			}
		} else {
			failed = copy_from_user(buf, (const void __user *)start,
						n * 8);
			if (fatal_signal_pending(current)) {
				gcmem_work_abandon(&c->work);
				return;
			}
		}
		done = (n * 8 - failed) / 8;
		gcmem_mark_words(c, g, buf, done, type, first);
		start += done * 8;
		first += done;
		if (done)
			tries = 0;
		if (failed) {
			next = gcmem_skip_unmapped(c, start, end);
			if (!next ||
			    (next == start && ++tries == GCMEM_READ_TRIES)) {
				gcmem_work_abandon(&c->work);
				return;
			}
			first += (ALIGN(next, 8) - start) / 8;
			start = ALIGN(next, 8);
		}
		cond_resched();
	}
}

/*
 * Mark from the user range [start, end) of the cycle's process. The caller
 * runs in that mm: a thread of the process (at its safepoint, or the
 * driver), or a mark worker that adopted it. Parts where nothing readable
 * is mapped are skipped: the process may have unmapped a root, and a
 * registered stack range covers the stack's unused reserve. A mapped part
 * that cannot be read abandons the cycle.
 *
 * Only the cycle's driver takes page faults. The mark workers serve every
 * heap, and a fault on a page that a userfaultfd or a FUSE server of this
 * process never provides would hold them all, and every other process's
 * cycles, forever; a thread scanning its own stack at a safepoint must
 * leave it in bounded time, because the world cannot restart (nor the
 * cycle be freed) before it has. What they cannot read without a fault (a
 * page swapped out, not yet touched, or never coming) is left to the
 * driver, whose faults may sleep and whose kill ends the wait
 * (gcmem_mark_deferred()).
 */
void gcmem_mark_user_range(struct gcmem_cycle *c, struct gcmem_greyer *g,
			   unsigned long start, unsigned long end, u32 type_id)
{
	gcmem_mark_user_words(c, g, start, end, type_id, 0);
}

/*
 * gcmem_mark_deferred() - after the workers' mark: read the roots they left
 * and mark what those reach, single-threaded, in the driver. Returns false
 * if the mark cannot be completed (the driver was killed, no memory).
 */
bool gcmem_mark_deferred(struct gcmem_cycle *c)
{
	struct gcmem_deferred *d;
	struct gcmem_greyer g;

	if (list_empty(&c->deferred))
		return !READ_ONCE(c->work.abandon);
	/* The workers are gone and their lists empty: one scanner now. */
	gcmem_work_alone(&c->work);
	gcmem_greyer_init(&g, c, GCMEM_OWNER_DRIVER);
	while ((d = list_first_entry_or_null(&c->deferred,
					     struct gcmem_deferred, node))) {
		list_del(&d->node);
		gcmem_mark_user_words(c, &g, d->start, d->end, d->type_id,
				      d->first);
		kfree(d);
	}
	gcmem_mark_drain(c, &g);
	gcmem_grey_flush(&g);
	return !READ_ONCE(c->work.abandon);
}

void gcmem_deferred_free(struct gcmem_cycle *c)
{
	struct gcmem_deferred *d, *next;

	list_for_each_entry_safe(d, next, &c->deferred, node)
		kfree(d);
	INIT_LIST_HEAD(&c->deferred);
}

/*
 * Scan again the marked objects on the pages [@from, @to) of chunk @idx
 * that the program wrote while the workers marked beside it (its
 * @rescan_pages, which the harvest before this mark round took, track.c;
 * a concurrent cycle's precleaning and mark termination, collect.c): a
 * pointer it stored into an object already scanned is found here. An
 * object the mark had not reached is scanned when it is, or not at all. A
 * small object is scanned whole, once however many of its written pages
 * are here (the job of the next pages may scan it again: harmless); a
 * large one only on its written pages. Precleaning
 * runs this beside the program, refills included: spans appear in the
 * table (complete, see gcmem_span_new()), none goes before the cycle
 * ends.
 */
static void gcmem_rescan_chunk(struct gcmem_cycle *c, struct gcmem_greyer *g,
			       unsigned long idx, unsigned int from,
			       unsigned int to)
{
	struct gcmem_chunk *chunk = READ_ONCE(c->heap->chunk_tab[idx]);
	u64 lo, base, chunk_off = (u64)idx << GCMEM_CHUNK_SHIFT;
	struct gcmem_span *span, *prev = NULL;
	const unsigned long *marks;
	u32 i, end, next = 0;
	unsigned int p;

	if (!chunk)
		return;
	p = from;
	for_each_set_bit_from(p, chunk->rescan_pages, to) {
		lo = chunk_off + ((u64)p << PAGE_SHIFT);
		span = READ_ONCE(chunk->spans[(lo >> GCMEM_PAGE_SHIFT) %
					      GCMEM_CHUNK_PAGES]);
		if (!span || span->type_id == GCMEM_TYPE_NOSCAN)
			continue;
		base = (u64)span->page << GCMEM_PAGE_SHIFT;
		marks = gcmem_marks(c, span);
		/*
		 * A large object, marked: only its words on this page. The
		 * rest were scanned before they could be written, or will be
		 * (grey); a table of 4 MiB scanned whole for each chunk of
		 * it written was 60-90 ms of a pause under TCG.
		 */
		if (span->nelems == 1 && span->elem_size > PAGE_SIZE) {
			if (test_bit(0, marks))
				__gcmem_scan_words(c, g, NULL, max(lo, base),
						   min(lo + PAGE_SIZE, base +
						       span->elem_size),
						   span->type_id ==
						   GCMEM_TYPE_CONSERVATIVE,
						   0, 0);
			continue;
		}
		if (span != prev) {
			prev = span;
			next = 0;
		}
		/* The objects on [lo, lo + PAGE_SIZE) not scanned yet here. */
		i = max_t(u32, next, div64_u64(lo - base, span->elem_size));
		end = min_t(u64, span->nelems,
			    div64_u64(lo + PAGE_SIZE - base +
				      span->elem_size - 1, span->elem_size));
		for (i = find_next_bit(marks, end, i); i < end;
		     i = find_next_bit(marks, end, i + 1))
			gcmem_scan_object(c, g,
					  base + (u64)i * span->elem_size);
		next = max(next, end);
		if (READ_ONCE(c->work.abandon))
			return;
		cond_resched();
	}
}

void gcmem_mark_job(struct gcmem_cycle *c, struct gcmem_greyer *g,
		    struct gcmem_root_job *job)
{
	if (job->kind == GCMEM_JOB_CHUNK) {
		gcmem_rescan_chunk(c, g, job->start, job->page_from,
				   job->page_to);
		return;
	}
	gcmem_mark_words(c, g, job->regs, job->nregs, NULL, 0);
	gcmem_mark_user_range(c, g, job->start, job->end, job->type_id);
}

/*
 * Every this many objects a scanner looks up from its buffer: stops if the
 * cycle is abandoned, shares work with idle workers, yields the CPU. An
 * object scan takes ~50-500 ns natively (a small object to a 32 KiB one),
 * so that is every few to few dozen microseconds: an abandon is seen at
 * once, and the checks cost a fraction of a percent of the scan.
 */
#define GCMEM_DRAIN_CHECK	64

/*
 * An object taken out of the buffer waits in @q's first ring, its first
 * line prefetched, while the ones before it are scanned: taken from a LIFO
 * buffer, an object just greyed would otherwise be scanned at once, its
 * line still on the way, and the mark would follow one chain of pointers
 * at a time, a miss per object. With several chains grey (a tree's
 * siblings, many lists, the objects of an array) that many misses are in
 * flight (Cher, Hosking and Vijaykumar, ASPLOS 2004; Garner, Blackburn and
 * Frampton, ISMM 2007). Natively a random load costs ~170 ns alone and
 * ~22 ns with 8 in flight (bench/RESULTS.md, "Mark throughput natively").
 */
static __always_inline void gcmem_markq_take(struct gcmem_cycle *c,
					     struct gcmem_markq *q, u64 off)
{
	struct gcmem_chunk *chunk = gcmem_chunk_of(c->heap, off);

	prefetch(READ_ONCE(chunk->base) + off % GCMEM_CHUNK_SIZE);
	q->obj[q->obj_in++ & GCMEM_MARKQ_MASK] = off;
}

static __always_inline u64 gcmem_markq_next(struct gcmem_markq *q)
{
	return q->obj[q->obj_out++ & GCMEM_MARKQ_MASK];
}

/*
 * May a thread help @c's mark now? Only in a round the workers mark
 * beside the program (@c->beside, collect.c): the precleaning's last
 * round runs on every worker, and the stop comes after it, which would
 * wait for a helper its CPU's workers pushed aside (a 7 ms stop in the
 * latency benchmark, under TCG).
 */
static bool gcmem_assist_may(struct gcmem_heap *heap, struct gcmem_cycle *c)
{
	return c && c->concurrent && !READ_ONCE(heap->stopping) &&
	       READ_ONCE(heap->phase) == GCMEM_PHASE_MARK &&
	       READ_ONCE(c->beside) && !READ_ONCE(c->work.abandon);
}

/* Empty @q into @g's buffer, before the buffer goes to the others. */
static void gcmem_markq_return(struct gcmem_cycle *c, struct gcmem_greyer *g,
			       struct gcmem_markq *q)
{
	gcmem_markq_flush(c, g, q);
	while (q->obj_in != q->obj_out)
		gcmem_grey_push(g, gcmem_markq_next(q));
}

/* Who drains, and so how it takes work and when it stops. */
enum gcmem_drain {
	GCMEM_DRAIN_WORKER,	/* a scanner counted at the getfull barrier */
	GCMEM_DRAIN_ASSIST,	/* a thread helping (gcmem_assist_once()) */
	GCMEM_DRAIN_ALONE,	/* the driver, the only scanner (a stop) */
};

/*
 * Scan grey objects until the getfull barrier says marking is over. What
 * is in @q is this scanner's work as much as its buffer is: it waits at
 * the barrier only with both empty, and empties @q into its buffer before
 * the buffer goes to the others. An assist or the driver alone (@mode)
 * takes only what the lists hold, and gives its work back once it has
 * scanned @budget objects (0: no limit), an assist also when it may help
 * no more. Returns true if it left with no work to give back: the lists
 * were empty (for a worker: the mark is over). The objects scanned are
 * counted in the cycle's @scanned: in a cycle that takes proportional
 * assists (@assists) a few dozen at a time, for the pacer
 * (gcmem_pace_assist_objs()); in others once, as the drain ends, for the
 * precleaning (collect.c): an atomic the workers shared every 64 objects
 * would cost the mark loop a contended cache line.
 */
static __always_inline bool
__gcmem_mark_drain(struct gcmem_cycle *c, struct gcmem_greyer *g,
		   enum gcmem_drain mode, u64 budget)
{
	struct gcmem_markq q;
	struct gcmem_workbuf *b;
	unsigned int n = 0;

	gcmem_markq_init(&q);
	for (;;) {
		b = g->wbuf;
		if ((!b || !b->nobj) && q.obj_in == q.obj_out) {
			if (q.cand_in != q.cand_out) {
				/* Candidates in flight may grey more. */
				gcmem_markq_flush(c, g, &q);
				continue;
			}
			if (b)
				gcmem_work_putempty(g->work, b);
			g->wbuf = NULL;
			b = mode == GCMEM_DRAIN_WORKER ?
			    gcmem_work_getfull(g->work, g->owner) :
			    gcmem_work_trygetfull(g->work, g->owner);
			if (!b)
				break;
			g->wbuf = b;
		}
		/* Fill the ring from the buffer, then scan its oldest. */
		while (q.obj_in - q.obj_out < GCMEM_MARKQ_AHEAD && b &&
		       b->nobj)
			gcmem_markq_take(c, &q, b->obj[--b->nobj]);
		gcmem_scan_object_queued(c, g, &q, gcmem_markq_next(&q));
		if (++n % GCMEM_DRAIN_CHECK == 0) {
			if (c->assists)
				atomic64_add(GCMEM_DRAIN_CHECK, &c->scanned);
			if (READ_ONCE(c->work.abandon))
				return false;
			if (g->wbuf)
				gcmem_work_balance(g->work, g->wbuf, g->owner);
			/* The driver alone: the workers take on the rest. */
			if (mode == GCMEM_DRAIN_ALONE && budget && n >= budget) {
				gcmem_markq_return(c, g, &q);
				if (!c->assists)
					atomic64_add(n, &c->scanned);
				return false;
			}
			if (mode == GCMEM_DRAIN_ASSIST) {
				/*
				 * Its work back to the lists, for the stop
				 * or the last round, once its debt is paid,
				 * or before its CPU goes to another task: a
				 * helper never waits holding work.
				 */
				if (!gcmem_assist_may(c->heap, c) ||
				    fatal_signal_pending(current) ||
				    need_resched() ||
				    (budget && n >= budget)) {
					gcmem_markq_return(c, g, &q);
					if (!c->assists)
						atomic64_add(n, &c->scanned);
					return false;
				}
				continue;
			}
			if (g->work->yield &&
			    g->work->yield(g->work, g->owner, false)) {
				/* Away, as if waiting with nothing: work.c. */
				gcmem_markq_return(c, g, &q);
				if (!g->wbuf)
					break;	/* abandoned */
				if (g->wbuf->nobj)
					gcmem_work_putfull(g->work, g->wbuf);
				else
					gcmem_work_putempty(g->work, g->wbuf);
				g->wbuf = NULL;
				atomic_inc(&g->work->nwait);
				g->work->yield(g->work, g->owner, true);
				atomic_dec(&g->work->nwait);
				continue;
			}
			cond_resched();
		}
	}
	/* Left with no work: the rest of the count, or all of it. */
	atomic64_add(c->assists ? n % GCMEM_DRAIN_CHECK : n, &c->scanned);
	return true;
}

void gcmem_mark_drain(struct gcmem_cycle *c, struct gcmem_greyer *g)
{
	__gcmem_mark_drain(c, g, GCMEM_DRAIN_WORKER, 0);
}

/*
 * One help: drain what the lists hold (or, @bytes > 0, what the pacer says
 * an allocation of @bytes owes), holding @assisting, which keeps the cycle
 * (gcmem_cycle_finish(), the stop and gcmem_cycle_abandon() wait for it);
 * the getfull barrier waits for it too while it holds work (work.c). A
 * hungry helper (@hungry) takes work only if a scanner shared some, and is
 * no longer hungry then. False if there is no mark to help any more.
 */
static bool gcmem_assist_once(struct gcmem_heap *heap, u64 bytes, bool *hungry)
{
	struct gcmem_cycle *c;
	struct gcmem_greyer g;
	u64 budget = 0;
	bool more = false;

	atomic_inc(&heap->assisting);
	/*
	 * Pairs with the barriers after clearing heap->cycle
	 * (gcmem_cycle_finish()), after setting @stopping (the stop) and
	 * after abandoning the mark (gcmem_cycle_abandon()): either this
	 * sees them, or they wait for @assisting.
	 */
	smp_mb__after_atomic();
	/* Pairs with the release that publishes the cycle. */
	c = smp_load_acquire(&heap->cycle);
	if (!gcmem_assist_may(heap, c))
		goto out;
	more = true;
	if (bytes) {
		budget = gcmem_pace_assist_objs(heap, c, bytes);
		if (!budget)
			goto out;
	} else if (*hungry) {
		if (!READ_ONCE(c->work.nfull))
			goto out;
		atomic_dec(&heap->hungry);
		*hungry = false;
	}
	gcmem_greyer_init(&g, c, GCMEM_OWNER_ASSIST);
	gcmem_work_assist(&c->work, true);
	__gcmem_mark_drain(c, &g, GCMEM_DRAIN_ASSIST, budget);
	gcmem_grey_flush(&g);
	gcmem_work_assist(&c->work, false);
	atomic64_add(g.nobj, &heap->assist_marked);
out:
	/*
	 * A hungry helper comes through here at every look for work: no
	 * wait queue lock unless someone waits (the barrier in
	 * wq_has_sleeper() pairs with the waiter's prepare_to_wait_event()).
	 */
	if (atomic_dec_and_test(&heap->assisting) &&
	    wq_has_sleeper(&heap->stop_wq))
		wake_up_all(&heap->stop_wq);
	return more;
}

/*
 * gcmem_mark_assist() - mark assists: a registered thread helps the
 * workers. One whose request must wait for a concurrent mark to end (an
 * allocation at the cycle's goal, pace.c, or anything else
 * gcmem_heap_lock_idle() holds back; @bytes 0; @self its thread) helps
 * until the mark is over, instead of sleeping while the program's
 * allocation outruns the workers: with fewer workers than CPUs, or
 * workers shared with other heaps, its CPU would otherwise idle. When the
 * lists hold nothing it waits for work, counted hungry (@heap->hungry),
 * as a worker waits at the barrier, and the scanners share with it as
 * with a worker (work.c): in a mark of deep structures (trees, lists) the
 * one worker beside the program keeps all its work in its own buffer, and
 * the waiting thread took a fiftieth of GCBench's objects (1.6 of its 3.9
 * s waiting) until it did. It stops helping when its thread is asked for
 * a ragged scan (the caller does it) or killed. It holds work, and the
 * cycle, only while it drains (gcmem_assist_once()): it waits for work,
 * and gives its CPU to another task, holding neither, so that the stop
 * never waits for a helper that is not running (a helper preempted with
 * its work held the latency benchmark's stop up for 7 to 11 ms). One
 * about to allocate @bytes while the workers mark (a refill, a large
 * object) scans first what the pacer says that allocation owes
 * (gcmem_pace_assist_objs(): proportional assists), if anything. A
 * stopped world runs no thread's marking: a helper gives its work back
 * as soon as the world is to stop.
 */
void gcmem_mark_assist(struct gcmem_heap *heap, u64 bytes,
		       struct gcmem_thread *self)
{
	unsigned int spins = 0;
	bool hungry = false;

	while (gcmem_assist_once(heap, bytes, &hungry) && !bytes &&
	       !fatal_signal_pending(current) &&
	       !gcmem_ragged_wanted(heap, self)) {
		if (hungry) {
			gcmem_work_pause(&spins);
			continue;
		}
		/* Drained what it took, or its CPU is wanted: wait hungry. */
		atomic_inc(&heap->hungry);
		hungry = true;
		spins = 0;
		cond_resched();
	}
	if (hungry)
		atomic_dec(&heap->hungry);
}

/* The root jobs no other scanner took. */
static void gcmem_mark_jobs(struct gcmem_cycle *c, struct gcmem_greyer *g)
{
	unsigned int i;

	while ((i = atomic_inc_return(&c->next_job) - 1) < c->njobs &&
	       !READ_ONCE(c->work.abandon))
		gcmem_mark_job(c, g, &c->jobs[i]);
}

/* One scanner's part of a mark: root jobs, then the drain. */
void gcmem_mark_worker(struct gcmem_cycle *c, int owner)
{
	struct gcmem_greyer g;

	gcmem_greyer_init(&g, c, owner);
	gcmem_mark_jobs(c, &g);
	gcmem_mark_drain(c, &g);
	gcmem_grey_flush(&g);
}

/*
 * gcmem_mark_alone() - the driver marks with the world stopped, no other
 * scanner on the cycle (the stop waited for the threads' scans and
 * assists): all of the root jobs, then the drain, until it has scanned
 * @budget objects. Returns true if that was all the mark (or it was
 * abandoned); else the rest is on the work lists, for the workers.
 */
bool gcmem_mark_alone(struct gcmem_cycle *c, u64 budget)
{
	struct gcmem_greyer g;
	bool done;

	gcmem_greyer_init(&g, c, GCMEM_OWNER_DRIVER);
	gcmem_mark_jobs(c, &g);
	done = __gcmem_mark_drain(c, &g, GCMEM_DRAIN_ALONE, budget);
	gcmem_grey_flush(&g);
	return done || READ_ONCE(c->work.abandon);
}

/*
 * The stack range to scan for a thread stopped with stack pointer @sp, up
 * to the top of its registered stack. A thread stopped at an arbitrary
 * instruction (@redzone: an interrupt or a fault, not a system call) may
 * keep live values in the x86-64 red zone below its stack pointer, so
 * those 128 bytes are scanned too. A stack pointer outside the registered
 * stack (a signal stack, a coroutine) gets the whole registered stack
 * scanned.
 */
static void gcmem_stack_range(struct gcmem_thread *t, unsigned long sp,
			      bool redzone, unsigned long *lo,
			      unsigned long *hi)
{
	*hi = t->stack_hi;
	if (sp < t->stack_lo || sp > t->stack_hi)
		*lo = t->stack_lo;
	else
		*lo = max(t->stack_lo, redzone ? sp - 128 : sp);
}

/* Entered the kernel other than by a system call (orig_ax < 0 on x86). */
static bool gcmem_regs_async(const struct pt_regs *regs)
{
	return (long)regs->orig_ax < 0;
}

/*
 * The user registers that may hold live pointers. At a system call the
 * caller-saved ones are dead by the ABI (the call into the libc wrapper
 * clobbers them), and scanning their stale contents would only keep
 * garbage alive; at an interrupt or fault every register may be live.
 */
static unsigned int gcmem_user_regs(const struct pt_regs *regs, u64 *r)
{
	unsigned int n = 0;

	r[n++] = regs->bx;
	r[n++] = regs->bp;
	r[n++] = regs->r12;
	r[n++] = regs->r13;
	r[n++] = regs->r14;
	r[n++] = regs->r15;
	if (!gcmem_regs_async(regs))
		return n;
	r[n++] = regs->ax;
	r[n++] = regs->cx;
	r[n++] = regs->dx;
	r[n++] = regs->si;
	r[n++] = regs->di;
	r[n++] = regs->r8;
	r[n++] = regs->r9;
	r[n++] = regs->r10;
	r[n++] = regs->r11;
	return n;
}

/*
 * gcmem_mark_self() - a thread stopping at a safepoint scans its own stack
 * and the user registers saved at kernel entry.
 */
void gcmem_mark_self(struct gcmem_cycle *c, struct gcmem_thread *t)
{
	struct pt_regs *regs = task_pt_regs(current);
	struct gcmem_greyer g;
	unsigned long lo, hi;
	unsigned int n;
	u64 r[16];

	n = gcmem_user_regs(regs, r);
	gcmem_greyer_init(&g, c, GCMEM_OWNER_THREAD - (int)t->id);
	gcmem_mark_words(c, &g, r, n, NULL, 0);
	gcmem_stack_range(t, regs->sp, gcmem_regs_async(regs), &lo, &hi);
	gcmem_mark_user_range(c, &g, lo, hi, GCMEM_TYPE_CONSERVATIVE);
	gcmem_grey_flush(&g);
}

/* The root job for a thread claimed BLOCKED: its published stack and regs. */
void gcmem_blocked_job(struct gcmem_thread *t, struct gcmem_root_job *job)
{
	unsigned int i;

	gcmem_stack_range(t, READ_ONCE(t->slot->blocked_sp), false,
			  &job->start, &job->end);
	job->type_id = GCMEM_TYPE_CONSERVATIVE;
	job->nregs = ARRAY_SIZE(t->slot->blocked_regs);
	for (i = 0; i < job->nregs; i++)
		job->regs[i] = READ_ONCE(t->slot->blocked_regs[i]);
}

/*
 * Copy @task's user registers, as saved at its kernel entry, into @regs;
 * false if the task is gone. The registers live at the top of the task's
 * kernel stack, which an exiting task frees (task->stack = NULL, then the
 * memory goes back to a cache or, after an RCU grace period, to vmalloc):
 * one read of task->stack under rcu_read_lock() either sees NULL or a
 * stack that stays mapped while we copy. put_task_stack() is not exported,
 * so try_get_task_stack() is not an option for a module. A stack reused
 * from the cache by a new task only gives stale values, which a
 * conservative scan may take for pointers: that keeps garbage, never frees
 * anything live.
 */
static bool gcmem_task_regs(struct task_struct *task, struct pt_regs *regs)
{
	unsigned long top;
	void *stack;

	rcu_read_lock();
	stack = READ_ONCE(task->stack);
	if (stack) {
		/* task_pt_regs(), from the one value of task->stack read. */
		top = (unsigned long)stack + THREAD_SIZE -
		      TOP_OF_KERNEL_STACK_PADDING;
		*regs = *((struct pt_regs *)top - 1);
	}
	rcu_read_unlock();
	return stack;
}

/*
 * The root job for a thread asleep in the kernel or aside
 * (gcmem_stop_aside_begin()), or, for the checkmark pass, parked: its user
 * registers as saved at kernel entry and its stack from the saved stack
 * pointer. At a stop the thread runs no user code until the restart: a
 * park is queued for its way out. Beside the program (an aside thread in a
 * concurrent cycle's SCAN or precleaning, collect.c) it may return to user
 * mode meanwhile: the job then marks what the stack held, or stale words,
 * which is safe, since the stop scans every stack again. A thread that
 * exited meanwhile (killed) has no roots left: an empty job.
 */
void gcmem_parked_job(struct gcmem_thread *t, struct gcmem_root_job *job)
{
	struct pt_regs regs;

	if (!gcmem_task_regs(t->task, &regs)) {
		job->start = 0;
		job->end = 0;
		job->nregs = 0;
		job->type_id = GCMEM_TYPE_CONSERVATIVE;
		return;
	}
	gcmem_stack_range(t, regs.sp, gcmem_regs_async(&regs), &job->start,
			  &job->end);
	job->type_id = GCMEM_TYPE_CONSERVATIVE;
	job->nregs = gcmem_user_regs(&regs, job->regs);
}
