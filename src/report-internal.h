/*
 * The report's aggregates, shared by report.c (aggregation, text and
 * JSON) and report-html.c (the HTML page).
 */

#ifndef REPORT_INTERNAL_H
#define REPORT_INTERNAL_H

#include "paritytap.h"

/* Latency samples of one side, in ms. */
struct report_latency {
	double		*v;
	size_t		 n;
	size_t		 cap;
	int		 sorted;
};

/* How often one status code came back from each side. */
struct report_status {
	int		 status;	/* 0: no status (the side failed) */
	uint64_t	 n[2];		/* primary, candidate */
};

/* Counts of one route, or of everything. */
struct report_counts {
	struct stats_counts sc;			/* as the pipeline counts */
	struct report_latency lat[2];		/* primary, candidate */
	struct report_status *st;		/* sorted by status, 0 last */
	size_t		 nst;
};

/* One route. */
struct report_route {
	char		*name;
	struct report_counts counts;
};

/* One signature: route + verdict + the sorted folded diff paths. */
struct report_sig {
	char		*text;
	char		*route;
	enum verdict	 verdict;
	char	       **paths;
	size_t		 npaths;
	uint64_t	 count;
	struct timeval	 first;
	struct timeval	 last;
	char		*example_id;
	struct exchange **examples;	/* the earliest, by time then id */
	size_t		 nexamples;
	time_t		*times;		/* each exchange's second */
	size_t		 ntimes;
	size_t		 ctimes;
};

/* Buckets of the time axis at most, before a wider bucket is taken. */
#define REPORT_AXIS_MAX		120

/* One line of an example's diff list: diffs alike but for an index. */
struct report_bullet {
	const struct diff *d;		/* the first, in path order */
	char		*path;		/* folded if places > 1, else d's */
	size_t		 places;
};

/* Example ids a drift keeps: its earliest exchanges. */
#define REPORT_DRIFT_EXAMPLES	3

/* One exchange named as an example. */
struct report_example {
	struct timeval	 ts;
	char		*id;
};

/* One drift (drift.c), counted over the exchanges that carry it. */
struct report_drift {
	struct drift	 d;
	char		*text;		/* report_drift_text */
	char		 id[DRIFT_ID_LEN + 1];
	struct report_route *route;	/* for the share of its route */
	uint64_t	 count;
	struct timeval	 first;
	struct timeval	 last;
	struct report_example ex[REPORT_DRIFT_EXAMPLES];
	size_t		 nex;
	int		 baselined;
};

/* One input file. */
struct report_input {
	char		*name;
	uint64_t	 exchanges;
};


/* A route and folded path where diffs were marked noise. */
struct report_noise {
	char		*key;		/* "route\tpath" */
	char		*route;
	char		*path;
	uint64_t	 count;
};

struct report {
	size_t			 keep_examples;	/* per signature */
	struct report_counts	 all;
	struct timeval		 first;
	struct timeval		 last;
	struct report_input	*inputs;
	size_t			 ninputs;
	struct report_route    **routes;
	size_t			 nroutes;
	struct strmap		*route_map;
	struct report_sig     **sigs;
	size_t			 nsigs;
	struct strmap		*sig_map;
	struct report_drift   **drifts;
	size_t			 ndrifts;
	struct strmap		*drift_map;
	struct report_noise   **noise;		/* diffs marked noise */
	size_t			 nnoise;
	struct strmap		*noise_map;
	const struct baseline	*baseline;	/* marks drifts; may be NULL */
	size_t			 nbaselined;
	int			 sorted;
	/* The time axis, set by report_sort: nbuckets of width seconds. */
	time_t			 axis_start;
	long			 axis_width;
	size_t			 axis_n;
};

/* report.c */
void		 report_sort(struct report *);
int		 report_percentile(struct report_latency *, unsigned,
		     double *);
uint64_t	 report_errors(const struct report_counts *);
char		*report_summary(const struct report_counts *);
size_t		 report_shown(const struct report *, size_t);
size_t		 report_drifts_shown(const struct report *, size_t);
double		 report_drift_share(const struct report_drift *);
const char	*report_axis_unit(const struct report *);
uint64_t	*report_sig_buckets(const struct report *,
		     const struct report_sig *, uint64_t *);
size_t		 report_bullets(const struct exchange *,
		     struct report_bullet **);
void		 report_bullets_free(struct report_bullet *, size_t);
const char	*report_header_value(const struct header *);
const char	*report_diff_value(const struct diff *, const char *);

#endif /* REPORT_INTERNAL_H */
