/*
 * TCP reassembly for import and sniff (DESIGN §9): captured frames in,
 * each connection's two byte streams out, in order, once.
 *
 * Why it is done here: Debian's only packaged reassembler, libnids
 * (libnids-dev), is IPv4 only, keeps its state in process-wide globals
 * (one reassembler per process, configured through nids_params), copies
 * every byte into a per-stream buffer, and is no longer developed.
 * Import reads tcpdump and tshark files of IPv6 and `-i any` (SLL2)
 * traffic, and sniff and import each want their own instance, so the
 * reassembler below is the smaller dependency.
 *
 * Each direction of a connection is a byte stream with a 64-bit offset:
 * offset 0 is the byte after the SYN, or the first byte seen when the
 * SYN was not captured.  A sequence number becomes an offset by 32-bit
 * serial arithmetic against the next expected one, so the stream goes on
 * across the 2^32 wrap.  A segment that starts where the stream is goes
 * straight from the packet to the data callback (no copy, no malloc);
 * one past a hole is copied and held, in offset order and without
 * overlaps, until the hole fills, then delivered with the time of the
 * packet that filled it.  Bytes seen twice are delivered once: the
 * first copy wins.  A bare ACK does not start a stream (a keep-alive
 * probe carries the sequence number before the next byte).
 *
 * A stream ends when its FIN is reached in order; bytes past the FIN are
 * not data.  The connection closes (TCP_CLOSE_FIN) when both streams
 * have ended, or when the server's has and nothing is pending from the
 * client (nothing held, no FIN short of its hole): a server that has
 * closed answers nothing more, but a client that has closed its side
 * can still be answered, so the client's FIN alone keeps it open.  A
 * RST closes it (TCP_CLOSE_RST).  Whatever way a connection closes,
 * held data is delivered first, each hole before it reported as a gap,
 * and so is a hole before a FIN.  A hole the other end has acknowledged
 * is given up as soon as that ACK is seen, when data after it is held:
 * its bytes reached their receiver unseen and will not come again.  The
 * data after a hole given up keeps the time of its own packet.
 *
 * The two streams of a connection are delivered in the order their
 * bytes were sent, not only in the order the capture shows them: a
 * segment whose ACK acknowledges bytes of the other stream that have not
 * been delivered yet was sent after those bytes arrived, so it is held
 * until they are delivered (or given up), and then delivered with the
 * time of its own packet.  A capture can show a response before the
 * request it answers (tcpdump on a busy host hands on packets late, and
 * `-i any` merges per-CPU queues); without this the response would be
 * delivered first and the caller could not pair it.  A wait that cannot
 * end (each stream waits for the other, which only a retransmission
 * carrying a newer ACK can cause) lets the earlier packet go first; the
 * memory limits, the close and tcpreasm_expire end any wait too.
 *
 * Memory: what is held out of order (data plus a small header per
 * segment) stays under a per-stream and a total limit.  A segment that
 * would go over them cuts the stream: the first hole is given up (a gap
 * is reported and the data after it delivered) until the segment fits
 * or nothing is held, and then the segment itself is delivered after a
 * gap.  The connection goes on; it is counted once in cut.  So the
 * close reason TCP_CLOSE_CUT is never used.  The held segments of a
 * stream are a sorted list, so their number is bounded too
 * (TCPREASM_SEGS_MAX, cut the same way): a capture crafted to insert
 * each segment far down the list cannot make the work quadratic.
 *
 * Connections live in a hash table keyed by the 4-tuple (both directions
 * find the same one) and in a list ordered by last activity, for
 * tcpreasm_expire.  A connection closed by FIN or RST stays in the table
 * for TCPREASM_DEAD_SECS of capture time, its data freed, so that what
 * still arrives for it (a retransmission, data in flight when a RST
 * went out, the last ACKs) is dropped and counted in late rather than
 * taken for a new connection without a SYN.  A SYN replaces it at once,
 * and so does data whose sequence number is more than
 * TCPREASM_DEAD_WINDOW away from where its stream ended: a new
 * connection whose SYN the capture lost.  Other connections are freed
 * when they close.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/dlt.h>

#include "paritytap.h"

#define TCPREASM_STREAM_DEFAULT	(4 * 1024 * 1024)
#define TCPREASM_TOTAL_DEFAULT	(256 * 1024 * 1024)
#define TCPREASM_BUCKETS_MIN	1024
#define TCPREASM_DEAD_SECS	60	/* as long as Linux's TIME_WAIT */
#define TCPREASM_DEAD_WINDOW	(4 * 1024 * 1024)
#define TCPREASM_SEGS_MAX	8192	/* held per stream: bounds a walk */

#define LINKTYPE_RAW		101	/* DLT_RAW as written in pcap files */

#define ETHERTYPE_IPV4		0x0800
#define ETHERTYPE_IPV6		0x86dd
#define ETHERTYPE_VLAN		0x8100	/* 802.1Q */
#define ETHERTYPE_QINQ		0x88a8	/* 802.1ad */
#define ETHERTYPE_QINQ_OLD	0x9100

#define TH_FIN			0x01
#define TH_SYN			0x02
#define TH_RST			0x04
#define TH_ACK			0x10

/* The 4-tuple in a canonical order: (a, pa) sorts before (b, pb). */
struct tcp_key {
	uint8_t		 k_a[16];
	uint8_t		 k_b[16];
	uint16_t	 k_pa;
	uint16_t	 k_pb;
	uint32_t	 k_family;
};

/* A segment held out of order. */
struct tcp_seg {
	struct tcp_seg	*s_next;
	uint64_t	 s_off;
	uint64_t	 s_need;	/* the other stream first reaches
					   this offset (0: no need) */
	uint64_t	 s_acked;	/* for tcp_conn's acked */
	size_t		 s_len;
	struct timeval	 s_ts;
	uint8_t		 s_data[];
};

/* One direction of a connection. */
struct tcp_half {
	int		 h_started;	/* h_base is known */
	int		 h_syn;		/* h_base came from a SYN */
	int		 h_fin;		/* a FIN was seen at h_fin_off */
	int		 h_ended;	/* the stream reached its FIN */
	uint32_t	 h_base;	/* sequence number of offset 0 */
	uint64_t	 h_next;	/* delivered (or given up) up to here */
	uint64_t	 h_fin_off;
	struct tcp_seg	*h_held;	/* by offset, disjoint, > h_next */
	struct tcp_seg	*h_tail;
	size_t		 h_held_bytes;	/* data and segment headers */
	size_t		 h_nheld;	/* segments */
};

struct tcpreasm_conn {
	struct tcp_conn		 rc_conn;	/* what the callbacks see */
	struct tcp_key		 rc_key;
	int			 rc_client_a;	/* the client is k_a */
	int			 rc_cut;	/* counted in cut */
	int			 rc_dead;	/* closed; on r_dead */
	struct tcpreasm_conn	*rc_hnext;
	TAILQ_ENTRY(tcpreasm_conn) rc_lru;
	struct timeval		 rc_last;
	struct tcp_half		 rc_half[2];
};
TAILQ_HEAD(tcpreasm_lru, tcpreasm_conn);

struct tcpreasm {
	struct tcpreasm_cbs	 r_cbs;
	void			*r_arg;
	size_t			 r_max_stream;
	size_t			 r_max_total;
	size_t			 r_held;
	uint64_t		 r_acked;	/* of the segment being taken, for
						   tcp_conn's acked (0: none) */
	uint16_t		*r_ports;
	size_t			 r_nports;
	struct tcpreasm_conn	**r_buckets;
	size_t			 r_nbuckets;	/* a power of two */
	size_t			 r_nconns;
	uint64_t		 r_seed;
	uint64_t		 r_next_id;
	size_t			 r_nlive;	/* not dead */
	struct tcpreasm_lru	 r_lru;		/* least recently active first */
	struct tcpreasm_lru	 r_dead;	/* closed, oldest first */
	struct tcpreasm_stats	 r_stats;
};

/* A decoded TCP segment. */
struct tcp_pkt {
	int			 p_family;
	const uint8_t		*p_src;
	const uint8_t		*p_dst;
	uint16_t		 p_sport;
	uint16_t		 p_dport;
	uint32_t		 p_seq;
	uint32_t		 p_ack;
	uint8_t			 p_flags;
	const uint8_t		*p_data;
	size_t			 p_len;
	const struct timeval	*p_ts;
};

static void	tcpreasm_close(struct tcpreasm *, struct tcpreasm_conn *, int);
static void	tcpreasm_forget(struct tcpreasm *, struct tcpreasm_conn *);
static void	tcpreasm_purge(struct tcpreasm *, const struct timeval *,
		    unsigned);

/* Read a big-endian 16-bit value. */
static uint16_t
get16(const uint8_t *p)
{
	return ((uint16_t)(p[0] << 8 | p[1]));
}

/* Read a big-endian 32-bit value. */
static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3]);
}

/* Is this a link type tcpreasm_packet decodes? */
int
tcpreasm_linktype_ok(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
	case LINKTYPE_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
		return (1);
	}
	return (0);
}

/* Create a reassembler; 0 for a limit means the default. */
struct tcpreasm *
tcpreasm_new(const struct tcpreasm_cbs *cbs, void *arg, size_t max_stream,
    size_t max_total)
{
	struct tcpreasm	*r;

	r = xcalloc(1, sizeof *r);
	r->r_cbs = *cbs;
	r->r_arg = arg;
	r->r_max_stream = max_stream != 0 ? max_stream :
	    TCPREASM_STREAM_DEFAULT;
	r->r_max_total = max_total != 0 ? max_total : TCPREASM_TOTAL_DEFAULT;
	r->r_nbuckets = TCPREASM_BUCKETS_MIN;
	r->r_buckets = xcalloc(r->r_nbuckets, sizeof *r->r_buckets);
	r->r_seed = (uint64_t)arc4random() << 32 | arc4random();
	r->r_next_id = 1;
	TAILQ_INIT(&r->r_lru);
	TAILQ_INIT(&r->r_dead);
	return (r);
}

/* Set the server ports that decide direction when no SYN was seen. */
void
tcpreasm_ports(struct tcpreasm *r, const uint16_t *ports, size_t n)
{
	free(r->r_ports);
	r->r_ports = NULL;
	r->r_nports = n;
	if (n != 0) {
		r->r_ports = xreallocarray(NULL, n, sizeof *r->r_ports);
		memcpy(r->r_ports, ports, n * sizeof *r->r_ports);
	}
}

/* Is port one of the server ports? */
static int
tcpreasm_is_server_port(const struct tcpreasm *r, uint16_t port)
{
	size_t	 i;

	for (i = 0; i < r->r_nports; i++) {
		if (r->r_ports[i] == port)
			return (1);
	}
	return (0);
}

/*
 * Decode an IPv4 packet of len captured bytes into p.  Returns 1 for a
 * TCP segment, 0 for something skipped, -1 for a malformed one.
 */
static int
tcpreasm_ipv4(struct tcpreasm *r, const uint8_t *ip, size_t len,
    struct tcp_pkt *p, const uint8_t **tcp, size_t *tcplen)
{
	size_t	 hlen, total;
	uint16_t frag;

	if (len < 20 || (ip[0] >> 4) != 4)
		return (-1);
	hlen = (size_t)(ip[0] & 0x0f) * 4;
	total = get16(ip + 2);
	if (hlen < 20 || hlen > len)
		return (-1);
	/*
	 * A total length of 0 is what a capture of a TCP segmentation
	 * offload send looks like: the captured length is the truth.
	 */
	if (total == 0)
		total = len;
	if (total < hlen || total > len)
		return (-1);
	frag = get16(ip + 6);
	if ((frag & 0x2000) != 0 || (frag & 0x1fff) != 0) {
		r->r_stats.fragments++;
		return (0);
	}
	if (ip[9] != 6) {
		r->r_stats.not_tcp++;
		return (0);
	}
	p->p_family = AF_INET;
	p->p_src = ip + 12;
	p->p_dst = ip + 16;
	*tcp = ip + hlen;
	*tcplen = total - hlen;
	return (1);
}

/*
 * Decode an IPv6 packet, walking the extension headers; as
 * tcpreasm_ipv4.
 */
static int
tcpreasm_ipv6(struct tcpreasm *r, const uint8_t *ip, size_t len,
    struct tcp_pkt *p, const uint8_t **tcp, size_t *tcplen)
{
	size_t		 plen, off, elen;
	uint8_t		 next;
	uint16_t	 frag;

	if (len < 40 || (ip[0] >> 4) != 6)
		return (-1);
	plen = get16(ip + 4);
	if (plen == 0)		/* a jumbogram or an offloaded send */
		plen = len - 40;
	if (plen > len - 40)
		return (-1);
	len = 40 + plen;
	next = ip[6];
	off = 40;
	for (;;) {
		switch (next) {
		case 6:
			p->p_family = AF_INET6;
			p->p_src = ip + 8;
			p->p_dst = ip + 24;
			*tcp = ip + off;
			*tcplen = len - off;
			return (1);
		case 0:		/* hop-by-hop options */
		case 43:	/* routing */
		case 60:	/* destination options */
			if (len - off < 8)
				return (-1);
			elen = ((size_t)ip[off + 1] + 1) * 8;
			break;
		case 51:	/* authentication header */
			if (len - off < 8)
				return (-1);
			elen = ((size_t)ip[off + 1] + 2) * 4;
			break;
		case 44:	/* fragment */
			if (len - off < 8)
				return (-1);
			frag = get16(ip + off + 2);
			if ((frag & 0xfff9) != 0) {
				r->r_stats.fragments++;
				return (0);
			}
			elen = 8;	/* an atomic fragment: whole */
			break;
		default:
			r->r_stats.not_tcp++;
			return (0);
		}
		if (elen > len - off)
			return (-1);
		next = ip[off];
		off += elen;
	}
}

/*
 * Find the network layer in a frame of link type dlt: set *ip and *iplen
 * and return the version (4 or 6), 0 for something else, -1 for a
 * malformed frame.
 */
static int
tcpreasm_link(int dlt, const uint8_t *b, size_t len, const uint8_t **ip,
    size_t *iplen)
{
	size_t		 off;
	uint32_t	 fam, swapped;
	uint16_t	 type;

	switch (dlt) {
	case DLT_EN10MB:
		if (len < 14)
			return (-1);
		type = get16(b + 12);
		off = 14;
		break;
	case DLT_LINUX_SLL:
		if (len < 16)
			return (-1);
		type = get16(b + 14);
		off = 16;
		break;
	case DLT_LINUX_SLL2:
		if (len < 20)
			return (-1);
		type = get16(b);
		off = 20;
		break;
	case DLT_RAW:
	case LINKTYPE_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		if (len < 1)
			return (-1);
		*ip = b;
		*iplen = len;
		switch (b[0] >> 4) {
		case 4:
			return (dlt == DLT_IPV6 ? -1 : 4);
		case 6:
			return (dlt == DLT_IPV4 ? -1 : 6);
		}
		return (-1);
	case DLT_NULL:
	case DLT_LOOP:
		/*
		 * The address family of the capturing host: in its own byte
		 * order for DLT_NULL, in network order for DLT_LOOP.  AF_INET6
		 * differs between systems (Linux 10, BSDs 24, 28, 30).
		 */
		if (len < 4)
			return (-1);
		fam = get32(b);
		swapped = (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 |
		    (uint32_t)b[1] << 8 | b[0];
		if (dlt == DLT_NULL && fam > 0xffff)
			fam = swapped;
		*ip = b + 4;
		*iplen = len - 4;
		switch (fam) {
		case 2:
			return (4);
		case 10:
		case 24:
		case 28:
		case 30:
			return (6);
		}
		return (0);
	default:
		return (0);
	}

	/* Ethernet types, after any 802.1Q and 802.1ad tags. */
	while (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ ||
	    type == ETHERTYPE_QINQ_OLD) {
		if (len - off < 4)
			return (-1);
		type = get16(b + off + 2);
		off += 4;
	}
	*ip = b + off;
	*iplen = len - off;
	switch (type) {
	case ETHERTYPE_IPV4:
		return (4);
	case ETHERTYPE_IPV6:
		return (6);
	}
	return (0);
}

/* Hash a key. */
static size_t
tcpreasm_hash(const struct tcpreasm *r, const struct tcp_key *k)
{
	uint64_t	 w[sizeof *k / 8], h = r->r_seed;
	size_t		 i;

	memcpy(w, k, sizeof w);
	for (i = 0; i < sizeof w / sizeof w[0]; i++) {
		h ^= w[i];
		h *= 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	return ((size_t)h & (r->r_nbuckets - 1));
}

/* Double the hash table. */
static void
tcpreasm_grow(struct tcpreasm *r)
{
	struct tcpreasm_conn	**old = r->r_buckets, *rc, *next;
	size_t			  n = r->r_nbuckets, i, h;

	r->r_nbuckets = n * 2;
	r->r_buckets = xcalloc(r->r_nbuckets, sizeof *r->r_buckets);
	for (i = 0; i < n; i++) {
		for (rc = old[i]; rc != NULL; rc = next) {
			next = rc->rc_hnext;
			h = tcpreasm_hash(r, &rc->rc_key);
			rc->rc_hnext = r->r_buckets[h];
			r->r_buckets[h] = rc;
		}
	}
	free(old);
}

/* Build the canonical key of a segment; *src_a says if the source is a. */
static void
tcpreasm_key(const struct tcp_pkt *p, struct tcp_key *k, int *src_a)
{
	size_t	 alen = p->p_family == AF_INET ? 4 : 16;
	int	 cmp;

	memset(k, 0, sizeof *k);
	k->k_family = (uint32_t)p->p_family;
	cmp = memcmp(p->p_src, p->p_dst, alen);
	if (cmp == 0)
		cmp = p->p_sport < p->p_dport ? -1 : 1;
	*src_a = cmp < 0;
	if (*src_a) {
		memcpy(k->k_a, p->p_src, alen);
		memcpy(k->k_b, p->p_dst, alen);
		k->k_pa = p->p_sport;
		k->k_pb = p->p_dport;
	} else {
		memcpy(k->k_a, p->p_dst, alen);
		memcpy(k->k_b, p->p_src, alen);
		k->k_pa = p->p_dport;
		k->k_pb = p->p_sport;
	}
}

/* Find the connection of a key. */
static struct tcpreasm_conn *
tcpreasm_find(const struct tcpreasm *r, const struct tcp_key *k)
{
	struct tcpreasm_conn	*rc;

	rc = r->r_buckets[tcpreasm_hash(r, k)];
	for (; rc != NULL; rc = rc->rc_hnext) {
		if (memcmp(&rc->rc_key, k, sizeof *k) == 0)
			return (rc);
	}
	return (NULL);
}

/* Fill a tcp_addr. */
static void
tcpreasm_addr(struct tcp_addr *a, int family, const uint8_t *addr,
    uint16_t port)
{
	memset(a, 0, sizeof *a);
	a->family = family;
	memcpy(a->addr, addr, family == AF_INET ? 4 : 16);
	a->port = port;
}

/* Start a connection: client_is_src says which end is the client. */
static struct tcpreasm_conn *
tcpreasm_open(struct tcpreasm *r, const struct tcp_pkt *p,
    const struct tcp_key *k, int src_a, int client_is_src)
{
	struct tcpreasm_conn	*rc;
	size_t			 h;

	if (r->r_nconns >= r->r_nbuckets)
		tcpreasm_grow(r);
	rc = xcalloc(1, sizeof *rc);
	rc->rc_key = *k;
	rc->rc_client_a = client_is_src ? src_a : !src_a;
	rc->rc_conn.id = r->r_next_id++;
	rc->rc_conn.first = *p->p_ts;
	rc->rc_conn.midstream = (p->p_flags & TH_SYN) == 0;
	rc->rc_last = *p->p_ts;
	if (client_is_src) {
		tcpreasm_addr(&rc->rc_conn.client, p->p_family, p->p_src,
		    p->p_sport);
		tcpreasm_addr(&rc->rc_conn.server, p->p_family, p->p_dst,
		    p->p_dport);
	} else {
		tcpreasm_addr(&rc->rc_conn.client, p->p_family, p->p_dst,
		    p->p_dport);
		tcpreasm_addr(&rc->rc_conn.server, p->p_family, p->p_src,
		    p->p_sport);
	}
	h = tcpreasm_hash(r, k);
	rc->rc_hnext = r->r_buckets[h];
	r->r_buckets[h] = rc;
	TAILQ_INSERT_TAIL(&r->r_lru, rc, rc_lru);
	r->r_nconns++;
	r->r_nlive++;
	r->r_stats.connections++;
	if (r->r_cbs.open != NULL)
		r->r_cbs.open(r->r_arg, &rc->rc_conn);
	return (rc);
}

/* Account for a held segment of n bytes arriving (add) or leaving. */
static void
tcpreasm_held(struct tcpreasm *r, struct tcp_half *h, size_t n, int add)
{
	if (add) {
		h->h_held_bytes += n;
		h->h_nheld++;
		r->r_held += n;
		if (r->r_held > r->r_stats.held_peak)
			r->r_stats.held_peak = r->r_held;
	} else {
		h->h_held_bytes -= n;
		h->h_nheld--;
		r->r_held -= n;
	}
	r->r_stats.held = r->r_held;
}

/* Unlink and free the first held segment. */
static void
half_pop(struct tcpreasm *r, struct tcp_half *h)
{
	struct tcp_seg	*s = h->h_held;

	h->h_held = s->s_next;
	if (h->h_held == NULL)
		h->h_tail = NULL;
	tcpreasm_held(r, h, sizeof *s + s->s_len, 0);
	free(s);
}

/* Drop everything held. */
static void
half_drop(struct tcpreasm *r, struct tcp_half *h)
{
	while (h->h_held != NULL)
		half_pop(r, h);
}

/* Note that the stream reached its FIN; nothing after it counts. */
static void
half_check_end(struct tcpreasm *r, struct tcp_half *h)
{
	if (h->h_fin && !h->h_ended && h->h_next >= h->h_fin_off) {
		h->h_ended = 1;
		half_drop(r, h);
	}
}

/* Hand in-order bytes to the data callback (never past a FIN). */
static void
half_deliver(struct tcpreasm *r, struct tcpreasm_conn *rc, int dir,
    const uint8_t *data, size_t len, const struct timeval *ts, uint64_t acked)
{
	struct tcp_half	*h = &rc->rc_half[dir];

	if (h->h_fin) {
		if (h->h_next >= h->h_fin_off)
			len = 0;
		else if (len > h->h_fin_off - h->h_next)
			len = (size_t)(h->h_fin_off - h->h_next);
	}
	if (len == 0)
		return;
	h->h_next += len;
	rc->rc_conn.acked[dir] = acked;
	if (r->r_cbs.data != NULL)
		r->r_cbs.data(r->r_arg, &rc->rc_conn, dir, data, len, ts);
}

/* Give up len bytes that will never come (never past a FIN). */
static void
half_gap(struct tcpreasm *r, struct tcpreasm_conn *rc, int dir, uint64_t len,
    const struct timeval *ts)
{
	struct tcp_half	*h = &rc->rc_half[dir];

	if (h->h_fin) {
		if (h->h_next >= h->h_fin_off)
			len = 0;
		else if (len > h->h_fin_off - h->h_next)
			len = h->h_fin_off - h->h_next;
	}
	if (len == 0)
		return;
	h->h_next += len;
	r->r_stats.gaps++;
	r->r_stats.gap_bytes += len;
	if (r->r_cbs.gap != NULL)
		r->r_cbs.gap(r->r_arg, &rc->rc_conn, dir, len, ts);
	half_check_end(r, h);
}

/*
 * Has the other stream than dir delivered (or given up) its bytes up to
 * need, the offset a segment of dir acknowledges?
 */
static int
half_ready(const struct tcpreasm_conn *rc, int dir, uint64_t need)
{
	const struct tcp_half	*o = &rc->rc_half[!dir];

	return (need == 0 || o->h_next >= need || o->h_ended);
}

/*
 * Does the stream wait for the other one: is its next segment held only
 * because of the bytes of the other stream it acknowledges?
 */
static int
half_waits(const struct tcpreasm_conn *rc, int dir)
{
	const struct tcp_half	*h = &rc->rc_half[dir];

	return (h->h_held != NULL && h->h_held->s_off <= h->h_next &&
	    !h->h_ended && !half_ready(rc, dir, h->h_held->s_need));
}

/*
 * Deliver the held segments that are now in order and, unless force,
 * whose bytes of the other stream have been delivered.  Returns whether
 * it delivered any.
 */
static int
half_drain(struct tcpreasm *r, struct tcpreasm_conn *rc, int dir,
    const struct timeval *ts, int force)
{
	struct tcp_half	*h = &rc->rc_half[dir];
	struct tcp_seg	*s;
	uint64_t	 skip;
	int		 any = 0;

	while ((s = h->h_held) != NULL && s->s_off <= h->h_next &&
	    !h->h_ended) {
		if (!force && !half_ready(rc, dir, s->s_need))
			break;
		skip = h->h_next - s->s_off;
		if (skip < s->s_len) {
			half_deliver(r, rc, dir, s->s_data + skip,
			    s->s_len - (size_t)skip, ts != NULL ? ts : &s->s_ts,
			    s->s_acked);
			any = 1;
		}
		half_pop(r, h);
		half_check_end(r, h);
	}
	return (any);
}

/* Give up the first hole and deliver what follows it. */
static void
half_skip_hole(struct tcpreasm *r, struct tcpreasm_conn *rc, int dir,
    const struct timeval *ts, int force)
{
	struct tcp_half	*h = &rc->rc_half[dir];
	struct tcp_seg	*s = h->h_held;

	if (s->s_off > h->h_next)
		half_gap(r, rc, dir, s->s_off - h->h_next, &s->s_ts);
	if (!h->h_ended)
		half_drain(r, rc, dir, ts, force);
}

/*
 * Deliver what each stream holds as far as the order of both allows.
 * When each waits for the other, the segment captured earlier goes
 * first.
 */
static void
tcpreasm_settle(struct tcpreasm *r, struct tcpreasm_conn *rc)
{
	struct tcp_seg	*c, *s;
	int		 any;

	for (;;) {
		any = half_drain(r, rc, TCP_DIR_C2S, NULL, 0);
		any |= half_drain(r, rc, TCP_DIR_S2C, NULL, 0);
		if (any)
			continue;
		if (!half_waits(rc, TCP_DIR_C2S) ||
		    !half_waits(rc, TCP_DIR_S2C))
			return;
		c = rc->rc_half[TCP_DIR_C2S].h_held;
		s = rc->rc_half[TCP_DIR_S2C].h_held;
		if (timercmp(&s->s_ts, &c->s_ts, <))
			s->s_need = 0;
		else
			c->s_need = 0;
	}
}

/*
 * The other end acknowledged the stream up to ack: a hole below it
 * reached its receiver unseen, and no retransmission will bring it.
 * Give up such holes at once, when data after them is held, rather than
 * at a memory limit or the close, so that each stream's data reaches the
 * caller about when it was sent.
 */
static void
half_acked(struct tcpreasm *r, struct tcpreasm_conn *rc, int dir,
    uint32_t ack, const struct timeval *ts)
{
	struct tcp_half	*h = &rc->rc_half[dir];
	int64_t		 aoff;

	if (!h->h_started || h->h_ended) {
		rc->rc_conn.unseen[dir] = 0;
		return;
	}
	aoff = (int64_t)h->h_next +
	    (int32_t)(ack - (uint32_t)(h->h_base + (uint32_t)h->h_next));
	if (aoff <= (int64_t)h->h_next)
		rc->rc_conn.unseen[dir] = 0;
	else if (!rc->rc_conn.unseen[dir]) {
		rc->rc_conn.unseen[dir] = 1;
		rc->rc_conn.unseen_ts[dir] = *ts;
	}
	while (h->h_held != NULL && !h->h_ended &&
	    h->h_held->s_off > h->h_next && (int64_t)h->h_held->s_off <= aoff)
		half_skip_hole(r, rc, dir, NULL, 0);
}

/*
 * Deliver everything held, holes as gaps, and a hole before a FIN; for a
 * connection that is closing.
 */
static void
half_flush(struct tcpreasm *r, struct tcpreasm_conn *rc, int dir)
{
	struct tcp_half	*h = &rc->rc_half[dir];

	while (h->h_held != NULL && !h->h_ended)
		half_skip_hole(r, rc, dir, NULL, 1);
	if (h->h_fin && !h->h_ended)
		half_gap(r, rc, dir, h->h_fin_off - h->h_next, &rc->rc_last);
	half_drop(r, h);
}

/*
 * How many bytes of [off, off + len) are not held yet, and in how many
 * pieces.
 */
static size_t
half_uncovered(const struct tcp_half *h, uint64_t off, size_t len,
    size_t *pieces)
{
	const struct tcp_seg	*s;
	uint64_t		 end = off + len, send;
	size_t			 n = 0;

	*pieces = 0;
	if (h->h_tail == NULL ||
	    off >= h->h_tail->s_off + h->h_tail->s_len) {
		*pieces = 1;
		return (len);
	}
	for (s = h->h_held; s != NULL && off < end; s = s->s_next) {
		send = s->s_off + s->s_len;
		if (send <= off)
			continue;
		if (s->s_off >= end)
			break;
		if (s->s_off > off) {
			n += (size_t)(s->s_off - off);
			(*pieces)++;
		}
		off = send;
	}
	if (off < end) {
		n += (size_t)(end - off);
		(*pieces)++;
	}
	return (n);
}

/* Copy [off, off + len) into a new segment and link it after prev. */
static void
half_insert(struct tcpreasm *r, struct tcp_half *h, struct tcp_seg *prev,
    uint64_t off, const uint8_t *data, size_t len, const struct timeval *ts,
    uint64_t need)
{
	struct tcp_seg	*s;

	s = xmalloc(sizeof *s + len);
	s->s_off = off;
	s->s_need = need;
	s->s_acked = r->r_acked;
	s->s_len = len;
	s->s_ts = *ts;
	memcpy(s->s_data, data, len);
	if (prev == NULL) {
		s->s_next = h->h_held;
		h->h_held = s;
	} else {
		s->s_next = prev->s_next;
		prev->s_next = s;
	}
	if (s->s_next == NULL)
		h->h_tail = s;
	tcpreasm_held(r, h, sizeof *s + len, 1);
}

/*
 * Hold the parts of [off, off + len) not held yet; need is where the
 * other stream must be before they are delivered.
 */
static void
half_hold(struct tcpreasm *r, struct tcp_half *h, uint64_t off,
    const uint8_t *data, size_t len, const struct timeval *ts, uint64_t need)
{
	struct tcp_seg	*prev = NULL, *s;
	uint64_t	 end = off + len, send;
	size_t		 n;

	if (h->h_tail != NULL && off >= h->h_tail->s_off + h->h_tail->s_len) {
		half_insert(r, h, h->h_tail, off, data, len, ts, need);
		return;
	}
	s = h->h_held;
	while (off < end) {
		while (s != NULL && s->s_off + s->s_len <= off) {
			prev = s;
			s = s->s_next;
		}
		if (s == NULL || end <= s->s_off) {
			half_insert(r, h, prev, off, data, (size_t)(end - off),
			    ts, need);
			return;
		}
		if (off < s->s_off) {
			n = (size_t)(s->s_off - off);
			half_insert(r, h, prev, off, data, n, ts, need);
			off += n;
			data += n;
		}
		send = s->s_off + s->s_len;
		if (send >= end)
			return;
		data += send - off;
		off = send;
	}
}

/*
 * Take the bytes of one segment at stream offset off into a direction:
 * old bytes dropped, in-order ones delivered from the packet, later
 * ones held (within the limits), and so are in-order ones that must
 * wait until the other stream reaches need (0: none).
 */
static void
half_segment(struct tcpreasm *r, struct tcpreasm_conn *rc, int dir,
    int64_t off, const uint8_t *data, size_t len, const struct timeval *ts,
    uint64_t need)
{
	struct tcp_half	*h = &rc->rc_half[dir];
	uint64_t	 skip, end;
	size_t		 n, pieces, cost;
	int		 trimmed = 0;

	if (len == 0 || h->h_ended)
		return;
	if (off < 0) {		/* before the first byte we started from */
		if ((uint64_t)-off >= len) {
			r->r_stats.retransmits++;
			return;
		}
		data += -off;
		len -= (size_t)-off;
		off = 0;
		trimmed = 1;
	}
	if (h->h_fin) {
		if ((uint64_t)off >= h->h_fin_off)
			return;
		if ((uint64_t)off + len > h->h_fin_off)
			len = (size_t)(h->h_fin_off - (uint64_t)off);
	}
again:
	end = (uint64_t)off + len;
	if (end <= h->h_next) {
		if (trimmed)
			r->r_stats.overlaps++;
		else
			r->r_stats.retransmits++;
		return;
	}
	if ((uint64_t)off < h->h_next) {
		skip = h->h_next - (uint64_t)off;
		data += skip;
		len -= (size_t)skip;
		off = (int64_t)h->h_next;
		trimmed = 1;
	}
	if ((uint64_t)off == h->h_next && (h->h_held == NULL ||
	    h->h_held->s_off > h->h_next) && half_ready(rc, dir, need)) {
		if (trimmed)
			r->r_stats.overlaps++;
		half_deliver(r, rc, dir, data, len, ts, r->r_acked);
		half_check_end(r, h);
		half_drain(r, rc, dir, ts, 0);
		return;
	}

	n = half_uncovered(h, (uint64_t)off, len, &pieces);
	if (n == 0) {
		r->r_stats.retransmits++;
		return;
	}
	cost = n + pieces * sizeof (struct tcp_seg);
	if (h->h_held_bytes + cost > r->r_max_stream ||
	    h->h_nheld + pieces > TCPREASM_SEGS_MAX ||
	    r->r_held + cost > r->r_max_total) {
		if (!rc->rc_cut) {
			rc->rc_cut = 1;
			r->r_stats.cut++;
		}
		if (h->h_held != NULL) {
			half_skip_hole(r, rc, dir, NULL, 1);
			if (h->h_ended)
				return;
			goto again;
		}
		if ((uint64_t)off > h->h_next) {
			half_gap(r, rc, dir, (uint64_t)off - h->h_next, ts);
			goto again;
		}
		/* Only the other stream is awaited: wait no more. */
		half_deliver(r, rc, dir, data, len, ts, r->r_acked);
		half_check_end(r, h);
		return;
	}
	if (trimmed || n != len)
		r->r_stats.overlaps++;
	if ((uint64_t)off > h->h_next)
		r->r_stats.out_of_order++;
	else
		r->r_stats.waited++;
	half_hold(r, h, (uint64_t)off, data, len, ts, need);
}

/*
 * Should the connection close now?  When both streams have ended, or
 * the server's has and nothing is pending from the client.  A client
 * that has closed its side can still be answered (a half-close), so the
 * client's FIN alone keeps the connection open.
 */
static int
tcpreasm_done(const struct tcpreasm_conn *rc)
{
	const struct tcp_half	*c2s = &rc->rc_half[TCP_DIR_C2S];
	const struct tcp_half	*s2c = &rc->rc_half[TCP_DIR_S2C];

	if (!s2c->h_ended)
		return (0);
	if (c2s->h_ended)
		return (1);
	return (c2s->h_held == NULL && !c2s->h_fin);
}

/*
 * Is this data segment, on the 4-tuple of a dead connection, too far
 * from where that connection's stream ended to be part of it?
 */
static int
tcpreasm_is_new(const struct tcpreasm_conn *rc, const struct tcp_pkt *p,
    int src_a)
{
	const struct tcp_half	*h;
	int32_t			 delta;

	if (p->p_len == 0)
		return (0);
	h = &rc->rc_half[src_a == rc->rc_client_a ? TCP_DIR_C2S : TCP_DIR_S2C];
	if (!h->h_started)
		return (0);
	delta = (int32_t)(p->p_seq - (uint32_t)(h->h_base +
	    (uint32_t)h->h_next));
	return (delta < -TCPREASM_DEAD_WINDOW || delta > TCPREASM_DEAD_WINDOW);
}

/* Handle one decoded TCP segment. */
static void
tcpreasm_segment(struct tcpreasm *r, const struct tcp_pkt *p)
{
	struct tcpreasm_conn	*rc;
	struct tcp_half		*h, *o;
	struct tcp_key		 k;
	uint32_t		 seq;
	uint64_t		 need = 0;
	int			 src_a, dir, syn, ack, client_is_src;
	int64_t			 off, aoff;

	tcpreasm_key(p, &k, &src_a);
	rc = tcpreasm_find(r, &k);
	syn = (p->p_flags & TH_SYN) != 0;
	ack = (p->p_flags & TH_ACK) != 0;

	if (rc != NULL && rc->rc_dead) {
		if (!syn && !tcpreasm_is_new(rc, p, src_a)) {
			if (p->p_len != 0)
				r->r_stats.late++;
			return;
		}
		tcpreasm_forget(r, rc);
		rc = NULL;
	}

	if (p->p_flags & TH_RST) {
		if (rc != NULL) {
			rc->rc_last = *p->p_ts;
			tcpreasm_close(r, rc, TCP_CLOSE_RST);
		}
		return;
	}

	/*
	 * A SYN that is not the one this connection began with starts a new
	 * connection on the same 4-tuple: the old one ended unseen.
	 */
	if (rc != NULL && syn && !ack) {
		dir = (src_a == rc->rc_client_a) ? TCP_DIR_C2S : TCP_DIR_S2C;
		h = &rc->rc_half[dir];
		if (dir != TCP_DIR_C2S || !h->h_started ||
		    p->p_seq + 1 != h->h_base) {
			if (rc->rc_half[0].h_fin || rc->rc_half[1].h_fin) {
				tcpreasm_close(r, rc, TCP_CLOSE_FIN);
				tcpreasm_forget(r, rc);
			} else
				tcpreasm_close(r, rc, TCP_CLOSE_END);
			rc = NULL;
		}
	}

	if (rc == NULL) {
		if (!syn && p->p_len == 0)
			return;		/* an ACK or FIN of nothing we know */
		if (syn)
			client_is_src = !ack;
		else if (tcpreasm_is_server_port(r, p->p_dport) !=
		    tcpreasm_is_server_port(r, p->p_sport))
			client_is_src = tcpreasm_is_server_port(r, p->p_dport);
		else if (p->p_sport != p->p_dport)
			client_is_src = p->p_sport > p->p_dport;
		else
			client_is_src = 1;
		rc = tcpreasm_open(r, p, &k, src_a, client_is_src);
		if (!syn || ack)
			r->r_stats.no_syn++;
		if (syn && ack) {
			/* The SYN-ACK acknowledges the client's ISN + 1. */
			h = &rc->rc_half[TCP_DIR_C2S];
			h->h_started = h->h_syn = 1;
			h->h_base = p->p_ack;
		}
	} else if (rc != TAILQ_LAST(&r->r_lru, tcpreasm_lru)) {
		TAILQ_REMOVE(&r->r_lru, rc, rc_lru);
		TAILQ_INSERT_TAIL(&r->r_lru, rc, rc_lru);
	}
	rc->rc_last = *p->p_ts;

	dir = (src_a == rc->rc_client_a) ? TCP_DIR_C2S : TCP_DIR_S2C;
	h = &rc->rc_half[dir];
	if (ack && !syn)
		half_acked(r, rc, !dir, p->p_ack, p->p_ts);
	/*
	 * The other stream's bytes this segment acknowledges were sent
	 * before it: where that stream must be before its data goes on.
	 * An ACK further ahead than a stream is ever held is not trusted.
	 */
	o = &rc->rc_half[!dir];
	if (ack && !syn && p->p_len != 0 && o->h_started && !o->h_ended) {
		aoff = (int64_t)o->h_next + (int32_t)(p->p_ack -
		    (uint32_t)(o->h_base + (uint32_t)o->h_next));
		if (aoff > (int64_t)o->h_next &&
		    (uint64_t)aoff - o->h_next <= r->r_max_stream)
			need = (uint64_t)aoff;
	}
	/* Where this segment says the other stream stood, for the caller. */
	r->r_acked = 0;
	if (ack && !syn && o->h_started) {
		aoff = (int64_t)o->h_next + (int32_t)(p->p_ack -
		    (uint32_t)(o->h_base + (uint32_t)o->h_next));
		if (aoff >= 0)
			r->r_acked = (uint64_t)aoff + 1;
	}
	seq = syn ? p->p_seq + 1 : p->p_seq;
	/*
	 * A bare ACK does not start a stream: a keep-alive probe carries
	 * the sequence number before the next byte.
	 */
	if (!h->h_started && !syn && p->p_len == 0 &&
	    (p->p_flags & TH_FIN) == 0)
		goto out;
	if (!h->h_started) {
		h->h_started = 1;
		h->h_syn = syn;
		h->h_base = seq;
	} else if (syn && h->h_syn && seq != h->h_base)
		return;		/* a SYN-ACK that disagrees with the first */

	/* Serial arithmetic against the next expected sequence number. */
	off = (int64_t)h->h_next +
	    (int32_t)(seq - (uint32_t)(h->h_base + (uint32_t)h->h_next));

	if ((p->p_flags & TH_FIN) && !h->h_fin &&
	    off + (int64_t)p->p_len >= (int64_t)h->h_next) {
		h->h_fin = 1;
		h->h_fin_off = (uint64_t)(off + (int64_t)p->p_len);
		half_check_end(r, h);
	}
	half_segment(r, rc, dir, off, p->p_data, p->p_len, p->p_ts, need);
	if (h->h_fin)
		half_check_end(r, h);
out:
	tcpreasm_settle(r, rc);
	if (tcpreasm_done(rc))
		tcpreasm_close(r, rc, TCP_CLOSE_FIN);
}

/*
 * Take one captured frame of link type dlt.  Returns 1 for a TCP segment
 * used, 0 for a frame skipped (not TCP, an IP fragment), -1 for a
 * truncated or malformed one (counted in bad).
 */
int
tcpreasm_packet(struct tcpreasm *r, int dlt, const struct timeval *ts,
    const uint8_t *b, size_t caplen)
{
	struct tcp_pkt	 p;
	const uint8_t	*ip, *tcp;
	size_t		 iplen, tcplen, doff;
	int		 v, rv;

	r->r_stats.packets++;
	tcpreasm_purge(r, ts, TCPREASM_DEAD_SECS);
	v = tcpreasm_link(dlt, b, caplen, &ip, &iplen);
	if (v == 4)
		rv = tcpreasm_ipv4(r, ip, iplen, &p, &tcp, &tcplen);
	else if (v == 6)
		rv = tcpreasm_ipv6(r, ip, iplen, &p, &tcp, &tcplen);
	else if (v == 0) {
		r->r_stats.not_tcp++;
		return (0);
	} else
		rv = -1;
	if (rv == 1) {
		if (tcplen < 20)
			rv = -1;
		else {
			doff = (size_t)(tcp[12] >> 4) * 4;
			if (doff < 20 || doff > tcplen)
				rv = -1;
			else if ((tcp[13] & TH_SYN) &&
			    (tcp[13] & (TH_RST | TH_FIN)))
				rv = -1;
		}
	}
	if (rv != 1) {
		if (rv < 0)
			r->r_stats.bad++;
		return (rv);
	}

	p.p_sport = get16(tcp);
	p.p_dport = get16(tcp + 2);
	p.p_seq = get32(tcp + 4);
	p.p_ack = get32(tcp + 8);
	p.p_flags = tcp[13];
	p.p_data = tcp + doff;
	p.p_len = tcplen - doff;
	p.p_ts = ts;
	tcpreasm_segment(r, &p);
	return (1);
}

/* Take a connection out of the table and free it. */
static void
tcpreasm_forget(struct tcpreasm *r, struct tcpreasm_conn *rc)
{
	struct tcpreasm_conn	**pp;

	pp = &r->r_buckets[tcpreasm_hash(r, &rc->rc_key)];
	while (*pp != rc)
		pp = &(*pp)->rc_hnext;
	*pp = rc->rc_hnext;
	if (rc->rc_dead)
		TAILQ_REMOVE(&r->r_dead, rc, rc_lru);
	else {
		TAILQ_REMOVE(&r->r_lru, rc, rc_lru);
		r->r_nlive--;
	}
	r->r_nconns--;
	free(rc);
}

/*
 * Close a connection: flush both streams and tell the caller.  After FIN
 * or RST it stays in the table, dead, for a while; else it is freed.
 */
static void
tcpreasm_close(struct tcpreasm *r, struct tcpreasm_conn *rc, int how)
{
	tcpreasm_settle(r, rc);
	half_flush(r, rc, TCP_DIR_C2S);
	half_flush(r, rc, TCP_DIR_S2C);
	if (r->r_cbs.close != NULL)
		r->r_cbs.close(r->r_arg, &rc->rc_conn, how);
	if (how != TCP_CLOSE_FIN && how != TCP_CLOSE_RST) {
		tcpreasm_forget(r, rc);
		return;
	}
	TAILQ_REMOVE(&r->r_lru, rc, rc_lru);
	r->r_nlive--;
	rc->rc_dead = 1;
	TAILQ_INSERT_TAIL(&r->r_dead, rc, rc_lru);
}

/*
 * Set limit to secs seconds before now.  A time near the least time_t (a
 * packet's time stamp is whatever its file says) gives the least time
 * rather than wrapping to the far future, which would end every
 * connection.
 */
static void
tcpreasm_before(const struct timeval *now, unsigned secs,
    struct timeval *limit)
{
	time_t	 least = sizeof (time_t) == sizeof (int64_t) ?
		    (time_t)INT64_MIN : (time_t)INT32_MIN;

	if (now->tv_sec < least + (time_t)secs)
		limit->tv_sec = least;
	else
		limit->tv_sec = now->tv_sec - (time_t)secs;
	limit->tv_usec = now->tv_usec;
}

/* Forget the dead connections closed more than secs before now. */
static void
tcpreasm_purge(struct tcpreasm *r, const struct timeval *now, unsigned secs)
{
	struct tcpreasm_conn	*rc;
	struct timeval		 limit;

	tcpreasm_before(now, secs, &limit);
	while ((rc = TAILQ_FIRST(&r->r_dead)) != NULL &&
	    timercmp(&rc->rc_last, &limit, <))
		tcpreasm_forget(r, rc);
}

/* Close the connections idle for more than secs seconds before now. */
void
tcpreasm_expire(struct tcpreasm *r, const struct timeval *now, unsigned secs)
{
	struct tcpreasm_conn	*rc;
	struct timeval		 limit;

	tcpreasm_before(now, secs, &limit);
	while ((rc = TAILQ_FIRST(&r->r_lru)) != NULL) {
		if (!timercmp(&rc->rc_last, &limit, <))
			break;
		tcpreasm_close(r, rc, TCP_CLOSE_IDLE);
	}
	tcpreasm_purge(r, now, TCPREASM_DEAD_SECS);
}

/* Order connections by id. */
static int
tcpreasm_cmp_id(const void *a, const void *b)
{
	const struct tcpreasm_conn	*ca = *(struct tcpreasm_conn *const *)a;
	const struct tcpreasm_conn	*cb = *(struct tcpreasm_conn *const *)b;

	if (ca->rc_conn.id < cb->rc_conn.id)
		return (-1);
	return (ca->rc_conn.id > cb->rc_conn.id);
}

/*
 * Close every connection (TCP_CLOSE_END), oldest first, and forget the
 * dead ones: the input has ended.
 */
void
tcpreasm_finish(struct tcpreasm *r)
{
	struct tcpreasm_conn	**all, *rc;
	size_t			  n = 0, i;

	if (r->r_nlive != 0) {
		all = xreallocarray(NULL, r->r_nlive, sizeof *all);
		TAILQ_FOREACH(rc, &r->r_lru, rc_lru)
			all[n++] = rc;
		qsort(all, n, sizeof *all, tcpreasm_cmp_id);
		for (i = 0; i < n; i++)
			tcpreasm_close(r, all[i], TCP_CLOSE_END);
		free(all);
	}
	while ((rc = TAILQ_FIRST(&r->r_dead)) != NULL)
		tcpreasm_forget(r, rc);
}

/* What reassembly saw so far. */
const struct tcpreasm_stats *
tcpreasm_stats(const struct tcpreasm *r)
{
	return (&r->r_stats);
}

/*
 * Free a reassembler.  Connections still open are dropped without a
 * callback: the caller may have freed what their user points to.  Call
 * tcpreasm_finish first to have them closed.
 */
void
tcpreasm_free(struct tcpreasm *r)
{
	struct tcpreasm_conn	*rc;

	if (r == NULL)
		return;
	while ((rc = TAILQ_FIRST(&r->r_lru)) != NULL) {
		half_drop(r, &rc->rc_half[TCP_DIR_C2S]);
		half_drop(r, &rc->rc_half[TCP_DIR_S2C]);
		tcpreasm_forget(r, rc);
	}
	while ((rc = TAILQ_FIRST(&r->r_dead)) != NULL)
		tcpreasm_forget(r, rc);
	free(r->r_buckets);
	free(r->r_ports);
	free(r);
}
