/*
 * Diffs, DESIGN §4: the kinds and their names on the wire, and the capped,
 * sorted list of diffs an exchange carries.  The compare stage fills it;
 * captures, reports and flag lines read it.
 */

#include <stdlib.h>
#include <string.h>

#include "paritytap.h"

#define DIFF_SHORT	80

/* The name of each kind in captures, reports and flag lines. */
static const char *diff_kind_names[DIFF_OTHER] = {
	[DIFF_STATUS] = "status",
	[DIFF_MISSING] = "missing",
	[DIFF_EXTRA] = "extra",
	[DIFF_TYPE] = "type",
	[DIFF_VALUE] = "value",
	[DIFF_ORDER] = "order",
	[DIFF_HEADER] = "header",
	[DIFF_BODY] = "body",
	[DIFF_INVALID_JSON] = "invalid_json",
	[DIFF_DUPLICATE_KEY] = "duplicate_key",
	[DIFF_DEPTH] = "depth",
	[DIFF_ERROR] = "error"
};

/* Return the name of a kind, or NULL for DIFF_OTHER (it has none). */
const char *
diff_kind_name(enum diff_kind kind)
{
	if ((unsigned)kind >= DIFF_OTHER)
		return (NULL);
	return (diff_kind_names[kind]);
}

/* Find the kind of a name; return 0, or -1 if no kind has that name. */
int
diff_kind_parse(const char *name, enum diff_kind *kind)
{
	unsigned	i;

	for (i = 0; i < DIFF_OTHER; i++) {
		if (strcmp(diff_kind_names[i], name) == 0) {
			*kind = (enum diff_kind)i;
			return (0);
		}
	}
	return (-1);
}

/*
 * Return the name of a diff's kind: the kind's own, or for DIFF_OTHER the
 * name it was read with (NULL if none).
 */
const char *
diff_name(const struct diff *d)
{
	if (d->kind == DIFF_OTHER)
		return (d->kind_text);
	return (diff_kind_name(d->kind));
}

/*
 * Return the capture key of a diff's hint_path: a missing member names
 * the member it was likely renamed to, an extra one the member it was
 * renamed from.  NULL when the diff has none.
 */
const char *
diff_hint_key(const struct diff *d)
{
	if (d->hint_path == NULL)
		return (NULL);
	return (d->kind == DIFF_EXTRA ? "renamed_from" : "renamed_to");
}

/* Start an empty diff list holding at most max diffs (0: the default). */
void
diff_list_init(struct diff_list *list, size_t max)
{
	memset(list, 0, sizeof *list);
	list->max = max;
}

/*
 * Add a diff and return it so the caller can fill primary, candidate and
 * detail (allocated strings); NULL, and truncated set, when the list is
 * full.  The pointer is valid until the next add.
 */
struct diff *
diff_list_add(struct diff_list *list, enum diff_kind kind, const char *path,
    int side)
{
	size_t		 max = list->max ? list->max : DEFAULT_MAX_DIFFS;
	struct diff	*d;

	if (list->n >= max) {
		list->truncated = 1;
		return (NULL);
	}
	if (list->n == list->cap) {
		list->cap = list->cap ? list->cap * 2 : 8;
		list->v = xreallocarray(list->v, list->cap, sizeof *list->v);
	}
	d = &list->v[list->n++];
	memset(d, 0, sizeof *d);
	d->kind = kind;
	d->path = path != NULL ? xstrdup(path) : NULL;
	d->side = side;
	return (d);
}

/*
 * Add a diff of a kind given by name, as diff_list_add: a name no kind
 * has (a capture from another version) is kept as DIFF_OTHER.
 */
struct diff *
diff_list_add_name(struct diff_list *list, const char *name, const char *path,
    int side)
{
	enum diff_kind	 kind;
	struct diff	*d;

	if (diff_kind_parse(name, &kind) == 0)
		return (diff_list_add(list, kind, path, side));
	if ((d = diff_list_add(list, DIFF_OTHER, path, side)) != NULL)
		d->kind_text = xstrdup(name);
	return (d);
}

/* Compare two optional strings, NULL first. */
int
diff_strcmp(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return ((a != NULL) - (b != NULL));
	return (strcmp(a, b));
}

/*
 * Order diffs by path (array indexes as numbers), kind name, side,
 * detail, then the renderings.
 */
static int
diff_cmp(const void *va, const void *vb)
{
	const struct diff	*a = va, *b = vb;
	int			 r;

	if (a->path == NULL || b->path == NULL) {
		if (a->path != b->path)
			return ((a->path != NULL) - (b->path != NULL));
	} else if ((r = jsonpath_cmp(a->path, b->path)) != 0)
		return (r);
	if ((r = diff_strcmp(diff_name(a), diff_name(b))) != 0)
		return (r);
	if (a->side != b->side)
		return (a->side < b->side ? -1 : 1);
	if ((r = diff_strcmp(a->detail, b->detail)) != 0)
		return (r);
	if ((r = diff_strcmp(a->primary, b->primary)) != 0)
		return (r);
	return (diff_strcmp(a->candidate, b->candidate));
}

/* Sort a diff list into its deterministic order. */
void
diff_list_sort(struct diff_list *list)
{
	if (list->n > 1)
		qsort(list->v, list->n, sizeof *list->v, diff_cmp);
}

/*
 * Drop the diffs of a list past the first n (they are freed); the
 * truncated flag is the caller's to restore.
 */
void
diff_list_truncate(struct diff_list *list, size_t n)
{
	size_t	i;

	for (i = n; i < list->n; i++) {
		free(list->v[i].kind_text);
		free(list->v[i].path);
		free(list->v[i].primary);
		free(list->v[i].candidate);
		free(list->v[i].detail);
		free(list->v[i].hint);
		free(list->v[i].hint_path);
	}
	if (n < list->n)
		list->n = n;
}

/* Free the diffs of a list; it stays usable with the same cap. */
void
diff_list_free(struct diff_list *list)
{
	diff_list_truncate(list, 0);
	free(list->v);
	list->v = NULL;
	list->n = list->cap = 0;
	list->truncated = 0;
}

/*
 * Copy text cut to about 80 bytes (on a UTF-8 boundary, "..." added), the
 * short rendering a diff carries of each side's value.
 */
char *
diff_short(const char *s, size_t len)
{
	size_t	cut;
	char	*out;

	if (len <= DIFF_SHORT)
		return (len == 0 ? xstrdup("") : xstrndup(s, len));
	cut = DIFF_SHORT - 3;
	while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;
	out = xmalloc(cut + 4);
	memcpy(out, s, cut);
	memcpy(out + cut, "...", 4);
	return (out);
}
