#!/bin/sh
# A slow candidate must not slow the client (DESIGN §7.1): the client gets
# the primary's answer while the candidate is still thinking, and the
# exchange is captured once the candidate has answered.  A candidate past
# --candidate-timeout is a candidate_error "timeout" the client never sees.
#
# No wall-clock bound: the backends log, on the same clock as the test,
# when each response was handed to the socket; the client's answer must
# have arrived before the candidate's.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

BODY_OK='{"ok":true,"items":[{"id":7,"name":"seven"}]}'
jq -n --arg b "$BODY_OK" '{default: {status: 200,
    headers: [["Content-Type", "application/json"]], body: $b}}' >"$T/fast.json"
jq -n --arg b "$BODY_OK" '{default: {status: 200, delay_ms: 1500,
    headers: [["Content-Type", "application/json"]], body: $b}}' >"$T/slow.json"

start_backend primary "$T/fast.json"
start_backend candidate "$T/slow.json"
PRI=http://127.0.0.1:$(backend_port primary)
CAN=http://127.0.0.1:$(backend_port candidate)

CAP=$T/capture.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --capture "$CAP" ||
    bail "the proxy did not start"

# candidate_respond_ts N: when the candidate sent its Nth response.
candidate_respond_ts() {
	jq -r 'select(.event == "respond") | .ts_ms' "$T/candidate.log" |
	    sed -n "$1p"
}

req one "$PROXY_URL/v1/items/7"
t_done=$(now_ms)
no_line_yet=no
cap_has_id "$CAP" "$TRACE" || no_line_yet=yes
is "$HTTP_CODE" 200 "the client got the primary's 200"
is "$BODY" "$BODY_OK" "the client got the primary's body"
is "$no_line_yet" yes \
    "when the client has its answer the capture has no line for it yet"
ok "the capture line appears once the candidate answered" \
    wait_for 10 cap_has_id "$CAP" "$TRACE"
c_ts=$(candidate_respond_ts 1)
cmp_ok "$t_done" -lt "${c_ts:-0}" \
    "the client had its answer before the candidate answered"
is "$(cap_get "$CAP" "$TRACE" .responses.candidate.status)" 200 \
    "the capture holds the candidate's status"
is "$(cap_get "$CAP" "$TRACE" .responses.candidate.body)" "$BODY_OK" \
    "the capture holds the candidate's body"
is "$(cap_get "$CAP" "$TRACE" .verdict)" match "the verdict is match"
is "$(cap_get "$CAP" "$TRACE" '.responses.candidate.ms >= 1400')" true \
    "the candidate's ms reflects its 1500 ms delay"
is "$(cap_get "$CAP" "$TRACE" '.responses.primary.ms < .responses.candidate.ms')" \
    true "the primary's ms is below the candidate's"
is "$(cap_get "$CAP" "$TRACE" .route)" "GET /v1/items/{id}" \
    "the route is templated: GET /v1/items/{id}"

# Five requests in a row on one client connection: all five answered
# before the candidate answered the first of them.
curl -sS --noproxy '*' --max-time 30 -o /dev/null -w '%{http_code}\n' \
    "$PROXY_URL/v1/items/[1-5]" >"$T/five.codes" 2>"$T/five.err"
t_done=$(now_ms)
is "$(grep -c '^200$' "$T/five.codes")" 5 "five requests in a row: five 200s"
ok "the five mirrors are captured" \
    wait_for 20 sh -c "[ \$(wc -l <'$CAP') -ge 6 ]"
c_ts=$(candidate_respond_ts 2)
cmp_ok "$t_done" -lt "${c_ts:-0}" \
    "all five were answered before the candidate answered the first"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
is "$(cap_nlines "$CAP")" 6 "6 capture lines"
is "$(jq -s '[.[] | select(.verdict == "match")] | length' "$CAP")" 6 \
    "all 6 match"
is "$(diverge_lines | wc -l | tr -d ' ')" 0 "no DIVERGE line for matches"

# A candidate slower than --candidate-timeout.
CAP2=$T/timeout.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --capture "$CAP2" \
    --candidate-timeout 300 || bail "the proxy did not start"
req two "$PROXY_URL/v1/items/8"
is "$HTTP_CODE" 200 "candidate timeout: the client got the primary's 200"
is "$BODY" "$BODY_OK" "candidate timeout: the client got the primary's body"
ok "candidate timeout: the exchange is captured" \
    wait_for 10 cap_has_id "$CAP2" "$TRACE"
is "$(cap_get "$CAP2" "$TRACE" .verdict)" candidate_error \
    "candidate timeout: verdict candidate_error"
is "$(cap_get "$CAP2" "$TRACE" .responses.candidate.error)" timeout \
    "candidate timeout: the candidate's error is 'timeout'"
is "$(cap_get "$CAP2" "$TRACE" .responses.candidate.status)" 0 \
    "candidate timeout: the candidate's status is 0"
is "$(cap_get "$CAP2" "$TRACE" .responses.primary.status)" 200 \
    "candidate timeout: the primary's response is recorded"
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
DL=$(diverge_lines)
like "$DL" "^DIVERGE candidate_error GET /v1/items/\{id\} id=$TRACE " \
    "candidate timeout: a DIVERGE candidate_error line with the id"
contains "$DL" "candidate:timeout" "the flag says candidate:timeout"

done_testing
