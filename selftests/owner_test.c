// SPDX-License-Identifier: GPL-2.0
/*
 * A heap belongs to the process that opened it: a descriptor inherited by
 * fork or received over a Unix socket is refused (EPERM) in the other
 * process, and the heap's mappings are not copied into a child.
 */
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "gcmem_util.h"

/*
 * What the other process sees, as a bit set, so a child can report several
 * results through its exit status.
 */
enum {
	HANDSHAKE_EPERM	= 1 << 0,
	STATS_EPERM	= 1 << 1,
	OPTION_EPERM	= 1 << 2,
	CONTROL_EPERM	= 1 << 3,
	ARENA_EPERM	= 1 << 4,
	ALL_EPERM	= 0x1f,
};

static int probe_foreign(int fd)
{
	struct gcmem_handshake hs;
	struct gcmem_stats st;
	__u64 v = 0;
	int r = 0;
	void *p;

	if (gcmem_handshake(fd, &hs) == -EPERM)
		r |= HANDSHAKE_EPERM;
	if (gcmem_stats(fd, &st) == -EPERM)
		r |= STATS_EPERM;
	if (gcmem_option(fd, GCMEM_OPTION_LIMIT, GCMEM_OPTION_OP_GET, &v) ==
	    -EPERM)
		r |= OPTION_EPERM;
	p = mmap(NULL, GCMEM_CONTROL_SIZE, PROT_READ, MAP_SHARED, fd,
		 GCMEM_MMAP_CONTROL);
	if (p == MAP_FAILED && errno == EPERM)
		r |= CONTROL_EPERM;
	p = gcmem_map_arena(fd, GCMEM_CHUNK_SIZE);
	if (p == MAP_FAILED && errno == EPERM)
		r |= ARENA_EPERM;
	return r;
}

static int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST(fork_inherited_fd)
{
	struct gcmem_handshake hs;
	int fd = gcmem_open_ready(&hs);
	pid_t pid;

	ASSERT_LE(0, fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(probe_foreign(fd));
	EXPECT_EQ(ALL_EPERM, wait_child(pid));

	/* The owner is not affected. */
	struct gcmem_stats st;

	EXPECT_EQ(0, gcmem_stats(fd, &st));
	close(fd);
}

/* A fresh heap, not yet handshaken, is refused too: ownership comes first. */
TEST(fork_before_handshake)
{
	int fd = gcmem_open();
	pid_t pid;

	ASSERT_LE(0, fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(probe_foreign(fd));
	EXPECT_EQ(ALL_EPERM, wait_child(pid));
	close(fd);
}

static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte = 'g';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* The heap is opened after the fork and only then passed over a socket. */
TEST(passed_over_socket)
{
	struct gcmem_handshake hs;
	int sv[2], fd;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int got;

		close(sv[0]);
		got = recv_fd(sv[1]);
		if (got < 0)
			_exit(255);
		_exit(probe_foreign(got));
	}
	close(sv[1]);
	fd = gcmem_open_ready(&hs);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, send_fd(sv[0], fd));
	EXPECT_EQ(ALL_EPERM, wait_child(pid));
	close(sv[0]);
	close(fd);
}

static sigjmp_buf segv_jmp;

static void on_segv(int sig)
{
	siglongjmp(segv_jmp, 1);
}

/* The child of a fork has no arena and no control page at those addresses. */
TEST(mappings_not_inherited)
{
	struct gcmem_handshake hs;
	volatile char *arena;
	const volatile char *ctl;
	int fd = gcmem_open_ready(&hs);
	pid_t pid;

	ASSERT_LE(0, fd);
	arena = gcmem_map_arena(fd, GCMEM_CHUNK_SIZE);
	ASSERT_NE(MAP_FAILED, arena);
	ctl = mmap(NULL, GCMEM_CONTROL_SIZE, PROT_READ, MAP_SHARED, fd,
		   GCMEM_MMAP_CONTROL);
	ASSERT_NE(MAP_FAILED, ctl);
	arena[0] = 7;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = on_segv };
		int faults = 0;

		sigaction(SIGSEGV, &sa, NULL);
		if (sigsetjmp(segv_jmp, 1) == 0)
			(void)arena[0];
		else
			faults++;
		if (sigsetjmp(segv_jmp, 1) == 0)
			(void)ctl[0];
		else
			faults++;
		_exit(faults);
	}
	EXPECT_EQ(2, wait_child(pid));
	EXPECT_EQ(7, arena[0]);
	munmap((void *)arena, GCMEM_CHUNK_SIZE);
	munmap((void *)ctl, GCMEM_CONTROL_SIZE);
	close(fd);
}

/* A clone(CLONE_VM) sibling shares the mm, but is another process. */
static int clone_fd;
static char *clone_stack;
static const size_t clone_stack_size = 1 << 16;
static volatile int clone_ret = 1;

static int clone_register(void *arg)
{
	struct gcmem_thread_register r;

	gcmem_thread_reg_init(&r, (uintptr_t)clone_stack,
			      (uintptr_t)clone_stack + clone_stack_size, -1);
	clone_ret = gcmem_ioctl(clone_fd, GCMEM_IOC_THREAD_REGISTER, &r);
	return 0;
}

TEST(clone_vm_sibling_cannot_register)
{
	struct gcmem_thread_register r;
	struct gcmem_handshake hs;
	int status;
	pid_t pid;

	clone_fd = gcmem_open_ready(&hs);
	ASSERT_LE(0, clone_fd);
	clone_stack = malloc(clone_stack_size);
	ASSERT_NE(NULL, clone_stack);
	pid = clone(clone_register, clone_stack + clone_stack_size,
		    CLONE_VM | SIGCHLD, NULL);
	ASSERT_LE(0, pid);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(-EPERM, clone_ret);

	/* The heap's own threads still register. */
	EXPECT_EQ(0, gcmem_thread_register(clone_fd, -1, &r));
	close(clone_fd);
	free(clone_stack);
}

TEST_HARNESS_MAIN
