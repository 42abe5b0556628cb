// SPDX-License-Identifier: GPL-2.0
/*
 * Write tracking: which chunks of the arena the process wrote since the
 * tracking was armed, or since the last harvest. It is how a concurrent
 * mark will find the objects the program changed behind it without a
 * write barrier in the program (../shared/CONCURRENT-NOTES.md); for now it
 * is armed and harvested only through debugfs (track_test), to measure it
 * and prove it on both kernels before the collector relies on it.
 *
 * A tracked chunk (@wp) is mapped read-only, like a chunk a fork shares
 * (cow.c). The first write to it faults: ->fault or ->huge_fault with
 * FAULT_FLAG_WRITE where nothing is mapped, ->pfn_mkwrite on a read-only
 * PTE (6.1's 4 KiB mappings), ->huge_fault on a read-only PMD (6.12). The
 * fault, under chunk_lock, sets @written and clears @wp before the chunk
 * is mapped writable: from then on its writes cost nothing. Writes the
 * kernel makes for the process (read() into the heap, copy_to_user) take
 * the same faults; writes through the kernel's direct map (the collector's
 * own zeroing, ->access for a debugger) are not tracked.
 *
 * A harvest, under mmap_lock (read) and chunk_lock, first zaps the mapping
 * of every written chunk — no CPU can write it again without faulting —
 * and only then moves @written into its result and sets @wp again. So
 * every write is seen by the harvest that follows it or by the next one:
 * the fault that allowed it set @written first, and a harvest clears
 * @written only after revoking the mapping the write went through.
 *
 * Granularity: a chunk (2 MiB), the unit of the arena's mappings on both
 * kernels (one PMD on 6.12; 512 PTEs mapped by one fault on 6.1), so a
 * chunk costs one write fault per harvest however many of its pages are
 * written.
 *
 * Locks: heap->lock (arming and harvesting are heap operations), then
 * mmap_lock (read), then chunk_lock, as everywhere (gcmem.h).
 */
#include <linux/bitmap.h>
#include <linux/debugfs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "gcmem.h"

/* Every chunk, and every chunk faulted in later, is tracked. */
static void gcmem_track_arm_locked(struct gcmem_heap *heap,
				   struct vm_area_struct *vma)
{
	unsigned long c, n = heap->arena_size >> GCMEM_CHUNK_SHIFT;
	struct gcmem_chunk *chunk;

	lockdep_assert_held(&heap->chunk_lock);
	heap->tracking = true;
	for (c = 0; c < n; c++) {
		chunk = heap->chunk_tab[c];
		if (!chunk)
			continue;
		chunk->wp = true;
		chunk->written = false;
	}
	if (vma)
		zap_vma_ptes(vma, heap->arena_start, heap->arena_size);
}

/*
 * gcmem_track() - arm, harvest or disarm the tracking of @heap's writes.
 * Harvesting fills @written (a bitmap of the arena's chunks) and clears
 * what it reports; -EINVAL if tracking is not armed. Holds heap->lock.
 */
int gcmem_track(struct gcmem_heap *heap, enum gcmem_track_op op,
		unsigned long *written)
{
	unsigned long c, n = heap->arena_size >> GCMEM_CHUNK_SHIFT;
	struct vm_area_struct *vma = NULL;
	struct gcmem_chunk *chunk;
	int ret = 0;

	lockdep_assert_held(&heap->lock);
	if (!heap->arena_start)
		return -EINVAL;
	if (op == GCMEM_TRACK_HARVEST && !heap->tracking)
		return -EINVAL;
	if (!mmget_not_zero(heap->mm))
		return -ESRCH;
	mmap_read_lock(heap->mm);
	vma = gcmem_arena_vma(heap);
	mutex_lock(&heap->chunk_lock);
	switch (op) {
	case GCMEM_TRACK_ARM:
		gcmem_track_arm_locked(heap, vma);
		break;
	case GCMEM_TRACK_HARVEST:
		bitmap_zero(written, n);
		for (c = 0; c < n; c++) {
			chunk = heap->chunk_tab[c];
			if (!chunk || !chunk->written)
				continue;
			/* Revoke the writable mapping, then take the bit. */
			if (vma)
				zap_vma_ptes(vma, heap->arena_start +
					     (c << GCMEM_CHUNK_SHIFT),
					     GCMEM_CHUNK_SIZE);
			chunk->written = false;
			chunk->wp = true;
			__set_bit(c, written);
		}
		break;
	case GCMEM_TRACK_DISARM:
		heap->tracking = false;
		for (c = 0; c < n; c++) {
			chunk = heap->chunk_tab[c];
			if (!chunk)
				continue;
			chunk->wp = false;
			chunk->written = false;
		}
		/* Mapped again writable at the next access. */
		if (vma)
			zap_vma_ptes(vma, heap->arena_start, heap->arena_size);
		break;
	default:
		ret = -EINVAL;
	}
	mutex_unlock(&heap->chunk_lock);
	mmap_read_unlock(heap->mm);
	mmput(heap->mm);
	return ret;
}

/*
 * gcmem_track_write() - @chunk is about to be mapped writable, or written
 * through a mapping that was read-only: note it. Under chunk_lock. Returns
 * true if the chunk was tracked (its read-only mapping must go first).
 */
bool gcmem_track_write(struct gcmem_heap *heap, struct gcmem_chunk *chunk)
{
	lockdep_assert_held(&heap->chunk_lock);
	if (!chunk->wp)
		return false;
	chunk->wp = false;
	chunk->written = true;
	atomic64_inc(&heap->track_faults);
	return true;
}

/* A chunk faulted in while tracking is armed starts tracked. */
void gcmem_track_new_chunk(struct gcmem_heap *heap, struct gcmem_chunk *chunk)
{
	lockdep_assert_held(&heap->chunk_lock);
	chunk->wp = heap->tracking;
}

/*
 * debugfs: gcmem/<tgid>.<n>/track. Writing "arm" or "disarm" does that;
 * reading harvests: "faults F\nwritten I J K\n", F the write faults taken
 * so far, I... the chunks written since the last harvest.
 */
static int gcmem_track_show(struct seq_file *m, void *v)
{
	struct gcmem_heap *heap = m->private;
	unsigned long *written, c, n;
	int ret;

	ret = gcmem_heap_lock(heap);
	if (ret)
		return ret;
	n = heap->arena_size >> GCMEM_CHUNK_SHIFT;
	written = bitmap_zalloc(max(n, 1UL), GFP_KERNEL);
	ret = written ? gcmem_track(heap, GCMEM_TRACK_HARVEST, written) :
			-ENOMEM;
	gcmem_heap_unlock(heap);
	if (!ret) {
		seq_printf(m, "faults %lld\nwritten",
			   (long long)atomic64_read(&heap->track_faults));
		for_each_set_bit(c, written, n)
			seq_printf(m, " %lu", c);
		seq_putc(m, '\n');
	}
	bitmap_free(written);
	return ret;
}

static int gcmem_track_open(struct inode *inode, struct file *file)
{
	return single_open(file, gcmem_track_show, inode->i_private);
}

static ssize_t gcmem_track_write_file(struct file *file,
				      const char __user *ubuf, size_t len,
				      loff_t *ppos)
{
	struct gcmem_heap *heap = file_inode(file)->i_private;
	enum gcmem_track_op op;
	char buf[8] = "";
	int ret;

	if (len >= sizeof(buf) || copy_from_user(buf, ubuf, len))
		return -EINVAL;
	if (sysfs_streq(buf, "arm"))
		op = GCMEM_TRACK_ARM;
	else if (sysfs_streq(buf, "disarm"))
		op = GCMEM_TRACK_DISARM;
	else
		return -EINVAL;
	ret = gcmem_heap_lock(heap);
	if (ret)
		return ret;
	ret = gcmem_track(heap, op, NULL);
	gcmem_heap_unlock(heap);
	return ret ? ret : len;
}

static const struct file_operations gcmem_track_fops = {
	.owner = THIS_MODULE,
	.open = gcmem_track_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
	.write = gcmem_track_write_file,
};

void gcmem_track_debugfs_add(struct gcmem_heap *heap, struct dentry *dir)
{
	debugfs_create_file("track", 0600, dir, heap, &gcmem_track_fops);
}
