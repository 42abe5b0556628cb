/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libgcuser: the user-space side of gcmem.
 *
 * A process calls gcu_init() once: it opens /dev/gcmem, does the API
 * handshake and maps the heap's control page and arena. gcu_shutdown()
 * unmaps and closes everything, giving the heap's memory back.
 *
 * Errors are reported as -1 (or NULL) with errno set; the library never
 * aborts the process.
 */
#ifndef GCUSER_H
#define GCUSER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct gcu_heap_info - what gcu_init() negotiated and mapped
 * @fd: the heap's file descriptor
 * @features: enum gcmem_features supported by the kernel
 * @ioctls: supported ioctls, as in struct gcmem_handshake
 * @limit: the heap's memory limit, in bytes
 * @chunk_size: the unit in which arena memory is committed
 * @arena: start of the arena mapping
 * @arena_size: its length
 * @control: the read-only control page (struct gcmem_control)
 */
struct gcu_heap_info {
	int fd;
	uint64_t features;
	uint64_t ioctls;
	uint64_t limit;
	uint64_t chunk_size;
	void *arena;
	size_t arena_size;
	const volatile void *control;
};

/**
 * struct gcu_heap_stats - a snapshot of the heap's counters
 *
 * Same meaning as the fields of struct gcmem_stats.
 */
struct gcu_heap_stats {
	uint64_t committed;
	uint64_t peak_committed;
	uint64_t limit;
	uint64_t pmd_faults;
	uint64_t pte_faults;
	uint64_t limit_faults;
};

/* Open and map the process's heap. Fails with EBUSY if already open. */
int gcu_init(void);
/* Unmap and close the heap; its memory goes back to the system. */
void gcu_shutdown(void);
/* The heap gcu_init() opened, or NULL (errno ENXIO) before it. */
const struct gcu_heap_info *gcu_heap(void);
/* Read the heap's counters. */
int gcu_stats(struct gcu_heap_stats *st);
/* Set the heap's memory limit in bytes (a multiple of the chunk size). */
int gcu_set_limit(uint64_t bytes);

#ifdef __cplusplus
}
#endif

#endif /* GCUSER_H */
