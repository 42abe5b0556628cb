// SPDX-License-Identifier: GPL-2.0
/*
 * GCBench: the binary-trees benchmark of Ellis, Kovac and Boehm, written
 * here from its published description.
 *
 * It stretches the heap with one deep tree, keeps a long-lived tree and a
 * long-lived array of doubles for the whole run, then for each depth from
 * GCB_MIN_DEPTH to GCB_MAX_DEPTH (step 2) builds many short-lived trees of
 * that depth, top-down (allocate a node, then its children) and bottom-up
 * (children first), as many as make up twice the stretch tree's nodes. At
 * the end the long-lived data must still be intact.
 *
 * One source, three allocators:
 *   -DGCB_GCMEM  gcu_malloc (libgcuser; collected by gcmem)
 *   -DGCB_BDWGC  GC_MALLOC (bdwgc)
 *   -DGCB_GLIBC  malloc, with every short-lived tree freed explicitly
 *
 * GCB_DEPTH=N in the environment scales the run: the stretch depth, the
 * others follow (long-lived = max = N - 2). The default is 18, the
 * published size. Prints one "GCBENCH ..." line of results.
 *
 * GCB_MARK_WORKERS=N sets the collector's mark threads: for gcmem it is
 * written to /sys/module/gcmem/parameters/mark_workers before gcu_init()
 * (root only); for bdwgc it is exported as GC_MARKERS before GC_INIT().
 * GCB_INCREMENTAL=1 has bdwgc collect incrementally (GC_enable_incremental()
 * after GC_INIT()). Built with -DGCB_SWEEP (the bench-gcb-* binaries of
 * `make bench`), a gcmem or bdwgc binary run without GCB_MARK_WORKERS runs
 * itself three times (fork + exec of /proc/self/exe): with 1 and 2
 * workers, stop-the-world, and with 2 concurrent (gcmem's GCU_MODE) or
 * incremental (bdwgc), and restores gcmem's parameter afterwards; with
 * BENCH_ROUND > GCB_ROUNDS in the environment it does nothing (GCBench runs
 * in the first GCB_ROUNDS rounds of `make bench`, whose report takes the
 * run with the median time of each configuration).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

/*
 * Rounds of `make bench` that run GCBench: one run of a configuration can
 * land in a slow spell of the host (a run whose own user time was a fifth
 * longer than the others' turned gcmem's lead over bdwgc into a lag).
 */
#define GCB_ROUNDS	3

#include "mark_workers.h"

#if defined(GCB_GCMEM)
#include "gcuser.h"
#define GCB_NAME	"gcmem"
#define gcb_alloc(n)	gcu_malloc(n)
#define gcb_alloc_atomic(n) gcu_malloc_atomic(n)
#define gcb_free(p)	do { } while (0)
#elif defined(GCB_BDWGC)
/* As alloc_bench.c: threads support (parallel markers), no redirection. */
#define GC_THREADS
#define GC_NO_THREAD_REDIRECTS
#include "bdwgc_fair.h"
#define GCB_NAME	"bdwgc"
#define gcb_alloc(n)	GC_MALLOC(n)
#define gcb_alloc_atomic(n) GC_MALLOC_ATOMIC(n)
#define gcb_free(p)	do { } while (0)
#elif defined(GCB_GLIBC)
#define GCB_NAME	"glibc"
#define gcb_alloc(n)	calloc(1, n)
#define gcb_alloc_atomic(n) calloc(1, n)
#define gcb_free(p)	free(p)
#else
#error "define GCB_GCMEM, GCB_BDWGC or GCB_GLIBC"
#endif

struct node {
	struct node *left;
	struct node *right;
	long i, j;
};

static int stretch_depth = 18, long_lived_depth = 16, min_depth = 4,
	   max_depth = 16;
#define ARRAY_SIZE_DOUBLES	500000

static long tree_size(int depth)
{
	return (1L << (depth + 1)) - 1;
}

static long num_iters(int depth)
{
	return 2 * tree_size(stretch_depth) / tree_size(depth);
}

static struct node *new_node(struct node *l, struct node *r)
{
	struct node *n = gcb_alloc(sizeof(*n));

	if (!n) {
		fprintf(stderr, "gcbench: out of memory: %s\n",
			strerror(errno));
		exit(2);
	}
	n->left = l;
	n->right = r;
	return n;
}

/* Top-down: the node first, then its subtrees. */
static void populate(int depth, struct node *n)
{
	if (depth <= 0)
		return;
	n->left = new_node(NULL, NULL);
	n->right = new_node(NULL, NULL);
	populate(depth - 1, n->left);
	populate(depth - 1, n->right);
}

/* Bottom-up: the subtrees first. */
static struct node *make_tree(int depth)
{
	if (depth <= 0)
		return new_node(NULL, NULL);
	return new_node(make_tree(depth - 1), make_tree(depth - 1));
}

static void free_tree(struct node *n)
{
#if defined(GCB_GLIBC)
	if (!n)
		return;
	free_tree(n->left);
	free_tree(n->right);
	gcb_free(n);
#else
	(void)n;
#endif
}

static long check_tree(const struct node *n)
{
	if (!n)
		return 0;
	return 1 + check_tree(n->left) + check_tree(n->right);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void time_construction(int depth)
{
	long iters = num_iters(depth), i;
	struct node *t;

	for (i = 0; i < iters; i++) {
		t = new_node(NULL, NULL);
		populate(depth, t);
		free_tree(t);
	}
	for (i = 0; i < iters; i++) {
		t = make_tree(depth);
		free_tree(t);
	}
}



#if !defined(GCB_GLIBC)
static void print_hist(const uint64_t *h)
{
	int i;

	printf(" hist=");
	for (i = 0; i < 24; i++)
		printf("%s%llu", i ? "," : "", (unsigned long long)h[i]);
}

#endif

#if defined(GCB_SWEEP) && !defined(GCB_GLIBC)
/*
 * Run this binary again with 1 and then 2 mark workers, and once more with
 * 2 in gcmem's concurrent mode (GCU_MODE) or bdwgc's incremental mode
 * (GCB_INCREMENTAL=1: GC_enable_incremental()); 0 if all passed.
 */
static int sweep(char **argv)
{
	const int runs = 3;
	char saved[32] = "";
	int r, w, status, rc = 0;
	pid_t pid;

	if (read_param(saved, sizeof(saved)))
		saved[0] = 0;
	for (r = 1; r <= runs; r++) {
		char val[8];

		w = r == 1 ? 1 : 2;
		snprintf(val, sizeof(val), "%d", w);
		fflush(stdout);
		pid = fork();
		if (pid < 0) {
			perror("gcbench: fork");
			return 1;
		}
		if (pid == 0) {
			setenv("GCB_MARK_WORKERS", val, 1);
			setenv("GCU_MODE", r == 3 ? "concurrent" : "stw", 1);
			setenv("GCB_INCREMENTAL", r == 3 ? "1" : "0", 1);
			execv("/proc/self/exe", argv);
			perror("gcbench: exec");
			_exit(127);
		}
		if (waitpid(pid, &status, 0) < 0) {
			perror("gcbench: waitpid");
			return 1;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			printf("GCBENCHFAIL %s workers=%d status=0x%x\n",
			       GCB_NAME, w, status);
			rc = 1;
		}
	}
	if (saved[0] && write_param(saved))
		perror("gcbench: restoring " MARK_WORKERS_PARAM);
	return rc;
}
#endif

int main(int argc, char **argv)
{
	const char *d = getenv("GCB_DEPTH");
	const char *mw = getenv("GCB_MARK_WORKERS");
	struct node *long_lived;
	double *array, start, elapsed;
	struct rusage ru;
	int depth, ok;
	long i;

	(void)argc;
#if defined(GCB_SWEEP)
	{
		const char *r = getenv("BENCH_ROUND");

		if (r && atoi(r) > GCB_ROUNDS)
			return 0;
	}
#if !defined(GCB_GLIBC)
	if (!mw)
		return sweep(argv);
#endif
#endif
	(void)argv;
	if (!mw)
		mw = "-";

	if (d && atoi(d) >= 8 && atoi(d) <= 24) {
		stretch_depth = atoi(d);
		long_lived_depth = max_depth = stretch_depth - 2;
	}
#if defined(GCB_GCMEM)
	if (strcmp(mw, "-") && write_param(mw)) {
		fprintf(stderr, "gcbench: writing %s to %s: %s\n", mw,
			MARK_WORKERS_PARAM, strerror(errno));
		return 1;
	}
	if (gcu_init()) {
		fprintf(stderr, "gcbench: gcu_init: %s\n", strerror(errno));
		return 1;
	}
#elif defined(GCB_BDWGC)
	if (strcmp(mw, "-"))
		setenv("GC_MARKERS", mw, 1);
	/* The fair configuration of shared/KERNEL-NOTES.md. */
	bench_bdwgc_init();
	bench_bdw_pauses_watch();
	if (getenv("GCB_INCREMENTAL") && atoi(getenv("GCB_INCREMENTAL")) == 1)
		GC_enable_incremental();
#endif
	printf("gcbench (%s): stretch depth %d, long-lived depth %d, %d..%d\n",
	       GCB_NAME, stretch_depth, long_lived_depth, min_depth,
	       max_depth);
	start = now();

	free_tree(make_tree(stretch_depth));

	long_lived = new_node(NULL, NULL);
	populate(long_lived_depth, long_lived);
	array = gcb_alloc_atomic(ARRAY_SIZE_DOUBLES * sizeof(double));
	for (i = 0; i < ARRAY_SIZE_DOUBLES / 2; i++)
		array[i] = 1.0 / (i + 1);

	for (depth = min_depth; depth <= max_depth; depth += 2)
		time_construction(depth);

	ok = check_tree(long_lived) == tree_size(long_lived_depth) &&
	     array[1000] == 1.0 / 1001;
	elapsed = now() - start;

	getrusage(RUSAGE_SELF, &ru);
	/* Fields: see bench/README.md (GCBench). */
	printf("GCBENCH %s workers=%s depth=%d time_s=%.3f user_s=%.3f sys_s=%.3f",
	       GCB_NAME, mw, stretch_depth, elapsed,
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
#if defined(GCB_GCMEM)
	{
		struct gcu_heap_stats st;
		char cur[32];

		if (read_param(cur, sizeof(cur)))
			strcpy(cur, "?");
		gcu_stats(&st);
		printf(" mode=%s cycles=%llu pauses=%llu pause_total_ms=%.3f pause_max_ms=%.3f peak_mib=%.1f maxrss_mib=%.1f param=%s",
		       st.concurrent_cycles ? "concurrent" : "stw",
		       (unsigned long long)st.cycles,
		       (unsigned long long)st.pauses,
		       st.pause_total_ns / 1e6, st.pause_max_ns / 1e6,
		       st.peak_committed / 1048576.0, ru.ru_maxrss / 1024.0,
		       cur);
		print_hist(st.pause_hist);
	}
#elif defined(GCB_BDWGC)
	printf(" mode=%s cycles=%lu pauses=%llu pause_total_ms=%.3f pause_max_ms=%.3f peak_mib=%.1f maxrss_mib=%.1f markers=%d",
	       GC_is_incremental_mode() ? "incremental" : "stw",
	       (unsigned long)GC_get_gc_no(),
	       (unsigned long long)bench_bdw_npauses,
	       bench_bdw_pause_total * 1e3, bench_bdw_pause_max * 1e3,
	       GC_get_heap_size() / 1048576.0, ru.ru_maxrss / 1024.0,
	       GC_get_parallel() + 1);
	print_hist(bench_bdw_hist);
#else
	printf(" cycles=- pause_total_ms=- pause_max_ms=- peak_mib=%.1f maxrss_mib=%.1f",
	       ru.ru_maxrss / 1024.0, ru.ru_maxrss / 1024.0);
#endif
	printf(" %s\n", ok ? "ok" : "CORRUPT");
	return ok ? 0 : 1;
}
