/* Capture files: exchanges as JSON Lines, the writer and the reader (§3). */

#include <sys/stat.h>

#include <dirent.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "paritytap.h"

/* Pending bytes that make capture_write hand the buffer to write(2). */
#define CAPTURE_FLUSH_SIZE	(64 * 1024)

/* Pending bytes kept while writes fail; lines beyond are dropped. */
#define CAPTURE_PENDING_MAX	(64 * 1024 * 1024)

/* While writes fail, what is waiting and lost is said this often. */
#define CAPTURE_REPORT_MS	10000

/* Bytes the reader reads (or inflates) at a time. */
#define CAPTURE_READ_SIZE	(64 * 1024)

struct capture {
	char			*c_path;	/* as given: file or directory */
	int			 c_dirmode;
	char			*c_file;	/* the file being written */
	int			 c_fd;		/* -1 when it could not be opened */
	uint64_t		 c_size;	/* bytes in c_file */
	uint64_t		 c_rotate_at;	/* rotate when c_size reaches it */
	struct capture_opts	 c_opts;	/* own copies of path and redact */
	struct buf		 c_pending;	/* whole lines not yet written */
	size_t			 c_sent;	/* bytes of the first pending
						   line already in c_file */
	int			 c_failing;	/* in a burst of write errors */
	pthread_mutex_t		 c_lock;
	_Atomic uint64_t	 c_bytes;
	_Atomic uint64_t	 c_errors;	/* failed writes, opens, renames */
	_Atomic uint64_t	 c_lost;	/* lines never written */
	uint64_t		 c_said_lost;
	double			 c_said_at;

	/* Rotation: which file comes next and what it is called. */
	int			 c_created;	/* this run made c_file */
	int			 c_fresh;	/* next open starts a new file */
	uint64_t		 c_begun;	/* UTC ms c_file began: its stamp */
	uint64_t		 c_begin_hint;	/* the next file begins here */
	uint64_t		 c_next_at;	/* UTC ms of the next interval */
	uint64_t		 c_last_stamp;	/* the last stamp named, UTC ms */
	char			*c_dir;		/* where closed files are */
	char			*c_prefix;	/* their names start so */

	/* Closed files wait here to be compressed and kept or removed. */
	pthread_t		 c_worker;
	int			 c_has_worker;
	pthread_mutex_t		 c_jlock;
	pthread_cond_t		 c_jcond;
	struct capture_job	*c_jobs;
	struct capture_job     **c_jtail;
	int			 c_jstop;
};

struct capture_job {
	char			*j_path;
	struct capture_job	*j_next;
};

struct capture_reader {
	char			*r_name;	/* for messages: path or "stdin" */
	int			 r_fd;
	int			 r_mode;	/* CAPTURE_IN_* */
	z_stream		 r_z;		/* CAPTURE_IN_GZIP */
	unsigned char		*r_zin;		/* its input, read */
	int			 r_zeof;	/* no more to read */
	int			 r_zend;	/* at a member's end */
	void			(*r_wait)(void *); /* before a read */
	void			*r_wait_arg;
	int			 r_lenient;
	unsigned long long	 r_lineno;
	unsigned long long	 r_exchanges;	/* read, for -v */
	unsigned long long	 r_slow;	/* of them, not by the fast path */
	struct buf		 r_line;
	const char		*r_ldata;	/* the line: in r_buf or r_line */
	size_t			 r_llen;
	char			*r_buf;		/* CAPTURE_READ_SIZE bytes */
	size_t			 r_pos;
	size_t			 r_len;
	int			 r_eof;
	int			 r_looked;	/* at the first bytes */
	unsigned		 r_skip;	/* CAPTURE_SKIP_* */
	struct buf		 r_s;		/* the fast reader's scratch */
	struct buf		 r_hname;
};

/* How a capture being read is stored: not known until its first bytes. */
#define CAPTURE_IN_UNKNOWN	0
#define CAPTURE_IN_PLAIN	1
#define CAPTURE_IN_GZIP		2

/* The UTC time in milliseconds. */
static uint64_t
capture_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * Write the UTC time ms as YYYYMMDDTHHMMSS.mmmZ into out: every stamp is
 * as long as every other, so names sort in time order in any locale.
 */
void
capture_stamp(uint64_t ms, char *out, size_t len)
{
	struct tm	 tm;
	time_t		 t = (time_t)(ms / 1000);
	char		 sec[24];

	gmtime_r(&t, &tm);
	strftime(sec, sizeof sec, "%Y%m%dT%H%M%S", &tm);
	snprintf(out, len, "%s.%03uZ", sec, (unsigned)(ms % 1000));
}

/*
 * Whether name is a file this capture's rotation made: prefix, a stamp,
 * "-PID" when pid is set, and .jsonl or .jsonl.gz.
 */
int
capture_rotated_name(const char *prefix, int pid, const char *name)
{
	static const char	 form[] = "DDDDDDDDTDDDDDD.DDDZ";
	const char		*p;
	size_t			 i, plen = strlen(prefix);

	if (strncmp(name, prefix, plen) != 0)
		return (0);
	p = name + plen;
	for (i = 0; form[i] != '\0'; i++) {
		if (form[i] == 'D' ? (p[i] < '0' || p[i] > '9') :
		    p[i] != form[i])
			return (0);
	}
	p += i;
	if (pid) {
		if (*p++ != '-' || *p < '0' || *p > '9')
			return (0);
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return (strcmp(p, ".jsonl") == 0 || strcmp(p, ".jsonl.gz") == 0);
}

/*
 * The stamp of the next name: when the file began, and always later than
 * the last one, so that files begun within one millisecond still sort in
 * the order they were written.
 */
static uint64_t
capture_next_stamp(struct capture *c)
{
	uint64_t	 ms = c->c_begun;

	if (ms <= c->c_last_stamp)
		ms = c->c_last_stamp + 1;
	return (ms);
}

/* Open (create, append) path for writing; return the fd or -1. */
static int
capture_open_fd(const char *path, int exclusive)
{
	int	 flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;

	if (exclusive)
		flags |= O_EXCL;
	return (open(path, flags, 0600));
}

/* Open the next stamped file in the capture directory. */
static int
capture_open_dirfile(struct capture *c, char **cause)
{
	char		 stamp[32], *file;
	uint64_t	 ms;
	unsigned int	 tries;
	int		 fd;

	ms = capture_next_stamp(c);
	for (tries = 0;; tries++, ms++) {
		capture_stamp(ms, stamp, sizeof stamp);
		xasprintf(&file, "%s/paritytap-%s-%ld.jsonl", c->c_path,
		    stamp, (long)getpid());
		if ((fd = capture_open_fd(file, 1)) != -1)
			break;
		if (errno != EEXIST || tries == 10000) {
			xasprintf(cause, "%s: %s", file, strerror(errno));
			free(file);
			return (-1);
		}
		free(file);
	}
	free(c->c_file);
	c->c_file = file;
	c->c_fd = fd;
	c->c_last_stamp = c->c_begun = ms;
	c->c_created = 1;
	return (0);
}

/*
 * An earlier run that stopped mid-write (a crash, a full disk) can leave
 * the file ending in part of a line, which readers skip as a torn last
 * line.  Appending after it would glue the next line onto it and make
 * the file unreadable, so the cut line is removed (it was never a whole
 * exchange) and said so.
 */
static void
capture_end_torn(struct capture *c)
{
	char	 tail[4096];
	off_t	 end = c->c_size, start;
	ssize_t	 n, i;
	int	 fd;

	if (c->c_size == 0 ||
	    (fd = open(c->c_file, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	/* A line of ours is never this long: then it is not ours. */
	while (end > 0 && c->c_size - end < CAPTURE_PENDING_MAX) {
		start = end > (off_t)sizeof tail ? end - sizeof tail : 0;
		if ((n = pread(fd, tail, end - start, start)) <= 0) {
			close(fd);
			return;
		}
		for (i = n; i > 0; i--) {
			if (tail[i - 1] == '\n')
				break;
		}
		if (i > 0) {
			end = start + i;
			break;
		}
		end = start;
	}
	close(fd);
	if (end == (off_t)c->c_size)
		return;
	if (end == 0 || c->c_size - end >= CAPTURE_PENDING_MAX) {
		/* Not a line of ours in it: leave it be, start a line. */
		log_warnx("capture: %s: holds no whole line; appending after "
		    "it", c->c_file);
		if (write(c->c_fd, "\n", 1) == 1)
			c->c_size++;
		return;
	}
	if (ftruncate(c->c_fd, end) != 0) {
		log_warn("capture: %s: ends in a line cut short, and "
		    "truncating it failed", c->c_file);
		return;
	}
	log_warnx("capture: %s: removed a line cut short by an earlier run "
	    "(%llu bytes) before appending", c->c_file,
	    (unsigned long long)(c->c_size - end));
	c->c_size = end;
}

/*
 * Open the capture's file: in directory mode a new stamped file unless
 * same is set, else c_file again.  Return 0, or -1 with cause.
 */
static int
capture_open_file(struct capture *c, int same, char **cause)
{
	struct stat	 st;

	if (!same) {
		c->c_begun = c->c_begin_hint != 0 ? c->c_begin_hint :
		    capture_now();
		c->c_begin_hint = 0;
	}
	if (c->c_dirmode && !same) {
		if (capture_open_dirfile(c, cause) != 0)
			return (-1);
	} else if ((c->c_fd = capture_open_fd(c->c_file, 1)) != -1) {
		/* Made here: after logrotate moved it, a new file. */
		c->c_created = 1;
		if (same)
			c->c_begun = capture_now();
	} else if (errno != EEXIST ||
	    (c->c_fd = capture_open_fd(c->c_file, 0)) == -1) {
		xasprintf(cause, "%s: %s", c->c_file, strerror(errno));
		return (-1);
	} else
		c->c_created = 0;
	c->c_size = 0;
	if (fstat(c->c_fd, &st) == 0 && S_ISREG(st.st_mode)) {
		c->c_size = st.st_size;
		capture_end_torn(c);
	}
	c->c_rotate_at = c->c_opts.rotate_size;
	c->c_sent = 0;
	c->c_fresh = 0;
	return (0);
}

/* Count one capture error. */
static void
capture_count_error(struct capture *c)
{
	atomic_fetch_add(&c->c_errors, 1);
}

/* Remove the first n bytes of the pending lines. */
static void
capture_consume(struct capture *c, size_t n)
{
	memmove(c->c_pending.data, c->c_pending.data + n,
	    c->c_pending.len - n);
	c->c_pending.len -= n;
	c->c_pending.data[c->c_pending.len] = '\0';
}

/*
 * Write the pending lines.  A line a failed or short write cut stays
 * pending, its written start counted in c_sent, so the next try finishes
 * it rather than starting another line on the torn one.  Return 0, or -1
 * if something is still pending.
 */
static int
capture_flush_locked(struct capture *c)
{
	char	*cause = NULL;
	size_t	 off, done;
	ssize_t	 n;
	int	 rc = 0;

	if (c->c_pending.len == 0)
		return (0);
	if (c->c_fd == -1 && capture_open_file(c, !c->c_fresh, &cause) != 0) {
		if (!c->c_failing)
			log_warnx("capture: %s", cause);
		free(cause);
		c->c_failing = 1;
		capture_count_error(c);
		return (-1);
	}
	off = c->c_sent;
	while (off < c->c_pending.len) {
		n = write(c->c_fd, c->c_pending.data + off,
		    c->c_pending.len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			rc = -1;
			break;
		}
		off += n;
		c->c_size += n;
		atomic_fetch_add(&c->c_bytes, n);
	}
	/* Keep the line a short write cut, and how much of it is out. */
	for (done = off; done > 0; done--) {
		if (c->c_pending.data[done - 1] == '\n')
			break;
	}
	capture_consume(c, done);
	c->c_sent = off - done;
	if (rc != 0) {
		if (!c->c_failing)
			log_warn("capture: %s: write", c->c_file);
		c->c_failing = 1;
		capture_count_error(c);
	} else if (c->c_failing) {
		log_info("capture: %s: writing again", c->c_file);
		c->c_failing = 0;
	}
	return (rc);
}

/*
 * Close the current file.  If it ends in the start of a line a write cut,
 * that start is truncated away so the whole line can go to the next file;
 * failing that the start is ended with a newline and the line dropped, so
 * no file holds a line that another runs into.
 */
static void
capture_close_fd(struct capture *c)
{
	char	*nl;
	size_t	 n;

	if (c->c_fd == -1)
		return;
	if (c->c_sent != 0) {
		if (ftruncate(c->c_fd, c->c_size - c->c_sent) == 0) {
			c->c_size -= c->c_sent;
			atomic_fetch_sub(&c->c_bytes, c->c_sent);
		} else {
			if (write(c->c_fd, "\n", 1) != 1)
				log_warn("capture: %s: write", c->c_file);
			nl = memchr(c->c_pending.data, '\n', c->c_pending.len);
			n = nl != NULL ? (size_t)(nl - c->c_pending.data) + 1 :
			    c->c_pending.len;
			capture_consume(c, n);
			capture_count_error(c);
			atomic_fetch_add(&c->c_lost, 1);
		}
		c->c_sent = 0;
	}
	if (close(c->c_fd) != 0)
		log_warn("capture: %s: close", c->c_file);
	c->c_fd = -1;
}

/*
 * Remove the current file if this run made it and nothing was written to
 * it, checking first that the name is still that file (logrotate may
 * have moved it and made another).  Return 1 if it was removed.
 */
static int
capture_drop_empty(struct capture *c)
{
	struct stat	 fst, st;

	if (c->c_fd == -1 || !c->c_created || c->c_size != 0 ||
	    c->c_sent != 0 || c->c_pending.len != 0)
		return (0);
	if (fstat(c->c_fd, &fst) != 0 || !S_ISREG(fst.st_mode) ||
	    fst.st_size != 0 || lstat(c->c_file, &st) != 0 ||
	    st.st_dev != fst.st_dev || st.st_ino != fst.st_ino)
		return (0);
	if (unlink(c->c_file) != 0) {
		log_warn("capture: %s: remove empty file", c->c_file);
		return (0);
	}
	log_debug("capture: %s: removed, nothing was written to it",
	    c->c_file);
	return (1);
}

/*
 * Move a full file aside as <base>-<stamp>.jsonl, the stamp when it began;
 * return the new name, or NULL.
 */
static char *
capture_rename_full(struct capture *c)
{
	struct stat	 st;
	char		 stamp[32], *to;
	uint64_t	 ms;
	unsigned int	 tries;

	ms = capture_next_stamp(c);
	for (tries = 0;; tries++, ms++) {
		capture_stamp(ms, stamp, sizeof stamp);
		xasprintf(&to, "%s/%s%s.jsonl", c->c_dir, c->c_prefix, stamp);
		if (lstat(to, &st) != 0 || tries == 10000)
			break;
		free(to);
	}
	if (rename(c->c_file, to) != 0) {
		log_warn("capture: rename %s to %s", c->c_file, to);
		free(to);
		return (NULL);
	}
	c->c_last_stamp = ms;
	return (to);
}

/* Hand a closed file to the worker, which takes path; or free it. */
static void
capture_queue(struct capture *c, char *path)
{
	struct capture_job	*j;

	if (!c->c_has_worker) {
		free(path);
		return;
	}
	j = xcalloc(1, sizeof *j);
	j->j_path = path;
	pthread_mutex_lock(&c->c_jlock);
	*c->c_jtail = j;
	c->c_jtail = &j->j_next;
	pthread_cond_signal(&c->c_jcond);
	pthread_mutex_unlock(&c->c_jlock);
}

/*
 * Close the current file (--rotate-size is reached, or --rotate-interval
 * has passed): it takes its stamped name and goes to the worker.  The next
 * file is opened by the next line, so a quiet interval leaves no empty
 * file.  The pending lines were flushed.
 */
static void
capture_rotate(struct capture *c)
{
	char	*closed;

	if (c->c_fd == -1) {
		c->c_fresh = 1;
		return;
	}
	if (capture_drop_empty(c)) {
		capture_close_fd(c);
		c->c_fresh = 1;
		return;
	}
	if (c->c_size == 0) {
		/* Not ours to remove, and nothing to rotate. */
		return;
	}
	if (c->c_dirmode)
		closed = xstrdup(c->c_file);
	else if ((closed = capture_rename_full(c)) == NULL) {
		/* Keep writing where we are; try again one size later. */
		capture_count_error(c);
		c->c_rotate_at = c->c_size + c->c_opts.rotate_size;
		return;
	}
	capture_close_fd(c);
	c->c_fresh = 1;
	capture_queue(c, closed);
}

/*
 * At an interval's end (--rotate-interval), rotate.  Intervals are
 * multiples of the interval in UTC time, so hourly files begin on the
 * hour and daily ones at midnight UTC.
 */
static void
capture_check_interval(struct capture *c)
{
	uint64_t	 now, iv = c->c_opts.rotate_interval;

	if (iv == 0 || (now = capture_now()) < c->c_next_at)
		return;
	c->c_next_at = now - now % iv + iv;
	if (capture_flush_locked(c) != 0)
		return;
	capture_rotate(c);
	if (c->c_fresh)
		c->c_begin_hint = now - now % iv;
}

/*
 * Compress path to path.gz: written as path.gz.tmp and renamed once it is
 * whole and on disk, and only then is path removed, so that a crash or a
 * full disk never leaves the lines nowhere or in two files.  Return 0, or
 * -1 with cause, path kept.
 */
int
capture_compress_file(const char *path, char **cause)
{
	char	*gz, *tmp, *buf = NULL;
	gzFile	 z = NULL;
	ssize_t	 n;
	int	 in, out = -1, keep = -1, rc = -1, zerr;

	xasprintf(&gz, "%s.gz", path);
	xasprintf(&tmp, "%s.gz.tmp", path);
	if ((in = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1 || (keep = dup(out)) == -1) {
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if ((z = gzdopen(out, "wb6")) == NULL) {
		xasprintf(cause, "%s: cannot compress", tmp);
		goto out;
	}
	out = -1;
	buf = xmalloc(CAPTURE_READ_SIZE);
	for (;;) {
		if ((n = read(in, buf, CAPTURE_READ_SIZE)) == -1 &&
		    errno == EINTR)
			continue;
		if (n == -1) {
			xasprintf(cause, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (gzwrite(z, buf, (unsigned)n) != (int)n) {
			xasprintf(cause, "%s: %s", tmp, gzerror(z, &zerr));
			goto out;
		}
	}
	zerr = gzclose(z);
	z = NULL;
	if (zerr != Z_OK) {
		xasprintf(cause, "%s: %s", tmp, zerr == Z_ERRNO ?
		    strerror(errno) : "compression failed");
		goto out;
	}
	if (fsync(keep) != 0 || rename(tmp, gz) != 0) {
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (unlink(path) != 0) {
		/* Both would be read: keep the plain one alone. */
		xasprintf(cause, "%s: %s", path, strerror(errno));
		unlink(gz);
		goto out;
	}
	rc = 0;
out:
	if (z != NULL)
		gzclose(z);
	if (out != -1)
		close(out);
	if (keep != -1)
		close(keep);
	if (in != -1)
		close(in);
	if (rc != 0)
		unlink(tmp);
	free(buf);
	free(tmp);
	free(gz);
	return (rc);
}

/* qsort: names in byte order, which is time order for stamped names. */
static int
capture_namecmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/*
 * --rotate-keep: remove the oldest closed files of this capture's naming
 * scheme past the newest N.  A file and its .gz count as one.  The file
 * being written is not a closed one.
 */
static void
capture_retain(struct capture *c)
{
	struct dirent	*de;
	DIR		*d;
	char		**names = NULL, *current = NULL, *path, *dot;
	size_t		 n = 0, cap = 0, i, j, len, from;

	if ((d = opendir(c->c_dir)) == NULL) {
		log_warn("capture: %s", c->c_dir);
		capture_count_error(c);
		return;
	}
	pthread_mutex_lock(&c->c_lock);
	if (c->c_fd != -1 && (dot = strrchr(c->c_file, '/')) != NULL)
		current = xstrdup(dot + 1);
	pthread_mutex_unlock(&c->c_lock);
	while ((de = readdir(d)) != NULL) {
		if (!capture_rotated_name(c->c_prefix, c->c_dirmode,
		    de->d_name) ||
		    (current != NULL && strcmp(de->d_name, current) == 0))
			continue;
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			names = xreallocarray(names, cap, sizeof *names);
		}
		names[n] = xstrdup(de->d_name);
		len = strlen(names[n]);
		if (len > 3 && strcmp(names[n] + len - 3, ".gz") == 0)
			names[n][len - 3] = '\0';
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof *names, capture_namecmp);
	/* Count each file once, whether plain, .gz or both. */
	for (i = 0, len = 0; i < n; i++) {
		if (len == 0 || strcmp(names[len - 1], names[i]) != 0)
			names[len++] = names[i];
		else
			free(names[i]);
	}
	n = len;
	from = n > c->c_opts.rotate_keep ? n - c->c_opts.rotate_keep : 0;
	for (i = 0; i < n; i++) {
		/* The file, plain or compressed (or both, mid-compression). */
		for (j = 0; i < from && j < 2; j++) {
			xasprintf(&path, "%s/%s%s", c->c_dir, names[i],
			    j == 0 ? "" : ".gz");
			if (unlink(path) == 0)
				log_info("capture: %s: removed (--rotate-keep)",
				    path);
			else if (errno != ENOENT)
				log_warn("capture: %s: remove", path);
			free(path);
		}
		free(names[i]);
	}
	free(names);
	free(current);
}

/*
 * The worker: compresses and removes closed files on a thread of its own,
 * never the pipeline's, so a large file does not hold up capture lines.
 * It finishes what is queued before it stops.
 */
static void *
capture_worker(void *arg)
{
	struct capture		*c = arg;
	struct capture_job	*j;
	char			*cause;

	pthread_setname_np(pthread_self(), "capture");
	for (;;) {
		pthread_mutex_lock(&c->c_jlock);
		while (c->c_jobs == NULL && !c->c_jstop)
			pthread_cond_wait(&c->c_jcond, &c->c_jlock);
		if ((j = c->c_jobs) != NULL) {
			if ((c->c_jobs = j->j_next) == NULL)
				c->c_jtail = &c->c_jobs;
		}
		pthread_mutex_unlock(&c->c_jlock);
		if (j == NULL)
			break;
		if (c->c_opts.rotate_compress &&
		    capture_compress_file(j->j_path, &cause) != 0) {
			log_warnx("capture: compressing %s failed, it stays "
			    "uncompressed: %s", j->j_path, cause);
			free(cause);
			capture_count_error(c);
		}
		if (c->c_opts.rotate_keep != 0)
			capture_retain(c);
		free(j->j_path);
		free(j);
	}
	return (NULL);
}

/*
 * --rotate-compress with --capture FILE: closed files an earlier run left
 * plain (it was killed before their turn) are queued too.  Not in
 * directory mode, where another proxy's file being written has a name of
 * the same form.
 */
static void
capture_queue_leftovers(struct capture *c)
{
	struct dirent	*de;
	DIR		*d;
	char		*path;
	size_t		 len;

	if (c->c_dirmode || (d = opendir(c->c_dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (!capture_rotated_name(c->c_prefix, 0, de->d_name) ||
		    strcmp(de->d_name + len - 6, ".jsonl") != 0)
			continue;
		xasprintf(&path, "%s/%s", c->c_dir, de->d_name);
		capture_queue(c, path);
	}
	closedir(d);
}

/* Where closed files go and how they are named; start the worker. */
static void
capture_setup_rotation(struct capture *c)
{
	sigset_t	 all, old;
	const char	*slash;
	size_t		 len;

	if (c->c_dirmode) {
		c->c_dir = xstrdup(c->c_path);
		c->c_prefix = xstrdup("paritytap-");
	} else {
		if ((slash = strrchr(c->c_path, '/')) == NULL)
			c->c_dir = xstrdup(".");
		else if (slash == c->c_path)
			c->c_dir = xstrdup("/");
		else
			c->c_dir = xstrndup(c->c_path, slash - c->c_path);
		slash = slash != NULL ? slash + 1 : c->c_path;
		len = strlen(slash);
		if (len > 6 && strcmp(slash + len - 6, ".jsonl") == 0)
			len -= 6;
		xasprintf(&c->c_prefix, "%.*s-", (int)len, slash);
	}
	if (c->c_opts.rotate_interval != 0)
		c->c_next_at = capture_now() - capture_now() %
		    c->c_opts.rotate_interval + c->c_opts.rotate_interval;
	c->c_jtail = &c->c_jobs;
	if (c->c_opts.rotate_keep == 0 && !c->c_opts.rotate_compress)
		return;
	pthread_mutex_init(&c->c_jlock, NULL);
	pthread_cond_init(&c->c_jcond, NULL);
	/* Signals are the event loop's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&c->c_worker, NULL, capture_worker, c) != 0)
		fatal("%s: pthread_create", __func__);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	c->c_has_worker = 1;
	if (c->c_opts.rotate_compress)
		capture_queue_leftovers(c);
}

/* Let the worker finish what is queued, and stop it. */
static void
capture_stop_worker(struct capture *c)
{
	if (!c->c_has_worker)
		return;
	pthread_mutex_lock(&c->c_jlock);
	c->c_jstop = 1;
	pthread_cond_signal(&c->c_jcond);
	pthread_mutex_unlock(&c->c_jlock);
	pthread_join(c->c_worker, NULL);
	pthread_mutex_destroy(&c->c_jlock);
	pthread_cond_destroy(&c->c_jcond);
	c->c_has_worker = 0;
}

/*
 * Open a capture writer on opts->path: a file, or a directory (an existing
 * one, or a path ending in '/') of timestamped files.  NULL with cause.
 */
struct capture *
capture_open(const struct capture_opts *opts, char **cause)
{
	struct capture	*c;
	struct stat	 st;
	size_t		 i, len;

	if (opts->path == NULL || *opts->path == '\0') {
		xasprintf(cause, "capture: no path given");
		return (NULL);
	}
	c = xcalloc(1, sizeof *c);
	c->c_fd = -1;
	c->c_opts = *opts;
	c->c_opts.redact = NULL;
	c->c_opts.nredact = 0;
	for (i = 0; i < opts->nredact; i++)
		strlist_add(&c->c_opts.redact, &c->c_opts.nredact,
		    opts->redact[i]);
	c->c_path = xstrdup(opts->path);
	c->c_opts.path = c->c_path;
	len = strlen(c->c_path);
	if (c->c_path[len - 1] == '/') {
		c->c_dirmode = 1;
		while (len > 1 && c->c_path[len - 1] == '/')
			c->c_path[--len] = '\0';
		if (mkdir(c->c_path, 0700) != 0 && errno != EEXIST) {
			xasprintf(cause, "%s: %s", opts->path, strerror(errno));
			goto fail;
		}
	}
	if (stat(c->c_path, &st) == 0 && S_ISDIR(st.st_mode))
		c->c_dirmode = 1;
	else if (c->c_dirmode) {
		xasprintf(cause, "%s: not a directory", opts->path);
		goto fail;
	}
	if (!c->c_dirmode)
		c->c_file = xstrdup(c->c_path);
	if (capture_open_file(c, 0, cause) != 0)
		goto fail;
	buf_init(&c->c_pending);
	pthread_mutex_init(&c->c_lock, NULL);
	capture_setup_rotation(c);
	return (c);
fail:
	strlist_free(&c->c_opts.redact, &c->c_opts.nredact);
	free(c->c_file);
	free(c->c_path);
	free(c);
	return (NULL);
}

/*
 * Open a capture writer on fd, a descriptor already open for writing (a
 * pipe or a file the caller made: standard output); name is for messages.
 * It never rotates; capture_close closes fd.
 */
struct capture *
capture_fdopen(int fd, const char *name, const struct capture_opts *opts)
{
	struct capture	*c;
	size_t		 i;

	c = xcalloc(1, sizeof *c);
	c->c_fd = fd;
	c->c_opts = *opts;
	c->c_opts.rotate_size = 0;
	c->c_opts.rotate_interval = 0;
	c->c_opts.rotate_keep = 0;
	c->c_opts.rotate_compress = 0;
	c->c_opts.redact = NULL;
	c->c_opts.nredact = 0;
	for (i = 0; i < opts->nredact; i++)
		strlist_add(&c->c_opts.redact, &c->c_opts.nredact,
		    opts->redact[i]);
	c->c_path = xstrdup(name);
	c->c_opts.path = c->c_path;
	c->c_file = xstrdup(name);
	buf_init(&c->c_pending);
	pthread_mutex_init(&c->c_lock, NULL);
	return (c);
}

/*
 * Queue the capture line of ex; the pending lines are written once they
 * pass 64 KiB, and the file rotated when full.  Return 0, or -1 if the
 * line was lost or a write failed (counted in capture_errors).
 */
int
capture_write(struct capture *c, const struct exchange *ex)
{
	int	 rc = 0;

	pthread_mutex_lock(&c->c_lock);
	if (c->c_failing && c->c_pending.len > CAPTURE_PENDING_MAX) {
		/* The disk has been failing for a while: bound the memory. */
		atomic_fetch_add(&c->c_lost, 1);
		rc = -1;
		goto out;
	}
	capture_check_interval(c);
	capture_line(ex, &c->c_opts, &c->c_pending);
	buf_add(&c->c_pending, "\n", 1);
	if (c->c_pending.len >= CAPTURE_FLUSH_SIZE)
		rc = capture_flush_locked(c);
	if (c->c_opts.rotate_size != 0 &&
	    c->c_size + c->c_pending.len >= c->c_rotate_at) {
		if (capture_flush_locked(c) == 0)
			capture_rotate(c);
		else
			rc = -1;
	}
out:
	pthread_mutex_unlock(&c->c_lock);
	return (rc);
}

/* Write everything pending; return 0, or -1 if a write failed. */
int
capture_flush(struct capture *c)
{
	int	 rc;

	pthread_mutex_lock(&c->c_lock);
	rc = capture_flush_locked(c);
	pthread_mutex_unlock(&c->c_lock);
	return (rc);
}

/*
 * Flush, close and reopen the same file (SIGHUP after logrotate moved it).
 * Return 0, or -1 with cause; later writes retry the open.
 */
int
capture_reopen(struct capture *c, char **cause)
{
	int	 rc;

	pthread_mutex_lock(&c->c_lock);
	capture_flush_locked(c);
	/* After a rotation the next line opens the next file. */
	if (c->c_fd == -1 && c->c_fresh) {
		pthread_mutex_unlock(&c->c_lock);
		return (0);
	}
	capture_close_fd(c);
	rc = capture_open_file(c, 1, cause);
	pthread_mutex_unlock(&c->c_lock);
	return (rc);
}

/*
 * Flush and close a capture writer and free it; return the lines that
 * could not be written, in all.
 */
uint64_t
capture_close(struct capture *c)
{
	uint64_t total;
	size_t	 i, lost = 0;
	int	 removed;

	if (c == NULL)
		return (0);
	pthread_mutex_lock(&c->c_lock);
	capture_flush_locked(c);
	/*
	 * The file being written stays as it is (the next run appends to
	 * --capture FILE), unless nothing was ever written to it.
	 */
	removed = capture_drop_empty(c);
	capture_close_fd(c);
	/* Said, since no file is there to say it. */
	if (removed && atomic_load(&c->c_bytes) == 0)
		log_warnx("capture: no exchange was recorded; the empty %s "
		    "was removed", c->c_file);
	if (c->c_pending.len != 0) {
		for (i = 0; i < c->c_pending.len; i++) {
			if (c->c_pending.data[i] == '\n')
				lost++;
		}
		atomic_fetch_add(&c->c_lost, lost);
		log_warnx("capture: %s: %zu line%s not written", c->c_file,
		    lost, lost == 1 ? "" : "s");
	}
	total = atomic_load(&c->c_lost);
	pthread_mutex_unlock(&c->c_lock);
	capture_stop_worker(c);
	pthread_mutex_destroy(&c->c_lock);
	buf_free(&c->c_pending);
	strlist_free(&c->c_opts.redact, &c->c_opts.nredact);
	free(c->c_file);
	free(c->c_path);
	free(c->c_dir);
	free(c->c_prefix);
	free(c);
	return (total);
}

/* Return the bytes written to capture files so far; any thread. */
uint64_t
capture_bytes(struct capture *c)
{
	return (c != NULL ? atomic_load(&c->c_bytes) : 0);
}

/* Return the failed writes, opens and renames so far; any thread. */
uint64_t
capture_errors(struct capture *c)
{
	return (c != NULL ? atomic_load(&c->c_errors) : 0);
}

/* Whether the last write failed (the disk is full, ...); any thread. */
int
capture_failing(struct capture *c)
{
	int	 f;

	if (c == NULL)
		return (0);
	pthread_mutex_lock(&c->c_lock);
	f = c->c_failing;
	pthread_mutex_unlock(&c->c_lock);
	return (f);
}

/* Return the lines that could not be written so far; any thread. */
uint64_t
capture_lost(struct capture *c)
{
	return (c != NULL ? atomic_load(&c->c_lost) : 0);
}

/*
 * While writes fail, say what is waiting and what was lost, at most once
 * per CAPTURE_REPORT_MS (the first failure is said at once).
 */
static void
capture_report(struct capture *c)
{
	uint64_t	 lost = atomic_load(&c->c_lost);
	size_t		 i, waiting = 0;

	if (!c->c_failing && lost == c->c_said_lost)
		return;
	if (c->c_said_at != 0 && mono_ms() - c->c_said_at < CAPTURE_REPORT_MS)
		return;
	for (i = 0; i < c->c_pending.len; i++) {
		if (c->c_pending.data[i] == '\n')
			waiting++;
	}
	log_warnx("capture: %s: %zu line%s waiting to be written, %llu lost "
	    "so far", c->c_file != NULL ? c->c_file : c->c_path, waiting,
	    waiting == 1 ? "" : "s", (unsigned long long)lost);
	c->c_said_lost = lost;
	c->c_said_at = mono_ms();
}

/* The pipeline's capture consumer: write each exchange's line. */
static void
capture_on_exchange(void *arg, const struct exchange *ex)
{
	capture_write(arg, ex);
}

/* Every tick: write what is pending; while failing, say so. */
static void
capture_on_tick(void *arg)
{
	struct capture	*c = arg;

	pthread_mutex_lock(&c->c_lock);
	capture_check_interval(c);
	capture_flush_locked(c);
	capture_report(c);
	pthread_mutex_unlock(&c->c_lock);
}

/* SIGHUP, SIGUSR1: reopen the file. */
static void
capture_on_reopen(void *arg)
{
	char	*cause;

	if (capture_reopen(arg, &cause) != 0) {
		log_warnx("capture: %s", cause);
		free(cause);
	}
}

/* The capture writer as a pipeline consumer. */
void
capture_consumer(struct capture *c, struct consumer *con)
{
	memset(con, 0, sizeof *con);
	con->name = "capture";
	con->on_exchange = capture_on_exchange;
	con->on_tick = capture_on_tick;
	con->on_reopen = capture_on_reopen;
	con->on_stop = capture_on_tick;
	con->arg = c;
}

/*
 * Open a capture for reading: .jsonl or .jsonl.gz (told apart by the
 * first bytes, not the name), "-" for stdin.  Return NULL with cause on
 * error.
 */
struct capture_reader *
capture_reader_open(const char *path, int lenient, char **cause)
{
	struct capture_reader	*r;
	struct stat		 st;
	int			 fd;

	if (strcmp(path, "-") == 0)
		fd = dup(STDIN_FILENO);
	else
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		xasprintf(cause, "%s: %s", path, strerror(EISDIR));
		close(fd);
		return (NULL);
	}
	r = xcalloc(1, sizeof *r);
	r->r_name = xstrdup(strcmp(path, "-") == 0 ? "stdin" : path);
	r->r_fd = fd;
	r->r_lenient = lenient;
	r->r_buf = xmalloc(CAPTURE_READ_SIZE);
	buf_init(&r->r_line);
	return (r);
}

/*
 * One read(2) of up to n bytes: what is there now, as soon as there is
 * some.  A pipe or a terminal is read as its writer writes, not once a
 * buffer is full, so a capture streamed in (tail -f) is read line by line.
 */
static ssize_t
capture_read_some(struct capture_reader *r, void *p, size_t n)
{
	ssize_t	 got;

	if (r->r_wait != NULL)
		r->r_wait(r->r_wait_arg);
	do
		got = read(r->r_fd, p, n);
	while (got == -1 && errno == EINTR);
	return (got);
}

/*
 * Read more gzip input behind what is left of it; -1 on a read error.
 * Called when it has all been taken, or holds too little to tell.
 */
static int
capture_reader_zmore(struct capture_reader *r)
{
	z_stream	*z = &r->r_z;
	ssize_t		 n;

	memmove(r->r_zin, z->next_in, z->avail_in);
	if ((n = capture_read_some(r, r->r_zin + z->avail_in,
	    CAPTURE_READ_SIZE - z->avail_in)) == -1)
		return (-1);
	if (n == 0)
		r->r_zeof = 1;
	z->next_in = r->r_zin;
	z->avail_in += (uInt)n;
	return (0);
}

/*
 * The first bytes say how the capture is stored: the gzip magic (1f 8b)
 * or anything else, read as it is.  What was read to tell is data: kept
 * as gzip input or returned as the first bytes.  Return the plain bytes
 * read (0 for gzip, or at the end), or -1 with *msg.
 */
static ssize_t
capture_reader_look(struct capture_reader *r, const char **msg)
{
	ssize_t	 n, got = 0;

	/* Two bytes tell; a writer writes a gzip header in one go. */
	while (got < 2) {
		if ((n = capture_read_some(r, r->r_buf + got,
		    CAPTURE_READ_SIZE - got)) == -1) {
			*msg = strerror(errno);
			return (-1);
		}
		if (n == 0)
			break;
		got += n;
	}
	if (got < 2 || (unsigned char)r->r_buf[0] != 0x1f ||
	    (unsigned char)r->r_buf[1] != 0x8b) {
		r->r_mode = CAPTURE_IN_PLAIN;
		return (got);
	}
	r->r_mode = CAPTURE_IN_GZIP;
	/* 16 + 15: a gzip stream, a window of up to 32 KiB. */
	if (inflateInit2(&r->r_z, 16 + 15) != Z_OK)
		fatalx("%s: inflateInit2 failed", __func__);
	r->r_zin = xmalloc(CAPTURE_READ_SIZE);
	memcpy(r->r_zin, r->r_buf, got);
	r->r_z.next_in = r->r_zin;
	r->r_z.avail_in = (uInt)got;
	return (0);
}

/*
 * Inflate what has been read into r_buf, reading more while none comes
 * out.  Members one after another (cat a.gz b.gz) read as one stream, as
 * gzip -d reads them; anything else after a member, and a stream cut
 * short, are warned of and end it.  Return the bytes, 0 at the end, or -1
 * with *msg.
 */
static ssize_t
capture_reader_inflate(struct capture_reader *r, const char **msg)
{
	z_stream	*z = &r->r_z;
	size_t		 out;
	int		 ret;

	for (;;) {
		/* More input when it is all taken, or the next magic is cut. */
		if (!r->r_zeof && (z->avail_in == 0 ||
		    (r->r_zend && z->avail_in < 2))) {
			if (capture_reader_zmore(r) != 0) {
				*msg = strerror(errno);
				return (-1);
			}
			continue;
		}
		if (r->r_zend) {
			if (z->avail_in == 0)
				return (0);
			if (z->avail_in < 2 || z->next_in[0] != 0x1f ||
			    z->next_in[1] != 0x8b) {
				/* As gzip -d: said, and the rest not read. */
				if (!log_quiet)
					log_warnx("%s: data after the gzip "
					    "stream is not gzip: ignored",
					    r->r_name);
				z->avail_in = 0;
				r->r_zeof = 1;
				return (0);
			}
			inflateReset(z);
			r->r_zend = 0;
		}
		z->next_out = (unsigned char *)r->r_buf;
		z->avail_out = CAPTURE_READ_SIZE;
		ret = inflate(z, Z_NO_FLUSH);
		out = CAPTURE_READ_SIZE - z->avail_out;
		if (ret == Z_STREAM_END)
			r->r_zend = 1;
		else if (ret != Z_OK && ret != Z_BUF_ERROR) {
			*msg = z->msg != NULL ? z->msg : "invalid gzip data";
			return (-1);
		}
		if (out > 0)
			return ((ssize_t)out);
		if (!r->r_zend && z->avail_in == 0 && r->r_zeof) {
			/*
			 * Cut short, as a file still being compressed is:
			 * read up to the cut, as a plain file still being
			 * written is read up to its last whole line.
			 */
			if (!log_quiet)
				log_warnx("%s: the gzip stream ends early "
				    "(unexpected end of file): read up to "
				    "there", r->r_name);
			return (0);
		}
	}
}

/*
 * Pass over these parts of each line (CAPTURE_SKIP_*): a reader that has
 * no use for them saves copying and freeing them.  Lines the fast path
 * does not take are read whole.
 */
void
capture_reader_skip(struct capture_reader *r, unsigned skip)
{
	r->r_skip = skip;
}

/*
 * Call fn(arg) before each read of the input, which may wait for a writer:
 * a command writing lines as it reads flushes them there, so what it has
 * read so far is out while its input is slow, at no cost per line.
 */
void
capture_reader_on_wait(struct capture_reader *r, void (*fn)(void *),
    void *arg)
{
	r->r_wait = fn;
	r->r_wait_arg = arg;
}

/*
 * What the first n bytes of a file are when they cannot start a capture
 * (JSON lines, each an object): a packet capture, a HAR file, binary
 * data, other text; NULL when they can.  With lenient only what is
 * surely no capture is named (a malformed first line may be skipped).
 */
const char *
capture_kind(const unsigned char *p, size_t n, int lenient)
{
	static const unsigned char	 pcap[][4] = {
		{ 0xd4, 0xc3, 0xb2, 0xa1 }, { 0xa1, 0xb2, 0xc3, 0xd4 },
		{ 0x4d, 0x3c, 0xb2, 0xa1 }, { 0xa1, 0xb2, 0x3c, 0x4d }
	};
	static const unsigned char	 pcapng[4] = { 0x0a, 0x0d, 0x0d, 0x0a };
	size_t				 i;

	if (n >= 4) {
		for (i = 0; i < sizeof pcap / sizeof pcap[0]; i++)
			if (memcmp(p, pcap[i], 4) == 0)
				return ("a pcap file: run paritytap import first");
		if (memcmp(p, pcapng, 4) == 0)
			return ("a pcapng file: run paritytap import first");
	}
	if (memchr(p, '\0', n) != NULL)
		return ("binary data, not a capture (JSON lines)");
	for (i = 0; i < n && strchr(" \t\r\n", p[i]) != NULL; i++)
		/* nothing */;
	if (i == n)
		return (NULL);
	if (p[i] != '{')
		return (lenient ? NULL :
		    "not a capture (JSON lines, each an object)");
	for (i++; i < n && strchr(" \t\r\n", p[i]) != NULL; i++)
		/* nothing */;
	if (n - i >= 5 && memcmp(p + i, "\"log\"", 5) == 0)
		return ("a HAR file, not a capture (JSON lines)");
	return (NULL);
}

/*
 * Read the next line, of any length, into r_ldata and r_llen: in r_buf
 * itself if it is whole there, else copied into r_line.  *newline says
 * whether it ended in one.  Return 1, 0 at end of file, or -1 with cause.
 */
static int
capture_reader_line(struct capture_reader *r, int *newline, char **cause)
{
	const char	*msg = NULL;
	char		*start, *nl;
	ssize_t		 n;

	buf_reset(&r->r_line);
	buf_add(&r->r_line, "", 0);
	for (;;) {
		if (r->r_pos == r->r_len) {
			if (r->r_eof)
				break;
			if (r->r_mode == CAPTURE_IN_UNKNOWN)
				n = capture_reader_look(r, &msg);
			else if (r->r_mode == CAPTURE_IN_GZIP)
				n = 0;
			else if ((n = capture_read_some(r, r->r_buf,
			    CAPTURE_READ_SIZE)) == -1)
				msg = strerror(errno);
			if (n == 0 && r->r_mode == CAPTURE_IN_GZIP)
				n = capture_reader_inflate(r, &msg);
			if (n < 0) {
				xasprintf(cause, "%s:%llu: read error: %s",
				    r->r_name, r->r_lineno + 1, msg);
				return (-1);
			}
			if (n == 0)
				r->r_eof = 1;
			r->r_pos = 0;
			r->r_len = n;
			if (!r->r_looked && n > 0) {
				r->r_looked = 1;
				if ((msg = capture_kind((unsigned char *)r->r_buf,
				    (size_t)n, r->r_lenient)) != NULL) {
					xasprintf(cause, "%s:%llu: this is %s",
					    r->r_name, r->r_lineno + 1, msg);
					return (-1);
				}
			}
			continue;
		}
		start = r->r_buf + r->r_pos;
		nl = memchr(start, '\n', r->r_len - r->r_pos);
		if (nl != NULL && r->r_line.len == 0) {
			/* Whole in r_buf: no copy. */
			r->r_ldata = start;
			r->r_llen = nl - start;
			r->r_pos += nl - start + 1;
			*newline = 1;
			return (1);
		}
		if (nl != NULL) {
			buf_add(&r->r_line, start, nl - start);
			r->r_pos += nl - start + 1;
			r->r_ldata = r->r_line.data;
			r->r_llen = r->r_line.len;
			*newline = 1;
			return (1);
		}
		buf_add(&r->r_line, start, r->r_len - r->r_pos);
		r->r_pos = r->r_len;
	}
	*newline = 0;
	r->r_ldata = r->r_line.data;
	r->r_llen = r->r_line.len;
	return (r->r_line.len != 0);
}

/* Return 1 if a line holds only white space. */
static int
capture_blank(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return (0);
	}
	return (1);
}

/*
 * Read the next exchange into ex (set up here with exchange_init; the
 * caller frees it with exchange_free after 1).  Return 1, 0 at the end
 * (a torn last line is skipped with a warning), or -1 with cause
 * "FILE:LINE: what"; under lenient a malformed line is skipped.
 */
int
capture_reader_next(struct capture_reader *r, struct exchange *ex,
    char **cause)
{
	json_error_t	 err;
	json_t		*obj;
	char		*why;
	int		 newline, rc;

	for (;;) {
		if ((rc = capture_reader_line(r, &newline, cause)) != 1)
			return (rc);
		r->r_lineno++;
		if (capture_blank(r->r_ldata, r->r_llen))
			continue;
		exchange_init(ex, NULL);
		if (capture_fast_parse(r->r_ldata, r->r_llen, ex, r->r_skip,
		    &r->r_s, &r->r_hname) == 0) {
			r->r_exchanges++;
			return (1);
		}
		exchange_free(ex);
		log_debug("%s:%llu: read by the full JSON parser", r->r_name,
		    r->r_lineno);
		obj = json_loadb(r->r_ldata, r->r_llen, JSON_ALLOW_NUL, &err);
		/* -q: the reading commands say they keep these quiet. */
		if (obj == NULL && !newline) {
			if (!log_quiet)
				log_warnx("%s:%llu: skipping torn last line",
				    r->r_name, r->r_lineno);
			return (0);
		}
		why = NULL;
		if (obj == NULL) {
			xasprintf(&why, "invalid JSON at column %d: %s",
			    err.column, err.text);
		} else {
			exchange_init(ex, NULL);
			if (exchange_from_json(obj, ex, &why) == 0) {
				json_decref(obj);
				r->r_exchanges++;
				r->r_slow++;
				return (1);
			}
			exchange_free(ex);
			json_decref(obj);
		}
		/* A newer format is no malformed line to skip. */
		if (!r->r_lenient || strncmp(why, "capture format version",
		    22) == 0) {
			xasprintf(cause, "%s:%llu: %s", r->r_name, r->r_lineno,
			    why);
			free(why);
			return (-1);
		}
		if (!log_quiet)
			log_warnx("%s:%llu: %s (skipped)", r->r_name,
			    r->r_lineno, why);
		free(why);
	}
}

/*
 * Return the text of the line the last capture_reader_next read (without
 * its newline; valid until the next call) and its number in *lineno.
 */
const char *
capture_reader_text(struct capture_reader *r, size_t *len,
    unsigned long long *lineno)
{
	*len = r->r_llen;
	if (lineno != NULL)
		*lineno = r->r_lineno;
	return (r->r_ldata);
}

/* Close a capture reader. */
void
capture_reader_close(struct capture_reader *r)
{
	if (r == NULL)
		return;
	log_info("%s: %llu exchange%s read from %llu line%s (%llu not by "
	    "the fast reader)", r->r_name, r->r_exchanges,
	    r->r_exchanges == 1 ? "" : "s", r->r_lineno,
	    r->r_lineno == 1 ? "" : "s", r->r_slow);
	if (r->r_mode == CAPTURE_IN_GZIP)
		inflateEnd(&r->r_z);
	free(r->r_zin);
	close(r->r_fd);
	buf_free(&r->r_line);
	buf_free(&r->r_s);
	buf_free(&r->r_hname);
	free(r->r_buf);
	free(r->r_name);
	free(r);
}
