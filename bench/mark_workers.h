/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The gcmem module's mark_workers parameter, which the benchmarks set
 * before gcu_init() to compare 1 and 2 mark workers (root only), and put
 * back afterwards.
 */
#ifndef BENCH_MARK_WORKERS_H
#define BENCH_MARK_WORKERS_H

#include <stdio.h>
#include <string.h>

#define MARK_WORKERS_PARAM	"/sys/module/gcmem/parameters/mark_workers"

/* The parameter's value, without the newline, into @buf; 0 or -1. */
static inline int read_param(char *buf, size_t len)
{
	FILE *f = fopen(MARK_WORKERS_PARAM, "r");

	if (!f)
		return -1;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static inline int write_param(const char *val)
{
	FILE *f = fopen(MARK_WORKERS_PARAM, "w");
	int rc;

	if (!f)
		return -1;
	rc = fprintf(f, "%s\n", val) < 0;
	rc |= fclose(f) != 0;
	return rc ? -1 : 0;
}

#endif /* BENCH_MARK_WORKERS_H */
