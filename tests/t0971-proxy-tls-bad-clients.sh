#!/bin/sh
# Clients that never get through the TLS handshake: one that does not
# trust the certificate, one that speaks plain HTTP to the HTTPS port (it
# is told so in a plain 400), one that sends garbage, one that connects
# and leaves, one that sends nothing (the handshake gets --header-timeout,
# as a request head does).  Each is counted (paritytap_client_tls_errors_total) and
# closed; nothing reaches a backend or the capture, and the next TLS
# client is served.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-tls.sh"
. "$top_srcdir/tests/lib-admin.sh"
need curl jq openssl
need_binaries

start_backend primary
start_backend candidate
tls_ca "$T/pki"
tls_server_cert "$T/pki" server
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" --admin 0 --header-timeout 1000 \
    --tls-cert "$T/pki/server.pem" --tls-key "$T/pki/server.key" -vv ||
    bail "the proxy did not start"
ADMIN=$(admin_addr)
TLS_URL=https://localhost:$PROXY_PORT

scrape
is "$(metric paritytap_client_tls_errors_total)" 0 \
    "metrics: no TLS error at start"

# handshake_failed N: the proxy has logged N failed handshakes.
handshake_failed() {
	[ "$(grep -c ': TLS handshake failed: ' "$PROXY_ERR")" -ge "$1" ]
}

# 1. A client without the CA refuses the certificate.
req noca "$TLS_URL/noca"
is "$CURL_STATUS" 60 "no --cacert: curl fails verification (exit 60)"
is "$HTTP_CODE" 000 "no --cacert: no response"
ok "no --cacert: the failed handshake is logged" wait_for 10 handshake_failed 1
contains "$(grep ': TLS handshake failed: ' "$PROXY_ERR" | sed -n 1p)" \
    "unknown ca" "no --cacert: the log says why (the client's alert)"

# 2. Plain HTTP to the HTTPS port: a plain 400 that says so, then close.
printf 'GET /plain HTTP/1.1\r\nHost: x\r\n\r\n' >"$T/plain.req"
"$RAWCLIENT" 127.0.0.1 "$PROXY_PORT" --timeout $((PT_WAIT_MIN * 1000)) \
    <"$T/plain.req" >"$T/plain.resp" 2>"$T/plain.err"
is "$?" 0 "plain HTTP: the proxy closed the connection"
is "$(head -n 1 "$T/plain.resp" | tr -d '\r')" "HTTP/1.1 400 Bad Request" \
    "plain HTTP: 400"
contains "$(cat "$T/plain.resp")" "This port speaks HTTPS" \
    "plain HTTP: the body says the port speaks HTTPS"
req plaincurl "http://127.0.0.1:$PROXY_PORT/plaincurl"
is "$HTTP_CODE" 400 "plain HTTP with curl: 400"
ok "plain HTTP: the failed handshakes are logged" \
    wait_for 10 handshake_failed 3

# 3. Garbage, a client that connects and closes at once, one that sends
# nothing (the handshake has --header-timeout, as a request head has).
printf '\026\003\001\000\005hello-not-tls' >"$T/garbage.req"
"$RAWCLIENT" 127.0.0.1 "$PROXY_PORT" --timeout $((PT_WAIT_MIN * 1000)) \
    <"$T/garbage.req" >"$T/garbage.resp" 2>"$T/garbage.err"
is "$?" 0 "garbage: the proxy closed the connection"
# A TLS alert record (content type 21), not an HTTP answer.
is "$(od -An -tu1 -N1 "$T/garbage.resp" | tr -d ' ')" 21 \
    "garbage: answered with a TLS alert, not HTTP"
"$RAWCLIENT" 127.0.0.1 "$PROXY_PORT" --timeout $((PT_WAIT_MIN * 1000)) \
    --shutdown </dev/null >"$T/empty.resp" 2>"$T/empty.err"
is "$?" 0 "connect and close: closed"
ok "garbage, connect-and-close: logged" wait_for 10 handshake_failed 5
"$RAWCLIENT" 127.0.0.1 "$PROXY_PORT" --timeout $((PT_WAIT_MIN * 1000)) \
    </dev/null >"$T/silent.resp" 2>"$T/silent.err"
is "$?" 0 "a silent client: closed by the proxy"
ok "a silent client: logged" wait_for 10 handshake_failed 6
contains "$(grep ': TLS handshake failed: ' "$PROXY_ERR" | sed -n 6p)" \
    "not complete in time" "a silent client: the log says why"

ok "the proxy is still running" alive "$PROXY_PID"

# The next client that trusts the CA is served.
req good --cacert "$T/pki/ca.pem" "$TLS_URL/good"
is "$HTTP_CODE" 200 "a TLS client after them: 200"
ID=$TRACE
ok "a TLS client after them: captured" wait_for 10 cap_has_id "$CAP" "$ID"

scrape
is "$(metric paritytap_client_tls_errors_total)" 6 \
    "metrics: paritytap_client_tls_errors_total counts the six"
contains "$(cat "$T/scrape.body")" \
    "# TYPE paritytap_client_tls_errors_total counter" \
    "metrics: the family is a counter"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
ok "the primary is idle" wait_for 10 backend_idle primary
ok "the candidate is idle" wait_for 10 backend_idle candidate
is "$(backend_requests primary | jq -r .target | tr '\n' ' ')" "/good " \
    "only the good client's request reached the primary"
is "$(backend_requests candidate | jq -r .target | tr '\n' ' ')" "/good " \
    "... and the candidate"
is "$(cap_nlines "$CAP")" 1 "one capture line: the good client's"
is "$(jq -r .request.target "$CAP")" /good "... for /good"
unlike "$(cat "$PROXY_ERR")" 'AddressSanitizer|runtime error' \
    "no sanitizer report"

done_testing
