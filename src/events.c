/*
 * The events file (--events FILE|-): divergent exchanges as JSON Lines, a
 * pipeline consumer.  It never blocks the pipeline: the file is written
 * without blocking from a bounded buffer, and what a slow or absent
 * reader cannot take is dropped and counted, said while it happens and
 * at stop.  A FIFO without a reader (at start, or after its reader
 * exits) is opened again each second; SIGHUP and SIGUSR1 reopen the file
 * (after logrotate moved it).
 */

#include <sys/stat.h>

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

/* A compared exchange: queue its line if it diverges, and write. */
static void
events_on_exchange(void *arg, const struct exchange *ex)
{
	struct events	*ev = arg;
	char		*line;
	size_t		 len;

	if (!verdict_is_divergence(ex->ex_verdict))
		return;
	if (ev->ev_fd == -1) {
		ev->ev_dropped++;
		return;
	}
	line = exchange_to_line(ex, ev->ev_copts);
	len = strlen(line);
	if (ev->ev_pending.len + len + 1 > EVENTS_BUFFER) {
		ev->ev_dropped++;
		ev->ev_why = NULL;
	} else {
		buf_add(&ev->ev_pending, line, len);
		buf_add(&ev->ev_pending, "\n", 1);
		ev->ev_written++;
	}
	free(line);
	events_flush(ev);
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
