// SPDX-License-Identifier: GPL-2.0
/*
 * A library cprog_shared_test dlopen()s: a pointer kept only in its global
 * must keep its object alive.
 */
void *dltest_slot;

void dltest_set(void *p)
{
	dltest_slot = p;
}

void *dltest_get(void)
{
	return dltest_slot;
}
