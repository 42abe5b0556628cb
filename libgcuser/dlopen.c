// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgcuser: dlopen() and dlclose() that bring the object's globals into
 * the roots (or take them out) before they return (globals.c). A file of
 * its own so that a static program that does not call them does not link
 * the dynamic loader.
 */
#include <dlfcn.h>

#include "internal.h"

void *gcu_dlopen(const char *file, int mode)
{
	void *h = dlopen(file, mode);

	gcu_globals_sync();
	return h;
}

int gcu_dlclose(void *handle)
{
	int ret = dlclose(handle);

	gcu_globals_sync();
	return ret;
}
