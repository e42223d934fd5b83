/*
 * The hook channel (--alert-exec): a program run without a shell for each
 * batch, the message on its standard input.  At most --alert-exec-max run
 * at once; one past --alert-exec-timeout gets SIGTERM, then SIGKILL
 * ALERT_KILL_AFTER ms later.  Its exit is seen through a pidfd (a timer
 * polls where there is none), and the first ALERT_STDERR_KEEP bytes of
 * its stderr are logged when it fails.
 */

#include <sys/types.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paritytap.h"
#include "alert-internal.h"

extern char **environ;

/* Split --alert-exec at spaces: no shell, no quoting. */
int
alert_exec_argv(struct alert_chan *c, const char *cmd, char **cause)
{
	char	*copy, *tok, *save;
	size_t	 n = 0;

	copy = xstrdup(cmd);
	for (tok = strtok_r(copy, " \t", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t", &save)) {
		c->argv = xreallocarray(c->argv, n + 2, sizeof *c->argv);
		c->argv[n++] = xstrdup(tok);
		c->argv[n] = NULL;
	}
	free(copy);
	if (n == 0) {
		xasprintf(cause, "--alert-exec: no command given");
		return (-1);
	}
	c->target = xstrdup(cmd);
	return (0);
}

/* Close a hook's descriptors and events; it is done with. */
static void
alert_child_free(struct alert_child *ch)
{
	if (ch->ev_in != NULL)
		event_free(ch->ev_in);
	if (ch->ev_err != NULL)
		event_free(ch->ev_err);
	if (ch->ev_exit != NULL)
		event_free(ch->ev_exit);
	if (ch->ev_timeout != NULL)
		event_free(ch->ev_timeout);
	if (ch->in_fd != -1)
		close(ch->in_fd);
	if (ch->err_fd != -1)
		close(ch->err_fd);
	if (ch->pidfd != -1)
		close(ch->pidfd);
	alert_msg_free(ch->msg);
	free(ch);
}

/* Read what a hook writes on stderr; keep the first bytes. */
static void
alert_child_err_cb(evutil_socket_t fd, short events, void *arg)
{
	struct alert_child	*ch = arg;
	char			 buf[4096];
	ssize_t			 n;
	size_t			 room;

	(void)events;
	n = read(fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		event_del(ch->ev_err);
		close(ch->err_fd);
		ch->err_fd = -1;
		return;
	}
	room = ALERT_STDERR_KEEP - ch->errlen;
	if ((size_t)n < room)
		room = (size_t)n;
	memcpy(ch->err + ch->errlen, buf, room);
	ch->errlen += room;
	ch->err[ch->errlen] = '\0';
}

/* Write the message to a hook's stdin, then close it. */
static void
alert_child_in_cb(evutil_socket_t fd, short events, void *arg)
{
	struct alert_child	*ch = arg;
	ssize_t			 n;

	(void)events;
	n = write(fd, ch->msg->body + ch->written,
	    ch->msg->len - ch->written);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		ch->written += (size_t)n;
	/* A hook that reads nothing (EPIPE) is its own business. */
	if (n < 0 || ch->written == ch->msg->len) {
		event_del(ch->ev_in);
		close(ch->in_fd);
		ch->in_fd = -1;
	}
}

/* A hook ran past --alert-exec-timeout: SIGTERM, later SIGKILL. */
static void
alert_child_timeout_cb(evutil_socket_t fd, short events, void *arg)
{
	struct alert_child	*ch = arg;

	(void)fd;
	(void)events;
	if (ch->killed == 0) {
		ch->killed = 1;
		kill(ch->pid, SIGTERM);
		alert_timer(ch->ev_timeout, ALERT_KILL_AFTER);
	} else {
		ch->killed = 2;
		kill(ch->pid, SIGKILL);
	}
}

/* Whether a hook has exited; if so, log and count it. */
static void
alert_child_exit_cb(evutil_socket_t fd, short events, void *arg)
{
	struct alert_child	*ch = arg;
	struct alert_chan	*c = ch->chan;
	char			*p, *line;
	int			 status, ok;
	pid_t			 r;

	(void)fd;
	(void)events;
	r = waitpid(ch->pid, &status, WNOHANG);
	if (r == 0 || (r < 0 && errno == EINTR)) {
		if (ch->pidfd == -1)
			alert_timer(ch->ev_exit, 20);
		return;
	}
	/* What it wrote before it exited is still in the pipe. */
	while (ch->err_fd != -1)
		alert_child_err_cb(ch->err_fd, EV_READ, ch);
	ok = r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    ch->killed == 0;
	if (!ok) {
		for (p = ch->err; *p != '\0'; p++) {
			if (*p == '\t' || (unsigned char)*p < ' ')
				*p = *p == '\n' ? '\n' : ' ';
		}
		if (ch->killed != 0)
			xasprintf(&line, "killed after %llu ms "
			    "(--alert-exec-timeout)",
			    (unsigned long long)c->a->opts.exec_timeout);
		else if (r > 0 && WIFEXITED(status))
			xasprintf(&line, "exited %d", WEXITSTATUS(status));
		else if (r > 0 && WIFSIGNALED(status))
			xasprintf(&line, "killed by signal %d",
			    WTERMSIG(status));
		else
			xasprintf(&line, "lost: %s", strerror(errno));
		log_warnx("alerts: exec %s: %s; %u alert%s not sent%s%s",
		    c->target, line, ch->msg->ncount,
		    ch->msg->ncount == 1 ? "" : "s",
		    ch->errlen != 0 ? "; stderr: " : "", ch->err);
		free(line);
	} else if (ch->errlen != 0)
		log_info("alerts: exec %s: stderr: %s", c->target, ch->err);
	alert_count(c, ch->msg, ok);
	TAILQ_REMOVE(&c->children, ch, entry);
	c->nchildren--;
	alert_child_free(ch);
	alert_exec_next(c);
	alert_idle_check(c->a);
}

/* Start a hook with a message on its stdin; 0, or -1 if it could not. */
static int
alert_exec_start(struct alert_chan *c, struct alert_msg *m)
{
	struct alert_child		*ch;
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	sigset_t			 none, dflt;
	int				 in[2], err[2], rv;

	if (pipe2(in, O_CLOEXEC) != 0)
		return (-1);
	if (pipe2(err, O_CLOEXEC) != 0) {
		close(in[0]);
		close(in[1]);
		return (-1);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null",
	    O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
	/* The alert thread blocks every signal; the hook must not. */
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigfillset(&dflt);
	sigdelset(&dflt, SIGKILL);
	sigdelset(&dflt, SIGSTOP);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF);
	ch = xcalloc(1, sizeof *ch);
	ch->chan = c;
	ch->msg = m;
	ch->pidfd = ch->in_fd = ch->err_fd = -1;
	rv = posix_spawnp(&ch->pid, c->argv[0], &fa, &attr, c->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(in[0]);
	close(err[1]);
	if (rv != 0) {
		close(in[1]);
		close(err[0]);
		ch->msg = NULL;
		free(ch);
		errno = rv;
		return (-1);
	}
	ch->in_fd = in[1];
	ch->err_fd = err[0];
	fcntl(ch->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(ch->err_fd, F_SETFL, O_NONBLOCK);
#ifdef SYS_pidfd_open
	ch->pidfd = (int)syscall(SYS_pidfd_open, ch->pid, 0);
#endif
	ch->ev_in = event_new(c->a->base, ch->in_fd, EV_WRITE | EV_PERSIST,
	    alert_child_in_cb, ch);
	ch->ev_err = event_new(c->a->base, ch->err_fd, EV_READ | EV_PERSIST,
	    alert_child_err_cb, ch);
	ch->ev_exit = event_new(c->a->base, ch->pidfd, ch->pidfd != -1 ?
	    EV_READ | EV_PERSIST : 0, alert_child_exit_cb, ch);
	ch->ev_timeout = evtimer_new(c->a->base, alert_child_timeout_cb, ch);
	event_add(ch->ev_in, NULL);
	event_add(ch->ev_err, NULL);
	if (ch->pidfd != -1)
		event_add(ch->ev_exit, NULL);
	else
		alert_timer(ch->ev_exit, 20);
	alert_timer(ch->ev_timeout, (double)c->a->opts.exec_timeout);
	TAILQ_INSERT_TAIL(&c->children, ch, entry);
	c->nchildren++;
	return (0);
}

/* Start hooks for waiting messages, at most --alert-exec-max at once. */
void
alert_exec_next(struct alert_chan *c)
{
	struct alert_msg	*m;

	while (c->nchildren < c->a->opts.exec_max &&
	    (m = TAILQ_FIRST(&c->outbox)) != NULL) {
		TAILQ_REMOVE(&c->outbox, m, entry);
		if (alert_exec_start(c, m) != 0) {
			log_warn("alerts: exec %s: cannot run it; %u alert%s "
			    "not sent", c->target, m->ncount,
			    m->ncount == 1 ? "" : "s");
			alert_msg_done(c, m, 0);
		}
	}
}

/* Kill and reap the hooks still running; the alert thread is gone. */
void
alert_exec_kill(struct alert_chan *c)
{
	struct alert_child	*ch;

	while ((ch = TAILQ_FIRST(&c->children)) != NULL) {
		TAILQ_REMOVE(&c->children, ch, entry);
		kill(ch->pid, SIGKILL);
		waitpid(ch->pid, NULL, 0);
		alert_child_free(ch);
	}
	c->nchildren = 0;
}
