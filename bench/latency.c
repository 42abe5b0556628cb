// SPDX-License-Identifier: GPL-2.0
/*
 * Latency under a large live heap: how long the program's operations take
 * while the collector works, and how much of each time window is left to
 * the program (minimum mutator utilization).
 *
 * The heap: a table of LAT_LIVE_MIB (default 256) MiB of live entries,
 * each a 64-byte node pointing to a 448-byte value (both scanned; the
 * value points back to its node and holds integers that are not
 * pointers), and the table itself, one large scanned object of pointers.
 * Two threads then replace entries at random for LAT_SECONDS (default 30),
 * each at LAT_RATE operations a second (default 50000, a service under a
 * steady load rather than flat out: a collector that cannot keep up with
 * the allocation makes every figure its throughput's), in batches of 64
 * on schedule: allocate a node and a value, fill them, store the node into
 * the table (the old one is garbage), and every 64th operation read
 * another entry and check it. Each operation is timed (CLOCK_MONOTONIC)
 * from its scheduled time if it starts late (so a pause counts in every
 * operation it holds up), else from its start. One that runs longer than
 * LAT_STALL_US (default 200 us) counts as a stall: its whole run is lost
 * to the program. The figures, over the timed part (which spans several
 * collections): operations, their 99th and 99.9th percentile and worst
 * time, the collections and their stop-the-world pauses, the peak heap,
 * and the minimum mutator utilization of each thread over windows of 1 ms
 * to 1 s (for a window length w, the least fraction of any w of the timed
 * part that was not lost to stalls; the lesser of the threads').
 *
 * One source, two collectors: -DLAT_GCMEM (gcu_malloc) and -DLAT_BDWGC
 * (GC_MALLOC, the fair setup of bdwgc_fair.h, 2 markers). Run without
 * LAT_CONFIG, the binary runs itself once per configuration (fork and
 * exec): gcmem concurrent and stw (GCU_MODE), and concurrent with the
 * arena mapped by pages (concurrent-pte: the module's arena_pmd=0, so
 * that its writes are tracked by the page, not by the 2 MiB chunk;
 * the sweep sets it back after), bdwgc stop-the-world and incremental
 * (GC_enable_incremental()). With BENCH_ROUND > 1 it does nothing
 * (`make bench` runs it in the first round only). LAT_VERBOSE=1 also
 * prints every stall over 50 ms, and for gcmem the cycle's phase changes
 * as the main thread sees them (sampled every millisecond).
 *
 * Output, one line per configuration (bench/README.md):
 *   LATENCY ALLOC config=C live_mib=N threads=2 seconds=S ops=N
 *     op_p99_us=X op_p999_us=X op_max_us=X stalls=N stall_ms=X
 *     stall_cycle_ms=X (of stall_ms, the stalls that began or ended
 *     while a gcmem cycle was under way; 0 for bdwgc)
 *     cycles=N pauses=N pause_max_ms=X pause_total_ms=X peak_mib=X
 *     (the pauses of the timed part only, as every other figure; gcmem's
 *     longest from its stats, read whenever the main thread sees the
 *     phase change, and bdwgc's from its event hooks, reset at the
 *     start: the table's build collects too, at smaller live sizes)
 *     goal_mib=X (gcmem: the heap goal at the end, the last cycle's
 *     marked bytes times two, gcpercent being 100; - for bdwgc)
 *     mmu_10ms=X ok|CORRUPT
 *   LATMMU ALLOC config=C 1:U 2:U 5:U 10:U ... (window ms:utilization)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#if defined(LAT_GCMEM)
#include <linux/gcmem.h>
#include "gcuser.h"
#define LAT_NAME	"gcmem"
#define lat_alloc(n)	gcu_malloc(n)
#elif defined(LAT_BDWGC)
#define GC_THREADS
#define GC_NO_THREAD_REDIRECTS
#include "bdwgc_fair.h"
#define LAT_NAME	"bdwgc"
#define lat_alloc(n)	GC_MALLOC(n)
#else
#error "define LAT_GCMEM or LAT_BDWGC"
#endif

#define THREADS		2
#define VALUE_WORDS	56		/* 448 bytes */
#define MAX_STALLS	(1 << 16)	/* per thread */
#define HIST_BUCKETS	160		/* quarter octaves of ns, to 2^40 */

struct value;

struct entry {
	uint64_t key;
	struct value *val;
	uint64_t pad[6];
};

struct value {
	struct entry *owner;
	uint64_t word[VALUE_WORDS - 1];
};

/* The table: a global, so a root; its slots live in the collected heap. */
static struct entry **volatile table;
static uint64_t nentries;
static double stall_s = 200e-6;
static double period = 1.0 / 50000;	/* between operations, a thread */
static volatile int stop;
static pthread_barrier_t start_line;

struct stall {
	double start, end;
	int in_cycle;	/* gcmem: a cycle was under way at its start or end */
};

/* Is a gcmem cycle under way (its phase, in the control page)? */
static int in_cycle(void)
{
#if defined(LAT_GCMEM)
	const volatile struct gcmem_control *ctl = gcu_heap()->control;

	return ctl->phase != GCMEM_PHASE_OFF;
#else
	return 0;
#endif
}

struct thread_result {
	uint64_t ops, bad;
	uint64_t hist[HIST_BUCKETS];
	double max;
	struct stall *stalls;
	unsigned int nstalls;
	int overflow;
	double t0, t1;
	int err;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Not pointers: the top bit set, the key in the low bits. */
static uint64_t value_word(uint64_t key, int w)
{
	return 0xa5c3000000000000ULL | key << 8 | (uint64_t)w;
}

static struct entry *new_entry(uint64_t key)
{
	struct entry *e = lat_alloc(sizeof(*e));
	struct value *v = lat_alloc(sizeof(*v));
	int w;

	if (!e || !v)
		return NULL;
	for (w = 0; w < VALUE_WORDS - 1; w++)
		v->word[w] = value_word(key, w);
	v->owner = e;
	e->key = key;
	e->val = v;
	return e;
}

static int entry_ok(const struct entry *e, uint64_t key)
{
	const struct value *v = e ? e->val : NULL;

	return v && e->key == key && v->owner == e &&
	       v->word[0] == value_word(key, 0) &&
	       v->word[VALUE_WORDS - 2] == value_word(key, VALUE_WORDS - 2);
}

/* xorshift64*: each thread its own sequence. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/* Bucket b holds times up to 2^(b/4) ns; bounds in seconds. */
static double bound[HIST_BUCKETS];

static void bounds_init(void)
{
	double x = 1e-9;
	unsigned int b;

	for (b = 0; b < HIST_BUCKETS; b++, x *= 1.189207115002721)
		bound[b] = x;
}

/* The smallest bucket whose bound is at least @d. */
static unsigned int bucket_of(double d)
{
	unsigned int lo = 0, hi = HIST_BUCKETS - 1;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (bound[mid] >= d)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Sleep until @t (CLOCK_MONOTONIC seconds); a signal ends it early. */
static void sleep_until(double t)
{
	struct timespec ts = {
		.tv_sec = (time_t)t,
		.tv_nsec = (long)((t - (double)(time_t)t) * 1e9),
	};

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static void *mutator(void *arg)
{
	struct thread_result *r = arg;
	uint64_t seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(uintptr_t)arg | 1;
	double t0, t1, d, sched;
	int c0;

#if defined(LAT_GCMEM)
	if (gcu_thread_register()) {
		r->err = errno;
		pthread_barrier_wait(&start_line);
		return NULL;
	}
#elif defined(LAT_BDWGC)
	struct GC_stack_base sb;

	if (GC_get_stack_base(&sb) != GC_SUCCESS ||
	    GC_register_my_thread(&sb) != GC_SUCCESS) {
		r->err = EINVAL;
		pthread_barrier_wait(&start_line);
		return NULL;
	}
#endif
	pthread_barrier_wait(&start_line);
	r->t0 = now();
	sched = r->t0;
	t1 = r->t0;
	while (!stop) {
		uint64_t key = next_rand(&seed) % nentries;
		struct entry *e;

		/* On schedule: a batch of 64 at a time, then wait. */
		if (!(r->ops & 63) && sched > now())
			sleep_until(sched);
		t0 = now();
		c0 = in_cycle();
		e = new_entry(key);
		if (!e) {
			r->err = ENOMEM;
			break;
		}
		__atomic_store_n(&table[key], e, __ATOMIC_RELEASE);
		if (!(r->ops & 63)) {
			uint64_t k = next_rand(&seed) % nentries;

			if (!entry_ok(__atomic_load_n(&table[k],
						      __ATOMIC_ACQUIRE), k))
				r->bad++;
		}
		r->ops++;
		t1 = now();
		/* Late: the wait since its time counts (no omission). */
		d = t1 - (sched < t0 ? sched : t0);
		sched += period;
		r->hist[bucket_of(d)]++;
		if (d > r->max)
			r->max = d;
		if (t1 - t0 > stall_s) {
			if (r->nstalls < MAX_STALLS)
				r->stalls[r->nstalls++] =
					(struct stall){ t0, t1,
							c0 || in_cycle() };
			else
				r->overflow = 1;
		}
	}
	r->t1 = t1;
#if defined(LAT_BDWGC)
	GC_unregister_my_thread();
#endif
	return NULL;
}

/*
 * The least fraction of any window of @w seconds within [t0, t1] that the
 * stalls (sorted, disjoint) leave to the program. The least is at a window
 * that starts where a stall starts or ends where one ends.
 */
static double mmu(const struct thread_result *r, double w)
{
	double worst = 1, span = r->t1 - r->t0;
	unsigned int i, j, k;

	if (w >= span)
		w = span;
	if (w <= 0)
		return 1;
	for (i = 0; i < 2 * r->nstalls; i++) {
		const struct stall *s = &r->stalls[i / 2];
		double a = i & 1 ? s->end - w : s->start, b, lost = 0;

		if (a < r->t0)
			a = r->t0;
		if (a + w > r->t1)
			a = r->t1 - w;
		b = a + w;
		/* Stalls overlap [a, b) only near stall i / 2. */
		j = i / 2;
		while (j > 0 && r->stalls[j - 1].end > a)
			j--;
		for (k = j; k < r->nstalls && r->stalls[k].start < b; k++) {
			double lo = r->stalls[k].start > a ?
				    r->stalls[k].start : a;
			double hi = r->stalls[k].end < b ?
				    r->stalls[k].end : b;

			if (hi > lo)
				lost += hi - lo;
		}
		if (1 - lost / w < worst)
			worst = 1 - lost / w;
	}
	return worst < 0 ? 0 : worst;
}

/*
 * The smallest bucket bound t with at least @q of the operations no
 * slower; at most @max, the slowest.
 */
static double quantile(const uint64_t *hist, uint64_t n, double q, double max)
{
	uint64_t seen = 0, want = (uint64_t)(q * n);
	unsigned int b;

	for (b = 0; b < HIST_BUCKETS; b++) {
		seen += hist[b];
		if (seen >= want && seen)
			return bound[b] < max ? bound[b] : max;
	}
	return 0;
}

#if defined(LAT_GCMEM)
/*
 * The pauses since the last look, from two stats snapshots: their total
 * is the longest if there was one (the main thread looks at every phase
 * change, and a cycle pauses once or twice seconds apart), and bounds it
 * from above if there were more.
 */
static double pause_since(const struct gcu_heap_stats *a,
			  const struct gcu_heap_stats *b)
{
	if (b->pauses == a->pauses)
		return 0;
	return (b->pause_total_ns - a->pause_total_ns) / 1e9;
}
#endif

static int run(const char *config, double seconds)
{
	static const double windows_ms[] = { 1, 2, 5, 10, 20, 50, 100, 200,
					     500, 1000 };
	struct thread_result res[THREADS];
	uint64_t hist[HIST_BUCKETS] = { 0 }, ops = 0, bad = 0, stalls = 0;
	uint64_t cycles0 = 0, cycles1 = 0, pauses = 0;
	double max = 0, lost = 0, lost_cycle = 0, pmax = 0, ptotal = 0, peak = 0;
	char goal[32] = "-";
	double mmus[sizeof(windows_ms) / sizeof(windows_ms[0])];
	pthread_t th[THREADS];
	unsigned int i, t, b;
	int overflow = 0, err = 0;
#if defined(LAT_GCMEM)
	struct gcu_heap_stats st0, st1, seen;
	double longest = 0;
#endif

	memset(res, 0, sizeof(res));
	for (t = 0; t < THREADS; t++) {
		res[t].stalls = calloc(MAX_STALLS, sizeof(struct stall));
		if (!res[t].stalls)
			return 1;
	}
	table = lat_alloc(nentries * sizeof(*table));
	if (!table)
		return 1;
	for (i = 0; i < nentries; i++) {
		table[i] = new_entry(i);
		if (!table[i])
			return 1;
	}
#if defined(LAT_GCMEM)
	gcu_stats(&st0);
	cycles0 = st0.cycles;
	seen = st0;
#elif defined(LAT_BDWGC)
	cycles0 = GC_get_gc_no();
	bench_bdw_pauses_reset();
#endif
	pthread_barrier_init(&start_line, NULL, THREADS + 1);
	for (t = 0; t < THREADS; t++)
		if (pthread_create(&th[t], NULL, mutator, &res[t]))
			return 1;
	pthread_barrier_wait(&start_line);
	/* bdwgc's stop signals end a sleep early: sleep to a deadline. */
	{
		double t00 = now(), end = t00 + seconds;
		struct timespec ts = { 0, 0 };
#if defined(LAT_GCMEM)
		const volatile struct gcmem_control *ctl = gcu_heap()->control;
		unsigned int ph = 99;
		int verbose = !!getenv("LAT_VERBOSE");
		struct gcu_heap_stats st;
		double p;
#endif

		while (now() < end) {
#if defined(LAT_GCMEM)
			if (ctl->phase != ph) {
				ph = ctl->phase;
				if (verbose)
					printf("phase %u at %.3f s\n", ph,
					       now() - t00);
				if (!gcu_stats(&st)) {
					p = pause_since(&seen, &st);
					if (p > longest)
						longest = p;
					seen = st;
				}
			}
			ts.tv_nsec = 1000000;
#else
			ts.tv_nsec = 10000000;
#endif
			nanosleep(&ts, NULL);
		}
	}
	stop = 1;
	for (t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
#if defined(LAT_GCMEM)
	gcu_stats(&st1);
	cycles1 = st1.cycles;
	pauses = st1.pauses - st0.pauses;
	pmax = pause_since(&seen, &st1);
	if (pmax < longest)
		pmax = longest;
	ptotal = (st1.pause_total_ns - st0.pause_total_ns) / 1e9;
	peak = st1.peak_committed / 1048576.0;
	/* The pacer's goal (pace.c) at the default gcpercent, 100. */
	snprintf(goal, sizeof(goal), "%.1f",
		 2.0 * st1.marked_bytes / 1048576.0);
#elif defined(LAT_BDWGC)
	cycles1 = GC_get_gc_no();
	pauses = bench_bdw_npauses;
	pmax = bench_bdw_pause_max;
	ptotal = bench_bdw_pause_total;
	peak = GC_get_heap_size() / 1048576.0;
#endif

	for (i = 0; i < sizeof(windows_ms) / sizeof(windows_ms[0]); i++)
		mmus[i] = 1;
	for (t = 0; t < THREADS; t++) {
		struct thread_result *r = &res[t];

		err |= r->err;
		ops += r->ops;
		bad += r->bad;
		overflow |= r->overflow;
		stalls += r->nstalls;
		for (b = 0; b < HIST_BUCKETS; b++)
			hist[b] += r->hist[b];
		if (r->max > max)
			max = r->max;
		for (i = 0; i < r->nstalls; i++) {
			lost += r->stalls[i].end - r->stalls[i].start;
			if (r->stalls[i].in_cycle)
				lost_cycle += r->stalls[i].end -
					      r->stalls[i].start;
		}
		for (i = 0; i < sizeof(windows_ms) / sizeof(windows_ms[0]);
		     i++) {
			double u = mmu(r, windows_ms[i] / 1e3);

			if (u < mmus[i])
				mmus[i] = u;
		}
	}
	if (getenv("LAT_VERBOSE"))
		for (t = 0; t < THREADS; t++) {
			struct thread_result *r = &res[t];

			for (i = 0; i < r->nstalls; i++)
				if (r->stalls[i].end - r->stalls[i].start > 0.05)
					printf("stall thread %u at %.3f s: %.3f ms\n", t,
					       r->stalls[i].start - r->t0,
					       (r->stalls[i].end - r->stalls[i].start) * 1e3);
		}
	/* The table again, whole: every entry its own key's. */
	for (i = 0; i < nentries; i++)
		if (!entry_ok(table[i], i))
			bad++;

	printf("LATENCY %s config=%s live_mib=%llu threads=%d seconds=%.1f ops=%llu op_p99_us=%.1f op_p999_us=%.1f op_max_us=%.1f stalls=%llu%s stall_ms=%.1f stall_cycle_ms=%.1f cycles=%llu pauses=%llu pause_max_ms=%.3f pause_total_ms=%.3f peak_mib=%.1f goal_mib=%s mmu_10ms=%.3f %s\n",
	       LAT_NAME, config,
	       (unsigned long long)(nentries * (sizeof(struct entry) +
						sizeof(struct value)) >> 20),
	       THREADS, seconds, (unsigned long long)ops,
	       quantile(hist, ops, 0.99, max) * 1e6,
	       quantile(hist, ops, 0.999, max) * 1e6, max * 1e6,
	       (unsigned long long)stalls, overflow ? "+" : "", lost * 1e3,
	       lost_cycle * 1e3,
	       (unsigned long long)(cycles1 - cycles0),
	       (unsigned long long)pauses, pmax * 1e3, ptotal * 1e3, peak,
	       goal, mmus[3], bad || err ? "CORRUPT" : "ok");
	printf("LATMMU %s config=%s", LAT_NAME, config);
	for (i = 0; i < sizeof(windows_ms) / sizeof(windows_ms[0]); i++)
		printf(" %g:%.3f", windows_ms[i], mmus[i]);
	printf("\n");
	if (err)
		fprintf(stderr, "latency: a mutator failed: %s\n",
			strerror(err));
	return bad || err;
}

#if defined(LAT_GCMEM)
/* The module's arena_pmd (6.12; 6.1 maps chunks with PTEs anyway). */
static void lat_arena_pmd(const char *val)
{
	int fd = open("/sys/module/gcmem/parameters/arena_pmd", O_WRONLY);

	if (fd < 0)
		return;
	if (write(fd, val, 1) != 1)
		fprintf(stderr, "latency: arena_pmd=%s: %s\n", val,
			strerror(errno));
	close(fd);
}
#endif

/* Run this binary once per configuration; 0 if all passed. */
static int sweep(char **argv)
{
#if defined(LAT_GCMEM)
	static const char *const configs[] = {
		"concurrent", "concurrent-pte", "stw"
	};
#else
	static const char *const configs[] = { "stw", "incremental" };
#endif
	unsigned int c;
	int status, rc = 0;
	pid_t pid;

	for (c = 0; c < sizeof(configs) / sizeof(configs[0]); c++) {
		fflush(stdout);
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			setenv("LAT_CONFIG", configs[c], 1);
			execv("/proc/self/exe", argv);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) < 0)
			return 1;
#if defined(LAT_GCMEM)
		if (!strcmp(configs[c], "concurrent-pte"))
			lat_arena_pmd("1");
#endif
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			printf("LATENCYFAIL %s config=%s status=0x%x\n",
			       LAT_NAME, configs[c], status);
			rc = 1;
		}
	}
	return rc;
}

static double env_num(const char *name, double dflt, double lo, double hi)
{
	const char *s = getenv(name);
	double v = s ? atof(s) : dflt;

	return v >= lo && v <= hi ? v : dflt;
}

int main(int argc, char **argv)
{
	const char *config = getenv("LAT_CONFIG");
	const char *round = getenv("BENCH_ROUND");
	double live_mib = env_num("LAT_LIVE_MIB", 256, 1, 65536);
	double seconds = env_num("LAT_SECONDS", 30, 0.1, 3600);

	(void)argc;
	if (round && atoi(round) > 1)
		return 0;
	if (!config)
		return sweep(argv);
	stall_s = env_num("LAT_STALL_US", 200, 1, 1e6) / 1e6;
	period = 1 / env_num("LAT_RATE", 50000, 1, 1e9);
	bounds_init();
	nentries = (uint64_t)(live_mib * 1048576) /
		   (sizeof(struct entry) + sizeof(struct value));
#if defined(LAT_GCMEM)
	if (!strcmp(config, "concurrent-pte")) {
		lat_arena_pmd("0");
		setenv("GCU_MODE", "concurrent", 1);
	} else {
		setenv("GCU_MODE", config, 1);
	}
	if (gcu_init()) {
		fprintf(stderr, "latency: gcu_init: %s\n", strerror(errno));
		return 1;
	}
	{
		/* Room for the live set, its garbage and the workers'. */
		uint64_t limit = (uint64_t)sysconf(_SC_PHYS_PAGES) *
				 (uint64_t)sysconf(_SC_PAGESIZE) / 4 * 3;

		limit &= ~((2ULL << 20) - 1);
		if (limit > gcu_heap()->limit && gcu_set_limit(limit)) {
			fprintf(stderr, "latency: gcu_set_limit: %s\n",
				strerror(errno));
			return 1;
		}
	}
#elif defined(LAT_BDWGC)
	setenv("GC_MARKERS", "2", 0);
	bench_bdwgc_init();
	bench_bdw_pauses_watch();
	if (!strcmp(config, "incremental")) {
		GC_enable_incremental();
		if (!GC_is_incremental_mode())
			fprintf(stderr, "latency: bdwgc has no incremental mode here\n");
	}
#endif
	return run(config, seconds);
}
