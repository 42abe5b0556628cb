/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libgcuser internals: the process's heap and each thread's span caches.
 */
#ifndef GCUSER_INTERNAL_H
#define GCUSER_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include <linux/gcmem.h>

#include "gcuser.h"

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

/*
 * struct gcu_span - a span cached by the thread at @cache_index.
 *
 * The thread takes free slots in index order. @cache holds the free bits of
 * the 64 slots from @window, with those below the next slot to take already
 * cleared; @bits are the span's alloc bits as the kernel handed them out.
 * After taking slot i the thread stores i + 1 into its slot page's cursor,
 * which is all the kernel needs to know what was allocated.
 *
 * Invariant: window % 64 == 0, and cache == 0 or window < nelems.
 */
struct gcu_span {
	uintptr_t base;
	uint32_t elem_size;
	uint32_t nelems;
	uint32_t window;
	uint32_t cache_index;
	uint64_t cache;
	uint32_t size_class;
	gcu_type_t type;
	uint64_t bits[GCMEM_PAGE_SIZE / 8 / 64];
};

/*
 * struct gcu_thread - a registered thread, reached through TLS.
 *
 * @kinds[type][class] is the span cached for (class, type), NULL before the
 * first allocation of that kind. Cache indexes are given out in order; when
 * all GCMEM_THREAD_CACHES are taken, the one after @evict is reused, which
 * hands its span back to the kernel at the next refill.
 */
struct gcu_thread {
	uint32_t id;
	uint64_t generation;
	int eventfd;
	struct gcmem_thread_slot *slot;
	uint32_t next_index;
	uint32_t evict;
	struct gcu_span *by_index[GCMEM_THREAD_CACHES];
	struct gcu_span **kinds[GCMEM_MAX_TYPES];
};

/* The process's heap; fields set by gcu_init() under gcu_lock. */
struct gcu_state {
	struct gcu_heap_info info;
	uint64_t generation;		/* bumped by every gcu_init() */
	uint32_t nclasses;
	uint32_t class_size[GCMEM_MAX_CLASSES];
	uint32_t class_nelems[GCMEM_MAX_CLASSES];
	/* Size class for (size + 7) / 8 up to 1024 bytes, then each 128. */
	uint8_t class_small[1024 / 8 + 1];
	uint8_t class_large[(GCMEM_SMALL_MAX - 1024) / 128 + 1];
	uint32_t type_size[GCMEM_MAX_TYPES];
};

extern struct gcu_state gcu;
extern pthread_mutex_t gcu_lock;
extern __thread struct gcu_thread *gcu_self
	__attribute__((tls_model("initial-exec")));

static inline uint32_t gcu_size_class(size_t size)
{
	if (size <= 1024)
		return gcu.class_small[(size + 7) / 8];
	return gcu.class_large[(size - 1024 + 127) / 128];
}

/*
 * The collector wants @t to call in (the world stopping, or a ragged scan
 * @t has not answered yet): one load on the fast path.
 */
static inline int gcu_stop_wanted(const struct gcu_thread *t)
{
	const struct gcmem_control *ctl =
		(const struct gcmem_control *)gcu.info.control;
	uint64_t e = __atomic_load_n(&ctl->safepoint_epoch, __ATOMIC_ACQUIRE);

	return (e & 1) &&
	       e != __atomic_load_n(&t->slot->answered_epoch, __ATOMIC_RELAXED);
}

/* collect.c */
void gcu_safepoint_slow(struct gcu_thread *t);
void gcu_trace_cycles(void);
extern int gcu_trace;

/* env.c */
int gcu_env_bytes(const char *s, uint64_t *bytes);
int gcu_option_set(uint32_t id, uint64_t val);
int gcu_env_apply(void);

/* thread.c */
void gcu_thread_forget_fork(void);
struct gcu_thread *gcu_thread_self_slow(void);
int gcu_thread_register_locked(void);
void gcu_thread_unregister_self(void);
int gcu_thread_init_key(void);

/*
 * static/real.c or shared/interpose.c: the C library's pthread_create(),
 * pthread_join(), pthread_detach() and pthread_exit(), which start.c wraps.
 */
int gcu_real_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
			    void *(*start)(void *), void *arg);
int gcu_real_pthread_join(pthread_t thread, void **ret);
int gcu_real_pthread_detach(pthread_t thread);
__attribute__((noreturn)) void gcu_real_pthread_exit(void *value);

/* start.c */
void gcu_thread_result_keep(void *value);
void gcu_thread_results_fork_child(void);

/* fork.c */
void gcu_fork_init(void);

/* globals.c */
void gcu_globals_init_locked(unsigned int flags);
void gcu_globals_sync(void);

/* alloc.c */
void gcu_classes_init(const struct gcmem_control *ctl);
void *gcu_alloc_large_flags(size_t size, gcu_type_t type, uint32_t flags);

/* object.c, uncollectable.c */
int gcu_object(const void *p, uintptr_t *start, size_t *size,
	       uint32_t *type);
int gcu_is_uncollectable(const void *p);
void gcu_unc_fork_child(void);
void gcu_unc_lock(void);
void gcu_unc_unlock(void);

/* finalize.c */
void gcu_fin_maybe_run(void);
/* heap.c: libgc.so.1's, to notice bdwgc's variables (gc/control.c). */
extern void (*gcu_slow_hook)(void);
/*
 * After a slow path (refill, large object, collection): the hook, then the
 * finalizers; neither inside a finalizer or with a library lock held
 * (gcu_fin_hold()).
 */
void gcu_after_slow_path(void);
void gcu_fin_hold(void);
void gcu_fin_release(void);
void gcu_fin_lock(void);
void gcu_fin_unlock(void);
void gcu_fin_fork_child(void);

#endif /* GCUSER_INTERNAL_H */
