// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of gcmem's pure logic: the module's own kmod/sizeclass.c,
 * bitmap.c, work.c, mark.c and sweep.c, compiled in user space against the
 * shims of shim.h (the model: the kernel's tools/testing/radix-tree). Built
 * twice by `make check`: with ASan and UBSan, and with TSan, where several
 * threads hammer the workbuf lists and mark one heap together.
 *
 * A test heap is laid out as the module lays it out — 2 MiB chunks (here
 * in ordinary memory), 8 KiB pages, spans, the span table, pointer bits
 * set by bitmap.c — at a made-up arena address, with a random graph of
 * objects in it. The mark is checked against a reachability computed here
 * independently (plain division, no span table), and the sweep against the
 * mark. What the rest of the module would provide (types, the central
 * lists, freeing a span) host_module.c provides.
 */
#include "host_module.h"

#include "kselftest_harness.h"

/* --- a test heap --------------------------------------------------------- */

#define ARENA		(1ULL << 44)	/* made up: never dereferenced */
#define NCHUNKS		4

struct th {
	struct gcmem_heap *heap;
	unsigned long next_page;
	/* Every slot of every span, for the independent reachability. */
	struct gcmem_span *spans[256];
	unsigned int nspans;
	unsigned char *reach;		/* per slot, by span and index */
	unsigned int *slot0;		/* first slot number of each span */
	unsigned int nslots;
};

static u64 xr(u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void th_init(struct th *t)
{
	struct gcmem_heap *h = calloc(1, sizeof(*h));

	memset(t, 0, sizeof(*t));
	h->arena_start = ARENA;
	h->arena_size = NCHUNKS * GCMEM_CHUNK_SIZE;
	h->chunk_tab = calloc(NCHUNKS, sizeof(*h->chunk_tab));
	for (int i = 0; i < NCHUNKS; i++) {
		struct gcmem_chunk *c = calloc(1, sizeof(*c));

		c->base = aligned_alloc(GCMEM_CHUNK_SIZE, GCMEM_CHUNK_SIZE);
		memset(c->base, 0, GCMEM_CHUNK_SIZE);
		c->index = i;
		h->chunk_tab[i] = c;
	}
	h->chunks_hi = NCHUNKS;
	INIT_LIST_HEAD(&h->spans);
	INIT_LIST_HEAD(&h->unswept);
	INIT_LIST_HEAD(&host_central);
	t->heap = h;
	host_spans_freed = 0;
}

static void th_free(struct th *t)
{
	struct gcmem_span *span, *next;

	list_for_each_entry_safe(span, next, &t->heap->spans, node)
		free(span);
	for (int i = 0; i < NCHUNKS; i++) {
		free(t->heap->chunk_tab[i]->base);
		free(t->heap->chunk_tab[i]);
	}
	free(t->heap->chunk_tab);
	free(t->heap);
	free(t->reach);
	free(t->slot0);
}

/* A span as alloc.c carves it: pages, span table, pointer bits. */
static struct gcmem_span *th_span(struct th *t, u32 cls, unsigned long npages,
				  u32 type_id)
{
	struct gcmem_heap *h = t->heap;
	u64 elem = cls ? gcmem_class_size[cls] : npages * GCMEM_PAGE_SIZE;
	u32 nelems = cls ? gcmem_class_nelems[cls] : 1;
	unsigned long words = BITS_TO_LONGS(nelems);
	struct gcmem_span *span = calloc(1, struct_size(span, bits, 3 * words));
	const struct gcmem_type *type;

	if (cls)
		npages = gcmem_class_npages[cls];
	span->page = t->next_page;
	t->next_page += npages;
	span->npages = npages;
	span->size_class = cls;
	span->elem_size = elem;
	span->div_mul = gcmem_class_divmul[cls];
	span->nelems = nelems;
	span->reach = elem;
	span->type_id = type_id;
	span->state = cls ? GCMEM_SPAN_FULL : GCMEM_SPAN_LARGE;
	span->allocbits = span->bits;
	span->markbits = span->bits + words;
	span->checkbits = span->bits + 2 * words;
	INIT_LIST_HEAD(&span->central);
	span->home = cls ? &host_central : NULL;
	list_add_tail(&span->node, &h->spans);
	for (unsigned long i = span->page; i < span->page + npages; i++)
		gcmem_chunk_of(h, (u64)i << GCMEM_PAGE_SHIFT)
			->spans[i % GCMEM_CHUNK_PAGES] = span;
	gcmem_type_lookup(h, type_id, &type);
	gcmem_span_set_ptrbits(h, span, type);
	t->spans[t->nspans++] = span;
	return span;
}

static u64 *th_word(struct th *t, u64 off)
{
	return (u64 *)((char *)gcmem_chunk_of(t->heap, off)->base +
		       off % GCMEM_CHUNK_SIZE);
}

static u64 slot_off(const struct gcmem_span *s, u32 i)
{
	return ((u64)s->page << GCMEM_PAGE_SHIFT) + i * s->elem_size;
}

/*
 * The slot a word points into, by plain search and division, or -1: in
 * the arena, in a span, in an allocated slot (interior pointers count).
 */
static long th_resolve(struct th *t, u64 v)
{
	u64 off = v - ARENA;

	if (v < ARENA || off >= t->heap->arena_size)
		return -1;
	for (unsigned int k = 0; k < t->nspans; k++) {
		struct gcmem_span *s = t->spans[k];
		u64 base = (u64)s->page << GCMEM_PAGE_SHIFT;
		u64 idx;

		if (off < base || off >= base + s->npages * GCMEM_PAGE_SIZE)
			continue;
		idx = (off - base) / s->elem_size;
		if (idx >= s->nelems || !test_bit(idx, s->allocbits))
			return -1;
		return t->slot0[k] + idx;
	}
	return -1;
}

/* Is word @w of slot @i of span @k a pointer to follow? */
static bool th_is_ptr(struct th *t, unsigned int k, u64 w)
{
	struct gcmem_span *s = t->spans[k];
	const struct gcmem_type *type;

	if (s->type_id == GCMEM_TYPE_NOSCAN)
		return false;
	if (s->type_id == GCMEM_TYPE_CONSERVATIVE)
		return true;
	gcmem_type_lookup(t->heap, s->type_id, &type);
	return test_bit(w % type->nwords, type->mask);
}

static void th_reach(struct th *t, u64 v, unsigned int *stack, unsigned int *sp)
{
	long slot = th_resolve(t, v);

	if (slot >= 0 && !t->reach[slot]) {
		t->reach[slot] = 1;
		stack[(*sp)++] = slot;
	}
}

/* The reachable set from @roots, the way the collector must see it. */
static void th_reference(struct th *t, const u64 *roots, unsigned int nroots)
{
	unsigned int *stack = calloc(t->nslots, sizeof(*stack)), sp = 0;

	memset(t->reach, 0, t->nslots);
	for (unsigned int i = 0; i < nroots; i++)
		th_reach(t, roots[i], stack, &sp);
	while (sp) {
		unsigned int slot = stack[--sp], k = 0;
		struct gcmem_span *s;

		while (k + 1 < t->nspans && t->slot0[k + 1] <= slot)
			k++;
		s = t->spans[k];
		for (u64 w = 0; w < s->elem_size / 8; w++)
			if (th_is_ptr(t, k, w))
				th_reach(t, *th_word(t, slot_off(s, slot - t->slot0[k]) + w * 8),
					 stack, &sp);
	}
	free(stack);
}

/*
 * A heap of every kind of span — small conservative classes, a typed span
 * whose objects hold integers that look like pointers where the mask says
 * they are not, a NOSCAN span, a large object across a chunk boundary —
 * half of the slots allocated, their words pointers to random slots
 * (allocated or not, at the start or inside), integers, or zero.
 */
static void th_graph(struct th *t, u64 seed)
{
	static const u32 sizes[] = { 16, 48, 64, 128, 1024, 8192 };
	u64 mask = 0x5;		/* words 0 and 2 of 4 */
	struct gcmem_type *ty = calloc(1, struct_size(ty, mask, 1));
	u64 s = seed;

	ty->id = 2;
	ty->nwords = 4;
	ty->mask[0] = mask;
	host_types[2] = ty;
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		th_span(t, gcmem_size_to_class(sizes[i]), 0,
			GCMEM_TYPE_CONSERVATIVE);
	th_span(t, gcmem_size_to_class(32), 0, 2);
	th_span(t, gcmem_size_to_class(64), 0, GCMEM_TYPE_NOSCAN);
	/* A large object that crosses from chunk 1 into chunk 2. */
	t->next_page = 2 * GCMEM_CHUNK_PAGES - 3;
	th_span(t, 0, 7, GCMEM_TYPE_CONSERVATIVE);

	t->slot0 = calloc(t->nspans, sizeof(*t->slot0));
	for (unsigned int k = 0; k < t->nspans; k++) {
		t->slot0[k] = t->nslots;
		t->nslots += t->spans[k]->nelems;
		for (u32 i = 0; i < t->spans[k]->nelems; i++)
			if (!t->spans[k]->size_class || xr(&s) % 2)
				__set_bit(i, t->spans[k]->allocbits);
	}
	t->reach = calloc(t->nslots, 1);
	for (unsigned int k = 0; k < t->nspans; k++) {
		struct gcmem_span *sp = t->spans[k];

		for (u32 i = 0; i < sp->nelems; i++) {
			for (u64 w = 0; w < sp->elem_size / 8; w++) {
				struct gcmem_span *to = t->spans[xr(&s) % t->nspans];
				u64 r = xr(&s) % 16, v = 0;

				if (r < 3)
					v = ARENA + slot_off(to, xr(&s) % to->nelems);
				else if (r < 4)
					v = ARENA + slot_off(to, xr(&s) % to->nelems) +
					    xr(&s) % to->elem_size;
				else if (r < 6)
					v = xr(&s);
				/* Sparse, or everything would be reachable. */
				*th_word(t, slot_off(sp, i) + w * 8) =
					xr(&s) % 8 ? 0 : v;
			}
		}
	}
}

/* A cycle over the test heap, with @nproc scanners. */
static void th_cycle(struct th *t, struct gcmem_cycle *c, int nproc)
{
	host_cycle_init(c, t->heap, nproc, true);
}

/* Mark bits against the reference: the number of slots that differ. */
static int th_compare(struct th *t, struct __test_metadata *_metadata)
{
	int bad = 0;

	for (unsigned int k = 0; k < t->nspans; k++)
		for (u32 i = 0; i < t->spans[k]->nelems; i++)
			if (test_bit(i, t->spans[k]->markbits) !=
			    t->reach[t->slot0[k] + i] && bad++ < 5)
				TH_LOG("span %u slot %u: marked %d, reachable %d",
				       k, i, test_bit(i, t->spans[k]->markbits),
				       t->reach[t->slot0[k] + i]);
	return bad;
}

static void th_roots(struct th *t, u64 *roots, unsigned int n, u64 seed)
{
	for (unsigned int i = 0; i < n; i++) {
		struct gcmem_span *to = t->spans[xr(&seed) % t->nspans];

		roots[i] = ARENA + slot_off(to, xr(&seed) % to->nelems) +
			   (i % 3 ? 0 : 8);
	}
}

/* --- tests ----------------------------------------------------------------- */

FIXTURE(host) {
	struct th t;
	struct gcmem_cycle c;
	u64 roots[64];
};

FIXTURE_SETUP(host)
{
	static bool classes;

	if (!classes) {
		gcmem_sizeclass_init();
		classes = true;
	}
	host_current = &host_tasks[HOST_MAX_SCANNERS];
	host_fault_lo = host_fault_hi = 0;
	host_fault_mapped = false;
	host_kmalloc_fail = 0;
	th_init(&self->t);
	th_graph(&self->t, 0x1234567);
	th_roots(&self->t, self->roots, ARRAY_SIZE(self->roots), 42);
	th_reference(&self->t, self->roots, ARRAY_SIZE(self->roots));
}

FIXTURE_TEARDOWN(host)
{
	th_free(&self->t);
}

static void th_root_job(struct gcmem_cycle *c, u64 *roots, unsigned int n)
{
	static struct gcmem_root_job job;

	memset(&job, 0, sizeof(job));
	job.start = (unsigned long)roots;
	job.end = (unsigned long)(roots + n);
	job.type_id = GCMEM_TYPE_CONSERVATIVE;
	c->jobs = &job;
	c->njobs = 1;
}

/* The size classes: ordered, aligned, dense, and the index arithmetic. */
TEST(size_classes)
{
	gcmem_sizeclass_init();
	ASSERT_LT(10, gcmem_nclasses);
	for (unsigned int n = 1; n < gcmem_nclasses; n++) {
		u32 size = gcmem_class_size[n], nelems = gcmem_class_nelems[n];
		u64 span = (u64)gcmem_class_npages[n] * GCMEM_PAGE_SIZE;

		if (n > 1)
			ASSERT_LT(gcmem_class_size[n - 1], size);
		ASSERT_EQ(0, size % (size >= 16 ? 16 : 8)) TH_LOG("class %u", n);
		ASSERT_EQ(span / size, nelems);
		ASSERT_GE(GCMEM_MAX_NELEMS, nelems);
		/* div_mul gives every byte of every slot its index. */
		if (gcmem_class_divmul[n])
			for (u64 off = 0; off < (u64)size * nelems; off++)
				ASSERT_EQ(off / size,
					  off * gcmem_class_divmul[n] >> 32);
	}
	for (u64 sz = 1; sz <= gcmem_class_size[gcmem_nclasses - 1]; sz++) {
		unsigned int n = gcmem_size_to_class(sz);

		ASSERT_LE(sz, gcmem_class_size[n]) TH_LOG("size %llu", sz);
		if (n > 1)
			ASSERT_GT(sz, gcmem_class_size[n - 1]);
	}
}

/* Pointer bits as bitmap.c sets them, read back a span at a time. */
TEST_F(host, pointer_bits)
{
	for (unsigned int k = 0; k < self->t.nspans; k++) {
		struct gcmem_span *s = self->t.spans[k];
		u64 n = s->npages * GCMEM_PAGE_SIZE / 8;
		u64 *bits = calloc(DIV_ROUND_UP(n, 64), 8);

		gcmem_get_ptrbits(self->t.heap, (u64)s->page << GCMEM_PAGE_SHIFT,
				  bits, n);
		for (u64 w = 0; w < n; w++) {
			bool want = w < (u64)s->nelems * s->elem_size / 8 &&
				    th_is_ptr(&self->t, k, w % (s->elem_size / 8));

			ASSERT_EQ(want, (bits[w / 64] >> (w % 64)) & 1)
				TH_LOG("span %u word %llu", k, w);
		}
		free(bits);
	}
}

/* One scanner marks exactly what is reachable. */
TEST_F(host, mark_one_scanner)
{
	th_cycle(&self->t, &self->c, 1);
	th_root_job(&self->c, self->roots, ARRAY_SIZE(self->roots));
	host_mark(&self->c, 1);
	ASSERT_FALSE(self->c.work.abandon);
	EXPECT_EQ(0, th_compare(&self->t, _metadata));
	gcmem_work_destroy(&self->c.work);
	EXPECT_EQ(0, atomic_read(&self->c.work.nbufs));
}

/* Four scanners together (TSan watches): the same marks. */
TEST_F(host, mark_four_scanners)
{
	for (int round = 0; round < 20; round++) {
		for (unsigned int k = 0; k < self->t.nspans; k++)
			bitmap_zero(self->t.spans[k]->markbits,
				    self->t.spans[k]->nelems);
		th_cycle(&self->t, &self->c, 4);
		th_root_job(&self->c, self->roots, ARRAY_SIZE(self->roots));
		host_mark(&self->c, 4);
		ASSERT_FALSE(self->c.work.abandon);
		ASSERT_EQ(0, th_compare(&self->t, _metadata))
			TH_LOG("round %d", round);
		gcmem_work_destroy(&self->c.work);
		ASSERT_EQ(0, atomic_read(&self->c.work.nbufs));
	}
}

/*
 * A thread that waits for the cycle, helping its mark (as one in
 * gcmem_heap_lock_idle()), until told to stop; the mark's end (the phase)
 * sends it back from each help.
 */
struct assister {
	struct gcmem_heap *heap;
	int stop;
};

static void *assist_fn(void *arg)
{
	struct assister *a = arg;

	host_current = &host_tasks[HOST_MAX_SCANNERS];
	while (!READ_ONCE(a->stop))
		gcmem_mark_assist(a->heap, 0, NULL);
	return NULL;
}

/* End @heap's mark, as the stop for mark termination does; join @a. */
static void th_end_mark(struct gcmem_heap *heap, struct assister *a,
			pthread_t tid)
{
	WRITE_ONCE(a->stop, 1);
	WRITE_ONCE(heap->phase, GCMEM_PHASE_MARKTERM);
	pthread_join(tid, NULL);
}

/* Publish @c as @heap's concurrent cycle, marking, as collect.c does. */
static void th_publish(struct gcmem_heap *heap, struct gcmem_cycle *c)
{
	c->concurrent = true;
	c->beside = true;
	WRITE_ONCE(heap->phase, GCMEM_PHASE_MARK);
	smp_store_release(&heap->cycle, c);
}

/* The roots greyed onto @c's lists, as a thread's stack scan leaves them. */
static void th_grey_roots(struct gcmem_cycle *c, u64 *roots, unsigned int n)
{
	struct gcmem_greyer g;

	gcmem_greyer_init(&g, c, GCMEM_OWNER_DRIVER);
	gcmem_mark_words(c, &g, roots, n, NULL, 0);
	gcmem_grey_flush(&g);
}

/*
 * The roots greyed onto the lists, then one assist alone (mark.c): it
 * drains all of it and waits, hungry, for more; the scanners that come
 * after find the mark over, the hungry helper holding nothing.
 */
TEST_F(host, assist_alone_marks_everything)
{
	struct gcmem_heap *heap = self->t.heap;
	struct assister a = { .heap = heap };
	pthread_t tid;

	th_cycle(&self->t, &self->c, 2);
	th_publish(heap, &self->c);
	th_grey_roots(&self->c, self->roots, ARRAY_SIZE(self->roots));
	ASSERT_EQ(0, pthread_create(&tid, NULL, assist_fn, &a));
	while (!atomic_read(&heap->hungry))
		usleep(100);
	EXPECT_EQ(0, READ_ONCE(self->c.work.nfull));
	host_mark(&self->c, 2);
	th_end_mark(heap, &a, tid);
	EXPECT_EQ(0, atomic_read(&heap->hungry));
	EXPECT_LT(0, atomic64_read(&heap->assist_marked));
	WRITE_ONCE(heap->cycle, NULL);
	ASSERT_FALSE(self->c.work.abandon);
	ASSERT_EQ(0, th_compare(&self->t, _metadata));
	gcmem_work_destroy(&self->c.work);
	ASSERT_EQ(0, atomic_read(&self->c.work.nbufs));
}

/*
 * An allocation's assist (mark.c, a budget from the pacer) scans about
 * what it owes, a multiple of GCMEM_DRAIN_CHECK, and leaves the rest on
 * the lists for the scanners after it; one that owes nothing scans
 * nothing. The drains count what they scanned; the marks are the same.
 */
TEST_F(host, assist_pays_its_debt_only)
{
	struct gcmem_heap *heap = self->t.heap;
	s64 scanned;

	th_cycle(&self->t, &self->c, 2);
	/* A cycle that takes proportional assists counts its scans. */
	self->c.assists = true;
	th_publish(heap, &self->c);
	th_grey_roots(&self->c, self->roots, ARRAY_SIZE(self->roots));
	host_assist_objs = 0;
	gcmem_mark_assist(heap, 4096, NULL);
	EXPECT_EQ(0, atomic64_read(&self->c.scanned));
	host_assist_objs = 40;
	gcmem_mark_assist(heap, 4096, NULL);
	scanned = atomic64_read(&self->c.scanned);
	EXPECT_EQ(64, scanned);
	host_assist_objs = 0;
	host_mark(&self->c, 2);
	WRITE_ONCE(heap->cycle, NULL);
	ASSERT_FALSE(self->c.work.abandon);
	ASSERT_EQ(0, th_compare(&self->t, _metadata));
	EXPECT_LT(scanned, atomic64_read(&self->c.scanned));
	gcmem_work_destroy(&self->c.work);
	ASSERT_EQ(0, atomic_read(&self->c.work.nbufs));
}

/*
 * Two scanners and a thread that assists them, all after the roots'
 * buffer: whoever takes it, the same marks, so the getfull barrier never
 * ended a mark while the helper held work that was on no list (TSan
 * watches the lists and the counters).
 */
TEST_F(host, mark_with_an_assist)
{
	struct gcmem_heap *heap = self->t.heap;
	struct assister a = { .heap = heap };
	pthread_t tid;

	for (int round = 0; round < 20; round++) {
		for (unsigned int k = 0; k < self->t.nspans; k++)
			bitmap_zero(self->t.spans[k]->markbits,
				    self->t.spans[k]->nelems);
		th_cycle(&self->t, &self->c, 2);
		th_publish(heap, &self->c);
		th_grey_roots(&self->c, self->roots, ARRAY_SIZE(self->roots));
		WRITE_ONCE(a.stop, 0);
		ASSERT_EQ(0, pthread_create(&tid, NULL, assist_fn, &a));
		host_mark(&self->c, 2);
		th_end_mark(heap, &a, tid);
		WRITE_ONCE(heap->cycle, NULL);
		WRITE_ONCE(heap->phase, GCMEM_PHASE_OFF);
		ASSERT_FALSE(self->c.work.abandon);
		ASSERT_EQ(0, self->c.work.nassist);
		ASSERT_EQ(0, atomic_read(&heap->assisting));
		ASSERT_EQ(0, th_compare(&self->t, _metadata))
			TH_LOG("round %d", round);
		gcmem_work_destroy(&self->c.work);
		ASSERT_EQ(0, atomic_read(&self->c.work.nbufs));
	}
	TH_LOG("%lld objects marked by the assists",
	       (long long)atomic64_read(&heap->assist_marked));
}

/*
 * Mark with the root's middle word unreadable (@mapped: a readable
 * mapping whose page cannot be had; else a hole): two scanners leave the
 * rest of the root to the driver, which reads it. Returns what
 * gcmem_mark_deferred() says: whether the mark completed.
 */
static bool th_mark_fault(struct th *t, struct gcmem_cycle *c, u64 *roots,
			  unsigned int n, bool mapped)
{
	th_cycle(t, c, 2);
	th_root_job(c, roots, n);
	host_fault_lo = (unsigned long)&roots[n / 2];
	host_fault_hi = host_fault_lo + 8;
	host_fault_mapped = mapped;
	host_mark(c, 2);
	if (c->work.abandon || list_empty(&c->deferred))
		return false;
	c->driver = host_current;
	return gcmem_mark_deferred(c);
}

/*
 * A root a scanner cannot read without a fault is left to the driver; if
 * the driver cannot read it either while something readable is mapped
 * there, the cycle is abandoned. Unmapped, the part is skipped and the
 * rest of the root still marks.
 */
TEST_F(host, unreadable_root_deferred_then_abandoned)
{
	EXPECT_FALSE(th_mark_fault(&self->t, &self->c, self->roots,
				   ARRAY_SIZE(self->roots), true));
	/* The workers deferred the word, the driver failed to read it. */
	EXPECT_NE(NULL, self->c.driver);
	EXPECT_TRUE(self->c.work.abandon);
	gcmem_deferred_free(&self->c);
	gcmem_work_destroy(&self->c.work);
}

TEST_F(host, unmapped_part_of_root_skipped)
{
	unsigned int n = ARRAY_SIZE(self->roots);

	ASSERT_TRUE(th_mark_fault(&self->t, &self->c, self->roots, n, false));
	/* The reference without the word that cannot be read. */
	self->roots[n / 2] = 0;
	th_reference(&self->t, self->roots, n);
	EXPECT_EQ(0, th_compare(&self->t, _metadata));
	gcmem_deferred_free(&self->c);
	gcmem_work_destroy(&self->c.work);
}

/*
 * A large object's reach (GCMEM_LARGE_IGNORE_OFF_PAGE): a pointer past its
 * first page does not mark it, one into the first page does.
 */
TEST_F(host, large_object_reach)
{
	struct gcmem_span *big = NULL;
	u64 root[1];

	for (unsigned int k = 0; k < self->t.nspans; k++)
		if (!self->t.spans[k]->size_class &&
		    self->t.spans[k]->npages > 1)
			big = self->t.spans[k];
	ASSERT_NE(NULL, big);
	big->reach = GCMEM_PAGE_SIZE;
	for (int inside = 0; inside < 2; inside++) {
		for (unsigned int k = 0; k < self->t.nspans; k++)
			bitmap_zero(self->t.spans[k]->markbits,
				    self->t.spans[k]->nelems);
		root[0] = ARENA + slot_off(big, 0) + GCMEM_PAGE_SIZE +
			  (inside ? -8 : 8);
		th_cycle(&self->t, &self->c, 1);
		th_root_job(&self->c, root, 1);
		host_mark(&self->c, 1);
		ASSERT_FALSE(self->c.work.abandon);
		EXPECT_EQ(inside, test_bit(0, big->markbits));
		gcmem_work_destroy(&self->c.work);
	}
}

/* No memory for a workbuf: the cycle is abandoned, nothing is leaked. */
TEST_F(host, no_workbuf_abandons)
{
	th_cycle(&self->t, &self->c, 1);
	th_root_job(&self->c, self->roots, ARRAY_SIZE(self->roots));
	host_kmalloc_fail = 1;
	host_mark(&self->c, 1);
	EXPECT_TRUE(self->c.work.abandon);
	gcmem_work_destroy(&self->c.work);
	EXPECT_EQ(0, atomic_read(&self->c.work.nbufs));
}

/* Sweep keeps what is marked, frees the rest, and counts both. */
TEST_F(host, sweep_follows_marks)
{
	u64 want_marked = 0;
	int empty = 0;

	th_cycle(&self->t, &self->c, 2);
	th_root_job(&self->c, self->roots, ARRAY_SIZE(self->roots));
	host_mark(&self->c, 2);
	ASSERT_EQ(0, th_compare(&self->t, _metadata));
	for (unsigned int k = 0; k < self->t.nspans; k++) {
		struct gcmem_span *s = self->t.spans[k];
		u32 kept = 0;

		for (u32 i = 0; i < s->nelems; i++)
			kept += self->t.reach[self->t.slot0[k] + i];
		want_marked += (u64)kept * s->elem_size;
		empty += !kept;
		s->nalloc = 0;
		for (u32 i = 0; i < s->nelems; i++)
			s->nalloc += test_bit(i, s->allocbits);
	}
	gcmem_sweep_start(self->t.heap, GCMEM_GC_USER);
	EXPECT_TRUE(self->t.heap->sweeping);
	EXPECT_TRUE(gcmem_sweep_some(self->t.heap, ULONG_MAX, true));
	EXPECT_FALSE(self->t.heap->sweeping);
	EXPECT_TRUE(list_empty(&self->t.heap->unswept));
	EXPECT_EQ(want_marked, self->t.heap->marked_bytes);
	EXPECT_EQ(empty, host_spans_freed);
	gcmem_work_destroy(&self->c.work);
}

/*
 * Sweeping a CACHED span (gcmem_sweep_start()), a word at a time, against
 * the rule slot by slot: below the cursor a slot is allocated if its alloc
 * bit is set or it is at or above the handout cursor; it stays allocated if
 * marked or just below the cursor; what is above the cursor is untouched.
 * Random bits, handout cursors and cursors (on and off word boundaries,
 * equal, at the span's end), for spans of several classes.
 */
TEST(sweep_cached_spans)
{
	static const unsigned int sizes[] = { 16, 32, 48, 96, 256, 1024 };
	struct gcmem_thread_slot slot = { 0 };
	struct gcmem_span *caches[GCMEM_THREAD_CACHES] = { NULL };
	struct gcmem_thread thr = { .slot = &slot, .caches = caches };
	u64 seed = 0x9e3779b97f4a7c15ULL;
	struct gcmem_heap *h;
	struct th t;

	th_init(&t);
	h = t.heap;
	ASSERT_TRUE(xa_store(&h->threads, 1, &thr, GFP_KERNEL) == NULL);
	for (int round = 0; round < 3000; round++) {
		u32 cls = gcmem_size_to_class(sizes[round % ARRAY_SIZE(sizes)]);
		struct gcmem_span *s = th_span(&t, cls, 0,
					       GCMEM_TYPE_CONSERVATIVE);
		u32 n = s->nelems, from, cursor, i, nalloc = 0, kept = 0;
		u32 gained = 0, lost = 0, nfreed = 0, bad = 0;
		u64 allocated = h->small_allocated;
		bool want[GCMEM_MAX_NELEMS];

		from = xr(&seed) % (n + 1);
		cursor = from + xr(&seed) % (n - from + 1);
		if (round % 7 == 0)
			cursor = from;
		if (round % 11 == 0)
			cursor = n;
		for (i = 0; i < n; i++) {
			if (xr(&seed) % 3 && (i < from || round % 5 == 0))
				__set_bit(i, s->allocbits);
			if (xr(&seed) % 2)
				__set_bit(i, s->markbits);
			nalloc += test_bit(i, s->allocbits);
		}
		/* The rule, slot by slot. */
		for (i = 0; i < n; i++) {
			bool was = test_bit(i, s->allocbits);
			bool in = i < cursor && (was || i >= from);
			bool keep = in && (test_bit(i, s->markbits) ||
					   i == cursor - 1);

			want[i] = i >= cursor ? was : keep;
			kept += keep;
			gained += keep && !was;
			lost += in && !keep && was;
			nfreed += in && !keep;
		}
		s->nalloc = nalloc;
		s->state = GCMEM_SPAN_CACHED;
		s->handout_cursor = from;
		s->owner = &thr;
		s->cache_index = 0;
		slot.cursor[0] = cursor;
		caches[0] = s;
		gcmem_sweep_start(h, GCMEM_GC_USER);
		for (i = 0; i < n; i++)
			bad += want[i] != test_bit(i, s->allocbits) ||
			       test_bit(i, s->markbits);
		EXPECT_EQ(0, bad)
			TH_LOG("class %u, handout %u, cursor %u", cls, from,
			       cursor);
		EXPECT_EQ(nalloc + gained - lost, s->nalloc);
		EXPECT_EQ(cursor, s->handout_cursor);
		EXPECT_EQ(allocated + gained + nfreed - lost,
			  h->small_allocated);
		EXPECT_EQ((u64)kept * s->elem_size, h->sweep_marked);
		EXPECT_EQ(kept, h->sweep_marked_objs);
		EXPECT_EQ((u64)nfreed * s->elem_size, h->sweep_freed);
		EXPECT_EQ(!!nfreed, s->needzero);
		/* Only this span: the sweep ends with it. */
		EXPECT_TRUE(gcmem_sweep_some(h, ULONG_MAX, true));
		caches[0] = NULL;
		list_del(&s->node);
		free(s);
		t.nspans = 0;
		t.next_page = 0;
	}
	xa_erase(&h->threads, 1);
	th_free(&t);
}

/*
 * The workbuf lists under contention: scanners take buffers, "scan" each
 * object by greying its two children in a tree of ids, share halves with
 * idle ones, and stop at the getfull barrier; every id is seen once.
 */
#define TREE	200000
static unsigned char seen[TREE];

struct hammer {
	struct gcmem_work *work;
	int owner;
	long dup;
};

static void *hammer_fn(void *arg)
{
	struct hammer *h = arg;
	struct gcmem_greyer g = { .work = h->work, .owner = h->owner };
	struct gcmem_workbuf *b;
	unsigned int n = 0;

	for (;;) {
		b = g.wbuf;
		if (!b || !b->nobj) {
			if (b)
				gcmem_work_putempty(h->work, b);
			g.wbuf = b = gcmem_work_getfull(h->work, h->owner);
			if (!b)
				break;
		}
		u64 id = b->obj[--b->nobj];

		if (__atomic_exchange_n(&seen[id], 1, __ATOMIC_RELAXED))
			h->dup++;
		for (u64 c = 2 * id + 1; c <= 2 * id + 2 && c < TREE; c++)
			gcmem_grey_push(&g, c);
		if (++n % 16 == 0)
			gcmem_work_balance(h->work, g.wbuf, h->owner);
	}
	gcmem_grey_flush(&g);
	return NULL;
}

TEST(workbufs_hammered)
{
	struct gcmem_work work;
	struct hammer h[4];
	pthread_t tid[4];
	struct gcmem_greyer g;
	long dup = 0, missing = 0;

	memset(seen, 0, sizeof(seen));
	gcmem_work_init(&work, 4, true);
	g = (struct gcmem_greyer){ .work = &work, .owner = 99 };
	gcmem_grey_push(&g, 0);
	gcmem_grey_flush(&g);
	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){ .work = &work, .owner = i };
		pthread_create(&tid[i], NULL, hammer_fn, &h[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		dup += h[i].dup;
	}
	for (int i = 0; i < TREE; i++)
		missing += !seen[i];
	EXPECT_EQ(0, dup);
	EXPECT_EQ(0, missing);
	EXPECT_FALSE(work.abandon);
	gcmem_work_destroy(&work);
	EXPECT_EQ(0, atomic_read(&work.nbufs));
}

TEST_HARNESS_MAIN
