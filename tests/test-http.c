/* Unit tests for the strict HTTP/1.x parser (src/http.c). */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "paritytap.h"
#include "tap.h"

struct collect {
	int		 heads;
	int		 completes;
	struct buf	 body;
	int		 no_body;	/* answer 1 from on_head */
};

/* Count heads. */
static int
collect_head(void *arg, struct http_msg *hm)
{
	struct collect	*c = arg;

	c->heads++;
	return (c->no_body ? 1 : 0);
}

/* Keep body bytes. */
static int
collect_body(void *arg, const char *data, size_t len)
{
	struct collect	*c = arg;

	buf_add(&c->body, data, len);
	return (0);
}

/* Count completions. */
static int
collect_complete(void *arg, struct http_msg *hm)
{
	struct collect	*c = arg;

	c->completes++;
	return (0);
}

static const struct http_msg_cbs collect_cbs = {
	collect_head, collect_body, collect_complete
};

/*
 * Feed a request in pieces of step bytes; returns bytes consumed by the
 * first message, or -1 on error.
 */
static ssize_t
feed(struct http_msg *hm, const char *data, size_t len, size_t step)
{
	size_t	 off = 0, n;
	ssize_t	 r;

	while (off < len && !hm->hm_complete) {
		n = len - off < step ? len - off : step;
		r = http_msg_feed(hm, data + off, n);
		if (r < 0)
			return (-1);
		off += (size_t)r;
		if ((size_t)r < n && !hm->hm_complete)
			return (-1);
	}
	return ((ssize_t)off);
}

static const struct {
	const char	*name;
	const char	*raw;
	size_t		 rawlen;	/* 0: strlen */
	int		 status;	/* 0: valid */
	const char	*error;		/* substring of the error */
	const char	*body;
} request_cases[] = {
	{ "simple GET", "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0, NULL,
	    "" },
	{ "POST with Content-Length",
	    "POST /v HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
	    0, 0, NULL, "hello" },
	{ "chunked body", "POST /v HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
	    0, 0, NULL, "abcde" },
	{ "Content-Length and Transfer-Encoding",
	    "POST /v HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, 400,
	    "Content-Length with Transfer-Encoding", NULL },
	{ "Transfer-Encoding before Content-Length",
	    "POST /v HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 5\r\n\r\n0\r\n\r\n", 0, 400,
	    "Content-Length with Transfer-Encoding", NULL },
	{ "two Content-Length", "POST /v HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 0, 400,
	    "two Content-Length", NULL },
	{ "non-numeric Content-Length", "POST /v HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 5x\r\n\r\nhello", 0, 400, "not a number", NULL },
	{ "space before colon", "POST /v HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 0, 400,
	    "whitespace in header name", NULL },
	{ "obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n", 0,
	    400, "obs-fold", NULL },
	{ "tab obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\t2\r\n\r\n",
	    0, 400, "obs-fold", NULL },
	{ "NUL in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n",
	    40, 400, "NUL", NULL },
	{ "bare LF", "GET / HTTP/1.1\nHost: x\n\n", 0, 400, "bare LF", NULL },
	{ "bare LF in one header", "GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n",
	    0, 400, "bare LF", NULL },
	{ "bare CR", "GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", 0, 400,
	    "bare CR", NULL },
	{ "gzip transfer coding", "POST / HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 0, 400,
	    "other than chunked", NULL },
	{ "two Transfer-Encoding", "POST / HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\n\r\n", 0, 400, "two Transfer-Encoding", NULL },
	{ "two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	    0, 400, "two Host", NULL },
	{ "HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 0,
	    505, "not supported", NULL },
	{ "garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
	    0, 400, "", NULL },
	/* Chunk framing, RFC 9112 7.1: what a lenient parser would take. */
	{ "bare CR after a chunk size", "POST /v HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\rhello\r\n0\r\n\r\n", 0,
	    400, "bare CR in a chunk size line", NULL },
	{ "bare LF after a chunk size", "POST /v HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", 0,
	    400, "bare LF after a chunk size", NULL },
	{ "chunk data not followed by CRLF", "POST /v HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", 0,
	    400, "chunk data not followed by CRLF", NULL },
	{ "chunk data followed by a bare LF", "POST /v HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n", 0,
	    400, "chunk data not followed by CRLF", NULL },
	{ "bare LF in a chunk extension", "POST /v HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5;a\nb\r\nhello\r\n0\r\n\r\n",
	    0, 400, "bare LF in a chunk extension", NULL },
	{ "control character in a chunk extension", "POST /v HTTP/1.1\r\n"
	    "Host: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"\x01\"\r\n"
	    "hello\r\n0\r\n\r\n", 0, 400, "malformed chunk extension", NULL },
	{ "whitespace after a chunk size", "POST /v HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", 0,
	    400, "malformed chunk extension", NULL },
	{ "chunk size not hex", "POST /v HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5g\r\nhello\r\n0\r\n\r\n", 0,
	    400, "chunk size is not a hex number", NULL },
	{ "empty chunk size", "POST /v HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n", 0,
	    400, "chunk size is not a hex number", NULL },
	{ "chunk size overflow", "POST /v HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nhello\r\n"
	    "0\r\n\r\n", 0, 400, "chunk size too large", NULL },
	{ "chunked in HTTP/1.0", "POST /v HTTP/1.0\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 0,
	    400, "Transfer-Encoding in an HTTP/1.0 request", NULL },
	{ "chunk extensions, leading zeros, upper-case hex",
	    "POST /v HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0005 ; a ; b = c;q=\"x \\\" y\"\r\nhello\r\n00A\r\n0123456789\r\n"
	    "0;last\r\n\r\n", 0, 0, NULL, "hello0123456789" },
	/* Trailers: checked like a header block, then dropped. */
	{ "trailers", "POST /v HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 1\r\n"
	    "X-Other:\t2 \r\n\r\n", 0, 0, NULL, "abc" },
	{ "whitespace before a trailer's colon", "POST /v HTTP/1.1\r\n"
	    "Host: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"
	    "X-A: 1\r\nTransfer-Encoding : chunked\r\n\r\n", 0, 400,
	    "whitespace in trailer field name", NULL },
	{ "control character in a trailer", "POST /v HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\nX-A: a\x01b\r\n\r\n", 0,
	    400, "control character in a trailer value", NULL },
	{ "NUL in a trailer", "POST /v HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\nX-A: a\0b\r\n\r\n", 79,
	    400, "control character in a trailer value", NULL },
	{ "obs-fold in a trailer", "POST /v HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\nX-A: a\r\n b\r\n\r\n", 0,
	    400, "obs-fold", NULL },
	{ "bare LF in a trailer", "POST /v HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\nX-A: a\nX-B: b\r\n\r\n",
	    0, 400, "bare LF line ending in trailer", NULL },
	{ "bare CR in a trailer", "POST /v HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\nX-A: a\rX-B: b\r\n\r\n",
	    0, 400, "bare CR in trailer", NULL },
	{ "trailer line without a colon", "POST /v HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\nX-A\r\n\r\n", 0, 400,
	    "trailer line without a colon", NULL },
	{ "last chunk ended by a bare CR", "POST /v HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\rGET", 0, 400,
	    "bare CR in trailer", NULL },
};

/* Every request case, fed whole and byte by byte. */
static void
test_requests(void)
{
	size_t		 i, len, step;
	struct http_msg	 hm;
	struct collect	 c;
	ssize_t		 r;

	for (i = 0; i < sizeof request_cases / sizeof request_cases[0]; i++) {
		len = request_cases[i].rawlen != 0 ? request_cases[i].rawlen :
		    strlen(request_cases[i].raw);
		for (step = 1; step <= len; step = step == 1 ? len : len + 1) {
			memset(&c, 0, sizeof c);
			http_msg_init(&hm, 0, &collect_cbs, &c);
			r = feed(&hm, request_cases[i].raw, len, step);
			if (request_cases[i].status == 0) {
				ok(r == (ssize_t)len && hm.hm_complete &&
				    c.completes == 1, "%s (step %zu): parsed",
				    request_cases[i].name, step);
				is_str(c.body.data ? c.body.data : "",
				    request_cases[i].body, "%s (step %zu): body",
				    request_cases[i].name, step);
			} else {
				ok(r == -1 && hm.hm_error != NULL,
				    "%s (step %zu): refused",
				    request_cases[i].name, step);
				is_int(hm.hm_error_status,
				    request_cases[i].status,
				    "%s (step %zu): status",
				    request_cases[i].name, step);
				ok(hm.hm_error != NULL && strstr(hm.hm_error,
				    request_cases[i].error) != NULL,
				    "%s (step %zu): error names the cause: %s",
				    request_cases[i].name, step,
				    hm.hm_error ? hm.hm_error : "(none)");
			}
			http_msg_free(&hm);
			buf_free(&c.body);
		}
	}
}

/* Two pipelined requests: the parser stops after the first. */
static void
test_pipelined(void)
{
	const char	*two = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
			    "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n";
	struct http_msg	 hm;
	struct collect	 c;
	ssize_t		 r;
	size_t		 first = strlen("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");

	memset(&c, 0, sizeof c);
	http_msg_init(&hm, 0, &collect_cbs, &c);
	r = http_msg_feed(&hm, two, strlen(two));
	is_int(r, (long long)first, "pipelined: first message consumed alone");
	is_str(hm.hm_url.data, "/1", "pipelined: first target");
	ok(http_msg_keepalive(&hm), "pipelined: keep-alive");
	http_msg_reset(&hm);
	r = http_msg_feed(&hm, two + first, strlen(two) - first);
	is_int(r, (long long)(strlen(two) - first), "pipelined: second consumed");
	is_str(hm.hm_url.data, "/2", "pipelined: second target");
	is_int(c.completes, 2, "pipelined: two completions");
	http_msg_free(&hm);
	buf_free(&c.body);
}

/*
 * Trailers of a chunked request never join its headers, and the message
 * ends where its framing says: the request after it stays with the caller.
 */
static void
test_trailers(void)
{
	const char	*req = "POST /v HTTP/1.1\r\nHost: x\r\n"
			    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
			    "0\r\nTransfer-Encoding: chunked\r\n"
			    "Content-Length: 10\r\nX-Sum: 1\r\n\r\n";
	const char	*next = "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n";
	struct http_msg	 hm;
	struct collect	 c;
	struct buf	 b;
	size_t		 i;
	ssize_t		 r;

	buf_init(&b);
	buf_addstr(&b, req);
	buf_addstr(&b, next);
	memset(&c, 0, sizeof c);
	http_msg_init(&hm, 0, &collect_cbs, &c);
	r = http_msg_feed(&hm, b.data, b.len);
	is_int(r, (long long)strlen(req), "trailers: the message ends after "
	    "its trailer section, the next request stays");
	ok(hm.hm_complete, "trailers: complete");
	is_int(hm.hm_headers.n, 2, "trailers: two headers, no trailer added");
	for (i = 0; i < hm.hm_headers.n; i++)
		ok(strcasecmp(hm.hm_headers.h[i].name, "Content-Length") != 0 &&
		    strcasecmp(hm.hm_headers.h[i].name, "X-Sum") != 0,
		    "trailers: header %zu is not a trailer (%s)", i,
		    hm.hm_headers.h[i].name);
	is_str(c.body.data, "abc", "trailers: body");
	http_msg_free(&hm);
	buf_free(&c.body);

	/* Over the limits of a header block: 431, as for headers. */
	buf_reset(&b);
	buf_addstr(&b, "POST /v HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n0\r\n");
	for (i = 0; i < HTTP_MAX_HEADERS + 1; i++)
		buf_printf(&b, "X-T%zu: v\r\n", i);
	buf_addstr(&b, "\r\n");
	memset(&c, 0, sizeof c);
	http_msg_init(&hm, 0, &collect_cbs, &c);
	ok(http_msg_feed(&hm, b.data, b.len) == -1,
	    "too many trailers refused");
	is_int(hm.hm_error_status, 431, "too many trailers: 431");
	is_str(hm.hm_error, "more than 100 trailer fields",
	    "too many trailers: the error says so");
	http_msg_free(&hm);

	buf_reset(&b);
	buf_addstr(&b, "POST /v HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n0\r\nX-Big: ");
	for (i = 0; i < HTTP_MAX_HEADER_BYTES; i++)
		buf_add(&b, "a", 1);
	buf_addstr(&b, "\r\n\r\n");
	http_msg_init(&hm, 0, &collect_cbs, &c);
	ok(http_msg_feed(&hm, b.data, b.len) == -1, "huge trailer refused");
	is_int(hm.hm_error_status, 431, "huge trailer: 431");
	is_str(hm.hm_error, "trailer section over 65536 bytes",
	    "huge trailer: the error says so");
	http_msg_free(&hm);
	buf_free(&b);
	buf_free(&c.body);
}

/* Parse input split in two at off (0: whole); describe the outcome. */
static void
split_outcome(const char *data, size_t len, size_t off, size_t step,
    struct buf *out)
{
	struct http_msg	 hm;
	struct collect	 c;
	size_t		 i;
	ssize_t		 r, r2;

	memset(&c, 0, sizeof c);
	http_msg_init(&hm, 0, &collect_cbs, &c);
	if (step != 0)
		r = feed(&hm, data, len, step);
	else if (off == 0)
		r = http_msg_feed(&hm, data, len);
	else {
		r = http_msg_feed(&hm, data, off);
		if (r == (ssize_t)off && !hm.hm_complete) {
			r2 = http_msg_feed(&hm, data + off, len - off);
			r = r2 < 0 ? -1 : r + r2;
		}
	}
	buf_reset(out);
	if (r < 0)
		buf_printf(out, "%d %s", hm.hm_error_status,
		    hm.hm_error != NULL ? hm.hm_error : "(none)");
	else {
		buf_printf(out, "used %zd complete %d body %zu headers",
		    r, hm.hm_complete, c.body.len);
		for (i = 0; i < hm.hm_headers.n; i++)
			buf_printf(out, " %s", hm.hm_headers.h[i].name);
	}
	http_msg_free(&hm);
	buf_free(&c.body);
}

/*
 * The same bytes get the same answer however TCP split them: fed whole,
 * in every split in two and byte by byte.  The inputs mix a limit (a
 * callback's check) with a fault the scanner or the parser finds at
 * another place.
 */
static void
test_splits(void)
{
	struct buf	 in, want, got;
	size_t		 i, k, bad;
	int		 n;
	const char	*tails[] = {
		"",				/* over the count alone */
		"Bad Name: x\r\n",		/* whitespace before colon */
		"X-A: 1\nX-B: 2\r\n",		/* bare LF */
		"X(: y\r\n",			/* parser: invalid token */
		"X-A: a\x01b\r\n",		/* parser: control char */
		"Content-Length: 1\r\nContent-Length: 2\r\n",
		"X-A: 1\r\n 2\r\n",		/* obs-fold */
	};
	const char	*others[] = {
		/* The parser's fault (in the method) before the scanner's. */
		"GeT\0 / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
		    "\r\n5\r\nhello\r\n3\r\nabcX\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
		    "\r\n5\r\nhello\r\n0\r\nX: 1\r\nX : 2\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
		    "Content-Length: 5\r\nX-A\x7f: 1\r\n\r\nhello",
	};
	size_t		 otherlen[] = { 28, 0, 0, 0 };

	buf_init(&in);
	buf_init(&want);
	buf_init(&got);
	for (n = 0; n < (int)(sizeof tails / sizeof tails[0]) +
	    (int)(sizeof others / sizeof others[0]) + 1; n++) {
		buf_reset(&in);
		if (n < (int)(sizeof tails / sizeof tails[0])) {
			buf_addstr(&in, "GET /many HTTP/1.1\r\nHost: x\r\n");
			for (i = 0; i < HTTP_MAX_HEADERS; i++)
				buf_printf(&in, "X-H-%zu: v\r\n", i);
			buf_addstr(&in, tails[n]);
			buf_addstr(&in, "\r\n");
		} else if (n < (int)(sizeof tails / sizeof tails[0]) +
		    (int)(sizeof others / sizeof others[0])) {
			k = (size_t)n - sizeof tails / sizeof tails[0];
			buf_add(&in, others[k], otherlen[k] != 0 ? otherlen[k] :
			    strlen(others[k]));
		} else {
			/* Over the byte limit, then a bad header name. */
			buf_addstr(&in, "GET /big HTTP/1.1\r\nX-Big: ");
			for (i = 0; i < HTTP_MAX_HEADER_BYTES - 100; i++)
				buf_add(&in, "a", 1);
			buf_addstr(&in, "\r\nX-A: 1\r\nX(: ");
			for (i = 0; i < 200; i++)
				buf_add(&in, "b", 1);
			buf_addstr(&in, "\r\n\r\n");
		}
		split_outcome(in.data, in.len, 0, 0, &want);
		bad = 0;
		for (k = 1; k < in.len; k++) {
			/* Every split of small inputs; of the big one, those
			 * near the limit and a spread of the others. */
			if (in.len > 4096 && k % 509 != 0 &&
			    (k + 300 < HTTP_MAX_HEADER_BYTES ||
			    k > HTTP_MAX_HEADER_BYTES + 300))
				continue;
			split_outcome(in.data, in.len, k, 0, &got);
			if (strcmp(got.data, want.data) != 0 && bad++ == 0)
				printf("# split at %zu: %s\n", k, got.data);
		}
		ok(bad == 0, "split input %d: every split in two answers %s", n,
		    want.data);
		split_outcome(in.data, in.len, 0, 1, &got);
		is_str(got.data, want.data, "split input %d: byte by byte too",
		    n);
	}
	buf_free(&in);
	buf_free(&want);
	buf_free(&got);
}

/* Run the proxy's request checks from on_head. */
static int
check_head(void *arg, struct http_msg *hm)
{
	return (http_request_check(hm) != 0 ? -1 : 0);
}

static const struct http_msg_cbs check_cbs = {
	check_head, collect_body, collect_complete
};

static const struct {
	const char	*name;
	const char	*raw;
	int		 status;	/* 0: accepted */
	const char	*want;		/* the error, or target and headers */
} check_cases[] = {
	{ "origin-form with Host", "GET /a?b HTTP/1.1\r\nHost: x.example\r\n"
	    "\r\n", 0, "/a?b | Host: x.example" },
	{ "HTTP/1.1 without Host", "GET /a HTTP/1.1\r\nX-A: 1\r\n\r\n", 400,
	    "HTTP/1.1 request without Host" },
	{ "HTTP/1.0 without Host", "GET /a HTTP/1.0\r\n\r\n", 0, "/a |" },
	{ "Host: a, b", "GET /a HTTP/1.1\r\nHost: a, b\r\n\r\n", 400,
	    "invalid Host: a, b" },
	{ "Host: a,b", "GET /a HTTP/1.1\r\nHost: a,b\r\n\r\n", 400,
	    "invalid Host: a,b" },
	{ "empty Host", "GET /a HTTP/1.1\r\nHost: \r\n\r\n", 400,
	    "invalid Host: " },
	{ "Host with userinfo", "GET /a HTTP/1.1\r\nHost: u@x\r\n\r\n", 400,
	    "invalid Host: u@x" },
	{ "Host with a path", "GET /a HTTP/1.1\r\nHost: x/y\r\n\r\n", 400,
	    "invalid Host: x/y" },
	{ "Host with a bad port", "GET /a HTTP/1.1\r\nHost: x:8a\r\n\r\n",
	    400, "invalid Host: x:8a" },
	{ "Host IPv6 and port", "GET /a HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
	    0, "/a | Host: [::1]:8080" },
	{ "Host pct-encoded", "GET /a HTTP/1.1\r\nHost: a%2Db.example:\r\n"
	    "\r\n", 0, "/a | Host: a%2Db.example:" },
	{ "absolute-form beside another Host", "GET http://x.example/p?q=1 "
	    "HTTP/1.1\r\nHost: other.example\r\nX-A: 1\r\n\r\n", 0,
	    "/p?q=1 | Host: x.example | X-A: 1" },
	{ "absolute-form, upper case, port, no path",
	    "GET HTTPS://X.example:8443 HTTP/1.1\r\nHost: o\r\n\r\n", 0,
	    "/ | Host: X.example:8443" },
	{ "absolute-form, query without path",
	    "GET http://x.example?q HTTP/1.1\r\nHost: o\r\n\r\n", 0,
	    "/?q | Host: x.example" },
	{ "absolute-form in HTTP/1.0 without Host",
	    "GET http://x.example/p HTTP/1.0\r\n\r\n", 0,
	    "/p | Host: x.example" },
	{ "absolute-form in HTTP/1.1 without Host",
	    "GET http://x.example/p HTTP/1.1\r\n\r\n", 400,
	    "HTTP/1.1 request without Host" },
	{ "absolute-form with an invalid Host", "GET http://x.example/p "
	    "HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "invalid Host: a b" },
	{ "absolute-form with userinfo", "GET http://u:p@x.example/p "
	    "HTTP/1.1\r\nHost: o\r\n\r\n", 400,
	    "invalid authority in the request target: u:p@x.example" },
	{ "absolute-form without a host", "GET http:///p HTTP/1.1\r\n"
	    "Host: o\r\n\r\n", 400,
	    "invalid authority in the request target: " },
	{ "absolute-form, another scheme", "GET ftp://x.example/p HTTP/1.1\r\n"
	    "Host: o\r\n\r\n", 400, "neither a path nor an http or https URI" },
	{ "GET *", "GET * HTTP/1.1\r\nHost: o\r\n\r\n", 400,
	    "request target * outside OPTIONS" },
	{ "OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: o\r\n\r\n", 0,
	    "* | Host: o" },
	{ "underscores dropped", "POST /a HTTP/1.1\r\nHost: o\r\n"
	    "Transfer_Encoding: chunked\r\nContent_Length: 5\r\nX_Y: z\r\n"
	    "X-Y: kept\r\nHost_: h\r\n\r\n", 0, "/a | Host: o | X-Y: kept" },
};

/* Target and Host rules, and the headers dropped. */
static void
test_request_checks(void)
{
	struct http_msg	 hm;
	struct collect	 c;
	struct buf	 got;
	size_t		 i, j;
	ssize_t		 r;

	buf_init(&got);
	for (i = 0; i < sizeof check_cases / sizeof check_cases[0]; i++) {
		memset(&c, 0, sizeof c);
		http_msg_init(&hm, 0, &check_cbs, &c);
		r = http_msg_feed(&hm, check_cases[i].raw,
		    strlen(check_cases[i].raw));
		buf_reset(&got);
		if (check_cases[i].status != 0) {
			ok(r == -1, "%s: refused", check_cases[i].name);
			is_int(hm.hm_error_status, check_cases[i].status,
			    "%s: status", check_cases[i].name);
			ok(hm.hm_error != NULL && strstr(hm.hm_error,
			    check_cases[i].want) != NULL, "%s: error: %s",
			    check_cases[i].name,
			    hm.hm_error ? hm.hm_error : "(none)");
		} else {
			ok(r == (ssize_t)strlen(check_cases[i].raw) &&
			    hm.hm_complete, "%s: accepted",
			    check_cases[i].name);
			buf_addstr(&got, hm.hm_url.data);
			buf_addstr(&got, " |");
			for (j = 0; j < hm.hm_headers.n; j++)
				buf_printf(&got, "%s %s: %s", j ? " |" : "",
				    hm.hm_headers.h[j].name,
				    hm.hm_headers.h[j].value);
			is_str(got.data, check_cases[i].want,
			    "%s: target and headers", check_cases[i].name);
		}
		http_msg_free(&hm);
		buf_free(&c.body);
	}
	buf_free(&got);
}

/* Header limits: count and bytes. */
static void
test_limits(void)
{
	struct http_msg	 hm;
	struct collect	 c;
	struct buf	 b;
	int		 i;

	buf_init(&b);
	buf_addstr(&b, "GET / HTTP/1.1\r\n");
	for (i = 0; i < HTTP_MAX_HEADERS + 1; i++)
		buf_printf(&b, "X-H%d: v\r\n", i);
	buf_addstr(&b, "\r\n");
	memset(&c, 0, sizeof c);
	http_msg_init(&hm, 0, &collect_cbs, &c);
	ok(http_msg_feed(&hm, b.data, b.len) == -1, "too many headers refused");
	is_int(hm.hm_error_status, 431, "too many headers: 431");
	http_msg_free(&hm);

	buf_reset(&b);
	buf_addstr(&b, "GET / HTTP/1.1\r\nX-Big: ");
	for (i = 0; i < HTTP_MAX_HEADER_BYTES; i++)
		buf_add(&b, "a", 1);
	buf_addstr(&b, "\r\n\r\n");
	http_msg_init(&hm, 0, &collect_cbs, &c);
	ok(http_msg_feed(&hm, b.data, b.len) == -1, "huge header refused");
	is_int(hm.hm_error_status, 431, "huge header: 431");
	http_msg_free(&hm);
	buf_free(&b);
	buf_free(&c.body);
}

/* Responses: chunked, close-delimited, HEAD, headers kept in order. */
static void
test_responses(void)
{
	const char	*chunked = "HTTP/1.1 200 OK\r\nContent-Type: text/plain"
			    "\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a\r\n"
			    "Set-Cookie: b\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
	const char	*until_close = "HTTP/1.0 200 OK\r\n\r\nall of it";
	const char	*head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
	struct http_msg	 hm;
	struct collect	 c;

	memset(&c, 0, sizeof c);
	http_msg_init(&hm, 1, &collect_cbs, &c);
	ok(http_msg_feed(&hm, chunked, strlen(chunked)) ==
	    (ssize_t)strlen(chunked) && hm.hm_complete,
	    "chunked response parsed");
	is_int(http_msg_status(&hm), 200, "chunked response: status");
	is_str(c.body.data, "hello", "chunked response: body dechunked");
	is_int(hm.hm_headers.n, 4, "chunked response: four headers");
	is_str(hm.hm_headers.h[3].value, "b",
	    "chunked response: duplicate header kept in order");
	http_msg_free(&hm);
	buf_free(&c.body);

	memset(&c, 0, sizeof c);
	http_msg_init(&hm, 1, &collect_cbs, &c);
	ok(http_msg_feed(&hm, until_close, strlen(until_close)) ==
	    (ssize_t)strlen(until_close) && !hm.hm_complete,
	    "read-until-close response waits for EOF");
	is_int(http_msg_eof(&hm), 0, "EOF completes it");
	is_str(c.body.data, "all of it", "read-until-close body");
	http_msg_free(&hm);
	buf_free(&c.body);

	memset(&c, 0, sizeof c);
	c.no_body = 1;
	http_msg_init(&hm, 1, &collect_cbs, &c);
	ok(http_msg_feed(&hm, head, strlen(head)) == (ssize_t)strlen(head) &&
	    hm.hm_complete, "response to HEAD has no body");
	http_msg_free(&hm);
	buf_free(&c.body);

	/* 1xx, 204, 304: no body whatever the Content-Length, the owner
	 * not asked. */
	{
		const char	*nobody[] = {
			"HTTP/1.1 304 Not Modified\r\nContent-Length: 17\r\n\r\n",
			"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n",
			"HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\n",
		};
		size_t		 i;

		for (i = 0; i < sizeof nobody / sizeof nobody[0]; i++) {
			memset(&c, 0, sizeof c);
			http_msg_init(&hm, 1, &collect_cbs, &c);
			ok(http_msg_feed(&hm, nobody[i], strlen(nobody[i])) ==
			    (ssize_t)strlen(nobody[i]) && hm.hm_complete &&
			    c.body.len == 0, "%.12s with a Content-Length: "
			    "complete, no body", nobody[i]);
			http_msg_free(&hm);
			buf_free(&c.body);
		}
	}

	memset(&c, 0, sizeof c);
	http_msg_init(&hm, 1, &collect_cbs, &c);
	ok(http_msg_feed(&hm, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
	    "abc", 42) > 0 && !hm.hm_complete, "short body pending");
	ok(http_msg_eof(&hm) == -1 && hm.hm_error != NULL,
	    "EOF inside a Content-Length body is an error");
	http_msg_free(&hm);
	buf_free(&c.body);
}

/*
 * Responses as a relay sees them: where each ends on a kept-alive
 * connection, whatever its Connection header lists or its status says.
 */
static void
test_responses_relayed(void)
{
	const char	*listed = "HTTP/1.1 200 OK\r\nConnection: close, "
			    "Content-Length\r\nContent-Length: 5\r\n\r\nhello"
			    "HTTP/1.1 200 OK\r\n";
	const char	*hints = "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; "
			    "rel=preload\r\n\r\nHTTP/1.1 200 OK\r\n"
			    "Content-Length: 2\r\n\r\nok";
	const char	*nocontent = "HTTP/1.1 204 No Content\r\n"
			    "Content-Length: 5\r\n\r\nhello";
	const char	*odd[] = {
		"HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n",
	};
	const int	 oddstatus[] = { 99, 600 };
	struct http_msg	 hm;
	struct collect	 c;
	ssize_t		 n;
	size_t		 i;

	memset(&c, 0, sizeof c);
	http_msg_init(&hm, 1, &collect_cbs, &c);
	n = http_msg_feed(&hm, listed, strlen(listed));
	is_int((int)n, (int)(strlen(listed) - strlen("HTTP/1.1 200 OK\r\n")),
	    "Connection lists Content-Length: the message still ends after "
	    "its 5 bytes");
	ok(hm.hm_complete && hm.hm_has_length && hm.hm_length == 5,
	    "Connection lists Content-Length: the length is known");
	is_str(c.body.data, "hello", "Connection lists Content-Length: body");
	http_msg_free(&hm);
	buf_free(&c.body);

	memset(&c, 0, sizeof c);
	http_msg_init(&hm, 1, &collect_cbs, &c);
	n = http_msg_feed(&hm, hints, strlen(hints));
	ok(n > 0 && hm.hm_complete && http_msg_status(&hm) == 103 &&
	    c.body.len == 0, "103 Early Hints: a message of its own, no body");
	http_msg_reset(&hm);
	ok(http_msg_feed(&hm, hints + n, strlen(hints) - (size_t)n) ==
	    (ssize_t)(strlen(hints) - (size_t)n) && hm.hm_complete &&
	    http_msg_status(&hm) == 200, "103 Early Hints: the final "
	    "response follows");
	is_str(c.body.data, "ok", "103 Early Hints: the final response's body");
	is_int(c.heads, 2, "103 Early Hints: two heads");
	http_msg_free(&hm);
	buf_free(&c.body);

	memset(&c, 0, sizeof c);
	http_msg_init(&hm, 1, &collect_cbs, &c);
	n = http_msg_feed(&hm, nocontent, strlen(nocontent));
	ok(hm.hm_complete && n == (ssize_t)(strlen(nocontent) - 5) &&
	    c.body.len == 0, "204 with Content-Length: 5: complete after the "
	    "head, the 5 bytes left over");
	http_msg_free(&hm);
	buf_free(&c.body);

	/* The parser takes any three digits: the relay checks the range. */
	for (i = 0; i < sizeof odd / sizeof odd[0]; i++) {
		memset(&c, 0, sizeof c);
		http_msg_init(&hm, 1, &collect_cbs, &c);
		ok(http_msg_feed(&hm, odd[i], strlen(odd[i])) ==
		    (ssize_t)strlen(odd[i]) && c.heads == 1 &&
		    http_msg_status(&hm) == oddstatus[i],
		    "status %d reaches the owner's on_head", oddstatus[i]);
		http_msg_free(&hm);
		buf_free(&c.body);
	}
}

/*
 * The scanner takes runs of plain bytes at once (the first line, header
 * names, values): the faults and the names it keeps must be those of a
 * byte-at-a-time look, wherever a read cuts the run.  Each input is fed
 * whole, byte by byte and cut in two at every offset.
 */
static void
test_scan_runs(void)
{
	static const struct {
		const char	*name;
		const char	*raw;
		size_t		 rawlen;	/* 0: strlen */
		const char	*want;		/* split_outcome's text */
	} cases[] = {
		{ "tab before a Content-Length value",
		    "GET / HTTP/1.1\r\nHost: x\r\nContent-Length:\t5\r\n\r\n"
		    "hello", 0,
		    "400 tab in the value of Content-Length" },
		{ "tab after a Transfer-Encoding value",
		    "GET / HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\t"
		    "\r\n\r\n0\r\n\r\n", 0,
		    "400 tab in the value of transfer-encoding" },
		{ "a longer name that starts as Content-Length",
		    "GET / HTTP/1.1\r\nHost: x\r\nContent-Length-And-More:\t1"
		    "\r\n\r\n", 0,
		    "used 55 complete 1 body 0 headers Host "
		    "Content-Length-And-More" },
		{ "a 17-byte name that is not Transfer-Encoding",
		    "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encodinx: \tchunked"
		    "\r\n\r\n", 0,
		    "used 56 complete 1 body 0 headers Host Transfer-Encodinx" },
		{ "whitespace inside a long name",
		    "GET / HTTP/1.1\r\nHost: x\r\nX-Some-Long-Header-Name "
		    "Tail: 1\r\n\r\n", 0,
		    "400 whitespace in header name" },
		{ "NUL inside a name",
		    "GET / HTTP/1.1\r\nHost: x\r\nX-Ab\0cd: 1\r\n\r\n", 43,
		    "400 NUL byte in header" },
		{ "bare CR inside a name",
		    "GET / HTTP/1.1\r\nHost: x\r\nX-Ab\rcd: 1\r\n\r\n", 0,
		    "400 bare CR in header" },
		{ "bare LF ends a name",
		    "GET / HTTP/1.1\r\nHost: x\r\nX-Abcd\nX: 1\r\n\r\n", 0,
		    "400 bare LF line ending" },
		{ "a long request line",
		    "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: x\r\n\r\n",
		    0, "used 113 complete 1 body 0 headers Host" },
		{ "a request line in another protocol",
		    "SOURCE /music/sweet/music ICE/1.0\r\nHost: x\r\n\r\n", 0,
		    "400 request line names a protocol other than HTTP" },
		{ "bare CR in the request line",
		    "GET /a\rb HTTP/1.1\r\nHost: x\r\n\r\n", 0, NULL },
	};
	struct buf	 want, got;
	size_t		 i, k, len, bad;

	buf_init(&want);
	buf_init(&got);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		len = cases[i].rawlen != 0 ? cases[i].rawlen :
		    strlen(cases[i].raw);
		split_outcome(cases[i].raw, len, 0, 0, &want);
		if (cases[i].want != NULL)
			is_str(want.data, cases[i].want, "scan runs: %s",
			    cases[i].name);
		else
			ok(want.data[0] == '4', "scan runs: %s: refused (%s)",
			    cases[i].name, want.data);
		split_outcome(cases[i].raw, len, 0, 1, &got);
		is_str(got.data, want.data, "scan runs: %s: byte by byte",
		    cases[i].name);
		for (k = 1, bad = 0; k < len; k++) {
			split_outcome(cases[i].raw, len, k, 0, &got);
			if (strcmp(got.data, want.data) != 0) {
				printf("# split at %zu: %s\n", k, got.data);
				bad++;
			}
		}
		ok(bad == 0, "scan runs: %s: every split in two", cases[i].name);
	}
	buf_free(&want);
	buf_free(&got);
}

int
main(void)
{
	test_requests();
	test_pipelined();
	test_limits();
	test_trailers();
	test_splits();
	test_scan_runs();
	test_request_checks();
	test_responses();
	test_responses_relayed();
	return (done_testing());
}
