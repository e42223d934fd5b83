/*
 * The HTTP/1.x message model and parser glue: one strict incremental
 * parser, libhttp-parser underneath, used for requests and responses.
 *
 * libhttp-parser accepts a few things a proxy must not pass on, because
 * two hops that frame a message differently are how requests are
 * smuggled: obs-fold, bare LF, whitespace before the colon, two
 * Content-Lengths, Content-Length beside Transfer-Encoding, codings other
 * than chunked.  A small scanner over the raw header block and checks in
 * the header callbacks refuse all of them before anything is forwarded.
 */

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>

#include "paritytap.h"

static int	http_on_message_begin(http_parser *);
static int	http_on_url(http_parser *, const char *, size_t);
static int	http_on_status(http_parser *, const char *, size_t);
static int	http_on_header_field(http_parser *, const char *, size_t);
static int	http_on_header_value(http_parser *, const char *, size_t);
static int	http_on_headers_complete(http_parser *);
static int	http_on_body(http_parser *, const char *, size_t);
static int	http_on_message_complete(http_parser *);

static const http_parser_settings http_settings = {
	.on_message_begin = http_on_message_begin,
	.on_url = http_on_url,
	.on_status = http_on_status,
	.on_header_field = http_on_header_field,
	.on_header_value = http_on_header_value,
	.on_headers_complete = http_on_headers_complete,
	.on_body = http_on_body,
	.on_message_complete = http_on_message_complete,
};

/* Set up a parser for requests (response 0) or responses (1). */
void
http_msg_init(struct http_msg *hm, int response,
    const struct http_msg_cbs *cbs, void *arg)
{
	http_parser	*p;

	memset(hm, 0, sizeof *hm);
	p = xcalloc(1, sizeof *p);
	p->data = hm;
	hm->hm_parser = p;
	hm->hm_response = response;
	hm->hm_cbs = cbs;
	hm->hm_arg = arg;
	http_parser_init(p, response ? HTTP_RESPONSE : HTTP_REQUEST);
}

/* Forget the current message, ready for the next on the connection. */
void
http_msg_reset(struct http_msg *hm)
{
	http_parser	*p = hm->hm_parser;

	headers_free(&hm->hm_headers);
	buf_reset(&hm->hm_url);
	buf_reset(&hm->hm_reason);
	buf_reset(&hm->hm_field);
	buf_reset(&hm->hm_value);
	free(hm->hm_error);
	hm->hm_error = NULL;
	hm->hm_error_status = 0;
	hm->hm_in_value = 0;
	hm->hm_header_bytes = 0;
	hm->hm_head_done = hm->hm_complete = hm->hm_no_body = 0;
	hm->hm_chunked = hm->hm_has_length = 0;
	hm->hm_length = 0;
	hm->hm_scan_done = hm->hm_scan_line = hm->hm_scan_colon = 0;
	hm->hm_scan_col = 0;
	hm->hm_scan_prev = 0;
	http_parser_init(p, hm->hm_response ? HTTP_RESPONSE : HTTP_REQUEST);
	p->data = hm;
}

/* Free a parser. */
void
http_msg_free(struct http_msg *hm)
{
	headers_free(&hm->hm_headers);
	buf_free(&hm->hm_url);
	buf_free(&hm->hm_reason);
	buf_free(&hm->hm_field);
	buf_free(&hm->hm_value);
	free(hm->hm_error);
	free(hm->hm_parser);
	memset(hm, 0, sizeof *hm);
}

/* Record the first error and its HTTP status; always returns -1. */
int
http_msg_fail(struct http_msg *hm, int status, const char *fmt, ...)
{
	va_list	 ap;

	if (hm->hm_error == NULL) {
		va_start(ap, fmt);
		xvasprintf(&hm->hm_error, fmt, ap);
		va_end(ap);
		hm->hm_error_status = status;
	}
	return (-1);
}

/*
 * Scan raw header-block bytes for what libhttp-parser lets through.
 * Returns -1 with the error set, else 0.
 */
static int
http_scan(struct http_msg *hm, const unsigned char *p, size_t len)
{
	size_t		 i;
	unsigned char	 c;

	for (i = 0; i < len && !hm->hm_scan_done; i++) {
		c = p[i];
		if (c == '\0')
			return (http_msg_fail(hm, 400, "NUL byte in header"));
		if (hm->hm_scan_prev == '\r' && c != '\n')
			return (http_msg_fail(hm, 400, "bare CR in header"));
		if (c == '\n') {
			if (hm->hm_scan_prev != '\r')
				return (http_msg_fail(hm, 400,
				    "bare LF line ending"));
			if (hm->hm_scan_col == 1 && hm->hm_scan_line > 0)
				hm->hm_scan_done = 1;
			else if (hm->hm_scan_col > 1)
				hm->hm_scan_line++;
			hm->hm_scan_col = 0;
			hm->hm_scan_colon = 0;
			hm->hm_scan_prev = c;
			continue;
		}
		if (hm->hm_scan_line > 0 && c != '\r') {
			if (hm->hm_scan_col == 0 && (c == ' ' || c == '\t'))
				return (http_msg_fail(hm, 400,
				    "obsolete line folding (obs-fold)"));
			if (!hm->hm_scan_colon) {
				if (c == ':')
					hm->hm_scan_colon = 1;
				else if (c == ' ' || c == '\t')
					return (http_msg_fail(hm, 400,
					    "whitespace in header name"));
			}
		}
		hm->hm_scan_col++;
		hm->hm_scan_prev = c;
	}
	return (0);
}

/*
 * Feed bytes.  Returns how many were consumed (the parser stops after a
 * complete message so that pipelined bytes stay with the caller), or -1
 * with hm_error set.
 */
ssize_t
http_msg_feed(struct http_msg *hm, const char *data, size_t len)
{
	http_parser	*p = hm->hm_parser;
	size_t		 n;

	if (hm->hm_error != NULL)
		return (-1);
	if (hm->hm_complete)
		return (0);
	if (!hm->hm_scan_done && http_scan(hm, (const unsigned char *)data,
	    len) != 0)
		return (-1);
	n = http_parser_execute(p, &http_settings, data, len);
	if (hm->hm_error != NULL)
		return (-1);
	if (HTTP_PARSER_ERRNO(p) == HPE_PAUSED) {
		/* Paused by us at message complete. */
		http_parser_pause(p, 0);
		return ((ssize_t)n);
	}
	switch (HTTP_PARSER_ERRNO(p)) {
	case HPE_OK:
		break;
	case HPE_UNEXPECTED_CONTENT_LENGTH:
		/* libhttp-parser sees these before our header callbacks. */
		http_msg_fail(hm, 400, "two Content-Length headers, or "
		    "Content-Length with Transfer-Encoding");
		return (-1);
	case HPE_INVALID_CONTENT_LENGTH:
		http_msg_fail(hm, 400, "Content-Length is not a number");
		return (-1);
	case HPE_HEADER_OVERFLOW:
		http_msg_fail(hm, 431, "header block too large");
		return (-1);
	default:
		http_msg_fail(hm, 400, "%s",
		    http_errno_description(HTTP_PARSER_ERRNO(p)));
		return (-1);
	}
	return ((ssize_t)n);
}

/* The peer closed: completes a read-until-close body.  0 or -1. */
int
http_msg_eof(struct http_msg *hm)
{
	http_parser	*p = hm->hm_parser;

	if (hm->hm_complete)
		return (0);
	http_parser_execute(p, &http_settings, NULL, 0);
	if (hm->hm_complete)
		return (0);
	if (hm->hm_error == NULL)
		http_msg_fail(hm, 502, "connection closed before the message "
		    "was complete");
	return (-1);
}

/* May the connection carry another message after this one? */
int
http_msg_keepalive(const struct http_msg *hm)
{
	return (http_should_keep_alive(hm->hm_parser));
}

/* The request method. */
const char *
http_msg_method(const struct http_msg *hm)
{
	const http_parser	*p = hm->hm_parser;

	return (http_method_str(p->method));
}

/* The response status. */
int
http_msg_status(const struct http_msg *hm)
{
	const http_parser	*p = hm->hm_parser;

	return (p->status_code);
}

/* The message's HTTP version. */
void
http_msg_version(const struct http_msg *hm, int *major, int *minor)
{
	const http_parser	*p = hm->hm_parser;

	*major = p->http_major;
	*minor = p->http_minor;
}

/* Does the message announce a body (chunked or a non-zero length)? */
int
http_msg_body_expected(const struct http_msg *hm)
{
	return (hm->hm_chunked || (hm->hm_has_length && hm->hm_length > 0));
}

/* The standard reason phrase of a status code. */
const char *
http_reason(int status)
{
	const char	*s = http_status_str(status);

	if (s == NULL || strcmp(s, "<unknown>") == 0)
		return ("Unknown");
	return (s);
}

/* Reset per-message state at the start of a message. */
static int
http_on_message_begin(http_parser *p)
{
	return (0);
}

/* Accumulate the request target. */
static int
http_on_url(http_parser *p, const char *at, size_t len)
{
	struct http_msg	*hm = p->data;

	hm->hm_header_bytes += len;
	if (hm->hm_header_bytes > HTTP_MAX_HEADER_BYTES)
		return (http_msg_fail(hm, 414, "request target too long"));
	buf_add(&hm->hm_url, at, len);
	return (0);
}

/* Accumulate the reason phrase. */
static int
http_on_status(http_parser *p, const char *at, size_t len)
{
	struct http_msg	*hm = p->data;

	buf_add(&hm->hm_reason, at, len);
	return (0);
}

/* Trim optional whitespace from both ends, in place; returns the length. */
static size_t
http_trim(char **s, size_t len)
{
	while (len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		len--;
	}
	while (len > 0 && ((*s)[len - 1] == ' ' || (*s)[len - 1] == '\t'))
		len--;
	return (len);
}

/* Check a Content-Length value: digits only. */
static int
http_check_length(struct http_msg *hm, const char *v, size_t len)
{
	uint64_t	 n = 0;
	size_t		 i;

	if (len == 0)
		return (http_msg_fail(hm, 400, "empty Content-Length"));
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)v[i]))
			return (http_msg_fail(hm, 400,
			    "Content-Length is not a number"));
		if (n > (UINT64_MAX - 9) / 10)
			return (http_msg_fail(hm, 400,
			    "Content-Length too large"));
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	hm->hm_has_length = 1;
	hm->hm_length = n;
	return (0);
}

/* Finish the header being accumulated: store it and check framing. */
static int
http_end_header(struct http_msg *hm)
{
	char	*name = hm->hm_field.data, *value = hm->hm_value.data;
	size_t	 nlen = hm->hm_field.len, vlen = hm->hm_value.len;

	if (nlen == 0)
		return (0);
	if (value == NULL)
		value = (char *)"";
	vlen = http_trim(&value, vlen);
	if (hm->hm_headers.n >= HTTP_MAX_HEADERS)
		return (http_msg_fail(hm, 431, "more than %d headers",
		    HTTP_MAX_HEADERS));
	if (memchr(value, '\0', vlen) != NULL || memchr(value, '\r', vlen) !=
	    NULL || memchr(value, '\n', vlen) != NULL)
		return (http_msg_fail(hm, 400, "control character in the "
		    "value of %.*s", (int)nlen, name));
	if (nlen == 14 && strncasecmp(name, "Content-Length", 14) == 0) {
		if (hm->hm_has_length)
			return (http_msg_fail(hm, 400,
			    "two Content-Length headers"));
		if (http_check_length(hm, value, vlen) != 0)
			return (-1);
	} else if (!hm->hm_response && nlen == 4 &&
	    strncasecmp(name, "Host", 4) == 0) {
		/* Two hops may pick different ones (RFC 9112, 3.2). */
		if (headers_get(&hm->hm_headers, "Host") != NULL)
			return (http_msg_fail(hm, 400, "two Host headers"));
	} else if (nlen == 17 &&
	    strncasecmp(name, "Transfer-Encoding", 17) == 0) {
		if (hm->hm_chunked)
			return (http_msg_fail(hm, 400,
			    "two Transfer-Encoding headers"));
		if (vlen != 7 || strncasecmp(value, "chunked", 7) != 0)
			return (http_msg_fail(hm, 400, "transfer coding other "
			    "than chunked: %.*s", (int)vlen, value));
		hm->hm_chunked = 1;
	}
	headers_add(&hm->hm_headers, name, nlen, value, vlen);
	buf_reset(&hm->hm_field);
	buf_reset(&hm->hm_value);
	hm->hm_in_value = 0;
	return (0);
}

/* Accumulate a header name (it may arrive in pieces). */
static int
http_on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_msg	*hm = p->data;

	if (hm->hm_in_value && http_end_header(hm) != 0)
		return (-1);
	hm->hm_header_bytes += len;
	if (hm->hm_header_bytes > HTTP_MAX_HEADER_BYTES)
		return (http_msg_fail(hm, 431, "header block over %d bytes",
		    HTTP_MAX_HEADER_BYTES));
	buf_add(&hm->hm_field, at, len);
	return (0);
}

/* Accumulate a header value. */
static int
http_on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_msg	*hm = p->data;

	hm->hm_in_value = 1;
	hm->hm_header_bytes += len;
	if (hm->hm_header_bytes > HTTP_MAX_HEADER_BYTES)
		return (http_msg_fail(hm, 431, "header block over %d bytes",
		    HTTP_MAX_HEADER_BYTES));
	buf_add(&hm->hm_value, at, len);
	return (0);
}

/* The header block is complete: final framing checks, then tell the owner. */
static int
http_on_headers_complete(http_parser *p)
{
	struct http_msg	*hm = p->data;
	int		 rv;

	if (hm->hm_field.len != 0 && http_end_header(hm) != 0)
		return (-1);
	if (hm->hm_has_length && hm->hm_chunked)
		return (http_msg_fail(hm, 400,
		    "both Content-Length and Transfer-Encoding"));
	if (!hm->hm_response && p->http_major != 1)
		return (http_msg_fail(hm, 505, "HTTP version %d.%d not "
		    "supported", p->http_major, p->http_minor));
	hm->hm_head_done = 1;
	hm->hm_scan_done = 1;
	rv = 0;
	if (hm->hm_cbs->on_head != NULL &&
	    (rv = hm->hm_cbs->on_head(hm->hm_arg, hm)) < 0) {
		if (hm->hm_error == NULL)
			http_msg_fail(hm, 400, "refused");
		return (-1);
	}
	/*
	 * 1xx (but 101), 204 and 304 responses have no body whatever their
	 * Content-Length says (RFC 9112, 6.3); libhttp-parser would read one.
	 */
	if (hm->hm_response && ((p->status_code >= 100 &&
	    p->status_code < 200 && p->status_code != 101) ||
	    p->status_code == 204 || p->status_code == 304))
		rv = 1;
	if (rv == 1)
		hm->hm_no_body = 1;
	/* 1: tell libhttp-parser there is no body (HEAD, or the above). */
	return (rv == 1 ? 1 : 0);
}

/* Pass body bytes (dechunked) to the owner. */
static int
http_on_body(http_parser *p, const char *at, size_t len)
{
	struct http_msg	*hm = p->data;

	if (hm->hm_cbs->on_body == NULL)
		return (0);
	if (hm->hm_cbs->on_body(hm->hm_arg, at, len) != 0) {
		if (hm->hm_error == NULL)
			http_msg_fail(hm, 400, "body refused");
		return (-1);
	}
	return (0);
}

/* The message is complete: pause so the caller sees where it ended. */
static int
http_on_message_complete(http_parser *p)
{
	struct http_msg	*hm = p->data;

	hm->hm_complete = 1;
	http_parser_pause(p, 1);
	if (hm->hm_cbs->on_complete != NULL &&
	    hm->hm_cbs->on_complete(hm->hm_arg, hm) != 0) {
		if (hm->hm_error == NULL)
			http_msg_fail(hm, 400, "message refused");
		return (-1);
	}
	return (0);
}
