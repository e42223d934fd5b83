#!/bin/sh
# A client slower than the primary: the proxy stops reading the primary
# instead of buffering the whole response, and a client that leaves
# mid-response does not leave the primary paused: the exchange is still
# recorded, complete, long before --primary-timeout.  No step depends on
# how fast the machine is: the client leaves after a set number of bytes,
# and --primary-timeout is an hour, so the exchange recorded with no
# error while the proxy runs was recorded before it.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

# 40 MB from the primary; the candidate's copy is short, it does not matter.
head -c 40000000 /dev/zero | tr '\0' 'x' >"$T/big.txt"
jq -n --arg f "$T/big.txt" '{routes: [{method: "GET", path: "/big",
    status: 200, headers: [["Content-Type", "text/plain"]],
    body_file: $f}]}' >"$T/primary.json"
start_backend primary "$T/primary.json"
start_backend candidate
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --max-body 64k --primary-timeout 3600000 --capture "$CAP" ||
    bail "the proxy did not start"

# Read at 20 MB/s: two seconds for the whole body.
req slow --limit-rate 20M "$PROXY_URL/big"
is "$HTTP_CODE" 200 "slow reader: 200"
is "$(wc -c <"$T/slow.body" | tr -d ' ')" 40000000 \
    "slow reader: all 40000000 bytes arrived"
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$PROXY_PID/status")
if san=$(sanitized); then
	skip "peak memory is not meaningful under $san"
else
	cmp_ok "$hwm" -lt 30000 \
	    "the proxy's peak memory stayed under 30 MB for a 40 MB response (${hwm} kB)"
fi

# A client that gives up after the first megabyte: it leaves with most of
# the 40 MB still to come (curl stops when head closes the pipe).
curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -D "$T/gone.hdr" \
    "$PROXY_URL/big" 2>/dev/null |
    head -c 1000000 | wc -c >"$T/gone.n"
is "$(tr -d ' ' <"$T/gone.n")" 1000000 "the client that left read 1 MB"
id=$(header_of "$T/gone.hdr" "$TRACE_HEADER")
isnt "$id" "" "the client that left got the response head and trace id"
ok "its exchange is recorded" wait_for 60 cap_has_id "$CAP" "$id"
ok "... while the proxy runs, before --primary-timeout (1 h)" \
    alive "$PROXY_PID"
is "$(cap_get "$CAP" "$id" '.responses.primary.error // "none"')" none \
    "the primary is not recorded as failed"
is "$(cap_get "$CAP" "$id" .responses.primary.body_bytes)" 40000000 \
    "the primary's whole body was read (body_bytes)"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
done_testing
