// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgcuser: thread registration.
 *
 * gcu_init() registers the thread that calls it; any other thread is
 * registered on its first allocation or by gcu_thread_register(). A
 * registered thread has its stack range and an eventfd (for the collector's
 * stop requests) known to the kernel, and its slot page mapped. A pthread key
 * destructor unregisters the thread when it exits, which hands its cached
 * spans back to the kernel.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

__thread struct gcu_thread *gcu_self __attribute__((tls_model("initial-exec")));
static pthread_key_t gcu_thread_key;
static pthread_once_t gcu_key_once = PTHREAD_ONCE_INIT;
static int gcu_key_err;

static void gcu_thread_free(struct gcu_thread *t)
{
	uint32_t i;

	for (i = 0; i < GCMEM_MAX_TYPES; i++)
		free(t->kinds[i]);
	for (i = 0; i < t->next_index; i++)
		free(t->by_index[i]);
	if (t->slot)
		munmap(t->slot, GCMEM_THREAD_SLOT_SIZE);
	if (t->eventfd >= 0)
		close(t->eventfd);
	free(t);
}

/* Unregister @t if it belongs to the current heap. Holds gcu_lock. */
static int gcu_thread_release(struct gcu_thread *t)
{
	struct gcmem_thread_unregister u = {
		.size = sizeof(u),
		.thread_id = t->id,
	};
	int ret = 0;

	if (t->generation == gcu.generation && gcu.info.fd >= 0)
		ret = ioctl(gcu.info.fd, GCMEM_IOC_THREAD_UNREGISTER, &u);
	gcu_thread_free(t);
	return ret ? -1 : 0;
}

static void gcu_thread_exit(void *arg)
{
	struct gcu_thread *t = arg;

	pthread_mutex_lock(&gcu_lock);
	gcu_thread_release(t);
	pthread_mutex_unlock(&gcu_lock);
	gcu_self = NULL;
}

static void gcu_key_create(void)
{
	gcu_key_err = pthread_key_create(&gcu_thread_key, gcu_thread_exit);
}

int gcu_thread_init_key(void)
{
	pthread_once(&gcu_key_once, gcu_key_create);
	if (gcu_key_err) {
		errno = gcu_key_err;
		return -1;
	}
	return 0;
}

static int gcu_stack_range(uintptr_t *lo, uintptr_t *hi)
{
	pthread_attr_t attr;
	size_t size;
	void *addr;
	int err;

	err = pthread_getattr_np(pthread_self(), &attr);
	if (err) {
		errno = err;
		return -1;
	}
	err = pthread_attr_getstack(&attr, &addr, &size);
	pthread_attr_destroy(&attr);
	if (err) {
		errno = err;
		return -1;
	}
	*lo = (uintptr_t)addr;
	*hi = *lo + size;
	return 0;
}

/* Register the calling thread with the current heap. Holds gcu_lock. */
int gcu_thread_register_locked(void)
{
	struct gcmem_thread_register r = { .size = sizeof(r) };
	struct gcu_thread *t;
	uintptr_t lo, hi;
	void *slot;
	int err;

	if (gcu.info.fd < 0) {
		errno = ENXIO;
		return -1;
	}
	if (gcu_self && gcu_self->generation == gcu.generation) {
		errno = EBUSY;
		return -1;
	}
	if (gcu_thread_init_key() || gcu_stack_range(&lo, &hi))
		return -1;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	t->eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->eventfd < 0)
		goto fail;
	r.stack_lo = lo;
	r.stack_hi = hi;
	r.eventfd = t->eventfd;
	if (ioctl(gcu.info.fd, GCMEM_IOC_THREAD_REGISTER, &r))
		goto fail;
	t->id = r.thread_id;
	t->generation = gcu.generation;
	slot = mmap(NULL, GCMEM_THREAD_SLOT_SIZE, PROT_READ | PROT_WRITE,
		    MAP_SHARED, gcu.info.fd, r.slot_offset);
	if (slot == MAP_FAILED) {
		err = errno;
		gcu_thread_release(t);
		errno = err;
		return -1;
	}
	t->slot = slot;

	/* A thread of an earlier heap: forget its state, it is gone. */
	if (gcu_self)
		gcu_thread_free(gcu_self);
	gcu_self = t;
	pthread_setspecific(gcu_thread_key, t);
	return 0;
fail:
	err = errno;
	gcu_thread_free(t);
	errno = err;
	return -1;
}

/*
 * In a child after fork(): the thread's state belongs to the parent's heap,
 * and its slot page and the parent's mappings are not inherited. Forget it
 * without unmapping anything (the address may be reused). Holds gcu_lock.
 */
void gcu_thread_forget_fork(void)
{
	if (!gcu_self)
		return;
	gcu_self->slot = NULL;
	pthread_setspecific(gcu_thread_key, NULL);
	gcu_thread_free(gcu_self);
	gcu_self = NULL;
}

/* The slow path's way to the calling thread: register it if need be. */
struct gcu_thread *gcu_thread_self_slow(void)
{
	int ret;

	pthread_mutex_lock(&gcu_lock);
	ret = gcu_thread_register_locked();
	pthread_mutex_unlock(&gcu_lock);
	return ret ? NULL : gcu_self;
}

/* Unregister the calling thread, if registered. Holds gcu_lock. */
void gcu_thread_unregister_self(void)
{
	if (!gcu_self)
		return;
	pthread_setspecific(gcu_thread_key, NULL);
	gcu_thread_release(gcu_self);
	gcu_self = NULL;
}

int gcu_thread_register(void)
{
	int ret;

	pthread_mutex_lock(&gcu_lock);
	ret = gcu_thread_register_locked();
	pthread_mutex_unlock(&gcu_lock);
	return ret;
}

int gcu_thread_unregister(void)
{
	int ret = 0;

	pthread_mutex_lock(&gcu_lock);
	if (!gcu_self || gcu_self->generation != gcu.generation) {
		errno = ENXIO;
		ret = -1;
	} else {
		pthread_setspecific(gcu_thread_key, NULL);
		ret = gcu_thread_release(gcu_self);
		gcu_self = NULL;
	}
	pthread_mutex_unlock(&gcu_lock);
	return ret;
}
