/*
 * Unit tests for the fan-out (src/fanout.c): one exchange sent to three
 * sides (primary, candidate, secondary), each a small HTTP server on
 * loopback in the same event loop.  Checked: every side recorded (status,
 * headers, body kept up to the limit and hashed beyond it), the hooks
 * called with their side, the owner told once, after the last side; an
 * abort with one side still hanging ends it as timed out and completes
 * the exchange once; and a request with a body larger than a socket
 * buffer reaches every side whole, head then body, from the exchange's
 * one copy, which the pipeline still gets.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "paritytap.h"
#include "tap.h"

#define MAX_BODY	8
#define MAX_SEEN	5
#define MAX_CONNS	16

/* A test backend: answers every request with status and body, or never. */
struct server {
	struct evconnlistener	*sv_listener;
	int			 sv_status;
	const char		*sv_body;
	int			 sv_hang;
	size_t			 sv_expect;	/* answer once this many in */
	struct buf		 sv_got;	/* ... kept here */
	char			 sv_url[64];
};

/* What one exchange looked like when it reached the pipeline. */
struct seen {
	int		 present[SIDE_MAX];
	int		 status[SIDE_MAX];
	char		*error[SIDE_MAX];
	char		*body[SIDE_MAX];
	uint64_t	 body_bytes[SIDE_MAX];
	int		 truncated[SIDE_MAX];
	char		*sha[SIDE_MAX];
	char		*header[SIDE_MAX];	/* X-Side */
	double		 ms[SIDE_MAX];
	size_t		 req_body_len;
	int		 req_body_same;	/* the request body as sent */
};

static struct event_base *base;
static struct seen	 seen[MAX_SEEN];
static int		 nseen;
static int		 heads[SIDE_MAX], bodies[SIDE_MAX], dones[SIDE_MAX];
static const char	*done_error[SIDE_MAX];
static int		 completed;
static int		 stop_after;	/* loopbreak after this many side ends */
static struct bufferevent *conns[MAX_CONNS];	/* the servers' */

/* A server's request arrived (whole, or enough of it): answer it. */
static void
server_read_cb(struct bufferevent *bev, void *arg)
{
	struct server	*sv = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);

	if (sv->sv_expect != 0) {
		/* The whole request, kept as it came. */
		if (sv->sv_got.len + evbuffer_get_length(in) > sv->sv_expect)
			fatalx("more than the request");
		buf_add(&sv->sv_got, evbuffer_pullup(in, -1),
		    evbuffer_get_length(in));
		evbuffer_drain(in, evbuffer_get_length(in));
		if (sv->sv_got.len < sv->sv_expect)
			return;
	} else if (evbuffer_search(in, "\r\n\r\n", 4, NULL).pos == -1)
		return;
	evbuffer_drain(in, evbuffer_get_length(in));
	if (sv->sv_hang)
		return;
	evbuffer_add_printf(bufferevent_get_output(bev), "HTTP/1.1 %d Fine\r\n"
	    "X-Side: %d\r\nContent-Length: %zu\r\n\r\n%s", sv->sv_status,
	    sv->sv_status, strlen(sv->sv_body), sv->sv_body);
}

/* A server's client went away. */
static void
server_event_cb(struct bufferevent *bev, short events, void *arg)
{
	int	 i;

	if (!(events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	for (i = 0; i < MAX_CONNS; i++) {
		if (conns[i] == bev)
			conns[i] = NULL;
	}
	bufferevent_free(bev);
}

/* A server accepted a connection. */
static void
server_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int len, void *arg)
{
	struct bufferevent	*bev;
	int			 i;

	bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	for (i = 0; i < MAX_CONNS && conns[i] != NULL; i++)
		;
	if (i == MAX_CONNS)
		fatalx("too many connections");
	conns[i] = bev;
	bufferevent_setcb(bev, server_read_cb, NULL, server_event_cb, arg);
	bufferevent_enable(bev, EV_READ);
}

/* Listen on a free loopback port. */
static void
server_start(struct server *sv)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof sin;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sv->sv_listener = evconnlistener_new_bind(base, server_accept_cb, sv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
	    (struct sockaddr *)&sin, sizeof sin);
	if (sv->sv_listener == NULL)
		fatal("evconnlistener_new_bind");
	getsockname(evconnlistener_get_fd(sv->sv_listener),
	    (struct sockaddr *)&sin, &len);
	snprintf(sv->sv_url, sizeof sv->sv_url, "http://127.0.0.1:%d",
	    ntohs(sin.sin_port));
}

/* The body the large request carries, and its length. */
static char		*big_body;
#define BIG_BODY	(4 * 1024 * 1024)

/* On the pipeline thread: note what the exchange carries. */
static void
on_exchange(void *arg, const struct exchange *ex)
{
	struct seen			*s;
	const struct response_side	*rs;
	const char			*v;
	int				 side;

	if (nseen == MAX_SEEN)
		return;
	s = &seen[nseen++];
	s->req_body_len = ex->ex_req.body.len;
	s->req_body_same = ex->ex_req.body.len == BIG_BODY &&
	    memcmp(ex->ex_req.body.data, big_body, BIG_BODY) == 0;
	for (side = 0; side < SIDE_MAX; side++) {
		rs = &ex->ex_resp[side];
		s->present[side] = rs->present;
		s->status[side] = rs->status;
		s->error[side] = rs->error != NULL ? xstrdup(rs->error) : NULL;
		s->body[side] = xstrndup(rs->body.data != NULL ?
		    rs->body.data : "", rs->body.len);
		s->body_bytes[side] = rs->body_bytes;
		s->truncated[side] = rs->truncated;
		s->sha[side] = rs->body_sha256 != NULL ?
		    xstrdup(rs->body_sha256) : NULL;
		v = headers_get(&rs->headers, "X-Side");
		s->header[side] = v != NULL ? xstrdup(v) : NULL;
		s->ms[side] = rs->ms;
	}
}

/* Hook: a side's head, after the fan-out recorded it. */
static void
hook_head(void *arg, int side, const struct response_head *head,
    const struct headers *hs)
{
	heads[side]++;
	ok(head->status == 200 + side, "side %d: head with its status", side);
	ok(head->has_length, "side %d: head says Content-Length", side);
	is_str(head->reason, "Fine", "side %d: the reason phrase", side);
	ok(headers_get(hs, "X-Side") != NULL,
	    "side %d: the hook sees the recorded headers", side);
}

/* Hook: a side's body bytes. */
static void
hook_body(void *arg, int side, const char *data, size_t len)
{
	bodies[side]++;
}

/* Hook: a side ended. */
static void
hook_done(void *arg, int side, const char *error, const char *detail)
{
	int	 i, n = 0;

	dones[side]++;
	done_error[side] = error;
	ok(completed == 0, "side %d ends before the exchange completes", side);
	for (i = 0; i < SIDE_MAX; i++)
		n += dones[i];
	if (stop_after != 0 && n == stop_after)
		event_base_loopbreak(base);
}

static const struct fanout_hooks hooks = { hook_head, hook_body, hook_done };

/* The exchange whose primary is paused on its last body bytes. */
static struct fanout	*pause_fo;
static size_t		 pause_len;

/*
 * Hook: pause the primary when its whole body (16 bytes) is in, as the
 * proxy does when its client falls behind: the response is complete in
 * the same read.
 */
static void
hook_pause_body(void *arg, int side, const char *data, size_t len)
{
	bodies[side]++;
	pause_len += len;
	if (pause_len == 16)
		fanout_pause(pause_fo, side);
}

static const struct fanout_hooks pause_hooks = {
	hook_head, hook_pause_body, hook_done
};

/* The owner's callback: the exchange went to the pipeline. */
static void
owner_done(void *arg)
{
	completed++;
	event_base_loopbreak(base);
}

/* A GET / exchange and its canonical request. */
static struct exchange *
new_exchange(struct buf *canon)
{
	struct exchange	*ex;

	ex = xcalloc(1, sizeof *ex);
	exchange_init(ex, "proxy");
	trace_mint(ex->ex_id, sizeof ex->ex_id);
	ex->ex_req.method = xstrdup("GET");
	ex->ex_req.target = xstrdup("/");
	ex->ex_req.major = ex->ex_req.minor = 1;
	ex->ex_route = xstrdup("GET /");
	buf_init(canon);
	buf_addstr(canon, "GET / HTTP/1.1\r\nHost: test\r\n\r\n");
	return (ex);
}

/* Reset the hook counters. */
static void
reset_counts(void)
{
	memset(heads, 0, sizeof heads);
	memset(bodies, 0, sizeof bodies);
	memset(dones, 0, sizeof dones);
	memset(done_error, 0, sizeof done_error);
	completed = 0;
	stop_after = 0;
}

int
main(void)
{
	static const char	*names[SIDE_MAX] = {
		"primary", "candidate", "secondary"
	};
	static const char	*bodies_of[SIDE_MAX] = {
		"0123456789abcdef", "cand", "sec"
	};
	struct server		 sv[SIDE_MAX];
	struct upstream		*up[SIDE_MAX];
	struct compare_opts	 co;
	struct pipeline_opts	 po;
	struct consumer		 con;
	struct pipeline		*pipeline;
	struct exchange		*ex;
	struct fanout		*fo;
	struct buf		 canon, want;
	char			*cause = NULL;
	const char		*body_at;
	size_t			 i;
	int			 side;

	base = event_base_new();
	for (side = 0; side < SIDE_MAX; side++) {
		memset(&sv[side], 0, sizeof sv[side]);
		sv[side].sv_status = 200 + side;
		sv[side].sv_body = bodies_of[side];
		server_start(&sv[side]);
		up[side] = upstream_new(base, names[side], sv[side].sv_url,
		    5000, 4, 0, NULL, &cause);
		if (up[side] == NULL)
			fatalx("%s", cause);
	}
	memset(&co, 0, sizeof co);
	memset(&po, 0, sizeof po);
	po.compare = &co;
	pipeline = pipeline_new(&po);
	memset(&con, 0, sizeof con);
	con.name = "test";
	con.on_exchange = on_exchange;
	pipeline_add(pipeline, &con);
	pipeline_start(pipeline);

	/* Three sides, all answer. */
	reset_counts();
	ex = new_exchange(&canon);
	fo = fanout_new(pipeline, ex, &canon, 0, MAX_BODY, owner_done, NULL);
	is_int(canon.len, 0, "the fan-out takes the canonical request");
	for (side = 0; side < SIDE_MAX; side++)
		fanout_send(fo, side, up[side], &hooks, NULL);
	event_base_dispatch(base);
	is_int(completed, 1, "three sides: the owner is told once");
	for (side = 0; side < SIDE_MAX; side++) {
		is_int(heads[side], 1, "side %d: one head", side);
		ok(bodies[side] >= 1, "side %d: body bytes reached the hook",
		    side);
		is_int(dones[side], 1, "side %d: ended once", side);
		ok(done_error[side] == NULL, "side %d: without error", side);
	}

	/* The candidate hangs: abort once the other two have ended. */
	reset_counts();
	sv[SIDE_CANDIDATE].sv_hang = 1;
	ex = new_exchange(&canon);
	fo = fanout_new(pipeline, ex, &canon, 0, MAX_BODY, owner_done, NULL);
	for (side = 0; side < SIDE_MAX; side++)
		fanout_send(fo, side, up[side], &hooks, NULL);
	stop_after = 2;
	event_base_dispatch(base);
	is_int(dones[SIDE_PRIMARY] + dones[SIDE_SECONDARY], 2,
	    "abort: primary and secondary ended");
	is_int(completed, 0, "abort: not complete while the candidate hangs");
	fanout_abort(fo, "timeout", "test: aborted");
	is_int(completed, 1, "abort: the owner is told once");
	is_int(dones[SIDE_CANDIDATE], 1, "abort: the candidate ended once");
	is_str(done_error[SIDE_CANDIDATE], "timeout",
	    "abort: ... as timed out");
	is_int(dones[SIDE_PRIMARY], 1, "abort: the primary did not end again");

	/*
	 * Paused on its last bytes: the response is complete all the same,
	 * and its connection goes back to the pool reading, so the next
	 * request on it is answered (it used to wait for its timeout).
	 */
	reset_counts();
	ex = new_exchange(&canon);
	pause_fo = fanout_new(pipeline, ex, &canon, 0, MAX_BODY, owner_done,
	    NULL);
	fanout_send(pause_fo, SIDE_PRIMARY, up[SIDE_PRIMARY], &pause_hooks,
	    NULL);
	event_base_dispatch(base);
	is_int(completed, 1, "paused on the last bytes: the exchange completes");
	ok(done_error[SIDE_PRIMARY] == NULL, "... without error");
	reset_counts();
	ex = new_exchange(&canon);
	fo = fanout_new(pipeline, ex, &canon, 0, MAX_BODY, owner_done, NULL);
	fanout_send(fo, SIDE_PRIMARY, up[SIDE_PRIMARY], &hooks, NULL);
	event_base_dispatch(base);
	is_int(completed, 1, "the next request on that connection completes");
	is_str(done_error[SIDE_PRIMARY], NULL,
	    "... answered, not timed out");

	/*
	 * A POST with a 4 MiB body to all three sides: each gets the head
	 * and then the body, byte for byte, from the exchange's own body
	 * (the fan-out holds no copy of it), which the pipeline then gets.
	 */
	reset_counts();
	big_body = xmalloc(BIG_BODY);
	for (i = 0; i < BIG_BODY; i++)
		big_body[i] = "0123456789abcdefghijklmnopqrstuvwxyz"[i % 36];
	ex = new_exchange(&canon);
	free(ex->ex_req.method);
	ex->ex_req.method = xstrdup("POST");
	buf_add(&ex->ex_req.body, big_body, BIG_BODY);
	body_at = ex->ex_req.body.data;
	buf_reset(&canon);
	buf_printf(&canon, "POST / HTTP/1.1\r\nHost: test\r\n"
	    "Content-Length: %d\r\n\r\n", BIG_BODY);
	buf_init(&want);
	buf_add(&want, canon.data, canon.len);
	buf_add(&want, big_body, BIG_BODY);
	for (side = 0; side < SIDE_MAX; side++) {
		sv[side].sv_hang = 0;
		sv[side].sv_expect = want.len;
		buf_init(&sv[side].sv_got);
	}
	fo = fanout_new(pipeline, ex, &canon, 0, MAX_BODY, owner_done, NULL);
	is_int(fanout_request_bytes(fo), want.len,
	    "a body: the bytes each side is sent are the head and the body");
	for (side = 0; side < SIDE_MAX; side++)
		fanout_send(fo, side, up[side], &hooks, NULL);
	ok(ex->ex_req.body.data == body_at,
	    "a body: the exchange keeps its one copy of the body");
	event_base_dispatch(base);
	is_int(completed, 1, "a body: the exchange completes");
	for (side = 0; side < SIDE_MAX; side++) {
		is_int(sv[side].sv_got.len, want.len,
		    "a body: %s got head and body, all %zu bytes",
		    names[side], want.len);
		ok(sv[side].sv_got.len == want.len &&
		    memcmp(sv[side].sv_got.data, want.data, want.len) == 0,
		    "a body: %s got them byte for byte", names[side]);
		ok(done_error[side] == NULL, "a body: %s answered",
		    names[side]);
		buf_free(&sv[side].sv_got);
	}
	buf_free(&want);

	for (side = 0; side < SIDE_MAX; side++)
		upstream_free(up[side]);
	pipeline_stop(pipeline, 0);
	pipeline_free(pipeline);

	is_int(nseen, 5, "five exchanges reached the pipeline");
	is_int(seen[4].req_body_len, BIG_BODY,
	    "a body: the pipeline gets the request body");
	ok(seen[4].req_body_same, "a body: ... as it was sent");
	for (side = 0; side < SIDE_MAX; side++) {
		ok(seen[0].present[side], "%s: present", names[side]);
		is_int(seen[0].status[side], 200 + side, "%s: its status",
		    names[side]);
		is_str(seen[0].header[side], seen[0].status[side] == 200 ?
		    "200" : seen[0].status[side] == 201 ? "201" : "202",
		    "%s: its headers", names[side]);
		is_int(seen[0].body_bytes[side], strlen(bodies_of[side]),
		    "%s: body_bytes", names[side]);
		ok(seen[0].ms[side] >= 0, "%s: timed", names[side]);
	}
	is_str(seen[0].body[SIDE_PRIMARY], "01234567",
	    "primary: the body kept up to the limit");
	ok(seen[0].truncated[SIDE_PRIMARY], "primary: marked truncated");
	is_str(seen[0].sha[SIDE_PRIMARY], "9f9f5111f7b27a781f1f1ddde5ebc2dd"
	    "2b796bfc7365c9c28b548e564176929f",
	    "primary: sha256 of the whole body");
	is_str(seen[0].body[SIDE_CANDIDATE], "cand",
	    "candidate: the whole body");
	ok(!seen[0].truncated[SIDE_CANDIDATE] &&
	    seen[0].sha[SIDE_CANDIDATE] == NULL,
	    "candidate: not truncated, no hash");
	is_str(seen[1].error[SIDE_CANDIDATE], "timeout",
	    "abort: the candidate recorded as timed out");
	is_int(seen[1].status[SIDE_SECONDARY], 202,
	    "abort: the secondary's answer kept");
	is_str(seen[1].error[SIDE_PRIMARY], NULL,
	    "abort: the primary's answer kept");

	for (side = 0; side < SIDE_MAX; side++)
		evconnlistener_free(sv[side].sv_listener);
	for (side = 0; side < MAX_CONNS; side++) {
		if (conns[side] != NULL)
			bufferevent_free(conns[side]);
	}
	event_base_free(base);
	free(big_body);
	return (done_testing());
}
