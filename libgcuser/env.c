// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The environment's settings, read once by gcu_init() (docs/allocation.md,
 * "Environment", lists them all):
 *
 *   GCU_TRACE=1             a line per collection on stderr
 *   GCU_GCPERCENT=N|off     pacing, as gcu_set_gcpercent() (Go's GOGC)
 *   GCU_LIMIT=BYTES[K|M|G]  the heap's limit, as gcu_set_limit()
 *   GCU_MODE=stw|concurrent how collections run, as gcu_set_mode()
 *   GCU_CONCURRENT_MIN=BYTES[K|M|G]  as gcu_set_concurrent_min()
 *
 * (GCU_GLOBALS and GCU_FORK are read where they act: globals.c, fork.c.)
 * A malformed value or one the kernel refuses makes gcu_init() fail with
 * EINVAL or the kernel's errno: a setting the user asked for is never
 * dropped in silence.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*
 * gcu_env_bytes() - parse a byte count with an optional K, M or G suffix
 * (powers of 1024, either case). Returns 0, or -1 if @s is not one.
 */
int gcu_env_bytes(const char *s, uint64_t *bytes)
{
	unsigned int shift = 0;
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case 0:
		break;
	default:
		return -1;
	}
	if ((shift && end[1]) || v > (UINT64_MAX >> shift))
		return -1;
	*bytes = (uint64_t)v << shift;
	return 0;
}

static int gcu_env_gcpercent(const char *s)
{
	unsigned long v;
	char *end;

	if (!strcmp(s, "off"))
		return gcu_set_gcpercent(-1);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v > INT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	return gcu_set_gcpercent((int)v);
}

/* A byte count for @set. */
static int gcu_env_set_bytes(const char *s, int (*set)(uint64_t bytes))
{
	uint64_t v;

	if (gcu_env_bytes(s, &v)) {
		errno = EINVAL;
		return -1;
	}
	return set(v);
}

static int gcu_env_limit(const char *s)
{
	return gcu_env_set_bytes(s, gcu_set_limit);
}

static int gcu_env_concurrent_min(const char *s)
{
	return gcu_env_set_bytes(s, gcu_set_concurrent_min);
}

static int gcu_env_mode(const char *s)
{
	if (!strcmp(s, "stw"))
		return gcu_set_mode(GCU_MODE_STW);
	if (!strcmp(s, "concurrent"))
		return gcu_set_mode(GCU_MODE_CONCURRENT);
	errno = EINVAL;
	return -1;
}

/* gcu_init(), the heap open: apply the environment's settings. */
int gcu_env_apply(void)
{
	static const struct {
		const char *name;
		int (*apply)(const char *value);
	} knobs[] = {
		{ "GCU_GCPERCENT", gcu_env_gcpercent },
		{ "GCU_LIMIT", gcu_env_limit },
		{ "GCU_MODE", gcu_env_mode },
		{ "GCU_CONCURRENT_MIN", gcu_env_concurrent_min },
	};
	const char *s = getenv("GCU_TRACE");
	unsigned int i;

	gcu_trace = s && *s && strcmp(s, "0");
	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		s = getenv(knobs[i].name);
		if (s && *s && knobs[i].apply(s))
			return -1;
	}
	return 0;
}
