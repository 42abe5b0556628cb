// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgc.so.1: bdwgc's finalizers and disappearing links on libgcuser's
 * (libgcuser/finalize.c, kmod/finalize.c).
 *
 * Orders: GC_register_finalizer() is bdwgc's default order (an object
 * reachable from another finalizable object is finalized after it);
 * _ignore_self ignores the object's pointers to itself; _no_order and
 * _unreachable (Java's order: finalized once unreachable from the roots,
 * whatever finalizable objects reach it) are both libgcuser's NO_ORDER.
 * Registration errors bdwgc does not report (an address that is not an
 * object's start, memory exhausted) are dropped as bdwgc drops them.
 */
#include <errno.h>
#include <stdint.h>

#include "compat.h"

GC_finalizer_notifier_proc GC_finalizer_notifier;
int GC_finalize_on_demand;
static GC_await_finalize_proc gc_await_fn;
static GC_word gc_bytes_per_finalizer = 10000;

static void gc_register(void *obj, GC_finalization_proc fn, void *cd,
			unsigned int flags, GC_finalization_proc *ofn,
			void **ocd)
{
	gc_ready();
	/* The two function types have the same signature. */
	gcu_register_finalizer_flags(obj, (gcu_finalizer_fn)fn, cd, flags,
				     (gcu_finalizer_fn *)ofn, ocd);
}

void GC_register_finalizer(void *obj, GC_finalization_proc fn, void *cd,
			   GC_finalization_proc *ofn, void **ocd)
{
	gc_register(obj, fn, cd, 0, ofn, ocd);
}

void GC_register_finalizer_ignore_self(void *obj, GC_finalization_proc fn,
				       void *cd, GC_finalization_proc *ofn,
				       void **ocd)
{
	gc_register(obj, fn, cd, GCU_FINALIZER_IGNORE_SELF, ofn, ocd);
}

void GC_register_finalizer_no_order(void *obj, GC_finalization_proc fn,
				    void *cd, GC_finalization_proc *ofn,
				    void **ocd)
{
	gc_register(obj, fn, cd, GCU_FINALIZER_NO_ORDER, ofn, ocd);
}

void GC_register_finalizer_unreachable(void *obj, GC_finalization_proc fn,
				       void *cd, GC_finalization_proc *ofn,
				       void **ocd)
{
	gc_register(obj, fn, cd, GCU_FINALIZER_NO_ORDER, ofn, ocd);
}

void GC_debug_register_finalizer(void *obj, GC_finalization_proc fn,
				 void *cd, GC_finalization_proc *ofn,
				 void **ocd)
{
	gc_register(obj, fn, cd, 0, ofn, ocd);
}

void GC_debug_register_finalizer_ignore_self(void *obj,
					     GC_finalization_proc fn,
					     void *cd,
					     GC_finalization_proc *ofn,
					     void **ocd)
{
	gc_register(obj, fn, cd, GCU_FINALIZER_IGNORE_SELF, ofn, ocd);
}

void GC_debug_register_finalizer_no_order(void *obj, GC_finalization_proc fn,
					  void *cd, GC_finalization_proc *ofn,
					  void **ocd)
{
	gc_register(obj, fn, cd, GCU_FINALIZER_NO_ORDER, ofn, ocd);
}

void GC_debug_register_finalizer_unreachable(void *obj,
					     GC_finalization_proc fn,
					     void *cd,
					     GC_finalization_proc *ofn,
					     void **ocd)
{
	gc_register(obj, fn, cd, GCU_FINALIZER_NO_ORDER, ofn, ocd);
}

int GC_invoke_finalizers(void)
{
	if (gcu.info.fd < 0)
		return 0;
	return gcu_run_finalizers();
}

int GC_should_invoke_finalizers(void)
{
	return gcu.info.fd >= 0 && gcu_finalizers_ready() != 0;
}

/*
 * bdwgc runs every registered finalizer, reachable object or not, at
 * shutdown. gcmem finalizes only what is unreachable: collect and run
 * finalizers until a collection makes none ready (an ordered chain takes
 * a collection a link).
 */
void GC_finalize_all(void)
{
	int on, rounds;

	gc_ready();
	if (GC_is_disabled())
		return;
	on = gcu_get_finalize_on_demand();
	gcu_set_finalize_on_demand(1);
	for (rounds = 0; rounds < 64; rounds++) {
		gcu_collect();
		if (!gcu_run_finalizers())
			break;
	}
	gcu_set_finalize_on_demand(on);
}

/* Read by GC_init() and by every collection the program asks for. */
void GC_set_finalize_on_demand(int on)
{
	GC_finalize_on_demand = on;
	gcu_set_finalize_on_demand(on);
}

int GC_get_finalize_on_demand(void)
{
	return GC_finalize_on_demand;
}

/* libgcuser calls the notifier; the variable may change under it. */
void gc_notify(void)
{
	GC_finalizer_notifier_proc fn =
		__atomic_load_n(&GC_finalizer_notifier, __ATOMIC_ACQUIRE);

	if (fn)
		fn();
}

void GC_set_finalizer_notifier(GC_finalizer_notifier_proc fn)
{
	__atomic_store_n(&GC_finalizer_notifier, fn, __ATOMIC_RELEASE);
	gcu_set_finalizer_notifier(gc_notify);
}

GC_finalizer_notifier_proc GC_get_finalizer_notifier(void)
{
	return __atomic_load_n(&GC_finalizer_notifier, __ATOMIC_ACQUIRE);
}

/* Kept for the program to read back: gcmem paces finalization by cycles. */
void GC_set_allocd_bytes_per_finalizer(GC_word n)
{
	gc_bytes_per_finalizer = n;
}

GC_word GC_get_allocd_bytes_per_finalizer(void)
{
	return gc_bytes_per_finalizer;
}

/* A debugging hook bdwgc calls as it queues an object; never called here. */
void GC_set_await_finalize_proc(GC_await_finalize_proc fn)
{
	gc_await_fn = fn;
}

GC_await_finalize_proc GC_get_await_finalize_proc(void)
{
	return gc_await_fn;
}

void GC_dump_finalization(void)
{
	GC_printf("***gcmem: %zu objects ready for finalization\n",
		  gcu.info.fd >= 0 ? gcu_finalizers_ready() : 0);
}

/* Disappearing links. */
static int gc_link(void **link, const void *obj, unsigned int flags)
{
	int ret;

	gc_ready();
	/* bdwgc takes any pointer into the object. */
	obj = GC_base((void *)obj);
	if (((uintptr_t)link & 7) || !obj)
		gc_abort("GC_register_disappearing_link: bad link or object");
	ret = gcu_weak_register(link, obj, flags);
	if (ret < 0)
		return errno == ENOMEM ? GC_NO_MEMORY : GC_UNIMPLEMENTED;
	return ret ? GC_DUPLICATE : GC_SUCCESS;
}

int GC_general_register_disappearing_link(void **link, const void *obj)
{
	return gc_link(link, obj, 0);
}

int GC_register_long_link(void **link, const void *obj)
{
	return gc_link(link, obj, GCU_WEAK_LONG);
}

/* @link lies in the object it is to follow (bdwgc's idiom for cycles). */
int GC_register_disappearing_link(void **link)
{
	void *base = GC_base(link);

	if (!base)
		gc_abort("GC_register_disappearing_link: link not in the heap");
	return gc_link(link, base, 0);
}

int GC_unregister_disappearing_link(void **link)
{
	return gcu.info.fd >= 0 && !gcu_weak_unregister(link, 0);
}

int GC_unregister_long_link(void **link)
{
	return gcu.info.fd >= 0 && !gcu_weak_unregister(link, GCU_WEAK_LONG);
}

static int gc_move(void **link, void **new_link, unsigned int flags)
{
	if (gcu.info.fd < 0)
		return GC_NOT_FOUND;
	if (((uintptr_t)new_link & 7) || !new_link)
		gc_abort("GC_move_disappearing_link: bad new link");
	if (!gcu_weak_move(link, new_link, flags))
		return GC_SUCCESS;
	return errno == EEXIST ? GC_DUPLICATE : GC_NOT_FOUND;
}

int GC_move_disappearing_link(void **link, void **new_link)
{
	return gc_move(link, new_link, 0);
}

int GC_move_long_link(void **link, void **new_link)
{
	return gc_move(link, new_link, GCU_WEAK_LONG);
}

/*
 * Objects with a closure run when they are freed (gc_disclaim.h): the
 * closure lives in a word before the object, and a no-order finalizer
 * calls it with the object's address as the program sees it.
 */
struct GC_finalizer_closure {
	GC_finalization_proc proc;
	void *cd;
};

void GC_init_finalized_malloc(void)
{
	gc_ready();
}

static void gc_finalized(void *obj, void *cd)
{
	const struct GC_finalizer_closure *fc = cd;

	fc->proc((char *)obj + sizeof(void *), fc->cd);
}

void *GC_finalized_malloc(size_t size,
			  const struct GC_finalizer_closure *fc)
{
	void **p;

	if (size > SIZE_MAX - sizeof(void *))
		return gc_oom(size);
	p = GC_malloc(size + sizeof(void *));
	if (!p)
		return NULL;
	p[0] = (void *)fc;
	gcu_register_finalizer_flags(p, gc_finalized, (void *)fc,
				     GCU_FINALIZER_NO_ORDER, NULL, NULL);
	return p + 1;
}
