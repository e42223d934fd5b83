/*
 * libparitytap-preload: an LD_PRELOAD library that records the TCP
 * traffic of the process it is loaded into as a pcap of synthesized TCP
 * segments, for paritytap import.  See libparitytap-preload(8).
 *
 * The rules it keeps (DESIGN §9): the host program sees exactly what it
 * would see without the library.  Every interposed function calls the
 * real one first and records only what that returned; errno is saved
 * after the real call and restored before returning; nothing here
 * allocates with malloc, installs a signal handler, exits or aborts.
 * State lives in fd-indexed tables allocated with mmap, each stream has a
 * try-lock (a lock that cannot be taken after a few tries drops the
 * record and counts it), a per-thread depth counter keeps the library's
 * own I/O (and the socket I/O under SSL_read/SSL_write) out of the
 * record, and after fork the child starts a file of its own.  Records
 * gather in one buffer, in the order they happen, written out before the
 * program waits (poll, epoll_wait, select, a blocking read, accept), at a
 * connection's end, when full or old, and at fork and exit.
 *
 * The file's layout: the interposed-call plumbing (real functions,
 * configuration), the output file and its buffer, the synthesized
 * segments, the per-fd streams, then the interposed functions.
 */

#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <netinet/in.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PT_EXPORT	__attribute__((visibility("default")))

/* The interposed functions libc's headers do not declare. */
PT_EXPORT ssize_t	__read_chk(int, void *, size_t, size_t);
PT_EXPORT ssize_t	__recv_chk(int, void *, size_t, size_t, int);
PT_EXPORT ssize_t	__recvfrom_chk(int, void *, size_t, size_t, int,
			    struct sockaddr *, socklen_t *);
PT_EXPORT int		SSL_read(void *, void *, int);
PT_EXPORT int		SSL_write(void *, const void *, int);
PT_EXPORT int		SSL_read_ex(void *, void *, size_t, size_t *);
PT_EXPORT int		SSL_write_ex(void *, const void *, size_t, size_t *);
PT_EXPORT int		__poll_chk(struct pollfd *, nfds_t, int, size_t);

/* Streams live in chunks of PT_CHUNK fds, PT_NCHUNKS chunks at most. */
#define PT_CHUNK	256
#define PT_NCHUNKS	1024
#define PT_MAXFD	(PT_CHUNK * PT_NCHUNKS)

/* Largest TCP payload in one synthesized segment. */
#define PT_SEGMENT	65000

/* Tries at a busy stream lock (yielding between) before a record drops. */
#define PT_LOCK_TRIES	64

/*
 * Records gather in a buffer of PT_BUF_SIZE bytes, written out when it is
 * full, when its first record is PT_BUF_AGE_US old, and before the
 * program waits (poll, epoll_wait, select, read, accept, ...).
 */
#define PT_BUF_SIZE	(256 * 1024)
#define PT_BUF_AGE_US	100000
#define PT_BUF_TRIES	512

/* Ports in the port filter. */
#define PT_MAXPORTS	64

/* The pcap link type: Ethernet, so that every reader decodes it. */
#define PT_LINKTYPE	1
#define PT_SNAPLEN	262144

/* Where the library's own fd goes: at or above this, below RLIMIT_NOFILE. */
#define PT_FD_HIGH	900

/* What an fd is, as far as the library knows. */
enum pt_kind {
	PT_UNKNOWN = 0,	/* not looked at since it was opened */
	PT_IGNORED,	/* not a TCP socket, or filtered out */
	PT_TCP		/* a TCP socket: recorded */
};

/* Who opened the connection. */
enum pt_role {
	PT_ROLE_GUESS = 0,	/* inherited or unknown: guessed from ports */
	PT_ROLE_CLIENT,		/* connect(): the local side is the client */
	PT_ROLE_SERVER		/* accept(): the peer is the client */
};

/* One end of a connection. */
struct pt_end {
	int		 family;	/* AF_INET or AF_INET6 */
	uint8_t		 addr[16];
	uint16_t	 port;		/* network order */
};

/* One fd's stream. */
struct pt_stream {
	volatile int	 lock;
	unsigned char	 kind;		/* enum pt_kind */
	unsigned char	 role;		/* enum pt_role */
	unsigned char	 started;	/* handshake written to this file */
	unsigned char	 tls;		/* TLS: only SSL_* plaintext is kept */
	unsigned char	 socket_data;	/* socket-level bytes recorded */
	unsigned char	 full;		/* over the per-stream byte limit */
	unsigned char	 nonblock;	/* O_NONBLOCK when first looked at */
	struct pt_end	 local;
	struct pt_end	 peer;
	uint32_t	 local_seq;	/* next sequence number, local -> peer */
	uint32_t	 peer_seq;	/* next sequence number, peer -> local */
	uint64_t	 bytes;		/* payload recorded */
};

/* A synthesized frame's headers: Ethernet, IPv4 or IPv6, TCP. */
struct pt_frame {
	uint8_t		 b[16 + 14 + 40 + 20];
	size_t		 len;		/* bytes of b after the pcap header */
	uint64_t	 us;		/* its timestamp, in microseconds */
};

/* Counters, written to PREFIX.PID.stats at exit. */
struct pt_stats {
	unsigned long	 packets;
	unsigned long	 bytes;
	unsigned long	 streams;
	unsigned long	 dropped;	/* records lost to a busy lock */
	unsigned long	 dropped_bytes;
	unsigned long	 write_errors;
	unsigned long	 truncated_bytes;	/* over the per-stream limit */
	unsigned long	 ssl_no_fd;	/* SSL_* without a socket fd */
};

/* The real functions. */
static ssize_t	(*real_read)(int, void *, size_t);
static ssize_t	(*real_readv)(int, const struct iovec *, int);
static ssize_t	(*real_recv)(int, void *, size_t, int);
static ssize_t	(*real_recvfrom)(int, void *, size_t, int, struct sockaddr *,
		    socklen_t *);
static ssize_t	(*real_recvmsg)(int, struct msghdr *, int);
static ssize_t	(*real_write)(int, const void *, size_t);
static ssize_t	(*real_writev)(int, const struct iovec *, int);
static ssize_t	(*real_send)(int, const void *, size_t, int);
static ssize_t	(*real_sendto)(int, const void *, size_t, int,
		    const struct sockaddr *, socklen_t);
static ssize_t	(*real_sendmsg)(int, const struct msghdr *, int);
static ssize_t	(*real_sendfile)(int, int, off_t *, size_t);
static ssize_t	(*real_sendfile64)(int, int, off64_t *, size_t);
static int	(*real_accept)(int, struct sockaddr *, socklen_t *);
static int	(*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int	(*real_connect)(int, const struct sockaddr *, socklen_t);
static int	(*real_close)(int);
static int	(*real_dup2)(int, int);
static int	(*real_dup3)(int, int, int);
static int	(*real_close_range)(unsigned int, unsigned int, int);
static ssize_t	(*real_read_chk)(int, void *, size_t, size_t);
static ssize_t	(*real_recv_chk)(int, void *, size_t, size_t, int);
static ssize_t	(*real_recvfrom_chk)(int, void *, size_t, size_t, int,
		    struct sockaddr *, socklen_t *);
static int	(*real_SSL_read)(void *, void *, int);
static int	(*real_SSL_write)(void *, const void *, int);
static int	(*real_SSL_read_ex)(void *, void *, size_t, size_t *);
static int	(*real_SSL_write_ex)(void *, const void *, size_t, size_t *);
static int	(*real_SSL_get_fd)(const void *);
static void	(*real__exit)(int);
static void	(*real__Exit)(int);
static int	(*real_epoll_wait)(int, struct epoll_event *, int, int);
static int	(*real_epoll_pwait)(int, struct epoll_event *, int, int,
		    const sigset_t *);
static int	(*real_poll)(struct pollfd *, nfds_t, int);
static int	(*real_poll_chk)(struct pollfd *, nfds_t, int, size_t);
static int	(*real_ppoll)(struct pollfd *, nfds_t, const struct timespec *,
		    const sigset_t *);
static int	(*real_select)(int, fd_set *, fd_set *, fd_set *,
		    struct timeval *);
static int	(*real_pselect)(int, fd_set *, fd_set *, fd_set *,
		    const struct timespec *, const sigset_t *);

/* Configuration, read once from the environment. */
static int		 pt_enabled;
static char		 pt_prefix[PATH_MAX];
static uint16_t		 pt_ports[PT_MAXPORTS];	/* host order */
static size_t		 pt_nports;
static uint64_t		 pt_max_bytes;		/* 0: no limit */
static unsigned		 pt_eph_low = 32768;	/* ip_local_port_range */
static unsigned		 pt_eph_high = 60999;

/* The output: one file per process, opened on first use. */
static volatile int	 pt_fd = -1;
static volatile int	 pt_open_lock;
static int		 pt_open_failed;
static int		 pt_broken;		/* a short write: stop */
static char		 pt_base[PATH_MAX];	/* PREFIX.PID[.N] */
static dev_t		 pt_dev;		/* what pt_fd must be */
static ino_t		 pt_ino;
static struct pt_stats	 pt_stats;
static uint32_t		 pt_isn;

static struct pt_stream	*volatile pt_chunks[PT_NCHUNKS];

/* The record buffer. */
static uint8_t		 pt_buf[PT_BUF_SIZE];
static size_t		 pt_buf_len;
static unsigned long	 pt_buf_nrec;
static uint64_t		 pt_buf_t0;
static volatile int	 pt_buf_lock;

static __thread int	 pt_depth __attribute__((tls_model("initial-exec")));
static __thread int	 pt_in_ssl __attribute__((tls_model("initial-exec")));
static __thread int	 pt_ssl_seen __attribute__((tls_model("initial-exec")));

/* SSL -> fd, for SSL calls that made no socket I/O of their own. */
#define PT_SSLMAP	512
static struct {
	void		*ssl;
	int		 fd;
}			 pt_sslmap[PT_SSLMAP];
static volatile int	 pt_sslmap_lock;

/* Resolve a real function once. */
#define PT_REAL(name, sym) do {						\
	if (real_##name == NULL)					\
		*(void **)&real_##name = dlsym(RTLD_NEXT, sym);		\
} while (0)

/* Add to a counter from any thread. */
#define PT_COUNT(field, n)	__atomic_fetch_add(&pt_stats.field, (n), \
				    __ATOMIC_RELAXED)

/* Take a lock, trying a bounded number of times. */
static int
pt_trylock_n(volatile int *lock, int tries)
{
	int	 i;

	for (i = 0; i < tries; i++) {
		if (!__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE))
			return (1);
		sched_yield();
	}
	return (0);
}

/* Take a stream's lock, trying a bounded number of times. */
static int
pt_trylock(volatile int *lock)
{
	int	 i;

	for (i = 0; i < PT_LOCK_TRIES; i++) {
		if (!__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE))
			return (1);
		sched_yield();
	}
	return (0);
}

/* Release a stream's lock. */
static void
pt_unlock(volatile int *lock)
{
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}

/* Return the stream of an fd, allocating its chunk if create is set. */
static struct pt_stream *
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

/* Parse the port list "80,8080"; bad entries are ignored. */
static void
pt_parse_ports(const char *s)
{
	unsigned long	 v;
	char		*end;

	while (*s != '\0' && pt_nports < PT_MAXPORTS) {
		v = strtoul(s, &end, 10);
		if (end != s && v > 0 && v <= 65535)
			pt_ports[pt_nports++] = (uint16_t)v;
		if (end == s)
			end++;
		s = end;
		while (*s == ',' || *s == ' ')
			s++;
	}
}

/*
 * Resolve the real functions at load time, before the program runs
 * (each wrapper still resolves its own if called earlier, by another
 * library's constructor).
 */
static void
pt_resolve(void)
{
	PT_REAL(read, "read");
	PT_REAL(readv, "readv");
	PT_REAL(recv, "recv");
	PT_REAL(recvfrom, "recvfrom");
	PT_REAL(recvmsg, "recvmsg");
	PT_REAL(write, "write");
	PT_REAL(writev, "writev");
	PT_REAL(send, "send");
	PT_REAL(sendto, "sendto");
	PT_REAL(sendmsg, "sendmsg");
	PT_REAL(sendfile, "sendfile");
	PT_REAL(sendfile64, "sendfile64");
	PT_REAL(accept, "accept");
	PT_REAL(accept4, "accept4");
	PT_REAL(connect, "connect");
	PT_REAL(close, "close");
	PT_REAL(dup2, "dup2");
	PT_REAL(dup3, "dup3");
	PT_REAL(read_chk, "__read_chk");
	PT_REAL(recv_chk, "__recv_chk");
	PT_REAL(recvfrom_chk, "__recvfrom_chk");
	PT_REAL(epoll_wait, "epoll_wait");
	PT_REAL(poll, "poll");
	PT_REAL(_exit, "_exit");
}

/* Read the kernel's range of ports for outgoing connections. */
static void
pt_read_port_range(void)
{
	char		 buf[64], *end;
	unsigned long	 lo, hi;
	ssize_t		 n;
	int		 fd;

	fd = open("/proc/sys/net/ipv4/ip_local_port_range",
	    O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return;
	n = real_read != NULL ? real_read(fd, buf, sizeof buf - 1) : -1;
	PT_REAL(close, "close");
	real_close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	lo = strtoul(buf, &end, 10);
	hi = strtoul(end, NULL, 10);
	if (lo > 0 && lo <= hi && hi <= 65535) {
		pt_eph_low = (unsigned)lo;
		pt_eph_high = (unsigned)hi;
	}
}

/* Read the configuration; the library stays off without an output. */
__attribute__((constructor)) static void
pt_init(void)
{
	const char	*s;
	char		*end;
	int		 saved = errno;

	pt_resolve();

	s = getenv("PARITYTAP_PRELOAD_OUT");
	if (s == NULL || *s == '\0' || strlen(s) >= sizeof pt_prefix - 64)
		goto out;
	strncpy(pt_prefix, s, sizeof pt_prefix - 1);
	if ((s = getenv("PARITYTAP_PRELOAD_PORTS")) != NULL)
		pt_parse_ports(s);
	if ((s = getenv("PARITYTAP_PRELOAD_MAX_BYTES")) != NULL) {
		pt_max_bytes = strtoull(s, &end, 10);
		if (end == s)
			pt_max_bytes = 0;
	}
	pt_isn = (uint32_t)getpid() * 2654435761u;
	pt_read_port_range();
	__atomic_store_n(&pt_enabled, 1, __ATOMIC_RELEASE);
out:
	errno = saved;
}

/* Whether the library records at all. */
static int
pt_on(void)
{
	return (__atomic_load_n(&pt_enabled, __ATOMIC_ACQUIRE) &&
	    pt_depth == 0);
}

/*
 * Whether to record I/O on fd.  Inside SSL_read/SSL_write the socket the
 * call used is noted instead: an SSL with a BIO of its own (curl's) has
 * no fd to ask SSL_get_fd for.
 */
static int
pt_want(int fd)
{
	if (!__atomic_load_n(&pt_enabled, __ATOMIC_ACQUIRE))
		return (0);
	if (pt_depth == 0)
		return (1);
	if (pt_in_ssl)
		pt_ssl_seen = fd;
	return (0);
}

/* Write all of a buffer with the real write; return 0 or -1. */
static int
pt_write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	PT_REAL(write, "write");
	while (len > 0) {
		n = real_write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		p += n;
		len -= n;
	}
	return (0);
}

/* Move fd to a high number, out of the host's way; return the new fd. */
static int
pt_fd_move_high(int fd)
{
	struct rlimit	 rl;
	long		 base = PT_FD_HIGH;
	int		 nfd;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (long)rl.rlim_cur - 8 < base)
		base = (long)rl.rlim_cur - 8;
	if (base <= fd)
		return (fd);
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, (int)base);
	if (nfd == -1)
		return (fd);
	PT_REAL(close, "close");
	real_close(fd);
	return (nfd);
}

/*
 * Open this process's file: PREFIX.PID.pcap, or PREFIX.PID.N.pcap when a
 * program this process exec'd from already wrote that one (the pid stays
 * the same across exec).  Return the fd, or -1 if it failed or another
 * thread is opening it: records wait in the buffer meanwhile, so no
 * thread waits for the open.
 */
static int
pt_output(void)
{
	struct {
		uint32_t	magic;
		uint16_t	major, minor;
		int32_t		zone;
		uint32_t	sigfigs, snaplen, linktype;
	} hdr = { 0xa1b2c3d4, 2, 4, 0, 0, PT_SNAPLEN, PT_LINKTYPE };
	struct stat	 sb;
	char		 path[PATH_MAX];
	int		 fd = -1, n, len;

	if ((fd = __atomic_load_n(&pt_fd, __ATOMIC_ACQUIRE)) != -1)
		return (fd);
	if (pt_open_failed)
		return (-1);
	if (__atomic_exchange_n(&pt_open_lock, 1, __ATOMIC_ACQUIRE))
		return (-1);	/* another thread is opening it */
	if ((fd = pt_fd) != -1)
		goto out;
	for (n = 0; n < 1000; n++) {
		if (n == 0)
			len = snprintf(pt_base, sizeof pt_base, "%s.%ld",
			    pt_prefix, (long)getpid());
		else
			len = snprintf(pt_base, sizeof pt_base, "%s.%ld.%d",
			    pt_prefix, (long)getpid(), n);
		if (len < 0 || (size_t)len >= sizeof pt_base)
			break;
		len = snprintf(path, sizeof path, "%s.pcap", pt_base);
		if (len < 0 || (size_t)len >= sizeof path)
			break;
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND |
		    O_CLOEXEC, 0600);
		if (fd != -1 || errno != EEXIST)
			break;
	}
	if (fd == -1) {
		pt_open_failed = 1;
		goto out;
	}
	fd = pt_fd_move_high(fd);
	if (pt_write_all(fd, &hdr, sizeof hdr) != 0) {
		PT_REAL(close, "close");
		real_close(fd);
		fd = -1;
		pt_open_failed = 1;
		goto out;
	}
	if (fstat(fd, &sb) == 0) {
		pt_dev = sb.st_dev;
		pt_ino = sb.st_ino;
	}
	__atomic_store_n(&pt_fd, fd, __ATOMIC_RELEASE);
out:
	__atomic_store_n(&pt_open_lock, 0, __ATOMIC_RELEASE);
	return (fd);
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
 * the kernel's outgoing range is the client; else the lower port is the
 * server's.
 */
static enum pt_role
pt_guess_role(unsigned local, unsigned peer)
{
	int	 le, pe;

	le = local >= pt_eph_low && local <= pt_eph_high;
	pe = peer >= pt_eph_low && peer <= pt_eph_high;
	if (le != pe)
		return (le ? PT_ROLE_CLIENT : PT_ROLE_SERVER);
	return (local < peer ? PT_ROLE_SERVER : PT_ROLE_CLIENT);
}

/*
 * Look at an fd the library has not seen: a TCP socket over IPv4 or IPv6
 * with both ends known (and a port in the filter) is recorded; anything
 * else is ignored until the fd is closed.  The stream's lock is held.
 */
static void
pt_classify(int fd, struct pt_stream *st)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 type;

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
	st->kind = PT_TCP;
	st->started = 0;
	st->tls = 0;
	st->socket_data = 0;
	st->full = 0;
	st->bytes = 0;
}

/* The Internet checksum of a buffer. */
static uint16_t
pt_cksum(const uint8_t *p, size_t len)
{
	uint32_t	 sum = 0;

	while (len > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len == 1)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ((uint16_t)~sum);
}

/* Put a 16- or 32-bit number in network order. */
static void
pt_put16(uint8_t *p, uint32_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void
pt_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/*
 * Build the headers of one segment from src to dst (pcap record header,
 * Ethernet, IP, TCP; the TCP checksum is left 0, as with checksum
 * offload) for paylen bytes of payload.
 */
static void
pt_frame(struct pt_frame *f, const struct pt_end *src,
    const struct pt_end *dst, uint32_t seq, uint32_t ack, uint8_t flags,
    size_t paylen)
{
	struct timespec	 ts;
	uint8_t		*p = f->b, *ip;
	size_t		 iplen, caplen;
	uint32_t	 v;

	clock_gettime(CLOCK_REALTIME, &ts);
	iplen = (src->family == AF_INET ? 20 : 40) + 20;
	caplen = 14 + iplen + paylen;
	memset(f->b, 0, sizeof f->b);
	f->us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	v = (uint32_t)ts.tv_sec;
	memcpy(p, &v, 4);
	v = (uint32_t)(ts.tv_nsec / 1000);
	memcpy(p + 4, &v, 4);
	v = (uint32_t)caplen;
	memcpy(p + 8, &v, 4);
	memcpy(p + 12, &v, 4);
	p += 16;

	/* Ethernet: locally administered addresses, the ethertype. */
	p[0] = 0x02;
	p[5] = 0x02;
	p[6] = 0x02;
	p[11] = 0x01;
	pt_put16(p + 12, src->family == AF_INET ? 0x0800 : 0x86dd);
	p += 14;

	ip = p;
	if (src->family == AF_INET) {
		ip[0] = 0x45;
		pt_put16(ip + 2, (uint32_t)(iplen + paylen));
		ip[6] = 0x40;	/* don't fragment */
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		memcpy(ip + 12, src->addr, 4);
		memcpy(ip + 16, dst->addr, 4);
		pt_put16(ip + 10, pt_cksum(ip, 20));
		p += 20;
	} else {
		ip[0] = 0x60;
		pt_put16(ip + 4, (uint32_t)(20 + paylen));
		ip[6] = IPPROTO_TCP;
		ip[7] = 64;
		memcpy(ip + 8, src->addr, 16);
		memcpy(ip + 24, dst->addr, 16);
		p += 40;
	}

	memcpy(p, &src->port, 2);
	memcpy(p + 2, &dst->port, 2);
	pt_put32(p + 4, seq);
	pt_put32(p + 8, ack);
	p[12] = 5 << 4;
	p[13] = flags;
	pt_put16(p + 14, 65535);
	f->len = 14 + iplen;
}

#define TH_FIN	0x01
#define TH_SYN	0x02
#define TH_PSH	0x08
#define TH_ACK	0x10

/*
 * Whether fd is still the library's file.  The host may have closed it
 * behind the library's back (closefrom, a raw close_range) and opened
 * something else on that number: then nothing more is written, rather
 * than records into the host's file.
 */
static int
pt_fd_ours(int fd)
{
	struct stat	 sb;

	return (fd != -1 && fstat(fd, &sb) == 0 && sb.st_dev == pt_dev &&
	    sb.st_ino == pt_ino);
}

/*
 * Write the buffer out; the buffer lock is held.  One write to an
 * O_APPEND file; a short one would leave a torn record that every later
 * one depends on, so the file is given up.
 */
static void
pt_buf_write(void)
{
	ssize_t	 n;
	int	 fd;

	if (pt_buf_len == 0)
		return;
	fd = __atomic_load_n(&pt_fd, __ATOMIC_ACQUIRE);
	if (fd == -1 && !pt_open_failed)
		return;	/* being opened: the records wait */
	if (fd != -1 && !pt_fd_ours(fd)) {
		pt_broken = 1;
		fd = -1;
	}
	PT_REAL(write, "write");
	do {
		n = fd == -1 || pt_broken ? -1 :
		    real_write(fd, pt_buf, pt_buf_len);
	} while (n == -1 && errno == EINTR);
	if (n != (ssize_t)pt_buf_len) {
		if (n > 0)
			pt_broken = 1;
		PT_COUNT(write_errors, pt_buf_nrec);
	} else
		PT_COUNT(packets, pt_buf_nrec);
	__atomic_store_n(&pt_buf_len, 0, __ATOMIC_RELEASE);
	pt_buf_nrec = 0;
}

/* Write out what the buffer holds, if anything (errno is kept). */
static void
pt_flush(void)
{
	int	 saved;

	if (__atomic_load_n(&pt_buf_len, __ATOMIC_RELAXED) == 0 ||
	    pt_depth != 0)
		return;
	saved = errno;
	pt_depth++;
	pt_output();
	if (pt_trylock_n(&pt_buf_lock, PT_BUF_TRIES)) {
		pt_buf_write();
		pt_unlock(&pt_buf_lock);
	}
	pt_depth--;
	errno = saved;
}

/*
 * Before a read on fd, which may wait: write out the buffer, unless fd is
 * a recorded socket in non-blocking mode (an event loop's; it flushes
 * before epoll_wait or poll instead).
 */
static void
pt_flush_read(int fd, int flags)
{
	struct pt_stream	*st;

	if (__atomic_load_n(&pt_buf_len, __ATOMIC_RELAXED) == 0 ||
	    (flags & MSG_DONTWAIT))
		return;
	if ((st = pt_stream_get(fd, 0)) != NULL && st->kind == PT_TCP &&
	    st->nonblock)
		return;
	pt_flush();
}

/*
 * Append one record (headers and payload pieces, at most PT_SEGMENT bytes
 * of payload: it always fits the empty buffer) to the buffer.
 */
static int
pt_emit(struct pt_frame *f, const struct iovec *pay, int npay, size_t paylen)
{
	size_t	 want, off;
	int	 i;

	pt_output();
	if (pt_broken || pt_open_failed) {
		PT_COUNT(write_errors, 1);
		return (-1);
	}
	want = 16 + f->len + paylen;
	if (!pt_trylock_n(&pt_buf_lock, PT_BUF_TRIES)) {
		PT_COUNT(dropped, 1);
		PT_COUNT(dropped_bytes, paylen);
		return (-1);
	}
	if (pt_buf_len + want > PT_BUF_SIZE)
		pt_buf_write();
	if (pt_buf_len + want > PT_BUF_SIZE) {
		/* Full, and the file is still being opened. */
		pt_unlock(&pt_buf_lock);
		PT_COUNT(dropped, 1);
		PT_COUNT(dropped_bytes, paylen);
		return (-1);
	}
	if (pt_buf_len == 0)
		pt_buf_t0 = f->us;
	memcpy(pt_buf + pt_buf_len, f->b, 16 + f->len);
	off = pt_buf_len + 16 + f->len;
	for (i = 0; i < npay; i++) {
		memcpy(pt_buf + off, pay[i].iov_base, pay[i].iov_len);
		off += pay[i].iov_len;
	}
	pt_buf_nrec++;
	__atomic_store_n(&pt_buf_len, off, __ATOMIC_RELEASE);
	if (f->us - pt_buf_t0 >= PT_BUF_AGE_US || f->us < pt_buf_t0)
		pt_buf_write();
	pt_unlock(&pt_buf_lock);
	return (0);
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
static void
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
static void
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
	if (st->kind == PT_TCP && !st->tls) {
		if (!st->socket_data && pt_looks_tls(iov, iovcnt))
			st->tls = 1;
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
static void
pt_record_buf(int fd, int out, const void *buf, size_t len)
{
	struct iovec	 iov;

	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	pt_record(fd, out, &iov, 1, len);
}

/* Record the first len bytes of an iovec array. */
static void
pt_record_iov(int fd, int out, const struct iovec *iov, int iovcnt,
    ssize_t n)
{
	if (n > 0 && iov != NULL && iovcnt > 0)
		pt_record(fd, out, iov, iovcnt, (size_t)n);
}

/* A new connection on fd (accept or connect): forget what was there. */
static void
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

/*
 * The fd is about to be closed or replaced: end its stream.  Return 1 if
 * it was a recorded connection.
 */
static int
pt_fd_gone(int fd)
{
	struct pt_stream	*st;
	int			 was = 0;

	if ((st = pt_stream_get(fd, 0)) == NULL)
		return (0);
	pt_depth++;
	if (pt_trylock(&st->lock)) {
		was = st->kind == PT_TCP && st->started;
		pt_finish(st);
		pt_reset(st);
		pt_unlock(&st->lock);
	} else {
		/* Whoever holds it sees a fresh stream next time. */
		__atomic_store_n(&st->kind, PT_UNKNOWN, __ATOMIC_RELAXED);
		PT_COUNT(dropped, 1);
	}
	pt_depth--;
	return (was);
}

/*
 * The host is closing or dup2-ing onto the library's own fd: move the
 * library's fd to another number first, so the host gets what it asked
 * for and the library keeps its file.
 */
static void
pt_protect(int fd)
{
	int	 cur, nfd, locked;

	cur = __atomic_load_n(&pt_fd, __ATOMIC_ACQUIRE);
	if (cur == -1 || cur != fd)
		return;
	/* Writes happen under the buffer lock: none uses the old number. */
	locked = pt_trylock_n(&pt_buf_lock, PT_BUF_TRIES);
	nfd = fcntl(cur, F_DUPFD_CLOEXEC, cur + 1);
	if (nfd == -1)
		nfd = fcntl(cur, F_DUPFD_CLOEXEC, 3);
	if (nfd == -1) {
		pt_broken = 1;
		__atomic_store_n(&pt_fd, -1, __ATOMIC_RELEASE);
		pt_open_failed = 1;
	} else
		__atomic_store_n(&pt_fd, nfd, __ATOMIC_RELEASE);
	if (locked)
		pt_unlock(&pt_buf_lock);
}

/* Write the counters to PREFIX.PID.stats. */
static void
pt_write_stats(void)
{
	char	 path[PATH_MAX + 8], buf[1024];
	int	 fd, n;

	if (pt_base[0] == '\0' || pt_fd == -1)
		return;
	snprintf(path, sizeof path, "%s.stats", pt_base);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		return;
	n = snprintf(buf, sizeof buf,
	    "pid %ld\npackets %lu\nbytes %lu\nstreams %lu\ndropped %lu\n"
	    "dropped_bytes %lu\nwrite_errors %lu\ntruncated_bytes %lu\n"
	    "ssl_no_fd %lu\n", (long)getpid(), pt_stats.packets,
	    pt_stats.bytes, pt_stats.streams, pt_stats.dropped,
	    pt_stats.dropped_bytes, pt_stats.write_errors,
	    pt_stats.truncated_bytes, pt_stats.ssl_no_fd);
	if (n > 0 && (size_t)n < sizeof buf)
		pt_write_all(fd, buf, (size_t)n);
	PT_REAL(close, "close");
	real_close(fd);
}

/*
 * At exit: end the streams still open (a server stopped by a signal it
 * handles exits with its connections open) and write the counters.
 */
__attribute__((destructor)) static void
pt_fini(void)
{
	struct pt_stream	*chunk;
	int			 saved = errno, c, i;

	if (!__atomic_load_n(&pt_enabled, __ATOMIC_ACQUIRE))
		return;
	pt_depth++;
	for (c = 0; c < PT_NCHUNKS; c++) {
		if ((chunk = pt_chunks[c]) == NULL)
			continue;
		for (i = 0; i < PT_CHUNK; i++) {
			if (chunk[i].kind != PT_TCP || !chunk[i].started)
				continue;
			if (!pt_trylock(&chunk[i].lock))
				continue;
			pt_finish(&chunk[i]);
			chunk[i].started = 0;
			pt_unlock(&chunk[i].lock);
		}
	}
	if (__atomic_load_n(&pt_buf_len, __ATOMIC_RELAXED) != 0)
		pt_output();
	if (pt_trylock_n(&pt_buf_lock, PT_BUF_TRIES)) {
		pt_buf_write();
		pt_unlock(&pt_buf_lock);
	}
	pt_write_stats();
	pt_depth--;
	errno = saved;
}

/*
 * In a forked child: only the forking thread exists, so every lock is
 * free; the parent's file is the parent's, so the child closes it and
 * opens its own on first use; streams it inherited get a handshake of
 * their own in that file if it uses them.
 */
static void
pt_atfork_child(void)
{
	struct pt_stream	*chunk;
	int			 c, i, fd;

	fd = pt_fd;
	pt_fd = -1;
	if (fd != -1)
		syscall(SYS_close, fd);
	pt_open_lock = 0;
	pt_open_failed = 0;
	pt_broken = 0;
	pt_buf_len = 0;
	pt_buf_nrec = 0;
	pt_buf_lock = 0;
	pt_base[0] = '\0';
	memset(&pt_stats, 0, sizeof pt_stats);
	for (c = 0; c < PT_NCHUNKS; c++) {
		if ((chunk = pt_chunks[c]) == NULL)
			continue;
		for (i = 0; i < PT_CHUNK; i++) {
			chunk[i].lock = 0;
			chunk[i].started = 0;
		}
	}
}

/* Before fork: the parent's records go to the parent's file now. */
static void
pt_atfork_prepare(void)
{
	pt_flush();
}

/* Register the fork handlers once the library is loaded. */
__attribute__((constructor)) static void
pt_init_fork(void)
{
	int	 saved = errno;

	pthread_atfork(pt_atfork_prepare, NULL, pt_atfork_child);
	errno = saved;
}

/* --- the interposed functions --------------------------------------- */

PT_EXPORT ssize_t
read(int fd, void *buf, size_t count)
{
	ssize_t	 n;
	int	 saved;

	PT_REAL(read, "read");
	pt_flush_read(fd, 0);
	n = real_read(fd, buf, count);
	if (pt_want(fd) && n > 0) {
		saved = errno;
		pt_record_buf(fd, 0, buf, (size_t)n);
		errno = saved;
	}
	return (n);
}

PT_EXPORT ssize_t
__read_chk(int fd, void *buf, size_t count, size_t buflen)
{
	ssize_t	 n;
	int	 saved;

	PT_REAL(read_chk, "__read_chk");
	pt_flush_read(fd, 0);
	n = real_read_chk(fd, buf, count, buflen);
	if (pt_want(fd) && n > 0) {
		saved = errno;
		pt_record_buf(fd, 0, buf, (size_t)n);
		errno = saved;
	}
	return (n);
}

PT_EXPORT ssize_t
readv(int fd, const struct iovec *iov, int iovcnt)
{
	ssize_t	 n;
	int	 saved;

	PT_REAL(readv, "readv");
	pt_flush_read(fd, 0);
	n = real_readv(fd, iov, iovcnt);
	if (pt_want(fd) && n > 0) {
		saved = errno;
		pt_record_iov(fd, 0, iov, iovcnt, n);
		errno = saved;
	}
	return (n);
}

PT_EXPORT ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
	ssize_t	 n;
	int	 saved;

	PT_REAL(recv, "recv");
	pt_flush_read(fd, flags);
	n = real_recv(fd, buf, len, flags);
	if (pt_want(fd) && n > 0 && !(flags & (MSG_PEEK | MSG_TRUNC))) {
		saved = errno;
		pt_record_buf(fd, 0, buf, (size_t)n);
		errno = saved;
	}
	return (n);
}

PT_EXPORT ssize_t
__recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
	ssize_t	 n;
	int	 saved;

	PT_REAL(recv_chk, "__recv_chk");
	pt_flush_read(fd, flags);
	n = real_recv_chk(fd, buf, len, buflen, flags);
	if (pt_want(fd) && n > 0 && !(flags & (MSG_PEEK | MSG_TRUNC))) {
		saved = errno;
		pt_record_buf(fd, 0, buf, (size_t)n);
		errno = saved;
	}
	return (n);
}

PT_EXPORT ssize_t
recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
    socklen_t *addrlen)
{
	ssize_t	 n;
	int	 saved;

	PT_REAL(recvfrom, "recvfrom");
	pt_flush_read(fd, flags);
	n = real_recvfrom(fd, buf, len, flags, addr, addrlen);
	if (pt_want(fd) && n > 0 && !(flags & (MSG_PEEK | MSG_TRUNC))) {
		saved = errno;
		pt_record_buf(fd, 0, buf, (size_t)n);
		errno = saved;
	}
	return (n);
}

PT_EXPORT ssize_t
__recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
    struct sockaddr *addr, socklen_t *addrlen)
{
	ssize_t	 n;
	int	 saved;

	PT_REAL(recvfrom_chk, "__recvfrom_chk");
	pt_flush_read(fd, flags);
	n = real_recvfrom_chk(fd, buf, len, buflen, flags, addr, addrlen);
	if (pt_want(fd) && n > 0 && !(flags & (MSG_PEEK | MSG_TRUNC))) {
		saved = errno;
		pt_record_buf(fd, 0, buf, (size_t)n);
		errno = saved;
	}
	return (n);
}

PT_EXPORT ssize_t
recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t	 n;
	int	 saved;

	PT_REAL(recvmsg, "recvmsg");
	pt_flush_read(fd, flags);
	n = real_recvmsg(fd, msg, flags);
	if (pt_want(fd) && n > 0 && !(flags & (MSG_PEEK | MSG_TRUNC))) {
		saved = errno;
		pt_record_iov(fd, 0, msg->msg_iov, (int)msg->msg_iovlen, n);
		errno = saved;
	}
	return (n);
}

PT_EXPORT ssize_t
write(int fd, const void *buf, size_t count)
{
	ssize_t	 n;
	int	 saved;

	PT_REAL(write, "write");
	n = real_write(fd, buf, count);
	if (pt_want(fd) && n > 0) {
		saved = errno;
		pt_record_buf(fd, 1, buf, (size_t)n);
		errno = saved;
	}
	return (n);
}

PT_EXPORT ssize_t
writev(int fd, const struct iovec *iov, int iovcnt)
{
	ssize_t	 n;
	int	 saved;

	PT_REAL(writev, "writev");
	n = real_writev(fd, iov, iovcnt);
	if (pt_want(fd) && n > 0) {
		saved = errno;
		pt_record_iov(fd, 1, iov, iovcnt, n);
		errno = saved;
	}
	return (n);
}

PT_EXPORT ssize_t
send(int fd, const void *buf, size_t len, int flags)
{
	ssize_t	 n;
	int	 saved;

	PT_REAL(send, "send");
	n = real_send(fd, buf, len, flags);
	if (pt_want(fd) && n > 0) {
		saved = errno;
		pt_record_buf(fd, 1, buf, (size_t)n);
		errno = saved;
	}
	return (n);
}

PT_EXPORT ssize_t
sendto(int fd, const void *buf, size_t len, int flags,
    const struct sockaddr *addr, socklen_t addrlen)
{
	ssize_t	 n;
	int	 saved;

	PT_REAL(sendto, "sendto");
	n = real_sendto(fd, buf, len, flags, addr, addrlen);
	if (pt_want(fd) && n > 0) {
		saved = errno;
		pt_record_buf(fd, 1, buf, (size_t)n);
		errno = saved;
	}
	return (n);
}

PT_EXPORT ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
	ssize_t	 n;
	int	 saved;

	PT_REAL(sendmsg, "sendmsg");
	n = real_sendmsg(fd, msg, flags);
	if (pt_want(fd) && n > 0) {
		saved = errno;
		pt_record_iov(fd, 1, msg->msg_iov, (int)msg->msg_iovlen, n);
		errno = saved;
	}
	return (n);
}

/*
 * Record what sendfile sent: n bytes of in_fd from offset start, read
 * back with pread (which moves no file offset) in pieces.
 */
static void
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

PT_EXPORT ssize_t
sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	struct pt_stream	*st;
	off_t			 start = -1;
	ssize_t			 n;
	int			 saved, on;

	PT_REAL(sendfile, "sendfile");
	on = pt_on() && ((st = pt_stream_get(out_fd, 0)) == NULL ||
	    st->kind != PT_IGNORED);
	if (on) {
		saved = errno;
		start = offset != NULL ? *offset : lseek(in_fd, 0, SEEK_CUR);
		errno = saved;
	}
	n = real_sendfile(out_fd, in_fd, offset, count);
	if (n > 0 && on && start != -1) {
		saved = errno;
		pt_record_sendfile(out_fd, in_fd, start, n);
		errno = saved;
	}
	return (n);
}

PT_EXPORT ssize_t
sendfile64(int out_fd, int in_fd, off64_t *offset, size_t count)
{
	struct pt_stream	*st;
	off64_t			 start = -1;
	ssize_t			 n;
	int			 saved, on;

	PT_REAL(sendfile64, "sendfile64");
	on = pt_on() && ((st = pt_stream_get(out_fd, 0)) == NULL ||
	    st->kind != PT_IGNORED);
	if (on) {
		saved = errno;
		start = offset != NULL ? *offset : lseek64(in_fd, 0, SEEK_CUR);
		errno = saved;
	}
	n = real_sendfile64(out_fd, in_fd, offset, count);
	if (n > 0 && on && start != -1) {
		saved = errno;
		pt_record_sendfile(out_fd, in_fd, (off_t)start, n);
		errno = saved;
	}
	return (n);
}

PT_EXPORT int
accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
	int	 nfd, saved;

	PT_REAL(accept, "accept");
	pt_flush();
	nfd = real_accept(fd, addr, addrlen);
	if (nfd >= 0 && pt_on()) {
		saved = errno;
		pt_new_conn(nfd, PT_ROLE_SERVER);
		errno = saved;
	}
	return (nfd);
}

PT_EXPORT int
accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
	int	 nfd, saved;

	PT_REAL(accept4, "accept4");
	pt_flush();
	nfd = real_accept4(fd, addr, addrlen, flags);
	if (nfd >= 0 && pt_on()) {
		saved = errno;
		pt_new_conn(nfd, PT_ROLE_SERVER);
		errno = saved;
	}
	return (nfd);
}

PT_EXPORT int
connect(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	int	 rc, saved;

	PT_REAL(connect, "connect");
	pt_flush();
	rc = real_connect(fd, addr, addrlen);
	saved = errno;
	/* A non-blocking connect in progress is a connection too. */
	if ((rc == 0 || errno == EINPROGRESS) && pt_on()) {
		pt_new_conn(fd, PT_ROLE_CLIENT);
		errno = saved;
	}
	return (rc);
}

/*
 * Closing the library's own fd: the host did not open it, so without the
 * library the fd would not be open and close would fail with EBADF; the
 * library's file moves to another number and the host gets just that.
 */
PT_EXPORT int
close(int fd)
{
	int	 saved;

	PT_REAL(close, "close");
	if (pt_on()) {
		saved = errno;
		if (fd != -1 && fd == __atomic_load_n(&pt_fd,
		    __ATOMIC_ACQUIRE)) {
			pt_protect(fd);
			if (pt_fd != fd) {
				real_close(fd);
				errno = EBADF;
				return (-1);
			}
		}
		/* A connection's end is written when it ends. */
		if (pt_fd_gone(fd))
			pt_flush();
		errno = saved;
	}
	return (real_close(fd));
}

/* After a dup onto newfd: it is the connection oldfd is, from the start. */
static void
pt_dup_done(int oldfd, int newfd)
{
	struct pt_stream	*st;

	if ((st = pt_stream_get(oldfd, 0)) != NULL)
		pt_new_conn(newfd, (enum pt_role)st->role);
}

PT_EXPORT int
dup2(int oldfd, int newfd)
{
	int	 rc, saved, on;

	PT_REAL(dup2, "dup2");
	on = oldfd != newfd && pt_on();
	if (on) {
		saved = errno;
		pt_protect(newfd);
		pt_fd_gone(newfd);
		errno = saved;
	}
	rc = real_dup2(oldfd, newfd);
	if (rc == newfd && on) {
		saved = errno;
		pt_dup_done(oldfd, newfd);
		/* Often the last step before an exec, which loses the buffer. */
		pt_flush();
		errno = saved;
	}
	return (rc);
}

PT_EXPORT int
dup3(int oldfd, int newfd, int flags)
{
	int	 rc, saved, on;

	PT_REAL(dup3, "dup3");
	on = oldfd != newfd && pt_on();
	if (on) {
		saved = errno;
		pt_protect(newfd);
		pt_fd_gone(newfd);
		errno = saved;
	}
	rc = real_dup3(oldfd, newfd, flags);
	if (rc == newfd && on) {
		saved = errno;
		pt_dup_done(oldfd, newfd);
		/* Often the last step before an exec, which loses the buffer. */
		pt_flush();
		errno = saved;
	}
	return (rc);
}

/*
 * close_range: the streams in the range end; the library's own fd, if in
 * the range, is left out of it (the two ranges around it are closed).
 */
PT_EXPORT int
close_range(unsigned int first, unsigned int last, int flags)
{
	unsigned int	 fd, lim;
	int		 own, rc, saved;

	PT_REAL(close_range, "close_range");
	if (real_close_range == NULL) {
		errno = ENOSYS;
		return (-1);
	}
	if (!pt_on() || (flags & CLOSE_RANGE_CLOEXEC))
		return (real_close_range(first, last, flags));
	saved = errno;
	lim = last < PT_MAXFD ? last : PT_MAXFD - 1;
	for (fd = first; fd <= lim && fd >= first; fd++) {
		if (pt_stream_get((int)fd, 0) != NULL)
			pt_fd_gone((int)fd);
	}
	errno = saved;
	own = __atomic_load_n(&pt_fd, __ATOMIC_ACQUIRE);
	if (own == -1 || (unsigned int)own < first || (unsigned int)own > last)
		return (real_close_range(first, last, flags));
	rc = 0;
	if ((unsigned int)own > first)
		rc = real_close_range(first, own - 1, flags);
	if (rc == 0 && (unsigned int)own < last)
		rc = real_close_range(own + 1, last, flags);
	return (rc);
}

/* --- waits: the buffered records are written before the program waits - */

PT_EXPORT int
epoll_wait(int epfd, struct epoll_event *ev, int maxev, int timeout)
{
	PT_REAL(epoll_wait, "epoll_wait");
	if (timeout != 0)
		pt_flush();
	return (real_epoll_wait(epfd, ev, maxev, timeout));
}

PT_EXPORT int
epoll_pwait(int epfd, struct epoll_event *ev, int maxev, int timeout,
    const sigset_t *mask)
{
	PT_REAL(epoll_pwait, "epoll_pwait");
	if (timeout != 0)
		pt_flush();
	return (real_epoll_pwait(epfd, ev, maxev, timeout, mask));
}

PT_EXPORT int
poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	PT_REAL(poll, "poll");
	if (timeout != 0)
		pt_flush();
	return (real_poll(fds, nfds, timeout));
}

PT_EXPORT int
__poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen)
{
	PT_REAL(poll_chk, "__poll_chk");
	if (timeout != 0)
		pt_flush();
	return (real_poll_chk(fds, nfds, timeout, fdslen));
}

PT_EXPORT int
ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
    const sigset_t *mask)
{
	PT_REAL(ppoll, "ppoll");
	if (timeout == NULL || timeout->tv_sec != 0 || timeout->tv_nsec != 0)
		pt_flush();
	return (real_ppoll(fds, nfds, timeout, mask));
}

PT_EXPORT int
select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *timeout)
{
	PT_REAL(select, "select");
	if (timeout == NULL || timeout->tv_sec != 0 || timeout->tv_usec != 0)
		pt_flush();
	return (real_select(nfds, r, w, e, timeout));
}

PT_EXPORT int
pselect(int nfds, fd_set *r, fd_set *w, fd_set *e,
    const struct timespec *timeout, const sigset_t *mask)
{
	PT_REAL(pselect, "pselect");
	if (timeout == NULL || timeout->tv_sec != 0 || timeout->tv_nsec != 0)
		pt_flush();
	return (real_pselect(nfds, r, w, e, timeout, mask));
}

/*
 * _exit skips the destructor: a forked child that serves a connection
 * and calls _exit must not lose what it gathered.
 */
PT_EXPORT void
_exit(int status)
{
	PT_REAL(_exit, "_exit");
	pt_flush();
	if (real__exit != NULL)
		real__exit(status);
	for (;;)
		syscall(SYS_exit_group, status);
}

PT_EXPORT void
_Exit(int status)
{
	PT_REAL(_Exit, "_Exit");
	pt_flush();
	if (real__Exit != NULL)
		real__Exit(status);
	for (;;)
		syscall(SYS_exit_group, status);
}

/* --- OpenSSL --------------------------------------------------------- */

/*
 * Resolve an OpenSSL function.  libssl may not be in the global scope: a
 * Python extension module, say, is dlopen'd with RTLD_LOCAL and brings
 * libssl along, and RTLD_NEXT does not see it; it is loaded, though, since
 * the caller called through it, and dlopen with RTLD_NOLOAD finds it.
 */
static void *
pt_ssl_sym(const char *name)
{
	static const char	*sonames[] = { "libssl.so.3", "libssl.so.1.1",
				    "libssl.so", NULL };
	void			*p, *h;
	int			 i;

	if ((p = dlsym(RTLD_NEXT, name)) != NULL)
		return (p);
	for (i = 0; sonames[i] != NULL && p == NULL; i++) {
		if ((h = dlopen(sonames[i], RTLD_LAZY | RTLD_NOLOAD)) == NULL)
			continue;
		p = dlsym(h, name);
		dlclose(h);
	}
	return (p);
}

/* Resolve a real OpenSSL function once. */
#define PT_REAL_SSL(name) do {						\
	if (real_##name == NULL)					\
		*(void **)&real_##name = pt_ssl_sym(#name);		\
} while (0)

/* Remember (or, with fd -1, look up) the socket of an SSL. */
static int
pt_sslmap_fd(void *ssl, int fd)
{
	size_t	 h, i, slot;
	int	 found = -1;

	h = ((uintptr_t)ssl >> 4) % PT_SSLMAP;
	if (!pt_trylock(&pt_sslmap_lock))
		return (fd);
	for (i = 0; i < 8; i++) {
		slot = (h + i) % PT_SSLMAP;
		if (pt_sslmap[slot].ssl == ssl) {
			if (fd == -1)
				found = pt_sslmap[slot].fd;
			else
				pt_sslmap[slot].fd = fd;
			goto out;
		}
	}
	if (fd != -1) {
		for (i = 0; i < 8; i++) {
			slot = (h + i) % PT_SSLMAP;
			if (pt_sslmap[slot].ssl == NULL)
				break;
		}
		if (i == 8)
			slot = h;	/* evict the first */
		pt_sslmap[slot].ssl = ssl;
		pt_sslmap[slot].fd = fd;
	}
out:
	pt_unlock(&pt_sslmap_lock);
	return (fd != -1 ? fd : found);
}

/*
 * The socket fd of an SSL (from SSL_get_fd, else the socket the call
 * used, else the one it used last time), marked TLS so that its
 * ciphertext is never recorded; -1 when none is known.
 */
static int
pt_ssl_fd(void *ssl, int seen)
{
	struct pt_stream	*st;
	int			 fd = -1;

	PT_REAL_SSL(SSL_get_fd);
	if (real_SSL_get_fd != NULL)
		fd = real_SSL_get_fd(ssl);
	if (fd < 0)
		fd = seen;
	fd = pt_sslmap_fd(ssl, fd >= 0 ? fd : -1);
	if (fd < 0) {
		PT_COUNT(ssl_no_fd, 1);
		return (-1);
	}
	if ((st = pt_stream_get(fd, 1)) == NULL)
		return (-1);
	if (pt_trylock(&st->lock)) {
		if (st->kind == PT_UNKNOWN)
			pt_classify(fd, st);
		if (st->kind == PT_TCP && !st->tls) {
			/*
			 * Ciphertext recorded before the first SSL call
			 * (a handshake that did not look like one) is
			 * ended as a stream of its own.
			 */
			if (st->socket_data) {
				pt_finish(st);
				st->started = 0;
				st->local_seq = st->peer_seq = 0;
				st->bytes = 0;
				st->socket_data = 0;
			}
			st->tls = 1;
		}
		pt_unlock(&st->lock);
	}
	return (fd);
}

/* Record plaintext of an SSL connection. */
static void
pt_ssl_record(void *ssl, int seen, int out, const void *buf, size_t len)
{
	struct pt_stream	*st;
	struct iovec		 iov;
	int			 fd;

	pt_depth++;
	if ((fd = pt_ssl_fd(ssl, seen)) == -1 ||
	    (st = pt_stream_get(fd, 0)) == NULL)
		goto out;
	if (!pt_trylock(&st->lock)) {
		PT_COUNT(dropped, 1);
		PT_COUNT(dropped_bytes, len);
		goto out;
	}
	if (st->kind == PT_TCP && st->tls) {
		iov.iov_base = (void *)buf;
		iov.iov_len = len;
		pt_data(st, out, &iov, 1, len);
	}
	pt_unlock(&st->lock);
out:
	pt_depth--;
}

/*
 * The SSL_* wrappers hold the depth counter over the real call: the
 * socket reads and writes OpenSSL makes inside it are ciphertext.
 */
PT_EXPORT int
SSL_read(void *ssl, void *buf, int num)
{
	int	 n, saved, seen, on = pt_on();

	PT_REAL_SSL(SSL_read);
	if (real_SSL_read == NULL)
		return (-1);
	pt_flush();
	pt_depth++;
	pt_in_ssl++;
	pt_ssl_seen = -1;
	n = real_SSL_read(ssl, buf, num);
	seen = pt_ssl_seen;
	pt_in_ssl--;
	pt_depth--;
	if (n > 0 && on) {
		saved = errno;
		pt_ssl_record(ssl, seen, 0, buf, (size_t)n);
		errno = saved;
	}
	return (n);
}

PT_EXPORT int
SSL_write(void *ssl, const void *buf, int num)
{
	int	 n, saved, seen, on = pt_on();

	PT_REAL_SSL(SSL_write);
	if (real_SSL_write == NULL)
		return (-1);
	pt_flush();
	pt_depth++;
	pt_in_ssl++;
	pt_ssl_seen = -1;
	n = real_SSL_write(ssl, buf, num);
	seen = pt_ssl_seen;
	pt_in_ssl--;
	pt_depth--;
	if (n > 0 && on) {
		saved = errno;
		pt_ssl_record(ssl, seen, 1, buf, (size_t)n);
		errno = saved;
	}
	return (n);
}

PT_EXPORT int
SSL_read_ex(void *ssl, void *buf, size_t num, size_t *readbytes)
{
	int	 rc, saved, seen, on = pt_on();

	PT_REAL_SSL(SSL_read_ex);
	if (real_SSL_read_ex == NULL)
		return (0);
	pt_flush();
	pt_depth++;
	pt_in_ssl++;
	pt_ssl_seen = -1;
	rc = real_SSL_read_ex(ssl, buf, num, readbytes);
	seen = pt_ssl_seen;
	pt_in_ssl--;
	pt_depth--;
	if (rc == 1 && on && readbytes != NULL && *readbytes > 0) {
		saved = errno;
		pt_ssl_record(ssl, seen, 0, buf, *readbytes);
		errno = saved;
	}
	return (rc);
}

PT_EXPORT int
SSL_write_ex(void *ssl, const void *buf, size_t num, size_t *written)
{
	int	 rc, saved, seen, on = pt_on();

	PT_REAL_SSL(SSL_write_ex);
	if (real_SSL_write_ex == NULL)
		return (0);
	pt_flush();
	pt_depth++;
	pt_in_ssl++;
	pt_ssl_seen = -1;
	rc = real_SSL_write_ex(ssl, buf, num, written);
	seen = pt_ssl_seen;
	pt_in_ssl--;
	pt_depth--;
	if (rc == 1 && on && written != NULL && *written > 0) {
		saved = errno;
		pt_ssl_record(ssl, seen, 1, buf, *written);
		errno = saved;
	}
	return (rc);
}
