/*
 * Unit tests for TCP reassembly (src/tcpreasm.c): frames are built here,
 * in every link type, and the bytes and events that come out are
 * checked exactly.
 */

#include <sys/socket.h>

#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/dlt.h>

#include "paritytap.h"
#include "tap.h"

/* Framings the builder writes. */
enum link {
	L_ETH,
	L_VLAN,		/* one 802.1Q tag */
	L_QINQ,		/* 802.1ad outer, 802.1Q inner */
	L_SLL,
	L_SLL2,
	L_RAW,
	L_IPV4,		/* DLT_IPV4 / DLT_IPV6 by family */
	L_NULL_LE,
	L_NULL_BE,
	L_LOOP,
	L_MAX
};

static const char *link_names[] = {
	"Ethernet", "Ethernet 802.1Q", "Ethernet 802.1ad", "Linux SLL",
	"Linux SLL2", "raw IP", "DLT_IPV4/DLT_IPV6", "NULL little-endian",
	"NULL big-endian", "LOOP"
};

/* A segment to build. */
struct pk {
	int		 v6;
	const char	*src;
	const char	*dst;
	uint16_t	 sport;
	uint16_t	 dport;
	uint32_t	 seq;
	uint32_t	 ack;
	uint8_t		 flags;
	const void	*data;
	size_t		 len;
	int		 ipopts;	/* IPv4 options / IPv6 extension headers */
	int		 frag;		/* an IP fragment */
};

#define F_FIN	0x01
#define F_SYN	0x02
#define F_RST	0x04
#define F_PSH	0x08
#define F_ACK	0x10

#define FRAME_MAX	(70 * 1024)

static uint8_t	 frame[FRAME_MAX];

/* Put big-endian values. */
static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

/* The DLT_ value of a framing. */
static int
link_dlt(enum link l, int v6)
{
	switch (l) {
	case L_ETH:
	case L_VLAN:
	case L_QINQ:
		return (DLT_EN10MB);
	case L_SLL:
		return (DLT_LINUX_SLL);
	case L_SLL2:
		return (DLT_LINUX_SLL2);
	case L_RAW:
		return (DLT_RAW);
	case L_IPV4:
		return (v6 ? DLT_IPV6 : DLT_IPV4);
	case L_NULL_LE:
	case L_NULL_BE:
		return (DLT_NULL);
	case L_LOOP:
	case L_MAX:
		break;
	}
	return (DLT_LOOP);
}

/*
 * Build a frame into out; returns its length.  *iplen gets the length of
 * the IP packet within (without Ethernet padding) and *ipoff its offset.
 */
static size_t
build(uint8_t *out, enum link l, const struct pk *p, size_t *ipoff,
    size_t *iplen)
{
	size_t		 off = 0, ip, tcp, len, ext = 0;
	uint16_t	 type = p->v6 ? 0x86dd : 0x0800;
	uint32_t	 fam = p->v6 ? 10 : 2;

	switch (l) {
	case L_ETH:
	case L_VLAN:
	case L_QINQ:
		memset(out, 0x11, 12);
		off = 12;
		if (l == L_QINQ) {
			put16(out + off, 0x88a8);
			put16(out + off + 2, 100);
			off += 4;
		}
		if (l == L_VLAN || l == L_QINQ) {
			put16(out + off, 0x8100);
			put16(out + off + 2, 42);
			off += 4;
		}
		put16(out + off, type);
		off += 2;
		break;
	case L_SLL:
		memset(out, 0, 16);
		put16(out + 2, 1);
		put16(out + 4, 6);
		put16(out + 14, type);
		off = 16;
		break;
	case L_SLL2:
		memset(out, 0, 20);
		put16(out, type);
		put32(out + 4, 3);
		put16(out + 8, 1);
		out[11] = 6;
		off = 20;
		break;
	case L_RAW:
	case L_IPV4:
		break;
	case L_NULL_LE:
		out[0] = fam;
		out[1] = out[2] = out[3] = 0;
		off = 4;
		break;
	case L_NULL_BE:
	case L_LOOP:
		put32(out, fam);
		off = 4;
		break;
	case L_MAX:
		abort();
	}
	ip = off;
	if (p->v6) {
		memset(out + ip, 0, 40);
		out[ip] = 0x60;
		if (inet_pton(AF_INET6, p->src, out + ip + 8) != 1 ||
		    inet_pton(AF_INET6, p->dst, out + ip + 24) != 1)
			abort();
		out[ip + 7] = 64;
		tcp = ip + 40;
		if (p->ipopts) {
			/* hop-by-hop (8) then destination options (16) */
			out[ip + 6] = 0;
			memset(out + tcp, 0, 24);
			out[tcp] = 60;
			out[tcp + 1] = 0;
			out[tcp + 2] = 1;	/* PadN */
			out[tcp + 3] = 4;
			out[tcp + 8] = p->frag ? 44 : 6;
			out[tcp + 9] = 1;
			out[tcp + 10] = 1;
			out[tcp + 11] = 12;
			tcp += 24;
			ext += 24;
		} else
			out[ip + 6] = p->frag ? 44 : 6;
		if (p->frag) {
			memset(out + tcp, 0, 8);
			out[tcp] = 6;
			put16(out + tcp + 2, 0x0001);	/* offset 0, more */
			put32(out + tcp + 4, 0x1234);
			tcp += 8;
			ext += 8;
		}
		len = 40 + ext + 20 + p->len;
		put16(out + ip + 4, (uint16_t)(len - 40));
	} else {
		memset(out + ip, 0, 20);
		out[ip] = 0x45;
		out[ip + 8] = 64;
		out[ip + 9] = 6;
		if (inet_pton(AF_INET, p->src, out + ip + 12) != 1 ||
		    inet_pton(AF_INET, p->dst, out + ip + 16) != 1)
			abort();
		if (p->frag)
			put16(out + ip + 6, 0x2000);
		tcp = ip + 20;
		if (p->ipopts) {
			out[ip] = 0x48;			/* 12 bytes of options */
			memset(out + tcp, 1, 12);	/* NOPs */
			tcp += 12;
			ext = 12;
		}
		len = 20 + ext + 20 + p->len;
		put16(out + ip + 2, (uint16_t)len);
	}
	memset(out + tcp, 0, 20);
	put16(out + tcp, p->sport);
	put16(out + tcp + 2, p->dport);
	put32(out + tcp + 4, p->seq);
	put32(out + tcp + 8, p->ack);
	out[tcp + 12] = 5 << 4;
	out[tcp + 13] = p->flags;
	put16(out + tcp + 14, 65535);
	if (p->len != 0)
		memcpy(out + tcp + 20, p->data, p->len);
	*ipoff = ip;
	*iplen = len;
	len += ip;
	/* Ethernet pads short frames; the padding is not payload. */
	if ((l == L_ETH || l == L_VLAN || l == L_QINQ) && len < 60) {
		memset(out + len, 0xee, 60 - len);
		len = 60;
	}
	return (len);
}

/* What came out of one connection. */
struct rec {
	struct tcp_conn	*conn;		/* while open */
	uint64_t	 id;
	struct tcp_addr	 client;
	struct tcp_addr	 server;
	struct buf	 dir[2];	/* bytes, gaps as "<gap N>" */
	int		 closes;
	int		 how;
	uint64_t	 bytes[2];
};

/* Everything that came out. */
struct coll {
	struct rec	*recs;
	size_t		 n;
	size_t		 cap;
	int		 count_only;	/* keep byte counts, not bytes */
	int		 errors;	/* events out of contract */
	struct buf	 log;		/* "o1 d1c5 g1s3 c1:0 " ... */
	struct buf	 logstr;	/* coll_log's answer */
	size_t		 from_packet;	/* deliveries pointing into the frame */
	size_t		 copied;	/* ... and elsewhere */
	struct buf	 times;		/* "d<ms> g<ms> " per event */
	struct buf	 acks;		/* tcp_conn's acked, per delivery */
	size_t		 midstream;	/* connections opened without a SYN */
};

/* The frame being fed, to tell delivery from the packet from a copy. */
static const uint8_t	*feeding;
static size_t		 feeding_len;

/* A connection opened. */
static void
coll_open(void *arg, struct tcp_conn *conn)
{
	struct coll	*c = arg;
	struct rec	*r;

	if (conn->user != NULL)
		c->errors++;
	if (c->n == c->cap) {
		c->cap = c->cap == 0 ? 16 : c->cap * 2;
		c->recs = xreallocarray(c->recs, c->cap, sizeof *c->recs);
	}
	r = &c->recs[c->n++];
	memset(r, 0, sizeof *r);
	r->conn = conn;
	r->id = conn->id;
	if (conn->midstream)
		c->midstream++;
	r->client = conn->client;
	r->server = conn->server;
	buf_init(&r->dir[0]);
	buf_init(&r->dir[1]);
	conn->user = (void *)(uintptr_t)c->n;
	if (!c->count_only)
		buf_printf(&c->log, "o%llu ", (unsigned long long)conn->id);
}

/* The record of a connection, or NULL (an error) if it was not opened. */
static struct rec *
coll_rec(struct coll *c, struct tcp_conn *conn)
{
	uintptr_t	 i = (uintptr_t)conn->user;

	if (i == 0 || i > c->n || c->recs[i - 1].conn != conn ||
	    c->recs[i - 1].closes != 0) {
		c->errors++;
		return (NULL);
	}
	return (&c->recs[i - 1]);
}

/* In-order bytes. */
static void
coll_data(void *arg, struct tcp_conn *conn, int dir, const uint8_t *data,
    size_t len, const struct timeval *ts)
{
	struct coll	*c = arg;
	struct rec	*r;

	if ((r = coll_rec(c, conn)) == NULL)
		return;
	if (len == 0 || ts == NULL || (dir != 0 && dir != 1))
		c->errors++;
	r->bytes[dir] += len;
	if (feeding != NULL && data >= feeding && data + len <= feeding +
	    feeding_len)
		c->from_packet++;
	else
		c->copied++;
	if (c->count_only)
		return;
	buf_printf(&c->times, "d%ld ", (long)(ts->tv_usec / 1000));
	buf_printf(&c->acks, "%llu ", (unsigned long long)conn->acked[dir]);
	buf_add(&r->dir[dir], data, len);
	buf_printf(&c->log, "d%llu%c%zu ", (unsigned long long)conn->id,
	    dir == TCP_DIR_C2S ? 'c' : 's', len);
}

/* A hole given up. */
static void
coll_gap(void *arg, struct tcp_conn *conn, int dir, uint64_t len,
    const struct timeval *ts)
{
	struct coll	*c = arg;
	struct rec	*r;

	if ((r = coll_rec(c, conn)) == NULL)
		return;
	if (len == 0 || ts == NULL)
		c->errors++;
	r->bytes[dir] += len;
	if (c->count_only)
		return;
	buf_printf(&c->times, "g%ld ", (long)(ts->tv_usec / 1000));
	buf_printf(&r->dir[dir], "<gap %llu>", (unsigned long long)len);
	buf_printf(&c->log, "g%llu%c%llu ", (unsigned long long)conn->id,
	    dir == TCP_DIR_C2S ? 'c' : 's', (unsigned long long)len);
}

/* A connection closed. */
static void
coll_close(void *arg, struct tcp_conn *conn, int how)
{
	struct coll	*c = arg;
	struct rec	*r;

	if ((r = coll_rec(c, conn)) == NULL)
		return;
	r->closes++;
	r->how = how;
	r->conn = NULL;
	if (!c->count_only)
		buf_printf(&c->log, "c%llu:%d ", (unsigned long long)conn->id,
		    how);
}

static const struct tcpreasm_cbs coll_cbs = {
	coll_open, coll_data, coll_gap, coll_close
};

/* Start collecting. */
static void
coll_init(struct coll *c)
{
	memset(c, 0, sizeof *c);
	buf_init(&c->log);
	buf_init(&c->logstr);
	buf_init(&c->times);
	buf_init(&c->acks);
}

/* The stream of connection i (0-based order of opening) as a string. */
static const char *
coll_str(struct coll *c, size_t i, int dir)
{
	static char	 empty[] = "(none)";
	struct buf	*b;

	if (i >= c->n)
		return (empty);
	b = &c->recs[i].dir[dir];
	buf_add(b, "", 1);
	b->len--;
	return (b->data != NULL ? b->data : "");
}

/* The event log as a string, without the trailing space. */
static const char *
coll_log(struct coll *c)
{
	buf_reset(&c->logstr);
	if (c->log.len != 0)
		buf_add(&c->logstr, c->log.data, c->log.len - 1);
	buf_add(&c->logstr, "", 1);
	return (c->logstr.data);
}

/* Free what was collected. */
static void
coll_free(struct coll *c)
{
	size_t	 i;

	for (i = 0; i < c->n; i++) {
		buf_free(&c->recs[i].dir[0]);
		buf_free(&c->recs[i].dir[1]);
	}
	free(c->recs);
	buf_free(&c->log);
	buf_free(&c->logstr);
	buf_free(&c->times);
	buf_free(&c->acks);
}

/* The test's clock: each packet one millisecond after the last. */
static struct timeval	 clk = { 1700000000, 0 };

/* Build and feed one segment; returns what tcpreasm_packet returned. */
static int
feed_link(struct tcpreasm *r, enum link l, const struct pk *p)
{
	size_t	 ipoff, iplen, len;
	int	 rv;

	len = build(frame, l, p, &ipoff, &iplen);
	clk.tv_usec += 1000;
	if (clk.tv_usec >= 1000000) {
		clk.tv_sec++;
		clk.tv_usec -= 1000000;
	}
	feeding = frame;
	feeding_len = len;
	rv = tcpreasm_packet(r, link_dlt(l, p->v6), &clk, frame, len);
	feeding = NULL;
	return (rv);
}

/* A connection between a client and a server, for building segments. */
struct flow {
	enum link	 l;
	int		 v6;
	const char	*caddr;
	const char	*saddr;
	uint16_t	 cport;
	uint16_t	 sport;
	uint32_t	 cisn;		/* client's ISN */
	uint32_t	 sisn;
};

/* Send from the client (dir 0) or the server at stream offset off. */
static int
send_at(struct tcpreasm *r, const struct flow *f, int dir, uint8_t flags,
    uint64_t off, const void *data, size_t len)
{
	struct pk	 p;

	memset(&p, 0, sizeof p);
	p.v6 = f->v6;
	if (dir == TCP_DIR_C2S) {
		p.src = f->caddr;
		p.dst = f->saddr;
		p.sport = f->cport;
		p.dport = f->sport;
		p.seq = f->cisn + 1 + (uint32_t)off;
		p.ack = f->sisn + 1;
	} else {
		p.src = f->saddr;
		p.dst = f->caddr;
		p.sport = f->sport;
		p.dport = f->cport;
		p.seq = f->sisn + 1 + (uint32_t)off;
		p.ack = f->cisn + 1;
	}
	if (flags & F_SYN)
		p.seq--;
	p.flags = flags;
	p.data = data;
	p.len = len;
	return (feed_link(r, f->l, &p));
}

/* A bare segment of dir acknowledging the other direction to ackoff. */
static int
send_acking(struct tcpreasm *r, const struct flow *f, int dir,
    uint64_t off, uint64_t ackoff, const void *data, size_t len)
{
	struct pk	 p;

	memset(&p, 0, sizeof p);
	p.v6 = f->v6;
	p.src = dir == TCP_DIR_C2S ? f->caddr : f->saddr;
	p.dst = dir == TCP_DIR_C2S ? f->saddr : f->caddr;
	p.sport = dir == TCP_DIR_C2S ? f->cport : f->sport;
	p.dport = dir == TCP_DIR_C2S ? f->sport : f->cport;
	p.seq = (dir == TCP_DIR_C2S ? f->cisn : f->sisn) + 1 + (uint32_t)off;
	p.ack = (dir == TCP_DIR_C2S ? f->sisn : f->cisn) + 1 +
	    (uint32_t)ackoff;
	p.flags = F_ACK;
	p.data = data;
	p.len = len;
	return (feed_link(r, f->l, &p));
}

/* The three-way handshake. */
static void
handshake(struct tcpreasm *r, const struct flow *f)
{
	send_at(r, f, 0, F_SYN, 0, NULL, 0);
	send_at(r, f, 1, F_SYN | F_ACK, 0, NULL, 0);
	send_at(r, f, 0, F_ACK, 0, NULL, 0);
}

static const struct flow flow4 = {
	L_ETH, 0, "10.0.0.1", "10.0.0.2", 40000, 80, 1000, 5000
};
static const struct flow flow6 = {
	L_ETH, 1, "2001:db8::1", "2001:db8::2", 40000, 80, 1000, 5000
};

/* A deterministic random number generator (xorshift64*). */
static uint64_t	 rng_state = 0x853c49e6748fea9bULL;

static uint32_t
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return ((uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32));
}

/* A whole conversation over one framing: request, response, FINs. */
static void
conversation(struct tcpreasm *r, const struct flow *f)
{
	handshake(r, f);
	send_at(r, f, 0, F_ACK | F_PSH, 0, "GET / HTTP/1.1\r\n\r\n", 18);
	send_at(r, f, 1, F_ACK | F_PSH, 0, "HTTP/1.1 200 OK\r\n", 17);
	send_at(r, f, 1, F_ACK | F_PSH, 17, "Content-Length: 2\r\n\r\nhi", 23);
	send_at(r, f, 0, F_ACK | F_FIN, 18, NULL, 0);
	send_at(r, f, 1, F_ACK | F_FIN, 40, NULL, 0);
	send_at(r, f, 0, F_ACK, 19, NULL, 0);
}

/* Every link type and both families carry the same conversation. */
static void
test_links(void)
{
	struct tcpreasm			*r;
	struct coll			 c;
	struct flow			 f;
	const struct tcpreasm_stats	*st;
	char				 addr[64];
	int				 l, v6;

	for (l = 0; l < L_MAX; l++) {
		for (v6 = 0; v6 <= 1; v6++) {
			f = v6 ? flow6 : flow4;
			f.l = (enum link)l;
			ok(tcpreasm_linktype_ok(link_dlt(f.l, v6)),
			    "%s is a link type we decode", link_names[l]);
			coll_init(&c);
			r = tcpreasm_new(&coll_cbs, &c, 0, 0);
			conversation(r, &f);
			st = tcpreasm_stats(r);
			is_str(coll_log(&c), "o1 d1c18 d1s17 d1s23 c1:0",
			    "%s IPv%d: events", link_names[l], v6 ? 6 : 4);
			is_str(coll_str(&c, 0, 0), "GET / HTTP/1.1\r\n\r\n",
			    "%s IPv%d: request bytes", link_names[l],
			    v6 ? 6 : 4);
			is_str(coll_str(&c, 0, 1), "HTTP/1.1 200 OK\r\n"
			    "Content-Length: 2\r\n\r\nhi",
			    "%s IPv%d: response bytes", link_names[l],
			    v6 ? 6 : 4);
			is_int(st->packets, 9, "9 packets");
			is_int(st->bad + st->not_tcp + st->no_syn +
			    st->retransmits + st->gaps, 0,
			    "nothing bad, skipped, retransmitted");
			is_int(st->connections, 1, "one connection");
			inet_ntop(v6 ? AF_INET6 : AF_INET,
			    c.recs[0].client.addr, addr, sizeof addr);
			ok(c.n == 1 && c.recs[0].closes == 1 &&
			    c.recs[0].client.port == 40000 &&
			    c.recs[0].server.port == 80 &&
			    c.recs[0].client.family ==
			    (v6 ? AF_INET6 : AF_INET) &&
			    strcmp(addr, f.caddr) == 0,
			    "client %s port 40000, server port 80, "
			    "closed once", addr);
			is_int(c.errors, 0, "callbacks in contract");
			tcpreasm_free(r);
			coll_free(&c);
		}
	}
	ok(!tcpreasm_linktype_ok(DLT_IEEE802_11), "802.11 is not decoded");
	ok(!tcpreasm_linktype_ok(DLT_PPP), "PPP is not decoded");
}

/* IPv4 options and IPv6 extension headers are walked over. */
static void
test_ip_options(void)
{
	struct tcpreasm	*r;
	struct coll	 c;
	struct pk	 p;
	int		 v6;

	for (v6 = 0; v6 <= 1; v6++) {
		coll_init(&c);
		r = tcpreasm_new(&coll_cbs, &c, 0, 0);
		memset(&p, 0, sizeof p);
		p.v6 = v6;
		p.src = v6 ? "fe80::1" : "192.168.1.1";
		p.dst = v6 ? "fe80::2" : "192.168.1.2";
		p.sport = 50000;
		p.dport = 8080;
		p.seq = 77;
		p.flags = F_ACK | F_PSH;
		p.data = "with options";
		p.len = 12;
		p.ipopts = 1;
		is_int(feed_link(r, L_RAW, &p), 1, "IPv%d with %s: used",
		    v6 ? 6 : 4, v6 ? "extension headers" : "options");
		tcpreasm_finish(r);
		is_str(coll_str(&c, 0, 0), "with options",
		    "IPv%d with %s: payload after them", v6 ? 6 : 4,
		    v6 ? "hop-by-hop and destination options" : "options");
		is_int(tcpreasm_stats(r)->no_syn, 1, "no SYN counted");
		tcpreasm_free(r);
		coll_free(&c);
	}
}

/* Fragments are counted and skipped; UDP and ARP are not TCP. */
static void
test_skipped(void)
{
	struct tcpreasm			*r;
	struct coll			 c;
	struct pk			 p;
	const struct tcpreasm_stats	*st;
	size_t				 ipoff, iplen, len;
	int				 v6;

	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	for (v6 = 0; v6 <= 1; v6++) {
		memset(&p, 0, sizeof p);
		p.v6 = v6;
		p.src = v6 ? "::1" : "127.0.0.1";
		p.dst = v6 ? "::2" : "127.0.0.2";
		p.sport = 1234;
		p.dport = 80;
		p.flags = F_ACK;
		p.data = "fragment";
		p.len = 8;
		p.frag = 1;
		is_int(feed_link(r, L_ETH, &p), 0,
		    "IPv%d fragment: skipped", v6 ? 6 : 4);
		p.ipopts = 1;
		is_int(feed_link(r, L_ETH, &p), 0,
		    "IPv%d fragment after options: skipped", v6 ? 6 : 4);
	}
	/* UDP: change the protocol byte of an IPv4 frame. */
	memset(&p, 0, sizeof p);
	p.src = "10.1.1.1";
	p.dst = "10.1.1.2";
	p.sport = 53;
	p.dport = 53;
	p.data = "udpudpudp";
	p.len = 9;
	len = build(frame, L_ETH, &p, &ipoff, &iplen);
	frame[ipoff + 9] = 17;
	is_int(tcpreasm_packet(r, DLT_EN10MB, &clk, frame, len), 0,
	    "UDP: skipped");
	/* ARP */
	put16(frame + 12, 0x0806);
	is_int(tcpreasm_packet(r, DLT_EN10MB, &clk, frame, len), 0,
	    "ARP: skipped");
	/* an unknown NULL family */
	frame[0] = 17;
	frame[1] = frame[2] = frame[3] = 0;
	is_int(tcpreasm_packet(r, DLT_NULL, &clk, frame, 40), 0,
	    "NULL family 17: skipped");
	is_int(tcpreasm_packet(r, DLT_PPP, &clk, frame, 40), 0,
	    "a link type not decoded: skipped");
	st = tcpreasm_stats(r);
	is_int(st->fragments, 4, "4 fragments counted");
	is_int(st->not_tcp, 4, "UDP, ARP, NULL 17, PPP not TCP");
	is_int(st->bad, 0, "none bad");
	is_int(st->connections, 0, "no connection");
	is_int(st->packets, 8, "8 packets");
	tcpreasm_free(r);
	is_int(c.n, 0, "no callbacks");
	coll_free(&c);
}

/*
 * Every prefix of a valid frame is refused as bad (the IP length says
 * more), except where only Ethernet padding is cut.
 */
static void
test_truncated(void)
{
	struct tcpreasm	*r;
	struct coll	 c;
	struct pk	 p;
	size_t		 ipoff, iplen, len, cut, wrong;
	uint8_t		*copy;
	int		 l, v6, opts, rv;

	for (l = 0; l < L_MAX; l++) {
		for (v6 = 0; v6 <= 1; v6++) {
			for (opts = 0; opts <= 1; opts++) {
				coll_init(&c);
				r = tcpreasm_new(&coll_cbs, &c, 0, 0);
				memset(&p, 0, sizeof p);
				p.v6 = v6;
				p.src = v6 ? "2001:db8::a" : "10.9.9.9";
				p.dst = v6 ? "2001:db8::b" : "10.9.9.8";
				p.sport = 999;
				p.dport = 80;
				p.seq = 1;
				p.flags = F_ACK;
				p.data = "x";
				p.len = 1;
				p.ipopts = opts;
				len = build(frame, (enum link)l, &p, &ipoff,
				    &iplen);
				wrong = 0;
				for (cut = 0; cut < len; cut++) {
					/* A copy of exactly cut bytes for ASan. */
					copy = xmalloc(cut);
					memcpy(copy, frame, cut);
					rv = tcpreasm_packet(r,
					    link_dlt((enum link)l, v6), &clk,
					    copy, cut);
					free(copy);
					if (cut < ipoff + iplen ? rv != -1 :
					    rv != 1)
						wrong++;
				}
				is_int(wrong, 0, "%s IPv%d%s: each of %zu "
				    "prefixes is bad", link_names[l],
				    v6 ? 6 : 4, opts ? " options" : "",
				    ipoff + iplen);
				is_int(tcpreasm_stats(r)->bad, ipoff + iplen,
				    "... and counted");
				tcpreasm_free(r);
				is_str(coll_str(&c, 0, 0), len > ipoff + iplen ?
				    "x" : "(none)", "... and nothing delivered "
				    "but the whole payload");
				coll_free(&c);
			}
		}
	}
}

/* Random bytes of random lengths, and valid frames with bytes changed. */
static void
test_garbage(void)
{
	static const int	 dlts[] = {
		DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
		DLT_IPV4, DLT_IPV6, DLT_NULL, DLT_LOOP
	};
	struct tcpreasm		*r;
	struct coll		 c;
	struct pk		 p;
	size_t			 i, j, len, ipoff, iplen, n;
	uint8_t			*b;
	char			 payload[300];
	int			 l;

	coll_init(&c);
	c.count_only = 1;
	r = tcpreasm_new(&coll_cbs, &c, 16384, 65536);
	for (i = 0; i < 200000; i++) {
		len = rnd() % 200;
		b = xmalloc(len);
		for (j = 0; j < len; j++)
			b[j] = rnd() & 0xff;
		/* Make it IP often, so the TCP code sees garbage too. */
		if (len > 0 && (i & 1))
			b[0] = (i & 2) ? 0x45 : 0x60;
		tcpreasm_packet(r, dlts[i % (sizeof dlts / sizeof dlts[0])],
		    &clk, b, len);
		free(b);
	}
	memset(payload, 'p', sizeof payload);
	for (i = 0; i < 200000; i++) {
		memset(&p, 0, sizeof p);
		l = (int)(rnd() % L_MAX);
		p.v6 = rnd() & 1;
		p.src = p.v6 ? "2001:db8::1" : "10.0.0.1";
		p.dst = p.v6 ? "2001:db8::2" : "10.0.0.2";
		p.sport = 1000 + rnd() % 4;
		p.dport = 80;
		p.seq = rnd() % 4 == 0 ? rnd() : rnd() % 3000;
		p.ack = rnd();
		p.flags = rnd() & 0x1f;
		p.data = payload;
		p.len = rnd() % sizeof payload;
		p.ipopts = rnd() % 4 == 0;
		len = build(frame, (enum link)l, &p, &ipoff, &iplen);
		n = 1 + rnd() % 3;
		for (j = 0; j < n; j++)
			frame[rnd() % (ipoff + 60)] = rnd() & 0xff;
		b = xmalloc(len);
		memcpy(b, frame, len);
		tcpreasm_packet(r, link_dlt((enum link)l, p.v6), &clk, b,
		    len - (rnd() % 8 == 0 ? rnd() % len : 0));
		free(b);
		if (i % 10000 == 0)
			tcpreasm_expire(r, &clk, 0);
	}
	ok(tcpreasm_stats(r)->held_peak <= 65536,
	    "garbage: held at most the total limit (%llu)",
	    (unsigned long long)tcpreasm_stats(r)->held_peak);
	ok(tcpreasm_stats(r)->bad > 0 && tcpreasm_stats(r)->connections > 0,
	    "garbage: %llu bad, %llu connections, no crash",
	    (unsigned long long)tcpreasm_stats(r)->bad,
	    (unsigned long long)tcpreasm_stats(r)->connections);
	tcpreasm_finish(r);
	is_int(tcpreasm_stats(r)->held, 0, "garbage: nothing held at the end");
	for (i = 0, n = 0; i < c.n; i++)
		n += c.recs[i].closes != 1;
	is_int(n, 0, "garbage: every connection closed once");
	is_int(c.errors, 0, "garbage: callbacks in contract");
	tcpreasm_free(r);
	coll_free(&c);
}

/* A message of n bytes, different at each offset. */
static char *
message(size_t n, unsigned salt)
{
	char	*m = xmalloc(n + 1);
	size_t	 i;

	for (i = 0; i < n; i++)
		m[i] = 'A' + (char)((i * 7 + salt) % 26);
	m[n] = '\0';
	return (m);
}

struct range {
	size_t	 off;
	size_t	 len;
};

/* Shuffle ranges. */
static void
shuffle(struct range *rg, size_t n)
{
	struct range	 t;
	size_t		 i, j;

	for (i = n; i > 1; i--) {
		j = rnd() % i;
		t = rg[i - 1];
		rg[i - 1] = rg[j];
		rg[j] = t;
	}
}

/*
 * Out of order, duplicated and overlapping segments: whatever order,
 * the stream comes out whole, once, and with no gap.
 */
static void
test_shuffled(void)
{
	struct tcpreasm			*r;
	struct coll			 c;
	struct range			 rg[400];
	const struct tcpreasm_stats	*st;
	char				*m;
	size_t				 n, i, off, len, size = 20000;
	int				 round, bad = 0, kind;
	const char			*kinds[] = { "shuffled",
	    "shuffled with duplicates", "shuffled random overlaps" };

	m = message(size, 3);
	for (kind = 0; kind < 3; kind++) {
		bad = 0;
		for (round = 0; round < 50; round++) {
			n = 0;
			if (kind < 2) {
				for (off = 0; off < size; off += len) {
					len = 1 + rnd() % 1400;
					if (len > size - off)
						len = size - off;
					rg[n].off = off;
					rg[n++].len = len;
					if (kind == 1 && rnd() % 3 == 0) {
						rg[n] = rg[n - 1];
						n++;
					}
				}
			} else {
				/* Random ranges, then a cover of the holes. */
				for (i = 0; i < 100; i++) {
					rg[n].off = rnd() % size;
					rg[n].len = 1 + rnd() % 1400;
					if (rg[n].len > size - rg[n].off)
						rg[n].len = size - rg[n].off;
					n++;
				}
				for (off = 0; off < size; off += 1000) {
					rg[n].off = off;
					rg[n++].len = 1000;
				}
			}
			shuffle(rg, n);
			coll_init(&c);
			r = tcpreasm_new(&coll_cbs, &c, 0, 0);
			handshake(r, &flow4);
			for (i = 0; i < n; i++)
				send_at(r, &flow4, 0, F_ACK, rg[i].off,
				    m + rg[i].off, rg[i].len);
			send_at(r, &flow4, 0, F_ACK | F_FIN, size, NULL, 0);
			send_at(r, &flow4, 1, F_ACK | F_FIN, 0, NULL, 0);
			st = tcpreasm_stats(r);
			if (strcmp(coll_str(&c, 0, 0), m) != 0 ||
			    c.n != 1 || c.recs[0].closes != 1 ||
			    c.recs[0].how != TCP_CLOSE_FIN || st->gaps != 0 ||
			    st->held != 0 || c.errors != 0)
				bad++;
			if (kind == 1 && round == 0)
				ok(st->retransmits > 0 && st->out_of_order > 0,
				    "duplicates counted as retransmits (%llu), "
				    "out of order (%llu)",
				    (unsigned long long)st->retransmits,
				    (unsigned long long)st->out_of_order);
			if (kind == 2 && round == 0)
				ok(st->overlaps > 0, "overlaps counted (%llu)",
				    (unsigned long long)st->overlaps);
			tcpreasm_free(r);
			coll_free(&c);
		}
		is_int(bad, 0, "%s: 50 rounds of 20000 bytes come out whole, "
		    "closed by FIN", kinds[kind]);
	}
	free(m);
}

/* Overlaps of particular shapes. */
static void
test_overlaps(void)
{
	static const struct {
		const char	*name;
		struct range	 segs[6];
		const char	*log;
	} cases[] = {
		{ "in order, then overlapping the end",
		  { { 0, 10 }, { 5, 10 }, { 15, 5 } },
		  "d1c10 d1c5 d1c5" },
		{ "held, then a longer one over it",
		  { { 10, 5 }, { 8, 12 }, { 0, 8 } },
		  "d1c8 d1c2 d1c5 d1c5" },
		{ "held, then one inside it",
		  { { 10, 10 }, { 12, 3 }, { 0, 10 } },
		  "d1c10 d1c10" },
		{ "two held with a hole, one spanning both",
		  { { 5, 3 }, { 12, 3 }, { 4, 16 }, { 0, 4 } },
		  "d1c4 d1c1 d1c3 d1c4 d1c3 d1c5" },
		{ "in order segment covering held ones",
		  { { 5, 2 }, { 9, 2 }, { 0, 20 } },
		  "d1c20" },
		{ "in order segment ending inside a held one",
		  { { 10, 10 }, { 0, 15 } },
		  "d1c15 d1c5" },
		{ "old and new in one segment",
		  { { 0, 10 }, { 0, 20 } },
		  "d1c10 d1c10" },
	};
	struct tcpreasm	*r;
	struct coll	 c;
	char		*m, want[128];
	size_t		 i, j;

	m = message(20, 0);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		coll_init(&c);
		r = tcpreasm_new(&coll_cbs, &c, 0, 0);
		send_at(r, &flow4, 0, F_SYN, 0, NULL, 0);
		for (j = 0; j < 6 && cases[i].segs[j].len != 0; j++)
			send_at(r, &flow4, 0, F_ACK, cases[i].segs[j].off,
			    m + cases[i].segs[j].off, cases[i].segs[j].len);
		tcpreasm_finish(r);
		snprintf(want, sizeof want, "o1 %s c1:4", cases[i].log);
		is_str(coll_log(&c), want, "%s: events", cases[i].name);
		is_str(coll_str(&c, 0, 0), m, "%s: bytes once, in order",
		    cases[i].name);
		tcpreasm_free(r);
		coll_free(&c);
	}
	free(m);
}

/* Connections whose SYN was not captured. */
static void
test_no_syn(void)
{
	struct tcpreasm	*r;
	struct coll	 c;
	struct flow	 f = flow4;
	uint16_t	 ports[] = { 9999, 8080 };

	/* The server speaks first; the lower port is the server. */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	f.cisn = 0x10000;
	f.sisn = 0x7fffff00;
	send_at(r, &f, 1, F_ACK, 100, "response", 8);
	send_at(r, &f, 0, F_ACK, 50, "request", 7);
	send_at(r, &f, 1, F_ACK, 108, "-more", 5);
	send_at(r, &f, 0, F_ACK, 40, "old", 3);
	tcpreasm_finish(r);
	is_str(coll_log(&c), "o1 d1s8 d1c7 d1s5 c1:4",
	    "no SYN: streams start at the first byte seen");
	is_str(coll_str(&c, 0, 0), "request", "no SYN: client bytes");
	is_str(coll_str(&c, 0, 1), "response-more", "no SYN: server bytes");
	ok(c.recs[0].server.port == 80 && c.recs[0].client.port == 40000,
	    "no SYN: the lower port (80) is the server");
	is_int(tcpreasm_stats(r)->no_syn, 1, "no SYN: counted");
	is_int((int)c.midstream, 1, "no SYN: the connection says so");
	is_int(tcpreasm_stats(r)->retransmits, 1,
	    "no SYN: bytes before the start are old");
	tcpreasm_free(r);
	coll_free(&c);

	/* A server port given: 8080 is the server, though 1024 is lower. */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	tcpreasm_ports(r, ports, 2);
	f.cport = 1024;
	f.sport = 8080;
	send_at(r, &f, 0, F_ACK, 0, "q", 1);
	send_at(r, &f, 1, F_ACK, 0, "a", 1);
	tcpreasm_finish(r);
	ok(c.n == 1 && c.recs[0].server.port == 8080 &&
	    c.recs[0].client.port == 1024,
	    "no SYN: a server port given decides the direction");
	is_str(coll_str(&c, 0, 0), "q", "... client bytes");
	tcpreasm_free(r);
	coll_free(&c);

	/* The first packet from the client side, to the server port. */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	tcpreasm_ports(r, ports, 2);
	f.cport = 65000;
	f.sport = 9999;
	send_at(r, &f, 1, F_ACK, 0, "a", 1);
	tcpreasm_finish(r);
	ok(c.n == 1 && c.recs[0].server.port == 9999,
	    "no SYN: server port found when the server speaks first");
	tcpreasm_free(r);
	coll_free(&c);

	/* A keep-alive probe first: the stream starts at the data. */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	send_at(r, &flow4, 0, F_ACK, 0, "x", 1);
	send_at(r, &flow4, 1, F_ACK, 99, NULL, 0);
	send_at(r, &flow4, 1, F_ACK, 100, "pong", 4);
	tcpreasm_finish(r);
	is_str(coll_str(&c, 0, 1), "pong",
	    "no SYN: a bare ACK does not start a stream");
	is_int(tcpreasm_stats(r)->gaps, 0, "... no gap");
	tcpreasm_free(r);
	coll_free(&c);

	/* ACK-only and FIN-only packets start nothing. */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	send_at(r, &flow4, 0, F_ACK, 0, NULL, 0);
	send_at(r, &flow4, 1, F_ACK | F_FIN, 0, NULL, 0);
	send_at(r, &flow4, 0, F_RST, 0, NULL, 0);
	is_int(tcpreasm_stats(r)->connections, 0,
	    "ACK, FIN, RST of unknown connections start none");
	tcpreasm_free(r);
	is_int(c.n, 0, "... no callbacks");
	coll_free(&c);

	/* A SYN-ACK without the SYN: its ACK gives the client's start. */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	send_at(r, &flow4, 1, F_SYN | F_ACK, 0, NULL, 0);
	send_at(r, &flow4, 0, F_ACK, 3, "def", 3);
	send_at(r, &flow4, 0, F_ACK, 0, "abc", 3);
	tcpreasm_finish(r);
	is_str(coll_str(&c, 0, 0), "abcdef",
	    "SYN-ACK only: the client stream starts at its ACK");
	ok(c.n == 1 && c.recs[0].client.port == 40000,
	    "SYN-ACK only: its receiver is the client");
	is_int(tcpreasm_stats(r)->no_syn, 1, "SYN-ACK only: no SYN counted");
	tcpreasm_free(r);
	coll_free(&c);
}

/* Sequence numbers wrap past 2^32. */
static void
test_wrap(void)
{
	struct tcpreasm	*r;
	struct coll	 c;
	struct flow	 f = flow4;
	struct range	 rg[10];
	char		*m;
	size_t		 i;

	m = message(100, 5);
	f.cisn = 0xffffffc0;	/* data from 0xffffffc1, wraps at byte 63 */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	handshake(r, &f);
	for (i = 0; i < 10; i++) {
		rg[i].off = i * 10;
		rg[i].len = 10;
	}
	shuffle(rg, 10);
	for (i = 0; i < 10; i++)
		send_at(r, &f, 0, F_ACK, rg[i].off, m + rg[i].off, 10);
	send_at(r, &f, 0, F_ACK, 55, m + 55, 20);
	tcpreasm_finish(r);
	is_str(coll_str(&c, 0, 0), m,
	    "shuffled segments across the wrap come out whole");
	is_int(tcpreasm_stats(r)->gaps, 0, "... no gap");
	tcpreasm_free(r);
	coll_free(&c);

	/* The SYN itself at 0xffffffff: data starts at sequence 0. */
	f.cisn = 0xffffffff;
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	handshake(r, &f);
	send_at(r, &f, 0, F_ACK, 0, "zero", 4);
	tcpreasm_finish(r);
	is_str(coll_str(&c, 0, 0), "zero", "SYN at 2^32-1: data at 0");
	tcpreasm_free(r);
	coll_free(&c);
	free(m);
}

/* A stream of more than 4 GiB: offsets are 64-bit. */
static void
test_long_stream(void)
{
	struct tcpreasm	*r;
	struct coll	 c;
	struct flow	 f = flow4;
	uint8_t		*seg;
	uint64_t	 off, total = 4500000000ULL;
	size_t		 len, step = 60000;

	seg = xmalloc(step);
	memset(seg, 'x', step);
	coll_init(&c);
	c.count_only = 1;
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	f.l = L_RAW;
	f.cisn = 0x12345678;
	handshake(r, &f);
	/* Every 100th pair of segments arrives swapped. */
	for (off = 0; off < total; off += len) {
		len = total - off < step ? (size_t)(total - off) : step;
		if ((off / step) % 100 == 0 && total - off > 2 * step) {
			send_at(r, &f, 0, F_ACK, off + step, seg, step);
			send_at(r, &f, 0, F_ACK, off, seg, step);
			len = 2 * step;
			continue;
		}
		send_at(r, &f, 0, F_ACK, off, seg, len);
	}
	send_at(r, &f, 0, F_ACK, total - 1000, seg, 1000);
	send_at(r, &f, 1, F_ACK | F_FIN, 0, NULL, 0);
	send_at(r, &f, 0, F_ACK | F_FIN, total, NULL, 0);
	is_int(c.n == 1 ? c.recs[0].bytes[0] : 0, total,
	    "4.5 GB stream: every byte delivered");
	is_int(tcpreasm_stats(r)->gaps, 0, "4.5 GB stream: no gap");
	is_int(c.n == 1 ? c.recs[0].how : -1, TCP_CLOSE_FIN,
	    "4.5 GB stream: closed by the FINs at its end");
	ok(tcpreasm_stats(r)->held_peak <= step + 256,
	    "4.5 GB stream: held at most one segment (%llu)",
	    (unsigned long long)tcpreasm_stats(r)->held_peak);
	tcpreasm_free(r);
	coll_free(&c);
	free(seg);
}

/* FIN and RST. */
static void
test_close(void)
{
	struct tcpreasm	*r;
	struct coll	 c;
	struct flow	 f;

	/* The client half-closes; the server answers, then closes. */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	handshake(r, &flow4);
	send_at(r, &flow4, 0, F_ACK | F_FIN, 0, "req", 3);
	send_at(r, &flow4, 1, F_ACK, 0, "resp", 4);
	send_at(r, &flow4, 1, F_ACK | F_FIN, 4, "onse", 4);
	send_at(r, &flow4, 0, F_ACK, 4, NULL, 0);
	is_str(coll_log(&c), "o1 d1c3 d1s4 d1s4 c1:0",
	    "client half-close: the response still comes, then FIN");
	tcpreasm_free(r);
	coll_free(&c);

	/* The server closes first: closed at once, the client's FIN late. */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	handshake(r, &flow4);
	send_at(r, &flow4, 0, F_ACK, 0, "req", 3);
	send_at(r, &flow4, 1, F_ACK | F_FIN, 0, "resp", 4);
	is_str(coll_log(&c), "o1 d1c3 d1s4 c1:0",
	    "server FIN with nothing pending closes the connection");
	send_at(r, &flow4, 0, F_ACK | F_FIN, 3, NULL, 0);
	is_int(tcpreasm_stats(r)->connections, 1, "... the late FIN is no "
	    "new connection");
	tcpreasm_free(r);
	coll_free(&c);

	/* The FIN arrives before the data before it. */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	handshake(r, &flow4);
	send_at(r, &flow4, 0, F_ACK | F_FIN, 0, NULL, 0);
	send_at(r, &flow4, 1, F_ACK | F_FIN, 5, "world", 5);
	send_at(r, &flow4, 1, F_ACK, 0, "hello", 5);
	is_str(coll_log(&c), "o1 d1s5 d1s5 c1:0",
	    "a FIN ahead of a hole waits for it");
	is_str(coll_str(&c, 0, 1), "helloworld", "... bytes");
	tcpreasm_free(r);
	coll_free(&c);

	/* Bytes after the FIN are not data. */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	handshake(r, &flow4);
	send_at(r, &flow4, 0, F_ACK, 4, "tail", 4);
	send_at(r, &flow4, 0, F_ACK | F_FIN, 0, "ab", 2);
	send_at(r, &flow4, 0, F_ACK, 2, "cdef", 4);
	tcpreasm_finish(r);
	is_str(coll_str(&c, 0, 0), "ab", "nothing after the FIN");
	tcpreasm_free(r);
	coll_free(&c);

	/* A FIN with a hole before it that never fills: a gap. */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	handshake(r, &flow4);
	send_at(r, &flow4, 1, F_ACK, 0, "ab", 2);
	send_at(r, &flow4, 1, F_ACK | F_FIN, 5, "fg", 2);
	tcpreasm_finish(r);
	is_str(coll_str(&c, 0, 1), "ab<gap 3>fg", "an unfilled hole before "
	    "a FIN is a gap");
	is_str(coll_log(&c), "o1 d1s2 g1s3 d1s2 c1:4", "... events");
	tcpreasm_free(r);
	coll_free(&c);

	/* A hole the other end acknowledged is given up at once. */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	handshake(r, &flow4);
	send_at(r, &flow4, 1, F_ACK, 0, "ab", 2);
	send_at(r, &flow4, 1, F_ACK, 5, "fg", 2);
	send_acking(r, &flow4, 0, 0, 4, NULL, 0);
	is_str(coll_str(&c, 0, 1), "ab", "an ACK inside a hole: still held");
	send_acking(r, &flow4, 0, 0, 5, NULL, 0);
	is_str(coll_str(&c, 0, 1), "ab<gap 3>fg", "an ACK past a hole: "
	    "given up at once, the held bytes delivered");
	is_int(tcpreasm_stats(r)->gaps, 1, "... one gap");
	tcpreasm_free(r);
	coll_free(&c);

	/* Held bytes past a FIN seen later are dropped, no gap past it. */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	handshake(r, &flow4);
	send_at(r, &flow4, 1, F_ACK, 10, "beyond", 6);
	send_at(r, &flow4, 1, F_ACK | F_FIN, 3, "de", 2);
	tcpreasm_finish(r);
	is_str(coll_str(&c, 0, 1), "<gap 3>de", "the stream ends at its FIN");
	is_int(tcpreasm_stats(r)->held, 0, "... nothing held");
	tcpreasm_free(r);
	coll_free(&c);

	/* RST: in-order data delivered, held data after a gap. */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	handshake(r, &flow4);
	send_at(r, &flow4, 0, F_ACK, 0, "abc", 3);
	send_at(r, &flow4, 0, F_ACK, 5, "fg", 2);
	send_at(r, &flow4, 1, F_RST | F_ACK, 0, NULL, 0);
	send_at(r, &flow4, 0, F_ACK, 3, "de", 2);
	is_str(coll_log(&c), "o1 d1c3 g1c2 d1c2 c1:1",
	    "RST closes after what is held; data in flight is dropped");
	is_int(tcpreasm_stats(r)->late, 1, "... and counted late");
	tcpreasm_finish(r);
	tcpreasm_free(r);
	coll_free(&c);

	/*
	 * A retransmission after the close is no new connection, until the
	 * closed one is long gone.
	 */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	handshake(r, &flow4);
	send_at(r, &flow4, 0, F_ACK, 0, "req", 3);
	send_at(r, &flow4, 1, F_ACK | F_FIN, 0, "resp", 4);
	send_at(r, &flow4, 1, F_ACK | F_FIN, 0, "resp", 4);
	send_at(r, &flow4, 0, F_ACK, 3, "more", 4);
	is_str(coll_log(&c), "o1 d1c3 d1s4 c1:0",
	    "after a FIN close: a retransmission and late data dropped");
	is_int(tcpreasm_stats(r)->late, 2, "... and counted late");
	clk.tv_sec += 61;
	send_at(r, &flow4, 0, F_ACK, 7, "new", 3);
	tcpreasm_finish(r);
	is_str(coll_log(&c), "o1 d1c3 d1s4 c1:0 o2 d2c3 c2:4",
	    "a minute later the 4-tuple is a new connection");
	is_int(tcpreasm_stats(r)->no_syn, 1, "... without a SYN");
	tcpreasm_free(r);
	coll_free(&c);

	/* Data far from where the closed one ended: a new connection. */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	f = flow4;
	handshake(r, &f);
	send_at(r, &f, 0, F_ACK, 0, "req", 3);
	send_at(r, &f, 1, F_ACK | F_FIN, 0, "resp", 4);
	f.cisn += 0x40000000;
	send_at(r, &f, 0, F_ACK, 0, "next", 4);
	tcpreasm_finish(r);
	is_str(coll_log(&c), "o1 d1c3 d1s4 c1:0 o2 d2c4 c2:4",
	    "after a close, data of another sequence space is a new "
	    "connection (its SYN not captured)");
	is_int(tcpreasm_stats(r)->late, 0, "... nothing late");
	tcpreasm_free(r);
	coll_free(&c);
}

/* SYNs: retransmits, data on the SYN, port reuse. */
static void
test_syn(void)
{
	struct tcpreasm			*r;
	struct coll			 c;
	struct flow			 f = flow4;
	const struct tcpreasm_stats	*st;

	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	send_at(r, &f, 0, F_SYN, 0, NULL, 0);
	send_at(r, &f, 0, F_SYN, 0, NULL, 0);
	send_at(r, &f, 1, F_SYN | F_ACK, 0, NULL, 0);
	send_at(r, &f, 1, F_SYN | F_ACK, 0, NULL, 0);
	send_at(r, &f, 0, F_ACK, 0, "a", 1);
	st = tcpreasm_stats(r);
	is_int(st->connections, 1, "SYN and SYN-ACK retransmits: one "
	    "connection");
	is_int(st->no_syn, 0, "... with its SYN");

	/* Port reuse after both FINs. */
	send_at(r, &f, 0, F_ACK | F_FIN, 1, NULL, 0);
	send_at(r, &f, 1, F_ACK | F_FIN, 0, NULL, 0);
	f.cisn = 900000;
	f.sisn = 12345;
	send_at(r, &f, 0, F_SYN, 0, "syndata", 7);
	send_at(r, &f, 1, F_SYN | F_ACK, 0, NULL, 0);
	send_at(r, &f, 0, F_ACK, 7, "+more", 5);

	/* Port reuse without the close seen: a SYN with another ISN. */
	f.cisn = 5;
	f.sisn = 6;
	send_at(r, &f, 0, F_SYN, 0, NULL, 0);
	send_at(r, &f, 0, F_ACK, 0, "third", 5);
	tcpreasm_finish(r);
	is_str(coll_log(&c), "o1 d1c1 c1:0 o2 d2c7 d2c5 c2:4 o3 d3c5 c3:4",
	    "port reuse: a new SYN is a new connection");
	is_str(coll_str(&c, 1, 0), "syndata+more", "data on a SYN");
	is_int(st->connections, 3, "three connections");
	tcpreasm_free(r);
	coll_free(&c);
}

/* Keep-alive and zero-window probes, pure ACKs. */
static void
test_probes(void)
{
	struct tcpreasm	*r;
	struct coll	 c;

	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	handshake(r, &flow4);
	send_at(r, &flow4, 0, F_ACK, 0, "hello", 5);
	send_at(r, &flow4, 0, F_ACK, 4, "o", 1);	/* keep-alive */
	send_at(r, &flow4, 0, F_ACK, 4, NULL, 0);	/* keep-alive */
	send_at(r, &flow4, 1, F_ACK, 0, NULL, 0);
	send_at(r, &flow4, 0, F_ACK, 5, " ", 1);	/* zero-window probe */
	send_at(r, &flow4, 0, F_ACK, 5, " world", 6);
	send_at(r, &flow4, 0, F_ACK, 5, " ", 1);
	tcpreasm_finish(r);
	is_str(coll_str(&c, 0, 0), "hello world",
	    "probes: each byte once");
	is_int(tcpreasm_stats(r)->retransmits, 2, "probes: 2 old segments");
	is_int(tcpreasm_stats(r)->overlaps, 1, "probes: 1 overlap");
	tcpreasm_free(r);
	coll_free(&c);
}

/* Many concurrent streams, interleaved packet by packet. */
static void
test_concurrent(void)
{
	struct tcpreasm	*r;
	struct coll	 c;
	struct flow	*fl;
	char		*m, addr[32];
	size_t		 i, k, n = 1000, size = 3000, seg = 500, wrong = 0;
	char		 (*addrs)[32];

	fl = xcalloc(n, sizeof *fl);
	addrs = xcalloc(n, sizeof *addrs);
	m = message(size + n, 0);
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	for (i = 0; i < n; i++) {
		fl[i] = flow4;
		snprintf(addrs[i], sizeof addrs[i], "10.1.%zu.%zu", i / 250,
		    i % 250 + 1);
		fl[i].caddr = addrs[i];
		fl[i].cport = (uint16_t)(20000 + i % 7);
		fl[i].cisn = rnd();
		fl[i].sisn = rnd();
		handshake(r, &fl[i]);
	}
	/* Segment k of every stream, in reverse for odd k. */
	for (k = 0; k < size / seg; k++) {
		for (i = 0; i < n; i++) {
			send_at(r, &fl[i], 0, F_ACK, k * seg, m + i + k * seg,
			    seg);
			send_at(r, &fl[n - 1 - i], 1, F_ACK,
			    (k ^ 1) * seg, m + (n - 1 - i) + (k ^ 1) * seg,
			    seg);
		}
	}
	for (i = 0; i < n; i++) {
		send_at(r, &fl[i], 0, F_ACK | F_FIN, size, NULL, 0);
		send_at(r, &fl[i], 1, F_ACK | F_FIN, size, NULL, 0);
	}
	for (i = 0; i < c.n; i++) {
		k = c.recs[i].id - 1;
		inet_ntop(AF_INET, c.recs[i].client.addr, addr, sizeof addr);
		if (k >= n || strcmp(addr, addrs[k]) != 0 ||
		    c.recs[i].closes != 1 || c.recs[i].how != TCP_CLOSE_FIN ||
		    c.recs[i].dir[0].len != size ||
		    memcmp(c.recs[i].dir[0].data, m + k, size) != 0 ||
		    c.recs[i].dir[1].len != size ||
		    memcmp(c.recs[i].dir[1].data, m + k, size) != 0)
			wrong++;
	}
	is_int(c.n, n, "1000 streams: 1000 connections");
	is_int(wrong, 0, "1000 streams: each one's bytes, closed by FIN");
	is_int(tcpreasm_stats(r)->held, 0, "1000 streams: nothing held");
	is_int(c.errors, 0, "1000 streams: callbacks in contract");
	tcpreasm_free(r);
	coll_free(&c);
	free(m);
	free(fl);
	free(addrs);
}

/* The per-stream and the total limit. */
static void
test_limits(void)
{
	struct tcpreasm			*r;
	struct coll			 c;
	struct flow			 fl[20];
	char				 addrs[20][32];
	char				*m;
	const struct tcpreasm_stats	*st;
	size_t				 i, k, wrong;

	/* Per stream 4096: 1000-byte segments after a hole of 10. */
	m = message(20000, 1);
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 4096, 1 << 20);
	handshake(r, &flow4);
	for (k = 0; k < 10; k++)
		send_at(r, &flow4, 0, F_ACK, 10 + k * 1000, m + 10 + k * 1000,
		    1000);
	st = tcpreasm_stats(r);
	ok(st->held_peak <= 4096, "per-stream limit: held at most 4096 "
	    "(%llu)", (unsigned long long)st->held_peak);
	is_int(st->cut, 1, "per-stream limit: the connection counted in "
	    "cut once");
	is_int(st->gaps, 1, "per-stream limit: one gap");
	is_int(st->gap_bytes, 10, "per-stream limit: the 10 missing bytes");
	tcpreasm_finish(r);
	ok(c.recs[0].dir[0].len == 8 + 10000 &&
	    memcmp(coll_str(&c, 0, 0), "<gap 10>", 8) == 0 &&
	    memcmp(coll_str(&c, 0, 0) + 8, m + 10, 10000) == 0,
	    "per-stream limit: a gap, then every byte after it in order");
	is_int(st->held, 0, "per-stream limit: nothing held at the end");
	tcpreasm_free(r);
	coll_free(&c);

	/* A segment larger than the limit goes through after its gap. */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 500, 1 << 20);
	handshake(r, &flow4);
	send_at(r, &flow4, 0, F_ACK, 100, m + 100, 1000);
	send_at(r, &flow4, 0, F_ACK, 0, m, 1100);
	is_str(coll_log(&c), "o1 g1c100 d1c1000",
	    "a segment over the limit: gap, then its bytes");
	tcpreasm_free(r);
	coll_free(&c);

	/* Total 20000 over 20 streams each holding 2000. */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 4096, 20000);
	for (i = 0; i < 20; i++) {
		fl[i] = flow4;
		snprintf(addrs[i], sizeof addrs[i], "10.2.0.%zu", i + 1);
		fl[i].caddr = addrs[i];
		handshake(r, &fl[i]);
	}
	for (k = 0; k < 2; k++)
		for (i = 0; i < 20; i++)
			send_at(r, &fl[i], 0, F_ACK, 1 + k * 1000,
			    m + 1 + k * 1000, 1000);
	st = tcpreasm_stats(r);
	ok(st->held_peak <= 20000, "total limit: held at most 20000 (%llu)",
	    (unsigned long long)st->held_peak);
	ok(st->cut > 0 && st->gaps == st->cut,
	    "total limit: %llu streams cut, each with a gap",
	    (unsigned long long)st->cut);
	/* The holes fill: the rest are delivered whole. */
	for (i = 0; i < 20; i++)
		send_at(r, &fl[i], 0, F_ACK, 0, m, 1);
	for (i = 0, wrong = 0; i < 20; i++) {
		if (c.recs[i].bytes[0] != 2001 ||
		    (c.recs[i].dir[0].data[0] != '<' &&
		    memcmp(c.recs[i].dir[0].data, m, 2001) != 0))
			wrong++;
	}
	is_int(wrong, 0, "total limit: every stream whole or gap + rest");
	is_int(st->held, 0, "total limit: nothing held after");
	tcpreasm_free(r);
	coll_free(&c);
	free(m);
}

/*
 * 1-byte segments that each go far down the held list: their number is
 * bounded, so this is quick, and every byte is delivered or a gap.
 */
static void
test_many_segments(void)
{
	struct tcpreasm			*r;
	struct coll			 c;
	const struct tcpreasm_stats	*st;
	size_t				 i, n = 100000;

	coll_init(&c);
	c.count_only = 1;
	r = tcpreasm_new(&coll_cbs, &c, 1 << 30, 1 << 30);
	send_at(r, &flow4, 0, F_SYN, 0, NULL, 0);
	for (i = 1; i <= n; i++)
		send_at(r, &flow4, 0, F_ACK, 2 * i, "e", 1);
	for (i = 1; i <= n; i++)
		send_at(r, &flow4, 0, F_ACK, 2 * i + 1, "o", 1);
	send_at(r, &flow4, 0, F_ACK, 0, "ab", 2);
	tcpreasm_finish(r);
	st = tcpreasm_stats(r);
	ok(st->held_peak <= 8192 * 64, "100,000 1-byte segments: at most "
	    "8192 held (%llu bytes)", (unsigned long long)st->held_peak);
	is_int(c.recs[0].bytes[0], 2 * n + 2,
	    "... every byte delivered or in a gap");
	ok(st->cut == 1 && st->gaps > 0, "... cut, %llu gaps",
	    (unsigned long long)st->gaps);
	tcpreasm_free(r);
	coll_free(&c);
}

/*
 * Times near the least time_t (a packet's time stamp is whatever its file
 * says): "600 s before now" must not wrap to the far future, which would
 * close every connection as idle (and is undefined behaviour).
 */
static void
test_expire_least_time(void)
{
	struct tcpreasm	*r;
	struct coll	 c;
	struct timeval	 saved = clk, now;

	clk.tv_sec = sizeof (time_t) == sizeof (int64_t) ?
	    (time_t)INT64_MIN : (time_t)INT32_MIN;
	clk.tv_usec = 0;
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	handshake(r, &flow4);
	send_at(r, &flow4, 0, F_ACK, 0, "abc", 3);
	now = clk;
	tcpreasm_expire(r, &now, 600);
	is_str(coll_log(&c), "o1 d1c3",
	    "least time: a connection idle for 4 ms is not expired by 600 s");
	tcpreasm_finish(r);
	is_str(coll_log(&c), "o1 d1c3 c1:4",
	    "least time: it closes at the end of the input");
	tcpreasm_free(r);
	coll_free(&c);
	clk = saved;
}

/* tcpreasm_expire and tcpreasm_finish. */
static void
test_expire(void)
{
	struct tcpreasm	*r;
	struct coll	 c;
	struct flow	 a = flow4, b = flow4;
	struct timeval	 now;

	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	b.cport = 40001;
	handshake(r, &a);
	handshake(r, &b);
	send_at(r, &a, 0, F_ACK, 5, "later", 5);
	clk.tv_sec += 100;
	send_at(r, &b, 0, F_ACK, 0, "b", 1);
	now = clk;
	tcpreasm_expire(r, &now, 60);
	is_str(coll_log(&c), "o1 o2 d2c1 g1c5 d1c5 c1:3",
	    "expire: the idle one closed (its hole a gap), not the other");
	tcpreasm_expire(r, &now, 60);
	now.tv_sec += 61;
	tcpreasm_expire(r, &now, 60);
	is_str(coll_log(&c), "o1 o2 d2c1 g1c5 d1c5 c1:3 c2:3",
	    "expire: the second once idle too");
	tcpreasm_finish(r);
	is_int(c.n, 2, "finish after expire: nothing more");
	tcpreasm_free(r);
	coll_free(&c);

	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	handshake(r, &a);
	handshake(r, &b);
	send_at(r, &b, 0, F_ACK, 0, "b", 1);
	send_at(r, &a, 0, F_ACK, 0, "a", 1);
	tcpreasm_finish(r);
	is_str(coll_log(&c), "o1 o2 d2c1 d1c1 c1:4 c2:4",
	    "finish: every connection closed in the order opened");
	tcpreasm_finish(r);
	is_str(coll_log(&c), "o1 o2 d2c1 d1c1 c1:4 c2:4",
	    "finish twice: nothing more");
	tcpreasm_free(r);
	coll_free(&c);

	/* tcpreasm_free drops what is open, held data too, silently. */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	handshake(r, &a);
	send_at(r, &a, 0, F_ACK, 5, "held", 4);
	tcpreasm_free(r);
	is_str(coll_log(&c), "o1", "free drops what is open, no callback");
	coll_free(&c);
}

/* Ethernet padding is not payload; bad TCP headers are bad. */
static void
test_malformed(void)
{
	struct tcpreasm	*r;
	struct coll	 c;
	struct pk	 p;
	size_t		 ipoff, iplen, len;

	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	memset(&p, 0, sizeof p);
	p.src = "10.0.0.1";
	p.dst = "10.0.0.2";
	p.sport = 40000;
	p.dport = 80;
	p.seq = 10;
	p.flags = F_ACK;
	p.data = "ab";
	p.len = 2;
	len = build(frame, L_ETH, &p, &ipoff, &iplen);
	is_int(len, 60, "a padded frame");
	is_int(tcpreasm_packet(r, DLT_EN10MB, &clk, frame, len), 1,
	    "padded frame: used");
	tcpreasm_finish(r);
	is_str(coll_str(&c, 0, 0), "ab", "padded frame: the padding is "
	    "not payload");

	/* A TCP data offset past the packet. */
	len = build(frame, L_ETH, &p, &ipoff, &iplen);
	frame[ipoff + 20 + 12] = 0xf0;
	is_int(tcpreasm_packet(r, DLT_EN10MB, &clk, frame, len), -1,
	    "TCP header longer than the packet: bad");
	frame[ipoff + 20 + 12] = 0x40;
	is_int(tcpreasm_packet(r, DLT_EN10MB, &clk, frame, len), -1,
	    "TCP header under 20 bytes: bad");
	/* IPv4 header length under 20. */
	len = build(frame, L_ETH, &p, &ipoff, &iplen);
	frame[ipoff] = 0x44;
	is_int(tcpreasm_packet(r, DLT_EN10MB, &clk, frame, len), -1,
	    "IPv4 header under 20 bytes: bad");
	/* IPv4 total length past the capture. */
	len = build(frame, L_ETH, &p, &ipoff, &iplen);
	put16(frame + ipoff + 2, 1000);
	is_int(tcpreasm_packet(r, DLT_EN10MB, &clk, frame, len), -1,
	    "IPv4 total length past the capture: bad");
	/* An IPv6 packet where DLT_IPV4 promises IPv4. */
	p.v6 = 1;
	p.src = "::1";
	p.dst = "::2";
	len = build(frame, L_RAW, &p, &ipoff, &iplen);
	is_int(tcpreasm_packet(r, DLT_IPV4, &clk, frame, len), -1,
	    "IPv6 under DLT_IPV4: bad");
	/* SYN with RST. */
	p.flags = F_SYN | F_RST;
	len = build(frame, L_RAW, &p, &ipoff, &iplen);
	is_int(tcpreasm_packet(r, DLT_RAW, &clk, frame, len), -1,
	    "SYN with RST: bad");
	is_int(tcpreasm_stats(r)->bad, 6, "6 bad");
	tcpreasm_free(r);
	coll_free(&c);
}

/*
 * In-order data comes straight from the frame; data that waited for a
 * hole carries the time of the packet that filled it; at the end, held
 * data carries its own.
 */
static void
test_fast_path(void)
{
	struct tcpreasm	*r;
	struct coll	 c;
	size_t		 i;

	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	clk.tv_usec = 0;
	handshake(r, &flow4);				/* 1, 2, 3 ms */
	for (i = 0; i < 100; i++)
		send_at(r, &flow4, 0, F_ACK, i * 10, "0123456789", 10);
	is_int(c.from_packet, 100, "in order: 100 deliveries from the frame");
	is_int(c.copied, 0, "in order: none copied");
	is_int(tcpreasm_stats(r)->held_peak, 0, "in order: nothing held");
	tcpreasm_free(r);
	coll_free(&c);

	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	clk.tv_usec = 0;
	handshake(r, &flow4);				/* 1, 2, 3 ms */
	send_at(r, &flow4, 0, F_ACK, 5, "fghij", 5);	/* 4 ms */
	send_at(r, &flow4, 0, F_ACK, 15, "pq", 2);	/* 5 ms */
	send_at(r, &flow4, 0, F_ACK, 0, "abcde", 5);	/* 6 ms */
	tcpreasm_finish(r);
	is_str(c.times.data, "d6 d6 g5 d5 ",
	    "times: a hole filled at 6 ms delivers at 6 ms; the rest at its "
	    "own time at the end");
	is_str(coll_str(&c, 0, 0), "abcdefghij<gap 5>pq", "... bytes");
	is_int(c.from_packet, 1, "... one delivery from the frame");
	is_int(c.copied, 2, "... two from held copies");
	tcpreasm_free(r);
	coll_free(&c);
}

/*
 * Offloaded sends: an IPv4 total length of 0 means the captured length;
 * NULL/LOOP AF_INET6 values of the BSDs.
 */
static void
test_link_corners(void)
{
	static const uint32_t	 fams[] = { 24, 28, 30 };
	struct tcpreasm		*r;
	struct coll		 c;
	struct pk		 p;
	size_t			 ipoff, iplen, len, i;

	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	memset(&p, 0, sizeof p);
	p.src = "10.0.0.1";
	p.dst = "10.0.0.2";
	p.sport = 40000;
	p.dport = 80;
	p.flags = F_ACK;
	p.data = "tso";
	p.len = 3;
	len = build(frame, L_RAW, &p, &ipoff, &iplen);
	put16(frame + 2, 0);
	is_int(tcpreasm_packet(r, DLT_RAW, &clk, frame, len), 1,
	    "IPv4 total length 0: used");
	tcpreasm_finish(r);
	is_str(coll_str(&c, 0, 0), "tso", "... the captured bytes");
	tcpreasm_free(r);
	coll_free(&c);

	for (i = 0; i < sizeof fams / sizeof fams[0]; i++) {
		coll_init(&c);
		r = tcpreasm_new(&coll_cbs, &c, 0, 0);
		memset(&p, 0, sizeof p);
		p.v6 = 1;
		p.src = "::1";
		p.dst = "::1";
		p.sport = 40000;
		p.dport = 80;
		p.flags = F_ACK;
		p.data = "bsd";
		p.len = 3;
		len = build(frame, L_LOOP, &p, &ipoff, &iplen);
		put32(frame, fams[i]);
		tcpreasm_packet(r, DLT_LOOP, &clk, frame, len);
		frame[0] = (uint8_t)fams[i];
		frame[3] = 0;
		tcpreasm_packet(r, DLT_NULL, &clk, frame, len);
		tcpreasm_finish(r);
		is_str(coll_str(&c, 0, 0), "bsd",
		    "LOOP and NULL with AF_INET6 = %u", fams[i]);
		is_int(tcpreasm_stats(r)->retransmits, 1, "... twice: once "
		    "old");
		tcpreasm_free(r);
		coll_free(&c);
	}
}

/*
 * 200,000 connections one after another over ten minutes of capture
 * time, and 5,000 open at once: the table grows, closed connections
 * go away.
 */
static void
test_many(void)
{
	struct tcpreasm	*r;
	struct coll	 c;
	struct flow	*fl, *f, first;
	char		(*addrs)[32];
	size_t		 i, n = 200000, live = 5000, wrong = 0;

	coll_init(&c);
	c.count_only = 1;
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	fl = xcalloc(live, sizeof *fl);
	addrs = xcalloc(live, sizeof *addrs);
	for (i = 0; i < live; i++) {
		fl[i] = flow4;
		snprintf(addrs[i], sizeof addrs[i], "10.%zu.%zu.1",
		    i / 200, i % 200);
		fl[i].caddr = addrs[i];
		fl[i].cport = 1024;
		fl[i].cisn = rnd();
		handshake(r, &fl[i]);
		send_at(r, &fl[i], 0, F_ACK, 0, "GET", 3);
	}
	first = fl[0];
	/* Answer and close the oldest, open the next on its client. */
	for (i = 0; i < n; i++) {
		f = &fl[i % live];
		send_at(r, f, 1, F_ACK, 0, "200", 3);
		send_at(r, f, 1, F_ACK | F_FIN, 3, NULL, 0);
		send_at(r, f, 0, F_ACK | F_FIN, 3, NULL, 0);
		if (i + live < n) {
			f->cport++;
			f->cisn = rnd();
			handshake(r, f);
			send_at(r, f, 0, F_ACK, 0, "GET", 3);
		}
	}
	for (i = 0; i < c.n; i++) {
		if (c.recs[i].closes != 1 || c.recs[i].how != TCP_CLOSE_FIN ||
		    c.recs[i].bytes[0] != 3 || c.recs[i].bytes[1] != 3)
			wrong++;
	}
	is_int(c.n, n, "200,000 connections opened");
	is_int(wrong, 0, "... each answered and closed by FIN");
	is_int(tcpreasm_stats(r)->late + tcpreasm_stats(r)->no_syn, 0,
	    "... none late, none without a SYN");
	/* The first connection closed half an hour ago: forgotten. */
	send_at(r, &first, 0, F_ACK, 3, "again", 5);
	is_int(tcpreasm_stats(r)->no_syn, 1,
	    "data on a 4-tuple closed long ago: a new connection");
	is_int(tcpreasm_stats(r)->late, 0, "... not late");
	tcpreasm_free(r);
	coll_free(&c);
	free(fl);
	free(addrs);
}

/*
 * The two streams in the order their bytes were sent: a segment that
 * acknowledges bytes of the other stream not delivered yet waits for
 * them, whatever order the capture shows.
 */
static void
test_ack_order(void)
{
	struct tcpreasm			*r;
	struct coll			 c;
	const struct tcpreasm_stats	*st;
	char				*m;
	size_t				 k;

	/* A response captured before the request it acknowledges. */
	clk.tv_usec = 0;
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	handshake(r, &flow4);
	send_acking(r, &flow4, 1, 0, 4, "resp", 4);
	is_str(coll_log(&c), "o1", "ack order: a response that acknowledges "
	    "a request not seen waits");
	send_acking(r, &flow4, 0, 0, 0, "req!", 4);
	is_str(coll_log(&c), "o1 d1c4 d1s4", "ack order: the request, then "
	    "its response");
	is_str(c.times.data, "d5 d4 ", "ack order: each with the time of "
	    "its own packet");
	/* acked is one past the offset acknowledged, held or not. */
	is_str(c.acks.data, "1 5 ", "ack order: each says what its segment "
	    "acknowledged of the other stream");
	is_int((int)c.midstream, 0, "ack order: a handshake, not midstream");
	st = tcpreasm_stats(r);
	is_int(st->waited, 1, "ack order: counted in waited");
	is_int(st->held, 0, "ack order: nothing held after");
	/* In order in the capture: no wait. */
	send_acking(r, &flow4, 0, 4, 4, "more", 4);
	send_acking(r, &flow4, 1, 4, 8, "resp", 4);
	is_str(coll_log(&c), "o1 d1c4 d1s4 d1c4 d1s4", "ack order: in "
	    "order, delivered at once");
	is_int(st->waited, 1, "ack order: in order, no wait");
	tcpreasm_free(r);
	coll_free(&c);

	/* A response held for a hole, let go before its request. */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	handshake(r, &flow4);
	send_acking(r, &flow4, 0, 0, 0, "r1", 2);
	send_acking(r, &flow4, 1, 2, 4, "a2", 2);
	send_acking(r, &flow4, 1, 0, 2, "a1", 2);
	send_acking(r, &flow4, 0, 2, 2, "r2", 2);
	is_str(coll_log(&c), "o1 d1c2 d1s2 d1c2 d1s2", "ack order: a "
	    "response filling a hole does not let the next go before its "
	    "request");
	is_str(coll_str(&c, 0, 1), "a1a2", "ack order: the response bytes");
	tcpreasm_free(r);
	coll_free(&c);

	/*
	 * Each waits for the other: a retransmission carrying a newer ACK
	 * is the first copy the capture has.  The earlier packet goes first.
	 */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	handshake(r, &flow4);
	send_acking(r, &flow4, 0, 0, 4, "req!", 4);
	send_acking(r, &flow4, 1, 0, 4, "resp", 4);
	is_str(coll_log(&c), "o1 d1c4 d1s4", "ack order: each waiting for "
	    "the other, the earlier first");
	tcpreasm_free(r);
	coll_free(&c);

	/* Bytes acknowledged but never captured: the close ends the wait. */
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 0, 0);
	handshake(r, &flow4);
	send_acking(r, &flow4, 1, 0, 4, "resp", 4);
	send_at(r, &flow4, 1, F_RST, 4, NULL, 0);
	is_str(coll_log(&c), "o1 d1s4 c1:1", "ack order: a RST ends the "
	    "wait");
	tcpreasm_free(r);
	coll_free(&c);

	/* ... and so does the per-stream limit, without a gap. */
	m = message(8000, 3);
	coll_init(&c);
	r = tcpreasm_new(&coll_cbs, &c, 4096, 0);
	handshake(r, &flow4);
	for (k = 0; k < 8; k++)
		send_acking(r, &flow4, 1, k * 1000, 10, m + k * 1000, 1000);
	st = tcpreasm_stats(r);
	ok(st->held_peak <= 4096, "ack order: held within the per-stream "
	    "limit (%llu)", (unsigned long long)st->held_peak);
	is_int(st->cut, 1, "ack order: the limit counted in cut");
	is_int(st->gaps, 0, "ack order: the limit reports no gap");
	ok(c.recs[0].dir[1].len >= 4000 &&
	    memcmp(coll_str(&c, 0, 1), m, c.recs[0].dir[1].len) == 0,
	    "ack order: over the limit, the bytes go on in order (%zu)",
	    c.recs[0].dir[1].len);
	tcpreasm_finish(r);
	ok(c.recs[0].dir[1].len == 8000 &&
	    memcmp(coll_str(&c, 0, 1), m, 8000) == 0,
	    "ack order: every byte by the end");
	tcpreasm_free(r);
	coll_free(&c);
	free(m);
}

int
main(void)
{
	test_links();
	test_ip_options();
	test_skipped();
	test_malformed();
	test_truncated();
	test_overlaps();
	test_shuffled();
	test_no_syn();
	test_wrap();
	test_close();
	test_syn();
	test_probes();
	test_concurrent();
	test_limits();
	test_many_segments();
	test_expire();
	test_expire_least_time();
	test_fast_path();
	test_link_corners();
	test_many();
	test_long_stream();
	test_garbage();
	test_ack_order();
	return (done_testing());
}
