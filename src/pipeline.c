/*
 * The pipeline: finished exchanges from any source go through a bounded
 * queue to one thread that compares them and hands each to the consumers
 * registered with pipeline_add (flag lines, the events file, the capture,
 * a command's own results; later alerts, metrics, noise).  The source's
 * event loop only moves a pointer, so comparing (JSON parsing, diffing)
 * and writing never run on the primary's path, and on two cores they run
 * beside it.
 *
 * The queue is bounded in bytes: the bodies an exchange holds for the
 * comparison count against --queue-size.  When a live source submits into
 * a full queue, the exchange gives up its bodies and is queued to be
 * recorded without comparison (verdict skipped, reason pipeline_full); if
 * even that does not fit it is dropped.  Both are counted and reported
 * while they happen and at stop: nothing waits without bound, nothing
 * grows without bound.  An offline source (replay) waits for room
 * instead: it can afford to, and a CI gate must see every exchange.
 *
 * Consumers run on the pipeline thread and must not block: the events
 * file is written without blocking (events.c), the capture buffers and
 * counts what it cannot write (capture.c).
 */

#include <sys/queue.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "paritytap.h"

/*
 * The thread wakes every PIPELINE_WAKE_MS, or at once when PIPELINE_BATCH
 * exchanges are waiting or the first of a burst arrives after a quiet
 * spell: a wakeup per exchange would preempt the event loop thousands of
 * times a second on a small machine.
 */
#define PIPELINE_WAKE_MS	20
#define PIPELINE_BATCH		256
#define PIPELINE_TICK_MS	200	/* consumers flush */
#define PIPELINE_REPORT_MS	10000	/* drops said at most this often */
#define PIPELINE_MAX_CONSUMERS	8

struct pipeline_item {
	struct exchange		*pi_ex;		/* NULL: reopen files here */
	size_t			 pi_cost;
	STAILQ_ENTRY(pipeline_item) pi_entry;
};
STAILQ_HEAD(pipeline_queue, pipeline_item);

struct pipeline {
	struct pipeline_opts	 p_opts;
	struct consumer		 p_consumers[PIPELINE_MAX_CONSUMERS];
	int			 p_nconsumers;
	struct stats		*p_stats;
	struct noise		*p_noise;	/* the pipeline thread's */
	pthread_t		 p_thread;
	int			 p_started;
	pthread_mutex_t		 p_lock;
	pthread_cond_t		 p_cond;	/* work for the thread */
	pthread_cond_t		 p_room;	/* room for a waiting source */
	pthread_cond_t		 p_done_cond;
	int			 p_done;	/* the thread is finished */
	int			 p_stuck;	/* ... and did not finish in time */
	struct pipeline_queue	 p_queue;
	size_t			 p_len;
	uint64_t		 p_bytes;	/* cost of what is queued */
	uint64_t		 p_unfinished;	/* exchanges submitted, not done */
	int			 p_stop;
	double			 p_deadline;	/* mono ms; 0: none */
	double			 p_signalled;	/* when, mono_ms() */
	uint64_t		 p_stripped;	/* queued without bodies */
	uint64_t		 p_dropped;	/* not queued at all */
	uint64_t		 p_said_stripped;
	uint64_t		 p_said_dropped;
	double			 p_said_at;
	uint64_t		 p_late;	/* not compared: stop deadline */
};

/* A pipeline whose thread was left stuck at stop, kept till exit. */
static struct pipeline *pipeline_stuck;

/* Bytes an exchange holds, bodies and headers: what the budget counts. */
static size_t
pipeline_cost(const struct exchange *ex)
{
	const struct response_side	*rs;
	size_t				 n;
	int				 side;

	n = sizeof *ex + sizeof (struct pipeline_item) +
	    ex->ex_req.body.cap + headers_bytes(&ex->ex_req.headers);
	if (ex->ex_req.target != NULL)
		n += strlen(ex->ex_req.target);
	for (side = 0; side < SIDE_MAX; side++) {
		rs = &ex->ex_resp[side];
		n += rs->body.cap + headers_bytes(&rs->headers);
	}
	return (n);
}

/*
 * Give up an exchange's bodies so it can still be recorded: the capture
 * line keeps statuses, headers, sizes and timings, marks each body cut,
 * and the verdict says the comparison was skipped.
 */
static void
pipeline_strip(struct exchange *ex, const char *reason)
{
	struct response_side	*rs;
	int			 side;

	if (ex->ex_req.body.len != 0) {
		ex->ex_req_truncated = 1;
		buf_free(&ex->ex_req.body);
		buf_init(&ex->ex_req.body);
	}
	for (side = 0; side < SIDE_MAX; side++) {
		rs = &ex->ex_resp[side];
		if (rs->body.len != 0) {
			rs->truncated = 1;
			buf_free(&rs->body);
			buf_init(&rs->body);
		}
	}
	pipeline_skip(ex, reason);
}

/*
 * Mark an exchange as not compared, for reason; one whose mirror was not
 * sent keeps the reason it already has.
 */
void
pipeline_skip(struct exchange *ex, const char *reason)
{
	if (ex->ex_verdict == VERDICT_RECORDED)
		return;
	ex->ex_verdict = VERDICT_SKIPPED;
	if (ex->ex_skip_reason == NULL)
		ex->ex_skip_reason = xstrdup(reason);
	diff_list_free(&ex->ex_diffs);
	diff_list_init(&ex->ex_diffs, 0);
}

/* A new pipeline; add consumers, then pipeline_start. */
struct pipeline *
pipeline_new(const struct pipeline_opts *opts)
{
	struct pipeline	*p;

	p = xcalloc(1, sizeof *p);
	p->p_opts = *opts;
	if (p->p_opts.queue_bytes == 0)
		p->p_opts.queue_bytes = DEFAULT_QUEUE_BYTES;
	p->p_stats = stats_new();
	p->p_noise = noise_new(opts->compare != NULL ?
	    &opts->compare->noise : NULL);
	STAILQ_INIT(&p->p_queue);
	pthread_mutex_init(&p->p_lock, NULL);
	pthread_cond_init(&p->p_cond, NULL);
	pthread_cond_init(&p->p_room, NULL);
	pthread_cond_init(&p->p_done_cond, NULL);
	return (p);
}

/* Register a consumer; exchanges reach consumers in the order added. */
void
pipeline_add(struct pipeline *p, const struct consumer *c)
{
	if (p->p_started)
		fatalx("pipeline_add after pipeline_start");
	if (p->p_nconsumers == PIPELINE_MAX_CONSUMERS)
		fatalx("too many pipeline consumers");
	p->p_consumers[p->p_nconsumers++] = *c;
}

/*
 * Say, at most once per PIPELINE_REPORT_MS, what a full queue cost; the
 * first time at once.  Called by the source with p_lock held: the
 * pipeline thread may be the one that is stuck.
 */
static void
pipeline_report(struct pipeline *p, int force)
{
	uint64_t	 ds, dd;

	ds = p->p_stripped - p->p_said_stripped;
	dd = p->p_dropped - p->p_said_dropped;
	if (ds == 0 && dd == 0)
		return;
	if (!force && p->p_said_at != 0 &&
	    mono_ms() - p->p_said_at < PIPELINE_REPORT_MS)
		return;
	log_warnx("the compare stage is behind (--queue-size %llu bytes "
	    "full): %llu exchange%s recorded without comparison, %llu "
	    "dropped%s", (unsigned long long)p->p_opts.queue_bytes,
	    (unsigned long long)ds, ds == 1 ? "" : "s",
	    (unsigned long long)dd, p->p_said_at == 0 ? "" :
	    " since the last report");
	p->p_said_stripped = p->p_stripped;
	p->p_said_dropped = p->p_dropped;
	p->p_said_at = mono_ms();
}

/* Compare one exchange and hand it to every consumer. */
static void
pipeline_process(struct pipeline *p, struct exchange *ex, int late)
{
	const struct consumer	*c;
	int			 i;

	if (late && ex->ex_verdict != VERDICT_SKIPPED &&
	    ex->ex_verdict != VERDICT_RECORDED) {
		pipeline_skip(ex, "stopping");
		p->p_late++;
	}
	compare_exchange(p->p_opts.compare, ex);
	/* A second copy's answer: learn noise, mark the diffs on it. */
	noise_exchange(p->p_noise, p->p_opts.compare, ex);
	/* Before the consumers: they read the exchange's drift states. */
	if (p->p_opts.drifts != NULL)
		drift_table_exchange(p->p_opts.drifts, ex);
	stats_add(p->p_stats, ex);
	for (i = 0; i < p->p_nconsumers; i++) {
		c = &p->p_consumers[i];
		if (c->on_exchange != NULL)
			c->on_exchange(c->arg, ex);
	}
	exchange_free(ex);
	free(ex);
}

enum pipeline_hook { HOOK_TICK, HOOK_REOPEN, HOOK_STOP };

/* Call one hook of every consumer. */
static void
pipeline_call(struct pipeline *p, enum pipeline_hook hook)
{
	const struct consumer	*c;
	void			(*fn)(void *);
	int			 i;

	if (p->p_opts.drifts != NULL && hook == HOOK_TICK)
		drift_table_tick(p->p_opts.drifts);
	if (p->p_opts.drifts != NULL && hook == HOOK_STOP)
		drift_table_stop(p->p_opts.drifts);
	for (i = 0; i < p->p_nconsumers; i++) {
		c = &p->p_consumers[i];
		switch (hook) {
		case HOOK_TICK:
			fn = c->on_tick;
			break;
		case HOOK_REOPEN:
			fn = c->on_reopen;
			break;
		default:
			fn = c->on_stop;
			break;
		}
		if (fn != NULL)
			fn(c->arg);
	}
}

/* The pipeline thread: take batches off the queue until told to stop. */
static void *
pipeline_main(void *arg)
{
	struct pipeline		*p = arg;
	struct pipeline_queue	 batch;
	struct pipeline_item	*pi;
	struct timespec		 ts;
	uint64_t		 bytes;
	double			 last_tick = mono_ms(), deadline;
	int			 stop, late;

	pthread_setname_np(pthread_self(), "pipeline");
	/*
	 * A source that waits for room (replay) loses nothing when this
	 * thread falls behind, so the loop and the backends come first.  A
	 * live source's exchanges would be stripped instead: not then.
	 */
	if (p->p_opts.wait)
		thread_background();
	for (;;) {
		pthread_mutex_lock(&p->p_lock);
		if (p->p_len == 0 && !p->p_stop) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += PIPELINE_WAKE_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&p->p_cond, &p->p_lock, &ts);
		}
		/* Take the queue whole so sources can keep submitting. */
		STAILQ_INIT(&batch);
		STAILQ_CONCAT(&batch, &p->p_queue);
		p->p_len = 0;
		stop = p->p_stop;
		deadline = p->p_deadline;
		pthread_mutex_unlock(&p->p_lock);

		while ((pi = STAILQ_FIRST(&batch)) != NULL) {
			STAILQ_REMOVE_HEAD(&batch, pi_entry);
			late = stop && deadline != 0 && mono_ms() > deadline;
			bytes = pi->pi_cost;
			if (pi->pi_ex == NULL)
				pipeline_call(p, HOOK_REOPEN);
			else
				pipeline_process(p, pi->pi_ex, late);
			free(pi);
			/* Room as soon as each exchange is done. */
			pthread_mutex_lock(&p->p_lock);
			p->p_bytes -= bytes;
			if (bytes != 0)
				p->p_unfinished--;
			pthread_cond_broadcast(&p->p_room);
			pthread_mutex_unlock(&p->p_lock);
		}
		if (stop || mono_ms() - last_tick >= PIPELINE_TICK_MS) {
			pipeline_call(p, HOOK_TICK);
			last_tick = mono_ms();
		}
		pthread_mutex_lock(&p->p_lock);
		if (stop && p->p_len == 0) {
			pthread_mutex_unlock(&p->p_lock);
			break;
		}
		pthread_mutex_unlock(&p->p_lock);
	}
	if (p->p_late != 0)
		log_warnx("%llu exchange%s recorded without comparison: the "
		    "grace period was over", (unsigned long long)p->p_late,
		    p->p_late == 1 ? "" : "s");
	pipeline_call(p, HOOK_STOP);
	pthread_mutex_lock(&p->p_lock);
	p->p_done = 1;
	pthread_cond_signal(&p->p_done_cond);
	pthread_mutex_unlock(&p->p_lock);
	return (NULL);
}

/* Start the pipeline thread. */
void
pipeline_start(struct pipeline *p)
{
	int	 error;

	if ((error = pthread_create(&p->p_thread, NULL, pipeline_main,
	    p)) != 0) {
		errno = error;
		fatal("pthread_create");
	}
	p->p_started = 1;
}

/*
 * Hand a finished exchange (allocated; the pipeline frees it) to the
 * pipeline.  A live source never waits: over the budget the exchange is
 * recorded without its bodies, or dropped and counted.
 */
void
pipeline_submit(struct pipeline *p, struct exchange *ex)
{
	struct pipeline_item	*pi;
	uint64_t		 budget = p->p_opts.queue_bytes;
	size_t			 cost;

	cost = pipeline_cost(ex);
	pthread_mutex_lock(&p->p_lock);
	if (p->p_opts.wait) {
		while (p->p_bytes != 0 && p->p_bytes + cost > budget)
			pthread_cond_wait(&p->p_room, &p->p_lock);
	} else if (p->p_bytes + cost > budget) {
		pipeline_strip(ex, "pipeline_full");
		cost = pipeline_cost(ex);
		/* A reserve of an eighth keeps the capture lines coming. */
		if (p->p_bytes + cost > budget + budget / 8) {
			p->p_dropped++;
			pipeline_report(p, 0);
			pthread_mutex_unlock(&p->p_lock);
			stats_add_dropped(p->p_stats, 1);
			exchange_free(ex);
			free(ex);
			return;
		}
		p->p_stripped++;
		pipeline_report(p, 0);
	}
	pi = xmalloc(sizeof *pi);
	pi->pi_ex = ex;
	pi->pi_cost = cost;
	STAILQ_INSERT_TAIL(&p->p_queue, pi, pi_entry);
	p->p_len++;
	p->p_unfinished++;
	p->p_bytes += cost;
	/*
	 * At a trickle, wake the thread at once so flags are live; under
	 * load the first exchange of a burst wakes it at most every
	 * PIPELINE_WAKE_MS and the rest wait for the batch.
	 */
	if (p->p_len == PIPELINE_BATCH || (p->p_len == 1 &&
	    mono_ms() - p->p_signalled >= PIPELINE_WAKE_MS)) {
		p->p_signalled = mono_ms();
		pthread_cond_signal(&p->p_cond);
	}
	pthread_mutex_unlock(&p->p_lock);
}

/*
 * Ask the consumers to reopen their files (SIGHUP, SIGUSR1).  The request
 * takes its place in the queue: exchanges submitted before it go to the
 * old files, those after it to the new ones.
 */
void
pipeline_reopen(struct pipeline *p)
{
	struct pipeline_item	*pi;

	pi = xcalloc(1, sizeof *pi);
	pthread_mutex_lock(&p->p_lock);
	STAILQ_INSERT_TAIL(&p->p_queue, pi, pi_entry);
	p->p_len++;
	pthread_cond_signal(&p->p_cond);
	pthread_mutex_unlock(&p->p_lock);
}

/*
 * Drain what was submitted and stop the thread.  Exchanges still queued
 * after deadline (mono ms; 0: none) are recorded without comparison, and
 * a consumer stuck past it (a write that never returns) is left behind:
 * what it still held is counted as dropped.  Return 0, or -1 if the
 * thread was left behind; then the consumers must not be closed.
 */
int
pipeline_stop(struct pipeline *p, double deadline)
{
	struct timespec	 ts;
	double		 wait_ms;
	uint64_t	 left;

	if (p->p_stuck)
		return (-1);
	if (!p->p_started)
		return (0);
	pthread_mutex_lock(&p->p_lock);
	pipeline_report(p, 1);
	p->p_stop = 1;
	p->p_deadline = deadline;
	pthread_cond_signal(&p->p_cond);
	while (!p->p_done) {
		if (deadline == 0) {
			pthread_cond_wait(&p->p_done_cond, &p->p_lock);
			continue;
		}
		/* A second past the deadline for the last writes. */
		wait_ms = deadline + 1000 - mono_ms();
		if (wait_ms <= 0)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)(wait_ms / 1000);
		ts.tv_nsec += (long)((wait_ms - (time_t)(wait_ms / 1000) *
		    1000) * 1000000);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->p_done_cond, &p->p_lock, &ts);
	}
	if (!p->p_done) {
		left = p->p_unfinished;
		pthread_mutex_unlock(&p->p_lock);
		stats_add_dropped(p->p_stats, left);
		log_warnx("a consumer is stuck (a write that does not return): "
		    "not waiting for it; %llu exchange%s not recorded",
		    (unsigned long long)left, left == 1 ? "" : "s");
		p->p_stuck = 1;
		return (-1);
	}
	pthread_mutex_unlock(&p->p_lock);
	pthread_join(p->p_thread, NULL);
	p->p_started = 0;
	return (0);
}

/* The counters as they are now; any thread. */
void
pipeline_counts(struct pipeline *p, struct stats_counts *out)
{
	stats_snapshot(p->p_stats, out);
}

/*
 * The queue now: exchanges and bytes waiting, exchanges queued without
 * their bodies and exchanges not queued at all; any thread.
 */
void
pipeline_queue(struct pipeline *p, uint64_t *depth, uint64_t *bytes,
    uint64_t *stripped, uint64_t *dropped)
{
	pthread_mutex_lock(&p->p_lock);
	*depth = p->p_len;
	*bytes = p->p_bytes;
	*stripped = p->p_stripped;
	*dropped = p->p_dropped;
	pthread_mutex_unlock(&p->p_lock);
}

/*
 * Free a stopped pipeline and whatever it still holds.  One whose thread
 * was left stuck is kept: the thread may still use it until exit.
 */
void
pipeline_free(struct pipeline *p)
{
	struct pipeline_item	*pi;

	if (p == NULL)
		return;
	if (pipeline_stop(p, 0) != 0) {
		pipeline_stuck = p;
		return;
	}
	while ((pi = STAILQ_FIRST(&p->p_queue)) != NULL) {
		STAILQ_REMOVE_HEAD(&p->p_queue, pi_entry);
		if (pi->pi_ex != NULL) {
			exchange_free(pi->pi_ex);
			free(pi->pi_ex);
		}
		free(pi);
	}
	stats_free(p->p_stats);
	noise_free(p->p_noise);
	pthread_mutex_destroy(&p->p_lock);
	pthread_cond_destroy(&p->p_cond);
	pthread_cond_destroy(&p->p_room);
	pthread_cond_destroy(&p->p_done_cond);
	free(p);
}
