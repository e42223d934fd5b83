/*
 * The record engine: run a command with libparitytap-preload in
 * LD_PRELOAD, forward signals to it, wait, then import the pcaps the
 * library wrote (one per process: forked children write their own) into
 * a capture whose rows have source "record".
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "paritytap.h"


/* What the command's processes noted: what they could not record. */
struct record_noted {
	unsigned long long	 tls;		/* TLS connections not seen */
	unsigned long long	 unwritable;	/* processes without a file */
	char			*uids;		/* the first few of those */
};

/* A recording: its options and its private temp dir. */
struct record {
	const struct record_opts *opts;
	const char		*cmd;
	char			 dir[PATH_MAX];
	char			 notes[100];	/* the notes socket's name */
	int			 notes_fd;
	struct record_noted	 noted;
};

/* The command being recorded, for the signal handler. */
static volatile pid_t	record_child = -1;

/* Pass a signal on to the command; the terminal's reach it directly. */
static void
record_forward(int sig, siginfo_t *si, void *ctx)
{
	int	 saved = errno;

	/*
	 * A signal from the terminal (^C) goes to the whole process group,
	 * the command included: only signals sent by a process to
	 * paritytap itself are passed on, so the command gets each once.
	 */
	if (record_child > 0 && (si == NULL || si->si_code == SI_USER ||
	    si->si_code == SI_QUEUE || si->si_code == SI_TKILL))
		kill(record_child, sig);
	errno = saved;
}

/* Return the library's path (allocated), or NULL with cause. */
static char *
record_find_lib(char **cause)
{
	char		 self[PATH_MAX], *p, *lib;
	const char	*env;
	ssize_t		 n;

	if ((env = getenv("PARITYTAP_PRELOAD")) != NULL && *env != '\0') {
		if (access(env, R_OK) != 0) {
			xasprintf(cause, "PARITYTAP_PRELOAD=%s: %s", env,
			    strerror(errno));
			return (NULL);
		}
		return (xstrdup(env));
	}
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((p = strrchr(self, '/')) != NULL) {
			*p = '\0';
			xasprintf(&lib, "%s/.libs/%s", self, RECORD_LIB);
			if (access(lib, R_OK) == 0)
				return (lib);
			free(lib);
		}
	}
	xasprintf(&lib, "%s/%s", PKGLIBDIR, RECORD_LIB);
	if (access(lib, R_OK) == 0)
		return (lib);
	xasprintf(cause, "%s not found (set PARITYTAP_PRELOAD to its path)",
	    lib);
	free(lib);
	return (NULL);
}

/* Find a command as execvp would; return the path (allocated) or NULL. */
static char *
record_which(const char *cmd)
{
	const char	*path, *p, *end;
	char		*full;

	if (strchr(cmd, '/') != NULL)
		return (access(cmd, X_OK) == 0 ? xstrdup(cmd) : NULL);
	if ((path = getenv("PATH")) == NULL || *path == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; p = end + 1) {
		end = strchrnul(p, ':');
		xasprintf(&full, "%.*s%s%s", (int)(end - p), p,
		    end == p ? "" : "/", cmd);
		if (access(full, X_OK) == 0)
			return (full);
		free(full);
		if (*end == '\0')
			break;
	}
	return (NULL);
}

/* What an executable is, as far as LD_PRELOAD goes. */
#define RECORD_ELF_STATIC	0x1	/* no PT_INTERP */
#define RECORD_ELF_GO		0x2	/* a Go build id or buildinfo */

/* Read n bytes at off; return 0 or -1. */
static int
record_pread(int fd, void *buf, size_t n, off_t off)
{
	return (pread(fd, buf, n, off) == (ssize_t)n ? 0 : -1);
}

/*
 * Look at an ELF file's program headers (PT_INTERP) and section names
 * (.go.buildinfo, .note.go.buildid); return RECORD_ELF_* flags, or -1 if
 * it is not an ELF file this code reads.
 */
static int
record_elf(int fd)
{
	Elf64_Ehdr	 eh;
	Elf64_Phdr	 ph;
	Elf64_Shdr	 sh, strsh;
	char		 name[32];
	int		 flags = RECORD_ELF_STATIC;
	unsigned	 i;

	if (record_pread(fd, &eh, sizeof eh, 0) != 0 ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof ph || eh.e_shentsize != sizeof sh)
		return (-1);
	for (i = 0; i < eh.e_phnum; i++) {
		if (record_pread(fd, &ph, sizeof ph, eh.e_phoff +
		    (off_t)i * sizeof ph) != 0)
			return (-1);
		if (ph.p_type == PT_INTERP)
			flags &= ~RECORD_ELF_STATIC;
	}
	if (eh.e_shnum == 0 || eh.e_shstrndx >= eh.e_shnum ||
	    record_pread(fd, &strsh, sizeof strsh, eh.e_shoff +
	    (off_t)eh.e_shstrndx * sizeof sh) != 0)
		return (flags);
	for (i = 0; i < eh.e_shnum; i++) {
		if (record_pread(fd, &sh, sizeof sh, eh.e_shoff +
		    (off_t)i * sizeof sh) != 0 || sh.sh_name >= strsh.sh_size)
			continue;
		memset(name, 0, sizeof name);
		if (pread(fd, name, sizeof name - 1, strsh.sh_offset +
		    sh.sh_name) <= 0)
			continue;
		if (strcmp(name, ".go.buildinfo") == 0 ||
		    strcmp(name, ".note.go.buildid") == 0)
			flags |= RECORD_ELF_GO;
	}
	return (flags);
}

/*
 * Warn about a command whose traffic the library cannot see: a Go or
 * statically linked program, or a set-id one (the loader drops
 * LD_PRELOAD for it).  A script is judged by its interpreter.
 */
static void
record_check_cmd(const char *cmd, int depth)
{
	struct stat	 st;
	char		*path, line[256], *p, *q;
	ssize_t		 n;
	int		 fd, flags;

	if ((path = record_which(cmd)) == NULL)
		return;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) != 0)
		goto out;
	if (((st.st_mode & S_ISUID) && st.st_uid != geteuid()) ||
	    ((st.st_mode & S_ISGID) && st.st_gid != getegid()))
		log_warnx("record: %s is set-user-ID or set-group-ID: the "
		    "loader ignores LD_PRELOAD for it and its traffic will "
		    "not be recorded", path);
	n = pread(fd, line, sizeof line - 1, 0);
	if (n > 2 && line[0] == '#' && line[1] == '!' && depth == 0) {
		line[n] = '\0';
		p = line + 2 + strspn(line + 2, " \t");
		q = p + strcspn(p, " \t\n");
		*q = '\0';
		if (*p != '\0')
			record_check_cmd(p, depth + 1);
		goto out;
	}
	if ((flags = record_elf(fd)) == -1)
		goto out;
	if (flags & RECORD_ELF_GO)
		log_warnx("record: %s is a Go program: Go makes its system "
		    "calls itself, so LD_PRELOAD cannot see its traffic; use "
		    "paritytap proxy or paritytap sniff to record it", path);
	else if (flags & RECORD_ELF_STATIC)
		log_warnx("record: %s is statically linked: LD_PRELOAD cannot "
		    "see its traffic; use paritytap proxy or paritytap sniff "
		    "to record it", path);
out:
	if (fd != -1)
		close(fd);
	free(path);
}

/*
 * Let every process of the command write its own file, whatever its uid:
 * a server started as root whose workers run as nobody or www-data writes
 * from those.  The directory is mode 1733, as /tmp is but not listable:
 * any user can create a file in it, none but its owner can list it, and
 * the sticky bit keeps a user from removing or replacing another's file;
 * the library creates its files 0600, so a worker cannot read the
 * records of another uid.  Return 0, or -1 after a warning.
 */
static int
record_share_dir(struct record *rc)
{
	if (chmod(rc->dir, 01733) != 0) {
		log_warn("record: %s", rc->dir);
		return (-1);
	}
	return (0);
}

/*
 * Listen for the library's notes (what a process could not record) on an
 * abstract Unix datagram socket: every process can send to it whatever
 * its uid and whether or not it can reach the directory.  Return 0, or -1
 * after a warning.
 */
static int
record_listen(struct record *rc)
{
	struct sockaddr_un	 sun;
	const char		*base;
	size_t			 len;

	base = strrchr(rc->dir, '/');
	base = base == NULL ? rc->dir : base + 1;
	len = (size_t)snprintf(rc->notes, sizeof rc->notes, "%s.%ld", base,
	    (long)getpid());
	if (len >= sizeof rc->notes || len + 1 > sizeof sun.sun_path) {
		log_warnx("record: %s: name too long", rc->dir);
		return (-1);
	}
	rc->notes_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (rc->notes_fd == -1) {
		log_warn("record: socket");
		return (-1);
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path + 1, rc->notes, len);
	if (bind(rc->notes_fd, (struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len)) !=
	    0) {
		log_warn("record: bind @%s", rc->notes);
		close(rc->notes_fd);
		rc->notes_fd = -1;
		return (-1);
	}
	return (0);
}

/*
 * Keep only the regular files of a glob: a process of another uid could
 * leave a symbolic link there, which this process must not follow.
 */
static void
record_regular(glob_t *g)
{
	struct stat	 sb;
	size_t		 i, n = 0;

	for (i = 0; i < g->gl_pathc; i++) {
		if (lstat(g->gl_pathv[i], &sb) == 0 && S_ISREG(sb.st_mode))
			g->gl_pathv[n++] = g->gl_pathv[i];
		else
			free(g->gl_pathv[i]);
	}
	g->gl_pathc = n;
	g->gl_pathv[n] = NULL;
}

/*
 * Read the notes waiting on the socket.  This runs while the command
 * runs too: the library's sends do not wait, and a queue left full would
 * lose the notes that come after.
 */
static void
record_drain(struct record *rc)
{
	struct record_noted	*n = &rc->noted;
	char			 line[128], what[32], *s;
	long			 pid, value;
	ssize_t			 len;

	if (rc->notes_fd == -1)
		return;
	while ((len = recv(rc->notes_fd, line, sizeof line - 1,
	    MSG_DONTWAIT)) >= 0) {
		line[len] = '\0';
		if (sscanf(line, "%31s %ld %ld", what, &pid, &value) != 3)
			continue;
		if (strcmp(what, "tls") == 0 && value > 0)
			n->tls += (unsigned long long)value;
		else if (strcmp(what, "unwritable") == 0) {
			n->unwritable++;
			if (n->unwritable > 8)
				continue;
			xasprintf(&s, "%s%sprocess %ld (uid %ld)",
			    n->uids == NULL ? "" : n->uids,
			    n->uids == NULL ? "" : ", ", pid, value);
			free(n->uids);
			n->uids = s;
		}
	}
}

/*
 * Say what was not recorded: TLS connections made by a library the
 * recorder does not interpose (GnuTLS, an OpenSSL linked into the
 * program), processes whose uid could not write their file.
 */
static void
record_notes(struct record *rc)
{
	struct record_noted	*n = &rc->noted;

	record_drain(rc);
	if (n->tls != 0)
		log_warnx("record: %llu TLS connection%s of %s: TLS traffic "
		    "through a library the recorder does not interpose "
		    "(only OpenSSL's libssl, linked dynamically, is): not "
		    "recorded", n->tls, n->tls == 1 ? "" : "s", rc->cmd);
	if (n->unwritable != 0)
		log_warnx("record: %s%s could not create %s file in %s: %s "
		    "traffic was not recorded", n->uids,
		    n->unwritable > 8 ? " and others" : "",
		    n->unwritable == 1 ? "its" : "their", rc->dir,
		    n->unwritable == 1 ? "its" : "their");
}

/* Remove the private directory and what is in it. */
static void
record_cleanup(struct record *rc)
{
	glob_t	 g;
	char	*pat;
	size_t	 i;

	if (rc->dir[0] == '\0')
		return;
	xasprintf(&pat, "%s/*", rc->dir);
	memset(&g, 0, sizeof g);
	if (glob(pat, 0, NULL, &g) == 0) {
		for (i = 0; i < g.gl_pathc; i++)
			unlink(g.gl_pathv[i]);
	}
	globfree(&g);
	free(pat);
	rmdir(rc->dir);
	rc->dir[0] = '\0';
}

/* Set the child's environment: the library and its configuration. */
static void
record_env(const char *lib, struct record *rc)
{
	const char	*prev;
	char		*env, *out;

	xasprintf(&out, "%s/rec", rc->dir);
	setenv("PARITYTAP_PRELOAD_OUT", out, 1);
	free(out);
	setenv("PARITYTAP_PRELOAD_NOTES", rc->notes, 1);
	if (rc->opts->ports != NULL)
		setenv("PARITYTAP_PRELOAD_PORTS", rc->opts->ports, 1);
	else
		unsetenv("PARITYTAP_PRELOAD_PORTS");
	if (rc->opts->max_bytes != 0) {
		xasprintf(&env, "%llu", (unsigned long long)rc->opts->max_bytes);
		setenv("PARITYTAP_PRELOAD_MAX_BYTES", env, 1);
		free(env);
	} else
		unsetenv("PARITYTAP_PRELOAD_MAX_BYTES");
	if ((prev = getenv("LD_PRELOAD")) != NULL && *prev != '\0')
		xasprintf(&env, "%s:%s", prev, lib);
	else
		env = xstrdup(lib);
	setenv("LD_PRELOAD", env, 1);
	free(env);
}

/* Run the command; return its wait status, or -1 if it could not run. */
static int
record_spawn(char **argv, const char *lib, struct record *rc)
{
	struct sigaction	 sa, old[6];
	static const int	 sigs[6] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
				    SIGUSR1, SIGUSR2 };
	sigset_t		 block, oldmask;
	struct pollfd		 pfds[2];
	pid_t			 pid;
	int			 status = -1, i, pfd[2], err, pidfd;
	ssize_t			 n;

	/* The child reports a failed exec through a close-on-exec pipe. */
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		log_warn("record: pipe");
		return (-1);
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = record_forward;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (i = 0; i < 6; i++) {
		sigaction(sigs[i], &sa, &old[i]);
		sigaddset(&block, sigs[i]);
	}
	/*
	 * A signal that comes between fork and record_child being set would
	 * find no command to pass it to: hold them until it is set.
	 */
	sigprocmask(SIG_BLOCK, &block, &oldmask);
	fflush(NULL);
	switch ((pid = fork())) {
	case -1:
		log_warn("record: fork");
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
		close(pfd[0]);
		close(pfd[1]);
		goto out;
	case 0:
		for (i = 0; i < 6; i++)
			sigaction(sigs[i], &old[i], NULL);
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
		close(pfd[0]);
		record_env(lib, rc);
		execvp(argv[0], argv);
		err = errno;
		(void)!write(pfd[1], &err, sizeof err);
		_exit(127);
	}
	record_child = pid;
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	close(pfd[1]);
	while ((n = read(pfd[0], &err, sizeof err)) == -1 && errno == EINTR)
		;
	close(pfd[0]);
	/*
	 * Read the notes as they come, waking when the command exits (its
	 * pidfd is readable then); without a pidfd, they are read at the end.
	 */
	pidfd = -1;
#ifdef SYS_pidfd_open
	if (rc->notes_fd != -1)
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	for (;;) {
		if (pidfd != -1) {
			pfds[0].fd = pidfd;
			pfds[0].events = POLLIN;
			pfds[1].fd = rc->notes_fd;
			pfds[1].events = POLLIN;
			pfds[0].revents = pfds[1].revents = 0;
			if (poll(pfds, 2, -1) > 0 && (pfds[1].revents & POLLIN))
				record_drain(rc);
			if (!(pfds[0].revents & POLLIN))
				continue;
		}
		if (waitpid(pid, &status, 0) == pid)
			break;
		if (errno != EINTR) {
			log_warn("record: waitpid");
			status = -1;
			break;
		}
	}
	if (pidfd != -1)
		close(pidfd);
	record_child = -1;
	if (n == sizeof err) {
		log_warnx("record: %s: %s", argv[0], strerror(err));
		status = -1;
	}
out:
	for (i = 0; i < 6; i++)
		sigaction(sigs[i], &old[i], NULL);
	return (status);
}

/*
 * Merge the per-process pcaps into one file in time order; return 0, or
 * -1 with cause.
 */
static int
record_merge(char **files, size_t nfiles, const char *path, char **cause)
{
	char			 err[PCAP_ERRBUF_SIZE];
	pcap_t			**in, *dead = NULL;
	pcap_dumper_t		*d = NULL;
	struct pcap_pkthdr	**hdr;
	const u_char		**data;
	size_t			 i, best;
	int			 rc = -1, fd;

	in = xcalloc(nfiles, sizeof *in);
	hdr = xcalloc(nfiles, sizeof *hdr);
	data = xcalloc(nfiles, sizeof *data);
	for (i = 0; i < nfiles; i++) {
		if ((in[i] = pcap_open_offline(files[i], err)) == NULL) {
			xasprintf(cause, "%s: %s", files[i], err);
			goto out;
		}
		if (pcap_next_ex(in[i], &hdr[i], &data[i]) != 1)
			hdr[i] = NULL;
	}
	dead = pcap_open_dead(nfiles > 0 ? pcap_datalink(in[0]) : DLT_EN10MB,
	    262144);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1) {
		xasprintf(cause, "--pcap %s: %s", path, strerror(errno));
		goto out;
	}
	if ((d = pcap_dump_fopen(dead, fdopen(fd, "w"))) == NULL) {
		xasprintf(cause, "--pcap %s: %s", path, pcap_geterr(dead));
		close(fd);
		goto out;
	}
	for (;;) {
		best = nfiles;
		for (i = 0; i < nfiles; i++) {
			if (hdr[i] == NULL)
				continue;
			if (best == nfiles || timercmp(&hdr[i]->ts,
			    &hdr[best]->ts, <))
				best = i;
		}
		if (best == nfiles)
			break;
		pcap_dump((u_char *)d, hdr[best], data[best]);
		if (pcap_next_ex(in[best], &hdr[best], &data[best]) != 1)
			hdr[best] = NULL;
	}
	if (pcap_dump_flush(d) != 0) {
		xasprintf(cause, "--pcap %s: write error", path);
		goto out;
	}
	rc = 0;
out:
	if (d != NULL)
		pcap_dump_close(d);
	if (dead != NULL)
		pcap_close(dead);
	for (i = 0; i < nfiles; i++) {
		if (in[i] != NULL)
			pcap_close(in[i]);
	}
	free(in);
	free(hdr);
	free(data);
	return (rc);
}

/*
 * Sum the library's counters (each process keeps its own file current as
 * they change, so one killed by a signal has them too) and say what they
 * are; warn if records were lost.
 */
static void
record_stats(struct record *rc)
{
	glob_t			 g;
	char			*pat, line[128];
	unsigned long long	 v, packets = 0, dropped = 0, errors = 0;
	unsigned long long	 cut = 0;
	FILE			*f;
	size_t			 i, nproc = 0;

	xasprintf(&pat, "%s/rec.*.stats", rc->dir);
	memset(&g, 0, sizeof g);
	if (glob(pat, 0, NULL, &g) == 0) {
		record_regular(&g);
		for (i = 0; i < g.gl_pathc; i++) {
			if ((f = fopen(g.gl_pathv[i], "r")) == NULL)
				continue;
			nproc++;
			while (fgets(line, sizeof line, f) != NULL) {
				if (sscanf(line, "packets %llu", &v) == 1)
					packets += v;
				else if (sscanf(line, "dropped %llu", &v) == 1)
					dropped += v;
				else if (sscanf(line, "write_errors %llu",
				    &v) == 1)
					errors += v;
				else if (sscanf(line, "truncated_bytes %llu",
				    &v) == 1)
					cut += v;
			}
			fclose(f);
		}
	}
	globfree(&g);
	free(pat);
	if (nproc != 0)
		log_warnx("record: %zu process%s wrote %llu records; %llu "
		    "lost to a busy lock, %llu lost to write errors", nproc,
		    nproc == 1 ? "" : "es", packets, dropped, errors);
	if (dropped != 0 || errors != 0)
		log_warnx("record: %llu records dropped (busy), %llu not "
		    "written: the capture may miss exchanges", dropped,
		    errors);
	if (cut != 0)
		log_warnx("record: %llu bytes over --max-body not recorded",
		    cut);
}

/*
 * Import the pcaps as paritytap import would (source record), into a
 * file in the private directory; return 0 or -1.
 */
static int
record_import(struct record *rc, char **files, size_t nfiles,
    const char *capture)
{
	struct import_opts	 io;
	const char		*p;
	char			*end;
	uint16_t		 port;
	size_t			 i;

	memset(&io, 0, sizeof io);
	io.output = capture;
	io.source = "record";
	io.command = "record";
	io.max_body = DEFAULT_MAX_BODY;
	io.cap.keep_secrets = rc->opts->keep_secrets;
	io.cap.raw_bodies = rc->opts->raw_bodies;
	io.quiet = rc->opts->quiet;
	for (p = rc->opts->ports; p != NULL && *p != '\0'; p = end) {
		port = (uint16_t)strtoul(p, &end, 10);
		if (*end == ',')
			end++;
		for (i = 0; i < io.nports && io.ports[i] != port; i++)
			/* nothing */;
		if (i == io.nports && io.nports < IMPORT_MAX_PORTS)
			io.ports[io.nports++] = port;
	}
	if (import_run(&io, files, (int)nfiles) != EXIT_OK) {
		log_warnx("record: paritytap import failed");
		return (-1);
	}
	return (0);
}

/* Copy the imported capture to the output; return 0, or -1 with cause. */
static int
record_output(const char *from, const char *to, char **cause)
{
	FILE			*in, *out;
	char			 b[65536];
	size_t			 n;
	int			 fd, rc = -1;

	if ((in = fopen(from, "r")) == NULL) {
		xasprintf(cause, "%s: %s", from, strerror(errno));
		return (-1);
	}
	if (to == NULL || strcmp(to, "-") == 0)
		out = stdout;
	else {
		fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd == -1 || (out = fdopen(fd, "w")) == NULL) {
			xasprintf(cause, "--output %s: %s", to,
			    strerror(errno));
			if (fd != -1)
				close(fd);
			fclose(in);
			return (-1);
		}
	}
	while ((n = fread(b, 1, sizeof b, in)) != 0)
		fwrite(b, 1, n, out);
	if (ferror(in)) {
		xasprintf(cause, "%s: %s", from, strerror(errno));
		goto out;
	}
	if (fflush(out) != 0 || ferror(out)) {
		xasprintf(cause, "--output %s: %s", to == NULL ? "-" : to,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	fclose(in);
	if (out != stdout)
		fclose(out);
	return (rc);
}

/*
 * Run argv (the command and its arguments) under the recorder, then write
 * the capture; return the exit status (the command's, or 3).
 */
int
record_run(const struct record_opts *ro, char **argv)
{
	struct record	 rc;
	glob_t		 g;
	const char	*tmp;
	char		*lib = NULL, *cause = NULL, *pat = NULL;
	char		*capture = NULL;
	int		 status, exit_status;

	memset(&rc, 0, sizeof rc);
	memset(&g, 0, sizeof g);
	rc.opts = ro;
	rc.cmd = argv[0];
	rc.notes_fd = -1;
	if ((lib = record_find_lib(&cause)) == NULL) {
		log_warnx("record: %s", cause);
		exit_status = EXIT_RUNTIME;
		goto out;
	}
	if (!ro->quiet)
		record_check_cmd(argv[0], 0);

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	if ((size_t)snprintf(rc.dir, sizeof rc.dir,
	    "%s/paritytap-record.XXXXXX", tmp) >= sizeof rc.dir ||
	    mkdtemp(rc.dir) == NULL) {
		log_warn("record: cannot make a directory in %s", tmp);
		rc.dir[0] = '\0';
		exit_status = EXIT_RUNTIME;
		goto out;
	}

	if (record_share_dir(&rc) != 0 || record_listen(&rc) != 0) {
		exit_status = EXIT_RUNTIME;
		goto out;
	}

	log_info("record: running %s with %s, its files in %s", argv[0], lib,
	    rc.dir);
	if ((status = record_spawn(argv, lib, &rc)) == -1) {
		exit_status = EXIT_RUNTIME;
		goto out;
	}
	if (WIFSIGNALED(status)) {
		exit_status = 128 + WTERMSIG(status);
		log_info("record: %s ended by signal %d", argv[0],
		    WTERMSIG(status));
	} else {
		exit_status = WEXITSTATUS(status);
		log_info("record: %s exited %d", argv[0], exit_status);
	}

	if (!ro->quiet) {
		record_stats(&rc);
		record_notes(&rc);
	}
	xasprintf(&pat, "%s/rec.*.pcap", rc.dir);
	switch (glob(pat, 0, NULL, &g)) {
	case 0:
		record_regular(&g);
		if (g.gl_pathc != 0)
			break;
		/* FALLTHROUGH */
	case GLOB_NOMATCH:
		if (!ro->quiet && rc.noted.tls == 0 &&
		    rc.noted.unwritable == 0)
			log_warnx("record: no TCP traffic of %s was "
			    "recorded", argv[0]);
		g.gl_pathc = 0;
		break;
	default:
		log_warnx("record: cannot list %s", rc.dir);
		exit_status = EXIT_RUNTIME;
		goto out;
	}
	if (ro->pcap != NULL &&
	    record_merge(g.gl_pathv, g.gl_pathc, ro->pcap, &cause) != 0) {
		log_warnx("record: %s", cause);
		if (exit_status == EXIT_OK)
			exit_status = EXIT_RUNTIME;
		goto out;
	}
	xasprintf(&capture, "%s/capture.jsonl", rc.dir);
	log_info("record: importing %zu pcap file%s", (size_t)g.gl_pathc,
	    g.gl_pathc == 1 ? "" : "s");
	if (g.gl_pathc == 0) {
		/* Nothing to import: an empty capture. */
		close(open(capture, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0600));
	} else if (record_import(&rc, g.gl_pathv, g.gl_pathc, capture) != 0) {
		if (exit_status == EXIT_OK)
			exit_status = EXIT_RUNTIME;
		goto out;
	}
	if (record_output(capture, ro->output, &cause) != 0) {
		log_warnx("record: %s", cause);
		if (exit_status == EXIT_OK)
			exit_status = EXIT_RUNTIME;
	}
out:
	if (pat != NULL)
		globfree(&g);
	if (rc.notes_fd != -1)
		close(rc.notes_fd);
	free(rc.noted.uids);
	record_cleanup(&rc);
	free(capture);
	free(pat);
	free(cause);
	free(lib);
	return (exit_status);
}

