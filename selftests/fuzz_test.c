// SPDX-License-Identifier: GPL-2.0
/*
 * A structured, seeded fuzzer of /dev/gcmem: ioctls, mappings and process
 * events in random order, many threads at once, to show that nothing a
 * process does to its heap hurts the kernel or another process.
 *
 * Each round is a child process with FUZZ_THREADS threads, and FUZZ_PROCS
 * rounds run at once (their heaps share the mark workers). Every thread
 * draws operations from its own generator, seeded from the round's seed:
 *  - an ioctl: a gcmem command (or a number next to one) whose argument is
 *    built field by field from the command's layout — mostly plausible
 *    values (a registered thread, a real type, a size class, a pointer to
 *    a buffer, the stack, the arena), otherwise boundary values (0, ~0,
 *    2^31, the arena's end, a kernel address, ...), flags and reserved
 *    bits set, the size from 0 to past the structure — and whose pointer
 *    is a buffer, NULL, unmapped, misaligned, the arena, the control page,
 *    a thread slot, the end of a mapping or a kernel address;
 *  - an mmap of the heap's file at a random offset, length, protection and
 *    sharing, or an munmap, mremap, mprotect or madvise of a random part
 *    of a mapping; a read or write of a mapped byte (SIGSEGV and SIGBUS
 *    are caught);
 *  - a thread registering and exiting still registered, a fork whose
 *    child tries the inherited heap, the heap's fd passed over a socket to
 *    another process, a second heap opened and closed.
 * The parent kills one round in five with SIGKILL at a random moment,
 * mid-call.
 * Only gcmem's documented errnos may come back from its ioctls; any other
 * counts as a failure, with the operation and the round's seed printed.
 * Kernel reports (KASAN, lockdep, WARN, BUG, leaks) fail the boot as a
 * whole. At the end a well-behaved heap in a new process must still work.
 *
 * Environment: GCMEM_FUZZ_CALLS (system calls in all, default 200000),
 * GCMEM_FUZZ_SEED (the master seed, default from the clock). A failing
 * round prints "seed S round R": rerun with GCMEM_FUZZ_SEED=S to replay
 * the same rounds (thread interleavings differ from run to run).
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>

#include "kselftest_harness.h"
#include "gcmem_util.h"
#include "gcuser.h"

#define FUZZ_THREADS		4
#define FUZZ_PROCS		2	/* rounds at once, each its own heap */
#define FUZZ_ROUND_CALLS	20000	/* per round, all threads */
#define FUZZ_ARENA_MAX		(64 * MiB)
#define FUZZ_MAPS		16
#define KERNEL_ADDR		0xffff888000000000ULL
#define MIN(a, b)		((a) < (b) ? (a) : (b))
#define MAX(a, b)		((a) > (b) ? (a) : (b))

/* --- the generator --------------------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
	/* splitmix64: any seed, including 0, gives a good stream. */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned int below(uint64_t *s, unsigned int n)
{
	return rnd(s) % n;
}

static int chance(uint64_t *s, unsigned int pct)
{
	return below(s, 100) < pct;
}

/* --- what a round shares between its threads -------------------------- */

struct fuzz_map {
	void *addr;
	size_t len;
};

struct fuzz_round {
	int fd;				/* the heap, or -1 */
	pthread_mutex_t lock;		/* protects the arrays below */
	struct fuzz_map maps[FUZZ_MAPS];
	__u32 threads[64];		/* ids seen from THREAD_REGISTER */
	unsigned int nthreads;
	__u32 types[32];
	unsigned int ntypes;
	uint64_t arena;			/* start, 0 if not mapped */
	uint64_t arena_len;
	const struct gcmem_control *ctl;
	volatile uint64_t *calls;	/* shared with the parent */
	volatile uint64_t *bad;
	uint64_t seed;
	int round;
};

static struct fuzz_round R;
static __thread sigjmp_buf *fuzz_jmp;

/*
 * Each thread's scratch memory, what the kernel is given to read and write
 * through the pointers in ioctl arguments: SCRATCH bytes followed by an
 * inaccessible page, so that a length the kernel believes ends in a fault,
 * never in the fuzzer's own stack or data.
 */
#define SCRATCH		(2 * 4096)
static __thread uint64_t *scratch;
/* This thread's id if it registered itself, else ~0. */
static __thread __u32 my_id = ~0U;

static int scratch_init(void)
{
	char *p = mmap(NULL, SCRATCH + 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p + SCRATCH, 4096, PROT_NONE))
		return -1;
	scratch = (uint64_t *)p;
	return 0;
}

static void fuzz_fault(int sig, siginfo_t *si, void *uc)
{
	char msg[128];
	int n, fd;

	if (fuzz_jmp)
		siglongjmp(*fuzz_jmp, sig);
	n = snprintf(msg, sizeof(msg),
		     "# fuzz: signal %d at %p, ip %#llx, scratch %p; maps:\n",
		     sig, si->si_addr, (unsigned long long)
		     ((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP], scratch);
	write(2, msg, n);
	/* The fuzzer's own bug, most likely: show its address space. */
	fd = open("/proc/self/maps", O_RDONLY);
	while (fd >= 0 && (n = read(fd, msg, sizeof(msg))) > 0)
		write(2, msg, n);

	_exit(100 + sig);
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ULL + t.tv_nsec;
}

/*
 * shared[]: calls, unexpected errors, then the per-step and per-command
 * times, then the collections of the rounds that ended normally.
 */
#define KIND_STATS	2
#define CMD_NS		32
#define GC_STATS	64	/* cycles, pause, mark workers, stop, mark, sweep */
#define CMD_CPU		80	/* the calling thread's CPU time, per command */
#define KIND_CPU	112	/* and per kind of step */

/* The guest's MemAvailable, to see memory kept by the rounds' heaps. */
static long mem_available_mib(void)
{
	char line[128];
	long kib = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib < 0 ? -1 : kib / 1024;
}

/* The calling thread's CPU time, user and system. */
static uint64_t cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec * 1000000000ULL + t.tv_nsec;
}

static void count(void)
{
	__atomic_add_fetch(R.calls, 1, __ATOMIC_RELAXED);
}

/* An errno gcmem may return (uapi/linux/gcmem.h, "Errors"). */
static int gcmem_errno_ok(int e)
{
	switch (e) {
	case 0: case ENOTTY: case EFAULT: case EINVAL: case E2BIG: case EPERM:
	case EBUSY: case ENOMEM: case ENOENT: case ENOSPC: case EBADF:
	case EEXIST: case EAGAIN: case EINTR:
		return 1;
	}
	return 0;
}

static void bad(const char *what, long long a, int e)
{
	__atomic_add_fetch(R.bad, 1, __ATOMIC_RELAXED);
	fprintf(stderr, "# fuzz: seed %llu round %d: %s (%#llx): unexpected %s\n",
		(unsigned long long)R.seed, R.round, what, a, strerror(e));
}

/* --- values ------------------------------------------------------------ */

static uint64_t pick_map_addr(uint64_t *s, size_t *len)
{
	struct fuzz_map *m;
	uint64_t a = 0;

	pthread_mutex_lock(&R.lock);
	m = &R.maps[below(s, FUZZ_MAPS)];
	if (m->addr) {
		a = (uintptr_t)m->addr;
		*len = m->len;
	}
	pthread_mutex_unlock(&R.lock);
	return a;
}

/* A pointer-sized value: valid memory of many kinds, or not. */
static uint64_t pick_ptr(uint64_t *s)
{
	uint64_t a, base = (uintptr_t)scratch;
	size_t len = 0;

	switch (below(s, 12)) {
	case 0: case 1: case 2:
		return base + (below(s, SCRATCH / 2) & ~7UL);
	case 3:
		return base + 1 + below(s, 7);		/* misaligned */
	case 4:
		return 0;
	case 5:
		return KERNEL_ADDR + (rnd(s) & 0xffffff);
	case 6:
		return 0x10000 + (rnd(s) & 0xfff000);	/* unmapped */
	case 7:
		return R.arena ? R.arena + (rnd(s) % R.arena_len) : 0;
	case 8:
		return (uintptr_t)R.ctl;
	case 9:
		/*
		 * A mapping of the device (the arena, the control page, a
		 * thread slot): at its start, or in its last bytes, where a
		 * struct would straddle its end.
		 */
		a = pick_map_addr(s, &len);
		if (!a || chance(s, 50))
			return a;
		return a + len - 1 - below(s, 64);
	case 10:
		return base + SCRATCH - 1 - below(s, 64);
	default:
		return rnd(s);
	}
}

static uint64_t boundary(uint64_t *s)
{
	static const uint64_t v[] = {
		0, 1, 2, 3, 7, 8, 63, 64, 255, 256, 4095, 4096, 8191, 8192,
		0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL,
		(2 << 20) - 1, 2 << 20, FUZZ_ARENA_MAX, 64ULL << 30,
		(64ULL << 30) + 1, ~0ULL >> 1, ~0ULL, ~0ULL - 7,
	};

	return chance(s, 80) ? v[below(s, sizeof(v) / sizeof(v[0]))] : rnd(s);
}

static __u32 pick_thread(uint64_t *s)
{
	__u32 id = boundary(s);

	pthread_mutex_lock(&R.lock);
	if (R.nthreads && chance(s, 80))
		id = R.threads[below(s, R.nthreads)];
	pthread_mutex_unlock(&R.lock);
	return id;
}

static __u32 pick_type(uint64_t *s)
{
	__u32 id;

	if (chance(s, 40))
		return below(s, 2) ? GCMEM_TYPE_CONSERVATIVE : GCMEM_TYPE_NOSCAN;
	id = boundary(s);
	pthread_mutex_lock(&R.lock);
	if (R.ntypes && chance(s, 70))
		id = R.types[below(s, R.ntypes)];
	pthread_mutex_unlock(&R.lock);
	return id;
}

/* --- ioctl arguments, field by field ---------------------------------- */

enum fk {
	F_END, F_SIZE, F_FLAGS, F_RSVD, F_OUT32, F_OUT64, F_THREAD, F_TYPE,
	F_CLASS, F_CACHE, F_PTR, F_LEN, F_STACK, F_EVENTFD, F_U32, F_U64,
	F_VERSION, F_OPTION, F_OP16, F_BYTES,
};

struct field {
	unsigned short off, width;
	enum fk kind;
};

#define FLD(st, m, k)	{ offsetof(struct st, m), sizeof(((struct st *)0)->m), k }

static const struct fuzz_cmd {
	const char *name;
	unsigned long cmd;
	unsigned int size;
	struct field f[16];
} cmds[] = {
	{ "handshake", GCMEM_IOC_HANDSHAKE, sizeof(struct gcmem_handshake), {
		FLD(gcmem_handshake, flags, F_FLAGS),
		FLD(gcmem_handshake, api_version, F_VERSION),
		FLD(gcmem_handshake, __reserved, F_RSVD),
		FLD(gcmem_handshake, features, F_FLAGS),
		FLD(gcmem_handshake, __reserved2, F_RSVD), } },
	{ "option", GCMEM_IOC_OPTION, sizeof(struct gcmem_option), {
		FLD(gcmem_option, option_id, F_OPTION),
		FLD(gcmem_option, op, F_OP16),
		FLD(gcmem_option, __reserved, F_RSVD),
		FLD(gcmem_option, __reserved2, F_RSVD),
		FLD(gcmem_option, val64, F_LEN), } },
	{ "stats", GCMEM_IOC_STATS, sizeof(struct gcmem_stats), {
		FLD(gcmem_stats, flags, F_FLAGS),
		FLD(gcmem_stats, committed, F_OUT64), } },
	{ "type_register", GCMEM_IOC_TYPE_REGISTER,
	  sizeof(struct gcmem_type_register), {
		FLD(gcmem_type_register, flags, F_FLAGS),
		FLD(gcmem_type_register, type_size, F_LEN),
		FLD(gcmem_type_register, type_id, F_OUT32),
		FLD(gcmem_type_register, ptrmask, F_PTR), } },
	{ "thread_register", GCMEM_IOC_THREAD_REGISTER,
	  sizeof(struct gcmem_thread_register), {
		FLD(gcmem_thread_register, flags, F_FLAGS),
		FLD(gcmem_thread_register, stack_lo, F_STACK),
		FLD(gcmem_thread_register, eventfd, F_EVENTFD),
		FLD(gcmem_thread_register, thread_id, F_OUT32),
		FLD(gcmem_thread_register, slot_offset, F_OUT64), } },
	{ "thread_unregister", GCMEM_IOC_THREAD_UNREGISTER,
	  sizeof(struct gcmem_thread_unregister), {
		FLD(gcmem_thread_unregister, flags, F_FLAGS),
		FLD(gcmem_thread_unregister, thread_id, F_THREAD),
		FLD(gcmem_thread_unregister, __reserved, F_RSVD), } },
	{ "refill", GCMEM_IOC_REFILL, sizeof(struct gcmem_refill), {
		FLD(gcmem_refill, flags, F_FLAGS),
		FLD(gcmem_refill, thread_id, F_THREAD),
		FLD(gcmem_refill, cache_index, F_CACHE),
		FLD(gcmem_refill, size_class, F_CLASS),
		FLD(gcmem_refill, type_id, F_TYPE),
		FLD(gcmem_refill, bitmap_words, F_U32),
		FLD(gcmem_refill, __reserved, F_RSVD),
		FLD(gcmem_refill, alloc_bitmap, F_PTR),
		FLD(gcmem_refill, span_base, F_OUT64),
		FLD(gcmem_refill, __reserved2, F_RSVD), } },
	{ "alloc_large", GCMEM_IOC_ALLOC_LARGE, sizeof(struct gcmem_alloc_large), {
		FLD(gcmem_alloc_large, flags, F_FLAGS),
		FLD(gcmem_alloc_large, type_id, F_TYPE),
		FLD(gcmem_alloc_large, __reserved, F_RSVD),
		FLD(gcmem_alloc_large, bytes, F_BYTES),
		FLD(gcmem_alloc_large, addr, F_OUT64), } },
	{ "root_add", GCMEM_IOC_ROOT_ADD, sizeof(struct gcmem_root), {
		FLD(gcmem_root, flags, F_FLAGS),
		FLD(gcmem_root, type_id, F_TYPE),
		FLD(gcmem_root, __reserved, F_RSVD),
		FLD(gcmem_root, start, F_PTR),
		FLD(gcmem_root, len, F_LEN), } },
	{ "root_remove", GCMEM_IOC_ROOT_REMOVE, sizeof(struct gcmem_root), {
		FLD(gcmem_root, flags, F_FLAGS),
		FLD(gcmem_root, type_id, F_TYPE),
		FLD(gcmem_root, __reserved, F_RSVD),
		FLD(gcmem_root, start, F_PTR),
		FLD(gcmem_root, len, F_LEN), } },
	{ "query", GCMEM_IOC_QUERY, sizeof(struct gcmem_query), {
		FLD(gcmem_query, flags, F_FLAGS),
		FLD(gcmem_query, addr, F_PTR),
		FLD(gcmem_query, result, F_OUT32),
		FLD(gcmem_query, ptrmask_words, F_U32),
		FLD(gcmem_query, ptrmask, F_PTR), } },
	{ "collect", GCMEM_IOC_COLLECT, sizeof(struct gcmem_collect), {
		FLD(gcmem_collect, flags, F_FLAGS),
		FLD(gcmem_collect, cycle, F_OUT64), } },
	{ "safepoint", GCMEM_IOC_SAFEPOINT, sizeof(struct gcmem_thread_op), {
		FLD(gcmem_thread_op, flags, F_FLAGS),
		FLD(gcmem_thread_op, thread_id, F_THREAD),
		FLD(gcmem_thread_op, __reserved, F_RSVD), } },
	{ "blocking_leave", GCMEM_IOC_BLOCKING_LEAVE,
	  sizeof(struct gcmem_thread_op), {
		FLD(gcmem_thread_op, flags, F_FLAGS),
		FLD(gcmem_thread_op, thread_id, F_THREAD),
		FLD(gcmem_thread_op, __reserved, F_RSVD), } },
	{ "free", GCMEM_IOC_FREE, sizeof(struct gcmem_free), {
		FLD(gcmem_free, flags, F_FLAGS),
		FLD(gcmem_free, addr, F_PTR), } },
	{ "fork", GCMEM_IOC_FORK, sizeof(struct gcmem_fork), {
		FLD(gcmem_fork, flags, F_FLAGS), } },
	{ "adopt", GCMEM_IOC_ADOPT, sizeof(struct gcmem_adopt), {
		FLD(gcmem_adopt, flags, F_FLAGS), } },
	{ "finalizer", GCMEM_IOC_FINALIZER, sizeof(struct gcmem_finalizer), {
		FLD(gcmem_finalizer, flags, F_FLAGS),
		FLD(gcmem_finalizer, addr, F_PTR), } },
	{ "finalize", GCMEM_IOC_FINALIZE, sizeof(struct gcmem_finalize), {
		FLD(gcmem_finalize, flags, F_FLAGS),
		FLD(gcmem_finalize, buf, F_PTR),
		FLD(gcmem_finalize, count, F_U32),
		FLD(gcmem_finalize, __reserved, F_RSVD),
		FLD(gcmem_finalize, remaining, F_OUT64), } },
	/* The kernel writes 0 at a link when its object dies: scratch, mostly. */
	{ "weak", GCMEM_IOC_WEAK, sizeof(struct gcmem_weak), {
		FLD(gcmem_weak, flags, F_FLAGS),
		FLD(gcmem_weak, link, F_PTR),
		FLD(gcmem_weak, addr, F_PTR), } },
};

#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))
_Static_assert(NCMDS <= GC_STATS - CMD_NS, "per-command times overlap");

/*
 * A collection stops every registered thread and re-marks the heap in
 * debug mode, a large object may take a fresh chunk (2 MiB zeroed) and
 * trigger a collection, and a fork copies the heap, all under the heap's
 * lock that most other ioctls wait for: a hundred times the cost of the
 * others. They are drawn less often, so that a run's calls are not mostly
 * waits for them.
 */
static const struct fuzz_cmd *pick_cmd(uint64_t *s)
{
	const struct fuzz_cmd *c = &cmds[below(s, NCMDS)];

	while ((c->cmd == GCMEM_IOC_COLLECT && !chance(s, 1)) ||
	       (c->cmd == GCMEM_IOC_ALLOC_LARGE && !chance(s, 10)) ||
	       (c->cmd == GCMEM_IOC_FORK && !chance(s, 1)))
		c = &cmds[below(s, NCMDS)];
	return c;
}

static void put(void *buf, const struct field *f, uint64_t v)
{
	memcpy((char *)buf + f->off, &v, f->width);	/* little endian */
}

static uint64_t field_value(uint64_t *s, const struct field *f)
{
	int sane = chance(s, 85);
	__u64 lo, hi;

	switch (f->kind) {
	case F_FLAGS:
	case F_RSVD:
		return sane ? 0 : (chance(s, 50) ? 1ULL << below(s, 64) : rnd(s));
	case F_OUT32:
	case F_OUT64:
		return rnd(s);
	case F_THREAD:
		return pick_thread(s);
	case F_TYPE:
		return pick_type(s);
	case F_CLASS:
		return sane && R.ctl ? 1 + below(s, R.ctl->nclasses) : boundary(s);
	case F_CACHE:
		return sane ? below(s, 8) : boundary(s);
	case F_PTR:
		return pick_ptr(s);
	case F_LEN:
		return sane ? 1 + below(s, chance(s, 80) ? 4096 : 8 << 20) :
			      boundary(s);
	case F_BYTES:
		/*
		 * Large objects zero their memory under the heap's lock:
		 * mostly small ones, or the other threads mostly wait.
		 */
		if (!sane)
			return boundary(s);
		return 1 + below(s, chance(s, 95) ? 64 << 10 : 4 << 20);
	case F_STACK:
		if (gcmem_self_stack(&lo, &hi) || !sane)
			return boundary(s);
		return lo;
	case F_EVENTFD:
		return sane ? -1 : boundary(s);
	case F_VERSION:
		return sane ? GCMEM_API_VERSION : boundary(s);
	case F_OPTION:
		return sane ? 1 + below(s, 2) : boundary(s);
	case F_OP16:
		return sane ? below(s, 3) : boundary(s);
	case F_U32:
	case F_U64:
	default:
		return sane ? below(s, 64) : boundary(s);
	}
}

/* The argument size the caller claims: mostly right, sometimes not. */
static __u32 pick_size(uint64_t *s, unsigned int size)
{
	switch (below(s, 10)) {
	case 0:
		return below(s, size);
	case 1:
		return size + 8 * (1 + below(s, 8));
	case 2:
		return boundary(s);
	default:
		return size;
	}
}

static void fuzz_ioctl(uint64_t *s)
{
	/*
	 * Room for the struct, a tail past it (pick_size(): up to 64 bytes;
	 * the non-zero word below: up to 4 words), and the pointed-to data.
	 * The largest struct, gcmem_stats, grows with the uapi: it reached
	 * 496 bytes when this was 64 words, and the tail's word landed on
	 * the stack past the buffer.
	 */
	union {
		uint64_t w[128];
		struct gcmem_thread_register tr;
		struct gcmem_type_register ty;
	} u;
	uint64_t *buf = u.w;
	const struct fuzz_cmd *c = pick_cmd(s);
	unsigned long cmd = c->cmd;
	void *arg = buf;
	__u64 lo, hi;
	uint64_t t0, c0;
	int ret, e;

	memset(&u, 0, sizeof(u));
	/* Some fresh words where the pointers most likely go. */
	for (size_t i = 0, o = below(s, SCRATCH / 16); i < 32; i++)
		scratch[o + i] = chance(s, 50) ? 0 : rnd(s);
	for (const struct field *f = c->f; f->kind != F_END; f++)
		put(buf, f, field_value(s, f));
	if (c->cmd == GCMEM_IOC_THREAD_REGISTER && !gcmem_self_stack(&lo, &hi) &&
	    chance(s, 85)) {
		buf[2] = hi;
		if (chance(s, 50)) {
			int efd = eventfd(0, EFD_CLOEXEC);

			u.tr.eventfd = efd;
		}
	}
	if (chance(s, 10)) {
		/* A non-zero tail past the struct: E2BIG if the size says so. */
		size_t i = c->size / 8 + below(s, 4);

		if (i < sizeof(u.w) / sizeof(u.w[0]))
			buf[i] = rnd(s);
		else
			bad("fuzz buffer too small for", c->cmd, 0);
	}
	buf[0] = (buf[0] & ~0xffffffffULL) | pick_size(s, c->size);

	switch (below(s, 20)) {
	case 0:
		arg = NULL;
		break;
	case 1:
		arg = (void *)(uintptr_t)pick_ptr(s);
		break;
	case 2:
		/* A number next to gcmem's. */
		cmd = _IO(GCMEM_TYPE, (_IOC_NR(cmd) + below(s, 40) - 20) & 0xff);
		break;
	case 3:
		cmd = _IOWR(GCMEM_TYPE, _IOC_NR(cmd), struct gcmem_query);
		break;
	}
	t0 = now_ns();
	c0 = cpu_ns();
	ret = ioctl(R.fd, cmd, arg);
	e = ret < 0 ? errno : 0;
	__atomic_add_fetch(&R.calls[CMD_CPU + (c - cmds)], cpu_ns() - c0,
			   __ATOMIC_RELAXED);
	__atomic_add_fetch(&R.calls[CMD_NS + (c - cmds)], now_ns() - t0,
			   __ATOMIC_RELAXED);
	count();
	if (!gcmem_errno_ok(e))
		bad(c->name, cmd, e);
	if (ret > 0 && cmd != GCMEM_IOC_WEAK) {
		/* FORK's copy: adopted by this process sometimes, then gone. */
		struct gcmem_adopt a = { .size = sizeof(a) };

		if (chance(s, 30) && ioctl(ret, GCMEM_IOC_ADOPT, &a) &&
		    !gcmem_errno_ok(errno))
			bad("adopt", GCMEM_IOC_ADOPT, errno);
		close(ret);
		return;
	}
	if (ret || cmd != c->cmd || arg != buf)
		return;
	pthread_mutex_lock(&R.lock);
	if (c->cmd == GCMEM_IOC_THREAD_REGISTER)
		my_id = u.tr.thread_id;
	if (c->cmd == GCMEM_IOC_THREAD_REGISTER && R.nthreads < 64)
		R.threads[R.nthreads++] = u.tr.thread_id;
	if (c->cmd == GCMEM_IOC_TYPE_REGISTER && R.ntypes < 32)
		R.types[R.ntypes++] = u.ty.type_id;
	pthread_mutex_unlock(&R.lock);
}

/* --- mappings ---------------------------------------------------------- */

static void remember_map(void *p, size_t len)
{
	pthread_mutex_lock(&R.lock);
	for (int i = 0; i < FUZZ_MAPS; i++) {
		if (!R.maps[i].addr) {
			R.maps[i].addr = p;
			R.maps[i].len = len;
			p = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&R.lock);
	if (p)
		munmap(p, len);
}

static void fuzz_mmap(uint64_t *s)
{
	static const uint64_t offs[] = {
		GCMEM_MMAP_CONTROL, GCMEM_MMAP_THREADS, GCMEM_MMAP_ARENA,
	};
	uint64_t off = offs[below(s, 3)];
	size_t len;
	int prot = PROT_READ, flags = MAP_SHARED;
	void *p;

	if (off == GCMEM_MMAP_THREADS)
		off += (uint64_t)below(s, 8) * GCMEM_THREAD_SLOT_SIZE;
	if (chance(s, 15))
		off = chance(s, 50) ? rnd(s) & ~0xfffULL : boundary(s) & ~0xfffULL;
	len = off == GCMEM_MMAP_ARENA ? (1 + below(s, 32)) << 21 :
	      (1 + below(s, 3)) * 4096;
	if (chance(s, 10))
		len = boundary(s);
	if (chance(s, 70))
		prot |= PROT_WRITE;
	if (chance(s, 5))
		prot |= PROT_EXEC;
	if (chance(s, 10))
		flags = MAP_PRIVATE;
	p = mmap(NULL, len, prot, flags, R.fd, off);
	count();

	if (p == MAP_FAILED)
		return;
	if (off == GCMEM_MMAP_ARENA && !R.arena) {
		R.arena_len = len;
		R.arena = (uintptr_t)p;
	}
	remember_map(p, len);
}

/*
 * munmap, mremap, mprotect or madvise of part of a mapping, or a touch of
 * one of its bytes. The first four run under R.lock and stay within the
 * mapping, so that the table of mappings stays true and no thread's stack
 * or scratch memory is ever hit.
 */
static void fuzz_vm(uint64_t *s)
{
	static const int advice[] = {
		MADV_DONTNEED, MADV_NORMAL, MADV_RANDOM, MADV_WILLNEED,
		MADV_DONTFORK, MADV_DOFORK, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
		MADV_FREE, MADV_REMOVE, MADV_COLD, MADV_PAGEOUT,
		MADV_WIPEONFORK, MADV_POPULATE_READ, MADV_POPULATE_WRITE,
	};
	struct fuzz_map *m = &R.maps[below(s, FUZZ_MAPS)];
	unsigned int op = below(s, 5);
	size_t off, len, nlen;
	char *a;
	void *p;

	if (op == 4) {
		/* Touch a byte: a write, or a read. Faults are caught. */
		sigjmp_buf jb;
		volatile char *b;

		pthread_mutex_lock(&R.lock);
		b = m->addr ? (char *)m->addr + (rnd(s) % m->len) : NULL;
		pthread_mutex_unlock(&R.lock);
		if (b && !sigsetjmp(jb, 1)) {
			fuzz_jmp = &jb;
			if (chance(s, 30))
				*b = (char)rnd(s);
			else
				(void)*b;
		}
		fuzz_jmp = NULL;
		count();
		return;
	}

	pthread_mutex_lock(&R.lock);
	if (!m->addr)
		goto out;
	a = m->addr;
	off = (rnd(s) % m->len) & ~0xfffUL;
	/* (MIN() evaluates its arguments twice: draw first.) */
	len = (1 + below(s, 4)) * 4096UL;
	len = chance(s, 50) ? m->len - off : MIN(m->len - off, len);
	switch (op) {
	case 0:
		/*
		 * A part of the arena, which must not split (a part of another
		 * mapping would free memory that other threads may map at
		 * once, out of the table's sight); else all of it.
		 */
		if ((uintptr_t)a == R.arena && (off || len != m->len) &&
		    chance(s, 50)) {
			if (!munmap(a + off, len))
				bad("arena split by munmap", (uintptr_t)a + off, 0);
			break;
		}
		munmap(a, m->len);
		if ((uintptr_t)a == R.arena)
			R.arena = 0;
		m->addr = NULL;
		break;
	case 1:
		/* All of it, moved or not, larger or smaller. */
		nlen = chance(s, 50) ? m->len * (1 + below(s, 2)) :
		       MAX(4096UL, m->len / 2);
		p = mremap(a, m->len, nlen, chance(s, 50) ? MREMAP_MAYMOVE : 0);
		if (p != MAP_FAILED) {

			if ((uintptr_t)a == R.arena)
				R.arena = 0;
			m->addr = p;
			m->len = nlen;
		}
		break;
	case 2:
		mprotect(a + off, len,
			 (int)(rnd(s) & (PROT_READ | PROT_WRITE | PROT_EXEC)));
		break;
	case 3:
		madvise(a + off, len,
			advice[below(s, sizeof(advice) / sizeof(advice[0]))]);
		break;
	}
	count();
out:
	pthread_mutex_unlock(&R.lock);
}

/* --- processes ---------------------------------------------------------- */

/* A child of the round's process: the inherited heap is not its own. */
static void fuzz_fork(uint64_t *s)
{
	struct gcmem_collect c = { .size = sizeof(c) };
	pid_t pid = fork();

	count();
	if (pid == 0) {
		int ret = ioctl(R.fd, GCMEM_IOC_COLLECT, &c) ? errno : 0;
		void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, R.fd, 0);

		if (ret != EPERM || p != MAP_FAILED)
			fprintf(stderr, "# fuzz: fork child: ioctl %s, mmap %p\n",
				strerror(ret), p);
		_exit(ret == EPERM && p == MAP_FAILED ? 0 : 1);
	}
	if (pid > 0) {
		int st;

		if (chance(s, 20))
			kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		if (WIFEXITED(st) && WEXITSTATUS(st))
			bad("forked child used the parent's heap", 0, 0);
	}
}

/* The heap's fd over a socket: the other process gets EPERM. */
static void fuzz_pass_fd(uint64_t *s)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int sv[2], st;
	pid_t pid;

	(void)s;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return;
	pid = fork();
	if (pid == 0) {
		struct gcmem_stats stt = { .size = sizeof(stt) };
		int fd = -1;

		close(sv[0]);
		if (recvmsg(sv[1], &msg, 0) != 1)
			_exit(2);
		cm = CMSG_FIRSTHDR(&msg);
		if (cm)
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		if (fd < 0 || !ioctl(fd, GCMEM_IOC_STATS, &stt) || errno != EPERM) {
			fprintf(stderr, "# fuzz: fd %d: %s\n", fd, strerror(errno));
			_exit(1);
		}
		_exit(0);
	}
	close(sv[1]);
	if (pid > 0) {
		memset(cbuf, 0, sizeof(cbuf));
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &R.fd, sizeof(int));
		sendmsg(sv[0], &msg, 0);
		count();
		waitpid(pid, &st, 0);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 1)
			bad("passed fd worked in another process", 0, 0);
	}
	close(sv[0]);
}

/* A thread that registers, does a few calls, and exits registered. */
static void *fuzz_short_thread(void *arg)
{
	uint64_t s = (uintptr_t)arg;

	if (scratch_init())
		return NULL;
	for (int i = 0; i < 8; i++)
		fuzz_ioctl(&s);
	return NULL;
}

static void fuzz_thread_churn(uint64_t *s)
{
	pthread_t t;

	if (!pthread_create(&t, NULL, fuzz_short_thread,
			    (void *)(uintptr_t)rnd(s)))
		pthread_join(t, NULL);
}

/* Another heap, briefly: opening and closing while the first is busy. */
static void fuzz_second_heap(uint64_t *s)
{
	struct gcmem_raw_heap h;

	if (!gcmem_raw_open(&h, chance(s, 50) ? 4 * MiB : 0) && h.arena)
		h.arena[rnd(s) % h.arena_len] = 1;
	count();
	gcmem_raw_close(&h);
}

/* Time spent per kind of step, for the summary: where a run's time goes. */
enum { K_IOCTL, K_MMAP, K_VM, K_FORK, K_PASSFD, K_CHURN, K_HEAP2, K_N };
static const char *const kind_name[K_N] = {
	"ioctl", "mmap", "vm", "fork", "passfd", "threads", "heap2",
};


static void fuzz_step(uint64_t *s)
{
	unsigned int r = below(s, 10000), k;
	uint64_t t0 = now_ns(), c0 = cpu_ns();

	/*
	 * Processes and threads cost a thousand ioctls each (a fork 20 ms
	 * on the debug kernel): a few in ten thousand steps, dozens a round.
	 */
	if (r < 7500)
		fuzz_ioctl(s), k = K_IOCTL;
	else if (r < 8200)
		fuzz_mmap(s), k = K_MMAP;
	else if (r < 9990)
		fuzz_vm(s), k = K_VM;
	else if (r < 9993)
		fuzz_fork(s), k = K_FORK;
	else if (r < 9995)
		fuzz_pass_fd(s), k = K_PASSFD;
	else if (r < 9998)
		fuzz_thread_churn(s), k = K_CHURN;
	else
		fuzz_second_heap(s), k = K_HEAP2;
	__atomic_add_fetch(&R.calls[KIND_STATS + 2 * k], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&R.calls[KIND_STATS + 1 + 2 * k], now_ns() - t0,
			   __ATOMIC_RELAXED);
	__atomic_add_fetch(&R.calls[KIND_CPU + k], cpu_ns() - c0,
			   __ATOMIC_RELAXED);
}

struct fuzz_thread {
	uint64_t seed;
	uint64_t steps;
};

/*
 * A registered thread that never polls holds every collection for the
 * 20 ms until the kernel stops it by force: the fuzz threads poll between
 * steps, most of the time, as a program would, so that collections are
 * many and the calls are not mostly waits. (Forced stops still happen:
 * a thread in a long call, and the 1 in 8 steps that skip the poll.)
 */
static void fuzz_poll(uint64_t *s)
{
	struct gcmem_thread_op op = { .size = sizeof(op) };

	if (my_id == ~0U || !R.ctl || !(R.ctl->safepoint_epoch & 1) ||
	    chance(s, 12))
		return;
	op.thread_id = my_id;
	if (ioctl(R.fd, GCMEM_IOC_SAFEPOINT, &op) && errno == ENOENT)
		my_id = ~0U;
	count();
}

static void *fuzz_thread_fn(void *arg)
{
	struct fuzz_thread *t = arg;

	if (scratch_init())
		return NULL;
	for (uint64_t i = 0; i < t->steps; i++) {
		fuzz_step(&t->seed);
		fuzz_poll(&t->seed);
	}
	return NULL;
}

/* One round, in its own process: exit status 0 when it ran through. */
static void fuzz_round(uint64_t seed, int round, volatile uint64_t *shared)
{
	struct fuzz_thread th[FUZZ_THREADS];
	pthread_t tid[FUZZ_THREADS];
	struct sigaction sa = {
		.sa_sigaction = fuzz_fault,
		.sa_flags = SA_SIGINFO,
	};
	uint64_t s = seed;

	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	memset(&R, 0, sizeof(R));
	pthread_mutex_init(&R.lock, NULL);
	R.calls = &shared[0];
	R.bad = &shared[1];
	R.seed = seed;
	R.round = round;
	R.fd = gcmem_open();
	if (R.fd < 0)
		_exit(3);
	/* Most rounds get past the handshake and map the control page. */
	if (chance(&s, 90)) {
		struct gcmem_handshake hs;

		gcmem_handshake(R.fd, &hs);
		R.ctl = gcmem_map_control(R.fd);
		if (chance(&s, 80)) {
			void *a = gcmem_map_arena(R.fd, FUZZ_ARENA_MAX);

			if (a != MAP_FAILED) {
				R.arena = (uintptr_t)a;
				R.arena_len = FUZZ_ARENA_MAX;
				remember_map(a, FUZZ_ARENA_MAX);
			}
		}
	}
	for (int i = 0; i < FUZZ_THREADS; i++) {
		th[i].seed = rnd(&s);
		th[i].steps = FUZZ_ROUND_CALLS / FUZZ_THREADS;
		if (pthread_create(&tid[i], NULL, fuzz_thread_fn, &th[i]))
			_exit(4);
	}
	for (int i = 0; i < FUZZ_THREADS; i++)
		pthread_join(tid[i], NULL);
	if (R.ctl) {
		struct gcmem_stats st = { .size = sizeof(st) };

		if (!gcmem_stats(R.fd, &st)) {
			const __u64 v[] = {
				st.cycles, st.pause_total_ns, st.worker_ns,
				st.stop_total_ns, st.mark_total_ns,
				st.sweep_total_ns, st.abandoned,
				st.forced_stops,
			};

			for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
				__atomic_add_fetch(&shared[GC_STATS + i], v[i],
						   __ATOMIC_RELAXED);
		}
	}
	_exit(0);
}

/* The guest's CPU time so far, in seconds: user, system, idle. */
static void cpu_times(double t[3])
{
	unsigned long long v[5] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	long hz = sysconf(_SC_CLK_TCK);

	if (f) {
		if (fscanf(f, "cpu %llu %llu %llu %llu %llu", &v[0], &v[1],
			   &v[2], &v[3], &v[4]) != 5)
			memset(v, 0, sizeof(v));
		fclose(f);
	}
	t[0] = (double)(v[0] + v[1]) / hz;
	t[1] = (double)v[2] / hz;
	t[2] = (double)(v[3] + v[4]) / hz;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

/* A well-behaved heap in a fresh process: allocate, collect, check. */
static int well_behaved(void)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		volatile char *keep[64];

		if (gcu_init())
			_exit(2);
		for (int i = 0; i < 64; i++) {
			keep[i] = gcu_malloc(32 + i * 100);
			if (!keep[i])
				_exit(3);
			memset((char *)keep[i], i, 32 + i * 100);
		}
		for (int i = 0; i < 20000; i++)
			gcu_malloc(64);
		if (gcu_collect())
			_exit(4);
		for (int i = 0; i < 64; i++)
			for (int j = 0; j < 32 + i * 100; j++)
				if (keep[i][j] != i)
					_exit(5);
		gcu_shutdown();
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

FIXTURE(fuzz) {
	int dummy;
};

FIXTURE_SETUP(fuzz)
{
}

FIXTURE_TEARDOWN(fuzz)
{
}

TEST_F_TIMEOUT(fuzz, calls, 3000)
{
	uint64_t want = env_u64("GCMEM_FUZZ_CALLS", 200000);
	uint64_t seed = env_u64("GCMEM_FUZZ_SEED", (uint64_t)time(NULL));
	uint64_t master = seed, killed = 0, rounds = 0, reported = 0;
	long avail, min_avail = mem_available_mib(), polls = 0;
	struct {
		pid_t pid;
		int killed;
		uint64_t kill_at, round;
	} fly[FUZZ_PROCS];
	int nfly = 0;
	volatile uint64_t *shared;
	struct timespec t0, t;
	double cpu0[3], cpu[3];

	shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, shared);
	TH_LOG("seed %llu, %llu calls (GCMEM_FUZZ_SEED, GCMEM_FUZZ_CALLS)",
	       (unsigned long long)seed, (unsigned long long)want);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cpu_times(cpu0);
	memset(fly, 0, sizeof(fly));
	while (shared[0] < want || nfly) {
		int st, i;
		pid_t pid;

		/* Keep FUZZ_PROCS rounds in flight, each its own heap. */
		while (shared[0] < want && nfly < FUZZ_PROCS) {
			uint64_t rs = rnd(&master), ks = rs;

			for (i = 0; fly[i].pid; i++)
				;
			fly[i].kill_at = 0;
			/* One in five dies somewhere in the middle. */
			if (chance(&ks, 20))
				fly[i].kill_at = now_ns() +
					1000000ULL * (1 + below(&ks, 200));
			fly[i].round = rounds++;
			pid = fork();
			ASSERT_LE(0, pid);
			if (pid == 0)
				fuzz_round(rs, fly[i].round, shared);
			fly[i].pid = pid;
			nfly++;
		}
		usleep(1000);
		/* The least memory the guest had, every 100 polls or so. */
		if (++polls % 100 == 0) {
			avail = mem_available_mib();
			if (avail >= 0 && avail < min_avail)
				min_avail = avail;
		}
		for (i = 0; i < FUZZ_PROCS; i++) {
			if (!fly[i].pid)
				continue;
			if (fly[i].kill_at && now_ns() > fly[i].kill_at) {
				kill(fly[i].pid, SIGKILL);
				fly[i].kill_at = 0;
				fly[i].killed = 1;
			}
			pid = waitpid(fly[i].pid, &st, WNOHANG);
			ASSERT_LE(0, pid);
			if (!pid)
				continue;
			if (fly[i].killed && WIFSIGNALED(st) &&
			    WTERMSIG(st) == SIGKILL)
				killed++;
			else
				EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
					TH_LOG("seed %llu round %llu: status %#x",
					       (unsigned long long)seed,
					       (unsigned long long)fly[i].round, st);
			memset(&fly[i], 0, sizeof(fly[i]));
			nfly--;
		}
		if (shared[0] / 100000 != reported) {
			reported = shared[0] / 100000;
			clock_gettime(CLOCK_MONOTONIC, &t);
			TH_LOG("%llu calls, %ld s, %ld MiB available",
			       (unsigned long long)shared[0],
			       (long)(t.tv_sec - t0.tv_sec), mem_available_mib());
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t);
	TH_LOG("%llu calls in %llu rounds (%llu killed) in %ld s, %llu unexpected",
	       (unsigned long long)shared[0], (unsigned long long)rounds,
	       (unsigned long long)killed, (long)(t.tv_sec - t0.tv_sec),
	       (unsigned long long)shared[1]);
	TH_LOG("guest memory available: %ld MiB at the least", min_avail);
	for (int k = 0; k < K_N; k++)
		TH_LOG("%-8s %8llu steps, %6.1f s of thread time, %6.1f s of CPU",
		       kind_name[k], (unsigned long long)shared[KIND_STATS + 2 * k],
		       shared[KIND_STATS + 1 + 2 * k] / 1e9,
		       shared[KIND_CPU + k] / 1e9);
	for (size_t i = 0; i < NCMDS; i++)
		TH_LOG("  %-18s %6.1f s in the ioctl, %6.1f s of CPU",
		       cmds[i].name, shared[CMD_NS + i] / 1e9,
		       shared[CMD_CPU + i] / 1e9);
	cpu_times(cpu);
	TH_LOG("guest CPU: %.1f s user, %.1f s system, %.1f s idle",
	       cpu[0] - cpu0[0], cpu[1] - cpu0[1], cpu[2] - cpu0[2]);
	TH_LOG("collections (rounds that ended normally): %llu (%llu abandoned, %llu forced stops), %.1f s stopped (completed: stopping %.1f s, mark %.1f s, sweep %.1f s), %.1f s of mark workers",
	       (unsigned long long)shared[GC_STATS],
	       (unsigned long long)shared[GC_STATS + 6],
	       (unsigned long long)shared[GC_STATS + 7],
	       shared[GC_STATS + 1] / 1e9, shared[GC_STATS + 3] / 1e9,
	       shared[GC_STATS + 4] / 1e9, shared[GC_STATS + 5] / 1e9,
	       shared[GC_STATS + 2] / 1e9);
	EXPECT_EQ(0, shared[1]);
	EXPECT_EQ(0, well_behaved());
}

TEST_HARNESS_MAIN
