/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the gcmem selftests: raw access to /dev/gcmem through
 * the uapi only, so the tests check the kernel's contract and not
 * libgcuser's.
 */
#ifndef GCMEM_UTIL_H
#define GCMEM_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/gcmem.h>

#define POISON_BYTE	0xa5
#define MiB		(1UL << 20)

/* ioctl() returning 0 or -errno, so tests can assert the exact errno. */
static inline int gcmem_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static inline int gcmem_open(void)
{
	return open(GCMEM_DEVICE, O_RDWR | O_CLOEXEC);
}

static inline int gcmem_handshake(int fd, struct gcmem_handshake *hs)
{
	memset(hs, 0, sizeof(*hs));
	hs->size = sizeof(*hs);
	hs->api_version = GCMEM_API_VERSION;
	return gcmem_ioctl(fd, GCMEM_IOC_HANDSHAKE, hs);
}

/* Open a heap and do the handshake; -1 on failure. */
static inline int gcmem_open_ready(struct gcmem_handshake *hs)
{
	int fd = gcmem_open();

	if (fd < 0)
		return -1;
	if (gcmem_handshake(fd, hs)) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline int gcmem_stats(int fd, struct gcmem_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return gcmem_ioctl(fd, GCMEM_IOC_STATS, st);
}

static inline int gcmem_option(int fd, __u32 id, __u16 op, __u64 *val)
{
	struct gcmem_option opt = {
		.size = sizeof(opt),
		.option_id = id,
		.op = op,
		.val64 = *val,
	};
	int ret = gcmem_ioctl(fd, GCMEM_IOC_OPTION, &opt);

	*val = opt.val64;
	return ret;
}

static inline void *gcmem_map_arena(int fd, size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    GCMEM_MMAP_ARENA);
}

/* Running kernel at least major.minor? */
static inline int kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return 0;
	return ma > major || (ma == major && mi >= minor);
}

#endif /* GCMEM_UTIL_H */
