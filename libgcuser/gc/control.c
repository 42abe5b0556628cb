// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgc.so.1: starting the collector, collecting, tunables, statistics,
 * callbacks and roots -- bdwgc's control calls on libgcuser.
 *
 * Initialization is lazy: the first call that needs the heap opens it, in
 * whatever thread makes it (GC_init() is optional, and may come from any
 * thread). bdwgc's environment variables GC_DONT_GC,
 * GC_MAXIMUM_HEAP_SIZE and GC_FREE_SPACE_DIVISOR are honoured then, and
 * GCMEM_GC_STATS=FILE appends one line of the heap's statistics to FILE
 * when the program exits (how the tests know the program ran on gcmem,
 * and collected).
 *
 * Pacing: libgcuser collects when the heap in use reaches (1 + gcpercent /
 * 100) times what the last collection left. bdwgc's free space divisor D
 * (default 3) maps to gcpercent 300 / D, so the default is libgcuser's
 * default of 100; GC_dont_gc above zero, or automatic collection disabled,
 * is gcpercent -1: no collection but on request and at the heap's limit.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "compat.h"

/* bdwgc's exported tunables, with its defaults. */
int GC_all_interior_pointers = 1;
int GC_java_finalization = 1;
GC_word GC_free_space_divisor = 3;
int GC_dont_gc;
int GC_dont_expand;
int GC_dont_precollect;
int GC_find_leak;
int GC_full_freq = 19;
int GC_no_dls;
int GC_parallel;
int GC_use_entire_heap;
GC_word GC_gc_no;
GC_word GC_max_retries;
GC_word GC_non_gc_bytes;
unsigned long GC_time_limit = 50;
char *GC_stackbottom;
void *GC_least_plausible_heap_addr;
void *GC_greatest_plausible_heap_addr;
GC_on_heap_resize_proc GC_on_heap_resize;
/* bdwgc's internal state, exported by its library: nothing here. */
char GC_arrays[0x2c9f0];

static void gc_default_warn(char *msg, GC_word arg)
{
	fprintf(stderr, "GC Warning: ");
	fprintf(stderr, msg, arg);
}

static void gc_default_abort(const char *msg)
{
	if (msg)
		fprintf(stderr, "%s\n", msg);
}

/* bdwgc's default: no memory to offer (never NULL, so it can be chained). */
static void *gc_default_oom(size_t size)
{
	(void)size;
	return NULL;
}

static GC_warn_proc gc_warn_fn = gc_default_warn;
GC_oom_func GC_oom_fn = gc_default_oom;
static GC_abort_func gc_abort_fn = gc_default_abort;
void (*GC_on_abort)(const char *msg) = gc_default_abort;
static GC_on_collection_event_proc gc_event_fn;
static GC_on_thread_event_proc gc_thread_event_fn;
static GC_stop_func gc_stop_fn;
static int gc_init_called;
static int gc_auto_off;
static int gc_rate = 10, gc_prior_attempts = 1, gc_force_unmap;
static int gc_pages_exec, gc_manual_vdb;
static size_t gc_min_bytes_allocd = 1;
static unsigned long gc_time_limit_ns;
static int gc_log_fd = 2;
pthread_mutex_t gc_lock = PTHREAD_MUTEX_INITIALIZER;

void gc_warn(const char *msg, GC_word arg)
{
	GC_warn_proc fn = __atomic_load_n(&gc_warn_fn, __ATOMIC_ACQUIRE);
	char buf[256];

	snprintf(buf, sizeof(buf), "%s\n", msg);
	fn(buf, arg);
}

void gc_abort(const char *msg)
{
	GC_abort_func fn = __atomic_load_n(&gc_abort_fn, __ATOMIC_ACQUIRE);

	fn(msg);
	abort();
}

void gc_unsupported(const char *fn)
{
	char msg[160];

	snprintf(msg, sizeof(msg),
		 "gcmem: %s is not supported by gcmem's libgc (see docs/bdwgc.md)",
		 fn);
	gc_abort(msg);
}

void *gc_oom(size_t size)
{
	GC_oom_func fn = __atomic_load_n(&GC_oom_fn, __ATOMIC_ACQUIRE);

	return fn ? fn(size) : NULL;
}

/* What gc_apply_pacing() last told libgcuser, for gc_sync(). */
static struct {
	int dont_gc, auto_off;
	GC_word divisor;
} gc_applied;

void gc_apply_pacing(void)
{
	GC_word d;
	int percent;

	pthread_mutex_lock(&gc_lock);
	d = GC_free_space_divisor;
	percent = (int)(300 / (d ? d : 1));
	if (percent < 10)
		percent = 10;
	gc_applied.dont_gc = GC_dont_gc;
	gc_applied.auto_off = gc_auto_off;
	gc_applied.divisor = d;
	if (gcu.info.fd >= 0)
		gcu_set_gcpercent(GC_dont_gc > 0 || gc_auto_off ? -1 : percent);
	pthread_mutex_unlock(&gc_lock);
}

static void gc_sync_gc_no(void);

/*
 * After each of libgcuser's slow paths (a refill, a large object, a
 * collection): bdwgc's programs write its variables directly and expect
 * the collector to notice, and read GC_gc_no. A few loads when nothing
 * changed.
 */
static void gc_sync(void)
{
	int on_demand = __atomic_load_n(&GC_finalize_on_demand,
					__ATOMIC_RELAXED);

	gc_sync_gc_no();
	if (__atomic_load_n(&GC_dont_gc, __ATOMIC_RELAXED) !=
	    gc_applied.dont_gc || gc_auto_off != gc_applied.auto_off ||
	    __atomic_load_n(&GC_free_space_divisor, __ATOMIC_RELAXED) !=
	    gc_applied.divisor)
		gc_apply_pacing();
	if (on_demand != gcu_get_finalize_on_demand())
		gcu_set_finalize_on_demand(on_demand);
	if (__atomic_load_n(&GC_push_other_roots, __ATOMIC_RELAXED))
		gc_unsupported("GC_push_other_roots");
}

static char *gc_stats_file;

/* atexit(): "gcmem-libgc: pid P, N collections, ..." to GCMEM_GC_STATS. */
static void gc_report(void)
{
	struct gcu_heap_stats st;
	FILE *f;

	if (gcu.info.fd < 0 || gcu_stats(&st))
		return;
	f = fopen(gc_stats_file, "a");
	if (!f)
		return;
	fprintf(f, "gcmem-libgc: pid %d, %llu collections, %llu abandoned, "
		"%llu bytes peak committed, %llu bytes in use, %u threads, "
		"%llu ms paused\n", (int)getpid(),
		(unsigned long long)st.cycles,
		(unsigned long long)st.abandoned,
		(unsigned long long)st.peak_committed,
		(unsigned long long)st.inuse_bytes, st.threads,
		(unsigned long long)(st.pause_total_ns / 1000000));
	fclose(f);
}

/* A number from the environment, with bdwgc's K, M and G suffixes. */
static unsigned long gc_env(const char *name, unsigned long dflt)
{
	const char *s = getenv(name);
	uint64_t v;

	return s && !gcu_env_bytes(s, &v) && v <= ULONG_MAX ? v : dflt;
}

void GC_init(void)
{
	const struct gcmem_control *ctl;
	unsigned long max;
	const char *s;
	char msg[128];

	if (gcu_init() && errno != EBUSY) {
		snprintf(msg, sizeof(msg), "gcmem: cannot open %s: %s",
			 GCMEM_DEVICE, strerror(errno));
		gc_abort(msg);
	}
	/* A second GC_init(), or one racing another thread's: one heap. */
	if (__atomic_exchange_n(&gc_init_called, 1, __ATOMIC_ACQ_REL))
		return;
	ctl = (const struct gcmem_control *)gcu.info.control;
	GC_least_plausible_heap_addr = gcu.info.arena;
	GC_greatest_plausible_heap_addr = (char *)gcu.info.arena +
					  gcu.info.arena_size;
	GC_parallel = (int)sysconf(_SC_NPROCESSORS_ONLN) > 1;
	GC_gc_no = ctl->cycle;
	if (getenv("GC_DONT_GC"))
		GC_dont_gc = 1;
	GC_free_space_divisor = gc_env("GC_FREE_SPACE_DIVISOR",
				       GC_free_space_divisor);
	max = gc_env("GC_MAXIMUM_HEAP_SIZE", 0);
	if (max)
		GC_set_max_heap_size(max);
	if (getenv("GC_ENABLE_INCREMENTAL"))
		GC_enable_incremental();
	if (GC_find_leak)
		gc_warn("gcmem has no leak-finding mode: collecting (%lu)", 0);
	gcu_set_finalize_on_demand(GC_finalize_on_demand);
	gc_apply_pacing();
	gcu_set_finalizer_notifier(gc_notify);
	__atomic_store_n(&gcu_slow_hook, gc_sync, __ATOMIC_RELEASE);
	gc_fork_init();
	s = getenv("GCMEM_GC_STATS");
	if (s && *s) {
		gc_stats_file = strdup(s);
		if (gc_stats_file)
			atexit(gc_report);
	}
}

void gc_lazy_init(void)
{
	GC_init();
}

int GC_is_init_called(void)
{
	return __atomic_load_n(&gc_init_called, __ATOMIC_ACQUIRE);
}

/* The heap stays: objects the program still holds must stay readable. */
void GC_deinit(void)
{
}

static void gc_event(GC_EventType ev)
{
	GC_on_collection_event_proc fn =
		__atomic_load_n(&gc_event_fn, __ATOMIC_ACQUIRE);

	if (fn)
		fn(ev);
}

static void gc_sync_gc_no(void)
{
	const struct gcmem_control *ctl =
		(const struct gcmem_control *)gcu.info.control;

	if (ctl)
		GC_gc_no = __atomic_load_n(&ctl->cycle, __ATOMIC_RELAXED);
}

int GC_try_to_collect(GC_stop_func stop)
{
	int ret;

	gc_ready();
	if (GC_dont_gc > 0 || (stop && stop()))
		return 0;
	gcu_set_finalize_on_demand(GC_finalize_on_demand);
	gc_event(GC_EVENT_START);
	ret = gcu_collect();
	gc_event(GC_EVENT_END);
	gc_sync_gc_no();
	return !ret;
}

void GC_gcollect(void)
{
	GC_try_to_collect(NULL);
}

void GC_gcollect_and_unmap(void)
{
	GC_try_to_collect(NULL);
}

/* Nothing is collected a little at a time: no collection in progress. */
int GC_collect_a_little(void)
{
	return 0;
}

void GC_disable(void)
{
	gc_ready();
	__atomic_add_fetch(&GC_dont_gc, 1, __ATOMIC_ACQ_REL);
	gc_apply_pacing();
}

void GC_enable(void)
{
	int n = __atomic_load_n(&GC_dont_gc, __ATOMIC_ACQUIRE);

	while (n > 0 && !__atomic_compare_exchange_n(&GC_dont_gc, &n, n - 1,
						     0, __ATOMIC_ACQ_REL,
						     __ATOMIC_ACQUIRE))
		;
	if (n <= 0)
		gc_warn("GC_enable() without GC_disable() (%lu)", 0);
	gc_apply_pacing();
}

int GC_is_disabled(void)
{
	return __atomic_load_n(&GC_dont_gc, __ATOMIC_ACQUIRE) > 0;
}

void GC_set_disable_automatic_collection(int on)
{
	gc_auto_off = !!on;
	gc_apply_pacing();
}

int GC_get_disable_automatic_collection(void)
{
	return gc_auto_off;
}

/*
 * bdwgc's incremental mode is gcmem's concurrent mode: the mark runs
 * beside the program, whose writes the kernel tracks without protecting
 * anything the program can see (GC_PROTECTS_NONE).
 */
static int gc_incremental;

void GC_enable_incremental(void)
{
	gc_ready();
	if (!gcu_set_mode(GCU_MODE_CONCURRENT))
		__atomic_store_n(&gc_incremental, 1, __ATOMIC_RELAXED);
}

int GC_is_incremental_mode(void)
{
	return __atomic_load_n(&gc_incremental, __ATOMIC_RELAXED);
}

void GC_start_incremental_collection(void)
{
}

int GC_incremental_protection_needs(void)
{
	return GC_PROTECTS_NONE;
}

/* The kernel commits memory as it is used; nothing to expand ahead. */
int GC_expand_hp(size_t bytes)
{
	(void)bytes;
	gc_ready();
	return 1;
}

/*
 * The heap's limit, rounded up to the kernel's 2 MiB chunks. 0, bdwgc's
 * "no limit", keeps the kernel's default (a quarter of RAM): gcmem's memory
 * is charged to the memory cgroup but not to the process, so the OOM
 * killer would not pick it. A limit below what is in use is refused by the
 * kernel (EBUSY): said, and not applied.
 */
void GC_set_max_heap_size(GC_word bytes)
{
	uint64_t chunk;

	gc_ready();
	if (!bytes)
		return;
	chunk = gcu.info.chunk_size ? gcu.info.chunk_size : 1;
	if (bytes > gcu.info.arena_size)
		bytes = gcu.info.arena_size;
	bytes = (bytes + chunk - 1) / chunk * chunk;
	if (gcu_set_limit(bytes))
		gc_warn("GC_set_max_heap_size: the kernel refused %lu bytes",
			bytes);
}

void *GC_clear_stack(void *p)
{
	return p;
}

/* Tunables kept for the program to read back. */
#define GC_TUNABLE(name, type, var)		\
void GC_set_##name(type v)			\
{						\
	var = v;				\
}						\
type GC_get_##name(void)			\
{						\
	return var;				\
}

GC_TUNABLE(dont_expand, int, GC_dont_expand)
GC_TUNABLE(dont_precollect, int, GC_dont_precollect)
GC_TUNABLE(full_freq, int, GC_full_freq)
GC_TUNABLE(no_dls, int, GC_no_dls)
GC_TUNABLE(max_retries, GC_word, GC_max_retries)
GC_TUNABLE(non_gc_bytes, GC_word, GC_non_gc_bytes)
GC_TUNABLE(time_limit, unsigned long, GC_time_limit)
GC_TUNABLE(java_finalization, int, GC_java_finalization)
GC_TUNABLE(force_unmap_on_gcollect, int, gc_force_unmap)
GC_TUNABLE(pages_executable, int, gc_pages_exec)
GC_TUNABLE(rate, int, gc_rate)
GC_TUNABLE(max_prior_attempts, int, gc_prior_attempts)
GC_TUNABLE(min_bytes_allocd, size_t, gc_min_bytes_allocd)
GC_TUNABLE(manual_vdb_allowed, int, gc_manual_vdb)
GC_TUNABLE(stop_func, GC_stop_func, gc_stop_fn)
GC_TUNABLE(on_collection_event, GC_on_collection_event_proc, gc_event_fn)
GC_TUNABLE(on_thread_event, GC_on_thread_event_proc, gc_thread_event_fn)
GC_TUNABLE(on_heap_resize, GC_on_heap_resize_proc, GC_on_heap_resize)

void GC_set_time_limit_tv(struct GC_timeval_s tv)
{
	GC_time_limit = tv.tv_ms;
	gc_time_limit_ns = tv.tv_nsec;
}

struct GC_timeval_s GC_get_time_limit_tv(void)
{
	struct GC_timeval_s tv = { GC_time_limit, gc_time_limit_ns };

	return tv;
}

/* Interior pointers always count: asking for fewer is a no-op. */
void GC_set_all_interior_pointers(int on)
{
	(void)on;
}

int GC_get_all_interior_pointers(void)
{
	return 1;
}

void GC_set_free_space_divisor(GC_word d)
{
	GC_free_space_divisor = d ? d : 1;
	gc_apply_pacing();
}

GC_word GC_get_free_space_divisor(void)
{
	return GC_free_space_divisor;
}

void GC_set_find_leak(int on)
{
	GC_find_leak = on;
	if (on)
		gc_warn("gcmem has no leak-finding mode: collecting (%lu)", 0);
}

int GC_get_find_leak(void)
{
	return GC_find_leak;
}

void GC_set_handle_fork(int on)
{
	(void)on;	/* libgcuser's fork handlers are always installed */
}

/* The kernel's per-CPU workers mark; the program starts none. */
void GC_set_markers_count(unsigned int n)
{
	(void)n;
}

void GC_start_mark_threads(void)
{
}

int GC_get_parallel(void)
{
	return GC_parallel;
}

unsigned int GC_get_version(void)
{
	return GC_VERSION_MAJOR << 16 | GC_VERSION_MINOR << 8 |
	       GC_VERSION_MICRO;
}

/* Statistics: one ioctl each (bdwgc's are loads; these are not hot). */
static struct gcu_heap_stats gc_stats(void)
{
	struct gcu_heap_stats st = { 0 };

	gc_ready();
	gcu_stats(&st);
	return st;
}

/* Committed but not in use: bdwgc's "free" heap. */
static size_t gc_free_of(const struct gcu_heap_stats *st)
{
	return st->committed > st->inuse_bytes ?
	       st->committed - st->inuse_bytes : 0;
}

/* Grown since the last collection left the heap. */
static size_t gc_since_of(const struct gcu_heap_stats *st)
{
	return st->inuse_bytes > st->heap_after ?
	       st->inuse_bytes - st->heap_after : 0;
}

size_t GC_get_heap_size(void)
{
	return gc_stats().committed;
}

size_t GC_get_free_bytes(void)
{
	struct gcu_heap_stats st = gc_stats();

	return gc_free_of(&st);
}

size_t GC_get_unmapped_bytes(void)
{
	return 0;
}

size_t GC_get_bytes_since_gc(void)
{
	struct gcu_heap_stats st = gc_stats();

	return gc_since_of(&st);
}

/*
 * Everything ever allocated: what is in use and what was freed, which
 * bdwgc promises never decreases (an explicit free of a large object can
 * make the sum drop for a moment).
 */
size_t GC_get_total_bytes(void)
{
	static size_t most;
	struct gcu_heap_stats st = gc_stats();
	size_t total = st.inuse_bytes + st.freed_bytes;
	size_t seen = __atomic_load_n(&most, __ATOMIC_RELAXED);

	while (total > seen &&
	       !__atomic_compare_exchange_n(&most, &seen, total, 0,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return total > seen ? total : seen;
}

size_t GC_get_obtained_from_os_bytes(void)
{
	return gc_stats().peak_committed;
}

size_t GC_get_memory_use(void)
{
	return gc_stats().inuse_bytes;
}

GC_word GC_get_gc_no(void)
{
	gc_ready();
	gc_sync_gc_no();
	return GC_gc_no;
}

unsigned long GC_get_full_gc_total_time(void)
{
	return gc_stats().pause_total_ns / 1000000;
}

void GC_start_performance_measurement(void)
{
}

void GC_get_heap_usage_safe(GC_word *heap_size, GC_word *free_bytes,
			    GC_word *unmapped_bytes, GC_word *bytes_since_gc,
			    GC_word *total_bytes)
{
	struct gcu_heap_stats st = gc_stats();

	if (heap_size)
		*heap_size = st.committed;
	if (free_bytes)
		*free_bytes = gc_free_of(&st);
	if (unmapped_bytes)
		*unmapped_bytes = 0;
	if (bytes_since_gc)
		*bytes_since_gc = gc_since_of(&st);
	if (total_bytes)
		*total_bytes = st.inuse_bytes + st.freed_bytes;
}

size_t GC_get_prof_stats(struct GC_prof_stats_s *out, size_t size)
{
	struct gcu_heap_stats st = gc_stats();
	struct GC_prof_stats_s ps = {
		.heapsize_full = st.committed,
		.free_bytes_full = gc_free_of(&st),
		.bytes_allocd_since_gc = gc_since_of(&st),
		.allocd_bytes_before_gc = st.heap_after + st.freed_bytes,
		.non_gc_bytes = GC_non_gc_bytes,
		.gc_no = st.cycles,
		.markers_m1 = (GC_word)sysconf(_SC_NPROCESSORS_ONLN) - 1,
		.bytes_reclaimed_since_gc = 0,
		.reclaimed_bytes_before_gc = st.freed_bytes,
		.expl_freed_bytes_since_gc = GC_get_expl_freed_bytes_since_gc(),
		.obtained_from_os_bytes = st.peak_committed,
	};

	if (size > sizeof(ps)) {
		memset((char *)out + sizeof(ps), 0xff, size - sizeof(ps));
		size = sizeof(ps);
	}
	memcpy(out, &ps, size);
	return size;
}

size_t GC_get_prof_stats_unsafe(struct GC_prof_stats_s *out, size_t size)
{
	return GC_get_prof_stats(out, size);
}

void GC_dump_named(const char *name)
{
	struct gcu_heap_stats st = gc_stats();

	GC_printf("***gcmem heap%s%s: %lu bytes committed, %lu in use, "
		  "%lu collections, %lu threads\n", name ? " " : "",
		  name ? name : "", (unsigned long)st.committed,
		  (unsigned long)st.inuse_bytes, (unsigned long)st.cycles,
		  (unsigned long)st.threads);
}

void GC_dump(void)
{
	GC_dump_named(NULL);
}

void GC_dump_regions(void)
{
	GC_dump_named("regions");
}

/* Callbacks. */
void GC_set_warn_proc(GC_warn_proc fn)
{
	__atomic_store_n(&gc_warn_fn, fn ? fn : gc_default_warn,
			 __ATOMIC_RELEASE);
}

GC_warn_proc GC_get_warn_proc(void)
{
	return __atomic_load_n(&gc_warn_fn, __ATOMIC_ACQUIRE);
}

void GC_ignore_warn_proc(char *msg, GC_word arg)
{
	(void)msg, (void)arg;
}

void GC_set_oom_fn(GC_oom_func fn)
{
	__atomic_store_n(&GC_oom_fn, fn ? fn : gc_default_oom,
			 __ATOMIC_RELEASE);
}

GC_oom_func GC_get_oom_fn(void)
{
	return __atomic_load_n(&GC_oom_fn, __ATOMIC_ACQUIRE);
}

/* As bdwgc's: say so and exit. */
void GC_abort_on_oom(void)
{
	fprintf(stderr, "gcmem: out of memory\n");
	exit(1);
}

void GC_set_abort_func(GC_abort_func fn)
{
	__atomic_store_n(&gc_abort_fn, fn ? fn : gc_default_abort,
			 __ATOMIC_RELEASE);
	GC_on_abort = fn ? fn : gc_default_abort;
}

GC_abort_func GC_get_abort_func(void)
{
	return __atomic_load_n(&gc_abort_fn, __ATOMIC_ACQUIRE);
}

/*
 * Roots the program adds, as bdwgc keeps them: adding a range that starts
 * where one added before starts grows that one to cover both (the kernel
 * registers one range per start), and GC_remove_roots() takes every added
 * range that lies inside the one it is given. Overlaps with the writable
 * segments libgcuser registered are fine: the kernel scans both. A range
 * the kernel refuses would leave memory unscanned: abort.
 */
#define GC_MAX_ADDED	4096
static struct {
	uintptr_t lo[GC_MAX_ADDED], hi[GC_MAX_ADDED];
	unsigned int n;
} gc_added;

void GC_add_roots(void *low, void *high_plus_1)
{
	uintptr_t lo = ((uintptr_t)low + 7) & ~(uintptr_t)7;
	uintptr_t hi = (uintptr_t)high_plus_1 & ~(uintptr_t)7;
	unsigned int i;
	char msg[96];

	gc_ready();
	if (hi <= lo)
		return;
	pthread_mutex_lock(&gc_lock);
	for (i = 0; i < gc_added.n && gc_added.lo[i] != lo; i++)
		;
	if (i < gc_added.n) {
		if (hi <= gc_added.hi[i])
			goto out;
		gcu_root_remove((void *)lo, gc_added.hi[i] - lo);
	} else if (i == GC_MAX_ADDED) {
		errno = ENOSPC;
		goto fail;
	}
	if (gcu_root_add((void *)lo, hi - lo, GCU_TYPE_CONSERVATIVE))
		goto fail;
	gc_added.lo[i] = lo;
	gc_added.hi[i] = hi;
	if (i == gc_added.n)
		gc_added.n++;
out:
	pthread_mutex_unlock(&gc_lock);
	return;
fail:
	snprintf(msg, sizeof(msg), "GC_add_roots: the kernel refused a root: %s",
		 strerror(errno));
	gc_abort(msg);
}

void GC_remove_roots(void *low, void *high_plus_1)
{
	uintptr_t lo = (uintptr_t)low, hi = (uintptr_t)high_plus_1;
	unsigned int i = 0;

	if (gcu.info.fd < 0)
		return;
	pthread_mutex_lock(&gc_lock);
	while (i < gc_added.n) {
		if (gc_added.lo[i] >= lo && gc_added.hi[i] <= hi) {
			gcu_root_remove((void *)gc_added.lo[i],
					gc_added.hi[i] - gc_added.lo[i]);
			gc_added.n--;
			gc_added.lo[i] = gc_added.lo[gc_added.n];
			gc_added.hi[i] = gc_added.hi[gc_added.n];
		} else {
			i++;
		}
	}
	pthread_mutex_unlock(&gc_lock);
}

/*
 * The writable segments stay roots (scanning more than the program asks
 * for is safe); the ranges GC_add_roots() added go.
 */
void GC_clear_roots(void)
{
	GC_remove_roots((void *)0, (void *)UINTPTR_MAX);
}

/* Scanning more than asked is safe: exclusions are not kept. */
void GC_exclude_static_roots(void *low, void *high_plus_1)
{
	(void)low, (void)high_plus_1;
}

void GC_clear_exclusion_table(void)
{
}

void *GC_dlopen(const char *path, int mode)
{
	gc_ready();
	return gcu_dlopen(path, mode);
}

/* Output. */
void GC_set_log_fd(int fd)
{
	gc_log_fd = fd;
}

void GC_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fflush(stdout);
}

void GC_err_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

void GC_log_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdprintf(gc_log_fd, fmt, ap);
	va_end(ap);
}
