/* Trace ids, DESIGN §6: taken from the request or minted. */

#include <sys/random.h>
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "paritytap.h"

/* Length of a W3C traceparent version 00 value and of its trace-id. */
#define TRACE_PARENT_LEN	55
#define TRACE_PARENT_ID_LEN	32

/*
 * The last timestamp handed out.  Ids minted in one process get strictly
 * increasing timestamps even when the clock is coarse or steps back, so
 * they are unique and sort in the order they were minted.
 */
static _Atomic uint64_t	 trace_last_ns;

/* Fallback PRNG state, per thread, reseeded after a fork. */
static __thread uint64_t trace_rng_state;
static pthread_once_t	 trace_once = PTHREAD_ONCE_INIT;

/* Return a timestamp in nanoseconds, greater than any returned before. */
static uint64_t
trace_now_ns(void)
{
	struct timespec	 ts;
	uint64_t	 now, last;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	last = atomic_load(&trace_last_ns);
	do {
		if (now <= last)
			now = last + 1;
	} while (!atomic_compare_exchange_weak(&trace_last_ns, &last, now));
	return (now);
}

/* In a forked child, reseed: parent and child must not mint the same ids. */
static void
trace_atfork_child(void)
{
	trace_rng_state = 0;
}

/* Register the fork handler, once. */
static void
trace_init(void)
{
	pthread_atfork(NULL, NULL, trace_atfork_child);
}

/*
 * Return 32 random bits: a per-thread xorshift64* seeded once (and again
 * after a fork) from getrandom(2).  Trace ids need to be unlikely to
 * collide, not unpredictable, and a syscall per request is not free.
 */
static uint32_t
trace_random32(void)
{
	struct timespec	 ts;
	uint64_t	 x = 0;
	ssize_t		 n;

	if (trace_rng_state == 0) {
		pthread_once(&trace_once, trace_init);
		do
			n = getrandom(&x, sizeof x, GRND_NONBLOCK);
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)sizeof x) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
			    ((uint64_t)getpid() << 17) ^
			    (uint64_t)(uintptr_t)&ts;
		}
		trace_rng_state = x != 0 ? x : 0x9e3779b97f4a7c15ULL;
	}
	x = trace_rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	trace_rng_state = x;
	return ((uint32_t)((x * 0x2545f4914f6cdd1dULL) >> 32));
}

/* Mint a time-ordered id, "<16 hex nanoseconds>-<8 hex random>". */
void
trace_mint(char *buf, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	char			 out[26];
	uint64_t		 ns;
	uint32_t		 r;
	size_t			 i, n;

	if (len == 0)
		return;
	ns = trace_now_ns();
	r = trace_random32();
	/* "%016llx-%08x", without a printf for every request. */
	for (i = 0; i < 16; i++)
		out[i] = hex[(ns >> (60 - 4 * i)) & 0xf];
	out[16] = '-';
	for (i = 0; i < 8; i++)
		out[17 + i] = hex[(r >> (28 - 4 * i)) & 0xf];
	out[25] = '\0';
	n = len < sizeof out ? len - 1 : sizeof out - 1;
	memcpy(buf, out, n);
	buf[n] = '\0';
}

/* Is this a character allowed in a trace id taken from a request? */
static int
trace_valid_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return (1);
	return (c != '\0' && strchr("._:/+=-", c) != NULL);
}

/* Is s a plausible trace id: 1 to TRACE_ID_MAX of [A-Za-z0-9._:/+=-]? */
int
trace_valid(const char *s)
{
	size_t	 i;

	if (s == NULL || *s == '\0')
		return (0);
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= TRACE_ID_MAX || !trace_valid_char((unsigned char)s[i]))
			return (0);
	}
	return (1);
}

/* Are the n bytes at s lowercase hex, and (if nonzero) not all zeros? */
static int
trace_lower_hex(const char *s, size_t n, int nonzero)
{
	size_t	 i;
	int	 any = 0;

	for (i = 0; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			any |= s[i] != '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			any = 1;
		else
			return (0);
	}
	return (!nonzero || any);
}

/*
 * Take the trace-id of a W3C traceparent value ("00-<32 hex trace-id>-
 * <16 hex parent-id>-<2 hex flags>"); return 0, or -1 if it is malformed,
 * an id is all zeros, or out is too small.
 */
int
trace_from_traceparent(const char *value, char *out, size_t len)
{
	size_t	 vlen;

	if (value == NULL || len < TRACE_PARENT_ID_LEN + 1)
		return (-1);
	vlen = strlen(value);
	if (vlen < TRACE_PARENT_LEN)
		return (-1);
	if (!trace_lower_hex(value, 2, 0) || strncmp(value, "ff", 2) == 0)
		return (-1);
	/* Version 00 is exactly 55 bytes; later versions may append "-...". */
	if (strncmp(value, "00", 2) == 0 && vlen != TRACE_PARENT_LEN)
		return (-1);
	if (vlen > TRACE_PARENT_LEN && value[TRACE_PARENT_LEN] != '-')
		return (-1);
	if (value[2] != '-' || value[35] != '-' || value[52] != '-')
		return (-1);
	if (!trace_lower_hex(value + 3, TRACE_PARENT_ID_LEN, 1) ||
	    !trace_lower_hex(value + 36, 16, 1) ||
	    !trace_lower_hex(value + 53, 2, 0))
		return (-1);
	memcpy(out, value + 3, TRACE_PARENT_ID_LEN);
	out[TRACE_PARENT_ID_LEN] = '\0';
	return (0);
}

/*
 * Choose a request's trace id: the trace header when it holds a plausible
 * id, else the trace-id of traceparent, else a minted one.
 */
void
trace_choose(const struct headers *hs, const char *name, char *out,
    size_t len)
{
	const char	*v;

	if (len == 0)
		return;
	if (name == NULL)
		name = DEFAULT_TRACE_HEADER;
	if (hs != NULL) {
		v = headers_get(hs, name);
		if (v != NULL && trace_valid(v) && strlen(v) < len) {
			memcpy(out, v, strlen(v) + 1);
			return;
		}
		v = headers_get(hs, "traceparent");
		if (v != NULL && trace_from_traceparent(v, out, len) == 0)
			return;
	}
	trace_mint(out, len);
}
