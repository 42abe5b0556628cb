// SPDX-License-Identifier: GPL-2.0
/*
 * Mark throughput: how fast a collector marks a large live set of small
 * objects linked in random order. Built twice (see bench/README.md):
 *
 *   bench-mark-gcmem   -DBENCH_GCMEM  gcu_malloc; mark workers set through
 *                                     /sys/module/gcmem/parameters/mark_workers
 *   bench-mark-bdwgc   -DBENCH_BDWGC  GC_MALLOC (bdwgc_fair.h); GC_MARKERS
 *
 * Workload: MIB mebibytes of live 64-byte objects (MIB * 16384 of them),
 * allocated with the collector off, then linked in the order of a seeded
 * random permutation into LISTS lists of equal length, whose heads sit in
 * one heap array reached from one root (a global). Every pointer chase of
 * the mark lands somewhere else in the heap. The index array that held the
 * objects while they were linked is malloc()ed outside the collected heap
 * and freed before anything is timed, so only the lists keep the objects
 * alive. Then COLLECTIONS full collections are forced (gcu_collect(),
 * GC_gcollect()) and timed, each phase on its own: the mark from the
 * collector's own clock (gcmem's mark_total_ns, bdwgc's GC_EVENT_MARK_START
 * to GC_EVENT_MARK_END), the whole call from ours. Afterwards a batch of
 * new objects is allocated and scribbled on (it would land on anything
 * wrongly freed) and every list is walked and checked: length, order and
 * payload of each object.
 *
 * Without BENCH_MARK_WORKERS in the environment the binary runs itself once
 * per worker count of -w (default 1,2), each run in a forked child; with
 * BENCH_ROUND > 1 it does nothing (it runs in the first round of `make
 * bench` only). Output, one line each, for bench/report.sh:
 *
 *   MARKINFO ALLOC key=value...                  setup
 *   MARKBENCH ALLOC workers=N key=value... ok|FAILED
 *   MARKBENCHFAIL ALLOC workers=N reason
 *
 * Fields of MARKBENCH are described in bench/README.md. Exit status 0 when
 * every run passed its check.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "mark_workers.h"

#if defined(BENCH_GCMEM) + defined(BENCH_BDWGC) != 1
#error "define exactly one of BENCH_GCMEM, BENCH_BDWGC"
#endif

#ifdef BENCH_GCMEM
#include "gcuser.h"
#define ALLOC_NAME	"gcmem"
#define mb_alloc(n)	gcu_malloc(n)
#else
/* As the other benchmarks: threads support, no pthread redirection. */
#define GC_THREADS
#define GC_NO_THREAD_REDIRECTS
#include "bdwgc_fair.h"
#define ALLOC_NAME	"bdwgc"
#define mb_alloc(n)	GC_MALLOC(n)
#endif

#define DEFAULT_MIB		256
#define DEFAULT_LISTS		1024
#define DEFAULT_COLLECTIONS	3
#define DEFAULT_SEED		0x6763626d61726bULL	/* "gcbmark" */
#define DEFAULT_TIMEOUT		3600	/* seconds per child */
#define MAX_COLLECTIONS		64
#define MAX_RUNS		8
#define PAYLOAD_WORDS		6
#define LARGE			(64 << 10)
#define LARGE_WORDS		(LARGE / 8)

/* One object: the link, its number and a payload derived from the number. */
struct mobj {
	struct mobj *next;
	uint64_t id;
	uint64_t pay[PAYLOAD_WORDS];
};

_Static_assert(sizeof(struct mobj) == 64, "objects must be 64 bytes");

static unsigned long opt_mib = DEFAULT_MIB;
static unsigned long opt_lists = DEFAULT_LISTS;
/*
 * -g: the graph's shape, bench/host/markhost.c's (lists, the default,
 * with -l LISTS):
 *   tree   one complete binary tree, node k's children nodes 2k+1 and
 *          2k+2 (next, and pay[0] as a pointer), in the same random order
 *   array  one large array of pointers to every object, none of which
 *          links another: 1-object lists, the array their heads
 *   large  64 KiB objects whose every word points to the start of a random
 *          one, word 0 to the next in the random order (all reachable)
 */
static const char *opt_shape = "lists";
static int opt_tree, opt_array, opt_large;
static unsigned int opt_collections = DEFAULT_COLLECTIONS;
static uint64_t opt_seed = DEFAULT_SEED;
static unsigned int opt_timeout = DEFAULT_TIMEOUT;
static int opt_workers[MAX_RUNS] = { 1, 2 };
static int opt_nworkers = 2;

/*
 * The one root: the array of list heads. A global, so that both collectors
 * find it the same way (bdwgc scans the data segment, gcmem is told with
 * gcu_root_add()); volatile, so that the stores to it stay.
 */
static struct mobj **volatile roots;

/* What one forced collection cost, in seconds; bytes as the collector saw. */
struct coll {
	double collect;		/* the call, wall clock, from user space */
	double mark;
	double stop;		/* stopping the world */
	double sweep;
	double pause;		/* the world stopped */
	double worker;		/* gcmem: mark workers' time, summed */
	uint64_t marked;	/* gcmem: marked_bytes of the cycle */
	uint64_t cycles;	/* cycles the call ran (1 expected) */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* splitmix64: the shuffle's generator and the payload's hash. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rng_next(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15ULL;
	return mix64(*state);
}

/* Payload word @j of object @id: random-looking, never a heap address. */
static uint64_t payload(uint64_t id, unsigned int j)
{
	return mix64(id * PAYLOAD_WORDS + j + 1) | 1;
}

/* Fisher-Yates over 0..n-1, from @seed. */
static void shuffle(uint32_t *perm, uint64_t n, uint64_t seed)
{
	uint64_t i, j, state = seed;
	uint32_t t;

	for (i = 0; i < n; i++)
		perm[i] = (uint32_t)i;
	for (i = n - 1; i > 0; i--) {
		j = (uint64_t)(((unsigned __int128)rng_next(&state) *
				(i + 1)) >> 64);
		t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
}

/* The graph's objects: 64 bytes each, a pointer more for the array's. */
static uint64_t nobjects(void)
{
	uint64_t bytes = (uint64_t)opt_mib << 20;

	if (opt_large)
		return bytes / LARGE;
	return bytes / (sizeof(struct mobj) + (opt_array ? 8 : 0));
}

/* List @l holds the objects of permutation positions [first, end). */
static uint64_t list_first(uint64_t nobj, uint64_t l)
{
	return nobj * l / opt_lists;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of field @off of the @n collections; *lo and *hi their range. */
static double median_of(const struct coll *c, unsigned int n, size_t off,
			double *lo, double *hi)
{
	double v[MAX_COLLECTIONS];
	unsigned int i;

	for (i = 0; i < n; i++)
		v[i] = *(const double *)((const char *)&c[i] + off);
	qsort(v, n, sizeof(v[0]), cmp_double);
	if (lo)
		*lo = v[0];
	if (hi)
		*hi = v[n - 1];
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define MEDIAN(c, n, field) \
	median_of(c, n, offsetof(struct coll, field), NULL, NULL)

#ifdef BENCH_GCMEM

static struct gcu_heap_stats st0;

/*
 * mark_workers before the heap opens, no pacing (collections only when
 * asked for), stop-the-world collections (a concurrent heap's collection
 * marks beside the program with a quarter of the workers, one of two here,
 * and all of them only at its end: the 2-worker mark would measure one
 * worker), a limit that holds the live set and the check's batch, and the
 * root registered.
 */
static int collector_setup(int workers, char *err, size_t errlen)
{
	const struct gcu_heap_info *h;
	uint64_t need;
	char val[16];

	snprintf(val, sizeof(val), "%d", workers);
	if (write_param(val)) {
		snprintf(err, errlen, "writing %s to %s: %s", val,
			 MARK_WORKERS_PARAM, strerror(errno));
		return -1;
	}
	if (gcu_init()) {
		snprintf(err, errlen, "gcu_init: %s", strerror(errno));
		return -1;
	}
	if (gcu_set_gcpercent(-1)) {
		snprintf(err, errlen, "gcu_set_gcpercent(-1): %s",
			 strerror(errno));
		return -1;
	}
	if (gcu_set_mode(GCU_MODE_STW)) {
		snprintf(err, errlen, "gcu_set_mode(GCU_MODE_STW): %s",
			 strerror(errno));
		return -1;
	}
	h = gcu_heap();
	need = (uint64_t)opt_mib << 20;
	need += need / 8 + opt_lists * sizeof(void *) + (16 << 20);
	need += h->chunk_size - 1;
	need -= need % h->chunk_size;
	if (need > h->limit && gcu_set_limit(need)) {
		snprintf(err, errlen, "gcu_set_limit(%" PRIu64 "): %s", need,
			 strerror(errno));
		return -1;
	}
	if (gcu_root_add((void *)&roots, sizeof(roots),
			 GCU_TYPE_CONSERVATIVE)) {
		snprintf(err, errlen, "gcu_root_add: %s", strerror(errno));
		return -1;
	}
	gcu_stats(&st0);
	return 0;
}

/* Cycles that ran while the live set was built (none with pacing off). */
static uint64_t collector_build_done(void)
{
	struct gcu_heap_stats st;

	gcu_stats(&st);
	return st.cycles - st0.cycles;
}

static int collector_collect(struct coll *c, char *err, size_t errlen)
{
	struct gcu_heap_stats a, b;
	double t;
	int rc;

	gcu_stats(&a);
	t = now();
	rc = gcu_collect();
	c->collect = now() - t;
	gcu_stats(&b);
	c->mark = (b.mark_total_ns - a.mark_total_ns) * 1e-9;
	c->stop = (b.stop_total_ns - a.stop_total_ns) * 1e-9;
	c->sweep = (b.sweep_total_ns - a.sweep_total_ns) * 1e-9;
	c->pause = (b.pause_total_ns - a.pause_total_ns) * 1e-9;
	c->worker = (b.worker_ns - a.worker_ns) * 1e-9;
	c->marked = b.marked_bytes;
	c->cycles = b.cycles - a.cycles;
	if (rc)
		snprintf(err, errlen, "gcu_collect: %s", strerror(errno));
	else if (c->cycles != 1)
		snprintf(err, errlen, "gcu_collect ran %" PRIu64 " cycles",
			 c->cycles);
	return rc || c->cycles != 1 ? -1 : 0;
}

static void collector_print(void)
{
	char cur[32];

	if (read_param(cur, sizeof(cur)))
		strcpy(cur, "?");
	printf(" param=%s", cur);
}

#else /* BENCH_BDWGC */

/* Event times of the collection under way (bdwgc calls us in its lock). */
static double ev_time[GC_EVENT_THREAD_UNSUSPENDED + 1];

static void bdw_event(GC_EventType ev)
{
	if ((unsigned int)ev <= GC_EVENT_THREAD_UNSUSPENDED)
		ev_time[ev] = now();
}

static GC_word gc_no0;

/* GC_MARKERS before GC_INIT(), the fair setup, and no collection yet. */
static int collector_setup(int workers, char *err, size_t errlen)
{
	char val[16];

	snprintf(val, sizeof(val), "%d", workers);
	if (setenv("GC_MARKERS", val, 1)) {
		snprintf(err, errlen, "setenv: %s", strerror(errno));
		return -1;
	}
	bench_bdwgc_init();
	GC_set_on_collection_event(bdw_event);
	GC_disable();
	gc_no0 = GC_get_gc_no();
	return 0;
}

static uint64_t collector_build_done(void)
{
	GC_enable();
	return GC_get_gc_no() - gc_no0;
}

static double span(GC_EventType from, GC_EventType to)
{
	return ev_time[from] > 0 && ev_time[to] >= ev_time[from] ?
	       ev_time[to] - ev_time[from] : 0;
}

static int collector_collect(struct coll *c, char *err, size_t errlen)
{
	GC_word n = GC_get_gc_no();
	double t;

	memset(ev_time, 0, sizeof(ev_time));
	t = now();
	GC_gcollect();
	c->collect = now() - t;
	c->mark = span(GC_EVENT_MARK_START, GC_EVENT_MARK_END);
	c->stop = span(GC_EVENT_PRE_STOP_WORLD, GC_EVENT_POST_STOP_WORLD);
	c->sweep = span(GC_EVENT_RECLAIM_START, GC_EVENT_RECLAIM_END);
	c->pause = span(GC_EVENT_PRE_STOP_WORLD, GC_EVENT_POST_START_WORLD);
	c->worker = 0;
	c->marked = 0;
	c->cycles = GC_get_gc_no() - n;
	if (c->cycles != 1 || c->mark <= 0) {
		snprintf(err, errlen,
			 "GC_gcollect ran %" PRIu64 " collections, mark %s",
			 c->cycles, c->mark > 0 ? "timed" : "not seen");
		return -1;
	}
	return 0;
}

static void collector_print(void)
{
	printf(" markers=%d", GC_get_parallel() + 1);
}

#endif

/*
 * Walk every list and check each object against the permutation: the
 * right object at each place, its payload intact, the list's end where
 * it should be. Returns 0, or -1 with @err saying where it broke.
 */
static int verify(const uint32_t *perm, uint64_t nobj, char *err,
		  size_t errlen)
{
	uint64_t l, p, end;
	struct mobj *o;
	unsigned int j;

	for (l = 0; l < opt_lists; l++) {
		p = list_first(nobj, l);
		end = list_first(nobj, l + 1);
		o = roots[l];
		for (; p < end; p++, o = o->next) {
			if (!o) {
				snprintf(err, errlen,
					 "list %" PRIu64 " ends at %" PRIu64
					 " of %" PRIu64, l,
					 p - list_first(nobj, l),
					 end - list_first(nobj, l));
				return -1;
			}
			if (o->id != perm[p]) {
				snprintf(err, errlen,
					 "list %" PRIu64 " place %" PRIu64
					 ": object %" PRIu64 ", not %" PRIu32,
					 l, p - list_first(nobj, l), o->id,
					 perm[p]);
				return -1;
			}
			for (j = 0; j < PAYLOAD_WORDS; j++) {
				if (o->pay[j] != payload(o->id, j)) {
					snprintf(err, errlen,
						 "object %" PRIu64
						 " payload word %u corrupt",
						 o->id, j);
					return -1;
				}
			}
		}
		if (o) {
			snprintf(err, errlen, "list %" PRIu64 " runs on", l);
			return -1;
		}
	}
	return 0;
}

/* The tree's node k: its id and payload, and the children it links. */
static int verify_tree(const uint32_t *perm, uint64_t nobj, char *err,
		       size_t errlen)
{
	struct mobj **q = malloc(nobj * sizeof(*q)), *o;
	uint64_t k, c;
	unsigned int j;
	int ret = -1;

	if (!q) {
		snprintf(err, errlen, "out of memory (tree walk)");
		return -1;
	}
	q[0] = roots[0];
	/* Breadth first: node k is the k-th taken, its children appended. */
	for (k = 0; k < nobj; k++) {
		o = q[k];
		if (!o || o->id != perm[k]) {
			snprintf(err, errlen, "tree node %" PRIu64 ": %s", k,
				 o ? "wrong object" : "missing");
			goto out;
		}
		for (j = 1; j < PAYLOAD_WORDS; j++) {
			if (o->pay[j] != payload(o->id, j)) {
				snprintf(err, errlen, "object %" PRIu64
					 " payload word %u corrupt", o->id, j);
				goto out;
			}
		}
		for (c = 2 * k + 1; c <= 2 * k + 2; c++) {
			struct mobj *child = c == 2 * k + 1 ? o->next :
					     (struct mobj *)o->pay[0];

			if ((c < nobj) != !!child) {
				snprintf(err, errlen, "tree node %" PRIu64
					 ": child %" PRIu64 " %s", k, c,
					 child ? "unexpected" : "missing");
				goto out;
			}
			if (child)
				q[c] = child;
		}
	}
	ret = 0;
out:
	free(q);
	return ret;
}

/* Word @j > 0 of large object @i (the order's) points to this object. */
static uint64_t large_target(uint64_t i, unsigned int j, uint64_t n)
{
	return mix64((i * LARGE_WORDS + j) ^ opt_seed) % n;
}

/*
 * The large objects, by the chain of their words 0 from the root: the
 * i-th is object perm[i], and every other word points where it did.
 */
static int verify_large(const uint32_t *perm, uint64_t n, char *err,
			size_t errlen)
{
	uint64_t **addr = malloc(n * sizeof(*addr)), *o, i;
	unsigned int j;
	int ret = -1;

	if (!addr) {
		snprintf(err, errlen, "out of memory (large walk)");
		return -1;
	}
	o = (uint64_t *)roots[0];
	for (i = 0; i < n; i++, o = (uint64_t *)o[0]) {
		if (!o) {
			snprintf(err, errlen, "large chain ends at %" PRIu64, i);
			goto out;
		}
		addr[perm[i]] = o;
	}
	if (o != (uint64_t *)roots[0]) {
		snprintf(err, errlen, "large chain does not close");
		goto out;
	}
	for (i = 0; i < n; i++) {
		o = addr[perm[i]];
		for (j = 1; j < LARGE_WORDS; j++) {
			if (o[j] != (uintptr_t)addr[large_target(i, j, n)]) {
				snprintf(err, errlen, "large object %" PRIu64
					 " word %u corrupt", i, j);
				goto out;
			}
		}
	}
	ret = 0;
out:
	free(addr);
	return ret;
}

/*
 * Allocate what a wrongly freed object would be handed out again as, and
 * scribble on it; the verify() that follows would then see the damage.
 */
static int scribble(uint64_t nobj)
{
	uint64_t i, n = nobj / 8 ? nobj / 8 : 1;
	size_t size = opt_large ? LARGE : sizeof(struct mobj);
	void *o;

	for (i = 0; i < n; i++) {
		o = mb_alloc(size);
		if (!o)
			return -1;
		memset(o, 0xa5, size);
		/* Keep the stores: the object is garbage at once. */
		__asm__ volatile("" : : "r"(o) : "memory");
	}
	return 0;
}

/* One run with @workers mark workers; prints its MARKBENCH line. */
static int run_one(int workers)
{
	uint64_t nobj = nobjects();
	uint64_t live = opt_large ? nobj * LARGE + sizeof(void *) :
			nobj * sizeof(struct mobj) + opt_lists * sizeof(void *);
	struct coll c[MAX_COLLECTIONS];
	struct mobj **objs, **heads;
	uint64_t i, l, p, end, build_cycles, cycles = 0, maxmarked = 0;
	double t0, build, lo, hi, mark, rate;
	uint32_t *perm;
	unsigned int k;
	char err[200] = "";
	int ok;

	if (collector_setup(workers, err, sizeof(err)))
		goto fail;

	t0 = now();
	heads = mb_alloc(opt_lists * sizeof(*heads));
	objs = malloc(nobj * sizeof(*objs));
	perm = malloc(nobj * sizeof(*perm));
	if (!heads || !objs || !perm) {
		snprintf(err, sizeof(err), "out of memory (index arrays)");
		goto fail;
	}
	roots = heads;
	shuffle(perm, nobj, opt_seed);
	for (i = 0; i < nobj && opt_large; i++) {
		objs[i] = mb_alloc(LARGE);
		if (!objs[i]) {
			snprintf(err, sizeof(err),
				 "large allocation %" PRIu64 " of %" PRIu64
				 " failed: %s", i, nobj, strerror(errno));
			goto fail;
		}
	}
	for (i = 0; i < nobj && opt_large; i++) {
		uint64_t *w = (uint64_t *)objs[perm[i]];
		unsigned int j;

		w[0] = (uintptr_t)objs[perm[(i + 1) % nobj]];
		for (j = 1; j < LARGE_WORDS; j++)
			w[j] = (uintptr_t)objs[large_target(i, j, nobj)];
	}
	if (opt_large)
		heads[0] = objs[perm[0]];
	for (i = 0; i < nobj && !opt_large; i++) {
		struct mobj *o = mb_alloc(sizeof(*o));
		unsigned int j;

		if (!o) {
			snprintf(err, sizeof(err),
				 "allocation %" PRIu64 " of %" PRIu64
				 " failed: %s", i, nobj, strerror(errno));
			goto fail;
		}
		o->id = i;
		for (j = 0; j < PAYLOAD_WORDS; j++)
			o->pay[j] = payload(i, j);
		objs[i] = o;
	}
	for (l = 0; l < opt_lists && !opt_tree && !opt_large; l++) {
		p = list_first(nobj, l);
		end = list_first(nobj, l + 1);
		heads[l] = p < end ? objs[perm[p]] : NULL;
		for (; p + 1 < end; p++)
			objs[perm[p]]->next = objs[perm[p + 1]];
	}
	for (p = 0; p < nobj && opt_tree; p++) {
		struct mobj *o = objs[perm[p]];

		o->next = 2 * p + 1 < nobj ? objs[perm[2 * p + 1]] : NULL;
		o->pay[0] = 2 * p + 2 < nobj ?
			    (uint64_t)(uintptr_t)objs[perm[2 * p + 2]] : 0;
	}
	if (opt_tree)
		heads[0] = objs[perm[0]];
	/* From here on only the lists hold the objects. */
	free(objs);
	objs = NULL;
	heads = NULL;
	build = now() - t0;
	build_cycles = collector_build_done();

	for (k = 0; k < opt_collections; k++) {
		if (collector_collect(&c[k], err, sizeof(err)))
			goto fail;
		cycles += c[k].cycles;
		if (c[k].marked > maxmarked)
			maxmarked = c[k].marked;
	}

	if (scribble(nobj)) {
		snprintf(err, sizeof(err),
			 "allocation after the collections failed: %s",
			 strerror(errno));
		goto fail;
	}
	ok = !(opt_tree ? verify_tree(perm, nobj, err, sizeof(err)) :
	       opt_large ? verify_large(perm, nobj, err, sizeof(err)) :
			  verify(perm, nobj, err, sizeof(err)));
	free(perm);

	mark = median_of(c, opt_collections, offsetof(struct coll, mark),
			 &lo, &hi);
	rate = mark > 0 ? live / 1048576.0 / mark : 0;
	/* Fields: see bench/README.md (mark throughput). */
	printf("MARKBENCH %s workers=%d mib=%lu objs=%" PRIu64 " %s=%lu"
	       " live_mib=%.1f collections=%u build_s=%.3f build_cycles=%"
	       PRIu64 " cycles=%" PRIu64, ALLOC_NAME, workers, opt_mib, nobj,
	       opt_shape, opt_lists, live / 1048576.0, opt_collections, build,
	       build_cycles, cycles);
	printf(" mark_ms=%.3f mark_ms_min=%.3f mark_ms_max=%.3f"
	       " mark_mib_s=%.1f per_worker_mib_s=%.1f",
	       mark * 1e3, lo * 1e3, hi * 1e3, rate, rate / workers);
	printf(" stop_ms=%.3f sweep_ms=%.3f pause_ms=%.3f collect_ms=%.3f",
	       MEDIAN(c, opt_collections, stop) * 1e3,
	       MEDIAN(c, opt_collections, sweep) * 1e3,
	       MEDIAN(c, opt_collections, pause) * 1e3,
	       MEDIAN(c, opt_collections, collect) * 1e3);
#ifdef BENCH_GCMEM
	printf(" worker_ms=%.3f marked_mib=%.1f",
	       MEDIAN(c, opt_collections, worker) * 1e3,
	       maxmarked / 1048576.0);
#else
	printf(" worker_ms=- marked_mib=-");
#endif
	printf(" mark_ms_all=");
	for (k = 0; k < opt_collections; k++)
		printf("%s%.1f", k ? "," : "", c[k].mark * 1e3);
	collector_print();
	if (ok)
		printf(" ok\n");
	else
		printf(" FAILED %s\n", err);
	fflush(stdout);
	return ok ? 0 : 1;

fail:
	printf("MARKBENCHFAIL %s workers=%d %s\n", ALLOC_NAME, workers, err);
	fflush(stdout);
	return 1;
}

/* Run run_one(@workers) in a child, killed after opt_timeout seconds. */
static int run_child(int workers)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("markbench: fork");
		return 1;
	}
	if (pid == 0) {
		alarm(opt_timeout);
		_exit(run_one(workers));
	}
	if (waitpid(pid, &status, 0) < 0) {
		perror("markbench: waitpid");
		return 1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	/* A run that printed its own failure exits 1; say so otherwise. */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
		printf("MARKBENCHFAIL %s workers=%d status=0x%x%s\n",
		       ALLOC_NAME, workers, status,
		       WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ?
		       " (timed out)" : "");
	return 1;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-m MIB] [-l LISTS | -g tree|array|large] [-k COLLECTIONS]\n"
		"       [-w 1,2] [-s SEED] [-T SECONDS]\n"
		"  -m  live set, MiB of 64-byte objects (default %d)\n"
		"  -l  lists the objects are linked into (default %d)\n"
		"  -g  tree: one binary tree of the objects instead; array: one\n"
		"      array of pointers to them; large: 64 KiB objects of\n"
		"      pointers to each other\n"
		"  -k  timed collections per run (default %d)\n"
		"  -w  mark worker counts, one run each (default 1,2)\n"
		"  -s  seed of the random order\n"
		"  -T  kill a run after this many seconds (default %d)\n"
		"BENCH_MARK_MIB, BENCH_MARK_LISTS and BENCH_MARK_COLLECTIONS\n"
		"set the defaults of -m, -l and -k.\n",
		prog, DEFAULT_MIB, DEFAULT_LISTS, DEFAULT_COLLECTIONS,
		DEFAULT_TIMEOUT);
	exit(2);
}

static unsigned long env_ul(const char *name, unsigned long def)
{
	const char *s = getenv(name);

	return s && *s ? strtoul(s, NULL, 0) : def;
}

static void parse_args(int argc, char **argv)
{
	char *s, *tok, *save;
	int opt;

	opt_mib = env_ul("BENCH_MARK_MIB", DEFAULT_MIB);
	opt_lists = env_ul("BENCH_MARK_LISTS", DEFAULT_LISTS);
	opt_collections = env_ul("BENCH_MARK_COLLECTIONS",
				 DEFAULT_COLLECTIONS);
	while ((opt = getopt(argc, argv, "m:l:g:k:w:s:T:")) != -1) {
		switch (opt) {
		case 'm':
			opt_mib = strtoul(optarg, NULL, 0);
			break;
		case 'l':
			opt_lists = strtoul(optarg, NULL, 0);
			break;
		case 'g':
			opt_shape = optarg;
			opt_tree = !strcmp(optarg, "tree");
			opt_array = !strcmp(optarg, "array");
			opt_large = !strcmp(optarg, "large");
			if (!opt_tree && !opt_array && !opt_large &&
			    strcmp(optarg, "lists"))
				usage(argv[0]);
			break;
		case 'k':
			opt_collections = strtoul(optarg, NULL, 0);
			break;
		case 's':
			opt_seed = strtoull(optarg, NULL, 0);
			break;
		case 'T':
			opt_timeout = strtoul(optarg, NULL, 0);
			break;
		case 'w':
			opt_nworkers = 0;
			s = optarg;
			while ((tok = strtok_r(s, ",", &save))) {
				s = NULL;
				if (opt_nworkers == MAX_RUNS || atoi(tok) < 1)
					usage(argv[0]);
				opt_workers[opt_nworkers++] = atoi(tok);
			}
			break;
		default:
			usage(argv[0]);
		}
	}
	/* One list (the tree's root, the chain's), or one an object. */
	if (opt_tree || opt_large)
		opt_lists = 1;
	if (opt_array)
		opt_lists = nobjects();
	/* 32-bit object numbers in the permutation: under 256 GiB. */
	if (optind != argc || !opt_mib || opt_mib > (1UL << 18) ||
	    !opt_lists || opt_lists > (opt_mib << 20) / sizeof(struct mobj) ||
	    !opt_collections || opt_collections > MAX_COLLECTIONS ||
	    !opt_nworkers)
		usage(argv[0]);
}

int main(int argc, char **argv)
{
	const char *round = getenv("BENCH_ROUND");
	const char *mw = getenv("BENCH_MARK_WORKERS");
	struct sysinfo si;
	struct utsname u;
	int i, failed = 0;
#ifdef BENCH_GCMEM
	char saved[32] = "";
#endif

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv);
	/* One worker count, in this process: no sweep, no info line. */
	if (mw)
		return run_one(atoi(mw) > 0 ? atoi(mw) : 1);
	if (round && atoi(round) > 1)
		return 0;

	uname(&u);
	sysinfo(&si);
	printf("MARKINFO %s kernel=%s cpus=%ld mem_mib=%llu mib=%lu lists=%lu"
	       " collections=%u seed=%#" PRIx64 "\n", ALLOC_NAME, u.release,
	       sysconf(_SC_NPROCESSORS_ONLN),
	       (unsigned long long)si.totalram * si.mem_unit >> 20, opt_mib,
	       opt_lists, opt_collections, opt_seed);
#ifdef BENCH_BDWGC
	printf("MARKINFO bdwgc version=%u.%u.%u\n", GC_VERSION_MAJOR,
	       GC_VERSION_MINOR, GC_VERSION_MICRO);
#else
	if (read_param(saved, sizeof(saved)))
		saved[0] = 0;
#endif
	for (i = 0; i < opt_nworkers; i++)
		failed += run_child(opt_workers[i]);
#ifdef BENCH_GCMEM
	/* Give the module back its worker count for whatever runs next. */
	if (saved[0] && write_param(saved))
		perror("markbench: restoring " MARK_WORKERS_PARAM);
#endif
	return failed ? 1 : 0;
}
