/*
 * paritytap diff: the command line; the engine is docdiff.c.
 */

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paritytap.h"

/* Diff's options; options_set sets the compare ones, -q, -v, --color. */
static const struct options_entry diff_options[] = {
	{ "mode", 'm', "MODE", "shape: documents match when their JSON "
	    "shapes\nagree (values may differ) [default];\nexact: when they "
	    "hold the same values too,\nignored paths removed (numbers compared "
	    "by\nvalue, member order ignored unless\n--strict-order)", NULL },
	{ "ignore", 0, "JSONPATH", "drop this path before comparing "
	    "(repeatable):\n$.timestamp, $..recorded_at, $.items[*].id", NULL },
	{ "fail-on", 0, "KINDS", "comma list of verdicts that make the exit\n"
	    "status 1 [shape,body; exact mode adds value];\na document that "
	    "does not parse always fails", NULL },
	{ "json", 0, NULL, "print the result as one JSON document", NULL },
	{ "format", 0, "FORMAT", "text, or json: as --json", "text" },
	OPTIONS_ENTRY_STRICT_ORDER,
	OPTIONS_ENTRY_LENIENT_NUMBERS,
	OPTIONS_ENTRY_UNORDERED,
	{ "config", 0, "FILE", "INI file: [compare] (its ignore, "
	    "strict-order, lenient-numbers and unordered keys) and [diff]; "
	    "other commands' sections are passed over; flags win", NULL },
	{ "quiet", 'q', NULL, "no DIVERGE lines", NULL },
	{ "verbose", 'v', NULL, "more logging: how many documents each file "
	    "held", NULL },
	OPTIONS_ENTRY_COLOR,
	OPTIONS_ENTRY_HELP,
	OPTIONS_ENTRY_END
};

/* Print diff's --help. */
static void
cmd_diff_help(FILE *f)
{
	fputs(
"usage: paritytap diff [--mode shape|exact] [--ignore JSONPATH]... [OPTIONS]\n"
"                      A B\n"
"\n"
"Compare two JSON or JSONL files (or - for stdin, one side only) document\n"
"by document with the proxy's engine.  A is the primary side, B the\n"
"candidate.  A file that parses as one JSON value is one document;\n"
"otherwise each non-blank line is one.  A .gz file is read decompressed.\n"
"\n", f);
	options_help(f, diff_options, 28);
	fputs(
"\n"
"One DIVERGE line per differing document on stderr, then a summary on\n"
"stdout.  Exit status: 0 parity, 1 divergence or a document that does not\n"
"parse, 2 usage error or unreadable file.  See paritytap(1).\n", f);
}


/* Parse a --fail-on list into conf; 0, or -1 with an allocated cause. */
static int
diff_fail_on(struct docdiff_opts *conf, const char *value, char **cause)
{
	enum verdict	 v;
	char		*copy, *tok, *save;
	int		 rc = 0;

	memset(conf->fail_on, 0, sizeof conf->fail_on);
	conf->fail_on_set = 1;
	copy = xstrdup(value);
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save)) {
		if (verdict_from_name(tok, &v) != 0 || v == VERDICT_MATCH) {
			xasprintf(cause, "--fail-on: unknown verdict '%s' (use "
			    "shape, body, value)", tok);
			rc = -1;
			break;
		}
		conf->fail_on[v] = 1;
	}
	free(copy);
	return (rc);
}


/* What the command line sets. */
struct diff_conf {
	struct options		 o;
	struct docdiff_opts	 d;
};

/* Set one option by its long name; value is NULL for flags. */
static int
diff_set(void *arg, const char *name, const char *value, char **cause)
{
	struct diff_conf	*dc = arg;
	struct docdiff_opts	*conf = &dc->d;
	int			 rv;

	if ((rv = options_set(&dc->o, name, value, cause)) != 0)
		return (rv == 1 ? 0 : -1);
	if (strcmp(name, "mode") == 0) {
		if (strcmp(value, "shape") == 0)
			conf->mode = DOCDIFF_SHAPE;
		else if (strcmp(value, "exact") == 0)
			conf->mode = DOCDIFF_EXACT;
		else {
			xasprintf(cause, "--mode: '%s' is not shape or exact",
			    value);
			return (-1);
		}
	} else if (strcmp(name, "fail-on") == 0)
		return (diff_fail_on(conf, value, cause));
	else if (strcmp(name, "json") == 0)
		return (options_bool(name, value, &conf->json, cause));
	else if (strcmp(name, "format") == 0)
		return (options_text_json(name, value, &conf->json, cause));
	else {
		xasprintf(cause, "unknown option '%s'", name);
		return (-1);
	}
	return (0);
}

/* paritytap diff. */
static int
cmd_diff_exec(int argc, char **argv)
{
	struct diff_conf	 dc;
	struct docdiff_opts	*conf = &dc.d;
	int			 status;

	memset(&dc, 0, sizeof dc);
	options_init(&dc.o, "diff", diff_options, NULL);
	if ((status = options_getopt(&dc.o, argc, argv, cmd_diff_help)) != -1)
		goto out;
	status = EXIT_USAGE;
	if (options_load(&dc.o, diff_set, &dc) != 0)
		goto out;
	if (argc - optind < 2) {
		options_usage("diff", "two files to compare are needed, A and B");
		goto out;
	}
	if (argc - optind > 2) {
		options_usage("diff", "unexpected argument '%s'", argv[optind + 2]);
		goto out;
	}
	if (strcmp(argv[optind], "-") == 0 &&
	    strcmp(argv[optind + 1], "-") == 0) {
		options_usage("diff", "only one of A and B may be - (stdin)");
		goto out;
	}
	if (!conf->fail_on_set) {
		conf->fail_on[VERDICT_SHAPE] = 1;
		conf->fail_on[VERDICT_BODY] = 1;
		if (conf->mode == DOCDIFF_EXACT)
			conf->fail_on[VERDICT_VALUE] = 1;
	}
	conf->co = dc.o.co;
	conf->color = use_color(dc.o.color, STDERR_FILENO, NULL) > 0;
	status = docdiff_run(conf, argv[optind], argv[optind + 1]);
out:
	options_free(&dc.o);
	return (status);
}

const struct cmd_entry cmd_diff_entry = {
	.name = "diff",
	.usage = "[--mode shape|exact] [--ignore JSONPATH]... [OPTIONS] A B",
	.summary = "compare two JSON or JSONL files document by document",
	.exec = cmd_diff_exec,
	.help = cmd_diff_help,
};
