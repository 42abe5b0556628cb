// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgcuser: allocation.
 *
 * The fast path takes the next free slot of the thread's cached span for
 * the object's (size class, type): count trailing zeros of a 64-bit window
 * of free bits, clear the bit, publish the cursor, return. No lock, no
 * system call, no atomic read-modify-write. When the window runs out the
 * next one is loaded from the span's alloc bits; when the span runs out,
 * GCMEM_IOC_REFILL hands it back and brings a fresh one (the slow path).
 * Objects above GCMEM_SMALL_MAX are allocated one by one by the kernel.
 *
 * The kernel zeroes every slot it hands out, so the fast path never clears
 * memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "internal.h"

/* Free slots of the window at @s->window that lie in the span. */
static inline uint64_t gcu_window_free(const struct gcu_span *s)
{
	uint64_t free = ~s->bits[s->window / 64];
	uint32_t left = s->nelems - s->window;

	return left < 64 ? free & ((1ULL << left) - 1) : free;
}

/*
 * The next free slot of @s, or NULL. @poll (the fast path): a window's end
 * is also where a stop the collector wants is noticed (one load every 64
 * objects), so that a thread allocating in a loop parks within a window
 * rather than at its next refill, which with 1,024-object spans kept the
 * stop waiting 0.1-0.2 ms (the driver idle, or the others parked); the
 * slow path answers it and takes the slot then.
 */
static inline void *gcu_span_take(struct gcu_span *s, struct gcu_thread *t,
				  int poll)
{
	struct gcmem_thread_slot *slot = t->slot;
	uint32_t idx;

	while (unlikely(!s->cache)) {
		if (s->window + 64 >= s->nelems)
			return NULL;
		if (poll && gcu_stop_wanted(t))
			return NULL;
		s->window += 64;
		s->cache = gcu_window_free(s);
	}
	idx = s->window + __builtin_ctzll(s->cache);
	s->cache &= s->cache - 1;
	__atomic_store_n(&slot->cursor[s->cache_index], idx + 1,
			 __ATOMIC_RELAXED);
	return (void *)(s->base + (uintptr_t)idx * s->elem_size);
}

/* Load a refilled span into @s. */
static void gcu_span_load(struct gcu_span *s, const struct gcmem_refill *r)
{
	s->base = r->span_base;
	s->elem_size = r->elem_size;
	s->nelems = r->nelems;
	s->window = r->cursor & ~63U;
	s->cache = gcu_window_free(s) & (~0ULL << (r->cursor % 64));
}

static void gcu_span_empty(struct gcu_span *s)
{
	s->nelems = 0;
	s->window = 0;
	s->cache = 0;
}

/* The cache for (class, type), creating it (and maybe evicting) if new. */
static struct gcu_span *gcu_span_cache(struct gcu_thread *t, uint32_t cls,
				       gcu_type_t type)
{
	struct gcu_span **kind = t->kinds[type];
	struct gcu_span *s;
	uint32_t idx;

	if (!kind) {
		kind = calloc(GCMEM_MAX_CLASSES, sizeof(*kind));
		if (!kind)
			return NULL;
		t->kinds[type] = kind;
	}
	if (kind[cls])
		return kind[cls];

	if (t->next_index < GCMEM_THREAD_CACHES) {
		idx = t->next_index;
		s = calloc(1, sizeof(*s));
		if (!s)
			return NULL;
		t->next_index++;
		t->by_index[idx] = s;
	} else {
		/* Reuse a cache; its span goes back at the refill below. */
		idx = t->evict;
		t->evict = (t->evict + 1) % GCMEM_THREAD_CACHES;
		s = t->by_index[idx];
		t->kinds[s->type][s->size_class] = NULL;
		memset(s, 0, sizeof(*s));
	}
	s->cache_index = idx;
	s->size_class = cls;
	s->type = type;
	kind[cls] = s;
	return s;
}

static int gcu_refill(struct gcu_thread *t, struct gcu_span *s)
{
	struct gcmem_refill r = {
		.size = sizeof(r),
		.thread_id = t->id,
		.cache_index = s->cache_index,
		.size_class = s->size_class,
		.type_id = s->type,
		.bitmap_words = sizeof(s->bits) / sizeof(s->bits[0]),
		.alloc_bitmap = (uintptr_t)s->bits,
	};

	gcu_globals_sync();
	if (ioctl(gcu.info.fd, GCMEM_IOC_REFILL, &r)) {
		/* The old span went back all the same. */
		gcu_span_empty(s);
		return -1;
	}
	gcu_span_load(s, &r);
	return 0;
}

static void *gcu_alloc_large(size_t size, gcu_type_t type, uint32_t flags)
{
	struct gcmem_alloc_large a = {
		.size = sizeof(a),
		.flags = flags,
		.type_id = type,
		.bytes = size,
	};

	gcu_globals_sync();
	if (ioctl(gcu.info.fd, GCMEM_IOC_ALLOC_LARGE, &a))
		return NULL;
	if (unlikely(gcu_trace))
		gcu_trace_cycles();
	gcu_after_slow_path();
	return (void *)(uintptr_t)a.addr;
}

/* The slow paths' start: the calling thread, registered; or NULL. */
static struct gcu_thread *gcu_slow_enter(void)
{
	struct gcu_thread *t;

	if (gcu.info.fd < 0) {
		errno = ENXIO;
		return NULL;
	}
	/* Registered first: the collector must see this thread's stack. */
	t = gcu_self;
	if (!t || t->generation != gcu.generation) {
		t = gcu_thread_self_slow();
		if (!t)
			return NULL;
	}
	if (unlikely(gcu_stop_wanted(t)))
		gcu_safepoint_slow(t);
	return t;
}

void *gcu_alloc_large_flags(size_t size, gcu_type_t type, uint32_t flags)
{
	if (!gcu_slow_enter())
		return NULL;
	return gcu_alloc_large(size, type, flags);
}

static void *gcu_alloc_slow(size_t size, gcu_type_t type)
{
	struct gcu_thread *t = gcu_slow_enter();
	struct gcu_span *s;
	void *p;

	if (!t)
		return NULL;
	if (size > GCMEM_SMALL_MAX)
		return gcu_alloc_large(size, type, 0);
	s = gcu_span_cache(t, gcu_size_class(size), type);
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	p = gcu_span_take(s, t, 0);
	if (p)
		return p;
	if (gcu_refill(t, s))
		return NULL;
	if (unlikely(gcu_trace))
		gcu_trace_cycles();
	/* Finalizers may allocate: the span is taken from afterwards. */
	gcu_after_slow_path();
	p = gcu_span_take(s, t, 0);
	if (!p)
		errno = ENOMEM;
	return p;
}

static inline void *gcu_alloc(size_t size, gcu_type_t type)
{
	struct gcu_thread *t = gcu_self;
	struct gcu_span **kind;
	void *p;

	if (!size)
		size = 1;
	if (likely(t && size <= GCMEM_SMALL_MAX)) {
		kind = t->kinds[type];
		if (likely(kind && kind[gcu_size_class(size)])) {
			p = gcu_span_take(kind[gcu_size_class(size)], t, 1);
			if (likely(p))
				return p;
		}
	}
	return gcu_alloc_slow(size, type);
}

void *gcu_malloc(size_t size)
{
	return gcu_alloc(size, GCU_TYPE_CONSERVATIVE);
}

void *gcu_malloc_atomic(size_t size)
{
	return gcu_alloc(size, GCU_TYPE_NOSCAN);
}

void *gcu_malloc_typed_array(gcu_type_t type, size_t n)
{
	size_t size;

	/* Unknown types: ENOENT, as the kernel says for them. */
	if (type >= GCMEM_MAX_TYPES || (type > GCU_TYPE_NOSCAN &&
					!gcu.type_size[type])) {
		errno = ENOENT;
		return NULL;
	}
	if (type <= GCU_TYPE_NOSCAN || !n ||
	    __builtin_mul_overflow(gcu.type_size[type], n, &size)) {
		errno = type <= GCU_TYPE_NOSCAN || !n ? EINVAL : ENOMEM;
		return NULL;
	}
	return gcu_alloc(size, type);
}

void *gcu_malloc_typed(gcu_type_t type)
{
	return gcu_malloc_typed_array(type, 1);
}

gcu_type_t gcu_type_register(size_t size, const uint64_t *ptrmask)
{
	struct gcmem_type_register r = {
		.size = sizeof(r),
		.ptrmask = (uintptr_t)ptrmask,
	};

	if (gcu.info.fd < 0) {
		errno = ENXIO;
		return (gcu_type_t)-1;
	}
	if (size > GCMEM_TYPE_MAX_SIZE) {
		errno = EINVAL;
		return (gcu_type_t)-1;
	}
	r.type_size = size;
	if (ioctl(gcu.info.fd, GCMEM_IOC_TYPE_REGISTER, &r))
		return (gcu_type_t)-1;
	__atomic_store_n(&gcu.type_size[r.type_id], size, __ATOMIC_RELEASE);
	return r.type_id;
}

/* Build the size-to-class lookup from the kernel's table. */
void gcu_classes_init(const struct gcmem_control *ctl)
{
	uint32_t i, c = 1;

	gcu.nclasses = ctl->nclasses;
	for (i = 0; i < ctl->nclasses && i < GCMEM_MAX_CLASSES; i++) {
		gcu.class_size[i] = ctl->class_size[i];
		gcu.class_nelems[i] = i ? ctl->class_npages[i] *
			GCMEM_PAGE_SIZE / ctl->class_size[i] : 0;
	}
	for (i = 0; i < sizeof(gcu.class_small); i++) {
		while (gcu.class_size[c] < i * 8)
			c++;
		gcu.class_small[i] = c;
	}
	for (i = 0; i < sizeof(gcu.class_large); i++) {
		while (gcu.class_size[c] < 1024 + i * 128)
			c++;
		gcu.class_large[i] = c;
	}
}
