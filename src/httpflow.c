/*
 * HTTP/1.x exchanges out of reassembled TCP connections, for import and
 * sniff.  Each connection has two strict parsers (http.c), one per
 * direction, and a queue of the requests waiting for their response:
 * responses answer requests in order, which covers keep-alive and
 * pipelining.  Each pair becomes an exchange with the primary side
 * filled in, handed to the owner.
 *
 * What the wire does not settle is decided here, the same way every time:
 * a connection that does not parse as HTTP/1.x, or that has a hole in it,
 * is not parsed further (its earlier exchanges are kept); a request still
 * waiting when its connection ends is handed on with the primary side
 * failed ("reset"), so that nothing seen is lost quietly.
 */

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "paritytap.h"

/* Request bytes held while an Upgrade or CONNECT waits for its answer. */
#define HTTPFLOW_HOLD_MAX	(1024 * 1024)

/* Requests a connection may have waiting for their responses. */
#define HTTPFLOW_WAITING_MAX	1024

/* A request waiting for its response. */
struct hf_request {
	TAILQ_ENTRY(hf_request)	 hr_entry;
	struct exchange		*hr_ex;
	struct timeval		 hr_last;	/* its last byte */
	uint64_t		 hr_seq;	/* 0, 1, ... on the connection */
	int			 hr_head;	/* HEAD: no response body */
	int			 hr_connect;	/* CONNECT */
	int			 hr_upgrade;	/* asks for Upgrade */
};
TAILQ_HEAD(hf_request_list, hf_request);

/* One connection's HTTP state. */
struct hf_conn {
	TAILQ_ENTRY(hf_conn)	 hc_entry;
	struct httpflow		*hc_hf;
	struct tcp_conn		*hc_tc;
	struct http_msg		 hc_msg[2];	/* by TCP_DIR_ */
	int			 hc_dead[2];	/* direction not parsed */
	int			 hc_done;	/* nothing more is parsed */
	int			 hc_counted;	/* unparsable or gap counted */
	struct timeval		 hc_ts[2];	/* of the bytes being fed */

	/* The request being parsed. */
	struct exchange		*hc_req;
	struct timeval		 hc_req_start;
	int			 hc_req_fresh;	/* no byte of it seen yet */
	uint64_t		 hc_seq;

	/* Requests waiting, oldest first. */
	struct hf_request_list	 hc_waiting;
	size_t			 hc_nwaiting;

	/* Request bytes held behind an Upgrade or CONNECT. */
	int			 hc_holding;
	struct buf		 hc_held;
	struct timeval		 hc_held_ts;

	/* The response being parsed. */
	int			 hc_resp_started;
	int			 hc_interim;	/* a 1xx to skip */
	int			 hc_orphan;	/* no request to answer */
	void			*hc_sha;
};
TAILQ_HEAD(hf_conn_list, hf_conn);

struct httpflow {
	struct tcpreasm		*hf_tr;
	const char		*hf_source;
	uint64_t		 hf_max_body;
	void			(*hf_cb)(struct exchange *, void *);
	void			*hf_arg;
	struct httpflow_stats	 hf_stats;
	struct hf_conn_list	 hf_conns;
};

static void	httpflow_open(void *, struct tcp_conn *);
static void	httpflow_data(void *, struct tcp_conn *, int, const uint8_t *,
		    size_t, const struct timeval *);
static void	httpflow_gap(void *, struct tcp_conn *, int, uint64_t,
		    const struct timeval *);
static void	httpflow_close(void *, struct tcp_conn *, int);
static void	httpflow_conn_free(struct hf_conn *);

static const struct tcpreasm_cbs httpflow_tcp_cbs = {
	.open = httpflow_open,
	.data = httpflow_data,
	.gap = httpflow_gap,
	.close = httpflow_close,
};

static int	httpflow_req_head(void *, struct http_msg *);
static int	httpflow_req_body(void *, const char *, size_t);
static int	httpflow_resp_head(void *, struct http_msg *);
static int	httpflow_resp_body(void *, const char *, size_t);

static const struct http_msg_cbs httpflow_req_cbs = {
	.on_head = httpflow_req_head,
	.on_body = httpflow_req_body,
	.on_complete = NULL,
};

static const struct http_msg_cbs httpflow_resp_cbs = {
	.on_head = httpflow_resp_head,
	.on_body = httpflow_resp_body,
	.on_complete = NULL,
};

/*
 * Create a flow tracker: source names the exchanges ("import", "sniff"),
 * max_body is the body bytes kept of each message (past it a response
 * keeps a prefix and the sha256 of the whole), per_stream and total bound
 * the bytes reassembly holds; each exchange goes to cb, which owns it.
 */
struct httpflow *
httpflow_new(const char *source, uint64_t max_body, size_t per_stream,
    size_t total, void (*cb)(struct exchange *, void *), void *arg)
{
	struct httpflow	*hf;

	hf = xcalloc(1, sizeof *hf);
	hf->hf_source = source;
	hf->hf_max_body = max_body != 0 ? max_body : DEFAULT_MAX_BODY;
	hf->hf_cb = cb;
	hf->hf_arg = arg;
	TAILQ_INIT(&hf->hf_conns);
	hf->hf_tr = tcpreasm_new(&httpflow_tcp_cbs, hf, per_stream, total);
	return (hf);
}

/* Hand one captured packet (link type dlt) to reassembly. */
int
httpflow_packet(struct httpflow *hf, int dlt, const struct timeval *ts,
    const uint8_t *data, size_t caplen)
{
	return (tcpreasm_packet(hf->hf_tr, dlt, ts, data, caplen));
}

/* Tell reassembly the server ports, for connections without a SYN. */
void
httpflow_ports(struct httpflow *hf, const uint16_t *ports, size_t n)
{
	tcpreasm_ports(hf->hf_tr, ports, n);
}

/* End the connections idle for secs at time now. */
void
httpflow_expire(struct httpflow *hf, const struct timeval *now,
    unsigned secs)
{
	tcpreasm_expire(hf->hf_tr, now, secs);
}

/* The input ended: finish every connection. */
void
httpflow_finish(struct httpflow *hf)
{
	tcpreasm_finish(hf->hf_tr);
}

/* What the flows made of the input so far. */
const struct httpflow_stats *
httpflow_stats(const struct httpflow *hf)
{
	return (&hf->hf_stats);
}

/* What reassembly made of the input so far. */
const struct tcpreasm_stats *
httpflow_tcp_stats(const struct httpflow *hf)
{
	return (tcpreasm_stats(hf->hf_tr));
}

/* Free a flow tracker; connections still open are dropped unreported. */
void
httpflow_free(struct httpflow *hf)
{
	struct hf_conn	*hc;

	if (hf == NULL)
		return;
	hf->hf_cb = NULL;
	while ((hc = TAILQ_FIRST(&hf->hf_conns)) != NULL)
		httpflow_conn_free(hc);
	tcpreasm_free(hf->hf_tr);
	free(hf);
}

/* Milliseconds from a to b, never negative. */
static double
httpflow_ms(const struct timeval *a, const struct timeval *b)
{
	double	 ms;

	ms = (double)(b->tv_sec - a->tv_sec) * 1000.0 +
	    (double)(b->tv_usec - a->tv_usec) / 1000.0;
	return (ms > 0 ? ms : 0);
}

/*
 * Give a request its id: the trace header's or traceparent's when it
 * carries a valid one (trace_choose's rules), else one made from where
 * the request was seen, in the minted form.  Made rather than minted, so
 * that importing the same packets twice gives the same ids.
 */
static void
httpflow_id(struct hf_conn *hc, struct exchange *ex, uint64_t seq)
{
	const struct tcp_conn	*tc = hc->hc_tc;
	const char		*v;
	uint64_t		 ns, h = 0xcbf29ce484222325ULL;
	uint8_t			 key[2 * (16 + 2) + 8];
	size_t			 i, n = 0;

	v = headers_get(&ex->ex_req.headers, DEFAULT_TRACE_HEADER);
	if (v != NULL && trace_valid(v) && strlen(v) < sizeof ex->ex_id) {
		memcpy(ex->ex_id, v, strlen(v) + 1);
		return;
	}
	v = headers_get(&ex->ex_req.headers, "traceparent");
	if (v != NULL && trace_from_traceparent(v, ex->ex_id,
	    sizeof ex->ex_id) == 0)
		return;
	/* FNV-1a over the two ends and the request's place on them. */
	memcpy(key + n, tc->client.addr, 16);
	n += 16;
	key[n++] = tc->client.port >> 8;
	key[n++] = tc->client.port & 0xff;
	memcpy(key + n, tc->server.addr, 16);
	n += 16;
	key[n++] = tc->server.port >> 8;
	key[n++] = tc->server.port & 0xff;
	for (i = 0; i < 8; i++)
		key[n++] = (uint8_t)(seq >> (i * 8));
	for (i = 0; i < n; i++) {
		h ^= key[i];
		h *= 0x100000001b3ULL;
	}
	ns = (uint64_t)ex->ex_ts.tv_sec * 1000000000ULL +
	    (uint64_t)ex->ex_ts.tv_usec * 1000ULL + seq % 1000;
	snprintf(ex->ex_id, sizeof ex->ex_id, "%016llx-%08x",
	    (unsigned long long)ns, (unsigned int)(h ^ (h >> 32)));
}

/* Hand an exchange to the owner (or drop it when there is none). */
static void
httpflow_emit(struct httpflow *hf, struct exchange *ex)
{
	if (hf->hf_cb == NULL) {
		exchange_free(ex);
		free(ex);
		return;
	}
	hf->hf_stats.exchanges++;
	hf->hf_cb(ex, hf->hf_arg);
}

/* Forget the response being parsed. */
static void
httpflow_resp_reset(struct hf_conn *hc)
{
	struct response_side	 rs;

	if (hc->hc_sha != NULL) {
		/* Its request went away: drop the running hash. */
		memset(&rs, 0, sizeof rs);
		response_side_end(&rs, &hc->hc_sha, NULL, NULL);
		response_side_free(&rs);
	}
	http_msg_reset(&hc->hc_msg[TCP_DIR_S2C]);
	hc->hc_resp_started = 0;
	hc->hc_interim = 0;
	hc->hc_orphan = 0;
}

/*
 * The oldest waiting request is done: with its response (error NULL), or
 * without one (error and detail say why).  Hand it on.
 */
static void
httpflow_answer(struct hf_conn *hc, const char *error, const char *detail)
{
	struct hf_request	*hr = TAILQ_FIRST(&hc->hc_waiting);
	struct response_side	*rs = &hr->hr_ex->ex_resp[SIDE_PRIMARY];
	struct http_msg		*hm = &hc->hc_msg[TCP_DIR_S2C];

	TAILQ_REMOVE(&hc->hc_waiting, hr, hr_entry);
	hc->hc_nwaiting--;
	rs->present = 1;
	if (error == NULL) {
		rs->status = http_msg_status(hm);
		rs->headers = hm->hm_headers;
		memset(&hm->hm_headers, 0, sizeof hm->hm_headers);
		rs->ms = httpflow_ms(&hr->hr_last, &hc->hc_ts[TCP_DIR_S2C]);
	} else if (hc->hc_resp_started && hm->hm_head_done) {
		/* The head came: keep what is known of the answer. */
		rs->status = http_msg_status(hm);
		rs->headers = hm->hm_headers;
		memset(&hm->hm_headers, 0, sizeof hm->hm_headers);
	}
	response_side_end(rs, &hc->hc_sha, error, detail);
	if (error != NULL)
		rs->ms = httpflow_ms(&hr->hr_last, &hc->hc_ts[TCP_DIR_S2C]);
	if (error != NULL && strcmp(error, "reset") == 0)
		hc->hc_hf->hf_stats.unanswered++;
	httpflow_emit(hc->hc_hf, hr->hr_ex);
	free(hr);
}

/* Hand on every waiting request as failed. */
static void
httpflow_fail_waiting(struct hf_conn *hc, const char *error,
    const char *detail)
{
	while (!TAILQ_EMPTY(&hc->hc_waiting)) {
		httpflow_answer(hc, error, detail);
		/* Only the first had a response under way. */
		hc->hc_resp_started = 0;
	}
}

/* Stop parsing the connection altogether. */
static void
httpflow_stop(struct hf_conn *hc)
{
	hc->hc_done = 1;
	hc->hc_dead[TCP_DIR_C2S] = hc->hc_dead[TCP_DIR_S2C] = 1;
	buf_free(&hc->hc_held);
	hc->hc_holding = 0;
}

/* Count the connection as unparsable (once) and say why at debug. */
static void
httpflow_unparsable(struct hf_conn *hc, int dir, const char *why)
{
	log_debug("connection %llu: %s not HTTP/1.x: %s",
	    (unsigned long long)hc->hc_tc->id,
	    dir == TCP_DIR_C2S ? "request stream" : "response stream",
	    why != NULL ? why : "?");
	if (!hc->hc_counted) {
		hc->hc_counted = 1;
		hc->hc_hf->hf_stats.unparsable++;
	}
}

/* A new connection. */
static void
httpflow_open(void *arg, struct tcp_conn *tc)
{
	struct httpflow	*hf = arg;
	struct hf_conn	*hc;

	hc = xcalloc(1, sizeof *hc);
	hc->hc_hf = hf;
	hc->hc_tc = tc;
	http_msg_init(&hc->hc_msg[TCP_DIR_C2S], 0, &httpflow_req_cbs, hc);
	http_msg_init(&hc->hc_msg[TCP_DIR_S2C], 1, &httpflow_resp_cbs, hc);
	hc->hc_req_fresh = 1;
	TAILQ_INIT(&hc->hc_waiting);
	buf_init(&hc->hc_held);
	TAILQ_INSERT_TAIL(&hf->hf_conns, hc, hc_entry);
	tc->user = hc;
}

/* Request head parsed: start its exchange. */
static int
httpflow_req_head(void *arg, struct http_msg *hm)
{
	struct hf_conn	*hc = arg;
	struct exchange	*ex;

	ex = xcalloc(1, sizeof *ex);
	exchange_init(ex, hc->hc_hf->hf_source);
	ex->ex_verdict = VERDICT_RECORDED;
	ex->ex_ts = hc->hc_req_start;
	ex->ex_req.method = xstrdup(http_msg_method(hm));
	ex->ex_req.target = buf_detach(&hm->hm_url);
	http_msg_version(hm, &ex->ex_req.major, &ex->ex_req.minor);
	ex->ex_req.headers = hm->hm_headers;
	memset(&hm->hm_headers, 0, sizeof hm->hm_headers);
	hc->hc_req = ex;
	return (0);
}

/* Request body bytes: kept up to the limit. */
static int
httpflow_req_body(void *arg, const char *data, size_t len)
{
	struct hf_conn	*hc = arg;
	struct exchange	*ex = hc->hc_req;
	uint64_t	 max = hc->hc_hf->hf_max_body, room;

	if (ex == NULL)
		return (0);
	room = ex->ex_req.body.len < max ? max - ex->ex_req.body.len : 0;
	if (len > room) {
		ex->ex_req_truncated = 1;
		len = (size_t)room;
	}
	if (len != 0)
		buf_add(&ex->ex_req.body, data, len);
	return (0);
}

/* A request is complete: queue it for its response. */
static void
httpflow_req_done(struct hf_conn *hc)
{
	struct http_msg		*hm = &hc->hc_msg[TCP_DIR_C2S];
	struct exchange		*ex = hc->hc_req;
	struct hf_request	*hr;
	const char		*upgrade;

	hc->hc_req = NULL;
	hr = xcalloc(1, sizeof *hr);
	hr->hr_ex = ex;
	hr->hr_last = hc->hc_ts[TCP_DIR_C2S];
	hr->hr_seq = hc->hc_seq++;
	hr->hr_head = strcmp(ex->ex_req.method, "HEAD") == 0;
	hr->hr_connect = strcmp(ex->ex_req.method, "CONNECT") == 0;
	upgrade = headers_get(&ex->ex_req.headers, "Upgrade");
	hr->hr_upgrade = upgrade != NULL && *upgrade != '\0';
	httpflow_id(hc, ex, hr->hr_seq);
	ex->ex_route = route_template(ex->ex_req.method, ex->ex_req.target,
	    NULL, 0);
	TAILQ_INSERT_TAIL(&hc->hc_waiting, hr, hr_entry);
	hc->hc_nwaiting++;
	http_msg_reset(hm);
	hc->hc_req_fresh = 1;
	if (hc->hc_nwaiting > HTTPFLOW_WAITING_MAX) {
		/* No server pipelines this deep: bound the memory. */
		httpflow_fail_waiting(hc, "reset", "too many requests waiting "
		    "for a response");
		httpflow_resp_reset(hc);
		httpflow_stop(hc);
		return;
	}
	/*
	 * What follows an Upgrade or a CONNECT is another protocol if the
	 * server agrees, more requests if not: hold it until the answer.
	 */
	if (hr->hr_connect || hr->hr_upgrade)
		hc->hc_holding = 1;
}

/* Parse request bytes. */
static void
httpflow_requests(struct hf_conn *hc, const uint8_t *data, size_t len)
{
	struct http_msg	*hm = &hc->hc_msg[TCP_DIR_C2S];
	ssize_t		 n;

	while (len != 0 && !hc->hc_dead[TCP_DIR_C2S]) {
		if (hc->hc_holding) {
			if (hc->hc_held.len == 0)
				hc->hc_held_ts = hc->hc_ts[TCP_DIR_C2S];
			if (hc->hc_held.len + len > HTTPFLOW_HOLD_MAX) {
				/* Not coming back to HTTP: give up on it. */
				hc->hc_dead[TCP_DIR_C2S] = 1;
				buf_free(&hc->hc_held);
				return;
			}
			buf_add(&hc->hc_held, data, len);
			return;
		}
		if (hc->hc_req_fresh) {
			hc->hc_req_start = hc->hc_ts[TCP_DIR_C2S];
			hc->hc_req_fresh = 0;
		}
		n = http_msg_feed(hm, (const char *)data, len);
		if (n < 0) {
			httpflow_unparsable(hc, TCP_DIR_C2S, hm->hm_error);
			hc->hc_dead[TCP_DIR_C2S] = 1;
			if (hc->hc_req != NULL) {
				exchange_free(hc->hc_req);
				free(hc->hc_req);
				hc->hc_req = NULL;
			}
			if (TAILQ_EMPTY(&hc->hc_waiting))
				httpflow_stop(hc);
			return;
		}
		data += n;
		len -= (size_t)n;
		if (hm->hm_complete)
			httpflow_req_done(hc);
		else if (n == 0)
			break;
		/* Blank lines between requests are not a request. */
		while (len != 0 && hc->hc_req_fresh &&
		    (*data == '\r' || *data == '\n')) {
			data++;
			len--;
		}
	}
}

/* Response head parsed: skip a 1xx, know whether a body follows. */
static int
httpflow_resp_head(void *arg, struct http_msg *hm)
{
	struct hf_conn		*hc = arg;
	struct hf_request	*hr = TAILQ_FIRST(&hc->hc_waiting);
	int			 status = http_msg_status(hm);

	/*
	 * 1xx, 204 and 304 have no body whatever their Content-Length says
	 * (RFC 9112, 6.3); libhttp-parser would read one.
	 */
	if (status >= 100 && status < 200 && status != 101) {
		hc->hc_interim = 1;
		return (1);
	}
	if (hr == NULL) {
		hc->hc_orphan = 1;
		return (status == 204 || status == 304 ? 1 : 0);
	}
	if (hr->hr_head || status == 204 || status == 304 ||
	    (hr->hr_connect && status >= 200 && status < 300))
		return (1);
	return (0);
}

/* Response body bytes: kept up to the limit, hashed past it. */
static int
httpflow_resp_body(void *arg, const char *data, size_t len)
{
	struct hf_conn		*hc = arg;
	struct hf_request	*hr = TAILQ_FIRST(&hc->hc_waiting);
	struct response_side	*rs;
	uint64_t		 max = hc->hc_hf->hf_max_body;
	size_t			 n;

	if (hc->hc_orphan || hc->hc_interim || hr == NULL || len == 0)
		return (0);
	rs = &hr->hr_ex->ex_resp[SIDE_PRIMARY];
	if (hc->hc_sha == NULL && rs->body.len + len > max) {
		/* The tee keeps whole pieces: give it the part that fits. */
		n = (size_t)(max - rs->body.len);
		response_side_tee(rs, &hc->hc_sha, max, data, n);
		data += n;
		len -= n;
	}
	response_side_tee(rs, &hc->hc_sha, max, data, len);
	return (0);
}

/*
 * A final response is complete: answer the oldest request, then either
 * stop (the connection switched protocols) or let held request bytes go
 * to the request parser.
 */
static void
httpflow_resp_done(struct hf_conn *hc)
{
	struct hf_request	*hr = TAILQ_FIRST(&hc->hc_waiting);
	int			 status, switched, holding;
	struct buf		 held;
	struct timeval		 ts;

	if (hc->hc_orphan || hr == NULL) {
		hc->hc_hf->hf_stats.orphans++;
		httpflow_resp_reset(hc);
		return;
	}
	status = http_msg_status(&hc->hc_msg[TCP_DIR_S2C]);
	switched = status == 101 ||
	    (hr->hr_connect && status >= 200 && status < 300);
	holding = hr->hr_connect || hr->hr_upgrade;
	httpflow_answer(hc, NULL, NULL);
	httpflow_resp_reset(hc);
	if (switched) {
		log_debug("connection %llu: switched protocols, not parsed "
		    "further", (unsigned long long)hc->hc_tc->id);
		httpflow_fail_waiting(hc, "reset", "the connection switched "
		    "protocols before the response");
		httpflow_stop(hc);
		return;
	}
	if (hc->hc_dead[TCP_DIR_C2S] && TAILQ_EMPTY(&hc->hc_waiting)) {
		httpflow_stop(hc);
		return;
	}
	if (!holding || !hc->hc_holding)
		return;
	/* Still HTTP: parse what was held back. */
	hc->hc_holding = 0;
	held = hc->hc_held;
	buf_init(&hc->hc_held);
	ts = hc->hc_ts[TCP_DIR_C2S];
	hc->hc_ts[TCP_DIR_C2S] = hc->hc_held_ts;
	if (held.len != 0)
		httpflow_requests(hc, (const uint8_t *)held.data, held.len);
	hc->hc_ts[TCP_DIR_C2S] = ts;
	buf_free(&held);
}

/* Parse response bytes. */
static void
httpflow_responses(struct hf_conn *hc, const uint8_t *data, size_t len)
{
	struct http_msg	*hm = &hc->hc_msg[TCP_DIR_S2C];
	char		*detail;
	ssize_t		 n;

	while (len != 0 && !hc->hc_dead[TCP_DIR_S2C]) {
		hc->hc_resp_started = 1;
		n = http_msg_feed(hm, (const char *)data, len);
		if (n < 0) {
			httpflow_unparsable(hc, TCP_DIR_S2C, hm->hm_error);
			if (!TAILQ_EMPTY(&hc->hc_waiting)) {
				xasprintf(&detail, "unparsable response: %s",
				    hm->hm_error != NULL ? hm->hm_error : "?");
				httpflow_answer(hc, "bad_response", detail);
				free(detail);
			}
			httpflow_resp_reset(hc);
			httpflow_fail_waiting(hc, "reset", "no response after "
			    "an unparsable one");
			httpflow_stop(hc);
			return;
		}
		data += n;
		len -= (size_t)n;
		if (hm->hm_complete) {
			if (hc->hc_interim)
				httpflow_resp_reset(hc);
			else
				httpflow_resp_done(hc);
		} else if (n == 0)
			break;
		while (len != 0 && !hc->hc_resp_started &&
		    (*data == '\r' || *data == '\n')) {
			data++;
			len--;
		}
	}
}

/* Bytes of one direction, in order. */
static void
httpflow_data(void *arg, struct tcp_conn *tc, int dir, const uint8_t *data,
    size_t len, const struct timeval *ts)
{
	struct hf_conn	*hc = tc->user;

	if (hc == NULL || hc->hc_done || hc->hc_dead[dir] || len == 0)
		return;
	hc->hc_ts[dir] = *ts;
	if (dir == TCP_DIR_C2S)
		httpflow_requests(hc, data, len);
	else
		httpflow_responses(hc, data, len);
}

/* A hole in one direction: nothing after it can be framed. */
static void
httpflow_gap(void *arg, struct tcp_conn *tc, int dir, uint64_t len,
    const struct timeval *ts)
{
	struct hf_conn	*hc = tc->user;

	if (hc == NULL || hc->hc_done)
		return;
	log_debug("connection %llu: %llu bytes missing from the %s stream",
	    (unsigned long long)tc->id, (unsigned long long)len,
	    dir == TCP_DIR_C2S ? "request" : "response");
	if (!hc->hc_counted) {
		hc->hc_counted = 1;
		hc->hc_hf->hf_stats.gaps++;
	}
	if (dir == TCP_DIR_C2S) {
		/* Requests already whole may still get their answers. */
		hc->hc_dead[TCP_DIR_C2S] = 1;
		if (hc->hc_req != NULL) {
			exchange_free(hc->hc_req);
			free(hc->hc_req);
			hc->hc_req = NULL;
		}
		if (TAILQ_EMPTY(&hc->hc_waiting))
			httpflow_stop(hc);
		return;
	}
	hc->hc_ts[dir] = *ts;
	httpflow_fail_waiting(hc, "reset", "the response stream has a gap "
	    "in the capture");
	httpflow_resp_reset(hc);
	httpflow_stop(hc);
}

/* The connection ended: finish a response delimited by the close. */
static void
httpflow_close(void *arg, struct tcp_conn *tc, int why)
{
	struct hf_conn	*hc = tc->user;
	struct http_msg	*hm;
	const char	*detail;

	if (hc == NULL)
		return;
	hm = &hc->hc_msg[TCP_DIR_S2C];
	if (!hc->hc_done && !hc->hc_dead[TCP_DIR_S2C] &&
	    hc->hc_resp_started && why != TCP_CLOSE_CUT &&
	    http_msg_eof(hm) == 0 && !hc->hc_interim)
		httpflow_resp_done(hc);
	switch (why) {
	case TCP_CLOSE_RST:
		detail = "connection reset before the response";
		break;
	case TCP_CLOSE_CUT:
		detail = "connection over the reassembly memory limit";
		break;
	case TCP_CLOSE_IDLE:
		detail = "connection idle with no response";
		break;
	case TCP_CLOSE_END:
		detail = "capture ended before the response";
		break;
	default:
		detail = "connection closed before the response";
		break;
	}
	httpflow_fail_waiting(hc, "reset", detail);
	httpflow_resp_reset(hc);
	httpflow_conn_free(hc);
}

/* Free a connection's HTTP state and detach it from its TCP connection. */
static void
httpflow_conn_free(struct hf_conn *hc)
{
	struct hf_request	*hr;

	while ((hr = TAILQ_FIRST(&hc->hc_waiting)) != NULL) {
		TAILQ_REMOVE(&hc->hc_waiting, hr, hr_entry);
		exchange_free(hr->hr_ex);
		free(hr->hr_ex);
		free(hr);
	}
	if (hc->hc_req != NULL) {
		exchange_free(hc->hc_req);
		free(hc->hc_req);
	}
	httpflow_resp_reset(hc);
	http_msg_free(&hc->hc_msg[TCP_DIR_C2S]);
	http_msg_free(&hc->hc_msg[TCP_DIR_S2C]);
	buf_free(&hc->hc_held);
	TAILQ_REMOVE(&hc->hc_hf->hf_conns, hc, hc_entry);
	hc->hc_tc->user = NULL;
	free(hc);
}
