// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The demo `make run` shows, and the example of docs/allocation.md: open a
 * heap through libgcuser, allocate conservative, pointer-free and typed
 * objects from two threads, check them, and print what the kernel did.
 *
 * Build: cc -O2 demo.c $(pkg-config --cflags --libs gcuser)
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/gcmem.h>

#include "gcuser.h"

/* A typed node: only @left and @right hold pointers. */
struct node {
	struct node *left;
	uint64_t key;
	struct node *right;
	char name[16];
};

static gcu_type_t node_type;

static struct node *tree_insert(struct node *t, uint64_t key)
{
	struct node **link = &t, *n;

	while (*link)
		link = key < (*link)->key ? &(*link)->left : &(*link)->right;
	n = gcu_malloc_typed(node_type);
	if (!n)
		return NULL;
	n->key = key;
	snprintf(n->name, sizeof(n->name), "node-%llu", (unsigned long long)key);
	*link = n;
	return t;
}

static uint64_t tree_sum(const struct node *t, uint64_t *count)
{
	if (!t)
		return 0;
	++*count;
	return t->key + tree_sum(t->left, count) + tree_sum(t->right, count);
}

/* Each thread builds a list of strings and a tree, then checks both. */
static void *worker(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	struct node *tree = NULL;
	char **strings;
	uint64_t x = 88172645463325252ULL + id, sum = 0, count = 0, want = 0;
	size_t i, n = 20000, bad = 0;

	strings = gcu_malloc(n * sizeof(*strings));	/* a large object */
	if (!strings)
		return (void *)1;
	for (i = 0; i < n; i++) {
		strings[i] = gcu_malloc_atomic(16 + i % 100);
		if (!strings[i])
			return (void *)1;
		snprintf(strings[i], 16, "t%lu-%zu", (unsigned long)id, i);
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		tree = tree_insert(tree, x % 1000003);
		if (!tree)
			return (void *)1;
		want += x % 1000003;
	}
	for (i = 0; i < n; i++) {
		char expect[16];

		snprintf(expect, sizeof(expect), "t%lu-%zu", (unsigned long)id, i);
		bad += strcmp(expect, strings[i]) != 0;
	}
	sum = tree_sum(tree, &count);
	printf("demo: thread %lu: %zu strings, %llu tree nodes, %s\n",
	       (unsigned long)id, n, (unsigned long long)count,
	       !bad && sum == want && count == n ? "all intact" : "CORRUPT");
	return (void *)(uintptr_t)(bad || sum != want || count != n);
}

int main(void)
{
	const uint64_t mask = 1 << 0 | 1 << 2;	/* left, right */
	const volatile struct gcmem_control *ctl;
	const struct gcu_heap_info *h;
	struct gcu_heap_stats st;
	pthread_t th[2];
	void *ret;
	int i, failed = 0;

	if (gcu_init()) {
		fprintf(stderr, "demo: gcu_init: %s\n", strerror(errno));
		return 1;
	}
	h = gcu_heap();
	ctl = h->control;
	printf("demo: heap open: api %u, %s arena mappings, %u size classes (8 B to %u KiB), limit %llu MiB\n",
	       ctl->api_version,
	       h->features & GCMEM_FEATURE_PMD_MAP ? "2 MiB PMD" : "4 KiB PTE",
	       ctl->nclasses - 1, ctl->class_size[ctl->nclasses - 1] >> 10,
	       (unsigned long long)h->limit >> 20);

	node_type = gcu_type_register(sizeof(struct node), &mask);
	if (node_type == (gcu_type_t)-1) {
		fprintf(stderr, "demo: gcu_type_register: %s\n",
			strerror(errno));
		return 1;
	}
	for (i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i);
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], &ret);
		failed |= ret != NULL;
	}

	if (gcu_stats(&st)) {
		fprintf(stderr, "demo: gcu_stats: %s\n", strerror(errno));
		return 1;
	}
	printf("demo: %llu small objects in %llu spans, %llu large, %llu refills (one per %llu allocations)\n",
	       (unsigned long long)st.small_allocated,
	       (unsigned long long)st.spans,
	       (unsigned long long)st.large_objects,
	       (unsigned long long)st.refills,
	       (unsigned long long)(st.refills ?
				    st.small_allocated / st.refills : 0));
	printf("demo: heap in use %llu KiB, committed %llu MiB, %llu PMD / %llu PTE faults, %u thread(s) registered\n",
	       (unsigned long long)st.inuse_bytes >> 10,
	       (unsigned long long)st.committed >> 20,
	       (unsigned long long)st.pmd_faults,
	       (unsigned long long)st.pte_faults, st.threads);
	gcu_shutdown();
	printf("demo: %s\n", failed ? "FAILED" : "done");
	return failed;
}
