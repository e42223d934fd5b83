#!/bin/sh
# A slow candidate must not slow the client (DESIGN §7.1): the client gets
# the primary's answer while the candidate is still thinking, and the
# exchange is captured once the candidate has answered.  A candidate past
# --candidate-timeout is a candidate_error "timeout" the client never sees.
#
# No wall-clock bound: the candidate holds its answers for an hour (and
# --candidate-timeout is longer still) until the test releases them with
# SIGUSR1, so "the client was answered while the candidate had not
# answered" is checked while the candidate provably has not; a proxy that
# waited for the candidate would leave the client unanswered.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

HOUR=3600000
BODY_OK='{"ok":true,"items":[{"id":7,"name":"seven"}]}'
jq -n --arg b "$BODY_OK" '{default: {status: 200,
    headers: [["Content-Type", "application/json"]], body: $b}}' >"$T/fast.json"
jq -n --arg b "$BODY_OK" --argjson d "$HOUR" '{default: {status: 200,
    delay_ms: $d, headers: [["Content-Type", "application/json"]],
    body: $b}}' >"$T/slow.json"

start_backend primary "$T/fast.json"
start_backend candidate "$T/slow.json"
start_backend candidate5 "$T/slow.json"
PRI=http://127.0.0.1:$(backend_port primary)
CAN=http://127.0.0.1:$(backend_port candidate)
CAN5=http://127.0.0.1:$(backend_port candidate5)

# release NAME: the backend sends its held answers now, and no longer
# delays.
release() {
	eval "kill -USR1 \$pt_backend_pid_$1"
}

# nresponds NAME: how many responses the backend has sent.
nresponds() {
	backend_events "$1" '.event == "respond"' | wc -l | tr -d ' '
}

CAP=$T/capture.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --capture "$CAP" \
    --candidate-timeout $((2 * HOUR)) || bail "the proxy did not start"

req one "$PROXY_URL/v1/items/7"
is "$HTTP_CODE" 200 "the client got the primary's 200"
is "$BODY" "$BODY_OK" "the client got the primary's body"
ok "the candidate got the mirrored request" \
    wait_for 10 backend_nrequests_ge candidate 1
is "$(nresponds candidate)" 0 \
    "when the client has its answer the candidate has not answered"
is "$(cap_nlines "$CAP")" 0 \
    "when the client has its answer the capture has no line for it yet"
release candidate
ok "the capture line appears once the candidate answered" \
    wait_for 10 cap_has_id "$CAP" "$TRACE"
is "$(nresponds candidate)" 1 "the candidate answered once"
is "$(cap_get "$CAP" "$TRACE" .responses.candidate.status)" 200 \
    "the capture holds the candidate's status"
is "$(cap_get "$CAP" "$TRACE" .responses.candidate.body)" "$BODY_OK" \
    "the capture holds the candidate's body"
is "$(cap_get "$CAP" "$TRACE" .verdict)" match "the verdict is match"
# The candidate held the request from its "request" to its "respond"
# event; the proxy's measure includes that wait (ms are truncated: 1 off).
held=$(jq -s '([.[] | select(.event == "respond")][0].ts_ms) -
    ([.[] | select(.event == "request")][0].ts_ms)' "$T/candidate.log")
is "$(cap_get "$CAP" "$TRACE" ".responses.candidate.ms >= $held - 1")" true \
    "the candidate's ms covers the time it held its answer ($held ms)"
is "$(cap_get "$CAP" "$TRACE" '.responses.primary.ms < .responses.candidate.ms')" \
    true "the primary's ms is below the candidate's"
is "$(cap_get "$CAP" "$TRACE" .route)" "GET /v1/items/{id}" \
    "the route is templated: GET /v1/items/{id}"
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"

# Five requests in a row on one client connection: all five answered
# while the candidate has answered none of them.
start_proxy --primary "$PRI" --candidate "$CAN5" --capture "$CAP" \
    --candidate-timeout $((2 * HOUR)) || bail "the proxy did not start"
curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -o /dev/null \
    -w '%{http_code}\n' "$PROXY_URL/v1/items/[1-5]" \
    >"$T/five.codes" 2>"$T/five.err"
is "$(grep -c '^200$' "$T/five.codes")" 5 "five requests in a row: five 200s"
ok "the candidate got a mirrored request" \
    wait_for 10 backend_nrequests_ge candidate5 1
is "$(nresponds candidate5)" 0 \
    "all five were answered before the candidate answered the first"
release candidate5
ok "the five mirrors are captured" \
    wait_for 20 sh -c "[ \$(wc -l <'$CAP') -ge 6 ]"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
is "$(cap_nlines "$CAP")" 6 "6 capture lines"
is "$(jq -s '[.[] | select(.verdict == "match")] | length' "$CAP")" 6 \
    "all 6 match"
is "$(cat "$T/proxy.1.err" "$T/proxy.2.err" | grep -c '^DIVERGE ')" 0 \
    "no DIVERGE line for matches"

# A candidate slower than --candidate-timeout: it holds its answer for an
# hour, so the 300 ms deadline passes first however loaded the machine.
start_backend candidatet "$T/slow.json"
CANT=http://127.0.0.1:$(backend_port candidatet)
CAP2=$T/timeout.jsonl
start_proxy --primary "$PRI" --candidate "$CANT" --capture "$CAP2" \
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
