// SPDX-License-Identifier: GPL-2.0
/*
 * Object types: registering them (sizes, masks, the table's size), and the
 * pointer bits the kernel gives each object: a registered type's mask
 * repeated over the object (single values, arrays, large arrays), every
 * word for CONSERVATIVE, none for NOSCAN. Unknown types are refused.
 *
 * Pointer bits are read back through GCMEM_IOC_QUERY's ptrmask.
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

#define QUERY_OBJ	(GCMEM_QUERY_IN_HEAP | GCMEM_QUERY_IN_SPAN | \
			 GCMEM_QUERY_ALLOCATED)
#define BAD_TYPE	((gcu_type_t)-1)
#define MASK_WORDS(sz)	(((sz) / 8 + 63) / 64)
#define MAX_MASK_WORDS	MASK_WORDS(GCMEM_TYPE_MAX_SIZE)

static const struct gcmem_control *lib_control(void)
{
	return (const struct gcmem_control *)(uintptr_t)gcu_heap()->control;
}

static __u32 lib_types(void)
{
	struct gcu_heap_stats st;

	if (gcu_stats(&st))
		return 0;
	return st.types;
}

FIXTURE(lib) {
	int fd;
	const struct gcmem_control *ctl;
};

FIXTURE_SETUP(lib)
{
	ASSERT_EQ(0, gcu_init()) TH_LOG("gcu_init: %s", strerror(errno));
	self->fd = gcu_heap()->fd;
	self->ctl = lib_control();
	ASSERT_LT(1, self->ctl->nclasses);
	ASSERT_GE(GCMEM_MAX_CLASSES, self->ctl->nclasses);
}

FIXTURE_TEARDOWN(lib)
{
	gcu_shutdown();
}

/* Sizes that are not a multiple of 8, 0, or beyond GCMEM_TYPE_MAX_SIZE. */
TEST_F(lib, register_bad_size)
{
	static const size_t sizes[] = {
		0, 4, 12, 20, 65532, GCMEM_TYPE_MAX_SIZE + 8,
		GCMEM_TYPE_MAX_SIZE + 1, 2 * GCMEM_TYPE_MAX_SIZE,
		(1ULL << 32) + 8, (1ULL << 32) + GCMEM_TYPE_MAX_SIZE,
		SIZE_MAX & ~(size_t)7,
	};
	static uint64_t mask[MAX_MASK_WORDS];
	__u32 types = lib_types();

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		errno = 0;
		EXPECT_EQ(BAD_TYPE, gcu_type_register(sizes[i], mask))
			TH_LOG("size %zu", sizes[i]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("size %zu", sizes[i]);
	}
	EXPECT_EQ(types, lib_types());
}

/* A mask bit for a word beyond the type's size. */
TEST_F(lib, register_mask_beyond_size)
{
	static const struct {
		size_t size;
		unsigned int bit;
	} bad[] = {
		{ 8, 1 }, { 24, 3 }, { 24, 63 }, { 64, 8 }, { 40, 5 },
		{ 520, 65 }, { 520, 127 }, { 4104, 513 }, { 4104, 575 },
	};
	uint64_t mask[MASK_WORDS(4104)];
	__u32 types = lib_types();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(mask, 0, sizeof(mask));
		/* The bit lies in a mask word the kernel reads. */
		ASSERT_GT(MASK_WORDS(bad[i].size) * 64, bad[i].bit);
		mask[bad[i].bit / 64] = 1ULL << (bad[i].bit % 64);
		errno = 0;
		EXPECT_EQ(BAD_TYPE, gcu_type_register(bad[i].size, mask))
			TH_LOG("size %zu bit %u", bad[i].size, bad[i].bit);
		EXPECT_EQ(EINVAL, errno) TH_LOG("size %zu bit %u", bad[i].size,
						bad[i].bit);
	}
	EXPECT_EQ(types, lib_types());

	/* The last word's bit is fine. */
	memset(mask, 0, sizeof(mask));
	mask[0] = 1ULL << 2;
	EXPECT_NE(BAD_TYPE, gcu_type_register(24, mask));
	mask[0] = 0;
	mask[1] = 1;
	EXPECT_NE(BAD_TYPE, gcu_type_register(520, mask));
	EXPECT_EQ(types + 2, lib_types());
}

/* The smallest and largest sizes; different layouts, different ids. */
TEST_F(lib, register_limits)
{
	static uint64_t mask[MAX_MASK_WORDS];
	gcu_type_t a, b, d;

	mask[0] = 1;
	mask[MAX_MASK_WORDS - 1] = 1ULL << 63;
	a = gcu_type_register(GCMEM_TYPE_MAX_SIZE, mask);
	ASSERT_NE(BAD_TYPE, a) TH_LOG("%s", strerror(errno));
	b = gcu_type_register(8, mask);
	ASSERT_NE(BAD_TYPE, b) TH_LOG("%s", strerror(errno));
	memset(mask, 0, sizeof(mask));
	d = gcu_type_register(16, mask);
	ASSERT_NE(BAD_TYPE, d);

	EXPECT_NE(GCU_TYPE_CONSERVATIVE, a);
	EXPECT_NE(GCU_TYPE_NOSCAN, a);
	EXPECT_NE(GCU_TYPE_CONSERVATIVE, b);
	EXPECT_NE(GCU_TYPE_NOSCAN, b);
	EXPECT_NE(a, b);
	EXPECT_NE(a, d);
	EXPECT_NE(b, d);
	EXPECT_EQ(5, lib_types());
}

/*
 * The pointer bits of the object at @p (@nbytes requested): words of the
 * requested part follow @mask with a period of @tsize / 8 words. With
 * @tail, so do the words between the requested size and the end of the
 * slot: "the mask repeats over the whole object".
 */
static void check_bits(struct __test_metadata *_metadata, int fd,
		       const struct gcmem_control *c, const void *p,
		       __u32 type_id, size_t tsize, const uint64_t *mask,
		       size_t nbytes, int tail)
{
	struct gcmem_query q;
	__u64 *bits;
	__u64 words, tw = tsize / 8, from, to, w, bad = 0;
	__u32 nbits;
	int large = nbytes > GCMEM_SMALL_MAX;

	ASSERT_NE(NULL, p) TH_LOG("%zu bytes of type %u: %s", nbytes, type_id,
				  strerror(errno));
	EXPECT_EQ(0, (uintptr_t)p % (large ? GCMEM_PAGE_SIZE :
				     nbytes >= 16 ? 16 : 8));
	ASSERT_EQ(0, gcmem_query(fd, (uintptr_t)p, &q, NULL, 0));
	ASSERT_EQ(QUERY_OBJ, q.result & QUERY_OBJ) TH_LOG("result %#x",
							  q.result);
	EXPECT_EQ(large ? GCMEM_QUERY_LARGE : 0, q.result & GCMEM_QUERY_LARGE);
	EXPECT_EQ((uintptr_t)p, q.obj_start);
	EXPECT_EQ(type_id, q.type_id);
	ASSERT_LE(nbytes, q.obj_size);
	if (!large) {
		ASSERT_LT(0, q.size_class);
		ASSERT_GT(c->nclasses, q.size_class);
		EXPECT_EQ(c->class_size[q.size_class], q.obj_size);
	} else {
		EXPECT_EQ(0, q.size_class);
		EXPECT_EQ(0, q.obj_size % GCMEM_PAGE_SIZE);
	}
	words = q.obj_size / 8;
	nbits = (words + 63) / 64;

	/* One spare word after the capacity: it must stay untouched. */
	bits = calloc(nbits + 1, sizeof(*bits));
	ASSERT_NE(NULL, bits);
	bits[nbits] = POISON_U64;
	ASSERT_EQ(0, gcmem_query(fd, (uintptr_t)p + nbytes - 1, &q, bits,
				 nbits));
	EXPECT_EQ((uintptr_t)p, q.obj_start);
	EXPECT_EQ(POISON_U64, bits[nbits]);
	bits[nbits] = 0;

	from = tail ? nbytes / 8 : 0;
	to = tail ? words : nbytes / 8;
	for (w = from; w < to; w++) {
		int want = tsize ? (int)(mask[w % tw / 64] >> (w % tw % 64)) & 1 :
				   1;

		if (gcmem_mask_bit(bits, w) != want && bad++ < 4)
			TH_LOG("type %u (%zu bytes), %zu-byte object in a %llu-byte slot: word %llu is %d, want %d",
			       type_id, tsize, nbytes,
			       (unsigned long long)q.obj_size,
			       (unsigned long long)w, !want, want);
	}
	EXPECT_EQ(0, bad);
	free(bits);
}

/* CONSERVATIVE objects: every word of the slot may hold a pointer. */
TEST_F(lib, conservative_all_bits)
{
	static const size_t sizes[] = {
		8, 16, 24, 100, 1000, 4000, GCMEM_SMALL_MAX, 40000, 300000,
	};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p = gcu_malloc(sizes[i]);

		check_bits(_metadata, self->fd, self->ctl, p,
			   GCMEM_TYPE_CONSERVATIVE, 0, NULL, sizes[i], 0);
		check_bits(_metadata, self->fd, self->ctl, p,
			   GCMEM_TYPE_CONSERVATIVE, 0, NULL, sizes[i], 1);
	}
}

/* NOSCAN objects: no pointer words at all. */
TEST_F(lib, noscan_no_bits)
{
	static const size_t sizes[] = {
		8, 16, 24, 100, 1000, 4000, GCMEM_SMALL_MAX, 40000, 300000,
	};
	static const uint64_t none[1];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p = gcu_malloc_atomic(sizes[i]);

		/* A one-word type with no pointer: the same bits as NOSCAN. */
		check_bits(_metadata, self->fd, self->ctl, p, GCMEM_TYPE_NOSCAN,
			   8, none, sizes[i], 0);
		check_bits(_metadata, self->fd, self->ctl, p, GCMEM_TYPE_NOSCAN,
			   8, none, sizes[i], 1);
	}
}

/* The query writes no more pointer-mask words than its capacity. */
TEST_F(lib, query_ptrmask_capacity)
{
	void *p = gcu_malloc(1024);	/* 128 words: two mask words */
	struct gcmem_query q;
	__u64 bits[4];

	ASSERT_NE(NULL, p);
	bits[1] = bits[2] = bits[3] = POISON_U64;
	ASSERT_EQ(0, gcmem_query(self->fd, (uintptr_t)p, &q, bits, 1));
	EXPECT_EQ(~0ULL, bits[0]);
	EXPECT_EQ(POISON_U64, bits[1]);
	EXPECT_EQ(POISON_U64, bits[2]);

	/* Capacity 0: the buffer is not touched. */
	bits[0] = POISON_U64;
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.addr = (uintptr_t)p;
	q.ptrmask = (uintptr_t)bits;
	ASSERT_EQ(0, gcmem_ioctl(self->fd, GCMEM_IOC_QUERY, &q));
	EXPECT_EQ(POISON_U64, bits[0]);
	EXPECT_EQ((uintptr_t)p, q.obj_start);
}

static const gcu_type_t unknown_types[] = {
	2, 1234, GCMEM_MAX_TYPES, BAD_TYPE,
};

/* Unknown types through the library: NULL with errno set, no crash. */
TEST_F(lib, unknown_type)
{
	for (size_t i = 0; i < sizeof(unknown_types) / sizeof(unknown_types[0]);
	     i++) {
		gcu_type_t t = unknown_types[i];

		errno = 0;
		EXPECT_EQ(NULL, gcu_malloc_typed(t)) TH_LOG("type %u", t);
		EXPECT_NE(0, errno) TH_LOG("type %u", t);
		errno = 0;
		EXPECT_EQ(NULL, gcu_malloc_typed_array(t, 3)) TH_LOG("type %u",
								     t);
		EXPECT_NE(0, errno) TH_LOG("type %u", t);
	}
}

/*
 * ...and the errno is the project's one for "a type named by the caller
 * does not exist", ENOENT, as gcu_root_add() reports for the same type
 * (gcuser.h does not name the errno; the uapi's table does).
 */
TEST_F(lib, unknown_type_enoent)
{
	static void *slot;

	for (size_t i = 0; i < sizeof(unknown_types) / sizeof(unknown_types[0]);
	     i++) {
		gcu_type_t t = unknown_types[i];

		errno = 0;
		EXPECT_EQ(-1, gcu_root_add(&slot, sizeof(slot), t));
		EXPECT_EQ(ENOENT, errno) TH_LOG("gcu_root_add, type %u", t);
		errno = 0;
		EXPECT_EQ(NULL, gcu_malloc_typed(t));
		EXPECT_EQ(ENOENT, errno) TH_LOG("gcu_malloc_typed, type %u", t);
		errno = 0;
		EXPECT_EQ(NULL, gcu_malloc_typed_array(t, 3));
		EXPECT_EQ(ENOENT, errno) TH_LOG("gcu_malloc_typed_array, type %u",
						t);
	}
}

/* An array whose byte size overflows is refused, never a small object. */
TEST_F(lib, typed_array_overflow)
{
	static const uint64_t mask[1] = { 1 };
	gcu_type_t t = gcu_type_register(24, mask);
	/* 24 * n wraps around to 8 bytes */
	const size_t wraps = SIZE_MAX / 24 + 1;

	ASSERT_NE(BAD_TYPE, t);
	errno = 0;
	EXPECT_EQ(NULL, gcu_malloc_typed_array(t, wraps));
	EXPECT_NE(0, errno);
	errno = 0;
	EXPECT_EQ(NULL, gcu_malloc_typed_array(t, SIZE_MAX));
	EXPECT_NE(0, errno);
	errno = 0;
	EXPECT_EQ(NULL, gcu_malloc_typed_array(t, SIZE_MAX / 48));
	EXPECT_NE(0, errno);
}

/* Registered types: single values, arrays and large arrays of each. */
FIXTURE(typed) {
	int fd;
	const struct gcmem_control *ctl;
	gcu_type_t type;
};

FIXTURE_VARIANT(typed) {
	size_t size;
	uint64_t mask[8];
};

/* struct { void *a; long b; void *c; } */
FIXTURE_VARIANT_ADD(typed, t24_ptr_int_ptr) { 24, { 0x5 } };
/* eight words, only the last a pointer */
FIXTURE_VARIANT_ADD(typed, t64_last_word) { 64, { 0x80 } };
/* five words: pointers in 0, 1 and 4 */
FIXTURE_VARIANT_ADD(typed, t40_mixed) { 40, { 0x13 } };
/* a lone pointer */
FIXTURE_VARIANT_ADD(typed, t8_pointer) { 8, { 0x1 } };
/* a registered type without pointers */
FIXTURE_VARIANT_ADD(typed, t16_no_pointers) { 16, { 0 } };
/* 65 words: a mask of two words */
FIXTURE_VARIANT_ADD(typed, t520_two_mask_words) {
	520, { 0x8000000000000001ULL, 0x1 } };
/* 512 words, pointers in a few of its mask words */
FIXTURE_VARIANT_ADD(typed, t4096_sparse) {
	4096, { 0x2, 0, 0, 0x8000000000000000ULL, 0, 0, 0x10, 0x1 } };

FIXTURE_SETUP(typed)
{
	ASSERT_EQ(0, gcu_init()) TH_LOG("gcu_init: %s", strerror(errno));
	self->fd = gcu_heap()->fd;
	self->ctl = lib_control();
	ASSERT_LT(1, self->ctl->nclasses);
	ASSERT_GE(GCMEM_MAX_CLASSES, self->ctl->nclasses);
	self->type = gcu_type_register(variant->size, variant->mask);
	ASSERT_NE(BAD_TYPE, self->type) TH_LOG("%s", strerror(errno));
	ASSERT_NE(GCU_TYPE_CONSERVATIVE, self->type);
	ASSERT_NE(GCU_TYPE_NOSCAN, self->type);
}

FIXTURE_TEARDOWN(typed)
{
	gcu_shutdown();
}

static size_t large_count(size_t size)
{
	return GCMEM_SMALL_MAX / size + 10;
}

TEST_F(typed, single_value)
{
	for (int i = 0; i < 3; i++)
		check_bits(_metadata, self->fd, self->ctl,
			   gcu_malloc_typed(self->type), self->type,
			   variant->size, variant->mask, variant->size, 0);
}

TEST_F(typed, arrays)
{
	static const size_t counts[] = { 1, 3, 17 };

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		size_t n = counts[i];

		check_bits(_metadata, self->fd, self->ctl,
			   gcu_malloc_typed_array(self->type, n), self->type,
			   variant->size, variant->mask, n * variant->size, 0);
	}
}

TEST_F(typed, large_array)
{
	size_t n = large_count(variant->size);

	ASSERT_LT(GCMEM_SMALL_MAX, n * variant->size);
	check_bits(_metadata, self->fd, self->ctl,
		   gcu_malloc_typed_array(self->type, n), self->type,
		   variant->size, variant->mask, n * variant->size, 0);
}

/*
 * The words of the slot beyond the requested size: the mask goes on
 * repeating there too (the kernel sets a span's bits when it hands the
 * span out, before any object size is known).
 */
TEST_F(typed, slot_tail_repeats_mask)
{
	static const size_t counts[] = { 1, 3, 17 };
	size_t n;

	check_bits(_metadata, self->fd, self->ctl,
		   gcu_malloc_typed(self->type), self->type, variant->size,
		   variant->mask, variant->size, 1);
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		n = counts[i];
		check_bits(_metadata, self->fd, self->ctl,
			   gcu_malloc_typed_array(self->type, n), self->type,
			   variant->size, variant->mask, n * variant->size, 1);
	}
	n = large_count(variant->size);
	check_bits(_metadata, self->fd, self->ctl,
		   gcu_malloc_typed_array(self->type, n), self->type,
		   variant->size, variant->mask, n * variant->size, 1);
}

/* Typed memory is zeroed and usable like any other. */
TEST_F(typed, zeroed)
{
	size_t n = large_count(variant->size), bytes = n * variant->size;
	unsigned char *p = gcu_malloc_typed_array(self->type, n);
	unsigned char *s = gcu_malloc_typed(self->type);
	size_t i;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, s);
	for (i = 0; i < bytes; i++)
		if (p[i])
			break;
	EXPECT_EQ(bytes, i);
	for (i = 0; i < variant->size; i++)
		if (s[i])
			break;
	EXPECT_EQ(variant->size, i);
	memset(p, 0xee, bytes);
	memset(s, 0xdd, variant->size);
	EXPECT_EQ(0xee, p[bytes - 1]);
}

/* Raw ioctls on a heap with a registered thread. */
FIXTURE(raw) {
	struct gcmem_raw_heap h;
	struct gcmem_thread_register reg;
	__u64 bitmap[64];
};

FIXTURE_SETUP(raw)
{
	ASSERT_EQ(0, gcmem_raw_open(&self->h, 64 * MiB))
		TH_LOG("open+handshake+map: %s", strerror(errno));
	ASSERT_LT(1, self->h.ctl->nclasses);
	ASSERT_GE(GCMEM_MAX_CLASSES, self->h.ctl->nclasses);
	ASSERT_EQ(0, gcmem_thread_register(self->h.fd, -1, &self->reg));
}

FIXTURE_TEARDOWN(raw)
{
	gcmem_raw_close(&self->h);
}

TEST_F(raw, register_null_mask_efault)
{
	struct gcmem_stats st;
	__u32 id;

	EXPECT_EQ(-EFAULT, gcmem_type_register(self->h.fd, 16, NULL, &id));
	EXPECT_EQ(-EFAULT, gcmem_type_register(self->h.fd, 8, (void *)8, &id));
	EXPECT_EQ(-EFAULT, gcmem_type_register(self->h.fd, 8,
					       (void *)-4096L, &id));
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(2, st.types);
}

/* The mask is read in full: its second word lies on an unmapped page. */
TEST_F(raw, register_mask_partly_unmapped_efault)
{
	char *pg = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u64 *last;
	__u32 id = 0;

	ASSERT_NE(MAP_FAILED, pg);
	ASSERT_EQ(0, munmap(pg + 4096, 4096));
	last = (__u64 *)(pg + 4096 - 8);
	*last = 1;
	/* 1024 bytes: 128 words, two mask words. */
	EXPECT_EQ(-EFAULT, gcmem_type_register(self->h.fd, 1024, last, &id));
	/* 512 bytes: one mask word, all readable. */
	EXPECT_EQ(0, gcmem_type_register(self->h.fd, 512, last, &id));
	EXPECT_NE(POISON_U32, id);
	munmap(pg, 4096);
}

/* Type ids are written and distinct; the table holds GCMEM_MAX_TYPES. */
TEST_F(raw, table_full_enospc)
{
	__u64 mask = 1;
	struct gcmem_stats st;
	__u32 id, prev = POISON_U32;
	int n = 0, ret;

	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	ASSERT_EQ(2, st.types);
	for (;;) {
		ret = gcmem_type_register(self->h.fd, 8, &mask, &id);
		if (ret)
			break;
		EXPECT_NE(POISON_U32, id);
		EXPECT_NE(GCMEM_TYPE_CONSERVATIVE, id);
		EXPECT_NE(GCMEM_TYPE_NOSCAN, id);
		EXPECT_NE(prev, id);
		prev = id;
		ASSERT_GT(GCMEM_MAX_TYPES, ++n);
	}
	EXPECT_EQ(-ENOSPC, ret);
	EXPECT_EQ(GCMEM_MAX_TYPES - 2, n);
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(GCMEM_MAX_TYPES, st.types);
}

static const __u32 unknown_ids[] = {
	2, 3, 1000, GCMEM_MAX_TYPES - 1, GCMEM_MAX_TYPES, 0x7fffffff,
	0xffffffff,
};

TEST_F(raw, refill_unknown_type_enoent)
{
	struct gcmem_refill r;
	struct gcmem_stats st;

	for (size_t i = 0; i < sizeof(unknown_ids) / sizeof(unknown_ids[0]);
	     i++) {
		gcmem_refill_init(&r, self->reg.thread_id, 0, 1, unknown_ids[i],
				  self->bitmap, 64);
		EXPECT_EQ(-ENOENT, gcmem_refill(self->h.fd, &r))
			TH_LOG("type %u", unknown_ids[i]);
	}
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(0, st.refills);
	EXPECT_EQ(0, st.spans);
}

TEST_F(raw, alloc_large_unknown_type_enoent)
{
	struct gcmem_stats st;
	__u64 addr;

	for (size_t i = 0; i < sizeof(unknown_ids) / sizeof(unknown_ids[0]);
	     i++) {
		EXPECT_EQ(-ENOENT, gcmem_alloc_large(self->h.fd, unknown_ids[i],
						     100000, &addr))
			TH_LOG("type %u", unknown_ids[i]);
	}
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(0, st.large_objects);
	EXPECT_EQ(0, st.spans);
}

/* The id after the last registered one is still unknown. */
TEST_F(raw, next_id_unknown)
{
	__u64 mask = 1, addr;
	struct gcmem_refill r;
	__u32 id;

	ASSERT_EQ(0, gcmem_type_register(self->h.fd, 8, &mask, &id));
	gcmem_refill_init(&r, self->reg.thread_id, 0, 1, id + 1, self->bitmap,
			  64);
	EXPECT_EQ(-ENOENT, gcmem_refill(self->h.fd, &r));
	EXPECT_EQ(-ENOENT, gcmem_alloc_large(self->h.fd, id + 1, 8192, &addr));
	gcmem_refill_init(&r, self->reg.thread_id, 0, 1, id, self->bitmap, 64);
	EXPECT_EQ(0, gcmem_refill(self->h.fd, &r));
	EXPECT_EQ(0, gcmem_alloc_large(self->h.fd, id, 8192, &addr));
}

/*
 * A span is typed as a whole when it is handed out: every slot, allocated
 * or not, carries the type's bits and id.
 */
TEST_F(raw, refill_span_typed_at_handout)
{
	const struct gcmem_control *c = self->h.ctl;
	unsigned int cls = gcmem_class_for(c, 32);
	__u64 mask = 0x6, bits[1];
	struct gcmem_refill r;
	struct gcmem_query q;
	__u32 id, slots[3];

	ASSERT_NE(0, cls);
	ASSERT_EQ(32, c->class_size[cls]);
	ASSERT_EQ(0, gcmem_type_register(self->h.fd, 32, &mask, &id));
	gcmem_refill_init(&r, self->reg.thread_id, 7, cls, id, self->bitmap,
			  64);
	ASSERT_EQ(0, gcmem_refill(self->h.fd, &r));
	ASSERT_EQ(32, r.elem_size);
	slots[0] = r.cursor;
	slots[1] = r.nelems / 2;
	slots[2] = r.nelems - 1;
	for (int i = 0; i < 3; i++) {
		__u64 a = r.span_base + (__u64)slots[i] * 32;

		ASSERT_EQ(0, gcmem_query(self->h.fd, a + 8, &q, bits, 1));
		EXPECT_EQ(GCMEM_QUERY_IN_HEAP | GCMEM_QUERY_IN_SPAN,
			  q.result & (GCMEM_QUERY_IN_HEAP | GCMEM_QUERY_IN_SPAN));
		EXPECT_EQ(a, q.obj_start);
		EXPECT_EQ(id, q.type_id);
		EXPECT_EQ(cls, q.size_class);
		EXPECT_EQ(0x6, bits[0] & 0xf) TH_LOG("slot %u", slots[i]);
	}

	/* A NOSCAN span of the same class next to it: no bits. */
	gcmem_refill_init(&r, self->reg.thread_id, 8, cls, GCMEM_TYPE_NOSCAN,
			  self->bitmap, 64);
	ASSERT_EQ(0, gcmem_refill(self->h.fd, &r));
	ASSERT_EQ(0, gcmem_query(self->h.fd, r.span_base, &q, bits, 1));
	EXPECT_EQ(GCMEM_TYPE_NOSCAN, q.type_id);
	EXPECT_EQ(0, bits[0] & 0xf);
}

TEST_HARNESS_MAIN
