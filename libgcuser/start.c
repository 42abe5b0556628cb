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

/* Is the calling thread detached? */
static int gcu_self_detached(void)
{
	int state = PTHREAD_CREATE_JOINABLE;
	pthread_attr_t attr;

	if (!pthread_getattr_np(pthread_self(), &attr)) {
		pthread_attr_getdetachstate(&attr, &state);
		pthread_attr_destroy(&attr);
	}
	return state == PTHREAD_CREATE_DETACHED;
}

/*
 * The calling thread ends with @value: keep it while it can be joined.
 * Only a value in the arena can be an object; a detached thread's result
 * is nobody's. The record is allocated outside results.lock (finalizers
 * may run in the allocation, and may join), and the detach state checked
 * again under it: gcu_pthread_detach() holds it across the detach.
 */
void gcu_thread_result_keep(void *value)
{
	uintptr_t v = (uintptr_t)value, arena = (uintptr_t)gcu.info.arena;
	struct gcu_result *r;

	if (__atomic_load_n(&gcu.info.fd, __ATOMIC_RELAXED) < 0 ||
	    v < arena || v - arena >= gcu.info.arena_size ||
	    gcu_self_detached())
		return;
	r = gcu_malloc_uncollectable(sizeof(*r));
	if (!r)
		return;
	r->thread = pthread_self();
	r->value = value;
	pthread_mutex_lock(&results.lock);
	if (!gcu_self_detached()) {
		r->next = results.head;
		results.head = r;
		r = NULL;
	}
	pthread_mutex_unlock(&results.lock);
	if (r)
		gcu_free(r);
}

/*
 * Take out the records of @thread (with @value, unless @any): it was
 * joined, detached, or its id is in use by a new thread, which means the
 * old one was joined or detached. pthread_t values are reused at once, so
 * a join matches the value it returned too: the record of a new thread
 * with the same id is not the joined one's. results.lock held.
 */
static struct gcu_result *gcu_results_take(pthread_t thread, void *value,
					   int any)
{
	struct gcu_result **pp = &results.head, *taken = NULL, *r;

	while ((r = *pp)) {
		if (pthread_equal(r->thread, thread) &&
		    (any || r->value == value)) {
			*pp = r->next;
			r->next = taken;
			taken = r;
			if (!any)
				break;
		} else {
			pp = &r->next;
		}
	}
	return taken;
}

static void gcu_results_free(struct gcu_result *r)
{
	while (r) {
		struct gcu_result *next = r->next;

		gcu_free(r);
		r = next;
	}
}

/* The child has only the forking thread: no result to keep. */
void gcu_thread_results_fork_child(void)
{
	results.head = NULL;
	pthread_mutex_init(&results.lock, NULL);
}

int gcu_pthread_join(pthread_t thread, void **ret)
{
	struct gcu_result *r = NULL;
	void *value;
	int err;

	err = gcu_real_pthread_join(thread, &value);
	if (!err) {
		pthread_mutex_lock(&results.lock);
		r = gcu_results_take(thread, value, 0);
		pthread_mutex_unlock(&results.lock);
		if (ret)
			*ret = value;
	}
	gcu_results_free(r);
	return err;
}

int gcu_pthread_detach(pthread_t thread)
{
	struct gcu_result *r = NULL;
	int err;

	pthread_mutex_lock(&results.lock);
	err = gcu_real_pthread_detach(thread);
	if (!err)
		r = gcu_results_take(thread, NULL, 1);
	pthread_mutex_unlock(&results.lock);
	gcu_results_free(r);
	return err;
}

void gcu_pthread_exit(void *value)
{
	gcu_thread_result_keep(value);
	gcu_real_pthread_exit(value);
}

/* A new thread: records under its id are of an ended, reaped thread. */
static void gcu_results_forget_self(void)
{
	struct gcu_result *r;

	if (!__atomic_load_n(&results.head, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&results.lock);
	r = gcu_results_take(pthread_self(), NULL, 1);
	pthread_mutex_unlock(&results.lock);
	gcu_results_free(r);
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
	gcu_results_forget_self();
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
