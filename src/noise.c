/*
 * Noise learning (DESIGN §4.4): which value differences between the
 * primary and the candidate are also there between the primary and a
 * second copy of itself, and so say nothing about the candidate.
 *
 * An exchange that carries a second answer of the primary's kind (from
 * --secondary, or the primary itself again under --self-check) is a
 * sample.  For each route and folded path the learner counts, over the
 * samples: raw, how often the candidate's value differs from the
 * primary's; noise, how often the second copy's does.  A path is noise
 * when the second copy differs there at all and the candidate does not
 * differ clearly more often (Diffy's rule):
 *
 *	raw rate - noise rate <= absolute threshold, or
 *	raw rate <= noise rate * (1 + relative threshold)
 *
 * and only once the route has --noise-min-sample samples.  Value
 * differences (an array's order hint among them) and header differences
 * can be noise; shape (member order under --strict-order included),
 * status, body and error differences never are.  A diff on a noise path stays in the exchange,
 * marked noise, and no longer counts toward its verdict.
 *
 * One learner per pipeline, used by its thread only; `paritytap noise`
 * and `rejudge --secondary-learned` run one over captures.
 */

#include <sys/types.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "paritytap.h"

#define NOISE_EXAMPLES	2

/* A route and folded path: the counts of the samples. */
struct noise_path {
	char		*np_key;	/* "route\tpath" */
	char		*np_route;
	char		*np_path;
	struct noise_route *np_r;
	uint64_t	 np_raw;	/* samples where the candidate differs */
	uint64_t	 np_noise;	/* samples where the second copy differs */
	uint64_t	 np_marked;	/* diffs marked noise */
	uint64_t	 np_seen;	/* candidate diffs, sampled or not */
	char		*np_ex_primary[NOISE_EXAMPLES];	/* primary vs second */
	char		*np_ex_second[NOISE_EXAMPLES];
	size_t		 np_nex;
	char		*np_cand_primary;	/* one candidate diff */
	char		*np_cand_value;
	int		 np_kind;	/* enum diff_kind of the first diff */
	int		 np_other;	/* a diff here was not an order hint */
};

struct noise_route {
	char		*nr_route;
	uint64_t	 nr_samples;
	uint64_t	 nr_exchanges;
};

struct noise {
	struct noise_opts	 n_opts;
	struct strmap		*n_routes;
	struct strmap		*n_paths;
	struct noise_route	**n_rv;
	size_t			 n_nr;
	struct noise_path	**n_pv;
	size_t			 n_np;
	uint64_t		 n_samples;
	uint64_t		 n_marked;
	uint64_t		 n_over;	/* paths not tracked: the cap */
};

/*
 * Return 1 if a diff kind may be noise: a value (an array's order hint
 * included) or a header.  Object member order under --strict-order is a
 * shape divergence, and shape is never noise.
 */
static int
noise_kind(enum diff_kind kind)
{
	return (kind == DIFF_VALUE || kind == DIFF_HEADER);
}

void
noise_opts_init(struct noise_opts *o)
{
	o->set = 1;
	o->min_sample = NOISE_MIN_SAMPLE;
	o->relative = NOISE_RELATIVE;
	o->absolute = NOISE_ABSOLUTE;
	o->max_paths = NOISE_MAX_PATHS;
}

struct noise *
noise_new(const struct noise_opts *opts)
{
	struct noise	*n;

	n = xcalloc(1, sizeof *n);
	if (opts != NULL && opts->set)
		n->n_opts = *opts;
	else
		noise_opts_init(&n->n_opts);
	n->n_routes = strmap_new();
	n->n_paths = strmap_new();
	return (n);
}

void
noise_free(struct noise *n)
{
	size_t	 i, j;

	if (n == NULL)
		return;
	for (i = 0; i < n->n_np; i++) {
		struct noise_path *np = n->n_pv[i];

		free(np->np_key);
		free(np->np_route);
		free(np->np_path);
		for (j = 0; j < np->np_nex; j++) {
			free(np->np_ex_primary[j]);
			free(np->np_ex_second[j]);
		}
		free(np->np_cand_primary);
		free(np->np_cand_value);
		free(np);
	}
	for (i = 0; i < n->n_nr; i++) {
		free(n->n_rv[i]->nr_route);
		free(n->n_rv[i]);
	}
	free(n->n_pv);
	free(n->n_rv);
	strmap_free(n->n_paths);
	strmap_free(n->n_routes);
	free(n);
}

static struct noise_route *
noise_route(struct noise *n, const char *route)
{
	struct noise_route	*r;

	if ((r = strmap_get(n->n_routes, route)) != NULL)
		return (r);
	r = xcalloc(1, sizeof *r);
	r->nr_route = xstrdup(route);
	strmap_put(n->n_routes, r->nr_route, r);
	n->n_rv = xreallocarray(n->n_rv, n->n_nr + 1, sizeof *n->n_rv);
	n->n_rv[n->n_nr++] = r;
	return (r);
}

/* The entry of a route and folded path; create it if create (and room). */
static struct noise_path *
noise_path(struct noise *n, struct noise_route *r, const char *path,
    int create)
{
	struct noise_path	*np;
	char			*key;

	xasprintf(&key, "%s\t%s", r->nr_route, path);
	if ((np = strmap_get(n->n_paths, key)) != NULL || !create) {
		free(key);
		return (np);
	}
	if (n->n_np >= n->n_opts.max_paths) {
		free(key);
		n->n_over++;
		return (NULL);
	}
	np = xcalloc(1, sizeof *np);
	np->np_key = key;
	np->np_route = xstrdup(r->nr_route);
	np->np_path = xstrdup(path);
	np->np_r = r;
	np->np_kind = -1;
	strmap_put(n->n_paths, np->np_key, np);
	n->n_pv = xreallocarray(n->n_pv, n->n_np + 1, sizeof *n->n_pv);
	n->n_pv[n->n_np++] = np;
	return (np);
}

/* Return 1 if a diff says only that an array's elements moved. */
static int
noise_order_only(const struct diff *d)
{
	return (d->hint != NULL && strcmp(d->hint, "order") == 0);
}

/* The folded path a diff is counted under ("Date" for a header). */
static char *
noise_diff_path(const struct diff *d)
{
	if (d->kind == DIFF_HEADER)
		return (xstrdup(d->path != NULL ? d->path : "?"));
	return (jsonpath_fold(d->path != NULL ? d->path : "$"));
}

/* Add path to a small set of strings (no duplicates). */
static void
noise_set_add(char ***v, size_t *n, char *path)
{
	size_t	 i;

	for (i = 0; i < *n; i++) {
		if (strcmp((*v)[i], path) == 0) {
			free(path);
			return;
		}
	}
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = path;
}

static void
noise_set_free(char **v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Return 1 if the exchange carries a usable second answer. */
static int
noise_sampled(const struct exchange *ex)
{
	const struct response_side	*p = &ex->ex_resp[SIDE_PRIMARY];
	const struct response_side	*c = &ex->ex_resp[SIDE_CANDIDATE];
	const struct response_side	*s = &ex->ex_resp[SIDE_SECONDARY];

	if (!s->present || s->error != NULL || !p->present ||
	    p->error != NULL || !c->present || c->error != NULL)
		return (0);
	/* A second copy with another status is not a sample of values. */
	return (s->status == p->status && p->status == c->status);
}

/*
 * Learn from one compared exchange: if it carries a second answer,
 * compare that with the primary's and count, per folded path, where the
 * candidate differs and where the second copy does.
 */
void
noise_learn(struct noise *n, const struct compare_opts *opts,
    const struct exchange *ex)
{
	static const struct compare_opts defaults;
	const struct route_rule	*rule;
	struct noise_route	*r;
	struct noise_path	*np;
	struct diff_list	 sd;
	const struct diff	*d;
	char			**raw = NULL, **noisy = NULL;
	size_t			 nraw = 0, nnoisy = 0, i;

	if (ex->ex_verdict == VERDICT_SKIPPED ||
	    ex->ex_verdict == VERDICT_RECORDED || !noise_sampled(ex))
		return;
	r = noise_route(n, ex->ex_route != NULL ? ex->ex_route : "?");
	r->nr_samples++;
	n->n_samples++;

	if (opts == NULL)
		opts = &defaults;
	rule = compare_rule(opts, ex->ex_route);
	diff_list_init(&sd, 0);
	compare_bodies(opts, rule, &ex->ex_resp[SIDE_PRIMARY],
	    &ex->ex_resp[SIDE_SECONDARY], &sd);
	compare_headers(opts, rule, &ex->ex_resp[SIDE_PRIMARY].headers,
	    &ex->ex_resp[SIDE_SECONDARY].headers, &sd);
	for (i = 0; i < sd.n; i++) {
		d = &sd.v[i];
		if (noise_kind(d->kind))
			noise_set_add(&noisy, &nnoisy, noise_diff_path(d));
	}
	for (i = 0; i < nnoisy; i++) {
		if ((np = noise_path(n, r, noisy[i], 1)) == NULL)
			continue;
		np->np_noise++;
	}
	/* Examples: the values of the first diffs at each noisy path. */
	for (i = 0; i < sd.n; i++) {
		char	*fp;

		d = &sd.v[i];
		if (!noise_kind(d->kind))
			continue;
		fp = noise_diff_path(d);
		np = noise_path(n, r, fp, 0);
		free(fp);
		if (np != NULL && !noise_order_only(d))
			np->np_other = 1;
		if (np == NULL || np->np_nex == NOISE_EXAMPLES ||
		    (np->np_nex > 0 && d->primary != NULL &&
		    np->np_ex_primary[np->np_nex - 1] != NULL &&
		    strcmp(np->np_ex_primary[np->np_nex - 1], d->primary) ==
		    0))
			continue;
		np->np_ex_primary[np->np_nex] = d->primary != NULL ?
		    xstrdup(d->primary) : NULL;
		np->np_ex_second[np->np_nex] = d->candidate != NULL ?
		    xstrdup(d->candidate) : NULL;
		np->np_nex++;
	}
	diff_list_free(&sd);

	for (i = 0; i < ex->ex_diffs.n; i++) {
		d = &ex->ex_diffs.v[i];
		if (noise_kind(d->kind))
			noise_set_add(&raw, &nraw, noise_diff_path(d));
	}
	for (i = 0; i < nraw; i++) {
		if ((np = noise_path(n, r, raw[i], 1)) != NULL)
			np->np_raw++;
	}
	noise_set_free(raw, nraw);
	noise_set_free(noisy, nnoisy);
}

/* Return 1 if the learner holds np to be noise. */
static int
noise_is(const struct noise *n, const struct noise_path *np)
{
	double	 raw, noise, samples;

	samples = (double)np->np_r->nr_samples;
	if (np->np_noise == 0 || np->np_r->nr_samples < n->n_opts.min_sample)
		return (0);
	raw = (double)np->np_raw / samples;
	noise = (double)np->np_noise / samples;
	return (raw - noise <= n->n_opts.absolute ||
	    raw <= noise * (1 + n->n_opts.relative));
}

/*
 * Mark the exchange's diffs on noise paths, and lower its verdict when
 * only noise made it a value or header divergence.  Every exchange that
 * reaches the learner is counted toward the candidate-side evidence.
 */
void
noise_mark(struct noise *n, struct exchange *ex)
{
	struct noise_route	*r;
	struct noise_path	*np;
	struct diff		*d;
	enum verdict		 v = VERDICT_MATCH;
	char			*fp;
	size_t			 i;
	int			 marked = 0;

	if (n->n_nr == 0 || ex->ex_verdict == VERDICT_SKIPPED ||
	    ex->ex_verdict == VERDICT_RECORDED)
		return;
	r = strmap_get(n->n_routes, ex->ex_route != NULL ? ex->ex_route :
	    "?");
	if (r != NULL)
		r->nr_exchanges++;
	for (i = 0; i < ex->ex_diffs.n; i++) {
		d = &ex->ex_diffs.v[i];
		if (!noise_kind(d->kind) || r == NULL)
			continue;
		fp = noise_diff_path(d);
		np = noise_path(n, r, fp, 0);
		free(fp);
		if (np == NULL)
			continue;
		np->np_seen++;
		if (!noise_order_only(d))
			np->np_other = 1;
		if (np->np_kind == -1) {
			np->np_kind = d->kind;
			np->np_cand_primary = d->primary != NULL ?
			    xstrdup(d->primary) : NULL;
			np->np_cand_value = d->candidate != NULL ?
			    xstrdup(d->candidate) : NULL;
		}
		if (noise_is(n, np)) {
			d->noise = 1;
			np->np_marked++;
			n->n_marked++;
			marked = 1;
		}
	}
	if (!marked || (ex->ex_verdict != VERDICT_VALUE &&
	    ex->ex_verdict != VERDICT_HEADER))
		return;
	for (i = 0; i < ex->ex_diffs.n; i++) {
		d = &ex->ex_diffs.v[i];
		if (d->noise)
			continue;
		if (d->kind == DIFF_HEADER && v < VERDICT_HEADER)
			v = VERDICT_HEADER;
		else if (d->kind != DIFF_HEADER && v < VERDICT_VALUE)
			v = VERDICT_VALUE;
	}
	if (v < ex->ex_verdict)
		ex->ex_verdict = v;
}

/* Learn from ex, then mark it: the live order, one exchange at a time. */
void
noise_exchange(struct noise *n, const struct compare_opts *opts,
    struct exchange *ex)
{
	noise_learn(n, opts, ex);
	noise_mark(n, ex);
}

uint64_t
noise_marked(const struct noise *n)
{
	return (n->n_marked);
}

/*
 * Return a hint if a rendered value looks volatile: an RFC 3339 time, a
 * UUID, a long hex or base64 id, an epoch number.  NULL otherwise.
 */
const char *
noise_volatile(const char *v)
{
	size_t	 len, i, hex = 0, alnum = 0, digits = 0, b64 = 0;
	int	 quoted = 0;

	if (v == NULL)
		return (NULL);
	len = strlen(v);
	if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
		v++;
		len -= 2;
		quoted = 1;
	}
	if (len >= 19 && isdigit((unsigned char)v[0]) && v[4] == '-' &&
	    v[7] == '-' && (v[10] == 'T' || v[10] == 't' || v[10] == ' ') &&
	    v[13] == ':' && v[16] == ':')
		return ("an RFC 3339 time");
	for (i = 0; i < len; i++) {
		unsigned char	c = v[i];

		if (isxdigit(c))
			hex++;
		if (isalnum(c))
			alnum++;
		if (isdigit(c))
			digits++;
		if (isalnum(c) || c == '+' || c == '/' || c == '=' ||
		    c == '-' || c == '_')
			b64++;
	}
	if (len == 36 && v[8] == '-' && v[13] == '-' && v[18] == '-' &&
	    v[23] == '-' && hex == 32)
		return ("a UUID");
	if (!quoted && digits == len && (len == 10 || len == 13) &&
	    (v[0] == '1' || v[0] == '2'))
		return ("an epoch time");
	if (len >= 16 && hex == len)
		return ("a hex id");
	if (len >= 20 && b64 == len && digits > 0 && alnum > digits)
		return ("a base64 id");
	return (NULL);
}

/* Order paths by route, then path. */
static int
noise_path_cmp(const void *a, const void *b)
{
	const struct noise_path	*x = *(const struct noise_path * const *)a;
	const struct noise_path	*y = *(const struct noise_path * const *)b;
	int			 c;

	if ((c = strcmp(x->np_route, y->np_route)) != 0)
		return (c);
	return (strcmp(x->np_path, y->np_path));
}

/*
 * What was learned, as JSON: {"samples":N,"marked":N,"paths":[...]},
 * one entry per route and path the candidate or the second copy
 * differed at, with its evidence and decision.
 */
json_t *
noise_json(struct noise *n)
{
	struct noise_path	**v, *np;
	json_t			*a, *o, *ex;
	const char		*hint;
	size_t			 i, j;

	v = xreallocarray(NULL, n->n_np + 1, sizeof *v);
	if (n->n_np != 0) {
		memcpy(v, n->n_pv, n->n_np * sizeof *v);
		qsort(v, n->n_np, sizeof *v, noise_path_cmp);
	}
	a = json_array();
	for (i = 0; i < n->n_np; i++) {
		np = v[i];
		o = json_object();
		json_object_set_new(o, "route", json_string(np->np_route));
		json_object_set_new(o, "path", json_string(np->np_path));
		json_object_set_new(o, "samples",
		    json_integer((json_int_t)np->np_r->nr_samples));
		json_object_set_new(o, "raw",
		    json_integer((json_int_t)np->np_raw));
		json_object_set_new(o, "noise",
		    json_integer((json_int_t)np->np_noise));
		json_object_set_new(o, "raw_rate", json_real(
		    np->np_r->nr_samples ? (double)np->np_raw /
		    np->np_r->nr_samples : 0));
		json_object_set_new(o, "noise_rate", json_real(
		    np->np_r->nr_samples ? (double)np->np_noise /
		    np->np_r->nr_samples : 0));
		json_object_set_new(o, "is_noise",
		    json_boolean(noise_is(n, np)));
		json_object_set_new(o, "decided", json_boolean(
		    np->np_r->nr_samples >= n->n_opts.min_sample));
		json_object_set_new(o, "marked",
		    json_integer((json_int_t)np->np_marked));
		json_object_set_new(o, "order_only",
		    json_boolean(!np->np_other));
		ex = json_array();
		for (j = 0; j < np->np_nex; j++)
			json_array_append_new(ex, json_pack("{s:s?,s:s?}",
			    "primary", np->np_ex_primary[j], "second",
			    np->np_ex_second[j]));
		json_object_set_new(o, "examples", ex);
		if (np->np_cand_primary != NULL || np->np_cand_value != NULL)
			json_object_set_new(o, "candidate_example",
			    json_pack("{s:s?,s:s?}", "primary",
			    np->np_cand_primary, "candidate",
			    np->np_cand_value));
		hint = noise_volatile(np->np_nex > 0 ? np->np_ex_primary[0] :
		    np->np_cand_primary);
		json_object_set_new(o, "hint", hint != NULL ?
		    json_string(hint) : json_null());
		json_array_append_new(a, o);
	}
	free(v);
	return (json_pack("{s:I,s:I,s:I,s:o}", "samples",
	    (json_int_t)n->n_samples, "marked", (json_int_t)n->n_marked,
	    "paths_not_tracked", (json_int_t)n->n_over, "paths", a));
}
