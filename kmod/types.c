// SPDX-License-Identifier: GPL-2.0
/*
 * The type registry: which words of an object may hold pointers.
 *
 * Ids 0 and 1 are the built-in GCMEM_TYPE_CONSERVATIVE and GCMEM_TYPE_NOSCAN,
 * which have no struct gcmem_type. Registered types take ids from 2 up and
 * live as long as the heap: spans keep only the id, and the mark workers
 * look the type up while scanning, so a type is never unregistered.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "gcmem.h"

int gcmem_type_register(struct gcmem_heap *heap,
			struct gcmem_type_register *arg)
{
	u32 nwords = arg->type_size / 8;
	u32 mask_u64 = DIV_ROUND_UP(nwords, 64);
	struct gcmem_type *type;
	u64 *mask;
	u32 id, i;
	int ret;

	if (arg->flags)
		return -EINVAL;
	if (!arg->type_size || arg->type_size > GCMEM_TYPE_MAX_SIZE ||
	    arg->type_size % 8)
		return -EINVAL;

	mask = kcalloc(mask_u64, sizeof(u64), GFP_KERNEL);
	if (!mask)
		return -ENOMEM;
	if (copy_from_user(mask, u64_to_user_ptr(arg->ptrmask),
			   mask_u64 * sizeof(u64))) {
		ret = -EFAULT;
		goto out;
	}
	/* Bits past the type's last word must be zero. */
	if (nwords % 64 && mask[mask_u64 - 1] >> (nwords % 64)) {
		ret = -EINVAL;
		goto out;
	}

	type = kzalloc(struct_size(type, mask, BITS_TO_LONGS(nwords)),
		       GFP_KERNEL_ACCOUNT);
	if (!type) {
		ret = -ENOMEM;
		goto out;
	}
	type->nwords = nwords;
	for (i = 0; i < nwords; i++)
		__assign_bit(i, type->mask, mask[i / 64] & (1ULL << (i % 64)));

	ret = xa_alloc(&heap->types, &id, type,
		       XA_LIMIT(GCMEM_TYPE_NOSCAN + 1, GCMEM_MAX_TYPES - 1),
		       GFP_KERNEL_ACCOUNT);
	if (ret) {
		kfree(type);
		ret = ret == -EBUSY ? -ENOSPC : ret;
		goto out;
	}
	type->id = id;
	arg->type_id = id;
out:
	kfree(mask);
	return ret;
}

/*
 * gcmem_type_lookup() - the registered type @id, or NULL in *@type for the
 * built-in ones. Returns -ENOENT for an unknown id.
 */
int gcmem_type_lookup(struct gcmem_heap *heap, u32 id,
		      const struct gcmem_type **type)
{
	*type = NULL;
	if (id == GCMEM_TYPE_CONSERVATIVE || id == GCMEM_TYPE_NOSCAN)
		return 0;
	*type = xa_load(&heap->types, id);
	return *type ? 0 : -ENOENT;
}

void gcmem_types_destroy(struct gcmem_heap *heap)
{
	struct gcmem_type *type;
	unsigned long id;

	xa_for_each(&heap->types, id, type)
		kfree(type);
	xa_destroy(&heap->types);
}
