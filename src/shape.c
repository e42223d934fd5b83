/*
 * JSON for comparison: parsing bodies with jansson so that nothing a
 * backend can send is an error of ours (duplicate keys, numbers beyond
 * 64 bits, absurd nesting), and the recursive shape diff of DESIGN §4.2.
 *
 * Numbers jansson cannot hold are rewritten, on that error path only, into
 * marked strings: "\u0000num:" followed by the number's text.  The marker
 * only means a number in a document this file rewrote, so a backend that
 * sends such a string itself is not misread in any other document.
 */

#include <sys/types.h>

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "paritytap.h"

#define SHAPE_MARK	"\0num:"
#define SHAPE_MARK_LEN	5
#define SHAPE_MARK_JSON	"\"\\u0000num:"
#define SHAPE_RENDER	80

/* One number token rewritten into a marked string. */
struct shape_rewrite {
	size_t		 orig_start;
	size_t		 orig_end;
	size_t		 new_start;
	size_t		 new_end;
};

/* One key seen in an object, for finding duplicates. */
struct shape_key {
	char		*key;
	size_t		 len;
	size_t		 offset;
};

/* One open container while scanning. */
struct shape_frame {
	int		 object;
	size_t		 index;		/* arrays: the current element */
	char		*key;		/* objects: the current key */
	size_t		 keylen;
	struct shape_key *keys;
	size_t		 nkeys;
};

/* The lexer pre-pass over a document jansson refused. */
struct shape_scan {
	const char	*text;
	size_t		 len;
	size_t		 pos;
	struct shape_frame *frames;
	size_t		 depth;
	size_t		 frames_cap;
	struct buf	 out;		/* the rewritten document */
	size_t		 copied;	/* text before this is in out */
	struct shape_rewrite *rw;
	size_t		 nrw;
	int		 side;
	struct ignore_set *ignore;
	struct diff_list *diffs;
	size_t		 ndups;		/* found, reported or ignored */
};

/* State of one shape diff. */
struct shape_ctx {
	const struct compare_opts *opts;
	struct ignore_set *ignore;
	struct diff_list *diffs;
	struct buf	 path;
	int		 marked[2];	/* each side may hold marked numbers */
	enum verdict	 verdict;
};

/* Skip JSON white space. */
static void
shape_skip_ws(struct shape_scan *s)
{
	while (s->pos < s->len && (s->text[s->pos] == ' ' ||
	    s->text[s->pos] == '\t' || s->text[s->pos] == '\n' ||
	    s->text[s->pos] == '\r'))
		s->pos++;
}

/*
 * Scan the string at s->pos (the opening quote), decoding it into out if
 * out is not NULL.  Returns 0, or -1 if it is not a valid JSON string.
 */
static int
shape_scan_string(struct shape_scan *s, struct buf *out)
{
	const char	*p = s->text + s->pos;

	if (jsonpath_unquote(&p, s->text + s->len, out) != NULL)
		return (-1);
	s->pos = (size_t)(p - s->text);
	return (0);
}

/* Return 1 if a number token does not fit in what jansson holds. */
static int
shape_number_overflows(const char *tok, size_t len, int real)
{
	const char	*point = localeconv()->decimal_point;
	char		*copy, *end, *dot;
	double		 d;
	int		 over;

	copy = xstrndup(tok, len);
	errno = 0;
	if (!real) {
		(void)strtoll(copy, &end, 10);
		over = errno == ERANGE;
	} else {
		/* jansson converts '.' to the locale's point too. */
		if ((dot = strchr(copy, '.')) != NULL && point != NULL &&
		    point[0] != '\0')
			*dot = point[0];
		d = strtod(copy, &end);
		over = errno == ERANGE && isinf(d);
	}
	free(copy);
	return (over);
}

/*
 * Scan the number at s->pos; rewrite it into a marked string when it
 * overflows.  Returns 0, or -1 if it is not a valid JSON number.
 */
static int
shape_scan_number(struct shape_scan *s)
{
	const char		*t = s->text;
	size_t			 start = s->pos, p = s->pos;
	int			 real = 0;
	struct shape_rewrite	*rw;

#define DIGIT(i) ((i) < s->len && t[i] >= '0' && t[i] <= '9')
	if (p < s->len && t[p] == '-')
		p++;
	if (p < s->len && t[p] == '0')
		p++;
	else if (DIGIT(p)) {
		while (DIGIT(p))
			p++;
	} else
		return (-1);
	if (p < s->len && t[p] == '.') {
		real = 1;
		if (!DIGIT(p + 1))
			return (-1);
		for (p++; DIGIT(p); p++)
			/* nothing */;
	}
	if (p < s->len && (t[p] == 'e' || t[p] == 'E')) {
		real = 1;
		p++;
		if (p < s->len && (t[p] == '+' || t[p] == '-'))
			p++;
		if (!DIGIT(p))
			return (-1);
		while (DIGIT(p))
			p++;
	}
#undef DIGIT
	s->pos = p;
	if (!shape_number_overflows(t + start, p - start, real))
		return (0);

	buf_add(&s->out, t + s->copied, start - s->copied);
	s->rw = xreallocarray(s->rw, s->nrw + 1, sizeof *s->rw);
	rw = &s->rw[s->nrw++];
	rw->orig_start = start;
	rw->orig_end = p;
	rw->new_start = s->out.len;
	buf_addstr(&s->out, SHAPE_MARK_JSON);
	buf_add(&s->out, t + start, p - start);
	buf_add(&s->out, "\"", 1);
	rw->new_end = s->out.len;
	s->copied = p;
	return (0);
}

/* Format the path of the container at frames[0 .. n) into b. */
static void
shape_scan_path(struct shape_scan *s, size_t n, struct buf *b)
{
	size_t	i;

	buf_addstr(b, "$");
	for (i = 0; i + 1 < n; i++) {
		if (s->frames[i].object)
			jsonpath_key(b, s->frames[i].key,
			    s->frames[i].keylen);
		else
			jsonpath_index(b, s->frames[i].index);
	}
}

/* Order keys by bytes, then by where they appear. */
static int
shape_key_cmp(const void *va, const void *vb)
{
	const struct shape_key	*a = va, *b = vb;
	size_t			 n = a->len < b->len ? a->len : b->len;
	int			 r;

	if ((r = memcmp(a->key, b->key, n)) != 0)
		return (r);
	if (a->len != b->len)
		return (a->len < b->len ? -1 : 1);
	return (a->offset < b->offset ? -1 : a->offset > b->offset);
}

/* Return 1 if two keys have the same bytes. */
static int
shape_key_same(const struct shape_key *a, const struct shape_key *b)
{
	return (a->len == b->len && memcmp(a->key, b->key, a->len) == 0);
}

/* Return the length of the UTF-8 sequence at p, or 0 if it is not valid. */
static size_t
shape_utf8_len(const unsigned char *p, size_t left)
{
	size_t	n, i;

	if (p[0] < 0x80)
		return (1);
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return (0);
	if (n > left)
		return (0);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (0);
	}
	return (n);
}

/*
 * Render bytes as a short JSON string (invalid UTF-8 shown as U+FFFD);
 * returns an allocated string.
 */
static char *
shape_render_string(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	struct buf		 b;
	size_t			 i, n;
	char			*out;

	buf_init(&b);
	buf_add(&b, "\"", 1);
	for (i = 0; i < len && b.len <= SHAPE_RENDER; i += n) {
		if ((n = shape_utf8_len(p + i, len - i)) == 0) {
			buf_addstr(&b, "\xef\xbf\xbd");
			n = 1;
		} else if (p[i] == '"' || p[i] == '\\')
			buf_printf(&b, "\\%c", p[i]);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			buf_printf(&b, "\\u%04x", p[i]);
		else
			buf_add(&b, p + i, n);
	}
	buf_add(&b, "\"", 1);
	out = compare_short(b.data, b.len);
	buf_free(&b);
	return (out);
}

/* Report the duplicate keys of the object in the top frame. */
static void
shape_scan_dups(struct shape_scan *s)
{
	struct shape_frame	*f = &s->frames[s->depth - 1];
	struct buf		 path, child;
	struct diff		*d;
	size_t			 i;
	char			*key;

	if (f->nkeys < 2)
		return;
	qsort(f->keys, f->nkeys, sizeof *f->keys, shape_key_cmp);
	buf_init(&path);
	buf_init(&child);
	for (i = 1; i < f->nkeys; i++) {
		if (!shape_key_same(&f->keys[i - 1], &f->keys[i]))
			continue;
		/* Only the first repeat of a key. */
		if (i >= 2 && shape_key_same(&f->keys[i - 2], &f->keys[i]))
			continue;
		if (path.len == 0)
			shape_scan_path(s, s->depth, &path);
		buf_reset(&child);
		buf_add(&child, path.data, path.len);
		jsonpath_key(&child, f->keys[i].key, f->keys[i].len);
		s->ndups++;
		if (jsonpath_ignored(s->ignore, child.data))
			continue;
		key = shape_render_string(f->keys[i].key, f->keys[i].len);
		if ((d = diff_list_add(s->diffs, "duplicate_key", path.data,
		    s->side)) != NULL) {
			xasprintf(&d->detail, "duplicate key %s at byte %zu",
			    key, f->keys[i].offset);
			if (s->side == SIDE_PRIMARY)
				d->primary = key;
			else
				d->candidate = key;
		} else
			free(key);
	}
	buf_free(&path);
	buf_free(&child);
}

/* Open a container; returns -1 when nesting is deeper than jansson's. */
static int
shape_scan_push(struct shape_scan *s, int object)
{
	struct shape_frame	*f;

	if (s->depth >= JSON_PARSER_MAX_DEPTH)
		return (-1);
	if (s->depth == s->frames_cap) {
		s->frames_cap = s->frames_cap ? s->frames_cap * 2 : 16;
		s->frames = xreallocarray(s->frames, s->frames_cap,
		    sizeof *s->frames);
	}
	f = &s->frames[s->depth++];
	memset(f, 0, sizeof *f);
	f->object = object;
	s->pos++;
	return (0);
}

/* Close the top container, reporting its duplicate keys. */
static void
shape_scan_pop(struct shape_scan *s)
{
	struct shape_frame	*f = &s->frames[s->depth - 1];
	size_t			 i;

	if (f->object)
		shape_scan_dups(s);
	for (i = 0; i < f->nkeys; i++)
		free(f->keys[i].key);
	free(f->keys);
	s->depth--;
	s->pos++;
}

/* Scan an object key and its colon into the top frame; 0 or -1. */
static int
shape_scan_key(struct shape_scan *s)
{
	struct shape_frame	*f = &s->frames[s->depth - 1];
	struct shape_key	*k;
	struct buf		 key;
	size_t			 offset = s->pos;

	if (s->pos >= s->len || s->text[s->pos] != '"')
		return (-1);
	buf_init(&key);
	if (shape_scan_string(s, &key) != 0) {
		buf_free(&key);
		return (-1);
	}
	f->keys = xreallocarray(f->keys, f->nkeys + 1, sizeof *f->keys);
	k = &f->keys[f->nkeys++];
	k->len = key.len;
	k->key = buf_detach(&key);
	k->offset = offset;
	f->key = k->key;
	f->keylen = k->len;
	shape_skip_ws(s);
	if (s->pos >= s->len || s->text[s->pos] != ':')
		return (-1);
	s->pos++;
	return (0);
}

/* Scan one literal (true, false, null); 0 or -1. */
static int
shape_scan_literal(struct shape_scan *s)
{
	static const char	*lit[] = { "true", "false", "null" };
	size_t			 i, n;

	for (i = 0; i < 3; i++) {
		n = strlen(lit[i]);
		if (s->len - s->pos >= n &&
		    memcmp(s->text + s->pos, lit[i], n) == 0) {
			s->pos += n;
			return (0);
		}
	}
	return (-1);
}

/*
 * Walk a document without recursion, finding duplicate keys and
 * rewriting overflowing numbers.  Stops quietly at the first syntax error:
 * jansson reports those.
 */
static void
shape_scan_run(struct shape_scan *s)
{
	struct shape_frame	*f;
	char			 c;
	enum { VALUE, KEY, AFTER } state = VALUE;

	for (;;) {
		shape_skip_ws(s);
		if (s->pos >= s->len)
			return;
		c = s->text[s->pos];
		if (state == KEY) {
			if (shape_scan_key(s) != 0)
				return;
			state = VALUE;
			continue;
		}
		if (state == AFTER) {
			if (s->depth == 0)
				return;
			f = &s->frames[s->depth - 1];
			if (c == ',') {
				s->pos++;
				if (f->object)
					state = KEY;
				else {
					f->index++;
					state = VALUE;
				}
			} else if (c == (f->object ? '}' : ']'))
				shape_scan_pop(s);
			else
				return;
			continue;
		}
		switch (c) {
		case '{':
		case '[':
			if (shape_scan_push(s, c == '{') != 0)
				return;
			shape_skip_ws(s);
			if (s->pos < s->len &&
			    s->text[s->pos] == (c == '{' ? '}' : ']')) {
				shape_scan_pop(s);
				state = AFTER;
			} else
				state = c == '{' ? KEY : VALUE;
			continue;
		case '"':
			if (shape_scan_string(s, NULL) != 0)
				return;
			break;
		case 't':
		case 'f':
		case 'n':
			if (shape_scan_literal(s) != 0)
				return;
			break;
		default:
			if (c != '-' && (c < '0' || c > '9'))
				return;
			if (shape_scan_number(s) != 0)
				return;
			break;
		}
		state = AFTER;
	}
}

/* Free what a scan holds. */
static void
shape_scan_free(struct shape_scan *s)
{
	size_t	i;

	while (s->depth > 0) {
		struct shape_frame *f = &s->frames[--s->depth];

		for (i = 0; i < f->nkeys; i++)
			free(f->keys[i].key);
		free(f->keys);
	}
	free(s->frames);
	free(s->rw);
	buf_free(&s->out);
}

/* Map an offset in the rewritten document back to the original. */
static size_t
shape_map_offset(const struct shape_scan *s, size_t pos)
{
	size_t	i;

	for (i = 0; i < s->nrw; i++) {
		if (pos < s->rw[i].new_start)
			return (pos - (s->rw[i].new_start -
			    s->rw[i].orig_start));
		if (pos < s->rw[i].new_end)
			return (s->rw[i].orig_start);
	}
	if (s->nrw == 0)
		return (pos);
	return (pos - (s->rw[s->nrw - 1].new_end - s->rw[s->nrw - 1].orig_end));
}

/* Record why a side's document could not be parsed. */
static void
shape_parse_error(int side, const json_error_t *err, size_t offset,
    struct diff_list *diffs)
{
	struct diff	*d;

	if (json_error_code(err) == json_error_stack_overflow) {
		if ((d = diff_list_add(diffs, "depth", "$", side)) != NULL)
			xasprintf(&d->detail, "nesting deeper than %d levels "
			    "at byte %zu", JSON_PARSER_MAX_DEPTH, offset);
		return;
	}
	if ((d = diff_list_add(diffs, "invalid_json", "$", side)) != NULL)
		xasprintf(&d->detail, "%s at byte %zu", err->text, offset);
}

/*
 * Parse one side's body for comparison (new reference), adding
 * duplicate_key diffs not under an ignored path; on failure add an
 * invalid_json or depth diff and return NULL.  *marked is set when the
 * document holds marked numbers.
 */
json_t *
shape_parse(const char *text, size_t len, int side, struct ignore_set *ignore,
    struct diff_list *diffs, int *marked)
{
	struct shape_scan	 s;
	json_error_t		 err;
	json_t			*j = NULL;
	const char		*doc = text;
	size_t			 doclen = len;
	size_t			 flags, attempt;
	struct diff		*d;
	int			 scanned = 0;

	memset(&s, 0, sizeof s);
	buf_init(&s.out);
	*marked = 0;
	flags = JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES;
	for (attempt = 0; attempt < 4; attempt++) {
		if ((j = json_loadb(doc, doclen, flags, &err)) != NULL)
			break;
		switch (json_error_code(&err)) {
		case json_error_duplicate_key:
		case json_error_numeric_overflow:
			if (!scanned) {
				s.text = text;
				s.len = len;
				s.side = side;
				s.ignore = ignore;
				s.diffs = diffs;
				shape_scan_run(&s);
				scanned = 1;
				if (s.nrw > 0) {
					buf_add(&s.out, text + s.copied,
					    len - s.copied);
					doc = s.out.data;
					doclen = s.out.len;
					*marked = 1;
				}
				if (s.ndups > 0)
					flags &= ~JSON_REJECT_DUPLICATES;
				continue;
			}
			if (json_error_code(&err) == json_error_duplicate_key &&
			    (flags & JSON_REJECT_DUPLICATES)) {
				/* jansson saw one the pre-pass did not. */
				if ((d = diff_list_add(diffs, "duplicate_key",
				    "$", side)) != NULL)
					xasprintf(&d->detail, "%s at byte %zu",
					    err.text, shape_map_offset(&s,
					    (size_t)err.position));
				flags &= ~JSON_REJECT_DUPLICATES;
				continue;
			}
			break;
		default:
			break;
		}
		break;
	}
	if (j == NULL) {
		shape_parse_error(side, &err, shape_map_offset(&s,
		    (size_t)err.position), diffs);
		*marked = 0;
	}
	shape_scan_free(&s);
	return (j);
}

/* Return 1 if a value is a marked number. */
static int
shape_is_mark(const struct shape_ctx *ctx, int side, json_t *v)
{
	return (ctx->marked[side] && json_is_string(v) &&
	    json_string_length(v) > SHAPE_MARK_LEN &&
	    memcmp(json_string_value(v), SHAPE_MARK, SHAPE_MARK_LEN) == 0);
}

/*
 * Return the text of a number shape_parse kept as a marked string (in a
 * document it marked), or NULL when v is not one.
 */
const char *
shape_marked_number(json_t *v, int marked)
{
	if (!marked || !json_is_string(v) ||
	    json_string_length(v) <= SHAPE_MARK_LEN ||
	    memcmp(json_string_value(v), SHAPE_MARK, SHAPE_MARK_LEN) != 0)
		return (NULL);
	return (json_string_value(v) + SHAPE_MARK_LEN);
}

/* Return the shape type name of a value (DESIGN §4.2). */
static const char *
shape_type(const struct shape_ctx *ctx, int side, json_t *v)
{
	const char	*s;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return ("object");
	case JSON_ARRAY:
		return ("array");
	case JSON_STRING:
		if (!shape_is_mark(ctx, side, v))
			return ("string");
		s = json_string_value(v) + SHAPE_MARK_LEN;
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
	char	 tmp[64], *s, *out;

	if (shape_is_mark(ctx, side, v))
		return (compare_short(json_string_value(v) + SHAPE_MARK_LEN,
		    json_string_length(v) - SHAPE_MARK_LEN));
	switch (json_typeof(v)) {
	case JSON_STRING:
		return (shape_render_string(json_string_value(v),
		    json_string_length(v)));
	case JSON_REAL:
		shape_real_text(json_real_value(v), tmp, sizeof tmp);
		return (xstrdup(tmp));
	default:
		break;
	}
	if ((s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT)) == NULL)
		fatalx("%s: json_dumps failed", __func__);
	out = compare_short(s, strlen(s));
	free(s);
	return (out);
}

/* Add a diff at the current path and raise the verdict; NULL when full. */
static struct diff *
shape_add(struct shape_ctx *ctx, const char *kind, int side, enum verdict v)
{
	if (v > ctx->verdict)
		ctx->verdict = v;
	return (diff_list_add(ctx->diffs, kind, ctx->path.data, side));
}

/* Add a diff carrying short renderings of the two values. */
static void
shape_add_values(struct shape_ctx *ctx, const char *kind, enum verdict v,
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
	if (shape_is_mark(ctx, side, v)) {
		*p = json_string_value(v) + SHAPE_MARK_LEN;
		*len = json_string_length(v) - SHAPE_MARK_LEN;
		return;
	}
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

/* Append the keys of obj that other also has (and that are not ignored). */
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
			/* NUL-separated: keys cannot hold a NUL. */
			buf_add(out, key, klen);
			buf_add(out, "", 1);
		}
		shape_pop(ctx, base);
	}
}

/* Render a NUL-separated key list as "a,b,c", cut short. */
static char *
shape_key_list(struct buf *keys)
{
	size_t	i;

	for (i = 0; i < keys->len; i++) {
		if (keys->data[i] == '\0')
			keys->data[i] = ',';
	}
	return (compare_short(keys->data, keys->len ? keys->len - 1 : 0));
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
		if ((d = shape_add(ctx, "order", -1, VERDICT_SHAPE)) != NULL) {
			d->primary = shape_key_list(&ka);
			d->candidate = shape_key_list(&kb);
			d->detail = xstrdup("members in a different order");
		}
	}
	buf_free(&ka);
	buf_free(&kb);
}

/* Compare two objects member by member. */
static void
shape_object(struct shape_ctx *ctx, json_t *a, json_t *b, size_t depth)
{
	const char	*key;
	size_t		 klen, base = ctx->path.len;
	json_t		*va, *vb;
	struct diff	*d;

	json_object_keylen_foreach(a, key, klen, va) {
		if (!shape_push_key(ctx, key, klen)) {
			vb = json_object_getn(b, key, klen);
			if (vb == NULL) {
				d = shape_add(ctx, "missing", SIDE_CANDIDATE,
				    VERDICT_SHAPE);
				if (d != NULL)
					d->primary = shape_render(ctx,
					    SIDE_PRIMARY, va);
			} else
				shape_value(ctx, va, vb, depth + 1);
		}
		shape_pop(ctx, base);
	}
	json_object_keylen_foreach(b, key, klen, vb) {
		if (json_object_getn(a, key, klen) != NULL)
			continue;
		if (!shape_push_key(ctx, key, klen)) {
			d = shape_add(ctx, "extra", SIDE_CANDIDATE,
			    VERDICT_SHAPE);
			if (d != NULL)
				d->candidate = shape_render(ctx,
				    SIDE_CANDIDATE, vb);
		}
		shape_pop(ctx, base);
	}
	if (ctx->opts != NULL && ctx->opts->strict_order)
		shape_order(ctx, a, b);
}

/* Compare two arrays: their lengths, then the common prefix. */
static void
shape_array(struct shape_ctx *ctx, json_t *a, json_t *b, size_t depth)
{
	size_t		 na = json_array_size(a), nb = json_array_size(b);
	size_t		 i, base = ctx->path.len;
	struct diff	*d;

	if (na != nb &&
	    (d = shape_add(ctx, "value", -1, VERDICT_VALUE)) != NULL)
		xasprintf(&d->detail, "length %zu vs %zu", na, nb);
	for (i = 0; i < na && i < nb; i++) {
		jsonpath_index(&ctx->path, i);
		if (!jsonpath_ignored(ctx->ignore, ctx->path.data))
			shape_value(ctx, json_array_get(a, i),
			    json_array_get(b, i), depth + 1);
		shape_pop(ctx, base);
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
	if (ctx->diffs->truncated && ctx->verdict >= VERDICT_SHAPE)
		return;
	if (depth > JSON_PARSER_MAX_DEPTH) {
		if ((d = shape_add(ctx, "depth", -1, VERDICT_BODY)) != NULL)
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
				shape_add_values(ctx, "value", VERDICT_VALUE,
				    a, b);
			return;
		}
		if ((d = shape_add(ctx, "type", -1, VERDICT_SHAPE)) != NULL) {
			d->primary = xstrdup(ta);
			d->candidate = xstrdup(tb);
		}
		return;
	}
	if (na) {
		if (!shape_number_equal(ctx, a, b))
			shape_add_values(ctx, "value", VERDICT_VALUE, a, b);
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
			shape_add_values(ctx, "value", VERDICT_VALUE, a, b);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		if (json_typeof(a) != json_typeof(b))
			shape_add_values(ctx, "value", VERDICT_VALUE, a, b);
		break;
	default:
		break;
	}
}

/*
 * Diff two parsed documents (primary a, candidate b; marked_a/b from
 * shape_parse) into diffs, skipping ignored paths; returns VERDICT_SHAPE,
 * VERDICT_VALUE or VERDICT_MATCH (VERDICT_BODY past the depth limit).
 */
enum verdict
shape_diff(const struct compare_opts *opts, struct ignore_set *ignore,
    json_t *a, int marked_a, json_t *b, int marked_b, struct diff_list *diffs)
{
	struct shape_ctx	ctx;

	memset(&ctx, 0, sizeof ctx);
	ctx.opts = opts;
	ctx.ignore = ignore;
	ctx.diffs = diffs;
	ctx.marked[SIDE_PRIMARY] = marked_a;
	ctx.marked[SIDE_CANDIDATE] = marked_b;
	ctx.verdict = VERDICT_MATCH;
	buf_init(&ctx.path);
	buf_addstr(&ctx.path, "$");
	if (!jsonpath_ignored(ignore, ctx.path.data))
		shape_value(&ctx, a, b, 1);
	buf_free(&ctx.path);
	return (ctx.verdict);
}
