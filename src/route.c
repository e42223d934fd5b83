/* Routes: "METHOD /templated/path", the key reports and metrics group by. */

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "paritytap.h"

/* Shortest hex and base64-looking segments taken for ids. */
#define ROUTE_HEX_MIN		16
#define ROUTE_BASE64_MIN	20

/* Find the path in a request target: no scheme, host, query or fragment. */
static void
route_path(const char *target, const char **path, size_t *len)
{
	const char	*p = target != NULL ? target : "";

	if (strncasecmp(p, "http://", 7) == 0)
		p += 7;
	else if (strncasecmp(p, "https://", 8) == 0)
		p += 8;
	else
		goto out;
	p += strcspn(p, "/?#");
out:
	*path = p;
	*len = strcspn(p, "?#");
}

/*
 * Take the next '/'-separated segment of [*p, end) into seg and seglen
 * and advance *p past it; return 0 when there is none left.  A path "/a/"
 * is the segments "a" and "", so a trailing slash is a segment of its own.
 */
static int
route_next_segment(const char **p, const char *end, int *first,
    const char **seg, size_t *seglen)
{
	const char	*slash;

	if (*first) {
		*first = 0;
		if (*p < end && **p == '/')
			(*p)++;
	} else {
		if (*p >= end)
			return (0);
		(*p)++;		/* the '/' ending the previous segment */
	}
	if (*p > end)
		return (0);
	slash = memchr(*p, '/', end - *p);
	*seg = *p;
	*seglen = (slash != NULL ? slash : end) - *p;
	*p += *seglen;
	return (1);
}

/* Is the segment all decimal digits? */
static int
route_is_digits(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return (0);
	}
	return (n != 0);
}

/* Is the segment all hex digits, at least min of them? */
static int
route_is_hex(const char *s, size_t n, size_t min)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return (0);
	}
	return (n != 0 && n >= min);
}

/* Is the segment a UUID, 8-4-4-4-12 hex digits in any case? */
static int
route_is_uuid(const char *s, size_t n)
{
	static const size_t	 dash[] = { 8, 13, 18, 23 };
	size_t			 i, d = 0;

	if (n != 36)
		return (0);
	for (i = 0; i < n; i++) {
		if (d < 4 && i == dash[d]) {
			if (s[i] != '-')
				return (0);
			d++;
		} else if (!isxdigit((unsigned char)s[i]))
			return (0);
	}
	return (1);
}

/*
 * Does the segment look like base64 or base64url: at least
 * ROUTE_BASE64_MIN characters of the alphabet with trailing '=' padding
 * only, and at least one digit?  A lowercase slug with '-' or '_'
 * ("release-notes-2024-edition") is a name, not an id: random base64
 * of this length practically always has an uppercase letter.
 */
static int
route_is_base64(const char *s, size_t n)
{
	size_t	 i, pad = 0;
	int	 digit = 0, upper = 0, sep = 0;

	if (n < ROUTE_BASE64_MIN)
		return (0);
	for (i = 0; i < n; i++) {
		unsigned char	 c = s[i];

		if (c == '=') {
			pad++;
			continue;
		}
		if (pad != 0)
			return (0);
		if (isdigit(c))
			digit = 1;
		else if (isupper(c))
			upper = 1;
		else if (c == '-' || c == '_')
			sep = 1;
		else if (c != '+' && !islower(c))
			return (0);
	}
	if (pad > 2 || !digit)
		return (0);
	return (upper || !sep);
}

/* Does a path segment stand for an id, to be templated as "{id}"? */
static int
route_is_id(const char *s, size_t n)
{
	return (route_is_digits(s, n) || route_is_uuid(s, n) ||
	    route_is_hex(s, n, ROUTE_HEX_MIN) || route_is_base64(s, n));
}

/*
 * Does a user route ("GET /users/{name}/posts", "* /health") match the
 * request: the same method or "*", the same number of segments, literal
 * segments equal and "{...}" segments any non-empty segment?
 */
static int
route_rule_matches(const char *rule, const char *method, const char *path,
    size_t plen)
{
	const char	*sp, *rp, *rend, *qp, *qend, *rseg, *qseg;
	size_t		 rlen, qlen;
	int		 rfirst = 1, qfirst = 1, rmore, qmore;

	if (rule == NULL || (sp = strchr(rule, ' ')) == NULL)
		return (0);
	if (!(sp - rule == 1 && *rule == '*') &&
	    (strlen(method) != (size_t)(sp - rule) ||
	    strncmp(rule, method, sp - rule) != 0))
		return (0);
	rp = sp + strspn(sp, " ");
	rend = rp + strlen(rp);
	qp = path;
	qend = path + plen;
	for (;;) {
		rmore = route_next_segment(&rp, rend, &rfirst, &rseg, &rlen);
		qmore = route_next_segment(&qp, qend, &qfirst, &qseg, &qlen);
		if (!rmore || !qmore)
			return (rmore == qmore);
		if (rlen >= 2 && rseg[0] == '{' && rseg[rlen - 1] == '}') {
			if (qlen == 0)
				return (0);
		} else if (rlen != qlen || memcmp(rseg, qseg, rlen) != 0)
			return (0);
	}
}

/*
 * Return the route of a request, allocated: the first user route that
 * matches it exactly as written, else "METHOD /path" with id-looking
 * segments replaced by "{id}".
 */
char *
route_template(const char *method, const char *target,
    const struct route_rule *rules, size_t nrules)
{
	struct buf	 b;
	const char	*path, *p, *end, *seg;
	size_t		 plen, seglen, i;
	int		 first = 1;

	if (method == NULL || *method == '\0')
		method = "-";
	route_path(target, &path, &plen);
	for (i = 0; i < nrules; i++) {
		if (route_rule_matches(rules[i].rr_route, method, path, plen))
			return (xstrdup(rules[i].rr_route));
	}

	buf_init(&b);
	buf_addstr(&b, method);
	buf_add(&b, " ", 1);
	if (plen == 1 && *path == '*') {
		buf_addstr(&b, "*");
		return (buf_detach(&b));
	}
	p = path;
	end = path + plen;
	while (route_next_segment(&p, end, &first, &seg, &seglen)) {
		buf_addstr(&b, "/");
		if (route_is_id(seg, seglen))
			buf_addstr(&b, "{id}");
		else
			buf_add(&b, seg, seglen);
	}
	return (buf_detach(&b));
}
