/*
 * The replay engine: requests recorded in capture files are sent again,
 * to the candidate (and, with a live primary, to the primary too), and
 * the new exchanges go to the pipeline like the proxy's.  Without a live
 * primary, the primary's side is the response recorded in the capture.
 *
 * Capture lines are read, parsed and turned into canonical requests on a
 * reader thread, ahead of the event loop by at most REPLAY_QUEUE items:
 * parsing JSON costs more than sending the request, and on two cores the
 * loop would otherwise spend most of its time in the parser.  At most
 * --concurrency requests are in flight, and --rate meters how fast new
 * ones start (a token bucket filled by a timer), so a capture of any size
 * is replayed in bounded memory.
 *
 * The same engine serves a live source (sniff): replay_new, then
 * replay_submit for each observed exchange (its request and the primary
 * response seen on the wire), then replay_drain and replay_free.  There
 * is no reader thread then; the in-flight cap is --concurrency, and an
 * exchange over it is passed on skipped rather than queued.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>


#include "paritytap.h"

#define REPLAY_TICK_MS		10	/* rate timer */
#define REPLAY_PROGRESS_MS	250
#define REPLAY_IDLE_CONNS	1024
#define REPLAY_QUEUE		4096	/* items parsed ahead of the loop */
#define REPLAY_WAKE_BATCH	32	/* items queued before the loop is woken */
#define REPLAY_REFILL		1024	/* room made before the reader is woken */
#define REPLAY_STARVED_MS	1	/* ... or this long after it ran dry */

/* rp_starved: whether the loop waits for the reader, and how. */
#define REPLAY_FED		0	/* it does not */
#define REPLAY_DRY		1	/* woken for a batch; its timer looks */
#define REPLAY_IDLE		2	/* still dry then: woken for an item */

struct replay;

/* One replayed exchange, prepared, then in flight through its fan-out. */
struct replay_pending {
	struct replay		*rq_rp;
	struct exchange		*rq_ex;		/* the fan-out's once sent */
	struct buf		 rq_canon;	/* head; the fan-out takes it */
	int			 rq_skip;	/* skipped: not sent */
	struct fanout		*rq_fo;		/* once sent */
	TAILQ_ENTRY(replay_pending) rq_entry;	/* in rp_sent */
};
TAILQ_HEAD(replay_sent, replay_pending);

struct replay {
	const struct replay_opts *rp_opts;
	struct event_base	*rp_base;
	struct pipeline		*rp_pipeline;
	struct upstream		*rp_up[SIDE_MAX]; /* primary, secondary may be NULL */
	uint64_t		 rp_self_eligible; /* --self-check's count */
	struct capture_reader	**rp_readers;
	int			 rp_nreaders;
	unsigned		 rp_inflight;
	_Atomic uint64_t	 rp_dropped;	/* rp_stats.dropped, any thread */
	int			 rp_eof;	/* nothing more to start */
	double			 rp_tokens;
	double			 rp_last_tick;
	struct event		*rp_pump;
	struct event		*rp_tick;
	struct event		*rp_progress;
	struct event		*rp_wake_ev;
	uint64_t		 rp_total;	/* lines, for the progress bar */
	struct replay_sent	 rp_sent;	/* requests in flight */
	int			 rp_submitted;	/* live: no reader, no pump */
	int			 rp_draining;	/* live: replay_drain runs */
	struct event		*rp_grace;
	double			 rp_started;
	struct replay_stats	 rp_stats;

	/* The reader thread and its queue, under rp_lock. */
	pthread_t		 rp_thread;
	pthread_mutex_t		 rp_lock;
	pthread_cond_t		 rp_cond;	/* the queue has room */
	struct replay_pending	**rp_queue;	/* a ring */
	size_t			 rp_head;
	size_t			 rp_len;
	int			 rp_done;	/* the reader has finished */
	int			 rp_failed;	/* ... on malformed input */
	int			 rp_stop;	/* the loop wants no more */
	int			 rp_starved;	/* REPLAY_FED, _DRY or _IDLE */
	char			*rp_cause;
	int			 rp_wake[2];	/* pipe: reader -> loop */
	atomic_ullong		 rp_read;	/* lines read, for progress */
	uint64_t		 rp_nfiltered;	/* reader's own counts */
	uint64_t		 rp_nskipped;
	uint64_t		 rp_handed;	/* sent or skipped, by the loop */
};

static void	replay_pump(struct replay *);

/* A live side ended: count it if the backend answered at all. */
static void
replay_side_done(void *arg, int side, const char *error, const char *detail)
{
	struct replay_pending	*rq = arg;

	if (error == NULL || rq->rq_ex->ex_resp[side].status != 0)
		rq->rq_rp->rp_stats.reached++;
}

/* The fan-out handed the finished exchange on: start the next. */
static void
replay_done(void *arg)
{
	struct replay_pending	*rq = arg;
	struct replay		*rp = rq->rq_rp;

	TAILQ_REMOVE(&rp->rp_sent, rq, rq_entry);
	free(rq);
	rp->rp_inflight--;
	rp->rp_stats.completed++;
	if (!rp->rp_submitted)
		event_active(rp->rp_pump, EV_TIMEOUT, 0);
	else if (rp->rp_draining && rp->rp_inflight == 0)
		event_base_loopbreak(rp->rp_base);
}

static const struct fanout_hooks replay_hooks = {
	NULL, NULL, replay_side_done
};

/* Does a list of fnmatch patterns (empty: everything) match s? */
static int
replay_match(char **patterns, size_t n, const char *s, int flags)
{
	size_t	 i;

	if (n == 0)
		return (1);
	for (i = 0; i < n; i++) {
		if (fnmatch(patterns[i], s != NULL ? s : "", flags) == 0)
			return (1);
	}
	return (0);
}

/* Is a recorded exchange selected by --filter? */
static int
replay_selected(const struct replay_opts *o, const struct exchange *ex)
{
	const struct replay_filter	*f = &o->filter;

	if (!replay_match(f->routes, f->nroutes, ex->ex_route, 0))
		return (0);
	if (!replay_match(f->methods, f->nmethods, ex->ex_req.method,
	    FNM_CASEFOLD))
		return (0);
	if (f->verdicts != 0 && (ex->ex_verdict >= VERDICT_NONE ||
	    (f->verdicts & (1u << ex->ex_verdict)) == 0))
		return (0);
	return (1);
}

/* The --set-header value for a redacted header, or NULL. */
static const char *
replay_set_value(const struct replay_opts *o, const char *name)
{
	size_t	 i;

	for (i = 0; i < o->set_headers.n; i++) {
		if (strcasecmp(o->set_headers.names[i], name) == 0)
			return (o->set_headers.values[i]);
	}
	return (NULL);
}

/*
 * Why a recorded request cannot be replayed as it was, or NULL.  A cut
 * body would send a different request; a redacted secret would send
 * "[redacted]" as a credential, so such requests are skipped unless
 * --set-header gives the value to send or --drop-redacted says to send
 * them without those headers.
 */
static const char *
replay_unsafe(const struct replay_opts *o, const struct exchange *ex)
{
	const struct headers	*hs = &ex->ex_req.headers;
	size_t			 i;

	if (ex->ex_req_truncated)
		return ("truncated");
	if (ex->ex_req.method == NULL || ex->ex_req.target == NULL)
		return ("no_request");
	if (o->primary == NULL && !ex->ex_resp[SIDE_PRIMARY].present)
		return ("no_primary");
	if (o->drop_redacted)
		return (NULL);
	for (i = 0; i < hs->n; i++) {
		if (strcmp(hs->h[i].value, "[redacted]") == 0 &&
		    replay_set_value(o, hs->h[i].name) == NULL)
			return ("redacted");
	}
	return (NULL);
}

/* Put the --set-header values in place of the redacted ones. */
static void
replay_fill_redacted(const struct replay_opts *o, struct http_request *req)
{
	struct headers	*hs = &req->headers;
	const char	*v;
	size_t		 i;

	for (i = 0; i < hs->n; i++) {
		if (strcmp(hs->h[i].value, "[redacted]") != 0 ||
		    (v = replay_set_value(o, hs->h[i].name)) == NULL)
			continue;
		headers_set_value(hs, i, v, strlen(v));
	}
}

/* Remove the headers a capture redacted (--drop-redacted). */
static void
replay_drop_redacted(struct http_request *req)
{
	struct headers	*hs = &req->headers;
	size_t		 i, j;

	for (i = j = 0; i < hs->n; i++) {
		/* Its bytes stay in the list's arena. */
		if (strcmp(hs->h[i].value, "[redacted]") == 0)
			continue;
		hs->h[j++] = hs->h[i];
	}
	hs->n = j;
}

/*
 * Turn a recorded exchange into a new one (source "replay"): the same
 * id, route and request, and, without a live primary, the recorded
 * primary response.  The recorded exchange is left empty.
 */
static struct exchange *
replay_exchange(const struct replay_opts *o, struct exchange *old)
{
	struct exchange	*ex;

	ex = xcalloc(1, sizeof *ex);
	exchange_init(ex, "replay");
	memcpy(ex->ex_id, old->ex_id, sizeof ex->ex_id);
	if (ex->ex_id[0] == '\0')
		trace_mint(ex->ex_id, sizeof ex->ex_id);
	gettimeofday(&ex->ex_ts, NULL);
	ex->ex_req = old->ex_req;
	memset(&old->ex_req, 0, sizeof old->ex_req);
	ex->ex_req_truncated = old->ex_req_truncated;
	if (old->ex_route != NULL) {
		ex->ex_route = old->ex_route;
		old->ex_route = NULL;
	} else if (ex->ex_req.method != NULL && ex->ex_req.target != NULL)
		ex->ex_route = route_template(ex->ex_req.method,
		    ex->ex_req.target, o->routes, o->nroutes);
	else
		ex->ex_route = xstrdup("?");
	if (o->primary == NULL) {
		ex->ex_resp[SIDE_PRIMARY] = old->ex_resp[SIDE_PRIMARY];
		memset(&old->ex_resp[SIDE_PRIMARY], 0,
		    sizeof old->ex_resp[SIDE_PRIMARY]);
	}
	return (ex);
}

/* Say why an exchange is not replayed (a SKIP line), unless quiet. */
static void
replay_skip_log(const struct replay_opts *o, const struct exchange *ex,
    const char *why)
{
	if (o->quiet)
		return;
	log_warnx("SKIP %s %s id=%s: %s", why, ex->ex_route, ex->ex_id,
	    strcmp(why, "truncated") == 0 ? "the recorded request body was "
	    "cut; it cannot be replayed" : strcmp(why, "redacted") == 0 ?
	    "a header was redacted in the capture (--set-header gives its "
	    "value, --drop-redacted sends it without)" : strcmp(why, "no_primary") == 0 ?
	    "no primary response recorded (use --primary)" :
	    "no request recorded");
}

/*
 * Make a replay_pending of an exchange (which it takes): its canonical
 * request's head built, or, with why, marked skipped with that reason.
 */
static struct replay_pending *
replay_pending_new(struct replay *rp, struct exchange *ex, const char *why)
{
	const struct replay_opts	*o = rp->rp_opts;
	struct replay_pending		*rq;

	rq = xcalloc(1, sizeof *rq);
	rq->rq_rp = rp;
	rq->rq_ex = ex;
	buf_init(&rq->rq_canon);
	if (why != NULL) {
		ex->ex_verdict = VERDICT_SKIPPED;
		ex->ex_skip_reason = xstrdup(why);
		rq->rq_skip = 1;
		return (rq);
	}
	canonical_head(&ex->ex_req, o->trace_header, ex->ex_id, o->host,
	    upstream_authority(rp->rp_up[SIDE_CANDIDATE]), NULL,
	    &rq->rq_canon);
	return (rq);
}

/*
 * On the reader thread: turn a recorded exchange into a replay_pending,
 * its canonical request built, or marked skipped with the reason.
 */
static struct replay_pending *
replay_prepare(struct replay *rp, struct exchange *old)
{
	const struct replay_opts	*o = rp->rp_opts;
	struct exchange			*ex;
	const char			*why;

	why = replay_unsafe(o, old);
	ex = replay_exchange(o, old);
	if (why != NULL) {
		rp->rp_nskipped++;
		replay_skip_log(o, ex, why);
	} else {
		replay_fill_redacted(o, &ex->ex_req);
		if (o->drop_redacted)
			replay_drop_redacted(&ex->ex_req);
	}
	return (replay_pending_new(rp, ex, why));
}

/*
 * Does the third side get this exchange?  With --secondary every one the
 * candidate gets; with --self-check (a live primary) a sample of the GET
 * and HEAD requests, asked of the primary a second time.
 */
static int
replay_secondary(struct replay *rp, struct exchange *ex)
{
	const struct replay_opts	*o = rp->rp_opts;

	if (rp->rp_up[SIDE_SECONDARY] == NULL)
		return (0);
	if (o->self_check == 0)
		return (1);
	if (strcmp(ex->ex_req.method, "GET") != 0 &&
	    strcmp(ex->ex_req.method, "HEAD") != 0)
		return (0);
	if (!self_check_pick(o->self_check, &rp->rp_self_eligible))
		return (0);
	ex->ex_self_check = 1;
	return (1);
}

/* On the loop: send a prepared exchange, or pass a skipped one on. */
static void
replay_send(struct replay *rp, struct replay_pending *rq)
{
	struct exchange	*ex = rq->rq_ex;
	int		 head;

	rp->rp_handed++;
	if (rq->rq_skip) {
		pipeline_submit(rp->rp_pipeline, ex);
		buf_free(&rq->rq_canon);
		free(rq);
		return;
	}
	head = strcmp(ex->ex_req.method, "HEAD") == 0;
	rp->rp_inflight++;
	rp->rp_stats.sent++;
	TAILQ_INSERT_TAIL(&rp->rp_sent, rq, rq_entry);
	rq->rq_fo = fanout_new(rp->rp_pipeline, ex, &rq->rq_canon, head,
	    rp->rp_opts->max_body, replay_done, rq);
	if (rp->rp_up[SIDE_PRIMARY] != NULL)
		fanout_send(rq->rq_fo, SIDE_PRIMARY, rp->rp_up[SIDE_PRIMARY],
		    &replay_hooks, rq);
	fanout_send(rq->rq_fo, SIDE_CANDIDATE, rp->rp_up[SIDE_CANDIDATE],
	    &replay_hooks, rq);
	if (replay_secondary(rp, ex))
		fanout_send(rq->rq_fo, SIDE_SECONDARY,
		    rp->rp_up[SIDE_SECONDARY], &replay_hooks, rq);
}

/*
 * Wake the loop if it is waiting for items; called under rp_lock.  Waking
 * it for each item would cost a write, a wakeup and a read per exchange
 * whenever the loop outruns the parser, so a loop just run dry is woken
 * for a batch (or the end), and a short timer of its own looks again.
 * If that finds none, the input is a trickle (a pipe, tail -f) or has
 * stopped: the loop waits with no timer and is woken for the first item.
 */
static void
replay_wake(struct replay *rp)
{
	ssize_t	 n;

	if (rp->rp_starved == REPLAY_FED ||
	    (rp->rp_starved == REPLAY_DRY && rp->rp_len < REPLAY_WAKE_BATCH &&
	    !rp->rp_done))
		return;
	rp->rp_starved = REPLAY_FED;
	do
		n = write(rp->rp_wake[1], "", 1);
	while (n == -1 && errno == EINTR);
}

/* The reader thread: read, filter and prepare exchanges into the queue. */
static void *
replay_reader(void *arg)
{
	struct replay		*rp = arg;
	struct replay_pending	*rq;
	struct exchange		 old;
	char			*cause = NULL;
	int			 i, rc = 0;

	pthread_setname_np(pthread_self(), "replay-reader");
	/* The queue keeps it ahead: the loop and the backends come first. */
	thread_background();
	for (i = 0; i < rp->rp_nreaders; i++) {
		for (;;) {
			rc = capture_reader_next(rp->rp_readers[i], &old,
			    &cause);
			if (rc <= 0)
				break;
			atomic_fetch_add(&rp->rp_read, 1);
			if (!replay_selected(rp->rp_opts, &old)) {
				rp->rp_nfiltered++;
				exchange_free(&old);
				continue;
			}
			rq = replay_prepare(rp, &old);
			exchange_free(&old);

			pthread_mutex_lock(&rp->rp_lock);
			while (rp->rp_len == REPLAY_QUEUE && !rp->rp_stop)
				pthread_cond_wait(&rp->rp_cond, &rp->rp_lock);
			if (rp->rp_stop) {
				pthread_mutex_unlock(&rp->rp_lock);
				exchange_free(rq->rq_ex);
				free(rq->rq_ex);
				buf_free(&rq->rq_canon);
				free(rq);
				rc = 0;
				goto out;
			}
			rp->rp_queue[(rp->rp_head + rp->rp_len) %
			    REPLAY_QUEUE] = rq;
			rp->rp_len++;
			replay_wake(rp);
			pthread_mutex_unlock(&rp->rp_lock);
		}
		if (rc < 0)
			break;
	}
out:
	pthread_mutex_lock(&rp->rp_lock);
	rp->rp_done = 1;
	rp->rp_failed = rc < 0;
	rp->rp_cause = cause;
	rp->rp_starved = REPLAY_IDLE;
	replay_wake(rp);
	pthread_mutex_unlock(&rp->rp_lock);
	return (NULL);
}

/* Start as many exchanges as --concurrency and --rate allow. */
static void
replay_pump(struct replay *rp)
{
	const struct replay_opts	*o = rp->rp_opts;
	struct replay_pending		*rq;
	struct timeval			 tv;
	int				 dry;

	while (!rp->rp_eof && rp->rp_inflight < o->concurrency &&
	    (o->rate <= 0 || rp->rp_tokens >= 1)) {
		pthread_mutex_lock(&rp->rp_lock);
		if (rp->rp_len == 0) {
			dry = 0;
			if (rp->rp_done)
				rp->rp_eof = 1;
			else if (rp->rp_starved == REPLAY_FED) {
				rp->rp_starved = REPLAY_DRY;
				dry = 1;
			} else
				rp->rp_starved = REPLAY_IDLE;
			pthread_mutex_unlock(&rp->rp_lock);
			if (dry) {
				tv.tv_sec = 0;
				tv.tv_usec = REPLAY_STARVED_MS * 1000;
				evtimer_add(rp->rp_pump, &tv);
			}
			break;
		}
		rq = rp->rp_queue[rp->rp_head];
		rp->rp_head = (rp->rp_head + 1) % REPLAY_QUEUE;
		/* Fed again: dry next time is a timer's wait, not idle. */
		rp->rp_starved = REPLAY_FED;
		/*
		 * A full queue's reader waits until there is room for a
		 * batch: woken for each free slot, it would cost a futex
		 * wake, a wait and two switches per exchange.
		 */
		if (--rp->rp_len == REPLAY_QUEUE - REPLAY_REFILL)
			pthread_cond_signal(&rp->rp_cond);
		pthread_mutex_unlock(&rp->rp_lock);
		if (!rq->rq_skip && o->rate > 0)
			rp->rp_tokens -= 1;
		replay_send(rp, rq);
	}
	if (rp->rp_eof && rp->rp_inflight == 0)
		event_base_loopbreak(rp->rp_base);
}

/* The reader has queued items, or finished. */
static void
replay_wake_cb(evutil_socket_t fd, short events, void *arg)
{
	char	 b[64];

	while (read(fd, b, sizeof b) > 0)
		;
	replay_pump(arg);
}

/* The pump event: a slot freed up. */
static void
replay_pump_cb(evutil_socket_t fd, short events, void *arg)
{
	replay_pump(arg);
}

/* The rate timer: add tokens for the time passed. */
static void
replay_tick_cb(evutil_socket_t fd, short events, void *arg)
{
	struct replay	*rp = arg;
	double		 now = mono_ms(), cap;

	rp->rp_tokens += (now - rp->rp_last_tick) / 1000.0 * rp->rp_opts->rate;
	rp->rp_last_tick = now;
	/* No burst after a stall: at most one tick's worth (or one). */
	cap = rp->rp_opts->rate * REPLAY_TICK_MS / 1000.0;
	if (cap < 1)
		cap = 1;
	if (rp->rp_tokens > cap)
		rp->rp_tokens = cap;
	replay_pump(rp);
}

/* Draw the progress bar on stderr (a TTY). */
static void
replay_progress_cb(evutil_socket_t fd, short events, void *arg)
{
	struct replay	*rp = arg;
	char		 bar[31];
	double		 secs = (mono_ms() - rp->rp_started) / 1000.0;
	uint64_t	 done = rp->rp_handed - rp->rp_inflight;
	size_t		 i, fill;

	if (rp->rp_total != 0) {
		fill = (size_t)(done * 30 / (rp->rp_total > done ?
		    rp->rp_total : done));
		for (i = 0; i < 30; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[30] = '\0';
		fprintf(stderr, "\r[%s] %llu/%llu exchanges, %.0f/s\033[K",
		    bar, (unsigned long long)done,
		    (unsigned long long)rp->rp_total,
		    secs > 0 ? rp->rp_stats.completed / secs : 0.0);
	} else
		fprintf(stderr, "\r%llu exchanges, %.0f/s\033[K",
		    (unsigned long long)done,
		    secs > 0 ? rp->rp_stats.completed / secs : 0.0);
}

/* Count the lines of a plain capture file (for the progress bar), or 0. */
static uint64_t
replay_count_lines(const char *path)
{
	char		 b[65536], *p;
	uint64_t	 n = 0;
	ssize_t		 len;
	size_t		 plen = strlen(path);
	int		 fd;

	if (strcmp(path, "-") == 0 ||
	    (plen > 3 && strcmp(path + plen - 3, ".gz") == 0))
		return (0);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (0);
	while ((len = read(fd, b, sizeof b)) > 0) {
		for (p = b; (p = memchr(p, '\n', (size_t)(b + len - p))) !=
		    NULL; p++)
			n++;
	}
	close(fd);
	return (n);
}

/* Stop the reader thread and free what is left in its queue. */
static void
replay_reader_stop(struct replay *rp)
{
	struct replay_pending	*rq;

	pthread_mutex_lock(&rp->rp_lock);
	rp->rp_stop = 1;
	pthread_cond_signal(&rp->rp_cond);
	pthread_mutex_unlock(&rp->rp_lock);
	pthread_join(rp->rp_thread, NULL);
	while (rp->rp_len != 0) {
		rq = rp->rp_queue[rp->rp_head];
		rp->rp_head = (rp->rp_head + 1) % REPLAY_QUEUE;
		rp->rp_len--;
		exchange_free(rq->rq_ex);
		free(rq->rq_ex);
		buf_free(&rq->rq_canon);
		free(rq);
	}
}

/* Make the live backends' connection pools; -1 with cause on a bad URL. */
/* A side's deadline: its own (--candidate-timeout ...), else --timeout. */
static int
replay_timeout(const struct replay_opts *o, enum side side)
{
	return (o->side_timeout[side] != 0 ? o->side_timeout[side] :
	    o->timeout);
}

static int
replay_backends(struct replay *rp, char **cause)
{
	const struct replay_opts	*o = rp->rp_opts;
	size_t				 i;

	if (o->primary != NULL) {
		rp->rp_up[SIDE_PRIMARY] = upstream_new(rp->rp_base, "primary",
		    o->primary, replay_timeout(o, SIDE_PRIMARY), REPLAY_IDLE_CONNS, 0,
		    o->tls, cause);
		if (rp->rp_up[SIDE_PRIMARY] == NULL)
			return (-1);
	}
	rp->rp_up[SIDE_CANDIDATE] = upstream_new(rp->rp_base, "candidate",
	    o->candidate, replay_timeout(o, SIDE_CANDIDATE), REPLAY_IDLE_CONNS,
	    0, o->tls, cause);
	if (rp->rp_up[SIDE_CANDIDATE] == NULL)
		return (-1);
	for (i = 0; o->shadow != NULL && i < o->shadow->n; i++)
		upstream_set_header(rp->rp_up[SIDE_CANDIDATE],
		    o->shadow->names[i], o->shadow->values[i]);
	/* --self-check asks the live primary again, through a pool apart. */
	if (o->secondary != NULL || (o->self_check != 0 &&
	    o->primary != NULL)) {
		rp->rp_up[SIDE_SECONDARY] = upstream_new(rp->rp_base,
		    o->secondary != NULL ? "secondary" : "primary",
		    o->secondary != NULL ? o->secondary : o->primary,
		    replay_timeout(o, o->secondary != NULL ? SIDE_SECONDARY :
		    SIDE_PRIMARY), REPLAY_IDLE_CONNS, 0, o->tls, cause);
		if (rp->rp_up[SIDE_SECONDARY] == NULL)
			return (-1);
	}
	tls_opts_check(o->tls, rp->rp_up, SIDE_MAX);
	return (0);
}

/*
 * Replay the captures at paths through the pipeline.  Return EXIT_OK when
 * every selected exchange was replayed or skipped, EXIT_USAGE with cause
 * for a bad URL or an unreadable or malformed capture ("FILE:LINE: ..."),
 * EXIT_RUNTIME with cause when no live backend could be reached at all.
 */
int
replay_run(struct event_base *base, const struct replay_opts *o,
    char **paths, int npaths, struct pipeline *pipeline,
    struct replay_stats *stats, char **cause)
{
	struct replay	 rp;
	struct timeval	 tv;
	int		 i, error, status = EXIT_OK;

	memset(&rp, 0, sizeof rp);
	rp.rp_opts = o;
	rp.rp_base = base;
	rp.rp_pipeline = pipeline;
	TAILQ_INIT(&rp.rp_sent);
	rp.rp_nreaders = npaths;
	rp.rp_wake[0] = rp.rp_wake[1] = -1;
	rp.rp_readers = xcalloc((size_t)npaths, sizeof *rp.rp_readers);
	for (i = 0; i < npaths; i++) {
		rp.rp_readers[i] = capture_reader_open(paths[i], o->lenient,
		    cause);
		if (rp.rp_readers[i] == NULL) {
			status = EXIT_USAGE;
			goto out;
		}
		/* Only the request and the primary's answer are replayed. */
		capture_reader_skip(rp.rp_readers[i],
		    CAPTURE_SKIP_SIDE(SIDE_CANDIDATE) |
		    CAPTURE_SKIP_SIDE(SIDE_SECONDARY) | CAPTURE_SKIP_DIFFS |
		    (o->primary != NULL ? CAPTURE_SKIP_SIDE(SIDE_PRIMARY) : 0));
		if (o->progress)
			rp.rp_total += replay_count_lines(paths[i]);
	}
	if (replay_backends(&rp, cause) != 0) {
		status = EXIT_USAGE;
		goto out;
	}
	if (pipe2(rp.rp_wake, O_CLOEXEC | O_NONBLOCK) != 0)
		fatal("pipe2");

	rp.rp_started = mono_ms();
	rp.rp_pump = event_new(base, -1, 0, replay_pump_cb, &rp);
	rp.rp_wake_ev = event_new(base, rp.rp_wake[0], EV_READ | EV_PERSIST,
	    replay_wake_cb, &rp);
	event_add(rp.rp_wake_ev, NULL);
	if (o->rate > 0) {
		rp.rp_tokens = 1;
		rp.rp_last_tick = mono_ms();
		rp.rp_tick = event_new(base, -1, EV_PERSIST, replay_tick_cb,
		    &rp);
		tv.tv_sec = 0;
		tv.tv_usec = REPLAY_TICK_MS * 1000;
		evtimer_add(rp.rp_tick, &tv);
	}
	if (o->progress) {
		rp.rp_progress = event_new(base, -1, EV_PERSIST,
		    replay_progress_cb, &rp);
		tv.tv_sec = 0;
		tv.tv_usec = REPLAY_PROGRESS_MS * 1000;
		evtimer_add(rp.rp_progress, &tv);
	}

	rp.rp_queue = xcalloc(REPLAY_QUEUE, sizeof *rp.rp_queue);
	pthread_mutex_init(&rp.rp_lock, NULL);
	pthread_cond_init(&rp.rp_cond, NULL);
	/* Nothing read yet: woken for the first item. */
	rp.rp_starved = REPLAY_IDLE;
	if ((error = pthread_create(&rp.rp_thread, NULL, replay_reader,
	    &rp)) != 0) {
		errno = error;
		fatal("pthread_create");
	}
	event_base_dispatch(base);
	replay_reader_stop(&rp);
	pthread_mutex_destroy(&rp.rp_lock);
	pthread_cond_destroy(&rp.rp_cond);
	free(rp.rp_queue);

	if (rp.rp_progress != NULL) {
		fprintf(stderr, "\r\033[K");
		event_free(rp.rp_progress);
	}
	if (rp.rp_tick != NULL)
		event_free(rp.rp_tick);
	event_free(rp.rp_wake_ev);
	event_free(rp.rp_pump);
	rp.rp_stats.read = atomic_load(&rp.rp_read);
	rp.rp_stats.filtered = rp.rp_nfiltered;
	rp.rp_stats.skipped = rp.rp_nskipped;

	if (rp.rp_failed) {
		*cause = rp.rp_cause;
		rp.rp_cause = NULL;
		status = EXIT_USAGE;
	} else if (rp.rp_stats.sent != 0 && rp.rp_stats.reached == 0) {
		xasprintf(cause, "no response from %s%s%s: cannot reach any "
		    "backend", o->primary != NULL ? o->primary : "",
		    o->primary != NULL ? " or " : "", o->candidate);
		status = EXIT_RUNTIME;
	}
out:
	for (i = 0; i < SIDE_MAX; i++) {
		if (rp.rp_up[i] != NULL)
			upstream_free(rp.rp_up[i]);
	}
	for (i = 0; i < npaths; i++)
		capture_reader_close(rp.rp_readers[i]);
	free(rp.rp_readers);
	free(rp.rp_cause);
	if (rp.rp_wake[0] != -1) {
		close(rp.rp_wake[0]);
		close(rp.rp_wake[1]);
	}
	if (stats != NULL)
		*stats = rp.rp_stats;
	return (status);
}

/*
 * Start a replayer for a live source: no capture files, exchanges come
 * from replay_submit.  NULL with cause for a bad URL.
 */
struct replay *
replay_new(struct event_base *base, const struct replay_opts *o,
    struct pipeline *pipeline, char **cause)
{
	struct replay	*rp;

	rp = xcalloc(1, sizeof *rp);
	rp->rp_opts = o;
	rp->rp_base = base;
	rp->rp_pipeline = pipeline;
	rp->rp_submitted = 1;
	rp->rp_wake[0] = rp->rp_wake[1] = -1;
	TAILQ_INIT(&rp->rp_sent);
	if (replay_backends(rp, cause) != 0) {
		replay_free(rp, NULL);
		return (NULL);
	}
	return (rp);
}

/*
 * Send an exchange seen elsewhere (its request and primary response
 * filled in) to the candidate; the replayer takes it, and it reaches the
 * pipeline when the candidate has answered.  An exchange that cannot be sent
 * (a cut request body, a method not in the filter, --concurrency already
 * in flight) goes to the pipeline at once, skipped.  Return the skip reason,
 * or NULL when it was sent.
 */
const char *
replay_submit(struct replay *rp, struct exchange *ex)
{
	const struct replay_opts	*o = rp->rp_opts;
	const char			*why = NULL;

	/* A source's own verdict ("recorded") gives way to the comparison. */
	ex->ex_verdict = VERDICT_NONE;
	if (ex->ex_id[0] == '\0')
		trace_mint(ex->ex_id, sizeof ex->ex_id);
	if (ex->ex_route == NULL)
		ex->ex_route = ex->ex_req.method != NULL &&
		    ex->ex_req.target != NULL ? route_template(
		    ex->ex_req.method, ex->ex_req.target, o->routes,
		    o->nroutes) : xstrdup("?");
	if (ex->ex_req_truncated)
		why = "truncated";
	else if (ex->ex_req.method == NULL || ex->ex_req.target == NULL)
		why = "no_request";
	else if (o->primary == NULL && !ex->ex_resp[SIDE_PRIMARY].present)
		why = "no_primary";
	else if (!replay_match(o->filter.methods, o->filter.nmethods,
	    ex->ex_req.method, FNM_CASEFOLD))
		why = "method";
	else if (!replay_selected(o, ex))
		why = "filter";
	else if (rp->rp_inflight >= o->concurrency) {
		why = "inflight";
		rp->rp_stats.dropped++;
		rp->rp_dropped++;
	}
	if (why != NULL)
		rp->rp_stats.skipped++;
	replay_send(rp, replay_pending_new(rp, ex, why));
	return (why);
}

/* Requests sent to the live backends and not answered yet. */
unsigned
replay_inflight(const struct replay *rp)
{
	return (rp->rp_inflight);
}

/*
 * For the admin thread: requests in flight to one side's backend, and
 * exchanges dropped over --max-inflight.
 */
unsigned
replay_side_inflight(const struct replay *rp, int side)
{
	return (rp->rp_up[side] != NULL ? upstream_inflight(rp->rp_up[side]) :
	    0);
}

uint64_t
replay_dropped(const struct replay *rp)
{
	return (rp->rp_dropped);
}

/* The grace period of replay_drain is over. */
static void
replay_grace_cb(evutil_socket_t fd, short events, void *arg)
{
	struct replay	*rp = arg;

	event_base_loopbreak(rp->rp_base);
}

/*
 * Run the loop until every request in flight has been answered or has
 * failed, for at most ms milliseconds; what is still in flight then is
 * cancelled and passed on with a "timeout" error.  Return how many were.
 */
unsigned
replay_drain(struct replay *rp, int ms)
{
	struct replay_pending	*rq;
	struct timeval		 tv;
	unsigned		 n = 0;

	if (rp->rp_inflight != 0) {
		rp->rp_draining = 1;
		rp->rp_grace = evtimer_new(rp->rp_base, replay_grace_cb, rp);
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		evtimer_add(rp->rp_grace, &tv);
		event_base_dispatch(rp->rp_base);
		event_free(rp->rp_grace);
		rp->rp_grace = NULL;
		rp->rp_draining = 0;
	}
	while ((rq = TAILQ_FIRST(&rp->rp_sent)) != NULL) {
		n++;
		fanout_abort(rq->rq_fo, "timeout", "still in flight at exit");
	}
	return (n);
}

/* Free a replayer (after replay_drain); stats gets what it did. */
void
replay_free(struct replay *rp, struct replay_stats *stats)
{
	int	 i;

	if (stats != NULL)
		*stats = rp->rp_stats;
	for (i = 0; i < SIDE_MAX; i++) {
		if (rp->rp_up[i] != NULL)
			upstream_free(rp->rp_up[i]);
	}
	free(rp);
}
