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
 * A thread's result (what its start routine returns, or what it passes to
 * pthread_exit()) is often an object it built; after the thread ends it
 * lies only in the C library's thread descriptor, inside the ended thread's
 * stack mapping, which is no longer scanned. So the ending thread keeps it
 * in an uncollectable record (uncollectable objects are roots) until the
 * thread is joined or detached (gcu_pthread_join(), gcu_pthread_detach(),
 * which the shared library makes of the C library's). A thread that is
 * detached when it ends keeps nothing: nobody can read its result.
 *
 * Threads started before gcu_init() (or while no heap is open) are not
 * registered: they are registered by their first allocation or by
 * gcu_thread_register(), and until then nothing on their stacks keeps an
 * object alive (docs/libgcuser.md, "Threads").
 */
#include <errno.h>
#include <semaphore.h>

#include "internal.h"

/* The result of a thread that ended, kept until it is joined or detached. */
struct gcu_result {
	struct gcu_result *next;
	pthread_t thread;
	void *value;
};

static struct {
	struct gcu_result *head;	/* not a root: the records are */
	pthread_mutex_t lock;
} results = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The calling thread ends with @value: keep it while it can be joined. */
void gcu_thread_result_keep(void *value)
{
	struct gcu_result *r;
	pthread_attr_t attr;
	int state = PTHREAD_CREATE_JOINABLE;

	if (!value || __atomic_load_n(&gcu.info.fd, __ATOMIC_RELAXED) < 0)
		return;
	r = gcu_malloc_uncollectable(sizeof(*r));
	if (!r)
		return;
	r->thread = pthread_self();
	r->value = value;
	/* Under the lock: a detach that comes after the check finds it. */
	pthread_mutex_lock(&results.lock);
	if (!pthread_getattr_np(r->thread, &attr)) {
		pthread_attr_getdetachstate(&attr, &state);
		pthread_attr_destroy(&attr);
	}
	if (state == PTHREAD_CREATE_JOINABLE) {
		r->next = results.head;
		results.head = r;
		r = NULL;
	}
	pthread_mutex_unlock(&results.lock);
	if (r)
		gcu_free(r);
}

/* @thread was joined or detached: its result is the program's business. */
static void gcu_thread_result_drop(pthread_t thread)
{
	struct gcu_result **pp, *r = NULL;

	pthread_mutex_lock(&results.lock);
	for (pp = &results.head; *pp; pp = &(*pp)->next) {
		if (pthread_equal((*pp)->thread, thread)) {
			r = *pp;
			*pp = r->next;
			break;
		}
	}
	pthread_mutex_unlock(&results.lock);
	if (r)
		gcu_free(r);
}

/* The child has only the forking thread: no result to keep. */
void gcu_thread_results_fork_child(void)
{
	results.head = NULL;
	pthread_mutex_init(&results.lock, NULL);
}

int gcu_pthread_join(pthread_t thread, void **ret)
{
	int err = gcu_real_pthread_join(thread, ret);

	if (!err)
		gcu_thread_result_drop(thread);
	return err;
}

int gcu_pthread_detach(pthread_t thread)
{
	int err = gcu_real_pthread_detach(thread);

	if (!err)
		gcu_thread_result_drop(thread);
	return err;
}

void gcu_pthread_exit(void *value)
{
	gcu_thread_result_keep(value);
	gcu_real_pthread_exit(value);
}

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
	arg = fn(arg);
	gcu_thread_result_keep(arg);
	return arg;
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
