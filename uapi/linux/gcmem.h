/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * gcmem: garbage-collected memory for user processes.
 *
 * This header is the whole contract between the gcmem module and user space:
 * ioctls, their structures, mmap offsets and the control page layout.
 */
#ifndef _UAPI_LINUX_GCMEM_H
#define _UAPI_LINUX_GCMEM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define GCMEM_DEVICE		"/dev/gcmem"
#define GCMEM_TYPE		0xC7
#define GCMEM_API_VERSION	1

/**
 * DOC: General ioctl format
 *
 * Every ioctl takes a pointer to a structure whose first __u32 is the size of
 * that structure as the caller knows it. The kernel reads the smaller of that
 * size and its own, checks that any part of the caller's structure beyond
 * what it understands is zero, and writes back at most the caller's size.
 * A caller built against a newer header thus works with an older kernel as
 * long as it leaves the new fields zero, and an older caller keeps working
 * with a newer kernel.
 *
 * Fields named ``flags`` and ``__reserved*`` are input and must be zero.
 * Fields documented as "out" are ignored on input and always written.
 *
 * The first ioctl on a heap must be GCMEM_IOC_HANDSHAKE; every other ioctl
 * and every mmap fails with EINVAL before it. A heap belongs to the process
 * (the mm) that opened ``/dev/gcmem``: ioctls and mmaps from any other
 * process fail with EPERM, whether it got the descriptor by fork or over a
 * Unix socket.
 *
 * Errors, for all ioctls:
 *
 *  - ENOTTY: the ioctl number is not a gcmem ioctl.
 *  - EFAULT: the argument pointer is not readable or writable.
 *  - EINVAL: the size is smaller than the first version of the structure;
 *    a flag, reserved field, option or value is invalid; the handshake has
 *    not been done (or is tried twice).
 *  - E2BIG: the structure is larger than the kernel's and the part beyond it
 *    is not zero.
 *  - EPERM: the caller's process does not own this heap.
 *  - EBUSY: the request conflicts with the heap's state (documented per
 *    ioctl).
 *  - ENOMEM: the kernel ran out of memory.
 *
 * and for mmap:
 *
 *  - EINVAL: unknown offset, wrong length, ``MAP_PRIVATE``, or no handshake.
 *  - EACCES: ``PROT_EXEC`` on any mapping, or ``PROT_WRITE`` on the
 *    read-only control page.
 *  - EBUSY: the arena is already mapped.
 *  - EPERM: the caller's process does not own this heap.
 */

enum {
	GCMEM_CMD_BASE = 0x80,
	GCMEM_CMD_HANDSHAKE = GCMEM_CMD_BASE,
	GCMEM_CMD_OPTION = 0x81,
	GCMEM_CMD_STATS = 0x82,
};

/**
 * DOC: Memory layout
 *
 * A heap is used through two shared mappings of its file descriptor:
 *
 *  - the control page, at offset GCMEM_MMAP_CONTROL, GCMEM_CONTROL_SIZE bytes,
 *    read-only (struct gcmem_control);
 *  - the arena, at offset GCMEM_MMAP_ARENA: one mapping per heap, of a
 *    multiple of GCMEM_CHUNK_SIZE bytes up to the handshake's @arena_max.
 *    Map it with a NULL hint to get a GCMEM_CHUNK_SIZE-aligned address. It
 *    cannot be split, moved, grown or inherited by a child process.
 *
 * Arena memory is allocated on first touch, one GCMEM_CHUNK_SIZE chunk at a
 * time, zeroed and charged to the memory cgroup of the faulting task as
 * kernel memory (it shows in ``memory.current`` but not in the process's
 * RSS). Where the kernel supports huge PFN mappings (GCMEM_FEATURE_PMD_MAP)
 * each chunk is mapped by one PMD; elsewhere by 4 KiB PTEs. Touching arena
 * memory that would take the heap beyond its limit (GCMEM_OPTION_LIMIT), or
 * when the system is out of memory, raises SIGBUS.
 *
 * The arena is readable and writable through ``/proc/pid/mem`` and ptrace;
 * reading a chunk never touched yields zeros. Private futexes in the arena
 * work; shared (cross-process) futexes do not.
 */
#define GCMEM_MMAP_CONTROL	0x0ULL
#define GCMEM_MMAP_ARENA	0x100000000ULL
#define GCMEM_CONTROL_SIZE	4096
#define GCMEM_CHUNK_SIZE	(2UL << 20)

/**
 * enum gcmem_features - optional behaviours of the module
 * @GCMEM_FEATURE_PMD_MAP: arena chunks are mapped with PMD (2 MiB) entries.
 *	Absent on kernels that cannot insert huge PFN mappings (6.1), where
 *	the arena is mapped with 4 KiB PTEs.
 */
enum gcmem_features {
	GCMEM_FEATURE_PMD_MAP = 1 << 0,
};

/**
 * struct gcmem_handshake - ioctl(GCMEM_IOC_HANDSHAKE)
 * @size: sizeof(struct gcmem_handshake)
 * @flags: must be 0
 * @api_version: in: GCMEM_API_VERSION
 * @__reserved: must be 0
 * @features: in: the enum gcmem_features bits the caller requires;
 *	out: every feature this kernel supports
 * @ioctls: out: bit (N - GCMEM_CMD_BASE) is set for each supported ioctl
 *	number N
 * @arena_max: out: the largest arena mapping accepted, in bytes
 * @limit: out: the heap's current memory limit, in bytes
 * @chunk_size: out: GCMEM_CHUNK_SIZE, the unit of arena memory
 * @control_size: out: GCMEM_CONTROL_SIZE
 * @__reserved2: out: 0
 *
 * The first ioctl on a new heap. It fails with EINVAL, and the heap stays
 * unusable until a correct handshake, when @api_version is not one the
 * kernel speaks, when @features asks for a bit that is unknown or not
 * supported, or when the handshake was already done.
 */
struct gcmem_handshake {
	__u32 size;
	__u32 flags;
	__u32 api_version;
	__u32 __reserved;
	__aligned_u64 features;
	__aligned_u64 ioctls;
	__aligned_u64 arena_max;
	__aligned_u64 limit;
	__u32 chunk_size;
	__u32 control_size;
	__u32 __reserved2;
	__u32 __reserved3;
};

#define GCMEM_IOC_HANDSHAKE	_IO(GCMEM_TYPE, GCMEM_CMD_HANDSHAKE)

/**
 * enum gcmem_option_id - per-heap settings
 * @GCMEM_OPTION_LIMIT: the most arena memory the heap may hold, in bytes.
 *	A multiple of GCMEM_CHUNK_SIZE from GCMEM_CHUNK_SIZE to the
 *	handshake's @arena_max. Setting it below the memory the heap holds
 *	now fails with EBUSY. The default is a quarter of the system's RAM,
 *	at most @arena_max.
 */
enum gcmem_option_id {
	GCMEM_OPTION_LIMIT = 1,
};

/**
 * enum gcmem_option_op - what ioctl(GCMEM_IOC_OPTION) does
 * @GCMEM_OPTION_OP_SET: set the option to @val64
 * @GCMEM_OPTION_OP_GET: read the option into @val64
 */
enum gcmem_option_op {
	GCMEM_OPTION_OP_SET = 0,
	GCMEM_OPTION_OP_GET = 1,
};

/**
 * struct gcmem_option - ioctl(GCMEM_IOC_OPTION)
 * @size: sizeof(struct gcmem_option)
 * @option_id: one of enum gcmem_option_id
 * @op: one of enum gcmem_option_op
 * @__reserved: must be 0
 * @__reserved2: must be 0
 * @val64: in for GCMEM_OPTION_OP_SET, out for GCMEM_OPTION_OP_GET
 *
 * Reads or changes one setting of the heap.
 */
struct gcmem_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 __reserved2;
	__aligned_u64 val64;
};

#define GCMEM_IOC_OPTION	_IO(GCMEM_TYPE, GCMEM_CMD_OPTION)

/**
 * struct gcmem_stats - ioctl(GCMEM_IOC_STATS)
 * @size: sizeof(struct gcmem_stats)
 * @flags: must be 0
 * @committed: out: bytes of arena memory the heap holds now
 * @peak_committed: out: the most @committed has been
 * @limit: out: the heap's limit (GCMEM_OPTION_LIMIT)
 * @arena_start: out: user address of the arena mapping, 0 if none
 * @arena_size: out: length of the arena mapping
 * @pmd_faults: out: arena faults served by mapping a whole chunk with a PMD
 * @pte_faults: out: arena faults served by mapping one base page
 * @limit_faults: out: arena faults refused (SIGBUS) by the limit or by a
 *	failed allocation
 *
 * A snapshot of the heap's counters; each is read atomically, the set is
 * not.
 */
struct gcmem_stats {
	__u32 size;
	__u32 flags;
	__aligned_u64 committed;
	__aligned_u64 peak_committed;
	__aligned_u64 limit;
	__aligned_u64 arena_start;
	__aligned_u64 arena_size;
	__aligned_u64 pmd_faults;
	__aligned_u64 pte_faults;
	__aligned_u64 limit_faults;
};

#define GCMEM_IOC_STATS		_IO(GCMEM_TYPE, GCMEM_CMD_STATS)

/**
 * enum gcmem_phase - collector phase, published in the control page
 * @GCMEM_PHASE_OFF: no collection in progress
 */
enum gcmem_phase {
	GCMEM_PHASE_OFF = 0,
};

#define GCMEM_CONTROL_MAGIC	0x67636d65	/* "gcme" */

/**
 * struct gcmem_control - the read-only control page
 * @magic: GCMEM_CONTROL_MAGIC
 * @api_version: GCMEM_API_VERSION
 * @phase: the collector's enum gcmem_phase
 * @__pad: 0
 * @cycle: number of collection cycles started
 * @safepoint_epoch: bumped by the collector to ask threads to stop
 * @committed: bytes of arena memory the heap holds, as in struct gcmem_stats
 * @limit: the heap's limit
 *
 * The kernel updates these words while the process runs; read each with a
 * single atomic load. Fields are only ever added at the end.
 */
struct gcmem_control {
	__u32 magic;
	__u32 api_version;
	__u32 phase;
	__u32 __pad;
	__aligned_u64 cycle;
	__aligned_u64 safepoint_epoch;
	__aligned_u64 committed;
	__aligned_u64 limit;
};

#endif /* _UAPI_LINUX_GCMEM_H */
