/*
 * poolserver: a keep-alive HTTP/1.1 server built as Apache's event MPM
 * is, for paritytap record's tests: one thread waits in epoll for every
 * idle connection and hands a readable one to a pool of worker threads;
 * a worker reads one request, answers it and gives the connection back.
 * So one connection's exchanges are served by different threads, and a
 * worker waits for work on a condition variable (no poll, no read).
 *
 *   poolserver PORTFILE WORKERS REQUESTS
 *
 * Listens on 127.0.0.1 (a port of its own, written to PORTFILE) and
 * exits 0 once it has answered REQUESTS requests and every connection is
 * closed.  GET /N/anything answers N bytes (at most 1000000), each a
 * function of the target and its offset, so a client can tell them
 * apart; any other target answers 404.  SIGTERM kills it (no handler).
 */

#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXBODY		1000000
#define QUEUE		4096

struct conn {
	int		 fd;
	char		 buf[8192];
	size_t		 have;
};

static int		 ep;
static pthread_mutex_t	 qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 qcond = PTHREAD_COND_INITIALIZER;
static struct conn	*queue[QUEUE];
static size_t		 qhead, qlen;
static long		 answered, open_conns, requests;

static void
die(const char *what)
{
	fprintf(stderr, "poolserver: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* Whether all is done: then exit (the listener is the only waiter). */
static void
check_done(void)
{
	if (answered >= requests && open_conns == 0)
		exit(0);
}

/* Write all of buf; return 0 or -1. */
static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/* The answer to one request line; return 0 or -1 (close). */
static int
answer(struct conn *c, const char *req)
{
	static __thread char	*body;
	char			 target[1024], head[256];
	unsigned long		 size;
	uint32_t		 h = 2166136261u;
	size_t			 i;
	int			 hl;

	if (body == NULL && (body = malloc(MAXBODY)) == NULL)
		die("malloc");
	if (sscanf(req, "GET %1023s HTTP/1.1", target) != 1 ||
	    target[0] != '/' || (size = strtoul(target + 1, NULL, 10)) == 0 ||
	    size > MAXBODY) {
		hl = snprintf(head, sizeof head, "HTTP/1.1 404 Not Found\r\n"
		    "Content-Length: 0\r\n\r\n");
		return (write_all(c->fd, head, (size_t)hl));
	}
	for (i = 0; target[i] != '\0'; i++)
		h = (h ^ (unsigned char)target[i]) * 16777619u;
	for (i = 0; i < size; i++) {
		h = h * 1103515245u + 12345u;
		body[i] = 'a' + (h >> 16) % 26;
	}
	hl = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %lu\r\n\r\n", size);
	if (write_all(c->fd, head, (size_t)hl) != 0 ||
	    write_all(c->fd, body, size) != 0)
		return (-1);
	return (0);
}

/* A worker: one request of a readable connection, then hand it back. */
static void *
worker(void *arg)
{
	struct epoll_event	 ev;
	struct conn		*c;
	char			*end;
	ssize_t			 n;
	int			 ok;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&qlock);
		while (qlen == 0)
			pthread_cond_wait(&qcond, &qlock);
		c = queue[qhead];
		qhead = (qhead + 1) % QUEUE;
		qlen--;
		pthread_mutex_unlock(&qlock);

		ok = 1;
		while ((end = memmem(c->buf, c->have, "\r\n\r\n", 4)) == NULL) {
			if (c->have == sizeof c->buf - 1) {
				ok = 0;
				break;
			}
			n = read(c->fd, c->buf + c->have,
			    sizeof c->buf - 1 - c->have);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0) {
				ok = 0;
				break;
			}
			c->have += (size_t)n;
		}
		if (ok) {
			c->buf[c->have] = '\0';
			*end = '\0';
			ok = answer(c, c->buf) == 0;
			c->have -= (size_t)(end + 4 - c->buf);
			memmove(c->buf, end + 4, c->have);
		}
		pthread_mutex_lock(&qlock);
		if (ok)
			answered++;
		if (!ok) {
			close(c->fd);
			free(c);
			open_conns--;
		} else {
			ev.events = EPOLLIN | EPOLLONESHOT;
			ev.data.ptr = c;
			if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
				die("epoll_ctl");
		}
		check_done();
		pthread_mutex_unlock(&qlock);
	}
	return (NULL);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	 sin;
	struct epoll_event	 ev, evs[64];
	socklen_t		 len = sizeof sin;
	struct conn		 lc, *c;
	pthread_t		 t;
	FILE			*f;
	char			 tmp[4096];
	int			 s, fd, on = 1, i, n, workers;

	if (argc != 4) {
		fprintf(stderr, "usage: poolserver PORTFILE WORKERS "
		    "REQUESTS\n");
		return (2);
	}
	workers = atoi(argv[2]);
	requests = atol(argv[3]);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    listen(s, 256) != 0 ||
	    getsockname(s, (struct sockaddr *)&sin, &len) != 0)
		die("listen");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1");
	lc.fd = s;
	ev.events = EPOLLIN;
	ev.data.ptr = &lc;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) != 0)
		die("epoll_ctl");
	for (i = 0; i < workers; i++) {
		if (pthread_create(&t, NULL, worker, NULL) != 0)
			die("pthread_create");
		pthread_detach(t);
	}
	/* The port file appears whole: written aside, then renamed. */
	snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
	if ((f = fopen(tmp, "w")) == NULL)
		die(tmp);
	fprintf(f, "%d\n", ntohs(sin.sin_port));
	if (fclose(f) != 0 || rename(tmp, argv[1]) != 0)
		die(argv[1]);

	for (;;) {
		if ((n = epoll_wait(ep, evs, 64, -1)) == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			c = evs[i].data.ptr;
			if (c == &lc) {
				if ((fd = accept(s, NULL, NULL)) == -1)
					continue;
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
				    sizeof on);
				if ((c = calloc(1, sizeof *c)) == NULL)
					die("calloc");
				c->fd = fd;
				pthread_mutex_lock(&qlock);
				open_conns++;
				pthread_mutex_unlock(&qlock);
				ev.events = EPOLLIN | EPOLLONESHOT;
				ev.data.ptr = c;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
					die("epoll_ctl");
				continue;
			}
			pthread_mutex_lock(&qlock);
			if (qlen == QUEUE)
				die("queue full");
			queue[(qhead + qlen) % QUEUE] = c;
			qlen++;
			pthread_cond_signal(&qcond);
			pthread_mutex_unlock(&qlock);
		}
	}
}
