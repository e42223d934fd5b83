/*
 * Unit tests: diff signatures, latency percentiles, report aggregation,
 * drifts.
 */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "paritytap.h"
#include "report-internal.h"
#include "tap.h"

/* One diff of a signature case; kind NULL ends the list. */
struct sig_diff {
	const char	*kind;
	const char	*path;
	int		 side;
};

static const struct sig_case {
	const char	*name;
	enum verdict	 verdict;
	const char	*route;
	const char	*target;	/* when route is NULL */
	const char	*error;		/* the candidate's error */
	struct sig_diff	 diffs[6];
	const char	*want;
} sig_cases[] = {
	{ "paths sorted", VERDICT_SHAPE, "POST /v1/validate", NULL, NULL,
	    { { "missing", "$.Schema", 1 }, { "extra", "$.Kind", 1 },
	    { "extra", "$.Field", 1 } },
	    "shape POST /v1/validate $.Field $.Kind $.Schema" },
	{ "array indexes folded and deduplicated", VERDICT_SHAPE,
	    "GET /v1/items", NULL, NULL,
	    { { "missing", "$.items[0].sku", 1 },
	    { "missing", "$.items[10].sku", 1 },
	    { "extra", "$.items[2].SKU", 1 },
	    { "missing", "$.items[1].sku", 1 } },
	    "shape GET /v1/items $.items[*].SKU $.items[*].sku" },
	{ "quoted keys keep their brackets", VERDICT_VALUE, "GET /x", NULL,
	    NULL, { { "value", "$[\"a.b\"][3]", -1 } },
	    "value GET /x $[\"a.b\"][*]" },
	{ "a status difference has no path", VERDICT_STATUS, "POST /s", NULL,
	    NULL, { { "status", NULL, -1 } }, "status POST /s" },
	{ "a header in lower case", VERDICT_HEADER, "GET /c", NULL, NULL,
	    { { "header", "Content-Type", -1 } },
	    "header GET /c header:content-type" },
	{ "a failed side and its error", VERDICT_CANDIDATE_ERROR, "GET /s",
	    NULL, "timeout", { { "error", NULL, 1 } },
	    "candidate_error GET /s candidate:timeout" },
	{ "no route: the target templated", VERDICT_BODY, NULL,
	    "/users/42?x=1", NULL, { { "body", NULL, -1 } },
	    "body GET /users/{id}" },
};

/* Build the exchange of a signature case. */
static void
sig_exchange(const struct sig_case *c, struct exchange *ex)
{
	size_t	 i;

	exchange_init(ex, "replay");
	ex->ex_verdict = c->verdict;
	if (c->route != NULL)
		ex->ex_route = xstrdup(c->route);
	ex->ex_req.method = xstrdup("GET");
	ex->ex_req.target = xstrdup(c->target != NULL ? c->target : "/");
	ex->ex_resp[SIDE_PRIMARY].present = 1;
	ex->ex_resp[SIDE_CANDIDATE].present = 1;
	ex->ex_resp[SIDE_CANDIDATE].error = c->error;
	for (i = 0; c->diffs[i].kind != NULL; i++)
		diff_list_add_name(&ex->ex_diffs, c->diffs[i].kind,
		    c->diffs[i].path, c->diffs[i].side);
}

/* report_signature over the table. */
static void
test_signatures(void)
{
	struct exchange	 ex;
	char		*sig;
	size_t		 i;

	for (i = 0; i < sizeof sig_cases / sizeof sig_cases[0]; i++) {
		sig_exchange(&sig_cases[i], &ex);
		sig = report_signature(&ex);
		is_str(sig, sig_cases[i].want, "signature: %s",
		    sig_cases[i].name);
		free(sig);
		exchange_free(&ex);
	}
}

/* Nearest-rank percentiles. */
static void
test_percentiles(void)
{
	struct report_latency	 l;
	double			 v;
	int			 i;

	memset(&l, 0, sizeof l);
	ok(report_percentile(&l, 50, &v) == -1, "percentile: no samples");
	l.v = xcalloc(100, sizeof *l.v);
	for (i = 0; i < 100; i++)
		l.v[i] = 100 - i;	/* unsorted: 100 .. 1 */
	l.n = 100;
	ok(report_percentile(&l, 50, &v) == 0 && v == 50,
	    "percentile: p50 of 1..100 is 50");
	ok(report_percentile(&l, 99, &v) == 0 && v == 99,
	    "percentile: p99 of 1..100 is 99");
	l.n = 1;
	l.v[0] = 7.5;
	l.sorted = 0;
	ok(report_percentile(&l, 99, &v) == 0 && v == 7.5,
	    "percentile: one sample is every percentile");
	free(l.v);
}

/* Add one exchange with a verdict, a route, a time and a diff path. */
static void
add(struct report *r, const char *route, enum verdict v, long sec,
    const char *id, const char *path)
{
	struct exchange	 ex;

	exchange_init(&ex, "proxy");
	ex.ex_route = xstrdup(route);
	ex.ex_verdict = v;
	ex.ex_ts.tv_sec = sec;
	snprintf(ex.ex_id, sizeof ex.ex_id, "%s", id);
	ex.ex_resp[SIDE_PRIMARY].present = 1;
	ex.ex_resp[SIDE_PRIMARY].ms = (double)sec;
	if (v != VERDICT_SKIPPED) {
		ex.ex_resp[SIDE_CANDIDATE].present = 1;
		ex.ex_resp[SIDE_CANDIDATE].ms = 2.0 * sec;
	}
	if (path != NULL)
		diff_list_add_name(&ex.ex_diffs, "missing", path, 1);
	report_add(r, &ex);
	exchange_free(&ex);
}

/* Aggregation: routes sorted, signatures by count then text, examples. */
static void
test_aggregate(void)
{
	struct report	*r;
	int		 keep;

	for (keep = 0; keep <= 1; keep++) {
		r = report_new(keep ? 3 : 0);
		report_input(r, "a.jsonl");
		add(r, "GET /b", VERDICT_SHAPE, 30, "late", "$.x[1]");
		add(r, "GET /b", VERDICT_SHAPE, 10, "early", "$.x[0]");
		add(r, "GET /a", VERDICT_MATCH, 20, "m", NULL);
		add(r, "GET /a", VERDICT_SKIPPED, 25, "s", NULL);
		add(r, "GET /a", VERDICT_BOTH_FAILED, 40, "f", NULL);
		report_sort(r);
		is_int(r->nroutes, 2, "aggregate(%d): two routes", keep);
		is_str(r->routes[0]->name, "GET /a",
		    "aggregate(%d): routes sorted", keep);
		is_int(r->routes[0]->counts.sc.total, 3,
		    "aggregate(%d): a skipped exchange counts in the total",
		    keep);
		is_int(report_errors(&r->routes[0]->counts), 1,
		    "aggregate(%d): both_failed is an error", keep);
		is_int(r->routes[0]->counts.lat[1].n, 2,
		    "aggregate(%d): no candidate latency when skipped", keep);
		is_int(r->nsigs, 2, "aggregate(%d): two signatures", keep);
		is_str(r->sigs[0]->text, "shape GET /b $.x[*]",
		    "aggregate(%d): the most frequent first", keep);
		is_int(r->sigs[0]->count, 2, "aggregate(%d): counted twice",
		    keep);
		is_str(r->sigs[0]->example_id, "early",
		    "aggregate(%d): the example is the earliest", keep);
		is_int(r->sigs[0]->first.tv_sec, 10,
		    "aggregate(%d): first seen", keep);
		is_int(r->sigs[0]->last.tv_sec, 30,
		    "aggregate(%d): last seen", keep);
		is_int(r->sigs[0]->nexamples, keep ? 2 : 0,
		    "aggregate(%d): as many example exchanges as asked, at "
		    "most the count", keep);
		if (keep && r->sigs[0]->nexamples != 0)
			is_str(r->sigs[0]->examples[0]->ex_id, "early",
			    "aggregate(1): the kept exchange is the earliest");
		is_int(r->inputs[0].exchanges, 5,
		    "aggregate(%d): exchanges per input", keep);
		report_free(r);
	}
}

/* Add one exchange whose diffs are "kind path" pairs, NULL-terminated. */
static void
add_diffs(struct report *r, const char *route, enum verdict v, long sec,
    const char *id, ...)
{
	struct exchange	 ex;
	const char	*kind, *path;
	va_list		 ap;

	exchange_init(&ex, "proxy");
	ex.ex_route = xstrdup(route);
	ex.ex_verdict = v;
	ex.ex_ts.tv_sec = sec;
	snprintf(ex.ex_id, sizeof ex.ex_id, "%s", id);
	ex.ex_resp[SIDE_PRIMARY].present = 1;
	ex.ex_resp[SIDE_CANDIDATE].present = 1;
	va_start(ap, id);
	while ((kind = va_arg(ap, const char *)) != NULL) {
		path = va_arg(ap, const char *);
		diff_list_add_name(&ex.ex_diffs, kind, path, 1);
	}
	va_end(ap);
	report_add(r, &ex);
	exchange_free(&ex);
}

/*
 * Drifts: one per difference whatever the combination, counted per
 * exchange, the share of the route, the three earliest examples whatever
 * the order of arrival, the baseline's marks.
 */
static void
test_drifts(void)
{
	struct report		*r;
	struct baseline		*b;
	struct report_drift	*rd;
	struct drift		 d;
	const char		*why;
	char			*text;

	r = report_new(0);
	b = baseline_new();
	ok(drift_parse("GET /u\tmissing\t$.a\tcandidate", &d, &why) == 0,
	    "drifts: a baseline line");
	baseline_add(b, &d);
	drift_clear(&d);
	report_set_baseline(r, b);
	add_diffs(r, "GET /u", VERDICT_SHAPE, 50, "e1", "missing", "$.a",
	    (char *)NULL);
	add_diffs(r, "GET /u", VERDICT_SHAPE, 10, "e2", "missing", "$.a",
	    "extra", "$.b[0]", "extra", "$.b[1]", (char *)NULL);
	add_diffs(r, "GET /u", VERDICT_SHAPE, 40, "e3", "missing", "$.a",
	    (char *)NULL);
	add_diffs(r, "GET /u", VERDICT_SHAPE, 20, "e4", "extra", "$.b[3]",
	    "missing", "$.a", (char *)NULL);
	add_diffs(r, "GET /u", VERDICT_SHAPE, 30, "e5", "missing", "$.a",
	    (char *)NULL);
	add_diffs(r, "GET /u", VERDICT_MATCH, 60, "m", (char *)NULL);
	add_diffs(r, "GET /v", VERDICT_VALUE, 70, "v", "value", "$.t",
	    (char *)NULL);
	report_sort(r);
	is_int(r->ndrifts, 2, "drifts: two drifts, a value is none");
	rd = r->drifts[0];
	is_str(rd->text, "GET /u missing $.a (candidate)",
	    "drifts: the most frequent first, as read");
	is_int(rd->count, 5, "drifts: counted once per exchange");
	ok(report_drift_share(rd) == 0.8333,
	    "drifts: 5 of the route's 6 exchanges, rounded");
	is_int(rd->nex, 3, "drifts: three examples");
	is_str(rd->ex[0].id, "e2", "drifts: the earliest example first");
	is_str(rd->ex[1].id, "e4", "drifts: then the next");
	is_str(rd->ex[2].id, "e5", "drifts: then the third, whatever arrived "
	    "first");
	is_int(rd->first.tv_sec, 10, "drifts: first seen");
	is_int(rd->last.tv_sec, 50, "drifts: last seen");
	ok(rd->baselined, "drifts: marked when the baseline lists it");
	rd = r->drifts[1];
	is_str(rd->text, "GET /u extra $.b[*] (candidate)",
	    "drifts: array indexes folded");
	is_int(rd->count, 2, "drifts: two elements of one exchange count once");
	ok(!rd->baselined, "drifts: not marked when the baseline lacks it");
	is_int(r->nbaselined, 1, "drifts: one in the baseline");
	report_free(r);
	baseline_free(b);

	memset(&d, 0, sizeof d);
	d.route = "POST /s";
	d.kind = "status 200->500";
	d.path = "-";
	d.side = "both";
	text = report_drift_text(&d);
	is_str(text, "POST /s status 200->500 (both)",
	    "drifts: no path, none written");
	free(text);
}

/* Paths sort with their array indexes as numbers. */
static void
test_path_order(void)
{
	ok(jsonpath_cmp("$.a[2]", "$.a[10]") < 0, "paths: [2] before [10]");
	ok(jsonpath_cmp("$.a[10].b", "$.a[9].c") > 0,
	    "paths: [10].b after [9].c");
	ok(jsonpath_cmp("$.a[3].b", "$.a[3].c") < 0,
	    "paths: the same index, then the rest");
	is_int(jsonpath_cmp("$.a[07]", "$.a[07]"), 0, "paths: equal");
	ok(jsonpath_cmp("$.a", "$.a[0]") < 0, "paths: a prefix first");
	ok(jsonpath_cmp("$.b", "$.a[0]") > 0, "paths: names as strcmp");
}

/* An example's diffs fold to one bullet per kind, side and folded path. */
static void
test_bullets(void)
{
	struct exchange		 ex;
	struct report_bullet	*bl;
	char			 path[32];
	size_t			 n, i;

	exchange_init(&ex, "proxy");
	for (i = 0; i < 63; i++) {
		snprintf(path, sizeof path, "$.rows[%zu].v", i);
		diff_list_add_name(&ex.ex_diffs, "value", path, 1);
	}
	diff_list_add_name(&ex.ex_diffs, "missing", "$.rows[5].w", 1);
	diff_list_sort(&ex.ex_diffs);
	n = report_bullets(&ex, &bl);
	is_int(n, 2, "bullets: 64 diffs (the most kept), two bullets");
	is_str(bl[0].path, "$.rows[*].v", "bullets: the folded path");
	is_int(bl[0].places, 63, "bullets: 63 places");
	is_str(bl[0].d->path, "$.rows[0].v",
	    "bullets: the first is the lowest index");
	is_str(bl[1].path, "$.rows[5].w", "bullets: one place, its own path");
	is_int(bl[1].places, 1, "bullets: one place");
	report_bullets_free(bl, n);
	exchange_free(&ex);
}

int
main(void)
{
	test_signatures();
	test_percentiles();
	test_aggregate();
	test_path_order();
	test_bullets();
	test_drifts();
	return (done_testing());
}
