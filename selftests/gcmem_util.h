/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the gcmem selftests: raw access to /dev/gcmem through
 * the uapi only, so the tests check the kernel's contract and not
 * libgcuser's.
 */
#ifndef GCMEM_UTIL_H
#define GCMEM_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/gcmem.h>

#define POISON_BYTE	0xa5
#define MiB		(1UL << 20)

/* ioctl() returning 0 or -errno, so tests can assert the exact errno. */
static inline int gcmem_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static inline int gcmem_open(void)
{
	return open(GCMEM_DEVICE, O_RDWR | O_CLOEXEC);
}

static inline int gcmem_handshake(int fd, struct gcmem_handshake *hs)
{
	memset(hs, 0, sizeof(*hs));
	hs->size = sizeof(*hs);
	hs->api_version = GCMEM_API_VERSION;
	return gcmem_ioctl(fd, GCMEM_IOC_HANDSHAKE, hs);
}

/* Open a heap and do the handshake; -1 on failure. */
static inline int gcmem_open_ready(struct gcmem_handshake *hs)
{
	int fd = gcmem_open();

	if (fd < 0)
		return -1;
	if (gcmem_handshake(fd, hs)) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline int gcmem_stats(int fd, struct gcmem_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return gcmem_ioctl(fd, GCMEM_IOC_STATS, st);
}

static inline int gcmem_option(int fd, __u32 id, __u16 op, __u64 *val)
{
	struct gcmem_option opt = {
		.size = sizeof(opt),
		.option_id = id,
		.op = op,
		.val64 = *val,
	};
	int ret = gcmem_ioctl(fd, GCMEM_IOC_OPTION, &opt);

	*val = opt.val64;
	return ret;
}

static inline void *gcmem_map_arena(int fd, size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    GCMEM_MMAP_ARENA);
}

/* Running kernel at least major.minor? */
static inline int kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return 0;
	return ma > major || (ma == major && mi >= minor);
}

/*
 * Heap ABI helpers: types, threads, refill, large objects, roots, query.
 * Each returns 0 or -errno like gcmem_ioctl(); output fields are poisoned
 * before the call so a test can tell a written field from a stale one.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define POISON_U32	0xa5a5a5a5U
#define POISON_U64	0xa5a5a5a5a5a5a5a5ULL

/* Lowest address that is certainly not user space (4- or 5-level paging). */
static inline __u64 gcmem_user_addr_limit(void)
{
	static __u64 limit;
	char line[4096];
	FILE *f;

	if (limit)
		return limit;
	limit = 1ULL << 47;
	f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return limit;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		if (strstr(line, " la57"))
			limit = 1ULL << 56;
		break;
	}
	fclose(f);
	return limit;
}

static inline const struct gcmem_control *gcmem_map_control(int fd)
{
	void *p = mmap(NULL, GCMEM_CONTROL_SIZE, PROT_READ, MAP_SHARED, fd,
		       GCMEM_MMAP_CONTROL);

	return p == MAP_FAILED ? NULL : p;
}

/* Objects per span of size class @cls. */
static inline __u32 gcmem_class_nelems(const struct gcmem_control *c,
				       unsigned int cls)
{
	return (__u32)c->class_npages[cls] * GCMEM_PAGE_SIZE /
	       c->class_size[cls];
}

/* 64-bit words of alloc bitmap a span of class @cls needs. */
static inline __u32 gcmem_class_bitmap_words(const struct gcmem_control *c,
					     unsigned int cls)
{
	return (gcmem_class_nelems(c, cls) + 63) / 64;
}

/* The smallest class with objects of at least @size bytes, 0 if none. */
static inline unsigned int gcmem_class_for(const struct gcmem_control *c,
					   __u64 size)
{
	for (unsigned int i = 1; i < c->nclasses; i++)
		if (c->class_size[i] >= size)
			return i;
	return 0;
}

/*
 * A heap ready for raw heap ioctls: opened, handshaken, control page and
 * (unless @arena_len is 0) an arena of @arena_len bytes mapped.
 */
struct gcmem_raw_heap {
	int fd;
	struct gcmem_handshake hs;
	const struct gcmem_control *ctl;
	char *arena;
	size_t arena_len;
};

static inline int gcmem_raw_open(struct gcmem_raw_heap *h, size_t arena_len)
{
	memset(h, 0, sizeof(*h));
	h->fd = gcmem_open_ready(&h->hs);
	if (h->fd < 0)
		return -1;
	h->ctl = gcmem_map_control(h->fd);
	if (!h->ctl)
		return -1;
	if (!arena_len)
		return 0;
	if (arena_len > h->hs.arena_max)
		arena_len = h->hs.arena_max;
	h->arena = gcmem_map_arena(h->fd, arena_len);
	if (h->arena == MAP_FAILED) {
		h->arena = NULL;
		return -1;
	}
	h->arena_len = arena_len;
	return 0;
}

static inline void gcmem_raw_close(struct gcmem_raw_heap *h)
{
	if (h->arena)
		munmap(h->arena, h->arena_len);
	if (h->ctl)
		munmap((void *)h->ctl, GCMEM_CONTROL_SIZE);
	if (h->fd >= 0)
		close(h->fd);
	memset(h, 0, sizeof(*h));
	h->fd = -1;
}

static inline int gcmem_type_register(int fd, __u32 type_size,
				      const __u64 *mask, __u32 *type_id)
{
	struct gcmem_type_register tr = {
		.size = sizeof(tr),
		.type_size = type_size,
		.type_id = POISON_U32,
		.ptrmask = (uintptr_t)mask,
	};
	int ret = gcmem_ioctl(fd, GCMEM_IOC_TYPE_REGISTER, &tr);

	if (type_id)
		*type_id = tr.type_id;
	return ret;
}

/* The calling thread's stack, [lo, hi). */
static inline int gcmem_self_stack(__u64 *lo, __u64 *hi)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;

	if (pthread_getattr_np(pthread_self(), &attr))
		return -1;
	if (pthread_attr_getstack(&attr, &addr, &size)) {
		pthread_attr_destroy(&attr);
		return -1;
	}
	pthread_attr_destroy(&attr);
	*lo = (uintptr_t)addr;
	*hi = (uintptr_t)addr + size;
	return 0;
}

static inline void gcmem_thread_reg_init(struct gcmem_thread_register *r,
					 __u64 lo, __u64 hi, int efd)
{
	memset(r, 0, sizeof(*r));
	r->size = sizeof(*r);
	r->stack_lo = lo;
	r->stack_hi = hi;
	r->eventfd = efd;
	r->thread_id = POISON_U32;
	r->slot_offset = POISON_U64;
}

/* Register the calling thread with its real stack. */
static inline int gcmem_thread_register(int fd, int efd,
					struct gcmem_thread_register *r)
{
	__u64 lo, hi;

	if (gcmem_self_stack(&lo, &hi))
		return -EIO;
	gcmem_thread_reg_init(r, lo, hi, efd);
	return gcmem_ioctl(fd, GCMEM_IOC_THREAD_REGISTER, r);
}

static inline int gcmem_thread_unregister(int fd, __u32 thread_id)
{
	struct gcmem_thread_unregister u = {
		.size = sizeof(u),
		.thread_id = thread_id,
	};

	return gcmem_ioctl(fd, GCMEM_IOC_THREAD_UNREGISTER, &u);
}

/* Map a thread slot read-write; NULL on failure (errno set). */
static inline struct gcmem_thread_slot *gcmem_map_slot(int fd, __u64 offset)
{
	void *p = mmap(NULL, GCMEM_THREAD_SLOT_SIZE, PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, offset);

	return p == MAP_FAILED ? NULL : p;
}

static inline void gcmem_refill_init(struct gcmem_refill *r, __u32 thread_id,
				     __u32 cache_index, __u32 size_class,
				     __u32 type_id, __u64 *bitmap,
				     __u32 bitmap_words)
{
	memset(r, 0, sizeof(*r));
	r->size = sizeof(*r);
	r->thread_id = thread_id;
	r->cache_index = cache_index;
	r->size_class = size_class;
	r->type_id = type_id;
	r->bitmap_words = bitmap_words;
	r->alloc_bitmap = (uintptr_t)bitmap;
	r->span_base = POISON_U64;
	r->elem_size = POISON_U32;
	r->nelems = POISON_U32;
	r->cursor = POISON_U32;
	for (__u32 i = 0; bitmap && i < bitmap_words; i++)
		bitmap[i] = POISON_U64;
}

static inline int gcmem_refill(int fd, struct gcmem_refill *r)
{
	return gcmem_ioctl(fd, GCMEM_IOC_REFILL, r);
}

/* Hand back the span cached at @cache_index (GCMEM_REFILL_RELEASE). */
static inline int gcmem_release(int fd, __u32 thread_id, __u32 cache_index)
{
	struct gcmem_refill r;

	gcmem_refill_init(&r, thread_id, cache_index, 0, 0, NULL, 0);
	r.flags = GCMEM_REFILL_RELEASE;
	return gcmem_refill(fd, &r);
}

static inline int gcmem_alloc_large(int fd, __u32 type_id, __u64 bytes,
				    __u64 *addr)
{
	struct gcmem_alloc_large a = {
		.size = sizeof(a),
		.type_id = type_id,
		.bytes = bytes,
		.addr = POISON_U64,
	};
	int ret = gcmem_ioctl(fd, GCMEM_IOC_ALLOC_LARGE, &a);

	if (addr)
		*addr = a.addr;
	return ret;
}

static inline int gcmem_root_add(int fd, __u64 start, __u64 len,
				 __u32 type_id)
{
	struct gcmem_root r = {
		.size = sizeof(r),
		.type_id = type_id,
		.start = start,
		.len = len,
	};

	return gcmem_ioctl(fd, GCMEM_IOC_ROOT_ADD, &r);
}

static inline int gcmem_root_remove(int fd, __u64 start, __u64 len)
{
	struct gcmem_root r = {
		.size = sizeof(r),
		.start = start,
		.len = len,
	};

	return gcmem_ioctl(fd, GCMEM_IOC_ROOT_REMOVE, &r);
}

/*
 * A query of @addr, outputs and @mask poisoned. @mask (may be NULL) holds
 * @words 64-bit words: its capacity, as struct gcmem_query's ptrmask_words.
 */
static inline void gcmem_query_init(struct gcmem_query *q, __u64 addr,
				    __u64 *mask, __u32 words)
{
	memset(q, 0, sizeof(*q));
	q->size = sizeof(*q);
	q->addr = addr;
	q->result = POISON_U32;
	q->type_id = POISON_U32;
	q->obj_start = POISON_U64;
	q->obj_size = POISON_U64;
	q->size_class = POISON_U32;
	q->ptrmask_words = mask ? words : 0;
	q->ptrmask = (uintptr_t)mask;
	for (__u32 i = 0; mask && i < words; i++)
		mask[i] = POISON_U64;
}

/* Ask about @addr; @mask, @words 64-bit words, receives pointer bits. */
static inline int gcmem_query(int fd, __u64 addr, struct gcmem_query *q,
			      __u64 *mask, __u32 words)
{
	gcmem_query_init(q, addr, mask, words);
	return gcmem_ioctl(fd, GCMEM_IOC_QUERY, q);
}

/* Bit @i of a pointer mask (bit i of word i / 64). */
static inline int gcmem_mask_bit(const __u64 *mask, __u64 i)
{
	return (mask[i / 64] >> (i % 64)) & 1;
}

/*
 * Small objects the way libgcuser takes them, for a test thread registered
 * by hand: refill cache @cache_index of the calling thread (@thread_id, its
 * slot mapped at @slot) with a span of class @cls and type @type_id, take
 * the first @n slots free at handout from the cursor up, and publish the
 * cursor just past them. Their addresses go to @objs. Returns 0 or -errno;
 * -ENOSPC when the span has fewer than @n free slots from the cursor (the
 * span stays cached, nothing taken).
 */
static inline int gcmem_take_objects(int fd, struct gcmem_thread_slot *slot,
				     __u32 thread_id, __u32 cache_index,
				     __u32 cls, __u32 type_id, __u64 *objs,
				     __u32 n)
{
	__u64 bits[GCMEM_PAGE_SIZE / 8 / 64];
	struct gcmem_refill r;
	__u32 idx, taken = 0;
	int ret;

	gcmem_refill_init(&r, thread_id, cache_index, cls, type_id, bits,
			  sizeof(bits) / sizeof(bits[0]));
	ret = gcmem_refill(fd, &r);
	if (ret)
		return ret;
	for (idx = r.cursor; idx < r.nelems && taken < n; idx++)
		if (!gcmem_mask_bit(bits, idx))
			objs[taken++] = r.span_base + (__u64)idx * r.elem_size;
	if (taken < n)
		return -ENOSPC;
	__atomic_store_n(&slot->cursor[cache_index], idx, __ATOMIC_RELEASE);
	return 0;
}

/* Read a small sysfs/debugfs file into @buf, NUL-terminated; its length. */
static inline int gcmem_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n, total = 0;

	if (fd < 0)
		return -1;
	while (total < (ssize_t)size - 1 &&
	       (n = read(fd, buf + total, size - 1 - total)) > 0)
		total += n;
	buf[total] = 0;
	close(fd);
	return total;
}

/* Write @s to a sysfs/tracefs file in one write(); 0 or -1. */
static inline int gcmem_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok ? 0 : -1;
}

/*
 * A userfaultfd that also catches the kernel's faults (root in the guest),
 * or -errno. Tests use its missing pages to hold a reader of them still.
 */
#include <linux/userfaultfd.h>
#include <sys/syscall.h>

static inline int gcmem_uffd_open(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api)) {
		close(fd);
		return -errno;
	}
	return fd;
}

#endif /* GCMEM_UTIL_H */
