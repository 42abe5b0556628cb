// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgcuser: opening, mapping and closing the process's heap.
 *
 * One heap per process. The arena is reserved at the largest size the
 * kernel accepts; address space is cheap and memory is only committed, one
 * chunk at a time, where the heap is touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/gcmem.h>

#include "gcuser.h"

static pthread_mutex_t gcu_heap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gcu_heap_info gcu_the_heap = { .fd = -1 };

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
	int ret;

	pthread_mutex_lock(&gcu_heap_lock);
	if (gcu_the_heap.fd >= 0) {
		errno = EBUSY;
		ret = -1;
	} else {
		ret = gcu_open_locked(&gcu_the_heap);
	}
	pthread_mutex_unlock(&gcu_heap_lock);
	return ret;
}

void gcu_shutdown(void)
{
	struct gcu_heap_info *h = &gcu_the_heap;

	pthread_mutex_lock(&gcu_heap_lock);
	if (h->fd >= 0) {
		munmap(h->arena, h->arena_size);
		munmap((void *)h->control, GCMEM_CONTROL_SIZE);
		close(h->fd);
		memset(h, 0, sizeof(*h));
		h->fd = -1;
	}
	pthread_mutex_unlock(&gcu_heap_lock);
}

const struct gcu_heap_info *gcu_heap(void)
{
	if (gcu_the_heap.fd < 0) {
		errno = ENXIO;
		return NULL;
	}
	return &gcu_the_heap;
}

int gcu_stats(struct gcu_heap_stats *st)
{
	struct gcmem_stats ks = { .size = sizeof(ks) };

	if (gcu_the_heap.fd < 0) {
		errno = ENXIO;
		return -1;
	}
	if (ioctl(gcu_the_heap.fd, GCMEM_IOC_STATS, &ks))
		return -1;
	st->committed = ks.committed;
	st->peak_committed = ks.peak_committed;
	st->limit = ks.limit;
	st->pmd_faults = ks.pmd_faults;
	st->pte_faults = ks.pte_faults;
	st->limit_faults = ks.limit_faults;
	return 0;
}

int gcu_set_limit(uint64_t bytes)
{
	struct gcmem_option opt = {
		.size = sizeof(opt),
		.option_id = GCMEM_OPTION_LIMIT,
		.op = GCMEM_OPTION_OP_SET,
		.val64 = bytes,
	};

	if (gcu_the_heap.fd < 0) {
		errno = ENXIO;
		return -1;
	}
	return ioctl(gcu_the_heap.fd, GCMEM_IOC_OPTION, &opt) ? -1 : 0;
}
