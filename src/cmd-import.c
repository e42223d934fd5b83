/*
 * paritytap import: the command line; the engine is import.c.
 */

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paritytap.h"

enum {
	OPT_PORT = 256,
	OPT_MAX_BODY,
	OPT_CAPTURE_BODY_LIMIT,
	OPT_REDACT_HEADER,
	OPT_KEEP_SECRETS,
	OPT_SOURCE
};

static const struct option import_longopts[] = {
	{ "output",		required_argument, NULL, 'o' },
	{ "port",		required_argument, NULL, OPT_PORT },
	{ "max-body",		required_argument, NULL, OPT_MAX_BODY },
	{ "capture-body-limit",	required_argument, NULL,
	    OPT_CAPTURE_BODY_LIMIT },
	{ "redact-header",	required_argument, NULL, OPT_REDACT_HEADER },
	{ "keep-secrets",	no_argument,	   NULL, OPT_KEEP_SECRETS },
	{ "source",		required_argument, NULL, OPT_SOURCE },
	{ "quiet",		no_argument,	   NULL, 'q' },
	{ "verbose",		no_argument,	   NULL, 'v' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ NULL, 0, NULL, 0 }
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
"\n"
"  -o, --output CAPTURE          write the capture to this file (replaced,\n"
"                                mode 0600) [stdout, unless a terminal]\n"
"      --port N                  only TCP traffic to or from port N\n"
"                                (repeatable); also tells the server side of\n"
"                                a connection whose SYN was not captured\n"
"                                [all TCP traffic that parses as HTTP]\n"
"      --max-body BYTES          body bytes kept of each message; past it a\n"
"                                response keeps the sha256 of the whole [8M]\n"
"      --capture-body-limit BYTES  bytes of each body in the capture [1M]\n"
"      --redact-header NAME      also redact this header in the capture\n"
"      --keep-secrets            do not redact Authorization, Cookie, ...\n"
"      --source import|record    the source written in each line [import]\n"
"  -q, --quiet                   no summary line, no progress bar\n"
"  -v, --verbose                 more logging (twice: debug, which names\n"
"                                each connection not parsed and why)\n"
"  -h, --help                    this text\n"
"\n"
"At the end one line on stderr sums the run up, e.g.\n"
"  import: 1 file, 14 connections, 37 exchanges, 0 unparsable streams,\n"
"  0 gaps, 0 unanswered\n"
"A request that got no response is written with the primary side failed\n"
"(error reset) and counted as unanswered.  After a gap (packets the\n"
"capture lost) a connection resumes at the next request and response that\n"
"can be told to belong together; the gaps' count then says how many\n"
"connections resumed and how many bytes were skipped.\n"
"\n"
"Exit status: 0 (connections that are not HTTP are counted, not fatal),\n"
"2 usage error, a file that cannot be read (FILE: why), an unsupported link\n"
"type, or a file cut short (what came before it is still written), 3 the\n"
"capture could not be written.  See paritytap(1).\n", f);
}

/* paritytap import. */
static int
cmd_import_exec(int argc, char **argv)
{
	struct import_opts	 io;
	size_t			 i;
	uint64_t		 v, body_limit = 0;
	char			*why;
	int			 ch, status = EXIT_USAGE;

	memset(&io, 0, sizeof io);
	io.source = "import";
	io.max_body = DEFAULT_MAX_BODY;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":o:qvh", import_longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'o':
			io.output = optarg;
			break;
		case OPT_PORT:
			if (parse_uint(optarg, 1, 65535, &v, &why) != 0) {
				options_usage("import", "--port: %s", why);
				free(why);
				goto out;
			}
			for (i = 0; i < io.nports && io.ports[i] != v; i++)
				/* nothing */;
			if (i < io.nports)
				break;
			if (io.nports == IMPORT_MAX_PORTS) {
				options_usage("import", "--port: at most %d "
				    "ports", IMPORT_MAX_PORTS);
				goto out;
			}
			io.ports[io.nports++] = (uint16_t)v;
			break;
		case OPT_MAX_BODY:
			if (parse_size(optarg, &io.max_body, &why) != 0) {
				options_usage("import", "--max-body: %s", why);
				free(why);
				goto out;
			}
			if (io.max_body == 0) {
				options_usage("import", "--max-body: must be "
				    "at least 1");
				goto out;
			}
			break;
		case OPT_CAPTURE_BODY_LIMIT:
			if (parse_size(optarg, &body_limit, &why) != 0) {
				options_usage("import", "--capture-body-limit: "
				    "%s", why);
				free(why);
				goto out;
			}
			break;
		case OPT_REDACT_HEADER:
			strlist_add(&io.cap.redact, &io.cap.nredact,
			    optarg);
			break;
		case OPT_KEEP_SECRETS:
			io.cap.keep_secrets = 1;
			break;
		case OPT_SOURCE:
			if (strcmp(optarg, "import") == 0)
				io.source = "import";
			else if (strcmp(optarg, "record") == 0)
				io.source = "record";
			else {
				options_usage("import", "--source %s: must be "
				    "import or record", optarg);
				goto out;
			}
			break;
		case 'q':
			log_quiet = 1;
			break;
		case 'v':
			log_verbose++;
			break;
		case 'h':
			cmd_import_help(stdout);
			status = EXIT_OK;
			goto out;
		case ':':
			options_usage("import", "option %s needs a value",
			    argv[optind - 1]);
			goto out;
		default:
			if (optopt != 0)
				options_usage("import", "unknown option -%c",
				    optopt);
			else
				options_usage("import", "unknown option %s",
				    argv[optind - 1]);
			goto out;
		}
	}
	if (optind == argc) {
		options_usage("import", "no PCAP file given");
		goto out;
	}
	if ((io.output == NULL || strcmp(io.output, "-") == 0) &&
	    isatty(STDOUT_FILENO)) {
		options_usage("import", "standard output is a terminal: give "
		    "-o CAPTURE, or pipe the capture on");
		goto out;
	}
	io.cap.body_limit = (size_t)body_limit;
	io.quiet = log_quiet;
	status = import_run(&io, argv + optind, argc - optind);
out:
	strlist_free(&io.cap.redact, &io.cap.nredact);
	return (status);
}

const struct cmd_entry cmd_import_entry = {
	.name = "import",
	.usage = "[-o CAPTURE] [--port N]... PCAP...",
	.summary = "pcap or pcapng files to a capture (TCP + HTTP/1.x)",
	.exec = cmd_import_exec,
	.help = cmd_import_help,
};
