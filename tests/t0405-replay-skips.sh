#!/bin/sh
# paritytap replay and requests a capture does not hold whole: a request
# body cut at --capture-body-limit cannot be replayed (skipped, reason
# "truncated"); a request whose Authorization or Cookie the capture
# redacted is skipped (reason "redacted") unless --drop-redacted, which
# sends it without those headers.  The capture is recorded here with the
# proxy in front of an echo backend.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

start_backend echo
EURL=http://127.0.0.1:$(backend_port echo)
CAP=$T/mixed.jsonl
start_proxy --primary "$EURL" --candidate "$EURL" --capture "$CAP" \
    --capture-body-limit 64 || bail "the proxy did not start"
req plain "$PROXY_URL/items/1"
req secret -H 'Authorization: Bearer s3cr3t' -H 'X-Test: kept' \
    "$PROXY_URL/items/2"
long=$(printf '%0200d' 0)
req big -X POST --data-binary "{\"pad\":\"$long\"}" "$PROXY_URL/upload"
stop_proxy
is "$(cap_nlines "$CAP")" 3 "the proxy recorded 3 exchanges"
is "$(jq -r 'select(.route == "POST /upload") | .request.truncated' "$CAP")" \
    true "the capture cut the large request body"
is "$(jq -r 'select(.request.target == "/items/2") | .request.headers[] |
    select(.name == "Authorization") | .value' "$CAP")" '[redacted]' \
    "the capture redacted the Authorization header"

# replay ARGS...: run paritytap replay; sets RC, OUT (stdout), ERR (stderr).
replay() {
	"$PARITYTAP" replay "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

n0=$(backend_nrequests echo)
replay --json --primary "$EURL" --candidate "$EURL" \
    --capture "$T/replayed.jsonl" "$CAP"
is "$RC" 0 "skipped exchanges do not fail the run"
like "$ERR" '^paritytap: SKIP truncated POST /upload id=[^ ]+: the recorded request body was cut' \
    "the cut request is skipped, and stderr says why"
like "$ERR" '^paritytap: SKIP redacted GET /items/\{id\} id=[^ ]+: a header was redacted' \
    "the redacted request is skipped, and stderr says why"
is "$(printf '%s' "$OUT" | jq -r '[.skipped[].reason] | sort | join(",")')" \
    redacted,truncated "--json lists both skips with their reasons"
like "$(printf '%s' "$OUT" | jq -r .summary)" '· 2 skipped$' \
    "the summary counts 2 skipped"
is "$(backend_nrequests echo)" $((n0 + 2)) \
    "only the plain request was sent (to both sides)"
is "$(jq -r 'select(.verdict == "skipped") | .skip_reason // .reason' \
    "$T/replayed.jsonl" | sort | tr '\n' ' ')" 'redacted truncated ' \
    "--capture records the skips with their reasons"

replay -q --drop-redacted --candidate "$EURL" "$CAP"
is "$(backend_nrequests echo)" $((n0 + 4)) \
    "--drop-redacted: the redacted request is sent too"
got=$(backend_requests echo | tail -n 1 | jq -r '[.headers[] | .[0]] |
    join(",")')
unlike "$got" 'Authorization' "--drop-redacted: without the redacted header"
like "$got" 'X-Test' "--drop-redacted: with the other headers"
like "$OUT" '· 1 skipped$' "--drop-redacted: only the cut request is skipped"

done_testing
