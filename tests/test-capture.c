/* Unit tests for capture files (writer, reader) and exchange helpers. */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "paritytap.h"
#include "tap.h"

/* Random exchanges the line writer is checked on. */
#define LINE_RANDOM	3000

/* Latencies the line writer is checked on. */
#define LINE_MS		15000

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
	diff_list_add_name(&ex->ex_diffs, "missing", "$.Schema", SIDE_CANDIDATE);
	diff_list_add_name(&ex->ex_diffs, "extra", "$.Kind", SIDE_CANDIDATE);
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

/* Count the files of dir named PREFIX<YYYYMMDDTHHMMSS.mmmZ>.jsonl. */
static int
count_rotated(const char *dir, const char *prefix)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL) {
		n += capture_rotated_name(prefix, 0, de->d_name) &&
		    strcmp(de->d_name + strlen(de->d_name) - 6, ".jsonl") == 0;
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

/* Whether the files PREFIX* of dir, in name order, were written in order. */
static int
names_in_time_order(const char *dir, const char *prefix)
{
	struct dirent	**list;
	struct stat	 st;
	struct timespec	 last = { 0, 0 };
	char		*path;
	int		 n, i, good = 1;

	if ((n = scandir(dir, &list, NULL, alphasort)) < 0)
		return (0);
	for (i = 0; i < n; i++) {
		if (capture_rotated_name(prefix, 0, list[i]->d_name)) {
			xasprintf(&path, "%s/%s", dir, list[i]->d_name);
			if (stat(path, &st) != 0 ||
			    st.st_mtim.tv_sec < last.tv_sec ||
			    (st.st_mtim.tv_sec == last.tv_sec &&
			    st.st_mtim.tv_nsec < last.tv_nsec))
				good = 0;
			else
				last = st.st_mtim;
			free(path);
		}
		free(list[i]);
	}
	free(list);
	return (good);
}

/*
 * The names of closed files: a stamp of fixed length, so byte order is
 * time order; only the scheme's own names are taken for rotated files.
 */
static void
test_rotated_names(void)
{
	char	 a[32], b[32], c[32];

	capture_stamp(0, a, sizeof a);
	is_str(a, "19700101T000000.000Z", "the stamp of the epoch");
	capture_stamp(1796299200123ULL, a, sizeof a);
	is_str(a, "20261203T120000.123Z", "the stamp has milliseconds, UTC");
	capture_stamp(1796299200999ULL, b, sizeof b);
	capture_stamp(1796299201000ULL, c, sizeof c);
	ok(strcmp(a, b) < 0 && strcmp(b, c) < 0,
	    "later stamps sort after earlier ones, across a second");
	ok(capture_rotated_name("cap-", 0, "cap-20261203T120000.123Z.jsonl"),
	    "cap-STAMP.jsonl is a rotated file");
	ok(capture_rotated_name("cap-", 0,
	    "cap-20261203T120000.123Z.jsonl.gz"),
	    "cap-STAMP.jsonl.gz is a rotated file");
	ok(!capture_rotated_name("cap-", 0,
	    "cap-20261203T120000.123Z.jsonl.gz.tmp"),
	    "a compression in progress is not");
	ok(!capture_rotated_name("cap-", 0, "cap-20261203T120000Z.jsonl"),
	    "a stamp without milliseconds is not");
	ok(!capture_rotated_name("cap-", 0, "cap.jsonl"),
	    "the file being written is not");
	ok(!capture_rotated_name("cap-", 0,
	    "cap-other-20261203T120000.123Z.jsonl"),
	    "another capture's file beside it is not");
	ok(!capture_rotated_name("cap-", 0, "notes.txt"), "other files are not");
	ok(capture_rotated_name("paritytap-", 1,
	    "paritytap-20261203T120000.123Z-4242.jsonl"),
	    "directory mode: paritytap-STAMP-PID.jsonl");
	ok(!capture_rotated_name("paritytap-", 1,
	    "paritytap-20261203T120000.123Z.jsonl"),
	    "directory mode: the pid is part of the name");
}

/* Closed files are compressed whole or left as they are. */
static void
test_compress_file(void)
{
	struct capture_opts	 opts = { 0 };
	struct capture		*c;
	struct capture_reader	*r;
	struct exchange		 ex, got;
	struct stat		 st;
	char			*path, *gz, *tmp, *cause = NULL;
	int			 i, n = 0;

	xasprintf(&path, "%s/compress.jsonl", tmpdir);
	xasprintf(&gz, "%s.gz", path);
	xasprintf(&tmp, "%s.gz.tmp", path);
	opts.path = path;
	c = capture_open(&opts, &cause);
	make_exchange(&ex);
	for (i = 0; i < 5; i++)
		capture_write(c, &ex);
	capture_close(c);
	exchange_free(&ex);

	/* The temporary name is taken by a directory: nothing changes. */
	mkdir(tmp, 0700);
	ok(capture_compress_file(path, &cause) == -1 && cause != NULL &&
	    strstr(cause, tmp) != NULL, "a failed compression says which "
	    "file (%s)", cause != NULL ? cause : "none");
	free(cause);
	cause = NULL;
	is_int(count_lines(path), 5, "after a failure the plain file stays");
	ok(stat(gz, &st) != 0, "and no .gz is made");
	rmdir(tmp);

	ok(capture_compress_file(path, &cause) == 0, "compress a file");
	ok(stat(path, &st) != 0 && errno == ENOENT,
	    "the plain file is removed");
	ok(stat(tmp, &st) != 0, "no temporary file is left");
	ok(stat(gz, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "the .gz is mode 0600");
	r = capture_reader_open(gz, 0, &cause);
	while (r != NULL && capture_reader_next(r, &got, &cause) == 1) {
		exchange_free(&got);
		n++;
	}
	capture_reader_close(r);
	is_int(n, 5, "the .gz reads back with the 5 exchanges");
	ok(capture_compress_file(path, &cause) == -1 && cause != NULL &&
	    strstr(cause, path) != NULL, "a missing file is an error naming "
	    "it");
	free(cause);
	free(tmp);
	free(gz);
	free(path);
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
	d = diff_list_add_name(&ex.ex_diffs, "type", "$.n", SIDE_CANDIDATE);
	d->primary = xstrdup("integer");
	d->candidate = xstrdup("string");
	d = diff_list_add_name(&ex.ex_diffs, "header", "Content-Type", -1);
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
		is_str(diff_name(&back.ex_diffs.v[0]), "missing", "diff 0 kind");
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
/* A header diff on a secret header must not carry the secret either. */
static void
test_redaction_diffs(void)
{
	char			*redact[] = { "x-custom" };
	struct capture_opts	 plain = { 0 }, extra = { 0 }, keep = { 0 };
	struct exchange		 ex;
	struct diff		*d;
	char			*line;

	extra.redact = redact;
	extra.nredact = 1;
	keep.keep_secrets = 1;
	exchange_init(&ex, "proxy");
	strcpy(ex.ex_id, "x");
	ex.ex_req.method = xstrdup("GET");
	ex.ex_req.target = xstrdup("/");
	ex.ex_verdict = VERDICT_HEADER;
	d = diff_list_add_name(&ex.ex_diffs, "header", "set-cookie",
	    SIDE_CANDIDATE);
	d->primary = xstrdup("sid=s3cret; HttpOnly");
	d->detail = xstrdup("missing");
	d = diff_list_add_name(&ex.ex_diffs, "header", "x-custom", -1);
	d->primary = xstrdup("p-s3cret");
	d->candidate = xstrdup("c-s3cret");
	d = diff_list_add_name(&ex.ex_diffs, "header", "content-type", -1);
	d->primary = xstrdup("application/json");
	d->candidate = xstrdup("text/plain");

	line = exchange_to_line(&ex, &plain);
	ok(strstr(line, "sid=s3cret") == NULL, "a Set-Cookie header diff "
	    "does not carry the cookie");
	ok(strstr(line, "\"primary\":\"[redacted]\"") != NULL,
	    "the header diff says [redacted]");
	ok(strstr(line, "p-s3cret") != NULL, "a header not redacted keeps "
	    "its values in the diff");
	ok(strstr(line, "text/plain") != NULL, "content-type diff values kept");
	free(line);

	line = exchange_to_line(&ex, &extra);
	ok(strstr(line, "s3cret") == NULL, "--redact-header applies to header "
	    "diffs too");
	free(line);

	line = exchange_to_line(&ex, &keep);
	ok(strstr(line, "sid=s3cret") != NULL, "--keep-secrets keeps the "
	    "values in diffs");
	free(line);
	exchange_free(&ex);
}

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
	/* The next file is opened by the next line: none after a rotation. */
	n = count_lines(path);
	ok((n > 0 && n < 4) || (n == -1 && access(path, F_OK) != 0),
	    "the current file holds only the latest lines, or is not made "
	    "until a line comes (%d)", n);
	is_int(count_rotated(dir, "cap-"), files - (n > 0),
	    "full files renamed cap-YYYYMMDDTHHMMSS.mmmZ.jsonl");
	ok(names_in_time_order(dir, "cap-"),
	    "the rotated names sort in the order they were written");
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
		good = capture_rotated_name("paritytap-", 1, name) &&
		    strlen(name) == 10 + 20 + strlen(want) &&
		    strcmp(name + 30, want) == 0;
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
	ok(good, "file named paritytap-YYYYMMDDTHHMMSS.mmmZ-<pid>.jsonl (%s)",
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

	d = diff_list_add_name(&ex.ex_diffs, "type", "$.line_offset",
	    SIDE_CANDIDATE);
	d->primary = xstrdup("integer");
	d->candidate = xstrdup("string");
	d = diff_list_add_name(&ex.ex_diffs, "header", "Content-Type", -1);
	d = diff_list_add_name(&ex.ex_diffs, "header", "X-Foo", SIDE_CANDIDATE);
	d->detail = xstrdup("missing");
	diff_list_add_name(&ex.ex_diffs, "value", "$.n", -1);
	diff_list_add_name(&ex.ex_diffs, "status", NULL, -1);
	diff_list_add_name(&ex.ex_diffs, "invalid_json", NULL, SIDE_PRIMARY);
	diff_list_add_name(&ex.ex_diffs, "duplicate_key", "$.a", SIDE_CANDIDATE);
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
	diff_list_add_name(&ex.ex_diffs, "error", NULL, SIDE_CANDIDATE);
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

/* json_dumps flags of a capture line (DESIGN §3). */
#define LINE_FLAGS	(JSON_COMPACT | JSON_REAL_PRECISION(15))

/* Return json_dumps of exchange_to_json: what a capture line must be. */
static char *
line_of_tree(const struct exchange *ex, const struct capture_opts *opts)
{
	json_t	*obj;
	char	*s;

	obj = exchange_to_json(ex, opts);
	s = json_dumps(obj, LINE_FLAGS);
	json_decref(obj);
	if (s == NULL)
		fatalx("%s: json_dumps failed", __func__);
	return (s);
}

/*
 * A secondary that is the primary asked twice (--self-check): both
 * writers mark it "self_check":true in responses.secondary, both readers
 * read the mark back, and a mark on another side is not taken for it.
 */
static void
test_self_check(void)
{
	struct exchange	 ex, back;
	json_t		*obj;
	char		*line, *tree, *cause = NULL;
	const char	*other;

	make_exchange(&ex);
	/* The plain reader takes lines without diffs only. */
	diff_list_free(&ex.ex_diffs);
	diff_list_init(&ex.ex_diffs, 0);
	set_side(&ex.ex_resp[SIDE_SECONDARY], 400, "{\"Schema\":{}}", 1.5);
	ex.ex_self_check = 1;
	line = exchange_to_line(&ex, NULL);
	ok(strstr(line, "\"secondary\":{\"status\":400,") != NULL &&
	    strstr(line, "\"ms\":1.5,\"self_check\":true}}") != NULL,
	    "self_check: the line marks responses.secondary, last");
	tree = line_of_tree(&ex, NULL);
	is_str(tree, line, "self_check: the jansson writer gives the same bytes");
	free(tree);

	exchange_init(&back, NULL);
	is_int(capture_fast_read(line, strlen(line), &back), 0,
	    "self_check: the plain reader takes the line");
	is_int(back.ex_self_check, 1, "self_check: the plain reader reads it");
	exchange_free(&back);
	exchange_init(&back, NULL);
	obj = json_loads(line, 0, NULL);
	is_int(exchange_from_json(obj, &back, &cause), 0,
	    "self_check: the jansson reader takes the line");
	is_int(back.ex_self_check, 1, "self_check: the jansson reader reads it");
	json_decref(obj);
	exchange_free(&back);
	free(line);

	ex.ex_self_check = 0;
	line = exchange_to_line(&ex, NULL);
	ok(strstr(line, "self_check") == NULL,
	    "a second copy's secondary carries no self_check");
	free(line);
	exchange_free(&ex);

	/* The mark belongs to the secondary only. */
	other = "{\"paritytap\":1,\"id\":\"x\",\"request\":{\"method\":"
	    "\"GET\",\"target\":\"/\"},\"responses\":{\"primary\":"
	    "{\"status\":200},\"candidate\":{\"status\":200,"
	    "\"self_check\":true}},\"verdict\":\"match\"}";
	exchange_init(&back, NULL);
	if (capture_fast_read(other, strlen(other), &back) == 0)
		is_int(back.ex_self_check, 0, "self_check on the candidate: "
		    "not a self-check (plain reader)");
	else
		ok(1, "self_check on the candidate: the plain reader leaves it");
	exchange_free(&back);
	exchange_init(&back, NULL);
	obj = json_loads(other, 0, NULL);
	is_int(exchange_from_json(obj, &back, &cause), 0,
	    "self_check on the candidate: read");
	is_int(back.ex_self_check, 0,
	    "self_check on the candidate: not a self-check (jansson reader)");
	json_decref(obj);
	exchange_free(&back);
	free(cause);
}

/*
 * Return 1 if exchange_to_line(ex, opts) is json_dumps(exchange_to_json)
 * byte for byte; else print where they part (once per call of quiet 0).
 */
static int
line_same(const struct exchange *ex, const struct capture_opts *opts,
    int quiet)
{
	char	*got, *want;
	size_t	 i;
	int	 same;

	got = exchange_to_line(ex, opts);
	want = line_of_tree(ex, opts);
	same = strcmp(got, want) == 0;
	if (!same && !quiet) {
		for (i = 0; got[i] != '\0' && got[i] == want[i]; i++)
			;
		printf("#   part at byte %zu\n#   got:  %.200s\n#   want: "
		    "%.200s\n", i, got + (i > 40 ? i - 40 : 0),
		    want + (i > 40 ? i - 40 : 0));
	}
	free(got);
	free(want);
	return (same);
}

/* Fill ex with a GET and no responses. */
static void
make_get(struct exchange *ex)
{
	exchange_init(ex, "proxy");
	strcpy(ex->ex_id, "0123456789abcdef-01234567");
	ex->ex_ts.tv_sec = 1777716000;
	ex->ex_ts.tv_usec = 42;
	ex->ex_req.method = xstrdup("GET");
	ex->ex_req.target = xstrdup("/");
	ex->ex_req.major = ex->ex_req.minor = 1;
}

/* Replace a string held by ex with a copy of len bytes of s. */
static void
set_str(char **to, const char *s, size_t len)
{
	free(*to);
	*to = xstrndup(s, len);
}

/* Set the body of a buffer to len bytes of s. */
static void
set_body(struct buf *b, const char *s, size_t len)
{
	buf_reset(b);
	buf_add(b, s, len);
}

/* Bytes no text may hold as they are: controls, quotes, NUL, bad UTF-8. */
static const char awkward[] = "\x01\x02\x07\b\t\n\v\f\r\x0e\x1b\x1f "
    "\"\\/\x7f" "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbb\xbf"
    "\xe2\x80\xa8\xef\xbf\xbd";

/* An exchange with nothing set. */
static void
case_minimal(struct exchange *ex)
{
	exchange_init(ex, NULL);
}

/* The exchange of DESIGN §3. */
static void
case_golden(struct exchange *ex)
{
	make_exchange(ex);
}

/* Empty bodies on every side. */
static void
case_empty_bodies(struct exchange *ex)
{
	make_exchange(ex);
	set_body(&ex->ex_req.body, "", 0);
	set_body(&ex->ex_resp[SIDE_PRIMARY].body, "", 0);
	set_body(&ex->ex_resp[SIDE_CANDIDATE].body, "", 0);
	ex->ex_resp[SIDE_CANDIDATE].body_bytes = 0;
}

/* Bodies that are not UTF-8, one cut inside a character. */
static void
case_binary_bodies(struct exchange *ex)
{
	make_exchange(ex);
	set_body(&ex->ex_req.body, "\x00\x01\xff\xfe", 4);
	set_body(&ex->ex_resp[SIDE_PRIMARY].body, "\x89PNG\r\n\x1a\n\0", 9);
	set_body(&ex->ex_resp[SIDE_CANDIDATE].body, "ok\xc3", 3);
}

/* Text bodies with NUL bytes. */
static void
case_nul_bodies(struct exchange *ex)
{
	make_exchange(ex);
	set_body(&ex->ex_req.body, "\0", 1);
	set_body(&ex->ex_resp[SIDE_PRIMARY].body, "a\0b\0\0c", 6);
	set_body(&ex->ex_resp[SIDE_CANDIDATE].body, "\0\0\0\0\0\0\0\0\0", 9);
}

/* Escapes and UTF-8 in every text field. */
static void
case_awkward_text(struct exchange *ex)
{
	struct diff	*d;

	make_exchange(ex);
	set_str(&ex->ex_req.method, awkward, sizeof awkward - 1);
	set_str(&ex->ex_req.target, awkward, sizeof awkward - 1);
	set_str(&ex->ex_route, awkward, sizeof awkward - 1);
	headers_add(&ex->ex_req.headers, awkward, sizeof awkward - 1, awkward,
	    sizeof awkward - 1);
	set_body(&ex->ex_req.body, awkward, sizeof awkward - 1);
	set_body(&ex->ex_resp[SIDE_PRIMARY].body, awkward, sizeof awkward - 1);
	ex->ex_resp[SIDE_PRIMARY].error_detail = xstrdup(awkward);
	d = diff_list_add_name(&ex->ex_diffs, awkward, awkward, SIDE_PRIMARY);
	d->primary = xstrdup(awkward);
	d->candidate = xstrdup(awkward);
	d->detail = xstrdup(awkward);
}

/* Every control byte and the bytes from 0x60 to 0x7f. */
static void
case_all_controls(struct exchange *ex)
{
	char	 c[64];
	int	 i;

	make_exchange(ex);
	for (i = 0; i < 64; i++)
		c[i] = (char)(i < 32 ? i : i + 64);
	set_body(&ex->ex_resp[SIDE_PRIMARY].body, c, sizeof c);
	headers_add(&ex->ex_req.headers, "X-C", 3, c + 1, sizeof c - 1);
	set_str(&ex->ex_req.target, c + 1, sizeof c - 1);
}

/* Invalid UTF-8 in every text field, each of its own kind. */
static void
case_invalid_utf8(struct exchange *ex)
{
	struct diff	*d;

	make_exchange(ex);
	strcpy(ex->ex_id, "id-\xff\xfe");
	set_str(&ex->ex_req.method, "G\xc0\x80T", 4);
	set_str(&ex->ex_req.target, "/caf\xe9?q=\xed\xa0\x80", 11);
	set_str(&ex->ex_route, "GET /\xf4\x90\x80\x80", 9);
	headers_add(&ex->ex_req.headers, "X-\xe9", 3, "v\xe0\x80\xaf", 4);
	headers_add(&ex->ex_req.headers, "X-Cut", 5, "\xe2\x82", 2);
	headers_add(&ex->ex_resp[SIDE_PRIMARY].headers, "\x80", 1,
	    "\xf8\x88\x80\x80\x80", 5);
	ex->ex_resp[SIDE_PRIMARY].error = "reset";
	ex->ex_resp[SIDE_PRIMARY].error_detail = xstrdup("peer \xff said");
	ex->ex_verdict = VERDICT_SKIPPED;
	ex->ex_skip_reason = xstrdup("not \xc1\xbf json");
	d = diff_list_add_name(&ex->ex_diffs, "k\xff", "$.\xfe", SIDE_PRIMARY);
	d->primary = xstrdup("\xc3");
	d->candidate = xstrdup("\xed\xbf\xbf");
	d->detail = xstrdup("a\xf5" "b");
}

/* Characters of every length up to U+10FFFF. */
static void
case_unicode(struct exchange *ex)
{
	make_exchange(ex);
	set_str(&ex->ex_req.target, "/\xe6\x97\xa5\xe6\x9c\xac?\xf4\x8f\xbf\xbf",
	    11);
	headers_add(&ex->ex_req.headers, "X-U", 3,
	    "\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80", 14);
	set_body(&ex->ex_resp[SIDE_PRIMARY].body,
	    "{\"name\":\"J\xc3\xbcrgen \xe2\x9c\x93\",\"e\":\"\\u00e9\"}", 36);
}

/* A text body over a 16-byte limit. */
static void
case_cut_text(struct exchange *ex)
{
	make_exchange(ex);
	set_body(&ex->ex_req.body, "0123456789abcdefXYZ", 19);
}

/* Bodies a 16-byte limit cuts inside a character. */
static void
case_cut_char(struct exchange *ex)
{
	make_exchange(ex);
	/* The cut at 16 falls inside a 4-byte character, then a 3-byte one. */
	set_body(&ex->ex_req.body, "0123456789abcd\xf0\x9f\x98\x80zz", 20);
	set_body(&ex->ex_resp[SIDE_PRIMARY].body,
	    "0123456789abcde\xe2\x82\xac", 18);
	set_body(&ex->ex_resp[SIDE_CANDIDATE].body,
	    "0123456789abcdef\x80\x80\x80\x80", 20);
}

/* Binary bodies over a 16-byte limit. */
static void
case_cut_binary(struct exchange *ex)
{
	make_exchange(ex);
	set_body(&ex->ex_req.body, "\xff" "123456789abcdefghij", 20);
	set_body(&ex->ex_resp[SIDE_PRIMARY].body,
	    "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80"
	    "\x80\x80", 18);
}

/* Bodies at the 16-byte limit and one byte over. */
static void
case_cut_exact(struct exchange *ex)
{
	make_exchange(ex);
	set_body(&ex->ex_req.body, "0123456789abcdef", 16);
	set_body(&ex->ex_resp[SIDE_PRIMARY].body, "0123456789abcdefg", 17);
}

/* Bodies truncated before capture, sha256 given or not UTF-8. */
static void
case_truncated_flags(struct exchange *ex)
{
	make_exchange(ex);
	ex->ex_req_truncated = 1;
	ex->ex_resp[SIDE_PRIMARY].truncated = 1;
	ex->ex_resp[SIDE_PRIMARY].body_bytes = 1 << 20;
	ex->ex_resp[SIDE_PRIMARY].body_sha256 = xstrdup("ab12");
	ex->ex_resp[SIDE_CANDIDATE].truncated = 1;
	ex->ex_resp[SIDE_CANDIDATE].body_sha256 = xstrdup("\xff\x01\"");
	set_body(&ex->ex_resp[SIDE_CANDIDATE].body, "0123456789abcdefghi", 19);
}

/* A body truncated before capture, no sha256 given. */
static void
case_truncated_no_sha(struct exchange *ex)
{
	make_exchange(ex);
	ex->ex_resp[SIDE_PRIMARY].truncated = 1;
	set_body(&ex->ex_resp[SIDE_PRIMARY].body, "0123456789abcdefghi", 19);
}

/* Secret headers in any case, near misses and extra redactions. */
static void
case_secrets(struct exchange *ex)
{
	make_exchange(ex);
	headers_add(&ex->ex_req.headers, "AUTHORIZATION", 13, "x", 1);
	headers_add(&ex->ex_req.headers, "proxy-authorization", 19, "y", 1);
	headers_add(&ex->ex_req.headers, "Cookie", 6, "s=\xff", 3);
	headers_add(&ex->ex_req.headers, "Authorization ", 14, "z", 1);
	headers_add(&ex->ex_req.headers, "X-Api-Key", 9, "", 0);
	headers_add(&ex->ex_req.headers, "X-Secret", 8, "k", 1);
	headers_add(&ex->ex_req.headers, "x-secret", 8, "k", 1);
	headers_add(&ex->ex_req.headers, "X-Secre", 7, "k", 1);
	headers_add(&ex->ex_resp[SIDE_PRIMARY].headers, "set-cookie", 10,
	    "a=b", 3);
	headers_add(&ex->ex_resp[SIDE_PRIMARY].headers, "", 0, "", 0);
}

/* The most headers a message may have. */
static void
case_many_headers(struct exchange *ex)
{
	char	 name[32], value[32];
	int	 i;

	make_exchange(ex);
	for (i = 0; i < HTTP_MAX_HEADERS; i++) {
		snprintf(name, sizeof name, "X-H%d", i);
		snprintf(value, sizeof value, "%d\t\"%d\"", i, i * i);
		headers_add(&ex->ex_resp[SIDE_CANDIDATE].headers, name,
		    strlen(name), value, strlen(value));
	}
}

/* An imported exchange: the primary alone. */
static void
case_only_primary(struct exchange *ex)
{
	make_exchange(ex);
	response_side_free(&ex->ex_resp[SIDE_CANDIDATE]);
	ex->ex_verdict = VERDICT_RECORDED;
	ex->ex_source = "import";
}

/* The candidate alone. */
static void
case_only_candidate(struct exchange *ex)
{
	make_exchange(ex);
	response_side_free(&ex->ex_resp[SIDE_PRIMARY]);
	ex->ex_verdict = VERDICT_PRIMARY_ERROR;
}

/* All three sides, the secondary failed. */
static void
case_three_sides(struct exchange *ex)
{
	make_exchange(ex);
	set_side(&ex->ex_resp[SIDE_SECONDARY], 503, "down", 30000.5);
	ex->ex_resp[SIDE_SECONDARY].error = "bad_response";
}

/* A skipped request without responses. */
static void
case_no_sides(struct exchange *ex)
{
	make_get(ex);
	ex->ex_verdict = VERDICT_SKIPPED;
}

/* Both sides failed, one error name not UTF-8. */
static void
case_errors(struct exchange *ex)
{
	make_exchange(ex);
	ex->ex_resp[SIDE_PRIMARY].status = 0;
	ex->ex_resp[SIDE_PRIMARY].error = "timeout";
	ex->ex_resp[SIDE_PRIMARY].error_detail = xstrdup("after 5000 ms");
	ex->ex_resp[SIDE_CANDIDATE].status = 0;
	ex->ex_resp[SIDE_CANDIDATE].error = "c\xffnnect";
	ex->ex_resp[SIDE_CANDIDATE].error_detail = xstrdup("");
	ex->ex_verdict = VERDICT_BOTH_FAILED;
}

/* A skipped exchange and its reason. */
static void
case_skipped(struct exchange *ex)
{
	make_exchange(ex);
	ex->ex_verdict = VERDICT_SKIPPED;
	ex->ex_skip_reason = xstrdup("sampled \"out\"\n");
}

/* A skip reason the verdict does not show. */
static void
case_reason_not_skipped(struct exchange *ex)
{
	make_exchange(ex);
	ex->ex_skip_reason = xstrdup("kept only when skipped");
}

/* Negative and huge statuses, counts, versions and times. */
static void
case_odd_numbers(struct exchange *ex)
{
	make_exchange(ex);
	ex->ex_req.major = 10;
	ex->ex_req.minor = -12;
	ex->ex_resp[SIDE_PRIMARY].status = -1;
	ex->ex_resp[SIDE_PRIMARY].body_bytes = UINT64_MAX;
	ex->ex_resp[SIDE_CANDIDATE].status = 2147483647;
	ex->ex_resp[SIDE_CANDIDATE].body_bytes = (uint64_t)1 << 63;
	ex->ex_ts.tv_sec = -1;
	ex->ex_ts.tv_usec = 999999;
}

/* A source that is not UTF-8, an unknown verdict, an empty id. */
static void
case_odd_source(struct exchange *ex)
{
	make_exchange(ex);
	ex->ex_source = "sn\xffiff";
	ex->ex_verdict = (enum verdict)42;
	free(ex->ex_route);
	ex->ex_route = NULL;
	ex->ex_id[0] = '\0';
	ex->ex_req.major = 1;
	ex->ex_req.minor = 0;
}

/* The longest trace id and HTTP/2.0. */
static void
case_long_id(struct exchange *ex)
{
	make_exchange(ex);
	memset(ex->ex_id, 'f', TRACE_ID_MAX);
	ex->ex_id[TRACE_ID_MAX] = '\0';
	ex->ex_req.major = 2;
	ex->ex_req.minor = 0;
}

/* More diffs than the list holds. */
static void
case_diffs_truncated(struct exchange *ex)
{
	int	 i;

	make_exchange(ex);
	diff_list_free(&ex->ex_diffs);
	diff_list_init(&ex->ex_diffs, 3);
	for (i = 0; i < 5; i++)
		diff_list_add_name(&ex->ex_diffs, "value", "$.a", -1);
}

/* 200 KB bodies, text and binary. */
static void
case_big_body(struct exchange *ex)
{
	static const char	 text[] = "{\"k\":\"v\xc3\xa9\"}\n";
	static const char	 binary[] = { '\xff', '\0', '\x80', 'z' };
	size_t			 i;

	make_exchange(ex);
	buf_reset(&ex->ex_resp[SIDE_PRIMARY].body);
	for (i = 0; i < 200000; i++)
		buf_add(&ex->ex_resp[SIDE_PRIMARY].body,
		    &text[i % (sizeof text - 1)], 1);
	set_body(&ex->ex_resp[SIDE_CANDIDATE].body, "", 0);
	for (i = 0; i < 200000; i++)
		buf_add(&ex->ex_resp[SIDE_CANDIDATE].body,
		    &binary[i % sizeof binary], 1);
}

/* Compress len bytes of data into out: zlib's windowBits pick the form. */
static void
zip_bytes(struct buf *out, const char *data, size_t len, int window)
{
	z_stream	 z;
	unsigned char	 chunk[4096];
	int		 ret;

	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		fatalx("deflateInit2");
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	buf_reset(out);
	do {
		z.next_out = chunk;
		z.avail_out = sizeof chunk;
		ret = deflate(&z, Z_FINISH);
		buf_add(out, chunk, sizeof chunk - z.avail_out);
	} while (ret == Z_OK || ret == Z_BUF_ERROR);
	if (ret != Z_STREAM_END)
		fatalx("deflate");
	deflateEnd(&z);
}

/* Give a side a body of len bytes sent under coding (zlib's window). */
static void
set_coded(struct response_side *rs, const char *coding, int window,
    const char *data, size_t len)
{
	rs->present = 1;
	rs->status = 200;
	headers_add(&rs->headers, "Content-Type", 12, "application/json", 16);
	headers_add(&rs->headers, "Content-Encoding", 16, coding,
	    strlen(coding));
	zip_bytes(&rs->body, data, len, window);
	rs->body_bytes = rs->body.len;
}

/* Bodies sent gzip, raw deflate, and a gzip that is not. */
static void
case_coded_bodies(struct exchange *ex)
{
	static const char	 json[] = "{\"user\":{\"name\":\"Zo\xc3\xab\"},"
				    "\"n\":[1,2,3]}";

	make_get(ex);
	set_coded(&ex->ex_resp[SIDE_PRIMARY], "gzip", 15 + 16, json,
	    sizeof json - 1);
	set_coded(&ex->ex_resp[SIDE_CANDIDATE], "deflate", -15, json,
	    sizeof json - 1);
	set_coded(&ex->ex_resp[SIDE_SECONDARY], "gzip", 15 + 16, json,
	    sizeof json - 1);
	ex->ex_resp[SIDE_SECONDARY].body.data[12] ^= 0x55;
}

/* The limits and redaction settings each hand-written case runs under. */
static char *line_redact[] = { "X-Secret", "cookie" };
static const struct capture_opts line_opts[] = {
	{ .body_limit = 0 },
	{ .body_limit = 16 },
	{ .body_limit = 1 },
	{ .keep_secrets = 1, .body_limit = 16 },
	{ .redact = line_redact, .nredact = 2 },
	{ .keep_secrets = 1, .redact = line_redact, .nredact = 2 },
	{ .raw_bodies = 1 },
	{ .raw_bodies = 1, .body_limit = 16 },
};

/* Hand-written exchanges for the line/tree comparison. */
static const struct {
	const char	*name;
	void		(*fill)(struct exchange *);
} line_cases[] = {
	{ "minimal", case_minimal },
	{ "golden", case_golden },
	{ "empty bodies", case_empty_bodies },
	{ "binary bodies", case_binary_bodies },
	{ "NUL bytes in bodies", case_nul_bodies },
	{ "escapes everywhere", case_awkward_text },
	{ "every control byte", case_all_controls },
	{ "invalid UTF-8 in every text", case_invalid_utf8 },
	{ "unicode", case_unicode },
	{ "text cut", case_cut_text },
	{ "cut inside characters", case_cut_char },
	{ "binary cut", case_cut_binary },
	{ "cut at the limit exactly", case_cut_exact },
	{ "truncated flags and given sha256", case_truncated_flags },
	{ "truncated, no sha256 given", case_truncated_no_sha },
	{ "secrets and redaction", case_secrets },
	{ "100 headers", case_many_headers },
	{ "primary only", case_only_primary },
	{ "candidate only", case_only_candidate },
	{ "three sides", case_three_sides },
	{ "no sides", case_no_sides },
	{ "errors", case_errors },
	{ "skipped with reason", case_skipped },
	{ "reason but not skipped", case_reason_not_skipped },
	{ "odd numbers", case_odd_numbers },
	{ "odd source, verdict, id", case_odd_source },
	{ "longest id", case_long_id },
	{ "diffs truncated", case_diffs_truncated },
	{ "200 KB bodies", case_big_body },
	{ "gzip, deflate and corrupt bodies", case_coded_bodies },
};

/* The line writer against the tree: hand-written cases, every option. */
static void
test_line_cases(void)
{
	struct exchange	 ex;
	size_t		 i, j, bad;

	for (i = 0; i < sizeof line_cases / sizeof line_cases[0]; i++) {
		line_cases[i].fill(&ex);
		bad = 0;
		for (j = 0; j < sizeof line_opts / sizeof line_opts[0]; j++) {
			if (!line_same(&ex, &line_opts[j], bad != 0))
				bad++;
		}
		if (!line_same(&ex, NULL, bad != 0))
			bad++;
		ok(bad == 0, "line is the tree's dump: %s", line_cases[i].name);
		exchange_free(&ex);
	}
}

/* Every verdict, and every mix of diff fields. */
static void
test_line_verdicts(void)
{
	static const int	 sides[] = { -1, SIDE_PRIMARY, SIDE_CANDIDATE,
				    SIDE_SECONDARY, SIDE_MAX, 7 };
	struct exchange		 ex;
	struct diff		*d;
	size_t			 bad = 0;
	int			 v, mask, s;

	for (v = VERDICT_MATCH; v <= VERDICT_NONE + 1; v++) {
		make_exchange(&ex);
		ex.ex_verdict = v;
		ex.ex_skip_reason = xstrdup("why");
		if (!line_same(&ex, NULL, bad != 0))
			bad++;
		exchange_free(&ex);
	}
	ok(bad == 0, "line is the tree's dump: every verdict");

	make_get(&ex);
	for (mask = 0; mask < 32; mask++) {
		for (s = 0; s < (int)(sizeof sides / sizeof sides[0]); s++) {
			d = diff_list_add_name(&ex.ex_diffs, "value",
			    mask & 1 ? "$.a[0]" : NULL, sides[s]);
			if (d == NULL)
				continue;
			if (mask & 2)
				d->primary = xstrdup("1");
			if (mask & 4)
				d->candidate = xstrdup("\"1\"");
			if (mask & 8)
				d->detail = xstrdup("");
			if (mask & 16)
				d->kind = DIFF_OTHER;	/* no name */
		}
		if (!line_same(&ex, NULL, bad != 0))
			bad++;
		diff_list_free(&ex.ex_diffs);
		diff_list_init(&ex.ex_diffs, 1000);
	}
	exchange_free(&ex);
	ok(bad == 0, "line is the tree's dump: every mix of diff fields");
}

/* Latencies: "ms" prints as jansson prints the rounded real. */
static void
test_line_ms(void)
{
	static const double	 ms[] = { 0, -0.0, -1, 1e-9, 0.004, 0.005,
				    0.0049999, 0.015, 0.1, 0.5, 1, 1.84, 1.8412,
				    2, 2.0699, 10, 99.995, 100, 123456.789,
				    1e11, 999999999999.99, 999999999999.999,
				    1e12 - 0.001, 1e12, 1e15, 1e300, DBL_MAX,
				    DBL_MIN, NAN, INFINITY, -INFINITY };
	struct exchange		 ex;
	size_t			 i, bad = 0;
	uint64_t		 x = 0x9e3779b97f4a7c15ULL;
	double			 ms_i;

	make_get(&ex);
	set_side(&ex.ex_resp[SIDE_PRIMARY], 200, "{}", 0);
	for (i = 0; i < sizeof ms / sizeof ms[0]; i++) {
		ex.ex_resp[SIDE_PRIMARY].ms = ms[i];
		if (!line_same(&ex, NULL, bad != 0))
			bad++;
	}
	ok(bad == 0, "line is the tree's dump: odd latencies");

	/* Every hundredth up to 100 ms, then a wide spread; three a line. */
	set_side(&ex.ex_resp[SIDE_CANDIDATE], 200, "{}", 0);
	set_side(&ex.ex_resp[SIDE_SECONDARY], 200, "{}", 0);
	for (i = 0; i < LINE_MS; i++) {
		if (i < 10000)
			ms_i = i / 100.0;
		else {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			ms_i = (x >> 11) * (1.0 / 9007199254740992.0) *
			    pow(10, (int)(x % 16) - 3);
		}
		ex.ex_resp[i % SIDE_MAX].ms = ms_i;
		if (i % SIDE_MAX == SIDE_MAX - 1 &&
		    !line_same(&ex, NULL, bad != 0))
			bad++;
	}
	exchange_free(&ex);
	ok(bad == 0, "line is the tree's dump: %d latencies", LINE_MS);
}

/* Byte strings of 1 to 4 bytes, for the UTF-8 acceptance test. */
struct utf8_strings {
	unsigned char	(*s)[4];
	size_t		*n;
	size_t		 count;
	size_t		 cap;
};

/* Add a string of n bytes to the list. */
static void
utf8_add(struct utf8_strings *u, const unsigned char *s, size_t n)
{
	if (u->count == u->cap) {
		u->cap = u->cap ? u->cap * 2 : 1024;
		u->s = xreallocarray(u->s, u->cap, sizeof *u->s);
		u->n = xreallocarray(u->n, u->cap, sizeof *u->n);
	}
	memcpy(u->s[u->count], s, n);
	u->n[u->count++] = n;
}

/*
 * UTF-8 acceptance as json_stringn's: every 1- and 2-byte string, and
 * the 3- and 4-byte ones around each lead byte's limits (overlongs,
 * surrogates, past U+10FFFF, cut sequences).  Each goes, between plain
 * bytes, into a header value (lossy text plus value_b64 exactly when
 * jansson refuses it); one in eight also goes into a body (text or
 * base64).
 */
static void
test_line_utf8(void)
{
	static const unsigned char	 tails[] = { 0x00, 0x41, 0x7f, 0x80,
					    0x8f, 0x90, 0x9f, 0xa0, 0xbf,
					    0xc0, 0xff };
	struct utf8_strings		 u = { 0 };
	struct exchange			 ex;
	struct buf			*body;
	unsigned char			 s[4];
	char				 value[32];
	size_t				 bad = 0, i, j, k;
	unsigned			 a, b;

	for (a = 0; a < 256; a++) {
		s[0] = a;
		utf8_add(&u, s, 1);
		for (b = 0; b < 256; b++) {
			s[1] = b;
			utf8_add(&u, s, 2);
			if (a < 0xe0 || a > 0xf5)
				continue;
			for (i = 0; i < sizeof tails; i++) {
				s[2] = tails[i];
				utf8_add(&u, s, 3);
				if (a < 0xf0 || (b & 0xc0) != 0x80 ||
				    (tails[i] & 0xc0) != 0x80)
					continue;
				for (j = 0; j < sizeof tails; j++) {
					s[3] = tails[j];
					utf8_add(&u, s, 4);
				}
			}
		}
	}

	for (i = 0; i < u.count; i += 32) {
		make_get(&ex);
		for (j = i; j < i + 32 && j < u.count; j++) {
			memcpy(value, "0123456789", 10);
			memcpy(value + 10, u.s[j], u.n[j]);
			value[10 + u.n[j]] = 'x';
			headers_add(&ex.ex_req.headers, "X", 1, value,
			    11 + u.n[j]);
		}
		for (k = 0; k < 4; k++) {
			j = i + (k * 9 + i / 32) % 32;
			if (j >= u.count)
				continue;
			body = k == 0 ? &ex.ex_req.body :
			    &ex.ex_resp[k - 1].body;
			if (k != 0)
				ex.ex_resp[k - 1].present = 1;
			set_body(body, (char *)u.s[j], u.n[j]);
		}
		if (!line_same(&ex, NULL, bad != 0))
			bad++;
		exchange_free(&ex);
	}
	ok(bad == 0, "line is the tree's dump: %zu short byte strings, "
	    "UTF-8 or not", u.count);
	free(u.s);
	free(u.n);
}

/* State of the fixed-seed generator behind the random exchanges. */
static uint64_t	 rnd_state = 0x2545f4914f6cdd1dULL;

/* Return the next number of the fixed-seed generator (xorshift64*). */
static uint64_t
rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return (rnd_state * 0x2545f4914f6cdd1dULL);
}

/* Return a random number below n. */
static size_t
rnd_n(size_t n)
{
	return ((size_t)(rnd() % n));
}

/*
 * Append about len random bytes to b in one of four moods: ASCII letters,
 * letters with awkward pieces, valid UTF-8 with escapes, any bytes.
 */
static void
rnd_bytes(struct buf *b, size_t len)
{
	static const char	*pieces[] = { "\"", "\\", "/", "\n", "\t",
				    "\x01", "\x1f", "\x7f", "", "\xc3\xa9",
				    "\xe2\x82\xac", "\xf0\x9f\x98\x80",
				    "\xef\xbf\xbd", "\xe2\x80\xa8", "\xc3",
				    "\x80", "\xff", "\xed\xa0\x80",
				    "\xf4\x90\x80\x80", "\xc0\xaf", "\xe0\x80",
				    "{\"a\":[1,2.5,\"x\"]}" };
	size_t			 mood = rnd_n(4), end = b->len + len, i;
	char			 c;

	while (b->len < end) {
		if (mood == 3 || (mood != 0 && rnd_n(8) == 0)) {
			i = mood == 3 ? rnd_n(256) : rnd_n(sizeof pieces /
			    sizeof pieces[0]);
			if (mood == 3) {
				c = (char)i;
				buf_add(b, &c, 1);
			} else if (pieces[i][0] == '\0')
				buf_add(b, "", 1);
			else if (mood == 2 && i >= 14 && i <= 20)
				buf_add(b, "\xc2\xa0", 2);
			else
				buf_addstr(b, pieces[i]);
		} else {
			c = (char)(' ' + rnd_n(95));
			buf_add(b, &c, 1);
		}
	}
}

/* Return a new random string of up to max bytes (a NUL ends it early). */
static char *
rnd_string(size_t max)
{
	struct buf	 b;
	char		*s;

	buf_init(&b);
	rnd_bytes(&b, rnd_n(max + 1));
	s = xstrndup(b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	return (s);
}

/* Add up to max random headers, some of them secrets. */
static void
rnd_headers(struct headers *hs, size_t max)
{
	static const char	*names[] = { "Content-Type", "Authorization",
				    "cookie", "Set-Cookie", "X-API-KEY",
				    "Proxy-Authorization", "X-Secret", "Date" };
	size_t			 n = rnd_n(max + 1), i;
	char			*name, *value;

	for (i = 0; i < n; i++) {
		if (rnd_n(2) == 0)
			name = xstrdup(names[rnd_n(sizeof names /
			    sizeof names[0])]);
		else
			name = rnd_string(20);
		value = rnd_string(rnd_n(4) == 0 ? 200 : 30);
		headers_add(hs, name, strlen(name), value, strlen(value));
		free(name);
		free(value);
	}
}

/* Return a random latency: odd values, hundredths, or any magnitude. */
static double
rnd_ms(void)
{
	static const double	 odd[] = { 0, -3, 0.004, 0.005, 1e12, 1e13,
				    NAN, INFINITY, 999999999999.995 };
	double			 unit;

	switch (rnd_n(3)) {
	case 0:
		return (odd[rnd_n(sizeof odd / sizeof odd[0])]);
	case 1:
		return (rnd_n(10000000) / 100.0);
	default:
		unit = (rnd() >> 11) * (1.0 / 9007199254740992.0);
		return (unit * pow(10, (double)rnd_n(16) - 3));
	}
}

/* Fill a random response side. */
static void
rnd_side(struct response_side *rs)
{
	static const char	*errors[] = { "timeout", "connect", "reset",
				    "too_large", "bad_response" };
	static const int	 statuses[] = { 0, 200, 204, 404, 500, 503 };

	rs->present = 1;
	rs->status = rnd_n(4) == 0 ? (int)rnd_n(1000) :
	    statuses[rnd_n(sizeof statuses / sizeof statuses[0])];
	rnd_headers(&rs->headers, 6);
	rnd_bytes(&rs->body, rnd_n(4) == 0 ? rnd_n(3000) : rnd_n(120));
	rs->body_bytes = rnd_n(4) == 0 ? rs->body.len + rnd_n(1000000) :
	    rs->body.len;
	rs->truncated = rnd_n(8) == 0;
	if (rnd_n(2) == 0)
		rs->body_sha256 = rnd_string(64);
	rs->ms = rnd_ms();
	if (rnd_n(5) == 0)
		rs->error = errors[rnd_n(sizeof errors / sizeof errors[0])];
	if (rnd_n(5) == 0)
		rs->error_detail = rnd_string(40);
}

/* Fill ex with a random exchange. */
static void
rnd_exchange(struct exchange *ex)
{
	static const char	*sources[] = { "proxy", "replay", "sniff",
				    "import", "record", NULL, "x\xffy" };
	struct diff		*d;
	char			*s;
	size_t			 i, n;

	exchange_init(ex, sources[rnd_n(sizeof sources / sizeof sources[0])]);
	s = rnd_string(TRACE_ID_MAX);
	strcpy(ex->ex_id, s);
	free(s);
	ex->ex_ts.tv_sec = (time_t)rnd_n(4000000000ULL) - 100000000;
	ex->ex_ts.tv_usec = (long)rnd_n(1000000);
	if (rnd_n(3) != 0)
		ex->ex_route = rnd_string(40);
	if (rnd_n(10) != 0)
		ex->ex_req.method = rnd_string(8);
	if (rnd_n(10) != 0)
		ex->ex_req.target = rnd_string(80);
	ex->ex_req.major = ex->ex_req.minor = 1;
	if (rnd_n(4) == 0) {
		ex->ex_req.major = (int)rnd_n(25) - 5;
		ex->ex_req.minor = (int)rnd_n(25) - 5;
	}
	rnd_headers(&ex->ex_req.headers, 8);
	rnd_bytes(&ex->ex_req.body, rnd_n(3) == 0 ? rnd_n(500) : 0);
	ex->ex_req_truncated = rnd_n(10) == 0;
	for (i = 0; i < SIDE_MAX; i++) {
		if (rnd_n(5) < (i == SIDE_SECONDARY ? 1u : 4u))
			rnd_side(&ex->ex_resp[i]);
	}
	if (ex->ex_resp[SIDE_SECONDARY].present)
		ex->ex_self_check = rnd_n(2) == 0;
	ex->ex_verdict = (enum verdict)rnd_n(VERDICT_NONE + 2);
	if (rnd_n(3) == 0)
		ex->ex_skip_reason = rnd_string(30);
	diff_list_init(&ex->ex_diffs, rnd_n(4) == 0 ? 1 + rnd_n(3) : 0);
	n = rnd_n(6);
	for (i = 0; i < n; i++) {
		s = rnd_string(12);
		d = diff_list_add_name(&ex->ex_diffs, s, NULL,
		    (int)rnd_n(5) - 1);
		free(s);
		if (d == NULL)
			continue;
		if (rnd_n(2) == 0)
			d->path = rnd_string(30);
		if (rnd_n(2) == 0)
			d->primary = rnd_string(30);
		if (rnd_n(2) == 0)
			d->candidate = rnd_string(30);
		if (rnd_n(2) == 0)
			d->detail = rnd_string(30);
	}
}

/* Random settings: body limit, secrets kept or not, extra redactions. */
static void
rnd_opts(struct capture_opts *opts)
{
	static const size_t	 limits[] = { 0, 1, 2, 3, 4, 5, 8, 16, 64,
				    300, 2000 };

	memset(opts, 0, sizeof *opts);
	opts->body_limit = limits[rnd_n(sizeof limits / sizeof limits[0])];
	opts->keep_secrets = rnd_n(5) == 0;
	if (rnd_n(3) == 0) {
		opts->redact = line_redact;
		opts->nredact = 2;
	}
}

/* The line writer against the tree on random exchanges, fixed seed. */
static void
test_line_random(void)
{
	struct capture_opts	 opts;
	struct exchange		 ex;
	size_t			 i, bad = 0;

	for (i = 0; i < LINE_RANDOM; i++) {
		rnd_exchange(&ex);
		rnd_opts(&opts);
		if (!line_same(&ex, &opts, bad != 0)) {
			if (bad == 0)
				printf("#   random exchange %zu\n", i);
			bad++;
		}
		exchange_free(&ex);
	}
	ok(bad == 0, "line is the tree's dump: %d random exchanges",
	    LINE_RANDOM);
}

/* Scratch buffers kept from one line to the next, as a reader keeps them. */
static struct buf	 fast_s, fast_name;

/*
 * Read line again passing over the answers but the primary's and the
 * diffs, as replay does: taken exactly when the whole read took it (full,
 * which this empties of those parts), and then the same but for them,
 * each skipped side present with its status, no headers, no body, and no
 * diff kept.  Return 1, or -1 with the lines printed.
 */
static int
fast_skip_same(const char *line, size_t len, struct exchange *full,
    int taken)
{
	struct capture_opts	 opts = { .keep_secrets = 1 };
	struct exchange		 c;
	char			*la, *lc;
	int			 i, rc = 1;

	exchange_init(&c, NULL);
	if ((capture_fast_parse(line, len, &c, CAPTURE_SKIP_SIDE(SIDE_CANDIDATE) |
	    CAPTURE_SKIP_SIDE(SIDE_SECONDARY) | CAPTURE_SKIP_DIFFS, &fast_s,
	    &fast_name) == 0) != taken) {
		printf("#   %s with parts skipped:\n#   %.*s\n",
		    taken ? "refused" : "taken", (int)len, line);
		exchange_free(&c);
		return (-1);
	}
	if (!taken) {
		exchange_free(&c);
		return (1);
	}
	for (i = SIDE_CANDIDATE; i < SIDE_MAX; i++) {
		if (c.ex_resp[i].present != full->ex_resp[i].present ||
		    c.ex_resp[i].status != full->ex_resp[i].status ||
		    c.ex_resp[i].ms != full->ex_resp[i].ms ||
		    c.ex_resp[i].headers.n != 0 || c.ex_resp[i].body.len != 0)
			rc = -1;
		response_side_free(&c.ex_resp[i]);
		response_side_free(&full->ex_resp[i]);
	}
	if (c.ex_diffs.n != 0)
		rc = -1;
	diff_list_free(&c.ex_diffs);
	diff_list_init(&c.ex_diffs, 0);
	diff_list_free(&full->ex_diffs);
	diff_list_init(&full->ex_diffs, 0);
	la = exchange_to_line(full, &opts);
	lc = exchange_to_line(&c, &opts);
	if (strcmp(la, lc) != 0 || c.ex_self_check != full->ex_self_check)
		rc = -1;
	if (rc == -1)
		printf("#   read differently with parts skipped:\n#   %s\n"
		    "#   %s\n", la, lc);
	free(la);
	free(lc);
	exchange_free(&c);
	return (rc);
}

/*
 * Read line both ways: the plain-line reader (capture_fast_read) and the
 * jansson tree (exchange_from_json).  Return 1 if the plain reader took it
 * (*fast), 0 if not; -1 if it took a line the tree refuses or read it
 * differently.
 */
static int
fast_same(const char *line, size_t len)
{
	struct capture_opts	 opts = { .keep_secrets = 1 };
	struct exchange		 a, b;
	json_error_t		 err;
	json_t			*obj;
	char			*cause = NULL, *la, *lb;
	int			 i, rc;

	exchange_init(&a, NULL);
	if (capture_fast_read(line, len, &a) != 0) {
		exchange_free(&a);
		return (fast_skip_same(line, len, NULL, 0) == 1 ? 0 : -1);
	}
	exchange_init(&b, NULL);
	obj = json_loadb(line, len, JSON_ALLOW_NUL, &err);
	rc = obj != NULL && exchange_from_json(obj, &b, &cause) == 0 ? 1 : -1;
	free(cause);
	json_decref(obj);
	if (rc == 1) {
		la = exchange_to_line(&a, &opts);
		lb = exchange_to_line(&b, &opts);
		if (strcmp(la, lb) != 0 || a.ex_ts.tv_sec != b.ex_ts.tv_sec ||
		    a.ex_ts.tv_usec != b.ex_ts.tv_usec ||
		    a.ex_req.major != b.ex_req.major ||
		    a.ex_req.minor != b.ex_req.minor ||
		    a.ex_diffs.max != b.ex_diffs.max)
			rc = -1;
		for (i = 0; i < SIDE_MAX; i++) {
			if (a.ex_resp[i].ms != b.ex_resp[i].ms ||
			    a.ex_resp[i].body_bytes != b.ex_resp[i].body_bytes ||
			    (a.ex_resp[i].body.data == NULL) !=
			    (b.ex_resp[i].body.data == NULL))
				rc = -1;
		}
		if (rc == -1)
			printf("#   read differently:\n#   %s\n#   %s\n", la, lb);
		free(la);
		free(lb);
	}
	if (fast_skip_same(line, len, &a, 1) != 1)
		rc = -1;
	exchange_free(&a);
	exchange_free(&b);
	return (rc);
}

/*
 * The plain-line reader gives what the jansson tree gives, on random
 * exchanges and on plain lines broken at random: every line it takes is
 * one the tree reads the same.
 */
static void
test_fast_reader(void)
{
	static const char	 pool[] = "{}[]\":,\\ \t\n0123456789.eE-+"
				    "abnrtu/\x01\x7f\x80\xc3";
	static const char	*plain[] = {
		"{\"paritytap\":1,\"id\":\"a-1\",\"ts\":"
		"\"2026-11-21T12:00:00.000000Z\",\"source\":\"proxy\","
		"\"route\":\"GET /v1/items/{id}\",\"request\":{\"method\":"
		"\"GET\",\"target\":\"/v1/items/1\",\"version\":\"1.1\","
		"\"headers\":[{\"name\":\"Host\",\"value\":\"h:1\"}]},"
		"\"responses\":{\"primary\":{\"status\":200,\"headers\":"
		"[{\"name\":\"Content-Type\",\"value\":\"application/json\"}],"
		"\"body\":\"{\\\"ok\\\":true}\",\"body_bytes\":11,\"ms\":0.5},"
		"\"candidate\":{\"status\":200,\"body\":\"\",\"ms\":3}},"
		"\"verdict\":\"match\",\"diffs\":[]}",
		"{\"paritytap\":1,\"id\":\"b\",\"request\":{\"method\":\"POST\","
		"\"target\":\"/\\/x?a=\\t\",\"body\":\"{\\n}\",\"body_bytes\":3},"
		"\"verdict\":\"shape\"}",
		"{\"paritytap\":1,\"id\":\"c\",\"request\":{\"method\":\"GET\","
		"\"target\":\"/\"},\"verdict\":\"value\",\"diffs\":[{\"kind\":"
		"\"value\",\"path\":\"$.a\",\"side\":\"candidate\",\"primary\":"
		"\"\\\"x\\\"\",\"candidate\":\"2\"},{\"kind\":\"renamed\","
		"\"side\":\"tertiary\",\"detail\":\"a\\tb\"}]}",
		/* Learned noise and the two hints. */
		"{\"paritytap\":1,\"id\":\"d\",\"request\":{\"method\":\"GET\","
		"\"target\":\"/\"},\"verdict\":\"shape\",\"diffs\":[{\"kind\":"
		"\"value\",\"path\":\"$.ts\",\"primary\":\"1\",\"candidate\":"
		"\"2\",\"noise\":true},{\"kind\":\"missing\",\"path\":\"$.name\","
		"\"side\":\"candidate\",\"hint\":\"rename\",\"renamed_to\":"
		"\"$.full_name\"},{\"kind\":\"extra\",\"path\":\"$.full_name\","
		"\"side\":\"candidate\",\"hint\":\"rename\",\"renamed_from\":"
		"\"$.name\"},{\"kind\":\"value\",\"path\":\"$.items\",\"hint\":"
		"\"order\",\"detail\":\"moved\"}]}",
		/* A body kept decoded, and one that did not decode. */
		"{\"paritytap\":1,\"id\":\"f\",\"request\":{\"method\":\"GET\","
		"\"target\":\"/\"},\"responses\":{\"primary\":{\"status\":200,"
		"\"headers\":[{\"name\":\"Content-Encoding\",\"value\":"
		"\"gzip\"}],\"body\":\"{\\\"a\\\":1}\",\"body_decoded\":\"gzip\","
		"\"body_bytes\":27,\"ms\":1},\"candidate\":{\"status\":200,"
		"\"body\":\"{}\",\"body_decode_error\":\"cannot decode gzip "
		"body: incorrect header check\",\"body_bytes\":2}},"
		"\"verdict\":\"match\",\"diffs\":[]}"
	};
	struct capture_opts	 opts;
	struct exchange		 ex;
	char			*line, m[1024];
	size_t			 i, j, k, at, n, len, nfast = 0;
	size_t			 nbroken = 0;
	size_t			 bad = 0;
	int			 rc;

	for (i = 0; i < LINE_RANDOM; i++) {
		rnd_exchange(&ex);
		rnd_opts(&opts);
		line = exchange_to_line(&ex, &opts);
		if ((rc = fast_same(line, strlen(line))) == 1)
			nfast++;
		else if (rc < 0)
			bad++;
		free(line);
		exchange_free(&ex);
	}
	/*
	 * A diffs list that ends in ",]" is no JSON: the fast reader once
	 * took it (found by fuzz-capture).
	 */
	{
		static const char	 comma[] = "{\"paritytap\":1,\"id\":\"e\","
		    "\"request\":{\"method\":\"GET\",\"target\":\"/\"},"
		    "\"verdict\":\"shape\",\"diffs\":[{\"kind\":\"missing\","
		    "\"path\":\"$.a\"},}";

		exchange_init(&ex, NULL);
		ok(capture_fast_read(comma, strlen(comma), &ex) != 0,
		    "fast reader: a diffs list cut after a comma is refused");
		exchange_free(&ex);
	}
	/* A part passed over is still checked: a bad one refuses the line. */
	{
		static const char	*bad_skipped[] = {
			"{\"paritytap\":1,\"id\":\"f\",\"request\":{\"method\":"
			"\"GET\",\"target\":\"/\"},\"responses\":{\"candidate\":"
			"{\"status\":200,\"headers\":[{\"name\":\"A\",\"value\":"
			"1}]}}}",
			"{\"paritytap\":1,\"id\":\"f\",\"request\":{\"method\":"
			"\"GET\",\"target\":\"/\"},\"responses\":{\"secondary\":"
			"{\"status\":200,\"body\":\"a\x01\"}}}",
			"{\"paritytap\":1,\"id\":\"f\",\"request\":{\"method\":"
			"\"GET\",\"target\":\"/\"},\"diffs\":[{\"path\":\"$.a\"}]}"
		};
		unsigned	 all = CAPTURE_SKIP_SIDE(SIDE_PRIMARY) |
				    CAPTURE_SKIP_SIDE(SIDE_CANDIDATE) |
				    CAPTURE_SKIP_SIDE(SIDE_SECONDARY) |
				    CAPTURE_SKIP_DIFFS;

		for (i = 0; i < sizeof bad_skipped / sizeof bad_skipped[0];
		    i++) {
			exchange_init(&ex, NULL);
			ok(capture_fast_parse(bad_skipped[i],
			    strlen(bad_skipped[i]), &ex, all, &fast_s,
			    &fast_name) != 0, "fast reader, parts skipped: "
			    "bad line %zu is still refused", i + 1);
			exchange_free(&ex);
		}
	}
	for (i = 0; i < sizeof plain / sizeof plain[0]; i++) {
		len = strlen(plain[i]);
		if (fast_same(plain[i], len) != 1)
			bad++;
		for (j = 0; j < 20000; j++) {
			memcpy(m, plain[i], len);
			n = len;
			for (k = 1 + rnd_n(2); k > 0; k--) {
				if (n == 0)
					break;
				switch (rnd_n(3)) {
				case 0:
					m[rnd_n(n)] = pool[rnd_n(sizeof pool - 1)];
					break;
				case 1:
					at = rnd_n(n);
					memmove(m + at, m + at + 1, n - at - 1);
					n--;
					break;
				default:
					at = rnd_n(n);
					memmove(m + at + 1, m + at, n - at);
					m[at] = pool[rnd_n(sizeof pool - 1)];
					n++;
					break;
				}
			}
			if ((rc = fast_same(m, n)) == 1)
				nbroken++;
			else if (rc < 0)
				bad++;
		}
	}
	ok(bad == 0, "plain-line reader takes the plain lines, and reads "
	    "the %zu of %d random exchanges it takes as the tree does",
	    nfast, LINE_RANDOM);
	ok(nbroken > 0 && bad == 0, "... and %zu broken lines it takes",
	    nbroken);
	buf_free(&fast_s);
	buf_free(&fast_name);
}

/* capture_write appends the same lines, one per exchange. */
static void
test_line_writer(void)
{
	struct capture_opts	 opts = { .body_limit = 16 };
	struct capture		*c;
	struct exchange		 ex;
	struct buf		 want;
	char			*path, *cause = NULL, *line, *got = NULL;
	size_t			 i, len = 0;
	FILE			*f;

	xasprintf(&path, "%s/lines.jsonl", tmpdir);
	opts.path = path;
	opts.redact = line_redact;
	opts.nredact = 2;
	if ((c = capture_open(&opts, &cause)) == NULL)
		fatalx("%s", cause);
	buf_init(&want);
	for (i = 0; i < 300; i++) {
		if (i < sizeof line_cases / sizeof line_cases[0])
			line_cases[i].fill(&ex);
		else
			rnd_exchange(&ex);
		capture_write(c, &ex);
		line = line_of_tree(&ex, &opts);
		buf_addstr(&want, line);
		buf_add(&want, "\n", 1);
		free(line);
		exchange_free(&ex);
	}
	capture_close(c);
	if ((f = fopen(path, "r")) == NULL)
		fatal("%s", path);
	got = xmalloc(want.len + 2);
	len = fread(got, 1, want.len + 1, f);
	fclose(f);
	ok(len == want.len && memcmp(got, want.data, len) == 0,
	    "capture_write's file holds the tree's dumps, line by line");
	free(got);
	buf_free(&want);
	free(path);
}

/*
 * A diff's hints in a capture: "hint", and "renamed_to" on a missing
 * member or "renamed_from" on an extra one; both writers give the same
 * bytes and the reader keeps them.
 */
static void
test_line_hints(void)
{
	struct exchange	 ex, back;
	struct diff	*d;
	json_t		*obj;
	char		*line, *cause = NULL;
	int		 rc;

	make_get(&ex);
	ex.ex_verdict = VERDICT_SHAPE;
	d = diff_list_add(&ex.ex_diffs, DIFF_MISSING, "$.name", SIDE_CANDIDATE);
	d->hint = xstrdup("rename");
	d->hint_path = xstrdup("$.full_name");
	d = diff_list_add(&ex.ex_diffs, DIFF_EXTRA, "$.full_name",
	    SIDE_CANDIDATE);
	d->hint = xstrdup("rename");
	d->hint_path = xstrdup("$.name");
	d = diff_list_add(&ex.ex_diffs, DIFF_VALUE, "$.tags", -1);
	d->hint = xstrdup("order");
	ok(line_same(&ex, NULL, 0), "hints: the line writer and the tree agree");
	line = exchange_to_line(&ex, NULL);
	ok(strstr(line, "{\"kind\":\"missing\",\"path\":\"$.name\",\"side\":"
	    "\"candidate\",\"hint\":\"rename\",\"renamed_to\":"
	    "\"$.full_name\"}") != NULL, "missing: hint and renamed_to");
	ok(strstr(line, "{\"kind\":\"extra\",\"path\":\"$.full_name\",\"side\":"
	    "\"candidate\",\"hint\":\"rename\",\"renamed_from\":\"$.name\"}") !=
	    NULL, "extra: hint and renamed_from");
	ok(strstr(line, "{\"kind\":\"value\",\"path\":\"$.tags\",\"hint\":"
	    "\"order\"}") != NULL, "value: the order hint");
	free(line);
	obj = exchange_to_json(&ex, NULL);
	exchange_init(&back, NULL);
	rc = exchange_from_json(obj, &back, &cause);
	ok(rc == 0 && back.ex_diffs.n == 3, "hints: read back");
	if (rc == 0 && back.ex_diffs.n == 3) {
		is_str(back.ex_diffs.v[0].hint_path, "$.full_name",
		    "renamed_to read back");
		is_str(back.ex_diffs.v[1].hint_path, "$.name",
		    "renamed_from read back");
		is_str(back.ex_diffs.v[2].hint, "order", "order read back");
	}
	free(cause);
	json_decref(obj);
	exchange_free(&back);
	exchange_free(&ex);
}

/* Return field key of side in the capture form of ex, freed by the caller. */
static char *
coded_field(const struct exchange *ex, const struct capture_opts *opts,
    const char *key)
{
	return (field_of(ex, opts, "primary", key));
}

/*
 * Bodies that came gzip- or deflate-encoded: kept decoded when the
 * decoded bytes are text that fits the limit, "body_decoded" naming the
 * coding and "body_bytes" the bytes received; read back, they are not
 * decoded twice, and are written again as they were.
 */
static void
test_decoded_bodies(void)
{
	/* Printable ASCII: the plain-line reader takes it. */
	static const char	 json[] = "{\"user\":{\"name\":\"Zoe\"}}";
	static const char	 png[] = "\x89PNG\r\n\x1a\n\0\xff";
	struct capture_opts	 raw = { .raw_bodies = 1 };
	struct capture_opts	 small = { .body_limit = 16 };
	struct exchange		 ex, back, fast;
	struct buf		 out, zeros;
	json_t			*obj;
	char			*s, *want, *line, *line2, *cause = NULL;
	size_t			 gzlen;
	int			 rc;

	make_get(&ex);
	set_coded(&ex.ex_resp[SIDE_PRIMARY], "gzip", 15 + 16, json,
	    sizeof json - 1);
	gzlen = ex.ex_resp[SIDE_PRIMARY].body.len;
	s = coded_field(&ex, NULL, "body");
	is_str(s, "\"{\\\"user\\\":{\\\"name\\\":\\\"Zoe\\\"}}\"",
	    "gzip JSON: body is the decoded text");
	free(s);
	s = coded_field(&ex, NULL, "body_decoded");
	is_str(s, "\"gzip\"", "gzip JSON: body_decoded names the coding");
	free(s);
	s = coded_field(&ex, NULL, "body_bytes");
	xasprintf(&want, "%zu", gzlen);
	is_str(s, want, "gzip JSON: body_bytes counts the bytes received");
	free(want);
	free(s);
	ok(coded_field(&ex, NULL, "body_b64") == NULL,
	    "gzip JSON: no body_b64");

	/* Read back both ways: decoded once, counted as received. */
	line = exchange_to_line(&ex, NULL);
	obj = json_loads(line, 0, NULL);
	exchange_init(&back, NULL);
	rc = exchange_from_json(obj, &back, &cause);
	json_decref(obj);
	ok(rc == 0 && back.ex_resp[SIDE_PRIMARY].body_decoded != NULL &&
	    strcmp(back.ex_resp[SIDE_PRIMARY].body_decoded, "gzip") == 0 &&
	    back.ex_resp[SIDE_PRIMARY].body_bytes == gzlen &&
	    back.ex_resp[SIDE_PRIMARY].body.len == sizeof json - 1,
	    "read back: body_decoded kept, body_bytes as received");
	exchange_init(&fast, NULL);
	ok(capture_fast_read(line, strlen(line), &fast) == 0 &&
	    fast.ex_resp[SIDE_PRIMARY].body_decoded != NULL &&
	    strcmp(fast.ex_resp[SIDE_PRIMARY].body_decoded, "gzip") == 0 &&
	    fast.ex_resp[SIDE_PRIMARY].body_bytes == gzlen,
	    "the plain-line reader reads it the same");
	buf_init(&out);
	ok(decode_body(&back.ex_resp[SIDE_PRIMARY], &out, 0, &cause) == 0 &&
	    out.len == sizeof json - 1 && memcmp(out.data, json, out.len) == 0,
	    "read back: decode_body gives the decoded body, not decoding it "
	    "again");
	buf_free(&out);
	line2 = exchange_to_line(&back, NULL);
	is_str(line2, line, "read back and written again: the same line");
	free(line2);
	line2 = exchange_to_line(&back, &raw);
	is_str(line2, line, "read back decoded: --capture-raw-bodies has no "
	    "other bytes to write");
	free(line2);
	exchange_free(&fast);
	exchange_free(&back);
	free(line);

	/* --capture-raw-bodies: the bytes received. */
	s = coded_field(&ex, &raw, "body_b64");
	buf_init(&out);
	capture_b64_add(&out, ex.ex_resp[SIDE_PRIMARY].body.data, gzlen);
	buf_add(&out, "", 1);
	xasprintf(&want, "\"%s\"", out.data);
	is_str(s, want, "--capture-raw-bodies: body_b64 holds the gzip bytes");
	free(want);
	free(s);
	buf_free(&out);
	ok(coded_field(&ex, &raw, "body_decoded") == NULL,
	    "--capture-raw-bodies: no body_decoded");

	/* Decoded bytes over the limit: the bytes received, cut as before. */
	ok(coded_field(&ex, &small, "body_decoded") == NULL &&
	    (s = coded_field(&ex, &small, "truncated")) != NULL &&
	    strcmp(s, "true") == 0, "decoded past --capture-body-limit: "
	    "kept as received and cut");
	free(s);
	exchange_free(&ex);

	/* Deflate, zlib form and raw. */
	make_get(&ex);
	set_coded(&ex.ex_resp[SIDE_PRIMARY], "deflate", 15, json,
	    sizeof json - 1);
	s = coded_field(&ex, NULL, "body_decoded");
	is_str(s, "\"deflate\"", "deflate (zlib form): decoded");
	free(s);
	exchange_free(&ex);
	make_get(&ex);
	set_coded(&ex.ex_resp[SIDE_PRIMARY], "deflate", -15, json,
	    sizeof json - 1);
	s = coded_field(&ex, NULL, "body_decoded");
	is_str(s, "\"deflate\"", "deflate (raw form): decoded");
	free(s);
	exchange_free(&ex);

	/* Decoded bytes that are not text: as received. */
	make_get(&ex);
	set_coded(&ex.ex_resp[SIDE_PRIMARY], "gzip", 15 + 16, png,
	    sizeof png - 1);
	ok(coded_field(&ex, NULL, "body_decoded") == NULL &&
	    (s = coded_field(&ex, NULL, "body_b64")) != NULL,
	    "gzip of binary bytes: kept as received, in body_b64");
	free(s);
	exchange_free(&ex);

	/* A gzip that does not decode: as received, and why. */
	make_get(&ex);
	set_coded(&ex.ex_resp[SIDE_PRIMARY], "gzip", 15 + 16, json,
	    sizeof json - 1);
	ex.ex_resp[SIDE_PRIMARY].body.data[12] ^= 0x55;
	s = coded_field(&ex, NULL, "body_decode_error");
	ok(s != NULL && strncmp(s, "\"cannot decode gzip body: ", 26) == 0,
	    "corrupt gzip: body_decode_error says why (%s)", s);
	free(s);
	ok(coded_field(&ex, NULL, "body_decoded") == NULL &&
	    (s = coded_field(&ex, NULL, "body_b64")) != NULL,
	    "corrupt gzip: kept as received");
	free(s);
	exchange_free(&ex);

	/* A body the server calls gzip that is plain text. */
	make_get(&ex);
	set_side(&ex.ex_resp[SIDE_PRIMARY], 200, json, 1);
	headers_add(&ex.ex_resp[SIDE_PRIMARY].headers, "Content-Encoding", 16,
	    "gzip", 4);
	line = exchange_to_line(&ex, NULL);
	ok(strstr(line, "\"body_decode_error\":\"cannot decode gzip body: ") !=
	    NULL && strstr(line, "\"body\":\"{\\\"user\\\"") != NULL,
	    "text called gzip: kept as text, body_decode_error set");
	exchange_init(&fast, NULL);
	ok(capture_fast_read(line, strlen(line), &fast) == 0 &&
	    fast.ex_resp[SIDE_PRIMARY].body_decoded == NULL,
	    "text called gzip: the plain-line reader takes the line");
	exchange_free(&fast);
	free(line);
	exchange_free(&ex);

	/* Cut or failed sides and unknown codings are left as received. */
	make_get(&ex);
	set_coded(&ex.ex_resp[SIDE_PRIMARY], "gzip", 15 + 16, json,
	    sizeof json - 1);
	ex.ex_resp[SIDE_PRIMARY].truncated = 1;
	ok(coded_field(&ex, NULL, "body_decoded") == NULL,
	    "a body marked cut is not decoded");
	ex.ex_resp[SIDE_PRIMARY].truncated = 0;
	ex.ex_resp[SIDE_PRIMARY].error = "reset";
	ok(coded_field(&ex, NULL, "body_decoded") == NULL &&
	    coded_field(&ex, NULL, "body_decode_error") == NULL,
	    "the body of a failed side is not decoded");
	exchange_free(&ex);
	make_get(&ex);
	set_side(&ex.ex_resp[SIDE_PRIMARY], 200, "xyz", 1);
	headers_add(&ex.ex_resp[SIDE_PRIMARY].headers, "Content-Encoding", 16,
	    "br", 2);
	ok(coded_field(&ex, NULL, "body_decoded") == NULL &&
	    coded_field(&ex, NULL, "body_decode_error") == NULL,
	    "br: kept as received, no error");
	exchange_free(&ex);

	/* A bomb: 64 MiB of zeros in 64 KB stops at the limit. */
	buf_init(&zeros);
	buf_init(&out);
	make_get(&ex);
	s = xcalloc(1, 64 * 1024 * 1024);
	set_coded(&ex.ex_resp[SIDE_PRIMARY], "gzip", 15 + 16, s,
	    64 * 1024 * 1024);
	free(s);
	rc = decode_for_capture(&ex.ex_resp[SIDE_PRIMARY], 1024 * 1024, &out,
	    &s, &cause);
	ok(rc == 0 && out.len == 0, "gzip bomb: not kept decoded, no error");
	ok(coded_field(&ex, NULL, "body_decoded") == NULL,
	    "gzip bomb: the capture keeps the bytes received");
	/* A trailer that lies about the size: inflating stops at the limit. */
	memset(ex.ex_resp[SIDE_PRIMARY].body.data +
	    ex.ex_resp[SIDE_PRIMARY].body.len - 4, 0, 4);
	buf_free(&out);
	buf_init(&out);
	rc = decode_for_capture(&ex.ex_resp[SIDE_PRIMARY], 1024 * 1024, &out,
	    &s, &cause);
	ok(rc == 0 && out.len == 0, "gzip bomb with a trailer saying 0 bytes: "
	    "not kept decoded, no error (inflating stopped at the limit)");
	buf_free(&out);
	buf_free(&zeros);
	exchange_free(&ex);

	/* Encoded again (export's pcap): decodes to the same bytes. */
	make_get(&ex);
	ex.ex_resp[SIDE_PRIMARY].present = 1;
	headers_add(&ex.ex_resp[SIDE_PRIMARY].headers, "Content-Encoding", 16,
	    "deflate, gzip", 13);
	buf_init(&out);
	decode_encode("deflate, gzip", json, sizeof json - 1,
	    &ex.ex_resp[SIDE_PRIMARY].body);
	ex.ex_resp[SIDE_PRIMARY].body_bytes = ex.ex_resp[SIDE_PRIMARY].body.len;
	ok(decode_body(&ex.ex_resp[SIDE_PRIMARY], &out, 0, &cause) == 0 &&
	    out.len == sizeof json - 1 && memcmp(out.data, json, out.len) == 0,
	    "deflate then gzip, encoded again, decodes to the same bytes");
	s = coded_field(&ex, NULL, "body_decoded");
	is_str(s, "\"deflate, gzip\"", "two codings: named in the order "
	    "applied");
	free(s);
	buf_free(&out);
	exchange_free(&ex);
}

/*
 * capture_parse_ts counts days itself: the same seconds as timegm for
 * every month of years before and after 1970, leap or not, days past a
 * month's end and a leap second included, in both forms it reads.
 */
static void
test_parse_ts(void)
{
	static const int	 years[] = { -999, -401, -400, -1, 0, 1, 100,
	    1582, 1899, 1900, 1969, 1970, 1971, 1999, 2000, 2024, 2026, 2100,
	    2400, 9999 };
	static const int	 days[] = { 1, 15, 28, 29, 30, 31 };
	char			 s[64], first[64] = "";
	struct tm		 tm;
	struct timeval		 tv;
	size_t			 i, j, n = 0, bad = 0;
	int			 mo;
	time_t			 want;

	for (i = 0; i < sizeof years / sizeof years[0]; i++) {
		for (mo = 1; mo <= 12; mo++) {
			for (j = 0; j < sizeof days / sizeof days[0]; j++) {
				snprintf(s, sizeof s,
				    "%04d-%02d-%02dT23:59:%02d.25Z", years[i],
				    mo, days[j], j == 0 ? 60 : 7);
				memset(&tm, 0, sizeof tm);
				tm.tm_year = years[i] - 1900;
				tm.tm_mon = mo - 1;
				tm.tm_mday = days[j];
				tm.tm_hour = 23;
				tm.tm_min = 59;
				tm.tm_sec = j == 0 ? 60 : 7;
				want = timegm(&tm);
				n++;
				if (capture_parse_ts(s, &tv) != 0 ||
				    tv.tv_sec != want || tv.tv_usec != 250000) {
					if (bad++ == 0)
						snprintf(first, sizeof first, "%s", s);
				}
			}
		}
	}
	ok(bad == 0, "capture_parse_ts: %zu times read as timegm counts them "
	    "(%zu differ%s%s)", n, bad, bad != 0 ? ", the first " : "", first);
	ok(capture_parse_ts("2026-03-01T00:30:00+01:00", &tv) == 0 &&
	    tv.tv_sec == 1772321400 && tv.tv_usec == 0,
	    "capture_parse_ts: an offset east of UTC goes back to the day before");
	ok(capture_parse_ts("2024-02-29 23:00:00.123456-02:00", &tv) == 0 &&
	    tv.tv_sec == 1709254800 && tv.tv_usec == 123456,
	    "capture_parse_ts: a leap day, a space for the T, an offset west");
	ok(capture_parse_ts("2026-13-01T00:00:00Z", &tv) == -1 &&
	    capture_parse_ts("2026-01-01T00:00:00", &tv) == -1,
	    "capture_parse_ts: month 13 and a time with no zone are refused");
}

/*
 * The fast reader works a latency of up to 15 digits out itself: the
 * same double as strtod for every count of digits before and after the
 * point, those at the limit, halfway cases and long fractions included
 * (past 15 digits in all strtod reads it).
 */
static void
test_fast_numbers(void)
{
	static const char	*fixed[] = { "0.5", "0.1", "0.3", "1.0",
	    "0.000000000000001", "999999999999999.9", "99999999999999.9",
	    "0.123456789012345", "9007199254740.993", "0.000000000000005",
	    "123456789012345.123456789012345", "2.5", "0.300000000000004",
	    "8.589973e9" };
	char			 num[64], line[256], first[64] = "";
	struct exchange		 ex;
	size_t			 i, k, n, f, count = 0, bad = 0;

	for (i = 0; i < 20000 + sizeof fixed / sizeof fixed[0]; i++) {
		if (i < sizeof fixed / sizeof fixed[0])
			snprintf(num, sizeof num, "%s", fixed[i]);
		else {
			n = 1 + rnd_n(15);
			f = 1 + rnd_n(15);
			k = 0;
			num[k++] = (char)('1' + rnd_n(9));
			while (k < n)
				num[k++] = (char)('0' + rnd_n(10));
			if (rnd_n(4) == 0)
				k = 1, num[0] = '0';
			num[k++] = '.';
			while (f-- > 0)
				num[k++] = (char)('0' + rnd_n(10));
			num[k] = '\0';
		}
		snprintf(line, sizeof line, "{\"paritytap\":1,\"id\":\"n\","
		    "\"request\":{\"method\":\"GET\",\"target\":\"/\"},"
		    "\"responses\":{\"primary\":{\"status\":200,\"ms\":%s}}}",
		    num);
		exchange_init(&ex, NULL);
		if (capture_fast_read(line, strlen(line), &ex) != 0) {
			/* Only an exponent is not the fast reader's. */
			if (strchr(num, 'e') == NULL && bad++ == 0)
				snprintf(first, sizeof first, "%s", num);
		} else {
			count++;
			if (ex.ex_resp[SIDE_PRIMARY].ms != strtod(num, NULL) &&
			    bad++ == 0)
				snprintf(first, sizeof first, "%s", num);
		}
		exchange_free(&ex);
	}
	ok(bad == 0 && count >= 20000, "fast reader: %zu latencies read as "
	    "strtod reads them (%zu differ%s%s)", count, bad,
	    bad != 0 ? ", the first " : "", first);
}

int
main(void)
{
	strcpy(tmpdir, "/tmp/test-capture.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		fatal("mkdtemp");

	test_golden();
	test_round_trip();
	test_self_check();
	test_bodies();
	test_truncation();
	test_redaction();
	test_redaction_diffs();
	test_rotation();
	test_rotated_names();
	test_compress_file();
	test_dirmode();
	test_reopen();
	test_write_errors();
	test_short_writes();
	test_reader();
	test_gzip();
	test_flag_line();
	test_names();
	test_line_cases();
	test_line_verdicts();
	test_line_ms();
	test_line_utf8();
	test_line_random();
	test_line_writer();
	test_fast_reader();
	test_line_hints();
	test_decoded_bodies();
	test_parse_ts();
	test_fast_numbers();

	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return (done_testing());
}
