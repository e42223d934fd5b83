/*
 * The report: exchanges aggregated by route, verdict, diff signature and
 * drift (DESIGN §5), rendered as text, JSON or a baseline file (the HTML
 * page is in report-html.c).
 */

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "paritytap.h"
#include "report-internal.h"

/* Bytes of each example body kept for the HTML page. */
#define REPORT_EXAMPLE_BODY	(64 * 1024)

/* Bytes a compressed example body may inflate to before it is cut. */
#define REPORT_DECODE_LIMIT	(4 * 1024 * 1024)

/* The verdicts in the order the report lists them. */
static const enum verdict report_order[] = {
	VERDICT_MATCH, VERDICT_VALUE, VERDICT_HEADER, VERDICT_BODY,
	VERDICT_SHAPE, VERDICT_STATUS, VERDICT_BOTH_FAILED,
	VERDICT_CANDIDATE_ERROR, VERDICT_PRIMARY_ERROR, VERDICT_SKIPPED,
	VERDICT_RECORDED, VERDICT_NONE
};
#define REPORT_NORDER	(sizeof report_order / sizeof report_order[0])

/*
 * Create an empty report; keep_examples keeps one exchange per signature
 * (for the HTML page).
 */
struct report *
report_new(int keep_examples)
{
	struct report	*r;

	r = xcalloc(1, sizeof *r);
	r->keep_examples = keep_examples;
	r->route_map = strmap_new();
	r->sig_map = strmap_new();
	r->drift_map = strmap_new();
	r->noise_map = strmap_new();
	return (r);
}

/* Free the samples of a count. */
static void
report_counts_free(struct report_counts *c)
{
	free(c->lat[0].v);
	free(c->lat[1].v);
}

/* Free a report. */
void
report_free(struct report *r)
{
	struct report_sig	*s;
	size_t			 i, j;

	if (r == NULL)
		return;
	for (i = 0; i < r->ninputs; i++)
		free(r->inputs[i].name);
	free(r->inputs);
	for (i = 0; i < r->nroutes; i++) {
		free(r->routes[i]->name);
		report_counts_free(&r->routes[i]->counts);
		free(r->routes[i]);
	}
	free(r->routes);
	for (i = 0; i < r->nsigs; i++) {
		s = r->sigs[i];
		free(s->text);
		free(s->route);
		for (j = 0; j < s->npaths; j++)
			free(s->paths[j]);
		free(s->paths);
		free(s->example_id);
		if (s->example != NULL) {
			exchange_free(s->example);
			free(s->example);
		}
		free(s);
	}
	free(r->sigs);
	for (i = 0; i < r->ndrifts; i++) {
		drift_clear(&r->drifts[i]->d);
		free(r->drifts[i]->text);
		for (j = 0; j < r->drifts[i]->nex; j++)
			free(r->drifts[i]->ex[j].id);
		free(r->drifts[i]);
	}
	free(r->drifts);
	for (i = 0; i < r->nnoise; i++) {
		free(r->noise[i]->key);
		free(r->noise[i]->route);
		free(r->noise[i]->path);
		free(r->noise[i]);
	}
	free(r->noise);
	strmap_free(r->noise_map);
	report_counts_free(&r->all);
	strmap_free(r->route_map);
	strmap_free(r->sig_map);
	strmap_free(r->drift_map);
	free(r);
}

/* Start a new input file: the exchanges added next are counted for it. */
void
report_input(struct report *r, const char *name)
{
	r->inputs = xreallocarray(r->inputs, r->ninputs + 1,
	    sizeof *r->inputs);
	r->inputs[r->ninputs].name = xstrdup(name);
	r->inputs[r->ninputs].exchanges = 0;
	r->ninputs++;
}

/* Add one latency sample. */
static void
report_latency_add(struct report_latency *l, double ms)
{
	if (l->n == l->cap) {
		l->cap = l->cap != 0 ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
	}
	l->v[l->n++] = ms;
	l->sorted = 0;
}

/* Compare two doubles for qsort. */
static int
report_cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

/*
 * The nearest-rank percentile p (1..100) of a side's samples into *out;
 * return 0, or -1 when there are none.
 */
int
report_percentile(struct report_latency *l, unsigned p, double *out)
{
	size_t	 rank;

	if (l->n == 0)
		return (-1);
	if (!l->sorted) {
		qsort(l->v, l->n, sizeof *l->v, report_cmp_double);
		l->sorted = 1;
	}
	rank = (p * l->n + 99) / 100;
	if (rank == 0)
		rank = 1;
	*out = l->v[rank - 1];
	return (0);
}

/* Errors: primary_error + candidate_error + both_failed. */
uint64_t
report_errors(const struct report_counts *c)
{
	return (stats_errors(&c->sc));
}

/* The summary line replay and the proxy end with, for c; allocated. */
char *
report_summary(const struct report_counts *c)
{
	return (stats_summary(&c->sc));
}

/* Count one exchange into c. */
static void
report_count(struct report_counts *c, const struct exchange *ex)
{
	int	 i;

	stats_counts_add(&c->sc, ex);
	for (i = SIDE_PRIMARY; i <= SIDE_CANDIDATE; i++) {
		if (ex->ex_resp[i].present)
			report_latency_add(&c->lat[i], ex->ex_resp[i].ms);
	}
}

/* Return -1, 0 or 1 as a is before, equal to or after b. */
static int
report_cmp_tv(const struct timeval *a, const struct timeval *b)
{
	if (a->tv_sec != b->tv_sec)
		return (a->tv_sec < b->tv_sec ? -1 : 1);
	if (a->tv_usec != b->tv_usec)
		return (a->tv_usec < b->tv_usec ? -1 : 1);
	return (0);
}

/* Compare two strings through pointers, for qsort. */
static int
report_cmp_str(const void *a, const void *b)
{
	return (strcmp(*(char * const *)a, *(char * const *)b));
}

/*
 * The signature tokens of an exchange's diffs, sorted and unique: a
 * JSONPath with array indexes folded to [*], "header:NAME" (lower case)
 * for a header, "SIDE:ERROR" for a failed side; diffs with no path (a
 * status or byte difference) give none.
 */
static void
report_sig_paths(const struct exchange *ex, char ***pathsp, size_t *np)
{
	const struct diff	*d;
	const char		*error;
	char		       **paths = NULL, *p;
	size_t			 n = 0, i, j;

	for (i = 0; i < ex->ex_diffs.n; i++) {
		d = &ex->ex_diffs.v[i];
		p = NULL;
		/* Learned noise is no part of what broke. */
		if (d->noise)
			continue;
		if (d->kind == DIFF_HEADER && d->path != NULL) {
			xasprintf(&p, "header:%s", d->path);
			for (j = 7; p[j] != '\0'; j++)
				p[j] = tolower((unsigned char)p[j]);
		} else if (d->kind == DIFF_ERROR) {
			error = NULL;
			if (d->side >= 0 && d->side < SIDE_MAX)
				error = ex->ex_resp[d->side].error;
			xasprintf(&p, "%s:%s", side_name(d->side),
			    error != NULL ? error : "error");
		} else if (d->path != NULL)
			p = jsonpath_fold(d->path);
		if (p == NULL)
			continue;
		paths = xreallocarray(paths, n + 1, sizeof *paths);
		paths[n++] = p;
	}
	if (n > 1)
		qsort(paths, n, sizeof *paths, report_cmp_str);
	for (i = j = 0; i < n; i++) {
		if (j > 0 && strcmp(paths[j - 1], paths[i]) == 0)
			free(paths[i]);
		else
			paths[j++] = paths[i];
	}
	*pathsp = paths;
	*np = j;
}

/* Join a signature's parts into its text, "VERDICT ROUTE PATH...". */
static char *
report_sig_text(enum verdict v, const char *route, char **paths, size_t n)
{
	struct buf	 b;
	size_t		 i;

	buf_init(&b);
	buf_printf(&b, "%s %s", verdict_name(v), route);
	for (i = 0; i < n; i++)
		buf_printf(&b, " %s", paths[i]);
	return (buf_detach(&b));
}

/*
 * Return the signature of an exchange (DESIGN §5), allocated:
 * "VERDICT ROUTE PATH...", the paths sorted, unique, array indexes folded.
 */
char *
report_signature(const struct exchange *ex)
{
	char	**paths, *route, *text;
	size_t	  n, i;

	route = exchange_route(ex);
	report_sig_paths(ex, &paths, &n);
	text = report_sig_text(ex->ex_verdict, route, paths, n);
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	free(route);
	return (text);
}

/*
 * Make an exchange fit to be kept as an example: bodies decoded (as the
 * comparison saw them) and cut to REPORT_EXAMPLE_BODY bytes, the
 * request's body and headers dropped.
 */
static void
report_example_trim(struct exchange *ex)
{
	struct response_side	*rs;
	struct buf		 out;
	char			*cause;
	int			 i;

	headers_free(&ex->ex_req.headers);
	buf_free(&ex->ex_req.body);
	for (i = 0; i < SIDE_MAX; i++) {
		rs = &ex->ex_resp[i];
		if (!rs->present)
			continue;
		buf_init(&out);
		if (headers_get(&rs->headers, "Content-Encoding") != NULL &&
		    decode_body(rs, &out, REPORT_DECODE_LIMIT, &cause) == 0) {
			buf_free(&rs->body);
			rs->body = out;
		} else {
			if (headers_get(&rs->headers, "Content-Encoding") !=
			    NULL)
				free(cause);
			buf_free(&out);
		}
		if (rs->body.len > REPORT_EXAMPLE_BODY) {
			rs->body.len = REPORT_EXAMPLE_BODY;
			rs->body.data[rs->body.len] = '\0';
			rs->truncated = 1;
		}
	}
}

/* Keep ex (its contents taken, ex left empty) as sig's example. */
static void
report_keep_example(struct report *r, struct report_sig *s,
    struct exchange *ex)
{
	free(s->example_id);
	s->example_id = xstrdup(ex->ex_id);
	if (!r->keep_examples)
		return;
	if (s->example == NULL)
		s->example = xmalloc(sizeof *s->example);
	else
		exchange_free(s->example);
	memcpy(s->example, ex, sizeof *ex);
	exchange_init(ex, NULL);
	report_example_trim(s->example);
}

/* Count a divergent exchange under its signature. */
static void
report_add_sig(struct report *r, struct exchange *ex, const char *route)
{
	struct report_sig	*s;
	char			**paths, *text;
	size_t			  n, i;

	report_sig_paths(ex, &paths, &n);
	text = report_sig_text(ex->ex_verdict, route, paths, n);
	if ((s = strmap_get(r->sig_map, text)) != NULL) {
		for (i = 0; i < n; i++)
			free(paths[i]);
		free(paths);
		free(text);
		s->count++;
		if (report_cmp_tv(&ex->ex_ts, &s->last) > 0)
			s->last = ex->ex_ts;
		/* The example is the earliest, whatever the file order. */
		if (report_cmp_tv(&ex->ex_ts, &s->first) < 0) {
			s->first = ex->ex_ts;
			report_keep_example(r, s, ex);
		}
		return;
	}
	s = xcalloc(1, sizeof *s);
	s->text = text;
	s->route = xstrdup(route);
	s->verdict = ex->ex_verdict;
	s->paths = paths;
	s->npaths = n;
	s->count = 1;
	s->first = s->last = ex->ex_ts;
	report_keep_example(r, s, ex);
	strmap_put(r->sig_map, text, s);
	r->sigs = xreallocarray(r->sigs, r->nsigs + 1, sizeof *r->sigs);
	r->sigs[r->nsigs++] = s;
	r->sorted = 0;
}

/*
 * Mark the drifts listed in b as baselined, in the output of the report
 * made after; b is the caller's and must outlive the report.
 */
void
report_set_baseline(struct report *r, const struct baseline *b)
{
	r->baseline = b;
	r->sorted = 0;
}

/*
 * A drift as a person reads it, allocated: "GET /users/{id} missing
 * $.email (candidate)", the path left out when it has none.
 */
char *
report_drift_text(const struct drift *d)
{
	char	*s;

	if (strcmp(d->path, "-") == 0)
		xasprintf(&s, "%s %s (%s)", d->route, d->kind, d->side);
	else
		xasprintf(&s, "%s %s %s (%s)", d->route, d->kind, d->path,
		    d->side);
	return (s);
}

/* Order two examples: earlier first, then by id. */
static int
report_cmp_example(const struct timeval *ts, const char *id,
    const struct report_example *e)
{
	int	 c;

	if ((c = report_cmp_tv(ts, &e->ts)) != 0)
		return (c);
	return (strcmp(id, e->id));
}

/*
 * Keep ex among a drift's examples if it is one of the earliest: the
 * examples are the same whatever order the files are read in.
 */
static void
report_drift_example(struct report_drift *rd, const struct exchange *ex)
{
	size_t	 i;

	for (i = 0; i < rd->nex; i++) {
		if (report_cmp_example(&ex->ex_ts, ex->ex_id, &rd->ex[i]) < 0)
			break;
	}
	if (i == REPORT_DRIFT_EXAMPLES)
		return;
	if (rd->nex == REPORT_DRIFT_EXAMPLES)
		free(rd->ex[--rd->nex].id);
	memmove(&rd->ex[i + 1], &rd->ex[i], (rd->nex - i) * sizeof rd->ex[0]);
	rd->ex[i].ts = ex->ex_ts;
	rd->ex[i].id = xstrdup(ex->ex_id);
	rd->nex++;
}

/* Count the drifts an exchange carries, rt being its route. */
static void
report_add_drifts(struct report *r, const struct exchange *ex,
    struct report_route *rt)
{
	struct report_drift	*rd;
	struct drift		*v;
	char			*key;
	size_t			 n, i;

	n = drift_extract(ex, &v);
	for (i = 0; i < n; i++) {
		key = drift_key(&v[i]);
		if ((rd = strmap_get(r->drift_map, key)) == NULL) {
			rd = xcalloc(1, sizeof *rd);
			rd->d = v[i];
			memset(&v[i], 0, sizeof v[i]);
			rd->text = report_drift_text(&rd->d);
			drift_id(&rd->d, rd->id);
			rd->route = rt;
			rd->first = rd->last = ex->ex_ts;
			strmap_put(r->drift_map, key, rd);
			r->drifts = xreallocarray(r->drifts, r->ndrifts + 1,
			    sizeof *r->drifts);
			r->drifts[r->ndrifts++] = rd;
			r->sorted = 0;
		}
		free(key);
		rd->count++;
		if (report_cmp_tv(&ex->ex_ts, &rd->first) < 0)
			rd->first = ex->ex_ts;
		if (report_cmp_tv(&ex->ex_ts, &rd->last) > 0)
			rd->last = ex->ex_ts;
		report_drift_example(rd, ex);
	}
	drift_free_all(v, n);
}

/* Count the exchange's diffs marked noise, by route and folded path. */
static void
report_add_noise(struct report *r, const struct exchange *ex,
    const char *route)
{
	struct report_noise	*rn;
	const struct diff	*d;
	char			*key, *path;
	size_t			 i;

	for (i = 0; i < ex->ex_diffs.n; i++) {
		d = &ex->ex_diffs.v[i];
		if (!d->noise)
			continue;
		path = d->kind == DIFF_HEADER ? xstrdup(d->path != NULL ?
		    d->path : "?") : jsonpath_fold(d->path != NULL ? d->path :
		    "$");
		xasprintf(&key, "%s\t%s", route, path);
		if ((rn = strmap_get(r->noise_map, key)) == NULL) {
			rn = xcalloc(1, sizeof *rn);
			rn->key = key;
			rn->route = xstrdup(route);
			rn->path = path;
			strmap_put(r->noise_map, rn->key, rn);
			r->noise = xreallocarray(r->noise, r->nnoise + 1,
			    sizeof *r->noise);
			r->noise[r->nnoise++] = rn;
			r->sorted = 0;
		} else {
			free(key);
			free(path);
		}
		rn->count++;
	}
}

/*
 * Count one exchange.  The report may take ex's contents (to keep it as
 * an example); the caller frees ex with exchange_free either way.
 */
void
report_add(struct report *r, struct exchange *ex)
{
	struct report_route	*rt;
	char			*route;

	route = exchange_route(ex);
	if ((rt = strmap_get(r->route_map, route)) == NULL) {
		rt = xcalloc(1, sizeof *rt);
		rt->name = xstrdup(route);
		strmap_put(r->route_map, route, rt);
		r->routes = xreallocarray(r->routes, r->nroutes + 1,
		    sizeof *r->routes);
		r->routes[r->nroutes++] = rt;
		r->sorted = 0;
	}
	if (r->all.sc.total == 0 || report_cmp_tv(&ex->ex_ts, &r->first) < 0)
		r->first = ex->ex_ts;
	if (r->all.sc.total == 0 || report_cmp_tv(&ex->ex_ts, &r->last) > 0)
		r->last = ex->ex_ts;
	if (r->ninputs != 0)
		r->inputs[r->ninputs - 1].exchanges++;
	report_count(&r->all, ex);
	report_count(&rt->counts, ex);
	/* Before the signature, which may take ex's contents. */
	report_add_drifts(r, ex, rt);
	report_add_noise(r, ex, route);
	if (verdict_is_divergence(ex->ex_verdict))
		report_add_sig(r, ex, route);
	free(route);
}

/* Order noise paths by route, then path, for qsort. */
static int
report_cmp_noise(const void *a, const void *b)
{
	const struct report_noise	*x = *(struct report_noise * const *)a;
	const struct report_noise	*y = *(struct report_noise * const *)b;

	return (strcmp(x->key, y->key));
}

/* Order routes by name, for qsort. */
static int
report_cmp_route(const void *a, const void *b)
{
	const struct report_route	*x = *(struct report_route * const *)a;
	const struct report_route	*y = *(struct report_route * const *)b;

	return (strcmp(x->name, y->name));
}

/* Order signatures by count (most first), then text, for qsort. */
static int
report_cmp_sig(const void *a, const void *b)
{
	const struct report_sig	*x = *(struct report_sig * const *)a;
	const struct report_sig	*y = *(struct report_sig * const *)b;

	if (x->count != y->count)
		return (x->count > y->count ? -1 : 1);
	return (strcmp(x->text, y->text));
}

/* Order drifts by route, kind, path, side, for qsort. */
static int
report_qcmp_drift_key(const void *a, const void *b)
{
	return (drift_cmp(a, b));
}

/* Order drifts by count (most first), then route, kind, path, side. */
static int
report_cmp_drift(const void *a, const void *b)
{
	const struct report_drift *x = *(struct report_drift * const *)a;
	const struct report_drift *y = *(struct report_drift * const *)b;

	if (x->count != y->count)
		return (x->count > y->count ? -1 : 1);
	return (drift_cmp(&x->d, &y->d));
}

/*
 * Put routes, signatures and drifts in report order, and mark the drifts
 * the baseline lists.
 */
void
report_sort(struct report *r)
{
	size_t	 i;

	if (r->sorted)
		return;
	if (r->nroutes > 1)
		qsort(r->routes, r->nroutes, sizeof *r->routes,
		    report_cmp_route);
	if (r->nsigs > 1)
		qsort(r->sigs, r->nsigs, sizeof *r->sigs, report_cmp_sig);
	if (r->ndrifts > 1)
		qsort(r->drifts, r->ndrifts, sizeof *r->drifts,
		    report_cmp_drift);
	if (r->nnoise > 1)
		qsort(r->noise, r->nnoise, sizeof *r->noise, report_cmp_noise);
	r->nbaselined = 0;
	for (i = 0; i < r->ndrifts; i++) {
		r->drifts[i]->baselined = baseline_has(r->baseline,
		    &r->drifts[i]->d);
		if (r->drifts[i]->baselined)
			r->nbaselined++;
	}
	r->sorted = 1;
}

/* How many signatures to show for --top N (0: all). */
size_t
report_shown(const struct report *r, size_t top)
{
	return (top == 0 || top > r->nsigs ? r->nsigs : top);
}

/* How many drifts to show for --top N (0: all). */
size_t
report_drifts_shown(const struct report *r, size_t top)
{
	return (top == 0 || top > r->ndrifts ? r->ndrifts : top);
}

/*
 * The share of its route's exchanges (all of them, as the route table
 * counts them) that carried a drift, rounded to 4 places so that the
 * text, JSON and HTML say the same.
 */
double
report_drift_share(const struct report_drift *rd)
{
	uint64_t	 total = rd->route->counts.sc.total;

	if (total == 0)
		return (0);
	return (round((double)rd->count / total * 10000) / 10000);
}

/* Format a percentile of a side as "%.2f", or "-" without samples. */
static void
report_fmt_ms(struct report_latency *l, unsigned p, char *out, size_t len)
{
	double	 v;

	if (report_percentile(l, p, &v) != 0)
		snprintf(out, len, "-");
	else
		snprintf(out, len, "%.2f", v);
}

/* Print one row of the route table. */
static void
report_text_row(struct buf *b, int width, const char *name,
    struct report_counts *c)
{
	char	 lat[4][32];

	report_fmt_ms(&c->lat[0], 50, lat[0], sizeof lat[0]);
	report_fmt_ms(&c->lat[0], 99, lat[1], sizeof lat[1]);
	report_fmt_ms(&c->lat[1], 50, lat[2], sizeof lat[2]);
	report_fmt_ms(&c->lat[1], 99, lat[3], sizeof lat[3]);
	buf_printf(b, "  %-*s %6llu %6llu %6llu %6llu %6llu %6llu %6llu %6llu"
	    " %9s %9s %9s %9s\n", width, name,
	    (unsigned long long)c->sc.total,
	    (unsigned long long)c->sc.verdicts[VERDICT_MATCH],
	    (unsigned long long)c->sc.verdicts[VERDICT_STATUS],
	    (unsigned long long)c->sc.verdicts[VERDICT_SHAPE],
	    (unsigned long long)c->sc.verdicts[VERDICT_BODY],
	    (unsigned long long)c->sc.verdicts[VERDICT_HEADER],
	    (unsigned long long)c->sc.verdicts[VERDICT_VALUE],
	    (unsigned long long)report_errors(c),
	    lat[0], lat[1], lat[2], lat[3]);
}

/*
 * Append the drift table: count, share of the route, whether the
 * baseline lists it (with --baseline), the drift, then its first and last
 * times and example ids.
 */
static void
report_text_drifts(struct buf *b, struct report *r, size_t top)
{
	struct report_drift	*rd;
	char			 t1[64], t2[64], base[64], share[16];
	size_t			 i, j, shown;

	shown = report_drifts_shown(r, top);
	*base = '\0';
	if (r->baseline != NULL)
		snprintf(base, sizeof base, "; %zu new, %zu in the baseline",
		    r->ndrifts - r->nbaselined, r->nbaselined);
	if (r->ndrifts == 0) {
		buf_printf(b, "\nDrifts: none\n");
		return;
	}
	if (shown == r->ndrifts)
		buf_printf(b, "\nDrifts (%zu%s)\n", r->ndrifts, base);
	else
		buf_printf(b, "\nDrifts (top %zu of %zu%s)\n", shown,
		    r->ndrifts, base);
	buf_printf(b, "  %6s  %-6s  %s%s\n", "COUNT", "SHARE",
	    r->baseline != NULL ? "BASELINE  " : "", "DRIFT");
	for (i = 0; i < shown; i++) {
		rd = r->drifts[i];
		snprintf(share, sizeof share, "%.1f%%",
		    100 * report_drift_share(rd));
		buf_printf(b, "  %6llu  %-6s  ", (unsigned long long)rd->count,
		    share);
		if (r->baseline != NULL)
			buf_printf(b, "%-8s  ", rd->baselined ? "yes" : "no");
		buf_printf(b, "%s\n", rd->text);
		format_rfc3339(&rd->first, t1, sizeof t1);
		format_rfc3339(&rd->last, t2, sizeof t2);
		buf_printf(b, "  %16s%sfirst %s  last %s  example%s", "",
		    r->baseline != NULL ? "          " : "", t1, t2,
		    rd->nex == 1 ? "" : "s");
		for (j = 0; j < rd->nex; j++)
			buf_printf(b, " %s", rd->ex[j].id);
		buf_addstr(b, "\n");
	}
}

/* Print the report as text; return 0, or -1 on a write error. */
int
report_text(struct report *r, size_t top, FILE *f)
{
	struct report_sig	*s;
	struct buf		 b;
	char			 t1[64], t2[64], *summary;
	size_t			 i, shown;
	int			 width = 5;
	uint64_t		 n;

	report_sort(r);
	buf_init(&b);
	buf_printf(&b, "paritytap report: %llu exchange%s from %zu capture%s\n",
	    (unsigned long long)r->all.sc.total, r->all.sc.total == 1 ? "" : "s",
	    r->ninputs, r->ninputs == 1 ? "" : "s");
	for (i = 0; i < r->ninputs; i++)
		buf_printf(&b, "  %s: %llu exchange%s\n", r->inputs[i].name,
		    (unsigned long long)r->inputs[i].exchanges,
		    r->inputs[i].exchanges == 1 ? "" : "s");
	if (r->all.sc.total != 0) {
		format_rfc3339(&r->first, t1, sizeof t1);
		format_rfc3339(&r->last, t2, sizeof t2);
		buf_printf(&b, "  first %s, last %s\n", t1, t2);
	}
	summary = report_summary(&r->all);
	buf_printf(&b, "  %s\n", summary);
	free(summary);

	buf_printf(&b, "\nVerdicts\n");
	for (i = 0; i < REPORT_NORDER; i++) {
		n = r->all.sc.verdicts[report_order[i]];
		if (report_order[i] == VERDICT_NONE && n == 0)
			continue;
		buf_printf(&b, "  %-16s %8llu", verdict_name(report_order[i]),
		    (unsigned long long)n);
		if (r->all.sc.total != 0)
			buf_printf(&b, " %6.1f%%", 100.0 * n / r->all.sc.total);
		buf_addstr(&b, "\n");
	}

	for (i = 0; i < r->nroutes; i++) {
		if ((int)strlen(r->routes[i]->name) > width)
			width = (int)strlen(r->routes[i]->name);
	}
	buf_printf(&b, "\nRoutes (latency in ms)\n");
	buf_printf(&b, "  %-*s %6s %6s %6s %6s %6s %6s %6s %6s %9s %9s %9s "
	    "%9s\n", width, "ROUTE", "COUNT", "MATCH", "STATUS", "SHAPE", "BODY",
	    "HEADER", "VALUE", "ERRORS", "P50 PRI", "P99 PRI", "P50 CAND",
	    "P99 CAND");
	for (i = 0; i < r->nroutes; i++)
		report_text_row(&b, width, r->routes[i]->name,
		    &r->routes[i]->counts);
	report_text_row(&b, width, "(all)", &r->all);

	shown = report_shown(r, top);
	if (r->nsigs == 0)
		buf_printf(&b, "\nSignatures: none\n");
	else if (shown == r->nsigs)
		buf_printf(&b, "\nSignatures (%zu)\n", r->nsigs);
	else
		buf_printf(&b, "\nSignatures (top %zu of %zu)\n", shown,
		    r->nsigs);
	for (i = 0; i < shown; i++) {
		s = r->sigs[i];
		format_rfc3339(&s->first, t1, sizeof t1);
		format_rfc3339(&s->last, t2, sizeof t2);
		buf_printf(&b, "  %6llu  %s\n", (unsigned long long)s->count,
		    s->text);
		buf_printf(&b, "          first %s  last %s  example %s\n",
		    t1, t2, s->example_id);
	}
	report_text_drifts(&b, r, top);
	if (r->nnoise != 0) {
		buf_printf(&b, "\nNoise (learned from a second copy; not "
		    "divergences)\n  %6s  %s\n", "DIFFS", "ROUTE PATH");
		for (i = 0; i < r->nnoise; i++)
			buf_printf(&b, "  %6llu  %s %s\n",
			    (unsigned long long)r->noise[i]->count,
			    r->noise[i]->route, r->noise[i]->path);
	}
	/* Names come from the wire: no control byte reaches a terminal. */
	for (i = 0; i < b.len; i++) {
		if (((unsigned char)b.data[i] < 0x20 && b.data[i] != '\n') ||
		    b.data[i] == 0x7f)
			b.data[i] = '?';
	}
	fwrite(b.data, 1, b.len, f);
	buf_free(&b);
	return (ferror(f) ? -1 : 0);
}

/* Return a side's latency percentiles as a new JSON object. */
static json_t *
report_json_latency(struct report_latency *l)
{
	json_t	*o;
	double	 v;

	o = json_object();
	json_object_set_new(o, "n", json_integer((json_int_t)l->n));
	if (report_percentile(l, 50, &v) == 0)
		json_object_set_new(o, "p50", json_real(v));
	else
		json_object_set_new(o, "p50", json_null());
	if (report_percentile(l, 99, &v) == 0)
		json_object_set_new(o, "p99", json_real(v));
	else
		json_object_set_new(o, "p99", json_null());
	return (o);
}

/* Return the counts of a route (or of all) as a new JSON object. */
static json_t *
report_json_counts(struct report_counts *c, const char *route)
{
	json_t	*o, *v, *lat;
	size_t	 i;

	o = json_object();
	if (route != NULL)
		json_object_set_new(o, "route", json_string(route));
	json_object_set_new(o, "count", json_integer((json_int_t)c->sc.total));
	json_object_set_new(o, "match",
	    json_integer((json_int_t)c->sc.verdicts[VERDICT_MATCH]));
	json_object_set_new(o, "status",
	    json_integer((json_int_t)c->sc.verdicts[VERDICT_STATUS]));
	json_object_set_new(o, "shape",
	    json_integer((json_int_t)c->sc.verdicts[VERDICT_SHAPE]));
	json_object_set_new(o, "body",
	    json_integer((json_int_t)c->sc.verdicts[VERDICT_BODY]));
	json_object_set_new(o, "header",
	    json_integer((json_int_t)c->sc.verdicts[VERDICT_HEADER]));
	json_object_set_new(o, "value",
	    json_integer((json_int_t)c->sc.verdicts[VERDICT_VALUE]));
	json_object_set_new(o, "errors",
	    json_integer((json_int_t)report_errors(c)));
	v = json_object();
	for (i = 0; i < REPORT_NORDER; i++)
		json_object_set_new(v, verdict_name(report_order[i]),
		    json_integer((json_int_t)c->sc.verdicts[report_order[i]]));
	json_object_set_new(o, "verdicts", v);
	lat = json_object();
	json_object_set_new(lat, "primary", report_json_latency(&c->lat[0]));
	json_object_set_new(lat, "candidate",
	    report_json_latency(&c->lat[1]));
	json_object_set_new(o, "latency_ms", lat);
	return (o);
}

/* Return a time as a new JSON string. */
static json_t *
report_json_time(const struct timeval *tv)
{
	char	 t[64];

	format_rfc3339(tv, t, sizeof t);
	return (json_string(t));
}

/* Add "drifts_total", "drifts_new" and the "drifts" array to root. */
static void
report_json_drifts(struct report *r, size_t top, json_t *root)
{
	struct report_drift	*rd;
	json_t			*a, *o, *e;
	size_t			 i, j, shown;

	json_object_set_new(root, "drifts_total",
	    json_integer((json_int_t)r->ndrifts));
	json_object_set_new(root, "drifts_new",
	    json_integer((json_int_t)(r->ndrifts - r->nbaselined)));
	shown = report_drifts_shown(r, top);
	a = json_array();
	for (i = 0; i < shown; i++) {
		rd = r->drifts[i];
		o = json_object();
		json_object_set_new(o, "drift", json_string(rd->text));
		json_object_set_new(o, "id", json_string(rd->id));
		json_object_set_new(o, "route", json_string(rd->d.route));
		json_object_set_new(o, "kind", json_string(rd->d.kind));
		json_object_set_new(o, "path", json_string(rd->d.path));
		json_object_set_new(o, "side", json_string(rd->d.side));
		json_object_set_new(o, "verdict",
		    json_string(verdict_name(rd->d.verdict)));
		json_object_set_new(o, "count",
		    json_integer((json_int_t)rd->count));
		json_object_set_new(o, "route_exchanges",
		    json_integer((json_int_t)rd->route->counts.sc.total));
		json_object_set_new(o, "share",
		    json_real(report_drift_share(rd)));
		json_object_set_new(o, "first_seen",
		    report_json_time(&rd->first));
		json_object_set_new(o, "last_seen",
		    report_json_time(&rd->last));
		e = json_array();
		for (j = 0; j < rd->nex; j++)
			json_array_append_new(e, json_string(rd->ex[j].id));
		json_object_set_new(o, "example_ids", e);
		json_object_set_new(o, "baselined",
		    json_boolean(rd->baselined));
		json_array_append_new(a, o);
	}
	json_object_set_new(root, "drifts", a);
	a = json_array();
	for (i = 0; i < r->nnoise; i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:I}", "route",
		    r->noise[i]->route, "path", r->noise[i]->path, "diffs",
		    (json_int_t)r->noise[i]->count));
	json_object_set_new(root, "noise", a);
}

/*
 * Write every drift of the captures, sorted by route, kind, path and
 * side, as a baseline file (drift.c); return 0, or -1 on a write error.
 */
int
report_baseline(struct report *r, FILE *f)
{
	struct drift	*v;
	char		 t1[64], t2[64], *comment;
	size_t		 i;

	v = xreallocarray(NULL, r->ndrifts + 1, sizeof *v);
	for (i = 0; i < r->ndrifts; i++)
		v[i] = r->drifts[i]->d;
	if (r->ndrifts > 1)
		qsort(v, r->ndrifts, sizeof *v, report_qcmp_drift_key);
	if (r->all.sc.total != 0) {
		format_rfc3339(&r->first, t1, sizeof t1);
		format_rfc3339(&r->last, t2, sizeof t2);
		xasprintf(&comment, "%zu drift%s in %llu exchange%s of %zu "
		    "capture%s, %s to %s", r->ndrifts,
		    r->ndrifts == 1 ? "" : "s",
		    (unsigned long long)r->all.sc.total,
		    r->all.sc.total == 1 ? "" : "s", r->ninputs,
		    r->ninputs == 1 ? "" : "s", t1, t2);
	} else
		xasprintf(&comment, "no exchange in %zu capture%s",
		    r->ninputs, r->ninputs == 1 ? "" : "s");
	baseline_write(f, v, r->ndrifts, comment);
	free(comment);
	free(v);
	return (ferror(f) ? -1 : 0);
}

/* Print the report as JSON; return 0, or -1 on a write error. */
int
report_json(struct report *r, size_t top, FILE *f)
{
	struct report_sig	*s;
	json_t			*root, *a, *o, *p;
	char			*summary;
	size_t			 i, j, shown;
	int			 rc;

	report_sort(r);
	root = json_object();
	json_object_set_new(root, "paritytap_report", json_integer(1));
	a = json_array();
	for (i = 0; i < r->ninputs; i++) {
		o = json_object();
		json_object_set_new(o, "file", json_string(r->inputs[i].name));
		json_object_set_new(o, "exchanges",
		    json_integer((json_int_t)r->inputs[i].exchanges));
		json_array_append_new(a, o);
	}
	json_object_set_new(root, "captures", a);
	json_object_set_new(root, "exchanges",
	    json_integer((json_int_t)r->all.sc.total));
	json_object_set_new(root, "first", r->all.sc.total != 0 ?
	    report_json_time(&r->first) : json_null());
	json_object_set_new(root, "last", r->all.sc.total != 0 ?
	    report_json_time(&r->last) : json_null());
	summary = report_summary(&r->all);
	json_object_set_new(root, "summary", json_string(summary));
	free(summary);
	o = report_json_counts(&r->all, NULL);
	json_object_set_new(root, "totals", o);
	/* The names every command's JSON shares. */
	json_object_set(root, "verdicts", json_object_get(o, "verdicts"));
	json_object_set_new(root, "failing", json_integer(
	    (json_int_t)verdicts_failing(r->all.sc.verdicts)));
	a = json_array();
	for (i = 0; i < r->nroutes; i++)
		json_array_append_new(a, report_json_counts(
		    &r->routes[i]->counts, r->routes[i]->name));
	json_object_set_new(root, "routes", a);
	json_object_set_new(root, "signatures_total",
	    json_integer((json_int_t)r->nsigs));
	shown = report_shown(r, top);
	a = json_array();
	for (i = 0; i < shown; i++) {
		s = r->sigs[i];
		o = json_object();
		json_object_set_new(o, "signature", json_string(s->text));
		json_object_set_new(o, "route", json_string(s->route));
		json_object_set_new(o, "verdict",
		    json_string(verdict_name(s->verdict)));
		p = json_array();
		for (j = 0; j < s->npaths; j++)
			json_array_append_new(p, json_string(s->paths[j]));
		json_object_set_new(o, "paths", p);
		json_object_set_new(o, "count",
		    json_integer((json_int_t)s->count));
		json_object_set_new(o, "first_seen",
		    report_json_time(&s->first));
		json_object_set_new(o, "last_seen",
		    report_json_time(&s->last));
		json_object_set_new(o, "example_id",
		    json_string(s->example_id));
		json_array_append_new(a, o);
	}
	json_object_set_new(root, "signatures", a);
	report_json_drifts(r, top, root);
	rc = json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(15));
	json_decref(root);
	fputc('\n', f);
	return (rc != 0 || ferror(f) ? -1 : 0);
}
