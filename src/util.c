/* Small shared helpers: byte buffers, header lists, option values. */

#include <sys/resource.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "paritytap.h"

#define THREAD_BACKGROUND_NICE	10

/* Initialise an empty buffer. */
void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Append len bytes; the data stays NUL-terminated for convenience. */
void
buf_add(struct buf *b, const void *data, size_t len)
{
	size_t	 need = b->len + len + 1;

	if (need > b->cap) {
		size_t	 cap = b->cap ? b->cap : 256;

		while (cap < need)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	if (len != 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

/* Append a string. */
void
buf_addstr(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* Append a number in decimal: no printf on a response's hot path. */
void
buf_add_u64(struct buf *b, uint64_t v)
{
	char	 out[20], *p = out + sizeof out;

	do {
		*--p = '0' + v % 10;
		v /= 10;
	} while (v != 0);
	buf_add(b, p, out + sizeof out - p);
}

/* Append formatted text. */
void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	 small[256], *s;
	int	 n;

	/* Most lines are short: format them on the stack, not the heap. */
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("%s: vsnprintf failed", __func__);
	if ((size_t)n < sizeof small) {
		buf_add(b, small, (size_t)n);
		return;
	}
	va_start(ap, fmt);
	n = xvasprintf(&s, fmt, ap);
	va_end(ap);
	buf_add(b, s, (size_t)n);
	free(s);
}

/* Empty a buffer but keep its memory. */
void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* Release a buffer's memory. */
void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

/* Take a buffer's data as a NUL-terminated string; the buffer is emptied. */
char *
buf_detach(struct buf *b)
{
	char	*s;

	if (b->data == NULL)
		return (xstrdup(""));
	s = b->data;
	buf_init(b);
	return (s);
}

/*
 * A block of a header list's arena.  The first, with its own fields, is
 * a 256-byte allocation: a backend's usual response headers fit, and
 * glibc serves blocks that small from its per-thread cache, where a
 * 1 KiB one goes to the shared bins and costs more than the
 * per-header allocations it replaces.  Each next block is twice the
 * last, so a list of any size takes few blocks.
 */
struct headers_block {
	struct headers_block	*next;
	size_t			 used;
	size_t			 size;
	char			 data[];
};

#define HEADERS_BLOCK_FIRST	(256 - sizeof(struct headers_block))
#define HEADERS_BLOCK_MAX	(64 * 1024)

/* Room for len bytes in the list's arena. */
static char *
headers_alloc(struct headers *hs, size_t len)
{
	struct headers_block	*b = hs->blocks;
	size_t			 size;
	char			*p;

	if (b == NULL || b->size - b->used < len) {
		size = b == NULL ? HEADERS_BLOCK_FIRST : b->size * 2;
		if (size > HEADERS_BLOCK_MAX)
			size = HEADERS_BLOCK_MAX;
		if (size < len)
			size = len;
		if (size > SIZE_MAX - sizeof *b)
			fatalx("headers_alloc: %zu bytes", len);
		b = xmalloc(sizeof *b + size);
		b->used = 0;
		b->size = size;
		b->next = hs->blocks;
		hs->blocks = b;
	}
	p = b->data + b->used;
	b->used += len;
	return (p);
}

/*
 * The bytes a header list holds: its array and its arena's blocks, every
 * string in them counted once whatever its length, without reading one.
 */
size_t
headers_bytes(const struct headers *hs)
{
	const struct headers_block	*b;
	size_t				 n = hs->cap * sizeof *hs->h;

	for (b = hs->blocks; b != NULL; b = b->next)
		n += sizeof *b + b->size;
	return (n);
}

/* Copy "name\0value\0" into the arena; the value lives after the name. */
static void
headers_store(struct headers *hs, struct header *h, const char *name,
    size_t nlen, const char *value, size_t vlen)
{
	if (nlen > SIZE_MAX - 2 || vlen > SIZE_MAX - 2 - nlen)
		fatalx("headers_store: header too large");
	h->name = headers_alloc(hs, nlen + vlen + 2);
	memcpy(h->name, name, nlen);
	h->name[nlen] = '\0';
	h->value = h->name + nlen + 1;
	memcpy(h->value, value, vlen);
	h->value[vlen] = '\0';
}

/* Append one header, copying name and value. */
void
headers_add(struct headers *hs, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
	if (hs->n == hs->cap) {
		hs->cap = hs->cap ? hs->cap * 2 : 16;
		hs->h = xreallocarray(hs->h, hs->cap, sizeof *hs->h);
	}
	headers_store(hs, &hs->h[hs->n], name, nlen, value, vlen);
	hs->n++;
}

/*
 * Give header i a new value.  The old bytes stay in the arena until the
 * list is freed; the name is copied beside the new value so that the two
 * stay together, as headers_add keeps them.
 */
void
headers_set_value(struct headers *hs, size_t i, const char *value,
    size_t vlen)
{
	struct header	*h = &hs->h[i];

	headers_store(hs, h, h->name, strlen(h->name), value, vlen);
}

/*
 * Is header name name lit, case aside?  Most names differ from lit in
 * the first letter, told apart here without a call (the 0x20 bit folds
 * ASCII case; the few other bytes it pairs go on to strcasecmp).
 */
int
header_name_is(const char *name, const char *lit)
{
	return (((unsigned char)name[0] | 0x20) ==
	    ((unsigned char)lit[0] | 0x20) && strcasecmp(name, lit) == 0);
}

/* Return the first value of a header (case-insensitive), or NULL. */
const char *
headers_get(const struct headers *hs, const char *name)
{
	size_t	 i;
	int	 c = tolower((unsigned char)name[0]);

	for (i = 0; i < hs->n; i++) {
		if (tolower((unsigned char)hs->h[i].name[0]) == c &&
		    strcasecmp(hs->h[i].name, name) == 0)
			return (hs->h[i].value);
	}
	return (NULL);
}

/* Free a header list. */
void
headers_free(struct headers *hs)
{
	struct headers_block	*b;

	while ((b = hs->blocks) != NULL) {
		hs->blocks = b->next;
		free(b);
	}
	free(hs->h);
	hs->h = NULL;
	hs->n = hs->cap = 0;
}

/* Free the contents of a request. */
void
http_request_free(struct http_request *req)
{
	free(req->method);
	free(req->target);
	headers_free(&req->headers);
	buf_free(&req->body);
	req->method = req->target = NULL;
}

/* Free the contents of a response side. */
void
response_side_free(struct response_side *rs)
{
	free(rs->error_detail);
	free(rs->body_sha256);
	free(rs->body_decoded);
	headers_free(&rs->headers);
	buf_free(&rs->body);
	memset(rs, 0, sizeof *rs);
}

/* Parse a byte count with an optional k/M/G suffix (powers of 1024). */
int
parse_size(const char *s, uint64_t *out, char **cause)
{
	char			*end;
	unsigned long long	 v;
	uint64_t		 mult = 1;

	errno = 0;
	if (*s == '\0' || *s == '-' || !isdigit((unsigned char)*s))
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		goto bad;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		mult = 1024;
		end++;
		break;
	case 'm': case 'M':
		mult = 1024 * 1024;
		end++;
		break;
	case 'g': case 'G':
		mult = 1024ULL * 1024 * 1024;
		end++;
		break;
	default:
		goto bad;
	}
	if ((*end == 'b' || *end == 'B') && end[1] == '\0')
		end++;
	if (*end != '\0' || v > UINT64_MAX / mult)
		goto bad;
	*out = v * mult;
	return (0);
bad:
	xasprintf(cause, "'%s' is not a size (bytes, or a number with k, M "
	    "or G)", s);
	return (-1);
}

/* Parse an unsigned integer within [min, max]. */
int
parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    char **cause)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	if (*s == '\0' || !isdigit((unsigned char)*s))
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		goto bad;
	*out = v;
	return (0);
bad:
	xasprintf(cause, "'%s' is not a number from %llu to %llu", s,
	    (unsigned long long)min, (unsigned long long)max);
	return (-1);
}

/* Parse a rate from 0 to 1 (a fraction, or a percentage like 10%). */
int
parse_rate(const char *s, double *out, char **cause)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno != 0)
		goto bad;
	if (*end == '%') {
		v /= 100;
		end++;
	}
	if (*end != '\0' || !(v >= 0 && v <= 1))
		goto bad;
	*out = v;
	return (0);
bad:
	xasprintf(cause, "'%s' is not a rate from 0 to 1", s);
	return (-1);
}

/*
 * Lower the calling thread's priority by THREAD_BACKGROUND_NICE, for a
 * thread that works ahead of (or behind) an event loop through a queue
 * and whose falling behind only makes the loop wait: on a machine with
 * fewer cores than busy threads, the loop and the backends it waits for
 * then get the CPU first, and the queue keeps this thread fed.  On Linux
 * the nice value is per thread.  Failure changes nothing and is ignored.
 */
void
thread_background(void)
{
	pid_t	 tid = gettid();
	int	 nice;

	errno = 0;
	nice = getpriority(PRIO_PROCESS, (id_t)tid);
	if (nice == -1 && errno != 0)
		return;
	(void)setpriority(PRIO_PROCESS, (id_t)tid,
	    nice + THREAD_BACKGROUND_NICE);
}

/* Return the monotonic clock in milliseconds. */
double
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6);
}

/*
 * The times a capture line can hold: RFC 3339 has four-digit years, so
 * 0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z, in seconds since the epoch.
 */
#define RFC3339_MIN	(-62167219200LL)
#define RFC3339_MAX	(253402300799LL)

/*
 * Return 1 if tv is a time format_rfc3339 writes as it is: microseconds
 * from 0 to 999999 and a year from 0000 to 9999.  A pcap record's header
 * can hold anything (a negative microsecond field, a pcapng time past the
 * year 9999): the readers refuse those here rather than write a line no
 * reader takes back.
 */
int
rfc3339_ok(const struct timeval *tv)
{
	return (tv->tv_usec >= 0 && tv->tv_usec < 1000000 &&
	    (long long)tv->tv_sec >= RFC3339_MIN &&
	    (long long)tv->tv_sec <= RFC3339_MAX);
}

/*
 * Format a wall-clock time as RFC 3339 UTC with microseconds.  A time
 * rfc3339_ok refuses is written as the nearest one it takes, so the line
 * stays readable whatever came in; the sources refuse such times first.
 */
/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ": the years are 0000 to 9999. */
#define RFC3339_LEN	27

static __thread long long	rfc3339_sec;
static __thread char		rfc3339_text[64];	/* room for any int */

void
format_rfc3339(const struct timeval *tv, char *out, size_t len)
{
	struct tm	 tm;
	long long	 sec = tv->tv_sec, usec = tv->tv_usec;
	time_t		 t;
	char		 full[RFC3339_LEN + 1];
	int		 i;

	if (usec < 0 || usec >= 1000000) {
		/* Carry whole seconds, without overflowing at either end. */
		if (sec < RFC3339_MIN)
			sec = RFC3339_MIN - 1;
		else if (sec > RFC3339_MAX)
			sec = RFC3339_MAX + 1;
		sec += usec / 1000000;
		usec %= 1000000;
		if (usec < 0) {
			sec--;
			usec += 1000000;
		}
	}
	if (sec < RFC3339_MIN) {
		sec = RFC3339_MIN;
		usec = 0;
	} else if (sec > RFC3339_MAX) {
		sec = RFC3339_MAX;
		usec = 999999;
	}
	/*
	 * Every capture line has a time, and most fall in the second the
	 * line before did: keep that second's text, per thread.
	 */
	if (sec != rfc3339_sec || rfc3339_text[0] == '\0') {
		t = (time_t)sec;
		if (gmtime_r(&t, &tm) == NULL)
			fatalx("%s: cannot format %lld", __func__, sec);
		/* Not strftime: its %Y does not pad the years before 1000. */
		snprintf(rfc3339_text, sizeof rfc3339_text,
		    "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec);
		rfc3339_sec = sec;
	}
	memcpy(full, rfc3339_text, RFC3339_LEN - 8);
	full[RFC3339_LEN - 8] = '.';
	for (i = 6; i > 0; i--) {
		full[RFC3339_LEN - 8 + i] = (char)('0' + usec % 10);
		usec /= 10;
	}
	full[RFC3339_LEN - 1] = 'Z';
	full[RFC3339_LEN] = '\0';
	if (len > RFC3339_LEN)
		memcpy(out, full, sizeof full);
	else if (len != 0) {
		/* Cut, as snprintf would. */
		memcpy(out, full, len - 1);
		out[len - 1] = '\0';
	}
}

/* Decide whether to use colour for --color WHEN on fd. */
int
use_color(const char *when, int fd, char **cause)
{
	const char	*nc;

	if (when == NULL || strcmp(when, "auto") == 0) {
		nc = getenv("NO_COLOR");
		if (nc != NULL && *nc != '\0')
			return (0);
		return (isatty(fd));
	}
	if (strcmp(when, "always") == 0)
		return (1);
	if (strcmp(when, "never") == 0)
		return (0);
	if (cause != NULL)
		xasprintf(cause, "--color: '%s' is not auto, always or never",
		    when);
	return (-1);
}

/* Append a copy of s to a string list. */
int
strlist_add(char ***list, size_t *n, const char *s)
{
	*list = xreallocarray(*list, *n + 1, sizeof **list);
	(*list)[(*n)++] = xstrdup(s);
	return (0);
}

/* Free a string list. */
void
strlist_free(char ***list, size_t *n)
{
	size_t	 i;

	for (i = 0; i < *n; i++)
		free((*list)[i]);
	free(*list);
	*list = NULL;
	*n = 0;
}

/* Is this a hop-by-hop header, never forwarded (RFC 9110 7.6.1)? */
int
is_hop_by_hop(const char *name)
{
	static const char *hop[] = {
		"Connection", "Keep-Alive", "TE", "Trailer",
		"Transfer-Encoding", "Upgrade", NULL
	};
	size_t	 i;
	int	 c = tolower((unsigned char)name[0]);

	if (c == 'p' && strncasecmp(name, "Proxy-", 6) == 0)
		return (1);
	for (i = 0; hop[i] != NULL; i++) {
		if (tolower((unsigned char)hop[i][0]) == c &&
		    strcasecmp(name, hop[i]) == 0)
			return (1);
	}
	return (0);
}

/*
 * Parse --self-check's RATE, 0 < RATE <= 1, into requests per million:
 * whole numbers, so the sample self_check_pick takes does not depend on
 * how a fraction rounds.
 */
int
parse_self_check(const char *s, unsigned *out, char **cause)
{
	double	 v;
	char	*why;

	if (parse_rate(s, &v, &why) != 0) {
		xasprintf(cause, "--self-check: %s", why);
		free(why);
		return (-1);
	}
	*out = (unsigned)(v * 1000000 + 0.5);
	if (*out == 0) {
		xasprintf(cause, "--self-check: '%s' is not above 0 (at least "
		    "0.000001; leave the option out to turn it off)", s);
		return (-1);
	}
	return (0);
}

/*
 * Is the next eligible request (*n counts them) one --self-check sends
 * twice?  The n-th is when n * RATE reaches a new whole number: with 0.2
 * the 5th, 10th, 15th ...; with 0.5 every second; with 1 each one.  A
 * count, not a coin: the same traffic gives the same sample every run.
 */
int
self_check_pick(unsigned ppm, uint64_t *n)
{
	uint64_t	 k;

	if (ppm == 0)
		return (0);
	k = ++*n;
	return (k * ppm / 1000000 != (k - 1) * ppm / 1000000);
}
