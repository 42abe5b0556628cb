// SPDX-License-Identifier: GPL-2.0
/*
 * The thread registry and the thread slots.
 *
 * Each registered thread has an id, a reference on its task, its stack
 * range, an optional eventfd for stop requests, its cached spans, and a slot:
 * a GCMEM_THREAD_SLOT_SIZE page pair shared read-write with the process
 * (struct gcmem_thread_slot), where the thread publishes its status and its
 * allocation cursors. Slot pages belong to the heap, one per id, from the
 * first registration of that id until release, because the process may keep
 * a slot mapped after the thread is gone; a new thread reusing the id gets
 * the page zeroed.
 *
 * Registration and unregistration run under heap->lock.
 */
#include <linux/eventfd.h>
#include <linux/mm.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "gcmem.h"

#define GCMEM_SLOT_ORDER	get_order(GCMEM_THREAD_SLOT_SIZE)

/*
 * A range of the process's memory the collector may read: non-empty, in
 * user space, not wrapping, and outside the arena.
 */
bool gcmem_user_range_ok(struct gcmem_heap *heap, u64 start, u64 len)
{
	unsigned long astart = gcmem_arena_start(heap);
	u64 end;

	if (!len || check_add_overflow(start, len, &end))
		return false;
	if (end > TASK_SIZE_MAX)
		return false;
	return !astart || end <= astart || start >= astart + heap->arena_size;
}

/*
 * The registration of @task, found by its pid in heap->by_task: one lookup
 * on every safepoint and heap ioctl, whatever the number of threads. A
 * thread that died registered keeps its task (and its pid in it), and a
 * new thread may get the same pid: registering the new one takes the pid
 * over, and the check of ->task tells them apart. (A thread that execs
 * swaps pids with its leader: its entry then stays behind, harmlessly —
 * the heap is no longer the process's, and every ioctl fails with EPERM.)
 * Under RCU or heap->lock.
 */
static struct gcmem_thread *gcmem_thread_of_task(struct gcmem_heap *heap,
						 struct task_struct *task)
{
	struct gcmem_thread *thread = xa_load(&heap->by_task, task->pid);

	return thread && thread->task == task ? thread : NULL;
}

static void gcmem_thread_release(struct kref *ref)
{
	struct gcmem_thread *thread = container_of(ref, struct gcmem_thread,
						   ref);

	if (thread->eventfd)
		eventfd_ctx_put(thread->eventfd);
	put_task_struct(thread->task);
	kvfree(thread->caches);
	kfree_rcu(thread, rcu);
}

void gcmem_thread_put(struct gcmem_thread *thread)
{
	kref_put(&thread->ref, gcmem_thread_release);
}

/*
 * gcmem_thread_current() - the calling thread's registration, with a
 * reference, or NULL. Safe without heap->lock.
 */
struct gcmem_thread *gcmem_thread_current(struct gcmem_heap *heap)
{
	struct gcmem_thread *thread;

	rcu_read_lock();
	thread = gcmem_thread_of_task(heap, current);
	if (thread && !kref_get_unless_zero(&thread->ref))
		thread = NULL;
	rcu_read_unlock();
	return thread;
}

int gcmem_thread_register(struct gcmem_heap *heap,
			  struct gcmem_thread_register *arg)
{
	struct eventfd_ctx *efd = NULL;
	struct gcmem_thread *thread;
	struct page *page;
	u32 id;
	int ret;

	if (arg->flags)
		return -EINVAL;
	/*
	 * Threads of the heap's process only: a clone(CLONE_VM) sibling shares
	 * the mm but dies on its own, and nothing else may be stopped, scanned
	 * or held up by this heap's collections.
	 */
	if (task_tgid_nr(current) != heap->tgid)
		return -EPERM;
	if (arg->stack_lo >= arg->stack_hi ||
	    !gcmem_user_range_ok(heap, arg->stack_lo,
				 arg->stack_hi - arg->stack_lo))
		return -EINVAL;
	if (arg->eventfd != -1) {
		if (arg->eventfd < 0)
			return -EBADF;
		efd = eventfd_ctx_fdget(arg->eventfd);
		if (IS_ERR(efd))
			return PTR_ERR(efd) == -EINVAL ? -EBADF : PTR_ERR(efd);
	}

	ret = -ENOMEM;
	thread = kzalloc(sizeof(*thread), GFP_KERNEL_ACCOUNT);
	if (!thread)
		goto out_efd;
	thread->caches = kvcalloc(GCMEM_THREAD_CACHES, sizeof(*thread->caches),
				  GCMEM_GFP);
	if (!thread->caches)
		goto out_thread;
	kref_init(&thread->ref);
	thread->eventfd = efd;
	thread->stack_lo = arg->stack_lo;
	thread->stack_hi = arg->stack_hi;
	get_task_struct(current);
	thread->task = current;

	ret = gcmem_heap_lock(heap);
	if (ret)
		goto out_task;
	ret = -EBUSY;
	if (gcmem_thread_of_task(heap, current))
		goto out_unlock;
	ret = xa_alloc(&heap->threads, &id, thread,
		       XA_LIMIT(0, GCMEM_MAX_THREADS - 1), GFP_KERNEL_ACCOUNT);
	if (ret) {
		ret = ret == -EBUSY ? -ENOSPC : ret;
		goto out_unlock;
	}
	page = heap->slot_pages[id];
	if (!page) {
		page = alloc_pages(GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_COMP,
				   GCMEM_SLOT_ORDER);
		if (!page) {
			xa_erase(&heap->threads, id);
			ret = -ENOMEM;
			goto out_unlock;
		}
		WRITE_ONCE(heap->slot_pages[id], page);
	}
	/* After xa_alloc(): a pid whose thread died registered is taken over. */
	ret = xa_err(xa_store(&heap->by_task, current->pid, thread,
			      GFP_KERNEL_ACCOUNT));
	if (ret) {
		xa_erase(&heap->threads, id);
		goto out_unlock;
	}
	thread->id = id;
	thread->slot = page_address(page);
	memset(thread->slot, 0, GCMEM_THREAD_SLOT_SIZE);
	WRITE_ONCE(thread->slot->status, GCMEM_THREAD_RUNNING);
	WRITE_ONCE(thread->slot->thread_id, id);
	gcmem_heap_unlock(heap);

	arg->thread_id = id;
	arg->slot_offset = GCMEM_MMAP_THREADS +
			   (u64)id * GCMEM_THREAD_SLOT_SIZE;
	return 0;

out_unlock:
	gcmem_heap_unlock(heap);
out_task:
	put_task_struct(current);
	kvfree(thread->caches);
out_thread:
	kfree(thread);
out_efd:
	if (efd)
		eventfd_ctx_put(efd);
	return ret;
}

/*
 * Hand back every cached span and forget the thread. Holds heap->lock.
 * The thread may be another than the caller, and zeroing the span a
 * refill of its handed out, after the lock (alloc.c): that ends before
 * the span can be swept or its chunk freed. Not killable, but bounded:
 * the zeroing is a memset of one span's free slots, with no fault.
 */
static void gcmem_thread_remove(struct gcmem_heap *heap,
				struct gcmem_thread *thread)
{
	u32 i;

	lockdep_assert_held(&heap->lock);
	wait_event(heap->zero_wq, !atomic_read(&heap->zeroing));
	for (i = 0; i < GCMEM_THREAD_CACHES; i++)
		if (thread->caches[i])
			gcmem_span_return(heap, thread->caches[i]);
	WRITE_ONCE(thread->slot->status, GCMEM_THREAD_DEAD);
	xa_erase(&heap->threads, thread->id);
	/* Unless a new thread of the same pid took the entry over. */
	xa_cmpxchg(&heap->by_task, thread->task->pid, thread, NULL, 0);
}

int gcmem_thread_unregister(struct gcmem_heap *heap,
			    struct gcmem_thread_unregister *arg)
{
	struct gcmem_thread *thread;

	int ret;

	if (arg->flags || arg->__reserved)
		return -EINVAL;

	ret = gcmem_heap_lock(heap);
	if (ret)
		return ret;
	thread = xa_load(&heap->threads, arg->thread_id);
	if (thread)
		gcmem_thread_remove(heap, thread);
	gcmem_heap_unlock(heap);
	if (!thread)
		return -ENOENT;
	gcmem_thread_put(thread);
	return 0;
}

/* mmap of a registered thread's slot, at @off from GCMEM_MMAP_THREADS. */
int gcmem_thread_slot_mmap(struct gcmem_heap *heap,
			   struct vm_area_struct *vma, u64 off)
{
	unsigned long i;
	struct page *page;
	int ret = 0;

	if (off % GCMEM_THREAD_SLOT_SIZE ||
	    vma->vm_end - vma->vm_start != GCMEM_THREAD_SLOT_SIZE)
		return -EINVAL;

	/* Slot pages live as long as the heap: no lock needed to map one. */
	rcu_read_lock();
	page = READ_ONCE(heap->slot_pages[off / GCMEM_THREAD_SLOT_SIZE]);
	if (!page || !xa_load(&heap->threads, off / GCMEM_THREAD_SLOT_SIZE))
		ret = -EINVAL;
	rcu_read_unlock();
	if (ret)
		return ret;

	vm_flags_set(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP);
	vm_flags_clear(vma, VM_MAYEXEC);
	for (i = 0; i < GCMEM_THREAD_SLOT_SIZE / PAGE_SIZE && !ret; i++)
		ret = vm_insert_page(vma, vma->vm_start + i * PAGE_SIZE,
				     page + i);
	return ret;
}

void gcmem_threads_destroy(struct gcmem_heap *heap)
{
	struct gcmem_thread *thread;
	unsigned long id;
	u32 i;

	xa_for_each(&heap->threads, id, thread)
		gcmem_thread_put(thread);
	xa_destroy(&heap->threads);
	xa_destroy(&heap->by_task);
	for (i = 0; i < GCMEM_MAX_THREADS; i++)
		if (heap->slot_pages[i])
			__free_pages(heap->slot_pages[i], GCMEM_SLOT_ORDER);
}
