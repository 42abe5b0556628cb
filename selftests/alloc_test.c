// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation through libgcuser: every size class, large objects,
 * alignment, zeroed memory (also memory that comes back through refills
 * after a thread exits), interior addresses, the heap counters, the refill
 * rate of the fast path, many threads at once, and the per-heap limit.
 *
 * Objects are checked against the kernel's own view of them through
 * GCMEM_IOC_QUERY on the library's heap descriptor. Objects a test keeps
 * are referenced from malloc()ed arrays registered as roots, so that they
 * stay live once the collector runs.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "gcmem_util.h"
#include "gcuser.h"

/*
 * The harness's TEST_F() wrapper keeps fork()'s result in a local that an
 * ASSERT's longjmp() may clobber, and GCC says so (-Wclobbered, part of
 * -Wextra) whenever a test body is not inlined into the wrapper. At worst
 * a failed test's teardown is skipped, which only closes the heap.
 */
#pragma GCC diagnostic ignored "-Wclobbered"

#define GOLDEN		0x9e3779b97f4a7c15ULL
#define QUERY_OBJ	(GCMEM_QUERY_IN_HEAP | GCMEM_QUERY_IN_SPAN | \
			 GCMEM_QUERY_ALLOCATED)
#define NO_OFFSET	SIZE_MAX

static const struct gcmem_control *lib_control(void)
{
	return (const struct gcmem_control *)(uintptr_t)gcu_heap()->control;
}

static int lib_fd(void)
{
	return gcu_heap()->fd;
}

/*
 * The class libgcuser must use for @size bytes: the smallest that holds
 * them and keeps the documented alignment (16 bytes for sizes of 16 and
 * more; spans are GCMEM_PAGE_SIZE aligned, so the class size must be a
 * multiple of 16). 0 for a large object.
 */
static unsigned int lib_class_for(const struct gcmem_control *c, size_t size)
{
	for (unsigned int i = 1; i < c->nclasses; i++)
		if (c->class_size[i] >= size &&
		    (size < 16 || c->class_size[i] % 16 == 0))
			return i;
	return 0;
}

static uint64_t mix64(uint64_t x)
{
	x += GOLDEN;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Fill @size bytes with a pattern only @seed produces. */
static void pat_fill(void *p, size_t size, uint64_t seed)
{
	uint64_t *w = p, t;
	size_t n = size / 8, i;

	for (i = 0; i < n; i++)
		w[i] = seed ^ (i * GOLDEN);
	if (size % 8) {
		t = seed ^ (n * GOLDEN);
		memcpy((char *)p + n * 8, &t, size % 8);
	}
}

/* Offset of the first byte that breaks the pattern, or NO_OFFSET. */
static size_t pat_check(const void *p, size_t size, uint64_t seed)
{
	const uint64_t *w = p;
	size_t n = size / 8, i;
	uint64_t t;

	for (i = 0; i < n; i++)
		if (w[i] != (seed ^ (i * GOLDEN)))
			return i * 8;
	if (size % 8) {
		t = seed ^ (n * GOLDEN);
		if (memcmp((const char *)p + n * 8, &t, size % 8))
			return n * 8;
	}
	return NO_OFFSET;
}

/* Offset of the first non-zero byte, or NO_OFFSET. */
static size_t nonzero_at(const void *p, size_t size)
{
	const uint64_t *w = p;
	const unsigned char *b = p;
	size_t n = size / 8, i;

	for (i = 0; i < n; i++)
		if (w[i])
			break;
	for (i *= 8; i < size; i++)
		if (b[i])
			return i;
	return NO_OFFSET;
}

static uint64_t round_page(uint64_t n)
{
	return (n + GCMEM_PAGE_SIZE - 1) & ~(uint64_t)(GCMEM_PAGE_SIZE - 1);
}

FIXTURE(lib) {
	const struct gcmem_control *ctl;
	int fd;
};

FIXTURE_SETUP(lib)
{
	ASSERT_EQ(0, gcu_init()) TH_LOG("gcu_init: %s", strerror(errno));
	ASSERT_NE(NULL, gcu_heap());
	self->ctl = lib_control();
	self->fd = lib_fd();
	ASSERT_EQ(GCMEM_CONTROL_MAGIC, self->ctl->magic);
	/* Every test indexes the class table: it must be in bounds. */
	ASSERT_LT(1, self->ctl->nclasses);
	ASSERT_GE(GCMEM_MAX_CLASSES, self->ctl->nclasses);
}

FIXTURE_TEARDOWN(lib)
{
	gcu_shutdown();
}

/* Everything fails with ENXIO before gcu_init(). */
TEST(before_init)
{
	struct gcu_heap_stats st;

	errno = 0;
	EXPECT_EQ(NULL, gcu_heap());
	EXPECT_EQ(ENXIO, errno);
	errno = 0;
	EXPECT_EQ(NULL, gcu_malloc(16));
	EXPECT_EQ(ENXIO, errno);
	errno = 0;
	EXPECT_EQ(NULL, gcu_malloc_atomic(16));
	EXPECT_EQ(ENXIO, errno);
	errno = 0;
	EXPECT_EQ(NULL, gcu_malloc(1 << 20));
	EXPECT_EQ(ENXIO, errno);
	errno = 0;
	EXPECT_EQ(-1, gcu_stats(&st));
	EXPECT_EQ(ENXIO, errno);
}

TEST_F(lib, init_twice_ebusy)
{
	void *p;

	errno = 0;
	EXPECT_EQ(-1, gcu_init());
	EXPECT_EQ(EBUSY, errno);
	/* The heap opened first is untouched. */
	p = gcu_malloc(64);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(NO_OFFSET, nonzero_at(p, 64));
}

/*
 * The published table: class 0 is "large", classes 1.. run from 8 bytes to
 * GCMEM_SMALL_MAX in increasing multiples of 8, and waste is bounded the
 * Go way: rounding a request up to its class costs at most a quarter of
 * the object above 128 bytes, and a span's tail after its last object at
 * most an eighth of the span.
 */
TEST_F(lib, class_table)
{
	const struct gcmem_control *c = self->ctl;
	unsigned int n = c->nclasses, i;

	EXPECT_EQ(8, c->class_size[1]);
	EXPECT_EQ(GCMEM_SMALL_MAX, c->class_size[n - 1]);
	for (i = 1; i < n; i++) {
		__u32 size = c->class_size[i];
		__u64 span = (__u64)c->class_npages[i] * GCMEM_PAGE_SIZE;

		EXPECT_EQ(0, size % 8) TH_LOG("class %u size %u", i, size);
		EXPECT_LE(1, c->class_npages[i]) TH_LOG("class %u", i);
		EXPECT_LE(size, span) TH_LOG("class %u size %u", i, size);
		if (!size || span < size)
			continue;
		EXPECT_LE((span % size) * 8, span)
			TH_LOG("class %u: size %u in %llu bytes wastes %llu",
			       i, size, (unsigned long long)span,
			       (unsigned long long)(span % size));
		if (i < 2)
			continue;
		EXPECT_LT(c->class_size[i - 1], size) TH_LOG("class %u", i);
		if (size > 128) {
			EXPECT_LE((size - c->class_size[i - 1] - 1) * 4, size)
				TH_LOG("class %u: %u after %u", i, size,
				       c->class_size[i - 1]);
		}
	}
}

struct kept {
	void *p;
	size_t size;
	uint64_t seed;
};

/* Keep @n objects' addresses reachable: register the array as a root. */
static int keep_roots(struct kept *k, size_t n)
{
	return gcu_root_add(k, n * sizeof(*k), GCU_TYPE_CONSERVATIVE);
}

/*
 * One allocation checked against the kernel's view: alignment, class,
 * object start, interior addresses, type, zeroed content; then filled.
 */
static void check_small(struct __test_metadata *_metadata,
			const struct gcmem_control *c, int fd, void *p,
			size_t size, int atomic, uint64_t seed)
{
	unsigned int cls = lib_class_for(c, size);
	uintptr_t a = (uintptr_t)p;
	__u64 probe[3];
	struct gcmem_query q;
	int i;

	ASSERT_NE(NULL, p) TH_LOG("size %zu: %s", size, strerror(errno));
	ASSERT_NE(0, cls);
	EXPECT_EQ(0, a % (size >= 16 ? 16 : 8)) TH_LOG("size %zu at %p",
						       size, p);
	probe[0] = a;
	probe[1] = a + c->class_size[cls] - 1;
	probe[2] = a + c->class_size[cls] / 2;
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, gcmem_query(fd, probe[i], &q, NULL, 0));
		EXPECT_EQ(QUERY_OBJ, q.result & (QUERY_OBJ | GCMEM_QUERY_LARGE))
			TH_LOG("size %zu probe %d result %#x", size, i,
			       q.result);
		EXPECT_EQ(a, q.obj_start) TH_LOG("size %zu probe +%llu", size,
			(unsigned long long)(probe[i] - a));
		EXPECT_EQ(cls, q.size_class) TH_LOG("size %zu", size);
		EXPECT_EQ(c->class_size[cls], q.obj_size) TH_LOG("size %zu",
								 size);
		EXPECT_EQ(atomic ? GCMEM_TYPE_NOSCAN : GCMEM_TYPE_CONSERVATIVE,
			  q.type_id);
	}
	EXPECT_EQ(NO_OFFSET, nonzero_at(p, size)) TH_LOG("size %zu at %p",
							 size, p);
	pat_fill(p, size, seed);
}

/*
 * For every class: objects of exactly its size, one byte less, and the
 * smallest size it serves, through gcu_malloc() and gcu_malloc_atomic().
 */
TEST_F(lib, every_class)
{
	const struct gcmem_control *c = self->ctl;
	const int per_size = 4;
	size_t nk = 0, cap = (size_t)c->nclasses * 3 * per_size, i;
	struct kept *k = calloc(cap, sizeof(*k));

	ASSERT_NE(NULL, k);
	ASSERT_EQ(0, keep_roots(k, cap));
	for (unsigned int cls = 1; cls < c->nclasses; cls++) {
		size_t sizes[3] = {
			c->class_size[cls],
			c->class_size[cls] - 1,
			cls > 1 ? c->class_size[cls - 1] + 1 : 1,
		};

		for (int s = 0; s < 3; s++) {
			for (int j = 0; j < per_size; j++) {
				int atomic = j & 1;
				struct kept *o = &k[nk++];

				o->size = sizes[s];
				o->seed = mix64(nk);
				o->p = atomic ? gcu_malloc_atomic(o->size) :
						gcu_malloc(o->size);
				check_small(_metadata, c, self->fd, o->p,
					    o->size, atomic, o->seed);
			}
		}
	}
	for (i = 0; i < nk; i++) {
		EXPECT_EQ(NO_OFFSET, pat_check(k[i].p, k[i].size, k[i].seed))
			TH_LOG("object %zu (%zu bytes at %p) overwritten", i,
			       k[i].size, k[i].p);
	}
	EXPECT_EQ(0, gcu_root_remove(k, cap * sizeof(*k)));
	free(k);
}

/*
 * Large objects, some spanning several 2 MiB chunks: page aligned, zeroed,
 * one span each, and every interior address finds the object's start.
 */
TEST_F(lib, large_objects)
{
	static const size_t sizes[] = {
		GCMEM_SMALL_MAX + 1, 40000, 100 << 10, 1 << 20,
		(2 << 20) + 1, 5 << 20, 3 << 20,
	};
	const size_t n = sizeof(sizes) / sizeof(sizes[0]);
	struct gcu_heap_stats before, after;
	struct kept k[sizeof(sizes) / sizeof(sizes[0])];
	struct gcmem_query q;
	size_t i;

	memset(k, 0, sizeof(k));
	ASSERT_EQ(0, keep_roots(k, n));
	for (i = 0; i < n; i++) {
		uint64_t rounded = round_page(sizes[i]);
		int atomic = i == n - 1;
		uintptr_t a;

		ASSERT_EQ(0, gcu_stats(&before));
		k[i].size = sizes[i];
		k[i].seed = mix64(i + 1000);
		k[i].p = atomic ? gcu_malloc_atomic(sizes[i]) :
				  gcu_malloc(sizes[i]);
		ASSERT_NE(NULL, k[i].p) TH_LOG("%zu bytes: %s", sizes[i],
					       strerror(errno));
		ASSERT_EQ(0, gcu_stats(&after));
		a = (uintptr_t)k[i].p;
		EXPECT_EQ(0, a % GCMEM_PAGE_SIZE) TH_LOG("%p", k[i].p);
		EXPECT_EQ(before.large_objects + 1, after.large_objects);
		EXPECT_EQ(before.spans + 1, after.spans);
		EXPECT_EQ(before.inuse_bytes + rounded, after.inuse_bytes);
		EXPECT_EQ(before.refills, after.refills);

		/* The start, one address in every page, and the last byte. */
		for (uint64_t off = 0; off <= rounded; off += GCMEM_PAGE_SIZE) {
			uint64_t at = off < rounded ?
				off + (off / GCMEM_PAGE_SIZE * 977) %
				      GCMEM_PAGE_SIZE : rounded - 1;

			ASSERT_EQ(0, gcmem_query(self->fd, a + at, &q, NULL, 0));
			EXPECT_EQ(QUERY_OBJ | GCMEM_QUERY_LARGE,
				  q.result & (QUERY_OBJ | GCMEM_QUERY_LARGE))
				TH_LOG("%zu bytes, +%llu: result %#x", sizes[i],
				       (unsigned long long)at, q.result);
			EXPECT_EQ(a, q.obj_start) TH_LOG("%zu bytes, +%llu",
				sizes[i], (unsigned long long)at);
			EXPECT_EQ(rounded, q.obj_size);
			EXPECT_EQ(0, q.size_class);
			EXPECT_EQ(atomic ? GCMEM_TYPE_NOSCAN :
					   GCMEM_TYPE_CONSERVATIVE, q.type_id);
			if (_metadata->exit_code)
				break;	/* one report per object is enough */
		}
		/* The first byte after it is not this object. */
		ASSERT_EQ(0, gcmem_query(self->fd, a + rounded, &q, NULL, 0));
		if (q.result & GCMEM_QUERY_IN_SPAN) {
			EXPECT_NE(a, q.obj_start);
		}

		EXPECT_EQ(NO_OFFSET, nonzero_at(k[i].p, sizes[i]))
			TH_LOG("%zu bytes", sizes[i]);
		pat_fill(k[i].p, sizes[i], k[i].seed);
	}
	for (i = 0; i < n; i++) {
		EXPECT_EQ(NO_OFFSET, pat_check(k[i].p, k[i].size, k[i].seed))
			TH_LOG("%zu bytes at %p overwritten", k[i].size,
			       k[i].p);
	}
	EXPECT_EQ(0, gcu_root_remove(k, sizeof(k)));
}

/* The counters a fresh heap starts with. */
TEST_F(lib, stats_initial)
{
	struct gcu_heap_stats st;

	memset(&st, POISON_BYTE, sizeof(st));
	ASSERT_EQ(0, gcu_stats(&st));
	EXPECT_EQ(1, st.threads);	/* gcu_init() registered us */
	EXPECT_EQ(2, st.types);		/* CONSERVATIVE and NOSCAN */
	/* The program's globals: its data and bss (cut around libgcuser's). */
	EXPECT_LT(0, st.roots);
	EXPECT_LT(0, gcu_globals_bytes());
	EXPECT_EQ(0, st.spans);
	EXPECT_EQ(0, st.inuse_bytes);
	EXPECT_EQ(0, st.refills);
	EXPECT_EQ(0, st.large_objects);
	EXPECT_EQ(0, st.small_allocated);
	EXPECT_EQ(self->ctl->limit, st.limit);
}

/*
 * A class's first allocation refills once and takes one span; the span's
 * other objects come without a system call; the one after them refills.
 */
TEST_F(lib, stats_small_refill)
{
	const struct gcmem_control *c = self->ctl;
	unsigned int cls = lib_class_for(c, 48);
	struct gcu_heap_stats st0, st1, st2;
	__u32 nelems, i;
	void **keep;

	ASSERT_NE(0, cls);
	nelems = gcmem_class_nelems(c, cls);
	keep = calloc(nelems + 1, sizeof(*keep));
	ASSERT_NE(NULL, keep);
	ASSERT_EQ(0, gcu_root_add(keep, (nelems + 1) * sizeof(*keep),
				  GCU_TYPE_CONSERVATIVE));

	ASSERT_EQ(0, gcu_stats(&st0));
	keep[0] = gcu_malloc(48);
	ASSERT_NE(NULL, keep[0]);
	ASSERT_EQ(0, gcu_stats(&st1));
	EXPECT_EQ(st0.refills + 1, st1.refills);
	EXPECT_EQ(st0.spans + 1, st1.spans);
	EXPECT_EQ(st0.inuse_bytes + c->class_npages[cls] * GCMEM_PAGE_SIZE,
		  st1.inuse_bytes);
	EXPECT_EQ(st0.large_objects, st1.large_objects);

	for (i = 1; i < nelems; i++) {
		keep[i] = gcu_malloc(48);
		ASSERT_NE(NULL, keep[i]);
	}
	ASSERT_EQ(0, gcu_stats(&st2));
	EXPECT_EQ(st1.refills, st2.refills) TH_LOG("%u objects of a %u-object span",
						   nelems, nelems);
	EXPECT_EQ(st1.spans, st2.spans);

	keep[nelems] = gcu_malloc(48);
	ASSERT_NE(NULL, keep[nelems]);
	ASSERT_EQ(0, gcu_stats(&st2));
	EXPECT_EQ(st1.refills + 1, st2.refills);
	EXPECT_EQ(st1.spans + 1, st2.spans);
	EXPECT_EQ(st1.inuse_bytes + c->class_npages[cls] * GCMEM_PAGE_SIZE,
		  st2.inuse_bytes);
	EXPECT_EQ(0, gcu_root_remove(keep, (nelems + 1) * sizeof(*keep)));
	free(keep);
}

#define RATE_OBJECTS	100000

struct rate_arg {
	void **keep;
	size_t done;
	int err;
	size_t nonzero;
};

static void *rate_thread(void *data)
{
	struct rate_arg *r = data;

	for (r->done = 0; r->done < RATE_OBJECTS; r->done++) {
		uint64_t *p = gcu_malloc(16);

		if (!p) {
			r->err = errno;
			break;
		}
		if (p[0] | p[1])
			r->nonzero++;
		r->keep[r->done] = p;
	}
	return NULL;
}

/*
 * In steady state a 16-byte object costs at most 1/256 of a refill, every
 * refill takes a fresh span, and once the thread has exited (its spans
 * back in the kernel) every object is counted in small_allocated.
 */
TEST_F(lib, refill_rate)
{
	const struct gcmem_control *c = self->ctl;
	unsigned int cls = lib_class_for(c, 16);
	struct gcu_heap_stats st0, st1;
	struct rate_arg r = { 0 };
	pthread_t t;
	__u64 refills, spans;

	ASSERT_NE(0, cls);
	r.keep = calloc(RATE_OBJECTS, sizeof(void *));
	ASSERT_NE(NULL, r.keep);
	ASSERT_EQ(0, gcu_root_add(r.keep, RATE_OBJECTS * sizeof(void *),
				  GCU_TYPE_CONSERVATIVE));
	ASSERT_EQ(0, gcu_stats(&st0));
	ASSERT_EQ(0, pthread_create(&t, NULL, rate_thread, &r));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, gcu_stats(&st1));

	ASSERT_EQ(RATE_OBJECTS, r.done) TH_LOG("allocation failed: %s",
					       strerror(r.err));
	EXPECT_EQ(0, r.nonzero);
	refills = st1.refills - st0.refills;
	spans = st1.spans - st0.spans;
	EXPECT_LE(refills * 256, RATE_OBJECTS) TH_LOG("%llu refills",
						      (unsigned long long)refills);
	EXPECT_LE((RATE_OBJECTS + gcmem_class_nelems(c, cls) - 1) /
		  gcmem_class_nelems(c, cls), refills);
	EXPECT_EQ(refills, spans);
	EXPECT_EQ(spans * c->class_npages[cls] * GCMEM_PAGE_SIZE,
		  st1.inuse_bytes - st0.inuse_bytes);
	EXPECT_EQ(RATE_OBJECTS, st1.small_allocated - st0.small_allocated);
	EXPECT_EQ(st0.threads, st1.threads);
	EXPECT_EQ(0, gcu_root_remove(r.keep, RATE_OBJECTS * sizeof(void *)));
	free(r.keep);
}

/*
 * Zeroing of memory that comes back: thread A takes a few objects of a
 * class, scribbles over every slot of its span it did not allocate (the
 * kernel says they are free), and exits, handing the span back. Thread B
 * then allocates more than a span of that class: all of it must be zero.
 */
#define SCRIBBLE	0x5a
#define A_OBJECTS	3
#define MAX_SCRIBBLED	1024

struct reuse_arg {
	const struct gcmem_control *c;
	int fd;
	unsigned int cls;
	/* A's results */
	void *mine[A_OBJECTS];
	int a_failed;
	int a_not_allocated;
	size_t nscribbled;
	uintptr_t scribbled[MAX_SCRIBBLED];
	/* B's results */
	size_t b_count;
	size_t b_nonzero;
	size_t b_reused;
	int b_failed;
	void **b_keep;
};

static void *reuse_thread_a(void *data)
{
	struct reuse_arg *r = data;
	__u32 size = r->c->class_size[r->cls];
	__u32 nelems = gcmem_class_nelems(r->c, r->cls);
	struct gcmem_query q;
	uintptr_t base;
	int j;

	for (j = 0; j < A_OBJECTS; j++) {
		r->mine[j] = gcu_malloc(size);
		if (!r->mine[j]) {
			r->a_failed = errno;
			return NULL;
		}
		memset(r->mine[j], 0x11, size);
		if (gcmem_query(r->fd, (uintptr_t)r->mine[j], &q, NULL, 0) ||
		    !(q.result & GCMEM_QUERY_ALLOCATED))
			r->a_not_allocated++;
	}
	base = (uintptr_t)r->mine[0];
	for (__u32 i = 0; i < nelems && r->nscribbled < MAX_SCRIBBLED; i++) {
		uintptr_t a = base + (uintptr_t)i * size;
		int own = 0;

		for (j = 0; j < A_OBJECTS; j++)
			own |= a == (uintptr_t)r->mine[j];
		if (own)
			continue;
		if (gcmem_query(r->fd, a, &q, NULL, 0))
			continue;
		if (!(q.result & GCMEM_QUERY_IN_SPAN) ||
		    (q.result & GCMEM_QUERY_ALLOCATED) ||
		    q.size_class != r->cls || q.obj_start != a)
			continue;
		memset((void *)a, SCRIBBLE, size);
		r->scribbled[r->nscribbled++] = a;
	}
	return NULL;
}

static void *reuse_thread_b(void *data)
{
	struct reuse_arg *r = data;
	__u32 size = r->c->class_size[r->cls];
	size_t n = gcmem_class_nelems(r->c, r->cls) + 8;

	for (r->b_count = 0; r->b_count < n; r->b_count++) {
		void *p = gcu_malloc(size);

		if (!p) {
			r->b_failed = errno;
			break;
		}
		r->b_keep[r->b_count] = p;
		if (nonzero_at(p, size) != NO_OFFSET)
			r->b_nonzero++;
		for (size_t i = 0; i < r->nscribbled; i++)
			if ((uintptr_t)p == r->scribbled[i])
				r->b_reused++;
	}
	return NULL;
}

static void run_reuse(struct __test_metadata *_metadata,
		      const struct gcmem_control *c, int fd, size_t size,
		      struct reuse_arg *r)
{
	size_t nkeep;
	pthread_t t;

	memset(r, 0, sizeof(*r));
	r->c = c;
	r->fd = fd;
	r->cls = lib_class_for(c, size);
	ASSERT_NE(0, r->cls);
	ASSERT_EQ(size, c->class_size[r->cls]) TH_LOG("no class of %zu bytes",
						     size);
	nkeep = gcmem_class_nelems(c, r->cls) + 8;
	r->b_keep = calloc(nkeep, sizeof(void *));
	ASSERT_NE(NULL, r->b_keep);
	ASSERT_EQ(0, gcu_root_add(r->b_keep, nkeep * sizeof(void *),
				  GCU_TYPE_CONSERVATIVE));
	ASSERT_EQ(0, gcu_root_add(r->mine, sizeof(r->mine),
				  GCU_TYPE_CONSERVATIVE));

	ASSERT_EQ(0, pthread_create(&t, NULL, reuse_thread_a, r));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, r->a_failed) TH_LOG("A: %s", strerror(r->a_failed));
	/* A's objects are allocated in the kernel's view (its cursor). */
	EXPECT_EQ(0, r->a_not_allocated);
	/* The span had free slots to scribble over. */
	EXPECT_LT(0, r->nscribbled) TH_LOG("class %u", r->cls);

	ASSERT_EQ(0, pthread_create(&t, NULL, reuse_thread_b, r));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, r->b_failed) TH_LOG("B: %s", strerror(r->b_failed));
	EXPECT_EQ(0, r->b_nonzero) TH_LOG("class %u (%zu bytes): %zu of %zu objects not zeroed",
					  r->cls, size, r->b_nonzero,
					  r->b_count);
	for (int j = 0; j < A_OBJECTS; j++) {
		unsigned char *m = r->mine[j];

		EXPECT_EQ(0x11, m[0]);
		EXPECT_EQ(0x11, m[size - 1]);
	}
	TH_LOG("class %u (%zu bytes): A scribbled %zu free slots, B got %zu of them",
	       r->cls, size, r->nscribbled, r->b_reused);
	EXPECT_EQ(0, gcu_root_remove(r->mine, sizeof(r->mine)));
	EXPECT_EQ(0, gcu_root_remove(r->b_keep, nkeep * sizeof(void *)));
	free(r->b_keep);
}

static const size_t reuse_sizes[] = { 16, 48, 256, 1024, 3072 };

TEST_F(lib, zeroed_after_thread_exit)
{
	static struct reuse_arg r;

	for (size_t i = 0; i < sizeof(reuse_sizes) / sizeof(reuse_sizes[0]);
	     i++)
		run_reuse(_metadata, self->ctl, self->fd, reuse_sizes[i], &r);
}

/*
 * The span a thread handed back at exit still has free slots: the next
 * thread to allocate that class gets them (and, as above, zeroed), rather
 * than a fresh span.
 */
TEST_F(lib, partial_span_reused_after_thread_exit)
{
	static struct reuse_arg r;

	for (size_t i = 0; i < sizeof(reuse_sizes) / sizeof(reuse_sizes[0]);
	     i++) {
		run_reuse(_metadata, self->ctl, self->fd, reuse_sizes[i], &r);
		EXPECT_LT(0, r.b_reused) TH_LOG("class of %zu bytes",
						reuse_sizes[i]);
	}
}

/*
 * Many threads allocating at once, objects of random sizes (mostly small,
 * some large), each filled with a pattern of its own and kept: at the end
 * every pattern is intact and no two objects overlap.
 */
/*
 * Objects per variant, shared by its threads: GCMEM_STRESS_OBJECTS, or
 * 400000. The debug kernel's run asks for fewer: KASAN and lockdep check
 * the same paths at a tenth of the volume, and its guest is make
 * check's long pole.
 */
static long stress_objects(void)
{
	const char *v = getenv("GCMEM_STRESS_OBJECTS");

	return v && atol(v) > 0 ? atol(v) : 400000;
}

FIXTURE(stress) {
	int fd;
};

FIXTURE_VARIANT(stress) {
	int nthreads;
};

FIXTURE_VARIANT_ADD(stress, threads2) { .nthreads = 2 };
FIXTURE_VARIANT_ADD(stress, threads4) { .nthreads = 4 };
FIXTURE_VARIANT_ADD(stress, threads8) { .nthreads = 8 };

FIXTURE_SETUP(stress)
{
	ASSERT_EQ(0, gcu_init()) TH_LOG("gcu_init: %s", strerror(errno));
	self->fd = lib_fd();
}

FIXTURE_TEARDOWN(stress)
{
	gcu_shutdown();
}

struct worker {
	pthread_barrier_t *start;
	int id;
	size_t n;
	void **ptr;
	uint32_t *size;
	size_t done;
	int err;
	size_t nonzero;
	size_t misaligned;
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Mostly tiny and small objects, a few medium, one in 5000 large. */
static uint32_t stress_size(uint64_t *rng)
{
	uint64_t r = xorshift(rng);
	uint32_t pick = r % 10000, v = r >> 32;

	if (pick < 7000)
		return 1 + v % 64;
	if (pick < 9500)
		return 65 + v % (512 - 64);
	if (pick < 9950)
		return 513 + v % (4096 - 512);
	if (pick < 9998)
		return 4097 + v % (GCMEM_SMALL_MAX - 4096);
	return GCMEM_SMALL_MAX + 1 + v % (256 << 10);
}

static uint64_t stress_seed(int id, size_t i)
{
	return mix64(((uint64_t)id << 40) | i);
}

static void *stress_thread(void *data)
{
	struct worker *w = data;
	uint64_t rng = mix64(w->id + 1);

	pthread_barrier_wait(w->start);
	for (w->done = 0; w->done < w->n; w->done++) {
		size_t i = w->done;
		uint32_t size = stress_size(&rng);
		void *p = i % 4 == 3 ? gcu_malloc_atomic(size) :
				       gcu_malloc(size);
		uintptr_t align = size > GCMEM_SMALL_MAX ? GCMEM_PAGE_SIZE :
				  size >= 16 ? 16 : 8;

		if (!p) {
			w->err = errno;
			break;
		}
		if ((uintptr_t)p % align)
			w->misaligned++;
		if (nonzero_at(p, size) != NO_OFFSET)
			w->nonzero++;
		pat_fill(p, size, stress_seed(w->id, i));
		w->ptr[i] = p;
		w->size[i] = size;
	}
	return NULL;
}

struct span_rec {
	uintptr_t start;
	uint32_t size;
	int id;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span_rec *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

TEST_F_TIMEOUT(stress, random_sizes, 600)
{
	int nt = variant->nthreads, t;
	struct worker *w = calloc(nt, sizeof(*w));
	pthread_t *tid = calloc(nt, sizeof(*tid));
	pthread_barrier_t start;
	struct gcu_heap_stats st;
	struct span_rec *all;
	size_t total = 0, corrupt = 0, overlaps = 0, i, k;

	ASSERT_NE(NULL, w);
	ASSERT_NE(NULL, tid);
	ASSERT_EQ(0, pthread_barrier_init(&start, NULL, nt));
	for (t = 0; t < nt; t++) {
		w[t].start = &start;
		w[t].id = t;
		w[t].n = stress_objects() / nt;
		w[t].ptr = calloc(w[t].n, sizeof(void *));
		w[t].size = calloc(w[t].n, sizeof(uint32_t));
		ASSERT_NE(NULL, w[t].ptr);
		ASSERT_NE(NULL, w[t].size);
		ASSERT_EQ(0, gcu_root_add(w[t].ptr, w[t].n * sizeof(void *),
					  GCU_TYPE_CONSERVATIVE));
	}
	for (t = 0; t < nt; t++) {
		ASSERT_EQ(0, pthread_create(&tid[t], NULL, stress_thread,
					    &w[t]));
	}
	for (t = 0; t < nt; t++) {
		ASSERT_EQ(0, pthread_join(tid[t], NULL));
	}

	for (t = 0; t < nt; t++) {
		EXPECT_EQ(w[t].n, w[t].done) TH_LOG("thread %d: %s", t,
						    strerror(w[t].err));
		EXPECT_EQ(0, w[t].nonzero) TH_LOG("thread %d", t);
		EXPECT_EQ(0, w[t].misaligned) TH_LOG("thread %d", t);
		total += w[t].done;
	}

	/* Every pattern intact. */
	for (t = 0; t < nt; t++)
		for (i = 0; i < w[t].done; i++)
			if (pat_check(w[t].ptr[i], w[t].size[i],
				      stress_seed(t, i)) != NO_OFFSET &&
			    corrupt++ < 10)
				TH_LOG("thread %d object %zu (%u bytes at %p) corrupt",
				       t, i, w[t].size[i], w[t].ptr[i]);
	EXPECT_EQ(0, corrupt);

	/* No two objects overlap. */
	all = calloc(total ? total : 1, sizeof(*all));
	ASSERT_NE(NULL, all);
	for (t = 0, k = 0; t < nt; t++)
		for (i = 0; i < w[t].done; i++, k++) {
			all[k].start = (uintptr_t)w[t].ptr[i];
			all[k].size = w[t].size[i];
			all[k].id = t;
		}
	qsort(all, total, sizeof(*all), span_cmp);
	for (k = 1; k < total; k++)
		if (all[k - 1].start + all[k - 1].size > all[k].start &&
		    overlaps++ < 10)
			TH_LOG("%#lx+%u (thread %d) overlaps %#lx (thread %d)",
			       (unsigned long)all[k - 1].start,
			       all[k - 1].size, all[k - 1].id,
			       (unsigned long)all[k].start, all[k].id);
	EXPECT_EQ(0, overlaps);

	/* The workers are gone: only the main thread is registered. */
	ASSERT_EQ(0, gcu_stats(&st));
	EXPECT_EQ(1, st.threads);
	TH_LOG("%d threads, %zu objects, %llu bytes in use, %llu refills, %llu large",
	       nt, total, (unsigned long long)st.inuse_bytes,
	       (unsigned long long)st.refills,
	       (unsigned long long)st.large_objects);

	free(all);
	for (t = 0; t < nt; t++) {
		EXPECT_EQ(0, gcu_root_remove(w[t].ptr,
					     w[t].n * sizeof(void *)));
		free(w[t].ptr);
		free(w[t].size);
	}
	pthread_barrier_destroy(&start);
	free(tid);
	free(w);
}

/*
 * At the per-heap limit allocation fails with ENOMEM (small and large,
 * no SIGBUS, nothing committed beyond the limit); raising the limit lets
 * allocation go on, and what was allocated before is intact.
 */
TEST_F(lib, limit_enomem)
{
	const size_t small = 16384, large = 100 << 10, cap = 4096;
	struct gcu_heap_stats st;
	struct kept *k = calloc(cap, sizeof(*k));
	uint64_t limit;
	size_t n = 0, i;
	void *p;

	ASSERT_NE(NULL, k);
	ASSERT_EQ(0, keep_roots(k, cap));
	ASSERT_EQ(0, gcu_stats(&st));
	limit = (st.committed + GCMEM_CHUNK_SIZE - 1) / GCMEM_CHUNK_SIZE *
		GCMEM_CHUNK_SIZE + 2 * GCMEM_CHUNK_SIZE;
	ASSERT_EQ(0, gcu_set_limit(limit)) TH_LOG("%s", strerror(errno));

	for (;;) {
		ASSERT_LT(n, cap) TH_LOG("no ENOMEM after %zu objects", n);
		errno = 0;
		p = gcu_malloc(small);
		if (!p)
			break;
		k[n].p = p;
		k[n].size = small;
		k[n].seed = mix64(n + 77);
		EXPECT_EQ(NO_OFFSET, nonzero_at(p, small));
		pat_fill(p, small, k[n].seed);
		n++;
	}
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_LT(0, n);
	EXPECT_GE(limit / small, n);
	errno = 0;
	EXPECT_EQ(NULL, gcu_malloc(large));
	EXPECT_EQ(ENOMEM, errno);

	ASSERT_EQ(0, gcu_stats(&st));
	EXPECT_GE(limit, st.committed);
	EXPECT_EQ(0, st.limit_faults);

	/* More room: allocation works again, small and large. */
	ASSERT_EQ(0, gcu_set_limit(limit + 4 * GCMEM_CHUNK_SIZE));
	p = gcu_malloc(large);
	ASSERT_NE(NULL, p) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(NO_OFFSET, nonzero_at(p, large));
	k[n].p = p;
	k[n].size = large;
	k[n].seed = mix64(n + 77);
	pat_fill(p, large, k[n].seed);
	n++;
	p = gcu_malloc(small);
	ASSERT_NE(NULL, p) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(NO_OFFSET, nonzero_at(p, small));

	for (i = 0; i < n; i++) {
		EXPECT_EQ(NO_OFFSET, pat_check(k[i].p, k[i].size, k[i].seed))
			TH_LOG("object %zu overwritten", i);
	}
	ASSERT_EQ(0, gcu_stats(&st));
	EXPECT_EQ(0, st.limit_faults);
	EXPECT_EQ(0, gcu_root_remove(k, cap * sizeof(*k)));
	free(k);
}

TEST_HARNESS_MAIN
