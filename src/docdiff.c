/*
 * The diff engine: two JSON or JSONL files compared document by document
 * with the proxy's engine, for parity probes of artifacts that are not
 * HTTP (session logs, materialized JSONL).  A is the primary side, B the
 * candidate.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "paritytap.h"

/* One document of an input: a span of its text and where it starts. */
struct docdiff_doc {
	const char	*text;
	size_t		 len;
	size_t		 line;
};

/* One input file, read whole and split into documents. */
struct docdiff_input {
	const char	*name;
	struct buf	 content;
	struct docdiff_doc	*docs;
	size_t		 ndocs;
	struct json_doc	 whole;		/* the file as one document, parsed */
};

/* The outcome of one document pair. */
struct docdiff_result {
	size_t		 index;
	size_t		 line_a;	/* 0: A has no such document */
	size_t		 line_b;
	enum verdict	 verdict;
	int		 invalid;	/* a side does not parse */
	int		 missing;	/* a side has no document */
	int		 shape_match;
	int		 exact_match;
	int		 flagged;	/* a divergence or an error */
	struct diff_list diffs;
};

/* Totals for the summary. */
struct docdiff_totals {
	uint64_t	 documents;
	uint64_t	 shape_match;
	uint64_t	 exact_match;
	uint64_t	 verdicts[VERDICT_NONE + 1];	/* flagged, by verdict */
	uint64_t	 divergences;
	uint64_t	 missing;
	uint64_t	 errors;
	uint64_t	 failing;
};

/* Return 1 if a line holds only JSON white space. */
static int
docdiff_blank(const char *p, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' &&
		    p[i] != '\n')
			return (0);
	}
	return (1);
}

/* Add a document to an input. */
static void
docdiff_add_doc(struct docdiff_input *in, const char *text, size_t len,
    size_t line)
{
	in->docs = xreallocarray(in->docs, in->ndocs + 1, sizeof *in->docs);
	in->docs[in->ndocs].text = text;
	in->docs[in->ndocs].len = len;
	in->docs[in->ndocs].line = line;
	in->ndocs++;
}

/*
 * Split an input's content into documents: the whole of it when it parses
 * as one JSON value, else one per non-blank line (a trailing CR dropped).
 */
static void
docdiff_split(struct docdiff_input *in)
{
	const char		*p = in->content.data, *end, *nl;
	size_t			 line = 1, i;

	if (in->content.len == 0 || docdiff_blank(p, in->content.len))
		return;
	/* Kept, so that a one-document file is parsed once. */
	if (json_doc_read(&in->whole, p, in->content.len) == 0) {
		for (i = 0; p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
		    p[i] == '\n'; i++) {
			if (p[i] == '\n')
				line++;
		}
		docdiff_add_doc(in, p, in->content.len, line);
		return;
	}
	end = p + in->content.len;
	for (; p < end; p = nl + 1, line++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (!docdiff_blank(p, (size_t)(nl - p)))
			docdiff_add_doc(in, p, (size_t)(nl - p) -
			    (nl > p && nl[-1] == '\r'), line);
	}
}

/* Read an input whole ("-": stdin); 0, or -1 with an allocated cause. */
static int
docdiff_read(struct docdiff_input *in, const char *name, char **cause)
{
	struct stat	 st;
	gzFile		 gz;
	char		 chunk[65536];
	int		 fd, n, zerr;
	const char	*zmsg;

	memset(in, 0, sizeof *in);
	in->name = name;
	buf_init(&in->content);
	if (strcmp(name, "-") == 0) {
		if ((fd = dup(STDIN_FILENO)) == -1) {
			xasprintf(cause, "cannot read stdin: %s",
			    strerror(errno));
			return (-1);
		}
	} else if ((fd = open(name, O_RDONLY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "cannot open %s: %s", name, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		xasprintf(cause, "cannot read %s: %s", name, strerror(EISDIR));
		close(fd);
		return (-1);
	}
	/* gzread passes a file that is not gzip through unchanged. */
	if ((gz = gzdopen(fd, "rb")) == NULL)
		fatalx("%s: gzdopen failed", __func__);
	while ((n = gzread(gz, chunk, sizeof chunk)) > 0)
		buf_add(&in->content, chunk, (size_t)n);
	if (n < 0) {
		zmsg = gzerror(gz, &zerr);
		xasprintf(cause, "cannot read %s: %s", strcmp(name, "-") == 0 ?
		    "stdin" : name, zerr == Z_ERRNO ? strerror(errno) : zmsg);
		gzclose(gz);
		return (-1);
	}
	gzclose(gz);
	if (in->content.data == NULL)
		buf_add(&in->content, "", 0);
	docdiff_split(in);
	log_info("%s: %zu document%s (%s), %zu bytes", strcmp(name, "-") ==
	    0 ? "stdin" : name, in->ndocs, in->ndocs == 1 ? "" : "s",
	    in->whole.root != NULL ? "one JSON value" : "one a line",
	    in->content.len);
	return (0);
}

/* Free an input. */
static void
docdiff_input_free(struct docdiff_input *in)
{
	buf_free(&in->content);
	free(in->docs);
	json_doc_free(&in->whole);
}

/*
 * Parse document index of an input into doc, or point *docp at the parse
 * the split kept.
 */
static void
docdiff_parse(const struct docdiff_input *in, size_t index,
    struct json_doc *doc, const struct json_doc **docp)
{
	if (index == 0 && in->whole.root != NULL) {
		*docp = &in->whole;
		return;
	}
	json_doc_read(doc, in->docs[index].text, in->docs[index].len);
	*docp = doc;
}

/* Compare document pair r->index of a and b into r. */
static void
docdiff_one(const struct docdiff_opts *conf, const struct docdiff_input *a,
    const struct docdiff_input *b, struct docdiff_result *r)
{
	const struct docdiff_doc	*da = NULL, *db = NULL;
	const struct json_doc	*ja, *jb;
	struct json_doc		 pa, pb;
	struct diff		*d;
	size_t			 i;

	if (r->index < a->ndocs)
		da = &a->docs[r->index];
	if (r->index < b->ndocs)
		db = &b->docs[r->index];
	r->line_a = da != NULL ? da->line : 0;
	r->line_b = db != NULL ? db->line : 0;
	diff_list_init(&r->diffs, conf->co.max_diffs);

	if (da == NULL || db == NULL) {
		/* A whole document absent is its shape missing at $. */
		r->missing = 1;
		r->verdict = VERDICT_SHAPE;
		if ((d = diff_list_add(&r->diffs, da == NULL ? DIFF_EXTRA :
		    DIFF_MISSING, "$", SIDE_CANDIDATE)) != NULL)
			xasprintf(&d->detail, "%s has no document %zu",
			    da == NULL ? "A" : "B", r->index + 1);
		return;
	}
	memset(&pa, 0, sizeof pa);
	memset(&pb, 0, sizeof pb);
	docdiff_parse(a, r->index, &pa, &ja);
	docdiff_parse(b, r->index, &pb, &jb);
	r->verdict = compare_json_docs(&conf->co, NULL, ja, jb, &r->diffs);
	json_doc_free(&pa);
	json_doc_free(&pb);
	for (i = 0; i < r->diffs.n; i++) {
		if (r->diffs.v[i].kind == DIFF_INVALID_JSON ||
		    r->diffs.v[i].kind == DIFF_DEPTH)
			r->invalid = 1;
	}
	/* Never a match when a side does not parse, even both the same. */
	if (r->invalid) {
		r->verdict = VERDICT_BODY;
		return;
	}
	r->shape_match = r->verdict == VERDICT_MATCH ||
	    r->verdict == VERDICT_VALUE;
	/*
	 * Exact mode asks the engine the same question with values counted:
	 * every value it finds different is a diff at its path, so a
	 * document matches exactly when the engine finds nothing.
	 */
	if (conf->mode == DOCDIFF_EXACT)
		r->exact_match = r->verdict == VERDICT_MATCH;
}

/* Return 1 if a result makes the exit status 1. */
static int
docdiff_failing(const struct docdiff_opts *conf, const struct docdiff_result *r)
{
	return (r->invalid || conf->fail_on[r->verdict]);
}

/* Append "line N" (or "line A/B" when the sides' lines differ). */
static void
docdiff_line_label(struct buf *b, const struct docdiff_result *r)
{
	if (r->line_a == r->line_b)
		buf_printf(b, "line %zu", r->line_a);
	else if (r->line_b == 0)
		buf_printf(b, "line %zu/-", r->line_a);
	else if (r->line_a == 0)
		buf_printf(b, "line -/%zu", r->line_b);
	else
		buf_printf(b, "line %zu/%zu", r->line_a, r->line_b);
}

/* Append one diff's token to a DIVERGE line. */
static void
docdiff_token(struct buf *b, const struct diff *d)
{
	const char	*path = d->path != NULL ? d->path : "$";
	const char	*kind = diff_name(d);

	switch (d->kind) {
	case DIFF_TYPE:
		buf_printf(b, " %s type(%s->%s)", path,
		    d->primary != NULL ? d->primary : "?",
		    d->candidate != NULL ? d->candidate : "?");
		break;
	case DIFF_VALUE:
		buf_printf(b, " %s value", path);
		if (d->hint != NULL && strcmp(d->hint, "order") == 0)
			buf_addstr(b, "(order)");
		break;
	case DIFF_INVALID_JSON:
	case DIFF_DEPTH:
	case DIFF_DUPLICATE_KEY:
		buf_printf(b, " %s(%s)", kind, side_name(d->side));
		if (d->detail != NULL)
			buf_printf(b, " [%s]", d->detail);
		break;
	default:
		if (d->side >= 0)
			buf_printf(b, " %s %s(%s)", path, kind,
			    side_name(d->side));
		else
			buf_printf(b, " %s %s", path, kind);
		if (d->kind == DIFF_MISSING && d->hint_path != NULL)
			buf_printf(b, " (renamed to %s?)", d->hint_path);
		break;
	}
}

/* Print the DIVERGE line of a flagged result on stderr. */
static void
docdiff_flag(const struct docdiff_opts *conf, const struct docdiff_result *r)
{
	struct buf	 b;
	const char	*esc = NULL;
	size_t		 i;

	buf_init(&b);
	docdiff_line_label(&b, r);
	for (i = 0; i < r->diffs.n; i++) {
		if (b.len > 2000) {
			buf_addstr(&b, " +more");
			break;
		}
		docdiff_token(&b, &r->diffs.v[i]);
	}
	if (i == r->diffs.n && r->diffs.truncated)
		buf_addstr(&b, " +more");
	/* Keys come from the inputs: no control bytes to the terminal. */
	for (i = 0; i < b.len; i++) {
		if ((unsigned char)b.data[i] < 0x20 || b.data[i] == 0x7f)
			b.data[i] = '?';
	}
	if (conf->color)
		esc = r->verdict == VERDICT_VALUE ? "\033[33m" : "\033[1;31m";
	if (esc != NULL)
		fprintf(stderr, "%sDIVERGE %s\033[0m %s\n", esc,
		    verdict_name(r->verdict), b.data);
	else
		fprintf(stderr, "DIVERGE %s %s\n", verdict_name(r->verdict),
		    b.data);
	buf_free(&b);
}

/* Return the JSON of one result (new reference). */
static json_t *
docdiff_result_json(const struct docdiff_opts *conf,
    const struct docdiff_result *r)
{
	json_t			*o, *list, *dj;
	const struct diff	*d;
	size_t			 i;

	list = json_array();
	for (i = 0; i < r->diffs.n; i++) {
		d = &r->diffs.v[i];
		dj = json_pack("{s:s}", "kind", diff_name(d));
		if (d->path != NULL)
			json_object_set_new(dj, "path", json_string(d->path));
		if (d->side >= 0)
			json_object_set_new(dj, "side",
			    json_string(side_name(d->side)));
		if (d->primary != NULL)
			json_object_set_new(dj, "primary",
			    json_string(d->primary));
		if (d->candidate != NULL)
			json_object_set_new(dj, "candidate",
			    json_string(d->candidate));
		if (d->detail != NULL)
			json_object_set_new(dj, "detail",
			    json_string(d->detail));
		if (d->hint != NULL)
			json_object_set_new(dj, "hint", json_string(d->hint));
		if (diff_hint_key(d) != NULL)
			json_object_set_new(dj, diff_hint_key(d),
			    json_string(d->hint_path));
		json_array_append_new(list, dj);
	}
	o = json_pack("{s:I, s:s, s:b, s:b, s:b}", "document",
	    (json_int_t)r->index + 1, "verdict", verdict_name(r->verdict),
	    "shape_match", r->shape_match, "flagged", r->flagged,
	    "invalid", r->invalid);
	if (conf->mode == DOCDIFF_EXACT)
		json_object_set_new(o, "exact_match",
		    json_boolean(r->exact_match));
	json_object_set_new(o, "line_a", r->line_a != 0 ?
	    json_integer((json_int_t)r->line_a) : json_null());
	json_object_set_new(o, "line_b", r->line_b != 0 ?
	    json_integer((json_int_t)r->line_b) : json_null());
	json_object_set_new(o, "diffs", list);
	if (r->diffs.truncated)
		json_object_set_new(o, "diffs_truncated", json_true());
	return (o);
}

/* Add one to the count of key in o. */
static void
docdiff_count(json_t *o, const char *key)
{
	json_int_t	 n;

	n = json_integer_value(json_object_get(o, key));
	json_object_set_new(o, key, json_integer(n + 1));
}

/* Return the summary line, allocated. */
static char *
docdiff_summary(const struct docdiff_opts *conf, const struct docdiff_totals *t)
{
	static const enum verdict order[] = {
		VERDICT_SHAPE, VERDICT_BODY, VERDICT_VALUE
	};
	struct buf	 b;
	size_t		 i;
	uint64_t	 n;

	buf_init(&b);
	buf_printf(&b, "%llu document%s: %llu/%llu shape match",
	    (unsigned long long)t->documents, t->documents == 1 ? "" : "s",
	    (unsigned long long)t->shape_match,
	    (unsigned long long)t->documents);
	if (conf->mode == DOCDIFF_EXACT)
		buf_printf(&b, " \xc2\xb7 %llu/%llu exact match",
		    (unsigned long long)t->exact_match,
		    (unsigned long long)t->documents);
	for (i = 0; i < sizeof order / sizeof order[0]; i++) {
		if ((n = t->verdicts[order[i]]) == 0)
			continue;
		buf_printf(&b, " \xc2\xb7 %llu %s divergence%s",
		    (unsigned long long)n, verdict_name(order[i]),
		    n == 1 ? "" : "s");
		if (order[i] == VERDICT_SHAPE && t->missing != 0)
			buf_printf(&b, " (%llu missing document%s)",
			    (unsigned long long)t->missing,
			    t->missing == 1 ? "" : "s");
	}
	if (t->divergences == 0)
		buf_addstr(&b, " \xc2\xb7 0 divergences");
	buf_printf(&b, " \xc2\xb7 %llu error%s", (unsigned long long)t->errors,
	    t->errors == 1 ? "" : "s");
	return (buf_detach(&b));
}

/* Compare every document pair, report, and return the exit status. */
static int
docdiff_pairs(const struct docdiff_opts *conf, const struct docdiff_input *a,
    const struct docdiff_input *b)
{
	struct docdiff_totals	 t;
	struct docdiff_result	 r;
	json_t			*out = NULL, *results = NULL;
	json_t			*verdicts = NULL;
	char			*summary, *s;
	size_t			 n, i;

	memset(&t, 0, sizeof t);
	n = a->ndocs > b->ndocs ? a->ndocs : b->ndocs;
	if (conf->json) {
		results = json_array();
		verdicts = json_object();
	}
	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof r);
		r.index = i;
		docdiff_one(conf, a, b, &r);
		t.documents++;
		t.shape_match += r.shape_match;
		t.exact_match += r.exact_match;
		if (r.invalid) {
			r.flagged = 1;
			t.errors++;
		} else if (r.verdict != VERDICT_MATCH &&
		    (conf->mode == DOCDIFF_EXACT || !r.shape_match ||
		    conf->fail_on[r.verdict])) {
			r.flagged = 1;
			t.divergences++;
			t.verdicts[r.verdict]++;
			t.missing += r.missing;
		}
		if (results != NULL)
			docdiff_count(verdicts, r.invalid ? "invalid" :
			    verdict_name(r.verdict));
		if (docdiff_failing(conf, &r))
			t.failing++;
		if (r.flagged && !log_quiet)
			docdiff_flag(conf, &r);
		if (results != NULL)
			json_array_append_new(results, docdiff_result_json(conf, &r));
		diff_list_free(&r.diffs);
	}

	summary = docdiff_summary(conf, &t);
	if (n == 0)
		fprintf(stderr, "paritytap diff: %s and %s hold no documents: "
		    "an empty comparison is not parity\n", a->name, b->name);
	if (conf->json) {
		out = json_pack("{s:s, s:s, s:s, s:I, s:I}", "mode",
		    conf->mode == DOCDIFF_EXACT ? "exact" : "shape", "a", a->name,
		    "b", b->name, "documents", (json_int_t)t.documents,
		    "shape_match", (json_int_t)t.shape_match);
		if (conf->mode == DOCDIFF_EXACT)
			json_object_set_new(out, "exact_match",
			    json_integer((json_int_t)t.exact_match));
		json_object_set_new(out, "divergences",
		    json_integer((json_int_t)t.divergences));
		json_object_set_new(out, "missing",
		    json_integer((json_int_t)t.missing));
		json_object_set_new(out, "errors",
		    json_integer((json_int_t)t.errors));
		json_object_set_new(out, "failing",
		    json_integer((json_int_t)t.failing));
		/* Every command's JSON shares these; a pair is an exchange. */
		json_object_set_new(out, "exchanges",
		    json_integer((json_int_t)t.documents));
		json_object_set_new(out, "verdicts", verdicts);
		json_object_set_new(out, "summary", json_string(summary));
		json_object_set_new(out, "results", results);
		if ((s = json_dumps(out, JSON_COMPACT)) == NULL)
			fatalx("%s: json_dumps failed", __func__);
		printf("%s\n", s);
		free(s);
		json_decref(out);
	} else
		printf("paritytap diff: %s\n", summary);
	free(summary);
	fflush(stdout);
	if (t.failing != 0 || n == 0)
		return (EXIT_DIVERGE);
	return (EXIT_OK);
}


/*
 * Read files a and b ("-" is stdin), compare them and print the report;
 * return the exit status.
 */
int
docdiff_run(const struct docdiff_opts *conf, const char *path_a,
    const char *path_b)
{
	struct docdiff_input	 a, b;
	char			*cause;
	int			 status = EXIT_USAGE;

	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	if (docdiff_read(&a, path_a, &cause) != 0 ||
	    docdiff_read(&b, path_b, &cause) != 0) {
		fprintf(stderr, "paritytap diff: %s\n", cause);
		free(cause);
		goto out;
	}
	status = docdiff_pairs(conf, &a, &b);
out:
	docdiff_input_free(&a);
	docdiff_input_free(&b);
	return (status);
}
