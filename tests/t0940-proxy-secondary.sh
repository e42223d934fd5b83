#!/bin/sh
# --secondary URL (DESIGN §4.4): every request mirrored to the candidate
# also goes to a second copy of the primary.  The secondary gets the very
# request the candidate gets, its answer is recorded as
# responses.secondary, and it never changes what the client gets or the
# exchange's verdict (primary against candidate): not when it answers
# differently, not when it cannot be reached, not when it is slower than
# --secondary-timeout.
#
# No wall-clock bound: the slow secondary holds its answers for an hour,
# so "the client was answered while the secondary had not answered" is
# checked while it provably has not.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-admin.sh"
need curl jq
need_binaries

HOUR=3600000
PBODY='{"id":7,"name":"seven","at":"2026-05-02T10:00:00Z"}'
SBODY='{"id":7,"name":"seven","at":"2026-05-02T10:00:01Z"}'
fixture() {	# fixture FILE STATUS BODY [DELAY_MS]
	jq -n --argjson s "$2" --arg b "$3" --argjson d "${4:-0}" \
	    '{default: {status: $s, delay_ms: $d,
	    headers: [["Content-Type", "application/json"]], body: $b}}' >"$1"
}
fixture "$T/primary.json" 200 "$PBODY"
fixture "$T/secondary.json" 201 "$SBODY"
fixture "$T/slow.json" 200 "$PBODY" "$HOUR"

start_backend primary "$T/primary.json"
start_backend candidate "$T/primary.json"
start_backend secondary "$T/secondary.json"
PRI=http://127.0.0.1:$(backend_port primary)
CAN=http://127.0.0.1:$(backend_port candidate)
SEC=http://127.0.0.1:$(backend_port secondary)

# request_of NAME ID: the request a backend received with that trace id,
# as it logged it (method, target, headers in order, body).
request_of() {
	backend_requests "$1" | jq -c --arg id "$2" \
	    'select(any(.headers[]; .[0] == "X-Paritytap-Trace-Id" and
	    .[1] == $id)) | del(.ts_ms, .conn, .event)'
}

# --- three sides: what each backend got, what the capture holds --------
CAP=$T/capture.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --secondary "$SEC" \
    --capture "$CAP" --admin 127.0.0.1:0 || bail "the proxy did not start"
ADMIN=$(admin_addr)
like "$(cat "$PROXY_ERR")" "secondary $SEC" \
    "the start line names the secondary"

req get "$PROXY_URL/v1/items/7?full=1" -H 'X-Custom: one'
is "$HTTP_CODE" 200 "GET: the client got the primary's status"
is "$BODY" "$PBODY" "GET: the client got the primary's body"
GET_ID=$TRACE
printf '{"name":"eight","tags":["a","b"]}' >"$T/post.req"
req post -X POST -H 'Content-Type: application/json' \
    --data-binary "@$T/post.req" "$PROXY_URL/v1/items"
is "$HTTP_CODE" 200 "POST: the client got the primary's status"
POST_ID=$TRACE
ok "both exchanges are captured" wait_for 10 cap_has_id "$CAP" "$POST_ID"
ok "both exchanges are captured (GET)" cap_has_id "$CAP" "$GET_ID"

for id in "$GET_ID" "$POST_ID"; do
	for b in primary candidate secondary; do
		is "$(request_of $b "$id" | wc -l | tr -d ' ')" 1 \
		    "$b received the request $id once"
	done
	c=$(request_of candidate "$id")
	is "$(request_of secondary "$id")" "$c" \
	    "the secondary received exactly the candidate's request $id"
done
is "$(request_of secondary "$POST_ID" | jq -r .body)" \
    "$(cat "$T/post.req")" "the secondary received the POST's body"
is "$(request_of secondary "$GET_ID" | jq -r .target)" "/v1/items/7?full=1" \
    "the secondary received the target with its query"

is "$(cap_get "$CAP" "$GET_ID" '.responses | keys | join(",")')" \
    "candidate,primary,secondary" "the capture holds three responses"
is "$(cap_get "$CAP" "$GET_ID" .responses.primary.body)" "$PBODY" \
    "responses.primary is the primary's body"
is "$(cap_get "$CAP" "$GET_ID" .responses.candidate.body)" "$PBODY" \
    "responses.candidate is the candidate's body"
is "$(cap_get "$CAP" "$GET_ID" .responses.secondary.status)" 201 \
    "responses.secondary has the secondary's status"
is "$(cap_get "$CAP" "$GET_ID" .responses.secondary.body)" "$SBODY" \
    "responses.secondary has the secondary's body"
is "$(cap_get "$CAP" "$GET_ID" '.responses.secondary | has("self_check")')" \
    false "a second copy's response is not marked self_check"
is "$(cap_get "$CAP" "$GET_ID" '.responses.secondary.ms > 0')" true \
    "responses.secondary is timed"
is "$(cap_get "$CAP" "$GET_ID" .verdict)" match \
    "a secondary with another status and body: the verdict stays match"
is "$(cap_get "$CAP" "$GET_ID" '.diffs | length')" 0 \
    "a secondary's difference is not a diff of the exchange"
is "$(grep -c '^DIVERGE' "$PROXY_ERR")" 0 "no DIVERGE line"

scrape
is "$HTTP_CODE" 200 "GET /metrics"
is "$(metric 'paritytap_inflight{side="secondary"}')" 0 \
    "paritytap_inflight has side=\"secondary\""
is "$(metric 'paritytap_backend_latency_seconds_count{side="secondary",route="GET /v1/items/{id}"}')" \
    1 "the secondary's latency is in paritytap_backend_latency_seconds"
is "$(metric 'paritytap_backend_errors_total{side="secondary",reason="connect"}')" \
    0 "paritytap_backend_errors_total has side=\"secondary\""
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"

# --- a secondary that cannot be reached ---------------------------------
# A port that was listening and is not any more: connect is refused.
start_backend gone "$T/primary.json"
GONE=http://127.0.0.1:$(backend_port gone)
stop_backend gone
CAP2=$T/down.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --secondary "$GONE" \
    --capture "$CAP2" --admin 127.0.0.1:0 || bail "the proxy did not start"
ADMIN=$(admin_addr)
req down "$PROXY_URL/v1/items/9"
is "$HTTP_CODE" 200 "secondary down: the client got the primary's 200"
is "$BODY" "$PBODY" "secondary down: the client got the primary's body"
ok "secondary down: the exchange is captured" \
    wait_for 10 cap_has_id "$CAP2" "$TRACE"
is "$(cap_get "$CAP2" "$TRACE" .responses.secondary.error)" connect \
    "secondary down: responses.secondary.error is connect"
is "$(cap_get "$CAP2" "$TRACE" .responses.secondary.status)" 0 \
    "secondary down: responses.secondary.status is 0"
is "$(cap_get "$CAP2" "$TRACE" .verdict)" match \
    "secondary down: the verdict stays match"
is "$(cap_get "$CAP2" "$TRACE" '.diffs | length')" 0 \
    "secondary down: no diff"
scrape
is "$(metric 'paritytap_backend_errors_total{side="secondary",reason="connect"}')" \
    1 "secondary down: counted in paritytap_backend_errors_total"
stop_proxy
is "$PROXY_STATUS" 0 "secondary down: the proxy exits 0"
is "$(grep -c '^DIVERGE' "$PROXY_ERR")" 0 "secondary down: no DIVERGE line"

# --- a slow secondary ----------------------------------------------------
start_backend slow "$T/slow.json"
SLOW=http://127.0.0.1:$(backend_port slow)
CAP3=$T/slow.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --secondary "$SLOW" \
    --capture "$CAP3" --secondary-timeout $((2 * HOUR)) ||
    bail "the proxy did not start"
req slow1 "$PROXY_URL/v1/items/10"
is "$HTTP_CODE" 200 "slow secondary: the client got the primary's 200"
ok "slow secondary: the secondary got the request" \
    wait_for 10 backend_nrequests_ge slow 1
is "$(backend_events slow '.event == "respond"' | wc -l | tr -d ' ')" 0 \
    "slow secondary: the client was answered before the secondary answered"
is "$(cap_nlines "$CAP3")" 0 \
    "slow secondary: the exchange waits for the secondary"
backend_release slow
ok "slow secondary: captured once the secondary answered" \
    wait_for 10 cap_has_id "$CAP3" "$TRACE"
is "$(cap_get "$CAP3" "$TRACE" .responses.secondary.status)" 200 \
    "slow secondary: its answer is recorded"
stop_proxy

# Past --secondary-timeout: a secondary error "timeout", nothing else.
start_backend slow2 "$T/slow.json"
SLOW2=http://127.0.0.1:$(backend_port slow2)
CAP4=$T/timeout.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --secondary "$SLOW2" \
    --capture "$CAP4" --secondary-timeout 300 ||
    bail "the proxy did not start"
req slow2 "$PROXY_URL/v1/items/11"
is "$HTTP_CODE" 200 "secondary timeout: the client got the primary's 200"
ok "secondary timeout: captured" wait_for 10 cap_has_id "$CAP4" "$TRACE"
is "$(cap_get "$CAP4" "$TRACE" .responses.secondary.error)" timeout \
    "secondary timeout: responses.secondary.error is timeout"
is "$(cap_get "$CAP4" "$TRACE" .responses.candidate.status)" 200 \
    "secondary timeout: the candidate's answer is recorded"
is "$(cap_get "$CAP4" "$TRACE" .verdict)" match \
    "secondary timeout: the verdict stays match"
stop_proxy
is "$PROXY_STATUS" 0 "secondary timeout: the proxy exits 0"

# --- a request not mirrored is not sent to the secondary either -------
CAP5=$T/methods.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --secondary "$SEC" \
    --capture "$CAP5" --mirror-methods GET || bail "the proxy did not start"
n0=$(backend_nrequests secondary)
req put -X PUT --data-binary x "$PROXY_URL/v1/items/12"
is "$HTTP_CODE" 200 "a PUT not mirrored: the client got the primary's 200"
ok "a PUT not mirrored: captured" wait_for 10 cap_has_id "$CAP5" "$TRACE"
is "$(cap_get "$CAP5" "$TRACE" '.responses | has("secondary")')" false \
    "a PUT not mirrored: no responses.secondary"
stop_proxy
is "$(backend_nrequests secondary)" "$n0" \
    "a PUT not mirrored: the secondary received nothing"

# --- the config file's key ----------------------------------------------
CAP6=$T/config.jsonl
printf '[proxy]\nsecondary = %s\n' "$SEC" >"$T/pt.conf"
start_proxy --primary "$PRI" --candidate "$CAN" --config "$T/pt.conf" \
    --capture "$CAP6" || bail "the proxy did not start"
req conf "$PROXY_URL/v1/items/13"
ok "config secondary: captured" wait_for 10 cap_has_id "$CAP6" "$TRACE"
is "$(cap_get "$CAP6" "$TRACE" .responses.secondary.body)" "$SBODY" \
    "secondary = URL in [proxy]: the secondary's answer is recorded"
stop_proxy

# --- usage errors --------------------------------------------------------
usage() {	# usage NAME ARGS...: a proxy that must not start
	_n=$1
	shift
	"$PARITYTAP" proxy --listen 127.0.0.1:0 --primary "$PRI" \
	    --candidate "$CAN" "$@" >"$T/$_n.out" 2>"$T/$_n.err" </dev/null
	ST=$?
	ERR=$(cat "$T/$_n.err")
}
usage ftp --secondary ftp://example.com/
is "$ST" 2 "--secondary ftp://...: exit 2"
like "$ERR" "^paritytap proxy: --secondary ftp://example.com/: only http://" \
    "--secondary ftp://...: the message names --secondary and the URL"
usage path --secondary "$SEC/v1?x=1"
is "$ST" 2 "--secondary with a query: exit 2"
like "$ERR" "^paritytap proxy: --secondary $SEC/v1[?]x=1: a query or fragment" \
    "--secondary with a query: the message names --secondary"
usage none --secondary
is "$ST" 2 "--secondary without a value: exit 2"
like "$ERR" "option --secondary needs a value" \
    "--secondary without a value: said"
usage tmo --secondary "$SEC" --secondary-timeout 0
is "$ST" 2 "--secondary-timeout 0: exit 2"
like "$ERR" "^paritytap proxy: --secondary-timeout: " \
    "--secondary-timeout 0: the message names the option"
usage both --secondary "$SEC" --self-check 0.5
is "$ST" 2 "--secondary and --self-check: exit 2"
like "$ERR" "^paritytap proxy: --secondary and --self-check: choose one" \
    "--secondary and --self-check: the message names both"

"$PARITYTAP" proxy --help >"$T/help.out"
like "$(cat "$T/help.out")" "^      --secondary URL " "--help lists --secondary"
like "$(cat "$T/help.out")" "^      --secondary-timeout DURATION " \
    "--help lists --secondary-timeout"

done_testing
