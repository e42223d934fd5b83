/* Exchanges: lifetime, verdict and side names, the live flag line. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "paritytap.h"

/* Longest flag line, in bytes, before colour codes. */
#define FLAG_LINE_MAX	2000

static const char *verdict_names[] = {
	[VERDICT_MATCH] = "match",
	[VERDICT_VALUE] = "value",
	[VERDICT_HEADER] = "header",
	[VERDICT_BODY] = "body",
	[VERDICT_SHAPE] = "shape",
	[VERDICT_STATUS] = "status",
	[VERDICT_BOTH_FAILED] = "both_failed",
	[VERDICT_CANDIDATE_ERROR] = "candidate_error",
	[VERDICT_PRIMARY_ERROR] = "primary_error",
	[VERDICT_SKIPPED] = "skipped",
	[VERDICT_RECORDED] = "recorded",
	[VERDICT_NONE] = "none"
};

static const char *side_names[] = {
	[SIDE_PRIMARY] = "primary",
	[SIDE_CANDIDATE] = "candidate",
	[SIDE_SECONDARY] = "secondary"
};

/* Initialize an empty exchange; source is a static string or NULL. */
void
exchange_init(struct exchange *ex, const char *source)
{
	memset(ex, 0, sizeof *ex);
	ex->ex_source = source;
	ex->ex_verdict = VERDICT_NONE;
	diff_list_init(&ex->ex_diffs, 0);
}

/* Free what an exchange holds; it is left zeroed, safe to free again. */
void
exchange_free(struct exchange *ex)
{
	int	 i;

	http_request_free(&ex->ex_req);
	for (i = 0; i < SIDE_MAX; i++)
		response_side_free(&ex->ex_resp[i]);
	free(ex->ex_route);
	free(ex->ex_skip_reason);
	diff_list_free(&ex->ex_diffs);
	exchange_drifts_free(ex);
	memset(ex, 0, sizeof *ex);
	ex->ex_verdict = VERDICT_NONE;
}

/* Return the capture-file name of a verdict. */
const char *
verdict_name(enum verdict v)
{
	if ((unsigned)v > VERDICT_NONE)
		return ("none");
	return (verdict_names[v]);
}

/* Look a verdict up by name; return 0 and set *v, or -1 if unknown. */
int
verdict_from_name(const char *name, enum verdict *v)
{
	int	 i;

	for (i = 0; i < VERDICT_NONE; i++) {
		if (strcmp(name, verdict_names[i]) == 0) {
			*v = i;
			return (0);
		}
	}
	return (-1);
}

/*
 * Of counts per verdict (VERDICT_NONE + 1 of them), how many fail the
 * default gate, replay's --fail-on (status, shape, body,
 * candidate_error): the "failing" of the JSON outputs of the commands
 * that have no --fail-on of their own.
 */
uint64_t
verdicts_failing(const uint64_t *counts)
{
	return (counts[VERDICT_STATUS] + counts[VERDICT_SHAPE] +
	    counts[VERDICT_BODY] + counts[VERDICT_CANDIDATE_ERROR]);
}

/* Return 1 if a verdict is a divergence worth flagging. */
int
verdict_is_divergence(enum verdict v)
{
	switch (v) {
	case VERDICT_MATCH:
	case VERDICT_SKIPPED:
	case VERDICT_RECORDED:
	case VERDICT_NONE:
		return (0);
	default:
		return ((unsigned)v < VERDICT_NONE);
	}
}

/* Return the name of a side, "both" for -1. */
const char *
side_name(enum side s)
{
	if ((unsigned)s >= SIDE_MAX)
		return ("both");
	return (side_names[s]);
}

/* Return the escape sequence a verdict is coloured with, or NULL. */
static const char *
exchange_flag_color(enum verdict v)
{
	switch (v) {
	case VERDICT_STATUS:
	case VERDICT_SHAPE:
	case VERDICT_BODY:
	case VERDICT_BOTH_FAILED:
	case VERDICT_CANDIDATE_ERROR:
	case VERDICT_PRIMARY_ERROR:
		return ("\033[1;31m");
	case VERDICT_HEADER:
	case VERDICT_VALUE:
		return ("\033[33m");
	default:
		return (NULL);
	}
}

/* Append a side's status to a flag line, "-" when it has none. */
static void
exchange_flag_status(struct buf *b, const struct response_side *rs)
{
	if (rs->present && rs->status != 0)
		buf_printf(b, "%d", rs->status);
	else
		buf_addstr(b, "-");
}

/* Append "(side)" for a diff reported on one side. */
static void
exchange_flag_side(struct buf *b, int side)
{
	if (side >= 0 && side < SIDE_MAX)
		buf_printf(b, "(%s)", side_name(side));
}

/* Render one diff as its flag-line token into b; b is left empty to skip. */
static void
exchange_flag_token(const struct exchange *ex, const struct diff *d,
    struct buf *b)
{
	const char	*kind = diff_name(d) != NULL ? diff_name(d) : "?";
	const char	*path = d->path != NULL ? d->path : "$";
	const char	*error;

	buf_reset(b);
	switch (d->kind) {
	case DIFF_STATUS:
		break;
	case DIFF_MISSING:
	case DIFF_EXTRA:
	case DIFF_ORDER:
		buf_printf(b, "%s %s", path, kind);
		exchange_flag_side(b, d->side);
		/* The missing half of a likely rename names the other. */
		if (d->kind == DIFF_MISSING && d->hint_path != NULL)
			buf_printf(b, " (renamed to %s?)", d->hint_path);
		break;
	case DIFF_TYPE:
		buf_printf(b, "%s type(%s->%s)", path,
		    d->primary != NULL ? d->primary : "?",
		    d->candidate != NULL ? d->candidate : "?");
		break;
	case DIFF_VALUE:
		buf_printf(b, "%s value", path);
		if (d->hint != NULL && strcmp(d->hint, "order") == 0)
			buf_addstr(b, "(order)");
		break;
	case DIFF_HEADER:
		buf_printf(b, "header:%s", d->path != NULL ? d->path : "?");
		if (d->detail != NULL && strstr(d->detail, "missing") != NULL)
			buf_addstr(b, "(missing)");
		else if (d->detail != NULL && strstr(d->detail, "extra") != NULL)
			buf_addstr(b, "(extra)");
		break;
	case DIFF_ERROR:
		error = NULL;
		if (d->side >= 0 && d->side < SIDE_MAX)
			error = ex->ex_resp[d->side].error;
		if (error == NULL)
			error = d->detail != NULL ? d->detail : "error";
		buf_printf(b, "%s:%s", side_name(d->side), error);
		break;
	case DIFF_BODY:
		buf_addstr(b, "body");
		break;
	case DIFF_INVALID_JSON:
	case DIFF_DUPLICATE_KEY:
	case DIFF_DEPTH:
		buf_addstr(b, kind);
		exchange_flag_side(b, d->side);
		break;
	case DIFF_OTHER:
		if (d->path != NULL)
			buf_printf(b, "%s ", d->path);
		buf_addstr(b, kind);
		exchange_flag_side(b, d->side);
		break;
	}
}

/*
 * Replace control bytes so that a JSON key or header name from the wire
 * cannot move the cursor or change colours on the terminal reading stderr.
 */
static void
exchange_flag_sanitize(char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			s[i] = '?';
	}
}

/* Cut a string to at most max bytes without splitting a UTF-8 sequence. */
static void
exchange_flag_cut(struct buf *b, size_t max)
{
	if (b->len <= max)
		return;
	b->len = max;
	while (b->len > 0 && ((unsigned char)b->data[b->len] & 0xc0) == 0x80)
		b->len--;
	b->data[b->len] = '\0';
}

/*
 * Return the live flag line of an exchange (DESIGN §5), allocated, without
 * a trailing newline; colour wraps "DIVERGE <verdict>" when color is set.
 */
char *
exchange_flag_line(const struct exchange *ex, int color)
{
	const struct response_side	*p = &ex->ex_resp[SIDE_PRIMARY];
	const struct response_side	*c = &ex->ex_resp[SIDE_CANDIDATE];
	struct buf			 rest, tok, line;
	const char			*esc;
	size_t				 i;
	int				 pstatus, cstatus;

	buf_init(&rest);
	buf_init(&tok);
	if (ex->ex_route != NULL)
		buf_addstr(&rest, ex->ex_route);
	else if (ex->ex_req.method != NULL && ex->ex_req.target != NULL)
		buf_printf(&rest, "%s %s", ex->ex_req.method,
		    ex->ex_req.target);
	else
		buf_addstr(&rest, "-");
	buf_printf(&rest, " id=%s status ", ex->ex_id[0] != '\0' ?
	    ex->ex_id : "-");
	pstatus = p->present ? p->status : 0;
	cstatus = c->present ? c->status : 0;
	exchange_flag_status(&rest, p);
	buf_addstr(&rest, pstatus == cstatus ? "=" : "!=");
	exchange_flag_status(&rest, c);
	exchange_flag_cut(&rest, FLAG_LINE_MAX);

	for (i = 0; i < ex->ex_diffs.n; i++) {
		/* Learned noise stays in the capture, off the line. */
		if (ex->ex_diffs.v[i].noise)
			continue;
		exchange_flag_token(ex, &ex->ex_diffs.v[i], &tok);
		if (tok.len == 0)
			continue;
		if (rest.len + 1 + tok.len > FLAG_LINE_MAX) {
			buf_addstr(&rest, " +more");
			break;
		}
		buf_addstr(&rest, " ");
		buf_add(&rest, tok.data, tok.len);
	}
	if (i == ex->ex_diffs.n && ex->ex_diffs.truncated)
		buf_addstr(&rest, " +more");
	buf_free(&tok);
	exchange_flag_sanitize(rest.data, rest.len);

	buf_init(&line);
	esc = color ? exchange_flag_color(ex->ex_verdict) : NULL;
	if (esc != NULL)
		buf_printf(&line, "%sDIVERGE %s\033[0m ", esc,
		    verdict_name(ex->ex_verdict));
	else
		buf_printf(&line, "DIVERGE %s ", verdict_name(ex->ex_verdict));
	buf_add(&line, rest.data, rest.len);
	buf_free(&rest);
	return (buf_detach(&line));
}

/*
 * Keep response body bytes for comparison, up to limit.  Past it, keep
 * the prefix and hash the whole body (*sha holds the running sha256), so
 * two large bodies can still be told equal or not.
 */
void
response_side_tee(struct response_side *rs, void **sha, uint64_t limit,
    const char *data, size_t len)
{
	EVP_MD_CTX	*ctx = *sha;
	size_t		 n;

	rs->body_bytes += len;
	if (ctx == NULL && rs->body.len + len <= limit) {
		buf_add(&rs->body, data, len);
		return;
	}
	if (ctx == NULL) {
		/* Keep exactly limit bytes: the part of this piece that fits. */
		n = limit > rs->body.len ? limit - rs->body.len : 0;
		buf_add(&rs->body, data, n);
		data += n;
		len -= n;
		if ((ctx = EVP_MD_CTX_new()) == NULL)
			fatalx("EVP_MD_CTX_new");
		EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
		EVP_DigestUpdate(ctx, rs->body.data, rs->body.len);
		rs->truncated = 1;
		*sha = ctx;
	}
	EVP_DigestUpdate(ctx, data, len);
}

/*
 * A side is done: finish its body hash, and record how it failed, if it
 * did: error becomes one of the static names (anything else is "reset",
 * the capture points at these strings) and detail is copied.
 */
void
response_side_end(struct response_side *rs, void **sha, const char *error,
    const char *detail)
{
	static const char	*errors[] = {
		"timeout", "connect", "reset", "too_large", "bad_response",
		"prefix", "tls"
	};
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen, j;
	size_t			 i;

	if (*sha != NULL) {
		EVP_DigestFinal_ex(*sha, md, &mdlen);
		EVP_MD_CTX_free(*sha);
		*sha = NULL;
		free(rs->body_sha256);
		rs->body_sha256 = xmalloc(mdlen * 2 + 1);
		for (j = 0; j < mdlen; j++)
			snprintf(rs->body_sha256 + j * 2, 3, "%02x", md[j]);
	}
	if (error == NULL)
		return;
	for (i = 0; i < sizeof errors / sizeof errors[0]; i++) {
		if (strcmp(error, errors[i]) == 0)
			rs->error = errors[i];
	}
	if (rs->error == NULL)
		rs->error = "reset";
	if (detail != NULL)
		rs->error_detail = xstrdup(detail);
}
