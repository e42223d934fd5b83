/*
 * paritytap noise: what the noise learner makes of captures whose
 * exchanges carry a second answer of the primary's (--secondary, or the
 * primary itself under --self-check), route by route and path by path,
 * with the evidence: how often the candidate differed, how often the
 * second copy did, over how many samples, and example values.  --format
 * config prints the learned paths as [route "..."] ignore keys.
 */

#include <sys/types.h>

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "paritytap.h"

enum noise_format {
	NOISE_TEXT,
	NOISE_JSON,
	NOISE_CONFIG
};

static const struct options_entry noise_options[] = {
	{ "format", 'f', "FORMAT", "text, json, or config: the learned paths\n"
	    "as [route \"...\"] sections for --config", "text" },
	{ "ignore", 0, "JSONPATH", "ignore differences at this path "
	    "(repeatable)", NULL },
	OPTIONS_ENTRY_IGNORE_HEADER,
	OPTIONS_ENTRY_STRICT_ORDER,
	OPTIONS_ENTRY_LENIENT_NUMBERS,
	OPTIONS_ENTRY_UNORDERED,
	OPTIONS_ENTRY_IGNORE_CT_PARAMS,
	OPTIONS_ENTRY_NORMALIZE,
	OPTIONS_ENTRIES_NOISE,
	{ "max-body", 0, "BYTES", "a gzip or deflate body is compared when "
	    "it decodes to at most this many bytes", "8M" },
	{ "config", 0, "FILE", "INI file: [compare], [route \"...\"] and "
	    "[noise]", NULL },
	{ "lenient", 0, NULL, "skip malformed capture lines with a warning",
	    NULL },
	{ "quiet", 'q', NULL, "no summary line, no warnings", NULL },
	{ "verbose", 'v', NULL, "more logging: each capture file read and "
	    "its exchanges (twice: debug)", NULL },
	{ "json", 0, NULL, "as --format json", NULL },
	OPTIONS_ENTRY_HELP,
	OPTIONS_ENTRY_END
};

struct noise_conf {
	struct options		 o;
	enum noise_format	 format;
	int			 lenient;
	uint64_t		 max_body;
};

static void
cmd_noise_help(FILE *f)
{
	fputs(
"usage: paritytap noise [OPTIONS] CAPTURE...\n"
"\n"
"Learn which value differences are noise from the exchanges of captures\n"
"(.jsonl, .jsonl.gz, - for stdin) that carry a second answer of the\n"
"primary's: from --secondary URL, or from the primary itself under\n"
"--self-check RATE.  For each route and path: how often the candidate's\n"
"value differed from the primary's, how often the second copy's did, over\n"
"how many samples, example values, and the decision: noise, signal, or\n"
"undecided below --noise-min-sample.  A path whose values look volatile\n"
"(times, UUIDs, long ids) but never differed in a second copy is shown as\n"
"a hint, and never taken as noise.\n"
"\n", f);
	options_help(f, noise_options, 24);
	fputs(
"\n"
"Exit status: 0; 2 for a bad option or a missing or malformed capture (the\n"
"message names the file and line).  See paritytap(1).\n", f);
}

static int
noise_set(void *arg, const char *name, const char *value, char **cause)
{
	struct noise_conf	*nc = arg;
	int			 rv;

	if ((rv = options_set(&nc->o, name, value, cause)) != 0)
		return (rv == 1 ? 0 : -1);
	if (strcmp(name, "lenient") == 0)
		return (options_bool(name, value, &nc->lenient, cause));
	if (strcmp(name, "json") == 0) {
		nc->format = NOISE_JSON;
		return (0);
	}
	if (strcmp(name, "format") == 0) {
		if (strcmp(value, "text") == 0)
			nc->format = NOISE_TEXT;
		else if (strcmp(value, "json") == 0)
			nc->format = NOISE_JSON;
		else if (strcmp(value, "config") == 0)
			nc->format = NOISE_CONFIG;
		else {
			xasprintf(cause, "--format: '%s' is not text, json or "
			    "config", value);
			return (-1);
		}
		return (0);
	}
	xasprintf(cause, "unknown option '%s'", name);
	return (-1);
}

/* A percentage of a rate, for the text form. */
static double
noise_pct(json_t *o, const char *key)
{
	return (100 * json_real_value(json_object_get(o, key)));
}

/* What a path is, in one word. */
static const char *
noise_decision(json_t *o)
{
	if (!json_is_true(json_object_get(o, "decided")))
		return ("undecided");
	if (json_is_true(json_object_get(o, "is_noise")))
		return ("noise");
	if (json_integer_value(json_object_get(o, "raw")) != 0 &&
	    json_is_string(json_object_get(o, "hint")))
		return ("hint");
	return ("signal");
}

static const char *
noise_str(json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return (s != NULL ? s : "-");
}

static void
noise_print_text(json_t *j)
{
	json_t		*paths = json_object_get(j, "paths"), *o, *ex;
	const char	*route = NULL, *r, *d;
	size_t		 i;

	json_array_foreach(paths, i, o) {
		r = json_string_value(json_object_get(o, "route"));
		if (route == NULL || strcmp(route, r) != 0) {
			printf("%s%s (%lld samples from a second copy)\n",
			    route != NULL ? "\n" : "", r, (long long)
			    json_integer_value(json_object_get(o, "samples")));
			route = r;
		}
		d = noise_decision(o);
		printf("  %-9s %s: candidate differs %.1f%% (%lld), second copy "
		    "%.1f%% (%lld)", d, noise_str(o, "path"),
		    noise_pct(o, "raw_rate"),
		    (long long)json_integer_value(json_object_get(o, "raw")),
		    noise_pct(o, "noise_rate"),
		    (long long)json_integer_value(json_object_get(o, "noise")));
		if ((ex = json_array_get(json_object_get(o, "examples"), 0)) !=
		    NULL)
			printf("; e.g. %s vs %s", noise_str(ex, "primary"),
			    noise_str(ex, "second"));
		else if ((ex = json_object_get(o, "candidate_example")) != NULL)
			printf("; e.g. %s vs %s (candidate)",
			    noise_str(ex, "primary"), noise_str(ex, "candidate"));
		if (json_is_string(json_object_get(o, "hint")))
			printf("; looks like %s", noise_str(o, "hint"));
		if (strcmp(d, "hint") == 0)
			printf(", but no second copy differed there: not "
			    "ignored");
		putchar('\n');
	}
}

static void
noise_print_config(json_t *j)
{
	json_t		*paths = json_object_get(j, "paths"), *o;
	const char	*route = NULL, *r, *p;
	size_t		 i;

	printf("# Learned by paritytap noise from %lld samples.\n",
	    (long long)json_integer_value(json_object_get(j, "samples")));
	json_array_foreach(paths, i, o) {
		if (strcmp(noise_decision(o), "noise") != 0)
			continue;
		r = json_string_value(json_object_get(o, "route"));
		p = json_string_value(json_object_get(o, "path"));
		if (route == NULL || strcmp(route, r) != 0) {
			printf("\n[route \"%s\"]\n", r);
			route = r;
		}
		/*
		 * A header's path is its name; a body's starts with $.  An
		 * array whose elements only moved is compared unordered, its
		 * elements still compared.
		 */
		if (p[0] != '$')
			printf("ignore-header = %s\n", p);
		else if (json_is_true(json_object_get(o, "order_only")))
			printf("unordered = %s\n", p);
		else
			printf("ignore = %s\n", p);
	}
}

static int
cmd_noise_exec(int argc, char **argv)
{
	struct noise_conf	 nc;
	struct options_target	 ot = { .max_body = &nc.max_body };
	struct capture_reader	*cr;
	struct exchange		 ex;
	struct noise		*n;
	json_t			*j, *v;
	uint64_t		 exchanges = 0, samples;
	uint64_t		 verdicts[VERDICT_NONE + 1];
	char			*cause = NULL, *s;
	int			 i, rc, failed = 0;

	memset(&nc, 0, sizeof nc);
	options_init(&nc.o, "noise", noise_options, &ot);
	rc = options_getopt(&nc.o, argc, argv, cmd_noise_help);
	if (rc == -1 && options_load(&nc.o, noise_set, &nc) != 0)
		rc = EXIT_USAGE;
	if (rc != -1) {
		options_free(&nc.o);
		return (rc);
	}
	if (optind == argc) {
		options_free(&nc.o);
		return (options_usage("noise", "no capture file given"));
	}

	memset(verdicts, 0, sizeof verdicts);
	n = noise_new(&nc.o.co.noise);
	for (i = optind; i < argc && !failed; i++) {
		if ((cr = capture_reader_open(argv[i], nc.lenient,
		    &cause)) == NULL) {
			failed = 1;
			break;
		}
		while ((rc = capture_reader_next(cr, &ex, &cause)) == 1) {
			exchanges++;
			/* Judged again under this command's rules. */
			compare_exchange(&nc.o.co, &ex);
			noise_learn(n, &nc.o.co, &ex);
			noise_mark(n, &ex);
			if ((unsigned)ex.ex_verdict <= VERDICT_NONE)
				verdicts[ex.ex_verdict]++;
			exchange_free(&ex);
		}
		capture_reader_close(cr);
		if (rc != 0)
			failed = 1;
	}
	if (failed) {
		fprintf(stderr, "paritytap noise: %s\n", cause);
		free(cause);
		noise_free(n);
		options_free(&nc.o);
		return (EXIT_USAGE);
	}

	j = noise_json(n);
	samples = (uint64_t)json_integer_value(json_object_get(j, "samples"));
	switch (nc.format) {
	case NOISE_JSON:
		json_object_set_new(j, "exchanges",
		    json_integer((json_int_t)exchanges));
		/* The verdicts under this command's rules, noise marked. */
		v = json_object();
		for (i = 0; i <= VERDICT_NONE; i++)
			json_object_set_new(v, verdict_name(i),
			    json_integer((json_int_t)verdicts[i]));
		json_object_set_new(j, "verdicts", v);
		json_object_set_new(j, "failing",
		    json_integer((json_int_t)verdicts_failing(verdicts)));
		s = json_dumps(j, JSON_COMPACT);
		printf("%s\n", s);
		free(s);
		break;
	case NOISE_CONFIG:
		noise_print_config(j);
		break;
	case NOISE_TEXT:
		noise_print_text(j);
		break;
	}
	if (log_quiet)
		/* nothing */;
	else if (samples == 0)
		fprintf(stderr, "paritytap noise: %llu exchanges, none with a second "
		    "answer: nothing learned (run with --secondary URL or "
		    "--self-check RATE)\n", (unsigned long long)exchanges);
	else
		fprintf(stderr, "paritytap noise: %llu exchanges, %llu with a "
		    "second "
		    "answer\n", (unsigned long long)exchanges,
		    (unsigned long long)samples);
	json_decref(j);
	noise_free(n);
	options_free(&nc.o);
	return (EXIT_OK);
}

const struct cmd_entry cmd_noise_entry = {
	.name = "noise",
	.usage = "[--format text|json|config] CAPTURE...",
	.summary = "learn which differences are noise from captures",
	.exec = cmd_noise_exec,
	.help = cmd_noise_help,
};
