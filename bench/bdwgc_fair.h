/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bdwgc set up fairly for a side-by-side run with gcmem, as
 * shared/KERNEL-NOTES.md measured: no interior pointers (so GC_MALLOC(32)
 * returns 32-byte objects), roots reset to the program's data segment (a
 * static binary would otherwise scan its whole image), threads allowed to
 * register, and the parallel markers started (a program that creates its
 * threads itself gets them only this way). GC_MARKERS in the environment
 * picks their number.
 */
#ifndef BENCH_BDWGC_FAIR_H
#define BENCH_BDWGC_FAIR_H

#include <gc.h>

extern char __data_start[], _end[];

static inline void bench_bdwgc_init(void)
{
	GC_set_all_interior_pointers(0);
	GC_INIT();
	GC_clear_roots();
	GC_add_roots(__data_start, _end);
	GC_allow_register_threads();
	GC_start_mark_threads();
}

#endif /* BENCH_BDWGC_FAIR_H */
