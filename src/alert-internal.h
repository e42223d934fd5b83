/*
 * The alert channels' insides, shared by alert.c (queues, batches, HTTP)
 * and alert-exec.c (hook programs).
 */

#ifndef ALERT_INTERNAL_H
#define ALERT_INTERNAL_H

#include <sys/queue.h>

#include <event2/event.h>
#include <event2/http.h>

#include <openssl/ssl.h>
#include <pthread.h>

#define ALERT_KILL_AFTER	2000	/* ms from SIGTERM to SIGKILL */
#define ALERT_STDERR_KEEP	512	/* bytes of a hook's stderr logged */

enum alert_kind {
	ALERT_ALERTMANAGER,
	ALERT_WEBHOOK,
	ALERT_EXEC
};

/* One transition, copied out of the drift table's event. */
struct alert_item {
	TAILQ_ENTRY(alert_item)	 entry;
	char			 id[DRIFT_ID_LEN + 1];
	enum drift_state	 state;
	char			*route;
	char			*kind;
	char			*path;
	char			*side;
	enum verdict		 verdict;
	double			 at;
	double			 first_seen;
	double			 last_seen;
	uint64_t		 count;
	char			*example_id;
	char			*example_request;
};
TAILQ_HEAD(alert_items, alert_item);

/* A message ready to go: an HTTP body, or a hook's stdin. */
struct alert_msg {
	TAILQ_ENTRY(alert_msg)	 entry;
	char			*body;
	size_t			 len;
	unsigned		 ncount;	/* transitions it carries */
	unsigned		 tries;
};
TAILQ_HEAD(alert_msgs, alert_msg);

/* One drift as Alertmanager knows it. */
struct alert_am {
	struct alert_item	*it;
	double			 starts;	/* first seen, or regressed */
	int			 dirty;		/* to post at once */
	unsigned		 uncounted;	/* transitions not yet counted */
};

struct alerts;

/* A hook program running. */
struct alert_child {
	TAILQ_ENTRY(alert_child) entry;
	struct alert_chan	*chan;
	struct alert_msg	*msg;
	pid_t			 pid;
	int			 pidfd;
	int			 in_fd;
	int			 err_fd;
	size_t			 written;
	struct event		*ev_in;
	struct event		*ev_err;
	struct event		*ev_exit;	/* pidfd readable, or a poll */
	struct event		*ev_timeout;
	int			 killed;	/* 1 SIGTERM, 2 SIGKILL */
	char			 err[ALERT_STDERR_KEEP + 1];
	size_t			 errlen;
};
TAILQ_HEAD(alert_children, alert_child);

/* A channel: its queue, its batch or alerts, and how it sends. */
struct alert_chan {
	struct alerts		*a;
	enum alert_kind		 kind;
	const char		*name;		/* "alertmanager", "webhook" */
	char			*target;	/* URL or command, for logs */

	/* Under a->lock. */
	struct alert_items	 inq;
	unsigned		 npending;	/* accepted, not yet counted */
	uint64_t		 sent;
	uint64_t		 failed;
	uint64_t		 dropped;
	double			 logged_at;

	/* The alert thread's. */
	struct alert_items	 batch;
	unsigned		 nbatch;
	struct event		*ev_batch;
	int			 batch_armed;
	double			 flushed_at;	/* 0: never */
	struct alert_am		*am;
	size_t			 nam;
	struct event		*ev_repeat;
	struct alert_msgs	 outbox;
	struct event		*ev_retry;
	int			 waiting;	/* a retry's backoff runs */

	/* HTTP. */
	struct evhttp_connection *conn;
	struct evhttp_connection *stale;	/* to free off its callback */
	struct event		*ev_stale;
	int			 tls;		/* https:// */
	char			*host;
	char			*hostport;
	int			 port;
	char			*uri;		/* path and query */
	struct alert_msg	*inflight;

	/* Exec. */
	char		       **argv;
	struct alert_children	 children;
	unsigned		 nchildren;
};

struct alerts {
	struct alert_opts	 opts;
	char			*instance;
	struct alert_chan	*chans;
	size_t			 nchans;
	SSL_CTX			*ssl_ctx;	/* for https:// channels */

	pthread_mutex_t		 lock;
	pthread_t		 thread;
	int			 started;
	int			 wake[2];

	/* The alert thread's. */
	struct event_base	*base;
	struct event		*ev_wake;
	struct event		*ev_deadline;
	int			 stopping;	/* under lock */
	double			 deadline;	/* under lock */
	int			 draining;
};

/* alert.c */
void		 alert_msg_free(struct alert_msg *);
void		 alert_count(struct alert_chan *, struct alert_msg *, int);
void		 alert_msg_done(struct alert_chan *, struct alert_msg *, int);
void		 alert_timer(struct event *, double);
void		 alert_idle_check(struct alerts *);

/* alert-exec.c */
int		 alert_exec_argv(struct alert_chan *, const char *, char **);
void		 alert_exec_next(struct alert_chan *);
void		 alert_exec_kill(struct alert_chan *);

#endif
