#!/bin/sh
# The grace period and a second SIGTERM with --threads 4: exchanges held
# by a primary that never answers, on connections spread over the loops,
# are all recorded as timed out, by the loop that holds each, when the one
# grace period is over or at once on a second SIGTERM; the proxy exits 0
# with a capture line for each.
#
# No clock: the primary holds its answers for an hour; the grace period is
# either shorter than that (300 ms) or two hours and cut short by the
# second signal.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

HANG=6
jq -n '{routes: [{path: "/hang", delay_ms: 3600000, body: "late"}],
    default: {status: 200, body: "{}",
    headers: [["Content-Type", "application/json"]]}}' >"$T/primary.json"
jq -n '{default: {status: 200, body: "{}",
    headers: [["Content-Type", "application/json"]]}}' >"$T/candidate.json"
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
PRIMARY=http://127.0.0.1:$(backend_port primary)
CANDIDATE=http://127.0.0.1:$(backend_port candidate)

NCASE=0

# hang_case NAME PROXY-ARGS...: HANG requests to /hang, each on its own
# connection, until the primary has them all; then SIGTERM.  Sets CAP.
hang_case() {
	_name=$1
	shift
	CAP=$T/$_name.jsonl
	start_proxy --primary "$PRIMARY" --candidate "$CANDIDATE" \
	    --capture "$CAP" --threads 4 "$@" ||
	    bail "the proxy did not start"
	_k=1
	while [ "$_k" -le "$HANG" ]; do
		curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -o /dev/null \
		    "$PROXY_URL/hang?c=$_name&k=$_k" 2>/dev/null &
		track $!
		_k=$((_k + 1))
	done
	ok "$_name: the primary has the $HANG requests" wait_for 30 sh -c \
	    "[ \$(jq -cR 'fromjson? | select(.event == \"request\" and
	    (.target | startswith(\"/hang?c=$_name&\")))' '$T/primary.log' |
	    wc -l) -eq $HANG ]"
	NCASE=$((NCASE + 1))
	ok "$_name: the candidate answered them" wait_for 30 sh -c \
	    "[ \$(jq -cR 'fromjson? | select(.event == \"respond\")' \
	    '$T/candidate.log' | wc -l) -ge $((NCASE * HANG)) ]"
	kill -TERM "$PROXY_PID"
}

# check NAME: what the capture and the exit say.
check() {
	wait_pid "$PROXY_PID" 60
	is "$WAIT_STATUS" 0 "$1: the proxy exits 0"
	PROXY_PID=
	ok "$1: the capture has no torn line" cap_valid "$CAP"
	is "$(cap_nlines "$CAP")" "$HANG" "$1: a capture line for each request"
	is "$(jq -r .responses.primary.error "$CAP" | grep -c '^timeout$')" \
	    "$HANG" "$1: each primary side is recorded as timed out"
	is "$(jq -r .responses.candidate.status "$CAP" | grep -c '^200$')" \
	    "$HANG" "$1: each candidate's answer is recorded"
	is "$(jq -r .request.target "$CAP" | sort -u | grep -c "^/hang?c=$1&")" \
	    "$HANG" "$1: each request once"
	like "$(cat "$PROXY_ERR")" "paritytap proxy: $HANG exchanges" \
	    "$1: the exit summary counts them"
	is "$(grep -c 'grace period over' "$PROXY_ERR")" 1 \
	    "$1: the grace period ends once, for every loop"
}

hang_case expiry --grace 300
check expiry

hang_case again --grace 7200000
ok "again: the proxy says it is stopping" \
    wait_for 30 grep -q '^paritytap: SIGTERM: stopping' "$PROXY_ERR"
ok "again: the proxy waits for its exchanges" alive "$PROXY_PID"
kill -TERM "$PROXY_PID"
check again
contains "$(cat "$PROXY_ERR")" "SIGTERM again: not waiting for the grace period" \
    "again: the second SIGTERM ends the wait"

done_testing
