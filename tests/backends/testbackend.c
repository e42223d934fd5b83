/*
 * testbackend: a programmable HTTP/1.1 backend for paritytap's end-to-end
 * tests.
 *
 *	testbackend --listen ADDR:PORT --port-file FILE [--fixture FILE.json]
 *	    [--log FILE] [--name NAME]
 *
 * It is written on raw bufferevents rather than evhttp so that a test
 * controls every byte of a response: chunking, gzip, a connection cut in
 * the middle of a body, a delay that blocks only its own connection.
 *
 * Fixture: {"routes":[ROUTE...], "default":ROUTE}.  A ROUTE matches on
 * "method", "path" (the target without its query) and "body_contains" (a
 * substring of the request body); the first match wins.  It answers with
 * "status" [200], "headers" ([[name,value],...]), one of "body" (a string),
 * "body_json" (any JSON, sent compact), "body_file" (a file's bytes) or
 * "echo":true (the echo document below), and may set "delay_ms", "chunked",
 * "gzip", "close_after" (send only the first N bytes of the response, then
 * close), "close_delay_ms" (with close_after: wait this long before
 * closing), "close" (Connection: close) or "raw" (bytes sent verbatim).
 * "reset":true answers nothing: the request is read and logged, then the
 * connection is reset (an RST, not a FIN), as by a backend that acted on
 * the request and crashed.  "close_at_once":true sends the response
 * (without Connection: close) and the close in one TCP segment, so a
 * peer that reads the response has the close queued behind it.  A route
 * with "times":N matches only the first N requests it would match; later
 * ones go on to the next route.
 *
 * With no fixture or no matching route the answer is 200 application/json
 * {"name":NAME,"method":..,"target":..,"headers":[[n,v]...],"body":".."}.
 * GET /__stats answers {"connections":N,"requests":N,"accepted":N}, where
 * connections counts only connections that carried a request other than
 * /__stats; stats requests are neither counted nor logged.
 *
 * --log appends one JSON line per event, flushed at once:
 * {"event":"accept","conn":N}, {"event":"request","conn":N,"method":..,
 * "target":..,"headers":..,"body":..}, {"event":"respond","conn":N,
 * "status":N} when the response is handed to the socket,
 * {"event":"reset","conn":N} when a "reset" route resets it, and
 * {"event":"bad_request","conn":N,"reason":..}.  Every line has "ts_ms",
 * the wall clock in milliseconds.
 *
 * --tls-cert FILE --tls-key FILE serve HTTPS (the rest as above; the raw
 * socket routes "close_at_once" and "reset" are for plain HTTP only);
 * --tls-client-ca FILE asks for a client certificate signed by that CA and
 * refuses a handshake without one; with --tls-broken-resumption it gives
 * sessions and refuses to resume them (an internal_error alert).  Each request event then has "tls":
 * {"resumed":BOOL,"sni":NAME|null,"alpn":PROTO|null,"client":CN|null};
 * a failed handshake is {"event":"tls_error","conn":N,"reason":..}.
 *
 * SIGUSR1 releases the delays: every response held by "delay_ms" is sent
 * at once, and later ones are sent without waiting.  A test sets a delay
 * of an hour and releases it when it has checked what must hold while the
 * response is pending (no wall-clock race between the two).
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <zlib.h>

#define MAX_LINE	(64 * 1024)
#define MAX_HEADERS	200

/* One programmed answer. */
struct route {
	char		*method;	/* NULL: any */
	char		*path;		/* NULL: any */
	char		*body_contains;	/* NULL: any */
	int		 status;
	json_t		*headers;	/* array of [name, value] or NULL */
	char		*body;
	size_t		 body_len;
	int		 echo;
	long		 delay_ms;
	int		 chunked;
	int		 gzip;
	int		 close;
	long		 close_after;	/* -1: whole response */
	long		 close_delay_ms;	/* wait before closing */
	char		*raw;
	size_t		 raw_len;
	int		 reset;		/* read, then reset: no answer */
	int		 close_at_once;	/* response and FIN in one segment */
	long		 times;		/* matches left; -1: no limit */
};

/* Where a connection's request parser is. */
enum parse_state {
	PS_HEAD,		/* request line and headers */
	PS_BODY,		/* Content-Length body */
	PS_CHUNK_SIZE,
	PS_CHUNK_DATA,
	PS_CHUNK_END,		/* CRLF after a chunk */
	PS_TRAILER,
	PS_BUSY			/* a response is being prepared or delayed */
};

/* One client connection. */
struct conn {
	struct bufferevent *bev;
	unsigned long	 id;
	int		 counted;
	enum parse_state state;
	int		 have_line;	/* request line seen */
	char		*method;
	char		*target;
	int		 minor;
	json_t		*headers;
	struct evbuffer	*body;
	size_t		 want;
	int		 want_close;	/* the client asked to close */
	struct event	*timer;
	struct evbuffer	*pending;	/* delayed response */
	int		 pending_status;
	int		 pending_close;
	int		 closing;	/* free once the output drained */
	int		 lingering;	/* ... no: the timer frees it */
	long		 pending_close_delay;
};

static struct event_base *base;
static SSL_CTX *ssl_ctx;	/* --tls-cert: HTTPS */
static int	broken_resumption;	/* --tls-broken-resumption */

static json_t	*tls_info(struct bufferevent *);
static int	delays_released;	/* SIGUSR1 happened */
static const char *name = "backend";
static FILE *log_fp;
static struct route *routes;
static size_t nroutes;
static struct route default_route;
static int have_default;
static unsigned long n_accepted, n_connections, n_requests;

static void conn_process(struct conn *);
static void die(const char *, ...)
    __attribute__((__format__(__printf__, 1, 2), __noreturn__));

/* Print a message and exit. */
static void
die(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "testbackend: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Return the wall clock in milliseconds. */
static long long
now_ms(void)
{
	struct timeval	tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Return a malloc'd copy of len bytes, NUL-terminated, or die. */
static char *
xmemdup(const void *s, size_t len)
{
	char	*p;

	if ((p = malloc(len + 1)) == NULL)
		die("out of memory");
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* Append one event line to the log; steals obj. */
static void
log_event(json_t *obj)
{
	char	*line;
	size_t	 len, off;
	ssize_t	 n = 0;

	if (log_fp == NULL) {
		json_decref(obj);
		return;
	}
	json_object_set_new(obj, "ts_ms", json_integer(now_ms()));
	line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (line == NULL)
		return;
	/*
	 * One write(2) per line, newline included, on an O_APPEND
	 * descriptor: a reader polling the log sees whole lines (or, for a
	 * very large line, at worst a line without its newline yet).
	 */
	len = strlen(line);
	line[len] = '\n';
	for (off = 0; off < len + 1; off += (size_t)n) {
		if ((n = write(fileno(log_fp), line + off, len + 1 - off)) < 0) {
			if (errno == EINTR) {
				n = 0;
				continue;
			}
			break;
		}
	}
	free(line);
}

/* Return a new JSON string of the bytes, or NULL if not valid UTF-8. */
static json_t *
json_bytes(const char *p, size_t len)
{
	return json_stringn(p, len);
}

/* Return a new base64 JSON string of the bytes. */
static json_t *
json_b64(const unsigned char *p, size_t len)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char	*out, *o;
	size_t	 i;
	json_t	*j;

	if ((out = malloc(4 * ((len + 2) / 3) + 1)) == NULL)
		die("out of memory");
	o = out;
	for (i = 0; i + 2 < len; i += 3) {
		*o++ = tbl[p[i] >> 2];
		*o++ = tbl[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		*o++ = tbl[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		*o++ = tbl[p[i + 2] & 63];
	}
	if (i < len) {
		*o++ = tbl[p[i] >> 2];
		if (i + 1 < len) {
			*o++ = tbl[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
			*o++ = tbl[(p[i + 1] & 15) << 2];
		} else {
			*o++ = tbl[(p[i] & 3) << 4];
			*o++ = '=';
		}
		*o++ = '=';
	}
	*o = '\0';
	j = json_string(out);
	free(out);
	return j;
}

/* Set "body" (or "body_b64" when not UTF-8) on obj. */
static void
set_body(json_t *obj, const char *p, size_t len)
{
	json_t	*s;

	if ((s = json_bytes(p, len)) != NULL)
		json_object_set_new(obj, "body", s);
	else
		json_object_set_new(obj, "body_b64",
		    json_b64((const unsigned char *)p, len));
}

/* Return the reason phrase of a status code. */
static const char *
reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

/* Read a whole file into a malloc'd buffer. */
static char *
read_file(const char *path, size_t *lenp)
{
	FILE	*f;
	char	*p = NULL;
	size_t	 len = 0, cap = 0, n;

	if ((f = fopen(path, "rb")) == NULL)
		die("%s: %s", path, strerror(errno));
	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 131072;
			if ((p = realloc(p, cap)) == NULL)
				die("out of memory");
		}
		n = fread(p + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f))
		die("%s: read error", path);
	fclose(f);
	*lenp = len;
	return p;
}

/* Return an integer member of a fixture object, or def. */
static long
fixture_int(json_t *obj, const char *key, long def, const char *where)
{
	json_t	*v;

	if ((v = json_object_get(obj, key)) == NULL || json_is_null(v))
		return def;
	if (json_is_integer(v))
		return (long)json_integer_value(v);
	if (json_is_boolean(v))
		return json_is_true(v);
	die("%s: \"%s\" must be an integer", where, key);
}

/* Return a strdup'd string member of a fixture object, or NULL. */
static char *
fixture_str(json_t *obj, const char *key, const char *where)
{
	json_t	*v;

	if ((v = json_object_get(obj, key)) == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v))
		die("%s: \"%s\" must be a string", where, key);
	return xmemdup(json_string_value(v), json_string_length(v));
}

/* Fill a route from its fixture object. */
static void
route_parse(json_t *obj, struct route *r, const char *where)
{
	json_t		*v, *h;
	size_t		 i;
	char		*file;

	if (!json_is_object(obj))
		die("%s: a route must be an object", where);
	memset(r, 0, sizeof *r);
	r->method = fixture_str(obj, "method", where);
	r->path = fixture_str(obj, "path", where);
	r->body_contains = fixture_str(obj, "body_contains", where);
	r->status = (int)fixture_int(obj, "status", 200, where);
	r->delay_ms = fixture_int(obj, "delay_ms", 0, where);
	r->chunked = (int)fixture_int(obj, "chunked", 0, where);
	r->gzip = (int)fixture_int(obj, "gzip", 0, where);
	r->close = (int)fixture_int(obj, "close", 0, where);
	r->echo = (int)fixture_int(obj, "echo", 0, where);
	r->close_after = fixture_int(obj, "close_after", -1, where);
	r->close_delay_ms = fixture_int(obj, "close_delay_ms", 0, where);
	r->reset = (int)fixture_int(obj, "reset", 0, where);
	r->close_at_once = (int)fixture_int(obj, "close_at_once", 0, where);
	r->times = fixture_int(obj, "times", -1, where);

	if ((v = json_object_get(obj, "headers")) != NULL) {
		if (!json_is_array(v))
			die("%s: \"headers\" must be an array", where);
		json_array_foreach(v, i, h) {
			if (!json_is_array(h) || json_array_size(h) != 2 ||
			    !json_is_string(json_array_get(h, 0)) ||
			    !json_is_string(json_array_get(h, 1)))
				die("%s: headers[%zu] must be [name, value]",
				    where, i);
		}
		r->headers = json_incref(v);
	}
	if ((v = json_object_get(obj, "body")) != NULL) {
		if (!json_is_string(v))
			die("%s: \"body\" must be a string", where);
		r->body_len = json_string_length(v);
		r->body = xmemdup(json_string_value(v), r->body_len);
	} else if ((v = json_object_get(obj, "body_json")) != NULL) {
		r->body = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER |
		    JSON_ENCODE_ANY);
		if (r->body == NULL)
			die("%s: cannot encode \"body_json\"", where);
		r->body_len = strlen(r->body);
	} else if ((file = fixture_str(obj, "body_file", where)) != NULL) {
		r->body = read_file(file, &r->body_len);
		free(file);
	} else if (!r->echo && json_object_get(obj, "raw") == NULL &&
	    json_object_get(obj, "status") == NULL)
		r->echo = 1;	/* a route that says nothing echoes */
	if ((v = json_object_get(obj, "raw")) != NULL) {
		if (!json_is_string(v))
			die("%s: \"raw\" must be a string", where);
		r->raw_len = json_string_length(v);
		r->raw = xmemdup(json_string_value(v), r->raw_len);
	}
}

/* Load the fixture file. */
static void
fixture_load(const char *path)
{
	json_t		*root, *v, *r;
	json_error_t	 err;
	size_t		 i;
	char		 where[512];

	if ((root = json_load_file(path, 0, &err)) == NULL)
		die("%s:%d: %s", path, err.line, err.text);
	if (!json_is_object(root))
		die("%s: the fixture must be an object", path);
	if ((v = json_object_get(root, "routes")) != NULL) {
		if (!json_is_array(v))
			die("%s: \"routes\" must be an array", path);
		nroutes = json_array_size(v);
		if ((routes = calloc(nroutes + 1, sizeof *routes)) == NULL)
			die("out of memory");
		json_array_foreach(v, i, r) {
			snprintf(where, sizeof where, "%s: routes[%zu]", path,
			    i);
			route_parse(r, &routes[i], where);
		}
	}
	if ((v = json_object_get(root, "default")) != NULL) {
		snprintf(where, sizeof where, "%s: default", path);
		route_parse(v, &default_route, where);
		have_default = 1;
	}
	json_decref(root);
}

/* Find the route for a request: the first match, else the default. */
static const struct route *
route_find(const char *method, const char *target, const char *body,
    size_t body_len)
{
	static struct route	 echo = { .status = 200, .echo = 1,
				    .close_after = -1 };
	struct route		*r;
	size_t			 i, plen, clen;
	const char		*q;

	q = strchr(target, '?');
	plen = q != NULL ? (size_t)(q - target) : strlen(target);
	for (i = 0; i < nroutes; i++) {
		r = &routes[i];
		if (r->method != NULL && strcmp(r->method, method) != 0)
			continue;
		if (r->path != NULL && (strlen(r->path) != plen ||
		    strncmp(r->path, target, plen) != 0))
			continue;
		if (r->body_contains != NULL) {
			clen = strlen(r->body_contains);
			if (clen > 0 && (body_len < clen ||
			    memmem(body, body_len, r->body_contains, clen) ==
			    NULL))
				continue;
		}
		if (r->times == 0)
			continue;
		if (r->times > 0)
			r->times--;
		return r;
	}
	return have_default ? &default_route : &echo;
}

/* Gzip len bytes into a malloc'd buffer. */
static char *
gzip_bytes(const char *in, size_t len, size_t *outlen)
{
	z_stream	 zs;
	char		*out;
	uLong		 bound;

	memset(&zs, 0, sizeof zs);
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		die("deflateInit2 failed");
	bound = deflateBound(&zs, len) + 64;
	if ((out = malloc(bound)) == NULL)
		die("out of memory");
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	zs.next_out = (Bytef *)out;
	zs.avail_out = (uInt)bound;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		die("deflate failed");
	*outlen = zs.total_out;
	deflateEnd(&zs);
	return out;
}

/* Return whether the route's headers set the named header. */
static int
route_has_header(const struct route *r, const char *hname)
{
	size_t	 i;
	json_t	*h;

	if (r->headers == NULL)
		return 0;
	json_array_foreach(r->headers, i, h) {
		if (strcasecmp(json_string_value(json_array_get(h, 0)),
		    hname) == 0)
			return 1;
	}
	return 0;
}

/* Return the echo document of the connection's current request. */
static char *
echo_body(struct conn *c, const char *body, size_t body_len)
{
	json_t	*obj;
	char	*s;

	obj = json_object();
	json_object_set_new(obj, "name", json_string(name));
	json_object_set_new(obj, "method", json_string(c->method));
	json_object_set_new(obj, "target", json_string(c->target));
	json_object_set(obj, "headers", c->headers);
	set_body(obj, body, body_len);
	s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (s == NULL)
		die("cannot encode the echo document");
	return s;
}

/* Build the response to the current request into out. */
static void
response_build(struct conn *c, const struct route *r, const char *reqbody,
    size_t reqbody_len, struct evbuffer *out)
{
	char		*body = NULL, *gz = NULL, *echo = NULL;
	size_t		 body_len = 0, gz_len, i, off, n, chunk;
	json_t		*h;
	int		 close_conn, no_body;
	struct evbuffer	*cut;

	if (r->raw != NULL) {
		evbuffer_add(out, r->raw, r->raw_len);
		goto cut;
	}
	if (r->echo) {
		echo = echo_body(c, reqbody, reqbody_len);
		body = echo;
		body_len = strlen(echo);
	} else if (r->body != NULL) {
		body = r->body;
		body_len = r->body_len;
	}
	if (r->gzip) {
		gz = gzip_bytes(body != NULL ? body : "", body_len, &gz_len);
		body = gz;
		body_len = gz_len;
	}
	close_conn = r->close || c->want_close;
	/*
	 * HEAD, 1xx, 204 and 304 responses have no body (RFC 9112 6.3); HEAD
	 * still announces the length a GET would have had.
	 */
	no_body = strcmp(c->method, "HEAD") == 0 ||
	    (r->status >= 100 && r->status < 200) || r->status == 204 ||
	    r->status == 304;

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", r->status,
	    reason_phrase(r->status));
	if (r->headers != NULL) {
		json_array_foreach(r->headers, i, h) {
			evbuffer_add_printf(out, "%s: %s\r\n",
			    json_string_value(json_array_get(h, 0)),
			    json_string_value(json_array_get(h, 1)));
		}
	} else if (body_len > 0 || r->echo)
		evbuffer_add_printf(out, "Content-Type: application/json\r\n");
	if (r->gzip && !route_has_header(r, "Content-Encoding"))
		evbuffer_add_printf(out, "Content-Encoding: gzip\r\n");
	if (close_conn)
		evbuffer_add_printf(out, "Connection: close\r\n");
	if (no_body) {
		if (strcmp(c->method, "HEAD") == 0 &&
		    !route_has_header(r, "Content-Length") && !r->chunked)
			evbuffer_add_printf(out, "Content-Length: %zu\r\n",
			    body_len);
		evbuffer_add(out, "\r\n", 2);
	} else if (r->chunked) {
		evbuffer_add_printf(out, "Transfer-Encoding: chunked\r\n\r\n");
		/* Several chunks, so that a relay sees more than one. */
		chunk = body_len / 4 + 1;
		for (off = 0; off < body_len; off += n) {
			n = body_len - off < chunk ? body_len - off : chunk;
			evbuffer_add_printf(out, "%zx\r\n", n);
			evbuffer_add(out, body + off, n);
			evbuffer_add(out, "\r\n", 2);
		}
		evbuffer_add(out, "0\r\n\r\n", 5);
	} else {
		if (!route_has_header(r, "Content-Length"))
			evbuffer_add_printf(out, "Content-Length: %zu\r\n",
			    body_len);
		evbuffer_add(out, "\r\n", 2);
		if (body_len > 0)
			evbuffer_add(out, body, body_len);
	}
	free(gz);
	free(echo);

cut:
	if (r->close_after >= 0 &&
	    evbuffer_get_length(out) > (size_t)r->close_after) {
		cut = evbuffer_new();
		evbuffer_remove_buffer(out, cut, (size_t)r->close_after);
		evbuffer_drain(out, evbuffer_get_length(out));
		evbuffer_add_buffer(out, cut);
		evbuffer_free(cut);
	}
}

/* Free a connection. */
static void
conn_free(struct conn *c)
{
	if (c->timer != NULL)
		event_free(c->timer);
	bufferevent_free(c->bev);
	free(c->method);
	free(c->target);
	json_decref(c->headers);
	evbuffer_free(c->body);
	if (c->pending != NULL)
		evbuffer_free(c->pending);
	free(c);
}

/* Forget the current request. */
static void
conn_reset(struct conn *c)
{
	free(c->method);
	free(c->target);
	c->method = c->target = NULL;
	json_decref(c->headers);
	c->headers = json_array();
	evbuffer_drain(c->body, evbuffer_get_length(c->body));
	c->have_line = 0;
	c->want = 0;
	c->state = PS_HEAD;
}

/*
 * Close once the output has drained.  The write callback frees the
 * connection; when nothing is left to write it would never run, so the
 * timer does it from the loop (never from under a caller's feet).
 */
static void
conn_close_soon(struct conn *c)
{
	struct timeval	 tv = { 0, 0 };

	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		evtimer_del(c->timer);
		evtimer_add(c->timer, &tv);
	}
}

/* Hand a response to the socket; close afterwards if asked. */
static void
conn_send(struct conn *c, struct evbuffer *resp, int status, int close_conn,
    long close_delay_ms)
{
	struct timeval	 tv;
	json_t	*ev;

	bufferevent_write_buffer(c->bev, resp);
	ev = json_object();
	json_object_set_new(ev, "event", json_string("respond"));
	json_object_set_new(ev, "conn", json_integer((json_int_t)c->id));
	json_object_set_new(ev, "status", json_integer(status));
	log_event(ev);
	if (close_conn && close_delay_ms > 0) {
		/* Stall mid-response, then close: a peer sees the cut late. */
		c->closing = c->lingering = 1;
		bufferevent_disable(c->bev, EV_READ);
		tv.tv_sec = close_delay_ms / 1000;
		tv.tv_usec = (close_delay_ms % 1000) * 1000;
		evtimer_del(c->timer);
		evtimer_add(c->timer, &tv);
		return;
	}
	if (close_conn) {
		conn_close_soon(c);
		return;
	}
	conn_reset(c);
}

/*
 * Send a response and close at once: corked, the bytes and the FIN leave
 * in one segment when the write side is shut down.  Written straight to
 * the socket, so nothing else may be waiting in the bufferevent.
 */
static void
conn_send_and_close(struct conn *c, struct evbuffer *resp, int status)
{
	evutil_socket_t	 fd = bufferevent_getfd(c->bev);
	size_t		 len = evbuffer_get_length(resp);
	const char	*p = (const char *)evbuffer_pullup(resp, -1);
	ssize_t		 n;
	int		 on = 1;
	json_t		*ev;

	if (evbuffer_get_length(bufferevent_get_output(c->bev)) != 0)
		die("close_at_once: an earlier response is still queued");
	setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	ev = json_object();
	json_object_set_new(ev, "event", json_string("respond"));
	json_object_set_new(ev, "conn", json_integer((json_int_t)c->id));
	json_object_set_new(ev, "status", json_integer(status));
	log_event(ev);
	conn_close_soon(c);
}

/* Answer a request the backend could not parse, then close. */
static void
conn_bad(struct conn *c, const char *reason)
{
	struct evbuffer	*out;
	json_t		*ev;
	char		 body[256];
	int		 n;

	ev = json_object();
	json_object_set_new(ev, "event", json_string("bad_request"));
	json_object_set_new(ev, "conn", json_integer((json_int_t)c->id));
	json_object_set_new(ev, "reason", json_string(reason));
	log_event(ev);
	n = snprintf(body, sizeof body, "{\"error\":\"testbackend: %s\"}",
	    reason);
	out = evbuffer_new();
	evbuffer_add_printf(out, "HTTP/1.1 400 Bad Request\r\n"
	    "Content-Type: application/json\r\nConnection: close\r\n"
	    "Content-Length: %d\r\n\r\n%s", n, body);
	c->state = PS_BUSY;
	conn_send(c, out, 400, 1, 0);
	evbuffer_free(out);
}

/* A delayed response is due. */
static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	struct evbuffer	*resp = c->pending;
	int		 close_conn = c->pending_close;

	(void)fd;
	(void)what;
	if (c->closing) {
		conn_free(c);
		return;
	}
	c->pending = NULL;
	conn_send(c, resp, c->pending_status, close_conn,
	    c->pending_close_delay);
	evbuffer_free(resp);
	if (!close_conn)
		conn_process(c);
}

/* A whole request has been read: log it and answer it. */
static void
conn_request(struct conn *c)
{
	const struct route	*r;
	struct evbuffer		*out;
	json_t			*ev;
	char			*body, stats[256];
	size_t			 body_len;
	struct timeval		 tv;
	int			 close_conn;
	static const struct linger reset_linger = { 1, 0 };

	c->state = PS_BUSY;
	body_len = evbuffer_get_length(c->body);
	body = (char *)evbuffer_pullup(c->body, -1);
	if (body == NULL)
		body = (char *)"";

	if (strcmp(c->method, "GET") == 0 &&
	    strcmp(c->target, "/__stats") == 0) {
		snprintf(stats, sizeof stats,
		    "{\"connections\":%lu,\"requests\":%lu,\"accepted\":%lu}",
		    n_connections, n_requests, n_accepted);
		out = evbuffer_new();
		evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\n"
		    "Content-Type: application/json\r\n%s"
		    "Content-Length: %zu\r\n\r\n%s",
		    c->want_close ? "Connection: close\r\n" : "",
		    strlen(stats), stats);
		bufferevent_write_buffer(c->bev, out);
		evbuffer_free(out);
		if (c->want_close) {
			conn_close_soon(c);
			return;
		}
		conn_reset(c);
		return;
	}

	n_requests++;
	if (!c->counted) {
		c->counted = 1;
		n_connections++;
	}
	ev = json_object();
	json_object_set_new(ev, "event", json_string("request"));
	json_object_set_new(ev, "conn", json_integer((json_int_t)c->id));
	json_object_set_new(ev, "method", json_string(c->method));
	json_object_set_new(ev, "target", json_string(c->target));
	json_object_set(ev, "headers", c->headers);
	set_body(ev, body, body_len);
	if (ssl_ctx != NULL)
		json_object_set_new(ev, "tls", tls_info(c->bev));
	log_event(ev);

	r = route_find(c->method, c->target, body, body_len);
	if (r->reset) {
		/* Closed with a zero linger, the socket sends an RST. */
		ev = json_object();
		json_object_set_new(ev, "event", json_string("reset"));
		json_object_set_new(ev, "conn",
		    json_integer((json_int_t)c->id));
		log_event(ev);
		setsockopt(bufferevent_getfd(c->bev), SOL_SOCKET, SO_LINGER,
		    &reset_linger, sizeof reset_linger);
		conn_close_soon(c);
		return;
	}
	out = evbuffer_new();
	response_build(c, r, body, body_len, out);
	close_conn = r->close || c->want_close || r->close_after >= 0 ||
	    r->raw != NULL;
	if (r->close_at_once) {
		conn_send_and_close(c, out, r->status);
		evbuffer_free(out);
		return;
	}
	if (r->delay_ms > 0 && !delays_released) {
		c->pending = out;
		c->pending_status = r->status;
		c->pending_close = close_conn;
		c->pending_close_delay = r->close_delay_ms;
		tv.tv_sec = r->delay_ms / 1000;
		tv.tv_usec = (r->delay_ms % 1000) * 1000;
		evtimer_add(c->timer, &tv);
		return;
	}
	conn_send(c, out, r->status, close_conn, r->close_delay_ms);
	evbuffer_free(out);
}

/* Parse the request line. */
static int
parse_request_line(struct conn *c, const char *line)
{
	const char	*sp1, *sp2;

	if ((sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL)
		return -1;
	if (strncmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    (sp2[8] != '0' && sp2[8] != '1') || sp2[9] != '\0')
		return -1;
	c->method = xmemdup(line, (size_t)(sp1 - line));
	c->target = xmemdup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	c->minor = sp2[8] - '0';
	c->have_line = 1;
	return 0;
}

/* Parse one header line into the current request. */
static int
parse_header(struct conn *c, const char *line, size_t len)
{
	const char	*colon, *v, *e;
	json_t		*h;

	if ((colon = memchr(line, ':', len)) == NULL || colon == line)
		return -1;
	if (json_array_size(c->headers) >= MAX_HEADERS)
		return -1;
	v = colon + 1;
	e = line + len;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	h = json_pack("[s#s#]", line, (int)(colon - line), v, (int)(e - v));
	if (h == NULL)		/* not UTF-8: keep it visible, escaped */
		h = json_pack("[s#o]", line, (int)(colon - line),
		    json_b64((const unsigned char *)v, (size_t)(e - v)));
	if (h != NULL)
		json_array_append_new(c->headers, h);
	return 0;
}

/* Return a header of the current request (first occurrence), or NULL. */
static const char *
req_header(struct conn *c, const char *hname)
{
	size_t	 i;
	json_t	*h;

	json_array_foreach(c->headers, i, h) {
		if (strcasecmp(json_string_value(json_array_get(h, 0)),
		    hname) == 0)
			return json_string_value(json_array_get(h, 1));
	}
	return NULL;
}

/* The header block is complete: decide how the body is framed. */
static int
headers_done(struct conn *c)
{
	const char	*te, *cl, *conn;
	char		*end;
	unsigned long long n;

	conn = req_header(c, "Connection");
	if (c->minor == 0)
		c->want_close = conn == NULL ||
		    strcasestr(conn, "keep-alive") == NULL;
	else
		c->want_close = conn != NULL &&
		    strcasestr(conn, "close") != NULL;
	te = req_header(c, "Transfer-Encoding");
	cl = req_header(c, "Content-Length");
	if (te != NULL) {
		if (strcasestr(te, "chunked") == NULL)
			return -1;
		c->state = PS_CHUNK_SIZE;
		return 0;
	}
	if (cl != NULL) {
		errno = 0;
		n = strtoull(cl, &end, 10);
		if (errno != 0 || end == cl || *end != '\0')
			return -1;
		c->want = (size_t)n;
		c->state = PS_BODY;
		return 0;
	}
	c->want = 0;
	c->state = PS_BODY;
	return 0;
}

/*
 * Advance the parser over the input.  Returns 1 when it made progress, 0
 * when it needs more bytes, -1 on a request it cannot read.
 */
static int
parse_step(struct conn *c, const char **why)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	char		*line, *end;
	size_t		 len;
	unsigned long	 n;

	switch (c->state) {
	case PS_HEAD:
	case PS_CHUNK_SIZE:
	case PS_CHUNK_END:
	case PS_TRAILER:
		line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > MAX_LINE) {
				*why = "line too long";
				return -1;
			}
			return 0;
		}
		break;
	case PS_BODY:
		if (evbuffer_get_length(in) < c->want)
			return 0;
		evbuffer_remove_buffer(in, c->body, c->want);
		c->want = 0;
		conn_request(c);
		return 1;
	case PS_CHUNK_DATA:
		if (evbuffer_get_length(in) < c->want)
			return 0;
		evbuffer_remove_buffer(in, c->body, c->want);
		c->state = PS_CHUNK_END;
		return 1;
	case PS_BUSY:
	default:
		return 0;
	}

	switch (c->state) {
	case PS_HEAD:
		if (!c->have_line) {
			if (len == 0) {		/* RFC 9112 2.2: skip */
				free(line);
				return 1;
			}
			if (parse_request_line(c, line) != 0) {
				free(line);
				*why = "bad request line";
				return -1;
			}
		} else if (len == 0) {
			if (headers_done(c) != 0) {
				free(line);
				*why = "bad framing";
				return -1;
			}
		} else if (parse_header(c, line, len) != 0) {
			free(line);
			*why = "bad header";
			return -1;
		}
		break;
	case PS_CHUNK_SIZE:
		errno = 0;
		n = strtoul(line, &end, 16);
		if (end == line || errno != 0 ||
		    (*end != '\0' && *end != ';' && *end != ' ')) {
			free(line);
			*why = "bad chunk size";
			return -1;
		}
		if (n == 0)
			c->state = PS_TRAILER;
		else {
			c->want = n;
			c->state = PS_CHUNK_DATA;
		}
		break;
	case PS_CHUNK_END:
		if (len != 0) {
			free(line);
			*why = "bad chunk end";
			return -1;
		}
		c->state = PS_CHUNK_SIZE;
		break;
	case PS_TRAILER:
		if (len == 0) {
			free(line);
			conn_request(c);
			return 1;
		}
		break;
	default:
		break;
	}
	free(line);
	return 1;
}

/* Parse and answer as many requests as the input holds, in order. */
static void
conn_process(struct conn *c)
{
	const char	*why = NULL;
	int		 r;

	while (!c->closing && c->state != PS_BUSY) {
		if ((r = parse_step(c, &why)) < 0) {
			conn_bad(c, why);
			return;
		}
		if (r == 0)
			return;
	}
}

/* Bytes arrived from a client. */
static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_process(arg);
}

/* The output drained: close if that was the last response. */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	if (c->closing && !c->lingering)
		conn_free(c);
}

/* The client closed or the connection failed. */
static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;
	unsigned long	 e;
	char		 why[256];
	json_t		*ev;

	if (what & BEV_EVENT_CONNECTED)
		return;		/* a TLS handshake done */
	if (ssl_ctx != NULL && (what & BEV_EVENT_ERROR) &&
	    (e = bufferevent_get_openssl_error(bev)) != 0) {
		ERR_error_string_n(e, why, sizeof why);
		ev = json_object();
		json_object_set_new(ev, "event", json_string("tls_error"));
		json_object_set_new(ev, "conn", json_integer((json_int_t)c->id));
		json_object_set_new(ev, "reason", json_string(why));
		log_event(ev);
	}
	if ((what & BEV_EVENT_EOF) && c->state == PS_BUSY && !c->closing &&
	    c->pending != NULL) {
		/* Half-closed while a delayed answer is due: still send it. */
		c->pending_close = 1;
		return;
	}
	conn_free(c);
}

/* What a TLS connection's handshake settled, for the request event. */
static json_t *
tls_info(struct bufferevent *bev)
{
	SSL			*ssl = bufferevent_openssl_get_ssl(bev);
	const unsigned char	*alpn;
	unsigned int		 alen;
	const char		*sni;
	X509			*peer;
	char			 cn[256];
	json_t			*o = json_object();

	json_object_set_new(o, "resumed", json_boolean(SSL_session_reused(ssl)));
	sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	json_object_set_new(o, "sni", sni != NULL ? json_string(sni) :
	    json_null());
	SSL_get0_alpn_selected(ssl, &alpn, &alen);
	json_object_set_new(o, "alpn", alen != 0 ?
	    json_stringn((const char *)alpn, alen) : json_null());
	if ((peer = SSL_get1_peer_certificate(ssl)) != NULL &&
	    X509_NAME_get_text_by_NID(X509_get_subject_name(peer),
	    NID_commonName, cn, sizeof cn) > 0)
		json_object_set_new(o, "client", json_string(cn));
	else
		json_object_set_new(o, "client", json_null());
	X509_free(peer);
	return (o);
}

/* ALPN: http/1.1 if the client offers it, else none. */
static int
tls_alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char	 h11[] = "\x08http/1.1";

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, h11,
	    sizeof h11 - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return (SSL_TLSEXT_ERR_NOACK);
	return (SSL_TLSEXT_ERR_OK);
}

/* --tls-cert, --tls-key, --tls-client-ca. */
static void
tls_setup(const char *cert, const char *key, const char *client_ca)
{
	if ((ssl_ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		die("SSL_CTX_new failed");
	if (SSL_CTX_use_certificate_chain_file(ssl_ctx, cert) != 1)
		die("%s: cannot load the certificate", cert);
	if (SSL_CTX_use_PrivateKey_file(ssl_ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ssl_ctx) != 1)
		die("%s: cannot load the key", key);
	SSL_CTX_set_alpn_select_cb(ssl_ctx, tls_alpn_cb, NULL);
	if (client_ca != NULL) {
		if (SSL_CTX_load_verify_locations(ssl_ctx, client_ca, NULL) != 1)
			die("%s: cannot load the client CA", client_ca);
		SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_PEER |
		    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		/*
		 * A session that was verified may be resumed only where
		 * this context is named; without a name OpenSSL refuses the
		 * resumption with an internal_error alert, which
		 * --tls-broken-resumption keeps (a server that gives
		 * sessions and then refuses them).
		 */
		if (!broken_resumption)
			SSL_CTX_set_session_id_context(ssl_ctx,
			    (const unsigned char *)"testbackend", 11);
	}
}

/* A client connected. */
static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct conn	*c;
	json_t		*ev;

	(void)l;
	(void)sa;
	(void)salen;
	(void)arg;
	if ((c = calloc(1, sizeof *c)) == NULL)
		die("out of memory");
	c->id = ++n_accepted;
	if (ssl_ctx != NULL) {
		SSL	*ssl;

		if ((ssl = SSL_new(ssl_ctx)) == NULL)
			die("SSL_new failed");
		c->bev = bufferevent_openssl_socket_new(base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	} else
		c->bev = bufferevent_socket_new(base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		die("bufferevent_socket_new failed");
	c->headers = json_array();
	c->body = evbuffer_new();
	c->timer = evtimer_new(base, conn_timer_cb, c);
	c->state = PS_HEAD;
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);

	ev = json_object();
	json_object_set_new(ev, "event", json_string("accept"));
	json_object_set_new(ev, "conn", json_integer((json_int_t)c->id));
	log_event(ev);
}

#define MAX_RELEASE	4096

struct release_set {
	struct event	*ev[MAX_RELEASE];
	int		 n;
};

/* Collect the armed timers of connections holding a delayed response. */
static int
release_collect(const struct event_base *b, const struct event *ev,
    void *arg)
{
	struct release_set	*rs = arg;
	struct conn		*c;

	(void)b;
	if (event_get_callback(ev) != conn_timer_cb)
		return 0;
	c = event_get_callback_arg(ev);
	if (c->pending == NULL || c->closing ||
	    !event_pending(ev, EV_TIMEOUT, NULL))
		return 0;
	if (rs->n < MAX_RELEASE)
		rs->ev[rs->n++] = (struct event *)ev;
	return 0;
}

/* SIGUSR1: send every delayed response now, and no longer delay. */
static void
release_cb(evutil_socket_t sig, short what, void *arg)
{
	static struct release_set	 rs;
	int				 i;

	(void)sig;
	(void)what;
	(void)arg;
	delays_released = 1;
	rs.n = 0;
	event_base_foreach_event(base, release_collect, &rs);
	for (i = 0; i < rs.n; i++) {
		evtimer_del(rs.ev[i]);
		event_active(rs.ev[i], EV_TIMEOUT, 0);
	}
}

/* SIGTERM or SIGINT: stop. */
static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	event_base_loopexit(base, NULL);
}

/* Write the bound port to path atomically. */
static void
write_port_file(const char *path, int port)
{
	char	 tmp[4096];
	FILE	*f;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
		die("%s: path too long", path);
	if ((f = fopen(tmp, "w")) == NULL)
		die("%s: %s", tmp, strerror(errno));
	fprintf(f, "%d\n", port);
	if (fclose(f) != 0)
		die("%s: %s", tmp, strerror(errno));
	if (rename(tmp, path) != 0)
		die("rename %s: %s", path, strerror(errno));
}

/*
 * Parse ADDR:PORT or [ADDR6]:PORT.  evutil_parse_sockaddr_port refuses
 * port 0, which is the one the tests use.
 */
static int
parse_listen(const char *arg, struct sockaddr_storage *ss, int *lenp)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	char			 host[256], *end;
	const char		*colon;
	size_t			 hlen;
	long			 port;

	memset(ss, 0, sizeof *ss);
	if ((colon = strrchr(arg, ':')) == NULL)
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535)
		return -1;
	hlen = (size_t)(colon - arg);
	if (hlen >= 2 && arg[0] == '[' && arg[hlen - 1] == ']') {
		arg++;
		hlen -= 2;
	}
	if (hlen >= sizeof host)
		return -1;
	memcpy(host, arg, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*lenp = (int)sizeof *sin;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*lenp = (int)sizeof *sin6;
		return 0;
	}
	return -1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: testbackend --listen ADDR:PORT --port-file FILE"
	    " [--fixture FILE.json] [--log FILE] [--name NAME]\n"
	    "    [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen",	required_argument, NULL, 'l' },
		{ "port-file",	required_argument, NULL, 'p' },
		{ "fixture",	required_argument, NULL, 'f' },
		{ "log",	required_argument, NULL, 'L' },
		{ "name",	required_argument, NULL, 'n' },
		{ "tls-cert",	required_argument, NULL, 'c' },
		{ "tls-key",	required_argument, NULL, 'k' },
		{ "tls-client-ca", required_argument, NULL, 'a' },
		{ "tls-broken-resumption", no_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 }
	};
	const char		*tls_cert = NULL, *tls_key = NULL;
	const char		*tls_client_ca = NULL;
	const char		*listen_addr = NULL, *port_file = NULL;
	const char		*fixture = NULL, *log_path = NULL;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 sslen_i, ch, port;
	struct evconnlistener	*l;
	struct event		*sigterm, *sigint, *sigusr1;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l': listen_addr = optarg; break;
		case 'p': port_file = optarg; break;
		case 'f': fixture = optarg; break;
		case 'L': log_path = optarg; break;
		case 'n': name = optarg; break;
		case 'c': tls_cert = optarg; break;
		case 'k': tls_key = optarg; break;
		case 'a': tls_client_ca = optarg; break;
		case 'B': broken_resumption = 1; break;
		default: usage();
		}
	}
	if (listen_addr == NULL || port_file == NULL || optind != argc)
		usage();

	signal(SIGPIPE, SIG_IGN);
	if ((tls_cert == NULL) != (tls_key == NULL))
		usage();
	if (tls_cert != NULL)
		tls_setup(tls_cert, tls_key, tls_client_ca);
	if (fixture != NULL)
		fixture_load(fixture);
	if (log_path != NULL && (log_fp = fopen(log_path, "a")) == NULL)
		die("%s: %s", log_path, strerror(errno));

	if (parse_listen(listen_addr, &ss, &sslen_i) != 0)
		die("bad --listen address: %s", listen_addr);
	if ((base = event_base_new()) == NULL)
		die("event_base_new failed");
	l = evconnlistener_new_bind(base, accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1,
	    (struct sockaddr *)&ss, sslen_i);
	if (l == NULL)
		die("cannot listen on %s: %s", listen_addr, strerror(errno));
	sslen = sizeof ss;
	if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss,
	    &sslen) != 0)
		die("getsockname: %s", strerror(errno));
	if (ss.ss_family == AF_INET6)
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	write_port_file(port_file, port);

	sigterm = evsignal_new(base, SIGTERM, signal_cb, NULL);
	sigint = evsignal_new(base, SIGINT, signal_cb, NULL);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	sigusr1 = evsignal_new(base, SIGUSR1, release_cb, NULL);
	evsignal_add(sigusr1, NULL);

	event_base_dispatch(base);

	evconnlistener_free(l);
	event_free(sigterm);
	event_free(sigint);
	event_free(sigusr1);
	if (log_fp != NULL)
		fclose(log_fp);
	event_base_free(base);
	return 0;
}
