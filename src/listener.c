/*
 * Listening sockets: bind ADDRESS:PORT and accept connections for an
 * engine (the proxy's clients; later the admin listener).
 *
 * Out of descriptors, accept(2) fails while the connection stays in the
 * backlog, so the socket stays readable and a plain listener spins at
 * full CPU logging the same error.  Like relayd and nginx, pause
 * accepting for a moment instead, and say so at most once per second.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "paritytap.h"

#define LISTENER_PAUSE_MS	100	/* accept paused, out of descriptors */
#define LISTENER_REPORT_MS	1000

struct listener {
	struct evconnlistener	*ls_lev;
	struct event		*ls_resume;
	char			 ls_address[INET6_ADDRSTRLEN + 8];
	listener_cb		 ls_cb;
	void			*ls_arg;
	int			 ls_disabled;	/* by the engine */
};

/*
 * Accept failures since last said, for every listener: the sockets of
 * one address on several threads (LISTENER_FIRST, LISTENER_JOIN) run out
 * of descriptors together, and one line a second says it for all.
 */
static struct {
	pthread_mutex_t	 lock;
	uint64_t	 failures;
	int		 error;
	double		 said_at;
} listener_said = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0 };

/* Parse ADDRESS:PORT, [ADDRESS]:PORT or :PORT (any address) to bind. */
static int
listener_parse(const char *s, struct sockaddr_storage *ss, int *len,
    char **cause)
{
	struct addrinfo	 hints, *res;
	const char	*colon, *host_start, *host_end;
	char		*host = NULL, *port;
	int		 error;

	if (*s == '[') {
		host_start = s + 1;
		if ((host_end = strchr(s, ']')) == NULL || host_end[1] != ':')
			goto bad;
		colon = host_end + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			goto bad;
		host_start = s;
		host_end = colon;
	}
	port = (char *)colon + 1;
	if (*port == '\0' || strspn(port, "0123456789") != strlen(port) ||
	    strlen(port) > 5 || atoi(port) > 65535)
		goto bad;
	if (host_end != host_start)
		host = xstrndup(host_start, (size_t)(host_end - host_start));
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((error = getaddrinfo(host, port, &hints, &res)) != 0) {
		xasprintf(cause, "--listen %s: %s", s, gai_strerror(error));
		free(host);
		return (-1);
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = (int)res->ai_addrlen;
	freeaddrinfo(res);
	free(host);
	return (0);
bad:
	xasprintf(cause, "--listen %s: not an ADDRESS:PORT", s);
	return (-1);
}

/* Say what accept failures there were, at most once per second. */
static void
listener_report(struct listener *ls, int force)
{
	pthread_mutex_lock(&listener_said.lock);
	if (listener_said.failures != 0 && (force ||
	    mono_ms() - listener_said.said_at >= LISTENER_REPORT_MS)) {
		log_warnx("accept on %s: %s (%llu time%s); new connections "
		    "paused for %d ms each time", ls->ls_address,
		    strerror(listener_said.error),
		    (unsigned long long)listener_said.failures,
		    listener_said.failures == 1 ? "" : "s", LISTENER_PAUSE_MS);
		listener_said.failures = 0;
		listener_said.said_at = mono_ms();
	}
	pthread_mutex_unlock(&listener_said.lock);
}

/* The pause is over: accept again, unless the engine disabled us. */
static void
listener_resume_cb(evutil_socket_t fd, short events, void *arg)
{
	struct listener	*ls = arg;

	listener_report(ls, 0);
	if (!ls->ls_disabled)
		evconnlistener_enable(ls->ls_lev);
}

/* A new connection: hand it to the engine. */
static void
listener_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener	*ls = arg;

	ls->ls_cb(fd, sa, salen, ls->ls_arg);
}

/* accept(2) failed: pause on resource shortage, else say it and go on. */
static void
listener_error_cb(struct evconnlistener *lev, void *arg)
{
	struct listener	*ls = arg;
	struct timeval	 tv = { 0, LISTENER_PAUSE_MS * 1000 };
	int		 error = errno;

	pthread_mutex_lock(&listener_said.lock);
	listener_said.failures++;
	listener_said.error = error;
	pthread_mutex_unlock(&listener_said.lock);
	if (error == EMFILE || error == ENFILE || error == ENOBUFS ||
	    error == ENOMEM) {
		evconnlistener_disable(ls->ls_lev);
		evtimer_add(ls->ls_resume, &tv);
	}
	/* The first failure is said at once, the rest once a second. */
	listener_report(ls, 0);
}

/*
 * Is the address free for a group of SO_REUSEPORT sockets?  Any socket of
 * the same user with SO_REUSEPORT could join the group, a second proxy
 * started on the same port by mistake among them, and take half its
 * clients.  A plain bind finds the port taken, as the listener alone
 * would; it is closed at once, so the group binds the port it proved
 * free (with port 0 the kernel never hands out a group's port).
 */
static int
listener_free_address(const struct sockaddr_storage *ss, int len)
{
	int	 fd, one = 1, error = 0;

	if ((fd = socket(ss->ss_family, SOCK_STREAM, 0)) == -1)
		return (errno);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (const struct sockaddr *)ss, (socklen_t)len) == -1)
		error = errno;
	close(fd);
	return (error);
}

/*
 * Bind address and accept on it; NULL with exit status and cause.  With
 * LISTENER_FIRST or LISTENER_JOIN (shared), the first and the others of
 * sockets on one address (SO_REUSEPORT): the kernel spreads new
 * connections over them.
 */
struct listener *
listener_new(struct event_base *base, const char *address, int shared,
    listener_cb cb, void *arg, int *status, char **cause)
{
	struct listener		*ls;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	unsigned		 flags;
	int			 sslen_i = sizeof ss, port, error;
	char			 host[INET6_ADDRSTRLEN];

	memset(&ss, 0, sizeof ss);
	if (listener_parse(address, &ss, &sslen_i, cause) != 0) {
		*status = EXIT_USAGE;
		return (NULL);
	}
	if (shared == LISTENER_FIRST &&
	    (error = listener_free_address(&ss, sslen_i)) != 0) {
		xasprintf(cause, "cannot listen on %s: %s", address,
		    strerror(error));
		*status = EXIT_RUNTIME;
		return (NULL);
	}
	ls = xcalloc(1, sizeof *ls);
	ls->ls_cb = cb;
	ls->ls_arg = arg;
	flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
	    LEV_OPT_CLOSE_ON_EXEC;
	if (shared != LISTENER_ALONE)
		flags |= LEV_OPT_REUSEABLE_PORT;
	ls->ls_lev = evconnlistener_new_bind(base, listener_accept_cb, ls,
	    flags, 1024, (struct sockaddr *)&ss, sslen_i);
	if (ls->ls_lev == NULL) {
		xasprintf(cause, "cannot listen on %s: %s", address,
		    strerror(errno));
		*status = EXIT_RUNTIME;
		free(ls);
		return (NULL);
	}
	evconnlistener_set_error_cb(ls->ls_lev, listener_error_cb);
	ls->ls_resume = evtimer_new(base, listener_resume_cb, ls);

	sslen = sizeof ss;
	getsockname(evconnlistener_get_fd(ls->ls_lev), (struct sockaddr *)&ss,
	    &sslen);
	if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    host, sizeof host);
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		snprintf(ls->ls_address, sizeof ls->ls_address, "[%s]:%d",
		    host, port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
		    host, sizeof host);
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		snprintf(ls->ls_address, sizeof ls->ls_address, "%s:%d",
		    host, port);
	}
	return (ls);
}

/* The address bound, ADDRESS:PORT. */
const char *
listener_address(const struct listener *ls)
{
	return (ls->ls_address);
}

/* Stop accepting for good (a stopping engine). */
void
listener_disable(struct listener *ls)
{
	ls->ls_disabled = 1;
	evconnlistener_disable(ls->ls_lev);
}

/* Close the socket and free the listener. */
void
listener_free(struct listener *ls)
{
	if (ls == NULL)
		return;
	listener_report(ls, 1);
	event_free(ls->ls_resume);
	evconnlistener_free(ls->ls_lev);
	free(ls);
}
