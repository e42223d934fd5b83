/*
 * paritytap: the one internal header.  Structs first, then prototypes
 * grouped by the file that defines them.
 */

#ifndef PARITYTAP_H
#define PARITYTAP_H

#include <sys/types.h>
#include <sys/time.h>

#include <stdarg.h>
#include <stddef.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

struct event_base;
struct exchange_drift;
struct option;
struct options_flag;
struct pipeline;
struct sockaddr;

#define PARITYTAP_FORMAT	1		/* capture format version */
#define DEFAULT_TRACE_HEADER	"X-Paritytap-Trace-Id"
#define DEFAULT_MAX_BODY	(8 * 1024 * 1024)
#define DEFAULT_CAPTURE_BODY	(1024 * 1024)
#define DEFAULT_MAX_DIFFS	64
#define DEFAULT_QUEUE_BYTES	(64 * 1024 * 1024)	/* --queue-size */
#define TRACE_ID_MAX		128

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif
#define printflike(a, b) __attribute__((__format__(__printf__, a, b)))

/* Exit statuses, DESIGN §2. */
#define EXIT_OK		0
#define EXIT_DIVERGE	1
#define EXIT_USAGE	2
#define EXIT_RUNTIME	3

/* A growable byte buffer. */
struct buf {
	char		*data;
	size_t		 len;
	size_t		 cap;
};

/*
 * One header, name and value as on the wire (OWS trimmed).  Both live in
 * the list's arena (see headers_add): neither is freed on its own.
 */
struct header {
	char		*name;
	char		*value;
};

/*
 * Headers in wire order, duplicates kept.  The strings of a list live in
 * a chain of blocks owned by the list, so that a message's headers cost
 * two allocations, not one per header: this is on every request's path,
 * and a list is often freed by another thread than the one that filled
 * it, where each free is dearer.  A list may be moved by assignment.
 */
struct headers_block;
struct headers {
	struct header		*h;
	size_t			 n;
	size_t			 cap;
	struct headers_block	*blocks;	/* newest first */
};

/* A parsed HTTP/1.x request. */
struct http_request {
	char		*method;
	char		*target;
	int		 major;
	int		 minor;
	struct headers	 headers;
	struct buf	 body;		/* dechunked body */
};

/* The sides of an exchange. */
enum side {
	SIDE_PRIMARY = 0,
	SIDE_CANDIDATE,
	SIDE_SECONDARY,
	SIDE_MAX
};

/*
 * One side's response.  A side that failed has status 0 (unless a status
 * line was received before it failed) and error set to one of "timeout",
 * "connect", "reset", "too_large", "bad_response", "prefix".
 */
struct response_side {
	int		 present;	/* this side exists in the exchange */
	int		 status;
	const char	*error;		/* static string or NULL */
	char		*error_detail;	/* free text, may be NULL */
	struct headers	 headers;
	struct buf	 body;		/* bytes as received, dechunked, not decoded */
	uint64_t	 body_bytes;	/* total body bytes (>= body.len) */
	int		 truncated;	/* body holds only a prefix */
	char		*body_sha256;	/* hex sha256 of the whole body, if known */
	/*
	 * The Content-Encoding already undone in body (read from a capture
	 * that stored it decoded, "body_decoded"), or NULL: body is as
	 * received.  body_bytes still counts the bytes received.
	 */
	char		*body_decoded;
	double		 ms;		/* request sent to response complete */
};

/* Verdicts, DESIGN §4.1; ordered most severe first among the comparisons. */
enum verdict {
	VERDICT_MATCH = 0,
	VERDICT_VALUE,
	VERDICT_HEADER,
	VERDICT_BODY,
	VERDICT_SHAPE,
	VERDICT_STATUS,
	VERDICT_BOTH_FAILED,
	VERDICT_CANDIDATE_ERROR,
	VERDICT_PRIMARY_ERROR,
	VERDICT_SKIPPED,
	VERDICT_RECORDED,
	VERDICT_NONE		/* not compared yet */
};

/* Every verdict's bit, for a set of verdicts (1 << verdict). */
#define VERDICTS_ALL	((1u << VERDICT_NONE) - 1)

/* What a difference is about; diff.c has the names on the wire. */
enum diff_kind {
	DIFF_STATUS = 0,
	DIFF_MISSING,
	DIFF_EXTRA,
	DIFF_TYPE,
	DIFF_VALUE,
	DIFF_ORDER,
	DIFF_HEADER,
	DIFF_BODY,
	DIFF_INVALID_JSON,
	DIFF_DUPLICATE_KEY,
	DIFF_DEPTH,
	DIFF_ERROR,
	DIFF_OTHER		/* read from a capture, named in kind_text */
};

/*
 * One difference.  kind_text is the name of a DIFF_OTHER kind as read (may
 * be NULL), NULL for the others.  path is a JSONPath (or a header name for
 * DIFF_HEADER), may be NULL.  side is the side the difference is reported
 * on (-1 when it concerns both).  primary/candidate are short renderings
 * of the two values (type names for DIFF_TYPE), detail is free text; all
 * may be NULL.
 */
struct diff {
	enum diff_kind	 kind;
	char		*kind_text;
	char		*path;
	int		 side;
	char		*primary;
	char		*candidate;
	char		*detail;
	int		 noise;		/* on a path learned to be noise */
	char		*hint;		/* "order", "rename", or NULL */
	char		*hint_path;	/* the rename's other path */
};

/* A list of diffs, capped at max (0 means DEFAULT_MAX_DIFFS). */
struct diff_list {
	struct diff	*v;
	size_t		 n;
	size_t		 cap;
	size_t		 max;
	int		 truncated;
};

/* An exchange: one request and what each side answered, DESIGN §1. */
struct exchange {
	char		 ex_id[TRACE_ID_MAX + 1];
	struct timeval	 ex_ts;		/* request start, wall clock */
	const char	*ex_source;	/* "proxy", "replay", ... */
	char		*ex_route;	/* "POST /v1/validate" */
	struct http_request ex_req;
	int		 ex_req_truncated;
	struct response_side ex_resp[SIDE_MAX];
	enum verdict	 ex_verdict;
	char		*ex_skip_reason;	/* for VERDICT_SKIPPED */
	struct diff_list ex_diffs;
	struct exchange_drift *ex_drifts;	/* set by the drift table */
	size_t		 ex_ndrifts;
	/*
	 * ex_resp[SIDE_SECONDARY], when present, is the primary's own second
	 * answer to the same request (--self-check), not a second copy's
	 * (--secondary): "self_check":true in the capture.
	 */
	int		 ex_self_check;
};

/* A --normalize pattern: its text and its compiled form. */
struct normalize {
	char		*text;
	regex_t		 re;
};

/* Per-route compare settings from the config file. */
struct route_rule {
	char		*rr_route;	/* "POST /v1/validate" (templated form) */
	char	       **rr_ignore;	/* JSONPaths */
	size_t		 rr_nignore;
	char	       **rr_ignore_headers;
	size_t		 rr_nignore_headers;
	char	       **rr_unordered;	/* JSONPaths of unordered arrays */
	size_t		 rr_nunordered;
	struct normalize *rr_normalize;
	size_t		 rr_nnormalize;
	int		 rr_ct_params;	/* 1 ignore, -1 compare, 0 unset */
};

/* The noise learner's rule (noise.c); set is 0 for the defaults. */
#define NOISE_MIN_SAMPLE	20	/* samples on a route before deciding */
#define NOISE_RELATIVE		0.20	/* raw rate over noise rate * 1.2 */
#define NOISE_ABSOLUTE		0.03	/* raw rate over noise rate + 3 pts */
#define NOISE_MAX_PATHS		10000
struct noise_opts {
	int		 set;
	unsigned	 min_sample;
	double		 relative;
	double		 absolute;
	size_t		 max_paths;
};

/* Comparison settings. */
struct compare_opts {
	char	       **ignore;		/* JSONPaths, --ignore */
	size_t		 nignore;
	char	       **ignore_headers;	/* --ignore-header */
	size_t		 nignore_headers;
	const char	*trace_header;		/* ignored in header comparison */
	int		 strict_order;
	int		 lenient_numbers;
	size_t		 max_diffs;		/* 0: DEFAULT_MAX_DIFFS */
	struct route_rule *routes;
	size_t		 nroutes;
	struct noise_opts noise;
	char	       **unordered;		/* --unordered JSONPATH */
	size_t		 nunordered;
	struct normalize *normalize;		/* --normalize REGEX */
	size_t		 nnormalize;
	int		 ignore_ct_params;	/* --ignore-content-type-params */
	uint64_t	 max_body;		/* decoded bytes compared; 0: */
						/* DEFAULT_MAX_BODY */
};

/* Capture writer settings. */
struct capture_opts {
	const char	*path;		/* a file, or a directory */
	uint64_t	 rotate_size;	/* 0: never rotate */
	uint64_t	 rotate_interval; /* ms; 0: not by time */
	unsigned	 rotate_keep;	/* closed files kept; 0: all */
	int		 rotate_compress; /* gzip closed files */
	size_t		 body_limit;	/* bytes of each body kept; 0: default */
	int		 keep_secrets;
	char	       **redact;	/* extra header names to redact */
	size_t		 nredact;
	int		 raw_bodies;	/* --capture-raw-bodies */
};

/*
 * A response body as a capture line stores it (capture_body_view): the
 * bytes received, or the decoded text and the codings it was decoded
 * from, or the bytes received and why they did not decode.
 */
struct capture_body {
	const char	*data;
	size_t		 len;
	const char	*decoded;	/* "body_decoded", or NULL */
	char		*error;		/* "body_decode_error", or NULL */
	char		*name;		/* decoded when it is ours */
	struct buf	 text;		/* the decoded bytes */
};

/* The getopt value of an option without a letter is OPTIONS_OWN + index. */
#define OPTIONS_OWN	256

/*
 * One option in a command's table, DESIGN §2 and §8: the long name is
 * also the config file's key.  A table ends with an entry whose name is
 * NULL.  --help's option lines are printed from it (options_help).
 */
struct options_entry {
	const char	*name;		/* long name and config key */
	int		 letter;	/* short form, or 0 */
	const char	*arg;		/* "URL"; NULL for a flag */
	const char	*help;		/* NULL: taken, not listed in --help */
	const char	*dflt;		/* shown as "[dflt]", or NULL */
};

/*
 * Headers the candidate gets in place of the request's own of the same
 * name (--candidate-header, --candidate-host): proxy, replay, sniff.
 */
struct shadow_opts {
	char			**names;
	char			**values;
	size_t			 n;
};

/* Where options.c stores the backend options in a command's own struct. */
struct options_target {
	const char		**primary;
	const char		**candidate;
	const char		**host;
	const char		**trace_header;
	uint64_t		 *max_body;
	const struct route_rule	**routes;
	size_t			 *nroutes;
	const char		**secondary;
};

/* The target in a struct proxy_opts or replay_opts (same member names). */
#define OPTIONS_TARGET(opts) {						\
	&(opts).primary, &(opts).candidate, &(opts).host,		\
	&(opts).trace_header, &(opts).max_body, &(opts).routes,		\
	&(opts).nroutes, &(opts).secondary				\
}

/* The third side's options (DESIGN §4.4): proxy, replay, sniff. */
#define OPTIONS_ENTRY_SECONDARY \
	{ "secondary", 0, "URL", "a second copy of the primary: it gets "	\
	    "every request the candidate gets, its answer is recorded as "	\
	    "responses.secondary", NULL }
#define OPTIONS_ENTRY_SELF_CHECK \
	{ "self-check", 0, "RATE", "send this fraction (0 < RATE <= 1) of "	\
	    "the mirrored GET and HEAD requests (the --mirror-methods ones "	\
	    "when given) to the primary a second time, recorded as "	\
	    "responses.secondary; not with --secondary", NULL }

/*
 * TLS to https:// backends (tls-client.c): every side's, or one side's
 * (--candidate-ca-file ...), which wins.  Values are the caller's.
 */
struct tls_side {
	const char		*ca_file;
	const char		*client_cert;
	const char		*client_key;
	const char		*sni;
};
struct tls_opts {
	struct tls_side		 all;
	struct tls_side		 side[SIDE_MAX];
	int			 insecure;
};
#define OPTIONS_TLS_SIDE(s) \
	{ s "-ca-file", 0, "FILE", NULL, NULL },			\
	{ s "-client-cert", 0, "FILE", NULL, NULL },			\
	{ s "-client-key", 0, "FILE", NULL, NULL },			\
	{ s "-sni", 0, "NAME", NULL, NULL }
#define OPTIONS_ENTRIES_TLS \
	{ "ca-file", 0, "FILE", "verify https:// backends against the CAs "	\
	    "in FILE, not the system's", NULL },				\
	{ "client-cert", 0, "FILE", "present this certificate to https:// "	\
	    "backends (mTLS)", NULL },						\
	{ "client-key", 0, "FILE", "the key of --client-cert", NULL },	\
	{ "sni", 0, "NAME", "send and verify NAME, not the URL's host; "	\
	    "each of these four also exists for one side only: "		\
	    "--primary-sni, --candidate-ca-file, ...", NULL },			\
	{ "insecure", 0, NULL, "do not verify the certificates of "		\
	    "https:// backends", NULL },					\
	OPTIONS_TLS_SIDE("primary"), OPTIONS_TLS_SIDE("candidate"),		\
	OPTIONS_TLS_SIDE("secondary")

/* The candidate's own headers (struct shadow_opts): proxy, replay, sniff. */
#define OPTIONS_ENTRY_SHADOW \
	{ "candidate-header", 0, "'NAME: VALUE'", "send this header to the "	\
	    "candidate only, in place of the request's own (repeatable)",	\
	    NULL },							\
	{ "candidate-host", 0, "NAME", "send this Host to the candidate "	\
	    "only", NULL }

/* Entries several commands' tables share, word for word. */
#define OPTIONS_ENTRY_IGNORE_HEADER \
	{ "ignore-header", 0, "NAME", "do not compare this response header", \
	    NULL }
#define OPTIONS_ENTRY_STRICT_ORDER \
	{ "strict-order", 0, NULL, "report object key order differences", NULL }
#define OPTIONS_ENTRY_LENIENT_NUMBERS \
	{ "lenient-numbers", 0, NULL, "1 and 1.0 are the same type", NULL }
/* The noise learner's rule: proxy, replay, sniff, report, noise. */
#define OPTIONS_ENTRIES_NOISE \
	{ "noise-min-sample", 0, "N", "a route's samples from a second copy\n" \
	    "before its paths can be noise", "20" }, \
	{ "noise-relative", 0, "PCT", "a path is noise unless the candidate\n" \
	    "differs there more than PCT% more often\nthan the second copy", \
	    "20" }, \
	{ "noise-absolute", 0, "PCT", "... and more than PCT points more often", \
	    "3" }
#define OPTIONS_ENTRY_UNORDERED \
	{ "unordered", 0, "JSONPATH", "compare the arrays at this path in " \
	    "any order", NULL }
#define OPTIONS_ENTRY_IGNORE_CT_PARAMS \
	{ "ignore-content-type-params", 0, NULL, "compare only the media " \
	    "type of Content-Type, not its charset or other parameters", NULL }
#define OPTIONS_ENTRY_NORMALIZE \
	{ "normalize", 0, "REGEX", "in text bodies, replace what matches " \
	    "this extended regular expression before comparing", NULL }
#define OPTIONS_ENTRIES_ROTATE \
	{ "rotate-size", 0, "BYTES", "start a new capture file past this size", \
	    NULL }, \
	{ "rotate-interval", 0, "DURATION", "also start one every interval, " \
	    "on its multiples of UTC time (s if no unit)", NULL }, \
	{ "rotate-keep", 0, "N", "keep at most N closed capture files, " \
	    "removing the oldest", "all" }, \
	{ "rotate-compress", 0, NULL, "gzip closed capture files to " \
	    ".jsonl.gz, in the background", NULL }
#define OPTIONS_ENTRY_KEEP_SECRETS \
	{ "keep-secrets", 0, NULL, "do not redact Authorization, Cookie, ...", \
	    NULL }
#define OPTIONS_ENTRY_CAPTURE_RAW_BODIES \
	{ "capture-raw-bodies", 0, NULL, "keep gzip and deflate bodies as " \
	    "received, not decoded to text", NULL }
#define OPTIONS_ENTRY_TRACE_HEADER \
	{ "trace-header", 0, "NAME", "trace id header", DEFAULT_TRACE_HEADER }
#define OPTIONS_ENTRY_COLOR \
	{ "color", 0, "WHEN", "auto, always or never", "auto" }
#define OPTIONS_ENTRY_HELP \
	{ "help", 'h', NULL, "this text", NULL }
#define OPTIONS_ENTRY_END \
	{ NULL, 0, NULL, NULL, NULL }

/*
 * The alert channels' options (alert.c), shared by proxy and sniff;
 * durations in ms.
 */
enum alert_format {
	ALERT_FORMAT_JSON = 0,
	ALERT_FORMAT_SLACK
};
struct alert_opts {
	char		**alertmanager;		/* --alertmanager URLs */
	size_t		  nalertmanager;
	const char	 *url;			/* --alert-url */
	enum alert_format format;
	const char	 *exec;			/* --alert-exec */
	const char	 *instance;		/* NULL: the shadowed pair */
	const char	 *generator_url;	/* the dashboard, or NULL */
	uint64_t	  group_wait;
	uint64_t	  group_interval;
	uint64_t	  repeat;		/* Alertmanager's reminders */
	uint64_t	  timeout;		/* one HTTP request */
	uint64_t	  exec_timeout;
	unsigned	  exec_max;
	unsigned	  tries;
	unsigned	  queue;		/* transitions per channel */
};

/* The alert options, in proxy's and sniff's tables. */
#define OPTIONS_ENTRIES_ALERT \
	{ "alertmanager", 0, "URL", "post drift alerts to this Alertmanager " \
	    "(API v2; repeatable)", NULL }, \
	{ "alert-url", 0, "URL", "post drift transitions as JSON to this " \
	    "webhook", NULL }, \
	{ "alert-format", 0, "FORMAT", "json, or slack: Slack's incoming " \
	    "webhook", "json" }, \
	{ "alert-exec", 0, "CMD", "run CMD (split at spaces, no shell) with " \
	    "the JSON on stdin", NULL }, \
	{ "alert-exec-timeout", 0, "DURATION", "the hook is killed past " \
	    "this (s if no unit)", "10s" }, \
	{ "alert-exec-max", 0, "N", "hooks running at once", "4" }, \
	{ "alert-instance", 0, "NAME", "the alerts' instance label", \
	    "PRIMARY->CANDIDATE" }, \
	{ "alert-group-wait", 0, "DURATION", "a message goes this long after " \
	    "the first transition it holds (s if no unit)", "30s" }, \
	{ "alert-group-interval", 0, "DURATION", "and this long after the " \
	    "previous message (s if no unit)", "5m" }, \
	{ "alert-repeat", 0, "DURATION", "re-post ongoing drifts to " \
	    "Alertmanager this often (s if no unit)", "1m" }, \
	{ "alert-timeout", 0, "DURATION", "an HTTP alert's deadline (s " \
	    "if no unit)", "10s" }, \
	{ "alert-tries", 0, "N", "tries of an HTTP alert (connection errors, " \
	    "timeouts, 5xx)", "4" }, \
	{ "alert-queue", 0, "N", "transitions a channel holds; more are " \
	    "dropped and counted", "1000" }

/*
 * Which DIVERGE lines print (--flag-on) and how many per signature and
 * window (--flag-limit), flagline.c; shared by proxy, replay and sniff.
 */
struct flag_opts {
	unsigned	 on;		/* bit (1 << verdict) */
	unsigned	 limit;		/* lines per signature; 0: no limit */
	uint64_t	 window;	/* ms */
};

/* The flag line options, in proxy's, replay's and sniff's tables. */
#define OPTIONS_ENTRIES_FLAG \
	{ "flag-on", 0, "LIST", "comma list of verdicts that print a " \
	    "DIVERGE line; none: no DIVERGE line", "every divergence" }, \
	{ "flag-limit", 0, "N/DURATION", "at most N DIVERGE lines per " \
	    "signature per DURATION, the others counted; 0: no limit", \
	    "10/10s" }

/* A command's options, command line and config file. */
struct options {
	const char		*command;	/* "proxy", "replay" */
	const struct options_entry *table;
	struct option		*longopts;	/* made from the table */
	size_t			 ntable;	/* the table's; then old names */
	size_t			 nlong;
	unsigned		 renamed_said;	/* old names warned about */
	char			*shortopts;	/* ":l:p:..." */
	int			 in_order;	/* stop at the first argument */
	int			 other_sections; /* skip the config file's
						   other commands' sections */
	struct options_target	 t;
	struct compare_opts	 co;
	struct capture_opts	 cap;
	struct alert_opts	 alert;		/* proxy, sniff */
	struct flag_opts	 flag;		/* proxy, replay, sniff */
	struct shadow_opts	 shadow;	/* proxy, replay, sniff */
	struct tls_opts		 tls;		/* proxy, replay, sniff */
	const char		*color;
	const char		*config;	/* --config FILE */
	uint64_t		 body_limit;	/* --capture-body-limit */
	struct options_flag	*flags;		/* applied after the file */
	int			 nflags;
	char			*strings[32];	/* values owned here */
	size_t			 nstrings;
};

/* A sub-command, tmux's cmd_entry. */
struct cmd_entry {
	const char	*name;
	const char	*usage;		/* "[OPTIONS] ..." after the name */
	const char	*summary;	/* one line */
	int		(*exec)(int, char **);
	void		(*help)(FILE *);	/* full --help text */
};

/* Limits for one HTTP message, DESIGN §7 rule 3. */
#define HTTP_MAX_HEADER_BYTES	(64 * 1024)
#define HTTP_MAX_HEADERS	100

struct http_msg;

/* What an incremental parser reports to its owner. */
struct http_msg_cbs {
	/* Headers complete.  Return -1 to stop (error set), 0 to go on,
	 * 1 (responses) to say the message has no body (HEAD); 1xx, 204
	 * and 304 responses have none whatever this returns. */
	int	(*on_head)(void *, struct http_msg *);
	int	(*on_body)(void *, const char *, size_t);
	int	(*on_complete)(void *, struct http_msg *);
};

/*
 * One direction of one connection: a strict HTTP/1.x message parser on
 * top of libhttp-parser, with the framing checks DESIGN §7 asks for.
 */
struct http_msg {
	void			*hm_parser;	/* http_parser */
	int			 hm_response;
	const struct http_msg_cbs *hm_cbs;
	void			*hm_arg;
	struct headers		 hm_headers;
	struct buf		 hm_url;
	struct buf		 hm_reason;
	struct buf		 hm_field;
	struct buf		 hm_value;
	int			 hm_in_value;
	size_t			 hm_header_bytes;
	int			 hm_head_done;
	int			 hm_complete;
	int			 hm_no_body;	/* response to HEAD */
	int			 hm_chunked;
	int			 hm_has_length;
	uint64_t		 hm_length;
	/* raw header-block scanner */
	int			 hm_scan_done;
	int			 hm_scan_line;
	size_t			 hm_scan_col;
	int			 hm_scan_colon;
	unsigned char		 hm_scan_prev;
	size_t			 hm_scan_bytes;
	char			 hm_scan_tail[9];	/* of the first line */
	int			 hm_scan_fields;	/* ... its fields begun */
	int			 hm_scan_gap;		/* ... after a space */
	size_t			 hm_scan_vlen;		/* ... from the third on */
	char			 hm_scan_name[18];	/* of the header */
	int			 hm_scan_framing;	/* in CL or TE's value */
	struct buf		 hm_head;	/* head bytes held back */
	/* request chunk-framing scanner */
	int			 hm_ck_state;
	uint64_t		 hm_ck_size;
	size_t			 hm_ck_line;
	size_t			 hm_ck_trailer_bytes;
	int			 hm_ck_trailers;
	/* error */
	char			*hm_error;
	int			 hm_error_status;	/* 400, 413, 431 ... */
};

struct upstream;
struct upreq;

/*
 * A response head as a backend reports it, whatever the transport: what
 * a relay needs besides the status and headers.
 */
struct response_head {
	int		 status;
	const char	*reason;	/* reason phrase as sent, NULL if none */
	int		 has_length;	/* the body is framed by Content-Length */
	uint64_t	 length;	/* ... of this many bytes */
};

/*
 * What a request to a backend reports to its owner.  A transport (HTTP/1
 * in upstream.c) implements these; nothing of its parser shows through.
 */
struct upreq_cbs {
	/* Response head; the headers are the owner's to move out of *hs
	 * (what it leaves there is freed). */
	void	(*on_head)(void *, const struct response_head *,
		    struct headers *);
	/* Body bytes, dechunked. */
	void	(*on_body)(void *, const char *, size_t);
	/* Done: error is NULL, or "connect", "timeout", "reset",
	 * "bad_response", "prefix"; detail says more.  The upreq is gone after. */
	void	(*on_done)(void *, const char *, const char *);
};

/*
 * A consumer of compared exchanges (pipeline.c): flag lines, the events
 * file, the capture, a command's own results.  Every hook runs on the
 * pipeline thread and must not block; any may be NULL.
 */
struct consumer {
	const char	*name;
	void		(*on_exchange)(void *, const struct exchange *);
	void		(*on_tick)(void *);	/* flush, say what was lost */
	void		(*on_reopen)(void *);	/* SIGHUP, SIGUSR1 */
	void		(*on_stop)(void *);	/* last flush, without waiting */
	void		*arg;
};

/* How a pipeline compares and how much it may hold. */
struct pipeline_opts {
	const struct compare_opts *compare;
	uint64_t	 queue_bytes;	/* --queue-size; 0: the default */
	int		 wait;		/* a full queue blocks the source */
	struct drift_table *drifts;	/* NULL: drifts are not followed */
};

/* Counts of exchanges (stats.c): the one way they are counted. */
struct stats_counts {
	uint64_t	 total;
	uint64_t	 status_match;	/* compared, and both statuses equal */
	uint64_t	 verdicts[VERDICT_NONE + 1];
	uint64_t	 dropped;	/* not kept at all: the pipeline was full */
	uint64_t	 retried;	/* requests sent again to a backend */
	uint64_t	 flags_held;	/* DIVERGE lines --flag-limit held back */
};

/* What the runtime calls an engine back for; any may be NULL. */
struct runtime_cbs {
	void		(*stop)(void *);	/* SIGTERM: stop, finish */
	void		(*abort)(void *);	/* grace over: end what is left */
	void		(*reopen)(void *);	/* SIGHUP, SIGUSR1 */
	void		(*summary)(void *);	/* SIGUSR2: the line so far */
};

/* A new connection on a listener. */
typedef void (*listener_cb)(int, struct sockaddr *, int, void *);

/* What the proxy needs to know, filled from flags and the config. */
struct proxy_opts {
	const struct shadow_opts *shadow;	/* the candidate's own headers */
	const struct tls_opts *tls;		/* https:// backends */
	const char	*listen;
	const char	*primary;
	const char	*candidate;
	double		 sample;
	char	       **mirror_methods;	/* NULL: all */
	size_t		 nmirror_methods;
	int		 primary_timeout;	/* ms */
	int		 candidate_timeout;	/* ms */
	uint64_t	 max_body;
	unsigned	 max_inflight;
	uint64_t	 max_inflight_bytes;	/* of candidate requests */
	const char	*trace_header;
	const char	*host;			/* Host sent to backends */
	int		 grace;			/* ms */
	int		 header_timeout;	/* ms, whole header block */
	const struct route_rule *routes;
	size_t		 nroutes;
	const char	*secondary;		/* NULL: no second copy */
	int		 secondary_timeout;	/* ms */
	unsigned	 self_check;		/* per million; 0: off */
	unsigned	 threads;		/* event loops; 0, 1: one */
	const char	*tls_cert;		/* --tls-cert, or NULL */
	const char	*tls_key;
	struct tls_server *listen_tls;		/* loaded from them */
};

/* Which recorded exchanges replay sends (--filter); empty lists: all. */
struct replay_filter {
	char	       **routes;	/* fnmatch patterns on the route */
	size_t		 nroutes;
	char	       **methods;
	size_t		 nmethods;
	unsigned	 verdicts;	/* bit (1 << verdict); 0: all */
};

/* What replay needs to know, filled from flags and the config. */
struct replay_opts {
	const struct shadow_opts *shadow;	/* the candidate's own headers */
	const struct tls_opts *tls;		/* https:// backends */
	const char	*primary;	/* NULL: the recorded primary */
	const char	*candidate;
	unsigned	 concurrency;
	double		 rate;		/* requests started per second; 0: no cap */
	int		 timeout;	/* ms, each backend */
	int		 side_timeout[SIDE_MAX]; /* ms, 0: timeout */
	uint64_t	 max_body;
	const char	*trace_header;
	const char	*host;
	int		 drop_redacted;
	struct shadow_opts set_headers;	/* values for redacted headers */
	int		 lenient;
	int		 quiet;
	int		 progress;	/* draw a progress bar on stderr */
	struct replay_filter filter;
	const struct route_rule *routes;
	size_t		 nroutes;
	const char	*secondary;	/* NULL: no second copy */
	unsigned	 self_check;	/* per million; 0: off */
};

/* What a replay did. */
struct replay_stats {
	uint64_t	 read;		/* recorded exchanges read */
	uint64_t	 filtered;	/* not selected by --filter */
	uint64_t	 skipped;	/* unsafe to replay */
	uint64_t	 sent;		/* replayed */
	uint64_t	 completed;
	uint64_t	 reached;	/* live responses received */
	uint64_t	 dropped;	/* replay_submit: over --concurrency */
};

#define SNIFF_MAX_PORTS		64
#define SNIFF_BUFFER		(16 * 1024 * 1024)	/* kernel ring */

/* How diff compares two documents. */
enum docdiff_mode {
	DOCDIFF_SHAPE,		/* the JSON shapes agree */
	DOCDIFF_EXACT		/* byte-equal once parsed and re-serialized */
};

/* What diff needs to know, filled from flags. */
struct docdiff_opts {
	enum docdiff_mode	 mode;
	struct compare_opts	 co;
	int			 fail_on[VERDICT_NONE + 1];
	int			 fail_on_set;
	int			 json;
	int			 color;
};

#define IMPORT_MAX_PORTS	64

/* What import needs to know, filled from flags (or by record). */
struct import_opts {
	const char		*output;	/* NULL or "-": stdout */
	const char		*source;	/* "import" or "record" */
	const char		*command;	/* in messages; NULL: "import" */
	uint16_t		 ports[IMPORT_MAX_PORTS];
	size_t			 nports;
	uint64_t		 max_body;
	struct capture_opts	 cap;		/* body limit, redaction */
	int			 quiet;		/* no summary, no progress */
};

#ifndef PKGLIBDIR
#define PKGLIBDIR	"/usr/local/lib/paritytap"
#endif
#define RECORD_LIB	"libparitytap-preload.so"

/* What record needs to know, filled from flags. */
struct record_opts {
	const char		*output;	/* NULL or "-": stdout */
	const char		*pcap;		/* --pcap, or NULL */
	char			*ports;		/* "80,8080", or NULL */
	size_t			 nports;
	uint64_t		 max_bytes;	/* per connection; 0: all */
	int			 keep_secrets;
	int			 raw_bodies;	/* --capture-raw-bodies */
	int			 quiet;
};

/* What sniff needs to know, filled from flags and the config. */
struct sniff_opts {
	struct options		 o;
	struct replay_opts	 ro;
	const char		*interface;
	uint16_t		 ports[SNIFF_MAX_PORTS];
	size_t			 nports;
	const char		*events;
	int			 grace;		/* ms */
	unsigned		 stats_interval;	/* s; 0: at exit only */
	unsigned		 duration;	/* s; 0: until stopped */
	uint64_t		 count;		/* exchanges; 0: no limit */
	int			 promisc;
	uint64_t		 buffer_size;	/* the kernel's buffer, bytes */
	struct drift_table_opts	*drifts;	/* --resolve-after, --state, ... */
	struct admin_opts	*admin;		/* --admin, ... */
};

/* xmalloc.c */
void		*xmalloc(size_t);
void		*xcalloc(size_t, size_t);
void		*xrealloc(void *, size_t);
void		*xreallocarray(void *, size_t, size_t);
char		*xstrdup(const char *);
char		*xstrndup(const char *, size_t);
int		 xasprintf(char **, const char *, ...) printflike(2, 3);
int		 xvasprintf(char **, const char *, va_list) printflike(2, 0);

/* log.c */
extern int	 log_verbose;		/* -v count */
extern int	 log_quiet;		/* -q */
void		 log_init(const char *);
void		 log_warn(const char *, ...) printflike(1, 2);
void		 log_warnx(const char *, ...) printflike(1, 2);
void		 log_info(const char *, ...) printflike(1, 2);
void		 log_debug(const char *, ...) printflike(1, 2);
__dead void	 fatal(const char *, ...) printflike(1, 2);
__dead void	 fatalx(const char *, ...) printflike(1, 2);

/* drift.c: one difference, the unit of alerting (DESIGN §5) */

/*
 * A drift's key is route, kind, folded path and side, each a printable
 * string without tabs ("-" where there is none): kind is "missing",
 * "extra", "order", "type(integer->string)", "status 200->500",
 * "header:content-type", "candidate_error:timeout", "invalid_json", ...
 */
struct drift {
	char		*route;		/* "GET /users/:id" */
	char		*kind;
	char		*path;		/* "$.items[*].id", or "-" */
	char		*side;		/* "candidate", "primary", "both", ... */
	enum verdict	 verdict;	/* what this difference alone gives */
};

#define DRIFT_ID_LEN	16

/* A drift's lifecycle: new -> ongoing -> resolved -> regressed. */
enum drift_state {
	DRIFT_NEW = 0,
	DRIFT_ONGOING,
	DRIFT_RESOLVED,
	DRIFT_REGRESSED
};

/*
 * A drift's transition (or, with DRIFT_ONGOING, a reminder that it goes
 * on), as the drift table hands it to the alert channels; they copy what
 * they keep.  Times are Unix seconds of the exchanges' clocks.
 */
struct drift_event {
	const struct drift *drift;
	const char	*id;		/* drift_id */
	enum drift_state state;
	int		 baselined;	/* in --baseline: counted, not alerted */
	double		 at;		/* when the transition happened */
	double		 first_seen;
	double		 last_seen;
	uint64_t	 count;		/* exchanges that carried it */
	uint64_t	 route_total;	/* exchanges on its route meanwhile */
	const char	*example_id;	/* the trace id of one that carried it */
	const char	*example_request; /* its request line, "GET /users/42" */
	int		 known;		/* no transition: a drift already held */
};

const char	*drift_state_name(enum drift_state);
int		 drift_state_parse(const char *, enum drift_state *);
char		*exchange_route(const struct exchange *);
size_t		 drift_extract(const struct exchange *, struct drift **);
void		 drift_clear(struct drift *);
void		 drift_free_all(struct drift *, size_t);
void		 drift_copy(struct drift *, const struct drift *);
int		 drift_cmp(const struct drift *, const struct drift *);
char		*drift_key(const struct drift *);
void		 drift_id(const struct drift *, char [DRIFT_ID_LEN + 1]);
int		 drift_parse(const char *, struct drift *, const char **);
struct baseline;
struct baseline	*baseline_new(void);
void		 baseline_add(struct baseline *, const struct drift *);
struct baseline	*baseline_load(const char *, char **);
int		 baseline_has(const struct baseline *, const struct drift *);
size_t		 baseline_count(const struct baseline *);
void		 baseline_free(struct baseline *);
void		 baseline_write(FILE *, const struct drift *, size_t,
		     const char *);

/* alert.c: drift transitions to Alertmanager, webhooks, hooks (DESIGN §5) */
struct alerts;
struct alert_counts {
	const char	*channel;	/* "alertmanager", "webhook", "slack", */
	const char	*target;	/* "exec"; its URL or command */
	uint64_t	 sent;
	uint64_t	 failed;
	uint64_t	 dropped;
};
void		 alert_opts_init(struct alert_opts *);
int		 alert_opts_set(struct alert_opts *, struct options *,
		     const char *, const char *, char **);
void		 alert_opts_free(struct alert_opts *);
int		 alerts_wanted(const struct alert_opts *);
char		*alerts_pair(const char *, const char *);
struct alerts	*alerts_new(const struct alert_opts *, const char *, char **);
void		 alerts_submit(struct alerts *, const struct drift_event *);
void		 alerts_listener(void *, const struct drift_event *);
void		 alerts_stop(struct alerts *, double);
size_t		 alerts_counts(struct alerts *, struct alert_counts *, size_t);
char		*alerts_summary(struct alerts *);
void		 alerts_free(struct alerts *);
/* drifttable.c: the drifts of a run and their lifecycle (DESIGN §5) */

#define DEFAULT_RESOLVE_AFTER_MS	(10 * 60 * 1000)	/* --resolve-after */
#define DEFAULT_STATE_INTERVAL_MS	(10 * 1000)	/* --state-interval */

/* The options of the drift table, word for word in proxy and sniff. */
#define OPTIONS_ENTRIES_DRIFTS \
	{ "resolve-after", 0, "DURATION", "a drift not seen for this long of "	\
	    "traffic on its route is resolved (10m, 30s; a bare number is "	\
	    "seconds)", "10m" },						\
	{ "state", 0, "FILE", "keep the drift table in FILE across restarts",	\
	    NULL },								\
	{ "state-interval", 0, "DURATION", "rewrite --state at most this "	\
	    "often (s if no unit)", "10s" },							\
	{ "baseline", 0, "FILE", "drifts known and accepted: counted, never "	\
	    "alerted (paritytap report --format baseline)", NULL }

/* How a drift table is set up, from --resolve-after, --state, ... */
struct drift_table_opts {
	uint64_t	 resolve_after_ms;	/* 0: the default */
	const char	*state_path;		/* --state, or NULL */
	uint64_t	 state_interval_ms;	/* 0: the default */
	const char	*baseline_path;		/* --baseline, or NULL */
	int		 quiet;			/* no NEW/RESOLVED lines */
	int		 color;
};

/* One drift an exchange carries, and its state once it was counted. */
struct exchange_drift {
	struct drift	 xd_drift;
	char		 xd_id[DRIFT_ID_LEN + 1];
	enum drift_state xd_state;
	int		 xd_baselined;
};

/* What a drift table holds, for the summary line. */
struct drift_counts {
	uint64_t	 drifts;	/* known: this run's and the state's */
	uint64_t	 new_this_run;
	uint64_t	 resolved;	/* resolved now */
	uint64_t	 baselined;
	uint64_t	 events[DRIFT_REGRESSED + 1];	/* transitions this run */
	uint64_t	 untracked;	/* sightings of drifts not followed */
};

/*
 * A listener of a drift table's transitions (NEW, RESOLVED, REGRESSED).
 * It is called on the pipeline thread, in the middle of an exchange's
 * processing: it must copy what it keeps and return at once, never block.
 */
typedef void (*drift_listener_cb)(void *, const struct drift_event *);

struct drift_table;
int		 drift_table_option(struct options *, struct drift_table_opts *,
		     const char *, const char *, char **);
struct drift_table *drift_table_new(const struct drift_table_opts *,
		     char **);
void		 drift_table_known(struct drift_table *, drift_listener_cb,
		    void *);
void		 drift_table_listen(struct drift_table *, drift_listener_cb,
		     void *);
void		 drift_table_exchange(struct drift_table *, struct exchange *);
void		 drift_table_tick(struct drift_table *);
void		 drift_table_stop(struct drift_table *);
void		 drift_table_counts(struct drift_table *, struct drift_counts *);
char		*drift_counts_summary(const struct drift_counts *);
void		 drift_table_free(struct drift_table *);
void		 exchange_drifts_free(struct exchange *);

/* admin.c, metrics.c: the admin listener and what it shows (DESIGN §5) */
#define OPTIONS_ENTRIES_ADMIN \
	{ "admin", 0, "ADDR:PORT", "serve /metrics, /healthz, /readyz, "	\
	    "/api/* and a dashboard here (a bare port: loopback)", NULL },	\
	{ "admin-token", 0, "FILE", "admin requests must carry "		\
	    "Authorization: Bearer and the token in FILE", NULL },		\
	{ "max-routes", 0, "N", "route label values in /metrics; the rest "	\
	    "are counted as route=\"other\"", "100" },				\
	{ "ready-window", 0, "DURATION", "/readyz wants both backends to "	\
	    "have answered within this (s if no unit)", "30s" },				\
	{ "admin-keep", 0, "N", "divergent exchanges kept for "		\
	    "/api/exchanges", "100" },						\
	{ "admin-tls-cert", 0, "FILE", "serve --admin over HTTPS with this "	\
	    "PEM certificate (chain after it); reloaded on SIGHUP", NULL },	\
	{ "admin-tls-key", 0, "FILE", "the private key of --admin-tls-cert",	\
	    NULL }

struct admin_opts {
	const char	*listen;		/* --admin, or NULL: none */
	const char	*token_path;		/* --admin-token */
	unsigned	 max_routes;
	unsigned	 keep;
	uint64_t	 ready_window_ms;
	const char	*tls_cert;		/* --admin-tls-cert */
	const char	*tls_key;		/* --admin-tls-key */
};

/* What the admin listener reads; any but metrics and pipeline NULL. */
struct admin_sources {
	const char		*command;	/* "proxy", "sniff" */
	struct metrics		*metrics;
	struct pipeline		*pipeline;
	struct capture		*capture;
	struct drift_table	*drifts;
	struct alerts		*alerts;
	struct proxy		*proxy;		/* or */
	struct replay		*replay;	/* sniff's */
	int			 secondary;	/* a third side is sent */
};

struct admin;
void		 admin_opts_init(struct admin_opts *);
int		 admin_option(struct options *, struct admin_opts *,
		     const char *, const char *, char **);
struct admin	*admin_new(const struct admin_opts *, char **);
const char	*admin_address(const struct admin *);
void		 admin_start(struct admin *, const struct admin_sources *);
void		 admin_reload(struct admin *);
int		 admin_opts_check(const struct admin_opts *, char **);
void		 admin_free(struct admin *);

struct metrics;
struct metrics	*metrics_new(unsigned, size_t, const struct capture_opts *);
void		 metrics_free(struct metrics *);
void		 metrics_consumer(struct metrics *, struct consumer *);
void		 metrics_drift_listener(void *, const struct drift_event *);
double		 metrics_answered(struct metrics *, int);
void		 metrics_family_line(struct buf *, const char *, const char *,
		     const char *);
void		 metrics_render(struct metrics *, struct buf *);
void		 metrics_summary(struct metrics *, json_t *, json_t *);
json_t		*metrics_drifts(struct metrics *, const char *, size_t);
char		*metrics_exchanges(struct metrics *, const char *,
		     const char *, size_t);

/* noise.c */
struct noise;
void		 noise_opts_init(struct noise_opts *);
struct noise	*noise_new(const struct noise_opts *);
void		 noise_free(struct noise *);
void		 noise_learn(struct noise *, const struct compare_opts *,
		     const struct exchange *);
void		 noise_mark(struct noise *, struct exchange *);
void		 noise_exchange(struct noise *, const struct compare_opts *,
		     struct exchange *);
uint64_t	 noise_marked(const struct noise *);
const char	*noise_volatile(const char *);
json_t		*noise_json(struct noise *);

/* strmap.c */
struct strmap;
size_t		 strmap_hash(const char *);
struct strmap	*strmap_new(void);
void		*strmap_get(struct strmap *, const char *);
void		 strmap_put(struct strmap *, const char *, void *);
void		 strmap_free(struct strmap *);

/* util.c */
void		 buf_init(struct buf *);
void		 buf_add(struct buf *, const void *, size_t);
void		 buf_addstr(struct buf *, const char *);
void		 buf_add_u64(struct buf *, uint64_t);
void		 buf_printf(struct buf *, const char *, ...) printflike(2, 3);
void		 buf_reset(struct buf *);
void		 buf_free(struct buf *);
char		*buf_detach(struct buf *);	/* NUL-terminated; buf emptied */
void		 headers_add(struct headers *, const char *, size_t,
		     const char *, size_t);
void		 headers_set_value(struct headers *, size_t, const char *,
		     size_t);
int		 header_name_is(const char *, const char *);
const char	*headers_get(const struct headers *, const char *);
void		 headers_free(struct headers *);
size_t		 headers_bytes(const struct headers *);
void		 http_request_free(struct http_request *);
void		 response_side_free(struct response_side *);
int		 parse_size(const char *, uint64_t *, char **);
int		 parse_uint(const char *, uint64_t, uint64_t, uint64_t *,
		     char **);
int		 parse_rate(const char *, double *, char **);
int		 parse_self_check(const char *, unsigned *, char **);
int		 self_check_pick(unsigned, uint64_t *);
double		 mono_ms(void);			/* monotonic clock, ms */
void		 thread_background(void);
int		 rfc3339_ok(const struct timeval *);
void		 format_rfc3339(const struct timeval *, char *, size_t);
int		 use_color(const char *, int, char **);	/* --color */
int		 strlist_add(char ***, size_t *, const char *);
void		 strlist_free(char ***, size_t *);
int		 is_hop_by_hop(const char *);

/* http.c */
void		 http_msg_init(struct http_msg *, int,
		     const struct http_msg_cbs *, void *);
void		 http_msg_reset(struct http_msg *);
void		 http_msg_free(struct http_msg *);
ssize_t		 http_msg_feed(struct http_msg *, const char *, size_t);
int		 http_msg_eof(struct http_msg *);
int		 http_msg_fail(struct http_msg *, int, const char *, ...)
		     printflike(3, 4);
int		 http_msg_keepalive(const struct http_msg *);
const char	*http_msg_method(const struct http_msg *);
int		 http_msg_status(const struct http_msg *);
void		 http_msg_version(const struct http_msg *, int *, int *);
int		 http_msg_body_expected(const struct http_msg *);
int		 http_request_check(struct http_msg *);
const char	*http_reason(int);

/* upstream.c */
struct upstream	*upstream_new(struct event_base *, const char *, const char *,
		     int, unsigned, int, const struct tls_opts *, char **);
int		 upstream_tls(const struct upstream *);
void		 upstream_tls_counts(const struct upstream *, uint64_t *,
		     uint64_t *);
void		 upstream_free(struct upstream *);
const char	*upstream_authority(const struct upstream *);
void		 upstream_set_header(struct upstream *, const char *,
		     const char *);
struct upreq	*upstream_send(struct upstream *, const char *, size_t,
		     const char *, size_t, int, const struct upreq_cbs *,
		     void *);
void		 upstream_cancel(struct upreq *);
void		 upstream_pause(struct upreq *);
void		 upstream_resume(struct upreq *);
unsigned	 upstream_inflight(const struct upstream *);
uint64_t	 upstream_retries(const struct upstream *);

/* tls-client.c */
struct ssl_ctx_st;
struct ssl_st;
int		 tls_opts_name(const char *);
int		 options_text_json(const char *, const char *, int *, char **);
int		 tls_opts_set(struct tls_opts *, const char *, const char *,
		     char **);
int		 tls_opts_any(const struct tls_opts *);
void		 tls_opts_check(const struct tls_opts *, struct upstream **,
		     size_t);
const char	*tls_last_error(void);
struct ssl_ctx_st *tls_client_ctx(const struct tls_opts *, const char *,
		     const char *, const char **, char **);
char		*tls_failure(struct ssl_st *, int, int, int);

/* fanout.c */
struct fanout;
/*
 * Per-side hooks of a fan-out's owner, called with the side after the
 * fan-out has recorded what it got; any may be NULL.
 */
struct fanout_hooks {
	/* The head (status and headers already in the exchange). */
	void	(*on_head)(void *, int, const struct response_head *,
		    const struct headers *);
	/* Body bytes, dechunked (already teed). */
	void	(*on_body)(void *, int, const char *, size_t);
	/* The side ended: error NULL, or as upreq_cbs' on_done. */
	void	(*on_done)(void *, int, const char *, const char *);
};
typedef void	(*fanout_cb)(void *);
struct fanout	*fanout_new(struct pipeline *, struct exchange *,
		     struct buf *, int, uint64_t, fanout_cb, void *);
void		 fanout_send(struct fanout *, int, struct upstream *,
		     const struct fanout_hooks *, void *);
void		 fanout_abort(struct fanout *, const char *, const char *);
void		 fanout_pause(struct fanout *, int);
void		 fanout_resume(struct fanout *, int);
size_t		 fanout_request_bytes(const struct fanout *);

/* proxy.c */
struct proxy;
struct proxy	*proxy_new(struct event_base *, const struct proxy_opts *,
		     struct pipeline *, int *, char **);
const char	*proxy_address(const struct proxy *);
void		 proxy_shutdown(struct proxy *);
void		 proxy_abort(struct proxy *);
void		 proxy_free(struct proxy *);
uint64_t	 proxy_mirror_dropped(const struct proxy *, const char *);
uint64_t	 proxy_retries(const struct proxy *);
unsigned	 proxy_inflight(const struct proxy *, int);
int		 proxy_tls_errors(const struct proxy *, uint64_t *);

/* cmd-diff.c */
extern const struct cmd_entry cmd_diff_entry;

/* docdiff.c */
int		 docdiff_run(const struct docdiff_opts *, const char *,
		     const char *);

/* cmd-proxy.c */
extern const struct cmd_entry cmd_proxy_entry;

/* cmd-report.c */
extern const struct cmd_entry cmd_report_entry;

/* cmd-import.c */
extern const struct cmd_entry cmd_import_entry;

/* import.c */
int		 import_run(const struct import_opts *, char **, int);

/* cmd-record.c */
extern const struct cmd_entry cmd_record_entry;

/* cmd-rejudge.c */
extern const struct cmd_entry cmd_rejudge_entry;

/* record.c */
int		 record_run(const struct record_opts *, char **);

/* report.c */
struct report;
struct report	*report_new(size_t);
void		 report_free(struct report *);
void		 report_input(struct report *, const char *);
void		 report_add(struct report *, struct exchange *);
char		*report_signature(const struct exchange *);
int		 report_text(struct report *, size_t, FILE *);
int		 report_json(struct report *, size_t, FILE *);
void		 report_set_baseline(struct report *, const struct baseline *);
int		 report_baseline(struct report *, FILE *);
char		*report_drift_text(const struct drift *);

/* report-html.c */
int		 report_html(struct report *, size_t, FILE *);
/* canonical.c */
void		 canonical_add_header(struct buf *, const char *,
		     const char *);
int		 canonical_strip_header(const struct headers *, int,
		     const char *);
void		 canonical_head(const struct http_request *, const char *,
		     const char *, const char *, const char *, const char *,
		     struct buf *);

/* cmd-replay.c */
extern const struct cmd_entry cmd_replay_entry;

/* cmd-sniff.c */
extern const struct cmd_entry cmd_sniff_entry;

/* sniff.c */
int		 sniff_run(struct sniff_opts *);

/* replay.c */
int		 replay_run(struct event_base *, const struct replay_opts *,
		     char **, int, struct pipeline *, struct replay_stats *,
		     char **);
struct replay;
struct replay	*replay_new(struct event_base *, const struct replay_opts *,
		     struct pipeline *, char **);
const char	*replay_submit(struct replay *, struct exchange *);
unsigned	 replay_inflight(const struct replay *);
unsigned	 replay_side_inflight(const struct replay *, int);
uint64_t	 replay_dropped(const struct replay *);
unsigned	 replay_drain(struct replay *, int);
void		 replay_free(struct replay *, struct replay_stats *);

/* pipeline.c */
struct pipeline	*pipeline_new(const struct pipeline_opts *);
void		 pipeline_add(struct pipeline *, const struct consumer *);
void		 pipeline_start(struct pipeline *);
void		 pipeline_submit(struct pipeline *, struct exchange *);
void		 pipeline_skip(struct exchange *, const char *);
void		 pipeline_reopen(struct pipeline *);
int		 pipeline_stop(struct pipeline *, double);
void		 pipeline_counts(struct pipeline *, struct stats_counts *);
void		 pipeline_queue(struct pipeline *, uint64_t *, uint64_t *,
		     uint64_t *, uint64_t *);
void		 pipeline_free(struct pipeline *);

/* stats.c */
struct stats;
void		 stats_counts_add(struct stats_counts *,
		     const struct exchange *);
uint64_t	 stats_errors(const struct stats_counts *);
struct stats	*stats_new(void);
void		 stats_free(struct stats *);
void		 stats_add(struct stats *, const struct exchange *);
void		 stats_add_dropped(struct stats *, uint64_t);
void		 stats_snapshot(struct stats *, struct stats_counts *);
char		*stats_summary(const struct stats_counts *);
void		 stats_flags_held(struct buf *, const struct stats_counts *);
char		*stats_run_line(const struct stats_counts *, struct drift_table *,
		    struct alerts *, uint64_t, uint64_t);

/* flagline.c */
struct flagline;
void		 flag_opts_init(struct flag_opts *);
int		 flag_opts_set(struct flag_opts *, const char *, const char *,
		     char **);
struct flagline	*flagline_new(const struct flag_opts *, int, FILE *);
void		 flagline_consumer(struct flagline *, struct consumer *);
uint64_t	 flagline_held(struct flagline *);
void		 flagline_free(struct flagline *);

/* events.c */
struct events;
struct events	*events_open(const char *, const struct capture_opts *,
		     char **);
void		 events_consumer(struct events *, struct consumer *);
void		 events_drift_listener(void *, const struct drift_event *);
void		 events_close(struct events *);

/* runtime.c */
struct runtime;
struct runtime	*runtime_new(const struct runtime_cbs *, void *, int);
struct event_base *runtime_base(struct runtime *);
void		 runtime_dispatch(struct runtime *);
void		 runtime_stop(struct runtime *);
double		 runtime_deadline(const struct runtime *);
void		 runtime_free(struct runtime *);

/* tls-server.c: a listener's certificate and key, reloaded on SIGHUP */
struct tls_server;
struct ssl_st;
int		 tls_server_check(const char *, const char *, const char *,
		     char **);
struct tls_server *tls_server_new(const char *, const char *, const char *,
		     char **);
void		 tls_server_reload(struct tls_server *);
struct ssl_st	*tls_server_ssl(struct tls_server *);
void		 tls_server_free(struct tls_server *);

/* listener.c */
struct listener;
#define LISTENER_ALONE	0	/* the only socket on its address */
#define LISTENER_FIRST	1	/* the first of several (SO_REUSEPORT) */
#define LISTENER_JOIN	2	/* another on the first's address */
struct listener	*listener_new(struct event_base *, const char *, int,
		     listener_cb, void *, int *, char **);
const char	*listener_address(const struct listener *);
void		 listener_disable(struct listener *);
void		 listener_free(struct listener *);

/* trace.c */
void		 trace_mint(char *, size_t);
int		 trace_valid(const char *);
int		 trace_from_traceparent(const char *, char *, size_t);
void		 trace_choose(const struct headers *, const char *, char *,
		     size_t);

/* route.c */
char		*route_template(const char *, const char *,
		     const struct route_rule *, size_t);

/* exchange.c */
void		 exchange_init(struct exchange *, const char *);
void		 exchange_free(struct exchange *);
const char	*verdict_name(enum verdict);
int		 verdict_from_name(const char *, enum verdict *);
int		 verdict_is_divergence(enum verdict);
uint64_t	 verdicts_failing(const uint64_t *);
const char	*side_name(enum side);
char		*exchange_flag_line(const struct exchange *, int);
void		 response_side_tee(struct response_side *, void **, uint64_t,
		     const char *, size_t);
void		 response_side_end(struct response_side *, void **,
		     const char *, const char *);

/* diff.c */
const char	*diff_kind_name(enum diff_kind);
int		 diff_kind_parse(const char *, enum diff_kind *);
const char	*diff_name(const struct diff *);
const char	*diff_hint_key(const struct diff *);
void		 diff_list_init(struct diff_list *, size_t);
struct diff	*diff_list_add(struct diff_list *, enum diff_kind, const char *,
		     int);
struct diff	*diff_list_add_name(struct diff_list *, const char *,
		     const char *, int);
void		 diff_list_sort(struct diff_list *);
void		 diff_list_truncate(struct diff_list *, size_t);
void		 diff_list_free(struct diff_list *);
int		 diff_strcmp(const char *, const char *);	/* NULL first */
char		*diff_short(const char *, size_t);	/* ~80 bytes, cut */

/* compare.c */
struct json_doc;
const struct route_rule *compare_rule(const struct compare_opts *,
		     const char *);
void		 compare_exchange(const struct compare_opts *,
		     struct exchange *);
enum verdict	 compare_bodies(const struct compare_opts *,
		     const struct route_rule *, const struct response_side *,
		     const struct response_side *, struct diff_list *);
enum verdict	 compare_json_text(const struct compare_opts *,
		     const struct route_rule *, const char *, size_t,
		     const char *, size_t, struct diff_list *);
enum verdict	 compare_json_docs(const struct compare_opts *,
		     const struct route_rule *, const struct json_doc *,
		     const struct json_doc *, struct diff_list *);
enum verdict	 compare_headers(const struct compare_opts *,
		     const struct route_rule *, const struct headers *,
		     const struct headers *, struct diff_list *);
int		 compare_normalize_add(struct normalize **, size_t *,
		     const char *, char **);
void		 compare_normalize_free(struct normalize **, size_t *);

/* decode.c */
#define DECODE_OVER	-2	/* decode_body: the body decodes past the limit */
int		 decode_body(const struct response_side *, struct buf *,
		     size_t, char **);
int		 decode_for_capture(const struct response_side *, size_t,
		     struct buf *, char **, char **);
void		 decode_encode(const char *, const char *, size_t,
		     struct buf *);

/* json.c */
struct ignore_set;

/* One duplicate key of a document: its object's path and the key. */
struct json_dup {
	char		*path;
	char		*key;		/* keylen bytes, may hold NUL */
	size_t		 keylen;
	size_t		 offset;	/* the repeat's opening quote */
};

/* A document parsed for comparison. */
struct json_doc {
	json_t		*root;		/* NULL: it does not parse */
	json_t		**big;		/* numbers kept as text, by address */
	size_t		 nbig;
	struct json_dup	*dups;		/* all of them, in document order */
	size_t		 ndups;
	char		*error;		/* why it does not parse */
	size_t		 error_offset;
	int		 too_deep;
};
int		 json_doc_read(struct json_doc *, const char *, size_t);
void		 json_doc_free(struct json_doc *);
const char	*json_doc_number(const struct json_doc *, json_t *, size_t *);
void		 json_doc_error(const struct json_doc *, int,
		     struct diff_list *);
char		*json_render_string(const char *, size_t);

/* shape.c */
enum verdict	 shape_diff(const struct compare_opts *, struct ignore_set *,
		     struct ignore_set *, const struct json_doc *,
		     const struct json_doc *, struct diff_list *);

/* jsonpath.c */
int		 jsonpath_valid(const char *, char **);
struct ignore_set *jsonpath_ignore_new(const struct compare_opts *,
		     const struct route_rule *);
int		 jsonpath_ignored(struct ignore_set *, const char *);
struct ignore_set *jsonpath_set_new(char **, size_t, char **, size_t);
int		 jsonpath_set_empty(const struct ignore_set *);
void		 jsonpath_ignore_free(struct ignore_set *);
void		 jsonpath_key(struct buf *, const char *, size_t);
void		 jsonpath_index(struct buf *, size_t);
const char	*jsonpath_unquote(const char **, const char *, struct buf *);
char		*jsonpath_fold(const char *);	/* $.a[3].b -> $.a[*].b */
int		 jsonpath_cmp(const char *, const char *);

/* capture.c */
struct capture;
struct capture_reader;
struct capture	*capture_open(const struct capture_opts *, char **);
struct capture	*capture_fdopen(int, const char *,
		     const struct capture_opts *);
int		 capture_write(struct capture *, const struct exchange *);
int		 capture_flush(struct capture *);
int		 capture_reopen(struct capture *, char **);
uint64_t	 capture_close(struct capture *);
uint64_t	 capture_bytes(struct capture *);
uint64_t	 capture_errors(struct capture *);
int		 capture_failing(struct capture *);
uint64_t	 capture_lost(struct capture *);
void		 capture_stamp(uint64_t, char *, size_t);
int		 capture_rotated_name(const char *, int, const char *);
int		 capture_compress_file(const char *, char **);
void		 capture_consumer(struct capture *, struct consumer *);
/* Parts of a line a reader may pass over: read and checked, not kept. */
#define CAPTURE_SKIP_SIDE(side)	(1U << (side))	/* responses.<side> */
#define CAPTURE_SKIP_DIFFS	(1U << SIDE_MAX)
const char	*capture_kind(const unsigned char *, size_t, int);
struct capture_reader *capture_reader_open(const char *, int, char **);
void		 capture_reader_skip(struct capture_reader *, unsigned);
void		 capture_reader_on_wait(struct capture_reader *,
		    void (*)(void *), void *);
int		 capture_reader_next(struct capture_reader *, struct exchange *,
		     char **);
void		 capture_reader_close(struct capture_reader *);
const char	*capture_reader_text(struct capture_reader *, size_t *,
		     unsigned long long *);

/* capture-json.c */
json_t		*capture_text(const char *, size_t, int *);
json_t		*exchange_to_json(const struct exchange *,
		     const struct capture_opts *);
int		 exchange_from_json(json_t *, struct exchange *, char **);
/* (the pieces of the capture form capture-line.c writes the same way) */
void		 capture_b64_add(struct buf *, const void *, size_t);
void		 capture_sha256(const void *, size_t, char [65]);
int		 capture_body_cut(const char *, size_t, size_t, size_t *,
		     size_t *);
const char	*capture_header_value(const struct header *,
		     const struct capture_opts *);
const char	*capture_diff_value(const struct diff *, const char *,
		     const struct capture_opts *);
void		 capture_version(const struct http_request *, char *, size_t);
uint64_t	 capture_body_bytes(const struct response_side *);
long long	 capture_centis(const struct response_side *);
const struct capture_opts *capture_settings(const struct capture_opts *);
size_t		 capture_limit(const struct capture_opts *);
void		 capture_body_view(struct capture_body *,
		     const struct response_side *, const struct capture_opts *,
		     size_t);
void		 capture_body_done(struct capture_body *);
/* (and the pieces capture-fast.c reads the same way) */
int		 capture_parse_ts(const char *, struct timeval *);
int		 capture_scan_version(const char *, int *, int *);
const char	*capture_source_name(const char *);

/* capture-fast.c */
int		 capture_fast_read(const char *, size_t, struct exchange *);
int		 capture_fast_parse(const char *, size_t, struct exchange *,
		     unsigned, struct buf *, struct buf *);

/* capture-line.c */
/* What a byte that is not UTF-8 becomes in text: U+FFFD. */
#define CAPTURE_REPLACEMENT	"\xef\xbf\xbd"
char		*exchange_to_line(const struct exchange *,
		     const struct capture_opts *);
void		 capture_line(const struct exchange *,
		     const struct capture_opts *, struct buf *);
void		 capture_line_verdict(const struct exchange *,
		     const struct capture_opts *, struct buf *);
size_t		 capture_utf8_seq(const unsigned char *, size_t);

/* capture-pcap.c */
struct capture_pcap;
struct capture_pcap *capture_pcap_open(FILE *, char **);
unsigned	 capture_pcap_add(struct capture_pcap *, const struct exchange *,
		     uint64_t *);
int		 capture_pcap_close(struct capture_pcap *);

/* capture-har.c */
struct capture_har;
struct capture_har *capture_har_open(FILE *, size_t);
int		 capture_har_add(struct capture_har *, const struct exchange *,
		     uint64_t *);
int		 capture_har_close(struct capture_har *);

/* cmd-export.c */
extern const struct cmd_entry cmd_export_entry;
extern const struct cmd_entry cmd_noise_entry;

/* config.c */
typedef int (*config_cb)(void *, const char *, const char *, const char *,
    char **);
int		 config_load(const char *, config_cb, void *, char **);
int		 config_route_section(const char *, char **);

/* options.c */
typedef int (*options_set_cb)(void *, const char *, const char *, char **);
void		 options_init(struct options *, const char *,
		     const struct options_entry *,
		     const struct options_target *);
void		 options_help(FILE *, const struct options_entry *, int);
const char	*options_keep(struct options *, const char *);
int		 options_bool(const char *, const char *, int *, char **);
int		 options_cause(const char *, char *, char **);
int		 options_ms(const char *, const char *, int *, char **);
void		 options_shadow_set(struct shadow_opts *, const char *,
		     const char *);
int		 options_header(const char *, const char *, int, char **,
		     char **, char **);
int		 options_verdicts(const char *, const char *, unsigned,
		     unsigned *, char **);
int		 options_duration(const char *, const char *, uint64_t,
		     uint64_t, uint64_t, uint64_t *, char **);
int		 options_set(struct options *, const char *, const char *,
		     char **);
int		 options_usage(const char *, const char *, ...)
		     printflike(2, 3);
int		 options_getopt(struct options *, int, char **,
		     void (*)(FILE *));
int		 options_load(struct options *, options_set_cb, void *);
int		 options_capture(struct options *, struct capture **);
void		 options_free(struct options *);

/* tcpreasm.c: TCP reassembly for import and sniff, DESIGN §9. */
#define TCP_DIR_C2S	0	/* client to server: requests */
#define TCP_DIR_S2C	1	/* server to client: responses */

/* Why a connection ended (struct tcpreasm_cbs close). */
#define TCP_CLOSE_FIN	0	/* both FINs seen, or one FIN and all data */
#define TCP_CLOSE_RST	1
#define TCP_CLOSE_CUT	2	/* over the per-stream or total memory limit */
#define TCP_CLOSE_IDLE	3	/* tcpreasm_expire */
#define TCP_CLOSE_END	4	/* tcpreasm_finish: end of the input */

/* One end of a connection. */
struct tcp_addr {
	int		 family;	/* AF_INET or AF_INET6 */
	uint8_t		 addr[16];	/* network order; 4 bytes for AF_INET */
	uint16_t	 port;		/* host order */
};

/*
 * A connection.  client is the side that sent the SYN; when no SYN was
 * captured, the side whose port is one of tcpreasm_ports (or else the
 * lower port) is the server.  user belongs to the caller.
 */
struct tcp_conn {
	uint64_t	 id;		/* 1, 2, ... in order of first packet */
	struct tcp_addr	 client;
	struct tcp_addr	 server;
	struct timeval	 first;		/* timestamp of the first packet */
	void		*user;
	int		 midstream;	/* no SYN seen: may begin mid-message */
	int		 unseen[2];	/* by TCP_DIR_: the other end has
					   acknowledged bytes not delivered */
	struct timeval	 unseen_ts[2];	/* since this packet */
	uint64_t	 acked[2];	/* by TCP_DIR_: the bytes being
					   delivered came in a segment that
					   acknowledged the other stream up
					   to acked - 1 (0: not known) */
};

/*
 * What reassembly reports, each in stream order: data is delivered once,
 * in sequence, with the timestamp of the packet that completed it; a hole
 * that can never be filled (the stream moved past it, or the input ended)
 * is reported as a gap of len bytes, then data goes on after it.
 */
struct tcpreasm_cbs {
	void	(*open)(void *, struct tcp_conn *);
	void	(*data)(void *, struct tcp_conn *, int, const uint8_t *,
		    size_t, const struct timeval *);
	void	(*gap)(void *, struct tcp_conn *, int, uint64_t,
		    const struct timeval *);
	void	(*close)(void *, struct tcp_conn *, int);
};

/* What reassembly saw. */
struct tcpreasm_stats {
	uint64_t	 packets;	/* handed to tcpreasm_packet */
	uint64_t	 not_tcp;	/* not IPv4/IPv6 TCP: skipped */
	uint64_t	 bad;		/* truncated or malformed headers */
	uint64_t	 connections;
	uint64_t	 no_syn;	/* connections whose SYN was not seen */
	uint64_t	 retransmits;	/* segments wholly seen before */
	uint64_t	 overlaps;	/* segments partly seen before */
	uint64_t	 out_of_order;	/* segments held for a hole */
	uint64_t	 waited;	/* held for the other stream's bytes
					   they acknowledge */
	uint64_t	 gaps;
	uint64_t	 gap_bytes;
	uint64_t	 cut;		/* connections over a memory limit */
	uint64_t	 fragments;	/* IP fragments: skipped */
	uint64_t	 held;		/* bytes held out of order now */
	uint64_t	 held_peak;	/* the most ever held at once */
	uint64_t	 late;		/* data for a connection closed: dropped */
};

struct tcpreasm;
struct tcpreasm	*tcpreasm_new(const struct tcpreasm_cbs *, void *,
		     size_t, size_t);	/* per-stream, total bytes held */
void		 tcpreasm_ports(struct tcpreasm *, const uint16_t *, size_t);
int		 tcpreasm_linktype_ok(int);	/* a DLT_ we decode */
int		 tcpreasm_packet(struct tcpreasm *, int, const struct timeval *,
		     const uint8_t *, size_t);	/* DLT_, ts, bytes, caplen */
void		 tcpreasm_expire(struct tcpreasm *, const struct timeval *,
		     unsigned);		/* close connections idle this many s */
void		 tcpreasm_finish(struct tcpreasm *);	/* close all: END */
const struct tcpreasm_stats *tcpreasm_stats(const struct tcpreasm *);
void		 tcpreasm_free(struct tcpreasm *);

/*
 * httpflow.c: HTTP/1.x exchanges out of reassembled connections, for
 * import and sniff.  Requests and responses pair in order on each
 * connection (keep-alive and pipelining); each pair becomes an exchange
 * with the request and the primary response filled in (source, ts from
 * the first request byte, ms from the last request byte to the last
 * response byte), handed to on_exchange, which owns it.
 */
struct httpflow_stats {
	uint64_t	 exchanges;
	uint64_t	 unparsable;	/* connections that were not HTTP/1.x */
	uint64_t	 gaps;		/* connections cut short by a gap */
	uint64_t	 unanswered;	/* requests with no response */
	uint64_t	 orphans;	/* responses with no request */
	uint64_t	 resumed;	/* connections parsed again after a gap */
	uint64_t	 not_resumed;	/* gaps in pipelined connections */
	uint64_t	 skipped;	/* bytes skipped to resume */
};
struct httpflow;
struct httpflow	*httpflow_new(const char *, uint64_t, size_t, size_t,
		     void (*)(struct exchange *, void *), void *);
		     /* source, max body kept, per-stream, total bytes */
int		 httpflow_packet(struct httpflow *, int,
		     const struct timeval *, const uint8_t *, size_t);
void		 httpflow_ports(struct httpflow *, const uint16_t *, size_t);
void		 httpflow_expire(struct httpflow *, const struct timeval *,
		     unsigned);
void		 httpflow_finish(struct httpflow *);
const struct httpflow_stats *httpflow_stats(const struct httpflow *);
const struct tcpreasm_stats *httpflow_tcp_stats(const struct httpflow *);
void		 httpflow_free(struct httpflow *);

#endif /* PARITYTAP_H */
