// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl dispatch and argument checking.
 *
 * Every command takes a size-first structure (see "General ioctl format" in
 * uapi/linux/gcmem.h). The dispatcher checks ownership, reads the structure
 * with copy_struct_from_user() (which rejects unknown non-zero tails with
 * E2BIG), calls the handler, and copies the result back, never more than the
 * caller's size. Handlers check every field they get: flags and reserved
 * words must be zero, values must lie in their documented ranges.
 */
#include <linux/bits.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "gcmem.h"

union gcmem_ucmd_buffer {
	struct gcmem_handshake handshake;
	struct gcmem_option option;
	struct gcmem_stats stats;
	struct gcmem_type_register type_register;
	struct gcmem_thread_register thread_register;
	struct gcmem_thread_unregister thread_unregister;
	struct gcmem_refill refill;
	struct gcmem_alloc_large alloc_large;
	struct gcmem_root root;
	struct gcmem_query query;
	struct gcmem_collect collect;
	struct gcmem_thread_op thread_op;
	struct gcmem_free free;
	struct gcmem_fork fork;
	struct gcmem_adopt adopt;
	struct gcmem_finalizer finalizer;
	struct gcmem_finalize finalize;
	struct gcmem_weak weak;
};

/*
 * @out: the command has output fields, copied back after @execute. A
 * command without any is not copied back, so that it cannot fail with
 * EFAULT after it took effect. @undo, if set, takes back what a
 * successful @execute did when its result cannot be copied out: a caller
 * that gets EFAULT must find nothing changed, and a registration whose id
 * it never learnt would otherwise stay behind.
 */
struct gcmem_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	unsigned int ioctl_num;
	bool before_handshake;
	bool out;
	/* Any process may try it: ADOPT, which makes the caller the owner. */
	bool unowned;
	/*
	 * It hands out memory (REFILL, ALLOC_LARGE): on success it raised
	 * heap->handing_out, dropped here once the result is written.
	 */
	bool handout;
	int (*execute)(struct gcmem_heap *heap, void *cmd);
	void (*undo)(struct gcmem_heap *heap, void *cmd);
};

static u64 gcmem_supported_ioctls(void);

static u64 gcmem_supported_features(void)
{
	return GCMEM_HAVE_PMD_PFNMAP ? GCMEM_FEATURE_PMD_MAP : 0;
}

static int gcmem_handshake(struct gcmem_heap *heap, void *arg)
{
	struct gcmem_handshake *hs = arg;
	u64 supported = gcmem_supported_features();
	int ret = 0;

	if (hs->flags || hs->__reserved)
		return -EINVAL;
	if (hs->api_version != GCMEM_API_VERSION)
		return -EINVAL;
	if (hs->features & ~supported)
		return -EINVAL;

	ret = gcmem_heap_lock(heap);
	if (ret)
		return ret;
	if (heap->handshake_done) {
		ret = -EINVAL;
		goto out;
	}
	hs->features = supported;
	hs->ioctls = gcmem_supported_ioctls();
	hs->arena_max = GCMEM_ARENA_MAX;
	hs->limit = heap->limit;
	hs->chunk_size = GCMEM_CHUNK_SIZE;
	hs->control_size = GCMEM_CONTROL_SIZE;
	hs->__reserved2 = 0;
	hs->__reserved3 = 0;
	/* Pairs with the acquire in gcmem_mmap() and gcmem_ioctl(). */
	smp_store_release(&heap->handshake_done, true);
out:
	gcmem_heap_unlock(heap);
	return ret;
}

static int gcmem_option(struct gcmem_heap *heap, void *arg)
{
	struct gcmem_option *opt = arg;

	if (opt->__reserved || opt->__reserved2)
		return -EINVAL;

	switch (opt->option_id) {
	case GCMEM_OPTION_GCPERCENT:
		if (opt->op == GCMEM_OPTION_OP_SET)
			return gcmem_set_gcpercent(heap, opt->val64);
		if (opt->op == GCMEM_OPTION_OP_GET) {
			opt->val64 = READ_ONCE(heap->gcpercent);
			return 0;
		}
		return -EINVAL;
	case GCMEM_OPTION_MODE:
		if (opt->op == GCMEM_OPTION_OP_SET)
			return gcmem_set_mode(heap, opt->val64);
		if (opt->op == GCMEM_OPTION_OP_GET) {
			opt->val64 = READ_ONCE(heap->mode);
			return 0;
		}
		return -EINVAL;
	case GCMEM_OPTION_CONCURRENT_MIN:
		if (opt->op == GCMEM_OPTION_OP_SET)
			return gcmem_set_concurrent_min(heap, opt->val64);
		if (opt->op == GCMEM_OPTION_OP_GET) {
			opt->val64 = READ_ONCE(heap->concurrent_min);
			return 0;
		}
		return -EINVAL;
	case GCMEM_OPTION_LIMIT:
		if (opt->op == GCMEM_OPTION_OP_SET)
			return gcmem_heap_set_limit(heap, opt->val64);
		if (opt->op == GCMEM_OPTION_OP_GET) {
			opt->val64 = READ_ONCE(heap->limit);
			return 0;
		}
		return -EINVAL;
	default:
		return -EINVAL;
	}
}

static int gcmem_stats(struct gcmem_heap *heap, void *arg)
{
	struct gcmem_stats *st = arg;
	int ret;

	if (st->flags)
		return -EINVAL;
	ret = gcmem_heap_lock(heap);
	if (ret)
		return ret;
	gcmem_heap_stats(heap, st);
	gcmem_heap_unlock(heap);
	return 0;
}

/* The heap's operations, with the ioctl argument type. */
static int gcmem_ioc_type_register(struct gcmem_heap *heap, void *arg)
{
	return gcmem_type_register(heap, arg);
}

static int gcmem_ioc_thread_register(struct gcmem_heap *heap, void *arg)
{
	return gcmem_thread_register(heap, arg);
}

static void gcmem_ioc_thread_register_undo(struct gcmem_heap *heap,
					   void *arg)
{
	struct gcmem_thread_unregister u = {
		.thread_id = ((struct gcmem_thread_register *)arg)->thread_id,
	};

	gcmem_thread_unregister(heap, &u);
}

static int gcmem_ioc_thread_unregister(struct gcmem_heap *heap, void *arg)
{
	return gcmem_thread_unregister(heap, arg);
}

static int gcmem_ioc_refill(struct gcmem_heap *heap, void *arg)
{
	return gcmem_refill(heap, arg);
}

static int gcmem_ioc_alloc_large(struct gcmem_heap *heap, void *arg)
{
	return gcmem_alloc_large(heap, arg);
}

static int gcmem_ioc_root_add(struct gcmem_heap *heap, void *arg)
{
	return gcmem_root_add(heap, arg);
}

static int gcmem_ioc_root_remove(struct gcmem_heap *heap, void *arg)
{
	return gcmem_root_remove(heap, arg);
}

static int gcmem_ioc_query(struct gcmem_heap *heap, void *arg)
{
	return gcmem_query(heap, arg);
}

static int gcmem_ioc_collect(struct gcmem_heap *heap, void *arg)
{
	return gcmem_collect(heap, arg);
}

static int gcmem_ioc_safepoint_op(struct gcmem_heap *heap, void *arg)
{
	return gcmem_ioc_safepoint(heap, arg);
}

static int gcmem_ioc_blocking_leave(struct gcmem_heap *heap, void *arg)
{
	return gcmem_blocking_leave(heap, arg);
}

static int gcmem_ioc_free(struct gcmem_heap *heap, void *arg)
{
	return gcmem_free(heap, arg);
}

static int gcmem_ioc_fork(struct gcmem_heap *heap, void *arg)
{
	return gcmem_fork(heap, arg);
}

static int gcmem_ioc_adopt(struct gcmem_heap *heap, void *arg)
{
	return gcmem_adopt(heap, arg);
}

static int gcmem_ioc_finalizer(struct gcmem_heap *heap, void *arg)
{
	return gcmem_finalizer(heap, arg);
}

static int gcmem_ioc_finalize(struct gcmem_heap *heap, void *arg)
{
	return gcmem_finalize_take(heap, arg);
}

static int gcmem_ioc_weak(struct gcmem_heap *heap, void *arg)
{
	return gcmem_weak(heap, arg);
}

#define __GCMEM_IOCTL_OP(_name, _fn, _struct, _last, _pre, _out, _undo,   \
			 _handout)					     \
	[GCMEM_CMD_##_name - GCMEM_CMD_BASE] = {			     \
		.size = sizeof(_struct) +				     \
			BUILD_BUG_ON_ZERO(sizeof(union gcmem_ucmd_buffer) < \
					  sizeof(_struct)),		     \
		.min_size = offsetofend(_struct, _last),		     \
		.ioctl_num = GCMEM_IOC_##_name,				     \
		.before_handshake = _pre,				     \
		.out = _out,						     \
		.handout = _handout,					     \
		.execute = _fn,						     \
		.undo = _undo,						     \
	}
#define GCMEM_IOCTL_OP_FULL(_name, _fn, _struct, _last, _pre, _out, _undo) \
	__GCMEM_IOCTL_OP(_name, _fn, _struct, _last, _pre, _out, _undo, false)
#define GCMEM_IOCTL_OP(_name, _fn, _struct, _last, _pre)		     \
	GCMEM_IOCTL_OP_FULL(_name, _fn, _struct, _last, _pre, true, NULL)
/* A command that hands out memory, its address in the output. */
#define GCMEM_IOCTL_OP_HANDOUT(_name, _fn, _struct, _last)		     \
	__GCMEM_IOCTL_OP(_name, _fn, _struct, _last, false, true, NULL, true)
/* A command with no output fields. */
#define GCMEM_IOCTL_OP_IN(_name, _fn, _struct, _last)			     \
	GCMEM_IOCTL_OP_FULL(_name, _fn, _struct, _last, false, false, NULL)

static const struct gcmem_ioctl_op gcmem_ioctl_ops[] = {
	GCMEM_IOCTL_OP(HANDSHAKE, gcmem_handshake, struct gcmem_handshake,
		       __reserved3, true),
	GCMEM_IOCTL_OP(OPTION, gcmem_option, struct gcmem_option, val64,
		       false),
	GCMEM_IOCTL_OP(STATS, gcmem_stats, struct gcmem_stats, limit_faults,
		       false),
	GCMEM_IOCTL_OP(TYPE_REGISTER, gcmem_ioc_type_register,
		       struct gcmem_type_register, ptrmask, false),
	GCMEM_IOCTL_OP_FULL(THREAD_REGISTER, gcmem_ioc_thread_register,
			    struct gcmem_thread_register, slot_offset, false,
			    true, gcmem_ioc_thread_register_undo),
	GCMEM_IOCTL_OP_IN(THREAD_UNREGISTER, gcmem_ioc_thread_unregister,
			  struct gcmem_thread_unregister, __reserved),
	GCMEM_IOCTL_OP_HANDOUT(REFILL, gcmem_ioc_refill, struct gcmem_refill,
			       __reserved2),
	GCMEM_IOCTL_OP_HANDOUT(ALLOC_LARGE, gcmem_ioc_alloc_large,
			       struct gcmem_alloc_large, addr),
	GCMEM_IOCTL_OP_IN(ROOT_ADD, gcmem_ioc_root_add, struct gcmem_root, len),
	GCMEM_IOCTL_OP_IN(ROOT_REMOVE, gcmem_ioc_root_remove, struct gcmem_root,
			  len),
	GCMEM_IOCTL_OP(QUERY, gcmem_ioc_query, struct gcmem_query, ptrmask,
		       false),
	GCMEM_IOCTL_OP(COLLECT, gcmem_ioc_collect, struct gcmem_collect, cycle,
		       false),
	GCMEM_IOCTL_OP_IN(SAFEPOINT, gcmem_ioc_safepoint_op,
			  struct gcmem_thread_op, __reserved),
	GCMEM_IOCTL_OP_IN(BLOCKING_LEAVE, gcmem_ioc_blocking_leave,
			  struct gcmem_thread_op, __reserved),
	GCMEM_IOCTL_OP_IN(FREE, gcmem_ioc_free, struct gcmem_free, addr),
	/* Returns the new heap's descriptor as the ioctl's value. */
	GCMEM_IOCTL_OP_IN(FORK, gcmem_ioc_fork, struct gcmem_fork, flags),
	/* By hand: the only command any process may try. */
	[GCMEM_CMD_ADOPT - GCMEM_CMD_BASE] = {
		.size = sizeof(struct gcmem_adopt) +
			BUILD_BUG_ON_ZERO(sizeof(union gcmem_ucmd_buffer) <
					  sizeof(struct gcmem_adopt)),
		.min_size = offsetofend(struct gcmem_adopt, flags),
		.ioctl_num = GCMEM_IOC_ADOPT,
		.unowned = true,
		.execute = gcmem_ioc_adopt,
	},
	GCMEM_IOCTL_OP_IN(FINALIZER, gcmem_ioc_finalizer,
			  struct gcmem_finalizer, addr),
	GCMEM_IOCTL_OP(FINALIZE, gcmem_ioc_finalize, struct gcmem_finalize,
		       remaining, false),
	/* Returns 1 when the location was registered already. */
	GCMEM_IOCTL_OP_IN(WEAK, gcmem_ioc_weak, struct gcmem_weak, addr),
};

static u64 gcmem_supported_ioctls(void)
{
	u64 mask = 0;
	unsigned int i;

	BUILD_BUG_ON(ARRAY_SIZE(gcmem_ioctl_ops) > 64);
	for (i = 0; i < ARRAY_SIZE(gcmem_ioctl_ops); i++)
		if (gcmem_ioctl_ops[i].execute)
			mask |= BIT_ULL(i);
	return mask;
}

long gcmem_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct gcmem_heap *heap = file->private_data;
	const struct gcmem_ioctl_op *op;
	union gcmem_ucmd_buffer buf;
	void __user *uarg = (void __user *)arg;
	unsigned int nr = _IOC_NR(cmd);
	u32 usize;
	int ret;

	if (nr < GCMEM_CMD_BASE || nr >= GCMEM_CMD_BASE +
	    ARRAY_SIZE(gcmem_ioctl_ops))
		return -ENOIOCTLCMD;
	op = &gcmem_ioctl_ops[nr - GCMEM_CMD_BASE];
	if (!op->execute || op->ioctl_num != cmd)
		return -ENOIOCTLCMD;

	if (!op->unowned && !gcmem_heap_owned(heap))
		return -EPERM;
	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (usize < op->min_size)
		return -EINVAL;
	ret = copy_struct_from_user(&buf, op->size, uarg, usize);
	if (ret)
		return ret;
	/* Pairs with the release in gcmem_handshake(). */
	if (!op->before_handshake && !smp_load_acquire(&heap->handshake_done))
		return -EINVAL;

	ret = op->execute(heap, &buf);
	if (ret || !op->out)
		return ret;
	if (copy_to_user(uarg, &buf, min_t(u32, op->size, usize))) {
		if (op->undo)
			op->undo(heap, &buf);
		ret = -EFAULT;
	}
	if (op->handout) {
		gcmem_handout_done(heap);
		/* A growth took the spare: zero the next, beside the others. */
		gcmem_heap_spare_make(heap);
	}
	return ret;
}
