// SPDX-License-Identifier: GPL-2.0
/*
 * SIGKILL in the middle of a collection, with the state at the kill known.
 *
 * A child process has threads parked at the safepoint, one blocked (as by
 * gcu_blocking_enter()), one asleep in a read() without saying so, and a
 * driver that the test holds at a chosen point of the cycle: the range
 * the driver must scan holds a page registered with userfaultfd and not
 * yet there, so the driver sleeps in the fault until the test supplies
 * the page — and nothing else moves, since every other thread waits for
 * the driver. The points are the stop (the driver's scan of its own stack:
 * the others parked, the blocked one not claimed yet) and the checkmark
 * pass of debug mode (a parked thread's stack scanned again: the world
 * stopped and marked, the blocked thread claimed, a park queued for the
 * sleeping one). A thread of the child that is not registered, and so
 * never stopped, handles the faults and checks the state in the control
 * page, the thread slots and /proc; then the parent sends SIGKILL, to the
 * process, to a parked thread or to the driver (SIGKILL kills the whole
 * process either way).
 *
 * The last test kills the driver while it waits for a thread that never
 * polls, from that thread itself, before the kernel's forced stop reaches
 * it; the gcmem_cycle_end tracepoint tells whether it got there first.
 *
 * After each kill: the child is reaped, killed by SIGKILL; nothing of its
 * heap is left (its debugfs directory, the module references of its file
 * and of the queued park); a new heap in another process collects.
 *
 * Last, a process killed, or exiting, while the kernel's driver runs its
 * concurrent cycle, in each of the phases the driver runs.
 */
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "gcmem_util.h"
#include "gcuser.h"

#define NPARKED		3
#define PAGE		4096UL
#define CHILD_WAIT_S	30	/* for the child to reach the state */
#define REAP_WAIT_S	20	/* for a killed child to be gone */
#define DEBUGFS		"/sys/kernel/debug/gcmem"

/* What the child tells the parent, in memory they share. */
enum { KS_SETUP, KS_READY, KS_FAILED, KS_MISSED };

struct kill_shared {
	int state;
	int line;		/* KS_FAILED: where, and why */
	char why[200];
	pid_t driver;
	pid_t parked[NPARKED];
	pid_t blocked;
	pid_t sleeper;
	double stop_seen;	/* spinner: when it saw the stop begin */
	double kill_sent;	/* ... and when it sent the SIGKILL */
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static pid_t gettid_(void)
{
	return syscall(SYS_gettid);
}

/*
 * The child's side. Its threads report a broken expectation in the shared
 * page and end the process with status 2: the parent then prints it.
 */
struct child {
	struct kill_shared *sh;
	struct gcmem_raw_heap h;
	int uffd;
	char *pages;		/* page A: the driver's range; B: parked[0]'s */
	int pipe[2];		/* the blocked and the sleeping thread read it */
	/* parked[], blocked, sleeper, spinner */
	struct gcmem_thread_slot *slot[NPARKED + 3];
	int registered;
	int go;
};

#define SLOT_BLOCKED	NPARKED
#define SLOT_SLEEPER	(NPARKED + 1)
#define SLOT_SPINNER	(NPARKED + 2)

static void __attribute__((noreturn, format(printf, 3, 4)))
child_fail(struct kill_shared *sh, int line, const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sh->why, sizeof(sh->why), fmt, ap);
	va_end(ap);
	if (err) {
		size_t n = strlen(sh->why);

		snprintf(sh->why + n, sizeof(sh->why) - n, " (errno %d)", err);
	}
	sh->line = line;
	__atomic_store_n(&sh->state, KS_FAILED, __ATOMIC_RELEASE);
	_exit(2);
}

#define CHILD_CHECK(c, cond) do {					\
	errno = 0;							\
	if (!(cond))							\
		child_fail((c)->sh, __LINE__, "%s", #cond);		\
} while (0)

static int stop_wanted(const struct gcmem_control *ctl)
{
	return __atomic_load_n(&ctl->safepoint_epoch, __ATOMIC_ACQUIRE) & 1;
}

static __u32 status_of(struct gcmem_thread_slot *slot)
{
	return __atomic_load_n(&slot->status, __ATOMIC_ACQUIRE);
}

/*
 * Register the calling thread: with its own stack, or (@lo non-zero) with
 * [@lo, @hi) as its "stack", which the collector then scans whole.
 */
static struct gcmem_thread_slot *child_register(struct child *c, __u64 lo,
						__u64 hi, __u32 *id)
{
	struct gcmem_thread_slot *slot;
	struct gcmem_thread_register r;

	if (lo) {
		gcmem_thread_reg_init(&r, lo, hi, -1);
		CHILD_CHECK(c, !gcmem_ioctl(c->h.fd, GCMEM_IOC_THREAD_REGISTER,
					    &r));
	} else {
		CHILD_CHECK(c, !gcmem_thread_register(c->h.fd, -1, &r));
	}
	slot = gcmem_map_slot(c->h.fd, r.slot_offset);
	CHILD_CHECK(c, slot);
	*id = r.thread_id;
	return slot;
}

struct role {
	struct child *c;
	int index;
};

/*
 * A thread that polls the epoch and parks, like any allocating thread.
 * It owns a few objects, so that the cycle has something to mark and
 * sweep. parked[0] declares page B as its stack.
 */
static void *parked_fn(void *arg)
{
	struct role *ro = arg;
	struct child *c = ro->c;
	struct gcmem_thread_op op = { .size = sizeof(op) };
	uintptr_t b = (uintptr_t)c->pages + PAGE;
	__u64 objs[4];
	__u32 cls = gcmem_class_for(c->h.ctl, 32);

	c->slot[ro->index] = child_register(c, ro->index ? 0 : b,
					    ro->index ? 0 : b + PAGE,
					    &op.thread_id);
	CHILD_CHECK(c, !gcmem_take_objects(c->h.fd, c->slot[ro->index],
					   op.thread_id, 0, cls,
					   GCMEM_TYPE_CONSERVATIVE, objs, 4));
	/* A chain: the first object holds the second. */
	*(__u64 *)(uintptr_t)objs[0] = objs[1];
	c->sh->parked[ro->index] = gettid_();
	__atomic_add_fetch(&c->registered, 1, __ATOMIC_RELEASE);
	for (;;) {
		if (stop_wanted(c->h.ctl))
			gcmem_ioctl(c->h.fd, GCMEM_IOC_SAFEPOINT, &op);
		sched_yield();
	}
	return NULL;
}

/* A thread in a blocking call, published as BLOCKED (gcu_blocking_enter). */
static void *blocked_fn(void *arg)
{
	struct child *c = arg;
	struct gcmem_thread_slot *slot;
	__u32 id, running = GCMEM_THREAD_RUNNING;
	char byte;

	slot = child_register(c, 0, 0, &id);
	c->slot[SLOT_BLOCKED] = slot;
	c->sh->blocked = gettid_();
	memset((void *)slot->blocked_regs, 0, sizeof(slot->blocked_regs));
	slot->blocked_sp = (uintptr_t)__builtin_frame_address(0) - 256;
	CHILD_CHECK(c, __atomic_compare_exchange_n(&slot->status, &running,
						   GCMEM_THREAD_BLOCKED, 0,
						   __ATOMIC_SEQ_CST,
						   __ATOMIC_SEQ_CST));
	__atomic_add_fetch(&c->registered, 1, __ATOMIC_RELEASE);
	CHILD_CHECK(c, read(c->pipe[0], &byte, 1) == 1);
	return NULL;
}

/*
 * A thread asleep in a system call without saying so: the driver finds it
 * asleep and queues a park for its way out (a task work), which a SIGKILL
 * runs on the way to the exit.
 */
static void *sleeper_fn(void *arg)
{
	struct child *c = arg;
	__u32 id;
	char byte;

	c->slot[SLOT_SLEEPER] = child_register(c, 0, 0, &id);
	c->sh->sleeper = gettid_();
	__atomic_add_fetch(&c->registered, 1, __ATOMIC_RELEASE);
	CHILD_CHECK(c, read(c->pipe[0], &byte, 1) == 1);
	return NULL;
}

/* The scheduler's state letter of our thread @tid ('S': asleep). */
static char task_state(pid_t tid)
{
	char path[64], buf[256], *p;
	int fd, n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/*
 * The driver declares page A, never touched, as its stack: the scan of it
 * at the stop faults into the userfaultfd and sleeps there until the page
 * is supplied. The collection never returns to user space: the process is
 * killed inside it.
 */
static void *driver_fn(void *arg)
{
	struct child *c = arg;
	struct gcmem_collect col = { .size = sizeof(col) };
	uintptr_t a = (uintptr_t)c->pages;
	__u32 id;

	child_register(c, a, a + PAGE, &id);
	c->sh->driver = gettid_();
	__atomic_add_fetch(&c->registered, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&c->go, __ATOMIC_ACQUIRE))
		usleep(1000);
	errno = -gcmem_ioctl(c->h.fd, GCMEM_IOC_COLLECT, &col);
	child_fail(c->sh, __LINE__, "the collection returned before the kill");
}

/* Two pages, both in the userfaultfd: A missing, B present. */
static void uffd_setup(struct child *c)
{
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };

	c->uffd = gcmem_uffd_open();
	CHILD_CHECK(c, c->uffd >= 0);
	c->pages = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHILD_CHECK(c, c->pages != MAP_FAILED);
	memset(c->pages + PAGE, 0, PAGE);
	reg.range.start = (uintptr_t)c->pages;
	reg.range.len = 2 * PAGE;
	CHILD_CHECK(c, !ioctl(c->uffd, UFFDIO_REGISTER, &reg));
}

/* Wait for the fault on the page at @addr: someone scans it now. */
static void uffd_wait(struct child *c, uintptr_t addr, double deadline)
{
	struct pollfd p = { .fd = c->uffd, .events = POLLIN };
	struct uffd_msg msg;
	ssize_t n;

	for (;;) {
		if (now() > deadline) {
			errno = 0;
			child_fail(c->sh, __LINE__,
				   "no fault on page %#lx: nobody scanned it",
				   (unsigned long)addr);
		}
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(c->uffd, &msg, sizeof(msg));
		if (n < 0 && errno == EAGAIN)
			continue;
		CHILD_CHECK(c, n == sizeof(msg));
		CHILD_CHECK(c, msg.event == UFFD_EVENT_PAGEFAULT);
		if ((msg.arg.pagefault.address & ~(PAGE - 1)) != addr)
			child_fail(c->sh, __LINE__, "fault at %#llx, not %#lx",
				   (unsigned long long)msg.arg.pagefault.address,
				   (unsigned long)addr);
		return;
	}
}

/*
 * Wait until the world is as wanted: the cycle in @phase, the epoch odd
 * (stopping), no cycle completed, every parked thread PARKED, the blocked
 * one @blocked, the sleeper RUNNING and asleep in its read(). Once the
 * driver sleeps in its fault none of this can change; the wait only lets
 * the parked threads get there.
 */
static void wait_state(struct child *c, __u32 phase, __u32 blocked,
		       double deadline)
{
	const struct gcmem_control *ctl = c->h.ctl;
	__u32 st[NPARKED + 2];
	char sleeping;
	int i, ok;

	for (;;) {
		ok = __atomic_load_n(&ctl->phase, __ATOMIC_ACQUIRE) == phase &&
		     stop_wanted(ctl) &&
		     __atomic_load_n(&ctl->cycle, __ATOMIC_ACQUIRE) == 0;
		for (i = 0; i < NPARKED + 2; i++)
			st[i] = status_of(c->slot[i]);
		for (i = 0; i < NPARKED; i++)
			ok &= st[i] == GCMEM_THREAD_PARKED;
		ok &= st[SLOT_BLOCKED] == blocked;
		ok &= st[SLOT_SLEEPER] == GCMEM_THREAD_RUNNING;
		sleeping = task_state(c->sh->sleeper);
		ok &= sleeping == 'S';
		if (ok)
			return;
		if (now() > deadline) {
			errno = 0;
			child_fail(c->sh, __LINE__,
				   "phase %u (want %u), epoch %llu, cycle %llu, parked %#x %#x %#x, blocked %#x (want %#x), sleeper %#x %c",
				   ctl->phase, phase,
				   (unsigned long long)ctl->safepoint_epoch,
				   (unsigned long long)ctl->cycle, st[0], st[1],
				   st[2], st[SLOT_BLOCKED], blocked,
				   st[SLOT_SLEEPER], sleeping);
		}
		usleep(1000);
	}
}

/*
 * The child's cast: NPARKED threads that park, one blocked, one asleep in
 * read(), the driver and, if @extra, one more; wait until all registered,
 * then let them go.
 */
static void start_threads(struct child *c, struct role *roles,
			  void *(*driver)(void *), void *(*extra)(void *),
			  double deadline)
{
	int i, n = NPARKED + 3 + !!extra;
	pthread_t th;

	CHILD_CHECK(c, !pipe(c->pipe));
	for (i = 0; i < NPARKED; i++) {
		roles[i].c = c;
		roles[i].index = i;
		CHILD_CHECK(c, !pthread_create(&th, NULL, parked_fn,
					       &roles[i]));
	}
	CHILD_CHECK(c, !pthread_create(&th, NULL, blocked_fn, c));
	CHILD_CHECK(c, !pthread_create(&th, NULL, sleeper_fn, c));
	CHILD_CHECK(c, !pthread_create(&th, NULL, driver, c));
	if (extra)
		CHILD_CHECK(c, !pthread_create(&th, NULL, extra, c));
	while (__atomic_load_n(&c->registered, __ATOMIC_ACQUIRE) < n) {
		CHILD_CHECK(c, now() < deadline);
		usleep(1000);
	}
	__atomic_store_n(&c->go, 1, __ATOMIC_RELEASE);
}

/*
 * The child of the pinned tests. Ends KS_READY with the driver asleep at
 * @phase (GCMEM_PHASE_SCAN or GCMEM_PHASE_MARKTERM), waiting to be killed.
 */
static void __attribute__((noreturn)) child_pinned(struct kill_shared *sh,
						   __u32 phase)
{
	static struct child c;
	struct role roles[NPARKED];
	struct uffdio_zeropage zp = { 0 };
	uintptr_t a, b;
	double deadline = now() + CHILD_WAIT_S;
	__u64 stw = GCMEM_MODE_STW;

	c.sh = sh;
	CHILD_CHECK(&c, !gcmem_raw_open(&c.h, GCMEM_CHUNK_SIZE));
	/*
	 * Stop-the-world: a concurrent cycle's precleaning would have the
	 * parked threads scan their stacks again beside the mark (ragged
	 * scans), and the driver read B there, in MARK, not in the checkmark.
	 * The kills in a concurrent cycle's phases are the "ended" tests'.
	 */
	CHILD_CHECK(&c, !gcmem_option(c.h.fd, GCMEM_OPTION_MODE,
				      GCMEM_OPTION_OP_SET, &stw));
	uffd_setup(&c);
	a = (uintptr_t)c.pages;
	b = a + PAGE;
	start_threads(&c, roles, driver_fn, NULL, deadline);

	/* The driver is stopping the world and sleeps in the scan of A. */
	uffd_wait(&c, a, deadline);
	wait_state(&c, GCMEM_PHASE_SCAN, GCMEM_THREAD_BLOCKED, deadline);

	if (phase == GCMEM_PHASE_MARKTERM) {
		/*
		 * parked[0] has scanned B, present then. Take B away and let
		 * the driver go: it claims the blocked thread, marks, and in
		 * the checkmark pass scans parked[0]'s "stack" again.
		 */
		CHILD_CHECK(&c, !madvise((void *)b, PAGE, MADV_DONTNEED));
		zp.range.start = a;
		zp.range.len = PAGE;
		CHILD_CHECK(&c, !ioctl(c.uffd, UFFDIO_ZEROPAGE, &zp));
		uffd_wait(&c, b, deadline);
		wait_state(&c, GCMEM_PHASE_MARKTERM,
			   GCMEM_THREAD_BLOCKED | GCMEM_THREAD_SCAN, deadline);
	}
	__atomic_store_n(&sh->state, KS_READY, __ATOMIC_RELEASE);
	for (;;)
		pause();
}

/* Heaps of @pid in debugfs (one directory each), -1 without debugfs. */
static int heap_dirs(pid_t pid)
{
	char prefix[32];
	struct dirent *d;
	DIR *dir = opendir(DEBUGFS);
	int n = 0;

	if (!dir)
		return -1;
	snprintf(prefix, sizeof(prefix), "%d.", pid);
	while ((d = readdir(dir)))
		n += !strncmp(d->d_name, prefix, strlen(prefix));
	closedir(dir);
	return n;
}

/* References on the module: one per open heap, one per queued park. */
static int module_refs(void)
{
	char buf[32];

	if (gcmem_read_file("/sys/module/gcmem/refcnt", buf, sizeof(buf)) <= 0)
		return -1;
	return atoi(buf);
}

static int debug_mode(void)
{
	char buf[8];

	return gcmem_read_file("/sys/module/gcmem/parameters/debug", buf,
			 sizeof(buf)) > 0 && buf[0] == 'Y';
}

/* waitpid() for at most @secs seconds: 0 when reaped, -1 if not. */
static int reap(pid_t pid, int *status, int secs)
{
	double deadline = now() + secs;

	while (now() < deadline) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0)
			return -1;
		usleep(2000);
	}
	return -1;
}

/* A fixture's teardown: kill the child the test left, if any, and reap it. */
static void kill_and_reap(pid_t pid)
{
	int status;

	if (pid > 0) {
		kill(pid, SIGKILL);
		reap(pid, &status, REAP_WAIT_S);
	}
}

/*
 * Wait for the child to leave KS_SETUP; its state, or -1 if it did not in
 * time. *@reaped is set if it ended (and was reaped) meanwhile.
 */
static int wait_child(pid_t pid, struct kill_shared *sh, int *reaped)
{
	double deadline = now() + CHILD_WAIT_S + 5;
	int state, status;

	*reaped = 0;
	for (;;) {
		state = __atomic_load_n(&sh->state, __ATOMIC_ACQUIRE);
		if (state != KS_SETUP)
			return state;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			*reaped = 1;
			state = __atomic_load_n(&sh->state, __ATOMIC_ACQUIRE);
			return state == KS_SETUP ? -1 : state;
		}
		if (now() > deadline)
			return -1;
		usleep(1000);
	}
}

static __attribute__((noinline)) void make_garbage(int n)
{
	for (int i = 0; i < n; i++)
		memset(gcu_malloc(64), 0xab, 64);
}

static __attribute__((noinline)) void scrub_stack(void)
{
	volatile uint64_t buf[2048];

	for (size_t i = 0; i < sizeof(buf) / sizeof(buf[0]); i++)
		buf[i] = 0;
}

/*
 * In a new process: a heap of its own works and collects — what it keeps
 * survives, garbage goes, the checkmark pass agrees. Exit status 0, or
 * the number of the check that failed.
 */
static int fresh_heap_collects(void)
{
	struct gcu_heap_stats st;
	volatile uintptr_t keep;
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (gcu_init() || gcu_set_gcpercent(-1))
			_exit(10);
		keep = (uintptr_t)gcu_malloc(64);
		if (!keep)
			_exit(11);
		strcpy((char *)keep, "kept");
		make_garbage(2000);
		scrub_stack();
		if (gcu_collect() || gcu_stats(&st))
			_exit(12);
		if (st.cycles != 1 || st.abandoned || st.checkmark_failures)
			_exit(13);
		if (st.freed_bytes < 2000 * 64 / 2)
			_exit(14);
		if (strcmp((char *)keep, "kept"))
			_exit(15);
		gcu_shutdown();
		_exit(0);
	}
	if (reap(pid, &status, REAP_WAIT_S))
		return -2;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

enum { KILL_PROCESS, KILL_PARKED, KILL_DRIVER };

FIXTURE(pinned) {
	struct kill_shared *sh;
	pid_t pid;
	int refs;
};

FIXTURE_VARIANT(pinned) {
	__u32 phase;
	int target;
};

/* At the stop: the driver in its own stack scan, the others parked. */
FIXTURE_VARIANT_ADD(pinned, stop_kill_process) {
	.phase = GCMEM_PHASE_SCAN,
	.target = KILL_PROCESS,
};

FIXTURE_VARIANT_ADD(pinned, stop_tgkill_parked_thread) {
	.phase = GCMEM_PHASE_SCAN,
	.target = KILL_PARKED,
};

FIXTURE_VARIANT_ADD(pinned, stop_tgkill_driver) {
	.phase = GCMEM_PHASE_SCAN,
	.target = KILL_DRIVER,
};

/* In mark termination: the world stopped and marked, the driver checking. */
FIXTURE_VARIANT_ADD(pinned, checkmark_kill_process) {
	.phase = GCMEM_PHASE_MARKTERM,
	.target = KILL_PROCESS,
};

FIXTURE_VARIANT_ADD(pinned, checkmark_tgkill_parked_thread) {
	.phase = GCMEM_PHASE_MARKTERM,
	.target = KILL_PARKED,
};

FIXTURE_SETUP(pinned)
{
	int fd = gcmem_uffd_open();

	self->pid = 0;
	self->sh = mmap(NULL, sizeof(*self->sh), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->sh);
	if (fd < 0)
		SKIP(return, "userfaultfd for kernel faults: %s", strerror(-fd));
	close(fd);
	if (variant->phase == GCMEM_PHASE_MARKTERM && !debug_mode())
		SKIP(return, "the checkmark pass runs only with debug=1");
	self->refs = module_refs();
}

FIXTURE_TEARDOWN(pinned)
{
	kill_and_reap(self->pid);
	munmap(self->sh, sizeof(*self->sh));
}

TEST_F_TIMEOUT(pinned, killed, 120)
{
	struct kill_shared *sh = self->sh;
	int status, state, ret, reaped;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		child_pinned(sh, variant->phase);
	self->pid = pid;

	state = wait_child(pid, sh, &reaped);
	if (reaped)
		self->pid = 0;
	ASSERT_EQ(KS_READY, state) {
		if (state == KS_FAILED)
			TH_LOG("child, line %d: %s", sh->line, sh->why);
		else
			TH_LOG("the child %s in %d s",
			       reaped ? "ended" : "did not get there",
			       CHILD_WAIT_S);
	}
	/* The heap exists, in debugfs if there is one. */
	ASSERT_NE(0, heap_dirs(pid));

	switch (variant->target) {
	case KILL_PROCESS:
		ret = kill(pid, SIGKILL);
		break;
	case KILL_PARKED:
		ret = syscall(SYS_tgkill, pid, sh->parked[1], SIGKILL);
		break;
	default:
		ret = syscall(SYS_tgkill, pid, sh->driver, SIGKILL);
		break;
	}
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, reap(pid, &status, REAP_WAIT_S))
		TH_LOG("not gone %d s after SIGKILL", REAP_WAIT_S);
	self->pid = 0;
	ASSERT_TRUE(WIFSIGNALED(status)) {
		if (WIFEXITED(status) && sh->state == KS_FAILED)
			TH_LOG("child, line %d: %s", sh->line, sh->why);
	}
	EXPECT_EQ(SIGKILL, WTERMSIG(status));

	/* Nothing of the heap is left: no reference, no directory. */
	EXPECT_GE(0, heap_dirs(pid));
	EXPECT_EQ(self->refs, module_refs());
	EXPECT_EQ(0, fresh_heap_collects());
	EXPECT_EQ(self->refs, module_refs());
}

/*
 * The driver killed while it waits for a thread that does not stop: a
 * registered thread that spins without a poll. It is the spinner that
 * sends the SIGKILL (to the driver, by tgkill), once it sees the world
 * stopping, the other threads parked and the blocked one claimed: as long
 * as it runs user code the world cannot be stopped, so the driver is still
 * waiting. The kernel stops such a thread by force after 20 ms; if that
 * comes first the spinner is parked and the kill comes too late, after the
 * cycle — the gcmem_cycle_end tracepoint, whose ret is -EINTR only for a
 * cycle its driver was killed in, tells the two apart, and a late try is
 * made again.
 */
static void *spinner_fn(void *arg)
{
	struct child *c = arg;
	const struct gcmem_control *ctl;
	struct gcmem_thread_slot *slot;
	double deadline = now() + CHILD_WAIT_S;
	int seen_odd = 0, i, ok;
	__u32 id;

	slot = child_register(c, 0, 0, &id);
	c->slot[SLOT_SPINNER] = slot;
	ctl = c->h.ctl;
	__atomic_add_fetch(&c->registered, 1, __ATOMIC_RELEASE);
	for (;;) {
		if (!stop_wanted(ctl)) {
			/* Restarted after we saw it stop: we were parked. */
			if (seen_odd) {
				__atomic_store_n(&c->sh->state, KS_MISSED,
						 __ATOMIC_RELEASE);
				_exit(3);
			}
			if (now() > deadline)
				child_fail(c->sh, __LINE__, "no stop");
			continue;
		}
		if (!seen_odd)
			c->sh->stop_seen = now();
		seen_odd = 1;
		ok = status_of(c->slot[SLOT_BLOCKED]) ==
		     (GCMEM_THREAD_BLOCKED | GCMEM_THREAD_SCAN);
		for (i = 0; i < NPARKED; i++)
			ok &= status_of(c->slot[i]) == GCMEM_THREAD_PARKED;
		if (ok)
			break;
	}
	c->sh->kill_sent = now();
	__atomic_store_n(&c->sh->state, KS_READY, __ATOMIC_RELEASE);
	syscall(SYS_tgkill, getpid(), c->sh->driver, SIGKILL);
	/* SIGKILL is for the whole process: we never get here. */
	child_fail(c->sh, __LINE__, "alive after the SIGKILL");
}

/* The driver, with its own stack this time. */
static void *plain_driver_fn(void *arg)
{
	struct child *c = arg;
	struct gcmem_collect col = { .size = sizeof(col) };
	__u32 id;

	child_register(c, 0, 0, &id);
	c->sh->driver = gettid_();
	__atomic_add_fetch(&c->registered, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&c->go, __ATOMIC_ACQUIRE))
		usleep(1000);
	gcmem_ioctl(c->h.fd, GCMEM_IOC_COLLECT, &col);
	/* Killed late: the spinner was stopped first. Wait for the kill. */
	for (;;)
		pause();
	return NULL;
}

static void __attribute__((noreturn)) child_spinner(struct kill_shared *sh)
{
	static struct child c;
	struct role roles[NPARKED];
	double deadline = now() + CHILD_WAIT_S;
	__u64 stw = GCMEM_MODE_STW;

	c.sh = sh;
	c.pages = NULL;
	CHILD_CHECK(&c, !gcmem_raw_open(&c.h, GCMEM_CHUNK_SIZE));
	/*
	 * Stop-the-world: the first odd epoch of a concurrent cycle is a
	 * ragged scan's, which ends without a stop (the spinner would take
	 * it for a missed one), and its stop comes only at mark termination.
	 */
	CHILD_CHECK(&c, !gcmem_option(c.h.fd, GCMEM_OPTION_MODE,
				      GCMEM_OPTION_OP_SET, &stw));
	/* parked[0] needs page B: here a plain one, always present. */
	c.pages = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHILD_CHECK(&c, c.pages != MAP_FAILED);
	memset(c.pages, 0, 2 * PAGE);
	start_threads(&c, roles, plain_driver_fn, spinner_fn, deadline);
	for (;;)
		pause();
}

static const char *tracing_dir(void)
{
	static const char *const dirs[] = {
		"/sys/kernel/debug/tracing", "/sys/kernel/tracing",
	};
	char path[128];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path),
			 "%s/events/gcmem/gcmem_cycle_end/enable", dirs[i]);
		if (!access(path, W_OK))
			return dirs[i];
	}
	return NULL;
}

/* The ret of @pid's gcmem_cycle_end in the trace; 1 if there is none. */
static int cycle_end_ret(const char *dir, pid_t pid)
{
	static char buf[1 << 16];
	char path[128], want[64], *p;
	int ret;

	snprintf(path, sizeof(path), "%s/trace", dir);
	if (gcmem_read_file(path, buf, sizeof(buf)) < 0)
		return 1;
	snprintf(want, sizeof(want), "gcmem_cycle_end: tgid=%d ", pid);
	p = strstr(buf, want);
	if (!p || sscanf(p + strlen(want), "cycle=%*u ret=%d", &ret) != 1)
		return 1;
	return ret;
}

FIXTURE(spinner) {
	struct kill_shared *sh;
	const char *dir;
	pid_t pid;
	int refs;
};

FIXTURE_SETUP(spinner)
{
	char path[128];

	self->pid = 0;
	self->sh = mmap(NULL, sizeof(*self->sh), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->sh);
	self->dir = tracing_dir();
	if (!self->dir)
		SKIP(return, "no gcmem tracepoints in tracefs");
	/* No task-name recording: see gc_test's tracepoints_fire. */
	snprintf(path, sizeof(path), "%s/options/record-cmd", self->dir);
	gcmem_write_file(path, "0");
	snprintf(path, sizeof(path), "%s/events/gcmem/gcmem_cycle_end/enable",
		 self->dir);
	ASSERT_EQ(0, gcmem_write_file(path, "1"));
	self->refs = module_refs();
}

FIXTURE_TEARDOWN(spinner)
{
	char path[128];

	kill_and_reap(self->pid);
	snprintf(path, sizeof(path), "%s/events/gcmem/gcmem_cycle_end/enable",
		 self->dir);
	gcmem_write_file(path, "0");
	munmap(self->sh, sizeof(*self->sh));
}

TEST_F_TIMEOUT(spinner, driver_killed_waiting, 300)
{
	struct kill_shared *sh = self->sh;
	int status, state, ret = 1, tries;
	char path[128];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/trace", self->dir);
	for (tries = 0; tries < 10 && ret != -EINTR; tries++) {
		ASSERT_EQ(0, gcmem_write_file(path, ""));
		memset(sh, 0, sizeof(*sh));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			child_spinner(sh);
		self->pid = pid;
		ASSERT_EQ(0, reap(pid, &status, CHILD_WAIT_S + REAP_WAIT_S))
			TH_LOG("the child did not end (state %d)", sh->state);
		self->pid = 0;
		state = sh->state;
		if (state == KS_MISSED)
			continue;
		ASSERT_EQ(KS_READY, state) {
			if (state == KS_FAILED)
				TH_LOG("child, line %d: %s", sh->line, sh->why);
		}
		ASSERT_TRUE(WIFSIGNALED(status));
		ASSERT_EQ(SIGKILL, WTERMSIG(status));
		EXPECT_GE(0, heap_dirs(pid));
		EXPECT_EQ(self->refs, module_refs());
		ret = cycle_end_ret(self->dir, pid);
		/* -EINTR: killed in the cycle; 0: it ended before the kill. */
		ASSERT_TRUE(ret == -EINTR || ret == 0)
			TH_LOG("gcmem_cycle_end ret %d", ret);
	}
	ASSERT_EQ(-EINTR, ret)
		TH_LOG("the forced stop came first in all %d tries", tries);
	TH_LOG("try %d: the kill landed in the stop, %.1f ms into it", tries,
	       (sh->kill_sent - sh->stop_seen) * 1e3);
	EXPECT_EQ(0, fresh_heap_collects());
	EXPECT_EQ(self->refs, module_refs());
}

/*
 * The end of a process whose concurrent cycle the kernel's driver runs:
 * the child starts the cycles by allocating (the pacer's, in concurrent
 * mode), and a thread of its own that is not registered, and so never
 * stopped, watches the control page and, in the chosen phase, kills the
 * process or makes it exit. The driver, a kernel worker, goes on with a
 * process that is gone: it holds the address space until the cycle ends,
 * and then the heap goes as after any other exit: within a mark, no
 * directory left, no module reference; a new heap collects.
 */
enum { END_KILL, END_EXIT };

struct ender {
	const volatile struct gcmem_control *ctl;
	__u32 phase;
	int how;
};

static void *ender_fn(void *arg)
{
	struct ender *e = arg;
	double deadline = now() + CHILD_WAIT_S;

	while (e->ctl->phase != e->phase) {
		if (now() > deadline)
			_exit(20);
	}
	if (e->how == END_KILL)
		kill(getpid(), SIGKILL);
	/* exit_group() beside the allocating thread. */
	_exit(0);
}

static struct lnode {
	struct lnode *next;
} *volatile live;

static void __attribute__((noreturn)) child_ender(__u32 phase, int how)
{
	static struct ender e;
	pthread_t th;

	if (gcu_init() || gcu_set_mode(GCU_MODE_CONCURRENT) ||
	    gcu_set_concurrent_min(0))
		_exit(10);
	/* 4 MiB live: the mark takes a while, the phases are seen. */
	for (int i = 0; i < 1 << 18; i++) {
		struct lnode *n = gcu_malloc(sizeof(*n));

		if (!n)
			_exit(11);
		n->next = live;
		live = n;
	}
	e = (struct ender){ .ctl = gcu_heap()->control, .phase = phase,
			    .how = how };
	if (pthread_create(&th, NULL, ender_fn, &e))
		_exit(12);
	/* Garbage: the pacer's cycles, one after the other. */
	for (;;)
		make_garbage(1000);
}

FIXTURE(ended) {
	pid_t pid;
	int refs;
};

FIXTURE_VARIANT(ended) {
	__u32 phase;
	int how;
};

FIXTURE_VARIANT_ADD(ended, mark_kill) {
	.phase = GCMEM_PHASE_MARK, .how = END_KILL,
};

FIXTURE_VARIANT_ADD(ended, mark_exit) {
	.phase = GCMEM_PHASE_MARK, .how = END_EXIT,
};

FIXTURE_VARIANT_ADD(ended, markterm_kill) {
	.phase = GCMEM_PHASE_MARKTERM, .how = END_KILL,
};

FIXTURE_VARIANT_ADD(ended, markterm_exit) {
	.phase = GCMEM_PHASE_MARKTERM, .how = END_EXIT,
};

FIXTURE_VARIANT_ADD(ended, sweep_kill) {
	.phase = GCMEM_PHASE_SWEEP, .how = END_KILL,
};

FIXTURE_SETUP(ended)
{
	self->pid = 0;
	self->refs = module_refs();
}

FIXTURE_TEARDOWN(ended)
{
	kill_and_reap(self->pid);
}

TEST_F_TIMEOUT(ended, concurrent_cycle_outlives_process, 120)
{
	double deadline;
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		child_ender(variant->phase, variant->how);
	self->pid = pid;
	ASSERT_EQ(0, reap(pid, &status, CHILD_WAIT_S + REAP_WAIT_S));
	self->pid = 0;
	if (variant->how == END_KILL) {
		ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			TH_LOG("status %#x", status);
	} else {
		ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
			TH_LOG("status %#x", status);
	}
	/* The driver's cycle, if one still runs, ends; then the heap goes. */
	deadline = now() + REAP_WAIT_S;
	while ((heap_dirs(pid) > 0 || module_refs() != self->refs) &&
	       now() < deadline)
		usleep(10000);
	EXPECT_GE(0, heap_dirs(pid));
	EXPECT_EQ(self->refs, module_refs());
	EXPECT_EQ(0, fresh_heap_collects());
	EXPECT_EQ(self->refs, module_refs());
}

TEST_HARNESS_MAIN
