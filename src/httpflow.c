/*
 * HTTP/1.x exchanges out of reassembled TCP connections, for import and
 * sniff.  Each connection has two strict parsers (http.c), one per
 * direction, and a queue of the requests waiting for their response:
 * responses answer requests in order, which covers keep-alive and
 * pipelining.  Each pair becomes an exchange with the primary side
 * filled in, handed to the owner.
 *
 * What the wire does not settle is decided here, the same way every time:
 * a connection that does not parse as HTTP/1.x is not parsed further (its
 * earlier exchanges are kept); a request still waiting when its
 * connection ends is handed on with the primary side failed ("reset"),
 * so that nothing seen is lost quietly.
 *
 * A hole in the capture (a gap) ends what was under way: the requests
 * waiting are handed on as "reset", the messages being parsed are
 * dropped.  Then each direction skips to the start of a line that looks
 * like the start of a message (httpflow_startline) and parses again from
 * there: the connection resumes.  Until a response has been paired again
 * (the connection is unsynced), a response answers the oldest waiting
 * request only when nothing can say otherwise: its first byte came after
 * the request's last, the response stream said nothing else since, the
 * client sent nothing more, and a request found after request bytes were
 * lost or skipped was preceded by response data sent once the server had
 * those bytes (else it may be text of the body cut, or a request
 * pipelined behind one lost).  Failing any of these, the request is
 * handed on as "reset" and the response is skipped (an orphan): a
 * response is never paired with a request that is not its own.  A
 * connection seen pipelining is not resumed: there the order cannot be
 * proven; but a request sent once the client had response bytes sent
 * after the one before it was whole is not pipelined behind that one,
 * whose answer was skipped.  "After" is the response's segment
 * acknowledging the whole request where the acknowledgement says so, the
 * capture's times where it does not (a capture may give many packets one
 * time).
 *
 * A connection whose SYN was not captured may begin in the middle of a
 * message: it starts as after a gap.  A final response that begins while
 * the request's body is still coming (a 413 or 401 sent before reading
 * it) answers that request, its body cut there; the rest of the body is
 * parsed only to be skipped.
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

/* Resuming after a gap: the longest start line, the most bytes skipped. */
#define HTTPFLOW_LINE_MAX	(16 * 1024)
#define HTTPFLOW_SKIP_MAX	(64 * 1024 * 1024)

/* Where a direction is while it skips to a message (hc_scan). */
#define HF_SCAN_NONE	0	/* parsing */
#define HF_SCAN_LINE	1	/* at or in a line that may start a message */
#define HF_SCAN_SKIP	2	/* in a line that does not: skip to its end */

/* A request waiting for its response. */
struct hf_request {
	TAILQ_ENTRY(hf_request)	 hr_entry;
	struct exchange		*hr_ex;
	struct timeval		 hr_first;	/* its first byte */
	struct timeval		 hr_last;	/* its last byte */
	uint64_t		 hr_end;	/* stream offset at or past its
						   end */
	int			 hr_unproven;	/* may be a body's text */
	uint64_t		 hr_acked;	/* response bytes the client had
						   when it began, + 1 (0: not
						   known) */
	uint64_t		 hr_sent;	/* response stream offset + 1
						   where bytes the server sent
						   once it had it begin (0: none
						   yet) */
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
	int			 hc_counted;	/* unparsable counted */
	int			 hc_gap_counted;	/* counted in gaps */
	int			 hc_found;	/* a start line found (midstream) */
	int			 hc_found_dir[2];	/* ... in that direction */
	int			 hc_gap_pending;	/* ... counted once one is */
	uint64_t		 hc_skip_pending;
	struct timeval		 hc_ts[2];	/* of the bytes being fed */
	uint64_t		 hc_off[2];	/* stream offset past them */
	uint64_t		 hc_acked[2];	/* their segment's (tcp_conn) */

	/* The request being parsed. */
	struct exchange		*hc_req;
	struct timeval		 hc_req_start;
	uint64_t		 hc_req_acked;	/* its first segment's */
	int			 hc_req_fresh;	/* no byte of it seen yet */
	int			 hc_req_answered;	/* answered before it was
						   whole: the rest is skipped */
	uint64_t		 hc_seq;

	/* Requests waiting, oldest first. */
	struct hf_request_list	 hc_waiting;
	size_t			 hc_nwaiting;

	/* Request bytes held behind an Upgrade or CONNECT. */
	int			 hc_holding;
	struct buf		 hc_held;
	struct timeval		 hc_held_ts;

	/* Resuming after a gap. */
	int			 hc_scan[2];	/* HF_SCAN_ */
	struct buf		 hc_line[2];	/* a line that may start one */
	struct timeval		 hc_line_ts[2];	/* its first byte */
	uint64_t		 hc_line_acked[2];
	uint64_t		 hc_skipped;	/* since the gap */
	int			 hc_unsynced;	/* no pair since the gap */
	int			 hc_noise[2];	/* bytes skipped since the gap */
	struct timeval		 hc_noise_ts[2];	/* the last of them */
	uint64_t		 hc_noise_off[2];	/* stream offset past
						   the bytes that held it */
	int			 hc_c2s_gap;	/* a request stream gap, and */
	struct timeval		 hc_c2s_pre;	/* its last byte before it */
	struct timeval		 hc_c2s_acked;	/* when the server had it */
	struct timeval		 hc_s2c_last;	/* last response bytes */
	int			 hc_req_unproven;
	int			 hc_pipelined;	/* seen pipelining */
	int			 hc_lost_answer;	/* a request sent after an
						   answer not seen */
	int			 hc_gapped;	/* had a gap */
	int			 hc_resumed;	/* counted in resumed */

	/* The response being parsed. */
	struct timeval		 hc_resp_ts;	/* its first byte */
	uint64_t		 hc_resp_acked;	/* its segment's (tcp_conn) */
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

static size_t	httpflow_requests(struct hf_conn *, const uint8_t *, size_t);
static size_t	httpflow_responses(struct hf_conn *, const uint8_t *, size_t);

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
	if (error != NULL && hr->hr_unproven) {
		/* Perhaps no request at all (httpflow_resume). */
		exchange_free(hr->hr_ex);
		free(hr->hr_ex);
		free(hr);
		return;
	}
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

/*
 * The connection lost bytes, or skipped some it could not place: count
 * it in gaps (once), so that what resumes or is skipped is a gap's.
 */
static void
httpflow_gapped(struct hf_conn *hc)
{
	if (hc->hc_tc->midstream && !hc->hc_found) {
		/*
		 * Begun before the capture and no message found yet: it may
		 * not be HTTP at all (TLS), which is unparsable, not a gap.
		 */
		hc->hc_gap_pending = 1;
		return;
	}
	hc->hc_gapped = 1;
	if (!hc->hc_gap_counted) {
		hc->hc_gap_counted = 1;
		hc->hc_hf->hf_stats.gaps++;
	}
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
	buf_init(&hc->hc_line[TCP_DIR_C2S]);
	buf_init(&hc->hc_line[TCP_DIR_S2C]);
	if (tc->midstream) {
		/*
		 * The capture began after the handshake, perhaps in the
		 * middle of a message: each direction starts at its first
		 * start line (at once when it begins with one), and bytes
		 * skipped before it pair as after a gap.
		 */
		hc->hc_scan[TCP_DIR_C2S] = hc->hc_scan[TCP_DIR_S2C] =
		    HF_SCAN_LINE;
	}
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

/*
 * Queue the request being parsed for its response: complete, or (early)
 * answered before its body was whole, its body cut where the answer
 * began.
 */
static void
httpflow_req_queue(struct hf_conn *hc, int early)
{
	struct http_msg		*hm = &hc->hc_msg[TCP_DIR_C2S];
	struct exchange		*ex = hc->hc_req;
	struct hf_request	*hr;
	const char		*upgrade;

	hc->hc_req = NULL;
	if (early) {
		ex->ex_req_truncated = 1;
		hc->hc_req_answered = 1;
	}
	hr = xcalloc(1, sizeof *hr);
	hr->hr_ex = ex;
	hr->hr_first = hc->hc_req_start;
	hr->hr_last = hc->hc_ts[TCP_DIR_C2S];
	hr->hr_end = hc->hc_off[TCP_DIR_C2S];
	hr->hr_unproven = hc->hc_req_unproven;
	hr->hr_acked = hc->hc_req_acked;
	hc->hc_req_unproven = 0;
	if (!TAILQ_EMPTY(&hc->hc_waiting)) {
		/*
		 * Another request before the answer: pipelining, unless the
		 * client acknowledged response bytes the capture lost.
		 */
		if (hc->hc_tc->unseen[TCP_DIR_S2C])
			hc->hc_lost_answer = 1;
		else if (!hc->hc_unsynced)
			hc->hc_pipelined = 1;
	}
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
	if (early)
		return;
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

/* A request is complete: queue it, unless it was answered already. */
static void
httpflow_req_done(struct hf_conn *hc)
{
	if (hc->hc_req_answered) {
		/* The rest of a body answered early: not a request. */
		hc->hc_req_answered = 0;
		http_msg_reset(&hc->hc_msg[TCP_DIR_C2S]);
		hc->hc_req_fresh = 1;
		return;
	}
	httpflow_req_queue(hc, 0);
}

/* Drop the request being parsed. */
static void
httpflow_req_drop(struct hf_conn *hc)
{
	if (hc->hc_req != NULL) {
		exchange_free(hc->hc_req);
		free(hc->hc_req);
		hc->hc_req = NULL;
	}
	http_msg_reset(&hc->hc_msg[TCP_DIR_C2S]);
	hc->hc_req_fresh = 1;
	hc->hc_req_unproven = 0;
	hc->hc_req_answered = 0;
}

/*
 * Parse request bytes.  Returns how many were used: fewer than len only
 * when the direction went back to skipping (hc_scan).
 */
static size_t
httpflow_requests(struct hf_conn *hc, const uint8_t *data, size_t len)
{
	struct http_msg	*hm = &hc->hc_msg[TCP_DIR_C2S];
	size_t		 total = len;
	ssize_t		 n;

	while (len != 0 && !hc->hc_dead[TCP_DIR_C2S] &&
	    hc->hc_scan[TCP_DIR_C2S] == HF_SCAN_NONE) {
		if (hc->hc_holding) {
			if (hc->hc_held.len == 0)
				hc->hc_held_ts = hc->hc_ts[TCP_DIR_C2S];
			if (hc->hc_held.len + len > HTTPFLOW_HOLD_MAX) {
				/* Not coming back to HTTP: give up on it. */
				hc->hc_dead[TCP_DIR_C2S] = 1;
				buf_free(&hc->hc_held);
				return (total);
			}
			buf_add(&hc->hc_held, data, len);
			return (total);
		}
		if (hc->hc_req_fresh) {
			hc->hc_req_start = hc->hc_ts[TCP_DIR_C2S];
			hc->hc_req_acked = hc->hc_acked[TCP_DIR_C2S];
			hc->hc_req_fresh = 0;
		}
		n = http_msg_feed(hm, (const char *)data, len);
		if (n < 0 && hc->hc_unsynced) {
			/* A false start after a gap: skip on. */
			hc->hc_noise[TCP_DIR_C2S] = 1;
			hc->hc_noise_ts[TCP_DIR_C2S] = hc->hc_ts[TCP_DIR_C2S];
			hc->hc_c2s_gap = 1;
			hc->hc_c2s_pre = hc->hc_c2s_acked =
			    hc->hc_ts[TCP_DIR_C2S];
			httpflow_req_drop(hc);
			hc->hc_scan[TCP_DIR_C2S] = HF_SCAN_SKIP;
			return (total - len);
		}
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
			return (total);
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
	if (hc->hc_scan[TCP_DIR_C2S] != HF_SCAN_NONE)
		return (total - len);
	return (total);
}

/*
 * After a gap, may the response starting now answer the oldest waiting
 * request?  Requests it cannot be told to answer are handed on as
 * "reset" until one can be, or none is left (0: the response is skipped).
 */
static int
httpflow_sync(struct hf_conn *hc)
{
	struct hf_request	*hr, *next;
	const struct timeval	*rf = &hc->hc_resp_ts;
	const char		*why;
	int			 started;

	while ((hr = TAILQ_FIRST(&hc->hc_waiting)) != NULL) {
		next = TAILQ_NEXT(hr, hr_entry);
		if (next != NULL && hr->hr_sent != 0 && next->hr_acked != 0 &&
		    next->hr_acked > hr->hr_sent) {
			/*
			 * The client had bytes the server sent once it had
			 * this request before it sent the next: not
			 * pipelining, but an answer that was skipped.
			 */
			log_debug("connection %llu: request %llu not paired "
			    "after a gap: its response was not seen whole",
			    (unsigned long long)hc->hc_tc->id,
			    (unsigned long long)hr->hr_seq);
			started = hc->hc_resp_started;
			hc->hc_resp_started = 0;
			httpflow_answer(hc, "reset", "after a gap in the "
			    "capture, no response can be told to be its own");
			hc->hc_resp_started = started;
			continue;
		}
		if (next != NULL) {
			/* Pipelining, or an answer lost: order unproven. */
			log_debug("connection %llu: requests waiting after a "
			    "gap, not resumed",
			    (unsigned long long)hc->hc_tc->id);
			httpflow_gapped(hc);
			hc->hc_hf->hf_stats.not_resumed++;
			started = hc->hc_resp_started;
			hc->hc_resp_started = 0;
			httpflow_fail_waiting(hc, "reset", "the capture has a "
			    "gap and the response cannot be told");
			hc->hc_resp_started = started;
			httpflow_stop(hc);
			return (0);
		}
		/*
		 * Begun before the request was whole: a lost one's.  The
		 * response's segment acknowledging the whole request says it
		 * was sent after, whatever the capture's times (a capture
		 * may give many packets one time).
		 */
		if ((hc->hc_resp_acked == 0 ||
		    hc->hc_resp_acked - 1 < hr->hr_end) &&
		    timercmp(rf, &hr->hr_last, <=))
			return (0);
		if (hr->hr_unproven) {
			/* Perhaps no request at all: drop it unwritten. */
			log_debug("connection %llu: request %llu dropped: it "
			    "may be text in a body cut by a gap",
			    (unsigned long long)hc->hc_tc->id,
			    (unsigned long long)hr->hr_seq);
			TAILQ_REMOVE(&hc->hc_waiting, hr, hr_entry);
			hc->hc_nwaiting--;
			exchange_free(hr->hr_ex);
			free(hr->hr_ex);
			free(hr);
			continue;
		}
		why = NULL;
		if (!hc->hc_req_fresh || hc->hc_line[TCP_DIR_C2S].len != 0 ||
		    (hc->hc_noise[TCP_DIR_C2S] &&
		    !timercmp(&hc->hc_noise_ts[TCP_DIR_C2S], &hr->hr_last, <)))
			why = "the client sent more before the response";
		else if (hc->hc_noise[TCP_DIR_S2C] &&
		    !timercmp(&hc->hc_noise_ts[TCP_DIR_S2C], &hr->hr_last, <) &&
		    (hr->hr_acked == 0 ||
		    hr->hr_acked - 1 < hc->hc_noise_off[TCP_DIR_S2C]))
			why = "the server sent what cannot be parsed before "
			    "the response";
		if (why == NULL) {
			hc->hc_unsynced = 0;
			hc->hc_noise[0] = hc->hc_noise[1] = 0;
			if (hc->hc_gapped && !hc->hc_resumed) {
				hc->hc_resumed = 1;
				hc->hc_hf->hf_stats.resumed++;
			}
			return (1);
		}
		log_debug("connection %llu: request %llu not paired after a "
		    "gap: %s", (unsigned long long)hc->hc_tc->id,
		    (unsigned long long)hr->hr_seq, why);
		started = hc->hc_resp_started;
		hc->hc_resp_started = 0;
		httpflow_answer(hc, "reset", "after a gap in the capture, no "
		    "response can be told to be its own");
		hc->hc_resp_started = started;
	}
	return (0);
}

/* Response head parsed: skip a 1xx, know whether a body follows. */
static int
httpflow_resp_head(void *arg, struct http_msg *hm)
{
	struct hf_conn		*hc = arg;
	struct hf_request	*hr;
	int			 status = http_msg_status(hm);

	/* The parser knows that 1xx, 204 and 304 have no body. */
	if (status >= 100 && status < 200 && status != 101) {
		hc->hc_interim = 1;
		return (0);
	}
	if (hc->hc_unsynced && !httpflow_sync(hc)) {
		hc->hc_orphan = 1;
		return (0);
	}
	hr = TAILQ_FIRST(&hc->hc_waiting);
	if (hr == NULL && !hc->hc_unsynced && hc->hc_req != NULL &&
	    !hc->hc_holding) {
		/*
		 * The answer came while the request's body was still coming
		 * (a 413, 401, 405 or 417 sent early): it is this request's,
		 * its body cut where the answer began.  The rest of the
		 * body, if the client sends it, is skipped.
		 */
		log_debug("connection %llu: a response before the request "
		    "body was whole", (unsigned long long)hc->hc_tc->id);
		httpflow_req_queue(hc, 1);
		hr = TAILQ_FIRST(&hc->hc_waiting);
	}
	if (hr == NULL && !hc->hc_unsynced) {
		/*
		 * An answer with no request waiting: the capture began in
		 * the middle of the connection, lost the request or has it
		 * later (out of order), or the server answered early.  The
		 * request, once whole, would take the next response: pair as
		 * after a gap until a pair is proven.
		 */
		log_debug("connection %llu: a response with no request "
		    "waiting", (unsigned long long)hc->hc_tc->id);
		hc->hc_unsynced = 1;
		hc->hc_noise[TCP_DIR_C2S] = hc->hc_noise[TCP_DIR_S2C] = 0;
	}
	if (hr == NULL) {
		hc->hc_orphan = 1;
		return (0);
	}
	if (hr->hr_head || (hr->hr_connect && status >= 200 && status < 300))
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

	if (hc->hc_orphan || hc->hc_interim || hr == NULL || len == 0)
		return (0);
	rs = &hr->hr_ex->ex_resp[SIDE_PRIMARY];
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

/*
 * Parse response bytes.  Returns how many were used: fewer than len only
 * when the direction went back to skipping (hc_scan).
 */
static size_t
httpflow_responses(struct hf_conn *hc, const uint8_t *data, size_t len)
{
	struct http_msg	*hm = &hc->hc_msg[TCP_DIR_S2C];
	size_t		 total = len;
	char		*detail;
	ssize_t		 n;

	while (len != 0 && !hc->hc_dead[TCP_DIR_S2C] &&
	    hc->hc_scan[TCP_DIR_S2C] == HF_SCAN_NONE) {
		if (!hc->hc_resp_started) {
			hc->hc_resp_ts = hc->hc_ts[TCP_DIR_S2C];
			hc->hc_resp_acked = hc->hc_acked[TCP_DIR_S2C];
			hc->hc_resp_started = 1;
		}
		n = http_msg_feed(hm, (const char *)data, len);
		if (hc->hc_unsynced && (n < 0 || hc->hc_orphan)) {
			/* Said, but not as an answer we could pair. */
			hc->hc_noise[TCP_DIR_S2C] = 1;
			hc->hc_noise_ts[TCP_DIR_S2C] = hc->hc_ts[TCP_DIR_S2C];
			hc->hc_noise_off[TCP_DIR_S2C] =
			    hc->hc_off[TCP_DIR_S2C];
		}
		if (n < 0 && hc->hc_unsynced) {
			/* A false start after a gap: skip on. */
			httpflow_resp_reset(hc);
			hc->hc_scan[TCP_DIR_S2C] = HF_SCAN_SKIP;
			return (total - len);
		}
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
			return (total);
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
	if (hc->hc_scan[TCP_DIR_S2C] != HF_SCAN_NONE)
		return (total - len);
	return (total);
}

/* Is the token p, n bytes long, a method we know? */
static int
httpflow_method(const uint8_t *p, size_t n)
{
	static const char	*methods[] = {
		"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
		"TRACE", "PATCH"
	};
	size_t			 i;

	for (i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		if (strlen(methods[i]) == n && memcmp(methods[i], p, n) == 0)
			return (1);
	}
	return (0);
}

/*
 * Could the line p, len bytes, start a message in direction dir?  A
 * request line is a method we know, SP, a target (visible ASCII), SP,
 * HTTP/1.0 or HTTP/1.1, CRLF; a status line is HTTP/1.0 or HTTP/1.1, SP,
 * three digits, then CRLF or SP, a reason and CRLF.  Returns 2 when the
 * line (ending in LF) is one, 1 when what is there so far may become one,
 * 0 when it cannot.
 */
static int
httpflow_startline(int dir, const uint8_t *p, size_t len)
{
	static const char	 version[] = "HTTP/1.";
	size_t			 i = 0, j;

	if (dir == TCP_DIR_C2S) {
		while (i < len && i < 8 && p[i] >= 'A' && p[i] <= 'Z')
			i++;
		if (i == len)
			return (i < 8);
		if (p[i] != ' ' || !httpflow_method(p, i))
			return (0);
		j = ++i;
		while (i < len && p[i] > ' ' && p[i] < 0x7f)
			i++;
		if (i == len)
			return (1);
		if (p[i] != ' ' || i == j)
			return (0);
		i++;
	}
	for (j = 0; j < sizeof version - 1; j++, i++) {
		if (i == len)
			return (1);
		if (p[i] != version[j])
			return (0);
	}
	if (i == len)
		return (1);
	if (p[i] != '0' && p[i] != '1')
		return (0);
	i++;
	if (dir == TCP_DIR_S2C) {
		if (i == len)
			return (1);
		if (p[i++] != ' ')
			return (0);
		for (j = 0; j < 3; j++, i++) {
			if (i == len)
				return (1);
			if (p[i] < '0' || p[i] > '9')
				return (0);
		}
		if (i == len)
			return (1);
		if (p[i] == ' ') {
			/* The reason: HTAB, SP, VCHAR, obs-text. */
			for (i++; i < len && (p[i] == '\t' || p[i] >= ' ') &&
			    p[i] != 0x7f; i++)
				;
		}
	}
	if (i == len)
		return (1);
	if (p[i++] != '\r')
		return (0);
	if (i == len)
		return (1);
	return (p[i] == '\n' && i + 1 == len ? 2 : 0);
}

/*
 * A connection begun before the capture in which no message was found
 * ends or is given up: not HTTP/1.x as far as can be seen.
 */
static void
httpflow_unfound(struct hf_conn *hc)
{
	if (!hc->hc_gap_pending)
		return;
	hc->hc_gap_pending = 0;
	hc->hc_skip_pending = 0;
	httpflow_unparsable(hc, TCP_DIR_S2C, "begun before the capture, and "
	    "no message start found");
}

/* n bytes of direction dir skipped to resume. */
static void
httpflow_skipped(struct hf_conn *hc, int dir, size_t n)
{
	if (n == 0)
		return;
	httpflow_gapped(hc);
	if (hc->hc_tc->midstream && !hc->hc_found_dir[dir])
		hc->hc_unsynced = 1;
	if (hc->hc_gap_pending)
		hc->hc_skip_pending += n;
	else
		hc->hc_hf->hf_stats.skipped += n;
	hc->hc_skipped += n;
	hc->hc_noise[dir] = 1;
	hc->hc_noise_ts[dir] = hc->hc_ts[dir];
	hc->hc_noise_off[dir] = hc->hc_off[dir];
	if (dir == TCP_DIR_C2S) {
		/* Perhaps a request's end: the next must follow an answer. */
		hc->hc_c2s_gap = 1;
		hc->hc_c2s_pre = hc->hc_c2s_acked = hc->hc_ts[TCP_DIR_C2S];
	}
	if (hc->hc_skipped > HTTPFLOW_SKIP_MAX) {
		log_debug("connection %llu: nothing to resume from in %llu "
		    "bytes, not parsed further",
		    (unsigned long long)hc->hc_tc->id,
		    (unsigned long long)hc->hc_skipped);
		httpflow_fail_waiting(hc, "reset", "the capture has a gap and "
		    "nothing after it could be parsed");
		httpflow_resp_reset(hc);
		httpflow_stop(hc);
		httpflow_unfound(hc);
	}
}

/* A start line found: parse direction dir again from it. */
static void
httpflow_resume(struct hf_conn *hc, int dir, const uint8_t *p, size_t len)
{
	const struct timeval	*ts = &hc->hc_line_ts[dir];

	hc->hc_scan[dir] = HF_SCAN_NONE;
	hc->hc_found_dir[dir] = 1;
	if (!hc->hc_found) {
		/* What was skipped before the first message is a gap's. */
		hc->hc_found = 1;
		if (hc->hc_gap_pending) {
			hc->hc_gap_pending = 0;
			httpflow_gapped(hc);
			hc->hc_hf->hf_stats.skipped += hc->hc_skip_pending;
			hc->hc_skip_pending = 0;
		}
	}
	if (dir == TCP_DIR_C2S) {
		httpflow_req_drop(hc);
		hc->hc_req_start = *ts;
		hc->hc_req_fresh = 0;
		if (hc->hc_c2s_gap) {
			/*
			 * After a hole in the request stream or request bytes
			 * skipped, a request is one only if the server sent
			 * data after it had those bytes (it acknowledged the
			 * hole) and before this request: else the line may be
			 * text of the body cut, or a request pipelined behind
			 * one lost.
			 */
			hc->hc_c2s_gap = 0;
			hc->hc_req_unproven =
			    !timercmp(&hc->hc_s2c_last, &hc->hc_c2s_pre, >) ||
			    timercmp(&hc->hc_s2c_last, &hc->hc_c2s_acked, <) ||
			    timercmp(&hc->hc_s2c_last, ts, >);
		}
		httpflow_requests(hc, p, len);
	} else {
		httpflow_resp_reset(hc);
		hc->hc_resp_ts = *ts;
		hc->hc_resp_acked = hc->hc_line_acked[dir];
		hc->hc_resp_started = 1;
		httpflow_responses(hc, p, len);
	}
}

/*
 * Skip bytes of direction dir to the start of a message, line by line:
 * a line is kept only while it may become a start line, and no longer
 * than HTTPFLOW_LINE_MAX.  A packet may start a message too.  Returns
 * the bytes used.
 */
static size_t
httpflow_scan(struct hf_conn *hc, int dir, const uint8_t *data, size_t len)
{
	struct buf	*line = &hc->hc_line[dir];
	const uint8_t	*nl;
	struct buf	 found;
	size_t		 used = 0, n;
	int		 m;

	while (used < len && hc->hc_scan[dir] != HF_SCAN_NONE &&
	    !hc->hc_done) {
		nl = memchr(data + used, '\n', len - used);
		n = nl != NULL ? (size_t)(nl - (data + used)) + 1 : len - used;
		if (hc->hc_scan[dir] == HF_SCAN_SKIP) {
			used += n;
			if (nl != NULL)
				hc->hc_scan[dir] = HF_SCAN_LINE;
			httpflow_skipped(hc, dir, n);
			continue;
		}
		if (line->len == 0) {
			hc->hc_line_ts[dir] = hc->hc_ts[dir];
			hc->hc_line_acked[dir] = hc->hc_acked[dir];
			m = httpflow_startline(dir, data + used, n);
			if (m == 2) {
				used += n;
				httpflow_resume(hc, dir, data + used - n, n);
				break;
			}
		} else if (line->len + n > HTTPFLOW_LINE_MAX)
			m = 0;
		else {
			buf_add(line, data + used, n);
			m = httpflow_startline(dir, (const uint8_t *)line->data,
			    line->len);
			used += n;
			if (m == 2) {
				found = *line;
				buf_init(line);
				httpflow_resume(hc, dir,
				    (const uint8_t *)found.data, found.len);
				buf_free(&found);
				break;
			}
			if (m == 0) {
				hc->hc_scan[dir] = nl != NULL ? HF_SCAN_LINE :
				    HF_SCAN_SKIP;
				n = line->len;
				buf_reset(line);
				httpflow_skipped(hc, dir, n);
			}
			continue;
		}
		if (m == 1 && n <= HTTPFLOW_LINE_MAX) {
			buf_add(line, data + used, n);
			used += n;
			continue;
		}
		/* Not a start line: skip it, or to its end. */
		n = line->len;
		buf_reset(line);
		httpflow_skipped(hc, dir, n);
		hc->hc_scan[dir] = HF_SCAN_SKIP;
	}
	return (used);
}

/*
 * Response bytes (len, just delivered) sent by a server that had the
 * waiting requests up to some point whole, as their segment's
 * acknowledgement says: where the answers to those requests may begin.
 * A request sent after the client had such bytes was not pipelined
 * behind the one they follow (httpflow_sync).
 */
static void
httpflow_sent(struct hf_conn *hc, size_t len)
{
	struct hf_request	*hr;
	uint64_t		 acked = hc->hc_acked[TCP_DIR_S2C];

	if (acked == 0)
		return;
	TAILQ_FOREACH_REVERSE(hr, &hc->hc_waiting, hf_request_list,
	    hr_entry) {
		if (hr->hr_sent != 0)
			break;
		if (acked - 1 >= hr->hr_end)
			hr->hr_sent = hc->hc_off[TCP_DIR_S2C] - len + 1;
	}
}

/* Bytes of one direction, in order. */
static void
httpflow_data(void *arg, struct tcp_conn *tc, int dir, const uint8_t *data,
    size_t len, const struct timeval *ts)
{
	struct hf_conn	*hc = tc->user;
	size_t		 n;

	if (hc == NULL || hc->hc_done || hc->hc_dead[dir] || len == 0)
		return;
	hc->hc_ts[dir] = *ts;
	hc->hc_off[dir] += len;
	hc->hc_acked[dir] = tc->acked[dir];
	if (dir == TCP_DIR_S2C) {
		hc->hc_s2c_last = *ts;
		httpflow_sent(hc, len);
	}
	if (hc->hc_scan[dir] == HF_SCAN_SKIP)
		hc->hc_scan[dir] = HF_SCAN_LINE;	/* a packet may start one */
	while (len != 0 && !hc->hc_done && !hc->hc_dead[dir]) {
		if (hc->hc_scan[dir] != HF_SCAN_NONE)
			n = httpflow_scan(hc, dir, data, len);
		else if (dir == TCP_DIR_C2S)
			n = httpflow_requests(hc, data, len);
		else
			n = httpflow_responses(hc, data, len);
		data += n;
		len -= n;
	}
}

/*
 * A hole in one direction.  What was under way is lost with it; the
 * connection resumes at the next start lines, unless it was seen
 * pipelining (or waits for an Upgrade's answer), where the order of what
 * follows cannot be proven.
 */
static void
httpflow_gap(void *arg, struct tcp_conn *tc, int dir, uint64_t len,
    const struct timeval *ts)
{
	struct hf_conn	*hc = tc->user;
	size_t		 n;
	int		 d;

	if (hc == NULL || hc->hc_done)
		return;
	log_debug("connection %llu: %llu bytes missing from the %s stream",
	    (unsigned long long)tc->id, (unsigned long long)len,
	    dir == TCP_DIR_C2S ? "request" : "response");
	httpflow_gapped(hc);
	if (dir == TCP_DIR_C2S) {
		hc->hc_c2s_gap = 1;
		hc->hc_c2s_pre = hc->hc_ts[TCP_DIR_C2S];
		hc->hc_c2s_acked = tc->unseen[TCP_DIR_C2S] &&
		    timercmp(&tc->unseen_ts[TCP_DIR_C2S], ts, <) ?
		    tc->unseen_ts[TCP_DIR_C2S] : *ts;
	}
	hc->hc_ts[dir] = *ts;
	hc->hc_off[dir] += len;
	hc->hc_acked[dir] = 0;
	httpflow_fail_waiting(hc, "reset", dir == TCP_DIR_C2S ?
	    "the request stream has a gap in the capture" :
	    "the response stream has a gap in the capture");
	httpflow_resp_reset(hc);
	httpflow_req_drop(hc);
	if (hc->hc_pipelined || hc->hc_holding || hc->hc_dead[TCP_DIR_C2S] ||
	    hc->hc_dead[TCP_DIR_S2C]) {
		if (hc->hc_pipelined || hc->hc_holding)
			hc->hc_hf->hf_stats.not_resumed++;
		httpflow_stop(hc);
		return;
	}
	for (d = 0; d < 2; d++) {
		n = hc->hc_line[d].len;
		buf_reset(&hc->hc_line[d]);
		if (n != 0)
			httpflow_skipped(hc, d, n);
		hc->hc_scan[d] = HF_SCAN_LINE;
		hc->hc_noise[d] = 0;
	}
	hc->hc_skipped = 0;
	hc->hc_unsynced = 1;
	hc->hc_gapped = 1;
	hc->hc_lost_answer = 0;
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
	httpflow_unfound(hc);
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
	buf_free(&hc->hc_line[TCP_DIR_C2S]);
	buf_free(&hc->hc_line[TCP_DIR_S2C]);
	TAILQ_REMOVE(&hc->hc_hf->hf_conns, hc, hc_entry);
	hc->hc_tc->user = NULL;
	free(hc);
}
