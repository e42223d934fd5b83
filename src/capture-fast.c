/*
 * The fast path of the capture reader: the lines paritytap itself writes
 * (capture-line.c) are read here without building a jansson tree.  Only a
 * strict subset of JSON is taken (known keys, each once; strings of
 * printable ASCII with the short escapes; plain numbers); anything else
 * makes capture_fast_read return -1 and the caller reads the line through
 * json_loadb and exchange_from_json, which give the same exchange for
 * every line taken here and the messages for every line that is not.
 */

#include <stdlib.h>
#include <string.h>

#include "paritytap.h"

/* A line being read. */
struct capture_fast {
	const char	*p;
	const char	*end;
	const char	*v;	/* the last string read */
	size_t		 vlen;
	struct buf	*s;	/* ... when it had to be decoded */
	unsigned	 skip;	/* CAPTURE_SKIP_*: read, checked, not kept */
};

/* Skip white space. */
static void
capture_fast_space(struct capture_fast *lx)
{
	while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' ||
	    *lx->p == '\n' || *lx->p == '\r'))
		lx->p++;
}

/* Take character c after white space; return 0, or -1 if it is not next. */
static int
capture_fast_char(struct capture_fast *lx, char c)
{
	capture_fast_space(lx);
	if (lx->p == lx->end || *lx->p != c)
		return (-1);
	lx->p++;
	return (0);
}

/* Take the literal true after white space; 0, or -1 if it is not next. */
static int
capture_fast_true(struct capture_fast *lx)
{
	capture_fast_space(lx);
	if (lx->end - lx->p < 4 || memcmp(lx->p, "true", 4) != 0)
		return (-1);
	lx->p += 4;
	return (0);
}

/* The bytes a plain string holds as they are: printable ASCII but " and \. */
static const unsigned char capture_fast_plain[256] = {
	[0x20 ... 0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7f] = 1
};

/* Skip the plain bytes from p. */
static const char *
capture_fast_run(const char *p, const char *end)
{
	while (p < end && capture_fast_plain[(unsigned char)*p])
		p++;
	return (p);
}

/*
 * Read a plain string: lx->v and lx->vlen are its text, in the line
 * itself when it has no escape (most strings: no copy), else decoded into
 * lx->s.  It holds no NUL: no escape makes one.  Return 0, or -1.
 */
static int
capture_fast_string(struct capture_fast *lx)
{
	const char	*p, *start, *end = lx->end;
	char		 e;

	if (capture_fast_char(lx, '"') != 0)
		return (-1);
	p = capture_fast_run(lx->p, end);
	if (p < end && *p == '"') {
		lx->v = lx->p;
		lx->vlen = p - lx->p;
		lx->p = p + 1;
		return (0);
	}
	buf_reset(lx->s);
	buf_add(lx->s, lx->p, p - lx->p);
	for (;;) {
		if (p == end)
			return (-1);
		if (*p++ == '"')
			break;
		if (p[-1] != '\\' || p == end)
			return (-1);
		switch (*p++) {
		case '"':
			e = '"';
			break;
		case '\\':
			e = '\\';
			break;
		case '/':
			e = '/';
			break;
		case 'b':
			e = '\b';
			break;
		case 'f':
			e = '\f';
			break;
		case 'n':
			e = '\n';
			break;
		case 'r':
			e = '\r';
			break;
		case 't':
			e = '\t';
			break;
		default:
			return (-1);
		}
		buf_add(lx->s, &e, 1);
		start = p;
		p = capture_fast_run(p, end);
		buf_add(lx->s, start, p - start);
	}
	lx->p = p;
	lx->v = lx->s->data;
	lx->vlen = lx->s->len;
	return (0);
}

/* The last string read, NUL-terminated (copied into lx->s if need be). */
static const char *
capture_fast_cstr(struct capture_fast *lx)
{
	if (lx->s->data == NULL || lx->v != lx->s->data) {
		buf_reset(lx->s);
		buf_add(lx->s, lx->v, lx->vlen);
		lx->v = lx->s->data;
	}
	return (lx->s->data);
}

/* The powers of ten a double holds exactly, up to a fraction's 15 digits. */
static const double capture_fast_pow10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
	1e13, 1e14, 1e15
};

/*
 * Read a plain number: an integer of at most 15 digits (*real 0) or, with
 * allow_real, one with a fraction of at most 15 digits (*real 1).  Return
 * 0 with its value in *v, or -1.
 */
static int
capture_fast_number(struct capture_fast *lx, int allow_real, int *real,
    double *v)
{
	char		 tmp[40];
	const char	*start;
	size_t		 n, f = 0;
	long long	 iv;

	capture_fast_space(lx);
	start = lx->p;
	n = 0;
	while (lx->p < lx->end && *lx->p >= '0' && *lx->p <= '9') {
		lx->p++;
		n++;
	}
	if (n == 0 || n > 15 || (n > 1 && *start == '0'))
		return (-1);
	*real = 0;
	if (lx->p < lx->end && *lx->p == '.') {
		if (!allow_real)
			return (-1);
		lx->p++;
		while (lx->p < lx->end && *lx->p >= '0' && *lx->p <= '9') {
			lx->p++;
			f++;
		}
		if (f == 0 || f > 15)
			return (-1);
		*real = 1;
	}
	if (lx->p < lx->end && (*lx->p == 'e' || *lx->p == 'E' ||
	    *lx->p == '-' || *lx->p == '+' || *lx->p == '.'))
		return (-1);
	if (*real && n + f <= 15) {
		/*
		 * Fifteen digits or fewer are exact in a double, and so is a
		 * power of ten up to 1e15: one division, rounded as IEEE 754
		 * rounds it, is the nearest double, as strtod finds it.
		 */
		for (iv = 0; start < lx->p; start++) {
			if (*start != '.')
				iv = iv * 10 + (*start - '0');
		}
		*v = (double)iv / capture_fast_pow10[f];
	} else if (*real) {
		memcpy(tmp, start, lx->p - start);
		tmp[lx->p - start] = '\0';
		*v = strtod(tmp, NULL);
	} else {
		/* At most 15 digits: exact in a long long and a double. */
		for (iv = 0; start < lx->p; start++)
			iv = iv * 10 + (*start - '0');
		*v = (double)iv;
	}
	return (0);
}

/* Read a non-negative integer; 0 with *v, or -1. */
static int
capture_fast_integer(struct capture_fast *lx, long long *v)
{
	double	 d;
	int	 real;

	if (capture_fast_number(lx, 0, &real, &d) != 0)
		return (-1);
	*v = (long long)d;
	return (0);
}

/*
 * Walk the members of an object: return 1 with the next key in lx->v and
 * the lexer before its value, 0 at the closing brace, or -1.  *first is 1
 * before the first member.
 */
static int
capture_fast_member(struct capture_fast *lx, int *first)
{
	const char	*p = lx->p, *k;

	/*
	 * The writer's own form first: a plain key right after the brace
	 * or the comma, then the colon, with no space anywhere.  A key is
	 * read at every member of a line, and this is most of the reading.
	 */
	if (lx->end - p >= 2 && *p == (*first ? '"' : ',') &&
	    (*first || *++p == '"')) {
		k = p + 1;
		p = capture_fast_run(k, lx->end);
		if (lx->end - p >= 2 && p[0] == '"' && p[1] == ':') {
			lx->v = k;
			lx->vlen = p - k;
			lx->p = p + 2;
			*first = 0;
			return (1);
		}
	}
	capture_fast_space(lx);
	if (lx->p < lx->end && *lx->p == '}') {
		lx->p++;
		return (0);
	}
	if (!*first && capture_fast_char(lx, ',') != 0)
		return (-1);
	*first = 0;
	if (capture_fast_string(lx) != 0 || capture_fast_char(lx, ':') != 0)
		return (-1);
	return (1);
}

/* Return bit for key in keys (NULL-terminated), or 0 if unknown. */
static unsigned
capture_fast_key(const struct capture_fast *lx, const char **keys)
{
	const char	*k;
	size_t		 j;
	unsigned	 i;

	/* The key holds no NUL: a match stops at the end of both. */
	for (i = 0; keys[i] != NULL; i++) {
		k = keys[i];
		for (j = 0; j < lx->vlen && k[j] == lx->v[j]; j++)
			/* nothing */;
		if (j == lx->vlen && k[j] == '\0' && j != 0)
			return (1U << i);
	}
	return (0);
}

/*
 * Take one header written exactly as the writer writes it, with no space
 * and no escape, into hs (or none): 0, or -1 leaving lx as it was for the
 * general reader.
 */
static int
capture_fast_header(struct capture_fast *lx, struct headers *hs)
{
	static const char	 pre[] = "{\"name\":\"", mid[] = "\",\"value\":\"";
	const char		*p = lx->p, *end = lx->end, *n, *v;

	if ((size_t)(end - p) < sizeof pre - 1 ||
	    memcmp(p, pre, sizeof pre - 1) != 0)
		return (-1);
	n = p + sizeof pre - 1;
	p = capture_fast_run(n, end);
	if ((size_t)(end - p) < sizeof mid - 1 ||
	    memcmp(p, mid, sizeof mid - 1) != 0)
		return (-1);
	v = p + sizeof mid - 1;
	p = capture_fast_run(v, end);
	if (end - p < 2 || p[0] != '"' || p[1] != '}')
		return (-1);
	if (hs != NULL)
		headers_add(hs, n, v - (sizeof mid - 1) - n, v, p - v);
	lx->p = p + 2;
	return (0);
}

/* Read a "headers" array of {"name","value"} objects into hs (or none). */
static int
capture_fast_headers(struct capture_fast *lx, struct headers *hs,
    struct buf *name)
{
	static const char	*keys[] = { "name", "value", NULL };
	const char		*nv = NULL;
	size_t			 nlen = 0;
	unsigned		 seen, k;
	int			 first, rc;

	if (capture_fast_char(lx, '[') != 0)
		return (-1);
	capture_fast_space(lx);
	if (lx->p < lx->end && *lx->p == ']') {
		lx->p++;
		return (0);
	}
	for (;;) {
		if (capture_fast_header(lx, hs) == 0)
			goto next;
		if (capture_fast_char(lx, '{') != 0)
			return (-1);
		seen = 0;
		first = 1;
		while ((rc = capture_fast_member(lx, &first)) == 1) {
			/* "name" first, then "value", as the writer puts them. */
			k = capture_fast_key(lx, keys);
			if (!(seen == 0 && k == 1) && !(seen == 1 && k == 2))
				return (-1);
			seen |= k;
			if (capture_fast_string(lx) != 0)
				return (-1);
			if (k != 1 || hs == NULL)
				continue;
			/* Kept while the value is read: copied if decoded. */
			if (lx->v == lx->s->data) {
				buf_reset(name);
				buf_add(name, lx->v, lx->vlen);
				nv = name->data;
			} else
				nv = lx->v;
			nlen = lx->vlen;
		}
		if (rc != 0 || seen != 3)
			return (-1);
		if (hs != NULL)
			headers_add(hs, nv, nlen, lx->v, lx->vlen);
next:
		capture_fast_space(lx);
		if (lx->p < lx->end && *lx->p == ']') {
			lx->p++;
			return (0);
		}
		if (capture_fast_char(lx, ',') != 0)
			return (-1);
	}
}

/*
 * Read one side of "responses" into rs; *self_check is set by
 * "self_check":true (the secondary's, capture_line_response).  Unless
 * keep, its headers and body are read and checked but not kept.
 */
static int
capture_fast_response(struct capture_fast *lx, struct response_side *rs,
    int *self_check, struct buf *name, int keep)
{
	static const char	*keys[] = { "status", "headers", "body",
				    "body_bytes", "ms", "self_check",
				    "body_decoded", "body_decode_error", NULL };
	unsigned		 seen = 0, k;
	long long		 n, bytes = -1;
	double			 d;
	int			 first = 1, rc, real;

	if (capture_fast_char(lx, '{') != 0)
		return (-1);
	rs->present = 1;
	while ((rc = capture_fast_member(lx, &first)) == 1) {
		if ((k = capture_fast_key(lx, keys)) == 0 || (seen & k))
			return (-1);
		seen |= k;
		switch (k) {
		case 1:
			if (capture_fast_integer(lx, &n) != 0 || n > 999)
				return (-1);
			rs->status = (int)n;
			break;
		case 2:
			if (capture_fast_headers(lx, keep ? &rs->headers :
			    NULL, name) != 0)
				return (-1);
			break;
		case 4:
			if (capture_fast_string(lx) != 0)
				return (-1);
			if (keep)
				buf_add(&rs->body, lx->v, lx->vlen);
			break;
		case 8:
			if (capture_fast_integer(lx, &bytes) != 0)
				return (-1);
			break;
		case 16:
			if (capture_fast_number(lx, 1, &real, &d) != 0)
				return (-1);
			rs->ms = d;
			break;
		case 32:
			if (capture_fast_true(lx) != 0)
				return (-1);
			*self_check = 1;
			break;
		case 64:
			if (capture_fast_string(lx) != 0)
				return (-1);
			if (keep)
				rs->body_decoded =
				    xstrdup(capture_fast_cstr(lx));
			break;
		case 128:
			/* Said for people: the body is as received. */
			if (capture_fast_string(lx) != 0)
				return (-1);
			break;
		}
	}
	if (rc != 0)
		return (-1);
	rs->body_bytes = rs->body.len;
	/* A decoded body's count is of the bytes received. */
	if (bytes >= 0 && ((uint64_t)bytes > rs->body_bytes ||
	    rs->body_decoded != NULL))
		rs->body_bytes = bytes;
	return (0);
}

/* Read the "request" object into ex. */
static int
capture_fast_request(struct capture_fast *lx, struct exchange *ex,
    struct buf *name)
{
	static const char	*keys[] = { "method", "target", "version",
				    "headers", "body", "body_bytes", NULL };
	struct http_request	*req = &ex->ex_req;
	unsigned		 seen = 0, k;
	long long		 n;
	int			 first = 1, rc, major, minor;

	if (capture_fast_char(lx, '{') != 0)
		return (-1);
	req->major = 1;
	req->minor = 1;
	while ((rc = capture_fast_member(lx, &first)) == 1) {
		if ((k = capture_fast_key(lx, keys)) == 0 || (seen & k))
			return (-1);
		seen |= k;
		if (k == 8) {
			if (capture_fast_headers(lx, &req->headers, name) != 0)
				return (-1);
			continue;
		}
		if (k == 32) {
			/* Not read back: the body is what counts. */
			if (capture_fast_integer(lx, &n) != 0)
				return (-1);
			continue;
		}
		if (capture_fast_string(lx) != 0)
			return (-1);
		if (k == 16)
			buf_add(&req->body, lx->v, lx->vlen);
		else if (k == 1)
			req->method = xstrndup(lx->v, lx->vlen);
		else if (k == 2)
			req->target = xstrndup(lx->v, lx->vlen);
		else {
			if (capture_scan_version(capture_fast_cstr(lx), &major,
			    &minor) != 2 || major < 0 || minor < 0)
				return (-1);
			req->major = major;
			req->minor = minor;
		}
	}
	/* A method and a target, neither empty nor holding a NUL. */
	if (rc != 0 || req->method == NULL || req->target == NULL ||
	    *req->method == '\0' || *req->target == '\0')
		return (-1);
	return (0);
}

/* Read the "responses" object into ex. */
static int
capture_fast_responses(struct capture_fast *lx, struct exchange *ex,
    struct buf *name)
{
	static const char	*keys[] = { "primary", "candidate", "secondary",
				    NULL };
	unsigned		 seen = 0, k;
	int			 first = 1, rc, self_check, side;

	if (capture_fast_char(lx, '{') != 0)
		return (-1);
	while ((rc = capture_fast_member(lx, &first)) == 1) {
		if ((k = capture_fast_key(lx, keys)) == 0 ||
		    (seen & k))
			return (-1);
		seen |= k;
		self_check = 0;
		side = k == 1 ? SIDE_PRIMARY : k == 2 ? SIDE_CANDIDATE :
		    SIDE_SECONDARY;
		if (capture_fast_response(lx, &ex->ex_resp[side],
		    &self_check, name,
		    (lx->skip & CAPTURE_SKIP_SIDE(side)) == 0) != 0)
			return (-1);
		/* Only the secondary can be the primary asked twice. */
		if (k == 4 && self_check)
			ex->ex_self_check = 1;
	}
	return (rc);
}

/*
 * Read the "diffs" array into ex, as capture_diffs_from_json does: each
 * one's members plain strings, "kind" required, each member once.  With
 * CAPTURE_SKIP_DIFFS they are checked the same way but not kept.
 */
static int
capture_fast_diffs(struct capture_fast *lx, struct exchange *ex)
{
	static const char	*keys[] = { "kind", "path", "side", "primary",
				    "candidate", "detail", "hint", "renamed_to",
				    "renamed_from", "noise", NULL };
	struct diff		*d;
	char			*v[9];
	unsigned		 seen, k, i;
	int			 first, rc = -1, side, noise;
	int			 keep = (lx->skip & CAPTURE_SKIP_DIFFS) == 0;

	if (keep) {
		diff_list_free(&ex->ex_diffs);
		diff_list_init(&ex->ex_diffs, SIZE_MAX);
	}
	if (capture_fast_char(lx, '[') != 0)
		return (-1);
	capture_fast_space(lx);
	if (lx->p < lx->end && *lx->p == ']') {
		lx->p++;
		goto done;
	}
	memset(v, 0, sizeof v);
	for (;;) {
		/* After a "," the next diff must follow: "[{...},]" is no list. */
		rc = -1;
		if (capture_fast_char(lx, '{') != 0)
			goto out;
		seen = 0;
		first = 1;
		noise = 0;
		while ((rc = capture_fast_member(lx, &first)) == 1) {
			rc = -1;
			if ((k = capture_fast_key(lx, keys)) == 0 ||
			    (seen & k))
				goto out;
			seen |= k;
			for (i = 0; (1U << i) != k; i++)
				/* nothing */;
			if (i == 9) {
				/* "noise": only true is written. */
				if (capture_fast_true(lx) != 0)
					goto out;
				noise = 1;
				continue;
			}
			if (capture_fast_string(lx) != 0)
				goto out;
			if (keep)
				v[i] = xstrndup(lx->v, lx->vlen);
		}
		/* "kind" is bit 1. */
		if (rc != 0 || (seen & 1) == 0) {
			rc = -1;
			goto out;
		}
		if (!keep)
			goto next;
		side = -1;
		for (i = 0; v[2] != NULL && i < SIDE_MAX; i++) {
			if (strcmp(v[2], side_name(i)) == 0)
				side = i;
		}
		if ((d = diff_list_add_name(&ex->ex_diffs, v[0], v[1],
		    side)) != NULL) {
			d->primary = v[3];
			d->candidate = v[4];
			d->detail = v[5];
			d->hint = v[6];
			/* As the jansson reader: the one for its kind. */
			i = d->kind == DIFF_EXTRA ? 8 : 7;
			d->hint_path = v[i];
			d->noise = noise;
			v[3] = v[4] = v[5] = v[6] = v[i] = NULL;
		}
		for (i = 0; i < 9; i++) {
			free(v[i]);
			v[i] = NULL;
		}
next:
		capture_fast_space(lx);
		if (lx->p < lx->end && *lx->p == ']') {
			lx->p++;
			break;
		}
		if (capture_fast_char(lx, ',') != 0) {
			rc = -1;
			goto out;
		}
	}
done:
	if (!keep)
		return (0);
	/* Keep every diff the writer kept, even over the default. */
	ex->ex_diffs.max = ex->ex_diffs.n < DEFAULT_MAX_DIFFS ?
	    DEFAULT_MAX_DIFFS : ex->ex_diffs.n;
	return (0);
out:
	for (i = 0; i < 9; i++)
		free(v[i]);
	return (rc);
}

/*
 * Fill ex (set up with exchange_init) from a capture line of the plain
 * form, but for the parts skip names (CAPTURE_SKIP_*), which are read and
 * checked as the others and left empty: a skipped response is present,
 * with its status and time, but no headers and no body.  s and name are
 * scratch buffers the caller may keep from one line to the next.  Return
 * 0, or -1 if the line is not of that form: ex may then be partly filled,
 * and the caller frees it and reads the line with jansson.
 */
int
capture_fast_parse(const char *line, size_t len, struct exchange *ex,
    unsigned skip, struct buf *s, struct buf *name)
{
	static const char	*keys[] = { "paritytap", "id", "ts", "source",
				    "route", "request", "responses", "verdict",
				    "diffs", NULL };
	struct capture_fast	 lx;
	const char		*v;
	unsigned		 seen = 0, k;
	long long		 n;
	int			 first = 1, rc = -1;

	lx.p = line;
	lx.end = line + len;
	lx.s = s;
	lx.skip = skip;
	ex->ex_source = "unknown";
	if (capture_fast_char(&lx, '{') != 0)
		goto out;
	while ((rc = capture_fast_member(&lx, &first)) == 1) {
		rc = -1;
		if ((k = capture_fast_key(&lx, keys)) == 0 || (seen & k))
			goto out;
		seen |= k;
		switch (k) {
		case 1:
			if (capture_fast_integer(&lx, &n) != 0 || n < 1 ||
			    n > PARITYTAP_FORMAT)
				goto out;
			break;
		case 32:
			if (capture_fast_request(&lx, ex, name) != 0)
				goto out;
			break;
		case 64:
			if (capture_fast_responses(&lx, ex, name) != 0)
				goto out;
			break;
		case 256:
			if (capture_fast_diffs(&lx, ex) != 0)
				goto out;
			break;
		default:
			if (capture_fast_string(&lx) != 0)
				goto out;
			if (k == 2) {
				if (lx.vlen > TRACE_ID_MAX)
					goto out;
				memcpy(ex->ex_id, lx.v, lx.vlen);
				ex->ex_id[lx.vlen] = '\0';
				break;
			}
			v = capture_fast_cstr(&lx);
			if (k == 4) {
				if (capture_parse_ts(v, &ex->ex_ts) != 0)
					goto out;
			} else if (k == 8) {
				if ((v = capture_source_name(v)) != NULL)
					ex->ex_source = v;
			} else if (k == 16)
				ex->ex_route = xstrdup(v);
			else if (verdict_from_name(v, &ex->ex_verdict) != 0)
				ex->ex_verdict = VERDICT_NONE;
			break;
		}
	}
	if (rc != 0)
		goto out;
	rc = -1;
	capture_fast_space(&lx);
	/* The format version, an id and a request are required. */
	if (lx.p != lx.end || (seen & (1 | 2 | 32)) != (1 | 2 | 32))
		goto out;
	rc = 0;
out:
	return (rc);
}

/* capture_fast_parse with nothing skipped and buffers of its own. */
int
capture_fast_read(const char *line, size_t len, struct exchange *ex)
{
	struct buf	 s, name;
	int		 rc;

	buf_init(&s);
	buf_init(&name);
	rc = capture_fast_parse(line, len, ex, 0, &s, &name);
	buf_free(&s);
	buf_free(&name);
	return (rc);
}
