// SPDX-License-Identifier: GPL-2.0
/*
 * The rest of the module, as far as kmod/'s pure-logic files need it in
 * user space (see host_module.h and shim.h).
 */
#include "host_module.h"

/* --- the shims' state -------------------------------------------------- */

int host_kmalloc_fail;
__thread struct task_struct *host_current;
unsigned long host_fault_lo, host_fault_hi;
bool host_fault_mapped;
struct task_struct host_tasks[HOST_MAX_SCANNERS + 1];
static struct vm_area_struct host_vma;

/*
 * The address space: everything is mapped and readable but the range the
 * test made fault, which is either a readable mapping whose pages cannot
 * be had (host_fault_mapped) or a hole.
 */
struct vm_area_struct *find_vma(struct mm_struct *mm, unsigned long addr)
{
	host_vma.vm_flags = VM_READ;
	if (addr < host_fault_lo) {
		host_vma.vm_start = 0;
		host_vma.vm_end = host_fault_lo;
	} else if (addr < host_fault_hi && host_fault_mapped) {
		host_vma.vm_start = host_fault_lo;
		host_vma.vm_end = host_fault_hi;
	} else {
		host_vma.vm_start = host_fault_hi;
		host_vma.vm_end = ~0UL;
	}
	return &host_vma;
}

/* --- what the rest of the module provides ------------------------------- */

/*
 * Weak: kmod/alloc.c defines these, and the native allocation benchmark
 * (bench/host/standin.c) links it.
 */
#define HOST_ALLOC_C	__attribute__((weak))

bool gcmem_debug = true;
struct gcmem_type *host_types[8];
struct list_head host_central;
int host_spans_freed;

/* No thread is registered here: none is ever asked for a ragged scan. */
bool gcmem_ragged_wanted(struct gcmem_heap *heap, struct gcmem_thread *t)
{
	return false;
}

int gcmem_type_lookup(struct gcmem_heap *heap, u32 id,
		      const struct gcmem_type **type)
{
	*type = NULL;
	if (id == GCMEM_TYPE_CONSERVATIVE || id == GCMEM_TYPE_NOSCAN)
		return 0;
	if (id >= ARRAY_SIZE(host_types) || !host_types[id])
		return -ENOENT;
	*type = host_types[id];
	return 0;
}

/* A host heap has no cached spans. */
HOST_ALLOC_C bool gcmem_span_cached_allocated(const struct gcmem_span *span,
					  u32 idx)
{
	return false;
}

/* As alloc.c's: the owner's cursor, clamped (host_test.c's cached spans). */
HOST_ALLOC_C u32 gcmem_span_cursor(const struct gcmem_span *span)
{
	u32 cursor;

	if (!span->owner)
		return span->handout_cursor;
	cursor = READ_ONCE(span->owner->slot->cursor[span->cache_index]);
	return clamp(cursor, span->handout_cursor, span->nelems);
}

HOST_ALLOC_C struct list_head *gcmem_central(struct gcmem_heap *heap,
					    u32 size_class, u32 type_id,
					    bool create)
{
	return &host_central;
}

HOST_ALLOC_C void gcmem_span_free(struct gcmem_heap *heap,
				  struct gcmem_span *span)
{
	for (unsigned long i = span->page; i < span->page + span->npages; i++)
		gcmem_chunk_of(heap, (u64)i << GCMEM_PAGE_SHIFT)
			->spans[i % GCMEM_CHUNK_PAGES] = NULL;
	list_del(&span->node);
	list_del(&span->central);
	free(span);
	host_spans_freed++;
}

/* The sweep's end: pacing and chunk release are heap.c's and pace.c's. */
void gcmem_pace(struct gcmem_heap *heap, u64 live)
{
	heap->trigger = 2 * live;
}

/* What a pacer's sweep keeps: its trigger, as a stop-the-world heap's. */
u64 gcmem_pace_keep(struct gcmem_heap *heap)
{
	return heap->trigger;
}

/* What an assist owes is pace.c's: here, what the test says. */
u64 host_assist_objs;

u64 gcmem_pace_assist_objs(struct gcmem_heap *heap, struct gcmem_cycle *c,
			   u64 bytes)
{
	return host_assist_objs;
}

void gcmem_chunks_reserve_empty(struct gcmem_heap *heap, u64 keep)
{
}

void gcmem_chunks_release(struct gcmem_heap *heap)
{
}

/* --- a cycle's mark ------------------------------------------------------ */

/* A cycle of @heap with @nproc scanners, as collect.c starts one. */
void host_cycle_init(struct gcmem_cycle *c, struct gcmem_heap *heap,
		     int nproc, bool debug)
{
	memset(c, 0, sizeof(*c));
	c->heap = heap;
	gcmem_work_init(&c->work, nproc, debug);
	c->work.hungry = &heap->hungry;
	spin_lock_init(&c->deferred_lock);
	INIT_LIST_HEAD(&c->deferred);
}

struct host_worker {
	struct gcmem_cycle *c;
	int owner;
	unsigned long long waited;
};

/* The calling thread's time runnable but not running (ns), or 0. */
static unsigned long long host_run_delay(void)
{
	unsigned long long run = 0, delay = 0;
	FILE *f = fopen("/proc/thread-self/schedstat", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &run, &delay) != 2)
		delay = 0;
	fclose(f);
	return delay;
}

static void *host_worker_fn(void *arg)
{
	struct host_worker *w = arg;

	host_current = &host_tasks[w->owner];
	w->waited = host_run_delay();
	gcmem_mark_worker(w->c, w->owner);
	w->waited = host_run_delay() - w->waited;
	return NULL;
}

unsigned long long host_mark_waited;

/* Post the cycle to @n threads, as worker.c does to its kthreads. */
void host_mark(struct gcmem_cycle *c, int n)
{
	pthread_t tid[HOST_MAX_SCANNERS];
	struct host_worker w[HOST_MAX_SCANNERS];

	if (n < 1 || n > HOST_MAX_SCANNERS)
		abort();
	for (int i = 0; i < n; i++) {
		w[i].c = c;
		w[i].owner = i;
		pthread_create(&tid[i], NULL, host_worker_fn, &w[i]);
	}
	host_mark_waited = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(tid[i], NULL);
		host_mark_waited += w[i].waited;
	}
}
