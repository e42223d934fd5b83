/*
 * The drift table, DESIGN §5: every drift a run has seen, its state and
 * counts, on the pipeline thread right after the comparison so that the
 * flag lines, the events file and the capture can read an exchange's
 * drifts and their states.
 *
 * A drift's lifecycle: the first exchange that carries it makes it new,
 * the next ones ongoing.  It is resolved once its route has carried
 * traffic for --resolve-after past its last sighting without it, and
 * regressed when it comes back (then ongoing again).  Time is the
 * exchanges' own clock (ex_ts): replaying or sniffing a capture resolves
 * the same way however fast it is read.  Resolution is decided only when
 * an exchange on the drift's route arrives: a route without traffic is no
 * evidence that anything was fixed.
 *
 * Each transition prints one line on stderr (NEW, RESOLVED, REGRESSED)
 * unless quiet, and is handed to the listeners (the alert channels, the
 * events file).  Drifts in the baseline are followed and counted like
 * the others but print nothing, and reach the listeners marked baselined.
 *
 * --state FILE keeps the table across restarts: a drift known from it is
 * not new again.  The file is rewritten whole (FILE.tmp, fsync, rename)
 * at most every --state-interval when something changed, and at stop, so
 * a process killed outright loses at most the last interval.  It is one
 * small file: its write on the pipeline thread costs what a tick costs.
 */

#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paritytap.h"

#define DRIFT_TABLE_LISTENERS	8
#define DRIFT_STATE_VERSION	1
#define DRIFT_REQUEST_MAX	200	/* bytes of an example request line */

/*
 * Routes and drifts come from the traffic, and a client that sends
 * random paths could make either grow without end: past these, a route
 * without drifts is not counted (it has nothing to resolve) and a new
 * drift is not followed (said once, and counted in the summary).
 */
#define DRIFT_TABLE_MAX_ROUTES	10000
#define DRIFT_TABLE_MAX_DRIFTS	10000

struct dt_route;

/* One drift the table follows. */
struct dt_entry {
	struct drift	 de_drift;
	char		 de_id[DRIFT_ID_LEN + 1];
	enum drift_state de_state;
	int		 de_baselined;
	int		 de_this_run;	/* first seen by this run */
	uint64_t	 de_count;
	struct timeval	 de_first;
	struct timeval	 de_last;
	char		*de_example_id;
	char		*de_example_request;
	uint64_t	 de_mark;	/* the exchange that last carried it */
	struct dt_route	*de_route;
};

/* A route: its traffic and its drifts. */
struct dt_route {
	char		 *dr_name;
	uint64_t	  dr_exchanges;
	struct dt_entry	**dr_drifts;
	size_t		  dr_n;
};

struct dt_listener {
	drift_listener_cb	 fn;
	void			*arg;
};

struct drift_table {
	struct drift_table_opts	 t_opts;
	char			*t_state_path;
	struct baseline		*t_baseline;
	struct strmap		*t_by_key;
	struct strmap		*t_by_route;
	struct dt_entry		**t_entries;	/* in order of first sight */
	size_t			 t_n;
	struct dt_route		**t_routes;
	size_t			 t_nroutes;
	struct dt_listener	 t_listeners[DRIFT_TABLE_LISTENERS];
	int			 t_nlisteners;
	uint64_t		 t_serial;	/* exchanges counted */
	uint64_t		 t_events[DRIFT_REGRESSED + 1];
	uint64_t		 t_untracked;	/* sightings of drifts not
						   followed: the table is full */
	int			 t_dirty;	/* changed since the last write */
	double			 t_written_at;	/* mono ms */
	int			 t_write_failed;	/* said once */
	pthread_mutex_t		 t_lock;	/* counts read by any thread */
};

/*
 * Set one drift option; 1 if it was one, 0 if not, -1 with cause on a
 * bad value.  Paths are kept in o.
 */
int
drift_table_option(struct options *o, struct drift_table_opts *dto,
    const char *name, const char *value, char **cause)
{
	if (strcmp(name, "resolve-after") == 0) {
		if (options_duration(name, value, 1000, 1,
		    366ULL * 24 * 3600 * 1000, &dto->resolve_after_ms,
		    cause) != 0)
			return (-1);
	} else if (strcmp(name, "state-interval") == 0) {
		if (options_duration(name, value, 1000, 10, 24ULL * 3600 * 1000,
		    &dto->state_interval_ms, cause) != 0)
			return (-1);
	} else if (strcmp(name, "state") == 0) {
		if (*value == '\0') {
			xasprintf(cause, "--%s: an empty file name", name);
			return (-1);
		}
		dto->state_path = options_keep(o, value);
	} else if (strcmp(name, "baseline") == 0) {
		if (*value == '\0') {
			xasprintf(cause, "--%s: an empty file name", name);
			return (-1);
		}
		dto->baseline_path = options_keep(o, value);
	} else
		return (0);
	return (1);
}

/* A route name as drift keys hold it (drift.c's rule for fields). */
static char *
dt_route_name(const struct exchange *ex)
{
	char	*r, *p;

	r = exchange_route(ex);
	if (*r == '\0') {
		free(r);
		return (xstrdup("-"));
	}
	for (p = r; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return (r);
}

/* Find or add a route. */
static struct dt_route *
dt_route_get(struct drift_table *t, const char *name)
{
	struct dt_route	*r;

	if ((r = strmap_get(t->t_by_route, name)) != NULL)
		return (r);
	r = xcalloc(1, sizeof *r);
	r->dr_name = xstrdup(name);
	strmap_put(t->t_by_route, name, r);
	t->t_routes = xreallocarray(t->t_routes, t->t_nroutes + 1,
	    sizeof *t->t_routes);
	t->t_routes[t->t_nroutes++] = r;
	return (r);
}

/* Add a drift to the table (and to its route); its counts are zero. */
static struct dt_entry *
dt_entry_add(struct drift_table *t, const struct drift *d)
{
	struct dt_entry	*e;
	char		*k;

	e = xcalloc(1, sizeof *e);
	drift_copy(&e->de_drift, d);
	drift_id(d, e->de_id);
	e->de_baselined = baseline_has(t->t_baseline, d);
	e->de_route = dt_route_get(t, d->route);
	k = drift_key(d);
	strmap_put(t->t_by_key, k, e);
	free(k);
	t->t_entries = xreallocarray(t->t_entries, t->t_n + 1,
	    sizeof *t->t_entries);
	t->t_entries[t->t_n++] = e;
	e->de_route->dr_drifts = xreallocarray(e->de_route->dr_drifts,
	    e->de_route->dr_n + 1, sizeof *e->de_route->dr_drifts);
	e->de_route->dr_drifts[e->de_route->dr_n++] = e;
	return (e);
}

static void
dt_entry_free(struct dt_entry *e)
{
	drift_clear(&e->de_drift);
	free(e->de_example_id);
	free(e->de_example_request);
	free(e);
}

/* A time as Unix seconds. */
static double
dt_seconds(const struct timeval *tv)
{
	return ((double)tv->tv_sec + (double)tv->tv_usec / 1e6);
}

/* Milliseconds from a to b (negative if b is earlier). */
static double
dt_ms_between(const struct timeval *a, const struct timeval *b)
{
	return ((double)(b->tv_sec - a->tv_sec) * 1000.0 +
	    (double)(b->tv_usec - a->tv_usec) / 1000.0);
}

/* Keep the exchange as the drift's example. */
static void
dt_example(struct dt_entry *e, const struct exchange *ex)
{
	struct buf	 b;
	char		*p;

	free(e->de_example_id);
	free(e->de_example_request);
	e->de_example_id = xstrdup(ex->ex_id[0] != '\0' ? ex->ex_id : "-");
	buf_init(&b);
	buf_printf(&b, "%s %s", ex->ex_req.method != NULL ?
	    ex->ex_req.method : "-", ex->ex_req.target != NULL ?
	    ex->ex_req.target : "-");
	if (b.len > DRIFT_REQUEST_MAX) {
		b.len = DRIFT_REQUEST_MAX;
		/* Not in the middle of a UTF-8 sequence. */
		while (b.len > 0 &&
		    ((unsigned char)b.data[b.len] & 0xc0) == 0x80)
			b.len--;
		b.data[b.len] = '\0';
	}
	e->de_example_request = buf_detach(&b);
	for (p = e->de_example_request; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	for (p = e->de_example_id; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ' ')
			*p = '?';
	}
}

/*
 * A drift as a flag-line token: "$.email missing(candidate)",
 * "$.id type(integer->string)", "status 200->500", "header:etag",
 * "candidate_error:timeout".
 */
static void
dt_token(struct buf *b, const struct drift *d)
{
	static const char	*sided[] = {
		"missing", "extra", "order", "invalid_json", "duplicate_key",
		"depth", NULL
	};
	size_t			 i;

	if (strcmp(d->path, "-") != 0)
		buf_printf(b, "%s ", d->path);
	buf_addstr(b, d->kind);
	for (i = 0; sided[i] != NULL; i++) {
		if (strcmp(d->kind, sided[i]) == 0 &&
		    strcmp(d->side, "both") != 0) {
			buf_printf(b, "(%s)", d->side);
			break;
		}
	}
}

/*
 * Print a transition on stderr, in the style of the DIVERGE lines:
 * "NEW shape GET /users/{id} $.email missing(candidate) drift=ID id=T".
 */
static void
dt_print(struct drift_table *t, const struct dt_entry *e,
    enum drift_state state)
{
	const char	*word, *esc;
	struct buf	 b;

	switch (state) {
	case DRIFT_NEW:
		word = "NEW";
		esc = "\033[1;31m";
		break;
	case DRIFT_REGRESSED:
		word = "REGRESSED";
		esc = "\033[1;31m";
		break;
	case DRIFT_RESOLVED:
		word = "RESOLVED";
		esc = "\033[1;32m";
		break;
	default:
		return;
	}
	buf_init(&b);
	if (t->t_opts.color)
		buf_printf(&b, "%s%s %s\033[0m ", esc, word,
		    verdict_name(e->de_drift.verdict));
	else
		buf_printf(&b, "%s %s ", word,
		    verdict_name(e->de_drift.verdict));
	buf_printf(&b, "%s ", e->de_drift.route);
	dt_token(&b, &e->de_drift);
	buf_printf(&b, " drift=%s", e->de_id);
	if (state == DRIFT_RESOLVED)
		buf_printf(&b, " seen=%llu", (unsigned long long)e->de_count);
	else
		buf_printf(&b, " id=%s", e->de_example_id != NULL ?
		    e->de_example_id : "-");
	buf_add(&b, "\n", 1);
	/* One write per line: stderr is unbuffered. */
	fputs(b.data, stderr);
	buf_free(&b);
}

/* The event that tells a listener where an entry stands. */
static void
dt_event(const struct dt_entry *e, enum drift_state state,
    const struct timeval *at, struct drift_event *evp)
{
	memset(evp, 0, sizeof *evp);
	evp->drift = &e->de_drift;
	evp->id = e->de_id;
	evp->state = state;
	evp->baselined = e->de_baselined;
	evp->at = dt_seconds(at);
	evp->first_seen = dt_seconds(&e->de_first);
	evp->last_seen = dt_seconds(&e->de_last);
	evp->count = e->de_count;
	evp->route_total = e->de_route->dr_exchanges;
	evp->example_id = e->de_example_id;
	evp->example_request = e->de_example_request;
}

/* A transition: count it, print it, hand it to the listeners. */
static void
dt_transition(struct drift_table *t, struct dt_entry *e,
    enum drift_state state, const struct timeval *at)
{
	struct drift_event	 ev;
	int			 i;

	t->t_events[state]++;
	if (!t->t_opts.quiet && !e->de_baselined)
		dt_print(t, e, state);
	dt_event(e, state, at, &ev);
	for (i = 0; i < t->t_nlisteners; i++)
		t->t_listeners[i].fn(t->t_listeners[i].arg, &ev);
}

/* Free the drifts an exchange carries. */
void
exchange_drifts_free(struct exchange *ex)
{
	size_t	 i;

	for (i = 0; i < ex->ex_ndrifts; i++)
		drift_clear(&ex->ex_drifts[i].xd_drift);
	free(ex->ex_drifts);
	ex->ex_drifts = NULL;
	ex->ex_ndrifts = 0;
}

/*
 * Count one compared exchange: its drifts' sightings and transitions,
 * then the drifts of its route it no longer carries.  The exchange keeps
 * its drifts and their states (ex_drifts) for the consumers.  Pipeline
 * thread.
 */
void
drift_table_exchange(struct drift_table *t, struct exchange *ex)
{
	struct dt_route		*r;
	struct dt_entry		*e;
	struct drift		*v;
	struct exchange_drift	*xd;
	char			*name, *k;
	size_t			 n, i, j;
	int			 evidence;

	exchange_drifts_free(ex);
	switch (ex->ex_verdict) {
	case VERDICT_SKIPPED:
	case VERDICT_RECORDED:
	case VERDICT_NONE:
		return;
	default:
		break;
	}
	/* Only an exchange both sides answered says a drift is gone. */
	evidence = ex->ex_verdict <= VERDICT_STATUS;
	n = drift_extract(ex, &v);
	name = dt_route_name(ex);

	pthread_mutex_lock(&t->t_lock);
	t->t_serial++;
	if (n == 0 && t->t_nroutes >= DRIFT_TABLE_MAX_ROUTES &&
	    strmap_get(t->t_by_route, name) == NULL)
		goto out;
	r = dt_route_get(t, name);
	r->dr_exchanges++;
	t->t_dirty = 1;
	if (n != 0)
		ex->ex_drifts = xcalloc(n, sizeof *ex->ex_drifts);
	for (i = j = 0; i < n; i++) {
		k = drift_key(&v[i]);
		e = strmap_get(t->t_by_key, k);
		free(k);
		if (e == NULL && t->t_n >= DRIFT_TABLE_MAX_DRIFTS) {
			if (t->t_untracked++ == 0)
				log_warnx("the drift table holds %d drifts: new "
				    "ones are not followed (counted in the "
				    "summary)", DRIFT_TABLE_MAX_DRIFTS);
			drift_clear(&v[i]);
			continue;
		}
		if (e == NULL) {
			e = dt_entry_add(t, &v[i]);
			e->de_this_run = 1;
			e->de_count = 1;
			e->de_first = e->de_last = ex->ex_ts;
			e->de_mark = t->t_serial;
			e->de_state = DRIFT_NEW;
			dt_example(e, ex);
			dt_transition(t, e, DRIFT_NEW, &ex->ex_ts);
		} else {
			e->de_count++;
			e->de_mark = t->t_serial;
			if (timercmp(&ex->ex_ts, &e->de_last, >))
				e->de_last = ex->ex_ts;
			/* A verdict from a state file may be unknown. */
			e->de_drift.verdict = v[i].verdict;
			switch (e->de_state) {
			case DRIFT_RESOLVED:
				e->de_state = DRIFT_REGRESSED;
				dt_example(e, ex);
				dt_transition(t, e, DRIFT_REGRESSED,
				    &ex->ex_ts);
				break;
			case DRIFT_NEW:
			case DRIFT_REGRESSED:
				e->de_state = DRIFT_ONGOING;
				break;
			default:
				break;
			}
		}
		xd = &ex->ex_drifts[j++];
		xd->xd_drift = v[i];
		memset(&v[i], 0, sizeof v[i]);
		memcpy(xd->xd_id, e->de_id, sizeof xd->xd_id);
		xd->xd_state = e->de_state;
		xd->xd_baselined = e->de_baselined;
	}
	ex->ex_ndrifts = j;
	if (evidence) {
		for (i = 0; i < r->dr_n; i++) {
			e = r->dr_drifts[i];
			if (e->de_state == DRIFT_RESOLVED ||
			    e->de_mark == t->t_serial)
				continue;
			if (dt_ms_between(&e->de_last, &ex->ex_ts) <
			    (double)t->t_opts.resolve_after_ms)
				continue;
			e->de_state = DRIFT_RESOLVED;
			dt_transition(t, e, DRIFT_RESOLVED, &ex->ex_ts);
		}
	}
out:
	pthread_mutex_unlock(&t->t_lock);
	free(v);
	free(name);
}

/* --- the state file ------------------------------------------------ */

/* A time as the state file writes it; RFC 3339 UTC. */
static json_t *
dt_time_json(const struct timeval *tv)
{
	char	 s[64];

	format_rfc3339(tv, s, sizeof s);
	return (json_string(s));
}

/* One drift of the state file; a new reference. */
static json_t *
dt_entry_json(const struct dt_entry *e)
{
	const struct drift	*d = &e->de_drift;

	return (json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:o, "
	    "s:o, s:{s:s?, s:s?}}",
	    "id", e->de_id, "route", d->route, "kind", d->kind,
	    "path", d->path, "side", d->side,
	    "verdict", verdict_name(d->verdict),
	    "state", drift_state_name(e->de_state),
	    "count", (json_int_t)e->de_count,
	    "first_seen", dt_time_json(&e->de_first),
	    "last_seen", dt_time_json(&e->de_last),
	    "example", "trace_id", e->de_example_id,
	    "request", e->de_example_request));
}

/* Write one compact JSON value and a separator to f; -1 on error. */
static int
dt_write_json(FILE *f, json_t *j, const char *after)
{
	char	*s;
	int	 rv;

	if (j == NULL)
		fatalx("json_pack");
	s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
	json_decref(j);
	if (s == NULL)
		fatalx("json_dumps");
	rv = fprintf(f, "%s%s", s, after) < 0 ? -1 : 0;
	free(s);
	return (rv);
}

/* Flush the directory entry of path (the rename) to disk. */
static void
dt_sync_dir(const char *path)
{
	char	*copy;
	int	 fd;

	copy = xstrdup(path);
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) !=
	    -1) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

/*
 * Write the table to the state file: all of it to FILE.tmp, fsync, then
 * rename over FILE, so that a reader (or the next run after a kill -9)
 * finds the old file or the new one, never a part.  One line per route
 * and per drift.  0, or -1 with cause.
 */
static int
dt_state_write(struct drift_table *t, char **cause)
{
	struct timeval	 now;
	char		*tmp;
	size_t		 i;
	FILE		*f;
	int		 fd, failed = 0;

	xasprintf(&tmp, "%s.tmp", t->t_state_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || (f = fdopen(fd, "w")) == NULL) {
		xasprintf(cause, "--state %s: %s", tmp, strerror(errno));
		if (fd != -1)
			close(fd);
		free(tmp);
		return (-1);
	}
	gettimeofday(&now, NULL);
	fprintf(f, "{\"paritytap_state\":%d,\"written\":", DRIFT_STATE_VERSION);
	dt_write_json(f, dt_time_json(&now), ",\n\"routes\":[\n");
	for (i = 0; i < t->t_nroutes; i++) {
		if (dt_write_json(f, json_pack("{s:s, s:I}", "route",
		    t->t_routes[i]->dr_name, "exchanges",
		    (json_int_t)t->t_routes[i]->dr_exchanges),
		    i + 1 < t->t_nroutes ? ",\n" : "\n") != 0)
			failed = 1;
	}
	fputs("],\n\"drifts\":[\n", f);
	for (i = 0; i < t->t_n; i++) {
		if (dt_write_json(f, dt_entry_json(t->t_entries[i]),
		    i + 1 < t->t_n ? ",\n" : "\n") != 0)
			failed = 1;
	}
	fputs("]}\n", f);
	if (fflush(f) != 0 || ferror(f) || failed || fsync(fileno(f)) != 0) {
		xasprintf(cause, "--state %s: %s", tmp, strerror(errno));
		fclose(f);
		unlink(tmp);
		free(tmp);
		return (-1);
	}
	if (fclose(f) != 0 || rename(tmp, t->t_state_path) != 0) {
		xasprintf(cause, "--state %s: %s", t->t_state_path,
		    strerror(errno));
		unlink(tmp);
		free(tmp);
		return (-1);
	}
	free(tmp);
	dt_sync_dir(t->t_state_path);
	return (0);
}

/* Write the state now if there is one; a failure is said once. */
static void
dt_state_save(struct drift_table *t)
{
	char	*cause;

	if (t->t_state_path == NULL)
		return;
	if (dt_state_write(t, &cause) != 0) {
		if (!t->t_write_failed)
			log_warnx("%s (the drift table is kept in memory; "
			    "trying again each --state-interval)", cause);
		t->t_write_failed = 1;
		free(cause);
	} else {
		if (t->t_write_failed)
			log_info("--state %s: written again", t->t_state_path);
		t->t_write_failed = 0;
		t->t_dirty = 0;
	}
	t->t_written_at = mono_ms();
}

/* A string member of a state file's object, or NULL. */
static const char *
dt_member_string(json_t *o, const char *name)
{
	json_t	*j = json_object_get(o, name);

	return (json_is_string(j) ? json_string_value(j) : NULL);
}

/* A time member of a state file's object; 0, or -1 if absent or bad. */
static int
dt_member_time(json_t *o, const char *name, struct timeval *tv)
{
	const char	*s = dt_member_string(o, name);

	if (s == NULL || capture_parse_ts(s, tv) != 0)
		return (-1);
	return (0);
}

/*
 * Read one drift of the state file into the table; 0, or -1 with why
 * (a static string, or allocated in *whyp).
 */
static int
dt_state_drift(struct drift_table *t, json_t *o, char **why)
{
	static const char	*fields[] = { "route", "kind", "path", "side" };
	struct dt_entry		*e;
	struct drift		 d;
	const char		*f[4], *s, *perr;
	enum drift_state	 state;
	enum verdict		 verdict = VERDICT_NONE;
	json_t			*j;
	char			*line, *k;
	size_t			 i;

	if (!json_is_object(o)) {
		*why = xstrdup("not an object");
		return (-1);
	}
	for (i = 0; i < 4; i++) {
		if ((f[i] = dt_member_string(o, fields[i])) == NULL) {
			xasprintf(why, "no \"%s\" string", fields[i]);
			return (-1);
		}
		if (strchr(f[i], '\t') != NULL || strchr(f[i], '\n') != NULL) {
			xasprintf(why, "\"%s\" holds a tab or a newline",
			    fields[i]);
			return (-1);
		}
	}
	xasprintf(&line, "%s\t%s\t%s\t%s", f[0], f[1], f[2], f[3]);
	if (drift_parse(line, &d, &perr) != 0) {
		xasprintf(why, "%s", perr);
		free(line);
		return (-1);
	}
	free(line);
	if ((s = dt_member_string(o, "state")) == NULL ||
	    drift_state_parse(s, &state) != 0) {
		xasprintf(why, "\"state\" is not new, ongoing, resolved or "
		    "regressed");
		drift_clear(&d);
		return (-1);
	}
	if ((s = dt_member_string(o, "verdict")) != NULL &&
	    verdict_from_name(s, &verdict) != 0)
		verdict = VERDICT_NONE;
	d.verdict = verdict;
	j = json_object_get(o, "count");
	if (!json_is_integer(j) || json_integer_value(j) < 0) {
		xasprintf(why, "\"count\" is not a count");
		drift_clear(&d);
		return (-1);
	}
	k = drift_key(&d);
	if (strmap_get(t->t_by_key, k) != NULL) {
		xasprintf(why, "the drift is listed twice");
		free(k);
		drift_clear(&d);
		return (-1);
	}
	free(k);
	e = dt_entry_add(t, &d);
	drift_clear(&d);
	e->de_state = state;
	e->de_count = (uint64_t)json_integer_value(j);
	if (dt_member_time(o, "first_seen", &e->de_first) != 0 ||
	    dt_member_time(o, "last_seen", &e->de_last) != 0) {
		xasprintf(why, "\"first_seen\" or \"last_seen\" is not an "
		    "RFC 3339 time");
		return (-1);
	}
	j = json_object_get(o, "example");
	if (json_is_object(j)) {
		if ((s = dt_member_string(j, "trace_id")) != NULL)
			e->de_example_id = xstrdup(s);
		if ((s = dt_member_string(j, "request")) != NULL)
			e->de_example_request = xstrdup(s);
	}
	return (0);
}

/*
 * Read the state file into an empty table.  A file that does not exist
 * is a first run; one that does not parse is an error naming the file,
 * the line where it can, and what is wrong: starting empty would alert
 * again on every drift it knew.  0, or -1 with cause.
 */
static int
dt_state_load(struct drift_table *t, char **cause)
{
	const char	*path = t->t_state_path, *name;
	json_error_t	 jerr;
	json_t		*root, *a, *o, *j;
	char		*why = NULL;
	size_t		 i;

	if (access(path, F_OK) != 0 && errno == ENOENT)
		return (0);
	if ((root = json_load_file(path, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		if (jerr.line > 0)
			xasprintf(cause, "--state %s:%d: %s", path,
			    jerr.line, jerr.text);
		else
			xasprintf(cause, "--state %s: %s", path, jerr.text);
		return (-1);
	}
	j = json_object_get(root, "paritytap_state");
	if (!json_is_object(root) || !json_is_integer(j)) {
		xasprintf(cause, "--state %s: not a paritytap state file (no "
		    "\"paritytap_state\" version)", path);
		goto fail;
	}
	if (json_integer_value(j) != DRIFT_STATE_VERSION) {
		xasprintf(cause, "--state %s: version %lld, this paritytap "
		    "reads version %d", path, (long long)json_integer_value(j),
		    DRIFT_STATE_VERSION);
		goto fail;
	}
	a = json_object_get(root, "routes");
	if (a != NULL && !json_is_array(a)) {
		xasprintf(cause, "--state %s: \"routes\" is not an array",
		    path);
		goto fail;
	}
	json_array_foreach(a, i, o) {
		j = json_object_get(o, "exchanges");
		if ((name = dt_member_string(o, "route")) == NULL ||
		    !json_is_integer(j) || json_integer_value(j) < 0) {
			xasprintf(cause, "--state %s: routes[%zu]: not "
			    "{\"route\": NAME, \"exchanges\": N}", path, i);
			goto fail;
		}
		dt_route_get(t, name)->dr_exchanges =
		    (uint64_t)json_integer_value(j);
	}
	a = json_object_get(root, "drifts");
	if (!json_is_array(a)) {
		xasprintf(cause, "--state %s: no \"drifts\" array", path);
		goto fail;
	}
	json_array_foreach(a, i, o) {
		if (dt_state_drift(t, o, &why) != 0) {
			xasprintf(cause, "--state %s: drifts[%zu] (the %zu%s "
			    "drift): %s", path, i, i + 1, i == 0 ? "st" :
			    i == 1 ? "nd" : i == 2 ? "rd" : "th", why);
			free(why);
			goto fail;
		}
	}
	json_decref(root);
	return (0);
fail:
	json_decref(root);
	return (-1);
}

/* --- the table ----------------------------------------------------- */

/*
 * A new drift table: the baseline read, the state file read (and written
 * once, so that a path that cannot be written fails now, not in an
 * hour).  NULL with cause on error.
 */
struct drift_table *
drift_table_new(const struct drift_table_opts *opts, char **cause)
{
	struct drift_table	*t;
	char			*why;

	t = xcalloc(1, sizeof *t);
	t->t_opts = *opts;
	if (t->t_opts.resolve_after_ms == 0)
		t->t_opts.resolve_after_ms = DEFAULT_RESOLVE_AFTER_MS;
	if (t->t_opts.state_interval_ms == 0)
		t->t_opts.state_interval_ms = DEFAULT_STATE_INTERVAL_MS;
	t->t_by_key = strmap_new();
	t->t_by_route = strmap_new();
	pthread_mutex_init(&t->t_lock, NULL);
	if (opts->baseline_path != NULL) {
		if ((t->t_baseline = baseline_load(opts->baseline_path,
		    &why)) == NULL) {
			xasprintf(cause, "--baseline %s", why);
			free(why);
			goto fail;
		}
	}
	if (opts->state_path != NULL) {
		t->t_state_path = xstrdup(opts->state_path);
		if (dt_state_load(t, cause) != 0 ||
		    dt_state_write(t, cause) != 0)
			goto fail;
		t->t_written_at = mono_ms();
	}
	return (t);
fail:
	drift_table_free(t);
	return (NULL);
}

/* Add a listener of the table's transitions (see drift_listener_cb). */
void
drift_table_listen(struct drift_table *t, drift_listener_cb fn, void *arg)
{
	if (t->t_nlisteners == DRIFT_TABLE_LISTENERS)
		fatalx("too many drift listeners");
	t->t_listeners[t->t_nlisteners].fn = fn;
	t->t_listeners[t->t_nlisteners].arg = arg;
	t->t_nlisteners++;
}

/*
 * Tell one listener of every drift the table holds already (those read
 * from --state), as events marked known, so that it can list them before
 * any exchange of this run carries one.  Call before the pipeline runs.
 */
void
drift_table_known(struct drift_table *t, drift_listener_cb fn, void *arg)
{
	struct drift_event	 ev;
	const struct dt_entry	*e;
	size_t			 i;

	pthread_mutex_lock(&t->t_lock);
	for (i = 0; i < t->t_n; i++) {
		e = t->t_entries[i];
		dt_event(e, e->de_state, &e->de_last, &ev);
		ev.known = 1;
		fn(arg, &ev);
	}
	pthread_mutex_unlock(&t->t_lock);
}

/* The pipeline's tick: rewrite the state file if it is due. */
void
drift_table_tick(struct drift_table *t)
{
	if (t->t_state_path == NULL || !t->t_dirty ||
	    mono_ms() - t->t_written_at < (double)t->t_opts.state_interval_ms)
		return;
	pthread_mutex_lock(&t->t_lock);
	dt_state_save(t);
	pthread_mutex_unlock(&t->t_lock);
}

/* The pipeline stops: the state file's last write. */
void
drift_table_stop(struct drift_table *t)
{
	pthread_mutex_lock(&t->t_lock);
	if (t->t_dirty)
		dt_state_save(t);
	pthread_mutex_unlock(&t->t_lock);
}

/* What the table holds now; any thread. */
void
drift_table_counts(struct drift_table *t, struct drift_counts *c)
{
	const struct dt_entry	*e;
	size_t			 i;

	memset(c, 0, sizeof *c);
	pthread_mutex_lock(&t->t_lock);
	c->drifts = t->t_n;
	for (i = 0; i < t->t_n; i++) {
		e = t->t_entries[i];
		if (e->de_baselined)
			c->baselined++;
		else if (e->de_this_run)
			c->new_this_run++;
		if (e->de_state == DRIFT_RESOLVED)
			c->resolved++;
	}
	memcpy(c->events, t->t_events, sizeof c->events);
	c->untracked = t->t_untracked;
	pthread_mutex_unlock(&t->t_lock);
}

/*
 * The summary line's part: "3 drifts (1 new this run, 1 resolved, 1 in
 * baseline)", the parts that are not zero; allocated.  NULL when there
 * is nothing to say: no drift at all.
 */
char *
drift_counts_summary(const struct drift_counts *c)
{
	struct buf	 b;
	const char	*sep = " (";

	if (c->drifts == 0 && c->untracked == 0)
		return (NULL);
	buf_init(&b);
	buf_printf(&b, "%llu drift%s", (unsigned long long)c->drifts,
	    c->drifts == 1 ? "" : "s");
	if (c->new_this_run != 0) {
		buf_printf(&b, "%s%llu new this run", sep,
		    (unsigned long long)c->new_this_run);
		sep = ", ";
	}
	if (c->resolved != 0) {
		buf_printf(&b, "%s%llu resolved", sep,
		    (unsigned long long)c->resolved);
		sep = ", ";
	}
	if (c->baselined != 0) {
		buf_printf(&b, "%s%llu in baseline", sep,
		    (unsigned long long)c->baselined);
		sep = ", ";
	}
	if (c->untracked != 0) {
		buf_printf(&b, "%s%llu sighting%s not followed: the table "
		    "was full", sep, (unsigned long long)c->untracked,
		    c->untracked == 1 ? "" : "s");
		sep = ", ";
	}
	if (*sep == ',')
		buf_addstr(&b, ")");
	return (buf_detach(&b));
}

void
drift_table_free(struct drift_table *t)
{
	size_t	 i;

	if (t == NULL)
		return;
	for (i = 0; i < t->t_n; i++)
		dt_entry_free(t->t_entries[i]);
	free(t->t_entries);
	for (i = 0; i < t->t_nroutes; i++) {
		free(t->t_routes[i]->dr_name);
		free(t->t_routes[i]->dr_drifts);
		free(t->t_routes[i]);
	}
	free(t->t_routes);
	strmap_free(t->t_by_key);
	strmap_free(t->t_by_route);
	baseline_free(t->t_baseline);
	free(t->t_state_path);
	pthread_mutex_destroy(&t->t_lock);
	free(t);
}
