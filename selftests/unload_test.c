// SPDX-License-Identifier: GPL-2.0
/*
 * The module cannot be unloaded while a heap (an open file, or a mapping
 * that outlives its file descriptor) exists, and can be once the last heap
 * is gone. The test loads the module again from $GCMEM_KO afterwards, so it
 * needs that path and CAP_SYS_MODULE; it skips without them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gcmem_util.h"

static int unload(void)
{
	return syscall(SYS_delete_module, "gcmem", O_NONBLOCK) ? -errno : 0;
}

/*
 * Once the last heap is closed and unmapped: a concurrent cycle that the
 * kernel's driver still runs for a process that has exited (an earlier
 * test's) holds that process's heap, and so the module, until it ends,
 * which takes a mark of that heap: up to 10 s here.
 */
static int unload_when_idle(void)
{
	int ret, i;

	for (i = 0; (ret = unload()) == -EAGAIN && i < 1000; i++)
		usleep(10000);
	return ret;
}

static int load(const char *ko)
{
	/* With the parameters init loaded it with (qemu-images/init). */
	const char *params = getenv("GCMEM_KO_PARAMS");
	int fd = open(ko, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params ? params : "", 0) ?
	      -errno : 0;
	close(fd);
	return ret;
}

FIXTURE(mod) {
	const char *ko;
};

FIXTURE_SETUP(mod)
{
	self->ko = getenv("GCMEM_KO");
	if (!self->ko || access(self->ko, R_OK))
		SKIP(return, "GCMEM_KO does not name the module file");
	if (access(GCMEM_DEVICE, R_OK | W_OK))
		SKIP(return, "module not loaded");
}

/* Whatever happened, leave the module loaded for the tests that follow. */
FIXTURE_TEARDOWN(mod)
{
	if (self->ko && access(GCMEM_DEVICE, F_OK))
		load(self->ko);
}

TEST_F(mod, refused_while_open)
{
	struct gcmem_handshake hs;
	int fd = gcmem_open_ready(&hs);
	char *p;

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EAGAIN, unload());

	/* A mapping keeps the heap alive after close(). */
	p = gcmem_map_arena(fd, GCMEM_CHUNK_SIZE);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(-EAGAIN, unload());
	EXPECT_EQ(1, p[0]);

	ASSERT_EQ(0, munmap(p, GCMEM_CHUNK_SIZE));
	EXPECT_EQ(0, unload_when_idle());
	EXPECT_EQ(-1, gcmem_open());

	ASSERT_EQ(0, load(self->ko));
	fd = gcmem_open();
	ASSERT_LE(0, fd);
	close(fd);
}

TEST_HARNESS_MAIN
