/*
 * The fan-out: one exchange in flight to N backends (DESIGN §1, §10).
 * The same canonical request goes to each side it is sent to (primary,
 * candidate, secondary): its head, serialized once, then the body the
 * exchange keeps for the capture, written from that one buffer, so a
 * request body is in memory once however many sides it goes to and
 * however long they take.  Each side's response head and body are
 * recorded in the exchange as they arrive (bodies kept up to --max-body,
 * hashed beyond it) and timed from the start.  When the last side has
 * ended the exchange goes to the pipeline, then the owner is told.
 *
 * A source adds per-side hooks only where it does more than record (the
 * proxy relays the primary's response to its client).  Every side ends
 * through one function, fanout_side_end, whether its backend answered,
 * failed, or the exchange was aborted; and the exchange completes in one
 * place, fanout_finish, only once no side is open: nothing reads the
 * fan-out after that.
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "paritytap.h"

struct fanout;

/* One side of an exchange in flight. */
struct fanout_side {
	struct fanout		*fs_fo;
	int			 fs_side;
	int			 fs_open;	/* sent, not ended yet */
	struct upreq		*fs_req;	/* until its backend is done */
	void			*fs_sha;	/* a body over the tee limit */
	const struct fanout_hooks *fs_hooks;
	void			*fs_arg;
};

struct fanout {
	struct pipeline		*fo_pipeline;
	struct exchange		*fo_ex;
	struct buf		 fo_canon;	/* the head every side gets */
	int			 fo_head;	/* HEAD: no response bodies */
	uint64_t		 fo_max_body;
	double			 fo_start;
	int			 fo_open;	/* sides open */
	fanout_cb		 fo_done;
	void			*fo_arg;
	struct fanout_side	 fo_sides[SIDE_MAX];
};

static void	fanout_on_head(void *, const struct response_head *,
		    struct headers *);
static void	fanout_on_body(void *, const char *, size_t);
static void	fanout_on_done(void *, const char *, const char *);

static const struct upreq_cbs fanout_cbs = {
	fanout_on_head, fanout_on_body, fanout_on_done
};

/*
 * Start an exchange's fan-out.  It takes the exchange and the canonical
 * request's head (canonical_head; canon is left empty), which each side
 * gets followed by the exchange's request body; head says the request is
 * a HEAD.  When
 * every side sent has ended, the exchange goes to the pipeline and
 * done(arg) is called: the fan-out is gone by then.
 */
struct fanout *
fanout_new(struct pipeline *pipeline, struct exchange *ex, struct buf *canon,
    int head, uint64_t max_body, fanout_cb done, void *arg)
{
	struct fanout	*fo;
	int		 side;

	fo = xcalloc(1, sizeof *fo);
	fo->fo_pipeline = pipeline;
	fo->fo_ex = ex;
	fo->fo_canon = *canon;
	buf_init(canon);
	fo->fo_head = head;
	fo->fo_max_body = max_body;
	fo->fo_start = mono_ms();
	fo->fo_done = done;
	fo->fo_arg = arg;
	for (side = 0; side < SIDE_MAX; side++) {
		fo->fo_sides[side].fs_fo = fo;
		fo->fo_sides[side].fs_side = side;
	}
	return (fo);
}

/*
 * Send the request to one side's backend; hooks (may be NULL) are called
 * with arg after what the fan-out records.  The backend reports from the
 * event loop only, never from inside this call, so an exchange cannot
 * complete before all its sides are sent.
 */
void
fanout_send(struct fanout *fo, int side, struct upstream *up,
    const struct fanout_hooks *hooks, void *arg)
{
	struct fanout_side	*fs = &fo->fo_sides[side];

	if (fs->fs_open)
		fatalx("%s: side %d sent twice", __func__, side);
	fs->fs_open = 1;
	fs->fs_hooks = hooks;
	fs->fs_arg = arg;
	fo->fo_open++;
	fo->fo_ex->ex_resp[side].present = 1;
	fs->fs_req = upstream_send(up, fo->fo_canon.data, fo->fo_canon.len,
	    fo->fo_ex->ex_req.body.data, fo->fo_ex->ex_req.body.len,
	    fo->fo_head, &fanout_cbs, fs);
}

/*
 * The bytes of the request each side is sent, head and body: what a side
 * still sending or waiting holds in memory (the exchange's, shared by all
 * sides).
 */
size_t
fanout_request_bytes(const struct fanout *fo)
{
	return (fo->fo_canon.len + fo->fo_ex->ex_req.body.len);
}

/* Hand the exchange on and free the fan-out; then tell the owner. */
static void
fanout_finish(struct fanout *fo)
{
	struct exchange	*ex = fo->fo_ex;
	struct pipeline	*pipeline = fo->fo_pipeline;
	fanout_cb	 done = fo->fo_done;
	void		*arg = fo->fo_arg;

	buf_free(&fo->fo_canon);
	free(fo);
	pipeline_submit(pipeline, ex);
	if (done != NULL)
		done(arg);
}

/*
 * End a side: its time, its body hash, how it failed (error NULL for a
 * complete response); then its owner's hook.  Never completes the
 * exchange: the caller does, once no side is open.
 */
static void
fanout_side_end(struct fanout_side *fs, const char *error, const char *detail)
{
	struct fanout		*fo = fs->fs_fo;
	struct response_side	*rs = &fo->fo_ex->ex_resp[fs->fs_side];

	rs->ms = mono_ms() - fo->fo_start;
	response_side_end(rs, &fs->fs_sha, error, detail);
	fs->fs_open = 0;
	fo->fo_open--;
	if (fs->fs_hooks != NULL && fs->fs_hooks->on_done != NULL)
		fs->fs_hooks->on_done(fs->fs_arg, fs->fs_side, error, detail);
}

/* A side's response head: record status and headers, then the hook. */
static void
fanout_on_head(void *arg, const struct response_head *head,
    struct headers *hs)
{
	struct fanout_side	*fs = arg;
	struct response_side	*rs;

	rs = &fs->fs_fo->fo_ex->ex_resp[fs->fs_side];
	rs->status = head->status;
	headers_free(&rs->headers);
	rs->headers = *hs;
	memset(hs, 0, sizeof *hs);
	if (fs->fs_hooks != NULL && fs->fs_hooks->on_head != NULL)
		fs->fs_hooks->on_head(fs->fs_arg, fs->fs_side, head,
		    &rs->headers);
}

/* A side's body bytes: tee them, then the hook. */
static void
fanout_on_body(void *arg, const char *data, size_t len)
{
	struct fanout_side	*fs = arg;
	struct fanout		*fo = fs->fs_fo;

	response_side_tee(&fo->fo_ex->ex_resp[fs->fs_side], &fs->fs_sha,
	    fo->fo_max_body, data, len);
	if (fs->fs_hooks != NULL && fs->fs_hooks->on_body != NULL)
		fs->fs_hooks->on_body(fs->fs_arg, fs->fs_side, data, len);
}

/* A side's backend is done (its upreq is gone). */
static void
fanout_on_done(void *arg, const char *error, const char *detail)
{
	struct fanout_side	*fs = arg;
	struct fanout		*fo = fs->fs_fo;

	fs->fs_req = NULL;
	fanout_side_end(fs, error, detail);
	if (fo->fo_open == 0)
		fanout_finish(fo);
}

/*
 * Abort an exchange: every side still open is cancelled and ended with
 * error (and detail), then the exchange completes.  The one way to cut
 * an exchange short (grace expiry, shutdown); the fan-out is gone after.
 */
void
fanout_abort(struct fanout *fo, const char *error, const char *detail)
{
	struct fanout_side	*fs;
	int			 side;

	for (side = 0; side < SIDE_MAX; side++) {
		fs = &fo->fo_sides[side];
		if (!fs->fs_open)
			continue;
		if (fs->fs_req != NULL)
			upstream_cancel(fs->fs_req);
		fs->fs_req = NULL;
		fanout_side_end(fs, error, detail);
	}
	fanout_finish(fo);
}

/* Stop reading a side's response (its reader is not keeping up). */
void
fanout_pause(struct fanout *fo, int side)
{
	if (fo->fo_sides[side].fs_req != NULL)
		upstream_pause(fo->fo_sides[side].fs_req);
}

/* Read a side's response again. */
void
fanout_resume(struct fanout *fo, int side)
{
	if (fo->fo_sides[side].fs_req != NULL)
		upstream_resume(fo->fo_sides[side].fs_req);
}
