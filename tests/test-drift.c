/*
 * Unit tests: the drifts an exchange carries (one per difference, never
 * one per combination), their keys and ids, and baseline files.
 */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paritytap.h"
#include "tap.h"

/* One diff of a case; kind NULL ends the list. */
struct case_diff {
	const char	*kind;
	const char	*path;
	int		 side;
	const char	*primary;
	const char	*candidate;
};

static const struct drift_case {
	const char	*name;
	enum verdict	 verdict;
	const char	*route;
	const char	*error;		/* the candidate's */
	struct case_diff diffs[6];
	const char	*want;		/* keys joined by " | " */
} drift_cases[] = {
	{ "one drift per path, indexes folded, duplicates merged",
	    VERDICT_SHAPE, "GET /v1/items", NULL,
	    { { "missing", "$.items[0].sku", 1, NULL, NULL },
	    { "missing", "$.items[7].sku", 1, NULL, NULL },
	    { "extra", "$.items[2].SKU", 1, NULL, NULL } },
	    "GET /v1/items\textra\t$.items[*].SKU\tcandidate | "
	    "GET /v1/items\tmissing\t$.items[*].sku\tcandidate" },
	{ "a type change names both types", VERDICT_SHAPE, "GET /t", NULL,
	    { { "type", "$.id", -1, "integer", "string" } },
	    "GET /t\ttype(integer->string)\t$.id\tboth" },
	{ "a status change names both statuses", VERDICT_STATUS, "POST /s",
	    NULL, { { "status", NULL, -1, "200", "500" } },
	    "POST /s\tstatus 200->500\t-\tboth" },
	{ "a header in lower case", VERDICT_HEADER, "GET /c", NULL,
	    { { "header", "Content-Type", -1, "application/json",
	    "text/plain" } },
	    "GET /c\theader:content-type\t-\tboth" },
	{ "the candidate's error", VERDICT_CANDIDATE_ERROR, "GET /e",
	    "timeout", { { "error", NULL, 1, NULL, NULL } },
	    "GET /e\tcandidate_error:timeout\t-\tcandidate" },
	{ "value and body differences are not drifts", VERDICT_VALUE,
	    "GET /v", NULL, { { "value", "$.at", -1, NULL, NULL }, { "body", NULL, -1, NULL, NULL } },
	    "" },
	{ "a failed primary says nothing about the candidate",
	    VERDICT_PRIMARY_ERROR, "GET /p", NULL,
	    { { "error", NULL, 0, NULL, NULL } }, "" },
	{ "a match carries none", VERDICT_MATCH, "GET /m", NULL, { { NULL } },
	    "" },
};

/* Build a case's exchange. */
static void
case_exchange(const struct drift_case *c, struct exchange *ex)
{
	struct diff	*d;
	size_t		 i;

	exchange_init(ex, "replay");
	ex->ex_verdict = c->verdict;
	ex->ex_route = xstrdup(c->route);
	ex->ex_req.method = xstrdup("GET");
	ex->ex_req.target = xstrdup("/");
	ex->ex_resp[SIDE_PRIMARY].present = 1;
	ex->ex_resp[SIDE_CANDIDATE].present = 1;
	ex->ex_resp[SIDE_CANDIDATE].error = c->error;
	for (i = 0; c->diffs[i].kind != NULL; i++) {
		d = diff_list_add_name(&ex->ex_diffs, c->diffs[i].kind,
		    c->diffs[i].path, c->diffs[i].side);
		if (d == NULL)
			continue;
		if (c->diffs[i].primary != NULL)
			d->primary = xstrdup(c->diffs[i].primary);
		if (c->diffs[i].candidate != NULL)
			d->candidate = xstrdup(c->diffs[i].candidate);
	}
}

/* The keys of an exchange's drifts joined by " | ". */
static char *
keys_of(const struct exchange *ex)
{
	struct drift	*v;
	struct buf	 b;
	char		*k;
	size_t		 n, i;

	buf_init(&b);
	buf_addstr(&b, "");
	n = drift_extract(ex, &v);
	for (i = 0; i < n; i++) {
		k = drift_key(&v[i]);
		buf_printf(&b, "%s%s", i > 0 ? " | " : "", k);
		free(k);
	}
	drift_free_all(v, n);
	return (buf_detach(&b));
}

static void
test_cases(void)
{
	struct exchange	 ex;
	char		*got;
	size_t		 i;

	for (i = 0; i < sizeof drift_cases / sizeof drift_cases[0]; i++) {
		case_exchange(&drift_cases[i], &ex);
		got = keys_of(&ex);
		is_str(got, drift_cases[i].want, "drifts: %s",
		    drift_cases[i].name);
		free(got);
		ex.ex_resp[SIDE_CANDIDATE].error = NULL;
		exchange_free(&ex);
	}
}

/* A diff the noise learner marked is no drift; its neighbours still are. */
static void
test_noise(void)
{
	static const struct drift_case c = { "noise", VERDICT_SHAPE,
	    "GET /n", NULL,
	    { { "header", "X-Served-At", -1, "a", "b" },
	    { "missing", "$.name", 1, NULL, NULL } }, NULL };
	struct exchange	 ex;
	char		*got;

	case_exchange(&c, &ex);
	got = keys_of(&ex);
	is_str(got, "GET /n\theader:x-served-at\t-\tboth | "
	    "GET /n\tmissing\t$.name\tcandidate", "drifts: both, unmarked");
	free(got);
	ex.ex_diffs.v[0].noise = 1;
	got = keys_of(&ex);
	is_str(got, "GET /n\tmissing\t$.name\tcandidate",
	    "drifts: the header marked noise is none");
	free(got);
	exchange_free(&ex);
}

/*
 * 1,000 exchanges, each carrying a combination of three independent
 * drifts (all eight in turn): three drifts in all, where signatures
 * would be seven.
 */
static void
test_combinations(void)
{
	static const struct case_diff three[3] = {
		{ "missing", "$.email", 1, NULL, NULL },
		{ "type", "$.id", -1, "integer", "string" },
		{ "extra", "$.debug", 1, NULL, NULL }
	};
	struct drift_case	 c;
	struct exchange		 ex;
	struct drift		*v;
	struct strmap		*seen, *sigs;
	char			*k;
	size_t			 n, i, j, distinct = 0, nsigs = 0;
	int			 m, slot;

	seen = strmap_new();
	sigs = strmap_new();
	for (i = 0; i < 1000; i++) {
		memset(&c, 0, sizeof c);
		c.verdict = VERDICT_SHAPE;
		c.route = "GET /users/{id}";
		m = (int)(i % 8);
		if (m == 0)
			c.verdict = VERDICT_MATCH;
		for (j = 0, slot = 0; j < 3; j++) {
			if (m & (1 << j))
				c.diffs[slot++] = three[j];
		}
		case_exchange(&c, &ex);
		n = drift_extract(&ex, &v);
		for (j = 0; j < n; j++) {
			k = drift_key(&v[j]);
			if (strmap_get(seen, k) == NULL) {
				strmap_put(seen, k, seen);
				distinct++;
			}
			free(k);
		}
		drift_free_all(v, n);
		if (ex.ex_verdict != VERDICT_MATCH) {
			k = report_signature(&ex);
			if (strmap_get(sigs, k) == NULL) {
				strmap_put(sigs, k, sigs);
				nsigs++;
			}
			free(k);
		}
		exchange_free(&ex);
	}
	is_int(distinct, 3, "3 independent drifts in all combinations: "
	    "3 drifts");
	is_int(nsigs, 7, "... where they make 7 signatures");
	strmap_free(seen);
	strmap_free(sigs);
}

static void
test_ids(void)
{
	struct drift	 d, e;
	char		 id[DRIFT_ID_LEN + 1], id2[DRIFT_ID_LEN + 1];
	const char	*why;

	ok(drift_parse("GET /users/{id}\tmissing\t$.email\tcandidate", &d,
	    &why) == 0, "parse a baseline line");
	drift_id(&d, id);
	/* FNV-1a 64 over the fields, each followed by a tab. */
	is_str(id, "d04c8324888eaeb3", "the id is FNV-1a of the key");
	ok(drift_parse("  GET /users/{id} \t missing\t$.email\tcandidate\r",
	    &e, &why) == 0, "spaces around fields and a CR are trimmed");
	drift_id(&e, id2);
	is_str(id2, id, "... and give the same drift");
	drift_clear(&d);
	drift_clear(&e);
	ok(drift_parse("GET /x missing $.a candidate", &d, &why) == -1 &&
	    strstr(why, "fewer than 4") != NULL,
	    "spaces instead of tabs: refused, saying why (%s)", why);
	ok(drift_parse("GET /x\tmissing\t$.a\tcandidate\tmore", &d, &why) ==
	    -1 && strstr(why, "more than 4") != NULL, "five fields: refused");
	ok(drift_parse("GET /x\tmissing\t\tcandidate", &d, &why) == -1 &&
	    strstr(why, "empty field") != NULL, "an empty field: refused");
	ok(drift_parse("GET /x\tmissing\t$.a\tleft", &d, &why) == -1 &&
	    strstr(why, "side") != NULL, "an unknown side: refused");
}

static void
test_baseline(void)
{
	struct baseline	*b;
	struct drift	 v[2], d;
	char		 path[] = "/tmp/test-drift.XXXXXX", *err;
	const char	*why;
	FILE		*f;
	int		 fd;

	if ((fd = mkstemp(path)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		ok(0, "make a temporary file");
		return;
	}
	drift_parse("GET /a\tmissing\t$.x\tcandidate", &v[0], &why);
	drift_parse("GET /b\tstatus 200->500\t-\tboth", &v[1], &why);
	baseline_write(f, v, 2, "from test.jsonl");
	fputs("\n   # an indented comment\n", f);
	fclose(f);
	b = baseline_load(path, &err);
	ok(b != NULL, "a written baseline reads back");
	is_int(baseline_count(b), 2, "... with its two drifts");
	ok(baseline_has(b, &v[0]) && baseline_has(b, &v[1]),
	    "... each found");
	drift_parse("GET /a\tmissing\t$.y\tcandidate", &d, &why);
	ok(!baseline_has(b, &d), "another path is not in it");
	drift_clear(&d);
	baseline_free(b);
	drift_clear(&v[0]);
	drift_clear(&v[1]);

	f = fopen(path, "w");
	fputs("# ok\nGET /a\tmissing\t$.x\tcandidate\nGET /a missing\n", f);
	fclose(f);
	b = baseline_load(path, &err);
	ok(b == NULL && err != NULL && strstr(err, ":3: fewer than 4") !=
	    NULL, "a bad line: refused with file and line (%s)",
	    err != NULL ? err : "");
	free(err);
	unlink(path);
	b = baseline_load(path, &err);
	ok(b == NULL && err != NULL && strstr(err, path) != NULL,
	    "a missing file: refused, naming it");
	free(err);
}

int
main(void)
{
	test_cases();
	test_noise();
	test_combinations();
	test_ids();
	test_baseline();
	return (done_testing());
}
