/*
 * paritytap record: the command line; the engine is record.c.
 */

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paritytap.h"

#define RECORD_MAXPORTS	64

/* Record's options. */
static const struct options_entry record_options[] = {
	{ "output", 'o', "CAPTURE", "write the capture to this file (replaced, "
	    "mode 0600)", "stdout, unless a terminal" },
	{ "pcap", 0, "FILE", "also keep the recorded packets, all processes "
	    "merged in time order, as one pcap file", NULL },
	{ "port", 0, "N", "only connections whose local or peer port is N "
	    "(repeatable)", "all TCP connections" },
	{ "capture", 'c', "CAPTURE", "the same as -o", NULL },
	{ "max-body", 0, "BYTES", "record at most this many bytes of each "
	    "connection (k, M, G suffixes; --max-bytes is the old name)",
	    "no limit" },
	{ "config", 0, "FILE", "INI file: [record] (other commands' "
	    "sections are passed over)", NULL },
	OPTIONS_ENTRY_KEEP_SECRETS,
	OPTIONS_ENTRY_CAPTURE_RAW_BODIES,
	{ "quiet", 'q', NULL, "no warnings and no import summary", NULL },
	{ "verbose", 'v', NULL, "more logging: the recorder library, where "
	    "its files go, how CMD ended, the files imported (twice: debug, "
	    "which names each connection not parsed and why)", NULL },
	OPTIONS_ENTRY_HELP,
	OPTIONS_ENTRY_END
};

/* What the command line sets. */
struct record_conf {
	struct options		 o;
	struct record_opts	 ro;
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
"\n", f);
	options_help(f, record_options, 24);
	fputs(
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
record_add_port(struct record_opts *rc, const char *arg, char **cause)
{
	uint64_t	 v;
	char		*why, *s;

	if (parse_uint(arg, 1, 65535, &v, &why) != 0)
		return (options_cause("port", why, cause));
	if (rc->nports == RECORD_MAXPORTS) {
		xasprintf(cause, "--port: at most %d ports", RECORD_MAXPORTS);
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


/* Set one option by its long name; value is NULL for flags. */
static int
record_set(void *arg, const char *name, const char *value, char **cause)
{
	struct record_conf	*rc = arg;
	struct record_opts	*ro = &rc->ro;
	char			*why;

	if (strcmp(name, "verbose") == 0)
		return (options_set(&rc->o, name, value, cause) == 1 ? 0 : -1);
	/* Record's -q is its own (no warnings), not the shared one. */
	if (strcmp(name, "quiet") == 0)
		return (options_bool(name, value, &ro->quiet, cause));
	if (strcmp(name, "keep-secrets") == 0)
		return (options_bool(name, value, &ro->keep_secrets, cause));
	if (strcmp(name, "capture-raw-bodies") == 0)
		return (options_bool(name, value, &ro->raw_bodies, cause));
	if (strcmp(name, "output") == 0 || strcmp(name, "capture") == 0)
		ro->output = value;
	else if (strcmp(name, "pcap") == 0)
		ro->pcap = value;
	else if (strcmp(name, "port") == 0)
		return (record_add_port(ro, value, cause));
	else if (strcmp(name, "max-body") == 0) {
		if (parse_size(value, &ro->max_bytes, &why) != 0)
			return (options_cause(name, why, cause));
	} else {
		xasprintf(cause, "unknown option '%s'", name);
		return (-1);
	}
	return (0);
}

/* paritytap record. */
static int
cmd_record_exec(int argc, char **argv)
{
	struct record_conf	 rc;
	int			 status;

	memset(&rc, 0, sizeof rc);
	options_init(&rc.o, "record", record_options, NULL);
	rc.o.in_order = 1;
	if ((status = options_getopt(&rc.o, argc, argv, cmd_record_help)) !=
	    -1)
		goto out;
	status = EXIT_USAGE;
	if (options_load(&rc.o, record_set, &rc) != 0)
		goto out;
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		options_usage("record", "no command to run (paritytap record "
		    "[OPTIONS] -- CMD [ARGS...])");
		goto out;
	}
	if (rc.ro.output == NULL && isatty(STDOUT_FILENO)) {
		options_usage("record", "standard output is a terminal: give "
		    "the capture a file with -o CAPTURE");
		goto out;
	}
	status = record_run(&rc.ro, argv);
out:
	free(rc.ro.ports);
	options_free(&rc.o);
	return (status);
}

const struct cmd_entry cmd_record_entry = {
	"record",
	"[-o CAPTURE] [--pcap FILE] [--port N]... -- CMD [ARGS...]",
	"run a program with the LD_PRELOAD recorder; capture its HTTP traffic",
	cmd_record_exec,
	cmd_record_help
};
