/*
 * The tolerant JSON reader of the compare stage: bodies are parsed with
 * jansson so that nothing a backend can send is an error of ours
 * (duplicate keys, numbers beyond 64 bits, absurd nesting).  Duplicate
 * keys are reported as diffs at their paths; what does not parse is an
 * invalid_json or depth diff.
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

#define JSON_MARK	"\0num:"
#define JSON_MARK_LEN	5
#define JSON_MARK_QUOTED	"\"\\u0000num:"
#define JSON_RENDER	80

/* One number token rewritten into a marked string. */
struct json_rewrite {
	size_t		 orig_start;
	size_t		 orig_end;
	size_t		 new_start;
	size_t		 new_end;
};

/* One key seen in an object, for finding duplicates. */
struct json_key {
	char		*key;
	size_t		 len;
	size_t		 offset;
};

/* One open container while scanning. */
struct json_frame {
	int		 object;
	size_t		 index;		/* arrays: the current element */
	char		*key;		/* objects: the current key */
	size_t		 keylen;
	struct json_key *keys;
	size_t		 nkeys;
};

/* The lexer pre-pass over a document jansson refused. */
struct json_scan {
	const char	*text;
	size_t		 len;
	size_t		 pos;
	struct json_frame *frames;
	size_t		 depth;
	size_t		 frames_cap;
	struct buf	 out;		/* the rewritten document */
	size_t		 copied;	/* text before this is in out */
	struct json_rewrite *rw;
	size_t		 nrw;
	int		 side;
	struct ignore_set *ignore;
	struct diff_list *diffs;
	size_t		 ndups;		/* found, reported or ignored */
};

/* Skip JSON white space. */
static void
json_skip_ws(struct json_scan *s)
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
json_scan_string(struct json_scan *s, struct buf *out)
{
	const char	*p = s->text + s->pos;

	if (jsonpath_unquote(&p, s->text + s->len, out) != NULL)
		return (-1);
	s->pos = (size_t)(p - s->text);
	return (0);
}

/* Return 1 if a number token does not fit in what jansson holds. */
static int
json_number_overflows(const char *tok, size_t len, int real)
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
json_scan_number(struct json_scan *s)
{
	const char		*t = s->text;
	size_t			 start = s->pos, p = s->pos;
	int			 real = 0;
	struct json_rewrite	*rw;

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
	if (!json_number_overflows(t + start, p - start, real))
		return (0);

	buf_add(&s->out, t + s->copied, start - s->copied);
	s->rw = xreallocarray(s->rw, s->nrw + 1, sizeof *s->rw);
	rw = &s->rw[s->nrw++];
	rw->orig_start = start;
	rw->orig_end = p;
	rw->new_start = s->out.len;
	buf_addstr(&s->out, JSON_MARK_QUOTED);
	buf_add(&s->out, t + start, p - start);
	buf_add(&s->out, "\"", 1);
	rw->new_end = s->out.len;
	s->copied = p;
	return (0);
}

/* Format the path of the container at frames[0 .. n) into b. */
static void
json_scan_path(struct json_scan *s, size_t n, struct buf *b)
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
json_key_cmp(const void *va, const void *vb)
{
	const struct json_key	*a = va, *b = vb;
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
json_key_same(const struct json_key *a, const struct json_key *b)
{
	return (a->len == b->len && memcmp(a->key, b->key, a->len) == 0);
}

/* Return the length of the UTF-8 sequence at p, or 0 if it is not valid. */
static size_t
json_utf8_len(const unsigned char *p, size_t left)
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
char *
json_render_string(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	struct buf		 b;
	size_t			 i, n;
	char			*out;

	buf_init(&b);
	buf_add(&b, "\"", 1);
	for (i = 0; i < len && b.len <= JSON_RENDER; i += n) {
		if ((n = json_utf8_len(p + i, len - i)) == 0) {
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
	out = diff_short(b.data, b.len);
	buf_free(&b);
	return (out);
}

/* Report the duplicate keys of the object in the top frame. */
static void
json_scan_dups(struct json_scan *s)
{
	struct json_frame	*f = &s->frames[s->depth - 1];
	struct buf		 path, child;
	struct diff		*d;
	size_t			 i;
	char			*key;

	if (f->nkeys < 2)
		return;
	qsort(f->keys, f->nkeys, sizeof *f->keys, json_key_cmp);
	buf_init(&path);
	buf_init(&child);
	for (i = 1; i < f->nkeys; i++) {
		if (!json_key_same(&f->keys[i - 1], &f->keys[i]))
			continue;
		/* Only the first repeat of a key. */
		if (i >= 2 && json_key_same(&f->keys[i - 2], &f->keys[i]))
			continue;
		if (path.len == 0)
			json_scan_path(s, s->depth, &path);
		buf_reset(&child);
		buf_add(&child, path.data, path.len);
		jsonpath_key(&child, f->keys[i].key, f->keys[i].len);
		s->ndups++;
		if (jsonpath_ignored(s->ignore, child.data))
			continue;
		key = json_render_string(f->keys[i].key, f->keys[i].len);
		if ((d = diff_list_add(s->diffs, DIFF_DUPLICATE_KEY, path.data,
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
json_scan_push(struct json_scan *s, int object)
{
	struct json_frame	*f;

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
json_scan_pop(struct json_scan *s)
{
	struct json_frame	*f = &s->frames[s->depth - 1];
	size_t			 i;

	if (f->object)
		json_scan_dups(s);
	for (i = 0; i < f->nkeys; i++)
		free(f->keys[i].key);
	free(f->keys);
	s->depth--;
	s->pos++;
}

/* Scan an object key and its colon into the top frame; 0 or -1. */
static int
json_scan_key(struct json_scan *s)
{
	struct json_frame	*f = &s->frames[s->depth - 1];
	struct json_key	*k;
	struct buf		 key;
	size_t			 offset = s->pos;

	if (s->pos >= s->len || s->text[s->pos] != '"')
		return (-1);
	buf_init(&key);
	if (json_scan_string(s, &key) != 0) {
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
	json_skip_ws(s);
	if (s->pos >= s->len || s->text[s->pos] != ':')
		return (-1);
	s->pos++;
	return (0);
}

/* Scan one literal (true, false, null); 0 or -1. */
static int
json_scan_literal(struct json_scan *s)
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
json_scan_run(struct json_scan *s)
{
	struct json_frame	*f;
	char			 c;
	enum { VALUE, KEY, AFTER } state = VALUE;

	for (;;) {
		json_skip_ws(s);
		if (s->pos >= s->len)
			return;
		c = s->text[s->pos];
		if (state == KEY) {
			if (json_scan_key(s) != 0)
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
				json_scan_pop(s);
			else
				return;
			continue;
		}
		switch (c) {
		case '{':
		case '[':
			if (json_scan_push(s, c == '{') != 0)
				return;
			json_skip_ws(s);
			if (s->pos < s->len &&
			    s->text[s->pos] == (c == '{' ? '}' : ']')) {
				json_scan_pop(s);
				state = AFTER;
			} else
				state = c == '{' ? KEY : VALUE;
			continue;
		case '"':
			if (json_scan_string(s, NULL) != 0)
				return;
			break;
		case 't':
		case 'f':
		case 'n':
			if (json_scan_literal(s) != 0)
				return;
			break;
		default:
			if (c != '-' && (c < '0' || c > '9'))
				return;
			if (json_scan_number(s) != 0)
				return;
			break;
		}
		state = AFTER;
	}
}

/* Free what a scan holds. */
static void
json_scan_free(struct json_scan *s)
{
	size_t	i;

	while (s->depth > 0) {
		struct json_frame *f = &s->frames[--s->depth];

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
json_map_offset(const struct json_scan *s, size_t pos)
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
json_read_error(int side, const json_error_t *err, size_t offset,
    struct diff_list *diffs)
{
	struct diff	*d;

	if (json_error_code(err) == json_error_stack_overflow) {
		if ((d = diff_list_add(diffs, DIFF_DEPTH, "$", side)) != NULL)
			xasprintf(&d->detail, "nesting deeper than %d levels "
			    "at byte %zu", JSON_PARSER_MAX_DEPTH, offset);
		return;
	}
	if ((d = diff_list_add(diffs, DIFF_INVALID_JSON, "$", side)) != NULL)
		xasprintf(&d->detail, "%s at byte %zu", err->text, offset);
}

/*
 * Parse one side's body for comparison (new reference), adding
 * duplicate_key diffs not under an ignored path; on failure add an
 * invalid_json or depth diff and return NULL.  *marked is set when the
 * document holds marked numbers.
 */
json_t *
json_read(const char *text, size_t len, int side, struct ignore_set *ignore,
    struct diff_list *diffs, int *marked)
{
	struct json_scan	 s;
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
				json_scan_run(&s);
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
				if ((d = diff_list_add(diffs, DIFF_DUPLICATE_KEY,
				    "$", side)) != NULL)
					xasprintf(&d->detail, "%s at byte %zu",
					    err.text, json_map_offset(&s,
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
		json_read_error(side, &err, json_map_offset(&s,
		    (size_t)err.position), diffs);
		*marked = 0;
	}
	json_scan_free(&s);
	return (j);
}

/*
 * Return the text of a number json_read kept as a marked string (in a
 * document it marked), or NULL when v is not one.
 */
const char *
json_marked_number(json_t *v, int marked)
{
	if (!marked || !json_is_string(v) ||
	    json_string_length(v) <= JSON_MARK_LEN ||
	    memcmp(json_string_value(v), JSON_MARK, JSON_MARK_LEN) != 0)
		return (NULL);
	return (json_string_value(v) + JSON_MARK_LEN);
}
