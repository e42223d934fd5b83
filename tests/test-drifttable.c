/*
 * Unit tests: the drift table's lifecycle by the exchanges' clock (new,
 * ongoing, resolved only by traffic on the route, regressed), the
 * baseline, the state file across a restart, and the files it refuses.
 */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paritytap.h"
#include "tap.h"

/* What the listener saw, one "STATE ID baselined" word list. */
static struct buf	 seen;

static void
listener(void *arg, const struct drift_event *ev)
{
	struct buf	*b = arg;

	buf_printf(b, "%s%s %s %s%s@%.0f#%llu", b->len == 0 ? "" : " | ",
	    drift_state_name(ev->state), ev->drift->path, ev->drift->kind,
	    ev->baselined ? " baselined" : "", ev->at,
	    (unsigned long long)ev->count);
}

/* Take what the listener saw since the last call; allocated. */
static char *
events(void)
{
	char	*s;

	buf_addstr(&seen, "");
	s = xstrdup(seen.data);
	buf_reset(&seen);
	return (s);
}

/*
 * Feed one exchange on route at second sec; flags say which of three
 * drifts it carries ($.a missing, $.b extra, $.c type).  A match
 * otherwise.  Returns the states of its drifts, "new,ongoing".
 */
static char *
feed(struct drift_table *t, const char *route, long sec, int flags)
{
	struct exchange	 ex;
	struct diff	*d;
	struct buf	 b;
	size_t		 i;

	exchange_init(&ex, "replay");
	ex.ex_ts.tv_sec = 1700000000 + sec;
	ex.ex_route = xstrdup(route);
	ex.ex_req.method = xstrdup("GET");
	ex.ex_req.target = xstrdup("/x/1");
	snprintf(ex.ex_id, sizeof ex.ex_id, "trace-%ld", sec);
	ex.ex_resp[SIDE_PRIMARY].present = 1;
	ex.ex_resp[SIDE_CANDIDATE].present = 1;
	ex.ex_verdict = flags != 0 ? VERDICT_SHAPE : VERDICT_MATCH;
	if (flags & 1)
		diff_list_add_name(&ex.ex_diffs, "missing", "$.a", 1);
	if (flags & 2)
		diff_list_add_name(&ex.ex_diffs, "extra", "$.b", 1);
	if (flags & 4) {
		d = diff_list_add_name(&ex.ex_diffs, "type", "$.c", -1);
		d->primary = xstrdup("integer");
		d->candidate = xstrdup("string");
	}
	if (flags & 8)
		ex.ex_verdict = VERDICT_SKIPPED;
	drift_table_exchange(t, &ex);
	buf_init(&b);
	buf_addstr(&b, "");
	for (i = 0; i < ex.ex_ndrifts; i++)
		buf_printf(&b, "%s%s", i == 0 ? "" : ",",
		    drift_state_name(ex.ex_drifts[i].xd_state));
	exchange_free(&ex);
	return (buf_detach(&b));
}

/* Check one feed's states and the events it raised. */
#define FEED(t, route, sec, flags, want_states, want_events, ...) do {	\
	char	*st_ = feed(t, route, sec, flags), *ev_ = events();	\
	is_str(st_, want_states, __VA_ARGS__);				\
	is_str(ev_, want_events, "... events: " __VA_ARGS__);		\
	free(st_);							\
	free(ev_);							\
} while (0)

static struct drift_table *
table(const char *state, const char *baseline, uint64_t resolve_ms)
{
	struct drift_table_opts	 o;
	struct drift_table	*t;
	char			*err = NULL;

	memset(&o, 0, sizeof o);
	o.quiet = 1;
	o.resolve_after_ms = resolve_ms;
	o.state_path = state;
	o.baseline_path = baseline;
	t = drift_table_new(&o, &err);
	if (t == NULL) {
		printf("# drift_table_new: %s\n", err);
		free(err);
		return (NULL);
	}
	drift_table_listen(t, listener, &seen);
	return (t);
}

static void
test_lifecycle(void)
{
	struct drift_table	*t;
	struct drift_counts	 c;
	char			*s;

	if ((t = table(NULL, NULL, 10000)) == NULL) {
		ok(0, "a table");
		return;
	}
	drift_table_counts(t, &c);
	ok(drift_counts_summary(&c) == NULL,
	    "no drift: the summary line says nothing of drifts");
	/* Drifts sort by kind: extra, missing, type(...). */
	FEED(t, "GET /x/{id}", 0, 1, "new", "new $.a missing@1700000000#1",
	    "the first exchange carrying a drift: new");
	FEED(t, "GET /x/{id}", 1, 3, "new,ongoing",
	    "new $.b extra@1700000001#1",
	    "a second drift beside it: new; the first goes on");
	FEED(t, "GET /x/{id}", 2, 3, "ongoing,ongoing", "",
	    "both again: ongoing, no event");
	FEED(t, "GET /x/{id}", 2, 8, "", "", "a skipped exchange: nothing");
	FEED(t, "GET /y", 100, 0, "", "",
	    "traffic on another route resolves nothing");
	FEED(t, "GET /x/{id}", 11, 0, "", "",
	    "9 s of traffic without them: not yet (resolve after 10 s)");
	FEED(t, "GET /x/{id}", 12, 2, "ongoing",
	    "resolved $.a missing@1700000012#3",
	    "10 s after its last sighting, an exchange on its route without "
	    "it resolves $.a");
	FEED(t, "GET /x/{id}", 13, 0, "", "", "... once");
	FEED(t, "GET /x/{id}", 14, 5, "regressed,new",
	    "regressed $.a missing@1700000014#4 | "
	    "new $.c type(integer->string)@1700000014#1",
	    "$.a comes back: regressed; $.c is new");
	FEED(t, "GET /x/{id}", 15, 1, "ongoing", "",
	    "the next sighting: ongoing again");
	FEED(t, "GET /x/{id}", 40, 0, "",
	    "resolved $.a missing@1700000040#5 | "
	    "resolved $.b extra@1700000040#3 | "
	    "resolved $.c type(integer->string)@1700000040#1",
	    "a long quiet spell, then one match: all three resolved");
	drift_table_counts(t, &c);
	is_int(c.drifts, 3, "three drifts known");
	is_int(c.new_this_run, 3, "... all new this run");
	is_int(c.resolved, 3, "... all resolved now");
	is_int(c.events[DRIFT_NEW], 3, "3 NEW transitions");
	is_int(c.events[DRIFT_RESOLVED], 4, "4 RESOLVED transitions");
	is_int(c.events[DRIFT_REGRESSED], 1, "1 REGRESSED transition");
	s = drift_counts_summary(&c);
	is_str(s, "3 drifts (3 new this run, 3 resolved)", "the summary");
	free(s);
	drift_table_free(t);
}

/* 1,000 exchanges, three drifts in all combinations: three NEW. */
static void
test_combinations(void)
{
	struct drift_table	*t;
	char			*s, *e;
	int			 i, news = 0, others = 0;

	if ((t = table(NULL, NULL, 3600000)) == NULL) {
		ok(0, "a table");
		return;
	}
	for (i = 0; i < 1000; i++) {
		s = feed(t, "GET /x/{id}", i, i % 8);
		free(s);
		e = events();
		for (s = e; (s = strstr(s, "new ")) != NULL; s++)
			news++;
		if (*e != '\0' && strncmp(e, "new ", 4) != 0)
			others++;
		free(e);
	}
	is_int(news, 3, "1,000 exchanges, 3 drifts in all combinations: "
	    "3 new");
	is_int(others, 0, "... and no other transition");
	drift_table_free(t);
}

/* A client sending random paths cannot grow the table without end. */
static void
test_full(void)
{
	struct drift_table	*t;
	struct drift_counts	 c;
	char			 route[64], *s;
	int			 i;

	if ((t = table(NULL, NULL, 3600000)) == NULL) {
		ok(0, "a table");
		return;
	}
	for (i = 0; i < 10001; i++) {
		snprintf(route, sizeof route, "GET /r%d", i);
		free(feed(t, route, i, 1));
	}
	free(events());
	drift_table_counts(t, &c);
	is_int(c.drifts, 10000, "the table follows at most 10,000 drifts");
	is_int(c.untracked, 1, "... the next one is counted, not followed");
	s = drift_counts_summary(&c);
	is_str(s, "10000 drifts (10000 new this run, 1 sighting not "
	    "followed: the table was full)", "... and the summary says so");
	free(s);
	drift_table_free(t);
}

static void
test_state_and_baseline(void)
{
	struct drift_table	*t;
	struct drift_counts	 c;
	char			 dir[] = "/tmp/test-drifttable.XXXXXX";
	char			*state, *base, *err, *s;
	struct drift_table_opts	 o;
	FILE			*f;

	if (mkdtemp(dir) == NULL) {
		ok(0, "a temporary directory");
		return;
	}
	xasprintf(&state, "%s/state.json", dir);
	xasprintf(&base, "%s/baseline", dir);

	t = table(state, NULL, 10000);
	ok(t != NULL && access(state, F_OK) == 0,
	    "--state: written at start (the path is writable)");
	if (t == NULL)
		return;
	free(feed(t, "GET /x/{id}", 0, 3));
	free(feed(t, "GET /x/{id}", 20, 0));
	free(feed(t, "GET /x/{id}", 21, 4));
	free(events());
	drift_table_stop(t);
	drift_table_free(t);

	/* The next run knows them. */
	t = table(state, NULL, 10000);
	ok(t != NULL, "the state reads back");
	if (t == NULL)
		return;
	FEED(t, "GET /x/{id}", 22, 4, "ongoing", "",
	    "a drift known from the state: not new again");
	FEED(t, "GET /x/{id}", 23, 1, "regressed",
	    "regressed $.a missing@1700000023#2",
	    "a drift resolved in the state comes back: regressed");
	drift_table_counts(t, &c);
	is_int(c.drifts, 3, "the state's three drifts");
	is_int(c.new_this_run, 0, "... none new this run");
	drift_table_free(t);

	/* A baseline: followed, counted, marked for the listeners. */
	f = fopen(base, "w");
	fputs("# accepted\nGET /x/{id}\textra\t$.b\tcandidate\n", f);
	fclose(f);
	unlink(state);
	t = table(state, base, 10000);
	ok(t != NULL, "a baseline");
	if (t == NULL)
		return;
	FEED(t, "GET /x/{id}", 0, 3, "new,new",
	    "new $.b extra baselined@1700000000#1 | "
	    "new $.a missing@1700000000#1",
	    "a drift in the baseline reaches the listeners as baselined");
	drift_table_counts(t, &c);
	s = drift_counts_summary(&c);
	is_str(s, "2 drifts (1 new this run, 1 in baseline)",
	    "the summary counts it in the baseline");
	free(s);
	drift_table_free(t);

	/* Files that do not parse are errors naming the file. */
	memset(&o, 0, sizeof o);
	o.quiet = 1;
	o.state_path = state;
	f = fopen(state, "w");
	fputs("{\"paritytap_state\":1,\n\"drifts\":[\n{\"route\":\"GET /\"\n",
	    f);
	fclose(f);
	err = NULL;
	ok(drift_table_new(&o, &err) == NULL && err != NULL &&
	    strstr(err, state) != NULL && strstr(err, ":4:") != NULL,
	    "a torn state file: refused, naming the file and line (%s)",
	    err != NULL ? err : "");
	free(err);
	f = fopen(state, "w");
	fputs("{\"paritytap_state\":1,\"drifts\":[{\"route\":\"GET /\","
	    "\"kind\":\"missing\",\"path\":\"$.a\",\"side\":\"candidate\","
	    "\"state\":\"gone\",\"count\":1}]}\n", f);
	fclose(f);
	err = NULL;
	ok(drift_table_new(&o, &err) == NULL && err != NULL &&
	    strstr(err, "drifts[0]") != NULL && strstr(err, "state") != NULL,
	    "an unknown state: refused, naming the drift (%s)",
	    err != NULL ? err : "");
	free(err);
	f = fopen(state, "w");
	fputs("[]\n", f);
	fclose(f);
	err = NULL;
	ok(drift_table_new(&o, &err) == NULL && err != NULL &&
	    strstr(err, "not a paritytap state file") != NULL,
	    "JSON that is not a state file: refused (%s)",
	    err != NULL ? err : "");
	free(err);
	o.state_path = NULL;
	o.baseline_path = base;
	f = fopen(base, "w");
	fputs("# ok\nGET /x missing $.a candidate\n", f);
	fclose(f);
	err = NULL;
	ok(drift_table_new(&o, &err) == NULL && err != NULL &&
	    strstr(err, "--baseline") != NULL && strstr(err, ":2:") != NULL,
	    "a malformed baseline: refused, naming the file and line (%s)",
	    err != NULL ? err : "");
	free(err);

	unlink(state);
	unlink(base);
	xasprintf(&s, "%s.tmp", state);
	unlink(s);
	free(s);
	rmdir(dir);
	free(state);
	free(base);
}

int
main(void)
{
	buf_init(&seen);
	test_lifecycle();
	test_combinations();
	test_full();
	test_state_and_baseline();
	buf_free(&seen);
	return (done_testing());
}
