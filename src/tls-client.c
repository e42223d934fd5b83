/*
 * TLS to the backends: the options of https:// backend URLs, and the
 * SSL_CTX each backend's pool makes its connections from.
 *
 * An option without a side (--ca-file) is every side's; one with a side
 * (--candidate-ca-file) is that side's only and wins over it.  Each pool
 * has its own SSL_CTX: the sides may trust other CAs and show other
 * client certificates, and each keeps its own session to resume.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "paritytap.h"

static const char *tls_keys[] = {
	"ca-file", "client-cert", "client-key", "sni"
};
#define TLS_NKEYS	(sizeof tls_keys / sizeof tls_keys[0])

/* The value of a side's key i. */
static const char *
tls_value(const struct tls_side *ts, size_t i)
{
	switch (i) {
	case 0:
		return (ts->ca_file);
	case 1:
		return (ts->client_cert);
	case 2:
		return (ts->client_key);
	default:
		return (ts->sni);
	}
}

/* The field of a side for key i, to set it. */
static const char **
tls_field(struct tls_side *ts, size_t i)
{
	switch (i) {
	case 0:
		return (&ts->ca_file);
	case 1:
		return (&ts->client_cert);
	case 2:
		return (&ts->client_key);
	default:
		return (&ts->sni);
	}
}

/*
 * Find the side and key of a TLS option's long name: *ts and *i; -1 if
 * it is not one.
 */
static int
tls_opts_find(struct tls_opts *to, const char *name, struct tls_side **ts,
    size_t *i)
{
	const char	*key = name;
	size_t		 n;
	int		 s;

	*ts = &to->all;
	for (s = 0; s < SIDE_MAX; s++) {
		n = strlen(side_name(s));
		if (strncmp(name, side_name(s), n) == 0 && name[n] == '-') {
			*ts = &to->side[s];
			key = name + n + 1;
			break;
		}
	}
	for (*i = 0; *i < TLS_NKEYS; (*i)++)
		if (strcmp(key, tls_keys[*i]) == 0)
			return (0);
	return (-1);
}

/* Is name a TLS option taking a value (--ca-file, --candidate-sni...)? */
int
tls_opts_name(const char *name)
{
	struct tls_opts	 to;
	struct tls_side	*ts;
	size_t		 i;

	return (tls_opts_find(&to, name, &ts, &i) == 0);
}

/*
 * Set the TLS option name (tls_opts_name) to value, which the caller
 * keeps for the life of the command; -1 with cause if it is not one.
 */
int
tls_opts_set(struct tls_opts *to, const char *name, const char *value,
    char **cause)
{
	struct tls_side	*ts;
	size_t		 i;

	if (tls_opts_find(to, name, &ts, &i) != 0)
		fatalx("%s: %s", __func__, name);
	if (*value == '\0') {
		xasprintf(cause, "--%s: empty", name);
		return (-1);
	}
	if (i == 3 && value[strspn(value, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")] != '\0') {
		xasprintf(cause, "--%s: '%s' is not a host name", name, value);
		return (-1);
	}
	*tls_field(ts, i) = value;
	return (0);
}

/* Was any option given that only an https:// backend uses? */
int
tls_opts_any(const struct tls_opts *to)
{
	size_t		 i;
	int		 s;

	if (to->insecure)
		return (1);
	for (i = 0; i < TLS_NKEYS; i++) {
		if (tls_value(&to->all, i) != NULL)
			return (1);
		for (s = 0; s < SIDE_MAX; s++)
			if (tls_value(&to->side[s], i) != NULL)
				return (1);
	}
	return (0);
}

/* Side s's value of key i: its own, else every side's. */
static const char *
tls_get(const struct tls_opts *to, int s, size_t i)
{
	const char	*v = NULL;

	if (s >= 0 && s < SIDE_MAX)
		v = tls_value(&to->side[s], i);
	return (v != NULL ? v : tls_value(&to->all, i));
}

/* What OpenSSL last said, for a message; "" when it said nothing. */
const char *
tls_last_error(void)
{
	static __thread char buf[256];	/* each loop's thread its own */
	unsigned long	 e, last = 0;

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last == 0)
		return ("");
	ERR_error_string_n(last, buf, sizeof buf);
	return (buf);
}

/*
 * The SSL_CTX for the side named name (primary, candidate, secondary);
 * *sni is the name to send and verify, when the user gave one.  NULL
 * with cause when a file cannot be used.
 */
SSL_CTX *
tls_client_ctx(const struct tls_opts *to, const char *name, const char *url,
    const char **sni, char **cause)
{
	static const unsigned char	 alpn[] = "\x08http/1.1";
	SSL_CTX				*ctx;
	static const char		*what[3] = {
		"CA file", "client certificate", "client key"
	};
	const char			*ca, *cert, *key, *files[3];
	size_t				 i;
	int				 s;

	for (s = 0; s < SIDE_MAX; s++)
		if (strcmp(side_name(s), name) == 0)
			break;
	ca = to != NULL ? tls_get(to, s, 0) : NULL;
	cert = to != NULL ? tls_get(to, s, 1) : NULL;
	key = to != NULL ? tls_get(to, s, 2) : NULL;
	*sni = to != NULL ? tls_get(to, s, 3) : NULL;

	if ((cert == NULL) != (key == NULL)) {
		xasprintf(cause, "--%s %s: a client certificate needs "
		    "both --client-cert and --client-key (or --%s-client-cert "
		    "and --%s-client-key)", name, url, name, name);
		return (NULL);
	}
	/* OpenSSL would say "system lib" for a file it cannot open. */
	files[0] = ca;
	files[1] = cert;
	files[2] = key;
	for (i = 0; i < 3; i++) {
		if (files[i] != NULL && access(files[i], R_OK) != 0) {
			xasprintf(cause, "--%s %s: %s %s: %s", name, url,
			    what[i], files[i], strerror(errno));
			return (NULL);
		}
	}
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		fatalx("%s: SSL_CTX_new", __func__);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/*
	 * A write may be taken in part, and retried from where the buffer
	 * has moved to: the pool writes head and body as they stand.
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);
	/*
	 * Read what the socket has in one system call, not a record's
	 * header and then its body in two: the pool asks OpenSSL whether
	 * it holds more (SSL_has_pending) before it waits on the socket.
	 */
	SSL_CTX_set_read_ahead(ctx, 1);
	if (to != NULL && to->insecure)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	ERR_clear_error();
	if (ca != NULL) {
		/* As curl's --cacert: these CAs in place of the system's. */
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
			xasprintf(cause, "--%s %s: CA file %s: %s", name, url,
			    ca, tls_last_error());
			goto fail;
		}
	} else
		SSL_CTX_set_default_verify_paths(ctx);
	if (cert != NULL) {
		if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
			xasprintf(cause, "--%s %s: client certificate "
			    "%s: %s", name, url, cert, tls_last_error());
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, key,
		    SSL_FILETYPE_PEM) != 1) {
			if (ERR_GET_REASON(ERR_peek_last_error()) ==
			    X509_R_KEY_VALUES_MISMATCH)
				xasprintf(cause, "--%s %s: client key %s "
				    "does not match the certificate %s", name, url,
				    key, cert);
			else
				xasprintf(cause, "--%s %s: client key "
				    "%s: %s", name, url, key, tls_last_error());
			ERR_clear_error();
			goto fail;
		}
		if (SSL_CTX_check_private_key(ctx) != 1) {
			xasprintf(cause, "--%s %s: client key %s does not "
			    "match the certificate %s", name, url, key, cert);
			goto fail;
		}
	}
	return (ctx);

fail:
	SSL_CTX_free(ctx);
	return (NULL);
}

/*
 * Why a handshake or a TLS read failed, for a side error "tls": the
 * verification result when the peer's certificate was refused, else
 * OpenSSL's reason.
 */
char *
tls_failure(SSL *ssl, int handshaking, int err, int sys_errno)
{
	const char	*what = handshaking ? "handshake failed" :
			    "failed after the handshake";
	char		*s;
	long		 vr;
	const char	*why;

	if ((vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
		ERR_clear_error();
		xasprintf(&s, "certificate verify failed: %s",
		    X509_verify_cert_error_string(vr));
		return (s);
	}
	why = tls_last_error();
	if (*why != '\0')
		xasprintf(&s, "%s: %s", what, why);
	else if (err == SSL_ERROR_SYSCALL && sys_errno != 0)
		xasprintf(&s, "%s: %s", what, strerror(sys_errno));
	else
		xasprintf(&s, "%s: the connection closed", what);
	return (s);
}

/*
 * Say so when TLS options were given and no backend is https://: they
 * would change nothing, which the user did not mean.
 */
void
tls_opts_check(const struct tls_opts *to, struct upstream **ups, size_t n)
{
	size_t	 i;

	if (to == NULL || !tls_opts_any(to))
		return;
	for (i = 0; i < n; i++)
		if (upstream_tls(ups[i]))
			return;
	log_warnx("TLS options (--ca-file, --client-cert, --sni, --insecure, "
	    "...) given, but no backend is https://: they are not used");
}
