/* Unit tests: diff signatures, latency percentiles, report aggregation. */

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
		r = report_new(keep);
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
		ok((r->sigs[0]->example != NULL) == keep,
		    "aggregate(%d): the example exchange kept only for HTML",
		    keep);
		if (keep && r->sigs[0]->example != NULL)
			is_str(r->sigs[0]->example->ex_id, "early",
			    "aggregate(1): the kept exchange is the earliest");
		is_int(r->inputs[0].exchanges, 5,
		    "aggregate(%d): exchanges per input", keep);
		report_free(r);
	}
}

int
main(void)
{
	test_signatures();
	test_percentiles();
	test_aggregate();
	return (done_testing());
}
