#!/bin/sh
# replay --set-header 'NAME: VALUE' (repeatable; config key set-header):
# a request whose capture redacted that header ("[redacted]") is sent
# with VALUE in its place instead of being skipped.  VALUE may be $VAR
# (from the environment) or @FILE (the file's first line), so a secret
# stays off the command line; an unset variable or a missing file is a
# usage error naming it.  A header the capture did not redact is sent as
# recorded.  Without it, such a request is skipped, as before.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

jq -n '{default: {status: 200, headers: [["Content-Type", "application/json"]],
    body: "{\"ok\":true}"}}' >"$T/b.json"
start_backend primary "$T/b.json"
start_backend candidate "$T/b.json"
PRI=http://127.0.0.1:$(backend_port primary)
CAN=http://127.0.0.1:$(backend_port candidate)

# line ID TARGET AUTH COOKIE: a recorded GET with these header values.
line() {
	jq -cn --arg id "$1" --arg t "$2" --arg a "$3" --arg c "$4" '
	    {paritytap: 1, id: $id, ts: "2026-05-02T10:00:00.000000Z",
	    source: "proxy", request: {method: "GET", target: $t,
	    version: "1.1", headers: [{name: "Host", value: "api.example"},
	    {name: "Authorization", value: $a}, {name: "Cookie", value: $c},
	    {name: "X-Kept", value: "yes"}], body: "", body_bytes: 0},
	    responses: {primary: {status: 200, headers: [{name: "Content-Type",
	    value: "application/json"}], body: "{\"ok\":true}", body_bytes: 11,
	    ms: 1}}, verdict: "recorded", diffs: []}'
}
IN=$T/in.jsonl
{
	line s-1 /secret/1 '[redacted]' 'sid=plain'
	line s-2 /secret/2 'Bearer recorded' '[redacted]'
	line s-3 /secret/3 '[redacted]' '[redacted]'
} >"$IN"

# sent NAME ID: the headers (in order) a backend received with that id.
sent() {
	backend_requests "$1" | jq -c --arg id "$2" \
	    'select(any(.headers[]; .[0] == "X-Paritytap-Trace-Id" and
	    .[1] == $id)) | [.headers[] | select(.[0] | test("^(host|
	    authorization|cookie|x-kept)$"; "ix"))]'
}

# replay NAME ARGS...: sets ST, OUT, ERR.
replay() {
	_n=$1
	shift
	"$PARITYTAP" replay "$@" >"$T/$_n.out" 2>"$T/$_n.err" </dev/null
	ST=$?
	OUT=$(cat "$T/$_n.out")
	ERR=$(cat "$T/$_n.err")
}

# --- without --set-header: skipped, as before ---------------------------
replay none --json --primary "$PRI" --candidate "$CAN" "$IN"
is "$ST" 0 "no --set-header: exit 0"
is "$(printf '%s' "$OUT" | jq -r '[.skipped[].reason] | join(",")')" \
    redacted,redacted,redacted "no --set-header: all three skipped, redacted"
is "$(backend_nrequests candidate)" 0 "no --set-header: nothing sent"
like "$ERR" "SKIP redacted .*--set-header gives its value" \
    "no --set-header: the SKIP line names --set-header"

# --- $VAR for Authorization, @FILE for Cookie ----------------------------
printf 'sid=from-file\nsecond line ignored\n' >"$T/cookie"
PT_TOKEN='Bearer from-env' \
    replay both --json --primary "$PRI" --candidate "$CAN" \
    --set-header 'Authorization: $PT_TOKEN' \
    --set-header "Cookie: @$T/cookie" "$IN"
is "$ST" 0 "\$VAR and @FILE: exit 0"
is "$(printf '%s' "$OUT" | jq -r '.skipped | length')" 0 \
    "\$VAR and @FILE: nothing skipped"
for b in primary candidate; do
	is "$(sent $b s-1)" '[["Host","api.example"],["Authorization","Bearer from-env"],["Cookie","sid=plain"],["X-Kept","yes"]]' \
	    "$b: the redacted Authorization filled from the environment"
	is "$(sent $b s-2)" '[["Host","api.example"],["Authorization","Bearer recorded"],["Cookie","sid=from-file"],["X-Kept","yes"]]' \
	    "$b: the redacted Cookie filled from the file's first line, the recorded Authorization kept"
	is "$(sent $b s-3)" '[["Host","api.example"],["Authorization","Bearer from-env"],["Cookie","sid=from-file"],["X-Kept","yes"]]' \
	    "$b: both filled"
done

# --- only one given: the other redacted one still skips ------------------
n0=$(backend_nrequests candidate)
replay one --json --candidate "$CAN" \
    --set-header 'authorization: Bearer literal' "$IN"
is "$(printf '%s' "$OUT" | jq -r '[.skipped[].reason] | join(",")')" \
    redacted,redacted "one --set-header: the two with a redacted Cookie skip"
is "$(backend_nrequests candidate)" $((n0 + 1)) \
    "one --set-header: one request sent"
is "$(backend_requests candidate | tail -n 1 | jq -c '[.target,
    (.headers[] | select(.[0] == "Authorization") | .[1])]')" \
    '["/secret/1","Bearer literal"]' \
    "one --set-header: a literal value, the name matched in any case"

# --- the config file --------------------------------------------------------
printf '[replay]\nset-header = Authorization: $PT_TOKEN\nset-header = Cookie: @%s\n' \
    "$T/cookie" >"$T/r.conf"
PT_TOKEN='Bearer cfg' replay cfg --json --candidate "$CAN" \
    --config "$T/r.conf" "$IN"
is "$(printf '%s' "$OUT" | jq -r '.skipped | length')" 0 \
    "config: nothing skipped"
is "$(backend_requests candidate | tail -n 1 | jq -c '[.headers[] |
    select(.[0] == "Authorization" or .[0] == "Cookie") | .[1]]')" \
    '["Bearer cfg","sid=from-file"]' "config: the keys' values sent"

# --- usage errors -----------------------------------------------------------
unset PT_UNSET_VAR
n0=$(backend_nrequests candidate)
replay unset --candidate "$CAN" --set-header 'Authorization: $PT_UNSET_VAR' "$IN"
is "$ST" 2 "unset \$VAR: exit 2"
like "$ERR" '^paritytap replay: --set-header: Authorization: \$PT_UNSET_VAR is not set' \
    "unset \$VAR: the message names the variable"
replay nofile --candidate "$CAN" --set-header "Cookie: @$T/absent" "$IN"
is "$ST" 2 "missing @FILE: exit 2"
like "$ERR" "^paritytap replay: --set-header: Cookie: $T/absent: No such file" \
    "missing @FILE: the message names the file"
: >"$T/empty"
replay empty --candidate "$CAN" --set-header "Cookie: @$T/empty" "$IN"
is "$ST" 2 "empty @FILE: exit 2"
like "$ERR" "^paritytap replay: --set-header: Cookie: $T/empty is empty" \
    "empty @FILE: the message says so"
printf 'a\001b\n' >"$T/ctl"
replay ctl --candidate "$CAN" --set-header "Cookie: @$T/ctl" "$IN"
is "$ST" 2 "a control character from @FILE: exit 2"
like "$ERR" "^paritytap replay: --set-header: Cookie: the value holds a control character" \
    "a control character from @FILE: the message says so"
PT_CRLF=$(printf 'x\r\nX-Evil: 1') replay crlf --candidate "$CAN" \
    --set-header 'Authorization: $PT_CRLF' "$IN"
is "$ST" 2 "CR LF from \$VAR: exit 2"
like "$ERR" "^paritytap replay: --set-header: Authorization: the value holds a control character" \
    "CR LF from \$VAR: the message says so"
replay nocolon --candidate "$CAN" --set-header 'Authorization' "$IN"
is "$ST" 2 "no colon: exit 2"
like "$ERR" "^paritytap replay: --set-header: 'Authorization': no colon" \
    "no colon: the message names the option"
replay hop --candidate "$CAN" --set-header 'Transfer-Encoding: chunked' "$IN"
is "$ST" 2 "Transfer-Encoding: exit 2"
like "$ERR" "^paritytap replay: --set-header: Transfer-Encoding frames the request" \
    "Transfer-Encoding: the message names it"
is "$(backend_nrequests candidate)" "$n0" "usage errors: nothing sent"
like "$("$PARITYTAP" replay --help)" "^      --set-header 'NAME: VALUE' " \
    "replay --help lists --set-header"

done_testing
