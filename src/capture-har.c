/*
 * Export: captures as one HAR 1.2 document (DESIGN §9).  Each exchange is
 * an entry whose response is the primary's; the other sides, the verdict
 * and the diffs are under the entry's "_paritytap".  The document is
 * written as it goes, one entry a line, so a big capture is never held
 * whole in memory.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "paritytap.h"
#include "config.h"

struct capture_har {
	FILE		*ch_f;
	uint64_t	 ch_entries;
	size_t		 ch_limit;	/* decoded bytes written as text */
};

/* Return a new JSON string of a C string, made UTF-8. */
static json_t *
har_str(const char *s)
{
	return (capture_text(s, s != NULL ? strlen(s) : 0, NULL));
}

/*
 * Set "text" of obj to data: as it is when it is UTF-8, else its base64
 * with "encoding" (key) set to "base64".
 */
static void
har_set_body(json_t *obj, const char *key, const char *data, size_t len)
{
	struct buf	 b;
	json_t		*v;

	if ((v = json_stringn(data != NULL ? data : "", len)) != NULL) {
		json_object_set_new(obj, "text", v);
		return;
	}
	buf_init(&b);
	capture_b64_add(&b, data, len);
	json_object_set_new(obj, "text", json_stringn(b.data != NULL ?
	    b.data : "", b.len));
	json_object_set_new(obj, key, json_string("base64"));
	buf_free(&b);
}

/* Return a new HAR headers array. */
static json_t *
har_headers(const struct headers *hs)
{
	json_t	*arr, *h;
	size_t	 i;

	arr = json_array();
	for (i = 0; i < hs->n; i++) {
		h = json_object();
		json_object_set_new(h, "name", har_str(hs->h[i].name));
		json_object_set_new(h, "value", har_str(hs->h[i].value));
		json_array_append_new(arr, h);
	}
	return (arr);
}

/* Return the value of a hex digit, or -1. */
static int
har_hex(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Return a new JSON string of a query component, %XX and + decoded. */
static json_t *
har_unescape(const char *s, size_t len)
{
	struct buf	 b;
	json_t		*v;
	size_t		 i;
	char		 c;
	int		 hi, lo;

	buf_init(&b);
	buf_add(&b, "", 0);
	for (i = 0; i < len; i++) {
		c = s[i];
		if (c == '+')
			c = ' ';
		else if (c == '%' && i + 2 < len &&
		    (hi = har_hex(s[i + 1])) != -1 &&
		    (lo = har_hex(s[i + 2])) != -1) {
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		buf_add(&b, &c, 1);
	}
	v = capture_text(b.data, b.len, NULL);
	buf_free(&b);
	return (v);
}

/* Return a new HAR queryString array for a request target. */
static json_t *
har_query(const char *target)
{
	json_t		*arr, *p;
	const char	*q, *end, *amp, *eq;

	arr = json_array();
	if ((q = strchr(target, '?')) == NULL)
		return (arr);
	q++;
	if ((end = strchr(q, '#')) == NULL)
		end = q + strlen(q);
	while (q < end) {
		if ((amp = memchr(q, '&', end - q)) == NULL)
			amp = end;
		if (amp != q) {
			if ((eq = memchr(q, '=', amp - q)) == NULL)
				eq = amp;
			p = json_object();
			json_object_set_new(p, "name", har_unescape(q, eq - q));
			json_object_set_new(p, "value", eq < amp ?
			    har_unescape(eq + 1, amp - eq - 1) :
			    json_string(""));
			json_array_append_new(arr, p);
		}
		q = amp + 1;
	}
	return (arr);
}

/*
 * Return the request's absolute URL (allocated): its target when that
 * is absolute already, else http:// and the Host header (localhost when
 * there is none) and the target.
 */
static char *
har_url(const struct http_request *req)
{
	const char	*host, *target = req->target;
	char		*url;

	if (strncasecmp(target, "http://", 7) == 0 ||
	    strncasecmp(target, "https://", 8) == 0)
		return (xstrdup(target));
	if ((host = headers_get(&req->headers, "Host")) == NULL ||
	    *host == '\0')
		host = "localhost";
	xasprintf(&url, "http://%s%s%s", host, *target == '/' ? "" : "/",
	    target);
	return (url);
}

/* Return a new HAR request object. */
static json_t *
har_request(const struct exchange *ex, const char *version)
{
	const struct http_request	*req = &ex->ex_req;
	const char			*ct;
	json_t				*obj, *post;
	char				*url;

	obj = json_object();
	json_object_set_new(obj, "method", har_str(req->method));
	url = har_url(req);
	json_object_set_new(obj, "url", har_str(url));
	free(url);
	json_object_set_new(obj, "httpVersion", json_string(version));
	json_object_set_new(obj, "cookies", json_array());
	json_object_set_new(obj, "headers", har_headers(&req->headers));
	json_object_set_new(obj, "queryString", har_query(req->target));
	if (req->body.len != 0) {
		post = json_object();
		ct = headers_get(&req->headers, "Content-Type");
		json_object_set_new(post, "mimeType", har_str(ct != NULL ?
		    ct : ""));
		har_set_body(post, "_encoding", req->body.data, req->body.len);
		json_object_set_new(obj, "postData", post);
	}
	json_object_set_new(obj, "headersSize", json_integer(-1));
	json_object_set_new(obj, "bodySize", json_integer(ex->ex_req_truncated ?
	    -1 : (json_int_t)req->body.len));
	if (ex->ex_req_truncated)
		json_object_set_new(obj, "_truncated", json_true());
	return (obj);
}

/*
 * Return a new HAR content object for a side's body: decoded by its
 * Content-Encoding when it can be, up to limit bytes; a body cut short,
 * that does not decode or that decodes past limit is kept as received,
 * "_encoded" names its coding and "_decode_error" says why it was not
 * decoded.
 */
static json_t *
har_content(const struct response_side *rs, size_t limit)
{
	const char	*ct, *ce;
	json_t		*obj;
	struct buf	 dec;
	char		*cause = NULL;
	uint64_t	 wire = capture_body_bytes(rs);

	obj = json_object();
	ce = headers_get(&rs->headers, "Content-Encoding");
	ct = headers_get(&rs->headers, "Content-Type");
	/* A body the capture keeps decoded is text already: no bomb. */
	if (rs->body_decoded != NULL && rs->body.len > limit)
		limit = rs->body.len;
	buf_init(&dec);
	if (ce != NULL && strcasecmp(ce, "identity") != 0 && rs->body.len != 0 &&
	    !rs->truncated && decode_body(rs, &dec, limit, &cause) == 0) {
		json_object_set_new(obj, "size", json_integer(
		    (json_int_t)dec.len));
		json_object_set_new(obj, "compression", json_integer(
		    (json_int_t)dec.len - (json_int_t)wire));
		json_object_set_new(obj, "mimeType", har_str(ct != NULL ?
		    ct : ""));
		har_set_body(obj, "encoding", dec.data, dec.len);
		buf_free(&dec);
		return (obj);
	}
	buf_free(&dec);
	json_object_set_new(obj, "size", json_integer((json_int_t)wire));
	json_object_set_new(obj, "mimeType", har_str(ct != NULL ? ct : ""));
	if (rs->body.len != 0)
		har_set_body(obj, "encoding", rs->body.data, rs->body.len);
	if (ce != NULL && strcasecmp(ce, "identity") != 0 && rs->body.len != 0)
		json_object_set_new(obj, "_encoded", har_str(ce));
	if (cause != NULL)
		json_object_set_new(obj, "_decode_error", har_str(cause));
	free(cause);
	if (rs->truncated)
		json_object_set_new(obj, "_truncated", json_true());
	return (obj);
}

/* Return a new HAR response object for one side (NULL: absent). */
static json_t *
har_response(const struct response_side *rs, const char *version,
    size_t limit)
{
	static const struct response_side	 none;
	const char				*loc;
	json_t					*obj;

	if (rs == NULL)
		rs = &none;
	obj = json_object();
	json_object_set_new(obj, "status", json_integer(rs->status));
	json_object_set_new(obj, "statusText", json_string(rs->status != 0 ?
	    http_reason(rs->status) : ""));
	json_object_set_new(obj, "httpVersion", json_string(version));
	json_object_set_new(obj, "cookies", json_array());
	json_object_set_new(obj, "headers", har_headers(&rs->headers));
	json_object_set_new(obj, "content", har_content(rs, limit));
	loc = headers_get(&rs->headers, "Location");
	json_object_set_new(obj, "redirectURL", har_str(loc != NULL ? loc : ""));
	json_object_set_new(obj, "headersSize", json_integer(-1));
	json_object_set_new(obj, "bodySize", json_integer(
	    (json_int_t)capture_body_bytes(rs)));
	json_object_set_new(obj, "_ms", json_real((double)capture_centis(rs) /
	    100));
	if (rs->error != NULL)
		json_object_set_new(obj, "_error", json_string(rs->error));
	if (rs->error_detail != NULL)
		json_object_set_new(obj, "_error_detail",
		    har_str(rs->error_detail));
	return (obj);
}

/* Return a new JSON object for one diff, as a capture line has it. */
static json_t *
har_diff(const struct diff *d)
{
	json_t	*obj;

	obj = json_object();
	json_object_set_new(obj, "kind", har_str(diff_name(d)));
	if (d->path != NULL)
		json_object_set_new(obj, "path", har_str(d->path));
	if (d->side >= 0 && d->side < SIDE_MAX)
		json_object_set_new(obj, "side", json_string(side_name(d->side)));
	if (d->primary != NULL)
		json_object_set_new(obj, "primary", har_str(d->primary));
	if (d->candidate != NULL)
		json_object_set_new(obj, "candidate", har_str(d->candidate));
	if (d->detail != NULL)
		json_object_set_new(obj, "detail", har_str(d->detail));
	return (obj);
}

/* Return a new "_paritytap" object for an exchange. */
static json_t *
har_custom(const struct exchange *ex, const char *version, size_t limit)
{
	json_t	*obj, *diffs, *resp;
	size_t	 i;
	int	 side;

	obj = json_object();
	json_object_set_new(obj, "id", har_str(ex->ex_id));
	if (ex->ex_route != NULL)
		json_object_set_new(obj, "route", har_str(ex->ex_route));
	json_object_set_new(obj, "source", har_str(ex->ex_source != NULL ?
	    ex->ex_source : "unknown"));
	json_object_set_new(obj, "verdict",
	    json_string(verdict_name(ex->ex_verdict)));
	if (ex->ex_verdict == VERDICT_SKIPPED && ex->ex_skip_reason != NULL)
		json_object_set_new(obj, "skip_reason",
		    har_str(ex->ex_skip_reason));
	diffs = json_array();
	for (i = 0; i < ex->ex_diffs.n; i++)
		json_array_append_new(diffs, har_diff(&ex->ex_diffs.v[i]));
	json_object_set_new(obj, "diffs", diffs);
	if (ex->ex_diffs.truncated)
		json_object_set_new(obj, "diffs_truncated", json_true());
	resp = json_object();
	for (side = SIDE_CANDIDATE; side < SIDE_MAX; side++) {
		if (ex->ex_resp[side].present)
			json_object_set_new(resp, side_name(side),
			    har_response(&ex->ex_resp[side], version,
			    limit));
	}
	json_object_set_new(obj, "responses", resp);
	return (obj);
}

/*
 * Open a HAR writer on f (which it owns from now on): the document's
 * head.  A body is written decoded when it decodes to at most limit bytes
 * (export's --max-body).
 */
struct capture_har *
capture_har_open(FILE *f, size_t limit)
{
	struct capture_har	*ch;

	ch = xcalloc(1, sizeof *ch);
	ch->ch_f = f;
	ch->ch_limit = limit;
	fprintf(f, "{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":"
	    "\"paritytap\",\"version\":\"%s\"},\"entries\":[", PACKAGE_VERSION);
	return (ch);
}

/*
 * Write the entry of one exchange; add the bodies written cut short to
 * *truncated.  Return 0, or -1 on a write error.
 */
int
capture_har_add(struct capture_har *ch, const struct exchange *ex,
    uint64_t *truncated)
{
	const struct response_side	*primary = NULL;
	json_t				*entry, *timings;
	char				 ts[64], version[32], v[40];
	double				 ms = 0;
	int				 side, rc;

	capture_version(&ex->ex_req, version, sizeof version);
	snprintf(v, sizeof v, "HTTP/%s", version);
	if (ex->ex_resp[SIDE_PRIMARY].present) {
		primary = &ex->ex_resp[SIDE_PRIMARY];
		ms = (double)capture_centis(primary) / 100;
	}
	if (ex->ex_req_truncated)
		(*truncated)++;
	for (side = 0; side < SIDE_MAX; side++) {
		if (ex->ex_resp[side].present && ex->ex_resp[side].truncated)
			(*truncated)++;
	}

	entry = json_object();
	format_rfc3339(&ex->ex_ts, ts, sizeof ts);
	json_object_set_new(entry, "startedDateTime", json_string(ts));
	json_object_set_new(entry, "time", json_real(ms));
	json_object_set_new(entry, "request", har_request(ex, v));
	json_object_set_new(entry, "response", har_response(primary, v,
	    ch->ch_limit));
	json_object_set_new(entry, "cache", json_object());
	timings = json_object();
	json_object_set_new(timings, "send", json_integer(0));
	json_object_set_new(timings, "wait", json_real(ms));
	json_object_set_new(timings, "receive", json_integer(0));
	json_object_set_new(entry, "timings", timings);
	json_object_set_new(entry, "_paritytap", har_custom(ex, v,
	    ch->ch_limit));

	if (ch->ch_entries++ != 0)
		fputc(',', ch->ch_f);
	fputc('\n', ch->ch_f);
	rc = json_dumpf(entry, ch->ch_f, JSON_COMPACT);
	json_decref(entry);
	return (rc == 0 && !ferror(ch->ch_f) ? 0 : -1);
}

/* End the document, flush and close its file; return 0, or -1 (errno). */
int
capture_har_close(struct capture_har *ch)
{
	int	 rc = 0, err = 0;

	if (ch == NULL)
		return (0);
	errno = 0;
	fputs("\n]}}\n", ch->ch_f);
	if (fflush(ch->ch_f) != 0 || ferror(ch->ch_f)) {
		rc = -1;
		err = errno != 0 ? errno : EIO;
	}
	if (fclose(ch->ch_f) != 0 && rc == 0) {
		rc = -1;
		err = errno;
	}
	free(ch);
	if (rc != 0)
		errno = err;
	return (rc);
}
