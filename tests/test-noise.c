/*
 * Unit tests: the noise learner's rule at its thresholds, what it marks
 * and the verdicts it lowers, and the volatile-value hints.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paritytap.h"
#include "tap.h"

/* Set one side: 200 JSON with body. */
static void
side(struct exchange *ex, int s, const char *body)
{
	struct response_side	*rs = &ex->ex_resp[s];

	rs->present = 1;
	rs->status = 200;
	headers_add(&rs->headers, "Content-Type", 12, "application/json", 16);
	buf_add(&rs->body, body, strlen(body));
	rs->body_bytes = strlen(body);
}

/*
 * One exchange on GET /n: the candidate's and (if second is not NULL)
 * the second copy's body against {"a":1,"b":1}; compared, then given to
 * the learner.  Returns its verdict; the noise flag of the diff at path,
 * if any, in *noisy.
 */
static const struct compare_opts *one_opts;	/* NULL: the defaults */

static enum verdict
one(struct noise *n, const char *cand, const char *second, const char *path,
    int *noisy)
{
	struct exchange	 ex;
	enum verdict	 v;
	size_t		 i;

	exchange_init(&ex, "proxy");
	ex.ex_route = xstrdup("GET /n");
	side(&ex, SIDE_PRIMARY, "{\"a\":1,\"b\":1}");
	side(&ex, SIDE_CANDIDATE, cand);
	if (second != NULL)
		side(&ex, SIDE_SECONDARY, second);
	compare_exchange(one_opts, &ex);
	noise_exchange(n, one_opts, &ex);
	*noisy = -1;
	for (i = 0; i < ex.ex_diffs.n; i++) {
		if (path != NULL && ex.ex_diffs.v[i].path != NULL &&
		    strcmp(ex.ex_diffs.v[i].path, path) == 0)
			*noisy = ex.ex_diffs.v[i].noise;
	}
	v = ex.ex_verdict;
	exchange_free(&ex);
	return (v);
}

int
main(void)
{
	struct noise_opts	 o;
	struct noise		*n;
	enum verdict		 v;
	int			 i, noisy;

	/* --- a path that differs in both copies every time --- */
	noise_opts_init(&o);
	o.min_sample = 5;
	n = noise_new(&o);
	for (i = 0; i < 4; i++) {
		v = one(n, "{\"a\":2,\"b\":1}", "{\"a\":3,\"b\":1}", "$.a",
		    &noisy);
		ok(v == VERDICT_VALUE && noisy == 0,
		    "sample %d of 5: not decided, a value divergence", i + 1);
	}
	v = one(n, "{\"a\":2,\"b\":1}", "{\"a\":3,\"b\":1}", "$.a", &noisy);
	ok(v == VERDICT_MATCH && noisy == 1,
	    "the 5th sample decides: $.a is noise, the exchange a match");
	v = one(n, "{\"a\":2,\"b\":1}", NULL, "$.a", &noisy);
	ok(v == VERDICT_MATCH && noisy == 1,
	    "an exchange without a second copy is marked too");
	v = one(n, "{\"a\":2,\"b\":2}", NULL, "$.b", &noisy);
	ok(v == VERDICT_VALUE && noisy == 0,
	    "$.b, never seen differing in a second copy: still a divergence");
	v = one(n, "{\"a\":\"x\",\"b\":1}", NULL, "$.a", &noisy);
	ok(v == VERDICT_SHAPE && noisy == 0,
	    "a type change at a noise path is never noise");
	v = one(n, "{\"b\":1}", NULL, "$.a", &noisy);
	ok(v == VERDICT_SHAPE && noisy == 0,
	    "nor is a missing member at a noise path");
	/* The 5th sample, the one without a second copy, and $.a beside $.b. */
	is_int((long long)noise_marked(n), 3, "three diffs marked in all");
	noise_free(n);

	/*
	 * --- the thresholds: the candidate differs at $.a on 10 samples of
	 * 10, the second copy on k of 10 ---
	 */
	{
		static const struct {
			int	 k;
			int	 want;
			const char *why;
		} c[] = {
			{ 10, 1, "10/10 vs 10/10: noise" },
			{ 9, 1, "10/10 vs 9/10: within 20% relative" },
			{ 8, 0, "10/10 vs 8/10: over both thresholds, signal" },
			{ 1, 0, "10/10 vs 1/10: signal" },
			{ 0, 0, "never in the second copy: signal" },
		};
		size_t	 j;

		for (j = 0; j < sizeof c / sizeof c[0]; j++) {
			noise_opts_init(&o);
			o.min_sample = 10;
			n = noise_new(&o);
			for (i = 0; i < 10; i++)
				one(n, "{\"a\":2,\"b\":1}", i < c[j].k ?
				    "{\"a\":3,\"b\":1}" : "{\"a\":1,\"b\":1}",
				    "$.a", &noisy);
			one(n, "{\"a\":2,\"b\":1}", NULL, "$.a", &noisy);
			is_int(noisy, c[j].want, "%s", c[j].why);
			noise_free(n);
		}
	}

	/* --- the absolute threshold alone --- */
	noise_opts_init(&o);
	o.min_sample = 10;
	o.relative = 0;
	o.absolute = 0.15;
	n = noise_new(&o);
	for (i = 0; i < 10; i++)
		one(n, "{\"a\":2,\"b\":1}", i < 9 ? "{\"a\":3,\"b\":1}" :
		    "{\"a\":1,\"b\":1}", "$.a", &noisy);
	one(n, "{\"a\":2,\"b\":1}", NULL, "$.a", &noisy);
	is_int(noisy, 1, "relative 0, absolute 15 points: 10/10 vs 9/10 noise");
	noise_free(n);

	/*
	 * --- member order under --strict-order is shape: never noise, even
	 * when the second copy reorders too ---
	 */
	{
		struct compare_opts	 co;

		memset(&co, 0, sizeof co);
		co.strict_order = 1;
		one_opts = &co;
		noise_opts_init(&o);
		o.min_sample = 3;
		n = noise_new(&o);
		for (i = 0; i < 3; i++)
			v = one(n, "{\"b\":1,\"a\":1}", "{\"b\":1,\"a\":1}",
			    NULL, &noisy);
		ok(v == VERDICT_SHAPE, "a reordered object under --strict-order: "
		    "still shape after the sample");
		is_int((long long)noise_marked(n), 0, "... and nothing marked");
		noise_free(n);
		one_opts = NULL;
	}

	/* --- hints --- */
	is_str(noise_volatile("\"2026-12-03T07:20:22.123456Z\""),
	    "an RFC 3339 time", "an RFC 3339 time");
	ok(noise_volatile("\"2026-12-03\"") == NULL, "a date alone: no hint");
	is_str(noise_volatile("\"5bc61b7a-f6e8-447f-80fe-20314d79cc62\""),
	    "a UUID", "a UUID");
	is_str(noise_volatile("\"5bc61b7a-f6e8-447f-80fe-20314d79cc6z\""),
	    "a base64 id", "a non-hex character: not a UUID, an id still");
	is_str(noise_volatile("1733212800"), "an epoch time",
	    "ten digits from 1: an epoch time");
	is_str(noise_volatile("1733212800123"), "an epoch time",
	    "thirteen digits: epoch milliseconds");
	ok(noise_volatile("42") == NULL, "a small number: no hint");
	is_str(noise_volatile("\"0123456789abcdef0123\""), "a hex id",
	    "twenty hex digits: a hex id");
	ok(noise_volatile("\"deadbeef\"") == NULL, "eight hex digits: no hint");
	is_str(noise_volatile("\"dGhpcyBpcyBhIHRlc3Qgc3RyaW5n1\""),
	    "a base64 id", "a base64 id");
	ok(noise_volatile("\"a sentence, with spaces in it\"") == NULL,
	    "text: no hint");
	ok(noise_volatile(NULL) == NULL, "no value: no hint");

	return (done_testing());
}
