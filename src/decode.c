/*
 * Content-Encoding: a response body as it would be read, undoing gzip and
 * deflate (DESIGN §3), so that the compare stage, the reports and the
 * capture lines look at the representation, not at how it was framed.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "paritytap.h"

#define DECODE_LIMIT	(64 * 1024 * 1024)

static int	decode_gzip_over(const char *, const char *, size_t, size_t);

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
 * Add the codings of a side's Content-Encoding headers to *codings, in
 * the order they were applied (identity left out); return 0, or -1 with
 * an allocated cause naming one this file cannot undo.
 */
static int
decode_codings(const struct response_side *side, char ***codings,
    size_t *ncodings, char **cause)
{
	char	*list, *tok, *last;
	size_t	 i;

	for (i = 0; i < side->headers.n; i++) {
		if (!header_name_is(side->headers.h[i].name,
		    "Content-Encoding"))
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
				return (-1);
			}
			if (strcasecmp(tok, "identity") != 0)
				strlist_add(codings, ncodings, tok);
		}
		free(list);
	}
	return (0);
}

/*
 * Undo codings (the last applied first) on in into out, at most limit
 * bytes; return 0, or -1 with *why ("over" when past limit) and *failed
 * the coding that did not decode.  Each step's result is handed on, not
 * copied: a body that inflates to limit is held about once, not thrice.
 */
static int
decode_undo(char **codings, size_t ncodings, const char *in, size_t inlen,
    struct buf *out, size_t limit, const char **why, const char **failed)
{
	struct buf	 cur, next, swap;
	const char	*src = in;
	size_t		 i, srclen = inlen;
	int		 rc = -1;

	buf_init(&cur);
	buf_init(&next);
	if (ncodings == 0) {
		if (inlen > limit) {
			*why = "over";
			return (-1);
		}
		buf_add(out, in, inlen);
		return (0);
	}
	for (i = ncodings; i > 0; i--) {
		*failed = codings[i - 1];
		buf_reset(&next);
		if (strcasecmp(codings[i - 1], "deflate") != 0) {
			if (decode_inflate(src, srclen, 15 + 32, 1, &next,
			    limit, why) != 0)
				goto out;
		} else if (decode_inflate(src, srclen, 15, 0, &next, limit,
		    why) != 0) {
			/* Many servers send raw deflate as "deflate". */
			if (strcmp(*why, "over") == 0)
				goto out;
			buf_reset(&next);
			if (decode_inflate(src, srclen, -15, 0, &next, limit,
			    why) != 0)
				goto out;
		}
		swap = cur;
		cur = next;
		next = swap;
		src = cur.data;
		srclen = cur.len;
	}
	if (out->len == 0) {
		swap = *out;
		*out = cur;
		cur = swap;
	} else
		buf_add(out, cur.data, cur.len);
	rc = 0;
out:
	buf_free(&cur);
	buf_free(&next);
	return (rc);
}

/*
 * Decode a side's body by its Content-Encoding (gzip, x-gzip, deflate,
 * identity; a list is undone last first) into out, at most limit bytes
 * (0: 64 MiB; every command passes its --max-body).  An empty body is
 * empty whatever its coding, and a body read back from a capture that
 * stored it decoded is taken as it is.  Returns 0; DECODE_OVER with an
 * allocated cause when the body decodes past limit (it is not inflated
 * further: a small "bomb" costs limit bytes, not what it expands to);
 * or -1 with an allocated cause when it does not decode.
 */
int
decode_body(const struct response_side *side, struct buf *out, size_t limit,
    char **cause)
{
	char		**codings = NULL;
	size_t		  ncodings = 0;
	const char	 *why = NULL, *failed = NULL;
	int		  rc = -1;

	if (limit == 0)
		limit = DECODE_LIMIT;
	/*
	 * No body, no coding: a HEAD, 204 or 304 response names the coding
	 * its representation would have, and sends nothing to decode.
	 */
	if (side->body.len == 0 && side->body_bytes == 0)
		return (0);
	if (side->body_decoded == NULL &&
	    decode_codings(side, &codings, &ncodings, cause) != 0)
		goto out;
	/* Its trailer may say so already, without inflating anything. */
	if (ncodings == 1 && decode_gzip_over(codings[0], side->body.data,
	    side->body.len, limit)) {
		xasprintf(cause, "decoded body over %zu bytes", limit);
		rc = DECODE_OVER;
		goto out;
	}
	if (decode_undo(codings, ncodings, side->body.data, side->body.len,
	    out, limit, &why, &failed) != 0) {
		if (strcmp(why, "over") == 0) {
			xasprintf(cause, "decoded body over %zu bytes", limit);
			rc = DECODE_OVER;
		} else
			xasprintf(cause, "cannot decode %s body: %s", failed,
			    why);
		goto out;
	}
	rc = 0;
out:
	strlist_free(&codings, &ncodings);
	return (rc);
}

/*
 * Return 1 if a gzip body says in its trailer that it decodes to more
 * than limit bytes.  The trailer holds the last member's size modulo
 * 2^32, which the whole is at least: no need to inflate up to limit to
 * learn that a large body will not be kept decoded.
 */
static int
decode_gzip_over(const char *coding, const char *data, size_t len,
    size_t limit)
{
	const unsigned char	*p = (const unsigned char *)data;
	uint32_t		 isize;

	if (strcasecmp(coding, "deflate") == 0 || len < 18 || p[0] != 0x1f ||
	    p[1] != 0x8b)
		return (0);
	p += len - 4;
	isize = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
	return (isize > limit);
}

/*
 * Decode a side's body for a capture line (§3), which keeps it decoded
 * only when all of it fits in limit bytes: a small gzip that would
 * expand past it stops being inflated there.  Return 1 with out holding
 * the decoded bytes and *name the codings undone as applied ("gzip",
 * "deflate, gzip"); 0 when there is nothing to keep decoded (no coding
 * or one not known here, no body, a body not whole, over limit); -1 with
 * an allocated cause when the body does not decode.
 */
int
decode_for_capture(const struct response_side *side, size_t limit,
    struct buf *out, char **name, char **cause)
{
	char		**codings = NULL, *tmp;
	size_t		  ncodings = 0, i;
	const char	 *why = NULL, *failed = NULL, *c;
	struct buf	  names;
	int		  rc = 0;

	if (side->body.len == 0 || side->truncated || side->error != NULL ||
	    side->body_decoded != NULL)
		return (0);
	if (decode_codings(side, &codings, &ncodings, &tmp) != 0) {
		free(tmp);
		return (0);
	}
	if (ncodings == 0)
		goto out;
	if (ncodings == 1 && decode_gzip_over(codings[0], side->body.data,
	    side->body.len, limit))
		goto out;
	if (decode_undo(codings, ncodings, side->body.data, side->body.len,
	    out, limit, &why, &failed) != 0) {
		if (strcmp(why, "over") != 0) {
			xasprintf(cause, "cannot decode %s body: %s", failed,
			    why);
			rc = -1;
		}
		buf_reset(out);
		goto out;
	}
	buf_init(&names);
	for (i = 0; i < ncodings; i++) {
		c = strcasecmp(codings[i], "deflate") == 0 ? "deflate" : "gzip";
		if (i != 0)
			buf_addstr(&names, ", ");
		buf_addstr(&names, c);
	}
	*name = buf_detach(&names);
	rc = 1;
out:
	strlist_free(&codings, &ncodings);
	return (rc);
}

/*
 * Encode data by codings as decode_for_capture names them ("gzip",
 * "deflate, gzip": applied in that order) into out, so that a body a
 * capture keeps decoded can be framed again under its Content-Encoding.
 * The bytes are not those received, only their equivalent.
 */
void
decode_encode(const char *codings, const char *data, size_t len,
    struct buf *out)
{
	unsigned char	 chunk[16384];
	z_stream	 z;
	struct buf	 cur;
	char		*list, *tok, *last;
	int		 ret;

	buf_init(&cur);
	buf_add(&cur, data, len);
	list = xstrdup(codings);
	for (tok = strtok_r(list, ", \t", &last); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &last)) {
		memset(&z, 0, sizeof z);
		/* deflate is the zlib format (RFC 9110 8.4.1.2). */
		if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
		    strcmp(tok, "deflate") == 0 ? 15 : 15 + 16, 8,
		    Z_DEFAULT_STRATEGY) != Z_OK)
			fatalx("%s: deflateInit2 failed", __func__);
		z.next_in = (Bytef *)(uintptr_t)cur.data;
		z.avail_in = (uInt)cur.len;
		buf_reset(out);
		do {
			z.next_out = chunk;
			z.avail_out = sizeof chunk;
			ret = deflate(&z, Z_FINISH);
			if (ret == Z_STREAM_ERROR)
				fatalx("%s: deflate failed", __func__);
			buf_add(out, chunk, sizeof chunk - z.avail_out);
		} while (ret != Z_STREAM_END);
		deflateEnd(&z);
		buf_reset(&cur);
		buf_add(&cur, out->data, out->len);
	}
	free(list);
	buf_reset(out);
	buf_add(out, cur.data, cur.len);
	buf_free(&cur);
}
