/* Unit tests for capture files (writer, reader) and exchange helpers. */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "paritytap.h"
#include "tap.h"

static char	 tmpdir[64];

/* The exchange of DESIGN §3, request and both responses. */
static const char *golden_line =
    "{\"paritytap\":1,\"id\":\"18abbabdc2306a83-c2306aa9\","
    "\"ts\":\"2026-05-02T10:00:00.123456Z\",\"source\":\"proxy\","
    "\"route\":\"POST /v1/validate\","
    "\"request\":{\"method\":\"POST\",\"target\":\"/v1/validate?strict=1\","
    "\"version\":\"1.1\",\"headers\":[{\"name\":\"Content-Type\","
    "\"value\":\"application/json\"},{\"name\":\"Authorization\","
    "\"value\":\"[redacted]\"}],\"body\":\"{\\\"kind\\\":\\\"x\\\"}\","
    "\"body_bytes\":12},"
    "\"responses\":{\"primary\":{\"status\":400,\"headers\":[{\"name\":"
    "\"Content-Type\",\"value\":\"application/json\"}],\"body\":"
    "\"{\\\"Schema\\\":{\\\"field\\\":\\\"kind\\\"}}\",\"body_bytes\":27,"
    "\"ms\":1.84},\"candidate\":{\"status\":400,\"headers\":[{\"name\":"
    "\"Content-Type\",\"value\":\"application/json\"}],\"body\":"
    "\"{\\\"Kind\\\":\\\"schema\\\",\\\"Field\\\":\\\"kind\\\"}\","
    "\"body_bytes\":32,\"ms\":2.07}},"
    "\"verdict\":\"shape\",\"diffs\":[{\"kind\":\"missing\",\"path\":"
    "\"$.Schema\",\"side\":\"candidate\"},{\"kind\":\"extra\",\"path\":"
    "\"$.Kind\",\"side\":\"candidate\"}]}";

/* Remove one entry of the temporary tree. */
static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return (remove(path));
}

/* Return a new directory below the temporary one. */
static char *
subdir(const char *name)
{
	char	*path;

	xasprintf(&path, "%s/%s", tmpdir, name);
	if (mkdir(path, 0700) != 0)
		fatal("mkdir %s", path);
	return (path);
}

/* Set a response side's status, one header, body and latency. */
static void
set_side(struct response_side *rs, int status, const char *body, double ms)
{
	rs->present = 1;
	rs->status = status;
	headers_add(&rs->headers, "Content-Type", 12, "application/json", 16);
	buf_add(&rs->body, body, strlen(body));
	rs->body_bytes = rs->body.len;
	rs->ms = ms;
}

/* Fill ex with the exchange of DESIGN §3. */
static void
make_exchange(struct exchange *ex)
{
	struct tm	 tm = { .tm_year = 126, .tm_mon = 4, .tm_mday = 2,
			    .tm_hour = 10 };

	exchange_init(ex, "proxy");
	strcpy(ex->ex_id, "18abbabdc2306a83-c2306aa9");
	ex->ex_ts.tv_sec = timegm(&tm);
	ex->ex_ts.tv_usec = 123456;
	ex->ex_route = xstrdup("POST /v1/validate");
	ex->ex_req.method = xstrdup("POST");
	ex->ex_req.target = xstrdup("/v1/validate?strict=1");
	ex->ex_req.major = ex->ex_req.minor = 1;
	headers_add(&ex->ex_req.headers, "Content-Type", 12,
	    "application/json", 16);
	headers_add(&ex->ex_req.headers, "Authorization", 13, "Bearer s3cret",
	    13);
	buf_addstr(&ex->ex_req.body, "{\"kind\":\"x\"}");
	set_side(&ex->ex_resp[SIDE_PRIMARY], 400,
	    "{\"Schema\":{\"field\":\"kind\"}}", 1.8412);
	set_side(&ex->ex_resp[SIDE_CANDIDATE], 400,
	    "{\"Kind\":\"schema\",\"Field\":\"kind\"}", 2.0699);
	ex->ex_verdict = VERDICT_SHAPE;
	diff_list_add(&ex->ex_diffs, "missing", "$.Schema", SIDE_CANDIDATE);
	diff_list_add(&ex->ex_diffs, "extra", "$.Kind", SIDE_CANDIDATE);
}

/* Return a JSON field of the capture form of ex as compact text. */
static char *
field_of(const struct exchange *ex, const struct capture_opts *opts,
    const char *side, const char *key)
{
	json_t	*obj, *v;
	char	*s;

	obj = exchange_to_json(ex, opts);
	v = obj;
	if (side != NULL && strcmp(side, "request") == 0)
		v = json_object_get(obj, "request");
	else if (side != NULL)
		v = json_object_get(json_object_get(obj, "responses"), side);
	v = json_object_get(v, key);
	s = v != NULL ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	json_decref(obj);
	return (s);
}

/* Count the lines of every capture file in dir; *files counts the files. */
static int
count_dir_lines(const char *dir, int *files)
{
	struct capture_reader	*r;
	struct exchange		 ex;
	struct dirent		*de;
	DIR			*d;
	char			*path, *cause = NULL;
	int			 n = 0;

	*files = 0;
	if ((d = opendir(dir)) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		(*files)++;
		xasprintf(&path, "%s/%s", dir, de->d_name);
		if ((r = capture_reader_open(path, 0, &cause)) == NULL) {
			free(cause);
			free(path);
			n = -1000;
			continue;
		}
		while (capture_reader_next(r, &ex, &cause) == 1) {
			exchange_free(&ex);
			n++;
		}
		capture_reader_close(r);
		free(path);
	}
	closedir(d);
	return (n);
}

/* Count the files of dir named PREFIX<YYYYMMDDTHHMMSSZ>[.N].jsonl. */
static int
count_rotated(const char *dir, const char *prefix)
{
	struct dirent	*de;
	DIR		*d;
	const char	*p;
	size_t		 i;
	int		 n = 0, good;

	if ((d = opendir(dir)) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		p = de->d_name + strlen(prefix);
		good = strlen(p) >= 16 && p[8] == 'T' && p[15] == 'Z';
		for (i = 0; good && i < 15; i++) {
			if (i != 8 && (p[i] < '0' || p[i] > '9'))
				good = 0;
		}
		if (good && p[16] == '.' && p[17] >= '0' && p[17] <= '9')
			for (p += 17; *p >= '0' && *p <= '9'; p++)
				;
		else
			p += 16;
		n += good && strcmp(p, ".jsonl") == 0;
	}
	closedir(d);
	return (n);
}

/* Count the lines a capture file holds, -1 if it cannot be read. */
static int
count_lines(const char *path)
{
	struct capture_reader	*r;
	struct exchange		 ex;
	char			*cause = NULL;
	int			 n = 0, rc;

	if ((r = capture_reader_open(path, 0, &cause)) == NULL) {
		free(cause);
		return (-1);
	}
	while ((rc = capture_reader_next(r, &ex, &cause)) == 1) {
		exchange_free(&ex);
		n++;
	}
	if (rc < 0) {
		free(cause);
		n = -1;
	}
	capture_reader_close(r);
	return (n);
}

/* Write text into a new file. */
static void
write_file(const char *path, const char *text)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL)
		fatal("%s", path);
	fputs(text, f);
	fclose(f);
}

/* The capture line: exact bytes and key order for a fixed exchange. */
static void
test_golden(void)
{
	struct exchange	 ex;
	char		*line;

	make_exchange(&ex);
	line = exchange_to_line(&ex, NULL);
	is_str(line, golden_line, "golden capture line, keys in §3 order");
	ok(strchr(line, '\n') == NULL, "exchange_to_line has no newline");
	free(line);
	exchange_free(&ex);
}

/* Write, read back, compare the fields. */
static void
test_round_trip(void)
{
	struct capture_opts	 opts = { 0 };
	struct capture_reader	*r;
	struct capture		*c;
	struct exchange		 ex, back;
	struct diff		*d;
	struct stat		 st;
	char			*path, *cause = NULL;

	xasprintf(&path, "%s/round.jsonl", tmpdir);
	opts.path = path;
	opts.keep_secrets = 1;
	c = capture_open(&opts, &cause);
	ok(c != NULL, "capture_open file");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "capture file is created mode 0600");

	make_exchange(&ex);
	ex.ex_resp[SIDE_CANDIDATE].error = "reset";
	ex.ex_resp[SIDE_CANDIDATE].error_detail = xstrdup("peer hung up");
	d = diff_list_add(&ex.ex_diffs, "type", "$.n", SIDE_CANDIDATE);
	d->primary = xstrdup("integer");
	d->candidate = xstrdup("string");
	d = diff_list_add(&ex.ex_diffs, "header", "Content-Type", -1);
	d->detail = xstrdup("application/json vs text/plain");
	is_int(capture_write(c, &ex), 0, "capture_write");
	is_int(capture_flush(c), 0, "capture_flush");
	ok(stat(path, &st) == 0 && st.st_size > 0 &&
	    capture_bytes(c) == (uint64_t)st.st_size,
	    "capture_bytes counts the bytes written");
	is_int(capture_errors(c), 0, "no capture errors");
	capture_close(c);

	r = capture_reader_open(path, 0, &cause);
	ok(r != NULL, "capture_reader_open");
	is_int(capture_reader_next(r, &back, &cause), 1, "read one exchange");
	is_str(back.ex_id, ex.ex_id, "id survives");
	is_int(back.ex_ts.tv_sec, ex.ex_ts.tv_sec, "ts seconds survive");
	is_int(back.ex_ts.tv_usec, 123456, "ts microseconds survive");
	is_str(back.ex_source, "proxy", "source survives as a static name");
	is_str(back.ex_route, "POST /v1/validate", "route survives");
	is_str(back.ex_req.method, "POST", "method survives");
	is_str(back.ex_req.target, "/v1/validate?strict=1", "target survives");
	is_int(back.ex_req.major * 10 + back.ex_req.minor, 11,
	    "version survives");
	is_int(back.ex_req.headers.n, 2, "request headers survive");
	is_str(headers_get(&back.ex_req.headers, "authorization"),
	    "Bearer s3cret", "secret kept under keep_secrets");
	is_str(back.ex_req.body.data, "{\"kind\":\"x\"}", "request body");
	is_int(back.ex_resp[SIDE_PRIMARY].status, 400, "primary status");
	ok(back.ex_resp[SIDE_PRIMARY].ms > 1.83 &&
	    back.ex_resp[SIDE_PRIMARY].ms < 1.85, "primary ms");
	is_str(back.ex_resp[SIDE_CANDIDATE].body.data,
	    "{\"Kind\":\"schema\",\"Field\":\"kind\"}", "candidate body");
	is_str(back.ex_resp[SIDE_CANDIDATE].error, "reset",
	    "candidate error");
	is_str(back.ex_resp[SIDE_CANDIDATE].error_detail, "peer hung up",
	    "candidate error_detail");
	ok(!back.ex_resp[SIDE_SECONDARY].present, "no secondary");
	is_int(back.ex_verdict, VERDICT_SHAPE, "verdict survives");
	is_int(back.ex_diffs.n, 4, "four diffs");
	if (back.ex_diffs.n == 4) {
		is_str(back.ex_diffs.v[0].kind, "missing", "diff 0 kind");
		is_str(back.ex_diffs.v[0].path, "$.Schema", "diff 0 path");
		is_int(back.ex_diffs.v[0].side, SIDE_CANDIDATE, "diff 0 side");
		is_str(back.ex_diffs.v[2].candidate, "string",
		    "diff 2 candidate");
		is_int(back.ex_diffs.v[3].side, -1, "diff 3 has no side");
		is_str(back.ex_diffs.v[3].detail,
		    "application/json vs text/plain", "diff 3 detail");
	}
	exchange_free(&back);
	is_int(capture_reader_next(r, &back, &cause), 0, "then end of file");
	capture_reader_close(r);
	exchange_free(&ex);
	free(path);
}

/* Bodies: text as "body", anything else as "body_b64", exact bytes back. */
static void
test_bodies(void)
{
	static const struct {
		const char	*name;
		const char	*bytes;
		size_t		 len;
		const char	*key;
		const char	*json;
	} cases[] = {
		{ "json text", "{\"a\":1}", 7, "body", "\"{\\\"a\\\":1}\"" },
		{ "utf-8 text", "caf\xc3\xa9", 5, "body", "\"caf\xc3\xa9\"" },
		{ "text with NUL", "a\0b", 3, "body", "\"a\\u0000b\"" },
		{ "binary", "\x00\x01\xff", 3, "body_b64", "\"AAH/\"" },
		{ "latin-1", "caf\xe9", 4, "body_b64", "\"Y2Fm6Q==\"" },
		{ "surrogate", "\xed\xa0\x80", 3, "body_b64", "\"7aCA\"" },
		{ "empty", "", 0, "body", "\"\"" },
	};
	struct exchange	 ex, back;
	json_t		*obj;
	size_t		 i;
	char		*s, *cause = NULL, c;
	int		 rc;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		exchange_init(&ex, "replay");
		strcpy(ex.ex_id, "x");
		ex.ex_req.method = xstrdup("GET");
		ex.ex_req.target = xstrdup("/");
		set_side(&ex.ex_resp[SIDE_PRIMARY], 200, "", 0);
		buf_add(&ex.ex_resp[SIDE_PRIMARY].body, cases[i].bytes,
		    cases[i].len);
		s = field_of(&ex, NULL, "primary", cases[i].key);
		is_str(s, cases[i].json, "%s stored as %s", cases[i].name,
		    cases[i].key);
		free(s);

		obj = exchange_to_json(&ex, NULL);
		exchange_init(&back, NULL);
		rc = exchange_from_json(obj, &back, &cause);
		ok(rc == 0 && back.ex_resp[SIDE_PRIMARY].body.len ==
		    cases[i].len && memcmp(back.ex_resp[SIDE_PRIMARY].body.data,
		    cases[i].bytes, cases[i].len) == 0,
		    "%s reads back byte for byte", cases[i].name);
		json_decref(obj);
		exchange_free(&back);
		exchange_free(&ex);
	}

	/* A binary body larger than one base64 chunk, and back. */
	exchange_init(&ex, "replay");
	strcpy(ex.ex_id, "x");
	ex.ex_req.method = xstrdup("PUT");
	ex.ex_req.target = xstrdup("/blob");
	for (i = 0; i < 300001; i++) {
		c = (char)(i * 7 + 0x80);
		buf_add(&ex.ex_req.body, &c, 1);
	}
	obj = exchange_to_json(&ex, NULL);
	exchange_init(&back, NULL);
	rc = exchange_from_json(obj, &back, &cause);
	ok(rc == 0 && back.ex_req.body.len == 300001 &&
	    memcmp(back.ex_req.body.data, ex.ex_req.body.data, 300001) == 0,
	    "300 KB binary request body reads back byte for byte");
	json_decref(obj);
	exchange_free(&back);
	exchange_free(&ex);

	/* A header value that is not UTF-8 keeps its bytes in value_b64. */
	exchange_init(&ex, "proxy");
	strcpy(ex.ex_id, "x");
	ex.ex_req.method = xstrdup("GET");
	ex.ex_req.target = xstrdup("/");
	headers_add(&ex.ex_req.headers, "X-Name", 6, "caf\xe9", 4);
	s = field_of(&ex, NULL, "request", "headers");
	is_str(s, "[{\"name\":\"X-Name\",\"value\":\"caf\xef\xbf\xbd\","
	    "\"value_b64\":\"Y2Fm6Q==\"}]", "non-UTF-8 header value: lossy "
	    "value plus value_b64");
	free(s);
	obj = exchange_to_json(&ex, NULL);
	exchange_init(&back, NULL);
	rc = exchange_from_json(obj, &back, &cause);
	ok(rc == 0 && back.ex_req.headers.n == 1 &&
	    strcmp(back.ex_req.headers.h[0].value, "caf\xe9") == 0,
	    "non-UTF-8 header value reads back exactly");
	json_decref(obj);
	exchange_free(&back);
	exchange_free(&ex);
}

/* Bodies over the limit: cut, "truncated":true, sha256 of the whole. */
static void
test_truncation(void)
{
	struct capture_opts	 opts = { .body_limit = 10 };
	struct response_side	*rs;
	struct exchange		 ex;
	char			 big[100], *s;

	memset(big, 'a', sizeof big);
	exchange_init(&ex, "proxy");
	strcpy(ex.ex_id, "x");
	ex.ex_req.method = xstrdup("POST");
	ex.ex_req.target = xstrdup("/");
	buf_add(&ex.ex_req.body, big, sizeof big);
	rs = &ex.ex_resp[SIDE_PRIMARY];
	set_side(rs, 200, "", 0);
	buf_add(&rs->body, big, sizeof big);
	rs->body_bytes = sizeof big;
	set_side(&ex.ex_resp[SIDE_CANDIDATE], 200,
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 0);

	s = field_of(&ex, &opts, "primary", "body");
	is_str(s, "\"aaaaaaaaaa\"", "body cut to the limit");
	free(s);
	s = field_of(&ex, &opts, "primary", "body_bytes");
	is_str(s, "100", "body_bytes is the whole size");
	free(s);
	s = field_of(&ex, &opts, "primary", "truncated");
	is_str(s, "true", "truncated:true");
	free(s);
	s = field_of(&ex, &opts, "primary", "body_sha256");
	is_str(s, "\"2816597888e4a0d3a36b82b83316ab32680eb8f00f8cd3b904d681"
	    "246d285a0e\"", "body_sha256 of the whole body");
	free(s);
	s = field_of(&ex, &opts, "request", "body_sha256");
	is_str(s, "\"2816597888e4a0d3a36b82b83316ab32680eb8f00f8cd3b904d681"
	    "246d285a0e\"", "request body_sha256 of the whole body");
	free(s);
	s = field_of(&ex, &opts, "candidate", "body");
	is_str(s, "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"",
	    "text cut at a character boundary stays text");
	free(s);
	s = field_of(&ex, NULL, "primary", "truncated");
	is_str(s, NULL, "no truncated field under the default limit");
	free(s);

	/* A side that arrived cut keeps the digest it came with. */
	rs->truncated = 1;
	rs->body_sha256 = xstrdup("00ff");
	s = field_of(&ex, NULL, "primary", "body_sha256");
	is_str(s, "\"00ff\"", "a known body_sha256 is kept");
	free(s);
	s = field_of(&ex, NULL, "primary", "truncated");
	is_str(s, "true", "a side already truncated says so");
	free(s);
	exchange_free(&ex);
}

/* Secret headers: redacted by default, kept under keep_secrets. */
static void
test_redaction(void)
{
	static const char *names[] = { "Authorization", "proxy-authorization",
	    "COOKIE", "Set-Cookie", "x-api-key", "X-Custom" };
	char			*redact[] = { "x-custom" };
	struct capture_opts	 plain = { 0 }, extra = { 0 }, keep = { 0 };
	struct exchange		 ex;
	json_t			*obj, *hs;
	size_t			 i, n;

	extra.redact = redact;
	extra.nredact = 1;
	keep.redact = redact;
	keep.nredact = 1;
	keep.keep_secrets = 1;
	exchange_init(&ex, "proxy");
	strcpy(ex.ex_id, "x");
	ex.ex_req.method = xstrdup("GET");
	ex.ex_req.target = xstrdup("/");
	for (i = 0; i < 6; i++)
		headers_add(&ex.ex_req.headers, names[i], strlen(names[i]),
		    "secret", 6);
	headers_add(&ex.ex_req.headers, "Accept", 6, "*/*", 3);

	obj = exchange_to_json(&ex, &plain);
	hs = json_object_get(json_object_get(obj, "request"), "headers");
	for (i = n = 0; i < 5; i++) {
		n += strcmp(json_string_value(json_object_get(
		    json_array_get(hs, i), "value")), "[redacted]") == 0;
	}
	is_int(n, 5, "the five default secrets are redacted");
	is_str(json_string_value(json_object_get(json_array_get(hs, 5),
	    "value")), "secret", "other headers are not");
	json_decref(obj);

	obj = exchange_to_json(&ex, &extra);
	hs = json_object_get(json_object_get(obj, "request"), "headers");
	is_str(json_string_value(json_object_get(json_array_get(hs, 5),
	    "value")), "[redacted]", "--redact-header, any case");
	is_str(json_string_value(json_object_get(json_array_get(hs, 6),
	    "value")), "*/*", "Accept is kept");
	json_decref(obj);

	obj = exchange_to_json(&ex, &keep);
	hs = json_object_get(json_object_get(obj, "request"), "headers");
	for (i = n = 0; i < 6; i++) {
		n += strcmp(json_string_value(json_object_get(
		    json_array_get(hs, i), "value")), "secret") == 0;
	}
	is_int(n, 6, "--keep-secrets keeps every value");
	json_decref(obj);
	exchange_free(&ex);
}

/* Rotation by size, file mode and directory mode. */
static void
test_rotation(void)
{
	struct capture_opts	 opts = { .rotate_size = 2500 };
	struct capture		*c;
	struct exchange		 ex;
	char			*dir, *path, *cause = NULL;
	int			 i, n, files, errs = 0;

	dir = subdir("rotate-file");
	xasprintf(&path, "%s/cap.jsonl", dir);
	opts.path = path;
	c = capture_open(&opts, &cause);
	ok(c != NULL, "capture_open with rotate_size");
	make_exchange(&ex);
	for (i = 0; i < 20; i++)
		errs += capture_write(c, &ex) != 0;
	capture_close(c);
	is_int(errs, 0, "20 writes while rotating");
	is_int(count_dir_lines(dir, &files), 20,
	    "rotated files hold the 20 lines between them");
	ok(files >= 5, "rotation made several files (%d)", files);
	n = count_lines(path);
	ok(n >= 0 && n < 4, "the current file holds only the latest lines "
	    "(%d)", n);
	is_int(count_rotated(dir, "cap-"), files - 1,
	    "full files renamed cap-YYYYMMDDTHHMMSSZ[.N].jsonl");
	free(path);
	free(dir);

	dir = subdir("rotate-dir");
	opts.path = dir;
	c = capture_open(&opts, &cause);
	ok(c != NULL, "capture_open directory with rotate_size");
	for (i = 0; i < 20; i++)
		capture_write(c, &ex);
	capture_close(c);
	is_int(count_dir_lines(dir, &files), 20,
	    "directory rotation: lines add up");
	ok(files >= 5, "directory rotation made several files (%d)", files);
	free(dir);
	exchange_free(&ex);
}

/* Directory mode: paritytap-YYYYMMDDTHHMMSSZ-<pid>.jsonl, mode 0600. */
static void
test_dirmode(void)
{
	struct capture_opts	 opts = { 0 };
	struct capture		*c;
	struct exchange		 ex;
	struct dirent		*de;
	struct stat		 st;
	DIR			*d;
	char			*dir, *slash, *want, *path, *cause = NULL;
	char			 name[256] = "none";
	int			 good = 0, files = 0;
	size_t			 i;

	dir = subdir("dirmode");
	opts.path = dir;
	c = capture_open(&opts, &cause);
	ok(c != NULL, "capture_open on an existing directory");
	make_exchange(&ex);
	capture_write(c, &ex);
	capture_close(c);

	xasprintf(&want, "-%ld.jsonl", (long)getpid());
	d = opendir(dir);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		files++;
		snprintf(name, sizeof name, "%s", de->d_name);
		good = strncmp(name, "paritytap-", 10) == 0 &&
		    strlen(name) == 10 + 16 + strlen(want) &&
		    name[18] == 'T' && name[25] == 'Z' &&
		    strcmp(name + 26, want) == 0;
		for (i = 10; good && i < 26; i++) {
			if (i != 18 && i != 25 && (name[i] < '0' ||
			    name[i] > '9'))
				good = 0;
		}
		xasprintf(&path, "%s/%s", dir, name);
		ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
		    "directory-mode file is mode 0600");
		is_int(count_lines(path), 1, "directory-mode file has the line");
		free(path);
		break;
	}
	if (d != NULL)
		closedir(d);
	is_int(files, 1, "one file in the directory");
	ok(good, "file named paritytap-YYYYMMDDTHHMMSSZ-<pid>.jsonl (%s)",
	    name);
	free(want);

	/* A path ending in '/' is a directory, made when missing. */
	xasprintf(&slash, "%s/newdir/", tmpdir);
	opts.path = slash;
	c = capture_open(&opts, &cause);
	ok(c != NULL, "capture_open on DIR/ creates the directory");
	capture_write(c, &ex);
	capture_close(c);
	slash[strlen(slash) - 1] = '\0';
	is_int(count_dir_lines(slash, &files), 1, "DIR/ holds the line");
	free(slash);

	opts.path = "/nonexistent/dir/cap.jsonl";
	c = capture_open(&opts, &cause);
	ok(c == NULL && cause != NULL &&
	    strstr(cause, "/nonexistent/dir/cap.jsonl: ") != NULL &&
	    strstr(cause, "No such file") != NULL,
	    "open error names the path and strerror");
	free(cause);
	exchange_free(&ex);
	free(dir);
}

/* SIGHUP after logrotate: lines before go to the old file, after to new. */
static void
test_reopen(void)
{
	struct capture_opts	 opts = { 0 };
	struct capture		*c;
	struct exchange		 ex;
	char			*path, *moved, *cause = NULL;
	int			 i;

	xasprintf(&path, "%s/reopen.jsonl", tmpdir);
	xasprintf(&moved, "%s/reopen.jsonl.1", tmpdir);
	opts.path = path;
	c = capture_open(&opts, &cause);
	make_exchange(&ex);
	for (i = 0; i < 3; i++)
		capture_write(c, &ex);
	capture_flush(c);
	is_int(rename(path, moved), 0, "logrotate moves the file");
	for (i = 0; i < 2; i++)
		capture_write(c, &ex);
	is_int(capture_reopen(c, &cause), 0, "capture_reopen");
	for (i = 0; i < 4; i++)
		capture_write(c, &ex);
	capture_close(c);
	is_int(count_lines(moved), 5, "lines before the reopen in the old "
	    "file");
	is_int(count_lines(path), 4, "lines after it in the new file");
	exchange_free(&ex);
	free(moved);
	free(path);
}

/* Write errors are counted and never fatal. */
static void
test_write_errors(void)
{
	struct capture_opts	 opts = { .path = "/dev/full" };
	struct capture		*c;
	struct exchange		 ex;
	char			*cause = NULL;

	c = capture_open(&opts, &cause);
	ok(c != NULL, "capture_open /dev/full");
	if (c == NULL) {
		free(cause);
		return;
	}
	make_exchange(&ex);
	is_int(capture_write(c, &ex), 0, "a line is queued");
	is_int(capture_flush(c), -1, "flush to a full disk fails");
	ok(capture_errors(c) >= 1, "the failure is counted");
	is_int(capture_bytes(c), 0, "no bytes counted as written");
	capture_close(c);
	exchange_free(&ex);
}

/*
 * Short writes (a file size limit stands in for a full disk): the cut
 * line is finished by the next flush, or moved whole to the next file.
 */
static void
test_short_writes(void)
{
	struct capture_opts	 opts = { 0 };
	struct capture		*c;
	struct exchange		 ex;
	struct rlimit		 old, lim;
	struct stat		 st;
	char			*path, *moved, *cause = NULL;
	off_t			 full;
	int			 i, rc, rc2;

	xasprintf(&path, "%s/short.jsonl", tmpdir);
	xasprintf(&moved, "%s/short.jsonl.1", tmpdir);
	opts.path = path;
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	make_exchange(&ex);

	c = capture_open(&opts, &cause);
	for (i = 0; i < 3; i++)
		capture_write(c, &ex);
	/* Nothing may reach stdout while the limit holds: it may be a file. */
	fflush(stdout);
	lim.rlim_cur = 1000;
	setrlimit(RLIMIT_FSIZE, &lim);
	rc = capture_flush(c);
	setrlimit(RLIMIT_FSIZE, &old);
	is_int(rc, -1, "a flush cut short fails");
	ok(stat(path, &st) == 0 && st.st_size == 1000,
	    "the file ends inside a line");
	ok(capture_errors(c) >= 1, "the short write is counted");
	is_int(capture_flush(c), 0, "the next flush finishes the line");
	capture_close(c);
	is_int(count_lines(path), 3, "no line torn or lost");

	c = capture_open(&opts, &cause);
	for (i = 0; i < 2; i++)
		capture_write(c, &ex);
	stat(path, &st);
	full = st.st_size;
	fflush(stdout);
	lim.rlim_cur = full + 500;
	setrlimit(RLIMIT_FSIZE, &lim);
	rc = capture_flush(c);
	rename(path, moved);
	rc2 = capture_reopen(c, &cause);
	setrlimit(RLIMIT_FSIZE, &old);
	is_int(rc, -1, "cut short again");
	is_int(rc2, 0, "reopen while a line is cut");
	capture_close(c);
	ok(stat(moved, &st) == 0 && st.st_size == full,
	    "the cut start is taken back from the old file");
	is_int(count_lines(moved), 3, "the old file holds its three lines");
	is_int(count_lines(path), 2, "the cut line is written whole to the "
	    "new file");
	exchange_free(&ex);
	free(moved);
	free(path);
}

/* The reader: blank lines, torn last line, malformed lines, versions. */
static void
test_reader(void)
{
	static const char *good = "{\"paritytap\":1,\"id\":\"a\",\"request\":"
	    "{\"method\":\"GET\",\"target\":\"/\"}}\n";
	struct capture_reader	*r;
	struct exchange		 ex;
	char			*path, *text, *want, *cause = NULL;
	int			 n, rc, fd, saved;

	xasprintf(&path, "%s/reader.jsonl", tmpdir);

	xasprintf(&text, "%s\n  \n%s{\"paritytap\":1,\"id\":\"b\",\"req", good,
	    good);
	write_file(path, text);
	free(text);
	is_int(count_lines(path), 2, "blank lines skipped, torn last line "
	    "skipped, no error");

	xasprintf(&text, "%s{\"paritytap\":1,\"id\":\"b\",\"req\n%s", good,
	    good);
	write_file(path, text);
	free(text);
	r = capture_reader_open(path, 0, &cause);
	is_int(capture_reader_next(r, &ex, &cause), 1, "first line reads");
	exchange_free(&ex);
	rc = capture_reader_next(r, &ex, &cause);
	xasprintf(&want, "%s:2: ", path);
	ok(rc == -1 && strncmp(cause, want, strlen(want)) == 0,
	    "malformed middle line: error names FILE:LINE (%s)", cause);
	free(want);
	free(cause);
	cause = NULL;
	capture_reader_close(r);

	r = capture_reader_open(path, 1, &cause);
	for (n = 0; (rc = capture_reader_next(r, &ex, &cause)) == 1; n++)
		exchange_free(&ex);
	ok(n == 2 && rc == 0, "lenient: the malformed line is skipped");
	capture_reader_close(r);

	write_file(path, "{\"paritytap\":2,\"id\":\"a\",\"request\":"
	    "{\"method\":\"GET\",\"target\":\"/\"}}\n");
	r = capture_reader_open(path, 1, &cause);
	rc = capture_reader_next(r, &ex, &cause);
	ok(rc == -1 && strstr(cause, "capture format version 2 is newer "
	    "than this paritytap (1)") != NULL, "newer version refused (%s)",
	    cause);
	free(cause);
	cause = NULL;
	capture_reader_close(r);

	write_file(path, "{\"paritytap\":1,\"id\":\"a\",\"request\":"
	    "{\"method\":7,\"target\":\"/\"}}\n");
	r = capture_reader_open(path, 0, &cause);
	rc = capture_reader_next(r, &ex, &cause);
	ok(rc == -1 && strstr(cause, ":1: request.method") != NULL,
	    "ill-typed request.method named (%s)", cause);
	free(cause);
	cause = NULL;
	capture_reader_close(r);

	write_file(path, "{\"id\":\"a\"}\n");
	r = capture_reader_open(path, 0, &cause);
	rc = capture_reader_next(r, &ex, &cause);
	ok(rc == -1 && strstr(cause, ":1: paritytap") != NULL,
	    "missing paritytap named (%s)", cause);
	free(cause);
	cause = NULL;
	capture_reader_close(r);

	write_file(path, "{\"paritytap\":1,\"id\":\"a\",\"source\":\"carrier\","
	    "\"future\":[1,2],\"request\":{\"method\":\"GET\",\"target\":\"/\","
	    "\"headers\":[]},\"verdict\":\"recorded\"}\n");
	r = capture_reader_open(path, 0, &cause);
	rc = capture_reader_next(r, &ex, &cause);
	ok(rc == 1 && strcmp(ex.ex_source, "unknown") == 0 &&
	    ex.ex_verdict == VERDICT_RECORDED, "unknown fields ignored, "
	    "unknown source read as \"unknown\"");
	if (rc == 1)
		exchange_free(&ex);
	capture_reader_close(r);

	/* "-" reads standard input. */
	write_file(path, good);
	fd = open(path, O_RDONLY);
	saved = dup(STDIN_FILENO);
	dup2(fd, STDIN_FILENO);
	close(fd);
	r = capture_reader_open("-", 0, &cause);
	rc = r != NULL ? capture_reader_next(r, &ex, &cause) : -1;
	is_int(rc, 1, "\"-\" reads a capture from stdin");
	if (rc == 1)
		exchange_free(&ex);
	capture_reader_close(r);
	dup2(saved, STDIN_FILENO);
	close(saved);

	r = capture_reader_open("/nonexistent.jsonl", 0, &cause);
	ok(r == NULL && strstr(cause, "/nonexistent.jsonl: No such file") !=
	    NULL, "unreadable file named (%s)", cause);
	free(cause);
	free(path);
}

/* A gzipped capture reads like a plain one, long lines included. */
static void
test_gzip(void)
{
	struct exchange	 ex;
	gzFile		 gz;
	char		*path, *line, *big;
	int		 i;

	xasprintf(&path, "%s/cap.jsonl.gz", tmpdir);
	make_exchange(&ex);
	big = xmalloc(300000);
	memset(big, 'z', 299999);
	big[299999] = '\0';
	buf_addstr(&ex.ex_resp[SIDE_PRIMARY].body, big);
	line = exchange_to_line(&ex, NULL);
	gz = gzopen(path, "wb");
	for (i = 0; i < 3; i++) {
		gzputs(gz, line);
		gzputs(gz, "\n");
	}
	gzclose(gz);
	is_int(count_lines(path), 3, ".jsonl.gz with 300 KB lines reads");
	free(line);
	free(big);
	exchange_free(&ex);
	free(path);
}

/* The live flag line of DESIGN §5. */
static void
test_flag_line(void)
{
	struct exchange	 ex;
	struct diff	*d;
	char		*line;

	make_exchange(&ex);
	line = exchange_flag_line(&ex, 0);
	is_str(line, "DIVERGE shape POST /v1/validate "
	    "id=18abbabdc2306a83-c2306aa9 status 400=400 $.Schema "
	    "missing(candidate) $.Kind extra(candidate)",
	    "flag line of the DESIGN example");
	free(line);
	line = exchange_flag_line(&ex, 1);
	ok(strncmp(line, "\033[1;31mDIVERGE shape\033[0m POST ", 30) == 0,
	    "shape is bold red in colour");
	free(line);

	d = diff_list_add(&ex.ex_diffs, "type", "$.line_offset", SIDE_CANDIDATE);
	d->primary = xstrdup("integer");
	d->candidate = xstrdup("string");
	d = diff_list_add(&ex.ex_diffs, "header", "Content-Type", -1);
	d = diff_list_add(&ex.ex_diffs, "header", "X-Foo", SIDE_CANDIDATE);
	d->detail = xstrdup("missing");
	diff_list_add(&ex.ex_diffs, "value", "$.n", -1);
	diff_list_add(&ex.ex_diffs, "status", NULL, -1);
	diff_list_add(&ex.ex_diffs, "invalid_json", NULL, SIDE_PRIMARY);
	diff_list_add(&ex.ex_diffs, "duplicate_key", "$.a", SIDE_CANDIDATE);
	ex.ex_diffs.truncated = 1;
	ex.ex_verdict = VERDICT_VALUE;
	ex.ex_resp[SIDE_CANDIDATE].status = 200;
	line = exchange_flag_line(&ex, 0);
	is_str(line, "DIVERGE value POST /v1/validate "
	    "id=18abbabdc2306a83-c2306aa9 status 400!=200 $.Schema "
	    "missing(candidate) $.Kind extra(candidate) "
	    "$.line_offset type(integer->string) header:Content-Type "
	    "header:X-Foo(missing) $.n value invalid_json(primary) "
	    "duplicate_key(candidate) +more", "every diff kind's token");
	free(line);
	line = exchange_flag_line(&ex, 1);
	ok(strncmp(line, "\033[33mDIVERGE value\033[0m ", 23) == 0,
	    "value is yellow in colour");
	free(line);
	exchange_free(&ex);

	make_exchange(&ex);
	diff_list_free(&ex.ex_diffs);
	diff_list_init(&ex.ex_diffs, 0);
	response_side_free(&ex.ex_resp[SIDE_CANDIDATE]);
	ex.ex_resp[SIDE_CANDIDATE].present = 1;
	ex.ex_resp[SIDE_CANDIDATE].error = "timeout";
	ex.ex_verdict = VERDICT_CANDIDATE_ERROR;
	diff_list_add(&ex.ex_diffs, "error", NULL, SIDE_CANDIDATE);
	line = exchange_flag_line(&ex, 0);
	is_str(line, "DIVERGE candidate_error POST /v1/validate "
	    "id=18abbabdc2306a83-c2306aa9 status 400!=- candidate:timeout",
	    "flag line of a candidate timeout");
	free(line);
	exchange_free(&ex);
}

/* Verdict and side names. */
static void
test_names(void)
{
	enum verdict	 v, back;
	int		 n = 0, div = 0;

	for (v = VERDICT_MATCH; v < VERDICT_NONE; v++) {
		n += verdict_from_name(verdict_name(v), &back) == 0 &&
		    back == v;
		div += verdict_is_divergence(v);
	}
	is_int(n, VERDICT_NONE, "every verdict name reads back");
	is_int(div, 8, "eight verdicts are divergences");
	ok(!verdict_is_divergence(VERDICT_NONE), "none is no divergence");
	is_str(verdict_name(VERDICT_BOTH_FAILED), "both_failed",
	    "both_failed");
	ok(verdict_from_name("bogus", &back) == -1, "unknown verdict name");
	is_str(side_name(SIDE_SECONDARY), "secondary", "side name");
}

int
main(void)
{
	strcpy(tmpdir, "/tmp/test-capture.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		fatal("mkdtemp");

	test_golden();
	test_round_trip();
	test_bodies();
	test_truncation();
	test_redaction();
	test_rotation();
	test_dirmode();
	test_reopen();
	test_write_errors();
	test_short_writes();
	test_reader();
	test_gzip();
	test_flag_line();
	test_names();

	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return (done_testing());
}
