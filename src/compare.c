/*
 * The compare engine: one verdict and a list of diffs per exchange
 * (DESIGN §4).  Status, bodies (decoded, then JSON shape or bytes) and
 * headers are all compared; the verdict is the most severe finding and
 * the diffs list every one of them, capped.
 */

#include <sys/types.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "paritytap.h"

/*
 * Headers that legitimately differ between producers, DESIGN §4.3.
 * Content-Encoding is among them: bodies are compared decoded, so one
 * side compressing and the other not is framing, not a divergence.
 */
static const char *compare_default_ignore[] = {
	"Date", "Server", "Content-Length", "Transfer-Encoding", "Connection",
	"Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Upgrade", "Age",
	"Via", "X-Request-Id", "X-Correlation-Id", "traceparent", "tracestate",
	"ETag", "Last-Modified", "Expires", "Content-Encoding", NULL
};

/*
 * One compared header name with its values joined.  A name that comes
 * once (the usual case) points at its header's own value; only a name
 * that repeats has its values joined in a buffer of its own.
 */
struct compare_header {
	char		*name;		/* lowercase, in the list's names */
	size_t		 order;		/* first position on the wire */
	const char	*first;		/* the first value */
	struct buf	 value;		/* all values joined, if repeated */
};

/* Order duplicate keys by path, then by key bytes. */
static int
compare_dup_cmp(const void *va, const void *vb)
{
	const struct json_dup	*a = *(const struct json_dup * const *)va;
	const struct json_dup	*b = *(const struct json_dup * const *)vb;
	size_t			 n = a->keylen < b->keylen ? a->keylen :
				    b->keylen;
	int			 r;

	if ((r = strcmp(a->path, b->path)) != 0)
		return (r);
	if (n != 0 && (r = memcmp(a->key, b->key, n)) != 0)
		return (r);
	return (a->keylen < b->keylen ? -1 : a->keylen > b->keylen);
}

/*
 * Report one side's duplicate keys that are not under an ignored path and
 * return them (allocated), sorted for matching, in *out.
 */
static size_t
compare_dups_side(struct ignore_set *ignore, const struct json_doc *doc,
    int side, struct diff_list *diffs, const struct json_dup ***out)
{
	const struct json_dup	**v;
	const struct json_dup	 *dup;
	struct buf		  child;
	struct diff		 *d;
	size_t			  i, n = 0;
	char			 *key;

	v = xreallocarray(NULL, doc->ndups ? doc->ndups : 1, sizeof *v);
	buf_init(&child);
	for (i = 0; i < doc->ndups; i++) {
		dup = &doc->dups[i];
		buf_reset(&child);
		buf_addstr(&child, dup->path);
		jsonpath_key(&child, dup->key, dup->keylen);
		if (jsonpath_ignored(ignore, child.data))
			continue;
		v[n++] = dup;
		key = json_render_string(dup->key, dup->keylen);
		if ((d = diff_list_add(diffs, DIFF_DUPLICATE_KEY, dup->path,
		    side)) != NULL) {
			xasprintf(&d->detail, "duplicate key %s at byte %zu",
			    key, dup->offset);
			if (side == SIDE_PRIMARY)
				d->primary = key;
			else
				d->candidate = key;
		} else
			free(key);
	}
	buf_free(&child);
	if (n > 1)
		qsort(v, n, sizeof *v, compare_dup_cmp);
	*out = v;
	return (n);
}

/*
 * Report the duplicate keys of both documents; return 1 if one side has
 * one the other has not (same object path, same key bytes).  All of them
 * are matched, whatever the diff cap.
 */
static int
compare_dups(struct ignore_set *ignore, const struct json_doc *a,
    const struct json_doc *b, struct diff_list *diffs)
{
	const struct json_dup	**va, **vb;
	size_t			  na, nb, i;
	int			  odd;

	na = compare_dups_side(ignore, a, SIDE_PRIMARY, diffs, &va);
	nb = compare_dups_side(ignore, b, SIDE_CANDIDATE, diffs, &vb);
	odd = na != nb;
	for (i = 0; !odd && i < na; i++)
		odd = compare_dup_cmp(&va[i], &vb[i]) != 0;
	free(va);
	free(vb);
	return (odd);
}

/*
 * Compare two parsed documents, a from the primary and b from the
 * candidate: VERDICT_SHAPE, VERDICT_VALUE or VERDICT_MATCH, or
 * VERDICT_BODY when either does not parse.  A duplicate key found on one
 * side only is a body difference too (parsers disagree on which value
 * wins); the same duplicate on both sides is listed but is parity.
 */
enum verdict
compare_json_docs(const struct compare_opts *opts,
    const struct route_rule *rule, const struct json_doc *a,
    const struct json_doc *b, struct diff_list *diffs)
{
	struct ignore_set	*ignore, *unordered = NULL;
	enum verdict		 v = VERDICT_BODY;
	int			 odd;

	ignore = jsonpath_ignore_new(opts, rule);
	if ((opts != NULL && opts->nunordered != 0) ||
	    (rule != NULL && rule->rr_nunordered != 0))
		unordered = jsonpath_set_new(opts != NULL ? opts->unordered :
		    NULL, opts != NULL ? opts->nunordered : 0,
		    rule != NULL ? rule->rr_unordered : NULL,
		    rule != NULL ? rule->rr_nunordered : 0);
	if (a->root == NULL)
		json_doc_error(a, SIDE_PRIMARY, diffs);
	if (b->root == NULL)
		json_doc_error(b, SIDE_CANDIDATE, diffs);
	odd = compare_dups(ignore, a, b, diffs);
	if (a->root != NULL && b->root != NULL) {
		v = shape_diff(opts, ignore, unordered, a, b, diffs);
		if (odd && v < VERDICT_BODY)
			v = VERDICT_BODY;
	}
	jsonpath_ignore_free(ignore);
	jsonpath_ignore_free(unordered);
	diff_list_sort(diffs);
	return (v);
}

/* Parse and compare two JSON texts, as compare_json_docs. */
enum verdict
compare_json_text(const struct compare_opts *opts,
    const struct route_rule *rule, const char *a, size_t alen, const char *b,
    size_t blen, struct diff_list *diffs)
{
	struct json_doc	 da, db;
	enum verdict	 v;

	json_doc_read(&da, a, alen);
	json_doc_read(&db, b, blen);
	v = compare_json_docs(opts, rule, &da, &db, diffs);
	json_doc_free(&da);
	json_doc_free(&db);
	return (v);
}

/* Return 1 if a Content-Type names JSON (application/json or a +json type). */
static int
compare_json_type(const char *ct)
{
	size_t	len;

	while (*ct == ' ' || *ct == '\t')
		ct++;
	len = strcspn(ct, ";");
	while (len > 0 && (ct[len - 1] == ' ' || ct[len - 1] == '\t'))
		len--;
	if (len == 16 && strncasecmp(ct, "application/json", 16) == 0)
		return (1);
	return (len > 17 && strncasecmp(ct, "application/", 12) == 0 &&
	    strncasecmp(ct + len - 5, "+json", 5) == 0);
}

/*
 * Return 1 if a side's body is to be compared as JSON: by its
 * Content-Type, or with none, by a body starting with { or [.
 */
static int
compare_is_json(const struct response_side *side, const char *body,
    size_t len)
{
	const char	*ct;
	size_t		 i;

	if ((ct = headers_get(&side->headers, "Content-Type")) != NULL)
		return (compare_json_type(ct));
	for (i = 0; i < len; i++) {
		if (body[i] != ' ' && body[i] != '\t' && body[i] != '\r' &&
		    body[i] != '\n')
			return (body[i] == '{' || body[i] == '[');
	}
	return (0);
}

/* Add a body diff with a formatted detail. */
static void printflike(3, 4)
compare_body_diff(struct diff_list *diffs, int side, const char *fmt, ...)
{
	struct diff	*d;
	va_list		 ap;

	if ((d = diff_list_add(diffs, DIFF_BODY, NULL, side)) == NULL)
		return;
	va_start(ap, fmt);
	xvasprintf(&d->detail, fmt, ap);
	va_end(ap);
}

/* Compare bodies of which one was cut at the capture limit. */
static enum verdict
compare_truncated(const struct response_side *p,
    const struct response_side *c, struct diff_list *diffs)
{
	if (p->body_sha256 != NULL && c->body_sha256 != NULL) {
		if (strcasecmp(p->body_sha256, c->body_sha256) == 0)
			return (VERDICT_MATCH);
		compare_body_diff(diffs, -1, "bodies differ (sha256 of the "
		    "whole bodies, %llu vs %llu bytes)",
		    (unsigned long long)p->body_bytes,
		    (unsigned long long)c->body_bytes);
		return (VERDICT_BODY);
	}
	compare_body_diff(diffs, p->truncated ? SIDE_PRIMARY : SIDE_CANDIDATE,
	    "%s body was truncated (%zu of %llu bytes kept), cannot compare",
	    p->truncated ? "primary" : "candidate",
	    p->truncated ? p->body.len : c->body.len,
	    (unsigned long long)(p->truncated ? p->body_bytes :
	    c->body_bytes));
	return (VERDICT_BODY);
}

/*
 * Compile a --normalize pattern (POSIX extended) onto a list; return 0,
 * or -1 with the regex library's complaint in *cause.
 */
int
compare_normalize_add(struct normalize **v, size_t *n, const char *text,
    char **cause)
{
	struct normalize	*nz;
	char			 err[256];
	int			 rc;

	*v = xreallocarray(*v, *n + 1, sizeof **v);
	nz = &(*v)[*n];
	if ((rc = regcomp(&nz->re, text, REG_EXTENDED)) != 0) {
		regerror(rc, &nz->re, err, sizeof err);
		xasprintf(cause, "'%s' is not a valid extended regular "
		    "expression: %s", text, err);
		return (-1);
	}
	nz->text = xstrdup(text);
	(*n)++;
	return (0);
}

/* Free a list of --normalize patterns. */
void
compare_normalize_free(struct normalize **v, size_t *n)
{
	size_t	i;

	for (i = 0; i < *n; i++) {
		regfree(&(*v)[i].re);
		free((*v)[i].text);
	}
	free(*v);
	*v = NULL;
	*n = 0;
}

/*
 * Replace every match of one pattern in in by a marker into out.  The
 * marker (a NUL and the pattern's number) keeps what was around a match
 * apart: "a1b" and "ab" stay different under [0-9]+.  An empty match
 * moves on by one byte.  Bodies may hold NUL, hence REG_STARTEND.
 */
static void
compare_normalize_one(const regex_t *re, size_t k, const struct buf *in,
    struct buf *out)
{
	regmatch_t	 m;
	size_t		 at = 0;
	char		 mark[2];
	int		 flags = 0;

	mark[0] = '\0';
	mark[1] = (char)('0' + k % 64);
	buf_reset(out);
	while (at <= in->len) {
		m.rm_so = (regoff_t)at;
		m.rm_eo = (regoff_t)in->len;
		if (regexec(re, in->data != NULL ? in->data : "", 1, &m,
		    flags | REG_STARTEND) != 0)
			break;
		buf_add(out, in->data + at, (size_t)m.rm_so - at);
		buf_add(out, mark, sizeof mark);
		if (m.rm_eo == m.rm_so) {
			if ((size_t)m.rm_eo < in->len)
				buf_add(out, in->data + m.rm_eo, 1);
			at = (size_t)m.rm_eo + 1;
		} else
			at = (size_t)m.rm_eo;
		flags = REG_NOTBOL;
	}
	if (at < in->len)
		buf_add(out, in->data + at, in->len - at);
}

/* Apply the --normalize patterns of the options, then the route's, to b. */
static void
compare_normalize(const struct compare_opts *opts,
    const struct route_rule *rule, struct buf *b)
{
	struct buf	 tmp, swap;
	size_t		 i, k = 0;

	buf_init(&tmp);
	for (i = 0; opts != NULL && i < opts->nnormalize; i++) {
		compare_normalize_one(&opts->normalize[i].re, k++, b, &tmp);
		swap = *b;
		*b = tmp;
		tmp = swap;
	}
	for (i = 0; rule != NULL && i < rule->rr_nnormalize; i++) {
		compare_normalize_one(&rule->rr_normalize[i].re, k++, b,
		    &tmp);
		swap = *b;
		*b = tmp;
		tmp = swap;
	}
	buf_free(&tmp);
}

/* Compare two bodies that are not both JSON, byte for byte. */
static enum verdict
compare_bytes(const struct buf *a, const struct buf *b, int ja, int jb,
    struct diff_list *diffs)
{
	size_t	i, n = a->len < b->len ? a->len : b->len;

	if (a->len == b->len && (n == 0 || memcmp(a->data, b->data, n) == 0))
		return (VERDICT_MATCH);
	if (ja != jb) {
		compare_body_diff(diffs, -1, "%s body is JSON, %s body is not "
		    "(%zu vs %zu bytes)", ja ? "primary" : "candidate",
		    ja ? "candidate" : "primary", a->len, b->len);
		return (VERDICT_BODY);
	}
	for (i = 0; i < n && a->data[i] == b->data[i]; i++)
		/* nothing */;
	compare_body_diff(diffs, -1, "bodies differ at byte %zu (%zu vs %zu "
	    "bytes)", i, a->len, b->len);
	return (VERDICT_BODY);
}

/* Return 1 if text bodies are normalized before they are compared. */
static int
compare_normalizing(const struct compare_opts *opts,
    const struct route_rule *rule)
{
	return ((opts != NULL && opts->nnormalize != 0) ||
	    (rule != NULL && rule->rr_nnormalize != 0));
}

/* The decoded body bytes compared: --max-body, as for bytes received. */
static size_t
compare_decode_limit(const struct compare_opts *opts)
{
	if (opts == NULL || opts->max_body == 0)
		return (DEFAULT_MAX_BODY);
	return ((size_t)opts->max_body);
}

/* Append a side's Content-Encoding values, as one list. */
static void
compare_codings(const struct response_side *rs, struct buf *b)
{
	size_t	 i;

	for (i = 0; i < rs->headers.n; i++) {
		if (header_name_is(rs->headers.h[i].name, "Content-Encoding"))
			buf_printf(b, "%s,", rs->headers.h[i].value);
	}
}

/*
 * Return 1 if two bodies are the same bytes under the same codings, so
 * that they decode to the same whatever their size: the same large gzip
 * file served by both is no divergence, though neither is decoded whole.
 */
static int
compare_same_coded(const struct response_side *p,
    const struct response_side *c)
{
	struct buf	 a, b;
	int		 same;

	if (p->body.len != c->body.len || (p->body.len != 0 &&
	    memcmp(p->body.data, c->body.data, p->body.len) != 0))
		return (0);
	if ((p->body_decoded == NULL) != (c->body_decoded == NULL) ||
	    (p->body_decoded != NULL &&
	    strcmp(p->body_decoded, c->body_decoded) != 0))
		return (0);
	buf_init(&a);
	buf_init(&b);
	compare_codings(p, &a);
	compare_codings(c, &b);
	same = a.len == b.len && (a.len == 0 ||
	    strcasecmp(a.data, b.data) == 0);
	buf_free(&a);
	buf_free(&b);
	return (same);
}

/*
 * Compare the bodies of two responses (decoded): as JSON when both are
 * JSON, else as bytes (after --normalize).  A body is decoded up to
 * --max-body and no further: one that decodes past it cannot be compared
 * and says so, as a body cut at --max-body does.  Returns the body part
 * of the verdict.
 */
enum verdict
compare_bodies(const struct compare_opts *opts, const struct route_rule *rule,
    const struct response_side *p, const struct response_side *c,
    struct diff_list *diffs)
{
	struct buf	 bp, bc;
	struct diff	*d;
	char		*cause[2], *detail;
	enum verdict	 v = VERDICT_MATCH;
	int		 jp, jc, rv[2], i;
	size_t		 limit = compare_decode_limit(opts);
	struct json_doc	 doc;

	if (p->truncated || c->truncated)
		return (compare_truncated(p, c, diffs));
	buf_init(&bp);
	buf_init(&bc);
	cause[0] = cause[1] = NULL;
	rv[0] = decode_body(p, &bp, limit, &cause[0]);
	rv[1] = decode_body(c, &bc, limit, &cause[1]);
	if (rv[0] == DECODE_OVER && rv[1] == DECODE_OVER &&
	    compare_same_coded(p, c))
		goto out;
	for (i = 0; i < 2; i++) {
		if (rv[i] == 0)
			continue;
		if (rv[i] == DECODE_OVER)
			compare_body_diff(diffs, i == 0 ? SIDE_PRIMARY :
			    SIDE_CANDIDATE, "%s body decodes to more than "
			    "--max-body (%zu bytes), cannot compare",
			    i == 0 ? "primary" : "candidate", limit);
		else
			compare_body_diff(diffs, i == 0 ? SIDE_PRIMARY :
			    SIDE_CANDIDATE, "%s", cause[i]);
		v = VERDICT_BODY;
	}
	if (v != VERDICT_MATCH)
		goto out;
	if (bp.len == 0 && bc.len == 0)
		goto out;
	jp = compare_is_json(p, bp.data, bp.len);
	jc = compare_is_json(c, bc.data, bc.len);
	if (jp && jc) {
		v = compare_json_text(opts, rule, bp.data, bp.len, bc.data,
		    bc.len, diffs);
		goto out;
	}
	if (!jp && !jc && compare_normalizing(opts, rule)) {
		/* Offsets in the detail are into the normalized bodies. */
		compare_normalize(opts, rule, &bp);
		compare_normalize(opts, rule, &bc);
		if ((v = compare_bytes(&bp, &bc, jp, jc, diffs)) !=
		    VERDICT_MATCH && diffs->n > 0 &&
		    diffs->v[diffs->n - 1].kind == DIFF_BODY) {
			d = &diffs->v[diffs->n - 1];
			detail = d->detail;
			xasprintf(&d->detail, "%s, after --normalize", detail);
			free(detail);
		}
		goto out;
	}
	v = compare_bytes(&bp, &bc, jp, jc, diffs);
	if (v != VERDICT_MATCH && jp != jc) {
		/* Say why the JSON side is not JSON, if it is not. */
		if (json_doc_read(&doc, jp ? bp.data : bc.data,
		    jp ? bp.len : bc.len) != 0)
			json_doc_error(&doc, jp ? SIDE_PRIMARY :
			    SIDE_CANDIDATE, diffs);
		json_doc_free(&doc);
	}
out:
	free(cause[0]);
	free(cause[1]);
	buf_free(&bp);
	buf_free(&bc);
	return (v);
}

/* Return 1 if a name is in a list of header names (case-insensitive). */
static int
compare_name_in(const char *name, char **v, size_t n)
{
	size_t	i;
	int	c = (unsigned char)name[0] | 0x20;

	/*
	 * The first letters differ for most: no call for those.  Setting
	 * the 0x20 bit folds ASCII case without a call; it also pairs some
	 * other bytes, which strcasecmp then tells apart.
	 */
	for (i = 0; i < n; i++) {
		if (((unsigned char)v[i][0] | 0x20) == c &&
		    strcasecmp(name, v[i]) == 0)
			return (1);
	}
	return (0);
}

/* Return 1 if a header name is not compared. */
static int
compare_header_ignored(const struct compare_opts *opts,
    const struct route_rule *rule, char **conn, size_t nconn,
    const char *name)
{
	const char	*trace;

	if (compare_name_in(name, (char **)compare_default_ignore,
	    sizeof compare_default_ignore / sizeof compare_default_ignore[0] -
	    1))
		return (1);
	trace = opts != NULL && opts->trace_header != NULL ?
	    opts->trace_header : DEFAULT_TRACE_HEADER;
	if (compare_name_in(name, (char **)&trace, 1))
		return (1);
	if (opts != NULL && compare_name_in(name, opts->ignore_headers,
	    opts->nignore_headers))
		return (1);
	if (rule != NULL && compare_name_in(name, rule->rr_ignore_headers,
	    rule->rr_nignore_headers))
		return (1);
	return (compare_name_in(name, conn, nconn));
}

/* Add the names a Connection header lists (hop-by-hop) to a list. */
static void
compare_connection_names(const struct headers *hs, char ***conn,
    size_t *nconn)
{
	char	*list, *tok, *last;
	size_t	 i;

	for (i = 0; i < hs->n; i++) {
		if (!header_name_is(hs->h[i].name, "Connection"))
			continue;
		list = xstrdup(hs->h[i].value);
		for (tok = strtok_r(list, ", \t", &last); tok != NULL;
		    tok = strtok_r(NULL, ", \t", &last))
			strlist_add(conn, nconn, tok);
		free(list);
	}
}

/* Order compared headers by name. */
static int
compare_header_cmp(const void *va, const void *vb)
{
	const struct compare_header *a = va, *b = vb;

	return (strcmp(a->name, b->name));
}

/*
 * Collect the compared headers of one side: one entry per lowercase name,
 * values joined with ", " in wire order, sorted by name.
 */
static struct compare_header *
compare_collect(const struct compare_opts *opts, const struct route_rule *rule,
    char **conn, size_t nconn, const struct headers *hs, size_t *np)
{
	struct compare_header	*v;
	size_t			 n = 0, i, j, len, names = 0;
	char			*lname, *next;

	/* One allocation for the entries and their lowercase names. */
	for (i = 0; i < hs->n; i++)
		names += strlen(hs->h[i].name) + 1;
	v = xmalloc(hs->n * sizeof *v + names + 1);
	next = (char *)(v + hs->n);
	for (i = 0; i < hs->n; i++) {
		if (compare_header_ignored(opts, rule, conn, nconn,
		    hs->h[i].name))
			continue;
		lname = next;
		len = strlen(hs->h[i].name);
		for (j = 0; j <= len; j++)
			lname[j] = (char)tolower((unsigned char)
			    hs->h[i].name[j]);
		for (j = 0; j < n && strcmp(v[j].name, lname) != 0; j++)
			/* nothing */;
		if (j == n) {
			next += len + 1;
			v[n].name = lname;
			v[n].order = i;
			v[n].first = hs->h[i].value;
			buf_init(&v[n].value);
			n++;
			continue;
		}
		if (v[j].value.len == 0)
			buf_addstr(&v[j].value, v[j].first);
		buf_add(&v[j].value, ", ", 2);
		buf_addstr(&v[j].value, hs->h[i].value);
	}
	if (n > 1)
		qsort(v, n, sizeof *v, compare_header_cmp);
	*np = n;
	return (v);
}

/* Free collected headers. */
static void
compare_collect_free(struct compare_header *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		buf_free(&v[i].value);
	free(v);
}

/* The value of a collected header: its values joined if it repeats. */
static const char *
compare_header_value(const struct compare_header *h)
{
	return (h->value.data != NULL ? h->value.data : h->first);
}

/* Return the media type of a Content-Type value, without its length. */
static const char *
compare_media(const char *ct, size_t *len)
{
	while (*ct == ' ' || *ct == '\t')
		ct++;
	*len = strcspn(ct, ";");
	while (*len > 0 && (ct[*len - 1] == ' ' || ct[*len - 1] == '\t'))
		(*len)--;
	return (ct);
}

/*
 * Return 1 if two Content-Type values name the same media type (case
 * does not matter, RFC 9110 8.3.1), whatever their parameters.  A side
 * that sent the header twice (values joined with ",") is compared whole.
 */
static int
compare_same_media(const char *a, const char *b)
{
	size_t	la, lb;

	if (strchr(a, ',') != NULL || strchr(b, ',') != NULL)
		return (0);
	a = compare_media(a, &la);
	b = compare_media(b, &lb);
	return (la == lb && strncasecmp(a, b, la) == 0);
}

/*
 * Compare two header lists (DESIGN §4.3): VERDICT_HEADER if a compared
 * header is missing, extra or different, else VERDICT_MATCH.
 */
enum verdict
compare_headers(const struct compare_opts *opts, const struct route_rule *rule,
    const struct headers *ph, const struct headers *ch,
    struct diff_list *diffs)
{
	struct compare_header	*pv, *cv;
	size_t			 np, nc, i = 0, j = 0, nconn = 0;
	char			**conn = NULL;
	const char		*a, *b;
	struct diff		*d;
	enum verdict		 v = VERDICT_MATCH;
	int			 r, ctparams;

	if (rule != NULL && rule->rr_ct_params != 0)
		ctparams = rule->rr_ct_params > 0;
	else
		ctparams = opts != NULL && opts->ignore_ct_params;
	compare_connection_names(ph, &conn, &nconn);
	compare_connection_names(ch, &conn, &nconn);
	pv = compare_collect(opts, rule, conn, nconn, ph, &np);
	cv = compare_collect(opts, rule, conn, nconn, ch, &nc);
	while (i < np || j < nc) {
		if (i == np)
			r = 1;
		else if (j == nc)
			r = -1;
		else
			r = strcmp(pv[i].name, cv[j].name);
		if (r < 0) {
			v = VERDICT_HEADER;
			if ((d = diff_list_add(diffs, DIFF_HEADER, pv[i].name,
			    SIDE_CANDIDATE)) != NULL) {
				a = compare_header_value(&pv[i]);
				d->primary = diff_short(a, strlen(a));
				d->detail = xstrdup("missing");
			}
			i++;
		} else if (r > 0) {
			v = VERDICT_HEADER;
			if ((d = diff_list_add(diffs, DIFF_HEADER, cv[j].name,
			    SIDE_CANDIDATE)) != NULL) {
				b = compare_header_value(&cv[j]);
				d->candidate = diff_short(b, strlen(b));
				d->detail = xstrdup("extra");
			}
			j++;
		} else {
			a = compare_header_value(&pv[i]);
			b = compare_header_value(&cv[j]);
			if (strcmp(a, b) != 0 && (!ctparams ||
			    strcmp(pv[i].name, "content-type") != 0 ||
			    !compare_same_media(a, b))) {
				v = VERDICT_HEADER;
				if ((d = diff_list_add(diffs, DIFF_HEADER,
				    pv[i].name, -1)) != NULL) {
					d->primary = diff_short(a,
					    strlen(a));
					d->candidate = diff_short(b,
					    strlen(b));
				}
			}
			i++;
			j++;
		}
	}
	compare_collect_free(pv, np);
	compare_collect_free(cv, nc);
	strlist_free(&conn, &nconn);
	return (v);
}

/* Add an error diff for a side that failed. */
static void
compare_error_diff(struct diff_list *diffs, int side,
    const struct response_side *rs)
{
	struct diff	*d;

	if ((d = diff_list_add(diffs, DIFF_ERROR, NULL, side)) == NULL)
		return;
	if (!rs->present)
		d->detail = xstrdup("no response");
	else if (rs->error_detail != NULL)
		xasprintf(&d->detail, "%s: %s", rs->error, rs->error_detail);
	else
		d->detail = xstrdup(rs->error);
}

/* Find the route rule for an exchange's route, or NULL. */
const struct route_rule *
compare_rule(const struct compare_opts *opts, const char *route)
{
	size_t	i;

	if (route == NULL)
		return (NULL);
	for (i = 0; i < opts->nroutes; i++) {
		if (opts->routes[i].rr_route != NULL &&
		    strcmp(opts->routes[i].rr_route, route) == 0)
			return (&opts->routes[i]);
	}
	return (NULL);
}

/*
 * Compare an exchange's primary and candidate responses, setting
 * ex_verdict and ex_diffs (which must be zeroed or initialized).  Skipped
 * and recorded exchanges are left alone.
 */
void
compare_exchange(const struct compare_opts *opts, struct exchange *ex)
{
	static const struct compare_opts defaults;
	const struct response_side	*p = &ex->ex_resp[SIDE_PRIMARY];
	const struct response_side	*c = &ex->ex_resp[SIDE_CANDIDATE];
	const struct route_rule		*rule;
	struct diff			*d;
	enum verdict			 v, w;
	int				 pf, cf;

	if (ex->ex_verdict == VERDICT_SKIPPED ||
	    ex->ex_verdict == VERDICT_RECORDED)
		return;
	if (opts == NULL)
		opts = &defaults;
	diff_list_free(&ex->ex_diffs);
	diff_list_init(&ex->ex_diffs, opts->max_diffs);
	if (!c->present && ex->ex_skip_reason != NULL) {
		ex->ex_verdict = VERDICT_SKIPPED;
		return;
	}
	pf = !p->present || p->error != NULL;
	cf = !c->present || c->error != NULL;
	if (pf || cf) {
		if (pf)
			compare_error_diff(&ex->ex_diffs, SIDE_PRIMARY, p);
		if (cf)
			compare_error_diff(&ex->ex_diffs, SIDE_CANDIDATE, c);
		if (pf && cf)
			ex->ex_verdict = VERDICT_BOTH_FAILED;
		else
			ex->ex_verdict = pf ? VERDICT_PRIMARY_ERROR :
			    VERDICT_CANDIDATE_ERROR;
		goto out;
	}

	v = VERDICT_MATCH;
	if (p->status != c->status) {
		v = VERDICT_STATUS;
		if ((d = diff_list_add(&ex->ex_diffs, DIFF_STATUS, NULL,
		    -1)) != NULL) {
			xasprintf(&d->primary, "%d", p->status);
			xasprintf(&d->candidate, "%d", c->status);
		}
	}
	if (p->status >= 500 && c->status >= 500) {
		/* Both sides failing identically is not parity. */
		ex->ex_verdict = VERDICT_BOTH_FAILED;
		goto out;
	}
	rule = compare_rule(opts, ex->ex_route);
	if ((w = compare_bodies(opts, rule, p, c, &ex->ex_diffs)) > v)
		v = w;
	if ((w = compare_headers(opts, rule, &p->headers, &c->headers,
	    &ex->ex_diffs)) > v)
		v = w;
	ex->ex_verdict = v;
out:
	diff_list_sort(&ex->ex_diffs);
}
