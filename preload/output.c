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

/*
 * The record buffers: one slot per thread (threads beyond PT_NSLOTS
 * share), so that a thread writing its buffer out holds up no other.  A
 * connection's records may go through several threads; pt_order keeps
 * their order in the file.
 */
struct pt_slot {
	volatile int	 lock;
	uint8_t		*buf;		/* PT_BUF_SIZE, mapped on first use */
	size_t		 len;
	unsigned long	 nrec;
	uint64_t	 t0;		/* the first record's time */
	uint64_t	 gen;		/* buffers written so far */
};
static struct pt_slot	 pt_slots[PT_NSLOTS];
static unsigned		 pt_next_slot;
static int		 pt_slots_hi;		/* slots used: 0 to this - 1 */
static __thread int	 pt_my_slot __attribute__((tls_model("initial-exec")));
size_t			 pt_buffered;		/* bytes in all the slots */

/*
 * For each connection (by a hash of its ends; two sharing an entry only
 * cost a write), the slot its last record went to and that slot's gen
 * then, as slot + 1 | gen << 8: while the gen is unchanged, that record
 * is still in the buffer, and the slot is written out before the
 * connection's next record goes to another one.
 */
static uint64_t		 pt_order[PT_ORDER];

/* The counters' file, rewritten in place as they change. */
static volatile int	 pt_stats_fd = -1;
static dev_t		 pt_stats_dev;
static ino_t		 pt_stats_ino;
static volatile int	 pt_stats_lock;
static volatile int	 pt_stats_dirty;
static uint64_t		 pt_stats_last;

static void	pt_stats_open(void);

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
	pt_stats_open();
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

/* A monotonic clock in microseconds. */
static uint64_t
pt_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

/*
 * Write a slot's buffer out; its lock is held.  One write to an O_APPEND
 * file (the kernel keeps each whole, whatever other threads write); a
 * short one would leave a torn record that every later one depends on,
 * so the file is given up.
 */
static void
pt_slot_write(struct pt_slot *sl)
{
	ssize_t	 n;
	size_t	 len = sl->len;
	int	 fd;

	if (len == 0)
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
		n = fd == -1 || pt_broken ? -1 : real_write(fd, sl->buf, len);
	} while (n == -1 && errno == EINTR);
	if (n != (ssize_t)len) {
		if (n > 0)
			pt_broken = 1;
		PT_COUNT(write_errors, sl->nrec);
	} else
		PT_COUNT(packets, sl->nrec);
	__atomic_store_n(&sl->len, 0, __ATOMIC_RELAXED);
	sl->nrec = 0;
	__atomic_store_n(&sl->gen, sl->gen + 1, __ATOMIC_RELEASE);
	__atomic_fetch_sub(&pt_buffered, len, __ATOMIC_RELEASE);
	pt_stats_changed(0);
}

/* How many slots may hold records: the others were never used. */
static int
pt_slots_used(void)
{
	return (__atomic_load_n(&pt_slots_hi, __ATOMIC_ACQUIRE));
}

/* This thread's slot. */
static int
pt_slot_mine(void)
{
	if (pt_my_slot == 0) {
		pt_my_slot = 1 + (int)(__atomic_fetch_add(&pt_next_slot, 1,
		    __ATOMIC_RELAXED) % PT_NSLOTS);
	}
	return (pt_my_slot - 1);
}

/*
 * Write out every slot's buffer that is not being used (errno is kept);
 * mine is waited for a while, the others tried once.  Any thread about
 * to wait writes out what all of them gathered, so records do not stay
 * behind in the buffer of a thread that went idle.
 */
void
pt_flush(void)
{
	struct pt_slot	*sl;
	int		 saved, i, mine;

	if (__atomic_load_n(&pt_buffered, __ATOMIC_RELAXED) == 0 ||
	    pt_depth != 0)
		return;
	saved = errno;
	pt_depth++;
	pt_output();
	mine = pt_slot_mine();
	for (i = 0; i < pt_slots_used(); i++) {
		sl = &pt_slots[i];
		if (__atomic_load_n(&sl->len, __ATOMIC_RELAXED) == 0)
			continue;
		if (pt_trylock_n(&sl->lock, i == mine ? PT_BUF_TRIES : 1)) {
			pt_slot_write(sl);
			pt_unlock(&sl->lock);
		}
	}
	pt_depth--;
	errno = saved;
}

/*
 * No buffer's oldest record is PT_BUF_AGE_US old yet: a wait that does
 * not block may leave them where they are.
 */
int
pt_buffer_young(void)
{
	struct pt_slot	*sl;
	uint64_t	 now, t0;
	int		 i;

	now = pt_now();
	for (i = 0; i < pt_slots_used(); i++) {
		sl = &pt_slots[i];
		if (__atomic_load_n(&sl->len, __ATOMIC_ACQUIRE) == 0)
			continue;
		t0 = __atomic_load_n(&sl->t0, __ATOMIC_RELAXED);
		if (now - t0 >= PT_BUF_AGE_US || now < t0)
			return (0);
	}
	return (1);
}

/* At exit: write out every slot, waiting a while for each. */
void
pt_flush_all(void)
{
	struct pt_slot	*sl;
	int		 i;

	if (__atomic_load_n(&pt_buffered, __ATOMIC_RELAXED) != 0)
		pt_output();
	for (i = 0; i < PT_NSLOTS; i++) {
		sl = &pt_slots[i];
		if (__atomic_load_n(&sl->len, __ATOMIC_RELAXED) == 0)
			continue;
		if (pt_trylock_n(&sl->lock, PT_BUF_TRIES)) {
			pt_slot_write(sl);
			pt_unlock(&sl->lock);
		}
	}
}

/*
 * Before a read on fd, which may wait: write out the buffers, unless fd
 * is a recorded socket in non-blocking mode (an event loop's; it flushes
 * before epoll_wait or poll instead).
 */
void
pt_flush_read(int fd, int flags)
{
	struct pt_stream	*st;

	if (__atomic_load_n(&pt_buffered, __ATOMIC_RELAXED) == 0 ||
	    (flags & MSG_DONTWAIT))
		return;
	if ((st = pt_stream_get(fd, 0)) != NULL && st->kind == PT_TCP &&
	    st->nonblock)
		return;
	pt_flush();
}

/* The pt_order entry of a frame's connection: its two ends, either way. */
static uint64_t *
pt_order_entry(const struct pt_frame *f)
{
	const uint8_t	*ip = f->b + 16 + 14, *tcp;
	uint64_t	 a = 1469598103934665603ULL, b = a;
	size_t		 alen, i;
	const uint8_t	*sa, *da;

	if ((ip[0] >> 4) == 4) {
		alen = 4;
		sa = ip + 12;
		da = ip + 16;
		tcp = ip + 20;
	} else {
		alen = 16;
		sa = ip + 8;
		da = ip + 24;
		tcp = ip + 40;
	}
	for (i = 0; i < alen; i++) {
		a = (a ^ sa[i]) * 1099511628211ULL;
		b = (b ^ da[i]) * 1099511628211ULL;
	}
	for (i = 0; i < 2; i++) {
		a = (a ^ tcp[i]) * 1099511628211ULL;
		b = (b ^ tcp[2 + i]) * 1099511628211ULL;
	}
	a ^= b;
	a ^= a >> 29;
	return (&pt_order[a % PT_ORDER]);
}

/*
 * Is a connection's last record (its order entry e) still in the buffer of
 * a slot other than slot?  Return that slot, or -1.
 */
static int
pt_order_behind(uint64_t e, int slot)
{
	int	 at = (int)(e & 0xff) - 1;

	if (e == 0 || at == slot ||
	    __atomic_load_n(&pt_slots[at].gen, __ATOMIC_ACQUIRE) != e >> 8)
		return (-1);
	return (at);
}

/*
 * Before a connection's record goes to slot mine (the one taken for it):
 * if its last record is still in another slot's buffer, write that one
 * out first.  Its holder is writing or appending one record, which
 * always ends, but a holder preempted on a busy machine may keep the
 * lock for many time slices, longer than any number of yields: so the
 * wait is bounded in time (PT_ORDER_WAIT_US), not in tries.  Going on
 * without it would put the connection's records in the file out of
 * order, and a later segment acknowledging the missing bytes makes the
 * reader give them up as a gap that no counter shows; past the bound
 * the record is dropped instead, and counted.  Return 0, or -1 for that.
 */
static int
pt_order_keep(uint64_t e, int mine)
{
	struct pt_slot	*sl;
	uint64_t	 gen, start = 0, now;
	unsigned	 i;
	int		 at;

	if ((at = pt_order_behind(e, mine)) == -1)
		return (0);
	sl = &pt_slots[at];
	gen = e >> 8;
	for (i = 0;; i++) {
		if (__atomic_load_n(&sl->gen, __ATOMIC_ACQUIRE) != gen)
			return (0);
		if (!__atomic_exchange_n(&sl->lock, 1, __ATOMIC_ACQUIRE)) {
			if (sl->gen == gen)
				pt_slot_write(sl);
			pt_unlock(&sl->lock);
			return (0);
		}
		if (i % PT_BUF_TRIES == PT_BUF_TRIES - 1) {
			now = pt_now();
			if (start == 0)
				start = now;
			else if (now - start >= PT_ORDER_WAIT_US || now < start)
				return (-1);
		}
		sched_yield();
	}
}

/* Take a slot for a record: mine if it is free soon, else any free one. */
static struct pt_slot *
pt_slot_take(int mine)
{
	struct pt_slot	*sl = NULL;
	int		 i, j;

	for (i = 0; i < PT_BUF_TRIES && sl == NULL; i++) {
		for (j = 0; j < PT_NSLOTS; j++) {
			sl = &pt_slots[(mine + j) % PT_NSLOTS];
			if (!__atomic_exchange_n(&sl->lock, 1,
			    __ATOMIC_ACQUIRE))
				break;
			sl = NULL;
			/* Others only once mine has been busy a while. */
			if (i < PT_LOCK_TRIES)
				break;
		}
		if (sl == NULL)
			sched_yield();
	}
	if (sl != NULL) {
		j = (int)(sl - pt_slots) + 1;
		i = __atomic_load_n(&pt_slots_hi, __ATOMIC_RELAXED);
		while (i < j && !__atomic_compare_exchange_n(&pt_slots_hi, &i,
		    j, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
			;
		if (sl->buf == NULL) {
			sl->buf = mmap(NULL, PT_BUF_SIZE, PROT_READ |
			    PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (sl->buf == MAP_FAILED) {
				sl->buf = NULL;
				pt_unlock(&sl->lock);
				return (NULL);
			}
		}
	}
	return (sl);
}

/*
 * Append one record (headers and payload pieces, at most PT_SEGMENT bytes
 * of payload: it always fits an empty buffer) to this thread's buffer.
 * The caller holds the stream's lock, so a connection's records come
 * here one at a time.
 */
int
pt_emit(struct pt_frame *f, const struct iovec *pay, int npay, size_t paylen)
{
	struct pt_slot	*sl;
	uint64_t	*order, e;
	size_t		 want, off;
	int		 i, mine, taken, behind;

	pt_output();
	if (pt_broken || pt_open_failed) {
		PT_COUNT(write_errors, 1);
		return (-1);
	}
	want = 16 + f->len + paylen;
	mine = pt_slot_mine();
	order = pt_order_entry(f);
	e = __atomic_load_n(order, __ATOMIC_ACQUIRE);
	/*
	 * The slot taken is not always mine (mine may be busy a while):
	 * whichever it is, the connection's last record, if it is still in
	 * another slot's buffer, is written out before this one goes in.
	 * If it could not be (the file is still being opened), the record
	 * goes into that same buffer, behind it.
	 */
	for (;;) {
		if ((sl = pt_slot_take(mine)) == NULL)
			break;
		taken = (int)(sl - pt_slots);
		if ((behind = pt_order_behind(e, taken)) == -1)
			break;
		pt_unlock(&sl->lock);
		sl = NULL;
		if (pt_order_keep(e, taken) != 0)
			break;
		/* Then the slot it was in, with the record ahead. */
		mine = behind;
	}
	if (sl == NULL) {
		PT_COUNT(dropped, 1);
		PT_COUNT(dropped_bytes, paylen);
		return (-1);
	}
	if (sl->len + want > PT_BUF_SIZE)
		pt_slot_write(sl);
	if (sl->len + want > PT_BUF_SIZE) {
		/* Full, and the file is still being opened. */
		pt_unlock(&sl->lock);
		PT_COUNT(dropped, 1);
		PT_COUNT(dropped_bytes, paylen);
		return (-1);
	}
	if (sl->len == 0)
		__atomic_store_n(&sl->t0, f->us, __ATOMIC_RELAXED);
	memcpy(sl->buf + sl->len, f->b, 16 + f->len);
	off = sl->len + 16 + f->len;
	for (i = 0; i < npay; i++) {
		memcpy(sl->buf + off, pay[i].iov_base, pay[i].iov_len);
		off += pay[i].iov_len;
	}
	sl->nrec++;
	__atomic_fetch_add(&pt_buffered, off - sl->len, __ATOMIC_RELEASE);
	__atomic_store_n(&sl->len, off, __ATOMIC_RELEASE);
	__atomic_store_n(order, (uint64_t)(sl - pt_slots + 1) | sl->gen << 8,
	    __ATOMIC_RELEASE);
	if (f->us - sl->t0 >= PT_BUF_AGE_US || f->us < sl->t0)
		pt_slot_write(sl);
	pt_unlock(&sl->lock);
	return (0);
}

/*
 * The host is closing or dup2-ing onto one of the library's own fds: move
 * it to another number first, so the host gets what it asked for and the
 * library keeps its file.
 */
static int
pt_move(int cur)
{
	int	 nfd;

	nfd = fcntl(cur, F_DUPFD_CLOEXEC, cur + 1);
	if (nfd == -1)
		nfd = fcntl(cur, F_DUPFD_CLOEXEC, 3);
	return (nfd);
}

void
pt_protect(int fd)
{
	int	 cur, nfd, i, locked[PT_NSLOTS];

	cur = __atomic_load_n(&pt_stats_fd, __ATOMIC_ACQUIRE);
	if (cur != -1 && cur == fd) {
		locked[0] = pt_trylock_n(&pt_stats_lock, PT_BUF_TRIES);
		__atomic_store_n(&pt_stats_fd, pt_move(cur), __ATOMIC_RELEASE);
		if (locked[0])
			pt_unlock(&pt_stats_lock);
	}

	cur = __atomic_load_n(&pt_fd, __ATOMIC_ACQUIRE);
	if (cur == -1 || cur != fd)
		return;
	/* Writes happen under a slot's lock: none uses the old number. */
	for (i = 0; i < PT_NSLOTS; i++)
		locked[i] = pt_trylock_n(&pt_slots[i].lock, PT_BUF_TRIES);
	if ((nfd = pt_move(cur)) == -1) {
		pt_broken = 1;
		__atomic_store_n(&pt_fd, -1, __ATOMIC_RELEASE);
		pt_open_failed = 1;
	} else
		__atomic_store_n(&pt_fd, nfd, __ATOMIC_RELEASE);
	for (i = 0; i < PT_NSLOTS; i++) {
		if (locked[i])
			pt_unlock(&pt_slots[i].lock);
	}
}

/*
 * Open PREFIX.PID.stats next to the pcap: the counters are rewritten in
 * it as they change, so that they are there even when the program dies
 * by a signal.  The directory may be shared with workers of other uids
 * (mode 1733): never follow a link one of them left under our name.
 */
static void
pt_stats_open(void)
{
	char		 path[PATH_MAX + 8];
	struct stat	 sb;
	int		 fd;

	if ((size_t)snprintf(path, sizeof path, "%s.stats", pt_base) >=
	    sizeof path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd == -1)
		return;
	fd = pt_fd_move_high(fd);
	if (fstat(fd, &sb) == 0) {
		pt_stats_dev = sb.st_dev;
		pt_stats_ino = sb.st_ino;
	}
	__atomic_store_n(&pt_stats_fd, fd, __ATOMIC_RELEASE);
	pt_stats_changed(1);
}

/*
 * The counters changed: rewrite the file (every line a fixed width, so
 * each version covers the one before) if now is at least PT_STATS_US
 * after the last time, or at once if force (a record lost).  Whoever
 * holds the lock writes again while the counters change under it.
 */
void
pt_stats_changed(int force)
{
	char		 buf[512];
	struct stat	 sb;
	uint64_t	 now;
	ssize_t		 n;
	int		 fd, len, saved;

	if (__atomic_load_n(&pt_stats_fd, __ATOMIC_RELAXED) == -1)
		return;
	/* Not stored again while set: threads need not share the line. */
	if (force || !__atomic_load_n(&pt_stats_dirty, __ATOMIC_RELAXED))
		__atomic_store_n(&pt_stats_dirty, 1, __ATOMIC_SEQ_CST);
	now = pt_now();
	if (!force && now - __atomic_load_n(&pt_stats_last,
	    __ATOMIC_RELAXED) < PT_STATS_US)
		return;
	if (__atomic_exchange_n(&pt_stats_lock, 1, __ATOMIC_ACQUIRE))
		return;
	saved = errno;
	while (__atomic_exchange_n(&pt_stats_dirty, 0, __ATOMIC_ACQ_REL)) {
		fd = pt_stats_fd;
		/* The host may have closed it and reused the number. */
		if (fd == -1 || fstat(fd, &sb) != 0 ||
		    sb.st_dev != pt_stats_dev || sb.st_ino != pt_stats_ino)
			break;
		len = snprintf(buf, sizeof buf,
		    "pid %20ld\npackets %20lu\nbytes %20lu\nstreams %20lu\n"
		    "dropped %20lu\ndropped_bytes %20lu\nwrite_errors %20lu\n"
		    "truncated_bytes %20lu\nssl_no_fd %20lu\n",
		    (long)getpid(),
		    __atomic_load_n(&pt_stats.packets, __ATOMIC_RELAXED),
		    __atomic_load_n(&pt_stats.bytes, __ATOMIC_RELAXED),
		    __atomic_load_n(&pt_stats.streams, __ATOMIC_RELAXED),
		    __atomic_load_n(&pt_stats.dropped, __ATOMIC_RELAXED),
		    __atomic_load_n(&pt_stats.dropped_bytes, __ATOMIC_RELAXED),
		    __atomic_load_n(&pt_stats.write_errors, __ATOMIC_RELAXED),
		    __atomic_load_n(&pt_stats.truncated_bytes,
		    __ATOMIC_RELAXED),
		    __atomic_load_n(&pt_stats.ssl_no_fd, __ATOMIC_RELAXED));
		if (len <= 0 || (size_t)len >= sizeof buf)
			break;
		do {
			n = pwrite(fd, buf, (size_t)len, 0);
		} while (n == -1 && errno == EINTR);
		__atomic_store_n(&pt_stats_last, now, __ATOMIC_RELAXED);
	}
	pt_unlock(&pt_stats_lock);
	errno = saved;
}

/* At exit: the counters as they end. */
void
pt_write_stats(void)
{
	pt_stats_changed(1);
}

/* In a forked child: the parent's buffers and files are the parent's. */
void
pt_output_forked(void)
{
	int	 i, fd;

	fd = pt_stats_fd;
	pt_stats_fd = -1;
	if (fd != -1)
		syscall(SYS_close, fd);
	pt_stats_lock = 0;
	pt_stats_dirty = 0;
	pt_stats_last = 0;
	for (i = 0; i < PT_NSLOTS; i++) {
		pt_slots[i].lock = 0;
		pt_slots[i].len = 0;
		pt_slots[i].nrec = 0;
		pt_slots[i].gen++;
	}
	pt_buffered = 0;
	pt_my_slot = 0;
	pt_slots_hi = 0;
	memset(pt_order, 0, sizeof pt_order);
}
