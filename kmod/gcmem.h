/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gcmem internal declarations: the heap and its parts, and the interfaces
 * between the module's files. heap.c has the heap's life cycle and memory,
 * alloc.c the span handout, arena.c the mappings.
 */
#ifndef _GCMEM_H
#define _GCMEM_H

#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/task_work.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "../uapi/linux/gcmem.h"
#include "work.h"

#define GCMEM_CHUNK_SHIFT	21
#define GCMEM_CHUNK_ORDER	(GCMEM_CHUNK_SHIFT - PAGE_SHIFT)
#define GCMEM_PAGE_SHIFT	13
#define GCMEM_CHUNK_PAGES	(GCMEM_CHUNK_SIZE / GCMEM_PAGE_SIZE)
#define GCMEM_CHUNK_WORDS	(GCMEM_CHUNK_SIZE / 8)
/* Write tracking's unit (track.c): the MMU's page, PAGE_SIZE. */
#define GCMEM_TRACK_PAGES	(GCMEM_CHUNK_SIZE >> PAGE_SHIFT)
#define GCMEM_ARENA_MAX		(64ULL << 30)
/* Most slots in a small span: a page of 8-byte objects (sizeclass.c). */
#define GCMEM_MAX_NELEMS	(GCMEM_PAGE_SIZE / 8)

/*
 * Memory for a heap's structures: charged to the caller's memory cgroup,
 * and without the allocator's warning when it fails (fault injection makes
 * it fail), since the caller reports the failure with ENOMEM.
 */
#define GCMEM_GFP	(GFP_KERNEL_ACCOUNT | __GFP_NOWARN)

/* sizeclass.c: the table, fixed at module load. */
extern unsigned int gcmem_nclasses;
extern u32 gcmem_class_size[GCMEM_MAX_CLASSES];
extern u16 gcmem_class_npages[GCMEM_MAX_CLASSES];
extern u16 gcmem_class_nelems[GCMEM_MAX_CLASSES];
extern u32 gcmem_class_divmul[GCMEM_MAX_CLASSES];
void gcmem_sizeclass_init(void);
unsigned int gcmem_size_to_class(u64 size);

/*
 * struct gcmem_chunk - one 2 MiB chunk of arena memory and its metadata.
 *
 * @spans is the span table: the span owning each GCMEM_PAGE_SIZE page of
 * the chunk, NULL for a free page. @ptrbits is the heap bitmap's pointer
 * part: bit i set when word i of the chunk may hold a pointer. Both are
 * written under heap->lock when a span is made or freed, and read without
 * it by the mark workers: with the world stopped, or in a concurrent
 * cycle's mark, when spans are made (and published complete, with
 * release) but none is freed.
 */
struct gcmem_chunk {
	/* Changed under heap->chunk_lock only (cow.c); @base READ_ONCE. */
	struct page *page;
	void *base;
	/*
	 * A fork may share @page with another heap: neither the user
	 * mappings nor the kernel write it before gcmem_chunk_unshare().
	 * Set by a fork under heap->lock and chunk_lock, cleared under
	 * chunk_lock, last (after the zap and @base): under heap->lock a
	 * chunk without @cow keeps it clear. gcmem_chunk_cow() without it.
	 */
	bool cow;
	/*
	 * The page @page replaced while a cycle may have been reading it,
	 * put when the cycle is over (gcmem_chunks_put_stale()). Under
	 * chunk_lock.
	 */
	struct page *stale;
	/*
	 * The process touched the chunk before the page allocator took it:
	 * it may hold anything and is zeroed when the allocator takes it.
	 */
	bool dirty;
	/* The page allocator owns the chunk's pages (heap->pages_grown). */
	bool owned;
	/*
	 * Write tracking (track.c), under chunk_lock: @wp, the chunk is
	 * mapped read-only until written (a PTE-mapped chunk a page at a
	 * time); @written, it was written since the last harvest, in the
	 * pages of @written_pages (all of them when @wp went: the chunk is
	 * mapped writable whole). @rescan_pages: what the last harvest took,
	 * which the cycle's workers read without the lock until the next.
	 * @relax: the tracking stopped with the chunk still mapped read-only
	 * in part; GCMEM_TRACK_RELAX maps it again, writable, after the
	 * pause (a write meanwhile makes its page writable alone).
	 */
	bool wp;
	bool written;
	bool relax;
	/*
	 * Under chunk_lock: @pmd, its last fault mapped it by one PMD
	 * (6.12, arena.c; a zap since leaves it set). @by_page, its writes
	 * proved hot (track.c): its next fault maps it by PTEs, and it
	 * stays so (the kernel keeps the page table and never tries a PMD
	 * there again until munmap). @taken,
	 * the harvest (heap->track_round) that last took its writes.
	 */
	bool pmd;
	bool by_page;
	unsigned int taken;
	DECLARE_BITMAP(written_pages, GCMEM_TRACK_PAGES);
	DECLARE_BITMAP(rescan_pages, GCMEM_TRACK_PAGES);
	/* Empty after a sweep, on heap->released to be given back. */
	bool releasing;
	struct list_head release;
	unsigned long index;
	/* Pages freed by sweep, to be zeroed when a span takes them again. */
	DECLARE_BITMAP(dirty_pages, GCMEM_CHUNK_PAGES);
	struct gcmem_span *spans[GCMEM_CHUNK_PAGES];
	unsigned long ptrbits[BITS_TO_LONGS(GCMEM_CHUNK_WORDS)];
};

/*
 * enum gcmem_span_state - where a span is.
 *
 *   NEW     -> CACHED | LARGE    a refill or a large object takes it
 *   CACHED  -> PARTIAL | FULL    the thread hands it back (refill, unregister)
 *   PARTIAL -> CACHED            another refill takes it
 *
 *   FULL | PARTIAL -> PARTIAL | (freed)   sweep
 *   LARGE -> (freed)                      sweep, if unmarked
 *   CACHED -> CACHED                      sweep, below the owner's cursor
 *
 * Only a CACHED span has an owner; its allocation state is its alloc bits
 * plus every slot below the owner's cursor. NEW, the zero state (a span
 * is allocated zeroed), holds no object: a span the page allocator just
 * carved, in the span table, which the same heap->lock hold hands out
 * (gcmem_span_new()); a concurrent mark that finds it so finds no slot
 * live (mark.c).
 */
enum gcmem_span_state {
	GCMEM_SPAN_NEW,
	GCMEM_SPAN_CACHED,
	GCMEM_SPAN_PARTIAL,
	GCMEM_SPAN_FULL,
	GCMEM_SPAN_LARGE,
};

/* Why a cycle runs: the pacer's cycles keep memory for the next one. */
enum gcmem_gc_reason {
	GCMEM_GC_PACER,		/* the heap reached its trigger */
	GCMEM_GC_LIMIT,		/* an allocation would pass the limit */
	GCMEM_GC_USER,		/* GCMEM_IOC_COLLECT */
};

struct gcmem_thread;

/*
 * struct gcmem_span - a run of pages with objects of one class and type.
 *
 * The first cache line holds all that the mark reads of a span to mark a
 * candidate (mark.c, gcmem_mark_in_span()), and the mark prefetches it and
 * the bits: keep it so.
 */
struct gcmem_span {
	unsigned long page;		/* first page, index in the arena */
	u64 elem_size;
	/*
	 * LARGE: a pointer this far into the object, or less, keeps it
	 * alive: all of it, or its first page (GCMEM_LARGE_IGNORE_OFF_PAGE).
	 */
	u64 reach;
	unsigned long *allocbits;
	unsigned long *markbits;	/* set atomically by the mark workers */
	u32 nelems;
	u32 size_class;			/* 0: one large object */
	u32 div_mul;			/* idx = off * div_mul >> 32, 0: divide */
	u32 type_id;
	enum gcmem_span_state state;
	/* CACHED only: the cursor it got; who holds it, and where. */
	u32 handout_cursor;
	/* The mark's line ends here. */
	struct gcmem_thread *owner;
	u32 cache_index;
	u32 nalloc;			/* alloc bits set */
	/* Swept since the last mark when heap->sweepgen (sweep.c). */
	u32 sweepgen;
	/* Free slots may hold user writes: zero them at the next handout. */
	bool needzero;
	/*
	 * Empty and PARTIAL, kept for its class's refills by the sweep of a
	 * small heap's stop-the-world cycle (gcmem_span_keep_idle()); freed
	 * by the next sweep if no refill took it, and by the page allocator
	 * before it grows the heap (gcmem_spans_trim()). Counted in
	 * heap->idle_bytes. Outside a sweep, under heap->central_lock.
	 */
	bool idle;
	unsigned long npages;
	struct list_head node;		/* heap->spans */
	/* PARTIAL: on its central list (heap->central_lock) */
	struct list_head central;
	/*
	 * Its central list, for a small span (gcmem_central() of its class
	 * and type, kept: the lists live as long as the heap); NULL for a
	 * large one.
	 */
	struct list_head *home;
	unsigned long *checkbits;	/* the debug checkmark pass's marks */
	unsigned long bits[];
};

/* struct gcmem_type - a registered layout; the built-in ones have none. */
struct gcmem_type {
	u32 id;
	u32 nwords;			/* size / 8: the mask's period */
	unsigned long mask[];
};

/*
 * enum gcmem_stop - where a registered thread stands in a stop of the world
 * (safepoint.c), as the kernel knows it: the thread's status word in its
 * slot is user memory, a hint, never trusted. What a state may be reached
 * from is gcmem_stop_from[] in safepoint.c; the driver moves the state
 * under heap->lock, the thread itself (to PARKED) without it, so every move
 * is a compare-and-swap from a state the table allows, and one of
 * PARKED, CLAIMED and ASLEEP wins. A restart makes every state NONE.
 *
 * @GCMEM_STOP_NONE: running, not asked yet (or no stop under way)
 * @GCMEM_STOP_SIGNALED: asked: its eventfd written
 * @GCMEM_STOP_FORCED: kicked after the deadline: a park queued for its
 *	return to user mode
 * @GCMEM_STOP_PARKED: stopped at a safepoint, its own stack scanned
 * @GCMEM_STOP_CLAIMED: stopped by the driver's claim (BLOCKED ->
 *	BLOCKED|SCAN): it cannot leave BLOCKED, its stack is scanned in place
 * @GCMEM_STOP_ASLEEP: stopped asleep in a system call or fault, with a
 *	park queued for its way out: scanned in place like a claimed one
 */
enum gcmem_stop {
	GCMEM_STOP_NONE,
	GCMEM_STOP_SIGNALED,
	GCMEM_STOP_FORCED,
	GCMEM_STOP_PARKED,
	GCMEM_STOP_CLAIMED,
	GCMEM_STOP_ASLEEP,
};

/* struct gcmem_thread - a registered thread. */
struct gcmem_thread {
	struct kref ref;		/* the registry's, and lookups' */
	struct rcu_head rcu;
	u32 id;
	struct task_struct *task;	/* get_task_struct() reference */
	struct eventfd_ctx *eventfd;	/* NULL for none */
	unsigned long stack_lo, stack_hi;
	struct gcmem_thread_slot *slot;	/* heap->slot_pages[id] */
	struct gcmem_span **caches;	/* by cache index: CACHED spans */
	u32 stop;			/* enum gcmem_stop; cmpxchg */
	atomic_t park_queued;		/* a gcmem_force task work is pending */
	/* The last ragged scan it did (heap->ragged_gen); its own ioctls. */
	u64 ragged_gen;
	/* The last ragged scan the driver waits for it to do; heap->lock. */
	u64 ragged_wanted;
	/*
	 * The last ragged scan that found it away (asleep, aside, BLOCKED)
	 * at its turn: it keeps the turn for the next; heap->lock.
	 */
	u64 ragged_away;
	/*
	 * In the kernel on work a stop need not wait for: stopped as if
	 * asleep (gcmem_stop_aside_begin()). The thread's own.
	 */
	bool aside;
};

/* struct gcmem_root_range - a registered root range. */
struct gcmem_root_range {
	struct list_head node;
	unsigned long start, len;
	u32 type_id;
};

/*
 * struct gcmem_heap - one per open file of /dev/gcmem.
 *
 * Lock order: heap->lock, then mmap_lock, then heap->chunk_lock; and
 * heap->lock, then heap->central_lock, a spinlock under which nothing else
 * is taken (a fast refill takes it alone: @central_lock below). A fork's
 * copy (fork.c) takes the new heap's lock inside the parent's
 * (SINGLE_DEPTH_NESTING): nothing else can reach the new heap yet. A
 * collection cycle reads stacks and roots (faulting, so taking mmap_lock)
 * with heap->lock held; the mmap and fault paths, which run under
 * mmap_lock, take only chunk_lock, never heap->lock. Ioctls copy their
 * arguments in before and out after heap->lock. A cycle holds heap->lock
 * from start to end, so every heap->lock taker that is a registered thread
 * goes through gcmem_heap_lock(), which parks it at a safepoint instead of
 * waiting while the world is being stopped. The exception is a concurrent
 * cycle's mark (collect.c): the driver lets heap->lock go while the
 * workers mark beside the program, with @cycle set, so that threads can
 * refill, allocate large objects and register; what must not run beside a
 * mark (a free, a fork, another cycle, an allocation at the limit, which
 * waits for the cycle to free memory) takes gcmem_heap_lock_idle().
 * A holder of heap->lock need not be a thread of the process: the driver
 * of a pacer's concurrent cycle (collect.c), a kernel worker that has
 * adopted the process's mm, takes it plainly (mutex_lock) for the mark
 * termination and the sweep's batches; it never waits at a safepoint, and
 * it takes mmap_lock (faults) under heap->lock as a cycle always did.
 *
 * Invariants:
 *   committed == number of chunks * GCMEM_CHUNK_SIZE <= limit (chunk_lock);
 *   a page below @pages_grown is in @pagemap iff a span holds it or its
 *   chunk is being released (lock);
 *   every span of @spans is in the span table of the chunks it covers.
 *
 * The heap is freed when its last reference goes: the file's, a running
 * cycle's, or a pending forced stop's.
 */
struct gcmem_heap {
	struct kref ref;
	/*
	 * Bumped at every release of @lock by gcmem_heap_unlock(): in the
	 * hole after @ref, in the cache line of @lock, which every release
	 * writes anyway. See @lock_starving for why here.
	 */
	atomic_t lock_gen;

	/*
	 * The owning process, held by mmgrab() until release; set once, by
	 * open() or, for a fork's copy, by GCMEM_IOC_ADOPT (NULL until then:
	 * gcmem_heap_owned() is false for every process), under @chunk_lock
	 * (its RSS counts @committed from then on).
	 */
	struct mm_struct *mm;

	/* Protects everything below unless a field says otherwise. */
	struct mutex lock;
	/* Woken when @lock is released: see gcmem_heap_lock(). */
	wait_queue_head_t lock_wq;

	/* Set once under @lock; read without it once set. */
	bool handshake_done;
	/*
	 * Requests that waited for @lock and must wait again: while any
	 * does, no other takes it by surprise (gcmem_heap_lock()). Written
	 * only then, read by every request. In the hole after
	 * @handshake_done, as @lock_gen in the one after @ref: added after
	 * @lock_wq, they shifted arena_start to chunk_tab (which every
	 * candidate pointer of a mark reads) into the next cache line, and
	 * GCBench's stop-the-world pauses grew by a fifth (interleaved runs
	 * in the 6.12 guest).
	 */
	atomic_t lock_starving;

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
	bool arena_mapped;		/* under @chunk_lock */

	/*
	 * Chunk index (arena offset >> GCMEM_CHUNK_SHIFT) to struct
	 * gcmem_chunk, allocated with the arena. Entries are set and cleared
	 * under @chunk_lock and read locklessly: a chunk is freed only after
	 * its entry is cleared and its user mapping zapped, outside any cycle.
	 */
	struct gcmem_chunk **chunk_tab;
	/*
	 * One past the highest index @chunk_tab ever held a chunk at: the
	 * walks over the chunks stop there, not at the end of the 64 GiB
	 * arena (32768 entries, 0.1-0.2 ms a walk under TCG, in a pause).
	 * Only grows; under @chunk_lock.
	 */
	unsigned long chunks_hi;
	/*
	 * Protects @chunk_tab updates, @chunks_hi, @limit, @committed,
	 * @peak_committed.
	 */
	struct mutex chunk_lock;

	/* The page allocator: a bit per page of the arena, set when in use. */
	unsigned long *pagemap;
	unsigned long pages_grown;	/* pages of owned chunks */
	/*
	 * Every page below it is in @pagemap: where first fit starts
	 * looking (0 is always right, as a fork's copy starts).
	 */
	unsigned long pages_hint;

	/*
	 * Every span handed out is on @spans, or on @unswept from the end of
	 * a mark until it is swept (sweep.c: @sweeping until none is left).
	 */
	struct list_head spans;
	struct list_head unswept;
	bool sweeping;
	u32 sweepgen;			/* bumped when a sweep starts */
	enum gcmem_gc_reason sweep_why;
	bool sweep_keep_idle;		/* gcmem_span_keep_idle() */
	u64 sweep_cycle;		/* the cycle being swept */
	u64 swept_cycles;		/* the last cycle whose sweep is over */
	u64 sweep_marked, sweep_freed;	/* this sweep's, so far */
	u64 sweep_marked_objs;		/* objects it kept, so far */
	struct xarray central;		/* type * MAX_CLASSES + class -> list */
	struct xarray types;		/* registered types by id */
	struct xarray threads;		/* registered threads by id */
	struct xarray by_task;		/* the same, by task pid (threads.c) */
	/* Write tracking armed (track.c): written under heap->lock and
	 * chunk_lock, read under either.
	 */
	bool tracking;
	/* Since the first harvest, every page counts (track.c); the same. */
	bool track_precise;
	/*
	 * The precleaning's last round is under way: what the program
	 * writes now the pause scans again (track.c). Written under
	 * heap->lock, read without a lock: a hint.
	 */
	bool track_final;
	/* Harvests since it was armed, the first is 2; the same locks. */
	unsigned int track_round;
	atomic64_t track_faults;	/* write faults it took */
	atomic64_t split_chunks;	/* PMD-mapped chunks moved to PTEs */
	struct page *slot_pages[GCMEM_MAX_THREADS];
	struct list_head roots;
	u32 nroots;

	/* Written under @chunk_lock, read with READ_ONCE. */
	u64 limit;
	u64 committed;			/* in @mm's RSS, once bound */
	u64 peak_committed;

	/* Written under @lock, read with READ_ONCE. */
	u64 inuse_bytes;
	u64 idle_bytes;			/* of @inuse_bytes, in idle spans */
	/*
	 * The pacer's measure of the heap (pace.c; Go's heapLive): what the
	 * last cycle marked plus the free slots handed out and the large
	 * objects allocated since. Unlike @inuse_bytes (spans), it falls
	 * back to the marked bytes after every sweep, however scattered
	 * the garbage was over the spans.
	 */
	u64 live_bytes;
	u64 live_at_sweep;		/* @live_bytes at the sweep's start */
	u64 live_before;		/* @live_bytes at the cycle's start */
	u64 nspans;
	u64 refills;
	u64 large_objects;
	u64 small_allocated;

	atomic64_t pmd_faults;
	atomic64_t pte_faults;
	atomic64_t limit_faults;
	atomic64_t cow_copies;
	unsigned long nstale;		/* chunks with a stale page (chunk_lock) */

	/* The collector: see collect.c. Under @lock unless noted. */
	struct gcmem_cycle *cycle;	/* the running cycle, or NULL */
	/* A stop is wanted: threads must park. READ_ONCE without @lock. */
	bool stopping;
	u64 world_gen;			/* bumped at every restart */
	atomic_t parks;			/* bumped when a thread parks */
	atomic_t scanning;		/* threads in gcmem_safepoint()'s scan */
	atomic_t assisting;		/* threads in gcmem_mark_assist() */
	atomic_t hungry;		/* ... waiting there for work */
	atomic64_t assist_marked;	/* objects they marked, all cycles */
	atomic64_t wait_ns;		/* gcmem_heap_lock_idle()'s waits, */
	atomic64_t waits;		/* ... and their number */
	/*
	 * A ragged scan is asked for (safepoint.c): running threads scan
	 * their stacks at their next safepoint without stopping. @ragged is
	 * published with release after @ragged_gen; both written by the
	 * cycle's driver only.
	 */
	bool ragged;
	u64 ragged_gen;
	atomic_t ragged_acks;		/* threads that did this one */
	atomic_t ragged_waited;		/* ... of those it waits for */
	u64 ragged_scans;		/* stacks scanned so, all cycles */
	u64 markterm_stop_ns;		/* parts of markterm_total_ns */
	u64 markterm_rescan_ns;
	u64 alone_marks;		/* the driver's, in stops (collect.c) */
	u64 alone_handovers;		/* ... handed to the workers */
	wait_queue_head_t stop_wq;	/* a thread parked */
	wait_queue_head_t restart_wq;	/* the world restarted */
	wait_queue_head_t idle_wq;	/* a cycle ended (@cycle NULL) */
	/*
	 * Refills zeroing their span's free slots after the lock (alloc.c);
	 * raised under @lock, dropped without. A fork, and an unregistration
	 * (whose spans may be another thread's), wait until none is.
	 */
	atomic_t zeroing;
	/*
	 * Refills and large allocations that handed out memory and have
	 * not yet written their result (the span's base, the object's
	 * address) to the caller's memory (ioctl.c); raised under @lock,
	 * dropped without. A stop of the world is complete only when none
	 * is (safepoint.c): a thread stopped asleep in such a tail is
	 * scanned in place, and the address it then writes to its stack
	 * would be seen by no scan, a new large object's only reference
	 * (allocating white) among them.
	 */
	atomic_t handing_out;
	wait_queue_head_t zero_wq;
	u64 gcpercent;
	/* Pacing (pace.c), all in bytes of spans in use: */
	u64 goal;			/* the heap goal */
	u64 trigger;			/* start a cycle at this live_bytes */
	u64 cycle_goal;			/* allocation waits past it */
	u64 runway;			/* growth a concurrent mark expects */
	bool cycle_waited;		/* an allocation waited this cycle */
	/* When the first did: since the cycle began, and what it grew. */
	u64 wait_after_ns, wait_grown;
	enum gcmem_mode mode;		/* the next cycle's (GCMEM_OPTION_MODE) */
	u64 concurrent_min;		/* GCMEM_OPTION_CONCURRENT_MIN */
	/* The published phase (gcmem_set_phase()); heap->lock. */
	enum gcmem_phase phase;
	u64 cycles;
	u64 abandoned;
	u64 forced_stops;
	u64 pause_total_ns;
	u64 pause_max_ns;
	u64 pause_hist[GCMEM_PAUSE_BUCKETS];
	u64 marked_bytes;
	u64 marked_objs;		/* objects the last sweep kept */
	u64 heap_before;
	u64 heap_after;
	u64 freed_bytes;
	atomic64_t worker_ns;
	u64 checkmark_failures;
	u64 stop_total_ns;		/* completed cycles' phases */
	u64 mark_total_ns;
	u64 sweep_total_ns;		/* in the pause */
	u64 concurrent_sweep_ns;	/* outside it */
	u64 pauses;
	u64 concurrent_cycles;
	u64 markterm_total_ns;
	u64 precleaned_chunks;
	u64 rescanned_chunks;
	u64 precleaned_pages;
	u64 rescanned_pages;
	struct list_head released;	/* empty chunks to give back */
	/*
	 * Finalization and weak references (finalize.c), under @lock. Keys
	 * are arena offsets / 8 (objects) and user addresses / 8 (weak
	 * references); values are xa_mk_value()s.
	 */
	struct xarray finalizers;	/* object -> GCMEM_FINALIZER_* order */
	struct xarray ready;		/* objects waiting for FINALIZE */
	u64 nready;
	struct xarray weak[2];		/* short, long: link -> object */
	struct dentry *debugfs;		/* gcmem/<tgid>.<n>/ */
	pid_t tgid;			/* the owner's, for traces */
	/*
	 * A zeroed chunk page for the heap's next growth (heap.c,
	 * gcmem_heap_spare_make()), so that the refill that grows the heap
	 * does not zero 2 MiB with heap->lock held while every other
	 * thread's refill waits. Not committed: outside the limit's count,
	 * though never made when the next chunk would pass the limit. Only a
	 * heap that grows keeps one (@spare_wanted: a chunk was made since
	 * the spare was; the thread that clears it makes the next); one that
	 * gives chunks back drops it. A growth that finds none lets
	 * heap->lock go to make it (-EAGAIN from gcmem_pages_alloc()), unless
	 * the last attempt failed (@spare_failed): then it allocates under
	 * the lock, and fails as any allocation does. @spare and
	 * @spare_failed under @chunk_lock. At the struct's end: a field
	 * above moves the mark's hot ones (pahole). @spare is written
	 * with WRITE_ONCE: gcmem_heap_spare_grow() peeks at it without
	 * the lock.
	 */
	struct page *spare;
	atomic_t spare_wanted;
	bool spare_failed;

	/*
	 * Fast refills (alloc.c, gcmem_refill_fast()): a refill that takes a
	 * swept span from a central list runs beside heap->lock, under
	 * @central_lock alone. @central_lock protects every central list
	 * and, outside a sweep, the spans' idle flags; it nests inside
	 * heap->lock and nothing is taken under it.
	 *
	 * A holder of heap->lock that must not have a fast refill beside it
	 * (gcmem_heap_lock(): every one but the refills' and the large
	 * allocations' own, gcmem_heap_lock_beside(); and a cycle, from its
	 * start to its end) raises @fast_off and waits for @fast_inflight to
	 * drain (gcmem_fast_exclude()). A fast refill raises @fast_inflight,
	 * then (full barrier) reads @fast_off, @stopping and @sweeping, and
	 * takes the slow path if any is set: either the excluder sees the
	 * count or the refill sees the flag. @fast_off and @fast_excl are
	 * written under @lock, @fast_off read without it.
	 *
	 * The pacer's counters that a fast refill moves are kept as deltas
	 * beside it, folded in under heap->lock (gcmem_fast_fold()): at
	 * every exclusion, so that a holder that excludes fast refills reads
	 * them exact, and before the pacer reads them on the slow path.
	 */
	spinlock_t central_lock;
	int fast_off;
	bool fast_excl;			/* the holder of @lock raised @fast_off */
	atomic_t fast_inflight;
	wait_queue_head_t fast_wq;	/* @fast_inflight drained */
	struct {
		atomic64_t live;	/* of @live_bytes, may be negative */
		atomic64_t idle;	/* of @idle_bytes, the same */
		atomic64_t allocated;	/* of @small_allocated */
		atomic64_t refills;	/* of @refills */
	} fast;
};

/* heap.c */
struct gcmem_heap *gcmem_heap_create(struct mm_struct *mm);
void gcmem_heap_bind(struct gcmem_heap *heap, struct mm_struct *mm);
struct gcmem_chunk *gcmem_chunk_get(struct gcmem_heap *heap,
				    unsigned long index, struct page *share);
struct page *gcmem_chunk_page_alloc(void);
void gcmem_heap_spare_make(struct gcmem_heap *heap);
void gcmem_heap_spare_grow(struct gcmem_heap *heap);
void gcmem_heap_put(struct gcmem_heap *heap);
int gcmem_heap_lock(struct gcmem_heap *heap);
int gcmem_heap_lock_beside(struct gcmem_heap *heap);
void gcmem_heap_unlock(struct gcmem_heap *heap);
int gcmem_heap_lock_idle(struct gcmem_heap *heap);
void gcmem_fast_exclude(struct gcmem_heap *heap);
void gcmem_fast_allow(struct gcmem_heap *heap);
void gcmem_fast_fold(struct gcmem_heap *heap);
void gcmem_chunks_release(struct gcmem_heap *heap);
bool gcmem_heap_owned(const struct gcmem_heap *heap);
int gcmem_heap_set_limit(struct gcmem_heap *heap, u64 limit);
int gcmem_heap_arena_init(struct gcmem_heap *heap, unsigned long start,
			  unsigned long len, bool map);
struct gcmem_chunk *gcmem_chunk_fault(struct gcmem_heap *heap,
				      unsigned long index);
long gcmem_pages_alloc(struct gcmem_heap *heap, unsigned long npages);
void gcmem_pages_free(struct gcmem_heap *heap, unsigned long start,
		      unsigned long npages);
void gcmem_chunks_reserve_empty(struct gcmem_heap *heap, u64 keep);
void gcmem_heap_zero(struct gcmem_heap *heap, u64 off, u64 len);
void gcmem_heap_stats(struct gcmem_heap *heap, struct gcmem_stats *st);

/* The chunk at arena offset @off (< arena_size), or NULL. */
static inline struct gcmem_chunk *gcmem_chunk_of(struct gcmem_heap *heap,
						 u64 off)
{
	return READ_ONCE(heap->chunk_tab[off >> GCMEM_CHUNK_SHIFT]);
}

/*
 * Is @chunk shared with a fork's copy, for a kernel writer without
 * chunk_lock? Clear, it stays so under heap->lock, and @base and the user
 * mappings are the heap's own page's (gcmem_chunk_unshare()).
 */
static inline bool gcmem_chunk_cow(struct gcmem_chunk *chunk)
{
	/* Pairs with the release in gcmem_chunk_unshare(). */
	return smp_load_acquire(&chunk->cow);
}

/*
 * The span holding arena offset @off (< arena_size), or NULL: only the
 * allocator's (owned) chunks have spans. Under heap->lock.
 */
static inline struct gcmem_span *gcmem_span_of(struct gcmem_heap *heap,
					       u64 off)
{
	struct gcmem_chunk *chunk = gcmem_chunk_of(heap, off);

	return chunk && chunk->owned ?
	       chunk->spans[(off >> GCMEM_PAGE_SHIFT) % GCMEM_CHUNK_PAGES] :
	       NULL;
}

/* The arena's start, 0 while it is not mapped. */
static inline unsigned long gcmem_arena_start(struct gcmem_heap *heap)
{
	/* Pairs with the release in gcmem_heap_arena_init(). */
	return smp_load_acquire(&heap->arena_start);
}

/* bitmap.c */
void gcmem_span_set_ptrbits(struct gcmem_heap *heap, struct gcmem_span *span,
			    const struct gcmem_type *type);
void gcmem_get_ptrbits(struct gcmem_heap *heap, u64 off, u64 *out,
		       u32 nwords);

/* types.c */
int gcmem_type_register(struct gcmem_heap *heap,
			struct gcmem_type_register *arg);
int gcmem_type_lookup(struct gcmem_heap *heap, u32 id,
		      const struct gcmem_type **type);
void gcmem_types_destroy(struct gcmem_heap *heap);

/* alloc.c */
int gcmem_refill(struct gcmem_heap *heap, struct gcmem_refill *arg);
int gcmem_alloc_large(struct gcmem_heap *heap, struct gcmem_alloc_large *arg);
u32 gcmem_span_settle(struct gcmem_span *span);
void gcmem_span_return(struct gcmem_heap *heap, struct gcmem_span *span);
int gcmem_free(struct gcmem_heap *heap, struct gcmem_free *arg);
void gcmem_span_free(struct gcmem_heap *heap, struct gcmem_span *span);
void gcmem_spans_trim(struct gcmem_heap *heap);
struct list_head *gcmem_central(struct gcmem_heap *heap, u32 size_class,
				u32 type_id, bool create);
u32 gcmem_span_cursor(const struct gcmem_span *span);
bool gcmem_span_cached_allocated(const struct gcmem_span *span, u32 idx);

/*
 * Is slot @idx of @span allocated? Its alloc bit says so, or the span is
 * cached and the slot lies in [cursor at handout, cursor now): sweep moves
 * the handout cursor up when it settles the slots below the cursor.
 */
static inline bool gcmem_span_slot_allocated(const struct gcmem_span *span,
					     u32 idx)
{
	if (test_bit(idx, span->allocbits))
		return true;
	return span->state == GCMEM_SPAN_CACHED &&
	       gcmem_span_cached_allocated(span, idx);
}

void gcmem_spans_destroy(struct gcmem_heap *heap);

/* query.c */
struct gcmem_span *gcmem_object_at(struct gcmem_heap *heap, u64 off,
				   u32 *idx);
int gcmem_query(struct gcmem_heap *heap, struct gcmem_query *arg);

/* threads.c */
int gcmem_thread_register(struct gcmem_heap *heap,
			  struct gcmem_thread_register *arg);
int gcmem_thread_unregister(struct gcmem_heap *heap,
			    struct gcmem_thread_unregister *arg);
int gcmem_thread_slot_mmap(struct gcmem_heap *heap,
			   struct vm_area_struct *vma, u64 off);
void gcmem_threads_destroy(struct gcmem_heap *heap);
struct gcmem_thread *gcmem_thread_current(struct gcmem_heap *heap);
struct gcmem_thread *gcmem_stop_aside_begin(struct gcmem_heap *heap);
void gcmem_stop_aside_end(struct gcmem_thread *t);
void gcmem_thread_put(struct gcmem_thread *thread);

/* safepoint.c */
int gcmem_safepoint(struct gcmem_heap *heap, struct gcmem_thread *thread);
int gcmem_ioc_safepoint(struct gcmem_heap *heap, struct gcmem_thread_op *op);
int gcmem_blocking_leave(struct gcmem_heap *heap, struct gcmem_thread_op *op);
int gcmem_stop_the_world(struct gcmem_heap *heap, struct gcmem_thread *self);
void gcmem_ragged_scan(struct gcmem_heap *heap);
bool gcmem_ragged_wanted(struct gcmem_heap *heap, struct gcmem_thread *t);
void gcmem_start_the_world(struct gcmem_heap *heap);

/* mark.c */
void gcmem_mark_assist(struct gcmem_heap *heap, u64 bytes,
		       struct gcmem_thread *self);

/* collect.c */
int gcmem_collect(struct gcmem_heap *heap, struct gcmem_collect *arg);
int gcmem_collect_locked(struct gcmem_heap *heap, enum gcmem_gc_reason why);
int gcmem_collect_start(struct gcmem_heap *heap, enum gcmem_gc_reason why);
int gcmem_collect_init(void);
void gcmem_collect_exit(void);
void gcmem_set_phase(struct gcmem_heap *heap, enum gcmem_phase phase);
bool gcmem_allocating_black(struct gcmem_heap *heap);
void gcmem_handout_done(struct gcmem_heap *heap);
void gcmem_span_blacken(struct gcmem_heap *heap, struct gcmem_span *span,
			u32 from);

/* sweep.c */
void gcmem_sweep_start(struct gcmem_heap *heap, enum gcmem_gc_reason why);
bool gcmem_sweep_some(struct gcmem_heap *heap, unsigned long n,
		      bool in_pause);
bool gcmem_sweep_before_handout(struct gcmem_heap *heap,
				struct gcmem_span *span);

/* pace.c */
void gcmem_pace(struct gcmem_heap *heap, u64 live);
bool gcmem_pacer_wants_cycle(struct gcmem_heap *heap, u64 bytes);
bool gcmem_pacer_fast_ok(struct gcmem_heap *heap, u64 bytes);
int gcmem_set_gcpercent(struct gcmem_heap *heap, u64 pct);
void gcmem_pace_cycle(struct gcmem_heap *heap);
void gcmem_pace_mark_done(struct gcmem_heap *heap);
bool gcmem_pacer_must_wait(struct gcmem_heap *heap, u64 bytes);
void gcmem_pace_assist(struct gcmem_heap *heap, u64 bytes);
bool gcmem_pace_concurrent(struct gcmem_heap *heap);
u64 gcmem_pace_keep(struct gcmem_heap *heap);
void gcmem_pace_unallocated(struct gcmem_heap *heap, u64 bytes);
int gcmem_set_concurrent_min(struct gcmem_heap *heap, u64 bytes);
u64 gcmem_default_concurrent_min(void);
int gcmem_set_mode(struct gcmem_heap *heap, u64 mode);
enum gcmem_mode gcmem_default_mode(void);

/* roots.c */
int gcmem_root_add(struct gcmem_heap *heap, struct gcmem_root *arg);
int gcmem_root_remove(struct gcmem_heap *heap, struct gcmem_root *arg);
void gcmem_roots_destroy(struct gcmem_heap *heap);
bool gcmem_user_range_ok(struct gcmem_heap *heap, u64 start, u64 len);

/* arena.c */
int gcmem_mmap(struct file *file, struct vm_area_struct *vma);
struct vm_area_struct *gcmem_arena_vma(struct gcmem_heap *heap);

/* cow.c */
int gcmem_chunk_unshare(struct gcmem_heap *heap, struct gcmem_chunk *chunk,
			struct vm_area_struct *vma);
int gcmem_heap_unshare(struct gcmem_heap *heap, u64 off, u64 len);
void gcmem_heap_write_protect(struct gcmem_heap *heap);
void gcmem_chunks_put_stale(struct gcmem_heap *heap);

/* finalize.c */
int gcmem_finalizer(struct gcmem_heap *heap, struct gcmem_finalizer *arg);
int gcmem_finalize_take(struct gcmem_heap *heap, struct gcmem_finalize *arg);
int gcmem_weak(struct gcmem_heap *heap, struct gcmem_weak *arg);
void gcmem_finalize_forget(struct gcmem_heap *heap, u64 off, u64 size);
int gcmem_finalize_fork(struct gcmem_heap *heap, struct gcmem_heap *child);
void gcmem_finalize_destroy(struct gcmem_heap *heap);

/* fork.c */
int gcmem_fork(struct gcmem_heap *heap, struct gcmem_fork *arg);
int gcmem_adopt(struct gcmem_heap *heap, struct gcmem_adopt *arg);

/* main.c */
int gcmem_heap_fd(struct gcmem_heap *heap);

/* track.c */
enum gcmem_track_op {
	GCMEM_TRACK_ARM,
	GCMEM_TRACK_HARVEST,
	GCMEM_TRACK_DISARM,
	GCMEM_TRACK_STOP,
	GCMEM_TRACK_RELAX,
};

int gcmem_track(struct gcmem_heap *heap, enum gcmem_track_op op,
		unsigned long *written);
bool gcmem_track_write(struct gcmem_heap *heap, struct gcmem_chunk *chunk,
		       int page);
void gcmem_track_access(struct gcmem_heap *heap, struct gcmem_chunk *chunk,
			unsigned long off, unsigned long len);
unsigned long gcmem_track_npages(struct gcmem_heap *heap,
				 const unsigned long *written);
void gcmem_track_new_chunk(struct gcmem_heap *heap, struct gcmem_chunk *chunk);
void gcmem_track_refill(struct gcmem_heap *heap, u64 off);
bool gcmem_track_pmd_write(struct gcmem_heap *heap, struct gcmem_chunk *chunk);
void gcmem_track_debugfs_add(struct gcmem_heap *heap, struct dentry *dir);

/* stats.c */
void gcmem_heap_debugfs_add(struct gcmem_heap *heap);
void gcmem_heap_debugfs_remove(struct gcmem_heap *heap);
void gcmem_debugfs_init(void);
void gcmem_debugfs_exit(void);

/* ioctl.c */
long gcmem_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

#endif /* _GCMEM_H */
