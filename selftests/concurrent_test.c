// SPDX-License-Identifier: GPL-2.0
/*
 * The concurrent collector (GCU_MODE_CONCURRENT) against the program's
 * writes, in both modes.
 *
 * The classic lost-object race: a pointer is the only reference to its
 * target, and threads keep moving it from a holder the mark has not
 * reached yet into one it has already scanned, clearing the original.
 * Without the kernel's write tracking and the rescan of written chunks at
 * mark termination, the mark never sees the target and the sweep frees
 * it. The holders sit along one long chain of ballast, so that the mark
 * reaches them one after the other over the whole mark, while the movers
 * run beside it. The module runs in debug mode: the checkmark pass at
 * mark termination marks everything again and counts any object reachable
 * but unmarked; the test wants none, and every target intact.
 *
 * The same race with the store made by the kernel: read() from a pipe
 * into the holder, which the write tracking must see as well. And the
 * movers allocate as they go: new targets (white, in a concurrent cycle,
 * reached only through the holder they are stored into) and garbage
 * enough to refill during the mark.
 *
 * The race runs in cycles of gcu_collect(), whole in the calling thread,
 * and in cycles of the pacer, which the allocating thread only starts:
 * the kernel's driver runs them beside it (and a test checks that it
 * does).
 *
 * The colour of what a concurrent mark's program allocates: white by
 * default (an object nothing reaches goes in that very cycle), black with
 * the module's allocate_black=1 (it survives that cycle and goes in the
 * next); the race runs allocating black as well.
 *
 * Then: two heaps (two processes, a large live set and a small one)
 * collecting concurrently at once; attempts to split, move or protect the
 * arena while concurrent marks run; a small heap's cycles stopping the
 * world; a concurrent cycle's SCAN stopping no thread; the mode options'
 * ABI.
 */
#define GCU_REDIRECT_PTHREAD
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gcmem_util.h"
#include "gcu_util.h"

#define HOLDERS		256
#define BALLAST		48	/* nodes of chain between two holders */
#define MOVERS		3
#define TARGETS		16	/* per mover */
#define CYCLES		60

struct holder {
	struct holder *next;	/* the chain: ballast, then the next holder */
	void *ref[MOVERS];	/* ref[m] belongs to mover m */
};

struct target {
	uint64_t magic[4];
};

/* The head of the chain: a global, so a root (volatile: never read). */
static struct holder *volatile chain;

/* What the movers share with the test; not scanned (libc's heap). */
struct race {
	struct holder **holders;	/* HOLDERS of them, along the chain */
	int via_pipe;
	volatile int stop;
	int failed;
	pthread_barrier_t ready;
};

static uint64_t target_magic(int m, int t, int w)
{
	return 0x7a26e700000000ULL ^ ((uint64_t)m << 24) ^ (t << 8) ^ w;
}

/* The chain: holder, BALLAST nodes, holder, ... all conservative objects. */
static __attribute__((noinline)) int build_chain(struct race *r)
{
	struct holder *prev = NULL;

	for (int h = 0; h < HOLDERS; h++) {
		struct holder *hd = gcu_malloc(sizeof(*hd));

		if (!hd)
			return -1;
		r->holders[h] = hd;
		if (prev)
			prev->next = hd;
		else
			chain = hd;
		prev = hd;
		for (int b = 0; b < BALLAST; b++) {
			struct holder *n = gcu_malloc(sizeof(*n));

			if (!n)
				return -1;
			prev->next = n;
			prev = n;
		}
	}
	return 0;
}

/* A new target @t of mover @m, in holder @h; the old one is garbage. */
static __attribute__((noinline)) int new_target(struct race *r, int m, int t,
						int h)
{
	struct target *tg = gcu_malloc(sizeof(*tg));

	if (!tg)
		return -1;
	for (int w = 0; w < 4; w++)
		tg->magic[w] = target_magic(m, t, w);
	*(void *volatile *)&r->holders[h]->ref[m] = tg;
	return 0;
}

/* Mover @m's targets, each in a holder of its own, none anywhere else. */
static __attribute__((noinline)) int place_targets(struct race *r, int m,
						   int *where)
{
	for (int t = 0; t < TARGETS; t++) {
		where[t] = t * (HOLDERS / TARGETS);
		if (new_target(r, m, t, where[t]))
			return -1;
	}
	return 0;
}

/* Garbage: refills, during the mark in a concurrent cycle. */
static __attribute__((noinline)) void garbage(int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t *p = gcu_malloc(48);

		if (p)
			p[0] = i;
	}
}

/*
 * Move target @t from holder @from to holder @to, clearing @from: the
 * store into @to by the program or, @pipefd set, by the kernel's read().
 */
static __attribute__((noinline)) void move(struct race *r, int m,
					   int from, int to, const int *pipefd)
{
	void **dst = &r->holders[to]->ref[m];
	void *p = r->holders[from]->ref[m];

	if (pipefd) {
		if (write(pipefd[1], &p, sizeof(p)) != sizeof(p) ||
		    read(pipefd[0], dst, sizeof(p)) != sizeof(p))
			r->failed = 1;
	} else {
		*(void *volatile *)dst = p;
	}
	*(void *volatile *)&r->holders[from]->ref[m] = NULL;
}

/* Count mover @m's targets that are not intact where they should be. */
static __attribute__((noinline)) int check_targets(struct race *r, int m,
						   const int *where)
{
	int bad = 0;

	for (int t = 0; t < TARGETS; t++) {
		struct target *tg = r->holders[where[t]]->ref[m];

		for (int w = 0; w < 4; w++)
			if (!tg || tg->magic[w] != target_magic(m, t, w)) {
				bad++;
				break;
			}
	}
	return bad;
}

struct mover_arg {
	struct race *r;
	int m;
	int lost;
};

static void *mover(void *p)
{
	struct mover_arg *a = p;
	struct race *r = a->r;
	int where[TARGETS], pipefd[2];
	unsigned int seed = 0x9e3779b9u * (a->m + 1);

	if (r->via_pipe && pipe(pipefd))
		r->failed = 1;
	if (place_targets(r, a->m, where))
		r->failed = 1;
	pthread_barrier_wait(&r->ready);
	for (unsigned long i = 0; !r->stop; i++) {
		int t = rand_r(&seed) % TARGETS;
		int to = rand_r(&seed) % HOLDERS;

		/*
		 * Now and then a new target, white if the mark is under way,
		 * replaces the old one, and garbage makes the thread refill.
		 */
		if (i % 16 == 0) {
			if (new_target(r, a->m, t, where[t]))
				r->failed = 1;
			garbage(64);
		}
		/* Holders are shared by every target of the mover: one each. */
		if (r->holders[to]->ref[a->m])
			continue;
		move(r, a->m, where[t], to, r->via_pipe ? pipefd : NULL);
		where[t] = to;
		gcu_safepoint();
	}
	a->lost = check_targets(r, a->m, where);
	if (r->via_pipe) {
		close(pipefd[0]);
		close(pipefd[1]);
	}
	return NULL;
}

/* Garbage for the sweeps to free and the next allocations to reuse. */
static __attribute__((noinline)) void churn(void)
{
	for (int i = 0; i < 2000; i++) {
		uint64_t *p = gcu_malloc(32);

		if (p)
			memset(p, 0xee, 32);
	}
}

FIXTURE(race) {
	struct race r;
};

FIXTURE_VARIANT(race) {
	int mode;
	int via_pipe;
	int paced;	/* the pacer's cycles, not gcu_collect()'s */
	int black;	/* allocate_black=1 */
	int assist;	/* assist_ratio=1: proportional assists */
	int alone;	/* every mark in a stop begun alone, handed over */
};

FIXTURE_VARIANT_ADD(race, stw) { .mode = GCU_MODE_STW };
FIXTURE_VARIANT_ADD(race, concurrent) { .mode = GCU_MODE_CONCURRENT };
FIXTURE_VARIANT_ADD(race, stw_read) {
	.mode = GCU_MODE_STW, .via_pipe = 1,
};
FIXTURE_VARIANT_ADD(race, concurrent_read) {
	.mode = GCU_MODE_CONCURRENT, .via_pipe = 1,
};
/* Cycles the allocating thread starts and the kernel's driver runs. */
FIXTURE_VARIANT_ADD(race, concurrent_paced) {
	.mode = GCU_MODE_CONCURRENT, .paced = 1,
};
/* New objects (the movers' targets among them) allocated black. */
FIXTURE_VARIANT_ADD(race, concurrent_black) {
	.mode = GCU_MODE_CONCURRENT, .black = 1,
};
FIXTURE_VARIANT_ADD(race, concurrent_paced_black) {
	.mode = GCU_MODE_CONCURRENT, .paced = 1, .black = 1,
};
/*
 * Every allocation during the mark owes it work, in proportion (pace.c):
 * the refill path's assist, under KASAN and lockdep on the debug kernel.
 * A chain leaves an assist little to take (its frontier is one worker's
 * buffer): the log says how much the assists marked.
 */
FIXTURE_VARIANT_ADD(race, concurrent_paced_assist) {
	.mode = GCU_MODE_CONCURRENT, .paced = 1, .assist = 1,
};
/*
 * The driver marks alone in a stop when the mark looks small, and hands
 * the rest to the workers once it has scanned mark_alone_objs objects
 * (collect.c). Here every mark looks small, the driver's alone (beside
 * the program too: the concurrent marks and precleaning; not a remark
 * with more than 8 written pages), and one in a stop is handed over
 * after a few dozen objects.
 */
FIXTURE_VARIANT_ADD(race, stw_handover) {
	.mode = GCU_MODE_STW, .alone = 1,
};
FIXTURE_VARIANT_ADD(race, concurrent_handover) {
	.mode = GCU_MODE_CONCURRENT, .alone = 1,
};

#define BLACK_PARAM	"/sys/module/gcmem/parameters/allocate_black"
#define ASSIST_PARAM	"/sys/module/gcmem/parameters/assist_ratio"
#define ALONE_BYTES	"/sys/module/gcmem/parameters/mark_alone_bytes"
#define ALONE_OBJS	"/sys/module/gcmem/parameters/mark_alone_objs"

FIXTURE_SETUP(race)
{
	if (variant->black)
		ASSERT_EQ(0, gcmem_write_file(BLACK_PARAM, "1"));
	if (variant->assist)
		ASSERT_EQ(0, gcmem_write_file(ASSIST_PARAM, "1"));
	if (variant->alone) {
		ASSERT_EQ(0, gcmem_write_file(ALONE_BYTES, "1099511627776"));
		ASSERT_EQ(0, gcmem_write_file(ALONE_OBJS, "1"));
	}
	ASSERT_EQ(0, gcu_init()) TH_LOG("gcu_init: %s", strerror(errno));
	if (!variant->paced)
		ASSERT_EQ(0, gcu_set_gcpercent(-1));
	ASSERT_EQ(0, gcu_set_mode_always(variant->mode));
	memset(&self->r, 0, sizeof(self->r));
	self->r.via_pipe = variant->via_pipe;
	self->r.holders = calloc(HOLDERS, sizeof(*self->r.holders));
	ASSERT_NE(NULL, self->r.holders);
	ASSERT_EQ(0, build_chain(&self->r));
}

FIXTURE_TEARDOWN(race)
{
	struct gcu_heap_stats st = gcu_stats_now();

	EXPECT_EQ(0, st.checkmark_failures);
	chain = NULL;
	free(self->r.holders);
	gcu_shutdown();
	if (variant->black)
		gcmem_write_file(BLACK_PARAM, "0");
	if (variant->assist)
		gcmem_write_file(ASSIST_PARAM, "0");
	if (variant->alone) {
		gcmem_write_file(ALONE_BYTES, "262144");
		gcmem_write_file(ALONE_OBJS, "1024");
	}
}

/*
 * The pacer's cycles come every 4 MiB of garbage the main thread makes: on
 * the debug kernel (KASAN, TCG) 60 of them took longer than the default
 * 30 s, so the paced variant runs a third as many, and all have 120 s.
 * The black and handover variants, options', run a third as many too:
 * make check's debug guest is its long pole.
 */
#define PACED_CYCLES	(CYCLES / 3)

TEST_F_TIMEOUT(race, moved_reference_survives, 120)
{
	struct mover_arg args[MOVERS];
	pthread_t th[MOVERS];
	struct gcu_heap_stats st;
	int i, lost = 0;

	ASSERT_EQ(0, pthread_barrier_init(&self->r.ready, NULL, MOVERS + 1));
	for (i = 0; i < MOVERS; i++) {
		args[i] = (struct mover_arg){ .r = &self->r, .m = i };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, mover, &args[i]));
	}
	pthread_barrier_wait(&self->r.ready);
	for (i = 0; i < (variant->black || variant->alone ? CYCLES / 3 :
							      CYCLES) &&
		    !variant->paced; i++) {
		churn();
		scrub_stack();
		ASSERT_EQ(0, gcu_collect());
	}
	/* Garbage until the pacer has started as many (bounded: 4 GiB). */
	for (i = 0; variant->paced && i < 1 << 16; i++) {
		churn();
		if (i % 16 == 0 && gcu_stats_now().cycles >= PACED_CYCLES)
			break;
	}
	self->r.stop = 1;
	for (i = 0; i < MOVERS; i++) {
		pthread_join(th[i], NULL);
		lost += args[i].lost;
	}
	pthread_barrier_destroy(&self->r.ready);
	/* The last cycle the pacer started may still be under way. */
	if (variant->paced)
		ASSERT_EQ(0, gcu_collect());
	EXPECT_EQ(0, self->r.failed);
	EXPECT_EQ(0, lost);
	ASSERT_EQ(0, gcu_stats(&st));
	EXPECT_EQ(0, st.checkmark_failures);
	EXPECT_EQ(0, st.abandoned);
	if (variant->assist)
		TH_LOG("%llu objects marked by assists",
		       (unsigned long long)st.assist_marked);
	/*
	 * Each stop-the-world mark (the whole chain) began alone and was
	 * handed over. A remark begins alone unless it has more than 8
	 * written pages to scan again (collect.c), and finds a few new
	 * targets, too few for the workers even here.
	 */
	if (variant->alone && variant->mode == GCU_MODE_STW) {
		EXPECT_LE(st.cycles, st.alone_marks);
		EXPECT_LE(st.cycles, st.alone_handovers);
	}
	if (variant->alone)
		TH_LOG("%llu marks begun alone, %llu handed to the workers",
		       (unsigned long long)st.alone_marks,
		       (unsigned long long)st.alone_handovers);
	/* Every wait for a cycle takes time, and none takes time unseen. */
	EXPECT_EQ(st.waits == 0, st.wait_ns == 0);
	TH_LOG("%llu waits for a cycle, %.3f ms in all",
	       (unsigned long long)st.waits, st.wait_ns / 1e6);
	if (variant->mode == GCU_MODE_CONCURRENT) {
		/* One pause a cycle, and the movers' writes were seen. */
		EXPECT_EQ(st.cycles, st.concurrent_cycles);
		EXPECT_EQ(st.cycles, st.pauses);
		EXPECT_LT(0, st.precleaned_chunks + st.rescanned_chunks);
		EXPECT_LT(0, st.track_faults);
	} else {
		EXPECT_EQ(0, st.concurrent_cycles);
		EXPECT_EQ(st.cycles, st.pauses);
	}
	TH_LOG("%llu cycles, %llu pauses, max %.3f ms, %llu+%llu chunks precleaned+rescanned, %llu write faults",
	       (unsigned long long)st.cycles, (unsigned long long)st.pauses,
	       st.pause_max_ns / 1e6, (unsigned long long)st.precleaned_chunks,
	       (unsigned long long)st.rescanned_chunks,
	       (unsigned long long)st.track_faults);
}

/*
 * Two heaps collecting at once, in two processes: a large live list that
 * takes the workers a while to mark and a small one collected over and
 * over, both in concurrent mode. The workers serve both; each keeps its
 * list whole, and neither gives a cycle up.
 */
struct lnode {
	struct lnode *next;
	uint64_t val;
};

static struct lnode *volatile list_head;

static __attribute__((noinline)) int build_list(long n)
{
	for (long i = 0; i < n; i++) {
		struct lnode *nd = gcu_malloc(sizeof(*nd));

		if (!nd)
			return -1;
		nd->val = i ^ 0x5a5a;
		nd->next = list_head;
		list_head = nd;
	}
	return 0;
}

static __attribute__((noinline)) long walk_list(long n)
{
	long i = n - 1;

	for (struct lnode *nd = list_head; nd; nd = nd->next, i--)
		if (i < 0 || nd->val != ((uint64_t)i ^ 0x5a5a))
			return -1;
	return i == -1 ? n : -1;
}

static int heap_child(long nodes, int cycles)
{
	struct gcu_heap_stats st;

	if (gcu_init() || gcu_set_gcpercent(-1) ||
	    gcu_set_mode_always(GCU_MODE_CONCURRENT) || build_list(nodes))
		return 2;
	for (int c = 0; c < cycles; c++) {
		churn();
		scrub_stack();
		if (gcu_collect())
			return 3;
	}
	if (walk_list(nodes) != nodes)
		return 4;
	if (gcu_stats(&st) || st.checkmark_failures || st.abandoned ||
	    st.concurrent_cycles != (uint64_t)cycles)
		return 5;
	return 0;
}

TEST(two_heaps_collect_at_once)
{
	static const struct { long nodes; int cycles; } kind[2] = {
		{ 400000, 4 },	/* 6 MiB of 16-byte nodes */
		{ 1000, 40 },
	};
	pid_t pid[2];
	int st;

	for (int k = 0; k < 2; k++) {
		pid[k] = fork();
		ASSERT_LE(0, pid[k]);
		if (!pid[k])
			_exit(heap_child(kind[k].nodes, kind[k].cycles));
	}
	for (int k = 0; k < 2; k++) {
		ASSERT_EQ(pid[k], waitpid(pid[k], &st, 0));
		EXPECT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st))
			TH_LOG("heap of %ld nodes: status %#x", kind[k].nodes,
			       st);
	}
}

/*
 * One heap's long concurrent mark does not hold up another heap's cycles
 * (worker.c): while a large heap's one long chain is marked beside its
 * program (its first round, before precleaning; one chain, no
 * parallelism), a small heap's stop-the-world cycles run to their end, the
 * mark workers leaving the long mark for them and coming back. Were the
 * cycles taken in turn, a small one would wait for the end of that round,
 * and none would fit in it. A thread of the large heap's process copies
 * its phase, cycle count and ragged scans (the first precleaning round's
 * ends the first round) to shared memory for the small one.
 */
#define FAIR_BIG_NODES	(3L << 19)	/* 24 MiB of 16-byte nodes */
#define FAIR_WANT	10

struct fair {
	volatile int ready, done, stop;
	volatile __u32 phase;
	volatile __u64 cycle, ragged;
};

static void *fair_poller(void *arg)
{
	const volatile struct gcmem_control *ctl = gcu_heap()->control;
	struct fair *f = arg;

	struct gcu_heap_stats st;

	while (!f->stop) {
		f->cycle = ctl->cycle;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		f->phase = ctl->phase;
		if (!gcu_stats(&st))
			f->ragged = st.ragged_scans;
		gcu_safepoint();
		usleep(50);
	}
	return NULL;
}

static int fair_big(struct fair *f)
{
	pthread_t th;

	if (gcu_init() || gcu_set_gcpercent(-1) ||
	    gcu_set_mode_always(GCU_MODE_CONCURRENT) ||
	    build_list(FAIR_BIG_NODES) ||
	    pthread_create(&th, NULL, fair_poller, f))
		return 2;
	f->ready = 1;
	for (int c = 0; c < 3; c++) {
		scrub_stack();
		if (gcu_collect())
			return 3;
	}
	f->done = 1;
	f->stop = 1;
	pthread_join(th, NULL);
	return walk_list(FAIR_BIG_NODES) == FAIR_BIG_NODES ? 0 : 4;
}

/* The small heap's cycles within the first round of a large heap's mark. */
static int fair_small(struct fair *f)
{
	int within = 0, cycles = 0;

	if (gcu_init() || gcu_set_gcpercent(-1) ||
	    gcu_set_mode(GCU_MODE_STW) || build_list(1000))
		return -1;
	while (!f->ready)
		usleep(1000);
	while (!f->done) {
		__u64 cycle = f->cycle, ragged = f->ragged;
		__u32 phase = f->phase;

		if (gcu_collect())
			return -1;
		cycles++;
		if (phase == GCMEM_PHASE_MARK && f->phase == GCMEM_PHASE_MARK &&
		    f->cycle == cycle && f->ragged == ragged)
			within++;
	}
	printf("# small heap: %d cycles, %d within a first round of the large heap's marks\n",
	       cycles, within);
	return within;
}

FIXTURE(fair) {
};

FIXTURE_SETUP(fair)
{
}

FIXTURE_TEARDOWN(fair)
{
}

TEST_F_TIMEOUT(fair, a_long_mark_shares_the_workers, 300)
{
	struct fair *f = mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t big, small;
	int st;

	ASSERT_NE(MAP_FAILED, f);
	big = fork();
	ASSERT_LE(0, big);
	if (!big)
		_exit(fair_big(f));
	small = fork();
	ASSERT_LE(0, small);
	if (!small) {
		int n = fair_small(f);

		_exit(n < 0 ? 255 : n > 100 ? 100 : n);
	}
	ASSERT_EQ(big, waitpid(big, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st)) TH_LOG("big: %#x", st);
	ASSERT_EQ(small, waitpid(small, &st, 0));
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) != 255)
		TH_LOG("small: %#x", st);
	EXPECT_LE(FAIR_WANT, WEXITSTATUS(st));
	munmap(f, sizeof(*f));
}

/*
 * A cycle the pacer starts at a refill goes on beside the thread that
 * started it: in concurrent mode the kernel's driver runs it, and a
 * single-threaded program keeps allocating while its heap is marked (it
 * sees the control page's phase MARK between its allocations). In
 * stop-the-world mode the cycle is over before the refill returns, and
 * the thread never sees it.
 */
FIXTURE(beside) {
};

FIXTURE_VARIANT(beside) {
	int mode;
};

FIXTURE_VARIANT_ADD(beside, stw) { .mode = GCU_MODE_STW };
FIXTURE_VARIANT_ADD(beside, concurrent) { .mode = GCU_MODE_CONCURRENT };

FIXTURE_SETUP(beside)
{
	ASSERT_EQ(0, gcu_init());
	ASSERT_EQ(0, gcu_set_mode_always(variant->mode));
}

FIXTURE_TEARDOWN(beside)
{
	list_head = NULL;
	gcu_shutdown();
}

#define BESIDE_NODES	(1L << 20)	/* 16 MiB live: a mark to see */
#define BESIDE_CYCLES	4

TEST_F_TIMEOUT(beside, pacer_cycle_runs_beside_its_thread, 120)
{
	const volatile struct gcmem_control *ctl = gcu_heap()->control;
	long allocs = 0, marking = 0, other = 0;
	struct gcu_heap_stats st;

	ASSERT_EQ(0, build_list(BESIDE_NODES));
	ASSERT_EQ(0, gcu_stats(&st));
	/* Garbage until the pacer has run a few cycles (bounded: 8 GiB). */
	for (uint64_t end = st.cycles + BESIDE_CYCLES;
	     allocs < (1L << 28) && gcu_stats_now().cycles < end;) {
		for (int i = 0; i < 4096; i++, allocs++) {
			uint64_t *p = gcu_malloc(32);

			ASSERT_NE(NULL, p);
			p[0] = allocs;
			if (ctl->phase == GCMEM_PHASE_MARK)
				marking++;
			else if (ctl->phase != GCMEM_PHASE_OFF)
				other++;
		}
	}
	/* The last cycle may still be under way: wait for it. */
	ASSERT_EQ(0, gcu_collect());
	ASSERT_EQ(0, gcu_stats(&st));
	TH_LOG("%ld allocations, %ld of them while the heap was marked, %ld in other phases; %llu cycles, %llu pauses, max %.3f ms, %llu chunks precleaned, %llu stacks scanned beside",
	       allocs, marking, other, (unsigned long long)st.cycles,
	       (unsigned long long)st.pauses, st.pause_max_ns / 1e6,
	       (unsigned long long)st.precleaned_chunks,
	       (unsigned long long)st.ragged_scans);
	EXPECT_LE(BESIDE_CYCLES + 1, st.cycles);
	/* gcu_collect() returns with its cycle swept. */
	EXPECT_EQ(st.cycles, st.swept_cycles);
	if (variant->mode == GCU_MODE_CONCURRENT) {
		EXPECT_LT(0, marking);
		EXPECT_EQ(st.cycles, st.concurrent_cycles);
		/* The driver's precleaning had this thread scan its stack. */
		EXPECT_LE(1, st.ragged_scans);
	} else {
		EXPECT_EQ(0, marking + other);
		EXPECT_EQ(0, st.ragged_scans);
	}
	EXPECT_EQ(0, st.checkmark_failures);
	EXPECT_EQ(0, st.abandoned);
	EXPECT_EQ(BESIDE_NODES, walk_list(BESIDE_NODES));
}

/*
 * An object allocated while a concurrent cycle marks, which nothing
 * reaches: gone after that cycle when allocated white; still there when
 * allocated black, and gone after the next cycle. The cycle runs in
 * another thread's gcu_collect() (the allocating thread's own would
 * return only after it); the live list makes its mark long enough to
 * allocate in.
 */
FIXTURE(colour) {
};

FIXTURE_VARIANT(colour) {
	int black;
};

FIXTURE_VARIANT_ADD(colour, white) { .black = 0 };
FIXTURE_VARIANT_ADD(colour, black) { .black = 1 };

FIXTURE_SETUP(colour)
{
	ASSERT_EQ(0, gcmem_write_file(BLACK_PARAM, variant->black ? "1" : "0"));
	ASSERT_EQ(0, gcu_init());
	ASSERT_EQ(0, gcu_set_gcpercent(-1));
	ASSERT_EQ(0, gcu_set_mode_always(GCU_MODE_CONCURRENT));
}

FIXTURE_TEARDOWN(colour)
{
	list_head = NULL;
	gcu_shutdown();
	gcmem_write_file(BLACK_PARAM, "0");
}

static void *collector(void *ret)
{
	*(int *)ret = gcu_collect();
	return NULL;
}

/* Allocate one object and a few after it; return the first, hidden. */
static __attribute__((noinline)) uintptr_t allocate_unreached(void)
{
	uint64_t *p = gcu_malloc(64);
	uintptr_t h;

	if (!p)
		return 0;
	p[0] = 42;
	h = HIDE(p);
	/* Not the slot below the cursor, which a cycle always keeps. */
	for (int i = 0; i < 8; i++)
		if (!gcu_malloc(64))
			return 0;
	return h;
}

static __attribute__((noinline)) int allocated_hidden(uintptr_t h)
{
	return gcu_allocated(UNHIDE(h));
}

#define COLOUR_TRIES	20

TEST_F_TIMEOUT(colour, allocated_during_mark, 120)
{
	const volatile struct gcmem_control *ctl = gcu_heap()->control;
	uintptr_t h = 0;
	int tries, ret;

	ASSERT_EQ(0, build_list(BESIDE_NODES));
	for (tries = 0; tries < COLOUR_TRIES; tries++) {
		int ended = 0, during;
		pthread_t th;

		ASSERT_EQ(0, pthread_create(&th, NULL, collector, &ret));
		/* Until its mark, polling: the cycle stops this thread too. */
		while (ctl->phase != GCMEM_PHASE_MARK && !ended) {
			gcu_safepoint();
			ended = !pthread_tryjoin_np(th, NULL);
		}
		if (ended) {
			/* The cycle ended before this thread saw its mark. */
			ASSERT_EQ(0, ret);
			continue;
		}
		h = allocate_unreached();
		ASSERT_NE(0, h);
		during = ctl->phase == GCMEM_PHASE_MARK;
		ASSERT_EQ(0, pthread_join(th, NULL));
		ASSERT_EQ(0, ret);
		if (during)
			break;
	}
	ASSERT_GT(COLOUR_TRIES, tries) TH_LOG("never allocated in a mark");
	scrub_stack();
	EXPECT_EQ(variant->black, allocated_hidden(h));
	/* Allocated before this cycle, unreached: white, and gone. */
	ASSERT_EQ(0, gcu_collect());
	EXPECT_EQ(0, allocated_hidden(h));
	EXPECT_EQ(BESIDE_NODES, walk_list(BESIDE_NODES));
	EXPECT_EQ(0, gcu_stats_now().checkmark_failures);
}

/*
 * While concurrent marks run, another thread keeps trying to split, move
 * or protect part of the arena: refused (EINVAL, MAP_FAILED) as at any
 * other time, and the heap keeps its objects.
 */
static volatile int arena_stop;
static volatile int arena_bad;

static void *arena_poker(void *arg)
{
	const struct gcu_heap_info *h = arg;
	char *a = h->arena;

	while (!arena_stop) {
		if (munmap(a + GCMEM_CHUNK_SIZE, GCMEM_CHUNK_SIZE) != -1 ||
		    errno != EINVAL)
			arena_bad++;
		if (mprotect(a, GCMEM_CHUNK_SIZE, PROT_READ) != -1 ||
		    errno != EINVAL)
			arena_bad++;
		if (mremap(a, h->arena_size, h->arena_size / 2, 0) !=
		    MAP_FAILED)
			arena_bad++;
		if (mremap(a, h->arena_size, 2 * h->arena_size,
			   MREMAP_MAYMOVE) != MAP_FAILED)
			arena_bad++;
		gcu_safepoint();
	}
	return NULL;
}

TEST(arena_changes_refused_during_mark)
{
	pthread_t th;

	ASSERT_EQ(0, gcu_init());
	ASSERT_EQ(0, gcu_set_gcpercent(-1));
	ASSERT_EQ(0, gcu_set_mode_always(GCU_MODE_CONCURRENT));
	ASSERT_EQ(0, build_list(100000));
	arena_stop = 0;
	ASSERT_EQ(0, pthread_create(&th, NULL, arena_poker,
				    (void *)gcu_heap()));
	for (int c = 0; c < 10; c++) {
		churn();
		scrub_stack();
		ASSERT_EQ(0, gcu_collect());
	}
	arena_stop = 1;
	pthread_join(th, NULL);
	EXPECT_EQ(0, arena_bad);
	EXPECT_EQ(100000, walk_list(100000));
	EXPECT_EQ(10, gcu_stats_now().concurrent_cycles);
	EXPECT_EQ(0, gcu_stats_now().checkmark_failures);
	EXPECT_EQ(0, gcu_stats_now().abandoned);
	list_head = NULL;
	gcu_shutdown();
}

/*
 * At the limit, in concurrent mode, an allocation that cannot fit fails
 * with ENOMEM after a bounded number of cycles: the pacer's cycle it
 * starts runs in the kernel's driver and the request waits for it, then
 * collects once more itself, then gives up (the fuzzer found requests
 * that started a cycle, waited for it, and started another, forever).
 * Small allocations that fit go on meanwhile, and the heap keeps its list.
 */
TEST(too_large_at_limit_fails)
{
	struct gcu_heap_stats st;
	uint64_t before;

	ASSERT_EQ(0, gcu_init());
	ASSERT_EQ(0, gcu_set_mode_always(GCU_MODE_CONCURRENT));
	ASSERT_EQ(0, gcu_set_limit(16ULL << 20));
	ASSERT_EQ(0, build_list(200000));	/* 3 MiB live */
	before = gcu_stats_now().cycles;
	for (int i = 0; i < 20; i++) {
		errno = 0;
		EXPECT_EQ(NULL, gcu_malloc(24ULL << 20));
		EXPECT_EQ(ENOMEM, errno);
		EXPECT_NE(NULL, gcu_malloc(64 << 10));
		churn();
	}
	ASSERT_EQ(0, gcu_stats(&st));
	/* A pacer's, and one at the limit, an attempt at most. */
	EXPECT_GE(before + 2 * 20 + 8, st.cycles);
	EXPECT_EQ(0, st.checkmark_failures);
	EXPECT_EQ(200000, walk_list(200000));
	TH_LOG("%llu cycles for 20 failed allocations",
	       (unsigned long long)(st.cycles - before));
	list_head = NULL;
	gcu_shutdown();
}

/*
 * A concurrent heap with little to mark collects stopped: a cycle marks
 * concurrently only if the last one marked GCMEM_OPTION_CONCURRENT_MIN
 * bytes or more (the first: if the heap holds that many in use). The
 * option's default is the module's concurrent_min_live; its ABI.
 */
static uint64_t concurrent_after_collect(void)
{
	scrub_stack();
	if (gcu_collect())
		return ~0ULL;
	return gcu_stats_now().concurrent_cycles;
}

TEST(small_heap_collects_stopped)
{
	struct gcmem_option opt = {
		.size = sizeof(opt),
		.option_id = GCMEM_OPTION_CONCURRENT_MIN,
		.op = GCMEM_OPTION_OP_GET,
	};
	FILE *f = fopen("/sys/module/gcmem/parameters/concurrent_min_live",
			"r");
	unsigned long long dflt = ~0ULL;
	int fd;

	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "%llu", &dflt));
	fclose(f);
	ASSERT_EQ(0, gcu_init());
	fd = gcu_heap()->fd;
	ASSERT_EQ(0, ioctl(fd, GCMEM_IOC_OPTION, &opt));
	EXPECT_EQ(dflt, opt.val64);
	ASSERT_EQ(0, gcu_set_gcpercent(-1));
	ASSERT_EQ(0, gcu_set_mode(GCU_MODE_CONCURRENT));
	ASSERT_EQ(0, gcu_set_concurrent_min(2 << 20));

	/* The first cycle: less than 2 MiB in use. */
	ASSERT_EQ(0, build_list(1000));
	EXPECT_EQ(0, concurrent_after_collect());
	/* 3 MiB live, but the last cycle marked 16 KiB. */
	list_head = NULL;
	ASSERT_EQ(0, build_list(200000));
	EXPECT_EQ(0, concurrent_after_collect());
	EXPECT_EQ(1, concurrent_after_collect());
	/* Marked 3 MiB last: this one marks concurrently, the next not. */
	list_head = NULL;
	EXPECT_EQ(2, concurrent_after_collect());
	EXPECT_EQ(2, concurrent_after_collect());
	ASSERT_EQ(0, gcu_set_concurrent_min(0));
	EXPECT_EQ(3, concurrent_after_collect());
	EXPECT_EQ(6, gcu_stats_now().cycles);
	EXPECT_EQ(0, gcu_stats_now().checkmark_failures);

	opt.op = GCMEM_OPTION_OP_SET;
	opt.val64 = GCMEM_CONCURRENT_MIN_MAX + 1;
	EXPECT_EQ(-1, ioctl(fd, GCMEM_IOC_OPTION, &opt));
	EXPECT_EQ(EINVAL, errno);
	opt.val64 = GCMEM_CONCURRENT_MIN_MAX;
	EXPECT_EQ(0, ioctl(fd, GCMEM_IOC_OPTION, &opt));
	opt.op = GCMEM_OPTION_OP_GET;
	opt.val64 = 0;
	ASSERT_EQ(0, ioctl(fd, GCMEM_IOC_OPTION, &opt));
	EXPECT_EQ(GCMEM_CONCURRENT_MIN_MAX, opt.val64);
	opt.op = 7;
	EXPECT_EQ(-1, ioctl(fd, GCMEM_IOC_OPTION, &opt));
	EXPECT_EQ(EINVAL, errno);
	gcu_shutdown();
}

/*
 * A concurrent cycle's SCAN stops no thread. A thread that never polls is
 * kicked by the one stop, the mark termination's, and only by it; a thread
 * blocked in a system call has its stack scanned in place beside the
 * program (claimed, scanned, let go: ragged_scans counts it) and again at
 * the stop, and what only its stack holds survives.
 */
static volatile int scan_spin_stop;

static void *scan_spinner_fn(void *arg)
{
	uintptr_t *out = arg;
	char *mine = gcu_malloc(64);	/* registers the thread */
	volatile unsigned long n = 0;

	__atomic_store_n(out, HIDE(mine), __ATOMIC_RELEASE);
	while (!scan_spin_stop)
		n++;
	return mine;
}

struct scan_blocked {
	int pipe[2];
	uintptr_t obj;
};

static void *scan_blocked_fn(void *arg)
{
	struct scan_blocked *b = arg;
	char *volatile mine = gcu_malloc(64);
	char c = 0;

	strcpy(mine, "blocked");
	gcu_blocking_enter();
	__atomic_store_n(&b->obj, HIDE(mine), __ATOMIC_RELEASE);
	if (read(b->pipe[0], &c, 1) != 1)
		c = 0;
	gcu_blocking_leave();
	return c == 'x' && !strcmp(mine, "blocked") ? mine : NULL;
}

TEST(scan_stops_no_thread)
{
	struct scan_blocked b = { .obj = 0 };
	struct gcu_heap_stats before, after;
	pthread_t spinner, blocked;
	uintptr_t spun = 0;
	void *ret;

	ASSERT_EQ(0, pipe(b.pipe));
	ASSERT_EQ(0, gcu_init());
	ASSERT_EQ(0, gcu_set_gcpercent(-1));
	ASSERT_EQ(0, gcu_set_mode_always(GCU_MODE_CONCURRENT));
	scan_spin_stop = 0;
	ASSERT_EQ(0, pthread_create(&spinner, NULL, scan_spinner_fn, &spun));
	ASSERT_EQ(0, pthread_create(&blocked, NULL, scan_blocked_fn, &b));
	while (!__atomic_load_n(&spun, __ATOMIC_ACQUIRE) ||
	       !__atomic_load_n(&b.obj, __ATOMIC_ACQUIRE))
		usleep(1000);

	before = gcu_stats_now();
	ASSERT_EQ(0, gcu_collect());
	after = gcu_stats_now();
	EXPECT_EQ(1, after.concurrent_cycles - before.concurrent_cycles);
	EXPECT_EQ(1, after.pauses - before.pauses);
	EXPECT_EQ(1, after.forced_stops - before.forced_stops);
	EXPECT_EQ(1, after.ragged_scans - before.ragged_scans);
	/* The pause's parts: its stop, its mark again, within the whole. */
	EXPECT_LT(0, after.markterm_stop_ns - before.markterm_stop_ns);
	EXPECT_LT(0, after.markterm_rescan_ns - before.markterm_rescan_ns);
	EXPECT_GE(after.markterm_total_ns - before.markterm_total_ns,
		  after.markterm_stop_ns - before.markterm_stop_ns +
		  after.markterm_rescan_ns - before.markterm_rescan_ns);
	EXPECT_EQ(0, after.checkmark_failures);
	EXPECT_EQ(1, gcu_allocated(UNHIDE(b.obj)));

	ASSERT_EQ(1, write(b.pipe[1], "x", 1));
	ASSERT_EQ(0, pthread_join(blocked, &ret));
	EXPECT_EQ(UNHIDE(b.obj), ret);
	scan_spin_stop = 1;
	ASSERT_EQ(0, pthread_join(spinner, &ret));
	EXPECT_EQ(UNHIDE(spun), ret);
	close(b.pipe[0]);
	close(b.pipe[1]);
	gcu_shutdown();
}

/* The mode is an option like the others: checked, and read back. */
TEST(mode_option)
{
	struct gcmem_option opt = {
		.size = sizeof(opt),
		.option_id = GCMEM_OPTION_MODE,
		.op = GCMEM_OPTION_OP_GET,
	};
	FILE *f = fopen("/sys/module/gcmem/parameters/concurrent", "r");
	int dflt = f && fgetc(f) == 'Y';
	int fd;

	if (f)
		fclose(f);
	ASSERT_EQ(0, gcu_init());
	fd = gcu_heap()->fd;
	ASSERT_EQ(0, ioctl(fd, GCMEM_IOC_OPTION, &opt));
	/* The module's parameter decides a new heap's mode. */
	EXPECT_EQ(dflt ? GCMEM_MODE_CONCURRENT : GCMEM_MODE_STW, opt.val64);
	EXPECT_EQ(0, gcu_set_mode(GCU_MODE_CONCURRENT));
	ASSERT_EQ(0, ioctl(fd, GCMEM_IOC_OPTION, &opt));
	EXPECT_EQ(GCMEM_MODE_CONCURRENT, opt.val64);
	opt.op = GCMEM_OPTION_OP_SET;
	opt.val64 = 2;
	EXPECT_EQ(-1, ioctl(fd, GCMEM_IOC_OPTION, &opt));
	EXPECT_EQ(EINVAL, errno);
	opt.val64 = 1ULL << 32;
	EXPECT_EQ(-1, ioctl(fd, GCMEM_IOC_OPTION, &opt));
	EXPECT_EQ(EINVAL, errno);
	opt.op = GCMEM_OPTION_OP_GET;
	ASSERT_EQ(0, ioctl(fd, GCMEM_IOC_OPTION, &opt));
	EXPECT_EQ(GCMEM_MODE_CONCURRENT, opt.val64);
	EXPECT_EQ(-1, gcu_set_mode(7));
	EXPECT_EQ(EINVAL, errno);
	gcu_shutdown();
}

TEST_HARNESS_MAIN
