// SPDX-License-Identifier: GPL-2.0
/*
 * One process cannot hold up another's collections. The mark workers serve
 * every heap; a root whose page never arrives (here a userfaultfd page
 * nobody fills, as a FUSE server that never answers would be) must hold
 * only the cycle of the process that registered it: the workers leave such
 * a range to that cycle's driver, a thread of the process, whose fault may
 * sleep. Meanwhile another process collects as usual; once the page
 * arrives, the held cycle completes and marks what the page points to.
 */
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "gcmem_util.h"
#include "gcuser.h"

#define PAGE 4096

/* Shared with the child. */
struct held {
	int fault_seen;		/* the child's driver faults on the root */
	int release;		/* the parent says: fill the page */
	int collect_ret;	/* gcu_collect()'s result in the child */
	int collect_errno;
	int survived;		/* the object the page points to survived */
	int done;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int wait_flag(volatile int *flag, double seconds)
{
	double end = now() + seconds;

	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) {
		if (now() > end)
			return -1;
		usleep(1000);
	}
	return 0;
}

struct pager {
	struct held *sh;
	int uffd;
	char *page;
	uintptr_t hidden;	/* what the page will point to, hidden */
};

/* Serve the root's one fault: report it, then fill it when told to. */
static void *pager_fn(void *arg)
{
	struct pager *p = arg;
	struct pollfd pfd = { .fd = p->uffd, .events = POLLIN };
	struct uffdio_copy copy = { 0 };
	struct uffd_msg msg;
	char *src;

	while (poll(&pfd, 1, -1) != 1 ||
	       read(p->uffd, &msg, sizeof(msg)) != sizeof(msg))
		;
	__atomic_store_n(&p->sh->fault_seen, 1, __ATOMIC_RELEASE);
	wait_flag(&p->sh->release, 60);
	src = aligned_alloc(PAGE, PAGE);
	memset(src, 0, PAGE);
	*(uintptr_t *)src = p->hidden ^ 0x5a5a5a5a5a5a5a5aULL;
	copy.dst = (uintptr_t)p->page;
	copy.src = (uintptr_t)src;
	copy.len = PAGE;
	ioctl(p->uffd, UFFDIO_COPY, &copy);
	free(src);
	return NULL;
}

static __attribute__((noinline)) uintptr_t make_target(void)
{
	char *o = gcu_malloc(64);

	if (o)
		strcpy(o, "held by a page that came late");
	/* Hidden from the stack scan: only the page will point to it. */
	return (uintptr_t)o ^ 0x5a5a5a5a5a5a5a5aULL;
}

static void child(struct held *sh)
{
	int uffd = gcmem_uffd_open();

	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct gcmem_query q = { .size = sizeof(q) };
	struct pager p = { .sh = sh, .uffd = uffd };
	pthread_t pager;
	uintptr_t h;

	if (uffd < 0 || gcu_init() || gcu_set_gcpercent(-1))
		_exit(10);
	p.page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p.page == MAP_FAILED)
		_exit(11);
	reg.range.start = (uintptr_t)p.page;
	reg.range.len = PAGE;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		_exit(12);
	h = make_target();
	p.hidden = h;
	if (gcu_root_add(p.page, PAGE, GCU_TYPE_CONSERVATIVE))
		_exit(13);
	if (pthread_create(&pager, NULL, pager_fn, &p))
		_exit(14);
	/* Allocate more, so the target's slot is not the last one taken. */
	gcu_malloc(64);

	sh->collect_ret = gcu_collect();
	sh->collect_errno = errno;
	q.addr = h ^ 0x5a5a5a5a5a5a5a5aULL;
	sh->survived = !ioctl(gcu_heap()->fd, GCMEM_IOC_QUERY, &q) &&
		       (q.result & GCMEM_QUERY_ALLOCATED) &&
		       !strcmp((char *)q.addr, "held by a page that came late");
	__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
	pthread_join(pager, NULL);
	_exit(0);
}

FIXTURE(iso) {
	int dummy;
};

FIXTURE_SETUP(iso)
{
}

FIXTURE_TEARDOWN(iso)
{
}

TEST_F_TIMEOUT(iso, missing_root_page_holds_only_its_own_heap, 120)
{
	struct gcu_heap_stats st;
	struct held *sh;
	int uffd = gcmem_uffd_open(), status, i;
	pid_t pid;

	/* A userfaultfd serves its creator's mm: the child opens its own. */
	if (uffd < 0)
		SKIP(return, "userfaultfd for kernel faults: %s",
		     strerror(-uffd));
	close(uffd);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		child(sh);

	/* The child's cycle now waits for its root's page. */
	if (wait_flag(&sh->fault_seen, 30)) {
		status = -1;
		waitpid(pid, &status, WNOHANG);
		ASSERT_TRUE(0) TH_LOG("nobody read the root's page (child status %#x, done %d)",
				      status, sh->done);
	}
	EXPECT_EQ(0, sh->done);

	/* This process collects meanwhile, with the same workers. */
	ASSERT_EQ(0, gcu_init());
	for (i = 0; i < 3; i++) {
		ASSERT_NE(NULL, gcu_malloc(64));
		ASSERT_EQ(0, gcu_collect());
	}
	ASSERT_EQ(0, gcu_stats(&st));
	EXPECT_EQ(3, st.cycles);
	EXPECT_EQ(0, st.abandoned);
	EXPECT_EQ(0, sh->done);
	gcu_shutdown();

	/* The page arrives: the child's cycle completes and keeps the target. */
	__atomic_store_n(&sh->release, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, wait_flag(&sh->done, 30));
	EXPECT_EQ(0, sh->collect_ret) TH_LOG("collect: %s",
					     strerror(sh->collect_errno));
	EXPECT_EQ(1, sh->survived);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
