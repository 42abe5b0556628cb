/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The stand-in's interface (standin.c), between the driver (allochost.c,
 * user space with libgcuser) and the module's allocation code under the
 * host shims: only uapi types cross it.
 */
#ifndef GCMEM_BENCH_STANDIN_H
#define GCMEM_BENCH_STANDIN_H

#include <stdbool.h>

struct gcmem_control;
struct gcmem_refill;
struct gcmem_thread_slot;

void standin_init(void *arena, unsigned long len, bool reuse);
void standin_control(struct gcmem_control *ctl);
int standin_thread_register(struct gcmem_thread_slot *slot,
			    unsigned int *id);
int standin_refill(struct gcmem_refill *arg);
unsigned long long standin_refills(void);
void standin_heap(unsigned long long *cycles, unsigned long long *grown);

#endif /* GCMEM_BENCH_STANDIN_H */
