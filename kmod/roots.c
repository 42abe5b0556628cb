// SPDX-License-Identifier: GPL-2.0
/*
 * Registered root ranges: memory outside the heap (globals, buffers of the
 * program's own allocator) that the collector scans for pointers into the
 * heap, conservatively or by a registered type whose mask repeats over the
 * range. The collector reads them through the process's mm; nothing here is
 * trusted to still be mapped.
 *
 * The list is short (at most GCMEM_MAX_ROOTS) and changes rarely; it is
 * protected by heap->lock.
 */
#include <linux/slab.h>

#include "gcmem.h"

static struct gcmem_root_range *gcmem_root_find(struct gcmem_heap *heap,
						u64 start)
{
	struct gcmem_root_range *root;

	list_for_each_entry(root, &heap->roots, node)
		if (root->start == start)
			return root;
	return NULL;
}

static int gcmem_root_check(struct gcmem_heap *heap, struct gcmem_root *arg)
{
	if (arg->flags || arg->__reserved)
		return -EINVAL;
	if (!IS_ALIGNED(arg->start, 8) || !IS_ALIGNED(arg->len, 8))
		return -EINVAL;
	if (!gcmem_user_range_ok(heap, arg->start, arg->len))
		return -EINVAL;
	return 0;
}

int gcmem_root_add(struct gcmem_heap *heap, struct gcmem_root *arg)
{
	const struct gcmem_type *type;
	struct gcmem_root_range *root;
	int ret;

	ret = gcmem_root_check(heap, arg);
	if (ret)
		return ret;
	if (arg->type_id == GCMEM_TYPE_NOSCAN)
		return -EINVAL;

	root = kzalloc(sizeof(*root), GFP_KERNEL_ACCOUNT);
	if (!root)
		return -ENOMEM;
	root->start = arg->start;
	root->len = arg->len;
	root->type_id = arg->type_id;

	ret = gcmem_heap_lock(heap);
	if (ret)
		goto out_free;
	ret = gcmem_type_lookup(heap, arg->type_id, &type);
	if (ret)
		goto out;
	if (heap->nroots >= GCMEM_MAX_ROOTS) {
		ret = -ENOSPC;
		goto out;
	}
	if (gcmem_root_find(heap, arg->start)) {
		ret = -EEXIST;
		goto out;
	}
	list_add_tail(&root->node, &heap->roots);
	heap->nroots++;
	root = NULL;
out:
	gcmem_heap_unlock(heap);
out_free:
	kfree(root);
	return ret;
}

int gcmem_root_remove(struct gcmem_heap *heap, struct gcmem_root *arg)
{
	struct gcmem_root_range *root;
	int ret;

	ret = gcmem_root_check(heap, arg);
	if (ret)
		return ret;

	ret = gcmem_heap_lock(heap);
	if (ret)
		return ret;
	root = gcmem_root_find(heap, arg->start);
	if (root && root->len == arg->len) {
		list_del(&root->node);
		heap->nroots--;
	} else {
		root = NULL;
	}
	gcmem_heap_unlock(heap);
	if (!root)
		return -ENOENT;
	kfree(root);
	return 0;
}

void gcmem_roots_destroy(struct gcmem_heap *heap)
{
	struct gcmem_root_range *root, *next;

	list_for_each_entry_safe(root, next, &heap->roots, node)
		kfree(root);
}
