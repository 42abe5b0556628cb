/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gc_typed.h - bdwgc's typed allocation on gcmem.
 *
 * A descriptor made from a bitmap of the words that may hold pointers.
 * gcmem keeps the promise the bitmap makes in one direction only: an
 * object whose bitmap has no pointer word is allocated pointer-free and
 * never scanned; any other is scanned conservatively, every word, which
 * keeps alive all that the bitmap's words reach (and perhaps more).
 */
#ifndef GCMEM_GC_TYPED_H
#define GCMEM_GC_TYPED_H

#include "gc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef GC_word GC_descr;
typedef GC_word *GC_bitmap;

#define GC_WORDSZ		(8 * sizeof(GC_word))
#define GC_get_bit(bm, i)	(((bm)[(i) / GC_WORDSZ] >> ((i) % GC_WORDSZ)) & 1)
#define GC_set_bit(bm, i) \
	((bm)[(i) / GC_WORDSZ] |= (GC_word)1 << ((i) % GC_WORDSZ))
#define GC_WORD_OFFSET(t, f)	(offsetof(t, f) / sizeof(GC_word))
#define GC_WORD_LEN(t)		(sizeof(t) / sizeof(GC_word))
#define GC_BITMAP_SIZE(t)	((GC_WORD_LEN(t) + GC_WORDSZ - 1) / GC_WORDSZ)

/* The descriptor of objects whose first @len words are laid out as @bm. */
GC_API GC_descr GC_make_descriptor(const GC_word *bm, size_t len);
GC_API void *GC_malloc_explicitly_typed(size_t size, GC_descr d);
GC_API void *GC_malloc_explicitly_typed_ignore_off_page(size_t size,
							GC_descr d);
/* @n elements of @size bytes each, every one laid out as @d says. */
GC_API void *GC_calloc_explicitly_typed(size_t n, size_t size, GC_descr d);

#ifdef GC_DEBUG
#define GC_MALLOC_EXPLICITLY_TYPED(n, d)	GC_MALLOC(n)
#define GC_CALLOC_EXPLICITLY_TYPED(n, l, d)	GC_MALLOC((n) * (l))
#else
#define GC_MALLOC_EXPLICITLY_TYPED(n, d) GC_malloc_explicitly_typed(n, d)
#define GC_CALLOC_EXPLICITLY_TYPED(n, l, d) \
	GC_calloc_explicitly_typed(n, l, d)
#endif

#ifdef __cplusplus
}
#endif

#endif /* GCMEM_GC_TYPED_H */
