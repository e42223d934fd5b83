/*
 * The report as one self-contained HTML page: the verdict and route
 * tables, a latency chart per route (inline SVG), the signature and drift
 * tables and, for each signature, an example exchange side by side with
 * the diff paths highlighted.
 * Nothing on the page is fetched from anywhere.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "paritytap.h"
#include "report-internal.h"

static const char report_html_style[] =
"body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2125;"
"background:#fff}\n"
"h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;"
"border-bottom:1px solid #d0d7de;padding-bottom:4px}\n"
"h3{font-size:15px;margin:0 0 6px;font-family:ui-monospace,monospace;"
"word-break:break-all}\n"
"table{border-collapse:collapse;margin:4px 0}\n"
"th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:right}\n"
"th{background:#f3f5f7}td.name,th.name{text-align:left;"
"font-family:ui-monospace,monospace}\n"
"tr.total td{font-weight:bold;background:#f8f9fa}\n"
"#routes td.name,td.time{white-space:nowrap}\n"
"td.bad{color:#b42318;font-weight:bold}\n"
".meta{color:#57606a}\n"
".charts{display:flex;flex-wrap:wrap;gap:12px}\n"
"figure{margin:0;border:1px solid #d0d7de;padding:8px;border-radius:4px}\n"
"figcaption{font-family:ui-monospace,monospace;font-size:13px;"
"margin-bottom:4px}\n"
".legend span{display:inline-block;width:10px;height:10px;"
"margin:0 4px 0 12px}\n"
"section.example{border:1px solid #d0d7de;border-radius:4px;"
"padding:10px;margin:12px 0}\n"
".side-by-side{display:grid;grid-template-columns:1fr 1fr;gap:10px}\n"
".side h4{margin:0 0 4px;font-size:13px}\n"
".side.primary h4{color:#2f5d8c}.side.candidate h4{color:#a8560f}\n"
"pre{margin:0;padding:8px;background:#f6f8fa;border:1px solid #d0d7de;"
"overflow:auto;max-height:480px;font-size:12px;white-space:pre-wrap;"
"word-break:break-all}\n"
"mark.diff{background:#ffe08a;border-radius:2px}\n"
"mark.diff-missing{background:#ffc1c1}mark.diff-extra{background:#c8f0c8}\n"
"mark.diff-type{background:#f5c2ff}\n"
"ul.diffs{margin:4px 0 8px;padding-left:20px;"
"font-family:ui-monospace,monospace;font-size:12px}\n"
"div.exchange{border-top:1px dashed #d0d7de;padding-top:8px;"
"margin-top:8px}\n"
"pre.headers{max-height:160px;margin-bottom:4px}\n"
"svg.timeline rect.bucket{fill:#b42318}"
"svg.timeline rect.empty{fill:#d0d7de}\n";

/* Append text to b, HTML-escaped; bytes that are not UTF-8 become U+FFFD. */
static void
report_html_esc(struct buf *b, const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, run = 0, n;

	while (i < len) {
		if (p[i] >= 0x80) {
			if ((n = capture_utf8_seq(p + i, len - i)) != 0) {
				i += n;
				continue;
			}
			buf_add(b, s + run, i - run);
			buf_addstr(b, CAPTURE_REPLACEMENT);
			run = ++i;
			continue;
		}
		switch (p[i]) {
		case '<': case '>': case '&': case '"': case '\'':
			buf_add(b, s + run, i - run);
			buf_printf(b, "&#%d;", p[i]);
			run = ++i;
			continue;
		}
		if ((p[i] < 0x20 && p[i] != '\n' && p[i] != '\t') ||
		    p[i] == 0x7f) {
			buf_add(b, s + run, i - run);
			buf_addstr(b, CAPTURE_REPLACEMENT);
			run = ++i;
			continue;
		}
		i++;
	}
	buf_add(b, s + run, i - run);
}

/* Append a NUL-terminated string, HTML-escaped. */
static void
report_html_str(struct buf *b, const char *s)
{
	report_html_esc(b, s, strlen(s));
}

/* Append a percentile cell. */
static void
report_html_ms(struct buf *b, struct report_latency *l, unsigned p)
{
	double	 v;

	if (report_percentile(l, p, &v) != 0)
		buf_addstr(b, "<td>-</td>");
	else
		buf_printf(b, "<td>%.2f</td>", v);
}

/* Append a count cell, marked when it is a non-zero divergence. */
static void
report_html_count(struct buf *b, uint64_t n, int bad)
{
	buf_printf(b, "<td%s>%llu</td>", bad && n != 0 ? " class=\"bad\"" : "",
	    (unsigned long long)n);
}

/* Append one row of the route table. */
static void
report_html_route_row(struct buf *b, const char *name,
    struct report_counts *c, int total)
{
	buf_printf(b, "<tr%s><td class=\"name\">", total ?
	    " class=\"total\"" : "");
	report_html_str(b, name);
	buf_addstr(b, "</td>");
	report_html_count(b, c->sc.total, 0);
	report_html_count(b, c->sc.verdicts[VERDICT_MATCH], 0);
	report_html_count(b, c->sc.verdicts[VERDICT_STATUS], 1);
	report_html_count(b, c->sc.verdicts[VERDICT_SHAPE], 1);
	report_html_count(b, c->sc.verdicts[VERDICT_BODY], 1);
	report_html_count(b, c->sc.verdicts[VERDICT_HEADER], 1);
	report_html_count(b, c->sc.verdicts[VERDICT_VALUE], 1);
	report_html_count(b, report_errors(c), 1);
	report_html_ms(b, &c->lat[0], 50);
	report_html_ms(b, &c->lat[0], 99);
	report_html_ms(b, &c->lat[1], 50);
	report_html_ms(b, &c->lat[1], 99);
	buf_addstr(b, "</tr>\n");
}

/*
 * Append a route's rows of the status table, one per status code; a
 * count that differs between the sides is marked.
 */
static void
report_html_status_rows(struct buf *b, const char *name,
    const struct report_counts *c, int total)
{
	const struct report_status	*st;
	size_t				 i;

	for (i = 0; i < c->nst; i++) {
		st = &c->st[i];
		buf_printf(b, "<tr%s><th scope=\"row\" class=\"name\">",
		    total ? " class=\"total\"" : "");
		report_html_str(b, name);
		if (st->status != 0)
			buf_printf(b, "</th><td>%d</td>", st->status);
		else
			buf_addstr(b, "</th><td>error</td>");
		report_html_count(b, st->n[0], 0);
		report_html_count(b, st->n[1], st->n[0] != st->n[1]);
		buf_addstr(b, "</tr>\n");
	}
}

/* Append the verdict and route tables. */
static void
report_html_tables(struct buf *b, struct report *r)
{
	static const enum verdict order[] = {
		VERDICT_MATCH, VERDICT_VALUE, VERDICT_HEADER, VERDICT_BODY,
		VERDICT_SHAPE, VERDICT_STATUS, VERDICT_BOTH_FAILED,
		VERDICT_CANDIDATE_ERROR, VERDICT_PRIMARY_ERROR,
		VERDICT_SKIPPED, VERDICT_RECORDED, VERDICT_NONE
	};
	uint64_t	 n;
	size_t		 i;

	buf_addstr(b, "<h2>Verdicts</h2>\n<table id=\"verdicts\">\n"
	    "<thead><tr><th class=\"name\">verdict</th><th>count</th>"
	    "<th>share</th></tr></thead>\n<tbody>\n");
	for (i = 0; i < sizeof order / sizeof order[0]; i++) {
		n = r->all.sc.verdicts[order[i]];
		if (order[i] == VERDICT_NONE && n == 0)
			continue;
		buf_printf(b, "<tr><td class=\"name\">%s</td>",
		    verdict_name(order[i]));
		report_html_count(b, n, verdict_is_divergence(order[i]));
		if (r->all.sc.total != 0)
			buf_printf(b, "<td>%.1f%%</td></tr>\n",
			    100.0 * n / r->all.sc.total);
		else
			buf_addstr(b, "<td>-</td></tr>\n");
	}
	buf_addstr(b, "</tbody></table>\n");

	buf_addstr(b, "<h2>Routes</h2>\n<table id=\"routes\">\n<thead><tr>"
	    "<th class=\"name\">route</th><th>count</th><th>match</th>"
	    "<th>status</th><th>shape</th><th>body</th><th>header</th>"
	    "<th>value</th><th>errors</th><th>p50 primary ms</th>"
	    "<th>p99 primary ms</th><th>p50 candidate ms</th>"
	    "<th>p99 candidate ms</th></tr></thead>\n<tbody>\n");
	for (i = 0; i < r->nroutes; i++)
		report_html_route_row(b, r->routes[i]->name,
		    &r->routes[i]->counts, 0);
	report_html_route_row(b, "(all)", &r->all, 1);
	buf_addstr(b, "</tbody></table>\n");

	buf_addstr(b, "<h2>Status codes</h2>\n<table id=\"status-codes\">\n"
	    "<thead><tr><th class=\"name\">route</th><th>status</th>"
	    "<th>primary</th><th>candidate</th></tr></thead>\n<tbody>\n");
	for (i = 0; i <= r->nroutes; i++)
		report_html_status_rows(b, i < r->nroutes ?
		    r->routes[i]->name : "(all)", i < r->nroutes ?
		    &r->routes[i]->counts : &r->all, i == r->nroutes);
	buf_addstr(b, "</tbody></table>\n");
}

/* Append one route's latency chart: p50 and p99, primary and candidate. */
static void
report_html_chart(struct buf *b, struct report_route *rt)
{
	static const char *colors[] = { "#2f5d8c", "#e0892f" };
	static const char *sides[] = { "primary", "candidate" };
	static const unsigned pcts[] = { 50, 99 };
	double		 v[2][2], max = 0;
	long		 bar;
	int		 have[2][2], i, j, y;
	const int	 x0 = 110, w = 300;

	for (i = 0; i < 2; i++) {
		for (j = 0; j < 2; j++) {
			have[i][j] = report_percentile(&rt->counts.lat[j],
			    pcts[i], &v[i][j]) == 0;
			if (have[i][j] && v[i][j] > max)
				max = v[i][j];
		}
	}
	buf_addstr(b, "<figure class=\"latency-chart\"><figcaption>");
	report_html_str(b, rt->name);
	buf_addstr(b, "</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\""
	    " width=\"480\" height=\"112\" role=\"img\" aria-label=\"latency "
	    "of ");
	report_html_str(b, rt->name);
	buf_addstr(b, "\">\n");
	for (i = 0; i < 2; i++) {
		for (j = 0; j < 2; j++) {
			y = 6 + (i * 2 + j) * 26;
			buf_printf(b, "<text x=\"0\" y=\"%d\" font-size=\"12\">"
			    "p%u %s</text>", y + 14, pcts[i], sides[j]);
			if (!have[i][j]) {
				buf_printf(b, "<text x=\"%d\" y=\"%d\" "
				    "font-size=\"12\">no samples</text>\n",
				    x0, y + 14);
				continue;
			}
			/* A bar too short to see still shows. */
			bar = max > 0 ? lround(v[i][j] / max * w) : 0;
			if (bar < 2)
				bar = 2;
			buf_printf(b, "<rect class=\"bar %s\" x=\"%d\" "
			    "y=\"%d\" width=\"%ld\" height=\"18\" fill=\"%s\"/>",
			    sides[j], x0, y, bar, colors[j]);
			buf_printf(b, "<text x=\"%ld\" y=\"%d\" "
			    "font-size=\"12\">%.2f ms</text>\n", x0 + 6 + bar, y + 14, v[i][j]);
		}
	}
	buf_addstr(b, "</svg></figure>\n");
}

/* Return the class of the first diff of ex at path, or NULL. */
static const char *
report_html_diff_at(const struct exchange *ex, const char *path)
{
	const struct diff	*d;
	size_t			 i;

	for (i = 0; i < ex->ex_diffs.n; i++) {
		d = &ex->ex_diffs.v[i];
		if (d->path == NULL || diff_name(d) == NULL ||
		    strcmp(d->path, path) != 0 || d->kind == DIFF_HEADER)
			continue;
		if (d->kind == DIFF_MISSING)
			return ("diff diff-missing");
		if (d->kind == DIFF_EXTRA)
			return ("diff diff-extra");
		if (d->kind == DIFF_TYPE)
			return ("diff diff-type");
		return ("diff");
	}
	return (NULL);
}

/* Append a scalar (or empty container) as compact JSON, escaped. */
static void
report_html_scalar(struct buf *b, json_t *v)
{
	char	*s;

	s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT |
	    JSON_REAL_PRECISION(17));
	if (s != NULL) {
		report_html_str(b, s);
		free(s);
	}
}

/* Append a newline and indentation. */
static void
report_html_indent(struct buf *b, int depth)
{
	buf_addstr(b, "\n");
	while (depth-- > 0)
		buf_addstr(b, "  ");
}

/*
 * Append v pretty-printed, path being its JSONPath as the compare engine
 * writes it; a member or element with a diff at its path is wrapped in a
 * <mark> naming the path.
 */
static void
report_html_json(struct buf *b, const struct exchange *ex, json_t *v,
    struct buf *path, int depth)
{
	const char	*key, *cls;
	json_t		*m, *k;
	size_t		 i, n, plen = path->len;
	int		 first = 1;

	if (json_is_object(v) && json_object_size(v) != 0) {
		buf_addstr(b, "{");
		json_object_foreach(v, key, m) {
			if (!first)
				buf_addstr(b, ",");
			first = 0;
			report_html_indent(b, depth + 1);
			jsonpath_key(path, key, strlen(key));
			cls = report_html_diff_at(ex, path->data);
			if (cls != NULL) {
				buf_printf(b, "<mark class=\"%s\" "
				    "data-path=\"", cls);
				report_html_str(b, path->data);
				buf_addstr(b, "\">");
			}
			k = json_string(key);
			report_html_scalar(b, k);
			json_decref(k);
			buf_addstr(b, ": ");
			report_html_json(b, ex, m, path, depth + 1);
			if (cls != NULL)
				buf_addstr(b, "</mark>");
			path->len = plen;
			path->data[plen] = '\0';
		}
		report_html_indent(b, depth);
		buf_addstr(b, "}");
		return;
	}
	if (json_is_array(v) && (n = json_array_size(v)) != 0) {
		buf_addstr(b, "[");
		for (i = 0; i < n; i++) {
			if (i != 0)
				buf_addstr(b, ",");
			report_html_indent(b, depth + 1);
			jsonpath_index(path, i);
			cls = report_html_diff_at(ex, path->data);
			if (cls != NULL) {
				buf_printf(b, "<mark class=\"%s\" "
				    "data-path=\"", cls);
				report_html_str(b, path->data);
				buf_addstr(b, "\">");
			}
			report_html_json(b, ex, json_array_get(v, i), path,
			    depth + 1);
			if (cls != NULL)
				buf_addstr(b, "</mark>");
			path->len = plen;
			path->data[plen] = '\0';
		}
		report_html_indent(b, depth);
		buf_addstr(b, "]");
		return;
	}
	report_html_scalar(b, v);
}

/* Append headers, one a line, secrets redacted. */
static void
report_html_headers(struct buf *b, const struct headers *hs)
{
	size_t	 i;

	buf_addstr(b, "<pre class=\"headers\">");
	for (i = 0; i < hs->n; i++) {
		report_html_str(b, hs->h[i].name);
		buf_addstr(b, ": ");
		report_html_str(b, report_header_value(&hs->h[i]));
		buf_addstr(b, "\n");
	}
	buf_addstr(b, "</pre>");
}

/* Append one side of an example: its status line and body. */
static void
report_html_side(struct buf *b, const struct exchange *ex, enum side side)
{
	const struct response_side	*rs = &ex->ex_resp[side];
	const char			*cls;
	struct buf			 path;
	json_t				*doc;

	buf_printf(b, "<div class=\"side %s\"><h4>%s", side_name(side),
	    side_name(side));
	if (!rs->present) {
		buf_addstr(b, " &#183; no response</h4><pre></pre></div>\n");
		return;
	}
	if (rs->status != 0)
		buf_printf(b, " &#183; %d", rs->status);
	if (rs->error != NULL) {
		buf_addstr(b, " &#183; error ");
		report_html_str(b, rs->error);
	}
	buf_printf(b, " &#183; %.2f ms", rs->ms);
	if (rs->truncated)
		buf_addstr(b, " &#183; body cut");
	buf_addstr(b, "</h4>");
	report_html_headers(b, &rs->headers);
	buf_addstr(b, "<pre class=\"body\">");
	doc = json_loadb(rs->body.data != NULL ? rs->body.data : "",
	    rs->body.len, JSON_DECODE_ANY, NULL);
	if (doc != NULL) {
		buf_init(&path);
		buf_addstr(&path, "$");
		cls = report_html_diff_at(ex, "$");
		if (cls != NULL)
			buf_printf(b, "<mark class=\"%s\" data-path=\"$\">",
			    cls);
		report_html_json(b, ex, doc, &path, 0);
		if (cls != NULL)
			buf_addstr(b, "</mark>");
		buf_free(&path);
		json_decref(doc);
	} else if (rs->body.len != 0)
		report_html_esc(b, rs->body.data, rs->body.len);
	buf_addstr(b, "</pre></div>\n");
}

/*
 * Append the list of an example's diffs, folded: one bullet for the
 * diffs alike but for an array index, with the number of places.
 */
static void
report_html_diffs(struct buf *b, const struct exchange *ex)
{
	struct report_bullet	*bl;
	const struct diff	*d;
	const char		*pv, *cv;
	size_t			 i, n;

	if (ex->ex_diffs.n == 0)
		return;
	n = report_bullets(ex, &bl);
	buf_addstr(b, "<ul class=\"diffs\">\n");
	for (i = 0; i < n; i++) {
		d = bl[i].d;
		buf_addstr(b, "<li>");
		report_html_str(b, diff_name(d) != NULL ? diff_name(d) : "?");
		if (*bl[i].path != '\0') {
			buf_addstr(b, " ");
			report_html_str(b, bl[i].path);
		}
		if (d->side >= 0 && d->side < SIDE_MAX)
			buf_printf(b, " (%s)", side_name(d->side));
		if (bl[i].places > 1)
			buf_printf(b, " <span class=\"places\">(%zu places)"
			    "</span>", bl[i].places);
		pv = report_diff_value(d, d->primary);
		cv = report_diff_value(d, d->candidate);
		if (pv != NULL || cv != NULL) {
			buf_addstr(b, ": ");
			report_html_str(b, pv != NULL ? pv : "-");
			buf_addstr(b, " &#8594; ");
			report_html_str(b, cv != NULL ? cv : "-");
			if (bl[i].places > 1)
				buf_addstr(b, " (first)");
		}
		if (d->detail != NULL) {
			buf_addstr(b, " &#8212; ");
			report_html_str(b, d->detail);
		}
		if (d->noise)
			buf_addstr(b, " (noise)");
		buf_addstr(b, "</li>\n");
	}
	if (ex->ex_diffs.truncated)
		buf_addstr(b, "<li>&#8230; more diffs not recorded</li>\n");
	buf_addstr(b, "</ul>\n");
	report_bullets_free(bl, n);
}

/*
 * Append a signature's time axis as an inline SVG bar chart: one rect
 * a bucket (class "bucket", data-count its count, a hairline when none),
 * scaled to the busiest bucket.
 */
static void
report_html_timeline(struct buf *b, const struct report *r,
    const struct report_sig *s)
{
	uint64_t	*v, max;
	struct timeval	 tv;
	char		 t[64];
	long		 h;
	size_t		 i;
	const int	 bw = 4, height = 24;

	v = report_sig_buckets(r, s, &max);
	buf_printf(b, "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/"
	    "svg\" width=\"%zu\" height=\"%d\" role=\"img\" aria-label=\""
	    "exchanges per %s\">", r->axis_n * bw, height,
	    report_axis_unit(r));
	for (i = 0; i < r->axis_n; i++) {
		tv.tv_sec = r->axis_start + (time_t)i * r->axis_width;
		tv.tv_usec = 0;
		format_rfc3339(&tv, t, sizeof t);
		h = max != 0 ? lround((double)v[i] / max * (height - 2)) : 0;
		if (v[i] != 0 && h < 2)
			h = 2;
		if (v[i] == 0)
			h = 1;
		buf_printf(b, "<rect class=\"bucket%s\" data-count=\"%llu\" "
		    "x=\"%zu\" y=\"%ld\" width=\"%d\" height=\"%ld\"><title>"
		    "%s: %llu</title></rect>", v[i] == 0 ? " empty" : "",
		    (unsigned long long)v[i], i * bw, height - h, bw - 1, h, t,
		    (unsigned long long)v[i]);
	}
	buf_addstr(b, "</svg>");
	free(v);
}

/* Append the signature table. */
static void
report_html_sigs(struct buf *b, struct report *r, size_t shown)
{
	struct report_sig	*s;
	struct timeval		 tv;
	char			 t1[64], t2[64];
	size_t			 i;

	buf_printf(b, "<h2>Signatures</h2>\n<p class=\"meta\">%zu signature%s",
	    r->nsigs, r->nsigs == 1 ? "" : "s");
	if (shown != r->nsigs)
		buf_printf(b, ", the top %zu shown", shown);
	tv.tv_sec = r->axis_start;
	tv.tv_usec = 0;
	format_rfc3339(&tv, t1, sizeof t1);
	buf_printf(b, "; over time: %zu bucket%s of one %s from %s",
	    r->axis_n, r->axis_n == 1 ? "" : "s", report_axis_unit(r), t1);
	buf_addstr(b, "</p>\n<table id=\"signatures\">\n<thead><tr>"
	    "<th>count</th><th class=\"name\">signature</th>"
	    "<th class=\"name\">first seen</th><th class=\"name\">last seen"
	    "</th><th class=\"name\">example</th>"
	    "<th class=\"name\">over time</th></tr></thead>\n<tbody>\n");
	for (i = 0; i < shown; i++) {
		s = r->sigs[i];
		format_rfc3339(&s->first, t1, sizeof t1);
		format_rfc3339(&s->last, t2, sizeof t2);
		buf_printf(b, "<tr><td>%llu</td><td class=\"name\">",
		    (unsigned long long)s->count);
		/* With --examples 0 there is no example to link to. */
		if (s->nexamples != 0)
			buf_printf(b, "<a href=\"#example-%zu\">", i + 1);
		report_html_str(b, s->text);
		if (s->nexamples != 0)
			buf_addstr(b, "</a>");
		buf_printf(b, "</td><td class=\"name time\">%s</td>"
		    "<td class=\"name time\">%s</td><td class=\"name\">",
		    t1, t2);
		report_html_str(b, s->example_id);
		buf_addstr(b, "</td><td class=\"name\">");
		report_html_timeline(b, r, s);
		buf_addstr(b, "</td></tr>\n");
	}
	buf_addstr(b, "</tbody></table>\n");
}

/*
 * Append the drift table: count, share of the route, whether the
 * baseline lists it (with one), the drift, first and last seen, example
 * ids.
 */
static void
report_html_drifts(struct buf *b, struct report *r, size_t shown)
{
	struct report_drift	*rd;
	char			 t1[64], t2[64];
	size_t			 i, j;

	buf_printf(b, "<h2>Drifts</h2>\n<p class=\"meta\">%zu drift%s",
	    r->ndrifts, r->ndrifts == 1 ? "" : "s");
	if (r->baseline != NULL)
		buf_printf(b, ", %zu new, %zu in the baseline",
		    r->ndrifts - r->nbaselined, r->nbaselined);
	if (shown != r->ndrifts)
		buf_printf(b, ", the top %zu shown", shown);
	buf_addstr(b, "</p>\n<table id=\"drifts\">\n<thead><tr>"
	    "<th>count</th><th>share of route</th>");
	if (r->baseline != NULL)
		buf_addstr(b, "<th class=\"name\">baseline</th>");
	buf_addstr(b, "<th class=\"name\">drift</th>"
	    "<th class=\"name\">first seen</th><th class=\"name\">last seen"
	    "</th><th class=\"name\">examples</th></tr></thead>\n<tbody>\n");
	for (i = 0; i < shown; i++) {
		rd = r->drifts[i];
		format_rfc3339(&rd->first, t1, sizeof t1);
		format_rfc3339(&rd->last, t2, sizeof t2);
		buf_printf(b, "<tr><td>%llu</td><td>%.1f%%</td>",
		    (unsigned long long)rd->count,
		    100 * report_drift_share(rd));
		if (r->baseline != NULL)
			buf_printf(b, "<td class=\"name%s\">%s</td>",
			    rd->baselined ? "" : " bad",
			    rd->baselined ? "yes" : "no");
		buf_addstr(b, "<td class=\"name\">");
		report_html_str(b, rd->text);
		buf_printf(b, "</td><td class=\"name time\">%s</td>"
		    "<td class=\"name time\">%s</td><td class=\"name\">",
		    t1, t2);
		for (j = 0; j < rd->nex; j++) {
			if (j != 0)
				buf_addstr(b, " ");
			report_html_str(b, rd->ex[j].id);
		}
		buf_addstr(b, "</td></tr>\n");
	}
	buf_addstr(b, "</tbody></table>\n");
}

/*
 * Append one example exchange: its request (line, headers, body), its
 * folded diffs, then each side's headers and body side by side.
 */
static void
report_html_exchange(struct buf *b, const struct exchange *ex)
{
	const struct http_request	*req = &ex->ex_req;
	char				 t[64];

	format_rfc3339(&ex->ex_ts, t, sizeof t);
	buf_addstr(b, "<div class=\"exchange\" data-id=\"");
	report_html_str(b, ex->ex_id);
	buf_addstr(b, "\">\n<p class=\"meta\">id <code>");
	report_html_str(b, ex->ex_id);
	buf_printf(b, "</code> at %s</p>\n<div class=\"request\"><h4>request "
	    "<code>", t);
	report_html_str(b, req->method != NULL ? req->method : "?");
	buf_addstr(b, " ");
	report_html_str(b, req->target != NULL ? req->target : "?");
	buf_addstr(b, "</code></h4>");
	report_html_headers(b, &req->headers);
	if (req->body.len != 0) {
		buf_addstr(b, "<pre class=\"request-body\">");
		report_html_esc(b, req->body.data, req->body.len);
		buf_addstr(b, "</pre>");
		if (ex->ex_req_truncated)
			buf_addstr(b, "<p class=\"meta\">body cut</p>");
	}
	buf_addstr(b, "</div>\n");
	report_html_diffs(b, ex);
	buf_addstr(b, "<div class=\"side-by-side\">\n");
	report_html_side(b, ex, SIDE_PRIMARY);
	report_html_side(b, ex, SIDE_CANDIDATE);
	buf_addstr(b, "</div>\n</div>\n");
}

/* Append the examples of each signature shown. */
static void
report_html_examples(struct buf *b, struct report *r, size_t shown)
{
	struct report_sig	*s;
	size_t			 i, j;

	if (shown == 0 || r->keep_examples == 0)
		return;
	buf_addstr(b, "<h2>Examples</h2>\n");
	for (i = 0; i < shown; i++) {
		s = r->sigs[i];
		buf_printf(b, "<section class=\"example\" id=\"example-%zu\">"
		    "<h3>", i + 1);
		report_html_str(b, s->text);
		buf_printf(b, "</h3>\n<p class=\"meta\">%llu exchange%s; "
		    "the earliest %zu:</p>\n", (unsigned long long)s->count,
		    s->count == 1 ? "" : "s", s->nexamples);
		for (j = 0; j < s->nexamples; j++)
			report_html_exchange(b, s->examples[j]);
		buf_addstr(b, "</section>\n");
	}
}

/*
 * Print the report as one HTML page (examples need a report made with
 * keep_examples); return 0, or -1 on a write error.
 */
int
report_html(struct report *r, size_t top, FILE *f)
{
	struct buf	 b;
	char		 t1[64], t2[64];
	size_t		 i;

	report_sort(r);
	buf_init(&b);
	buf_addstr(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<title>paritytap report</title>\n"
	    "<style>\n");
	buf_addstr(&b, report_html_style);
	buf_addstr(&b, "</style>\n</head>\n<body>\n"
	    "<h1>paritytap report</h1>\n");
	buf_printf(&b, "<p class=\"meta\" id=\"summary\">%llu exchange%s from "
	    "%zu capture%s", (unsigned long long)r->all.sc.total,
	    r->all.sc.total == 1 ? "" : "s", r->ninputs,
	    r->ninputs == 1 ? "" : "s");
	if (r->all.sc.total != 0) {
		format_rfc3339(&r->first, t1, sizeof t1);
		format_rfc3339(&r->last, t2, sizeof t2);
		buf_printf(&b, ", %s to %s", t1, t2);
	}
	buf_addstr(&b, "</p>\n<ul class=\"meta\" id=\"captures\">\n");
	for (i = 0; i < r->ninputs; i++) {
		buf_addstr(&b, "<li><code>");
		report_html_str(&b, r->inputs[i].name);
		buf_printf(&b, "</code>: %llu exchange%s</li>\n",
		    (unsigned long long)r->inputs[i].exchanges,
		    r->inputs[i].exchanges == 1 ? "" : "s");
	}
	buf_addstr(&b, "</ul>\n");
	report_html_tables(&b, r);

	buf_addstr(&b, "<h2>Latency</h2>\n<p class=\"legend meta\">"
	    "<span style=\"background:#2f5d8c\"></span>primary"
	    "<span style=\"background:#e0892f\"></span>candidate</p>\n"
	    "<div class=\"charts\" id=\"latency\">\n");
	for (i = 0; i < r->nroutes; i++)
		report_html_chart(&b, r->routes[i]);
	buf_addstr(&b, "</div>\n");

	report_html_sigs(&b, r, report_shown(r, top));
	report_html_drifts(&b, r, report_drifts_shown(r, top));
	report_html_examples(&b, r, report_shown(r, top));
	buf_addstr(&b, "</body>\n</html>\n");
	fwrite(b.data, 1, b.len, f);
	buf_free(&b);
	return (ferror(f) ? -1 : 0);
}
