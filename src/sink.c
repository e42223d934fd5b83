/*
 * The sink: completed exchanges are handed to one thread that compares
 * them, prints the flag lines, writes events and capture lines.  The
 * proxy's event loop only moves a pointer, so the comparison (JSON
 * parsing, diffing) and the capture serialization and writes never run
 * on the primary's path, and on two cores they run beside it.
 */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "paritytap.h"

/*
 * The sink wakes every SINK_WAKE_MS, or at once when SINK_BATCH exchanges
 * are waiting or the first of a burst arrives after a quiet spell: a
 * wakeup per exchange would preempt the event loop thousands of times a
 * second on a small machine.
 */
#define SINK_WAKE_MS	20
#define SINK_BATCH	256
#define SINK_FLUSH_MS	200

struct sink {
	struct sink_opts	 sk_opts;
	pthread_t		 sk_thread;
	pthread_mutex_t		 sk_lock;
	pthread_cond_t		 sk_cond;
	struct exchange	       **sk_queue;
	size_t			 sk_len;
	size_t			 sk_cap;
	int			 sk_stop;
	int			 sk_reopen;
	double			 sk_signalled;	/* when, mono_ms() */
	struct sink_stats	 sk_stats;
};

/* Write a whole string to a FILE or fd-backed stream, ignoring errors. */
static void
sink_print(FILE *f, const char *s)
{
	fputs(s, f);
	fputc('\n', f);
}

/* Compare one exchange and send it everywhere it goes. */
static void
sink_process(struct sink *sk, struct exchange *ex)
{
	const struct sink_opts	*o = &sk->sk_opts;
	struct response_side	*p = &ex->ex_resp[SIDE_PRIMARY];
	struct response_side	*c = &ex->ex_resp[SIDE_CANDIDATE];
	char			*line;

	compare_exchange(o->compare, ex);

	sk->sk_stats.total++;
	if (ex->ex_verdict <= VERDICT_NONE)
		sk->sk_stats.verdicts[ex->ex_verdict]++;
	if (p->present && c->present && p->error == NULL &&
	    c->error == NULL && p->status == c->status)
		sk->sk_stats.status_match++;

	if (verdict_is_divergence(ex->ex_verdict)) {
		if (!o->quiet) {
			line = exchange_flag_line(ex, o->color);
			/* One write per line: stderr is unbuffered. */
			fprintf(stderr, "%s\n", line);
			free(line);
		}
		if (o->events != NULL) {
			line = exchange_to_line(ex, o->capture_opts);
			sink_print(o->events, line);
			fflush(o->events);
			free(line);
		}
	}
	if (o->capture != NULL)
		capture_write(o->capture, ex);
	if (o->on_exchange != NULL)
		o->on_exchange(ex, o->on_exchange_arg);
	exchange_free(ex);
	free(ex);
}

/* The sink thread: take batches off the queue until told to stop. */
static void *
sink_main(void *arg)
{
	struct sink		*sk = arg;
	struct exchange	       **batch = NULL;
	size_t			 n, i, cap = 0;
	struct timespec		 ts;
	int			 stop, reopen;
	char			*cause;
	double			 last_flush = mono_ms();

	for (;;) {
		pthread_mutex_lock(&sk->sk_lock);
		if (sk->sk_len == 0 && !sk->sk_stop && !sk->sk_reopen) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += SINK_WAKE_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&sk->sk_cond, &sk->sk_lock,
			    &ts);
		}
		/* Swap the queue out so the loop can keep submitting. */
		n = sk->sk_len;
		if (n > cap) {
			free(batch);
			cap = sk->sk_cap;
			batch = xreallocarray(NULL, cap, sizeof *batch);
		}
		if (n != 0)
			memcpy(batch, sk->sk_queue, n * sizeof *batch);
		sk->sk_len = 0;
		stop = sk->sk_stop;
		reopen = sk->sk_reopen;
		sk->sk_reopen = 0;
		pthread_mutex_unlock(&sk->sk_lock);

		for (i = 0; i < n; i++)
			sink_process(sk, batch[i]);
		if (sk->sk_opts.capture != NULL) {
			if (stop || reopen ||
			    mono_ms() - last_flush >= SINK_FLUSH_MS) {
				capture_flush(sk->sk_opts.capture);
				last_flush = mono_ms();
			}
			if (reopen) {
				if (capture_reopen(sk->sk_opts.capture,
				    &cause) != 0) {
					log_warnx("%s", cause);
					free(cause);
				}
			}
		}
		if (stop && n == 0)
			break;
	}
	free(batch);
	return (NULL);
}

/* Start the sink thread. */
struct sink *
sink_start(const struct sink_opts *opts)
{
	struct sink	*sk;
	int		 error;

	sk = xcalloc(1, sizeof *sk);
	sk->sk_opts = *opts;
	pthread_mutex_init(&sk->sk_lock, NULL);
	pthread_cond_init(&sk->sk_cond, NULL);
	if ((error = pthread_create(&sk->sk_thread, NULL, sink_main,
	    sk)) != 0) {
		errno = error;
		fatal("pthread_create");
	}
	return (sk);
}

/* Hand a completed exchange (allocated; the sink frees it) to the sink. */
void
sink_submit(struct sink *sk, struct exchange *ex)
{
	pthread_mutex_lock(&sk->sk_lock);
	if (sk->sk_len == sk->sk_cap) {
		sk->sk_cap = sk->sk_cap ? sk->sk_cap * 2 : 256;
		sk->sk_queue = xreallocarray(sk->sk_queue, sk->sk_cap,
		    sizeof *sk->sk_queue);
	}
	sk->sk_queue[sk->sk_len++] = ex;
	/*
	 * At a trickle, wake the sink at once so flags are live; under load
	 * the first exchange of a burst wakes it at most every SINK_WAKE_MS
	 * and the rest wait for the batch.
	 */
	if (sk->sk_len == SINK_BATCH || (sk->sk_len == 1 &&
	    mono_ms() - sk->sk_signalled >= SINK_WAKE_MS)) {
		sk->sk_signalled = mono_ms();
		pthread_cond_signal(&sk->sk_cond);
	}
	pthread_mutex_unlock(&sk->sk_lock);
}

/* Ask the sink to reopen its capture (SIGHUP). */
void
sink_reopen(struct sink *sk)
{
	pthread_mutex_lock(&sk->sk_lock);
	sk->sk_reopen = 1;
	pthread_cond_signal(&sk->sk_cond);
	pthread_mutex_unlock(&sk->sk_lock);
}

/* Drain everything submitted, stop the thread, return the totals. */
void
sink_stop(struct sink *sk, struct sink_stats *stats)
{
	pthread_mutex_lock(&sk->sk_lock);
	sk->sk_stop = 1;
	pthread_cond_signal(&sk->sk_cond);
	pthread_mutex_unlock(&sk->sk_lock);
	pthread_join(sk->sk_thread, NULL);
	if (stats != NULL)
		*stats = sk->sk_stats;
	pthread_mutex_destroy(&sk->sk_lock);
	pthread_cond_destroy(&sk->sk_cond);
	free(sk->sk_queue);
	free(sk);
}

/*
 * The closing line, e.g. "6 exchanges: 6/6 status match · 1/6 shape
 * match · 5 shape divergences · 0 errors".
 */
char *
sink_summary(const struct sink_stats *st)
{
	static const enum verdict order[] = {
		VERDICT_STATUS, VERDICT_SHAPE, VERDICT_BODY, VERDICT_HEADER,
		VERDICT_VALUE
	};
	struct buf	 b;
	uint64_t	 compared, shape_match, errors, divergences = 0;
	size_t		 i;

	compared = st->total - st->verdicts[VERDICT_SKIPPED] -
	    st->verdicts[VERDICT_RECORDED];
	errors = st->verdicts[VERDICT_PRIMARY_ERROR] +
	    st->verdicts[VERDICT_CANDIDATE_ERROR] +
	    st->verdicts[VERDICT_BOTH_FAILED];
	shape_match = st->verdicts[VERDICT_MATCH] +
	    st->verdicts[VERDICT_VALUE] + st->verdicts[VERDICT_HEADER];

	buf_init(&b);
	buf_printf(&b, "%llu exchange%s: %llu/%llu status match \xc2\xb7 "
	    "%llu/%llu shape match", (unsigned long long)st->total,
	    st->total == 1 ? "" : "s", (unsigned long long)st->status_match,
	    (unsigned long long)compared, (unsigned long long)shape_match,
	    (unsigned long long)compared);
	for (i = 0; i < sizeof order / sizeof order[0]; i++) {
		uint64_t	 n = st->verdicts[order[i]];

		if (n == 0)
			continue;
		divergences += n;
		buf_printf(&b, " \xc2\xb7 %llu %s divergence%s",
		    (unsigned long long)n, verdict_name(order[i]),
		    n == 1 ? "" : "s");
	}
	if (divergences == 0)
		buf_addstr(&b, " \xc2\xb7 0 divergences");
	buf_printf(&b, " \xc2\xb7 %llu error%s", (unsigned long long)errors,
	    errors == 1 ? "" : "s");
	if (st->verdicts[VERDICT_SKIPPED] != 0)
		buf_printf(&b, " \xc2\xb7 %llu skipped",
		    (unsigned long long)st->verdicts[VERDICT_SKIPPED]);
	return (buf_detach(&b));
}
