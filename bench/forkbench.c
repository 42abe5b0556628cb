// SPDX-License-Identifier: GPL-2.0
/*
 * forkbench: what fork() costs a process with a gcmem heap.
 *
 * libgcuser gives a child of fork() an eager copy of the heap
 * (libgcuser/fork.c, kmod/fork.c), so fork() costs time in proportion to
 * the committed heap. For live heaps of 0, 8, 32 and 128 MiB (1 KiB
 * conservative objects on a list), the median of FORK_REPS runs of:
 *
 *   fork     fork(), the child _exit()s at once, waitpid()
 *   exec     fork(), the child execs /bin/true, waitpid()
 *   spawn    posix_spawn() of /bin/true, waitpid(): no fork handlers run,
 *            nothing is copied
 *
 * One line per heap size:
 *   FORKBENCH live_mib=N committed_mib=M fork_ms=X exec_ms=Y spawn_ms=Z
 * bench/report.sh derives the cost per MiB from the difference with the
 * empty heap's line. Exit status 0 when every run worked.
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

static double median_ms(int how)
{
	double t[FORK_REPS];

	for (int i = 0; i < FORK_REPS; i++) {
		double t0 = now_ms();

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
	static struct obj *head;
	struct gcu_heap_stats st;
	size_t have = 0;
	int bad = 0;

	if (gcu_init() || gcu_set_gcpercent(-1)) {
		printf("FORKBENCHFAIL gcu_init\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double f, e, s;

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
		f = median_ms(0);
		e = median_ms(1);
		s = median_ms(2);
		if (gcu_stats(&st) || f < 0 || e < 0 || s < 0) {
			printf("FORKBENCHFAIL live_mib=%d\n", sizes[i]);
			bad = 1;
			continue;
		}
		printf("FORKBENCH live_mib=%d committed_mib=%.0f fork_ms=%.2f exec_ms=%.2f spawn_ms=%.2f\n",
		       sizes[i], st.committed / 1048576.0, f, e, s);
		fflush(stdout);
	}
	return bad;
}
