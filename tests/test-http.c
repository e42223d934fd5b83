/* Unit tests for the strict HTTP/1.x parser (src/http.c). */

#include <stdlib.h>
#include <string.h>

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

int
main(void)
{
	test_requests();
	test_pipelined();
	test_limits();
	test_responses();
	test_responses_relayed();
	return (done_testing());
}
