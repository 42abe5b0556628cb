// SPDX-License-Identifier: GPL-2.0
/*
 * What a C program moving from bdwgc expects of its collector:
 *
 *  - every thread is scanned, allocating or not: threads register as they
 *    start (the shared library interposes pthread_create(); a static link
 *    uses gcu_pthread_create() through GCU_REDIRECT_PTHREAD);
 *  - globals are roots: the data and bss of the program and of every
 *    shared object, dlopen()ed ones included;
 *  - fork(): the child has a copy of the heap at the same addresses, reads
 *    it, allocates and collects on its own; the parent is unaffected;
 *  - the malloc-style calls: realloc, free, strdup/strndup, base and size,
 *    uncollectable objects, large objects that ignore pointers off their
 *    first page.
 *
 * Built twice: statically (cprog_test), and linked with libgcuser.so
 * (cprog_shared_test, -DGCU_TEST_SHARED), where pthread_create() is the
 * library's and a library is dlopen()ed. The module runs in debug mode:
 * every cycle is re-checked by the checkmark pass.
 */
#ifndef GCU_TEST_SHARED
#define GCU_REDIRECT_PTHREAD	/* static: gcu_pthread_create() */
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <sys/wait.h>
#include <stdint.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "gcmem_util.h"
#include "gcu_util.h"

#define NODES	3000

struct node {
	struct node *next;
	uint64_t val;
	uint64_t check;
};

/* A list of @n nodes, the last allocated first; its head, in the clear. */
static __attribute__((noinline)) struct node *build(int n)
{
	struct node *head = NULL;

	for (int i = n - 1; i >= 0; i--) {
		struct node *nd = gcu_malloc(sizeof(*nd));

		if (!nd)
			return NULL;
		nd->next = head;
		nd->val = i;
		nd->check = ~(uint64_t)i;
		head = nd;
	}
	return head;
}

/* How many nodes from @n on are intact (stops at the first that is not). */
static __attribute__((noinline)) long walk(const struct node *n)
{
	long i = 0;

	while (n && n->val == (uint64_t)i && n->check == ~(uint64_t)i) {
		n = n->next;
		i++;
	}
	return i;
}

/*
 * Reuse what the last cycles freed: the thread gives its spans back, then
 * fills fresh objects with a pattern, which is what a freed list node
 * would then hold.
 */
static __attribute__((noinline)) void churn(int n)
{
	gcu_thread_unregister();
	for (int i = 0; i < n; i++) {
		char *p = gcu_malloc(sizeof(struct node));

		if (p)
			memset(p, 0xee, sizeof(struct node));
	}
}

static void collect_and_churn(void)
{
	scrub_stack();
	for (int i = 0; i < 3; i++)
		gcu_collect();
	churn(4 * NODES);
}

FIXTURE(cprog) {
	int dummy;
};

FIXTURE_SETUP(cprog)
{
	ASSERT_EQ(0, gcu_init()) TH_LOG("gcu_init: %s", strerror(errno));
	/* Only explicit collections: each test decides when. */
	ASSERT_EQ(0, gcu_set_gcpercent(-1));
}

FIXTURE_TEARDOWN(cprog)
{
	struct gcu_heap_stats st = gcu_stats_now();

	EXPECT_EQ(0, st.checkmark_failures);
	EXPECT_EQ(0, st.abandoned);
	gcu_shutdown();
}

/* Threads */

static int go[2];

/* Holds a list it never allocated, blocked until told to read it. */
static void *walker(void *arg)
{
	struct node *head = arg;
	char c;

	if (read(go[0], &c, 1) != 1)
		return (void *)-1L;
	return (void *)walk(head);
}

static __attribute__((noinline)) int spawn_walker(pthread_t *t)
{
	struct node *head = build(NODES);

	if (!head)
		return -1;
	return pthread_create(t, NULL, walker, head);
}

TEST_F(cprog, thread_that_never_allocates_keeps_its_list)
{
	pthread_t t;
	void *res;

	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, spawn_walker(&t));
	/* The walker's stack is the list's only root. */
	collect_and_churn();
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(0, pthread_join(t, &res));
	EXPECT_EQ(NODES, (long)res);
}

static void *waiter(void *arg)
{
	char c;

	(void)arg;
	return (void *)(long)read(go[0], &c, 1);
}

TEST_F(cprog, threads_registered_as_they_start_and_gone_at_exit)
{
	uint32_t before = gcu_stats_now().threads;
	pthread_t t[3];

	ASSERT_EQ(0, pipe(go));
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, waiter, NULL));
	/* pthread_create() returned: each is registered already. */
	EXPECT_EQ(before + 3, gcu_stats_now().threads);
	ASSERT_EQ(3, write(go[1], "ggg", 3));
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	EXPECT_EQ(before, gcu_stats_now().threads);
}

static uintptr_t built_hidden;

/* Builds a list and ends with it: by return, or by pthread_exit(). */
static void *builder(void *arg)
{
	struct node *head = build(NODES);

	__atomic_store_n(&built_hidden, HIDE(head), __ATOMIC_RELEASE);
	if (arg)
		pthread_exit(head);
	return head;
}

/*
 * An ended thread's result is an object only the C library's descriptor of
 * the thread refers to, in the ended thread's stack, which is not scanned
 * once the thread has unregistered. Cycles run between the end and the
 * join; the list must come out whole. A detached thread's result, which
 * nobody can read, is not kept.
 */
TEST_F(cprog, thread_result_kept_until_joined)
{
	uint32_t before = gcu_stats_now().threads;
	pthread_attr_t attr;
	pthread_t t;

	for (int how = 0; how < 2; how++) {
		void *res;

		ASSERT_EQ(0, pthread_create(&t, NULL, builder,
					    (void *)(long)how));
		/* Ended: unregistered at its exit (thread.c). */
		while (gcu_stats_now().threads != before)
			usleep(1000);
		collect_and_churn();
		ASSERT_EQ(0, pthread_join(t, &res));
		EXPECT_EQ(NODES, walk(res)) TH_LOG("how %d", how);
	}
	ASSERT_EQ(0, pthread_attr_init(&attr));
	ASSERT_EQ(0, pthread_attr_setdetachstate(&attr,
						 PTHREAD_CREATE_DETACHED));
	ASSERT_EQ(0, pthread_create(&t, &attr, builder, NULL));
	pthread_attr_destroy(&attr);
	while (gcu_stats_now().threads != before)
		usleep(1000);
	collect_and_churn();
	EXPECT_EQ(0, gcu_allocated(UNHIDE(built_hidden)));
}

static int step[2], ack[2];

/* Started before gcu_init(): registers when told to (the documented way). */
static void *early(void *arg)
{
	char c;

	(void)arg;
	if (read(step[0], &c, 1) != 1)
		return (void *)-1L;
	c = gcu_thread_register() ? 'n' : 'y';
	if (write(ack[1], &c, 1) != 1 || read(step[0], &c, 1) != 1)
		return (void *)-1L;
	return NULL;
}

/*
 * The limitation: a thread started while no heap is open is not
 * registered by gcu_init(); it counts once it registers itself (or
 * allocates).
 */
TEST(threads_started_before_init_are_not_registered_until_they_ask)
{
	struct gcu_heap_stats st;
	pthread_t t;
	char c;

	ASSERT_EQ(0, pipe(step));
	ASSERT_EQ(0, pipe(ack));
	ASSERT_EQ(0, pthread_create(&t, NULL, early, NULL));
	ASSERT_EQ(0, gcu_init());
	st = gcu_stats_now();
	EXPECT_EQ(1, st.threads);
	ASSERT_EQ(1, write(step[1], "r", 1));
	ASSERT_EQ(1, read(ack[0], &c, 1));
	EXPECT_EQ('y', c);
	st = gcu_stats_now();
	EXPECT_EQ(2, st.threads);
	ASSERT_EQ(1, write(step[1], "x", 1));
	ASSERT_EQ(0, pthread_join(t, NULL));
	gcu_shutdown();
}

/* Globals */

static struct node *bss_head;
static struct node *data_head = (struct node *)&data_head;

static __attribute__((noinline)) int set_globals(void)
{
	bss_head = build(NODES);
	data_head = build(NODES);
	return bss_head && data_head ? 0 : -1;
}

TEST_F(cprog, globals_keep_lists)
{
	ASSERT_EQ(0, set_globals());
	collect_and_churn();
	EXPECT_EQ(NODES, walk(bss_head));
	EXPECT_EQ(NODES, walk(data_head));
	EXPECT_LT(0, gcu_globals_bytes());
	bss_head = data_head = NULL;
}

static __attribute__((noinline)) uintptr_t set_bss_hidden(void)
{
	bss_head = build(2);
	gcu_malloc(sizeof(struct node));	/* not the last of its span */
	return HIDE(bss_head);
}

static __attribute__((noinline)) int allocated_hidden(uintptr_t h)
{
	return gcu_allocated(UNHIDE(h));
}

/* A program that registers its roots itself can turn globals off. */
TEST(no_globals_option)
{
	uintptr_t h;

	EXPECT_EQ(-1, gcu_init_flags(0x80));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, gcu_init_flags(GCU_INIT_NO_GLOBALS));
	ASSERT_EQ(0, gcu_set_gcpercent(-1));
	EXPECT_EQ(0, gcu_globals_bytes());
	EXPECT_EQ(0, gcu_stats_now().roots);
	h = set_bss_hidden();
	scrub_stack();
	ASSERT_EQ(0, gcu_collect());
	EXPECT_EQ(0, allocated_hidden(h));
	bss_head = NULL;
	gcu_shutdown();

	/* GCU_GLOBALS=0 says the same. */
	setenv("GCU_GLOBALS", "0", 1);
	ASSERT_EQ(0, gcu_init());
	EXPECT_EQ(0, gcu_globals_bytes());
	gcu_shutdown();
	unsetenv("GCU_GLOBALS");
	ASSERT_EQ(0, gcu_init());
	EXPECT_LT(0, gcu_globals_bytes());
	EXPECT_LT(0, gcu_stats_now().roots);
	gcu_shutdown();
}

#ifdef GCU_TEST_SHARED
static __attribute__((noinline)) int dl_store(void (*set)(void *))
{
	struct node *head = build(NODES);

	set(head);
	return head ? 0 : -1;
}

/*
 * A library loaded with plain dlopen(): its globals are roots from the
 * next collection on; gcu_dlclose() takes them out.
 */
TEST_F(cprog, dlopened_library_globals_are_roots)
{
	void *(*get)(void);
	void (*set)(void *);
	uint32_t roots;
	void *h;

	h = dlopen("libdltest.so", RTLD_NOW);
	ASSERT_NE(NULL, h) TH_LOG("dlopen: %s", dlerror());
	set = (void (*)(void *))dlsym(h, "dltest_set");
	get = (void *(*)(void))dlsym(h, "dltest_get");
	ASSERT_NE(NULL, set);
	ASSERT_NE(NULL, get);
	ASSERT_EQ(0, dl_store(set));
	collect_and_churn();
	EXPECT_EQ(NODES, walk(get()));
	roots = gcu_stats_now().roots;
	set(NULL);
	ASSERT_EQ(0, gcu_dlclose(h));
	EXPECT_GT(roots, gcu_stats_now().roots);
}

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *,
			 void *(*)(void *), void *);

/* A thread started the way another library would: still registered. */
TEST_F(cprog, foreign_thread_is_registered)
{
	create_fn create = (create_fn)dlsym(RTLD_DEFAULT, "pthread_create");
	uint32_t before = gcu_stats_now().threads;
	pthread_t t;

	ASSERT_NE(NULL, create);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, create(&t, NULL, waiter, NULL));
	EXPECT_EQ(before + 1, gcu_stats_now().threads);
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(0, pthread_join(t, NULL));
}
#endif

/* fork() */

struct big {
	struct node *list;
	char *large;
	void **unc;
};

static __attribute__((noinline)) int make_state(struct big *b)
{
	b->list = build(NODES);
	b->large = gcu_malloc_atomic(1 << 20);
	b->unc = gcu_malloc_uncollectable(64);
	if (!b->list || !b->large || !b->unc)
		return -1;
	for (int i = 0; i < 1 << 20; i++)
		b->large[i] = (char)(i * 13);
	b->unc[0] = gcu_strdup("kept by an uncollectable");
	return 0;
}

static int state_ok(const struct big *b)
{
	for (int i = 0; i < 1 << 20; i++)
		if (b->large[i] != (char)(i * 13))
			return 0;
	return walk(b->list) == NODES &&
	       !strcmp(b->unc[0], "kept by an uncollectable");
}

/* The child: read the parent's objects, allocate, collect on its own. */
static int fork_child(struct big *b)
{
	struct gcu_heap_stats st;
	struct node *mine;

	if (!gcu_heap() || !state_ok(b))
		return 10;
	mine = build(NODES);
	if (!mine)
		return 11;
	/* Its own cycles: what the parent had and what it made survive. */
	for (int i = 0; i < 3; i++)
		if (gcu_collect())
			return 12;
	churn(4 * NODES);
	if (!state_ok(b) || walk(mine) != NODES)
		return 13;
	if (gcu_stats(&st) || st.cycles != 3 || st.checkmark_failures ||
	    st.threads != 1)
		return 14;
	/* Writes stay in the child. */
	b->list->val = 999;
	b->large[0] = 1;
	return 0;
}

static void *allocating(void *arg)
{
	volatile int *stop = arg;

	while (!*stop) {
		char *p = gcu_malloc(48);

		if (p)
			memset(p, 0x77, 48);
	}
	return NULL;
}

TEST_F(cprog, fork_child_has_a_copy_of_the_heap)
{
	volatile int stop = 0;
	struct big b;
	pthread_t t;
	int status;
	pid_t pid;

	ASSERT_EQ(0, make_state(&b));
	/* Another thread allocates all along. */
	ASSERT_EQ(0, pthread_create(&t, NULL, allocating, (void *)&stop));
	for (int round = 0; round < 3; round++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			_exit(fork_child(&b));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("round %d", round);
	}
	stop = 1;
	ASSERT_EQ(0, pthread_join(t, NULL));
	/* The parent is unaffected: its objects, its own collections. */
	EXPECT_TRUE(state_ok(&b));
	collect_and_churn();
	EXPECT_TRUE(state_ok(&b));
	EXPECT_EQ(999 != b.list->val, 1);
}

/*
 * fork() then exec(): the memory is shared until written, and once the
 * child has exec'd the parent's chunks are its own again: writing all of
 * them, and the kernel zeroing slots for new objects, copies nothing.
 */
TEST_F(cprog, fork_then_exec)
{
	struct gcu_heap_stats before;
	struct big b;
	int status;
	pid_t pid;

	ASSERT_EQ(0, make_state(&b));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_TRUE(state_ok(&b));
	before = gcu_stats_now();
	for (int i = 0; i < 1 << 20; i++)
		b.large[i] = (char)(i * 7);
	for (struct node *n = b.list; n; n = n->next)
		n->check ^= 1;
	collect_and_churn();
	EXPECT_EQ(before.cow_copies, gcu_stats_now().cow_copies);
	for (int i = 0; i < 1 << 20; i++)
		if (b.large[i] != (char)(i * 7)) {
			EXPECT_EQ((char)(i * 7), b.large[i]) TH_LOG("byte %d", i);
			break;
		}
}

/* The child, while the parent writes: what fork() saw, and its own. */
static int cow_child(struct big *b, const char *solo, int go)
{
	char c;

	if (read(go, &c, 1) != 1)
		return 20;
	if (!state_ok(b))
		return 21;
	for (size_t i = 0; i < 4 << 20; i += 4096)
		if (solo[i])
			return 25;
	b->large[5] = 1;
	if (b->large[5] != 1 || b->large[6] != (char)(6 * 13))
		return 22;
	for (int i = 0; i < 3; i++)
		if (gcu_collect())
			return 23;
	churn(4 * NODES);
	b->large[5] = (char)(5 * 13);
	return state_ok(b) ? 0 : 24;
}

/* The parent drops the list (a write to its stack only) and reuses it. */
static __attribute__((noinline)) void drop_list(struct big *b)
{
	b->list = NULL;
	collect_and_churn();
}

/*
 * fork() with both alive: a chunk either writes is copied for the writer
 * and the other keeps what fork() saw. The parent's writes: the kernel's
 * (zeroing the slots of the list it freed, which the child still uses,
 * before handing them out again), through /proc/self/mem, and its own.
 */
TEST_F(cprog, fork_copy_on_write)
{
	const size_t chunk = 2 << 20;
	struct gcu_heap_stats before;
	int go[2], status, mem;
	char v = 0x33, *solo;
	struct big b;
	pid_t pid;

	ASSERT_EQ(0, make_state(&b));
	/* Two chunks of their own, which nothing else writes. */
	solo = gcu_malloc_atomic(3 * chunk);
	ASSERT_NE(NULL, solo);
	solo = (char *)(((uintptr_t)solo + chunk - 1) & ~(chunk - 1));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(cow_child(&b, solo, go[0]));

	/* The kernel's writes first: nothing else has unshared a chunk. */
	before = gcu_stats_now();
	drop_list(&b);
	EXPECT_LT(before.cow_copies, gcu_stats_now().cow_copies);
	memset(b.large, 0x5a, 1 << 20);
	/*
	 * The process's write, to a chunk it read first (mapped read-only,
	 * then written): one copy, of that chunk.
	 */
	before = gcu_stats_now();
	EXPECT_EQ(0, *(volatile char *)solo);
	memset(solo, 0x5a, chunk);
	EXPECT_EQ(before.cow_copies + 1, gcu_stats_now().cow_copies);
	/* A debugger's write: one copy, of that chunk. */
	mem = open("/proc/self/mem", O_RDWR);
	ASSERT_LE(0, mem);
	EXPECT_EQ(1, pwrite(mem, &v, 1, (off_t)(uintptr_t)(solo + chunk)));
	close(mem);
	EXPECT_EQ(before.cow_copies + 2, gcu_stats_now().cow_copies);
	EXPECT_EQ(0x33, solo[chunk]);

	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0x5a, b.large[5]);
	EXPECT_EQ(0x5a, solo[chunk - 1]);
	EXPECT_EQ(0x33, solo[chunk]);
	EXPECT_EQ(0, gcu_stats_now().checkmark_failures);
	close(go[0]);
	close(go[1]);
}

/* GCU_FORK=0: no copy; the child has no heap. */
TEST(fork_without_copy)
{
	int status;
	pid_t pid;

	setenv("GCU_FORK", "0", 1);
	ASSERT_EQ(0, gcu_init());
	ASSERT_NE(NULL, gcu_malloc(100));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(!gcu_heap() && !gcu_malloc(10) && errno == ENXIO ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_NE(NULL, gcu_malloc(100));
	gcu_shutdown();
}

/* The malloc-style calls */

static int all_zero(const char *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (p[i])
			return 0;
	return 1;
}

static int pattern_ok(const char *p, size_t n, int seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (char)(i * 7 + seed))
			return 0;
	return 1;
}

static void fill(char *p, size_t n, int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)(i * 7 + seed);
}

static uint32_t type_of(const void *p)
{
	struct gcmem_query q = { .size = sizeof(q), .addr = (uintptr_t)p };

	if (ioctl(gcu_heap()->fd, GCMEM_IOC_QUERY, &q))
		return ~0U;
	return q.type_id;
}

TEST_F(cprog, realloc_keeps_contents_and_zeroes_growth)
{
	char *p, *q, *big, *bigger;
	uintptr_t hbig;

	p = gcu_malloc(24);
	ASSERT_NE(NULL, p);
	fill(p, 24, 1);
	q = gcu_realloc(p, 1000);
	ASSERT_NE(NULL, q);
	EXPECT_TRUE(pattern_ok(q, 24, 1));
	EXPECT_TRUE(all_zero(q, 24, 1000));
	/* Shrink in place, then grow in place: the given-up bytes are zero. */
	fill(q, 1000, 2);
	p = gcu_realloc(q, 10);
	EXPECT_EQ(q, p);
	p = gcu_realloc(p, 900);
	EXPECT_EQ(q, p);
	EXPECT_TRUE(pattern_ok(p, 10, 2));
	EXPECT_TRUE(all_zero(p, 10, 900));

	/* Across collections. */
	scrub_stack();
	ASSERT_EQ(0, gcu_collect());
	EXPECT_TRUE(pattern_ok(p, 10, 2));

	/* Large: moved, the old one freed at once. */
	big = gcu_realloc(p, 100000);
	ASSERT_NE(NULL, big);
	EXPECT_TRUE(pattern_ok(big, 10, 2));
	EXPECT_TRUE(all_zero(big, 10, 100000));
	fill(big, 100000, 3);
	hbig = HIDE(big);
	bigger = gcu_realloc(big, 1 << 20);
	ASSERT_NE(NULL, bigger);
	EXPECT_TRUE(pattern_ok(bigger, 100000, 3));
	EXPECT_TRUE(all_zero(bigger, 100000, 1 << 20));
	EXPECT_EQ(0, allocated_hidden(hbig));
	ASSERT_EQ(0, gcu_collect());
	EXPECT_TRUE(pattern_ok(bigger, 100000, 3));

	/* The kind stays: atomic stays atomic. */
	p = gcu_malloc_atomic(40);
	ASSERT_NE(NULL, p);
	q = gcu_realloc(p, 4000);
	ASSERT_NE(NULL, q);
	EXPECT_EQ(GCU_TYPE_NOSCAN, type_of(q));

	/* NULL, 0, and what is not an object's start. */
	p = gcu_realloc(NULL, 50);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(1, gcu_allocated(p));
	EXPECT_EQ(NULL, gcu_realloc(p + 8, 100));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(NULL, gcu_realloc(&p, 100));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(NULL, gcu_realloc(p, 0));
	EXPECT_EQ(0, gcu_allocated(p));
}

TEST_F(cprog, free_gives_back_once_and_rejects_the_rest)
{
	char *objs[1000], *big, *p;
	int local;

	for (int i = 0; i < 1000; i++) {
		objs[i] = gcu_malloc(48);
		ASSERT_NE(NULL, objs[i]);
		memset(objs[i], 0xab, 48);
	}
	big = gcu_malloc(200000);
	ASSERT_NE(NULL, big);
	memset(big, 0xcd, 200000);

	EXPECT_EQ(0, gcu_free(NULL));
	EXPECT_EQ(-1, gcu_free(objs[3] + 8));		/* interior */
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, gcu_free(&local));		/* not the heap's */
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, gcu_free((char *)gcu_heap()->arena +
			       gcu_heap()->arena_size - 64));	/* no span */
	EXPECT_EQ(EINVAL, errno);

	for (int i = 0; i < 1000; i++)
		ASSERT_EQ(0, gcu_free(objs[i]));
	EXPECT_EQ(0, gcu_free(big));
	EXPECT_EQ(0, gcu_allocated(objs[0]));
	EXPECT_EQ(0, gcu_allocated(big));
	/* A double free is refused while the slot is free. */
	EXPECT_EQ(-1, gcu_free(objs[5]));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, gcu_free(big));
	EXPECT_EQ(EINVAL, errno);

	/* The freed memory comes back zeroed, and collections agree. */
	ASSERT_EQ(0, gcu_collect());
	gcu_thread_unregister();
	for (int i = 0; i < 5000; i++) {
		p = gcu_malloc(48);
		ASSERT_NE(NULL, p);
		ASSERT_TRUE(all_zero(p, 0, 48));
		memset(p, 0x11, 48);
	}
	p = gcu_malloc(200000);
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(all_zero(p, 0, 200000));
	ASSERT_EQ(0, gcu_collect());
}

static void *free_other(void *arg)
{
	return (void *)(long)gcu_free(arg);
}

/* An object in a span another thread still allocates from. */
TEST_F(cprog, free_from_another_thread)
{
	char *a = gcu_malloc(64), *b = gcu_malloc(64);
	pthread_t t;
	void *res;

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	strcpy(b, "still here");
	ASSERT_EQ(0, pthread_create(&t, NULL, free_other, a));
	ASSERT_EQ(0, pthread_join(t, &res));
	EXPECT_EQ(0, (long)res);
	EXPECT_EQ(0, gcu_allocated(a));
	EXPECT_EQ(1, gcu_allocated(b));
	/* This thread goes on allocating from the span: never @a again. */
	for (int i = 0; i < 500; i++) {
		char *p = gcu_malloc(64);

		ASSERT_NE(NULL, p);
		ASSERT_NE(a, p);
	}
	ASSERT_EQ(0, gcu_collect());
	EXPECT_STREQ("still here", b);
	EXPECT_EQ(1, gcu_allocated(b));
}

/*
 * Frees, collections, statistics and forks beside refills: two threads
 * allocate and tag 64-byte objects, keep the last FB_RING of them, and hand
 * others to a third thread, which frees them, while the main thread reads
 * the heap's statistics, collects and forks. Refills take spans back and
 * out beside all of it (alloc.c's fast refills, which each of those
 * excludes while it runs): no object is handed out again while it is held
 * (every kept tag stays), every new object comes zeroed, every free of a
 * handed-over object succeeds.
 */
#define FB_RING		256
#define FB_ALLOCS	100000
#define FB_QUEUE	512

struct fb_obj {
	uint64_t tag;
	uint64_t pad[7];
};

/* Globals: roots, which keep what the threads hold. */
static struct fb_obj *fb_ring[2][FB_RING];
static struct fb_obj *fb_queue[FB_QUEUE];
static unsigned int fb_head, fb_tail;
static pthread_mutex_t fb_lock = PTHREAD_MUTEX_INITIALIZER;
static int fb_running;
static long fb_bad[3];
/* The first failure of each thread: what went wrong, where. */
static char fb_why[3][96];

static void fb_fail(int who, const char *what, long n, uint64_t want,
		    uint64_t got)
{
	if (!fb_bad[who]++)
		snprintf(fb_why[who], sizeof(fb_why[who]),
			 "%s at %ld: want %#llx, got %#llx", what, n,
			 (unsigned long long)want, (unsigned long long)got);
}

static uint64_t fb_tag(int who, long n, int handed)
{
	return 0xfb00000000000000ULL | (uint64_t)handed << 40 |
	       (uint64_t)who << 32 | (uint64_t)n;
}

static int fb_zero(const struct fb_obj *p)
{
	return all_zero((const char *)p, 0, sizeof(*p));
}

static void *fb_alloc(void *arg)
{
	int who = (int)(long)arg;

	for (long n = 0; n < FB_ALLOCS; n++) {
		struct fb_obj *p = gcu_malloc(sizeof(*p)), *old;

		if (!p || !fb_zero(p)) {
			fb_fail(who, p ? "not zeroed" : "NULL", n, 0,
				p ? p->tag : (uint64_t)errno);
			break;
		}
		old = fb_ring[who][n % FB_RING];
		if (old && old->tag != fb_tag(who, n - FB_RING, 0))
			fb_fail(who, "kept object changed", n,
				fb_tag(who, n - FB_RING, 0), old->tag);
		p->tag = fb_tag(who, n, 0);
		fb_ring[who][n % FB_RING] = p;
		if (n % 4)
			continue;
		p = gcu_malloc(sizeof(*p));
		if (!p || !fb_zero(p)) {
			fb_fail(who, p ? "not zeroed (handed)" : "NULL (handed)",
				n, 0, p ? p->tag : (uint64_t)errno);
			break;
		}
		p->tag = fb_tag(who, n, 1);
		pthread_mutex_lock(&fb_lock);
		if (fb_head - fb_tail < FB_QUEUE)
			fb_queue[fb_head++ % FB_QUEUE] = p;
		pthread_mutex_unlock(&fb_lock);
	}
	return NULL;
}

static void *fb_free(void *arg)
{
	(void)arg;
	for (;;) {
		struct fb_obj *p = NULL;

		pthread_mutex_lock(&fb_lock);
		if (fb_tail != fb_head) {
			p = fb_queue[fb_tail % FB_QUEUE];
			fb_queue[fb_tail++ % FB_QUEUE] = NULL;
		}
		pthread_mutex_unlock(&fb_lock);
		if (!p) {
			if (!__atomic_load_n(&fb_running, __ATOMIC_ACQUIRE))
				return NULL;
			sched_yield();
			continue;
		}
		if ((p->tag >> 40) != (0xfb0000ULL | 1))
			fb_fail(2, "handed object changed", 0, 0, p->tag);
		else if (gcu_free(p))
			fb_fail(2, "free failed", 0, 0, (uint64_t)errno);
	}
}

TEST_F(cprog, frees_collections_and_forks_beside_refills)
{
	struct gcu_heap_stats st;
	pthread_t a[2], f;
	int forks = 0;

	ASSERT_EQ(0, gcu_set_gcpercent(100));
	__atomic_store_n(&fb_running, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, pthread_create(&f, NULL, fb_free, NULL));
	for (long i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&a[i], NULL, fb_alloc, (void *)i));
	for (int i = 0; i < 200; i++) {
		ASSERT_EQ(0, gcu_stats(&st));
		if (i % 50 == 25)
			ASSERT_EQ(0, gcu_collect());
		if (i % 100 == 10) {
			pid_t pid = fork();
			int status;

			ASSERT_LE(0, pid);
			if (!pid)
				_exit(gcu_malloc(64) ? 0 : 1);
			ASSERT_EQ(pid, waitpid(pid, &status, 0));
			EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
			forks++;
		}
		usleep(1000);
	}
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(a[i], NULL));
	__atomic_store_n(&fb_running, 0, __ATOMIC_RELEASE);
	ASSERT_EQ(0, pthread_join(f, NULL));
	EXPECT_EQ(0, fb_bad[0]) TH_LOG("allocator 0: %s", fb_why[0]);
	EXPECT_EQ(0, fb_bad[1]) TH_LOG("allocator 1: %s", fb_why[1]);
	EXPECT_EQ(0, fb_bad[2]) TH_LOG("freer: %s", fb_why[2]);
	EXPECT_EQ(2, forks);
	ASSERT_EQ(0, gcu_collect());
	for (int w = 0; w < 2 && !fb_bad[0] && !fb_bad[1]; w++)
		for (long n = FB_ALLOCS - FB_RING; n < FB_ALLOCS; n++)
			EXPECT_EQ(fb_tag(w, n, 0),
				  fb_ring[w][n % FB_RING]->tag);
}

TEST_F(cprog, strdup_and_strndup)
{
	char *s = gcu_strdup("hello, collector");
	char *t = gcu_strndup("hello, collector", 5);
	char *u = gcu_strndup("abc", 100);

	ASSERT_NE(NULL, s);
	ASSERT_NE(NULL, t);
	ASSERT_NE(NULL, u);
	EXPECT_STREQ("hello, collector", s);
	EXPECT_STREQ("hello", t);
	EXPECT_STREQ("abc", u);
	EXPECT_EQ(GCU_TYPE_NOSCAN, type_of(s));
	ASSERT_EQ(0, gcu_collect());
	EXPECT_STREQ("hello, collector", s);
	EXPECT_STREQ("hello", t);
}

static void *alloc_other(void *arg)
{
	(void)arg;
	return gcu_malloc(100);
}

TEST_F(cprog, base_and_size)
{
	char *p = gcu_malloc(100), *big = gcu_malloc(50000), *q;
	pthread_t t;
	int local;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, big);
	EXPECT_EQ(p, gcu_base(p));
	EXPECT_EQ(p, gcu_base(p + 99));
	EXPECT_LE(100, gcu_size(p));
	EXPECT_EQ(gcu_size(p), gcu_size(p + 50));
	EXPECT_EQ(big, gcu_base(big + 40000));
	EXPECT_LE(50000, gcu_size(big));
	EXPECT_EQ(NULL, gcu_base(&local));
	EXPECT_EQ(0, gcu_size(&local));
	EXPECT_EQ(NULL, gcu_base(NULL));

	/* An object of another thread's span: the kernel answers. */
	ASSERT_EQ(0, pthread_create(&t, NULL, alloc_other, NULL));
	ASSERT_EQ(0, pthread_join(t, (void **)&q));
	ASSERT_NE(NULL, q);
	EXPECT_EQ(q, gcu_base(q + 10));
	EXPECT_EQ(gcu_size(p), gcu_size(q));

	/* A freed object has no base. */
	ASSERT_EQ(0, gcu_free(big));
	EXPECT_EQ(NULL, gcu_base(big));
	EXPECT_EQ(0, gcu_size(big));
}

#define UNC	2000

static uintptr_t unc_hidden[UNC], child_hidden[UNC];

/* Uncollectable objects holding ordinary ones; nothing else keeps them. */
static __attribute__((noinline)) int make_uncollectable(void)
{
	for (int i = 0; i < UNC; i++) {
		void **u = i % 2 ? gcu_malloc_uncollectable(32) :
				   gcu_malloc_uncollectable(300);
		char *c = gcu_malloc(40);

		if (!u || !c)
			return -1;
		snprintf(c, 40, "child %d", i);
		u[1] = c;
		unc_hidden[i] = HIDE(u);
		child_hidden[i] = HIDE(c);
	}
	gcu_malloc(40);
	return 0;
}

static __attribute__((noinline)) int uncollectable_intact(void)
{
	int good = 0;
	char want[40];

	for (int i = 0; i < UNC; i++) {
		void **u = UNHIDE(unc_hidden[i]);

		snprintf(want, sizeof(want), "child %d", i);
		good += gcu_allocated(u) == 1 && u[1] == UNHIDE(child_hidden[i]) &&
			!strcmp(u[1], want);
	}
	return good;
}

static __attribute__((noinline)) int free_uncollectable(int from, int to)
{
	for (int i = from; i < to; i++)
		if (gcu_free(UNHIDE(unc_hidden[i])))
			return -1;
	return 0;
}

static __attribute__((noinline)) int children_alive(void)
{
	int n = 0;

	for (int i = 0; i < UNC; i++)
		n += gcu_allocated(UNHIDE(child_hidden[i])) == 1;
	return n;
}

static __attribute__((noinline)) int realloc_uncollectable(void)
{
	char *u = gcu_malloc_uncollectable(32), *v;

	if (!u)
		return -1;
	strcpy(u, "moved");
	v = gcu_realloc(u, 5000);
	if (!v || v == u)
		return -1;
	unc_hidden[0] = HIDE(u);
	unc_hidden[1] = HIDE(v);
	return 0;
}

TEST_F(cprog, uncollectable_lives_until_freed)
{
	void *atomic = gcu_malloc_atomic_uncollectable(64);

	ASSERT_NE(NULL, atomic);
	EXPECT_EQ(GCU_TYPE_NOSCAN, type_of(atomic));
	ASSERT_EQ(0, make_uncollectable());
	collect_and_churn();
	EXPECT_EQ(UNC, uncollectable_intact());
	/* Freed: the second half, and what only they held, goes. */
	ASSERT_EQ(0, free_uncollectable(UNC / 2, UNC));
	scrub_stack();
	ASSERT_EQ(0, gcu_collect());
	EXPECT_EQ(UNC / 2, children_alive());
	ASSERT_EQ(0, free_uncollectable(0, UNC / 2));
	EXPECT_EQ(-1, free_uncollectable(0, 1));	/* double free */
	ASSERT_EQ(0, gcu_free(atomic));
	/* Moved by realloc: the new one is uncollectable, the old one goes. */
	ASSERT_EQ(0, realloc_uncollectable());
	scrub_stack();
	ASSERT_EQ(0, gcu_collect());
	EXPECT_EQ(0, allocated_hidden(unc_hidden[0]));
	EXPECT_EQ(1, allocated_hidden(unc_hidden[1]));
	EXPECT_STREQ("moved", UNHIDE(unc_hidden[1]));
	EXPECT_EQ(0, gcu_free(UNHIDE(unc_hidden[1])));
}

static uintptr_t big_hidden;
static char *volatile interior_ref;	/* a store the compiler must keep */

static __attribute__((noinline)) int make_big(int ignore_off_page,
					     size_t keep_at)
{
	char *big = ignore_off_page ? gcu_malloc_ignore_off_page(300000) :
				      gcu_malloc(300000);

	if (!big)
		return -1;
	big_hidden = HIDE(big);
	interior_ref = big + keep_at;
	return 0;
}

TEST_F(cprog, ignore_off_page_needs_a_pointer_near_the_start)
{
	/* Only a pointer far inside: an ignore-off-page object goes... */
	ASSERT_EQ(0, make_big(1, 200000));
	scrub_stack();
	ASSERT_EQ(0, gcu_collect());
	EXPECT_EQ(0, allocated_hidden(big_hidden));
	/* ...an ordinary one stays. */
	ASSERT_EQ(0, make_big(0, 200000));
	scrub_stack();
	ASSERT_EQ(0, gcu_collect());
	EXPECT_EQ(1, allocated_hidden(big_hidden));
	/* A pointer into its first page keeps it. */
	ASSERT_EQ(0, make_big(1, 100));
	scrub_stack();
	ASSERT_EQ(0, gcu_collect());
	EXPECT_EQ(1, allocated_hidden(big_hidden));
	interior_ref = NULL;
	/* Small sizes are ordinary objects. */
	EXPECT_NE(NULL, gcu_malloc_atomic_ignore_off_page(100));
}

/* Environment */

static uint64_t option(int id)
{
	struct gcmem_option opt = {
		.size = sizeof(opt),
		.option_id = id,
		.op = GCMEM_OPTION_OP_GET,
	};

	if (ioctl(gcu_heap()->fd, GCMEM_IOC_OPTION, &opt))
		return 0xbad;
	return opt.val64;
}

static void env_clear(void)
{
	unsetenv("GCU_GCPERCENT");
	unsetenv("GCU_LIMIT");
	unsetenv("GCU_MODE");
}

/* GCU_GCPERCENT, GCU_LIMIT, GCU_MODE: applied by gcu_init(), or it fails. */
TEST(environment_settings)
{
	setenv("GCU_GCPERCENT", "50", 1);
	setenv("GCU_LIMIT", "64M", 1);
	setenv("GCU_MODE", "concurrent", 1);
	ASSERT_EQ(0, gcu_init()) TH_LOG("gcu_init: %s", strerror(errno));
	EXPECT_EQ(50, option(GCMEM_OPTION_GCPERCENT));
	EXPECT_EQ(64ULL << 20, option(GCMEM_OPTION_LIMIT));
	EXPECT_EQ(GCMEM_MODE_CONCURRENT, option(GCMEM_OPTION_MODE));
	gcu_shutdown();

	setenv("GCU_GCPERCENT", "off", 1);
	setenv("GCU_LIMIT", "1g", 1);
	setenv("GCU_MODE", "stw", 1);
	ASSERT_EQ(0, gcu_init());
	EXPECT_EQ(GCMEM_GCPERCENT_OFF, option(GCMEM_OPTION_GCPERCENT));
	EXPECT_EQ(1ULL << 30, option(GCMEM_OPTION_LIMIT));
	EXPECT_EQ(GCMEM_MODE_STW, option(GCMEM_OPTION_MODE));
	gcu_shutdown();

	/* Malformed, or refused by the kernel: no heap, EINVAL. */
	static const char *const bad[][2] = {
		{ "GCU_LIMIT", "64Q" }, { "GCU_LIMIT", "64MB" },
		{ "GCU_LIMIT", "-2M" }, { "GCU_LIMIT", "1K" },
		{ "GCU_LIMIT", "99999999999999999999" },
		{ "GCU_GCPERCENT", "5x" }, { "GCU_GCPERCENT", "-1" },
		{ "GCU_GCPERCENT", "100001" }, { "GCU_MODE", "fast" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		env_clear();
		setenv(bad[i][0], bad[i][1], 1);
		EXPECT_EQ(-1, gcu_init()) TH_LOG("%s=%s", bad[i][0], bad[i][1]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s=%s", bad[i][0], bad[i][1]);
		EXPECT_EQ(NULL, gcu_heap());
	}
	env_clear();
	ASSERT_EQ(0, gcu_init());
	gcu_shutdown();
}

TEST_HARNESS_MAIN
