// SPDX-License-Identifier: GPL-2.0
/*
 * The heap's mappings: the read-only control page and the arena (zeroed
 * memory on demand, PMD mappings where supported, no split / move / private
 * mapping, access through /proc/self/mem).
 */
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "gcmem_util.h"

FIXTURE(heap) {
	int fd;
	struct gcmem_handshake hs;
};

FIXTURE_SETUP(heap)
{
	self->fd = gcmem_open_ready(&self->hs);
	ASSERT_LE(0, self->fd) TH_LOG("open+handshake: %s", strerror(errno));
}

FIXTURE_TEARDOWN(heap)
{
	close(self->fd);
}

TEST_F(heap, control_page_read_only)
{
	const struct gcmem_control *c;
	void *p;

	p = mmap(NULL, GCMEM_CONTROL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd, GCMEM_MMAP_CONTROL);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EACCES, errno);

	p = mmap(NULL, GCMEM_CONTROL_SIZE, PROT_READ, MAP_SHARED, self->fd,
		 GCMEM_MMAP_CONTROL);
	ASSERT_NE(MAP_FAILED, p);
	c = p;
	EXPECT_EQ(GCMEM_CONTROL_MAGIC, c->magic);
	EXPECT_EQ(GCMEM_API_VERSION, c->api_version);
	EXPECT_EQ(GCMEM_PHASE_OFF, c->phase);
	EXPECT_EQ(self->hs.limit, c->limit);
	EXPECT_EQ(0, c->committed);

	/* Write permission cannot be added later either. */
	EXPECT_EQ(-1, mprotect(p, GCMEM_CONTROL_SIZE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, mprotect(p, GCMEM_CONTROL_SIZE, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	munmap(p, GCMEM_CONTROL_SIZE);
}

TEST_F(heap, control_page_bad_maps)
{
	void *p;

	p = mmap(NULL, 2 * GCMEM_CONTROL_SIZE, PROT_READ, MAP_SHARED, self->fd,
		 GCMEM_MMAP_CONTROL);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, GCMEM_CONTROL_SIZE, PROT_READ, MAP_PRIVATE, self->fd,
		 GCMEM_MMAP_CONTROL);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, GCMEM_CONTROL_SIZE, PROT_READ | PROT_EXEC, MAP_SHARED,
		 self->fd, GCMEM_MMAP_CONTROL);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EACCES, errno);
	/* Unknown offsets. */
	p = mmap(NULL, GCMEM_CONTROL_SIZE, PROT_READ, MAP_SHARED, self->fd,
		 GCMEM_CONTROL_SIZE);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, GCMEM_CONTROL_SIZE, PROT_READ, MAP_SHARED, self->fd,
		 GCMEM_MMAP_ARENA + GCMEM_CHUNK_SIZE);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(heap, arena_zeroed_and_usable)
{
	size_t len = 4 * GCMEM_CHUNK_SIZE;
	struct gcmem_stats st;
	uint64_t *w;
	size_t i, n = len / sizeof(*w);

	w = gcmem_map_arena(self->fd, len);
	ASSERT_NE(MAP_FAILED, w);
	EXPECT_EQ(0, (uintptr_t)w % GCMEM_CHUNK_SIZE);

	ASSERT_EQ(0, gcmem_stats(self->fd, &st));
	EXPECT_EQ((uintptr_t)w, st.arena_start);
	EXPECT_EQ(len, st.arena_size);
	EXPECT_EQ(0, st.committed);

	/* Fresh memory is zero everywhere. */
	for (i = 0; i < n; i++)
		if (w[i])
			break;
	EXPECT_EQ(n, i);

	for (i = 0; i < n; i++)
		w[i] = i * 0x9e3779b97f4a7c15ULL;
	for (i = 0; i < n; i++)
		if (w[i] != i * 0x9e3779b97f4a7c15ULL)
			break;
	EXPECT_EQ(n, i);

	ASSERT_EQ(0, gcmem_stats(self->fd, &st));
	EXPECT_EQ(len, st.committed);
	EXPECT_EQ(len, st.peak_committed);
	ASSERT_EQ(0, munmap(w, len));
}

/*
 * Every chunk costs exactly one fault, and where the kernel supports huge
 * PFN mappings that fault maps a PMD. The counters come from the fault
 * handlers themselves.
 */
TEST_F(heap, pmd_mappings)
{
	size_t len = 8 * GCMEM_CHUNK_SIZE;
	int pmd = !!(self->hs.features & GCMEM_FEATURE_PMD_MAP);
	volatile char *p;
	struct gcmem_stats st;
	size_t off;

	/* 6.12 and later must support it; 6.1 cannot. */
	if (kernel_at_least(6, 12))
		ASSERT_TRUE(pmd);
	if (!kernel_at_least(6, 3))
		ASSERT_FALSE(pmd);

	p = gcmem_map_arena(self->fd, len);
	ASSERT_NE(MAP_FAILED, p);
	for (off = 0; off < len; off += 4096)
		p[off] = 1;

	ASSERT_EQ(0, gcmem_stats(self->fd, &st));
	TH_LOG("pmd_faults %llu pte_faults %llu", st.pmd_faults,
	       st.pte_faults);
	if (pmd) {
		EXPECT_EQ(8, st.pmd_faults);
		EXPECT_EQ(0, st.pte_faults);
	} else {
		EXPECT_EQ(0, st.pmd_faults);
		EXPECT_EQ(8, st.pte_faults);
	}
	munmap((void *)p, len);
}

TEST_F(heap, arena_bad_maps)
{
	void *p;

	p = mmap(NULL, GCMEM_CHUNK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		 self->fd, GCMEM_MMAP_ARENA);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, GCMEM_CHUNK_SIZE / 2, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd, GCMEM_MMAP_ARENA);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, self->hs.arena_max + GCMEM_CHUNK_SIZE,
		 PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		 GCMEM_MMAP_ARENA);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, GCMEM_CHUNK_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_SHARED, self->fd, GCMEM_MMAP_ARENA);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EACCES, errno);

	/* One arena per heap. */
	p = gcmem_map_arena(self->fd, GCMEM_CHUNK_SIZE);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(MAP_FAILED, gcmem_map_arena(self->fd, GCMEM_CHUNK_SIZE));
	EXPECT_EQ(EBUSY, errno);
	munmap(p, GCMEM_CHUNK_SIZE);
	EXPECT_EQ(MAP_FAILED, gcmem_map_arena(self->fd, GCMEM_CHUNK_SIZE));
	EXPECT_EQ(EBUSY, errno);
}

TEST_F(heap, arena_no_split_no_move)
{
	size_t len = 2 * GCMEM_CHUNK_SIZE;
	char *p, *q;

	p = gcmem_map_arena(self->fd, len);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;

	EXPECT_EQ(-1, munmap(p + GCMEM_CHUNK_SIZE, GCMEM_CHUNK_SIZE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, mprotect(p, GCMEM_CHUNK_SIZE, PROT_READ));
	EXPECT_EQ(EINVAL, errno);
	q = mremap(p, len, 2 * len, MREMAP_MAYMOVE);
	EXPECT_EQ(MAP_FAILED, q);
	q = mremap(p, len, len / 2, 0);
	EXPECT_EQ(MAP_FAILED, q);
	/* Still intact. */
	EXPECT_EQ(1, p[0]);
	EXPECT_EQ(0, munmap(p, len));
}

/*
 * Found by the fuzzer: MADV_DOFORK used to clear VM_DONTCOPY, and a child
 * of fork() then mapped the chunks' pages without a reference to them,
 * writing them after the heap had freed them (another process's memory by
 * then). The arena is never inherited.
 */
TEST_F(heap, arena_never_inherited)
{
	size_t len = 2 * GCMEM_CHUNK_SIZE;
	int status;
	char *p;
	pid_t pid;

	p = gcmem_map_arena(self->fd, len);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;
	EXPECT_EQ(-1, madvise(p, len, MADV_DOFORK));
	EXPECT_EQ(EINVAL, errno);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Nothing mapped here: the write faults. */
		p[0] = 2;
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
	EXPECT_EQ(1, p[0]);
	EXPECT_EQ(0, munmap(p, len));
}

/* Debuggers and /proc/pid/mem see the arena through ->access. */
TEST_F(heap, proc_mem_access)
{
	size_t len = 2 * GCMEM_CHUNK_SIZE;
	char buf[64], *p;
	int mem;

	p = gcmem_map_arena(self->fd, len);
	ASSERT_NE(MAP_FAILED, p);
	strcpy(p + 100, "hello through the direct map");

	mem = open("/proc/self/mem", O_RDWR);
	ASSERT_LE(0, mem);
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(sizeof(buf), pread(mem, buf, sizeof(buf),
				     (uintptr_t)(p + 100)));
	EXPECT_STREQ("hello through the direct map", buf);

	ASSERT_EQ(5, pwrite(mem, "HELLO", 5, (uintptr_t)(p + 100)));
	EXPECT_EQ(0, strncmp(p + 100, "HELLO through", 13));

	/* An untouched chunk reads as zeros and is not committed by it. */
	memset(buf, 0x5a, sizeof(buf));
	ASSERT_EQ(sizeof(buf), pread(mem, buf, sizeof(buf),
				     (uintptr_t)(p + GCMEM_CHUNK_SIZE)));
	for (size_t i = 0; i < sizeof(buf); i++)
		ASSERT_EQ(0, buf[i]);

	struct gcmem_stats st;

	ASSERT_EQ(0, gcmem_stats(self->fd, &st));
	EXPECT_EQ(GCMEM_CHUNK_SIZE, st.committed);
	close(mem);
	munmap(p, len);
}

TEST_HARNESS_MAIN
