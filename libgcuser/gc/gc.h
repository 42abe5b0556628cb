/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gc.h - bdwgc's interface on gcmem.
 *
 * The documented subset of the Boehm-Demers-Weiser collector's API (8.2),
 * for programs written against it: allocation, explicit free, roots,
 * collection control, finalizers, disappearing links and threads. The
 * functions live in gcmem's libgc.so.1, which exports every symbol that
 * Debian's libgc 8.2 exports, so that a binary built against bdwgc runs on
 * gcmem unchanged (gcmem-run PROGRAM, or LD_LIBRARY_PATH); the header is
 * for rebuilding such programs, or writing new ones, against gcmem.
 *
 * What differs from bdwgc (docs/bdwgc.md has the whole list):
 *  - every pointer into an object keeps it alive (GC_all_interior_pointers
 *    cannot be turned off; displacements need no registering);
 *  - the collector runs in the kernel and stops the world itself: there is
 *    no incremental mode, no mark procedure, no object kind of the
 *    program's own that is not scanned conservatively;
 *  - functions that only make sense inside bdwgc's collector (mark procs,
 *    pushing roots from a callback, thread suspension, enumerating
 *    reachable objects) abort with a message saying so; tunables that have
 *    no meaning here are kept and returned, and change nothing.
 * Threads: every thread of a process that loads libgc.so.1 is registered
 * as it starts, whoever creates it; GC_THREADS's renaming of
 * pthread_create() and friends is kept for programs linked statically.
 */
#ifndef GCMEM_GC_H
#define GCMEM_GC_H
#define GC_H			/* bdwgc's other headers test for it */

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Decorations bdwgc's headers put on declarations, which programs and
 * bdwgc's C++ headers (gc_cpp.h, gc_allocator.h) use too. A program may
 * define GC_ATTR_ALLOC_SIZE itself.
 */
#ifndef GC_API
#define GC_API		extern
#endif
#define GC_CALL
#define GC_CALLBACK
#define GC_GNUC_PREREQ(major, minor) \
	((__GNUC__ << 8) + __GNUC_MINOR__ >= ((major) << 8) + (minor))
#define GC_ATTR_MALLOC		__attribute__((__malloc__))
#ifndef GC_ATTR_ALLOC_SIZE
#define GC_ATTR_ALLOC_SIZE(n)	__attribute__((__alloc_size__(n)))
#endif
#define GC_ATTR_NONNULL(n)	__attribute__((__nonnull__(n)))
#define GC_ATTR_NORETURN	__attribute__((__noreturn__))
#define GC_ATTR_CONST		__attribute__((__const__))
#define GC_ATTR_DEPRECATED
#define GC_ATTR_UNUSED		__attribute__((__unused__))
#ifdef __cplusplus
#define GC_ATTR_EXPLICIT	explicit
#define GC_NOEXCEPT		noexcept
#else
#define GC_ATTR_EXPLICIT
#define GC_NOEXCEPT
#endif

/* The bdwgc release whose ABI this is. */
#define GC_VERSION_MAJOR	8
#define GC_VERSION_MINOR	2
#define GC_VERSION_MICRO	2

typedef unsigned long GC_word;
typedef long GC_signed_word;
typedef GC_word GC_hidden_pointer;
typedef void *GC_PTR;

/* Threads: GC_THREADS is all there is on Linux; bdwgc spells it both ways. */
#if defined(GC_THREADS) && !defined(GC_PTHREADS)
#define GC_PTHREADS
#endif

/* Results of the registering functions. */
#define GC_SUCCESS		0
#define GC_DUPLICATE		1	/* already registered */
#define GC_NO_MEMORY		2
#define GC_UNIMPLEMENTED	3	/* not on gcmem */
#define GC_NOT_FOUND		4

/*
 * Starting up. GC_INIT() may be called from any thread, or not at all.
 * As in bdwgc, a program may define GC_MAXIMUM_HEAP_SIZE (the heap's
 * limit, in bytes), GC_INITIAL_HEAP_SIZE (accepted; memory is committed
 * as it is used) and GC_IGNORE_WARN (no warnings) before including gc.h.
 */
GC_API void GC_init(void);
GC_API int GC_is_init_called(void);
GC_API void GC_deinit(void);
#ifdef GC_MAXIMUM_HEAP_SIZE
#define GC_INIT_MAX_HEAP()	GC_set_max_heap_size(GC_MAXIMUM_HEAP_SIZE)
#else
#define GC_INIT_MAX_HEAP()	((void)0)
#endif
#ifdef GC_IGNORE_WARN
#define GC_INIT_WARN()		GC_set_warn_proc(GC_ignore_warn_proc)
#else
#define GC_INIT_WARN()		((void)0)
#endif
#ifdef GC_INITIAL_HEAP_SIZE
#define GC_INIT_HEAP()		((void)GC_expand_hp(GC_INITIAL_HEAP_SIZE))
#else
#define GC_INIT_HEAP()		((void)0)
#endif
#define GC_INIT() \
	do { \
		GC_INIT_MAX_HEAP(); \
		GC_init(); \
		GC_INIT_WARN(); \
		GC_INIT_HEAP(); \
	} while (0)

/* Allocation. Every object comes back zeroed. */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_malloc(size_t size);
/* No pointers in it: never scanned. */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1)
void *GC_malloc_atomic(size_t size);
/* Never collected; scanned as a root; freed with GC_free() only. */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1)
void *GC_malloc_uncollectable(size_t size);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1)
void *GC_malloc_atomic_uncollectable(size_t size);
/* Large objects only a pointer near their start keeps alive. */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1)
void *GC_malloc_ignore_off_page(size_t size);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1)
void *GC_malloc_atomic_ignore_off_page(size_t size);
/* Kept for old programs: plain GC_malloc(); the stubborn calls do nothing. */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1)
void *GC_malloc_stubborn(size_t size);
GC_API void GC_change_stubborn(const void *p);
GC_API void GC_end_stubborn_change(const void *p);
/* Aligned to @align, a power of two. */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(2)
void *GC_memalign(size_t align, size_t size);
GC_API int GC_posix_memalign(void **memptr, size_t align, size_t size);
/* A list of objects of @size linked through their first word. */
GC_API void *GC_malloc_many(size_t size);
#define GC_NEXT(p)	(*(void **)(p))
/*
 * As realloc(): contents kept up to the smaller size, growth zeroed, the
 * kind kept; NULL @p allocates, size 0 frees.
 */
GC_API void *GC_realloc(void *p, size_t size) GC_ATTR_ALLOC_SIZE(2);
/*
 * Free an object before the collector would. Anything that is not the
 * start of an allocated object (a double free, a foreign pointer) is
 * ignored.
 */
GC_API void GC_free(void *p);
GC_API GC_ATTR_MALLOC char *GC_strdup(const char *s);
GC_API GC_ATTR_MALLOC char *GC_strndup(const char *s, size_t n);

/* The object containing @p, and its usable size. */
GC_API void *GC_base(void *p);
GC_API size_t GC_size(const void *p);
GC_API int GC_is_heap_ptr(const void *p);

/* The allocation macros; GC_DEBUG selects the GC_debug_ variants. */
#define GC_EXTRAS	__FILE__, __LINE__
#ifdef GC_DEBUG
#define GC_MALLOC(n)			GC_debug_malloc(n, GC_EXTRAS)
#define GC_MALLOC_ATOMIC(n)		GC_debug_malloc_atomic(n, GC_EXTRAS)
#define GC_MALLOC_UNCOLLECTABLE(n) \
	GC_debug_malloc_uncollectable(n, GC_EXTRAS)
#define GC_MALLOC_ATOMIC_UNCOLLECTABLE(n) \
	GC_debug_malloc_atomic_uncollectable(n, GC_EXTRAS)
#define GC_MALLOC_IGNORE_OFF_PAGE(n) \
	GC_debug_malloc_ignore_off_page(n, GC_EXTRAS)
#define GC_MALLOC_ATOMIC_IGNORE_OFF_PAGE(n) \
	GC_debug_malloc_atomic_ignore_off_page(n, GC_EXTRAS)
#define GC_REALLOC(p, n)		GC_debug_realloc(p, n, GC_EXTRAS)
#define GC_FREE(p)			GC_debug_free(p)
#define GC_STRDUP(s)			GC_debug_strdup(s, GC_EXTRAS)
#define GC_STRNDUP(s, n)		GC_debug_strndup(s, n, GC_EXTRAS)
#define GC_REGISTER_FINALIZER(p, f, d, of, od) \
	GC_debug_register_finalizer(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_IGNORE_SELF(p, f, d, of, od) \
	GC_debug_register_finalizer_ignore_self(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_NO_ORDER(p, f, d, of, od) \
	GC_debug_register_finalizer_no_order(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_UNREACHABLE(p, f, d, of, od) \
	GC_debug_register_finalizer_unreachable(p, f, d, of, od)
#else
#define GC_MALLOC(n)			GC_malloc(n)
#define GC_MALLOC_ATOMIC(n)		GC_malloc_atomic(n)
#define GC_MALLOC_UNCOLLECTABLE(n)	GC_malloc_uncollectable(n)
#define GC_MALLOC_ATOMIC_UNCOLLECTABLE(n) GC_malloc_atomic_uncollectable(n)
#define GC_MALLOC_IGNORE_OFF_PAGE(n)	GC_malloc_ignore_off_page(n)
#define GC_MALLOC_ATOMIC_IGNORE_OFF_PAGE(n) \
	GC_malloc_atomic_ignore_off_page(n)
#define GC_REALLOC(p, n)		GC_realloc(p, n)
#define GC_FREE(p)			GC_free(p)
#define GC_STRDUP(s)			GC_strdup(s)
#define GC_STRNDUP(s, n)		GC_strndup(s, n)
#define GC_REGISTER_FINALIZER(p, f, d, of, od) \
	GC_register_finalizer(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_IGNORE_SELF(p, f, d, of, od) \
	GC_register_finalizer_ignore_self(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_NO_ORDER(p, f, d, of, od) \
	GC_register_finalizer_no_order(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_UNREACHABLE(p, f, d, of, od) \
	GC_register_finalizer_unreachable(p, f, d, of, od)
#endif
#define GC_NEW(t)		((t *)GC_MALLOC(sizeof(t)))
#define GC_NEW_ATOMIC(t)	((t *)GC_MALLOC_ATOMIC(sizeof(t)))
#define GC_NEW_UNCOLLECTABLE(t)	((t *)GC_MALLOC_UNCOLLECTABLE(sizeof(t)))
#define GC_MALLOC_STUBBORN(n)	GC_MALLOC(n)
#define GC_NEW_STUBBORN(t)	GC_NEW(t)
#define GC_CHANGE_STUBBORN(p)	GC_change_stubborn(p)
#define GC_END_STUBBORN_CHANGE(p) GC_end_stubborn_change(p)
#define GC_GENERAL_REGISTER_DISAPPEARING_LINK(l, o) \
	GC_general_register_disappearing_link(l, o)
#define GC_REGISTER_LONG_LINK(l, o)	GC_register_long_link(l, o)
#define GC_REGISTER_DISPLACEMENT(n)	GC_register_displacement(n)
#define GC_PTR_ADD(p, n)	((p) + (n))
#define GC_PRE_INCR(p, n)	((p) += (n))
#define GC_POST_INCR(p, n)	(((p) += (n)) - (n))
#define GC_PTR_STORE(p, q)	(*(void **)(p) = (q))
#define GC_PTR_STORE_AND_DIRTY(p, q)	GC_ptr_store_and_dirty(p, q)
#define GC_reachable_here(p)	__asm__ __volatile__(" " : : "X"(p) : "memory")

/* The same, with the caller's file and line (not kept here). */
GC_API void *GC_debug_malloc(size_t size, const char *s, int i);
GC_API void *GC_debug_malloc_atomic(size_t size, const char *s, int i);
GC_API void *GC_debug_malloc_uncollectable(size_t size, const char *s, int i);
GC_API void *GC_debug_malloc_atomic_uncollectable(size_t size, const char *s,
						  int i);
GC_API void *GC_debug_malloc_ignore_off_page(size_t size, const char *s,
					     int i);
GC_API void *GC_debug_malloc_atomic_ignore_off_page(size_t size,
						    const char *s, int i);
GC_API void *GC_debug_malloc_stubborn(size_t size, const char *s, int i);
GC_API void *GC_debug_realloc(void *p, size_t size, const char *s, int i);
GC_API void GC_debug_free(void *p);
GC_API char *GC_debug_strdup(const char *str, const char *s, int i);
GC_API char *GC_debug_strndup(const char *str, size_t n, const char *s,
			      int i);
GC_API void *GC_debug_malloc_replacement(size_t size);
GC_API void *GC_debug_realloc_replacement(void *p, size_t size);
GC_API void GC_debug_change_stubborn(const void *p);
GC_API void GC_debug_end_stubborn_change(const void *p);
GC_API void GC_debug_ptr_store_and_dirty(void *p, const void *q);
GC_API void GC_ptr_store_and_dirty(void *p, const void *q);

/* Pointer arithmetic checks of bdwgc's debugging builds: here identity. */
GC_API void *GC_same_obj(void *p, void *q);
GC_API void *GC_pre_incr(void **p, ptrdiff_t how_much);
GC_API void *GC_post_incr(void **p, ptrdiff_t how_much);
GC_API void *GC_is_visible(void *p);
GC_API void *GC_is_valid_displacement(void *p);
GC_API void GC_register_displacement(size_t offset);
GC_API void GC_debug_register_displacement(size_t offset);

/* Roots beyond the stacks, registers and writable segments. */
GC_API void GC_add_roots(void *low, void *high_plus_1);
GC_API void GC_remove_roots(void *low, void *high_plus_1);
GC_API void GC_clear_roots(void);
GC_API void GC_exclude_static_roots(void *low, void *high_plus_1);
GC_API void *GC_dlopen(const char *path, int mode);

/* Collecting. */
typedef int (*GC_stop_func)(void);
GC_API void GC_gcollect(void);
GC_API void GC_gcollect_and_unmap(void);
GC_API int GC_try_to_collect(GC_stop_func stop);
GC_API int GC_collect_a_little(void);
/* Nested: collection is off while GC_dont_gc is above zero. */
GC_API void GC_disable(void);
GC_API void GC_enable(void);
GC_API int GC_is_disabled(void);
/* No incremental mode: these are accepted and change nothing. */
GC_API void GC_enable_incremental(void);
GC_API int GC_is_incremental_mode(void);
GC_API void GC_start_incremental_collection(void);
#define GC_PROTECTS_NONE	0
GC_API int GC_incremental_protection_needs(void);
GC_API int GC_expand_hp(size_t bytes);
GC_API void GC_set_max_heap_size(GC_word bytes);
GC_API void *GC_clear_stack(void *p);

/* Tunables, as variables (read at GC_init() and at each collection). */
GC_API int GC_all_interior_pointers;	/* 1, always */
GC_API int GC_java_finalization;	/* 1 */
GC_API GC_word GC_free_space_divisor;	/* 3 */
GC_API int GC_dont_gc;
GC_API int GC_dont_expand;
GC_API int GC_dont_precollect;
GC_API int GC_finalize_on_demand;
GC_API int GC_find_leak;
GC_API int GC_full_freq;
GC_API int GC_no_dls;
GC_API int GC_parallel;
GC_API int GC_use_entire_heap;
GC_API GC_word GC_gc_no;		/* completed collections */
GC_API GC_word GC_max_retries;
GC_API GC_word GC_non_gc_bytes;
GC_API unsigned long GC_time_limit;
GC_API char *GC_stackbottom;
GC_API void *GC_least_plausible_heap_addr;
GC_API void *GC_greatest_plausible_heap_addr;
#define GC_TIME_UNLIMITED	999999

/* ... and as functions. */
GC_API void GC_set_all_interior_pointers(int on);
GC_API int GC_get_all_interior_pointers(void);
GC_API void GC_set_java_finalization(int on);
GC_API int GC_get_java_finalization(void);
GC_API void GC_set_free_space_divisor(GC_word d);
GC_API GC_word GC_get_free_space_divisor(void);
GC_API void GC_set_dont_expand(int on);
GC_API int GC_get_dont_expand(void);
GC_API void GC_set_dont_precollect(int on);
GC_API int GC_get_dont_precollect(void);
GC_API void GC_set_finalize_on_demand(int on);
GC_API int GC_get_finalize_on_demand(void);
GC_API void GC_set_find_leak(int on);
GC_API int GC_get_find_leak(void);
GC_API void GC_set_full_freq(int n);
GC_API int GC_get_full_freq(void);
GC_API void GC_set_no_dls(int on);
GC_API int GC_get_no_dls(void);
GC_API void GC_set_max_retries(GC_word n);
GC_API GC_word GC_get_max_retries(void);
GC_API void GC_set_non_gc_bytes(GC_word n);
GC_API GC_word GC_get_non_gc_bytes(void);
GC_API void GC_set_time_limit(unsigned long ms);
GC_API unsigned long GC_get_time_limit(void);
struct GC_timeval_s {
	unsigned long tv_ms;
	unsigned long tv_nsec;
};
GC_API void GC_set_time_limit_tv(struct GC_timeval_s tv);
GC_API struct GC_timeval_s GC_get_time_limit_tv(void);
GC_API void GC_set_disable_automatic_collection(int on);
GC_API int GC_get_disable_automatic_collection(void);
GC_API void GC_set_force_unmap_on_gcollect(int on);
GC_API int GC_get_force_unmap_on_gcollect(void);
GC_API void GC_set_pages_executable(int on);
GC_API int GC_get_pages_executable(void);
GC_API void GC_set_handle_fork(int on);
GC_API void GC_set_rate(int rate);
GC_API int GC_get_rate(void);
GC_API void GC_set_max_prior_attempts(int n);
GC_API int GC_get_max_prior_attempts(void);
GC_API void GC_set_min_bytes_allocd(size_t n);
GC_API size_t GC_get_min_bytes_allocd(void);
GC_API void GC_set_markers_count(unsigned int n);
GC_API void GC_start_mark_threads(void);
GC_API int GC_get_parallel(void);
GC_API void GC_set_manual_vdb_allowed(int on);
GC_API int GC_get_manual_vdb_allowed(void);
GC_API void GC_set_stop_func(GC_stop_func stop);
GC_API GC_stop_func GC_get_stop_func(void);
GC_API unsigned int GC_get_version(void);

/* What the heap holds. */
GC_API size_t GC_get_heap_size(void);
GC_API size_t GC_get_free_bytes(void);
GC_API size_t GC_get_unmapped_bytes(void);
GC_API size_t GC_get_bytes_since_gc(void);
GC_API size_t GC_get_expl_freed_bytes_since_gc(void);
GC_API size_t GC_get_total_bytes(void);
GC_API size_t GC_get_obtained_from_os_bytes(void);
GC_API size_t GC_get_memory_use(void);
GC_API GC_word GC_get_gc_no(void);
GC_API unsigned long GC_get_full_gc_total_time(void);
GC_API void GC_start_performance_measurement(void);
GC_API void GC_get_heap_usage_safe(GC_word *heap_size, GC_word *free_bytes,
				   GC_word *unmapped_bytes,
				   GC_word *bytes_since_gc,
				   GC_word *total_bytes);
struct GC_prof_stats_s {
	GC_word heapsize_full;
	GC_word free_bytes_full;
	GC_word unmapped_bytes;
	GC_word bytes_allocd_since_gc;
	GC_word allocd_bytes_before_gc;
	GC_word non_gc_bytes;
	GC_word gc_no;
	GC_word markers_m1;
	GC_word bytes_reclaimed_since_gc;
	GC_word reclaimed_bytes_before_gc;
	GC_word expl_freed_bytes_since_gc;
	GC_word obtained_from_os_bytes;
};
GC_API size_t GC_get_prof_stats(struct GC_prof_stats_s *st, size_t size);
GC_API size_t GC_get_prof_stats_unsafe(struct GC_prof_stats_s *st,
				       size_t size);
GC_API void GC_dump(void);
GC_API void GC_dump_named(const char *name);
GC_API void GC_dump_regions(void);
GC_API void GC_dump_finalization(void);

/* Callbacks. */
typedef void (*GC_warn_proc)(char *msg, GC_word arg);
GC_API void GC_set_warn_proc(GC_warn_proc fn);
GC_API GC_warn_proc GC_get_warn_proc(void);
GC_API void GC_ignore_warn_proc(char *msg, GC_word arg);
typedef void *(*GC_oom_func)(size_t bytes);
GC_API GC_oom_func GC_oom_fn;
GC_API void GC_set_oom_fn(GC_oom_func fn);
GC_API GC_oom_func GC_get_oom_fn(void);
GC_API void GC_abort_on_oom(void);
typedef void (*GC_abort_func)(const char *msg);
GC_API void GC_set_abort_func(GC_abort_func fn);
GC_API GC_abort_func GC_get_abort_func(void);
typedef void (*GC_on_heap_resize_proc)(GC_word new_size);
GC_API GC_on_heap_resize_proc GC_on_heap_resize;
GC_API void GC_set_on_heap_resize(GC_on_heap_resize_proc fn);
GC_API GC_on_heap_resize_proc GC_get_on_heap_resize(void);
typedef enum {
	GC_EVENT_START,
	GC_EVENT_MARK_START,
	GC_EVENT_MARK_END,
	GC_EVENT_RECLAIM_START,
	GC_EVENT_RECLAIM_END,
	GC_EVENT_END,
	GC_EVENT_PRE_STOP_WORLD,
	GC_EVENT_POST_STOP_WORLD,
	GC_EVENT_PRE_START_WORLD,
	GC_EVENT_POST_START_WORLD,
	GC_EVENT_THREAD_SUSPENDED,
	GC_EVENT_THREAD_UNSUSPENDED
} GC_EventType;
/* Called at the start and end of the collections GC_gcollect() runs. */
typedef void (*GC_on_collection_event_proc)(GC_EventType ev);
GC_API void GC_set_on_collection_event(GC_on_collection_event_proc fn);
GC_API GC_on_collection_event_proc GC_get_on_collection_event(void);
typedef void (*GC_on_thread_event_proc)(GC_EventType ev, void *thread);
GC_API void GC_set_on_thread_event(GC_on_thread_event_proc fn);
GC_API GC_on_thread_event_proc GC_get_on_thread_event(void);

/*
 * Finalizers: @fn(obj, cd) runs once @obj is unreachable, after the
 * finalizers of the objects that reach it (GC_register_finalizer), or
 * ignoring its pointers to itself (_ignore_self), or in no order
 * (_no_order, _unreachable). @fn NULL takes it back. The previous @fn
 * and @cd go to *@ofn and *@ocd.
 */
typedef void (*GC_finalization_proc)(void *obj, void *cd);
GC_API void GC_register_finalizer(void *obj, GC_finalization_proc fn,
				  void *cd, GC_finalization_proc *ofn,
				  void **ocd);
GC_API void GC_register_finalizer_ignore_self(void *obj,
					      GC_finalization_proc fn,
					      void *cd,
					      GC_finalization_proc *ofn,
					      void **ocd);
GC_API void GC_register_finalizer_no_order(void *obj,
					   GC_finalization_proc fn, void *cd,
					   GC_finalization_proc *ofn,
					   void **ocd);
GC_API void GC_register_finalizer_unreachable(void *obj,
					      GC_finalization_proc fn,
					      void *cd,
					      GC_finalization_proc *ofn,
					      void **ocd);
GC_API void GC_debug_register_finalizer(void *obj, GC_finalization_proc fn,
					void *cd, GC_finalization_proc *ofn,
					void **ocd);
GC_API void GC_debug_register_finalizer_ignore_self(void *obj,
		GC_finalization_proc fn, void *cd, GC_finalization_proc *ofn,
		void **ocd);
GC_API void GC_debug_register_finalizer_no_order(void *obj,
		GC_finalization_proc fn, void *cd, GC_finalization_proc *ofn,
		void **ocd);
GC_API void GC_debug_register_finalizer_unreachable(void *obj,
		GC_finalization_proc fn, void *cd, GC_finalization_proc *ofn,
		void **ocd);
/* Run the finalizers that are ready; how many ran. */
GC_API int GC_invoke_finalizers(void);
GC_API int GC_should_invoke_finalizers(void);
/* Collect until no finalizer is ready, running them. */
GC_API void GC_finalize_all(void);
typedef void (*GC_finalizer_notifier_proc)(void);
GC_API GC_finalizer_notifier_proc GC_finalizer_notifier;
GC_API void GC_set_finalizer_notifier(GC_finalizer_notifier_proc fn);
GC_API GC_finalizer_notifier_proc GC_get_finalizer_notifier(void);
GC_API void GC_set_allocd_bytes_per_finalizer(GC_word n);
GC_API GC_word GC_get_allocd_bytes_per_finalizer(void);
typedef void (*GC_await_finalize_proc)(void *obj);
GC_API void GC_set_await_finalize_proc(GC_await_finalize_proc fn);
GC_API GC_await_finalize_proc GC_get_await_finalize_proc(void);

/*
 * Disappearing links: *@link is cleared when @obj becomes unreachable
 * (or, for a long link, once it is freed, after its finalizer). *@link
 * should hold @obj hidden (GC_HIDE_POINTER) or lie in memory the
 * collector does not scan.
 */
#define GC_HIDE_POINTER(p)	(~(GC_hidden_pointer)(p))
#define GC_REVEAL_POINTER(p)	((void *)GC_HIDE_POINTER(p))
#define HIDE_POINTER(p)		GC_HIDE_POINTER(p)
#define REVEAL_POINTER(p)	GC_REVEAL_POINTER(p)
GC_API int GC_general_register_disappearing_link(void **link,
						 const void *obj);
GC_API int GC_register_disappearing_link(void **link);
GC_API int GC_unregister_disappearing_link(void **link);
GC_API int GC_move_disappearing_link(void **link, void **new_link);
GC_API int GC_register_long_link(void **link, const void *obj);
GC_API int GC_unregister_long_link(void **link);
GC_API int GC_move_long_link(void **link, void **new_link);

/* Calling with the allocation lock, and without it. */
typedef void *(*GC_fn_type)(void *cd);
GC_API void *GC_call_with_alloc_lock(GC_fn_type fn, void *cd);
GC_API void GC_alloc_lock(void);
GC_API void GC_alloc_unlock(void);
#define GC_LOCK()	GC_alloc_lock()
#define GC_UNLOCK()	GC_alloc_unlock()
/*
 * Run @fn with the calling thread counted as blocked: its stack is
 * scanned without waiting for it, and @fn must not touch the heap.
 */
GC_API void *GC_do_blocking(GC_fn_type fn, void *cd);
GC_API void *GC_call_with_gc_active(GC_fn_type fn, void *cd);

/* Threads. */
struct GC_stack_base {
	void *mem_base;		/* where the stack starts: its highest address */
};
typedef void *(*GC_stack_base_func)(struct GC_stack_base *sb, void *arg);
GC_API void *GC_call_with_stack_base(GC_stack_base_func fn, void *arg);
GC_API int GC_get_stack_base(struct GC_stack_base *sb);
GC_API void *GC_get_my_stackbottom(struct GC_stack_base *sb);
GC_API void GC_set_stackbottom(void *thread, const struct GC_stack_base *sb);
GC_API void GC_allow_register_threads(void);
/* GC_SUCCESS, or GC_DUPLICATE if the thread was registered already. */
GC_API int GC_register_my_thread(const struct GC_stack_base *sb);
GC_API int GC_unregister_my_thread(void);
GC_API int GC_thread_is_registered(void);
GC_API void GC_register_altstack(void *stack, GC_word stack_size,
				 void *altstack, GC_word altstack_size);
GC_API void GC_set_suspend_signal(int sig);
GC_API int GC_get_suspend_signal(void);
GC_API void GC_set_thr_restart_signal(int sig);
GC_API int GC_get_thr_restart_signal(void);
GC_API void GC_atfork_prepare(void);
GC_API void GC_atfork_parent(void);
GC_API void GC_atfork_child(void);

#if defined(GC_THREADS) || defined(GC_PTHREADS)
#include <pthread.h>
#include <signal.h>
GC_API int GC_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
			     void *(*start)(void *), void *arg);
GC_API int GC_pthread_join(pthread_t thread, void **ret);
GC_API int GC_pthread_detach(pthread_t thread);
GC_API int GC_pthread_cancel(pthread_t thread);
GC_API void GC_pthread_exit(void *ret) GC_ATTR_NORETURN;
GC_API int GC_pthread_sigmask(int how, const sigset_t *set,
			      sigset_t *oset);
#ifndef GC_NO_THREAD_REDIRECTS
#undef pthread_create
#undef pthread_join
#undef pthread_detach
#undef pthread_cancel
#undef pthread_exit
#undef pthread_sigmask
#undef dlopen
#define pthread_create	GC_pthread_create
#define pthread_join	GC_pthread_join
#define pthread_detach	GC_pthread_detach
#define pthread_cancel	GC_pthread_cancel
#define pthread_exit	GC_pthread_exit
#define pthread_sigmask	GC_pthread_sigmask
#define dlopen		GC_dlopen
#endif
#endif

/* Output through the collector's channels. */
GC_API void GC_printf(const char *fmt, ...)
	__attribute__((__format__(__printf__, 1, 2)));
GC_API void GC_err_printf(const char *fmt, ...)
	__attribute__((__format__(__printf__, 1, 2)));
GC_API void GC_log_printf(const char *fmt, ...)
	__attribute__((__format__(__printf__, 1, 2)));
GC_API void GC_set_log_fd(int fd);

#ifdef __cplusplus
}
#endif

#endif /* GCMEM_GC_H */
