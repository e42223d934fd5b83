/* The configuration file, DESIGN §8: INI read with libinih. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "paritytap.h"

/*
 * inih is fed through our own line reader rather than ini_parse, to work
 * around three things it does quietly: it cuts section names at 49
 * bytes (a long [route "..."] would be renamed), it splits a line longer
 * than its buffer into two lines (a cut value, and every later line number
 * off by one), and it reads an indented line as the continuation of the
 * previous value.  The reader hands inih one physical line per call, so
 * inih's line numbers are the file's; it strips leading blanks, so there
 * are no continuation lines; it reads section headers itself, so names
 * are kept whole; and it refuses key lines inih could not hold (comment
 * lines may be any length).
 */
struct config_state {
	const char	*path;
	FILE		*f;
	config_cb	 cb;
	void		*arg;

	char		*line;		/* getline buffer */
	size_t		 linesz;
	int		 lineno;
	char		*section;	/* current section name, whole */

	int		 err_line;	/* first error found here, or 0 */
	char		*err_msg;
	int		 read_errno;
};

/* Record an error at the current line unless one was recorded before. */
static void
config_error(struct config_state *st, char *msg)
{
	if (st->err_msg != NULL) {
		free(msg);
		return;
	}
	st->err_line = st->lineno;
	st->err_msg = msg;
}

/* Read a section header "[name]" (a quoted part may hold ']'). */
static void
config_section(struct config_state *st, const char *s)
{
	const char	*p, *end;
	int		 quoted = 0;

	for (p = s + 1; *p != '\0'; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == ']' && !quoted)
			break;
	}
	if (*p != ']') {
		config_error(st, xstrdup("missing ']' in section header"));
		return;
	}
	end = p;
	p++;
	p += strspn(p, " \t");
	if (*p != '\0' && *p != ';' && *p != '#') {
		config_error(st, xstrdup("text after section header"));
		return;
	}
	s++;
	s += strspn(s, " \t");
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	free(st->section);
	st->section = xstrndup(s, end - s);
}

/*
 * Give inih the next line (an fgets-like reader); comments are dropped
 * and section headers read here, both passed on as blank lines.  Returns
 * NULL at the end of the file, on a read error and after the first error
 * found here.
 */
static char *
config_reader(char *str, int num, void *stream)
{
	struct config_state	*st = stream;
	ssize_t			 n;
	const char		*s;
	size_t			 len;

	if (st->err_msg != NULL || num < 2)
		return (NULL);
	n = getline(&st->line, &st->linesz, st->f);
	if (n == -1) {
		if (ferror(st->f))
			st->read_errno = errno != 0 ? errno : EIO;
		return (NULL);
	}
	st->lineno++;
	if (strlen(st->line) != (size_t)n) {
		config_error(st, xstrdup("NUL byte in line"));
		return (NULL);
	}
	while (n > 0 && (st->line[n - 1] == '\n' || st->line[n - 1] == '\r'))
		st->line[--n] = '\0';
	s = st->line;
	if (st->lineno == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	s += strspn(s, " \t\v\f");
	if (*s == ';' || *s == '#')
		s = "";
	else if (*s == '[') {
		config_section(st, s);
		if (st->err_msg != NULL)
			return (NULL);
		s = "";
	}
	len = strlen(s);
	if (len > (size_t)num - 2) {
		config_error(st, xstrdup("line too long"));
		return (NULL);
	}
	memcpy(str, s, len);
	memcpy(str + len, "\n", 2);
	return (str);
}

/* Pass one key to the caller's callback; inih's section is ignored. */
static int
config_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct config_state	*st = user;
	char			*cause = NULL;

	if (st->err_msg != NULL)
		return (1);
	if (st->cb(st->arg, st->section, name, value, &cause) != 0) {
		config_error(st, cause != NULL ? cause : xstrdup("bad value"));
		return (0);
	}
	free(cause);
	return (1);
}

/*
 * Read a configuration file, calling cb for each key in order; return 0,
 * or -1 with *cause set to "FILE:LINE: what" for the first error (or
 * "FILE: why" when it cannot be read).
 */
int
config_load(const char *path, config_cb cb, void *arg, char **cause)
{
	struct config_state	 st;
	int			 ret, rv = -1;
	char			*msg = NULL;

	memset(&st, 0, sizeof st);
	st.path = path;
	st.cb = cb;
	st.arg = arg;
	st.section = xstrdup("");

	if ((st.f = fopen(path, "re")) == NULL) {
		xasprintf(&msg, "%s: %s", path, strerror(errno));
		goto out;
	}
	errno = 0;
	ret = ini_parse_stream(config_reader, &st, config_handler, &st);
	if (st.read_errno != 0)
		xasprintf(&msg, "%s: %s", path, strerror(st.read_errno));
	else if (ret > 0 && (st.err_msg == NULL || ret < st.err_line))
		xasprintf(&msg, "%s:%d: syntax error", path, ret);
	else if (st.err_msg != NULL)
		xasprintf(&msg, "%s:%d: %s", path, st.err_line, st.err_msg);
	else if (ret < 0)
		xasprintf(&msg, "%s: cannot be parsed (error %d)", path, ret);
	else
		rv = 0;
out:
	if (msg != NULL) {
		if (cause != NULL)
			*cause = msg;
		else
			free(msg);
	}
	if (st.f != NULL)
		fclose(st.f);
	free(st.line);
	free(st.section);
	free(st.err_msg);
	return (rv);
}

/* Is c a character of an HTTP method token (RFC 9110 tchar)? */
static int
config_tchar(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return (1);
	return (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/*
 * Is a section a route section, route "METHOD /path"?  Return 1 and the
 * route (allocated), 0 for another section, or -1 when it starts with
 * "route" but is malformed: quotes missing, or not "METHOD /path".
 */
int
config_route_section(const char *section, char **route)
{
	const char	*start, *p, *q, *sp;

	if (strncmp(section, "route", 5) != 0)
		return (0);
	p = section + 5;
	if (*p != '\0' && *p != ' ' && *p != '\t' && *p != '"')
		return (0);
	p += strspn(p, " \t");
	if (*p++ != '"')
		return (-1);
	start = p;
	if ((q = strchr(p, '"')) == NULL || q[1] != '\0')
		return (-1);
	if ((sp = memchr(p, ' ', q - p)) == NULL || sp == p)
		return (-1);
	for (; p < sp; p++) {
		if (!config_tchar(*p))
			return (-1);
	}
	if (sp[1] != '/' && !(sp[1] == '*' && sp + 2 == q))
		return (-1);
	for (p = sp + 1; p < q; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return (-1);
	}
	*route = xstrndup(start, q - start);
	return (1);
}
