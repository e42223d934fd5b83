/*
 * rawclient: send raw bytes to a TCP server and print what comes back.
 *
 *	rawclient HOST PORT [--timeout MS] [--shutdown] [--one-response]
 *	rawclient --bound-port
 *
 * Reads all of stdin, connects, writes it, then prints every byte
 * received to stdout until the peer closes or the timeout expires.  The
 * write side is shut down only with --shutdown: a server that answers a
 * bad request and closes must be read from first, and a half-close would
 * make some servers drop the answer.  With --one-response it also stops
 * once a whole response has come (its head and the body its
 * Content-Length or chunked framing says): a kept-alive connection does
 * not have to wait for the timeout.
 *
 * Exit status: 0 the peer closed (or, with --one-response, one response
 * came), 4 the timeout expired first, 1 error.
 * --bound-port binds a TCP socket to 127.0.0.1:0 without listening on it,
 * prints its port and sleeps until killed: while it runs, a connection to
 * that port is refused (no other socket can take the port), a backend
 * that is down for sure.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Return a monotonic clock in milliseconds. */
static long long
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write all of buf to fd. */
static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read all of stdin into a malloc'd buffer. */
static char *
read_stdin(size_t *lenp)
{
	char	*p = NULL, *np;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;

	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			if ((np = realloc(p, cap)) == NULL) {
				fprintf(stderr, "rawclient: out of memory\n");
				exit(1);
			}
			p = np;
		}
		if ((n = read(0, p + len, cap - len)) < 0) {
			if (errno == EINTR)
				continue;
			perror("rawclient: stdin");
			exit(1);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*lenp = len;
	return p;
}

/* Hold a port bound but not listening; print it; sleep until killed. */
static int
bound_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	int			fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
		perror("rawclient: socket");
		return 1;
	}
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		perror("rawclient: bind");
		close(fd);
		return 1;
	}
	printf("%d\n", ntohs(sin.sin_port));
	if (fflush(stdout) != 0)
		return 1;
	for (;;)
		pause();
}

/*
 * Whether buf holds one complete response: a head, then as many body bytes
 * as its Content-Length says, or chunks up to the last one and its empty
 * trailer.  A 1xx head is not the response.  Without framing the body
 * runs to the close, so this never says yes.
 */
static int
have_response(const char *buf, size_t len)
{
	const char	*p, *eoh, *end = buf + len, *line;
	size_t		 hlen, n;
	long long	 cl = -1;
	int		 chunked = 0, status;

	for (;;) {
		if ((eoh = memmem(buf, len, "\r\n\r\n", 4)) == NULL)
			return 0;
		hlen = (size_t)(eoh - buf) + 4;
		if (len < 12 || sscanf(buf, "HTTP/%*d.%*d %3d", &status) != 1)
			return 0;
		if (status >= 200 || status == 101)
			break;
		buf += hlen;
		len -= hlen;
	}
	for (line = buf; line < eoh; line = p + 2) {
		if ((p = memmem(line, (size_t)(eoh + 2 - line), "\r\n", 2)) == NULL)
			break;
		n = (size_t)(p - line);
		if (n > 15 && strncasecmp(line, "content-length:", 15) == 0)
			cl = strtoll(line + 15, NULL, 10);
		else if (n > 18 &&
		    strncasecmp(line, "transfer-encoding:", 18) == 0 &&
		    memmem(line, n, "chunked", 7) != NULL)
			chunked = 1;
	}
	if (status == 204 || status == 304)
		return 1;
	if (chunked)
		return len - hlen >= 5 && memcmp(end - 5, "0\r\n\r\n", 5) == 0;
	if (cl >= 0)
		return (long long)(len - hlen) >= cl;
	return 0;
}

/* Connect to host:port, blocking. */
static int
connect_to(const char *host, const char *port)
{
	struct addrinfo	 hints, *res, *ai;
	int		 fd = -1, error;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((error = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "rawclient: %s:%s: %s\n", host, port,
		    gai_strerror(error));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype,
		    ai->ai_protocol)) < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		fprintf(stderr, "rawclient: cannot connect to %s:%s: %s\n",
		    host, port, strerror(errno));
	freeaddrinfo(res);
	return fd;
}

static void
usage(void)
{
	fprintf(stderr, "usage: rawclient HOST PORT [--timeout MS] "
	    "[--shutdown] [--one-response]\n"
	    "       rawclient --bound-port\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	const char	*host = NULL, *port = NULL;
	long		 timeout = 3000;
	int		 do_shutdown = 0, one = 0, fd, i, n_pos = 0, left;
	char		*out, rbuf[65536], *end, *in = NULL, *nin;
	size_t		 out_len, off = 0, in_len = 0;
	long long	 deadline;
	struct pollfd	 pfd;
	ssize_t		 n;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--bound-port") == 0)
			return bound_port();
		if (strcmp(argv[i], "--shutdown") == 0)
			do_shutdown = 1;
		else if (strcmp(argv[i], "--one-response") == 0)
			one = 1;
		else if (strcmp(argv[i], "--timeout") == 0) {
			if (++i == argc)
				usage();
			timeout = strtol(argv[i], &end, 10);
			if (*end != '\0' || timeout < 0)
				usage();
		} else if (n_pos == 0) {
			host = argv[i];
			n_pos++;
		} else if (n_pos == 1) {
			port = argv[i];
			n_pos++;
		} else
			usage();
	}
	if (host == NULL || port == NULL)
		usage();

	signal(SIGPIPE, SIG_IGN);
	out = read_stdin(&out_len);
	if ((fd = connect_to(host, port)) < 0)
		return 1;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
		perror("rawclient: fcntl");
		return 1;
	}
	if (out_len == 0 && do_shutdown)
		shutdown(fd, SHUT_WR);

	deadline = mono_ms() + timeout;
	for (;;) {
		left = (int)(deadline - mono_ms());
		if (left <= 0) {
			fflush(stdout);
			return 4;
		}
		pfd.fd = fd;
		pfd.events = POLLIN | (off < out_len ? POLLOUT : 0);
		pfd.revents = 0;
		if (poll(&pfd, 1, left) < 0) {
			if (errno == EINTR)
				continue;
			perror("rawclient: poll");
			return 1;
		}
		if ((pfd.revents & POLLOUT) && off < out_len) {
			n = write(fd, out + off, out_len - off);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				/* The peer may have answered and closed. */
				off = out_len;
			} else if (n > 0)
				off += (size_t)n;
			if (off == out_len && do_shutdown)
				shutdown(fd, SHUT_WR);
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(fd, rbuf, sizeof rbuf);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					continue;
				if (errno == ECONNRESET)
					break;
				perror("rawclient: read");
				return 1;
			}
			if (n == 0)
				break;
			if (write_all(1, rbuf, (size_t)n) != 0) {
				perror("rawclient: stdout");
				return 1;
			}
			if (!one)
				continue;
			/* Kept NUL-terminated for sscanf. */
			if ((nin = realloc(in, in_len + (size_t)n + 1)) == NULL) {
				fprintf(stderr, "rawclient: out of memory\n");
				return 1;
			}
			in = nin;
			memcpy(in + in_len, rbuf, (size_t)n);
			in_len += (size_t)n;
			in[in_len] = '\0';
			if (have_response(in, in_len))
				break;
		}
	}
	close(fd);
	free(in);
	free(out);
	return 0;
}
