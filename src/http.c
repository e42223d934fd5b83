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
 *
 * The Debian build of libhttp-parser is not strict (HTTP_PARSER_STRICT 0,
 * fixed at its build), so it also takes a bare CR or LF where chunk
 * framing wants CRLF, anything at all in a chunk extension, and trailer
 * lines it would never take in a header block.  A second scanner checks a
 * chunked request's framing (RFC 9112, 7.1) before the parser sees it.
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

/* States of the chunk-framing scanner (hm_ck_state); 0 is off. */
enum {
	CK_OFF,
	CK_SIZE0,		/* first hex digit of a chunk size */
	CK_SIZE,		/* more digits, ';', BWS or CR */
	CK_EXT_BWS,		/* BWS seen: only ';' may come */
	CK_EXT_NAME0,		/* after ';': BWS, then a token */
	CK_EXT_NAME,
	CK_EXT_AFTER_NAME,	/* BWS after a name: '=' or ';' */
	CK_EXT_VALUE0,		/* after '=': BWS, then token or "..." */
	CK_EXT_TOKEN,
	CK_EXT_QUOTED,
	CK_EXT_QUOTED_PAIR,
	CK_EXT_END,		/* after a closing quote */
	CK_SIZE_LF,		/* CR of the size line seen */
	CK_DATA,
	CK_DATA_CR,
	CK_DATA_LF,
	CK_TRAILER,		/* start of a trailer line */
	CK_TRAILER_NAME,
	CK_TRAILER_VALUE,
	CK_TRAILER_LF,
	CK_END_LF,		/* CR of the last, empty line seen */
	CK_DONE
};

/* A chunk-size line longer than this is not a client's. */
#define HTTP_MAX_CHUNK_LINE	4096

/* RFC 9110, 5.6.2: a token character. */
static int
http_tchar(unsigned char c)
{
	return (isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) !=
	    NULL));
}

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
	hm->hm_scan_bytes = 0;
	memset(hm->hm_scan_tail, 0, sizeof hm->hm_scan_tail);
	hm->hm_scan_fields = hm->hm_scan_gap = 0;
	hm->hm_scan_vlen = 0;
	memset(hm->hm_scan_name, 0, sizeof hm->hm_scan_name);
	hm->hm_scan_framing = 0;
	buf_free(&hm->hm_head);
	hm->hm_ck_state = CK_OFF;
	hm->hm_ck_size = 0;
	hm->hm_ck_line = hm->hm_ck_trailer_bytes = 0;
	hm->hm_ck_trailers = 0;
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
	buf_free(&hm->hm_head);
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
 * Does a request line that ends in a protocol version ("NAME/n.n") name
 * HTTP?  libhttp-parser also takes "ICE/1.0" after a SOURCE request
 * (Icecast's), which is not HTTP.  A line with no version at all is left
 * to the parser (HTTP/0.9: 505).
 */
static int
http_version_tail(const struct http_msg *hm)
{
	const char	*t = hm->hm_scan_tail;

	if (t[5] != '/' || !isdigit((unsigned char)t[6]) || t[7] != '.' ||
	    !isdigit((unsigned char)t[8]))
		return (1);
	return (t[0] == ' ' && memcmp(t + 1, "HTTP", 4) == 0);
}

/*
 * Is the header whose colon was just scanned Content-Length or
 * Transfer-Encoding?  Their values are refused with a tab in them: a tab
 * is optional whitespace to RFC 9110 (5.6.3), but nginx takes a leading
 * one as part of the value and refuses it, and a hop that reads the value
 * otherwise would frame the message differently.  The name is cleared for
 * the next line.
 */
static int
http_framing_name(struct http_msg *hm)
{
	size_t	 n = hm->hm_scan_col;
	int	 framing;

	framing = n < sizeof hm->hm_scan_name &&
	    ((n == 14 && strncasecmp(hm->hm_scan_name, "Content-Length",
	    14) == 0) || (n == 17 && strncasecmp(hm->hm_scan_name,
	    "Transfer-Encoding", 17) == 0));
	if (!framing)
		memset(hm->hm_scan_name, 0, sizeof hm->hm_scan_name);
	return (framing);
}

/*
 * The bytes that end a run of the scanner's (http_scan): SCAN_LINE ends
 * one in the first line or a value, SCAN_NAME one in a header name.
 */
#define SCAN_LINE	0x1
#define SCAN_NAME	0x2
static const unsigned char http_scan_stop[256] = {
	['\0'] = SCAN_LINE | SCAN_NAME,
	['\r'] = SCAN_LINE | SCAN_NAME,
	['\n'] = SCAN_LINE | SCAN_NAME,
	[':'] = SCAN_NAME,
	[' '] = SCAN_NAME,
	['\t'] = SCAN_NAME,
};

/* The length of the run at p, up to n, that no byte of kind stop ends. */
static inline size_t
http_scan_span(const unsigned char *p, size_t n, unsigned char stop)
{
	size_t	 k = 0;

	while (k < n && !(http_scan_stop[p[k]] & stop))
		k++;
	return (k);
}

/*
 * Follow a request line's fields over n of its bytes (none a CR, LF or
 * NUL): where the third, the version, begins, and how many bytes the line
 * has from there on (http_version_short).
 */
static void
http_scan_fields(struct http_msg *hm, const unsigned char *p, size_t n)
{
	const unsigned char	*end = p + n, *sp;

	while (p < end && hm->hm_scan_fields < 3) {
		if (*p == ' ') {
			hm->hm_scan_gap = 1;
			p++;
			continue;
		}
		if (hm->hm_scan_gap || hm->hm_scan_fields == 0) {
			hm->hm_scan_gap = 0;
			if (++hm->hm_scan_fields == 3)
				break;
		}
		if ((sp = memchr(p, ' ', end - p)) == NULL)
			return;
		p = sp;
	}
	if (hm->hm_scan_fields == 3)
		hm->hm_scan_vlen += end - p;
}

/*
 * Is the first line's version cut short by the line's end?  libhttp-
 * parser, built without its strict checks, takes any byte for the "TTP/"
 * of "HTTP/": with fewer than five bytes from the version's start to the
 * CR, it reads the CR and LF as part of the version and goes on into the
 * next line ("GET / H", CRLF, CRLF, "1.1", CRLF, headers is a request of
 * HTTP/1.1 to it; "H", CRLF, CRLF, "1.1 200 OK" a response), where the
 * scanner sees a line and an empty header block.  nginx refuses such a
 * request and such a response from upstream; so are they here.  A
 * response's version starts its line; the CR is in hm_scan_col.
 */
static int
http_version_short(const struct http_msg *hm)
{
	if (hm->hm_response)
		return (hm->hm_scan_col > 1 && hm->hm_scan_col - 1 < 5);
	return (hm->hm_scan_fields >= 3 && hm->hm_scan_vlen < 5);
}

/*
 * Does a status line start with "HTTP/"?  libhttp-parser, not strict,
 * takes "HXYZ/1.1 200 OK" as HTTP; nginx takes such an upstream answer
 * for no HTTP response at all.  A response's first bytes are kept in
 * hm_scan_tail (a request keeps its last there).
 */
static int
http_status_http(const struct http_msg *hm)
{
	return (memcmp(hm->hm_scan_tail, "HTTP/", 5) == 0);
}

/*
 * The bytes of a run within the first line that need no look of their
 * own (all but NUL, CR and LF), up to n.  A request line's last bytes are
 * kept for http_version_tail, as the byte-at-a-time scan keeps them, and
 * its fields followed for http_version_short.
 */
static size_t
http_scan_run(struct http_msg *hm, const unsigned char *p, size_t n)
{
	char	*t = hm->hm_scan_tail;
	size_t	 k, tl = sizeof hm->hm_scan_tail;

	k = http_scan_span(p, n, SCAN_LINE);
	if (k == 0)
		return (k);
	if (hm->hm_response) {
		if (hm->hm_scan_col < tl)
			memcpy(t + hm->hm_scan_col, p, k < tl - hm->hm_scan_col ?
			    k : tl - hm->hm_scan_col);
		return (k);
	}
	http_scan_fields(hm, p, k);
	if (k >= tl)
		memcpy(t, p + k - tl, tl);
	else {
		memmove(t, t + k, tl - k);
		memcpy(t + tl - k, p, k);
	}
	return (k);
}

/*
 * The bytes of a run within a header name, past its first, that need no
 * look of their own (all but the colon, whitespace, NUL, CR and LF), up
 * to n.  The name's first bytes are kept for http_framing_name.
 */
static size_t
http_scan_name_run(struct http_msg *hm, const unsigned char *p, size_t n)
{
	size_t	 k, col = hm->hm_scan_col, keep = sizeof hm->hm_scan_name - 1;

	k = http_scan_span(p, n, SCAN_NAME);
	if (col < keep)
		memcpy(hm->hm_scan_name + col, p, k < keep - col ? k :
		    keep - col);
	return (k);
}

/*
 * Scan raw header-block bytes for what libhttp-parser lets through, and
 * count them against the limits.  The scan stops after the first line and
 * after the block.  *used is how many bytes were scanned (up to the
 * faulty one on error).  Returns -1 with the error set, else 0.
 */
static int
http_scan(struct http_msg *hm, const unsigned char *p, size_t len,
    size_t *used)
{
	size_t		 i, k, n;
	unsigned char	 c;

	for (i = 0; i < len && !hm->hm_scan_done; i++) {
		/*
		 * A run of bytes that need no look of their own is counted
		 * (and what is kept of it kept) at once, within the limit:
		 * in a value, past the colon, all but NUL, CR and LF (and a
		 * tab in a framing header's); in a header name past its
		 * first byte (which has the checks of a line's start), all
		 * but those, the colon and whitespace; in the first line,
		 * all but NUL, CR and LF.
		 */
		k = 0;
		if (hm->hm_scan_prev != '\r') {
			n = len - i;
			if (n > HTTP_MAX_HEADER_BYTES - hm->hm_scan_bytes)
				n = HTTP_MAX_HEADER_BYTES - hm->hm_scan_bytes;
			if (hm->hm_scan_line == 0)
				k = http_scan_run(hm, p + i, n);
			else if (hm->hm_scan_colon && !hm->hm_scan_framing)
				k = http_scan_span(p + i, n, SCAN_LINE);
			else if (!hm->hm_scan_colon && hm->hm_scan_col > 0)
				k = http_scan_name_run(hm, p + i, n);
		}
		if (k != 0) {
			hm->hm_scan_bytes += k;
			hm->hm_scan_col += k;
			hm->hm_scan_prev = p[i + k - 1];
			i += k;
			if (i == len)
				break;
		}
		c = p[i];
		*used = i;
		if (++hm->hm_scan_bytes > HTTP_MAX_HEADER_BYTES) {
			if (hm->hm_scan_line == 0 && !hm->hm_response)
				return (http_msg_fail(hm, 414,
				    "request target too long"));
			return (http_msg_fail(hm, 431,
			    "header block over %d bytes",
			    HTTP_MAX_HEADER_BYTES));
		}
		if (c == '\0')
			return (http_msg_fail(hm, 400, "NUL byte in header"));
		if (hm->hm_scan_prev == '\r' && c != '\n')
			return (http_msg_fail(hm, 400, "bare CR in header"));
		if (c == '\n') {
			if (hm->hm_scan_prev != '\r')
				return (http_msg_fail(hm, 400,
				    "bare LF line ending"));
			if (hm->hm_scan_line == 0 && !hm->hm_response &&
			    hm->hm_scan_col > 1 && !http_version_tail(hm))
				return (http_msg_fail(hm, 400, "request line "
				    "names a protocol other than HTTP"));
			if (hm->hm_scan_line == 0 && http_version_short(hm))
				return (http_msg_fail(hm, 400,
				    "invalid HTTP version"));
			if (hm->hm_scan_line == 0 && hm->hm_response &&
			    hm->hm_scan_col > 1 && !http_status_http(hm))
				return (http_msg_fail(hm, 400, "status line "
				    "names a protocol other than HTTP"));
			hm->hm_scan_prev = c;
			hm->hm_scan_colon = 0;
			hm->hm_scan_framing = 0;
			memset(hm->hm_scan_name, 0, sizeof hm->hm_scan_name);
			if (hm->hm_scan_col == 1 && hm->hm_scan_line > 0)
				hm->hm_scan_done = 1;
			else if (hm->hm_scan_col > 1 &&
			    hm->hm_scan_line++ == 0) {
				hm->hm_scan_col = 0;
				i++;
				break;
			}
			hm->hm_scan_col = 0;
			continue;
		}
		if (hm->hm_scan_line > 0 && c != '\r') {
			/* Counted here, not as the parser reports headers,
			 * so that no split of the bytes changes the answer. */
			if (hm->hm_scan_col == 0 &&
			    hm->hm_scan_line > HTTP_MAX_HEADERS)
				return (http_msg_fail(hm, 431,
				    "more than %d headers", HTTP_MAX_HEADERS));
			if (hm->hm_scan_col == 0 && (c == ' ' || c == '\t'))
				return (http_msg_fail(hm, 400,
				    "obsolete line folding (obs-fold)"));
			if (!hm->hm_scan_colon) {
				if (c == ':') {
					hm->hm_scan_colon = 1;
					hm->hm_scan_framing =
					    http_framing_name(hm);
				} else if (c == ' ' || c == '\t')
					return (http_msg_fail(hm, 400,
					    "whitespace in header name"));
				else if (hm->hm_scan_col <
				    sizeof hm->hm_scan_name - 1)
					hm->hm_scan_name[hm->hm_scan_col] = c;
			} else if (c == '\t' && hm->hm_scan_framing)
				return (http_msg_fail(hm, 400, "tab in the "
				    "value of %s", hm->hm_scan_name));
		} else if (hm->hm_scan_line == 0 && c != '\r' &&
		    !hm->hm_response) {
			/* Only a request line's tail is checked. */
			memmove(hm->hm_scan_tail, hm->hm_scan_tail + 1,
			    sizeof hm->hm_scan_tail - 1);
			hm->hm_scan_tail[sizeof hm->hm_scan_tail - 1] = c;
			http_scan_fields(hm, &c, 1);
		} else if (hm->hm_scan_line == 0 && c != '\r' &&
		    hm->hm_scan_col < sizeof hm->hm_scan_tail)
			hm->hm_scan_tail[hm->hm_scan_col] = c;
		hm->hm_scan_col++;
		hm->hm_scan_prev = c;
	}
	*used = i;
	return (0);
}

/*
 * Check the framing of a chunked request (RFC 9112, 7.1) ahead of the
 * parser.  *used is how many bytes are good: up to the end of the message,
 * or up to the faulty byte.  Returns 0, or -1 with the status and an
 * allocated message in *status and *why (the caller reports it once the
 * parser has seen the good bytes, so that a fault the parser finds in them
 * first, or a body over the limit, is the one reported whatever the
 * split).
 *
 * Trailers (RFC 9112, 7.1.2) are never forwarded, as nginx does not
 * forward them, but they are still a field section: each line must be
 * name ":" value CRLF with a token name, no whitespace before the colon,
 * no obs-fold and no control character in the value, within the limits
 * of a header block.  A malformed trailer section is refused like a
 * malformed header block (400, 431 over the limits), which is stricter
 * than nginx, which skips trailer lines unread.
 */
static int
http_chunk_scan(struct http_msg *hm, const unsigned char *p, size_t len,
    size_t *used, int *status, char **why)
{
	size_t		 i, n;
	unsigned char	 c;
	int		 hex;
	const char	*fault = NULL;

	*status = 400;
	for (i = 0; i < len && hm->hm_ck_state != CK_DONE; i++) {
		c = p[i];
		switch (hm->hm_ck_state) {
		case CK_DATA:
			n = len - i;
			if (n > hm->hm_ck_size)
				n = (size_t)hm->hm_ck_size;
			hm->hm_ck_size -= n;
			i += n - 1;
			if (hm->hm_ck_size == 0)
				hm->hm_ck_state = CK_DATA_CR;
			continue;
		case CK_DATA_CR:
		case CK_DATA_LF:
			if (c != (hm->hm_ck_state == CK_DATA_CR ? '\r' :
			    '\n')) {
				fault = "chunk data not followed by CRLF";
				goto fail;
			}
			if (hm->hm_ck_state == CK_DATA_CR)
				hm->hm_ck_state = CK_DATA_LF;
			else {
				hm->hm_ck_state = CK_SIZE0;
				hm->hm_ck_line = 0;
			}
			continue;
		case CK_TRAILER:
		case CK_TRAILER_NAME:
		case CK_TRAILER_VALUE:
		case CK_TRAILER_LF:
		case CK_END_LF:
			if (++hm->hm_ck_trailer_bytes > HTTP_MAX_HEADER_BYTES) {
				*status = 431;
				xasprintf(why, "trailer section over %d bytes",
				    HTTP_MAX_HEADER_BYTES);
				*used = i;
				return (-1);
			}
			break;
		default:
			if (++hm->hm_ck_line > HTTP_MAX_CHUNK_LINE) {
				xasprintf(why, "chunk size line over %d bytes",
				    HTTP_MAX_CHUNK_LINE);
				*used = i;
				return (-1);
			}
			break;
		}

		switch (hm->hm_ck_state) {
		case CK_SIZE0:
		case CK_SIZE:
			hex = isxdigit(c) ? (isdigit(c) ? c - '0' :
			    tolower(c) - 'a' + 10) : -1;
			if (hex >= 0) {
				/* Below where libhttp-parser overflows. */
				if (hm->hm_ck_size > (UINT64_MAX >> 8)) {
					fault = "chunk size too large";
					goto fail;
				}
				hm->hm_ck_size = hm->hm_ck_size * 16 +
				    (uint64_t)hex;
				hm->hm_ck_state = CK_SIZE;
			} else if (hm->hm_ck_state == CK_SIZE0) {
				fault = "chunk size is not a hex number";
				goto fail;
			} else if (c == '\r')
				hm->hm_ck_state = CK_SIZE_LF;
			else if (c == ';')
				hm->hm_ck_state = CK_EXT_NAME0;
			else if (c == ' ' || c == '\t')
				hm->hm_ck_state = CK_EXT_BWS;
			else if (c == '\n') {
				fault = "bare LF after a chunk size";
				goto fail;
			} else {
				fault = "chunk size is not a hex number";
				goto fail;
			}
			break;
		case CK_EXT_BWS:
		case CK_EXT_NAME0:
		case CK_EXT_AFTER_NAME:
		case CK_EXT_VALUE0:
			if (c == ' ' || c == '\t')
				break;
			if (hm->hm_ck_state == CK_EXT_NAME0 && http_tchar(c))
				hm->hm_ck_state = CK_EXT_NAME;
			else if (hm->hm_ck_state == CK_EXT_VALUE0 &&
			    http_tchar(c))
				hm->hm_ck_state = CK_EXT_TOKEN;
			else if (hm->hm_ck_state == CK_EXT_VALUE0 && c == '"')
				hm->hm_ck_state = CK_EXT_QUOTED;
			else if (hm->hm_ck_state == CK_EXT_AFTER_NAME &&
			    c == '=')
				hm->hm_ck_state = CK_EXT_VALUE0;
			else if ((hm->hm_ck_state == CK_EXT_BWS ||
			    hm->hm_ck_state == CK_EXT_AFTER_NAME) && c == ';')
				hm->hm_ck_state = CK_EXT_NAME0;
			else
				goto ext_fault;
			break;
		case CK_EXT_NAME:
		case CK_EXT_TOKEN:
		case CK_EXT_END:
			if (hm->hm_ck_state != CK_EXT_END && http_tchar(c))
				break;
			if (c == '\r')
				hm->hm_ck_state = CK_SIZE_LF;
			else if (c == ';')
				hm->hm_ck_state = CK_EXT_NAME0;
			else if ((c == ' ' || c == '\t') &&
			    hm->hm_ck_state == CK_EXT_NAME)
				hm->hm_ck_state = CK_EXT_AFTER_NAME;
			else if (c == ' ' || c == '\t')
				hm->hm_ck_state = CK_EXT_BWS;
			else if (hm->hm_ck_state == CK_EXT_NAME && c == '=')
				hm->hm_ck_state = CK_EXT_VALUE0;
			else
				goto ext_fault;
			break;
		case CK_EXT_QUOTED:
			if (c == '"')
				hm->hm_ck_state = CK_EXT_END;
			else if (c == '\\')
				hm->hm_ck_state = CK_EXT_QUOTED_PAIR;
			else if (c != '\t' && (c < 0x20 || c == 0x7f))
				goto ext_fault;
			break;
		case CK_EXT_QUOTED_PAIR:
			if (c != '\t' && (c < 0x20 || c == 0x7f))
				goto ext_fault;
			hm->hm_ck_state = CK_EXT_QUOTED;
			break;
		case CK_SIZE_LF:
			if (c != '\n') {
				fault = "bare CR in a chunk size line";
				goto fail;
			}
			if (hm->hm_ck_size == 0)
				hm->hm_ck_state = CK_TRAILER;
			else
				hm->hm_ck_state = CK_DATA;
			break;
		case CK_TRAILER:
			if (c == '\r') {
				hm->hm_ck_state = CK_END_LF;
				break;
			}
			if (c == ' ' || c == '\t') {
				fault = "obsolete line folding (obs-fold) in "
				    "trailer";
				goto fail;
			}
			if (!http_tchar(c)) {
				fault = c == '\n' ? "bare LF line ending in "
				    "trailer" : "invalid character in trailer "
				    "field name";
				goto fail;
			}
			if (++hm->hm_ck_trailers > HTTP_MAX_HEADERS) {
				*status = 431;
				xasprintf(why, "more than %d trailer fields",
				    HTTP_MAX_HEADERS);
				*used = i;
				return (-1);
			}
			hm->hm_ck_state = CK_TRAILER_NAME;
			break;
		case CK_TRAILER_NAME:
			if (c == ':')
				hm->hm_ck_state = CK_TRAILER_VALUE;
			else if (c == ' ' || c == '\t') {
				fault = "whitespace in trailer field name";
				goto fail;
			} else if (!http_tchar(c)) {
				fault = c == '\r' || c == '\n' ? "trailer line "
				    "without a colon" : "invalid character in "
				    "trailer field name";
				goto fail;
			}
			break;
		case CK_TRAILER_VALUE:
			if (c == '\r')
				hm->hm_ck_state = CK_TRAILER_LF;
			else if (c != '\t' && (c < 0x20 || c == 0x7f)) {
				fault = c == '\n' ? "bare LF line ending in "
				    "trailer" : "control character in a "
				    "trailer value";
				goto fail;
			}
			break;
		case CK_TRAILER_LF:
		case CK_END_LF:
			if (c != '\n') {
				fault = "bare CR in trailer";
				goto fail;
			}
			hm->hm_ck_state = hm->hm_ck_state == CK_END_LF ?
			    CK_DONE : CK_TRAILER;
			break;
		}
	}
	*used = i;
	return (0);

ext_fault:
	fault = c == '\n' ? "bare LF in a chunk extension" :
	    "malformed chunk extension";
fail:
	*why = xstrdup(fault);
	*used = i;
	return (-1);
}

/* Run the parser over bytes; how many it took, or -1 with the error set. */
static ssize_t
http_execute(struct http_msg *hm, const char *data, size_t len)
{
	http_parser	*p = hm->hm_parser;
	size_t		 n;

	if (len == 0)
		return (0);	/* to libhttp-parser, the end of the stream */
	n = http_parser_execute(p, &http_settings, data, len);
	if (hm->hm_error != NULL)
		return (-1);
	switch (HTTP_PARSER_ERRNO(p)) {
	case HPE_PAUSED:
		/* Paused by us at message complete. */
		http_parser_pause(p, 0);
		break;
	case HPE_OK:
		break;
	case HPE_UNEXPECTED_CONTENT_LENGTH:
		/* libhttp-parser sees these before our header callbacks. */
		return (http_msg_fail(hm, 400, "two Content-Length headers, "
		    "or Content-Length with Transfer-Encoding"));
	case HPE_INVALID_CONTENT_LENGTH:
		/* After the head, only a chunk size can overflow. */
		if (hm->hm_head_done)
			return (http_msg_fail(hm, 400, "chunk size too large"));
		return (http_msg_fail(hm, 400,
		    "Content-Length is not a number"));
	case HPE_HEADER_OVERFLOW:
		return (http_msg_fail(hm, 431, "header block too large"));
	default:
		return (http_msg_fail(hm, 400, "%s",
		    http_errno_description(HTTP_PARSER_ERRNO(p))));
	}
	return ((ssize_t)n);
}

/* Feed body bytes: through the chunk scanner first when it is on. */
static ssize_t
http_feed_body(struct http_msg *hm, const char *data, size_t len)
{
	ssize_t	 n;
	size_t	 used;
	int	 rv, status;
	char	*why = NULL;

	if (hm->hm_ck_state == CK_OFF)
		return (http_execute(hm, data, len));
	rv = http_chunk_scan(hm, (const unsigned char *)data, len, &used,
	    &status, &why);
	n = http_execute(hm, data, used);
	if (n >= 0 && rv != 0)
		n = http_msg_fail(hm, status, "%s", why);
	else if (n >= 0 && hm->hm_ck_state == CK_DONE && !hm->hm_complete)
		n = http_msg_fail(hm, 400, "chunked body not understood");
	free(why);
	return (n);
}

/*
 * Feed bytes.  Returns how many were consumed (the parser stops after a
 * complete message so that pipelined bytes stay with the caller), or -1
 * with hm_error set.
 *
 * The first line goes to the parser as it comes, so that garbage is
 * refused at once; a fault the scanner finds in it is reported only if
 * the parser finds none before it.  The header lines go to the parser
 * whole, in one piece, once the end of the block is seen: its checks (in
 * its callbacks) then meet the same bytes in the same order however the
 * block was split into reads, and no split turns one error into another
 * (the scanner's, found first, always win there).
 */
ssize_t
http_msg_feed(struct http_msg *hm, const char *data, size_t len)
{
	const char	*head;
	size_t		 off = 0, used = 0, hlen;
	ssize_t		 n;
	char		*error;
	int		 status;

	if (hm->hm_error != NULL)
		return (-1);
	if (hm->hm_complete)
		return (0);

	if (!hm->hm_scan_done && hm->hm_scan_line == 0) {
		if (http_scan(hm, (const unsigned char *)data, len,
		    &used) != 0) {
			error = hm->hm_error;
			status = hm->hm_error_status;
			hm->hm_error = NULL;
			if (http_execute(hm, data, used) < 0)
				free(error);
			else {
				free(hm->hm_error);
				hm->hm_error = error;
				hm->hm_error_status = status;
			}
			return (-1);
		}
		n = http_execute(hm, data, used);
		if (n < 0)
			return (-1);
		if ((size_t)n != used)
			return (http_msg_fail(hm, 400,
			    "first line not understood"));
		off = used;
		if (hm->hm_scan_line == 0 || off == len)
			return ((ssize_t)off);
	}

	if (!hm->hm_scan_done) {
		if (http_scan(hm, (const unsigned char *)data + off,
		    len - off, &used) != 0)
			return (-1);
		head = data + off;
		hlen = used;
		if (!hm->hm_scan_done || hm->hm_head.len != 0) {
			buf_add(&hm->hm_head, head, used);
			if (!hm->hm_scan_done)
				return ((ssize_t)(off + used));
			head = hm->hm_head.data;
			hlen = hm->hm_head.len;
		}
		n = http_execute(hm, head, hlen);
		buf_free(&hm->hm_head);
		if (n < 0)
			return (-1);
		if ((size_t)n != hlen)
			return (http_msg_fail(hm, 400,
			    "header block not understood"));
		off += used;
		if (hm->hm_complete || off == len)
			return ((ssize_t)off);
	}

	n = http_feed_body(hm, data + off, len - off);
	if (n < 0)
		return (-1);
	return ((ssize_t)(off + (size_t)n));
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

/*
 * Is this a Host value (RFC 9110, 7.2; RFC 3986, 3.2.2): uri-host, then
 * an optional ":" port?  A comma is refused although a reg-name may hold
 * one: two Host lines joined by a hop read as "a, b" (RFC 9110, 5.3).
 */
static int
http_host_valid(const char *s, size_t len)
{
	size_t	 i = 0, port;

	if (len == 0)
		return (0);
	if (s[0] == '[') {
		for (i = 1; i < len && s[i] != ']'; i++) {
			if (!isxdigit((unsigned char)s[i]) && s[i] != ':' &&
			    s[i] != '.')
				return (0);
		}
		if (i == len || i == 1)
			return (0);
		i++;
	} else {
		for (; i < len && s[i] != ':'; i++) {
			if (isalnum((unsigned char)s[i]) ||
			    strchr("-._~!$&'()*+;=", s[i]) != NULL)
				continue;
			if (s[i] == '%' && i + 2 < len &&
			    isxdigit((unsigned char)s[i + 1]) &&
			    isxdigit((unsigned char)s[i + 2])) {
				i += 2;
				continue;
			}
			return (0);
		}
		if (i == 0)
			return (0);
	}
	if (i == len)
		return (1);
	if (s[i] != ':')
		return (0);
	for (port = ++i; i < len; i++) {
		if (!isdigit((unsigned char)s[i]) || i - port >= 5)
			return (0);
	}
	return (1);
}

/*
 * A proxy's checks of a parsed request head, beyond framing: its target
 * and Host (RFC 9112, 3.2), answered as nginx answers them.
 *
 * - An HTTP/1.1 request has a Host, and a Host is a valid host[:port].
 * - The target is origin-form, "*" for OPTIONS only, or absolute-form
 *   (http or https, no userinfo): that one is sent on in origin-form and
 *   its authority becomes the Host whatever Host said (RFC 9112, 3.2.2).
 * - A header whose name has an underscore is dropped, as nginx drops it
 *   (underscores_in_headers off): a backend that reads "_" as "-" would
 *   otherwise take Transfer_Encoding or Content_Length for framing.
 *
 * Returns 0, or -1 with the error set.
 */
int
http_request_check(struct http_msg *hm)
{
	const http_parser	*p = hm->hm_parser;
	const char		*target, *auth, *host, *name;
	char			*authority = NULL, *path = NULL;
	struct headers		 hs;
	size_t			 alen, i;
	int			 rebuild = 0, have_host = 0;

	target = hm->hm_url.data != NULL ? hm->hm_url.data : "";
	/*
	 * A %00 in the path decodes to a NUL, which a backend may take for
	 * the end of the path (nginx refuses it too; the query is not
	 * decoded by a proxy, so it is left alone).
	 */
	alen = strcspn(target, "?#");
	for (i = 0; i + 2 < alen; i++) {
		if (target[i] == '%' && target[i + 1] == '0' &&
		    target[i + 2] == '0')
			return (http_msg_fail(hm, 400, "%%00 (a NUL) in the "
			    "request target's path"));
	}
	if (strcmp(target, "*") == 0) {
		if (p->method != HTTP_OPTIONS)
			return (http_msg_fail(hm, 400, "request target * "
			    "outside OPTIONS"));
	} else if (target[0] != '/') {
		if (strncasecmp(target, "http://", 7) == 0)
			auth = target + 7;
		else if (strncasecmp(target, "https://", 8) == 0)
			auth = target + 8;
		else
			return (http_msg_fail(hm, 400, "request target is "
			    "neither a path nor an http or https URI"));
		alen = strcspn(auth, "/?");
		if (!http_host_valid(auth, alen))
			return (http_msg_fail(hm, 400, "invalid authority in "
			    "the request target: %.*s", (int)alen, auth));
		authority = xstrndup(auth, alen);
		xasprintf(&path, "%s%s", auth[alen] == '/' ? "" : "/",
		    auth + alen);
		rebuild = 1;
	}

	host = headers_get(&hm->hm_headers, "Host");
	if (host == NULL && p->http_major == 1 && p->http_minor >= 1) {
		free(authority);
		free(path);
		return (http_msg_fail(hm, 400, "HTTP/1.1 request without "
		    "Host"));
	}
	if (host != NULL && !http_host_valid(host, strlen(host))) {
		free(authority);
		free(path);
		return (http_msg_fail(hm, 400, "invalid Host: %s", host));
	}

	for (i = 0; i < hm->hm_headers.n; i++) {
		if (strchr(hm->hm_headers.h[i].name, '_') != NULL)
			rebuild = 1;
	}
	if (!rebuild)
		return (0);

	memset(&hs, 0, sizeof hs);
	for (i = 0; i < hm->hm_headers.n; i++) {
		name = hm->hm_headers.h[i].name;
		if (strchr(name, '_') != NULL) {
			log_debug("request header %s dropped: underscore in "
			    "its name", name);
			continue;
		}
		if (authority != NULL && strcasecmp(name, "Host") == 0) {
			headers_add(&hs, name, strlen(name), authority,
			    strlen(authority));
			have_host = 1;
			continue;
		}
		headers_add(&hs, name, strlen(name), hm->hm_headers.h[i].value,
		    strlen(hm->hm_headers.h[i].value));
	}
	if (authority != NULL && !have_host)
		headers_add(&hs, "Host", 4, authority, strlen(authority));
	headers_free(&hm->hm_headers);
	hm->hm_headers = hs;
	if (path != NULL) {
		buf_reset(&hm->hm_url);
		buf_addstr(&hm->hm_url, path);
	}
	free(authority);
	free(path);
	return (0);
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

	/* A trailer (scanned, for requests): never a header. */
	if (hm->hm_head_done)
		return (0);
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

	if (hm->hm_head_done)
		return (0);
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
	/* RFC 9112, 6.1: an HTTP/1.0 message's framing is then faulty. */
	if (!hm->hm_response && hm->hm_chunked && p->http_minor == 0)
		return (http_msg_fail(hm, 400,
		    "Transfer-Encoding in an HTTP/1.0 request"));
	hm->hm_head_done = 1;
	hm->hm_scan_done = 1;
	if (!hm->hm_response && hm->hm_chunked)
		hm->hm_ck_state = CK_SIZE0;
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
