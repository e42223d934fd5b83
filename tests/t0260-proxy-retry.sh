#!/bin/sh
# No request executed twice (DESIGN §7.4).  Both backends read each
# request whole, then reset the connection without answering: a POST
# /pay on every pooled connection, and the first GET /flaky.  The POST
# reaches each backend exactly once (the client gets a 502 naming the
# reset, the candidate's side is recorded as reset); the GET, idempotent,
# is sent once more on a new connection and answered; the retries are
# counted in the proxy's closing summary.  A POST is not written to a
# pooled connection already seen closed: it goes on a new one.

. "$(dirname "$0")/lib.sh"
need jq
need_binaries

# same_bytes DESC EXPECTED-FILE ACTUAL-FILE: the files are identical.
same_bytes() {
	if cmp -s "$2" "$3"; then
		pass "$1"
	else
		fail "$1" "expected:" "$(od -c "$2" | head -n 20)" \
		    "got:" "$(od -c "$3" | head -n 20)"
	fi
}

# send NAME: send $T/NAME.req to the proxy over a new connection, the
# answer to $T/NAME.resp; the request asks to close, so the proxy closes.
send() {
	"$RAWCLIENT" 127.0.0.1 "$PROXY_PORT" --timeout $((PT_WAIT_MIN * 1000)) \
	    <"$T/$1.req" >"$T/$1.resp" 2>"$T/$1.rawerr"
	is "$?" 0 "$1: the proxy answered and closed"
}

# requests NAME: "CONN TARGET" for each request the backend logged.
requests() {
	backend_requests "$1" | jq -r '"\(.conn) \(.target)"' | tr '\n' ' '
}

jq -n '{routes: [
    {method: "POST", path: "/pay", reset: true},
    {method: "GET", path: "/flaky", reset: true, times: 1},
    {path: "/flaky", body: "{\"flaky\":\"answered\"}"},
    {path: "/closing", body: "{\"closing\":true}", close_at_once: true}],
    default: {body: "{\"ok\":true}"}}' >"$T/backend.json"
start_backend primary "$T/backend.json"
start_backend candidate "$T/backend.json"
PPORT=$(backend_port primary)
CAP=$T/capture.jsonl
# One event loop: each loop has its pools of its own, and the cases below
# follow what one pool holds from one client connection to the next.
start_proxy --primary "http://127.0.0.1:$PPORT" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" --threads 1 || bail "the proxy did not start"

# Each exchange is awaited in the capture before the next is sent, so each
# backend's pool holds exactly the connection the last one used.
printf 'GET /warm HTTP/1.1\r\nHost: x\r\nX-Paritytap-Trace-Id: c1\r\nConnection: close\r\n\r\n' \
    >"$T/warm.req"
send warm
ok "warm: captured" wait_for 30 cap_has_id "$CAP" c1

# --- POST over a pooled connection that the backend resets ---
printf 'POST /pay HTTP/1.1\r\nHost: x\r\nX-Paritytap-Trace-Id: c2\r\nContent-Length: 8\r\nConnection: close\r\n\r\namount=5' \
    >"$T/pay.req"
send pay
ok "pay: captured" wait_for 30 cap_has_id "$CAP" c2
body="{\"error\":\"primary reset: 127.0.0.1:$PPORT: Connection reset by peer\",\"trace_id\":\"c2\"}"
printf 'HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nContent-Length: %d\r\nX-Paritytap-Trace-Id: c2\r\nConnection: close\r\n\r\n%s\n' \
    $((${#body} + 1)) "$body" >"$T/pay.want"
same_bytes "pay: the client got a 502 naming the reset" \
    "$T/pay.want" "$T/pay.resp"
is "$(cap_get "$CAP" c2 .responses.primary.error)" reset \
    "pay: the primary's side is recorded as reset"
is "$(cap_get "$CAP" c2 .responses.candidate.error)" reset \
    "pay: the candidate's side is recorded as reset"
is "$(cap_get "$CAP" c2 .verdict)" both_failed "pay: verdict both_failed"

# --- GET over a pooled connection that the backend resets once ---
printf 'GET /warm2 HTTP/1.1\r\nHost: x\r\nX-Paritytap-Trace-Id: c3\r\nConnection: close\r\n\r\n' \
    >"$T/warm2.req"
send warm2
ok "warm2: captured" wait_for 30 cap_has_id "$CAP" c3
printf 'GET /flaky HTTP/1.1\r\nHost: x\r\nX-Paritytap-Trace-Id: c4\r\nConnection: close\r\n\r\n' \
    >"$T/flaky.req"
send flaky
ok "flaky: captured" wait_for 30 cap_has_id "$CAP" c4
printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\nX-Paritytap-Trace-Id: c4\r\nConnection: close\r\n\r\n{"flaky":"answered"}' \
    >"$T/flaky.want"
same_bytes "flaky: the client got the answer to the retried GET" \
    "$T/flaky.want" "$T/flaky.resp"
is "$(cap_get "$CAP" c4 '"\(.responses.primary.status) \(.responses.candidate.status)"')" \
    "200 200" "flaky: both sides recorded the retried GET's 200"

# --- POST after a response whose connection closed with it ---
# The primary's answer to /closing comes with the close of its connection
# (one TCP segment, no Connection: close): the connection goes back to
# the pool, and the pipelined POST must see it closed rather than be
# written to it and fail.
{
	printf 'GET /closing HTTP/1.1\r\nHost: x\r\nX-Paritytap-Trace-Id: c5\r\n\r\n'
	printf 'POST /order HTTP/1.1\r\nHost: x\r\nX-Paritytap-Trace-Id: c6\r\nContent-Length: 5\r\nConnection: close\r\n\r\nitems'
} >"$T/closing.req"
send closing
{
	printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\nX-Paritytap-Trace-Id: c5\r\n\r\n{"closing":true}'
	printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nX-Paritytap-Trace-Id: c6\r\nConnection: close\r\n\r\n{"ok":true}'
} >"$T/closing.want"
same_bytes "closing: the POST after it went on a new connection and was answered" \
    "$T/closing.want" "$T/closing.resp"
ok "closing: captured" wait_for 30 cap_has_id "$CAP" c6
is "$(cap_get "$CAP" c6 '"\(.responses.primary.status) \(.responses.candidate.status)"')" \
    "200 200" "closing: both sides answered the POST"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
backend_idle primary
backend_idle candidate

# What each backend saw: connection by connection, the POST once (on the
# reset connection only), the GET twice (the reset one, then a new one).
for b in primary candidate; do
	is "$(requests $b | cut -d' ' -f1-10)" \
	    "1 /warm 1 /pay 2 /warm2 2 /flaky 3 /flaky" \
	    "$b: the POST once, the GET on the reset connection and again on a new one"
	is "$(backend_requests $b | jq -r 'select(.target == "/order") |
	    "\(.method) \(.body)"')" "POST items" \
	    "$b: the POST after /closing once"
	is "$(backend_events $b '.event == "reset"' | jq -r .conn | tr '\n' ' ')" \
	    "1 2 " "$b: reset connections 1 (POST) and 2 (first GET)"
	is "$(backend_requests $b | jq -r 'select(.target == "/pay") |
	    "\(.method) \(.body)"')" "POST amount=5" \
	    "$b: the POST came with its body"
	is "$(backend_requests $b | jq -c 'select(.target == "/flaky") |
	    .headers' | uniq | wc -l | tr -d ' ')" 1 \
	    "$b: the GET was sent again with the same headers"
done

like "$(grep 'exchanges:' "$PROXY_ERR")" \
    ' · 2 retried \(pooled connection closed\)$' \
    "the summary counts the 2 GETs sent again (one per backend)"
is "$(requests primary | cut -d' ' -f11-14)" "3 /closing 4 /order" \
    "primary: /closing on the pooled connection, the POST on a new one"
is "$(cap_nlines "$CAP")" 6 "6 capture lines"

done_testing
