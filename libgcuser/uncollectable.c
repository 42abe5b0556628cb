// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgcuser: uncollectable objects and early free.
 *
 * An uncollectable object (bdwgc's GC_malloc_uncollectable) is an ordinary
 * heap object that the library keeps reachable: its address sits in a
 * table outside the heap that is registered as a conservative root, so
 * every collection marks it and scans it, and it lives until gcu_free().
 * The table is an open-addressed hash set of addresses in an anonymous
 * mapping; it grows by doubling into a new mapping, which is registered
 * before the old one is removed, so that no collection in between misses
 * an entry. Cost per collection: a scan of the table (twice the entries at
 * most, in words).
 *
 * gcu_free() takes an object out of the table if it is there, then gives
 * it back to the kernel (GCMEM_IOC_FREE).
 *
 * Lock order: unc.lock, then gcu_lock (an allocation under unc.lock may
 * register the thread).
 */
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "internal.h"

#define GCU_UNC_TOMB	((uintptr_t)1)	/* a removed entry; never a pointer */
#define GCU_UNC_MIN	512		/* entries of the first table */

static struct {
	uintptr_t *v;
	size_t cap, used;		/* used: live entries and tombstones */
	uint64_t generation;		/* the heap the table is rooted in */
	pthread_mutex_t lock;
} unc = { .lock = PTHREAD_MUTEX_INITIALIZER };

static size_t gcu_unc_hash(uintptr_t p, size_t cap)
{
	return (size_t)((p >> 4) * 0x9e3779b97f4a7c15ULL >> 17) & (cap - 1);
}

static void gcu_unc_put(uintptr_t *v, size_t cap, uintptr_t p)
{
	size_t i = gcu_unc_hash(p, cap);

	while (v[i] && v[i] != GCU_UNC_TOMB)
		i = (i + 1) & (cap - 1);
	v[i] = p;
}

/* The slot holding @p, or -1. Holds unc.lock. */
static long gcu_unc_find(uintptr_t p)
{
	size_t i;

	if (!unc.v || unc.generation != gcu.generation)
		return -1;
	for (i = gcu_unc_hash(p, unc.cap); unc.v[i];
	     i = (i + 1) & (unc.cap - 1))
		if (unc.v[i] == p)
			return (long)i;
	return -1;
}

/* Room for one more entry, in a table rooted in the current heap. */
static int gcu_unc_reserve(void)
{
	size_t cap = unc.cap, live = 0, i;
	uintptr_t *v;

	if (unc.v && unc.generation != gcu.generation) {
		/* The table of an earlier heap: its roots went with it. */
		munmap(unc.v, unc.cap * sizeof(*unc.v));
		unc.v = NULL;
		unc.cap = unc.used = 0;
	}
	if (unc.v && (unc.used + 1) * 4 < cap * 3)
		return 0;
	for (i = 0; i < cap; i++)
		live += unc.v[i] > GCU_UNC_TOMB;
	cap = GCU_UNC_MIN;
	while ((live + 1) * 2 > cap)
		cap *= 2;
	v = mmap(NULL, cap * sizeof(*v), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v == MAP_FAILED)
		return -1;
	for (i = 0; i < unc.cap; i++)
		if (unc.v[i] > GCU_UNC_TOMB)
			gcu_unc_put(v, cap, unc.v[i]);
	if (gcu_root_add(v, cap * sizeof(*v), GCU_TYPE_CONSERVATIVE)) {
		munmap(v, cap * sizeof(*v));
		return -1;
	}
	if (unc.v) {
		gcu_root_remove(unc.v, unc.cap * sizeof(*unc.v));
		munmap(unc.v, unc.cap * sizeof(*unc.v));
	}
	unc.v = v;
	unc.cap = cap;
	unc.used = live;
	unc.generation = gcu.generation;
	return 0;
}

static void *gcu_uncollectable(size_t size, gcu_type_t type)
{
	void *p;

	/*
	 * Reserve first: the object is never unreachable in between. No
	 * finalizer may run in the allocation below, with unc.lock held (one
	 * that frees an uncollectable object would take it again), nor the
	 * slow-path hook (it takes libgc.so.1's lock, which fork() takes
	 * before unc.lock): they run after the unlock.
	 */
	gcu_fin_hold();
	pthread_mutex_lock(&unc.lock);
	if (gcu.info.fd < 0) {
		errno = ENXIO;
		p = NULL;
	} else if (gcu_unc_reserve()) {
		p = NULL;
	} else {
		p = type == GCU_TYPE_NOSCAN ? gcu_malloc_atomic(size) :
					      gcu_malloc(size);
		if (p) {
			gcu_unc_put(unc.v, unc.cap, (uintptr_t)p);
			unc.used++;
		}
	}
	pthread_mutex_unlock(&unc.lock);
	gcu_fin_release();
	gcu_after_slow_path();
	return p;
}

/*
 * A child after fork(): the table is its own memory, at the same address,
 * and the copy of the heap kept its root. Holds gcu_lock.
 */
void gcu_unc_fork_child(void)
{
	if (unc.v)
		unc.generation = gcu.generation;
}

/* fork() holds the table's lock, outside gcu_lock (the order above). */
void gcu_unc_lock(void)
{
	pthread_mutex_lock(&unc.lock);
}

void gcu_unc_unlock(void)
{
	pthread_mutex_unlock(&unc.lock);
}

void *gcu_malloc_uncollectable(size_t size)
{
	return gcu_uncollectable(size, GCU_TYPE_CONSERVATIVE);
}

void *gcu_malloc_atomic_uncollectable(size_t size)
{
	return gcu_uncollectable(size, GCU_TYPE_NOSCAN);
}

int gcu_is_uncollectable(const void *p)
{
	long i;

	pthread_mutex_lock(&unc.lock);
	i = gcu_unc_find((uintptr_t)p);
	pthread_mutex_unlock(&unc.lock);
	return i >= 0;
}

int gcu_free(void *p)
{
	struct gcmem_free f = { .size = sizeof(f), .addr = (uintptr_t)p };
	uintptr_t a = (uintptr_t)p, arena = (uintptr_t)gcu.info.arena;
	long i;

	if (!p)
		return 0;
	if (gcu.info.fd < 0) {
		errno = ENXIO;
		return -1;
	}
	if (a < arena || a - arena >= gcu.info.arena_size) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&unc.lock);
	i = gcu_unc_find(a);
	if (i >= 0)
		unc.v[i] = GCU_UNC_TOMB;
	pthread_mutex_unlock(&unc.lock);
	return ioctl(gcu.info.fd, GCMEM_IOC_FREE, &f) ? -1 : 0;
}
