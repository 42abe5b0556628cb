// SPDX-License-Identifier: GPL-2.0
/*
 * A heap's committed memory counts in its process's RSS (RssAnon), which
 * is what the OOM killer weighs a process by: from the first chunk to the
 * heap's end, through a collection that gives chunks back and through
 * fork(), whose child counts its own copy. Every test ends with its
 * process, whose mm must find its counters back at zero (a "Bad
 * rss-counter state" in the guest log fails the run).
 */
#include <stdio.h>
#include <stdint.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "gcmem_util.h"
#include "gcuser.h"

#define MIB		(1ULL << 20)
#define NOBJ		32
#define OBJ_BYTES	(2 * MIB)	/* large objects: a chunk each */
#define SLACK		(8 * MIB)	/* the rest of the process meanwhile */

static void *objs[NOBJ];		/* scanned: the globals are roots */

/* A line "NAME: N kB" of /proc/self/status, in bytes; -1 if missing. */
static long long status_bytes(const char *name)
{
	char buf[4096], key[32], *p;

	if (gcmem_read_file("/proc/self/status", buf, sizeof(buf)) < 0)
		return -1;
	snprintf(key, sizeof(key), "\n%s:", name);
	p = strstr(buf, key);
	return p ? atoll(p + strlen(key)) * 1024 : -1;
}

static long long oom_score(void)
{
	char buf[32];

	if (gcmem_read_file("/proc/self/oom_score", buf, sizeof(buf)) < 0)
		return -1;
	return atoll(buf);
}

static uint64_t committed(void)
{
	struct gcu_heap_stats st;

	if (gcu_stats(&st))
		return 0;
	return st.committed;
}

/* Allocate NOBJ large objects, kept in objs[]; 0 if all came. */
static int fill(void)
{
	int i;

	for (i = 0; i < NOBJ; i++) {
		objs[i] = gcu_malloc_atomic(OBJ_BYTES);
		if (!objs[i])
			return -1;
	}
	return 0;
}

TEST(heap_counts_in_rss)
{
	long long rss0, rss1, oom0, oom1;
	uint64_t c0, c1;

	ASSERT_EQ(0, gcu_init()) TH_LOG("gcu_init: %s", strerror(errno));
	ASSERT_EQ(0, gcu_set_gcpercent(-1));
	rss0 = status_bytes("RssAnon");
	oom0 = oom_score();
	c0 = committed();
	ASSERT_LE(0, rss0);
	ASSERT_LE(0, oom0);

	ASSERT_EQ(0, fill());
	c1 = committed();
	rss1 = status_bytes("RssAnon");
	oom1 = oom_score();
	ASSERT_LE(c0 + NOBJ * OBJ_BYTES, c1);
	/* Committed, not touched: the objects were never written. */
	EXPECT_LE((long long)(c1 - c0), rss1 - rss0)
		TH_LOG("RssAnon grew %lld bytes, the heap %llu", rss1 - rss0,
		       (unsigned long long)(c1 - c0));
	EXPECT_GE((long long)(c1 - c0 + SLACK), rss1 - rss0);
	EXPECT_LT(oom0, oom1) TH_LOG("oom_score %lld then %lld", oom0, oom1);
}

TEST(chunks_given_back_leave_rss)
{
	long long rss1, rss2;
	uint64_t c1, c2;

	ASSERT_EQ(0, gcu_init());
	ASSERT_EQ(0, fill());
	c1 = committed();
	rss1 = status_bytes("RssAnon");

	memset(objs, 0, sizeof(objs));
	ASSERT_EQ(0, gcu_collect());
	c2 = committed();
	rss2 = status_bytes("RssAnon");
	ASSERT_GT(c1, c2) TH_LOG("the collection gave no chunk back");
	EXPECT_LE((long long)(c1 - c2) - SLACK, rss1 - rss2)
		TH_LOG("RssAnon fell %lld bytes, the heap %llu", rss1 - rss2,
		       (unsigned long long)(c1 - c2));
	EXPECT_GE((long long)(c1 - c2) + SLACK, rss1 - rss2);
}

TEST(fork_child_counts_its_copy)
{
	int status;
	pid_t pid;

	ASSERT_EQ(0, gcu_init());
	ASSERT_EQ(0, fill());
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* The child's own anonymous memory is far below this. */
		uint64_t c = committed();

		_exit(c >= NOBJ * OBJ_BYTES &&
		      status_bytes("RssAnon") >= (long long)c ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* And the parent still counts its own. */
	EXPECT_LE((long long)committed(), status_bytes("RssAnon"));
}

TEST(closed_heap_leaves_rss)
{
	struct gcmem_raw_heap h;
	long long rss0, rss1, rss2;
	__u64 addr;
	int i;

	__u64 off = GCMEM_GCPERCENT_OFF;

	rss0 = status_bytes("RssAnon");
	ASSERT_EQ(0, gcmem_raw_open(&h, 256 * MIB));
	/* No cycle frees the unreachable objects before they are counted. */
	ASSERT_EQ(0, gcmem_option(h.fd, GCMEM_OPTION_GCPERCENT,
				  GCMEM_OPTION_OP_SET, &off));
	for (i = 0; i < NOBJ; i++)
		ASSERT_EQ(0, gcmem_alloc_large(h.fd, GCMEM_TYPE_NOSCAN,
					       OBJ_BYTES, &addr));
	rss1 = status_bytes("RssAnon");
	EXPECT_LE(rss0 + (long long)(NOBJ * OBJ_BYTES), rss1);
	gcmem_raw_close(&h);
	rss2 = status_bytes("RssAnon");
	EXPECT_GE(rss0 + (long long)SLACK, rss2)
		TH_LOG("RssAnon %lld before the heap, %lld after", rss0, rss2);
}

TEST_HARNESS_MAIN
