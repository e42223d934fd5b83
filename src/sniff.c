/*
 * The sniff engine: passive shadowing.  The primary's real traffic is
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
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <pcap/pcap.h>

#include "paritytap.h"

#define SNIFF_SNAPLEN		262144
#define SNIFF_TIMEOUT_MS	10	/* a block of packets waits this long */
#define SNIFF_FINAL_MS		250	/* reading the rest at the stop */
#define SNIFF_STREAM_BYTES	(16 * 1024 * 1024)	/* held per stream */
#define SNIFF_TOTAL_BYTES	(256 * 1024 * 1024)	/* held in all */
#define SNIFF_IDLE_SECS		300	/* a silent connection is forgotten */
#define SNIFF_EXPIRE_SECS	5

/* A running sniffer. */
struct sniff {
	struct sniff_opts	*sn_conf;
	struct event_base	*sn_base;
	pcap_t			*sn_pcap;
	int			 sn_linktype;
	struct httpflow		*sn_flow;
	struct replay		*sn_replay;
	struct pipeline		*sn_pipeline;
	struct runtime		*sn_rt;
	struct drift_table	*sn_drifts;
	struct alerts		*sn_alerts;
	struct flagline		*sn_flags;	/* NULL when quiet */
	struct admin		*sn_admin;	/* --admin, or NULL */
	struct event		*sn_ev_pcap;
	struct event		*sn_ev_expire;
	struct event		*sn_ev_stats;
	struct event		*sn_ev_duration;
	uint64_t		 sn_exchanges;	/* observed and handed on */
	uint64_t		 sn_last_drop;	/* at the last stats line */
	int			 sn_stopping;
	int			 sn_failed;	/* the capture broke */
};

/*
 * Stop capturing (--duration, --count, a broken capture): the runtime
 * starts the grace period and calls sniff_rt_stop.
 */
static void
sniff_stop(struct sniff *sn)
{
	runtime_stop(sn->sn_rt);
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
	fprintf(stderr, "paritytap sniff: %u packets received, %u dropped by "
	    "the kernel, %u by the interface\n", ps.ps_recv, ps.ps_drop,
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
	struct sniff_opts	*sc = sn->sn_conf;

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

/* Stop: the loop ends, and sniff_run finishes what is left. */
static void
sniff_rt_stop(void *arg)
{
	struct sniff	*sn = arg;

	sn->sn_stopping = 1;
	event_base_loopbreak(sn->sn_base);
}

/*
 * SIGHUP, SIGUSR1: reopen the capture and events files; read the admin
 * listener's certificate again.
 */
static void
sniff_rt_reopen(void *arg)
{
	struct sniff	*sn = arg;

	pipeline_reopen(sn->sn_pipeline);
	admin_reload(sn->sn_admin);
}

/*
 * SIGUSR2: the summary line as it stands, from the live counters.  One
 * write, since the pipeline thread prints DIVERGE lines meanwhile.
 */
static void
sniff_rt_summary(void *arg)
{
	struct sniff		*sn = arg;
	struct stats_counts	 st;
	char			*line;

	pipeline_counts(sn->sn_pipeline, &st);
	st.flags_held = flagline_held(sn->sn_flags);
	line = stats_run_line(&st, sn->sn_drifts, sn->sn_alerts, 0, 0);
	fprintf(stderr, "paritytap sniff: %s\n", line);
	free(line);
}

/* A second signal or the grace period: stop waiting (default abort). */
static const struct runtime_cbs sniff_rt_cbs = {
	sniff_rt_stop, NULL, sniff_rt_reopen, sniff_rt_summary
};

/*
 * Open the live capture: the filter on the ports, non-blocking, its
 * descriptor ready for the loop.  Return 0, or the exit status with
 * cause: EXIT_USAGE for an interface that does not exist, EXIT_RUNTIME
 * for one that cannot be captured on (permission, down, link type).
 */
static int
sniff_open(struct sniff *sn, char **cause)
{
	struct sniff_opts	*sc = sn->sn_conf;
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
sniff_port_list(const struct sniff_opts *sc)
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
		fprintf(stderr, "paritytap sniff: not seen whole: %llu "
		    "connections not HTTP/1.x (TLS?), %llu with gaps (lost packets, or begun "
		    "before the capture), %llu requests without a response, "
		    "%llu responses without a request\n",
		    (unsigned long long)fs->unparsable,
		    (unsigned long long)fs->gaps,
		    (unsigned long long)fs->unanswered,
		    (unsigned long long)fs->orphans);
	if (fs->resumed != 0 || fs->not_resumed != 0 || fs->skipped != 0)
		fprintf(stderr, "paritytap sniff: after gaps: %llu "
		    "connections resumed, %llu pipelined not resumed, %llu "
		    "bytes skipped\n",
		    (unsigned long long)fs->resumed,
		    (unsigned long long)fs->not_resumed,
		    (unsigned long long)fs->skipped);
	if (rs->dropped != 0)
		fprintf(stderr, "paritytap sniff: %llu exchanges dropped: the "
		    "candidate had --max-inflight %u requests in flight\n",
		    (unsigned long long)rs->dropped, sn->sn_conf->ro.concurrency);
}

/* Set up the loop's events: capture, timers. */
static void
sniff_events(struct sniff *sn)
{
	struct sniff_opts	*sc = sn->sn_conf;
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
}

/* Run the sniffer until stopped; return the exit status. */
int
sniff_run(struct sniff_opts *sc)
{
	struct sniff		 sn;
	struct capture		*capture = NULL;
	struct runtime		*rt = NULL;
	struct pipeline_opts	 popts;
	struct consumer		 con;
	struct stats_counts	 st;
	struct replay_stats	 rs;
	struct events		*events = NULL;
	struct alerts		*alerts = NULL;
	struct drift_table	*drifts = NULL;
	struct metrics		*metrics = NULL;
	struct admin		*admin = NULL;
	struct admin_sources	 asrc;
	char			*cause = NULL, *summary, *ports, *primary;
	char			*generator = NULL;
	uint64_t		 lost;
	int			 status, color, stuck = 0;

	memset(&sn, 0, sizeof sn);
	memset(&st, 0, sizeof st);
	sn.sn_conf = sc;
	color = use_color(sc->o.color, STDERR_FILENO, NULL) > 0;
	if ((status = options_capture(&sc->o, &capture)) != 0)
		return (status);
	if (sc->events != NULL && (events = events_open(sc->events,
	    &sc->o.cap, &cause)) == NULL) {
		status = options_usage(sc->o.command, "%s", cause);
		goto out;
	}
	sc->drifts->quiet = log_quiet;
	sc->drifts->color = color;
	if ((drifts = drift_table_new(sc->drifts, &cause)) == NULL) {
		status = options_usage(sc->o.command, "%s", cause);
		goto out;
	}
	if (events != NULL)
		drift_table_listen(drifts, events_drift_listener, events);

	/* Bound before the capture starts, so a bad --admin is a usage error. */
	if (sc->admin->listen != NULL) {
		if ((admin = admin_new(sc->admin, &cause)) == NULL) {
			status = options_usage(sc->o.command, "%s", cause);
			goto out;
		}
		metrics = metrics_new(sc->admin->max_routes, sc->admin->keep,
		    &sc->o.cap);
		drift_table_listen(drifts, metrics_drift_listener, metrics);
		drift_table_known(drifts, metrics_drift_listener, metrics);
		/* Alertmanager's alerts link to the dashboard. */
		xasprintf(&generator, "%s://%s/", sc->admin->tls_cert != NULL ?
		    "https" : "http", admin_address(admin));
		sc->o.alert.generator_url = generator;
	}

	/*
	 * The alert channels; the drift table hands them its transitions
	 * through alerts_listener(alerts, event).  The primary is the port
	 * watched.
	 */
	ports = sniff_port_list(sc);
	xasprintf(&primary, "%s:%s", sc->interface, ports);
	free(ports);
	ports = alerts_pair(primary, sc->ro.candidate);
	free(primary);
	alerts = alerts_new(&sc->o.alert, ports, &cause);
	free(ports);
	if (alerts == NULL && cause != NULL) {
		status = options_usage(sc->o.command, "%s", cause);
		goto out;
	}
	if (alerts != NULL)
		drift_table_listen(drifts, alerts_listener, alerts);

	sn.sn_drifts = drifts;
	sn.sn_alerts = alerts;
	sn.sn_admin = admin;
	rt = runtime_new(&sniff_rt_cbs, &sn, sc->grace);
	sn.sn_rt = rt;
	sn.sn_base = runtime_base(rt);
	memset(&popts, 0, sizeof popts);
	popts.compare = &sc->o.co;
	popts.drifts = drifts;
	sn.sn_pipeline = pipeline_new(&popts);
	if (!log_quiet) {
		sn.sn_flags = flagline_new(&sc->o.flag, color, stderr);
		flagline_consumer(sn.sn_flags, &con);
		pipeline_add(sn.sn_pipeline, &con);
	}
	if (events != NULL) {
		events_consumer(events, &con);
		pipeline_add(sn.sn_pipeline, &con);
	}
	if (capture != NULL) {
		capture_consumer(capture, &con);
		pipeline_add(sn.sn_pipeline, &con);
	}
	if (metrics != NULL) {
		metrics_consumer(metrics, &con);
		pipeline_add(sn.sn_pipeline, &con);
	}
	pipeline_start(sn.sn_pipeline);

	sc->ro.quiet = log_quiet;
	if ((sn.sn_replay = replay_new(sn.sn_base, &sc->ro, sn.sn_pipeline,
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
	sniff_events(&sn);

	ports = sniff_port_list(sc);
	if (admin != NULL) {
		memset(&asrc, 0, sizeof asrc);
		asrc.command = "sniff";
		asrc.metrics = metrics;
		asrc.pipeline = sn.sn_pipeline;
		asrc.capture = capture;
		asrc.drifts = drifts;
		asrc.alerts = alerts;
		asrc.replay = sn.sn_replay;
		asrc.secondary = sc->ro.secondary != NULL;
		admin_start(admin, &asrc);
		fprintf(stderr, "sniff: listening on %s (tcp port %s), "
		    "candidate %s, admin %s\n", sc->interface, ports,
		    sc->ro.candidate, admin_address(admin));
	} else
		fprintf(stderr, "sniff: listening on %s (tcp port %s), "
		    "candidate %s\n", sc->interface, ports, sc->ro.candidate);
	free(ports);
	runtime_dispatch(rt);

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
	/* The admin thread reads the replay engine: stop it first. */
	admin_free(admin);
	admin = NULL;
	sn.sn_admin = NULL;
	replay_free(sn.sn_replay, &rs);
	sn.sn_replay = NULL;
	stuck = pipeline_stop(sn.sn_pipeline, runtime_deadline(rt)) != 0;
	pipeline_counts(sn.sn_pipeline, &st);
	st.flags_held = flagline_held(sn.sn_flags);
	alerts_stop(alerts, runtime_deadline(rt) != 0 ?
	    runtime_deadline(rt) : mono_ms() + sc->grace);

	summary = stats_run_line(&st, sn.sn_drifts, sn.sn_alerts, 0, 0);
	fprintf(stderr, "paritytap sniff: %s\n", summary);
	free(summary);
	sniff_print_stats(&sn, 0);
	sniff_print_flow_stats(&sn, &rs);
	status = sn.sn_failed ? EXIT_RUNTIME : EXIT_OK;
out:
	free(cause);
	/* The admin thread reads the pipeline and the capture: first. */
	admin_free(admin);
	if (sn.sn_replay != NULL) {
		replay_drain(sn.sn_replay, 0);
		replay_free(sn.sn_replay, NULL);
	}
	pipeline_free(sn.sn_pipeline);
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
	if (sn.sn_pcap != NULL)
		pcap_close(sn.sn_pcap);
	/* A consumer stuck in a write still uses its file: leave it. */
	if (capture != NULL) {
		lost = (stuck ? capture_lost(capture) : capture_close(capture)) +
		    st.dropped;
		if (lost != 0 && status == EXIT_OK) {
			log_warnx("%llu exchange%s not recorded in the capture",
			    (unsigned long long)lost, lost == 1 ? "" : "s");
			status = EXIT_RUNTIME;
		}
	}
	if (!stuck) {
		events_close(events);
		flagline_free(sn.sn_flags);
		drift_table_free(drifts);
		/* A stuck pipeline thread may still hand the alerts an event. */
		alerts_free(alerts);
	}
	if (!stuck) {
		metrics_free(metrics);
		free(generator);
	}
	if (rt != NULL)
		runtime_free(rt);
	return (status);
}
