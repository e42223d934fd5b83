/* Capture files: the capture line written without the JSON tree (§3). */

#include <string.h>

#include "paritytap.h"

/*
 * A capture line is what json_dumps(exchange_to_json(ex, opts),
 * JSON_COMPACT | JSON_REAL_PRECISION(15)) gives, byte for byte; the
 * writer (capture_line) produces it without building the tree.
 */

/*
 * The capture line written straight into a buffer.  Each function below
 * writes what its capture_*_json counterpart builds, in the same order,
 * as jansson's compact dump prints it; test-capture.c checks the two
 * against each other byte for byte.
 */

/* Return the length of the well-formed UTF-8 sequence at p, or 0. */
size_t
capture_utf8_seq(const unsigned char *p, size_t left)
{
	size_t	 n, i;
	int	 lo = 0x80, hi = 0xbf;

	if (p[0] < 0x80)
		return (1);
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return (0);
	if (left < n || p[1] < lo || p[1] > hi)
		return (0);
	for (i = 2; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (0);
	}
	return (n);
}

/*
 * Append to b: buf_add with its common case inline, for the many short
 * pieces of a line (buf_add is out of line and a line has hundreds).
 */
static inline void
capture_put(struct buf *b, const void *data, size_t len)
{
	if (b->len + len < b->cap) {
		memcpy(b->data + b->len, data, len);
		b->len += len;
		b->data[b->len] = '\0';
	} else
		buf_add(b, data, len);
}

/* Take b back to start, dropping what was appended since. */
static void
capture_line_undo(struct buf *b, size_t start)
{
	b->len = start;
	if (b->data != NULL)
		b->data[start] = '\0';
}

/* Append the JSON escape of an ASCII control, '"' or '\\' as jansson does. */
static void
capture_line_escape(struct buf *b, unsigned char c)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			 u[6] = { '\\', 'u', '0', '0' };

	switch (c) {
	case '"':
		capture_put(b, "\\\"", 2);
		break;
	case '\\':
		capture_put(b, "\\\\", 2);
		break;
	case '\b':
		capture_put(b, "\\b", 2);
		break;
	case '\f':
		capture_put(b, "\\f", 2);
		break;
	case '\n':
		capture_put(b, "\\n", 2);
		break;
	case '\r':
		capture_put(b, "\\r", 2);
		break;
	case '\t':
		capture_put(b, "\\t", 2);
		break;
	default:
		u[4] = hex[c >> 4];
		u[5] = hex[c & 0xf];
		capture_put(b, u, 6);
		break;
	}
}

/*
 * Return 1 if none of the 8 bytes at p needs a look of its own: no byte
 * >= 0x80, < 0x20, '"' or '\\'.  (x - n) & ~x has a byte's high bit set
 * for some byte below n if and only if there is one (n <= 0x80), the
 * usual SWAR test; equality is that test on x ^ c below 1.
 */
static inline int
capture_plain8(const unsigned char *p)
{
	const uint64_t	 ones = 0x0101010101010101ULL, high = ones * 0x80;
	uint64_t	 x, q, bs;

	memcpy(&x, p, sizeof x);
	q = x ^ (ones * '"');
	bs = x ^ (ones * '\\');
	return (((x | ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) |
	    ((bs - ones) & ~bs)) & high) == 0);
}

/*
 * Append the characters of s inside a JSON string: '"', '\\' and controls
 * escaped, '/' and UTF-8 as they are (no JSON_ENSURE_ASCII).  A byte that
 * is not UTF-8 becomes U+FFFD and sets *lossy, as in capture_text; with
 * lossy NULL it fails the call instead, as json_stringn does.  Return 0,
 * or -1 on such a byte (what was appended is then left to the caller).
 */
static int
capture_line_chars(struct buf *b, const char *s, size_t len, int *lossy)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, run = 0, n;
	unsigned char		 c;

	while (i < len) {
		while (len - i >= 8 && capture_plain8(p + i))
			i += 8;
		if (i == len)
			break;
		c = p[i];
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80 && (n = capture_utf8_seq(p + i, len - i)) != 0) {
			i += n;
			continue;
		}
		capture_put(b, s + run, i - run);
		if (c < 0x80)
			capture_line_escape(b, c);
		else if (lossy == NULL)
			return (-1);
		else {
			*lossy = 1;
			capture_put(b, CAPTURE_REPLACEMENT, 3);
		}
		run = ++i;
	}
	capture_put(b, s + run, i - run);
	return (0);
}

/* Append "key": to b, after a comma unless it opens an object. */
static inline void
capture_line_key(struct buf *b, const char *key)
{
	char	 out[64];
	size_t	 n = strlen(key), skip;

	if (n > sizeof out - 4)
		fatalx("%s: key %s too long", __func__, key);
	skip = b->len == 0 || b->data[b->len - 1] == '{';
	out[0] = ',';
	out[1] = '"';
	memcpy(out + 2, key, n);
	out[n + 2] = '"';
	out[n + 3] = ':';
	capture_put(b, out + skip, n + 4 - skip);
}

/* Append "key":"s" as json_string(s) would make it; nothing if not UTF-8. */
static void
capture_line_string(struct buf *b, const char *key, const char *s)
{
	size_t	 start = b->len;

	capture_line_key(b, key);
	capture_put(b, "\"", 1);
	if (capture_line_chars(b, s, strlen(s), NULL) != 0) {
		capture_line_undo(b, start);
		return;
	}
	capture_put(b, "\"", 1);
}

/* Append "key":"s" with capture_text's lossy text; return 1 if lossy. */
static int
capture_line_lossy(struct buf *b, const char *key, const char *s, size_t len)
{
	int	 lossy = 0;

	if (s == NULL)
		s = "";
	capture_line_key(b, key);
	capture_put(b, "\"", 1);
	capture_line_chars(b, s, len, &lossy);
	capture_put(b, "\"", 1);
	return (lossy);
}

/*
 * After the opening quote of key's string: s's text, the closing quote,
 * and key_b64 when s is not UTF-8, as capture_set_text does.
 */
static void
capture_line_field(struct buf *b, const char *key, const char *s, size_t len)
{
	int	 lossy = 0;

	capture_line_chars(b, s, len, &lossy);
	capture_put(b, "\"", 1);
	if (!lossy)
		return;
	capture_put(b, ",\"", 2);
	capture_put(b, key, strlen(key));
	capture_put(b, "_b64\":\"", 7);
	capture_b64_add(b, s, len);
	capture_put(b, "\"", 1);
}

/* Append key, and key_b64 when s is not UTF-8, as capture_set_text does. */
static void
capture_line_text(struct buf *b, const char *key, const char *s, size_t len)
{
	capture_line_key(b, key);
	capture_put(b, "\"", 1);
	capture_line_field(b, key, s, len);
}

/* Append "key":true. */
static void
capture_line_true(struct buf *b, const char *key)
{
	capture_line_key(b, key);
	capture_put(b, "true", 4);
}

/* Append "key":v as jansson prints a json_int_t ("%lld"). */
static void
capture_line_int(struct buf *b, const char *key, json_int_t v)
{
	char			 out[24], *p = out + sizeof out;
	unsigned long long	 u;

	u = v < 0 ? -(unsigned long long)v : (unsigned long long)v;
	do {
		*--p = '0' + u % 10;
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	capture_line_key(b, key);
	capture_put(b, p, out + sizeof out - p);
}

/*
 * Append "ms":centis/100 as jansson prints json_real(centis / 100.0) under
 * JSON_REAL_PRECISION(15).  That is "%.15g" plus ".0" when it has neither
 * point nor exponent.  centis/100 is the double nearest the decimal, and
 * with 0 <= centis <= 10^14 that decimal has at most 15 significant
 * digits and is 0 or in [0.01, 10^12], so "%.15g" prints it exactly,
 * trailing zeros dropped and never in exponent form.
 */
static void
capture_line_ms(struct buf *b, long long centis)
{
	char	 frac[4];
	int	 f = (int)(centis % 100);

	capture_line_int(b, "ms", centis / 100);
	frac[0] = '.';
	frac[1] = '0' + f / 10;
	frac[2] = '0' + f % 10;
	capture_put(b, frac, f % 10 != 0 ? 3 : 2);
}

/*
 * Append "body" or "body_b64" for at most limit bytes of a body, as
 * capture_set_body does; return 1 if it was cut.
 */
static int
capture_line_body(struct buf *b, const char *data, size_t len, size_t limit)
{
	size_t	 n, text, start = b->len;
	int	 cut;

	if (data == NULL)
		data = "";
	cut = capture_body_cut(data, len, limit, &n, &text);
	capture_line_key(b, "body");
	capture_put(b, "\"", 1);
	/* Text is the common case: write it, and take it back if binary. */
	if (capture_line_chars(b, data, text, NULL) != 0) {
		capture_line_undo(b, start);
		capture_line_key(b, "body_b64");
		capture_put(b, "\"", 1);
		capture_b64_add(b, data, n);
	}
	capture_put(b, "\"", 1);
	return (cut);
}

/* Append "key":"<hex sha256 of data>". */
static void
capture_line_sha256(struct buf *b, const char *key, const void *data,
    size_t len)
{
	char	 sha[65];

	capture_sha256(data, len, sha);
	capture_line_string(b, key, sha);
}

/* Append the headers array, secrets redacted, as capture_headers_json. */
static void
capture_line_headers(struct buf *b, const struct headers *hs,
    const struct capture_opts *opts)
{
	const char	*value;
	size_t		 i;

	/* A line has many headers: each key is written as one piece. */
	capture_line_key(b, "headers");
	capture_put(b, "[", 1);
	for (i = 0; i < hs->n; i++) {
		if (i == 0)
			capture_put(b, "{\"name\":\"", 9);
		else
			capture_put(b, ",{\"name\":\"", 10);
		capture_line_field(b, "name", hs->h[i].name,
		    strlen(hs->h[i].name));
		value = capture_header_value(&hs->h[i], opts);
		capture_put(b, ",\"value\":\"", 10);
		capture_line_field(b, "value", value, strlen(value));
		capture_put(b, "}", 1);
	}
	capture_put(b, "]", 1);
}

/* Append the request object, as capture_request_json. */
static void
capture_line_request(struct buf *b, const struct exchange *ex,
    const struct capture_opts *opts, size_t limit)
{
	const struct http_request	*req = &ex->ex_req;
	char				 version[32];
	const char			*s;
	int				 cut;

	capture_line_key(b, "request");
	capture_put(b, "{", 1);
	s = req->method != NULL ? req->method : "";
	capture_line_text(b, "method", s, strlen(s));
	s = req->target != NULL ? req->target : "";
	capture_line_text(b, "target", s, strlen(s));
	capture_version(req, version, sizeof version);
	capture_line_string(b, "version", version);
	capture_line_headers(b, &req->headers, opts);
	cut = capture_line_body(b, req->body.data, req->body.len, limit);
	capture_line_int(b, "body_bytes", (json_int_t)req->body.len);
	if (cut || ex->ex_req_truncated)
		capture_line_true(b, "truncated");
	if (cut)
		capture_line_sha256(b, "body_sha256", req->body.data,
		    req->body.len);
	capture_put(b, "}", 1);
}

/* Append one side's response object, as capture_response_json. */
static void
capture_line_response(struct buf *b, const char *side,
    const struct response_side *rs, int self_check,
    const struct capture_opts *opts, size_t limit)
{
	struct capture_body	 view;
	int			 cut;

	capture_line_key(b, side);
	capture_put(b, "{", 1);
	capture_line_int(b, "status", rs->status);
	capture_line_headers(b, &rs->headers, opts);
	capture_body_view(&view, rs, opts, limit);
	cut = capture_line_body(b, view.data, view.len, limit);
	if (view.decoded != NULL) {
		capture_line_text(b, "body_decoded", view.decoded,
		    strlen(view.decoded));
	}
	if (view.error != NULL) {
		capture_line_text(b, "body_decode_error", view.error,
		    strlen(view.error));
	}
	capture_body_done(&view);
	capture_line_int(b, "body_bytes", (json_int_t)capture_body_bytes(rs));
	capture_line_ms(b, capture_centis(rs));
	if (rs->error != NULL)
		capture_line_string(b, "error", rs->error);
	if (rs->error_detail != NULL) {
		capture_line_text(b, "error_detail", rs->error_detail,
		    strlen(rs->error_detail));
	}
	if (cut || rs->truncated)
		capture_line_true(b, "truncated");
	if (rs->truncated && rs->body_sha256 != NULL)
		capture_line_string(b, "body_sha256", rs->body_sha256);
	else if (cut)
		capture_line_sha256(b, "body_sha256", rs->body.data,
		    rs->body.len);
	if (self_check)
		capture_line_true(b, "self_check");
	capture_put(b, "}", 1);
}

/* Append one diff object, NULL fields left out, as capture_diff_json. */
static void
capture_line_diff(struct buf *b, const struct diff *d,
    const struct capture_opts *opts)
{
	const char	*primary = capture_diff_value(d, d->primary, opts);
	const char	*candidate = capture_diff_value(d, d->candidate, opts);
	const char	*kind = diff_name(d);

	capture_put(b, "{", 1);
	capture_line_lossy(b, "kind", kind, kind != NULL ? strlen(kind) : 0);
	if (d->path != NULL)
		capture_line_lossy(b, "path", d->path, strlen(d->path));
	if (d->side >= 0 && d->side < SIDE_MAX)
		capture_line_string(b, "side", side_name(d->side));
	if (primary != NULL)
		capture_line_lossy(b, "primary", primary, strlen(primary));
	if (candidate != NULL) {
		capture_line_lossy(b, "candidate", candidate,
		    strlen(candidate));
	}
	if (d->detail != NULL)
		capture_line_lossy(b, "detail", d->detail, strlen(d->detail));
	if (d->noise)
		capture_line_true(b, "noise");
	if (d->hint != NULL)
		capture_line_lossy(b, "hint", d->hint, strlen(d->hint));
	if (diff_hint_key(d) != NULL)
		capture_line_lossy(b, diff_hint_key(d), d->hint_path,
		    strlen(d->hint_path));
	capture_put(b, "}", 1);
}

/*
 * Append the members that say how an exchange was judged (with a comma
 * before each, unless b ends an object's "{"): "verdict", "skip_reason"
 * when skipped, "diffs" and "diffs_truncated" when the list was cut.  rejudge puts them in place of
 * the recorded ones.
 */
void
capture_line_verdict(const struct exchange *ex,
    const struct capture_opts *opts, struct buf *b)
{
	size_t	 i;

	opts = capture_settings(opts);
	capture_line_string(b, "verdict", verdict_name(ex->ex_verdict));
	if (ex->ex_verdict == VERDICT_SKIPPED && ex->ex_skip_reason != NULL) {
		capture_line_text(b, "skip_reason", ex->ex_skip_reason,
		    strlen(ex->ex_skip_reason));
	}
	capture_line_key(b, "diffs");
	capture_put(b, "[", 1);
	for (i = 0; i < ex->ex_diffs.n; i++) {
		if (i != 0)
			capture_put(b, ",", 1);
		capture_line_diff(b, &ex->ex_diffs.v[i], opts);
	}
	capture_put(b, "]", 1);
	if (ex->ex_diffs.truncated)
		capture_line_true(b, "diffs_truncated");
}

/*
 * Append the compact capture line of ex, without newline, to b: the bytes
 * of exchange_to_json dumped as §3 says, without building the tree.
 */
void
capture_line(const struct exchange *ex, const struct capture_opts *opts,
    struct buf *b)
{
	char	 ts[64];
	size_t	 limit, i;

	opts = capture_settings(opts);
	limit = capture_limit(opts);

	capture_put(b, "{", 1);
	capture_line_int(b, "paritytap", PARITYTAP_FORMAT);
	capture_line_text(b, "id", ex->ex_id, strlen(ex->ex_id));
	format_rfc3339(&ex->ex_ts, ts, sizeof ts);
	capture_line_string(b, "ts", ts);
	capture_line_string(b, "source", ex->ex_source != NULL ?
	    ex->ex_source : "unknown");
	if (ex->ex_route != NULL) {
		capture_line_text(b, "route", ex->ex_route,
		    strlen(ex->ex_route));
	}
	capture_line_request(b, ex, opts, limit);

	capture_line_key(b, "responses");
	capture_put(b, "{", 1);
	for (i = 0; i < SIDE_MAX; i++) {
		if (!ex->ex_resp[i].present)
			continue;
		capture_line_response(b, side_name(i), &ex->ex_resp[i],
		    i == SIDE_SECONDARY && ex->ex_self_check, opts, limit);
	}
	capture_put(b, "}", 1);

	capture_line_verdict(ex, opts, b);
	capture_put(b, "}", 1);
}

/*
 * Return the capture line of an exchange, compact JSON WITHOUT the
 * trailing newline, allocated with malloc (the caller frees); never NULL.
 */
char *
exchange_to_line(const struct exchange *ex, const struct capture_opts *opts)
{
	struct buf	 b;

	buf_init(&b);
	capture_line(ex, opts, &b);
	return (buf_detach(&b));
}
