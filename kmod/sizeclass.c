// SPDX-License-Identifier: GPL-2.0
/*
 * Size classes. See alloc.c for how spans are handed out.
 *
 * Objects up to GCMEM_SMALL_MAX bytes are rounded up to a size class and
 * allocated from spans holding objects of that class only. The table is
 * computed once at module load, the way Go's mksizeclasses.go derives its
 * table, and published to user space in every heap's control page, so the
 * library never carries a copy that could disagree with the kernel.
 *
 * The derivation bounds two kinds of waste:
 *
 *  - internal (object rounded up to its class): successive sizes step by
 *    16 bytes up to 128, then by an eighth of the next power of two below
 *    them, so a request is never rounded up by more than 12.5% (plus the
 *    16-byte alignment step for tiny objects);
 *  - tail (span bytes left over after the last whole object): a class's
 *    span takes the fewest GCMEM_PAGE_SIZE pages that leave at most an
 *    eighth of the span unused.
 *
 * And it bounds the cost of the allocation slow path: a span of a class up
 * to GCMEM_SPAN_MIN_OBJECTS_UPTO bytes holds at least
 * GCMEM_SPAN_MIN_OBJECTS objects, so a thread allocating small objects
 * makes at most one refill ioctl per 256 of them, and spans of those
 * classes are grown to GCMEM_SPAN_SMALL_BYTES (32 KiB) as long as they
 * hold no more than GCMEM_MAX_NELEMS objects: a refill costs a system call,
 * the heap lock and a span's worth of zeroing, so the tiny classes, where
 * allocation is densest, get 1024 objects per refill (GCBench's 32-byte
 * nodes spent most of their mutator time in refills at 256 per span).
 * Beyond 256 bytes the minimum would take spans over 64 KiB, which a
 * thread may hold partly empty for every (class, type) it uses; there the
 * span is what the waste rule gives.
 *
 * A size whose span holds as many objects as the previous class's in the
 * same number of pages replaces that class: same memory, less rounding.
 * All sizes from 16 up are multiples of 16, so objects of 16 bytes and more
 * are 16-byte aligned (spans are GCMEM_PAGE_SIZE aligned).
 */
#include <linux/bug.h>
#include <linux/init.h>
#include <linux/log2.h>

#include "gcmem.h"

unsigned int gcmem_nclasses __ro_after_init;
u32 gcmem_class_size[GCMEM_MAX_CLASSES] __ro_after_init;
u16 gcmem_class_npages[GCMEM_MAX_CLASSES] __ro_after_init;
u16 gcmem_class_nelems[GCMEM_MAX_CLASSES] __ro_after_init;
u32 gcmem_class_divmul[GCMEM_MAX_CLASSES] __ro_after_init;
/* Class for each (size + 7) / 8 up to 1024 bytes, then each 128 bytes. */
static u8 gcmem_class_small[1024 / 8 + 1] __ro_after_init;
static u8 gcmem_class_large[(GCMEM_SMALL_MAX - 1024) / 128 + 1] __ro_after_init;

static unsigned int gcmem_step(unsigned int size)
{
	if (size < 128)
		return 16;
	return rounddown_pow_of_two(size) / 8;
}

#define GCMEM_SPAN_MIN_OBJECTS		256
#define GCMEM_SPAN_MIN_OBJECTS_UPTO	256
#define GCMEM_SPAN_SMALL_BYTES		(32 << 10)

static unsigned int gcmem_span_pages(unsigned int size)
{
	unsigned int npages = 1;

	if (size <= GCMEM_SPAN_MIN_OBJECTS_UPTO) {
		npages = DIV_ROUND_UP(GCMEM_SPAN_MIN_OBJECTS * size,
				      GCMEM_PAGE_SIZE);
		while (npages * GCMEM_PAGE_SIZE < GCMEM_SPAN_SMALL_BYTES &&
		       (npages + 1) * GCMEM_PAGE_SIZE / size <=
		       GCMEM_MAX_NELEMS)
			npages++;
	}

	while ((npages * GCMEM_PAGE_SIZE) % size * 8 > npages * GCMEM_PAGE_SIZE)
		npages++;
	return npages;
}

/*
 * The multiplier that turns a byte offset into a span into an object index
 * without a division (the mark does it for every candidate pointer):
 * idx = off * m >> 32 with m = ceil(2^32 / size). The product overshoots
 * off / size by off * (m - 2^32 / size) / 2^32 < off / 2^32, which cannot
 * carry into the next integer while off < 2^32 / size; rather than lean on
 * that bound for every class, check the worst offset of every object (its
 * last byte) and fall back to dividing (0) if one is wrong.
 */
static u32 __init gcmem_divmul(u32 size, u32 nelems)
{
	u32 m = U32_MAX / size + 1, k;

	for (k = 0; k < nelems; k++)
		if (((u64)k * size + size - 1) * m >> 32 != k)
			return 0;
	return m;
}

void __init gcmem_sizeclass_init(void)
{
	unsigned int n = 1, size, i;

	for (size = 8; size <= GCMEM_SMALL_MAX;
	     size += size == 8 ? 8 : gcmem_step(size)) {
		unsigned int npages = gcmem_span_pages(size);
		unsigned int nelems = npages * GCMEM_PAGE_SIZE / size;

		if (n > 1 && gcmem_class_npages[n - 1] == npages &&
		    gcmem_class_nelems[n - 1] == nelems) {
			gcmem_class_size[n - 1] = size;
			continue;
		}
		if (WARN_ON(n >= GCMEM_MAX_CLASSES ||
			    nelems > GCMEM_MAX_NELEMS))
			break;
		gcmem_class_size[n] = size;
		gcmem_class_npages[n] = npages;
		gcmem_class_nelems[n] = nelems;
		n++;
	}
	gcmem_nclasses = n;
	for (n = 1; n < gcmem_nclasses; n++)
		gcmem_class_divmul[n] = gcmem_divmul(gcmem_class_size[n],
						     gcmem_class_nelems[n]);

	/* Lookup tables: the smallest class that holds each size. */
	for (i = 0, n = 1; i < ARRAY_SIZE(gcmem_class_small); i++) {
		while (gcmem_class_size[n] < i * 8)
			n++;
		gcmem_class_small[i] = n;
	}
	for (i = 0; i < ARRAY_SIZE(gcmem_class_large); i++) {
		while (gcmem_class_size[n] < 1024 + i * 128)
			n++;
		gcmem_class_large[i] = n;
	}
}

/* The size class for @size bytes, 0 if the object is large. */
unsigned int gcmem_size_to_class(u64 size)
{
	if (size <= 1024)
		return gcmem_class_small[(size + 7) / 8];
	if (size <= GCMEM_SMALL_MAX)
		return gcmem_class_large[(size - 1024 + 127) / 128];
	return 0;
}
