/*
 * The import engine: pcap and pcapng files (tcpdump's, tshark's, the
 * recorder's) to a capture.  libpcap reads the files; httpflow.c
 * reassembles the TCP connections and pairs requests with responses;
 * each exchange becomes one capture line (source "import" or "record",
 * verdict "recorded"), written straight from the exchange without a JSON
 * tree.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include <zlib.h>

#include "paritytap.h"

/* Bytes reassembly may hold: for one stream, and in all. */
#define IMPORT_STREAM_HOLD	(16 * 1024 * 1024)
#define IMPORT_TOTAL_HOLD	(512 * 1024 * 1024)

/* Packets between two looks at the clock (progress) and at idle ones. */
#define IMPORT_TICK_PACKETS	4096
#define IMPORT_EXPIRE_PACKETS	65536
#define IMPORT_IDLE_SECONDS	600

/* Packets with a bad time stamp named one by one, in each file. */
#define IMPORT_BAD_TS_SHOWN	10

/* One input file. */
struct import_input {
	const char	*ii_name;	/* as given; "-" is stdin */
	pcap_t		*ii_pcap;
	int		 ii_dlt;
	off_t		 ii_size;	/* 0 when unknown (a pipe) */
};

/* The run: where the lines go, and how far it got. */
struct import {
	struct capture		*im_capture;
	const char		*im_output;	/* for messages */
	const char		*im_command;	/* "import", "record" */
	uint64_t		 im_packets;
	uint64_t		 im_bad_ts;	/* packets refused for their time */
	int			 im_progress;
	double			 im_drawn;	/* mono_ms of the last draw */
};

/* An exchange from the flows: its capture line, then free it. */
static void
import_exchange(struct exchange *ex, void *arg)
{
	struct import	*im = arg;

	/* A line lost is counted by the writer, reported at the end. */
	capture_write(im->im_capture, ex);
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
 * Does a file libpcap refused look like a capture (JSON lines, maybe
 * gzipped), which the user may have meant for report or replay?
 */
static int
import_is_capture(const char *path)
{
	unsigned char	 p[4096];
	gzFile		 gz;
	int		 n;
	size_t		 i;

	if ((gz = gzopen(path, "rb")) == NULL)
		return (0);
	n = gzread(gz, p, sizeof p);
	gzclose(gz);
	if (n <= 0 || capture_kind(p, (size_t)n, 0) != NULL)
		return (0);
	for (i = 0; i < (size_t)n && strchr(" \t\r\n", p[i]) != NULL; i++)
		/* nothing */;
	return (i < (size_t)n && p[i] == '{');
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
		if (import_is_capture(ii->ii_name))
			xasprintf(cause, "%s: this is a paritytap capture "
			    "already: report, replay and diff read it as it is",
			    ii->ii_name);
		else if (strncmp(err, ii->ii_name, len) == 0 &&
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
 * Refuse a packet whose time stamp no capture line can hold (a negative or
 * too large microsecond field, a year past 9999): name the first few of
 * each file, count them all.  Return 1 if the packet is refused.
 */
static int
import_bad_ts(struct import *im, const struct import_input *ii,
    const struct pcap_pkthdr *h, uint64_t n, uint64_t *nbad)
{
	if (rfc3339_ok(&h->ts))
		return (0);
	im->im_bad_ts++;
	if (++*nbad <= IMPORT_BAD_TS_SHOWN) {
		if (im->im_progress)
			fprintf(stderr, "\r\033[K");
		fprintf(stderr, "paritytap import: %s: packet %llu: time stamp "
		    "%lld s %lld us is out of range (microseconds 0 to "
		    "999999, years 0000 to 9999), packet skipped\n",
		    ii->ii_name, (unsigned long long)n,
		    (long long)h->ts.tv_sec, (long long)h->ts.tv_usec);
	}
	return (1);
}

/*
 * Read one input into the flows.  Return 0, or -1 with cause when the
 * file ends in the middle of a packet, cannot be read on, or has packets
 * with a bad time stamp (skipped, the others read).
 */
static int
import_read(struct import *im, struct import_input *ii, struct httpflow *hf,
    char **cause)
{
	struct pcap_pkthdr	*h;
	const u_char		*data;
	uint64_t		 n = 0, nbad = 0;
	int			 rc;

	while ((rc = pcap_next_ex(ii->ii_pcap, &h, &data)) == 1) {
		n++;
		im->im_packets++;
		if (import_bad_ts(im, ii, h, n, &nbad))
			continue;
		httpflow_packet(hf, ii->ii_dlt, &h->ts, data, h->caplen);
		if (im->im_packets % IMPORT_EXPIRE_PACKETS == 0)
			httpflow_expire(hf, &h->ts, IMPORT_IDLE_SECONDS);
		if (im->im_progress &&
		    im->im_packets % IMPORT_TICK_PACKETS == 0)
			import_progress(im, ii, hf, 0);
	}
	if (rc == PCAP_ERROR_BREAK) {
		if (nbad == 0)
			return (0);
		xasprintf(cause, "%s: %llu packet%s with a bad time stamp "
		    "skipped", ii->ii_name, (unsigned long long)nbad,
		    nbad == 1 ? "" : "s");
		return (-1);
	}
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
import_summary(const struct import *im, int nfiles, const struct httpflow *hf)
{
	const struct httpflow_stats	*fs = httpflow_stats(hf);
	const struct tcpreasm_stats	*ts = httpflow_tcp_stats(hf);
	struct buf			 b;

	buf_init(&b);
	buf_printf(&b, "paritytap %s: %llu exchange%s from %d file%s",
	    im->im_command, (unsigned long long)fs->exchanges,
	    fs->exchanges == 1 ? "" : "s", nfiles, nfiles == 1 ? "" : "s");
	import_count(&b, ts->connections, "connection", "connections");
	import_count(&b, fs->unparsable, "unparsable stream",
	    "unparsable streams");
	import_count(&b, fs->gaps, "gap", "gaps");
	if (fs->resumed != 0 || fs->not_resumed != 0 || fs->skipped != 0) {
		/* ", N gaps (R connections resumed, ...)" */
		buf_printf(&b, " (%llu connection%s resumed",
		    (unsigned long long)fs->resumed, fs->resumed == 1 ? "" : "s");
		if (fs->not_resumed != 0)
			buf_printf(&b, ", %llu pipelined not resumed",
			    (unsigned long long)fs->not_resumed);
		buf_printf(&b, ", %llu byte%s skipped)",
		    (unsigned long long)fs->skipped, fs->skipped == 1 ? "" : "s");
	}
	import_count(&b, fs->unanswered, "unanswered", "unanswered");
	if (fs->orphans != 0)
		import_count(&b, fs->orphans, "response without a request",
		    "responses without a request");
	if (ts->not_tcp != 0)
		import_count(&b, ts->not_tcp, "packet not TCP",
		    "packets not TCP");
	if (ts->bad != 0)
		import_count(&b, ts->bad, "bad packet", "bad packets");
	if (im->im_bad_ts != 0)
		import_count(&b, im->im_bad_ts, "packet with a bad time stamp",
		    "packets with a bad time stamp");
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

/*
 * Open the capture writer on io->output, replaced (mode 0600), or on
 * standard output; set *name for messages.  Print the usage error and
 * return NULL on failure.
 */
static struct capture *
import_capture(const struct import_opts *io, const char **name)
{
	struct capture_opts	 co = io->cap;
	struct capture		*c;
	char			*cause;
	int			 fd;

	if (io->output == NULL || strcmp(io->output, "-") == 0) {
		*name = "stdout";
		return (capture_fdopen(STDOUT_FILENO, *name, &io->cap));
	}
	*name = io->output;
	/* capture_open appends: empty the file first, as -o promises. */
	fd = open(io->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1) {
		options_usage("import", "--output %s: %s", io->output,
		    strerror(errno));
		return (NULL);
	}
	close(fd);
	co.path = io->output;
	if ((c = capture_open(&co, &cause)) == NULL) {
		options_usage("import", "--output %s", cause);
		free(cause);
	}
	return (c);
}

/*
 * Read every input and write the capture; return the exit status.  The
 * messages name the command ("paritytap import: ...").
 */
int
import_run(const struct import_opts *io, char **paths, int npaths)
{
	struct import		 im_store, *im = &im_store;
	struct import_input	*in;
	struct httpflow		*hf = NULL;
	char			*cause, *filter;
	uint64_t		 errors;
	uint64_t		 lost;
	int			 i, status = EXIT_OK, nstdin = 0;

	memset(im, 0, sizeof *im);
	im->im_output = io->output;
	im->im_command = io->command != NULL ? io->command : "import";
	im->im_progress = !io->quiet && isatty(STDERR_FILENO);
	in = xcalloc((size_t)npaths, sizeof *in);
	filter = import_filter(io->ports, io->nports);
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
	if ((im->im_capture = import_capture(io, &im->im_output)) == NULL) {
		status = EXIT_USAGE;
		goto out;
	}

	hf = httpflow_new(io->source, io->max_body, IMPORT_STREAM_HOLD,
	    IMPORT_TOTAL_HOLD, import_exchange, im);
	if (io->nports != 0)
		httpflow_ports(hf, io->ports, io->nports);
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
	/*
	 * capture_errors counts failed writes, which are retried;
	 * capture_close the lines that could not be written in the end.
	 */
	capture_flush(im->im_capture);
	errors = capture_errors(im->im_capture);
	lost = capture_close(im->im_capture);
	if (lost != 0) {
		fprintf(stderr, "paritytap import: %s: %llu capture line%s "
		    "lost\n", im->im_output, (unsigned long long)lost,
		    lost == 1 ? "" : "s");
		status = EXIT_RUNTIME;
	} else if (errors != 0)
		fprintf(stderr, "paritytap import: %s: %llu capture write "
		    "error%s, every line written in the end\n", im->im_output,
		    (unsigned long long)errors, errors == 1 ? "" : "s");
	if (!io->quiet)
		import_summary(im, npaths, hf);
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

