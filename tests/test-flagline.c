/*
 * Unit tests: the DIVERGE line printer's --flag-on and --flag-limit,
 * driven by the exchanges' own clock (ex_ts): windows that end and the
 * count their next line carries, exchanges out of order, a clock set
 * back, the bound on signatures followed, and the options' parsing.
 */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paritytap.h"
#include "tap.h"

static FILE		*out;
static struct flagline	*fl;
static struct consumer	 con;

/* A printer with --flag-limit limit/window_ms, writing to a temp file. */
static void
start(unsigned limit, uint64_t window_ms, unsigned on)
{
	struct flag_opts	 fo;

	flag_opts_init(&fo);
	fo.limit = limit;
	fo.window = window_ms;
	if (on != 0)
		fo.on = on;
	if ((out = tmpfile()) == NULL)
		abort();
	fl = flagline_new(&fo, 0, out);
	flagline_consumer(fl, &con);
}

/* Hand the printer one exchange: verdict, route, a diff at path, at ms. */
static void
feed(enum verdict v, const char *route, const char *path, uint64_t ms)
{
	struct exchange	 ex;

	exchange_init(&ex, "proxy");
	ex.ex_verdict = v;
	ex.ex_route = xstrdup(route);
	snprintf(ex.ex_id, sizeof ex.ex_id, "t");
	ex.ex_ts.tv_sec = (time_t)(1700000000 + ms / 1000);
	ex.ex_ts.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	ex.ex_resp[SIDE_PRIMARY].present = 1;
	ex.ex_resp[SIDE_PRIMARY].status = 200;
	ex.ex_resp[SIDE_CANDIDATE].present = 1;
	ex.ex_resp[SIDE_CANDIDATE].status = v == VERDICT_STATUS ? 500 : 200;
	if (path != NULL)
		diff_list_add_name(&ex.ex_diffs, "missing", path,
		    SIDE_CANDIDATE);
	con.on_exchange(con.arg, &ex);
	exchange_free(&ex);
}

/* Feed n exchanges of one signature from ms on, one ms apart. */
static void
feed_n(int n, const char *path, uint64_t ms)
{
	int	 i;

	for (i = 0; i < n; i++)
		feed(VERDICT_SHAPE, "GET /a", path, ms + (uint64_t)i);
}

/* What the printer wrote since the last call, as one string (static). */
static const char *
printed(void)
{
	static char	 buf[1 << 20];
	size_t		 n;

	fflush(out);
	rewind(out);
	n = fread(buf, 1, sizeof buf - 1, out);
	buf[n] = '\0';
	if (ftruncate(fileno(out), 0) != 0)
		abort();
	rewind(out);
	return (buf);
}

/* How many lines a string holds. */
static int
nlines(const char *s)
{
	int	 n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return (n);
}

static void
stop(void)
{
	flagline_free(fl);
	fclose(out);
}

static void
test_windows(void)
{
	const char	*s;

	start(3, 10000, 0);
	feed_n(50, "$.a", 0);
	is_int(nlines(printed()), 3, "50 in one window: 3 lines");
	is_int((long long)flagline_held(fl), 47, "... 47 held back");
	feed_n(5, "$.b", 100);
	is_int(nlines(printed()), 3, "another path: its own 3 lines");
	feed(VERDICT_SHAPE, "GET /a", "$.a", 9999);
	is_int(nlines(printed()), 0, "the last ms of the window: held back");
	feed(VERDICT_SHAPE, "GET /a", "$.a", 10000);
	s = printed();
	is_str(s, "DIVERGE shape GET /a id=t status 200=200 $.a "
	    "missing(candidate) (+48 more like this in the previous 10s)\n",
	    "the next window's first line says how many the last held back");
	feed(VERDICT_SHAPE, "GET /a", "$.a", 10001);
	is_str(printed(), "DIVERGE shape GET /a id=t status 200=200 $.a "
	    "missing(candidate)\n", "... the next one says nothing more");
	feed(VERDICT_SHAPE, "GET /a", "$.a", 5000);
	feed(VERDICT_SHAPE, "GET /a", "$.a", 5001);
	s = printed();
	is_int(nlines(s), 1, "completed late, started earlier: in this window");
	is_int((long long)flagline_held(fl), 51,
	    "... the other one held (51 in all, 2 of them $.b's)");
	feed(VERDICT_SHAPE, "GET /a", "$.a", 40000);
	ok(strstr(printed(), "(+1 more like this in the previous 10s)") != NULL,
	    "a window much later still gives the count");
	feed(VERDICT_SHAPE, "GET /a", "$.a", 1000);
	ok(strstr(printed(), "more like this") == NULL,
	    "a clock set back more than a window opens a new one");
	feed(VERDICT_STATUS, "GET /a", NULL, 1000);
	is_int(nlines(printed()), 1, "a status divergence: its own signature");
	stop();
}

static void
test_units(void)
{
	start(1, 250, 0);
	feed_n(2, "$.a", 0);
	feed(VERDICT_SHAPE, "GET /a", "$.a", 250);
	ok(strstr(printed(), "(+1 more like this in the previous 250ms)\n") !=
	    NULL, "a window in ms");
	stop();
	start(1, 3600000, 0);
	feed_n(2, "$.a", 0);
	feed(VERDICT_SHAPE, "GET /a", "$.a", 3600000);
	ok(strstr(printed(), "(+1 more like this in the previous 1h)\n") !=
	    NULL, "a window in hours");
	stop();
}

static void
test_off_and_on(void)
{
	start(0, 10000, 0);
	feed_n(50, "$.a", 0);
	is_int(nlines(printed()), 50, "--flag-limit 0: every line");
	is_int((long long)flagline_held(fl), 0, "... none held back");
	stop();

	start(1, 10000, 1u << VERDICT_STATUS);
	feed_n(5, "$.a", 0);
	is_int(nlines(printed()), 0, "--flag-on status: no shape line");
	is_int((long long)flagline_held(fl), 0,
	    "... and none counted as held back");
	feed(VERDICT_STATUS, "GET /a", NULL, 0);
	feed(VERDICT_STATUS, "GET /a", NULL, 1);
	is_int(nlines(printed()), 1, "... a status line, then one held back");
	feed(VERDICT_MATCH, "GET /a", NULL, 2);
	is_int(nlines(printed()), 0, "a match never prints");
	stop();
}

static void
test_cap(void)
{
	char	 path[64];
	int	 i;

	start(1, 10000, 0);
	for (i = 0; i < 10000; i++) {
		snprintf(path, sizeof path, "$.p%d", i);
		feed(VERDICT_SHAPE, "GET /a", path, 0);
	}
	is_int(nlines(printed()), 10000, "10000 signatures: a line each");
	feed(VERDICT_SHAPE, "GET /a", "$.x", 1);
	feed(VERDICT_SHAPE, "GET /a", "$.y", 2);
	is_int(nlines(printed()), 1,
	    "past the bound, new signatures share one budget");
	is_int((long long)flagline_held(fl), 1, "... the other is counted");
	feed(VERDICT_SHAPE, "GET /a", "$.p0", 3);
	is_int(nlines(printed()), 0, "a signature followed keeps its own");
	feed(VERDICT_SHAPE, "GET /a", "$.z", 10000);
	is_int(nlines(printed()), 1,
	    "once the windows ended, a new signature is followed again");
	feed(VERDICT_SHAPE, "GET /a", "$.z", 10001);
	is_int(nlines(printed()), 0, "... with its own budget");
	feed(VERDICT_SHAPE, "GET /a", "$.w", 10002);
	is_int(nlines(printed()), 1, "... and the next one too");
	stop();
}

static void
test_options(void)
{
	struct flag_opts	 fo;
	char			*cause = NULL;

	flag_opts_init(&fo);
	is_int(fo.limit, 10, "default: 10 lines");
	is_int((long long)fo.window, 10000, "... per 10 s");
	is_int(fo.on & (1u << VERDICT_MATCH), 0, "... on every divergence");
	is_int(fo.on & (1u << VERDICT_SHAPE), 1u << VERDICT_SHAPE,
	    "... shape among them");
	is_int(flag_opts_set(&fo, "flag-limit", "5/2m", &cause), 1, "5/2m");
	is_int(fo.limit, 5, "... 5");
	is_int((long long)fo.window, 120000, "... 2 minutes");
	is_int(flag_opts_set(&fo, "flag-limit", "7/30", &cause), 1,
	    "7/30: a bare number is seconds");
	is_int((long long)fo.window, 30000, "... 30 s");
	is_int(flag_opts_set(&fo, "flag-limit", "0", &cause), 1, "0");
	is_int(fo.limit, 0, "... no limit");
	is_int(flag_opts_set(&fo, "flag-on", "status,value", &cause), 1,
	    "status,value");
	is_int(fo.on, (1u << VERDICT_STATUS) | (1u << VERDICT_VALUE),
	    "... those two");
	is_int(flag_opts_set(&fo, "flag-on", "none", &cause), 1, "none");
	is_int(fo.on, 0, "... no verdict");
	is_int(flag_opts_set(&fo, "flag-on", "recorded", &cause), -1,
	    "recorded: an error");
	is_str(cause, "--flag-on: unknown verdict 'recorded' (one of value, "
	    "header, body, shape, status, both_failed, candidate_error, "
	    "primary_error)", "... naming it and the divergences");
	free(cause);
	cause = NULL;
	is_int(flag_opts_set(&fo, "ignore", "$.a", &cause), 0,
	    "another option: not ours");
}

int
main(void)
{
	test_windows();
	test_units();
	test_off_and_on();
	test_cap();
	test_options();
	return (done_testing());
}
