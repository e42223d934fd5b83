#!/bin/sh
# /healthz and /readyz: /healthz is 200 while the process runs; /readyz
# is 503 with a JSON body naming what is not ready until both backends
# have answered, 200 once they have, and 503 naming the candidate again
# once it has not answered for --ready-window.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-admin.sh"
need curl jq
need_binaries

start_backend primary
start_backend candidate
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" --admin 0 --ready-window 1s ||
    bail "the proxy did not start"
ADMIN=$(admin_addr)

admin h0 /healthz
is "$HTTP_CODE:$BODY" "200:ok" "/healthz before any traffic: 200"
admin r0 /readyz
is "$HTTP_CODE" 503 "/readyz before any traffic: 503"
is "$(jq -c '[.not_ready[].check]' "$T/r0.body")" '["primary","candidate"]' \
    "... naming both backends"
is "$(jq -r '.not_ready[0].reason' "$T/r0.body")" "has not answered yet" \
    "... that have not answered yet"
is "$(jq -r .ready "$T/r0.body")" false "... ready: false"

one a "$PROXY_URL/x"
is "$HTTP_CODE" 200 "a request through the proxy"
ok "it is recorded" wait_for 30 processed
# ready: /readyz says 200 (the exchange is counted before it is recorded).
ready() {
	admin r1 /readyz
	[ "$HTTP_CODE" = 200 ]
}
ok "/readyz: 200 once both answered" ready
is "$BODY" ready "... saying ready"

# The candidate goes away: its errors are not answers.
stop_backend candidate
# candidate_not_ready: a request, then /readyz names the candidate alone.
candidate_not_ready() {
	one b "$PROXY_URL/y"
	admin r2 /readyz
	[ "$HTTP_CODE" = 503 ] &&
	    [ "$(jq -c '[.not_ready[].check]' "$T/r2.body")" = '["candidate"]' ]
}
ok "/readyz: 503 naming the candidate, silent for --ready-window" \
    wait_for 30 candidate_not_ready
is "$(jq -r '.not_ready[0].reason' "$T/r2.body")" \
    "has not answered within --ready-window" "... saying why"
is "$HTTP_CODE" 503 "... still 503"
admin h1 /healthz
is "$HTTP_CODE" 200 "/healthz is still 200: the process is alive"
stop_proxy
is "$PROXY_STATUS" 0 "the proxy stops cleanly"

# A candidate that never listened.
start_backend gone
gone=$(backend_port gone)
stop_backend gone
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$gone" --admin 0 ||
    bail "the proxy did not start"
ADMIN=$(admin_addr)
one c "$PROXY_URL/z"
is "$HTTP_CODE" 200 "the primary answers the client"
# primary_only: the primary counted, the candidate not.
primary_only() {
	admin r3 /readyz
	[ "$(jq -c '[.not_ready[].check]' "$T/r3.body")" = '["candidate"]' ]
}
ok "/readyz names only the candidate that never answered" \
    wait_for 30 primary_only
is "$HTTP_CODE" 503 "... with 503"
stop_proxy

done_testing
