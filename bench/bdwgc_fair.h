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

#include <stdint.h>
#include <time.h>
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

/*
 * bdwgc's pauses: its world stops, timed from GC_EVENT_PRE_STOP_WORLD to
 * GC_EVENT_POST_START_WORLD, in stop-the-world and incremental mode alike
 * (an incremental collection stops the world more than once). The
 * histogram's buckets are gcmem's: [2^b, 2^(b+1)) microseconds.
 */
static double bench_bdw_t_stop, bench_bdw_pause_total, bench_bdw_pause_max;
static uint64_t bench_bdw_npauses, bench_bdw_hist[24];

static inline double bench_bdw_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void bench_bdw_event(GC_EventType ev)
{
	double d;
	int b;

	if (ev == GC_EVENT_PRE_STOP_WORLD) {
		bench_bdw_t_stop = bench_bdw_now();
	} else if (ev == GC_EVENT_POST_START_WORLD && bench_bdw_t_stop > 0) {
		d = bench_bdw_now() - bench_bdw_t_stop;
		bench_bdw_t_stop = 0;
		bench_bdw_npauses++;
		bench_bdw_pause_total += d;
		if (d > bench_bdw_pause_max)
			bench_bdw_pause_max = d;
		for (b = 0; b < 23 && d * 1e6 >= (double)(2UL << b); b++)
			;
		bench_bdw_hist[b]++;
	}
}

/* Time bdwgc's pauses from now on (after bench_bdwgc_init()). */
static inline void bench_bdw_pauses_watch(void)
{
	GC_set_on_collection_event(bench_bdw_event);
}

/* Forget the pauses so far (bench_bdw_t_stop: one may be under way). */
static inline void bench_bdw_pauses_reset(void)
{
	bench_bdw_npauses = 0;
	bench_bdw_pause_total = 0;
	bench_bdw_pause_max = 0;
	for (int b = 0; b < 24; b++)
		bench_bdw_hist[b] = 0;
}

#endif /* BENCH_BDWGC_FAIR_H */
