/*
 * The server side of TLS: the certificate and key a listener presents
 * (--tls-cert/--tls-key on the proxy's --listen, --admin-tls-cert/
 * --admin-tls-key on --admin), and their reload on SIGHUP.
 *
 * A reload builds a whole new context from the same paths and swaps it in
 * only once the certificate, the key and their match are checked, so a
 * half-written or mismatched pair never reaches a client: the old one goes
 * on serving and the warning says which file was wrong.  Each connection's
 * SSL holds a reference to the context it was made from, so connections
 * already established keep their certificate.  The admin listener makes
 * its connections on its own thread: the swap and SSL_new take a lock.
 */

#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "paritytap.h"

struct tls_server {
	char		*ts_cert_opt;	/* "--tls-cert", for messages */
	char		*ts_key_opt;
	char		*ts_cert;
	char		*ts_key;
	pthread_mutex_t	 ts_lock;
	SSL_CTX		*ts_ctx;
};

/* The protocols offered over ALPN: HTTP/1.1 alone. */
static const unsigned char tls_server_alpn[] = "\x08http/1.1";

/*
 * The client asked for ALPN: http/1.1 if it offers it, else the
 * no_application_protocol alert (RFC 7301, 3.2), as nginx does; a client
 * that offers only h2 would otherwise speak a protocol the proxy cannot
 * read.
 */
static int
tls_server_alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char	*sel;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, tls_server_alpn,
	    sizeof tls_server_alpn - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return (SSL_TLSEXT_ERR_ALERT_FATAL);
	*out = sel;
	return (SSL_TLSEXT_ERR_OK);
}

/* An encrypted key would make OpenSSL prompt on the terminal: refuse it. */
static int
tls_server_no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return (-1);
}

/*
 * OpenSSL's reason for the failure, its queue emptied: the first one
 * queued, the most precise ("no start line", where the last says only
 * "PEM lib").  *mismatch is set for a key that is not the certificate's.
 */
static const char *
tls_server_reason_mismatch(int *mismatch)
{
	unsigned long	 e, first = 0;
	const char	*r;

	while ((e = ERR_get_error()) != 0) {
		if (first == 0)
			first = e;
		if (mismatch != NULL && ERR_GET_LIB(e) == ERR_LIB_X509 &&
		    ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH)
			*mismatch = 1;
	}
	if (first == 0 || (r = ERR_reason_error_string(first)) == NULL)
		return ("unknown error");
	return (r);
}

static const char *
tls_server_reason(void)
{
	return (tls_server_reason_mismatch(NULL));
}

/* Can FILE be opened?  OpenSSL's own message for a missing file is vague. */
static int
tls_server_readable(const char *opt, const char *path, char **cause)
{
	struct stat	 sb;
	FILE		*f;

	if ((f = fopen(path, "r")) == NULL) {
		xasprintf(cause, "%s %s: %s", opt, path, strerror(errno));
		return (-1);
	}
	if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
		xasprintf(cause, "%s %s: %s", opt, path, strerror(EISDIR));
		fclose(f);
		return (-1);
	}
	fclose(f);
	return (0);
}

/* A new context for the certificate and key at the paths; NULL and cause. */
static SSL_CTX *
tls_server_ctx(struct tls_server *ts, char **cause)
{
	SSL_CTX		*ctx;
	const char	*reason;
	int		 mismatch = 0;

	if (tls_server_readable(ts->ts_cert_opt, ts->ts_cert, cause) != 0 ||
	    tls_server_readable(ts->ts_key_opt, ts->ts_key, cause) != 0)
		return (NULL);
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		xasprintf(cause, "SSL_CTX_new: %s", tls_server_reason());
		return (NULL);
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/*
	 * A renegotiation would start a handshake in the middle of the
	 * data the proxy relays, for nothing HTTP/1.1 needs.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_default_passwd_cb(ctx, tls_server_no_passphrase);
	SSL_CTX_set_alpn_select_cb(ctx, tls_server_alpn_cb, NULL);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"paritytap",
	    9);
	if (SSL_CTX_use_certificate_chain_file(ctx, ts->ts_cert) != 1) {
		xasprintf(cause, "%s %s: not a PEM certificate (%s)",
		    ts->ts_cert_opt, ts->ts_cert, tls_server_reason());
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, ts->ts_key, SSL_FILETYPE_PEM) !=
	    1) {
		reason = tls_server_reason_mismatch(&mismatch);
		if (mismatch)
			goto mismatch;
		xasprintf(cause, "%s %s: not an unencrypted PEM private key "
		    "(%s)", ts->ts_key_opt, ts->ts_key, reason);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
mismatch:
		ERR_clear_error();
		xasprintf(cause, "%s %s: the key does not match the "
		    "certificate in %s", ts->ts_key_opt, ts->ts_key,
		    ts->ts_cert);
		goto fail;
	}
	return (ctx);
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return (NULL);
}

/*
 * Check both or neither of a certificate and key option were given; opt
 * is the prefix ("--tls", "--admin-tls").  0, or -1 and cause.
 */
int
tls_server_check(const char *opt, const char *cert, const char *key,
    char **cause)
{
	if (cert != NULL && key == NULL) {
		xasprintf(cause, "%s-cert needs %s-key (the certificate's "
		    "private key)", opt, opt);
		return (-1);
	}
	if (cert == NULL && key != NULL) {
		xasprintf(cause, "%s-key needs %s-cert (the certificate the "
		    "key belongs to)", opt, opt);
		return (-1);
	}
	return (0);
}

/*
 * Load the certificate (PEM, the chain after it) and its key for a
 * listener; opt is the options' prefix ("--tls").  NULL and cause if
 * either cannot be read or they do not match.
 */
struct tls_server *
tls_server_new(const char *opt, const char *cert, const char *key,
    char **cause)
{
	struct tls_server	*ts;

	ts = xcalloc(1, sizeof *ts);
	xasprintf(&ts->ts_cert_opt, "%s-cert", opt);
	xasprintf(&ts->ts_key_opt, "%s-key", opt);
	ts->ts_cert = xstrdup(cert);
	ts->ts_key = xstrdup(key);
	if (pthread_mutex_init(&ts->ts_lock, NULL) != 0)
		fatal("pthread_mutex_init");
	if ((ts->ts_ctx = tls_server_ctx(ts, cause)) == NULL) {
		tls_server_free(ts);
		return (NULL);
	}
	return (ts);
}

/*
 * Read the certificate and key again (SIGHUP).  New connections get the
 * new ones; on failure the old ones stay and a warning says why.
 */
void
tls_server_reload(struct tls_server *ts)
{
	SSL_CTX	*ctx, *old;
	char	*cause;

	if (ts == NULL)
		return;
	if ((ctx = tls_server_ctx(ts, &cause)) == NULL) {
		log_warnx("%s: keeping the certificate loaded before", cause);
		free(cause);
		return;
	}
	pthread_mutex_lock(&ts->ts_lock);
	old = ts->ts_ctx;
	ts->ts_ctx = ctx;
	pthread_mutex_unlock(&ts->ts_lock);
	/* Connections made from it hold references of their own. */
	SSL_CTX_free(old);
	log_info("%s %s: certificate reloaded", ts->ts_cert_opt, ts->ts_cert);
}

/* An SSL for one accepted connection, from the current context; any thread. */
SSL *
tls_server_ssl(struct tls_server *ts)
{
	SSL	*ssl;

	pthread_mutex_lock(&ts->ts_lock);
	ssl = SSL_new(ts->ts_ctx);
	pthread_mutex_unlock(&ts->ts_lock);
	if (ssl == NULL)
		fatalx("SSL_new: %s", tls_server_reason());
	return (ssl);
}

/* Free the context (connections still open keep theirs). */
void
tls_server_free(struct tls_server *ts)
{
	if (ts == NULL)
		return;
	SSL_CTX_free(ts->ts_ctx);
	pthread_mutex_destroy(&ts->ts_lock);
	free(ts->ts_cert_opt);
	free(ts->ts_key_opt);
	free(ts->ts_cert);
	free(ts->ts_key);
	free(ts);
}
