/*
 * Unit tests for HTTP flows (src/httpflow.c): TCP conversations are built
 * here packet by packet (raw IPv4), fed through reassembly, and the
 * exchanges that come out are checked field by field.
 */

#include <sys/time.h>

#include <stdlib.h>
#include <string.h>

#include <pcap/dlt.h>

#include "paritytap.h"
#include "tap.h"

#define F_FIN	0x01
#define F_SYN	0x02
#define F_RST	0x04
#define F_PSH	0x08
#define F_ACK	0x10

#define MAX_EXCHANGES	64

/* What the flows handed on. */
static struct exchange	*got[MAX_EXCHANGES];
static size_t		 ngot;

/* One TCP conversation between 10.0.0.1:cport and 10.0.0.2:80. */
struct conv {
	struct httpflow	*hf;
	uint16_t	 cport;
	uint32_t	 seq[2];	/* next sequence number, by TCP_DIR_ */
	struct timeval	 ts;
};

/* The owner's callback: keep each exchange. */
static void
collect(struct exchange *ex, void *arg)
{
	if (ngot == MAX_EXCHANGES)
		abort();
	got[ngot++] = ex;
}

/* Forget what was collected. */
static void
collect_reset(void)
{
	size_t	 i;

	for (i = 0; i < ngot; i++) {
		exchange_free(got[i]);
		free(got[i]);
	}
	ngot = 0;
}

/* A new flow tracker keeping max_body bytes of each body. */
static struct httpflow *
flow_new(uint64_t max_body)
{
	collect_reset();
	return (httpflow_new("import", max_body, 0, 0, collect, NULL));
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/*
 * Segments recorded as sent instead of fed (tape_on), to be fed later in
 * another order (tape_play): a capture that reordered them.
 */
#define TAPE_MAX	16
static struct {
	int		 on;
	size_t		 n;
	uint8_t		 pkt[TAPE_MAX][512];
	size_t		 len[TAPE_MAX];
	struct timeval	 ts[TAPE_MAX];
} tape;

/* Send one segment in direction dir at the conversation's time. */
static void
seg(struct conv *c, int dir, uint8_t flags, const void *data, size_t len)
{
	static uint8_t	 pkt[65536];
	uint8_t		*ip = pkt, *tcp = pkt + 20;

	memset(pkt, 0, 40);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(40 + len));
	ip[8] = 64;
	ip[9] = 6;
	put32(ip + 12, dir == TCP_DIR_C2S ? 0x0a000001 : 0x0a000002);
	put32(ip + 16, dir == TCP_DIR_C2S ? 0x0a000002 : 0x0a000001);
	put16(tcp, dir == TCP_DIR_C2S ? c->cport : 80);
	put16(tcp + 2, dir == TCP_DIR_C2S ? 80 : c->cport);
	put32(tcp + 4, c->seq[dir]);
	put32(tcp + 8, c->seq[!dir]);
	tcp[12] = 0x50;
	tcp[13] = flags | (flags & F_SYN && dir == TCP_DIR_C2S ? 0 : F_ACK);
	put16(tcp + 14, 65535);
	if (len != 0)
		memcpy(pkt + 40, data, len);
	if (tape.on) {
		if (tape.n == TAPE_MAX || 40 + len > sizeof tape.pkt[0])
			abort();
		memcpy(tape.pkt[tape.n], pkt, 40 + len);
		tape.len[tape.n] = 40 + len;
		tape.ts[tape.n++] = c->ts;
	} else
		httpflow_packet(c->hf, DLT_RAW, &c->ts, pkt, 40 + len);
	c->seq[dir] += (uint32_t)len + ((flags & (F_SYN | F_FIN)) ? 1 : 0);
}

/* Send a string, at time ms (since the start of the conversation). */
static void
say(struct conv *c, int dir, long ms, const char *s)
{
	c->ts.tv_sec = 1700000000 + ms / 1000;
	c->ts.tv_usec = (ms % 1000) * 1000;
	seg(c, dir, F_PSH, s, strlen(s));
}

/* Start recording what is sent. */
static void
tape_on(void)
{
	tape.on = 1;
	tape.n = 0;
}

/* Feed the recorded segments in the order given by digits ("0213"). */
static void
tape_play(struct conv *c, const char *order)
{
	size_t	 i;

	tape.on = 0;
	for (; *order != '\0'; order++) {
		i = (size_t)(*order - '0');
		if (i >= tape.n)
			abort();
		httpflow_packet(c->hf, DLT_RAW, &tape.ts[i], tape.pkt[i],
		    tape.len[i]);
	}
}

/* Start a conversation: the handshake. */
static void
conv_open(struct conv *c, struct httpflow *hf, uint16_t cport)
{
	memset(c, 0, sizeof *c);
	c->hf = hf;
	c->cport = cport;
	c->seq[TCP_DIR_C2S] = 1000;
	c->seq[TCP_DIR_S2C] = 90000;
	c->ts.tv_sec = 1700000000;
	seg(c, TCP_DIR_C2S, F_SYN, NULL, 0);
	seg(c, TCP_DIR_S2C, F_SYN, NULL, 0);
	seg(c, TCP_DIR_C2S, 0, NULL, 0);
}

/* End a conversation with FINs both ways. */
static void
conv_close(struct conv *c)
{
	seg(c, TCP_DIR_S2C, F_FIN, NULL, 0);
	seg(c, TCP_DIR_C2S, F_FIN, NULL, 0);
}

/* The response body of exchange i as a string. */
static const char *
body(size_t i)
{
	static char	 s[4096];
	struct buf	*b = &got[i]->ex_resp[SIDE_PRIMARY].body;

	snprintf(s, sizeof s, "%.*s", (int)b->len, b->data != NULL ?
	    b->data : "");
	return (s);
}

/* "METHOD target status" of exchange i. */
static const char *
line(size_t i)
{
	static char	 s[512];

	snprintf(s, sizeof s, "%s %s %d", got[i]->ex_req.method,
	    got[i]->ex_req.target, got[i]->ex_resp[SIDE_PRIMARY].status);
	return (s);
}

static void
test_keepalive(void)
{
	struct httpflow			*hf = flow_new(0);
	const struct httpflow_stats	*st;
	struct conv			 c;
	char				 ts[64];

	conv_open(&c, hf, 40000);
	say(&c, TCP_DIR_C2S, 100, "GET /a?x=1 HTTP/1.1\r\nHost: h\r\n");
	say(&c, TCP_DIR_C2S, 110, "\r\n");
	say(&c, TCP_DIR_S2C, 120, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	    "\r\nhe");
	say(&c, TCP_DIR_S2C, 135, "llo");
	say(&c, TCP_DIR_C2S, 200, "POST /v1/items/42 HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 3\r\n\r\nabc");
	say(&c, TCP_DIR_S2C, 250, "HTTP/1.1 201 Created\r\n"
	    "Content-Length: 2\r\n\r\nok");
	conv_close(&c);
	httpflow_finish(hf);
	st = httpflow_stats(hf);
	is_int(ngot, 2, "keep-alive: two exchanges");
	is_str(line(0), "GET /a?x=1 200", "keep-alive: the first in order");
	is_str(body(0), "hello", "keep-alive: a body over two segments");
	is_str(line(1), "POST /v1/items/42 201", "keep-alive: the second");
	is_str(got[1]->ex_req.body.data, "abc", "keep-alive: request body");
	is_str(got[1]->ex_route, "POST /v1/items/{id}", "route templated");
	is_str(got[0]->ex_source, "import", "source");
	is_int(got[0]->ex_verdict, VERDICT_RECORDED, "verdict recorded");
	ok(got[0]->ex_resp[SIDE_PRIMARY].present &&
	    !got[0]->ex_resp[SIDE_CANDIDATE].present, "primary side only");
	format_rfc3339(&got[0]->ex_ts, ts, sizeof ts);
	is_str(ts, "2023-11-14T22:13:20.100000Z",
	    "ts: the packet of the first request byte");
	ok(got[0]->ex_resp[SIDE_PRIMARY].ms > 24.99 &&
	    got[0]->ex_resp[SIDE_PRIMARY].ms < 25.01,
	    "ms: last request byte (110) to last response byte (135)");
	is_int(got[0]->ex_req.minor, 1, "version 1.1");
	is_int(st->exchanges + st->unparsable + st->gaps + st->unanswered +
	    st->orphans, 2, "stats: 2 exchanges, nothing else");
	httpflow_free(hf);
}

static void
test_pipelined(void)
{
	struct httpflow	*hf = flow_new(0);
	struct conv	 c;

	conv_open(&c, hf, 40001);
	say(&c, TCP_DIR_C2S, 100, "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
	    "HEAD /2 HTTP/1.1\r\nHost: h\r\n\r\n"
	    "GET /3 HTTP/1.1\r\nHost: h\r\n\r\n"
	    "GET /4 HTTP/1.1\r\nHost: h\r\n\r\n"
	    "GET /5 HTTP/1.1\r\nHost: h\r\n\r\n");
	say(&c, TCP_DIR_S2C, 120, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
	    "\r\none"
	    "HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n"
	    "HTTP/1.1 304 Not Modified\r\nContent-Length: 40\r\n\r\n"
	    "HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n"
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\r\nfiv\r\n1\r\ne\r\n0\r\n\r\n");
	conv_close(&c);
	httpflow_finish(hf);
	is_int(ngot, 5, "pipelined: five exchanges");
	if (ngot == 5) {
		is_str(line(0), "GET /1 200", "pipelined: 1");
		is_str(body(0), "one", "pipelined: 1 body");
		is_str(line(1), "HEAD /2 200", "pipelined: HEAD");
		is_int(got[1]->ex_resp[SIDE_PRIMARY].body_bytes, 0,
		    "pipelined: HEAD has no body whatever its length");
		is_str(line(2), "GET /3 304", "pipelined: 304, no body");
		is_str(line(3), "GET /4 204", "pipelined: 204, no body");
		is_str(line(4), "GET /5 200", "pipelined: chunked");
		is_str(body(4), "five", "pipelined: chunked body dechunked");
		ok(strcmp(got[0]->ex_id, got[1]->ex_id) != 0,
		    "pipelined: ids differ in one packet");
	}
	is_int(httpflow_stats(hf)->orphans, 0, "pipelined: no orphans");
	httpflow_free(hf);
}

static void
test_interim_and_close(void)
{
	struct httpflow	*hf = flow_new(0);
	struct conv	 c;

	conv_open(&c, hf, 40002);
	say(&c, TCP_DIR_C2S, 100, "POST /up HTTP/1.1\r\nHost: h\r\n"
	    "Expect: 100-continue\r\nContent-Length: 4\r\n\r\n");
	say(&c, TCP_DIR_S2C, 110, "HTTP/1.1 100 Continue\r\n\r\n");
	say(&c, TCP_DIR_C2S, 120, "data");
	say(&c, TCP_DIR_S2C, 130, "HTTP/1.1 102 Processing\r\n\r\n"
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	say(&c, TCP_DIR_C2S, 200, "GET /stream HTTP/1.0\r\n\r\n");
	say(&c, TCP_DIR_S2C, 210, "HTTP/1.0 200 OK\r\n\r\nuntil ");
	say(&c, TCP_DIR_S2C, 220, "the close");
	conv_close(&c);
	httpflow_finish(hf);
	is_int(ngot, 2, "interim: two exchanges");
	if (ngot == 2) {
		is_str(line(0), "POST /up 200", "100 and 102 skipped");
		is_str(body(0), "ok", "interim: the final body");
		is_str(got[0]->ex_req.body.data, "data",
		    "interim: request body after 100 Continue");
		is_str(body(1), "until the close", "a body ended by the FIN");
		is_int(got[1]->ex_req.minor, 0, "HTTP/1.0");
	}
	httpflow_free(hf);
}

static void
test_limits(void)
{
	struct httpflow			*hf = flow_new(10);
	const struct response_side	*rs;
	struct conv			 c;
	char				 whole[64], sha[65];

	memset(whole, 'x', 40);
	whole[40] = '\0';
	capture_sha256(whole, 40, sha);
	conv_open(&c, hf, 40003);
	say(&c, TCP_DIR_C2S, 100, "POST /big HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 40\r\n\r\n");
	say(&c, TCP_DIR_C2S, 101, whole);
	say(&c, TCP_DIR_S2C, 110, "HTTP/1.1 200 OK\r\nContent-Length: 40\r\n"
	    "\r\n");
	say(&c, TCP_DIR_S2C, 111, whole);
	conv_close(&c);
	httpflow_finish(hf);
	is_int(ngot, 1, "max body: one exchange");
	if (ngot == 1) {
		rs = &got[0]->ex_resp[SIDE_PRIMARY];
		is_int(rs->body.len, 10, "max body: response prefix kept");
		is_int(rs->body_bytes, 40, "max body: response size");
		ok(rs->truncated, "max body: response truncated");
		is_str(rs->body_sha256, sha, "max body: sha256 of the whole");
		is_int(got[0]->ex_req.body.len, 10, "max body: request prefix");
		ok(got[0]->ex_req_truncated, "max body: request truncated");
	}
	httpflow_free(hf);
}

static void
test_unanswered(void)
{
	struct httpflow			*hf = flow_new(0);
	const struct response_side	*rs;
	struct conv			 c, d;

	conv_open(&c, hf, 40004);
	say(&c, TCP_DIR_C2S, 100, "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
	    "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
	say(&c, TCP_DIR_S2C, 110, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
	    "\r\n1HTTP/1.1 500 Oops\r\nContent-Length: 9\r\n\r\npart");
	conv_open(&d, hf, 40005);
	say(&d, TCP_DIR_C2S, 100, "GET /3 HTTP/1.1\r\nHost: h\r\n\r\n");
	seg(&d, TCP_DIR_S2C, F_RST, NULL, 0);
	httpflow_finish(hf);
	is_int(ngot, 3, "unanswered: every request is written");
	if (ngot == 3) {
		is_str(line(0), "GET /1 200", "unanswered: the answered one");
		ok(got[0]->ex_resp[SIDE_PRIMARY].error == NULL,
		    "unanswered: ... without error");
		/* The RST ends its connection before the end of the input. */
		rs = &got[1]->ex_resp[SIDE_PRIMARY];
		is_str(line(1), "GET /3 0", "unanswered: a RST, no response");
		is_str(rs->error, "reset", "unanswered: reset");
		is_str(rs->error_detail, "connection reset before the response",
		    "unanswered: the RST named");
		rs = &got[2]->ex_resp[SIDE_PRIMARY];
		is_str(line(2), "GET /2 500",
		    "unanswered: a response cut at the end keeps its status");
		is_str(rs->error, "reset", "unanswered: reset");
		is_str(rs->error_detail, "capture ended before the response",
		    "unanswered: the end of the input named");
	}
	is_int(httpflow_stats(hf)->unanswered, 2, "unanswered: counted");
	httpflow_free(hf);
}

static void
test_not_http(void)
{
	struct httpflow			*hf = flow_new(0);
	const struct httpflow_stats	*st = httpflow_stats(hf);
	struct conv			 c;

	conv_open(&c, hf, 40006);
	say(&c, TCP_DIR_C2S, 100, "\026\003\001\002\000\001\000\001\374\003");
	say(&c, TCP_DIR_S2C, 110, "HTTP/1.1 400 Bad Request\r\n"
	    "Content-Length: 0\r\n\r\n");
	conv_close(&c);
	conv_open(&c, hf, 40007);
	say(&c, TCP_DIR_C2S, 100, "GET /ok HTTP/1.1\r\nHost: h\r\n\r\n");
	say(&c, TCP_DIR_S2C, 110, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
	    "\r\n");
	say(&c, TCP_DIR_C2S, 120, "GET /bad HTTP/1.1\r\nHost: h\r\n\r\n");
	say(&c, TCP_DIR_S2C, 130, "SSH-2.0-OpenSSH_9.2\r\n");
	conv_close(&c);
	conv_open(&c, hf, 40008);
	say(&c, TCP_DIR_S2C, 100, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
	    "\r\n");
	conv_close(&c);
	httpflow_finish(hf);
	is_int(st->unparsable, 2, "not HTTP: two unparsable connections");
	is_int(ngot, 2, "not HTTP: the good exchange and the bad response");
	if (ngot == 2) {
		is_str(line(0), "GET /ok 200", "not HTTP: earlier one kept");
		is_str(got[1]->ex_resp[SIDE_PRIMARY].error, "bad_response",
		    "not HTTP: a response that does not parse");
	}
	is_int(st->unanswered, 0, "not HTTP: a bad response is answered");
	is_int(st->orphans, 1, "a response with no request: an orphan");
	httpflow_free(hf);
}

static void
test_upgrade(void)
{
	struct httpflow	*hf = flow_new(0);
	struct conv	 c;

	conv_open(&c, hf, 40009);
	say(&c, TCP_DIR_C2S, 100, "GET /h2c HTTP/1.1\r\nHost: h\r\n"
	    "Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
	    "GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
	say(&c, TCP_DIR_S2C, 110, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
	    "\r\na");
	say(&c, TCP_DIR_S2C, 120, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
	    "\r\nb");
	conv_close(&c);
	conv_open(&c, hf, 40010);
	say(&c, TCP_DIR_C2S, 100, "GET /ws HTTP/1.1\r\nHost: h\r\n"
	    "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n\201\203abc");
	say(&c, TCP_DIR_S2C, 110, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n\201\001x");
	conv_close(&c);
	conv_open(&c, hf, 40011);
	say(&c, TCP_DIR_C2S, 100, "CONNECT example.com:443 HTTP/1.1\r\n"
	    "Host: example.com:443\r\n\r\n\026\003\001");
	say(&c, TCP_DIR_S2C, 110, "HTTP/1.1 200 Connection established\r\n"
	    "\r\n\026\003\003");
	conv_close(&c);
	httpflow_finish(hf);
	is_int(ngot, 4, "upgrade: four exchanges");
	if (ngot == 4) {
		is_str(line(0), "GET /h2c 200", "upgrade refused: answered");
		is_str(line(1), "GET /next 200",
		    "upgrade refused: the request held behind it is parsed");
		is_str(body(1), "b", "upgrade refused: its own response");
		is_str(line(2), "GET /ws 101", "upgrade: the 101");
		is_str(line(3), "CONNECT example.com:443 200", "CONNECT");
	}
	is_int(httpflow_stats(hf)->unparsable, 0,
	    "upgrade: what follows a switch is not parsed");
	httpflow_free(hf);
}

static void
test_gap(void)
{
	struct httpflow			*hf = flow_new(0);
	const struct httpflow_stats	*st = httpflow_stats(hf);
	struct conv			 c;

	conv_open(&c, hf, 40012);
	say(&c, TCP_DIR_C2S, 100, "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n");
	say(&c, TCP_DIR_S2C, 110, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
	    "\r\n1");
	say(&c, TCP_DIR_C2S, 120, "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
	say(&c, TCP_DIR_S2C, 130, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n"
	    "\r\nabc");
	c.seq[TCP_DIR_S2C] += 3;	/* lost */
	say(&c, TCP_DIR_S2C, 131, "ghi");
	conv_close(&c);
	httpflow_finish(hf);
	is_int(st->gaps, 1, "gap: counted");
	is_int(ngot, 2, "gap: both requests written");
	if (ngot == 2) {
		is_str(line(0), "GET /1 200", "gap: the exchange before it");
		ok(got[0]->ex_resp[SIDE_PRIMARY].error == NULL,
		    "gap: ... whole");
		is_str(line(1), "GET /2 200", "gap: the one it cut");
		is_str(got[1]->ex_resp[SIDE_PRIMARY].error, "reset",
		    "gap: ... reset");
	}
	is_int(st->unanswered, 1, "gap: one unanswered");
	httpflow_free(hf);
}

/* Lose a segment: its bytes are sent (and acknowledged) but not seen. */
static void
lose(struct conv *c, int dir, const char *s)
{
	c->seq[dir] += (uint32_t)strlen(s);
}

/* The ith exchange of a resumed conversation: "target status body". */
static const char *
resumed(size_t i)
{
	static char	 s[8192];
	const char	*err = got[i]->ex_resp[SIDE_PRIMARY].error;

	snprintf(s, sizeof s, "%.512s %d %s%s", got[i]->ex_req.target,
	    got[i]->ex_resp[SIDE_PRIMARY].status, err != NULL ? err : "",
	    err != NULL ? "" : body(i));
	return (s);
}

/* Request n of a keep-alive conversation, at ms. */
static void
ask(struct conv *c, long ms, int n)
{
	char	 s[128];

	snprintf(s, sizeof s, "GET /%d HTTP/1.1\r\nHost: h\r\n\r\n", n);
	say(c, TCP_DIR_C2S, ms, s);
}

/* Its whole response, in one segment, at ms: body "body-n". */
static void
answer(struct conv *c, long ms, int n)
{
	char	 s[128];

	snprintf(s, sizeof s, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n"
	    "\r\nbody-%d", n);
	say(c, TCP_DIR_S2C, ms, s);
}

/* A check of what a resumed conversation of five exchanges gave. */
static void
expect(const char *name, const char **want, size_t n)
{
	size_t	 i;

	is_int(ngot, n, "%s: %zu exchanges written", name, n);
	for (i = 0; i < n && i < ngot; i++)
		is_str(resumed(i), want[i], "%s: %s", name, want[i]);
}

static void
test_resume_response(void)
{
	struct httpflow			*hf = flow_new(0);
	const struct httpflow_stats	*st = httpflow_stats(hf);
	struct conv			 c;
	const char			*want[] = {
		"/1 200 body-1", "/2 200 body-2", "/3 200 reset",
		"/4 200 body-4", "/5 200 body-5"
	};

	conv_open(&c, hf, 40020);
	ask(&c, 100, 1);
	answer(&c, 110, 1);
	ask(&c, 200, 2);
	answer(&c, 210, 2);
	ask(&c, 300, 3);
	say(&c, TCP_DIR_S2C, 310, "HTTP/1.1 200 OK\r\nContent-Length: 30"
	    "\r\n\r\n0123456789");
	lose(&c, TCP_DIR_S2C, "abcdefghij");
	say(&c, TCP_DIR_S2C, 312, "ABCDEFGHIJ");
	ask(&c, 400, 4);
	answer(&c, 410, 4);
	ask(&c, 500, 5);
	answer(&c, 510, 5);
	conv_close(&c);
	httpflow_finish(hf);
	expect("response gap", want, 5);
	if (ngot == 5)
		is_str(got[2]->ex_resp[SIDE_PRIMARY].error_detail,
		    "the response stream has a gap in the capture",
		    "response gap: the detail says so");
	is_int(st->gaps, 1, "response gap: one gap");
	is_int(st->resumed, 1, "response gap: the connection resumed");
	is_int(st->skipped, 10, "response gap: the 10 bytes after it skipped");
	is_int(st->unanswered, 1, "response gap: one unanswered");
	is_int(st->orphans, 0, "response gap: no orphan");
	httpflow_free(hf);
}

static void
test_resume_request(void)
{
	struct httpflow			*hf = flow_new(0);
	const struct httpflow_stats	*st = httpflow_stats(hf);
	struct conv			 c;
	const char			*want[] = {
		"/1 200 body-1", "/2 200 body-2", "/4 200 body-4",
		"/5 200 body-5"
	};

	conv_open(&c, hf, 40021);
	ask(&c, 100, 1);
	answer(&c, 110, 1);
	ask(&c, 200, 2);
	answer(&c, 210, 2);
	say(&c, TCP_DIR_C2S, 300, "POST /3 HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 30\r\n\r\n0123456789");
	lose(&c, TCP_DIR_C2S, "abcdefghij");
	say(&c, TCP_DIR_C2S, 302, "ABCDEFGHIJ");
	answer(&c, 310, 3);
	ask(&c, 400, 4);
	answer(&c, 410, 4);
	ask(&c, 500, 5);
	answer(&c, 510, 5);
	conv_close(&c);
	httpflow_finish(hf);
	expect("request gap", want, 4);
	is_int(st->gaps, 1, "request gap: one gap");
	is_int(st->resumed, 1, "request gap: the connection resumed");
	is_int(st->orphans, 1, "request gap: the cut request's answer is "
	    "an orphan");
	is_int(st->unanswered, 0, "request gap: nothing unanswered");
	httpflow_free(hf);
}

static void
test_resume_whole(void)
{
	struct httpflow			*hf = flow_new(0);
	const struct httpflow_stats	*st = httpflow_stats(hf);
	struct conv			 c;
	const char			*want[] = {
		"/1 200 body-1", "/2 200 body-2", "/4 200 body-4",
		"/5 200 body-5"
	};
	const char			*want2[] = {
		"/1 200 body-1", "/2 200 body-2", "/3 0 reset", "/4 200 body-4",
		"/5 200 body-5"
	};

	/* A lost segment that is a whole request. */
	conv_open(&c, hf, 40022);
	ask(&c, 100, 1);
	answer(&c, 110, 1);
	ask(&c, 200, 2);
	answer(&c, 210, 2);
	lose(&c, TCP_DIR_C2S, "GET /3 HTTP/1.1\r\nHost: h\r\n\r\n");
	answer(&c, 310, 3);
	ask(&c, 400, 4);
	answer(&c, 410, 4);
	ask(&c, 500, 5);
	answer(&c, 510, 5);
	conv_close(&c);
	httpflow_finish(hf);
	expect("whole request lost", want, 4);
	is_int(st->resumed, 1, "whole request lost: resumed");
	is_int(st->orphans, 1, "whole request lost: its answer an orphan");
	httpflow_free(hf);

	/*
	 * A lost segment that is a whole response: the next request, which
	 * acknowledges it, waits in reassembly until the loss is known (the
	 * client acknowledges the next response), so only the request whose
	 * answer was lost is reset and the next one is paired after the gap.
	 */
	hf = flow_new(0);
	st = httpflow_stats(hf);
	conv_open(&c, hf, 40023);
	ask(&c, 100, 1);
	answer(&c, 110, 1);
	ask(&c, 200, 2);
	answer(&c, 210, 2);
	ask(&c, 300, 3);
	lose(&c, TCP_DIR_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n"
	    "\r\nbody-3");
	ask(&c, 400, 4);
	answer(&c, 410, 4);
	ask(&c, 500, 5);
	answer(&c, 510, 5);
	conv_close(&c);
	httpflow_finish(hf);
	expect("whole response lost", want2, 5);
	is_int(st->resumed, 1, "whole response lost: resumed");
	is_int(st->not_resumed, 0, "whole response lost: not taken for "
	    "pipelining");
	httpflow_free(hf);
}

static void
test_resume_status_line(void)
{
	struct httpflow			*hf = flow_new(0);
	const struct httpflow_stats	*st = httpflow_stats(hf);
	struct conv			 c;
	const char			*want[] = {
		"/1 200 body-1", "/2 200 body-2", "/3 0 reset",
		"/4 200 body-4", "/5 200 body-5"
	};

	conv_open(&c, hf, 40024);
	ask(&c, 100, 1);
	answer(&c, 110, 1);
	ask(&c, 200, 2);
	answer(&c, 210, 2);
	ask(&c, 300, 3);
	lose(&c, TCP_DIR_S2C, "HTTP/1.1 2");
	say(&c, TCP_DIR_S2C, 311, "00 OK\r\nContent-Length: 6\r\n\r\n"
	    "body-3");
	ask(&c, 400, 4);
	answer(&c, 410, 4);
	ask(&c, 500, 5);
	answer(&c, 510, 5);
	conv_close(&c);
	httpflow_finish(hf);
	expect("status line cut", want, 5);
	is_int(st->resumed, 1, "status line cut: resumed");
	is_int(st->skipped, 34, "status line cut: the rest of it skipped");
	httpflow_free(hf);
}

static void
test_resume_pipelined(void)
{
	struct httpflow			*hf = flow_new(0);
	const struct httpflow_stats	*st = httpflow_stats(hf);
	struct conv			 c;
	const char			*want[] = {
		"/1 200 body-1", "/2 200 body-2", "/3 0 reset", "/4 0 reset"
	};

	conv_open(&c, hf, 40025);
	say(&c, TCP_DIR_C2S, 100, "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
	    "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
	answer(&c, 110, 1);
	answer(&c, 111, 2);
	say(&c, TCP_DIR_C2S, 300, "GET /3 HTTP/1.1\r\nHost: h\r\n\r\n"
	    "GET /4 HTTP/1.1\r\nHost: h\r\n\r\n");
	lose(&c, TCP_DIR_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n"
	    "\r\nbody-3");
	answer(&c, 311, 4);
	ask(&c, 500, 5);
	answer(&c, 510, 5);
	conv_close(&c);
	httpflow_finish(hf);
	expect("pipelined", want, 4);
	is_int(st->not_resumed, 1, "pipelined: not resumed, counted");
	is_int(st->resumed, 0, "pipelined: nothing resumed");
	httpflow_free(hf);
}

static void
test_resume_lookalikes(void)
{
	struct httpflow			*hf = flow_new(0);
	const struct httpflow_stats	*st = httpflow_stats(hf);
	struct conv			 c;
	const char			*want[] = {
		"/1 200 body-1", "/2 200 body-2", "/3 200 reset",
		"/4 200 body-4", "/5 200 body-5"
	};
	const char			*want2[] = {
		"/1 200 body-1", "/2 200 body-2", "/4 200 body-4",
		"/5 200 body-5"
	};
	const char			*fake = "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 4\r\n\r\nfake";
	uint32_t			 at, next;

	/* A response body with a whole response in it, right after the gap. */
	conv_open(&c, hf, 40026);
	ask(&c, 100, 1);
	answer(&c, 110, 1);
	ask(&c, 200, 2);
	answer(&c, 210, 2);
	ask(&c, 300, 3);
	say(&c, TCP_DIR_S2C, 310, "HTTP/1.1 200 OK\r\nContent-Length: 62"
	    "\r\n\r\n0123456789");
	lose(&c, TCP_DIR_S2C, "abcdefghi\n");
	say(&c, TCP_DIR_S2C, 312, "HTTP/1.1 200 OK\r\nContent-Length: 4"
	    "\r\n\r\nfake");
	ask(&c, 400, 4);
	answer(&c, 410, 4);
	ask(&c, 500, 5);
	answer(&c, 510, 5);
	conv_close(&c);
	httpflow_finish(hf);
	expect("a response in a body", want, 5);
	is_int(st->orphans, 1, "a response in a body: skipped as an orphan");
	httpflow_free(hf);

	/* A request body with a whole request in it, right after the gap. */
	hf = flow_new(0);
	st = httpflow_stats(hf);
	conv_open(&c, hf, 40027);
	ask(&c, 100, 1);
	answer(&c, 110, 1);
	ask(&c, 200, 2);
	answer(&c, 210, 2);
	say(&c, TCP_DIR_C2S, 300, "POST /3 HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 51\r\n\r\n0123456789");
	lose(&c, TCP_DIR_C2S, "abcdefghi\n");
	say(&c, TCP_DIR_C2S, 302, "GET /fake HTTP/1.1\r\nHost: h\r\n\r\n");
	answer(&c, 310, 3);
	ask(&c, 400, 4);
	answer(&c, 410, 4);
	ask(&c, 500, 5);
	answer(&c, 510, 5);
	conv_close(&c);
	httpflow_finish(hf);
	expect("a request in a body", want2, 4);
	is_int(st->resumed, 1, "a request in a body: resumed after it");
	httpflow_free(hf);

	/* Both, at once, from a body's text in one direction only. */
	hf = flow_new(0);
	st = httpflow_stats(hf);
	conv_open(&c, hf, 40028);
	ask(&c, 100, 1);
	answer(&c, 110, 1);
	ask(&c, 200, 2);
	answer(&c, 210, 2);
	ask(&c, 300, 3);
	say(&c, TCP_DIR_S2C, 310, "HTTP/1.1 200 OK\r\nContent-Length: 93"
	    "\r\n\r\n0123456789");
	lose(&c, TCP_DIR_S2C, "abcdefghi\n");
	say(&c, TCP_DIR_S2C, 312, "GET /fake HTTP/1.1\r\nHost: h\r\n\r\n"
	    "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfake");
	ask(&c, 400, 4);
	answer(&c, 410, 4);
	ask(&c, 500, 5);
	answer(&c, 510, 5);
	conv_close(&c);
	httpflow_finish(hf);
	expect("a conversation in a body", want, 5);
	httpflow_free(hf);

	/*
	 * A response in a body, captured out of order: it comes after the
	 * next request although it was sent before it.  Only its time tells.
	 */
	hf = flow_new(0);
	st = httpflow_stats(hf);
	conv_open(&c, hf, 40029);
	ask(&c, 100, 1);
	answer(&c, 110, 1);
	ask(&c, 200, 2);
	answer(&c, 210, 2);
	ask(&c, 300, 3);
	say(&c, TCP_DIR_S2C, 310, "HTTP/1.1 200 OK\r\nContent-Length: 67"
	    "\r\n\r\n0123456789");
	lose(&c, TCP_DIR_S2C, "abcdefghi\n");
	say(&c, TCP_DIR_S2C, 312, "junk\n");
	c.ts.tv_usec = 313000;
	seg(&c, TCP_DIR_C2S, 0, NULL, 0);	/* acknowledges the junk */
	at = c.seq[TCP_DIR_S2C];
	lose(&c, TCP_DIR_S2C, fake);
	ask(&c, 400, 4);
	next = c.seq[TCP_DIR_S2C];
	c.seq[TCP_DIR_S2C] = at;
	say(&c, TCP_DIR_S2C, 314, fake);	/* late in the capture */
	c.seq[TCP_DIR_S2C] = next;
	answer(&c, 410, 4);
	ask(&c, 500, 5);
	answer(&c, 510, 5);
	conv_close(&c);
	httpflow_finish(hf);
	expect("a response in a body, late", want, 5);
	is_int(st->orphans, 1, "a response in a body, late: skipped, its "
	    "time before the request's");
	httpflow_free(hf);
}

static void
test_response_first(void)
{
	struct httpflow			*hf = flow_new(0);
	const struct httpflow_stats	*st = httpflow_stats(hf);
	struct conv			 c;
	const char			*req2 = "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n";
	uint32_t			 at, next;
	size_t				 i;
	int				 mispaired = 0;

	/*
	 * A request captured after its response, then the next one: the
	 * response acknowledges the request, so it waits for it.
	 */
	conv_open(&c, hf, 40030);
	ask(&c, 100, 1);
	answer(&c, 110, 1);
	at = c.seq[TCP_DIR_C2S];
	lose(&c, TCP_DIR_C2S, req2);
	answer(&c, 210, 2);
	next = c.seq[TCP_DIR_C2S];
	c.seq[TCP_DIR_C2S] = at;
	say(&c, TCP_DIR_C2S, 200, req2);	/* late in the capture */
	c.seq[TCP_DIR_C2S] = next;
	ask(&c, 300, 3);
	answer(&c, 310, 3);
	conv_close(&c);
	httpflow_finish(hf);
	is_str(ngot > 0 ? resumed(0) : "", "/1 200 body-1",
	    "response first: the exchange before it");
	for (i = 0; i < ngot; i++) {
		if (got[i]->ex_resp[SIDE_PRIMARY].error == NULL &&
		    strcmp(body(i) + 5, got[i]->ex_req.target + 1) != 0)
			mispaired++;
	}
	is_int(mispaired, 0, "response first: no request takes another's "
	    "response");
	is_str(ngot > 1 ? resumed(1) : "", "/2 200 body-2",
	    "response first: paired with the request captured after it");
	is_str(ngot > 2 ? resumed(2) : "", "/3 200 body-3",
	    "response first: the next exchange");
	is_int(ngot, 3, "response first: three exchanges");
	is_int(st->orphans, 0, "response first: no response skipped");
	httpflow_free(hf);
}

/*
 * A capture that shows a response before the request it answers: tcpdump
 * on a busy host, or pcapmangle --shuffle (a b c -> c a b), as t0600 does
 * to a live capture.  The response acknowledges the request's bytes, so
 * the request was sent first: each pair is found all the same.  Segments:
 * 0 /1, 1 its answer, 2 /2, 3 its answer, 4 /3, 5 its answer.
 */
static void
test_response_before_request(void)
{
	static const struct {
		const char	*name;
		const char	*order;
	} cases[] = {
		{ "captured in order", "012345" },
		{ "a response just before its request", "013245" },
		{ "a response held for a hole, let go before its request",
		    "031245" },
		{ "the last response held, let go before its request",
		    "012534" },
		{ "every response before its request", "103254" },
	};
	static const char		*want[] = {
		"/1 200 body-1", "/2 200 body-2", "/3 200 body-3"
	};
	struct httpflow			*hf;
	const struct httpflow_stats	*st;
	struct conv			 c;
	size_t				 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		hf = flow_new(0);
		st = httpflow_stats(hf);
		conv_open(&c, hf, (uint16_t)(40040 + i));
		tape_on();
		ask(&c, 100, 1);
		answer(&c, 110, 1);
		ask(&c, 200, 2);
		answer(&c, 210, 2);
		ask(&c, 300, 3);
		answer(&c, 310, 3);
		tape_play(&c, cases[i].order);
		conv_close(&c);
		httpflow_finish(hf);
		expect(cases[i].name, want, 3);
		ok(st->orphans == 0 && st->unanswered == 0,
		    "%s: no response skipped, no request unanswered "
		    "(orphans %llu, unanswered %llu)", cases[i].name,
		    (unsigned long long)st->orphans,
		    (unsigned long long)st->unanswered);
		httpflow_free(hf);
	}
}

/*
 * Random conversations, each through random losses, and captured out of
 * order: whatever is lost, no request is written with a response that is
 * not its own.  Bodies are made of the bytes of start lines.
 */
static uint64_t	 rnd_state;

static unsigned
rnd(unsigned n)
{
	rnd_state = rnd_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((unsigned)((rnd_state >> 33) % n));
}

/* A segment held back, to go out after the next one. */
static struct {
	int		 on;
	int		 dir;
	uint32_t	 seq;
	struct timeval	 ts;
	char		 data[64];
	size_t		 len;
} late;

static void
late_flush(struct conv *c)
{
	uint32_t	 seq;
	struct timeval	 ts;

	if (!late.on)
		return;
	late.on = 0;
	seq = c->seq[late.dir];
	ts = c->ts;
	c->seq[late.dir] = late.seq;
	c->ts = late.ts;
	seg(c, late.dir, F_PSH, late.data, late.len);
	c->seq[late.dir] = seq;
	c->ts = ts;
}

/* Send s in random segments, some lost, some late. */
static void
send_random(struct conv *c, int dir, long *ms, const char *s, int reorder)
{
	size_t	 len = strlen(s), off = 0, n;
	char	 b[64];

	while (off < len) {
		n = 1 + rnd(len - off < 40 ? (unsigned)(len - off) : 40);
		if (rnd(4) == 0 && len - off < sizeof b)
			n = len - off;
		memcpy(b, s + off, n);
		b[n] = '\0';
		off += n;
		(*ms)++;
		c->ts.tv_sec = 1700000000 + *ms / 1000;
		c->ts.tv_usec = (*ms % 1000) * 1000;
		if (rnd(25) == 0)
			lose(c, dir, b);
		else if (reorder && !late.on && rnd(15) == 0) {
			late.on = 1;
			late.dir = dir;
			late.seq = c->seq[dir];
			late.ts = c->ts;
			memcpy(late.data, b, n);
			late.len = n;
			c->seq[dir] += (uint32_t)n;
		} else {
			say(c, dir, *ms, b);
			late_flush(c);
		}
	}
}

static void
test_random(void)
{
	static const char	 alphabet[] = "abcHTTP/1.1 200 GET / \r\n";
	struct httpflow		*hf;
	struct conv		 c;
	char			 req[512], resp[1024], bd[256], want[32];
	const char		*b;
	size_t			 i, bad = 0, total = 0, answered = 0;
	long			 ms;
	int			 round, mode, n, k, j, blen, pipe;

	for (mode = 0; mode < 4; mode++) {
		for (round = 0; round < 1000; round++) {
			rnd_state = (uint64_t)mode * 1000003 + (uint64_t)round;
			pipe = (mode & 1) && rnd(2) == 0;
			hf = flow_new(0);
			conv_open(&c, hf, (uint16_t)(41000 + round));
			ms = 100;
			n = 2 + (int)rnd(10);
			resp[0] = '\0';
			for (k = 1; k <= n; k++) {
				blen = rnd(3) == 0 ? 0 : 1 + (int)rnd(120);
				for (j = 0; j < blen; j++)
					bd[j] = alphabet[rnd(sizeof alphabet - 1)];
				bd[blen] = '\0';
				if (rnd(3) == 0)
					snprintf(req, sizeof req, "POST /%d HTTP/1.1\r\n"
					    "Host: h\r\nContent-Length: %d\r\n\r\n%s",
					    k, blen, bd);
				else
					snprintf(req, sizeof req, "GET /%d HTTP/1.1\r\n"
					    "Host: h\r\n\r\n", k);
				send_random(&c, TCP_DIR_C2S, &ms, req, mode & 2);
				ms += 5;
				j = blen + 5 + (k >= 10 ? 2 : 1);
				if (rnd(4) == 0)
					snprintf(resp + strlen(resp), sizeof resp -
					    strlen(resp), "HTTP/1.1 200 OK\r\n"
					    "Transfer-Encoding: chunked\r\n\r\n%x\r\n"
					    "%sbody-%d\r\n0\r\n\r\n", j, bd, k);
				else
					snprintf(resp + strlen(resp), sizeof resp -
					    strlen(resp), "HTTP/1.1 200 OK\r\n"
					    "Content-Length: %d\r\n\r\n%sbody-%d", j,
					    bd, k);
				/* Pipelining: up to three requests, then answers. */
				if (pipe && k % 3 != 0 && k != n &&
				    strlen(resp) < 400)
					continue;
				send_random(&c, TCP_DIR_S2C, &ms, resp, mode & 2);
				resp[0] = '\0';
				ms += 5;
			}
			late_flush(&c);
			conv_close(&c);
			httpflow_finish(hf);
			for (i = 0; i < ngot; i++) {
				total++;
				if (got[i]->ex_resp[SIDE_PRIMARY].error != NULL)
					continue;
				answered++;
				b = body(i);
				snprintf(want, sizeof want, "body-%s",
				    got[i]->ex_req.target + 1);
				if (strlen(b) < strlen(want) || strcmp(b +
				    strlen(b) - strlen(want), want) != 0) {
					if (bad++ == 0)
						printf("# mode %d round %d: %s "
						    "answered by \"%s\"\n", mode,
						    round, got[i]->ex_req.target, b);
				}
			}
			httpflow_free(hf);
		}
	}
	is_int(bad, 0, "random losses and order: %zu exchanges, %zu answered, "
	    "none with another's response", total, answered);
	ok(answered > total / 2, "random losses and order: most answered");
}

static void
test_ids(void)
{
	struct httpflow	*hf;
	struct conv	 c;
	char		 first[TRACE_ID_MAX + 1];
	int		 round;

	for (round = 0; round < 2; round++) {
		hf = flow_new(0);
		conv_open(&c, hf, 40013);
		say(&c, TCP_DIR_C2S, 100, "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
		    "GET /2 HTTP/1.1\r\nHost: h\r\n"
		    "X-Paritytap-Trace-Id: my-id.1\r\n\r\n"
		    "GET /3 HTTP/1.1\r\nHost: h\r\ntraceparent: "
		    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		    "\r\n\r\n");
		say(&c, TCP_DIR_S2C, 110, "HTTP/1.1 204 No Content\r\n\r\n"
		    "HTTP/1.1 204 No Content\r\n\r\n"
		    "HTTP/1.1 204 No Content\r\n\r\n");
		conv_close(&c);
		httpflow_finish(hf);
		if (ngot != 3) {
			ok(0, "ids: three exchanges (got %zu)", ngot);
			httpflow_free(hf);
			return;
		}
		if (round == 0) {
			snprintf(first, sizeof first, "%s", got[0]->ex_id);
			ok(strlen(first) == 25 && first[16] == '-',
			    "ids: made in the minted form (%s)", first);
			is_str(got[1]->ex_id, "my-id.1", "ids: trace header");
			is_str(got[2]->ex_id, "4bf92f3577b34da6a3ce929d0e0e4736",
			    "ids: traceparent");
		} else
			is_str(got[0]->ex_id, first,
			    "ids: the same packets make the same id");
		httpflow_free(hf);
	}
}

int
main(void)
{
	log_init("test-httpflow");
	test_keepalive();
	test_pipelined();
	test_interim_and_close();
	test_limits();
	test_unanswered();
	test_not_http();
	test_upgrade();
	test_gap();
	test_resume_response();
	test_resume_request();
	test_resume_whole();
	test_resume_status_line();
	test_resume_pipelined();
	test_resume_lookalikes();
	test_response_first();
	test_response_before_request();
	test_random();
	test_ids();
	collect_reset();
	return (done_testing());
}
