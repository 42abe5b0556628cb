// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgcuser.a: the C library's pthread_create(), pthread_join(),
 * pthread_detach() and pthread_exit(). A static link does not interpose
 * them; the program calls gcu_pthread_create() and friends (or defines
 * GCU_REDIRECT_PTHREAD before including gcuser.h).
 */
#include "../internal.h"

int gcu_real_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
			    void *(*start)(void *), void *arg)
{
	return pthread_create(thread, attr, start, arg);
}

int gcu_real_pthread_join(pthread_t thread, void **ret)
{
	return pthread_join(thread, ret);
}

int gcu_real_pthread_detach(pthread_t thread)
{
	return pthread_detach(thread);
}

void gcu_real_pthread_exit(void *value)
{
	pthread_exit(value);
}
