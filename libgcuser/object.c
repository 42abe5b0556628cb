// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgcuser: what an object is -- its start and size -- and the calls
 * built on that: realloc, strdup, strndup, and large objects that ignore
 * pointers past their first page.
 *
 * gcu_base() and gcu_size() answer from the calling thread's cached spans
 * when the object lies in one (the common case for an object the thread
 * just allocated: no system call), and from GCMEM_IOC_QUERY otherwise --
 * the same resolution the mark workers do, so the answer is the kernel's.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "internal.h"

/*
 * Resolve @p in the calling thread's cached spans: 1 with the object's
 * start and slot size if it is allocated there, 0 if @p is not in them.
 */
static int gcu_cached_object(uintptr_t p, uintptr_t *start, size_t *size)
{
	struct gcu_thread *t = gcu_self;
	uint32_t i, idx, cursor;

	if (!t || t->generation != gcu.generation)
		return 0;
	for (i = 0; i < t->next_index; i++) {
		const struct gcu_span *s = t->by_index[i];

		if (!s->nelems || p < s->base ||
		    p - s->base >= (uintptr_t)s->nelems * s->elem_size)
			continue;
		idx = (p - s->base) / s->elem_size;
		cursor = __atomic_load_n(&t->slot->cursor[s->cache_index],
					 __ATOMIC_RELAXED);
		/* Taken since the handout, or allocated before it. */
		if (idx >= cursor && !(s->bits[idx / 64] & (1ULL << idx % 64)))
			return -1;
		*start = s->base + (uintptr_t)idx * s->elem_size;
		*size = s->elem_size;
		return 1;
	}
	return 0;
}

/* The allocated object containing @p: 0 and its start and size, or -1. */
int gcu_object(const void *p, uintptr_t *start, size_t *size,
	       uint32_t *type)
{
	struct gcmem_query q = { .size = sizeof(q), .addr = (uintptr_t)p };
	uintptr_t a = (uintptr_t)p, arena = (uintptr_t)gcu.info.arena;
	int cached;

	if (gcu.info.fd < 0 || a < arena || a - arena >= gcu.info.arena_size)
		return -1;
	if (!type) {
		cached = gcu_cached_object(a, start, size);
		if (cached)
			return cached > 0 ? 0 : -1;
	}
	if (ioctl(gcu.info.fd, GCMEM_IOC_QUERY, &q) ||
	    !(q.result & GCMEM_QUERY_ALLOCATED))
		return -1;
	*start = q.obj_start;
	*size = q.obj_size;
	if (type)
		*type = q.type_id;
	return 0;
}

void *gcu_base(const void *p)
{
	uintptr_t start;
	size_t size;

	return gcu_object(p, &start, &size, NULL) ? NULL : (void *)start;
}

size_t gcu_size(const void *p)
{
	uintptr_t start;
	size_t size;

	return gcu_object(p, &start, &size, NULL) ? 0 : size;
}

/*
 * A new object of @size like the one of @type: atomic stays atomic, a typed
 * array stays typed if @size is a whole number of values, anything else is
 * conservative; uncollectable stays uncollectable.
 */
static void *gcu_alloc_like(int uncollectable, uint32_t type, size_t size)
{
	if (uncollectable)
		return type == GCU_TYPE_NOSCAN ?
		       gcu_malloc_atomic_uncollectable(size) :
		       gcu_malloc_uncollectable(size);
	if (type == GCU_TYPE_NOSCAN)
		return gcu_malloc_atomic(size);
	if (type > GCU_TYPE_NOSCAN && type < GCMEM_MAX_TYPES &&
	    gcu.type_size[type] && size % gcu.type_size[type] == 0)
		return gcu_malloc_typed_array(type, size / gcu.type_size[type]);
	return gcu_malloc(size);
}

/*
 * realloc: in place when the slot is big enough (and, for a large object,
 * when at least half of it stays in use), zeroing what the object gives
 * up so that growing it again shows zeros; otherwise a new object with
 * the contents copied. The old object of a move is freed at once if it
 * is large (its pages matter) or uncollectable; a small one is left to the
 * collector, which saves a system call per move.
 */
void *gcu_realloc(void *p, size_t size)
{
	uintptr_t start;
	size_t cap;
	uint32_t type;
	int unc;
	void *n;

	if (!p)
		return gcu_malloc(size);
	if (!size) {
		gcu_free(p);
		return NULL;
	}
	if (gcu_object(p, &start, &cap, &type) || start != (uintptr_t)p) {
		errno = EINVAL;
		return NULL;
	}
	if (size <= cap && (cap <= GCMEM_SMALL_MAX || size > cap / 2)) {
		memset((char *)p + size, 0, cap - size);
		return p;
	}
	unc = gcu_is_uncollectable(p);
	n = gcu_alloc_like(unc, type, size);
	if (!n)
		return NULL;
	memcpy(n, p, size < cap ? size : cap);
	/* An uncollectable one would live forever: it goes too. */
	if (cap > GCMEM_SMALL_MAX || unc)
		gcu_free(p);
	return n;
}

char *gcu_strdup(const char *s)
{
	return gcu_strndup(s, (size_t)-1);
}

char *gcu_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *d = gcu_malloc_atomic(len + 1);

	if (d)
		memcpy(d, s, len);	/* the terminator is already zero */
	return d;
}

static void *gcu_large_ignore_off_page(size_t size, gcu_type_t type)
{
	if (size <= GCMEM_SMALL_MAX)
		return type == GCU_TYPE_NOSCAN ? gcu_malloc_atomic(size) :
						 gcu_malloc(size);
	return gcu_alloc_large_flags(size, type, GCMEM_LARGE_IGNORE_OFF_PAGE);
}

void *gcu_malloc_ignore_off_page(size_t size)
{
	return gcu_large_ignore_off_page(size, GCU_TYPE_CONSERVATIVE);
}

void *gcu_malloc_atomic_ignore_off_page(size_t size)
{
	return gcu_large_ignore_off_page(size, GCU_TYPE_NOSCAN);
}
