/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libgcuser: the user-space side of gcmem.
 *
 * A process calls gcu_init() once: it opens /dev/gcmem, does the API
 * handshake, maps the heap's control page and arena, registers the calling
 * thread, and registers the program's globals (the writable segments of the
 * executable and of every shared object) as roots. Threads started after
 * gcu_init() are registered as they start -- with the shared library every
 * pthread_create() of the process is, with a static link those started by
 * gcu_pthread_create() (or pthread_create() under GCU_REDIRECT_PTHREAD) --
 * and unregistered when they exit. Any other thread is registered on its
 * first allocation or by gcu_thread_register(); until then its stack keeps
 * nothing alive.
 * gcu_shutdown() unmaps and closes everything, giving the heap's memory
 * back; no thread may use the heap after it. A child of fork() gets a copy
 * of the heap at the same addresses (GCU_FORK=0 in the environment: no
 * heap in the child).
 *
 * Environment: GCU_TRACE=1 (below), GCU_GLOBALS=0 (globals are not roots),
 * GCU_FORK=0 (fork() copies nothing).
 *
 * Allocation makes no system call on the fast path: each thread caches one
 * span per (size class, type) and takes its free slots with a 64-bit
 * allocation-bit window (count trailing zeros). Memory returned is always
 * zeroed, 16-byte aligned for sizes of 16 bytes and more.
 *
 * Errors are reported as -1 (or NULL) with errno set; the library never
 * aborts the process. ENXIO means gcu_init() has not been called.
 *
 * GCU_TRACE=1 in the environment prints one line per collection to stderr,
 * in the spirit of Go's GODEBUG=gctrace=1.
 */
#ifndef GCUSER_H
#define GCUSER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct gcu_heap_info - what gcu_init() negotiated and mapped
 * @fd: the heap's file descriptor
 * @features: enum gcmem_features supported by the kernel
 * @ioctls: supported ioctls, as in struct gcmem_handshake
 * @limit: the heap's memory limit, in bytes
 * @chunk_size: the unit in which arena memory is committed
 * @arena: start of the arena mapping
 * @arena_size: its length
 * @control: the read-only control page (struct gcmem_control)
 */
struct gcu_heap_info {
	int fd;
	uint64_t features;
	uint64_t ioctls;
	uint64_t limit;
	uint64_t chunk_size;
	void *arena;
	size_t arena_size;
	const volatile void *control;
};

/**
 * struct gcu_heap_stats - a snapshot of the heap's counters
 *
 * Same meaning as the fields of struct gcmem_stats.
 */
struct gcu_heap_stats {
	uint64_t committed;
	uint64_t peak_committed;
	uint64_t limit;
	uint64_t pmd_faults;
	uint64_t pte_faults;
	uint64_t limit_faults;
	uint64_t inuse_bytes;
	uint64_t spans;
	uint64_t refills;
	uint64_t large_objects;
	uint64_t small_allocated;
	uint32_t threads;
	uint32_t types;
	uint32_t roots;
	uint64_t cycles;
	uint64_t abandoned;
	uint64_t forced_stops;
	uint64_t pause_total_ns;
	uint64_t pause_max_ns;
	uint64_t pause_hist[24];
	uint64_t marked_bytes;
	uint64_t heap_before;
	uint64_t heap_after;
	uint64_t freed_bytes;
	uint64_t worker_ns;
	uint64_t checkmark_failures;
	uint64_t stop_total_ns;		/* completed cycles' phases */
	uint64_t mark_total_ns;
	uint64_t sweep_total_ns;
	uint64_t cow_copies;		/* chunks copied on write after fork */
	uint64_t pauses;		/* stop-the-world pauses */
	uint64_t concurrent_cycles;	/* completed cycles marked concurrently */
	uint64_t markterm_total_ns;	/* their second pause, before sweep */
	uint64_t rescanned_chunks;	/* written chunks scanned again */
	uint64_t track_faults;		/* write faults taken to track writes */
	uint64_t precleaned_chunks;	/* written chunks scanned during the mark */
	uint64_t concurrent_sweep_ns;	/* sweeping after a concurrent restart */
	uint64_t precleaned_pages;	/* their written pages (PAGE_SIZE) */
	uint64_t rescanned_pages;
	uint64_t swept_cycles;		/* the last cycle whose sweep is over */
	uint64_t ragged_scans;		/* stacks scanned beside the mark */
	uint64_t markterm_stop_ns;	/* markterm_total_ns: its stop, */
	uint64_t markterm_rescan_ns;	/* and its mark again */
	uint64_t split_chunks;		/* PMD chunks moved to PTEs, hot */
	uint64_t assist_marked;		/* objects marked by mark assists */
	uint64_t wait_ns;		/* requests waiting for a cycle's end */
	uint64_t waits;
	uint64_t alone_marks;		/* marks the kernel's driver did alone */
	uint64_t alone_handovers;	/* ... that the mark workers finished */
};

/* A registered type; GCU_TYPE_CONSERVATIVE and GCU_TYPE_NOSCAN are built in. */
typedef uint32_t gcu_type_t;
#define GCU_TYPE_CONSERVATIVE	((gcu_type_t)0)
#define GCU_TYPE_NOSCAN		((gcu_type_t)1)

/* Open and map the process's heap. Fails with EBUSY if already open. */
int gcu_init(void);
/*
 * gcu_init() with options: GCU_INIT_NO_GLOBALS leaves the program's
 * globals out of the roots (as GCU_GLOBALS=0 in the environment does), for
 * a program that registers its roots itself. Unknown flags: EINVAL.
 */
#define GCU_INIT_NO_GLOBALS	0x1u
int gcu_init_flags(unsigned int flags);
/*
 * dlopen() and dlclose() whose object's globals are roots (or no longer)
 * when they return. Plain dlopen() works too: the library notices the new
 * object at the next allocation slow path or collection, which leaves a
 * window in which another thread's collection does not scan the object's
 * globals yet.
 */
void *gcu_dlopen(const char *file, int mode);
int gcu_dlclose(void *handle);
/* Bytes of globals registered as roots (what each collection scans). */
size_t gcu_globals_bytes(void);
/* Unmap and close the heap; its memory goes back to the system. */
void gcu_shutdown(void);
/* The heap gcu_init() opened, or NULL (errno ENXIO) before it. */
const struct gcu_heap_info *gcu_heap(void);
/* Read the heap's counters. */
int gcu_stats(struct gcu_heap_stats *st);
/* Set the heap's memory limit in bytes (a multiple of the chunk size). */
int gcu_set_limit(uint64_t bytes);

/* Zeroed memory whose every word may hold a pointer (the C default). */
void *gcu_malloc(size_t size);
/* Zeroed memory that holds no pointers and is never scanned. */
void *gcu_malloc_atomic(size_t size);
/*
 * Register a type of @size bytes (a multiple of 8) whose pointer words are
 * the set bits of @ptrmask (bit i of ptrmask[i / 64] for word i).
 * Returns the type, or (gcu_type_t)-1 with errno set.
 */
gcu_type_t gcu_type_register(size_t size, const uint64_t *ptrmask);
/* One zeroed value of @type. */
void *gcu_malloc_typed(gcu_type_t type);
/* A zeroed array of @n values of @type; the type's mask repeats. */
void *gcu_malloc_typed_array(gcu_type_t type, size_t n);

/*
 * realloc(): the contents up to the smaller size are kept, growth is
 * zeroed; the kind (atomic, typed, uncollectable) is kept. @p NULL:
 * gcu_malloc(); @size 0: gcu_free() and NULL. EINVAL if @p is not the
 * start of an allocated object.
 */
void *gcu_realloc(void *p, size_t size);
/*
 * Free @p before a collection would: it must be the start of an allocated
 * object that nothing uses any more. NULL is a no-op; anything else that
 * is not an allocated object's start (a double free that was not
 * reallocated in between, a foreign or interior pointer) fails with EINVAL
 * and changes nothing. One system call.
 */
int gcu_free(void *p);
/* Pointer-free copies of a string (at most @n bytes of it). */
char *gcu_strdup(const char *s);
char *gcu_strndup(const char *s, size_t n);
/*
 * The start of the allocated object containing @p (an interior pointer is
 * fine), or NULL if @p is not in one; gcu_size() is that object's usable
 * size (its slot), or 0. No system call when the object lies in a span the
 * calling thread allocates from.
 */
void *gcu_base(const void *p);
size_t gcu_size(const void *p);
/*
 * Objects that are never collected: scanned like roots, kept until
 * gcu_free().
 */
void *gcu_malloc_uncollectable(size_t size);
void *gcu_malloc_atomic_uncollectable(size_t size);
/*
 * Large objects for which the program keeps a pointer into the first
 * 8 KiB (GCMEM_PAGE_SIZE): pointers further in do not keep them alive,
 * so that stray integers do not retain big buffers.
 */
void *gcu_malloc_ignore_off_page(size_t size);
void *gcu_malloc_atomic_ignore_off_page(size_t size);

/*
 * Finalizers. @fn(obj, cd) runs once @obj is found unreachable: after a
 * collection, in the next thread that allocates (outside any finalizer),
 * or in gcu_run_finalizers(). The object stays alive until @fn returned;
 * @fn may make it reachable again (it then has no finalizer unless
 * registered anew). @cd is kept alive with the registration. Order: an
 * object reachable from another unreachable object with a finalizer is
 * finalized after it, at a later collection (bdwgc's default); an object
 * reachable from itself is never finalized, unless registered with
 * GCU_FINALIZER_IGNORE_SELF (pointers from the object into itself do not
 * count) or GCU_FINALIZER_NO_ORDER (no order: finalized when unreachable
 * from the roots). @fn NULL takes the registration back. The previous
 * function and data go to *@ofn and *@ocd (NULL if none). @obj must be the
 * start of an allocated object (EINVAL).
 */
typedef void (*gcu_finalizer_fn)(void *obj, void *cd);
#define GCU_FINALIZER_NO_ORDER		0x1u
#define GCU_FINALIZER_IGNORE_SELF	0x2u
int gcu_register_finalizer(void *obj, gcu_finalizer_fn fn, void *cd,
			   gcu_finalizer_fn *ofn, void **ocd);
int gcu_register_finalizer_flags(void *obj, gcu_finalizer_fn fn, void *cd,
				 unsigned int flags, gcu_finalizer_fn *ofn,
				 void **ocd);
/* Run the finalizers that are ready; returns how many ran. */
int gcu_run_finalizers(void);
/* How many objects wait for their finalizer (one load, no call). */
size_t gcu_finalizers_ready(void);
/* 1: finalizers run only in gcu_run_finalizers(). Default 0. */
void gcu_set_finalize_on_demand(int on);
int gcu_get_finalize_on_demand(void);
/*
 * With finalize-on-demand on: @fn() is called once per collection that
 * left finalizers ready, in the next thread to leave an allocation slow
 * path (never inside a finalizer or a notifier), so that the program can
 * have them run where it wants. NULL: no notifier (the default).
 */
typedef void (*gcu_notifier_fn)(void);
void gcu_set_finalizer_notifier(gcu_notifier_fn fn);

/*
 * Weak references (bdwgc's disappearing links). The collector writes NULL
 * to *@link once @obj, the start of an allocated object, is unreachable:
 * at once (short), or with GCU_WEAK_LONG only once the object is freed
 * (after its finalizer, if it had one, ran). *@link itself is the
 * program's to set, somewhere the collector does not scan (pointer-free
 * memory, or a hidden value), or it keeps @obj alive. Registering @link
 * again makes it refer to @obj and returns 1; otherwise 0, or -1 (EINVAL:
 * @obj not an object's start, @link not 8-byte aligned). Unregistering a
 * link that is not registered fails with ENOENT.
 */
#define GCU_WEAK_LONG	0x1u
int gcu_weak_register(void **link, const void *obj, unsigned int flags);
int gcu_weak_unregister(void **link, unsigned int flags);
/*
 * The registration of @link becomes one of @new_link (a table that moves
 * its entries): ENOENT if @link has none, EEXIST if @new_link has one.
 */
int gcu_weak_move(void **link, void **new_link, unsigned int flags);

/* Scan [start, start + len) as roots, conservatively or by @type. */
int gcu_root_add(void *start, size_t len, gcu_type_t type);
/* Stop scanning the range added with this @start and @len. */
int gcu_root_remove(void *start, size_t len);

/* Run a full collection now; returns when it is over. */
int gcu_collect(void);
/*
 * Pacing: collect when the heap in use reaches (1 + percent / 100) times
 * what the last collection left; -1 collects only on request and at the
 * heap's limit. The default is 100.
 */
int gcu_set_gcpercent(int percent);
/*
 * How collections run: GCU_MODE_STW stops the world for the whole
 * collection; GCU_MODE_CONCURRENT stops it to scan the stacks, marks while
 * the program runs (the kernel tracks what it writes to the heap: no write
 * barrier in the program), and stops it again to finish the mark and
 * sweep. Threads keep allocating during the mark; gcu_free(), fork() and
 * gcu_collect() wait for it, and so does an allocation at the heap's
 * limit. Taken by the next collection; the default is the module's,
 * GCU_MODE_CONCURRENT unless it was loaded with concurrent=0. A concurrent
 * heap whose last collection marked less than gcu_set_concurrent_min()'s
 * bytes (default 1 MiB) collects stopped: there that costs less.
 */
#define GCU_MODE_STW		0
#define GCU_MODE_CONCURRENT	1
int gcu_set_mode(int mode);
/* 0: every collection of a GCU_MODE_CONCURRENT heap marks concurrently. */
int gcu_set_concurrent_min(uint64_t bytes);

/*
 * Safepoints. The collector stops the world by asking every registered
 * thread to call into the kernel; allocation slow paths do it, and a thread
 * that runs long without allocating should call gcu_safepoint() now and
 * then (it costs one load when no collection is waiting). A thread that is
 * late is stopped by the kernel anyway, so this is about latency, not
 * correctness. An event loop can instead poll gcu_event_fd(): it becomes
 * readable when the collector wants the thread to stop.
 */
void gcu_safepoint(void);
int gcu_event_fd(void);

/*
 * Bracket a call that may block for long (read(), poll(), a lock): between
 * the two the collector scans the thread's stack without waiting for it.
 * The thread must not touch heap memory in between.
 */
void gcu_blocking_enter(void);
void gcu_blocking_leave(void);

/*
 * pthread_create() that registers the new thread before @start runs (and
 * returns once it is registered). The shared library makes every
 * pthread_create() of the process this one; a static link calls it, or
 * defines GCU_REDIRECT_PTHREAD before including this header.
 */
int gcu_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
		       void *(*start)(void *), void *arg);

/*
 * A thread's result stays alive until the thread is joined or detached
 * through these (the shared library makes the C library's calls these; a
 * static link calls them, or uses GCU_REDIRECT_PTHREAD).
 */
int gcu_pthread_join(pthread_t thread, void **ret);
int gcu_pthread_detach(pthread_t thread);
__attribute__((noreturn)) void gcu_pthread_exit(void *value);

/* Register the calling thread (done on its first allocation otherwise). */
int gcu_thread_register(void);
/* Hand back the calling thread's spans and unregister it (done at exit). */
int gcu_thread_unregister(void);

#ifdef __cplusplus
}
#endif

#ifdef GCU_REDIRECT_PTHREAD
#undef pthread_create
#undef pthread_join
#undef pthread_detach
#undef pthread_exit
#define pthread_create gcu_pthread_create
#define pthread_join gcu_pthread_join
#define pthread_detach gcu_pthread_detach
#define pthread_exit gcu_pthread_exit
#endif

#endif /* GCUSER_H */
