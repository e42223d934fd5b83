/*
 * paritytap import: pcap and pcapng files (tcpdump's, tshark's, the
 * recorder's) to a capture.  libpcap reads the files; httpflow.c
 * reassembles the TCP connections and pairs requests with responses;
 * each exchange becomes one capture line (source "import", verdict
 * "recorded"), written straight from the exchange without a JSON tree.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "paritytap.h"

/* Bytes of capture lines gathered before a write(2). */
#define IMPORT_WRITE_SIZE	(256 * 1024)

/* Bytes reassembly may hold: for one stream, and in all. */
#define IMPORT_STREAM_HOLD	(16 * 1024 * 1024)
#define IMPORT_TOTAL_HOLD	(512 * 1024 * 1024)

/* Packets between two looks at the clock (progress) and at idle ones. */
#define IMPORT_TICK_PACKETS	4096
#define IMPORT_EXPIRE_PACKETS	65536
#define IMPORT_IDLE_SECONDS	600

#define IMPORT_MAX_PORTS	64

enum {
	OPT_PORT = 256,
	OPT_MAX_BODY,
	OPT_CAPTURE_BODY_LIMIT,
	OPT_REDACT_HEADER,
	OPT_KEEP_SECRETS
};

static const struct option import_longopts[] = {
	{ "output",		required_argument, NULL, 'o' },
	{ "port",		required_argument, NULL, OPT_PORT },
	{ "max-body",		required_argument, NULL, OPT_MAX_BODY },
	{ "capture-body-limit",	required_argument, NULL,
	    OPT_CAPTURE_BODY_LIMIT },
	{ "redact-header",	required_argument, NULL, OPT_REDACT_HEADER },
	{ "keep-secrets",	no_argument,	   NULL, OPT_KEEP_SECRETS },
	{ "quiet",		no_argument,	   NULL, 'q' },
	{ "verbose",		no_argument,	   NULL, 'v' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* One input file. */
struct import_input {
	const char	*ii_name;	/* as given; "-" is stdin */
	pcap_t		*ii_pcap;
	int		 ii_dlt;
	off_t		 ii_size;	/* 0 when unknown (a pipe) */
};

/* The run: where the lines go, and how far it got. */
struct import {
	struct capture_opts	 im_cap;
	int			 im_fd;
	const char		*im_output;	/* for messages */
	struct buf		 im_out;
	int			 im_write_error;
	uint64_t		 im_packets;
	int			 im_progress;
	double			 im_drawn;	/* mono_ms of the last draw */
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
"  -q, --quiet                   no summary line, no progress bar\n"
"  -v, --verbose                 more logging (twice: debug, which names\n"
"                                each connection not parsed and why)\n"
"  -h, --help                    this text\n"
"\n"
"At the end one line on stderr sums the run up, e.g.\n"
"  import: 1 file, 14 connections, 37 exchanges, 0 unparsable streams,\n"
"  0 gaps, 0 unanswered\n"
"A request that got no response is written with the primary side failed\n"
"(error reset) and counted as unanswered.\n"
"\n"
"Exit status: 0 (connections that are not HTTP are counted, not fatal),\n"
"2 usage error, a file that cannot be read (FILE: why), an unsupported link\n"
"type, or a file cut short (what came before it is still written), 3 the\n"
"capture could not be written.  See paritytap(1).\n", f);
}

/* Write out the gathered lines; 0, or -1 once a write failed. */
static int
import_flush(struct import *im)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < im->im_out.len && !im->im_write_error) {
		n = write(im->im_fd, im->im_out.data + off,
		    im->im_out.len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("%s: write", im->im_output);
			im->im_write_error = 1;
			break;
		}
		off += (size_t)n;
	}
	buf_reset(&im->im_out);
	return (im->im_write_error ? -1 : 0);
}

/* An exchange from the flows: its capture line, then free it. */
static void
import_exchange(struct exchange *ex, void *arg)
{
	struct import	*im = arg;

	if (!im->im_write_error) {
		capture_line(ex, &im->im_cap, &im->im_out);
		buf_add(&im->im_out, "\n", 1);
		if (im->im_out.len >= IMPORT_WRITE_SIZE)
			import_flush(im);
	}
	exchange_free(ex);
	free(ex);
}

/* Draw the progress bar (a TTY): how far into the current file. */
static void
import_progress(struct import *im, const struct import_input *ii,
    const struct httpflow *hf, int force)
{
	char	 bar[31];
	double	 now = mono_ms();
	off_t	 pos;
	size_t	 i, fill;

	if (!force && now - im->im_drawn < 100)
		return;
	im->im_drawn = now;
	pos = ftello(pcap_file(ii->ii_pcap));
	if (ii->ii_size > 0 && pos >= 0) {
		fill = (size_t)((double)pos * 30 / (double)ii->ii_size);
		if (fill > 30)
			fill = 30;
		for (i = 0; i < 30; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[30] = '\0';
		fprintf(stderr, "\r[%s] %s: %llu packets, %llu exchanges\033[K",
		    bar, ii->ii_name, (unsigned long long)im->im_packets,
		    (unsigned long long)httpflow_stats(hf)->exchanges);
	} else
		fprintf(stderr, "\r%s: %llu packets, %llu exchanges\033[K",
		    ii->ii_name, (unsigned long long)im->im_packets,
		    (unsigned long long)httpflow_stats(hf)->exchanges);
}

/*
 * Open an input, check its link type and set the --port filter; return 0,
 * or -1 with cause naming the file.
 */
static int
import_open(struct import_input *ii, const char *filter, char **cause)
{
	char			 err[PCAP_ERRBUF_SIZE];
	struct bpf_program	 prog;
	struct stat		 st;
	const char		*name;
	char			*vfilter = NULL;
	size_t			 len;

	err[0] = '\0';
	if ((ii->ii_pcap = pcap_open_offline(ii->ii_name, err)) == NULL) {
		/* libpcap names the file itself when fopen fails. */
		len = strlen(ii->ii_name);
		if (strncmp(err, ii->ii_name, len) == 0 &&
		    strncmp(err + len, ": ", 2) == 0)
			xasprintf(cause, "%s", err);
		else
			xasprintf(cause, "%s: %s", ii->ii_name, err[0] != '\0' ?
			    err : "cannot be read as pcap or pcapng");
		return (-1);
	}
	ii->ii_dlt = pcap_datalink(ii->ii_pcap);
	if (!tcpreasm_linktype_ok(ii->ii_dlt)) {
		name = pcap_datalink_val_to_name(ii->ii_dlt);
		xasprintf(cause, "%s: link type %s (%d) is not supported",
		    ii->ii_name, name != NULL ? name : "unknown", ii->ii_dlt);
		return (-1);
	}
	if (filter != NULL) {
		/* On Ethernet, tagged frames too: "vlan" shifts the offsets. */
		if (ii->ii_dlt == DLT_EN10MB) {
			xasprintf(&vfilter, "(%s) or (vlan and (%s))", filter,
			    filter);
			filter = vfilter;
		}
		if (pcap_compile(ii->ii_pcap, &prog, filter, 1,
		    PCAP_NETMASK_UNKNOWN) != 0 ||
		    pcap_setfilter(ii->ii_pcap, &prog) != 0) {
			xasprintf(cause, "%s: filter '%s': %s", ii->ii_name,
			    filter, pcap_geterr(ii->ii_pcap));
			if (prog.bf_insns != NULL)
				pcap_freecode(&prog);
			free(vfilter);
			return (-1);
		}
		pcap_freecode(&prog);
		free(vfilter);
	}
	if (strcmp(ii->ii_name, "-") != 0 && stat(ii->ii_name, &st) == 0 &&
	    S_ISREG(st.st_mode))
		ii->ii_size = st.st_size;
	return (0);
}

/*
 * Read one input into the flows.  Return 0, or -1 with cause when the
 * file ends in the middle of a packet or cannot be read on.
 */
static int
import_read(struct import *im, struct import_input *ii, struct httpflow *hf,
    char **cause)
{
	struct pcap_pkthdr	*h;
	const u_char		*data;
	uint64_t		 n = 0;
	int			 rc;

	while ((rc = pcap_next_ex(ii->ii_pcap, &h, &data)) == 1) {
		n++;
		im->im_packets++;
		httpflow_packet(hf, ii->ii_dlt, &h->ts, data, h->caplen);
		if (im->im_packets % IMPORT_EXPIRE_PACKETS == 0)
			httpflow_expire(hf, &h->ts, IMPORT_IDLE_SECONDS);
		if (im->im_progress &&
		    im->im_packets % IMPORT_TICK_PACKETS == 0)
			import_progress(im, ii, hf, 0);
	}
	if (rc == PCAP_ERROR_BREAK)
		return (0);
	if (strstr(pcap_geterr(ii->ii_pcap), "truncated") != NULL)
		xasprintf(cause, "%s: truncated after %llu packets (%s)",
		    ii->ii_name, (unsigned long long)n,
		    pcap_geterr(ii->ii_pcap));
	else
		xasprintf(cause, "%s: after %llu packets: %s", ii->ii_name,
		    (unsigned long long)n, pcap_geterr(ii->ii_pcap));
	return (-1);
}

/* Append ", N thing" to b, with an s when N is not 1. */
static void
import_count(struct buf *b, uint64_t n, const char *one, const char *many)
{
	buf_printf(b, ", %llu %s", (unsigned long long)n, n == 1 ? one : many);
}

/* Print the summary line. */
static void
import_summary(int nfiles, const struct httpflow *hf)
{
	const struct httpflow_stats	*fs = httpflow_stats(hf);
	const struct tcpreasm_stats	*ts = httpflow_tcp_stats(hf);
	struct buf			 b;

	buf_init(&b);
	buf_printf(&b, "import: %d file%s", nfiles, nfiles == 1 ? "" : "s");
	import_count(&b, ts->connections, "connection", "connections");
	import_count(&b, fs->exchanges, "exchange", "exchanges");
	import_count(&b, fs->unparsable, "unparsable stream",
	    "unparsable streams");
	import_count(&b, fs->gaps, "gap", "gaps");
	import_count(&b, fs->unanswered, "unanswered", "unanswered");
	if (fs->orphans != 0)
		import_count(&b, fs->orphans, "response without a request",
		    "responses without a request");
	if (ts->not_tcp != 0)
		import_count(&b, ts->not_tcp, "packet not TCP",
		    "packets not TCP");
	if (ts->bad != 0)
		import_count(&b, ts->bad, "bad packet", "bad packets");
	if (ts->fragments != 0)
		import_count(&b, ts->fragments, "IP fragment skipped",
		    "IP fragments skipped");
	if (ts->cut != 0)
		import_count(&b, ts->cut, "connection over the memory limit",
		    "connections over the memory limit");
	fprintf(stderr, "%s\n", b.data);
	buf_free(&b);
}

/* Build the BPF filter of the --port list ("tcp port 80 or ..."). */
static char *
import_filter(const uint16_t *ports, size_t n)
{
	struct buf	 b;
	size_t		 i;

	if (n == 0)
		return (NULL);
	buf_init(&b);
	for (i = 0; i < n; i++)
		buf_printf(&b, "%stcp port %u", i == 0 ? "" : " or ",
		    (unsigned)ports[i]);
	return (buf_detach(&b));
}

/* Read every input and write the capture; return the exit status. */
static int
import_main(struct import *im, char **paths, int npaths,
    const uint16_t *ports, size_t nports, uint64_t max_body)
{
	struct import_input	*in;
	struct httpflow		*hf = NULL;
	char			*cause, *filter;
	int			 i, status = EXIT_OK, nstdin = 0;

	in = xcalloc((size_t)npaths, sizeof *in);
	filter = import_filter(ports, nports);
	/* Every input opens before the output is touched. */
	for (i = 0; i < npaths; i++) {
		in[i].ii_name = paths[i];
		if (strcmp(paths[i], "-") == 0 && nstdin++ != 0) {
			status = options_usage("import", "- (stdin) given "
			    "twice");
			goto out;
		}
		if (import_open(&in[i], filter, &cause) != 0) {
			fprintf(stderr, "paritytap import: %s\n", cause);
			free(cause);
			status = EXIT_USAGE;
			goto out;
		}
	}
	if (im->im_output == NULL || strcmp(im->im_output, "-") == 0) {
		im->im_fd = STDOUT_FILENO;
		im->im_output = "stdout";
	} else if ((im->im_fd = open(im->im_output, O_WRONLY | O_CREAT |
	    O_TRUNC | O_CLOEXEC, 0600)) == -1) {
		status = options_usage("import", "--output %s: %s",
		    im->im_output, strerror(errno));
		goto out;
	}

	hf = httpflow_new("import", max_body, IMPORT_STREAM_HOLD,
	    IMPORT_TOTAL_HOLD, import_exchange, im);
	if (nports != 0)
		httpflow_ports(hf, ports, nports);
	for (i = 0; i < npaths; i++) {
		if (import_read(im, &in[i], hf, &cause) != 0) {
			/* What came before the cut is still good: keep it. */
			if (im->im_progress)
				fprintf(stderr, "\r\033[K");
			fprintf(stderr, "paritytap import: %s\n", cause);
			free(cause);
			status = EXIT_USAGE;
		}
		if (im->im_progress)
			import_progress(im, &in[i], hf, 1);
	}
	httpflow_finish(hf);
	if (im->im_progress)
		fprintf(stderr, "\r\033[K");
	import_flush(im);
	if (im->im_fd != STDOUT_FILENO && close(im->im_fd) != 0 &&
	    !im->im_write_error) {
		log_warn("%s: close", im->im_output);
		im->im_write_error = 1;
	}
	if (im->im_write_error)
		status = EXIT_RUNTIME;
	if (!log_quiet)
		import_summary(npaths, hf);
out:
	httpflow_free(hf);
	for (i = 0; i < npaths; i++) {
		if (in[i].ii_pcap != NULL)
			pcap_close(in[i].ii_pcap);
	}
	free(in);
	free(filter);
	return (status);
}

/* paritytap import. */
static int
cmd_import_exec(int argc, char **argv)
{
	struct import	 im;
	uint16_t	 ports[IMPORT_MAX_PORTS];
	size_t		 nports = 0, i;
	uint64_t	 v, max_body = DEFAULT_MAX_BODY, body_limit = 0;
	char		*why;
	int		 ch, status = EXIT_USAGE;

	memset(&im, 0, sizeof im);
	buf_init(&im.im_out);
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":o:qvh", import_longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'o':
			im.im_output = optarg;
			break;
		case OPT_PORT:
			if (parse_uint(optarg, 1, 65535, &v, &why) != 0) {
				options_usage("import", "--port: %s", why);
				free(why);
				goto out;
			}
			for (i = 0; i < nports && ports[i] != v; i++)
				/* nothing */;
			if (i < nports)
				break;
			if (nports == IMPORT_MAX_PORTS) {
				options_usage("import", "--port: at most %d "
				    "ports", IMPORT_MAX_PORTS);
				goto out;
			}
			ports[nports++] = (uint16_t)v;
			break;
		case OPT_MAX_BODY:
			if (parse_size(optarg, &max_body, &why) != 0) {
				options_usage("import", "--max-body: %s", why);
				free(why);
				goto out;
			}
			if (max_body == 0) {
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
			strlist_add(&im.im_cap.redact, &im.im_cap.nredact,
			    optarg);
			break;
		case OPT_KEEP_SECRETS:
			im.im_cap.keep_secrets = 1;
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
	if ((im.im_output == NULL || strcmp(im.im_output, "-") == 0) &&
	    isatty(STDOUT_FILENO)) {
		options_usage("import", "standard output is a terminal: give "
		    "-o CAPTURE, or pipe the capture on");
		goto out;
	}
	im.im_cap.body_limit = (size_t)body_limit;
	im.im_progress = !log_quiet && isatty(STDERR_FILENO);
	status = import_main(&im, argv + optind, argc - optind, ports, nports,
	    max_body);
out:
	strlist_free(&im.im_cap.redact, &im.im_cap.nredact);
	buf_free(&im.im_out);
	return (status);
}

const struct cmd_entry cmd_import_entry = {
	.name = "import",
	.usage = "[-o CAPTURE] [--port N]... PCAP...",
	.summary = "pcap or pcapng files to a capture (TCP + HTTP/1.x)",
	.exec = cmd_import_exec,
	.help = cmd_import_help,
};
