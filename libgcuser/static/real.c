// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgcuser.a: the C library's pthread_create(). A static link does not
 * interpose it; the program calls gcu_pthread_create() (or defines
 * GCU_REDIRECT_PTHREAD before including gcuser.h).
 */
#include "../internal.h"

int gcu_real_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
			    void *(*start)(void *), void *arg)
{
	return pthread_create(thread, attr, start, arg);
}
