/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Mark work: workbufs and a cycle's shared lists. See work.c.
 */
#ifndef _GCMEM_WORK_H
#define _GCMEM_WORK_H

#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>

/*
 * 2 KiB buffers: small, so that a worker (or a thread scanning its own
 * stack) hands grey objects to the others early (seed 002), yet big enough
 * that the list lock is taken once per ~250 objects. The size is the whole
 * allocation, header included: a kmalloc size class exactly.
 */
#define GCMEM_WORKBUF_SIZE	2048

/*
 * struct gcmem_workbuf - a stack of grey objects (arena offsets).
 *
 * Invariant: a workbuf is on exactly one list of its cycle, or owned by
 * exactly one scanner (a worker's current buffer, or a thread scanning its
 * own stack); @owner says which when debugging is on.
 */
struct gcmem_workbuf {
	struct list_head node;
	u32 nobj;
	s32 owner;
	u64 obj[];
};

#define GCMEM_WORKBUF_OBJS						\
	((GCMEM_WORKBUF_SIZE - offsetof(struct gcmem_workbuf, obj)) /	\
	 sizeof(u64))

/*
 * struct gcmem_work - the grey objects of one cycle.
 *
 * @full holds buffers with GCMEM_WORKBUF_OBJS objects, @partial those put
 * back with fewer (a finished stack scan, a worker leaving), @empty spare
 * ones. All three under @lock. @nwait counts the workers waiting in
 * gcmem_work_getfull(); marking is over when all @nproc wait and no buffer
 * holds work (the getfull barrier).
 */
struct gcmem_work {
	/* Protects the three lists and @nfull. */
	spinlock_t lock;
	struct list_head full;
	struct list_head partial;
	struct list_head empty;
	unsigned long nfull;		/* full + partial, for a lockless peek */
	atomic_t nwait;
	int nproc;
	/*
	 * Threads helping the mark (mark.c, gcmem_mark_assist()), under
	 * @lock: while one does, the getfull barrier does not end the mark,
	 * since it may hold work that is on no list.
	 */
	int nassist;
	/*
	 * Helpers with nothing to do that wait for work (threads whose
	 * requests wait for the mark to end), counted by their heap: they
	 * hold nothing of the cycle's while they wait, not even a reference.
	 * The scanners share with them as with waiting workers
	 * (gcmem_work_balance()). NULL: no helpers.
	 */
	atomic_t *hungry;
	bool abandon;			/* stop as soon as possible */
	bool debug;			/* check ownership at every get and put */
	atomic_t nbufs;			/* allocated, for the leak check */
	/*
	 * Asked by a scanner every few dozen objects and while it waits at
	 * the barrier: would (@go false) or does (@go true) this mark
	 * worker go and mark another heap's cycle meanwhile (worker.c)? It
	 * goes only holding no work and counted waiting. NULL: none.
	 */
	bool (*yield)(struct gcmem_work *work, int owner, bool go);
};

void gcmem_work_pause(unsigned int *spins);
void gcmem_work_init(struct gcmem_work *work, int nproc, bool debug);
void gcmem_work_destroy(struct gcmem_work *work);
struct gcmem_workbuf *gcmem_work_getempty(struct gcmem_work *work, int owner);
void gcmem_work_putfull(struct gcmem_work *work, struct gcmem_workbuf *b);
void gcmem_work_putempty(struct gcmem_work *work, struct gcmem_workbuf *b);
struct gcmem_workbuf *gcmem_work_trygetfull(struct gcmem_work *work,
					    int owner);
struct gcmem_workbuf *gcmem_work_getfull(struct gcmem_work *work, int owner);
void gcmem_work_assist(struct gcmem_work *work, bool on);
void gcmem_work_reopen(struct gcmem_work *work);
void gcmem_work_alone(struct gcmem_work *work);
void gcmem_work_balance(struct gcmem_work *work, struct gcmem_workbuf *b,
			int owner);

/*
 * struct gcmem_greyer - the buffer a scanner fills: one per worker and one
 * per thread scanning its own stack.
 */
struct gcmem_greyer {
	struct gcmem_work *work;
	struct gcmem_workbuf *wbuf;	/* NULL or owned */
	int owner;
	u64 nobj;			/* objects greyed, for stats */
};

/*
 * gcmem_work_abandon() - this cycle's mark cannot be completed: every
 * scanner stops, and the cycle frees nothing. A scanner that cannot finish
 * its part (a read it cannot do, memory it cannot get) calls this rather
 * than return an error a caller could drop.
 */
static inline void gcmem_work_abandon(struct gcmem_work *work)
{
	WRITE_ONCE(work->abandon, true);
}

/* Queue @obj for scanning; without a buffer the cycle is abandoned. */
static inline void gcmem_grey_push(struct gcmem_greyer *g, u64 obj)
{
	struct gcmem_workbuf *b = g->wbuf;

	if (unlikely(!b || b->nobj == GCMEM_WORKBUF_OBJS)) {
		if (b)
			gcmem_work_putfull(g->work, b);
		b = gcmem_work_getempty(g->work, g->owner);
		g->wbuf = b;
		if (!b)
			return;
	}
	b->obj[b->nobj++] = obj;
	g->nobj++;
}

/* Hand what is left in @g's buffer to the others. */
static inline void gcmem_grey_flush(struct gcmem_greyer *g)
{
	if (!g->wbuf)
		return;
	if (g->wbuf->nobj)
		gcmem_work_putfull(g->work, g->wbuf);
	else
		gcmem_work_putempty(g->work, g->wbuf);
	g->wbuf = NULL;
}

#endif /* _GCMEM_WORK_H */
