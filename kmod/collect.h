/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A collection cycle and the interfaces of its parts: mark.c, worker.c,
 * sweep.c, safepoint.c. The algorithm is described in collect.c.
 */
#ifndef _GCMEM_COLLECT_H
#define _GCMEM_COLLECT_H

#include <linux/completion.h>
#include <linux/sched.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include "gcmem.h"
#include "work.h"

/*
 * struct gcmem_root_job - one item of the parallel root scan: a range of
 * user memory (a registered root, or the stack of a BLOCKED thread from its
 * published stack pointer up) and, for a thread, its saved registers; or,
 * at a concurrent cycle's mark termination, a chunk the program wrote
 * while the workers marked (GCMEM_JOB_CHUNK, @start its index), whose
 * marked objects on its written pages in [@page_from, @page_to) are
 * scanned again.
 */
enum gcmem_job_kind {
	GCMEM_JOB_RANGE,
	GCMEM_JOB_CHUNK,
};

struct gcmem_root_job {
	enum gcmem_job_kind kind;
	unsigned long start, end;
	u16 page_from, page_to;		/* a chunk job's pages (PAGE_SIZE) */
	u32 type_id;
	u32 nregs;
	u64 regs[16];
};

/*
 * struct gcmem_deferred - a root range, or the rest of one, that a mark
 * worker could not read without a page fault; the driver reads it after
 * the workers are done (see gcmem_mark_user_range()).
 */
struct gcmem_deferred {
	struct list_head node;
	unsigned long start, end;
	u32 type_id;
	u64 first;			/* index of start's word in the root */
};

/* Workbuf owners, for the debug log: CPUs are >= 0. */
#define GCMEM_OWNER_CHECKMARK	(-1000)
#define GCMEM_OWNER_DRIVER	(-1001)
#define GCMEM_OWNER_FINALIZE	(-1002)
#define GCMEM_OWNER_ASSIST	(-1003)
#define GCMEM_OWNER_THREAD	(-2000)

/*
 * struct gcmem_cycle - one collection of one heap, from the stop to the
 * restart. Created by the thread that starts it and freed by its driver:
 * that same thread for a stop-the-world cycle or one it waits for
 * (gcmem_collect_locked()), the driver work for a concurrent cycle it
 * starts and goes on (gcmem_collect_start()). The driver holds heap->lock
 * throughout but for a concurrent cycle's mark; the mark workers use the
 * cycle between a posting and @done (in a concurrent cycle: the mark, each
 * precleaning round, the mark termination's).
 */
struct gcmem_cycle {
	struct gcmem_heap *heap;
	bool concurrent;		/* GCMEM_MODE_CONCURRENT */
	bool black;			/* and allocates black (collect.c) */
	bool stopped;			/* the world is stopped (or stopping) */
	int nproc;			/* mark workers, the world stopped */
	int nproc_beside;		/* and beside the running program */
	bool beside;			/* the posted round runs nproc_beside */
	enum gcmem_gc_reason why;	/* who asked for it */
	/* A ragged scan was asked for in this cycle (the driver's). */
	bool ragged_asked;
	/*
	 * The task that runs the cycle's steps: the only scanner that may
	 * fault. NULL between the hand-off to the driver work and its start.
	 */
	struct task_struct *driver;
	struct work_struct drive;	/* the driver work (collect.c) */
	struct mm_struct *mm;		/* mmget() reference, for user reads */
	struct gcmem_work work;
	struct gcmem_root_job *jobs;
	unsigned int njobs;
	unsigned long written_pages;	/* of the jobs' written chunks */
	/*
	 * heap->live_bytes before the stacks were last scanned beside the
	 * program (the mark's ragged scan, or a precleaning round's): what
	 * was allocated since may be reachable and unmarked at the remark.
	 */
	u64 live_at_rescan;
	atomic_t next_job;		/* the parallel-for's cursor */
	bool assists;			/* proportional assists (pace.c) */
	/*
	 * Objects the drains scanned: for the assists' debts (counted as
	 * they go) and the precleaning's end (as each drain ends; mark.c).
	 */
	atomic64_t scanned;
	bool check;			/* the checkmark pass: mark checkbits */
	spinlock_t deferred_lock;
	struct list_head deferred;	/* struct gcmem_deferred, for the driver */
	u64 seq;			/* order of posting, for the workers */
	atomic_t workers_left;
	struct completion done;
	struct list_head node;		/* gcmem_cycles, while posted */
	/* The driver's, for the stats: */
	ktime_t t_start, t_stop, t_mark;	/* cycle start, stopped, marked */
	ktime_t t_pause;			/* the pause under way began */
	ktime_t t_markterm;			/* mark termination done */
	ktime_t t_stopped, t_remarked;		/* its stop, its mark again */
};

/* mark.c */
void gcmem_greyer_init(struct gcmem_greyer *g, struct gcmem_cycle *c,
		       int owner);
void gcmem_mark_words(struct gcmem_cycle *c, struct gcmem_greyer *g,
		      const u64 *words, unsigned long n,
		      const struct gcmem_type *type, u64 first);
void gcmem_mark_user_range(struct gcmem_cycle *c, struct gcmem_greyer *g,
			   unsigned long start, unsigned long end, u32 type_id);
void gcmem_mark_job(struct gcmem_cycle *c, struct gcmem_greyer *g,
		    struct gcmem_root_job *job);
void gcmem_mark_drain(struct gcmem_cycle *c, struct gcmem_greyer *g);
void gcmem_mark_addr(struct gcmem_cycle *c, struct gcmem_greyer *g, u64 v);
void gcmem_mark_children(struct gcmem_cycle *c, struct gcmem_greyer *g,
			 u64 off, bool ignore_self);
bool gcmem_finalize_mark(struct gcmem_heap *heap, struct gcmem_cycle *c);
void gcmem_mark_worker(struct gcmem_cycle *c, int owner);
bool gcmem_mark_alone(struct gcmem_cycle *c, u64 budget);
bool gcmem_mark_deferred(struct gcmem_cycle *c);
void gcmem_deferred_free(struct gcmem_cycle *c);
void gcmem_mark_self(struct gcmem_cycle *c, struct gcmem_thread *t);
void gcmem_blocked_job(struct gcmem_thread *t, struct gcmem_root_job *job);
void gcmem_parked_job(struct gcmem_thread *t, struct gcmem_root_job *job);

/* pace.c */
bool gcmem_pace_assists(void);
u64 gcmem_pace_assist_objs(struct gcmem_heap *heap, struct gcmem_cycle *c,
			   u64 bytes);

/* worker.c */
int gcmem_workers_start(void);
void gcmem_workers_stop(void);
int gcmem_workers_nproc(void);
int gcmem_workers_nproc_beside(int nproc);
void gcmem_workers_post(struct gcmem_cycle *c);
bool gcmem_worker_yield(struct gcmem_work *work, int owner, bool go);

extern bool gcmem_debug;

/* An exiting thread counts as stopped: it runs no more user code. */
static inline bool gcmem_task_gone(struct task_struct *task)
{
	return (READ_ONCE(task->flags) & PF_EXITING) ||
	       READ_ONCE(task->exit_state);
}

#endif /* _GCMEM_COLLECT_H */
