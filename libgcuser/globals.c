// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgcuser: the program's globals are roots.
 *
 * gcu_init() registers with the kernel, as conservative roots, the writable
 * part of every object the dynamic linker knows (dl_iterate_phdr): for the
 * executable and each shared object, each PT_LOAD segment with PF_W -- its
 * .data and .bss -- minus the PT_GNU_RELRO prefix, which is read-only once
 * relocated and holds no heap pointers. The library's own state is left
 * out: libgcuser.so's segments, and in a static link the heap state (struct
 * gcu_state) cut out of the executable's segment, whose pointer to the
 * arena's start would otherwise keep the object there alive forever.
 *
 * The set follows dlopen() and dlclose(): gcu_globals_sync() compares the
 * loader's load and unload counters (dlpi_adds, dlpi_subs) with those it
 * saw last, and re-derives the set only when they moved. It runs at every
 * refill and explicit collection, which is before any code of a newly
 * loaded object can have stored a heap pointer that a later collection
 * must see -- except for a collection another thread's refill triggers
 * first, the window gcu_dlopen() closes (it syncs before returning).
 *
 * GCU_GLOBALS=0 in the environment, or gcu_init_flags(GCU_INIT_NO_GLOBALS),
 * leaves all of this out for programs that register their roots themselves.
 */
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A registered global range; @seen marks those still loaded. */
struct gcu_global {
	uintptr_t start;
	size_t len;
	int seen;
};

static struct {
	struct gcu_global *v;
	size_t n, cap;
	unsigned long long adds, subs;
	int on;
} globals;

/* Is the range [start, start + len) registered? Marks it seen. */
static int gcu_global_find(uintptr_t start, size_t len)
{
	for (size_t i = 0; i < globals.n; i++) {
		if (globals.v[i].start == start && globals.v[i].len == len) {
			globals.v[i].seen = 1;
			return 1;
		}
	}
	return 0;
}

static void gcu_global_add(uintptr_t start, size_t len)
{
	struct gcu_global *v;

	if (!len || gcu_global_find(start, len))
		return;
	if (globals.n == globals.cap) {
		size_t cap = globals.cap ? 2 * globals.cap : 32;

		v = realloc(globals.v, cap * sizeof(*v));
		if (!v)
			return;	/* not scanned; nothing else to do */
		globals.v = v;
		globals.cap = cap;
	}
	if (gcu_root_add((void *)start, len, GCU_TYPE_CONSERVATIVE))
		return;
	globals.v[globals.n++] = (struct gcu_global){ start, len, 1 };
}

/*
 * Register [lo, hi) but the library's state: linked statically, it lies
 * in the program's segment, and its pointer to the arena's start
 * (gcu.info.arena) would keep whatever object sits there alive.
 */
static void gcu_globals_add_range(uintptr_t lo, uintptr_t hi)
{
	uintptr_t hole_lo = (uintptr_t)&gcu, hole_hi = hole_lo + sizeof(gcu);

	if (hole_lo < hi && hole_hi > lo) {
		gcu_globals_add_range(lo, hole_lo);
		gcu_globals_add_range(hole_hi, hi);
		return;
	}
	lo = (lo + 7) & ~(uintptr_t)7;
	if (lo < hi)
		gcu_global_add(lo, hi - lo);
}

static int gcu_globals_phdr(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t relro_lo = 0, relro_hi = 0, self = (uintptr_t)&globals;
	const ElfW(Phdr) *ph = info->dlpi_phdr;
	int i;

	(void)size;
	(void)data;
	for (i = 0; i < info->dlpi_phnum; i++) {
		if (ph[i].p_type == PT_GNU_RELRO) {
			relro_lo = info->dlpi_addr + ph[i].p_vaddr;
			relro_hi = relro_lo + ph[i].p_memsz;
		}
	}
	for (i = 0; i < info->dlpi_phnum; i++) {
		uintptr_t lo, hi;

		if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_W))
			continue;
		lo = info->dlpi_addr + ph[i].p_vaddr;
		hi = lo + ph[i].p_memsz;
		/* libgcuser.so itself: nothing of the heap's in it. */
		if (info->dlpi_name[0] && self >= lo && self < hi)
			continue;
		/* RELRO is the segment's start (ld.so puts it there). */
		if (relro_lo <= lo && relro_hi > lo)
			lo = relro_hi < hi ? relro_hi : hi;
		gcu_globals_add_range(lo, hi);
	}
	return 0;
}

/* The loader's counters, from the first object it reports. */
static int gcu_globals_counts(struct dl_phdr_info *info, size_t size,
			      void *data)
{
	unsigned long long *c = data;

	if (size < offsetof(struct dl_phdr_info, dlpi_subs) +
		   sizeof(info->dlpi_subs)) {
		c[0] = c[1] = 0;
		return 1;
	}
	c[0] = info->dlpi_adds;
	c[1] = info->dlpi_subs;
	return 1;
}

/* Re-derive the set if objects came or went. Holds gcu_lock. */
static void gcu_globals_sync_locked(int force)
{
	unsigned long long c[2];
	size_t i, j;

	if (!globals.on || gcu.info.fd < 0)
		return;
	dl_iterate_phdr(gcu_globals_counts, c);
	if (!force && c[0] == globals.adds && c[1] == globals.subs)
		return;
	globals.adds = c[0];
	globals.subs = c[1];
	for (i = 0; i < globals.n; i++)
		globals.v[i].seen = 0;
	dl_iterate_phdr(gcu_globals_phdr, NULL);
	/* Objects gone: their ranges go too (ranges added above are seen). */
	for (i = j = 0; i < globals.n; i++) {
		if (!globals.v[i].seen) {
			gcu_root_remove((void *)globals.v[i].start,
					globals.v[i].len);
			continue;
		}
		globals.v[j++] = globals.v[i];
	}
	globals.n = j;
}

void gcu_globals_sync(void)
{
	if (!__atomic_load_n(&globals.on, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&gcu_lock);
	gcu_globals_sync_locked(0);
	pthread_mutex_unlock(&gcu_lock);
}

/* gcu_init(): register them all. Holds gcu_lock. */
void gcu_globals_init_locked(unsigned int flags)
{
	const char *env = getenv("GCU_GLOBALS");

	globals.n = 0;
	globals.on = !(flags & GCU_INIT_NO_GLOBALS) &&
		     !(env && !strcmp(env, "0"));
	gcu_globals_sync_locked(1);
}

size_t gcu_globals_bytes(void)
{
	size_t bytes = 0;

	pthread_mutex_lock(&gcu_lock);
	for (size_t i = 0; i < globals.n; i++)
		bytes += globals.v[i].len;
	pthread_mutex_unlock(&gcu_lock);
	return bytes;
}
