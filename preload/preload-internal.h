/*
 * libparitytap-preload's internal interfaces: the types, the state the
 * files share, and their functions (all hidden: the library exports only
 * the functions it interposes, preload/preload.map).
 *
 *   preload.c	configuration, the real functions, the interposed calls
 *   stream.c	one stream per fd: what it is, its synthesized segments
 *   output.c	the pcap file, the record buffer, the segments' headers
 *   ssl.c	OpenSSL's SSL_read/SSL_write and friends
 */

#ifndef PRELOAD_INTERNAL_H
#define PRELOAD_INTERNAL_H

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
#include <sys/un.h>

#include <netinet/in.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What the library exports: the functions it interposes. */
#define PT_EXPORT	__attribute__((visibility("default")))

/* Streams live in chunks of PT_CHUNK fds, PT_NCHUNKS chunks at most. */
#define PT_CHUNK	256
#define PT_NCHUNKS	1024
#define PT_MAXFD	(PT_CHUNK * PT_NCHUNKS)

/* Largest TCP payload in one synthesized segment. */
#define PT_SEGMENT	65000

/* Tries at a busy stream lock (yielding between) before a record drops. */
#define PT_LOCK_TRIES	64

/*
 * Records gather in a buffer of PT_BUF_SIZE bytes per thread (PT_NSLOTS
 * at most: more threads share them), written out when it is full, when
 * its first record is PT_BUF_AGE_US old, and before the program waits
 * (poll, epoll_wait, select, read, accept, ...).  PT_ORDER entries
 * remember where each connection's last record went.
 */
#define PT_BUF_SIZE	(256 * 1024)
#define PT_BUF_AGE_US	100000
#define PT_BUF_TRIES	512
#define PT_ORDER_WAIT_US 2000000	/* see pt_order_keep */
#define PT_NSLOTS	64
#define PT_ORDER	4096

/* The counters' file is rewritten at most every PT_STATS_US. */
#define PT_STATS_US	10000

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
	unsigned char	 tls;		/* TLS: only SSL_* plaintext is kept;
					   2: not seen by SSL_* yet */
	unsigned char	 socket_data;	/* socket-level bytes recorded */
	unsigned char	 full;		/* over the per-stream byte limit */
	unsigned char	 nonblock;	/* O_NONBLOCK when first looked at */
	int		 alias;		/* fd + 1 of the socket's stream, or 0 */
	int		 refs;		/* other fds using this stream */
	ino_t		 ino;		/* the socket's inode */
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

/* Counters, kept in PREFIX.PID.stats as they change. */
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

#define TH_FIN	0x01
#define TH_SYN	0x02
#define TH_PSH	0x08
#define TH_ACK	0x10

/* preload.c: the configuration, read once from the environment. */
extern int		 pt_enabled;
extern char		 pt_prefix[PATH_MAX];
extern uint16_t		 pt_ports[PT_MAXPORTS];	/* host order */
extern size_t		 pt_nports;
extern uint64_t		 pt_max_bytes;		/* 0: no limit */
extern unsigned		 pt_eph_low;		/* ip_local_port_range */
extern unsigned		 pt_eph_high;

/* preload.c: the real functions the other files call. */
extern ssize_t		(*real_write)(int, const void *, size_t);
extern int		(*real_close)(int);

/* preload.c: the per-thread depth counter and the SSL call's socket. */
extern __thread int	 pt_depth __attribute__((tls_model("initial-exec")));
extern __thread int	 pt_in_ssl __attribute__((tls_model("initial-exec")));
extern __thread int	 pt_ssl_seen __attribute__((tls_model("initial-exec")));

/* output.c: the file, the counters, the record buffer. */
extern volatile int	 pt_fd;
extern volatile int	 pt_open_lock;
extern int		 pt_open_failed;
extern int		 pt_broken;		/* a short write: stop */
extern char		 pt_base[PATH_MAX];	/* PREFIX.PID[.N] */
extern struct pt_stats	 pt_stats;
extern uint32_t		 pt_isn;
extern size_t		 pt_buffered;		/* bytes in the buffers */

/* stream.c: the streams, in chunks allocated on first use. */
extern struct pt_stream	*volatile pt_chunks[PT_NCHUNKS];

/* Resolve a real function once. */
#define PT_REAL(name, sym) do {						\
	if (real_##name == NULL)					\
		*(void **)&real_##name = dlsym(RTLD_NEXT, sym);		\
} while (0)

/* Add to a counter from any thread. */
#define PT_COUNT(field, n) do {						\
	__atomic_fetch_add(&pt_stats.field, (n), __ATOMIC_RELAXED);	\
	pt_stats_changed(PT_LOSS(field));				\
} while (0)

/* Whether a counter counts records lost: its change is written at once. */
#define PT_LOSS(field)							\
	(__builtin_offsetof(struct pt_stats, field) ==			\
	    __builtin_offsetof(struct pt_stats, dropped) ||		\
	    __builtin_offsetof(struct pt_stats, field) ==		\
	    __builtin_offsetof(struct pt_stats, write_errors))

/* Take a lock, trying a bounded number of times. */
static inline int
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
static inline int
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
static inline void
pt_unlock(volatile int *lock)
{
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}

/* preload.c */
int		 pt_on(void);
void		 pt_note(const char *, long);

/* output.c */
int		 pt_output(void);
void		 pt_frame(struct pt_frame *, const struct pt_end *,
		     const struct pt_end *, uint32_t, uint32_t, uint8_t, size_t);
int		 pt_emit(struct pt_frame *, const struct iovec *, int, size_t);
void		 pt_flush(void);
void		 pt_flush_all(void);
void		 pt_flush_read(int, int);
int		 pt_buffer_young(void);
void		 pt_protect(int);
void		 pt_write_stats(void);
void		 pt_stats_changed(int);
void		 pt_output_forked(void);

/* stream.c */
struct pt_stream *pt_stream_get(int, int);
void		 pt_classify(int, struct pt_stream *);
void		 pt_data(struct pt_stream *, int, const struct iovec *, int,
		     size_t);
void		 pt_finish(struct pt_stream *);
void		 pt_record_buf(int, int, const void *, size_t);
void		 pt_record_iov(int, int, const struct iovec *, int, ssize_t);
void		 pt_record_sendfile(int, int, off_t, ssize_t);
void		 pt_new_conn(int, enum pt_role);
int		 pt_fd_gone(int);
void		 pt_dup_done(int, int);

#endif /* PRELOAD_INTERNAL_H */
