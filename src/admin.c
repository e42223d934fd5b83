/*
 * The admin listener (--admin): /metrics, /healthz, /readyz, the JSON API
 * and the dashboard.  It runs on its own thread with its own event base,
 * so a slow scraper or many dashboards never hold up the event loop that
 * answers clients; it only reads counters that are atomics or guarded by
 * locks the event loop does not take.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "paritytap.h"

/* The dashboard page, embedded at build time (dashboard.c). */
extern const unsigned char	dashboard_html[];
extern const size_t		dashboard_html_len;

#define ADMIN_MAX_HEADERS	8192	/* a request's whole header block */
#define ADMIN_MAX_BODY		1024	/* nothing is posted; past it, 413 */
#define ADMIN_MAX_CONNS		64	/* past it, 503 and close */
#define ADMIN_TIMEOUT_S		10	/* an idle or slow admin client */
#define ADMIN_MAX_TOKEN		4096

struct admin {
	struct admin_opts	 a_opts;
	struct admin_sources	 a_src;
	char			*a_token;
	size_t			 a_token_len;
	char			 a_address[128];
	struct event_base	*a_base;
	struct evhttp		*a_http;
	struct tls_server	*a_tls;		/* --admin-tls-cert, or NULL */
	struct event		*a_wake;
	int			 a_pipe[2];
	pthread_t		 a_thread;
	int			 a_started;
	struct evhttp_connection *a_conn[ADMIN_MAX_CONNS];
	unsigned		 a_conns;
	struct timeval		 a_start;
};

/* Set one of the admin options; 1 if it was one, 0 if not, -1 on error. */
int
admin_option(struct options *o, struct admin_opts *ao, const char *name,
    const char *value, char **cause)
{
	uint64_t	 v;
	char		*why;

	if (strcmp(name, "admin") == 0)
		ao->listen = options_keep(o, value);
	else if (strcmp(name, "admin-token") == 0)
		ao->token_path = options_keep(o, value);
	else if (strcmp(name, "max-routes") == 0) {
		if (parse_uint(value, 1, 100000, &v, &why) != 0)
			return (options_cause(name, why, cause) == 0 ? 1 : -1);
		ao->max_routes = (unsigned)v;
	} else if (strcmp(name, "admin-keep") == 0) {
		if (parse_uint(value, 0, 100000, &v, &why) != 0)
			return (options_cause(name, why, cause) == 0 ? 1 : -1);
		ao->keep = (unsigned)v;
	} else if (strcmp(name, "admin-tls-cert") == 0)
		ao->tls_cert = options_keep(o, value);
	else if (strcmp(name, "admin-tls-key") == 0)
		ao->tls_key = options_keep(o, value);
	else if (strcmp(name, "ready-window") == 0) {
		if (options_duration(name, value, 1000, 1000,
		    24ULL * 3600 * 1000, &ao->ready_window_ms, cause) != 0)
			return (-1);
	} else
		return (0);
	return (1);
}

/* The admin options that only go together; 0, or -1 and cause. */
int
admin_opts_check(const struct admin_opts *ao, char **cause)
{
	if (tls_server_check("--admin-tls", ao->tls_cert, ao->tls_key,
	    cause) != 0)
		return (-1);
	if (ao->tls_cert != NULL && ao->listen == NULL) {
		xasprintf(cause, "--admin-tls-cert needs --admin ADDR:PORT");
		return (-1);
	}
	return (0);
}

/* The defaults. */
void
admin_opts_init(struct admin_opts *ao)
{
	memset(ao, 0, sizeof *ao);
	ao->max_routes = 100;
	ao->keep = 100;
	ao->ready_window_ms = 30 * 1000;
}

/* Read the token file: once, trailing newline trimmed, never empty. */
static int
admin_read_token(struct admin *a, const char *path, char **cause)
{
	char	 buf[ADMIN_MAX_TOKEN + 2];
	size_t	 n;
	FILE	*f;

	if ((f = fopen(path, "r")) == NULL) {
		xasprintf(cause, "--admin-token %s: %s", path, strerror(errno));
		return (-1);
	}
	n = fread(buf, 1, sizeof buf - 1, f);
	if (ferror(f)) {
		xasprintf(cause, "--admin-token %s: %s", path, strerror(errno));
		fclose(f);
		return (-1);
	}
	fclose(f);
	if (n > ADMIN_MAX_TOKEN) {
		xasprintf(cause, "--admin-token %s: longer than %d bytes", path,
		    ADMIN_MAX_TOKEN);
		return (-1);
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	if (n == 0) {
		xasprintf(cause, "--admin-token %s: the file is empty", path);
		return (-1);
	}
	if (memchr(buf, '\0', n) != NULL || strpbrk(buf, " \t\r\n") != NULL) {
		xasprintf(cause, "--admin-token %s: the token holds a space, "
		    "control character or NUL", path);
		return (-1);
	}
	a->a_token = xstrdup(buf);
	a->a_token_len = n;
	return (0);
}

/*
 * Split --admin's ADDR:PORT: a bare port is loopback; [v6]:port and
 * host:port as given.
 */
static int
admin_split(const char *spec, char **host, uint16_t *port, char **cause)
{
	const char	*colon, *p;
	uint64_t	 v;
	char		*why;

	if ((colon = strrchr(spec, ':')) == NULL) {
		*host = xstrdup("127.0.0.1");
		p = spec;
	} else if (spec[0] == '[') {
		if (colon == spec || colon[-1] != ']' || colon - spec < 3)
			goto bad;
		*host = xstrdup(spec + 1);
		(*host)[colon - spec - 2] = '\0';
		p = colon + 1;
	} else {
		if (colon == spec || memchr(spec, ':', colon - spec) != NULL)
			goto bad;
		*host = xstrdup(spec);
		(*host)[colon - spec] = '\0';
		p = colon + 1;
	}
	if (parse_uint(p, 0, 65535, &v, &why) != 0) {
		xasprintf(cause, "--admin %s: bad port: %s", spec, why);
		free(why);
		free(*host);
		return (-1);
	}
	*port = (uint16_t)v;
	return (0);
bad:
	xasprintf(cause, "--admin %s: not ADDR:PORT, [V6ADDR]:PORT or PORT",
	    spec);
	return (-1);
}

/* Send a reply with a body and type. */
static void
admin_reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, const void *body, size_t len)
{
	struct evbuffer	*b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", type);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		evbuffer_add(b, body, len);
	else {
		char	n[32];

		snprintf(n, sizeof n, "%zu", len);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Length", n);
	}
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

static void
admin_reply_json(struct evhttp_request *req, int code, const char *reason,
    json_t *j)
{
	char	*s;

	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (s == NULL) {
		admin_reply(req, 500, "Internal Server Error", "text/plain",
		    "out of memory\n", 14);
		return;
	}
	admin_reply(req, code, reason, "application/json", s, strlen(s));
	free(s);
}

/*
 * Whether the request carries the token.  The comparison always runs over
 * the token's full length, so its time says nothing about how much of a
 * guess was right.
 */
static int
admin_authorized(struct admin *a, struct evhttp_request *req)
{
	const char	*h;
	char		*given;
	size_t		 n;
	int		 ok;

	if (a->a_token == NULL)
		return (1);
	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return (0);
	h += 7;
	n = strlen(h);
	if (n > ADMIN_MAX_TOKEN)
		return (0);
	given = xcalloc(1, a->a_token_len + 1);
	memcpy(given, h, n < a->a_token_len ? n : a->a_token_len);
	ok = CRYPTO_memcmp(given, a->a_token, a->a_token_len) == 0;
	free(given);
	return (ok && n == a->a_token_len);
}

/* One connection closed: it no longer counts against the limit. */
static void
admin_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct admin	*a = arg;
	unsigned	 i;

	for (i = 0; i < a->a_conns; i++) {
		if (a->a_conn[i] == evcon) {
			a->a_conn[i] = a->a_conn[--a->a_conns];
			return;
		}
	}
}

/*
 * Count a connection on its first request: 0 if it is one too many.
 * evhttp accepts without a hook, so the limit is kept here, where each
 * connection is first seen.
 */
static int
admin_count_conn(struct admin *a, struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	unsigned			 i;

	if ((evcon = evhttp_request_get_connection(req)) == NULL)
		return (1);
	for (i = 0; i < a->a_conns; i++)
		if (a->a_conn[i] == evcon)
			return (1);
	if (a->a_conns == ADMIN_MAX_CONNS)
		return (0);
	a->a_conn[a->a_conns++] = evcon;
	evhttp_connection_set_closecb(evcon, admin_conn_closed, a);
	return (1);
}

/*
 * The process's open descriptors, from /proc/self/fd (less the
 * directory's own).  The directory's descriptor may take a number the
 * data path's loop just closed (see tests/tsan.supp).
 */
static unsigned
admin_open_fds(void)
{
	struct dirent	*de;
	DIR		*d;
	unsigned	 nfd = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return (0);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			nfd++;
	closedir(d);
	return (nfd > 0 ? nfd - 1 : 0);
}

/* The standard process_* families, from /proc. */
static void
admin_process(struct buf *b, const struct admin *a)
{
	struct rlimit	 rl;
	FILE		*f;
	char		 line[1024], *p;
	unsigned long	 utime = 0, stime = 0, vsize = 0;
	long		 rss = 0, tck = sysconf(_SC_CLK_TCK);
	long		 page = sysconf(_SC_PAGESIZE);
	unsigned	 nfd = 0;
	int		 i;

	if ((f = fopen("/proc/self/stat", "r")) != NULL) {
		if (fgets(line, sizeof line, f) != NULL &&
		    (p = strrchr(line, ')')) != NULL) {
			/* After "pid (comm)": state is field 3, utime 14. */
			p += 2;
			for (i = 3; i < 14 && p != NULL; i++)
				p = strchr(p, ' ') != NULL ?
				    strchr(p, ' ') + 1 : NULL;
			if (p != NULL)
				sscanf(p, "%lu %lu %*d %*d %*d %*d %*d %*d "
				    "%*u %lu %ld", &utime, &stime, &vsize,
				    &rss);
		}
		fclose(f);
	}
	nfd = admin_open_fds();
	metrics_family_line(b, "process_cpu_seconds_total", "counter",
	    "Total user and system CPU time spent in seconds.");
	buf_printf(b, "process_cpu_seconds_total %.2f\n",
	    tck > 0 ? (double)(utime + stime) / tck : 0);
	metrics_family_line(b, "process_resident_memory_bytes", "gauge",
	    "Resident memory size in bytes.");
	buf_printf(b, "process_resident_memory_bytes %lld\n",
	    (long long)rss * page);
	metrics_family_line(b, "process_virtual_memory_bytes", "gauge",
	    "Virtual memory size in bytes.");
	buf_printf(b, "process_virtual_memory_bytes %lu\n", vsize);
	metrics_family_line(b, "process_open_fds", "gauge",
	    "Number of open file descriptors.");
	buf_printf(b, "process_open_fds %u\n", nfd);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		metrics_family_line(b, "process_max_fds", "gauge",
		    "Maximum number of open file descriptors.");
		buf_printf(b, "process_max_fds %lld\n",
		    rl.rlim_cur == RLIM_INFINITY ? -1LL :
		    (long long)rl.rlim_cur);
	}
	metrics_family_line(b, "process_start_time_seconds", "gauge",
	    "Start time of the process since unix epoch in seconds.");
	buf_printf(b, "process_start_time_seconds %lld\n",
	    (long long)a->a_start.tv_sec);
}

/*
 * Each alert channel's counts, those of one name (two webhooks) summed:
 * a label value appears once.
 */
static size_t
admin_alert_counts(struct alerts *al, struct alert_counts *ac, size_t max)
{
	size_t	 n, i, j, m = 0;

	n = al != NULL ? alerts_counts(al, ac, max) : 0;
	if (n > max)
		n = max;
	for (i = 0; i < n; i++) {
		for (j = 0; j < m; j++)
			if (strcmp(ac[j].channel, ac[i].channel) == 0)
				break;
		if (j == m)
			ac[m++] = ac[i];
		else {
			ac[j].sent += ac[i].sent;
			ac[j].failed += ac[i].failed;
		}
	}
	return (m);
}

/* Requests in flight to one side, from the proxy or sniff's replay. */
static unsigned
admin_inflight(const struct admin_sources *s, int side)
{
	if (s->proxy != NULL)
		return (proxy_inflight(s->proxy, side));
	if (s->replay != NULL)
		return (replay_side_inflight(s->replay, side));
	return (0);
}

/* Mirrors dropped for reason ("inflight", "inflight_bytes"). */
static uint64_t
admin_dropped(const struct admin_sources *s, const char *reason)
{
	if (s->proxy != NULL)
		return (proxy_mirror_dropped(s->proxy, reason));
	if (s->replay != NULL && strcmp(reason, "inflight") == 0)
		return (replay_dropped(s->replay));
	return (0);
}

/* GET /metrics. */
static void
admin_metrics(struct admin *a, struct evhttp_request *req)
{
	struct admin_sources	*s = &a->a_src;
	struct alert_counts	 ac[8];
	struct drift_counts	 dc;
	struct buf		 b;
	uint64_t		 depth, bytes, stripped, dropped, tls_errors;
	size_t			 n, i;

	buf_init(&b);
	metrics_render(s->metrics, &b);

	if (s->drifts != NULL) {
		drift_table_counts(s->drifts, &dc);
		metrics_family_line(&b, "paritytap_drift_events_total",
		    "counter", "Drift transitions this run, by the state "
		    "entered.");
		for (i = 0; i <= DRIFT_REGRESSED; i++)
			buf_printf(&b, "paritytap_drift_events_total{state="
			    "\"%s\"} %llu\n", drift_state_name(i),
			    (unsigned long long)dc.events[i]);
	}

	metrics_family_line(&b, "paritytap_mirror_dropped_total", "counter",
	    "Mirrors not sent to the candidate, by reason.");
	buf_printf(&b, "paritytap_mirror_dropped_total{reason=\"inflight\"} "
	    "%llu\n", (unsigned long long)(admin_dropped(s, "inflight")));
	buf_printf(&b, "paritytap_mirror_dropped_total{reason="
	    "\"inflight_bytes\"} %llu\n", (unsigned long long)admin_dropped(s,
	    "inflight_bytes"));
	/* The secondary not sent, over its own --max-inflight. */
	if (s->secondary && s->proxy != NULL)
		buf_printf(&b, "paritytap_mirror_dropped_total{reason="
		    "\"secondary_inflight\"} %llu\n", (unsigned long long)
		    admin_dropped(s, "secondary_inflight"));

	metrics_family_line(&b, "paritytap_inflight", "gauge",
	    "Requests in flight to each backend.");
	for (i = 0; i < 2; i++)
		buf_printf(&b, "paritytap_inflight{side=\"%s\"} %u\n",
		    i == 0 ? "primary" : "candidate", admin_inflight(s, (int)i));
	if (s->secondary)
		buf_printf(&b, "paritytap_inflight{side=\"secondary\"} %u\n",
		    admin_inflight(s, SIDE_SECONDARY));

	/* Under --tls-cert: clients that never got through the handshake. */
	if (s->proxy != NULL && proxy_tls_errors(s->proxy, &tls_errors)) {
		metrics_family_line(&b, "paritytap_client_tls_errors_total",
		    "counter", "Client connections closed in or before the "
		    "TLS handshake (plain HTTP, a client that refused the "
		    "certificate, no common protocol).");
		buf_printf(&b, "paritytap_client_tls_errors_total %llu\n",
		    (unsigned long long)tls_errors);
	}

	pipeline_queue(s->pipeline, &depth, &bytes, &stripped, &dropped);
	metrics_family_line(&b, "paritytap_queue_depth", "gauge",
	    "Exchanges waiting to be compared and recorded.");
	buf_printf(&b, "paritytap_queue_depth %llu\n",
	    (unsigned long long)depth);
	metrics_family_line(&b, "paritytap_queue_bytes", "gauge",
	    "Bytes the waiting exchanges hold.");
	buf_printf(&b, "paritytap_queue_bytes %llu\n",
	    (unsigned long long)bytes);
	metrics_family_line(&b, "paritytap_queue_stripped_total", "counter",
	    "Exchanges queued without their bodies: recorded, not "
	    "compared.");
	buf_printf(&b, "paritytap_queue_stripped_total %llu\n",
	    (unsigned long long)stripped);
	metrics_family_line(&b, "paritytap_queue_dropped_total", "counter",
	    "Exchanges dropped: the queue was full.");
	buf_printf(&b, "paritytap_queue_dropped_total %llu\n",
	    (unsigned long long)dropped);

	metrics_family_line(&b, "paritytap_capture_bytes_total", "counter",
	    "Bytes written to the capture.");
	buf_printf(&b, "paritytap_capture_bytes_total %llu\n",
	    (unsigned long long)capture_bytes(s->capture));
	metrics_family_line(&b, "paritytap_capture_errors_total", "counter",
	    "Failed capture writes, opens and renames.");
	buf_printf(&b, "paritytap_capture_errors_total %llu\n",
	    (unsigned long long)capture_errors(s->capture));

	n = admin_alert_counts(s->alerts, ac, sizeof ac / sizeof ac[0]);
	metrics_family_line(&b, "paritytap_alerts_sent_total", "counter",
	    "Alerts delivered, by channel.");
	for (i = 0; i < n; i++)
		buf_printf(&b, "paritytap_alerts_sent_total{channel=\"%s\"} "
		    "%llu\n", ac[i].channel, (unsigned long long)ac[i].sent);
	metrics_family_line(&b, "paritytap_alerts_failed_total", "counter",
	    "Alerts given up on, by channel.");
	for (i = 0; i < n; i++)
		buf_printf(&b, "paritytap_alerts_failed_total{channel=\"%s\"} "
		    "%llu\n", ac[i].channel, (unsigned long long)ac[i].failed);

	metrics_family_line(&b, "paritytap_build_info", "gauge",
	    "Always 1; the version is in the label.");
	buf_printf(&b, "paritytap_build_info{version=\"%s\"} 1\n",
	    PACKAGE_VERSION);

	admin_process(&b, a);
	admin_reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8",
	    b.data, b.len);
	buf_free(&b);
}

/* GET /readyz: what is not ready, named. */
static void
admin_readyz(struct admin *a, struct evhttp_request *req)
{
	struct admin_sources	*s = &a->a_src;
	struct timeval		 tv;
	json_t			*o, *why;
	double			 now, since, t;
	int			 side;

	gettimeofday(&tv, NULL);
	now = tv.tv_sec + tv.tv_usec / 1e6;
	since = now - (double)a->a_opts.ready_window_ms / 1000;
	why = json_array();
	for (side = 0; side < 2; side++) {
		t = metrics_answered(s->metrics, side);
		if (t == 0 || t < since)
			json_array_append_new(why, json_pack("{s:s,s:s}",
			    "check", side == 0 ? "primary" : "candidate",
			    "reason", t == 0 ? "has not answered yet" :
			    "has not answered within --ready-window"));
	}
	if (capture_failing(s->capture))
		json_array_append_new(why, json_pack("{s:s,s:s}", "check",
		    "capture", "reason", "the last write failed"));
	if (json_array_size(why) == 0) {
		json_decref(why);
		admin_reply(req, 200, "OK", "text/plain", "ready\n", 6);
		return;
	}
	o = json_pack("{s:b,s:o}", "ready", 0, "not_ready", why);
	admin_reply_json(req, 503, "Service Unavailable", o);
}

/* GET /api/summary. */
static void
admin_summary(struct admin *a, struct evhttp_request *req)
{
	struct admin_sources	*s = &a->a_src;
	struct alert_counts	 ac[8];
	struct timeval		 tv;
	json_t			*o, *backends, *x;
	uint64_t		 depth, bytes, stripped, dropped;
	size_t			 n, i;

	gettimeofday(&tv, NULL);
	o = json_object();
	backends = json_object();
	json_object_set_new(o, "version", json_string(PACKAGE_VERSION));
	json_object_set_new(o, "command", json_string(s->command));
	json_object_set_new(o, "started_at",
	    json_integer(a->a_start.tv_sec));
	json_object_set_new(o, "uptime_seconds", json_integer(tv.tv_sec -
	    a->a_start.tv_sec));
	metrics_summary(s->metrics, o, backends);

	x = json_object();
	json_object_set_new(x, "inflight",
	    json_integer((json_int_t)admin_dropped(s, "inflight")));
	json_object_set_new(x, "inflight_bytes",
	    json_integer((json_int_t)admin_dropped(s, "inflight_bytes")));
	json_object_set_new(o, "dropped", x);

	pipeline_queue(s->pipeline, &depth, &bytes, &stripped, &dropped);
	json_object_set_new(o, "queue", json_pack("{s:I,s:I,s:I,s:I}",
	    "depth", (json_int_t)depth, "bytes", (json_int_t)bytes,
	    "stripped", (json_int_t)stripped, "dropped", (json_int_t)dropped));
	json_object_set_new(o, "capture", json_pack("{s:I,s:I}", "bytes",
	    (json_int_t)capture_bytes(s->capture), "errors",
	    (json_int_t)capture_errors(s->capture)));
	for (i = 0; i < 2; i++)
		json_object_set_new(json_object_get(backends,
		    i == 0 ? "primary" : "candidate"), "inflight",
		    json_integer(admin_inflight(s, (int)i)));
	json_object_set_new(o, "backends", backends);

	x = json_object();
	n = admin_alert_counts(s->alerts, ac, sizeof ac / sizeof ac[0]);
	for (i = 0; i < n; i++)
		json_object_set_new(x, ac[i].channel, json_pack("{s:I,s:I}",
		    "sent", (json_int_t)ac[i].sent, "failed",
		    (json_int_t)ac[i].failed));
	json_object_set_new(o, "alerts", x);
	admin_reply_json(req, 200, "OK", o);
}

/* A query parameter, or NULL. */
static const char *
admin_param(struct evkeyvalq *q, const char *name)
{
	const char	*v = evhttp_find_header(q, name);

	return (v != NULL && *v != '\0' ? v : NULL);
}

/* ?limit=, default dflt; -1 if not a number. */
static long
admin_limit(struct evkeyvalq *q, long dflt)
{
	const char	*v = admin_param(q, "limit");
	uint64_t	 n;
	char		*why;

	if (v == NULL)
		return (dflt);
	if (parse_uint(v, 0, 1000000, &n, &why) != 0) {
		free(why);
		return (-1);
	}
	return ((long)n);
}

static void
admin_bad(struct evhttp_request *req, const char *what)
{
	admin_reply_json(req, 400, "Bad Request",
	    json_pack("{s:s}", "error", what));
}

/* The request is a GET or HEAD of the dashboard page, "/". */
static int
admin_is_page(struct evhttp_request *req)
{
	const struct evhttp_uri	*uri;
	const char		*path;
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD)
		return (0);
	uri = evhttp_request_get_evhttp_uri(req);
	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	return (path == NULL || *path == '\0' || strcmp(path, "/") == 0);
}

/* Every request: the token (but for the page), the method, the path. */
static void
admin_request(struct evhttp_request *req, void *arg)
{
	struct admin		*a = arg;
	const struct evhttp_uri	*uri;
	struct evkeyvalq	 q;
	enum drift_state	 st;
	const char		*path, *query, *state, *verdict;
	enum verdict		 v;
	char			*s;
	long			 limit;

	if (!admin_count_conn(a, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
		admin_reply(req, 503, "Service Unavailable", "text/plain",
		    "too many admin connections\n", 27);
		return;
	}
	/*
	 * The page itself holds no data and a browser cannot send a header
	 * when it opens it: it is served without the token, and sends the
	 * token (from its URL's fragment) with every API request it makes.
	 */
	if (!admin_is_page(req) && !admin_authorized(a, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer");
		admin_reply(req, 401, "Unauthorized", "text/plain",
		    "unauthorized\n", 13);
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		admin_reply(req, 405, "Method Not Allowed", "text/plain",
		    "only GET and HEAD\n", 18);
		return;
	}
	uri = evhttp_request_get_evhttp_uri(req);
	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	if (path == NULL || *path == '\0')
		path = "/";
	TAILQ_INIT(&q);
	if (query != NULL && evhttp_parse_query_str(query, &q) != 0) {
		admin_bad(req, "the query string does not parse");
		return;
	}

	if (strcmp(path, "/healthz") == 0)
		admin_reply(req, 200, "OK", "text/plain", "ok\n", 3);
	else if (strcmp(path, "/readyz") == 0)
		admin_readyz(a, req);
	else if (strcmp(path, "/metrics") == 0)
		admin_metrics(a, req);
	else if (strcmp(path, "/api/summary") == 0)
		admin_summary(a, req);
	else if (strcmp(path, "/api/drifts") == 0) {
		state = admin_param(&q, "state");
		if (state != NULL && drift_state_parse(state, &st) != 0)
			admin_bad(req, "state: not new, ongoing, resolved or "
			    "regressed");
		else if ((limit = admin_limit(&q, 1000)) < 0)
			admin_bad(req, "limit: not a number");
		else
			admin_reply_json(req, 200, "OK", metrics_drifts(
			    a->a_src.metrics, state, (size_t)limit));
	} else if (strcmp(path, "/api/exchanges") == 0) {
		verdict = admin_param(&q, "verdict");
		if (verdict != NULL && verdict_from_name(verdict, &v) != 0)
			admin_bad(req, "verdict: not a verdict");
		else if ((limit = admin_limit(&q, 100)) < 0)
			admin_bad(req, "limit: not a number");
		else {
			s = metrics_exchanges(a->a_src.metrics, verdict,
			    admin_param(&q, "route"), (size_t)limit);
			admin_reply(req, 200, "OK", "application/json", s,
			    strlen(s));
			free(s);
		}
	} else if (strcmp(path, "/") == 0)
		admin_reply(req, 200, "OK", "text/html; charset=utf-8",
		    dashboard_html, dashboard_html_len);
	else
		admin_reply(req, 404, "Not Found", "text/plain",
		    "not found\n", 10);
	evhttp_clear_headers(&q);
}

/* The stop byte: leave the loop. */
static void
admin_wake(evutil_socket_t fd, short what, void *arg)
{
	struct admin	*a = arg;
	char		 c;

	(void)what;
	(void)read(fd, &c, 1);
	event_base_loopbreak(a->a_base);
}

/*
 * Each admin connection under --admin-tls-cert: a TLS bufferevent for
 * evhttp, which sets its descriptor once accepted.
 */
static struct bufferevent *
admin_tls_bev(struct event_base *base, void *arg)
{
	struct admin	*a = arg;

	return (bufferevent_openssl_socket_new(base, -1,
	    tls_server_ssl(a->a_tls), BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE));
}

/*
 * A new admin listener, bound (so the address is known and a bad one is a
 * usage error) but not yet serving.
 */
struct admin *
admin_new(const struct admin_opts *ao, char **cause)
{
	struct admin			*a;
	struct evhttp_bound_socket	*bs;
	struct sockaddr_storage		 ss;
	socklen_t			 sl = sizeof ss;
	char				*host, ip[INET6_ADDRSTRLEN];
	uint16_t			 port;

	a = xcalloc(1, sizeof *a);
	a->a_opts = *ao;
	a->a_pipe[0] = a->a_pipe[1] = -1;
	gettimeofday(&a->a_start, NULL);
	if (ao->token_path != NULL &&
	    admin_read_token(a, ao->token_path, cause) != 0)
		goto fail;
	if (ao->tls_cert != NULL && (a->a_tls = tls_server_new("--admin-tls",
	    ao->tls_cert, ao->tls_key, cause)) == NULL)
		goto fail;
	if (admin_split(ao->listen, &host, &port, cause) != 0)
		goto fail;
	a->a_base = event_base_new();
	a->a_http = evhttp_new(a->a_base);
	if (a->a_tls != NULL)
		evhttp_set_bevcb(a->a_http, admin_tls_bev, a);
	evhttp_set_max_headers_size(a->a_http, ADMIN_MAX_HEADERS);
	/* Room for a small body, so a POST hears 405, not 413. */
	evhttp_set_max_body_size(a->a_http, ADMIN_MAX_BODY);
	evhttp_set_timeout(a->a_http, ADMIN_TIMEOUT_S);
	evhttp_set_allowed_methods(a->a_http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH |
	    EVHTTP_REQ_TRACE);
	evhttp_set_gencb(a->a_http, admin_request, a);
	if ((bs = evhttp_bind_socket_with_handle(a->a_http, host, port)) ==
	    NULL) {
		xasprintf(cause, "--admin %s: cannot listen on %s port %u: %s",
		    ao->listen, host, port, strerror(errno));
		free(host);
		goto fail;
	}
	free(host);
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss,
	    &sl) == 0) {
		if (ss.ss_family == AF_INET6) {
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->
			    sin6_addr, ip, sizeof ip);
			snprintf(a->a_address, sizeof a->a_address, "[%s]:%u",
			    ip, ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
		} else {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->
			    sin_addr, ip, sizeof ip);
			snprintf(a->a_address, sizeof a->a_address, "%s:%u",
			    ip, ntohs(((struct sockaddr_in *)&ss)->sin_port));
		}
	}
	if (pipe(a->a_pipe) != 0) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		goto fail;
	}
	a->a_wake = event_new(a->a_base, a->a_pipe[0], EV_READ, admin_wake, a);
	event_add(a->a_wake, NULL);
	return (a);
fail:
	admin_free(a);
	return (NULL);
}

/* Where the admin listener listens, "127.0.0.1:9090". */
const char *
admin_address(const struct admin *a)
{
	return (a->a_address);
}

static void *
admin_main(void *arg)
{
	struct admin	*a = arg;

	pthread_setname_np(pthread_self(), "admin");
	event_base_dispatch(a->a_base);
	return (NULL);
}

/* Serve, on the admin thread, what src points at. */
void
admin_start(struct admin *a, const struct admin_sources *src)
{
	a->a_src = *src;
	if (pthread_create(&a->a_thread, NULL, admin_main, a) != 0)
		fatal("pthread_create");
	a->a_started = 1;
}

/* SIGHUP: new admin connections get the certificate read again. */
void
admin_reload(struct admin *a)
{
	if (a != NULL)
		tls_server_reload(a->a_tls);
}

/* Stop serving and free; the sources may go after this. */
void
admin_free(struct admin *a)
{
	char	 c = 0;

	if (a == NULL)
		return;
	if (a->a_started) {
		(void)write(a->a_pipe[1], &c, 1);
		pthread_join(a->a_thread, NULL);
	}
	if (a->a_wake != NULL)
		event_free(a->a_wake);
	if (a->a_http != NULL)
		evhttp_free(a->a_http);
	if (a->a_base != NULL)
		event_base_free(a->a_base);
	tls_server_free(a->a_tls);
	if (a->a_pipe[0] != -1) {
		close(a->a_pipe[0]);
		close(a->a_pipe[1]);
	}
	if (a->a_token != NULL) {
		OPENSSL_cleanse(a->a_token, a->a_token_len);
		free(a->a_token);
	}
	free(a);
}
