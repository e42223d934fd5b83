/* Capture files: exchanges as JSON Lines, the writer and the reader (§3). */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "paritytap.h"

/* Pending bytes that make capture_write hand the buffer to write(2). */
#define CAPTURE_FLUSH_SIZE	(64 * 1024)

/* Pending bytes kept while writes fail; lines beyond are dropped. */
#define CAPTURE_PENDING_MAX	(64 * 1024 * 1024)

/*
 * A capture line is what json_dumps(exchange_to_json(ex, opts),
 * JSON_COMPACT | JSON_REAL_PRECISION(15)) gives, byte for byte; the
 * writer (capture_line) produces it without building the tree.
 */

/* What a byte that is not UTF-8 becomes in text: U+FFFD. */
#define CAPTURE_REPLACEMENT	"\xef\xbf\xbd"

/* Bytes the reader asks zlib for at a time. */
#define CAPTURE_READ_SIZE	(64 * 1024)

struct capture {
	char			*c_path;	/* as given: file or directory */
	int			 c_dirmode;
	char			*c_file;	/* the file being written */
	int			 c_fd;		/* -1 when it could not be opened */
	uint64_t		 c_size;	/* bytes in c_file */
	uint64_t		 c_rotate_at;	/* rotate when c_size reaches it */
	struct capture_opts	 c_opts;	/* own copies of path and redact */
	struct buf		 c_pending;	/* whole lines not yet written */
	size_t			 c_sent;	/* bytes of the first pending
						   line already in c_file */
	int			 c_failing;	/* in a burst of write errors */
	pthread_mutex_t		 c_lock;
	_Atomic uint64_t	 c_bytes;
	_Atomic uint64_t	 c_errors;
};

struct capture_reader {
	char			*r_name;	/* for messages: path or "stdin" */
	gzFile			 r_gz;
	int			 r_lenient;
	unsigned long long	 r_lineno;
	struct buf		 r_line;
	char			*r_buf;		/* CAPTURE_READ_SIZE bytes */
	size_t			 r_pos;
	size_t			 r_len;
	int			 r_eof;
};

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
	"timeout", "connect", "reset", "too_large", "bad_response", NULL
};

/* Return the length of the well-formed UTF-8 sequence at p, or 0. */
static size_t
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
 * Return a new JSON string of s; bytes that are not UTF-8 become U+FFFD
 * and *lossy is set (jansson refuses such strings).
 */
static json_t *
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
static void
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
static void
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
static int
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
static const char *
capture_header_value(const struct header *h, const struct capture_opts *opts)
{
	return (capture_is_secret(h->name, opts) ? "[redacted]" : h->value);
}

/*
 * Return the value a diff shows for one side: a header diff on a secret
 * header shows "[redacted]", like the header itself, so a secret never
 * reaches a capture or an event line through a diff.
 */
static const char *
capture_diff_value(const struct diff *d, const char *value,
    const struct capture_opts *opts)
{
	if (value != NULL && d->kind != NULL && d->path != NULL &&
	    strcmp(d->kind, "header") == 0 && capture_is_secret(d->path, opts))
		return ("[redacted]");
	return (value);
}

/* Write the HTTP version of a request, "1.1" when unknown, into out. */
static void
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

/* Return the body bytes a side reports: at least those it holds. */
static uint64_t
capture_body_bytes(const struct response_side *rs)
{
	return (rs->body_bytes > rs->body.len ? rs->body_bytes : rs->body.len);
}

/*
 * Return a side's latency in hundredths of a millisecond (the two
 * decimals "ms" keeps); a non-finite or absurd latency is no number to
 * keep and gives 0.  At most 10^14.
 */
static long long
capture_centis(const struct response_side *rs)
{
	if (!(rs->ms > 0 && rs->ms < 1e12))
		return (0);
	return ((long long)(rs->ms * 100 + 0.5));
}

/* Return the options to use for opts (the defaults for NULL). */
static const struct capture_opts *
capture_settings(const struct capture_opts *opts)
{
	static const struct capture_opts	 defaults;

	return (opts != NULL ? opts : &defaults);
}

/* Return the bytes of each body a capture keeps under opts. */
static size_t
capture_limit(const struct capture_opts *opts)
{
	return (opts->body_limit != 0 ? opts->body_limit :
	    DEFAULT_CAPTURE_BODY);
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
	json_t		*obj;
	char		 sha[65];
	int		 cut;

	obj = json_object();
	json_object_set_new(obj, "status", json_integer(rs->status));
	json_object_set_new(obj, "headers",
	    capture_headers_json(&rs->headers, opts));
	cut = capture_set_body(obj, rs->body.data, rs->body.len, limit);
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
	json_t		*obj;

	obj = json_object();
	json_object_set_new(obj, "kind", capture_text(d->kind,
	    d->kind != NULL ? strlen(d->kind) : 0, NULL));
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
	return (obj);
}

/*
 * Return the capture form of an exchange (a new reference), keys in the
 * order of §3; opts may be NULL for the defaults.
 */
json_t *
exchange_to_json(const struct exchange *ex, const struct capture_opts *opts)
{
	json_t	*obj, *resp, *diffs;
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
		json_object_set_new(resp, side_name(i),
		    capture_response_json(&ex->ex_resp[i], opts, limit));
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
 * The capture line written straight into a buffer.  Each function below
 * writes what its capture_*_json counterpart builds, in the same order,
 * as jansson's compact dump prints it; test-capture.c checks the two
 * against each other byte for byte.
 */

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

/* Append key, and key_b64 when s is not UTF-8, as capture_set_text does. */
static void
capture_line_text(struct buf *b, const char *key, const char *s, size_t len)
{
	if (!capture_line_lossy(b, key, s, len))
		return;
	capture_put(b, ",\"", 2);
	capture_put(b, key, strlen(key));
	capture_put(b, "_b64\":\"", 7);
	capture_b64_add(b, s, len);
	capture_put(b, "\"", 1);
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

	capture_line_key(b, "headers");
	capture_put(b, "[", 1);
	for (i = 0; i < hs->n; i++) {
		capture_put(b, i == 0 ? "{" : ",{", i == 0 ? 1 : 2);
		capture_line_text(b, "name", hs->h[i].name,
		    strlen(hs->h[i].name));
		value = capture_header_value(&hs->h[i], opts);
		capture_line_text(b, "value", value, strlen(value));
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
    const struct response_side *rs, const struct capture_opts *opts,
    size_t limit)
{
	int	 cut;

	capture_line_key(b, side);
	capture_put(b, "{", 1);
	capture_line_int(b, "status", rs->status);
	capture_line_headers(b, &rs->headers, opts);
	cut = capture_line_body(b, rs->body.data, rs->body.len, limit);
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
	capture_put(b, "}", 1);
}

/* Append one diff object, NULL fields left out, as capture_diff_json. */
static void
capture_line_diff(struct buf *b, const struct diff *d,
    const struct capture_opts *opts)
{
	const char	*primary = capture_diff_value(d, d->primary, opts);
	const char	*candidate = capture_diff_value(d, d->candidate, opts);

	capture_put(b, "{", 1);
	capture_line_lossy(b, "kind", d->kind,
	    d->kind != NULL ? strlen(d->kind) : 0);
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
	capture_put(b, "}", 1);
}

/*
 * Append the compact capture line of ex, without newline, to b: the bytes
 * of exchange_to_json dumped as §3 says, without building the tree.
 */
static void
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
		capture_line_response(b, side_name(i), &ex->ex_resp[i], opts,
		    limit);
	}
	capture_put(b, "}", 1);

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
 * Read text field key (or its exact key_b64 form) of obj into out;
 * return 1 if found, 0 if absent, -1 with cause if ill-typed.
 */
static int
capture_get_text(json_t *obj, const char *where, const char *key,
    struct buf *out, char **cause)
{
	json_t	*v;
	char	*k;
	int	 rc = 1;

	buf_reset(out);
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
	char		*w;
	size_t		 i;
	int		 rc = 0;

	if ((arr = json_object_get(obj, "headers")) == NULL)
		return (0);
	if (!json_is_array(arr))
		return (capture_fail(cause, where, "headers", "not an array"));
	buf_init(&name);
	buf_init(&value);
	json_array_foreach(arr, i, h) {
		xasprintf(&w, "%s.headers[%zu]", where, i);
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

/* Parse an RFC 3339 time into tv; return 0, or -1 if malformed. */
static int
capture_parse_ts(const char *s, struct timeval *tv)
{
	struct tm	 tm;
	int		 y, mo, d, h, mi, sec, n = 0, oh, om, sign;
	long		 usec = 0, scale = 100000;
	time_t		 t;

	if (sscanf(s, "%4d-%2d-%2d%*[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi,
	    &sec, &n) != 6 || n == 0)
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
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
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
	    capture_body_from_json(obj, where, &rs->body, cause) != 0)
		return (-1);
	rs->body_bytes = rs->body.len;
	if ((v = json_object_get(obj, "body_bytes")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return (capture_fail(cause, where, "body_bytes",
			    "not a byte count"));
		if ((uint64_t)json_integer_value(v) > rs->body_bytes)
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
		if (!json_is_string(v) || sscanf(json_string_value(v), "%d.%d",
		    &major, &minor) != 2 || major < 0 || minor < 0)
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
	diff = diff_list_add(&ex->ex_diffs, kind, path, side);
	if (diff != NULL && (capture_get_string(d, where, "primary",
	    &diff->primary, cause) != 0 ||
	    capture_get_string(d, where, "candidate", &diff->candidate,
	    cause) != 0 ||
	    capture_get_string(d, where, "detail", &diff->detail, cause) != 0))
		goto out;
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
	char	*where;
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
			xasprintf(&where, "diffs[%zu]", i);
			rc = capture_diff_from_json(d, where, ex, cause);
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
	const char	*s;
	char		*where;
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
		if ((s = capture_static(capture_sources,
		    json_string_value(v))) != NULL)
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
			xasprintf(&where, "responses.%s", side_name(i));
			rc = capture_response_from_json(v, where,
			    &ex->ex_resp[i], cause);
			free(where);
			if (rc != 0)
				return (-1);
		}
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

/* Write the current UTC time as YYYYMMDDTHHMMSSZ into out. */
static void
capture_stamp(char *out, size_t len)
{
	struct tm	 tm;
	time_t		 t = time(NULL);

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y%m%dT%H%M%SZ", &tm);
}

/* Open (create, append) path for writing; return the fd or -1. */
static int
capture_open_fd(const char *path, int exclusive)
{
	int	 flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;

	if (exclusive)
		flags |= O_EXCL;
	return (open(path, flags, 0600));
}

/* Open the next timestamped file in the capture directory. */
static int
capture_open_dirfile(struct capture *c, char **cause)
{
	char		 stamp[32], *file;
	unsigned int	 seq;
	int		 fd;

	capture_stamp(stamp, sizeof stamp);
	for (seq = 0;; seq++) {
		if (seq == 0)
			xasprintf(&file, "%s/paritytap-%s-%ld.jsonl",
			    c->c_path, stamp, (long)getpid());
		else
			xasprintf(&file, "%s/paritytap-%s-%ld.%u.jsonl",
			    c->c_path, stamp, (long)getpid(), seq);
		if ((fd = capture_open_fd(file, 1)) != -1)
			break;
		if (errno != EEXIST || seq == 10000) {
			xasprintf(cause, "%s: %s", file, strerror(errno));
			free(file);
			return (-1);
		}
		free(file);
	}
	free(c->c_file);
	c->c_file = file;
	c->c_fd = fd;
	return (0);
}

/*
 * Open the capture's file: in directory mode a new timestamped file
 * unless same is set, else c_file again.  Return 0, or -1 with cause.
 */
static int
capture_open_file(struct capture *c, int same, char **cause)
{
	struct stat	 st;

	if (c->c_dirmode && !same) {
		if (capture_open_dirfile(c, cause) != 0)
			return (-1);
	} else {
		if ((c->c_fd = capture_open_fd(c->c_file, 0)) == -1) {
			xasprintf(cause, "%s: %s", c->c_file, strerror(errno));
			return (-1);
		}
	}
	c->c_size = 0;
	if (fstat(c->c_fd, &st) == 0)
		c->c_size = st.st_size;
	c->c_rotate_at = c->c_opts.rotate_size;
	c->c_sent = 0;
	return (0);
}

/* Count one capture error. */
static void
capture_count_error(struct capture *c)
{
	atomic_fetch_add(&c->c_errors, 1);
}

/* Remove the first n bytes of the pending lines. */
static void
capture_consume(struct capture *c, size_t n)
{
	memmove(c->c_pending.data, c->c_pending.data + n,
	    c->c_pending.len - n);
	c->c_pending.len -= n;
	c->c_pending.data[c->c_pending.len] = '\0';
}

/*
 * Write the pending lines.  A line a failed or short write cut stays
 * pending, its written start counted in c_sent, so the next try finishes
 * it rather than starting another line on the torn one.  Return 0, or -1
 * if something is still pending.
 */
static int
capture_flush_locked(struct capture *c)
{
	char	*cause = NULL;
	size_t	 off, done;
	ssize_t	 n;
	int	 rc = 0;

	if (c->c_pending.len == 0)
		return (0);
	if (c->c_fd == -1 && capture_open_file(c, 1, &cause) != 0) {
		if (!c->c_failing)
			log_warnx("capture: %s", cause);
		free(cause);
		c->c_failing = 1;
		capture_count_error(c);
		return (-1);
	}
	off = c->c_sent;
	while (off < c->c_pending.len) {
		n = write(c->c_fd, c->c_pending.data + off,
		    c->c_pending.len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			rc = -1;
			break;
		}
		off += n;
		c->c_size += n;
		atomic_fetch_add(&c->c_bytes, n);
	}
	/* Keep the line a short write cut, and how much of it is out. */
	for (done = off; done > 0; done--) {
		if (c->c_pending.data[done - 1] == '\n')
			break;
	}
	capture_consume(c, done);
	c->c_sent = off - done;
	if (rc != 0) {
		if (!c->c_failing)
			log_warn("capture: %s: write", c->c_file);
		c->c_failing = 1;
		capture_count_error(c);
	} else if (c->c_failing) {
		log_info("capture: %s: writing again", c->c_file);
		c->c_failing = 0;
	}
	return (rc);
}

/*
 * Close the current file.  If it ends in the start of a line a write cut,
 * that start is truncated away so the whole line can go to the next file;
 * failing that the start is ended with a newline and the line dropped, so
 * no file holds a line that another runs into.
 */
static void
capture_close_fd(struct capture *c)
{
	char	*nl;
	size_t	 n;

	if (c->c_fd == -1)
		return;
	if (c->c_sent != 0) {
		if (ftruncate(c->c_fd, c->c_size - c->c_sent) == 0) {
			c->c_size -= c->c_sent;
			atomic_fetch_sub(&c->c_bytes, c->c_sent);
		} else {
			if (write(c->c_fd, "\n", 1) != 1)
				log_warn("capture: %s: write", c->c_file);
			nl = memchr(c->c_pending.data, '\n', c->c_pending.len);
			n = nl != NULL ? (size_t)(nl - c->c_pending.data) + 1 :
			    c->c_pending.len;
			capture_consume(c, n);
			capture_count_error(c);
		}
		c->c_sent = 0;
	}
	if (close(c->c_fd) != 0)
		log_warn("capture: %s: close", c->c_file);
	c->c_fd = -1;
}

/* Move a full file aside as <base>-<stamp>[.N].jsonl; 0 or -1. */
static int
capture_rename_full(struct capture *c)
{
	struct stat	 st;
	char		 stamp[32], *base, *to;
	size_t		 len;
	unsigned int	 seq;
	int		 rc;

	len = strlen(c->c_file);
	if (len > 6 && strcmp(c->c_file + len - 6, ".jsonl") == 0)
		len -= 6;
	base = xstrndup(c->c_file, len);
	capture_stamp(stamp, sizeof stamp);
	for (seq = 0;; seq++) {
		if (seq == 0)
			xasprintf(&to, "%s-%s.jsonl", base, stamp);
		else
			xasprintf(&to, "%s-%s.%u.jsonl", base, stamp, seq);
		if (lstat(to, &st) != 0 || seq == 10000)
			break;
		free(to);
	}
	if ((rc = rename(c->c_file, to)) != 0)
		log_warn("capture: rename %s to %s", c->c_file, to);
	free(to);
	free(base);
	return (rc);
}

/* Start a new file once the current one is full (--rotate-size). */
static void
capture_rotate(struct capture *c)
{
	char	*cause = NULL;

	if (c->c_dirmode) {
		capture_close_fd(c);
		if (capture_open_file(c, 0, &cause) != 0) {
			log_warnx("capture: %s", cause);
			free(cause);
			capture_count_error(c);
		}
		return;
	}
	if (capture_rename_full(c) != 0) {
		/* Keep writing where we are; try again one size later. */
		capture_count_error(c);
		c->c_rotate_at = c->c_size + c->c_opts.rotate_size;
		return;
	}
	capture_close_fd(c);
	if (capture_open_file(c, 1, &cause) != 0) {
		log_warnx("capture: %s", cause);
		free(cause);
		capture_count_error(c);
	}
}

/*
 * Open a capture writer on opts->path: a file, or a directory (an existing
 * one, or a path ending in '/') of timestamped files.  NULL with cause.
 */
struct capture *
capture_open(const struct capture_opts *opts, char **cause)
{
	struct capture	*c;
	struct stat	 st;
	size_t		 i, len;

	if (opts->path == NULL || *opts->path == '\0') {
		xasprintf(cause, "capture: no path given");
		return (NULL);
	}
	c = xcalloc(1, sizeof *c);
	c->c_fd = -1;
	c->c_opts = *opts;
	c->c_opts.redact = NULL;
	c->c_opts.nredact = 0;
	for (i = 0; i < opts->nredact; i++)
		strlist_add(&c->c_opts.redact, &c->c_opts.nredact,
		    opts->redact[i]);
	c->c_path = xstrdup(opts->path);
	c->c_opts.path = c->c_path;
	len = strlen(c->c_path);
	if (c->c_path[len - 1] == '/') {
		c->c_dirmode = 1;
		while (len > 1 && c->c_path[len - 1] == '/')
			c->c_path[--len] = '\0';
		if (mkdir(c->c_path, 0700) != 0 && errno != EEXIST) {
			xasprintf(cause, "%s: %s", opts->path, strerror(errno));
			goto fail;
		}
	}
	if (stat(c->c_path, &st) == 0 && S_ISDIR(st.st_mode))
		c->c_dirmode = 1;
	else if (c->c_dirmode) {
		xasprintf(cause, "%s: not a directory", opts->path);
		goto fail;
	}
	if (!c->c_dirmode)
		c->c_file = xstrdup(c->c_path);
	if (capture_open_file(c, 0, cause) != 0)
		goto fail;
	buf_init(&c->c_pending);
	pthread_mutex_init(&c->c_lock, NULL);
	return (c);
fail:
	strlist_free(&c->c_opts.redact, &c->c_opts.nredact);
	free(c->c_file);
	free(c->c_path);
	free(c);
	return (NULL);
}

/*
 * Queue the capture line of ex; the pending lines are written once they
 * pass 64 KiB, and the file rotated when full.  Return 0, or -1 if the
 * line was lost or a write failed (counted in capture_errors).
 */
int
capture_write(struct capture *c, const struct exchange *ex)
{
	int	 rc = 0;

	pthread_mutex_lock(&c->c_lock);
	if (c->c_failing && c->c_pending.len > CAPTURE_PENDING_MAX) {
		/* The disk has been failing for a while: bound the memory. */
		capture_count_error(c);
		rc = -1;
		goto out;
	}
	capture_line(ex, &c->c_opts, &c->c_pending);
	buf_add(&c->c_pending, "\n", 1);
	if (c->c_pending.len >= CAPTURE_FLUSH_SIZE)
		rc = capture_flush_locked(c);
	if (c->c_opts.rotate_size != 0 &&
	    c->c_size + c->c_pending.len >= c->c_rotate_at) {
		if (capture_flush_locked(c) == 0)
			capture_rotate(c);
		else
			rc = -1;
	}
out:
	pthread_mutex_unlock(&c->c_lock);
	return (rc);
}

/* Write everything pending; return 0, or -1 if a write failed. */
int
capture_flush(struct capture *c)
{
	int	 rc;

	pthread_mutex_lock(&c->c_lock);
	rc = capture_flush_locked(c);
	pthread_mutex_unlock(&c->c_lock);
	return (rc);
}

/*
 * Flush, close and reopen the same file (SIGHUP after logrotate moved it).
 * Return 0, or -1 with cause; later writes retry the open.
 */
int
capture_reopen(struct capture *c, char **cause)
{
	int	 rc;

	pthread_mutex_lock(&c->c_lock);
	capture_flush_locked(c);
	capture_close_fd(c);
	rc = capture_open_file(c, 1, cause);
	pthread_mutex_unlock(&c->c_lock);
	return (rc);
}

/* Flush and close a capture writer and free it. */
void
capture_close(struct capture *c)
{
	size_t	 i, lost = 0;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->c_lock);
	capture_flush_locked(c);
	capture_close_fd(c);
	if (c->c_pending.len != 0) {
		for (i = 0; i < c->c_pending.len; i++) {
			if (c->c_pending.data[i] == '\n')
				lost++;
		}
		atomic_fetch_add(&c->c_errors, lost);
		log_warnx("capture: %s: %zu lines not written", c->c_file,
		    lost);
	}
	pthread_mutex_unlock(&c->c_lock);
	pthread_mutex_destroy(&c->c_lock);
	buf_free(&c->c_pending);
	strlist_free(&c->c_opts.redact, &c->c_opts.nredact);
	free(c->c_file);
	free(c->c_path);
	free(c);
}

/* Return the bytes written to capture files so far; any thread. */
uint64_t
capture_bytes(struct capture *c)
{
	return (c != NULL ? atomic_load(&c->c_bytes) : 0);
}

/* Return the write errors and lost lines so far; any thread. */
uint64_t
capture_errors(struct capture *c)
{
	return (c != NULL ? atomic_load(&c->c_errors) : 0);
}

/*
 * Open a capture for reading: .jsonl or .jsonl.gz (zlib reads both), "-"
 * for stdin.  Return NULL with cause on error.
 */
struct capture_reader *
capture_reader_open(const char *path, int lenient, char **cause)
{
	struct capture_reader	*r;
	struct stat		 st;
	gzFile			 gz;
	int			 fd;

	if (strcmp(path, "-") == 0)
		fd = dup(STDIN_FILENO);
	else
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		xasprintf(cause, "%s: %s", path, strerror(EISDIR));
		close(fd);
		return (NULL);
	}
	if ((gz = gzdopen(fd, "rb")) == NULL) {
		xasprintf(cause, "%s: cannot read", path);
		close(fd);
		return (NULL);
	}
	gzbuffer(gz, 128 * 1024);
	r = xcalloc(1, sizeof *r);
	r->r_name = xstrdup(strcmp(path, "-") == 0 ? "stdin" : path);
	r->r_gz = gz;
	r->r_lenient = lenient;
	r->r_buf = xmalloc(CAPTURE_READ_SIZE);
	buf_init(&r->r_line);
	return (r);
}

/*
 * Read the next line, of any length, into r_line; *newline says whether it
 * ended in one.  Return 1, 0 at end of file, or -1 with cause.
 */
static int
capture_reader_line(struct capture_reader *r, int *newline, char **cause)
{
	const char	*msg;
	char		*start, *nl;
	int		 n, zerr;

	buf_reset(&r->r_line);
	buf_add(&r->r_line, "", 0);
	for (;;) {
		if (r->r_pos == r->r_len) {
			if (r->r_eof)
				break;
			n = gzread(r->r_gz, r->r_buf, CAPTURE_READ_SIZE);
			if (n < 0) {
				msg = gzerror(r->r_gz, &zerr);
				if (zerr == Z_ERRNO)
					msg = strerror(errno);
				xasprintf(cause, "%s:%llu: read error: %s",
				    r->r_name, r->r_lineno + 1, msg);
				return (-1);
			}
			if (n == 0)
				r->r_eof = 1;
			r->r_pos = 0;
			r->r_len = n;
			continue;
		}
		start = r->r_buf + r->r_pos;
		nl = memchr(start, '\n', r->r_len - r->r_pos);
		if (nl != NULL) {
			buf_add(&r->r_line, start, nl - start);
			r->r_pos += nl - start + 1;
			*newline = 1;
			return (1);
		}
		buf_add(&r->r_line, start, r->r_len - r->r_pos);
		r->r_pos = r->r_len;
	}
	*newline = 0;
	return (r->r_line.len != 0);
}

/* Return 1 if a line holds only white space. */
static int
capture_blank(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return (0);
	}
	return (1);
}

/*
 * Read the next exchange into ex (set up here with exchange_init; the
 * caller frees it with exchange_free after 1).  Return 1, 0 at the end
 * (a torn last line is skipped with a warning), or -1 with cause
 * "FILE:LINE: what"; under lenient a malformed line is skipped.
 */
int
capture_reader_next(struct capture_reader *r, struct exchange *ex,
    char **cause)
{
	json_error_t	 err;
	json_t		*obj;
	char		*why;
	int		 newline, rc;

	for (;;) {
		if ((rc = capture_reader_line(r, &newline, cause)) != 1)
			return (rc);
		r->r_lineno++;
		if (capture_blank(r->r_line.data, r->r_line.len))
			continue;
		obj = json_loadb(r->r_line.data, r->r_line.len, JSON_ALLOW_NUL,
		    &err);
		if (obj == NULL && !newline) {
			log_warnx("%s:%llu: skipping torn last line", r->r_name,
			    r->r_lineno);
			return (0);
		}
		why = NULL;
		if (obj == NULL) {
			xasprintf(&why, "invalid JSON at column %d: %s",
			    err.column, err.text);
		} else {
			exchange_init(ex, NULL);
			if (exchange_from_json(obj, ex, &why) == 0) {
				json_decref(obj);
				return (1);
			}
			exchange_free(ex);
			json_decref(obj);
		}
		/* A newer format is no malformed line to skip. */
		if (!r->r_lenient || strncmp(why, "capture format version",
		    22) == 0) {
			xasprintf(cause, "%s:%llu: %s", r->r_name, r->r_lineno,
			    why);
			free(why);
			return (-1);
		}
		log_warnx("%s:%llu: %s (skipped)", r->r_name, r->r_lineno, why);
		free(why);
	}
}

/* Close a capture reader. */
void
capture_reader_close(struct capture_reader *r)
{
	if (r == NULL)
		return;
	gzclose(r->r_gz);
	buf_free(&r->r_line);
	free(r->r_buf);
	free(r->r_name);
	free(r);
}
