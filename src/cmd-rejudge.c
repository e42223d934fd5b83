/*
 * paritytap rejudge: compare the recorded responses of captures again
 * under new comparison rules (--ignore, --ignore-header, the config
 * file's [compare] and route sections, ...) and write each exchange with
 * its new verdict and diffs, sending nothing.
 *
 * A re-judged line is the recorded line with its "verdict", "diffs" (and
 * "diffs_truncated", "skip_reason") members replaced where "verdict"
 * stood; every other member is copied as it was read, so a capture
 * re-judged under its own rules comes out byte for byte the same.  An
 * exchange that cannot be judged again from what was recorded is copied
 * whole and counted as kept: skipped and recorded ones (one side only), a
 * side that failed (the error verdict stays), and a body cut at the
 * capture limit whose sha256 is not known equal to the other side's (it
 * was judged on the whole bodies live).
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "paritytap.h"

/* Why an exchange kept its recorded verdict. */
enum rejudge_kept {
	REJUDGE_KEPT_UNJUDGED,		/* skipped, recorded, no verdict */
	REJUDGE_KEPT_ERROR,		/* a side failed or is missing */
	REJUDGE_KEPT_TRUNCATED,		/* a cut body, sha256 not equal */
	REJUDGE_KEPT_MAX
};

/*
 * Called on each re-judged exchange after the compare and before it is
 * written: the place where diffs on paths learned as noise (from the
 * capture's secondary side) are marked.
 */
typedef void (*rejudge_hook)(void *, struct exchange *);

/* What the command line sets, and the counts of the run. */
struct rejudge_conf {
	struct options		 o;
	const char		*output;
	const char		*trace_header;
	uint64_t		 max_body;
	int			 lenient;
	int			 json;
	int			 learned;	/* --secondary-learned */
	struct noise		*noise;
	rejudge_hook		 hook;
	void			*hook_arg;
	uint64_t		 read;
	uint64_t		 judged;
	uint64_t		 kept[REJUDGE_KEPT_MAX];
	uint64_t		 before[VERDICT_NONE + 1];
	uint64_t		 after[VERDICT_NONE + 1];
	struct buf		 line;
};

/* Rejudge's options; options_set sets the shared ones. */
static const struct options_entry rejudge_options[] = {
	{ "output", 'o', "FILE", "write the re-judged capture to FILE (- for "
	    "stdout; may be one of the inputs: it is replaced at the end)",
	    NULL },
	{ "capture", 'c', "FILE", "the same as -o", NULL },
	{ "ignore", 0, "JSONPATH",
	    "ignore differences at this path (repeatable)", NULL },
	OPTIONS_ENTRY_IGNORE_HEADER,
	OPTIONS_ENTRY_STRICT_ORDER,
	OPTIONS_ENTRY_LENIENT_NUMBERS,
	OPTIONS_ENTRY_UNORDERED,
	OPTIONS_ENTRY_IGNORE_CT_PARAMS,
	OPTIONS_ENTRY_NORMALIZE,
	OPTIONS_ENTRY_TRACE_HEADER,
	{ "secondary-learned", 0, NULL, "first learn noise from the second\n"
	    "answers in the captures (responses.secondary),\nthen mark the "
	    "diffs on noise paths\n(reads each capture twice)", NULL },
	OPTIONS_ENTRIES_NOISE,
	{ "max-body", 0, "BYTES", "a gzip or deflate body is compared when "
	    "it decodes to at most this many bytes", "8M" },
	{ "config", 0, "FILE", "INI file: [compare], [route \"METHOD "
	    "/path\"], [rejudge]; other commands' sections are skipped; flags "
	    "win", NULL },
	{ "lenient", 0, NULL, "skip malformed capture lines (left out of "
	    "the output)", "exit 2" },
	{ "json", 0, NULL, "the summary as JSON on stdout (with -o FILE)",
	    NULL },
	{ "format", 0, "FORMAT", "text, or json: as --json", "text" },
	{ "quiet", 'q', NULL, "no summary line, no warnings", NULL },
	{ "verbose", 'v', NULL, "more logging", NULL },
	OPTIONS_ENTRY_HELP,
	OPTIONS_ENTRY_END
};

/* Print rejudge's --help. */
static void
cmd_rejudge_help(FILE *f)
{
	fputs(
"usage: paritytap rejudge [--ignore JSONPATH] [--config FILE] [OPTIONS]\n"
"                         CAPTURE... -o OUT\n"
"\n"
"Compare the recorded responses of each exchange of the captures (.jsonl,\n"
".jsonl.gz, - for stdin) again under the given rules and write the\n"
"exchanges to OUT with their new verdicts and diffs; no request is sent.\n"
"Everything else in each line is kept as it was.  Skipped and recorded\n"
"exchanges, those with a side's error and those with a body cut at the\n"
"capture limit (unless the sha256 of the whole bodies are equal) keep\n"
"their recorded verdict and diffs.  A summary line on standard error\n"
"gives the exchanges read, re-judged and kept, and each verdict's count\n"
"before and after.\n"
"\n", f);
	options_help(f, rejudge_options, 24);
	fputs(
"\n"
"Exit status: 0, or 2 on a usage error or when a capture is missing or\n"
"malformed (the message names the file and line).  See paritytap(1).\n",
	    f);
}

/* Set one option by its long name; value is NULL for flags. */
static int
rejudge_set(void *arg, const char *name, const char *value, char **cause)
{
	struct rejudge_conf	*rc = arg;
	int			 rv;

	/* The capture written is the output, not options_set's. */
	if (strcmp(name, "output") == 0 || strcmp(name, "capture") == 0) {
		rc->output = options_keep(&rc->o, value);
		return (0);
	}
	if ((rv = options_set(&rc->o, name, value, cause)) != 0)
		return (rv == 1 ? 0 : -1);
	if (strcmp(name, "lenient") == 0)
		return (options_bool(name, value, &rc->lenient, cause));
	else if (strcmp(name, "json") == 0)
		return (options_bool(name, value, &rc->json, cause));
	else if (strcmp(name, "format") == 0)
		return (options_text_json(name, value, &rc->json, cause));
	else if (strcmp(name, "secondary-learned") == 0)
		return (options_bool(name, value, &rc->learned, cause));
	else {
		xasprintf(cause, "unknown option '%s'", name);
		return (-1);
	}
	return (0);
}

/*
 * Whether the bodies of an exchange can be compared again: yes when
 * neither was cut; when one was, only if the sha256 of the whole bodies
 * are equal (compare_bodies then calls them a match).  A side kept whole
 * gets the sha256 of its bytes to compare with the other's.
 */
static int
rejudge_bodies_known(struct exchange *ex)
{
	struct response_side	*p = &ex->ex_resp[SIDE_PRIMARY];
	struct response_side	*c = &ex->ex_resp[SIDE_CANDIDATE];
	struct response_side	*rs;
	char			 sha[65];
	int			 i;

	if (!p->truncated && !c->truncated)
		return (1);
	for (i = 0; i < 2; i++) {
		rs = i == 0 ? p : c;
		if (rs->truncated || rs->body_sha256 != NULL)
			continue;
		/* The other's sha256 is of bytes received, not decoded. */
		if (rs->body.len != rs->body_bytes || rs->body_decoded != NULL)
			return (0);
		capture_sha256(rs->body.data, rs->body.len, sha);
		rs->body_sha256 = xstrdup(sha);
	}
	if (p->body_sha256 == NULL || c->body_sha256 == NULL)
		return (0);
	return (strcasecmp(p->body_sha256, c->body_sha256) == 0);
}

/*
 * Judge an exchange again under the command's rules.  Return -1 if it
 * was, or the reason it keeps its recorded verdict and diffs.
 */
static int
rejudge_exchange(struct rejudge_conf *rc, struct exchange *ex)
{
	const struct response_side	*p = &ex->ex_resp[SIDE_PRIMARY];
	const struct response_side	*c = &ex->ex_resp[SIDE_CANDIDATE];
	char				*recorded;

	switch (ex->ex_verdict) {
	case VERDICT_SKIPPED:
	case VERDICT_RECORDED:
	case VERDICT_NONE:
		return (REJUDGE_KEPT_UNJUDGED);
	default:
		break;
	}
	if (!p->present || !c->present || p->error != NULL ||
	    c->error != NULL)
		return (REJUDGE_KEPT_ERROR);
	if (!rejudge_bodies_known(ex))
		return (REJUDGE_KEPT_TRUNCATED);
	/*
	 * The route sections match the request as the proxy matches it: a
	 * section the capture was not recorded with applies too.  The
	 * recorded route stays in the line.
	 */
	recorded = ex->ex_route;
	if (rc->o.co.nroutes != 0 && ex->ex_req.target != NULL)
		ex->ex_route = route_template(ex->ex_req.method,
		    ex->ex_req.target, rc->o.co.routes, rc->o.co.nroutes);
	compare_exchange(&rc->o.co, ex);
	if (rc->hook != NULL)
		rc->hook(rc->hook_arg, ex);
	if (ex->ex_route != recorded) {
		free(ex->ex_route);
		ex->ex_route = recorded;
	}
	return (-1);
}

/* Return the end of the JSON string whose opening quote is at p, or NULL. */
static const char *
rejudge_skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return (p + 1);
	}
	return (NULL);
}

/* Return the end of the JSON value that starts at p, or NULL. */
static const char *
rejudge_skip_value(const char *p, const char *end)
{
	int	 depth = 0;

	while (p < end) {
		switch (*p) {
		case '"':
			if ((p = rejudge_skip_string(p, end)) == NULL)
				return (NULL);
			if (depth == 0)
				return (p);
			continue;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (depth == 0)
				return (p);
			if (--depth == 0)
				return (p + 1);
			break;
		case ',':
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			if (depth == 0)
				return (p);
			break;
		}
		p++;
	}
	return (depth == 0 ? p : NULL);
}

/* Skip JSON white space. */
static const char *
rejudge_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' ||
	    *p == '\n'))
		p++;
	return (p);
}

/*
 * Return 1 if the key token (quotes included) names one of the members a
 * judgement writes.  A key spelt with escapes is decoded first.
 */
static int
rejudge_judged_key(const char *k, size_t len)
{
	static const char	*names[] = { "verdict", "diffs",
				    "diffs_truncated", "skip_reason", NULL };
	json_error_t		 err;
	json_t			*s;
	const char		*name;
	size_t			 n, i;
	int			 found = 0;

	if (memchr(k, '\\', len) == NULL) {
		for (i = 0; names[i] != NULL; i++) {
			n = strlen(names[i]);
			if (len == n + 2 && memcmp(k + 1, names[i], n) == 0)
				return (1);
		}
		return (0);
	}
	if ((s = json_loadb(k, len, JSON_DECODE_ANY, &err)) == NULL)
		return (0);
	if ((name = json_string_value(s)) != NULL) {
		for (i = 0; names[i] != NULL; i++) {
			if (strcmp(name, names[i]) == 0)
				found = 1;
		}
	}
	json_decref(s);
	return (found);
}

/*
 * Write into b the capture line text (one JSON object) with its judgement
 * members replaced by those of ex, where "verdict" stood (or at the end),
 * and a newline.  Return 0, or -1 if the text is not an object.
 */
static int
rejudge_splice(struct buf *b, const char *text, size_t len,
    const struct exchange *ex)
{
	const char	*p = text, *end = text + len, *key, *v;
	int		 placed = 0;

	buf_reset(b);
	p = rejudge_space(p, end);
	if (p == end || *p++ != '{')
		return (-1);
	buf_add(b, "{", 1);
	for (;;) {
		p = rejudge_space(p, end);
		if (p == end || *p != '"')
			return (-1);
		key = p;
		if ((p = rejudge_skip_string(p, end)) == NULL)
			return (-1);
		v = rejudge_space(p, end);
		if (v == end || *v != ':')
			return (-1);
		if ((v = rejudge_skip_value(rejudge_space(v + 1, end),
		    end)) == NULL)
			return (-1);
		if (rejudge_judged_key(key, p - key)) {
			if (!placed)
				capture_line_verdict(ex, NULL, b);
			placed = 1;
		} else {
			if (b->data[b->len - 1] != '{')
				buf_add(b, ",", 1);
			buf_add(b, key, v - key);
		}
		p = rejudge_space(v, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == '}')
			break;
		return (-1);
	}
	if (!placed)
		capture_line_verdict(ex, NULL, b);
	buf_add(b, "}\n", 2);
	return (0);
}

/*
 * Return 1 if a file starts as a packet capture does (pcap in either byte
 * order, with micro- or nanoseconds, or pcapng): a file for import.
 */
static int
rejudge_is_pcap(const char *path)
{
	static const uint32_t	 magic[] = {
		0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a
	};
	uint32_t		 m;
	size_t			 i;
	int			 fd, found = 0;

	if (strcmp(path, "-") == 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (0);
	if (read(fd, &m, sizeof m) == (ssize_t)sizeof m) {
		for (i = 0; i < sizeof magic / sizeof magic[0]; i++) {
			if (m == magic[i])
				found = 1;
		}
	}
	close(fd);
	return (found);
}

/* Open a capture to read, refusing a packet capture with a hint. */
static struct capture_reader *
rejudge_open(const struct rejudge_conf *rc, const char *path, char **cause)
{
	if (rejudge_is_pcap(path)) {
		xasprintf(cause, "%s:1: a packet capture, not a paritytap "
		    "capture (paritytap import reads it)", path);
		return (NULL);
	}
	return (capture_reader_open(path, rc->lenient, cause));
}

/* Flush what has been written: the input is about to be read. */
static void
rejudge_flush(void *arg)
{
	fflush(arg);
}

/*
 * Re-judge one capture into out.  Return 0, or -1 with cause "FILE:LINE:
 * what".
 */
static int
rejudge_read(struct rejudge_conf *rc, const char *path, FILE *out,
    char **cause)
{
	struct capture_reader	*cr;
	struct exchange		 ex;
	unsigned long long	 lineno;
	const char		*text;
	size_t			 len;
	enum verdict		 was;
	int			 rv, kept;

	if ((cr = rejudge_open(rc, path, cause)) == NULL)
		return (-1);
	/* Standard output, maybe a pipe: out with each wait for input. */
	if (out == stdout)
		capture_reader_on_wait(cr, rejudge_flush, out);
	while ((rv = capture_reader_next(cr, &ex, cause)) == 1) {
		text = capture_reader_text(cr, &len, &lineno);
		rc->read++;
		was = ex.ex_verdict;
		rc->before[was]++;
		if ((kept = rejudge_exchange(rc, &ex)) == -1) {
			if (rejudge_splice(&rc->line, text, len, &ex) != 0) {
				xasprintf(cause, "%s:%llu: not a JSON object",
				    strcmp(path, "-") == 0 ? "stdin" : path,
				    lineno);
				exchange_free(&ex);
				rv = -1;
				break;
			}
			rc->judged++;
			rc->after[ex.ex_verdict]++;
			fwrite(rc->line.data, 1, rc->line.len, out);
		} else {
			rc->kept[kept]++;
			rc->after[was]++;
			fwrite(text, 1, len, out);
			fputc('\n', out);
		}
		exchange_free(&ex);
	}
	capture_reader_close(cr);
	return (rv);
}

/* --secondary-learned, first pass: learn from one judged exchange. */
static void
rejudge_learn_hook(void *arg, struct exchange *ex)
{
	struct rejudge_conf	*rc = arg;

	noise_learn(rc->noise, &rc->o.co, ex);
}

/* --secondary-learned, second pass: mark the noise diffs. */
static void
rejudge_mark_hook(void *arg, struct exchange *ex)
{
	struct rejudge_conf	*rc = arg;

	noise_mark(rc->noise, ex);
}

/*
 * The learning pass over one capture: every exchange judged again under
 * the rules, its second answer (if any) given to the learner; nothing
 * written, nothing counted.
 */
static int
rejudge_learn(struct rejudge_conf *rc, const char *path, char **cause)
{
	struct capture_reader	*cr;
	struct exchange		 ex;
	int			 rv;

	if ((cr = rejudge_open(rc, path, cause)) == NULL)
		return (-1);
	while ((rv = capture_reader_next(cr, &ex, cause)) == 1) {
		rejudge_exchange(rc, &ex);
		exchange_free(&ex);
	}
	capture_reader_close(cr);
	return (rv);
}

/* Return the summary line of the run (allocated). */
static char *
rejudge_summary(const struct rejudge_conf *rc)
{
	static const enum verdict order[] = {
		VERDICT_STATUS, VERDICT_SHAPE, VERDICT_BODY, VERDICT_HEADER,
		VERDICT_VALUE, VERDICT_MATCH, VERDICT_BOTH_FAILED,
		VERDICT_CANDIDATE_ERROR, VERDICT_PRIMARY_ERROR,
		VERDICT_SKIPPED, VERDICT_RECORDED, VERDICT_NONE
	};
	static const char *kept_what[] = {
		"skipped or recorded", "with a side's error",
		"truncated, sha256 not equal"
	};
	struct buf	 b;
	uint64_t	 kept = 0;
	size_t		 i;
	int		 first = 1;

	for (i = 0; i < REJUDGE_KEPT_MAX; i++)
		kept += rc->kept[i];
	buf_init(&b);
	buf_printf(&b, "%llu exchange%s read \xc2\xb7 %llu re-judged \xc2\xb7 "
	    "%llu kept", (unsigned long long)rc->read, rc->read == 1 ? "" : "s",
	    (unsigned long long)rc->judged, (unsigned long long)kept);
	for (i = 0; i < REJUDGE_KEPT_MAX; i++) {
		if (rc->kept[i] == 0)
			continue;
		buf_printf(&b, "%s%llu %s", first ? " (" : ", ",
		    (unsigned long long)rc->kept[i], kept_what[i]);
		first = 0;
	}
	if (!first)
		buf_addstr(&b, ")");
	for (i = 0; i < sizeof order / sizeof order[0]; i++) {
		if (rc->before[order[i]] == 0 && rc->after[order[i]] == 0)
			continue;
		buf_printf(&b, " \xc2\xb7 %s %llu \xe2\x86\x92 %llu",
		    verdict_name(order[i]),
		    (unsigned long long)rc->before[order[i]],
		    (unsigned long long)rc->after[order[i]]);
	}
	if (rc->noise != NULL)
		buf_printf(&b, " \xc2\xb7 %llu diffs marked noise",
		    (unsigned long long)noise_marked(rc->noise));
	return (buf_detach(&b));
}

/* Print the summary as one JSON object on stdout; return 0 or -1. */
static int
rejudge_json(const struct rejudge_conf *rc)
{
	static const char	*kept_names[] = { "skipped_or_recorded",
				    "error", "truncated" };
	json_t			*o, *kept, *before, *after;
	uint64_t		 nkept = 0;
	int			 i, rv;

	kept = json_object();
	for (i = 0; i < REJUDGE_KEPT_MAX; i++) {
		nkept += rc->kept[i];
		json_object_set_new(kept, kept_names[i],
		    json_integer((json_int_t)rc->kept[i]));
	}
	before = json_object();
	after = json_object();
	for (i = 0; i <= VERDICT_NONE; i++) {
		json_object_set_new(before, verdict_name(i),
		    json_integer((json_int_t)rc->before[i]));
		json_object_set_new(after, verdict_name(i),
		    json_integer((json_int_t)rc->after[i]));
	}
	o = json_pack("{s:I,s:I,s:I,s:o,s:o,s:o}",
	    "read", (json_int_t)rc->read, "rejudged", (json_int_t)rc->judged,
	    "kept", (json_int_t)nkept, "kept_by_reason", kept,
	    "before", before, "after", after);
	if (o == NULL)
		fatalx("%s: json_pack failed", __func__);
	/* The names every command's JSON shares: the verdicts are after. */
	json_object_set_new(o, "exchanges", json_integer((json_int_t)rc->read));
	json_object_set(o, "verdicts", after);
	json_object_set_new(o, "failing",
	    json_integer((json_int_t)verdicts_failing(rc->after)));
	if (rc->noise != NULL)
		json_object_set_new(o, "noise_marked",
		    json_integer((json_int_t)noise_marked(rc->noise)));
	rv = json_dumpf(o, stdout, JSON_COMPACT) == 0 &&
	    fputc('\n', stdout) != EOF && fflush(stdout) == 0 ? 0 : -1;
	json_decref(o);
	return (rv);
}

/*
 * Open the output: stdout for "-"; a new regular file (mode 0600) next to
 * path, renamed over it at the end, so that OUT may be one of the inputs
 * and a failed run leaves it as it was; anything else that exists (a
 * device, a FIFO, a symbolic link) written as it is, never replaced.
 * Return NULL with cause.
 */
static FILE *
rejudge_open_output(const char *path, char **tmp, char **cause)
{
	struct stat	 st;
	const char	*slash;
	FILE		*f = NULL;
	int		 fd;

	*tmp = NULL;
	if (strcmp(path, "-") == 0)
		return (stdout);
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	else {
		if ((slash = strrchr(path, '/')) != NULL)
			xasprintf(tmp, "%.*s/.%s.XXXXXX", (int)(slash - path),
			    path, slash + 1);
		else
			xasprintf(tmp, ".%s.XXXXXX", path);
		fd = mkstemp(*tmp);
	}
	if (fd == -1 || (f = fdopen(fd, "w")) == NULL) {
		xasprintf(cause, "--output %s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		if (fd != -1 && *tmp != NULL)
			unlink(*tmp);
		free(*tmp);
		*tmp = NULL;
	}
	return (f);
}

/* paritytap rejudge. */
static int
cmd_rejudge_exec(int argc, char **argv)
{
	struct options_target	 t = { NULL };
	struct rejudge_conf	 rc;
	char			*cause, *tmp = NULL, *line;
	FILE			*out = NULL;
	int			 i, status;

	memset(&rc, 0, sizeof rc);
	t.trace_header = &rc.trace_header;
	t.max_body = &rc.max_body;
	options_init(&rc.o, "rejudge", rejudge_options, &t);
	rc.o.other_sections = 1;
	buf_init(&rc.line);
	status = options_getopt(&rc.o, argc, argv, cmd_rejudge_help);
	if (status == -1 && options_load(&rc.o, rejudge_set, &rc) != 0)
		status = EXIT_USAGE;
	if (status != -1)
		goto out;
	status = EXIT_USAGE;
	if (optind == argc) {
		options_usage("rejudge", "no capture file given");
		goto out;
	}
	if (rc.output == NULL) {
		options_usage("rejudge", "-o OUT is required (- for stdout)");
		goto out;
	}
	for (i = optind; rc.learned && i < argc; i++) {
		if (strcmp(argv[i], "-") == 0) {
			options_usage("rejudge", "--secondary-learned reads "
			    "each capture twice: not from stdin");
			goto out;
		}
	}
	if (rc.json && strcmp(rc.output, "-") == 0) {
		options_usage("rejudge", "--json writes the summary to stdout: "
		    "give -o a file");
		goto out;
	}
	if ((out = rejudge_open_output(rc.output, &tmp, &cause)) == NULL) {
		options_usage("rejudge", "%s", cause);
		free(cause);
		goto out;
	}
	setvbuf(out, NULL, _IOFBF, 256 * 1024);
	if (rc.learned) {
		rc.noise = noise_new(&rc.o.co.noise);
		rc.hook = rejudge_learn_hook;
		rc.hook_arg = &rc;
		for (i = optind; i < argc; i++) {
			if (rejudge_learn(&rc, argv[i], &cause) != 0) {
				fprintf(stderr, "paritytap rejudge: %s\n",
				    cause);
				free(cause);
				goto out;
			}
		}
		rc.hook = rejudge_mark_hook;
	}
	for (i = optind; i < argc; i++) {
		if (rejudge_read(&rc, argv[i], out, &cause) != 0) {
			fprintf(stderr, "paritytap rejudge: %s\n", cause);
			free(cause);
			goto out;
		}
	}
	status = EXIT_OK;
	if (fflush(out) != 0 || ferror(out))
		status = EXIT_RUNTIME;
	if (out != stdout && fclose(out) != 0)
		status = EXIT_RUNTIME;
	out = NULL;
	if (status != EXIT_OK)
		log_warn("writing %s", rc.output);
	else if (tmp != NULL && rename(tmp, rc.output) != 0) {
		log_warn("renaming %s to %s", tmp, rc.output);
		status = EXIT_RUNTIME;
	}
	if (status == EXIT_OK && rc.json && rejudge_json(&rc) != 0) {
		log_warn("writing the summary to stdout");
		status = EXIT_RUNTIME;
	}
	if (status == EXIT_OK && !log_quiet) {
		line = rejudge_summary(&rc);
		fprintf(stderr, "paritytap rejudge: %s\n", line);
		free(line);
	}
out:
	if (out != NULL && out != stdout)
		fclose(out);
	if (tmp != NULL && status != EXIT_OK)
		unlink(tmp);
	free(tmp);
	buf_free(&rc.line);
	noise_free(rc.noise);
	options_free(&rc.o);
	return (status);
}

const struct cmd_entry cmd_rejudge_entry = {
	.name = "rejudge",
	.usage = "[--ignore JSONPATH] [--config FILE] CAPTURE... -o OUT",
	.summary = "compare recorded responses again under new rules",
	.exec = cmd_rejudge_exec,
	.help = cmd_rejudge_help,
};
