/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel APIs that gcmem's pure-logic files (kmod/sizeclass.c,
 * bitmap.c, work.c, mark.c, sweep.c) call, written for user space, so that
 * the very same files compile into the host test binary (host_test.c), the
 * way tools/testing/radix-tree builds lib/radix-tree.c. Every header under
 * include/linux/ is this one file. Only what those files use is here, and
 * with the kernel's semantics where the tests depend on them: atomic bit
 * operations are atomic, spinlocks lock, READ_ONCE is a volatile access.
 * User memory is ordinary memory: copy_from_user() is a memcpy that fails
 * on ranges the test marks unreadable (host_user_fault()).
 */
#ifndef GCMEM_HOST_SHIM_H
#define GCMEM_HOST_SHIM_H

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef unsigned long long u64;	/* as the kernel's, for printf */
typedef int32_t s32;
typedef long long s64;
typedef s64 ktime_t;		/* as the kernel's linux/types.h */
typedef int pid_t;

/* --- compiler ------------------------------------------------------------ */
#undef __always_inline
#define __always_inline		inline __attribute__((always_inline))
#define __init
#define __ro_after_init
#define __user
#define __rcu
#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)
/*
 * Marked accesses: relaxed atomics, which is what KCSAN takes them for,
 * so that TSan reports only the accesses the kernel code left unmarked.
 */
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)						\
	__atomic_store_n(&(x), (__typeof__(x))(v), __ATOMIC_RELAXED)
#define barrier()		__asm__ __volatile__("" ::: "memory")
#define smp_mb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#ifdef __SANITIZE_THREAD__
/*
 * TSan models no fences (GCC refuses them). The ones the module's code
 * under test has order a concurrent mark against refills, which the host
 * tests do not run: a compiler barrier will do. After an atomic
 * read-modify-write, which the shim makes sequentially consistent, none
 * is needed.
 */
#define smp_rmb()		__atomic_signal_fence(__ATOMIC_SEQ_CST)
#define smp_wmb()		__atomic_signal_fence(__ATOMIC_SEQ_CST)
#define smp_mb__after_atomic()	__atomic_signal_fence(__ATOMIC_SEQ_CST)
#else
#define smp_mb__after_atomic()	smp_mb()
#define smp_rmb()		__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb()		__atomic_thread_fence(__ATOMIC_RELEASE)
#endif
#define smp_store_release(p, v)	__atomic_store_n(p, v, __ATOMIC_RELEASE)
#define smp_load_acquire(p)	__atomic_load_n(p, __ATOMIC_ACQUIRE)
#define cpu_relax()		sched_yield()
#define prefetch(p)		__builtin_prefetch(p)
#define cond_resched()		do { } while (0)
/* User space is preempted anyway: no task ever waits for our CPU. */
#define need_resched()		0

#define BUILD_BUG_ON(c)		_Static_assert(!(c), #c)
#define ERR_PTR(e)		((void *)(long)(e))
#define PTR_ERR(p)		((long)(p))
#define IS_ERR(p)		((unsigned long)(p) >= (unsigned long)-4095)
#define PTR_ERR_OR_ZERO(p)	(IS_ERR(p) ? PTR_ERR(p) : 0)
#define BUILD_BUG_ON_ZERO(c)	((int)(sizeof(struct { int:(-!!(c)); })))
#define WARN_ON(c)							\
	({ int __c = !!(c); if (__c) fprintf(stderr, "WARN_ON %s at %s:%d\n", \
					     #c, __FILE__, __LINE__); __c; })
#define WARN_ON_ONCE(c)		WARN_ON(c)
#define pr_err(...)		fprintf(stderr, __VA_ARGS__)
#define lockdep_assert_held(l)	do { (void)(l); } while (0)
#define lockdep_assert_not_held(l)	do { (void)(l); } while (0)

#define container_of(p, t, m)	((t *)((char *)(p) - offsetof(t, m)))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define offsetofend(t, m)	(offsetof(t, m) + sizeof(((t *)0)->m))
#define struct_size(p, m, n)	(sizeof(*(p)) + sizeof(*(p)->m) * (n))
#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define ALIGN(x, a)		(((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a)	(((x) & ((__typeof__(x))(a) - 1)) == 0)
#define round_down(x, y)	((x) & ~((__typeof__(x))((y) - 1)))
#define min(a, b)		((a) < (b) ? (a) : (b))
#define max(a, b)		((a) > (b) ? (a) : (b))
#define min_t(t, a, b)		min((t)(a), (t)(b))
#define max_t(t, a, b)		max((t)(a), (t)(b))
#define clamp(v, lo, hi)	min(max(v, lo), hi)
#define div_u64(a, b)		((u64)(a) / (b))
#define div64_u64(a, b)		((u64)(a) / (b))
#define ilog2(n)		(63 - __builtin_clzll(n))
#define rounddown_pow_of_two(n)	(1ULL << ilog2(n))

#define U32_MAX			UINT32_MAX
#define PAGE_SHIFT		12
#define PAGE_SIZE		(1UL << PAGE_SHIFT)
#define PAGE_MASK		(~(PAGE_SIZE - 1))
#define offset_in_page(p)	((unsigned long)(p) & ~PAGE_MASK)

/* --- bits ------------------------------------------------------------------ */
#define BITS_PER_LONG		64
#define BIT(n)			(1UL << (n))
#define BITS_TO_LONGS(n)	DIV_ROUND_UP(n, BITS_PER_LONG)
#define DECLARE_BITMAP(name, bits) unsigned long name[BITS_TO_LONGS(bits)]
#define BITMAP_FIRST_WORD_MASK(start) (~0UL << ((start) & (BITS_PER_LONG - 1)))
#define BITMAP_LAST_WORD_MASK(nbits) (~0UL >> (-(nbits) & (BITS_PER_LONG - 1)))
#define BIT_WORD(nr)		((nr) / BITS_PER_LONG)
#define BIT_MASK(nr)		(1UL << ((nr) % BITS_PER_LONG))

static inline unsigned long __ffs(unsigned long w)
{
	return __builtin_ctzl(w);
}

static inline unsigned int hweight_long(unsigned long w)
{
	return __builtin_popcountl(w);
}

static inline bool test_bit(unsigned long nr, const volatile unsigned long *a)
{
	return (__atomic_load_n(&a[BIT_WORD(nr)], __ATOMIC_RELAXED) >>
		(nr % BITS_PER_LONG)) & 1;
}

static inline void set_bit(unsigned long nr, volatile unsigned long *a)
{
	__atomic_fetch_or(&a[BIT_WORD(nr)], BIT_MASK(nr), __ATOMIC_RELAXED);
}

static inline bool test_and_set_bit(unsigned long nr, volatile unsigned long *a)
{
	return __atomic_fetch_or(&a[BIT_WORD(nr)], BIT_MASK(nr),
				 __ATOMIC_SEQ_CST) & BIT_MASK(nr);
}

static inline void __set_bit(unsigned long nr, unsigned long *a)
{
	a[BIT_WORD(nr)] |= BIT_MASK(nr);
}

static inline void __clear_bit(unsigned long nr, unsigned long *a)
{
	a[BIT_WORD(nr)] &= ~BIT_MASK(nr);
}

static inline bool __test_and_set_bit(unsigned long nr, unsigned long *a)
{
	bool old = a[BIT_WORD(nr)] & BIT_MASK(nr);

	a[BIT_WORD(nr)] |= BIT_MASK(nr);
	return old;
}

static inline bool __test_and_clear_bit(unsigned long nr, unsigned long *a)
{
	bool old = a[BIT_WORD(nr)] & BIT_MASK(nr);

	a[BIT_WORD(nr)] &= ~BIT_MASK(nr);
	return old;
}

static inline void __assign_bit(unsigned long nr, unsigned long *a, bool v)
{
	if (v)
		__set_bit(nr, a);
	else
		__clear_bit(nr, a);
}

static inline void bitmap_zero(unsigned long *a, unsigned int n)
{
	memset(a, 0, BITS_TO_LONGS(n) * sizeof(long));
}

/* A word at a time, as lib/bitmap.c: the benchmarks time callers. */
static inline void bitmap_set(unsigned long *a, unsigned int start,
			      unsigned int n)
{
	while (n && start % BITS_PER_LONG) {
		__set_bit(start++, a);
		n--;
	}
	for (; n >= BITS_PER_LONG; n -= BITS_PER_LONG, start += BITS_PER_LONG)
		a[start / BITS_PER_LONG] = ~0UL;
	while (n--)
		__set_bit(start++, a);
}

static inline void bitmap_clear(unsigned long *a, unsigned int start,
				unsigned int n)
{
	while (n && start % BITS_PER_LONG) {
		__clear_bit(start++, a);
		n--;
	}
	for (; n >= BITS_PER_LONG; n -= BITS_PER_LONG, start += BITS_PER_LONG)
		a[start / BITS_PER_LONG] = 0;
	while (n--)
		__clear_bit(start++, a);
}

/*
 * A word at a time, as lib/find_bit.c: a bit at a time was a tenth of the
 * native allocation benchmark's profile, an artefact of the shim. @flip
 * ~0UL looks for zero bits.
 */
static inline unsigned long host_find_next(const unsigned long *a,
					   unsigned long size,
					   unsigned long i, unsigned long flip)
{
	unsigned long w;

	if (i >= size)
		return size;
	w = (a[i / BITS_PER_LONG] ^ flip) & (~0UL << (i % BITS_PER_LONG));
	while (!w) {
		i = (i / BITS_PER_LONG + 1) * BITS_PER_LONG;
		if (i >= size)
			return size;
		w = a[i / BITS_PER_LONG] ^ flip;
	}
	i = (i / BITS_PER_LONG) * BITS_PER_LONG + __builtin_ctzl(w);
	return i < size ? i : size;
}

static inline unsigned long find_next_bit(const unsigned long *a,
					  unsigned long size,
					  unsigned long i)
{
	return host_find_next(a, size, i, 0);
}

static inline unsigned long find_next_zero_bit(const unsigned long *a,
					       unsigned long size,
					       unsigned long from)
{
	return host_find_next(a, size, from, ~0UL);
}

#define find_first_zero_bit(a, size)	find_next_zero_bit(a, size, 0)

/* The first run of @nr clear bits at or after @start below @size, or > @size. */
static inline unsigned long bitmap_find_next_zero_area(unsigned long *map,
							unsigned long size,
							unsigned long start,
							unsigned int nr,
							unsigned long align_mask)
{
	unsigned long busy;

	for (;;) {
		start = find_next_zero_bit(map, size, start);
		start = (start + align_mask) & ~align_mask;
		if (start + nr > size)
			return start + nr;
		busy = find_next_bit(map, start + nr, start);
		if (busy >= start + nr)
			return start;
		start = busy + 1;
	}
}

static inline unsigned int bitmap_weight(const unsigned long *a,
					 unsigned int n)
{
	unsigned int w = 0, i;

	for (i = 0; i < n / BITS_PER_LONG; i++)
		w += hweight_long(a[i]);
	if (n % BITS_PER_LONG)
		w += hweight_long(a[i] & BITMAP_LAST_WORD_MASK(n));
	return w;
}

/* unsigned long is u64 here: the arr64 copies are plain copies. */
static inline void bitmap_from_arr64(unsigned long *a, const u64 *buf,
				     unsigned int n)
{
	memcpy(a, buf, BITS_TO_LONGS(n) * sizeof(*a));
	if (n % BITS_PER_LONG)
		a[n / BITS_PER_LONG] &= BITMAP_LAST_WORD_MASK(n);
}

static inline void bitmap_to_arr64(u64 *buf, const unsigned long *a,
				   unsigned int n)
{
	memcpy(buf, a, BITS_TO_LONGS(n) * sizeof(*a));
	if (n % BITS_PER_LONG)
		buf[n / BITS_PER_LONG] &= BITMAP_LAST_WORD_MASK(n);
}

#define for_each_set_bit(bit, addr, size)				\
	for ((bit) = find_next_bit((addr), (size), 0); (bit) < (size);	\
	     (bit) = find_next_bit((addr), (size), (bit) + 1))

#define for_each_set_bit_from(bit, addr, size)				\
	for (; (bit) = find_next_bit((addr), (size), (bit)), (bit) < (size); \
	     (bit)++)

/* --- lists --------------------------------------------------------------- */
struct list_head {
	struct list_head *next, *prev;
};

#define LIST_HEAD_INIT(name)	{ &(name), &(name) }
#define LIST_HEAD(name)		struct list_head name = LIST_HEAD_INIT(name)

static inline void INIT_LIST_HEAD(struct list_head *l)
{
	l->next = l;
	l->prev = l;
}

static inline void __list_add(struct list_head *n, struct list_head *prev,
			      struct list_head *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}

static inline void list_add(struct list_head *n, struct list_head *head)
{
	__list_add(n, head, head->next);
}

static inline void list_add_tail(struct list_head *n, struct list_head *head)
{
	__list_add(n, head->prev, head);
}

/* Poisoned like the kernel's, so a use after list_del() crashes. */
static inline void list_del(struct list_head *e)
{
	e->next->prev = e->prev;
	e->prev->next = e->next;
	e->next = (struct list_head *)0x100;
	e->prev = (struct list_head *)0x122;
}

static inline void list_del_init(struct list_head *e)
{
	e->next->prev = e->prev;
	e->prev->next = e->next;
	INIT_LIST_HEAD(e);
}

static inline bool list_empty(const struct list_head *h)
{
	return READ_ONCE(h->next) == h;
}

static inline void list_move(struct list_head *e, struct list_head *head)
{
	e->next->prev = e->prev;
	e->prev->next = e->next;
	list_add(e, head);
}

/* Join @list to the front of @head and make @list empty. */
static inline void list_splice_init(struct list_head *list,
				    struct list_head *head)
{
	if (list_empty(list))
		return;
	list->next->prev = head;
	list->prev->next = head->next;
	head->next->prev = list->prev;
	head->next = list->next;
	INIT_LIST_HEAD(list);
}

#define list_entry(p, t, m)		container_of(p, t, m)
#define list_first_entry(h, t, m)	list_entry((h)->next, t, m)
#define list_first_entry_or_null(h, t, m) \
	(list_empty(h) ? NULL : list_first_entry(h, t, m))
#define list_next_entry(p, m)		list_entry((p)->m.next, __typeof__(*(p)), m)
#define list_for_each_entry(p, h, m)					\
	for (p = list_first_entry(h, __typeof__(*p), m); &p->m != (h);	\
	     p = list_next_entry(p, m))
#define list_for_each_entry_safe(p, n, h, m)				\
	for (p = list_first_entry(h, __typeof__(*p), m),		\
	     n = list_next_entry(p, m); &p->m != (h);			\
	     p = n, n = list_next_entry(n, m))

/* --- module parameters: plain variables here ---------------------------- */
#define module_param_named(name, var, type, perm)	\
	static __attribute__((unused)) void *__param_##name = &(var)
#define MODULE_PARM_DESC(name, desc)

/* --- atomics and locks ----------------------------------------------------- */
typedef unsigned int gfp_t;
typedef struct { int counter; } atomic_t;
typedef struct { long long counter; } atomic64_t;

#define atomic_read(v)		__atomic_load_n(&(v)->counter, __ATOMIC_RELAXED)
#define atomic_set(v, i)	__atomic_store_n(&(v)->counter, i, __ATOMIC_RELAXED)
#define atomic_inc(v)		((void)__atomic_add_fetch(&(v)->counter, 1, __ATOMIC_SEQ_CST))
#define atomic_dec(v)		((void)__atomic_sub_fetch(&(v)->counter, 1, __ATOMIC_SEQ_CST))
#define atomic_inc_return(v)	__atomic_add_fetch(&(v)->counter, 1, __ATOMIC_SEQ_CST)
#define atomic_dec_and_test(v)	(__atomic_sub_fetch(&(v)->counter, 1, __ATOMIC_SEQ_CST) == 0)
#define atomic_andnot(i, v)	((void)__atomic_and_fetch(&(v)->counter, ~(i), __ATOMIC_SEQ_CST))
#define atomic64_add(i, v)	((void)__atomic_add_fetch(&(v)->counter, i, __ATOMIC_SEQ_CST))
#define atomic64_read(v)	__atomic_load_n(&(v)->counter, __ATOMIC_SEQ_CST)
#define atomic64_sub(i, v)	((void)__atomic_sub_fetch(&(v)->counter, i, __ATOMIC_SEQ_CST))
#define atomic64_inc(v)		atomic64_add(1, v)
#define atomic64_dec(v)		atomic64_sub(1, v)
#define atomic64_xchg(v, i)	__atomic_exchange_n(&(v)->counter, i, __ATOMIC_SEQ_CST)

typedef struct { pthread_mutex_t m; } spinlock_t;
#define spin_lock_init(l)	pthread_mutex_init(&(l)->m, NULL)
#define spin_lock(l)		pthread_mutex_lock(&(l)->m)
#define spin_unlock(l)		pthread_mutex_unlock(&(l)->m)

struct mutex { pthread_mutex_t m; };
typedef struct { int dummy; } wait_queue_head_t;
#define wake_up_all(wq)		do { (void)(wq); } while (0)
#define wq_has_sleeper(wq)	((void)(wq), true)
#define wait_event(wq, cond)	do { while (!(cond)) sched_yield(); } while (0)
struct kref { atomic_t refcount; };
struct rcu_head { void *next; };
struct callback_head { void *next; };
struct completion { int done; };
/*
 * An xarray is a growable array of pointers by index, for the small
 * indices gcmem uses (thread ids, central list keys); its callers lock
 * around stores as the kernel's serialise them (heap->lock).
 */
struct xarray { void **slot; unsigned long n; };

static inline void *xa_load(struct xarray *xa, unsigned long i)
{
	return i < xa->n ? __atomic_load_n(&xa->slot[i], __ATOMIC_ACQUIRE) :
			   NULL;
}

static inline void *xa_store(struct xarray *xa, unsigned long i, void *p,
			     gfp_t gfp)
{
	void *old;

	if (i >= xa->n) {
		unsigned long n = (i + 1) * 2;
		void **s = realloc(xa->slot, n * sizeof(*s));

		if (!s)
			return (void *)-ENOMEM;
		memset(s + xa->n, 0, (n - xa->n) * sizeof(*s));
		xa->slot = s;
		xa->n = n;
	}
	old = xa->slot[i];
	__atomic_store_n(&xa->slot[i], p, __ATOMIC_RELEASE);
	return old;
}

#define xa_is_err(p)		((unsigned long)(p) >= (unsigned long)-4095)
#define xa_erase(xa, i)		xa_store(xa, i, NULL, 0)
#define xa_for_each(xa, index, entry)					\
	for ((index) = 0; (index) < (xa)->n; (index)++)			\
		if (!((entry) = (xa)->slot[(index)])) {} else
struct work_struct { int dummy; };
#define rcu_read_lock()		do { } while (0)
#define rcu_read_unlock()	do { } while (0)

/* --- memory ---------------------------------------------------------------- */
#define GFP_KERNEL		0u
#define GFP_KERNEL_ACCOUNT	0u
#define __GFP_NOWARN		0u
#define __GFP_ZERO		1u

/* The test can make the next kmalloc()s fail (host_test.c). */
extern int host_kmalloc_fail;

static inline void *kmalloc(size_t n, gfp_t gfp)
{
	if (host_kmalloc_fail && __atomic_sub_fetch(&host_kmalloc_fail, 1,
						    __ATOMIC_RELAXED) == 0)
		return NULL;
	return gfp & __GFP_ZERO ? calloc(1, n) : malloc(n);
}

#define kzalloc(n, gfp)		kmalloc(n, (gfp) | __GFP_ZERO)
#define kcalloc(k, n, gfp)	kzalloc((k) * (n), gfp)
#define kmalloc_array(k, n, gfp) kmalloc((k) * (n), gfp)
#define kfree(p)		free(p)
#define usleep_range(a, b)	usleep(a)

/* --- time ------------------------------------------------------------------ */
#include <time.h>

static inline ktime_t ktime_get(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ktime_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#define ktime_sub(a, b)		((a) - (b))
#define ktime_to_ns(t)		(t)

/* --- tasks, mm and user memory ------------------------------------------- */
struct page;
struct dentry;
struct eventfd_ctx;
struct file;
struct vm_area_struct {
	unsigned long vm_start, vm_end, vm_flags;
};
struct mm_struct {
	int dummy;
};
#define VM_READ			0x1UL
#define VM_MAYWRITE		0x20UL
#define VM_MAYSHARE		0x80UL
#define VM_PFNMAP		0x400UL
#define VM_IO			0x4000UL

struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx,
		      dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};

#define PF_EXITING		0x4
#define PF_KTHREAD		0x00200000
#define THREAD_SIZE		(16UL << 10)
#define TOP_OF_KERNEL_STACK_PADDING 0

struct task_struct {
	unsigned int flags;
	long exit_state;
	void *stack;
	struct pt_regs regs;
};

extern __thread struct task_struct *host_current;
#define current			host_current
#define task_pt_regs(t)		(&(t)->regs)
#define fatal_signal_pending(t)	0

/*
 * User memory: the test names one range whose reads fail, as a page that
 * is not there would (host_user_fault()); find_vma() says whether that
 * range is mapped.
 */
extern unsigned long host_fault_lo, host_fault_hi;
extern bool host_fault_mapped;

static inline unsigned long host_copy(void *dst, const void *src,
				      unsigned long n)
{
	unsigned long a = (unsigned long)src, ok = n;

	if (a < host_fault_hi && a + n > host_fault_lo)
		ok = a < host_fault_lo ? host_fault_lo - a : 0;
	memcpy(dst, src, ok);
	return n - ok;
}

#define copy_from_user(d, s, n)		host_copy(d, (const void *)(s), n)
#define copy_to_user(d, s, n)		(memcpy((void *)(d), s, n), 0UL)
#define u64_to_user_ptr(x)		((void *)(uintptr_t)(x))
#define copy_from_user_nofault(d, s, n)	((long)host_copy(d, (const void *)(s), n))

/*
 * A "user" page is taken in place, as get_user_page_fast_only() takes a
 * present one, unless it meets the unreadable window, which the copy then
 * finds: the struct page is the page's address, which kmap_local_page()
 * gives back.
 */
static inline bool get_user_page_fast_only(unsigned long addr,
					   unsigned int flags,
					   struct page **pagep)
{
	unsigned long a = addr & PAGE_MASK;

	if (a < host_fault_hi && a + PAGE_SIZE > host_fault_lo)
		return false;
	*pagep = (struct page *)a;
	return true;
}

static inline void *kmap_local_page(struct page *page)
{
	return page;
}

#define kunmap_local(p)		do { (void)(p); } while (0)
#define put_page(page)		do { (void)(page); } while (0)

struct vm_area_struct *find_vma(struct mm_struct *mm, unsigned long addr);
#define mmap_read_lock_killable(mm)	0
#define mmap_read_unlock(mm)		do { } while (0)

#endif /* GCMEM_HOST_SHIM_H */
