/*
 * The runtime: the event loop a command runs in, its signals, and the
 * stop with its grace period.  Commands set it up once here instead of
 * each on its own; an admin listener or worker threads attach to it.
 *
 * SIGTERM and SIGINT ask the engine to stop (stop accepting, finish what
 * is in flight); when the grace period is over the engine is told to
 * abort what is left, and a second SIGTERM or SIGINT does so at once.
 * SIGHUP and SIGUSR1 (nginx's signal to reopen logs) reopen the files;
 * SIGUSR2 prints the summary line so far, a look at a run without an
 * admin port (ignored, rather than killing the process, by an engine
 * with nothing to say).  Each is a libevent signal event: the callbacks
 * run on the loop between two events, never in a signal handler.
 * SIGPIPE is ignored: a peer that went away is an error on its write.
 */

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "paritytap.h"

struct runtime {
	struct event_base	*rt_base;
	struct runtime_cbs	 rt_cbs;
	void			*rt_arg;
	int			 rt_grace;	/* ms */
	struct event		*rt_sig[5];
	int			 rt_nsig;
	struct event		*rt_grace_ev;
	double			 rt_stop_at;	/* mono ms; 0: running */
	int			 rt_aborted;
};

/* Name a signal for messages. */
static const char *
runtime_signame(int sig)
{
	switch (sig) {
	case SIGTERM:
		return ("SIGTERM");
	case SIGINT:
		return ("SIGINT");
	case SIGHUP:
		return ("SIGHUP");
	case SIGUSR1:
		return ("SIGUSR1");
	case SIGUSR2:
		return ("SIGUSR2");
	}
	return ("signal");
}

/* The grace period is over, or a second stop signal came: abort. */
static void
runtime_abort(struct runtime *rt)
{
	if (rt->rt_aborted)
		return;
	rt->rt_aborted = 1;
	if (rt->rt_cbs.abort != NULL)
		rt->rt_cbs.abort(rt->rt_arg);
	else
		event_base_loopbreak(rt->rt_base);
}

/* The grace timer. */
static void
runtime_grace_cb(evutil_socket_t fd, short events, void *arg)
{
	runtime_abort(arg);
}

/* Ask the engine to stop, and start the grace period. */
void
runtime_stop(struct runtime *rt)
{
	struct timeval	 tv;

	if (rt->rt_stop_at != 0)
		return;
	rt->rt_stop_at = mono_ms();
	tv.tv_sec = rt->rt_grace / 1000;
	tv.tv_usec = (rt->rt_grace % 1000) * 1000;
	rt->rt_grace_ev = evtimer_new(rt->rt_base, runtime_grace_cb, rt);
	evtimer_add(rt->rt_grace_ev, &tv);
	if (rt->rt_cbs.stop != NULL)
		rt->rt_cbs.stop(rt->rt_arg);
	else
		event_base_loopbreak(rt->rt_base);
}

/* A signal the runtime handles. */
static void
runtime_signal_cb(evutil_socket_t sig, short events, void *arg)
{
	struct runtime	*rt = arg;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		if (rt->rt_stop_at != 0) {
			log_warnx("%s again: not waiting for the grace period",
			    runtime_signame(sig));
			runtime_abort(rt);
			break;
		}
		/*
		 * Said once the engine has stopped accepting, so whoever
		 * reads it knows a new connection is not taken.
		 */
		runtime_stop(rt);
		log_warnx("%s: stopping; finishing exchanges in flight",
		    runtime_signame(sig));
		break;
	case SIGHUP:
	case SIGUSR1:
		log_info("%s: reopening the capture and events files",
		    runtime_signame(sig));
		if (rt->rt_cbs.reopen != NULL)
			rt->rt_cbs.reopen(rt->rt_arg);
		break;
	case SIGUSR2:
		if (rt->rt_cbs.summary != NULL) {
			rt->rt_cbs.summary(rt->rt_arg);
			break;
		}
		/* FALLTHROUGH */
	default:
		log_warnx("%s: ignored", runtime_signame(sig));
		break;
	}
}

/* Catch sig on the loop. */
static void
runtime_catch(struct runtime *rt, int sig)
{
	struct event	*ev;

	if ((ev = evsignal_new(rt->rt_base, sig, runtime_signal_cb, rt)) ==
	    NULL || evsignal_add(ev, NULL) != 0)
		fatalx("evsignal_new");
	rt->rt_sig[rt->rt_nsig++] = ev;
}

/*
 * A new runtime: the event loop, and the signals for the callbacks cbs
 * sets (stop signals only with a stop callback); grace is in ms.
 */
struct runtime *
runtime_new(const struct runtime_cbs *cbs, void *arg, int grace)
{
	struct runtime		*rt;
	struct event_config	*cfg;

	rt = xcalloc(1, sizeof *rt);
	if (cbs != NULL)
		rt->rt_cbs = *cbs;
	rt->rt_arg = arg;
	rt->rt_grace = grace;
	signal(SIGPIPE, SIG_IGN);
	/*
	 * The changelist folds the enable/disable pairs a request/response
	 * cycle makes on each socket into one epoll_ctl per loop, if any.
	 */
	if ((cfg = event_config_new()) == NULL)
		fatalx("event_config_new");
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	rt->rt_base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (rt->rt_base == NULL)
		fatalx("event_base_new_with_config");
	if (rt->rt_cbs.stop != NULL) {
		runtime_catch(rt, SIGTERM);
		runtime_catch(rt, SIGINT);
	}
	if (rt->rt_cbs.reopen != NULL) {
		runtime_catch(rt, SIGHUP);
		runtime_catch(rt, SIGUSR1);
	}
	if (rt->rt_cbs.reopen != NULL || rt->rt_cbs.summary != NULL)
		runtime_catch(rt, SIGUSR2);
	return (rt);
}

/* The runtime's event loop. */
struct event_base *
runtime_base(struct runtime *rt)
{
	return (rt->rt_base);
}

/* Run the loop until the engine breaks it. */
void
runtime_dispatch(struct runtime *rt)
{
	event_base_dispatch(rt->rt_base);
}

/*
 * When what is still queued must be recorded without more work (mono
 * ms): the grace period and a second after it, once a stop was asked;
 * 0 while running.
 */
double
runtime_deadline(const struct runtime *rt)
{
	if (rt->rt_stop_at == 0)
		return (0);
	return (rt->rt_stop_at + rt->rt_grace + 1000);
}

/* Free the runtime and its loop, after the engine is freed. */
void
runtime_free(struct runtime *rt)
{
	int	 i;

	for (i = 0; i < rt->rt_nsig; i++)
		event_free(rt->rt_sig[i]);
	if (rt->rt_grace_ev != NULL)
		event_free(rt->rt_grace_ev);
	event_base_free(rt->rt_base);
	free(rt);
}
