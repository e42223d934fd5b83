/*
 * Logging to stderr, relayd's log.h: warn appends strerror, x does not.
 * It allocates through libc alone, never through xmalloc.c, whose
 * allocators report failure through fatal and so through this file.
 */

#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
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

/* Append a string to the pieces of a log line. */
static void
log_piece(struct iovec *iov, int *n, const char *s)
{
	iov[*n].iov_base = (void *)(uintptr_t)s;
	iov[*n].iov_len = strlen(s);
	(*n)++;
}

/*
 * Write one message; err is errno to append, or -1.  A message too long
 * for the stack gets a plain malloc (not xmalloc, see above); if that
 * fails too, it is written cut short rather than not at all.
 */
static void
log_vwrite(const char *level, const char *fmt, va_list ap, int err)
{
	char		 small[1024], *msg = small, *big = NULL;
	struct iovec	 iov[7];
	va_list		 ap2;
	int		 len, n = 0;

	va_copy(ap2, ap);
	len = vsnprintf(small, sizeof small, fmt, ap);
	if (len < 0)
		small[0] = '\0';
	else if ((size_t)len >= sizeof small &&
	    (big = malloc((size_t)len + 1)) != NULL) {
		vsnprintf(big, (size_t)len + 1, fmt, ap2);
		msg = big;
	}
	va_end(ap2);

	log_piece(iov, &n, log_name);
	log_piece(iov, &n, ": ");
	log_piece(iov, &n, level);
	log_piece(iov, &n, msg);
	if (err >= 0) {
		log_piece(iov, &n, ": ");
		log_piece(iov, &n, strerror(err));
	}
	log_piece(iov, &n, "\n");
	/* One writev so lines from threads do not interleave. */
	if (writev(STDERR_FILENO, iov, n) < 0)
		(void)0;
	free(big);
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
