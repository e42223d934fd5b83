/*
 * Export: captures as a classic pcap of synthesized IPv4 TCP streams, one
 * connection per side of each exchange, so Wireshark and tshark show every
 * request and response as they would have crossed the wire (DESIGN §9).
 *
 * Layout: Ethernet (DLT_EN10MB), IPv4, TCP without options but the MSS on
 * the SYNs.  The client is 192.0.2.N (N from 1), the primary 198.51.100.1,
 * the candidate 198.51.100.2, the secondary 198.51.100.3, all on port 80.
 * Each connection gets the next client port from 1024 to 65535; when the
 * ports run out the next client address is used, so a four-tuple comes
 * back only after 254 * 64512 connections.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pcap/pcap.h>

#include "paritytap.h"

/* Bytes of TCP payload per segment: an Ethernet MSS. */
#define PCAP_MSS		1460
#define PCAP_SNAPLEN		65535
#define PCAP_ETHER_LEN		14
#define PCAP_IP_LEN		20
#define PCAP_TCP_LEN		20
#define PCAP_SERVER_PORT	80
#define PCAP_FIRST_PORT		1024
#define PCAP_NPORTS		(65536 - PCAP_FIRST_PORT)

#define TH_FIN	0x01
#define TH_SYN	0x02
#define TH_RST	0x04
#define TH_PUSH	0x08
#define TH_ACK	0x10

/* One packet of the exchange being written, in cp_pkts. */
struct pcap_pkt {
	struct timeval	 tv;
	size_t		 off;
	size_t		 len;
	size_t		 order;		/* to keep a stable sort */
};

struct capture_pcap {
	pcap_t		*cp_pcap;
	pcap_dumper_t	*cp_dumper;
	uint64_t	 cp_conns;	/* connections written so far */
	uint16_t	 cp_ipid;
	struct buf	 cp_msg;	/* the message being serialized */
	struct buf	 cp_pkts;	/* the bytes of the exchange's packets */
	struct pcap_pkt	*cp_v;
	size_t		 cp_n;
	size_t		 cp_cap;
	int		 cp_errno;	/* of the first failed write */
};

/* One synthesized connection. */
struct pcap_conn {
	uint8_t		 c_mac[2][6];	/* client, server */
	uint8_t		 c_ip[2][4];
	uint16_t	 c_port[2];
	uint32_t	 c_seq[2];	/* next sequence number of each end */
};

/* The end that sends, in struct pcap_conn's arrays. */
#define PCAP_CLIENT	0
#define PCAP_SERVER	1

/* Open a pcap writer on f (which it owns from now on), or NULL with cause. */
struct capture_pcap *
capture_pcap_open(FILE *f, char **cause)
{
	struct capture_pcap	*cp;

	cp = xcalloc(1, sizeof *cp);
	if ((cp->cp_pcap = pcap_open_dead(DLT_EN10MB, PCAP_SNAPLEN)) == NULL) {
		xasprintf(cause, "cannot set up libpcap");
		free(cp);
		fclose(f);
		return (NULL);
	}
	if ((cp->cp_dumper = pcap_dump_fopen(cp->cp_pcap, f)) == NULL) {
		xasprintf(cause, "%s", pcap_geterr(cp->cp_pcap));
		pcap_close(cp->cp_pcap);
		free(cp);
		fclose(f);
		return (NULL);
	}
	buf_init(&cp->cp_msg);
	buf_init(&cp->cp_pkts);
	return (cp);
}

/* Return the Internet checksum of len bytes, starting from sum. */
static uint16_t
pcap_cksum(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t	 i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ((uint16_t)~sum);
}

/* Store 16 and 32 bits in network order. */
static void
pcap_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void
pcap_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

/* Return tv plus ms milliseconds (a negative or absurd ms counts as 0). */
static struct timeval
pcap_later(const struct timeval *tv, double ms)
{
	struct timeval	 out = *tv;
	long long	 us;

	if (!(ms > 0 && ms < 1e9))
		return (out);
	us = (long long)(ms * 1000 + 0.5);
	out.tv_sec += us / 1000000;
	out.tv_usec += us % 1000000;
	if (out.tv_usec >= 1000000) {
		out.tv_sec++;
		out.tv_usec -= 1000000;
	}
	return (out);
}

/*
 * Add one TCP segment from end (PCAP_CLIENT or PCAP_SERVER) to the
 * exchange's packets and advance that end's sequence number.
 */
static void
pcap_segment(struct capture_pcap *cp, struct pcap_conn *c, int end,
    uint8_t flags, const char *data, size_t len, const struct timeval *tv)
{
	uint8_t		 hdr[PCAP_ETHER_LEN + PCAP_IP_LEN + PCAP_TCP_LEN + 4];
	uint8_t		*ip = hdr + PCAP_ETHER_LEN, *tcp = ip + PCAP_IP_LEN;
	struct pcap_pkt	*pkt;
	size_t		 tcplen = PCAP_TCP_LEN, total;
	uint32_t	 sum;
	int		 peer = !end;

	memset(hdr, 0, sizeof hdr);
	if (flags & TH_SYN)
		tcplen += 4;	/* the MSS option */
	total = PCAP_IP_LEN + tcplen + len;

	memcpy(hdr, c->c_mac[peer], 6);
	memcpy(hdr + 6, c->c_mac[end], 6);
	pcap_put16(hdr + 12, 0x0800);

	ip[0] = 0x45;
	pcap_put16(ip + 2, (uint16_t)total);
	pcap_put16(ip + 4, cp->cp_ipid++);
	pcap_put16(ip + 6, 0x4000);	/* don't fragment */
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, c->c_ip[end], 4);
	memcpy(ip + 16, c->c_ip[peer], 4);
	pcap_put16(ip + 10, pcap_cksum(ip, PCAP_IP_LEN, 0));

	pcap_put16(tcp, c->c_port[end]);
	pcap_put16(tcp + 2, c->c_port[peer]);
	pcap_put32(tcp + 4, c->c_seq[end]);
	if (flags & TH_ACK)
		pcap_put32(tcp + 8, c->c_seq[peer]);
	tcp[12] = (uint8_t)((tcplen / 4) << 4);
	tcp[13] = flags;
	pcap_put16(tcp + 14, 65535);
	if (flags & TH_SYN) {
		tcp[20] = 2;
		tcp[21] = 4;
		pcap_put16(tcp + 22, PCAP_MSS);
	}

	/* The pseudo-header: addresses, protocol, TCP length. */
	sum = 0;
	sum += (uint32_t)ip[12] << 8 | ip[13];
	sum += (uint32_t)ip[14] << 8 | ip[15];
	sum += (uint32_t)ip[16] << 8 | ip[17];
	sum += (uint32_t)ip[18] << 8 | ip[19];
	sum += 6;
	sum += (uint32_t)(tcplen + len);

	if (cp->cp_n == cp->cp_cap) {
		cp->cp_cap = cp->cp_cap ? cp->cp_cap * 2 : 64;
		cp->cp_v = xreallocarray(cp->cp_v, cp->cp_cap, sizeof *cp->cp_v);
	}
	pkt = &cp->cp_v[cp->cp_n];
	pkt->tv = *tv;
	pkt->off = cp->cp_pkts.len;
	pkt->len = PCAP_ETHER_LEN + total;
	pkt->order = cp->cp_n++;
	buf_add(&cp->cp_pkts, hdr, PCAP_ETHER_LEN + PCAP_IP_LEN + tcplen);
	buf_add(&cp->cp_pkts, data, len);

	/* Checksum over header and payload as they now lie in the buffer. */
	tcp = (uint8_t *)cp->cp_pkts.data + pkt->off + PCAP_ETHER_LEN +
	    PCAP_IP_LEN;
	pcap_put16(tcp + 16, pcap_cksum(tcp, tcplen + len, sum));

	c->c_seq[end] += (uint32_t)len;
	if (flags & (TH_SYN | TH_FIN))
		c->c_seq[end]++;
}

/* Send data from end in segments of at most PCAP_MSS bytes. */
static void
pcap_data(struct capture_pcap *cp, struct pcap_conn *c, int end,
    const char *data, size_t len, const struct timeval *tv)
{
	size_t	 off, n;

	for (off = 0; off < len; off += n) {
		n = len - off;
		if (n > PCAP_MSS)
			n = PCAP_MSS;
		pcap_segment(cp, c, end, TH_ACK | (off + n == len ? TH_PUSH : 0),
		    data + off, n, tv);
	}
}

/* Return a well-mixed 32 bits of x (an initial sequence number). */
static uint32_t
pcap_isn(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return ((uint32_t)x);
}

/* Set up the next connection, to the server of side. */
static void
pcap_conn_next(struct capture_pcap *cp, struct pcap_conn *c, enum side side)
{
	static const uint8_t	 mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x00 };
	uint64_t		 n = cp->cp_conns++;

	memset(c, 0, sizeof *c);
	memcpy(c->c_mac[PCAP_CLIENT], mac, 6);
	c->c_mac[PCAP_CLIENT][5] = 0x01;
	memcpy(c->c_mac[PCAP_SERVER], mac, 6);
	c->c_mac[PCAP_SERVER][4] = 0x01;
	c->c_mac[PCAP_SERVER][5] = (uint8_t)(side + 1);

	c->c_ip[PCAP_CLIENT][0] = 192;
	c->c_ip[PCAP_CLIENT][1] = 0;
	c->c_ip[PCAP_CLIENT][2] = 2;
	c->c_ip[PCAP_CLIENT][3] = (uint8_t)(1 + (n / PCAP_NPORTS) % 254);
	c->c_ip[PCAP_SERVER][0] = 198;
	c->c_ip[PCAP_SERVER][1] = 51;
	c->c_ip[PCAP_SERVER][2] = 100;
	c->c_ip[PCAP_SERVER][3] = (uint8_t)(side + 1);

	c->c_port[PCAP_CLIENT] = (uint16_t)(PCAP_FIRST_PORT + n % PCAP_NPORTS);
	c->c_port[PCAP_SERVER] = PCAP_SERVER_PORT;
	c->c_seq[PCAP_CLIENT] = pcap_isn(2 * n + 1);
	c->c_seq[PCAP_SERVER] = pcap_isn(2 * n + 2);
}

/* Append "Name: value\r\n", any CR or LF in them made a space. */
static void
pcap_header(struct buf *b, const char *name, const char *value)
{
	size_t	 start, i;

	start = b->len;
	buf_addstr(b, name);
	buf_add(b, ": ", 2);
	buf_addstr(b, value);
	for (i = start; i < b->len; i++) {
		if (b->data[i] == '\r' || b->data[i] == '\n')
			b->data[i] = ' ';
	}
	buf_add(b, "\r\n", 2);
}

/* Return 1 if a header frames the body (Content-Length, Transfer-Encoding). */
static int
pcap_framing(const char *name)
{
	return (strcasecmp(name, "Content-Length") == 0 ||
	    strcasecmp(name, "Transfer-Encoding") == 0);
}

/*
 * Append headers to b in order, the framing ones replaced by one
 * Content-Length of len at the place of the first (or at the end when
 * there was none and always is set or len is not 0).  With bodiless set
 * (a message that has no body by rule) Content-Length is kept as it was
 * and only Transfer-Encoding dropped.
 */
static void
pcap_headers(struct buf *b, const struct headers *hs, size_t len, int always,
    int bodiless)
{
	char	 n[32];
	size_t	 i;
	int	 done = 0;

	snprintf(n, sizeof n, "%zu", len);
	for (i = 0; i < hs->n; i++) {
		if (bodiless &&
		    strcasecmp(hs->h[i].name, "Content-Length") == 0) {
			pcap_header(b, hs->h[i].name, hs->h[i].value);
			continue;
		}
		if (pcap_framing(hs->h[i].name)) {
			if (!done && !bodiless)
				pcap_header(b, "Content-Length", n);
			done = 1;
			continue;
		}
		pcap_header(b, hs->h[i].name, hs->h[i].value);
	}
	if (!bodiless && !done && (always || len != 0))
		pcap_header(b, "Content-Length", n);
	buf_add(b, "\r\n", 2);
}

/* Append a start line, CR and LF made spaces, and its CRLF. */
static void
pcap_start_line(struct buf *b, const char *line)
{
	size_t	 start = b->len, i;

	buf_addstr(b, line);
	for (i = start; i < b->len; i++) {
		if (b->data[i] == '\r' || b->data[i] == '\n')
			b->data[i] = ' ';
	}
	buf_add(b, "\r\n", 2);
}

/* Serialize the request of ex into b. */
static void
pcap_request(struct buf *b, const struct exchange *ex, const char *version)
{
	const struct http_request	*req = &ex->ex_req;
	char				*line;
	size_t				 i;
	int				 framed = 0;

	buf_reset(b);
	xasprintf(&line, "%s %s HTTP/%s", req->method, req->target, version);
	pcap_start_line(b, line);
	free(line);
	/* A request that said it had a body (even empty) still says so. */
	for (i = 0; i < req->headers.n; i++) {
		if (pcap_framing(req->headers.h[i].name))
			framed = 1;
	}
	pcap_headers(b, &req->headers, req->body.len, framed, 0);
	buf_add(b, req->body.data, req->body.len);
}

/* Return 1 if a response has no body by rule (RFC 9112 6.3). */
static int
pcap_bodiless(const struct exchange *ex, int status)
{
	return (strcasecmp(ex->ex_req.method, "HEAD") == 0 ||
	    (status >= 100 && status < 200) || status == 204 ||
	    status == 304);
}

/* Serialize one side's response into b. */
static void
pcap_response(struct buf *b, const struct exchange *ex,
    const struct response_side *rs, const char *version)
{
	struct buf	 body;
	char		*line;
	int		 bodiless = pcap_bodiless(ex, rs->status);

	buf_reset(b);
	xasprintf(&line, "HTTP/%s %03d %s", version, rs->status,
	    http_reason(rs->status));
	pcap_start_line(b, line);
	free(line);
	/*
	 * A body the capture keeps decoded is encoded again, so that the
	 * message says what its Content-Encoding header says.
	 */
	buf_init(&body);
	if (rs->body_decoded != NULL && !bodiless && rs->body.len != 0)
		decode_encode(rs->body_decoded, rs->body.data, rs->body.len,
		    &body);
	else
		buf_add(&body, rs->body.data, rs->body.len);
	pcap_headers(b, &rs->headers, bodiless ? 0 : body.len, 1, bodiless);
	if (!bodiless)
		buf_add(b, body.data, body.len);
	buf_free(&body);
}

/*
 * Add one side's connection: handshake, the request, the response (or a
 * reset when the side has none), the teardown.  A side that ended in an
 * error after its status line is reset after what it sent.
 */
static void
pcap_side(struct capture_pcap *cp, const struct exchange *ex, enum side side,
    const char *version)
{
	const struct response_side	*rs = &ex->ex_resp[side];
	struct pcap_conn		 c;
	struct timeval			 t0 = ex->ex_ts, t1;

	t1 = pcap_later(&t0, rs->ms);
	pcap_conn_next(cp, &c, side);

	pcap_segment(cp, &c, PCAP_CLIENT, TH_SYN, NULL, 0, &t0);
	pcap_segment(cp, &c, PCAP_SERVER, TH_SYN | TH_ACK, NULL, 0, &t0);
	pcap_segment(cp, &c, PCAP_CLIENT, TH_ACK, NULL, 0, &t0);

	pcap_request(&cp->cp_msg, ex, version);
	pcap_data(cp, &c, PCAP_CLIENT, cp->cp_msg.data, cp->cp_msg.len, &t0);

	if (rs->status == 0) {
		pcap_segment(cp, &c, PCAP_SERVER, TH_RST | TH_ACK, NULL, 0,
		    &t1);
		return;
	}
	pcap_response(&cp->cp_msg, ex, rs, version);
	pcap_data(cp, &c, PCAP_SERVER, cp->cp_msg.data, cp->cp_msg.len, &t1);
	if (rs->error != NULL) {
		pcap_segment(cp, &c, PCAP_SERVER, TH_RST | TH_ACK, NULL, 0,
		    &t1);
		return;
	}
	pcap_segment(cp, &c, PCAP_CLIENT, TH_FIN | TH_ACK, NULL, 0, &t1);
	pcap_segment(cp, &c, PCAP_SERVER, TH_FIN | TH_ACK, NULL, 0, &t1);
	pcap_segment(cp, &c, PCAP_CLIENT, TH_ACK, NULL, 0, &t1);
}

/* Order packets by time, then as they were made. */
static int
pcap_pkt_cmp(const void *a, const void *b)
{
	const struct pcap_pkt	*pa = a, *pb = b;

	if (pa->tv.tv_sec != pb->tv.tv_sec)
		return (pa->tv.tv_sec < pb->tv.tv_sec ? -1 : 1);
	if (pa->tv.tv_usec != pb->tv.tv_usec)
		return (pa->tv.tv_usec < pb->tv.tv_usec ? -1 : 1);
	if (pa->order != pb->order)
		return (pa->order < pb->order ? -1 : 1);
	return (0);
}

/*
 * Write the connections of one exchange, one per side present, their
 * packets in time order.  Return the number of connections written; add
 * the bodies written cut short to *truncated.
 */
unsigned
capture_pcap_add(struct capture_pcap *cp, const struct exchange *ex,
    uint64_t *truncated)
{
	struct pcap_pkthdr	 ph;
	struct pcap_pkt		*pkt;
	char			 version[32];
	unsigned		 n = 0;
	size_t			 i;
	int			 side;

	cp->cp_n = 0;
	buf_reset(&cp->cp_pkts);
	capture_version(&ex->ex_req, version, sizeof version);
	for (side = 0; side < SIDE_MAX; side++) {
		if (!ex->ex_resp[side].present)
			continue;
		pcap_side(cp, ex, side, version);
		if (ex->ex_resp[side].truncated && ex->ex_resp[side].status != 0)
			(*truncated)++;
		n++;
	}
	if (n != 0 && ex->ex_req_truncated)
		(*truncated)++;
	qsort(cp->cp_v, cp->cp_n, sizeof *cp->cp_v, pcap_pkt_cmp);
	for (i = 0; i < cp->cp_n; i++) {
		pkt = &cp->cp_v[i];
		memset(&ph, 0, sizeof ph);
		ph.ts = pkt->tv;
		ph.caplen = ph.len = (bpf_u_int32)pkt->len;
		errno = 0;
		pcap_dump((u_char *)cp->cp_dumper, &ph,
		    (const u_char *)cp->cp_pkts.data + pkt->off);
		if (cp->cp_errno == 0 && errno != 0 &&
		    ferror(pcap_dump_file(cp->cp_dumper)))
			cp->cp_errno = errno;
	}
	return (n);
}

/* Flush and close the pcap writer and its file; return 0, or -1 (errno). */
int
capture_pcap_close(struct capture_pcap *cp)
{
	int	 rc = 0, err = 0;

	if (cp == NULL)
		return (0);
	errno = 0;
	if (pcap_dump_flush(cp->cp_dumper) != 0 ||
	    ferror(pcap_dump_file(cp->cp_dumper))) {
		rc = -1;
		err = cp->cp_errno != 0 ? cp->cp_errno : errno;
		if (err == 0)
			err = EIO;
	}
	pcap_dump_close(cp->cp_dumper);
	pcap_close(cp->cp_pcap);
	buf_free(&cp->cp_msg);
	buf_free(&cp->cp_pkts);
	free(cp->cp_v);
	free(cp);
	if (rc != 0)
		errno = err;
	return (rc);
}
