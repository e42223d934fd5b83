/*
 * The compare engine (compare_json_text: json.c, shape.c, diff.c) on two
 * JSON documents A and B.  The input is a flags byte (1: --strict-order,
 * 2: --lenient-numbers), then A, a NUL, then B.
 *
 * A document compared with itself matches: verdict match, no difference
 * but the duplicate keys it holds (reported, not a divergence).  Swapping
 * the sides gives the same verdict and the same differences, each at the
 * same path, a key missing on one side being extra on the other.
 */

#include <string.h>

#include <jansson.h>

#include "paritytap.h"
#include "fuzz.h"

/* Differences kept: enough that a small input never fills the list. */
#define FUZZ_MAX_DIFFS	100000

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz-shape");
	log_quiet = 1;
	return (0);
}

/* Compare a with b into l; return the verdict. */
static enum verdict
fuzz_compare(const struct compare_opts *co, const char *a, size_t alen,
    const char *b, size_t blen, struct diff_list *l)
{
	diff_list_init(l, FUZZ_MAX_DIFFS);
	return (compare_json_text(co, NULL, a, alen, b, blen, l));
}

/* Return 1 if a list holds an invalid_json or depth difference. */
static int
fuzz_unreadable(const struct diff_list *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++) {
		if (l->v[i].kind == DIFF_INVALID_JSON ||
		    l->v[i].kind == DIFF_DEPTH)
			return (1);
	}
	return (0);
}

/* Print a list on standard error. */
static void
fuzz_print(const char *what, const struct diff_list *l)
{
	size_t	 i;

	fprintf(stderr, "%s (%zu):\n", what, l->n);
	for (i = 0; i < l->n && i < 50; i++)
		fprintf(stderr, "  %s %s side %d: %s | %s | %s\n",
		    diff_kind_name(l->v[i].kind), l->v[i].path ?
		    l->v[i].path : "-", l->v[i].side, l->v[i].primary ?
		    l->v[i].primary : "-", l->v[i].candidate ?
		    l->v[i].candidate : "-", l->v[i].detail ?
		    l->v[i].detail : "-");
}

/* Compare two "kind path" strings, for qsort. */
static int
fuzz_strcmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/*
 * The differences of l as sorted "kind path" strings, missing and extra
 * swapped when swap is set.
 */
static char **
fuzz_keys(const struct diff_list *l, int swap)
{
	char		**v;
	enum diff_kind	  k;
	size_t		  i;

	v = xcalloc(l->n + 1, sizeof *v);
	for (i = 0; i < l->n; i++) {
		k = l->v[i].kind;
		if (swap && k == DIFF_MISSING)
			k = DIFF_EXTRA;
		else if (swap && k == DIFF_EXTRA)
			k = DIFF_MISSING;
		xasprintf(&v[i], "%s %s", diff_kind_name(k),
		    l->v[i].path != NULL ? l->v[i].path : "-");
	}
	qsort(v, l->n, sizeof *v, fuzz_strcmp);
	return (v);
}

static void
fuzz_keys_free(char **v)
{
	size_t	 i;

	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* A compared with itself: a match. */
static void
fuzz_self(const struct compare_opts *co, const char *a, size_t alen)
{
	struct diff_list	 l;
	enum verdict		 v;
	size_t			 i;

	v = fuzz_compare(co, a, alen, a, alen, &l);
	if (!fuzz_unreadable(&l)) {
		for (i = 0; i < l.n; i++) {
			if (l.v[i].kind != DIFF_DUPLICATE_KEY)
				break;
		}
		if (v != VERDICT_MATCH || i != l.n) {
			fuzz_print("diff(A, A)", &l);
			fuzz_fail("a document compared with itself: verdict "
			    "%s, not match", verdict_name(v));
		}
	}
	diff_list_free(&l);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct compare_opts	 co;
	struct diff_list	 ab, ba;
	const char		*a, *b, *nul;
	size_t			 alen, blen, i;
	enum verdict		 vab, vba;
	char			**kab, **kba;

	if (size < 1)
		return (0);
	memset(&co, 0, sizeof co);
	co.strict_order = data[0] & 1;
	co.lenient_numbers = (data[0] & 2) != 0;
	co.max_diffs = FUZZ_MAX_DIFFS;
	a = (const char *)data + 1;
	alen = size - 1;
	if ((nul = memchr(a, '\0', alen)) != NULL) {
		b = nul + 1;
		blen = alen - (size_t)(b - a);
		alen = (size_t)(nul - a);
	} else {
		b = "";
		blen = 0;
	}

	fuzz_self(&co, a, alen);
	fuzz_self(&co, b, blen);

	vab = fuzz_compare(&co, a, alen, b, blen, &ab);
	vba = fuzz_compare(&co, b, blen, a, alen, &ba);
	if (!ab.truncated && !ba.truncated) {
		if (vab != vba) {
			fuzz_print("diff(A, B)", &ab);
			fuzz_print("diff(B, A)", &ba);
			fuzz_fail("verdict %s one way, %s the other",
			    verdict_name(vab), verdict_name(vba));
		}
		kab = fuzz_keys(&ab, 1);
		kba = fuzz_keys(&ba, 0);
		for (i = 0; i < ab.n && i < ba.n; i++) {
			if (strcmp(kab[i], kba[i]) != 0)
				break;
		}
		if (ab.n != ba.n || i != ab.n) {
			fuzz_print("diff(A, B)", &ab);
			fuzz_print("diff(B, A)", &ba);
			fuzz_fail("swapping the sides changes the differences "
			    "(first apart: %s / %s)", i < ab.n ? kab[i] : "-",
			    i < ba.n ? kba[i] : "-");
		}
		fuzz_keys_free(kab);
		fuzz_keys_free(kba);
	}
	diff_list_free(&ab);
	diff_list_free(&ba);
	return (0);
}
