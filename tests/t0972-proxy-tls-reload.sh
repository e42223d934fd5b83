#!/bin/sh
# SIGHUP reads --tls-cert and --tls-key again from the same paths: new
# connections get the new certificate, a connection made before keeps
# being served.  A reload that fails (the key of another certificate, a
# missing file) keeps the certificate loaded before and says which file
# and why; the proxy goes on serving.  The capture is still reopened.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-tls.sh"
need curl jq openssl
need_binaries

start_backend primary
start_backend candidate
tls_ca "$T/pki"
tls_server_cert "$T/pki" first
tls_server_cert "$T/pki" second localhost,127.0.0.1,second.example
tls_server_cert "$T/pki" other
mkdir "$T/live"
cp "$T/pki/first.pem" "$T/live/cert.pem"
cp "$T/pki/first.key" "$T/live/key.pem"
S1=$(tls_serial "$T/pki/first.pem")
S2=$(tls_serial "$T/pki/second.pem")
isnt "$S1" "$S2" "the two certificates have serials of their own"

CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" -v \
    --tls-cert "$T/live/cert.pem" --tls-key "$T/live/key.pem" ||
    bail "the proxy did not start"
ADDR=127.0.0.1:$PROXY_PORT
TLS_URL=https://localhost:$PROXY_PORT

is "$(tls_peer_serial "$ADDR" "$T/pki/ca.pem")" "$S1" \
    "at start: the first certificate"

# A connection made now, used after the reload.
mkfifo "$T/held.in"
openssl s_client -connect "$ADDR" -servername localhost \
    -CAfile "$T/pki/ca.pem" -quiet <"$T/held.in" >"$T/held.out" \
    2>"$T/held.err" &
HELD=$!
track "$HELD"
exec 3>"$T/held.in"
printf 'GET /held/1 HTTP/1.1\r\nHost: x\r\n\r\n' >&3
held_answers() {
	[ "$(grep -o 'HTTP/1.1 200' "$T/held.out" | wc -l)" -ge "$1" ]
}
ok "held connection: answered before the reload" wait_for 10 held_answers 1

# nreloaded N / nkept N: the log has N reloads / N failed ones.
nreloaded() {
	[ "$(grep -c -- '--tls-cert .*: certificate reloaded' "$PROXY_ERR")" \
	    -ge "$1" ]
}
nkept() {
	[ "$(grep -c 'keeping the certificate loaded before' "$PROXY_ERR")" \
	    -ge "$1" ]
}

# --- a good reload -----------------------------------------------------------
cap_has_one() {
	[ "$(cap_nlines "$CAP")" -ge 1 ]
}
ok "held connection: its first exchange is captured" wait_for 10 cap_has_one
cp "$T/pki/second.pem" "$T/live/cert.pem"
cp "$T/pki/second.key" "$T/live/key.pem"
mv "$CAP" "$T/capture.1.jsonl"
kill -HUP "$PROXY_PID"
ok "SIGHUP: the reload is logged" wait_for 10 nreloaded 1
is "$(tls_peer_serial "$ADDR" "$T/pki/ca.pem")" "$S2" \
    "after SIGHUP: new connections get the second certificate"
openssl s_client -connect "$ADDR" -servername localhost \
    -CAfile "$T/pki/ca.pem" </dev/null 2>/dev/null |
    openssl x509 -noout -ext subjectAltName >"$T/san2" 2>&1
contains "$(cat "$T/san2")" "DNS:second.example" \
    "after SIGHUP: ... with its own names"
req after --cacert "$T/pki/ca.pem" "$TLS_URL/after"
is "$HTTP_CODE" 200 "after SIGHUP: curl --cacert: 200"
ok "after SIGHUP: the capture was reopened (a new file)" \
    wait_for 10 cap_has_id "$CAP" "$TRACE"

printf 'GET /held/2 HTTP/1.1\r\nHost: x\r\n\r\n' >&3
ok "held connection: still served after the reload" \
    wait_for 10 held_answers 2

# --- a failed reload: the key of another certificate -------------------------
cp "$T/pki/other.key" "$T/live/key.pem"
kill -HUP "$PROXY_PID"
ok "mismatched key: a warning" wait_for 10 nkept 1
contains "$(grep 'keeping the certificate' "$PROXY_ERR" | sed -n 1p)" \
    "--tls-key $T/live/key.pem: the key does not match the certificate in $T/live/cert.pem" \
    "mismatched key: the warning names the file and the reason"
is "$(tls_peer_serial "$ADDR" "$T/pki/ca.pem")" "$S2" \
    "mismatched key: the second certificate is still served"
req mism --cacert "$T/pki/ca.pem" "$TLS_URL/mismatched"
is "$HTTP_CODE" 200 "mismatched key: the proxy still serves: 200"

# --- a failed reload: the certificate file is gone ---------------------------
rm "$T/live/cert.pem"
kill -HUP "$PROXY_PID"
ok "missing file: a warning" wait_for 10 nkept 2
contains "$(grep 'keeping the certificate' "$PROXY_ERR" | sed -n 2p)" \
    "--tls-cert $T/live/cert.pem: No such file or directory" \
    "missing file: the warning names the file and the reason"
is "$(tls_peer_serial "$ADDR" "$T/pki/ca.pem")" "$S2" \
    "missing file: the second certificate is still served"
req gone --cacert "$T/pki/ca.pem" "$TLS_URL/gone"
is "$HTTP_CODE" 200 "missing file: the proxy still serves: 200"

printf 'GET /held/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
ok "held connection: served to the end" wait_for 10 held_answers 3
exec 3>&-
wait_pid "$HELD" 10

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
is "$(cap_nlines "$T/capture.1.jsonl")" 1 "the first capture file: /held/1"
is "$(jq -r .request.target "$CAP" | sort | tr '\n' ' ')" \
    "/after /gone /held/2 /held/3 /mismatched " \
    "the reopened capture: every request after the first SIGHUP"

done_testing
