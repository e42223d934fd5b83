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
#include <event2/thread.h>

#include "paritytap.h"

#define PROXY_THREADS_MAX	64
#define PROXY_THREADS_DEFAULT	4	/* at most, when not given */

/* Everything the command line and the config file can set. */
struct proxy_conf {
	struct options		 o;
	struct proxy_opts	 po;
	const char		*events;
	uint64_t		 queue_size;
	struct drift_table_opts	 drifts;
	struct admin_opts	 admin;
	int			 timeout;	/* --timeout: every side's */
	unsigned		 timeout_set;	/* bit (1 << side): its own */
};

/* The proxy's options; options_set sets the shared ones. */
static const struct options_entry proxy_options[] = {
	{ "listen", 'l', "ADDR:PORT",
	    "where clients connect (port 0: any free port)", NULL },
	{ "tls-cert", 0, "FILE", "clients connect over HTTPS: this PEM "
	    "certificate (chain after it); reloaded on SIGHUP", NULL },
	{ "tls-key", 0, "FILE", "the private key of --tls-cert (PEM, "
	    "unencrypted)", NULL },
	{ "primary", 'p', "URL",
	    "the implementation that is the contract today", NULL },
	{ "candidate", 'C', "URL", "the implementation being tested", NULL },
	{ "capture", 'c', "FILE|DIR", "write every exchange as a JSONL line",
	    NULL },
	OPTIONS_ENTRIES_ROTATE,
	{ "capture-body-limit", 0, "BYTES",
	    "bytes of each body kept in the capture", "1M" },
	{ "events", 0, "FILE|-", "write divergent exchanges as JSONL", NULL },
	{ "ignore", 0, "JSONPATH", "ignore differences at this path "
	    "(repeatable):\n$.a, $..key, $.items[*].id", NULL },
	OPTIONS_ENTRY_IGNORE_HEADER,
	OPTIONS_ENTRY_STRICT_ORDER,
	OPTIONS_ENTRY_LENIENT_NUMBERS,
	OPTIONS_ENTRIES_NOISE,
	OPTIONS_ENTRY_UNORDERED,
	OPTIONS_ENTRY_IGNORE_CT_PARAMS,
	OPTIONS_ENTRY_NORMALIZE,
	{ "config", 0, "FILE", "INI file: [proxy], [compare],\n"
	    "[route \"METHOD /path\"]; flags win", NULL },
	{ "sample", 0, "RATE", "fraction of requests mirrored, 0..1", "1.0" },
	{ "mirror-methods", 0, "LIST", "comma list of methods mirrored",
	    "all" },
	{ "timeout", 0, "DURATION", "every backend's deadline, unless its own "
	    "below is given (ms if no unit)", NULL },
	{ "primary-timeout", 0, "DURATION", "primary deadline, 504 past it "
	    "(ms if no unit)", "30s" },
	{ "candidate-timeout", 0, "DURATION", "candidate deadline (ms if no "
	    "unit)", "5s" },
	OPTIONS_ENTRY_SECONDARY,
	OPTIONS_ENTRY_SHADOW,
	OPTIONS_ENTRIES_TLS,
	{ "secondary-timeout", 0, "DURATION", "secondary deadline (--secondary, "
	    "--self-check; ms if no unit)", "5s" },
	OPTIONS_ENTRY_SELF_CHECK,
	{ "max-body", 0, "BYTES", "request body limit (413 over) and response "
	    "bytes kept, and decoded from gzip or deflate, for comparison",
	    "8M" },
	{ "max-inflight", 0, "N", "candidate requests in flight before "
	    "mirrors are dropped and counted", "1024" },
	{ "max-inflight-bytes", 0, "BYTES", "requests in flight to the "
	    "candidate hold at most this much (heads and bodies); over it "
	    "mirrors are dropped and counted", "RAM/8, 64M..1G" },
	{ "threads", 0, "N", "event loops, each on a thread of its own with "
	    "its own connections (1: one loop)", "CPUs, at most 4" },
	OPTIONS_ENTRY_TRACE_HEADER,
	{ "redact-header", 0, "NAME", "also redact this header in captures",
	    NULL },
	OPTIONS_ENTRY_KEEP_SECRETS,
	OPTIONS_ENTRY_CAPTURE_RAW_BODIES,
	OPTIONS_ENTRIES_ALERT,
	{ "host", 0, "HOST", "Host header sent to the backends",
	    "as the client sent it" },
	{ "grace", 0, "DURATION", "on SIGTERM, time in-flight exchanges get "
	    "to finish (ms if no unit)", "10s" },
	{ "header-timeout", 0, "DURATION", "time a client gets to send a "
	    "whole request header block, 408 past it (ms if no unit)", "10s" },
	{ "queue-size", 0, "BYTES", "exchanges waiting to be compared and "
	    "recorded hold at most this much; over it they are recorded "
	    "without comparison, then dropped, and counted", "64M" },
	OPTIONS_ENTRIES_DRIFTS,
	OPTIONS_ENTRIES_ADMIN,
	OPTIONS_ENTRIES_FLAG,
	{ "quiet", 'q', NULL, "no DIVERGE, NEW, RESOLVED, REGRESSED lines",
	    NULL },
	{ "verbose", 'v', NULL, "more logging (twice: debug)", NULL },
	OPTIONS_ENTRY_COLOR,
	OPTIONS_ENTRY_HELP,
	OPTIONS_ENTRY_END
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
"\n", f);
	options_help(f, proxy_options, 32);
	fputs(
"\n"
"Signals: SIGTERM/SIGINT stop gracefully (a second one at once), SIGHUP\n"
"and SIGUSR1 reopen the capture and events files and read the TLS\n"
"certificates again, SIGUSR2 prints the summary line so far.\n"
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
	if ((rv = drift_table_option(&pc->o, &pc->drifts, name, value,
	    cause)) != 0)
		return (rv == 1 ? 0 : -1);
	if ((rv = admin_option(&pc->o, &pc->admin, name, value, cause)) != 0)
		return (rv == 1 ? 0 : -1);
	if (strcmp(name, "listen") == 0)
		pc->po.listen = options_keep(&pc->o, value);
	else if (strcmp(name, "tls-cert") == 0)
		pc->po.tls_cert = options_keep(&pc->o, value);
	else if (strcmp(name, "tls-key") == 0)
		pc->po.tls_key = options_keep(&pc->o, value);
	else if (strcmp(name, "events") == 0)
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
	} else if (strcmp(name, "timeout") == 0)
		return (options_ms(name, value, &pc->timeout, cause));
	else if (strcmp(name, "primary-timeout") == 0) {
		pc->timeout_set |= 1u << SIDE_PRIMARY;
		return (options_ms(name, value, &pc->po.primary_timeout,
		    cause));
	} else if (strcmp(name, "candidate-timeout") == 0) {
		pc->timeout_set |= 1u << SIDE_CANDIDATE;
		return (options_ms(name, value, &pc->po.candidate_timeout,
		    cause));
	} else if (strcmp(name, "secondary-timeout") == 0) {
		pc->timeout_set |= 1u << SIDE_SECONDARY;
		return (options_ms(name, value, &pc->po.secondary_timeout,
		    cause));
	}
	else if (strcmp(name, "self-check") == 0)
		return (parse_self_check(value, &pc->po.self_check, cause));
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
	else if (strcmp(name, "max-inflight-bytes") == 0) {
		if (parse_size(value, &pc->po.max_inflight_bytes, &why) != 0)
			return (options_cause(name, why, cause));
	} else if (strcmp(name, "threads") == 0) {
		if (parse_uint(value, 1, PROXY_THREADS_MAX, &v, &why) != 0)
			return (options_cause(name, why, cause));
		pc->po.threads = (unsigned)v;
	} else if (strcmp(name, "max-inflight") == 0) {
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
 * The default --max-inflight-bytes: an eighth of physical memory, so a
 * candidate that stops answering cannot make the proxy take the machine,
 * within 64M (room for a few bodies of the default --max-body) and 1G (a
 * backlog larger than that is mirrors the candidate will mostly answer
 * too late to matter).  256M when the memory size is not known.
 */
static uint64_t
proxy_default_inflight_bytes(void)
{
	long		 pages, size;
	uint64_t	 v;

	pages = sysconf(_SC_PHYS_PAGES);
	size = sysconf(_SC_PAGESIZE);
	if (pages <= 0 || size <= 0)
		return (256ULL * 1024 * 1024);
	v = (uint64_t)pages * (uint64_t)size / 8;
	if (v < 64ULL * 1024 * 1024)
		v = 64ULL * 1024 * 1024;
	if (v > 1024ULL * 1024 * 1024)
		v = 1024ULL * 1024 * 1024;
	return (v);
}

/*
 * The default --threads: a loop per CPU, up to PROXY_THREADS_DEFAULT.
 * Past a few loops the comparison and the capture, one thread for all
 * of them, are what is left to wait for; more is for who asks.
 */
static unsigned
proxy_default_threads(void)
{
	long	 n;

	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return (1);
	if (n > PROXY_THREADS_DEFAULT)
		return (PROXY_THREADS_DEFAULT);
	return ((unsigned)n);
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

/* The runtime's callbacks: the proxy stops, aborts, reopens, sums up. */
struct proxy_run {
	struct proxy		*pr_proxy;
	struct pipeline		*pr_pipeline;
	struct drift_table	*pr_drifts;
	struct alerts		*pr_alerts;
	struct flagline		*pr_flags;	/* NULL when quiet */
	struct tls_server	*pr_tls;	/* --tls-cert */
	struct admin		*pr_admin;
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

/*
 * SIGHUP, SIGUSR1: reopen the capture and events files, and read the
 * certificates again (a renewed certificate, as nginx takes one).
 */
static void
proxy_run_reopen(void *arg)
{
	struct proxy_run	*pr = arg;

	pipeline_reopen(pr->pr_pipeline);
	tls_server_reload(pr->pr_tls);
	admin_reload(pr->pr_admin);
}

/*
 * SIGUSR2: the summary line as it stands, from the live counters.  One
 * write, since the pipeline thread prints DIVERGE lines meanwhile.
 */
static void
proxy_run_summary(void *arg)
{
	struct proxy_run	*pr = arg;
	struct stats_counts	 counts;
	char			*line;

	if (pr->pr_proxy == NULL)
		return;
	pipeline_counts(pr->pr_pipeline, &counts);
	counts.retried = proxy_retries(pr->pr_proxy);
	counts.flags_held = flagline_held(pr->pr_flags);
	line = stats_run_line(&counts, pr->pr_drifts, pr->pr_alerts,
	    proxy_mirror_dropped(pr->pr_proxy, "inflight"),
	    proxy_mirror_dropped(pr->pr_proxy, "inflight_bytes"));
	fprintf(stderr, "paritytap proxy: %s\n", line);
	free(line);
}

static const struct runtime_cbs proxy_run_cbs = {
	proxy_run_stop, proxy_run_abort, proxy_run_reopen, proxy_run_summary
};

/* Free what the configuration holds. */
static void
proxy_conf_free(struct proxy_conf *pc)
{
	strlist_free(&pc->po.mirror_methods, &pc->po.nmirror_methods);
	tls_server_free(pc->po.listen_tls);
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
	struct drift_table	*drifts;
	struct pipeline_opts	 popts;
	struct consumer		 con;
	struct stats_counts	 counts;
	struct alerts		*alerts;
	struct metrics		*metrics = NULL;
	struct admin		*admin = NULL;
	struct admin_sources	 asrc;
	char			*cause, *summary, *pair, *generator = NULL;
	char			*third;
	uint64_t		 lost, retried, dropped, dropped_bytes;
	int			 status = EXIT_OK, color, stuck = 0;

	/*
	 * Loops on other threads are told to stop with an event on their
	 * base from the main thread: libevent must lock its bases, before
	 * the first is made.
	 */
	if (pc->po.threads > 1 && evthread_use_pthreads() != 0)
		fatalx("evthread_use_pthreads");
	memset(&counts, 0, sizeof counts);
	color = use_color(pc->o.color, STDERR_FILENO, NULL) > 0;
	/* Read before anything is opened, so a bad file changes nothing. */
	if (pc->po.tls_cert != NULL && (pc->po.listen_tls = tls_server_new(
	    "--tls", pc->po.tls_cert, pc->po.tls_key, &cause)) == NULL) {
		status = options_usage(pc->o.command, "%s", cause);
		free(cause);
		return (status);
	}
	if ((status = options_capture(&pc->o, &capture)) != 0)
		return (status);
	if (pc->events != NULL &&
	    (events = events_open(pc->events, &pc->o.cap, &cause)) == NULL) {
		status = options_usage(pc->o.command, "%s", cause);
		free(cause);
		capture_close(capture);
		return (status);
	}
	pc->drifts.quiet = log_quiet;
	pc->drifts.color = color;
	if ((drifts = drift_table_new(&pc->drifts, &cause)) == NULL) {
		status = options_usage(pc->o.command, "%s", cause);
		free(cause);
		events_close(events);
		capture_close(capture);
		return (status);
	}
	if (events != NULL)
		drift_table_listen(drifts, events_drift_listener, events);

	/* Bound before the proxy, so a bad --admin is a usage error. */
	if (pc->admin.listen != NULL) {
		if ((admin = admin_new(&pc->admin, &cause)) == NULL) {
			status = options_usage(pc->o.command, "%s", cause);
			free(cause);
			drift_table_free(drifts);
			events_close(events);
			capture_close(capture);
			return (status);
		}
		metrics = metrics_new(pc->admin.max_routes, pc->admin.keep,
		    &pc->o.cap);
		drift_table_listen(drifts, metrics_drift_listener, metrics);
		drift_table_known(drifts, metrics_drift_listener, metrics);
		/* Alertmanager's alerts link to the dashboard. */
		xasprintf(&generator, "%s://%s/", pc->admin.tls_cert != NULL ?
		    "https" : "http", admin_address(admin));
		pc->o.alert.generator_url = generator;
	}

	/*
	 * The alert channels; the drift table hands them its transitions
	 * through alerts_listener(alerts, event).
	 */
	pair = alerts_pair(pc->po.primary, pc->po.candidate);
	alerts = alerts_new(&pc->o.alert, pair, &cause);
	free(pair);
	if (alerts == NULL && cause != NULL) {
		status = options_usage(pc->o.command, "%s", cause);
		free(cause);
		admin_free(admin);
		metrics_free(metrics);
		free(generator);
		drift_table_free(drifts);
		events_close(events);
		capture_close(capture);
		return (status);
	}
	if (alerts != NULL)
		drift_table_listen(drifts, alerts_listener, alerts);

	proxy_raise_nofile(pc->po.max_inflight);
	memset(&pr, 0, sizeof pr);
	pr.pr_drifts = drifts;
	pr.pr_alerts = alerts;
	pr.pr_tls = pc->po.listen_tls;
	pr.pr_admin = admin;
	rt = runtime_new(&proxy_run_cbs, &pr, pc->po.grace);
	memset(&popts, 0, sizeof popts);
	popts.compare = &pc->o.co;
	popts.queue_bytes = pc->queue_size;
	popts.drifts = drifts;
	pr.pr_pipeline = pipeline_new(&popts);
	if (!log_quiet) {
		pr.pr_flags = flagline_new(&pc->o.flag, color, stderr);
		flagline_consumer(pr.pr_flags, &con);
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
	if (metrics != NULL) {
		metrics_consumer(metrics, &con);
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

	if (admin != NULL) {
		memset(&asrc, 0, sizeof asrc);
		asrc.command = "proxy";
		asrc.metrics = metrics;
		asrc.pipeline = pr.pr_pipeline;
		asrc.capture = capture;
		asrc.drifts = drifts;
		asrc.alerts = alerts;
		asrc.proxy = pr.pr_proxy;
		asrc.secondary = pc->po.secondary != NULL ||
		    pc->po.self_check != 0;
		admin_start(admin, &asrc);
	}
	/* The third side, if any: a second copy, or the primary again. */
	if (pc->po.secondary != NULL)
		xasprintf(&third, ", secondary %s", pc->po.secondary);
	else if (pc->po.self_check != 0)
		xasprintf(&third, ", self-check %g", pc->po.self_check / 1e6);
	else
		third = xstrdup("");
	if (admin != NULL)
		fprintf(stderr, "paritytap: proxy listening on %s (primary %s, "
		    "candidate %s%s, admin %s)\n", proxy_address(pr.pr_proxy),
		    pc->po.primary, pc->po.candidate, third,
		    admin_address(admin));
	else
		fprintf(stderr, "paritytap: proxy listening on %s (primary "
		    "%s, candidate %s%s)\n", proxy_address(pr.pr_proxy),
		    pc->po.primary, pc->po.candidate, third);
	free(third);
	runtime_dispatch(rt);
	/* The admin thread reads the proxy: stop it before the proxy goes. */
	admin_free(admin);
	admin = NULL;
	pr.pr_admin = NULL;

	dropped = proxy_mirror_dropped(pr.pr_proxy, "inflight");
	dropped_bytes = proxy_mirror_dropped(pr.pr_proxy, "inflight_bytes");
	retried = proxy_retries(pr.pr_proxy);
	proxy_free(pr.pr_proxy);
	pr.pr_proxy = NULL;
	stuck = pipeline_stop(pr.pr_pipeline, runtime_deadline(rt)) != 0;
	pipeline_counts(pr.pr_pipeline, &counts);
	counts.retried = retried;
	counts.flags_held = flagline_held(pr.pr_flags);
	alerts_stop(alerts, runtime_deadline(rt));
	summary = stats_run_line(&counts, pr.pr_drifts, pr.pr_alerts, dropped,
	    dropped_bytes);
	fprintf(stderr, "paritytap proxy: %s\n", summary);
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
	if (!stuck) {
		events_close(events);
		flagline_free(pr.pr_flags);
		drift_table_free(drifts);
		/* A stuck pipeline thread may still hand the alerts an event. */
		alerts_free(alerts);
	}
	admin_free(admin);
	pipeline_free(pr.pr_pipeline);
	if (!stuck) {
		metrics_free(metrics);
		free(generator);
	}
	runtime_free(rt);
	return (status);
}

/* paritytap proxy. */
static int
cmd_proxy_exec(int argc, char **argv)
{
	struct proxy_conf	 pc;
	struct options_target	 ot = OPTIONS_TARGET(pc.po);
	char			*cause;
	int			 status;

	memset(&pc, 0, sizeof pc);
	options_init(&pc.o, "proxy", proxy_options, &ot);
	pc.po.sample = 1.0;
	pc.po.primary_timeout = 30000;
	pc.po.candidate_timeout = 5000;
	pc.po.secondary_timeout = 5000;
	pc.po.shadow = &pc.o.shadow;
	pc.po.tls = &pc.o.tls;
	pc.po.max_inflight = 1024;
	pc.po.max_inflight_bytes = proxy_default_inflight_bytes();
	pc.po.grace = 10000;
	pc.po.header_timeout = 10000;
	pc.po.threads = proxy_default_threads();
	admin_opts_init(&pc.admin);

	status = options_getopt(&pc.o, argc, argv, cmd_proxy_help);
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
	/* A side's own deadline wins over --timeout, in any order. */
	if (pc.timeout != 0 && !(pc.timeout_set & (1u << SIDE_PRIMARY)))
		pc.po.primary_timeout = pc.timeout;
	if (pc.timeout != 0 && !(pc.timeout_set & (1u << SIDE_CANDIDATE)))
		pc.po.candidate_timeout = pc.timeout;
	if (pc.timeout != 0 && !(pc.timeout_set & (1u << SIDE_SECONDARY)))
		pc.po.secondary_timeout = pc.timeout;
	if (pc.po.listen == NULL)
		options_usage(pc.o.command, "--listen ADDR:PORT is required");
	else if (pc.po.primary == NULL)
		options_usage(pc.o.command, "--primary URL is required");
	else if (pc.po.candidate == NULL)
		options_usage(pc.o.command, "--candidate URL is required");
	else if (tls_server_check("--tls", pc.po.tls_cert, pc.po.tls_key,
	    &cause) != 0 || admin_opts_check(&pc.admin, &cause) != 0) {
		options_usage(pc.o.command, "%s", cause);
		free(cause);
	} else if (pc.po.secondary != NULL && pc.po.self_check != 0)
		options_usage(pc.o.command, "--secondary and --self-check: "
		    "choose one (--self-check asks the primary itself, for "
		    "when there is no second copy)");
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
