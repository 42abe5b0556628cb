// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection: every allocation and user copy the module makes may
 * fail, and each failure must end in a clean errno or an abandoned cycle —
 * never a lost live object, a splat or a leak (the debug kernel's KASAN,
 * lockdep and kmemleak watch the same run).
 *
 * The failures are aimed at the module with the kernel's fault injection
 * (Documentation/fault-injection): failslab, fail_page_alloc and
 * fail_usercopy, filtered to call chains that pass through the module's
 * memory (require-start / require-end). Two ways:
 *  - fail-nth: the Nth failure point of one ioctl in this thread fails,
 *    for N = 1, 2, ... until the ioctl runs out of failure points: every
 *    failure point of that ioctl is tried, one at a time;
 *  - at random, with a probability, in every task (the mark workers too),
 *    while threads mutate checksummed graphs across collections.
 * Needs CONFIG_FAULT_INJECTION_DEBUG_FS and the stack-trace filter (the
 * debug kernel); skips elsewhere.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>

#include "kselftest_harness.h"
#include "gcmem_util.h"
#include "gcuser.h"

#define FI_DIR		"/sys/kernel/debug"
static const char *const fi_attrs[] = {
	"failslab", "fail_page_alloc", "fail_usercopy",
};

#define FI_NTH_MAX	4096	/* more failure points means a runaway loop */

static int fi_set(const char *attr, const char *file, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), FI_DIR "/%s/%s", attr, file);
	return gcmem_write_file(path, val);
}

static long long fi_get(const char *attr, const char *file)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), FI_DIR "/%s/%s", attr, file);
	if (gcmem_read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	return strtoll(buf, NULL, 0);
}

/* The module's memory, [start, end), from /proc/modules. */
static int module_range(unsigned long *start, unsigned long *end)
{
	char name[64], line[512];
	unsigned long size, addr;
	FILE *f = fopen("/proc/modules", "r");
	int found = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lu %*s %*s %*s %lx", name, &size,
			   &addr) == 3 && !strcmp(name, "gcmem")) {
			*start = addr;
			*end = addr + size;
			found = addr != 0;
		}
	}
	fclose(f);
	return found ? 0 : -1;
}

/*
 * Aim all three at the module, silently (a report would put a call trace
 * in the log), for sleeping allocations too, and off: probability 0, so
 * only fail-nth injects until fi_random() says otherwise.
 */
static int fi_setup(void)
{
	unsigned long start, end;
	char val[32];

	if (access(FI_DIR "/fail_usercopy/require-start", W_OK) ||
	    access("/proc/self/fail-nth", W_OK))
		return -1;
	if (module_range(&start, &end))
		return -1;
	for (size_t i = 0; i < sizeof(fi_attrs) / sizeof(fi_attrs[0]); i++) {
		const char *a = fi_attrs[i];

		if (fi_set(a, "probability", "0") || fi_set(a, "verbose", "0") ||
		    fi_set(a, "interval", "1") || fi_set(a, "times", "-1") ||
		    fi_set(a, "task-filter", "N") ||
		    fi_set(a, "stacktrace-depth", "32"))
			return -1;
		snprintf(val, sizeof(val), "%lu", start);
		if (fi_set(a, "require-start", val))
			return -1;
		snprintf(val, sizeof(val), "%lu", end);
		if (fi_set(a, "require-end", val))
			return -1;
	}
	if (fi_set("failslab", "ignore-gfp-wait", "N") ||
	    fi_set("fail_page_alloc", "ignore-gfp-wait", "N") ||
	    fi_set("fail_page_alloc", "ignore-gfp-highmem", "N"))
		return -1;
	return 0;
}

static void fi_off(void)
{
	for (size_t i = 0; i < sizeof(fi_attrs) / sizeof(fi_attrs[0]); i++)
		fi_set(fi_attrs[i], "probability", "0");
}

/* This thread's fail-nth: the Nth failure point from now on fails. */
static int fi_nth_set(int n)
{
	char path[64], val[16];

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	snprintf(val, sizeof(val), "%d", n);
	return gcmem_write_file(path, val);
}

/* 0 if the failure was injected, else how many points were still to go. */
static int fi_nth_get(void)
{
	char path[64], buf[16];

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	if (gcmem_read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	return atoi(buf);
}

/* Errors an injected failure may produce. */
static int clean_errno(int ret)
{
	return ret == 0 || ret == -ENOMEM || ret == -EFAULT || ret == -EAGAIN;
}

static int allocated(int fd, uint64_t p)
{
	struct gcmem_query q;

	if (gcmem_query(fd, p, &q, NULL, 0))
		return -1;
	return !!(q.result & GCMEM_QUERY_ALLOCATED);
}

static __attribute__((noinline)) int holds(uintptr_t p, const char *s)
{
	return !strcmp((const char *)p, s);
}

static struct gcu_heap_stats stats(void)
{
	struct gcu_heap_stats st;

	memset(&st, 0, sizeof(st));
	gcu_stats(&st);
	return st;
}

FIXTURE(faultinj) {
	int dummy;
};

FIXTURE_SETUP(faultinj)
{
	if (fi_setup())
		SKIP(return, "no fault injection aimed at the module (debug kernel only)");
	ASSERT_EQ(0, gcu_init()) TH_LOG("gcu_init: %s", strerror(errno));
	ASSERT_EQ(0, gcu_set_gcpercent(-1));
}

FIXTURE_TEARDOWN(faultinj)
{
	fi_off();
	fi_nth_set(0);
	gcu_shutdown();
}

/*
 * The regression test of the root lost to a failed scan: a collection
 * whose stack scan cannot read the stack (or, before the fix, could not
 * allocate its buffer) went on and freed what only the stack held. Every
 * failure point of a collection, one at a time: the object on the stack
 * stays allocated and intact, and the collection fails cleanly or works.
 */
TEST_F(faultinj, nth_failure_in_collect_keeps_stack_root)
{
	struct gcmem_collect c;
	volatile uintptr_t keep[2];
	int n, ret, left = 0, points = 0, abandoned = 0;
	char *p = gcu_malloc(64);

	ASSERT_NE(NULL, p);
	strcpy(p, "only on the stack");
	keep[1] = (uintptr_t)p;
	p = NULL;
	/* The slot below a cached span's cursor is kept anyway: move on. */
	ASSERT_NE(NULL, gcu_malloc(64));

	for (n = 1; n < FI_NTH_MAX; n++) {
		memset(&c, 0, sizeof(c));
		c.size = sizeof(c);
		ASSERT_EQ(0, fi_nth_set(n));
		ret = gcmem_ioctl(gcu_heap()->fd, GCMEM_IOC_COLLECT, &c);
		left = fi_nth_get();
		ASSERT_EQ(0, fi_nth_set(0));
		ASSERT_TRUE(clean_errno(ret)) TH_LOG("point %d: %d", n, ret);
		ASSERT_EQ(1, allocated(gcu_heap()->fd, keep[1]))
			TH_LOG("failure point %d of a collection (ret %d) freed a stack root",
			       n, ret);
		ASSERT_EQ(1, holds(keep[1], "only on the stack"));
		/* In debug mode the checkmark finds (and keeps) what was lost. */
		ASSERT_EQ(0, stats().checkmark_failures)
			TH_LOG("failure point %d of a collection (ret %d) missed a stack root",
			       n, ret);
		abandoned += ret == -EAGAIN;
		if (left)
			break;
		points++;
	}
	TH_LOG("%d failure points in a collection, %d abandoned it", points,
	       abandoned);
	EXPECT_LT(n, FI_NTH_MAX);
	/* At least the argument copy and the stack read can fail. */
	EXPECT_LE(2, points);
	EXPECT_LE(1, abandoned);
	ASSERT_EQ(0, gcu_collect());
	EXPECT_EQ(1, allocated(gcu_heap()->fd, keep[1]));
	EXPECT_EQ(0, stats().checkmark_failures);
}

/*
 * Every failure point of every ioctl of a raw heap's life, one at a time:
 * open, handshake, mappings, types, threads, refills, large objects,
 * roots, queries, collections. Each fails with a clean errno or works,
 * and the heap works afterwards.
 */
struct fi_ctx {
	struct gcmem_raw_heap h;
	struct gcmem_thread_slot *slot;
	__u32 tid, type_id;
	int efd;
	uint64_t root[16];
	bool rooted;
	uint64_t large;
};

static int op_refill(struct fi_ctx *x, unsigned int cls, __u32 cache)
{
	__u64 bits[GCMEM_PAGE_SIZE / 8 / 64];
	struct gcmem_refill r;

	gcmem_refill_init(&r, x->tid, cache, cls, x->type_id, bits,
			  sizeof(bits) / sizeof(bits[0]));
	return gcmem_refill(x->h.fd, &r);
}

static int op_type(struct fi_ctx *x)
{
	__u64 mask = 0x5;
	__u32 id;
	int ret = gcmem_type_register(x->h.fd, 24, &mask, &id);

	if (!ret)
		x->type_id = id;
	return ret;
}

/* Before each try of the thread ops: not registered, or registered. */
static int reset_unregistered(struct fi_ctx *x)
{
	if (x->slot)
		munmap(x->slot, GCMEM_THREAD_SLOT_SIZE);
	x->slot = NULL;
	if (x->tid != POISON_U32 && gcmem_thread_unregister(x->h.fd, x->tid))
		return -1;
	x->tid = POISON_U32;
	return 0;
}

static int reset_registered(struct fi_ctx *x)
{
	struct gcmem_thread_register r;

	if (x->slot)
		munmap(x->slot, GCMEM_THREAD_SLOT_SIZE);
	x->slot = NULL;
	if (x->tid != POISON_U32)
		return 0;
	if (gcmem_thread_register(x->h.fd, x->efd, &r))
		return -1;
	x->tid = r.thread_id;
	return 0;
}

static int op_thread(struct fi_ctx *x)
{
	struct gcmem_thread_register r;
	int ret = gcmem_thread_register(x->h.fd, x->efd, &r);

	if (!ret)
		x->tid = r.thread_id;
	return ret;
}

static int op_slot(struct fi_ctx *x)
{
	x->slot = gcmem_map_slot(x->h.fd, GCMEM_MMAP_THREADS +
				 (__u64)x->tid * GCMEM_THREAD_SLOT_SIZE);
	return x->slot ? 0 : -errno;
}

static int op_small(struct fi_ctx *x)
{
	int ret = op_refill(x, 1, 0);

	return ret ? ret : op_refill(x, 20, 1);
}

static int op_large(struct fi_ctx *x)
{
	__u64 addr;
	int ret = gcmem_alloc_large(x->h.fd, GCMEM_TYPE_CONSERVATIVE,
				    3 * MiB, &addr);

	if (!ret)
		x->large = addr;
	return ret;
}

static int op_root_add(struct fi_ctx *x)
{
	int ret = gcmem_root_add(x->h.fd, (uintptr_t)x->root,
				 sizeof(x->root), GCMEM_TYPE_CONSERVATIVE);

	x->rooted |= !ret;
	return ret;
}

static int op_root_remove(struct fi_ctx *x)
{
	int ret = gcmem_root_remove(x->h.fd, (uintptr_t)x->root,
				    sizeof(x->root));

	x->rooted &= !!ret;
	return ret;
}

static int reset_unrooted(struct fi_ctx *x)
{
	return x->rooted ? op_root_remove(x) : 0;
}

static int reset_rooted(struct fi_ctx *x)
{
	return x->rooted ? 0 : op_root_add(x);
}

static int op_query(struct fi_ctx *x)
{
	__u64 mask[4];
	struct gcmem_query q;

	return gcmem_query(x->h.fd, x->large ? x->large : 1, &q, mask, 4);
}

static int op_collect(struct fi_ctx *x)
{
	struct gcmem_collect c = { .size = sizeof(c) };

	return gcmem_ioctl(x->h.fd, GCMEM_IOC_COLLECT, &c);
}

static int op_stats(struct fi_ctx *x)
{
	struct gcmem_stats st;

	return gcmem_stats(x->h.fd, &st);
}

/*
 * Each op is tried at every failure point; @reset, if any, first puts
 * the heap back in the state the op starts from, with no failure armed.
 */
static const struct {
	const char *name;
	int (*fn)(struct fi_ctx *x);
	int (*reset)(struct fi_ctx *x);
} fi_ops[] = {
	{ "type_register", op_type, NULL },
	{ "thread_register", op_thread, reset_unregistered },
	{ "slot_mmap", op_slot, reset_registered },
	{ "refill", op_small, reset_registered },
	{ "alloc_large", op_large, NULL },
	{ "root_add", op_root_add, reset_unrooted },
	{ "root_remove", op_root_remove, reset_rooted },
	{ "query", op_query, NULL },
	{ "collect", op_collect, NULL },
	{ "stats", op_stats, NULL },
};

/*
 * Open, handshake and map a heap with failure point @nth armed. Returns 0
 * when it opened and the point was never reached (@x is ready); 1 when
 * the point was reached (whatever opened is closed again; *err is the
 * errno the open failed with, or 0); -1 when it failed with no failure
 * injected.
 */
static int fi_raw_open(struct fi_ctx *x, int nth, int *err)
{
	int ret, left;

	memset(x, 0, sizeof(*x));
	x->tid = POISON_U32;
	x->type_id = GCMEM_TYPE_CONSERVATIVE;
	fi_nth_set(nth);
	ret = gcmem_raw_open(&x->h, 8 * MiB);
	*err = ret ? errno : 0;
	left = fi_nth_get();
	fi_nth_set(0);
	if (left)
		return ret ? -1 : 0;
	gcmem_raw_close(&x->h);
	return 1;
}

TEST_F_TIMEOUT(faultinj, nth_failure_in_every_ioctl_is_clean, 600)
{
	struct fi_ctx x;
	int n, ret, err, left, points, total = 0;
	size_t i;

	/* The start of a heap: a failure anywhere in it is a clean errno. */
	for (n = 1; n < FI_NTH_MAX; n++) {
		ret = fi_raw_open(&x, n, &err);
		ASSERT_NE(-1, ret) TH_LOG("open/handshake/mmap: %s", strerror(err));
		if (ret == 0)
			break;
		ASSERT_TRUE(!err || err == ENOMEM || err == EFAULT)
			TH_LOG("open/handshake/mmap, point %d: %s", n,
			       strerror(err));
		total++;
	}
	ASSERT_LT(n, FI_NTH_MAX);
	TH_LOG("open/handshake/mmap: %d failure points", total);
	x.efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, x.efd);

	for (i = 0; i < sizeof(fi_ops) / sizeof(fi_ops[0]); i++) {
		points = 0;
		for (n = 1; n < FI_NTH_MAX; n++) {
			if (fi_ops[i].reset)
				ASSERT_EQ(0, fi_ops[i].reset(&x));
			ASSERT_EQ(0, fi_nth_set(n));
			ret = fi_ops[i].fn(&x);
			left = fi_nth_get();
			ASSERT_EQ(0, fi_nth_set(0));
			ASSERT_TRUE(clean_errno(ret))
				TH_LOG("%s, point %d: %d", fi_ops[i].name, n, ret);
			/* The heap still works. */
			ASSERT_EQ(0, op_stats(&x)) TH_LOG("%s", fi_ops[i].name);
			if (left)
				break;
			points++;
		}
		ASSERT_LT(n, FI_NTH_MAX);
		TH_LOG("%s: %d failure points", fi_ops[i].name, points);
		/* Without injection it works. */
		if (fi_ops[i].reset)
			ASSERT_EQ(0, fi_ops[i].reset(&x));
		ASSERT_EQ(0, fi_ops[i].fn(&x)) TH_LOG("%s", fi_ops[i].name);
		total += points;
	}
	EXPECT_LE(10, total);
	ASSERT_EQ(0, op_collect(&x));
	EXPECT_EQ(0, reset_unregistered(&x));
	close(x.efd);
	gcmem_raw_close(&x.h);
}

/*
 * Random failures everywhere in the module (mark workers included) while
 * threads mutate checksummed graphs and cycles run: allocations may fail
 * and cycles may be abandoned, but nothing reachable is lost or changed.
 */
#define FNODES	400
struct fnode {
	struct fnode *edge[2];
	uint64_t id, sum;
};

static uint64_t fsum(const struct fnode *n)
{
	return n->id * 0x9e3779b97f4a7c15ULL ^ 0xfeedULL;
}

static uint64_t frand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

struct fworker {
	struct fnode **roots;	/* malloc memory, a registered root */
	uint64_t seed;
	long bad, nulls, steps;
};

static volatile int fi_done;

static int fcheck(struct fnode **roots)
{
	int bad = 0;

	for (int i = 0; i < FNODES; i++) {
		struct fnode *n = roots[i];

		if (!n)
			continue;
		bad += n->sum != fsum(n);
		for (int e = 0; e < 2; e++)
			if (n->edge[e])
				bad += n->edge[e]->sum != fsum(n->edge[e]);
	}
	return bad;
}

static void *fworker_fn(void *arg)
{
	struct fworker *w = arg;

	while (!fi_done) {
		struct fnode *n = gcu_malloc(sizeof(*n));
		int i = frand(&w->seed) % FNODES;

		w->steps++;
		if (!n) {
			/* An injected failure: clean, try again later. */
			w->nulls++;
			gcu_safepoint();
			continue;
		}
		n->id = frand(&w->seed);
		n->sum = fsum(n);
		n->edge[0] = w->roots[frand(&w->seed) % FNODES];
		n->edge[1] = w->roots[i];
		w->roots[i] = n;
		if (w->steps % 1000 == 0)
			w->bad += fcheck(w->roots);
	}
	w->bad += fcheck(w->roots);
	return NULL;
}

TEST_F_TIMEOUT(faultinj, random_failures_lose_nothing, 600)
{
	long long before[3], injected = 0;
	struct fworker w[2];
	pthread_t th[2];
	struct timespec t0, t;
	int cycles = 0, failed = 0;

	for (int i = 0; i < 2; i++) {
		w[i].roots = calloc(FNODES, sizeof(*w[i].roots));
		ASSERT_NE(NULL, w[i].roots);
		ASSERT_EQ(0, gcu_root_add(w[i].roots,
					  FNODES * sizeof(*w[i].roots),
					  GCU_TYPE_CONSERVATIVE));
		w[i].seed = 0xabcdef + i;
		w[i].bad = w[i].nulls = w[i].steps = 0;
	}
	/* One failure in 50 calls that reach a failure point. */
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(0, fi_set(fi_attrs[i], "times", "1000000"));
		before[i] = fi_get(fi_attrs[i], "times");
		ASSERT_EQ(0, fi_set(fi_attrs[i], "probability", "2"));
	}
	fi_done = 0;
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, fworker_fn, &w[i]));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		failed += gcu_collect() != 0;
		cycles++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (cycles < 300 && t.tv_sec - t0.tv_sec < 60);
	fi_done = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 3; i++) {
		long long left = fi_get(fi_attrs[i], "times");

		TH_LOG("%s: %lld failures", fi_attrs[i], before[i] - left);
		injected += before[i] - left;
	}
	fi_off();

	TH_LOG("%d collections, %d failed; %lld failures injected; %ld+%ld steps, %ld+%ld NULLs",
	       cycles, failed, injected, w[0].steps, w[1].steps, w[0].nulls,
	       w[1].nulls);
	/* Dozens of failures at least, or the test proved nothing. */
	EXPECT_LE(24, injected);
	ASSERT_EQ(0, gcu_collect());
	for (int i = 0; i < 2; i++) {
		EXPECT_EQ(0, w[i].bad);
		EXPECT_EQ(0, fcheck(w[i].roots));
		gcu_root_remove(w[i].roots, FNODES * sizeof(*w[i].roots));
		free(w[i].roots);
	}
	EXPECT_EQ(0, stats().checkmark_failures);
}

TEST_HARNESS_MAIN
