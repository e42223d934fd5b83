#!/bin/sh
# --tls-cert/--tls-key: the proxy's --listen speaks HTTPS.  A client that
# trusts the CA gets the primary's answer; each backend gets the request
# exactly as a plain-HTTP client's request reaches it; the capture line
# is written.  Keep-alive holds over TLS (one handshake for many
# requests); ALPN offers HTTP/1.1 only.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-tls.sh"
need curl jq openssl
need_binaries

CT='[["Content-Type", "application/json"]]'
jq -n --argjson ct "$CT" \
    '{default: {status: 200, headers: $ct, body: "{\"side\":\"primary\"}"}}' \
    >"$T/primary.json"
jq -n --argjson ct "$CT" \
    '{default: {status: 200, headers: $ct, body: "{\"side\":\"candidate\"}"}}' \
    >"$T/candidate.json"
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
PRI=http://127.0.0.1:$(backend_port primary)
CAN=http://127.0.0.1:$(backend_port candidate)
tls_ca "$T/pki"
tls_server_cert "$T/pki" server

# what NAME N: the Nth request the backend received, as it came, its trace
# id (minted per exchange) left out.
what() {
	backend_requests "$1" | sed -n "${2}p" | jq -c '[.method, .target,
	    (.headers | map(select(.[0] != "X-Paritytap-Trace-Id"))), .body]'
}

# ask NAME URL [CURL ARGS]: the same request for a plain and a TLS client.
ask() {
	_an=$1
	_au=$2
	shift 2
	req "$_an" -X POST -H 'Host: svc.example' -H 'X-Tenant: 42' \
	    -H 'Content-Type: application/json' --data-binary '{"n":1}' \
	    "$@" "$_au/orders/7?expand=items"
}

# --- plain HTTP first, the reference -----------------------------------------
start_proxy --primary "$PRI" --candidate "$CAN" --capture "$T/plain.jsonl" ||
    bail "the plain proxy did not start"
ask plain "$PROXY_URL"
is "$HTTP_CODE" 200 "plain: 200"
ok "plain: the candidate got its mirror" \
    wait_for 10 backend_nrequests_ge candidate 1
stop_proxy

# --- the same over TLS -------------------------------------------------------
CAP=$T/capture.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --capture "$CAP" \
    --tls-cert "$T/pki/server.pem" --tls-key "$T/pki/server.key" -vv ||
    bail "the TLS proxy did not start"
TLS_URL=https://localhost:$PROXY_PORT

ask tls "$TLS_URL" --cacert "$T/pki/ca.pem"
is "$CURL_STATUS" 0 "TLS: curl --cacert trusts the proxy's certificate"
is "$HTTP_CODE" 200 "TLS: 200"
is "$BODY" '{"side":"primary"}' "TLS: the client got the primary's body"
ID=$TRACE
like "$ID" '^[0-9a-f]{16}-[0-9a-f]{8}$' "TLS: the response carries a trace id"
ok "TLS: the candidate got its mirror" \
    wait_for 10 backend_nrequests_ge candidate 2
for b in primary candidate; do
	is "$(what $b 2)" "$(what $b 1)" \
	    "TLS: the $b received the request as from a plain client"
done
is "$(what primary 2)" \
    '["POST","/orders/7?expand=items",[["Host","svc.example"],["User-Agent","'"$(curl --version | awk 'NR == 1 { print "curl/" $2 }')"'"],["Accept","*/*"],["X-Tenant","42"],["Content-Type","application/json"],["X-Forwarded-For","127.0.0.1"],["Content-Length","7"]],"{\"n\":1}"]' \
    "TLS: the primary received method, target, headers and body"
ok "TLS: the capture line is written" wait_for 10 cap_has_id "$CAP" "$ID"
is "$(cap_get "$CAP" "$ID" '[.request.method, .request.target,
    .request.body, .responses.primary.status,
    .responses.candidate.status] | @tsv')" \
    "$(printf 'POST\t/orders/7?expand=items\t{"n":1}\t200\t200')" \
    "TLS: the capture has the request and both answers"

# --- keep-alive: five requests, one connection, one handshake ---------------
hs_before=$(grep -c 'client .*: TLS TLSv1\.[23]$' "$PROXY_ERR")
curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" --cacert "$T/pki/ca.pem" \
    -o /dev/null -w '%{http_code} %{num_connects}\n' "$TLS_URL/ka/[1-5]" \
    >"$T/ka" 2>"$T/ka.err"
is "$(grep -c '^200 ' "$T/ka")" 5 "keep-alive: five answers 200"
is "$(awk '{ n += $2 } END { print n + 0 }' "$T/ka")" 1 \
    "keep-alive: the client connected once"
is "$(($(grep -c 'client .*: TLS TLSv1\.[23]$' "$PROXY_ERR") - hs_before))" 1 \
    "keep-alive: the proxy made one handshake for the five"
ok "keep-alive: the primary received the five" \
    wait_for 10 backend_nrequests_ge primary 7
is "$(backend_requests primary | tail -n 5 | jq -r .target | tr '\n' ' ')" \
    "/ka/1 /ka/2 /ka/3 /ka/4 /ka/5 " "keep-alive: in order"

# --- ALPN: HTTP/1.1 only ------------------------------------------------------
req h2 --http2 --cacert "$T/pki/ca.pem" -o /dev/null "$TLS_URL/alpn"
is "$HTTP_CODE" 200 "ALPN: a client offering h2 and http/1.1 is answered"
is "$(curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" --http2 \
    --cacert "$T/pki/ca.pem" -o /dev/null -w '%{http_version}' \
    "$TLS_URL/alpn2")" 1.1 "ALPN: ... over HTTP/1.1"
openssl s_client -connect "127.0.0.1:$PROXY_PORT" -servername localhost \
    -CAfile "$T/pki/ca.pem" -alpn http/1.1 </dev/null >"$T/alpn11" 2>&1
contains "$(cat "$T/alpn11")" "ALPN protocol: http/1.1" \
    "ALPN: http/1.1 is selected"
openssl s_client -connect "127.0.0.1:$PROXY_PORT" -servername localhost \
    -CAfile "$T/pki/ca.pem" -alpn h2 </dev/null >"$T/alpnh2" 2>&1
contains "$(cat "$T/alpnh2")" "no application protocol" \
    "ALPN: a client offering only h2 gets no_application_protocol"
openssl s_client -connect "127.0.0.1:$PROXY_PORT" -servername localhost \
    -CAfile "$T/pki/ca.pem" -tls1_2 </dev/null >"$T/tls12" 2>&1
contains "$(cat "$T/tls12")" "Protocol  : TLSv1.2" "TLS 1.2 is accepted"
like "$(grep 'Verify return code' "$T/tls12")" 'Verify return code: 0 \(ok\)' \
    "the certificate verifies against the CA"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
is "$(cap_nlines "$CAP")" 8 "eight capture lines: one request, five, two"
ok "the capture is valid JSONL" cap_valid "$CAP"

done_testing
