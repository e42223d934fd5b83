/*
 * paritytap report: read captures, print totals by verdict and route, the
 * top diff signatures and drifts as text, JSON or one HTML page, or every
 * drift as a baseline file.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paritytap.h"

/* Examples per signature unless --examples says otherwise. */
#define REPORT_EXAMPLES_DEFAULT	3

/* Signatures and drifts shown by default in text and HTML (JSON: all). */
#define REPORT_TEXT_TOP		10
#define REPORT_HTML_TOP		100

enum report_format {
	REPORT_TEXT,
	REPORT_JSON,
	REPORT_HTML,
	REPORT_BASELINE
};

/* The report's options; options_set sets -q and -v. */
static const struct options_entry report_options[] = {
	{ "format", 'f', "FORMAT", "text, json, html (one self-contained "
	    "page with latency charts and each signature's example exchange "
	    "side by side) or baseline (every drift, a --baseline file)",
	    "text" },
	{ "output", 'o', "FILE", "write the report to FILE (mode 0600)",
	    "stdout" },
	{ "top", 0, "N", "signatures and drifts listed, 0 for all",
	    "text: 10, html: 100, json: all" },
	{ "examples", 0, "N", "example exchanges shown per signature (the "
	    "earliest: request, both responses' headers, folded diffs), 0 "
	    "for none", "3" },
	{ "baseline", 0, "FILE", "mark the drifts this baseline lists (the "
	    "rest are new)", NULL },
	{ "lenient", 0, NULL, "skip malformed capture lines with a warning",
	    NULL },
	{ "allow-empty", 0, NULL, "exit 0 when the captures hold no exchange",
	    "exit 2" },
	{ "json", 0, NULL, "as --format json", NULL },
	{ "config", 0, "FILE", "INI file: [report] (and [compare], which "
	    "report has no use for)", NULL },
	{ "quiet", 'q', NULL, "no warnings (a torn last line, skipped lines)",
	    NULL },
	{ "verbose", 'v', NULL, "more logging: each capture file read and "
	    "its exchanges (twice: debug, which names each line the fast "
	    "reader did not take)", NULL },
	OPTIONS_ENTRY_HELP,
	OPTIONS_ENTRY_END
};

/* What the command line sets. */
struct report_conf {
	struct options		 o;
	enum report_format	 format;
	const char		*output;
	uint64_t		 top;
	int			 have_top;
	uint64_t		 examples;
	int			 lenient;
	int			 allow_empty;
	const char		*baseline;
};

/* Print the report's --help. */
static void
cmd_report_help(FILE *f)
{
	fputs(
"usage: paritytap report [--format text|json|html|baseline] [-o FILE]\n"
"                        [OPTIONS] CAPTURE...\n"
"\n"
"Read capture files (.jsonl, .jsonl.gz, - for stdin; a quoted glob such as\n"
"'captures/*.jsonl' is expanded) and summarize them: totals per verdict, a\n"
"table per route (count, match, status, shape, body, header, value and\n"
"error counts; p50/p99 latency of each side), the diff signatures\n"
"(route + verdict + folded diff paths) with counts, first and last seen,\n"
"the count per minute, hour or day over the captures' span and the\n"
"earliest example exchanges, the status codes of each side per route,\n"
"and the drifts (route, kind, folded path, side: one\n"
"difference each) with counts, share of the route, first and last seen\n"
"and example ids.\n"
"\n", f);
	options_help(f, report_options, 24);
	fputs(
"\n"
"Exit status: 0, or 2 when a capture or the baseline is missing or\n"
"malformed (the message names the file and line).  --top does not apply\n"
"to --format baseline.  See paritytap(1).\n", f);
}

/* Exchanges between two updates of the progress line. */
#define REPORT_PROGRESS_EVERY	16384

/* Whether to show progress: standard error is a terminal. */
static int	report_progress;
static uint64_t	report_nread;	/* exchanges read, every input */

/* Read one capture file into the report; return 0, or -1 with cause. */
static int
report_read(struct report *r, const char *path, int lenient, char **cause)
{
	struct capture_reader	*cr;
	struct exchange		 ex;
	uint64_t		 n = 0;
	int			 rc;

	if ((cr = capture_reader_open(path, lenient, cause)) == NULL)
		return (-1);
	report_input(r, strcmp(path, "-") == 0 ? "stdin" : path);
	while ((rc = capture_reader_next(cr, &ex, cause)) == 1) {
		report_add(r, &ex);
		exchange_free(&ex);
		report_nread++;
		/* Big captures take a while: say how far it got. */
		if (report_progress && ++n % REPORT_PROGRESS_EVERY == 0)
			fprintf(stderr, "\r\033[Kparitytap report: %s: %llu "
			    "exchanges", path, (unsigned long long)n);
	}
	if (report_progress && n >= REPORT_PROGRESS_EVERY)
		fprintf(stderr, "\r\033[K");
	capture_reader_close(cr);
	return (rc);
}

/* Return 1 if a name has glob(3) magic characters. */
static int
report_is_glob(const char *s)
{
	return (strpbrk(s, "*?[") != NULL);
}

/*
 * Read one argument: a file, "-", or a glob pattern the shell left
 * quoted (a file of that very name wins).  Return 0, or -1 with cause.
 */
static int
report_read_arg(struct report *r, const char *arg, int lenient,
    char **cause)
{
	struct stat	 st;
	glob_t		 g;
	size_t		 i;
	int		 rc = 0;

	if (strcmp(arg, "-") == 0 || !report_is_glob(arg) ||
	    stat(arg, &st) == 0)
		return (report_read(r, arg, lenient, cause));
	memset(&g, 0, sizeof g);
	switch (glob(arg, 0, NULL, &g)) {
	case 0:
		break;
	case GLOB_NOMATCH:
		xasprintf(cause, "%s: no file matches", arg);
		return (-1);
	default:
		xasprintf(cause, "%s: cannot expand the pattern", arg);
		globfree(&g);
		return (-1);
	}
	for (i = 0; i < g.gl_pathc && rc == 0; i++)
		rc = report_read(r, g.gl_pathv[i], lenient, cause);
	globfree(&g);
	return (rc);
}

/* Open the output; return the stream or NULL with cause. */
static FILE *
report_open_output(const char *path, char **cause)
{
	FILE	*f;
	int	 fd;

	if (path == NULL || strcmp(path, "-") == 0)
		return (stdout);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || (f = fdopen(fd, "w")) == NULL) {
		xasprintf(cause, "--output %s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return (NULL);
	}
	return (f);
}

/* Set one option by its long name; value is NULL for flags. */
static int
report_set(void *arg, const char *name, const char *value, char **cause)
{
	struct report_conf	*rc = arg;
	char			*why;
	int			 rv;

	if ((rv = options_set(&rc->o, name, value, cause)) != 0)
		return (rv == 1 ? 0 : -1);
	if (strcmp(name, "json") == 0)
		rc->format = REPORT_JSON;
	else if (strcmp(name, "format") == 0) {
		if (strcmp(value, "text") == 0)
			rc->format = REPORT_TEXT;
		else if (strcmp(value, "json") == 0)
			rc->format = REPORT_JSON;
		else if (strcmp(value, "html") == 0)
			rc->format = REPORT_HTML;
		else if (strcmp(value, "baseline") == 0)
			rc->format = REPORT_BASELINE;
		else {
			xasprintf(cause, "--format: '%s' is not text, json, "
			    "html or baseline", value);
			return (-1);
		}
	} else if (strcmp(name, "output") == 0)
		rc->output = value;
	else if (strcmp(name, "top") == 0) {
		if (parse_uint(value, 0, 1000000000, &rc->top, &why) != 0)
			return (options_cause(name, why, cause));
		rc->have_top = 1;
	} else if (strcmp(name, "examples") == 0) {
		if (parse_uint(value, 0, 1000, &rc->examples, &why) != 0)
			return (options_cause(name, why, cause));
	} else if (strcmp(name, "lenient") == 0)
		return (options_bool(name, value, &rc->lenient, cause));
	else if (strcmp(name, "allow-empty") == 0)
		return (options_bool(name, value, &rc->allow_empty, cause));
	else if (strcmp(name, "baseline") == 0)
		rc->baseline = value;
	else {
		xasprintf(cause, "unknown option '%s'", name);
		return (-1);
	}
	return (0);
}

/* paritytap report. */
static int
cmd_report_exec(int argc, char **argv)
{
	struct report_conf	 conf;
	struct report		*r = NULL;
	struct baseline		*baseline = NULL;
	char			*cause;
	FILE			*f;
	int			 i, rc, status;

	memset(&conf, 0, sizeof conf);
	conf.examples = REPORT_EXAMPLES_DEFAULT;
	options_init(&conf.o, "report", report_options, NULL);
	status = options_getopt(&conf.o, argc, argv, cmd_report_help);
	if (status == -1 && options_load(&conf.o, report_set, &conf) != 0)
		status = EXIT_USAGE;
	options_free(&conf.o);
	if (status != -1)
		return (status);
	status = EXIT_USAGE;
	if (optind == argc)
		return (options_usage("report", "no capture file given"));
	if (!conf.have_top && conf.format == REPORT_TEXT)
		conf.top = REPORT_TEXT_TOP;
	else if (!conf.have_top && conf.format == REPORT_HTML)
		conf.top = REPORT_HTML_TOP;

	if (conf.baseline != NULL && conf.format == REPORT_BASELINE)
		return (options_usage("report", "--baseline marks drifts in a "
		    "report; --format baseline lists every drift of the "
		    "captures"));
	if (conf.baseline != NULL &&
	    (baseline = baseline_load(conf.baseline, &cause)) == NULL) {
		fprintf(stderr, "paritytap report: --baseline: %s\n", cause);
		free(cause);
		return (EXIT_USAGE);
	}

	report_progress = isatty(STDERR_FILENO);
	/* A baseline has no use for examples: keep none. */
	r = report_new(conf.format == REPORT_BASELINE ? 0 :
	    (size_t)conf.examples);
	report_set_baseline(r, baseline);
	for (i = optind; i < argc; i++) {
		if (report_read_arg(r, argv[i], conf.lenient, &cause) != 0) {
			fprintf(stderr, "paritytap report: %s\n", cause);
			free(cause);
			goto out;
		}
	}

	/* A report of nothing would read as a clean run. */
	if (report_nread == 0 && !conf.allow_empty) {
		fprintf(stderr, "paritytap report: no exchange in %s%s: nothing "
		    "to report (--allow-empty to accept)\n", argv[optind],
		    argc - optind > 1 ? " ..." : "");
		goto out;
	}

	/* The output is opened last: a bad capture leaves it untouched. */
	if ((f = report_open_output(conf.output, &cause)) == NULL) {
		options_usage("report", "%s", cause);
		free(cause);
		goto out;
	}
	switch (conf.format) {
	case REPORT_TEXT:
		rc = report_text(r, (size_t)conf.top, f);
		break;
	case REPORT_JSON:
		rc = report_json(r, (size_t)conf.top, f);
		break;
	case REPORT_HTML:
		rc = report_html(r, (size_t)conf.top, f);
		break;
	default:
		rc = report_baseline(r, f);
		break;
	}
	if (fflush(f) != 0)
		rc = -1;
	if (f != stdout && fclose(f) != 0)
		rc = -1;
	if (rc != 0) {
		log_warn("writing the report to %s",
		    conf.output != NULL ? conf.output : "stdout");
		status = EXIT_RUNTIME;
	} else
		status = EXIT_OK;
out:
	report_free(r);
	baseline_free(baseline);
	return (status);
}

const struct cmd_entry cmd_report_entry = {
	.name = "report",
	.usage = "[--format text|json|html|baseline] [-o FILE] CAPTURE...",
	.summary = "summarize captures by route, verdict, signature and drift",
	.exec = cmd_report_exec,
	.help = cmd_report_help,
};
