// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgc.so.1: bdwgc's allocation calls on libgcuser's allocator.
 *
 * Kinds: bdwgc's four predefined ones map to libgcuser's conservative,
 * pointer-free and uncollectable objects; a kind the program makes with
 * GC_new_kind() is conservative unless its descriptor says it holds no
 * pointer. Typed and gcj objects are scanned conservatively too (every word
 * a pointer may be in is scanned, and more). Failures go through
 * GC_oom_fn, as bdwgc's do; its default returns NULL.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"

/* bdwgc's free lists: gcmem has none to show (see gc_inline.h users). */
void *GC_objfreelist_ptr;
void *GC_aobjfreelist_ptr;
void *GC_uobjfreelist_ptr;
void *GC_auobjfreelist_ptr;
/* Debug allocations carry no header here. */
const size_t GC_debug_header_size;
int GC_gcj_kind = GC_KIND_NORMAL;
int GC_gcj_debug_kind = GC_KIND_NORMAL;

/* Kinds made by GC_new_kind(): whether each is pointer-free. */
#define GC_MAX_KINDS	64
static uint64_t gc_kinds_ptrfree;
static unsigned int gc_nkinds = GC_KIND_FIRST_NEW;

int gc_kind_ptrfree(int kind)
{
	if (kind == GC_KIND_PTRFREE || kind == GC_KIND_AUNCOLLECTABLE)
		return 1;
	if (kind < GC_KIND_FIRST_NEW || kind >= GC_MAX_KINDS)
		return 0;
	return (__atomic_load_n(&gc_kinds_ptrfree, __ATOMIC_ACQUIRE) >>
		kind) & 1;
}

void *GC_malloc(size_t size)
{
	void *p;

	gc_ready();
	p = gcu_malloc(size);
	return likely(p) ? p : gc_oom(size);
}

void *GC_malloc_atomic(size_t size)
{
	void *p;

	gc_ready();
	p = gcu_malloc_atomic(size);
	return likely(p) ? p : gc_oom(size);
}

void *GC_malloc_uncollectable(size_t size)
{
	void *p;

	gc_ready();
	p = gcu_malloc_uncollectable(size);
	return p ? p : gc_oom(size);
}

void *GC_malloc_atomic_uncollectable(size_t size)
{
	void *p;

	gc_ready();
	p = gcu_malloc_atomic_uncollectable(size);
	return p ? p : gc_oom(size);
}

void *GC_malloc_ignore_off_page(size_t size)
{
	void *p;

	gc_ready();
	p = gcu_malloc_ignore_off_page(size);
	return p ? p : gc_oom(size);
}

void *GC_malloc_atomic_ignore_off_page(size_t size)
{
	void *p;

	gc_ready();
	p = gcu_malloc_atomic_ignore_off_page(size);
	return p ? p : gc_oom(size);
}

void *GC_malloc_stubborn(size_t size)
{
	return GC_malloc(size);
}

void GC_change_stubborn(const void *p)
{
	(void)p;
}

void GC_end_stubborn_change(const void *p)
{
	(void)p;
}

/*
 * Objects of 16 bytes and more are 16-byte aligned; beyond, a larger
 * object holds an aligned interior pointer, which keeps it alive (every
 * interior pointer does) but cannot be given to GC_free().
 */
void *GC_memalign(size_t align, size_t size)
{
	uintptr_t p;
	size_t n;

	if (!align || (align & (align - 1)))
		return NULL;
	if (align <= 16)
		return GC_malloc(size < align ? align : size);
	if (__builtin_add_overflow(size, align - 1, &n))
		return gc_oom(SIZE_MAX);
	p = (uintptr_t)GC_malloc(n);
	if (!p)
		return NULL;
	return (void *)((p + align - 1) & ~(uintptr_t)(align - 1));
}

int GC_posix_memalign(void **memptr, size_t align, size_t size)
{
	void *p;

	if (!align || (align & (align - 1)) || align % sizeof(void *))
		return EINVAL;
	p = GC_memalign(align, size);
	if (!p)
		return ENOMEM;
	*memptr = p;
	return 0;
}

/*
 * A few objects of @size linked through their first word (at least one).
 * Pointer-free kinds come back scanned: their link words would not be,
 * and the list would keep only its head.
 */
static void *gc_many(size_t size, int kind)
{
	size_t n = size >= 1024 ? 1 : 4096 / (size ? size : 1);
	void *list = NULL;

	if (kind == GC_KIND_AUNCOLLECTABLE)
		kind = GC_KIND_UNCOLLECTABLE;
	else if (kind != GC_KIND_UNCOLLECTABLE && gc_kind_ptrfree(kind))
		kind = GC_KIND_NORMAL;
	while (n--) {
		void *p = GC_generic_malloc(size < sizeof(void *) ?
					    sizeof(void *) : size, kind);

		if (!p)
			break;
		*(void **)p = list;
		list = p;
	}
	return list;
}

void *GC_malloc_many(size_t size)
{
	return gc_many(size, GC_KIND_NORMAL);
}

void GC_generic_malloc_many(size_t size, int kind, void **result)
{
	*result = gc_many(size, kind);
}

void *GC_realloc(void *p, size_t size)
{
	void *q;

	gc_ready();
	q = gcu_realloc(p, size);
	if (q || !size)
		return q;
	/* Not the start of an object: bdwgc would misbehave; refuse. */
	if (errno == EINVAL) {
		gc_warn("GC_realloc of a pointer not to an object's start (%lu)",
			(GC_word)(uintptr_t)p);
		return NULL;
	}
	return gc_oom(size);
}

/* Bytes GC_free() gave back since the collection numbered @cycle. */
static struct {
	uint64_t cycle;
	size_t bytes;
} gc_freed;

static uint64_t gc_cycle(void)
{
	const struct gcmem_control *ctl =
		(const struct gcmem_control *)gcu.info.control;

	return __atomic_load_n(&ctl->cycle, __ATOMIC_RELAXED);
}

void GC_free(void *p)
{
	size_t size;

	if (!p || gcu.info.fd < 0)
		return;
	size = gcu_size(p);
	if (gcu_free(p))
		return;
	pthread_mutex_lock(&gc_lock);
	if (gc_freed.cycle != gc_cycle()) {
		gc_freed.cycle = gc_cycle();
		gc_freed.bytes = 0;
	}
	gc_freed.bytes += size;
	pthread_mutex_unlock(&gc_lock);
}

size_t GC_get_expl_freed_bytes_since_gc(void)
{
	size_t bytes = 0;

	if (gcu.info.fd < 0)
		return 0;
	pthread_mutex_lock(&gc_lock);
	if (gc_freed.cycle == gc_cycle())
		bytes = gc_freed.bytes;
	pthread_mutex_unlock(&gc_lock);
	return bytes;
}

char *GC_strdup(const char *s)
{
	char *p;

	if (!s)
		return NULL;
	gc_ready();
	p = gcu_strdup(s);
	return p ? p : gc_oom(strlen(s) + 1);
}

char *GC_strndup(const char *s, size_t n)
{
	char *p;

	gc_ready();
	p = gcu_strndup(s, n);
	return p ? p : gc_oom(n + 1);
}

void *GC_base(void *p)
{
	return gcu.info.fd >= 0 ? gcu_base(p) : NULL;
}

size_t GC_size(const void *p)
{
	return gcu.info.fd >= 0 ? gcu_size(p) : 0;
}

int GC_is_heap_ptr(const void *p)
{
	return GC_base((void *)p) != NULL;
}

int GC_get_kind_and_size(const void *p, size_t *psize)
{
	size_t size = GC_size(p);
	int atomic;
	uintptr_t start;
	uint32_t type;

	if (psize)
		*psize = size;
	if (!size || gcu_object(p, &start, &size, &type))
		return GC_KIND_NORMAL;
	atomic = type == GCU_TYPE_NOSCAN;
	if (gcu_is_uncollectable((const void *)start))
		return atomic ? GC_KIND_AUNCOLLECTABLE : GC_KIND_UNCOLLECTABLE;
	return atomic ? GC_KIND_PTRFREE : GC_KIND_NORMAL;
}

/* The size an allocation of @i bytes is given; beyond the small ones, none. */
size_t GC_get_size_map_at(int i)
{
	gc_ready();
	if (i < 0 || (size_t)i > GCMEM_SMALL_MAX)
		return SIZE_MAX;
	if (!i)
		i = 1;
	return gcu.class_size[gcu_size_class((size_t)i)];
}

void *GC_debug_malloc(size_t size, const char *s, int i)
{
	(void)s, (void)i;
	return GC_malloc(size);
}

void *GC_debug_malloc_atomic(size_t size, const char *s, int i)
{
	(void)s, (void)i;
	return GC_malloc_atomic(size);
}

void *GC_debug_malloc_uncollectable(size_t size, const char *s, int i)
{
	(void)s, (void)i;
	return GC_malloc_uncollectable(size);
}

void *GC_debug_malloc_atomic_uncollectable(size_t size, const char *s, int i)
{
	(void)s, (void)i;
	return GC_malloc_atomic_uncollectable(size);
}

void *GC_debug_malloc_ignore_off_page(size_t size, const char *s, int i)
{
	(void)s, (void)i;
	return GC_malloc_ignore_off_page(size);
}

void *GC_debug_malloc_atomic_ignore_off_page(size_t size, const char *s,
					     int i)
{
	(void)s, (void)i;
	return GC_malloc_atomic_ignore_off_page(size);
}

void *GC_debug_malloc_stubborn(size_t size, const char *s, int i)
{
	(void)s, (void)i;
	return GC_malloc(size);
}

void *GC_debug_realloc(void *p, size_t size, const char *s, int i)
{
	(void)s, (void)i;
	return GC_realloc(p, size);
}

void GC_debug_free(void *p)
{
	GC_free(p);
}

char *GC_debug_strdup(const char *str, const char *s, int i)
{
	(void)s, (void)i;
	return GC_strdup(str);
}

char *GC_debug_strndup(const char *str, size_t n, const char *s, int i)
{
	(void)s, (void)i;
	return GC_strndup(str, n);
}

void *GC_debug_malloc_replacement(size_t size)
{
	return GC_malloc(size);
}

void *GC_debug_realloc_replacement(void *p, size_t size)
{
	return GC_realloc(p, size);
}

void GC_debug_change_stubborn(const void *p)
{
	(void)p;
}

void GC_debug_end_stubborn_change(const void *p)
{
	(void)p;
}

/* No write barrier to call: the kernel sees the program's writes. */
void GC_ptr_store_and_dirty(void *p, const void *q)
{
	*(const void **)p = q;
}

void GC_debug_ptr_store_and_dirty(void *p, const void *q)
{
	*(const void **)p = q;
}

/* bdwgc's pointer checks (its GC_DEBUG builds): nothing to check here. */
void *GC_same_obj(void *p, void *q)
{
	(void)q;
	return p;
}

void *GC_pre_incr(void **p, ptrdiff_t how_much)
{
	*p = (char *)*p + how_much;
	return *p;
}

void *GC_post_incr(void **p, ptrdiff_t how_much)
{
	void *old = *p;

	*p = (char *)old + how_much;
	return old;
}

void *GC_is_visible(void *p)
{
	return p;
}

void *GC_is_valid_displacement(void *p)
{
	return p;
}

void (*GC_same_obj_print_proc)(void *p, void *q);
void (*GC_is_valid_displacement_print_proc)(void *p);
void (*GC_is_visible_print_proc)(void *p);

/* Every interior pointer counts already. */
void GC_register_displacement(size_t offset)
{
	(void)offset;
}

void GC_debug_register_displacement(size_t offset)
{
	(void)offset;
}

void *GC_generic_malloc(size_t size, int kind)
{
	switch (kind) {
	case GC_KIND_UNCOLLECTABLE:
		return GC_malloc_uncollectable(size);
	case GC_KIND_AUNCOLLECTABLE:
		return GC_malloc_atomic_uncollectable(size);
	default:
		return gc_kind_ptrfree(kind) ? GC_malloc_atomic(size) :
					       GC_malloc(size);
	}
}

void *GC_generic_malloc_ignore_off_page(size_t size, int kind)
{
	if (kind == GC_KIND_UNCOLLECTABLE || kind == GC_KIND_AUNCOLLECTABLE)
		return GC_generic_malloc(size, kind);
	return gc_kind_ptrfree(kind) ? GC_malloc_atomic_ignore_off_page(size) :
				       GC_malloc_ignore_off_page(size);
}

void *GC_generic_malloc_uncollectable(size_t size, int kind)
{
	return gc_kind_ptrfree(kind) ? GC_malloc_atomic_uncollectable(size) :
				       GC_malloc_uncollectable(size);
}

void *GC_malloc_kind(size_t size, int kind)
{
	return GC_generic_malloc(size, kind);
}

void *GC_malloc_kind_global(size_t size, int kind)
{
	return GC_generic_malloc(size, kind);
}

void *GC_generic_or_special_malloc(size_t size, int kind)
{
	return GC_generic_malloc(size, kind);
}

void *GC_debug_generic_or_special_malloc(size_t size, int kind,
					 const char *s, int i)
{
	(void)s, (void)i;
	return GC_generic_malloc(size, kind);
}

/*
 * A free list array for GC_new_kind(): gcmem does not use it, but the
 * program may index it (as gc_inline.h does), so it is real and zeroed.
 */
void **GC_new_free_list_inner(void)
{
	void **fl = GC_malloc_uncollectable((GCMEM_SMALL_MAX / 16 + 1) *
					    sizeof(void *));

	if (!fl)
		gc_abort("GC_new_free_list: out of memory");
	return fl;
}

void **GC_new_free_list(void)
{
	return GC_new_free_list_inner();
}

/*
 * A kind of the program's own. @descr is bdwgc's mark descriptor: its
 * low two bits 0 make it a length (bytes to scan; with @adjust the
 * object's size is added), anything else a bitmap or a mark procedure,
 * which gcmem cannot run: those objects are scanned conservatively, which
 * finds every pointer the procedure would have pushed from the object.
 */
unsigned int GC_new_kind_inner(void **free_list, GC_word descr, int adjust,
			       int clear)
{
	unsigned int k;

	(void)free_list, (void)clear;
	pthread_mutex_lock(&gc_lock);
	if (gc_nkinds >= GC_MAX_KINDS) {
		pthread_mutex_unlock(&gc_lock);
		gc_abort("GC_new_kind: too many kinds");
	}
	k = gc_nkinds++;
	if (descr == 0 && !adjust)
		__atomic_or_fetch(&gc_kinds_ptrfree, 1ull << k,
				  __ATOMIC_RELEASE);
	pthread_mutex_unlock(&gc_lock);
	return k;
}

unsigned int GC_new_kind(void **free_list, GC_word descr, int adjust,
			 int clear)
{
	return GC_new_kind_inner(free_list, descr, adjust, clear);
}

/* Typed objects (gc_typed.h): descriptor 0 is pointer-free, 1 is not. */
GC_descr GC_make_descriptor(const GC_word *bm, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (GC_get_bit(bm, i))
			return 1;
	return 0;
}

void *GC_malloc_explicitly_typed(size_t size, GC_descr d)
{
	return d ? GC_malloc(size) : GC_malloc_atomic(size);
}

void *GC_malloc_explicitly_typed_ignore_off_page(size_t size, GC_descr d)
{
	return d ? GC_malloc_ignore_off_page(size) :
		   GC_malloc_atomic_ignore_off_page(size);
}

void *GC_calloc_explicitly_typed(size_t n, size_t size, GC_descr d)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total))
		return gc_oom(SIZE_MAX);
	return GC_malloc_explicitly_typed(total, d);
}

/* gcj objects: a vtable pointer in the first word, scanned conservatively. */
void GC_init_gcj_malloc(int mp_index, void *mp)
{
	(void)mp_index, (void)mp;
	gc_ready();
}

void *GC_gcj_malloc(size_t size, void *vtable)
{
	void **p = GC_malloc(size < sizeof(void *) ? sizeof(void *) : size);

	if (p)
		*p = vtable;
	return p;
}

void *GC_gcj_malloc_ignore_off_page(size_t size, void *vtable)
{
	void **p = GC_malloc_ignore_off_page(size < sizeof(void *) ?
					     sizeof(void *) : size);

	if (p)
		*p = vtable;
	return p;
}

void *GC_debug_gcj_malloc(size_t size, void *vtable, const char *s, int i)
{
	(void)s, (void)i;
	return GC_gcj_malloc(size, vtable);
}

size_t GC_get_debug_header_size(void)
{
	return GC_debug_header_size;
}
