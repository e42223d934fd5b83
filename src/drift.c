/*
 * Drifts, DESIGN §5: one difference between the sides, the unit of
 * alerting.  A signature (report.c) is everything one exchange carried; a
 * drift is one thing it carried: route, kind, folded path, side.  N
 * independent drifts stay N drifts whatever combinations they come in.
 *
 * Which differences are drifts: status, missing, extra, type, order,
 * header, invalid_json, duplicate_key, depth, and the candidate's (or the
 * secondary's) errors.  Value and byte differences are not: they are what
 * noise is made of, and are judged per exchange by the verdict.  An
 * exchange whose primary failed says nothing about the candidate and
 * carries no drift.
 *
 * A baseline file lists drifts known and accepted, one per line, the
 * four fields separated by tabs; '#' starts a comment line.
 */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paritytap.h"

#define DRIFT_FIELDS	4

static const char *drift_state_names[] = {
	[DRIFT_NEW] = "new",
	[DRIFT_ONGOING] = "ongoing",
	[DRIFT_RESOLVED] = "resolved",
	[DRIFT_REGRESSED] = "regressed"
};

/* The name of a state: "new", "ongoing", "resolved", "regressed". */
const char *
drift_state_name(enum drift_state s)
{
	if ((unsigned)s > DRIFT_REGRESSED)
		return ("?");
	return (drift_state_names[s]);
}

/* Find a state by name; 0, or -1 if none has it. */
int
drift_state_parse(const char *name, enum drift_state *s)
{
	unsigned	i;

	for (i = 0; i <= DRIFT_REGRESSED; i++) {
		if (strcmp(drift_state_names[i], name) == 0) {
			*s = (enum drift_state)i;
			return (0);
		}
	}
	return (-1);
}

/* The route an exchange is counted under; allocated. */
char *
exchange_route(const struct exchange *ex)
{
	if (ex->ex_route != NULL && *ex->ex_route != '\0')
		return (xstrdup(ex->ex_route));
	if (ex->ex_req.target != NULL)
		return (route_template(ex->ex_req.method, ex->ex_req.target,
		    NULL, 0));
	return (xstrdup("-"));
}

/*
 * A field fit for the tab-separated key: tabs, line ends and other
 * control characters (none of which a route, folded path or header name
 * can hold once parsed) become '?', an empty field "-".
 */
static char *
drift_field(const char *s)
{
	char	*f, *p;

	if (s == NULL || *s == '\0')
		return (xstrdup("-"));
	f = xstrdup(s);
	for (p = f; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return (f);
}

/* Fill d from its parts; the strings are copied. */
static void
drift_set(struct drift *d, const char *route, const char *kind,
    const char *path, const char *side, enum verdict v)
{
	d->route = drift_field(route);
	d->kind = drift_field(kind);
	d->path = drift_field(path);
	d->side = drift_field(side);
	d->verdict = v;
}

/* Free a drift's strings. */
void
drift_clear(struct drift *d)
{
	free(d->route);
	free(d->kind);
	free(d->path);
	free(d->side);
	memset(d, 0, sizeof *d);
}

/* Free an array of n drifts. */
void
drift_free_all(struct drift *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		drift_clear(&v[i]);
	free(v);
}

/* Copy a drift. */
void
drift_copy(struct drift *dst, const struct drift *src)
{
	drift_set(dst, src->route, src->kind, src->path, src->side,
	    src->verdict);
}

/* Order drifts by route, kind, path, side. */
int
drift_cmp(const struct drift *a, const struct drift *b)
{
	int	r;

	if ((r = strcmp(a->route, b->route)) != 0)
		return (r);
	if ((r = strcmp(a->kind, b->kind)) != 0)
		return (r);
	if ((r = jsonpath_cmp(a->path, b->path)) != 0)
		return (r);
	return (strcmp(a->side, b->side));
}

static int
drift_qcmp(const void *a, const void *b)
{
	return (drift_cmp(a, b));
}

/* The verdict a side's error gives. */
static enum verdict
drift_error_verdict(int side)
{
	return (side == SIDE_PRIMARY ? VERDICT_PRIMARY_ERROR :
	    VERDICT_CANDIDATE_ERROR);
}

/*
 * Make the drift of one diff into d; 0 if the diff is not a drift.
 * route is the exchange's.
 */
static int
drift_of_diff(const struct exchange *ex, const struct diff *d,
    const char *route, struct drift *out)
{
	const char	*kind = diff_name(d), *error = NULL;
	const char	*side = side_name(d->side);
	char		*k = NULL, *path = NULL;
	enum verdict	 v = VERDICT_SHAPE;
	size_t		 i;

	/* Learned noise (noise.c) is no drift. */
	if (d->noise)
		return (0);
	switch (d->kind) {
	case DIFF_STATUS:
		xasprintf(&k, "status %s->%s",
		    d->primary != NULL ? d->primary : "?",
		    d->candidate != NULL ? d->candidate : "?");
		v = VERDICT_STATUS;
		break;
	case DIFF_MISSING:
	case DIFF_EXTRA:
	case DIFF_ORDER:
		path = jsonpath_fold(d->path != NULL ? d->path : "$");
		break;
	case DIFF_TYPE:
		xasprintf(&k, "type(%s->%s)",
		    d->primary != NULL ? d->primary : "?",
		    d->candidate != NULL ? d->candidate : "?");
		path = jsonpath_fold(d->path != NULL ? d->path : "$");
		break;
	case DIFF_HEADER:
		xasprintf(&k, "header:%s", d->path != NULL ? d->path : "?");
		for (i = 7; k[i] != '\0'; i++)
			k[i] = tolower((unsigned char)k[i]);
		v = VERDICT_HEADER;
		break;
	case DIFF_INVALID_JSON:
	case DIFF_DUPLICATE_KEY:
	case DIFF_DEPTH:
		if (d->path != NULL)
			path = jsonpath_fold(d->path);
		v = VERDICT_BODY;
		break;
	case DIFF_ERROR:
		if (d->side == SIDE_PRIMARY)
			return (0);
		if (d->side >= 0 && d->side < SIDE_MAX)
			error = ex->ex_resp[d->side].error;
		xasprintf(&k, "%s_error:%s", side,
		    error != NULL ? error : "error");
		v = drift_error_verdict(d->side);
		break;
	default:
		/* value, body, and kinds read from elsewhere */
		return (0);
	}
	drift_set(out, route, k != NULL ? k : kind, path, side, v);
	free(k);
	free(path);
	return (1);
}

/*
 * The drifts one exchange carries, sorted and unique, in *out (allocated;
 * drift_free_all); returns how many.  Exchanges not compared, skipped,
 * recorded, or whose primary failed carry none.
 */
size_t
drift_extract(const struct exchange *ex, struct drift **out)
{
	struct drift	*v = NULL;
	char		*route;
	size_t		 n = 0, i, j;

	*out = NULL;
	switch (ex->ex_verdict) {
	case VERDICT_MATCH:
	case VERDICT_SKIPPED:
	case VERDICT_RECORDED:
	case VERDICT_NONE:
	case VERDICT_PRIMARY_ERROR:
	case VERDICT_BOTH_FAILED:
		return (0);
	default:
		break;
	}
	route = exchange_route(ex);
	for (i = 0; i < ex->ex_diffs.n; i++) {
		v = xreallocarray(v, n + 1, sizeof *v);
		if (drift_of_diff(ex, &ex->ex_diffs.v[i], route, &v[n]))
			n++;
	}
	free(route);
	if (n == 0) {
		free(v);
		return (0);
	}
	qsort(v, n, sizeof *v, drift_qcmp);
	for (i = j = 0; i < n; i++) {
		if (j > 0 && drift_cmp(&v[j - 1], &v[i]) == 0)
			drift_clear(&v[i]);
		else if (j != i) {
			v[j++] = v[i];
			memset(&v[i], 0, sizeof v[i]);
		} else
			j++;
	}
	*out = v;
	return (j);
}

/* The key: "ROUTE\tKIND\tPATH\tSIDE", a baseline line; allocated. */
char *
drift_key(const struct drift *d)
{
	char	*k;

	xasprintf(&k, "%s\t%s\t%s\t%s", d->route, d->kind, d->path, d->side);
	return (k);
}

/*
 * A drift's id: 16 hex digits of FNV-1a over its key, the same in every
 * run, process and version that keeps the key.
 */
void
drift_id(const struct drift *d, char id[DRIFT_ID_LEN + 1])
{
	uint64_t	 h = 1469598103934665603ULL;
	const char	*f[DRIFT_FIELDS] = { d->route, d->kind, d->path, d->side };
	const char	*p;
	int		 i;

	for (i = 0; i < DRIFT_FIELDS; i++) {
		for (p = f[i]; *p != '\0'; p++) {
			h ^= (unsigned char)*p;
			h *= 1099511628211ULL;
		}
		h ^= '\t';
		h *= 1099511628211ULL;
	}
	snprintf(id, DRIFT_ID_LEN + 1, "%016llx", (unsigned long long)h);
}

/* Trim spaces at both ends of s in place; return its start. */
static char *
drift_trim(char *s)
{
	char	*e;

	while (*s == ' ')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\r'))
		*--e = '\0';
	return (s);
}

/*
 * Parse a baseline line "ROUTE\tKIND\tPATH\tSIDE" (spaces around the
 * fields are trimmed) into d; 0, or -1 with *why saying what is wrong.
 */
int
drift_parse(const char *line, struct drift *d, const char **why)
{
	char	*copy, *f[DRIFT_FIELDS], *p, *tab;
	int	 n = 0;

	memset(d, 0, sizeof *d);
	copy = xstrdup(line);
	p = copy;
	for (;;) {
		tab = strchr(p, '\t');
		if (tab != NULL)
			*tab = '\0';
		if (n == DRIFT_FIELDS) {
			n++;
			break;
		}
		f[n++] = drift_trim(p);
		if (tab == NULL)
			break;
		p = tab + 1;
	}
	if (n != DRIFT_FIELDS) {
		*why = n < DRIFT_FIELDS ? "fewer than 4 tab-separated fields "
		    "(ROUTE, KIND, PATH, SIDE)" : "more than 4 tab-separated "
		    "fields (ROUTE, KIND, PATH, SIDE)";
		free(copy);
		return (-1);
	}
	for (n = 0; n < DRIFT_FIELDS; n++) {
		if (*f[n] == '\0') {
			*why = "an empty field (write - for none)";
			free(copy);
			return (-1);
		}
	}
	if (strcmp(f[3], "primary") != 0 && strcmp(f[3], "candidate") != 0 &&
	    strcmp(f[3], "secondary") != 0 && strcmp(f[3], "both") != 0) {
		*why = "the side is not primary, candidate, secondary or both";
		free(copy);
		return (-1);
	}
	drift_set(d, f[0], f[1], f[2], f[3], VERDICT_NONE);
	free(copy);
	return (0);
}

/* --- baselines ----------------------------------------------------- */

struct baseline {
	struct strmap	*keys;
	size_t		 n;
};

/* An empty baseline. */
struct baseline *
baseline_new(void)
{
	struct baseline	*b;

	b = xcalloc(1, sizeof *b);
	b->keys = strmap_new();
	return (b);
}

/* Add a drift to a baseline (again is fine). */
void
baseline_add(struct baseline *b, const struct drift *d)
{
	char	*k;

	k = drift_key(d);
	if (strmap_get(b->keys, k) == NULL) {
		strmap_put(b->keys, k, b);
		b->n++;
	}
	free(k);
}

/*
 * Read a baseline file: blank lines and lines starting with '#' (after
 * spaces) are skipped, every other line is a drift.  NULL with *err set
 * ("FILE:LINE: what is wrong") on a bad line or a file that cannot be
 * read.
 */
struct baseline *
baseline_load(const char *path, char **err)
{
	struct baseline	*b;
	struct drift	 d;
	const char	*why;
	char		*line = NULL, *p;
	size_t		 size = 0;
	ssize_t		 len;
	unsigned long	 lineno = 0;
	FILE		*f;

	*err = NULL;
	if ((f = fopen(path, "r")) == NULL) {
		xasprintf(err, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	b = baseline_new();
	while ((len = getline(&line, &size, f)) != -1) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (memchr(line, '\0', (size_t)len) != NULL) {
			xasprintf(err, "%s:%lu: a NUL byte: not a baseline "
			    "file", path, lineno);
			break;
		}
		for (p = line; *p == ' ' || *p == '\t'; p++)
			/* nothing */;
		if (*p == '\0' || *p == '\r' || *p == '#')
			continue;
		if (drift_parse(line, &d, &why) != 0) {
			xasprintf(err, "%s:%lu: %s", path, lineno, why);
			break;
		}
		baseline_add(b, &d);
		drift_clear(&d);
	}
	if (*err == NULL && ferror(f))
		xasprintf(err, "%s: %s", path, strerror(errno));
	free(line);
	fclose(f);
	if (*err != NULL) {
		baseline_free(b);
		return (NULL);
	}
	return (b);
}

/* The drift is in the baseline. */
int
baseline_has(const struct baseline *b, const struct drift *d)
{
	char	*k;
	int	 found;

	if (b == NULL)
		return (0);
	k = drift_key(d);
	found = strmap_get(b->keys, k) != NULL;
	free(k);
	return (found);
}

/* How many drifts a baseline lists. */
size_t
baseline_count(const struct baseline *b)
{
	return (b != NULL ? b->n : 0);
}

void
baseline_free(struct baseline *b)
{
	if (b == NULL)
		return;
	strmap_free(b->keys);
	free(b);
}

/*
 * Write drifts (sorted by the caller) as a baseline file to f, with a
 * header saying what it is and how to edit it; comment, when not NULL,
 * is one more line of the header (what it was made from).
 */
void
baseline_write(FILE *f, const struct drift *v, size_t n, const char *comment)
{
	size_t	i;
	char	*k;

	fputs("# paritytap baseline: drifts known and accepted, counted but "
	    "never alerted.\n"
	    "# One per line: ROUTE, KIND, PATH and SIDE separated by tabs "
	    "(- for none);\n"
	    "# lines starting with # are comments.  See paritytap(1), "
	    "--baseline.\n", f);
	if (comment != NULL)
		fprintf(f, "# %s\n", comment);
	for (i = 0; i < n; i++) {
		k = drift_key(&v[i]);
		fprintf(f, "%s\n", k);
		free(k);
	}
}
