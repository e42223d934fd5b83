/*
 * paritytap record: the command line; the engine is record.c.
 */

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paritytap.h"

#define RECORD_MAXPORTS	64

enum {
	OPT_PCAP = 256,
	OPT_PORT,
	OPT_MAX_BYTES,
	OPT_KEEP_SECRETS
};

static const struct option record_longopts[] = {
	{ "output",		required_argument, NULL, 'o' },
	{ "pcap",		required_argument, NULL, OPT_PCAP },
	{ "port",		required_argument, NULL, OPT_PORT },
	{ "max-bytes",		required_argument, NULL, OPT_MAX_BYTES },
	{ "keep-secrets",	no_argument,	   NULL, OPT_KEEP_SECRETS },
	{ "quiet",		no_argument,	   NULL, 'q' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* Print record's --help. */
static void
cmd_record_help(FILE *f)
{
	fputs(
"usage: paritytap record [-o CAPTURE] [--pcap FILE] [--port N]... [OPTIONS]\n"
"                        -- CMD [ARGS...]\n"
"\n"
"Run CMD with the recorder library libparitytap-preload.so in LD_PRELOAD\n"
"(added to an existing LD_PRELOAD).  The library writes the TCP traffic of\n"
"CMD and of every process it forks, server side and client side, as it\n"
"crosses read/write/send/recv/sendfile (and, for programs that link\n"
"OpenSSL, the plaintext of SSL_read/SSL_write) into pcap files.  When CMD\n"
"exits they are imported as with paritytap import: one capture line per\n"
"HTTP/1.x exchange, source record, verdict recorded.  SIGINT, SIGTERM,\n"
"SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to paritytap are passed on to\n"
"CMD.  Go programs and statically linked programs make their system calls\n"
"themselves and cannot be recorded this way (a warning says so): use\n"
"paritytap proxy or paritytap sniff for them.\n"
"\n"
"  -o, --output CAPTURE  write the capture to this file (replaced, mode\n"
"                        0600) [stdout, unless a terminal]\n"
"      --pcap FILE       also keep the recorded packets, all processes\n"
"                        merged in time order, as one pcap file\n"
"      --port N          only connections whose local or peer port is N\n"
"                        (repeatable) [all TCP connections]\n"
"      --max-bytes BYTES record at most this many bytes of each\n"
"                        connection (k, M, G suffixes) [no limit]\n"
"      --keep-secrets    do not redact Authorization, Cookie, ...\n"
"  -q, --quiet           no warnings and no import summary\n"
"  -h, --help            this text\n"
"\n"
"The library is $PARITYTAP_PRELOAD if set, else the build tree's (.libs/\n"
"next to this program), else " PKGLIBDIR "/" RECORD_LIB ".\n"
"\n"
"Exit status: CMD's (128 + the signal number if a signal ended it); 2 usage\n"
"error; 3 CMD could not be run or the capture could not be written.  See\n"
"paritytap(1) and libparitytap-preload(8).\n", f);
}


/* Add a --port value to the list. */
static int
record_add_port(struct record_opts *rc, const char *arg)
{
	uint64_t	 v;
	char		*why, *s;

	if (parse_uint(arg, 1, 65535, &v, &why) != 0) {
		options_usage("record", "--port: %s", why);
		free(why);
		return (-1);
	}
	if (rc->nports == RECORD_MAXPORTS) {
		options_usage("record", "--port: at most %d ports",
		    RECORD_MAXPORTS);
		return (-1);
	}
	if (rc->ports == NULL)
		xasprintf(&s, "%llu", (unsigned long long)v);
	else
		xasprintf(&s, "%s,%llu", rc->ports, (unsigned long long)v);
	free(rc->ports);
	rc->ports = s;
	rc->nports++;
	return (0);
}


/* paritytap record. */
static int
cmd_record_exec(int argc, char **argv)
{
	struct record_opts	 rc;
	char			*why;
	int			 ch, exit_status = EXIT_USAGE;

	memset(&rc, 0, sizeof rc);
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:o:qh", record_longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'o':
			rc.output = optarg;
			break;
		case OPT_PCAP:
			rc.pcap = optarg;
			break;
		case OPT_PORT:
			if (record_add_port(&rc, optarg) != 0)
				goto out;
			break;
		case OPT_MAX_BYTES:
			if (parse_size(optarg, &rc.max_bytes, &why) != 0) {
				options_usage("record", "--max-bytes: %s", why);
				free(why);
				goto out;
			}
			break;
		case OPT_KEEP_SECRETS:
			rc.keep_secrets = 1;
			break;
		case 'q':
			rc.quiet = 1;
			break;
		case 'h':
			cmd_record_help(stdout);
			exit_status = EXIT_OK;
			goto out;
		case ':':
			options_usage("record", "option %s needs a value",
			    argv[optind - 1]);
			goto out;
		default:
			if (optopt != 0)
				options_usage("record", "unknown option -%c",
				    optopt);
			else
				options_usage("record", "unknown option %s",
				    argv[optind - 1]);
			goto out;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		options_usage("record", "no command to run (paritytap record "
		    "[OPTIONS] -- CMD [ARGS...])");
		goto out;
	}
	if (rc.output == NULL && isatty(STDOUT_FILENO)) {
		options_usage("record", "standard output is a terminal: give "
		    "the capture a file with -o CAPTURE");
		goto out;
	}
	exit_status = record_run(&rc, argv);
out:
	free(rc.ports);
	return (exit_status);
}

const struct cmd_entry cmd_record_entry = {
	"record",
	"[-o CAPTURE] [--pcap FILE] [--port N]... -- CMD [ARGS...]",
	"run a program with the LD_PRELOAD recorder; capture its HTTP traffic",
	cmd_record_exec,
	cmd_record_help
};
