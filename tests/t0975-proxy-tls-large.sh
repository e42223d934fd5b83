#!/bin/sh
# Bodies larger than the proxy's buffers over a TLS client connection: a
# 6M response (over the client's output high-water mark, so the primary
# is paused until a slow client drains it), with a length and chunked,
# reaches the client whole; a 3M request body reaches both backends
# whole.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-tls.sh"
need curl jq openssl sha256sum base64
need_binaries

head -c 6291456 /dev/urandom >"$T/big.bin"
BIGSUM=$(sha256sum <"$T/big.bin" | cut -d' ' -f1)
jq -n --arg f "$T/big.bin" '{routes: [
    {method: "GET", path: "/big", status: 200,
     headers: [["Content-Type", "application/octet-stream"]], body_file: $f},
    {method: "GET", path: "/bigc", status: 200, chunked: true,
     headers: [["Content-Type", "application/octet-stream"]], body_file: $f}],
    default: {status: 200, headers: [["Content-Type", "application/json"]],
     body: "{}"}}' >"$T/fix.json"
start_backend primary "$T/fix.json"
start_backend candidate "$T/fix.json"
tls_ca "$T/pki"
tls_server_cert "$T/pki" server
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" \
    --tls-cert "$T/pki/server.pem" --tls-key "$T/pki/server.key" ||
    bail "the proxy did not start"
TLS_URL=https://localhost:$PROXY_PORT

for p in big bigc; do
	curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" \
	    --cacert "$T/pki/ca.pem" --limit-rate 8M -o "$T/$p.out" \
	    -w '%{http_code}' "$TLS_URL/$p" >"$T/$p.code" 2>"$T/$p.err"
	is "$?" 0 "/$p: curl succeeds"
	is "$(cat "$T/$p.code")" 200 "/$p: 200"
	is "$(sha256sum <"$T/$p.out" | cut -d' ' -f1)" "$BIGSUM" \
	    "/$p: the client got all 6M, byte for byte"
done

head -c 2359296 /dev/urandom | base64 -w 0 >"$T/up.txt"
UPSUM=$(sha256sum <"$T/up.txt" | cut -d' ' -f1)
req up --cacert "$T/pki/ca.pem" -H 'Content-Type: text/plain' \
    --data-binary @"$T/up.txt" "$TLS_URL/up"
is "$HTTP_CODE" 200 "3M upload: 200"
ok "3M upload: the candidate got it" \
    wait_for 10 backend_nrequests_ge candidate 3
for b in primary candidate; do
	is "$(backend_requests $b | jq -j 'select(.target == "/up") | .body' |
	    sha256sum | cut -d' ' -f1)" "$UPSUM" \
	    "3M upload: the $b got the body byte for byte"
done

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
is "$(cap_nlines "$CAP")" 3 "three capture lines"

done_testing
