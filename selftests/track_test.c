// SPDX-License-Identifier: GPL-2.0
/*
 * Write tracking (kmod/track.c), through the heap's debugfs file "track":
 * armed, the chunks the process writes — by its own stores, or by the
 * kernel for it in read() — and only those are reported by the next
 * harvest, once; a chunk faulted in while armed is tracked from its start;
 * disarmed, there is nothing to harvest. On 6.12 the arena is mapped with
 * PMDs (->huge_fault takes the tracked writes), on 6.1 with PTEs
 * (->pfn_mkwrite): the same test covers both paths. With PTEs the pages
 * written are reported, each taking a write fault, up to the kernel's
 * budget for a chunk (GCMEM_TRACK_PAGES_MAX), past which the chunk counts
 * as written whole, until the first harvest; after one (a concurrent
 * mark's precleaning) every page counts. A PMD-mapped chunk counts whole
 * from its first write, until its writes prove hot (two harvests running
 * took them): then it is mapped by pages, and counts by the page.
 */
#include <sys/utsname.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gcmem_util.h"
#include "gcu_util.h"

#define CHUNK	(2UL << 20)
#define MAXC	64
#define PAGE	4096UL
#define CHUNK_PAGES	(CHUNK / PAGE)
/* kmod/track.c's GCMEM_TRACK_PAGES_MAX. */
#define TRACK_PAGES_MAX	64

FIXTURE(track) {
	char path[320];
	int split;		/* track_split before the test */
};

static int param_set(const char *name, const char *val);
static int param_on(const char *name);

FIXTURE_SETUP(track)
{
	char prefix[32];
	struct dirent *d;
	DIR *dir;

	ASSERT_EQ(0, gcu_init());
	ASSERT_EQ(0, gcu_set_gcpercent(-1));
	self->split = param_on("track_split");
	self->path[0] = 0;
	snprintf(prefix, sizeof(prefix), "%d.", getpid());
	dir = opendir("/sys/kernel/debug/gcmem");
	if (!dir)
		SKIP(return, "no /sys/kernel/debug/gcmem (debugfs not mounted?)");
	while ((d = readdir(dir)))
		if (!strncmp(d->d_name, prefix, strlen(prefix)))
			snprintf(self->path, sizeof(self->path),
				 "/sys/kernel/debug/gcmem/%s/track", d->d_name);
	closedir(dir);
	ASSERT_NE(0, self->path[0]);
}

FIXTURE_TEARDOWN(track)
{
	/* Even after a failed assertion: the next tests see the module's. */
	param_set("track_split", self->split ? "1" : "0");
	gcu_shutdown();
}

static int track_cmd(const char *path, const char *cmd)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, cmd, strlen(cmd));
	close(fd);
	return n == (ssize_t)strlen(cmd) ? 0 : -1;
}

/*
 * Harvest: the chunks written, in @c (at most MAXC), and their number; the
 * write faults so far in *@faults, the pages written in *@pages.
 */
static int harvest_pages(const char *path, long *c, long long *faults,
			 long *pages)
{
	char buf[4096], *p, *end;
	int fd = open(path, O_RDONLY), n = 0;
	ssize_t len;

	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = 0;
	if (sscanf(buf, "faults %lld", faults) != 1)
		return -1;
	p = strstr(buf, "written");
	if (!p)
		return -1;
	for (p += 7; n < MAXC; n++) {
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		c[n] = v;
		p = end;
	}
	p = strstr(p, "pages");
	if (!p || sscanf(p, "pages %ld", pages) != 1)
		return -1;
	return n;
}

static int harvest(const char *path, long *c, long long *faults)
{
	long pages;

	return harvest_pages(path, c, faults, &pages);
}

/* Before 6.12 the arena is mapped with PTEs only (kmod/compat.h). */
static int ptes_only(void)
{
	struct utsname u;
	int major, minor;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return 0;
	return major < 6 || (major == 6 && minor < 12);
}

static long chunk_of(const void *p)
{
	return ((uintptr_t)p - (uintptr_t)gcu_heap()->arena) / CHUNK;
}

static int has(const long *c, int n, long want)
{
	for (int i = 0; i < n; i++)
		if (c[i] == want)
			return 1;
	return 0;
}

TEST_F(track, writes_by_the_process_and_by_the_kernel)
{
	char *obj[3];
	long c[MAXC], ca, cb, cc;
	long long faults, faults2;
	volatile char sink;
	int fds[2], n;

	/* Three large objects: three different chunks, all faulted in. */
	for (int i = 0; i < 3; i++) {
		obj[i] = gcu_malloc_atomic(3 * CHUNK);
		ASSERT_NE(NULL, obj[i]);
		memset(obj[i], i + 1, 3 * CHUNK);
	}
	ca = chunk_of(obj[0] + CHUNK);
	cb = chunk_of(obj[1] + CHUNK);
	cc = chunk_of(obj[2] + CHUNK);
	ASSERT_TRUE(ca != cb && cb != cc && ca != cc);
	ASSERT_EQ(-1, harvest(self->path, c, &faults));	/* not armed */
	ASSERT_EQ(0, track_cmd(self->path, "arm"));
	ASSERT_EQ(0, harvest(self->path, c, &faults));

	obj[0][CHUNK + 100] = 7;			/* a store */
	ASSERT_EQ(0, pipe(fds));
	ASSERT_EQ(5, write(fds[1], "hello", 5));
	ASSERT_EQ(5, read(fds[0], obj[1] + CHUNK + 4096, 5));	/* the kernel */
	sink = obj[2][CHUNK + 200];			/* a read only */
	(void)sink;
	n = harvest(self->path, c, &faults);
	ASSERT_EQ(2, n) TH_LOG("%ld %ld", c[0], n > 1 ? c[1] : -1L);
	EXPECT_TRUE(has(c, n, ca));
	EXPECT_TRUE(has(c, n, cb));
	EXPECT_EQ(0, memcmp(obj[1] + CHUNK + 4096, "hello", 5));
	EXPECT_EQ(7, obj[0][CHUNK + 100]);

	/* Reported once; written again, reported again. */
	ASSERT_EQ(0, harvest(self->path, c, &faults2));
	obj[0][CHUNK + 8192] = 8;
	obj[0][CHUNK + 8193] = 9;			/* no second fault */
	n = harvest(self->path, c, &faults2);
	ASSERT_EQ(1, n);
	EXPECT_EQ(ca, c[0]);
	EXPECT_EQ(faults + 1, faults2);
	EXPECT_EQ(9, obj[0][CHUNK + 8193]);

	/* The read above mapped chunk C read-only: its first write counts. */
	obj[2][CHUNK + 300] = 3;
	n = harvest(self->path, c, &faults2);
	ASSERT_EQ(1, n);
	EXPECT_EQ(cc, c[0]);

	ASSERT_EQ(0, track_cmd(self->path, "disarm"));
	obj[2][CHUNK] = 1;
	EXPECT_EQ(-1, harvest(self->path, c, &faults));
	EXPECT_EQ(-1, track_cmd(self->path, "bogus"));
	close(fds[0]);
	close(fds[1]);
}

TEST_F(track, chunk_faulted_in_while_armed)
{
	long c[MAXC], cn;
	long long faults;
	char *obj;
	int n;

	ASSERT_EQ(0, track_cmd(self->path, "arm"));
	obj = gcu_malloc_atomic(3 * CHUNK);
	ASSERT_NE(NULL, obj);
	cn = chunk_of(obj + CHUNK);
	obj[CHUNK + 1] = 1;
	n = harvest(self->path, c, &faults);
	ASSERT_LE(1, n);
	EXPECT_TRUE(has(c, n, cn));
	/* Nothing written since. */
	EXPECT_EQ(0, harvest(self->path, c, &faults));
	ASSERT_EQ(0, track_cmd(self->path, "disarm"));
}

/*
 * The pages a chunk's writes reported: a page each; or the whole chunk
 * once it is mapped by a PMD, or, before the first harvest, past the
 * budget. The data written is kept.
 */
TEST_F(track, pages_written)
{
	long c[MAXC], pages, cn;
	long long faults, faults2;
	char *obj = gcu_malloc_atomic(3 * CHUNK), *base;
	struct gcu_heap_stats st;
	unsigned long i;
	int n;

	ASSERT_NE(NULL, obj);
	memset(obj, 0, 3 * CHUNK);
	/* A whole chunk of the object. */
	cn = chunk_of(obj) + 1;
	base = (char *)gcu_heap()->arena + cn * CHUNK;
	ASSERT_EQ(0, track_cmd(self->path, "arm"));
	ASSERT_EQ(0, gcu_stats(&st));
	faults = (long long)st.track_faults;

	/* Before a harvest, past the budget: the whole chunk, no more faults. */
	for (i = 0; i < 2 * TRACK_PAGES_MAX; i++)
		base[i * 2 * PAGE + 7] = (char)i;
	n = harvest_pages(self->path, c, &faults2, &pages);
	ASSERT_EQ(1, n);
	EXPECT_EQ(cn, c[0]);
	EXPECT_EQ((long)CHUNK_PAGES, pages);
	EXPECT_GE(TRACK_PAGES_MAX + 1, faults2 - faults);
	for (i = 0; i < 2 * TRACK_PAGES_MAX; i++)
		ASSERT_EQ((char)i, base[i * 2 * PAGE + 7]);

	/* After it, two pages, one of them twice. */
	faults = faults2;
	base[0] = 1;
	base[3 * PAGE + 5] = 2;
	base[3 * PAGE + 100] = 3;
	n = harvest_pages(self->path, c, &faults2, &pages);
	ASSERT_EQ(1, n);
	EXPECT_EQ(cn, c[0]);
	TH_LOG("two pages written: %ld reported, %lld faults", pages,
	       faults2 - faults);
	if (ptes_only()) {
		EXPECT_EQ(2, pages);
		EXPECT_EQ(2, faults2 - faults);
	} else {
		EXPECT_TRUE(pages == 2 || pages == (long)CHUNK_PAGES);
	}
	EXPECT_EQ(1, base[0]);
	EXPECT_EQ(2, base[3 * PAGE + 5]);
	EXPECT_EQ(3, base[3 * PAGE + 100]);

	/* And past the budget: still every page, a fault each. */
	faults = faults2;
	for (i = 0; i < 2 * TRACK_PAGES_MAX; i++)
		base[(i * 2 + 1) * PAGE + 9] = (char)(i + 1);
	n = harvest_pages(self->path, c, &faults2, &pages);
	ASSERT_EQ(1, n);
	EXPECT_EQ(cn, c[0]);
	if (ptes_only()) {
		EXPECT_EQ(2 * TRACK_PAGES_MAX, pages);
		EXPECT_EQ(2 * TRACK_PAGES_MAX, faults2 - faults);
	} else {
		EXPECT_TRUE(pages == 2 * TRACK_PAGES_MAX ||
			    pages == (long)CHUNK_PAGES);
	}
	for (i = 0; i < 2 * TRACK_PAGES_MAX; i++)
		ASSERT_EQ((char)(i + 1), base[(i * 2 + 1) * PAGE + 9]);
	ASSERT_EQ(0, track_cmd(self->path, "disarm"));
}

static int param_set(const char *name, const char *val)
{
	char path[96];
	int fd, ok;

	snprintf(path, sizeof(path), "/sys/module/gcmem/parameters/%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

static int param_on(const char *name)
{
	char path[96], v = 0;
	int fd;

	snprintf(path, sizeof(path), "/sys/module/gcmem/parameters/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	if (read(fd, &v, 1) != 1)
		v = 0;
	close(fd);
	return v == 'Y';
}

/*
 * A chunk written in two harvests running is hot: mapped by one PMD
 * (6.12), it goes over to PTEs (track_split), so that the third harvest
 * reports the one page written, not the whole chunk; with track_split=0
 * it keeps its PMD. PTE-mapped (6.1), every harvest after the first
 * reports pages, and nothing is split. The data stays.
 */
static void hot_chunk(struct __test_metadata *_metadata, const char *path,
		      int split)
{
	char *obj = gcu_malloc_atomic(3 * CHUNK), *base;
	long c[MAXC], pages, want;
	struct gcu_heap_stats st0, st;
	long long faults;
	int pmd = 0;
	int n, i;

	ASSERT_NE(NULL, obj);
	memset(obj, 0, 3 * CHUNK);
	base = (char *)gcu_heap()->arena + (chunk_of(obj) + 1) * CHUNK;
	ASSERT_EQ(0, param_set("track_split", split ? "1" : "0"));
	ASSERT_EQ(0, track_cmd(path, "arm"));
	ASSERT_EQ(0, gcu_stats(&st0));
	for (i = 0; i < 3; i++) {
		base[i * 5 * PAGE + 1] = (char)(i + 1);
		n = harvest_pages(path, c, &faults, &pages);
		ASSERT_EQ(1, n);
		EXPECT_EQ(chunk_of(base), c[0]);
		/* Mapped by a PMD, the first write took a PMD fault. */
		if (!i) {
			ASSERT_EQ(0, gcu_stats(&st));
			pmd = st.pmd_faults > st0.pmd_faults;
			EXPECT_TRUE(pmd || ptes_only() || !param_on("arena_pmd"));
		}
		/* The third harvest: by the page, unless a PMD stays. */
		want = pmd && (i < 2 || !split) ? (long)CHUNK_PAGES : 1;
		if (i)
			EXPECT_EQ(want, pages) TH_LOG("harvest %d", i + 1);
	}
	ASSERT_EQ(0, gcu_stats(&st));
	EXPECT_EQ(pmd && split ? 1 : 0, st.split_chunks - st0.split_chunks);
	ASSERT_EQ(0, track_cmd(path, "disarm"));
	/* Written and read back through the mappings of every step. */
	for (i = 0; i < 3; i++)
		EXPECT_EQ((char)(i + 1), base[i * 5 * PAGE + 1]);
	base[CHUNK - 1] = 9;
	EXPECT_EQ(9, base[CHUNK - 1]);
}

TEST_F(track, hot_chunk_goes_to_pages)
{
	hot_chunk(_metadata, self->path, 1);
}

TEST_F(track, hot_chunk_keeps_its_pmd)
{
	hot_chunk(_metadata, self->path, 0);
}

/*
 * After the first harvest (as while a concurrent mark precleans), a refill
 * that hands out a span holding live objects splits its PMD-mapped chunk
 * first, so that the stores into the span's free slots are tracked by the
 * page instead of making the whole chunk count as written. The objects
 * live in it and those allocated there keep their contents.
 */
TEST_F(track, refill_of_a_used_span_splits_its_chunk)
{
	enum { N = 8192 };
	struct gcu_heap_stats st0, st;
	long c[MAXC], pages;
	long long faults;
	unsigned long *o;
	uint64_t **keep;
	int i, n, pmd;

	keep = gcu_malloc(N / 2 * sizeof(*keep));
	ASSERT_NE(NULL, keep);
	for (i = 0; i < N; i++) {
		o = gcu_malloc(64);
		ASSERT_NE(NULL, o);
		o[0] = i;
		if (!(i & 1))
			keep[i / 2] = (uint64_t *)o;
	}
	ASSERT_EQ(0, gcu_stats(&st0));
	pmd = st0.pmd_faults > 0;
	/* Every other object freed: the spans go back partial. */
	ASSERT_EQ(0, gcu_collect());
	ASSERT_EQ(0, track_cmd(self->path, "arm"));
	ASSERT_LE(0, harvest(self->path, c, &faults));
	ASSERT_EQ(0, gcu_stats(&st0));
	/* Refills hand out the partial spans, the stores fill their slots. */
	for (i = 0; i < N / 4; i++) {
		o = gcu_malloc(64);
		ASSERT_NE(NULL, o);
		o[0] = ~0UL;
	}
	ASSERT_EQ(0, gcu_stats(&st));
	n = harvest_pages(self->path, c, &faults, &pages);
	TH_LOG("%llu refills, %llu chunks split, %d chunks %ld pages written",
	       (unsigned long long)(st.refills - st0.refills),
	       (unsigned long long)(st.split_chunks - st0.split_chunks), n,
	       pages);
	ASSERT_LT(0, st.refills - st0.refills);
	if (pmd) {
		EXPECT_LT(0, st.split_chunks - st0.split_chunks);
		/* Some chunk counted by its pages, not whole. */
		EXPECT_GT((long)n * (long)CHUNK_PAGES, pages);
	} else {
		EXPECT_EQ(0, st.split_chunks - st0.split_chunks);
	}
	ASSERT_EQ(0, track_cmd(self->path, "disarm"));
	for (i = 0; i < N / 2; i++)
		ASSERT_EQ((uint64_t)(2 * i), keep[i][0]);
}

/* A debugger's write (/proc/pid/mem, through the direct map) counts. */
TEST_F(track, debugger_writes_count)
{
	long c[MAXC], pages;
	long long faults;
	char *obj = gcu_malloc_atomic(3 * CHUNK);
	char one = 1;
	int fd, n;

	ASSERT_NE(NULL, obj);
	memset(obj, 0, 3 * CHUNK);
	ASSERT_EQ(0, track_cmd(self->path, "arm"));
	fd = open("/proc/self/mem", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, pwrite(fd, &one, 1, (uintptr_t)(obj + CHUNK + 64)));
	close(fd);
	n = harvest_pages(self->path, c, &faults, &pages);
	ASSERT_EQ(1, n);
	EXPECT_EQ(chunk_of(obj + CHUNK), c[0]);
	EXPECT_EQ(1, pages);
	EXPECT_EQ(1, obj[CHUNK + 64]);
	ASSERT_EQ(0, track_cmd(self->path, "disarm"));
}

TEST_HARNESS_MAIN
