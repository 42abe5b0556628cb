// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgcuser.so: interpose pthread_create() so that every thread of the
 * process -- the program's and those of any library it loads -- is
 * registered as it starts, and pthread_join(), pthread_detach() and
 * pthread_exit() so that an ended thread's result stays alive until it is
 * joined (start.c). The C library's functions are the next definitions in
 * the lookup order (RTLD_NEXT).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "../internal.h"

/* The C library's @name, looked up once; NULL if it cannot be found. */
static void *gcu_next(void **cache, const char *name)
{
	void *fn = __atomic_load_n(cache, __ATOMIC_ACQUIRE);

	if (!fn) {
		fn = dlsym(RTLD_NEXT, name);
		__atomic_store_n(cache, fn, __ATOMIC_RELEASE);
	}
	return fn;
}

int gcu_real_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
			    void *(*start)(void *), void *arg)
{
	static void *real;
	int (*fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
		  void *) = gcu_next(&real, "pthread_create");

	return fn ? fn(thread, attr, start, arg) : EAGAIN;
}

int gcu_real_pthread_join(pthread_t thread, void **ret)
{
	static void *real;
	int (*fn)(pthread_t, void **) = gcu_next(&real, "pthread_join");

	return fn ? fn(thread, ret) : ENOSYS;
}

int gcu_real_pthread_detach(pthread_t thread)
{
	static void *real;
	int (*fn)(pthread_t) = gcu_next(&real, "pthread_detach");

	return fn ? fn(thread) : ENOSYS;
}

void gcu_real_pthread_exit(void *value)
{
	static void *real;
	void (*fn)(void *) = gcu_next(&real, "pthread_exit");

	if (!fn) {
		fputs("libgcuser: pthread_exit not found\n", stderr);
		abort();
	}
	fn(value);
	__builtin_unreachable();
}

/*
 * libgc.so.1 defines it: start the collector, if nothing has, before the
 * first thread is created, as bdwgc's GC_pthread_create() does, so that
 * the thread is registered as it starts. Undefined in libgcuser.so.
 */
void gcu_lazy_init_hook(void) __attribute__((weak));

int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
		   void *(*start)(void *), void *arg)
{
	if (gcu_lazy_init_hook)
		gcu_lazy_init_hook();
	return gcu_pthread_create(thread, attr, start, arg);
}

int pthread_join(pthread_t thread, void **ret)
{
	return gcu_pthread_join(thread, ret);
}

int pthread_detach(pthread_t thread)
{
	return gcu_pthread_detach(thread);
}

void pthread_exit(void *value)
{
	gcu_pthread_exit(value);
}
