/*
 * The recursive shape diff of DESIGN §4.2 over two documents that
 * json_doc_read parsed: types, members, array lengths and values, at
 * JSONPaths, with --ignore paths skipped.  Arrays at --unordered paths
 * are matched element to element whatever the index; elsewhere, two
 * arrays holding the same elements in another order are one value diff
 * with the "order" hint, and a missing and an extra member of one object
 * holding the same value carry the "rename" hint.
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "paritytap.h"

/*
 * Element comparisons one array may spend on matching out-of-place
 * elements (each unmatched primary element against each unmatched
 * candidate element); past it, the leftovers are compared by index.
 */
#define SHAPE_MATCH_BUDGET	(1024 * 1024)

/* State of one shape diff. */
struct shape_ctx {
	const struct compare_opts *opts;
	struct ignore_set *ignore;
	struct ignore_set *unordered;
	struct diff_list *diffs;
	int		 probe;		/* only asking whether values are equal */
	int		 probe_hit;	/* and they are not */
	uint64_t	 events;	/* differences found, kept or not */
	struct buf	 path;
	const struct json_doc *doc[2];	/* primary, candidate */
	enum verdict	 verdict;
};

/*
 * Return the text of a number jansson cannot hold on one side, with its
 * length in *len, or NULL when v is not one.
 */
static const char *
shape_mark(const struct shape_ctx *ctx, int side, json_t *v, size_t *len)
{
	return (json_doc_number(ctx->doc[side], v, len));
}

/* Return the shape type name of a value (DESIGN §4.2). */
static const char *
shape_type(const struct shape_ctx *ctx, int side, json_t *v)
{
	const char	*s;
	size_t		 len;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return ("object");
	case JSON_ARRAY:
		return ("array");
	case JSON_STRING:
		if ((s = shape_mark(ctx, side, v, &len)) == NULL)
			return ("string");
		if (strpbrk(s, ".eE") != NULL)
			return ("real");
		return ("integer");
	case JSON_INTEGER:
		return ("integer");
	case JSON_REAL:
		return ("real");
	case JSON_TRUE:
	case JSON_FALSE:
		return ("boolean");
	case JSON_NULL:
		return ("null");
	}
	return ("unknown");
}

/* Format a real as the shortest text that reads back the same. */
static void
shape_real_text(double d, char *out, size_t size)
{
	int	prec;

	for (prec = 15; prec <= 17; prec++) {
		snprintf(out, size, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			break;
	}
	if (strpbrk(out, ".eEn") == NULL && strlen(out) + 2 < size)
		strcat(out, ".0");
}

/* Render a value short (about 80 bytes); returns an allocated string. */
static char *
shape_render(const struct shape_ctx *ctx, int side, json_t *v)
{
	char		 tmp[64], *s, *out;
	const char	*num;
	size_t		 len;

	if ((num = shape_mark(ctx, side, v, &len)) != NULL)
		return (diff_short(num, len));
	switch (json_typeof(v)) {
	case JSON_STRING:
		return (json_render_string(json_string_value(v),
		    json_string_length(v)));
	case JSON_REAL:
		shape_real_text(json_real_value(v), tmp, sizeof tmp);
		return (xstrdup(tmp));
	default:
		break;
	}
	if ((s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT)) == NULL)
		fatalx("%s: json_dumps failed", __func__);
	out = diff_short(s, strlen(s));
	free(s);
	return (out);
}

/* Add a diff at the current path and raise the verdict; NULL when full. */
static struct diff *
shape_add(struct shape_ctx *ctx, enum diff_kind kind, int side,
    enum verdict v)
{
	ctx->events++;
	if (v > ctx->verdict)
		ctx->verdict = v;
	if (ctx->probe) {
		ctx->probe_hit = 1;
		return (NULL);
	}
	return (diff_list_add(ctx->diffs, kind, ctx->path.data, side));
}

/* Add a diff carrying short renderings of the two values. */
static void
shape_add_values(struct shape_ctx *ctx, enum diff_kind kind, enum verdict v,
    json_t *a, json_t *b)
{
	struct diff	*d;

	if ((d = shape_add(ctx, kind, -1, v)) == NULL)
		return;
	d->primary = shape_render(ctx, SIDE_PRIMARY, a);
	d->candidate = shape_render(ctx, SIDE_CANDIDATE, b);
}

/* Return the text of a number value (marked or not) for comparing. */
static void
shape_number_text(const struct shape_ctx *ctx, int side, json_t *v,
    char *tmp, size_t size, const char **p, size_t *len)
{
	if ((*p = shape_mark(ctx, side, v, len)) != NULL)
		return;
	if (json_is_integer(v))
		snprintf(tmp, size, "%lld", (long long)json_integer_value(v));
	else
		shape_real_text(json_real_value(v), tmp, size);
	*p = tmp;
	*len = strlen(tmp);
}

/*
 * Return 1 if two numbers of the same type (or integer and real under
 * --lenient-numbers) are equal.  Marked numbers are compared as text.
 */
static int
shape_number_equal(const struct shape_ctx *ctx, json_t *a, json_t *b)
{
	char		 ta[64], tb[64];
	const char	*pa, *pb;
	size_t		 la, lb;
	json_int_t	 i;
	double		 d;

	if (json_is_integer(a) && json_is_integer(b))
		return (json_integer_value(a) == json_integer_value(b));
	if (json_is_real(a) && json_is_real(b))
		return (json_real_value(a) == json_real_value(b));
	if (json_is_number(a) && json_is_number(b)) {
		i = json_is_integer(a) ? json_integer_value(a) :
		    json_integer_value(b);
		d = json_is_real(a) ? json_real_value(a) : json_real_value(b);
		if (d != d || d < -9223372036854775808.0 ||
		    d >= 9223372036854775808.0 || (double)(json_int_t)d != d)
			return (0);
		return ((json_int_t)d == i);
	}
	shape_number_text(ctx, SIDE_PRIMARY, a, ta, sizeof ta, &pa, &la);
	shape_number_text(ctx, SIDE_CANDIDATE, b, tb, sizeof tb, &pb, &lb);
	return (la == lb && memcmp(pa, pb, la) == 0);
}

static void shape_value(struct shape_ctx *, json_t *, json_t *, size_t);

/* Append a member to the path; returns 1 if the new path is ignored. */
static int
shape_push_key(struct shape_ctx *ctx, const char *key, size_t len)
{
	jsonpath_key(&ctx->path, key, len);
	return (jsonpath_ignored(ctx->ignore, ctx->path.data));
}

/* Cut the path back to an earlier length. */
static void
shape_pop(struct shape_ctx *ctx, size_t len)
{
	ctx->path.len = len;
	ctx->path.data[len] = '\0';
}

/*
 * Append the keys of obj that other also has (and that are not ignored):
 * each as its length then its bytes, since a key may hold any byte.
 */
static void
shape_common_keys(struct shape_ctx *ctx, json_t *obj, json_t *other,
    struct buf *out)
{
	const char	*key;
	size_t		 klen, base = ctx->path.len;
	json_t		*v;

	json_object_keylen_foreach(obj, key, klen, v) {
		if (json_object_getn(other, key, klen) == NULL)
			continue;
		if (!shape_push_key(ctx, key, klen)) {
			buf_add(out, &klen, sizeof klen);
			buf_add(out, key, klen);
		}
		shape_pop(ctx, base);
	}
}

/* Render a key list shape_common_keys made as "a,b,c", cut short. */
static char *
shape_key_list(const struct buf *keys)
{
	struct buf	 b;
	size_t		 i, klen;
	char		*out;

	buf_init(&b);
	for (i = 0; i + sizeof klen <= keys->len; i += klen) {
		memcpy(&klen, keys->data + i, sizeof klen);
		i += sizeof klen;
		if (b.len != 0)
			buf_add(&b, ",", 1);
		buf_add(&b, keys->data + i, klen);
		if (b.len > 80)
			break;
	}
	out = diff_short(b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	return (out);
}

/* Report an order diff if the members both objects have differ in order. */
static void
shape_order(struct shape_ctx *ctx, json_t *a, json_t *b)
{
	struct buf	 ka, kb;
	struct diff	*d;

	buf_init(&ka);
	buf_init(&kb);
	shape_common_keys(ctx, a, b, &ka);
	shape_common_keys(ctx, b, a, &kb);
	if (ka.len != kb.len || (ka.len != 0 &&
	    memcmp(ka.data, kb.data, ka.len) != 0)) {
		/* The candidate's order, against the primary's. */
		d = shape_add(ctx, DIFF_ORDER, SIDE_CANDIDATE, VERDICT_SHAPE);
		if (d != NULL) {
			d->primary = shape_key_list(&ka);
			d->candidate = shape_key_list(&kb);
			d->detail = xstrdup("members in a different order");
		}
	}
	buf_free(&ka);
	buf_free(&kb);
}

/*
 * Return 1 if two values at the current path compare equal under the
 * rules in force (ignores, --lenient-numbers, --unordered): the diff run
 * as a probe that records nothing and stops at the first difference.
 */
static int
shape_same(struct shape_ctx *ctx, json_t *a, json_t *b, size_t depth)
{
	enum verdict	 verdict = ctx->verdict;
	int		 probe = ctx->probe, hit = ctx->probe_hit, same;

	ctx->probe = 1;
	ctx->probe_hit = 0;
	shape_value(ctx, a, b, depth);
	same = !ctx->probe_hit;
	ctx->probe = probe;
	ctx->probe_hit = hit;
	ctx->verdict = verdict;
	return (same);
}

/* Find a diff of a kind at a path among those added since first. */
static struct diff *
shape_find(struct shape_ctx *ctx, size_t first, enum diff_kind kind,
    const char *path)
{
	size_t	i;

	for (i = first; i < ctx->diffs->n; i++) {
		if (ctx->diffs->v[i].kind == kind &&
		    diff_strcmp(ctx->diffs->v[i].path, path) == 0)
			return (&ctx->diffs->v[i]);
	}
	return (NULL);
}

/*
 * Mark a missing member and an extra member (paths from and to) as a
 * likely rename; return 0 if the extra one is already another's rename.
 */
static int
shape_hint_rename(struct shape_ctx *ctx, size_t first, const char *from,
    const char *to)
{
	struct diff	*dm, *de;

	de = shape_find(ctx, first, DIFF_EXTRA, to);
	if (de != NULL && de->hint != NULL)
		return (0);
	if (de != NULL) {
		de->hint = xstrdup("rename");
		de->hint_path = xstrdup(from);
	}
	if ((dm = shape_find(ctx, first, DIFF_MISSING, from)) != NULL) {
		dm->hint = xstrdup("rename");
		dm->hint_path = xstrdup(to);
	}
	return (1);
}

/*
 * The rename hint: pair each member of a that b lacks with the first
 * member of b that a lacks holding an equal value (the caller saw some
 * of both, not too many to pair).  The diffs stay (a renamed member is
 * still a shape divergence); they name each other.  first is where this
 * object's diffs start in the list.
 */
static void
shape_renames(struct shape_ctx *ctx, json_t *a, json_t *b, size_t depth,
    size_t first)
{
	const char	*ka, *kb;
	size_t		 la, lb, base = ctx->path.len;
	json_t		*va, *vb;
	char		*from;
	int		 done;

	json_object_keylen_foreach(a, ka, la, va) {
		if (json_object_getn(b, ka, la) != NULL)
			continue;
		if (shape_push_key(ctx, ka, la)) {
			shape_pop(ctx, base);
			continue;
		}
		from = xstrdup(ctx->path.data);
		shape_pop(ctx, base);
		done = 0;
		json_object_keylen_foreach(b, kb, lb, vb) {
			if (done || json_object_getn(a, kb, lb) != NULL)
				continue;
			if (!shape_push_key(ctx, kb, lb) &&
			    shape_same(ctx, va, vb, depth + 1))
				done = shape_hint_rename(ctx, first, from,
				    ctx->path.data);
			shape_pop(ctx, base);
		}
		free(from);
	}
}

/* Compare two objects member by member. */
static void
shape_object(struct shape_ctx *ctx, json_t *a, json_t *b, size_t depth)
{
	const char	*key;
	size_t		 klen, base = ctx->path.len, first = ctx->diffs->n;
	size_t		 nm = 0, ne = 0;
	json_t		*va, *vb;
	struct diff	*d;

	json_object_keylen_foreach(a, key, klen, va) {
		if (!shape_push_key(ctx, key, klen)) {
			vb = json_object_getn(b, key, klen);
			if (vb == NULL) {
				nm++;
				d = shape_add(ctx, DIFF_MISSING, SIDE_CANDIDATE,
				    VERDICT_SHAPE);
				if (d != NULL)
					d->primary = shape_render(ctx,
					    SIDE_PRIMARY, va);
			} else
				shape_value(ctx, va, vb, depth + 1);
		}
		shape_pop(ctx, base);
		/* A probe has its answer. */
		if (ctx->probe_hit)
			return;
	}
	json_object_keylen_foreach(b, key, klen, vb) {
		if (json_object_getn(a, key, klen) != NULL)
			continue;
		if (!shape_push_key(ctx, key, klen)) {
			ne++;
			d = shape_add(ctx, DIFF_EXTRA, SIDE_CANDIDATE,
			    VERDICT_SHAPE);
			if (d != NULL)
				d->candidate = shape_render(ctx,
				    SIDE_CANDIDATE, vb);
		}
		shape_pop(ctx, base);
	}
	if (!ctx->probe && nm != 0 && ne != 0 &&
	    nm <= SHAPE_MATCH_BUDGET / ne)
		shape_renames(ctx, a, b, depth, first);
	if (ctx->opts != NULL && ctx->opts->strict_order)
		shape_order(ctx, a, b);
}

/* A candidate element and the hash of its value. */
struct shape_hashed {
	uint64_t	 h;
	size_t		 j;
};

/* Mix bytes into a hash (FNV-1a). */
static uint64_t
shape_hash_bytes(uint64_t h, const void *p, size_t len)
{
	const unsigned char	*c = p;
	size_t			 i;

	for (i = 0; i < len; i++) {
		h ^= c[i];
		h *= 0x100000001b3ULL;
	}
	return (h);
}

/*
 * Hash a value so that values that are the same JSON (object members in
 * any order) hash alike: a quick way to find an element's equal among
 * many.  Values equal only under looser rules (--lenient-numbers, ignored
 * paths) may hash apart; the slower search still finds those.
 */
static uint64_t
shape_hash(json_t *v)
{
	uint64_t	 h = 0xcbf29ce484222325ULL, sum = 0, kh;
	const char	*key;
	size_t		 klen, i;
	json_t		*x;
	json_int_t	 n;
	double		 d;

	h ^= (uint64_t)json_typeof(v);
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		/* A sum, so that member order does not count. */
		json_object_keylen_foreach(v, key, klen, x) {
			kh = shape_hash_bytes(0xcbf29ce484222325ULL, key, klen);
			sum += (kh ^ shape_hash(x)) * 0x9e3779b97f4a7c15ULL;
		}
		return (shape_hash_bytes(h, &sum, sizeof sum));
	case JSON_ARRAY:
		for (i = 0; i < json_array_size(v); i++) {
			kh = shape_hash(json_array_get(v, i));
			h = shape_hash_bytes(h, &kh, sizeof kh);
		}
		return (h);
	case JSON_STRING:
		return (shape_hash_bytes(h, json_string_value(v),
		    json_string_length(v)));
	case JSON_INTEGER:
		n = json_integer_value(v);
		return (shape_hash_bytes(h, &n, sizeof n));
	case JSON_REAL:
		/* -0.0 == 0.0, as shape_number_equal has it. */
		d = json_real_value(v) == 0 ? 0 : json_real_value(v);
		return (shape_hash_bytes(h, &d, sizeof d));
	default:
		return (h);
	}
}

/*
 * Return 1 if values that hash apart are never equal under the rules in
 * force: no ignored paths, no unordered arrays, no lenient numbers.  Then
 * the search by hash finds every match there is.
 */
static int
shape_hash_exact(const struct shape_ctx *ctx)
{
	return (jsonpath_set_empty(ctx->ignore) &&
	    jsonpath_set_empty(ctx->unordered) &&
	    (ctx->opts == NULL || !ctx->opts->lenient_numbers));
}

/* Order hashed elements by hash, then by index. */
static int
shape_hashed_cmp(const void *va, const void *vb)
{
	const struct shape_hashed	*a = va, *b = vb;

	if (a->h != b->h)
		return (a->h < b->h ? -1 : 1);
	return (a->j < b->j ? -1 : a->j > b->j);
}

/*
 * Try to match primary element i of a to one of the unmatched candidate
 * elements of b listed in v[from..to) (indexes into b); return 1 if it
 * was.  The first equal one, in the list's order, is taken.
 */
static int
shape_match_one(struct shape_ctx *ctx, json_t *a, json_t *b, size_t depth,
    size_t i, const struct shape_hashed *v, size_t from, size_t to,
    ssize_t *pm, unsigned char *cused)
{
	size_t	x, j, base = ctx->path.len;
	int	found = 0;

	jsonpath_index(&ctx->path, i);
	for (x = from; x < to && !found; x++) {
		j = v[x].j;
		if (cused[j] || !shape_same(ctx, json_array_get(a, i),
		    json_array_get(b, j), depth + 1))
			continue;
		pm[i] = (ssize_t)j;
		cused[j] = 1;
		found = 1;
	}
	shape_pop(ctx, base);
	return (found);
}

/*
 * Match the elements of two arrays: pm[i] is the candidate index matched
 * to primary element i, or -1, and cused[j] says candidate element j is
 * taken.  Same indexes first (an ignored index matches its own; bad, if
 * not NULL, already says which indexes differ); then, for each unmatched
 * primary element, the unmatched candidate elements whose values hash
 * alike; then, unless the hash is exact, the rest against each other in
 * order while SHAPE_MATCH_BUDGET lasts.  Returns the number of primary
 * elements left unmatched.  With all set, only a full match is of use:
 * when the first unmatched element has no equal at all the search stops
 * there (arrays whose elements each carry a differing timestamp cost one
 * pass, not a pass per element).
 */
static size_t
shape_match(struct shape_ctx *ctx, json_t *a, json_t *b, size_t depth,
    ssize_t *pm, unsigned char *cused, int all, const unsigned char *bad)
{
	size_t			 na = json_array_size(a), nb = json_array_size(b);
	size_t			 i, j, k = 0, lo, hi, mid, left = 0, cleft;
	size_t			 base = ctx->path.len;
	struct shape_hashed	*v;
	uint64_t		 h;

	for (i = 0; i < na; i++) {
		pm[i] = -1;
		if (i >= nb)
			continue;
		if (bad != NULL) {
			if (!bad[i]) {
				pm[i] = (ssize_t)i;
				cused[i] = 1;
			}
			continue;
		}
		jsonpath_index(&ctx->path, i);
		if (jsonpath_ignored(ctx->ignore, ctx->path.data) ||
		    shape_same(ctx, json_array_get(a, i), json_array_get(b, i),
		    depth + 1)) {
			pm[i] = (ssize_t)i;
			cused[i] = 1;
		}
		shape_pop(ctx, base);
	}
	for (i = 0; i < na; i++)
		left += pm[i] == -1;
	cleft = nb - (na - left);
	if (left == 0 || cleft == 0)
		return (left);

	/* The unmatched candidate elements, in index order. */
	v = xreallocarray(NULL, cleft, sizeof *v);
	for (j = 0; j < nb; j++) {
		if (!cused[j]) {
			v[k].h = 0;
			v[k++].j = j;
		}
	}
	if (all) {
		for (i = 0; pm[i] != -1; i++)
			/* nothing */;
		if (!shape_match_one(ctx, a, b, depth, i, v, 0, k, pm, cused))
			goto out;
		left--;
		cleft--;
	}

	for (j = 0; j < k; j++)
		v[j].h = shape_hash(json_array_get(b, v[j].j));
	qsort(v, k, sizeof *v, shape_hashed_cmp);
	for (i = 0; i < na && cleft > 0; i++) {
		if (pm[i] != -1)
			continue;
		h = shape_hash(json_array_get(a, i));
		for (lo = 0, hi = k; lo < hi; ) {
			mid = lo + (hi - lo) / 2;
			if (v[mid].h < h)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (hi = lo; hi < k && v[hi].h == h; hi++)
			/* nothing */;
		if (shape_match_one(ctx, a, b, depth, i, v, lo, hi, pm,
		    cused)) {
			left--;
			cleft--;
		}
	}

	if (left == 0 || cleft == 0 || left > SHAPE_MATCH_BUDGET / cleft ||
	    shape_hash_exact(ctx))
		goto out;
	/* Back to index order. */
	for (j = 0; j < k; j++)
		v[j].h = 0;
	qsort(v, k, sizeof *v, shape_hashed_cmp);
	for (i = 0; i < na && cleft > 0; i++) {
		if (pm[i] != -1)
			continue;
		if (shape_match_one(ctx, a, b, depth, i, v, 0, k, pm, cused)) {
			left--;
			cleft--;
		} else if (all)
			break;
	}
out:
	free(v);
	return (left);
}

/*
 * Two arrays of the same length at a path that is not --unordered, just
 * compared index by index: bad[i] says whether index i differed, and the
 * diffs of the array start at first in the list.  If they hold the same
 * elements in another order (Go's map iteration), replace those diffs by
 * one value diff with the "order" hint; trunc and verdict are the list's
 * truncated flag and the verdict from before the array.
 */
static void
shape_array_permuted(struct shape_ctx *ctx, json_t *a, json_t *b,
    size_t depth, const unsigned char *bad, size_t first, int trunc,
    enum verdict verdict)
{
	size_t		 n = json_array_size(a), i, left;
	ssize_t		*pm;
	unsigned char	*cused;
	struct diff	*d;

	for (i = 0; i < n && !bad[i]; i++)
		/* nothing */;
	if (i == n)
		return;
	/* Elements were skipped once the list was full: nothing to tell. */
	if (ctx->diffs->truncated && ctx->verdict >= VERDICT_SHAPE)
		return;
	pm = xreallocarray(NULL, n, sizeof *pm);
	cused = xcalloc(n, 1);
	left = shape_match(ctx, a, b, depth, pm, cused, 1, bad);
	if (left == 0) {
		for (i = 0; i < n && pm[i] == (ssize_t)i; i++)
			/* nothing */;
		diff_list_truncate(ctx->diffs, first);
		ctx->diffs->truncated = trunc;
		ctx->verdict = verdict;
		if ((d = shape_add(ctx, DIFF_VALUE, -1, VERDICT_VALUE)) !=
		    NULL) {
			xasprintf(&d->detail, "same %zu elements in a "
			    "different order: [%zu] is the candidate's [%zd]",
			    n, i, pm[i]);
			d->hint = xstrdup("order");
		}
	}
	free(pm);
	free(cused);
}

/*
 * Compare two arrays at an --unordered path as multisets: each element
 * matched to an equal one whatever its index.  A length difference is a
 * value diff as in any array; the elements left unmatched are compared
 * pairwise in index order, each pair at the primary element's index, so
 * a changed element shows as the diffs inside it.
 */
static void
shape_array_unordered(struct shape_ctx *ctx, json_t *a, json_t *b,
    size_t depth)
{
	size_t		 na = json_array_size(a), nb = json_array_size(b);
	size_t		 i, j = 0, left, base = ctx->path.len;
	ssize_t		*pm;
	unsigned char	*cused;
	struct diff	*d;

	pm = xreallocarray(NULL, na ? na : 1, sizeof *pm);
	cused = xcalloc(nb ? nb : 1, 1);
	left = shape_match(ctx, a, b, depth, pm, cused, ctx->probe, NULL);
	if (na != nb &&
	    (d = shape_add(ctx, DIFF_VALUE, -1, VERDICT_VALUE)) != NULL)
		xasprintf(&d->detail, "length %zu vs %zu", na, nb);
	if (ctx->probe && left > 0)
		ctx->probe_hit = 1;
	for (i = 0; !ctx->probe && left > 0 && i < na; i++) {
		if (pm[i] != -1)
			continue;
		while (j < nb && cused[j])
			j++;
		if (j == nb)
			break;
		jsonpath_index(&ctx->path, i);
		if (!jsonpath_ignored(ctx->ignore, ctx->path.data))
			shape_value(ctx, json_array_get(a, i),
			    json_array_get(b, j), depth + 1);
		shape_pop(ctx, base);
		j++;
	}
	free(pm);
	free(cused);
}

/*
 * Compare two arrays: at an --unordered path as multisets; else their
 * lengths, then the common prefix, and if that found differences, see
 * whether they are the same elements reordered.
 */
static void
shape_array(struct shape_ctx *ctx, json_t *a, json_t *b, size_t depth)
{
	size_t		 na = json_array_size(a), nb = json_array_size(b);
	size_t		 i, base = ctx->path.len, first = ctx->diffs->n;
	struct diff	*d;
	unsigned char	*bad = NULL;
	uint64_t	 events;
	enum verdict	 verdict = ctx->verdict;
	int		 trunc = ctx->diffs->truncated;

	if (jsonpath_ignored(ctx->unordered, ctx->path.data)) {
		shape_array_unordered(ctx, a, b, depth);
		return;
	}
	if (!ctx->probe && na == nb && na > 1)
		bad = xcalloc(na, 1);
	if (na != nb &&
	    (d = shape_add(ctx, DIFF_VALUE, -1, VERDICT_VALUE)) != NULL)
		xasprintf(&d->detail, "length %zu vs %zu", na, nb);
	for (i = 0; i < na && i < nb && !ctx->probe_hit; i++) {
		jsonpath_index(&ctx->path, i);
		events = ctx->events;
		if (!jsonpath_ignored(ctx->ignore, ctx->path.data))
			shape_value(ctx, json_array_get(a, i),
			    json_array_get(b, i), depth + 1);
		if (bad != NULL)
			bad[i] = ctx->events != events;
		shape_pop(ctx, base);
	}
	if (bad != NULL) {
		shape_array_permuted(ctx, a, b, depth, bad, first, trunc,
		    verdict);
		free(bad);
	}
}

/* Compare two values at the current path. */
static void
shape_value(struct shape_ctx *ctx, json_t *a, json_t *b, size_t depth)
{
	const char	*ta, *tb;
	struct diff	*d;
	int		 na, nb;

	/* Nothing more can change the verdict or fit in the list. */
	if (!ctx->probe && ctx->diffs->truncated &&
	    ctx->verdict >= VERDICT_SHAPE)
		return;
	if (ctx->probe_hit)
		return;
	if (depth > JSON_PARSER_MAX_DEPTH) {
		if ((d = shape_add(ctx, DIFF_DEPTH, -1, VERDICT_BODY)) != NULL)
			xasprintf(&d->detail, "nesting deeper than %d levels",
			    JSON_PARSER_MAX_DEPTH);
		return;
	}
	ta = shape_type(ctx, SIDE_PRIMARY, a);
	tb = shape_type(ctx, SIDE_CANDIDATE, b);
	na = strcmp(ta, "integer") == 0 || strcmp(ta, "real") == 0;
	nb = strcmp(tb, "integer") == 0 || strcmp(tb, "real") == 0;
	if (strcmp(ta, tb) != 0) {
		if (na && nb && ctx->opts != NULL &&
		    ctx->opts->lenient_numbers) {
			if (!shape_number_equal(ctx, a, b))
				shape_add_values(ctx, DIFF_VALUE, VERDICT_VALUE,
				    a, b);
			return;
		}
		if ((d = shape_add(ctx, DIFF_TYPE, -1, VERDICT_SHAPE)) != NULL) {
			d->primary = xstrdup(ta);
			d->candidate = xstrdup(tb);
		}
		return;
	}
	if (na) {
		if (!shape_number_equal(ctx, a, b))
			shape_add_values(ctx, DIFF_VALUE, VERDICT_VALUE, a, b);
		return;
	}
	switch (json_typeof(a)) {
	case JSON_OBJECT:
		shape_object(ctx, a, b, depth);
		break;
	case JSON_ARRAY:
		shape_array(ctx, a, b, depth);
		break;
	case JSON_STRING:
		if (json_string_length(a) != json_string_length(b) ||
		    memcmp(json_string_value(a), json_string_value(b),
		    json_string_length(a)) != 0)
			shape_add_values(ctx, DIFF_VALUE, VERDICT_VALUE, a, b);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		if (json_typeof(a) != json_typeof(b))
			shape_add_values(ctx, DIFF_VALUE, VERDICT_VALUE, a, b);
		break;
	default:
		break;
	}
}

/*
 * Diff two documents json_doc_read parsed (primary a, candidate b) into
 * diffs, skipping ignored paths, arrays at unordered paths (may be NULL)
 * matched as multisets; returns VERDICT_SHAPE, VERDICT_VALUE or
 * VERDICT_MATCH (VERDICT_BODY past the depth limit).
 */
enum verdict
shape_diff(const struct compare_opts *opts, struct ignore_set *ignore,
    struct ignore_set *unordered, const struct json_doc *a,
    const struct json_doc *b, struct diff_list *diffs)
{
	struct shape_ctx	ctx;

	memset(&ctx, 0, sizeof ctx);
	ctx.opts = opts;
	ctx.ignore = ignore;
	ctx.unordered = unordered;
	ctx.diffs = diffs;
	ctx.doc[SIDE_PRIMARY] = a;
	ctx.doc[SIDE_CANDIDATE] = b;
	ctx.verdict = VERDICT_MATCH;
	buf_init(&ctx.path);
	buf_addstr(&ctx.path, "$");
	if (!jsonpath_ignored(ignore, ctx.path.data))
		shape_value(&ctx, a->root, b->root, 1);
	buf_free(&ctx.path);
	return (ctx.verdict);
}
