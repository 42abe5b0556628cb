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
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(GCB_GCMEM)
#include "gcuser.h"
#define GCB_NAME	"gcmem"
#define gcb_alloc(n)	gcu_malloc(n)
#define gcb_alloc_atomic(n) gcu_malloc_atomic(n)
#define gcb_free(p)	do { } while (0)
#elif defined(GCB_BDWGC)
#include <gc.h>
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

int main(void)
{
	const char *d = getenv("GCB_DEPTH");
	struct node *long_lived;
	double *array, start, elapsed;
	int depth, ok;
	long i;

	if (d && atoi(d) >= 8 && atoi(d) <= 24) {
		stretch_depth = atoi(d);
		long_lived_depth = max_depth = stretch_depth - 2;
	}
#if defined(GCB_GCMEM)
	if (gcu_init()) {
		fprintf(stderr, "gcbench: gcu_init: %s\n", strerror(errno));
		return 1;
	}
#elif defined(GCB_BDWGC)
	GC_INIT();
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

#if defined(GCB_GCMEM)
	{
		struct gcu_heap_stats st;

		gcu_stats(&st);
		printf("GCBENCH %s time_s=%.3f cycles=%llu pause_total_ms=%.3f pause_max_ms=%.3f peak_mib=%.1f %s\n",
		       GCB_NAME, elapsed, (unsigned long long)st.cycles,
		       st.pause_total_ns / 1e6, st.pause_max_ns / 1e6,
		       st.peak_committed / 1048576.0, ok ? "ok" : "CORRUPT");
	}
#else
	printf("GCBENCH %s time_s=%.3f %s\n", GCB_NAME, elapsed,
	       ok ? "ok" : "CORRUPT");
#endif
	return ok ? 0 : 1;
}
