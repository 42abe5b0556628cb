/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels gcmem supports (Debian 6.1 and 6.12).
 *
 * Every version difference lives here and nowhere else, keyed on the feature
 * where the kernel offers a symbol for it and on the version where it does
 * not. The rest of the module is written against the 6.12 API.
 */
#ifndef _GCMEM_COMPAT_H
#define _GCMEM_COMPAT_H

#include <linux/version.h>
#include <linux/mm.h>
#include <linux/huge_mm.h>
#include <linux/pfn_t.h>

/* vm_flags became read-only behind helpers in 6.3. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma,
				  vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/*
 * Huge PFN mappings: since 6.12 the fault path calls ->huge_fault for a
 * VM_PFNMAP mapping, so a whole 2 MiB chunk is mapped by one PMD. Before it
 * only DAX mappings got there (6.1 never calls ->huge_fault for us), and the
 * arena falls back to 4 KiB PTEs. The Kconfig symbol that came with the
 * feature is the key.
 */
#ifdef CONFIG_ARCH_SUPPORTS_PMD_PFNMAP
#define GCMEM_HAVE_PMD_PFNMAP 1

/* pfn_t is gone after 6.12; keep its one use here. */
static inline vm_fault_t gcmem_insert_pfn_pmd(struct vm_fault *vmf,
					      unsigned long pfn, bool write)
{
	return vmf_insert_pfn_pmd(vmf, pfn_to_pfn_t(pfn), write);
}
#else
#define GCMEM_HAVE_PMD_PFNMAP 0
#endif

/* eventfd_signal() lost its count argument in 6.8. */
#include <linux/eventfd.h>
static inline void gcmem_eventfd_signal(struct eventfd_ctx *ctx)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

/*
 * A process's RSS counters: add_mm_counter() would trace the change
 * through mm_trace_rss_stat(), which is not exported to modules, so the
 * counter is moved alone (no rss_stat event for it). They became per-CPU
 * counters in 6.2.
 */
static inline void gcmem_mm_counter_add(struct mm_struct *mm, int member,
					long value)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	percpu_counter_add(&mm->rss_stat[member], value);
#else
	atomic_long_add(value, &mm->rss_stat.count[member]);
#endif
}

#endif /* _GCMEM_COMPAT_H */
