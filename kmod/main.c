// SPDX-License-Identifier: GPL-2.0
/*
 * gcmem: garbage-collected memory for user processes.
 *
 * Module init and exit, the /dev/gcmem misc device and its file operations.
 * One open file is one heap (heap.c); the file's mappings are in arena.c and
 * its ioctls in ioctl.c. The file holds a reference on the module, so the
 * module cannot be unloaded while any heap exists.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

#include "collect.h"

static int gcmem_open(struct inode *inode, struct file *file)
{
	struct gcmem_heap *heap;

	/* Kernel threads have no mm to bind a heap to. */
	if (!current->mm)
		return -EINVAL;

	heap = gcmem_heap_create(current->mm);
	if (!heap)
		return -ENOMEM;
	file->private_data = heap;
	return nonseekable_open(inode, file);
}

static int gcmem_release(struct inode *inode, struct file *file)
{
	gcmem_heap_put(file->private_data);
	return 0;
}

static const struct file_operations gcmem_fops = {
	.owner = THIS_MODULE,
	.open = gcmem_open,
	.release = gcmem_release,
	.unlocked_ioctl = gcmem_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = gcmem_mmap,
	.get_unmapped_area = thp_get_unmapped_area,
};

/*
 * A new close-on-exec descriptor of @heap (a fork's copy), which it takes
 * over the caller's reference to; a negative errno (the reference is
 * dropped).
 */
int gcmem_heap_fd(struct gcmem_heap *heap)
{
	struct file *file;
	int fd;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		gcmem_heap_put(heap);
		return fd;
	}
	file = anon_inode_getfile("[gcmem]", &gcmem_fops, heap, O_RDWR);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		gcmem_heap_put(heap);
		return PTR_ERR(file);
	}
	fd_install(fd, file);
	return fd;
}

static struct miscdevice gcmem_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "gcmem",
	.fops = &gcmem_fops,
	.mode = 0666,
};

static int __init gcmem_init(void)
{
	int ret;

	gcmem_sizeclass_init();
	ret = gcmem_workers_start();
	if (ret)
		return ret;
	ret = gcmem_collect_init();
	if (ret) {
		gcmem_workers_stop();
		return ret;
	}
	gcmem_debugfs_init();
	ret = misc_register(&gcmem_misc);
	if (ret) {
		gcmem_debugfs_exit();
		gcmem_collect_exit();
		gcmem_workers_stop();
	}
	return ret;
}

static void __exit gcmem_exit(void)
{
	misc_deregister(&gcmem_misc);
	/* A cycle the driver runs may outlive its heap's file. */
	gcmem_collect_exit();
	gcmem_debugfs_exit();
	gcmem_workers_stop();
}

module_init(gcmem_init);
module_exit(gcmem_exit);

MODULE_DESCRIPTION("Garbage-collected memory for user processes");
MODULE_AUTHOR("The gcmem developers");
MODULE_LICENSE("GPL");
