/*
 * What the admin listener shows about exchanges: counts by route and
 * verdict, latency histograms, backend errors, the drifts, the per-minute
 * rate and a ring of the last divergent exchanges.  A pipeline consumer
 * fills it on the pipeline thread and the admin thread reads it; the lock
 * is held only by those two, never by the event loop, so a scrape cannot
 * slow a client.
 */

#include <sys/time.h>

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "paritytap.h"

/* Latency buckets, seconds: from a fast loopback answer to a timeout. */
static const double metrics_buckets[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10
};
#define METRICS_NBUCKETS \
	(sizeof metrics_buckets / sizeof metrics_buckets[0])

/* Backend error reasons, as struct response_side names them. */
static const char *metrics_reasons[] = {
	"timeout", "connect", "reset", "too_large", "bad_response", "prefix",
	"tls", "other"
};
#define METRICS_NREASONS \
	(sizeof metrics_reasons / sizeof metrics_reasons[0])

#define METRICS_MINUTES	60

struct metrics_hist {
	uint64_t	 b[METRICS_NBUCKETS + 1];	/* last: +Inf */
	double		 sum;
	uint64_t	 n;
};

struct metrics_route {
	char			*name;
	uint64_t		 verdicts[VERDICT_NONE + 1];
	uint64_t		 total;
	uint64_t		 divergent;
	struct metrics_hist	 lat[SIDE_MAX];
};

struct metrics_drift {
	char		*id;
	struct drift	 d;
	enum drift_state state;
	int		 baselined;
	uint64_t	 count;
	uint64_t	 route_total;
	double		 first_seen;
	double		 last_seen;
	double		 changed;	/* its last transition */
	uint64_t	 seq;		/* ... in order */
	char		*example_id;
	char		*example_request;
};

struct metrics_kept {
	char		*line;		/* the capture's JSON object */
	enum verdict	 verdict;
	char		*route;
};

struct metrics {
	pthread_mutex_t		 m_lock;
	struct capture_opts	 m_cap;
	unsigned		 m_max_routes;
	struct strmap		*m_routes;
	struct metrics_route   **m_rv;
	size_t			 m_nr;
	struct metrics_route	 m_other;
	struct metrics_hist	 m_lat[SIDE_MAX];
	uint64_t		 m_errors[SIDE_MAX][METRICS_NREASONS];
	double			 m_answered[SIDE_MAX];	/* wall s of last answer */
	int			 m_secondary;	/* a secondary was seen */
	struct strmap		*m_drifts;
	struct metrics_drift   **m_dv;
	size_t			 m_nd;
	uint64_t		 m_seq;
	struct metrics_kept	*m_ring;
	size_t			 m_keep;
	size_t			 m_ring_next;
	size_t			 m_ring_n;
	struct {
		long		 t;
		uint64_t	 exchanges;
		uint64_t	 divergent;
	}			 m_rate[METRICS_MINUTES];
};

/* A new set of exchange metrics. */
struct metrics *
metrics_new(unsigned max_routes, size_t keep, const struct capture_opts *cap)
{
	struct metrics	*m;

	m = xcalloc(1, sizeof *m);
	pthread_mutex_init(&m->m_lock, NULL);
	m->m_cap = *cap;
	m->m_max_routes = max_routes;
	m->m_routes = strmap_new();
	m->m_drifts = strmap_new();
	m->m_other.name = xstrdup("other");
	m->m_keep = keep;
	m->m_ring = xcalloc(keep != 0 ? keep : 1, sizeof *m->m_ring);
	return (m);
}

/* Free the metrics; nothing may use them any more. */
void
metrics_free(struct metrics *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	for (i = 0; i < m->m_nr; i++) {
		free(m->m_rv[i]->name);
		free(m->m_rv[i]);
	}
	free(m->m_rv);
	free(m->m_other.name);
	for (i = 0; i < m->m_nd; i++) {
		free(m->m_dv[i]->id);
		drift_clear(&m->m_dv[i]->d);
		free(m->m_dv[i]->example_id);
		free(m->m_dv[i]->example_request);
		free(m->m_dv[i]);
	}
	free(m->m_dv);
	for (i = 0; i < m->m_keep; i++) {
		free(m->m_ring[i].line);
		free(m->m_ring[i].route);
	}
	free(m->m_ring);
	strmap_free(m->m_routes);
	strmap_free(m->m_drifts);
	pthread_mutex_destroy(&m->m_lock);
	free(m);
}

/* The route's counters: past --max-routes, the shared "other". */
static struct metrics_route *
metrics_route(struct metrics *m, const char *name)
{
	struct metrics_route	*r;

	if ((r = strmap_get(m->m_routes, name)) != NULL)
		return (r);
	if (m->m_nr >= m->m_max_routes)
		return (&m->m_other);
	r = xcalloc(1, sizeof *r);
	r->name = xstrdup(name);
	strmap_put(m->m_routes, r->name, r);
	m->m_rv = xreallocarray(m->m_rv, m->m_nr + 1, sizeof *m->m_rv);
	m->m_rv[m->m_nr++] = r;
	return (r);
}

static void
metrics_hist_add(struct metrics_hist *h, double s)
{
	size_t	 i;

	for (i = 0; i < METRICS_NBUCKETS; i++)
		if (s <= metrics_buckets[i])
			break;
	h->b[i]++;
	h->sum += s;
	h->n++;
}

/* A drift's record, made on first sight. */
static struct metrics_drift *
metrics_drift(struct metrics *m, const char *id, const struct drift *d)
{
	struct metrics_drift	*md;

	if ((md = strmap_get(m->m_drifts, id)) != NULL)
		return (md);
	md = xcalloc(1, sizeof *md);
	md->id = xstrdup(id);
	drift_copy(&md->d, d);
	strmap_put(m->m_drifts, md->id, md);
	m->m_dv = xreallocarray(m->m_dv, m->m_nd + 1, sizeof *m->m_dv);
	m->m_dv[m->m_nd++] = md;
	return (md);
}

/* The pipeline's consumer: count one compared exchange. */
static void
metrics_on_exchange(void *arg, const struct exchange *ex)
{
	struct metrics			*m = arg;
	const struct response_side	*rs;
	struct metrics_route		*r;
	struct metrics_kept		*k;
	struct metrics_drift		*md;
	json_t				*j;
	char				*route;
	double				 now;
	enum verdict			 v;
	size_t				 i;
	long				 minute;
	int				 side, div;

	v = ex->ex_verdict <= VERDICT_NONE ? ex->ex_verdict : VERDICT_NONE;
	div = verdict_is_divergence(v);
	route = exchange_route(ex);
	now = (double)ex->ex_ts.tv_sec + ex->ex_ts.tv_usec / 1e6;
	j = NULL;
	if (div && m->m_keep != 0)
		j = exchange_to_json(ex, &m->m_cap);

	pthread_mutex_lock(&m->m_lock);
	r = metrics_route(m, route);
	r->verdicts[v]++;
	r->total++;
	if (div)
		r->divergent++;
	if (ex->ex_resp[SIDE_SECONDARY].present)
		m->m_secondary = 1;
	for (side = 0; side < SIDE_MAX; side++) {
		rs = &ex->ex_resp[side];
		if (!rs->present)
			continue;
		if (rs->error != NULL) {
			for (i = 0; i < METRICS_NREASONS - 1; i++)
				if (strcmp(rs->error, metrics_reasons[i]) == 0)
					break;
			m->m_errors[side][i]++;
		} else if (rs->status != 0) {
			m->m_answered[side] = now;
			metrics_hist_add(&r->lat[side], rs->ms / 1000);
			metrics_hist_add(&m->m_lat[side], rs->ms / 1000);
		}
	}

	minute = (long)now / 60 * 60;
	i = (size_t)(minute / 60) % METRICS_MINUTES;
	if (m->m_rate[i].t != minute) {
		m->m_rate[i].t = minute;
		m->m_rate[i].exchanges = m->m_rate[i].divergent = 0;
	}
	m->m_rate[i].exchanges++;
	if (div)
		m->m_rate[i].divergent++;

	for (i = 0; i < ex->ex_ndrifts; i++) {
		md = metrics_drift(m, ex->ex_drifts[i].xd_id,
		    &ex->ex_drifts[i].xd_drift);
		if (md->count == 0)
			md->first_seen = now;
		if (md->example_id == NULL)
			md->example_id = xstrdup(ex->ex_id);
		if (md->state != ex->ex_drifts[i].xd_state || md->seq == 0) {
			md->state = ex->ex_drifts[i].xd_state;
			md->seq = ++m->m_seq;
			md->changed = now;
		}
		md->baselined = ex->ex_drifts[i].xd_baselined;
		md->count++;
		md->last_seen = now;
	}

	if (j != NULL) {
		k = &m->m_ring[m->m_ring_next];
		free(k->line);
		free(k->route);
		k->line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
		k->verdict = v;
		k->route = route;
		route = NULL;
		m->m_ring_next = (m->m_ring_next + 1) % m->m_keep;
		if (m->m_ring_n < m->m_keep)
			m->m_ring_n++;
	}
	pthread_mutex_unlock(&m->m_lock);
	json_decref(j);
	free(route);
}

/* The pipeline consumer that fills m. */
void
metrics_consumer(struct metrics *m, struct consumer *c)
{
	memset(c, 0, sizeof *c);
	c->name = "metrics";
	c->on_exchange = metrics_on_exchange;
	c->arg = m;
}

/* The drift table's listener: transitions, with counts and examples. */
void
metrics_drift_listener(void *arg, const struct drift_event *ev)
{
	struct metrics		*m = arg;
	struct metrics_drift	*md;

	pthread_mutex_lock(&m->m_lock);
	md = metrics_drift(m, ev->id, ev->drift);
	if (md->state != ev->state || md->seq == 0) {
		md->state = ev->state;
		md->seq = ++m->m_seq;
		md->changed = ev->at;
	}
	md->baselined = ev->baselined;
	md->route_total = ev->route_total;
	/*
	 * The exchange that made a NEW or REGRESSED transition reaches the
	 * consumer next and is counted there; the event's count is the
	 * table's, kept only for a drift no exchange of this run carried:
	 * one read from --state, or one resolved before it came back.
	 */
	if (md->count == 0 && (ev->known || ev->state == DRIFT_RESOLVED)) {
		md->count = ev->count;
		md->first_seen = ev->first_seen;
		md->last_seen = ev->last_seen;
	}
	if (ev->example_id != NULL) {
		free(md->example_id);
		md->example_id = xstrdup(ev->example_id);
	}
	if (ev->example_request != NULL) {
		free(md->example_request);
		md->example_request = xstrdup(ev->example_request);
	}
	pthread_mutex_unlock(&m->m_lock);
}

/* When side last answered (wall clock seconds), 0 if never. */
double
metrics_answered(struct metrics *m, int side)
{
	double	 t;

	pthread_mutex_lock(&m->m_lock);
	t = m->m_answered[side];
	pthread_mutex_unlock(&m->m_lock);
	return (t);
}

/* A label value, escaped as the text format wants: \\ \" \n. */
static void
metrics_label(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			buf_addstr(b, "\\\\");
		else if (*s == '"')
			buf_addstr(b, "\\\"");
		else if (*s == '\n')
			buf_addstr(b, "\\n");
		else
			buf_add(b, s, 1);
	}
}

/* A family's # HELP and # TYPE lines. */
void
metrics_family_line(struct buf *b, const char *name, const char *type,
    const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
metrics_hist_render(struct buf *b, const char *side,
    const struct metrics_route *r, const struct metrics_hist *h)
{
	uint64_t	 cum = 0;
	size_t		 i;

	for (i = 0; i <= METRICS_NBUCKETS; i++) {
		cum += h->b[i];
		buf_addstr(b, "paritytap_backend_latency_seconds_bucket{side=\"");
		buf_printf(b, "%s\",route=\"", side);
		metrics_label(b, r->name);
		if (i < METRICS_NBUCKETS)
			buf_printf(b, "\",le=\"%g\"} %llu\n",
			    metrics_buckets[i], (unsigned long long)cum);
		else
			buf_printf(b, "\",le=\"+Inf\"} %llu\n",
			    (unsigned long long)cum);
	}
	buf_printf(b, "paritytap_backend_latency_seconds_sum{side=\"%s\","
	    "route=\"", side);
	metrics_label(b, r->name);
	buf_printf(b, "\"} %.6f\n", h->sum);
	buf_printf(b, "paritytap_backend_latency_seconds_count{side=\"%s\","
	    "route=\"", side);
	metrics_label(b, r->name);
	buf_printf(b, "\"} %llu\n", (unsigned long long)h->n);
}

/* The routes to render: the named ones, then "other" if it counted. */
static size_t
metrics_routes(struct metrics *m, const struct metrics_route ***out)
{
	const struct metrics_route		**v;
	size_t					  n, i;

	v = xreallocarray(NULL, m->m_nr + 1, sizeof *v);
	for (n = 0, i = 0; i < m->m_nr; i++)
		v[n++] = m->m_rv[i];
	if (m->m_other.total != 0)
		v[n++] = &m->m_other;
	*out = v;
	return (n);
}

/* The exchange families of /metrics, appended to b. */
void
metrics_render(struct metrics *m, struct buf *b)
{
	const struct metrics_route **rv;
	uint64_t		 states[DRIFT_REGRESSED + 1];
	size_t			 nr, i, s;
	enum verdict		 v;

	pthread_mutex_lock(&m->m_lock);
	nr = metrics_routes(m, &rv);

	metrics_family_line(b, "paritytap_exchanges_total", "counter",
	    "Exchanges compared, by route and verdict.");
	for (i = 0; i < nr; i++) {
		for (v = 0; v <= VERDICT_NONE; v++) {
			if (rv[i]->verdicts[v] == 0)
				continue;
			buf_addstr(b, "paritytap_exchanges_total{route=\"");
			metrics_label(b, rv[i]->name);
			buf_printf(b, "\",verdict=\"%s\"} %llu\n",
			    verdict_name(v),
			    (unsigned long long)rv[i]->verdicts[v]);
		}
	}

	metrics_family_line(b, "paritytap_backend_latency_seconds", "histogram",
	    "Time from request sent to response complete, by side and "
	    "route.");
	for (i = 0; i < nr; i++)
		for (s = 0; s < SIDE_MAX; s++)
			if (rv[i]->lat[s].n != 0)
				metrics_hist_render(b, side_name(s), rv[i],
				    &rv[i]->lat[s]);

	metrics_family_line(b, "paritytap_backend_errors_total", "counter",
	    "Backend requests that failed, by side and reason.");
	/* The secondary's series once there is one (--secondary). */
	for (s = 0; s < (m->m_secondary ? SIDE_MAX : SIDE_SECONDARY); s++)
		for (i = 0; i < METRICS_NREASONS; i++)
			buf_printf(b, "paritytap_backend_errors_total{side=\"%s\","
			    "reason=\"%s\"} %llu\n", side_name(s),
			    metrics_reasons[i],
			    (unsigned long long)m->m_errors[s][i]);

	memset(states, 0, sizeof states);
	for (i = 0; i < m->m_nd; i++)
		states[m->m_dv[i]->state]++;
	metrics_family_line(b, "paritytap_drifts", "gauge",
	    "Drifts seen this run, by their state now.");
	for (i = 0; i <= DRIFT_REGRESSED; i++)
		buf_printf(b, "paritytap_drifts{state=\"%s\"} %llu\n",
		    drift_state_name(i), (unsigned long long)states[i]);
	pthread_mutex_unlock(&m->m_lock);
	free(rv);
}

/* A percentile in ms from a histogram: the upper bound of its bucket. */
static double
metrics_quantile(const struct metrics_hist *h, double q)
{
	uint64_t	 want, cum = 0;
	size_t		 i;

	if (h->n == 0)
		return (0);
	want = (uint64_t)ceil(q * (double)h->n);
	for (i = 0; i < METRICS_NBUCKETS; i++) {
		cum += h->b[i];
		if (cum >= want)
			return (metrics_buckets[i] * 1000);
	}
	return (metrics_buckets[METRICS_NBUCKETS - 1] * 1000);
}

static json_t *
metrics_verdicts_json(const uint64_t *verdicts)
{
	json_t		*o;
	enum verdict	 v;

	o = json_object();
	for (v = 0; v <= VERDICT_NONE; v++)
		if (verdicts[v] != 0)
			json_object_set_new(o, verdict_name(v),
			    json_integer((json_int_t)verdicts[v]));
	return (o);
}

/*
 * The exchange parts of /api/summary into o: exchanges, verdicts,
 * routes, per-side errors and percentiles (into the backends object),
 * drifts by state and the per-minute rate.
 */
void
metrics_summary(struct metrics *m, json_t *o, json_t *backends)
{
	static const char	*sides[2] = { "primary", "candidate" };
	const struct metrics_route **rv;
	uint64_t		 verdicts[VERDICT_NONE + 1], total = 0;
	uint64_t		 states[DRIFT_REGRESSED + 1], baselined = 0;
	json_t			*a, *r, *e, *side;
	struct timeval		 tv;
	size_t			 nr, i, s;
	long			 minute, t;
	enum verdict		 v;

	memset(verdicts, 0, sizeof verdicts);
	memset(states, 0, sizeof states);
	gettimeofday(&tv, NULL);
	pthread_mutex_lock(&m->m_lock);
	nr = metrics_routes(m, &rv);
	a = json_array();
	for (i = 0; i < nr; i++) {
		for (v = 0; v <= VERDICT_NONE; v++)
			verdicts[v] += rv[i]->verdicts[v];
		total += rv[i]->total;
		r = json_object();
		json_object_set_new(r, "route", json_string(rv[i]->name));
		json_object_set_new(r, "exchanges",
		    json_integer((json_int_t)rv[i]->total));
		json_object_set_new(r, "divergent",
		    json_integer((json_int_t)rv[i]->divergent));
		json_object_set_new(r, "verdicts",
		    metrics_verdicts_json(rv[i]->verdicts));
		json_array_append_new(a, r);
	}
	json_object_set_new(o, "exchanges", json_integer((json_int_t)total));
	json_object_set_new(o, "verdicts", metrics_verdicts_json(verdicts));
	json_object_set_new(o, "failing",
	    json_integer((json_int_t)verdicts_failing(verdicts)));
	json_object_set_new(o, "routes", a);

	for (s = 0; s < 2; s++) {
		side = json_object();
		e = json_object();
		for (i = 0; i < METRICS_NREASONS; i++)
			if (m->m_errors[s][i] != 0)
				json_object_set_new(e, metrics_reasons[i],
				    json_integer(
				    (json_int_t)m->m_errors[s][i]));
		json_object_set_new(side, "errors", e);
		json_object_set_new(side, "p50_ms",
		    json_real(metrics_quantile(&m->m_lat[s], 0.5)));
		json_object_set_new(side, "p99_ms",
		    json_real(metrics_quantile(&m->m_lat[s], 0.99)));
		json_object_set_new(backends, sides[s], side);
	}

	for (i = 0; i < m->m_nd; i++) {
		states[m->m_dv[i]->state]++;
		if (m->m_dv[i]->baselined)
			baselined++;
	}
	e = json_object();
	for (i = 0; i <= DRIFT_REGRESSED; i++)
		json_object_set_new(e, drift_state_name(i),
		    json_integer((json_int_t)states[i]));
	json_object_set_new(e, "baselined", json_integer((json_int_t)baselined));
	json_object_set_new(o, "drifts", e);

	/* One point per minute, the last 60, oldest first, gaps as 0. */
	a = json_array();
	minute = (long)tv.tv_sec / 60 * 60;
	for (t = minute - (METRICS_MINUTES - 1) * 60; t <= minute; t += 60) {
		i = (size_t)(t / 60) % METRICS_MINUTES;
		r = json_object();
		json_object_set_new(r, "t", json_integer(t));
		json_object_set_new(r, "exchanges", json_integer(
		    m->m_rate[i].t == t ? (json_int_t)m->m_rate[i].exchanges :
		    0));
		json_object_set_new(r, "divergent", json_integer(
		    m->m_rate[i].t == t ? (json_int_t)m->m_rate[i].divergent :
		    0));
		json_array_append_new(a, r);
	}
	json_object_set_new(o, "rate", a);
	pthread_mutex_unlock(&m->m_lock);
	free(rv);
}

static int
metrics_drift_newest(const void *a, const void *b)
{
	const struct metrics_drift	*x = *(const struct metrics_drift * const *)a;
	const struct metrics_drift	*y = *(const struct metrics_drift * const *)b;

	return (x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0);
}

/* /api/drifts: newest transition first, state NULL for all. */
json_t *
metrics_drifts(struct metrics *m, const char *state, size_t limit)
{
	struct metrics_drift	**v, *md;
	struct metrics_route	*r;
	json_t			*a, *d, *ex;
	size_t			 i, n;

	a = json_array();
	pthread_mutex_lock(&m->m_lock);
	v = xreallocarray(NULL, m->m_nd + 1, sizeof *v);
	memcpy(v, m->m_dv, m->m_nd * sizeof *v);
	qsort(v, m->m_nd, sizeof *v, metrics_drift_newest);
	for (i = 0, n = 0; i < m->m_nd && n < limit; i++) {
		md = v[i];
		if (state != NULL &&
		    strcmp(state, drift_state_name(md->state)) != 0)
			continue;
		d = json_object();
		json_object_set_new(d, "id", json_string(md->id));
		json_object_set_new(d, "route", json_string(md->d.route));
		json_object_set_new(d, "kind", json_string(md->d.kind));
		json_object_set_new(d, "path", json_string(md->d.path));
		json_object_set_new(d, "side", json_string(md->d.side));
		json_object_set_new(d, "verdict",
		    json_string(verdict_name(md->d.verdict)));
		json_object_set_new(d, "state",
		    json_string(drift_state_name(md->state)));
		json_object_set_new(d, "count",
		    json_integer((json_int_t)md->count));
		/*
		 * The route's exchanges as counted here, with the drift's
		 * count, so that the share holds as both grow; the table's
		 * figure at the last transition for a route counted under
		 * "other".
		 */
		r = strmap_get(m->m_routes, md->d.route);
		json_object_set_new(d, "route_total", json_integer((json_int_t)
		    (r != NULL && r->total >= md->count ? r->total :
		    md->route_total)));
		json_object_set_new(d, "first_seen", json_real(md->first_seen));
		json_object_set_new(d, "last_seen", json_real(md->last_seen));
		json_object_set_new(d, "baselined",
		    json_boolean(md->baselined));
		ex = json_object();
		json_object_set_new(ex, "trace_id", md->example_id != NULL ?
		    json_string(md->example_id) : json_null());
		json_object_set_new(ex, "request", md->example_request !=
		    NULL ? json_string(md->example_request) : json_null());
		json_object_set_new(d, "example", ex);
		json_array_append_new(a, d);
		n++;
	}
	pthread_mutex_unlock(&m->m_lock);
	free(v);
	return (json_pack("{s:o}", "drifts", a));
}

/*
 * /api/exchanges: the kept divergent exchanges, newest first, filtered by
 * verdict and route (NULL: any), as one JSON text.
 */
char *
metrics_exchanges(struct metrics *m, const char *verdict, const char *route,
    size_t limit)
{
	struct buf		 b;
	struct metrics_kept	*k;
	size_t			 i, n, idx;

	buf_init(&b);
	buf_addstr(&b, "{\"exchanges\":[");
	pthread_mutex_lock(&m->m_lock);
	for (i = 0, n = 0; i < m->m_ring_n && n < limit; i++) {
		idx = (m->m_ring_next + m->m_keep - 1 - i) % m->m_keep;
		k = &m->m_ring[idx];
		if (verdict != NULL &&
		    strcmp(verdict, verdict_name(k->verdict)) != 0)
			continue;
		if (route != NULL && strcmp(route, k->route) != 0)
			continue;
		if (n++ != 0)
			buf_addstr(&b, ",");
		buf_addstr(&b, k->line);
	}
	pthread_mutex_unlock(&m->m_lock);
	buf_addstr(&b, "]}\n");
	buf_add(&b, "", 1);
	return (b.data);
}
