// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgcuser: the thread's side of collection — safepoints, blocking calls,
 * explicit collections and GCU_TRACE.
 *
 * The kernel stops the world; a thread only has to come into the kernel
 * when asked (the control page's safepoint epoch is odd) and to publish its
 * registers and stack pointer before it blocks. See enum
 * gcmem_thread_status in uapi/linux/gcmem.h for the status protocol.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "internal.h"

int gcu_trace;
static uint64_t gcu_traced_cycle;

static int gcu_thread_op(unsigned long cmd, struct gcu_thread *t)
{
	struct gcmem_thread_op op = {
		.size = sizeof(op),
		.thread_id = t->id,
	};

	return ioctl(gcu.info.fd, cmd, &op);
}

void gcu_safepoint_slow(struct gcu_thread *t)
{
	uint64_t n;

	/* Consume the stop request so an event loop does not spin on it. */
	if (read(t->eventfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	gcu_thread_op(GCMEM_IOC_SAFEPOINT, t);
}

void gcu_safepoint(void)
{
	struct gcu_thread *t = gcu_self;

	if (t && t->generation == gcu.generation && gcu_stop_wanted(t))
		gcu_safepoint_slow(t);
}

int gcu_event_fd(void)
{
	struct gcu_thread *t = gcu_self;

	if (gcu.info.fd < 0) {
		errno = ENXIO;
		return -1;
	}
	if (!t || t->generation != gcu.generation) {
		t = gcu_thread_self_slow();
		if (!t)
			return -1;
	}
	return t->eventfd;
}

/*
 * Publish the callee-saved registers and the stack pointer, then become
 * BLOCKED. Registers the caller keeps pointers in are either these or
 * spilled to its frame, which lies above the published stack pointer.
 */
__attribute__((noinline)) void gcu_blocking_enter(void)
{
	struct gcu_thread *t = gcu_self;
	uint64_t r[7];
	uint32_t running = GCMEM_THREAD_RUNNING;

	if (!t || t->generation != gcu.generation)
		return;
#if defined(__x86_64__)
	__asm__ volatile("movq %%rbx, 0(%0)\n\t"
			 "movq %%rbp, 8(%0)\n\t"
			 "movq %%r12, 16(%0)\n\t"
			 "movq %%r13, 24(%0)\n\t"
			 "movq %%r14, 32(%0)\n\t"
			 "movq %%r15, 40(%0)\n\t"
			 "movq %%rsp, 48(%0)\n\t"
			 : : "r"(r) : "memory");
#else
#error "gcu_blocking_enter() needs the callee-saved registers of this architecture"
#endif
	memcpy((void *)t->slot->blocked_regs, r, sizeof(t->slot->blocked_regs));
	__atomic_store_n(&t->slot->blocked_sp, r[6], __ATOMIC_RELAXED);
	__atomic_compare_exchange_n(&t->slot->status, &running,
				    GCMEM_THREAD_BLOCKED, 0, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
}

void gcu_blocking_leave(void)
{
	struct gcu_thread *t = gcu_self;
	uint32_t blocked = GCMEM_THREAD_BLOCKED;

	if (!t || t->generation != gcu.generation)
		return;
	/* SCAN set: the collector has the stack; the kernel says when done. */
	/*
	 * The ioctl must succeed before this thread runs on: until then the
	 * collector may be scanning its stack. It fails only transiently
	 * (a signal, no memory to read its argument), so try again.
	 */
	if (!__atomic_compare_exchange_n(&t->slot->status, &blocked,
					 GCMEM_THREAD_RUNNING, 0,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		while (gcu_thread_op(GCMEM_IOC_BLOCKING_LEAVE, t) &&
		       (errno == EINTR || errno == EFAULT || errno == ENOMEM))
			;
	if (gcu_stop_wanted(t))
		gcu_safepoint_slow(t);
}

int gcu_collect(void)
{
	struct gcmem_collect c = { .size = sizeof(c) };
	int ret;

	if (gcu.info.fd < 0) {
		errno = ENXIO;
		return -1;
	}
	gcu_globals_sync();
	ret = ioctl(gcu.info.fd, GCMEM_IOC_COLLECT, &c) ? -1 : 0;
	if (gcu_trace)
		gcu_trace_cycles();
	gcu_after_slow_path();
	return ret;
}

int gcu_set_gcpercent(int percent)
{
	return gcu_option_set(GCMEM_OPTION_GCPERCENT,
			      percent < 0 ? GCMEM_GCPERCENT_OFF :
					    (uint64_t)percent);
}

int gcu_set_mode(int mode)
{
	return gcu_option_set(GCMEM_OPTION_MODE,
			      mode == GCU_MODE_CONCURRENT ?
				      GCMEM_MODE_CONCURRENT :
			      mode == GCU_MODE_STW ? GCMEM_MODE_STW : ~0ULL);
}

int gcu_set_concurrent_min(uint64_t bytes)
{
	return gcu_option_set(GCMEM_OPTION_CONCURRENT_MIN, bytes);
}

/*
 * One line per cycle, like GODEBUG=gctrace=1, for cycles not shown yet:
 * the pause and its stop + mark + sweep parts, in ms of wall clock; for a
 * concurrent cycle its pause's mark termination + sweep parts, its start
 * (which stops no thread) and the mark that ran beside the program. A
 * cycle is shown once its sweep is over (a concurrent cycle sweeps after
 * its pause), so that the heap figures are its own.
 */
void gcu_trace_cycles(void)
{
	const struct gcmem_control *ctl =
		(const struct gcmem_control *)gcu.info.control;
	static struct gcu_heap_stats last;
	uint64_t cycle = __atomic_load_n(&ctl->cycle, __ATOMIC_ACQUIRE);
	uint64_t seen = __atomic_load_n(&gcu_traced_cycle, __ATOMIC_RELAXED);
	struct gcu_heap_stats st;
	char parts[768];

	if (cycle == seen || gcu_stats(&st))
		return;
	/* Next time, if the last cycle's sweep is not over. */
	cycle = st.cycles;
	if (st.swept_cycles != cycle || cycle == seen ||
	    !__atomic_compare_exchange_n(&gcu_traced_cycle, &seen, cycle, 0,
					 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	if (st.concurrent_cycles != last.concurrent_cycles)
		snprintf(parts, sizeof(parts),
			 "in %" PRIu64 " pauses = %.3f+%.3f ms markterm+sweep (markterm = %.3f+%.3f+%.3f ms stop+rescan+final), start %.3f ms, concurrent mark %.3f ms, sweep %.3f ms, %" PRIu64 "+%" PRIu64 " chunks (%" PRIu64 "+%" PRIu64 " pages) precleaned+rescanned, %" PRIu64 " split to pages, %" PRIu64 " stacks scanned beside, %" PRIu64 " objects marked by assists, %.3f ms waited in %" PRIu64 " waits",
			 st.pauses - last.pauses,
			 (st.markterm_total_ns - last.markterm_total_ns) / 1e6,
			 (st.sweep_total_ns - last.sweep_total_ns) / 1e6,
			 (st.markterm_stop_ns - last.markterm_stop_ns) / 1e6,
			 (st.markterm_rescan_ns - last.markterm_rescan_ns) /
				 1e6,
			 (st.markterm_total_ns - last.markterm_total_ns -
			  (st.markterm_stop_ns - last.markterm_stop_ns) -
			  (st.markterm_rescan_ns - last.markterm_rescan_ns)) /
				 1e6,
			 (st.stop_total_ns - last.stop_total_ns) / 1e6,
			 (st.mark_total_ns - last.mark_total_ns) / 1e6,
			 (st.concurrent_sweep_ns - last.concurrent_sweep_ns) /
				 1e6,
			 st.precleaned_chunks - last.precleaned_chunks,
			 st.rescanned_chunks - last.rescanned_chunks,
			 st.precleaned_pages - last.precleaned_pages,
			 st.rescanned_pages - last.rescanned_pages,
			 st.split_chunks - last.split_chunks,
			 st.ragged_scans - last.ragged_scans,
			 st.assist_marked - last.assist_marked,
			 (st.wait_ns - last.wait_ns) / 1e6,
			 st.waits - last.waits);
	else
		snprintf(parts, sizeof(parts),
			 "= %.3f+%.3f+%.3f ms stop+mark+sweep, sweep after it %.3f ms",
			 (st.stop_total_ns - last.stop_total_ns) / 1e6,
			 (st.mark_total_ns - last.mark_total_ns) / 1e6,
			 (st.sweep_total_ns - last.sweep_total_ns) / 1e6,
			 (st.concurrent_sweep_ns - last.concurrent_sweep_ns) /
				 1e6);
	fprintf(stderr,
		"gcu: gc %" PRIu64 ": %.3f ms stw %s (%" PRIu64 " cycles since last line), heap %.1f->%.1f MiB, marked %.1f MiB, workers %.3f ms in all, %" PRIu64 " forced stops\n",
		st.cycles, (st.pause_total_ns - last.pause_total_ns) / 1e6,
		parts, cycle - seen, st.heap_before / 1048576.0,
		st.heap_after / 1048576.0, st.marked_bytes / 1048576.0,
		st.worker_ns / 1e6, st.forced_stops);
	last = st;
}
