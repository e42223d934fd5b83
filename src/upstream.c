/*
 * Pooled keep-alive connections to one backend (the primary or the
 * candidate).  Each backend has its own pool and its own timeout, so a
 * slow or dead candidate can never hold a connection the primary needs.
 *
 * These sockets use plain events, not bufferevents: a request is written
 * at once (EV_WRITE is waited for only on a connect in progress or a
 * partial write) and a response is read straight into the parser.  A
 * bufferevent adds and removes the write interest around every request
 * and asks FIONREAD before every read: four epoll_ctl calls and two ioctl
 * calls per exchange that the primary's path does not need.
 *
 * An https:// backend's connections carry TLS on the same socket:
 * OpenSSL reads and writes it non-blocking, and the pool's events wait
 * for what it asks (SSL_ERROR_WANT_READ, _WANT_WRITE).  A pool keeps the
 * last session its backend gave, so a new connection resumes it.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "paritytap.h"

#define UPSTREAM_IDLE_SECONDS	30
#define UPSTREAM_READ_SIZE	(64 * 1024)
#define UPSTREAM_QUEUE_MIN	4	/* connections opened without waiting */
#define UPSTREAM_GROW_STEP	32	/* connections opened per loop turn */
#define UPSTREAM_TLS_JOIN	16384	/* a TLS record's plaintext */

struct upconn {
	struct upstream		*uc_up;
	int			 uc_fd;
	struct event		*uc_rev;	/* readable, or idle timeout */
	struct event		*uc_wev;	/* connected, or writable again */
	struct http_msg		 uc_parser;
	struct upreq		*uc_req;
	size_t			 uc_written;	/* of the request's bytes */
	int			 uc_connected;
	int			 uc_reused;
	int			 uc_interim;	/* parsing a 1xx response */
	SSL			*uc_ssl;	/* https:// only */
	int			 uc_tls_done;	/* handshake complete */
	int			 uc_tls_failed;	/* no close_notify to send */
	int			 uc_paused;	/* upstream_pause */
	int			 uc_no_cert;	/* asked for one we do not have */
	int			 uc_resuming;	/* offered the pool's session */
	double			 uc_idle_since;	/* mono_ms() */
	TAILQ_ENTRY(upconn)	 uc_entry;
};
TAILQ_HEAD(upconn_list, upconn);

struct upreq {
	struct upstream		*ur_up;
	struct upconn		*ur_conn;
	const struct upreq_cbs	*ur_cbs;
	void			*ur_arg;
	const char		*ur_data;	/* the head, owned by the caller */
	size_t			 ur_hlen;
	const char		*ur_body;	/* the body, owned by the caller */
	size_t			 ur_len;	/* head and body */
	int			 ur_head;	/* HEAD: no response body */
	int			 ur_idempotent;	/* may be sent twice */
	int			 ur_retried;
	int			 ur_got_bytes;
	int			 ur_errno;	/* of a connect that failed at once */
	int			 ur_queued;	/* waiting for a connection */
	struct buf		 ur_own;	/* this backend's own head */
	char			*ur_refused;	/* why it is not sent at all */
	struct event		 ur_timer;	/* embedded: one fewer allocation */
	TAILQ_ENTRY(upreq)	 ur_qentry;
};
TAILQ_HEAD(upreq_list, upreq);

struct upstream {
	struct event_base	*up_base;
	char			*up_name;
	char			*up_url;
	char			*up_authority;
	char			*up_prefix;	/* NULL: the target as it is */
	char			**up_hnames;	/* this backend's own headers */
	char			**up_hvalues;
	size_t			 up_nheaders;
	struct sockaddr_storage	 up_addr;
	socklen_t		 up_addrlen;
	int			 up_timeout_ms;
	const struct timeval	*up_timeout_tv;	/* libevent's common timeout */
	unsigned		 up_max_idle;
	struct upconn_list	 up_idle;	/* most recently used first */
	struct event		*up_sweep;	/* closes long-idle ones */
	int			 up_queue_ms;	/* 0: never wait for a connection */
	struct upreq_list	 up_queue;
	struct event		*up_grow;	/* opens connections for the queue */
	unsigned		 up_nidle;
	unsigned		 up_nconns;
	_Atomic unsigned	 up_inflight;
	uint64_t		 up_retries;	/* requests sent again */
	SSL_CTX			*up_ssl_ctx;	/* https:// only */
	char			*up_tls_name;	/* sent (SNI) and verified */
	int			 up_tls_ip;	/* ... an IP address: no SNI */
	SSL_SESSION		*up_session;	/* the last one, to resume */
	uint64_t		 up_handshakes;
	uint64_t		 up_resumed;
};

static void	upstream_read_cb(evutil_socket_t, short, void *);
static void	upstream_sweep_cb(evutil_socket_t, short, void *);
static void	upstream_grow_cb(evutil_socket_t, short, void *);
static void	upstream_attach(struct upreq *, struct upconn *);
static void	upstream_dispatch(struct upreq *, int);
static void	upstream_write_cb(evutil_socket_t, short, void *);
static void	upstream_conn_error(struct upconn *, int);
static int	upstream_on_head(void *, struct http_msg *);
static int	upstream_on_body(void *, const char *, size_t);
static void	upstream_conn_tls_error(struct upconn *, int, int);

static const struct http_msg_cbs upstream_msg_cbs = {
	.on_head = upstream_on_head,
	.on_body = upstream_on_body,
	.on_complete = NULL,
};

/*
 * A URL's path, prepended to every target (see upstream_rewrite).  Only
 * characters that mean the same to every server are taken: no query or
 * fragment (they would swallow the target), no percent-encoding (a
 * server may decode %2F or %2E and see another path), no empty, "." or
 * ".." segment (a server would fold them and step out of the prefix).
 */
static int
upstream_prefix_valid(const char *p, const char **why)
{
	static const char	 ok[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/";
	const char		*seg, *end;
	size_t			 n;

	if (*p == '\0' || strcmp(p, "/") == 0)
		return (0);
	for (end = p; *end != '\0'; end++) {
		if (*end == '%') {
			*why = "percent-encoding is not supported";
			return (-1);
		}
		if (strchr(ok, *end) == NULL) {
			*why = "a character outside a URL path";
			return (-1);
		}
	}
	/* p starts with '/'; a single trailing one is allowed. */
	for (seg = p + 1; *seg != '\0'; seg += n + 1) {
		n = strcspn(seg, "/");
		if (n == 0 && seg[n] != '\0') {
			*why = "an empty segment (//)";
			return (-1);
		}
		if ((n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.')) {
			*why = "a '.' or '..' segment";
			return (-1);
		}
		if (seg[n] == '\0')
			break;
	}
	return (0);
}

/* Is t[i] the start of %XY (either case) in a target of len bytes? */
static int
upstream_pct(const char *t, size_t i, size_t len, const char *xy)
{
	return (t[i] == '%' && i + 2 < len && t[i + 1] == xy[0] &&
	    (t[i + 2] == xy[1] || t[i + 2] == (xy[1] | 0x20)));
}

/*
 * Whether a target may go behind a prefix: origin-form, and no segment
 * a server would fold into its parent, however it is spelt ("..",
 * "%2e%2E", segments split by '/', '\\', %2F or %5C, with a path
 * parameter after ';' or %3B as some servers drop it: "..;x"), or the
 * request would reach a path outside the prefix.
 */
static int
upstream_target_contained(const char *t, size_t len)
{
	size_t	 i, dots, other;
	int	 param;

	if (len == 0 || t[0] != '/')
		return (0);
	dots = other = 0;
	param = 0;
	for (i = 1; i <= len; i++) {
		if (i == len || t[i] == '?' || t[i] == '#' || t[i] == '/' ||
		    t[i] == '\\' || upstream_pct(t, i, len, "2F") ||
		    upstream_pct(t, i, len, "5C")) {
			if (other == 0 && (dots == 1 || dots == 2))
				return (0);
			if (i == len || t[i] == '?' || t[i] == '#')
				break;
			if (t[i] == '%')
				i += 2;
			dots = other = 0;
			param = 0;
		} else if (param)
			continue;
		else if (t[i] == ';' || upstream_pct(t, i, len, "3B")) {
			param = 1;
			if (t[i] == '%')
				i += 2;
		} else if (t[i] == '.')
			dots++;
		else if (upstream_pct(t, i, len, "2E")) {
			dots++;
			i += 2;
		} else
			other++;
	}
	return (1);
}

/*
 * Build this backend's own copy of a canonical head (canonical_head): its
 * path prefix before the target, its own headers in place of any of the
 * same name.  Returns -1 with why when the request must not go to it.
 */
static int
upstream_rewrite(struct upstream *up, const char *data, size_t hlen,
    struct buf *out, char **why)
{
	const char	*sp1, *sp2, *line, *eol, *end = data + hlen;
	size_t		 i, n;
	int		 drop;

	if ((sp1 = memchr(data, ' ', hlen)) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1))) == NULL ||
	    (eol = memchr(data, '\n', hlen)) == NULL || sp2 > eol)
		fatalx("%s: not a request head", __func__);
	if (up->up_prefix != NULL &&
	    !upstream_target_contained(sp1 + 1, (size_t)(sp2 - sp1 - 1))) {
		xasprintf(why, "the target %.*s could leave the path prefix %s",
		    (int)(sp2 - sp1 - 1), sp1 + 1, up->up_prefix);
		return (-1);
	}
	buf_add(out, data, (size_t)(sp1 + 1 - data));
	if (up->up_prefix != NULL)
		buf_addstr(out, up->up_prefix);
	buf_add(out, sp1 + 1, (size_t)(eol + 1 - sp1 - 1));
	for (line = eol + 1; line < end; line = eol + 1) {
		eol = memchr(line, '\n', (size_t)(end - line));
		if (eol == NULL || eol - line <= 1)
			break;		/* the blank line */
		drop = 0;
		for (i = 0; i < up->up_nheaders && !drop; i++) {
			n = strlen(up->up_hnames[i]);
			if ((size_t)(eol - line) > n && line[n] == ':' &&
			    strncasecmp(line, up->up_hnames[i], n) == 0)
				drop = 1;
		}
		if (!drop)
			buf_add(out, line, (size_t)(eol + 1 - line));
	}
	for (i = 0; i < up->up_nheaders; i++)
		buf_printf(out, "%s: %s\r\n", up->up_hnames[i],
		    up->up_hvalues[i]);
	buf_add(out, "\r\n", 2);
	return (0);
}

/*
 * Send this header, in place of any of the same name, to this backend
 * only.  The caller checked name and value (options.c).
 */
void
upstream_set_header(struct upstream *up, const char *name, const char *value)
{
	size_t	 i;

	for (i = 0; i < up->up_nheaders; i++) {
		if (strcasecmp(up->up_hnames[i], name) == 0) {
			free(up->up_hvalues[i]);
			up->up_hvalues[i] = xstrdup(value);
			return;
		}
	}
	i = up->up_nheaders;
	strlist_add(&up->up_hnames, &i, name);
	strlist_add(&up->up_hvalues, &up->up_nheaders, value);
}

/*
 * A pooled connection's session: keep the newest, so the next connection
 * resumes it rather than making a full handshake.  TLS 1.3 gives it after
 * the handshake, in the first read.
 */
static int
upstream_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct upconn	*uc = SSL_get_app_data(ssl);
	struct upstream	*up = uc->uc_up;

	if (up->up_session != NULL)
		SSL_SESSION_free(up->up_session);
	up->up_session = sess;
	return (1);	/* the reference is ours */
}

/*
 * The backend asked for a client certificate and none is configured: the
 * handshake goes on without one (the server may not insist), but when
 * the connection then fails, this is why.
 */
static int
upstream_client_cert_cb(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
	struct upconn	*uc = SSL_get_app_data(ssl);

	(void)x509;
	(void)pkey;
	uc->uc_no_cert = 1;
	return (0);
}

/*
 * Make the TLS side of an https:// backend: its SSL_CTX (tls-client.c),
 * the name sent and verified, a session cache of one.
 */
static int
upstream_tls_new(struct upstream *up, const char *host,
    const struct tls_opts *tls, char **cause)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	const char	*sni;

	if ((up->up_ssl_ctx = tls_client_ctx(tls, up->up_name, up->up_url,
	    &sni, cause)) == NULL)
		return (-1);
	up->up_tls_name = xstrdup(sni != NULL ? sni : host);
	up->up_tls_ip = inet_pton(AF_INET, up->up_tls_name, &a4) == 1 ||
	    inet_pton(AF_INET6, up->up_tls_name, &a6) == 1;
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	/*
	 * A close without close_notify ends the connection as a TCP close
	 * does on http://: the parser knows whether the response was
	 * complete.
	 */
	SSL_CTX_set_options(up->up_ssl_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	SSL_CTX_set_session_cache_mode(up->up_ssl_ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(up->up_ssl_ctx, upstream_session_cb);
	SSL_CTX_set_client_cert_cb(up->up_ssl_ctx, upstream_client_cert_cb);
	if (tls != NULL && tls->insecure)
		log_warnx("--%s %s: --insecure: its certificate is not "
		    "verified", up->up_name, up->up_url);
	return (0);
}

/*
 * Parse http[s]://HOST[:PORT][/PREFIX] and resolve it; returns NULL with
 * cause.
 * max_idle is how many idle connections the pool keeps: as many as can be
 * busy at once, or each wave of requests would close and reopen the rest.
 * queue_ms is how long a request may wait for a busy connection to free
 * before a new one is opened for it (see upstream_dispatch); 0 for never.
 */
struct upstream *
upstream_new(struct event_base *base, const char *name, const char *url,
    int timeout_ms, unsigned max_idle, int queue_ms,
    const struct tls_opts *tls, char **cause)
{
	struct upstream	*up;
	struct addrinfo	 hints, *res = NULL;
	struct timeval	 tv;
	const char	*p, *hstart, *hend, *port = "80", *why;
	char		*host = NULL, *portbuf = NULL;
	size_t		 plen;
	int		 error, https = 0;

	if (strncasecmp(url, "https://", 8) == 0) {
		https = 1;
		port = "443";
		p = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0)
		p = url + 7;
	else {
		xasprintf(cause, "--%s %s: only http:// and https:// URLs are "
		    "supported", name, url);
		return (NULL);
	}
	if (*p == '[') {
		hstart = p + 1;
		if ((hend = strchr(hstart, ']')) == NULL)
			goto bad;
		p = hend + 1;
	} else {
		hstart = p;
		hend = p + strcspn(p, ":/?#");
		p = hend;
	}
	if (hend == hstart)
		goto bad;
	host = xstrndup(hstart, (size_t)(hend - hstart));
	if (*p == ':') {
		size_t	 n = strspn(p + 1, "0123456789");

		if (n == 0 || n > 5)
			goto bad;
		portbuf = xstrndup(p + 1, n);
		port = portbuf;
		p += 1 + n;
	}
	if ((*p != '\0' && *p != '/') || p[strcspn(p, "?#")] != '\0') {
		xasprintf(cause, "--%s %s: a query or fragment in the URL is "
		    "not supported", name, url);
		goto fail;
	}
	if (upstream_prefix_valid(p, &why) != 0) {
		xasprintf(cause, "--%s %s: path prefix: %s", name, url, why);
		goto fail;
	}

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((error = getaddrinfo(host, port, &hints, &res)) != 0) {
		xasprintf(cause, "--%s %s: cannot resolve %s: %s", name, url,
		    host, gai_strerror(error));
		goto fail;
	}

	up = xcalloc(1, sizeof *up);
	up->up_base = base;
	up->up_name = xstrdup(name);
	up->up_url = xstrdup(url);
	if (strchr(host, ':') != NULL)
		xasprintf(&up->up_authority, "[%s]:%s", host, port);
	else
		xasprintf(&up->up_authority, "%s:%s", host, port);
	/* A lone or trailing slash adds nothing: /v2/ is /v2. */
	plen = strlen(p);
	while (plen > 0 && p[plen - 1] == '/')
		plen--;
	if (plen != 0)
		up->up_prefix = xstrndup(p, plen);
	memcpy(&up->up_addr, res->ai_addr, res->ai_addrlen);
	up->up_addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	if (https && upstream_tls_new(up, host, tls, cause) != 0) {
		upstream_free(up);
		goto fail;
	}
	up->up_timeout_ms = timeout_ms;
	/*
	 * Every request of this backend waits as long: a common timeout
	 * keeps them in one queue instead of the timer heap.
	 */
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	up->up_timeout_tv = event_base_init_common_timeout(base, &tv);
	if (up->up_timeout_tv == NULL)
		fatalx("event_base_init_common_timeout");
	up->up_max_idle = max_idle;
	up->up_queue_ms = queue_ms;
	TAILQ_INIT(&up->up_idle);
	TAILQ_INIT(&up->up_queue);
	up->up_grow = evtimer_new(base, upstream_grow_cb, up);
	up->up_sweep = event_new(base, -1, EV_PERSIST, upstream_sweep_cb, up);
	tv.tv_sec = UPSTREAM_IDLE_SECONDS / 3;
	tv.tv_usec = 0;
	event_add(up->up_sweep, &tv);
	free(host);
	free(portbuf);
	return (up);

bad:
	xasprintf(cause, "--%s %s: not a URL of the form "
	    "http[s]://HOST[:PORT][/PREFIX]", name, url);
fail:
	free(host);
	free(portbuf);
	return (NULL);
}

/* Close one connection and forget it. */
static void
upstream_conn_free(struct upconn *uc)
{
	struct upstream	*up = uc->uc_up;

	event_free(uc->uc_rev);
	event_free(uc->uc_wev);
	if (uc->uc_ssl != NULL) {
		/* One close_notify, never waited for. */
		if (uc->uc_tls_done && !uc->uc_tls_failed)
			SSL_shutdown(uc->uc_ssl);
		SSL_free(uc->uc_ssl);
		ERR_clear_error();
	}
	close(uc->uc_fd);
	http_msg_free(&uc->uc_parser);
	up->up_nconns--;
	free(uc);
}

/* Take a connection off the idle list and close it. */
static void
upstream_idle_drop(struct upconn *uc)
{
	struct upstream	*up = uc->uc_up;

	TAILQ_REMOVE(&up->up_idle, uc, uc_entry);
	up->up_nidle--;
	upstream_conn_free(uc);
}

/* Free the pool and every idle connection. */
void
upstream_free(struct upstream *up)
{
	struct upconn	*uc;
	size_t		 n;

	if (up == NULL)
		return;
	while ((uc = TAILQ_FIRST(&up->up_idle)) != NULL)
		upstream_idle_drop(uc);
	if (up->up_sweep != NULL)
		event_free(up->up_sweep);
	if (up->up_grow != NULL)
		event_free(up->up_grow);
	if (up->up_session != NULL)
		SSL_SESSION_free(up->up_session);
	if (up->up_ssl_ctx != NULL)
		SSL_CTX_free(up->up_ssl_ctx);
	free(up->up_tls_name);
	free(up->up_name);
	free(up->up_url);
	free(up->up_authority);
	free(up->up_prefix);
	n = up->up_nheaders;
	strlist_free(&up->up_hnames, &n);
	strlist_free(&up->up_hvalues, &up->up_nheaders);
	free(up);
}

/* HOST:PORT of the backend, the Host header when the client sent none. */
const char *
upstream_authority(const struct upstream *up)
{
	return (up->up_authority);
}

/* Is this an https:// backend? */
int
upstream_tls(const struct upstream *up)
{
	return (up != NULL && up->up_ssl_ctx != NULL);
}

/* TLS handshakes made, and how many of them resumed a session. */
void
upstream_tls_counts(const struct upstream *up, uint64_t *handshakes,
    uint64_t *resumed)
{
	*handshakes = up->up_handshakes;
	*resumed = up->up_resumed;
}

/* Requests sent and not yet answered. */
unsigned
upstream_inflight(const struct upstream *up)
{
	return (up->up_inflight);
}

/* Requests sent again on a new connection after a pooled one closed. */
uint64_t
upstream_retries(const struct upstream *up)
{
	return (up->up_retries);
}

/*
 * May the request in data be sent twice?  Its method is the first token
 * of the request line; GET, HEAD, OPTIONS, TRACE, PUT and DELETE are
 * idempotent (RFC 9110, 9.2.2): a second copy does what the first did.
 */
static int
upstream_idempotent(const char *data, size_t len)
{
	static const char	*methods[] = {
		"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"
	};
	size_t			 i, n;
	const char		*sp;

	if ((sp = memchr(data, ' ', len)) == NULL)
		return (0);
	n = (size_t)(sp - data);
	for (i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		if (strlen(methods[i]) == n && memcmp(methods[i], data, n) == 0)
			return (1);
	}
	return (0);
}

/*
 * An idle TLS connection has bytes to read: a session ticket or a key
 * update keeps it usable, anything else (close_notify, an alert, data out
 * of turn) does not.  Returns 1 if it is still usable.
 */
static int
upstream_tls_quiet(struct upconn *uc)
{
	char	 c;
	int	 n, e;

	ERR_clear_error();
	n = SSL_read(uc->uc_ssl, &c, 1);
	if (n > 0)
		return (0);
	e = SSL_get_error(uc->uc_ssl, n);
	if (e == SSL_ERROR_WANT_READ && !SSL_has_pending(uc->uc_ssl))
		return (1);
	if (e != SSL_ERROR_ZERO_RETURN)
		uc->uc_tls_failed = 1;
	ERR_clear_error();
	return (0);
}

/*
 * Is an idle connection still open?  The backend may have closed it (or
 * reset it) since it was pooled, and the event loop not yet have read
 * that; one peek finds out without taking a byte.
 */
static int
upstream_conn_alive(struct upconn *uc)
{
	char	 c;
	ssize_t	 n;

	n = recv(uc->uc_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return (1);
	if (n > 0 && uc->uc_ssl != NULL)
		return (upstream_tls_quiet(uc));
	return (0);	/* closed, reset, or talking out of turn */
}

/*
 * Open a new connection (the connect may still be in progress); NULL with
 * errno set if it failed at once.
 */
static struct upconn *
upstream_conn_new(struct upstream *up)
{
	struct upconn	*uc;
	int		 fd, one = 1, connected = 0;

	fd = socket(up->up_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (NULL);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&up->up_addr, up->up_addrlen) == 0)
		connected = 1;
	else if (errno != EINPROGRESS) {
		int	 saved = errno;

		close(fd);
		errno = saved;
		return (NULL);
	}

	uc = xcalloc(1, sizeof *uc);
	uc->uc_up = up;
	uc->uc_fd = fd;
	uc->uc_connected = connected;
	uc->uc_rev = event_new(up->up_base, fd, EV_READ | EV_PERSIST,
	    upstream_read_cb, uc);	/* stays added for the connection's life */
	uc->uc_wev = event_new(up->up_base, fd, EV_WRITE, upstream_write_cb,
	    uc);
	if (uc->uc_rev == NULL || uc->uc_wev == NULL)
		fatalx("event_new");
	http_msg_init(&uc->uc_parser, 1, &upstream_msg_cbs, uc);
	if (up->up_ssl_ctx != NULL) {
		if ((uc->uc_ssl = SSL_new(up->up_ssl_ctx)) == NULL ||
		    SSL_set_fd(uc->uc_ssl, fd) != 1)
			fatalx("%s: SSL_new: %s", __func__, tls_last_error());
		SSL_set_app_data(uc->uc_ssl, uc);
		SSL_set_connect_state(uc->uc_ssl);
		if (up->up_tls_ip)
			X509_VERIFY_PARAM_set1_ip_asc(
			    SSL_get0_param(uc->uc_ssl), up->up_tls_name);
		else {
			/* No SNI for an address (RFC 6066, 3). */
			SSL_set_tlsext_host_name(uc->uc_ssl, up->up_tls_name);
			SSL_set1_host(uc->uc_ssl, up->up_tls_name);
		}
		if (up->up_session != NULL) {
			SSL_set_session(uc->uc_ssl, up->up_session);
			uc->uc_resuming = 1;
		}
	}
	up->up_nconns++;
	event_add(uc->uc_rev, NULL);
	return (uc);
}

/*
 * Close connections idle for UPSTREAM_IDLE_SECONDS.  One timer per pool
 * walks the least recently used end of the idle list, so a request that
 * reuses a connection changes no event and no timeout.
 */
static void
upstream_sweep_cb(evutil_socket_t fd, short events, void *arg)
{
	struct upstream	*up = arg;
	struct upconn	*uc;
	double		 cutoff = mono_ms() - UPSTREAM_IDLE_SECONDS * 1000.0;

	while ((uc = TAILQ_LAST(&up->up_idle, upconn_list)) != NULL &&
	    uc->uc_idle_since < cutoff)
		upstream_idle_drop(uc);
}

/* Finish a request: report to the owner and free it. */
static void
upstream_finish(struct upreq *ur, const char *error, const char *detail)
{
	const struct upreq_cbs	*cbs = ur->ur_cbs;
	void			*arg = ur->ur_arg;
	char			*refused = ur->ur_refused;	/* may be detail */

	evtimer_del(&ur->ur_timer);
	ur->ur_up->up_inflight--;
	buf_free(&ur->ur_own);
	free(ur);
	cbs->on_done(arg, error, detail);
	free(refused);
}

/* Give a connection back to the pool after a complete response. */
static void
upstream_conn_release(struct upconn *uc, int keepalive)
{
	struct upstream	*up = uc->uc_up;
	struct upreq	*ur;

	/*
	 * Not reusable: the backend said so, the pool is full, or it
	 * answered before it had all of the request.
	 */
	if (!keepalive || up->up_nidle >= up->up_max_idle ||
	    (uc->uc_req != NULL && uc->uc_written < uc->uc_req->ur_len)) {
		uc->uc_req = NULL;
		upstream_conn_free(uc);
		return;
	}
	uc->uc_req = NULL;
	http_msg_reset(&uc->uc_parser);
	uc->uc_reused = 1;
	uc->uc_interim = 0;
	event_del(uc->uc_wev);
	/*
	 * A response can end in the very read that made its owner pause
	 * (the proxy's client fell behind on the last bytes): read again,
	 * or the next request on this connection waits for its timeout.
	 */
	event_add(uc->uc_rev, NULL);
	if ((ur = TAILQ_FIRST(&up->up_queue)) != NULL) {
		/* A request was waiting for exactly this. */
		TAILQ_REMOVE(&up->up_queue, ur, ur_qentry);
		ur->ur_queued = 0;
		upstream_attach(ur, uc);
		return;
	}
	uc->uc_idle_since = mono_ms();
	TAILQ_INSERT_HEAD(&up->up_idle, uc, uc_entry);
	up->up_nidle++;
}

/*
 * Write what is left of the request over TLS, head then body: OpenSSL
 * takes one buffer a call, so a small body was put after the head
 * (upstream_send) and leaves in the same record.
 */
static int
upstream_tls_flush(struct upconn *uc)
{
	struct upreq	*ur = uc->uc_req;
	const char	*p;
	size_t		 len;
	int		 n, e;

	while (uc->uc_written < ur->ur_len) {
		if (uc->uc_written < ur->ur_hlen) {
			p = ur->ur_data + uc->uc_written;
			len = ur->ur_hlen - uc->uc_written;
		} else {
			p = ur->ur_body + (uc->uc_written - ur->ur_hlen);
			len = ur->ur_len - uc->uc_written;
		}
		if (len > INT_MAX)
			len = INT_MAX;
		ERR_clear_error();
		errno = 0;
		n = SSL_write(uc->uc_ssl, p, (int)len);
		if (n > 0) {
			uc->uc_written += (size_t)n;
			continue;
		}
		e = SSL_get_error(uc->uc_ssl, n);
		if (e == SSL_ERROR_WANT_WRITE) {
			event_add(uc->uc_wev, NULL);
			return (0);
		}
		if (e == SSL_ERROR_WANT_READ)
			return (0);	/* upstream_tls_read writes on */
		if (e == SSL_ERROR_SYSCALL) {
			uc->uc_tls_failed = 1;
			upstream_conn_error(uc, errno != 0 ? errno : EPIPE);
		} else
			upstream_conn_tls_error(uc, 0, e);
		return (-1);	/* uc is gone */
	}
	return (0);
}

/*
 * Write what is left of the request, head then body in one writev; wait
 * for EV_WRITE if it does not fit.
 */
static void
upstream_flush(struct upconn *uc)
{
	struct upreq	*ur = uc->uc_req;
	struct iovec	 iov[2];
	size_t		 off;
	ssize_t		 n;
	int		 niov;

	if (uc->uc_ssl != NULL) {
		(void)upstream_tls_flush(uc);
		return;
	}
	while (uc->uc_written < ur->ur_len) {
		niov = 0;
		if (uc->uc_written < ur->ur_hlen) {
			iov[niov].iov_base = (char *)ur->ur_data +
			    uc->uc_written;
			iov[niov++].iov_len = ur->ur_hlen - uc->uc_written;
			off = 0;
		} else
			off = uc->uc_written - ur->ur_hlen;
		if (ur->ur_len - ur->ur_hlen > off) {
			iov[niov].iov_base = (char *)ur->ur_body + off;
			iov[niov++].iov_len = ur->ur_len - ur->ur_hlen - off;
		}
		n = writev(uc->uc_fd, iov, niov);
		if (n > 0) {
			uc->uc_written += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			event_add(uc->uc_wev, NULL);
			return;
		}
		upstream_conn_error(uc, errno);
		return;
	}
}

/* Attach a request to a connection and write it. */
static void
upstream_attach(struct upreq *ur, struct upconn *uc)
{
	ur->ur_conn = uc;
	uc->uc_req = ur;
	uc->uc_written = 0;
	/* Written once connected, and after its handshake over TLS. */
	if (!uc->uc_connected || (uc->uc_ssl != NULL && !uc->uc_tls_done))
		event_add(uc->uc_wev, NULL);
	else
		upstream_flush(uc);
}

/*
 * Go on with a connection's TLS handshake: 1 when it is done, 0 while it
 * waits for the socket, -1 when it failed (and was reported).
 */
static int
upstream_handshake(struct upconn *uc)
{
	struct upstream	*up = uc->uc_up;
	struct upreq	*ur;
	int		 n, e;

	ERR_clear_error();
	errno = 0;
	n = SSL_connect(uc->uc_ssl);
	if (n == 1) {
		uc->uc_tls_done = 1;
		up->up_handshakes++;
		if (SSL_session_reused(uc->uc_ssl))
			up->up_resumed++;
		event_del(uc->uc_wev);
		return (1);
	}
	e = SSL_get_error(uc->uc_ssl, n);
	if (e == SSL_ERROR_WANT_READ) {
		event_del(uc->uc_wev);	/* uc_rev is always added */
		return (0);
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		event_add(uc->uc_wev, NULL);
		return (0);
	}
	if (uc->uc_resuming && uc->uc_req != NULL && !uc->uc_req->ur_retried) {
		/*
		 * A server may refuse to resume a session it gave (a
		 * restart, a misconfigured cache): forget it and make a full
		 * handshake on a new connection.  Nothing of the request was
		 * sent, so this is safe for any method.
		 */
		ur = uc->uc_req;
		log_debug("%s: resuming the TLS session failed: %s; a full "
		    "handshake follows", up->up_authority, tls_last_error());
		SSL_SESSION_free(up->up_session);
		up->up_session = NULL;
		uc->uc_tls_failed = 1;
		uc->uc_req = NULL;
		ur->ur_conn = NULL;
		upstream_conn_free(uc);
		ur->ur_retried = 1;
		up->up_retries++;
		upstream_dispatch(ur, 1);
		return (-1);
	}
	upstream_conn_tls_error(uc, 1, e);
	return (-1);
}

/* Connected (or failed to), or writable again after a partial write. */
static void
upstream_write_cb(evutil_socket_t fd, short events, void *arg)
{
	struct upconn	*uc = arg;
	socklen_t	 len = sizeof(int);
	int		 err = 0;

	if (!uc->uc_connected) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err != 0) {
			upstream_conn_error(uc, err);
			return;
		}
		uc->uc_connected = 1;
	}
	if (uc->uc_ssl != NULL && !uc->uc_tls_done &&
	    upstream_handshake(uc) != 1)
		return;
	if (uc->uc_req != NULL)
		upstream_flush(uc);
}

/* The request's deadline passed. */
static void
upstream_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct upreq	*ur = arg;
	char		*detail;

	if (ur->ur_refused != NULL) {
		upstream_finish(ur, "prefix", ur->ur_refused);
		return;
	}
	if (ur->ur_errno != 0) {
		/* A connect that failed at once, reported from the loop. */
		xasprintf(&detail, "%s: %s", ur->ur_up->up_authority,
		    strerror(ur->ur_errno));
		upstream_finish(ur, "connect", detail);
		free(detail);
		return;
	}
	xasprintf(&detail, "no complete response after %d ms",
	    ur->ur_up->up_timeout_ms);
	if (ur->ur_queued) {
		TAILQ_REMOVE(&ur->ur_up->up_queue, ur, ur_qentry);
		ur->ur_queued = 0;
	}
	if (ur->ur_conn != NULL) {
		ur->ur_conn->uc_req = NULL;
		upstream_conn_free(ur->ur_conn);
		ur->ur_conn = NULL;
	}
	upstream_finish(ur, "timeout", detail);
	free(detail);
}

/*
 * Open connections for the requests that waited queue_ms for one, at most
 * UPSTREAM_GROW_STEP per loop turn: a thousand connects in one callback
 * would hold up every client the event loop is serving.
 */
static void
upstream_grow_cb(evutil_socket_t fd, short events, void *arg)
{
	struct upstream	*up = arg;
	struct upreq	*ur;
	struct timeval	 tv = { 0, 0 };
	int		 n = 0;

	while (n++ < UPSTREAM_GROW_STEP &&
	    (ur = TAILQ_FIRST(&up->up_queue)) != NULL) {
		TAILQ_REMOVE(&up->up_queue, ur, ur_qentry);
		ur->ur_queued = 0;
		upstream_dispatch(ur, 1);
	}
	if (!TAILQ_EMPTY(&up->up_queue))
		evtimer_add(up->up_grow, &tv);
}

/*
 * Put a request on an idle connection, or a new one.  A pool with a
 * queue (the candidate's) first lets the request wait up to queue_ms for
 * a busy connection to free: a candidate that stalls for a moment while
 * the primary answers on would otherwise open a connection per request.
 * A candidate that stays slow gets its connections after queue_ms.
 */
static void
upstream_dispatch(struct upreq *ur, int fresh)
{
	struct upstream	*up = ur->ur_up;
	struct upconn	*uc = NULL;
	struct timeval	 tv;

	while (!fresh && (uc = TAILQ_FIRST(&up->up_idle)) != NULL) {
		TAILQ_REMOVE(&up->up_idle, uc, uc_entry);
		up->up_nidle--;
		/*
		 * A request that must not be sent twice is never retried
		 * once written (upstream_conn_error), so it is not written
		 * to a connection already seen closed.  The others are
		 * retried if need be: the peek is not worth its system call.
		 */
		if (!ur->ur_idempotent && !upstream_conn_alive(uc)) {
			upstream_conn_free(uc);
			continue;
		}
		upstream_attach(ur, uc);
		return;
	}
	if (!fresh && up->up_queue_ms > 0 &&
	    up->up_nconns >= UPSTREAM_QUEUE_MIN) {
		TAILQ_INSERT_TAIL(&up->up_queue, ur, ur_qentry);
		ur->ur_queued = 1;
		if (!evtimer_pending(up->up_grow, NULL)) {
			tv.tv_sec = up->up_queue_ms / 1000;
			tv.tv_usec = (up->up_queue_ms % 1000) * 1000;
			evtimer_add(up->up_grow, &tv);
		}
		return;
	}
	if ((uc = upstream_conn_new(up)) == NULL) {
		/* Report it from the loop, never from inside a send. */
		ur->ur_errno = errno != 0 ? errno : ECONNREFUSED;
		tv.tv_sec = tv.tv_usec = 0;
		evtimer_add(&ur->ur_timer, &tv);
		return;
	}
	upstream_attach(ur, uc);
}

/*
 * Send a serialized request, its head (hlen bytes) and then its body
 * (blen bytes, body may be NULL when 0): two pieces, so the caller can
 * send one body after a head of its own to each backend without copying
 * it.  Both must stay valid until on_done.  Callbacks always run later
 * from the event loop, never from here.
 */
struct upreq *
upstream_send(struct upstream *up, const char *data, size_t hlen,
    const char *body, size_t blen, int head, const struct upreq_cbs *cbs,
    void *arg)
{
	struct upreq	*ur;
	struct timeval	 tv;

	ur = xcalloc(1, sizeof *ur);
	ur->ur_up = up;
	ur->ur_cbs = cbs;
	ur->ur_arg = arg;
	buf_init(&ur->ur_own);
	if ((up->up_prefix != NULL || up->up_nheaders != 0) &&
	    upstream_rewrite(up, data, hlen, &ur->ur_own,
	    &ur->ur_refused) == 0) {
		data = ur->ur_own.data;
		hlen = ur->ur_own.len;
	}
	/*
	 * Over TLS a small body goes after the head in one record: one
	 * write and one record rather than two.
	 */
	if (up->up_ssl_ctx != NULL && blen != 0 &&
	    hlen + blen <= UPSTREAM_TLS_JOIN && ur->ur_refused == NULL) {
		if (data != ur->ur_own.data)
			buf_add(&ur->ur_own, data, hlen);
		buf_add(&ur->ur_own, body, blen);
		data = ur->ur_own.data;
		hlen = ur->ur_own.len;
		body = NULL;
		blen = 0;
	}
	ur->ur_data = data;
	ur->ur_hlen = hlen;
	ur->ur_body = body;
	ur->ur_len = hlen + blen;
	ur->ur_head = head;
	ur->ur_idempotent = upstream_idempotent(data, hlen);
	up->up_inflight++;
	evtimer_assign(&ur->ur_timer, up->up_base, upstream_timer_cb, ur);
	if (ur->ur_refused != NULL) {
		/* Reported from the loop, as a connect that failed at once. */
		tv.tv_sec = tv.tv_usec = 0;
		evtimer_add(&ur->ur_timer, &tv);
		return (ur);
	}
	evtimer_add(&ur->ur_timer, up->up_timeout_tv);
	upstream_dispatch(ur, 0);
	return (ur);
}

/* Abandon a request: its connection is closed, on_done is not called. */
void
upstream_cancel(struct upreq *ur)
{
	if (ur->ur_queued)
		TAILQ_REMOVE(&ur->ur_up->up_queue, ur, ur_qentry);
	if (ur->ur_conn != NULL) {
		ur->ur_conn->uc_req = NULL;
		upstream_conn_free(ur->ur_conn);
	}
	evtimer_del(&ur->ur_timer);
	ur->ur_up->up_inflight--;
	buf_free(&ur->ur_own);
	free(ur->ur_refused);
	free(ur);
}

/* Stop reading the response (the client is not keeping up). */
void
upstream_pause(struct upreq *ur)
{
	if (ur->ur_conn != NULL) {
		ur->ur_conn->uc_paused = 1;
		event_del(ur->ur_conn->uc_rev);
	}
}

/* Read the response again. */
void
upstream_resume(struct upreq *ur)
{
	struct upconn	*uc = ur->ur_conn;

	if (uc == NULL)
		return;
	uc->uc_paused = 0;
	event_add(uc->uc_rev, NULL);
	/* OpenSSL may hold bytes already read from the socket. */
	if (uc->uc_ssl != NULL && SSL_has_pending(uc->uc_ssl))
		event_active(uc->uc_rev, EV_READ, 0);
}

/*
 * Response head parsed: skip interim 1xx, refuse what cannot be a final
 * response, else tell the owner, handing it the headers (the parser is
 * reset before its next message).
 */
static int
upstream_on_head(void *arg, struct http_msg *hm)
{
	struct upconn		*uc = arg;
	struct response_head	 head;
	struct headers		 hs;

	head.status = http_msg_status(hm);
	/*
	 * A status is three digits, and only 100-599 are HTTP's (RFC 9110,
	 * 15); the parser takes any three digits.
	 */
	if (head.status < 100 || head.status > 599)
		return (http_msg_fail(hm, 502, "status %03d is outside "
		    "100-599", head.status));
	/*
	 * A 101 answers an Upgrade (RFC 9110, 15.2.2), and Upgrade is
	 * hop-by-hop: no request we send asks for one.  What follows it
	 * would not be HTTP.
	 */
	if (head.status == 101)
		return (http_msg_fail(hm, 502, "101 Switching Protocols to a "
		    "request that asked for no upgrade"));
	/*
	 * Interim 1xx (100 Continue, 102, 103 Early Hints) are read and
	 * dropped: the final response follows on the same connection.
	 * The parser knows that 1xx, 204 and 304 have no body.
	 */
	if (head.status < 200) {
		uc->uc_interim = 1;
		return (0);
	}
	if (uc->uc_req != NULL) {
		head.reason = hm->hm_reason.len != 0 ? hm->hm_reason.data :
		    NULL;
		head.has_length = hm->hm_has_length;
		head.length = hm->hm_length;
		hs = hm->hm_headers;
		memset(&hm->hm_headers, 0, sizeof hm->hm_headers);
		uc->uc_req->ur_cbs->on_head(uc->uc_req->ur_arg, &head, &hs);
		headers_free(&hs);
	}
	if (uc->uc_req != NULL && uc->uc_req->ur_head)
		return (1);
	return (0);
}

/* Response body bytes: to the owner. */
static int
upstream_on_body(void *arg, const char *data, size_t len)
{
	struct upconn	*uc = arg;

	if (uc->uc_req != NULL && len != 0)
		uc->uc_req->ur_cbs->on_body(uc->uc_req->ur_arg, data, len);
	return (0);
}

/*
 * Feed bytes from the backend to the parser.  Returns 1 when the
 * connection is finished with (response complete or failed), else 0.
 */
static int
upstream_feed(struct upconn *uc, const char *data, size_t len)
{
	struct upreq	*ur = uc->uc_req;
	char		*detail;
	ssize_t		 n;

	while (len != 0) {
		n = http_msg_feed(&uc->uc_parser, data, len);
		if (n < 0) {
			xasprintf(&detail, "%s: %s", ur->ur_up->up_authority,
			    uc->uc_parser.hm_error);
			uc->uc_req = NULL;
			ur->ur_conn = NULL;
			upstream_conn_free(uc);
			upstream_finish(ur, "bad_response", detail);
			free(detail);
			return (1);
		}
		data += n;
		len -= (size_t)n;
		if (!uc->uc_parser.hm_complete)
			continue;
		if (uc->uc_interim) {
			http_msg_reset(&uc->uc_parser);
			uc->uc_interim = 0;
			continue;
		}
		/*
		 * Bytes after the response, here or held by OpenSSL: the
		 * connection is not reusable.
		 */
		ur->ur_conn = NULL;
		upstream_conn_release(uc, len == 0 &&
		    (uc->uc_ssl == NULL || !SSL_has_pending(uc->uc_ssl)) &&
		    http_msg_keepalive(&uc->uc_parser));
		upstream_finish(ur, NULL, NULL);
		return (1);
	}
	return (0);
}

/* The backend closed the connection. */
static void
upstream_conn_eof(struct upconn *uc)
{
	struct upreq	*ur = uc->uc_req;

	if (http_msg_eof(&uc->uc_parser) == 0 && !uc->uc_interim) {
		/* A response delimited by the close. */
		ur->ur_conn = NULL;
		uc->uc_req = NULL;
		upstream_conn_free(uc);
		upstream_finish(ur, NULL, NULL);
		return;
	}
	upstream_conn_error(uc, 0);
}

/*
 * Readable over TLS: the handshake going on, response records (read until
 * OpenSSL wants the socket again, or the owner pauses), or an idle
 * connection's ticket or close.
 */
static void
upstream_tls_read(struct upconn *uc, char *data, size_t size)
{
	int	 n, e;

	if (!uc->uc_tls_done) {
		if (upstream_handshake(uc) == 1 && uc->uc_req != NULL)
			upstream_flush(uc);
		return;
	}
	if (uc->uc_req == NULL) {
		if (!upstream_tls_quiet(uc))
			upstream_idle_drop(uc);
		return;
	}
	if (uc->uc_written < uc->uc_req->ur_len) {
		/* A write that waited for a read (SSL_ERROR_WANT_READ). */
		if (upstream_tls_flush(uc) != 0)
			return;
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		n = SSL_read(uc->uc_ssl, data, (int)size);
		if (n > 0) {
			uc->uc_req->ur_got_bytes = 1;
			if (upstream_feed(uc, data, (size_t)n) || uc->uc_paused)
				return;
			continue;
		}
		e = SSL_get_error(uc->uc_ssl, n);
		switch (e) {
		case SSL_ERROR_WANT_READ:
			return;
		case SSL_ERROR_WANT_WRITE:
			event_add(uc->uc_wev, NULL);
			return;
		case SSL_ERROR_ZERO_RETURN:
			upstream_conn_eof(uc);
			return;
		case SSL_ERROR_SYSCALL:
			uc->uc_tls_failed = 1;
			if (errno == 0)
				upstream_conn_eof(uc);
			else
				upstream_conn_error(uc, errno);
			return;
		default:
			upstream_conn_tls_error(uc, 0, e);
			return;
		}
	}
}

/* Readable: response bytes, the backend's close, or the idle timeout. */
static void
upstream_read_cb(evutil_socket_t fd, short events, void *arg)
{
	/* One per thread: each of the proxy's loops reads its own. */
	static __thread char data[UPSTREAM_READ_SIZE];
	struct upconn	*uc = arg;
	ssize_t		 n;

	if (uc->uc_ssl != NULL) {
		upstream_tls_read(uc, data, sizeof data);
		return;
	}
	if (uc->uc_req == NULL) {
		/* Idle: closed, or talking out of turn. */
		upstream_idle_drop(uc);
		return;
	}
	n = read(fd, data, sizeof data);
	if (n > 0) {
		uc->uc_req->ur_got_bytes = 1;
		upstream_feed(uc, data, (size_t)n);
	} else if (n == 0)
		upstream_conn_eof(uc);
	else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		upstream_conn_error(uc, errno);
}

/*
 * The connection failed (err is an errno, or 0 for a close before the
 * response was complete): retry a request a reused connection never
 * answered if that cannot run it twice, else report connect or reset.
 */
static void
upstream_conn_error(struct upconn *uc, int err)
{
	struct upreq	*ur = uc->uc_req;
	const char	*error;
	char		*detail;

	if (uc->uc_no_cert && !ur->ur_got_bytes) {
		/*
		 * A server that refuses a connection without a certificate
		 * may reset it before its alert is read (TLS 1.3 checks the
		 * certificate after the client's handshake is done).
		 */
		upstream_conn_tls_error(uc, 0, SSL_ERROR_SYSCALL);
		return;
	}
	uc->uc_req = NULL;
	ur->ur_conn = NULL;
	/*
	 * A backend may close a pooled connection just as we reuse it
	 * (its keep-alive timeout): nothing was answered, so send the
	 * request once more on a new connection.  But a backend may also
	 * read a request, act on it and fail before answering: a request
	 * of which any byte was written is sent again only if its method
	 * is idempotent, so a POST never runs twice because of us
	 * (RFC 9110, 9.2.2; nginx's proxy_next_upstream does the same).
	 */
	if (uc->uc_reused && !ur->ur_got_bytes && !ur->ur_retried &&
	    (uc->uc_written == 0 || ur->ur_idempotent)) {
		upstream_conn_free(uc);
		ur->ur_retried = 1;
		ur->ur_up->up_retries++;
		upstream_dispatch(ur, 1);
		return;
	}
	if (!uc->uc_connected) {
		error = "connect";
		xasprintf(&detail, "%s: %s", ur->ur_up->up_authority,
		    err != 0 ? strerror(err) : "connection failed");
	} else {
		error = "reset";
		if (err != 0)
			xasprintf(&detail, "%s: %s", ur->ur_up->up_authority,
			    strerror(err));
		else
			xasprintf(&detail, "%s: connection closed before the "
			    "response was complete", ur->ur_up->up_authority);
	}
	upstream_conn_free(uc);
	upstream_finish(ur, error, detail);
	free(detail);
}

/*
 * TLS failed on a connection (e is SSL_get_error's): the request gets the
 * side error "tls" with the reason, such as the certificate verification's
 * result.  Never retried: the same handshake would fail the same way.
 */
static void
upstream_conn_tls_error(struct upconn *uc, int handshaking, int e)
{
	struct upreq	*ur = uc->uc_req;
	char		*why, *detail;

	why = tls_failure(uc->uc_ssl, handshaking, e, errno);
	uc->uc_tls_failed = 1;
	uc->uc_req = NULL;
	ur->ur_conn = NULL;
	if (uc->uc_no_cert)
		xasprintf(&detail, "%s: the server asked for a client "
		    "certificate and none is configured (--client-cert): %s",
		    ur->ur_up->up_authority, why);
	else
		xasprintf(&detail, "%s: %s", ur->ur_up->up_authority, why);
	upstream_conn_free(uc);
	free(why);
	upstream_finish(ur, "tls", detail);
	free(detail);
}
