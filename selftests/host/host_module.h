/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the rest of the module provides to kmod/'s pure-logic files when
 * they run in user space (host_module.c): the shims' state, the calls into
 * files that are not built here (types, central lists, pacing, chunks), and
 * a cycle's mark run by threads as worker.c runs it by kthreads. Shared by
 * the host unit tests (host_test.c) and the native benchmarks (bench/host/).
 */
#ifndef GCMEM_HOST_MODULE_H
#define GCMEM_HOST_MODULE_H

#include "../../kmod/collect.h"

#define HOST_MAX_SCANNERS	8

/* Tasks for the scanners (by owner) and for the driver (the last one). */
extern struct task_struct host_tasks[HOST_MAX_SCANNERS + 1];
/* Typed layouts by id (GCMEM_TYPE_NOSCAN + 1 ...), set by the caller. */
extern struct gcmem_type *host_types[8];
/* The one central list every span of a host heap is on, and frees. */
extern struct list_head host_central;
extern int host_spans_freed;
extern u64 host_assist_objs;

void host_cycle_init(struct gcmem_cycle *c, struct gcmem_heap *heap,
		     int nproc, bool debug);
void host_mark(struct gcmem_cycle *c, int n);
/*
 * What the last host_mark()'s workers waited for a CPU, runnable but not
 * running, in ns (/proc/thread-self/schedstat; 0 where there is none).
 */
extern unsigned long long host_mark_waited;

#endif /* GCMEM_HOST_MODULE_H */
