/*
 * alertfeed: drives the alert channels (src/alert.c) as the drift table
 * of proxy and sniff does, for the alerting tests (tests/t082*.sh).
 *
 *   alertfeed [--primary URL --candidate URL] [--grace DURATION]
 *       [alert options, as proxy's] <EVENTS
 *
 * Each line of stdin is one drift event as a JSON object:
 *   {"state":"new","route":"GET /users/:id","kind":"missing",
 *    "path":"$.email","side":"candidate","verdict":"shape","at":T,
 *    "first_seen":T,"last_seen":T,"count":N,"example_id":"...",
 *    "example_request":"GET /users/42","baselined":false}
 * (times in Unix seconds, now when absent; "id" defaults to drift_id).
 * At the end of stdin the channels are stopped with --grace to send what
 * is left; stdout gets "submitted N" and one line per channel:
 *   CHANNEL sent=N failed=N dropped=N
 * and stderr the proxy's summary part (" · N alerts sent, M failed").
 */

#include <sys/time.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paritytap.h"

struct feed_conf {
	struct options	 o;
	const char	*primary;
	const char	*candidate;
	const char	*host;
	const char	*trace_header;
	uint64_t	 max_body;
	uint64_t	 grace;
};

static const struct options_entry feed_options[] = {
	{ "primary", 'p', "URL", "the pair's primary (the instance label)",
	    NULL },
	{ "candidate", 'C', "URL", "the pair's candidate", NULL },
	{ "grace", 0, "DURATION", "time to send what is left at the end",
	    "10s" },
	{ "config", 0, "FILE", "INI file, [alertfeed]", NULL },
	OPTIONS_ENTRIES_ALERT,
	OPTIONS_ENTRY_HELP,
	OPTIONS_ENTRY_END
};

static void
feed_help(FILE *f)
{
	fputs("usage: alertfeed [OPTIONS] <EVENTS\n\n", f);
	options_help(f, feed_options, 32);
}

static int
feed_set(void *arg, const char *name, const char *value, char **cause)
{
	struct feed_conf	*fc = arg;
	int			 rv;

	if ((rv = options_set(&fc->o, name, value, cause)) != 0)
		return (rv == 1 ? 0 : -1);
	if (strcmp(name, "grace") == 0)
		return (options_duration(name, value, 1000, 0, 3600000,
		    &fc->grace, cause));
	xasprintf(cause, "unknown option '%s'", name);
	return (-1);
}

/* A string member, or dflt. */
static const char *
feed_str(json_t *o, const char *key, const char *dflt)
{
	json_t	*v = json_object_get(o, key);

	return (json_is_string(v) ? json_string_value(v) : dflt);
}

/* A number member, or dflt. */
static double
feed_num(json_t *o, const char *key, double dflt)
{
	json_t	*v = json_object_get(o, key);

	return (json_is_number(v) ? json_number_value(v) : dflt);
}

int
main(int argc, char **argv)
{
	struct feed_conf	 fc;
	struct options_target	 ot;
	struct alerts		*a;
	struct alert_counts	 counts[16];
	struct drift		 d;
	struct drift_event	 ev;
	struct timeval		 tv;
	json_t			*o;
	json_error_t		 jerr;
	char			*line = NULL, *cause, *pair, *s;
	size_t			 cap = 0, n, i;
	ssize_t			 len;
	double			 now;
	unsigned long		 submitted = 0, lineno = 0;
	int			 status;

	log_init("alertfeed");
	memset(&fc, 0, sizeof fc);
	memset(&ot, 0, sizeof ot);
	ot.primary = &fc.primary;
	ot.candidate = &fc.candidate;
	ot.host = &fc.host;
	ot.trace_header = &fc.trace_header;
	ot.max_body = &fc.max_body;
	options_init(&fc.o, "alertfeed", feed_options, &ot);
	fc.grace = 10000;
	if ((status = options_getopt(&fc.o, argc, argv, feed_help)) != -1)
		goto out;
	status = EXIT_USAGE;
	if (options_load(&fc.o, feed_set, &fc) != 0)
		goto out;
	pair = alerts_pair(fc.primary, fc.candidate);
	a = alerts_new(&fc.o.alert, pair, &cause);
	free(pair);
	if (a == NULL) {
		fprintf(stderr, "alertfeed: %s\n", cause != NULL ? cause :
		    "no alert channel asked for");
		free(cause);
		goto out;
	}

	while ((len = getline(&line, &cap, stdin)) != -1) {
		lineno++;
		if (len <= 1)
			continue;
		if ((o = json_loads(line, 0, &jerr)) == NULL ||
		    !json_is_object(o)) {
			fprintf(stderr, "alertfeed: line %lu: %s\n", lineno,
			    jerr.text);
			json_decref(o);
			break;
		}
		gettimeofday(&tv, NULL);
		now = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
		memset(&d, 0, sizeof d);
		memset(&ev, 0, sizeof ev);
		d.route = (char *)feed_str(o, "route", "GET /");
		d.kind = (char *)feed_str(o, "kind", "missing");
		d.path = (char *)feed_str(o, "path", "-");
		d.side = (char *)feed_str(o, "side", "candidate");
		if (verdict_from_name(feed_str(o, "verdict", "shape"),
		    &d.verdict) != 0 || drift_state_parse(feed_str(o,
		    "state", "new"), &ev.state) != 0) {
			fprintf(stderr, "alertfeed: line %lu: bad verdict or "
			    "state\n", lineno);
			json_decref(o);
			break;
		}
		ev.drift = &d;
		ev.id = feed_str(o, "id", NULL);
		ev.baselined = json_is_true(json_object_get(o, "baselined"));
		ev.at = feed_num(o, "at", now);
		ev.first_seen = feed_num(o, "first_seen", ev.at);
		ev.last_seen = feed_num(o, "last_seen", ev.at);
		ev.count = (uint64_t)feed_num(o, "count", 1);
		ev.route_total = (uint64_t)feed_num(o, "route_total", 1);
		ev.example_id = feed_str(o, "example_id", NULL);
		ev.example_request = feed_str(o, "example_request", NULL);
		alerts_listener(a, &ev);
		submitted++;
		json_decref(o);
	}
	free(line);
	printf("submitted %lu\n", submitted);
	fflush(stdout);

	alerts_stop(a, mono_ms() + (double)fc.grace);
	n = alerts_counts(a, counts, sizeof counts / sizeof counts[0]);
	for (i = 0; i < n && i < sizeof counts / sizeof counts[0]; i++)
		printf("%s sent=%llu failed=%llu dropped=%llu\n",
		    counts[i].channel, (unsigned long long)counts[i].sent,
		    (unsigned long long)counts[i].failed,
		    (unsigned long long)counts[i].dropped);
	s = alerts_summary(a);
	fprintf(stderr, "alertfeed:%s\n", s);
	free(s);
	alerts_free(a);
	/* A line it could not read stops it, after what came before. */
	status = len == -1 ? EXIT_OK : EXIT_USAGE;
out:
	options_free(&fc.o);
	return (status);
}
