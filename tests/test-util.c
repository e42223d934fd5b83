/* Unit tests: route templates, trace ids, the config file, util.c helpers. */

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "paritytap.h"
#include "tap.h"

/* route_template */

static const struct route_case {
	const char	*name;
	const char	*method;
	const char	*target;
	const char	*want;
} route_cases[] = {
	{ "root", "GET", "/", "GET /" },
	{ "empty target", "GET", "", "GET /" },
	{ "query only", "GET", "?a=1", "GET /" },
	{ "literal path", "GET", "/v1/users", "GET /v1/users" },
	{ "numeric", "GET", "/users/42", "GET /users/{id}" },
	{ "numeric zero", "GET", "/users/0", "GET /users/{id}" },
	{ "two numerics", "GET", "/orders/7/items/12",
	    "GET /orders/{id}/items/{id}" },
	{ "version word kept", "GET", "/v2/items", "GET /v2/items" },
	{ "uuid lowercase", "GET",
	    "/s/123e4567-e89b-12d3-a456-426614174000/x", "GET /s/{id}/x" },
	{ "uuid uppercase", "DELETE",
	    "/s/123E4567-E89B-12D3-A456-426614174000", "DELETE /s/{id}" },
	{ "uuid one short", "GET",
	    "/s/123e4567-e89b-12d3-a456-42661417400",
	    "GET /s/123e4567-e89b-12d3-a456-42661417400" },
	{ "hex 16", "GET", "/blobs/0123456789abcdef", "GET /blobs/{id}" },
	{ "hex 40 mixed case", "GET",
	    "/commits/DA39A3EE5E6B4B0D3255bfef95601890afd80709",
	    "GET /commits/{id}" },
	{ "hex 15 kept", "GET", "/blobs/0123456789abcde",
	    "GET /blobs/0123456789abcde" },
	{ "hex-only word 16", "GET", "/x/deadbeefcafebabe", "GET /x/{id}" },
	{ "base64 padded", "GET", "/tokens/dGhpcyBpcyBhIHRlc3Q0Mg==",
	    "GET /tokens/{id}" },
	{ "base64url", "GET", "/s/aGVsbG8td29ybGQ_MTIz-XyZ", "GET /s/{id}" },
	{ "base64 plus", "GET", "/s/ab+CD12efGH34ijKL56mn", "GET /s/{id}" },
	{ "ulid", "GET", "/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV",
	    "GET /runs/{id}" },
	{ "base64 19 kept", "GET", "/s/aGVsbG8td29ybGQ1MjM",
	    "GET /s/aGVsbG8td29ybGQ1MjM" },
	{ "long word without digit kept", "GET",
	    "/docs/AbcdefghijklmnopqrstUv", "GET /docs/AbcdefghijklmnopqrstUv" },
	{ "slug kept", "GET", "/posts/release-notes-2024-edition",
	    "GET /posts/release-notes-2024-edition" },
	{ "snake slug kept", "GET", "/r/user_settings_v2_backup_2024",
	    "GET /r/user_settings_v2_backup_2024" },
	{ "padding in the middle kept", "GET", "/s/aGVsbG8=d29ybGQ1MTIzNDU2",
	    "GET /s/aGVsbG8=d29ybGQ1MTIzNDU2" },
	{ "query stripped", "POST", "/users/42?x=1&y=2", "POST /users/{id}" },
	{ "fragment stripped", "GET", "/a/b#frag", "GET /a/b" },
	{ "query with slash", "GET", "/a?next=/b/1", "GET /a" },
	{ "trailing slash kept", "GET", "/users/42/", "GET /users/{id}/" },
	{ "empty segment kept", "GET", "//a//7", "GET //a//{id}" },
	{ "absolute form", "GET", "http://example.com:8080/users/42?q=1",
	    "GET /users/{id}" },
	{ "absolute form no path", "GET", "https://example.com", "GET /" },
	{ "asterisk form", "OPTIONS", "*", "OPTIONS *" },
	{ "user pattern wins", "GET", "/users/alice/posts",
	    "GET /users/{name}/posts" },
	{ "user pattern beats {id}", "GET", "/users/42/posts",
	    "GET /users/{name}/posts" },
	{ "user literal route", "POST", "/v1/validate?strict=1",
	    "POST /v1/validate" },
	{ "user pattern other method", "DELETE", "/users/alice/posts",
	    "DELETE /users/alice/posts" },
	{ "user pattern more segments", "GET", "/users/alice/posts/3",
	    "GET /users/alice/posts/{id}" },
	{ "user pattern fewer segments", "GET", "/users/alice",
	    "GET /users/alice" },
	{ "user placeholder needs a segment", "GET", "/users//posts",
	    "GET /users//posts" },
	{ "user pattern trailing slash differs", "POST", "/v1/validate/",
	    "POST /v1/validate/" },
	{ "user * method HEAD", "HEAD", "/health/db", "* /health/{check}" },
	{ "user * method POST", "POST", "/health/7", "* /health/{check}" },
	{ "first matching rule wins", "PUT", "/items/1", "PUT /items/{n}" },
};

static struct route_rule route_rules[] = {
	{ .rr_route = "GET /users/{name}/posts" },
	{ .rr_route = "POST /v1/validate" },
	{ .rr_route = "* /health/{check}" },
	{ .rr_route = "PUT /items/{n}" },
	{ .rr_route = "* /items/{m}" },
	{ .rr_route = "malformed" },
};

/* Check route_template over the table, with the user routes above. */
static void
test_route(void)
{
	const struct route_case	*c;
	size_t			 i, nrules;
	char			*got;

	nrules = sizeof route_rules / sizeof route_rules[0];
	for (i = 0; i < sizeof route_cases / sizeof route_cases[0]; i++) {
		c = &route_cases[i];
		got = route_template(c->method, c->target, route_rules, nrules);
		is_str(got, c->want, "route: %s", c->name);
		free(got);
	}
	got = route_template("GET", "/users/alice/posts", NULL, 0);
	is_str(got, "GET /users/alice/posts", "route: no rules");
	free(got);
}

/* trace */

/* Is s exactly "<16 lowercase hex>-<8 lowercase hex>"? */
static int
minted_shape(const char *s)
{
	size_t	 i;

	if (strlen(s) != 25 || s[16] != '-')
		return (0);
	for (i = 0; i < 25; i++) {
		if (i == 16)
			continue;
		if (!isdigit((unsigned char)s[i]) &&
		    (s[i] < 'a' || s[i] > 'f'))
			return (0);
	}
	return (1);
}

static const struct trace_valid_case {
	const char	*name;
	const char	*id;
	int		 want;
} trace_valid_cases[] = {
	{ "minted form", "18abbabdc2306a83-c2306aa9", 1 },
	{ "one char", "a", 1 },
	{ "punctuation allowed", "req:1/2+3=4.5_6-7", 1 },
	{ "empty", "", 0 },
	{ "space", "a b", 0 },
	{ "tab", "a\tb", 0 },
	{ "newline", "a\nb", 0 },
	{ "double quote", "a\"b", 0 },
	{ "single quote", "a'b", 0 },
	{ "backslash", "a\\b", 0 },
	{ "DEL", "a\x7f", 0 },
	{ "non-ASCII", "caf\xc3\xa9", 0 },
	{ "comma", "a,b", 0 },
};

static const struct traceparent_case {
	const char	*name;
	const char	*value;
	const char	*want;		/* NULL: rejected */
} traceparent_cases[] = {
	{ "valid", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	    "4bf92f3577b34da6a3ce929d0e0e4736" },
	{ "flags 00", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
	    "4bf92f3577b34da6a3ce929d0e0e4736" },
	{ "future version with more fields",
	    "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz",
	    "4bf92f3577b34da6a3ce929d0e0e4736" },
	{ "all-zero trace id",
	    "00-00000000000000000000000000000000-00f067aa0ba902b7-01", NULL },
	{ "all-zero parent id",
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", NULL },
	{ "uppercase hex",
	    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", NULL },
	{ "version ff",
	    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", NULL },
	{ "version 00 with more fields",
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz", NULL },
	{ "future version junk after flags",
	    "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01xyz", NULL },
	{ "short trace id",
	    "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", NULL },
	{ "non-hex", "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
	    NULL },
	{ "wrong separator",
	    "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01", NULL },
	{ "empty", "", NULL },
	{ "garbage", "hello", NULL },
};

/* Check minting, validation, traceparent parsing and the choice of id. */
static void
test_trace(void)
{
	char			 a[64], b[64], prev[64], small[10];
	char			 big[200];
	char			 out[TRACE_ID_MAX + 1];
	struct headers		 hs;
	struct timespec		 ts;
	unsigned long long	 ns, now;
	size_t			 i;
	int			 ordered = 1, shaped = 1;

	trace_mint(a, sizeof a);
	trace_mint(b, sizeof b);
	ok(minted_shape(a), "trace: minted id is 16 hex - 8 hex (%s)", a);
	ok(trace_valid(a), "trace: minted id is valid");
	ok(strcmp(a, b) != 0, "trace: two minted ids differ");
	ok(strcmp(a, b) < 0, "trace: the later id sorts after (%s < %s)", a, b);
	ns = strtoull(a, NULL, 16);
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	ok(ns <= now && now - ns < 5000000000ULL,
	    "trace: minted prefix is the realtime clock in ns");

	memcpy(prev, b, sizeof prev);
	for (i = 0; i < 10000; i++) {
		trace_mint(a, sizeof a);
		shaped &= minted_shape(a);
		if (strncmp(prev, a, 16) >= 0)
			ordered = 0;
		memcpy(prev, a, sizeof prev);
	}
	ok(shaped, "trace: 10000 minted ids have the shape");
	ok(ordered, "trace: 10000 minted ids have increasing timestamps");

	memset(small, 'z', sizeof small);
	trace_mint(small, sizeof small);
	is_int(strlen(small), sizeof small - 1,
	    "trace: mint into a short buffer is cut and terminated");

	for (i = 0; i < sizeof trace_valid_cases / sizeof trace_valid_cases[0];
	    i++) {
		is_int(trace_valid(trace_valid_cases[i].id),
		    trace_valid_cases[i].want, "trace_valid: %s",
		    trace_valid_cases[i].name);
	}
	is_int(trace_valid(NULL), 0, "trace_valid: NULL");
	memset(big, 'x', sizeof big);
	big[TRACE_ID_MAX] = '\0';
	is_int(trace_valid(big), 1, "trace_valid: 128 bytes");
	big[TRACE_ID_MAX] = 'x';
	big[TRACE_ID_MAX + 1] = '\0';
	is_int(trace_valid(big), 0, "trace_valid: 129 bytes");

	for (i = 0; i < sizeof traceparent_cases / sizeof traceparent_cases[0];
	    i++) {
		const struct traceparent_case *c = &traceparent_cases[i];
		int	 rv;

		strcpy(out, "unchanged");
		rv = trace_from_traceparent(c->value, out, sizeof out);
		if (c->want != NULL) {
			is_int(rv, 0, "traceparent: %s accepted", c->name);
			is_str(out, c->want, "traceparent: %s trace-id",
			    c->name);
		} else
			is_int(rv, -1, "traceparent: %s rejected", c->name);
	}
	is_int(trace_from_traceparent(traceparent_cases[0].value, out, 32), -1,
	    "traceparent: output too small rejected");

	memset(&hs, 0, sizeof hs);
	trace_choose(&hs, NULL, out, sizeof out);
	ok(minted_shape(out), "trace_choose: no headers, minted");
	trace_choose(NULL, NULL, out, sizeof out);
	ok(minted_shape(out), "trace_choose: NULL headers, minted");

	headers_add(&hs, "x-paritytap-trace-id", 20, "abc-123", 7);
	headers_add(&hs, "traceparent", 11, traceparent_cases[0].value,
	    strlen(traceparent_cases[0].value));
	trace_choose(&hs, NULL, out, sizeof out);
	is_str(out, "abc-123", "trace_choose: trace header (any case) first");
	trace_choose(&hs, "X-Other", out, sizeof out);
	is_str(out, "4bf92f3577b34da6a3ce929d0e0e4736",
	    "trace_choose: other header name, traceparent next");
	headers_free(&hs);

	headers_add(&hs, "X-Paritytap-Trace-Id", 20, "bad\x01id", 6);
	headers_add(&hs, "traceparent", 11, traceparent_cases[0].value,
	    strlen(traceparent_cases[0].value));
	trace_choose(&hs, DEFAULT_TRACE_HEADER, out, sizeof out);
	is_str(out, "4bf92f3577b34da6a3ce929d0e0e4736",
	    "trace_choose: control character in header replaced");
	headers_free(&hs);

	headers_add(&hs, "X-Paritytap-Trace-Id", 20, "a b", 3);
	trace_choose(&hs, DEFAULT_TRACE_HEADER, out, sizeof out);
	ok(minted_shape(out), "trace_choose: invalid header, no traceparent, "
	    "minted (%s)", out);
	headers_free(&hs);

	memset(big, 'y', sizeof big);
	headers_add(&hs, "X-Paritytap-Trace-Id", 20, big, TRACE_ID_MAX + 1);
	headers_add(&hs, "traceparent", 11, traceparent_cases[3].value,
	    strlen(traceparent_cases[3].value));
	trace_choose(&hs, DEFAULT_TRACE_HEADER, out, sizeof out);
	ok(minted_shape(out), "trace_choose: 129-byte header and all-zero "
	    "traceparent replaced by a minted id");
	headers_free(&hs);

	headers_add(&hs, "X-Paritytap-Trace-Id", 20, big, TRACE_ID_MAX);
	trace_choose(&hs, DEFAULT_TRACE_HEADER, out, sizeof out);
	is_int(strlen(out), TRACE_ID_MAX, "trace_choose: 128-byte header kept");
	headers_free(&hs);
}

/* config */

static char	*tmpdir;

/* Write a file in the private temporary directory; return its path. */
static char *
write_file(const char *name, const char *content)
{
	char	*path;
	FILE	*f;

	xasprintf(&path, "%s/%s", tmpdir, name);
	if ((f = fopen(path, "w")) == NULL)
		fatal("%s", path);
	fputs(content, f);
	fclose(f);
	return (path);
}

/* A config callback that knows a few keys and records what it is given. */
static int
record_cb(void *arg, const char *section, const char *key, const char *value,
    char **cause)
{
	static const char *proxy_keys[] = { "listen", "primary", "candidate",
	    "sample", NULL };
	static const char *compare_keys[] = { "ignore", "ignore-header", NULL };
	struct buf	*b = arg;
	const char	**keys = NULL;
	char		*route = NULL;
	size_t		 i;
	int		 rv;

	if (strcmp(section, "proxy") == 0)
		keys = proxy_keys;
	else if (strcmp(section, "compare") == 0)
		keys = compare_keys;
	else if ((rv = config_route_section(section, &route)) == 1) {
		free(route);
		keys = compare_keys;
	} else if (rv == -1) {
		xasprintf(cause, "malformed route section [%s]", section);
		return (-1);
	} else {
		xasprintf(cause, "unknown section [%s]", section);
		return (-1);
	}
	for (i = 0; keys[i] != NULL; i++) {
		if (strcmp(keys[i], key) == 0)
			break;
	}
	if (keys[i] == NULL) {
		xasprintf(cause, "unknown key '%s' in [%s]", key, section);
		return (-1);
	}
	buf_printf(b, "[%s] %s=%s\n", section, key, value);
	return (0);
}

static const struct config_case {
	const char	*name;
	const char	*content;
	const char	*want;		/* keys record_cb saw, on success */
	const char	*error;		/* cause after "FILE", on failure */
} config_cases[] = {
	{ "valid file",
	  "; paritytap.conf\n"
	  "# a comment\n"
	  "\n"
	  "[proxy]\n"
	  "listen = 127.0.0.1:8080\n"
	  "primary=http://127.0.0.1:9001\n"
	  "  candidate = http://127.0.0.1:9002   ; inline comment\n"
	  "sample: 0.5\n"
	  "[compare]\n"
	  "ignore = $..updated_at\n"
	  "ignore = $.meta.request_id\n"
	  "[route \"POST /v1/validate\"]\n"
	  "ignore = $.took_ms\n",
	  "[proxy] listen=127.0.0.1:8080\n"
	  "[proxy] primary=http://127.0.0.1:9001\n"
	  "[proxy] candidate=http://127.0.0.1:9002\n"
	  "[proxy] sample=0.5\n"
	  "[compare] ignore=$..updated_at\n"
	  "[compare] ignore=$.meta.request_id\n"
	  "[route \"POST /v1/validate\"] ignore=$.took_ms\n", NULL },
	{ "long route section kept whole",
	  "[route \"GET /v1/organizations/{org}/projects/{project}/settings\"]"
	  " ; note\n"
	  "ignore = $.a\n",
	  "[route \"GET /v1/organizations/{org}/projects/{project}/settings\"]"
	  " ignore=$.a\n", NULL },
	{ "section with ']' in quotes and padding",
	  "[ route \"GET /a[0]\" ]\nignore=$.x\n",
	  "[route \"GET /a[0]\"] ignore=$.x\n", NULL },
	{ "CRLF and BOM",
	  "\xef\xbb\xbf[proxy]\r\nlisten = :8080\r\n",
	  "[proxy] listen=:8080\n", NULL },
	{ "empty file", "", "", NULL },
	{ "unknown key", "[proxy]\nlisten = :1\n\nfoo = 1\nbar = 2\n", NULL,
	  ":4: unknown key 'foo' in [proxy]" },
	{ "unknown section", "[proxy]\nlisten = :1\n[nope]\nx = 1\n", NULL,
	  ":4: unknown section [nope]" },
	{ "key before any section", "listen = :1\n", NULL,
	  ":1: unknown section []" },
	{ "malformed route section", "[route POST /x]\n\nignore = $.a\n", NULL,
	  ":3: malformed route section [route POST /x]" },
	{ "syntax error", "[proxy]\nlisten = :1\nthis is not a key\n", NULL,
	  ":3: syntax error" },
	{ "syntax error before unknown key",
	  "[proxy]\nnot a key\nfoo = 1\n", NULL, ":2: syntax error" },
	{ "unknown key before syntax error",
	  "[proxy]\nfoo = 1\nnot a key\n", NULL,
	  ":2: unknown key 'foo' in [proxy]" },
	{ "missing ]", "[proxy]\n[compare\nignore = $.a\n", NULL,
	  ":2: missing ']' in section header" },
	{ "text after section", "[proxy] listen = 1\n", NULL,
	  ":1: text after section header" },
	{ "line too long",
	  "[proxy]\nlisten = :1\nprimary = http://x/"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "\nfoo = 1\n", NULL, ":3: line too long" },
	{ "line after a long comment keeps its number",
	  "; aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	  "[proxy]\nfoo = 1\n", NULL, ":3: unknown key 'foo' in [proxy]" },
};

/* Check config_load over the table, a missing file and a directory. */
static void
test_config(void)
{
	const struct config_case *c;
	struct buf		 b;
	char			*path, *cause, *want, name[32];
	size_t			 i;
	int			 rv;

	for (i = 0; i < sizeof config_cases / sizeof config_cases[0]; i++) {
		c = &config_cases[i];
		snprintf(name, sizeof name, "c%zu.ini", i);
		path = write_file(name, c->content);
		buf_init(&b);
		cause = NULL;
		rv = config_load(path, record_cb, &b, &cause);
		if (c->error == NULL) {
			is_int(rv, 0, "config: %s loads", c->name);
			is_str(cause, NULL, "config: %s, no cause", c->name);
			is_str(b.data != NULL ? b.data : "", c->want,
			    "config: %s, keys seen", c->name);
		} else {
			xasprintf(&want, "%s%s", path, c->error);
			is_int(rv, -1, "config: %s fails", c->name);
			is_str(cause, want, "config: %s, message", c->name);
			free(want);
		}
		free(cause);
		buf_free(&b);
		unlink(path);
		free(path);
	}

	xasprintf(&path, "%s/missing.ini", tmpdir);
	cause = NULL;
	rv = config_load(path, record_cb, &b, &cause);
	xasprintf(&want, "%s: No such file or directory", path);
	is_int(rv, -1, "config: missing file fails");
	is_str(cause, want, "config: missing file, message");
	free(want);
	free(cause);
	free(path);

	cause = NULL;
	rv = config_load(tmpdir, record_cb, &b, &cause);
	xasprintf(&want, "%s: Is a directory", tmpdir);
	is_int(rv, -1, "config: a directory fails");
	is_str(cause, want, "config: a directory, message");
	free(want);
	free(cause);

	rv = config_load(tmpdir, record_cb, &b, NULL);
	is_int(rv, -1, "config: NULL cause is allowed");
}

static const struct route_section_case {
	const char	*section;
	int		 want;
	const char	*route;
} route_section_cases[] = {
	{ "route \"POST /v1/validate\"", 1, "POST /v1/validate" },
	{ "route   \"GET /users/{name}/posts\"", 1, "GET /users/{name}/posts" },
	{ "route\"GET /\"", 1, "GET /" },
	{ "route \"* /health\"", 1, "* /health" },
	{ "route \"OPTIONS *\"", 1, "OPTIONS *" },
	{ "proxy", 0, NULL },
	{ "compare", 0, NULL },
	{ "router", 0, NULL },
	{ "", 0, NULL },
	{ "route", -1, NULL },
	{ "route POST /x", -1, NULL },
	{ "route \"POST /x", -1, NULL },
	{ "route POST /x\"", -1, NULL },
	{ "route \"POST /x\" extra", -1, NULL },
	{ "route \"\"", -1, NULL },
	{ "route \"/x\"", -1, NULL },
	{ "route \"POST x\"", -1, NULL },
	{ "route \"POST /a b\"", -1, NULL },
	{ "route \"PO(ST /a\"", -1, NULL },
};

/* Check config_route_section over the table. */
static void
test_route_section(void)
{
	const struct route_section_case *c;
	size_t	 i;
	char	*route;

	for (i = 0; i < sizeof route_section_cases /
	    sizeof route_section_cases[0]; i++) {
		c = &route_section_cases[i];
		route = NULL;
		is_int(config_route_section(c->section, &route), c->want,
		    "config_route_section: [%s]", c->section);
		is_str(route, c->route, "config_route_section: [%s] route",
		    c->section);
		free(route);
	}
}

/* util.c */

static const struct size_case {
	const char	*s;
	int		 rv;
	uint64_t	 want;
} size_cases[] = {
	{ "8M", 0, 8388608 },
	{ "1k", 0, 1024 },
	{ "1K", 0, 1024 },
	{ "12", 0, 12 },
	{ "0", 0, 0 },
	{ "2G", 0, 2147483648ULL },
	{ "4MB", 0, 4194304 },
	{ "x", -1, 0 },
	{ "-1", -1, 0 },
	{ "", -1, 0 },
	{ "1.5M", -1, 0 },
	{ "8T", -1, 0 },
	{ "8 M", -1, 0 },
	{ "99999999999999999999", -1, 0 },
	{ "17179869184G", -1, 0 },
};

static const struct uint_case {
	const char	*s;
	uint64_t	 min, max;
	int		 rv;
	uint64_t	 want;
} uint_cases[] = {
	{ "10", 1, 100, 0, 10 },
	{ "1", 1, 100, 0, 1 },
	{ "100", 1, 100, 0, 100 },
	{ "0", 1, 100, -1, 0 },
	{ "101", 1, 100, -1, 0 },
	{ "-5", 0, 100, -1, 0 },
	{ "+5", 0, 100, -1, 0 },
	{ " 5", 0, 100, -1, 0 },
	{ "5x", 0, 100, -1, 0 },
	{ "", 0, 100, -1, 0 },
	{ "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX },
	{ "18446744073709551616", 0, UINT64_MAX, -1, 0 },
};

static const struct rate_case {
	const char	*s;
	int		 rv;
	double		 want;
} rate_cases[] = {
	{ "0.5", 0, 0.5 },
	{ "10%", 0, 0.1 },
	{ "100%", 0, 1.0 },
	{ "1", 0, 1.0 },
	{ "0", 0, 0.0 },
	{ "2", -1, 0 },
	{ "150%", -1, 0 },
	{ "-0.1", -1, 0 },
	{ "nan", -1, 0 },
	{ "inf", -1, 0 },
	{ "abc", -1, 0 },
	{ "", -1, 0 },
	{ "0.5x", -1, 0 },
	{ "10%%", -1, 0 },
};

/* Check parse_size, parse_uint and parse_rate over their tables. */
static void
test_parse(void)
{
	size_t		 i;
	uint64_t	 u;
	double		 d;
	char		*cause;
	int		 rv;

	for (i = 0; i < sizeof size_cases / sizeof size_cases[0]; i++) {
		u = 12345;
		cause = NULL;
		rv = parse_size(size_cases[i].s, &u, &cause);
		is_int(rv, size_cases[i].rv, "parse_size '%s'",
		    size_cases[i].s);
		if (size_cases[i].rv == 0)
			ok(u == size_cases[i].want && cause == NULL,
			    "parse_size '%s' = %llu", size_cases[i].s,
			    (unsigned long long)u);
		else
			ok(u == 12345 && cause != NULL &&
			    strstr(cause, "is not a size") != NULL,
			    "parse_size '%s' cause: %s", size_cases[i].s,
			    cause ? cause : "(null)");
		free(cause);
	}
	for (i = 0; i < sizeof uint_cases / sizeof uint_cases[0]; i++) {
		const struct uint_case *c = &uint_cases[i];

		u = 12345;
		cause = NULL;
		rv = parse_uint(c->s, c->min, c->max, &u, &cause);
		is_int(rv, c->rv, "parse_uint '%s' in [%llu, %llu]", c->s,
		    (unsigned long long)c->min, (unsigned long long)c->max);
		if (c->rv == 0)
			ok(u == c->want && cause == NULL, "parse_uint '%s' = "
			    "%llu", c->s, (unsigned long long)u);
		else
			ok(u == 12345 && cause != NULL, "parse_uint '%s' "
			    "cause: %s", c->s, cause ? cause : "(null)");
		free(cause);
	}
	cause = NULL;
	parse_uint("0", 1, 100, &u, &cause);
	is_str(cause, "'0' is not a number from 1 to 100",
	    "parse_uint: the message names the range");
	free(cause);
	for (i = 0; i < sizeof rate_cases / sizeof rate_cases[0]; i++) {
		d = -7;
		cause = NULL;
		rv = parse_rate(rate_cases[i].s, &d, &cause);
		is_int(rv, rate_cases[i].rv, "parse_rate '%s'",
		    rate_cases[i].s);
		if (rate_cases[i].rv == 0)
			ok(d > rate_cases[i].want - 1e-12 &&
			    d < rate_cases[i].want + 1e-12 && cause == NULL,
			    "parse_rate '%s' = %g", rate_cases[i].s, d);
		else
			ok(d == -7 && cause != NULL,
			    "parse_rate '%s' cause: %s", rate_cases[i].s,
			    cause ? cause : "(null)");
		free(cause);
	}
}

/* Check the byte buffer. */
static void
test_buf(void)
{
	struct buf	 b;
	char		*s;
	size_t		 i, cap;
	int		 same = 1;

	buf_init(&b);
	ok(b.data == NULL && b.len == 0 && b.cap == 0, "buf: init is empty");
	s = buf_detach(&b);
	is_str(s, "", "buf: detach of an empty buffer is \"\"");
	free(s);

	buf_add_u64(&b, 0);
	buf_add(&b, " ", 1);
	buf_add_u64(&b, 9);
	buf_add(&b, " ", 1);
	buf_add_u64(&b, 10);
	buf_add(&b, " ", 1);
	buf_add_u64(&b, 1234567890123ULL);
	buf_add(&b, " ", 1);
	buf_add_u64(&b, UINT64_MAX);
	is_str(b.data, "0 9 10 1234567890123 18446744073709551615",
	    "buf_add_u64: 0, one and two digits, 13 digits, UINT64_MAX");
	buf_free(&b);

	buf_add(&b, "ab", 2);
	buf_addstr(&b, "cd");
	buf_printf(&b, "-%d-%s", 42, "x");
	is_str(b.data, "abcd-42-x", "buf: add, addstr, printf");
	is_int(b.len, 9, "buf: length");
	{
		/* Both sides of buf_printf's stack buffer: 255 and 256. */
		char		 big[1001];
		struct buf	 p;
		size_t		 n;

		memset(big, 'y', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		for (n = 254; n <= 257; n++) {
			buf_init(&p);
			buf_printf(&p, "%.*s|%d", (int)n - 2, big, 7);
			ok(p.len == n && p.data[n - 1] == '7' &&
			    p.data[n - 2] == '|' && p.data[n] == '\0',
			    "buf: printf of %zu bytes", n);
			buf_free(&p);
		}
		buf_init(&p);
		buf_printf(&p, "%s", big);
		ok(p.len == 1000 && strcmp(p.data, big) == 0,
		    "buf: printf of 1000 bytes");
		buf_free(&p);
	}
	buf_add(&b, "\0z", 2);
	is_int(b.len, 11, "buf: binary bytes counted");
	ok(memcmp(b.data + 9, "\0z", 3) == 0, "buf: binary bytes kept, "
	    "NUL-terminated");
	buf_add(&b, NULL, 0);
	is_int(b.len, 11, "buf: adding nothing");

	cap = b.cap;
	buf_reset(&b);
	ok(b.len == 0 && b.cap == cap && b.data[0] == '\0',
	    "buf: reset keeps the memory");
	for (i = 0; i < 1000; i++)
		buf_add(&b, "0123456789", 10);
	is_int(b.len, 10000, "buf: grows to 10000 bytes");
	for (i = 0; i < 10000; i++)
		same &= b.data[i] == (char)('0' + i % 10);
	ok(same && b.data[10000] == '\0' && b.cap > 10000,
	    "buf: grown contents intact");
	s = buf_detach(&b);
	ok(b.data == NULL && b.len == 0 && b.cap == 0,
	    "buf: detach empties the buffer");
	is_int(strlen(s), 10000, "buf: detached string");
	free(s);
	buf_addstr(&b, "again");
	is_str(b.data, "again", "buf: usable after detach");
	buf_free(&b);
	ok(b.data == NULL && b.len == 0, "buf: free");
}

/* Check header lists, string lists and hop-by-hop names. */
/*
 * A list's strings live in blocks that never move: every header read
 * back after many more were added, one larger than any block, a value
 * replaced, and the list moved by assignment.
 */
static void
test_headers_arena(void)
{
	struct headers	 hs, moved;
	char		 name[32], value[64], *big;
	const char	*first_name;
	size_t		 i, bad = 0, biglen = 200 * 1024;

	memset(&hs, 0, sizeof hs);
	headers_add(&hs, "Host", 4, "example.test", 12);
	first_name = hs.h[0].name;
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof name, "X-H%zu", i);
		snprintf(value, sizeof value, "value-%zu-%0*zu", i, 40, i);
		headers_add(&hs, name, strlen(name), value, strlen(value));
	}
	big = xmalloc(biglen);
	memset(big, 'b', biglen);
	headers_add(&hs, "X-Big", 5, big, biglen);
	headers_add(&hs, "X-After", 7, "after", 5);
	ok(hs.h[0].name == first_name && strcmp(hs.h[0].name, "Host") == 0 &&
	    strcmp(hs.h[0].value, "example.test") == 0,
	    "headers arena: the first header's bytes never move");
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof name, "X-H%zu", i);
		snprintf(value, sizeof value, "value-%zu-%0*zu", i, 40, i);
		if (strcmp(hs.h[i + 1].name, name) != 0 ||
		    strcmp(hs.h[i + 1].value, value) != 0 ||
		    hs.h[i + 1].value != hs.h[i + 1].name + strlen(name) + 1)
			bad++;
	}
	is_int(bad, 0, "headers arena: 3000 headers read back intact");
	ok(strlen(hs.h[3001].value) == biglen &&
	    memcmp(hs.h[3001].value, big, biglen) == 0,
	    "headers arena: a value larger than a block is whole");
	is_str(headers_get(&hs, "x-after"), "after",
	    "headers arena: the header after a large one");

	headers_set_value(&hs, 1, "new", 3);
	is_str(hs.h[1].value, "new", "headers_set_value: the new value");
	is_str(hs.h[1].name, "X-H0", "headers_set_value: the name kept");
	is_str(hs.h[2].value, "value-1-0000000000000000000000000000000000000001",
	    "headers_set_value: the next header untouched");

	/* What the pipeline's queue budget counts. */
	ok(headers_bytes(&hs) >= 3000 * (4 + 48 + 2) + biglen,
	    "headers_bytes: at least every name and value stored (%zu)",
	    headers_bytes(&hs));
	ok(headers_bytes(&hs) < 3 * (3000 * (4 + 48 + 2) + biglen),
	    "headers_bytes: not more than thrice the strings (%zu)",
	    headers_bytes(&hs));
	moved = hs;
	memset(&hs, 0, sizeof hs);
	is_int(headers_bytes(&hs), 0, "headers_bytes: an empty list holds none");
	is_str(headers_get(&moved, "host"), "example.test",
	    "headers arena: a moved list reads the same");
	headers_free(&moved);
	ok(moved.h == NULL && moved.n == 0 && moved.blocks == NULL,
	    "headers arena: free leaves an empty list");
	headers_add(&moved, "A", 1, "", 0);
	ok(moved.n == 1 && strcmp(moved.h[0].value, "") == 0,
	    "headers arena: a freed list takes headers again");
	headers_free(&moved);
	free(big);
}

static void
test_headers(void)
{
	static const struct {
		const char	*name;
		int		 want;
	} hop[] = {
		{ "Connection", 1 }, { "connection", 1 }, { "KEEP-ALIVE", 1 },
		{ "TE", 1 }, { "te", 1 }, { "Trailer", 1 },
		{ "Transfer-Encoding", 1 }, { "Upgrade", 1 },
		{ "Proxy-Authorization", 1 }, { "Proxy-Connection", 1 },
		{ "Content-Type", 0 }, { "Content-Length", 0 }, { "Host", 0 },
		{ "Trailers", 0 }, { "", 0 },
	};
	struct headers	 hs;
	char		**list = NULL;
	size_t		 n = 0, i;

	memset(&hs, 0, sizeof hs);
	headers_add(&hs, "Content-Type", 12, "application/json", 16);
	headers_add(&hs, "Set-Cookie", 10, "a=1", 3);
	headers_add(&hs, "set-cookie", 10, "b=2", 3);
	headers_add(&hs, "X-Longer-Than-Given", 8, "valueXXX", 5);
	is_str(headers_get(&hs, "content-type"), "application/json",
	    "headers_get: case-insensitive");
	is_str(headers_get(&hs, "CONTENT-TYPE"), "application/json",
	    "headers_get: upper case");
	is_str(headers_get(&hs, "Set-Cookie"), "a=1",
	    "headers_get: first of duplicates");
	is_str(headers_get(&hs, "Content-Length"), NULL,
	    "headers_get: absent is NULL");
	is_str(headers_get(&hs, "Content"), NULL,
	    "headers_get: no prefix match");
	is_str(headers_get(&hs, "x-longer"), "value",
	    "headers_add: copies the given lengths");
	ok(hs.n == 4 && strcmp(hs.h[2].name, "set-cookie") == 0 &&
	    strcmp(hs.h[2].value, "b=2") == 0,
	    "headers_add: order and case kept, duplicates kept");
	headers_free(&hs);
	ok(hs.h == NULL && hs.n == 0, "headers_free: empty");

	ok(header_name_is("content-length", "Content-Length") &&
	    header_name_is("CONTENT-LENGTH", "Content-Length"),
	    "header_name_is: case aside");
	ok(!header_name_is("Content-Lengths", "Content-Length") &&
	    !header_name_is("", "Host") && !header_name_is("Post", "Host"),
	    "header_name_is: a longer name, an empty one, another letter");
	ok(!header_name_is("@x", "`x") && !header_name_is("[", "{"),
	    "header_name_is: bytes the case bit pairs that are not letters");

	test_headers_arena();

	for (i = 0; i < sizeof hop / sizeof hop[0]; i++) {
		is_int(is_hop_by_hop(hop[i].name), hop[i].want,
		    "is_hop_by_hop '%s'", hop[i].name);
	}

	strlist_add(&list, &n, "a");
	strlist_add(&list, &n, "b");
	ok(n == 2 && strcmp(list[0], "a") == 0 && strcmp(list[1], "b") == 0,
	    "strlist_add: two strings in order");
	strlist_free(&list, &n);
	ok(list == NULL && n == 0, "strlist_free: empty");
}

/* Check what log.c writes on stderr, short and long messages alike. */
static void
test_log(void)
{
	char		*path, *want, got[8192], big[3001];
	int		 fd, saved;
	ssize_t		 n;

	xasprintf(&path, "%s/log", tmpdir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) == -1)
		fatal("open %s", path);
	fflush(stderr);
	if ((saved = dup(STDERR_FILENO)) == -1 ||
	    dup2(fd, STDERR_FILENO) == -1)
		fatal("dup");
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	log_warnx("short %d", 1);
	errno = ENOENT;
	log_warn("with errno");
	ok(errno == ENOENT, "log_warn keeps errno");
	log_warnx("long %s", big);
	if (dup2(saved, STDERR_FILENO) == -1)
		fatal("dup2");
	close(saved);
	n = pread(fd, got, sizeof got - 1, 0);
	got[n < 0 ? 0 : n] = '\0';
	xasprintf(&want, "paritytap: short 1\nparitytap: with errno: %s\n"
	    "paritytap: long %s\n", strerror(ENOENT), big);
	is_str(got, want, "log lines, a long one whole");
	close(fd);
	unlink(path);
	free(want);
	free(path);
}

/* Check use_color, format_rfc3339 and mono_ms. */
static void
test_misc(void)
{
	static const struct {
		time_t		 sec;
		long		 usec;
		const char	*want;
	} times[] = {
		{ 1777716000, 123456, "2026-05-02T10:00:00.123456Z" },
		{ 0, 0, "1970-01-01T00:00:00.000000Z" },
		{ 951827696, 1, "2000-02-29T12:34:56.000001Z" },
		{ 1777680000 + 86399, 999999, "2026-05-02T23:59:59.999999Z" },
		/* The second before again, then the one after: the text of
		 * the last second formatted is kept, never reused wrongly. */
		{ 1777680000 + 86399, 7, "2026-05-02T23:59:59.000007Z" },
		{ 1777680000 + 86398, 7, "2026-05-02T23:59:58.000007Z" },
		{ 1777680000 + 86400, 0, "2026-05-03T00:00:00.000000Z" },
		{ -62167219200LL, 0, "0000-01-01T00:00:00.000000Z" },
		{ 253402300799LL, 999999, "9999-12-31T23:59:59.999999Z" },
	};
	char		 shortbuf[12];
	struct timeval	 tv;
	char		 out[64], *cause;
	const char	*old;
	size_t		 i;
	double		 t1, t2;
	int		 fd;

	cause = NULL;
	is_int(use_color("never", 1, &cause), 0, "use_color never");
	is_int(use_color("always", 1, &cause), 1, "use_color always");
	is_str(cause, NULL, "use_color: no cause when valid");
	is_int(use_color("sometimes", 1, &cause), -1, "use_color bad value");
	is_str(cause, "--color: 'sometimes' is not auto, always or never",
	    "use_color: bad value message");
	free(cause);
	is_int(use_color("bad", 1, NULL), -1, "use_color: NULL cause");

	fd = open("/dev/null", O_RDONLY);
	is_int(use_color("auto", fd, NULL), 0, "use_color auto: not a tty");
	close(fd);
	old = getenv("NO_COLOR");
	setenv("NO_COLOR", "1", 1);
	is_int(use_color("auto", 1, NULL), 0, "use_color auto: NO_COLOR");
	is_int(use_color(NULL, 1, NULL), 0, "use_color NULL: NO_COLOR");
	is_int(use_color("always", 1, NULL), 1,
	    "use_color always: NO_COLOR does not override");
	if (old != NULL)
		setenv("NO_COLOR", old, 1);
	else
		unsetenv("NO_COLOR");

	for (i = 0; i < sizeof times / sizeof times[0]; i++) {
		tv.tv_sec = times[i].sec;
		tv.tv_usec = times[i].usec;
		format_rfc3339(&tv, out, sizeof out);
		is_str(out, times[i].want, "format_rfc3339 case %zu", i);
	}
	/* A short buffer gets the start, as from snprintf. */
	tv.tv_sec = 1777716000;
	tv.tv_usec = 5;
	format_rfc3339(&tv, shortbuf, sizeof shortbuf);
	is_str(shortbuf, "2026-05-02T", "format_rfc3339 into 12 bytes");

	t1 = mono_ms();
	usleep(2000);
	t2 = mono_ms();
	ok(t2 - t1 >= 1.9 && t2 - t1 < 5000, "mono_ms: advances in ms "
	    "(%.3f)", t2 - t1);
}

/* Durations with units, and bare numbers in the option's own unit. */
static void
test_duration(void)
{
	static const struct {
		const char	*in;
		uint64_t	 unit;
		uint64_t	 want;	/* 0: refused */
		const char	*error;
	} cases[] = {
		{ "500ms", 1000, 500, NULL },
		{ "2s", 1, 2000, NULL },
		{ "1.5s", 1, 1500, NULL },
		{ "10m", 1000, 600000, NULL },
		{ "1h", 1000, 3600000, NULL },
		{ "30", 1000, 30000, NULL },
		{ "30", 1, 30, NULL },
		{ "", 1000, 0, "is not a duration" },
		{ "-1s", 1000, 0, "is not a duration" },
		{ "5 s", 1000, 0, "unknown unit \" s\"" },
		{ "5d", 1000, 0, "unknown unit \"d\"" },
		{ "0x10s", 1000, 0, "is not a duration" },
		{ "1e3ms", 1000, 0, "is not a duration" },
		{ "0", 1000, 0, "0 seconds: out of range (1ms to" },
		{ "100h", 1000, 0, "100h: out of range" },
	};
	uint64_t	 ms;
	char		*cause;
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ms = 0;
		cause = NULL;
		rc = options_duration("wait", cases[i].in, cases[i].unit, 1,
		    86400000, &ms, &cause);
		if (cases[i].want != 0)
			ok(rc == 0 && ms == cases[i].want,
			    "duration \"%s\": %llums", cases[i].in,
			    (unsigned long long)ms);
		else
			ok(rc == -1 && cause != NULL &&
			    strncmp(cause, "--wait: ", 8) == 0 &&
			    strstr(cause, cases[i].error) != NULL,
			    "duration \"%s\" refused: %s", cases[i].in,
			    cause != NULL ? cause : "(none)");
		free(cause);
	}
}

int
main(void)
{
	const char	*base;

	base = getenv("TMPDIR");
	if (base == NULL || *base == '\0')
		base = "/tmp";
	xasprintf(&tmpdir, "%s/test-util.XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL)
		fatal("mkdtemp %s", tmpdir);

	test_route();
	test_duration();
	test_trace();
	test_config();
	test_route_section();
	test_parse();
	test_buf();
	test_headers();
	test_misc();
	test_log();

	if (rmdir(tmpdir) != 0)
		log_warn("rmdir %s", tmpdir);
	free(tmpdir);
	return (done_testing());
}
