/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libgc.so.1 internals: what the files of libgcuser/gc/ share.
 *
 * The compatibility layer is a thin translation of bdwgc's calls into
 * libgcuser's; its only state of its own is bdwgc's tunables (the exported
 * variables, read when they can matter) and the callbacks.
 */
#ifndef GCMEM_GC_COMPAT_H
#define GCMEM_GC_COMPAT_H

#define GC_THREADS
#define GC_NO_THREAD_REDIRECTS
#include "gc.h"
#include "gc_typed.h"
#include "../internal.h"

/* The layer's own functions are not the program's to see or replace. */
#pragma GCC visibility push(hidden)

/* bdwgc's object kinds, as GC_generic_malloc() and friends number them. */
#define GC_KIND_PTRFREE		0
#define GC_KIND_NORMAL		1
#define GC_KIND_UNCOLLECTABLE	2
#define GC_KIND_AUNCOLLECTABLE	3
#define GC_KIND_FIRST_NEW	4	/* GC_new_kind() gives these out */
/*
 * A kind of the program's own: pointer-free when its descriptor says no
 * word holds a pointer, conservative otherwise (gcmem has no mark procs).
 */
int gc_kind_ptrfree(int kind);

#pragma GCC visibility pop

/*
 * Exported calls that only bdwgc's other headers (gc_mark.h, gc_gcj.h,
 * gc_disclaim.h) declare.
 */
void *GC_generic_malloc(size_t size, int kind);
void *GC_generic_malloc_ignore_off_page(size_t size, int kind);
void *GC_generic_malloc_uncollectable(size_t size, int kind);
void GC_generic_malloc_many(size_t size, int kind, void **result);
void *GC_malloc_kind(size_t size, int kind);
void *GC_malloc_kind_global(size_t size, int kind);
void *GC_generic_or_special_malloc(size_t size, int kind);
void *GC_debug_generic_or_special_malloc(size_t size, int kind,
					 const char *s, int i);
void **GC_new_free_list(void);
void **GC_new_free_list_inner(void);
unsigned int GC_new_kind(void **free_list, GC_word descr, int adjust,
			 int clear);
unsigned int GC_new_kind_inner(void **free_list, GC_word descr, int adjust,
			       int clear);
int GC_get_kind_and_size(const void *p, size_t *psize);
size_t GC_get_size_map_at(int i);
void GC_init_gcj_malloc(int mp_index, void *mp);
void *GC_gcj_malloc(size_t size, void *vtable);
void *GC_gcj_malloc_ignore_off_page(size_t size, void *vtable);
void *GC_debug_gcj_malloc(size_t size, void *vtable, const char *s, int i);
struct GC_finalizer_closure;
void GC_init_finalized_malloc(void);
void *GC_finalized_malloc(size_t size,
			  const struct GC_finalizer_closure *fc);
extern void *GC_objfreelist_ptr, *GC_aobjfreelist_ptr;
extern void *GC_uobjfreelist_ptr, *GC_auobjfreelist_ptr;
extern const size_t GC_debug_header_size;
extern int GC_gcj_kind, GC_gcj_debug_kind;
extern void (*GC_same_obj_print_proc)(void *p, void *q);
extern void (*GC_is_valid_displacement_print_proc)(void *p);
extern void (*GC_is_visible_print_proc)(void *p);
extern void (*GC_on_abort)(const char *msg);
extern char GC_arrays[];
extern void (*GC_push_other_roots)(void);
size_t GC_get_debug_header_size(void);

#pragma GCC visibility push(hidden)

/*
 * The layer's state: kinds, added roots, pacing, explicit frees. Taken
 * briefly, around at most one call into libgcuser; never with
 * gc_alloc_mutex (thread.c) to take after it. Held across fork().
 */
extern pthread_mutex_t gc_lock;
void gc_fork_init(void);

/* Open the heap at the first call that needs it (GC_init() not called). */
void gc_lazy_init(void);
static inline void gc_ready(void)
{
	if (unlikely(gcu.info.fd < 0))
		gc_lazy_init();
}

/* The allocation failed: what GC_oom_fn says (NULL by default). */
void *gc_oom(size_t size);
/* Through the program's warn proc: @msg has one %lu for @arg. */
void gc_warn(const char *msg, GC_word arg);
/* bdwgc's abort: the program's abort func, then abort(). */
__attribute__((noreturn)) void gc_abort(const char *msg);
/* An entry point gcmem cannot honour: say which, then gc_abort(). */
__attribute__((noreturn)) void gc_unsupported(const char *fn);
/* The collector's pacing from GC_dont_gc and the free space divisor. */
void gc_apply_pacing(void);
/* finalize.c: calls the program's GC_finalizer_notifier. */
void gc_notify(void);

#pragma GCC visibility pop

/* libgcuser/shared/interpose.c calls it before creating a thread. */
void gcu_lazy_init_hook(void);

#endif /* GCMEM_GC_COMPAT_H */
