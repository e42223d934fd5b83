#!/bin/sh
# Backends that are down or slow (DESIGN §7.5, §4.1): a dead candidate is
# a candidate_error the client never sees; a dead primary is a 502 with a
# JSON body naming the cause and the trace id; a primary past
# --primary-timeout is a 504.  Every case is captured with its verdict.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

BODY_P='{"side":"primary","n":1}'
BODY_C='{"side":"candidate","n":1}'
jq -n --arg b "$BODY_P" '{routes: [{path: "/slow", delay_ms: 3600000,
    headers: [["Content-Type", "application/json"]], body: $b}],
    default: {status: 200, headers: [["Content-Type", "application/json"]],
    body: $b}}' >"$T/primary.json"
jq -n --arg b "$BODY_C" '{default: {status: 200,
    headers: [["Content-Type", "application/json"]], body: $b}}' \
    >"$T/candidate.json"
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
PRI=http://127.0.0.1:$(backend_port primary)
CAN=http://127.0.0.1:$(backend_port candidate)
# A backend that is down for sure: a port held bound but not listening,
# so a connection to it is refused and no other process can take it.
"$RAWCLIENT" --bound-port >"$T/dead.port" 2>"$T/dead.berr" &
track $!
ok "a dead port is held" wait_for 30 test -s "$T/dead.port"
DEAD=http://127.0.0.1:$(cat "$T/dead.port")

# --- the candidate is down ---
CAP=$T/cand-down.jsonl
start_proxy --primary "$PRI" --candidate "$DEAD" --capture "$CAP" ||
    bail "the proxy did not start with a dead candidate"
req cd "$PROXY_URL/orders/list"
is "$HTTP_CODE" 200 "candidate down: the client got the primary's 200"
is "$BODY" "$BODY_P" "candidate down: the client got the primary's body"
ok "candidate down: the exchange is captured" \
    wait_for 10 cap_has_id "$CAP" "$TRACE"
is "$(cap_get "$CAP" "$TRACE" .verdict)" candidate_error \
    "candidate down: verdict candidate_error"
is "$(cap_get "$CAP" "$TRACE" .responses.candidate.error)" connect \
    "candidate down: the candidate's error is 'connect'"
is "$(cap_get "$CAP" "$TRACE" .responses.candidate.status)" 0 \
    "candidate down: the candidate's status is 0"
is "$(cap_get "$CAP" "$TRACE" .responses.primary.body)" "$BODY_P" \
    "candidate down: the primary's response is recorded"
stop_proxy
is "$PROXY_STATUS" 0 "candidate down: the proxy exits 0"
like "$(diverge_lines)" "^DIVERGE candidate_error GET /orders/list id=$TRACE " \
    "candidate down: flagged live as candidate_error"

# --- the primary is down ---
CAP=$T/prim-down.jsonl
start_proxy --primary "$DEAD" --candidate "$CAN" --capture "$CAP" ||
    bail "the proxy did not start with a dead primary"
req pd "$PROXY_URL/orders/list"
is "$HTTP_CODE" 502 "primary down: the client gets 502"
is "$(header_of "$T/pd.hdr" Content-Type | cut -d';' -f1)" application/json \
    "primary down: the 502 is application/json"
like "$TRACE" '^[[:graph:]]+$' "primary down: the 502 carries $TRACE_HEADER"
is "$(jq -r .trace_id "$T/pd.body" 2>/dev/null)" "$TRACE" \
    "primary down: the body's trace_id is the trace header"
like "$(jq -r .error "$T/pd.body" 2>/dev/null)" 'connect' \
    "primary down: the body's error names the connect failure"
ok "primary down: the exchange is captured" \
    wait_for 10 cap_has_id "$CAP" "$TRACE"
is "$(cap_get "$CAP" "$TRACE" .verdict)" primary_error \
    "primary down: verdict primary_error"
is "$(cap_get "$CAP" "$TRACE" .responses.primary.error)" connect \
    "primary down: the primary's error is 'connect'"
is "$(cap_get "$CAP" "$TRACE" .responses.primary.status)" 0 \
    "primary down: the primary's status is 0"
is "$(cap_get "$CAP" "$TRACE" .responses.candidate.status)" 200 \
    "primary down: the candidate's answer is recorded"
stop_proxy
is "$PROXY_STATUS" 0 "primary down: the proxy exits 0"
like "$(diverge_lines)" "^DIVERGE primary_error GET /orders/list id=$TRACE " \
    "primary down: flagged live as primary_error"

# --- both are down: never a match ---
CAP=$T/both-down.jsonl
start_proxy --primary "$DEAD" --candidate "$DEAD" --capture "$CAP" ||
    bail "the proxy did not start with both backends dead"
req bd "$PROXY_URL/orders/list"
is "$HTTP_CODE" 502 "both down: the client gets 502"
ok "both down: the exchange is captured" \
    wait_for 10 cap_has_id "$CAP" "$TRACE"
is "$(cap_get "$CAP" "$TRACE" .verdict)" both_failed \
    "both down: verdict both_failed"
stop_proxy
is "$PROXY_STATUS" 0 "both down: the proxy exits 0"

# --- the primary is slower than --primary-timeout ---
CAP=$T/prim-slow.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --capture "$CAP" \
    --primary-timeout 300 || bail "the proxy did not start"
req ps "$PROXY_URL/slow"
is "$HTTP_CODE" 504 "primary timeout: the client gets 504"
is "$(jq -r .trace_id "$T/ps.body" 2>/dev/null)" "$TRACE" \
    "primary timeout: the body's trace_id is the trace header"
like "$(jq -r .error "$T/ps.body" 2>/dev/null)" 'timeout' \
    "primary timeout: the body's error names the timeout"
ok "primary timeout: the exchange is captured" \
    wait_for 10 cap_has_id "$CAP" "$TRACE"
is "$(cap_get "$CAP" "$TRACE" .verdict)" primary_error \
    "primary timeout: verdict primary_error"
is "$(cap_get "$CAP" "$TRACE" .responses.primary.error)" timeout \
    "primary timeout: the primary's error is 'timeout'"
# The proxy stays usable after a timed-out primary connection.
req after "$PROXY_URL/orders/list"
is "$HTTP_CODE" 200 "after a primary timeout the next request gets 200"
is "$BODY" "$BODY_P" "... with the primary's body"
stop_proxy
is "$PROXY_STATUS" 0 "primary timeout: the proxy exits 0"

# --- a client that gives up before the (slow) primary answers: the
# request was accepted, so it is still exactly one capture line ---
CAP=$T/gave-up.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --capture "$CAP" ||
    bail "the proxy did not start"
# The client leaves once the primary holds the request (an hour, until
# released), then the primary is released.
curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -o /dev/null \
    -w '%{http_code}' -H "$TRACE_HEADER: client-gave-up-1" \
    "$PROXY_URL/slow" >"$T/gaveup.code" 2>/dev/null &
gaveup_pid=$!
track "$gaveup_pid"
ok "gave up: the primary got the request" \
    wait_for 10 backend_has primary \
    '.event == "request" and .headers[][1] == "client-gave-up-1"'
kill -TERM "$gaveup_pid"
wait_pid "$gaveup_pid" 30
is "$(cat "$T/gaveup.code")" "" "gave up: the client left before the answer"
backend_release primary
req next "$PROXY_URL/orders/list"
is "$HTTP_CODE" 200 "gave up: the proxy still serves the next client"
stop_proxy
is "$PROXY_STATUS" 0 "gave up: the proxy exits 0"
is "$(jq -c 'select(.id == "client-gave-up-1")' "$CAP" | wc -l | tr -d ' ')" 1 \
    "gave up: exactly one capture line for the abandoned exchange"

done_testing
