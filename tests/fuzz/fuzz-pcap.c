/*
 * pcap import: the import engine (import.c, tcpreasm.c, httpflow.c and
 * the capture writer) on a pcap or pcapng file, and the capture reader on
 * what it wrote.  Whatever the file holds, import neither crashes nor
 * writes a line the reader refuses (report and export read captures that
 * way), and each line's time is one format_rfc3339 writes as it is.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "paritytap.h"
#include "fuzz.h"

static char	 in_path[64];
static char	 out_path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*tmp = getenv("TMPDIR");

	log_init("fuzz-pcap");
	log_quiet = 1;
	if (tmp == NULL || strlen(tmp) > 32)
		tmp = "/tmp";
	/* One pair of files per process: jobs run side by side. */
	snprintf(in_path, sizeof in_path, "%s/fuzz-pcap.%ld.in", tmp,
	    (long)getpid());
	snprintf(out_path, sizeof out_path, "%s/fuzz-pcap.%ld.jsonl", tmp,
	    (long)getpid());
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct import_opts	 io;
	struct capture_reader	*r;
	struct exchange		 ex;
	struct timeval		 back;
	char			*paths[1], *cause = NULL, ts[64];
	FILE			*f;
	int			 rc;

	if ((f = fopen(in_path, "wb")) == NULL)
		fuzz_fail("%s: cannot create", in_path);
	if (fwrite(data, 1, size, f) != size || fclose(f) != 0)
		fuzz_fail("%s: cannot write", in_path);

	memset(&io, 0, sizeof io);
	io.output = out_path;
	io.source = "import";
	io.max_body = 64 * 1024;
	io.cap.body_limit = 64 * 1024;
	io.quiet = 1;
	paths[0] = in_path;
	rc = import_run(&io, paths, 1);
	if (rc != EXIT_OK && rc != EXIT_USAGE)
		fuzz_fail("import exited %d", rc);
	if (access(out_path, F_OK) != 0)
		goto out;	/* the file did not open: nothing written */

	if ((r = capture_reader_open(out_path, 0, &cause)) == NULL)
		fuzz_fail("the capture import wrote cannot be opened: %s",
		    cause);
	for (;;) {
		rc = capture_reader_next(r, &ex, &cause);
		if (rc == 0)
			break;
		if (rc < 0)
			fuzz_fail("import wrote a line the reader refuses: %s",
			    cause);
		/* The time reads back as the one written. */
		if (!rfc3339_ok(&ex.ex_ts))
			fuzz_fail("import wrote the time %lld s %ld us",
			    (long long)ex.ex_ts.tv_sec, (long)ex.ex_ts.tv_usec);
		format_rfc3339(&ex.ex_ts, ts, sizeof ts);
		if (capture_parse_ts(ts, &back) != 0 ||
		    back.tv_sec != ex.ex_ts.tv_sec ||
		    back.tv_usec != ex.ex_ts.tv_usec)
			fuzz_fail("the time %s does not read back", ts);
		exchange_free(&ex);
	}
	capture_reader_close(r);
out:
	unlink(out_path);
	return (0);
}
