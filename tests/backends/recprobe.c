/*
 * recprobe: programs for the recorder's tests (tests/t0630-record.sh),
 * run under paritytap record or with the library in LD_PRELOAD.
 *
 *   recprobe serve thread|fork PORTFILE CONNS
 *	an HTTP/1.1 server on 127.0.0.1 (a port of its own, written to
 *	PORTFILE) that answers each request with a JSON document naming
 *	its target and body length, keep-alive; one thread or one forked
 *	child per connection (a child serves two requests and calls _exit
 *	with the connection still open); exits 0 after CONNS connections
 *	are done.
 *   recprobe reuse PORT
 *	a client that closes and reuses fds: a request, close, a file
 *	opened on the same fd number and written, a second connection on
 *	it, a third connection dup2'd onto another fd; then a daemon-style
 *	loop that closes every fd from 3 up, and a fourth request; a dup2
 *	of a file onto the recorder's own fd (found in /proc/self/fd), and
 *	a fifth request, a POST whose body goes out with sendfile from the
 *	file's offset.  Prints each response body, one a line.
 *   recprobe errno
 *	calls that fail, and one that succeeds with errno set before; prints
 *	the errno each leaves, to compare with and without the library.
 *   recprobe freeport
 *	prints a port on 127.0.0.1 that was free a moment ago.
 *   recprobe waitport PORT SECONDS
 *	exits 0 once something accepts connections on 127.0.0.1:PORT (it
 *	sends nothing, so a recorded server records nothing), 1 if nothing
 *	did in time.
 */

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void __attribute__((noreturn))
die(const char *what)
{
	fprintf(stderr, "recprobe: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Read one request (head and Content-Length body); return 1, 0 at EOF. */
static int
read_request(int fd, char *target, size_t tsize, size_t *bodylen)
{
	char	 buf[16384], *end, *cl;
	size_t	 have = 0, need;
	ssize_t	 n;

	for (;;) {
		if (have == sizeof buf - 1)
			return (0);
		n = read(fd, buf + have, sizeof buf - 1 - have);
		if (n <= 0)
			return (0);
		have += (size_t)n;
		buf[have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
	}
	*bodylen = 0;
	if ((cl = strcasestr(buf, "\r\nContent-Length:")) != NULL && cl < end)
		*bodylen = strtoul(cl + 17, NULL, 10);
	if (sscanf(buf, "%*s %1023s", target) != 1)
		snprintf(target, tsize, "?");
	need = (size_t)(end + 4 - buf) + *bodylen;
	while (have < need) {
		n = read(fd, buf, sizeof buf < need - have ? sizeof buf :
		    need - have);
		if (n <= 0)
			return (0);
		have += (size_t)n;
	}
	return (1);
}

/* Serve a connection until the client closes it or max requests (0: no limit). */
static void
serve_conn(int fd, const char *mode, int max)
{
	struct iovec	 iov[2];
	char		 target[1024], head[256], body[1400];
	size_t		 bodylen;
	int		 hl, bl, n = 0;

	while ((max == 0 || n++ < max) &&
	    read_request(fd, target, sizeof target, &bodylen)) {
		bl = snprintf(body, sizeof body,
		    "{\"target\":\"%s\",\"mode\":\"%s\",\"request_body\":%zu}",
		    target, mode, bodylen);
		hl = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\n"
		    "Content-Type: application/json\r\n"
		    "Content-Length: %d\r\n\r\n", bl);
		iov[0].iov_base = head;
		iov[0].iov_len = (size_t)hl;
		iov[1].iov_base = body;
		iov[1].iov_len = (size_t)bl;
		if (writev(fd, iov, 2) != hl + bl)
			break;
	}
}

static int	 conns_done;
static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;

static void *
conn_thread(void *arg)
{
	serve_conn((int)(intptr_t)arg, "thread", 0);
	close((int)(intptr_t)arg);
	pthread_mutex_lock(&conns_lock);
	conns_done++;
	pthread_mutex_unlock(&conns_lock);
	return (NULL);
}

static int
cmd_serve(const char *mode, const char *portfile, int conns)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof sin;
	pthread_t		 t;
	FILE			*f;
	char			 tmp[4096];
	int			 s, c, on = 1, accepted = 0, done, reaped = 0;
	int			 status;
	pid_t			 pid;

	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    listen(s, 64) != 0 ||
	    getsockname(s, (struct sockaddr *)&sin, &len) != 0)
		die("listen");
	/* The port file appears whole: written aside, then renamed. */
	snprintf(tmp, sizeof tmp, "%s.tmp", portfile);
	if ((f = fopen(tmp, "w")) == NULL)
		die(tmp);
	fprintf(f, "%d\n", ntohs(sin.sin_port));
	if (fclose(f) != 0 || rename(tmp, portfile) != 0)
		die(portfile);
	while (accepted < conns) {
		if ((c = accept(s, NULL, NULL)) == -1) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		accepted++;
		if (strcmp(mode, "thread") == 0) {
			if (pthread_create(&t, NULL, conn_thread,
			    (void *)(intptr_t)c) != 0)
				die("pthread_create");
			pthread_detach(t);
			continue;
		}
		switch ((pid = fork())) {
		case -1:
			die("fork");
		case 0:
			/*
			 * Two requests (curl's two URLs), then _exit with the
			 * connection open: no close, no exit handlers.
			 */
			close(s);
			serve_conn(c, "fork", 2);
			_exit(0);
		}
		close(c);
		while (waitpid(-1, &status, WNOHANG) > 0)
			reaped++;
	}
	close(s);
	/* Wait for the last connections to be served. */
	for (;;) {
		if (strcmp(mode, "thread") == 0) {
			pthread_mutex_lock(&conns_lock);
			done = conns_done;
			pthread_mutex_unlock(&conns_lock);
			if (done == conns)
				break;
			usleep(10000);
		} else {
			if (reaped == conns)
				break;
			if (waitpid(-1, &status, 0) > 0)
				reaped++;
			else if (errno != EINTR)
				break;
		}
	}
	return (0);
}

/* Connect to 127.0.0.1:port. */
static int
dial(int port)
{
	struct sockaddr_in	 sin;
	int			 s;

	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket");
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if (connect(s, (struct sockaddr *)&sin, sizeof sin) != 0)
		die("connect");
	return (s);
}

/* One GET on a connection (NULL: the request was sent); print the body. */
static void
get(int s, const char *target)
{
	char	 req[512], buf[65536], *body;
	size_t	 have = 0, want;
	ssize_t	 n;
	char	*cl;

	if (target != NULL) {
		n = snprintf(req, sizeof req,
		    "GET %s HTTP/1.1\r\nHost: probe\r\n\r\n", target);
		if (send(s, req, (size_t)n, 0) != n)
			die("send");
	}
	for (;;) {
		n = recv(s, buf + have, sizeof buf - 1 - have, 0);
		if (n <= 0)
			die("recv");
		have += (size_t)n;
		buf[have] = '\0';
		if ((body = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		body += 4;
		if ((cl = strcasestr(buf, "Content-Length:")) == NULL)
			die("no Content-Length");
		want = strtoul(cl + 15, NULL, 10);
		if (have - (size_t)(body - buf) >= want)
			break;
	}
	printf("%.*s\n", (int)want, body);
	fflush(stdout);
}

/* The fd of the recorder's pcap file, or -1. */
static int
pcap_fd(void)
{
	char	 path[64], link[4096];
	ssize_t	 n;
	int	 fd;

	for (fd = 3; fd < 65536; fd++) {
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		if ((n = readlink(path, link, sizeof link - 1)) <= 0)
			continue;
		link[n] = '\0';
		if (n > 5 && strcmp(link + n - 5, ".pcap") == 0)
			return (fd);
	}
	return (-1);
}

/* A POST whose body (len bytes at fd's offset) goes out with sendfile. */
static void
post_sendfile(int s, const char *target, int fd, size_t len)
{
	char	 req[512];
	ssize_t	 n;

	n = snprintf(req, sizeof req, "POST %s HTTP/1.1\r\nHost: probe\r\n"
	    "Content-Length: %zu\r\n\r\n", target, len);
	if (write(s, req, (size_t)n) != n)
		die("write");
	if (sendfile(s, fd, NULL, len) != (ssize_t)len)
		die("sendfile");
	get(s, NULL);
}

static int
cmd_reuse(int port)
{
	int	 s, fd, s2, target;

	s = dial(port);
	get(s, "/reuse/1");
	close(s);
	/* A file on the number the socket had: not recorded. */
	if ((fd = open("recprobe-file.txt", O_WRONLY | O_CREAT | O_TRUNC,
	    0600)) == -1)
		die("open");
	if (fd != s)
		fprintf(stderr, "recprobe: file got fd %d, not %d\n", fd, s);
	if (write(fd, "GET /not-http HTTP/1.1\r\n\r\n", 26) != 26)
		die("write");
	close(fd);
	/* A new connection on the same number again. */
	s = dial(port);
	get(s, "/reuse/2");
	/* A third connection moved onto fd 9 with dup2, over the second. */
	s2 = dial(port);
	target = 9;
	if (dup2(s2, target) != target)
		die("dup2");
	close(s2);
	get(target, "/reuse/3");
	close(target);
	close(s);
	/* A daemon closes everything it did not open. */
	for (fd = 3; fd < 1024; fd++)
		close(fd);
	s = dial(port);
	get(s, "/reuse/4");
	close(s);

	/*
	 * dup2 onto the recorder's own file, if there is one: the program
	 * gets the descriptor it asked for, and the recorder goes on.
	 */
	if ((target = pcap_fd()) != -1) {
		if ((fd = open("recprobe-dup2.txt", O_WRONLY | O_CREAT | O_TRUNC,
		    0600)) == -1)
			die("open");
		if (dup2(fd, target) != target)
			die("dup2 onto the recorder's fd");
		close(fd);
		if (write(target, "mine\n", 5) != 5)
			die("write");
		close(target);
	}

	/* A request whose body goes out with sendfile from the file offset. */
	if ((fd = open("recprobe-body.txt", O_RDWR | O_CREAT | O_TRUNC,
	    0600)) == -1)
		die("open");
	if (write(fd, "skip:body sent with sendfile", 28) != 28 ||
	    lseek(fd, 5, SEEK_SET) != 5)
		die("write");
	s = dial(port);
	post_sendfile(s, "/reuse/5", fd, 23);
	close(s);
	close(fd);
	return (0);
}

/* Print the errno a call left. */
static void
show(const char *what, int rc)
{
	printf("%s rc=%d errno=%s\n", what, rc, rc == -1 || errno != 0 ?
	    strerror(errno) : "0");
}

static int
cmd_errno(void)
{
	struct sockaddr_in	 sin;
	char			 buf[16];
	int			 p[2], s, l;
	socklen_t		 len = sizeof sin;

	errno = 0;
	show("read(-1)", (int)read(-1, buf, sizeof buf));
	errno = 0;
	show("write(-1)", (int)write(-1, "x", 1));
	errno = 0;
	show("close(-1)", close(-1));
	if (pipe(p) != 0)
		die("pipe");
	errno = 0;
	show("recv(pipe)", (int)recv(p[0], buf, sizeof buf, MSG_DONTWAIT));
	errno = 0;
	show("send(pipe)", (int)send(p[1], "x", 1, 0));
	close(p[0]);
	close(p[1]);
	errno = 0;
	show("write(closed)", (int)write(p[1], "x", 1));

	/* A listening socket nobody accepts from, then closed: refused. */
	l = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(l, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) != 0)
		die("bind");
	close(l);
	s = socket(AF_INET, SOCK_STREAM, 0);
	errno = 0;
	show("connect(refused)", connect(s, (struct sockaddr *)&sin,
	    sizeof sin));
	close(s);

	/* A recorded TCP write that succeeds leaves errno alone. */
	l = socket(AF_INET, SOCK_STREAM, 0);
	len = sizeof sin;
	sin.sin_port = 0;
	if (bind(l, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) != 0)
		die("listen");
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(s, (struct sockaddr *)&sin, sizeof sin) != 0)
		die("connect");
	errno = EXDEV;
	show("send(tcp) with errno EXDEV", (int)send(s, "hello", 5, 0));
	errno = EXDEV;
	show("close(tcp) with errno EXDEV", close(s));
	close(l);
	errno = 0;
	show("recv(closed tcp)", (int)recv(s, buf, sizeof buf, 0));
	return (0);
}

static int
cmd_freeport(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof sin;
	int			 s;

	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket");
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    getsockname(s, (struct sockaddr *)&sin, &len) != 0)
		die("bind");
	printf("%d\n", ntohs(sin.sin_port));
	close(s);
	return (0);
}

static int
cmd_waitport(int port, int seconds)
{
	struct sockaddr_in	 sin;
	int			 s, i;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	for (i = 0; i < seconds * 20; i++) {
		if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			die("socket");
		if (connect(s, (struct sockaddr *)&sin, sizeof sin) == 0) {
			close(s);
			return (0);
		}
		close(s);
		usleep(50000);
	}
	return (1);
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 5 && strcmp(argv[1], "serve") == 0)
		return (cmd_serve(argv[2], argv[3], atoi(argv[4])));
	if (argc == 3 && strcmp(argv[1], "reuse") == 0)
		return (cmd_reuse(atoi(argv[2])));
	if (argc == 2 && strcmp(argv[1], "errno") == 0)
		return (cmd_errno());
	if (argc == 2 && strcmp(argv[1], "freeport") == 0)
		return (cmd_freeport());
	if (argc == 4 && strcmp(argv[1], "waitport") == 0)
		return (cmd_waitport(atoi(argv[2]), atoi(argv[3])));
	fprintf(stderr, "usage: recprobe serve thread|fork PORTFILE CONNS\n"
	    "       recprobe reuse PORT\n       recprobe errno\n"
	    "       recprobe freeport\n       recprobe waitport PORT SECONDS\n");
	return (2);
}
