// SPDX-License-Identifier: GPL-2.0
/*
 * Write tracking: which chunks of the arena the process wrote since the
 * tracking was armed, or since the last harvest. It is how a concurrent
 * cycle (collect.c) finds the objects the program changed behind its mark
 * without a write barrier in the program: armed when the mark begins,
 * stopped (a last harvest, which zaps nothing) at mark termination, and
 * the mappings it left read-only relaxed after the restart. Debugfs can
 * arm and harvest it too (track_test), for a heap in stop-the-world mode:
 * a concurrent cycle disarms what debugfs armed.
 *
 * A tracked chunk (@wp) is mapped read-only, like a chunk a fork shares
 * (cow.c). A write to it faults: ->fault or ->huge_fault with
 * FAULT_FLAG_WRITE where nothing is mapped, ->pfn_mkwrite on a read-only
 * PTE (6.1's 4 KiB mappings), ->huge_fault on a read-only PMD (6.12). The
 * fault, under chunk_lock, records the write (gcmem_track_write()) before
 * the page or the chunk is mapped writable: from then on its writes cost
 * nothing. Writes the kernel makes for the process (read() into the heap,
 * copy_to_user) take the same faults; a debugger's (->access, through the
 * direct map) are recorded by it; the collector's own (zeroing, a fork's
 * copy) store no new pointer and are not tracked.
 *
 * Granularity: a page (PAGE_SIZE) where the chunk is mapped by PTEs (6.1;
 * 6.12 where transparent huge pages are not allowed): the fault records
 * the page in @written_pages and only its PTE becomes writable, so that
 * the rescan reads only the objects on written pages. A chunk with more
 * than GCMEM_TRACK_PAGES_MAX pages written since the last harvest (the
 * program fills fresh spans there, or writes all over it) goes over to
 * the coarse unit: every page counts as written, @wp goes and the chunk is
 * mapped writable whole, its further writes free; not after the first
 * harvest, in the precleaning rounds, whose last one's pages the pause
 * scans again (@track_precise). A chunk mapped by one PMD (6.12) is
 * tracked whole from its first write: splitting the PMD leaves it
 * PTE-mapped until munmap (6.12 reclaims no page table), so a chunk is
 * split only once its writes prove hot: written again in the round after
 * a harvest took its writes (a table the program keeps storing into, a
 * span it fills over several rounds), when a pause would otherwise scan
 * all of its marked objects again for a few stores. The harvest that
 * finds it so (or the stop, for the next cycle) sets @by_page, and its
 * next fault maps it by PTEs (arena.c); tracked by the page from then on.
 * So is, before the program can write it, the chunk of a span with live
 * objects that a refill hands out once the first harvest is past
 * (gcmem_track_refill()): new objects go into the free slots of old
 * spans, scattered over chunks full of marked objects, and the last
 * round's refills would otherwise be a few whole chunks in the pause.
 * The cost: a split chunk's TLB reach and a fault a page written in
 * later marks, for good. The module's track_split=0 keeps every PMD;
 * arena_pmd=0 maps every chunk with PTEs from the start (arena.c).
 *
 * A harvest, under mmap_lock (read) and chunk_lock, first zaps the mapping
 * of every written chunk — no CPU can write it again without faulting —
 * and only then moves @written_pages into @rescan_pages and its result,
 * and sets @wp again. So every write is seen by the harvest that follows
 * it or by the next one: the fault that allowed it recorded it first,
 * and a harvest takes the record only after revoking the mapping the
 * write went through. (A fault that recorded a page but had not yet made
 * its PTE writable when the zap came finds the PTE gone and faults again,
 * recording again.)
 *
 * Locks: heap->lock (arming and harvesting are heap operations), then
 * mmap_lock (read), then chunk_lock, as everywhere (gcmem.h).
 */
#include <linux/bitmap.h>
#include <linux/debugfs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "gcmem.h"

/*
 * Zap the user mapping of each run of chunks @pick selects, one flush a
 * run; @then runs on each picked chunk after its run is zapped.
 */
static void gcmem_track_zap_runs(struct gcmem_heap *heap,
				 struct vm_area_struct *vma,
				 bool (*pick)(const struct gcmem_chunk *),
				 void (*then)(struct gcmem_heap *,
					      struct gcmem_chunk *, void *),
				 void *arg)
{
	unsigned long c, end, n = heap->chunks_hi;

	lockdep_assert_held(&heap->chunk_lock);
	for (c = 0; c < n; c = end) {
		for (end = c; end < n && heap->chunk_tab[end] &&
		     pick(heap->chunk_tab[end]);)
			end++;
		if (end == c) {
			end++;
			continue;
		}
		if (vma)
			zap_vma_ptes(vma, heap->arena_start +
				     (c << GCMEM_CHUNK_SHIFT),
				     (end - c) << GCMEM_CHUNK_SHIFT);
		for (; c < end; c++)
			then(heap, heap->chunk_tab[c], arg);
	}
}

static bool gcmem_chunk_written(const struct gcmem_chunk *chunk)
{
	return chunk->written;
}

/*
 * A chunk written at more pages than this since the last harvest is
 * tracked whole until the next: its write faults (~1 us each natively,
 * tens under TCG) would cost more than scanning all of it again. But
 * only until the first harvest (@track_precise): from then on, in the
 * precleaning rounds, what a round writes may be what the pause scans
 * again, and a fault beside the program costs less than a page scanned
 * in the pause (a 2 MiB chunk tracked whole was 6 ms of it under TCG).
 */
#define GCMEM_TRACK_PAGES_MAX	64

/*
 * Tunable: split a PMD-mapped chunk whose writes prove hot (above). 0
 * keeps every chunk's PMD, for pauses that scan whole chunks again.
 */
static bool gcmem_track_split = true;
module_param_named(track_split, gcmem_track_split, bool, 0644);
MODULE_PARM_DESC(track_split, "track a PMD-mapped chunk written in two harvests running by its pages from then on, splitting its PMD (default 1)");

/* @chunk goes over to PTEs at its next fault, if it is mapped by a PMD. */
static bool gcmem_track_split_chunk(struct gcmem_heap *heap,
				    struct gcmem_chunk *chunk)
{
	lockdep_assert_held(&heap->chunk_lock);
	if (!chunk->pmd || chunk->by_page || !READ_ONCE(gcmem_track_split))
		return false;
	chunk->by_page = true;
	atomic64_inc(&heap->split_chunks);
	return true;
}

/*
 * Move a written chunk's pages to @rescan_pages and its bit to @written;
 * one the last harvest took too is hot, and goes over to PTEs.
 */
static void gcmem_track_record(struct gcmem_heap *heap,
			       struct gcmem_chunk *chunk,
			       unsigned long *written)
{
	if (chunk->taken && chunk->taken + 1 == heap->track_round)
		gcmem_track_split_chunk(heap, chunk);
	chunk->taken = heap->track_round;
	bitmap_copy(chunk->rescan_pages, chunk->written_pages,
		    GCMEM_TRACK_PAGES);
	bitmap_zero(chunk->written_pages, GCMEM_TRACK_PAGES);
	chunk->written = false;
	__set_bit(chunk->index, written);
}

/* A harvest takes a written chunk's pages after revoking its mapping. */
static void gcmem_track_take(struct gcmem_heap *heap,
			     struct gcmem_chunk *chunk, void *written)
{
	gcmem_track_record(heap, chunk, written);
	chunk->wp = true;
}

static bool gcmem_chunk_relax(const struct gcmem_chunk *chunk)
{
	return chunk->relax;
}

static void gcmem_track_relaxed(struct gcmem_heap *heap,
				struct gcmem_chunk *chunk, void *unused)
{
	chunk->relax = false;
}

/*
 * Arm (@on: every chunk, and every chunk faulted in later, is tracked) or
 * disarm, forgetting what was written, and zap the arena's mapping: its
 * chunks are mapped again, read-only or writable, at their next access.
 */
static void gcmem_track_set(struct gcmem_heap *heap,
			    struct vm_area_struct *vma, bool on)
{
	unsigned long c, n = heap->chunks_hi;
	struct gcmem_chunk *chunk;

	lockdep_assert_held(&heap->chunk_lock);
	heap->tracking = on;
	heap->track_precise = false;
	WRITE_ONCE(heap->track_final, false);
	heap->track_round = 1;
	for (c = 0; c < n; c++) {
		chunk = heap->chunk_tab[c];
		if (!chunk)
			continue;
		chunk->wp = on;
		chunk->relax = false;
		chunk->written = false;
		chunk->taken = 0;
		bitmap_zero(chunk->written_pages, GCMEM_TRACK_PAGES);
	}
	if (vma)
		zap_vma_ptes(vma, heap->arena_start, heap->arena_size);
}

/*
 * The last harvest, and the end of tracking, with the world stopped (a
 * concurrent cycle's mark termination): nothing is zapped, so that the
 * pause pays for no TLB flush (zapping the read-only mappings of a 600 MiB
 * heap's chunks took 0.5-6.7 ms of a 1-7 ms pause in the guests). The
 * chunks still mapped read-only in part go on being mapped so: a write
 * to one now only makes its page writable (the fault finds @wp clear),
 * until GCMEM_TRACK_RELAX, after the restart, zaps them to be mapped
 * writable again in one fault a chunk. A hot chunk found here is mapped
 * by PTEs from the next cycle's arming, which zaps it.
 */
static void gcmem_track_stop(struct gcmem_heap *heap, unsigned long *written)
{
	unsigned long c, n = heap->chunks_hi;
	struct gcmem_chunk *chunk;

	heap->tracking = false;
	heap->track_precise = false;
	WRITE_ONCE(heap->track_final, false);
	heap->track_round++;
	for (c = 0; c < n; c++) {
		chunk = heap->chunk_tab[c];
		if (!chunk)
			continue;
		if (chunk->written)
			gcmem_track_record(heap, chunk, written);
		chunk->relax = chunk->wp;
		chunk->wp = false;
	}
}

/*
 * gcmem_track() - arm, harvest, stop or disarm the tracking of @heap's
 * writes, or relax what a stop left read-only. Harvesting fills @written
 * (a bitmap of the arena's chunks) and clears what it reports; stopping
 * does too, and disarms. -EINVAL if tracking is not armed for either.
 * Holds heap->lock.
 */
int gcmem_track(struct gcmem_heap *heap, enum gcmem_track_op op,
		unsigned long *written)
{
	unsigned long n = heap->arena_size >> GCMEM_CHUNK_SHIFT;
	struct vm_area_struct *vma = NULL;
	int ret = 0;

	lockdep_assert_held(&heap->lock);
	if (!heap->arena_start)
		return -EINVAL;
	if ((op == GCMEM_TRACK_HARVEST || op == GCMEM_TRACK_STOP) &&
	    !heap->tracking)
		return -EINVAL;
	if (!heap->mm || !mmget_not_zero(heap->mm))
		return -ESRCH;
	mmap_read_lock(heap->mm);
	vma = gcmem_arena_vma(heap);
	mutex_lock(&heap->chunk_lock);
	switch (op) {
	case GCMEM_TRACK_ARM:
		gcmem_track_set(heap, vma, true);
		break;
	case GCMEM_TRACK_HARVEST:
		bitmap_zero(written, n);
		heap->track_round++;
		/* Revoke the writable mappings, then take the bits. */
		gcmem_track_zap_runs(heap, vma, gcmem_chunk_written,
				     gcmem_track_take, written);
		heap->track_precise = true;
		break;
	case GCMEM_TRACK_STOP:
		bitmap_zero(written, n);
		gcmem_track_stop(heap, written);
		break;
	case GCMEM_TRACK_RELAX:
		gcmem_track_zap_runs(heap, vma, gcmem_chunk_relax,
				     gcmem_track_relaxed, NULL);
		break;
	case GCMEM_TRACK_DISARM:
		gcmem_track_set(heap, vma, false);
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
 * gcmem_track_write() - @chunk is about to be written: at @page (its
 * PAGE_SIZE page) through a PTE that alone is made writable, or whole
 * (@page < 0: it is about to be mapped writable whole, or by one PMD).
 * Note it, if the chunk is tracked. Under chunk_lock. Returns true if the
 * chunk went over to being tracked whole: a read-only PTE mapping of it
 * is then zapped by the caller, to be mapped again writable in one fault.
 */
bool gcmem_track_write(struct gcmem_heap *heap, struct gcmem_chunk *chunk,
		       int page)
{
	lockdep_assert_held(&heap->chunk_lock);
	if (!chunk->wp)
		return false;
	chunk->written = true;
	atomic64_inc(&heap->track_faults);
	if (page >= 0) {
		__set_bit(page, chunk->written_pages);
		if (heap->track_precise ||
		    bitmap_weight(chunk->written_pages, GCMEM_TRACK_PAGES) <=
		    GCMEM_TRACK_PAGES_MAX)
			return false;
	}
	bitmap_fill(chunk->written_pages, GCMEM_TRACK_PAGES);
	chunk->wp = false;
	return true;
}

/*
 * gcmem_track_pmd_write() - a write fault would map @chunk, tracked, by
 * one PMD: its writes would count as written whole. In the precleaning's
 * last round, whose writes the pause scans again, a chunk the program
 * writes goes over to PTEs instead (true: fall back to a PTE fault),
 * the pause scanning again only the pages written, not every marked
 * object of the chunk (a chunk it filled with new objects during the
 * mark, or wrote for the first time in that round, was 6-30 ms of a
 * pause under TCG). Under chunk_lock.
 */
bool gcmem_track_pmd_write(struct gcmem_heap *heap, struct gcmem_chunk *chunk)
{
	lockdep_assert_held(&heap->chunk_lock);
	/* Mapped by a PMD or not yet at all (a chunk the heap grew by). */
	if (!chunk->wp || !READ_ONCE(heap->track_final) || chunk->by_page ||
	    !READ_ONCE(gcmem_track_split))
		return false;
	chunk->by_page = true;
	atomic64_inc(&heap->split_chunks);
	return true;
}

/*
 * gcmem_track_refill() - a refill handed out a span at @off (in the arena)
 * that holds live objects, while a concurrent mark precleans: the program
 * is about to store into its free slots, which would make its chunk, if
 * mapped by one PMD, count as written whole, all its marked objects to be
 * scanned again, perhaps in the pause, for a span's new objects. Split the
 * chunk first (as a hot one): its writes are then tracked by the page. A
 * fresh span's chunk holds few marked objects and keeps its PMD. Takes
 * mmap_lock (read) and chunk_lock; the caller holds neither, nor heap->lock.
 */
void gcmem_track_refill(struct gcmem_heap *heap, u64 off)
{
	struct vm_area_struct *vma;
	struct gcmem_chunk *chunk;

	if (!READ_ONCE(heap->track_precise) || !READ_ONCE(gcmem_track_split))
		return;
	/* The refill is the process's own: its mm is the heap's. */
	if (WARN_ON_ONCE(current->mm != heap->mm))
		return;
	/* Only a saving: a fatal signal skips it. */
	if (mmap_read_lock_killable(heap->mm))
		return;
	vma = gcmem_arena_vma(heap);
	mutex_lock(&heap->chunk_lock);
	chunk = gcmem_chunk_of(heap, off);
	if (vma && chunk && heap->track_precise &&
	    gcmem_track_split_chunk(heap, chunk))
		zap_vma_ptes(vma, heap->arena_start + chunk->index *
			     GCMEM_CHUNK_SIZE, GCMEM_CHUNK_SIZE);
	mutex_unlock(&heap->chunk_lock);
	mmap_read_unlock(heap->mm);
}

/*
 * gcmem_track_access() - a debugger wrote @len bytes at @off in @chunk
 * through the kernel's direct map (->access): the mapping does not change,
 * the pages count as written. Under chunk_lock.
 */
void gcmem_track_access(struct gcmem_heap *heap, struct gcmem_chunk *chunk,
			unsigned long off, unsigned long len)
{
	unsigned long first = off >> PAGE_SHIFT;

	lockdep_assert_held(&heap->chunk_lock);
	if (!heap->tracking || !len)
		return;
	chunk->written = true;
	bitmap_set(chunk->written_pages, first,
		   ((off + len - 1) >> PAGE_SHIFT) - first + 1);
}

/*
 * gcmem_track_npages() - the pages a harvest took, in all (the chunks of
 * @written); under heap->lock, which keeps chunks from going.
 */
unsigned long gcmem_track_npages(struct gcmem_heap *heap,
				 const unsigned long *written)
{
	unsigned long c, n = 0;

	lockdep_assert_held(&heap->lock);
	for_each_set_bit(c, written, heap->arena_size >> GCMEM_CHUNK_SHIFT)
		if (heap->chunk_tab[c])
			n += bitmap_weight(heap->chunk_tab[c]->rescan_pages,
					   GCMEM_TRACK_PAGES);
	return n;
}

/* A chunk faulted in while tracking is armed starts tracked. */
void gcmem_track_new_chunk(struct gcmem_heap *heap, struct gcmem_chunk *chunk)
{
	lockdep_assert_held(&heap->chunk_lock);
	chunk->wp = heap->tracking;
	chunk->relax = false;
	chunk->taken = 0;
	bitmap_zero(chunk->written_pages, GCMEM_TRACK_PAGES);
}

/*
 * debugfs: gcmem/<tgid>.<n>/track. Writing "arm" or "disarm" does that.
 * Opening it for reading harvests, once, into text the reads return:
 * "faults F\nwritten I J K\npages P\n", F the write faults taken so far,
 * I... the chunks written since the last harvest, P their pages written
 * (PAGE_SIZE; a chunk tracked whole counts all). (A seq_file show may run
 * twice for one read, and a harvest must not.)
 */
struct gcmem_track_text {
	size_t len;
	char buf[];
};

static int gcmem_track_open(struct inode *inode, struct file *file)
{
	struct gcmem_heap *heap = inode->i_private;
	struct gcmem_track_text *t = NULL;
	unsigned long *written = NULL, c, n, pages = 0;
	size_t cap;
	int ret;

	if (!(file->f_mode & FMODE_READ))
		return 0;
	ret = gcmem_heap_lock_idle(heap);
	if (ret)
		return ret;
	n = heap->arena_size >> GCMEM_CHUNK_SHIFT;
	/* " %lu" for every chunk at most, before the harvest takes bits. */
	cap = 96 + n * 8;
	written = bitmap_zalloc(max(n, 1UL), GFP_KERNEL);
	t = kvmalloc(sizeof(*t) + cap, GFP_KERNEL);
	ret = written && t ? gcmem_track(heap, GCMEM_TRACK_HARVEST, written) :
			     -ENOMEM;
	if (!ret)
		pages = gcmem_track_npages(heap, written);
	gcmem_heap_unlock(heap);
	if (!ret) {
		t->len = scnprintf(t->buf, cap, "faults %lld\nwritten",
				   (long long)atomic64_read(&heap->track_faults));
		for_each_set_bit(c, written, n)
			t->len += scnprintf(t->buf + t->len, cap - t->len,
					    " %lu", c);
		t->len += scnprintf(t->buf + t->len, cap - t->len,
				    "\npages %lu\n", pages);
		file->private_data = t;
		t = NULL;
	}
	bitmap_free(written);
	kvfree(t);
	return ret;
}

static ssize_t gcmem_track_read(struct file *file, char __user *ubuf,
				size_t len, loff_t *ppos)
{
	struct gcmem_track_text *t = file->private_data;

	return t ? simple_read_from_buffer(ubuf, len, ppos, t->buf, t->len) :
		   -EBADF;
}

static int gcmem_track_release(struct inode *inode, struct file *file)
{
	kvfree(file->private_data);
	return 0;
}

static ssize_t gcmem_track_ctl(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	struct gcmem_heap *heap = file_inode(file)->i_private;
	enum gcmem_track_op op;
	char buf[8] = "";
	int ret;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	if (sysfs_streq(buf, "arm"))
		op = GCMEM_TRACK_ARM;
	else if (sysfs_streq(buf, "disarm"))
		op = GCMEM_TRACK_DISARM;
	else
		return -EINVAL;
	ret = gcmem_heap_lock_idle(heap);
	if (ret)
		return ret;
	ret = gcmem_track(heap, op, NULL);
	gcmem_heap_unlock(heap);
	return ret ? ret : len;
}

static const struct file_operations gcmem_track_fops = {
	.owner = THIS_MODULE,
	.open = gcmem_track_open,
	.read = gcmem_track_read,
	.llseek = default_llseek,
	.release = gcmem_track_release,
	.write = gcmem_track_ctl,
};

void gcmem_track_debugfs_add(struct gcmem_heap *heap, struct dentry *dir)
{
	debugfs_create_file("track", 0600, dir, heap, &gcmem_track_fops);
}
