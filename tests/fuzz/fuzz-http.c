/*
 * The HTTP/1.x message parser (http.c) must not depend on how the bytes
 * were cut into reads: the same input fed in one piece, in pieces of
 * random sizes and one byte at a time gives the same messages (start
 * line, headers, body, keep-alive) and the same error (status and
 * message), as TCP may cut a stream anywhere.
 *
 * The input is a flags byte (1: responses rather than requests, 2: the
 * responses answer HEAD), four bytes that seed the random cuts, then the
 * stream.  After a complete message the parser is reset for the next
 * one, as the proxy and import do; at the end of the input comes the
 * peer's close (http_msg_eof).
 *
 * With FUZZ_HTTP_STATUS_ONLY=1 in the environment an error's message is
 * left out of the comparison, its status kept: to look past a known
 * difference of wording for the ones a client would see.
 */

#include <string.h>

#include "paritytap.h"
#include "fuzz.h"

/* Compare the errors' status only (FUZZ_HTTP_STATUS_ONLY). */
static int	 status_only;

/* One run: what the parser said, as text. */
struct run {
	struct buf	 out;
	int		 head;		/* responses answer HEAD */
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*s = getenv("FUZZ_HTTP_STATUS_ONLY");

	log_init("fuzz-http");
	log_quiet = 1;
	status_only = s != NULL && strcmp(s, "1") == 0;
	return (0);
}

static int
run_head(void *arg, struct http_msg *hm)
{
	struct run	*r = arg;
	size_t		 i;
	int		 major, minor;

	http_msg_version(hm, &major, &minor);
	if (hm->hm_response)
		buf_printf(&r->out, "head %d %d.%d\n", http_msg_status(hm),
		    major, minor);
	else
		buf_printf(&r->out, "head %s %.*s %d.%d\n", http_msg_method(hm),
		    (int)hm->hm_url.len, hm->hm_url.data, major, minor);
	for (i = 0; i < hm->hm_headers.n; i++)
		buf_printf(&r->out, "header %s: %s\n",
		    hm->hm_headers.h[i].name, hm->hm_headers.h[i].value);
	return (r->head ? 1 : 0);
}

static int
run_body(void *arg, const char *data, size_t len)
{
	struct run	*r = arg;

	/* Pieces of body as they come are joined: only the bytes count. */
	buf_add(&r->out, data, len);
	return (0);
}

static int
run_complete(void *arg, struct http_msg *hm)
{
	struct run	*r = arg;

	buf_printf(&r->out, "\ncomplete keepalive %d\n",
	    http_msg_keepalive(hm));
	return (0);
}

static const struct http_msg_cbs run_cbs = {
	.on_head = run_head,
	.on_body = run_body,
	.on_complete = run_complete,
};

/* Next of a small xorshift generator: the cuts are the input's. */
static uint32_t
run_random(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return (*s);
}

/*
 * Feed data to a parser in pieces: all in one when step is 0, one byte
 * at a time when it is 1, else of random sizes from 1 to step.
 */
static void
run_feed(struct run *r, int response, const char *data, size_t len,
    size_t step, uint32_t seed)
{
	struct http_msg	 hm;
	size_t		 off = 0, n, piece;
	ssize_t		 used;
	int		 failed = 0;

	buf_init(&r->out);
	http_msg_init(&hm, response, &run_cbs, r);
	while (off < len && !failed) {
		if (step == 0)
			piece = len - off;
		else if (step == 1)
			piece = 1;
		else
			piece = 1 + run_random(&seed) % step;
		if (piece > len - off)
			piece = len - off;
		/* Feed the piece, as a reader does with what a read gave. */
		n = 0;
		while (n < piece) {
			used = http_msg_feed(&hm, data + off + n, piece - n);
			if (used < 0) {
				buf_printf(&r->out, "error %d %s\n",
				    hm.hm_error_status, status_only ? "" :
				    hm.hm_error);
				failed = 1;
				break;
			}
			n += (size_t)used;
			if (hm.hm_complete)
				http_msg_reset(&hm);
			else if (used == 0)
				fuzz_fail("the parser took none of %zu bytes and "
				    "the message is not complete", piece - n);
		}
		off += n;
	}
	if (!failed) {
		if (http_msg_eof(&hm) == 0)
			buf_printf(&r->out, "eof complete\n");
		else
			buf_printf(&r->out, "eof error %d %s\n",
			    hm.hm_error_status, status_only ? "" : hm.hm_error);
	}
	http_msg_free(&hm);
}

/* Abort if two runs differ, showing where. */
static void
run_same(struct run *a, const char *what, struct run *b)
{
	size_t	 i;

	if (a->out.len == b->out.len &&
	    memcmp(a->out.data, b->out.data, a->out.len) == 0)
		return;
	for (i = 0; i < a->out.len && i < b->out.len; i++) {
		if (a->out.data[i] != b->out.data[i])
			break;
	}
	fprintf(stderr, "in one piece:\n%.*s\n%s:\n%.*s\n",
	    (int)a->out.len, a->out.data, what, (int)b->out.len, b->out.data);
	fuzz_fail("the outcome depends on the cuts (first apart at byte %zu)",
	    i);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run	 whole, cut, bytes;
	uint32_t	 seed;
	int		 response;

	if (size < 5)
		return (0);
	response = data[0] & 1;
	whole.head = cut.head = bytes.head = response && (data[0] & 2);
	memcpy(&seed, data + 1, 4);
	seed |= 1;	/* xorshift never leaves 0 */
	data += 5;
	size -= 5;

	run_feed(&whole, response, (const char *)data, size, 0, seed);
	run_feed(&cut, response, (const char *)data, size, 64, seed);
	run_same(&whole, "in random pieces", &cut);
	run_feed(&bytes, response, (const char *)data, size, 1, seed);
	run_same(&whole, "one byte at a time", &bytes);
	buf_free(&whole.out);
	buf_free(&cut.out);
	buf_free(&bytes.out);
	return (0);
}
