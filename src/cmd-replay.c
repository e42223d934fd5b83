/*
 * paritytap replay: re-send captured requests to a candidate (and a live
 * primary), compare, and exit with a CI gate's status.  The engine is
 * replay.c; this file holds the command line, the per-exchange results,
 * the drifts and the reports (summary line, new drifts, --json, --junit).
 *
 * The gate.  Without --baseline an exchange fails when its verdict is in
 * --fail-on.  With one, the differences of the drifts the baseline lists
 * are forgiven: an exchange that carries such a drift is judged by what
 * is left, the most severe of its other drifts and of its differences
 * that are no drift (values, bytes), and fails only if that verdict is in
 * --fail-on too.  So a baseline never fails an exchange that passes
 * without it, an exchange whose drifts are all listed passes unless what
 * else it carries fails (a value difference with --fail-on value), and an
 * exchange that carries no drift at all (both_failed, a byte difference,
 * a skipped one) is judged as before.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "paritytap.h"

#define REPLAY_DEFAULT_FAIL_ON	"status,shape,body,candidate_error"

/* New drifts listed on standard error at the end; --json lists all. */
#define REPLAY_NEW_DRIFTS_SHOWN	10

/* Example ids kept per drift: the smallest, as completion order varies. */
#define REPLAY_DRIFT_EXAMPLES	3

enum replay_junit_per {
	REPLAY_JUNIT_EXCHANGE,
	REPLAY_JUNIT_DRIFT,
	REPLAY_JUNIT_SIGNATURE
};

/* One replayed exchange, as the reports need it. */
struct replay_result {
	char		*rr_id;
	char		*rr_route;
	enum verdict	 rr_verdict;
	enum verdict	 rr_judged;	/* once the baseline forgave its part */
	int		 rr_fails;	/* fails the run */
	int		 rr_by_drift;	/* ... through a new drift */
	char		*rr_line;	/* flag line, or skip reason */
	double		 rr_ms;
	json_t		*rr_diffs;	/* new reference, divergent only */
};

/* One drift the replay saw. */
struct replay_drift {
	struct drift	 rd_drift;
	char		*rd_text;	/* report_drift_text */
	char		 rd_id[DRIFT_ID_LEN + 1];
	int		 rd_baselined;
	int		 rd_failed;	/* an exchange failed on it */
	uint64_t	 rd_count;
	char		*rd_ex[REPLAY_DRIFT_EXAMPLES];
	size_t		 rd_nex;
};

/* The exchanges of one signature (report_signature), for --junit-per. */
struct replay_sig {
	char		*rs_text;
	char		*rs_route;
	enum verdict	 rs_verdict;
	uint64_t	 rs_count;
	uint64_t	 rs_fails;	/* exchanges that fail the run */
	uint64_t	 rs_forgiven;	/* would fail but for the baseline */
	char		*rs_ex[REPLAY_DRIFT_EXAMPLES];
	size_t		 rs_nex;
	char		*rs_fail_id;	/* the smallest failing id */
	char		*rs_fail_line;	/* ... and its flag line */
};

/* Everything the command line and the config file can set. */
struct replay_conf {
	struct options		 o;
	struct replay_opts	 ro;
	const char		*junit;
	enum replay_junit_per	 junit_per;
	int			 have_junit_per;
	int			 json;
	int			 allow_empty;
	unsigned		 fail_on;	/* bit (1 << verdict) */
	const char		*baseline_path;
	struct baseline		*baseline;
	/* Results, filled on the pipeline thread, read after it stopped. */
	struct replay_result	*results;
	size_t			 nresults;
	size_t			 cresults;
	struct strmap		*drift_map;
	struct replay_drift    **drifts;
	size_t			 ndrifts;
	size_t			 nbaselined;
	struct strmap		*sig_map;
	struct replay_sig      **sigs;
	size_t			 nsigs;
};

/* Replay's options; options_set sets the shared ones. */
static const struct options_entry replay_options[] = {
	{ "primary", 'p', "URL", "send each request to this primary too",
	    NULL },
	{ "candidate", 'C', "URL", "the implementation being tested", NULL },
	OPTIONS_ENTRY_SECONDARY,
	OPTIONS_ENTRY_SHADOW,
	OPTIONS_ENTRIES_TLS,
	{ "self-check", 0, "RATE", "with --primary: send this fraction (0 < "
	    "RATE <= 1) of the GET and HEAD requests to the primary a second "
	    "time, recorded as responses.secondary; not with --secondary",
	    NULL },
	{ "concurrency", 0, "N", "requests in flight at most", "16" },
	{ "rate", 0, "N[/s]", "requests started per second", "no limit" },
	{ "filter", 0, "KEY=VALUE", "replay only these (repeatable; values of "
	    "one key are alternatives, keys all apply):\nroute=GLOB "
	    "('POST /v1/*'), method=LIST,\nverdict=LIST (the recorded verdict)",
	    NULL },
	{ "ignore", 0, "JSONPATH",
	    "ignore differences at this path (repeatable)", NULL },
	OPTIONS_ENTRY_IGNORE_HEADER,
	OPTIONS_ENTRY_STRICT_ORDER,
	OPTIONS_ENTRY_LENIENT_NUMBERS,
	OPTIONS_ENTRIES_NOISE,
	OPTIONS_ENTRY_UNORDERED,
	OPTIONS_ENTRY_IGNORE_CT_PARAMS,
	OPTIONS_ENTRY_NORMALIZE,
	{ "fail-on", 0, "LIST", "verdicts that fail the run",
	    REPLAY_DEFAULT_FAIL_ON },
	{ "capture", 'c', "FILE|DIR",
	    "write the replay's exchanges (source replay)", NULL },
	{ "capture-body-limit", 0, "BYTES", "bytes of each body kept in it",
	    "1M" },
	{ "redact-header", 0, "NAME", "also redact this header in the capture",
	    NULL },
	OPTIONS_ENTRY_KEEP_SECRETS,
	OPTIONS_ENTRY_CAPTURE_RAW_BODIES,
	{ "baseline", 0, "FILE", "drifts known and accepted (report --format "
	    "baseline): only the others fail the run", NULL },
	{ "junit", 0, "FILE", "JUnit XML, one testcase per exchange", NULL },
	{ "junit-per", 0, "WHAT", "exchange; drift: one testcase per drift "
	    "(failing when new) and per failing exchange that carries none; "
	    "or signature: one per diff signature (verdict, route, folded "
	    "paths), failing when one of its exchanges fails", "exchange" },
	{ "json", 0, NULL, "a JSON summary on stdout", NULL },
	{ "format", 0, "FORMAT", "text, or json: as --json", "text" },
	{ "timeout", 0, "DURATION", "deadline for each backend (ms if no "
	    "unit)", "5s" },
	{ "primary-timeout", 0, "DURATION", "the primary's own deadline "
	    "(--primary)", "--timeout" },
	{ "candidate-timeout", 0, "DURATION", "the candidate's own deadline",
	    "--timeout" },
	{ "secondary-timeout", 0, "DURATION", "the secondary's own deadline",
	    "--timeout" },
	{ "max-body", 0, "BYTES", "response bytes kept, and decoded from gzip "
	    "or deflate, for comparison", "8M" },
	{ "host", 0, "HOST", "Host header sent", "as recorded" },
	OPTIONS_ENTRY_TRACE_HEADER,
	{ "drop-redacted", 0, NULL, "replay requests whose secrets the "
	    "capture redacted, without those headers", "skip them" },
	{ "set-header", 0, "'NAME: VALUE'", "the value to send for a header "
	    "the capture redacted, $VAR or @FILE for a secret (repeatable)",
	    "skip them" },
	{ "lenient", 0, NULL, "skip malformed capture lines", "exit 2" },
	{ "allow-empty", 0, NULL, "exit 0 when the captures hold no exchange",
	    "exit 2" },
	{ "config", 0, "FILE", "INI file: [replay], [compare],\n"
	    "[route \"METHOD /path\"]; flags win", NULL },
	OPTIONS_ENTRIES_FLAG,
	{ "quiet", 'q', NULL, "no DIVERGE or SKIP lines", NULL },
	{ "verbose", 'v', NULL, "more logging (twice: debug)", NULL },
	OPTIONS_ENTRY_COLOR,
	OPTIONS_ENTRY_HELP,
	OPTIONS_ENTRY_END
};

/* Print replay's --help. */
static void
cmd_replay_help(FILE *f)
{
	fputs(
"usage: paritytap replay [--primary URL] --candidate URL [OPTIONS] CAPTURE...\n"
"\n"
"Send each request recorded in the captures (.jsonl, .jsonl.gz, - for\n"
"stdin) to the candidate and compare its response with the primary's:\n"
"the one recorded in the capture, or, with --primary, a live one.\n"
"\n", f);
	options_help(f, replay_options, 32);
	fputs(
"\n"
"The drifts not in --baseline (all of them without one) are listed on\n"
"stderr at the end.\n"
"\n"
"Exit status: 0 no verdict in --fail-on, 1 divergence (with --baseline:\n"
"one the baseline does not forgive), 2 usage error or malformed capture or\n"
"baseline (FILE:LINE), 3 no backend could be reached.  See paritytap(1).\n",
	    f);
}

/* Parse "--rate N" or "N/s". */
static int
replay_rate(const char *value, double *out, char **cause)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(value, &end);
	if (end != value && strcmp(end, "/s") == 0)
		end += 2;
	if (end == value || *end != '\0' || errno != 0 || !(v > 0) ||
	    v > 1e7) {
		xasprintf(cause, "--rate: '%s' is not a rate like 100 or "
		    "100/s", value);
		return (-1);
	}
	*out = v;
	return (0);
}

/* Parse one --filter KEY=VALUE. */
static int
replay_filter(struct replay_filter *f, const char *value, char **cause)
{
	const char	*eq = strchr(value, '=');
	char		*copy, *tok, *save;
	unsigned	 bits;

	if (eq == NULL || eq[1] == '\0')
		goto bad;
	if (strncmp(value, "route=", 6) == 0)
		strlist_add(&f->routes, &f->nroutes, eq + 1);
	else if (strncmp(value, "method=", 7) == 0) {
		copy = xstrdup(eq + 1);
		for (tok = strtok_r(copy, ", ", &save); tok != NULL;
		    tok = strtok_r(NULL, ", ", &save))
			strlist_add(&f->methods, &f->nmethods, tok);
		free(copy);
	} else if (strncmp(value, "verdict=", 8) == 0) {
		if (options_verdicts("filter", eq + 1, VERDICTS_ALL, &bits,
		    cause) != 0)
			return (-1);
		f->verdicts |= bits;
	} else
		goto bad;
	return (0);
bad:
	xasprintf(cause, "--filter: '%s' is not route=GLOB, method=LIST or "
	    "verdict=LIST", value);
	return (-1);
}

/* Set one option by its long name; value is NULL for flags. */
static int
replay_set(void *arg, const char *name, const char *value, char **cause)
{
	struct replay_conf	*rc = arg;
	uint64_t		 v;
	char			*why, *hname, *hvalue;
	int			 rv;

	if ((rv = options_set(&rc->o, name, value, cause)) != 0)
		return (rv == 1 ? 0 : -1);
	if (strcmp(name, "concurrency") == 0) {
		if (parse_uint(value, 1, 100000, &v, &why) != 0)
			return (options_cause(name, why, cause));
		rc->ro.concurrency = (unsigned)v;
	} else if (strcmp(name, "rate") == 0)
		return (replay_rate(value, &rc->ro.rate, cause));
	else if (strcmp(name, "filter") == 0)
		return (replay_filter(&rc->ro.filter, value, cause));
	else if (strcmp(name, "fail-on") == 0)
		return (options_verdicts(name, value, VERDICTS_ALL,
		    &rc->fail_on, cause));
	else if (strcmp(name, "junit") == 0)
		rc->junit = options_keep(&rc->o, value);
	else if (strcmp(name, "junit-per") == 0) {
		if (strcmp(value, "exchange") == 0)
			rc->junit_per = REPLAY_JUNIT_EXCHANGE;
		else if (strcmp(value, "drift") == 0)
			rc->junit_per = REPLAY_JUNIT_DRIFT;
		else if (strcmp(value, "signature") == 0)
			rc->junit_per = REPLAY_JUNIT_SIGNATURE;
		else {
			xasprintf(cause, "--junit-per: '%s' is not exchange, "
			    "drift or signature", value);
			return (-1);
		}
		rc->have_junit_per = 1;
	} else if (strcmp(name, "baseline") == 0)
		rc->baseline_path = options_keep(&rc->o, value);
	else if (strcmp(name, "json") == 0)
		return (options_bool(name, value, &rc->json, cause));
	else if (strcmp(name, "format") == 0)
		return (options_text_json(name, value, &rc->json, cause));
	else if (strcmp(name, "timeout") == 0)
		return (options_ms(name, value, &rc->ro.timeout, cause));
	else if (strcmp(name, "primary-timeout") == 0)
		return (options_ms(name, value,
		    &rc->ro.side_timeout[SIDE_PRIMARY], cause));
	else if (strcmp(name, "candidate-timeout") == 0)
		return (options_ms(name, value,
		    &rc->ro.side_timeout[SIDE_CANDIDATE], cause));
	else if (strcmp(name, "secondary-timeout") == 0)
		return (options_ms(name, value,
		    &rc->ro.side_timeout[SIDE_SECONDARY], cause));
	else if (strcmp(name, "self-check") == 0)
		return (parse_self_check(value, &rc->ro.self_check, cause));
	else if (strcmp(name, "drop-redacted") == 0)
		return (options_bool(name, value, &rc->ro.drop_redacted,
		    cause));
	else if (strcmp(name, "set-header") == 0) {
		if (options_header(name, value, 1, &hname, &hvalue,
		    cause) != 0)
			return (-1);
		options_shadow_set(&rc->ro.set_headers, hname, hvalue);
		free(hname);
		free(hvalue);
	}
	else if (strcmp(name, "lenient") == 0)
		return (options_bool(name, value, &rc->ro.lenient, cause));
	else if (strcmp(name, "allow-empty") == 0)
		return (options_bool(name, value, &rc->allow_empty, cause));
	else {
		xasprintf(cause, "unknown option '%s'", name);
		return (-1);
	}
	return (0);
}

/* Does this verdict fail the run? */
static int
replay_fails(const struct replay_conf *rc, enum verdict v)
{
	return (v < VERDICT_NONE && (rc->fail_on & (1u << v)) != 0);
}

/* Keep id among a drift's examples if it is one of the smallest. */
static void
replay_drift_example(struct replay_drift *rd, const char *id)
{
	size_t	 i;

	for (i = 0; i < rd->rd_nex; i++) {
		if (strcmp(id, rd->rd_ex[i]) < 0)
			break;
	}
	if (i == REPLAY_DRIFT_EXAMPLES)
		return;
	if (rd->rd_nex == REPLAY_DRIFT_EXAMPLES)
		free(rd->rd_ex[--rd->rd_nex]);
	memmove(&rd->rd_ex[i + 1], &rd->rd_ex[i],
	    (rd->rd_nex - i) * sizeof rd->rd_ex[0]);
	rd->rd_ex[i] = xstrdup(id);
	rd->rd_nex++;
}

/* Count one drift of ex (its strings taken, d left empty); return it. */
static struct replay_drift *
replay_drift_add(struct replay_conf *rc, struct drift *d,
    const struct exchange *ex)
{
	struct replay_drift	*rd;
	char			*key;

	key = drift_key(d);
	if ((rd = strmap_get(rc->drift_map, key)) == NULL) {
		rd = xcalloc(1, sizeof *rd);
		rd->rd_drift = *d;
		memset(d, 0, sizeof *d);
		rd->rd_text = report_drift_text(&rd->rd_drift);
		drift_id(&rd->rd_drift, rd->rd_id);
		rd->rd_baselined = baseline_has(rc->baseline, &rd->rd_drift);
		if (rd->rd_baselined)
			rc->nbaselined++;
		strmap_put(rc->drift_map, key, rd);
		rc->drifts = xreallocarray(rc->drifts, rc->ndrifts + 1,
		    sizeof *rc->drifts);
		rc->drifts[rc->ndrifts++] = rd;
	}
	free(key);
	rd->rd_count++;
	replay_drift_example(rd, ex->ex_id);
	return (rd);
}

/*
 * The verdict of what is left of ex once the baseline forgave the
 * differences of its drifts: the most severe of its new drifts and of its
 * differences that are no drift, never more than its verdict.
 */
static enum verdict
replay_judge(const struct exchange *ex, struct replay_drift **v, size_t n)
{
	const struct diff	*d;
	enum verdict		 w = VERDICT_MATCH, dv;
	size_t			 i;

	for (i = 0; i < n; i++) {
		if (!v[i]->rd_baselined && v[i]->rd_drift.verdict > w)
			w = v[i]->rd_drift.verdict;
	}
	for (i = 0; i < ex->ex_diffs.n; i++) {
		d = &ex->ex_diffs.v[i];
		switch (d->kind) {
		case DIFF_VALUE:
			dv = VERDICT_VALUE;
			break;
		case DIFF_BODY:
			dv = VERDICT_BODY;
			break;
		case DIFF_OTHER:
			/* A kind this version cannot tell: as it was. */
			dv = ex->ex_verdict;
			break;
		default:
			/* A drift's difference, counted above. */
			continue;
		}
		if (dv > w)
			w = dv;
	}
	return (w < ex->ex_verdict ? w : ex->ex_verdict);
}

/*
 * Count the drifts of ex and judge it: set r's judged verdict, whether it
 * fails the run and whether a new drift is why.
 */
static void
replay_judge_exchange(struct replay_conf *rc, const struct exchange *ex,
    struct replay_result *r)
{
	struct replay_drift	**v = NULL;
	struct drift		 *d;
	size_t			  n, i, nbase = 0;

	n = drift_extract(ex, &d);
	if (n != 0)
		v = xreallocarray(NULL, n, sizeof *v);
	for (i = 0; i < n; i++) {
		v[i] = replay_drift_add(rc, &d[i], ex);
		if (v[i]->rd_baselined)
			nbase++;
	}
	drift_free_all(d, n);
	r->rr_judged = nbase != 0 ? replay_judge(ex, v, n) : ex->ex_verdict;
	r->rr_fails = replay_fails(rc, ex->ex_verdict) &&
	    replay_fails(rc, r->rr_judged);
	for (i = 0; r->rr_fails && i < n; i++) {
		if (!v[i]->rd_baselined &&
		    replay_fails(rc, v[i]->rd_drift.verdict)) {
			v[i]->rd_failed = 1;
			r->rr_by_drift = 1;
		}
	}
	free(v);
}

/* Keep id among a signature's examples if it is one of the smallest. */
static void
replay_sig_example(struct replay_sig *rs, const char *id)
{
	size_t	 i;

	for (i = 0; i < rs->rs_nex; i++) {
		if (strcmp(id, rs->rs_ex[i]) < 0)
			break;
	}
	if (i == REPLAY_DRIFT_EXAMPLES)
		return;
	if (rs->rs_nex == REPLAY_DRIFT_EXAMPLES)
		free(rs->rs_ex[--rs->rs_nex]);
	memmove(&rs->rs_ex[i + 1], &rs->rs_ex[i],
	    (rs->rs_nex - i) * sizeof rs->rs_ex[0]);
	rs->rs_ex[i] = xstrdup(id);
	rs->rs_nex++;
}

/* Count a judged exchange under its signature, for --junit-per. */
static void
replay_sig_add(struct replay_conf *rc, const struct exchange *ex,
    const struct replay_result *r)
{
	struct replay_sig	*rs;
	char			*text;

	text = report_signature(ex);
	if ((rs = strmap_get(rc->sig_map, text)) == NULL) {
		rs = xcalloc(1, sizeof *rs);
		rs->rs_text = text;
		rs->rs_route = xstrdup(r->rr_route);
		rs->rs_verdict = ex->ex_verdict;
		strmap_put(rc->sig_map, text, rs);
		rc->sigs = xreallocarray(rc->sigs, rc->nsigs + 1,
		    sizeof *rc->sigs);
		rc->sigs[rc->nsigs++] = rs;
	} else
		free(text);
	rs->rs_count++;
	replay_sig_example(rs, r->rr_id);
	if (r->rr_fails) {
		rs->rs_fails++;
		if (rs->rs_fail_id == NULL ||
		    strcmp(r->rr_id, rs->rs_fail_id) < 0) {
			free(rs->rs_fail_id);
			free(rs->rs_fail_line);
			rs->rs_fail_id = xstrdup(r->rr_id);
			rs->rs_fail_line = xstrdup(r->rr_line != NULL ?
			    r->rr_line : "");
		}
	} else if (replay_fails(rc, r->rr_verdict))
		rs->rs_forgiven++;
}

/* A pipeline consumer: keep what the reports need of one exchange. */
static void
replay_on_exchange(void *arg, const struct exchange *ex)
{
	struct replay_conf	*rc = arg;
	struct replay_result	*r;
	json_t			*obj;

	if (rc->nresults == rc->cresults) {
		rc->cresults = rc->cresults ? rc->cresults * 2 : 256;
		rc->results = xreallocarray(rc->results, rc->cresults,
		    sizeof *rc->results);
	}
	r = &rc->results[rc->nresults++];
	memset(r, 0, sizeof *r);
	r->rr_verdict = ex->ex_verdict;
	replay_judge_exchange(rc, ex, r);
	/* The CI reports only need detail on the exchanges that fail. */
	if (rc->junit == NULL && !rc->json && !r->rr_fails)
		return;
	r->rr_id = xstrdup(ex->ex_id);
	r->rr_route = xstrdup(ex->ex_route != NULL ? ex->ex_route : "?");
	r->rr_ms = ex->ex_resp[SIDE_CANDIDATE].ms;
	if (ex->ex_verdict == VERDICT_SKIPPED)
		r->rr_line = xstrdup(ex->ex_skip_reason != NULL ?
		    ex->ex_skip_reason : "");
	else if (verdict_is_divergence(ex->ex_verdict)) {
		r->rr_line = exchange_flag_line(ex, 0);
		obj = exchange_to_json(ex, &rc->o.cap);
		r->rr_diffs = json_incref(json_object_get(obj, "diffs"));
		json_decref(obj);
	}
	if (rc->junit_per == REPLAY_JUNIT_SIGNATURE)
		replay_sig_add(rc, ex, r);
}

/* Order results by id, so reports do not depend on completion order. */
static int
replay_result_cmp(const void *a, const void *b)
{
	const struct replay_result	*ra = a, *rb = b;

	if (ra->rr_id == NULL || rb->rr_id == NULL)
		return ((ra->rr_id == NULL) - (rb->rr_id == NULL));
	return (strcmp(ra->rr_id, rb->rr_id));
}

/* Append s to b with XML's special characters escaped. */
static void
replay_xml(struct buf *b, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '<':
			buf_addstr(b, "&lt;");
			break;
		case '>':
			buf_addstr(b, "&gt;");
			break;
		case '&':
			buf_addstr(b, "&amp;");
			break;
		case '"':
			buf_addstr(b, "&quot;");
			break;
		default:
			/* XML 1.0 has no control characters but tab/LF/CR. */
			if ((unsigned char)*s < 0x20 && *s != '\t' &&
			    *s != '\n' && *s != '\r')
				buf_add(b, "?", 1);
			else
				buf_add(b, s, 1);
			break;
		}
	}
}

/* Append one exchange's testcase. */
static void
replay_junit_exchange(struct replay_conf *rc, struct buf *b,
    const struct replay_result *r)
{
	buf_addstr(b, "<testcase classname=\"");
	replay_xml(b, r->rr_route);
	buf_addstr(b, "\" name=\"");
	replay_xml(b, r->rr_route);
	buf_addstr(b, " id=");
	replay_xml(b, r->rr_id);
	buf_printf(b, "\" time=\"%.3f\"", r->rr_ms / 1000.0);
	if (r->rr_fails) {
		buf_addstr(b, ">\n<failure type=\"");
		buf_addstr(b, verdict_name(r->rr_judged));
		buf_addstr(b, "\" message=\"");
		replay_xml(b, r->rr_line);
		buf_addstr(b, "\">");
		replay_xml(b, r->rr_line);
		buf_addstr(b, "</failure>\n</testcase>\n");
	} else if (r->rr_verdict == VERDICT_SKIPPED) {
		buf_addstr(b, ">\n<skipped message=\"");
		replay_xml(b, r->rr_line);
		buf_addstr(b, "\"/>\n</testcase>\n");
	} else if (r->rr_line != NULL) {
		buf_addstr(b, ">\n<system-out>");
		replay_xml(b, r->rr_line);
		if (replay_fails(rc, r->rr_verdict))
			buf_addstr(b, "\n(passes: the baseline lists the "
			    "drifts it would fail on)");
		buf_addstr(b, "</system-out>\n</testcase>\n");
	} else
		buf_addstr(b, "/>\n");
}

/* Append a drift's count and example ids. */
static void
replay_drift_seen(struct buf *b, const struct replay_drift *rd)
{
	size_t	 i;

	buf_printf(b, "%llu exchange%s, e.g.", (unsigned long long)rd->rd_count,
	    rd->rd_count == 1 ? "" : "s");
	for (i = 0; i < rd->rd_nex; i++) {
		buf_addstr(b, i == 0 ? " id=" : ", id=");
		replay_xml(b, rd->rd_ex[i]);
	}
}

/*
 * Why a drift does not fail the run, NULL if it does: the baseline lists
 * it, its verdict is not in --fail-on, or the exchanges that carry it are
 * not failing (their verdict, more severe, is not in --fail-on).
 */
static const char *
replay_drift_passes(const struct replay_conf *rc,
    const struct replay_drift *rd)
{
	if (rd->rd_baselined)
		return ("in the baseline");
	if (rd->rd_failed)
		return (NULL);
	if (!replay_fails(rc, rd->rd_drift.verdict))
		return ("its verdict is not in --fail-on");
	return ("no exchange carrying it fails --fail-on");
}

/* Append one drift's testcase: a failure when it fails the run. */
static void
replay_junit_drift(struct replay_conf *rc, struct buf *b,
    const struct replay_drift *rd)
{
	const char	*why;

	buf_addstr(b, "<testcase classname=\"");
	replay_xml(b, rd->rd_drift.route);
	buf_addstr(b, "\" name=\"");
	replay_xml(b, rd->rd_text);
	buf_addstr(b, "\">\n");
	if ((why = replay_drift_passes(rc, rd)) == NULL) {
		buf_addstr(b, "<failure type=\"");
		buf_addstr(b, verdict_name(rd->rd_drift.verdict));
		buf_addstr(b, "\" message=\"new drift: ");
		replay_xml(b, rd->rd_text);
		buf_addstr(b, "\">new drift ");
		buf_addstr(b, rd->rd_id);
		buf_addstr(b, ": ");
		replay_xml(b, rd->rd_text);
		buf_addstr(b, "\n");
		replay_drift_seen(b, rd);
		buf_addstr(b, "</failure>\n");
	} else {
		buf_addstr(b, "<system-out>");
		if (!rd->rd_baselined)
			buf_addstr(b, "new, but ");
		buf_addstr(b, why);
		buf_addstr(b, "; ");
		replay_drift_seen(b, rd);
		buf_addstr(b, "</system-out>\n");
	}
	buf_addstr(b, "</testcase>\n");
}

/* Append a signature's count and example ids. */
static void
replay_sig_seen(struct buf *b, const struct replay_sig *rs)
{
	size_t	 i;

	buf_printf(b, "%llu exchange%s, e.g.", (unsigned long long)rs->rs_count,
	    rs->rs_count == 1 ? "" : "s");
	for (i = 0; i < rs->rs_nex; i++) {
		buf_addstr(b, i == 0 ? " id=" : ", id=");
		replay_xml(b, rs->rs_ex[i]);
	}
}

/*
 * Append one signature's testcase: a failure when one of its exchanges
 * fails the run, skipped when its exchanges were not sent.
 */
static void
replay_junit_sig(struct buf *b, const struct replay_sig *rs)
{
	buf_addstr(b, "<testcase classname=\"");
	replay_xml(b, rs->rs_route);
	buf_addstr(b, "\" name=\"");
	replay_xml(b, rs->rs_text);
	buf_addstr(b, "\">\n");
	if (rs->rs_fails != 0) {
		buf_printf(b, "<failure type=\"%s\" message=\"%llu of %llu "
		    "exchange%s fail%s: ", verdict_name(rs->rs_verdict),
		    (unsigned long long)rs->rs_fails,
		    (unsigned long long)rs->rs_count,
		    rs->rs_count == 1 ? "" : "s",
		    rs->rs_fails == 1 ? "s" : "");
		replay_xml(b, rs->rs_text);
		buf_addstr(b, "\">");
		replay_sig_seen(b, rs);
		buf_addstr(b, "\nid=");
		replay_xml(b, rs->rs_fail_id);
		buf_addstr(b, ": ");
		replay_xml(b, rs->rs_fail_line);
		buf_addstr(b, "</failure>\n");
	} else if (rs->rs_verdict == VERDICT_SKIPPED) {
		buf_addstr(b, "<skipped message=\"");
		replay_sig_seen(b, rs);
		buf_addstr(b, "\"/>\n");
	} else {
		buf_addstr(b, "<system-out>");
		replay_sig_seen(b, rs);
		if (rs->rs_forgiven != 0)
			buf_addstr(b, "\n(passes: the baseline lists the "
			    "drifts it would fail on)");
		buf_addstr(b, "</system-out>\n");
	}
	buf_addstr(b, "</testcase>\n");
}

/* Order signatures by count (most first), then text, for qsort. */
static int
replay_sig_cmp(const void *a, const void *b)
{
	const struct replay_sig	*x = *(struct replay_sig * const *)a;
	const struct replay_sig	*y = *(struct replay_sig * const *)b;

	if (x->rs_count != y->rs_count)
		return (x->rs_count > y->rs_count ? -1 : 1);
	return (strcmp(x->rs_text, y->rs_text));
}

/*
 * Write the JUnit XML report, one testcase per exchange or, with
 * --junit-per drift, one per drift and one per exchange that fails
 * without a new drift to say why, or with --junit-per signature, one per
 * signature; return -1 with cause on error.
 */
static int
replay_junit(struct replay_conf *rc, double secs, char **cause)
{
	struct buf		 b, cases;
	struct replay_result	*r;
	size_t			 i, tests = 0, failures = 0, skipped = 0;
	FILE			*f;
	int			 rv = 0;

	buf_init(&cases);
	if (rc->junit_per == REPLAY_JUNIT_SIGNATURE) {
		if (rc->nsigs > 1)
			qsort(rc->sigs, rc->nsigs, sizeof *rc->sigs,
			    replay_sig_cmp);
		for (i = 0; i < rc->nsigs; i++) {
			replay_junit_sig(&cases, rc->sigs[i]);
			tests++;
			if (rc->sigs[i]->rs_fails != 0)
				failures++;
			else if (rc->sigs[i]->rs_verdict == VERDICT_SKIPPED)
				skipped++;
		}
	}
	if (rc->junit_per == REPLAY_JUNIT_DRIFT) {
		for (i = 0; i < rc->ndrifts; i++) {
			replay_junit_drift(rc, &cases, rc->drifts[i]);
			tests++;
			if (replay_drift_passes(rc, rc->drifts[i]) == NULL)
				failures++;
		}
	}
	for (i = 0; rc->junit_per != REPLAY_JUNIT_SIGNATURE &&
	    i < rc->nresults; i++) {
		r = &rc->results[i];
		if (rc->junit_per == REPLAY_JUNIT_DRIFT &&
		    (!r->rr_fails || r->rr_by_drift))
			continue;
		replay_junit_exchange(rc, &cases, r);
		tests++;
		if (r->rr_fails)
			failures++;
		else if (r->rr_verdict == VERDICT_SKIPPED)
			skipped++;
	}
	buf_init(&b);
	buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<testsuites tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\" "
	    "time=\"%.3f\">\n<testsuite name=\"paritytap replay\" "
	    "tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" "
	    "time=\"%.3f\">\n", tests, failures, skipped, secs,
	    tests, failures, skipped, secs);
	buf_add(&b, cases.data, cases.len);
	buf_addstr(&b, "</testsuite>\n</testsuites>\n");
	if ((f = fopen(rc->junit, "w")) == NULL ||
	    fwrite(b.data, 1, b.len, f) != b.len || fclose(f) != 0) {
		xasprintf(cause, "--junit %s: %s", rc->junit, strerror(errno));
		rv = -1;
	}
	buf_free(&cases);
	buf_free(&b);
	return (rv);
}

/*
 * Add the drifts to the --json summary o: "baseline", "drifts_total",
 * "drifts_baselined" and "new_drifts", every drift not in the baseline.
 */
static void
replay_json_drifts(struct replay_conf *rc, json_t *o)
{
	struct replay_drift	*rd;
	json_t			*a, *d, *e;
	size_t			 i, j;

	json_object_set_new(o, "baseline", rc->baseline_path != NULL ?
	    json_string(rc->baseline_path) : json_null());
	json_object_set_new(o, "drifts_total",
	    json_integer((json_int_t)rc->ndrifts));
	json_object_set_new(o, "drifts_baselined",
	    json_integer((json_int_t)rc->nbaselined));
	a = json_array();
	for (i = 0; i < rc->ndrifts; i++) {
		rd = rc->drifts[i];
		if (rd->rd_baselined)
			continue;
		e = json_array();
		for (j = 0; j < rd->rd_nex; j++)
			json_array_append_new(e, json_string(rd->rd_ex[j]));
		d = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:o, "
		    "s:b}", "drift", rd->rd_text, "id", rd->rd_id,
		    "route", rd->rd_drift.route, "kind", rd->rd_drift.kind,
		    "path", rd->rd_drift.path, "side", rd->rd_drift.side,
		    "verdict", verdict_name(rd->rd_drift.verdict),
		    "count", (json_int_t)rd->rd_count, "example_ids", e,
		    "fails", replay_drift_passes(rc, rd) == NULL);
		json_array_append_new(a, d);
	}
	json_object_set_new(o, "new_drifts", a);
}

/* Print the --json summary on stdout. */
static void
replay_json(struct replay_conf *rc, const struct stats_counts *st,
    const struct replay_stats *rs, const char *summary, int status)
{
	json_t			*o, *verdicts, *failures, *skipped, *e;
	struct replay_result	*r;
	size_t			 i;
	int			 v;

	verdicts = json_object();
	for (v = 0; v < VERDICT_NONE; v++) {
		if (st->verdicts[v] != 0)
			json_object_set_new(verdicts, verdict_name(v),
			    json_integer((json_int_t)st->verdicts[v]));
	}
	failures = json_array();
	skipped = json_array();
	for (i = 0; i < rc->nresults; i++) {
		r = &rc->results[i];
		if (r->rr_verdict == VERDICT_SKIPPED) {
			e = json_pack("{s:s, s:s, s:s}", "id", r->rr_id,
			    "route", r->rr_route, "reason", r->rr_line);
			json_array_append_new(skipped, e);
		} else if (r->rr_fails) {
			e = json_pack("{s:s, s:s, s:s, s:s, s:O}", "id",
			    r->rr_id, "route", r->rr_route, "verdict",
			    verdict_name(r->rr_verdict), "judged",
			    verdict_name(r->rr_judged), "diffs",
			    r->rr_diffs != NULL ? r->rr_diffs : json_null());
			json_array_append_new(failures, e);
		}
	}
	o = json_pack("{s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:s, s:i}",
	    "exchanges", (json_int_t)st->total,
	    "replayed", (json_int_t)rs->sent,
	    "filtered", (json_int_t)rs->filtered,
	    "status_match", (json_int_t)st->status_match,
	    "verdicts", verdicts, "failures", failures, "skipped", skipped,
	    "summary", summary, "exit", status);
	json_object_set_new(o, "failing",
	    json_integer((json_int_t)json_array_size(failures)));
	replay_json_drifts(rc, o);
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(o);
}

/* Free what the configuration holds. */
static void
replay_conf_free(struct replay_conf *rc)
{
	size_t	 i, j, n;

	for (i = 0; i < rc->nresults; i++) {
		free(rc->results[i].rr_id);
		free(rc->results[i].rr_route);
		free(rc->results[i].rr_line);
		if (rc->results[i].rr_diffs != NULL)
			json_decref(rc->results[i].rr_diffs);
	}
	free(rc->results);
	for (i = 0; i < rc->ndrifts; i++) {
		drift_clear(&rc->drifts[i]->rd_drift);
		free(rc->drifts[i]->rd_text);
		for (j = 0; j < rc->drifts[i]->rd_nex; j++)
			free(rc->drifts[i]->rd_ex[j]);
		free(rc->drifts[i]);
	}
	free(rc->drifts);
	if (rc->drift_map != NULL)
		strmap_free(rc->drift_map);
	for (i = 0; i < rc->nsigs; i++) {
		free(rc->sigs[i]->rs_text);
		free(rc->sigs[i]->rs_route);
		for (j = 0; j < rc->sigs[i]->rs_nex; j++)
			free(rc->sigs[i]->rs_ex[j]);
		free(rc->sigs[i]->rs_fail_id);
		free(rc->sigs[i]->rs_fail_line);
		free(rc->sigs[i]);
	}
	free(rc->sigs);
	if (rc->sig_map != NULL)
		strmap_free(rc->sig_map);
	baseline_free(rc->baseline);
	strlist_free(&rc->ro.filter.routes, &rc->ro.filter.nroutes);
	n = rc->ro.set_headers.n;
	strlist_free(&rc->ro.set_headers.names, &n);
	strlist_free(&rc->ro.set_headers.values, &rc->ro.set_headers.n);
	strlist_free(&rc->ro.filter.methods, &rc->ro.filter.nmethods);
	options_free(&rc->o);
}

/* Order drifts by count (most first), then route, kind, path, side. */
static int
replay_drift_cmp(const void *a, const void *b)
{
	const struct replay_drift *x = *(struct replay_drift * const *)a;
	const struct replay_drift *y = *(struct replay_drift * const *)b;

	if (x->rd_count != y->rd_count)
		return (x->rd_count > y->rd_count ? -1 : 1);
	return (drift_cmp(&x->rd_drift, &y->rd_drift));
}

/*
 * List the new drifts on standard error, the most frequent first, at most
 * REPLAY_NEW_DRIFTS_SHOWN: the drifts not in the baseline, or all of them
 * without one.  Names come from the wire: no control byte is printed.
 */
static void
replay_print_new(struct replay_conf *rc)
{
	struct replay_drift	*rd;
	struct buf		 b;
	const char		*why;
	size_t			 i, j, n, shown = 0;

	n = rc->ndrifts - rc->nbaselined;
	buf_init(&b);
	if (n == 0 && rc->baseline != NULL)
		buf_printf(&b, "paritytap replay: no new drift; %zu in the "
		    "baseline\n", rc->nbaselined);
	else if (n != 0) {
		buf_printf(&b, "paritytap replay: %zu new drift%s", n,
		    n == 1 ? "" : "s");
		if (rc->baseline != NULL)
			buf_printf(&b, " (not in %s; %zu in it)",
			    rc->baseline_path, rc->nbaselined);
		buf_addstr(&b, ":\n");
	}
	for (i = 0; i < rc->ndrifts && shown < REPLAY_NEW_DRIFTS_SHOWN; i++) {
		rd = rc->drifts[i];
		if (rd->rd_baselined)
			continue;
		shown++;
		buf_printf(&b, "  %s: %llu exchange%s, e.g. id=%s",
		    rd->rd_text, (unsigned long long)rd->rd_count,
		    rd->rd_count == 1 ? "" : "s", rd->rd_ex[0]);
		if ((why = replay_drift_passes(rc, rd)) != NULL)
			buf_printf(&b, " (not failing: %s)", why);
		buf_addstr(&b, "\n");
	}
	if (shown < n)
		buf_printf(&b, "  ... and %zu more\n", n - shown);
	for (j = 0; j < b.len; j++) {
		if (((unsigned char)b.data[j] < 0x20 && b.data[j] != '\n') ||
		    b.data[j] == 0x7f)
			b.data[j] = '?';
	}
	if (b.len != 0)
		fwrite(b.data, 1, b.len, stderr);
	buf_free(&b);
}

/* Run the replay and the reports; return the exit status. */
static int
replay_main(struct replay_conf *rc, char **paths, int npaths)
{
	struct runtime		*rt;
	struct capture		*capture = NULL;
	struct pipeline_opts	 popts;
	struct consumer		 con;
	struct stats_counts	 st;
	struct replay_stats	 rs;
	struct pipeline		*pipeline;
	struct flagline		*flags = NULL;
	struct buf		 b;
	char			*cause = NULL, *summary;
	double			 start;
	size_t			 i;
	int			 status, color;

	color = use_color(rc->o.color, STDERR_FILENO, NULL) > 0;
	if ((status = options_capture(&rc->o, &capture)) != 0)
		return (status);
	rt = runtime_new(NULL, NULL, 0);
	memset(&popts, 0, sizeof popts);
	popts.compare = &rc->o.co;
	/* A CI gate sees every exchange: wait for room, never drop. */
	popts.wait = 1;
	pipeline = pipeline_new(&popts);
	if (!log_quiet) {
		flags = flagline_new(&rc->o.flag, color, stderr);
		flagline_consumer(flags, &con);
		pipeline_add(pipeline, &con);
	}
	if (capture != NULL) {
		capture_consumer(capture, &con);
		pipeline_add(pipeline, &con);
	}
	memset(&con, 0, sizeof con);
	con.name = "replay";
	con.on_exchange = replay_on_exchange;
	con.arg = rc;
	pipeline_add(pipeline, &con);
	pipeline_start(pipeline);

	rc->ro.quiet = log_quiet;
	rc->ro.progress = !log_quiet && isatty(STDERR_FILENO);
	start = mono_ms();
	status = replay_run(runtime_base(rt), &rc->ro, paths, npaths, pipeline,
	    &rs, &cause);
	pipeline_stop(pipeline, 0);
	pipeline_counts(pipeline, &st);
	st.flags_held = flagline_held(flags);
	pipeline_free(pipeline);
	flagline_free(flags);
	if (capture != NULL && capture_close(capture) != 0 &&
	    status == EXIT_OK) {
		log_warnx("not every exchange was recorded in the capture");
		status = EXIT_RUNTIME;
	}
	runtime_free(rt);

	if (status == EXIT_USAGE)
		fprintf(stderr, "paritytap replay: %s\n", cause);
	else if (status == EXIT_RUNTIME)
		log_warnx("%s", cause);
	free(cause);
	cause = NULL;
	/* A bad URL or an unreadable file: nothing ran, nothing to report. */
	if (status == EXIT_USAGE && st.total == 0)
		return (status);
	/* A gate that passes on nothing would hide a broken pipeline. */
	if (status == EXIT_OK && rs.read == 0 && !rc->allow_empty) {
		fprintf(stderr, "paritytap replay: no exchange in %s%s: nothing "
		    "was replayed (--allow-empty to accept)\n", paths[0],
		    npaths > 1 ? " ..." : "");
		return (EXIT_USAGE);
	}
	if (status == EXIT_OK) {
		for (i = 0; i < rc->nresults; i++) {
			if (rc->results[i].rr_fails)
				status = EXIT_DIVERGE;
		}
	}
	if (rc->nresults > 1)
		qsort(rc->results, rc->nresults, sizeof *rc->results,
		    replay_result_cmp);
	if (rc->ndrifts > 1)
		qsort(rc->drifts, rc->ndrifts, sizeof *rc->drifts,
		    replay_drift_cmp);
	replay_print_new(rc);
	buf_init(&b);
	summary = stats_summary(&st);
	buf_addstr(&b, summary);
	free(summary);
	stats_flags_held(&b, &st);
	summary = buf_detach(&b);
	if (rc->json) {
		fprintf(stderr, "paritytap replay: %s\n", summary);
		replay_json(rc, &st, &rs, summary, status);
	} else {
		printf("paritytap replay: %s\n", summary);
		fflush(stdout);
	}
	free(summary);
	if (rc->junit != NULL &&
	    replay_junit(rc, (mono_ms() - start) / 1000.0, &cause) != 0) {
		fprintf(stderr, "paritytap replay: %s\n", cause);
		free(cause);
		if (status == EXIT_OK)
			status = EXIT_RUNTIME;
	}
	return (status);
}

/* paritytap replay. */
static int
cmd_replay_exec(int argc, char **argv)
{
	struct replay_conf	 rc;
	struct options_target	 ot = OPTIONS_TARGET(rc.ro);
	char			*cause;
	int			 status;

	memset(&rc, 0, sizeof rc);
	options_init(&rc.o, "replay", replay_options, &ot);
	rc.ro.concurrency = 16;
	rc.ro.timeout = 5000;
	rc.ro.shadow = &rc.o.shadow;
	rc.ro.tls = &rc.o.tls;
	if (options_verdicts("fail-on", REPLAY_DEFAULT_FAIL_ON, VERDICTS_ALL,
	    &rc.fail_on, &cause) != 0)
		fatalx("%s", cause);

	status = options_getopt(&rc.o, argc, argv, cmd_replay_help);
	if (status != -1)
		goto out;

	status = EXIT_USAGE;
	if (options_load(&rc.o, replay_set, &rc) != 0)
		goto out;
	if (rc.have_junit_per && rc.junit == NULL) {
		options_usage(rc.o.command, "--junit-per: no --junit FILE to "
		    "write");
		goto out;
	}
	if (rc.baseline_path != NULL &&
	    (rc.baseline = baseline_load(rc.baseline_path, &cause)) == NULL) {
		fprintf(stderr, "paritytap replay: --baseline: %s\n", cause);
		free(cause);
		goto out;
	}
	rc.drift_map = strmap_new();
	rc.sig_map = strmap_new();
	if (rc.ro.candidate == NULL)
		options_usage(rc.o.command, "--candidate URL is required");
	else if (rc.ro.secondary != NULL && rc.ro.self_check != 0)
		options_usage(rc.o.command, "--secondary and --self-check: "
		    "choose one (--self-check asks the primary itself, for "
		    "when there is no second copy)");
	else if (rc.ro.self_check != 0 && rc.ro.primary == NULL)
		options_usage(rc.o.command, "--self-check needs --primary URL: "
		    "a recorded primary cannot be asked again");
	else if (optind == argc)
		options_usage(rc.o.command, "no CAPTURE file given");
	else
		status = replay_main(&rc, argv + optind, argc - optind);
out:
	replay_conf_free(&rc);
	return (status);
}

const struct cmd_entry cmd_replay_entry = {
	.name = "replay",
	.usage = "[--primary URL] --candidate URL [OPTIONS] CAPTURE...",
	.summary = "re-send captured requests, compare; a CI gate",
	.exec = cmd_replay_exec,
	.help = cmd_replay_help,
};
