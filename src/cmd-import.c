/*
 * paritytap import: the command line; the engine is import.c.
 */

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paritytap.h"

/* Import's options; options_set sets the capture ones, -q, -v. */
static const struct options_entry import_options[] = {
	{ "output", 'o', "CAPTURE", "write the capture to this file (replaced, "
	    "mode 0600)", "stdout, unless a terminal" },
	{ "capture", 'c', "CAPTURE", "the same as -o", NULL },
	{ "port", 0, "N", "only TCP traffic to or from port N (repeatable); "
	    "also tells the server side of a connection whose SYN was not "
	    "captured", "all TCP traffic that parses as HTTP" },
	{ "max-body", 0, "BYTES", "body bytes kept of each message; past it "
	    "a response keeps the sha256 of the whole", "8M" },
	{ "capture-body-limit", 0, "BYTES", "bytes of each body in the capture",
	    "1M" },
	{ "redact-header", 0, "NAME", "also redact this header in the capture",
	    NULL },
	OPTIONS_ENTRY_KEEP_SECRETS,
	OPTIONS_ENTRY_CAPTURE_RAW_BODIES,
	{ "source", 0, "import|record", "the source written in each line",
	    "import" },
	{ "config", 0, "FILE", "INI file: [import] (other commands' "
	    "sections are passed over)", NULL },
	{ "quiet", 'q', NULL, "no summary line, no progress bar", NULL },
	{ "verbose", 'v', NULL, "more logging (twice: debug, which names each "
	    "connection not parsed and why)", NULL },
	OPTIONS_ENTRY_HELP,
	OPTIONS_ENTRY_END
};

/* What the command line sets. */
struct import_conf {
	struct options		 o;
	struct import_opts	 io;
};

/* Print import's --help. */
static void
cmd_import_help(FILE *f)
{
	fputs(
"usage: paritytap import [-o CAPTURE] [--port N]... [OPTIONS] PCAP...\n"
"\n"
"Read pcap or pcapng files (tcpdump -w, tshark -F pcapng, the recorder's;\n"
"- for stdin), reassemble their TCP connections, pair each HTTP/1.x request\n"
"with its response (keep-alive and pipelining included) and write one\n"
"capture line per exchange: source import, verdict recorded, timestamps\n"
"from the packets.  The files are read in the order given, as one input.\n"
"\n", f);
	options_help(f, import_options, 32);
	fputs(
"\n"
"At the end one line on stderr sums the run up, e.g.\n"
"  import: 1 file, 14 connections, 37 exchanges, 0 unparsable streams,\n"
"  0 gaps, 0 unanswered\n"
"A request that got no response is written with the primary side failed\n"
"(error reset) and counted as unanswered.  After a gap (packets the\n"
"capture lost) a connection resumes at the next request and response that\n"
"can be told to belong together; the gaps' count then says how many\n"
"connections resumed and how many bytes were skipped.\n"
"A response sent before its request's body was whole (413, 401, 417\n"
"...) is that request's: its body is marked truncated where the answer\n"
"began.  A connection whose handshake was not captured resumes at its\n"
"first request and response as after a gap.\n"
"\n"
"Exit status: 0 (connections that are not HTTP are counted, not fatal),\n"
"2 usage error, a file that cannot be read (FILE: why), an unsupported link\n"
"type, or a file cut short (what came before it is still written), 3 the\n"
"capture could not be written.  See paritytap(1).\n", f);
}

/* Set one option by its long name; value is NULL for flags. */
static int
import_set(void *arg, const char *name, const char *value, char **cause)
{
	struct import_conf	*ic = arg;
	struct import_opts	*io = &ic->io;
	uint64_t		 v;
	size_t			 i;
	char			*why;
	int			 rv;

	/* The capture written is the output, not options_set's. */
	if (strcmp(name, "output") == 0 || strcmp(name, "capture") == 0) {
		io->output = value;
		return (0);
	}
	if ((rv = options_set(&ic->o, name, value, cause)) != 0)
		return (rv == 1 ? 0 : -1);
	if (strcmp(name, "port") == 0) {
		if (parse_uint(value, 1, 65535, &v, &why) != 0)
			return (options_cause(name, why, cause));
		for (i = 0; i < io->nports && io->ports[i] != v; i++)
			/* nothing */;
		if (i < io->nports)
			return (0);
		if (io->nports == IMPORT_MAX_PORTS) {
			xasprintf(cause, "--port: at most %d ports",
			    IMPORT_MAX_PORTS);
			return (-1);
		}
		io->ports[io->nports++] = (uint16_t)v;
	} else if (strcmp(name, "source") == 0) {
		if (strcmp(value, "import") == 0)
			io->source = "import";
		else if (strcmp(value, "record") == 0)
			io->source = "record";
		else {
			xasprintf(cause, "--source %s: must be import or record",
			    value);
			return (-1);
		}
	} else {
		xasprintf(cause, "unknown option '%s'", name);
		return (-1);
	}
	return (0);
}

/* paritytap import. */
static int
cmd_import_exec(int argc, char **argv)
{
	struct import_conf	 ic;
	struct options_target	 ot = { .max_body = &ic.io.max_body };
	int			 status;

	memset(&ic, 0, sizeof ic);
	ic.io.source = "import";
	options_init(&ic.o, "import", import_options, &ot);
	if ((status = options_getopt(&ic.o, argc, argv, cmd_import_help)) !=
	    -1)
		goto out;
	status = EXIT_USAGE;
	if (options_load(&ic.o, import_set, &ic) != 0)
		goto out;
	if (optind == argc) {
		options_usage("import", "no PCAP file given");
		goto out;
	}
	if ((ic.io.output == NULL || strcmp(ic.io.output, "-") == 0) &&
	    isatty(STDOUT_FILENO)) {
		options_usage("import", "standard output is a terminal: give "
		    "-o CAPTURE, or pipe the capture on");
		goto out;
	}
	ic.io.cap = ic.o.cap;
	ic.io.cap.body_limit = (size_t)ic.o.body_limit;
	ic.io.quiet = log_quiet;
	status = import_run(&ic.io, argv + optind, argc - optind);
out:
	options_free(&ic.o);
	return (status);
}

const struct cmd_entry cmd_import_entry = {
	.name = "import",
	.usage = "[-o CAPTURE] [--port N]... PCAP...",
	.summary = "pcap or pcapng files to a capture (TCP + HTTP/1.x)",
	.exec = cmd_import_exec,
	.help = cmd_import_help,
};
