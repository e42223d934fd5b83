/*
 * Flag lines: each divergent exchange prints one DIVERGE line on stderr
 * as it completes (DESIGN §5), a pipeline consumer.
 *
 * --flag-on chooses the verdicts that print.  --flag-limit N/DURATION
 * keeps a steady drift from flooding the terminal: at most N lines per
 * signature (the report's: verdict, route, sorted folded paths) in a
 * window of DURATION that opens with the signature's first line.  The
 * lines held back are counted; the first line of the signature's next
 * window says how many, and the summary at exit counts them all.  The
 * capture, --events and the drift table still see every exchange.
 *
 * The clock is the exchanges' own (ex_ts), as the drift table's, so a
 * window spans the traffic's time, not the time it took to compare it.
 *
 * Memory is bounded: at most FLAGLINE_SIGNATURES signatures are tracked.
 * When full, those whose window has ended are forgotten; if none has,
 * the new signatures share one more budget of N lines per window.
 */

#include <sys/time.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paritytap.h"

/* Signatures tracked at once. */
#define FLAGLINE_SIGNATURES	10000

/* Every divergent verdict's bit: what --flag-on may name. */
#define FLAGLINE_DIVERGENCES						\
	(VERDICTS_ALL & ~((1u << VERDICT_MATCH) | (1u << VERDICT_SKIPPED) | \
	    (1u << VERDICT_RECORDED)))

/* One signature's window. */
struct flagline_sig {
	char		*key;		/* the signature */
	uint64_t	 start;		/* ms, the window's first line */
	unsigned	 shown;		/* lines printed in the window */
	uint64_t	 held;		/* lines held back in the window */
};

/* The flag line printer. */
struct flagline {
	struct flag_opts	  fo;
	int			  color;
	FILE			 *out;
	struct strmap		 *map;		/* signature -> flagline_sig */
	struct flagline_sig	**sigs;		/* the same, to sweep */
	size_t			  nsigs;
	struct flagline_sig	  over;		/* past FLAGLINE_SIGNATURES */
	uint64_t		  sweep_at;	/* no window ends before */
	_Atomic uint64_t	  held;		/* read by SIGUSR2's summary */
};

/* The defaults: every divergence, 10 lines per signature per 10 s. */
void
flag_opts_init(struct flag_opts *fo)
{
	fo->on = FLAGLINE_DIVERGENCES;
	fo->limit = 10;
	fo->window = 10000;
}

/* Parse --flag-limit: N/DURATION, or 0 for no limit. */
static int
flag_opts_limit(struct flag_opts *fo, const char *name, const char *value,
    char **cause)
{
	const char	*slash;
	char		*n, *why;
	uint64_t	 v, ms;
	int		 rv;

	if (strcmp(value, "0") == 0) {
		fo->limit = 0;
		return (1);
	}
	if ((slash = strchr(value, '/')) == NULL) {
		xasprintf(cause, "--%s: '%s' is not N/DURATION like 10/10s "
		    "(0: no limit)", name, value);
		return (-1);
	}
	n = xstrndup(value, slash - value);
	rv = parse_uint(n, 0, 1000000, &v, &why);
	free(n);
	if (rv != 0)
		return (options_cause(name, why, cause));
	if (options_duration(name, slash + 1, 1000, 1, 7 * 86400000ULL, &ms,
	    cause) != 0)
		return (-1);
	fo->limit = (unsigned)v;
	fo->window = ms;
	return (1);
}

/*
 * Set --flag-on or --flag-limit; return 1 if name was one of them, 0 if
 * not, -1 on error.
 */
int
flag_opts_set(struct flag_opts *fo, const char *name, const char *value,
    char **cause)
{
	unsigned	 on;

	if (strcmp(name, "flag-limit") == 0)
		return (flag_opts_limit(fo, name, value, cause));
	if (strcmp(name, "flag-on") != 0)
		return (0);
	if (strcmp(value, "none") == 0) {
		fo->on = 0;
		return (1);
	}
	if (options_verdicts(name, value, FLAGLINE_DIVERGENCES, &on,
	    cause) != 0)
		return (-1);
	if (on == 0) {
		xasprintf(cause, "--%s: no verdict named (none: no DIVERGE "
		    "line)", name);
		return (-1);
	}
	fo->on = on;
	return (1);
}

/* Create a flag line printer writing to out (stderr, unbuffered). */
struct flagline *
flagline_new(const struct flag_opts *fo, int color, FILE *out)
{
	struct flagline	*fl;

	fl = xcalloc(1, sizeof *fl);
	fl->fo = *fo;
	fl->color = color;
	fl->out = out;
	fl->map = strmap_new();
	atomic_init(&fl->held, 0);
	return (fl);
}

/* Free a printer. */
void
flagline_free(struct flagline *fl)
{
	size_t	 i;

	if (fl == NULL)
		return;
	for (i = 0; i < fl->nsigs; i++) {
		free(fl->sigs[i]->key);
		free(fl->sigs[i]);
	}
	free(fl->sigs);
	strmap_free(fl->map);
	free(fl);
}

/* How many DIVERGE lines --flag-limit held back so far. */
uint64_t
flagline_held(struct flagline *fl)
{
	return (fl != NULL ? atomic_load(&fl->held) : 0);
}

/* Is now outside the window that opened at start? */
static int
flagline_ended(const struct flagline *fl, uint64_t start, uint64_t now)
{
	/* A clock set back by more than a window opens a new one too. */
	return (now >= start + fl->fo.window || now + fl->fo.window <= start);
}

/*
 * The map is full: forget the signatures whose window has ended (their
 * held lines are counted already), at most once per window end.
 */
static void
flagline_sweep(struct flagline *fl, uint64_t now)
{
	struct flagline_sig	*s;
	size_t			 i, j;

	if (now < fl->sweep_at)
		return;
	/* strmap cannot delete: build a new one from the signatures kept. */
	strmap_free(fl->map);
	fl->map = strmap_new();
	fl->sweep_at = UINT64_MAX;
	for (i = j = 0; i < fl->nsigs; i++) {
		s = fl->sigs[i];
		if (flagline_ended(fl, s->start, now)) {
			free(s->key);
			free(s);
			continue;
		}
		if (s->start + fl->fo.window < fl->sweep_at)
			fl->sweep_at = s->start + fl->fo.window;
		strmap_put(fl->map, s->key, s);
		fl->sigs[j++] = s;
	}
	fl->nsigs = j;
}

/* The window of an exchange's signature. */
static struct flagline_sig *
flagline_find(struct flagline *fl, const struct exchange *ex, uint64_t now)
{
	struct flagline_sig	*s;
	char			*key;

	key = report_signature(ex);
	if ((s = strmap_get(fl->map, key)) != NULL) {
		free(key);
		return (s);
	}
	if (fl->nsigs == FLAGLINE_SIGNATURES)
		flagline_sweep(fl, now);
	if (fl->nsigs == FLAGLINE_SIGNATURES) {
		free(key);
		return (&fl->over);
	}
	s = xcalloc(1, sizeof *s);
	s->key = key;
	if (fl->sigs == NULL)
		fl->sigs = xreallocarray(NULL, FLAGLINE_SIGNATURES,
		    sizeof *fl->sigs);
	fl->sigs[fl->nsigs++] = s;
	strmap_put(fl->map, key, s);
	return (s);
}

/*
 * Count an exchange in its signature's window: return 1 if its line
 * prints, with *before set to the lines the previous window held back.
 */
static int
flagline_admit(struct flagline *fl, struct flagline_sig *s, uint64_t now,
    uint64_t *before)
{
	*before = 0;
	if (s->shown == 0 || flagline_ended(fl, s->start, now)) {
		*before = s->held;
		s->start = now;
		s->shown = 0;
		s->held = 0;
		if (now + fl->fo.window < fl->sweep_at)
			fl->sweep_at = now + fl->fo.window;
	}
	if (s->shown < fl->fo.limit) {
		s->shown++;
		return (1);
	}
	s->held++;
	atomic_fetch_add(&fl->held, 1);
	return (0);
}

/* Append a duration in its largest whole unit: "10s", "1h", "250ms". */
static void
flagline_duration(struct buf *b, uint64_t ms)
{
	if (ms % 3600000 == 0)
		buf_printf(b, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms % 60000 == 0)
		buf_printf(b, "%llum", (unsigned long long)(ms / 60000));
	else if (ms % 1000 == 0)
		buf_printf(b, "%llus", (unsigned long long)(ms / 1000));
	else
		buf_printf(b, "%llums", (unsigned long long)ms);
}

/* Print the flag line of a divergent exchange, unless held back. */
static void
flagline_on_exchange(void *arg, const struct exchange *ex)
{
	struct flagline	*fl = arg;
	struct buf	 b;
	char		*line;
	uint64_t	 now, before = 0;

	if (!verdict_is_divergence(ex->ex_verdict) ||
	    (fl->fo.on & (1u << ex->ex_verdict)) == 0)
		return;
	if (fl->fo.limit != 0) {
		now = (uint64_t)ex->ex_ts.tv_sec * 1000 +
		    (uint64_t)ex->ex_ts.tv_usec / 1000;
		if (!flagline_admit(fl, flagline_find(fl, ex, now), now,
		    &before))
			return;
	}
	line = exchange_flag_line(ex, fl->color);
	buf_init(&b);
	buf_addstr(&b, line);
	free(line);
	if (before != 0) {
		buf_printf(&b, " (+%llu more like this in the previous ",
		    (unsigned long long)before);
		flagline_duration(&b, fl->fo.window);
		buf_addstr(&b, ")");
	}
	buf_addstr(&b, "\n");
	/* One write per line: stderr is unbuffered. */
	fwrite(b.data, 1, b.len, fl->out);
	buf_free(&b);
}

/* A printer as a pipeline consumer. */
void
flagline_consumer(struct flagline *fl, struct consumer *c)
{
	memset(c, 0, sizeof *c);
	c->name = "flags";
	c->on_exchange = flagline_on_exchange;
	c->arg = fl;
}
