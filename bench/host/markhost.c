// SPDX-License-Identifier: GPL-2.0
/*
 * The module's own mark loop, natively: kmod/mark.c, work.c, bitmap.c and
 * sizeclass.c, unchanged, compiled in user space against the host shims
 * (selftests/host/), marking a heap laid out as the module lays it out —
 * 2 MiB chunks, 8 KiB pages, spans, the span table, pointer bits — in
 * ordinary memory, on transparent huge pages or on 4 KiB pages. Under QEMU's
 * TCG a load costs the same whether or not others are in flight, so what a
 * mark loop does for the memory system can only be seen here. Not a test:
 * `make bench-host` runs it (bench/host/run.sh).
 *
 *   markhost mark  [-m MIB] [-g SHAPE] [-l LISTS] [-w 1,2] [-c N] [-p thp|4k]
 *   markhost chase [-m MIB] [-p thp|4k]
 *
 * mark: builds the graph, then marks it N times (default 5) with each
 * worker count, the workers being threads that run gcmem_mark_worker() as
 * worker.c's kthreads do, from one root range holding the graph's roots.
 * Every run's marks are counted against the objects the graph holds.
 * Shapes (all of 64-byte objects but the large ones, placed in the order
 * of a seeded random permutation, so that each pointer chase lands
 * somewhere else in the heap):
 *   lists  LISTS lists of equal length (bench/markbench.c's graph)
 *   tree   a complete binary tree, the children in words 0 and 1
 *   array  one large array of pointers to every other object, which
 *          hold no pointers
 *   large  64 KiB objects whose every word points to the start of a
 *          random one (word 0 to the next: all reachable)
 * Output, one line per worker count:
 *   MARKHOST shape=S pages=P mib=M objects=N workers=W ms=T ns_obj=X
 *            ns_word=Y mibs=Z share=S rerun=R ok
 * with the median of the runs (T, and X, Y, Z from it). A run during which
 * the workers had less than MIN_SHARE of their CPUs measured the machine's
 * other load, not the mark: it is run again, up to N more times in all
 * (R; S is the least share of the runs kept). What they did not have: the
 * time they were runnable but not running (/proc/thread-self/schedstat:
 * another task had the CPU) and the time the hypervisor took the machine's
 * CPUs (steal in /proc/stat, in ticks: this is a virtual machine, and a
 * vCPU taken away leaves a worker on a CPU that does not run), against
 * workers x wall time.
 *
 * chase: the memory system's limits on the same memory: MIB of 64-byte
 * nodes in one random cycle, followed by one chain (a dependent load at a
 * time), by 8 chains at once (eight misses in flight), and by 8 chains on
 * each of two threads (K = 8x2; X the wall time over both threads' loads):
 *   CHASE pages=P mib=M chains=K ns_load=X
 */
#include <getopt.h>
#include <sys/mman.h>
#include <time.h>

#include "../../selftests/host/host_module.h"

#define ARENA		(1ULL << 44)	/* made up: never dereferenced */
#define OBJ		64
#define LARGE		(64 << 10)
#define MAX_RUNS	32
#define MIN_SHARE	0.9

static const char *opt_shape = "lists";
static unsigned long opt_mib = 256, opt_lists = 1024;
static int opt_workers[HOST_MAX_SCANNERS] = { 1, 2 }, opt_nworkers = 2;
static int opt_runs = 5;
static bool opt_4k;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Seconds the hypervisor took from this machine's CPUs (/proc/stat). */
static double steal_now(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
		v[7] = 0;
	fclose(f);
	return (double)v[7] / sysconf(_SC_CLK_TCK);
}

static u64 mix64(u64 z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static u64 rnd(u64 *s)
{
	return mix64(*s += 0x9e3779b97f4a7c15ULL);
}

static u32 *permutation(u64 n, u64 seed)
{
	u32 *p = malloc(n * sizeof(*p));

	if (!p)
		abort();
	for (u64 i = 0; i < n; i++)
		p[i] = i;
	for (u64 i = n - 1; i > 0; i--) {
		u64 j = rnd(&seed) % (i + 1);
		u32 t = p[i];

		p[i] = p[j];
		p[j] = t;
	}
	return p;
}

/* @bytes of memory on huge pages or on 4 KiB pages, 2 MiB aligned, zero. */
static char *region(u64 bytes)
{
	u64 len = bytes + GCMEM_CHUNK_SIZE;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	p = (char *)ALIGN((unsigned long)p, GCMEM_CHUNK_SIZE);
	madvise(p, bytes, opt_4k ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
	return p;
}

/* --- the heap -------------------------------------------------------------- */

struct hheap {
	struct gcmem_heap *heap;
	char *mem;
	unsigned long next_page, npages;
	struct gcmem_span **spans;
	unsigned long nspans;
};

static void hheap_init(struct hheap *h, u64 bytes)
{
	unsigned long nchunks = DIV_ROUND_UP(bytes, GCMEM_CHUNK_SIZE);
	struct gcmem_heap *heap = calloc(1, sizeof(*heap));

	h->heap = heap;
	h->mem = region(nchunks * GCMEM_CHUNK_SIZE);
	h->npages = nchunks * GCMEM_CHUNK_PAGES;
	h->spans = calloc(h->npages, sizeof(*h->spans));
	heap->arena_start = ARENA;
	heap->arena_size = nchunks * GCMEM_CHUNK_SIZE;
	heap->chunk_tab = calloc(nchunks, sizeof(*heap->chunk_tab));
	INIT_LIST_HEAD(&heap->spans);
	INIT_LIST_HEAD(&heap->unswept);
	INIT_LIST_HEAD(&host_central);
	for (unsigned long i = 0; i < nchunks; i++) {
		struct gcmem_chunk *c = calloc(1, sizeof(*c));

		c->base = h->mem + i * GCMEM_CHUNK_SIZE;
		c->index = i;
		heap->chunk_tab[i] = c;
	}
	heap->chunks_hi = nchunks;
}

/*
 * A span as alloc.c carves it, every slot allocated: @cls a small class, or
 * 0 for one large object of @npages. NULL when the heap is full.
 */
static struct gcmem_span *hheap_span(struct hheap *h, u32 cls,
				     unsigned long npages)
{
	struct gcmem_heap *heap = h->heap;
	u32 nelems = cls ? gcmem_class_nelems[cls] : 1;
	unsigned long words = BITS_TO_LONGS(nelems);
	struct gcmem_span *span;

	if (cls)
		npages = gcmem_class_npages[cls];
	if (h->next_page + npages > h->npages)
		return NULL;
	/* Cache-line aligned, as the kernel's kmalloc() sizes for it are. */
	span = aligned_alloc(64, ALIGN(struct_size(span, bits, 3 * words), 64));
	memset(span, 0, struct_size(span, bits, 3 * words));
	span->page = h->next_page;
	h->next_page += npages;
	span->npages = npages;
	span->size_class = cls;
	span->elem_size = cls ? gcmem_class_size[cls] :
				npages * GCMEM_PAGE_SIZE;
	span->div_mul = gcmem_class_divmul[cls];
	span->nelems = nelems;
	span->reach = span->elem_size;
	span->type_id = GCMEM_TYPE_CONSERVATIVE;
	span->state = cls ? GCMEM_SPAN_FULL : GCMEM_SPAN_LARGE;
	span->allocbits = span->bits;
	span->markbits = span->bits + words;
	span->checkbits = span->bits + 2 * words;
	bitmap_set(span->allocbits, 0, nelems);
	INIT_LIST_HEAD(&span->central);
	span->home = cls ? &host_central : NULL;
	list_add_tail(&span->node, &heap->spans);
	for (unsigned long i = span->page; i < span->page + npages; i++)
		gcmem_chunk_of(heap, (u64)i << GCMEM_PAGE_SHIFT)
			->spans[i % GCMEM_CHUNK_PAGES] = span;
	gcmem_span_set_ptrbits(heap, span, NULL);
	h->spans[h->nspans++] = span;
	return span;
}

static u64 *hheap_word(struct hheap *h, u64 off)
{
	return (u64 *)(h->mem + off);
}

static u64 marked(struct hheap *h)
{
	u64 n = 0;

	for (unsigned long k = 0; k < h->nspans; k++) {
		struct gcmem_span *s = h->spans[k];

		for (u32 i = 0; i < s->nelems; i++)
			n += test_bit(i, s->markbits);
	}
	return n;
}

static void unmark(struct hheap *h)
{
	for (unsigned long k = 0; k < h->nspans; k++)
		bitmap_zero(h->spans[k]->markbits, h->spans[k]->nelems);
}

/* --- the graphs ------------------------------------------------------------ */

struct graph {
	struct hheap h;
	u64 *roots;
	unsigned long nroots;
	u64 objects;		/* reachable, all of them */
	u64 bytes;		/* their size */
};

/* @n objects of class @cls filling spans from the heap's next page. */
static u64 small_objects(struct hheap *h, u64 n, u32 cls)
{
	u64 first = (u64)h->next_page << GCMEM_PAGE_SHIFT, made = 0;

	while (made < n) {
		struct gcmem_span *s = hheap_span(h, cls, 0);

		if (!s)
			abort();
		/* Spans of a class tile their pages: the slots are dense. */
		made += s->nelems;
	}
	return first;
}

static void payload(u64 *o, u64 id, int from)
{
	for (int j = from; j < OBJ / 8; j++)
		o[j] = mix64(id * 8 + j) | 1ULL << 63;	/* never in the arena */
}

static void build(struct graph *g)
{
	u64 bytes = (u64)opt_mib << 20, n, base, slot, *o;
	u32 cls = gcmem_size_to_class(OBJ), *perm;
	struct hheap *h = &g->h;

	if (gcmem_class_size[cls] != OBJ)
		abort();
	if (!strcmp(opt_shape, "large")) {
		n = bytes / LARGE;
		hheap_init(h, n * LARGE);
		perm = permutation(n, 7);
		for (u64 i = 0; i < n; i++)
			hheap_span(h, 0, LARGE / GCMEM_PAGE_SIZE);
		for (u64 i = 0; i < n; i++) {
			u64 seed = i;

			o = hheap_word(h, (u64)perm[i] * LARGE);
			o[0] = ARENA + (u64)perm[(i + 1) % n] * LARGE;
			for (u64 j = 1; j < LARGE / 8; j++)
				o[j] = ARENA + rnd(&seed) % n * LARGE;
		}
		g->objects = n;
		g->bytes = n * LARGE;
		g->nroots = 1;
		g->roots = calloc(1, 8);
		g->roots[0] = ARENA + (u64)perm[0] * LARGE;
		free(perm);
		return;
	}
	if (!strcmp(opt_shape, "array")) {
		/* n objects and the array of their n pointers. */
		u64 abytes;

		n = bytes / (OBJ + 8);
		abytes = ALIGN(n * 8, GCMEM_PAGE_SIZE);
		hheap_init(h, abytes + ALIGN(n * OBJ, GCMEM_CHUNK_SIZE) +
			      GCMEM_CHUNK_SIZE);
		hheap_span(h, 0, abytes / GCMEM_PAGE_SIZE);
		base = small_objects(h, n, cls);
		perm = permutation(n, 7);
		for (u64 i = 0; i < n; i++) {
			*hheap_word(h, i * 8) = ARENA + base + (u64)perm[i] * OBJ;
			payload(hheap_word(h, base + i * OBJ), i, 0);
		}
		g->objects = n + 1;
		g->bytes = abytes + n * OBJ;
		g->nroots = 1;
		g->roots = calloc(1, 8);
		g->roots[0] = ARENA;
		free(perm);
		return;
	}

	n = bytes / OBJ;
	hheap_init(h, ALIGN(bytes, GCMEM_CHUNK_SIZE) + GCMEM_CHUNK_SIZE);
	base = small_objects(h, n, cls);
	perm = permutation(n, 0x6763626d61726bULL);
	g->objects = n;
	g->bytes = n * OBJ;
#define ADDR(i)	(ARENA + base + (u64)perm[i] * OBJ)
	if (!strcmp(opt_shape, "tree")) {
		for (u64 i = 0; i < n; i++) {
			o = hheap_word(h, base + (u64)perm[i] * OBJ);
			o[0] = 2 * i + 1 < n ? ADDR(2 * i + 1) : 0;
			o[1] = 2 * i + 2 < n ? ADDR(2 * i + 2) : 0;
			payload(o, i, 2);
		}
		g->nroots = 1;
		g->roots = calloc(1, 8);
		g->roots[0] = ADDR(0);
	} else if (!strcmp(opt_shape, "lists")) {
		u64 len = n / opt_lists;

		if (!opt_lists || n % opt_lists)
			abort();
		g->nroots = opt_lists;
		g->roots = calloc(opt_lists, 8);
		for (u64 l = 0; l < opt_lists; l++) {
			g->roots[l] = ADDR(l * len);
			for (u64 j = 0; j < len; j++) {
				slot = l * len + j;
				o = hheap_word(h, base + (u64)perm[slot] * OBJ);
				o[0] = j + 1 < len ? ADDR(slot + 1) : 0;
				payload(o, slot, 1);
			}
		}
	} else {
		fprintf(stderr, "unknown shape %s\n", opt_shape);
		exit(2);
	}
#undef ADDR
	free(perm);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int mark(void)
{
	struct graph g = { 0 };
	struct gcmem_root_job job;
	struct gcmem_cycle c;
	double t[MAX_RUNS];
	int bad = 0;

	build(&g);
	for (int k = 0; k < opt_nworkers; k++) {
		int w = opt_workers[k], rerun = 0;
		double ms, share, steal, least = 1;

		for (int r = 0; r < opt_runs; r++) {
			unmark(&g.h);
			host_cycle_init(&c, g.h.heap, w, false);
			memset(&job, 0, sizeof(job));
			job.start = (unsigned long)g.roots;
			job.end = (unsigned long)(g.roots + g.nroots);
			job.type_id = GCMEM_TYPE_CONSERVATIVE;
			c.jobs = &job;
			c.njobs = 1;
			steal = steal_now();
			t[r] = now();
			host_mark(&c, w);
			t[r] = now() - t[r];
			steal = steal_now() - steal;
			share = 1 - (host_mark_waited / 1e9 + steal) / (w * t[r]);
			gcmem_work_destroy(&c.work);
			if (c.work.abandon || marked(&g.h) != g.objects) {
				fprintf(stderr,
					"markhost: %s, %d workers: %llu marked of %llu%s\n",
					opt_shape, w, marked(&g.h), g.objects,
					c.work.abandon ? " (abandoned)" : "");
				bad = 1;
			}
			if (share < MIN_SHARE && rerun < opt_runs) {
				rerun++;
				r--;
				continue;
			}
			least = share < least ? share : least;
		}
		qsort(t, opt_runs, sizeof(t[0]), cmp_double);
		ms = t[opt_runs / 2] * 1e3;
		printf("MARKHOST shape=%s pages=%s mib=%.1f objects=%llu workers=%d ms=%.2f ns_obj=%.2f ns_word=%.3f mibs=%.1f share=%.2f rerun=%d %s\n",
		       opt_shape, opt_4k ? "4k" : "thp", g.bytes / 1048576.0,
		       g.objects, w, ms, ms * 1e6 / g.objects,
		       ms * 1e6 / (g.bytes / 8), g.bytes / 1048576.0 / (ms / 1e3),
		       least, rerun, bad ? "FAILED" : "ok");
		fflush(stdout);
	}
	return bad;
}

/* --- the memory system's limits ------------------------------------------- */

static volatile u64 sink;	/* keeps the chases' results alive */

struct chaser {
	u64 *p[8];
	u64 steps;
	pthread_t tid;
};

/* Follow 8 chains at once, @c->steps loads in all. */
static void *chase8(void *arg)
{
	struct chaser *c = arg;

	for (u64 s = 0; s < c->steps / 8; s++)
		for (int j = 0; j < 8; j++)
			c->p[j] = (u64 *)*c->p[j];
	for (int j = 0; j < 8; j++)
		sink ^= (u64)c->p[j];
	return NULL;
}

static int chase(void)
{
	u64 n = ((u64)opt_mib << 20) / OBJ, *p[8], steps = 1 << 22;
	char *mem = region(n * OBJ);
	u32 *perm = permutation(n, 11);
	static const int chains[] = { 1, 8 };
	struct chaser two[2];
	double t;

	/* One cycle through every node, in random order. */
	for (u64 i = 0; i < n; i++)
		*(u64 *)(mem + (u64)perm[i] * OBJ) =
			(u64)(mem + (u64)perm[(i + 1) % n] * OBJ);
	for (size_t k = 0; k < ARRAY_SIZE(chains); k++) {
		int m = chains[k];
		double t;

		for (int j = 0; j < m; j++)
			p[j] = (u64 *)(mem + (u64)perm[j * (n / m)] * OBJ);
		t = now();
		for (u64 s = 0; s < steps / m; s++)
			for (int j = 0; j < m; j++)
				p[j] = (u64 *)*p[j];
		t = now() - t;
		for (int j = 0; j < m; j++)
			sink ^= (u64)p[j];
		printf("CHASE pages=%s mib=%lu chains=%d ns_load=%.2f\n",
		       opt_4k ? "4k" : "thp", opt_mib, m,
		       t * 1e9 / (steps / m * m));
	}
	/*
	 * 8 chains on each of 2 threads: what two workers can have in flight
	 * on this machine now (a virtual machine's two vCPUs may share a
	 * core, or lose one, for a while), the wall time per load of both.
	 */
	for (int k = 0; k < 2; k++) {
		two[k].steps = steps;
		for (int j = 0; j < 8; j++)
			two[k].p[j] = (u64 *)(mem + (u64)perm[(k * 8 + j) *
							(n / 16)] * OBJ);
	}
	t = now();
	for (int k = 0; k < 2; k++)
		pthread_create(&two[k].tid, NULL, chase8, &two[k]);
	for (int k = 0; k < 2; k++)
		pthread_join(two[k].tid, NULL);
	t = now() - t;
	printf("CHASE pages=%s mib=%lu chains=8x2 ns_load=%.2f\n",
	       opt_4k ? "4k" : "thp", opt_mib, t * 1e9 / (2 * steps));
	free(perm);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	int ch;

	optind = 2;
	while ((ch = getopt(argc, argv, "m:g:l:w:c:p:")) != -1) {
		switch (ch) {
		case 'm':
			opt_mib = strtoul(optarg, NULL, 0);
			break;
		case 'g':
			opt_shape = optarg;
			break;
		case 'l':
			opt_lists = strtoul(optarg, NULL, 0);
			break;
		case 'w':
			opt_nworkers = 0;
			for (char *s = strtok(optarg, ","); s &&
			     opt_nworkers < HOST_MAX_SCANNERS; s = strtok(NULL, ","))
				opt_workers[opt_nworkers++] =
					clamp(atoi(s), 1, HOST_MAX_SCANNERS);
			break;
		case 'c':
			opt_runs = clamp(atoi(optarg), 1, MAX_RUNS);
			break;
		case 'p':
			opt_4k = !strcmp(optarg, "4k");
			break;
		default:
			goto usage;
		}
	}
	gcmem_sizeclass_init();
	gcmem_debug = false;
	host_current = &host_tasks[HOST_MAX_SCANNERS];
	if (!strcmp(cmd, "mark"))
		return mark();
	if (!strcmp(cmd, "chase"))
		return chase();
usage:
	fprintf(stderr, "usage: %s mark|chase [-m MIB] [-g lists|tree|array|large] [-l LISTS] [-w 1,2] [-c RUNS] [-p thp|4k]\n",
		argv[0]);
	return 2;
}
