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
 * This file: the configuration, the real functions, the constructor,
 * destructor and fork handlers, and the interposed system calls.
 */

#include "preload-internal.h"

/* The interposed functions libc's headers do not declare. */
PT_EXPORT ssize_t	__read_chk(int, void *, size_t, size_t);
PT_EXPORT ssize_t	__recv_chk(int, void *, size_t, size_t, int);
PT_EXPORT ssize_t	__recvfrom_chk(int, void *, size_t, size_t, int,
			    struct sockaddr *, socklen_t *);
PT_EXPORT int		__poll_chk(struct pollfd *, nfds_t, int, size_t);

/* The real functions. */
static ssize_t	(*real_read)(int, void *, size_t);
static ssize_t	(*real_readv)(int, const struct iovec *, int);
static ssize_t	(*real_recv)(int, void *, size_t, int);
static ssize_t	(*real_recvfrom)(int, void *, size_t, int, struct sockaddr *,
		    socklen_t *);
static ssize_t	(*real_recvmsg)(int, struct msghdr *, int);
ssize_t		(*real_write)(int, const void *, size_t);
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
int		(*real_close)(int);
static int	(*real_dup2)(int, int);
static int	(*real_dup3)(int, int, int);
static int	(*real_close_range)(unsigned int, unsigned int, int);
static ssize_t	(*real_read_chk)(int, void *, size_t, size_t);
static ssize_t	(*real_recv_chk)(int, void *, size_t, size_t, int);
static ssize_t	(*real_recvfrom_chk)(int, void *, size_t, size_t, int,
		    struct sockaddr *, socklen_t *);
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
int			 pt_enabled;
char			 pt_prefix[PATH_MAX];
uint16_t		 pt_ports[PT_MAXPORTS];	/* host order */
size_t			 pt_nports;
uint64_t		 pt_max_bytes;		/* 0: no limit */
static char		 pt_notes[100];		/* record's socket name */
unsigned		 pt_eph_low = 32768;	/* ip_local_port_range */
unsigned		 pt_eph_high = 60999;

__thread int	 pt_depth __attribute__((tls_model("initial-exec")));
__thread int	 pt_in_ssl __attribute__((tls_model("initial-exec")));
__thread int	 pt_ssl_seen __attribute__((tls_model("initial-exec")));

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
	if ((s = getenv("PARITYTAP_PRELOAD_NOTES")) != NULL &&
	    strlen(s) < sizeof pt_notes)
		strcpy(pt_notes, s);
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

/* Whether this process's failure to open its file was noted. */
static int	 pt_open_noted;

/*
 * Send "WHAT PID VALUE" to paritytap record, which listens on an abstract
 * Unix datagram socket named in PARITYTAP_PRELOAD_NOTES: a process that
 * changed its uid, or cannot reach the output directory, can still say
 * what went wrong, and no file system permission is involved.  The send
 * does not wait: a note that finds the queue full is lost.
 */
void
pt_note(const char *what, long value)
{
	struct sockaddr_un	 sun;
	char			 line[128];
	size_t			 nlen;
	int			 fd, len, saved = errno;

	if ((nlen = strlen(pt_notes)) == 0)
		return;
	pt_depth++;
	len = snprintf(line, sizeof line, "%s %ld %ld\n", what,
	    (long)getpid(), value);
	if (len <= 0 || (size_t)len >= sizeof line)
		goto out;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path + 1, pt_notes, nlen);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto out;
	PT_REAL(sendto, "sendto");
	PT_REAL(close, "close");
	(void)real_sendto(fd, line, (size_t)len, MSG_DONTWAIT,
	    (struct sockaddr *)&sun, (socklen_t)(offsetof(struct sockaddr_un,
	    sun_path) + 1 + nlen));
	real_close(fd);
out:
	pt_depth--;
	errno = saved;
}

/* Note, once, that this process could not create its file (and its uid). */
static void
pt_check_open(void)
{
	if (pt_open_failed && !pt_open_noted) {
		pt_open_noted = 1;
		pt_note("unwritable", (long)geteuid());
	}
}

/* Whether the library records at all. */
int
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
			if (chunk[i].kind == PT_TCP && chunk[i].tls == 2 &&
			    chunk[i].alias == 0)
				pt_note("tls", 1);
			if (chunk[i].kind != PT_TCP || !chunk[i].started)
				continue;
			if (!pt_trylock(&chunk[i].lock))
				continue;
			pt_finish(&chunk[i]);
			chunk[i].started = 0;
			pt_unlock(&chunk[i].lock);
		}
	}
	pt_flush_all();
	pt_write_stats();
	pt_check_open();
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
	pt_open_noted = 0;
	pt_broken = 0;
	pt_output_forked();
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

/* The bytes a receive returned that are the stream's: none for a peek. */
#define PT_RECORDED(n, flags) \
	(((flags) & (MSG_PEEK | MSG_TRUNC)) != 0 ? 0 : (n))

/*
 * After a call on fd moved n bytes of buf in direction dir (0 in, 1 out):
 * record them if fd is wanted, errno as the call left it.  pt_want runs
 * whatever n is: inside an SSL call it notes the socket used.
 */
static void
pt_done_buf(int fd, int dir, const void *buf, ssize_t n)
{
	int	saved;

	if (!pt_want(fd) || n <= 0)
		return;
	saved = errno;
	pt_record_buf(fd, dir, buf, (size_t)n);
	errno = saved;
}

/* The same for an iovec. */
static void
pt_done_iov(int fd, int dir, const struct iovec *iov, int iovcnt, ssize_t n)
{
	int	saved;

	if (!pt_want(fd) || n <= 0)
		return;
	saved = errno;
	pt_record_iov(fd, dir, iov, iovcnt, n);
	errno = saved;
}

PT_EXPORT ssize_t
read(int fd, void *buf, size_t count)
{
	ssize_t	 n;

	PT_REAL(read, "read");
	pt_flush_read(fd, 0);
	n = real_read(fd, buf, count);
	pt_done_buf(fd, 0, buf, n);
	return (n);
}

PT_EXPORT ssize_t
__read_chk(int fd, void *buf, size_t count, size_t buflen)
{
	ssize_t	 n;

	PT_REAL(read_chk, "__read_chk");
	pt_flush_read(fd, 0);
	n = real_read_chk(fd, buf, count, buflen);
	pt_done_buf(fd, 0, buf, n);
	return (n);
}

PT_EXPORT ssize_t
readv(int fd, const struct iovec *iov, int iovcnt)
{
	ssize_t	 n;

	PT_REAL(readv, "readv");
	pt_flush_read(fd, 0);
	n = real_readv(fd, iov, iovcnt);
	pt_done_iov(fd, 0, iov, iovcnt, n);
	return (n);
}

PT_EXPORT ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
	ssize_t	 n;

	PT_REAL(recv, "recv");
	pt_flush_read(fd, flags);
	n = real_recv(fd, buf, len, flags);
	pt_done_buf(fd, 0, buf, PT_RECORDED(n, flags));
	return (n);
}

PT_EXPORT ssize_t
__recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
	ssize_t	 n;

	PT_REAL(recv_chk, "__recv_chk");
	pt_flush_read(fd, flags);
	n = real_recv_chk(fd, buf, len, buflen, flags);
	pt_done_buf(fd, 0, buf, PT_RECORDED(n, flags));
	return (n);
}

PT_EXPORT ssize_t
recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
    socklen_t *addrlen)
{
	ssize_t	 n;

	PT_REAL(recvfrom, "recvfrom");
	pt_flush_read(fd, flags);
	n = real_recvfrom(fd, buf, len, flags, addr, addrlen);
	pt_done_buf(fd, 0, buf, PT_RECORDED(n, flags));
	return (n);
}

PT_EXPORT ssize_t
__recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
    struct sockaddr *addr, socklen_t *addrlen)
{
	ssize_t	 n;

	PT_REAL(recvfrom_chk, "__recvfrom_chk");
	pt_flush_read(fd, flags);
	n = real_recvfrom_chk(fd, buf, len, buflen, flags, addr, addrlen);
	pt_done_buf(fd, 0, buf, PT_RECORDED(n, flags));
	return (n);
}

PT_EXPORT ssize_t
recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t	 n;

	PT_REAL(recvmsg, "recvmsg");
	pt_flush_read(fd, flags);
	n = real_recvmsg(fd, msg, flags);
	pt_done_iov(fd, 0, msg->msg_iov, (int)msg->msg_iovlen, PT_RECORDED(n, flags));
	return (n);
}

PT_EXPORT ssize_t
write(int fd, const void *buf, size_t count)
{
	ssize_t	 n;

	PT_REAL(write, "write");
	n = real_write(fd, buf, count);
	pt_done_buf(fd, 1, buf, n);
	return (n);
}

PT_EXPORT ssize_t
writev(int fd, const struct iovec *iov, int iovcnt)
{
	ssize_t	 n;

	PT_REAL(writev, "writev");
	n = real_writev(fd, iov, iovcnt);
	pt_done_iov(fd, 1, iov, iovcnt, n);
	return (n);
}

PT_EXPORT ssize_t
send(int fd, const void *buf, size_t len, int flags)
{
	ssize_t	 n;

	PT_REAL(send, "send");
	n = real_send(fd, buf, len, flags);
	pt_done_buf(fd, 1, buf, n);
	return (n);
}

PT_EXPORT ssize_t
sendto(int fd, const void *buf, size_t len, int flags,
    const struct sockaddr *addr, socklen_t addrlen)
{
	ssize_t	 n;

	PT_REAL(sendto, "sendto");
	n = real_sendto(fd, buf, len, flags, addr, addrlen);
	pt_done_buf(fd, 1, buf, n);
	return (n);
}

PT_EXPORT ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
	ssize_t	 n;

	PT_REAL(sendmsg, "sendmsg");
	n = real_sendmsg(fd, msg, flags);
	pt_done_iov(fd, 1, msg->msg_iov, (int)msg->msg_iovlen, n);
	return (n);
}

/*
 * Before a sendfile: where in in_fd the bytes will come from, or -1 when
 * out_fd is not recorded.  offset is the caller's offset, or -1 for the
 * file's position.
 */
static off_t
pt_sendfile_start(int out_fd, int in_fd, off_t offset)
{
	struct pt_stream	*st;
	off_t			 start;
	int			 saved;

	if (!pt_on() || ((st = pt_stream_get(out_fd, 0)) != NULL &&
	    st->kind == PT_IGNORED))
		return (-1);
	if (offset != -1)
		return (offset);
	saved = errno;
	start = lseek(in_fd, 0, SEEK_CUR);
	errno = saved;
	return (start);
}

/* After a sendfile: record the n bytes it sent from start. */
static void
pt_sendfile_done(int out_fd, int in_fd, off_t start, ssize_t n)
{
	int	saved;

	if (n > 0 && start != -1) {
		saved = errno;
		pt_record_sendfile(out_fd, in_fd, start, n);
		errno = saved;
	}
}

PT_EXPORT ssize_t
sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	off_t	 start;
	ssize_t	 n;

	PT_REAL(sendfile, "sendfile");
	start = pt_sendfile_start(out_fd, in_fd,
	    offset != NULL ? *offset : -1);
	n = real_sendfile(out_fd, in_fd, offset, count);
	pt_sendfile_done(out_fd, in_fd, start, n);
	return (n);
}

PT_EXPORT ssize_t
sendfile64(int out_fd, int in_fd, off64_t *offset, size_t count)
{
	off_t	 start;
	ssize_t	 n;

	PT_REAL(sendfile64, "sendfile64");
	start = pt_sendfile_start(out_fd, in_fd,
	    offset != NULL ? (off_t)*offset : -1);
	n = real_sendfile64(out_fd, in_fd, offset, count);
	pt_sendfile_done(out_fd, in_fd, start, n);
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
		if (pt_fd_gone(fd)) {
			pt_flush();
			pt_check_open();
		}
		errno = saved;
	}
	return (real_close(fd));
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

/*
 * --- waits: the buffered records are written before the program waits -
 *
 * An event loop under load finds events ready at every turn: a wait that
 * would not block is tried first (epoll and poll), and the buffer is
 * written only when that finds nothing or its oldest record is
 * PT_BUF_AGE_US old, so a busy loop writes when the buffer is full or
 * old, not at every turn.
 */

/* Records are waiting in a buffer (and the library is not inside itself). */
static int
pt_pending(void)
{
	return (__atomic_load_n(&pt_buffered, __ATOMIC_RELAXED) != 0 &&
	    pt_depth == 0);
}

PT_EXPORT int
epoll_wait(int epfd, struct epoll_event *ev, int maxev, int timeout)
{
	int	 n;

	PT_REAL(epoll_wait, "epoll_wait");
	if (timeout != 0 && pt_pending()) {
		/* Events ready: the loop does not wait, the buffer stays. */
		if (pt_buffer_young() &&
		    (n = real_epoll_wait(epfd, ev, maxev, 0)) != 0)
			return (n);
		pt_flush();
	}
	return (real_epoll_wait(epfd, ev, maxev, timeout));
}

PT_EXPORT int
epoll_pwait(int epfd, struct epoll_event *ev, int maxev, int timeout,
    const sigset_t *mask)
{
	int	 n;

	PT_REAL(epoll_pwait, "epoll_pwait");
	if (timeout != 0 && pt_pending()) {
		if (pt_buffer_young() &&
		    (n = real_epoll_pwait(epfd, ev, maxev, 0, mask)) != 0)
			return (n);
		pt_flush();
	}
	return (real_epoll_pwait(epfd, ev, maxev, timeout, mask));
}

PT_EXPORT int
poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	int	 n;

	PT_REAL(poll, "poll");
	if (timeout != 0 && pt_pending()) {
		if (pt_buffer_young() && (n = real_poll(fds, nfds, 0)) != 0)
			return (n);
		pt_flush();
	}
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
	pt_write_stats();
	pt_check_open();
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
	pt_write_stats();
	pt_check_open();
	if (real__Exit != NULL)
		real__Exit(status);
	for (;;)
		syscall(SYS_exit_group, status);
}
