/*
 * The shadow proxy: client sessions.  Each request is read whole, turned
 * into one canonical serialization, and sent to the primary and (unless
 * sampled out, filtered, or over the in-flight caps) the candidate.  The
 * primary's response is relayed to the client as it arrives; the
 * candidate's is only read, and so is a secondary's (--secondary, or the
 * primary asked again under --self-check).  The fan-out (fanout.c) sends
 * the request to each side and records what comes back; when every side
 * is done the exchange goes to the pipeline, which compares and records
 * it.
 *
 * A client session and the exchange it started are two halves that point
 * at each other: the client can go away (its exchange still completes and
 * is recorded) and the exchange outlives the relay.  All client teardown
 * goes through client_close(cl, reason).
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "paritytap.h"

#define CLIENT_IDLE_SECONDS	60	/* keep-alive idle, and body reads */
#define CLIENT_OUT_HIGH		(4 * 1024 * 1024)
#define CLIENT_OUT_LOW		(256 * 1024)
#define CLIENT_IN_HIGH		(256 * 1024)
#define CLIENT_READ_SIZE	(16 * 1024)
#define PROXY_PRIMARY_IDLE	1024	/* idle primary connections kept */
#define PROXY_CANDIDATE_QUEUE_MS 100	/* candidate waits for a connection */
#define PROXY_REPORT_MS		10000	/* drops said at most this often */

struct client;

/* An exchange in flight: its fan-out and the relay to the client. */
struct pending {
	struct proxy_loop	*pe_px;
	struct exchange		*pe_ex;		/* the fan-out's */
	struct fanout		*pe_fo;
	struct client		*pe_client;	/* NULL once the client left */
	int			 pe_head;	/* HEAD request */
	int			 pe_head_sent;	/* response head relayed */
	int			 pe_chunked;	/* re-chunking to the client */
	int			 pe_paused;	/* primary paused for the client */
	size_t			 pe_mirror_bytes; /* in pg_mirror_bytes */
	int			 pe_mirrors;	/* candidate, secondary open */
	TAILQ_ENTRY(pending)	 pe_entry;
};
TAILQ_HEAD(pending_list, pending);

enum client_state {
	CLIENT_IDLE,		/* between requests */
	CLIENT_READING,		/* a request is arriving */
	CLIENT_WAITING,		/* relaying the primary's response */
	CLIENT_CLOSING		/* flushing a last response, then close */
};

/* One client connection. */
struct client {
	struct proxy_loop	*cl_px;
	struct bufferevent	*cl_bev;
	/*
	 * A plain client's bytes are read by the proxy itself (cl_rev), as
	 * the backends' are: one read() per request, where a bufferevent
	 * asks the size first and fills its own chains.  What the parser
	 * did not take yet (a pipelined request, or bytes that came while
	 * the last response is relayed) waits in cl_in from cl_in_off.  A
	 * TLS client's bytes go through its bufferevent.
	 */
	struct event		*cl_rev;
	struct buf		 cl_in;
	size_t			 cl_in_off;
	char			 cl_ip[INET6_ADDRSTRLEN];
	char			 cl_name[INET6_ADDRSTRLEN + 8];
	struct http_msg		 cl_parser;
	struct buf		 cl_body;
	enum client_state	 cl_state;
	struct pending		*cl_pending;
	struct event		*cl_timer;
	struct event		*cl_flush;	/* write out, once per turn */
	int			 cl_close;	/* close after this response */
	int			 cl_major;
	int			 cl_minor;
	int			 cl_tls;	/* --tls-cert: a TLS bufferevent */
	int			 cl_handshaken;
	int			 cl_tls_broken;	/* no close_notify after an error */
	TAILQ_ENTRY(client)	 cl_entry;
};
TAILQ_HEAD(client_list, client);

/*
 * One event loop's share of the proxy (--threads): its listening socket,
 * its clients, its exchanges, its own pools to each backend and its
 * timers.  Nothing here is touched from another thread but the atomic
 * counters, and the loop is told to stop or abort through its own
 * events (px_stop_ev, px_abort_ev), never by another thread's hand.
 */
struct proxy_loop {
	struct proxy		*px_group;
	int			 px_index;	/* 0: the main thread's */
	struct event_base	*px_base;
	const struct proxy_opts	*px_opts;
	struct pipeline		*px_pipeline;
	struct listener		*px_listener;
	struct upstream		*px_up[SIDE_MAX];	/* secondary may be NULL */
	struct client_list	 px_clients;
	struct pending_list	 px_pending;
	_Atomic unsigned	 px_npending;	/* for the main thread's log */
	_Atomic uint64_t	 px_retries;	/* the pools' retries, published */
	int			 px_stopping;
	int			 px_finished;	/* stopping, and nothing left */
	pthread_t		 px_thread;	/* loops after the first */
	struct event		*px_stop_ev;
	struct event		*px_abort_ev;
};

/*
 * The proxy: its loops, and what they share.  The in-flight caps are
 * global: every loop counts its mirrors in the same atomic counters, so
 * --max-inflight and --max-inflight-bytes mean what they mean with one
 * thread, and so do the drop counters.
 */
struct proxy {
	const struct proxy_opts	*pg_opts;
	struct proxy_loop	**pg_loops;
	int			 pg_nloops;
	int			 pg_started;	/* threads running */
	struct event		*pg_done_ev;	/* on the first loop's base */
	_Atomic int		 pg_finished;	/* loops after the first */
	_Atomic unsigned	 pg_inflight[SIDE_MAX];	/* mirrors sent */
	_Atomic uint64_t	 pg_mirror_bytes; /* sent to the candidate */
	_Atomic uint64_t	 pg_dropped;	/* mirrors over --max-inflight */
	_Atomic uint64_t	 pg_dropped_bytes; /* ... --max-inflight-bytes */
	_Atomic uint64_t	 pg_dropped_secondary;	/* over --max-inflight */
	_Atomic uint64_t	 pg_self_eligible;	/* --self-check's count */
	pthread_mutex_t		 pg_stop_lock;
	pthread_cond_t		 pg_stop_cond;
	int			 pg_nstopped;	/* loops no longer accepting */
	pthread_mutex_t		 pg_said_lock;	/* the drop reports */
	uint64_t		 pg_said_dropped;	/* when last said */
	uint64_t		 pg_said_dropped_bytes;
	double			 pg_said_at;
	_Atomic uint64_t	 pg_tls_errors;	/* failed client handshakes */
};

static void	client_read(struct client *);
static void	client_read_enable(struct client *);
static void	client_read_disable(struct client *);
static void	client_close(struct client *, const char *);
static void	client_schedule_flush(struct client *);
static void	proxy_loop_done(struct proxy_loop *);
static uint64_t	proxy_loop_retries(struct proxy_loop *);

/* (Re)arm a client's timer. */
static void
client_arm(struct client *cl, int seconds)
{
	struct timeval	 tv = { seconds, 0 };

	evtimer_add(cl->cl_timer, &tv);
}

/* (Re)arm a client's timer, in ms. */
static void
client_arm_ms(struct client *cl, int ms)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(cl->cl_timer, &tv);
}

/* Tear a client down: the one close path.  Its exchange lives on. */
static void
client_close(struct client *cl, const char *reason)
{
	struct proxy_loop	*px = cl->cl_px;
	struct pending		*pe;

	log_debug("client %s: close: %s", cl->cl_name, reason);
	if ((pe = cl->cl_pending) != NULL) {
		pe->pe_client = NULL;
		/* Nobody to wait for now: read the rest of the primary. */
		if (pe->pe_paused) {
			pe->pe_paused = 0;
			fanout_resume(pe->pe_fo, SIDE_PRIMARY);
		}
	}
	TAILQ_REMOVE(&px->px_clients, cl, cl_entry);
	event_free(cl->cl_timer);
	event_free(cl->cl_flush);
	if (cl->cl_rev != NULL)
		event_free(cl->cl_rev);
	/* The close_notify, so the client knows the end is the end. */
	if (cl->cl_tls && cl->cl_handshaken && !cl->cl_tls_broken) {
		SSL_shutdown(bufferevent_openssl_get_ssl(cl->cl_bev));
		ERR_clear_error();
	}
	bufferevent_free(cl->cl_bev);
	http_msg_free(&cl->cl_parser);
	buf_free(&cl->cl_body);
	buf_free(&cl->cl_in);
	free(cl);
	if (px->px_stopping && TAILQ_EMPTY(&px->px_clients) &&
	    TAILQ_EMPTY(&px->px_pending))
		proxy_loop_done(px);
}

/* Close once everything queued for the client has been written. */
static void
client_close_after_write(struct client *cl)
{
	cl->cl_state = CLIENT_CLOSING;
	client_read_disable(cl);
	client_schedule_flush(cl);
}

/*
 * Write what is queued for the client now, without the write event: a
 * bufferevent would add and remove EPOLLOUT around every response.  Only
 * what the socket does not take at once waits for EV_WRITE.  A TLS
 * client's bytes must go through its SSL: its bufferevent writes them
 * itself, with EV_WRITE always enabled, and this only does the rest.
 */
static void
client_flush_cb(evutil_socket_t fd, short events, void *arg)
{
	struct client	*cl = arg;
	struct pending	*pe = cl->cl_pending;
	struct evbuffer	*out = bufferevent_get_output(cl->cl_bev);
	int		 n;

	if (!cl->cl_tls && evbuffer_get_length(out) != 0 &&
	    !(bufferevent_get_enabled(cl->cl_bev) & EV_WRITE)) {
		/* A socket bufferevent keeps its output's start frozen. */
		evbuffer_unfreeze(out, 1);
		n = evbuffer_write(out, bufferevent_getfd(cl->cl_bev));
		evbuffer_freeze(out, 1);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			client_close(cl, strerror(errno));
			return;
		}
		if (evbuffer_get_length(out) != 0)
			bufferevent_enable(cl->cl_bev, EV_WRITE);
	}
	/* The client caught up: read the primary again. */
	if (pe != NULL && pe->pe_paused &&
	    evbuffer_get_length(out) <= CLIENT_OUT_LOW) {
		pe->pe_paused = 0;
		fanout_resume(pe->pe_fo, SIDE_PRIMARY);
	}
	if (evbuffer_get_length(out) == 0 && cl->cl_state == CLIENT_CLOSING)
		client_close(cl, "response complete, connection: close");
}

/*
 * Flush the client's output once the current callback is done, so a
 * response's head, body and end leave in one write.
 */
static void
client_schedule_flush(struct client *cl)
{
	if (!event_pending(cl->cl_flush, EV_TIMEOUT, NULL) &&
	    (cl->cl_tls || !(bufferevent_get_enabled(cl->cl_bev) & EV_WRITE)))
		event_active(cl->cl_flush, EV_TIMEOUT, 0);
}

/* Send a short JSON error response of the proxy's own. */
static void
client_error_response(struct client *cl, int status, const char *msg,
    const char *trace_id, int close_after)
{
	struct proxy_loop	*px = cl->cl_px;
	json_t			*o;
	char			*body;
	struct buf		 b;

	o = json_object();
	json_object_set_new(o, "error", json_string(msg));
	if (trace_id != NULL)
		json_object_set_new(o, "trace_id", json_string(trace_id));
	body = json_dumps(o, JSON_COMPACT);
	json_decref(o);

	buf_init(&b);
	buf_printf(&b, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n", status, http_reason(status),
	    strlen(body) + 1);
	if (trace_id != NULL)
		buf_printf(&b, "%s: %s\r\n", px->px_opts->trace_header,
		    trace_id);
	if (close_after)
		buf_addstr(&b, "Connection: close\r\n");
	buf_printf(&b, "\r\n%s\n", body);
	bufferevent_write(cl->cl_bev, b.data, b.len);
	client_schedule_flush(cl);
	buf_free(&b);
	free(body);
}

/* Is this method mirrored under --mirror-methods? */
static int
proxy_method_mirrored(const struct proxy_opts *o, const char *method)
{
	size_t	 i;

	if (o->mirror_methods == NULL)
		return (1);
	for (i = 0; i < o->nmirror_methods; i++) {
		if (strcasecmp(o->mirror_methods[i], method) == 0)
			return (1);
	}
	return (0);
}

/*
 * Serialize the head of the canonical request both backends get
 * (canonical.c), this hop's client appended to X-Forwarded-For; the
 * exchange's body follows it (fanout.c).
 */
static void
proxy_canonical(struct proxy_loop *px, struct client *cl, struct exchange *ex,
    struct buf *out)
{
	const struct proxy_opts	*o = px->px_opts;

	canonical_head(&ex->ex_req, o->trace_header, ex->ex_id, o->host,
	    upstream_authority(px->px_up[SIDE_PRIMARY]), cl->cl_ip, out);
}

/* The fan-out handed the finished exchange on: forget it. */
static void
pending_complete(void *arg)
{
	struct pending		*pe = arg;
	struct proxy_loop	*px = pe->pe_px;

	if (pe->pe_client != NULL)
		pe->pe_client->cl_pending = NULL;
	TAILQ_REMOVE(&px->px_pending, pe, pe_entry);
	free(pe);
	px->px_npending--;
	/* For a summary line asked for while the loop runs (SIGUSR2). */
	atomic_store_explicit(&px->px_retries, proxy_loop_retries(px),
	    memory_order_relaxed);
	if (px->px_stopping && TAILQ_EMPTY(&px->px_clients) &&
	    TAILQ_EMPTY(&px->px_pending))
		proxy_loop_done(px);
}

/*
 * The response head sent to a client, built in one buffer per thread and
 * kept: a head is built for every response.  A loop frees its own as it
 * ends (proxy_head_buf_free).
 */
static __thread struct buf	 proxy_head_buf;

static void
proxy_head_buf_free(void)
{
	buf_free(&proxy_head_buf);
}

/*
 * The primary's response head: relay it to the client.  The framing is
 * this hop's own (RFC 9112, 6.3), never copied: a body of known length
 * gets the Content-Length the parser reads it by, whatever the
 * primary's Connection header lists ("Connection: Content-Length" would
 * otherwise take the framing with it, and the next response on the
 * connection would run into this one's body); any other body is chunked
 * to an HTTP/1.1 client and delimited by the close to an HTTP/1.0 one.
 */
static void
pending_primary_head(void *arg, int side, const struct response_head *head,
    const struct headers *hs)
{
	struct buf	*bp = &proxy_head_buf;
	struct pending	*pe = arg;
	struct client	*cl = pe->pe_client;
	int		 status = head->status, no_body;
	int		 has_connection;
	char		 code[4];
	size_t		 i;

	if (cl == NULL)
		return;

	has_connection = headers_get(hs, "Connection") != NULL;
	no_body = pe->pe_head || status == 204 || status == 304;
	bp->len = 0;
	/* upstream_on_head lets 100-599 through only. */
	code[0] = '0' + status / 100;
	code[1] = '0' + status / 10 % 10;
	code[2] = '0' + status % 10;
	code[3] = ' ';
	buf_add(bp, "HTTP/1.1 ", 9);
	buf_add(bp, code, 4);
	buf_addstr(bp, head->reason != NULL ? head->reason :
	    http_reason(status));
	buf_add(bp, "\r\n", 2);
	for (i = 0; i < hs->n; i++) {
		const char	*name = hs->h[i].name;

		if (header_name_is(name, "Content-Length") && !no_body) {
			/* The length read (the parser allows one). */
			if (head->has_length) {
				buf_add(bp, "Content-Length: ", 16);
				buf_add_u64(bp, head->length);
				buf_add(bp, "\r\n", 2);
			}
			continue;
		}
		/*
		 * No body follows: a HEAD's or a 304's length is the one a
		 * GET or a 200 would have had (RFC 9110, 8.6 and 15.4.5),
		 * kept as nginx keeps it; a 204 has none (RFC 9110, 8.6).
		 */
		if (status == 204 && header_name_is(name, "Content-Length"))
			continue;
		if (canonical_strip_header(hs, has_connection, name) ||
		    header_name_is(name, pe->pe_px->px_opts->trace_header))
			continue;
		canonical_add_header(bp, name, hs->h[i].value);
	}
	if (!no_body && !head->has_length) {
		/* Chunked or delimited by close on the primary's side. */
		if (cl->cl_major == 1 && cl->cl_minor >= 1) {
			buf_addstr(bp, "Transfer-Encoding: chunked\r\n");
			pe->pe_chunked = 1;
		} else
			cl->cl_close = 1;
	}
	canonical_add_header(bp, pe->pe_px->px_opts->trace_header,
	    pe->pe_ex->ex_id);
	if (cl->cl_close)
		buf_addstr(bp, "Connection: close\r\n");
	else if (cl->cl_major == 1 && cl->cl_minor == 0)
		buf_addstr(bp, "Connection: keep-alive\r\n");
	buf_addstr(bp, "\r\n");
	bufferevent_write(cl->cl_bev, bp->data, bp->len);
	client_schedule_flush(cl);
	/* A rare huge head is not kept for the thread's life. */
	if (bp->cap > 64 * 1024)
		buf_free(bp);
	pe->pe_head_sent = 1;
}

/* Primary body bytes: relay them to the client. */
static void
pending_primary_body(void *arg, int side, const char *data, size_t len)
{
	struct pending	*pe = arg;
	struct client	*cl = pe->pe_client;
	struct evbuffer	*out;
	char		 line[32];

	if (cl == NULL || !pe->pe_head_sent)
		return;
	out = bufferevent_get_output(cl->cl_bev);
	if (pe->pe_chunked) {
		snprintf(line, sizeof line, "%zx\r\n", len);
		evbuffer_add(out, line, strlen(line));
		evbuffer_add(out, data, len);
		evbuffer_add(out, "\r\n", 2);
	} else
		evbuffer_add(out, data, len);
	client_schedule_flush(cl);
	/*
	 * The client is slower than the primary: stop reading the primary
	 * until the client has drained its output (le-proxy's watermarks).
	 */
	if (evbuffer_get_length(out) > CLIENT_OUT_HIGH && !pe->pe_paused) {
		fanout_pause(pe->pe_fo, SIDE_PRIMARY);
		pe->pe_paused = 1;
	}
}

/* The primary is done: finish the client's response. */
static void
pending_primary_done(void *arg, int side, const char *error,
    const char *detail)
{
	struct pending	*pe = arg;
	struct client	*cl = pe->pe_client;
	char		*msg;

	if (cl != NULL) {
		if (error != NULL && !pe->pe_head_sent) {
			if (strcmp(error, "timeout") == 0) {
				xasprintf(&msg, "primary timeout after %d ms",
				    pe->pe_px->px_opts->primary_timeout);
				client_error_response(cl, 504, msg,
				    pe->pe_ex->ex_id, cl->cl_close);
			} else {
				xasprintf(&msg, "primary %s: %s", error,
				    detail != NULL ? detail : error);
				client_error_response(cl, 502, msg,
				    pe->pe_ex->ex_id, cl->cl_close);
			}
			free(msg);
		} else if (error != NULL) {
			/* Too late for an error status: cut the client off. */
			cl->cl_close = 1;
		} else if (pe->pe_chunked)
			bufferevent_write(cl->cl_bev, "0\r\n\r\n", 5);
		client_schedule_flush(cl);
		cl->cl_pending = NULL;
		pe->pe_client = NULL;
		/*
		 * A primary that failed mid-response: what was relayed is
		 * flushed, then the close tells the client it is cut short
		 * (its Content-Length or last chunk never comes).
		 */
		if (cl->cl_close)
			client_close_after_write(cl);
		else {
			cl->cl_state = CLIENT_IDLE;
			client_arm(cl, CLIENT_IDLE_SECONDS);
			client_read_enable(cl);
			client_read(cl);
		}
	}
}

/* The proxy's own part of the primary's side. */
static const struct fanout_hooks pending_primary_hooks = {
	pending_primary_head, pending_primary_body, pending_primary_done
};

/*
 * The candidate or the secondary is done with the request: once neither
 * is sending or waiting, its bytes leave the budget.
 */
static void
pending_mirror_done(void *arg, int side, const char *error,
    const char *detail)
{
	struct pending	*pe = arg;
	struct proxy	*g = pe->pe_px->px_group;

	g->pg_inflight[side]--;
	if (--pe->pe_mirrors != 0)
		return;
	g->pg_mirror_bytes -= pe->pe_mirror_bytes;
	pe->pe_mirror_bytes = 0;
}

/* The mirrors' sides are only recorded; the proxy counts their bytes. */
static const struct fanout_hooks pending_mirror_hooks = {
	NULL, NULL, pending_mirror_done
};

/*
 * Say that mirrors are being dropped, while it happens: the first time at
 * once, then at most once per PROXY_REPORT_MS, with the counts since; and
 * what is left unsaid when the proxy ends (force).  One report for all
 * the loops, whichever drops.
 */
static void
proxy_report_dropped(struct proxy *g, int force)
{
	const struct proxy_opts	*o = g->pg_opts;
	uint64_t		 n, nb, dropped, dropped_bytes;
	struct buf		 b;

	pthread_mutex_lock(&g->pg_said_lock);
	dropped = g->pg_dropped;
	dropped_bytes = g->pg_dropped_bytes;
	n = dropped - g->pg_said_dropped;
	nb = dropped_bytes - g->pg_said_dropped_bytes;
	if ((n == 0 && nb == 0) || (!force && g->pg_said_at != 0 &&
	    mono_ms() - g->pg_said_at < PROXY_REPORT_MS)) {
		pthread_mutex_unlock(&g->pg_said_lock);
		return;
	}
	buf_init(&b);
	if (n != 0)
		buf_printf(&b, "%llu over --max-inflight (%u requests)",
		    (unsigned long long)n, o->max_inflight);
	if (nb != 0)
		buf_printf(&b, "%s%llu over --max-inflight-bytes (%llu bytes)",
		    n != 0 ? ", " : "", (unsigned long long)nb,
		    (unsigned long long)o->max_inflight_bytes);
	log_warnx("the candidate is behind: mirrors dropped%s: %s",
	    g->pg_said_at == 0 ? "" : " since the last report", b.data);
	buf_free(&b);
	g->pg_said_dropped = dropped;
	g->pg_said_dropped_bytes = dropped_bytes;
	g->pg_said_at = mono_ms();
	pthread_mutex_unlock(&g->pg_said_lock);
}

/*
 * Take one of side's --max-inflight places, shared by every loop; 0 if
 * none is left.  Taken before the check, so two loops cannot both take
 * the last one.
 */
static int
proxy_take_inflight(struct proxy *g, int side)
{
	if (atomic_fetch_add(&g->pg_inflight[side], 1) <
	    g->pg_opts->max_inflight)
		return (1);
	g->pg_inflight[side]--;
	return (0);
}

/*
 * Why the candidate does not get this request (bytes long, head and
 * body), or NULL to mirror it; then its place under both caps is taken.
 * Past either cap the mirror is dropped, never queued: the primary's
 * path does not wait on the candidate's (DESIGN §7 rule 1).
 */
static const char *
proxy_skip_reason(struct proxy_loop *px, const struct http_request *req,
    size_t bytes)
{
	const struct proxy_opts	*o = px->px_opts;
	struct proxy		*g = px->px_group;
	uint64_t		 held;

	if (!proxy_method_mirrored(o, req->method))
		return ("method");
	if (o->sample < 1.0 &&
	    (o->sample <= 0 || (double)arc4random() / 4294967296.0 >=
	    o->sample))
		return ("sample");
	if (!proxy_take_inflight(g, SIDE_CANDIDATE)) {
		g->pg_dropped++;
		proxy_report_dropped(g, 0);
		return ("inflight");
	}
	held = atomic_fetch_add(&g->pg_mirror_bytes, bytes);
	if (bytes > o->max_inflight_bytes ||
	    held > o->max_inflight_bytes - bytes) {
		g->pg_mirror_bytes -= bytes;
		g->pg_inflight[SIDE_CANDIDATE]--;
		g->pg_dropped_bytes++;
		proxy_report_dropped(g, 0);
		return ("inflight_bytes");
	}
	return (NULL);
}

/*
 * May --self-check send this mirrored request to the primary twice?  GET
 * and HEAD are safe (RFC 9110, 9.2.1); a user who lists --mirror-methods
 * has said which methods may be sent more than once.
 */
static int
proxy_self_check_method(const struct proxy_opts *o, const char *method)
{
	if (o->mirror_methods != NULL)
		return (proxy_method_mirrored(o, method));
	return (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0);
}

/*
 * The third side (DESIGN §4.4), for a request being mirrored: with
 * --secondary, a second copy of the primary gets what the candidate
 * gets; with --self-check, a sample of the safe requests goes to the
 * primary a second time.  Its own pool, deadline and in-flight cap
 * (--max-inflight, counted apart from the candidate's), so neither the
 * client nor the candidate ever waits on it: over the cap it is not
 * sent, and the exchange goes on without it.
 */
static void
proxy_secondary(struct proxy_loop *px, struct pending *pe)
{
	const struct proxy_opts	*o = px->px_opts;
	struct exchange		*ex = pe->pe_ex;
	uint64_t		 n;

	if (px->px_up[SIDE_SECONDARY] == NULL)
		return;
	if (o->self_check != 0) {
		if (!proxy_self_check_method(o, ex->ex_req.method))
			return;
		/* One count for every loop: the same sample as one loop's. */
		n = atomic_fetch_add(&px->px_group->pg_self_eligible, 1);
		if (!self_check_pick(o->self_check, &n))
			return;
	}
	if (!proxy_take_inflight(px->px_group, SIDE_SECONDARY)) {
		px->px_group->pg_dropped_secondary++;
		return;
	}
	ex->ex_self_check = o->self_check != 0;
	pe->pe_mirrors++;
	fanout_send(pe->pe_fo, SIDE_SECONDARY, px->px_up[SIDE_SECONDARY],
	    &pending_mirror_hooks, pe);
}

/* Build an exchange from the request the client's parser holds. */
static struct exchange *
client_exchange(struct client *cl)
{
	struct proxy_loop	*px = cl->cl_px;
	struct exchange		*ex;
	struct http_request	*req;

	ex = xcalloc(1, sizeof *ex);
	exchange_init(ex, "proxy");
	gettimeofday(&ex->ex_ts, NULL);
	req = &ex->ex_req;
	req->method = xstrdup(http_msg_method(&cl->cl_parser));
	req->target = buf_detach(&cl->cl_parser.hm_url);
	req->major = cl->cl_major;
	req->minor = cl->cl_minor;
	req->headers = cl->cl_parser.hm_headers;
	memset(&cl->cl_parser.hm_headers, 0, sizeof cl->cl_parser.hm_headers);
	req->body = cl->cl_body;
	buf_init(&cl->cl_body);
	trace_choose(&req->headers, px->px_opts->trace_header, ex->ex_id,
	    sizeof ex->ex_id);
	ex->ex_route = route_template(req->method, req->target,
	    px->px_opts->routes, px->px_opts->nroutes);
	return (ex);
}

/* A complete request: start the exchange. */
static void
client_dispatch(struct client *cl)
{
	struct proxy_loop	*px = cl->cl_px;
	struct pending		*pe;
	struct exchange		*ex;
	struct buf		 canon;
	const char		*skip;

	if (!http_msg_keepalive(&cl->cl_parser) || px->px_stopping)
		cl->cl_close = 1;
	ex = client_exchange(cl);
	http_msg_reset(&cl->cl_parser);

	pe = xcalloc(1, sizeof *pe);
	pe->pe_px = px;
	pe->pe_ex = ex;
	pe->pe_client = cl;
	pe->pe_head = strcmp(ex->ex_req.method, "HEAD") == 0;
	buf_init(&canon);
	proxy_canonical(px, cl, ex, &canon);
	pe->pe_fo = fanout_new(px->px_pipeline, ex, &canon, pe->pe_head,
	    px->px_opts->max_body, pending_complete, pe);
	TAILQ_INSERT_TAIL(&px->px_pending, pe, pe_entry);
	px->px_npending++;
	cl->cl_pending = pe;
	cl->cl_state = CLIENT_WAITING;
	evtimer_del(cl->cl_timer);

	/* The primary first: its path never waits on the candidate's. */
	fanout_send(pe->pe_fo, SIDE_PRIMARY, px->px_up[SIDE_PRIMARY],
	    &pending_primary_hooks, pe);
	if ((skip = proxy_skip_reason(px, &ex->ex_req,
	    fanout_request_bytes(pe->pe_fo))) != NULL) {
		ex->ex_verdict = VERDICT_SKIPPED;
		ex->ex_skip_reason = xstrdup(skip);
		return;
	}
	pe->pe_mirror_bytes = fanout_request_bytes(pe->pe_fo);
	pe->pe_mirrors = 1;
	fanout_send(pe->pe_fo, SIDE_CANDIDATE, px->px_up[SIDE_CANDIDATE],
	    &pending_mirror_hooks, pe);
	proxy_secondary(px, pe);
}

/* A request body over --max-body: answer 413 and record it as skipped. */
static void
client_too_large(struct client *cl)
{
	struct proxy_loop	*px = cl->cl_px;
	struct exchange		*ex;
	char			*msg;

	ex = client_exchange(cl);
	ex->ex_req_truncated = 1;
	ex->ex_verdict = VERDICT_SKIPPED;
	ex->ex_skip_reason = xstrdup("body_too_large");
	xasprintf(&msg, "request body over %llu bytes",
	    (unsigned long long)px->px_opts->max_body);
	client_error_response(cl, 413, msg, ex->ex_id, 1);
	free(msg);
	pipeline_submit(px->px_pipeline, ex);
	client_close_after_write(cl);
}

/* Request head parsed: limits, 100-continue. */
static int
client_on_head(void *arg, struct http_msg *hm)
{
	struct client	*cl = arg;
	const char	*expect;

	http_msg_version(hm, &cl->cl_major, &cl->cl_minor);
	if (strcmp(http_msg_method(hm), "CONNECT") == 0)
		return (http_msg_fail(hm, 405, "CONNECT is not supported"));
	/*
	 * TRACE echoes the request, credentials and all, back to whoever
	 * can make a browser send it (cross-site tracing); nginx refuses it
	 * the same way.
	 */
	if (strcmp(http_msg_method(hm), "TRACE") == 0)
		return (http_msg_fail(hm, 405, "TRACE is not forwarded"));
	if (http_request_check(hm) != 0)
		return (-1);
	if (hm->hm_has_length && hm->hm_length > cl->cl_px->px_opts->max_body)
		return (http_msg_fail(hm, 413, "request body too large"));
	expect = headers_get(&hm->hm_headers, "Expect");
	if (expect != NULL && strcasecmp(expect, "100-continue") == 0 &&
	    cl->cl_minor >= 1 && http_msg_body_expected(hm)) {
		bufferevent_write(cl->cl_bev, "HTTP/1.1 100 Continue\r\n\r\n",
		    25);
		client_schedule_flush(cl);
	}
	client_arm(cl, CLIENT_IDLE_SECONDS);
	return (0);
}

/* Request body bytes. */
static int
client_on_body(void *arg, const char *data, size_t len)
{
	struct client	*cl = arg;

	if (cl->cl_body.len + len > cl->cl_px->px_opts->max_body)
		return (http_msg_fail(&cl->cl_parser, 413,
		    "request body too large"));
	buf_add(&cl->cl_body, data, len);
	return (0);
}

static const struct http_msg_cbs client_msg_cbs = {
	.on_head = client_on_head,
	.on_body = client_on_body,
	.on_complete = NULL,
};

/* The request could not be parsed or broke a rule: answer and close. */
static void
client_bad_request(struct client *cl)
{
	struct http_msg	*hm = &cl->cl_parser;
	char		*msg;

	if (hm->hm_error_status == 413) {
		client_too_large(cl);
		return;
	}
	log_info("client %s: bad request: %s", cl->cl_name, hm->hm_error);
	xasprintf(&msg, "bad request: %s", hm->hm_error);
	client_error_response(cl, hm->hm_error_status != 0 ?
	    hm->hm_error_status : 400, msg, NULL, 1);
	free(msg);
	client_close_after_write(cl);
}

/* Read a plain client's socket again (see CLIENT_IN_HIGH). */
static void
client_read_enable(struct client *cl)
{
	if (cl->cl_tls)
		bufferevent_enable(cl->cl_bev, EV_READ);
	else if (cl->cl_in.len - cl->cl_in_off < CLIENT_IN_HIGH)
		event_add(cl->cl_rev, NULL);
}

/* Stop reading the client's socket. */
static void
client_read_disable(struct client *cl)
{
	if (cl->cl_tls)
		bufferevent_disable(cl->cl_bev, EV_READ);
	else
		event_del(cl->cl_rev);
}

/*
 * Feed the parser what a plain client sent, up to one complete request.
 * *used is how many bytes it took.  Returns 1 when the request is
 * complete (the caller keeps the rest, then dispatches it), 0 when more
 * is needed or the client is not reading, and -1 when it was refused
 * (the client is then answered and closing: not to be touched).
 */
static int
client_parse(struct client *cl, const char *data, size_t len, size_t *used)
{
	ssize_t	 n;
	size_t	 off = 0;

	*used = 0;
	while (off < len && (cl->cl_state == CLIENT_IDLE ||
	    cl->cl_state == CLIENT_READING)) {
		if (cl->cl_state == CLIENT_IDLE) {
			cl->cl_state = CLIENT_READING;
			client_arm_ms(cl, cl->cl_px->px_opts->header_timeout);
		}
		n = http_msg_feed(&cl->cl_parser, data + off, len - off);
		if (n < 0) {
			client_bad_request(cl);
			return (-1);
		}
		off += (size_t)n;
		*used = off;
		if (cl->cl_parser.hm_complete)
			return (1);
		if (n == 0)
			break;
	}
	return (0);
}

/*
 * Bytes a plain client sent, none waiting before them.  What the parser
 * does not take is kept in cl_in before a complete request is
 * dispatched: the primary's answer may come back to client_read before
 * this returns.
 */
static void
client_feed(struct client *cl, const char *data, size_t len)
{
	size_t	 used;
	int	 r;

	if ((r = client_parse(cl, data, len, &used)) < 0)
		return;
	if (used < len)
		buf_add(&cl->cl_in, data + used, len - used);
	if (r == 1)
		client_dispatch(cl);
}

/*
 * Feed the parser from a TLS client's bufferevent, up to one complete
 * request.  What it does not take stays in the bufferevent.
 */
static void
client_read_tls(struct client *cl)
{
	struct evbuffer		*in = bufferevent_get_input(cl->cl_bev);
	struct evbuffer_iovec	 v[8];
	size_t			 used;
	int			 i, nv, r;

	while (evbuffer_get_length(in) != 0) {
		nv = evbuffer_peek(in, -1, NULL, v, 8);
		if (nv > 8)
			nv = 8;
		for (i = 0; i < nv; i++) {
			r = client_parse(cl, v[i].iov_base, v[i].iov_len,
			    &used);
			if (r < 0)
				return;
			evbuffer_drain(in, used);
			if (r == 1) {
				client_dispatch(cl);
				return;
			}
			if (used < v[i].iov_len)
				return;
		}
	}
}

/* Parse what the client sent and is waiting, up to one complete request. */
static void
client_read(struct client *cl)
{
	struct buf	*in = &cl->cl_in;
	size_t		 used;
	int		 r;

	if (cl->cl_tls) {
		client_read_tls(cl);
		return;
	}
	if (in->len == 0)
		r = 0, used = 0;
	else if ((r = client_parse(cl, in->data + cl->cl_in_off,
	    in->len - cl->cl_in_off, &used)) < 0)
		return;
	cl->cl_in_off += used;
	if (cl->cl_in_off == in->len) {
		buf_free(in);
		cl->cl_in_off = 0;
	}
	if (r == 1) {
		client_dispatch(cl);
		return;
	}
	if (cl->cl_state != CLIENT_CLOSING)
		client_read_enable(cl);
}

/*
 * Bytes from a plain client.  Up to CLIENT_IN_HIGH bytes wait unparsed
 * (bytes sent ahead of their turn); past that the socket is not read
 * until the parser takes some, as a bufferevent's read watermark does.
 */
static void
client_sock_read_cb(evutil_socket_t fd, short events, void *arg)
{
	/* One per thread: each of the proxy's loops reads its own. */
	static __thread char	 data[CLIENT_READ_SIZE];
	struct client		*cl = arg;
	struct buf		*in = &cl->cl_in;
	size_t			 want, waiting = in->len - cl->cl_in_off;
	ssize_t			 n;

	if (waiting >= CLIENT_IN_HIGH) {
		event_del(cl->cl_rev);
		return;
	}
	want = CLIENT_IN_HIGH - waiting;
	if (want > sizeof data)
		want = sizeof data;
	n = read(fd, data, want);
	if (n == 0) {
		client_close(cl, "client closed the connection");
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			client_close(cl, strerror(errno));
		return;
	}
	if (cl->cl_state == CLIENT_CLOSING)
		return;
	if (waiting != 0) {
		/* Move the waiting bytes to the front once they are fewer
		 * than those taken: each byte is moved O(1) times. */
		if (cl->cl_in_off >= waiting) {
			memmove(in->data, in->data + cl->cl_in_off, waiting);
			in->len = waiting;
			cl->cl_in_off = 0;
		}
		buf_add(in, data, (size_t)n);
		client_read(cl);
	} else
		client_feed(cl, data, (size_t)n);
}

/* Bytes from a TLS client. */
static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	struct client	*cl = arg;

	if (cl->cl_state == CLIENT_CLOSING) {
		evbuffer_drain(bufferevent_get_input(bev),
		    evbuffer_get_length(bufferevent_get_input(bev)));
		return;
	}
	client_read(cl);
}

/*
 * The client's output drained below the low watermark after a partial
 * write: when it is empty, go back to writing directly.
 */
static void
client_write_cb(struct bufferevent *bev, void *arg)
{
	struct client	*cl = arg;

	if (!cl->cl_tls &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_disable(bev, EV_WRITE);
	client_flush_cb(-1, EV_TIMEOUT, cl);
}

/*
 * What a client that spoke plain HTTP to the TLS port gets, as nginx
 * answers it, rather than a connection closed without a word.
 */
static const char client_plain_to_tls[] =
    "HTTP/1.1 400 Bad Request\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 50\r\n"
    "Connection: close\r\n"
    "\r\n"
    "This port speaks HTTPS: a plain HTTP request came.\n";

/*
 * A TLS client gone before its handshake completed: counted and closed,
 * never a crash, never a capture line (no request was read).
 */
static void
client_tls_failed(struct client *cl, short events)
{
	struct bufferevent	*bev = cl->cl_bev;
	unsigned long		 e;
	const char		*reason = NULL;
	char			 drain[4096];
	int			 fd = bufferevent_getfd(bev), i, plain = 0;

	cl->cl_px->px_group->pg_tls_errors++;
	/* Its own codes (SSL_ERROR_SSL) come with OpenSSL's; keep those. */
	while ((e = bufferevent_get_openssl_error(bev)) != 0) {
		if (ERR_GET_LIB(e) == 0)
			continue;
		if (reason == NULL)
			reason = ERR_reason_error_string(e);
		if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
		    ERR_GET_REASON(e) == SSL_R_HTTP_REQUEST)
			plain = 1;
	}
	if (reason == NULL)
		reason = (events & BEV_EVENT_EOF) ? "closed by the client" :
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR());
	log_debug("client %s: TLS handshake failed: %s", cl->cl_name, reason);
	if (plain) {
		/*
		 * OpenSSL read only the record header: take the rest of
		 * what came, so the close is not a reset that loses the
		 * answer.
		 */
		for (i = 0; i < 16 && recv(fd, drain, sizeof drain,
		    MSG_DONTWAIT) > 0; i++)
			;
		(void)write(fd, client_plain_to_tls,
		    sizeof client_plain_to_tls - 1);
		shutdown(fd, SHUT_WR);
	}
	ERR_clear_error();
	client_close(cl, "TLS handshake failed");
}

/* The client closed or failed. */
static void
client_event_cb(struct bufferevent *bev, short events, void *arg)
{
	struct client	*cl = arg;

	if (events & BEV_EVENT_CONNECTED) {
		cl->cl_handshaken = 1;
		log_debug("client %s: TLS %s", cl->cl_name,
		    SSL_get_version(bufferevent_openssl_get_ssl(bev)));
		if (cl->cl_state == CLIENT_IDLE)
			client_arm(cl, CLIENT_IDLE_SECONDS);
		return;
	}
	if (cl->cl_tls && !cl->cl_handshaken &&
	    (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		client_tls_failed(cl, events);
	else if (events & BEV_EVENT_EOF)
		client_close(cl, "client closed the connection");
	else if (events & BEV_EVENT_ERROR) {
		cl->cl_tls_broken = 1;
		client_close(cl, evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
	}
}

/* Idle keep-alive, header deadline or body deadline passed. */
static void
client_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct client	*cl = arg;

	if (cl->cl_tls && !cl->cl_handshaken) {
		cl->cl_px->px_group->pg_tls_errors++;
		log_debug("client %s: TLS handshake failed: not complete in "
		    "time", cl->cl_name);
		client_close(cl, "TLS handshake timeout");
		return;
	}
	switch (cl->cl_state) {
	case CLIENT_IDLE:
		client_close(cl, "idle keep-alive timeout");
		break;
	case CLIENT_READING:
		log_info("client %s: request not complete in time",
		    cl->cl_name);
		client_error_response(cl, 408, "request not complete in time",
		    NULL, 1);
		client_close_after_write(cl);
		break;
	default:
		break;
	}
}

/* A new client connection. */
static void
proxy_accept_cb(int fd, struct sockaddr *sa, int salen, void *arg)
{
	struct proxy_loop	*px = arg;
	struct client		*cl;
	int			 one = 1, port = 0;

	cl = xcalloc(1, sizeof *cl);
	cl->cl_px = px;
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in	*sin = (struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, cl->cl_ip, sizeof cl->cl_ip);
		port = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, cl->cl_ip,
		    sizeof cl->cl_ip);
		port = ntohs(sin6->sin6_port);
	} else
		snprintf(cl->cl_ip, sizeof cl->cl_ip, "unknown");
	snprintf(cl->cl_name, sizeof cl->cl_name, "%s:%d", cl->cl_ip, port);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

	if (px->px_opts->listen_tls != NULL) {
		cl->cl_tls = 1;
		cl->cl_bev = bufferevent_openssl_socket_new(px->px_base, fd,
		    tls_server_ssl(px->px_opts->listen_tls),
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		if (cl->cl_bev == NULL)
			fatalx("bufferevent_openssl_socket_new");
		/* A client that just closes has closed, as in plain HTTP. */
		bufferevent_openssl_set_allow_dirty_shutdown(cl->cl_bev, 1);
	} else {
		cl->cl_bev = bufferevent_socket_new(px->px_base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
		cl->cl_rev = event_new(px->px_base, fd, EV_READ | EV_PERSIST,
		    client_sock_read_cb, cl);
		if (cl->cl_rev == NULL)
			fatalx("event_new");
	}
	if (cl->cl_bev == NULL)
		fatalx("bufferevent_socket_new");
	http_msg_init(&cl->cl_parser, 0, &client_msg_cbs, cl);
	buf_init(&cl->cl_body);
	cl->cl_timer = evtimer_new(px->px_base, client_timer_cb, cl);
	cl->cl_state = CLIENT_IDLE;
	cl->cl_major = cl->cl_minor = 1;
	TAILQ_INSERT_TAIL(&px->px_clients, cl, cl_entry);
	bufferevent_setcb(cl->cl_bev, client_read_cb, client_write_cb,
	    client_event_cb, cl);
	bufferevent_setwatermark(cl->cl_bev, EV_READ, 0, CLIENT_IN_HIGH);
	bufferevent_setwatermark(cl->cl_bev, EV_WRITE, CLIENT_OUT_LOW, 0);
	cl->cl_flush = event_new(px->px_base, -1, 0, client_flush_cb, cl);
	if (cl->cl_tls)
		bufferevent_enable(cl->cl_bev, EV_READ | EV_WRITE);
	else
		event_add(cl->cl_rev, NULL);
	/* A handshake is part of the request's head: the same deadline. */
	if (cl->cl_tls)
		client_arm_ms(cl, px->px_opts->header_timeout);
	else
		client_arm(cl, CLIENT_IDLE_SECONDS);
	log_debug("client %s: connected", cl->cl_name);
}

/* The requests a loop's pools sent again after a pooled connection closed. */
static uint64_t
proxy_loop_retries(struct proxy_loop *px)
{
	return (upstream_retries(px->px_up[SIDE_PRIMARY]) +
	    upstream_retries(px->px_up[SIDE_CANDIDATE]) +
	    (px->px_up[SIDE_SECONDARY] != NULL ?
	    upstream_retries(px->px_up[SIDE_SECONDARY]) : 0));
}

/*
 * The main thread's loop ends once every loop is finished: its own, and
 * each thread's, which says so through pg_done_ev.
 */
static void
proxy_check_done(struct proxy *g)
{
	if (g->pg_loops[0]->px_finished &&
	    g->pg_finished == g->pg_nloops - 1)
		event_base_loopbreak(g->pg_loops[0]->px_base);
}

/* A thread's loop has ended. */
static void
proxy_done_cb(evutil_socket_t fd, short events, void *arg)
{
	proxy_check_done(arg);
}

/* A loop is stopping and has nothing left: it is finished. */
static void
proxy_loop_done(struct proxy_loop *px)
{
	if (px->px_finished)
		return;
	px->px_finished = 1;
	if (px->px_index != 0)
		event_base_loopbreak(px->px_base);
	else
		proxy_check_done(px->px_group);
}

/*
 * Stop accepting, close idle clients, let in-flight exchanges finish;
 * the loop's own thread.
 */
static void
proxy_loop_shutdown(struct proxy_loop *px)
{
	struct client	*cl, *next;

	if (px->px_stopping)
		return;
	px->px_stopping = 1;
	listener_disable(px->px_listener);
	for (cl = TAILQ_FIRST(&px->px_clients); cl != NULL; cl = next) {
		next = TAILQ_NEXT(cl, cl_entry);
		cl->cl_close = 1;
		if (cl->cl_state == CLIENT_IDLE)
			client_close(cl, "shutting down");
	}
	if (TAILQ_EMPTY(&px->px_clients) && TAILQ_EMPTY(&px->px_pending))
		proxy_loop_done(px);
}

/*
 * Record what is still in flight as timed out and finish; the loop's own
 * thread.
 */
static void
proxy_loop_abort(struct proxy_loop *px)
{
	struct pending	*pe;
	struct client	*cl;

	if (!px->px_stopping) {
		px->px_stopping = 1;
		listener_disable(px->px_listener);
	}
	while ((cl = TAILQ_FIRST(&px->px_clients)) != NULL)
		client_close(cl, "shutting down");
	while ((pe = TAILQ_FIRST(&px->px_pending)) != NULL)
		fanout_abort(pe->pe_fo, "timeout",
		    "shutdown: grace period over");
	proxy_loop_done(px);
}

/*
 * The main thread asks a loop of another thread to stop; it waits until
 * each has stopped accepting.
 */
static void
proxy_stop_cb(evutil_socket_t fd, short events, void *arg)
{
	struct proxy_loop	*px = arg;
	struct proxy		*g = px->px_group;

	proxy_loop_shutdown(px);
	pthread_mutex_lock(&g->pg_stop_lock);
	g->pg_nstopped++;
	pthread_cond_signal(&g->pg_stop_cond);
	pthread_mutex_unlock(&g->pg_stop_lock);
}

/* The main thread asks a loop of another thread to abort. */
static void
proxy_abort_cb(evutil_socket_t fd, short events, void *arg)
{
	proxy_loop_abort(arg);
}

/*
 * A thread's loop.  It runs until it is finished, whether it has events
 * or not, then tells the main thread.
 */
static void *
proxy_loop_main(void *arg)
{
	struct proxy_loop	*px = arg;
	struct proxy		*g = px->px_group;
	char			 name[16];

	/* Named for ps -L and /proc/PID/task/TID/comm. */
	snprintf(name, sizeof name, "proxy-loop-%d", px->px_index);
	pthread_setname_np(pthread_self(), name);
	event_base_loop(px->px_base, EVLOOP_NO_EXIT_ON_EMPTY);
	proxy_head_buf_free();
	atomic_store_explicit(&px->px_retries, proxy_loop_retries(px),
	    memory_order_relaxed);
	g->pg_finished++;
	event_active(g->pg_done_ev, EV_TIMEOUT, 0);
	return (NULL);
}

/*
 * An event loop for a thread of its own, made as the runtime makes the
 * main one.
 */
static struct event_base *
proxy_base_new(void)
{
	struct event_config	*cfg;
	struct event_base	*base;

	if ((cfg = event_config_new()) == NULL)
		fatalx("event_config_new");
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	if ((base = event_base_new_with_config(cfg)) == NULL)
		fatalx("event_base_new_with_config");
	event_config_free(cfg);
	return (base);
}

/* Free a loop whose thread (if any) has ended. */
static void
proxy_loop_free(struct proxy_loop *px)
{
	struct client	*cl;

	if (px == NULL)
		return;
	while ((cl = TAILQ_FIRST(&px->px_clients)) != NULL)
		client_close(cl, "exiting");
	listener_free(px->px_listener);
	upstream_free(px->px_up[SIDE_PRIMARY]);
	upstream_free(px->px_up[SIDE_CANDIDATE]);
	upstream_free(px->px_up[SIDE_SECONDARY]);
	if (px->px_stop_ev != NULL)
		event_free(px->px_stop_ev);
	if (px->px_abort_ev != NULL)
		event_free(px->px_abort_ev);
	if (px->px_index != 0)
		event_base_free(px->px_base);
	free(px);
}

/*
 * One loop: its backends' pools and its listening socket on address,
 * shared with the other loops' (SO_REUSEPORT) when there are several.
 */
static struct proxy_loop *
proxy_loop_new(struct proxy *g, int index, struct event_base *base,
    struct pipeline *pipeline, const char *address, int *status,
    char **cause)
{
	const struct proxy_opts	*o = g->pg_opts;
	struct proxy_loop	*px;
	size_t			 i;

	px = xcalloc(1, sizeof *px);
	px->px_group = g;
	px->px_index = index;
	px->px_base = base;
	px->px_opts = o;
	px->px_pipeline = pipeline;
	TAILQ_INIT(&px->px_clients);
	TAILQ_INIT(&px->px_pending);
	if (index != 0) {
		px->px_stop_ev = event_new(base, -1, 0, proxy_stop_cb, px);
		px->px_abort_ev = event_new(base, -1, 0, proxy_abort_cb, px);
	}
	*status = EXIT_USAGE;
	px->px_up[SIDE_PRIMARY] = upstream_new(base, "primary", o->primary,
	    o->primary_timeout, PROXY_PRIMARY_IDLE, 0, o->tls, cause);
	if (px->px_up[SIDE_PRIMARY] == NULL)
		goto fail;
	px->px_up[SIDE_CANDIDATE] = upstream_new(base, "candidate",
	    o->candidate, o->candidate_timeout, o->max_inflight,
	    PROXY_CANDIDATE_QUEUE_MS, o->tls, cause);
	if (px->px_up[SIDE_CANDIDATE] == NULL)
		goto fail;
	for (i = 0; o->shadow != NULL && i < o->shadow->n; i++)
		upstream_set_header(px->px_up[SIDE_CANDIDATE],
		    o->shadow->names[i], o->shadow->values[i]);
	if (o->secondary != NULL || o->self_check != 0) {
		px->px_up[SIDE_SECONDARY] = upstream_new(base,
		    o->secondary != NULL ? "secondary" : "primary",
		    o->secondary != NULL ? o->secondary : o->primary,
		    o->secondary_timeout, o->max_inflight,
		    PROXY_CANDIDATE_QUEUE_MS, o->tls, cause);
		if (px->px_up[SIDE_SECONDARY] == NULL)
			goto fail;
	}

	if (index == 0)
		tls_opts_check(o->tls, px->px_up, SIDE_MAX);
	px->px_listener = listener_new(base, address, g->pg_nloops == 1 ?
	    LISTENER_ALONE : index == 0 ? LISTENER_FIRST : LISTENER_JOIN,
	    proxy_accept_cb, px, status, cause);
	if (px->px_listener == NULL)
		goto fail;
	return (px);

fail:
	proxy_loop_free(px);
	return (NULL);
}

/*
 * Bind the listeners and set up the backends, for o->threads loops: the
 * first on base, the main thread's, the others each on a thread of its
 * own, started here.  NULL with exit status and cause.
 */
struct proxy *
proxy_new(struct event_base *base, const struct proxy_opts *o,
    struct pipeline *pipeline, int *status, char **cause)
{
	struct proxy		*g;
	struct event_base	*b;
	sigset_t		 all, old;
	int			 i, error;

	g = xcalloc(1, sizeof *g);
	g->pg_opts = o;
	g->pg_nloops = o->threads > 1 ? (int)o->threads : 1;
	g->pg_loops = xcalloc(g->pg_nloops, sizeof *g->pg_loops);
	pthread_mutex_init(&g->pg_said_lock, NULL);
	pthread_mutex_init(&g->pg_stop_lock, NULL);
	pthread_cond_init(&g->pg_stop_cond, NULL);
	g->pg_done_ev = event_new(base, -1, 0, proxy_done_cb, g);
	for (i = 0; i < g->pg_nloops; i++) {
		b = i == 0 ? base : proxy_base_new();
		/*
		 * The others bind the port the first was given: with port
		 * 0, the kernel chose it.
		 */
		g->pg_loops[i] = proxy_loop_new(g, i, b, pipeline, i == 0 ?
		    o->listen : listener_address(g->pg_loops[0]->px_listener),
		    status, cause);
		if (g->pg_loops[i] == NULL) {
			proxy_free(g);
			return (NULL);
		}
	}

	/* Signals are the main thread's loop's (runtime.c). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 1; i < g->pg_nloops; i++) {
		if ((error = pthread_create(&g->pg_loops[i]->px_thread, NULL,
		    proxy_loop_main, g->pg_loops[i])) != 0) {
			errno = error;
			fatal("pthread_create");
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	g->pg_started = 1;
	return (g);
}

/* The address the proxy is listening on, ADDRESS:PORT. */
const char *
proxy_address(const struct proxy *g)
{
	return (listener_address(g->pg_loops[0]->px_listener));
}

/*
 * Mirrors dropped because the candidate had too much in flight: reason
 * "inflight" (--max-inflight requests) or "inflight_bytes"
 * (--max-inflight-bytes); any thread.
 */
uint64_t
proxy_mirror_dropped(const struct proxy *g, const char *reason)
{
	if (strcmp(reason, "inflight_bytes") == 0)
		return (g->pg_dropped_bytes);
	if (strcmp(reason, "secondary_inflight") == 0)
		return (g->pg_dropped_secondary);
	return (g->pg_dropped);
}

/*
 * Requests sent again to any backend after a pooled connection closed;
 * the main thread.  The other threads' loops publish theirs as exchanges
 * complete.
 */
uint64_t
proxy_retries(const struct proxy *g)
{
	uint64_t	 n;
	int		 i;

	n = proxy_loop_retries(g->pg_loops[0]);
	for (i = 1; i < g->pg_nloops; i++)
		n += atomic_load_explicit(&g->pg_loops[i]->px_retries,
		    memory_order_relaxed);
	return (n);
}

/*
 * The grace period is over: whatever is still in flight is recorded as
 * timed out, so every accepted request still gets its capture line.
 * Each loop does it on its own thread.
 */
void
proxy_abort(struct proxy *g)
{
	unsigned	 n = 0;
	int		 i;

	for (i = 0; i < g->pg_nloops; i++)
		n += g->pg_loops[i]->px_npending;
	log_warnx("grace period over: recording %s exchanges in flight as "
	    "timed out", n == 0 ? "no" : "the");
	for (i = 1; i < g->pg_nloops; i++)
		event_active(g->pg_loops[i]->px_abort_ev, EV_TIMEOUT, 0);
	proxy_loop_abort(g->pg_loops[0]);
}

/*
 * SIGTERM: stop accepting, let in-flight exchanges finish (the runtime
 * calls proxy_abort when the grace period is over), close idle clients;
 * the main thread's loop ends when every loop has.  Back only once no
 * loop accepts: a connection made after the proxy says it is stopping is
 * never taken, as with one loop.  A loop only ever waits on its own
 * events, so each is quick to answer.
 */
void
proxy_shutdown(struct proxy *g)
{
	int	 i;

	if (g->pg_loops[0]->px_stopping)
		return;
	for (i = 1; i < g->pg_nloops; i++)
		event_active(g->pg_loops[i]->px_stop_ev, EV_TIMEOUT, 0);
	proxy_loop_shutdown(g->pg_loops[0]);
	pthread_mutex_lock(&g->pg_stop_lock);
	while (g->pg_nstopped < g->pg_nloops - 1)
		pthread_cond_wait(&g->pg_stop_cond, &g->pg_stop_lock);
	pthread_mutex_unlock(&g->pg_stop_lock);
}

/* Free the proxy (after the main thread's loop ended). */
void
proxy_free(struct proxy *g)
{
	int	 i;

	if (g->pg_started) {
		for (i = 1; i < g->pg_nloops; i++)
			pthread_join(g->pg_loops[i]->px_thread, NULL);
	}
	for (i = 0; i < g->pg_nloops; i++)
		proxy_loop_free(g->pg_loops[i]);
	proxy_head_buf_free();		/* the first loop's: this thread's */
	proxy_report_dropped(g, 1);
	event_free(g->pg_done_ev);
	pthread_mutex_destroy(&g->pg_said_lock);
	pthread_mutex_destroy(&g->pg_stop_lock);
	pthread_cond_destroy(&g->pg_stop_cond);
	free(g->pg_loops);
	free(g);
}

/*
 * Under --tls-cert, 1 and the client connections that failed their
 * handshake so far, all loops; any thread (the admin listener).  0
 * without TLS.
 */
int
proxy_tls_errors(const struct proxy *g, uint64_t *n)
{
	if (g->pg_opts->listen_tls == NULL)
		return (0);
	*n = g->pg_tls_errors;
	return (1);
}

/* Requests in flight to one side, all loops; any thread (the admin). */
unsigned
proxy_inflight(const struct proxy *g, int side)
{
	unsigned	 n = 0;
	int		 i;

	for (i = 0; i < g->pg_nloops; i++) {
		if (g->pg_loops[i]->px_up[side] != NULL)
			n += upstream_inflight(g->pg_loops[i]->px_up[side]);
	}
	return (n);
}
