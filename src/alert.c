/*
 * Alert channels, DESIGN §5: drift transitions go to Alertmanager, a JSON
 * webhook (or Slack's incoming webhook) and a hook program.
 *
 * The pipeline thread calls alerts_submit for each transition: it copies
 * the event into each channel's bounded queue under a lock held for a few
 * pointer moves, writes a byte to wake the alert thread and returns.  It
 * never waits on a channel: when a queue is full the event is dropped,
 * counted and said (at most every ALERT_LOG_EVERY ms).  The channels run
 * on a thread of their own with its own event loop, so a webhook that
 * hangs or a hook that never exits slows nothing but its own channel.
 *
 * Alertmanager gets one alert per drift at once (it groups alerts itself:
 * its group_wait and group_interval apply), re-posted every --alert-repeat
 * while the drift goes on so that its resolve_timeout does not end it,
 * and once more with endsAt when it resolves.  The other channels batch
 * as Alertmanager does: a message goes --alert-group-wait after the first
 * transition it holds, and no sooner than --alert-group-interval after
 * the previous one, with at most ALERT_BATCH drifts (more make more
 * messages).  HTTP messages are retried with exponential backoff after a
 * connection error, a timeout or a 5xx, up to --alert-tries tries; a 4xx
 * is a permanent failure.  A hook (alert-exec.c) is run without a shell,
 * the message on its stdin, at most --alert-exec-max at once, killed
 * past --alert-exec-timeout.
 *
 * Counts are of transitions: one is sent when the message that holds it
 * was accepted, failed when that message failed for good (or was still
 * unsent at the deadline of alerts_stop), dropped when its queue was
 * full.  Alertmanager's reminders are not counted.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <jansson.h>

#include "paritytap.h"
#include "alert-internal.h"

#define ALERT_BATCH		10	/* drifts per message */
#define ALERT_LOG_EVERY		10000	/* ms between "queue full" lines */
#define ALERT_BACKOFF		1000	/* ms before the first retry */
#define ALERT_BACKOFF_MAX	60000
#define ALERT_MIN_FLUSH		1000	/* ms alerts_stop gives at least */

static void	alert_send_next(struct alert_chan *);

/* Free a copied transition. */
static void
alert_item_free(struct alert_item *it)
{
	if (it == NULL)
		return;
	free(it->route);
	free(it->kind);
	free(it->path);
	free(it->side);
	free(it->example_id);
	free(it->example_request);
	free(it);
}

/* Copy what a channel keeps of an event. */
static struct alert_item *
alert_item_new(const struct drift_event *ev)
{
	struct alert_item	*it;
	const struct drift	*d = ev->drift;

	it = xcalloc(1, sizeof *it);
	if (ev->id != NULL)
		snprintf(it->id, sizeof it->id, "%s", ev->id);
	else
		drift_id(d, it->id);
	it->state = ev->state;
	it->route = xstrdup(d->route != NULL ? d->route : "-");
	it->kind = xstrdup(d->kind != NULL ? d->kind : "-");
	it->path = xstrdup(d->path != NULL ? d->path : "-");
	it->side = xstrdup(d->side != NULL ? d->side : "-");
	it->verdict = d->verdict;
	it->at = ev->at;
	it->first_seen = ev->first_seen;
	it->last_seen = ev->last_seen;
	it->count = ev->count;
	if (ev->example_id != NULL)
		it->example_id = xstrdup(ev->example_id);
	if (ev->example_request != NULL)
		it->example_request = xstrdup(ev->example_request);
	return (it);
}

void
alert_msg_free(struct alert_msg *m)
{
	if (m == NULL)
		return;
	free(m->body);
	free(m);
}

/* A Unix time as RFC 3339; into buf. */
static const char *
alert_time(double t, char *buf, size_t len)
{
	struct timeval	 tv;

	tv.tv_sec = (time_t)t;
	tv.tv_usec = (suseconds_t)((t - (double)tv.tv_sec) * 1e6);
	format_rfc3339(&tv, buf, len);
	return (buf);
}

/* Set a string member, or null when there is none; the object's own. */
static void
alert_json_str(json_t *o, const char *key, const char *s)
{
	json_object_set_new(o, key, s != NULL ? json_string(s) : json_null());
}

/* One line that says what a transition is; allocated. */
static char *
alert_line(const struct alert_item *it)
{
	char	*s;

	xasprintf(&s, "%s %s: %s %s at %s (%s, %llu exchange%s)",
	    it->state == DRIFT_NEW ? "NEW" : it->state == DRIFT_RESOLVED ?
	    "RESOLVED" : it->state == DRIFT_REGRESSED ? "REGRESSED" :
	    "ONGOING", it->route, it->side, it->kind, it->path,
	    verdict_name(it->verdict), (unsigned long long)it->count,
	    it->count == 1 ? "" : "s");
	return (s);
}

/* One drift of the webhook's message; a new reference. */
static json_t *
alert_json_drift(const struct alert_item *it)
{
	json_t	*o, *ex;
	char	 t[64];

	o = json_object();
	json_object_set_new(o, "id", json_string(it->id));
	json_object_set_new(o, "state",
	    json_string(drift_state_name(it->state)));
	json_object_set_new(o, "route", json_string(it->route));
	json_object_set_new(o, "kind", json_string(it->kind));
	json_object_set_new(o, "path", json_string(it->path));
	json_object_set_new(o, "side", json_string(it->side));
	json_object_set_new(o, "verdict",
	    json_string(verdict_name(it->verdict)));
	json_object_set_new(o, "count", json_integer((json_int_t)it->count));
	json_object_set_new(o, "first_seen",
	    json_string(alert_time(it->first_seen, t, sizeof t)));
	json_object_set_new(o, "last_seen",
	    json_string(alert_time(it->last_seen, t, sizeof t)));
	ex = json_object();
	alert_json_str(ex, "trace_id", it->example_id);
	alert_json_str(ex, "request", it->example_request);
	json_object_set_new(o, "example", ex);
	return (o);
}

/* A message body from a JSON value, which it takes. */
static struct alert_msg *
alert_msg_json(json_t *v, unsigned ncount)
{
	struct alert_msg	*m;

	m = xcalloc(1, sizeof *m);
	if ((m->body = json_dumps(v, JSON_COMPACT)) == NULL)
		fatalx("%s: json_dumps", __func__);
	m->len = strlen(m->body);
	m->ncount = ncount;
	json_decref(v);
	return (m);
}

/*
 * The webhook's (and the hook's) message for up to ALERT_BATCH items, or
 * Slack's incoming-webhook message: a text for notifications and one
 * section of one line per drift.
 */
static struct alert_msg *
alert_msg_batch(struct alert_chan *c, struct alert_item **items, unsigned n)
{
	struct alerts	*a = c->a;
	json_t		*o, *arr, *blocks, *sec, *txt;
	struct buf	 b;
	char		*line, *s;
	unsigned	 i;

	if (c->kind == ALERT_WEBHOOK && a->opts.format == ALERT_FORMAT_SLACK) {
		buf_init(&b);
		for (i = 0; i < n; i++) {
			line = alert_line(items[i]);
			buf_printf(&b, "%s%s", i == 0 ? "" : "\n", line);
			free(line);
		}
		s = buf_detach(&b);
		o = json_object();
		blocks = json_array();
		sec = json_object();
		txt = json_object();
		xasprintf(&line, "paritytap %s: %u drift%s", a->instance, n,
		    n == 1 ? "" : "s");
		json_object_set_new(txt, "type", json_string("mrkdwn"));
		json_object_set_new(txt, "text", json_string(line));
		json_object_set_new(sec, "type", json_string("section"));
		json_object_set_new(sec, "text", txt);
		json_array_append_new(blocks, sec);
		sec = json_object();
		txt = json_object();
		json_object_set_new(txt, "type", json_string("mrkdwn"));
		json_object_set_new(txt, "text", json_string(s));
		json_object_set_new(sec, "type", json_string("section"));
		json_object_set_new(sec, "text", txt);
		json_array_append_new(blocks, sec);
		free(line);
		xasprintf(&line, "paritytap %s: %u drift%s\n%s", a->instance,
		    n, n == 1 ? "" : "s", s);
		json_object_set_new(o, "text", json_string(line));
		json_object_set_new(o, "blocks", blocks);
		free(line);
		free(s);
		return (alert_msg_json(o, n));
	}
	o = json_object();
	json_object_set_new(o, "version", json_integer(1));
	json_object_set_new(o, "source", json_string("paritytap"));
	json_object_set_new(o, "instance", json_string(a->instance));
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, alert_json_drift(items[i]));
	json_object_set_new(o, "drifts", arr);
	return (alert_msg_json(o, n));
}

/* One alert of Alertmanager's API v2; a new reference. */
static json_t *
alert_json_am(struct alerts *a, const struct alert_item *it, double starts)
{
	json_t	*o, *l, *an;
	char	 t[64], *s;

	o = json_object();
	l = json_object();
	json_object_set_new(l, "alertname", json_string("ParitytapDrift"));
	json_object_set_new(l, "route", json_string(it->route));
	json_object_set_new(l, "kind", json_string(it->kind));
	json_object_set_new(l, "path", json_string(it->path));
	json_object_set_new(l, "side", json_string(it->side));
	json_object_set_new(l, "verdict",
	    json_string(verdict_name(it->verdict)));
	json_object_set_new(l, "instance", json_string(a->instance));
	json_object_set_new(o, "labels", l);
	an = json_object();
	xasprintf(&s, "%s: %s %s at %s (%s)", it->route, it->side, it->kind,
	    it->path, verdict_name(it->verdict));
	json_object_set_new(an, "summary", json_string(s));
	free(s);
	if (it->example_id != NULL)
		json_object_set_new(an, "trace_id",
		    json_string(it->example_id));
	if (it->example_request != NULL)
		json_object_set_new(an, "request",
		    json_string(it->example_request));
	json_object_set_new(an, "drift_id", json_string(it->id));
	json_object_set_new(o, "annotations", an);
	json_object_set_new(o, "startsAt",
	    json_string(alert_time(starts, t, sizeof t)));
	if (it->state == DRIFT_RESOLVED)
		json_object_set_new(o, "endsAt",
		    json_string(alert_time(it->at, t, sizeof t)));
	if (a->opts.generator_url != NULL)
		json_object_set_new(o, "generatorURL",
		    json_string(a->opts.generator_url));
	return (o);
}

/* Wake the alert thread; a byte already in the pipe does as well. */
static void
alert_wake(struct alerts *a)
{
	char	c = 0;

	if (write(a->wake[1], &c, 1) < 0)
		(void)0;
}

/*
 * Hand a drift transition to every channel: a copy into each queue, or a
 * drop counted there.  Never waits for a channel.
 */
void
alerts_submit(struct alerts *a, const struct drift_event *ev)
{
	struct alert_chan	*c;
	struct alert_item	*it;
	double			 now;
	size_t			 i;
	int			 added = 0;

	if (a == NULL || ev->baselined)
		return;
	for (i = 0; i < a->nchans; i++) {
		c = &a->chans[i];
		/* A reminder only keeps Alertmanager's alert up to date. */
		if (ev->state == DRIFT_ONGOING && c->kind != ALERT_ALERTMANAGER)
			continue;
		it = alert_item_new(ev);
		pthread_mutex_lock(&a->lock);
		if (c->npending >= a->opts.queue) {
			c->dropped++;
			now = mono_ms();
			if (c->logged_at == 0 ||
			    now - c->logged_at >= ALERT_LOG_EVERY) {
				c->logged_at = now;
				log_warnx("alerts: %s: queue full (%u "
				    "transitions waiting): %llu dropped so far",
				    c->name, a->opts.queue,
				    (unsigned long long)c->dropped);
			}
			pthread_mutex_unlock(&a->lock);
			alert_item_free(it);
			continue;
		}
		if (ev->state != DRIFT_ONGOING)
			c->npending++;
		TAILQ_INSERT_TAIL(&c->inq, it, entry);
		pthread_mutex_unlock(&a->lock);
		added = 1;
	}
	if (added)
		alert_wake(a);
}

/* The drift table's listener: the hook it calls for each transition. */
void
alerts_listener(void *arg, const struct drift_event *ev)
{
	alerts_submit(arg, ev);
}

/* Count a message's transitions as sent or failed. */
void
alert_count(struct alert_chan *c, struct alert_msg *m, int ok)
{
	pthread_mutex_lock(&c->a->lock);
	if (ok)
		c->sent += m->ncount;
	else
		c->failed += m->ncount;
	c->npending -= m->ncount > c->npending ? c->npending : m->ncount;
	pthread_mutex_unlock(&c->a->lock);
}

/* Arm a timer ms from now. */
void
alert_timer(struct event *ev, double ms)
{
	struct timeval	 tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(((uint64_t)ms % 1000) * 1000);
	evtimer_add(ev, &tv);
}

/* Turn the batch into messages of at most ALERT_BATCH drifts. */
static void
alert_flush_batch(struct alert_chan *c)
{
	struct alert_item	*items[ALERT_BATCH], *it;
	struct alert_msg	*m;
	unsigned		 n;

	c->batch_armed = 0;
	evtimer_del(c->ev_batch);
	if (TAILQ_EMPTY(&c->batch))
		return;
	while (!TAILQ_EMPTY(&c->batch)) {
		for (n = 0; n < ALERT_BATCH &&
		    (it = TAILQ_FIRST(&c->batch)) != NULL; n++) {
			TAILQ_REMOVE(&c->batch, it, entry);
			items[n] = it;
		}
		m = alert_msg_batch(c, items, n);
		TAILQ_INSERT_TAIL(&c->outbox, m, entry);
		while (n > 0)
			alert_item_free(items[--n]);
	}
	c->nbatch = 0;
	c->flushed_at = mono_ms();
	if (c->kind == ALERT_EXEC)
		alert_exec_next(c);
	else
		alert_send_next(c);
}

/* The batch's time has come. */
static void
alert_batch_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	alert_flush_batch(arg);
	alert_idle_check(((struct alert_chan *)arg)->a);
}

/*
 * Post Alertmanager's alerts: the dirty ones, or all of them when
 * reminding; those resolved are posted once and forgotten.
 */
static void
alert_am_post(struct alert_chan *c, int all)
{
	struct alerts		*a = c->a;
	struct alert_msg	*m;
	json_t			*arr = NULL;
	unsigned		 n = 0, ncount = 0;
	size_t		 i, j;

	for (i = 0; i < c->nam; i++) {
		if (!all && !c->am[i].dirty)
			continue;
		if (arr == NULL)
			arr = json_array();
		json_array_append_new(arr, alert_json_am(a, c->am[i].it,
		    c->am[i].starts));
		ncount += c->am[i].uncounted;
		c->am[i].uncounted = 0;
		c->am[i].dirty = 0;
		if (++n == ALERT_BATCH) {
			m = alert_msg_json(arr, ncount);
			TAILQ_INSERT_TAIL(&c->outbox, m, entry);
			arr = NULL;
			n = ncount = 0;
		}
	}
	if (arr != NULL) {
		m = alert_msg_json(arr, ncount);
		TAILQ_INSERT_TAIL(&c->outbox, m, entry);
	}
	for (i = j = 0; i < c->nam; i++) {
		if (c->am[i].it->state == DRIFT_RESOLVED &&
		    c->am[i].uncounted == 0)
			alert_item_free(c->am[i].it);
		else
			c->am[j++] = c->am[i];
	}
	c->nam = j;
	alert_send_next(c);
}

/* Remind Alertmanager of the drifts that go on. */
static void
alert_repeat_cb(evutil_socket_t fd, short events, void *arg)
{
	struct alert_chan	*c = arg;
	int			 draining;

	(void)fd;
	(void)events;
	pthread_mutex_lock(&c->a->lock);
	draining = c->a->stopping;
	pthread_mutex_unlock(&c->a->lock);
	if (!draining) {
		alert_am_post(c, 1);
		alert_timer(c->ev_repeat, (double)c->a->opts.repeat);
	}
}

/* Fold a transition into Alertmanager's alerts. */
static void
alert_am_add(struct alert_chan *c, struct alert_item *it)
{
	size_t	 i;

	for (i = 0; i < c->nam; i++) {
		if (strcmp(c->am[i].it->id, it->id) == 0)
			break;
	}
	if (i == c->nam) {
		c->am = xreallocarray(c->am, c->nam + 1, sizeof *c->am);
		memset(&c->am[i], 0, sizeof c->am[i]);
		c->am[i].starts = it->first_seen;
		c->nam++;
	} else {
		/* A reminder keeps the state the last transition gave. */
		if (it->state == DRIFT_ONGOING)
			it->state = c->am[i].it->state == DRIFT_RESOLVED ?
			    DRIFT_RESOLVED : it->state;
		alert_item_free(c->am[i].it);
	}
	c->am[i].it = it;
	/* Back after it resolved: the alert starts again now. */
	if (it->state == DRIFT_REGRESSED)
		c->am[i].starts = it->at;
	if (it->state != DRIFT_ONGOING) {
		c->am[i].uncounted++;
		c->am[i].dirty = 1;
	}
}

/* Take what the pipeline thread queued. */
static void
alert_take(struct alert_chan *c)
{
	struct alerts		*a = c->a;
	struct alert_items	 q;
	struct alert_item	*it;
	double			 at;
	int			 dirty = 0;

	TAILQ_INIT(&q);
	pthread_mutex_lock(&a->lock);
	TAILQ_CONCAT(&q, &c->inq, entry);
	pthread_mutex_unlock(&a->lock);
	while ((it = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, it, entry);
		if (c->kind == ALERT_ALERTMANAGER) {
			if (it->state != DRIFT_ONGOING)
				dirty = 1;
			alert_am_add(c, it);
			continue;
		}
		TAILQ_INSERT_TAIL(&c->batch, it, entry);
		c->nbatch++;
	}
	if (dirty)
		alert_am_post(c, 0);
	if (c->kind == ALERT_ALERTMANAGER || TAILQ_EMPTY(&c->batch))
		return;
	if (a->draining) {
		alert_flush_batch(c);
		return;
	}
	if (!c->batch_armed) {
		/* group_wait after the first, group_interval after the last. */
		at = mono_ms() + (double)a->opts.group_wait;
		if (c->flushed_at != 0 &&
		    c->flushed_at + (double)a->opts.group_interval > at)
			at = c->flushed_at + (double)a->opts.group_interval;
		alert_timer(c->ev_batch, at - mono_ms());
		c->batch_armed = 1;
	}
}

/* A message is done with: counted, and the next one goes. */
void
alert_msg_done(struct alert_chan *c, struct alert_msg *m, int ok)
{
	alert_count(c, m, ok);
	alert_msg_free(m);
}

/* The retry's backoff is over. */
static void
alert_retry_cb(evutil_socket_t fd, short events, void *arg)
{
	struct alert_chan	*c = arg;

	(void)fd;
	(void)events;
	c->waiting = 0;
	alert_send_next(c);
	alert_idle_check(c->a);
}

/*
 * An HTTP message failed: try again after a backoff that doubles, or give
 * up after --alert-tries tries or at once when retry is pointless.
 */
static void
alert_http_failed(struct alert_chan *c, struct alert_msg *m, int retry,
    const char *why)
{
	double	 wait;

	if (retry && m->tries < c->a->opts.tries) {
		wait = ALERT_BACKOFF;
		for (unsigned i = 1; i < m->tries && wait < ALERT_BACKOFF_MAX;
		    i++)
			wait *= 2;
		if (wait > ALERT_BACKOFF_MAX)
			wait = ALERT_BACKOFF_MAX;
		log_warnx("alerts: %s %s: %s (try %u of %u; again in %.0f ms)",
		    c->name, c->target, why, m->tries, c->a->opts.tries, wait);
		TAILQ_INSERT_HEAD(&c->outbox, m, entry);
		c->waiting = 1;
		alert_timer(c->ev_retry, wait);
		return;
	}
	log_warnx("alerts: %s %s: %s; %u alert%s not sent", c->name,
	    c->target, why, m->ncount, m->ncount == 1 ? "" : "s");
	alert_msg_done(c, m, 0);
}

/*
 * What OpenSSL said went wrong on a channel's connection, such as
 * "certificate verify failed"; allocated, or NULL.
 */
static char *
alert_tls_error(struct alert_chan *c)
{
	struct bufferevent	*bev;
	unsigned long		 e;
	char			 buf[256];

	if ((bev = evhttp_connection_get_bufferevent(c->conn)) == NULL ||
	    (e = bufferevent_get_openssl_error(bev)) == 0)
		return (NULL);
	ERR_error_string_n(e, buf, sizeof buf);
	return (xstrdup(buf));
}

/* Free a dropped connection, outside of its own callbacks. */
static void
alert_stale_cb(evutil_socket_t fd, short events, void *arg)
{
	struct alert_chan	*c = arg;

	(void)fd;
	(void)events;
	if (c->stale != NULL) {
		evhttp_connection_free(c->stale);
		c->stale = NULL;
	}
}

/*
 * A TLS connection serves one request: libevent cannot start a new
 * session on the bufferevent of one that ended, so each message gets a
 * connection of its own.
 */
static void
alert_conn_drop(struct alert_chan *c)
{
	struct timeval	 tv = { 0, 0 };

	if (c->stale != NULL)
		evhttp_connection_free(c->stale);
	c->stale = c->conn;
	c->conn = NULL;
	evtimer_add(c->ev_stale, &tv);
}

/* A connection for an https:// channel, the peer's name checked. */
static struct evhttp_connection *
alert_tls_connect(struct alert_chan *c)
{
	struct bufferevent	*bev;
	struct in6_addr		 addr;
	SSL			*ssl;

	if ((ssl = SSL_new(c->a->ssl_ctx)) == NULL)
		return (NULL);
	if (inet_pton(AF_INET, c->host, &addr) == 1 ||
	    inet_pton(AF_INET6, c->host, &addr) == 1)
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), c->host);
	else {
		SSL_set_tlsext_host_name(ssl, c->host);
		SSL_set1_host(ssl, c->host);
	}
	bev = bufferevent_openssl_socket_new(c->a->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(ssl);
		return (NULL);
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return (evhttp_connection_base_bufferevent_new(c->a->base, NULL, bev,
	    c->host, (unsigned short)c->port));
}

/* The answer to a message, or its failure (req NULL or no status). */
static void
alert_http_cb(struct evhttp_request *req, void *arg)
{
	struct alert_chan	*c = arg;
	struct alert_msg	*m = c->inflight;
	struct evbuffer		*in;
	char			*why, body[201], *tls = NULL;
	size_t			 n;
	int			 code;

	if (m == NULL)
		return;
	c->inflight = NULL;
	code = req != NULL ? evhttp_request_get_response_code(req) : 0;
	if (c->tls && c->conn != NULL) {
		tls = alert_tls_error(c);
		alert_conn_drop(c);
	}
	if (code >= 200 && code < 300) {
		log_debug("alerts: %s %s: %d, %u alert%s", c->name, c->target,
		    code, m->ncount, m->ncount == 1 ? "" : "s");
		alert_msg_done(c, m, 1);
	} else if (code == 0) {
		xasprintf(&why, "no answer (connection failed or timed out%s%s)",
		    tls != NULL ? "; TLS: " : "", tls != NULL ? tls : "");
		alert_http_failed(c, m, 1, why);
		free(why);
	} else {
		n = 0;
		if ((in = evhttp_request_get_input_buffer(req)) != NULL) {
			n = evbuffer_copyout(in, body, sizeof body - 1);
			if (n == (size_t)-1)
				n = 0;
		}
		body[n] = '\0';
		body[strcspn(body, "\r\n")] = '\0';
		xasprintf(&why, "answered %d%s%s", code, *body != '\0' ? ": " :
		    "", body);
		alert_http_failed(c, m, code >= 500, why);
		free(why);
	}
	free(tls);
	alert_send_next(c);
	alert_idle_check(c->a);
}

/* Send the next message of an HTTP channel unless one is on its way. */
static void
alert_send_next(struct alert_chan *c)
{
	struct evhttp_request	*req;
	struct evkeyvalq	*h;
	struct alert_msg	*m;
	struct timeval		 tv;

	if (c->kind == ALERT_EXEC) {
		alert_exec_next(c);
		return;
	}
	if (c->inflight != NULL || c->waiting ||
	    (m = TAILQ_FIRST(&c->outbox)) == NULL)
		return;
	TAILQ_REMOVE(&c->outbox, m, entry);
	if (c->conn == NULL) {
		if (c->tls)
			c->conn = alert_tls_connect(c);
		else
			c->conn = evhttp_connection_base_new(c->a->base, NULL,
			    c->host, (unsigned short)c->port);
		if (c->conn == NULL) {
			alert_http_failed(c, m, 1, "cannot make a connection");
			return;
		}
		tv.tv_sec = (time_t)(c->a->opts.timeout / 1000);
		tv.tv_usec = (suseconds_t)(c->a->opts.timeout % 1000) * 1000;
		evhttp_connection_set_timeout_tv(c->conn, &tv);
		evhttp_connection_set_retries(c->conn, 0);
	}
	m->tries++;
	c->inflight = m;
	req = evhttp_request_new(alert_http_cb, c);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", c->hostport);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "User-Agent", "paritytap/" PACKAGE_VERSION);
	evbuffer_add(evhttp_request_get_output_buffer(req), m->body, m->len);
	if (evhttp_make_request(c->conn, req, EVHTTP_REQ_POST, c->uri) != 0) {
		/* libevent freed the request. */
		c->inflight = NULL;
		alert_http_failed(c, m, 1, "cannot send the request");
	}
}

/* Whether a channel holds nothing more to send. */
static int
alert_chan_idle(struct alert_chan *c)
{
	int	 empty;

	pthread_mutex_lock(&c->a->lock);
	empty = TAILQ_EMPTY(&c->inq);
	pthread_mutex_unlock(&c->a->lock);
	return (empty && TAILQ_EMPTY(&c->batch) && TAILQ_EMPTY(&c->outbox) &&
	    c->inflight == NULL && c->nchildren == 0);
}

/* Once stopping, end the loop when every channel is done. */
void
alert_idle_check(struct alerts *a)
{
	size_t	 i;

	if (!a->draining)
		return;
	for (i = 0; i < a->nchans; i++) {
		if (!alert_chan_idle(&a->chans[i]))
			return;
	}
	event_base_loopbreak(a->base);
}

/* The deadline of alerts_stop: what is still unsent is given up. */
static void
alert_deadline_cb(evutil_socket_t fd, short events, void *arg)
{
	struct alerts	*a = arg;

	(void)fd;
	(void)events;
	event_base_loopbreak(a->base);
}

/* Woken: take the queues, and start draining once a stop is asked. */
static void
alert_wake_cb(evutil_socket_t fd, short events, void *arg)
{
	struct alerts	*a = arg;
	char		 buf[256];
	double		 deadline, now;
	size_t		 i;
	int		 stopping;

	(void)events;
	while (read(fd, buf, sizeof buf) > 0)
		/* nothing */;
	pthread_mutex_lock(&a->lock);
	stopping = a->stopping;
	deadline = a->deadline;
	pthread_mutex_unlock(&a->lock);
	if (stopping && !a->draining) {
		a->draining = 1;
		now = mono_ms();
		if (deadline < now + ALERT_MIN_FLUSH)
			deadline = now + ALERT_MIN_FLUSH;
		alert_timer(a->ev_deadline, deadline - now);
		for (i = 0; i < a->nchans; i++) {
			if (a->chans[i].ev_repeat != NULL)
				evtimer_del(a->chans[i].ev_repeat);
		}
	}
	for (i = 0; i < a->nchans; i++) {
		alert_take(&a->chans[i]);
		if (a->draining)
			alert_flush_batch(&a->chans[i]);
	}
	alert_idle_check(a);
}

/* The alert thread: its own loop, signals left to the main thread. */
static void *
alert_thread(void *arg)
{
	struct alerts	*a = arg;

	pthread_setname_np(pthread_self(), "alerts");
	event_base_dispatch(a->base);
	return (NULL);
}

/* Parse an http:// URL into a channel. */
static int
alert_chan_url(struct alert_chan *c, const char *option, const char *url,
    const char *path, char **cause)
{
	struct evhttp_uri	*u;
	const char		*scheme, *host, *p, *q;

	if ((u = evhttp_uri_parse(url)) == NULL ||
	    (scheme = evhttp_uri_get_scheme(u)) == NULL ||
	    (host = evhttp_uri_get_host(u)) == NULL || *host == '\0') {
		xasprintf(cause, "--%s: '%s' is not a URL (http://HOST:PORT/"
		    "PATH)", option, url);
		goto fail;
	}
	if (strcasecmp(scheme, "https") == 0)
		c->tls = 1;
	else if (strcasecmp(scheme, "http") != 0) {
		xasprintf(cause, "--%s: '%s': only http:// and https:// URLs",
		    option, url);
		goto fail;
	}
	c->host = xstrdup(host);
	c->port = evhttp_uri_get_port(u);
	if (c->port == -1)
		c->port = c->tls ? 443 : 80;
	if (c->port == (c->tls ? 443 : 80))
		c->hostport = xstrdup(host);
	else
		xasprintf(&c->hostport, "%s:%d", host, c->port);
	p = evhttp_uri_get_path(u);
	q = evhttp_uri_get_query(u);
	if (path != NULL) {
		/* Alertmanager's base URL, maybe under a prefix. */
		if (p == NULL || *p == '\0')
			p = "/";
		xasprintf(&c->uri, "%.*s%s", (int)(strlen(p) -
		    (p[strlen(p) - 1] == '/')), p, path);
	} else
		xasprintf(&c->uri, "%s%s%s", p != NULL && *p != '\0' ? p : "/",
		    q != NULL ? "?" : "", q != NULL ? q : "");
	c->target = xstrdup(url);
	evhttp_uri_free(u);
	return (0);
fail:
	if (u != NULL)
		evhttp_uri_free(u);
	return (-1);
}

/* Add a channel. */
static struct alert_chan *
alert_chan_add(struct alerts *a, enum alert_kind kind, const char *name)
{
	struct alert_chan	*c;

	a->chans = xreallocarray(a->chans, a->nchans + 1, sizeof *a->chans);
	c = &a->chans[a->nchans++];
	memset(c, 0, sizeof *c);
	c->kind = kind;
	c->name = name;
	return (c);
}

/* Set the defaults of the alert options. */
void
alert_opts_init(struct alert_opts *ao)
{
	memset(ao, 0, sizeof *ao);
	ao->group_wait = 30000;
	ao->group_interval = 300000;
	ao->repeat = 60000;
	ao->timeout = 10000;
	ao->exec_timeout = 10000;
	ao->exec_max = 4;
	ao->tries = 4;
	ao->queue = 1000;
}

/*
 * Set one alert option by its long name.  Return 1 if it was one, 0 if
 * not, -1 on error.
 */
int
alert_opts_set(struct alert_opts *ao, struct options *o, const char *name,
    const char *value, char **cause)
{
	uint64_t	 v, *ms = NULL, min = 0;
	char		*why;

	if (strncmp(name, "alert", 5) != 0)
		return (0);
	if (strcmp(name, "alertmanager") == 0) {
		if (*value == '\0') {
			xasprintf(cause, "--%s: empty URL", name);
			return (-1);
		}
		strlist_add(&ao->alertmanager, &ao->nalertmanager, value);
	} else if (strcmp(name, "alert-url") == 0)
		ao->url = options_keep(o, value);
	else if (strcmp(name, "alert-format") == 0) {
		if (strcmp(value, "json") == 0)
			ao->format = ALERT_FORMAT_JSON;
		else if (strcmp(value, "slack") == 0)
			ao->format = ALERT_FORMAT_SLACK;
		else {
			xasprintf(cause, "--%s: '%s' is not json or slack",
			    name, value);
			return (-1);
		}
	} else if (strcmp(name, "alert-exec") == 0)
		ao->exec = options_keep(o, value);
	else if (strcmp(name, "alert-instance") == 0) {
		if (*value == '\0') {
			xasprintf(cause, "--%s: empty name", name);
			return (-1);
		}
		ao->instance = options_keep(o, value);
	} else if (strcmp(name, "alert-group-wait") == 0)
		ms = &ao->group_wait;
	else if (strcmp(name, "alert-group-interval") == 0)
		ms = &ao->group_interval;
	else if (strcmp(name, "alert-repeat") == 0) {
		ms = &ao->repeat;
		min = 1000;
	} else if (strcmp(name, "alert-timeout") == 0) {
		ms = &ao->timeout;
		min = 1000;
	} else if (strcmp(name, "alert-exec-timeout") == 0) {
		ms = &ao->exec_timeout;
		min = 10;
	} else if (strcmp(name, "alert-exec-max") == 0) {
		if (parse_uint(value, 1, 256, &v, &why) != 0)
			return (options_cause(name, why, cause));
		ao->exec_max = (unsigned)v;
	} else if (strcmp(name, "alert-tries") == 0) {
		if (parse_uint(value, 1, 20, &v, &why) != 0)
			return (options_cause(name, why, cause));
		ao->tries = (unsigned)v;
	} else if (strcmp(name, "alert-queue") == 0) {
		if (parse_uint(value, 1, 1000000, &v, &why) != 0)
			return (options_cause(name, why, cause));
		ao->queue = (unsigned)v;
	} else
		return (0);
	if (ms != NULL && options_duration(name, value, 1000, min,
	    86400000, ms, cause) != 0)
		return (-1);
	return (1);
}

/* Free what the alert options hold. */
void
alert_opts_free(struct alert_opts *ao)
{
	strlist_free(&ao->alertmanager, &ao->nalertmanager);
}

/*
 * The default instance label: the shadowed pair, "primary->candidate",
 * each the authority of its URL; allocated.
 */
char *
alerts_pair(const char *primary, const char *candidate)
{
	const char	*s[2] = { primary, candidate };
	char		*part[2], *out;
	size_t		 len;
	int		 i;

	for (i = 0; i < 2; i++) {
		if (s[i] == NULL)
			s[i] = "-";
		if (strstr(s[i], "://") != NULL)
			s[i] = strstr(s[i], "://") + 3;
		len = strcspn(s[i], "/?#");
		part[i] = xstrndup(s[i], len);
	}
	xasprintf(&out, "%s->%s", part[0], part[1]);
	free(part[0]);
	free(part[1]);
	return (out);
}

/* Whether any channel is asked for. */
int
alerts_wanted(const struct alert_opts *ao)
{
	return (ao->nalertmanager != 0 || ao->url != NULL || ao->exec != NULL);
}

/*
 * Make the channels the options ask for and start their thread; NULL
 * with *cause set on a bad URL or command, or when none is asked for
 * (*cause NULL then).
 */
struct alerts *
alerts_new(const struct alert_opts *ao, const char *pair, char **cause)
{
	struct alerts		*a;
	struct alert_chan	*c;
	sigset_t		 all, old;
	size_t			 i;
	int			 rv;

	*cause = NULL;
	if (!alerts_wanted(ao))
		return (NULL);
	a = xcalloc(1, sizeof *a);
	a->opts = *ao;
	a->opts.alertmanager = NULL;
	a->opts.nalertmanager = 0;
	a->wake[0] = a->wake[1] = -1;
	a->instance = xstrdup(ao->instance != NULL ? ao->instance :
	    pair != NULL ? pair : "paritytap");
	pthread_mutex_init(&a->lock, NULL);
	for (i = 0; i < ao->nalertmanager; i++) {
		c = alert_chan_add(a, ALERT_ALERTMANAGER, "alertmanager");
		if (alert_chan_url(c, "alertmanager", ao->alertmanager[i],
		    "/api/v2/alerts", cause) != 0)
			goto fail;
	}
	if (ao->url != NULL) {
		c = alert_chan_add(a, ALERT_WEBHOOK,
		    ao->format == ALERT_FORMAT_SLACK ? "slack" : "webhook");
		if (alert_chan_url(c, "alert-url", ao->url, NULL, cause) != 0)
			goto fail;
	}
	if (ao->exec != NULL) {
		c = alert_chan_add(a, ALERT_EXEC, "exec");
		if (alert_exec_argv(c, ao->exec, cause) != 0)
			goto fail;
	}

	if ((a->base = event_base_new()) == NULL)
		fatalx("%s: event_base_new", __func__);
	if (pipe2(a->wake, O_CLOEXEC | O_NONBLOCK) != 0)
		fatal("%s: pipe2", __func__);
	a->ev_wake = event_new(a->base, a->wake[0], EV_READ | EV_PERSIST,
	    alert_wake_cb, a);
	event_add(a->ev_wake, NULL);
	a->ev_deadline = evtimer_new(a->base, alert_deadline_cb, a);
	for (i = 0; i < a->nchans; i++) {
		c = &a->chans[i];
		c->a = a;
		/* Only now: a queue's head cannot move once it is used. */
		TAILQ_INIT(&c->inq);
		TAILQ_INIT(&c->batch);
		TAILQ_INIT(&c->outbox);
		TAILQ_INIT(&c->children);
		c->ev_batch = evtimer_new(a->base, alert_batch_cb, c);
		c->ev_stale = evtimer_new(a->base, alert_stale_cb, c);
		if (c->tls && a->ssl_ctx == NULL) {
			/* The system's CAs, or SSL_CERT_FILE / SSL_CERT_DIR. */
			if ((a->ssl_ctx = SSL_CTX_new(TLS_client_method())) ==
			    NULL)
				fatalx("%s: SSL_CTX_new", __func__);
			SSL_CTX_set_default_verify_paths(a->ssl_ctx);
			SSL_CTX_set_verify(a->ssl_ctx, SSL_VERIFY_PEER, NULL);
		}
		c->ev_retry = evtimer_new(a->base, alert_retry_cb, c);
		if (c->kind == ALERT_ALERTMANAGER) {
			c->ev_repeat = evtimer_new(a->base, alert_repeat_cb, c);
			alert_timer(c->ev_repeat, (double)a->opts.repeat);
		}
	}

	/* Signals stay with the thread that handles them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rv = pthread_create(&a->thread, NULL, alert_thread, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rv != 0) {
		errno = rv;
		fatal("%s: pthread_create", __func__);
	}
	a->started = 1;
	for (i = 0; i < a->nchans; i++)
		log_debug("alerts: %s %s", a->chans[i].name,
		    a->chans[i].target);
	return (a);
fail:
	alerts_free(a);
	return (NULL);
}

/*
 * Send what is left, waiting at most until deadline (mono ms; at least
 * ALERT_MIN_FLUSH from now), then end the thread.  What could not be sent
 * is counted as failed and said.
 */
void
alerts_stop(struct alerts *a, double deadline)
{
	struct alert_chan	*c;
	struct alert_item	*it;
	struct alert_msg	*m;
	unsigned		 left;
	size_t			 i, j;

	if (a == NULL || !a->started)
		return;
	pthread_mutex_lock(&a->lock);
	a->stopping = 1;
	a->deadline = deadline;
	pthread_mutex_unlock(&a->lock);
	alert_wake(a);
	pthread_join(a->thread, NULL);
	a->started = 0;

	/* The thread is gone: what it holds is ours. */
	for (i = 0; i < a->nchans; i++) {
		c = &a->chans[i];
		alert_exec_kill(c);
		if (c->conn != NULL) {
			evhttp_connection_free(c->conn);
			c->conn = NULL;
		}
		if (c->stale != NULL) {
			evhttp_connection_free(c->stale);
			c->stale = NULL;
		}
		alert_msg_free(c->inflight);
		c->inflight = NULL;
		while ((m = TAILQ_FIRST(&c->outbox)) != NULL) {
			TAILQ_REMOVE(&c->outbox, m, entry);
			alert_msg_free(m);
		}
		while ((it = TAILQ_FIRST(&c->batch)) != NULL) {
			TAILQ_REMOVE(&c->batch, it, entry);
			alert_item_free(it);
		}
		for (j = 0; j < c->nam; j++)
			alert_item_free(c->am[j].it);
		c->nam = 0;
		pthread_mutex_lock(&a->lock);
		while ((it = TAILQ_FIRST(&c->inq)) != NULL) {
			TAILQ_REMOVE(&c->inq, it, entry);
			alert_item_free(it);
		}
		left = c->npending;
		c->failed += left;
		c->npending = 0;
		pthread_mutex_unlock(&a->lock);
		if (left != 0)
			log_warnx("alerts: %s %s: %u alert%s not sent by the "
			    "deadline", c->name, c->target, left,
			    left == 1 ? "" : "s");
		if (c->dropped != 0)
			log_warnx("alerts: %s %s: %llu alert%s dropped (queue "
			    "full, --alert-queue %u)", c->name, c->target,
			    (unsigned long long)c->dropped,
			    c->dropped == 1 ? "" : "s", a->opts.queue);
	}
}

/* Each channel's counts, up to n; return how many channels there are. */
size_t
alerts_counts(struct alerts *a, struct alert_counts *out, size_t n)
{
	size_t	 i;

	if (a == NULL)
		return (0);
	pthread_mutex_lock(&a->lock);
	for (i = 0; i < n && i < a->nchans; i++) {
		out[i].channel = a->chans[i].name;
		out[i].target = a->chans[i].target;
		out[i].sent = a->chans[i].sent;
		out[i].failed = a->chans[i].failed;
		out[i].dropped = a->chans[i].dropped;
	}
	pthread_mutex_unlock(&a->lock);
	return (a->nchans);
}

/*
 * The summary line's part about alerts, " · N alerts sent, M failed"
 * (and dropped, when some were); "" without channels.  Allocated.
 */
char *
alerts_summary(struct alerts *a)
{
	uint64_t	 sent = 0, failed = 0, dropped = 0;
	size_t		 i;
	char		*s;

	if (a == NULL)
		return (xstrdup(""));
	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->nchans; i++) {
		sent += a->chans[i].sent;
		failed += a->chans[i].failed;
		dropped += a->chans[i].dropped;
	}
	pthread_mutex_unlock(&a->lock);
	if (dropped != 0)
		xasprintf(&s, " \xc2\xb7 %llu alert%s sent, %llu failed, "
		    "%llu dropped", (unsigned long long)sent, sent == 1 ? "" :
		    "s", (unsigned long long)failed,
		    (unsigned long long)dropped);
	else
		xasprintf(&s, " \xc2\xb7 %llu alert%s sent, %llu failed",
		    (unsigned long long)sent, sent == 1 ? "" : "s",
		    (unsigned long long)failed);
	return (s);
}

/* Free the channels; alerts_stop first, if they were started. */
void
alerts_free(struct alerts *a)
{
	struct alert_chan	*c;
	size_t			 i, j;

	if (a == NULL)
		return;
	alerts_stop(a, 0);
	for (i = 0; i < a->nchans; i++) {
		c = &a->chans[i];
		if (c->ev_batch != NULL)
			event_free(c->ev_batch);
		if (c->ev_retry != NULL)
			event_free(c->ev_retry);
		if (c->ev_stale != NULL)
			event_free(c->ev_stale);
		if (c->ev_repeat != NULL)
			event_free(c->ev_repeat);
		free(c->am);
		free(c->target);
		free(c->host);
		free(c->hostport);
		free(c->uri);
		if (c->argv != NULL) {
			for (j = 0; c->argv[j] != NULL; j++)
				free(c->argv[j]);
			free(c->argv);
		}
	}
	free(a->chans);
	if (a->ev_wake != NULL)
		event_free(a->ev_wake);
	if (a->ev_deadline != NULL)
		event_free(a->ev_deadline);
	if (a->base != NULL)
		event_base_free(a->base);
	if (a->ssl_ctx != NULL)
		SSL_CTX_free(a->ssl_ctx);
	if (a->wake[0] != -1) {
		close(a->wake[0]);
		close(a->wake[1]);
	}
	pthread_mutex_destroy(&a->lock);
	free(a->instance);
	free(a);
}
