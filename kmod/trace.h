/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gcmem tracepoints: the start and end of every collection cycle and of
 * its stop-the-world pause (events/gcmem/ in tracefs).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM gcmem

#if !defined(_GCMEM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _GCMEM_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(gcmem_cycle_start,
	TP_PROTO(pid_t tgid, u64 cycle, u64 inuse),
	TP_ARGS(tgid, cycle, inuse),
	TP_STRUCT__entry(
		__field(pid_t, tgid)
		__field(u64, cycle)
		__field(u64, inuse)
	),
	TP_fast_assign(
		__entry->tgid = tgid;
		__entry->cycle = cycle;
		__entry->inuse = inuse;
	),
	TP_printk("tgid=%d cycle=%llu inuse=%llu", __entry->tgid,
		  __entry->cycle, __entry->inuse)
);

TRACE_EVENT(gcmem_cycle_end,
	TP_PROTO(pid_t tgid, u64 cycle, int ret, u64 marked, u64 inuse),
	TP_ARGS(tgid, cycle, ret, marked, inuse),
	TP_STRUCT__entry(
		__field(pid_t, tgid)
		__field(u64, cycle)
		__field(int, ret)
		__field(u64, marked)
		__field(u64, inuse)
	),
	TP_fast_assign(
		__entry->tgid = tgid;
		__entry->cycle = cycle;
		__entry->ret = ret;
		__entry->marked = marked;
		__entry->inuse = inuse;
	),
	TP_printk("tgid=%d cycle=%llu ret=%d marked=%llu inuse=%llu",
		  __entry->tgid, __entry->cycle, __entry->ret,
		  __entry->marked, __entry->inuse)
);

TRACE_EVENT(gcmem_pause_start,
	TP_PROTO(pid_t tgid, u64 cycle),
	TP_ARGS(tgid, cycle),
	TP_STRUCT__entry(
		__field(pid_t, tgid)
		__field(u64, cycle)
	),
	TP_fast_assign(
		__entry->tgid = tgid;
		__entry->cycle = cycle;
	),
	TP_printk("tgid=%d cycle=%llu", __entry->tgid, __entry->cycle)
);

TRACE_EVENT(gcmem_pause_end,
	TP_PROTO(pid_t tgid, u64 cycle, u64 ns),
	TP_ARGS(tgid, cycle, ns),
	TP_STRUCT__entry(
		__field(pid_t, tgid)
		__field(u64, cycle)
		__field(u64, ns)
	),
	TP_fast_assign(
		__entry->tgid = tgid;
		__entry->cycle = cycle;
		__entry->ns = ns;
	),
	TP_printk("tgid=%d cycle=%llu ns=%llu", __entry->tgid,
		  __entry->cycle, __entry->ns)
);

#endif /* _GCMEM_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
