// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgcuser: finalizers and weak references.
 *
 * The kernel does the collector's part (kmod/finalize.c): it finds the
 * registered objects that are unreachable, keeps them alive and queues
 * them; it clears weak references. The library keeps what the kernel has
 * no use for: each registered object's function and client data, in a
 * table that is an open-addressed hash in an anonymous mapping registered
 * as a conservative root (the client data stays alive, as in bdwgc). The
 * object's own address is stored bit-inverted, which is never an address
 * in the arena, so the table does not keep the object alive.
 *
 * gcu_run_finalizers() takes ready objects from the kernel
 * (GCMEM_IOC_FINALIZE) into a buffer on the running thread's stack, which
 * the collector scans; each entry leaves the table and its function is
 * called with the object and the client data. A finalizer may store the
 * object somewhere reachable (resurrection); it is an ordinary object
 * from then on. By default, as in bdwgc, the thread that allocates after a
 * cycle found finalizable objects runs their finalizers (in the allocation
 * slow path, never inside a finalizer); gcu_set_finalize_on_demand(1)
 * leaves them for explicit gcu_run_finalizers() calls.
 *
 * Lock order: fin.lock, then unc.lock, then gcu_lock (the fork handlers).
 */
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "internal.h"

#define GCU_FIN_TOMB	((uintptr_t)1)	/* a removed entry */
#define GCU_FIN_MIN	256		/* entries of the first table */
#define GCU_FIN_BATCH	64		/* objects taken per ioctl */

struct gcu_fin_entry {
	uintptr_t hidden;		/* ~object; 0 free, GCU_FIN_TOMB */
	gcu_finalizer_fn fn;
	void *cd;
};

static struct {
	struct gcu_fin_entry *v;
	size_t cap, used;		/* used: live entries and tombstones */
	uint64_t generation;		/* the heap the table is rooted in */
	int on_demand;
	pthread_mutex_t lock;
} fin = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Finalizers being run by this thread: none is started from inside one. */
static __thread int gcu_fin_running;

static size_t gcu_fin_hash(uintptr_t hidden, size_t cap)
{
	return (size_t)((~hidden >> 4) * 0x9e3779b97f4a7c15ULL >> 17) &
	       (cap - 1);
}

static void gcu_fin_put(struct gcu_fin_entry *v, size_t cap,
			const struct gcu_fin_entry *e)
{
	size_t i = gcu_fin_hash(e->hidden, cap);

	while (v[i].hidden && v[i].hidden != GCU_FIN_TOMB)
		i = (i + 1) & (cap - 1);
	v[i] = *e;
}

/* The entry of @obj, or NULL. Holds fin.lock. */
static struct gcu_fin_entry *gcu_fin_find(uintptr_t obj)
{
	size_t i;

	if (!fin.v || fin.generation != gcu.generation)
		return NULL;
	for (i = gcu_fin_hash(~obj, fin.cap); fin.v[i].hidden;
	     i = (i + 1) & (fin.cap - 1))
		if (fin.v[i].hidden == ~obj)
			return &fin.v[i];
	return NULL;
}

/* Room for one more entry, in a table rooted in the current heap. */
static int gcu_fin_reserve(void)
{
	size_t cap = fin.cap, live = 0, i, bytes;
	struct gcu_fin_entry *v;

	if (fin.v && fin.generation != gcu.generation) {
		/* The table of an earlier heap: its root went with it. */
		munmap(fin.v, fin.cap * sizeof(*fin.v));
		fin.v = NULL;
		fin.cap = fin.used = 0;
	}
	if (fin.v && (fin.used + 1) * 4 < cap * 3)
		return 0;
	for (i = 0; i < cap; i++)
		live += fin.v[i].hidden > GCU_FIN_TOMB;
	cap = GCU_FIN_MIN;
	while ((live + 1) * 2 > cap)
		cap *= 2;
	bytes = cap * sizeof(*v);
	v = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v == MAP_FAILED)
		return -1;
	for (i = 0; i < fin.cap; i++)
		if (fin.v[i].hidden > GCU_FIN_TOMB)
			gcu_fin_put(v, cap, &fin.v[i]);
	/* The new table is a root before the old one stops being one. */
	if (gcu_root_add(v, bytes, GCU_TYPE_CONSERVATIVE)) {
		munmap(v, bytes);
		return -1;
	}
	if (fin.v) {
		gcu_root_remove(fin.v, fin.cap * sizeof(*fin.v));
		munmap(fin.v, fin.cap * sizeof(*fin.v));
	}
	fin.v = v;
	fin.cap = cap;
	fin.used = live;
	fin.generation = gcu.generation;
	return 0;
}

static int gcu_fin_ioctl(uintptr_t obj, uint32_t flags)
{
	struct gcmem_finalizer f = {
		.size = sizeof(f),
		.flags = flags,
		.addr = obj,
	};

	return ioctl(gcu.info.fd, GCMEM_IOC_FINALIZER, &f);
}

int gcu_register_finalizer_flags(void *obj, gcu_finalizer_fn fn, void *cd,
				 unsigned int flags, gcu_finalizer_fn *ofn,
				 void **ocd)
{
	uint32_t kflags = (flags & GCU_FINALIZER_NO_ORDER ?
			   GCMEM_FINALIZER_NO_ORDER : 0) |
			  (flags & GCU_FINALIZER_IGNORE_SELF ?
			   GCMEM_FINALIZER_IGNORE_SELF : 0);
	struct gcu_fin_entry *e, add = {
		.hidden = ~(uintptr_t)obj, .fn = fn, .cd = cd,
	};
	int ret = 0;

	if (ofn)
		*ofn = NULL;
	if (ocd)
		*ocd = NULL;
	if (flags & ~(GCU_FINALIZER_NO_ORDER | GCU_FINALIZER_IGNORE_SELF) ||
	    kflags == (GCMEM_FINALIZER_NO_ORDER | GCMEM_FINALIZER_IGNORE_SELF)) {
		errno = EINVAL;
		return -1;
	}
	if (gcu.info.fd < 0) {
		errno = ENXIO;
		return -1;
	}
	pthread_mutex_lock(&fin.lock);
	e = gcu_fin_find((uintptr_t)obj);
	if (e) {
		if (ofn)
			*ofn = e->fn;
		if (ocd)
			*ocd = e->cd;
	}
	if (!fn) {
		/* Take it back: the kernel first, so that it never queues it. */
		if (e && !gcu_fin_ioctl((uintptr_t)obj,
					GCMEM_FINALIZER_REMOVE))
			e->hidden = GCU_FIN_TOMB;
		goto out;
	}
	if (!e && gcu_fin_reserve()) {
		ret = -1;
		goto out;
	}
	/* The kernel refuses anything but the start of an object. */
	if (gcu_fin_ioctl((uintptr_t)obj, kflags)) {
		ret = -1;
		goto out;
	}
	e = gcu_fin_find((uintptr_t)obj);
	if (e) {
		*e = add;
	} else {
		gcu_fin_put(fin.v, fin.cap, &add);
		fin.used++;
	}
out:
	pthread_mutex_unlock(&fin.lock);
	return ret;
}

int gcu_register_finalizer(void *obj, gcu_finalizer_fn fn, void *cd,
			   gcu_finalizer_fn *ofn, void **ocd)
{
	return gcu_register_finalizer_flags(obj, fn, cd, 0, ofn, ocd);
}

size_t gcu_finalizers_ready(void)
{
	const volatile struct gcmem_control *ctl = gcu.info.control;

	if (gcu.info.fd < 0 || !ctl)
		return 0;
	return __atomic_load_n(&ctl->finalizers_ready, __ATOMIC_RELAXED);
}

/* Take up to GCU_FIN_BATCH ready objects into @buf, a scanned buffer. */
static int gcu_fin_take(uint64_t *buf)
{
	struct gcmem_finalize f = {
		.size = sizeof(f),
		.buf = (uintptr_t)buf,
		.count = GCU_FIN_BATCH,
	};

	if (ioctl(gcu.info.fd, GCMEM_IOC_FINALIZE, &f))
		return -1;
	return (int)f.count;
}

/*
 * @buf lives on the stack of a registered thread: the collector scans it,
 * so each object stays alive until its finalizer has returned.
 */
static __attribute__((noinline)) int gcu_fin_batch(volatile uint64_t *buf)
{
	gcu_finalizer_fn fn[GCU_FIN_BATCH];
	void *cd[GCU_FIN_BATCH];
	struct gcu_fin_entry *e;
	int n, i, ran = 0;

	pthread_mutex_lock(&fin.lock);
	n = gcu_fin_take((uint64_t *)buf);
	for (i = 0; i < n; i++) {
		e = gcu_fin_find(buf[i]);
		fn[i] = e ? e->fn : NULL;
		cd[i] = e ? e->cd : NULL;
		if (e)
			e->hidden = GCU_FIN_TOMB;
	}
	pthread_mutex_unlock(&fin.lock);
	for (i = 0; i < n; i++) {
		if (fn[i]) {
			fn[i]((void *)(uintptr_t)buf[i], cd[i]);
			ran++;
		}
		buf[i] = 0;
		cd[i] = NULL;
	}
	return n < 0 ? -1 : ran;
}

int gcu_run_finalizers(void)
{
	volatile uint64_t buf[GCU_FIN_BATCH] = { 0 };
	int n, ran = 0;

	if (gcu.info.fd < 0) {
		errno = ENXIO;
		return -1;
	}
	/* The buffer is scanned only if this thread is registered. */
	if ((!gcu_self || gcu_self->generation != gcu.generation) &&
	    !gcu_thread_self_slow())
		return -1;
	gcu_fin_running++;
	while (gcu_finalizers_ready()) {
		n = gcu_fin_batch(buf);
		if (n < 0) {
			ran = ran ? ran : -1;
			break;
		}
		ran += n;
	}
	gcu_fin_running--;
	return ran;
}

/* Hold finalizers (and the notifier) off in this thread, and let them go. */
void gcu_fin_hold(void)
{
	gcu_fin_running++;
}

void gcu_fin_release(void)
{
	gcu_fin_running--;
}

static gcu_notifier_fn gcu_fin_notifier;
static uint64_t gcu_fin_notified;	/* the last cycle notified of */

/*
 * After a slow path: run what a cycle made ready, unless asked not to;
 * then tell the notifier, once per cycle that left objects ready.
 */
void gcu_fin_maybe_run(void)
{
	const struct gcmem_control *ctl;
	gcu_notifier_fn fn;
	uint64_t cycle;

	if (likely(!gcu_finalizers_ready()) || gcu_fin_running)
		return;
	if (!__atomic_load_n(&fin.on_demand, __ATOMIC_RELAXED)) {
		gcu_run_finalizers();
		return;
	}
	fn = __atomic_load_n(&gcu_fin_notifier, __ATOMIC_ACQUIRE);
	ctl = (const struct gcmem_control *)gcu.info.control;
	cycle = __atomic_load_n(&ctl->cycle, __ATOMIC_RELAXED);
	if (fn && __atomic_exchange_n(&gcu_fin_notified, cycle,
				      __ATOMIC_RELAXED) != cycle) {
		gcu_fin_running++;
		fn();
		gcu_fin_running--;
	}
}

void gcu_after_slow_path(void)
{
	void (*hook)(void);

	if (gcu_fin_running)
		return;
	hook = __atomic_load_n(&gcu_slow_hook, __ATOMIC_ACQUIRE);
	if (hook)
		hook();
	gcu_fin_maybe_run();
}

void gcu_set_finalizer_notifier(gcu_notifier_fn fn)
{
	__atomic_store_n(&gcu_fin_notifier, fn, __ATOMIC_RELEASE);
}

void gcu_set_finalize_on_demand(int on)
{
	__atomic_store_n(&fin.on_demand, !!on, __ATOMIC_RELAXED);
}

int gcu_get_finalize_on_demand(void)
{
	return __atomic_load_n(&fin.on_demand, __ATOMIC_RELAXED);
}

/* One GCMEM_IOC_WEAK call: @op is 0, GCMEM_WEAK_REMOVE or _MOVE. */
static int gcu_weak_op(uint32_t op, void **link, uintptr_t addr,
		       unsigned int flags)
{
	struct gcmem_weak w = {
		.size = sizeof(w),
		.flags = op | (flags & GCU_WEAK_LONG ? GCMEM_WEAK_LONG : 0),
		.link = (uintptr_t)link,
		.addr = addr,
	};

	if (flags & ~GCU_WEAK_LONG) {
		errno = EINVAL;
		return -1;
	}
	if (gcu.info.fd < 0) {
		errno = ENXIO;
		return -1;
	}
	return ioctl(gcu.info.fd, GCMEM_IOC_WEAK, &w);
}

int gcu_weak_register(void **link, const void *obj, unsigned int flags)
{
	return gcu_weak_op(0, link, (uintptr_t)obj, flags);
}

int gcu_weak_unregister(void **link, unsigned int flags)
{
	return gcu_weak_op(GCMEM_WEAK_REMOVE, link, 0, flags);
}

int gcu_weak_move(void **link, void **new_link, unsigned int flags)
{
	return gcu_weak_op(GCMEM_WEAK_MOVE, link, (uintptr_t)new_link, flags);
}

/* fork(): the handlers hold the table's lock first (the order above). */
void gcu_fin_lock(void)
{
	pthread_mutex_lock(&fin.lock);
}

void gcu_fin_unlock(void)
{
	pthread_mutex_unlock(&fin.lock);
}

/*
 * A child after fork(): the table is its own memory at the same address,
 * and the kernel's copy of the heap kept its root and the registrations.
 */
void gcu_fin_fork_child(void)
{
	if (fin.v)
		fin.generation = gcu.generation;
}
