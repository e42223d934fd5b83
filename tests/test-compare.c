/*
 * Unit tests for the compare engine: src/compare.c, src/json.c,
 * src/shape.c and src/jsonpath.c.  Every row of DESIGN §4.2, the Rust/Go
 * drifts, noise handling, headers, encoded bodies and verdict precedence.
 */

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "paritytap.h"
#include "tap.h"

#define STRICT	0x1
#define LENIENT	0x2

static const char *vnames[] = {
	"match", "value", "header", "body", "shape", "status", "both_failed",
	"candidate_error", "primary_error", "skipped", "recorded", "none"
};

/* Render a diff list as "kind path side | ..." (side p, c, s or -). */
static char *
render(const struct diff_list *l)
{
	struct buf	b;
	size_t		i;
	int		side;

	buf_init(&b);
	for (i = 0; i < l->n; i++) {
		side = l->v[i].side;
		buf_printf(&b, "%s%s %s %s", i ? " | " : "", diff_name(&l->v[i]),
		    l->v[i].path ? l->v[i].path : "-",
		    side == SIDE_PRIMARY ? "p" : side == SIDE_CANDIDATE ? "c" :
		    side == SIDE_SECONDARY ? "s" : "-");
	}
	return (buf_detach(&b));
}

/* Return the first diff of a kind, or NULL. */
static const struct diff *
find(const struct diff_list *l, const char *kind)
{
	size_t	i;

	for (i = 0; i < l->n; i++) {
		if (strcmp(diff_name(&l->v[i]), kind) == 0)
			return (&l->v[i]);
	}
	return (NULL);
}

/* Return n copies of a string, concatenated (allocated). */
static char *
repeat(const char *s, size_t n)
{
	size_t	 len = strlen(s), i;
	char	*out = xmalloc(len * n + 1);

	for (i = 0; i < n; i++)
		memcpy(out + i * len, s, len);
	out[len * n] = '\0';
	return (out);
}

/* One JSON comparison case. */
struct json_case {
	const char	*name;
	const char	*primary;
	const char	*candidate;
	int		 flags;
	const char	*ignore[3];
	enum verdict	 verdict;
	const char	*diffs;
};

static const struct json_case json_cases[] = {
	/* DESIGN §4.2, row by row. */
	{ "4.2 value", "{\"a\":1}", "{\"a\":2}", 0, { NULL },
	  VERDICT_VALUE, "value $.a -" },
	{ "4.2 type integer vs string", "{\"a\":1}", "{\"a\":\"1\"}", 0,
	  { NULL }, VERDICT_SHAPE, "type $.a -" },
	{ "4.2 missing", "{\"a\":1}", "{}", 0, { NULL },
	  VERDICT_SHAPE, "missing $.a c" },
	{ "4.2 extra", "{}", "{\"a\":1}", 0, { NULL },
	  VERDICT_SHAPE, "extra $.a c" },
	{ "4.2 null vs absent", "{\"a\":null}", "{}", 0, { NULL },
	  VERDICT_SHAPE, "missing $.a c" },
	{ "4.2 zero vs absent (omitempty)", "{\"a\":0}", "{}", 0, { NULL },
	  VERDICT_SHAPE, "missing $.a c" },
	{ "4.2 integer vs real", "{\"a\":1}", "{\"a\":1.0}", 0, { NULL },
	  VERDICT_SHAPE, "type $.a -" },
	{ "4.2 integer vs real, lenient, equal", "{\"a\":1}", "{\"a\":1.0}",
	  LENIENT, { NULL }, VERDICT_MATCH, "" },
	{ "4.2 integer vs real, lenient, different", "{\"a\":1}",
	  "{\"a\":1.5}", LENIENT, { NULL }, VERDICT_VALUE, "value $.a -" },
	{ "4.2 array length", "[1,2]", "[1,2,3]", 0, { NULL },
	  VERDICT_VALUE, "value $ -" },
	{ "4.2 array element shapes", "[{\"a\":1}]", "[{\"b\":1}]", 0,
	  { NULL }, VERDICT_SHAPE, "missing $[0].a c | extra $[0].b c" },
	{ "4.2 empty array vs array of objects", "[]", "[{\"a\":1}]", 0,
	  { NULL }, VERDICT_VALUE, "value $ -" },
	{ "4.2 key order, default", "{\"b\":1,\"a\":2}", "{\"a\":2,\"b\":1}",
	  0, { NULL }, VERDICT_MATCH, "" },
	{ "4.2 key order, strict", "{\"b\":1,\"a\":2}", "{\"a\":2,\"b\":1}",
	  STRICT, { NULL }, VERDICT_SHAPE, "order $ c" },
	{ "4.2 key order, strict, same order", "{\"a\":1,\"b\":2}",
	  "{\"a\":1,\"x\":0,\"b\":2}", STRICT, { NULL }, VERDICT_SHAPE,
	  "extra $.x c" },
	{ "4.2 tagged enum drift (Schema)",
	  "{\"Schema\":{\"field\":\"x\",\"reason\":\"y\"}}",
	  "{\"Kind\":\"schema\",\"Field\":\"x\",\"Reason\":\"y\"}", 0,
	  { NULL }, VERDICT_SHAPE, "extra $.Field c | extra $.Kind c | "
	  "extra $.Reason c | missing $.Schema c" },

	/* The other enum variants, and the fixed wire format. */
	{ "tagged enum drift (Completeness)",
	  "{\"Completeness\":{\"reason\":\"y\"}}",
	  "{\"Kind\":\"completeness\",\"Field\":\"\",\"Reason\":\"y\"}", 0,
	  { NULL }, VERDICT_SHAPE, "missing $.Completeness c | "
	  "extra $.Field c | extra $.Kind c | extra $.Reason c" },
	{ "tagged enum drift (Consistency)",
	  "{\"Consistency\": {\"reason\":\"y\"}}",
	  "{\"Kind\":\"consistency\",\"Field\":\"\",\"Reason\":\"y\"}", 0,
	  { NULL }, VERDICT_SHAPE, "missing $.Consistency c | "
	  "extra $.Field c | extra $.Kind c | extra $.Reason c" },
	{ "tagged enum drift (Policy)",
	  "{\"Policy\": {\"reason\":\"y\"}}",
	  "{\"Kind\":\"policy\",\"Field\":\"\",\"Reason\":\"y\"}", 0,
	  { NULL }, VERDICT_SHAPE, "extra $.Field c | extra $.Kind c | "
	  "missing $.Policy c | extra $.Reason c" },
	{ "tagged enum, after the Go fix",
	  "{\"Schema\":{\"field\":\"x\",\"reason\":\"y\"}}",
	  "{\"Schema\": {\"field\": \"x\", \"reason\": \"y\"}}", 0,
	  { NULL }, VERDICT_MATCH, "" },
	{ "tagged enum inside an envelope",
	  "{\"ok\":false,\"errors\":[{\"Schema\":{\"field\":\"x\","
	  "\"reason\":\"y\"}}]}",
	  "{\"ok\":false,\"errors\":[{\"Kind\":\"schema\",\"Field\":\"x\","
	  "\"Reason\":\"y\"}]}", 0, { NULL }, VERDICT_SHAPE,
	  "extra $.errors[0].Field c | extra $.errors[0].Kind c | "
	  "extra $.errors[0].Reason c | missing $.errors[0].Schema c" },

	/* The materializer's omitempty line_offset. */
	{ "omitempty line_offset",
	  "{\"provenance\":{\"source\":\"data/_kb/a.jsonl\",\"line_offset\":0,"
	  "\"recorded_at\":\"2026-05-02T10:00:00Z\"}}",
	  "{\"provenance\":{\"source\":\"data/_kb/a.jsonl\","
	  "\"recorded_at\":\"2026-05-02T10:00:01Z\"}}", 0, { NULL },
	  VERDICT_SHAPE, "missing $.provenance.line_offset c | "
	  "value $.provenance.recorded_at -" },
	{ "omitempty line_offset, recorded_at ignored",
	  "{\"provenance\":{\"source\":\"data/_kb/a.jsonl\",\"line_offset\":0,"
	  "\"recorded_at\":\"2026-05-02T10:00:00Z\"}}",
	  "{\"provenance\":{\"source\":\"data/_kb/a.jsonl\","
	  "\"recorded_at\":\"2026-05-02T10:00:01Z\"}}", 0,
	  { "$..recorded_at" }, VERDICT_SHAPE,
	  "missing $.provenance.line_offset c" },
	{ "line_offset 1 kept by omitempty",
	  "{\"line_offset\":1}", "{\"line_offset\":1}", 0, { NULL },
	  VERDICT_MATCH, "" },

	/* Unicode. */
	{ "unicode equal", "{\"prompt\":\"h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac"
	  " \xf0\x9f\x9a\x80\"}", "{\"prompt\":\"h\xc3\xa9llo \xe6\x97\xa5"
	  "\xe6\x9c\xac \xf0\x9f\x9a\x80\"}", 0, { NULL }, VERDICT_MATCH, "" },
	{ "unicode escaped vs raw", "{\"s\":\"\\u00e9\\ud83d\\ude80\"}",
	  "{\"s\":\"\xc3\xa9\xf0\x9f\x9a\x80\"}", 0, { NULL },
	  VERDICT_MATCH, "" },
	{ "unicode different",
	  "{\"s\":\"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"}",
	  "{\"s\":\"\xe6\x97\xa5\xe6\x9c\xac\xe4\xba\xba\"}", 0, { NULL },
	  VERDICT_VALUE, "value $.s -" },
	{ "unicode key", "{\"\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87\":1}", "{}", 0,
	  { NULL }, VERDICT_SHAPE,
	  "missing $[\"\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87\"] c" },

	/* Paths. */
	{ "key with a dot", "{\"key with.dot\":1}", "{\"key with.dot\":2}", 0,
	  { NULL }, VERDICT_VALUE, "value $[\"key with.dot\"] -" },
	{ "key with a quote", "{\"a\\\"b\":1}", "{}", 0, { NULL },
	  VERDICT_SHAPE, "missing $[\"a\\\"b\"] c" },
	{ "numeric key", "{\"0\":1}", "{\"0\":true}", 0, { NULL },
	  VERDICT_SHAPE, "type $[\"0\"] -" },
	{ "nested array paths", "{\"a\":[[1],[2,{\"b\":null}]]}",
	  "{\"a\":[[1],[2,{\"b\":false}]]}", 0, { NULL }, VERDICT_SHAPE,
	  "type $.a[1][1].b -" },

	/* Scalars. */
	{ "top-level strings", "\"a\"", "\"b\"", 0, { NULL },
	  VERDICT_VALUE, "value $ -" },
	{ "top-level integer vs string", "1", "\"1\"", 0, { NULL },
	  VERDICT_SHAPE, "type $ -" },
	{ "true vs false", "{\"a\":true}", "{\"a\":false}", 0, { NULL },
	  VERDICT_VALUE, "value $.a -" },
	{ "boolean vs null", "{\"a\":true}", "{\"a\":null}", 0, { NULL },
	  VERDICT_SHAPE, "type $.a -" },
	{ "object vs array", "{\"a\":{}}", "{\"a\":[]}", 0, { NULL },
	  VERDICT_SHAPE, "type $.a -" },
	{ "value and shape together", "{\"a\":1,\"b\":2}", "{\"a\":9}", 0,
	  { NULL }, VERDICT_SHAPE, "value $.a - | missing $.b c" },

	/* Numbers beyond 64 bits. */
	{ "big integer, equal text", "{\"n\":123456789012345678901234567890}",
	  "{\"n\":123456789012345678901234567890}", 0, { NULL },
	  VERDICT_MATCH, "" },
	{ "big integer, different", "{\"n\":123456789012345678901234567890}",
	  "{\"n\":123456789012345678901234567891}", 0, { NULL },
	  VERDICT_VALUE, "value $.n -" },
	{ "big integer vs 64-bit integer", "{\"n\":18446744073709551616}",
	  "{\"n\":1}", 0, { NULL }, VERDICT_VALUE, "value $.n -" },
	{ "big negative integer, equal", "[-99999999999999999999]",
	  "[-99999999999999999999]", 0, { NULL }, VERDICT_MATCH, "" },
	{ "1e400, equal", "{\"x\":1e400}", "{\"x\":1e400}", 0, { NULL },
	  VERDICT_MATCH, "" },
	{ "1e400 vs 1e401", "{\"x\":1e400}", "{\"x\":1e401}", 0, { NULL },
	  VERDICT_VALUE, "value $.x -" },
	{ "1e400 vs integer", "{\"x\":1e400}", "{\"x\":1}", 0, { NULL },
	  VERDICT_SHAPE, "type $.x -" },
	{ "big integer vs string", "{\"n\":99999999999999999999}",
	  "{\"n\":\"99999999999999999999\"}", 0, { NULL }, VERDICT_SHAPE,
	  "type $.n -" },
	{ "marker text in a plain document is a string",
	  "{\"s\":\"\\u0000num:1\"}", "{\"s\":1}", 0, { NULL },
	  VERDICT_SHAPE, "type $.s -" },
	{ "big numbers with an invalid tail", "[1e400,",
	  "[1e400]", 0, { NULL }, VERDICT_BODY, "invalid_json $ p" },

	/* Invalid JSON. */
	{ "invalid primary", "{\"a\":", "{\"a\":1}", 0, { NULL },
	  VERDICT_BODY, "invalid_json $ p" },
	{ "invalid candidate", "{\"a\":1}", "{\"a\":1}}", 0, { NULL },
	  VERDICT_BODY, "invalid_json $ c" },
	{ "both invalid, identically, never match", "nope", "nope", 0,
	  { NULL }, VERDICT_BODY, "invalid_json $ p | invalid_json $ c" },
	{ "empty document", "", "{}", 0, { NULL },
	  VERDICT_BODY, "invalid_json $ p" },
	{ "invalid UTF-8", "{\"a\":\"\xff\"}", "{\"a\":\"x\"}", 0, { NULL },
	  VERDICT_BODY, "invalid_json $ p" },

	/* Duplicate keys. */
	{ "duplicate key on primary", "{\"a\":1,\"a\":2}", "{\"a\":2}", 0,
	  { NULL }, VERDICT_BODY, "duplicate_key $ p" },
	{ "duplicate key, last wins", "{\"a\":1,\"a\":2}", "{\"a\":1}", 0,
	  { NULL }, VERDICT_BODY, "duplicate_key $ p | value $.a -" },
	{ "same duplicate on both sides", "{\"x\":{\"k\":1,\"k\":2}}",
	  "{\"x\":{\"k\":1,\"k\":2}}", 0, { NULL }, VERDICT_MATCH,
	  "duplicate_key $.x p | duplicate_key $.x c" },
	{ "duplicate keys in array elements", "[{},{\"k\":1,\"k\":1,\"k\":1}]",
	  "[{},{\"k\":1}]", 0, { NULL }, VERDICT_BODY,
	  "duplicate_key $[1] p" },
	{ "duplicate key and a big number", "{\"n\":1e999,\"n\":2e999}",
	  "{\"n\":2e999}", 0, { NULL }, VERDICT_BODY, "duplicate_key $ p" },
	{ "duplicate key under an ignored path",
	  "{\"m\":{\"k\":1,\"k\":2},\"v\":1}", "{\"m\":{\"k\":3},\"v\":1}", 0,
	  { "$.m" }, VERDICT_MATCH, "" },
	{ "duplicate escaped key", "{\"a\":1,\"\\u0061\":1}", "{\"a\":1}", 0,
	  { NULL }, VERDICT_BODY, "duplicate_key $ p" },
	{ "an empty key three times", "{\"\":1,\"\":2,\"\":3}", "{\"\":3}", 0,
	  { NULL }, VERDICT_BODY, "duplicate_key $ p" },

	/* --ignore. */
	{ "ignore $.a drops everything under it",
	  "{\"a\":{\"b\":1,\"c\":[1]},\"d\":1}", "{\"a\":{\"b\":2,\"x\":0},"
	  "\"d\":1}", 0, { "$.a" }, VERDICT_MATCH, "" },
	{ "ignore $.a keeps others", "{\"a\":1,\"d\":1}", "{\"a\":2,\"d\":2}",
	  0, { "$.a" }, VERDICT_VALUE, "value $.d -" },
	{ "ignore a missing member", "{\"meta\":1,\"x\":1}", "{\"x\":1}", 0,
	  { "$.meta" }, VERDICT_MATCH, "" },
	{ "ignore $..ts anywhere",
	  "{\"ts\":1,\"x\":{\"ts\":2,\"y\":[{\"ts\":3,\"v\":1}]}}",
	  "{\"ts\":4,\"x\":{\"ts\":5,\"y\":[{\"ts\":\"6\",\"v\":2}]}}", 0,
	  { "$..ts" }, VERDICT_VALUE, "value $.x.y[0].v -" },
	{ "ignore $.items[*].id",
	  "{\"items\":[{\"id\":1,\"n\":\"a\"},{\"id\":2,\"n\":\"b\"}],"
	  "\"id\":1}", "{\"items\":[{\"id\":7,\"n\":\"a\"},{\"id\":8,"
	  "\"n\":\"c\"}],\"id\":2}", 0, { "$.items[*].id" }, VERDICT_VALUE,
	  "value $.id - | value $.items[1].n -" },
	{ "ignore $[\"a.b\"]", "{\"a.b\":1,\"a\":{\"b\":1}}",
	  "{\"a.b\":2,\"a\":{\"b\":2}}", 0, { "$[\"a.b\"]" }, VERDICT_VALUE,
	  "value $.a.b -" },
	{ "ignore $.a.b", "{\"a.b\":1,\"a\":{\"b\":1}}",
	  "{\"a.b\":2,\"a\":{\"b\":2}}", 0, { "$.a.b" }, VERDICT_VALUE,
	  "value $[\"a.b\"] -" },
	{ "ignore $[0]", "[1,2]", "[9,8]", 0, { "$[0]" }, VERDICT_VALUE,
	  "value $[1] -" },
	{ "ignore $[*]", "[1,2]", "[9,8]", 0, { "$[*]" }, VERDICT_MATCH, "" },
	{ "ignore $..*", "{\"a\":[1]}", "{\"a\":[2],\"b\":1}", 0, { "$..*" },
	  VERDICT_MATCH, "" },
	{ "ignore $ (everything)", "{\"a\":1}", "[]", 0, { "$" },
	  VERDICT_MATCH, "" },
	{ "ignore several", "{\"a\":1,\"b\":2,\"c\":3}", "{\"a\":0,\"b\":0,"
	  "\"c\":0}", 0, { "$.a", "$['b']" }, VERDICT_VALUE, "value $.c -" },
	{ "ignore with a dashed name", "{\"line-offset\":1}",
	  "{\"line-offset\":2}", 0, { "$.line-offset" }, VERDICT_MATCH, "" },
	{ "ignored keys do not count for order",
	  "{\"ts\":1,\"a\":1,\"b\":1}", "{\"a\":1,\"b\":1,\"ts\":2}", STRICT,
	  { "$.ts" }, VERDICT_MATCH, "" },
	{ "ignore the length of an array", "{\"a\":[1]}", "{\"a\":[1,2]}", 0,
	  { "$.a" }, VERDICT_MATCH, "" },
};

/* Run the table of JSON cases. */
static void
test_json_cases(void)
{
	struct compare_opts	 opts;
	struct diff_list	 dl;
	const struct json_case	*c;
	enum verdict		 v;
	char			*got;
	size_t			 i, n;

	for (i = 0; i < sizeof json_cases / sizeof json_cases[0]; i++) {
		c = &json_cases[i];
		memset(&opts, 0, sizeof opts);
		opts.strict_order = (c->flags & STRICT) != 0;
		opts.lenient_numbers = (c->flags & LENIENT) != 0;
		for (n = 0; n < 3 && c->ignore[n] != NULL; n++)
			/* nothing */;
		opts.ignore = (char **)c->ignore;
		opts.nignore = n;
		diff_list_init(&dl, 0);
		v = compare_json_text(&opts, NULL, c->primary,
		    strlen(c->primary), c->candidate, strlen(c->candidate),
		    &dl);
		is_str(vnames[v], vnames[c->verdict], "%s: verdict", c->name);
		got = render(&dl);
		is_str(got, c->diffs, "%s: diffs", c->name);
		free(got);
		diff_list_free(&dl);
	}
}

/* Compare two documents with default options into dl. */
static enum verdict
cmp(const char *a, const char *b, struct diff_list *dl)
{
	diff_list_init(dl, 0);
	return (compare_json_text(NULL, NULL, a, strlen(a), b, strlen(b), dl));
}

/* The renderings and details diffs carry. */
static void
test_json_fields(void)
{
	struct compare_opts	 opts;
	struct diff_list	 dl;
	const struct diff	*d;
	char			*a, *b;

	cmp("{\"a\":1}", "{\"a\":2}", &dl);
	d = find(&dl, "value");
	ok(d != NULL && d->side == -1, "value diff concerns both sides");
	is_str(d ? d->primary : NULL, "1", "value: primary rendering");
	is_str(d ? d->candidate : NULL, "2", "value: candidate rendering");
	diff_list_free(&dl);

	cmp("{\"a\":\"x\"}", "{\"a\":\"y\"}", &dl);
	d = find(&dl, "value");
	is_str(d ? d->primary : NULL, "\"x\"", "string rendered as JSON");
	diff_list_free(&dl);

	cmp("{\"a\":1}", "{\"a\":\"1\"}", &dl);
	d = find(&dl, "type");
	is_str(d ? d->primary : NULL, "integer", "type: primary type name");
	is_str(d ? d->candidate : NULL, "string", "type: candidate type name");
	diff_list_free(&dl);

	cmp("{\"a\":1}", "{\"a\":1.0}", &dl);
	d = find(&dl, "type");
	is_str(d ? d->candidate : NULL, "real", "type: real");
	diff_list_free(&dl);

	cmp("{\"a\":true}", "{\"a\":null}", &dl);
	d = find(&dl, "type");
	is_str(d ? d->primary : NULL, "boolean", "type: boolean");
	is_str(d ? d->candidate : NULL, "null", "type: null");
	diff_list_free(&dl);

	cmp("{\"a\":0}", "{}", &dl);
	d = find(&dl, "missing");
	ok(d != NULL && d->side == SIDE_CANDIDATE, "missing is on candidate");
	is_str(d ? d->primary : NULL, "0", "missing: primary value shown");
	diff_list_free(&dl);

	cmp("[1,2]", "[1,2,3]", &dl);
	d = find(&dl, "value");
	is_str(d ? d->detail : NULL, "length 2 vs 3", "array length detail");
	diff_list_free(&dl);

	cmp("{\"n\":123456789012345678901234567890}",
	    "{\"n\":123456789012345678901234567891}", &dl);
	d = find(&dl, "value");
	is_str(d ? d->primary : NULL, "123456789012345678901234567890",
	    "big integer rendered as its text");
	diff_list_free(&dl);

	cmp("{\"x\":1e400}", "{\"x\":1}", &dl);
	d = find(&dl, "type");
	is_str(d ? d->primary : NULL, "real", "1e400 is a real");
	diff_list_free(&dl);

	cmp("{\"x\":0.1}", "{\"x\":0.25}", &dl);
	d = find(&dl, "value");
	is_str(d ? d->primary : NULL, "0.1", "reals rendered short");
	diff_list_free(&dl);

	a = repeat("\xe6\x97\xa5", 100);
	xasprintf(&b, "{\"s\":\"%s\"}", a);
	free(a);
	cmp(b, "{\"s\":\"\"}", &dl);
	d = find(&dl, "value");
	ok(d != NULL && strlen(d->primary) <= 80 &&
	    strcmp(d->primary + strlen(d->primary) - 3, "...") == 0,
	    "long values cut to 80 bytes");
	ok(d != NULL && strncmp(d->primary, "\"\xe6\x97\xa5", 4) == 0 &&
	    (strlen(d->primary) - 4) % 3 == 0, "cut on a UTF-8 boundary");
	free(b);
	diff_list_free(&dl);

	cmp("{\"a\":1,\"a\":2}", "{\"a\":2}", &dl);
	d = find(&dl, "duplicate_key");
	is_str(d ? d->detail : NULL, "duplicate key \"a\" at byte 7",
	    "duplicate key detail names key and offset");
	diff_list_free(&dl);

	cmp("{\"a\":1}", "{\"a\" 1}", &dl);
	d = find(&dl, "invalid_json");
	ok(d != NULL && d->side == SIDE_CANDIDATE && d->detail != NULL &&
	    strstr(d->detail, "at byte 6") != NULL,
	    "invalid JSON detail names the offset: %s",
	    d && d->detail ? d->detail : "(none)");
	diff_list_free(&dl);

	/* Same-length numbers that need no rewriting give the same offset. */
	cmp("[10000, 20000, x]", "[]", &dl);
	a = xstrdup(find(&dl, "invalid_json")->detail);
	diff_list_free(&dl);
	cmp("[1e400, 2e400, x]", "[]", &dl);
	d = find(&dl, "invalid_json");
	is_str(d ? d->detail : NULL, a,
	    "offset after rewritten numbers is the original's");
	free(a);
	diff_list_free(&dl);

	memset(&opts, 0, sizeof opts);
	opts.strict_order = 1;
	diff_list_init(&dl, 0);
	compare_json_text(&opts, NULL, "{\"b\":1,\"a\":2}", 13,
	    "{\"a\":2,\"b\":1}", 13, &dl);
	d = find(&dl, "order");
	is_str(d ? d->primary : NULL, "b,a", "order: primary key order");
	is_str(d ? d->candidate : NULL, "a,b", "order: candidate key order");
	diff_list_free(&dl);
}

/* Nesting far beyond the parser's limit, and just within it. */
static void
test_depth(void)
{
	struct diff_list	 dl;
	const struct diff	*d;
	enum verdict		 v;
	char			*open, *close, *a, *b, *deep, *path;

	open = repeat("[", 100000);
	v = cmp(open, "[]", &dl);
	is_int(v, VERDICT_BODY, "100,000 [ is a body verdict, no crash");
	d = find(&dl, "depth");
	ok(d != NULL && d->side == SIDE_PRIMARY &&
	    strncmp(d->detail, "nesting deeper than 2048", 24) == 0,
	    "100,000 [ reported as depth on primary");
	diff_list_free(&dl);
	v = cmp(open, open, &dl);
	a = render(&dl);
	is_str(a, "depth $ p | depth $ c", "too deep on both sides never "
	    "matches");
	is_int(v, VERDICT_BODY, "too deep on both: body");
	free(a);
	diff_list_free(&dl);
	free(open);

	deep = repeat("{\"k\":", 100000);
	v = cmp(deep, "{}", &dl);
	is_int(v, VERDICT_BODY, "100,000 nested objects: body, no crash");
	free(deep);
	diff_list_free(&dl);

	open = repeat("[", 2000);
	close = repeat("]", 2000);
	xasprintf(&a, "%s1%s", open, close);
	xasprintf(&b, "%s2%s", open, close);
	v = cmp(a, a, &dl);
	is_int(v, VERDICT_MATCH, "2000 deep, equal: match");
	diff_list_free(&dl);
	v = cmp(a, b, &dl);
	is_int(v, VERDICT_VALUE, "2000 deep, different leaf: value");
	path = repeat("[0]", 2000);
	xasprintf(&deep, "$%s", path);
	is_str(dl.n == 1 ? dl.v[0].path : NULL, deep,
	    "2000 deep leaf path");
	free(deep);
	free(path);
	diff_list_free(&dl);
	free(a);
	free(b);
	free(open);
	free(close);

	/* Duplicate keys are looked for only up to the depth limit. */
	open = repeat("[", 3000);
	xasprintf(&a, "{\"a\":1,\"a\":2,\"x\":%s", open);
	v = cmp(a, "{}", &dl);
	b = render(&dl);
	is_str(b, "depth $ p | duplicate_key $ p",
	    "duplicate key then too deep: both reported");
	is_int(v, VERDICT_BODY, "duplicate key then too deep: body");
	free(b);
	free(a);
	free(open);
	diff_list_free(&dl);

}

/* A wide document: many diffs, capped, with the verdict intact. */
static void
test_cap(void)
{
	struct diff_list	 dl;
	struct buf		 pa, pb;
	enum verdict		 v;
	size_t			 i;

	buf_init(&pa);
	buf_init(&pb);
	buf_addstr(&pa, "[");
	buf_addstr(&pb, "[");
	for (i = 0; i < 1000; i++) {
		buf_printf(&pa, "%s{\"v\":%zu}", i ? "," : "", i);
		buf_printf(&pb, "%s{\"v\":%zu}", i ? "," : "", i + 1);
	}
	buf_addstr(&pa, ",{\"gone\":1}]");
	buf_addstr(&pb, ",{}]");
	v = cmp(pa.data, pb.data, &dl);
	is_int(v, VERDICT_SHAPE, "shape found after the cap still decides "
	    "the verdict");
	is_int(dl.n, DEFAULT_MAX_DIFFS, "diffs capped at 64");
	is_int(dl.truncated, 1, "list marked truncated");
	buf_free(&pa);
	buf_free(&pb);
	diff_list_free(&dl);
}

/* Ignore patterns: validation and causes. */
static void
test_ignore_valid(void)
{
	static const char *good[] = {
		"$", "$.a", "$.a.b", "$[\"key with.dot\"]", "$['k']", "$[0]",
		"$[*]", "$.items[*].id", "$..key", "$..*", "$..[0]",
		"$.line-offset", "$.*", "$[\"a\\\"b\"]", "$[\"\\u00e9\"]", NULL
	};
	static const struct {
		const char *pattern;
		const char *cause;
	} bad[] = {
		{ "", "invalid ignore pattern \"\": must start with $ at "
		  "offset 0" },
		{ "a.b", "invalid ignore pattern \"a.b\": must start with $ at "
		  "offset 0" },
		{ "$.", "invalid ignore pattern \"$.\": empty member name at "
		  "end at offset 2" },
		{ "$..", "invalid ignore pattern \"$..\": empty member name "
		  "at end at offset 3" },
		{ "$[", "invalid ignore pattern \"$[\": unterminated bracket "
		  "at offset 2" },
		{ "$[0", "invalid ignore pattern \"$[0\": unterminated bracket "
		  "at offset 3" },
		{ "$[-1]", "invalid ignore pattern \"$[-1]\": negative array "
		  "index at offset 2" },
		{ "$[?(@.a)]", NULL },
		{ "$[0:2]", "invalid ignore pattern \"$[0:2]\": expected ] in "
		  "bracket expression at offset 3" },
		{ "$.a b", NULL },
		{ "$[\"open]", "invalid ignore pattern \"$[\"open]\": "
		  "unterminated quoted name at offset 2" },
		{ "$a", NULL },
		{ "$[99999999999999999999999]", NULL },
		{ "$[\"\\ud800\"]", NULL },
	};
	char	*cause;
	size_t	 i;

	for (i = 0; good[i] != NULL; i++) {
		cause = NULL;
		is_int(jsonpath_valid(good[i], &cause), 0,
		    "ignore pattern %s is valid", good[i]);
		ok(cause == NULL, "no cause for %s", good[i]);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		is_int(jsonpath_valid(bad[i].pattern, &cause), -1,
		    "ignore pattern '%s' is rejected", bad[i].pattern);
		if (bad[i].cause != NULL)
			is_str(cause, bad[i].cause, "cause for '%s'",
			    bad[i].pattern);
		else
			ok(cause != NULL && strstr(cause, bad[i].pattern) !=
			    NULL, "cause for '%s' names it: %s",
			    bad[i].pattern, cause ? cause : "(null)");
		free(cause);
	}
}

/* Folding array indexes for signatures. */
static void
test_path_fold(void)
{
	static const char *cases[][2] = {
		{ "$.a[3].b", "$.a[*].b" },
		{ "$[0][12]", "$[*][*]" },
		{ "$[\"[0]\"][1]", "$[\"[0]\"][*]" },
		{ "$[\"a\\\"[1]\"]", "$[\"a\\\"[1]\"]" },
		{ "$", "$" },
		{ "content-type", "content-type" },
		{ "$.items[*].id", "$.items[*].id" },
	};
	size_t	 i;
	char	*f;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		f = jsonpath_fold(cases[i][0]);
		is_str(f, cases[i][1], "jsonpath_fold %s", cases[i][0]);
		free(f);
	}
	ok(jsonpath_fold(NULL) == NULL, "jsonpath_fold NULL");
}

/* diff_list: cap, truncation, deterministic order; kind names. */
static void
test_diff_list(void)
{
	struct diff_list	 dl;
	struct diff		*d;
	enum diff_kind		 kind;
	char			*got;
	size_t			 i;

	diff_list_init(&dl, 3);
	for (i = 0; i < 3; i++) {
		d = diff_list_add_name(&dl, "value", "$.a", -1);
		ok(d != NULL, "add %zu under the cap", i);
	}
	d = diff_list_add_name(&dl, "value", "$.b", -1);
	ok(d == NULL, "add over the cap");
	is_int(dl.truncated, 1, "truncated after the cap");
	is_int(dl.n, 3, "three diffs kept");
	diff_list_free(&dl);
	is_int(dl.n, 0, "freed list is empty");

	diff_list_init(&dl, 0);
	for (i = 0; i < DEFAULT_MAX_DIFFS; i++)
		diff_list_add_name(&dl, "value", "$", -1);
	d = diff_list_add_name(&dl, "value", "$", -1);
	ok(d == NULL, "max 0 means DEFAULT_MAX_DIFFS");
	diff_list_free(&dl);

	diff_list_init(&dl, 0);
	diff_list_add_name(&dl, "value", "$.b", -1);
	diff_list_add_name(&dl, "missing", "$.a", SIDE_CANDIDATE);
	d = diff_list_add_name(&dl, "header", "x", SIDE_CANDIDATE);
	d->detail = xstrdup("missing");
	d = diff_list_add_name(&dl, "header", "x", SIDE_CANDIDATE);
	d->detail = xstrdup("extra");
	diff_list_add_name(&dl, "status", NULL, -1);
	diff_list_add_name(&dl, "invalid_json", "$", SIDE_CANDIDATE);
	diff_list_add_name(&dl, "invalid_json", "$", SIDE_PRIMARY);
	diff_list_add_name(&dl, "extra", "$.a", SIDE_CANDIDATE);
	diff_list_sort(&dl);
	got = render(&dl);
	is_str(got, "status - - | invalid_json $ p | invalid_json $ c | "
	    "extra $.a c | missing $.a c | value $.b - | header x c | "
	    "header x c", "sorted by path, kind, side");
	is_str(dl.v[6].detail, "extra", "then by detail");
	free(got);
	diff_list_free(&dl);

	for (i = 0; i < DIFF_OTHER; i++) {
		if (diff_kind_parse(diff_kind_name(i), &kind) != 0 ||
		    kind != i)
			break;
	}
	is_int(i, DIFF_OTHER, "every kind's name parses back to the kind");
	ok(diff_kind_name(DIFF_OTHER) == NULL, "DIFF_OTHER has no own name");
	diff_list_init(&dl, 0);
	diff_list_add(&dl, DIFF_VALUE, "$", -1);
	d = diff_list_add_name(&dl, "renamed", "$", -1);
	is_int(d->kind, DIFF_OTHER, "a name no kind has is DIFF_OTHER");
	diff_list_add_name(&dl, "depth", "$", -1);
	diff_list_sort(&dl);
	got = render(&dl);
	is_str(got, "depth $ - | renamed $ - | value $ -",
	    "a name no kind has is kept, and sorts as a name");
	free(got);
	diff_list_free(&dl);
}

/* Add a header to a list. */
static void
hadd(struct headers *hs, const char *name, const char *value)
{
	headers_add(hs, name, strlen(name), value, strlen(value));
}

/* Header comparison. */
static void
test_headers(void)
{
	struct compare_opts	 opts;
	struct route_rule	 rule;
	struct headers		 p, c;
	struct diff_list	 dl;
	const struct diff	*d;
	char			*ign[] = { "X-Build" }, *rign[] = { "X-Shard" };
	char			*got;
	enum verdict		 v;

	memset(&p, 0, sizeof p);
	memset(&c, 0, sizeof c);
	memset(&opts, 0, sizeof opts);
	hadd(&p, "Date", "Sat, 02 May 2026 10:00:00 GMT");
	hadd(&c, "date", "Sat, 02 May 2026 10:00:01 GMT");
	hadd(&p, "Server", "axum");
	hadd(&c, "Server", "net/http");
	hadd(&p, "Content-Length", "12");
	hadd(&c, "Content-Length", "13");
	hadd(&c, "Transfer-Encoding", "chunked");
	hadd(&p, "X-Request-Id", "a");
	hadd(&c, "X-Request-Id", "b");
	hadd(&p, "X-Paritytap-Trace-Id", "1-2");
	hadd(&c, "X-Paritytap-Trace-Id", "1-3");
	hadd(&p, "Content-Type", "application/json");
	hadd(&c, "content-type", "application/json");
	diff_list_init(&dl, 0);
	v = compare_headers(&opts, NULL, &p, &c, &dl);
	is_int(v, VERDICT_MATCH, "default ignore list: Date/Server/... differ "
	    "-> match");
	is_int(dl.n, 0, "no header diffs");
	diff_list_free(&dl);

	headers_free(&c);
	hadd(&c, "Content-Type", "application/json; charset=utf-8");
	hadd(&c, "X-New", "1");
	hadd(&p, "X-Old", "1");
	hadd(&p, "Vary", "Accept");
	hadd(&p, "Vary", "Origin");
	hadd(&c, "Vary", "Accept, Origin");
	hadd(&p, "X-Build", "1");
	hadd(&c, "X-Build", "2");
	hadd(&p, "X-Shard", "1");
	hadd(&c, "Connection", "close, X-Hop");
	hadd(&c, "X-Hop", "1");
	v = compare_headers(&opts, NULL, &p, &c, &dl);
	is_int(v, VERDICT_HEADER, "charset and others: header verdict");
	diff_list_sort(&dl);
	got = render(&dl);
	is_str(got, "header content-type - | header x-build - | "
	    "header x-new c | header x-old c | header x-shard c",
	    "header diffs");
	free(got);
	d = find(&dl, "header");
	is_str(d ? d->primary : NULL, "application/json",
	    "content-type primary value");
	is_str(d ? d->candidate : NULL, "application/json; charset=utf-8",
	    "content-type candidate value");
	d = &dl.v[2];
	is_str(d->detail, "extra", "x-new only on candidate: extra");
	is_str(d->candidate, "1", "extra header value");
	d = &dl.v[3];
	is_str(d->detail, "missing", "x-old only on primary: missing");
	diff_list_free(&dl);

	opts.ignore_headers = ign;
	opts.nignore_headers = 1;
	memset(&rule, 0, sizeof rule);
	rule.rr_ignore_headers = rign;
	rule.rr_nignore_headers = 1;
	v = compare_headers(&opts, &rule, &p, &c, &dl);
	diff_list_sort(&dl);
	got = render(&dl);
	is_str(got, "header content-type - | header x-new c | "
	    "header x-old c", "--ignore-header and route ignores");
	free(got);
	diff_list_free(&dl);

	/* Three values, one empty, joined in wire order. */
	opts.ignore_headers = NULL;
	opts.nignore_headers = 0;
	headers_free(&p);
	headers_free(&c);
	hadd(&p, "X-Multi", "a");
	hadd(&p, "x-multi", "");
	hadd(&p, "X-MULTI", "c");
	hadd(&c, "X-Multi", "a, , c");
	v = compare_headers(&opts, NULL, &p, &c, &dl);
	is_int(v, VERDICT_MATCH, "three values joined: a, , c");
	diff_list_free(&dl);
	headers_free(&c);
	hadd(&c, "X-Multi", "a, c");
	v = compare_headers(&opts, NULL, &p, &c, &dl);
	d = find(&dl, "header");
	ok(v == VERDICT_HEADER && d != NULL && strcmp(d->primary,
	    "a, , c") == 0 && strcmp(d->candidate, "a, c") == 0,
	    "three values joined: the diff shows \"a, , c\" and \"a, c\"");
	diff_list_free(&dl);

	headers_free(&p);
	headers_free(&c);
	hadd(&p, "Vary", "Origin");
	hadd(&p, "Vary", "Accept");
	hadd(&c, "Vary", "Accept, Origin");
	hadd(&p, "X-Trace", "a");
	hadd(&c, "X-Trace", "b");
	opts.trace_header = "X-Trace";
	v = compare_headers(&opts, NULL, &p, &c, &dl);
	is_int(v, VERDICT_HEADER, "values joined in wire order");
	got = render(&dl);
	is_str(got, "header vary -", "only vary differs (custom trace "
	    "header ignored)");
	is_str(dl.n ? dl.v[0].primary : NULL, "Origin, Accept",
	    "joined primary value");
	free(got);
	diff_list_free(&dl);
	headers_free(&p);
	headers_free(&c);
}

/* Set up a response side. */
static void
side_set(struct response_side *rs, int status, const char *ctype,
    const char *body)
{
	memset(rs, 0, sizeof *rs);
	rs->present = 1;
	rs->status = status;
	if (ctype != NULL)
		hadd(&rs->headers, "Content-Type", ctype);
	if (body != NULL) {
		buf_add(&rs->body, body, strlen(body));
		rs->body_bytes = strlen(body);
	}
}

/* Compress with zlib: window 31 gzip, 15 zlib, -15 raw deflate. */
static void
zip(struct buf *out, const char *in, size_t len, int window)
{
	unsigned char	 chunk[4096];
	z_stream	 z;
	int		 ret;

	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 6, Z_DEFLATED, window, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof chunk;
		ret = deflate(&z, Z_FINISH);
		buf_add(out, chunk, sizeof chunk - z.avail_out);
	} while (ret == Z_OK);
	deflateEnd(&z);
}

/* Set a side's body to an encoded document. */
static void
side_encode(struct response_side *rs, const char *body, int window,
    const char *coding)
{
	buf_reset(&rs->body);
	zip(&rs->body, body, strlen(body), window);
	rs->body_bytes = rs->body.len;
	hadd(&rs->headers, "Content-Encoding", coding);
}

/*
 * A body that decodes past --max-body (opts->max_body) is not decoded
 * further and is not compared: the diff says so, on the side that did,
 * and the verdict is never a match unless both sides are the same bytes
 * under the same coding.
 */
static void
test_decode_bound(void)
{
	struct compare_opts	 opts;
	struct response_side	 p, c;
	struct diff_list	 dl;
	struct buf		 out;
	const struct diff	*d;
	char			*big, *cause = NULL, *got;
	size_t			 n = 64 * 1024;
	enum verdict		 v;

	memset(&opts, 0, sizeof opts);
	opts.max_body = 1000;
	big = xmalloc(n + 1);
	memset(big, 'a', n);
	big[n] = '\0';
	side_set(&p, 200, "text/plain", NULL);
	side_encode(&p, big, 31, "gzip");
	side_set(&c, 200, "text/plain", NULL);
	side_encode(&c, big, 31, "gzip");
	buf_init(&out);
	is_int(decode_body(&p, &out, 1000, &cause), DECODE_OVER,
	    "64 KiB of gzip text, limit 1000: over");
	ok(out.len <= 1000, "over: at most the limit is kept (%zu)", out.len);
	is_str(cause, "decoded body over 1000 bytes", "over: the cause");
	free(cause);
	buf_free(&out);

	diff_list_init(&dl, 0);
	v = compare_bodies(&opts, NULL, &p, &c, &dl);
	is_int(v, VERDICT_MATCH, "the same gzip bytes on both sides, past "
	    "--max-body: a match without decoding either whole");
	is_int(dl.n, 0, "the same bytes: no diff");
	diff_list_free(&dl);

	/* Deflate over zlib: the same text, other bytes. */
	response_side_free(&c);
	side_set(&c, 200, "text/plain", NULL);
	side_encode(&c, big, 15, "deflate");
	v = compare_bodies(&opts, NULL, &p, &c, &dl);
	is_int(v, VERDICT_BODY, "both past --max-body, other bytes: body");
	got = render(&dl);
	is_str(got, "body - p | body - c", "a body diff on each side");
	free(got);
	d = find(&dl, "body");
	is_str(d != NULL ? d->detail : NULL, "primary body decodes to more "
	    "than --max-body (1000 bytes), cannot compare",
	    "the detail names --max-body");
	diff_list_free(&dl);

	/* One side within it: the other's size alone says they differ. */
	response_side_free(&c);
	side_set(&c, 200, "text/plain", NULL);
	side_encode(&c, "aaaa", 31, "gzip");
	v = compare_bodies(&opts, NULL, &p, &c, &dl);
	is_int(v, VERDICT_BODY, "one side past --max-body: body");
	got = render(&dl);
	is_str(got, "body - p", "the diff is on the side past it");
	free(got);
	diff_list_free(&dl);

	/* The same bytes named by other codings are not taken as equal. */
	response_side_free(&c);
	side_set(&c, 200, "text/plain", NULL);
	buf_add(&c.body, p.body.data, p.body.len);
	c.body_bytes = c.body.len;
	hadd(&c.headers, "Content-Encoding", "gzip, identity, gzip");
	v = compare_bodies(&opts, NULL, &p, &c, &dl);
	is_int(v, VERDICT_BODY, "the same bytes, other codings: body");
	diff_list_free(&dl);

	/* Without --max-body the default (8M) holds: 64 KiB decodes. */
	v = compare_bodies(NULL, NULL, &p, &p, &dl);
	is_int(v, VERDICT_MATCH, "the default bound decodes 64 KiB");
	diff_list_free(&dl);

	response_side_free(&c);
	response_side_free(&p);
	free(big);
}

/* Body decoding and comparison. */
static void
test_bodies(void)
{
	static const char	*doc = "{\"ok\":true,\"items\":[1,2,3]}";
	struct response_side	 p, c;
	struct diff_list	 dl;
	struct buf		 out;
	char			*cause, *got;
	enum verdict		 v;

	side_set(&p, 200, "application/json", doc);
	side_set(&c, 200, "application/json", doc);
	side_encode(&c, doc, 31, "gzip");
	diff_list_init(&dl, 0);
	v = compare_bodies(NULL, NULL, &p, &c, &dl);
	is_int(v, VERDICT_MATCH, "gzip body vs identity body, same JSON");
	is_int(dl.n, 0, "no diffs for gzip vs identity");
	response_side_free(&c);

	side_set(&c, 200, "application/json", doc);
	side_encode(&c, doc, 15, "deflate");
	v = compare_bodies(NULL, NULL, &p, &c, &dl);
	is_int(v, VERDICT_MATCH, "deflate (zlib) vs identity");
	response_side_free(&c);

	side_set(&c, 200, "application/json", doc);
	side_encode(&c, doc, -15, "deflate");
	v = compare_bodies(NULL, NULL, &p, &c, &dl);
	is_int(v, VERDICT_MATCH, "deflate (raw) vs identity");
	response_side_free(&c);

	side_set(&c, 200, "application/json", doc);
	side_encode(&c, doc, 31, "X-GZIP");
	v = compare_bodies(NULL, NULL, &p, &c, &dl);
	is_int(v, VERDICT_MATCH, "x-gzip, any case");
	response_side_free(&c);

	/* Two gzip members back to back, then gzip over identity. */
	side_set(&c, 200, "application/json", NULL);
	zip(&c.body, "{\"ok\":true,", 11, 31);
	zip(&c.body, "\"items\":[1,2,3]}", 16, 31);
	hadd(&c.headers, "Content-Encoding", "identity, gzip");
	buf_init(&out);
	is_int(decode_body(&c, &out, 0, &cause), 0, "multi-member gzip "
	    "decodes");
	is_str(out.data, doc, "multi-member gzip: both members");
	buf_free(&out);
	is_int(decode_body(&c, &out, 10, &cause), DECODE_OVER, "decode limit");
	is_str(cause, "decoded body over 10 bytes", "decode limit cause");
	free(cause);
	buf_free(&out);
	response_side_free(&c);

	side_set(&c, 200, "application/json", doc);
	hadd(&c.headers, "Content-Encoding", "gzip");
	is_int(decode_body(&c, &out, 0, &cause), -1, "corrupt gzip fails");
	ok(cause != NULL && strncmp(cause, "cannot decode gzip body", 23) == 0,
	    "corrupt gzip cause: %s", cause ? cause : "(null)");
	free(cause);
	buf_free(&out);
	v = compare_bodies(NULL, NULL, &p, &c, &dl);
	is_int(v, VERDICT_BODY, "corrupt gzip: body verdict");
	got = render(&dl);
	is_str(got, "body - c", "corrupt gzip: body diff on candidate");
	free(got);
	diff_list_free(&dl);
	response_side_free(&c);

	/* HEAD, 204, 304: the coding is named, the body is empty. */
	response_side_free(&p);
	side_set(&p, 200, "application/json", "");
	hadd(&p.headers, "Content-Encoding", "gzip");
	side_set(&c, 200, "application/json", "");
	hadd(&c.headers, "Content-Encoding", "gzip");
	cause = NULL;
	is_int(decode_body(&c, &out, 0, &cause), 0,
	    "an empty gzip body decodes to nothing");
	is_int((int)out.len, 0, "an empty gzip body: empty");
	ok(cause == NULL, "an empty gzip body: no cause");
	buf_free(&out);
	v = compare_bodies(NULL, NULL, &p, &c, &dl);
	is_int(v, VERDICT_MATCH, "two empty gzip bodies (HEAD) match");
	is_int(dl.n, 0, "two empty gzip bodies: no diffs");
	diff_list_free(&dl);
	response_side_free(&c);
	response_side_free(&p);
	side_set(&p, 200, "application/json", doc);

	side_set(&c, 200, "application/json", doc);
	hadd(&c.headers, "Content-Encoding", "br");
	is_int(decode_body(&c, &out, 0, &cause), -1, "br is not supported");
	is_str(cause, "unsupported Content-Encoding \"br\"", "br cause");
	free(cause);
	buf_free(&out);
	v = compare_bodies(NULL, NULL, &p, &c, &dl);
	is_int(v, VERDICT_BODY, "unknown encoding: body verdict");
	diff_list_free(&dl);
	response_side_free(&c);

	side_set(&c, 200, "application/problem+json", "{\"ok\":false,"
	    "\"items\":[1,2,3]}");
	v = compare_bodies(NULL, NULL, &p, &c, &dl);
	is_int(v, VERDICT_VALUE, "+json content type compared as JSON");
	diff_list_free(&dl);
	response_side_free(&c);

	side_set(&c, 200, NULL, "  \n{\"ok\":true,\"items\":[1,2]}");
	v = compare_bodies(NULL, NULL, &p, &c, &dl);
	is_int(v, VERDICT_VALUE, "no content type, body starts with {: JSON");
	diff_list_free(&dl);
	response_side_free(&c);

	side_set(&c, 200, "application/json", "{\"ok\":tru");
	v = compare_bodies(NULL, NULL, &p, &c, &dl);
	is_int(v, VERDICT_BODY, "invalid JSON on candidate: body");
	got = render(&dl);
	is_str(got, "invalid_json $ c", "invalid JSON diff on candidate");
	ok(dl.n == 1 && strstr(dl.v[0].detail, "at byte") != NULL,
	    "invalid JSON detail has an offset: %s",
	    dl.n ? dl.v[0].detail : "");
	free(got);
	diff_list_free(&dl);
	response_side_free(&c);

	side_set(&c, 200, "text/html", "<html>oops</html>");
	v = compare_bodies(NULL, NULL, &p, &c, &dl);
	is_int(v, VERDICT_BODY, "JSON vs HTML: body");
	got = render(&dl);
	is_str(got, "body - -", "JSON vs HTML: one body diff");
	free(got);
	diff_list_free(&dl);
	response_side_free(&c);
	response_side_free(&p);

	side_set(&p, 200, "application/json", "<html>bad gateway</html>");
	side_set(&c, 200, "text/html", "<html>bad gateway</html>!");
	v = compare_bodies(NULL, NULL, &p, &c, &dl);
	is_int(v, VERDICT_BODY, "JSON-typed body that is not JSON vs HTML");
	got = render(&dl);
	is_str(got, "body - - | invalid_json $ p",
	    "the JSON side's parse error is named");
	free(got);
	diff_list_free(&dl);
	response_side_free(&p);
	response_side_free(&c);

	side_set(&p, 200, "text/plain", "hello world");
	side_set(&c, 200, "text/plain", "hello World");
	v = compare_bodies(NULL, NULL, &p, &c, &dl);
	is_int(v, VERDICT_BODY, "text bodies differ: body");
	is_str(dl.n ? dl.v[0].detail : NULL, "bodies differ at byte 6 "
	    "(11 vs 11 bytes)", "text body diff detail");
	diff_list_free(&dl);
	response_side_free(&c);
	side_set(&c, 200, "text/plain", "hello world");
	v = compare_bodies(NULL, NULL, &p, &c, &dl);
	is_int(v, VERDICT_MATCH, "text bodies equal: match");
	response_side_free(&p);
	response_side_free(&c);

	side_set(&p, 204, "application/json", NULL);
	side_set(&c, 204, NULL, NULL);
	v = compare_bodies(NULL, NULL, &p, &c, &dl);
	is_int(v, VERDICT_MATCH, "both empty: match");
	is_int(dl.n, 0, "both empty: no diffs");
	response_side_free(&p);
	response_side_free(&c);

	/* Truncated bodies compare by the whole body's sha256. */
	side_set(&p, 200, "application/json", "{\"a\":");
	side_set(&c, 200, "application/json", "{\"a\":");
	p.truncated = c.truncated = 1;
	p.body_sha256 = xstrdup("ab");
	c.body_sha256 = xstrdup("AB");
	v = compare_bodies(NULL, NULL, &p, &c, &dl);
	is_int(v, VERDICT_MATCH, "truncated, same sha256: match");
	free(c.body_sha256);
	c.body_sha256 = xstrdup("cd");
	v = compare_bodies(NULL, NULL, &p, &c, &dl);
	is_int(v, VERDICT_BODY, "truncated, different sha256: body");
	diff_list_free(&dl);
	free(c.body_sha256);
	c.body_sha256 = NULL;
	c.truncated = 0;
	c.body_bytes = 5;
	p.body_bytes = 100;
	v = compare_bodies(NULL, NULL, &p, &c, &dl);
	is_int(v, VERDICT_BODY, "truncated without sha256: body");
	is_str(dl.n ? dl.v[0].detail : NULL, "primary body was truncated "
	    "(5 of 100 bytes kept), cannot compare", "truncated detail");
	diff_list_free(&dl);
	response_side_free(&p);
	response_side_free(&c);
}

/* A fresh exchange with both sides answering. */
static void
ex_setup(struct exchange *ex, int ps, const char *pbody, int cs,
    const char *cbody)
{
	memset(ex, 0, sizeof *ex);
	ex->ex_verdict = VERDICT_NONE;
	side_set(&ex->ex_resp[SIDE_PRIMARY], ps, "application/json", pbody);
	side_set(&ex->ex_resp[SIDE_CANDIDATE], cs, "application/json", cbody);
}

/* Free what ex_setup and compare_exchange allocated. */
static void
ex_free(struct exchange *ex)
{
	response_side_free(&ex->ex_resp[SIDE_PRIMARY]);
	response_side_free(&ex->ex_resp[SIDE_CANDIDATE]);
	diff_list_free(&ex->ex_diffs);
	free(ex->ex_skip_reason);
	free(ex->ex_route);
}

/* Build an object with n keys, each given twice; key i is prefix + i. */
static char *
dup_object(const char *prefix, size_t n)
{
	struct buf	b;
	size_t		i;

	buf_init(&b);
	buf_addstr(&b, "{");
	for (i = 0; i < n; i++)
		buf_printf(&b, "%s\"%s%zu\":1,\"%s%zu\":1", i ? "," : "",
		    prefix, i, prefix, i);
	buf_addstr(&b, "}");
	return (buf_detach(&b));
}

/* Duplicate keys are matched in full: all of them, every byte. */
static void
test_dup_corners(void)
{
	struct diff_list	 dl;
	enum verdict		 v;
	char			*a, *b, *ka, *kb, *got;

	/* More duplicates than the diff cap: a document is its own twin. */
	a = dup_object("k", 40);
	v = cmp(a, a, &dl);
	is_str(vnames[v], "match", "40 duplicated keys against themselves: "
	    "match");
	is_int(dl.truncated, 1, "40 duplicated keys on each side: the list "
	    "is capped");
	diff_list_free(&dl);

	/* One side lacks the 40th duplicate, past the cap. */
	b = dup_object("k", 39);
	xasprintf(&ka, "%.*s,\"k39\":1}", (int)strlen(b) - 1, b);
	v = cmp(a, ka, &dl);
	is_str(vnames[v], "body", "the 40th duplicate on one side only, "
	    "past the cap: body");
	diff_list_free(&dl);
	free(ka);
	free(a);
	free(b);

	/* Two long keys alike in their first 80 bytes are two keys. */
	ka = repeat("x", 100);
	kb = xstrdup(ka);
	ka[90] = 'A';
	kb[90] = 'B';
	xasprintf(&a, "{\"%s\":1,\"%s\":1,\"%s\":1}", ka, ka, kb);
	xasprintf(&b, "{\"%s\":1,\"%s\":1,\"%s\":1}", ka, kb, kb);
	v = cmp(a, b, &dl);
	is_str(vnames[v], "body", "different long keys duplicated on each "
	    "side: body, not the same duplicate");
	got = render(&dl);
	is_str(got, "duplicate_key $ p | duplicate_key $ c", "long keys: one "
	    "duplicate_key per side");
	free(got);
	diff_list_free(&dl);
	free(a);
	free(b);
	/* A key an inner object repeats does not hide the outer repeat. */
	v = cmp("{\"a\":{\"a\":1,\"a\":1},\"a\":{\"a\":1}}",
	    "{\"a\":{\"a\":1,\"a\":1}}", &dl);
	is_str(vnames[v], "body", "a key repeated inside and outside an "
	    "object, against inside only: body");
	got = render(&dl);
	is_str(got, "duplicate_key $ p | duplicate_key $.a p | "
	    "duplicate_key $.a c", "repeats inside and outside: each reported");
	free(got);
	diff_list_free(&dl);
	v = cmp("{\"k\":1,\"k\":2}", "{\"k\":1,\"k\":2}", &dl);
	is_str(vnames[v], "match", "the same short duplicate on both sides "
	    "still matches");
	diff_list_free(&dl);
	xasprintf(&a, "{\"%s\":1,\"%s\":1}", ka, ka);
	v = cmp(a, a, &dl);
	is_str(vnames[v], "match", "the same long duplicate on both sides "
	    "matches");
	diff_list_free(&dl);
	free(a);
	free(ka);
	free(kb);
}

/* U+0000 in keys and strings, raw NUL bytes, and the number tag. */
static void
test_nul_corners(void)
{
	struct diff_list	 dl;
	const struct diff	*d;
	enum verdict		 v;
	char			*got;

	v = cmp("{\"a\\u0000b\":1}", "{\"a\\u0000b\":1}", &dl);
	is_str(vnames[v], "match", "\\u0000 in a key is valid JSON: match");
	is_int(dl.n, 0, "\\u0000 in a key: no diff");
	diff_list_free(&dl);

	v = cmp("{\"a\\u0000b\":1}", "{\"a\\u0000c\":1}", &dl);
	is_str(vnames[v], "shape", "keys differing after a \\u0000: shape");
	got = render(&dl);
	is_str(got, "missing $[\"a\\u0000b\"] c | extra $[\"a\\u0000c\"] c",
	    "keys differing after a \\u0000: missing and extra at their "
	    "paths");
	free(got);
	diff_list_free(&dl);

	v = cmp("{\"a\\u0000\":1}", "{\"a\":1}", &dl);
	is_str(vnames[v], "shape", "\"a\\u0000\" and \"a\" are two keys");
	diff_list_free(&dl);

	v = cmp("{\"a\\u0000b\":1,\"a\\u0000b\":2}", "{\"a\\u0000b\":2}", &dl);
	is_str(vnames[v], "body", "a duplicated key holding \\u0000: body");
	got = render(&dl);
	is_str(got, "duplicate_key $ p", "a duplicated key holding \\u0000 "
	    "is reported");
	free(got);
	diff_list_free(&dl);

	v = cmp("{\"s\":\"a\\u0000b\"}", "{\"s\":\"a\\u0000c\"}", &dl);
	got = render(&dl);
	is_str(got, "value $.s -", "strings differing after a \\u0000: value");
	free(got);
	diff_list_free(&dl);

	/* A raw NUL outside a string is not JSON, wherever it is. */
	diff_list_init(&dl, 0);
	v = compare_json_text(NULL, NULL, "[1\0]", 4, "[1]", 3, &dl);
	is_str(vnames[v], "body", "a raw NUL after a number: body");
	d = find(&dl, "invalid_json");
	ok(d != NULL && d->side == SIDE_PRIMARY && d->detail != NULL &&
	    strstr(d->detail, "NUL") != NULL && strstr(d->detail, "at byte 3")
	    != NULL, "a raw NUL after a number: invalid_json naming the NUL "
	    "and its offset: %s", d && d->detail ? d->detail : "(none)");
	diff_list_free(&dl);
	diff_list_init(&dl, 0);
	v = compare_json_text(NULL, NULL, "{\"a\":1.5\0}", 10, "{\"a\":1.5}",
	    9, &dl);
	is_str(vnames[v], "body", "a raw NUL after a real: body");
	diff_list_free(&dl);
	diff_list_init(&dl, 0);
	v = compare_json_text(NULL, NULL, "{}", 2, "{}\0", 3, &dl);
	is_str(vnames[v], "body", "a raw NUL after the document: body");
	got = render(&dl);
	is_str(got, "invalid_json $ c", "a raw NUL after the document: "
	    "invalid on the candidate");
	free(got);
	diff_list_free(&dl);
	diff_list_init(&dl, 0);
	v = compare_json_text(NULL, NULL, "[\"a\0\"]", 6, "[\"a\"]", 5, &dl);
	is_str(vnames[v], "body", "a raw NUL inside a string: body");
	diff_list_free(&dl);

	/* No string passes for a number, beside a big number or not. */
	v = cmp("{\"s\":\"\\u0000num:1\",\"n\":1e400}",
	    "{\"s\":1,\"n\":1e400}", &dl);
	is_str(vnames[v], "shape", "\"\\u0000num:1\" next to a big number is "
	    "a string: shape");
	got = render(&dl);
	is_str(got, "type $.s -", "\"\\u0000num:1\" next to a big number: "
	    "type at its path");
	free(got);
	d = find(&dl, "type");
	is_str(d ? d->primary : NULL, "string", "\"\\u0000num:1\" is a string");
	diff_list_free(&dl);
	v = cmp("[\"\\u0000num:99999999999999999999\",99999999999999999999]",
	    "[99999999999999999999,99999999999999999999]", &dl);
	got = render(&dl);
	is_str(got, "type $[0] -", "a tagged string beside a big integer is "
	    "not that integer");
	free(got);
	diff_list_free(&dl);
	/* A big number a repeated key replaced leaves no trace. */
	v = cmp("{\"a\":1e400,\"a\":0,\"s\":\"x\",\"t\":\"y\"}",
	    "{\"a\":2,\"a\":0,\"s\":\"x\",\"t\":\"y\"}", &dl);
	is_str(vnames[v], "match", "a big number replaced by a repeated key: "
	    "the strings after it are strings");
	diff_list_free(&dl);
	v = cmp("{\"n\":99999999999999999999}",
	    "{\"n\":99999999999999999999}", &dl);
	is_str(vnames[v], "match", "big integers still compare as text: "
	    "match");
	diff_list_free(&dl);
}

/* The flag line names the side of an order diff, as documented. */
static void
test_order_flag(void)
{
	struct compare_opts	 opts;
	struct exchange		 ex;
	char			*line;

	memset(&opts, 0, sizeof opts);
	opts.strict_order = 1;
	ex_setup(&ex, 200, "{\"x\":{\"b\":1,\"a\":2}}", 200,
	    "{\"x\":{\"a\":2,\"b\":1}}");
	compare_exchange(&opts, &ex);
	is_str(vnames[ex.ex_verdict], "shape", "order with --strict-order: "
	    "shape");
	line = exchange_flag_line(&ex, 0);
	ok(strstr(line, " $.x order(candidate)") != NULL &&
	    strstr(line, "order(candidate) ") == NULL,
	    "flag line shows PATH order(candidate): %s", line);
	free(line);
	ex_free(&ex);
}

/* Verdict precedence over a whole exchange. */
static void
test_exchange(void)
{
	struct compare_opts	 opts;
	struct route_rule	 rule;
	struct exchange		 ex;
	char			*got, *ign[] = { "$.ts" };
	const char		*rust = "{\"Schema\":{\"field\":\"x\","
				    "\"reason\":\"y\"}}";
	const char		*go = "{\"Kind\":\"schema\",\"Field\":\"x\","
				    "\"Reason\":\"y\"}";

	memset(&opts, 0, sizeof opts);

	ex_setup(&ex, 0, NULL, 200, "{}");
	ex.ex_resp[SIDE_PRIMARY].error = "connect";
	compare_exchange(&opts, &ex);
	is_str(vnames[ex.ex_verdict], "primary_error", "primary failed");
	got = render(&ex.ex_diffs);
	is_str(got, "error - p", "primary error diff");
	free(got);
	ex_free(&ex);

	ex_setup(&ex, 200, "{}", 0, NULL);
	ex.ex_resp[SIDE_CANDIDATE].error = "timeout";
	ex.ex_resp[SIDE_CANDIDATE].error_detail = xstrdup("no answer in "
	    "5000 ms");
	compare_exchange(&opts, &ex);
	is_str(vnames[ex.ex_verdict], "candidate_error", "candidate failed");
	got = render(&ex.ex_diffs);
	is_str(got, "error - c", "candidate error diff");
	is_str(ex.ex_diffs.v[0].detail, "timeout: no answer in 5000 ms",
	    "candidate error detail");
	free(got);
	ex_free(&ex);

	ex_setup(&ex, 0, NULL, 0, NULL);
	ex.ex_resp[SIDE_PRIMARY].error = "reset";
	ex.ex_resp[SIDE_CANDIDATE].error = "reset";
	compare_exchange(&opts, &ex);
	is_str(vnames[ex.ex_verdict], "both_failed", "both failed");
	got = render(&ex.ex_diffs);
	is_str(got, "error - p | error - c", "both error diffs");
	free(got);
	ex_free(&ex);

	ex_setup(&ex, 502, "{\"e\":1}", 502, "{\"e\":1}");
	compare_exchange(&opts, &ex);
	is_str(vnames[ex.ex_verdict], "both_failed",
	    "both 502 identically: both_failed, never match");
	is_int(ex.ex_diffs.n, 0, "both 502: nothing differs");
	ex_free(&ex);

	ex_setup(&ex, 500, "{}", 503, "{}");
	compare_exchange(&opts, &ex);
	is_str(vnames[ex.ex_verdict], "both_failed", "500 vs 503: both_failed");
	got = render(&ex.ex_diffs);
	is_str(got, "status - -", "500 vs 503: status diff listed");
	is_str(ex.ex_diffs.v[0].primary, "500", "status primary");
	is_str(ex.ex_diffs.v[0].candidate, "503", "status candidate");
	free(got);
	ex_free(&ex);

	ex_setup(&ex, 400, rust, 422, go);
	compare_exchange(&opts, &ex);
	is_str(vnames[ex.ex_verdict], "status", "status beats shape");
	got = render(&ex.ex_diffs);
	is_str(got, "status - - | extra $.Field c | extra $.Kind c | "
	    "extra $.Reason c | missing $.Schema c",
	    "status and shape diffs all listed");
	free(got);
	ex_free(&ex);

	ex_setup(&ex, 400, rust, 400, go);
	hadd(&ex.ex_resp[SIDE_CANDIDATE].headers, "X-Go", "1");
	compare_exchange(&opts, &ex);
	is_str(vnames[ex.ex_verdict], "shape", "shape beats header");
	got = render(&ex.ex_diffs);
	is_str(got, "extra $.Field c | extra $.Kind c | extra $.Reason c | "
	    "missing $.Schema c | header x-go c", "shape and header diffs");
	free(got);
	ex_free(&ex);

	ex_setup(&ex, 200, "{\"a\":1}", 200, "{\"a\":2}");
	hadd(&ex.ex_resp[SIDE_CANDIDATE].headers, "X-Go", "1");
	compare_exchange(&opts, &ex);
	is_str(vnames[ex.ex_verdict], "header", "header beats value");
	ex_free(&ex);

	ex_setup(&ex, 200, "{\"a\":1}", 200, "<html>");
	headers_free(&ex.ex_resp[SIDE_CANDIDATE].headers);
	hadd(&ex.ex_resp[SIDE_CANDIDATE].headers, "Content-Type", "text/html");
	compare_exchange(&opts, &ex);
	is_str(vnames[ex.ex_verdict], "body", "body beats header");
	ex_free(&ex);

	ex_setup(&ex, 200, "{\"a\":1}", 200, "{\"a\":1}");
	hadd(&ex.ex_resp[SIDE_PRIMARY].headers, "Date", "x");
	compare_exchange(&opts, &ex);
	is_str(vnames[ex.ex_verdict], "match", "match");
	is_int(ex.ex_diffs.n, 0, "match: no diffs");
	/* Comparing again replaces the diffs. */
	compare_exchange(&opts, &ex);
	is_str(vnames[ex.ex_verdict], "match", "compared twice: match");
	ex_free(&ex);

	ex_setup(&ex, 200, "{}", 200, "{\"a\":1}");
	ex.ex_verdict = VERDICT_SKIPPED;
	compare_exchange(&opts, &ex);
	is_str(vnames[ex.ex_verdict], "skipped", "skipped left alone");
	is_int(ex.ex_diffs.n, 0, "skipped: no diffs");
	ex.ex_verdict = VERDICT_RECORDED;
	compare_exchange(&opts, &ex);
	is_str(vnames[ex.ex_verdict], "recorded", "recorded left alone");
	ex_free(&ex);

	ex_setup(&ex, 200, "{}", 200, NULL);
	response_side_free(&ex.ex_resp[SIDE_CANDIDATE]);
	ex.ex_skip_reason = xstrdup("sampled out");
	compare_exchange(&opts, &ex);
	is_str(vnames[ex.ex_verdict], "skipped", "no candidate + skip reason");
	free(ex.ex_skip_reason);
	ex.ex_skip_reason = NULL;
	ex.ex_verdict = VERDICT_NONE;
	compare_exchange(&opts, &ex);
	is_str(vnames[ex.ex_verdict], "candidate_error",
	    "no candidate, no reason: candidate_error");
	is_str(ex.ex_diffs.n ? ex.ex_diffs.v[0].detail : NULL, "no response",
	    "missing candidate detail");
	ex_free(&ex);

	/* Route rules: exact route match only. */
	memset(&rule, 0, sizeof rule);
	rule.rr_route = "GET /v1/items/{id}";
	rule.rr_ignore = ign;
	rule.rr_nignore = 1;
	opts.routes = &rule;
	opts.nroutes = 1;
	ex_setup(&ex, 200, "{\"ts\":1}", 200, "{\"ts\":2}");
	ex.ex_route = xstrdup("GET /v1/items/{id}");
	compare_exchange(&opts, &ex);
	is_str(vnames[ex.ex_verdict], "match", "route rule ignore applies");
	free(ex.ex_route);
	ex.ex_route = xstrdup("GET /v1/items");
	compare_exchange(&opts, &ex);
	is_str(vnames[ex.ex_verdict], "value", "other route: no rule");
	ex_free(&ex);
	opts.routes = NULL;
	opts.nroutes = 0;

	opts.max_diffs = 2;
	ex_setup(&ex, 200, "{\"a\":1,\"b\":1,\"c\":1}", 201, "{}");
	compare_exchange(&opts, &ex);
	is_int(ex.ex_diffs.n, 2, "opts->max_diffs caps the list");
	is_int(ex.ex_diffs.truncated, 1, "and marks it truncated");
	is_str(vnames[ex.ex_verdict], "status", "verdict unaffected by cap");
	ex_free(&ex);
}

/* The same difference gives the same output whatever the key order. */
static void
test_deterministic(void)
{
	struct diff_list	 a, b;
	char			*ra, *rb;

	cmp("{\"z\":1,\"y\":[1,{\"q\":2}],\"x\":\"s\",\"w\":{}}",
	    "{\"w\":[],\"x\":3,\"y\":[1,{\"r\":2}],\"v\":0}", &a);
	cmp("{\"w\":{},\"x\":\"s\",\"y\":[1,{\"q\":2}],\"z\":1}",
	    "{\"v\":0,\"y\":[1,{\"r\":2}],\"x\":3,\"w\":[]}", &b);
	ra = render(&a);
	rb = render(&b);
	is_str(ra, rb, "diff order independent of member order");
	is_str(ra, "extra $.v c | type $.w - | type $.x - | "
	    "missing $.y[1].q c | extra $.y[1].r c | missing $.z c",
	    "sorted by path");
	free(ra);
	free(rb);
	diff_list_free(&a);
	diff_list_free(&b);
}

/* Comparison knobs: --unordered, the order and rename hints. */

/* Render a diff list with hints: "kind path side [hint[ other]]". */
static char *
render_hints(const struct diff_list *l)
{
	struct buf	 b;
	size_t		 i;
	const char	*hk;

	buf_init(&b);
	for (i = 0; i < l->n; i++) {
		buf_printf(&b, "%s%s %s %s", i ? " | " : "", diff_name(&l->v[i]),
		    l->v[i].path ? l->v[i].path : "-",
		    l->v[i].side == SIDE_CANDIDATE ? "c" :
		    l->v[i].side == SIDE_PRIMARY ? "p" : "-");
		if (l->v[i].hint != NULL)
			buf_printf(&b, " %s", l->v[i].hint);
		if ((hk = diff_hint_key(&l->v[i])) != NULL)
			buf_printf(&b, " %s=%s", hk, l->v[i].hint_path);
	}
	if (b.data == NULL)
		buf_addstr(&b, "");
	return (buf_detach(&b));
}

/* One knob case: two documents, --unordered and --ignore paths. */
struct knob_case {
	const char	*name;
	const char	*primary;
	const char	*candidate;
	const char	*unordered[3];
	const char	*ignore[3];
	enum verdict	 verdict;
	const char	*diffs;
};

static const struct knob_case knob_cases[] = {
	/* The order hint, without --unordered. */
	{ "same elements, another order: one value diff with the order hint",
	  "[1,2,3]", "[3,1,2]", { NULL }, { NULL }, VERDICT_VALUE,
	  "value $ - order" },
	{ "reordered objects in an array",
	  "{\"items\":[{\"id\":1},{\"id\":2}]}",
	  "{\"items\":[{\"id\":2},{\"id\":1}]}", { NULL }, { NULL },
	  VERDICT_VALUE, "value $.items - order" },
	{ "reordered elements of two types are no shape divergence",
	  "[1,\"a\"]", "[\"a\",1]", { NULL }, { NULL }, VERDICT_VALUE,
	  "value $ - order" },
	{ "near miss: reordered and one element changed, diffs by index",
	  "[1,2,3]", "[3,1,4]", { NULL }, { NULL }, VERDICT_VALUE,
	  "value $[0] - | value $[1] - | value $[2] -" },
	{ "near miss: same values, other counts ([1,1,2] vs [1,2,2])",
	  "[1,1,2]", "[1,2,2]", { NULL }, { NULL }, VERDICT_VALUE,
	  "value $[1] -" },
	{ "near miss: a type change inside a reordered array stays shape",
	  "[{\"a\":1},{\"a\":2}]", "[{\"a\":\"2\"},{\"a\":1}]", { NULL },
	  { NULL }, VERDICT_SHAPE, "type $[0].a - | value $[1].a -" },
	{ "equal arrays: nothing", "[1,2,3]", "[1,2,3]", { NULL }, { NULL },
	  VERDICT_MATCH, "" },
	{ "ignored paths inside elements count as equal when matching",
	  "[{\"id\":1,\"ts\":5},{\"id\":2,\"ts\":6}]",
	  "[{\"id\":2,\"ts\":9},{\"id\":1,\"ts\":8}]", { NULL },
	  { "$[*].ts" }, VERDICT_VALUE, "value $ - order" },

	/* --unordered. */
	{ "unordered: reordered objects match",
	  "{\"items\":[{\"id\":1},{\"id\":2},{\"id\":3}]}",
	  "{\"items\":[{\"id\":3},{\"id\":1},{\"id\":2}]}", { "$.items" },
	  { NULL }, VERDICT_MATCH, "" },
	{ "unordered near miss: one element really different",
	  "{\"items\":[{\"id\":1,\"v\":\"a\"},{\"id\":2,\"v\":\"b\"}]}",
	  "{\"items\":[{\"id\":2,\"v\":\"b\"},{\"id\":1,\"v\":\"X\"}]}",
	  { "$.items" }, { NULL }, VERDICT_VALUE, "value $.items[0].v -" },
	{ "unordered near miss: a new member in one element is shape",
	  "{\"items\":[{\"id\":1},{\"id\":2}]}",
	  "{\"items\":[{\"id\":2},{\"id\":1,\"x\":0}]}", { "$.items" },
	  { NULL }, VERDICT_SHAPE, "extra $.items[0].x c" },
	{ "unordered: a length difference is one value diff",
	  "[1,2]", "[3,2,1]", { "$" }, { NULL }, VERDICT_VALUE,
	  "value $ -" },
	{ "unordered: a multiset, counts matter",
	  "[1,1,2]", "[2,1,2]", { "$" }, { NULL }, VERDICT_VALUE,
	  "value $[0] -" },
	{ "unordered with [*] and ..",
	  "{\"a\":[{\"tags\":[\"x\",\"y\"]}],\"b\":{\"tags\":[1,2]}}",
	  "{\"a\":[{\"tags\":[\"y\",\"x\"]}],\"b\":{\"tags\":[2,1]}}",
	  { "$.a[*].tags", "$..b.tags" }, { NULL }, VERDICT_MATCH, "" },
	{ "unordered is the path named, not the arrays under it",
	  "{\"a\":[[1,2],[3]]}", "{\"a\":[[3],[2,1]]}", { "$.a" }, { NULL },
	  VERDICT_VALUE, "value $.a[0] - order" },
	{ "unordered elsewhere leaves this array ordered",
	  "{\"a\":[1,2],\"b\":[1,2]}", "{\"a\":[2,1],\"b\":[2,1]}",
	  { "$.a" }, { NULL }, VERDICT_VALUE, "value $.b - order" },

	/* The rename hint. */
	{ "rename: missing and extra with the same value",
	  "{\"name\":\"x\",\"a\":1}", "{\"full_name\":\"x\",\"a\":1}",
	  { NULL }, { NULL }, VERDICT_SHAPE,
	  "extra $.full_name c rename renamed_from=$.name | "
	  "missing $.name c rename renamed_to=$.full_name" },
	{ "rename of an object, equal whatever its key order",
	  "{\"o\":{\"a\":[1],\"b\":2}}", "{\"p\":{\"b\":2,\"a\":[1]}}",
	  { NULL }, { NULL }, VERDICT_SHAPE,
	  "missing $.o c rename renamed_to=$.p | "
	  "extra $.p c rename renamed_from=$.o" },
	{ "near miss: values differ, no rename",
	  "{\"name\":\"x\"}", "{\"full_name\":\"y\"}", { NULL }, { NULL },
	  VERDICT_SHAPE, "extra $.full_name c | missing $.name c" },
	{ "near miss: same value in another object, no rename",
	  "{\"a\":{\"name\":\"x\"},\"b\":{}}",
	  "{\"a\":{},\"b\":{\"nom\":\"x\"}}", { NULL }, { NULL },
	  VERDICT_SHAPE, "missing $.a.name c | extra $.b.nom c" },
	{ "near miss: 1 and \"1\" are not the same value",
	  "{\"n\":1}", "{\"m\":\"1\"}", { NULL }, { NULL }, VERDICT_SHAPE,
	  "extra $.m c | missing $.n c" },
	{ "two missing, one extra: one rename",
	  "{\"x\":1,\"y\":1}", "{\"z\":1}", { NULL }, { NULL },
	  VERDICT_SHAPE, "missing $.x c rename renamed_to=$.z | "
	  "missing $.y c | extra $.z c rename renamed_from=$.x" },
};

/* Run the knob cases. */
static void
test_knob_cases(void)
{
	struct compare_opts	 opts;
	struct diff_list	 dl;
	const struct knob_case	*c;
	enum verdict		 v;
	char			*got;
	size_t			 i, n;

	for (i = 0; i < sizeof knob_cases / sizeof knob_cases[0]; i++) {
		c = &knob_cases[i];
		memset(&opts, 0, sizeof opts);
		for (n = 0; n < 3 && c->unordered[n] != NULL; n++)
			/* nothing */;
		opts.unordered = (char **)c->unordered;
		opts.nunordered = n;
		for (n = 0; n < 3 && c->ignore[n] != NULL; n++)
			/* nothing */;
		opts.ignore = (char **)c->ignore;
		opts.nignore = n;
		diff_list_init(&dl, 0);
		v = compare_json_text(&opts, NULL, c->primary,
		    strlen(c->primary), c->candidate, strlen(c->candidate),
		    &dl);
		is_str(vnames[v], vnames[c->verdict], "%s: verdict", c->name);
		got = render_hints(&dl);
		is_str(got, c->diffs, "%s: diffs", c->name);
		free(got);
		diff_list_free(&dl);
	}
}

/* A route's --unordered applies to that route only. */
static void
test_knob_route(void)
{
	struct route_rule	 rule;
	struct diff_list	 dl;
	char			*un[] = { "$.items" };
	const char		*a = "{\"items\":[1,2]}", *b = "{\"items\":[2,1]}";
	enum verdict		 v;

	memset(&rule, 0, sizeof rule);
	rule.rr_unordered = un;
	rule.rr_nunordered = 1;
	diff_list_init(&dl, 0);
	v = compare_json_text(NULL, &rule, a, strlen(a), b, strlen(b), &dl);
	is_int(v, VERDICT_MATCH, "route unordered: reordered items match");
	diff_list_free(&dl);
	v = compare_json_text(NULL, NULL, a, strlen(a), b, strlen(b), &dl);
	is_int(v, VERDICT_VALUE, "without the route: the order hint");
	diff_list_free(&dl);
}

/* --ignore-content-type-params: parameters ignored, the media type not. */
static void
test_knob_content_type(void)
{
	struct compare_opts	 opts;
	struct route_rule	 rule;
	struct headers		 p, c;
	struct diff_list	 dl;
	enum verdict		 v;

	memset(&p, 0, sizeof p);
	memset(&c, 0, sizeof c);
	memset(&opts, 0, sizeof opts);
	memset(&rule, 0, sizeof rule);
	hadd(&p, "Content-Type", "application/json");
	hadd(&c, "Content-Type", "Application/JSON ; charset=utf-8");
	diff_list_init(&dl, 0);
	v = compare_headers(&opts, NULL, &p, &c, &dl);
	is_int(v, VERDICT_HEADER, "charset differs, by default: header diff");
	diff_list_free(&dl);
	opts.ignore_ct_params = 1;
	v = compare_headers(&opts, NULL, &p, &c, &dl);
	is_int(v, VERDICT_MATCH, "--ignore-content-type-params: only the "
	    "media type, any case");
	is_int(dl.n, 0, "no diff");
	rule.rr_ct_params = -1;
	v = compare_headers(&opts, &rule, &p, &c, &dl);
	is_int(v, VERDICT_HEADER, "a route turning it off wins");
	diff_list_free(&dl);
	opts.ignore_ct_params = 0;
	rule.rr_ct_params = 1;
	v = compare_headers(&opts, &rule, &p, &c, &dl);
	is_int(v, VERDICT_MATCH, "a route turning it on");
	diff_list_free(&dl);

	headers_free(&c);
	hadd(&c, "Content-Type", "text/plain; charset=utf-8");
	opts.ignore_ct_params = 1;
	v = compare_headers(&opts, NULL, &p, &c, &dl);
	is_int(v, VERDICT_HEADER, "near miss: application/json vs text/plain "
	    "is still a header diff");
	is_str(dl.n == 1 ? dl.v[0].path : NULL, "content-type",
	    "the diff names content-type");
	diff_list_free(&dl);

	headers_free(&c);
	hadd(&c, "Content-Type", "application/json");
	hadd(&c, "Content-Type", "text/html");
	v = compare_headers(&opts, NULL, &p, &c, &dl);
	is_int(v, VERDICT_HEADER, "near miss: a second Content-Type is "
	    "compared whole");
	diff_list_free(&dl);
	headers_free(&p);
	headers_free(&c);
}

/* --normalize on text bodies. */
static void
test_knob_normalize(void)
{
	struct compare_opts	 opts;
	struct route_rule	 rule;
	struct response_side	 p, c;
	struct diff_list	 dl;
	char			*cause = NULL;
	enum verdict		 v;

	memset(&opts, 0, sizeof opts);
	memset(&rule, 0, sizeof rule);
	ok(compare_normalize_add(&opts.normalize, &opts.nnormalize,
	    "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]+Z", &cause) == 0,
	    "a timestamp pattern compiles");
	is_int(compare_normalize_add(&opts.normalize, &opts.nnormalize,
	    "a(b", &cause), -1, "an unbalanced ( is refused");
	ok(cause != NULL && strstr(cause, "'a(b' is not a valid extended "
	    "regular expression: ") != NULL, "the error names the regex: %s",
	    cause ? cause : "(null)");
	free(cause);
	is_int(opts.nnormalize, 1, "the bad one is not kept");

	side_set(&p, 200, "text/plain", "built 2026-05-02T10:00:00Z ok\n");
	side_set(&c, 200, "text/plain", "built 2026-05-02T10:00:07Z ok\n");
	diff_list_init(&dl, 0);
	v = compare_bodies(NULL, NULL, &p, &c, &dl);
	is_int(v, VERDICT_BODY, "without --normalize: a body diff");
	diff_list_free(&dl);
	v = compare_bodies(&opts, NULL, &p, &c, &dl);
	is_int(v, VERDICT_MATCH, "--normalize: the timestamps are replaced");
	diff_list_free(&dl);
	response_side_free(&c);

	side_set(&c, 200, "text/plain", "built 2026-05-02T10:00:07Z OK\n");
	v = compare_bodies(&opts, NULL, &p, &c, &dl);
	is_int(v, VERDICT_BODY, "near miss: ok vs OK stays a body diff");
	is_str(dl.n == 1 ? dl.v[0].detail : NULL, "bodies differ at byte 9 "
	    "(12 vs 12 bytes), after --normalize", "the detail says the "
	    "offset is in the normalized bodies");
	diff_list_free(&dl);
	response_side_free(&c);

	side_set(&c, 200, "text/plain", "built  ok\n");
	v = compare_bodies(&opts, NULL, &p, &c, &dl);
	is_int(v, VERDICT_BODY, "near miss: a timestamp that vanished is not "
	    "one replaced");
	diff_list_free(&dl);
	response_side_free(&c);
	response_side_free(&p);

	/* A route's pattern, a NUL in the body, an empty match. */
	ok(compare_normalize_add(&rule.rr_normalize, &rule.rr_nnormalize,
	    "id=[0-9a-f]*", &cause) == 0, "a route pattern compiles");
	side_set(&p, 200, "text/plain", NULL);
	side_set(&c, 200, "text/plain", NULL);
	buf_add(&p.body, "x\0id=12ab;", 10);
	buf_add(&c.body, "x\0id=9f;", 8);
	v = compare_bodies(NULL, &rule, &p, &c, &dl);
	is_int(v, VERDICT_MATCH, "route --normalize, past a NUL byte");
	diff_list_free(&dl);
	response_side_free(&p);
	response_side_free(&c);

	/* JSON bodies are compared as JSON, never normalized. */
	side_set(&p, 200, "application/json", "{\"t\":\"2026-05-02T10:00:00Z\"}");
	side_set(&c, 200, "application/json", "{\"t\":\"2026-05-02T10:00:09Z\"}");
	v = compare_bodies(&opts, NULL, &p, &c, &dl);
	is_int(v, VERDICT_VALUE, "JSON bodies: a value diff as ever");
	diff_list_free(&dl);
	response_side_free(&p);
	response_side_free(&c);
	compare_normalize_free(&opts.normalize, &opts.nnormalize);
	compare_normalize_free(&rule.rr_normalize, &rule.rr_nnormalize);
}

/*
 * Big arrays: 3,000 shuffled objects are matched by the hash of their
 * values, past what comparing each with each would allow.
 */
static void
test_knob_big(void)
{
	struct compare_opts	 opts;
	struct diff_list	 dl;
	struct buf		 a, b;
	char			*un[] = { "$" }, *got;
	size_t			 i, n = 3000, j;
	enum verdict		 v;

	buf_init(&a);
	buf_init(&b);
	buf_addstr(&a, "[");
	buf_addstr(&b, "[");
	for (i = 0; i < n; i++) {
		/* j walks a permutation of 0..n-1 (7 is prime to 3000). */
		j = (i * 7 + 5) % n;
		buf_printf(&a, "%s{\"id\":%zu,\"x\":[%zu,\"s%zu\"]}",
		    i ? "," : "", i, i % 10, i);
		buf_printf(&b, "%s{\"x\":[%zu,\"s%zu\"],\"id\":%zu}",
		    i ? "," : "", j % 10, j, j);
	}
	buf_addstr(&a, "]");
	buf_addstr(&b, "]");
	memset(&opts, 0, sizeof opts);
	diff_list_init(&dl, 0);
	v = compare_json_text(&opts, NULL, a.data, a.len, b.data, b.len, &dl);
	got = render_hints(&dl);
	is_str(got, "value $ - order", "3,000 shuffled objects: the order "
	    "hint");
	is_int(v, VERDICT_VALUE, "3,000 shuffled objects: value");
	free(got);
	diff_list_free(&dl);
	opts.unordered = un;
	opts.nunordered = 1;
	v = compare_json_text(&opts, NULL, a.data, a.len, b.data, b.len, &dl);
	is_int(v, VERDICT_MATCH, "--unordered $: 3,000 shuffled objects match");
	is_int(dl.n, 0, "no diffs");
	diff_list_free(&dl);

	/* One element changed among them: only it is reported. */
	b.data[b.len - 3] = b.data[b.len - 3] == '1' ? '2' : '1';
	v = compare_json_text(&opts, NULL, a.data, a.len, b.data, b.len, &dl);
	is_int(v, VERDICT_VALUE, "--unordered $, one id changed: value");
	is_int(dl.n, 1, "one diff for one changed element");
	diff_list_free(&dl);
	buf_free(&a);
	buf_free(&b);
}

int
main(void)
{
	test_json_cases();
	test_json_fields();
	test_depth();
	test_cap();
	test_ignore_valid();
	test_path_fold();
	test_diff_list();
	test_headers();
	test_bodies();
	test_decode_bound();
	test_exchange();
	test_dup_corners();
	test_nul_corners();
	test_order_flag();
	test_deterministic();
	test_knob_cases();
	test_knob_route();
	test_knob_content_type();
	test_knob_normalize();
	test_knob_big();
	return (done_testing());
}
