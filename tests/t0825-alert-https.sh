#!/bin/sh
# https:// alert channels (Slack's incoming webhooks are https only): the
# receiver's certificate is checked against the CAs OpenSSL trusts
# (SSL_CERT_FILE here) and its name or address; one it cannot check is
# a failure that says why.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-alert.sh"
need openssl

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$T/key.pem" \
    -out "$T/cert.pem" >"$T/openssl.berr" 2>&1 ||
    bail "openssl cannot make a certificate"
cat "$T/cert.pem" "$T/key.pem" >"$T/both.pem"
ALERTSINK_TLS=$T/both.pem start_sink tls
TLS_URL=$(printf '%s' "$SINK_URL" | sed 's|^http:|https:|')
PAIR="--primary http://a:1 --candidate http://b:2"
drift_event new "GET /items" extra '$.a' 1 t "$(date +%s)" >"$T/one"

SSL_CERT_FILE=$T/cert.pem feed ok "$T/one" --alert-url "$TLS_URL/hook" \
    --alert-format slack --alert-group-wait 10ms $PAIR
is "$FEED_STATUS" 0 "a trusted certificate: exit status 0"
is "$(sed -n 2p "$T/ok.out")" "slack sent=1 failed=0 dropped=0" \
    "a trusted certificate: sent"
is "$(sink_n tls)" 1 "the receiver got one message"
is "$(jq -r '.blocks[1].text.text' "$T/tls.bodies")" \
    'NEW GET /items: candidate extra at $.a (shape, 1 exchange)' \
    "over TLS, whole"

SSL_CERT_FILE=$T/cert.pem feed two "$T/one" --alertmanager "$TLS_URL" \
    --alert-url "$TLS_URL/again" --alert-group-wait 10ms $PAIR
is "$(sed 1d "$T/two.out" | tr '\n' ' ')" \
    "alertmanager sent=1 failed=0 dropped=0 webhook sent=1 failed=0 dropped=0 " \
    "two https channels at once"

# Not trusted: the default CAs do not know it.
SSL_CERT_FILE=/nonexistent feed bad "$T/one" --alert-url "$TLS_URL/hook" \
    --alert-tries 1 --alert-group-wait 10ms $PAIR
is "$(sed -n 2p "$T/bad.out")" "webhook sent=0 failed=1 dropped=0" \
    "an unknown certificate: counted failed"
contains "$(cat "$T/bad.err")" "certificate verify failed" \
    "an unknown certificate: said"
is "$(sink_n tls)" 3 "an unknown certificate: no message read"

done_testing
