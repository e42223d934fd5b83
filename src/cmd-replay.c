/*
 * paritytap replay: re-send captured requests to a candidate (and a live
 * primary), compare, and exit with a CI gate's status.  The engine is
 * replay.c; this file holds the command line, the per-exchange results
 * and the reports (summary line, --json, --junit).
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "paritytap.h"

#define REPLAY_DEFAULT_FAIL_ON	"status,shape,body,candidate_error"

/* One replayed exchange, as the reports need it. */
struct replay_result {
	char		*rr_id;
	char		*rr_route;
	enum verdict	 rr_verdict;
	char		*rr_line;	/* flag line, or skip reason */
	double		 rr_ms;
	json_t		*rr_diffs;	/* new reference, divergent only */
};

/* Everything the command line and the config file can set. */
struct replay_conf {
	struct options		 o;
	struct replay_opts	 ro;
	const char		*junit;
	int			 json;
	unsigned		 fail_on;	/* bit (1 << verdict) */
	/* Results, filled on the pipeline thread, read after it stopped. */
	struct replay_result	*results;
	size_t			 nresults;
	size_t			 cresults;
};

/* Replay's options; options_set sets the shared ones. */
static const struct options_entry replay_options[] = {
	{ "primary", 'p', "URL", "send each request to this primary too",
	    NULL },
	{ "candidate", 'C', "URL", "the implementation being tested", NULL },
	{ "concurrency", 0, "N", "requests in flight at most", "16" },
	{ "rate", 0, "N[/s]", "requests started per second", "no limit" },
	{ "filter", 0, "KEY=VALUE", "replay only these (repeatable; values of "
	    "one key are alternatives, keys all apply):\nroute=GLOB "
	    "('POST /v1/*'), method=LIST,\nverdict=LIST (the recorded verdict)",
	    NULL },
	{ "ignore", 0, "JSONPATH",
	    "ignore differences at this path (repeatable)", NULL },
	OPTIONS_ENTRY_IGNORE_HEADER,
	OPTIONS_ENTRY_STRICT_ORDER,
	OPTIONS_ENTRY_LENIENT_NUMBERS,
	{ "fail-on", 0, "LIST", "verdicts that fail the run",
	    REPLAY_DEFAULT_FAIL_ON },
	{ "capture", 'c', "FILE|DIR",
	    "write the replay's exchanges (source replay)", NULL },
	{ "capture-body-limit", 0, "BYTES", "bytes of each body kept in it",
	    "1M" },
	{ "redact-header", 0, "NAME", "also redact this header in the capture",
	    NULL },
	OPTIONS_ENTRY_KEEP_SECRETS,
	{ "junit", 0, "FILE", "JUnit XML, one testcase per exchange", NULL },
	{ "json", 0, NULL, "a JSON summary on stdout", NULL },
	{ "timeout", 0, "MS", "deadline for each backend", "5000" },
	{ "max-body", 0, "BYTES", "response bytes kept for comparison", "8M" },
	{ "host", 0, "HOST", "Host header sent", "as recorded" },
	OPTIONS_ENTRY_TRACE_HEADER,
	{ "drop-redacted", 0, NULL, "replay requests whose secrets the "
	    "capture redacted, without those headers", "skip them" },
	{ "lenient", 0, NULL, "skip malformed capture lines", "exit 2" },
	{ "config", 0, "FILE", "INI file: [replay], [compare],\n"
	    "[route \"METHOD /path\"]; flags win", NULL },
	{ "quiet", 'q', NULL, "no DIVERGE or SKIP lines", NULL },
	{ "verbose", 'v', NULL, "more logging (twice: debug)", NULL },
	OPTIONS_ENTRY_COLOR,
	OPTIONS_ENTRY_HELP,
	OPTIONS_ENTRY_END
};

/* Print replay's --help. */
static void
cmd_replay_help(FILE *f)
{
	fputs(
"usage: paritytap replay [--primary URL] --candidate URL [OPTIONS] CAPTURE...\n"
"\n"
"Send each request recorded in the captures (.jsonl, .jsonl.gz, - for\n"
"stdin) to the candidate and compare its response with the primary's:\n"
"the one recorded in the capture, or, with --primary, a live one.\n"
"\n", f);
	options_help(f, replay_options, 32);
	fputs(
"\n"
"Exit status: 0 no verdict in --fail-on, 1 divergence, 2 usage error or\n"
"malformed capture (FILE:LINE), 3 no backend could be reached.\n"
"See paritytap(1).\n", f);
}

/* Parse a comma list of verdict names into a bit set. */
static int
replay_verdicts(const char *name, const char *value, unsigned *out,
    char **cause)
{
	char		*copy, *tok, *save;
	enum verdict	 v;
	int		 rv = 0;

	*out = 0;
	copy = xstrdup(value);
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save)) {
		if (verdict_from_name(tok, &v) != 0) {
			xasprintf(cause, "--%s: unknown verdict '%s' (one of "
			    "match, value, header, body, shape, status, "
			    "both_failed, candidate_error, primary_error, "
			    "skipped, recorded)", name, tok);
			rv = -1;
			break;
		}
		*out |= 1u << v;
	}
	free(copy);
	return (rv);
}

/* Parse "--rate N" or "N/s". */
static int
replay_rate(const char *value, double *out, char **cause)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(value, &end);
	if (end != value && strcmp(end, "/s") == 0)
		end += 2;
	if (end == value || *end != '\0' || errno != 0 || !(v > 0) ||
	    v > 1e7) {
		xasprintf(cause, "--rate: '%s' is not a rate like 100 or "
		    "100/s", value);
		return (-1);
	}
	*out = v;
	return (0);
}

/* Parse one --filter KEY=VALUE. */
static int
replay_filter(struct replay_filter *f, const char *value, char **cause)
{
	const char	*eq = strchr(value, '=');
	char		*copy, *tok, *save;
	unsigned	 bits;

	if (eq == NULL || eq[1] == '\0')
		goto bad;
	if (strncmp(value, "route=", 6) == 0)
		strlist_add(&f->routes, &f->nroutes, eq + 1);
	else if (strncmp(value, "method=", 7) == 0) {
		copy = xstrdup(eq + 1);
		for (tok = strtok_r(copy, ", ", &save); tok != NULL;
		    tok = strtok_r(NULL, ", ", &save))
			strlist_add(&f->methods, &f->nmethods, tok);
		free(copy);
	} else if (strncmp(value, "verdict=", 8) == 0) {
		if (replay_verdicts("filter", eq + 1, &bits, cause) != 0)
			return (-1);
		f->verdicts |= bits;
	} else
		goto bad;
	return (0);
bad:
	xasprintf(cause, "--filter: '%s' is not route=GLOB, method=LIST or "
	    "verdict=LIST", value);
	return (-1);
}

/* Set one option by its long name; value is NULL for flags. */
static int
replay_set(void *arg, const char *name, const char *value, char **cause)
{
	struct replay_conf	*rc = arg;
	uint64_t		 v;
	char			*why;
	int			 rv;

	if ((rv = options_set(&rc->o, name, value, cause)) != 0)
		return (rv == 1 ? 0 : -1);
	if (strcmp(name, "concurrency") == 0) {
		if (parse_uint(value, 1, 100000, &v, &why) != 0)
			return (options_cause(name, why, cause));
		rc->ro.concurrency = (unsigned)v;
	} else if (strcmp(name, "rate") == 0)
		return (replay_rate(value, &rc->ro.rate, cause));
	else if (strcmp(name, "filter") == 0)
		return (replay_filter(&rc->ro.filter, value, cause));
	else if (strcmp(name, "fail-on") == 0)
		return (replay_verdicts(name, value, &rc->fail_on, cause));
	else if (strcmp(name, "junit") == 0)
		rc->junit = options_keep(&rc->o, value);
	else if (strcmp(name, "json") == 0)
		return (options_bool(name, value, &rc->json, cause));
	else if (strcmp(name, "timeout") == 0)
		return (options_ms(name, value, &rc->ro.timeout, cause));
	else if (strcmp(name, "drop-redacted") == 0)
		return (options_bool(name, value, &rc->ro.drop_redacted,
		    cause));
	else if (strcmp(name, "lenient") == 0)
		return (options_bool(name, value, &rc->ro.lenient, cause));
	else {
		xasprintf(cause, "unknown option '%s'", name);
		return (-1);
	}
	return (0);
}

/* A pipeline consumer: keep what the reports need of one exchange. */
static void
replay_on_exchange(void *arg, const struct exchange *ex)
{
	struct replay_conf	*rc = arg;
	struct replay_result	*r;
	json_t			*obj;

	if (rc->nresults == rc->cresults) {
		rc->cresults = rc->cresults ? rc->cresults * 2 : 256;
		rc->results = xreallocarray(rc->results, rc->cresults,
		    sizeof *rc->results);
	}
	r = &rc->results[rc->nresults++];
	memset(r, 0, sizeof *r);
	r->rr_verdict = ex->ex_verdict;
	/* The CI reports only need detail on the exchanges that diverge. */
	if (rc->junit == NULL && !rc->json && (ex->ex_verdict >= VERDICT_NONE ||
	    !(rc->fail_on & (1u << ex->ex_verdict))))
		return;
	r->rr_id = xstrdup(ex->ex_id);
	r->rr_route = xstrdup(ex->ex_route != NULL ? ex->ex_route : "?");
	r->rr_ms = ex->ex_resp[SIDE_CANDIDATE].ms;
	if (ex->ex_verdict == VERDICT_SKIPPED)
		r->rr_line = xstrdup(ex->ex_skip_reason != NULL ?
		    ex->ex_skip_reason : "");
	else if (verdict_is_divergence(ex->ex_verdict)) {
		r->rr_line = exchange_flag_line(ex, 0);
		obj = exchange_to_json(ex, &rc->o.cap);
		r->rr_diffs = json_incref(json_object_get(obj, "diffs"));
		json_decref(obj);
	}
}

/* Does this verdict fail the run? */
static int
replay_fails(const struct replay_conf *rc, enum verdict v)
{
	return (v < VERDICT_NONE && (rc->fail_on & (1u << v)) != 0);
}

/* Order results by id, so reports do not depend on completion order. */
static int
replay_result_cmp(const void *a, const void *b)
{
	const struct replay_result	*ra = a, *rb = b;

	if (ra->rr_id == NULL || rb->rr_id == NULL)
		return ((ra->rr_id == NULL) - (rb->rr_id == NULL));
	return (strcmp(ra->rr_id, rb->rr_id));
}

/* Append s to b with XML's special characters escaped. */
static void
replay_xml(struct buf *b, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '<':
			buf_addstr(b, "&lt;");
			break;
		case '>':
			buf_addstr(b, "&gt;");
			break;
		case '&':
			buf_addstr(b, "&amp;");
			break;
		case '"':
			buf_addstr(b, "&quot;");
			break;
		default:
			/* XML 1.0 has no control characters but tab/LF/CR. */
			if ((unsigned char)*s < 0x20 && *s != '\t' &&
			    *s != '\n' && *s != '\r')
				buf_add(b, "?", 1);
			else
				buf_add(b, s, 1);
			break;
		}
	}
}

/* Write the JUnit XML report; return -1 with cause on error. */
static int
replay_junit(struct replay_conf *rc, double secs, char **cause)
{
	struct buf		 b;
	struct replay_result	*r;
	size_t			 i, failures = 0, skipped = 0;
	FILE			*f;
	int			 rv = 0;

	for (i = 0; i < rc->nresults; i++) {
		if (replay_fails(rc, rc->results[i].rr_verdict))
			failures++;
		else if (rc->results[i].rr_verdict == VERDICT_SKIPPED)
			skipped++;
	}
	buf_init(&b);
	buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<testsuites tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\" "
	    "time=\"%.3f\">\n<testsuite name=\"paritytap replay\" "
	    "tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" "
	    "time=\"%.3f\">\n", rc->nresults, failures, skipped, secs,
	    rc->nresults, failures, skipped, secs);
	for (i = 0; i < rc->nresults; i++) {
		r = &rc->results[i];
		buf_addstr(&b, "<testcase classname=\"");
		replay_xml(&b, r->rr_route);
		buf_addstr(&b, "\" name=\"");
		replay_xml(&b, r->rr_route);
		buf_addstr(&b, " id=");
		replay_xml(&b, r->rr_id);
		buf_printf(&b, "\" time=\"%.3f\"", r->rr_ms / 1000.0);
		if (replay_fails(rc, r->rr_verdict)) {
			buf_addstr(&b, ">\n<failure type=\"");
			buf_addstr(&b, verdict_name(r->rr_verdict));
			buf_addstr(&b, "\" message=\"");
			replay_xml(&b, r->rr_line);
			buf_addstr(&b, "\">");
			replay_xml(&b, r->rr_line);
			buf_addstr(&b, "</failure>\n</testcase>\n");
		} else if (r->rr_verdict == VERDICT_SKIPPED) {
			buf_addstr(&b, ">\n<skipped message=\"");
			replay_xml(&b, r->rr_line);
			buf_addstr(&b, "\"/>\n</testcase>\n");
		} else if (r->rr_line != NULL) {
			buf_addstr(&b, ">\n<system-out>");
			replay_xml(&b, r->rr_line);
			buf_addstr(&b, "</system-out>\n</testcase>\n");
		} else
			buf_addstr(&b, "/>\n");
	}
	buf_addstr(&b, "</testsuite>\n</testsuites>\n");
	if ((f = fopen(rc->junit, "w")) == NULL ||
	    fwrite(b.data, 1, b.len, f) != b.len || fclose(f) != 0) {
		xasprintf(cause, "--junit %s: %s", rc->junit, strerror(errno));
		rv = -1;
	}
	buf_free(&b);
	return (rv);
}

/* Print the --json summary on stdout. */
static void
replay_json(struct replay_conf *rc, const struct stats_counts *st,
    const struct replay_stats *rs, const char *summary, int status)
{
	json_t			*o, *verdicts, *failures, *skipped, *e;
	struct replay_result	*r;
	size_t			 i;
	int			 v;

	verdicts = json_object();
	for (v = 0; v < VERDICT_NONE; v++) {
		if (st->verdicts[v] != 0)
			json_object_set_new(verdicts, verdict_name(v),
			    json_integer((json_int_t)st->verdicts[v]));
	}
	failures = json_array();
	skipped = json_array();
	for (i = 0; i < rc->nresults; i++) {
		r = &rc->results[i];
		if (r->rr_verdict == VERDICT_SKIPPED) {
			e = json_pack("{s:s, s:s, s:s}", "id", r->rr_id,
			    "route", r->rr_route, "reason", r->rr_line);
			json_array_append_new(skipped, e);
		} else if (replay_fails(rc, r->rr_verdict)) {
			e = json_pack("{s:s, s:s, s:s, s:O}", "id", r->rr_id,
			    "route", r->rr_route, "verdict",
			    verdict_name(r->rr_verdict), "diffs",
			    r->rr_diffs != NULL ? r->rr_diffs : json_null());
			json_array_append_new(failures, e);
		}
	}
	o = json_pack("{s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:s, s:i}",
	    "exchanges", (json_int_t)st->total,
	    "replayed", (json_int_t)rs->sent,
	    "filtered", (json_int_t)rs->filtered,
	    "status_match", (json_int_t)st->status_match,
	    "verdicts", verdicts, "failures", failures, "skipped", skipped,
	    "summary", summary, "exit", status);
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(o);
}

/* Free what the configuration holds. */
static void
replay_conf_free(struct replay_conf *rc)
{
	size_t	 i;

	for (i = 0; i < rc->nresults; i++) {
		free(rc->results[i].rr_id);
		free(rc->results[i].rr_route);
		free(rc->results[i].rr_line);
		if (rc->results[i].rr_diffs != NULL)
			json_decref(rc->results[i].rr_diffs);
	}
	free(rc->results);
	strlist_free(&rc->ro.filter.routes, &rc->ro.filter.nroutes);
	strlist_free(&rc->ro.filter.methods, &rc->ro.filter.nmethods);
	options_free(&rc->o);
}

/* Run the replay and the reports; return the exit status. */
static int
replay_main(struct replay_conf *rc, char **paths, int npaths)
{
	struct runtime		*rt;
	struct capture		*capture = NULL;
	struct pipeline_opts	 popts;
	struct consumer		 con;
	struct stats_counts	 st;
	struct replay_stats	 rs;
	struct pipeline		*pipeline;
	char			*cause = NULL, *summary;
	double			 start;
	size_t			 i;
	int			 status, color;

	color = use_color(rc->o.color, STDERR_FILENO, NULL) > 0;
	if ((status = options_capture(&rc->o, &capture)) != 0)
		return (status);
	rt = runtime_new(NULL, NULL, 0);
	memset(&popts, 0, sizeof popts);
	popts.compare = &rc->o.co;
	/* A CI gate sees every exchange: wait for room, never drop. */
	popts.wait = 1;
	pipeline = pipeline_new(&popts);
	if (!log_quiet) {
		flagline_consumer(&color, &con);
		pipeline_add(pipeline, &con);
	}
	if (capture != NULL) {
		capture_consumer(capture, &con);
		pipeline_add(pipeline, &con);
	}
	memset(&con, 0, sizeof con);
	con.name = "replay";
	con.on_exchange = replay_on_exchange;
	con.arg = rc;
	pipeline_add(pipeline, &con);
	pipeline_start(pipeline);

	rc->ro.quiet = log_quiet;
	rc->ro.progress = !log_quiet && isatty(STDERR_FILENO);
	start = mono_ms();
	status = replay_run(runtime_base(rt), &rc->ro, paths, npaths, pipeline,
	    &rs, &cause);
	pipeline_stop(pipeline, 0);
	pipeline_counts(pipeline, &st);
	pipeline_free(pipeline);
	if (capture != NULL && capture_close(capture) != 0 &&
	    status == EXIT_OK) {
		log_warnx("not every exchange was recorded in the capture");
		status = EXIT_RUNTIME;
	}
	runtime_free(rt);

	if (status == EXIT_USAGE)
		fprintf(stderr, "paritytap replay: %s\n", cause);
	else if (status == EXIT_RUNTIME)
		log_warnx("%s", cause);
	free(cause);
	cause = NULL;
	/* A bad URL or an unreadable file: nothing ran, nothing to report. */
	if (status == EXIT_USAGE && st.total == 0)
		return (status);
	if (status == EXIT_OK) {
		for (i = 0; i < rc->nresults; i++) {
			if (replay_fails(rc, rc->results[i].rr_verdict))
				status = EXIT_DIVERGE;
		}
	}
	if (rc->nresults > 1)
		qsort(rc->results, rc->nresults, sizeof *rc->results,
		    replay_result_cmp);
	summary = stats_summary(&st);
	if (rc->json) {
		fprintf(stderr, "%s\n", summary);
		replay_json(rc, &st, &rs, summary, status);
	} else {
		printf("%s\n", summary);
		fflush(stdout);
	}
	free(summary);
	if (rc->junit != NULL &&
	    replay_junit(rc, (mono_ms() - start) / 1000.0, &cause) != 0) {
		fprintf(stderr, "paritytap replay: %s\n", cause);
		free(cause);
		if (status == EXIT_OK)
			status = EXIT_RUNTIME;
	}
	return (status);
}

/* paritytap replay. */
static int
cmd_replay_exec(int argc, char **argv)
{
	struct replay_conf	 rc;
	struct options_target	 ot = OPTIONS_TARGET(rc.ro);
	char			*cause;
	int			 status;

	memset(&rc, 0, sizeof rc);
	options_init(&rc.o, "replay", replay_options, &ot);
	rc.ro.concurrency = 16;
	rc.ro.timeout = 5000;
	if (replay_verdicts("fail-on", REPLAY_DEFAULT_FAIL_ON, &rc.fail_on,
	    &cause) != 0)
		fatalx("%s", cause);

	status = options_getopt(&rc.o, argc, argv, cmd_replay_help);
	if (status != -1)
		goto out;

	status = EXIT_USAGE;
	if (options_load(&rc.o, replay_set, &rc) != 0)
		goto out;
	if (rc.ro.candidate == NULL)
		options_usage(rc.o.command, "--candidate URL is required");
	else if (optind == argc)
		options_usage(rc.o.command, "no CAPTURE file given");
	else
		status = replay_main(&rc, argv + optind, argc - optind);
out:
	replay_conf_free(&rc);
	return (status);
}

const struct cmd_entry cmd_replay_entry = {
	.name = "replay",
	.usage = "[--primary URL] --candidate URL [OPTIONS] CAPTURE...",
	.summary = "re-send captured requests, compare; a CI gate",
	.exec = cmd_replay_exec,
	.help = cmd_replay_help,
};
