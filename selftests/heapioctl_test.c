// SPDX-License-Identifier: GPL-2.0
/*
 * The heap ioctls' argument checks: for each of TYPE_REGISTER,
 * THREAD_REGISTER, THREAD_UNREGISTER, REFILL, ALLOC_LARGE, ROOT_ADD,
 * ROOT_REMOVE, QUERY and FREE the generic rules (size, unknown tail, flags,
 * reserved fields, handshake first, owner only, outputs written); then
 * REFILL (its arguments, its outputs, forged cursors in the thread slot),
 * ALLOC_LARGE (sizes and the limit) and QUERY (addresses outside the heap).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "gcmem_util.h"

/*
 * The harness's TEST_F() wrapper keeps fork()'s result in a local that an
 * ASSERT's longjmp() may clobber, and GCC says so (-Wclobbered, part of
 * -Wextra) whenever a test body is not inlined into the wrapper. At worst
 * a failed test's teardown is skipped, which only closes the heap.
 */
#pragma GCC diagnostic ignored "-Wclobbered"

#define ARENA_LEN	(64 * MiB)
#define ARG_MAX		256	/* bytes: any heap ioctl struct plus a tail */

/* What the generic tests need to build a valid argument for one ioctl. */
struct abi_ctx {
	struct gcmem_raw_heap h;
	__u64 lo, hi;		/* the calling thread's stack */
	__u32 tid;		/* its id, when prepare registered it */
	__u64 bitmap[64];
	__u64 mask[1];
	__u64 qmask[4];
	__u64 root[8];
	__u64 ready[4];
	__u64 links[64];
	unsigned int nlinks;
};

struct field {
	size_t off, len;
};

FIXTURE(abi) {
	struct abi_ctx c;
};

FIXTURE_VARIANT(abi) {
	unsigned long cmd;
	size_t size;
	/* State the valid argument needs (registered thread, root...). */
	int (*prepare)(struct abi_ctx *c);
	/* Write a valid argument, outputs poisoned. */
	void (*fill)(struct abi_ctx *c, void *arg);
	__u32 known_flags;
	struct field reserved[2];
	int nreserved;
	struct field out[5];
	int nout;
};

static int prep_none(struct abi_ctx *c)
{
	return 0;
}

static int prep_thread(struct abi_ctx *c)
{
	struct gcmem_thread_register r;
	int ret = gcmem_thread_register(c->h.fd, -1, &r);

	c->tid = r.thread_id;
	return ret;
}

static int prep_root(struct abi_ctx *c)
{
	return gcmem_root_add(c->h.fd, (uintptr_t)c->root, sizeof(c->root),
			      GCMEM_TYPE_CONSERVATIVE);
}

static void fill_type_register(struct abi_ctx *c, void *arg)
{
	struct gcmem_type_register *a = arg;

	c->mask[0] = 0x5;
	a->size = sizeof(*a);
	a->type_size = 24;
	a->type_id = POISON_U32;
	a->ptrmask = (uintptr_t)c->mask;
}

static void fill_thread_register(struct abi_ctx *c, void *arg)
{
	gcmem_thread_reg_init(arg, c->lo, c->hi, -1);
}

static void fill_thread_unregister(struct abi_ctx *c, void *arg)
{
	struct gcmem_thread_unregister *a = arg;

	a->size = sizeof(*a);
	a->thread_id = c->tid;
}

static void fill_refill(struct abi_ctx *c, void *arg)
{
	gcmem_refill_init(arg, c->tid, 0, 1, GCMEM_TYPE_CONSERVATIVE,
			  c->bitmap, 64);
}

static void fill_alloc_large(struct abi_ctx *c, void *arg)
{
	struct gcmem_alloc_large *a = arg;

	a->size = sizeof(*a);
	a->type_id = GCMEM_TYPE_CONSERVATIVE;
	a->bytes = 40000;
	a->addr = POISON_U64;
}

/* A fresh object each time: a valid free frees it. */
static void fill_free(struct abi_ctx *c, void *arg)
{
	struct gcmem_alloc_large l = {
		.size = sizeof(l),
		.type_id = GCMEM_TYPE_CONSERVATIVE,
		.bytes = 100,
	};
	struct gcmem_free *a = arg;

	a->size = sizeof(*a);
	a->addr = gcmem_ioctl(c->h.fd, GCMEM_IOC_ALLOC_LARGE, &l) ? 0 : l.addr;
}

/* A fresh object each time, which gets a finalizer. */
static void fill_finalizer(struct abi_ctx *c, void *arg)
{
	struct gcmem_finalizer *a = arg;
	struct gcmem_free f;

	fill_free(c, &f);
	a->size = sizeof(*a);
	a->addr = f.addr;
}

static void fill_finalize(struct abi_ctx *c, void *arg)
{
	struct gcmem_finalize *a = arg;

	a->size = sizeof(*a);
	a->buf = (uintptr_t)c->ready;
	a->count = 4;
	a->remaining = POISON_U64;
}

/* A fresh link to a fresh object each time: registering returns 0. */
static void fill_weak(struct abi_ctx *c, void *arg)
{
	struct gcmem_weak *a = arg;
	struct gcmem_free f;

	fill_free(c, &f);
	a->size = sizeof(*a);
	a->link = (uintptr_t)&c->links[c->nlinks++ % 64];
	a->addr = f.addr;
}

static void fill_root(struct abi_ctx *c, void *arg)
{
	struct gcmem_root *a = arg;

	a->size = sizeof(*a);
	a->type_id = GCMEM_TYPE_CONSERVATIVE;
	a->start = (uintptr_t)c->root;
	a->len = sizeof(c->root);
}

static void fill_query(struct abi_ctx *c, void *arg)
{
	gcmem_query_init(arg, (uintptr_t)c->h.arena, c->qmask, 4);
}

#define F(type, field) { offsetof(type, field), sizeof(((type *)0)->field) }

FIXTURE_VARIANT_ADD(abi, type_register) {
	.cmd = GCMEM_IOC_TYPE_REGISTER,
	.size = sizeof(struct gcmem_type_register),
	.prepare = prep_none,
	.fill = fill_type_register,
	.out = { F(struct gcmem_type_register, type_id) },
	.nout = 1,
};

FIXTURE_VARIANT_ADD(abi, thread_register) {
	.cmd = GCMEM_IOC_THREAD_REGISTER,
	.size = sizeof(struct gcmem_thread_register),
	.prepare = prep_none,
	.fill = fill_thread_register,
	.out = { F(struct gcmem_thread_register, thread_id),
		 F(struct gcmem_thread_register, slot_offset) },
	.nout = 2,
};

FIXTURE_VARIANT_ADD(abi, thread_unregister) {
	.cmd = GCMEM_IOC_THREAD_UNREGISTER,
	.size = sizeof(struct gcmem_thread_unregister),
	.prepare = prep_thread,
	.fill = fill_thread_unregister,
	.reserved = { F(struct gcmem_thread_unregister, __reserved) },
	.nreserved = 1,
};

FIXTURE_VARIANT_ADD(abi, refill) {
	.cmd = GCMEM_IOC_REFILL,
	.size = sizeof(struct gcmem_refill),
	.prepare = prep_thread,
	.fill = fill_refill,
	.known_flags = GCMEM_REFILL_RELEASE,
	.reserved = { F(struct gcmem_refill, __reserved),
		      F(struct gcmem_refill, __reserved2) },
	.nreserved = 2,
	.out = { F(struct gcmem_refill, span_base),
		 F(struct gcmem_refill, elem_size),
		 F(struct gcmem_refill, nelems),
		 F(struct gcmem_refill, cursor) },
	.nout = 4,
};

FIXTURE_VARIANT_ADD(abi, alloc_large) {
	.cmd = GCMEM_IOC_ALLOC_LARGE,
	.size = sizeof(struct gcmem_alloc_large),
	.prepare = prep_none,
	.fill = fill_alloc_large,
	.known_flags = GCMEM_LARGE_IGNORE_OFF_PAGE,
	.reserved = { F(struct gcmem_alloc_large, __reserved) },
	.nreserved = 1,
	.out = { F(struct gcmem_alloc_large, addr) },
	.nout = 1,
};

FIXTURE_VARIANT_ADD(abi, root_add) {
	.cmd = GCMEM_IOC_ROOT_ADD,
	.size = sizeof(struct gcmem_root),
	.prepare = prep_none,
	.fill = fill_root,
	.reserved = { F(struct gcmem_root, __reserved) },
	.nreserved = 1,
};

FIXTURE_VARIANT_ADD(abi, root_remove) {
	.cmd = GCMEM_IOC_ROOT_REMOVE,
	.size = sizeof(struct gcmem_root),
	.prepare = prep_root,
	.fill = fill_root,
	.reserved = { F(struct gcmem_root, __reserved) },
	.nreserved = 1,
};

FIXTURE_VARIANT_ADD(abi, query) {
	.cmd = GCMEM_IOC_QUERY,
	.size = sizeof(struct gcmem_query),
	.prepare = prep_none,
	.fill = fill_query,
	.out = { F(struct gcmem_query, result),
		 F(struct gcmem_query, type_id),
		 F(struct gcmem_query, obj_start),
		 F(struct gcmem_query, obj_size),
		 F(struct gcmem_query, size_class) },
	.nout = 5,
};

FIXTURE_VARIANT_ADD(abi, free) {
	.cmd = GCMEM_IOC_FREE,
	.size = sizeof(struct gcmem_free),
	.prepare = prep_none,
	.fill = fill_free,
};

FIXTURE_VARIANT_ADD(abi, finalizer) {
	.cmd = GCMEM_IOC_FINALIZER,
	.size = sizeof(struct gcmem_finalizer),
	.prepare = prep_none,
	.fill = fill_finalizer,
	.known_flags = GCMEM_FINALIZER_NO_ORDER | GCMEM_FINALIZER_IGNORE_SELF |
		       GCMEM_FINALIZER_REMOVE,
};

FIXTURE_VARIANT_ADD(abi, finalize) {
	.cmd = GCMEM_IOC_FINALIZE,
	.size = sizeof(struct gcmem_finalize),
	.prepare = prep_none,
	.fill = fill_finalize,
	.reserved = { F(struct gcmem_finalize, __reserved) },
	.nreserved = 1,
	.out = { F(struct gcmem_finalize, remaining) },
	.nout = 1,
};

FIXTURE_VARIANT_ADD(abi, weak) {
	.cmd = GCMEM_IOC_WEAK,
	.size = sizeof(struct gcmem_weak),
	.prepare = prep_none,
	.fill = fill_weak,
	.known_flags = GCMEM_WEAK_LONG | GCMEM_WEAK_REMOVE | GCMEM_WEAK_MOVE,
};

FIXTURE_SETUP(abi)
{
	ASSERT_EQ(0, gcmem_raw_open(&self->c.h, ARENA_LEN))
		TH_LOG("open+handshake+map: %s", strerror(errno));
	ASSERT_EQ(0, gcmem_self_stack(&self->c.lo, &self->c.hi));
	self->c.tid = POISON_U32;
	ASSERT_EQ(0, variant->prepare(&self->c));
}

FIXTURE_TEARDOWN(abi)
{
	gcmem_raw_close(&self->c.h);
}

/* A valid argument in a zeroed buffer of ARG_MAX bytes. */
static void abi_fill(FIXTURE_DATA(abi) *self,
		     const FIXTURE_VARIANT(abi) *variant, __u64 *buf)
{
	memset(buf, 0, ARG_MAX);
	variant->fill(&self->c, buf);
}

static void set_field(void *buf, struct field f, __u64 v)
{
	memcpy((char *)buf + f.off, &v, f.len);	/* little endian */
}

/* Every heap ioctl struct starts with __u32 size, __u32 flags. */
static const struct field size_field = { 0, 4 }, flags_field = { 4, 4 };

/* The valid argument works: after the bad ones, nothing is in its way. */
static int abi_good(FIXTURE_DATA(abi) *self,
		    const FIXTURE_VARIANT(abi) *variant)
{
	__u64 buf[ARG_MAX / 8];

	abi_fill(self, variant, buf);
	return gcmem_ioctl(self->c.h.fd, variant->cmd, buf);
}

TEST_F(abi, size_too_small)
{
	const __u32 sizes[] = {
		0, 4, 8, variant->size - 8, variant->size - 4,
		variant->size - 1,
	};
	__u64 buf[ARG_MAX / 8];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		abi_fill(self, variant, buf);
		set_field(buf, size_field, sizes[i]);
		EXPECT_EQ(-EINVAL, gcmem_ioctl(self->c.h.fd, variant->cmd, buf))
			TH_LOG("size %u of %zu", sizes[i], variant->size);
	}
	EXPECT_EQ(0, abi_good(self, variant));
}

TEST_F(abi, nonzero_tail_e2big)
{
	__u64 buf[ARG_MAX / 8];
	unsigned char *tail = (unsigned char *)buf + variant->size;

	for (int at = 0; at < 16; at += 15) {
		abi_fill(self, variant, buf);
		set_field(buf, size_field, variant->size + 16);
		tail[at] = 1;
		EXPECT_EQ(-E2BIG, gcmem_ioctl(self->c.h.fd, variant->cmd, buf))
			TH_LOG("tail byte %d", at);
	}
	/* A zero tail is fine, and left alone. */
	abi_fill(self, variant, buf);
	set_field(buf, size_field, variant->size + 16);
	EXPECT_EQ(0, gcmem_ioctl(self->c.h.fd, variant->cmd, buf));
	for (int at = 0; at < 16; at++) {
		EXPECT_EQ(0, tail[at]);
	}
}

TEST_F(abi, unknown_flags)
{
	__u64 buf[ARG_MAX / 8];

	for (int bit = 0; bit < 32; bit++) {
		if (variant->known_flags & (1U << bit))
			continue;
		abi_fill(self, variant, buf);
		set_field(buf, flags_field, 1U << bit);
		EXPECT_EQ(-EINVAL, gcmem_ioctl(self->c.h.fd, variant->cmd, buf))
			TH_LOG("flag bit %d", bit);
	}
	EXPECT_EQ(0, abi_good(self, variant));
}

TEST_F(abi, reserved_fields)
{
	static const __u64 values[] = { 1, 0x80000000, ~0ULL };
	__u64 buf[ARG_MAX / 8];

	if (!variant->nreserved)
		SKIP(return, "no reserved field besides flags");
	for (int f = 0; f < variant->nreserved; f++) {
		for (size_t v = 0; v < sizeof(values) / sizeof(values[0]);
		     v++) {
			abi_fill(self, variant, buf);
			set_field(buf, variant->reserved[f], values[v]);
			EXPECT_EQ(-EINVAL, gcmem_ioctl(self->c.h.fd,
						       variant->cmd, buf))
				TH_LOG("reserved field at %zu = %#llx",
				       variant->reserved[f].off,
				       (unsigned long long)values[v]);
		}
	}
	EXPECT_EQ(0, abi_good(self, variant));
}

/* Before the handshake every heap ioctl fails with EINVAL. */
TEST_F(abi, before_handshake)
{
	__u64 buf[ARG_MAX / 8];
	int fd = gcmem_open();

	ASSERT_LE(0, fd);
	abi_fill(self, variant, buf);
	EXPECT_EQ(-EINVAL, gcmem_ioctl(fd, variant->cmd, buf));
	close(fd);
	EXPECT_EQ(0, abi_good(self, variant));
}

/* In a child that inherited the descriptor, EPERM, whatever the argument. */
TEST_F(abi, forked_child_eperm)
{
	__u64 buf[ARG_MAX / 8];
	int status;
	pid_t pid;

	abi_fill(self, variant, buf);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int ret = gcmem_ioctl(self->c.h.fd, variant->cmd, buf);

		_exit(ret == -EPERM ? 0 : ret < 0 ? -ret : 255);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("child got errno %d (255: success)",
						 WEXITSTATUS(status));
	EXPECT_EQ(0, abi_good(self, variant));
}

/* Outputs are ignored on input (they are poisoned) and always written. */
TEST_F(abi, outputs_written)
{
	__u64 buf[ARG_MAX / 8];

	abi_fill(self, variant, buf);
	ASSERT_EQ(0, gcmem_ioctl(self->c.h.fd, variant->cmd, buf));
	for (int f = 0; f < variant->nout; f++) {
		__u64 v = 0;

		memcpy(&v, (char *)buf + variant->out[f].off,
		       variant->out[f].len);
		EXPECT_NE(variant->out[f].len == 8 ? POISON_U64 : POISON_U32,
			  v) TH_LOG("output at offset %zu",
				    variant->out[f].off);
	}
}

TEST(handshake_reports_heap_ioctls)
{
	struct gcmem_handshake hs;
	int fd = gcmem_open_ready(&hs);

	ASSERT_LE(0, fd);
	for (int nr = GCMEM_CMD_HANDSHAKE; nr <= GCMEM_CMD_WEAK; nr++) {
		EXPECT_TRUE(hs.ioctls & (1ULL << (nr - GCMEM_CMD_BASE)))
			TH_LOG("ioctl %#x", nr);
	}
	close(fd);
}

/* A heap with the calling thread registered and its slot mapped. */
FIXTURE(heap) {
	struct gcmem_raw_heap h;
	struct gcmem_thread_register reg;
	struct gcmem_thread_slot *slot;
	__u64 bitmap[64];
};

FIXTURE_SETUP(heap)
{
	ASSERT_EQ(0, gcmem_raw_open(&self->h, ARENA_LEN))
		TH_LOG("open+handshake+map: %s", strerror(errno));
	ASSERT_LT(1, self->h.ctl->nclasses);
	ASSERT_GE(GCMEM_MAX_CLASSES, self->h.ctl->nclasses);
	ASSERT_EQ(0, gcmem_thread_register(self->h.fd, -1, &self->reg));
	self->slot = gcmem_map_slot(self->h.fd, self->reg.slot_offset);
	ASSERT_NE(NULL, self->slot) TH_LOG("mmap slot: %s", strerror(errno));
}

FIXTURE_TEARDOWN(heap)
{
	if (self->slot)
		munmap(self->slot, GCMEM_THREAD_SLOT_SIZE);
	gcmem_raw_close(&self->h);
}

static int heap_refill(FIXTURE_DATA(heap) *self, __u32 idx, __u32 cls,
		       struct gcmem_refill *r)
{
	gcmem_refill_init(r, self->reg.thread_id, idx, cls,
			  GCMEM_TYPE_CONSERVATIVE, self->bitmap, 64);
	return gcmem_refill(self->h.fd, r);
}

static size_t nonzero_at(const void *p, size_t size)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < size; i++)
		if (b[i])
			return i;
	return SIZE_MAX;
}

/* Bits [0, @k) of @bitmap set, [@k, @nel) clear; -1 or the first wrong bit. */
static long bitmap_prefix(const __u64 *bitmap, __u32 nel, __u32 k)
{
	for (__u32 i = 0; i < nel; i++)
		if ((int)((bitmap[i / 64] >> (i % 64)) & 1) != (i < k))
			return i;
	return -1;
}

static __u32 query_result(int fd, __u64 addr)
{
	struct gcmem_query q;

	if (gcmem_query(fd, addr, &q, NULL, 0))
		return POISON_U32;
	return q.result;
}

/* The class used by the cursor tests: 256-byte objects. */
static unsigned int test_class(const struct gcmem_control *c)
{
	return gcmem_class_for(c, 256);
}

/* A refill's outputs, the thread slot, the bitmap, the span, the stats. */
TEST_F(heap, refill_outputs)
{
	const struct gcmem_control *c = self->h.ctl;
	unsigned int cls = gcmem_class_for(c, 48);
	struct gcmem_refill r;
	struct gcmem_stats st;
	struct gcmem_query q;
	__u64 span, base;
	__u32 words;

	ASSERT_NE(0, cls);
	span = (__u64)c->class_npages[cls] * GCMEM_PAGE_SIZE;
	words = gcmem_class_bitmap_words(c, cls);
	self->slot->cursor[3] = 0xdeadbeef;
	ASSERT_EQ(0, heap_refill(self, 3, cls, &r));
	base = r.span_base;
	EXPECT_LE((uintptr_t)self->h.arena, base);
	EXPECT_GE((uintptr_t)self->h.arena + self->h.arena_len, base + span);
	EXPECT_EQ(0, base % GCMEM_PAGE_SIZE);
	EXPECT_EQ(c->class_size[cls], r.elem_size);
	EXPECT_EQ(gcmem_class_nelems(c, cls), r.nelems);
	EXPECT_EQ(0, r.cursor);		/* a fresh heap: a fresh span */
	EXPECT_EQ(r.cursor, self->slot->cursor[3]);
	for (__u32 i = 0; i < words; i++) {
		__u64 valid = i < r.nelems / 64 ? ~0ULL :
			      (1ULL << (r.nelems % 64)) - 1;

		EXPECT_EQ(0, self->bitmap[i] & valid) TH_LOG("word %u", i);
	}
	EXPECT_EQ(POISON_U64, self->bitmap[words]);
	EXPECT_EQ(SIZE_MAX, nonzero_at((void *)(uintptr_t)base, span));

	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(1, st.refills);
	EXPECT_EQ(1, st.spans);
	EXPECT_EQ(span, st.inuse_bytes);
	EXPECT_EQ(0, st.small_allocated);
	EXPECT_EQ(0, st.large_objects);

	/* Cached, nothing allocated below the cursor yet. */
	ASSERT_EQ(0, gcmem_query(self->h.fd, base + 5, &q, NULL, 0));
	EXPECT_EQ(GCMEM_QUERY_IN_HEAP | GCMEM_QUERY_IN_SPAN |
		  GCMEM_QUERY_CACHED, q.result);
	EXPECT_EQ(base, q.obj_start);
	EXPECT_EQ(cls, q.size_class);
	EXPECT_EQ(r.elem_size, q.obj_size);
	EXPECT_EQ(GCMEM_TYPE_CONSERVATIVE, q.type_id);

	/* The thread's cursor says what is allocated. */
	self->slot->cursor[3] = 2;
	EXPECT_TRUE(query_result(self->h.fd, base) & GCMEM_QUERY_ALLOCATED);
	EXPECT_TRUE(query_result(self->h.fd, base + r.elem_size + 7) &
		    GCMEM_QUERY_ALLOCATED);
	EXPECT_FALSE(query_result(self->h.fd, base + 2 * r.elem_size) &
		     GCMEM_QUERY_ALLOCATED);
}

/* Every class, raw: the span's geometry, zeroed, interior addresses. */
TEST_F(heap, refill_every_class)
{
	const struct gcmem_control *c = self->h.ctl;
	__u64 inuse = 0;
	struct gcmem_stats st;

	for (unsigned int cls = 1; cls < c->nclasses; cls++) {
		__u64 span = (__u64)c->class_npages[cls] * GCMEM_PAGE_SIZE;
		struct gcmem_refill r;
		struct gcmem_query q;
		__u64 last;

		ASSERT_EQ(0, heap_refill(self, cls, cls, &r)) TH_LOG("class %u",
								     cls);
		EXPECT_EQ(c->class_size[cls], r.elem_size);
		EXPECT_EQ(gcmem_class_nelems(c, cls), r.nelems);
		EXPECT_EQ(0, r.span_base % GCMEM_PAGE_SIZE);
		EXPECT_EQ(SIZE_MAX, nonzero_at((void *)(uintptr_t)r.span_base,
					       span)) TH_LOG("class %u", cls);
		last = r.span_base + (__u64)(r.nelems - 1) * r.elem_size;
		ASSERT_EQ(0, gcmem_query(self->h.fd, last + r.elem_size - 1, &q,
					 NULL, 0));
		EXPECT_EQ(last, q.obj_start) TH_LOG("class %u", cls);
		EXPECT_EQ(cls, q.size_class);
		inuse += span;
	}
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(c->nclasses - 1, st.refills);
	EXPECT_EQ(c->nclasses - 1, st.spans);
	EXPECT_EQ(inuse, st.inuse_bytes);
}

TEST_F(heap, refill_bad_cache_index)
{
	static const __u32 idx[] = {
		GCMEM_THREAD_CACHES, GCMEM_THREAD_CACHES + 1, 0x80000000,
		0xffffffff,
	};
	struct gcmem_refill r;
	struct gcmem_stats st;

	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
		EXPECT_EQ(-EINVAL, heap_refill(self, idx[i], 1, &r))
			TH_LOG("cache %u", idx[i]);
	}
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(0, st.refills);
	EXPECT_EQ(0, heap_refill(self, GCMEM_THREAD_CACHES - 1, 1, &r));
}

TEST_F(heap, refill_bad_size_class)
{
	const __u32 n = self->h.ctl->nclasses;
	const __u32 cls[] = { 0, n, n + 1, GCMEM_MAX_CLASSES, 0xffffffff };
	struct gcmem_refill r;
	struct gcmem_stats st;

	for (size_t i = 0; i < sizeof(cls) / sizeof(cls[0]); i++) {
		EXPECT_EQ(-EINVAL, heap_refill(self, 0, cls[i], &r))
			TH_LOG("class %u of %u", cls[i], n);
	}
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(0, st.refills);
	EXPECT_EQ(0, heap_refill(self, 0, n - 1, &r));
}

TEST_F(heap, refill_bitmap_too_small)
{
	const struct gcmem_control *c = self->h.ctl;
	unsigned int big = 1, cls = test_class(c);
	struct gcmem_refill r;
	struct gcmem_stats st;
	__u32 need = gcmem_class_bitmap_words(c, big);

	ASSERT_LT(1, need);
	gcmem_refill_init(&r, self->reg.thread_id, 0, big,
			  GCMEM_TYPE_CONSERVATIVE, self->bitmap, need - 1);
	EXPECT_EQ(-EINVAL, gcmem_refill(self->h.fd, &r));
	gcmem_refill_init(&r, self->reg.thread_id, 0, big,
			  GCMEM_TYPE_CONSERVATIVE, self->bitmap, 0);
	EXPECT_EQ(-EINVAL, gcmem_refill(self->h.fd, &r));
	gcmem_refill_init(&r, self->reg.thread_id, 0, cls,
			  GCMEM_TYPE_CONSERVATIVE, self->bitmap, 0);
	EXPECT_EQ(-EINVAL, gcmem_refill(self->h.fd, &r));
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(0, st.refills);

	/* Exactly enough is enough, and nothing is written beyond it. */
	gcmem_refill_init(&r, self->reg.thread_id, 0, big,
			  GCMEM_TYPE_CONSERVATIVE, self->bitmap, need);
	self->bitmap[need] = POISON_U64;
	EXPECT_EQ(0, gcmem_refill(self->h.fd, &r));
	EXPECT_EQ(POISON_U64, self->bitmap[need]);
	need = gcmem_class_bitmap_words(c, cls);
	gcmem_refill_init(&r, self->reg.thread_id, 1, cls,
			  GCMEM_TYPE_CONSERVATIVE, self->bitmap, need);
	EXPECT_EQ(0, gcmem_refill(self->h.fd, &r));
}

TEST_F(heap, refill_bad_bitmap_efault)
{
	char *pg = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	const __u64 bad[] = {
		8, (uintptr_t)self->h.ctl, 0xffff888000000000ULL,
		(uintptr_t)pg + 4096 - 8,	/* 16 words, 1 mapped */
	};
	struct gcmem_refill r;
	struct gcmem_stats st;

	ASSERT_NE(MAP_FAILED, pg);
	ASSERT_EQ(0, munmap(pg + 4096, 4096));
	ASSERT_EQ(16, gcmem_class_bitmap_words(self->h.ctl, 1));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		gcmem_refill_init(&r, self->reg.thread_id, 0, 1,
				  GCMEM_TYPE_CONSERVATIVE, NULL, 16);
		r.alloc_bitmap = bad[i];
		EXPECT_EQ(-EFAULT, gcmem_refill(self->h.fd, &r))
			TH_LOG("bitmap at %#llx", (unsigned long long)bad[i]);
	}
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(0, st.refills);
	munmap(pg, 4096);
}

/* Without an arena there is no heap to refill from. */
TEST(refill_before_arena_map_einval)
{
	struct gcmem_thread_register reg;
	struct gcmem_raw_heap h;
	struct gcmem_refill r;
	__u64 bitmap[64];

	ASSERT_EQ(0, gcmem_raw_open(&h, 0));
	ASSERT_EQ(0, gcmem_thread_register(h.fd, -1, &reg));
	gcmem_refill_init(&r, reg.thread_id, 0, 1, GCMEM_TYPE_CONSERVATIVE,
			  bitmap, 64);
	EXPECT_EQ(-EINVAL, gcmem_refill(h.fd, &r));
	gcmem_raw_close(&h);
}

TEST(alloc_large_before_arena_map_einval)
{
	struct gcmem_raw_heap h;
	__u64 addr;

	ASSERT_EQ(0, gcmem_raw_open(&h, 0));
	EXPECT_EQ(-EINVAL, gcmem_alloc_large(h.fd, GCMEM_TYPE_CONSERVATIVE,
					     40000, &addr));
	gcmem_raw_close(&h);
}

/* RELEASE hands the span back with its cursor; other fields don't matter. */
TEST_F(heap, refill_release)
{
	unsigned int cls = test_class(self->h.ctl);
	struct gcmem_refill r, rel;
	struct gcmem_stats st;
	__u64 base;

	ASSERT_EQ(0, heap_refill(self, 4, cls, &r));
	base = r.span_base;
	self->slot->cursor[4] = 3;
	gcmem_refill_init(&rel, self->reg.thread_id, 4, 0xffffffff, 0xffffffff,
			  NULL, 0);
	rel.flags = GCMEM_REFILL_RELEASE;
	ASSERT_EQ(0, gcmem_refill(self->h.fd, &rel));
	EXPECT_EQ(GCMEM_QUERY_IN_HEAP | GCMEM_QUERY_IN_SPAN |
		  GCMEM_QUERY_ALLOCATED, query_result(self->h.fd, base));
	EXPECT_EQ(GCMEM_QUERY_IN_HEAP | GCMEM_QUERY_IN_SPAN |
		  GCMEM_QUERY_ALLOCATED,
		  query_result(self->h.fd, base + 2 * r.elem_size));
	EXPECT_EQ(GCMEM_QUERY_IN_HEAP | GCMEM_QUERY_IN_SPAN,
		  query_result(self->h.fd, base + 3 * r.elem_size));
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(3, st.small_allocated);
	EXPECT_EQ(1, st.spans);
}

/*
 * Forged cursors: absurd values in the slot are clamped to the span when
 * it comes back. Each slot is counted once, what was allocated stays
 * allocated, the kernel neither crashes nor warns.
 */
TEST_F(heap, forged_cursor_beyond_span)
{
	const struct gcmem_control *c = self->h.ctl;
	unsigned int cls = test_class(c);
	const __u32 nel = gcmem_class_nelems(c, cls);
	const __u32 forged[] = { nel + 1, 0x80000000, 0xffffffff };
	__u64 span = (__u64)c->class_npages[cls] * GCMEM_PAGE_SIZE;
	__u64 prev = 0, first = 0;
	struct gcmem_refill r;
	struct gcmem_stats st;
	size_t i;

	ASSERT_EQ(0, heap_refill(self, 0, cls, &r));
	first = r.span_base;
	memset((void *)(uintptr_t)first, 0x77, r.elem_size);
	self->slot->cursor[0] = 1;
	for (i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		prev = r.span_base;
		self->slot->cursor[0] = forged[i];
		/* While cached: the last slot reads as allocated, clamped. */
		EXPECT_TRUE(query_result(self->h.fd, prev + (__u64)(nel - 1) *
					 r.elem_size) & GCMEM_QUERY_ALLOCATED);
		ASSERT_EQ(0, heap_refill(self, 0, cls, &r));
		/* The old span is full: the new one is another. */
		EXPECT_NE(prev, r.span_base);
		EXPECT_EQ(0, r.cursor);
		EXPECT_EQ(SIZE_MAX, nonzero_at((void *)(uintptr_t)r.span_base,
					       span));
		EXPECT_EQ(GCMEM_QUERY_IN_HEAP | GCMEM_QUERY_IN_SPAN |
			  GCMEM_QUERY_ALLOCATED,
			  query_result(self->h.fd, prev));
		EXPECT_EQ(GCMEM_QUERY_IN_HEAP | GCMEM_QUERY_IN_SPAN |
			  GCMEM_QUERY_ALLOCATED,
			  query_result(self->h.fd, prev + (__u64)(nel - 1) *
				       r.elem_size));
	}
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(i + 1, st.refills);
	EXPECT_EQ(i + 1, st.spans);
	EXPECT_EQ((i + 1) * span, st.inuse_bytes);
	EXPECT_EQ(i * nel, st.small_allocated);
	/* The first object was never zeroed behind our back. */
	EXPECT_EQ(0x77, *(unsigned char *)(uintptr_t)first);
	EXPECT_EQ(0x77, *(unsigned char *)(uintptr_t)(first + r.elem_size - 1));
}

/*
 * A cursor below the one the kernel handed out does not free what was
 * allocated before, nor count it twice. Needs the kernel to hand the
 * partly used span out again (it is the only one of its class with free
 * slots); skipped if it does not.
 */
TEST_F(heap, forged_cursor_below_handout)
{
	const struct gcmem_control *c = self->h.ctl;
	unsigned int cls = test_class(c);
	const __u32 nel = gcmem_class_nelems(c, cls);
	struct gcmem_refill r;
	struct gcmem_stats st;
	__u64 base;
	__u32 sz, i;

	ASSERT_LT(8, nel);
	ASSERT_GE(64 * 64, nel);
	ASSERT_EQ(0, heap_refill(self, 0, cls, &r));
	base = r.span_base;
	sz = r.elem_size;
	/* Five objects; the free slots after them scribbled over. */
	memset((void *)(uintptr_t)base, 0x77, 5 * sz);
	memset((void *)(uintptr_t)(base + 5 * sz), 0x5a, (nel - 5) * sz);
	self->slot->cursor[0] = 5;
	ASSERT_EQ(0, gcmem_release(self->h.fd, self->reg.thread_id, 0));
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(5, st.small_allocated);

	ASSERT_EQ(0, heap_refill(self, 0, cls, &r));
	if (r.span_base != base)
		SKIP(return, "the partly used span was not handed out again");
	EXPECT_EQ(5, r.cursor);
	EXPECT_EQ(5, self->slot->cursor[0]);
	EXPECT_EQ(-1, bitmap_prefix(self->bitmap, nel, 5));
	/* Free slots zeroed, allocated ones untouched. */
	EXPECT_EQ(SIZE_MAX, nonzero_at((void *)(uintptr_t)(base + 5 * sz),
				       (nel - 5) * sz));
	EXPECT_EQ(0x77, *(unsigned char *)(uintptr_t)(base + 5 * sz - 1));

	/* Forge a smaller cursor; objects 2..4 stay allocated. */
	self->slot->cursor[0] = 2;
	for (i = 0; i < 5; i++) {
		EXPECT_TRUE(query_result(self->h.fd, base + i * sz) &
			    GCMEM_QUERY_ALLOCATED) TH_LOG("slot %u", i);
	}
	ASSERT_EQ(0, gcmem_release(self->h.fd, self->reg.thread_id, 0));
	for (i = 0; i < 5; i++) {
		EXPECT_EQ(GCMEM_QUERY_IN_HEAP | GCMEM_QUERY_IN_SPAN |
			  GCMEM_QUERY_ALLOCATED,
			  query_result(self->h.fd, base + i * sz))
			TH_LOG("slot %u", i);
	}
	EXPECT_EQ(GCMEM_QUERY_IN_HEAP | GCMEM_QUERY_IN_SPAN,
		  query_result(self->h.fd, base + 5 * sz));
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(5, st.small_allocated);

	/* Handed out again: the cursor is 5, not 2. */
	ASSERT_EQ(0, heap_refill(self, 0, cls, &r));
	EXPECT_EQ(base, r.span_base);
	EXPECT_EQ(5, r.cursor);
	EXPECT_EQ(-1, bitmap_prefix(self->bitmap, nel, 5));
	self->slot->cursor[0] = 0xffffffff;
	ASSERT_EQ(0, gcmem_release(self->h.fd, self->reg.thread_id, 0));
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(nel, st.small_allocated);
	EXPECT_EQ(1, st.spans);
	EXPECT_EQ(0x77, *(unsigned char *)(uintptr_t)base);

	/* Full now: the next refill is another span. */
	ASSERT_EQ(0, heap_refill(self, 0, cls, &r));
	EXPECT_NE(base, r.span_base);
}

/* Unregistering reads (and clamps) the cursors too. */
TEST_F(heap, forged_cursor_at_unregister)
{
	const struct gcmem_control *c = self->h.ctl;
	unsigned int cls = test_class(c);
	const __u32 nel = gcmem_class_nelems(c, cls);
	struct gcmem_refill r, r2;
	struct gcmem_stats st;

	ASSERT_EQ(0, heap_refill(self, 0, cls, &r));
	ASSERT_EQ(0, heap_refill(self, 1, 1, &r2));
	self->slot->cursor[0] = 0xffffffff;
	self->slot->cursor[1] = 0x7fffffff;
	ASSERT_EQ(0, gcmem_thread_unregister(self->h.fd, self->reg.thread_id));
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(nel + gcmem_class_nelems(c, 1), st.small_allocated);
	EXPECT_EQ(2, st.spans);
	EXPECT_EQ(GCMEM_QUERY_IN_HEAP | GCMEM_QUERY_IN_SPAN |
		  GCMEM_QUERY_ALLOCATED,
		  query_result(self->h.fd, r.span_base + (__u64)(nel - 1) *
			       r.elem_size));
}

/* A cursor forged for a cache that holds no span is ignored, then reset. */
TEST_F(heap, forged_cursor_empty_cache)
{
	struct gcmem_refill r;
	struct gcmem_stats st;

	self->slot->cursor[9] = 0xffffffff;
	ASSERT_EQ(0, heap_refill(self, 9, test_class(self->h.ctl), &r));
	EXPECT_EQ(0, r.cursor);
	EXPECT_EQ(0, self->slot->cursor[9]);
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(0, st.small_allocated);
	EXPECT_EQ(1, st.spans);
}

TEST_F(heap, alloc_large_zero_einval)
{
	struct gcmem_stats st;
	__u64 addr;

	EXPECT_EQ(-EINVAL, gcmem_alloc_large(self->h.fd,
					     GCMEM_TYPE_CONSERVATIVE, 0, &addr));
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(0, st.large_objects);
	EXPECT_EQ(0, st.spans);
}

/*
 * @bytes runs "from 1 to the heap's limit"; a request beyond the limit can
 * never be met: ENOMEM ("at the heap's limit"), also where rounding it up
 * to pages would overflow. Nothing is allocated.
 */
TEST_F(heap, alloc_large_beyond_limit_enomem)
{
	const __u64 limit = self->h.hs.limit;
	const __u64 bytes[] = {
		limit + 1, limit + GCMEM_PAGE_SIZE, self->h.hs.arena_max + 1,
		1ULL << 62, ~0ULL - GCMEM_PAGE_SIZE + 2, ~0ULL,
	};
	struct gcmem_stats st;
	__u64 addr;

	for (size_t i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++) {
		EXPECT_EQ(-ENOMEM, gcmem_alloc_large(self->h.fd,
						     GCMEM_TYPE_CONSERVATIVE,
						     bytes[i], &addr))
			TH_LOG("%#llx bytes, limit %#llx",
			       (unsigned long long)bytes[i],
			       (unsigned long long)limit);
	}
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(0, st.large_objects);
	EXPECT_EQ(0, st.spans);
	EXPECT_EQ(0, st.committed);
}

/* The limit itself, when the heap already holds memory: ENOMEM. */
TEST_F(heap, alloc_large_at_limit_enomem)
{
	__u64 limit = 4 * GCMEM_CHUNK_SIZE, addr, a2;
	struct gcmem_stats st;

	ASSERT_EQ(0, gcmem_option(self->h.fd, GCMEM_OPTION_LIMIT,
				  GCMEM_OPTION_OP_SET, &limit));
	ASSERT_EQ(0, gcmem_alloc_large(self->h.fd, GCMEM_TYPE_CONSERVATIVE,
				       MiB, &addr));
	EXPECT_EQ(-ENOMEM, gcmem_alloc_large(self->h.fd,
					     GCMEM_TYPE_CONSERVATIVE,
					     4 * GCMEM_CHUNK_SIZE, &a2));
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(1, st.large_objects);
	EXPECT_GE(limit, st.committed);
	/* Still usable. */
	EXPECT_EQ(0, gcmem_alloc_large(self->h.fd, GCMEM_TYPE_CONSERVATIVE,
				       MiB, &a2));
	EXPECT_NE(addr, a2);
}

/* Any size may come from ALLOC_LARGE, in a span of its own. */
TEST_F(heap, alloc_large_small_sizes)
{
	static const __u64 sizes[] = {
		1, 8, 100, GCMEM_PAGE_SIZE, GCMEM_PAGE_SIZE + 1,
		GCMEM_SMALL_MAX,
	};
	const size_t n = sizeof(sizes) / sizeof(sizes[0]);
	__u64 addr[sizeof(sizes) / sizeof(sizes[0])], inuse = 0;
	struct gcmem_stats st;
	struct gcmem_query q;
	size_t i;

	for (i = 0; i < n; i++) {
		__u64 rounded = (sizes[i] + GCMEM_PAGE_SIZE - 1) &
				~(__u64)(GCMEM_PAGE_SIZE - 1);
		__u32 type = i & 1 ? GCMEM_TYPE_NOSCAN : GCMEM_TYPE_CONSERVATIVE;

		ASSERT_EQ(0, gcmem_alloc_large(self->h.fd, type, sizes[i],
					       &addr[i]));
		EXPECT_EQ(0, addr[i] % GCMEM_PAGE_SIZE);
		EXPECT_LE((uintptr_t)self->h.arena, addr[i]);
		EXPECT_GE((uintptr_t)self->h.arena + self->h.arena_len,
			  addr[i] + rounded);
		EXPECT_EQ(SIZE_MAX, nonzero_at((void *)(uintptr_t)addr[i],
					       sizes[i]));
		ASSERT_EQ(0, gcmem_query(self->h.fd, addr[i] + sizes[i] - 1, &q,
					 NULL, 0));
		EXPECT_EQ(GCMEM_QUERY_IN_HEAP | GCMEM_QUERY_IN_SPAN |
			  GCMEM_QUERY_ALLOCATED | GCMEM_QUERY_LARGE, q.result);
		EXPECT_EQ(addr[i], q.obj_start);
		EXPECT_EQ(rounded, q.obj_size);
		EXPECT_EQ(0, q.size_class);
		EXPECT_EQ(type, q.type_id);
		memset((void *)(uintptr_t)addr[i], 0x33, sizes[i]);
		inuse += rounded;
	}
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(n, st.large_objects);
	EXPECT_EQ(n, st.spans);
	EXPECT_EQ(inuse, st.inuse_bytes);
	EXPECT_EQ(0, st.refills);
}

/* Outside the heap, a query succeeds and finds nothing. */
TEST_F(heap, query_outside_heap)
{
	__u64 a = (uintptr_t)self->h.arena, len = self->h.arena_len;
	int local;
	const __u64 addrs[] = {
		0, 8, (uintptr_t)&local, (uintptr_t)self, (uintptr_t)self->slot,
		(uintptr_t)self->h.ctl, a - 1, a + len, 0xffff888000000000ULL,
		~0ULL,
	};
	struct gcmem_query q;
	__u64 bits[2];

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		EXPECT_EQ(0, gcmem_query(self->h.fd, addrs[i], &q, bits, 2))
			TH_LOG("%#llx", (unsigned long long)addrs[i]);
		EXPECT_EQ(0, q.result) TH_LOG("%#llx",
					      (unsigned long long)addrs[i]);
	}
}

/* In the arena but in no span: only IN_HEAP. */
TEST_F(heap, query_arena_no_span)
{
	__u64 a = (uintptr_t)self->h.arena, len = self->h.arena_len;
	const __u64 addrs[] = { a, a + 8, a + len / 2, a + len - 1 };

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		EXPECT_EQ(GCMEM_QUERY_IN_HEAP, query_result(self->h.fd,
							    addrs[i]))
			TH_LOG("arena + %#llx",
			       (unsigned long long)(addrs[i] - a));
	}
}

TEST_F(heap, query_bad_ptrmask_efault)
{
	struct gcmem_query q;
	__u64 addr;

	ASSERT_EQ(0, gcmem_alloc_large(self->h.fd, GCMEM_TYPE_CONSERVATIVE,
				       40000, &addr));
	gcmem_query_init(&q, addr, NULL, 0);
	q.ptrmask = 8;
	q.ptrmask_words = 1;
	EXPECT_EQ(-EFAULT, gcmem_ioctl(self->h.fd, GCMEM_IOC_QUERY, &q));
	gcmem_query_init(&q, addr, NULL, 0);
	q.ptrmask = (uintptr_t)self->h.ctl;	/* read-only */
	q.ptrmask_words = 1;
	EXPECT_EQ(-EFAULT, gcmem_ioctl(self->h.fd, GCMEM_IOC_QUERY, &q));
}

TEST_HARNESS_MAIN
