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
};

/* The proxy's options; options_set sets the shared ones. */
static const struct options_entry proxy_options[] = {
	{ "listen", 'l', "ADDR:PORT",
	    "where clients connect (port 0: any free port)", NULL },
	{ "primary", 'p', "URL",
	    "the implementation that is the contract today", NULL },
	{ "candidate", 'C', "URL", "the implementation being tested", NULL },
	{ "capture", 'c', "FILE|DIR", "write every exchange as a JSONL line",
	    NULL },
	{ "rotate-size", 0, "BYTES", "start a new capture file past this size",
	    NULL },
	{ "capture-body-limit", 0, "BYTES",
	    "bytes of each body kept in the capture", "1M" },
	{ "events", 0, "FILE|-", "write divergent exchanges as JSONL", NULL },
	{ "ignore", 0, "JSONPATH", "ignore differences at this path "
	    "(repeatable):\n$.a, $..key, $.items[*].id", NULL },
	OPTIONS_ENTRY_IGNORE_HEADER,
	OPTIONS_ENTRY_STRICT_ORDER,
	OPTIONS_ENTRY_LENIENT_NUMBERS,
	{ "config", 0, "FILE", "INI file: [proxy], [compare],\n"
	    "[route \"METHOD /path\"]; flags win", NULL },
	{ "sample", 0, "RATE", "fraction of requests mirrored, 0..1", "1.0" },
	{ "mirror-methods", 0, "LIST", "comma list of methods mirrored",
	    "all" },
	{ "primary-timeout", 0, "MS", "primary deadline, 504 past it",
	    "30000" },
	{ "candidate-timeout", 0, "MS", "candidate deadline", "5000" },
	{ "max-body", 0, "BYTES", "request body limit (413 over) and response "
	    "bytes kept for comparison", "8M" },
	{ "max-inflight", 0, "N", "candidate requests in flight before "
	    "mirrors are dropped and counted", "1024" },
	OPTIONS_ENTRY_TRACE_HEADER,
	{ "redact-header", 0, "NAME", "also redact this header in captures",
	    NULL },
	OPTIONS_ENTRY_KEEP_SECRETS,
	{ "host", 0, "HOST", "Host header sent to the backends",
	    "as the client sent it" },
	{ "grace", 0, "MS", "on SIGTERM, time in-flight exchanges get to "
	    "finish", "10000" },
	{ "quiet", 'q', NULL, "no DIVERGE lines", NULL },
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
"Signals: SIGTERM/SIGINT stop gracefully, SIGHUP reopens the capture.\n"
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

static struct proxy	*proxy_running;
static struct sink	*proxy_sink;

/* SIGTERM, SIGINT: graceful stop. */
static void
proxy_signal_stop(evutil_socket_t sig, short events, void *arg)
{
	log_warnx("%s: stopping; finishing exchanges in flight",
	    sig == SIGINT ? "SIGINT" : "SIGTERM");
	proxy_shutdown(proxy_running);
}

/* SIGHUP: reopen the capture. */
static void
proxy_signal_hup(evutil_socket_t sig, short events, void *arg)
{
	log_info("SIGHUP: reopening the capture");
	sink_reopen(proxy_sink);
}

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
	struct event_base	*base;
	struct event_config	*cfg;
	struct event		*ev_term, *ev_int, *ev_hup;
	struct capture		*capture = NULL;
	struct sink_opts	 so;
	struct sink_stats	 stats;
	FILE			*events = NULL;
	char			*cause, *summary;
	int			 status = EXIT_OK, fd, color;

	color = use_color(pc->o.color, STDERR_FILENO, NULL);
	if ((status = options_capture(&pc->o, &capture)) != 0)
		return (status);
	if (pc->events != NULL && strcmp(pc->events, "-") == 0)
		events = stdout;
	else if (pc->events != NULL) {
		fd = open(pc->events, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		    0600);
		if (fd == -1 || (events = fdopen(fd, "a")) == NULL) {
			status = options_usage(pc->o.command, "--events %s: %s",
			    pc->events, strerror(errno));
			if (fd != -1)
				close(fd);
			capture_close(capture);
			return (status);
		}
	}

	signal(SIGPIPE, SIG_IGN);
	proxy_raise_nofile(pc->po.max_inflight);
	/*
	 * The changelist folds the enable/disable pairs a request/response
	 * cycle makes on each socket into one epoll_ctl per loop, if any.
	 */
	if ((cfg = event_config_new()) == NULL)
		fatalx("event_config_new");
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (base == NULL)
		fatalx("event_base_new_with_config");
	memset(&so, 0, sizeof so);
	so.compare = &pc->o.co;
	so.capture = capture;
	so.capture_opts = &pc->o.cap;
	so.events = events;
	so.quiet = log_quiet;
	so.color = color > 0;
	proxy_sink = sink_start(&so);

	proxy_running = proxy_new(base, &pc->po, proxy_sink, &status, &cause);
	if (proxy_running == NULL) {
		if (status == EXIT_USAGE)
			options_usage(pc->o.command, "%s", cause);
		else
			log_warnx("%s", cause);
		free(cause);
		sink_stop(proxy_sink, NULL);
		goto out;
	}
	ev_term = evsignal_new(base, SIGTERM, proxy_signal_stop, NULL);
	ev_int = evsignal_new(base, SIGINT, proxy_signal_stop, NULL);
	ev_hup = evsignal_new(base, SIGHUP, proxy_signal_hup, NULL);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_hup, NULL);

	fprintf(stderr, "paritytap: proxy listening on %s (primary %s, "
	    "candidate %s)\n", proxy_address(proxy_running), pc->po.primary,
	    pc->po.candidate);
	event_base_dispatch(base);

	if (proxy_mirror_dropped(proxy_running) != 0)
		log_warnx("%llu mirrors dropped: the candidate had "
		    "--max-inflight %u requests in flight",
		    (unsigned long long)proxy_mirror_dropped(proxy_running),
		    pc->po.max_inflight);
	proxy_free(proxy_running);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	sink_stop(proxy_sink, &stats);
	summary = sink_summary(&stats);
	fprintf(stderr, "paritytap: %s\n", summary);
	free(summary);
	status = EXIT_OK;
out:
	if (capture != NULL)
		capture_close(capture);
	if (events != NULL && events != stdout)
		fclose(events);
	else if (events == stdout)
		fflush(stdout);
	event_base_free(base);
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
	options_init(&pc.o, "proxy", proxy_options, &ot);
	pc.po.sample = 1.0;
	pc.po.primary_timeout = 30000;
	pc.po.candidate_timeout = 5000;
	pc.po.max_inflight = 1024;
	pc.po.grace = 10000;

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
