// SPDX-License-Identifier: GPL-2.0
/*
 * forkbench: what fork() costs a process with a gcmem heap.
 *
 * libgcuser gives a child of fork() a copy-on-write copy of the heap
 * (libgcuser/fork.c, kmod/fork.c, kmod/cow.c): fork() costs the heap's
 * metadata, and a chunk is copied when the parent or the child writes it
 * while the other still holds it. For live heaps of 0, 8, 32 and 128 MiB
 * (1 KiB conservative objects on a list), the median of FORK_REPS runs of:
 *
 *   fork     fork(), the child _exit()s at once, waitpid()
 *   exec     fork(), the child execs /bin/true, waitpid()
 *   spawn    posix_spawn() of /bin/true, waitpid(): no fork handlers run
 *   alive    fork(), the child waits while the parent writes a word of
 *            every object (every chunk is copied), then exits: the write
 *            pass's time
 *   after    fork(), the child _exit()s, then the parent's same write pass
 *            (faults, no copy): its time
 *
 * One line per heap size:
 *   FORKBENCH live_mib=N committed_mib=M fork_ms=X exec_ms=Y spawn_ms=Z
 *             alive_ms=A after_ms=B copies=C
 * (C: chunks copied by one alive run). bench/report.sh derives the cost of
 * a copy per MiB from alive - after. Exit status 0 when every run worked.
 */
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gcuser.h"

#define FORK_REPS	7

extern char **environ;

struct obj {
	struct obj *next;
	char pad[1024 - sizeof(struct obj *)];
};

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One child of @how: 0 fork and exit, 1 fork and exec, 2 posix_spawn. */
static int one(int how)
{
	char *argv[] = { "true", NULL };
	int status;
	pid_t pid;

	if (how == 2) {
		if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ))
			return -1;
	} else {
		pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0) {
			if (how == 1)
				execv("/bin/true", argv);
			_exit(how == 1 ? 127 : 0);
		}
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -1;
	return 0;
}

static struct obj *head;

/* Write a word of every live object; the pass's time. */
static double write_pass(void)
{
	double t0 = now_ms();

	for (struct obj *o = head; o; o = o->next)
		o->pad[0]++;
	return now_ms() - t0;
}

/*
 * The write pass after a fork, with the child alive (3) or gone (4); the
 * chunks the alive run copied in @copies.
 */
static double one_write(int how, uint64_t *copies)
{
	struct gcu_heap_stats a, b;
	int go[2], status;
	double t = -1;
	pid_t pid;
	char c;

	if (pipe(go))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(how == 3 && read(go[0], &c, 1) != 1);
	if (how == 4 && waitpid(pid, &status, 0) != pid)
		return -1;
	if (!gcu_stats(&a)) {
		t = write_pass();
		if (gcu_stats(&b))
			t = -1;
		*copies = b.cow_copies - a.cow_copies;
	}
	if (how == 3 && (write(go[1], "g", 1) != 1 ||
			 waitpid(pid, &status, 0) != pid))
		t = -1;
	close(go[0]);
	close(go[1]);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	return t;
}

static double median_ms(int how, uint64_t *copies)
{
	double t[FORK_REPS];

	for (int i = 0; i < FORK_REPS; i++) {
		double t0 = now_ms();

		if (how >= 3) {
			t[i] = one_write(how, copies);
			if (t[i] < 0)
				return -1;
			continue;
		}
		if (one(how))
			return -1;
		t[i] = now_ms() - t0;
	}
	qsort(t, FORK_REPS, sizeof(t[0]), cmp);
	return t[FORK_REPS / 2];
}

int main(void)
{
	static const int sizes[] = { 0, 8, 32, 128 };
	struct gcu_heap_stats st;
	uint64_t copies = 0, none = 0;
	size_t have = 0;
	int bad = 0;

	if (gcu_init() || gcu_set_gcpercent(-1)) {
		printf("FORKBENCHFAIL gcu_init\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double f, e, s, a, w;

		for (; have < (size_t)sizes[i] << 10; have++) {
			struct obj *o = gcu_malloc(sizeof(*o));

			if (!o) {
				printf("FORKBENCHFAIL alloc at %zu KiB\n", have);
				return 1;
			}
			o->next = head;
			head = o;
		}
		gcu_collect();
		f = median_ms(0, NULL);
		e = median_ms(1, NULL);
		s = median_ms(2, NULL);
		a = median_ms(3, &copies);
		w = median_ms(4, &none);
		if (gcu_stats(&st) || f < 0 || e < 0 || s < 0 || a < 0 ||
		    w < 0 || none) {
			printf("FORKBENCHFAIL live_mib=%d (%llu chunks copied with the child gone)\n",
			       sizes[i], (unsigned long long)none);
			bad = 1;
			continue;
		}
		printf("FORKBENCH live_mib=%d committed_mib=%.0f fork_ms=%.2f exec_ms=%.2f spawn_ms=%.2f alive_ms=%.2f after_ms=%.2f copies=%llu\n",
		       sizes[i], st.committed / 1048576.0, f, e, s, a, w,
		       (unsigned long long)copies);
		fflush(stdout);
	}
	return bad;
}
