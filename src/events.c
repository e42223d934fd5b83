/*
 * The events file (--events FILE|-): divergent exchanges as JSON Lines, a
 * pipeline consumer.  It never blocks the pipeline: the file is written
 * without blocking from a bounded buffer, and what a slow or absent
 * reader cannot take is dropped and counted, said while it happens and
 * at stop.  A FIFO without a reader (at start, or after its reader
 * exits) is opened again each second; SIGHUP and SIGUSR1 reopen the file
 * (after logrotate moved it).
 *
 * With a drift table, an exchange's line also carries its drifts and
 * their states ("drifts"), and a drift that resolves (a transition no
 * exchange of it carries) is a line of its own, {"event":"drift",...}.
 */

#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paritytap.h"

#define EVENTS_BUFFER		(1024 * 1024)	/* bytes held for a reader */
#define EVENTS_RETRY_MS		1000		/* a FIFO without reader */
#define EVENTS_REPORT_MS	10000		/* drops said this often */

struct events {
	char			*ev_path;	/* NULL: stdout */
	const char		*ev_name;	/* for messages */
	int			 ev_fd;		/* -1: no reader now */
	int			 ev_fifo;
	int			 ev_oflags;	/* stdout's, restored at stop */
	const struct capture_opts *ev_copts;	/* redaction */
	struct buf		 ev_pending;	/* lines not yet written */
	double			 ev_retry_at;
	uint64_t		 ev_written;
	uint64_t		 ev_dropped;
	uint64_t		 ev_said_dropped;
	double			 ev_said_at;
	const char		*ev_why;	/* why lines are dropped */
};

/* Open the events file; 0, or -1 with errno (ENXIO: a FIFO no one reads). */
static int
events_open_fd(struct events *ev)
{
	struct stat	 st;
	int		 fd;

	fd = open(ev->ev_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
	    O_NONBLOCK, 0600);
	if (fd == -1)
		return (-1);
	ev->ev_fifo = fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
	ev->ev_fd = fd;
	return (0);
}

/*
 * Open --events path ("-": stdout) for divergent exchanges, redacted as
 * copts says.  A FIFO nobody reads yet is no error: events are dropped
 * and counted until a reader comes.  NULL with cause on error.
 */
struct events *
events_open(const char *path, const struct capture_opts *copts, char **cause)
{
	struct events	*ev;

	ev = xcalloc(1, sizeof *ev);
	ev->ev_copts = copts;
	ev->ev_fd = -1;
	ev->ev_oflags = -1;
	buf_init(&ev->ev_pending);
	if (strcmp(path, "-") == 0) {
		ev->ev_name = "stdout";
		ev->ev_fd = STDOUT_FILENO;
		if ((ev->ev_oflags = fcntl(STDOUT_FILENO, F_GETFL)) != -1)
			fcntl(STDOUT_FILENO, F_SETFL,
			    ev->ev_oflags | O_NONBLOCK);
		return (ev);
	}
	ev->ev_path = xstrdup(path);
	ev->ev_name = ev->ev_path;
	if (events_open_fd(ev) == 0)
		return (ev);
	if (errno == ENXIO) {
		ev->ev_fifo = 1;
		ev->ev_why = "no reader";
		log_warnx("--events %s: a FIFO with no reader; events are "
		    "dropped and counted until one opens it", path);
		ev->ev_retry_at = mono_ms() + EVENTS_RETRY_MS;
		return (ev);
	}
	xasprintf(cause, "--events %s: %s", path, strerror(errno));
	buf_free(&ev->ev_pending);
	free(ev->ev_path);
	free(ev);
	return (NULL);
}

/* Count the lines in the pending buffer as dropped and empty it. */
static void
events_discard(struct events *ev)
{
	size_t	 i;

	for (i = 0; i < ev->ev_pending.len; i++) {
		if (ev->ev_pending.data[i] == '\n')
			ev->ev_dropped++;
	}
	buf_reset(&ev->ev_pending);
}

/* Close the file: a partly written line cannot be finished anyway. */
static void
events_close_fd(struct events *ev)
{
	if (ev->ev_fd != -1 && ev->ev_path != NULL)
		close(ev->ev_fd);
	ev->ev_fd = -1;
	events_discard(ev);
}

/* Write what the reader takes now, without waiting. */
static void
events_flush(struct events *ev)
{
	ssize_t	 n;
	size_t	 off = 0;

	if (ev->ev_fd == -1)
		return;
	while (off < ev->ev_pending.len) {
		n = write(ev->ev_fd, ev->ev_pending.data + off,
		    ev->ev_pending.len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			if (errno == EPIPE) {
				log_warnx("--events %s: the reader went away; "
				    "events are dropped and counted until "
				    "one opens it again", ev->ev_name);
				ev->ev_why = "no reader";
				ev->ev_retry_at = mono_ms() + EVENTS_RETRY_MS;
			} else {
				log_warn("--events %s: write", ev->ev_name);
				ev->ev_why = strerror(errno);
			}
			events_close_fd(ev);
			return;
		}
		off += n;
	}
	if (off != 0) {
		memmove(ev->ev_pending.data, ev->ev_pending.data + off,
		    ev->ev_pending.len - off);
		ev->ev_pending.len -= off;
	}
}

/* Say how many events were dropped, at most once per EVENTS_REPORT_MS. */
static void
events_report(struct events *ev, int force)
{
	uint64_t	 n = ev->ev_dropped - ev->ev_said_dropped;

	if (n == 0 || (!force && ev->ev_said_at != 0 &&
	    mono_ms() - ev->ev_said_at < EVENTS_REPORT_MS))
		return;
	log_warnx("--events %s: %llu event%s dropped (%s)", ev->ev_name,
	    (unsigned long long)n, n == 1 ? "" : "s",
	    ev->ev_why != NULL ? ev->ev_why : "the reader is not keeping up");
	ev->ev_said_dropped = ev->ev_dropped;
	ev->ev_said_at = mono_ms();
}

/*
 * The "drifts" member of an exchange's line: ,"drifts":[{"id","kind",
 * "path","side","state"},...] (and "baselined":true for a drift in the
 * baseline); allocated.
 */
static char *
events_drifts(const struct exchange *ex)
{
	const struct exchange_drift	*xd;
	json_t				*a, *o;
	char				*s, *out;
	size_t				 i;

	a = json_array();
	for (i = 0; i < ex->ex_ndrifts; i++) {
		xd = &ex->ex_drifts[i];
		o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", xd->xd_id,
		    "kind", xd->xd_drift.kind, "path", xd->xd_drift.path,
		    "side", xd->xd_drift.side, "state",
		    drift_state_name(xd->xd_state));
		if (o == NULL)
			fatalx("json_pack");
		if (xd->xd_baselined)
			json_object_set_new(o, "baselined", json_true());
		json_array_append_new(a, o);
	}
	if ((s = json_dumps(a, JSON_COMPACT | JSON_ENSURE_ASCII)) == NULL)
		fatalx("json_dumps");
	json_decref(a);
	xasprintf(&out, ",\"drifts\":%s}", s);
	free(s);
	return (out);
}

/* Queue one line (without its newline) and write what can be. */
static void
events_queue(struct events *ev, const char *line, size_t len)
{
	if (ev->ev_pending.len + len + 1 > EVENTS_BUFFER) {
		ev->ev_dropped++;
		ev->ev_why = NULL;
	} else {
		buf_add(&ev->ev_pending, line, len);
		buf_add(&ev->ev_pending, "\n", 1);
		ev->ev_written++;
	}
	events_flush(ev);
}

/* A compared exchange: queue its line if it diverges, and write. */
static void
events_on_exchange(void *arg, const struct exchange *ex)
{
	struct events	*ev = arg;
	struct buf	 b;
	char		*line, *drifts;
	size_t		 len;

	if (!verdict_is_divergence(ex->ex_verdict))
		return;
	if (ev->ev_fd == -1) {
		ev->ev_dropped++;
		return;
	}
	line = exchange_to_line(ex, ev->ev_copts);
	len = strlen(line);
	if (ex->ex_ndrifts != 0 && len > 0 && line[len - 1] == '}') {
		/* The capture's line, one member more at its end. */
		drifts = events_drifts(ex);
		buf_init(&b);
		buf_add(&b, line, len - 1);
		buf_addstr(&b, drifts);
		free(drifts);
		free(line);
		line = buf_detach(&b);
		len = strlen(line);
	}
	events_queue(ev, line, len);
	free(line);
}

/* Unix seconds as RFC 3339, as the capture writes times. */
static void
events_time(double secs, char *out, size_t len)
{
	struct timeval	 tv;

	tv.tv_sec = (time_t)secs;
	/* Rounded: a double of Unix seconds holds microseconds only just. */
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6 + 0.5);
	if (tv.tv_usec > 999999)
		tv.tv_usec = 999999;
	format_rfc3339(&tv, out, len);
}

/*
 * A drift table's listener: a drift that resolved, as a line of its own
 * (new and regressed drifts are in the line of the exchange that carried
 * them).  Pipeline thread, as the exchanges' lines.
 */
void
events_drift_listener(void *arg, const struct drift_event *de)
{
	struct events	*ev = arg;
	json_t		*o;
	char		 at[64], first[64], last[64], *line;

	if (de->state != DRIFT_RESOLVED)
		return;
	if (ev->ev_fd == -1) {
		ev->ev_dropped++;
		return;
	}
	events_time(de->at, at, sizeof at);
	events_time(de->first_seen, first, sizeof first);
	events_time(de->last_seen, last, sizeof last);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
	    "s:s, s:I, s:I, s:b}", "event", "drift",
	    "state", drift_state_name(de->state), "ts", at, "id", de->id,
	    "route", de->drift->route, "kind", de->drift->kind,
	    "path", de->drift->path, "side", de->drift->side,
	    "verdict", verdict_name(de->drift->verdict),
	    "first_seen", first, "last_seen", last,
	    "count", (json_int_t)de->count,
	    "route_total", (json_int_t)de->route_total,
	    "baselined", de->baselined);
	if (o == NULL)
		fatalx("json_pack");
	if ((line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII)) == NULL)
		fatalx("json_dumps");
	json_decref(o);
	events_queue(ev, line, strlen(line));
	free(line);
}

/* Every tick: find a FIFO's new reader, write, say what was dropped. */
static void
events_on_tick(void *arg)
{
	struct events	*ev = arg;

	if (ev->ev_fd == -1 && ev->ev_path != NULL &&
	    mono_ms() >= ev->ev_retry_at) {
		if (events_open_fd(ev) == 0) {
			log_info("--events %s: writing again", ev->ev_name);
			ev->ev_why = NULL;
		} else
			ev->ev_retry_at = mono_ms() + EVENTS_RETRY_MS;
	}
	events_flush(ev);
	events_report(ev, 0);
}

/* SIGHUP: write what can be written, then open the path again. */
static void
events_on_reopen(void *arg)
{
	struct events	*ev = arg;

	if (ev->ev_path == NULL)
		return;
	events_flush(ev);
	events_close_fd(ev);
	if (events_open_fd(ev) != 0) {
		if (errno != ENXIO)
			log_warn("--events %s: reopen", ev->ev_name);
		ev->ev_why = errno == ENXIO ? "no reader" : strerror(errno);
		ev->ev_retry_at = mono_ms() + EVENTS_RETRY_MS;
	}
}

/* Stop: one last write without waiting; the rest is counted. */
static void
events_on_stop(void *arg)
{
	struct events	*ev = arg;

	events_flush(ev);
	if (ev->ev_pending.len != 0) {
		ev->ev_why = "the reader was not reading at stop";
		events_discard(ev);
	}
	events_report(ev, 1);
}

/* The events file as a pipeline consumer. */
void
events_consumer(struct events *ev, struct consumer *c)
{
	memset(c, 0, sizeof *c);
	c->name = "events";
	c->on_exchange = events_on_exchange;
	c->on_tick = events_on_tick;
	c->on_reopen = events_on_reopen;
	c->on_stop = events_on_stop;
	c->arg = ev;
}

/* Close the events file and free it; stdout gets its flags back. */
void
events_close(struct events *ev)
{
	if (ev == NULL)
		return;
	if (ev->ev_path == NULL && ev->ev_oflags != -1)
		fcntl(STDOUT_FILENO, F_SETFL, ev->ev_oflags);
	events_close_fd(ev);
	buf_free(&ev->ev_pending);
	free(ev->ev_path);
	free(ev);
}
