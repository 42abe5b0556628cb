// SPDX-License-Identifier: GPL-2.0
/*
 * Finalizers and weak references, through libgcuser, on the collector in
 * debug mode (every cycle re-checked by the checkmark pass):
 *
 *  - a finalizer runs once, after its object is unreachable, and the
 *    object lives until it ran; never while the object is reachable;
 *  - order: of A -> B -> C, all unreachable, A first, B at the next cycle,
 *    C at the one after; NO_ORDER finalizes all at once; an object that
 *    points to itself is never finalized, unless IGNORE_SELF;
 *  - resurrection, taking a registration back, early free, on-demand mode,
 *    finalizers run by the thread that allocates after a cycle;
 *  - weak references: short ones cleared when their object is unreachable,
 *    long ones once it is freed; kept while reachable; a reference inside
 *    an object that dies is forgotten, not written later;
 *  - thousands of cycles of chains with both, every object finalized once
 *    and in order; a fork's child finalizes its own copy.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "gcmem_util.h"
#include "gcu_util.h"

#pragma GCC diagnostic ignored "-Wclobbered"

struct node {
	struct node *next;
	uint64_t pattern;
	uint64_t pad[2];
};

#define LOG_MAX		16384

/* What ran: objects hidden, so that the log keeps nothing alive. */
static struct {
	uintptr_t obj;
	uintptr_t cd;
} fin_log[LOG_MAX];
static volatile int nfin;

/* Roots of the tests' own, registered by hand (globals are not roots). */
static void *keep[8];

static void record(void *obj, void *cd)
{
	int i = nfin;

	if (i < LOG_MAX) {
		fin_log[i].obj = HIDE(obj);
		fin_log[i].cd = (uintptr_t)cd;
	}
	nfin = i + 1;
}

static void record_and_keep(void *obj, void *cd)
{
	record(obj, cd);
	keep[1] = obj;
}

static void other(void *obj, void *cd)
{
	record(obj, cd);
}

FIXTURE(fin) {
	int dummy;
};

FIXTURE_SETUP(fin)
{
	ASSERT_EQ(0, gcu_init_flags(GCU_INIT_NO_GLOBALS))
		TH_LOG("gcu_init: %s", strerror(errno));
	ASSERT_EQ(0, gcu_set_gcpercent(-1));
	ASSERT_EQ(0, gcu_root_add(keep, sizeof(keep), GCU_TYPE_CONSERVATIVE));
	memset(keep, 0, sizeof(keep));
	nfin = 0;
}

FIXTURE_TEARDOWN(fin)
{
	gcu_set_finalize_on_demand(0);
	EXPECT_EQ(0, gcu_stats_now().checkmark_failures);
	gcu_shutdown();
}

/* A collection, with nothing of the caller's left on the stack. */
static void collect(void)
{
	scrub_stack();
	gcu_collect();
}

/*
 * The test bodies never hold an object's address: a compiler may keep it
 * in a callee-saved register across later calls (the collector scans
 * those), so every look at a hidden object goes through these.
 */
static __attribute__((noinline)) int allocated(uintptr_t h)
{
	return gcu_allocated(UNHIDE(h));
}

static __attribute__((noinline)) int is_at(const void *p, uintptr_t h)
{
	return p == UNHIDE(h);
}

/* @l[@i], hidden. */
static __attribute__((noinline)) uintptr_t hidden_at(void **l, int i)
{
	return l[i] ? HIDE(l[i]) : 0;
}

static __attribute__((noinline)) void keep_hidden(int i, uintptr_t h)
{
	keep[i] = UNHIDE(h);
}

/* A node with a finalizer: its address, hidden. */
static __attribute__((noinline)) uintptr_t make_node(struct node *next,
						     uintptr_t cd,
						     unsigned int flags)
{
	struct node *n = gcu_malloc(sizeof(*n));

	if (!n)
		return 0;
	n->next = next;
	n->pattern = 0x1234567 * cd;
	if (gcu_register_finalizer_flags(n, record, (void *)cd, flags, NULL,
					 NULL))
		return 0;
	/* The slot below a span's cursor stays: take the next one. */
	gcu_malloc(sizeof(*n));
	return HIDE(n);
}

/* A chain a -> b -> c of finalizable nodes, cd 1, 2, 3: a's address. */
static __attribute__((noinline)) uintptr_t make_chain(int len,
						      unsigned int flags)
{
	struct node *next = NULL;
	uintptr_t h = 0;

	for (int i = len; i > 0; i--) {
		h = make_node(next, i, flags);
		if (!h)
			return 0;
		next = UNHIDE(h);
	}
	return h;
}

TEST_F(fin, runs_once_after_unreachable)
{
	uintptr_t h = make_node(NULL, 7, 0);

	ASSERT_NE(0, h);
	collect();
	ASSERT_EQ(1, nfin);
	EXPECT_EQ(h, fin_log[0].obj);
	EXPECT_EQ(7, fin_log[0].cd);
	/* Kept for its finalizer, freed by the next cycle. */
	collect();
	collect();
	EXPECT_EQ(1, nfin);
	EXPECT_EQ(0, allocated(h));
}

TEST_F(fin, reachable_is_never_finalized)
{
	uintptr_t h = make_node(NULL, 1, 0);

	ASSERT_NE(0, h);
	keep_hidden(0, h);
	for (int i = 0; i < 3; i++)
		collect();
	EXPECT_EQ(0, nfin);
	EXPECT_EQ(0x1234567, ((struct node *)keep[0])->pattern);
	keep[0] = NULL;
	collect();
	EXPECT_EQ(1, nfin);
}

TEST_F(fin, ordered_chain_one_per_cycle)
{
	ASSERT_NE(0, make_chain(3, 0));
	for (int cycle = 1; cycle <= 3; cycle++) {
		collect();
		ASSERT_EQ(cycle, nfin);
		EXPECT_EQ(cycle, fin_log[cycle - 1].cd);
	}
	collect();
	EXPECT_EQ(3, nfin);
}

TEST_F(fin, no_order_all_at_once)
{
	ASSERT_NE(0, make_chain(3, GCU_FINALIZER_NO_ORDER));
	collect();
	EXPECT_EQ(3, nfin);
}

static __attribute__((noinline)) uintptr_t make_self(unsigned int flags)
{
	uintptr_t h = make_node(NULL, 9, flags);
	struct node *n = UNHIDE(h);

	if (h)
		n->next = n;
	return h;
}

TEST_F(fin, self_reference_blocks_unless_ignore_self)
{
	ASSERT_NE(0, make_self(0));
	for (int i = 0; i < 3; i++)
		collect();
	EXPECT_EQ(0, nfin);
	ASSERT_NE(0, make_self(GCU_FINALIZER_IGNORE_SELF));
	collect();
	EXPECT_EQ(1, nfin);
	EXPECT_EQ(9, fin_log[0].cd);
}

/* Register @fn for the hidden object, out of the test's frame. */
static __attribute__((noinline)) int reregister(uintptr_t h,
						gcu_finalizer_fn fn, void *cd,
						gcu_finalizer_fn *ofn,
						void **ocd)
{
	return gcu_register_finalizer(UNHIDE(h), fn, cd, ofn, ocd);
}

/* A new finalizer for the resurrected keep[1], which is dropped. */
static __attribute__((noinline)) int register_kept(void)
{
	int ret = gcu_register_finalizer(keep[1], record, (void *)4, NULL,
					 NULL);

	keep[1] = NULL;
	return ret;
}

/* keep[@i], hidden; its pattern: never in the test's own registers. */
static __attribute__((noinline)) uintptr_t kept(int i)
{
	return HIDE(keep[i]);
}

static __attribute__((noinline)) uint64_t kept_pattern(int i)
{
	return keep[i] ? ((struct node *)keep[i])->pattern : 0;
}

TEST_F(fin, resurrection)
{
	uintptr_t h = make_node(NULL, 3, 0);

	ASSERT_EQ(0, reregister(h, record_and_keep, (void *)3, NULL, NULL));
	collect();
	ASSERT_EQ(1, nfin);
	EXPECT_EQ(h, kept(1));
	for (int i = 0; i < 3; i++)
		collect();
	/* Alive and whole, and not finalized again. */
	EXPECT_EQ(1, nfin);
	EXPECT_EQ(1, allocated(h));
	EXPECT_EQ(0x1234567 * 3, kept_pattern(1));
	/* A new registration, and it goes again. */
	ASSERT_EQ(0, register_kept());
	collect();
	EXPECT_EQ(2, nfin);
	EXPECT_EQ(4, fin_log[1].cd);
}

TEST_F(fin, replace_and_take_back)
{
	uintptr_t h = make_node(NULL, 5, 0);
	gcu_finalizer_fn ofn;
	void *ocd;

	ASSERT_EQ(0, reregister(h, other, (void *)6, &ofn, &ocd));
	EXPECT_TRUE(ofn == record);
	EXPECT_EQ((void *)5, ocd);
	ASSERT_EQ(0, reregister(h, NULL, NULL, &ofn, &ocd));
	EXPECT_TRUE(ofn == other);
	EXPECT_EQ((void *)6, ocd);
	collect();
	EXPECT_EQ(0, nfin);
	EXPECT_EQ(0, allocated(h));
	/* Not an object's start: refused. */
	errno = 0;
	EXPECT_EQ(-1, gcu_register_finalizer((char *)keep + 1, record, NULL,
					     NULL, NULL));
	EXPECT_EQ(EINVAL, errno);
}

static __attribute__((noinline)) int free_hidden(uintptr_t h)
{
	return gcu_free(UNHIDE(h));
}

TEST_F(fin, early_free_forgets_the_finalizer)
{
	uintptr_t h = make_node(NULL, 5, 0);

	ASSERT_EQ(0, free_hidden(h));
	collect();
	EXPECT_EQ(0, nfin);
}

TEST_F(fin, on_demand)
{
	struct gcmem_collect c = { .size = sizeof(c) };
	uintptr_t h;

	gcu_set_finalize_on_demand(1);
	h = make_node(NULL, 2, 0);
	collect();
	EXPECT_EQ(0, nfin);
	EXPECT_EQ(1, gcu_finalizers_ready());
	EXPECT_EQ(1, allocated(h));
	EXPECT_EQ(1, gcu_run_finalizers());
	EXPECT_EQ(1, nfin);
	EXPECT_EQ(0, gcu_finalizers_ready());

	/* By default the next slow path runs them, even without gcu_collect. */
	gcu_set_finalize_on_demand(0);
	make_node(NULL, 3, 0);
	scrub_stack();
	ASSERT_EQ(0, ioctl(gcu_heap()->fd, GCMEM_IOC_COLLECT, &c));
	EXPECT_EQ(1, nfin);
	ASSERT_NE(NULL, gcu_malloc(1 << 20));
	EXPECT_EQ(2, nfin);
}

/* A finalizable target, and an atomic pair of weak references to it. */
static __attribute__((noinline)) uintptr_t make_weak(void ***links,
						     int keep_it)
{
	uintptr_t h = make_node(NULL, 8, 0);
	void **l = gcu_malloc_atomic(2 * sizeof(void *));

	if (!h || !l)
		return 0;
	l[0] = UNHIDE(h);
	l[1] = UNHIDE(h);
	if (gcu_weak_register(&l[0], UNHIDE(h), 0) ||
	    gcu_weak_register(&l[1], UNHIDE(h), GCU_WEAK_LONG))
		return 0;
	if (keep_it)
		keep[0] = UNHIDE(h);
	*links = l;
	return h;
}

TEST_F(fin, weak_short_then_long)
{
	void **l;
	uintptr_t h = make_weak(&l, 0);

	ASSERT_NE(0, h);
	keep[2] = l;
	collect();
	/* Short: cleared at once; long: kept while it waits for finalization. */
	EXPECT_EQ(NULL, l[0]);
	EXPECT_EQ(h, hidden_at(l, 1));
	EXPECT_EQ(1, nfin);
	collect();
	EXPECT_EQ(NULL, l[1]);
}

TEST_F(fin, weak_kept_while_reachable)
{
	void **l;
	uintptr_t h = make_weak(&l, 1);

	ASSERT_NE(0, h);
	keep[2] = l;
	for (int i = 0; i < 3; i++)
		collect();
	EXPECT_EQ(h, hidden_at(l, 0));
	EXPECT_EQ(h, hidden_at(l, 1));
	keep[0] = NULL;
	collect();
	collect();
	EXPECT_EQ(NULL, l[0]);
	EXPECT_EQ(NULL, l[1]);
}

TEST_F(fin, weak_registration_rules)
{
	void **l = gcu_malloc_atomic(4 * sizeof(void *));
	struct node *a = gcu_malloc(sizeof(*a)), *b = gcu_malloc(sizeof(*b));

	ASSERT_NE(NULL, l);
	keep[0] = a;
	keep[1] = b;
	keep[2] = l;
	EXPECT_EQ(0, gcu_weak_register(&l[0], a, 0));
	EXPECT_EQ(1, gcu_weak_register(&l[0], b, 0));
	/* Short and long registrations of a location are separate. */
	EXPECT_EQ(0, gcu_weak_register(&l[0], a, GCU_WEAK_LONG));
	EXPECT_EQ(0, gcu_weak_unregister(&l[0], 0));
	EXPECT_EQ(-1, gcu_weak_unregister(&l[0], 0));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(0, gcu_weak_unregister(&l[0], GCU_WEAK_LONG));
	EXPECT_EQ(-1, gcu_weak_register((void **)((char *)l + 4), a, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, gcu_weak_register(&l[1], (char *)a + 8, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, gcu_weak_register(&l[1], a, 0x10));
	EXPECT_EQ(EINVAL, errno);
	/* An unregistered reference is left alone. */
	l[2] = b;
	keep[1] = NULL;
	collect();
	EXPECT_EQ(b, l[2]);
}

/* Two short references to a new object kept only in keep[0]. */
static __attribute__((noinline)) int weak_pair(void **l)
{
	keep[0] = gcu_malloc(sizeof(struct node));
	gcu_malloc(sizeof(struct node));	/* off the cursor's slot */
	return gcu_weak_register(&l[0], keep[0], 0) ||
	       gcu_weak_register(&l[2], keep[0], 0);
}

/* Moving a registration: to a free place, onto a taken one, to itself. */
TEST_F(fin, weak_move)
{
	void **l = gcu_malloc_atomic(4 * sizeof(void *));
	struct gcmem_weak w = { .size = sizeof(w) };

	ASSERT_NE(NULL, l);
	keep[2] = l;
	ASSERT_EQ(0, weak_pair(l));
	EXPECT_EQ(-1, gcu_weak_move(&l[1], &l[3], 0));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, gcu_weak_move(&l[0], &l[0], GCU_WEAK_LONG));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, gcu_weak_move(&l[0], &l[2], 0));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(0, gcu_weak_move(&l[0], &l[0], 0));
	EXPECT_EQ(0, gcu_weak_move(&l[0], &l[1], 0));
	EXPECT_EQ(-1, gcu_weak_unregister(&l[0], 0));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, gcu_weak_move(&l[1], (void **)((char *)l + 4), 0));
	EXPECT_EQ(EINVAL, errno);
	/* MOVE with REMOVE, and MOVE to nowhere, are refused. */
	w.flags = GCMEM_WEAK_MOVE | GCMEM_WEAK_REMOVE;
	w.link = (uintptr_t)&l[1];
	EXPECT_EQ(-1, ioctl(gcu_heap()->fd, GCMEM_IOC_WEAK, &w));
	EXPECT_EQ(EINVAL, errno);
	w.flags = GCMEM_WEAK_MOVE;
	EXPECT_EQ(-1, ioctl(gcu_heap()->fd, GCMEM_IOC_WEAK, &w));
	EXPECT_EQ(EINVAL, errno);
	/* Cleared at the new place only. */
	l[0] = (void *)1;
	l[1] = (void *)1;
	l[2] = (void *)1;
	keep[0] = NULL;
	collect();
	EXPECT_EQ((void *)1, l[0]);
	EXPECT_EQ(NULL, l[1]);
	EXPECT_EQ(NULL, l[2]);
}

/*
 * A weak reference that lives in a large atomic object, to a target kept
 * in keep[0]: the object, hidden.
 */
static __attribute__((noinline)) uintptr_t make_holder(void)
{
	void **l = gcu_malloc_atomic(64 << 10);

	keep[0] = gcu_malloc(sizeof(struct node));
	if (!l || !keep[0] || gcu_weak_register(&l[3], keep[0], 0))
		return 0;
	l[3] = keep[0];
	return HIDE(l);
}

TEST_F(fin, weak_in_a_dead_object_is_forgotten)
{
	static void *fill[64];
	uintptr_t hl;
	char *p = NULL;
	int i;

	hl = make_holder();
	ASSERT_NE(0, hl);
	ASSERT_EQ(0, gcu_root_add(fill, sizeof(fill), GCU_TYPE_CONSERVATIVE));
	/* Twice: a register may hold the holder for one cycle. */
	collect();
	collect();
	EXPECT_EQ(0, allocated(hl));
	/* The holder's pages come back to another object. */
	for (i = 0; i < 64 && !is_at(p, hl); i++) {
		p = gcu_malloc_atomic(64 << 10);
		ASSERT_NE(NULL, p);
		memset(p, 0xab, 64 << 10);
		fill[i] = p;
	}
	if (!is_at(p, hl))
		SKIP(return, "the holder's pages were not reused");
	keep[0] = NULL;
	collect();
	/* Nothing wrote where the dead holder's reference was. */
	EXPECT_EQ((char)0xab, p[3 * sizeof(void *)]);
	EXPECT_EQ(0, gcu_root_remove(fill, sizeof(fill)));
}

/*
 * Round r: a chain A -> B with finalizers (cd 2r, 2r + 1), a short weak
 * reference to B and a long one to A in slot r % NLINKS of an atomic
 * array. Each round's cycle finalizes the last round's B and this round's
 * A, clears the short reference to B at once and the long one to A one
 * cycle later.
 */
#define NLINKS	64

static __attribute__((noinline)) int round_make(void **links, int r)
{
	uintptr_t b = make_node(NULL, 2 * r + 1, 0);
	uintptr_t a = b ? make_node(UNHIDE(b), 2 * r, 0) : 0;
	void **s = &links[2 * (r % NLINKS)];

	if (!a)
		return -1;
	s[0] = UNHIDE(b);
	s[1] = UNHIDE(a);
	if (gcu_weak_register(&s[0], UNHIDE(b), 0) ||
	    gcu_weak_register(&s[1], UNHIDE(a), GCU_WEAK_LONG))
		return -1;
	return 0;
}

static int cycles_wanted(void)
{
	const char *e = getenv("GCMEM_FIN_CYCLES");

	return e ? atoi(e) : 2000;
}

TEST_F_TIMEOUT(fin, thousands_of_cycles, 600)
{
	void **links = gcu_malloc_atomic(2 * NLINKS * sizeof(void *));
	int rounds = cycles_wanted(), r, i, bad = 0;
	static int when[2 * 20000];

	ASSERT_NE(NULL, links);
	ASSERT_GE(20000, rounds);
	keep[2] = links;
	for (r = 0; r < rounds; r++) {
		ASSERT_EQ(0, round_make(links, r));
		collect();
		if (links[2 * (r % NLINKS)] && bad++ < 5)
			TH_LOG("round %d: short reference to B not cleared", r);
		if (!links[2 * (r % NLINKS) + 1] && bad++ < 5)
			TH_LOG("round %d: long reference to A cleared early", r);
	}
	collect();
	collect();
	EXPECT_EQ(0, bad);
	ASSERT_EQ(2 * rounds, nfin);
	/* Each object once; each A before its B. */
	memset(when, 0xff, sizeof(when));
	for (i = 0; i < nfin && i < LOG_MAX; i++) {
		int cd = (int)fin_log[i].cd;

		ASSERT_EQ(-1, when[cd]) TH_LOG("object %d finalized twice", cd);
		when[cd] = i;
	}
	for (r = 0; r < rounds && 2 * r + 1 < LOG_MAX; r++)
		EXPECT_LT(when[2 * r], when[2 * r + 1]) TH_LOG("round %d", r);
	for (i = 0; i < 2 * NLINKS; i++)
		EXPECT_EQ(NULL, links[i]) TH_LOG("reference %d", i);
	TH_LOG("%d cycles, %d objects finalized", rounds + 2, nfin);
}

TEST_F(fin, fork_child_finalizes_its_copy)
{
	uintptr_t h = make_node(NULL, 4, 0);
	int status;
	pid_t pid;

	ASSERT_NE(0, h);
	keep_hidden(0, h);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		keep[0] = NULL;
		collect();
		_exit(nfin == 1 && fin_log[0].obj == h ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	collect();
	EXPECT_EQ(0, nfin);
	keep[0] = NULL;
	collect();
	EXPECT_EQ(1, nfin);
}

TEST_HARNESS_MAIN
