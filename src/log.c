/* Logging to stderr, relayd's log.h: warn appends strerror, x does not. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "paritytap.h"

int		 log_verbose;
int		 log_quiet;
static const char *log_name = "paritytap";

static void	log_vwrite(const char *, const char *, va_list, int)
		    printflike(2, 0);

/* Route libevent's own messages through our log. */
static void
log_event_cb(int severity, const char *msg)
{
	if (severity == EVENT_LOG_DEBUG)
		log_debug("libevent: %s", msg);
	else
		log_warnx("libevent: %s", msg);
}

/* Set the name messages are prefixed with. */
void
log_init(const char *name)
{
	if (name != NULL)
		log_name = name;
	event_set_log_callback(log_event_cb);
}

/* Write one message; err is errno to append, or -1. */
static void
log_vwrite(const char *level, const char *fmt, va_list ap, int err)
{
	char	*msg, *line;

	xvasprintf(&msg, fmt, ap);
	if (err >= 0)
		xasprintf(&line, "%s: %s%s: %s\n", log_name, level, msg,
		    strerror(err));
	else
		xasprintf(&line, "%s: %s%s\n", log_name, level, msg);
	/* One write so lines from threads do not interleave. */
	if (write(STDERR_FILENO, line, strlen(line)) < 0)
		(void)0;
	free(line);
	free(msg);
}

/* Warn with strerror(errno) appended. */
void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 err = errno;

	va_start(ap, fmt);
	log_vwrite("", fmt, ap, err);
	va_end(ap);
	errno = err;
}

/* Warn. */
void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;
	int	 err = errno;

	va_start(ap, fmt);
	log_vwrite("", fmt, ap, -1);
	va_end(ap);
	errno = err;
}

/* Informational message, shown with -v. */
void
log_info(const char *fmt, ...)
{
	va_list	 ap;
	int	 err = errno;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	log_vwrite("", fmt, ap, -1);
	va_end(ap);
	errno = err;
}

/* Debug message, shown with -vv. */
void
log_debug(const char *fmt, ...)
{
	va_list	 ap;
	int	 err = errno;

	if (log_verbose < 2)
		return;
	va_start(ap, fmt);
	log_vwrite("debug: ", fmt, ap, -1);
	va_end(ap);
	errno = err;
}

/* Report a broken invariant or out of memory with strerror, and exit. */
void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 err = errno;

	va_start(ap, fmt);
	log_vwrite("fatal: ", fmt, ap, err);
	va_end(ap);
	exit(EXIT_RUNTIME);
}

/* Report a broken invariant and exit. */
void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite("fatal: ", fmt, ap, -1);
	va_end(ap);
	exit(EXIT_RUNTIME);
}
