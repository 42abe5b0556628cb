// SPDX-License-Identifier: GPL-2.0
/*
 * gcmem's libgc.so.1, as a bdwgc program sees it: built against gcmem's
 * gc.h, linked dynamically with its libgc.so.1 (found at $ORIGIN/../lib),
 * never calling gcu_init(). Lazy start, GC_INIT from another thread,
 * what survives and what goes, realloc/free/base/size, finalizers and
 * disappearing links through bdwgc's calls, disabling collection, threads,
 * the out-of-memory hook, and the clear failure of what gcmem cannot do.
 * (bdwgc's own tests and Debian's w3m run on the same library in
 * bdwgc_test.)
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#define GC_THREADS
#include "gc.h"
#include "gc_typed.h"
#include "gcu_util.h"

/* Is the object at hidden address @h still allocated? */
static __attribute__((noinline)) int alive(uintptr_t h)
{
	return gcu_allocated(UNHIDE(h)) == 1;
}

/* A garbage object, hidden: nothing but the return value refers to it. */
static __attribute__((noinline)) uintptr_t garbage(size_t size)
{
	uintptr_t h = HIDE(GC_malloc(size));

	GC_malloc(size);	/* off the slot the span's cursor keeps */
	return h;
}

static __attribute__((noinline)) void collect(void)
{
	scrub_stack();
	GC_gcollect();
}

TEST(lazy_start_without_gc_init)
{
	char *p;

	ASSERT_EQ(0, GC_is_init_called());
	p = GC_malloc(100);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(1, GC_is_init_called());
	for (int i = 0; i < 100; i++)
		ASSERT_EQ(0, p[i]);
	ASSERT_NE(NULL, gcu_heap());
	ASSERT_LE(100, GC_size(p));
	ASSERT_EQ(p, GC_base(p + 50));
	ASSERT_EQ(1, GC_is_heap_ptr(p));
	ASSERT_EQ(0, GC_is_heap_ptr(&p));
	ASSERT_EQ(1, GC_get_all_interior_pointers());
	ASSERT_EQ(0x080202, GC_get_version());
}

static void *init_fn(void *arg)
{
	GC_INIT();
	*(void **)arg = GC_malloc(64);
	return NULL;
}

TEST(gc_init_from_a_second_thread)
{
	static void *kept;
	pthread_t th;
	void **main_obj;

	/* Plain pthread_create, before the heap exists. */
	ASSERT_EQ(0, (pthread_create)(&th, NULL, init_fn, &kept));
	ASSERT_EQ(0, (pthread_join)(th, NULL));
	ASSERT_NE(NULL, kept);
	main_obj = GC_malloc(sizeof(void *));
	ASSERT_NE(NULL, main_obj);
	*main_obj = kept;
	collect();
	ASSERT_EQ(1, gcu_allocated(kept));
	ASSERT_EQ(main_obj, GC_base(main_obj));
}

static void *list_global;

static __attribute__((noinline)) void build_list(int n)
{
	for (int i = 0; i < n; i++) {
		void **node = GC_MALLOC(2 * sizeof(void *));

		node[0] = list_global;
		node[1] = (void *)(uintptr_t)i;
		list_global = node;
	}
}

TEST(globals_are_roots_garbage_goes)
{
	GC_word before;
	uintptr_t g;
	void **n;
	int i = 0;

	GC_INIT();
	build_list(1000);
	g = garbage(48);
	before = GC_get_gc_no();
	collect();
	ASSERT_LT(before, GC_get_gc_no());
	ASSERT_EQ(GC_gc_no, GC_get_gc_no());
	for (n = list_global; n; n = n[0], i++)
		ASSERT_EQ(999 - i, (int)(uintptr_t)n[1]);
	ASSERT_EQ(1000, i);
	EXPECT_EQ(0, alive(g));
}

TEST(realloc_free_strdup)
{
	char *p = GC_MALLOC_ATOMIC(10), *q, *s;

	ASSERT_NE(NULL, p);
	memcpy(p, "abcdefghi", 10);
	q = GC_REALLOC(p, 5000);
	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, memcmp(q, "abcdefghi", 10));
	for (int i = 10; i < 5000; i++)
		ASSERT_EQ(0, q[i]);
	ASSERT_EQ(NULL, GC_REALLOC(q, 0));
	ASSERT_EQ(0, gcu_allocated(q));
	s = GC_STRDUP("gcmem");
	ASSERT_STREQ("gcmem", s);
	GC_FREE(s);
	GC_FREE(s);		/* a double free is ignored */
	GC_free(&s);		/* and so is a foreign pointer */
	s = GC_strndup("collector", 4);
	ASSERT_STREQ("coll", s);
	p = GC_MALLOC_UNCOLLECTABLE(64);
	ASSERT_NE(NULL, p);
	p = (char *)HIDE(p);
	collect();
	ASSERT_EQ(1, gcu_allocated(UNHIDE((uintptr_t)p)));
	GC_free(UNHIDE((uintptr_t)p));
	ASSERT_EQ(0, gcu_allocated(UNHIDE((uintptr_t)p)));
}

TEST(memalign_and_typed)
{
	GC_word bm[1] = { 0 };
	GC_descr none, some;
	void *p;

	for (size_t a = 8; a <= 8192; a <<= 1) {
		p = GC_memalign(a, 100);
		ASSERT_NE(NULL, p);
		ASSERT_EQ(0, (uintptr_t)p % a);
	}
	ASSERT_EQ(EINVAL, GC_posix_memalign(&p, 24, 10));
	ASSERT_EQ(0, GC_posix_memalign(&p, 64, 10));
	none = GC_make_descriptor(bm, 4);
	GC_set_bit(bm, 2);
	some = GC_make_descriptor(bm, 4);
	ASSERT_EQ(0, none);
	ASSERT_NE(0, some);
	p = GC_MALLOC_EXPLICITLY_TYPED(32, some);
	ASSERT_NE(NULL, p);
	p = GC_CALLOC_EXPLICITLY_TYPED(10, 32, none);
	ASSERT_NE(NULL, p);
	ASSERT_LE(320, GC_size(p));
	ASSERT_EQ(NULL, GC_calloc_explicitly_typed(SIZE_MAX / 2, 4, none));
}

static int finalized;
static void *finalized_cd;

static void fin_fn(void *obj, void *cd)
{
	finalized++;
	finalized_cd = cd;
	(void)obj;
}

static __attribute__((noinline)) uintptr_t finalizable(void *cd)
{
	void *p = GC_MALLOC(40);
	GC_finalization_proc ofn = (GC_finalization_proc)1;
	void *ocd = (void *)1;

	GC_REGISTER_FINALIZER(p, fin_fn, (void *)1, &ofn, &ocd);
	if (ofn || ocd)
		return 0;
	GC_REGISTER_FINALIZER(p, fin_fn, cd, &ofn, &ocd);
	if (ofn != fin_fn || ocd != (void *)1)
		return 0;
	GC_MALLOC(40);		/* off the slot the span's cursor keeps */
	return HIDE(p);
}

TEST(finalizer_runs_when_unreachable)
{
	static char cd;
	uintptr_t h;

	GC_set_finalize_on_demand(1);
	h = finalizable(&cd);
	ASSERT_NE(0, h);
	collect();
	ASSERT_EQ(1, GC_should_invoke_finalizers());
	ASSERT_EQ(0, finalized);
	ASSERT_EQ(1, GC_invoke_finalizers());
	ASSERT_EQ(1, finalized);
	ASSERT_EQ(&cd, finalized_cd);
	collect();
	ASSERT_EQ(0, alive(h));
	ASSERT_EQ(0, GC_should_invoke_finalizers());
}

static __attribute__((noinline)) uintptr_t linked(void **link, int lng)
{
	void *p = GC_MALLOC(24);

	*link = (void *)GC_HIDE_POINTER(p);
	if (lng)
		return GC_register_long_link(link, p) == GC_SUCCESS;
	if (GC_GENERAL_REGISTER_DISAPPEARING_LINK(link, p) != GC_SUCCESS)
		return 0;
	return GC_GENERAL_REGISTER_DISAPPEARING_LINK(link, p) ==
	       GC_DUPLICATE;
}

TEST(disappearing_links_clear)
{
	void **links = GC_MALLOC_ATOMIC(3 * sizeof(void *));

	ASSERT_EQ(1, linked(&links[0], 0));
	ASSERT_EQ(1, linked(&links[1], 1));
	ASSERT_EQ(1, linked(&links[2], 0));
	GC_MALLOC(24);		/* off the slot the span's cursor keeps */
	ASSERT_EQ(1, GC_unregister_disappearing_link(&links[2]));
	ASSERT_EQ(0, GC_unregister_disappearing_link(&links[2]));
	collect();
	ASSERT_EQ(NULL, links[0]);
	ASSERT_EQ(NULL, links[1]);
	ASSERT_NE(NULL, links[2]);
}

TEST(disable_stops_collection)
{
	GC_word n;

	GC_INIT();
	GC_disable();
	ASSERT_EQ(1, GC_is_disabled());
	n = GC_get_gc_no();
	GC_gcollect();
	ASSERT_EQ(n, GC_get_gc_no());
	GC_enable();
	ASSERT_EQ(0, GC_is_disabled());
	GC_gcollect();
	ASSERT_EQ(n + 1, GC_get_gc_no());
}

static void *thread_fn(void *arg)
{
	struct GC_stack_base sb;
	void **head = NULL;

	if (GC_thread_is_registered() != 1 ||
	    GC_register_my_thread(NULL) != GC_DUPLICATE ||
	    GC_get_stack_base(&sb) != GC_SUCCESS ||
	    (char *)sb.mem_base < (char *)&sb)
		return NULL;
	for (int i = 0; i < 2000; i++) {
		void **n = GC_MALLOC(2 * sizeof(void *));

		n[0] = head;
		n[1] = arg;
		head = n;
		if (i % 500 == 0)
			GC_gcollect();
	}
	return head;
}

TEST(threads_allocate_and_collect)
{
	pthread_t th[2];
	void **lists[2];

	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, thread_fn,
					    (void *)(uintptr_t)(i + 1)));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, pthread_join(th[i], (void **)&lists[i]));
		ASSERT_NE(NULL, lists[i]);
	}
	collect();
	for (int i = 0; i < 2; i++) {
		int n = 0;

		for (void **p = lists[i]; p; p = p[0], n++)
			ASSERT_EQ(i + 1, (int)(uintptr_t)p[1]);
		ASSERT_EQ(2000, n);
	}
}

static size_t oom_asked;

static void *oom_fn(size_t size)
{
	oom_asked = size;
	return NULL;
}

TEST(out_of_memory_goes_to_oom_fn)
{
	volatile size_t huge = SIZE_MAX - 4096;

	GC_INIT();
	GC_set_oom_fn(oom_fn);
	ASSERT_TRUE(GC_get_oom_fn() == oom_fn);
	GC_set_max_heap_size(64 << 20);
	ASSERT_EQ(NULL, GC_malloc(128 << 20));
	ASSERT_EQ(128 << 20, oom_asked);
	ASSERT_EQ(NULL, GC_malloc_atomic(huge));
	ASSERT_EQ(huge, oom_asked);
	ASSERT_NE(NULL, GC_malloc(1 << 20));
}

/* A link inside an object follows that object (bdwgc's cycle idiom). */
static __attribute__((noinline)) uintptr_t self_linked(void)
{
	void **a = GC_MALLOC(4 * sizeof(void *));

	a[0] = a;
	if (GC_register_disappearing_link(&a[0]) != GC_SUCCESS)
		return 0;
	GC_MALLOC(4 * sizeof(void *));	/* off the cursor's slot */
	return HIDE(a);
}

static void **moved;

static __attribute__((noinline)) int move_setup(void)
{
	void *p = GC_MALLOC(24);

	moved = GC_MALLOC_ATOMIC(3 * sizeof(void *));
	moved[0] = (void *)GC_HIDE_POINTER(p);
	if (GC_general_register_disappearing_link(&moved[0], p) != GC_SUCCESS ||
	    GC_general_register_disappearing_link(&moved[2], p) != GC_SUCCESS)
		return -1;
	GC_MALLOC(24);
	return 0;
}

TEST(links_inside_objects_and_moved)
{
	uintptr_t h;

	GC_INIT();
	h = self_linked();
	ASSERT_NE(0, h);
	ASSERT_EQ(0, move_setup());
	ASSERT_EQ(GC_NOT_FOUND, GC_move_disappearing_link(&moved[1],
							  &moved[1]));
	ASSERT_EQ(GC_DUPLICATE, GC_move_disappearing_link(&moved[0],
							  &moved[2]));
	ASSERT_EQ(GC_SUCCESS, GC_move_disappearing_link(&moved[0],
							&moved[1]));
	ASSERT_EQ(0, GC_unregister_disappearing_link(&moved[0]));
	moved[1] = moved[0];
	moved[0] = (void *)1;
	collect();
	/* The object holding a pointer to itself is gone. */
	ASSERT_EQ(0, alive(h));
	/* The moved link was cleared at its new place, not the old one. */
	ASSERT_EQ((void *)1, moved[0]);
	ASSERT_EQ(NULL, moved[1]);
	ASSERT_EQ(NULL, moved[2]);
}

/* Roots added, grown from the same start, and taken out. */
static __attribute__((noinline)) void fill_roots(void **r)
{
	r[0] = GC_MALLOC(32);
	r[1] = GC_MALLOC(32);
	GC_MALLOC(32);
}

TEST(added_roots_grow_and_go)
{
	void **r = calloc(2, sizeof(void *));	/* glibc's: not scanned */
	uintptr_t h0, h1;

	GC_INIT();
	ASSERT_NE(NULL, r);
	GC_add_roots(r, r + 1);
	GC_add_roots(r, r + 2);		/* the same start: grows to both */
	fill_roots(r);
	h0 = HIDE(r[0]);
	h1 = HIDE(r[1]);
	collect();
	ASSERT_EQ(1, alive(h0));
	ASSERT_EQ(1, alive(h1));
	GC_remove_roots(r, r + 2);
	collect();
	ASSERT_EQ(0, alive(h0));
	ASSERT_EQ(0, alive(h1));
	free(r);
}

static __attribute__((noinline)) void churn_mib(int mib)
{
	for (int i = 0; i < mib * 16; i++)
		GC_MALLOC_ATOMIC(65536);
}

/*
 * Until no cycle runs: a concurrent one the kernel's driver began before
 * GC_dont_gc was noticed ends (and counts) on its own.
 */
static void wait_no_cycle(void)
{
	const volatile struct gcmem_control *ctl = gcu_heap()->control;

	while (ctl->phase != GCMEM_PHASE_OFF)
		gcu_safepoint();
}

/* bdwgc's variables, written directly, take effect; GC_gc_no follows. */
TEST(variables_written_directly)
{
	GC_word n;

	GC_INIT();
	n = GC_gc_no;
	churn_mib(64);
	ASSERT_LT(n, GC_gc_no) TH_LOG("GC_gc_no not updated by collections");
	GC_dont_gc = 1;
	churn_mib(1);	/* a slow path notices */
	wait_no_cycle();
	churn_mib(1);	/* and reads GC_gc_no */
	n = GC_gc_no;
	churn_mib(64);
	ASSERT_EQ(n, GC_gc_no);
	GC_dont_gc = 0;
	churn_mib(64);
	ASSERT_LT(n, GC_gc_no);
}

static void **unc_box;
static int unc_freed;

/* A finalizer that frees an uncollectable object. */
static void free_unc_fn(void *obj, void *cd)
{
	(void)obj, (void)cd;
	GC_free(*unc_box);
	unc_freed = 1;
}

static __attribute__((noinline)) void finalizable_freeing(void)
{
	void *p = GC_MALLOC(48);

	GC_register_finalizer(p, free_unc_fn, NULL, NULL, NULL);
	GC_MALLOC(48);
}

/*
 * Finalizers run in allocation slow paths, never inside one that holds a
 * lock of the library: here the slow path of GC_malloc_uncollectable().
 */
TEST(finalizer_freeing_uncollectable_from_its_slow_path)
{
	GC_INIT();
	unc_box = GC_MALLOC_UNCOLLECTABLE(sizeof(void *));
	*unc_box = GC_MALLOC_UNCOLLECTABLE(64);
	GC_finalize_on_demand = 1;
	GC_set_finalize_on_demand(1);
	finalizable_freeing();
	collect();
	ASSERT_EQ(1, GC_should_invoke_finalizers());
	GC_set_finalize_on_demand(0);
	/* A large object: always the slow path. */
	ASSERT_NE(NULL, GC_MALLOC_UNCOLLECTABLE(1 << 20));
	ASSERT_EQ(1, unc_freed);
}

/* What gcmem cannot do fails loudly, naming the call (gc_mark.h's). */
void GC_set_push_other_roots(void (*fn)(void));

/* bdwgc's incremental mode is gcmem's concurrent mode. */
TEST(incremental_mode_is_concurrent)
{
	static void **kept;
	uintptr_t gone;

	GC_INIT();
	EXPECT_EQ(0, GC_is_incremental_mode());
	GC_enable_incremental();
	EXPECT_EQ(1, GC_is_incremental_mode());
	EXPECT_EQ(GC_PROTECTS_NONE, GC_incremental_protection_needs());
	/* So small a heap collects stopped, unless told otherwise. */
	ASSERT_EQ(0, gcu_set_concurrent_min(0));
	kept = GC_MALLOC(4 * sizeof(void *));
	ASSERT_NE(NULL, kept);
	kept[1] = GC_MALLOC(64);
	gone = garbage(64);
	collect();
	EXPECT_FALSE(alive(gone));
	EXPECT_EQ(1, gcu_allocated(kept[1]));
	EXPECT_LE(1, gcu_stats_now().concurrent_cycles);
	EXPECT_EQ(0, gcu_stats_now().checkmark_failures);
}

TEST(unsupported_calls_abort_with_a_message)
{
	int fds[2], status;
	char buf[256] = "";
	pid_t pid;

	GC_INIT();
	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		dup2(fds[1], 2);
		GC_set_push_other_roots((void (*)(void))abort);
		_exit(0);
	}
	close(fds[1]);
	ASSERT_LT(0, read(fds[0], buf, sizeof(buf) - 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGABRT, WTERMSIG(status));
	ASSERT_NE(NULL, strstr(buf, "GC_set_push_other_roots is not supported"))
		TH_LOG("stderr: %s", buf);
	close(fds[0]);
}

TEST_HARNESS_MAIN
