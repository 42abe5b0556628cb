// SPDX-License-Identifier: GPL-2.0
/*
 * Observability: per-heap statistics in debugfs and the tracepoints.
 *
 * Each heap has /sys/kernel/debug/gcmem/<tgid>.<n>/stats, the same counters
 * as GCMEM_IOC_STATS in text. The tracepoints (trace.h) mark the start and
 * end of every cycle and of its pause.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "gcmem.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

static struct dentry *gcmem_debugfs_root;
static atomic_t gcmem_heap_seq = ATOMIC_INIT(0);

static int gcmem_stats_show(struct seq_file *m, void *v)
{
	struct gcmem_heap *heap = m->private;
	struct gcmem_stats *st;
	unsigned int i;
	int ret;

	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return -ENOMEM;
	ret = gcmem_heap_lock(heap);
	if (ret)
		goto out;
	gcmem_heap_stats(heap, st);
	gcmem_heap_unlock(heap);

	seq_printf(m, "committed %llu\npeak_committed %llu\nlimit %llu\n",
		   st->committed, st->peak_committed, st->limit);
	seq_printf(m, "inuse_bytes %llu\nspans %llu\nrefills %llu\n",
		   st->inuse_bytes, st->spans, st->refills);
	seq_printf(m, "large_objects %llu\nsmall_allocated %llu\n",
		   st->large_objects, st->small_allocated);
	seq_printf(m, "threads %u\ntypes %u\nroots %u\n", st->threads,
		   st->types, st->roots);
	seq_printf(m, "cycles %llu\nabandoned %llu\nforced_stops %llu\n",
		   st->cycles, st->abandoned, st->forced_stops);
	seq_printf(m, "pause_total_ns %llu\npause_max_ns %llu\n",
		   st->pause_total_ns, st->pause_max_ns);
	seq_printf(m, "marked_bytes %llu\nheap_before %llu\nheap_after %llu\n",
		   st->marked_bytes, st->heap_before, st->heap_after);
	seq_printf(m, "freed_bytes %llu\nworker_ns %llu\ncheckmark_failures %llu\n",
		   st->freed_bytes, st->worker_ns, st->checkmark_failures);
	seq_printf(m, "stop_total_ns %llu\nmark_total_ns %llu\nsweep_total_ns %llu\n",
		   st->stop_total_ns, st->mark_total_ns, st->sweep_total_ns);
	seq_printf(m, "concurrent_sweep_ns %llu\n", st->concurrent_sweep_ns);
	seq_printf(m, "split_chunks %llu\n", st->split_chunks);
	seq_printf(m, "assist_marked %llu\n", st->assist_marked);
	seq_printf(m, "wait_ns %llu\nwaits %llu\n", st->wait_ns, st->waits);
	seq_printf(m, "alone_marks %llu\nalone_handovers %llu\n",
		   st->alone_marks, st->alone_handovers);
	seq_printf(m, "markterm_total_ns %llu\nmarkterm_stop_ns %llu\nmarkterm_rescan_ns %llu\n",
		   st->markterm_total_ns, st->markterm_stop_ns,
		   st->markterm_rescan_ns);
	seq_puts(m, "pause_hist_us");
	for (i = 0; i < GCMEM_PAUSE_BUCKETS; i++)
		seq_printf(m, " %llu", st->pause_hist[i]);
	seq_putc(m, '\n');
out:
	kfree(st);
	return ret;
}
DEFINE_SHOW_ATTRIBUTE(gcmem_stats);

void gcmem_heap_debugfs_add(struct gcmem_heap *heap)
{
	char name[32];

	if (IS_ERR_OR_NULL(gcmem_debugfs_root))
		return;
	snprintf(name, sizeof(name), "%d.%d", task_tgid_nr(current),
		 atomic_inc_return(&gcmem_heap_seq));
	heap->debugfs = debugfs_create_dir(name, gcmem_debugfs_root);
	debugfs_create_file("stats", 0400, heap->debugfs, heap,
			    &gcmem_stats_fops);
	gcmem_track_debugfs_add(heap, heap->debugfs);
}

/* Waits for readers in progress: called before the heap is freed. */
void gcmem_heap_debugfs_remove(struct gcmem_heap *heap)
{
	debugfs_remove(heap->debugfs);
}

void gcmem_debugfs_init(void)
{
	gcmem_debugfs_root = debugfs_create_dir("gcmem", NULL);
}

void gcmem_debugfs_exit(void)
{
	debugfs_remove(gcmem_debugfs_root);
}
