// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgcuser: threads are registered when they start.
 *
 * A thread whose stack the collector does not know is a thread whose
 * pointers do not count: an object only it refers to is freed under it.
 * So every thread created through gcu_pthread_create() -- which the shared
 * library makes of every pthread_create() in the process (shared/interpose.c),
 * and a static link by the GCU_REDIRECT_PTHREAD macro of gcuser.h -- runs a
 * trampoline that registers it before its start routine runs, and its
 * pthread key destructor unregisters it at exit (thread.c).
 *
 * The creator waits until the new thread is registered: until then the
 * start routine's argument may be reachable only from the creator's
 * gcu_start record on its stack, and a creator that dropped it as soon as
 * pthread_create() returned would let it be freed.
 *
 * Threads started before gcu_init() (or while no heap is open) are not
 * registered: they are registered by their first allocation or by
 * gcu_thread_register(), and until then nothing on their stacks keeps an
 * object alive (docs/libgcuser.md, "Threads").
 */
#include <errno.h>
#include <semaphore.h>

#include "internal.h"

struct gcu_start {
	void *(*fn)(void *);
	void *arg;
	sem_t registered;
};

static void *gcu_thread_start(void *p)
{
	struct gcu_start *s = p;
	void *(*fn)(void *) = s->fn;
	void *arg = s->arg;

	/*
	 * A failed registration (the heap's thread limit, no memory) leaves
	 * the thread as one created before gcu_init(): its first allocation
	 * tries again.
	 */
	if (__atomic_load_n(&gcu.info.fd, __ATOMIC_RELAXED) >= 0)
		gcu_thread_register();
	/* From here on @s may be gone: the creator returns. */
	sem_post(&s->registered);
	return fn(arg);
}

int gcu_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
		       void *(*start)(void *), void *arg)
{
	struct gcu_start s = { .fn = start, .arg = arg };
	int ret;

	if (__atomic_load_n(&gcu.info.fd, __ATOMIC_RELAXED) < 0)
		return gcu_real_pthread_create(thread, attr, start, arg);
	if (sem_init(&s.registered, 0, 0))
		return errno;
	ret = gcu_real_pthread_create(thread, attr, gcu_thread_start, &s);
	if (!ret)
		while (sem_wait(&s.registered) && errno == EINTR)
			;
	sem_destroy(&s.registered);
	return ret;
}
