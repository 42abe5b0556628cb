// SPDX-License-Identifier: GPL-2.0
/*
 * Code nobody here wrote, on gcmem: bdwgc's own tests (from Debian's libgc
 * source package, built against gcmem's gc.h by scripts/bdwgc-tests.sh)
 * and Debian's w3m binary, unmodified, each run through gcmem-run so that
 * gcmem's libgc.so.1 stands in for Debian's. The image carries them in
 * /gcmem/compat (qemu-images/mkinitramfs.sh) without Debian's libgc.so.1,
 * so a program that did not get gcmem's cannot start; and each run must
 * leave the line libgc.so.1 writes at exit (GCMEM_GC_STATS) with the
 * collections it made, none abandoned.
 *
 * w3m dumps a large generated page (scripts/compat-prep.sh); its output
 * must be byte for byte what the same command printed on the host under
 * Debian's libgc.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define COMPAT		"/gcmem/compat"
#define RUNNER		COMPAT "/gcmem-run"
#define LIBDIR		"/gcmem/lib"

struct run {
	int status;		/* as waitpid() says; -1: timed out */
	double seconds;
	unsigned long long cycles, abandoned;
	int reported;		/* libgc.so.1 wrote its line at exit */
	char out[2048];		/* the last of what it printed */
};

/* The last @size - 1 bytes of @path into @buf. */
static void tail(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	off_t len;
	ssize_t n;

	buf[0] = 0;
	if (fd < 0)
		return;
	len = lseek(fd, 0, SEEK_END);
	lseek(fd, len > (off_t)size - 1 ? len - (off_t)size + 1 : 0,
	      SEEK_SET);
	n = read(fd, buf, size - 1);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
}

/*
 * Run @argv through gcmem-run with stdout to @out (stderr too unless
 * @err), for at most @timeout seconds.
 */
static void run(struct run *r, char *const argv[], const char *out,
		const char *err, int timeout)
{
	char stats[] = "/tmp/gcmem-libgc.stats";
	struct timespec t0, t;
	char line[256];
	pid_t pid;
	FILE *f;

	memset(r, 0, sizeof(*r));
	unlink(stats);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		r->status = -2;
		return;
	}
	if (!pid) {
		char *envp[] = {
			"HOME=/nonexistent", "PATH=/bin:/sbin",
			"GCMEM_LIBDIR=" LIBDIR, "GCMEM_GC_STATS=/tmp/gcmem-libgc.stats",
			NULL,
		};
		char *args[16] = { "/bin/sh", RUNNER };
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int efd = err ? open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644) :
				fd;

		for (int i = 0; argv[i] && i < 13; i++)
			args[i + 2] = argv[i];
		if (fd < 0 || efd < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(efd, 2);
		setpgid(0, 0);
		execve(args[0], args, envp);
		_exit(127);
	}
	for (;;) {
		pid_t w = waitpid(pid, &r->status, WNOHANG);

		clock_gettime(CLOCK_MONOTONIC, &t);
		r->seconds = t.tv_sec - t0.tv_sec + (t.tv_nsec - t0.tv_nsec) / 1e9;
		if (w == pid)
			break;
		if (r->seconds > timeout) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			r->status = -1;
			break;
		}
		usleep(20000);
	}
	/* Detached threads may outlive main: let the group go too. */
	kill(-pid, SIGKILL);
	tail(out, r->out, sizeof(r->out));
	f = fopen(stats, "r");
	if (!f)
		return;
	/* One line per process that opened the heap: the last is main's. */
	while (fgets(line, sizeof(line), f))
		r->reported = sscanf(line, "gcmem-libgc: pid %*d, %llu collections, %llu abandoned",
				     &r->cycles, &r->abandoned) == 2;
	fclose(f);
}

FIXTURE(bdwgc) {
	int dummy;
};

FIXTURE_SETUP(bdwgc)
{
	struct stat st;

	if (stat(RUNNER, &st))
		SKIP(return, "no %s in this image: make check puts it in the Debian kernels' images only",
		     COMPAT);
}

FIXTURE_TEARDOWN(bdwgc)
{
}

/*
 * One of bdwgc's tests: it exits 0, ran on gcmem's libgc.so.1, made at
 * least @min_cycles collections and abandoned none.
 */
static void bdwgc_one(struct __test_metadata *_metadata, const char *name,
		      const char *arg, unsigned long long min_cycles,
		      int timeout)
{
	char path[128], out[128];
	char *argv[3] = { path, (char *)arg, NULL };
	struct run r;

	snprintf(path, sizeof(path), COMPAT "/bin/%s", name);
	snprintf(out, sizeof(out), "/tmp/%s.out", name);
	run(&r, argv, out, NULL, timeout);
	TH_LOG("%s: %.1f s, status %#x, %llu collections", name, r.seconds,
	       r.status, r.cycles);
	ASSERT_NE(-1, r.status) TH_LOG("timed out; output:\n%s", r.out);
	ASSERT_TRUE(WIFEXITED(r.status) && !WEXITSTATUS(r.status))
		TH_LOG("output:\n%s", r.out);
	ASSERT_TRUE(r.reported) TH_LOG("no line from gcmem's libgc.so.1");
	EXPECT_LE(min_cycles, r.cycles);
	EXPECT_EQ(0, r.abandoned);
}

/* 10^7 allocations of 8 bytes, each checked zeroed; atomic realloc. */
TEST_F_TIMEOUT(bdwgc, realloc_test, 600)
{
	bdwgc_one(_metadata, "realloc_test", NULL, 1, 540);
}

/* 80000 objects at the small/large boundary, interior pointers off. */
TEST_F_TIMEOUT(bdwgc, middle, 300)
{
	bdwgc_one(_metadata, "middle", NULL, 1, 240);
}

/* Sizes near SIZE_MAX fail cleanly under a 100 MiB heap limit. */
TEST_F_TIMEOUT(bdwgc, huge_test, 120)
{
	bdwgc_one(_metadata, "huge_test", NULL, 0, 60);
}

/* Trees reachable only from the .data/.bss of the program and two libs. */
TEST_F_TIMEOUT(bdwgc, staticrootstest, 300)
{
	bdwgc_one(_metadata, "staticrootstest", NULL, 40, 240);
}

/* GC_INIT from a thread created before the collector started. */
TEST_F_TIMEOUT(bdwgc, initsecondarythread, 120)
{
	bdwgc_one(_metadata, "initsecondarythread", NULL, 0, 60);
}

/* Threads creating threads through GC_pthread_create, many detached. */
TEST_F_TIMEOUT(bdwgc, subthread_create, 300)
{
	bdwgc_one(_metadata, "subthread_create", NULL, 0, 240);
}

/* GC_register_my_thread and thread creation from TLS destructors. */
TEST_F_TIMEOUT(bdwgc, threadkey_test, 300)
{
	bdwgc_one(_metadata, "threadkey_test", NULL, 0, 240);
}

/*
 * C++ through Debian's libgccpp: gc and gc_cleanup objects, finalization
 * (at least 80% of the finalizable objects finalized), explicit delete.
 */
TEST_F_TIMEOUT(bdwgc, test_cpp, 600)
{
	bdwgc_one(_metadata, "test_cpp", "10", 1, 540);
}

/* Two files, byte for byte; 0 if equal, else the first differing offset + 1. */
static long compare(const char *a, const char *b)
{
	FILE *fa = fopen(a, "r"), *fb = fopen(b, "r");
	long off = 0, ret = -1;
	int ca, cb;

	if (fa && fb) {
		do {
			ca = getc(fa);
			cb = getc(fb);
			off++;
		} while (ca == cb && ca != EOF);
		ret = ca == cb ? 0 : off;
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return ret;
}

/*
 * Debian's w3m, unmodified, renders a large page: millions of allocations
 * through GC_malloc/GC_malloc_atomic/GC_realloc/GC_free, collections on
 * the way, and the same text as under Debian's libgc.
 */
TEST_F_TIMEOUT(bdwgc, w3m_dump_matches_libgc, 900)
{
	char *argv[] = {
		COMPAT "/bin/w3m", "-dump", "-cols", "100", "-O", "US-ASCII",
		COMPAT "/w3m/page.html", NULL,
	};
	struct run r;
	long diff;

	run(&r, argv, "/tmp/w3m.out", "/tmp/w3m.err", 840);
	TH_LOG("w3m: %.1f s, status %#x, %llu collections", r.seconds,
	       r.status, r.cycles);
	ASSERT_NE(-1, r.status) TH_LOG("timed out");
	tail("/tmp/w3m.err", r.out, sizeof(r.out));
	ASSERT_TRUE(WIFEXITED(r.status) && !WEXITSTATUS(r.status))
		TH_LOG("stderr:\n%s", r.out);
	ASSERT_TRUE(r.reported) TH_LOG("no line from gcmem's libgc.so.1");
	diff = compare("/tmp/w3m.out", COMPAT "/w3m/expected.txt");
	EXPECT_EQ(0, diff) TH_LOG("output differs at byte %ld", diff);
	EXPECT_LE(1, r.cycles);
	EXPECT_EQ(0, r.abandoned);
}

TEST_HARNESS_MAIN
