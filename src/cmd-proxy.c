/*
 * paritytap proxy: the live shadow proxy's command line and main loop.
 */

#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "paritytap.h"

/* Everything the command line and the config file can set. */
struct proxy_conf {
	struct options		 o;
	struct proxy_opts	 po;
	const char		*events;
	uint64_t		 queue_size;
};

/* The proxy's own options; options.c adds the shared ones. */
enum {
	OPT_ROTATE_SIZE = OPTIONS_OWN,
	OPT_EVENTS,
	OPT_SAMPLE,
	OPT_MIRROR_METHODS,
	OPT_PRIMARY_TIMEOUT,
	OPT_CANDIDATE_TIMEOUT,
	OPT_MAX_INFLIGHT,
	OPT_GRACE,
	OPT_QUEUE_SIZE,
	OPT_HEADER_TIMEOUT
};

static const struct option proxy_longopts[] = {
	{ "listen",		required_argument, NULL, 'l' },
	{ "rotate-size",	required_argument, NULL, OPT_ROTATE_SIZE },
	{ "events",		required_argument, NULL, OPT_EVENTS },
	{ "sample",		required_argument, NULL, OPT_SAMPLE },
	{ "mirror-methods",	required_argument, NULL, OPT_MIRROR_METHODS },
	{ "primary-timeout",	required_argument, NULL, OPT_PRIMARY_TIMEOUT },
	{ "candidate-timeout",	required_argument, NULL,
	    OPT_CANDIDATE_TIMEOUT },
	{ "max-inflight",	required_argument, NULL, OPT_MAX_INFLIGHT },
	{ "grace",		required_argument, NULL, OPT_GRACE },
	{ "queue-size",		required_argument, NULL, OPT_QUEUE_SIZE },
	{ "header-timeout",	required_argument, NULL, OPT_HEADER_TIMEOUT },
	{ NULL, 0, NULL, 0 }
};

/* Print the proxy's --help. */
static void
cmd_proxy_help(FILE *f)
{
	fputs(
"usage: paritytap proxy --listen ADDR:PORT --primary URL --candidate URL\n"
"                       [OPTIONS]\n"
"\n"
"Sit in front of two implementations of a service.  Every request goes to\n"
"the primary, whose answer the client gets, and is mirrored to the\n"
"candidate; both responses are compared and recorded side by side.\n"
"\n"
"  -l, --listen ADDR:PORT        where clients connect (port 0: any free port)\n"
"  -p, --primary URL             the implementation that is the contract today\n"
"  -C, --candidate URL           the implementation being tested\n"
"  -c, --capture FILE|DIR        write every exchange as a JSONL line\n"
"      --rotate-size BYTES       start a new capture file past this size\n"
"      --capture-body-limit BYTES  bytes of each body kept in the capture [1M]\n"
"      --events FILE|-           write divergent exchanges as JSONL\n"
"      --ignore JSONPATH         ignore differences at this path (repeatable):\n"
"                                $.a, $..key, $.items[*].id\n"
"      --ignore-header NAME      do not compare this response header\n"
"      --strict-order            report object key order differences\n"
"      --lenient-numbers         1 and 1.0 are the same type\n"
"      --config FILE             INI file: [proxy], [compare],\n"
"                                [route \"METHOD /path\"]; flags win\n"
"      --sample RATE             fraction of requests mirrored, 0..1 [1.0]\n"
"      --mirror-methods LIST     comma list of methods mirrored [all]\n"
"      --primary-timeout MS      primary deadline, 504 past it [30000]\n"
"      --candidate-timeout MS    candidate deadline [5000]\n"
"      --max-body BYTES          request body limit (413 over) and response\n"
"                                bytes kept for comparison [8M]\n"
"      --max-inflight N          candidate requests in flight before mirrors\n"
"                                are dropped and counted [1024]\n"
"      --trace-header NAME       trace id header [X-Paritytap-Trace-Id]\n"
"      --redact-header NAME      also redact this header in captures\n"
"      --keep-secrets            do not redact Authorization, Cookie, ...\n"
"      --host HOST               Host header sent to the backends\n"
"                                [as the client sent it]\n"
"      --grace MS                on SIGTERM, time in-flight exchanges get to\n"
"                                finish [10000]\n"
"      --header-timeout MS       time a client gets to send a whole request\n"
"                                header block, 408 past it [10000]\n"
"      --queue-size BYTES        exchanges waiting to be compared and recorded\n"
"                                hold at most this much; over it they are\n"
"                                recorded without comparison, then dropped,\n"
"                                and counted [64M]\n"
"  -q, --quiet                   no DIVERGE lines\n"
"  -v, --verbose                 more logging (twice: debug)\n"
"      --color WHEN              auto, always or never [auto]\n"
"  -h, --help                    this text\n"
"\n"
"Signals: SIGTERM/SIGINT stop gracefully (a second one at once), SIGHUP\n"
"and SIGUSR1 reopen the capture and events files, SIGUSR2 is ignored.\n"
"See paritytap(1).\n", f);
}

/* Set one option by its long name; value is NULL for flags. */
static int
proxy_set(void *arg, const char *name, const char *value, char **cause)
{
	struct proxy_conf	*pc = arg;
	uint64_t		 v;
	char			*why, *copy, *tok, *save;
	int			 rv;

	if ((rv = options_set(&pc->o, name, value, cause)) != 0)
		return (rv == 1 ? 0 : -1);
	if (strcmp(name, "listen") == 0)
		pc->po.listen = options_keep(&pc->o, value);
	else if (strcmp(name, "rotate-size") == 0) {
		if (parse_size(value, &pc->o.cap.rotate_size, &why) != 0)
			return (options_cause(name, why, cause));
	} else if (strcmp(name, "events") == 0)
		pc->events = options_keep(&pc->o, value);
	else if (strcmp(name, "sample") == 0) {
		if (parse_rate(value, &pc->po.sample, &why) != 0)
			return (options_cause(name, why, cause));
	} else if (strcmp(name, "mirror-methods") == 0) {
		strlist_free(&pc->po.mirror_methods, &pc->po.nmirror_methods);
		copy = xstrdup(value);
		for (tok = strtok_r(copy, ", ", &save); tok != NULL;
		    tok = strtok_r(NULL, ", ", &save))
			strlist_add(&pc->po.mirror_methods,
			    &pc->po.nmirror_methods, tok);
		free(copy);
		if (pc->po.nmirror_methods == 0) {
			xasprintf(cause, "--%s: no method given", name);
			return (-1);
		}
	} else if (strcmp(name, "primary-timeout") == 0)
		return (options_ms(name, value, &pc->po.primary_timeout,
		    cause));
	else if (strcmp(name, "candidate-timeout") == 0)
		return (options_ms(name, value, &pc->po.candidate_timeout,
		    cause));
	else if (strcmp(name, "grace") == 0)
		return (options_ms(name, value, &pc->po.grace, cause));
	else if (strcmp(name, "header-timeout") == 0)
		return (options_ms(name, value, &pc->po.header_timeout,
		    cause));
	else if (strcmp(name, "queue-size") == 0) {
		if (parse_size(value, &pc->queue_size, &why) != 0)
			return (options_cause(name, why, cause));
		if (pc->queue_size < 1024 * 1024) {
			xasprintf(cause, "--%s %s: at least 1M", name, value);
			return (-1);
		}
	}
	else if (strcmp(name, "max-inflight") == 0) {
		if (parse_uint(value, 1, 1000000, &v, &why) != 0)
			return (options_cause(name, why, cause));
		pc->po.max_inflight = (unsigned)v;
	} else {
		xasprintf(cause, "unknown option '%s'", name);
		return (-1);
	}
	return (0);
}

/*
 * Each client, primary and candidate connection is a descriptor, and the
 * candidate alone may hold --max-inflight of them: raise the soft limit
 * to the hard one, and say so when even that is too low.
 */
static void
proxy_raise_nofile(unsigned max_inflight)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)max_inflight * 3)
		log_warnx("the descriptor limit (%llu) is low for "
		    "--max-inflight %u: clients may be refused under load",
		    (unsigned long long)rl.rlim_cur, max_inflight);
}

/* The runtime's callbacks: the proxy stops, aborts, reopens. */
struct proxy_run {
	struct proxy		*pr_proxy;
	struct pipeline		*pr_pipeline;
};

/* SIGTERM, SIGINT: graceful stop. */
static void
proxy_run_stop(void *arg)
{
	struct proxy_run	*pr = arg;

	proxy_shutdown(pr->pr_proxy);
}

/* The grace period is over. */
static void
proxy_run_abort(void *arg)
{
	struct proxy_run	*pr = arg;

	proxy_abort(pr->pr_proxy);
}

/* SIGHUP, SIGUSR1: reopen the capture and events files. */
static void
proxy_run_reopen(void *arg)
{
	struct proxy_run	*pr = arg;

	pipeline_reopen(pr->pr_pipeline);
}

static const struct runtime_cbs proxy_run_cbs = {
	proxy_run_stop, proxy_run_abort, proxy_run_reopen
};

/* Free what the configuration holds. */
static void
proxy_conf_free(struct proxy_conf *pc)
{
	strlist_free(&pc->po.mirror_methods, &pc->po.nmirror_methods);
	options_free(&pc->o);
}

/* Run the proxy until stopped. */
static int
proxy_run(struct proxy_conf *pc)
{
	struct proxy_run	 pr;
	struct runtime		*rt;
	struct capture		*capture = NULL;
	struct events		*events = NULL;
	struct pipeline_opts	 popts;
	struct consumer		 con;
	struct stats_counts	 counts;
	char			*cause, *summary;
	uint64_t		 lost;
	int			 status = EXIT_OK, color, stuck = 0;

	memset(&counts, 0, sizeof counts);
	color = use_color(pc->o.color, STDERR_FILENO, NULL) > 0;
	if ((status = options_capture(&pc->o, &capture)) != 0)
		return (status);
	if (pc->events != NULL &&
	    (events = events_open(pc->events, &pc->o.cap, &cause)) == NULL) {
		status = options_usage(pc->o.command, "%s", cause);
		free(cause);
		capture_close(capture);
		return (status);
	}

	proxy_raise_nofile(pc->po.max_inflight);
	memset(&pr, 0, sizeof pr);
	rt = runtime_new(&proxy_run_cbs, &pr, pc->po.grace);
	memset(&popts, 0, sizeof popts);
	popts.compare = &pc->o.co;
	popts.queue_bytes = pc->queue_size;
	pr.pr_pipeline = pipeline_new(&popts);
	if (!log_quiet) {
		flagline_consumer(&color, &con);
		pipeline_add(pr.pr_pipeline, &con);
	}
	if (events != NULL) {
		events_consumer(events, &con);
		pipeline_add(pr.pr_pipeline, &con);
	}
	if (capture != NULL) {
		capture_consumer(capture, &con);
		pipeline_add(pr.pr_pipeline, &con);
	}
	pipeline_start(pr.pr_pipeline);

	pr.pr_proxy = proxy_new(runtime_base(rt), &pc->po, pr.pr_pipeline,
	    &status, &cause);
	if (pr.pr_proxy == NULL) {
		if (status == EXIT_USAGE)
			options_usage(pc->o.command, "%s", cause);
		else
			log_warnx("%s", cause);
		free(cause);
		pipeline_stop(pr.pr_pipeline, 0);
		goto out;
	}

	fprintf(stderr, "paritytap: proxy listening on %s (primary %s, "
	    "candidate %s)\n", proxy_address(pr.pr_proxy), pc->po.primary,
	    pc->po.candidate);
	runtime_dispatch(rt);

	if (proxy_mirror_dropped(pr.pr_proxy) != 0)
		log_warnx("%llu mirrors dropped: the candidate had "
		    "--max-inflight %u requests in flight",
		    (unsigned long long)proxy_mirror_dropped(pr.pr_proxy),
		    pc->po.max_inflight);
	proxy_free(pr.pr_proxy);
	stuck = pipeline_stop(pr.pr_pipeline, runtime_deadline(rt)) != 0;
	pipeline_counts(pr.pr_pipeline, &counts);
	summary = stats_summary(&counts);
	fprintf(stderr, "paritytap: %s\n", summary);
	free(summary);
	status = EXIT_OK;
out:
	if (capture != NULL) {
		/* Every accepted request is a capture line, or a failure. */
		lost = (stuck ? capture_lost(capture) : capture_close(capture)) +
		    counts.dropped;
		if (status == EXIT_OK && lost != 0) {
			log_warnx("%llu exchange%s not recorded in the capture",
			    (unsigned long long)lost, lost == 1 ? "" : "s");
			status = EXIT_RUNTIME;
		}
	}
	/* A consumer stuck in a write still uses its file: leave it. */
	if (!stuck)
		events_close(events);
	pipeline_free(pr.pr_pipeline);
	runtime_free(rt);
	return (status);
}

/* paritytap proxy. */
static int
cmd_proxy_exec(int argc, char **argv)
{
	struct proxy_conf	 pc;
	struct options_target	 ot = OPTIONS_TARGET(pc.po);
	int			 status;

	memset(&pc, 0, sizeof pc);
	options_init(&pc.o, "proxy", proxy_longopts, &ot);
	pc.po.sample = 1.0;
	pc.po.primary_timeout = 30000;
	pc.po.candidate_timeout = 5000;
	pc.po.max_inflight = 1024;
	pc.po.grace = 10000;
	pc.po.header_timeout = 10000;

	status = options_getopt(&pc.o, argc, argv, ":l:p:C:c:qvh",
	    cmd_proxy_help);
	if (status != -1)
		goto out;
	if (optind != argc) {
		status = options_usage(pc.o.command, "unexpected argument '%s'",
		    argv[optind]);
		goto out;
	}

	status = EXIT_USAGE;
	if (options_load(&pc.o, proxy_set, &pc) != 0)
		goto out;
	if (pc.po.listen == NULL)
		options_usage(pc.o.command, "--listen ADDR:PORT is required");
	else if (pc.po.primary == NULL)
		options_usage(pc.o.command, "--primary URL is required");
	else if (pc.po.candidate == NULL)
		options_usage(pc.o.command, "--candidate URL is required");
	else
		status = proxy_run(&pc);
out:
	proxy_conf_free(&pc);
	return (status);
}

const struct cmd_entry cmd_proxy_entry = {
	.name = "proxy",
	.usage = "--listen ADDR:PORT --primary URL --candidate URL [OPTIONS]",
	.summary = "shadow proxy: mirror to a candidate, compare, record",
	.exec = cmd_proxy_exec,
	.help = cmd_proxy_help,
};
