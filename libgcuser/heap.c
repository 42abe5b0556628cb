// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgcuser: opening, mapping and closing the process's heap; its limit,
 * statistics and roots.
 *
 * One heap per process. The arena is reserved at the largest size the
 * kernel accepts; address space is cheap and memory is only committed, one
 * chunk at a time, as spans are handed out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/gcmem.h>

#include "internal.h"

pthread_mutex_t gcu_lock = PTHREAD_MUTEX_INITIALIZER;
struct gcu_state gcu = { .info.fd = -1 };
void (*gcu_slow_hook)(void);

static void gcu_close_locked(struct gcu_heap_info *h);

static int gcu_open_locked(struct gcu_heap_info *h)
{
	struct gcmem_handshake hs = {
		.size = sizeof(hs),
		.api_version = GCMEM_API_VERSION,
	};
	void *p;
	int err;

	h->fd = open(GCMEM_DEVICE, O_RDWR | O_CLOEXEC);
	if (h->fd < 0)
		return -1;
	if (ioctl(h->fd, GCMEM_IOC_HANDSHAKE, &hs))
		goto fail;
	h->features = hs.features;
	h->ioctls = hs.ioctls;
	h->limit = hs.limit;
	h->chunk_size = hs.chunk_size;

	p = mmap(NULL, hs.control_size, PROT_READ, MAP_SHARED, h->fd,
		 GCMEM_MMAP_CONTROL);
	if (p == MAP_FAILED)
		goto fail;
	h->control = p;

	p = mmap(NULL, hs.arena_max, PROT_READ | PROT_WRITE, MAP_SHARED,
		 h->fd, GCMEM_MMAP_ARENA);
	if (p == MAP_FAILED) {
		err = errno;
		munmap((void *)h->control, hs.control_size);
		errno = err;
		goto fail;
	}
	h->arena = p;
	h->arena_size = hs.arena_max;
	return 0;
fail:
	err = errno;
	close(h->fd);
	memset(h, 0, sizeof(*h));
	h->fd = -1;
	errno = err;
	return -1;
}

int gcu_init(void)
{
	return gcu_init_flags(0);
}

int gcu_init_flags(unsigned int flags)
{
	int ret;

	if (flags & ~GCU_INIT_NO_GLOBALS) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&gcu_lock);
	if (gcu.info.fd >= 0) {
		errno = EBUSY;
		ret = -1;
	} else {
		ret = gcu_open_locked(&gcu.info);
	}
	if (!ret && gcu_env_apply()) {
		int err = errno;

		gcu_close_locked(&gcu.info);
		errno = err;
		ret = -1;
	}
	if (!ret) {
		gcu.generation++;
		gcu_classes_init((const struct gcmem_control *)gcu.info.control);
		memset(gcu.type_size, 0, sizeof(gcu.type_size));
		ret = gcu_thread_register_locked();
		if (ret) {
			int err = errno;

			gcu_close_locked(&gcu.info);
			errno = err;
		} else {
			gcu_globals_init_locked(flags);
			gcu_fork_init();
		}
	}
	pthread_mutex_unlock(&gcu_lock);
	return ret;
}

static void gcu_close_locked(struct gcu_heap_info *h)
{
	munmap(h->arena, h->arena_size);
	munmap((void *)h->control, GCMEM_CONTROL_SIZE);
	close(h->fd);
	memset(h, 0, sizeof(*h));
	h->fd = -1;
}

void gcu_shutdown(void)
{
	pthread_mutex_lock(&gcu_lock);
	if (gcu.info.fd >= 0) {
		gcu_thread_unregister_self();
		gcu_close_locked(&gcu.info);
	}
	pthread_mutex_unlock(&gcu_lock);
}

const struct gcu_heap_info *gcu_heap(void)
{
	if (gcu.info.fd < 0) {
		errno = ENXIO;
		return NULL;
	}
	return &gcu.info;
}

int gcu_stats(struct gcu_heap_stats *st)
{
	struct gcmem_stats ks = { .size = sizeof(ks) };

	if (gcu.info.fd < 0) {
		errno = ENXIO;
		return -1;
	}
	if (ioctl(gcu.info.fd, GCMEM_IOC_STATS, &ks))
		return -1;
	st->committed = ks.committed;
	st->peak_committed = ks.peak_committed;
	st->limit = ks.limit;
	st->pmd_faults = ks.pmd_faults;
	st->pte_faults = ks.pte_faults;
	st->limit_faults = ks.limit_faults;
	st->inuse_bytes = ks.inuse_bytes;
	st->spans = ks.spans;
	st->refills = ks.refills;
	st->large_objects = ks.large_objects;
	st->small_allocated = ks.small_allocated;
	st->threads = ks.threads;
	st->types = ks.types;
	st->roots = ks.roots;
	st->cycles = ks.cycles;
	st->abandoned = ks.abandoned;
	st->forced_stops = ks.forced_stops;
	st->pause_total_ns = ks.pause_total_ns;
	st->pause_max_ns = ks.pause_max_ns;
	memcpy(st->pause_hist, ks.pause_hist, sizeof(st->pause_hist));
	st->marked_bytes = ks.marked_bytes;
	st->heap_before = ks.heap_before;
	st->heap_after = ks.heap_after;
	st->freed_bytes = ks.freed_bytes;
	st->worker_ns = ks.worker_ns;
	st->checkmark_failures = ks.checkmark_failures;
	st->stop_total_ns = ks.stop_total_ns;
	st->mark_total_ns = ks.mark_total_ns;
	st->sweep_total_ns = ks.sweep_total_ns;
	st->cow_copies = ks.cow_copies;
	st->pauses = ks.pauses;
	st->concurrent_cycles = ks.concurrent_cycles;
	st->markterm_total_ns = ks.markterm_total_ns;
	st->rescanned_chunks = ks.rescanned_chunks;
	st->track_faults = ks.track_faults;
	st->precleaned_chunks = ks.precleaned_chunks;
	st->concurrent_sweep_ns = ks.concurrent_sweep_ns;
	st->precleaned_pages = ks.precleaned_pages;
	st->rescanned_pages = ks.rescanned_pages;
	st->swept_cycles = ks.swept_cycles;
	st->ragged_scans = ks.ragged_scans;
	st->markterm_stop_ns = ks.markterm_stop_ns;
	st->markterm_rescan_ns = ks.markterm_rescan_ns;
	st->split_chunks = ks.split_chunks;
	st->assist_marked = ks.assist_marked;
	st->wait_ns = ks.wait_ns;
	st->waits = ks.waits;
	st->alone_marks = ks.alone_marks;
	st->alone_handovers = ks.alone_handovers;
	return 0;
}

/* Set the heap's option @id (enum gcmem_option_id) to @val. */
int gcu_option_set(uint32_t id, uint64_t val)
{
	struct gcmem_option opt = {
		.size = sizeof(opt),
		.option_id = id,
		.op = GCMEM_OPTION_OP_SET,
		.val64 = val,
	};

	if (gcu.info.fd < 0) {
		errno = ENXIO;
		return -1;
	}
	return ioctl(gcu.info.fd, GCMEM_IOC_OPTION, &opt) ? -1 : 0;
}

int gcu_set_limit(uint64_t bytes)
{
	return gcu_option_set(GCMEM_OPTION_LIMIT, bytes);
}

/* Roots are whole words: widen the range to 8-byte boundaries. */
static int gcu_root_ioctl(unsigned long cmd, void *start, size_t len,
			  gcu_type_t type)
{
	uintptr_t lo = (uintptr_t)start & ~(uintptr_t)7;
	uintptr_t hi;
	struct gcmem_root r = {
		.size = sizeof(r),
		.type_id = type,
	};

	if (gcu.info.fd < 0) {
		errno = ENXIO;
		return -1;
	}
	if (__builtin_add_overflow((uintptr_t)start, len, &hi) ||
	    __builtin_add_overflow(hi, 7, &hi)) {
		errno = EINVAL;
		return -1;
	}
	hi &= ~(uintptr_t)7;
	r.start = lo;
	r.len = hi - lo;
	return ioctl(gcu.info.fd, cmd, &r) ? -1 : 0;
}

int gcu_root_add(void *start, size_t len, gcu_type_t type)
{
	return gcu_root_ioctl(GCMEM_IOC_ROOT_ADD, start, len, type);
}

int gcu_root_remove(void *start, size_t len)
{
	return gcu_root_ioctl(GCMEM_IOC_ROOT_REMOVE, start, len, 0);
}
