/*
 * paritytap export: captures as a classic pcap of synthesized TCP streams
 * (for Wireshark and tshark) or as one HAR 1.2 document.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "paritytap.h"

enum export_format {
	EXPORT_NONE,
	EXPORT_PCAP,
	EXPORT_HAR
};

/* Export's options. */
static const struct options_entry export_options[] = {
	{ "format", 'f', "FORMAT", "pcap or har; may be left out when -o "
	    "names a .pcap or .har file", NULL },
	{ "output", 'o', "FILE", "write to FILE (mode 0600; replaced only once "
	    "every capture was read)", "stdout; a pcap is never written to a "
	    "terminal" },
	{ "lenient", 0, NULL, "skip malformed capture lines with a warning",
	    NULL },
	{ "max-body", 0, "BYTES", "har: a gzip or deflate body is written "
	    "decoded when it decodes to at most this many bytes, else as "
	    "received (base64), with _decode_error saying why", "8M" },
	{ "config", 0, "FILE", "INI file: [export] (other commands' "
	    "sections are passed over)", NULL },
	{ "quiet", 'q', NULL, "no summary line, no warning about cut bodies",
	    NULL },
	{ "verbose", 'v', NULL, "more logging: each capture file read and "
	    "its exchanges (twice: debug)", NULL },
	OPTIONS_ENTRY_HELP,
	OPTIONS_ENTRY_END
};

/* What the command line sets. */
struct export_conf {
	struct options		 o;
	enum export_format	 format;
	const char		*path;		/* NULL: standard output */
	int			 lenient;
	int			 quiet;
	uint64_t		 max_body;	/* HAR: decoded bytes */
};

/* Exchanges between two updates of the progress line. */
#define EXPORT_PROGRESS_EVERY	16384

/* Where the export goes. */
struct export_out {
	const char	*path;		/* NULL: standard output */
	char		*tmp;		/* written here, renamed to path */
	FILE		*f;
};

/* Print export's --help. */
static void
cmd_export_help(FILE *f)
{
	fputs(
"usage: paritytap export --format pcap|har [-o FILE] [OPTIONS] CAPTURE...\n"
"\n"
"Write the exchanges of capture files (.jsonl, .jsonl.gz, - for stdin) as\n"
"a classic pcap of synthesized TCP streams, which Wireshark and tshark open\n"
"like a recording of the wire, or as one HAR 1.2 document.\n"
"\n"
"pcap: one IPv4 TCP connection per side of each exchange (handshake,\n"
"request, response, FIN teardown; a side that failed gets the request and\n"
"a reset), client 192.0.2.N, primary 198.51.100.1, candidate\n"
"198.51.100.2, secondary 198.51.100.3, port 80.  Bodies are framed with\n"
"a Content-Length of the bytes the capture holds (chunking removed;\n"
"Content-Encoding kept: a body the capture holds decoded is encoded\n"
"again).\n"
"\n"
"har: one entry per exchange, the primary's response as the entry's\n"
"response; id, route, source, verdict, diffs and the other sides'\n"
"responses under \"_paritytap\".\n"
"\n", f);
	options_help(f, export_options, 24);
	fputs(
"\n"
"Exit status: 0; 2 for a bad option or a missing or malformed capture (the\n"
"message names the file and line); 3 when the output cannot be written.\n"
"See paritytap(1).\n", f);
}

/* Return the format a file name's extension says, or EXPORT_NONE. */
static enum export_format
export_format_of(const char *path)
{
	size_t	 len;

	if (path == NULL)
		return (EXPORT_NONE);
	len = strlen(path);
	if (len > 5 && strcasecmp(path + len - 5, ".pcap") == 0)
		return (EXPORT_PCAP);
	if (len > 4 && strcasecmp(path + len - 4, ".har") == 0)
		return (EXPORT_HAR);
	return (EXPORT_NONE);
}

/*
 * Open the output: standard output, or a temporary file beside path that
 * export_commit renames over it (a file that is not a regular file, such
 * as /dev/null, is written directly).  Return 0, or -1 with cause.
 */
static int
export_open(struct export_out *o, char **cause)
{
	struct stat	 st;
	int		 fd;

	if (o->path == NULL) {
		o->f = stdout;
		return (0);
	}
	if (stat(o->path, &st) == 0 && !S_ISREG(st.st_mode)) {
		fd = open(o->path, O_WRONLY | O_CLOEXEC);
	} else {
		xasprintf(&o->tmp, "%s.XXXXXX", o->path);
		fd = mkstemp(o->tmp);
	}
	if (fd == -1 || (o->f = fdopen(fd, "w")) == NULL) {
		xasprintf(cause, "--output %s: %s", o->path, strerror(errno));
		if (fd != -1)
			close(fd);
		free(o->tmp);
		o->tmp = NULL;
		return (-1);
	}
	return (0);
}

/* Remove a temporary output that is not to be kept. */
static void
export_discard(struct export_out *o)
{
	if (o->tmp != NULL)
		unlink(o->tmp);
	free(o->tmp);
	o->tmp = NULL;
}

/* Put the written output in place; return 0, or -1 (errno set). */
static int
export_commit(struct export_out *o)
{
	int	 err;

	if (o->tmp == NULL)
		return (0);
	if (rename(o->tmp, o->path) != 0) {
		err = errno;
		export_discard(o);
		errno = err;
		return (-1);
	}
	free(o->tmp);
	o->tmp = NULL;
	return (0);
}

/* Set one option by its long name; value is NULL for flags. */
static int
export_set(void *arg, const char *name, const char *value, char **cause)
{
	struct export_conf	*ec = arg;
	int			 rv;

	/* Export's -q is its own, not the shared one. */
	if (strcmp(name, "quiet") == 0)
		return (options_bool(name, value, &ec->quiet, cause));
	if ((rv = options_set(&ec->o, name, value, cause)) != 0)
		return (rv == 1 ? 0 : -1);
	if (strcmp(name, "lenient") == 0)
		return (options_bool(name, value, &ec->lenient, cause));
	if (strcmp(name, "format") == 0) {
		if (strcmp(value, "pcap") == 0)
			ec->format = EXPORT_PCAP;
		else if (strcmp(value, "har") == 0)
			ec->format = EXPORT_HAR;
		else {
			xasprintf(cause, "--format: '%s' is not pcap or har",
			    value);
			return (-1);
		}
	} else if (strcmp(name, "output") == 0)
		ec->path = strcmp(value, "-") == 0 ? NULL : value;
	else {
		xasprintf(cause, "unknown option '%s'", name);
		return (-1);
	}
	return (0);
}

/* paritytap export. */
static int
cmd_export_exec(int argc, char **argv)
{
	struct export_conf	 ec;
	struct options_target	 ot = { .max_body = &ec.max_body };
	enum export_format	 format;
	struct export_out	 out;
	struct capture_pcap	*pcap = NULL;
	struct capture_har	*har = NULL;
	struct capture_reader	*cr;
	struct exchange		 ex;
	uint64_t		 exchanges = 0, streams = 0, truncated = 0;
	const char		*name;
	char			*cause = NULL;
	int			 i, lenient, quiet, rc, failed = 0;
	int			 werr = 0, progress;

	memset(&out, 0, sizeof out);
	memset(&ec, 0, sizeof ec);
	options_init(&ec.o, "export", export_options, &ot);
	rc = options_getopt(&ec.o, argc, argv, cmd_export_help);
	if (rc == -1 && options_load(&ec.o, export_set, &ec) != 0)
		rc = EXIT_USAGE;
	options_free(&ec.o);
	if (rc != -1)
		return (rc);
	format = ec.format;
	out.path = ec.path;
	lenient = ec.lenient;
	quiet = ec.quiet;
	if (format == EXPORT_NONE &&
	    (format = export_format_of(out.path)) == EXPORT_NONE)
		return (options_usage("export", "no --format given (pcap or "
		    "har), and no -o FILE ending in .pcap or .har"));
	if (optind == argc)
		return (options_usage("export", "no capture file given"));
	if (format == EXPORT_PCAP && out.path == NULL &&
	    isatty(STDOUT_FILENO))
		return (options_usage("export", "not writing a binary pcap to "
		    "a terminal: give -o FILE or redirect standard output"));

	if (export_open(&out, &cause) != 0) {
		options_usage("export", "%s", cause);
		free(cause);
		return (EXIT_USAGE);
	}
	if (format == EXPORT_PCAP) {
		if ((pcap = capture_pcap_open(out.f, &cause)) == NULL) {
			fprintf(stderr, "paritytap export: %s\n", cause);
			free(cause);
			export_discard(&out);
			return (EXIT_RUNTIME);
		}
	} else
		har = capture_har_open(out.f, (size_t)ec.max_body);

	/* Big captures take a while: say how far it got, on a terminal. */
	progress = !quiet && isatty(STDERR_FILENO);
	for (i = optind; i < argc && !failed; i++) {
		if ((cr = capture_reader_open(argv[i], lenient,
		    &cause)) == NULL) {
			failed = 1;
			break;
		}
		while ((rc = capture_reader_next(cr, &ex, &cause)) == 1) {
			exchanges++;
			if (pcap != NULL)
				streams += capture_pcap_add(pcap, &ex,
				    &truncated);
			else if (capture_har_add(har, &ex, &truncated) != 0)
				werr = 1;
			exchange_free(&ex);
			if (progress && exchanges % EXPORT_PROGRESS_EVERY == 0)
				fprintf(stderr, "\r\033[Kparitytap export: %s: "
				    "%llu exchanges", argv[i],
				    (unsigned long long)exchanges);
		}
		capture_reader_close(cr);
		if (rc != 0)
			failed = 1;
	}
	if (progress && exchanges >= EXPORT_PROGRESS_EVERY)
		fprintf(stderr, "\r\033[K");
	if (failed) {
		fprintf(stderr, "paritytap export: %s\n", cause);
		free(cause);
		capture_pcap_close(pcap);
		capture_har_close(har);
		export_discard(&out);
		return (EXIT_USAGE);
	}

	name = out.path != NULL ? out.path : "stdout";
	rc = pcap != NULL ? capture_pcap_close(pcap) : capture_har_close(har);
	if (rc != 0 || werr) {
		fprintf(stderr, "paritytap export: writing %s: %s\n", name,
		    strerror(errno));
		export_discard(&out);
		return (EXIT_RUNTIME);
	}
	if (export_commit(&out) != 0) {
		fprintf(stderr, "paritytap export: %s: %s\n", out.path,
		    strerror(errno));
		return (EXIT_RUNTIME);
	}
	if (!quiet && truncated != 0)
		fprintf(stderr, "paritytap export: %llu bodies were cut short "
		    "in the capture; each is written as the part kept%s\n",
		    (unsigned long long)truncated, format == EXPORT_PCAP ?
		    ", with a Content-Length of its size" : "");
	if (!quiet && format == EXPORT_PCAP)
		fprintf(stderr, "paritytap export: %llu exchanges, %llu "
		    "streams -> %s\n",
		    (unsigned long long)exchanges, (unsigned long long)streams,
		    name);
	else if (!quiet)
		fprintf(stderr, "paritytap export: %llu exchanges, %llu "
		    "entries -> %s\n",
		    (unsigned long long)exchanges, (unsigned long long)exchanges,
		    name);
	return (EXIT_OK);
}

const struct cmd_entry cmd_export_entry = {
	.name = "export",
	.usage = "--format pcap|har [-o FILE] CAPTURE...",
	.summary = "write captures as a pcap of TCP streams or as HAR 1.2",
	.exec = cmd_export_exec,
	.help = cmd_export_help,
};
