/*
 * paritytap diff: the command line; the engine is docdiff.c.
 */

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paritytap.h"

enum {
	OPT_IGNORE = 256,
	OPT_FAIL_ON,
	OPT_JSON,
	OPT_STRICT_ORDER,
	OPT_LENIENT_NUMBERS,
	OPT_COLOR
};

static const struct option diff_longopts[] = {
	{ "mode",		required_argument, NULL, 'm' },
	{ "ignore",		required_argument, NULL, OPT_IGNORE },
	{ "fail-on",		required_argument, NULL, OPT_FAIL_ON },
	{ "json",		no_argument,	   NULL, OPT_JSON },
	{ "strict-order",	no_argument,	   NULL, OPT_STRICT_ORDER },
	{ "lenient-numbers",	no_argument,	   NULL, OPT_LENIENT_NUMBERS },
	{ "quiet",		no_argument,	   NULL, 'q' },
	{ "verbose",		no_argument,	   NULL, 'v' },
	{ "color",		required_argument, NULL, OPT_COLOR },
	{ "help",		no_argument,	   NULL, 'h' },
	{ NULL, 0, NULL, 0 }
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
"\n"
"  -m, --mode MODE           shape: documents match when their JSON shapes\n"
"                            agree (values may differ) [default];\n"
"                            exact: when they are byte-equal once parsed,\n"
"                            ignored paths removed and re-serialized with\n"
"                            sorted keys\n"
"      --ignore JSONPATH     drop this path before comparing (repeatable):\n"
"                            $.timestamp, $..recorded_at, $.items[*].id\n"
"      --fail-on KINDS       comma list of verdicts that make the exit\n"
"                            status 1 [shape,body; exact mode adds value];\n"
"                            a document that does not parse always fails\n"
"      --json                print the result as one JSON document\n"
"      --strict-order        report object key order differences\n"
"      --lenient-numbers     1 and 1.0 are the same type\n"
"  -q, --quiet               no DIVERGE lines\n"
"  -v, --verbose             more logging\n"
"      --color WHEN          auto, always or never [auto]\n"
"  -h, --help                this text\n"
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


/* paritytap diff. */
static int
cmd_diff_exec(int argc, char **argv)
{
	struct docdiff_opts	 conf;
	const char		*color = NULL;
	char			*cause;
	int			 ch, idx, status = EXIT_USAGE;

	memset(&conf, 0, sizeof conf);
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":m:qvh", diff_longopts,
	    &idx)) != -1) {
		switch (ch) {
		case 'h':
			cmd_diff_help(stdout);
			status = EXIT_OK;
			goto out;
		case 'm':
			if (strcmp(optarg, "shape") == 0)
				conf.mode = DOCDIFF_SHAPE;
			else if (strcmp(optarg, "exact") == 0)
				conf.mode = DOCDIFF_EXACT;
			else {
				options_usage("diff", "--mode: '%s' is not shape or exact",
				    optarg);
				goto out;
			}
			break;
		case OPT_IGNORE:
			if (jsonpath_valid(optarg, &cause) != 0) {
				options_usage("diff", "--ignore: %s", cause);
				free(cause);
				goto out;
			}
			strlist_add(&conf.co.ignore, &conf.co.nignore, optarg);
			break;
		case OPT_FAIL_ON:
			if (diff_fail_on(&conf, optarg, &cause) != 0) {
				options_usage("diff", "%s", cause);
				free(cause);
				goto out;
			}
			break;
		case OPT_JSON:
			conf.json = 1;
			break;
		case OPT_STRICT_ORDER:
			conf.co.strict_order = 1;
			break;
		case OPT_LENIENT_NUMBERS:
			conf.co.lenient_numbers = 1;
			break;
		case 'q':
			log_quiet = 1;
			break;
		case 'v':
			log_verbose++;
			break;
		case OPT_COLOR:
			if (use_color(optarg, STDERR_FILENO, &cause) < 0) {
				options_usage("diff", "%s", cause);
				free(cause);
				goto out;
			}
			color = optarg;
			break;
		case ':':
			options_usage("diff", "option %s needs a value", argv[optind - 1]);
			goto out;
		default:
			if (optopt != 0)
				options_usage("diff", "unknown option -%c", optopt);
			else
				options_usage("diff", "unknown option %s",
				    argv[optind - 1]);
			goto out;
		}
	}
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
	if (!conf.fail_on_set) {
		conf.fail_on[VERDICT_SHAPE] = 1;
		conf.fail_on[VERDICT_BODY] = 1;
		if (conf.mode == DOCDIFF_EXACT)
			conf.fail_on[VERDICT_VALUE] = 1;
	}
	conf.color = use_color(color, STDERR_FILENO, NULL) > 0;

	status = docdiff_run(&conf, argv[optind], argv[optind + 1]);
out:
	strlist_free(&conf.co.ignore, &conf.co.nignore);
	return (status);
}

const struct cmd_entry cmd_diff_entry = {
	.name = "diff",
	.usage = "[--mode shape|exact] [--ignore JSONPATH]... [OPTIONS] A B",
	.summary = "compare two JSON or JSONL files document by document",
	.exec = cmd_diff_exec,
	.help = cmd_diff_help,
};
