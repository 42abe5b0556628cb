/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the selftests that use libgcuser: hiding a pointer from the
 * conservative scan, scrubbing dead stack, and asking the kernel whether
 * an object is allocated.
 *
 * Tests that expect an object to go never hold its address in their own
 * frame or registers: they keep it HIDE()den, look at it through noinline
 * helpers, and scrub the stack before they collect. (The collector also
 * keeps the slot just below each cached span's cursor, so such tests
 * allocate once more after the object.)
 */
#ifndef GCU_UTIL_H
#define GCU_UTIL_H

#include <stdint.h>
#include <sys/ioctl.h>

#include <linux/gcmem.h>

#include "gcuser.h"

#define HIDE(p)		((uintptr_t)(p) ^ 0x5a5a5a5a5a5a5a5aULL)
#define UNHIDE(x)	((void *)((x) ^ 0x5a5a5a5a5a5a5a5aULL))

/*
 * Is @p an allocated object of the heap? -1 if the kernel cannot say. Not
 * inlined: the query's copy of @p would stay in the caller's frame and keep
 * the object alive.
 */
static __attribute__((noinline, unused)) int gcu_allocated(const void *p)
{
	struct gcmem_query q = {
		.size = sizeof(q),
		.addr = (uintptr_t)p,
	};

	if (ioctl(gcu_heap()->fd, GCMEM_IOC_QUERY, &q))
		return -1;
	return !!(q.result & GCMEM_QUERY_ALLOCATED);
}

/* Clobber the stack below the caller, where dead frames held pointers. */
static __attribute__((noinline, unused)) void scrub_stack(void)
{
	volatile uint64_t buf[2048];

	/* Volatile stores: a memset() of a dead array may be optimized out. */
	for (size_t i = 0; i < sizeof(buf) / sizeof(buf[0]); i++)
		buf[i] = 0;
}

static inline struct gcu_heap_stats gcu_stats_now(void)
{
	struct gcu_heap_stats st;

	__builtin_memset(&st, 0, sizeof(st));
	gcu_stats(&st);
	return st;
}

/*
 * Collect in @mode, every cycle: a GCU_MODE_CONCURRENT heap whatever its
 * size (the tests' heaps are mostly below gcu_set_concurrent_min()'s
 * default, which would have them collect stopped).
 */
static inline int gcu_set_mode_always(int mode)
{
	return gcu_set_mode(mode) || gcu_set_concurrent_min(0) ? -1 : 0;
}

#endif /* GCU_UTIL_H */
