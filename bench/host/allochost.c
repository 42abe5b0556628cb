// SPDX-License-Identifier: GPL-2.0
/*
 * gcmem's allocation natively: libgcuser, unchanged (its static library),
 * allocating from a heap whose refill is the module's own kmod/alloc.c
 * run by a user-space stand-in (standin.c) instead of through
 * /dev/gcmem. The binary is linked with --wrap for open, ioctl, mmap,
 * munmap and close: the device's file is a stand-in descriptor, its
 * ioctls are served here (the refill by gcmem_refill(), the rest as an
 * allocation-only heap needs: no cycle ever runs), its mappings are
 * ordinary memory (the arena on transparent huge pages, as the module
 * maps it with PMDs on 6.12). So what this measures is libgcuser's fast
 * path and the refill's own logic, natively, with a function call where
 * the module has a system call; not the module. Not a test: `make
 * bench-host` runs it (bench/host/run.sh).
 *
 * Workload, bench/alloc_bench.c's: ALLOCS allocations per run (environment
 * BENCH_ALLOCS, default 10000000) over 1 or 2 threads, of 32 bytes or of
 * sizes 16..128 from a fixed pseudo-random sequence, the first word of
 * each written, nothing kept live; scanned (gcu_malloc) and atomic
 * (gcu_malloc_atomic) objects; each run a fresh child process with a
 * fresh heap, BENCH_REPS times (default 3). As "gcmem-standin" the heap
 * only grows, as alloc_bench's "nogc" rows'; as "gcmem-standin-reuse"
 * (argument "reuse") the stand-in sweeps it whenever its spans would pass
 * 4 MiB, nothing being live, and the refills hand out the swept spans and
 * pages again (standin.c): memory recycled, as malloc+free's is. Output,
 * alloc_bench's format:
 *   BENCH NAME KIND SIZES THREADS ALLOCS SECONDS RATE REFILLS REP
 *         cycles=C heap_mib=H
 * C the stand-in's cycles, H the arena its heap grew over.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/gcmem.h>

#include "gcuser.h"
#include "standin.h"

#define ARENA_MAX	(16ULL << 30)	/* virtual: reserved, not committed */
#define CHUNK		(2UL << 20)
#define SIZES_LEN	4096
#define MAX_IDS		64

/* --- the stand-in device ----------------------------------------------- */

int __real_open(const char *path, int flags, ...);
int __real_ioctl(int fd, unsigned long req, ...);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off);
int __real_munmap(void *addr, size_t len);
int __real_close(int fd);

static int dev_fd = -1;
static bool opt_reuse;
static const char *bench_name = "gcmem-standin";
static struct gcmem_control *dev_control;
static void *dev_slot[MAX_IDS];
static pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;

int __wrap_open(const char *path, int flags, ...)
{
	va_list ap;
	int mode;

	va_start(ap, flags);
	mode = flags & O_CREAT ? va_arg(ap, int) : 0;
	va_end(ap);
	if (strcmp(path, GCMEM_DEVICE))
		return __real_open(path, flags, mode);
	dev_fd = __real_open("/dev/null", O_RDWR | O_CLOEXEC);
	return dev_fd;
}

static int dev_handshake(struct gcmem_handshake *hs)
{
	hs->features = 0;
	hs->ioctls = 1ULL << (GCMEM_CMD_HANDSHAKE - GCMEM_CMD_BASE) |
		     1ULL << (GCMEM_CMD_OPTION - GCMEM_CMD_BASE) |
		     1ULL << (GCMEM_CMD_STATS - GCMEM_CMD_BASE) |
		     1ULL << (GCMEM_CMD_THREAD_REGISTER - GCMEM_CMD_BASE) |
		     1ULL << (GCMEM_CMD_THREAD_UNREGISTER - GCMEM_CMD_BASE) |
		     1ULL << (GCMEM_CMD_REFILL - GCMEM_CMD_BASE);
	hs->arena_max = ARENA_MAX;
	hs->limit = ARENA_MAX;
	hs->chunk_size = CHUNK;
	hs->control_size = GCMEM_CONTROL_SIZE;
	return 0;
}

static int dev_thread_register(struct gcmem_thread_register *r)
{
	void *slot = aligned_alloc(4096, GCMEM_THREAD_SLOT_SIZE);
	unsigned int id;
	int ret;

	if (!slot)
		return -ENOMEM;
	memset(slot, 0, GCMEM_THREAD_SLOT_SIZE);
	ret = standin_thread_register(slot, &id);
	if (ret)
		return ret;
	if (id >= MAX_IDS)
		return -ENOSPC;
	pthread_mutex_lock(&dev_lock);
	dev_slot[id] = slot;
	pthread_mutex_unlock(&dev_lock);
	r->thread_id = id;
	r->slot_offset = GCMEM_MMAP_THREADS +
			 (uint64_t)id * GCMEM_THREAD_SLOT_SIZE;
	return 0;
}

static int dev_stats(struct gcmem_stats *st)
{
	uint32_t size = st->size;

	memset(st, 0, size < sizeof(*st) ? size : sizeof(*st));
	st->size = size;
	st->refills = standin_refills();
	return 0;
}

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	int ret;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd != dev_fd || dev_fd < 0)
		return __real_ioctl(fd, req, arg);
	switch (_IOC_NR(req)) {
	case GCMEM_CMD_HANDSHAKE:
		ret = dev_handshake(arg);
		break;
	case GCMEM_CMD_REFILL:
		ret = standin_refill(arg);
		break;
	case GCMEM_CMD_THREAD_REGISTER:
		ret = dev_thread_register(arg);
		break;
	case GCMEM_CMD_STATS:
		ret = dev_stats(arg);
		break;
	case GCMEM_CMD_OPTION:
	case GCMEM_CMD_THREAD_UNREGISTER:
	case GCMEM_CMD_ROOT_ADD:
	case GCMEM_CMD_ROOT_REMOVE:
	case GCMEM_CMD_COLLECT:
		ret = 0;	/* an allocation-only heap: nothing to do */
		break;
	default:
		ret = -ENOTTY;
	}
	if (ret) {
		errno = -ret;
		return -1;
	}
	return 0;
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off)
{
	char *p;

	if (fd != dev_fd || dev_fd < 0)
		return __real_mmap(addr, len, prot, flags, fd, off);
	if ((uint64_t)off == GCMEM_MMAP_CONTROL) {
		dev_control = aligned_alloc(4096, GCMEM_CONTROL_SIZE);
		if (!dev_control)
			return MAP_FAILED;
		memset(dev_control, 0, GCMEM_CONTROL_SIZE);
		return dev_control;
	}
	if ((uint64_t)off == GCMEM_MMAP_ARENA) {
		p = __real_mmap(NULL, len + CHUNK, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				-1, 0);
		if (p == MAP_FAILED)
			return p;
		p = (char *)(((uintptr_t)p + CHUNK - 1) & ~(CHUNK - 1));
		madvise(p, len, MADV_HUGEPAGE);
		standin_init(p, len, opt_reuse);
		standin_control(dev_control);
		return p;
	}
	if ((uint64_t)off >= GCMEM_MMAP_THREADS &&
	    (uint64_t)off < GCMEM_MMAP_ARENA) {
		uint64_t id = ((uint64_t)off - GCMEM_MMAP_THREADS) /
			      GCMEM_THREAD_SLOT_SIZE;
		void *slot;

		pthread_mutex_lock(&dev_lock);
		slot = id < MAX_IDS ? dev_slot[id] : NULL;
		pthread_mutex_unlock(&dev_lock);
		return slot ? slot : MAP_FAILED;
	}
	errno = EINVAL;
	return MAP_FAILED;
}

/* The stand-in's memory lives as long as the process (a run's child). */
int __wrap_munmap(void *addr, size_t len)
{
	return dev_fd >= 0 ? 0 : __real_munmap(addr, len);
}

int __wrap_close(int fd)
{
	if (fd == dev_fd && dev_fd >= 0)
		dev_fd = -1;
	return __real_close(fd);
}

/* --- the workload -------------------------------------------------------- */

static uint16_t sizes_fixed[SIZES_LEN], sizes_mixed[SIZES_LEN];

/*
 * Keep @p and the store through it, as alloc_bench.c does: a shared
 * volatile sink here was one cache line both threads wrote on every
 * allocation, and two threads ran no faster than one.
 */
static inline void keep(void *p)
{
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

struct run {
	const uint16_t *sizes;
	int atomic;
	uint64_t n;
	pthread_barrier_t *start;
	int failed;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *run_thread(void *data)
{
	struct run *r = data;
	uint64_t i;

	if (gcu_thread_register() && errno != EBUSY)
		r->failed = 1;
	pthread_barrier_wait(r->start);
	for (i = 0; i < r->n && !r->failed; i++) {
		size_t sz = r->sizes[i & (SIZES_LEN - 1)];
		uint64_t *p = r->atomic ? gcu_malloc_atomic(sz) : gcu_malloc(sz);

		if (!p) {
			r->failed = 1;
			break;
		}
		*p = i;
		keep(p);
	}
	return NULL;
}

/* One run in a fresh child: the BENCH line, or a BENCHFAIL one. */
static int one_run(int atomic, int mixed, int threads, uint64_t allocs,
		   int rep)
{
	const char *kind = atomic ? "atomic" : "ptr";
	const char *sizes = mixed ? "16-128" : "32";
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		pthread_barrier_t start;
		struct run r[2];
		pthread_t t[2];
		unsigned long long cycles, grown;
		uint64_t refills0;
		struct gcu_heap_stats s;
		double t0, t1;
		int i, bad = 0;

		if (gcu_init() || gcu_set_gcpercent(-1)) {
			printf("BENCHFAIL %s %s %s %d %d gcu_init: %s\n",
			       bench_name, kind, sizes, threads, rep,
			       strerror(errno));
			_exit(1);
		}
		pthread_barrier_init(&start, NULL, threads + 1);
		for (i = 0; i < threads; i++) {
			r[i].sizes = mixed ? sizes_mixed : sizes_fixed;
			r[i].atomic = atomic;
			r[i].n = allocs / threads;
			r[i].start = &start;
			r[i].failed = 0;
			pthread_create(&t[i], NULL, run_thread, &r[i]);
		}
		gcu_stats(&s);
		refills0 = s.refills;
		pthread_barrier_wait(&start);
		t0 = now();
		for (i = 0; i < threads; i++)
			pthread_join(t[i], NULL);
		t1 = now();
		gcu_stats(&s);
		for (i = 0; i < threads; i++)
			bad |= r[i].failed;
		if (bad) {
			printf("BENCHFAIL %s %s %s %d %d allocation failed\n",
			       bench_name, kind, sizes, threads, rep);
			_exit(1);
		}
		standin_heap(&cycles, &grown);
		printf("BENCH %s %s %s %d %" PRIu64 " %.6f %.0f %" PRIu64 " %d cycles=%llu heap_mib=%llu\n",
		       bench_name, kind, sizes, threads, allocs, t1 - t0,
		       allocs / (t1 - t0), s.refills - refills0, rep, cycles,
		       grown >> 20);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st))
		return -1;
	return 0;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

/*
 * BENCH_ONLY="KIND SIZES THREADS" (say "ptr 32 2"; "-" for any): run
 * only the configurations it matches, for profiling one of them.
 */
static bool wanted(int atomic, int mixed, int threads)
{
	const char *only = getenv("BENCH_ONLY");
	char kind[16], sizes[16], nthreads[16];

	if (!only || sscanf(only, "%15s %15s %15s", kind, sizes,
			    nthreads) != 3)
		return true;
	return (!strcmp(kind, "-") ||
		!strcmp(kind, atomic ? "atomic" : "ptr")) &&
	       (!strcmp(sizes, "-") ||
		!strcmp(sizes, mixed ? "16-128" : "32")) &&
	       (!strcmp(nthreads, "-") || atoi(nthreads) == threads);
}

int main(int argc, char **argv)
{
	uint64_t allocs = env_u64("BENCH_ALLOCS", 10000000), s = 0x5eed;
	int reps = env_u64("BENCH_REPS", 3), rep, atomic, mixed, threads;
	int bad = 0;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "reuse"))) {
		fprintf(stderr, "usage: %s [reuse]\n", argv[0]);
		return 2;
	}
	if (argc == 2) {
		opt_reuse = true;
		bench_name = "gcmem-standin-reuse";
	}

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < SIZES_LEN; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		sizes_fixed[i] = 32;
		sizes_mixed[i] = 16 + (s >> 33) % 113;
	}
	for (rep = 1; rep <= reps; rep++)
		for (atomic = 0; atomic < 2; atomic++)
			for (mixed = 0; mixed < 2; mixed++)
				for (threads = 1; threads <= 2; threads++)
					if (wanted(atomic, mixed, threads))
						bad |= one_run(atomic, mixed,
							       threads, allocs,
							       rep) != 0;
	return bad;
}
