/*
 * libparitytap-preload: one stream per fd.  What the fd is (a TCP socket
 * over IPv4 or IPv6 is recorded, anything else is not), which side is the
 * client, and the synthesized TCP segments of what crossed it: the
 * handshake, the data with consistent sequence numbers, the end.
 */

#include "preload-internal.h"

struct pt_stream	*volatile pt_chunks[PT_NCHUNKS];

/*
 * One socket can be open on several fds (dup2 onto 0 and 1 by an inetd
 * or a forking server, fds inherited across exec): a connection is the
 * socket, known by its inode, not the fd.  This table finds the fd whose
 * stream holds a socket's connection; the other fds of the socket are
 * aliases of that stream.  An entry is a hint, checked against the
 * stream it names; a socket not found in its probe window (a full table)
 * is recorded per fd, as if it had no other fd.
 */
#define PT_INOS		65536
#define PT_INO_PROBE	8
static struct {
	volatile ino_t	 ino;
	volatile int	 fd;
}			 pt_inos[PT_INOS];

/* Return the stream of an fd, allocating its chunk if create is set. */
struct pt_stream *
pt_stream_get(int fd, int create)
{
	struct pt_stream	*chunk, *expected = NULL;
	void			*p;

	if (fd < 0 || fd >= PT_MAXFD)
		return (NULL);
	chunk = __atomic_load_n(&pt_chunks[fd / PT_CHUNK], __ATOMIC_ACQUIRE);
	if (chunk == NULL) {
		if (!create)
			return (NULL);
		p = mmap(NULL, PT_CHUNK * sizeof *chunk, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return (NULL);
		if (!__atomic_compare_exchange_n(&pt_chunks[fd / PT_CHUNK],
		    &expected, p, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			munmap(p, PT_CHUNK * sizeof *chunk);
			chunk = expected;
		} else
			chunk = p;
	}
	return (&chunk[fd % PT_CHUNK]);
}

/* Whether fd's stream holds the connection of socket ino itself. */
static int
pt_ino_owner(int fd, ino_t ino)
{
	struct pt_stream	*st;

	if ((st = pt_stream_get(fd, 0)) == NULL)
		return (0);
	return (__atomic_load_n(&st->kind, __ATOMIC_RELAXED) == PT_TCP &&
	    st->ino == ino && st->alias == 0);
}

/* The fd other than self holding socket ino's connection, or -1. */
static int
pt_ino_find(ino_t ino, int self)
{
	size_t	 h, i;
	int	 fd;

	h = (size_t)ino % PT_INOS;
	for (i = 0; i < PT_INO_PROBE; i++) {
		if (pt_inos[(h + i) % PT_INOS].ino != ino)
			continue;
		fd = pt_inos[(h + i) % PT_INOS].fd;
		if (fd != self && pt_ino_owner(fd, ino))
			return (fd);
	}
	return (-1);
}

/* Note that fd holds socket ino's connection: a free or stale slot. */
static void
pt_ino_set(ino_t ino, int fd)
{
	size_t	 h, i, slot;

	h = (size_t)ino % PT_INOS;
	for (i = 0; i < PT_INO_PROBE; i++) {
		slot = (h + i) % PT_INOS;
		if (pt_inos[slot].ino == ino || pt_inos[slot].ino == 0 ||
		    !pt_ino_owner(pt_inos[slot].fd, pt_inos[slot].ino)) {
			pt_inos[slot].ino = 0;
			pt_inos[slot].fd = fd;
			pt_inos[slot].ino = ino;
			return;
		}
	}
}

/* Fill an end from a socket address; return 0, or -1 if not IP. */
static int
pt_end_set(struct pt_end *e, const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	static const uint8_t		 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
					    0, 0, 0xff, 0xff };

	memset(e, 0, sizeof *e);
	switch (ss->ss_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)ss;
		e->family = AF_INET;
		memcpy(e->addr, &sin->sin_addr, 4);
		e->port = sin->sin_port;
		return (0);
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)ss;
		e->port = sin6->sin6_port;
		if (memcmp(&sin6->sin6_addr, mapped, 12) == 0) {
			e->family = AF_INET;
			memcpy(e->addr, (const uint8_t *)&sin6->sin6_addr + 12,
			    4);
		} else {
			e->family = AF_INET6;
			memcpy(e->addr, &sin6->sin6_addr, 16);
		}
		return (0);
	}
	return (-1);
}

/* Whether a port (network order) is in the filter. */
static int
pt_port_wanted(uint16_t port)
{
	size_t	 i;

	for (i = 0; i < pt_nports; i++) {
		if (pt_ports[i] == ntohs(port))
			return (1);
	}
	return (0);
}

/*
 * Which side opened a connection the library did not see open (inherited,
 * or made by a dup the library does not interpose): the side on a port of
 * the kernel's outgoing range is the client.  When both ports or neither
 * are in that range (a server listening on a port of the range, as a
 * port-0 bind gets), it is left open: the side that speaks first is the
 * client, as in HTTP (pt_data).
 */
static enum pt_role
pt_guess_role(unsigned local, unsigned peer)
{
	int	 le, pe;

	le = local >= pt_eph_low && local <= pt_eph_high;
	pe = peer >= pt_eph_low && peer <= pt_eph_high;
	if (le != pe)
		return (le ? PT_ROLE_CLIENT : PT_ROLE_SERVER);
	return (PT_ROLE_GUESS);
}

/*
 * Take (n 1) or give back (n -1) a reference to the stream fd holds for
 * socket ino; return 0 if that stream is not there (or busy).
 */
static int
pt_alias_ref(int fd, ino_t ino, int n)
{
	struct pt_stream	*p;
	int			 ok = 0;

	if ((p = pt_stream_get(fd, 0)) == NULL || !pt_trylock(&p->lock))
		return (0);
	if (p->kind == PT_TCP && p->ino == ino && p->alias == 0) {
		p->refs += n;
		ok = 1;
	}
	pt_unlock(&p->lock);
	return (ok);
}

/*
 * Look at an fd the library has not seen: a TCP socket over IPv4 or IPv6
 * with both ends known (and a port in the filter) is recorded; anything
 * else is ignored until the fd is closed.  The stream's lock is held.
 */
void
pt_classify(int fd, struct pt_stream *st)
{
	struct sockaddr_storage	 ss;
	struct stat		 sb;
	socklen_t		 len;
	int			 type, other;

	st->kind = PT_IGNORED;
	len = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
	    type != SOCK_STREAM)
		return;
	len = sizeof ss;
	memset(&ss, 0, sizeof ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    pt_end_set(&st->local, &ss) != 0)
		return;
	len = sizeof ss;
	memset(&ss, 0, sizeof ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return;	/* not connected yet: look again later */
	if (pt_end_set(&st->peer, &ss) != 0 ||
	    st->local.family != st->peer.family)
		return;
	if (pt_nports > 0 && !pt_port_wanted(st->local.port) &&
	    !pt_port_wanted(st->peer.port))
		return;
	if (st->role == PT_ROLE_GUESS)
		st->role = pt_guess_role(ntohs(st->local.port),
		    ntohs(st->peer.port));
	st->nonblock = (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
	st->started = 0;
	st->tls = 0;
	st->socket_data = 0;
	st->full = 0;
	st->bytes = 0;
	st->alias = 0;
	st->refs = 0;
	st->ino = 0;
	if (fstat(fd, &sb) == 0 && sb.st_ino != 0) {
		st->ino = sb.st_ino;
		if ((other = pt_ino_find(sb.st_ino, fd)) != -1 &&
		    pt_alias_ref(other, sb.st_ino, 1))
			st->alias = other + 1;
		else
			pt_ino_set(sb.st_ino, fd);
	}
	st->kind = PT_TCP;
}

/* Write the handshake of a stream that has none in this file yet. */
static void
pt_start(struct pt_stream *st)
{
	struct pt_end	*c, *s;
	struct pt_frame	 f;
	uint32_t	 cseq, sseq, isn;

	if (st->started)
		return;
	if (st->local_seq == 0 && st->peer_seq == 0) {
		isn = __atomic_add_fetch(&pt_isn, 0x01000193u,
		    __ATOMIC_RELAXED);
		st->local_seq = isn + 1;
		st->peer_seq = (isn ^ 0x5bd1e995u) + 1;
		if (st->peer_seq == 0)
			st->peer_seq = 1;
	}
	if (st->role == PT_ROLE_CLIENT) {
		c = &st->local;
		s = &st->peer;
		cseq = st->local_seq;
		sseq = st->peer_seq;
	} else {
		c = &st->peer;
		s = &st->local;
		cseq = st->peer_seq;
		sseq = st->local_seq;
	}
	pt_frame(&f, c, s, cseq - 1, 0, TH_SYN, 0);
	pt_emit(&f, NULL, 0, 0);
	pt_frame(&f, s, c, sseq - 1, cseq, TH_SYN | TH_ACK, 0);
	pt_emit(&f, NULL, 0, 0);
	pt_frame(&f, c, s, cseq, sseq, TH_ACK, 0);
	pt_emit(&f, NULL, 0, 0);
	st->started = 1;
	PT_COUNT(streams, 1);
}

/*
 * Record len bytes held in iov (in order) as segments from one side:
 * out set is local -> peer.  The stream's lock is held.
 */
void
pt_data(struct pt_stream *st, int out, const struct iovec *iov, int iovcnt,
    size_t len)
{
	struct pt_frame	 f;
	struct iovec	 pay[64];
	const uint8_t	*base;
	size_t		 off = 0, seg, take, avail;
	int		 i = 0, npay;
	uint32_t	*seq, *ack;

	if (len == 0)
		return;
	if (st->role == PT_ROLE_GUESS)
		st->role = out ? PT_ROLE_CLIENT : PT_ROLE_SERVER;
	if (pt_max_bytes != 0 && st->bytes + len > pt_max_bytes) {
		seg = st->bytes < pt_max_bytes ? pt_max_bytes - st->bytes : 0;
		PT_COUNT(truncated_bytes, len - seg);
		st->full = 1;
		len = seg;
		if (len == 0)
			return;
	}
	pt_start(st);
	seq = out ? &st->local_seq : &st->peer_seq;
	ack = out ? &st->peer_seq : &st->local_seq;
	while (len > 0 && i < iovcnt) {
		seg = len < PT_SEGMENT ? len : PT_SEGMENT;
		npay = 0;
		take = 0;
		while (take < seg && i < iovcnt && npay < 64) {
			base = (const uint8_t *)iov[i].iov_base + off;
			avail = iov[i].iov_len - off;
			if (avail > seg - take)
				avail = seg - take;
			if (avail > 0) {
				pay[npay].iov_base = (void *)base;
				pay[npay].iov_len = avail;
				npay++;
				take += avail;
			}
			off += avail;
			if (off == iov[i].iov_len) {
				i++;
				off = 0;
			}
		}
		if (take == 0)
			break;
		if (out)
			pt_frame(&f, &st->local, &st->peer, *seq, *ack,
			    TH_ACK | TH_PSH, take);
		else
			pt_frame(&f, &st->peer, &st->local, *seq, *ack,
			    TH_ACK | TH_PSH, take);
		if (pt_emit(&f, pay, npay, take) == 0)
			PT_COUNT(bytes, take);
		*seq += (uint32_t)take;
		st->bytes += take;
		len -= take;
	}
}

/* Write the end of a started stream: both FINs and the last ACK. */
void
pt_finish(struct pt_stream *st)
{
	struct pt_frame	 f;

	if (st->kind == PT_TCP && st->started) {
		pt_frame(&f, &st->local, &st->peer, st->local_seq,
		    st->peer_seq, TH_FIN | TH_ACK, 0);
		pt_emit(&f, NULL, 0, 0);
		pt_frame(&f, &st->peer, &st->local, st->peer_seq,
		    st->local_seq + 1, TH_FIN | TH_ACK, 0);
		pt_emit(&f, NULL, 0, 0);
		pt_frame(&f, &st->local, &st->peer, st->local_seq + 1,
		    st->peer_seq + 1, TH_ACK, 0);
		pt_emit(&f, NULL, 0, 0);
	}
}

/* Forget a stream: its fd is closed or replaced. */
static void
pt_reset(struct pt_stream *st)
{
	volatile int	 lock = st->lock;

	memset(st, 0, sizeof *st);
	st->lock = lock;
}

/* Whether a payload starts like a TLS record (handshake, version 3.x). */
static int
pt_looks_tls(const struct iovec *iov, int iovcnt)
{
	uint8_t	 b[2];
	size_t	 got = 0, n;
	int	 i;

	for (i = 0; i < iovcnt && got < 2; i++) {
		n = iov[i].iov_len < 2 - got ? iov[i].iov_len : 2 - got;
		memcpy(b + got, iov[i].iov_base, n);
		got += n;
	}
	return (got == 2 && b[0] == 0x16 && b[1] == 0x03);
}

/*
 * Record len bytes of socket-level traffic on fd.  A stream whose first
 * bytes are a TLS handshake is marked TLS: its ciphertext is not kept,
 * only what SSL_read/SSL_write return.
 */
static void
pt_record(int fd, int out, const struct iovec *iov, int iovcnt, size_t len)
{
	struct pt_stream	*st;
	ino_t			 ino;
	int			 alias;

	if (len == 0 || (st = pt_stream_get(fd, 1)) == NULL)
		return;
	if (__atomic_load_n(&st->kind, __ATOMIC_RELAXED) == PT_IGNORED)
		return;
	pt_depth++;
	if (!pt_trylock(&st->lock)) {
		PT_COUNT(dropped, 1);
		PT_COUNT(dropped_bytes, len);
		goto out;
	}
	if (st->kind == PT_UNKNOWN)
		pt_classify(fd, st);
	if (st->kind == PT_TCP && st->alias != 0) {
		/* Another fd of the same socket: its stream is the one. */
		alias = st->alias - 1;
		ino = st->ino;
		pt_unlock(&st->lock);
		if ((st = pt_stream_get(alias, 0)) == NULL)
			goto out;
		if (!pt_trylock(&st->lock)) {
			PT_COUNT(dropped, 1);
			PT_COUNT(dropped_bytes, len);
			goto out;
		}
		if (st->kind != PT_TCP || st->ino != ino || st->alias != 0) {
			/* Its holder went without handing it on: drop. */
			pt_unlock(&st->lock);
			PT_COUNT(dropped, 1);
			PT_COUNT(dropped_bytes, len);
			goto out;
		}
	}
	if (st->kind == PT_TCP && !st->tls) {
		/*
		 * A TLS handshake at the socket: what SSL_* calls return is
		 * recorded, if the program makes them (2 until it does).
		 */
		if (!st->socket_data && pt_looks_tls(iov, iovcnt))
			st->tls = 2;
		else {
			st->socket_data = 1;
			pt_data(st, out, iov, iovcnt, len);
		}
	}
	pt_unlock(&st->lock);
out:
	pt_depth--;
}

/* Record a plain buffer. */
void
pt_record_buf(int fd, int out, const void *buf, size_t len)
{
	struct iovec	 iov;

	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	pt_record(fd, out, &iov, 1, len);
}

/* Record the first len bytes of an iovec array. */
void
pt_record_iov(int fd, int out, const struct iovec *iov, int iovcnt,
    ssize_t n)
{
	if (n > 0 && iov != NULL && iovcnt > 0)
		pt_record(fd, out, iov, iovcnt, (size_t)n);
}

/* A new connection on fd (accept or connect): forget what was there. */
void
pt_new_conn(int fd, enum pt_role role)
{
	struct pt_stream	*st;

	if ((st = pt_stream_get(fd, 1)) == NULL)
		return;
	pt_depth++;
	if (pt_trylock(&st->lock)) {
		pt_reset(st);
		st->role = role;
		pt_unlock(&st->lock);
	}
	pt_depth--;
}

/* Call fn on each fd whose stream is an alias of fd's for socket ino. */
static int
pt_aliases(int fd, ino_t ino, int (*fn)(int, struct pt_stream *, void *),
    void *arg)
{
	struct pt_stream	*chunk;
	int			 c, i;

	for (c = 0; c < PT_NCHUNKS; c++) {
		if ((chunk = __atomic_load_n(&pt_chunks[c],
		    __ATOMIC_ACQUIRE)) == NULL)
			continue;
		for (i = 0; i < PT_CHUNK; i++) {
			if (chunk[i].alias == fd + 1 && chunk[i].ino == ino &&
			    chunk[i].kind == PT_TCP &&
			    fn(c * PT_CHUNK + i, &chunk[i], arg))
				return (1);
		}
	}
	return (0);
}

/* Move a stream (locked) to the alias a, which takes it on. */
static int
pt_take_over(int a, struct pt_stream *to, void *arg)
{
	struct pt_stream	*from = arg;
	volatile int		 lock;

	if (!pt_trylock(&to->lock))
		return (0);
	if (to->alias == 0 || to->ino != from->ino) {
		pt_unlock(&to->lock);
		return (0);
	}
	lock = to->lock;
	memcpy(to, from, sizeof *to);
	to->lock = lock;
	to->alias = 0;
	to->refs = from->refs - 1;
	pt_ino_set(to->ino, a);
	pt_unlock(&to->lock);
	return (1);
}

/* Point an alias of the old holder at the new one. */
static int
pt_repoint(int a, struct pt_stream *st, void *arg)
{
	(void)a;
	__atomic_store_n(&st->alias, *(int *)arg + 1, __ATOMIC_RELAXED);
	return (0);
}

/*
 * The fd holding a stream that other fds of its socket still use goes:
 * one of them takes the stream on, so the connection goes on in one
 * stream until its last fd goes.  Return 1 if one did.
 */
static int
pt_hand_on(int fd, struct pt_stream *st)
{
	struct pt_stream	 copy;
	int			 a = -1;

	copy = *st;
	if (!pt_aliases(fd, st->ino, pt_take_over, st))
		return (0);
	/* The one that took it is no longer an alias: find it by inode. */
	if ((a = pt_ino_find(copy.ino, fd)) == -1)
		return (1);
	pt_aliases(fd, copy.ino, pt_repoint, &a);
	return (1);
}

/*
 * The fd is about to be closed or replaced: end its stream.  Return 1 if
 * it was a recorded connection.
 */
int
pt_fd_gone(int fd)
{
	struct pt_stream	*st;
	ino_t			 ino;
	int			 was = 0, alias;

	if ((st = pt_stream_get(fd, 0)) == NULL)
		return (0);
	pt_depth++;
	if (pt_trylock(&st->lock)) {
		if (st->kind == PT_TCP && st->alias != 0) {
			alias = st->alias - 1;
			ino = st->ino;
			pt_reset(st);
			pt_unlock(&st->lock);
			pt_alias_ref(alias, ino, -1);
			goto out;
		}
		if (st->kind == PT_TCP && st->refs > 0 && pt_hand_on(fd, st)) {
			pt_reset(st);
			pt_unlock(&st->lock);
			goto out;
		}
		was = st->kind == PT_TCP && st->started;
		if (st->kind == PT_TCP && st->tls == 2)
			pt_note("tls", 1);
		pt_finish(st);
		pt_reset(st);
		pt_unlock(&st->lock);
	} else {
		/* Whoever holds it sees a fresh stream next time. */
		__atomic_store_n(&st->kind, PT_UNKNOWN, __ATOMIC_RELAXED);
		PT_COUNT(dropped, 1);
	}
out:
	pt_depth--;
	return (was);
}

/*
 * Record what sendfile sent: n bytes of in_fd from offset start, read
 * back with pread (which moves no file offset) in pieces.
 */
void
pt_record_sendfile(int out_fd, int in_fd, off_t start, ssize_t n)
{
	struct pt_stream	*st;
	char			 buf[16384];
	struct iovec		 iov;
	ssize_t			 got;

	st = pt_stream_get(out_fd, 0);
	if (st != NULL && st->kind == PT_IGNORED)
		return;
	while (n > 0) {
		got = pread(in_fd, buf, (size_t)n < sizeof buf ? (size_t)n :
		    sizeof buf, start);
		if (got <= 0) {
			PT_COUNT(write_errors, 1);
			return;
		}
		iov.iov_base = buf;
		iov.iov_len = (size_t)got;
		pt_record(out_fd, 1, &iov, 1, (size_t)got);
		start += got;
		n -= got;
	}
}

/* After a dup onto newfd: it is the connection oldfd is, from the start. */
void
pt_dup_done(int oldfd, int newfd)
{
	struct pt_stream	*st;

	if ((st = pt_stream_get(oldfd, 0)) != NULL)
		pt_new_conn(newfd, (enum pt_role)st->role);
}
