/*
 * Content-Encoding: a response body as it would be read, undoing gzip and
 * deflate (DESIGN §3), so that the compare stage and the reports look
 * at the representation, not at how it was framed.
 */

#include <sys/types.h>

#include <stdint.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "paritytap.h"

#define DECODE_LIMIT	(64 * 1024 * 1024)

/* Inflate with zlib's window bits into out; 0, or -1 with *why set. */
static int
decode_inflate(const char *in, size_t inlen, int window, int members,
    struct buf *out, size_t limit, const char **why)
{
	unsigned char	 chunk[16384];
	z_stream	 z;
	size_t		 have;
	int		 ret, rc = -1;

	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, window) != Z_OK)
		fatalx("%s: inflateInit2 failed", __func__);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)inlen;
	for (;;) {
		z.next_out = chunk;
		z.avail_out = sizeof chunk;
		ret = inflate(&z, Z_NO_FLUSH);
		have = sizeof chunk - z.avail_out;
		if (have > limit - out->len) {
			*why = "over";
			goto out;
		}
		buf_add(out, chunk, have);
		if (ret == Z_STREAM_END) {
			/* gzip allows several members back to back. */
			if (members && z.avail_in >= 2 &&
			    z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
				inflateReset(&z);
				continue;
			}
			break;
		}
		if (ret == Z_OK)
			continue;
		if (ret == Z_BUF_ERROR && z.avail_in == 0)
			*why = "truncated stream";
		else
			*why = z.msg != NULL ? z.msg : "corrupt stream";
		goto out;
	}
	rc = 0;
out:
	inflateEnd(&z);
	return (rc);
}

/*
 * Decode a side's body by its Content-Encoding (gzip, x-gzip, deflate,
 * identity; a list is undone last first) into out, at most limit bytes
 * (0: 64 MiB).  An empty body is empty whatever its coding.  Returns 0,
 * or -1 with an allocated cause.
 */
int
decode_body(const struct response_side *side, struct buf *out, size_t limit,
    char **cause)
{
	char		**codings = NULL, *list, *tok, *last;
	size_t		  ncodings = 0, i;
	struct buf	  cur, next;
	const char	 *why = NULL;
	int		  rc = -1;

	if (limit == 0)
		limit = DECODE_LIMIT;
	/*
	 * No body, no coding: a HEAD, 204 or 304 response names the coding
	 * its representation would have, and sends nothing to decode.
	 */
	if (side->body.len == 0 && side->body_bytes == 0)
		return (0);
	buf_init(&cur);
	buf_init(&next);
	for (i = 0; i < side->headers.n; i++) {
		if (tolower((unsigned char)side->headers.h[i].name[0]) !=
		    'c' || strcasecmp(side->headers.h[i].name,
		    "Content-Encoding") != 0)
			continue;
		list = xstrdup(side->headers.h[i].value);
		for (tok = strtok_r(list, ", \t", &last); tok != NULL;
		    tok = strtok_r(NULL, ", \t", &last)) {
			if (strcasecmp(tok, "gzip") != 0 &&
			    strcasecmp(tok, "x-gzip") != 0 &&
			    strcasecmp(tok, "deflate") != 0 &&
			    strcasecmp(tok, "identity") != 0) {
				xasprintf(cause, "unsupported Content-Encoding "
				    "\"%s\"", tok);
				free(list);
				goto out;
			}
			if (strcasecmp(tok, "identity") != 0)
				strlist_add(&codings, &ncodings, tok);
		}
		free(list);
	}
	if (ncodings == 0 && side->body.len > limit) {
		why = "over";
		goto fail;
	}
	buf_add(&cur, side->body.data, side->body.len);
	for (i = ncodings; i > 0; i--) {
		buf_reset(&next);
		if (strcasecmp(codings[i - 1], "deflate") != 0) {
			if (decode_inflate(cur.data, cur.len, 15 + 32, 1,
			    &next, limit, &why) != 0)
				goto fail;
		} else if (decode_inflate(cur.data, cur.len, 15, 0, &next,
		    limit, &why) != 0) {
			/* Many servers send raw deflate as "deflate". */
			if (strcmp(why, "over") == 0)
				goto fail;
			buf_reset(&next);
			if (decode_inflate(cur.data, cur.len, -15, 0, &next,
			    limit, &why) != 0)
				goto fail;
		}
		buf_reset(&cur);
		buf_add(&cur, next.data, next.len);
	}
	buf_add(out, cur.data, cur.len);
	rc = 0;
	goto out;

fail:
	if (strcmp(why, "over") == 0)
		xasprintf(cause, "decoded body over %zu bytes", limit);
	else
		xasprintf(cause, "cannot decode %s body: %s",
		    codings[i - 1], why);
out:
	strlist_free(&codings, &ncodings);
	buf_free(&cur);
	buf_free(&next);
	return (rc);
}
