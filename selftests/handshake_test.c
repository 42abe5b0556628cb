// SPDX-License-Identifier: GPL-2.0
/*
 * The API handshake and the generic ioctl argument checks.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "kselftest_harness.h"
#include "gcmem_util.h"

FIXTURE(fresh) {
	int fd;
};

FIXTURE_SETUP(fresh)
{
	self->fd = gcmem_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", GCMEM_DEVICE,
				      strerror(errno));
}

FIXTURE_TEARDOWN(fresh)
{
	close(self->fd);
}

static void hs_init(struct gcmem_handshake *hs)
{
	memset(hs, 0, sizeof(*hs));
	hs->size = sizeof(*hs);
	hs->api_version = GCMEM_API_VERSION;
}

TEST_F(fresh, good)
{
	struct gcmem_handshake hs;

	ASSERT_EQ(0, gcmem_handshake(self->fd, &hs));
	EXPECT_EQ(GCMEM_CHUNK_SIZE, hs.chunk_size);
	EXPECT_EQ(GCMEM_CONTROL_SIZE, hs.control_size);
	EXPECT_LE(hs.chunk_size, hs.limit);
	EXPECT_LE(hs.limit, hs.arena_max);
	EXPECT_EQ(0, hs.limit % hs.chunk_size);
	EXPECT_NE(0, hs.ioctls & 1);
}

TEST_F(fresh, bad_version)
{
	struct gcmem_handshake hs;
	__u32 v[] = { 0, GCMEM_API_VERSION + 1, 0xffffffff };
	unsigned int i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		hs_init(&hs);
		hs.api_version = v[i];
		EXPECT_EQ(-EINVAL, gcmem_ioctl(self->fd, GCMEM_IOC_HANDSHAKE,
					       &hs));
	}
	/* A failed handshake leaves the heap ready for a correct one. */
	EXPECT_EQ(0, gcmem_handshake(self->fd, &hs));
}

TEST_F(fresh, reserved_and_flags)
{
	struct gcmem_handshake hs;

	hs_init(&hs);
	hs.flags = 1;
	EXPECT_EQ(-EINVAL, gcmem_ioctl(self->fd, GCMEM_IOC_HANDSHAKE, &hs));
	hs_init(&hs);
	hs.flags = 0x80000000;
	EXPECT_EQ(-EINVAL, gcmem_ioctl(self->fd, GCMEM_IOC_HANDSHAKE, &hs));
	hs_init(&hs);
	hs.__reserved = 1;
	EXPECT_EQ(-EINVAL, gcmem_ioctl(self->fd, GCMEM_IOC_HANDSHAKE, &hs));
	EXPECT_EQ(0, gcmem_handshake(self->fd, &hs));
}

TEST_F(fresh, unknown_features)
{
	struct gcmem_handshake hs;
	__u64 supported;

	ASSERT_EQ(0, gcmem_handshake(self->fd, &hs));
	supported = hs.features;
	close(self->fd);

	/* Every bit the kernel does not report must be refused. */
	for (int bit = 0; bit < 64; bit++) {
		int fd = gcmem_open();

		ASSERT_LE(0, fd);
		hs_init(&hs);
		hs.features = 1ULL << bit;
		EXPECT_EQ(supported & hs.features ? 0 : -EINVAL,
			  gcmem_ioctl(fd, GCMEM_IOC_HANDSHAKE, &hs));
		close(fd);
	}
	self->fd = gcmem_open();
}

TEST_F(fresh, reply_fully_written)
{
	struct gcmem_handshake hs, ref;
	unsigned char *p = (unsigned char *)&hs;
	size_t off;

	/* Poison every output field; only the inputs are set. */
	memset(&hs, POISON_BYTE, sizeof(hs));
	hs.size = sizeof(hs);
	hs.flags = 0;
	hs.api_version = GCMEM_API_VERSION;
	hs.__reserved = 0;
	hs.features = 0;
	ASSERT_EQ(0, gcmem_ioctl(self->fd, GCMEM_IOC_HANDSHAKE, &hs));

	/* Compare against a clean handshake on another heap. */
	int fd2 = gcmem_open();

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, gcmem_handshake(fd2, &ref));
	close(fd2);
	EXPECT_EQ(0, memcmp(&hs, &ref, sizeof(hs)));
	EXPECT_EQ(0, hs.__reserved2);
	EXPECT_EQ(0, hs.__reserved3);
	for (off = offsetof(struct gcmem_handshake, ioctls);
	     off + 8 <= sizeof(hs); off += 8) {
		uint64_t w;

		memcpy(&w, p + off, 8);
		EXPECT_NE(0xa5a5a5a5a5a5a5a5ULL, w) TH_LOG("offset %zu", off);
	}
}

TEST_F(fresh, twice)
{
	struct gcmem_handshake hs;

	ASSERT_EQ(0, gcmem_handshake(self->fd, &hs));
	EXPECT_EQ(-EINVAL, gcmem_handshake(self->fd, &hs));
}

TEST_F(fresh, required_first)
{
	struct gcmem_stats st;
	__u64 v = 0;
	void *p;

	EXPECT_EQ(-EINVAL, gcmem_stats(self->fd, &st));
	EXPECT_EQ(-EINVAL, gcmem_option(self->fd, GCMEM_OPTION_LIMIT,
					GCMEM_OPTION_OP_GET, &v));
	p = mmap(NULL, GCMEM_CONTROL_SIZE, PROT_READ, MAP_SHARED, self->fd,
		 GCMEM_MMAP_CONTROL);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = gcmem_map_arena(self->fd, GCMEM_CHUNK_SIZE);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(fresh, size_checks)
{
	struct {
		struct gcmem_handshake hs;
		__u64 tail[4];
	} big;
	struct gcmem_handshake hs;

	/* Smaller than the first version of the struct. */
	hs_init(&hs);
	hs.size = sizeof(hs) - 4;
	EXPECT_EQ(-EINVAL, gcmem_ioctl(self->fd, GCMEM_IOC_HANDSHAKE, &hs));
	hs.size = 0;
	EXPECT_EQ(-EINVAL, gcmem_ioctl(self->fd, GCMEM_IOC_HANDSHAKE, &hs));

	/* Larger, with a non-zero tail the kernel does not know. */
	memset(&big, 0, sizeof(big));
	hs_init(&big.hs);
	big.hs.size = sizeof(big);
	big.tail[3] = 1;
	EXPECT_EQ(-E2BIG, gcmem_ioctl(self->fd, GCMEM_IOC_HANDSHAKE, &big));

	/* Larger with a zero tail works, and the tail is left alone. */
	big.tail[3] = 0;
	EXPECT_EQ(0, gcmem_ioctl(self->fd, GCMEM_IOC_HANDSHAKE, &big));
	EXPECT_EQ(sizeof(big), big.hs.size);
	EXPECT_EQ(0, big.tail[0] | big.tail[1] | big.tail[2] | big.tail[3]);
}

TEST_F(fresh, bad_pointer)
{
	EXPECT_EQ(-EFAULT, gcmem_ioctl(self->fd, GCMEM_IOC_HANDSHAKE, NULL));
	EXPECT_EQ(-EFAULT, gcmem_ioctl(self->fd, GCMEM_IOC_HANDSHAKE,
				       (void *)8));
}

TEST_F(fresh, unknown_ioctl)
{
	struct gcmem_handshake hs;
	__u64 buf[16] = { sizeof(buf) };

	ASSERT_EQ(0, gcmem_handshake(self->fd, &hs));
	EXPECT_EQ(-ENOTTY, gcmem_ioctl(self->fd, _IO(GCMEM_TYPE, 0), buf));
	EXPECT_EQ(-ENOTTY, gcmem_ioctl(self->fd, _IO(GCMEM_TYPE, 0x7f), buf));
	EXPECT_EQ(-ENOTTY, gcmem_ioctl(self->fd, _IO(GCMEM_TYPE, 0xff), buf));
	for (int nr = GCMEM_CMD_BASE; nr < GCMEM_CMD_BASE + 64; nr++) {
		if (hs.ioctls & (1ULL << (nr - GCMEM_CMD_BASE)))
			continue;
		EXPECT_EQ(-ENOTTY, gcmem_ioctl(self->fd, _IO(GCMEM_TYPE, nr),
					       buf)) TH_LOG("nr %#x", nr);
	}
	/* A known number with another type or direction is not ours. */
	EXPECT_EQ(-ENOTTY, gcmem_ioctl(self->fd, _IO('x', GCMEM_CMD_STATS),
				       buf));
	EXPECT_EQ(-ENOTTY, gcmem_ioctl(self->fd,
				       _IOWR(GCMEM_TYPE, GCMEM_CMD_STATS,
					     struct gcmem_stats), buf));
}

TEST_F(fresh, option_checks)
{
	struct gcmem_handshake hs;
	struct gcmem_option opt;
	__u64 v;

	ASSERT_EQ(0, gcmem_handshake(self->fd, &hs));

	v = 0;
	EXPECT_EQ(0, gcmem_option(self->fd, GCMEM_OPTION_LIMIT,
				  GCMEM_OPTION_OP_GET, &v));
	EXPECT_EQ(hs.limit, v);
	v = 0;
	EXPECT_EQ(-EINVAL, gcmem_option(self->fd, 0, GCMEM_OPTION_OP_GET, &v));
	EXPECT_EQ(-EINVAL, gcmem_option(self->fd, 999, GCMEM_OPTION_OP_GET,
					&v));
	EXPECT_EQ(-EINVAL, gcmem_option(self->fd, GCMEM_OPTION_LIMIT, 2, &v));

	memset(&opt, 0, sizeof(opt));
	opt.size = sizeof(opt);
	opt.option_id = GCMEM_OPTION_LIMIT;
	opt.op = GCMEM_OPTION_OP_GET;
	opt.__reserved = 1;
	EXPECT_EQ(-EINVAL, gcmem_ioctl(self->fd, GCMEM_IOC_OPTION, &opt));
	opt.__reserved = 0;
	opt.__reserved2 = 1;
	EXPECT_EQ(-EINVAL, gcmem_ioctl(self->fd, GCMEM_IOC_OPTION, &opt));
}

TEST_F(fresh, stats_flags)
{
	struct gcmem_handshake hs;
	struct gcmem_stats st;

	ASSERT_EQ(0, gcmem_handshake(self->fd, &hs));
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	st.flags = 1;
	EXPECT_EQ(-EINVAL, gcmem_ioctl(self->fd, GCMEM_IOC_STATS, &st));

	/* Outputs are written whatever they held. */
	memset(&st, POISON_BYTE, sizeof(st));
	st.size = sizeof(st);
	st.flags = 0;
	ASSERT_EQ(0, gcmem_ioctl(self->fd, GCMEM_IOC_STATS, &st));
	EXPECT_EQ(0, st.committed);
	EXPECT_EQ(0, st.peak_committed);
	EXPECT_EQ(hs.limit, st.limit);
	EXPECT_EQ(0, st.arena_start);
	EXPECT_EQ(0, st.arena_size);
	EXPECT_EQ(0, st.pmd_faults + st.pte_faults + st.limit_faults);
}

TEST_HARNESS_MAIN
