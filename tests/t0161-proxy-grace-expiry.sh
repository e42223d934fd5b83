#!/bin/sh
# SIGTERM's grace period runs out (DESIGN §7.6) while a primary still
# hangs and the exchange's other side is already finished: the candidate
# answered, or the mirror was skipped.  The proxy records the exchange
# with the primary timed out, flushes the capture and exits 0.  (Ending
# such an exchange once read it again after it was freed; the sanitizer
# build catches that.)

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

jq -n '{routes: [{path: "/hang", delay_ms: 60000, body: "late"}],
    default: {status: 200, body: "{}",
    headers: [["Content-Type", "application/json"]]}}' >"$T/primary.json"
jq -n '{default: {status: 200, body: "{}",
    headers: [["Content-Type", "application/json"]]}}' >"$T/candidate.json"
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
PRIMARY=http://127.0.0.1:$(backend_port primary)
CANDIDATE=http://127.0.0.1:$(backend_port candidate)

# grace_case NAME METHOD PROXY-ARGS...: one request to /hang in flight,
# SIGTERM once the primary has it (and the candidate answered, if it is
# mirrored), a grace of 300 ms.  Sets CAP and ID.
grace_case() {
	_name=$1
	_method=$2
	shift 2
	CAP=$T/$_name.jsonl
	start_proxy --primary "$PRIMARY" --candidate "$CANDIDATE" \
	    --capture "$CAP" --grace 300 "$@" ||
	    bail "the proxy did not start"
	curl -sS --noproxy '*' --max-time 20 -X "$_method" -o /dev/null \
	    "$PROXY_URL/hang?c=$_name" 2>/dev/null &
	track $!
	ok "$_name: the primary has the request" wait_for 10 backend_has \
	    primary ".target == \"/hang?c=$_name\""
	ID=$(backend_events primary ".target == \"/hang?c=$_name\"" |
	    jq -r '.headers[] | select(.[0] == "'"$TRACE_HEADER"'") | .[1]')
	if [ "$_method" = GET ]; then
		_conn=$(backend_events candidate \
		    ".event == \"request\" and .target == \"/hang?c=$_name\"" |
		    jq -r .conn)
		ok "$_name: the candidate answered" wait_for 10 backend_has \
		    candidate ".event == \"respond\" and .conn == ${_conn:-0}"
	fi
	stop_proxy TERM
	is "$PROXY_STATUS" 0 "$_name: the proxy exits 0 when the grace runs out"
	unlike "$(cat "$PROXY_ERR")" 'AddressSanitizer|runtime error' \
	    "$_name: no sanitizer report"
	ok "$_name: the capture has no torn line" cap_valid "$CAP"
	is "$(cap_nlines "$CAP")" 1 "$_name: one capture line"
	is "$(cap_get "$CAP" "$ID" .responses.primary.error)" timeout \
	    "$_name: the primary is recorded as timed out"
}

grace_case answered GET
is "$(cap_get "$CAP" "$ID" .responses.candidate.status)" 200 \
    "answered: the candidate's answer is recorded"
is "$(cap_get "$CAP" "$ID" .verdict)" primary_error \
    "answered: the verdict is primary_error"

grace_case skipped POST --mirror-methods GET
is "$(cap_get "$CAP" "$ID" .verdict)" skipped \
    "skipped: the verdict is skipped"
is "$(cap_get "$CAP" "$ID" .skip_reason)" method \
    "skipped: for its method"
is "$(cap_get "$CAP" "$ID" '.responses.candidate // "none"')" none \
    "skipped: no candidate response"

done_testing
