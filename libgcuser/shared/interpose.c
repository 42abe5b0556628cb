// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgcuser.so: interpose pthread_create() so that every thread of the
 * process -- the program's and those of any library it loads -- is
 * registered as it starts (start.c). The C library's pthread_create() is
 * the next definition in the lookup order (RTLD_NEXT).
 */
#include <dlfcn.h>
#include <errno.h>

#include "../internal.h"

typedef int (*gcu_create_fn)(pthread_t *, const pthread_attr_t *,
			     void *(*)(void *), void *);

int gcu_real_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
			    void *(*start)(void *), void *arg)
{
	static gcu_create_fn real;
	gcu_create_fn fn = __atomic_load_n(&real, __ATOMIC_ACQUIRE);

	if (!fn) {
		fn = (gcu_create_fn)dlsym(RTLD_NEXT, "pthread_create");
		if (!fn)
			return EAGAIN;
		__atomic_store_n(&real, fn, __ATOMIC_RELEASE);
	}
	return fn(thread, attr, start, arg);
}

int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
		   void *(*start)(void *), void *arg)
{
	return gcu_pthread_create(thread, attr, start, arg);
}
