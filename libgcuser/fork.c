// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgcuser: fork().
 *
 * The heap's mappings are not inherited (the kernel's arena is a shared
 * mapping a child must not share), so the child gets a copy of the heap:
 *
 *  prepare  (parent, last of the prepare handlers: registered by
 *           gcu_init(), usually before the program's own): take the
 *           library's locks and ask the kernel for a copy of the heap (GCMEM_IOC_FORK),
 *           a new close-on-exec descriptor the child inherits;
 *  parent   close that descriptor, release the locks;
 *  child    close the parent's heap, adopt the copy (GCMEM_IOC_ADOPT), map
 *           its control page, and its arena at the parent's address, so
 *           that every object is where it was; forget every thread's
 *           state (only this thread exists here, with stale span caches
 *           and no slot page) and register this thread afresh.
 *
 * The globals' roots and the uncollectable table are in the copy (the
 * kernel copies the roots; the table is ordinary memory of the child).
 * With GCU_FORK=0 in the environment no copy is made: the child has no
 * heap (allocation fails with ENXIO and the heap's objects are gone), for
 * a program that only forks to exec. posix_spawn(), system(), popen() and
 * vfork() run no fork handlers and copy nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

static int gcu_fork_fd = -1;
static int gcu_fork_copy = 1;
static pthread_once_t gcu_fork_once = PTHREAD_ONCE_INIT;

static void gcu_fork_prepare(void)
{
	struct gcmem_fork f = { .size = sizeof(f) };

	gcu_fin_lock();
	gcu_unc_lock();
	pthread_mutex_lock(&gcu_lock);
	gcu_fork_fd = -1;
	if (gcu.info.fd >= 0 && gcu_fork_copy)
		gcu_fork_fd = ioctl(gcu.info.fd, GCMEM_IOC_FORK, &f);
}

static void gcu_fork_parent(void)
{
	if (gcu_fork_fd >= 0)
		close(gcu_fork_fd);
	gcu_fork_fd = -1;
	pthread_mutex_unlock(&gcu_lock);
	gcu_unc_unlock();
	gcu_fin_unlock();
}

/* The child: adopt the copy, or be left without a heap. Holds gcu_lock. */
static void gcu_fork_adopt(void)
{
	struct gcmem_adopt a = { .size = sizeof(a) };
	struct gcu_heap_info *h = &gcu.info;
	int fd = gcu_fork_fd;
	void *ctl = MAP_FAILED, *arena = MAP_FAILED;

	gcu_fork_fd = -1;
	/* Nothing of the parent's heap is mapped here: only its file. */
	close(h->fd);
	gcu.generation++;
	gcu_thread_forget_fork();
	if (fd < 0 || ioctl(fd, GCMEM_IOC_ADOPT, &a))
		goto none;
	ctl = mmap(NULL, GCMEM_CONTROL_SIZE, PROT_READ, MAP_SHARED, fd,
		   GCMEM_MMAP_CONTROL);
	if (ctl == MAP_FAILED)
		goto none;
	arena = mmap(h->arena, h->arena_size, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_FIXED_NOREPLACE, fd, GCMEM_MMAP_ARENA);
	if (arena != h->arena)
		goto none;
	h->fd = fd;
	h->control = ctl;
	gcu_unc_fork_child();
	gcu_fin_fork_child();
	if (!gcu_thread_register_locked())
		return;
none:
	if (arena != MAP_FAILED)
		munmap(arena, h->arena_size);
	if (ctl != MAP_FAILED)
		munmap(ctl, GCMEM_CONTROL_SIZE);
	if (fd >= 0)
		close(fd);
	memset(h, 0, sizeof(*h));
	h->fd = -1;
}

static void gcu_fork_child(void)
{
	gcu_thread_results_fork_child();
	if (gcu.info.fd >= 0)
		gcu_fork_adopt();
	pthread_mutex_unlock(&gcu_lock);
	gcu_unc_unlock();
	gcu_fin_unlock();
}

static void gcu_fork_register(void)
{
	const char *env = getenv("GCU_FORK");

	gcu_fork_copy = !(env && !strcmp(env, "0"));
	pthread_atfork(gcu_fork_prepare, gcu_fork_parent, gcu_fork_child);
}

/* gcu_init(): the handlers, once per process. */
void gcu_fork_init(void)
{
	pthread_once(&gcu_fork_once, gcu_fork_register);
}
