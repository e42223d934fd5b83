/*
 * Capture files: the JSON tree of an exchange, both directions (§3), and
 * the pieces of the capture form the line writer shares with it.
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "paritytap.h"

/* Header values never written in clear unless keep_secrets (§3). */
static const struct {
	const char	*name;
	size_t		 len;
} capture_secrets[] = {
	{ "Authorization", 13 }, { "Proxy-Authorization", 19 },
	{ "Cookie", 6 }, { "Set-Cookie", 10 }, { "X-Api-Key", 9 },
	{ NULL, 0 }
};

/* The source names a capture may carry, as static strings. */
static const char *capture_sources[] = {
	"proxy", "replay", "sniff", "import", "record", NULL
};

/* The error names a failed side may carry, as static strings. */
static const char *capture_side_errors[] = {
	"timeout", "connect", "reset", "too_large", "bad_response",
	"prefix", "tls", NULL
};

/*
 * Return a new JSON string of s; bytes that are not UTF-8 become U+FFFD
 * and *lossy is set (jansson refuses such strings).
 */
json_t *
capture_text(const char *s, size_t len, int *lossy)
{
	const unsigned char	*p = (const unsigned char *)s;
	struct buf		 b;
	json_t			*v;
	size_t			 i, n;

	if (lossy != NULL)
		*lossy = 0;
	if (s == NULL)
		return (json_string(""));
	if ((v = json_stringn(s, len)) != NULL)
		return (v);
	if (lossy != NULL)
		*lossy = 1;
	buf_init(&b);
	for (i = 0; i < len; i += n) {
		if ((n = capture_utf8_seq(p + i, len - i)) == 0) {
			buf_add(&b, CAPTURE_REPLACEMENT, 3);
			n = 1;
		} else
			buf_add(&b, p + i, n);
	}
	v = json_stringn(b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	if (v == NULL)
		fatalx("%s: cannot make a JSON string", __func__);
	return (v);
}

/* Append the standard base64 of data to b. */
void
capture_b64_add(struct buf *b, const void *data, size_t len)
{
	const unsigned char	*in = data;
	unsigned char		 out[4 * 1024 + 1];
	size_t			 chunk, done = 0;
	int			 n;

	/* Chunks of whole 3-byte groups join without padding between. */
	while (done < len) {
		chunk = len - done;
		if (chunk > 3 * 1024)
			chunk = 3 * 1024;
		n = EVP_EncodeBlock(out, in + done, (int)chunk);
		buf_add(b, out, (size_t)n);
		done += chunk;
	}
}

/* Return a new JSON string holding the standard base64 of data. */
static json_t *
capture_b64(const void *data, size_t len)
{
	struct buf	 b;
	json_t		*v;

	buf_init(&b);
	capture_b64_add(&b, data, len);
	v = json_stringn(b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	return (v);
}

/* Decode standard base64 into out; return 0, or -1 if s is not base64. */
static int
capture_unb64(const char *s, size_t len, struct buf *out)
{
	unsigned char	*tmp;
	size_t		 i, pad = 0, chunk, done = 0;
	int		 n;

	if (len % 4 != 0)
		return (-1);
	if (len > 0 && s[len - 1] == '=')
		pad = (len > 1 && s[len - 2] == '=') ? 2 : 1;
	for (i = 0; i < len - pad; i++) {
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789+/", s[i]) == NULL || s[i] == '\0')
			return (-1);
	}
	tmp = xmalloc(3 * 65536);
	while (done < len) {
		chunk = len - done;
		if (chunk > 4 * 65536)
			chunk = 4 * 65536;
		n = EVP_DecodeBlock(tmp, (const unsigned char *)s + done,
		    (int)chunk);
		if (n < 0) {
			free(tmp);
			return (-1);
		}
		done += chunk;
		if (done == len)
			n -= (int)pad;
		buf_add(out, tmp, (size_t)n);
	}
	free(tmp);
	return (0);
}

/* Write the hex sha256 of data into out (65 bytes). */
void
capture_sha256(const void *data, size_t len, char out[65])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0, i;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		fatalx("%s: EVP_Digest failed", __func__);
	for (i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[2 * i] = '\0';
}

/*
 * Set key to the text s; when s is not UTF-8 the lossy text is kept for
 * people and jq, and key_b64 holds the exact bytes for the reader.
 */
static void
capture_set_text(json_t *obj, const char *key, const char *s, size_t len)
{
	char	*k;
	int	 lossy;

	json_object_set_new(obj, key, capture_text(s, len, &lossy));
	if (lossy) {
		xasprintf(&k, "%s_b64", key);
		json_object_set_new(obj, k, capture_b64(s, len));
		free(k);
	}
}

/*
 * Return 1 if a body of len bytes is cut at limit; *n is the bytes kept
 * as base64, *text the bytes tried as text.
 */
int
capture_body_cut(const char *data, size_t len, size_t limit, size_t *n,
    size_t *text)
{
	size_t	 back;

	*n = *text = len;
	if (len <= limit)
		return (0);
	*n = *text = limit;
	/* Cutting inside a character would make text look binary. */
	for (back = 0; back < 3 && *text > 0 &&
	    ((unsigned char)data[*text] & 0xc0) == 0x80; back++)
		(*text)--;
	return (1);
}

/*
 * Set "body" (text) or "body_b64" (anything else) to at most limit bytes
 * of a body; return 1 if it was cut.
 */
static int
capture_set_body(json_t *obj, const char *data, size_t len, size_t limit)
{
	size_t	 n, text;
	json_t	*v;
	int	 cut;

	if (data == NULL)
		data = "";
	cut = capture_body_cut(data, len, limit, &n, &text);
	if ((v = json_stringn(data, text)) != NULL)
		json_object_set_new(obj, "body", v);
	else
		json_object_set_new(obj, "body_b64", capture_b64(data, n));
	return (cut);
}

/* Return 1 if a header's value is a secret under opts. */
static int
capture_is_secret(const char *name, const struct capture_opts *opts)
{
	size_t	 i, len;

	if (opts->keep_secrets)
		return (0);
	/* Every header of every line comes here: compare lengths first. */
	len = strlen(name);
	for (i = 0; capture_secrets[i].name != NULL; i++) {
		if (len == capture_secrets[i].len &&
		    strcasecmp(name, capture_secrets[i].name) == 0)
			return (1);
	}
	for (i = 0; i < opts->nredact; i++) {
		if (strcasecmp(name, opts->redact[i]) == 0)
			return (1);
	}
	return (0);
}

/* Return the value a header is captured with: its own, or "[redacted]". */
const char *
capture_header_value(const struct header *h, const struct capture_opts *opts)
{
	return (capture_is_secret(h->name, opts) ? "[redacted]" : h->value);
}

/*
 * Return the value a diff shows for one side: a header diff on a secret
 * header shows "[redacted]", like the header itself, so a secret never
 * reaches a capture or an event line through a diff.
 */
const char *
capture_diff_value(const struct diff *d, const char *value,
    const struct capture_opts *opts)
{
	if (value != NULL && d->kind == DIFF_HEADER && d->path != NULL &&
	    capture_is_secret(d->path, opts))
		return ("[redacted]");
	return (value);
}

/* Write the HTTP version of a request, "1.1" when unknown, into out. */
void
capture_version(const struct http_request *req, char *out, size_t len)
{
	if (req->major == 0 && req->minor == 0)
		snprintf(out, len, "1.1");
	else if (req->major >= 0 && req->major <= 9 && req->minor >= 0 &&
	    req->minor <= 9 && len >= 4) {
		/* What the snprintf below gives, for the usual versions. */
		out[0] = '0' + req->major;
		out[1] = '.';
		out[2] = '0' + req->minor;
		out[3] = '\0';
	} else
		snprintf(out, len, "%d.%d", req->major, req->minor);
}

/*
 * Return the body bytes a side reports: at least those it holds, unless
 * it holds them decoded, when the count is of the bytes received.
 */
uint64_t
capture_body_bytes(const struct response_side *rs)
{
	if (rs->body_decoded != NULL)
		return (rs->body_bytes);
	return (rs->body_bytes > rs->body.len ? rs->body_bytes : rs->body.len);
}

/*
 * Return a side's latency in hundredths of a millisecond (the two
 * decimals "ms" keeps); a non-finite or absurd latency is no number to
 * keep and gives 0.  At most 10^14.
 */
long long
capture_centis(const struct response_side *rs)
{
	if (!(rs->ms > 0 && rs->ms < 1e12))
		return (0);
	return ((long long)(rs->ms * 100 + 0.5));
}

/* Return the options to use for opts (the defaults for NULL). */
const struct capture_opts *
capture_settings(const struct capture_opts *opts)
{
	static const struct capture_opts	 defaults;

	return (opts != NULL ? opts : &defaults);
}

/* Return the bytes of each body a capture keeps under opts. */
size_t
capture_limit(const struct capture_opts *opts)
{
	return (opts->body_limit != 0 ? opts->body_limit :
	    DEFAULT_CAPTURE_BODY);
}

/* Return 1 if len bytes at data are all UTF-8. */
static int
capture_utf8_valid(const char *data, size_t len)
{
	const unsigned char	*p = (const unsigned char *)data;
	size_t			 i, n;

	for (i = 0; i < len; i += n) {
		if ((n = capture_utf8_seq(p + i, len - i)) == 0)
			return (0);
	}
	return (1);
}

/*
 * Set up view with how a side's body is stored (§3): a body that came
 * gzip- or deflate-encoded is kept decoded when the decoded bytes are
 * UTF-8 and all of them fit in limit, so that jq and DuckDB read it as
 * text; "body_decoded" names the codings, while the headers still say
 * what was received.  Otherwise, or under --capture-raw-bodies, the bytes
 * received are kept; a body that does not decode says why.  Free view
 * with capture_body_done.
 */
void
capture_body_view(struct capture_body *view, const struct response_side *rs,
    const struct capture_opts *opts, size_t limit)
{
	char	*name = NULL;
	int	 rc;

	memset(view, 0, sizeof *view);
	buf_init(&view->text);
	view->data = rs->body.data != NULL ? rs->body.data : "";
	view->len = rs->body.len;
	/* Read back decoded: there are no other bytes to keep. */
	if (rs->body_decoded != NULL) {
		view->decoded = rs->body_decoded;
		return;
	}
	if (opts->raw_bodies)
		return;
	rc = decode_for_capture(rs, limit, &view->text, &name, &view->error);
	if (rc != 1)
		return;
	if (!capture_utf8_valid(view->text.data, view->text.len)) {
		free(name);
		return;
	}
	view->data = view->text.data;
	view->len = view->text.len;
	view->decoded = view->name = name;
}

/* Free what capture_body_view set up. */
void
capture_body_done(struct capture_body *view)
{
	free(view->error);
	free(view->name);
	buf_free(&view->text);
}

/* Return a new JSON array of {"name","value"} objects, secrets redacted. */
static json_t *
capture_headers_json(const struct headers *hs, const struct capture_opts *opts)
{
	json_t		*arr, *h;
	const char	*value;
	size_t		 i;

	arr = json_array();
	for (i = 0; i < hs->n; i++) {
		h = json_object();
		capture_set_text(h, "name", hs->h[i].name,
		    strlen(hs->h[i].name));
		value = capture_header_value(&hs->h[i], opts);
		capture_set_text(h, "value", value, strlen(value));
		json_array_append_new(arr, h);
	}
	return (arr);
}

/* Return a new JSON object for the request of an exchange. */
static json_t *
capture_request_json(const struct exchange *ex,
    const struct capture_opts *opts, size_t limit)
{
	const struct http_request	*req = &ex->ex_req;
	json_t				*obj;
	char				 version[32], sha[65];
	const char			*s;
	int				 cut;

	obj = json_object();
	s = req->method != NULL ? req->method : "";
	capture_set_text(obj, "method", s, strlen(s));
	s = req->target != NULL ? req->target : "";
	capture_set_text(obj, "target", s, strlen(s));
	capture_version(req, version, sizeof version);
	json_object_set_new(obj, "version", json_string(version));
	json_object_set_new(obj, "headers",
	    capture_headers_json(&req->headers, opts));
	cut = capture_set_body(obj, req->body.data, req->body.len, limit);
	json_object_set_new(obj, "body_bytes",
	    json_integer((json_int_t)req->body.len));
	if (cut || ex->ex_req_truncated)
		json_object_set_new(obj, "truncated", json_true());
	if (cut) {
		capture_sha256(req->body.data, req->body.len, sha);
		json_object_set_new(obj, "body_sha256", json_string(sha));
	}
	return (obj);
}

/* Return a new JSON object for one side's response. */
static json_t *
capture_response_json(const struct response_side *rs,
    const struct capture_opts *opts, size_t limit)
{
	json_t			*obj;
	struct capture_body	 view;
	char			 sha[65];
	int			 cut;

	obj = json_object();
	json_object_set_new(obj, "status", json_integer(rs->status));
	json_object_set_new(obj, "headers",
	    capture_headers_json(&rs->headers, opts));
	capture_body_view(&view, rs, opts, limit);
	cut = capture_set_body(obj, view.data, view.len, limit);
	if (view.decoded != NULL) {
		capture_set_text(obj, "body_decoded", view.decoded,
		    strlen(view.decoded));
	}
	if (view.error != NULL) {
		capture_set_text(obj, "body_decode_error", view.error,
		    strlen(view.error));
	}
	capture_body_done(&view);
	json_object_set_new(obj, "body_bytes",
	    json_integer((json_int_t)capture_body_bytes(rs)));
	json_object_set_new(obj, "ms",
	    json_real((double)capture_centis(rs) / 100));
	if (rs->error != NULL)
		json_object_set_new(obj, "error", json_string(rs->error));
	if (rs->error_detail != NULL) {
		capture_set_text(obj, "error_detail", rs->error_detail,
		    strlen(rs->error_detail));
	}
	if (cut || rs->truncated)
		json_object_set_new(obj, "truncated", json_true());
	if (rs->truncated && rs->body_sha256 != NULL) {
		json_object_set_new(obj, "body_sha256",
		    json_string(rs->body_sha256));
	} else if (cut) {
		capture_sha256(rs->body.data, rs->body.len, sha);
		json_object_set_new(obj, "body_sha256", json_string(sha));
	}
	return (obj);
}

/* Return a new JSON object for one diff, NULL fields left out. */
static json_t *
capture_diff_json(const struct diff *d, const struct capture_opts *opts)
{
	const char	*primary = capture_diff_value(d, d->primary, opts);
	const char	*candidate = capture_diff_value(d, d->candidate, opts);
	const char	*kind = diff_name(d);
	json_t		*obj;

	obj = json_object();
	json_object_set_new(obj, "kind", capture_text(kind,
	    kind != NULL ? strlen(kind) : 0, NULL));
	if (d->path != NULL) {
		json_object_set_new(obj, "path", capture_text(d->path,
		    strlen(d->path), NULL));
	}
	if (d->side >= 0 && d->side < SIDE_MAX)
		json_object_set_new(obj, "side", json_string(side_name(d->side)));
	if (primary != NULL) {
		json_object_set_new(obj, "primary", capture_text(primary,
		    strlen(primary), NULL));
	}
	if (candidate != NULL) {
		json_object_set_new(obj, "candidate", capture_text(candidate,
		    strlen(candidate), NULL));
	}
	if (d->detail != NULL) {
		json_object_set_new(obj, "detail", capture_text(d->detail,
		    strlen(d->detail), NULL));
	}
	if (d->noise)
		json_object_set_new(obj, "noise", json_true());
	if (d->hint != NULL) {
		json_object_set_new(obj, "hint", capture_text(d->hint,
		    strlen(d->hint), NULL));
	}
	if (diff_hint_key(d) != NULL) {
		json_object_set_new(obj, diff_hint_key(d),
		    capture_text(d->hint_path, strlen(d->hint_path), NULL));
	}
	return (obj);
}

/*
 * Return the capture form of an exchange (a new reference), keys in the
 * order of §3; opts may be NULL for the defaults.
 */
json_t *
exchange_to_json(const struct exchange *ex, const struct capture_opts *opts)
{
	json_t	*obj, *resp, *side, *diffs;
	char	 ts[64];
	size_t	 limit, i;

	opts = capture_settings(opts);
	limit = capture_limit(opts);

	obj = json_object();
	json_object_set_new(obj, "paritytap", json_integer(PARITYTAP_FORMAT));
	capture_set_text(obj, "id", ex->ex_id, strlen(ex->ex_id));
	format_rfc3339(&ex->ex_ts, ts, sizeof ts);
	json_object_set_new(obj, "ts", json_string(ts));
	json_object_set_new(obj, "source", json_string(ex->ex_source != NULL ?
	    ex->ex_source : "unknown"));
	if (ex->ex_route != NULL) {
		capture_set_text(obj, "route", ex->ex_route,
		    strlen(ex->ex_route));
	}
	json_object_set_new(obj, "request", capture_request_json(ex, opts,
	    limit));

	resp = json_object();
	for (i = 0; i < SIDE_MAX; i++) {
		if (!ex->ex_resp[i].present)
			continue;
		side = capture_response_json(&ex->ex_resp[i], opts, limit);
		/* The primary asked twice (--self-check), not a copy. */
		if (i == SIDE_SECONDARY && ex->ex_self_check)
			json_object_set_new(side, "self_check", json_true());
		json_object_set_new(resp, side_name(i), side);
	}
	json_object_set_new(obj, "responses", resp);

	json_object_set_new(obj, "verdict",
	    json_string(verdict_name(ex->ex_verdict)));
	if (ex->ex_verdict == VERDICT_SKIPPED && ex->ex_skip_reason != NULL) {
		capture_set_text(obj, "skip_reason", ex->ex_skip_reason,
		    strlen(ex->ex_skip_reason));
	}
	diffs = json_array();
	for (i = 0; i < ex->ex_diffs.n; i++)
		json_array_append_new(diffs,
		    capture_diff_json(&ex->ex_diffs.v[i], opts));
	json_object_set_new(obj, "diffs", diffs);
	if (ex->ex_diffs.truncated)
		json_object_set_new(obj, "diffs_truncated", json_true());
	return (obj);
}

/*
 * Fill cause with "FIELD: what", FIELD being where.key (either may be
 * NULL), and return -1.
 */
static int printflike(4, 5)
capture_fail(char **cause, const char *where, const char *key,
    const char *fmt, ...)
{
	va_list	 ap;
	char	*what;

	va_start(ap, fmt);
	xvasprintf(&what, fmt, ap);
	va_end(ap);
	if (where != NULL && key != NULL)
		xasprintf(cause, "%s.%s: %s", where, key, what);
	else
		xasprintf(cause, "%s: %s", where != NULL ? where : key, what);
	free(what);
	return (-1);
}

/*
 * Return "WHERE" MID "I]" (as "%s%s%zu]" would) in buf if it fits, else
 * in a new string the caller frees.  It names a field in messages only,
 * and is made for every header of every line: no printf, no allocation.
 */
static char *
capture_where(char *buf, size_t size, const char *where, const char *mid,
    size_t i)
{
	char	 digits[24], *out;
	size_t	 wlen, mlen, dlen = 0, n;

	do
		digits[sizeof digits - ++dlen] = '0' + i % 10;
	while ((i /= 10) != 0);
	wlen = strlen(where);
	mlen = strlen(mid);
	n = wlen + mlen + dlen + 2;
	out = n <= size ? buf : xmalloc(n);
	memcpy(out, where, wlen);
	memcpy(out + wlen, mid, mlen);
	memcpy(out + wlen + mlen, digits + sizeof digits - dlen, dlen);
	memcpy(out + wlen + mlen + dlen, "]", 2);
	return (out);
}

/*
 * Read text field key (or its exact key_b64 form) of obj into out;
 * return 1 if found, 0 if absent, -1 with cause if ill-typed.
 */
static int
capture_get_text(json_t *obj, const char *where, const char *key,
    struct buf *out, char **cause)
{
	json_t	*v;
	char	 kb[64], *k = kb;
	size_t	 klen;
	int	 rc = 1;

	buf_reset(out);
	/* The keys are short literals: no allocation per field. */
	klen = strlen(key);
	if (klen + sizeof "_b64" <= sizeof kb) {
		memcpy(kb, key, klen);
		memcpy(kb + klen, "_b64", sizeof "_b64");
	} else
		xasprintf(&k, "%s_b64", key);
	v = json_object_get(obj, k);
	if (v != NULL) {
		if (!json_is_string(v) || capture_unb64(json_string_value(v),
		    json_string_length(v), out) != 0)
			rc = capture_fail(cause, where, k, "not base64");
	} else if ((v = json_object_get(obj, key)) == NULL)
		rc = 0;
	else if (!json_is_string(v))
		rc = capture_fail(cause, where, key, "not a string");
	else
		buf_add(out, json_string_value(v), json_string_length(v));
	if (k != kb)
		free(k);
	if (out->data == NULL)
		buf_add(out, "", 0);
	return (rc);
}

/* Read an optional string into a new copy; 0, or -1 with cause. */
static int
capture_get_string(json_t *obj, const char *where, const char *key,
    char **out, char **cause)
{
	struct buf	 b;
	int		 rc;

	buf_init(&b);
	rc = capture_get_text(obj, where, key, &b, cause);
	if (rc == 1)
		*out = buf_detach(&b);
	buf_free(&b);
	return (rc < 0 ? -1 : 0);
}

/* Read an optional boolean; return 0, or -1 with cause if ill-typed. */
static int
capture_get_bool(json_t *obj, const char *where, const char *key, int *out,
    char **cause)
{
	json_t	*v;

	if ((v = json_object_get(obj, key)) == NULL)
		return (0);
	if (!json_is_boolean(v))
		return (capture_fail(cause, where, key, "not a boolean"));
	*out = json_is_true(v);
	return (0);
}

/* Read a "headers" array into hs; return 0, or -1 with cause. */
static int
capture_headers_from_json(json_t *obj, const char *where, struct headers *hs,
    char **cause)
{
	json_t		*arr, *h;
	struct buf	 name, value;
	char		 wb[128], *w;
	size_t		 i;
	int		 rc = 0;

	if ((arr = json_object_get(obj, "headers")) == NULL)
		return (0);
	if (!json_is_array(arr))
		return (capture_fail(cause, where, "headers", "not an array"));
	buf_init(&name);
	buf_init(&value);
	json_array_foreach(arr, i, h) {
		w = capture_where(wb, sizeof wb, where, ".headers[", i);
		if (!json_is_object(h))
			rc = capture_fail(cause, w, NULL, "not an object");
		else if ((rc = capture_get_text(h, w, "name", &name,
		    cause)) == 1 && (rc = capture_get_text(h, w, "value", &value,
		    cause)) == 1) {
			headers_add(hs, name.data, name.len, value.data,
			    value.len);
			rc = 0;
		} else if (rc == 0)
			rc = capture_fail(cause, w, NULL, "no name or value");
		if (w != wb)
			free(w);
		if (rc != 0)
			break;
	}
	buf_free(&name);
	buf_free(&value);
	return (rc);
}

/* Read "body" or "body_b64" of obj into body; return 0, or -1 with cause. */
static int
capture_body_from_json(json_t *obj, const char *where, struct buf *body,
    char **cause)
{
	json_t	*v;

	if ((v = json_object_get(obj, "body_b64")) != NULL) {
		if (!json_is_string(v) || capture_unb64(json_string_value(v),
		    json_string_length(v), body) != 0)
			return (capture_fail(cause, where, "body_b64",
			    "not base64"));
	} else if ((v = json_object_get(obj, "body")) != NULL) {
		if (!json_is_string(v))
			return (capture_fail(cause, where, "body",
			    "not a string"));
		buf_add(body, json_string_value(v), json_string_length(v));
	}
	return (0);
}

/* Return the value of len decimal digits at s. */
static int
capture_digits(const char *s, int len)
{
	int	 v = 0;

	while (len-- > 0)
		v = v * 10 + (*s++ - '0');
	return (v);
}

/*
 * Return 1 if s starts with the plain "YYYY-MM-DDTHH:MM:SS" (one T, t or
 * space in the middle) the writer always makes.
 */
static int
capture_ts_plain(const char *s)
{
	static const char	 form[] = "dddd-dd-ddTdd:dd:dd";
	size_t			 i;

	for (i = 0; i < sizeof form - 1; i++) {
		if (form[i] == 'd') {
			if (s[i] < '0' || s[i] > '9')
				return (0);
		} else if (form[i] == 'T') {
			if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
				return (0);
		} else if (s[i] != form[i])
			return (0);
	}
	return (1);
}

/*
 * Days from 1970-01-01 to a date of the proleptic Gregorian calendar, as
 * timegm counts them, a day past the end of a month running on into the
 * next.  timegm costs more than the rest of a capture line's time: it
 * takes the time zone lock and converts back to check its work, once for
 * every line read.
 */
static int64_t
capture_days(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	return (era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468);
}

/* Parse an RFC 3339 time into tv; return 0, or -1 if malformed. */
int
capture_parse_ts(const char *s, struct timeval *tv)
{
	int		 y, mo, d, h, mi, sec, n = 0, oh, om, sign;
	long		 usec = 0, scale = 100000;
	time_t		 t;

	if (capture_ts_plain(s)) {
		/* What the sscanf below reads from this form, without it. */
		y = capture_digits(s, 4);
		mo = capture_digits(s + 5, 2);
		d = capture_digits(s + 8, 2);
		h = capture_digits(s + 11, 2);
		mi = capture_digits(s + 14, 2);
		sec = capture_digits(s + 17, 2);
		n = 19;
	} else if (sscanf(s, "%4d-%2d-%2d%*[Tt ]%2d:%2d:%2d%n", &y, &mo, &d,
	    &h, &mi, &sec, &n) != 6 || n == 0)
		return (-1);
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return (-1);
	s += n;
	if (*s == '.') {
		if (s[1] < '0' || s[1] > '9')
			return (-1);
		for (s++; *s >= '0' && *s <= '9'; s++) {
			usec += (*s - '0') * scale;
			scale /= 10;
		}
	}
	t = (time_t)(capture_days(y, mo, d) * 86400 + (int64_t)h * 3600 +
	    mi * 60 + sec);
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		sign = *s == '-' ? -1 : 1;
		if (sscanf(s + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5)
			return (-1);
		t -= sign * (oh * 3600 + om * 60);
		s += 6;
	} else
		return (-1);
	if (*s != '\0')
		return (-1);
	tv->tv_sec = t;
	tv->tv_usec = usec;
	return (0);
}

/* Return the static string for a name in list, or NULL. */
static const char *
capture_static(const char **list, const char *name)
{
	size_t	 i;

	for (i = 0; list[i] != NULL; i++) {
		if (strcmp(list[i], name) == 0)
			return (list[i]);
	}
	return (NULL);
}

/* Return the static string for a source name a capture may carry, or NULL. */
const char *
capture_source_name(const char *name)
{
	return (capture_static(capture_sources, name));
}

/* Read one side of "responses" into rs; return 0, or -1 with cause. */
static int
capture_response_from_json(json_t *obj, const char *where,
    struct response_side *rs, char **cause)
{
	json_t		*v;
	char		*error = NULL;
	json_int_t	 n;

	if (!json_is_object(obj))
		return (capture_fail(cause, where, NULL, "not an object"));
	rs->present = 1;
	if ((v = json_object_get(obj, "status")) != NULL) {
		if (!json_is_integer(v) || (n = json_integer_value(v)) < 0 ||
		    n > 999)
			return (capture_fail(cause, where, "status",
			    "not an HTTP status"));
		rs->status = (int)n;
	}
	if (capture_headers_from_json(obj, where, &rs->headers, cause) != 0 ||
	    capture_body_from_json(obj, where, &rs->body, cause) != 0 ||
	    capture_get_string(obj, where, "body_decoded", &rs->body_decoded,
	    cause) != 0)
		return (-1);
	rs->body_bytes = rs->body.len;
	if ((v = json_object_get(obj, "body_bytes")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return (capture_fail(cause, where, "body_bytes",
			    "not a byte count"));
		/* A decoded body's count is of the bytes received. */
		if ((uint64_t)json_integer_value(v) > rs->body_bytes ||
		    rs->body_decoded != NULL)
			rs->body_bytes = json_integer_value(v);
	}
	if ((v = json_object_get(obj, "ms")) != NULL) {
		if (!json_is_number(v))
			return (capture_fail(cause, where, "ms",
			    "not a number"));
		rs->ms = json_number_value(v);
	}
	if (capture_get_string(obj, where, "error", &error, cause) != 0 ||
	    capture_get_string(obj, where, "error_detail", &rs->error_detail,
	    cause) != 0 ||
	    capture_get_bool(obj, where, "truncated", &rs->truncated,
	    cause) != 0 ||
	    capture_get_string(obj, where, "body_sha256", &rs->body_sha256,
	    cause) != 0) {
		free(error);
		return (-1);
	}
	if (error != NULL) {
		/* Keep an error this version does not know as its detail. */
		if ((rs->error = capture_static(capture_side_errors,
		    error)) == NULL) {
			rs->error = "unknown";
			if (rs->error_detail == NULL) {
				rs->error_detail = error;
				error = NULL;
			}
		}
		free(error);
	}
	return (0);
}

/*
 * Read "MAJOR.MINOR" as sscanf "%d.%d" does, returning what it would;
 * the usual short form is read by hand.
 */
int
capture_scan_version(const char *s, int *major, int *minor)
{
	size_t	 a, b;

	a = strspn(s, "0123456789");
	if (a == 0 || a > 4 || s[a] != '.')
		return (sscanf(s, "%d.%d", major, minor));
	b = strspn(s + a + 1, "0123456789");
	if (b == 0 || b > 4)
		return (sscanf(s, "%d.%d", major, minor));
	*major = capture_digits(s, (int)a);
	*minor = capture_digits(s + a + 1, (int)b);
	return (2);
}

/* Read the "request" object into ex; return 0, or -1 with cause. */
static int
capture_request_from_json(json_t *obj, struct exchange *ex, char **cause)
{
	struct http_request	*req = &ex->ex_req;
	json_t			*v;
	int			 major, minor;

	if (obj == NULL || !json_is_object(obj))
		return (capture_fail(cause, "request", NULL,
		    "missing or not an object"));
	if (capture_get_string(obj, "request", "method", &req->method,
	    cause) != 0)
		return (-1);
	if (req->method == NULL || *req->method == '\0')
		return (capture_fail(cause, "request", "method", "missing"));
	if (capture_get_string(obj, "request", "target", &req->target,
	    cause) != 0)
		return (-1);
	if (req->target == NULL || *req->target == '\0')
		return (capture_fail(cause, "request", "target", "missing"));
	req->major = 1;
	req->minor = 1;
	if ((v = json_object_get(obj, "version")) != NULL) {
		if (!json_is_string(v) ||
		    capture_scan_version(json_string_value(v), &major,
		    &minor) != 2 || major < 0 || minor < 0)
			return (capture_fail(cause, "request", "version",
			    "not a version like \"1.1\""));
		req->major = major;
		req->minor = minor;
	}
	if (capture_headers_from_json(obj, "request", &req->headers,
	    cause) != 0 ||
	    capture_body_from_json(obj, "request", &req->body, cause) != 0 ||
	    capture_get_bool(obj, "request", "truncated",
	    &ex->ex_req_truncated, cause) != 0)
		return (-1);
	return (0);
}

/* Read one element of "diffs" into ex; return 0, or -1 with cause. */
static int
capture_diff_from_json(json_t *d, const char *where, struct exchange *ex,
    char **cause)
{
	json_t		*v;
	struct diff	*diff;
	char		*kind = NULL, *path = NULL;
	int		 side = -1, rc = -1;

	if (!json_is_object(d))
		return (capture_fail(cause, where, NULL, "not an object"));
	if (capture_get_string(d, where, "kind", &kind, cause) != 0 ||
	    capture_get_string(d, where, "path", &path, cause) != 0)
		goto out;
	if (kind == NULL) {
		capture_fail(cause, where, "kind", "missing");
		goto out;
	}
	if ((v = json_object_get(d, "side")) != NULL) {
		if (!json_is_string(v)) {
			capture_fail(cause, where, "side", "not a string");
			goto out;
		}
		for (side = 0; side < SIDE_MAX; side++) {
			if (strcmp(json_string_value(v), side_name(side)) == 0)
				break;
		}
		if (side == SIDE_MAX)
			side = -1;
	}
	diff = diff_list_add_name(&ex->ex_diffs, kind, path, side);
	if (diff != NULL && (capture_get_string(d, where, "primary",
	    &diff->primary, cause) != 0 ||
	    capture_get_string(d, where, "candidate", &diff->candidate,
	    cause) != 0 ||
	    capture_get_string(d, where, "detail", &diff->detail, cause) != 0 ||
	    capture_get_string(d, where, "hint", &diff->hint, cause) != 0 ||
	    capture_get_string(d, where, diff->kind == DIFF_EXTRA ?
	    "renamed_from" : "renamed_to", &diff->hint_path, cause) != 0))
		goto out;
	if (diff != NULL && json_is_true(json_object_get(d, "noise")))
		diff->noise = 1;
	rc = 0;
out:
	free(kind);
	free(path);
	return (rc);
}

/* Read the "diffs" array into ex; return 0, or -1 with cause. */
static int
capture_diffs_from_json(json_t *obj, struct exchange *ex, char **cause)
{
	json_t	*arr, *d;
	char	 wb[64], *where;
	size_t	 i, max;
	int	 truncated = 0, rc;

	if (capture_get_bool(obj, NULL, "diffs_truncated", &truncated,
	    cause) != 0)
		return (-1);
	if ((arr = json_object_get(obj, "diffs")) != NULL) {
		if (!json_is_array(arr))
			return (capture_fail(cause, NULL, "diffs",
			    "not an array"));
		/* Keep every diff the writer kept, even over the default. */
		max = json_array_size(arr);
		if (max < DEFAULT_MAX_DIFFS)
			max = DEFAULT_MAX_DIFFS;
		diff_list_free(&ex->ex_diffs);
		diff_list_init(&ex->ex_diffs, max);
		json_array_foreach(arr, i, d) {
			where = capture_where(wb, sizeof wb, "diffs", "[", i);
			rc = capture_diff_from_json(d, where, ex, cause);
			if (where != wb)
				free(where);
			if (rc != 0)
				return (-1);
		}
	}
	if (truncated)
		ex->ex_diffs.truncated = 1;
	return (0);
}

/*
 * Fill ex from the capture form of an exchange.  ex must have been set up
 * with exchange_init; on error ex may be partly filled and the caller
 * still frees it with exchange_free.  Return 0, or -1 with cause.
 */
int
exchange_from_json(json_t *obj, struct exchange *ex, char **cause)
{
	json_t		*v, *resp;
	static const char *resp_where[SIDE_MAX] = {
		[SIDE_PRIMARY] = "responses.primary",
		[SIDE_CANDIDATE] = "responses.candidate",
		[SIDE_SECONDARY] = "responses.secondary"
	};
	const char	*s;
	json_int_t	 version;
	int		 i, rc;

	*cause = NULL;
	if (!json_is_object(obj))
		return (capture_fail(cause, NULL, "exchange", "not a JSON "
		    "object"));
	if ((v = json_object_get(obj, "paritytap")) == NULL ||
	    !json_is_integer(v))
		return (capture_fail(cause, NULL, "paritytap", "missing or not "
		    "an integer format version"));
	version = json_integer_value(v);
	if (version > PARITYTAP_FORMAT) {
		xasprintf(cause, "capture format version %lld is newer than "
		    "this paritytap (%d)", (long long)version,
		    PARITYTAP_FORMAT);
		return (-1);
	}
	if (version < 1)
		return (capture_fail(cause, NULL, "paritytap", "bad format "
		    "version %lld", (long long)version));

	if ((v = json_object_get(obj, "id")) == NULL || !json_is_string(v))
		return (capture_fail(cause, NULL, "id", "missing or not a "
		    "string"));
	if (json_string_length(v) > TRACE_ID_MAX)
		return (capture_fail(cause, NULL, "id", "longer than %d bytes",
		    TRACE_ID_MAX));
	memcpy(ex->ex_id, json_string_value(v), json_string_length(v) + 1);

	if ((v = json_object_get(obj, "ts")) != NULL && (!json_is_string(v) ||
	    capture_parse_ts(json_string_value(v), &ex->ex_ts) != 0))
		return (capture_fail(cause, NULL, "ts", "not an RFC 3339 "
		    "time"));

	ex->ex_source = "unknown";
	if ((v = json_object_get(obj, "source")) != NULL) {
		if (!json_is_string(v))
			return (capture_fail(cause, NULL, "source",
			    "not a string"));
		if ((s = capture_source_name(json_string_value(v))) != NULL)
			ex->ex_source = s;
	}
	if (capture_get_string(obj, NULL, "route", &ex->ex_route, cause) != 0)
		return (-1);
	if (capture_request_from_json(json_object_get(obj, "request"), ex,
	    cause) != 0)
		return (-1);

	if ((resp = json_object_get(obj, "responses")) != NULL) {
		if (!json_is_object(resp))
			return (capture_fail(cause, NULL, "responses",
			    "not an object"));
		for (i = 0; i < SIDE_MAX; i++) {
			if ((v = json_object_get(resp, side_name(i))) == NULL)
				continue;
			rc = capture_response_from_json(v, resp_where[i],
			    &ex->ex_resp[i], cause);
			if (rc != 0)
				return (-1);
		}
		if ((v = json_object_get(resp, "secondary")) != NULL &&
		    json_is_true(json_object_get(v, "self_check")))
			ex->ex_self_check = 1;
	}

	/* A verdict this version does not know stays "not compared". */
	if ((v = json_object_get(obj, "verdict")) != NULL) {
		if (!json_is_string(v))
			return (capture_fail(cause, NULL, "verdict",
			    "not a string"));
		if (verdict_from_name(json_string_value(v),
		    &ex->ex_verdict) != 0)
			ex->ex_verdict = VERDICT_NONE;
	}
	if (capture_get_string(obj, NULL, "skip_reason", &ex->ex_skip_reason,
	    cause) != 0)
		return (-1);
	return (capture_diffs_from_json(obj, ex, cause));
}
