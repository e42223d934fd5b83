#!/bin/sh
# https:// backends: a private CA made here, test backends serving TLS.
# With verification (--ca-file) the proxy reaches both sides over TLS,
# sends the URL's host as SNI (none for an address) and asks for
# http/1.1 by ALPN; a pooled connection carries a hundred requests, and a
# new one resumes the pool's session.  A wrong CA, an expired certificate,
# a wrong host name, a plain HTTP server and a missing client certificate
# each give the side error "tls" with its reason in the capture, and a 502
# to the client when it is the primary's.  --sni, --insecure, mTLS per
# side, and the options' errors.  replay and sniff reach an https://
# candidate the same way.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-tls.sh"
. "$top_srcdir/tests/lib-sniff.sh"
need curl jq openssl
need_binaries

C=$T/ca
tls_ca "$C"
tls_server_cert "$C" srv localhost,127.0.0.1
tls_expired_cert "$C" old localhost,127.0.0.1
tls_server_cert "$C" other other.example
tls_client_cert "$C" cli alice
tls_ca "$T/ca2"
tls_server_cert "$T/ca2" stranger localhost,127.0.0.1

# 3 MB of JSON, read by a slow client: the proxy pauses the primary's
# TLS connection and resumes it, with records OpenSSL already holds.
awk 'BEGIN { printf "["; for (i = 0; i < 100000; i++)
    printf "%s{\"i\":%d,\"pad\":\"abcdefghij\"}", (i ? "," : ""), i; print "]" }' \
    >"$T/big.json"
jq -n --arg big "$T/big.json" '{routes: [
    {path: "/close", close: true, body: "{\"closed\":true}",
     headers: [["Content-Type", "application/json"]]},
    {path: "/big", body_file: $big,
     headers: [["Content-Type", "application/json"]]}]}' >"$T/b.json"

# tls_backend NAME CERT [MORE...]: a TLS testbackend with CERT.pem/.key.
tls_backend() {
	_n=$1
	_c=$2
	shift 2
	BACKEND_OPTS="--tls-cert $_c.pem --tls-key $_c.key $*" \
	    start_backend "$_n" "$T/b.json"
}

tls_backend primary "$C/srv"
tls_backend candidate "$C/srv"
PRI=https://localhost:$(backend_port primary)
CAN=https://127.0.0.1:$(backend_port candidate)
CAP=$T/capture.jsonl

# --- both sides over TLS, verified ----------------------------------------
# One loop: its pool is the one followed from request to request (each
# loop of --threads has its own pools and sessions).
start_proxy --primary "$PRI" --candidate "$CAN" --ca-file "$C/ca.pem" \
    --threads 1 --capture "$CAP" || bail "the proxy did not start"
req first -H 'Content-Type: application/json' -d '{"a":[1,2]}' \
    "$PROXY_URL/orders?id=7"
is "$HTTP_CODE" 200 "https: the client got the primary's 200"
is "$(jq -r .name "$T/first.body")" primary \
    "https: ... with the primary's body"
ok "https: the capture line is written" wait_for 10 cap_has_id "$CAP" "$TRACE"
is "$(cap_get "$CAP" "$TRACE" '[.responses.primary.status, .responses.candidate.status] | @tsv')" \
    "$(printf '200\t200')" "https: both answers are recorded"
is "$(backend_requests candidate | jq -c '[.method, .target, .headers, .body]')" \
    "$(backend_requests primary | jq -c '[.method, .target, .headers, .body]')" \
    "https: both backends received the same request"
is "$(backend_requests primary | jq -r '[.method, .target, .body] | @tsv')" \
    "$(printf 'POST\t/orders?id=7\t{"a":[1,2]}')" \
    "https: ... the client's method, target and body"
is "$(backend_requests primary | jq -c '.tls | [.sni, .alpn]')" \
    '["localhost","http/1.1"]' \
    "https: the primary got SNI localhost and ALPN http/1.1"
is "$(backend_requests candidate | jq -c '.tls | [.sni, .alpn]')" \
    '[null,"http/1.1"]' "https: no SNI for an address (the candidate's)"

# A hundred requests in a row: the primary's one connection carries all.
i=0
while [ $i -lt 100 ]; do
	echo "url = \"$PROXY_URL/n/$i\""
	echo "output = \"/dev/null\""
	i=$((i + 1))
done >"$T/100.curl"
curl -sS --noproxy '*' -K "$T/100.curl" -w '%{http_code}\n' \
    >"$T/100.codes" 2>"$T/100.err"
is "$(grep -c '^200$' "$T/100.codes")" 100 "keep-alive: 100 answers of 200"
ok "keep-alive: the candidate received all 101" \
    wait_for 10 backend_nrequests_ge candidate 101
is "$(backend_requests primary | jq -r .conn | sort -u | wc -l | tr -d ' ')" 1 \
    "keep-alive: the primary's 101 requests came on one TLS connection"
cmp_ok "$(backend_requests candidate | jq -r .conn | sort -u | wc -l)" -le 5 \
    "keep-alive: the candidate's on a handful"

# A backend that closes after each answer: each new connection resumes
# the session the pool kept.
for i in 1 2 3; do
	req close$i "$PROXY_URL/close"
	is "$HTTP_CODE" 200 "resumption: request $i answered"
done
is "$(backend_events primary '.event == "request" and .target == "/close"' |
    jq -r .conn | sort -u | wc -l | tr -d ' ')" 3 \
    "resumption: three connections to the primary"
is "$(backend_events primary '.event == "request" and .target == "/close"' |
    jq -r .tls.resumed | tr '\n' ' ')" "false true true " \
    "resumption: the first on the pooled connection, the next two resumed"
is "$(backend_events primary '.event == "request"' |
    jq -r '[.conn, .tls.resumed] | @tsv' | sort -u | grep -c false)" 1 \
    "resumption: one full handshake in all"
req big --limit-rate 4M "$PROXY_URL/big"
is "$HTTP_CODE" 200 "slow client: 200"
ok "slow client: the body is the primary's, byte for byte" \
    cmp -s "$T/big.body" "$T/big.json"
ok "slow client: the capture line is written" \
    wait_for 10 cap_has_id "$CAP" "$TRACE"
is "$(cap_get "$CAP" "$TRACE" .verdict)" match \
    "slow client: both 3 MB answers read whole and compared"
stop_proxy
is "$PROXY_STATUS" 0 "https: the proxy exits 0"

# Four loops, each with its own TLS pools, under four clients at once.
start_proxy --primary "$PRI" --candidate "$CAN" --ca-file "$C/ca.pem" \
    --threads 4 --capture "$T/threads.jsonl" ||
    bail "the proxy with --threads 4 did not start"
for c in 1 2 3 4; do
	i=0
	while [ $i -lt 25 ]; do
		echo "url = \"$PROXY_URL/t/$c/$i\""
		echo "output = \"/dev/null\""
		i=$((i + 1))
	done >"$T/t$c.curl"
	curl -sS --noproxy '*' -K "$T/t$c.curl" -w '%{http_code}\n' \
	    >"$T/t$c.codes" 2>"$T/t$c.err" &
	eval "cpid$c=\$!"
done
for c in 1 2 3 4; do
	eval "wait \$cpid$c"
done
is "$(cat "$T"/t[1-4].codes | grep -c '^200$')" 100 \
    "--threads 4: 100 answers of 200 over TLS pools"
stop_proxy
is "$PROXY_STATUS" 0 "--threads 4: the proxy exits 0"
is "$(cap_nlines "$T/threads.jsonl")" 100 "--threads 4: 100 capture lines"
is "$(jq -r 'select(.responses.primary.error != null or
    .responses.candidate.error != null) | .id' "$T/threads.jsonl" | wc -l |
    tr -d ' ')" 0 "--threads 4: no side error"

# TLS options with no https:// backend change nothing: said.
start_backend plainpri "$T/b.json"
start_proxy --primary "http://127.0.0.1:$(backend_port plainpri)" \
    --candidate "http://127.0.0.1:$(backend_port plainpri)" \
    --ca-file "$C/ca.pem" || bail "plain proxy with --ca-file did not start"
like "$(cat "$PROXY_ERR")" "TLS options .* given, but no backend is https://: they are not used" \
    "TLS options without an https:// backend: a warning at start"
stop_proxy

# --- what fails, and how it is named --------------------------------------
# fail_case NAME BACKEND-CERT PROXY-ARGS... : a primary whose handshake
# fails; sets REASON, the primary's error detail in the capture.
fail_case() {
	_fn=$1
	_fc=$2
	shift 2
	tls_backend "bad$_fn" "$_fc"
	start_proxy --primary "https://localhost:$(backend_port "bad$_fn")" \
	    --candidate "$CAN" --ca-file "$C/ca.pem" \
	    --capture "$T/$_fn.jsonl" "$@" || bail "proxy for $_fn did not start"
	req "$_fn" "$PROXY_URL/f"
	is "$HTTP_CODE" 502 "$_fn: the client got a 502"
	ok "$_fn: the capture line is written" \
	    wait_for 10 cap_has_id "$T/$_fn.jsonl" "$TRACE"
	is "$(cap_get "$T/$_fn.jsonl" "$TRACE" .responses.primary.error)" tls \
	    "$_fn: the primary's error is tls"
	REASON=$(cap_get "$T/$_fn.jsonl" "$TRACE" .responses.primary.error_detail)
	is "$(backend_nrequests "bad$_fn")" 0 "$_fn: no request reached it"
	stop_proxy
	stop_backend "bad$_fn"
}
fail_case wrongca "$T/ca2/stranger"
like "$REASON" "^localhost:[0-9]*: certificate verify failed: unable to get local issuer certificate" \
    "wrong CA: the reason says whose certificate and why"
fail_case expired "$C/old"
like "$REASON" "^localhost:[0-9]*: certificate verify failed: certificate has expired" \
    "expired: the reason says the certificate has expired"
fail_case wrongname "$C/other"
like "$REASON" "^localhost:[0-9]*: certificate verify failed: hostname mismatch" \
    "wrong name: the reason says the host name does not match"

# The same backend with --sni other.example: the name it has is sent and
# verified.
tls_backend named "$C/other"
start_proxy --primary "https://localhost:$(backend_port named)" \
    --candidate "$CAN" --ca-file "$C/ca.pem" --primary-sni other.example \
    --capture "$T/sni.jsonl" || bail "proxy for --sni did not start"
req sni "$PROXY_URL/s"
is "$HTTP_CODE" 200 "--primary-sni: the certificate for that name is accepted"
is "$(backend_requests named | jq -r .tls.sni)" other.example \
    "--primary-sni: it was sent as SNI"
stop_proxy

# --insecure: the expired certificate is taken, and the proxy says so.
tls_backend stale "$C/old"
start_proxy --primary "https://localhost:$(backend_port stale)" \
    --candidate "$CAN" --insecure --capture "$T/insecure.jsonl" ||
    bail "proxy for --insecure did not start"
like "$(cat "$PROXY_ERR")" "--primary https://localhost:[0-9]*: --insecure: its certificate is not verified" \
    "--insecure: said at start"
req insecure "$PROXY_URL/i"
is "$HTTP_CODE" 200 "--insecure: the expired certificate is not checked"
stop_proxy

# A plain HTTP server behind an https:// URL.
start_backend plain "$T/b.json"
start_proxy --primary "$PRI" \
    --candidate "https://127.0.0.1:$(backend_port plain)" \
    --ca-file "$C/ca.pem" --capture "$T/plain.jsonl" ||
    bail "proxy for plain did not start"
req plain "$PROXY_URL/p"
is "$HTTP_CODE" 200 "plain candidate: the client still got the primary's 200"
ok "plain candidate: the capture line is written" \
    wait_for 10 cap_has_id "$T/plain.jsonl" "$TRACE"
is "$(cap_get "$T/plain.jsonl" "$TRACE" .responses.candidate.error)" tls \
    "plain candidate: its error is tls"
like "$(cap_get "$T/plain.jsonl" "$TRACE" .responses.candidate.error_detail)" \
    "^127.0.0.1:[0-9]*: handshake failed: " \
    "plain candidate: the reason is a failed handshake"
stop_proxy

# --- mTLS ------------------------------------------------------------------
tls_backend mpri "$C/srv" --tls-client-ca "$C/ca.pem"
tls_backend mcan "$C/srv" --tls-client-ca "$C/ca.pem"
MPRI=https://localhost:$(backend_port mpri)
MCAN=https://localhost:$(backend_port mcan)
start_proxy --primary "$MPRI" --candidate "$MCAN" --ca-file "$C/ca.pem" \
    --capture "$T/nocert.jsonl" || bail "proxy without a client cert"
req nocert "$PROXY_URL/m"
is "$HTTP_CODE" 502 "mTLS without a client certificate: 502"
ok "mTLS without a client certificate: the capture line is written" \
    wait_for 10 cap_has_id "$T/nocert.jsonl" "$TRACE"
is "$(cap_get "$T/nocert.jsonl" "$TRACE" '[.responses.primary.error, .responses.candidate.error] | @tsv')" \
    "$(printf 'tls\ttls')" "mTLS without a client certificate: tls on both sides"
like "$(cap_get "$T/nocert.jsonl" "$TRACE" .responses.primary.error_detail)" \
    "^localhost:[0-9]*: the server asked for a client certificate and none is configured [(]--client-cert[)]: " \
    "... the reason: the server asked for a certificate"
is "$(backend_nrequests mpri)" 0 "... no request reached the primary"
stop_proxy

# The certificate for every side, then for the candidate only.
start_proxy --primary "$MPRI" --candidate "$MCAN" --ca-file "$C/ca.pem" \
    --client-cert "$C/cli.pem" --client-key "$C/cli.key" --threads 1 \
    --capture "$T/cert.jsonl" || bail "proxy with a client cert"
req cert "$PROXY_URL/m"
is "$HTTP_CODE" 200 "mTLS with --client-cert: 200"
is "$(backend_requests mpri | jq -r .tls.client)" alice \
    "mTLS: the primary saw the client certificate"
ok "mTLS: the candidate got it too" wait_for 10 backend_nrequests_ge mcan 1
is "$(backend_requests mcan | jq -r .tls.client)" alice \
    "mTLS: the candidate saw the client certificate"
# New connections resume the verified session, certificate and all.
for i in 1 2 3; do
	req mclose$i "$PROXY_URL/close"
	is "$HTTP_CODE" 200 "mTLS resumption: request $i answered"
done
is "$(backend_events mpri '.event == "request" and .target == "/close"' |
    jq -r '[.tls.resumed, .tls.client] | @tsv' | tr '\n\t' ' :')" \
    "false:alice true:alice true:alice " \
    "mTLS resumption: the two new connections resumed, with the certificate"
stop_proxy

# A server that gives sessions and then refuses them: the refused
# resumption is followed by a full handshake, and the client never knows.
tls_backend broken "$C/srv" --tls-client-ca "$C/ca.pem" --tls-broken-resumption
start_proxy --primary "https://localhost:$(backend_port broken)" \
    --candidate "$MCAN" --ca-file "$C/ca.pem" --threads 1 \
    --client-cert "$C/cli.pem" --client-key "$C/cli.key" \
    --capture "$T/broken.jsonl" || bail "proxy for broken resumption"
for i in 1 2 3; do
	req broken$i "$PROXY_URL/close"
	is "$HTTP_CODE" 200 "refused resumption: request $i answered"
done
ok "refused resumption: the backend did refuse one" \
    backend_has broken '.event == "tls_error" and (.reason | test("session id context uninitialized"))'
is "$(backend_requests broken | jq -r .tls.resumed | sort -u)" false \
    "refused resumption: every request came on a full handshake"
stop_proxy
start_proxy --primary "$PRI" --candidate "$MCAN" --ca-file "$C/ca.pem" \
    --candidate-client-cert "$C/cli.pem" --candidate-client-key "$C/cli.key" \
    --capture "$T/cancert.jsonl" || bail "proxy with a candidate cert"
req cancert "$PROXY_URL/c"
is "$HTTP_CODE" 200 "--candidate-client-cert: 200"
ok "--candidate-client-cert: the capture line is written" \
    wait_for 10 cap_has_id "$T/cancert.jsonl" "$TRACE"
is "$(cap_get "$T/cancert.jsonl" "$TRACE" .responses.candidate.status)" 200 \
    "--candidate-client-cert: the candidate answered"
is "$(backend_requests primary | jq -r '.tls.client' | sort -u)" null \
    "--candidate-client-cert: the primary was shown no certificate"
stop_proxy

# --- replay to an https:// candidate ----------------------------------------
# No deadline a busy machine could reach: 16 handshakes and 3 MB at once.
"$PARITYTAP" replay --candidate "$MCAN" --ca-file "$C/ca.pem" --timeout 600000 \
    --candidate-client-cert "$C/cli.pem" --candidate-client-key "$C/cli.key" \
    --capture "$T/replay.jsonl" "$CAP" >"$T/rp.out" 2>"$T/rp.err"
diag_file "$T/rp.err"
is "$(jq -r 'select(.responses.candidate.error != null) |
    .responses.candidate.error + ": " + .responses.candidate.error_detail' \
    "$T/replay.jsonl" | sort | uniq -c)" "" "replay: no side error"
is "$(cap_nlines "$T/replay.jsonl")" "$(cap_nlines "$CAP")" \
    "replay: every exchange replayed"
is "$(backend_events mcan '.event == "request" and .target == "/orders?id=7"' |
    jq -r .body)" '{"a":[1,2]}' "replay: the candidate got the recorded request"

# --- sniff to an https:// candidate -----------------------------------------
# The primary's plain traffic on lo, mirrored to the mTLS candidate.
if can_capture; then
	start_backend sprim "$T/b.json"
	start_sniff --port "$(backend_port sprim)" --candidate "$MCAN" \
	    --ca-file "$C/ca.pem" --client-cert "$C/cli.pem" \
	    --client-key "$C/cli.key" --capture "$T/sniff.jsonl" ||
	    bail "sniff did not start"
	req sniffed "http://127.0.0.1:$(backend_port sprim)/sniffed?x=1"
	is "$HTTP_CODE" 200 "sniff: the primary answered its client"
	ok "sniff: the candidate got the request over mTLS" wait_for 10 \
	    backend_has mcan '.event == "request" and .target == "/sniffed?x=1" and .tls.client == "alice"'
	ok "sniff: the capture line is written" \
	    wait_for 10 grep -q sniffed "$T/sniff.jsonl"
	is "$(jq -r 'select(.request.target == "/sniffed?x=1") |
	    [.responses.candidate.status, .responses.candidate.error] | @tsv' \
	    "$T/sniff.jsonl")" "$(printf '200\t')" \
	    "sniff: the candidate's answer is recorded, no error"
	stop_sniff
else
	skip "sniff: capturing on lo needs root with CAP_NET_RAW"
	skip "sniff: capturing on lo needs root with CAP_NET_RAW"
	skip "sniff: capturing on lo needs root with CAP_NET_RAW"
	skip "sniff: capturing on lo needs root with CAP_NET_RAW"
fi

# --- options that cannot be used --------------------------------------------
usage() {	# usage NAME ARGS...: a proxy that must not start
	_n=$1
	shift
	"$PARITYTAP" proxy --listen 127.0.0.1:0 "$@" \
	    >"$T/$_n.out" 2>"$T/$_n.err" </dev/null
	ST=$?
	ERR=$(cat "$T/$_n.err")
}
usage nokey --primary "$PRI" --candidate "$CAN" --client-cert "$C/cli.pem"
is "$ST" 2 "--client-cert without a key: exit 2"
like "$ERR" "--primary $PRI: a client certificate needs both --client-cert and --client-key" \
    "--client-cert without a key: said"
usage noca --primary "$PRI" --candidate "$CAN" --ca-file "$T/nothere.pem"
is "$ST" 2 "a missing CA file: exit 2"
like "$ERR" "--primary $PRI: CA file $T/nothere.pem: No such file or directory" \
    "a missing CA file: named, and why"
usage mismatch --primary "$PRI" --candidate "$CAN" \
    --client-cert "$C/cli.pem" --client-key "$C/srv.key"
is "$ST" 2 "a key of another certificate: exit 2"
like "$ERR" "client key $C/srv.key does not match the certificate $C/cli.pem" \
    "a key of another certificate: said"
usage badsni --primary "$PRI" --candidate "$CAN" --sni 'a b'
is "$ST" 2 "--sni with a space: exit 2"
like "$ERR" "--sni: 'a b' is not a host name" "--sni with a space: said"
usage ftp --primary "ftp://localhost:1" --candidate "$CAN"
is "$ST" 2 "ftp://: exit 2"
like "$ERR" "only http:// and https:// URLs are supported" "ftp://: said"

done_testing
