// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgc.so.1: the parts of bdwgc's interface that reach into its collector
 * (gc_mark.h, thread suspension, toggle references, reachable-object
 * enumeration). gcmem's collector runs in the kernel and calls nothing in
 * the program, so:
 *  - calls that only work from inside bdwgc's marker (pushing, mark bits)
 *    and calls whose whole point is a callback from the collector that
 *    affects what survives (extra roots pushed by the program, disclaim
 *    procedures, suspension) abort with a message naming the call: a
 *    program that needs them cannot run correctly on gcmem, and must not
 *    run wrongly;
 *  - callbacks that are only informative, or whose absence only makes the
 *    collector keep more (mark procedures of a kind: its objects are
 *    scanned conservatively; static-roots filters: every segment is
 *    scanned), are accepted and never called.
 */
#include <stdio.h>

#include "compat.h"

typedef struct GC_ms_entry *(*GC_mark_proc)(GC_word *addr,
					    struct GC_ms_entry *top,
					    struct GC_ms_entry *limit,
					    GC_word env);
typedef void (*GC_push_other_roots_proc)(void);
typedef void (*GC_start_callback_proc)(void);
typedef void (*GC_describe_type_fn)(void *p, char *out);
typedef int (*GC_has_static_roots_func)(const char *name, void *start,
					size_t size);
typedef int (*GC_disclaim_proc)(void *obj);
typedef void (*GC_reachable_object_proc)(void *obj, size_t bytes, void *cd);
typedef enum { GC_TOGGLE_REF_DROP, GC_TOGGLE_REF_STRONG,
	       GC_TOGGLE_REF_WEAK } GC_ToggleRefStatus;
typedef GC_ToggleRefStatus (*GC_toggleref_func)(void *obj);

/* Prototypes for what only gc_mark.h and friends declare. */
unsigned int GC_new_proc(GC_mark_proc proc);
unsigned int GC_new_proc_inner(GC_mark_proc proc);
struct GC_ms_entry *GC_mark_and_push(void *obj, struct GC_ms_entry *top,
				     struct GC_ms_entry *limit, void **src);
void GC_push_all(void *bottom, void *top);
void GC_push_all_eager(void *bottom, void *top);
void GC_push_conditional(void *bottom, void *top, int all);
void GC_push_finalizer_structures(void);
void GC_set_push_other_roots(GC_push_other_roots_proc fn);
GC_push_other_roots_proc GC_get_push_other_roots(void);
void GC_set_start_callback(GC_start_callback_proc fn);
GC_start_callback_proc GC_get_start_callback(void);
void GC_register_describe_type_fn(int kind, GC_describe_type_fn fn);
void GC_register_has_static_roots_callback(GC_has_static_roots_func fn);
void GC_register_disclaim_proc(int kind, GC_disclaim_proc proc, int mark);
int GC_is_marked(const void *p);
void GC_set_mark_bit(const void *p);
void GC_clear_mark_bit(const void *p);
void GC_enumerate_reachable_objects_inner(GC_reachable_object_proc fn,
					  void *cd);
void GC_suspend_thread(pthread_t thread);
void GC_resume_thread(pthread_t thread);
int GC_is_thread_suspended(pthread_t thread);
void GC_stop_world_external(void);
void GC_start_world_external(void);
int GC_is_tmp_root(void *p);
void GC_set_toggleref_func(GC_toggleref_func fn);
GC_toggleref_func GC_get_toggleref_func(void);
int GC_toggleref_add(void *obj, int strong);
void GC_print_free_list(int kind, size_t granules);
void GC_noop1(GC_word x);
void GC_incr_bytes_allocd(size_t n);
void GC_incr_bytes_freed(size_t n);

void (*GC_push_other_roots)(void);
static GC_start_callback_proc gc_start_fn;
static GC_toggleref_func gc_toggleref_fn;
static unsigned int gc_nprocs;

/* A kind using the procedure is scanned conservatively (alloc.c). */
unsigned int GC_new_proc_inner(GC_mark_proc proc)
{
	(void)proc;
	return __atomic_fetch_add(&gc_nprocs, 1, __ATOMIC_RELAXED);
}

unsigned int GC_new_proc(GC_mark_proc proc)
{
	return GC_new_proc_inner(proc);
}

struct GC_ms_entry *GC_mark_and_push(void *obj, struct GC_ms_entry *top,
				     struct GC_ms_entry *limit, void **src)
{
	(void)obj, (void)top, (void)limit, (void)src;
	gc_unsupported("GC_mark_and_push");
}

void GC_push_all(void *bottom, void *top)
{
	(void)bottom, (void)top;
	gc_unsupported("GC_push_all");
}

void GC_push_all_eager(void *bottom, void *top)
{
	(void)bottom, (void)top;
	gc_unsupported("GC_push_all_eager");
}

void GC_push_conditional(void *bottom, void *top, int all)
{
	(void)bottom, (void)top, (void)all;
	gc_unsupported("GC_push_conditional");
}

void GC_push_finalizer_structures(void)
{
	gc_unsupported("GC_push_finalizer_structures");
}

/* Roots only a callback knows would be lost: refuse them. */
void GC_set_push_other_roots(GC_push_other_roots_proc fn)
{
	if (fn)
		gc_unsupported("GC_set_push_other_roots");
}

GC_push_other_roots_proc GC_get_push_other_roots(void)
{
	return NULL;
}

void GC_set_start_callback(GC_start_callback_proc fn)
{
	gc_start_fn = fn;
}

GC_start_callback_proc GC_get_start_callback(void)
{
	return gc_start_fn;
}

void GC_register_describe_type_fn(int kind, GC_describe_type_fn fn)
{
	(void)kind, (void)fn;
}

void GC_register_has_static_roots_callback(GC_has_static_roots_func fn)
{
	(void)fn;
}

void GC_register_disclaim_proc(int kind, GC_disclaim_proc proc, int mark)
{
	(void)kind, (void)proc, (void)mark;
	gc_unsupported("GC_register_disclaim_proc");
}

int GC_is_marked(const void *p)
{
	(void)p;
	gc_unsupported("GC_is_marked");
}

void GC_set_mark_bit(const void *p)
{
	(void)p;
	gc_unsupported("GC_set_mark_bit");
}

void GC_clear_mark_bit(const void *p)
{
	(void)p;
	gc_unsupported("GC_clear_mark_bit");
}

void GC_enumerate_reachable_objects_inner(GC_reachable_object_proc fn,
					  void *cd)
{
	(void)fn, (void)cd;
	gc_unsupported("GC_enumerate_reachable_objects_inner");
}

void GC_suspend_thread(pthread_t thread)
{
	(void)thread;
	gc_unsupported("GC_suspend_thread");
}

void GC_resume_thread(pthread_t thread)
{
	(void)thread;
	gc_unsupported("GC_resume_thread");
}

/* True: no thread is ever suspended by the program here. */
int GC_is_thread_suspended(pthread_t thread)
{
	(void)thread;
	return 0;
}

void GC_stop_world_external(void)
{
	gc_unsupported("GC_stop_world_external");
}

void GC_start_world_external(void)
{
	gc_unsupported("GC_start_world_external");
}

int GC_is_tmp_root(void *p)
{
	(void)p;
	return 0;
}

/* Toggle references: every reference stays strong (nothing is dropped). */
void GC_set_toggleref_func(GC_toggleref_func fn)
{
	gc_toggleref_fn = fn;
}

GC_toggleref_func GC_get_toggleref_func(void)
{
	return gc_toggleref_fn;
}

int GC_toggleref_add(void *obj, int strong)
{
	(void)obj, (void)strong;
	return GC_UNIMPLEMENTED;
}

void GC_print_free_list(int kind, size_t granules)
{
	GC_printf("***gcmem: no free lists (kind %d, %zu granules)\n", kind,
		  granules);
}

/* Keeps @x live to this point, as far as the compiler can tell. */
void GC_noop1(GC_word x)
{
	__asm__ __volatile__("" : : "r"(x) : "memory");
}

void GC_incr_bytes_allocd(size_t n)
{
	(void)n;
}

void GC_incr_bytes_freed(size_t n)
{
	(void)n;
}
