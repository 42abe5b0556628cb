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
 *  - EFAULT: the argument pointer is not readable or writable. Commands
 *    with no output fields (THREAD_UNREGISTER, ROOT_ADD, ROOT_REMOVE,
 *    SAFEPOINT, BLOCKING_LEAVE, FREE, FORK, ADOPT) never write the argument
 *    back (FORK returns its descriptor as the ioctl's value). When only
 *    the result of another command could not be written back, a
 *    THREAD_REGISTER is taken back; a TYPE_REGISTER's type stays registered
 *    (types are never removed), an ALLOC_LARGE's object is garbage for the
 *    next collection, a REFILL's span stays cached (the next refill of the
 *    cache returns it), an OPTION set and a COLLECT took effect.
 *  - EINVAL: the size is smaller than the first version of the structure;
 *    a flag, reserved field, option or value is invalid; the handshake has
 *    not been done (or is tried twice).
 *  - E2BIG: the structure is larger than the kernel's and the part beyond it
 *    is not zero.
 *  - EPERM: the caller's process does not own this heap (a heap that
 *    GCMEM_IOC_FORK made is owned by no process until GCMEM_IOC_ADOPT).
 *  - EBUSY: the request conflicts with the heap's state (documented per
 *    ioctl).
 *  - ENOMEM: the kernel ran out of memory, or the heap reached its limit.
 *  - ENOENT: a type, thread or root named by the caller does not exist.
 *  - ENOSPC: a per-heap table (types, threads, roots) is full.
 *  - EEXIST: a root range overlaps one registered already.
 *  - EBADF: an event file descriptor is not an eventfd.
 *
 * and for mmap:
 *
 *  - EINVAL: unknown offset, wrong length, ``MAP_PRIVATE``, or no handshake;
 *    an adopted heap's arena at another address or length than the one it
 *    was copied from.
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
	GCMEM_CMD_TYPE_REGISTER = 0x83,
	GCMEM_CMD_THREAD_REGISTER = 0x84,
	GCMEM_CMD_THREAD_UNREGISTER = 0x85,
	GCMEM_CMD_REFILL = 0x86,
	GCMEM_CMD_ALLOC_LARGE = 0x87,
	GCMEM_CMD_ROOT_ADD = 0x88,
	GCMEM_CMD_ROOT_REMOVE = 0x89,
	GCMEM_CMD_QUERY = 0x8a,
	GCMEM_CMD_COLLECT = 0x8b,
	GCMEM_CMD_SAFEPOINT = 0x8c,
	GCMEM_CMD_BLOCKING_LEAVE = 0x8d,
	GCMEM_CMD_FREE = 0x8e,
	GCMEM_CMD_FORK = 0x8f,
	GCMEM_CMD_ADOPT = 0x90,
	GCMEM_CMD_FINALIZER = 0x91,
	GCMEM_CMD_FINALIZE = 0x92,
	GCMEM_CMD_WEAK = 0x93,
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
 *    cannot be split, moved, grown or inherited by a child process;
 *  - one thread slot per registered thread (struct gcmem_thread_slot),
 *    GCMEM_THREAD_SLOT_SIZE bytes, read-write, at the offset
 *    GCMEM_IOC_THREAD_REGISTER returns.
 *
 * The arena is the heap: spans of GCMEM_PAGE_SIZE pages are carved from it
 * by GCMEM_IOC_REFILL and GCMEM_IOC_ALLOC_LARGE, which are the only way to
 * get heap memory. Memory they hand out is zeroed.
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
#define GCMEM_MMAP_THREADS	0x10000000ULL
#define GCMEM_MMAP_ARENA	0x100000000ULL
#define GCMEM_CONTROL_SIZE	4096
#define GCMEM_CHUNK_SIZE	(2UL << 20)

/* The heap's page: spans are runs of these. */
#define GCMEM_PAGE_SIZE		8192
/* Objects up to this size come from size-class spans, larger ones alone. */
#define GCMEM_SMALL_MAX		32768
/* Upper bound of the number of size classes (the control page has the table). */
#define GCMEM_MAX_CLASSES	80

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
 * @GCMEM_OPTION_GCPERCENT: pacing: a collection starts when the heap in use
 *	reaches the bytes marked by the last one times (1 + gcpercent / 100).
 *	0 to GCMEM_GCPERCENT_MAX, or GCMEM_GCPERCENT_OFF to collect only on
 *	request and at the limit. Default 100.
 * @GCMEM_OPTION_MODE: how a cycle runs, one of enum gcmem_mode; taken by
 *	the next cycle. Default GCMEM_MODE_CONCURRENT, or GCMEM_MODE_STW if
 *	the module was loaded with concurrent=0.
 * @GCMEM_OPTION_CONCURRENT_MIN: in GCMEM_MODE_CONCURRENT, the bytes the
 *	last cycle must have marked (for the first cycle: the heap must hold
 *	in use) for the next to mark concurrently; a cycle of a smaller heap
 *	runs as in GCMEM_MODE_STW, which costs less there than tracking the
 *	program's writes. 0 to GCMEM_CONCURRENT_MIN_MAX; 0: every cycle
 *	concurrent. Default 1 MiB, or the module's concurrent_min_live.
 */
enum gcmem_option_id {
	GCMEM_OPTION_LIMIT = 1,
	GCMEM_OPTION_GCPERCENT = 2,
	GCMEM_OPTION_MODE = 3,
	GCMEM_OPTION_CONCURRENT_MIN = 4,
};

/* The largest GCMEM_OPTION_CONCURRENT_MIN: the largest arena, 64 GiB. */
#define GCMEM_CONCURRENT_MIN_MAX	(64ULL << 30)

/**
 * enum gcmem_mode - values of GCMEM_OPTION_MODE
 * @GCMEM_MODE_STW: the world stays stopped from the stop to the sweep
 * @GCMEM_MODE_CONCURRENT: the world is stopped to scan the stacks, runs
 *	while the workers mark, and is stopped again to finish the mark
 *	(stacks, roots and the objects on pages the program wrote meanwhile
 *	scanned again) and to sweep the spans threads cache; the rest is
 *	swept beside the program. The program's writes to the arena are
 *	tracked by the kernel: no write barrier in user code. Threads keep
 *	allocating during the mark, refills and large objects included, until
 *	the heap reaches its goal (or has grown by 4 MiB since the cycle
 *	began, if that is more); past that, and for GCMEM_IOC_FREE,
 *	GCMEM_IOC_FORK, GCMEM_IOC_COLLECT and an allocation that finds the
 *	heap at its limit, they wait for the cycle to end. A heap with less
 *	to mark than GCMEM_OPTION_CONCURRENT_MIN runs stop-the-world cycles.
 */
enum gcmem_mode {
	GCMEM_MODE_STW = 0,
	GCMEM_MODE_CONCURRENT = 1,
};

/* GCMEM_OPTION_GCPERCENT value that turns pacing off. */
#define GCMEM_GCPERCENT_OFF	(~0ULL)
#define GCMEM_GCPERCENT_MAX	100000

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

#define GCMEM_PAUSE_BUCKETS	24

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
 * @inuse_bytes: out: bytes of arena pages in spans handed out
 * @spans: out: spans in use (small and large)
 * @refills: out: successful GCMEM_IOC_REFILL calls that handed out a span
 * @large_objects: out: successful GCMEM_IOC_ALLOC_LARGE calls
 * @small_allocated: out: small objects allocated, counted when their span
 *	comes back to the kernel
 * @cycles: out: completed collection cycles
 * @abandoned: out: cycles abandoned (nothing freed)
 * @forced_stops: out: threads stopped by the kernel after missing the
 *	safepoint deadline
 * @pause_total_ns: out: total stop-the-world time
 * @pause_max_ns: out: longest stop-the-world pause
 * @pause_hist: out: pauses by duration: bucket i counts pauses of
 *	[2^i, 2^(i+1)) microseconds, bucket 0 also shorter ones, the last
 *	also longer ones
 * @marked_bytes: out: bytes of objects marked by the last cycle whose sweep
 *	is over (a concurrent cycle's sweep runs after its @cycles count
 *	went up; a gcu_collect() returns after it)
 * @heap_before: out: heap in use (bytes in spans) before the last cycle
 * @heap_after: out: heap in use after the last finished sweep, without the
 *	empty spans it kept for reuse (idle: still in @inuse_bytes)
 * @freed_bytes: out: bytes of objects freed by all finished sweeps
 * @worker_ns: out: time mark workers spent on this heap's cycles
 * @checkmark_failures: out: objects the debug checkmark pass found
 *	reachable but unmarked (always 0 unless the collector is broken)
 * @stop_total_ns: out: time completed cycles spent stopping the world
 *	(from the request to the last thread stopped or claimed); for a
 *	concurrent cycle, which stops no thread at its start, the start
 *	(arming the write tracking, gathering the roots)
 * @mark_total_ns: out: time completed cycles spent marking (from posting
 *	the cycle to the workers to the getfull barrier; wall clock)
 * @sweep_total_ns: out: time completed cycles spent sweeping in their
 *	(last) pause: the spans threads cache (see @concurrent_sweep_ns)
 * @cow_copies: out: chunks copied because the heap wrote a chunk it
 *	shared with a fork's copy (GCMEM_IOC_FORK); a chunk shared with no
 *	one any more is written without a copy
 * @threads: out: registered threads
 * @types: out: registered types, the two built-in ones included
 * @roots: out: registered root ranges
 * @pauses: out: stop-the-world pauses (one a cycle in either mode: a
 *	concurrent cycle's, at mark termination)
 * @concurrent_cycles: out: completed cycles that marked beside the program
 * @markterm_total_ns: out: time completed concurrent cycles spent in their
 *	pause before the sweep (stop, stacks, roots and written chunks
 *	scanned again, drain, finalizers, checkmark)
 * @rescanned_chunks: out: chunks the program wrote during a concurrent mark,
 *	whose marked objects mark termination scanned again
 * @precleaned_chunks: out: chunks whose marked objects a concurrent mark
 *	scanned again while the program ran (precleaning), taken in rounds
 * @track_faults: out: write faults taken to track the program's writes
 * @concurrent_sweep_ns: out: time spent sweeping the other spans after a
 *	cycle's restart, beside the program (by the kernel's driver, by the
 *	thread that ran the cycle, by refills, by whoever needed the sweep
 *	finished)
 * @precleaned_pages: out: the pages (PAGE_SIZE) of @precleaned_chunks
 *	the program wrote, whose marked objects were scanned again; a chunk
 *	tracked whole (mapped by one PMD, or written at many pages) counts
 *	all its pages
 * @rescanned_pages: out: the same for @rescanned_chunks
 * @swept_cycles: out: the last cycle whose sweep is over: @marked_bytes,
 *	@freed_bytes, @heap_after and @concurrent_sweep_ns include it (a
 *	concurrent cycle is counted in @cycles at its pause, and swept
 *	after it)
 * @ragged_scans: out: stacks scanned while a concurrent cycle ran beside
 *	the program: by running threads at a safepoint, asked to without
 *	stopping (its SCAN and precleaning rounds), and, in its SCAN, of
 *	blocked threads, by the mark workers, in place and unclaimed
 * @markterm_stop_ns: out: the part of @markterm_total_ns spent stopping
 *	the world (from the request to the last thread stopped, the
 *	threads' scans of their own stacks included)
 * @markterm_rescan_ns: out: the part of @markterm_total_ns spent marking
 *	again: taking the written chunks, scanning the roots, the stopped
 *	threads' stacks and the marked objects of the written chunks, and the
 *	drain (the rest: weak references, finalizers, the checkmark)
 * @split_chunks: out: chunks mapped by one PMD whose writes proved hot in
 *	a concurrent mark (written in two harvests running), mapped by pages
 *	from then on so that their writes are tracked by the page
 * @assist_marked: out: objects marked by threads that helped a concurrent
 *	mark (mark assists) while their requests waited for it to end
 * @wait_ns: out: time requests spent waiting for a concurrent cycle to
 *	end, their mark assists included: allocations at the cycle's goal
 *	or in its precleaning's last round, and the requests that never run
 *	beside a mark (explicit frees, collections, fork)
 * @waits: out: such waits
 * @alone_marks: out: marks the collector's driver ran alone with the world
 *	stopped, not waking the mark workers, because they looked small (a
 *	small heap's stop-the-world mark, a concurrent cycle's remark)
 * @alone_handovers: out: of @alone_marks, those that proved bigger than
 *	they looked: the workers took on their rest (the module's
 *	mark_alone_objs)
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
	__aligned_u64 inuse_bytes;
	__aligned_u64 spans;
	__aligned_u64 refills;
	__aligned_u64 large_objects;
	__aligned_u64 small_allocated;
	__u32 threads;
	__u32 types;
	__u32 roots;
	__u32 __reserved;
	__aligned_u64 cycles;
	__aligned_u64 abandoned;
	__aligned_u64 forced_stops;
	__aligned_u64 pause_total_ns;
	__aligned_u64 pause_max_ns;
	__aligned_u64 pause_hist[GCMEM_PAUSE_BUCKETS];
	__aligned_u64 marked_bytes;
	__aligned_u64 heap_before;
	__aligned_u64 heap_after;
	__aligned_u64 freed_bytes;
	__aligned_u64 worker_ns;
	__aligned_u64 checkmark_failures;
	__aligned_u64 stop_total_ns;
	__aligned_u64 mark_total_ns;
	__aligned_u64 sweep_total_ns;
	__aligned_u64 cow_copies;
	__aligned_u64 pauses;
	__aligned_u64 concurrent_cycles;
	__aligned_u64 markterm_total_ns;
	__aligned_u64 rescanned_chunks;
	__aligned_u64 track_faults;
	__aligned_u64 precleaned_chunks;
	__aligned_u64 concurrent_sweep_ns;
	__aligned_u64 precleaned_pages;
	__aligned_u64 rescanned_pages;
	__aligned_u64 swept_cycles;
	__aligned_u64 ragged_scans;
	__aligned_u64 markterm_stop_ns;
	__aligned_u64 markterm_rescan_ns;
	__aligned_u64 split_chunks;
	__aligned_u64 assist_marked;
	__aligned_u64 wait_ns;
	__aligned_u64 waits;
	__aligned_u64 alone_marks;
	__aligned_u64 alone_handovers;
};

#define GCMEM_IOC_STATS		_IO(GCMEM_TYPE, GCMEM_CMD_STATS)

/**
 * DOC: Types
 *
 * Every object has a type that says which of its words may hold pointers.
 * Two are built in: GCMEM_TYPE_CONSERVATIVE (every word may be a pointer;
 * what C code gets by default) and GCMEM_TYPE_NOSCAN (no pointers at all).
 * A registered type has a size (a multiple of 8, at most
 * GCMEM_TYPE_MAX_SIZE) and a pointer mask, one bit per 8-byte word, bit i
 * of 64-bit word i / 64 set when word i may hold a pointer. An object of a
 * registered type may be a single value or an array of them: the mask
 * repeats over the whole object, so arrays and single values share spans.
 *
 * All objects in a span have the span's type, and the kernel sets the
 * span's pointer bits when it hands the span out: user space never writes
 * collector metadata.
 */
#define GCMEM_TYPE_CONSERVATIVE	0
#define GCMEM_TYPE_NOSCAN	1
#define GCMEM_TYPE_MAX_SIZE	65536
#define GCMEM_MAX_TYPES		4096

/**
 * struct gcmem_type_register - ioctl(GCMEM_IOC_TYPE_REGISTER)
 * @size: sizeof(struct gcmem_type_register)
 * @flags: must be 0
 * @type_size: size of one value of the type in bytes: a multiple of 8,
 *	from 8 to GCMEM_TYPE_MAX_SIZE
 * @type_id: out: the new type's id
 * @ptrmask: user pointer to the pointer mask, (@type_size / 8 + 63) / 64
 *	64-bit words; bits beyond @type_size / 8 must be zero
 *
 * Registers a type for the life of the heap. ENOSPC when the heap has
 * GCMEM_MAX_TYPES types.
 */
struct gcmem_type_register {
	__u32 size;
	__u32 flags;
	__u32 type_size;
	__u32 type_id;
	__aligned_u64 ptrmask;
};

#define GCMEM_IOC_TYPE_REGISTER	_IO(GCMEM_TYPE, GCMEM_CMD_TYPE_REGISTER)

#define GCMEM_MAX_THREADS	1024
#define GCMEM_THREAD_CACHES	1024
#define GCMEM_THREAD_SLOT_SIZE	8192

/**
 * enum gcmem_thread_status - the status word of a thread slot
 * @GCMEM_THREAD_RUNNING: running user code
 * @GCMEM_THREAD_BLOCKED: inside a blocking call (gcu_blocking_enter()),
 *	with its callee-saved registers and stack pointer in the slot
 * @GCMEM_THREAD_PARKED: stopped at a safepoint (set by the kernel)
 * @GCMEM_THREAD_DEAD: unregistered or exited
 * @GCMEM_THREAD_SCAN: added to a status while the collector owns the
 *	thread's stack: a thread that finds it set on leaving BLOCKED must
 *	wait in GCMEM_IOC_BLOCKING_LEAVE
 *
 * Every change is a compare-and-swap. The thread itself moves RUNNING <->
 * BLOCKED; the kernel moves BLOCKED -> BLOCKED|SCAN -> BLOCKED (a stopped
 * world), RUNNING -> RUNNING|SCAN -> PARKED -> RUNNING (a safepoint) and
 * anything -> DEAD.
 */
enum gcmem_thread_status {
	GCMEM_THREAD_RUNNING = 0,
	GCMEM_THREAD_BLOCKED = 1,
	GCMEM_THREAD_PARKED = 2,
	GCMEM_THREAD_DEAD = 3,
	GCMEM_THREAD_SCAN = 0x100,
};

/**
 * struct gcmem_thread_slot - a registered thread's shared page
 * @status: enum gcmem_thread_status
 * @thread_id: the thread's id, as GCMEM_IOC_THREAD_REGISTER returned it
 * @blocked_sp: while BLOCKED, the lowest stack address that may hold a
 *	pointer; the collector scans from there to the stack's top
 * @blocked_regs: while BLOCKED, the callee-saved registers at the time of
 *	gcu_blocking_enter() (x86-64: rbx, rbp, r12, r13, r14, r15)
 * @answered_epoch: written by the kernel: the (odd) @safepoint_epoch of the
 *	control page at the last ragged scan the thread did in
 *	GCMEM_IOC_SAFEPOINT; while the epoch still equals it, the thread
 *	need not call in again (a stop always makes a new odd epoch)
 * @__reserved: 0
 * @cursor: for each cache index, the allocation cursor of the span cached
 *	there: every slot of the span below the cursor that was free when the
 *	span was handed out is allocated. The thread advances it as it
 *	allocates; the kernel reads it (and clamps it to the span) when the
 *	span comes back.
 *
 * Written by the thread; everything the kernel reads here is untrusted.
 */
struct gcmem_thread_slot {
	__u32 status;
	__u32 thread_id;
	__aligned_u64 blocked_sp;
	__aligned_u64 blocked_regs[6];
	__aligned_u64 answered_epoch;
	__aligned_u64 __reserved[7];
	__u32 cursor[GCMEM_THREAD_CACHES];
};

/**
 * struct gcmem_thread_register - ioctl(GCMEM_IOC_THREAD_REGISTER)
 * @size: sizeof(struct gcmem_thread_register)
 * @flags: must be 0
 * @stack_lo: lowest address of the calling thread's stack
 * @stack_hi: one past its highest address; the range must be non-empty,
 *	lie in user space and not overlap the arena
 * @eventfd: an eventfd the collector signals to ask the thread to stop, or
 *	-1 for none
 * @thread_id: out: the thread's id
 * @slot_offset: out: mmap offset of the thread's slot
 *
 * Registers the calling thread. EBUSY if it is registered already, ENOSPC
 * beyond GCMEM_MAX_THREADS threads, EBADF if @eventfd is not an eventfd,
 * EPERM from a process other than the one that opened the heap (also one
 * sharing its memory through clone(CLONE_VM)): only threads of that
 * process can be registered.
 */
struct gcmem_thread_register {
	__u32 size;
	__u32 flags;
	__aligned_u64 stack_lo;
	__aligned_u64 stack_hi;
	__s32 eventfd;
	__u32 thread_id;
	__aligned_u64 slot_offset;
};

#define GCMEM_IOC_THREAD_REGISTER _IO(GCMEM_TYPE, GCMEM_CMD_THREAD_REGISTER)

/**
 * struct gcmem_thread_unregister - ioctl(GCMEM_IOC_THREAD_UNREGISTER)
 * @size: sizeof(struct gcmem_thread_unregister)
 * @flags: must be 0
 * @thread_id: a thread of this heap (any thread of the process may
 *	unregister any other, e.g. after it exited)
 * @__reserved: must be 0
 *
 * Hands back every span the thread caches, with its cursor, and frees the
 * thread's id. ENOENT if @thread_id is not registered.
 */
struct gcmem_thread_unregister {
	__u32 size;
	__u32 flags;
	__u32 thread_id;
	__u32 __reserved;
};

#define GCMEM_IOC_THREAD_UNREGISTER \
	_IO(GCMEM_TYPE, GCMEM_CMD_THREAD_UNREGISTER)

/**
 * enum gcmem_refill_flags - flags of struct gcmem_refill
 * @GCMEM_REFILL_RELEASE: only hand back the span cached at @cache_index;
 *	@size_class, @type_id and the outputs are ignored
 */
enum gcmem_refill_flags {
	GCMEM_REFILL_RELEASE = 1 << 0,
};

/**
 * struct gcmem_refill - ioctl(GCMEM_IOC_REFILL)
 * @size: sizeof(struct gcmem_refill)
 * @flags: enum gcmem_refill_flags
 * @thread_id: the calling thread's id
 * @cache_index: below GCMEM_THREAD_CACHES: which of the thread's caches
 * @size_class: 1 to the control page's @nclasses - 1
 * @type_id: the type of the span wanted
 * @bitmap_words: capacity of @alloc_bitmap in 64-bit words; at least
 *	(@nelems + 63) / 64 of the class
 * @alloc_bitmap: user pointer: receives the new span's alloc bits, bit i
 *	set when slot i is already allocated
 * @span_base: out: user address of the new span
 * @elem_size: out: object size of the class
 * @nelems: out: number of object slots in the span
 * @cursor: out: index of the first free slot; also stored in the thread
 *	slot's cursor[@cache_index]
 * @__reserved: must be 0
 * @__reserved2: must be 0
 *
 * The allocation slow path. The span cached at @cache_index, if any, comes
 * back to the kernel with the cursor read from the thread slot; a span of
 * (@size_class, @type_id) with free slots takes its place. The free slots
 * of the new span are zeroed. Only the registered thread itself may refill
 * its caches (EPERM otherwise). ENOMEM when the heap is at its limit (the
 * old span is handed back all the same).
 */
struct gcmem_refill {
	__u32 size;
	__u32 flags;
	__u32 thread_id;
	__u32 cache_index;
	__u32 size_class;
	__u32 type_id;
	__u32 bitmap_words;
	__u32 __reserved;
	__aligned_u64 alloc_bitmap;
	__aligned_u64 span_base;
	__u32 elem_size;
	__u32 nelems;
	__u32 cursor;
	__u32 __reserved2;
};

#define GCMEM_IOC_REFILL	_IO(GCMEM_TYPE, GCMEM_CMD_REFILL)

/**
 * enum gcmem_alloc_large_flags - flags of GCMEM_IOC_ALLOC_LARGE
 * @GCMEM_LARGE_IGNORE_OFF_PAGE: the caller keeps a pointer into the
 *	object's first GCMEM_PAGE_SIZE bytes for as long as it is in use;
 *	pointers further in do not keep it alive (bdwgc's
 *	GC_malloc_ignore_off_page), so that stray integers that happen to
 *	point into a big buffer do not retain it
 */
enum gcmem_alloc_large_flags {
	GCMEM_LARGE_IGNORE_OFF_PAGE = 1 << 0,
};

/**
 * struct gcmem_alloc_large - ioctl(GCMEM_IOC_ALLOC_LARGE)
 * @size: sizeof(struct gcmem_alloc_large)
 * @flags: enum gcmem_alloc_large_flags
 * @type_id: the object's type
 * @__reserved: must be 0
 * @bytes: the object's size, from 1 to the heap's limit
 * @addr: out: the object's address, GCMEM_PAGE_SIZE aligned, zeroed
 *
 * Allocates an object in a span of its own (any size; objects above
 * GCMEM_SMALL_MAX must come from here). ENOMEM at the heap's limit.
 */
struct gcmem_alloc_large {
	__u32 size;
	__u32 flags;
	__u32 type_id;
	__u32 __reserved;
	__aligned_u64 bytes;
	__aligned_u64 addr;
};

#define GCMEM_IOC_ALLOC_LARGE	_IO(GCMEM_TYPE, GCMEM_CMD_ALLOC_LARGE)

#define GCMEM_MAX_ROOTS		4096

/**
 * struct gcmem_root - ioctl(GCMEM_IOC_ROOT_ADD) and ioctl(GCMEM_IOC_ROOT_REMOVE)
 * @size: sizeof(struct gcmem_root)
 * @flags: must be 0
 * @type_id: add: how to scan the range: GCMEM_TYPE_CONSERVATIVE or a
 *	registered type whose mask repeats over the range; remove: ignored
 * @__reserved: must be 0
 * @start: first byte of the range; 8-byte aligned
 * @len: its length in bytes, a multiple of 8, non-zero; the range must lie
 *	in user space outside the arena
 *
 * Adds a range of the process's memory to the roots the collector scans,
 * or removes the range added with exactly this @start and @len (ENOENT
 * if there is none). ENOSPC beyond GCMEM_MAX_ROOTS ranges; EEXIST when
 * adding a range with the @start of another.
 */
struct gcmem_root {
	__u32 size;
	__u32 flags;
	__u32 type_id;
	__u32 __reserved;
	__aligned_u64 start;
	__aligned_u64 len;
};

#define GCMEM_IOC_ROOT_ADD	_IO(GCMEM_TYPE, GCMEM_CMD_ROOT_ADD)
#define GCMEM_IOC_ROOT_REMOVE	_IO(GCMEM_TYPE, GCMEM_CMD_ROOT_REMOVE)

/**
 * enum gcmem_query_result - what GCMEM_IOC_QUERY found at an address
 * @GCMEM_QUERY_IN_HEAP: the address lies in this heap's arena
 * @GCMEM_QUERY_IN_SPAN: it lies in a span handed out; the object fields
 *	are valid
 * @GCMEM_QUERY_ALLOCATED: the object slot is allocated
 * @GCMEM_QUERY_CACHED: the span is cached by a thread (its allocation
 *	state comes from the thread's cursor)
 * @GCMEM_QUERY_LARGE: the object is large, alone in its span
 */
enum gcmem_query_result {
	GCMEM_QUERY_IN_HEAP = 1 << 0,
	GCMEM_QUERY_IN_SPAN = 1 << 1,
	GCMEM_QUERY_ALLOCATED = 1 << 2,
	GCMEM_QUERY_CACHED = 1 << 3,
	GCMEM_QUERY_LARGE = 1 << 4,
};

/**
 * struct gcmem_query - ioctl(GCMEM_IOC_QUERY)
 * @size: sizeof(struct gcmem_query)
 * @flags: must be 0
 * @addr: the address asked about; any value
 * @result: out: enum gcmem_query_result bits
 * @type_id: out: the object's type
 * @obj_start: out: address of the object that contains @addr
 * @obj_size: out: the size of its slot (the class's size, or the large
 *	object's size rounded up to GCMEM_PAGE_SIZE)
 * @size_class: out: its size class, 0 for a large object
 * @ptrmask_words: in: capacity of @ptrmask in 64-bit words, may be 0
 * @ptrmask: in: user pointer that receives the object's pointer bits, one
 *	per 8-byte word from @obj_start (bit i of ptrmask[i / 64] for word
 *	i), as many as fit and at most 65536; the rest of the buffer is left
 *	alone
 *
 * Introspection, for tests and tools. Never fails for an address outside
 * the heap: @result is 0 then.
 */
struct gcmem_query {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__u32 result;
	__u32 type_id;
	__aligned_u64 obj_start;
	__aligned_u64 obj_size;
	__u32 size_class;
	__u32 ptrmask_words;
	__aligned_u64 ptrmask;
};

#define GCMEM_IOC_QUERY		_IO(GCMEM_TYPE, GCMEM_CMD_QUERY)

/**
 * struct gcmem_collect - ioctl(GCMEM_IOC_COLLECT)
 * @size: sizeof(struct gcmem_collect)
 * @flags: must be 0
 * @cycle: out: the number of the cycle that ran
 *
 * Runs a full collection and returns when it is over. The caller, if it is
 * a registered thread, counts as stopped while it waits. EINTR if the
 * caller is killed (the cycle is abandoned, nothing is freed); EAGAIN if
 * the cycle had to be abandoned because a thread could not be stopped.
 */
struct gcmem_collect {
	__u32 size;
	__u32 flags;
	__aligned_u64 cycle;
};

#define GCMEM_IOC_COLLECT	_IO(GCMEM_TYPE, GCMEM_CMD_COLLECT)

/**
 * struct gcmem_thread_op - ioctl(GCMEM_IOC_SAFEPOINT) and
 *	ioctl(GCMEM_IOC_BLOCKING_LEAVE)
 * @size: sizeof(struct gcmem_thread_op)
 * @flags: must be 0
 * @thread_id: the calling thread's id (EPERM for another thread's)
 * @__reserved: must be 0
 *
 * SAFEPOINT: called by a RUNNING thread that sees the control page's
 * @safepoint_epoch odd. If the collector is stopping the world, the thread
 * scans its own stack and registers and parks until the world restarts.
 * If a concurrent cycle asks for a ragged scan instead, the thread scans
 * its own stack and registers (once a request) and returns without
 * waiting; otherwise it returns at once.
 *
 * BLOCKING_LEAVE: called by a thread whose compare-and-swap BLOCKED ->
 * RUNNING failed because GCMEM_THREAD_SCAN is set: waits until the world
 * restarts and makes the thread RUNNING.
 *
 * Both waits are killable.
 */
struct gcmem_thread_op {
	__u32 size;
	__u32 flags;
	__u32 thread_id;
	__u32 __reserved;
};

#define GCMEM_IOC_SAFEPOINT	_IO(GCMEM_TYPE, GCMEM_CMD_SAFEPOINT)
#define GCMEM_IOC_BLOCKING_LEAVE _IO(GCMEM_TYPE, GCMEM_CMD_BLOCKING_LEAVE)

/**
 * struct gcmem_free - ioctl(GCMEM_IOC_FREE)
 * @size: sizeof(struct gcmem_free)
 * @flags: must be 0
 * @addr: the start of an allocated object of this heap
 *
 * Frees an object before a collection finds it unreachable (bdwgc's
 * GC_free): its slot or span is free at once and is zeroed before it is
 * handed out again. The caller promises that nothing uses the object any
 * more; a pointer to it that remains keeps nothing alive and reads memory
 * that will be reused. EINVAL when @addr is not the start of an allocated
 * object: outside the arena, not in a span, inside an object, or an
 * object already free (a double free is caught as long as the slot has
 * not been allocated again).
 */
struct gcmem_free {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
};

#define GCMEM_IOC_FREE		_IO(GCMEM_TYPE, GCMEM_CMD_FREE)

/**
 * struct gcmem_fork - ioctl(GCMEM_IOC_FORK)
 * @size: sizeof(struct gcmem_fork)
 * @flags: must be 0
 *
 * Makes a copy of the heap for a child process, to be called just before
 * fork(): returns, as the ioctl's value, a new close-on-exec file
 * descriptor of a new heap that holds a copy of this heap's memory and
 * objects at the same arena addresses, with its types, roots, limit and
 * pacing. Spans that threads hold are handed back in the copy, every slot
 * a thread took counted as allocated (its cursor read after the memory is
 * copied). Statistics start from zero. The copy is made under the heap's
 * lock, so no collection runs meanwhile; a registered thread that writes
 * the heap during the call may or may not see its write in the copy, as
 * with any memory written by another thread during fork().
 *
 * The memory is copied on write, a chunk at a time: the two heaps share
 * the chunks' pages, mapped read-only, until either writes one (its
 * mapping, or the kernel zeroing slots for it); that heap then gets a copy
 * of the chunk (@cow_copies in struct gcmem_stats). A chunk the other heap
 * no longer shares (its process exec'd or exited) is not copied. The
 * call's own cost is the heap's metadata, not its memory.
 *
 * The new heap belongs to no process until one adopts it
 * (GCMEM_IOC_ADOPT); until then every other ioctl and mmap of it fails
 * with EPERM. Its chunks count against the same limit (ENOMEM if they do
 * not fit), and a chunk copied on write is charged to the memory cgroup of
 * the task whose write needed the copy.
 */
struct gcmem_fork {
	__u32 size;
	__u32 flags;
};

#define GCMEM_IOC_FORK		_IO(GCMEM_TYPE, GCMEM_CMD_FORK)

/**
 * struct gcmem_adopt - ioctl(GCMEM_IOC_ADOPT)
 * @size: sizeof(struct gcmem_adopt)
 * @flags: must be 0
 *
 * Makes the calling process the owner of a heap GCMEM_IOC_FORK made (the
 * child after fork()). The heap is ready: map its control page, map its
 * arena at exactly the address and length it had (GCMEM_IOC_STATS'
 * @arena_start and @arena_size; any other arena mapping is EINVAL), and
 * register threads. EBUSY if the heap has an owner already.
 */
struct gcmem_adopt {
	__u32 size;
	__u32 flags;
};

#define GCMEM_IOC_ADOPT		_IO(GCMEM_TYPE, GCMEM_CMD_ADOPT)

/**
 * DOC: Finalization and weak references
 *
 * The collector's part of finalizers and weak references; calling the
 * finalizers is the library's. At the end of marking, with the world still
 * stopped, a cycle:
 *
 *  1. marks the objects waiting to be taken with GCMEM_IOC_FINALIZE, and
 *     what they reach (they are alive until the program has them);
 *  2. clears the weak references (GCMEM_IOC_WEAK) whose object is
 *     unmarked: it writes 0 to their location;
 *  3. marks what each unmarked object with a finalizer (GCMEM_IOC_FINALIZER)
 *     reaches, not the object itself (GCMEM_FINALIZER_IGNORE_SELF: nor its
 *     pointers into itself; GCMEM_FINALIZER_NO_ORDER: nothing);
 *  4. makes ready every object with a finalizer still unmarked -- reachable
 *     neither from the roots nor from another such object -- and marks it
 *     and what it reaches: it leaves the finalizer set for the ready set,
 *     and the control page's @finalizers_ready counts it;
 *  5. clears the long weak references (GCMEM_WEAK_LONG) whose object is
 *     still unmarked, then forgets every weak reference whose location is
 *     in an object this cycle frees.
 *
 * So with finalizers A -> B, both unreachable, A is finalized first, and B
 * at a cycle after A is gone (bdwgc's default order); an object reachable
 * from itself (a cycle through other objects) is never finalized unless it
 * is registered with NO_ORDER. A finalizer may store its object somewhere
 * reachable (resurrection): it is then an ordinary object again, with no
 * finalizer unless registered anew.
 *
 * A weak reference whose location cannot be written (unmapped, read-only)
 * keeps its object alive instead, and is tried again at the next cycle. An
 * object given back early (GCMEM_IOC_FREE) loses its finalizer and the
 * weak references that live in it; weak references to it are the
 * program's to drop. A registration whose object is no longer allocated
 * is dropped.
 */

/**
 * struct gcmem_finalizer - ioctl(GCMEM_IOC_FINALIZER)
 * @size: sizeof(struct gcmem_finalizer)
 * @flags: GCMEM_FINALIZER_* (at most one of NO_ORDER, IGNORE_SELF and
 *	REMOVE)
 * @addr: the start of an allocated object
 *
 * Registers the object for finalization (replacing its order if it had a
 * finalizer), or with GCMEM_FINALIZER_REMOVE takes the registration back
 * (ENOENT if there was none). EINVAL if @addr is not the start of an
 * allocated object.
 */
struct gcmem_finalizer {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
};

#define GCMEM_FINALIZER_NO_ORDER	0x1
#define GCMEM_FINALIZER_IGNORE_SELF	0x2
#define GCMEM_FINALIZER_REMOVE		0x4

#define GCMEM_IOC_FINALIZER	_IO(GCMEM_TYPE, GCMEM_CMD_FINALIZER)

/**
 * struct gcmem_finalize - ioctl(GCMEM_IOC_FINALIZE)
 * @size: sizeof(struct gcmem_finalize)
 * @flags: must be 0
 * @buf: user pointer to an array of @count 64-bit words
 * @count: in: the array's length, at most GCMEM_FINALIZE_MAX; out: the
 *	objects written to it
 * @__reserved: must be 0
 * @remaining: out: objects still ready after the call
 *
 * Takes objects whose finalizer is ready (oldest first): writes their
 * addresses to @buf and forgets them. From then on they are kept alive only
 * by what the program keeps: @buf must be memory the collector scans (a
 * registered root, an uncollectable object), or an object may be freed
 * before its finalizer runs. EFAULT, with nothing taken, if the first
 * address cannot be written.
 */
struct gcmem_finalize {
	__u32 size;
	__u32 flags;
	__aligned_u64 buf;
	__u32 count;
	__u32 __reserved;
	__aligned_u64 remaining;
};

#define GCMEM_FINALIZE_MAX	4096

#define GCMEM_IOC_FINALIZE	_IO(GCMEM_TYPE, GCMEM_CMD_FINALIZE)

/**
 * struct gcmem_weak - ioctl(GCMEM_IOC_WEAK)
 * @size: sizeof(struct gcmem_weak)
 * @flags: GCMEM_WEAK_LONG (a long reference: cleared only once the object
 *	is freed, not while it waits for its finalizer), and at most one of
 *	GCMEM_WEAK_REMOVE and GCMEM_WEAK_MOVE
 * @link: user address of the reference, 8-byte aligned: the collector
 *	writes 0 there when it clears it
 * @addr: the start of an allocated object (0 with GCMEM_WEAK_REMOVE; with
 *	GCMEM_WEAK_MOVE, the reference's new user address, 8-byte aligned)
 *
 * Registers @link as a weak reference to the object at @addr. Returns 0,
 * or 1 if @link was registered already (with the same LONG flag): it now
 * refers to @addr. With GCMEM_WEAK_REMOVE, takes the registration of
 * @link (short or long, as @flags say) back: ENOENT if there was none.
 * With GCMEM_WEAK_MOVE, the registration of @link becomes one of @addr
 * (bdwgc's GC_move_disappearing_link: a table that moves its entries):
 * ENOENT if @link has none, EEXIST if @addr has one already (nothing
 * changes), ENOMEM, or 0 when moved or when @addr is @link.
 * EINVAL if @addr is not the start of an allocated object or @link is not
 * an aligned user address. The reference itself is the program's to store:
 * where the collector scans it (a conservative object, a root), it is a
 * strong reference, so the program keeps it where nothing scans it (a
 * GCMEM_TYPE_NOSCAN object, memory not registered as a root) or hidden
 * (bdwgc's HIDE_POINTER), as with bdwgc's disappearing links.
 */
struct gcmem_weak {
	__u32 size;
	__u32 flags;
	__aligned_u64 link;
	__aligned_u64 addr;
};

#define GCMEM_WEAK_LONG		0x1
#define GCMEM_WEAK_REMOVE	0x2
#define GCMEM_WEAK_MOVE		0x4

#define GCMEM_IOC_WEAK		_IO(GCMEM_TYPE, GCMEM_CMD_WEAK)

/**
 * enum gcmem_phase - collector phase, published in the control page
 * @GCMEM_PHASE_OFF: no collection in progress
 * @GCMEM_PHASE_SCAN: stopping the world; threads scan their own stacks
 * @GCMEM_PHASE_MARK: mark workers trace the heap from the roots (beside the
 *	running program in GCMEM_MODE_CONCURRENT)
 * @GCMEM_PHASE_MARKTERM: the world stops (again) for the end of marking
 * @GCMEM_PHASE_SWEEP: unmarked objects are freed
 */
enum gcmem_phase {
	GCMEM_PHASE_OFF = 0,
	GCMEM_PHASE_SCAN = 1,
	GCMEM_PHASE_MARK = 2,
	GCMEM_PHASE_MARKTERM = 3,
	GCMEM_PHASE_SWEEP = 4,
};

#define GCMEM_CONTROL_MAGIC	0x67636d65	/* "gcme" */

/**
 * struct gcmem_control - the read-only control page
 * @magic: GCMEM_CONTROL_MAGIC
 * @api_version: GCMEM_API_VERSION
 * @phase: the collector's enum gcmem_phase
 * @__pad: 0
 * @cycle: number of collection cycles started
 * @safepoint_epoch: odd while the collector wants the world stopped, or
 *	(for a few milliseconds of a concurrent mark) each running thread's
 *	stack scanned: a RUNNING thread that sees it odd calls
 *	GCMEM_IOC_SAFEPOINT, which parks it or not; an odd epoch alone does
 *	not say the world is stopping
 * @committed: bytes of arena memory the heap holds, as in struct gcmem_stats
 * @limit: the heap's limit
 * @nclasses: number of size classes; class 0 means "large"
 * @__pad2: 0
 * @class_size: object size of each size class
 * @class_npages: GCMEM_PAGE_SIZE pages per span of each size class
 * @finalizers_ready: objects whose finalizer is ready, waiting for
 *	GCMEM_IOC_FINALIZE
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
	__u32 nclasses;
	__u32 __pad2;
	__u32 class_size[GCMEM_MAX_CLASSES];
	__u16 class_npages[GCMEM_MAX_CLASSES];
	__aligned_u64 finalizers_ready;
};

#endif /* _UAPI_LINUX_GCMEM_H */
