/*
 * libparitytap-preload: the pcap file (one per process, opened on first
 * use, out of the host's way), the buffer records gather in, and the
 * headers of the synthesized segments.
 */

#include "preload-internal.h"

/* The output: one file per process, opened on first use. */
volatile int		 pt_fd = -1;
volatile int		 pt_open_lock;
int			 pt_open_failed;
int			 pt_broken;
char			 pt_base[PATH_MAX];
static dev_t		 pt_dev;		/* what pt_fd must be */
static ino_t		 pt_ino;
struct pt_stats		 pt_stats;
uint32_t		 pt_isn;

/* The record buffer. */
static uint8_t		 pt_buf[PT_BUF_SIZE];
size_t			 pt_buf_len;
unsigned long		 pt_buf_nrec;
static uint64_t		 pt_buf_t0;
volatile int		 pt_buf_lock;

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
int
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
void
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
void
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
void
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
void
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
int
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

/*
 * The host is closing or dup2-ing onto the library's own fd: move the
 * library's fd to another number first, so the host gets what it asked
 * for and the library keeps its file.
 */
void
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
void
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
