/*
 * JSONPath for the compare engine: formatting the concrete paths diffs are
 * reported at, folding array indexes for signatures, and the --ignore
 * patterns that drop diffs at or under a path (DESIGN §4.2, §4.4).
 *
 * Patterns are compiled into segments whose keys are stored in the same
 * canonical text the comparer formats paths with (".name" or
 * "[\"escaped\"]"), so matching a concrete path is a comparison of byte
 * spans and never has to decode anything.
 */

#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "paritytap.h"

enum ignore_seg_type {
	IGNORE_KEY,		/* one member, by name */
	IGNORE_INDEX,		/* one array element */
	IGNORE_ANY		/* .* or [*] */
};

/* One step of a compiled pattern. */
struct ignore_seg {
	enum ignore_seg_type type;
	int		 descend;	/* reached with "..": any depth below */
	char		*text;		/* canonical path text, KEY and INDEX */
	size_t		 len;
};

/* One compiled --ignore pattern. */
struct ignore_pattern {
	struct ignore_seg *segs;
	size_t		 nsegs;
};

/* One segment of a concrete path, as a span of the path's text. */
struct path_span {
	const char	*p;
	size_t		 len;
};

/* The patterns that apply to one comparison, plus scratch for matching. */
struct ignore_set {
	struct ignore_pattern *v;
	size_t		 n;
	struct path_span *spans;
	size_t		 spans_cap;
	unsigned char	*reach;		/* DP rows for matching, 2 * (n + 1) */
	size_t		 reach_cap;
	int		 exact;		/* the path itself, not under it */
};

/* Return 1 if a key can be written in dot form: [A-Za-z_][A-Za-z0-9_]*. */
static int
jsonpath_is_ident(const char *key, size_t len)
{
	size_t	i;

	if (len == 0)
		return (0);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)key[i];

		if (c == '_' || (c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z'))
			continue;
		if (i > 0 && c >= '0' && c <= '9')
			continue;
		return (0);
	}
	return (1);
}

/* Append an object member to a path: ".key" or "[\"key\"]". */
void
jsonpath_key(struct buf *b, const char *key, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t		  i;
	char		  esc[7];

	if (jsonpath_is_ident(key, len)) {
		buf_add(b, ".", 1);
		buf_add(b, key, len);
		return;
	}
	buf_add(b, "[\"", 2);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)key[i];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			buf_add(b, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			buf_add(b, esc, 6);
		} else
			buf_add(b, &key[i], 1);
	}
	buf_add(b, "\"]", 2);
}

/* Append an array element to a path: "[N]". */
void
jsonpath_index(struct buf *b, size_t index)
{
	buf_printf(b, "[%zu]", index);
}

/*
 * Split a concrete path (as jsonpath_key/index write it) into one
 * span per segment.  Returns the number of spans, or -1 if the text is
 * not such a path.
 */
static ssize_t
jsonpath_split(struct ignore_set *set, const char *path)
{
	const char	*p = path, *start;
	size_t		 n = 0;

	if (*p++ != '$')
		return (-1);
	while (*p != '\0') {
		start = p;
		if (*p == '.') {
			p++;
			while (*p != '\0' && *p != '.' && *p != '[')
				p++;
			if (p == start + 1)
				return (-1);
		} else if (*p == '[' && p[1] == '"') {
			for (p += 2; *p != '"'; p++) {
				if (*p == '\0')
					return (-1);
				if (*p == '\\' && *++p == '\0')
					return (-1);
			}
			if (*++p != ']')
				return (-1);
			p++;
		} else if (*p == '[') {
			while (*p != '\0' && *p != ']')
				p++;
			if (*p++ != ']')
				return (-1);
		} else
			return (-1);
		if (n == set->spans_cap) {
			set->spans_cap = set->spans_cap ?
			    set->spans_cap * 2 : 16;
			set->spans = xreallocarray(set->spans, set->spans_cap,
			    sizeof *set->spans);
		}
		set->spans[n].p = start;
		set->spans[n].len = (size_t)(p - start);
		n++;
	}
	return ((ssize_t)n);
}

/* Return 1 if one pattern segment matches one concrete segment. */
static int
jsonpath_seg_match(const struct ignore_seg *seg, const struct path_span *sp)
{
	if (seg->type == IGNORE_ANY)
		return (1);
	return (seg->len == sp->len && memcmp(seg->text, sp->p, sp->len) == 0);
}

/*
 * Return 1 if a pattern matches the first spans of a path (the path itself
 * or one of its ancestors).  reach[i] says the pattern so far can end
 * after span i; ".." lets a segment skip any number of spans.
 */
static int
jsonpath_match(const struct ignore_pattern *pat, const struct path_span *sp,
    size_t n, unsigned char *cur, unsigned char *next, int exact)
{
	size_t	i, j, k;
	int	any;

	memset(cur, 0, n + 1);
	cur[0] = 1;
	for (i = 0; i < pat->nsegs; i++) {
		const struct ignore_seg *seg = &pat->segs[i];

		memset(next, 0, n + 1);
		any = 0;
		for (j = 0; j < n; j++) {
			if (!cur[j])
				continue;
			if (!seg->descend) {
				if (jsonpath_seg_match(seg, &sp[j])) {
					next[j + 1] = 1;
					any = 1;
				}
				continue;
			}
			for (k = j; k < n; k++) {
				if (jsonpath_seg_match(seg, &sp[k])) {
					next[k + 1] = 1;
					any = 1;
				}
			}
		}
		if (!any)
			return (0);
		memcpy(cur, next, n + 1);
	}
	return (exact ? cur[n] : 1);
}

/*
 * Return 1 if a concrete path is at or under one of the set's patterns
 * (at one, for a set jsonpath_set_new made).
 */
int
jsonpath_ignored(struct ignore_set *set, const char *path)
{
	ssize_t	n;
	size_t	i;

	if (set == NULL || set->n == 0 || path == NULL)
		return (0);
	if ((n = jsonpath_split(set, path)) < 0)
		return (0);
	if (set->reach_cap < 2 * ((size_t)n + 1)) {
		set->reach_cap = 2 * ((size_t)n + 1) + 32;
		set->reach = xrealloc(set->reach, set->reach_cap);
	}
	for (i = 0; i < set->n; i++) {
		if (jsonpath_match(&set->v[i], set->spans, (size_t)n,
		    set->reach, set->reach + n + 1, set->exact))
			return (1);
	}
	return (0);
}

/* Decode four hex digits at p (before end); returns -1 if they are not. */
static long
jsonpath_hex4(const char *p, const char *end)
{
	long	v = 0;
	int	i, c;

	if (end - p < 4)
		return (-1);
	for (i = 0; i < 4; i++) {
		c = (unsigned char)p[i];
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
jsonpath_utf8(struct buf *b, unsigned long cp)
{
	unsigned char	u[4];
	size_t		n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | (cp >> 6));
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | (cp >> 18));
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_add(b, u, n);
}

/* Decode one \u escape (p at the 'u'); returns the last byte used or NULL. */
static const char *
jsonpath_unicode(const char *p, const char *end, struct buf *out)
{
	long	u, lo;

	if ((u = jsonpath_hex4(p + 1, end)) < 0 ||
	    (u >= 0xdc00 && u <= 0xdfff))
		return (NULL);
	p += 4;
	if (u >= 0xd800 && u <= 0xdbff) {
		if (end - p < 7 || p[1] != '\\' || p[2] != 'u')
			return (NULL);
		lo = jsonpath_hex4(p + 3, end);
		if (lo < 0xdc00 || lo > 0xdfff)
			return (NULL);
		u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
		p += 6;
	}
	if (out != NULL)
		jsonpath_utf8(out, (unsigned long)u);
	return (p);
}

/*
 * Decode the quoted string at *pp (JSON escapes; '...' with \' too) that
 * ends before end into out (NULL: only check it).  Returns NULL with *pp
 * moved past the closing quote, or what is wrong.
 */
const char *
jsonpath_unquote(const char **pp, const char *end, struct buf *out)
{
	static const char	 from[] = "\"\\/bfnrt'";
	static const char	 to[] = "\"\\/\b\f\n\r\t'";
	const char		*p = *pp, *q;
	char			 quote = *p++;

	for (;;) {
		if (p >= end)
			return ("unterminated quoted name");
		if ((unsigned char)*p < 0x20)
			return ("control character in quoted name");
		if (*p == quote)
			break;
		if (*p != '\\') {
			if (out != NULL)
				buf_add(out, p, 1);
			p++;
			continue;
		}
		if (++p >= end)
			return ("unterminated quoted name");
		if (*p == 'u') {
			if ((p = jsonpath_unicode(p, end, out)) == NULL)
				return ("bad \\u escape");
		} else if ((q = memchr(from, *p, sizeof from - 1)) != NULL &&
		    (*p != '\'' || quote == '\'')) {
			if (out != NULL)
				buf_add(out, &to[q - from], 1);
		} else
			return ("bad escape in quoted name");
		p++;
	}
	*pp = p + 1;
	return (NULL);
}

/* Return 1 if a byte may appear in a dot-form name of a pattern. */
static int
jsonpath_name_char(unsigned char c)
{
	return (isalnum(c) || c == '_' || c == '-' || c >= 0x80);
}

/*
 * Parse the bracket expression at *pp ("[N]", "[*]", "[\"key\"]") into
 * seg and move *pp past it.  Returns NULL, or what is wrong with *pp left
 * where it is wrong.
 */
static const char *
jsonpath_bracket(const char **pp, struct ignore_seg *seg)
{
	const char		*p = *pp + 1, *why = NULL;
	struct buf		 b, key;
	unsigned long long	 idx;
	char			*end;

	buf_init(&b);
	buf_init(&key);
	if (*p == '*') {
		seg->type = IGNORE_ANY;
		p++;
	} else if (*p >= '0' && *p <= '9') {
		errno = 0;
		idx = strtoull(p, &end, 10);
		if (errno != 0 || (size_t)idx != idx) {
			why = "array index out of range";
			goto fail;
		}
		p = end;
		seg->type = IGNORE_INDEX;
		jsonpath_index(&b, (size_t)idx);
	} else if (*p == '"' || *p == '\'') {
		if ((why = jsonpath_unquote(&p, p + strlen(p), &key)) != NULL)
			goto fail;
		seg->type = IGNORE_KEY;
		jsonpath_key(&b, key.data != NULL ? key.data : "",
		    key.len);
	} else if (*p == '\0') {
		why = "unterminated bracket";
		goto fail;
	} else if (*p == '-') {
		why = "negative array index";
		goto fail;
	} else {
		why = "unsupported bracket expression (only [N], [*] and "
		    "[\"name\"])";
		goto fail;
	}
	if (*p != ']') {
		why = *p == '\0' ? "unterminated bracket" :
		    "expected ] in bracket expression";
		goto fail;
	}
	*pp = p + 1;
	if (seg->type != IGNORE_ANY) {
		seg->len = b.len;
		seg->text = buf_detach(&b);
	}
fail:
	if (why != NULL)
		*pp = p;
	buf_free(&b);
	buf_free(&key);
	return (why);
}

/*
 * Compile one pattern.  Returns 0, or -1 with *why (static text) and *at
 * (offset in the pattern) saying what is wrong.
 */
static int
jsonpath_compile(const char *pattern, struct ignore_pattern *pat,
    const char **why, size_t *at)
{
	const char	*p = pattern, *start;
	struct ignore_seg seg;
	struct buf	 b;

	memset(pat, 0, sizeof *pat);
	*why = NULL;
	if (*p != '$') {
		*why = "must start with $";
		goto fail;
	}
	p++;
	while (*p != '\0') {
		memset(&seg, 0, sizeof seg);
		if (*p == '[') {
			if ((*why = jsonpath_bracket(&p, &seg)) != NULL)
				goto fail;
		} else if (*p == '.') {
			p++;
			if (*p == '.') {
				seg.descend = 1;
				p++;
			}
			if (*p == '*') {
				seg.type = IGNORE_ANY;
				p++;
			} else if (*p == '[' && seg.descend) {
				*why = jsonpath_bracket(&p, &seg);
				if (*why != NULL)
					goto fail;
			} else {
				for (start = p; jsonpath_name_char(*p); p++)
					/* nothing */;
				if (p == start) {
					*why = *p == '\0' ?
					    "empty member name at end" :
					    "expected a member name, * or [";
					goto fail;
				}
				buf_init(&b);
				jsonpath_key(&b, start,
				    (size_t)(p - start));
				seg.type = IGNORE_KEY;
				seg.len = b.len;
				seg.text = buf_detach(&b);
				buf_free(&b);
			}
		} else {
			*why = "unexpected character (expected . or [)";
			goto fail;
		}
		pat->segs = xreallocarray(pat->segs, pat->nsegs + 1,
		    sizeof *pat->segs);
		pat->segs[pat->nsegs++] = seg;
	}
	return (0);

fail:
	*at = (size_t)(p - pattern);
	while (pat->nsegs > 0)
		free(pat->segs[--pat->nsegs].text);
	free(pat->segs);
	pat->segs = NULL;
	return (-1);
}

/* Free one compiled pattern. */
static void
jsonpath_pattern_free(struct ignore_pattern *pat)
{
	size_t	i;

	for (i = 0; i < pat->nsegs; i++)
		free(pat->segs[i].text);
	free(pat->segs);
}

/* Check an --ignore pattern; returns 0, or -1 with an allocated cause. */
int
jsonpath_valid(const char *pattern, char **cause)
{
	struct ignore_pattern	 pat;
	const char		*why;
	size_t			 at;

	if (jsonpath_compile(pattern, &pat, &why, &at) != 0) {
		if (cause != NULL)
			xasprintf(cause, "invalid ignore pattern \"%s\": %s "
			    "at offset %zu", pattern, why, at);
		return (-1);
	}
	jsonpath_pattern_free(&pat);
	return (0);
}

/* Add a list of patterns to a set; invalid ones are warned about. */
static void
jsonpath_add_patterns(struct ignore_set *set, char **v, size_t n)
{
	struct ignore_pattern	 pat;
	const char		*why;
	size_t			 i, at;

	for (i = 0; i < n; i++) {
		if (jsonpath_compile(v[i], &pat, &why, &at) != 0) {
			log_warnx("ignore pattern \"%s\" skipped: %s at "
			    "offset %zu", v[i], why, at);
			continue;
		}
		set->v = xreallocarray(set->v, set->n + 1, sizeof *set->v);
		set->v[set->n++] = pat;
	}
}

/* Compile the ignore patterns of the options and a route rule (or NULL). */
struct ignore_set *
jsonpath_ignore_new(const struct compare_opts *opts,
    const struct route_rule *rule)
{
	struct ignore_set	*set;

	set = xcalloc(1, sizeof *set);
	if (opts != NULL)
		jsonpath_add_patterns(set, opts->ignore, opts->nignore);
	if (rule != NULL)
		jsonpath_add_patterns(set, rule->rr_ignore, rule->rr_nignore);
	return (set);
}

/*
 * Compile two lists of patterns (either may be empty) into one set, for
 * path lists other than the ignores: --unordered.
 */
struct ignore_set *
jsonpath_set_new(char **a, size_t na, char **b, size_t nb)
{
	struct ignore_set	*set;

	set = xcalloc(1, sizeof *set);
	set->exact = 1;
	jsonpath_add_patterns(set, a, na);
	jsonpath_add_patterns(set, b, nb);
	return (set);
}

/* Return 1 if a set (or NULL) holds no pattern. */
int
jsonpath_set_empty(const struct ignore_set *set)
{
	return (set == NULL || set->n == 0);
}

/* Free an ignore set. */
void
jsonpath_ignore_free(struct ignore_set *set)
{
	size_t	i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		jsonpath_pattern_free(&set->v[i]);
	free(set->v);
	free(set->spans);
	free(set->reach);
	free(set);
}

/* Copy a path with every array index folded to [*]; NULL gives NULL. */
char *
jsonpath_fold(const char *path)
{
	struct buf	 b;
	const char	*p, *q;
	char		*out;

	if (path == NULL)
		return (NULL);
	buf_init(&b);
	for (p = path; *p != '\0'; p = q) {
		q = p + 1;
		if (*p == '[' && p[1] == '"') {
			for (q = p + 2; *q != '\0' && *q != '"'; q++) {
				if (*q == '\\' && q[1] != '\0')
					q++;
			}
			if (*q == '"')
				q++;
			buf_add(&b, p, (size_t)(q - p));
			continue;
		}
		if (*p == '[' && p[1] >= '0' && p[1] <= '9') {
			for (q = p + 1; *q >= '0' && *q <= '9'; q++)
				/* nothing */;
			if (*q == ']') {
				buf_add(&b, "[*]", 3);
				q++;
				continue;
			}
		}
		buf_add(&b, p, (size_t)(q - p));
	}
	out = buf_detach(&b);
	buf_free(&b);
	return (out);
}

/*
 * Compare two paths as strcmp does, except that array indexes compare as
 * numbers, so $.a[2] sorts before $.a[10].
 */
int
jsonpath_cmp(const char *a, const char *b)
{
	size_t	 la, lb;
	int	 c;

	while (*a != '\0' && *b != '\0') {
		if (a[0] == '[' && b[0] == '[' && isdigit((unsigned char)a[1]) &&
		    isdigit((unsigned char)b[1])) {
			la = strspn(a + 1, "0123456789");
			lb = strspn(b + 1, "0123456789");
			/* Indexes have no leading zero: longer is larger. */
			if (la != lb)
				return (la < lb ? -1 : 1);
			if ((c = strncmp(a + 1, b + 1, la)) != 0)
				return (c < 0 ? -1 : 1);
			a += 1 + la;
			b += 1 + lb;
			continue;
		}
		if (*a != *b)
			return ((unsigned char)*a < (unsigned char)*b ? -1 : 1);
		a++;
		b++;
	}
	return ((*a != '\0') - (*b != '\0'));
}
