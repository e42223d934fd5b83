/*
 * paritytap sniff: passive shadowing.  The primary's real traffic is
 * watched with libpcap on an interface (nothing is put in its path); the
 * packets are reassembled into HTTP exchanges (httpflow.c), and each
 * observed request is sent to the candidate by the replay engine, whose
 * answer is compared with the primary response seen on the wire.
 */

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <pcap/pcap.h>

#include "paritytap.h"

#define SNIFF_SNAPLEN		262144
#define SNIFF_BUFFER		(16 * 1024 * 1024)	/* kernel ring */
#define SNIFF_TIMEOUT_MS	10	/* a block of packets waits this long */
#define SNIFF_FINAL_MS		250	/* reading the rest at the stop */
#define SNIFF_STREAM_BYTES	(16 * 1024 * 1024)	/* held per stream */
#define SNIFF_TOTAL_BYTES	(256 * 1024 * 1024)	/* held in all */
#define SNIFF_IDLE_SECS		300	/* a silent connection is forgotten */
#define SNIFF_EXPIRE_SECS	5
#define SNIFF_MAX_PORTS		64

/* Everything the command line and the config file can set. */
struct sniff_conf {
	struct options		 o;
	struct replay_opts	 ro;
	const char		*interface;
	uint16_t		 ports[SNIFF_MAX_PORTS];
	size_t			 nports;
	const char		*events;
	int			 grace;		/* ms */
	unsigned		 stats_interval;	/* s; 0: at exit only */
	unsigned		 duration;	/* s; 0: until stopped */
	uint64_t		 count;		/* exchanges; 0: no limit */
	int			 promisc;
	uint64_t		 buffer_size;	/* the kernel's buffer, bytes */
};

/* A running sniffer. */
struct sniff {
	struct sniff_conf	*sn_conf;
	struct event_base	*sn_base;
	pcap_t			*sn_pcap;
	int			 sn_linktype;
	struct httpflow		*sn_flow;
	struct replay		*sn_replay;
	struct event		*sn_ev_pcap;
	struct event		*sn_ev_expire;
	struct event		*sn_ev_stats;
	struct event		*sn_ev_duration;
	uint64_t		 sn_exchanges;	/* observed and handed on */
	uint64_t		 sn_last_drop;	/* at the last stats line */
	int			 sn_stopping;
	int			 sn_failed;	/* the capture broke */
};

/* Sniff's own options; options.c adds the shared ones. */
enum {
	OPT_PORT = OPTIONS_OWN,
	OPT_EVENTS,
	OPT_MIRROR_METHODS,
	OPT_CANDIDATE_TIMEOUT,
	OPT_MAX_INFLIGHT,
	OPT_GRACE,
	OPT_STATS_INTERVAL,
	OPT_DURATION,
	OPT_COUNT,
	OPT_PROMISC,
	OPT_BUFFER_SIZE
};

static const struct option sniff_longopts[] = {
	{ "interface",		required_argument, NULL, 'i' },
	{ "port",		required_argument, NULL, OPT_PORT },
	{ "events",		required_argument, NULL, OPT_EVENTS },
	{ "mirror-methods",	required_argument, NULL, OPT_MIRROR_METHODS },
	{ "candidate-timeout",	required_argument, NULL,
	    OPT_CANDIDATE_TIMEOUT },
	{ "max-inflight",	required_argument, NULL, OPT_MAX_INFLIGHT },
	{ "grace",		required_argument, NULL, OPT_GRACE },
	{ "stats-interval",	required_argument, NULL, OPT_STATS_INTERVAL },
	{ "duration",		required_argument, NULL, OPT_DURATION },
	{ "count",		required_argument, NULL, OPT_COUNT },
	{ "promisc",		no_argument,	   NULL, OPT_PROMISC },
	{ "buffer-size",	required_argument, NULL, OPT_BUFFER_SIZE },
	{ NULL, 0, NULL, 0 }
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
"\n"
"  -i, --interface IFACE         the interface to capture on (lo, eth0, any)\n"
"      --port N                  the primary's TCP port (repeatable)\n"
"  -C, --candidate URL           the implementation being tested\n"
"  -c, --capture FILE|DIR        write every exchange as a JSONL line\n"
"      --capture-body-limit BYTES  bytes of each body kept in the capture [1M]\n"
"      --events FILE|-           write divergent exchanges as JSONL\n"
"      --ignore JSONPATH         ignore differences at this path (repeatable)\n"
"      --ignore-header NAME      do not compare this response header\n"
"      --strict-order            report object key order differences\n"
"      --lenient-numbers         1 and 1.0 are the same type\n"
"      --config FILE             INI file: [sniff], [compare],\n"
"                                [route \"METHOD /path\"]; flags win\n"
"      --mirror-methods LIST     comma list of methods sent to the candidate\n"
"                                [all]\n"
"      --candidate-timeout MS    candidate deadline [5000]\n"
"      --max-inflight N          candidate requests in flight before new\n"
"                                ones are dropped, counted and recorded as\n"
"                                skipped [1024]\n"
"      --max-body BYTES          body bytes kept for comparison [8M]\n"
"      --trace-header NAME       trace id header [X-Paritytap-Trace-Id]\n"
"      --redact-header NAME      also redact this header in captures\n"
"      --keep-secrets            do not redact Authorization, Cookie, ...\n"
"      --host HOST               Host header sent to the candidate\n"
"                                [as the client sent it]\n"
"      --promisc                 put the interface in promiscuous mode\n"
"      --buffer-size BYTES       the kernel's capture buffer [16M]\n"
"      --stats-interval SECS     packet and drop counts on stderr this often;\n"
"                                0: at exit only [10]\n"
"      --duration SECS           stop after this long\n"
"      --count N                 stop after N exchanges\n"
"      --grace MS                at exit, time the candidate gets to answer\n"
"                                [10000]\n"
"  -q, --quiet                   no DIVERGE lines, no periodic counts\n"
"  -v, --verbose                 more logging (twice: debug)\n"
"      --color WHEN              auto, always or never [auto]\n"
"  -h, --help                    this text\n"
"\n"
"Exit status: 0 after SIGTERM/SIGINT, --duration or --count; 2 usage error\n"
"(bad option, unknown interface); 3 the capture could not start (no\n"
"permission: run as root or 'setcap cap_net_raw+ep paritytap') or broke.\n"
"See paritytap(1).\n", f);
}

/* Add one --port. */
static int
sniff_port(struct sniff_conf *sc, const char *value, char **cause)
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
	struct sniff_conf	*sc = arg;
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
	} else if (strcmp(name, "candidate-timeout") == 0)
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

/* Stop capturing: the loop ends, and sniff_run finishes what is left. */
static void
sniff_stop(struct sniff *sn)
{
	sn->sn_stopping = 1;
	event_base_loopbreak(sn->sn_base);
}

/* Print the packet counts; with drops_only, only if drops went up. */
static void
sniff_print_stats(struct sniff *sn, int drops_only)
{
	struct pcap_stat	 ps;
	uint64_t		 drops;

	if (pcap_stats(sn->sn_pcap, &ps) != 0) {
		log_debug("pcap_stats: %s", pcap_geterr(sn->sn_pcap));
		return;
	}
	drops = (uint64_t)ps.ps_drop + ps.ps_ifdrop;
	if (drops_only && drops == sn->sn_last_drop)
		return;
	sn->sn_last_drop = drops;
	fprintf(stderr, "sniff: %u packets received, %u dropped by the "
	    "kernel, %u by the interface\n", ps.ps_recv, ps.ps_drop,
	    ps.ps_ifdrop);
}

/*
 * An exchange httpflow saw on the wire (the request and the primary's
 * response): send the request to the candidate.  The id is the request's
 * trace id (or one httpflow made), the route follows the config's rules.
 */
static void
sniff_exchange(struct exchange *ex, void *arg)
{
	struct sniff		*sn = arg;
	struct sniff_conf	*sc = sn->sn_conf;

	if (sc->count != 0 && sn->sn_exchanges >= sc->count) {
		exchange_free(ex);
		free(ex);
		return;
	}
	sn->sn_exchanges++;
	/* httpflow knows the default trace header; --trace-header may differ. */
	if (headers_get(&ex->ex_req.headers, sc->ro.trace_header) != NULL)
		trace_choose(&ex->ex_req.headers, sc->ro.trace_header,
		    ex->ex_id, sizeof ex->ex_id);
	free(ex->ex_route);
	ex->ex_route = NULL;
	replay_submit(sn->sn_replay, ex);
	if (sc->count != 0 && sn->sn_exchanges == sc->count)
		sniff_stop(sn);
}

/* One captured packet. */
static void
sniff_packet(u_char *arg, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct sniff	*sn = (struct sniff *)arg;

	httpflow_packet(sn->sn_flow, sn->sn_linktype, &h->ts, bytes,
	    h->caplen);
}

/* Take one block of packets from the capture; 0, or -1 if it broke. */
static int
sniff_read(struct sniff *sn)
{
	if (pcap_dispatch(sn->sn_pcap, -1, sniff_packet, (u_char *)sn) ==
	    PCAP_ERROR) {
		log_warnx("capture on %s failed: %s", sn->sn_conf->interface,
		    pcap_geterr(sn->sn_pcap));
		sn->sn_failed = 1;
		sniff_stop(sn);
		return (-1);
	}
	return (0);
}

/*
 * At the stop: take what the kernel still holds, the block still filling
 * too (it is handed over within SNIFF_TIMEOUT_MS), until the capture is
 * quiet or for at most SNIFF_FINAL_MS on a busy link.
 */
static void
sniff_read_rest(struct sniff *sn)
{
	struct pollfd	 pfd;
	double		 end = mono_ms() + SNIFF_FINAL_MS;

	pfd.fd = pcap_get_selectable_fd(sn->sn_pcap);
	pfd.events = POLLIN;
	while (!sn->sn_failed && mono_ms() < end) {
		if (sniff_read(sn) != 0)
			break;
		if (poll(&pfd, 1, 2 * SNIFF_TIMEOUT_MS) <= 0)
			break;
	}
}

/* The capture descriptor is readable. */
static void
sniff_pcap_cb(evutil_socket_t fd, short events, void *arg)
{
	sniff_read(arg);
}

/* Forget connections that have been silent for long. */
static void
sniff_expire_cb(evutil_socket_t fd, short events, void *arg)
{
	struct sniff	*sn = arg;
	struct timeval	 now;

	gettimeofday(&now, NULL);
	httpflow_expire(sn->sn_flow, &now, SNIFF_IDLE_SECS);
}

/* --stats-interval: the counts (with -q, only when drops went up). */
static void
sniff_stats_cb(evutil_socket_t fd, short events, void *arg)
{
	sniff_print_stats(arg, log_quiet);
}

/* --duration is over. */
static void
sniff_duration_cb(evutil_socket_t fd, short events, void *arg)
{
	sniff_stop(arg);
}

/* SIGTERM, SIGINT: stop capturing; a second one stops waiting. */
static void
sniff_signal_cb(evutil_socket_t sig, short events, void *arg)
{
	struct sniff	*sn = arg;

	if (!sn->sn_stopping)
		log_warnx("%s: stopping; waiting for the candidate's answers",
		    sig == SIGINT ? "SIGINT" : "SIGTERM");
	else
		log_warnx("%s: not waiting any longer",
		    sig == SIGINT ? "SIGINT" : "SIGTERM");
	sniff_stop(sn);
}

/*
 * Open the live capture: the filter on the ports, non-blocking, its
 * descriptor ready for the loop.  Return 0, or the exit status with
 * cause: EXIT_USAGE for an interface that does not exist, EXIT_RUNTIME
 * for one that cannot be captured on (permission, down, link type).
 */
static int
sniff_open(struct sniff *sn, char **cause)
{
	struct sniff_conf	*sc = sn->sn_conf;
	char			 errbuf[PCAP_ERRBUF_SIZE];
	struct bpf_program	 prog;
	struct buf		 filter;
	pcap_t			*p;
	size_t			 i;
	int			 rv;

	errbuf[0] = '\0';
	if ((p = pcap_create(sc->interface, errbuf)) == NULL) {
		xasprintf(cause, "cannot capture on %s: %s", sc->interface,
		    errbuf);
		return (EXIT_RUNTIME);
	}
	sn->sn_pcap = p;
	pcap_set_snaplen(p, SNIFF_SNAPLEN);
	pcap_set_promisc(p, sc->promisc);
	/*
	 * Not immediate mode: on Linux it makes libpcap use a ring of
	 * fixed-size frames, each as big as the snapshot length, so a
	 * buffer of megabytes holds a few dozen packets and a burst
	 * overflows it (measured on lo: 20% of the packets dropped at 8,000
	 * requests/s, and a connection that loses a packet is not parsed
	 * further).  Blocks of packets packed end to end, handed over when
	 * full or after SNIFF_TIMEOUT_MS, lost none at 13,000 requests/s;
	 * an exchange is seen at most that much later.
	 */
	pcap_set_immediate_mode(p, 0);
	pcap_set_timeout(p, SNIFF_TIMEOUT_MS);
	pcap_set_buffer_size(p, (int)sc->buffer_size);
	rv = pcap_activate(p);
	switch (rv) {
	case 0:
		break;
	case PCAP_WARNING_PROMISC_NOTSUP:
	case PCAP_WARNING:
		log_warnx("%s: %s", sc->interface, pcap_geterr(p));
		break;
	case PCAP_ERROR_PERM_DENIED:
		xasprintf(cause, "cannot capture on %s: permission denied "
		    "(%s); sniffing needs root or the CAP_NET_RAW capability "
		    "(e.g. setcap cap_net_raw+ep paritytap)", sc->interface,
		    pcap_geterr(p));
		return (EXIT_RUNTIME);
	case PCAP_ERROR_NO_SUCH_DEVICE:
		xasprintf(cause, "--interface %s: no such interface",
		    sc->interface);
		return (EXIT_USAGE);
	case PCAP_ERROR_IFACE_NOT_UP:
		xasprintf(cause, "cannot capture on %s: the interface is "
		    "down", sc->interface);
		return (EXIT_RUNTIME);
	default:
		if (rv > 0) {
			log_warnx("%s: %s", sc->interface, pcap_geterr(p));
			break;
		}
		xasprintf(cause, "cannot capture on %s: %s", sc->interface,
		    rv == PCAP_ERROR ? pcap_geterr(p) : pcap_statustostr(rv));
		return (EXIT_RUNTIME);
	}
	sn->sn_linktype = pcap_datalink(p);
	if (!tcpreasm_linktype_ok(sn->sn_linktype)) {
		xasprintf(cause, "cannot capture on %s: its link type %s is "
		    "not one sniff decodes", sc->interface,
		    pcap_datalink_val_to_name(sn->sn_linktype) != NULL ?
		    pcap_datalink_val_to_name(sn->sn_linktype) : "(unknown)");
		return (EXIT_RUNTIME);
	}

	buf_init(&filter);
	for (i = 0; i < sc->nports; i++)
		buf_printf(&filter, "%stcp port %u", i == 0 ? "" : " or ",
		    sc->ports[i]);
	buf_add(&filter, "", 1);
	if (pcap_compile(p, &prog, filter.data, 1, PCAP_NETMASK_UNKNOWN) !=
	    0 || pcap_setfilter(p, &prog) != 0) {
		xasprintf(cause, "cannot set the filter '%s' on %s: %s",
		    filter.data, sc->interface, pcap_geterr(p));
		buf_free(&filter);
		return (EXIT_RUNTIME);
	}
	pcap_freecode(&prog);
	buf_free(&filter);
	if (pcap_setnonblock(p, 1, errbuf) != 0) {
		xasprintf(cause, "%s: %s", sc->interface, errbuf);
		return (EXIT_RUNTIME);
	}
	if (pcap_get_selectable_fd(p) == -1) {
		xasprintf(cause, "%s: no selectable descriptor",
		    sc->interface);
		return (EXIT_RUNTIME);
	}
	return (0);
}

/* Print the ports as "8080" or "8080, 8081". */
static char *
sniff_port_list(const struct sniff_conf *sc)
{
	struct buf	 b;
	size_t		 i;

	buf_init(&b);
	for (i = 0; i < sc->nports; i++)
		buf_printf(&b, "%s%u", i == 0 ? "" : ", ", sc->ports[i]);
	return (buf_detach(&b));
}

/* The counts of what was seen but could not be made into exchanges. */
static void
sniff_print_flow_stats(struct sniff *sn, const struct replay_stats *rs)
{
	const struct httpflow_stats	*fs = httpflow_stats(sn->sn_flow);

	if (fs->unparsable != 0 || fs->gaps != 0 || fs->unanswered != 0 ||
	    fs->orphans != 0)
		fprintf(stderr, "sniff: not seen whole: %llu connections not "
		    "HTTP/1.x (TLS?), %llu cut by lost packets, %llu requests "
		    "without a response, %llu responses without a request\n",
		    (unsigned long long)fs->unparsable,
		    (unsigned long long)fs->gaps,
		    (unsigned long long)fs->unanswered,
		    (unsigned long long)fs->orphans);
	if (fs->resumed != 0 || fs->not_resumed != 0 || fs->skipped != 0)
		fprintf(stderr, "sniff: after lost packets: %llu connections "
		    "resumed, %llu pipelined not resumed, %llu bytes skipped\n",
		    (unsigned long long)fs->resumed,
		    (unsigned long long)fs->not_resumed,
		    (unsigned long long)fs->skipped);
	if (rs->dropped != 0)
		fprintf(stderr, "sniff: %llu exchanges dropped: the candidate "
		    "had --max-inflight %u requests in flight\n",
		    (unsigned long long)rs->dropped, sn->sn_conf->ro.concurrency);
}

/* Set up the loop's events: capture, timers, signals. */
static void
sniff_events(struct sniff *sn, struct event **ev_term, struct event **ev_int)
{
	struct sniff_conf	*sc = sn->sn_conf;
	struct timeval		 tv;

	sn->sn_ev_pcap = event_new(sn->sn_base,
	    pcap_get_selectable_fd(sn->sn_pcap), EV_READ | EV_PERSIST,
	    sniff_pcap_cb, sn);
	event_add(sn->sn_ev_pcap, NULL);
	sn->sn_ev_expire = event_new(sn->sn_base, -1, EV_PERSIST,
	    sniff_expire_cb, sn);
	tv.tv_sec = SNIFF_EXPIRE_SECS;
	tv.tv_usec = 0;
	evtimer_add(sn->sn_ev_expire, &tv);
	if (sc->stats_interval != 0) {
		sn->sn_ev_stats = event_new(sn->sn_base, -1, EV_PERSIST,
		    sniff_stats_cb, sn);
		tv.tv_sec = sc->stats_interval;
		evtimer_add(sn->sn_ev_stats, &tv);
	}
	if (sc->duration != 0) {
		sn->sn_ev_duration = evtimer_new(sn->sn_base,
		    sniff_duration_cb, sn);
		tv.tv_sec = sc->duration;
		evtimer_add(sn->sn_ev_duration, &tv);
	}
	*ev_term = evsignal_new(sn->sn_base, SIGTERM, sniff_signal_cb, sn);
	*ev_int = evsignal_new(sn->sn_base, SIGINT, sniff_signal_cb, sn);
	evsignal_add(*ev_term, NULL);
	evsignal_add(*ev_int, NULL);
}

/* Run the sniffer until stopped; return the exit status. */
static int
sniff_run(struct sniff_conf *sc)
{
	struct sniff		 sn;
	struct capture		*capture = NULL;
	struct pipeline		*pipeline = NULL;
	struct pipeline_opts	 popts;
	struct consumer		 con;
	struct stats_counts	 st;
	struct replay_stats	 rs;
	struct event		*ev_term = NULL, *ev_int = NULL;
	struct events		*events = NULL;
	char			*cause = NULL, *summary, *ports;
	uint64_t		 lost;
	int			 status, color;

	memset(&sn, 0, sizeof sn);
	sn.sn_conf = sc;
	color = use_color(sc->o.color, STDERR_FILENO, NULL) > 0;
	if ((status = options_capture(&sc->o, &capture)) != 0)
		return (status);
	if (sc->events != NULL && (events = events_open(sc->events,
	    &sc->o.cap, &cause)) == NULL) {
		status = options_usage(sc->o.command, "%s", cause);
		goto out;
	}

	signal(SIGPIPE, SIG_IGN);
	if ((sn.sn_base = event_base_new()) == NULL)
		fatalx("event_base_new");
	memset(&popts, 0, sizeof popts);
	popts.compare = &sc->o.co;
	pipeline = pipeline_new(&popts);
	if (!log_quiet) {
		flagline_consumer(&color, &con);
		pipeline_add(pipeline, &con);
	}
	if (events != NULL) {
		events_consumer(events, &con);
		pipeline_add(pipeline, &con);
	}
	if (capture != NULL) {
		capture_consumer(capture, &con);
		pipeline_add(pipeline, &con);
	}
	pipeline_start(pipeline);

	sc->ro.quiet = log_quiet;
	if ((sn.sn_replay = replay_new(sn.sn_base, &sc->ro, pipeline,
	    &cause)) == NULL) {
		status = options_usage(sc->o.command, "%s", cause);
		goto out;
	}
	if ((status = sniff_open(&sn, &cause)) != 0) {
		if (status == EXIT_USAGE)
			options_usage(sc->o.command, "%s", cause);
		else
			fprintf(stderr, "paritytap sniff: %s\n", cause);
		goto out;
	}
	sn.sn_flow = httpflow_new("sniff", sc->ro.max_body,
	    SNIFF_STREAM_BYTES, SNIFF_TOTAL_BYTES, sniff_exchange, &sn);
	httpflow_ports(sn.sn_flow, sc->ports, sc->nports);
	sniff_events(&sn, &ev_term, &ev_int);

	ports = sniff_port_list(sc);
	fprintf(stderr, "sniff: listening on %s (tcp port %s), candidate %s\n",
	    sc->interface, ports, sc->ro.candidate);
	free(ports);
	event_base_dispatch(sn.sn_base);

	/*
	 * What the kernel still holds, then what the flows still hold; the
	 * timers are done (--duration must not cut the wait short).
	 */
	event_del(sn.sn_ev_pcap);
	event_del(sn.sn_ev_expire);
	if (sn.sn_ev_stats != NULL)
		event_del(sn.sn_ev_stats);
	if (sn.sn_ev_duration != NULL)
		event_del(sn.sn_ev_duration);
	sniff_read_rest(&sn);
	httpflow_finish(sn.sn_flow);
	if (replay_inflight(sn.sn_replay) != 0 && sc->grace > 0)
		log_info("waiting up to %d ms for %u candidate answers",
		    sc->grace, replay_inflight(sn.sn_replay));
	replay_drain(sn.sn_replay, sc->grace);
	replay_free(sn.sn_replay, &rs);
	sn.sn_replay = NULL;
	pipeline_stop(pipeline, 0);
	pipeline_counts(pipeline, &st);

	summary = stats_summary(&st);
	fprintf(stderr, "sniff: %s\n", summary);
	free(summary);
	sniff_print_stats(&sn, 0);
	sniff_print_flow_stats(&sn, &rs);
	status = sn.sn_failed ? EXIT_RUNTIME : EXIT_OK;
out:
	free(cause);
	if (sn.sn_replay != NULL) {
		replay_drain(sn.sn_replay, 0);
		replay_free(sn.sn_replay, NULL);
	}
	pipeline_free(pipeline);
	if (sn.sn_flow != NULL)
		httpflow_free(sn.sn_flow);
	if (sn.sn_ev_pcap != NULL)
		event_free(sn.sn_ev_pcap);
	if (sn.sn_ev_expire != NULL)
		event_free(sn.sn_ev_expire);
	if (sn.sn_ev_stats != NULL)
		event_free(sn.sn_ev_stats);
	if (sn.sn_ev_duration != NULL)
		event_free(sn.sn_ev_duration);
	if (ev_term != NULL)
		event_free(ev_term);
	if (ev_int != NULL)
		event_free(ev_int);
	if (sn.sn_pcap != NULL)
		pcap_close(sn.sn_pcap);
	if (capture != NULL && (lost = capture_close(capture)) != 0 &&
	    status == EXIT_OK) {
		log_warnx("%llu exchange%s not recorded in the capture",
		    (unsigned long long)lost, lost == 1 ? "" : "s");
		status = EXIT_RUNTIME;
	}
	events_close(events);
	if (sn.sn_base != NULL)
		event_base_free(sn.sn_base);
	return (status);
}

/* Free what the configuration holds. */
static void
sniff_conf_free(struct sniff_conf *sc)
{
	strlist_free(&sc->ro.filter.methods, &sc->ro.filter.nmethods);
	options_free(&sc->o);
}

/* paritytap sniff. */
static int
cmd_sniff_exec(int argc, char **argv)
{
	struct sniff_conf	 sc;
	struct options_target	 ot = OPTIONS_TARGET(sc.ro);
	int			 status;

	memset(&sc, 0, sizeof sc);
	options_init(&sc.o, "sniff", sniff_longopts, &ot);
	sc.ro.timeout = 5000;
	sc.ro.concurrency = 1024;
	sc.grace = 10000;
	sc.stats_interval = 10;
	sc.buffer_size = SNIFF_BUFFER;

	status = options_getopt(&sc.o, argc, argv, ":i:p:C:c:qvh",
	    cmd_sniff_help);
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
	else
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
