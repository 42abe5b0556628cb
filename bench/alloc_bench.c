// SPDX-License-Identifier: GPL-2.0
/*
 * Small-object allocation rate of one allocator. This file is built three
 * times, once per allocator (see bench/README.md):
 *
 *   bench-gcmem   -DBENCH_GCMEM  libgcuser: gcu_malloc, gcu_malloc_atomic,
 *                                collector on (default pacing), and again
 *                                after gcu_set_gcpercent(-1)
 *   bench-bdwgc   -DBENCH_BDWGC  Debian's static libgc.a: GC_MALLOC and
 *                                GC_MALLOC_ATOMIC (thread-local allocation),
 *                                collector on, and again after GC_disable()
 *   bench-glibc   -DBENCH_GLIBC  malloc + free in batches of BATCH objects,
 *                                and malloc alone (no free)
 *
 * Built with -DBENCH_GLIBC, -DBENCH_MALLOC_NAME='"jemalloc"' and linked
 * with another malloc (make bench-host: jemalloc, mimalloc), it measures
 * that malloc under its own name.
 *
 * Workload, the same for every allocator: ALLOCS allocations per run, split
 * evenly over 1 or 2 threads, of either 32 bytes or sizes 16..128 from a
 * fixed pseudo-random sequence; the first word of every object is written.
 * Nothing is kept live. Each run is a fresh child process (so every run
 * starts from an empty heap), repeated REPS times.
 *
 * Output, one line each, for bench/report.sh:
 *   BENCHINFO key=value...                          setup and configuration
 *   BENCHCHECK ALLOC KIND THREADS ok|FAIL detail      correctness, untimed
 *   BENCH ALLOC KIND SIZES THREADS ALLOCS SECONDS RATE REFILLS REP key=value...
 *   BENCHFAIL ALLOC KIND SIZES THREADS REP reason
 * ALLOC is gcmem, gcmem-nogc, bdwgc, bdwgc-nogc, glibc or glibc-nofree
 * (or another malloc's name, and -nofree);
 * KIND is ptr
 * (conservatively scanned), atomic (never scanned) or - (glibc); SIZES is
 * 32 or 16-128; SECONDS is the wall time from the moment all threads start
 * allocating to the moment the last one finishes; RATE is ALLOCS / SECONDS;
 * REFILLS counts GCMEM_IOC_REFILL calls in the timed region (gcmem; "-"
 * elsewhere). Exit status 0 when every run and check succeeded.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(BENCH_GCMEM) + defined(BENCH_BDWGC) + defined(BENCH_GLIBC) != 1
#error "define exactly one of BENCH_GCMEM, BENCH_BDWGC, BENCH_GLIBC"
#endif

#ifdef BENCH_GCMEM
#include <sys/ioctl.h>
#include <linux/gcmem.h>
#include "gcuser.h"
#endif

#ifdef BENCH_BDWGC
/*
 * Threads are created with plain pthread_create() and register themselves
 * (GC_register_my_thread), so no pthread_create redirection is wanted.
 */
#define GC_THREADS
#define GC_NO_THREAD_REDIRECTS
#include "bdwgc_fair.h"
#endif

#define MAX_THREADS	2
#define SIZES_LEN	4096		/* a power of two */
#define SIZE_MIN	16
#define SIZE_MAX_	128
#define FIXED_SIZE	32
#define BATCH		1024		/* glibc: objects per malloc/free round */
#define CHECK_OBJS	100000		/* per thread, in the correctness check */

#define DEFAULT_ALLOCS	4000000
#define DEFAULT_REPS	5
#define DEFAULT_TIMEOUT	300		/* seconds per child process */

enum kind { KIND_PTR, KIND_ATOMIC, KIND_NONE };
static const char *const kind_name[] = { "ptr", "atomic", "-" };

/* One allocator configuration of this binary. */
struct variant {
	const char *name;
	enum kind kind;
	int flag;	/* gcmem, bdwgc: collector off; glibc: no free */
};

static const struct variant variants[] = {
#ifdef BENCH_GCMEM
	{ "gcmem", KIND_PTR, 0 },
	{ "gcmem", KIND_ATOMIC, 0 },
	{ "gcmem-nogc", KIND_PTR, 1 },
	{ "gcmem-nogc", KIND_ATOMIC, 1 },
#endif
#ifdef BENCH_BDWGC
	{ "bdwgc", KIND_PTR, 0 },
	{ "bdwgc", KIND_ATOMIC, 0 },
	{ "bdwgc-nogc", KIND_PTR, 1 },
	{ "bdwgc-nogc", KIND_ATOMIC, 1 },
#endif
#ifdef BENCH_GLIBC
#ifndef BENCH_MALLOC_NAME
#define BENCH_MALLOC_NAME	"glibc"
#endif
	{ BENCH_MALLOC_NAME, KIND_NONE, 0 },
	{ BENCH_MALLOC_NAME "-nofree", KIND_NONE, 1 },
#endif
};
#define NVARIANTS	(sizeof(variants) / sizeof(variants[0]))

/* Request sizes, indexed by allocation number modulo SIZES_LEN. */
static uint16_t sizes_fixed[SIZES_LEN];
static uint16_t sizes_mixed[SIZES_LEN];

static uint64_t opt_allocs = DEFAULT_ALLOCS;
static unsigned int opt_reps = DEFAULT_REPS;
static unsigned int opt_timeout = DEFAULT_TIMEOUT;
static unsigned int opt_round = 1;
static int opt_threads[MAX_THREADS] = { 1, 2 };
static int opt_nthreads = 2;
static int opt_check = 1;

/* What one worker thread does and what it measured. */
struct worker {
	pthread_t tid;
	const struct variant *v;
	const uint16_t *sizes;
	uint64_t n;
	int check;
	pthread_barrier_t *start;
	pthread_barrier_t *filled;	/* check: all threads have filled */
	struct timespec t0, tq, t1;	/* start, first quarter done, end */
	char err[160];
};

static double ts_sec(const struct timespec *t)
{
	return (double)t->tv_sec + (double)t->tv_nsec * 1e-9;
}

static double tv_diff(const struct timeval *a, const struct timeval *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	       (double)(b->tv_usec - a->tv_usec) * 1e-6;
}

/* Keep @p and the stores through it, whatever the optimizer thinks. */
static inline void keep(void *p)
{
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

/* ---- the allocators ------------------------------------------------------ */

#ifdef BENCH_GCMEM
#define ALLOC_PTR(sz)		gcu_malloc(sz)
#define ALLOC_ATOMIC(sz)	gcu_malloc_atomic(sz)

static int gcmem_have_ioctl(unsigned int cmd)
{
	return !!(gcu_heap()->ioctls & (1ULL << (cmd - GCMEM_CMD_BASE)));
}

/*
 * The limit the runs get: 3/4 of RAM, within what the arena allows, so that
 * gcmem-nogc, whose heap only grows, gets through a run.
 */
static uint64_t gcmem_bench_limit(void)
{
	const struct gcu_heap_info *h = gcu_heap();
	struct sysinfo si;
	uint64_t want;

	if (sysinfo(&si))
		return h->limit;
	want = (uint64_t)si.totalram * si.mem_unit / 4 * 3;
	if (want > h->arena_size)
		want = h->arena_size;
	want -= want % h->chunk_size;
	return want > h->limit ? want : h->limit;
}

/*
 * gcmem as it comes (collector on, default pacing), or with pacing off
 * (gcu_set_gcpercent(-1): it then collects only at the heap's limit, which
 * a run does not reach).
 */
static int alloc_setup(const struct variant *v, char *err, size_t errlen)
{
	uint64_t limit;

	if (gcu_init()) {
		snprintf(err, errlen, "gcu_init: %s", strerror(errno));
		return -1;
	}
	limit = gcmem_bench_limit();
	if (limit > gcu_heap()->limit && gcu_set_limit(limit)) {
		snprintf(err, errlen, "gcu_set_limit(%" PRIu64 "): %s", limit,
			 strerror(errno));
		return -1;
	}
	if (v->flag && gcu_set_gcpercent(-1)) {
		snprintf(err, errlen, "gcu_set_gcpercent(-1): %s",
			 strerror(errno));
		return -1;
	}
	return 0;
}

static int alloc_thread_enter(char *err, size_t errlen)
{
	if (gcu_thread_register()) {
		snprintf(err, errlen, "gcu_thread_register: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void alloc_thread_exit(void)
{
	/* libgcuser unregisters the thread when it exits. */
}

/* A contiguous snapshot of the counters the report shows. */
struct counters {
	int ok;
	struct gcu_heap_stats st;
};

static void counters_read(struct counters *c)
{
	memset(c, 0, sizeof(*c));
	c->ok = !gcu_stats(&c->st);
}

static void counters_print(const struct counters *a, const struct counters *b,
			   char *refills, size_t rlen, char *extra, size_t elen)
{
	if (!a->ok || !b->ok) {
		snprintf(refills, rlen, "?");
		snprintf(extra, elen, "stats=failed");
		return;
	}
	snprintf(refills, rlen, "%" PRIu64, b->st.refills - a->st.refills);
	snprintf(extra, elen,
		 "collections=%" PRIu64 " pause_total_ms=%.1f pause_max_ms=%.2f"
		 " abandoned=%" PRIu64 " small_allocated=%" PRIu64
		 " peak_committed_mib=%" PRIu64 " spans=%" PRIu64
		 " pmd_faults=%" PRIu64 " pte_faults=%" PRIu64 " limit_mib=%" PRIu64
		 " stop_ms=%.1f mark_ms=%.1f sweep_ms=%.1f",
		 b->st.cycles - a->st.cycles,
		 (double)(b->st.pause_total_ns - a->st.pause_total_ns) / 1e6,
		 (double)b->st.pause_max_ns / 1e6,
		 b->st.abandoned - a->st.abandoned,
		 b->st.small_allocated - a->st.small_allocated,
		 b->st.peak_committed >> 20, b->st.spans,
		 b->st.pmd_faults - a->st.pmd_faults,
		 b->st.pte_faults - a->st.pte_faults, b->st.limit >> 20,
		 (double)(b->st.stop_total_ns - a->st.stop_total_ns) / 1e6,
		 (double)(b->st.mark_total_ns - a->st.mark_total_ns) / 1e6,
		 (double)(b->st.sweep_total_ns - a->st.sweep_total_ns) / 1e6);
}

/* Where an object lives, as the kernel sees it ("" when it looks right). */
static void check_object(void *p, size_t size, char *err, size_t errlen)
{
	const struct gcu_heap_info *h = gcu_heap();
	struct gcmem_query q = { .size = sizeof(q) };
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)h->arena;

	if (a < lo || a + size > lo + h->arena_size) {
		snprintf(err, errlen, "%p (%zu bytes) outside the arena", p, size);
		return;
	}
	if (!gcmem_have_ioctl(GCMEM_CMD_QUERY))
		return;
	q.addr = a;
	if (ioctl(h->fd, GCMEM_IOC_QUERY, &q)) {
		snprintf(err, errlen, "GCMEM_IOC_QUERY(%p): %s", p,
			 strerror(errno));
		return;
	}
	if (!(q.result & GCMEM_QUERY_IN_SPAN) ||
	    !(q.result & GCMEM_QUERY_ALLOCATED) || q.obj_start != a ||
	    q.obj_size < size)
		snprintf(err, errlen,
			 "query(%p, %zu bytes): result %#x start %#llx size %llu class %u",
			 p, size, q.result, (unsigned long long)q.obj_start,
			 (unsigned long long)q.obj_size, q.size_class);
}

/* The heap's size classes up to the largest request, with span sizes. */
static void print_classes(void)
{
	const volatile struct gcmem_control *ctl = gcu_heap()->control;
	unsigned int i, n = ctl->nclasses;

	printf("BENCHINFO gcmem nclasses=%u limit_mib=%" PRIu64
	       " arena_gib=%zu features=%#" PRIx64 " ioctls=%#" PRIx64 "\n",
	       n, gcu_heap()->limit >> 20,
	       gcu_heap()->arena_size >> 30, gcu_heap()->features,
	       gcu_heap()->ioctls);
	printf("BENCHINFO gcmem bench_limit_mib=%" PRIu64 "\n",
	       gcmem_bench_limit() >> 20);
	for (i = 1; i < n && i < GCMEM_MAX_CLASSES; i++) {
		unsigned int sz = ctl->class_size[i], np = ctl->class_npages[i];

		if (!sz)
			continue;
		printf("BENCHINFO gcmem class=%u size=%u npages=%u objs_per_span=%u\n",
		       i, sz, np, np * GCMEM_PAGE_SIZE / sz);
		if (sz >= SIZE_MAX_)
			break;
	}
}

/*
 * What a cheap ioctl costs here (GCMEM_IOC_STATS: a lock and a copy): the
 * floor under the cost of a refill, which under TCG is mostly the system
 * call itself.
 */
static void print_ioctl_cost(void)
{
	struct gcu_heap_stats st;
	struct timespec a, b;
	int i, n = 20000;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++)
		if (gcu_stats(&st))
			return;
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("BENCHINFO gcmem stats_ioctl_us=%.2f\n",
	       (ts_sec(&b) - ts_sec(&a)) * 1e6 / n);
}
#endif /* BENCH_GCMEM */

#ifdef BENCH_BDWGC
#define ALLOC_PTR(sz)		GC_MALLOC(sz)
#define ALLOC_ATOMIC(sz)	GC_MALLOC_ATOMIC(sz)

/* bdwgc configured fairly: see bdwgc_fair.h and bench/README.md. */
static int alloc_setup(const struct variant *v, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	bench_bdwgc_init();
	if (v->flag)
		GC_disable();
	return 0;
}

static int alloc_thread_enter(char *err, size_t errlen)
{
	struct GC_stack_base sb;
	int rc;

	if (GC_get_stack_base(&sb) != GC_SUCCESS) {
		snprintf(err, errlen, "GC_get_stack_base failed");
		return -1;
	}
	rc = GC_register_my_thread(&sb);
	if (rc != GC_SUCCESS) {
		snprintf(err, errlen, "GC_register_my_thread: %d", rc);
		return -1;
	}
	return 0;
}

static void alloc_thread_exit(void)
{
	GC_unregister_my_thread();
}

struct counters {
	GC_word gc_no;
	size_t heap;
};

static void counters_read(struct counters *c)
{
	c->gc_no = GC_get_gc_no();
	c->heap = GC_get_heap_size();
}

static void counters_print(const struct counters *a, const struct counters *b,
			   char *refills, size_t rlen, char *extra, size_t elen)
{
	snprintf(refills, rlen, "-");
	snprintf(extra, elen, "collections=%lu heap_kib=%zu markers=%d",
		 (unsigned long)(b->gc_no - a->gc_no), b->heap >> 10,
		 GC_get_parallel() + 1);
}

static void check_object(void *p, size_t size, char *err, size_t errlen)
{
	(void)p;
	(void)size;
	(void)err;
	(void)errlen;
}
#endif /* BENCH_BDWGC */

#ifdef BENCH_GLIBC
#define ALLOC_PTR(sz)		malloc(sz)
#define ALLOC_ATOMIC(sz)	malloc(sz)

static int alloc_setup(const struct variant *v, char *err, size_t errlen)
{
	(void)v;
	(void)err;
	(void)errlen;
	return 0;
}

static int alloc_thread_enter(char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	return 0;
}

static void alloc_thread_exit(void)
{
}

struct counters {
	struct mallinfo2 mi;
};

static void counters_read(struct counters *c)
{
	c->mi = mallinfo2();
}

static void counters_print(const struct counters *a, const struct counters *b,
			   char *refills, size_t rlen, char *extra, size_t elen)
{
	(void)a;
	snprintf(refills, rlen, "-");
	/* mallinfo2: non-mmapped bytes of all arenas. */
	snprintf(extra, elen, "arena_mib=%zu", b->mi.arena >> 20);
}

static void check_object(void *p, size_t size, char *err, size_t errlen)
{
	(void)p;
	(void)size;
	(void)err;
	(void)errlen;
}
#endif /* BENCH_GLIBC */

/* ---- the timed loops ----------------------------------------------------- */

/*
 * The loops call the allocator directly (no function pointer), one loop per
 * kind, and differ only in the allocation call.
 */
#define DEFINE_LOOP(fn, ALLOC)						\
static int fn(const uint16_t *sizes, uint64_t n)			\
{									\
	uint64_t i;							\
									\
	for (i = 0; i < n; i++) {					\
		uint64_t *p = ALLOC(sizes[i & (SIZES_LEN - 1)]);	\
									\
		if (__builtin_expect(!p, 0))				\
			return -1;					\
		*p = i;							\
		keep(p);						\
	}								\
	return 0;							\
}

DEFINE_LOOP(loop_ptr, ALLOC_PTR)
DEFINE_LOOP(loop_atomic, ALLOC_ATOMIC)

#ifdef BENCH_GLIBC
/* malloc BATCH objects, then free them in allocation order. */
static int loop_malloc_free(const uint16_t *sizes, uint64_t n)
{
	uint64_t *batch[BATCH];
	uint64_t i = 0, j, m;

	while (i < n) {
		m = n - i < BATCH ? n - i : BATCH;
		for (j = 0; j < m; j++) {
			uint64_t *p = malloc(sizes[(i + j) & (SIZES_LEN - 1)]);

			if (__builtin_expect(!p, 0))
				return -1;
			*p = i + j;
			batch[j] = p;
			keep(p);
		}
		for (j = 0; j < m; j++)
			free(batch[j]);
		i += m;
	}
	return 0;
}
#endif

static int timed_loop(const struct variant *v, const uint16_t *sizes,
		      uint64_t n)
{
#ifdef BENCH_GLIBC
	if (!v->flag)
		return loop_malloc_free(sizes, n);
#endif
	return v->kind == KIND_ATOMIC ? loop_atomic(sizes, n)
				      : loop_ptr(sizes, n);
}

/*
 * The untimed check: CHECK_OBJS objects of the mixed sizes, each checked
 * (non-NULL, 16-byte aligned, zeroed where the allocator promises it, and
 * for gcmem inside the arena and known to the kernel), then filled with a
 * pattern; once every thread has filled its objects, each one verifies its
 * own, which catches objects that overlap, within a thread or across.
 */
static int check_loop(struct worker *w)
{
	const struct variant *v = w->v;
	size_t i, k, n = CHECK_OBJS;
	unsigned char **objs;
	int zeroed, ret = -1;

#ifdef BENCH_GCMEM
	zeroed = 1;
#elif defined(BENCH_BDWGC)
	zeroed = v->kind == KIND_PTR;
#else
	zeroed = 0;
#endif
#ifdef BENCH_BDWGC
	/* Scanned by the collector, so the objects stay reachable. */
	objs = GC_MALLOC(n * sizeof(*objs));
#elif defined(BENCH_GCMEM)
	objs = gcu_malloc(n * sizeof(*objs));	/* likewise */
#else
	objs = malloc(n * sizeof(*objs));
#endif
	if (!objs) {
		snprintf(w->err, sizeof(w->err), "no memory for the check");
		goto filled;
	}
	for (i = 0; i < n; i++) {
		size_t sz = w->sizes[i & (SIZES_LEN - 1)];
		unsigned char *p = v->kind == KIND_ATOMIC ? ALLOC_ATOMIC(sz)
							  : ALLOC_PTR(sz);

		objs[i] = p;
		if (!p) {
			snprintf(w->err, sizeof(w->err),
				 "allocation %zu (%zu bytes) returned NULL: %s",
				 i, sz, strerror(errno));
			goto filled;
		}
		if ((uintptr_t)p % 16) {
			snprintf(w->err, sizeof(w->err),
				 "allocation %zu (%zu bytes) at %p: not 16-byte aligned",
				 i, sz, (void *)p);
			goto filled;
		}
		for (k = 0; zeroed && k < sz; k++) {
			if (p[k]) {
				snprintf(w->err, sizeof(w->err),
					 "allocation %zu (%zu bytes) at %p: byte %zu is %#x, not zero",
					 i, sz, (void *)p, k, p[k]);
				goto filled;
			}
		}
		if (i % 997 == 0) {
			check_object(p, sz, w->err, sizeof(w->err));
			if (w->err[0])
				goto filled;
		}
		memset(p, (int)((i * 131 + (uintptr_t)w) & 0xff), sz);
	}
	ret = 0;
filled:
	pthread_barrier_wait(w->filled);
	for (i = 0; ret == 0 && i < n; i++) {
		size_t sz = w->sizes[i & (SIZES_LEN - 1)];
		unsigned char want = (unsigned char)((i * 131 + (uintptr_t)w) & 0xff);

		for (k = 0; k < sz; k++) {
			if (objs[i][k] != want) {
				snprintf(w->err, sizeof(w->err),
					 "object %zu (%zu bytes) at %p: byte %zu is %#x, wrote %#x (overlap?)",
					 i, sz, (void *)objs[i], k, objs[i][k], want);
				ret = -1;
				break;
			}
		}
	}
	/* The child process exits soon: nothing is freed. */
	return ret;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int rc;

	if (alloc_thread_enter(w->err, sizeof(w->err))) {
		pthread_barrier_wait(w->start);
		if (w->check)
			pthread_barrier_wait(w->filled);
		return NULL;
	}
	pthread_barrier_wait(w->start);
	if (w->check) {
		check_loop(w);
	} else {
		clock_gettime(CLOCK_MONOTONIC, &w->t0);
		rc = timed_loop(w->v, w->sizes, w->n / 4);
		clock_gettime(CLOCK_MONOTONIC, &w->tq);
		if (!rc)
			rc = timed_loop(w->v, w->sizes, w->n - w->n / 4);
		clock_gettime(CLOCK_MONOTONIC, &w->t1);
		if (rc)
			snprintf(w->err, sizeof(w->err),
				 "allocation returned NULL: %s", strerror(errno));
	}
	alloc_thread_exit();
	return NULL;
}

/* ---- one run, in a child process ----------------------------------------- */

struct run {
	const struct variant *v;
	const char *sizes_name;
	const uint16_t *sizes;
	int threads;
	unsigned int rep;	/* 0: the correctness check */
};

static void print_fail(const struct run *r, const char *why)
{
	if (r->rep == 0)
		printf("BENCHCHECK %s %s %d FAIL %s\n", r->v->name,
		       kind_name[r->v->kind], r->threads, why);
	else
		printf("BENCHFAIL %s %s %s %d %u %s\n", r->v->name,
		       kind_name[r->v->kind], r->sizes_name, r->threads, r->rep,
		       why);
}

static int child_run(const struct run *r)
{
	struct worker w[MAX_THREADS];
	pthread_barrier_t start, filled;
	struct counters before, after;
	struct rusage ru0, ru1;
	char err[160] = "", refills[32], extra[256];
	double t0 = 0, t1 = 0, first = 0, tq = 0, secs, warm;
	uint64_t total, rest;
	int i, rc;

	if (alloc_setup(r->v, err, sizeof(err))) {
		print_fail(r, err);
		return 1;
	}
	pthread_barrier_init(&start, NULL, r->threads);
	pthread_barrier_init(&filled, NULL, r->threads);
	memset(w, 0, sizeof(w));
	counters_read(&before);
	getrusage(RUSAGE_SELF, &ru0);
	for (i = 0; i < r->threads; i++) {
		w[i].v = r->v;
		w[i].sizes = r->sizes;
		w[i].n = opt_allocs / r->threads;
		w[i].check = r->rep == 0;
		w[i].start = &start;
		w[i].filled = &filled;
		rc = pthread_create(&w[i].tid, NULL, worker_main, &w[i]);
		if (rc) {
			snprintf(err, sizeof(err), "pthread_create: %s",
				 strerror(rc));
			print_fail(r, err);
			fflush(stdout);
			_exit(1);	/* the others wait at the barrier */
		}
	}
	for (i = 0; i < r->threads; i++)
		pthread_join(w[i].tid, NULL);
	getrusage(RUSAGE_SELF, &ru1);
	counters_read(&after);

	for (i = 0; i < r->threads; i++) {
		if (w[i].err[0]) {
			snprintf(err, sizeof(err), "thread %d: %s", i, w[i].err);
			print_fail(r, err);
			return 1;
		}
	}
	if (r->rep == 0) {
		printf("BENCHCHECK %s %s %d ok %d objects per thread\n",
		       r->v->name, kind_name[r->v->kind], r->threads, CHECK_OBJS);
		return 0;
	}

	total = rest = 0;
	for (i = 0; i < r->threads; i++) {
		double a = ts_sec(&w[i].t0), b = ts_sec(&w[i].t1);
		double q = ts_sec(&w[i].tq);

		if (i == 0 || a < t0)
			t0 = a;
		if (i == 0 || b > t1)
			t1 = b;
		if (i == 0 || b < first)
			first = b;
		if (i == 0 || q < tq)
			tq = q;
		total += w[i].n;
		rest += w[i].n - w[i].n / 4;
	}
	secs = t1 - t0;
	/*
	 * The rate once the heap is warm: the last three quarters of each
	 * thread's allocations, from the first thread's quarter to the last
	 * thread's end (what another thread still did of its first quarter
	 * meanwhile is not counted: never more than the rate was).
	 */
	warm = t1 > tq ? (double)rest / (t1 - tq) : 0.0;
	counters_print(&before, &after, refills, sizeof(refills), extra,
		       sizeof(extra));
	/*
	 * CPU time of the whole process, thread start and exit included;
	 * finish_ms: how long the first thread to finish waited for the last.
	 */
	printf("BENCH %s %s %s %d %" PRIu64 " %.6f %.0f %s %u user_s=%.3f sys_s=%.3f finish_ms=%.2f warm_rate=%.0f %s\n",
	       r->v->name, kind_name[r->v->kind], r->sizes_name, r->threads,
	       total, secs, secs > 0 ? (double)total / secs : 0.0, refills,
	       r->rep, tv_diff(&ru0.ru_utime, &ru1.ru_utime),
	       tv_diff(&ru0.ru_stime, &ru1.ru_stime), (t1 - first) * 1e3,
	       warm, extra);
	return 0;
}

/* Run @r in a fresh child process; 0 if it succeeded. */
static int run_in_child(const struct run *r)
{
	char why[96];
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		snprintf(why, sizeof(why), "fork: %s", strerror(errno));
		print_fail(r, why);
		return -1;
	}
	if (pid == 0) {
		int rc;

		alarm(opt_timeout);
		rc = child_run(r);
		fflush(stdout);
		_exit(rc);
	}
	if (waitpid(pid, &status, 0) < 0) {
		snprintf(why, sizeof(why), "waitpid: %s", strerror(errno));
		print_fail(r, why);
		return -1;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status) ? -1 : 0;
	if (WTERMSIG(status) == SIGALRM)
		snprintf(why, sizeof(why), "timeout: still running after %us",
			 opt_timeout);
	else
		snprintf(why, sizeof(why), "killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	print_fail(r, why);
	return -1;
}

/* ---- setup --------------------------------------------------------------- */

static void make_sizes(void)
{
	uint32_t x = 0x9e3779b9;	/* xorshift32, fixed seed */
	int i;

	for (i = 0; i < SIZES_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		sizes_mixed[i] = SIZE_MIN + x % (SIZE_MAX_ - SIZE_MIN + 1);
		sizes_fixed[i] = FIXED_SIZE;
	}
}

static unsigned long env_ulong(const char *name, unsigned long def)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || !v) {
		fprintf(stderr, "alloc_bench: ignoring %s=%s\n", name, s);
		return def;
	}
	return v;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-n ALLOCS] [-r REPS] [-t THREADS[,THREADS]] [-T SECONDS] [-C]\n"
		"  -n  allocations per run, over all threads (default %d; env BENCH_ALLOCS)\n"
		"  -r  timed runs per configuration (default %d; env BENCH_REPS)\n"
		"  -t  thread counts, 1 and/or 2 (default 1,2)\n"
		"  -T  seconds before a run is killed (default %d; env BENCH_TIMEOUT)\n"
		"  -C  skip the correctness check\n"
		"env BENCH_ROUND=N (N > 1): a later round of an interleaved run (see\n"
		"bench/README.md): runs are numbered after the earlier rounds' and\n"
		"the correctness check, done in round 1, is skipped\n"
		"env BENCH_ONLY=\"NAME KIND SIZES\" (\"-\" for any): only those runs\n",
		prog, DEFAULT_ALLOCS, DEFAULT_REPS, DEFAULT_TIMEOUT);
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	char *s, *tok;
	int c;

	opt_allocs = env_ulong("BENCH_ALLOCS", DEFAULT_ALLOCS);
	opt_reps = env_ulong("BENCH_REPS", DEFAULT_REPS);
	opt_timeout = env_ulong("BENCH_TIMEOUT", DEFAULT_TIMEOUT);
	opt_round = env_ulong("BENCH_ROUND", 1);
	while ((c = getopt(argc, argv, "n:r:t:T:C")) != -1) {
		switch (c) {
		case 'n':
			opt_allocs = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			opt_reps = strtoul(optarg, NULL, 0);
			break;
		case 'T':
			opt_timeout = strtoul(optarg, NULL, 0);
			break;
		case 't':
			opt_nthreads = 0;
			s = optarg;
			while ((tok = strsep(&s, ","))) {
				int t = atoi(tok);

				if (t < 1 || t > MAX_THREADS ||
				    opt_nthreads == MAX_THREADS)
					usage(argv[0]);
				opt_threads[opt_nthreads++] = t;
			}
			break;
		case 'C':
			opt_check = 0;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind != argc || !opt_allocs || !opt_reps || !opt_timeout ||
	    !opt_nthreads)
		usage(argv[0]);
}

#ifdef BENCH_GCMEM
/* Print the heap's geometry, from a child so that the runs start afresh. */
static int print_heap_info(void)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (gcu_init()) {
			printf("BENCHINFO gcmem gcu_init failed: %s\n",
			       strerror(errno));
			fflush(stdout);
			_exit(1);
		}
		print_classes();
		print_ioctl_cost();
		fflush(stdout);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
#endif

/*
 * BENCH_ONLY="NAME KIND SIZES" (say "gcmem ptr 32"; "-" for any): run only
 * the configurations it matches, for profiling one of them; the check runs
 * are skipped with the sizes they do not use.
 */
static bool wanted(const struct variant *v, const char *sizes)
{
	const char *only = getenv("BENCH_ONLY");
	char name[32], kind[16], sz[16];

	if (!only || sscanf(only, "%31s %15s %15s", name, kind, sz) != 3)
		return true;
	return (!strcmp(name, "-") || !strcmp(name, v->name)) &&
	       (!strcmp(kind, "-") || !strcmp(kind, kind_name[v->kind])) &&
	       (!strcmp(sz, "-") || !strcmp(sz, sizes));
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		const uint16_t *table;
	} size_sets[] = {
		{ "32", sizes_fixed },
		{ "16-128", sizes_mixed },
	};
	unsigned int vi, si, ti, rep, failed = 0;
	struct utsname u;
	struct sysinfo sinfo;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv);
	make_sizes();

	uname(&u);
	sysinfo(&sinfo);
	printf("BENCHINFO binary=%s kernel=%s cpus=%ld mem_mib=%llu allocs=%" PRIu64
	       " reps=%u round=%u batch=%d\n", argv[0], u.release,
	       sysconf(_SC_NPROCESSORS_ONLN),
	       (unsigned long long)sinfo.totalram * sinfo.mem_unit >> 20,
	       opt_allocs, opt_reps, opt_round, BATCH);
#ifdef BENCH_BDWGC
	printf("BENCHINFO bdwgc version=%u.%u.%u\n", GC_VERSION_MAJOR,
	       GC_VERSION_MINOR, GC_VERSION_MICRO);
#endif
#ifdef BENCH_GCMEM
	if (print_heap_info())
		failed++;
#endif

	for (vi = 0; vi < NVARIANTS; vi++) {
		const struct variant *v = &variants[vi];

		for (ti = 0; opt_check && opt_round == 1 &&
		     wanted(v, "16-128") && ti < (unsigned int)opt_nthreads;
		     ti++) {
			struct run r = { v, "16-128", sizes_mixed,
					 opt_threads[ti], 0 };

			if (run_in_child(&r))
				failed++;
		}
		for (si = 0; si < 2; si++) {
			if (!wanted(v, size_sets[si].name))
				continue;
			for (ti = 0; ti < (unsigned int)opt_nthreads; ti++) {
				for (rep = 1; rep <= opt_reps; rep++) {
					struct run r = { v, size_sets[si].name,
							 size_sets[si].table,
							 opt_threads[ti],
							 (opt_round - 1) * opt_reps + rep };

					if (run_in_child(&r))
						failed++;
				}
			}
		}
	}
	printf("BENCHINFO done failures=%u\n", failed);
	return failed ? 1 : 0;
}
