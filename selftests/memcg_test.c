// SPDX-License-Identifier: GPL-2.0
/*
 * Heap memory is charged to the toucher's memory cgroup and all of it goes
 * back when the heap is closed: memory.current returns to its baseline.
 */
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "gcmem_util.h"

#define CGROOT	"/sys/fs/cgroup"

static long long read_ll(const char *path)
{
	char buf[64] = { 0 };
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoll(buf) : -1;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

FIXTURE(cg) {
	char dir[128];
	char current[PATH_MAX];
};

FIXTURE_SETUP(cg)
{
	char path[PATH_MAX], pid[32];

	if (access(CGROOT "/cgroup.subtree_control", W_OK))
		SKIP(return, "no cgroup v2 at " CGROOT);
	/* Enabling twice is harmless; fails if there is no memory controller. */
	if (write_str(CGROOT "/cgroup.subtree_control", "+memory"))
		SKIP(return, "memory controller not available");

	snprintf(self->dir, sizeof(self->dir), CGROOT "/gcmem-test-%d",
		 getpid());
	ASSERT_EQ(0, mkdir(self->dir, 0755));
	snprintf(self->current, sizeof(self->current), "%s/memory.current",
		 self->dir);
	snprintf(path, sizeof(path), "%s/cgroup.procs", self->dir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	ASSERT_EQ(0, write_str(path, pid));
}

FIXTURE_TEARDOWN(cg)
{
	char pid[32];

	if (!self->dir[0])
		return;
	snprintf(pid, sizeof(pid), "%d", getpid());
	write_str(CGROOT "/cgroup.procs", pid);
	rmdir(self->dir);
}

TEST_F(cg, close_returns_memory)
{
	const size_t len = 16 * GCMEM_CHUNK_SIZE;
	struct gcmem_handshake hs;
	long long base, peak, after;
	char *p;
	int fd;

	base = read_ll(self->current);
	ASSERT_LE(0, base);

	fd = gcmem_open_ready(&hs);
	ASSERT_LE(0, fd);
	p = gcmem_map_arena(fd, len);
	ASSERT_NE(MAP_FAILED, p);
	for (size_t off = 0; off < len; off += GCMEM_CHUNK_SIZE)
		p[off] = 1;

	peak = read_ll(self->current);
	TH_LOG("memory.current: base %lld, with heap %lld", base, peak);
	EXPECT_LE(base + (long long)len, peak);

	/* The mapping holds the file: both must go for release to run. */
	ASSERT_EQ(0, munmap(p, len));
	ASSERT_EQ(0, close(fd));

	after = read_ll(self->current);
	TH_LOG("memory.current after close: %lld", after);
	/* Per-CPU charge caches may hold a little; far less than a chunk. */
	EXPECT_GE(base + (long long)(GCMEM_CHUNK_SIZE / 4), after);
}

TEST_HARNESS_MAIN
