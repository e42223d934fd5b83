/*
 * The one option path of every command: a command declares a table of
 * struct options_entry; getopt_long's options, the short-option string,
 * the config file's keys and the option lines of --help are made from
 * it.  Here too: the config file's [compare] and [route "..."] sections,
 * the setters of the options several commands share (compare, capture,
 * backend, -q, -v, --color) and the usage error.  Each command keeps a
 * setter for its own options that calls options_set first.
 */

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "paritytap.h"

/* One flag from the command line, applied after the config file. */
struct options_flag {
	const char	*name;
	const char	*value;
};

/* What the config file callback needs to reach the command's setter. */
struct options_load_state {
	struct options	*o;
	options_set_cb	 set;
	void		*arg;
};

static char	*options_not_ignore(char *);

/*
 * Options renamed so that one concept has one name in every command.
 * The old name still works, on the command line and as a config key,
 * for one release; using it says the new name once.
 */
static const struct {
	const char	*command;
	const char	*old;
	const char	*new;
} options_renamed[] = {
	{ "record", "max-bytes", "max-body" },
};
#define OPTIONS_NRENAMED (sizeof options_renamed / sizeof options_renamed[0])

/* The new name of an old option name of the command. */
static const char *
options_renamed_new(const struct options *o, const char *old)
{
	size_t	 j;

	for (j = 0; j < OPTIONS_NRENAMED; j++) {
		if (strcmp(options_renamed[j].command, o->command) == 0 &&
		    strcmp(options_renamed[j].old, old) == 0)
			return (options_renamed[j].new);
	}
	fatalx("%s: --%s is no old name", o->command, old);
}

/* Help lines are wrapped to fit this many columns. */
#define OPTIONS_HELP_WIDTH	77

/* Keys that belong in [compare] rather than the command's section. */
static const char *options_compare_keys[] = {
	"ignore", "ignore-header", "strict-order", "lenient-numbers",
	"noise-min-sample", "noise-relative", "noise-absolute",
	"unordered", "ignore-content-type-params", "normalize",
	NULL
};

/* Return the number of entries of a table. */
static size_t
options_count(const struct options_entry *table)
{
	size_t	 n;

	for (n = 0; table[n].name != NULL; n++)
		/* nothing */;
	return (n);
}

/*
 * Set up the options of command from its table: getopt_long's options
 * (an option without a letter gets OPTIONS_OWN + its index) and the
 * short-option string; the backend options go straight to the command's
 * fields in t, which may be NULL or leave some NULL.
 */
void
options_init(struct options *o, const char *command,
    const struct options_entry *table, const struct options_target *t)
{
	struct buf	 b;
	size_t		 n, i, j;

	memset(o, 0, sizeof *o);
	o->command = command;
	o->table = table;
	n = options_count(table);
	o->longopts = xcalloc(n + OPTIONS_NRENAMED + 1, sizeof *o->longopts);
	buf_init(&b);
	buf_addstr(&b, ":");
	for (i = 0; i < n; i++) {
		o->longopts[i].name = table[i].name;
		o->longopts[i].has_arg = table[i].arg != NULL ?
		    required_argument : no_argument;
		o->longopts[i].val = table[i].letter != 0 ? table[i].letter :
		    OPTIONS_OWN + (int)i;
		if (table[i].letter != 0)
			buf_printf(&b, "%c%s", table[i].letter,
			    table[i].arg != NULL ? ":" : "");
	}
	o->shortopts = buf_detach(&b);
	o->ntable = o->nlong = n;
	/* An old name is the new one's getopt value under another name. */
	for (j = 0; j < OPTIONS_NRENAMED; j++) {
		if (strcmp(options_renamed[j].command, command) != 0)
			continue;
		for (i = 0; i < n; i++) {
			if (strcmp(table[i].name, options_renamed[j].new) == 0)
				break;
		}
		if (i == n)
			fatalx("%s: no option --%s", command,
			    options_renamed[j].new);
		o->longopts[o->nlong] = o->longopts[i];
		o->longopts[o->nlong].name = options_renamed[j].old;
		o->nlong++;
	}
	if (t != NULL)
		o->t = *t;
	if (o->t.max_body != NULL)
		*o->t.max_body = DEFAULT_MAX_BODY;
	if (o->t.trace_header != NULL)
		*o->t.trace_header = DEFAULT_TRACE_HEADER;
	o->co.trace_header = DEFAULT_TRACE_HEADER;
	alert_opts_init(&o->alert);
	flag_opts_init(&o->flag);
}

/*
 * Put one word of an option's help text at column *at: the first after
 * the option (from column, or two spaces past a long option), the next
 * on the same line while it fits, else on a new line at column.
 */
static void
options_help_word(FILE *f, const char *word, int len, int *at, int first,
    int newline, int column)
{
	if (first && *at + 2 > column)
		*at += fprintf(f, "  ");
	else if (first)
		*at += fprintf(f, "%*s", column - *at, "");
	else if (newline || *at + 1 + len > OPTIONS_HELP_WIDTH) {
		fprintf(f, "\n%*s", column, "");
		*at = column;
	} else
		*at += fprintf(f, " ");
	*at += fprintf(f, "%.*s", len, word);
}

/*
 * Print the option lines of a table for --help: "  -x, --name ARG" then
 * the help text from column on, wrapped, and the default in brackets as
 * one word.  A newline in the help text starts a new line.
 */
void
options_help(FILE *f, const struct options_entry *table, int column)
{
	const struct options_entry	*e;
	const char			*p;
	char				*dflt;
	int				 at, first, newline;
	size_t				 len;

	for (e = table; e->name != NULL; e++) {
		if (e->help == NULL)
			continue;
		if (e->letter != 0)
			at = fprintf(f, "  -%c, --%s", e->letter, e->name);
		else
			at = fprintf(f, "      --%s", e->name);
		if (e->arg != NULL)
			at += fprintf(f, " %s", e->arg);
		first = 1;
		for (p = e->help; *p != '\0'; p += len) {
			newline = 0;
			for (; *p == ' ' || *p == '\n'; p++) {
				if (*p == '\n')
					newline = 1;
			}
			if ((len = strcspn(p, " \n")) == 0)
				break;
			options_help_word(f, p, (int)len, &at, first, newline,
			    column);
			first = 0;
		}
		if (e->dflt != NULL) {
			xasprintf(&dflt, "[%s]", e->dflt);
			options_help_word(f, dflt, (int)strlen(dflt), &at, first,
			    0, column);
			free(dflt);
		}
		fprintf(f, "\n");
	}
}

/* Keep a copy of a string for the life of the command. */
const char *
options_keep(struct options *o, const char *s)
{
	if (o->nstrings == sizeof o->strings / sizeof o->strings[0])
		fatalx("too many string options");
	return (o->strings[o->nstrings++] = xstrdup(s));
}

/* Parse a boolean config value (NULL is a flag given: true). */
int
options_bool(const char *name, const char *value, int *out, char **cause)
{
	if (value == NULL || strcasecmp(value, "true") == 0 ||
	    strcasecmp(value, "yes") == 0 || strcmp(value, "1") == 0 ||
	    strcasecmp(value, "on") == 0)
		*out = 1;
	else if (strcasecmp(value, "false") == 0 ||
	    strcasecmp(value, "no") == 0 || strcmp(value, "0") == 0 ||
	    strcasecmp(value, "off") == 0)
		*out = 0;
	else {
		xasprintf(cause, "%s: '%s' is not true or false", name, value);
		return (-1);
	}
	return (0);
}

/* Wrap a value parser's cause with the option name. */
int
options_cause(const char *name, char *why, char **cause)
{
	xasprintf(cause, "--%s: %s", name, why);
	free(why);
	return (-1);
}

/*
 * --format text|json, in the commands whose JSON output is --json: one
 * name or the other works in every command.
 */
int
options_text_json(const char *name, const char *value, int *json,
    char **cause)
{
	if (strcmp(value, "text") == 0)
		*json = 0;
	else if (strcmp(value, "json") == 0)
		*json = 1;
	else {
		xasprintf(cause, "--%s: '%s' is not text or json", name, value);
		return (-1);
	}
	return (0);
}

/* Parse a millisecond count within limits. */
int
options_ms(const char *name, const char *value, int *out, char **cause)
{
	uint64_t	 v;

	if (options_duration(name, value, 1, 1, 86400000, &v, cause) != 0)
		return (-1);
	*out = (int)v;
	return (0);
}

/*
 * Parse a comma list of verdict names into a bit set (1 << verdict);
 * only the verdicts in allowed (the same bits) may be named, and the
 * error lists them.
 */
int
options_verdicts(const char *name, const char *value, unsigned allowed,
    unsigned *out, char **cause)
{
	char		*copy, *tok, *save;
	struct buf	 b;
	enum verdict	 v;
	int		 rv = 0;

	*out = 0;
	copy = xstrdup(value);
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save)) {
		if (verdict_from_name(tok, &v) != 0 ||
		    (allowed & (1u << v)) == 0) {
			buf_init(&b);
			for (v = 0; v < VERDICT_NONE; v++) {
				if (allowed & (1u << v))
					buf_printf(&b, "%s%s", b.len != 0 ?
					    ", " : "", verdict_name(v));
			}
			xasprintf(cause, "--%s: unknown verdict '%s' (one of "
			    "%s)", name, tok, b.data);
			buf_free(&b);
			rv = -1;
			break;
		}
		*out |= 1u << v;
	}
	free(copy);
	return (rv);
}

/*
 * Parse a duration into milliseconds: a number with a unit ("500ms",
 * "2s", "10m", "1h", "1.5s"), or a bare number in unit_ms units; between
 * min_ms and max_ms.  The error names the option and, for a bare number,
 * the unit it was taken in.
 */
int
options_duration(const char *name, const char *value, uint64_t unit_ms,
    uint64_t min_ms, uint64_t max_ms, uint64_t *ms, char **cause)
{
	static const struct {
		const char	*suffix;
		double		 ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }
	};
	const char	*unit_name = unit_ms == 1 ? "milliseconds" :
			    unit_ms == 1000 ? "seconds" : unit_ms == 60000 ?
			    "minutes" : "hours";
	char		*end, *why;
	double		 v, mult = (double)unit_ms;
	size_t		 i;

	if (value == NULL || *value == '\0' ||
	    !((*value >= '0' && *value <= '9') || *value == '.')) {
		xasprintf(&why, "\"%s\" is not a duration (a number and a "
		    "unit: ms, s, m, h)", value != NULL ? value : "");
		return (options_cause(name, why, cause));
	}
	errno = 0;
	v = strtod(value, &end);
	if (end != value + strspn(value, "0123456789.")) {
		xasprintf(&why, "\"%s\" is not a duration (a number and a "
		    "unit: ms, s, m, h)", value);
		return (options_cause(name, why, cause));
	}
	if (*end != '\0') {
		for (i = 0; i < sizeof units / sizeof units[0]; i++) {
			if (strcmp(end, units[i].suffix) == 0)
				break;
		}
		if (i == sizeof units / sizeof units[0]) {
			xasprintf(&why, "\"%s\": unknown unit \"%s\" (ms, s, "
			    "m, h)", value, end);
			return (options_cause(name, why, cause));
		}
		mult = units[i].ms;
	}
	v *= mult;
	if (errno != 0 || v != v || v < (double)min_ms || v > (double)max_ms) {
		if (*end == '\0')
			xasprintf(&why, "%s %s: out of range (%llums to "
			    "%llums)", value, unit_name,
			    (unsigned long long)min_ms,
			    (unsigned long long)max_ms);
		else
			xasprintf(&why, "%s: out of range (%llums to %llums)",
			    value, (unsigned long long)min_ms,
			    (unsigned long long)max_ms);
		return (options_cause(name, why, cause));
	}
	*ms = (uint64_t)(v + 0.5);
	return (0);
}

/*
 * The noise learner's options: 0 if name is one (with *cause set on a
 * bad value), -1 if it is not.
 */
static int
options_noise(struct noise_opts *no, const char *name, const char *value,
    char **cause)
{
	unsigned long long	 n;
	double			 pct;
	char			*end;

	if (!no->set)
		noise_opts_init(no);
	*cause = NULL;
	if (strcmp(name, "noise-min-sample") == 0) {
		errno = 0;
		n = strtoull(value, &end, 10);
		if (*value == '\0' || *end != '\0' || errno != 0 || n < 1 ||
		    n > 1000000 || *value == '-')
			xasprintf(cause, "--%s: '%s' is not a number from 1 to "
			    "1000000", name, value);
		else
			no->min_sample = (unsigned)n;
		return (0);
	}
	if (strcmp(name, "noise-relative") != 0 &&
	    strcmp(name, "noise-absolute") != 0)
		return (-1);
	errno = 0;
	pct = strtod(value, &end);
	if (*end == '%')
		end++;
	if (*value == '\0' || *end != '\0' || errno != 0 || !(pct >= 0) ||
	    pct > 100)
		xasprintf(cause, "--%s: '%s' is not a percentage from 0 to 100",
		    name, value);
	else if (name[6] == 'r')
		no->relative = pct / 100;
	else
		no->absolute = pct / 100;
	return (0);
}

/* Add or replace one of the candidate's own headers. */
void
options_shadow_set(struct shadow_opts *so, const char *name, const char *value)
{
	size_t	 i, n;

	for (i = 0; i < so->n; i++) {
		if (strcasecmp(so->names[i], name) == 0) {
			free(so->values[i]);
			so->values[i] = xstrdup(value);
			return;
		}
	}
	n = so->n;
	strlist_add(&so->names, &n, name);
	strlist_add(&so->values, &so->n, value);
}

/*
 * A value given as $VAR (from the environment) or @FILE (the file's
 * first line), so that a secret stays off the command line; any other
 * value is itself.  Returns NULL with cause.
 */
static char *
options_header_source(const char *option, const char *hname, const char *v,
    char **cause)
{
	FILE	*f;
	char	*line = NULL, *s;
	size_t	 size = 0;
	ssize_t	 n;

	if (*v == '$') {
		if ((s = getenv(v + 1)) == NULL) {
			xasprintf(cause, "--%s: %s: %s is not set", option,
			    hname, v);
			return (NULL);
		}
		return (xstrdup(s));
	}
	if (*v != '@')
		return (xstrdup(v));
	if ((f = fopen(v + 1, "r")) == NULL) {
		xasprintf(cause, "--%s: %s: %s: %s", option, hname, v + 1,
		    strerror(errno));
		return (NULL);
	}
	n = getline(&line, &size, f);
	fclose(f);
	if (n <= 0) {
		free(line);
		xasprintf(cause, "--%s: %s: %s is empty", option, hname,
		    v + 1);
		return (NULL);
	}
	line[strcspn(line, "\r\n")] = '\0';
	return (line);
}

/*
 * Parse 'NAME: VALUE' for --OPTION into a new name and value; with
 * sourced, the value may be $VAR or @FILE.  A header that frames or
 * routes the request (hop-by-hop, Content-Length, Expect, Host) is this
 * hop's to write, not the user's: one of those would desynchronise the
 * backend's connection or hide the real Host.
 */
int
options_header(const char *option, const char *arg, int sourced,
    char **name, char **value, char **cause)
{
	const char	*colon, *v, *p;
	char		*hname, *hvalue, *raw;
	size_t		 nlen, vlen;

	*name = *value = NULL;
	if ((colon = strchr(arg, ':')) == NULL) {
		xasprintf(cause, "--%s: '%s': no colon (NAME: VALUE)", option,
		    arg);
		return (-1);
	}
	nlen = (size_t)(colon - arg);
	if (nlen == 0 || strspn(arg, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~") != nlen) {
		xasprintf(cause, "--%s: '%.*s' is not a header name", option,
		    (int)nlen, arg);
		return (-1);
	}
	hname = xstrndup(arg, nlen);
	if (strcasecmp(hname, "Host") == 0) {
		if (strcmp(option, "candidate-header") == 0)
			xasprintf(cause, "--%s: %s: use --candidate-host",
			    option, hname);
		else
			xasprintf(cause, "--%s: %s cannot be set", option,
			    hname);
		goto fail;
	}
	if (is_hop_by_hop(hname) || strcasecmp(hname, "Content-Length") == 0 ||
	    strcasecmp(hname, "Expect") == 0) {
		xasprintf(cause, "--%s: %s frames the request on its hop; it "
		    "cannot be set", option, hname);
		goto fail;
	}
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		/* nothing */;
	vlen = strlen(v);
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	raw = xstrndup(v, vlen);
	if (sourced) {
		hvalue = options_header_source(option, hname, raw, cause);
		free(raw);
		if (hvalue == NULL)
			goto fail;
	} else
		hvalue = raw;
	for (p = hvalue; *p != '\0'; p++) {
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f) {
			xasprintf(cause, "--%s: %s: the value holds a control "
			    "character (CR, LF, ...)", option, hname);
			free(hvalue);
			goto fail;
		}
	}
	*name = hname;
	*value = hvalue;
	return (0);

fail:
	free(hname);
	return (-1);
}

/* --candidate-header 'NAME: VALUE' and --candidate-host NAME. */
static int
options_shadow(struct shadow_opts *so, const char *name, const char *value,
    char **cause)
{
	char	*hname, *hvalue;

	if (strcmp(name, "candidate-host") == 0) {
		if (*value == '\0' || value[strspn(value,
		    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789-._~:[]!$&'()*+,;=%")] != '\0') {
			xasprintf(cause, "--%s: '%s' is not a host name", name,
			    value);
			return (-1);
		}
		options_shadow_set(so, "Host", value);
		return (0);
	}
	if (options_header(name, value, 0, &hname, &hvalue, cause) != 0)
		return (-1);
	options_shadow_set(so, hname, hvalue);
	free(hname);
	free(hvalue);
	return (0);
}


/* Set one of the capture's --rotate-* options. */
static int
options_rotate(struct capture_opts *cap, const char *name, const char *value,
    char **cause)
{
	uint64_t	 n;
	char		*why;

	if (strcmp(name, "rotate-size") == 0) {
		if (parse_size(value, &cap->rotate_size, &why) != 0)
			return (options_cause(name, why, cause));
	} else if (strcmp(name, "rotate-interval") == 0) {
		/* Below a second, files would be named faster than read. */
		return (options_duration(name, value, 1000, 1000,
		    7ULL * 86400000, &cap->rotate_interval, cause));
	} else if (strcmp(name, "rotate-keep") == 0) {
		if (parse_uint(value, 1, 1000000, &n, &why) != 0)
			return (options_cause(name, why, cause));
		cap->rotate_keep = (unsigned)n;
	} else if (strcmp(name, "rotate-compress") == 0)
		return (options_bool(name, value, &cap->rotate_compress, cause));
	return (0);
}

/*
 * Set one shared option by its long name; value is NULL for flags.
 * Return 1 if it was one, 0 if it is the command's, -1 on error.
 */
int
options_set(struct options *o, const char *name, const char *value,
    char **cause)
{
	char	*why;
	int	 q, rv;

	if ((rv = alert_opts_set(&o->alert, o, name, value, cause)) != 0)
		return (rv);
	if ((rv = flag_opts_set(&o->flag, name, value, cause)) != 0)
		return (rv);
	if (strcmp(name, "primary") == 0)
		*o->t.primary = options_keep(o, value);
	else if (strcmp(name, "candidate") == 0)
		*o->t.candidate = options_keep(o, value);
	else if (strcmp(name, "host") == 0)
		*o->t.host = options_keep(o, value);
	else if (strcmp(name, "secondary") == 0 && o->t.secondary != NULL)
		*o->t.secondary = options_keep(o, value);
	else if (tls_opts_name(name)) {
		if (tls_opts_set(&o->tls, name, options_keep(o, value),
		    cause) != 0)
			return (-1);
	} else if (strcmp(name, "insecure") == 0) {
		if (options_bool(name, value, &o->tls.insecure, cause) != 0)
			return (-1);
	} else if (strcmp(name, "candidate-header") == 0 ||
	    strcmp(name, "candidate-host") == 0) {
		if (options_shadow(&o->shadow, name, value, cause) != 0)
			return (-1);
	}
	else if (strcmp(name, "capture") == 0)
		o->cap.path = options_keep(o, value);
	else if (strncmp(name, "rotate-", 7) == 0) {
		if (options_rotate(&o->cap, name, value, cause) != 0)
			return (-1);
	}
	else if (strcmp(name, "capture-body-limit") == 0) {
		if (parse_size(value, &o->body_limit, &why) != 0)
			return (options_cause(name, why, cause));
	} else if (strcmp(name, "redact-header") == 0)
		strlist_add(&o->cap.redact, &o->cap.nredact, value);
	else if (strcmp(name, "keep-secrets") == 0) {
		if (options_bool(name, value, &o->cap.keep_secrets, cause) != 0)
			return (-1);
	} else if (strcmp(name, "capture-raw-bodies") == 0) {
		if (options_bool(name, value, &o->cap.raw_bodies, cause) != 0)
			return (-1);
	} else if (strcmp(name, "ignore") == 0) {
		if (jsonpath_valid(value, &why) != 0)
			return (options_cause(name, why, cause));
		strlist_add(&o->co.ignore, &o->co.nignore, value);
	} else if (strcmp(name, "ignore-header") == 0)
		strlist_add(&o->co.ignore_headers, &o->co.nignore_headers,
		    value);
	else if (strcmp(name, "strict-order") == 0) {
		if (options_bool(name, value, &o->co.strict_order, cause) != 0)
			return (-1);
	} else if (strcmp(name, "lenient-numbers") == 0) {
		if (options_bool(name, value, &o->co.lenient_numbers,
		    cause) != 0)
			return (-1);
	} else if (strncmp(name, "noise-", 6) == 0 &&
	    options_noise(&o->co.noise, name, value, cause) == 0) {
		if (*cause != NULL)
			return (-1);
	} else if (strcmp(name, "unordered") == 0) {
		if (jsonpath_valid(value, &why) != 0)
			return (options_cause(name, options_not_ignore(why),
			    cause));
		strlist_add(&o->co.unordered, &o->co.nunordered, value);
	} else if (strcmp(name, "ignore-content-type-params") == 0) {
		if (options_bool(name, value, &o->co.ignore_ct_params,
		    cause) != 0)
			return (-1);
	} else if (strcmp(name, "normalize") == 0) {
		if (compare_normalize_add(&o->co.normalize, &o->co.nnormalize,
		    value, &why) != 0)
			return (options_cause(name, why, cause));
	} else if (strcmp(name, "max-body") == 0) {
		if (parse_size(value, o->t.max_body, &why) != 0)
			return (options_cause(name, why, cause));
		if (*o->t.max_body == 0) {
			xasprintf(cause, "--%s: must be at least 1", name);
			return (-1);
		}
	} else if (strcmp(name, "trace-header") == 0) {
		if (*value == '\0' || strpbrk(value, " \t:\r\n") != NULL) {
			xasprintf(cause, "--%s: '%s' is not a header name",
			    name, value);
			return (-1);
		}
		*o->t.trace_header = options_keep(o, value);
	} else if (strcmp(name, "quiet") == 0) {
		if (options_bool(name, value, &q, cause) != 0)
			return (-1);
		log_quiet = q;
	} else if (strcmp(name, "verbose") == 0)
		log_verbose++;
	else if (strcmp(name, "color") == 0) {
		if (use_color(value, STDERR_FILENO, cause) < 0)
			return (-1);
		o->color = options_keep(o, value);
	} else
		return (0);
	return (1);
}

/* Print a usage error of the command and return the usage exit status. */
int
options_usage(const char *command, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "paritytap %s: %s\n", command, msg);
	fprintf(stderr, "Try 'paritytap %s --help'.\n", command);
	free(msg);
	return (EXIT_USAGE);
}

/*
 * The edit distance of a and b, a swap of two neighbours counting one
 * (--candiate is one from --candidate); at most 64 characters each.
 */
static size_t
options_distance(const char *a, const char *b)
{
	size_t	 d[65][65], i, j, la = strlen(a), lb = strlen(b), c;

	if (la > 64 || lb > 64)
		return (SIZE_MAX);
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < c)
				c = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < c)
				c = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < c)
				c = d[i - 2][j - 2] + 1;
			d[i][j] = c;
		}
	}
	return (d[la][lb]);
}

/*
 * The option of this command closest to a misspelt name (without its
 * dashes), or NULL when none is close (a third of the name's letters, at
 * least one) or two are as close: a guess is offered only when it is one.
 */
static const char *
options_closest(const struct options *o, const char *name)
{
	const char	*best = NULL;
	size_t		 i, d, bestd = SIZE_MAX, limit;
	int		 tie = 0;

	limit = strlen(name) / 3 > 1 ? strlen(name) / 3 : 1;
	for (i = 0; i < o->nlong; i++) {
		d = options_distance(name, o->longopts[i].name);
		if (d < bestd) {
			bestd = d;
			best = o->longopts[i].name;
			tie = 0;
		} else if (d == bestd)
			tie = 1;
	}
	if (best == NULL || bestd > limit || tie)
		return (NULL);
	/* Close to an old name: offer the new one. */
	for (i = o->ntable; i < o->nlong; i++) {
		if (o->longopts[i].name == best)
			return (options_renamed_new(o, best));
	}
	return (best);
}

/*
 * An unknown long option: say so, with the closest one when there is
 * one.  arg is as given (--candiate=x).
 */
static int
options_unknown(const struct options *o, const char *arg)
{
	const char	*closest;
	char		*name;

	name = xstrndup(arg + 2, strcspn(arg + 2, "="));
	closest = options_closest(o, name);
	free(name);
	if (closest != NULL)
		return (options_usage(o->command, "unknown option %s (did you "
		    "mean --%s?)", arg, closest));
	return (options_usage(o->command, "unknown option %s", arg));
}

/*
 * Is this section another command's?  One file serves a whole cutover
 * (proxy, then replay and report in CI): each command reads [compare],
 * the routes and its own section, and passes over the others' (as
 * paritytap.c's command table names them).  A section no command has is
 * still an error: it is a typing error.
 */
static int
options_command_section(const char *section)
{
	static const char	*commands[] = {
		"diff", "proxy", "replay", "report", "noise", "rejudge",
		"import", "export", "sniff", "record"
	};
	size_t			 i;

	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(section, commands[i]) == 0)
			return (1);
	return (0);
}

/*
 * An old option name was used: say the new one, once for each name
 * whichever form came first (file is the config file, NULL for the
 * command line), and return the new name.
 */
static const char *
options_renamed_said(struct options *o, const char *old, const char *file)
{
	size_t	 j;

	for (j = 0; j < OPTIONS_NRENAMED; j++) {
		if (strcmp(options_renamed[j].command, o->command) == 0 &&
		    strcmp(options_renamed[j].old, old) == 0)
			break;
	}
	if (j == OPTIONS_NRENAMED)
		fatalx("%s: --%s is no old name", o->command, old);
	if (~o->renamed_said & (1U << j)) {
		o->renamed_said |= 1U << j;
		if (file != NULL)
			fprintf(stderr, "paritytap %s: %s: %s is now %s; the "
			    "old name goes in a later release\n", o->command,
			    file, old, options_renamed[j].new);
		else
			fprintf(stderr, "paritytap %s: --%s is now --%s; the "
			    "old name goes in a later release\n", o->command,
			    old, options_renamed[j].new);
	}
	return (options_renamed[j].new);
}

/*
 * Collect the command line's flags, to apply after the config file (flags
 * win over it).  Return -1 to go on, or the exit status to return now.
 */
int
options_getopt(struct options *o, int argc, char **argv,
    void (*help)(FILE *))
{
	const char	*name;
	char		*shortopts;
	int		 ch, i, longindex = -1;

	o->flags = xcalloc((size_t)argc + 1, sizeof *o->flags);
	/* "+": stop at the first argument, the command record runs. */
	xasprintf(&shortopts, "%s%s", o->in_order ? "+" : "", o->shortopts);
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, o->longopts,
	    &longindex)) != -1) {
		if (ch == '?' || ch == ':') {
			free(shortopts);
			if (ch == ':')
				return (options_usage(o->command,
				    "option %s needs a value",
				    argv[optind - 1]));
			if (optopt != 0)
				return (options_usage(o->command,
				    "unknown option -%c", optopt));
			if (strncmp(argv[optind - 1], "--", 2) == 0)
				return (options_unknown(o, argv[optind - 1]));
			return (options_usage(o->command, "unknown option %s",
			    argv[optind - 1]));
		}
		name = NULL;
		for (i = 0; (size_t)i < o->ntable; i++) {
			if (o->longopts[i].val == ch)
				name = o->longopts[i].name;
		}
		if (longindex >= 0 && (size_t)longindex >= o->ntable)
			options_renamed_said(o, o->longopts[longindex].name,
			    NULL);
		longindex = -1;
		if (strcmp(name, "help") == 0) {
			free(shortopts);
			help(stdout);
			return (EXIT_OK);
		}
		if (strcmp(name, "config") == 0) {
			o->config = optarg;
			continue;
		}
		o->flags[o->nflags].name = name;
		o->flags[o->nflags].value = optarg;
		o->nflags++;
	}
	free(shortopts);
	return (-1);
}

/*
 * jsonpath_valid speaks of an "ignore pattern"; an --unordered path is
 * not one.  Returns the cause reworded (the old one freed).
 */
static char *
options_not_ignore(char *why)
{
	char	*out;

	if (strncmp(why, "invalid ignore pattern ", 23) != 0)
		return (why);
	xasprintf(&out, "invalid JSONPath %s", why + 23);
	free(why);
	return (out);
}

/* Find or add the rule of a route section. */
static struct route_rule *
options_route(struct compare_opts *co, const char *route)
{
	size_t	 i;

	for (i = 0; i < co->nroutes; i++) {
		if (strcmp(co->routes[i].rr_route, route) == 0)
			return (&co->routes[i]);
	}
	co->routes = xreallocarray(co->routes, co->nroutes + 1,
	    sizeof *co->routes);
	memset(&co->routes[co->nroutes], 0, sizeof *co->routes);
	co->routes[co->nroutes].rr_route = xstrdup(route);
	return (&co->routes[co->nroutes++]);
}

/* Add one key of a [route "..."] section. */
static int
options_route_key(struct options *o, const char *section, const char *route,
    const char *key, const char *value, char **cause)
{
	struct route_rule	*rr;
	char			*why;
	int			 on;

	rr = options_route(&o->co, route);
	if (strcmp(key, "ignore") == 0) {
		if (jsonpath_valid(value, &why) != 0) {
			xasprintf(cause, "ignore: %s", why);
			free(why);
			return (-1);
		}
		strlist_add(&rr->rr_ignore, &rr->rr_nignore, value);
	} else if (strcmp(key, "ignore-header") == 0)
		strlist_add(&rr->rr_ignore_headers, &rr->rr_nignore_headers,
		    value);
	else if (strcmp(key, "unordered") == 0) {
		if (jsonpath_valid(value, &why) != 0) {
			why = options_not_ignore(why);
			xasprintf(cause, "unordered: %s", why);
			free(why);
			return (-1);
		}
		strlist_add(&rr->rr_unordered, &rr->rr_nunordered, value);
	} else if (strcmp(key, "ignore-content-type-params") == 0) {
		if (options_bool(key, value, &on, cause) != 0)
			return (-1);
		rr->rr_ct_params = on ? 1 : -1;
	} else if (strcmp(key, "normalize") == 0) {
		if (compare_normalize_add(&rr->rr_normalize,
		    &rr->rr_nnormalize, value, &why) != 0) {
			xasprintf(cause, "normalize: %s", why);
			free(why);
			return (-1);
		}
	} else {
		xasprintf(cause, "unknown key '%s' in [%s] (a route takes "
		    "ignore, ignore-header, unordered, "
		    "ignore-content-type-params and normalize)", key, section);
		return (-1);
	}
	return (0);
}

/* One key of the config file: [compare], [COMMAND] or a route section. */
static int
options_config_cb(void *arg, const char *section, const char *key,
    const char *value, char **cause)
{
	struct options_load_state	*ls = arg;
	struct options			*o = ls->o;
	const char			*closest;
	char				*route;
	int				 rv, is_compare = 0;
	size_t				 i;

	if ((rv = config_route_section(section, &route)) < 0) {
		xasprintf(cause, "malformed section [%s]: use [route \"METHOD "
		    "/path\"]", section);
		return (-1);
	}
	if (rv == 1) {
		rv = options_route_key(o, section, route, key, value, cause);
		free(route);
		return (rv);
	}
	for (i = 0; options_compare_keys[i] != NULL; i++) {
		if (strcmp(key, options_compare_keys[i]) == 0)
			is_compare = 1;
	}
	if (strcmp(section, "compare") != 0 &&
	    strcmp(section, o->command) != 0 &&
	    (o->other_sections || options_command_section(section)))
		return (0);
	if (strcmp(section, "compare") != 0 &&
	    strcmp(section, o->command) != 0) {
		xasprintf(cause, "unknown section [%s]", section);
		return (-1);
	}
	if (strcmp(key, "config") == 0 || strcmp(key, "help") == 0 ||
	    (strcmp(section, "compare") == 0 && !is_compare)) {
		xasprintf(cause, "unknown key '%s' in [%s]", key, section);
		return (-1);
	}
	if (strcmp(section, o->command) == 0 && is_compare) {
		xasprintf(cause, "'%s' belongs in [compare]", key);
		return (-1);
	}
	for (i = 0; o->longopts[i].name != NULL; i++) {
		if (strcmp(o->longopts[i].name, key) == 0)
			break;
	}
	if (i >= o->ntable && o->longopts[i].name != NULL)
		key = options_renamed_said(o, key, o->config);
	/* A comparison rule for the commands that compare (not report). */
	if (o->longopts[i].name == NULL && is_compare)
		return (0);
	if (o->longopts[i].name == NULL) {
		if ((closest = options_closest(o, key)) != NULL)
			xasprintf(cause, "unknown key '%s' in [%s] (did you "
			    "mean '%s'?)", key, section, closest);
		else
			xasprintf(cause, "unknown key '%s' in [%s]", key,
			    section);
		return (-1);
	}
	return (ls->set(ls->arg, key, value, cause));
}

/*
 * Read the config file, if any, then apply the flags on top through the
 * command's setter; print the usage error and return -1 on failure.
 */
int
options_load(struct options *o, options_set_cb set, void *arg)
{
	struct options_load_state	 ls;
	char				*cause;
	int				 i;

	ls.o = o;
	ls.set = set;
	ls.arg = arg;
	if (o->config != NULL &&
	    config_load(o->config, options_config_cb, &ls, &cause) != 0) {
		options_usage(o->command, "%s", cause);
		free(cause);
		return (-1);
	}
	for (i = 0; i < o->nflags; i++) {
		if (set(arg, o->flags[i].name, o->flags[i].value, &cause) !=
		    0) {
			options_usage(o->command, "%s", cause);
			free(cause);
			return (-1);
		}
	}
	if (o->t.trace_header != NULL)
		o->co.trace_header = *o->t.trace_header;
	/* A body is compared up to --max-body, decoded or not. */
	if (o->t.max_body != NULL)
		o->co.max_body = *o->t.max_body;
	if (o->t.routes != NULL) {
		*o->t.routes = o->co.routes;
		*o->t.nroutes = o->co.nroutes;
	}
	return (0);
}

/* Open the capture if one was asked for; return 0 or the exit status. */
int
options_capture(struct options *o, struct capture **capture)
{
	const char	*rotate;
	char		*cause;
	int		 status;

	*capture = NULL;
	rotate = o->cap.rotate_size != 0 ? "rotate-size" :
	    o->cap.rotate_interval != 0 ? "rotate-interval" : NULL;
	if (o->cap.path == NULL) {
		if (rotate == NULL && o->cap.rotate_keep != 0)
			rotate = "rotate-keep";
		if (rotate == NULL && o->cap.rotate_compress)
			rotate = "rotate-compress";
		if (rotate != NULL)
			return (options_usage(o->command, "--%s: there is no "
			    "--capture to rotate", rotate));
		return (0);
	}
	/* Only a file that was rotated away is ever kept or compressed. */
	if (rotate == NULL && (o->cap.rotate_keep != 0 ||
	    o->cap.rotate_compress))
		return (options_usage(o->command, "--%s: needs --rotate-size "
		    "or --rotate-interval", o->cap.rotate_keep != 0 ?
		    "rotate-keep" : "rotate-compress"));
	o->cap.body_limit = (size_t)o->body_limit;
	if ((*capture = capture_open(&o->cap, &cause)) == NULL) {
		status = options_usage(o->command, "--capture: %s", cause);
		free(cause);
		return (status);
	}
	return (0);
}

/* Free what the shared options hold. */
void
options_free(struct options *o)
{
	size_t	 i;

	for (i = 0; i < o->nstrings; i++)
		free(o->strings[i]);
	free(o->flags);
	free(o->longopts);
	free(o->shortopts);
	strlist_free(&o->co.ignore, &o->co.nignore);
	strlist_free(&o->co.ignore_headers, &o->co.nignore_headers);
	strlist_free(&o->co.unordered, &o->co.nunordered);
	compare_normalize_free(&o->co.normalize, &o->co.nnormalize);
	strlist_free(&o->cap.redact, &o->cap.nredact);
	i = o->shadow.n;
	strlist_free(&o->shadow.names, &i);
	strlist_free(&o->shadow.values, &o->shadow.n);
	alert_opts_free(&o->alert);
	for (i = 0; i < o->co.nroutes; i++) {
		free(o->co.routes[i].rr_route);
		strlist_free(&o->co.routes[i].rr_ignore,
		    &o->co.routes[i].rr_nignore);
		strlist_free(&o->co.routes[i].rr_ignore_headers,
		    &o->co.routes[i].rr_nignore_headers);
		strlist_free(&o->co.routes[i].rr_unordered,
		    &o->co.routes[i].rr_nunordered);
		compare_normalize_free(&o->co.routes[i].rr_normalize,
		    &o->co.routes[i].rr_nnormalize);
	}
	free(o->co.routes);
}
