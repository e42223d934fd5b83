/*
 * The canonical request: the one serialization of a parsed request that
 * every backend gets, DESIGN §7 rule 2.  The proxy builds it from what a
 * client sent; replay builds it from a request recorded in a capture, so
 * a replayed request means what the proxied one meant.
 */

#include <string.h>
#include <strings.h>

#include "paritytap.h"

/* Append "name: value\r\n"; cheaper than a printf on the hot path. */
void
canonical_add_header(struct buf *b, const char *name, const char *value)
{
	buf_addstr(b, name);
	buf_add(b, ": ", 2);
	buf_addstr(b, value);
	buf_add(b, "\r\n", 2);
}

/* Is name one of the tokens of a Connection header value? */
static int
canonical_connection_lists(const struct headers *hs, const char *name)
{
	size_t		 i, n, len = strlen(name);
	const char	*v;

	for (i = 0; i < hs->n; i++) {
		if (!header_name_is(hs->h[i].name, "Connection"))
			continue;
		for (v = hs->h[i].value; *v != '\0'; v += n) {
			v += strspn(v, " \t,");
			n = strcspn(v, " \t,");
			if (n == len && strncasecmp(v, name, n) == 0)
				return (1);
		}
	}
	return (0);
}

/*
 * Must this header not be passed on to the next hop?  has_connection says
 * whether the message has a Connection header at all, so the common case
 * does not search the headers once per header.
 */
int
canonical_strip_header(const struct headers *hs, int has_connection,
    const char *name)
{
	return (is_hop_by_hop(name) ||
	    (has_connection && canonical_connection_lists(hs, name)));
}

/*
 * Serialize the canonical request's head: hop-by-hop headers removed,
 * framing rebuilt from the body, X-Forwarded-For appended (client_ip,
 * unless NULL), the trace id set, Host kept unless host is given
 * (authority when the request has none).  The body is not copied: the
 * request's own bytes follow the head on the wire (fanout.c), so a body
 * is held once however many backends it goes to.
 */
void
canonical_head(const struct http_request *req, const char *trace_header,
    const char *trace_id, const char *host, const char *authority,
    const char *client_ip, struct buf *out)
{
	const struct headers	*hs = &req->headers;
	const char		*name;
	int			 have_host = 0, has_connection;
	struct buf		 xff;
	size_t			 i;

	has_connection = headers_get(hs, "Connection") != NULL;
	buf_init(&xff);
	buf_addstr(out, req->method);
	buf_add(out, " ", 1);
	buf_addstr(out, req->target);
	buf_add(out, " HTTP/1.1\r\n", 11);
	for (i = 0; i < hs->n; i++) {
		name = hs->h[i].name;
		if (canonical_strip_header(hs, has_connection, name) ||
		    header_name_is(name, "Content-Length") ||
		    header_name_is(name, "Expect") ||
		    header_name_is(name, trace_header))
			continue;
		if (header_name_is(name, "X-Forwarded-For")) {
			/* All of them, in order, then this hop's client. */
			if (xff.len != 0)
				buf_add(&xff, ", ", 2);
			buf_addstr(&xff, hs->h[i].value);
			continue;
		}
		if (header_name_is(name, "Host")) {
			have_host = 1;
			if (host != NULL) {
				canonical_add_header(out, "Host", host);
				continue;
			}
		}
		canonical_add_header(out, name, hs->h[i].value);
	}
	if (!have_host)
		canonical_add_header(out, "Host", host != NULL ? host :
		    authority);
	if (client_ip != NULL) {
		if (xff.len != 0)
			buf_add(&xff, ", ", 2);
		buf_addstr(&xff, client_ip);
	}
	if (xff.len != 0)
		canonical_add_header(out, "X-Forwarded-For", xff.data);
	buf_free(&xff);
	canonical_add_header(out, trace_header, trace_id);
	if (req->body.len != 0 || strcmp(req->method, "POST") == 0 ||
	    strcmp(req->method, "PUT") == 0 ||
	    strcmp(req->method, "PATCH") == 0)
		buf_printf(out, "Content-Length: %zu\r\n", req->body.len);
	buf_addstr(out, "\r\n");
}
