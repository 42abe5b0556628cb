// SPDX-License-Identifier: GPL-2.0
/*
 * The per-heap memory limit: its range checks, and that the heap never
 * holds more than it (touching beyond it raises SIGBUS, nothing is
 * committed, and the heap goes on working within it).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>

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

static int set_limit(int fd, __u64 v)
{
	return gcmem_option(fd, GCMEM_OPTION_LIMIT, GCMEM_OPTION_OP_SET, &v);
}

static __u64 get_limit(int fd)
{
	__u64 v = 0;

	if (gcmem_option(fd, GCMEM_OPTION_LIMIT, GCMEM_OPTION_OP_GET, &v))
		return 0;
	return v;
}

TEST_F(heap, default_is_sane)
{
	long pages = sysconf(_SC_PHYS_PAGES);
	__u64 ram = (__u64)pages * sysconf(_SC_PAGESIZE);

	EXPECT_EQ(self->hs.limit, get_limit(self->fd));
	EXPECT_LE(GCMEM_CHUNK_SIZE, self->hs.limit);
	EXPECT_LE(self->hs.limit, ram);
	EXPECT_LE(self->hs.limit, self->hs.arena_max);
}

TEST_F(heap, range_checks)
{
	__u64 before = get_limit(self->fd);

	EXPECT_EQ(-EINVAL, set_limit(self->fd, 0));
	EXPECT_EQ(-EINVAL, set_limit(self->fd, GCMEM_CHUNK_SIZE - 1));
	EXPECT_EQ(-EINVAL, set_limit(self->fd, GCMEM_CHUNK_SIZE + 4096));
	EXPECT_EQ(-EINVAL, set_limit(self->fd, self->hs.arena_max +
				     GCMEM_CHUNK_SIZE));
	EXPECT_EQ(-EINVAL, set_limit(self->fd, ~0ULL));
	EXPECT_EQ(-EINVAL, set_limit(self->fd, ~0ULL & ~(GCMEM_CHUNK_SIZE - 1)));
	EXPECT_EQ(before, get_limit(self->fd));

	EXPECT_EQ(0, set_limit(self->fd, GCMEM_CHUNK_SIZE));
	EXPECT_EQ(GCMEM_CHUNK_SIZE, get_limit(self->fd));
	EXPECT_EQ(0, set_limit(self->fd, self->hs.arena_max));
	EXPECT_EQ(self->hs.arena_max, get_limit(self->fd));
}

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(bus_jmp, 1);
}

/* Write one byte; 1 if it raised SIGBUS. */
static int touch_bus(volatile char *p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	int bus = 0;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(bus_jmp, 1))
		bus = 1;
	else
		*p = 1;
	sigaction(SIGBUS, &old, NULL);
	return bus;
}

TEST_F(heap, holds)
{
	size_t len = 8 * GCMEM_CHUNK_SIZE;
	const struct gcmem_control *c;
	struct gcmem_stats st;
	char *p;

	ASSERT_EQ(0, set_limit(self->fd, 3 * GCMEM_CHUNK_SIZE));
	p = gcmem_map_arena(self->fd, len);
	ASSERT_NE(MAP_FAILED, p);
	c = mmap(NULL, GCMEM_CONTROL_SIZE, PROT_READ, MAP_SHARED, self->fd,
		 GCMEM_MMAP_CONTROL);
	ASSERT_NE(MAP_FAILED, c);
	EXPECT_EQ(3 * GCMEM_CHUNK_SIZE, c->limit);

	/* Three chunks fit, in any order. */
	EXPECT_EQ(0, touch_bus(p + 5 * GCMEM_CHUNK_SIZE));
	EXPECT_EQ(0, touch_bus(p));
	EXPECT_EQ(0, touch_bus(p + 2 * GCMEM_CHUNK_SIZE + 12345));
	EXPECT_EQ(3 * GCMEM_CHUNK_SIZE, c->committed);

	/* The fourth does not, however often it is tried. */
	EXPECT_EQ(1, touch_bus(p + GCMEM_CHUNK_SIZE));
	EXPECT_EQ(1, touch_bus(p + 7 * GCMEM_CHUNK_SIZE + 8));
	EXPECT_EQ(1, touch_bus(p + GCMEM_CHUNK_SIZE));
	ASSERT_EQ(0, gcmem_stats(self->fd, &st));
	EXPECT_EQ(3 * GCMEM_CHUNK_SIZE, st.committed);
	EXPECT_EQ(3, st.limit_faults);

	/* Committed chunks still work. */
	EXPECT_EQ(0, touch_bus(p + 5 * GCMEM_CHUNK_SIZE + 99));
	EXPECT_EQ(1, p[5 * GCMEM_CHUNK_SIZE]);

	/* The limit cannot go below what the heap holds. */
	EXPECT_EQ(-EBUSY, set_limit(self->fd, 2 * GCMEM_CHUNK_SIZE));
	EXPECT_EQ(3 * GCMEM_CHUNK_SIZE, get_limit(self->fd));

	/* Raising it lets the heap grow again. */
	ASSERT_EQ(0, set_limit(self->fd, 4 * GCMEM_CHUNK_SIZE));
	EXPECT_EQ(4 * GCMEM_CHUNK_SIZE, c->limit);
	EXPECT_EQ(0, touch_bus(p + GCMEM_CHUNK_SIZE));
	EXPECT_EQ(1, touch_bus(p + 7 * GCMEM_CHUNK_SIZE));
	ASSERT_EQ(0, gcmem_stats(self->fd, &st));
	EXPECT_EQ(4 * GCMEM_CHUNK_SIZE, st.committed);
	EXPECT_EQ(4 * GCMEM_CHUNK_SIZE, st.peak_committed);

	munmap((void *)c, GCMEM_CONTROL_SIZE);
	munmap(p, len);
}

/*
 * A large allocation that does not fit gives back the chunks it grew on
 * the way: empty, they used to stay committed (to the limit) until the
 * next cycle; and one larger than the limit fails at once.
 *
 * The thread is not registered, so its stack is no root: the object is
 * reachable only once its address is in root[]. Pacing is off, so that no
 * cycle the pacer starts (in concurrent mode, one that runs on after the
 * allocation returns) can free it before; the cycles at the limit run
 * inside the failing allocations, after the store.
 */
TEST_F(heap, failed_allocation_gives_back_what_it_grew)
{
	static __u64 root[1];
	struct gcmem_alloc_large a = {
		.size = sizeof(a),
		.type_id = GCMEM_TYPE_CONSERVATIVE,
		.bytes = 10 << 20,
	};
	struct gcmem_root r = {
		.size = sizeof(r),
		.type_id = GCMEM_TYPE_CONSERVATIVE,
		.start = (uintptr_t)root,
		.len = sizeof(root),
	};
	__u64 off = GCMEM_GCPERCENT_OFF;
	size_t len = 16 * GCMEM_CHUNK_SIZE;
	struct gcmem_stats st;
	char *p;

	ASSERT_EQ(0, gcmem_option(self->fd, GCMEM_OPTION_GCPERCENT,
				  GCMEM_OPTION_OP_SET, &off));
	ASSERT_EQ(0, set_limit(self->fd, 8 * GCMEM_CHUNK_SIZE));
	p = gcmem_map_arena(self->fd, len);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, gcmem_ioctl(self->fd, GCMEM_IOC_ROOT_ADD, &r));
	ASSERT_EQ(0, gcmem_ioctl(self->fd, GCMEM_IOC_ALLOC_LARGE, &a));
	root[0] = a.addr;
	ASSERT_EQ(0, gcmem_stats(self->fd, &st));
	EXPECT_EQ(5 * GCMEM_CHUNK_SIZE, st.committed);

	a.bytes = 12 << 20;
	EXPECT_EQ(-ENOMEM, gcmem_ioctl(self->fd, GCMEM_IOC_ALLOC_LARGE, &a));
	ASSERT_EQ(0, gcmem_stats(self->fd, &st));
	EXPECT_EQ(5 * GCMEM_CHUNK_SIZE, st.committed);
	EXPECT_EQ(8 * GCMEM_CHUNK_SIZE, st.peak_committed);

	a.bytes = 20 << 20;
	EXPECT_EQ(-ENOMEM, gcmem_ioctl(self->fd, GCMEM_IOC_ALLOC_LARGE, &a));
	ASSERT_EQ(0, gcmem_stats(self->fd, &st));
	EXPECT_EQ(5 * GCMEM_CHUNK_SIZE, st.committed);
	munmap(p, len);
}

TEST_HARNESS_MAIN
