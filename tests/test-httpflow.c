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
	test_ids();
	collect_reset();
	return (done_testing());
}
