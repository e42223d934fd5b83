/*
 * libparitytap-preload: OpenSSL.  What SSL_read and SSL_write return and
 * accept is recorded as the connection's bytes; the ciphertext under
 * them is not.
 */

#include "preload-internal.h"

/* The interposed functions no header declares. */
PT_EXPORT int		SSL_read(void *, void *, int);
PT_EXPORT int		SSL_write(void *, const void *, int);
PT_EXPORT int		SSL_read_ex(void *, void *, size_t, size_t *);
PT_EXPORT int		SSL_write_ex(void *, const void *, size_t, size_t *);
PT_EXPORT int		SSL_connect(void *);
PT_EXPORT int		SSL_accept(void *);
PT_EXPORT int		SSL_do_handshake(void *);

static int	(*real_SSL_read)(void *, void *, int);
static int	(*real_SSL_write)(void *, const void *, int);
static int	(*real_SSL_read_ex)(void *, void *, size_t, size_t *);
static int	(*real_SSL_write_ex)(void *, const void *, size_t, size_t *);
static int	(*real_SSL_get_fd)(const void *);
static int	(*real_SSL_connect)(void *);
static int	(*real_SSL_accept)(void *);
static int	(*real_SSL_do_handshake)(void *);

/* SSL -> fd, for SSL calls that made no socket I/O of their own. */
#define PT_SSLMAP	512
static struct {
	void		*ssl;
	int		 fd;
}			 pt_sslmap[PT_SSLMAP];
static volatile int	 pt_sslmap_lock;

/*
 * Resolve an OpenSSL function.  libssl may not be in the global scope: a
 * Python extension module, say, is dlopen'd with RTLD_LOCAL and brings
 * libssl along, and RTLD_NEXT does not see it; it is loaded, though, since
 * the caller called through it, and dlopen with RTLD_NOLOAD finds it.
 */
static void *
pt_ssl_sym(const char *name)
{
	static const char	*sonames[] = { "libssl.so.3", "libssl.so.1.1",
				    "libssl.so", NULL };
	void			*p, *h;
	int			 i;

	if ((p = dlsym(RTLD_NEXT, name)) != NULL)
		return (p);
	for (i = 0; sonames[i] != NULL && p == NULL; i++) {
		if ((h = dlopen(sonames[i], RTLD_LAZY | RTLD_NOLOAD)) == NULL)
			continue;
		p = dlsym(h, name);
		dlclose(h);
	}
	return (p);
}

/* Resolve a real OpenSSL function once. */
#define PT_REAL_SSL(name) do {						\
	if (real_##name == NULL)					\
		*(void **)&real_##name = pt_ssl_sym(#name);		\
} while (0)

/* Remember (or, with fd -1, look up) the socket of an SSL. */
static int
pt_sslmap_fd(void *ssl, int fd)
{
	size_t	 h, i, slot;
	int	 found = -1;

	h = ((uintptr_t)ssl >> 4) % PT_SSLMAP;
	if (!pt_trylock(&pt_sslmap_lock))
		return (fd);
	for (i = 0; i < 8; i++) {
		slot = (h + i) % PT_SSLMAP;
		if (pt_sslmap[slot].ssl == ssl) {
			if (fd == -1)
				found = pt_sslmap[slot].fd;
			else
				pt_sslmap[slot].fd = fd;
			goto out;
		}
	}
	if (fd != -1) {
		for (i = 0; i < 8; i++) {
			slot = (h + i) % PT_SSLMAP;
			if (pt_sslmap[slot].ssl == NULL)
				break;
		}
		if (i == 8)
			slot = h;	/* evict the first */
		pt_sslmap[slot].ssl = ssl;
		pt_sslmap[slot].fd = fd;
	}
out:
	pt_unlock(&pt_sslmap_lock);
	return (fd != -1 ? fd : found);
}

/*
 * The socket fd of an SSL (from SSL_get_fd, else the socket the call
 * used, else the one it used last time), marked TLS so that its
 * ciphertext is never recorded; -1 when none is known.
 */
static int
pt_ssl_fd(void *ssl, int seen)
{
	struct pt_stream	*st;
	int			 fd = -1;

	PT_REAL_SSL(SSL_get_fd);
	if (real_SSL_get_fd != NULL)
		fd = real_SSL_get_fd(ssl);
	if (fd < 0)
		fd = seen;
	fd = pt_sslmap_fd(ssl, fd >= 0 ? fd : -1);
	if (fd < 0) {
		PT_COUNT(ssl_no_fd, 1);
		return (-1);
	}
	if ((st = pt_stream_get(fd, 1)) == NULL)
		return (-1);
	if (pt_trylock(&st->lock)) {
		if (st->kind == PT_UNKNOWN)
			pt_classify(fd, st);
		if (st->kind == PT_TCP && !st->tls) {
			/*
			 * Ciphertext recorded before the first SSL call
			 * (a handshake that did not look like one) is
			 * ended as a stream of its own.
			 */
			if (st->socket_data) {
				pt_finish(st);
				st->started = 0;
				st->local_seq = st->peer_seq = 0;
				st->bytes = 0;
				st->socket_data = 0;
			}
			st->tls = 1;
		} else if (st->kind == PT_TCP && st->tls == 2)
			st->tls = 1;	/* the handshake was OpenSSL's */
		pt_unlock(&st->lock);
	}
	return (fd);
}

/* Record plaintext of an SSL connection. */
static void
pt_ssl_record(void *ssl, int seen, int out, const void *buf, size_t len)
{
	struct pt_stream	*st;
	struct iovec		 iov;
	int			 fd;

	pt_depth++;
	if ((fd = pt_ssl_fd(ssl, seen)) == -1 ||
	    (st = pt_stream_get(fd, 0)) == NULL)
		goto out;
	if (!pt_trylock(&st->lock)) {
		PT_COUNT(dropped, 1);
		PT_COUNT(dropped_bytes, len);
		goto out;
	}
	if (st->kind == PT_TCP && st->tls) {
		iov.iov_base = (void *)buf;
		iov.iov_len = len;
		pt_data(st, out, &iov, 1, len);
	}
	pt_unlock(&st->lock);
out:
	pt_depth--;
}

/*
 * The SSL_* wrappers hold the depth counter over the real call: the
 * socket reads and writes OpenSSL makes inside it are ciphertext.
 */
PT_EXPORT int
SSL_read(void *ssl, void *buf, int num)
{
	int	 n, saved, seen, on = pt_on();

	PT_REAL_SSL(SSL_read);
	if (real_SSL_read == NULL)
		return (-1);
	pt_flush();
	pt_depth++;
	pt_in_ssl++;
	pt_ssl_seen = -1;
	n = real_SSL_read(ssl, buf, num);
	seen = pt_ssl_seen;
	pt_in_ssl--;
	pt_depth--;
	if (n > 0 && on) {
		saved = errno;
		pt_ssl_record(ssl, seen, 0, buf, (size_t)n);
		errno = saved;
	}
	return (n);
}

PT_EXPORT int
SSL_write(void *ssl, const void *buf, int num)
{
	int	 n, saved, seen, on = pt_on();

	PT_REAL_SSL(SSL_write);
	if (real_SSL_write == NULL)
		return (-1);
	pt_flush();
	pt_depth++;
	pt_in_ssl++;
	pt_ssl_seen = -1;
	n = real_SSL_write(ssl, buf, num);
	seen = pt_ssl_seen;
	pt_in_ssl--;
	pt_depth--;
	if (n > 0 && on) {
		saved = errno;
		pt_ssl_record(ssl, seen, 1, buf, (size_t)n);
		errno = saved;
	}
	return (n);
}

PT_EXPORT int
SSL_read_ex(void *ssl, void *buf, size_t num, size_t *readbytes)
{
	int	 rc, saved, seen, on = pt_on();

	PT_REAL_SSL(SSL_read_ex);
	if (real_SSL_read_ex == NULL)
		return (0);
	pt_flush();
	pt_depth++;
	pt_in_ssl++;
	pt_ssl_seen = -1;
	rc = real_SSL_read_ex(ssl, buf, num, readbytes);
	seen = pt_ssl_seen;
	pt_in_ssl--;
	pt_depth--;
	if (rc == 1 && on && readbytes != NULL && *readbytes > 0) {
		saved = errno;
		pt_ssl_record(ssl, seen, 0, buf, *readbytes);
		errno = saved;
	}
	return (rc);
}

PT_EXPORT int
SSL_write_ex(void *ssl, const void *buf, size_t num, size_t *written)
{
	int	 rc, saved, seen, on = pt_on();

	PT_REAL_SSL(SSL_write_ex);
	if (real_SSL_write_ex == NULL)
		return (0);
	pt_flush();
	pt_depth++;
	pt_in_ssl++;
	pt_ssl_seen = -1;
	rc = real_SSL_write_ex(ssl, buf, num, written);
	seen = pt_ssl_seen;
	pt_in_ssl--;
	pt_depth--;
	if (rc == 1 && on && written != NULL && *written > 0) {
		saved = errno;
		pt_ssl_record(ssl, seen, 1, buf, *written);
		errno = saved;
	}
	return (rc);
}

/*
 * The handshake: the socket it runs on is marked as OpenSSL's, so that a
 * connection that ends before any SSL_read or SSL_write (a certificate
 * refused, say) is not reported as TLS through a library the recorder
 * does not interpose.  Its bytes are ciphertext: not recorded.
 */
static int
pt_ssl_handshake(int (*fn)(void *), void *ssl)
{
	int	 rc, saved, seen, on = pt_on();

	pt_flush();
	pt_depth++;
	pt_in_ssl++;
	pt_ssl_seen = -1;
	rc = fn(ssl);
	seen = pt_ssl_seen;
	pt_in_ssl--;
	if (on) {
		saved = errno;
		(void)pt_ssl_fd(ssl, seen);
		errno = saved;
	}
	pt_depth--;
	return (rc);
}

PT_EXPORT int
SSL_connect(void *ssl)
{
	PT_REAL_SSL(SSL_connect);
	if (real_SSL_connect == NULL)
		return (-1);
	return (pt_ssl_handshake(real_SSL_connect, ssl));
}

PT_EXPORT int
SSL_accept(void *ssl)
{
	PT_REAL_SSL(SSL_accept);
	if (real_SSL_accept == NULL)
		return (-1);
	return (pt_ssl_handshake(real_SSL_accept, ssl));
}

PT_EXPORT int
SSL_do_handshake(void *ssl)
{
	PT_REAL_SSL(SSL_do_handshake);
	if (real_SSL_do_handshake == NULL)
		return (-1);
	return (pt_ssl_handshake(real_SSL_do_handshake, ssl));
}
