/*
 * The tolerant JSON reader of the compare stage.  Bodies are parsed here,
 * in one pass, into jansson values, so that nothing a backend can send is
 * an error of ours:
 *
 * - duplicate keys are all recorded (object path and key bytes), whatever
 *   the diff cap, and the last value wins, as in most parsers;
 * - numbers beyond what jansson holds (outside long long, or reals that
 *   overflow a double) are kept as their text in string values that the
 *   document lists by address, so no string a backend sends can pass for
 *   one;
 * - keys may hold U+0000 (valid JSON), which jansson's own parser refuses;
 * - a raw NUL byte anywhere outside a string is invalid, as RFC 8259
 *   says (jansson's parser drops one after a number);
 * - nesting deeper than jansson's limit is a depth error, not a crash.
 */

#include <sys/types.h>

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "paritytap.h"

#define JSON_RENDER	80

/* One open container while parsing. */
struct json_frame {
	json_t		*c;
	int		 object;
	size_t		 index;		/* arrays: the current element */
	struct buf	 key;		/* objects: the current key */
	size_t		 dups;		/* doc->ndups when the object opened */
};

/* The state of one parse. */
struct json_parse {
	const char	*text;
	size_t		 len;
	size_t		 pos;
	struct json_doc	*doc;
	struct json_frame *frames;
	size_t		 depth;
	size_t		 nframes;	/* initialized */
	size_t		 cap;		/* allocated */
	char		 point;		/* the locale's decimal point */
	struct buf	 str;		/* scratch for string values */
};

/* Record why the document does not parse; returns -1. */
static int printflike(3, 4)
json_parse_fail(struct json_parse *p, size_t at, const char *fmt, ...)
{
	va_list	 ap;

	if (p->doc->error == NULL) {
		va_start(ap, fmt);
		xvasprintf(&p->doc->error, fmt, ap);
		va_end(ap);
		p->doc->error_offset = at;
	}
	return (-1);
}

/* Describe the byte at the parse position for an error message. */
static int
json_parse_unexpected(struct json_parse *p, const char *what)
{
	unsigned char	c;

	if (p->pos >= p->len)
		return (json_parse_fail(p, p->len, "%s expected near end of input",
		    what));
	c = (unsigned char)p->text[p->pos];
	if (c == '\0')
		return (json_parse_fail(p, p->pos + 1, "NUL byte outside a string"));
	if (c < 0x20 || c >= 0x7f)
		return (json_parse_fail(p, p->pos + 1, "%s expected near byte "
		    "0x%02x", what, c));
	return (json_parse_fail(p, p->pos + 1, "%s expected near '%c'", what, c));
}

/* Skip JSON white space. */
static void
json_skip_ws(struct json_parse *p)
{
	const char	*t = p->text;

	while (p->pos < p->len && (t[p->pos] == ' ' || t[p->pos] == '\n' ||
	    t[p->pos] == '\r' || t[p->pos] == '\t'))
		p->pos++;
}

/* Read four hex digits at t; -1 if they are not. */
static long
json_hex4(const char *t, size_t left)
{
	long	v = 0;
	size_t	i;
	char	c;

	if (left < 4)
		return (-1);
	for (i = 0; i < 4; i++) {
		c = t[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return (-1);
	}
	return (v);
}

/* Append a code point as UTF-8. */
static void
json_add_utf8(struct buf *b, unsigned long u)
{
	unsigned char	s[4];
	size_t		n;

	if (u < 0x80) {
		s[0] = (unsigned char)u;
		n = 1;
	} else if (u < 0x800) {
		s[0] = 0xc0 | (unsigned char)(u >> 6);
		s[1] = 0x80 | (u & 0x3f);
		n = 2;
	} else if (u < 0x10000) {
		s[0] = 0xe0 | (unsigned char)(u >> 12);
		s[1] = 0x80 | ((u >> 6) & 0x3f);
		s[2] = 0x80 | (u & 0x3f);
		n = 3;
	} else {
		s[0] = 0xf0 | (unsigned char)(u >> 18);
		s[1] = 0x80 | ((u >> 12) & 0x3f);
		s[2] = 0x80 | ((u >> 6) & 0x3f);
		s[3] = 0x80 | (u & 0x3f);
		n = 4;
	}
	buf_add(b, s, n);
}

/*
 * Return the length of the well-formed UTF-8 sequence at s (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0.
 */
static size_t
json_utf8_valid(const unsigned char *s, size_t left)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	size_t		n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return (0);
	if (left < n || s[1] < lo || s[1] > hi)
		return (0);
	for (i = 2; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return (0);
	}
	return (n);
}

/*
 * Decode the string at the parse position (its opening quote) into out
 * (reset first).  Returns 0, or -1 with the error set.
 */
static int
json_parse_string(struct json_parse *p, struct buf *out)
{
	static const char	 from[] = "\"\\/bfnrt";
	static const char	 to[] = "\"\\/\b\f\n\r\t";
	const unsigned char	*t = (const unsigned char *)p->text;
	const char		*q;
	size_t			 i = p->pos + 1, run, n;
	long			 u, lo;

	buf_reset(out);
	for (;;) {
		/* Plain ASCII goes in as one piece. */
		for (run = i; i < p->len && t[i] >= 0x20 && t[i] < 0x80 &&
		    t[i] != '"' && t[i] != '\\'; i++)
			/* nothing */;
		if (i > run)
			buf_add(out, t + run, i - run);
		if (i >= p->len)
			return (json_parse_fail(p, p->len, "unterminated string"));
		if (t[i] == '"')
			break;
		if (t[i] < 0x20)
			return (json_parse_fail(p, i + 1, "control character 0x%02x "
			    "in a string", t[i]));
		if (t[i] >= 0x80) {
			if ((n = json_utf8_valid(t + i, p->len - i)) == 0)
				return (json_parse_fail(p, i + 1, "invalid UTF-8 in "
				    "a string"));
			buf_add(out, t + i, n);
			i += n;
			continue;
		}
		/* A backslash. */
		if (++i >= p->len)
			return (json_parse_fail(p, p->len, "unterminated string"));
		if (t[i] != 'u') {
			if (t[i] == '\0' || (q = memchr(from, t[i],
			    sizeof from - 1)) == NULL)
				return (json_parse_fail(p, i + 1, "invalid escape "
				    "in a string"));
			buf_add(out, &to[q - from], 1);
			i++;
			continue;
		}
		if ((u = json_hex4(p->text + i + 1, p->len - i - 1)) < 0)
			return (json_parse_fail(p, i + 1, "invalid \\u escape"));
		i += 5;
		if (u >= 0xdc00 && u <= 0xdfff)
			return (json_parse_fail(p, i, "lone low surrogate \\u%04lx",
			    u));
		if (u >= 0xd800 && u <= 0xdbff) {
			if (p->len - i < 6 || t[i] != '\\' || t[i + 1] != 'u' ||
			    (lo = json_hex4(p->text + i + 2, 4)) < 0xdc00 ||
			    lo > 0xdfff)
				return (json_parse_fail(p, i, "lone high surrogate "
				    "\\u%04lx", u));
			u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
			i += 6;
		}
		json_add_utf8(out, (unsigned long)u);
	}
	p->pos = i + 1;
	return (0);
}

/* Keep a number jansson cannot hold as its text, listed in the document. */
static json_t *
json_big_number(struct json_parse *p, const char *tok, size_t len)
{
	struct json_doc	*doc = p->doc;
	json_t		*v;

	v = json_stringn_nocheck(tok, len);
	if (v == NULL)
		fatalx("%s: out of memory", __func__);
	/*
	 * The list holds a reference: a value a duplicate key replaces is
	 * freed from the tree, and its address must not come back as a
	 * string's while the list names it.
	 */
	doc->big = xreallocarray(doc->big, doc->nbig + 1, sizeof *doc->big);
	doc->big[doc->nbig++] = json_incref(v);
	return (v);
}

/* Parse the number at the parse position into *vp; 0 or -1. */
static int
json_parse_number(struct json_parse *p, json_t **vp)
{
	const char	*t = p->text;
	size_t		 start = p->pos, i = p->pos, len;
	int		 real = 0;
	char		 small[64], *copy, *end;
	long long	 ll;
	double		 d;

#define DIGIT(k) ((k) < p->len && t[k] >= '0' && t[k] <= '9')
	if (i < p->len && t[i] == '-')
		i++;
	if (i < p->len && t[i] == '0')
		i++;
	else if (DIGIT(i)) {
		while (DIGIT(i))
			i++;
	} else {
		p->pos = i;
		return (json_parse_unexpected(p, "digit"));
	}
	if (i < p->len && t[i] == '.') {
		real = 1;
		i++;
		if (!DIGIT(i)) {
			p->pos = i;
			return (json_parse_unexpected(p, "digit"));
		}
		while (DIGIT(i))
			i++;
	}
	if (i < p->len && (t[i] == 'e' || t[i] == 'E')) {
		real = 1;
		i++;
		if (i < p->len && (t[i] == '+' || t[i] == '-'))
			i++;
		if (!DIGIT(i)) {
			p->pos = i;
			return (json_parse_unexpected(p, "digit"));
		}
		while (DIGIT(i))
			i++;
	}
#undef DIGIT
	p->pos = i;
	len = i - start;
	copy = len < sizeof small ? small : xmalloc(len + 1);
	memcpy(copy, t + start, len);
	copy[len] = '\0';
	errno = 0;
	if (!real) {
		ll = strtoll(copy, &end, 10);
		if (errno == ERANGE)
			*vp = json_big_number(p, t + start, len);
		else
			*vp = json_integer((json_int_t)ll);
	} else {
		/* strtod reads the locale's decimal point. */
		if (p->point != '.' && (end = strchr(copy, '.')) != NULL)
			*end = p->point;
		d = strtod(copy, &end);
		if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL))
			*vp = json_big_number(p, t + start, len);
		else
			*vp = json_real(d);
	}
	if (copy != small)
		free(copy);
	if (*vp == NULL)
		fatalx("%s: out of memory", __func__);
	return (0);
}

/* Parse true, false or null into *vp; 0 or -1. */
static int
json_parse_literal(struct json_parse *p, json_t **vp)
{
	static const char	*lit[] = { "true", "false", "null" };
	size_t			 i, n;

	for (i = 0; i < 3; i++) {
		n = strlen(lit[i]);
		if (p->len - p->pos >= n &&
		    memcmp(p->text + p->pos, lit[i], n) == 0) {
			p->pos += n;
			*vp = i == 0 ? json_true() : i == 1 ? json_false() :
			    json_null();
			return (0);
		}
	}
	return (json_parse_unexpected(p, "value"));
}

/* Format the path of the object in the top frame into b. */
static void
json_frame_path(struct json_parse *p, struct buf *b)
{
	size_t	i;

	buf_reset(b);
	buf_addstr(b, "$");
	for (i = 0; i + 1 < p->depth; i++) {
		if (p->frames[i].object)
			jsonpath_key(b, p->frames[i].key.data != NULL ?
			    p->frames[i].key.data : "", p->frames[i].key.len);
		else
			jsonpath_index(b, p->frames[i].index);
	}
}

/*
 * The key in the top frame is already in its object: record it, once per
 * key and object.
 */
static void
json_parse_dup(struct json_parse *p, size_t offset)
{
	struct json_frame	*f = &p->frames[p->depth - 1];
	struct json_doc		*doc = p->doc;
	struct json_dup		*d;
	struct buf		 path;
	size_t			 i;

	buf_init(&path);
	json_frame_path(p, &path);
	/* Objects inside this one record theirs after f->dups too. */
	for (i = f->dups; i < doc->ndups; i++) {
		/* An empty key has no buffer: memcmp takes no NULL. */
		if (doc->dups[i].keylen == f->key.len && (f->key.len == 0 ||
		    memcmp(doc->dups[i].key, f->key.data, f->key.len) == 0) &&
		    strcmp(doc->dups[i].path, path.data) == 0) {
			buf_free(&path);
			return;
		}
	}
	doc->dups = xreallocarray(doc->dups, doc->ndups + 1,
	    sizeof *doc->dups);
	d = &doc->dups[doc->ndups++];
	d->path = buf_detach(&path);
	d->keylen = f->key.len;
	d->key = xmalloc(f->key.len + 1);
	if (f->key.len != 0)
		memcpy(d->key, f->key.data, f->key.len);
	d->key[f->key.len] = '\0';
	d->offset = offset;
}

/* Open a container at the parse position; 0, or -1 past the depth limit. */
static int
json_parse_push(struct json_parse *p, int object)
{
	struct json_frame	*f;

	if (p->depth >= JSON_PARSER_MAX_DEPTH) {
		p->doc->too_deep = 1;
		return (json_parse_fail(p, p->pos + 1, "nesting deeper than %d "
		    "levels", JSON_PARSER_MAX_DEPTH));
	}
	if (p->depth == p->nframes) {
		if (p->nframes == p->cap) {
			p->cap = p->cap != 0 ? p->cap * 2 : 16;
			p->frames = xreallocarray(p->frames, p->cap,
			    sizeof *p->frames);
		}
		buf_init(&p->frames[p->nframes++].key);
	}
	f = &p->frames[p->depth++];
	f->c = object ? json_object() : json_array();
	if (f->c == NULL)
		fatalx("%s: out of memory", __func__);
	f->object = object;
	f->index = 0;
	f->dups = p->doc->ndups;
	p->pos++;
	return (0);
}

/*
 * Add a finished value to the container in the top frame, or make it the
 * document's root.
 */
static void
json_parse_attach(struct json_parse *p, json_t *v)
{
	struct json_frame	*f;

	if (p->depth == 0) {
		p->doc->root = v;
		return;
	}
	f = &p->frames[p->depth - 1];
	if (f->object) {
		/* Keys were checked as they were decoded. */
		if (json_object_setn_new_nocheck(f->c, f->key.data != NULL ?
		    f->key.data : "", f->key.len, v) != 0)
			fatalx("%s: json_object_setn failed", __func__);
	} else if (json_array_append_new(f->c, v) != 0)
		fatalx("%s: json_array_append failed", __func__);
}

/* Parse an object key and its colon into the top frame; 0 or -1. */
static int
json_parse_key(struct json_parse *p)
{
	struct json_frame	*f = &p->frames[p->depth - 1];
	size_t			 offset;

	json_skip_ws(p);
	if (p->pos >= p->len || p->text[p->pos] != '"')
		return (json_parse_unexpected(p, "string or '}'"));
	offset = p->pos;
	if (json_parse_string(p, &f->key) != 0)
		return (-1);
	if (json_object_getn(f->c, f->key.data != NULL ? f->key.data : "",
	    f->key.len) != NULL)
		json_parse_dup(p, offset);
	json_skip_ws(p);
	if (p->pos >= p->len || p->text[p->pos] != ':')
		return (json_parse_unexpected(p, "':'"));
	p->pos++;
	return (0);
}

/* Walk the document without recursion, building its values. */
static int
json_parse_run(struct json_parse *p)
{
	struct json_frame	*f;
	json_t			*v;
	char			 c;

	for (;;) {
		/* A value. */
		json_skip_ws(p);
		if (p->pos >= p->len)
			return (json_parse_unexpected(p, "value"));
		c = p->text[p->pos];
		v = NULL;
		if (c == '{' || c == '[') {
			if (json_parse_push(p, c == '{') != 0)
				return (-1);
			json_skip_ws(p);
			if (p->pos < p->len &&
			    p->text[p->pos] == (c == '{' ? '}' : ']')) {
				p->pos++;
				v = p->frames[--p->depth].c;
			} else if (c == '{') {
				if (json_parse_key(p) != 0)
					return (-1);
				continue;
			} else
				continue;
		} else if (c == '"') {
			if (json_parse_string(p, &p->str) != 0)
				return (-1);
			v = json_stringn_nocheck(p->str.data != NULL ?
			    p->str.data : "", p->str.len);
			if (v == NULL)
				fatalx("%s: out of memory", __func__);
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			if (json_parse_number(p, &v) != 0)
				return (-1);
		} else if (json_parse_literal(p, &v) != 0)
			return (-1);

		/* Attach it, then close what it ends. */
		for (;;) {
			json_parse_attach(p, v);
			if (p->depth == 0)
				return (0);
			f = &p->frames[p->depth - 1];
			json_skip_ws(p);
			if (p->pos < p->len && p->text[p->pos] == ',') {
				p->pos++;
				if (f->object && json_parse_key(p) != 0)
					return (-1);
				if (!f->object)
					f->index++;
				break;
			}
			if (p->pos < p->len &&
			    p->text[p->pos] == (f->object ? '}' : ']')) {
				p->pos++;
				v = f->c;
				p->depth--;
				continue;
			}
			return (json_parse_unexpected(p, f->object ? "',' or '}'" :
			    "',' or ']'"));
		}
	}
}

/* Order values by address, for finding big numbers. */
static int
json_ptr_cmp(const void *a, const void *b)
{
	uintptr_t	x = (uintptr_t)*(json_t * const *)a;
	uintptr_t	y = (uintptr_t)*(json_t * const *)b;

	return (x < y ? -1 : x > y);
}

/*
 * Parse a document into doc (zeroed here).  Returns 0, or -1 with
 * doc->error and doc->error_offset saying why (doc->too_deep for nesting
 * past the limit); the duplicate keys found before the error are kept.
 */
int
json_doc_read(struct json_doc *doc, const char *text, size_t len)
{
	struct json_parse	 p;
	const char		*point = localeconv()->decimal_point;
	size_t			 i;
	int			 rc;

	memset(doc, 0, sizeof *doc);
	memset(&p, 0, sizeof p);
	p.text = text;
	p.len = len;
	p.doc = doc;
	p.point = point != NULL && point[0] != '\0' ? point[0] : '.';
	buf_init(&p.str);
	rc = json_parse_run(&p);
	if (rc == 0) {
		json_skip_ws(&p);
		if (p.pos < p.len)
			rc = json_parse_unexpected(&p, "end of input");
	}
	if (rc != 0) {
		json_decref(doc->root);
		doc->root = NULL;
		for (i = 0; i < p.depth; i++)
			json_decref(p.frames[i].c);
	}
	for (i = 0; i < p.nframes; i++)
		buf_free(&p.frames[i].key);
	free(p.frames);
	buf_free(&p.str);
	if (rc != 0) {
		for (i = 0; i < doc->nbig; i++)
			json_decref(doc->big[i]);
		free(doc->big);
		doc->big = NULL;
		doc->nbig = 0;
	} else if (doc->nbig > 1)
		qsort(doc->big, doc->nbig, sizeof *doc->big, json_ptr_cmp);
	return (rc);
}

/* Free what a parsed document holds. */
void
json_doc_free(struct json_doc *doc)
{
	size_t	i;

	json_decref(doc->root);
	for (i = 0; i < doc->nbig; i++)
		json_decref(doc->big[i]);
	free(doc->big);
	for (i = 0; i < doc->ndups; i++) {
		free(doc->dups[i].path);
		free(doc->dups[i].key);
	}
	free(doc->dups);
	free(doc->error);
	memset(doc, 0, sizeof *doc);
}

/*
 * Return the text of a number of doc that jansson cannot hold, with its
 * length in *len (may be NULL), or NULL when v is not one.
 */
const char *
json_doc_number(const struct json_doc *doc, json_t *v, size_t *len)
{
	if (doc->nbig == 0 || !json_is_string(v) ||
	    bsearch(&v, doc->big, doc->nbig, sizeof *doc->big,
	    json_ptr_cmp) == NULL)
		return (NULL);
	if (len != NULL)
		*len = json_string_length(v);
	return (json_string_value(v));
}

/* Add the invalid_json or depth diff of a side that does not parse. */
void
json_doc_error(const struct json_doc *doc, int side, struct diff_list *diffs)
{
	struct diff	*d;

	d = diff_list_add(diffs, doc->too_deep ? DIFF_DEPTH :
	    DIFF_INVALID_JSON, "$", side);
	if (d != NULL)
		xasprintf(&d->detail, "%s at byte %zu", doc->error,
		    doc->error_offset);
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
