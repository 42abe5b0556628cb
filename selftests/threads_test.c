// SPDX-License-Identifier: GPL-2.0
/*
 * Threads and roots. Raw ioctls: registering a thread (stack range,
 * eventfd, twice), its slot mapping, unregistering (also of a thread
 * refilling meanwhile), refills by a thread other than the registered
 * one; adding and removing root ranges. Through libgcuser: threads registered by gcu_init(), on first allocation and
 * explicitly, and unregistered when they exit; roots.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>

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

#define ARENA_LEN	(64 * MiB)

FIXTURE(raw) {
	struct gcmem_raw_heap h;
	__u64 lo, hi;		/* this thread's stack */
	int efd;
};

FIXTURE_SETUP(raw)
{
	ASSERT_EQ(0, gcmem_raw_open(&self->h, ARENA_LEN))
		TH_LOG("open+handshake+map: %s", strerror(errno));
	ASSERT_EQ(0, gcmem_self_stack(&self->lo, &self->hi));
	self->efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, self->efd);
}

FIXTURE_TEARDOWN(raw)
{
	close(self->efd);
	gcmem_raw_close(&self->h);
}

static __u32 raw_threads(int fd)
{
	struct gcmem_stats st;

	if (gcmem_stats(fd, &st))
		return POISON_U32;
	return st.threads;
}

static int reg_range(int fd, __u64 lo, __u64 hi, int efd)
{
	struct gcmem_thread_register r;

	gcmem_thread_reg_init(&r, lo, hi, efd);
	return gcmem_ioctl(fd, GCMEM_IOC_THREAD_REGISTER, &r);
}

/* A good registration, and the slot it maps: RUNNING, with our id. */
TEST_F(raw, register_and_map_slot)
{
	struct gcmem_thread_register r;
	struct gcmem_thread_slot *slot;

	ASSERT_EQ(0, raw_threads(self->h.fd));
	ASSERT_EQ(0, gcmem_thread_register(self->h.fd, self->efd, &r));
	EXPECT_NE(POISON_U32, r.thread_id);
	EXPECT_NE(POISON_U64, r.slot_offset);
	EXPECT_EQ(0, r.slot_offset % 4096);
	EXPECT_EQ(1, raw_threads(self->h.fd));

	slot = gcmem_map_slot(self->h.fd, r.slot_offset);
	ASSERT_NE(NULL, slot) TH_LOG("mmap slot: %s", strerror(errno));
	EXPECT_EQ(GCMEM_THREAD_RUNNING, slot->status);
	EXPECT_EQ(r.thread_id, slot->thread_id);
	/* Read-write: the cursors are ours to write. */
	slot->cursor[0] = 1;
	slot->cursor[GCMEM_THREAD_CACHES - 1] = 2;
	EXPECT_EQ(1, slot->cursor[0]);
	EXPECT_EQ(2, slot->cursor[GCMEM_THREAD_CACHES - 1]);
	EXPECT_GE(GCMEM_THREAD_SLOT_SIZE, sizeof(*slot));
	EXPECT_EQ(0, munmap(slot, GCMEM_THREAD_SLOT_SIZE));
}

TEST_F(raw, slot_bad_maps)
{
	struct gcmem_thread_register r;
	void *p;

	ASSERT_EQ(0, gcmem_thread_register(self->h.fd, -1, &r));
	p = mmap(NULL, GCMEM_THREAD_SLOT_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE, self->h.fd, r.slot_offset);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, self->h.fd,
		 r.slot_offset);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, 2 * GCMEM_THREAD_SLOT_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED, self->h.fd, r.slot_offset);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, GCMEM_THREAD_SLOT_SIZE, PROT_READ | PROT_EXEC,
		 MAP_SHARED, self->h.fd, r.slot_offset);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EACCES, errno);
	/* Offsets no registration handed out. */
	p = mmap(NULL, GCMEM_THREAD_SLOT_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED, self->h.fd,
		 r.slot_offset + 100 * GCMEM_THREAD_SLOT_SIZE);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, GCMEM_THREAD_SLOT_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED, self->h.fd, r.slot_offset + 4096);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
}

/* Once its thread is unregistered, a slot's offset is unknown. */
TEST_F(raw, slot_of_unregistered_einval)
{
	struct gcmem_thread_register r;
	void *p;

	ASSERT_EQ(0, gcmem_thread_register(self->h.fd, -1, &r));
	ASSERT_EQ(0, gcmem_thread_unregister(self->h.fd, r.thread_id));
	p = mmap(NULL, GCMEM_THREAD_SLOT_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED, self->h.fd, r.slot_offset);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(raw, register_no_eventfd)
{
	struct gcmem_thread_register r;

	EXPECT_EQ(0, gcmem_thread_register(self->h.fd, -1, &r));
	EXPECT_EQ(1, raw_threads(self->h.fd));
}

/* Anything but an eventfd, or -1, is EBADF; nothing is registered. */
TEST_F(raw, register_not_an_eventfd)
{
	struct gcmem_thread_register r;
	int pfd[2], closed;

	ASSERT_EQ(0, pipe(pfd));
	closed = dup(pfd[0]);
	ASSERT_LE(0, closed);
	close(closed);

	EXPECT_EQ(-EBADF, gcmem_thread_register(self->h.fd, pfd[0], &r));
	EXPECT_EQ(-EBADF, gcmem_thread_register(self->h.fd, pfd[1], &r));
	EXPECT_EQ(-EBADF, gcmem_thread_register(self->h.fd, self->h.fd, &r));
	EXPECT_EQ(-EBADF, gcmem_thread_register(self->h.fd, closed, &r));
	EXPECT_EQ(-EBADF, gcmem_thread_register(self->h.fd, -2, &r));
	EXPECT_EQ(-EBADF, gcmem_thread_register(self->h.fd, INT32_MIN, &r));
	EXPECT_EQ(0, raw_threads(self->h.fd));
	EXPECT_EQ(0, gcmem_thread_register(self->h.fd, self->efd, &r));
	close(pfd[0]);
	close(pfd[1]);
}

/* Empty, reversed, wrapping, kernel and arena-overlapping stacks. */
TEST_F(raw, register_bad_stack)
{
	__u64 a = (uintptr_t)self->h.arena, len = self->h.arena_len;
	__u64 ulim = gcmem_user_addr_limit();
	const struct {
		__u64 lo, hi;
		const char *what;
	} bad[] = {
		{ self->lo, self->lo, "empty" },
		{ self->hi, self->lo, "reversed" },
		{ 0, 0, "zero" },
		{ 0xfffffffffffff000ULL, 0x1000, "wrapping" },
		{ self->lo, ~0ULL, "up to ~0" },
		{ ulim, ulim + 8192, "above user space" },
		{ ulim - 4096, ulim + 4096, "across the user limit" },
		{ 0xffff888000000000ULL, 0xffff888000100000ULL, "kernel" },
		{ 0xffffffffff600000ULL, 0xffffffffff601000ULL, "vsyscall" },
		{ a, a + 8192, "arena start" },
		{ a + GCMEM_CHUNK_SIZE, a + 2 * GCMEM_CHUNK_SIZE, "in the arena" },
		{ a - 4096, a + 4096, "across the arena start" },
		{ a + len - 4096, a + len + 4096, "across the arena end" },
		{ a - 4096, a + len + 4096, "around the arena" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, reg_range(self->h.fd, bad[i].lo, bad[i].hi,
					     self->efd))
			TH_LOG("%s: [%#llx, %#llx)", bad[i].what,
			       (unsigned long long)bad[i].lo,
			       (unsigned long long)bad[i].hi);
	}
	EXPECT_EQ(0, raw_threads(self->h.fd));
	EXPECT_EQ(0, reg_range(self->h.fd, self->lo, self->hi, self->efd));
}

/* Next to the arena is not in it. */
TEST_F(raw, register_stack_beside_arena)
{
	__u64 a = (uintptr_t)self->h.arena, len = self->h.arena_len;
	struct gcmem_thread_register r;

	gcmem_thread_reg_init(&r, a - 8192, a, -1);
	ASSERT_EQ(0, gcmem_ioctl(self->h.fd, GCMEM_IOC_THREAD_REGISTER, &r));
	ASSERT_EQ(0, gcmem_thread_unregister(self->h.fd, r.thread_id));
	EXPECT_EQ(0, reg_range(self->h.fd, a + len, a + len + 8192, -1));
}

TEST_F(raw, register_flags)
{
	struct gcmem_thread_register r;

	gcmem_thread_reg_init(&r, self->lo, self->hi, -1);
	r.flags = 1;
	EXPECT_EQ(-EINVAL, gcmem_ioctl(self->h.fd, GCMEM_IOC_THREAD_REGISTER,
				       &r));
	r.flags = 0x80000000;
	EXPECT_EQ(-EINVAL, gcmem_ioctl(self->h.fd, GCMEM_IOC_THREAD_REGISTER,
				       &r));
	EXPECT_EQ(0, raw_threads(self->h.fd));
}

TEST_F(raw, register_twice_ebusy)
{
	struct gcmem_thread_register r, r2;

	ASSERT_EQ(0, gcmem_thread_register(self->h.fd, self->efd, &r));
	EXPECT_EQ(-EBUSY, gcmem_thread_register(self->h.fd, self->efd, &r2));
	EXPECT_EQ(-EBUSY, gcmem_thread_register(self->h.fd, -1, &r2));
	EXPECT_EQ(-EBUSY, reg_range(self->h.fd, self->lo + 4096, self->hi,
				    -1));
	EXPECT_EQ(1, raw_threads(self->h.fd));
	/* Unregistered, it may register again. */
	ASSERT_EQ(0, gcmem_thread_unregister(self->h.fd, r.thread_id));
	EXPECT_EQ(0, raw_threads(self->h.fd));
	EXPECT_EQ(0, gcmem_thread_register(self->h.fd, self->efd, &r2));
	EXPECT_EQ(1, raw_threads(self->h.fd));
}

TEST_F(raw, unregister_unknown_enoent)
{
	struct gcmem_thread_register r;

	EXPECT_EQ(-ENOENT, gcmem_thread_unregister(self->h.fd, 0));
	EXPECT_EQ(-ENOENT, gcmem_thread_unregister(self->h.fd, 12345));
	EXPECT_EQ(-ENOENT, gcmem_thread_unregister(self->h.fd, 0xffffffff));
	ASSERT_EQ(0, gcmem_thread_register(self->h.fd, -1, &r));
	EXPECT_EQ(-ENOENT, gcmem_thread_unregister(self->h.fd,
						   r.thread_id + 1));
	EXPECT_EQ(0, gcmem_thread_unregister(self->h.fd, r.thread_id));
	EXPECT_EQ(-ENOENT, gcmem_thread_unregister(self->h.fd, r.thread_id));
	EXPECT_EQ(0, raw_threads(self->h.fd));
}

TEST_F(raw, unregister_flags_reserved)
{
	struct gcmem_thread_register r;
	struct gcmem_thread_unregister u;

	ASSERT_EQ(0, gcmem_thread_register(self->h.fd, -1, &r));
	memset(&u, 0, sizeof(u));
	u.size = sizeof(u);
	u.thread_id = r.thread_id;
	u.flags = 1;
	EXPECT_EQ(-EINVAL, gcmem_ioctl(self->h.fd, GCMEM_IOC_THREAD_UNREGISTER,
				       &u));
	u.flags = 0;
	u.__reserved = 1;
	EXPECT_EQ(-EINVAL, gcmem_ioctl(self->h.fd, GCMEM_IOC_THREAD_UNREGISTER,
				       &u));
	EXPECT_EQ(1, raw_threads(self->h.fd));
	u.__reserved = 0;
	EXPECT_EQ(0, gcmem_ioctl(self->h.fd, GCMEM_IOC_THREAD_UNREGISTER, &u));
}

/*
 * A helper thread that registers itself, then waits while the main thread
 * tries things with its id, then does what main asks.
 */
struct helper {
	int fd;
	pthread_barrier_t bar;
	int reg_ret;
	struct gcmem_thread_register reg;
	int refill_ret;
	int release_ret;
	int unregister_self;
	__u64 bitmap[64];
};

static void *helper_main(void *data)
{
	struct helper *h = data;
	struct gcmem_refill r;

	h->reg_ret = gcmem_thread_register(h->fd, -1, &h->reg);
	pthread_barrier_wait(&h->bar);	/* registered */
	pthread_barrier_wait(&h->bar);	/* main has tried */
	if (h->reg_ret)
		return NULL;
	gcmem_refill_init(&r, h->reg.thread_id, 0, 1, GCMEM_TYPE_CONSERVATIVE,
			  h->bitmap, 64);
	h->refill_ret = gcmem_refill(h->fd, &r);
	h->release_ret = gcmem_release(h->fd, h->reg.thread_id, 0);
	if (h->unregister_self)
		gcmem_thread_unregister(h->fd, h->reg.thread_id);
	return NULL;
}

/* Only the registered thread may refill (or release) its caches. */
TEST_F(raw, refill_foreign_thread_eperm)
{
	static struct helper h;
	struct gcmem_thread_register mine;
	struct gcmem_refill r;
	struct gcmem_stats st;
	pthread_t t;

	memset(&h, 0, sizeof(h));
	h.fd = self->h.fd;
	h.unregister_self = 1;
	ASSERT_EQ(0, pthread_barrier_init(&h.bar, NULL, 2));
	ASSERT_EQ(0, pthread_create(&t, NULL, helper_main, &h));
	pthread_barrier_wait(&h.bar);
	EXPECT_EQ(0, h.reg_ret);

	/* Unregistered main thread, then registered, using the helper's id. */
	gcmem_refill_init(&r, h.reg.thread_id, 0, 1, GCMEM_TYPE_CONSERVATIVE,
			  h.bitmap, 64);
	EXPECT_EQ(-EPERM, gcmem_refill(self->h.fd, &r));
	EXPECT_EQ(-EPERM, gcmem_release(self->h.fd, h.reg.thread_id, 0));
	ASSERT_EQ(0, gcmem_thread_register(self->h.fd, -1, &mine));
	EXPECT_NE(mine.thread_id, h.reg.thread_id);
	gcmem_refill_init(&r, h.reg.thread_id, 0, 1, GCMEM_TYPE_CONSERVATIVE,
			  h.bitmap, 64);
	EXPECT_EQ(-EPERM, gcmem_refill(self->h.fd, &r));
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(0, st.refills);

	/* The helper itself may. */
	pthread_barrier_wait(&h.bar);
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, h.refill_ret);
	EXPECT_EQ(0, h.release_ret);
	ASSERT_EQ(0, gcmem_stats(self->h.fd, &st));
	EXPECT_EQ(1, st.refills);
	EXPECT_EQ(1, st.threads);
	pthread_barrier_destroy(&h.bar);
}

/* Any thread may unregister another, alive or exited. */
TEST_F(raw, unregister_other_thread)
{
	static struct helper h;
	pthread_t t;

	memset(&h, 0, sizeof(h));
	h.fd = self->h.fd;
	ASSERT_EQ(0, pthread_barrier_init(&h.bar, NULL, 2));
	ASSERT_EQ(0, pthread_create(&t, NULL, helper_main, &h));
	pthread_barrier_wait(&h.bar);
	ASSERT_EQ(0, h.reg_ret);
	EXPECT_EQ(1, raw_threads(self->h.fd));
	EXPECT_EQ(0, gcmem_thread_unregister(self->h.fd, h.reg.thread_id));
	EXPECT_EQ(0, raw_threads(self->h.fd));
	pthread_barrier_wait(&h.bar);
	ASSERT_EQ(0, pthread_join(t, NULL));
	/* Its id is gone: the helper could not refill with it. */
	EXPECT_NE(0, h.refill_ret);

	/* A helper that exits registered is unregistered afterwards. */
	memset(&h.reg, 0, sizeof(h.reg));
	h.reg_ret = -1;
	ASSERT_EQ(0, pthread_create(&t, NULL, helper_main, &h));
	pthread_barrier_wait(&h.bar);
	ASSERT_EQ(0, h.reg_ret);
	pthread_barrier_wait(&h.bar);
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, h.refill_ret);
	EXPECT_EQ(0, gcmem_thread_unregister(self->h.fd, h.reg.thread_id));
	EXPECT_EQ(0, raw_threads(self->h.fd));
	pthread_barrier_destroy(&h.bar);
}

/*
 * A thread unregistered by another while it refills. Its refill zeroes the
 * free slots of the span it takes after dropping the heap's lock; the
 * unregistration hands that span back, and a cycle may then sweep it and
 * give its chunk back, so it must wait for the zeroing. The window is a
 * few microseconds and a free needs a sweep inside it: the test cannot
 * promise to hit it (the debug kernel's KASAN reports it when it does),
 * but it runs the unregistration against refills, cycles and sweeps
 * thousands of times. The main thread leaves written,
 * dead objects in the spans of the class for the churner's refills to
 * zero, unregisters the churner over and over, and collects.
 */
struct churn {
	int fd;
	unsigned int cls;
	__u32 words;
	int stop;
	__u32 id;
	int error;
	unsigned long refills, unregistered;
};

static void *churn_main(void *data)
{
	struct churn *c = data;
	struct gcmem_thread_register reg;
	struct gcmem_refill r;
	__u64 bits[64];
	int ret = 0;

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE) && !ret) {
		ret = gcmem_thread_register(c->fd, -1, &reg);
		if (ret)
			break;
		__atomic_store_n(&c->id, reg.thread_id, __ATOMIC_RELEASE);
		/*
		 * The main thread may set stop and unregister the id it read
		 * before this one was published: seen here, it is ours to
		 * unregister (or already gone).
		 */
		while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
			gcmem_refill_init(&r, reg.thread_id, 0, c->cls,
					  GCMEM_TYPE_CONSERVATIVE, bits,
					  c->words);
			ret = gcmem_refill(c->fd, &r);
			if (ret)
				break;
			__atomic_add_fetch(&c->refills, 1, __ATOMIC_RELAXED);
		}
		if (!ret) {
			ret = gcmem_thread_unregister(c->fd, reg.thread_id);
			if (ret == -ENOENT)
				ret = 0;
		} else if (ret == -ENOENT) {
			__atomic_add_fetch(&c->unregistered, 1, __ATOMIC_RELAXED);
			ret = 0;
		}
	}
	__atomic_store_n(&c->error, ret, __ATOMIC_RELAXED);
	return NULL;
}

TEST_F(raw, unregister_during_refill)
{
	static struct churn c;
	struct gcmem_thread_register mine;
	struct gcmem_thread_slot *slot;
	struct gcmem_collect col = { .size = sizeof(col) };
	__u64 objs[16];
	pthread_t t;
	int i, j, ret;
	__u32 id;

	memset(&c, 0, sizeof(c));
	c.fd = self->h.fd;
	c.cls = gcmem_class_for(self->h.ctl, 128);
	ASSERT_NE(0, c.cls);
	c.words = gcmem_class_bitmap_words(self->h.ctl, c.cls);
	ASSERT_GE(64, c.words);
	ASSERT_EQ(0, gcmem_thread_register(self->h.fd, self->efd, &mine));
	slot = gcmem_map_slot(self->h.fd, mine.slot_offset);
	ASSERT_NE(NULL, slot);
	c.id = POISON_U32;
	ASSERT_EQ(0, pthread_create(&t, NULL, churn_main, &c));
	/*
	 * A loaded host may start the churner late (CI saw it start after
	 * the 400 rounds were over): wait for its first refill.
	 */
	for (i = 0; i < 20000; i++) {
		if (__atomic_load_n(&c.refills, __ATOMIC_RELAXED) ||
		    __atomic_load_n(&c.error, __ATOMIC_RELAXED))
			break;
		usleep(1000);
	}

	/* 400 rounds, and more until the churner has been caught once. */
	for (i = 0; i < 400 || (i < 4000 &&
				!__atomic_load_n(&c.unregistered,
						 __ATOMIC_RELAXED)); i++) {
		/* -ENOSPC: a span with fewer free slots, still cached. */
		ret = gcmem_take_objects(self->h.fd, slot, mine.thread_id, 0,
					 c.cls, GCMEM_TYPE_CONSERVATIVE, objs,
					 16);
		ASSERT_TRUE(!ret || ret == -ENOSPC) TH_LOG("%d", ret);
		for (j = 0; !ret && j < 16; j++)
			memset((void *)(uintptr_t)objs[j], 0xa5, 128);
		memset(objs, 0, sizeof(objs));
		ASSERT_EQ(0, gcmem_release(self->h.fd, mine.thread_id, 0));
		id = __atomic_load_n(&c.id, __ATOMIC_ACQUIRE);
		if (id != POISON_U32)
			gcmem_thread_unregister(self->h.fd, id);
		if (i % 8 == 7)
			ASSERT_EQ(0, gcmem_ioctl(self->h.fd, GCMEM_IOC_COLLECT,
						 &col));
	}
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
	id = __atomic_load_n(&c.id, __ATOMIC_ACQUIRE);
	gcmem_thread_unregister(self->h.fd, id);
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, c.error);
	EXPECT_LT(0, c.refills);
	EXPECT_LT(0, c.unregistered);
	TH_LOG("%lu refills, %lu unregistered", c.refills, c.unregistered);
}

/* Roots, raw. */
static __u64 root_buf[512] __attribute__((aligned(64)));

static __u32 raw_roots(int fd)
{
	struct gcmem_stats st;

	if (gcmem_stats(fd, &st))
		return POISON_U32;
	return st.roots;
}

TEST_F(raw, root_add_remove)
{
	__u64 b = (uintptr_t)root_buf;

	EXPECT_EQ(0, raw_roots(self->h.fd));
	ASSERT_EQ(0, gcmem_root_add(self->h.fd, b, 64,
				    GCMEM_TYPE_CONSERVATIVE));
	EXPECT_EQ(1, raw_roots(self->h.fd));
	ASSERT_EQ(0, gcmem_root_add(self->h.fd, b + 64, 8,
				    GCMEM_TYPE_CONSERVATIVE));
	EXPECT_EQ(2, raw_roots(self->h.fd));
	EXPECT_EQ(0, gcmem_root_remove(self->h.fd, b, 64));
	EXPECT_EQ(1, raw_roots(self->h.fd));
	EXPECT_EQ(0, gcmem_root_remove(self->h.fd, b + 64, 8));
	EXPECT_EQ(0, raw_roots(self->h.fd));
}

TEST_F(raw, root_add_bad_range)
{
	__u64 b = (uintptr_t)root_buf, ulim = gcmem_user_addr_limit();
	__u64 a = (uintptr_t)self->h.arena, len = self->h.arena_len;
	const struct {
		__u64 start, len;
		const char *what;
	} bad[] = {
		{ b, 0, "empty" },
		{ b + 4, 64, "unaligned start" },
		{ b + 1, 64, "unaligned start" },
		{ b, 12, "unaligned length" },
		{ b, 63, "unaligned length" },
		{ b, ~7ULL, "wrapping length" },
		{ b, 0x8000000000000000ULL, "huge length" },
		{ 0xfffffffffffffff8ULL, 16, "wrapping start" },
		{ 0xffff888000000000ULL, 4096, "kernel" },
		{ ulim, 4096, "above user space" },
		{ ulim - 8, 16, "across the user limit" },
		{ a, 64, "arena start" },
		{ a + GCMEM_CHUNK_SIZE + 8, 8, "in the arena" },
		{ a - 8, 16, "across the arena start" },
		{ a + len - 8, 16, "across the arena end" },
		{ a - 8, len + 16, "around the arena" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, gcmem_root_add(self->h.fd, bad[i].start,
						  bad[i].len,
						  GCMEM_TYPE_CONSERVATIVE))
			TH_LOG("%s: %#llx + %#llx", bad[i].what,
			       (unsigned long long)bad[i].start,
			       (unsigned long long)bad[i].len);
	}
	EXPECT_EQ(0, raw_roots(self->h.fd));
	/* Right next to the arena is fine. */
	EXPECT_EQ(0, gcmem_root_add(self->h.fd, a - 64, 64,
				    GCMEM_TYPE_CONSERVATIVE));
	EXPECT_EQ(0, gcmem_root_add(self->h.fd, a + len, 64,
				    GCMEM_TYPE_CONSERVATIVE));
	EXPECT_EQ(2, raw_roots(self->h.fd));
}

TEST_F(raw, root_flags_reserved)
{
	struct gcmem_root r = {
		.size = sizeof(r),
		.start = (uintptr_t)root_buf,
		.len = 64,
	};

	r.flags = 1;
	EXPECT_EQ(-EINVAL, gcmem_ioctl(self->h.fd, GCMEM_IOC_ROOT_ADD, &r));
	r.flags = 0x80000000;
	EXPECT_EQ(-EINVAL, gcmem_ioctl(self->h.fd, GCMEM_IOC_ROOT_ADD, &r));
	r.flags = 0;
	r.__reserved = 1;
	EXPECT_EQ(-EINVAL, gcmem_ioctl(self->h.fd, GCMEM_IOC_ROOT_ADD, &r));
	EXPECT_EQ(0, raw_roots(self->h.fd));
	r.__reserved = 0;
	ASSERT_EQ(0, gcmem_ioctl(self->h.fd, GCMEM_IOC_ROOT_ADD, &r));
	r.flags = 1;
	EXPECT_EQ(-EINVAL, gcmem_ioctl(self->h.fd, GCMEM_IOC_ROOT_REMOVE, &r));
	r.flags = 0;
	r.__reserved = 1;
	EXPECT_EQ(-EINVAL, gcmem_ioctl(self->h.fd, GCMEM_IOC_ROOT_REMOVE, &r));
	EXPECT_EQ(1, raw_roots(self->h.fd));
	r.__reserved = 0;
	EXPECT_EQ(0, gcmem_ioctl(self->h.fd, GCMEM_IOC_ROOT_REMOVE, &r));
}

TEST_F(raw, root_types)
{
	__u64 b = (uintptr_t)root_buf, mask = 0x1;
	__u32 id;

	EXPECT_EQ(-ENOENT, gcmem_root_add(self->h.fd, b, 64, 2));
	EXPECT_EQ(-ENOENT, gcmem_root_add(self->h.fd, b, 64, 1000));
	EXPECT_EQ(-ENOENT, gcmem_root_add(self->h.fd, b, 64, 0xffffffff));
	EXPECT_EQ(0, raw_roots(self->h.fd));
	ASSERT_EQ(0, gcmem_type_register(self->h.fd, 16, &mask, &id));
	EXPECT_EQ(-ENOENT, gcmem_root_add(self->h.fd, b, 64, id + 1));
	EXPECT_EQ(0, gcmem_root_add(self->h.fd, b, 64, id));
	EXPECT_EQ(1, raw_roots(self->h.fd));
}

TEST_F(raw, root_remove_unknown_enoent)
{
	__u64 b = (uintptr_t)root_buf;
	struct gcmem_root r = {
		.size = sizeof(r),
		.type_id = 12345,	/* ignored by remove */
		.start = b,
		.len = 64,
	};

	EXPECT_EQ(-ENOENT, gcmem_root_remove(self->h.fd, b, 64));
	ASSERT_EQ(0, gcmem_root_add(self->h.fd, b, 64,
				    GCMEM_TYPE_CONSERVATIVE));
	/* Exactly the start and the length added. */
	EXPECT_EQ(-ENOENT, gcmem_root_remove(self->h.fd, b, 32));
	EXPECT_EQ(-ENOENT, gcmem_root_remove(self->h.fd, b, 128));
	EXPECT_EQ(-ENOENT, gcmem_root_remove(self->h.fd, b + 8, 56));
	EXPECT_EQ(1, raw_roots(self->h.fd));
	EXPECT_EQ(0, gcmem_ioctl(self->h.fd, GCMEM_IOC_ROOT_REMOVE, &r));
	EXPECT_EQ(-ENOENT, gcmem_root_remove(self->h.fd, b, 64));
	EXPECT_EQ(0, raw_roots(self->h.fd));
}

TEST_F(raw, root_duplicate_start_eexist)
{
	__u64 b = (uintptr_t)root_buf;

	ASSERT_EQ(0, gcmem_root_add(self->h.fd, b, 64,
				    GCMEM_TYPE_CONSERVATIVE));
	EXPECT_EQ(-EEXIST, gcmem_root_add(self->h.fd, b, 64,
					  GCMEM_TYPE_CONSERVATIVE));
	EXPECT_EQ(-EEXIST, gcmem_root_add(self->h.fd, b, 8,
					  GCMEM_TYPE_CONSERVATIVE));
	EXPECT_EQ(-EEXIST, gcmem_root_add(self->h.fd, b, 4096,
					  GCMEM_TYPE_CONSERVATIVE));
	EXPECT_EQ(1, raw_roots(self->h.fd));
	/* Another start is another range, even where they overlap. */
	EXPECT_EQ(0, gcmem_root_add(self->h.fd, b + 8, 64,
				    GCMEM_TYPE_CONSERVATIVE));
	EXPECT_EQ(2, raw_roots(self->h.fd));
	/* After removal the start is free again. */
	EXPECT_EQ(0, gcmem_root_remove(self->h.fd, b, 64));
	EXPECT_EQ(0, gcmem_root_add(self->h.fd, b, 8,
				    GCMEM_TYPE_CONSERVATIVE));
	EXPECT_EQ(2, raw_roots(self->h.fd));
}

TEST_F(raw, root_table_full_enospc)
{
	__u64 *buf = calloc(GCMEM_MAX_ROOTS + 1, sizeof(__u64));
	int i, ret = 0;

	ASSERT_NE(NULL, buf);
	for (i = 0; i < GCMEM_MAX_ROOTS; i++) {
		ret = gcmem_root_add(self->h.fd, (uintptr_t)&buf[i], 8,
				     GCMEM_TYPE_CONSERVATIVE);
		if (ret)
			break;
	}
	EXPECT_EQ(0, ret) TH_LOG("root %d", i);
	EXPECT_EQ(GCMEM_MAX_ROOTS, raw_roots(self->h.fd));
	EXPECT_EQ(-ENOSPC, gcmem_root_add(self->h.fd,
					  (uintptr_t)&buf[GCMEM_MAX_ROOTS], 8,
					  GCMEM_TYPE_CONSERVATIVE));
	EXPECT_EQ(0, gcmem_root_remove(self->h.fd, (uintptr_t)&buf[7], 8));
	EXPECT_EQ(0, gcmem_root_add(self->h.fd,
				    (uintptr_t)&buf[GCMEM_MAX_ROOTS], 8,
				    GCMEM_TYPE_CONSERVATIVE));
	free(buf);
}

/* Through libgcuser. */
FIXTURE(lib) {
	int fd;
};

FIXTURE_SETUP(lib)
{
	ASSERT_EQ(0, gcu_init()) TH_LOG("gcu_init: %s", strerror(errno));
	self->fd = gcu_heap()->fd;
}

FIXTURE_TEARDOWN(lib)
{
	gcu_shutdown();
}

static __u32 lib_threads(void)
{
	struct gcu_heap_stats st;

	if (gcu_stats(&st))
		return POISON_U32;
	return st.threads;
}

TEST_F(lib, init_registers_main_thread)
{
	EXPECT_EQ(1, lib_threads());
}

enum first_alloc {
	ALLOC_SMALL,
	ALLOC_LARGE,
	ALLOC_TYPED,
	REGISTER_ONLY,
};

struct lib_helper {
	enum first_alloc how;
	gcu_type_t type;
	__u32 before, after, after_unregister;
	int ok;
};

static void *lib_helper_main(void *data)
{
	struct lib_helper *h = data;
	void *p = NULL;

	h->before = lib_threads();
	switch (h->how) {
	case ALLOC_SMALL:
		p = gcu_malloc(32);
		break;
	case ALLOC_LARGE:
		p = gcu_malloc(1 << 20);
		break;
	case ALLOC_TYPED:
		p = gcu_malloc_typed(h->type);
		break;
	case REGISTER_ONLY:
		p = gcu_thread_register() ? NULL : h;
		break;
	}
	h->ok = p != NULL;
	h->after = lib_threads();
	if (h->how == REGISTER_ONLY) {
		if (gcu_thread_unregister())
			h->ok = 0;
		h->after_unregister = lib_threads();
	}
	return NULL;
}

static void run_lib_helper(struct __test_metadata *_metadata,
			   struct lib_helper *h)
{
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, lib_helper_main, h));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_TRUE(h->ok);
	/* Not registered before its first allocation... */
	EXPECT_EQ(1, h->before);
	/* ...registered by it... */
	EXPECT_EQ(2, h->after);
	/* ...and unregistered when it exited. */
	EXPECT_EQ(1, lib_threads());
}

TEST_F(lib, registered_on_first_small_allocation)
{
	struct lib_helper h = { .how = ALLOC_SMALL };

	run_lib_helper(_metadata, &h);
}

TEST_F(lib, registered_on_first_large_allocation)
{
	struct lib_helper h = { .how = ALLOC_LARGE };

	run_lib_helper(_metadata, &h);
}

TEST_F(lib, registered_on_first_typed_allocation)
{
	static const uint64_t mask[1] = { 0x1 };
	struct lib_helper h = { .how = ALLOC_TYPED };

	h.type = gcu_type_register(16, mask);
	ASSERT_NE((gcu_type_t)-1, h.type);
	run_lib_helper(_metadata, &h);
}

TEST_F(lib, explicit_register_unregister)
{
	struct lib_helper h = { .how = REGISTER_ONLY };

	run_lib_helper(_metadata, &h);
	EXPECT_EQ(1, h.after_unregister);
}

#define MANY	8

struct many_arg {
	pthread_barrier_t *bar;
	int ok;
};

static void *many_main(void *data)
{
	struct many_arg *m = data;

	m->ok = gcu_malloc(64) != NULL && gcu_malloc(100000) != NULL;
	pthread_barrier_wait(m->bar);	/* all allocated */
	pthread_barrier_wait(m->bar);	/* main has counted */
	return NULL;
}

TEST_F(lib, many_threads_come_and_go)
{
	struct many_arg m[MANY];
	pthread_barrier_t bar;
	pthread_t t[MANY];
	int i;

	ASSERT_EQ(0, pthread_barrier_init(&bar, NULL, MANY + 1));
	for (i = 0; i < MANY; i++) {
		m[i].bar = &bar;
		m[i].ok = 0;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, many_main, &m[i]));
	}
	pthread_barrier_wait(&bar);
	EXPECT_EQ(MANY + 1, lib_threads());
	pthread_barrier_wait(&bar);
	for (i = 0; i < MANY; i++) {
		ASSERT_EQ(0, pthread_join(t[i], NULL));
		EXPECT_TRUE(m[i].ok);
	}
	EXPECT_EQ(1, lib_threads());
	pthread_barrier_destroy(&bar);
}

static __u32 lib_nroots(void)
{
	struct gcu_heap_stats st;

	if (gcu_stats(&st))
		return POISON_U32;
	return st.roots;
}

TEST_F(lib, root_add_remove)
{
	static void *slots[16];
	char *arena = gcu_heap()->arena;
	/* gcu_init() registered the program's globals. */
	__u32 base = lib_nroots();

	EXPECT_LT(0, base);
	ASSERT_EQ(0, gcu_root_add(slots, sizeof(slots),
				  GCU_TYPE_CONSERVATIVE));
	EXPECT_EQ(base + 1, lib_nroots());

	errno = 0;
	EXPECT_EQ(-1, gcu_root_add(slots, sizeof(slots),
				   GCU_TYPE_CONSERVATIVE));
	EXPECT_EQ(EEXIST, errno);
	errno = 0;
	EXPECT_EQ(-1, gcu_root_add(arena, 64, GCU_TYPE_CONSERVATIVE));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, gcu_root_add(&slots[1], 0, GCU_TYPE_CONSERVATIVE));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, gcu_root_add(&slots[1], 8, 4000));
	EXPECT_EQ(ENOENT, errno);
	errno = 0;
	EXPECT_EQ(-1, gcu_root_remove(&slots[2], 8));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(base + 1, lib_nroots());

	EXPECT_EQ(0, gcu_root_remove(slots, sizeof(slots)));
	EXPECT_EQ(base, lib_nroots());
}

TEST_HARNESS_MAIN
