// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgc.so.1: bdwgc's thread calls on libgcuser's registration.
 *
 * libgc.so.1 interposes pthread_create() (libgcuser/shared/interpose.c),
 * which starts the collector if nothing has yet, so every thread of the
 * process is registered as it starts, and
 * GC_pthread_create() is the same function; so are GC_pthread_join(),
 * GC_pthread_detach() and GC_pthread_exit(), which keep an ended thread's
 * result alive until it is joined (libgcuser/start.c). A thread libgcuser did not start (one created
 * before the heap was opened) registers at its first allocation, or by
 * GC_register_my_thread().
 *
 * "Blocking" (GC_do_blocking) is libgcuser's blocking state: the
 * collector scans the thread's stack without waiting for it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>

#include "compat.h"

/* GC_do_blocking() depth of this thread, for GC_call_with_gc_active(). */
static __thread int gc_blocking;
static pthread_mutex_t gc_alloc_mutex = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static int gc_suspend_sig = SIGPWR, gc_restart_sig = SIGXCPU;

/* The interposed pthread_create() starts the collector (shared/interpose.c). */
void gcu_lazy_init_hook(void)
{
	gc_ready();
}

int GC_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
		      void *(*start)(void *), void *arg)
{
	gc_ready();
	return gcu_pthread_create(thread, attr, start, arg);
}

int GC_pthread_join(pthread_t thread, void **ret)
{
	return gcu_pthread_join(thread, ret);
}

int GC_pthread_detach(pthread_t thread)
{
	return gcu_pthread_detach(thread);
}

int GC_pthread_cancel(pthread_t thread)
{
	return pthread_cancel(thread);
}

void GC_pthread_exit(void *ret)
{
	gcu_pthread_exit(ret);
}

int GC_pthread_sigmask(int how, const sigset_t *set, sigset_t *oset)
{
	return pthread_sigmask(how, set, oset);
}

static int gc_registered(void)
{
	return gcu_self && gcu_self->generation == gcu.generation;
}

void GC_allow_register_threads(void)
{
	gc_ready();
}

/*
 * The stack registered is the thread's own as the C library describes it
 * (pthread_getattr_np()); @sb, which says the same for a thread on its own
 * stack, is not used: a stack of the program's making (a coroutine's) is
 * not scanned. docs/bdwgc.md.
 */
int GC_register_my_thread(const struct GC_stack_base *sb)
{
	(void)sb;
	gc_ready();
	if (gc_registered())
		return GC_DUPLICATE;
	if (gcu_thread_register())
		return errno == EBUSY ? GC_DUPLICATE : GC_NO_MEMORY;
	return GC_SUCCESS;
}

int GC_unregister_my_thread(void)
{
	if (gc_registered())
		gcu_thread_unregister();
	return GC_SUCCESS;
}

int GC_thread_is_registered(void)
{
	return gcu.info.fd >= 0 && gc_registered();
}

int GC_get_stack_base(struct GC_stack_base *sb)
{
	pthread_attr_t attr;
	size_t size;
	void *lo;

	if (pthread_getattr_np(pthread_self(), &attr))
		return GC_UNIMPLEMENTED;
	if (pthread_attr_getstack(&attr, &lo, &size)) {
		pthread_attr_destroy(&attr);
		return GC_UNIMPLEMENTED;
	}
	pthread_attr_destroy(&attr);
	sb->mem_base = (char *)lo + size;
	return GC_SUCCESS;
}

void *GC_call_with_stack_base(GC_stack_base_func fn, void *arg)
{
	struct GC_stack_base sb;

	if (GC_get_stack_base(&sb) != GC_SUCCESS)
		sb.mem_base = __builtin_frame_address(0);
	return fn(&sb, arg);
}

/* The thread's handle for GC_set_stackbottom(): its pthread_t. */
void *GC_get_my_stackbottom(struct GC_stack_base *sb)
{
	GC_get_stack_base(sb);
	return (void *)pthread_self();
}

/* Accepted and not used: see GC_register_my_thread(). */
void GC_set_stackbottom(void *thread, const struct GC_stack_base *sb)
{
	(void)thread, (void)sb;
}

void GC_register_altstack(void *stack, GC_word stack_size, void *altstack,
			  GC_word altstack_size)
{
	(void)stack, (void)stack_size, (void)altstack, (void)altstack_size;
}

void *GC_do_blocking(GC_fn_type fn, void *cd)
{
	void *ret;

	gcu_blocking_enter();
	gc_blocking++;
	ret = fn(cd);
	gc_blocking--;
	gcu_blocking_leave();
	return ret;
}

void *GC_call_with_gc_active(GC_fn_type fn, void *cd)
{
	void *ret;
	int depth = gc_blocking;

	if (!depth)
		return fn(cd);
	gc_blocking = 0;
	gcu_blocking_leave();
	ret = fn(cd);
	gcu_blocking_enter();
	gc_blocking = depth;
	return ret;
}

/*
 * bdwgc's allocation lock also holds its collector off; gcmem's collector
 * needs no lock of the program's, so this one only serializes the callers.
 */
void *GC_call_with_alloc_lock(GC_fn_type fn, void *cd)
{
	void *ret;

	pthread_mutex_lock(&gc_alloc_mutex);
	ret = fn(cd);
	pthread_mutex_unlock(&gc_alloc_mutex);
	return ret;
}

void GC_alloc_lock(void)
{
	pthread_mutex_lock(&gc_alloc_mutex);
}

void GC_alloc_unlock(void)
{
	pthread_mutex_unlock(&gc_alloc_mutex);
}

/* gcmem stops threads without signals: the numbers are only kept. */
void GC_set_suspend_signal(int sig)
{
	gc_suspend_sig = sig;
}

int GC_get_suspend_signal(void)
{
	return gc_suspend_sig;
}

void GC_set_thr_restart_signal(int sig)
{
	gc_restart_sig = sig;
}

int GC_get_thr_restart_signal(void)
{
	return gc_restart_sig;
}

/*
 * fork(): the layer's locks are held across it, so that the child finds
 * them free and its state whole (libgcuser's handlers do the heap's part).
 * The program's GC_alloc_lock() is taken first: a thread holding it does
 * not fork in the middle of what it protects.
 */
static void gc_fork_prepare(void)
{
	pthread_mutex_lock(&gc_alloc_mutex);
	pthread_mutex_lock(&gc_lock);
}

static void gc_fork_parent(void)
{
	pthread_mutex_unlock(&gc_lock);
	pthread_mutex_unlock(&gc_alloc_mutex);
}

void gc_fork_init(void)
{
	pthread_atfork(gc_fork_prepare, gc_fork_parent, gc_fork_parent);
}

/* For programs that fork with bdwgc's handling off: ours is always on. */
void GC_atfork_prepare(void)
{
}

void GC_atfork_parent(void)
{
}

void GC_atfork_child(void)
{
}
