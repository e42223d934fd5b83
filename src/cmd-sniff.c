/*
 * paritytap sniff: the command line of passive shadowing; the engine is
 * sniff.c.
 */

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "paritytap.h"

/* Sniff's options; options_set sets the shared ones. */
static const struct options_entry sniff_options[] = {
	{ "interface", 'i', "IFACE", "the interface to capture on (lo, eth0, "
	    "any)", NULL },
	{ "port", 0, "N", "the primary's TCP port (repeatable)", NULL },
	{ "primary", 'p', "URL", NULL, NULL },
	{ "candidate", 'C', "URL", "the implementation being tested", NULL },
	OPTIONS_ENTRY_SECONDARY,
	OPTIONS_ENTRY_SHADOW,
	OPTIONS_ENTRIES_TLS,
	{ "capture", 'c', "FILE|DIR", "write every exchange as a JSONL line",
	    NULL },
	OPTIONS_ENTRIES_ROTATE,
	{ "capture-body-limit", 0, "BYTES",
	    "bytes of each body kept in the capture", "1M" },
	{ "events", 0, "FILE|-", "write divergent exchanges as JSONL", NULL },
	{ "ignore", 0, "JSONPATH",
	    "ignore differences at this path (repeatable)", NULL },
	OPTIONS_ENTRY_IGNORE_HEADER,
	OPTIONS_ENTRY_STRICT_ORDER,
	OPTIONS_ENTRY_LENIENT_NUMBERS,
	OPTIONS_ENTRIES_NOISE,
	OPTIONS_ENTRY_UNORDERED,
	OPTIONS_ENTRY_IGNORE_CT_PARAMS,
	OPTIONS_ENTRY_NORMALIZE,
	{ "config", 0, "FILE", "INI file: [sniff], [compare],\n"
	    "[route \"METHOD /path\"]; flags win", NULL },
	{ "mirror-methods", 0, "LIST",
	    "comma list of methods sent to the candidate", "all" },
	{ "candidate-timeout", 0, "DURATION", "candidate deadline (ms if no "
	    "unit)", "5s" },
	{ "timeout", 0, "DURATION", "the same: the candidate and the "
	    "secondary are the backends sniff sends to", "5s" },
	{ "max-inflight", 0, "N", "candidate requests in flight before new "
	    "ones are dropped, counted and recorded as skipped", "1024" },
	{ "max-body", 0, "BYTES", "body bytes kept, and decoded from gzip or "
	    "deflate, for comparison", "8M" },
	OPTIONS_ENTRY_TRACE_HEADER,
	{ "redact-header", 0, "NAME", "also redact this header in captures",
	    NULL },
	OPTIONS_ENTRY_KEEP_SECRETS,
	OPTIONS_ENTRY_CAPTURE_RAW_BODIES,
	OPTIONS_ENTRIES_ALERT,
	{ "host", 0, "HOST", "Host header sent to the candidate",
	    "as the client sent it" },
	{ "promisc", 0, NULL, "put the interface in promiscuous mode", NULL },
	{ "buffer-size", 0, "BYTES", "the kernel's capture buffer", "16M" },
	{ "stats-interval", 0, "SECS", "packet and drop counts on stderr this "
	    "often;\n0: at exit only", "10" },
	{ "duration", 0, "SECS", "stop after this long", NULL },
	{ "count", 0, "N", "stop after N exchanges", NULL },
	{ "grace", 0, "DURATION", "at exit, time the candidate gets to "
	    "answer (ms if no unit)", "10s" },
	OPTIONS_ENTRIES_DRIFTS,
	OPTIONS_ENTRIES_ADMIN,
	OPTIONS_ENTRIES_FLAG,
	{ "quiet", 'q', NULL, "no DIVERGE, NEW, RESOLVED, REGRESSED lines, "
	    "no periodic counts", NULL },
	{ "verbose", 'v', NULL, "more logging (twice: debug)", NULL },
	OPTIONS_ENTRY_COLOR,
	OPTIONS_ENTRY_HELP,
	OPTIONS_ENTRY_END
};

/* Print sniff's --help. */
static void
cmd_sniff_help(FILE *f)
{
	fputs(
"usage: paritytap sniff -i IFACE --port N [--port N ...] --candidate URL\n"
"                       [OPTIONS]\n"
"\n"
"Watch the primary's real traffic on an interface with libpcap (nothing in\n"
"its path), send each observed request to the candidate and compare its\n"
"answer with the primary response seen on the wire.  Plain HTTP/1.x only:\n"
"TLS traffic cannot be read.  Needs root or CAP_NET_RAW.\n"
"\n", f);
	options_help(f, sniff_options, 32);
	fputs(
"\n"
"Signals: SIGTERM/SIGINT stop (a second one stops waiting), SIGHUP and\n"
"SIGUSR1 reopen the capture and events files and read --admin-tls-cert\n"
"again, SIGUSR2 prints the summary line so far.\n"
"\n"
"Exit status: 0 after SIGTERM/SIGINT, --duration or --count; 2 usage error\n"
"(bad option, unknown interface); 3 the capture could not start (no\n"
"permission: run as root or 'setcap cap_net_raw+ep paritytap') or broke.\n"
"See paritytap(1).\n", f);
}

/* Add one --port. */
static int
sniff_port(struct sniff_opts *sc, const char *value, char **cause)
{
	uint64_t	 v;
	size_t		 i;
	char		*why;

	if (parse_uint(value, 1, 65535, &v, &why) != 0)
		return (options_cause("port", why, cause));
	for (i = 0; i < sc->nports; i++) {
		if (sc->ports[i] == v)
			return (0);
	}
	if (sc->nports == SNIFF_MAX_PORTS) {
		xasprintf(cause, "--port: at most %d ports", SNIFF_MAX_PORTS);
		return (-1);
	}
	sc->ports[sc->nports++] = (uint16_t)v;
	return (0);
}

/* Set one option by its long name; value is NULL for flags. */
static int
sniff_set(void *arg, const char *name, const char *value, char **cause)
{
	struct sniff_opts	*sc = arg;
	struct replay_filter	*f = &sc->ro.filter;
	uint64_t		 v;
	char			*why, *copy, *tok, *save;
	int			 rv;

	if (strcmp(name, "primary") == 0) {
		xasprintf(cause, "sniff takes no --primary: the primary is the "
		    "server on --port, watched on --interface");
		return (-1);
	}
	if ((rv = options_set(&sc->o, name, value, cause)) != 0)
		return (rv == 1 ? 0 : -1);
	if ((rv = drift_table_option(&sc->o, sc->drifts, name, value,
	    cause)) != 0)
		return (rv == 1 ? 0 : -1);
	if ((rv = admin_option(&sc->o, sc->admin, name, value, cause)) != 0)
		return (rv == 1 ? 0 : -1);
	if (strcmp(name, "interface") == 0) {
		if (*value == '\0') {
			xasprintf(cause, "--%s: empty interface name", name);
			return (-1);
		}
		sc->interface = options_keep(&sc->o, value);
	} else if (strcmp(name, "port") == 0)
		return (sniff_port(sc, value, cause));
	else if (strcmp(name, "events") == 0)
		sc->events = options_keep(&sc->o, value);
	else if (strcmp(name, "mirror-methods") == 0) {
		strlist_free(&f->methods, &f->nmethods);
		copy = xstrdup(value);
		for (tok = strtok_r(copy, ", ", &save); tok != NULL;
		    tok = strtok_r(NULL, ", ", &save))
			strlist_add(&f->methods, &f->nmethods, tok);
		free(copy);
		if (f->nmethods == 0) {
			xasprintf(cause, "--%s: no method given", name);
			return (-1);
		}
	} else if (strcmp(name, "candidate-timeout") == 0 ||
	    strcmp(name, "timeout") == 0)
		return (options_ms(name, value, &sc->ro.timeout, cause));
	else if (strcmp(name, "grace") == 0)
		return (options_ms(name, value, &sc->grace, cause));
	else if (strcmp(name, "max-inflight") == 0) {
		if (parse_uint(value, 1, 1000000, &v, &why) != 0)
			return (options_cause(name, why, cause));
		sc->ro.concurrency = (unsigned)v;
	} else if (strcmp(name, "stats-interval") == 0) {
		if (parse_uint(value, 0, 86400, &v, &why) != 0)
			return (options_cause(name, why, cause));
		sc->stats_interval = (unsigned)v;
	} else if (strcmp(name, "duration") == 0) {
		if (parse_uint(value, 1, 31536000, &v, &why) != 0)
			return (options_cause(name, why, cause));
		sc->duration = (unsigned)v;
	} else if (strcmp(name, "count") == 0) {
		if (parse_uint(value, 1, UINT64_MAX, &sc->count, &why) != 0)
			return (options_cause(name, why, cause));
	} else if (strcmp(name, "promisc") == 0)
		return (options_bool(name, value, &sc->promisc, cause));
	else if (strcmp(name, "buffer-size") == 0) {
		if (parse_size(value, &sc->buffer_size, &why) != 0)
			return (options_cause(name, why, cause));
		if (sc->buffer_size < 65536 || sc->buffer_size > INT_MAX) {
			xasprintf(cause, "--%s: '%s' is not from 64K to 2G",
			    name, value);
			return (-1);
		}
	}
	else {
		xasprintf(cause, "unknown option '%s'", name);
		return (-1);
	}
	return (0);
}

/* Free what the configuration holds. */
static void
sniff_conf_free(struct sniff_opts *sc)
{
	strlist_free(&sc->ro.filter.methods, &sc->ro.filter.nmethods);
	options_free(&sc->o);
}

/* paritytap sniff. */
static int
cmd_sniff_exec(int argc, char **argv)
{
	struct sniff_opts	 sc;
	struct drift_table_opts	 dto;
	struct admin_opts	 ao;
	struct options_target	 ot = OPTIONS_TARGET(sc.ro);
	char			*cause;
	int			 status;

	memset(&sc, 0, sizeof sc);
	memset(&dto, 0, sizeof dto);
	sc.drifts = &dto;
	admin_opts_init(&ao);
	sc.admin = &ao;
	options_init(&sc.o, "sniff", sniff_options, &ot);
	sc.ro.timeout = 5000;
	sc.ro.shadow = &sc.o.shadow;
	sc.ro.tls = &sc.o.tls;
	sc.ro.concurrency = 1024;
	sc.grace = 10000;
	sc.stats_interval = 10;
	sc.buffer_size = SNIFF_BUFFER;

	status = options_getopt(&sc.o, argc, argv, cmd_sniff_help);
	if (status != -1)
		goto out;
	if (optind != argc) {
		status = options_usage(sc.o.command, "unexpected argument '%s'",
		    argv[optind]);
		goto out;
	}

	status = EXIT_USAGE;
	if (options_load(&sc.o, sniff_set, &sc) != 0)
		goto out;
	if (sc.interface == NULL)
		options_usage(sc.o.command, "-i/--interface IFACE is required");
	else if (sc.nports == 0)
		options_usage(sc.o.command, "--port N is required (the "
		    "primary's port)");
	else if (sc.ro.candidate == NULL)
		options_usage(sc.o.command, "--candidate URL is required");
	else if (admin_opts_check(&ao, &cause) != 0) {
		options_usage(sc.o.command, "%s", cause);
		free(cause);
	} else
		status = sniff_run(&sc);
out:
	sniff_conf_free(&sc);
	return (status);
}

const struct cmd_entry cmd_sniff_entry = {
	.name = "sniff",
	.usage = "-i IFACE --port N --candidate URL [OPTIONS]",
	.summary = "watch the primary's traffic, mirror it to a candidate",
	.exec = cmd_sniff_exec,
	.help = cmd_sniff_help,
};
