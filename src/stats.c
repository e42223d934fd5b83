/*
 * Live counters: the one place an exchange is counted.  The pipeline
 * thread counts each exchange once it is compared; report counts the
 * exchanges it reads the same way.  Any thread can take a snapshot while
 * a run goes on (the admin listener, the stop summary).
 */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "paritytap.h"

struct stats {
	pthread_mutex_t		 st_lock;
	struct stats_counts	 st_c;
};

/* Count one compared exchange into c: the rule every count follows. */
void
stats_counts_add(struct stats_counts *c, const struct exchange *ex)
{
	const struct response_side	*p = &ex->ex_resp[SIDE_PRIMARY];
	const struct response_side	*k = &ex->ex_resp[SIDE_CANDIDATE];

	c->total++;
	c->verdicts[ex->ex_verdict <= VERDICT_NONE ? ex->ex_verdict :
	    VERDICT_NONE]++;
	/* Statuses are compared only where the exchange was. */
	if (ex->ex_verdict != VERDICT_SKIPPED &&
	    ex->ex_verdict != VERDICT_RECORDED && p->present && k->present &&
	    p->error == NULL && k->error == NULL && p->status == k->status)
		c->status_match++;
}

/* Errors: primary_error + candidate_error + both_failed. */
uint64_t
stats_errors(const struct stats_counts *c)
{
	return (c->verdicts[VERDICT_PRIMARY_ERROR] +
	    c->verdicts[VERDICT_CANDIDATE_ERROR] +
	    c->verdicts[VERDICT_BOTH_FAILED]);
}

/* A new set of live counters, all zero. */
struct stats *
stats_new(void)
{
	struct stats	*st;

	st = xcalloc(1, sizeof *st);
	pthread_mutex_init(&st->st_lock, NULL);
	return (st);
}

/* Free live counters. */
void
stats_free(struct stats *st)
{
	if (st == NULL)
		return;
	pthread_mutex_destroy(&st->st_lock);
	free(st);
}

/* Count one exchange; any thread. */
void
stats_add(struct stats *st, const struct exchange *ex)
{
	pthread_mutex_lock(&st->st_lock);
	stats_counts_add(&st->st_c, ex);
	pthread_mutex_unlock(&st->st_lock);
}

/* Count n exchanges the pipeline could not keep at all. */
void
stats_add_dropped(struct stats *st, uint64_t n)
{
	pthread_mutex_lock(&st->st_lock);
	st->st_c.dropped += n;
	pthread_mutex_unlock(&st->st_lock);
}

/* Copy the counters as they are now; any thread. */
void
stats_snapshot(struct stats *st, struct stats_counts *out)
{
	pthread_mutex_lock(&st->st_lock);
	*out = st->st_c;
	pthread_mutex_unlock(&st->st_lock);
}

/*
 * The closing line, e.g. "6 exchanges: 6/6 status match · 1/6 shape
 * match · 5 shape divergences · 0 errors"; exchanges dropped because the
 * pipeline was full, and requests sent again to a backend, are named at
 * the end.  Allocated.
 */
char *
stats_summary(const struct stats_counts *c)
{
	static const enum verdict order[] = {
		VERDICT_STATUS, VERDICT_SHAPE, VERDICT_BODY, VERDICT_HEADER,
		VERDICT_VALUE
	};
	struct buf	 b;
	uint64_t	 compared, shape_match, errors, divergences = 0;
	size_t		 i;

	compared = c->total - c->verdicts[VERDICT_SKIPPED] -
	    c->verdicts[VERDICT_RECORDED];
	errors = stats_errors(c);
	shape_match = c->verdicts[VERDICT_MATCH] +
	    c->verdicts[VERDICT_VALUE] + c->verdicts[VERDICT_HEADER];

	buf_init(&b);
	buf_printf(&b, "%llu exchange%s: %llu/%llu status match \xc2\xb7 "
	    "%llu/%llu shape match", (unsigned long long)c->total,
	    c->total == 1 ? "" : "s", (unsigned long long)c->status_match,
	    (unsigned long long)compared, (unsigned long long)shape_match,
	    (unsigned long long)compared);
	for (i = 0; i < sizeof order / sizeof order[0]; i++) {
		uint64_t	 n = c->verdicts[order[i]];

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
	if (c->verdicts[VERDICT_SKIPPED] != 0)
		buf_printf(&b, " \xc2\xb7 %llu skipped",
		    (unsigned long long)c->verdicts[VERDICT_SKIPPED]);
	if (c->dropped != 0)
		buf_printf(&b, " \xc2\xb7 %llu dropped (pipeline full)",
		    (unsigned long long)c->dropped);
	if (c->retried != 0)
		buf_printf(&b, " \xc2\xb7 %llu retried (pooled connection "
		    "closed)", (unsigned long long)c->retried);
	return (buf_detach(&b));
}

/*
 * Append the DIVERGE lines --flag-limit held back, if any: last, since
 * it is about the lines printed, not about the exchanges.
 */
void
stats_flags_held(struct buf *b, const struct stats_counts *c)
{
	if (c->flags_held != 0)
		buf_printf(b, " \xc2\xb7 %llu DIVERGE line%s held back "
		    "(--flag-limit)", (unsigned long long)c->flags_held,
		    c->flags_held == 1 ? "" : "s");
}

/*
 * A live command's summary line (proxy, sniff): stats_summary, then the
 * drifts the table holds, the mirrors dropped over --max-inflight and
 * --max-inflight-bytes, and the alerts sent.  drifts and alerts may be
 * NULL.  Allocated.
 */
char *
stats_run_line(const struct stats_counts *c, struct drift_table *drifts,
    struct alerts *alerts, uint64_t dropped, uint64_t dropped_bytes)
{
	struct drift_counts	 dcounts;
	struct buf		 b;
	char			*s;

	buf_init(&b);
	s = stats_summary(c);
	buf_addstr(&b, s);
	free(s);
	if (drifts != NULL) {
		drift_table_counts(drifts, &dcounts);
		if ((s = drift_counts_summary(&dcounts)) != NULL)
			buf_printf(&b, " \xc2\xb7 %s", s);
		free(s);
	}
	if (dropped != 0)
		buf_printf(&b, " \xc2\xb7 %llu mirror%s dropped "
		    "(--max-inflight)", (unsigned long long)dropped,
		    dropped == 1 ? "" : "s");
	if (dropped_bytes != 0)
		buf_printf(&b, " \xc2\xb7 %llu mirror%s dropped "
		    "(--max-inflight-bytes)", (unsigned long long)dropped_bytes,
		    dropped_bytes == 1 ? "" : "s");
	s = alerts_summary(alerts);
	buf_addstr(&b, s);
	free(s);
	stats_flags_held(&b, c);
	return (buf_detach(&b));
}
