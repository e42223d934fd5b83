#!/bin/sh
# replay --secondary URL: each replayed request also goes to a second copy
# of the primary, which gets exactly the candidate's request; its answer is
# responses.secondary of the replay's capture, and it never changes a
# verdict or the exit status.  replay --self-check RATE (with a live
# --primary) sends a sample of the GET and HEAD requests to the primary a
# second time; a POST is never sent twice.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

BODY='{"id":1,"name":"one"}'
jq -n --arg b "$BODY" '{default: {status: 200,
    headers: [["Content-Type", "application/json"]], body: $b}}' \
    >"$T/same.json"
jq -n '{default: {status: 500,
    headers: [["Content-Type", "application/json"]],
    body_json: {error: "secondary"}}}' >"$T/fail.json"
start_backend candidate "$T/same.json"
start_backend secondary "$T/fail.json"
start_backend primary "$T/same.json"
CAN=http://127.0.0.1:$(backend_port candidate)
SEC=http://127.0.0.1:$(backend_port secondary)
PRI=http://127.0.0.1:$(backend_port primary)

# A recorded capture: a GET and a POST, each with the primary's answer.
IN=$T/in.jsonl
line() {	# line ID METHOD TARGET BODY RESPONSE-BODY
	jq -cn --arg id "$1" --arg m "$2" --arg t "$3" --arg b "$4" \
	    --arg pb "$5" '{paritytap: 1, id: $id,
	    ts: "2026-05-02T10:00:00.000000Z", source: "proxy",
	    request: {method: $m, target: $t, version: "1.1",
	    headers: [{name: "Host", value: "api.example"},
	    {name: "Content-Type", value: "application/json"}],
	    body: $b, body_bytes: ($b | length)},
	    responses: {primary: {status: 200, headers: [{name: "Content-Type",
	    value: "application/json"}], body: $pb,
	    body_bytes: ($pb | length), ms: 1}},
	    verdict: "recorded", diffs: []}'
}
{
	line rp-get GET "/v1/r/1?q=2" "" "$BODY"
	line rp-post POST /v1/r '{"name":"two"}' "$BODY"
	line rp-head HEAD /v1/r/3 "" ""
} >"$IN"

# request_of NAME ID: the request a backend received with that trace id.
request_of() {
	backend_requests "$1" | jq -c --arg id "$2" \
	    'select(any(.headers[]; .[0] == "X-Paritytap-Trace-Id" and
	    .[1] == $id)) | del(.ts_ms, .conn, .event)'
}
nreq() {
	request_of "$@" | wc -l | tr -d ' '
}

# replay NAME ARGS...: paritytap replay ARGS, stdout and stderr in
# $T/NAME.out and .err; sets ST and ERR.
replay() {
	_n=$1
	shift
	"$PARITYTAP" replay "$@" >"$T/$_n.out" 2>"$T/$_n.err" </dev/null
	ST=$?
	ERR=$(cat "$T/$_n.err")
}

# --- --secondary against the recorded primary ----------------------------
OUT=$T/out.jsonl
replay sec --candidate "$CAN" --secondary "$SEC" -c "$OUT" "$IN"
is "$ST" 0 "a failing secondary: replay exits 0 (every verdict match)"
for id in rp-get rp-post rp-head; do
	is "$(nreq secondary $id)" 1 "$id: the secondary got it once"
	is "$(request_of secondary $id)" "$(request_of candidate $id)" \
	    "$id: the secondary got exactly the candidate's request"
	is "$(cap_get "$OUT" $id .responses.secondary.status)" 500 \
	    "$id: responses.secondary has the secondary's status"
	is "$(cap_get "$OUT" $id .verdict)" match \
	    "$id: the verdict stays match"
done
is "$(request_of secondary rp-post | jq -r .body)" '{"name":"two"}' \
    "the secondary got the POST's body"
is "$(cap_get "$OUT" rp-get .responses.secondary.body)" \
    '{"error":"secondary"}' "responses.secondary has the secondary's body"
is "$(cap_get "$OUT" rp-get '.responses.secondary | has("self_check")')" \
    false "a second copy's response is not marked self_check"
is "$(nreq primary rp-get)" 0 "without --primary nothing goes to a primary"

# A secondary that cannot be reached: recorded as its error, nothing else.
start_backend gone "$T/same.json"
GONE=http://127.0.0.1:$(backend_port gone)
stop_backend gone
OUT2=$T/down.jsonl
replay down --candidate "$CAN" --secondary "$GONE" -c "$OUT2" "$IN"
is "$ST" 0 "secondary down: replay exits 0"
is "$(jq -r .responses.secondary.error "$OUT2" | sort -u)" connect \
    "secondary down: every responses.secondary.error is connect"
is "$(jq -r .verdict "$OUT2" | sort -u)" match \
    "secondary down: every verdict is match"

# --- --self-check with a live primary ------------------------------------
OUT3=$T/self.jsonl
replay self --primary "$PRI" --candidate "$CAN" --self-check 1 -c "$OUT3" \
    "$IN"
is "$ST" 0 "--self-check 1: replay exits 0"
is "$(nreq primary rp-get)" 2 "--self-check 1: the GET twice to the primary"
is "$(nreq primary rp-head)" 2 "--self-check 1: the HEAD twice"
is "$(nreq primary rp-post)" 1 "--self-check 1: the POST once, never twice"
is "$(cap_get "$OUT3" rp-get .responses.secondary.self_check)" true \
    "--self-check 1: the GET's responses.secondary is marked self_check"
is "$(cap_get "$OUT3" rp-get .responses.secondary.body)" "$BODY" \
    "--self-check 1: responses.secondary is the primary's answer"
is "$(cap_get "$OUT3" rp-post '.responses | has("secondary")')" false \
    "--self-check 1: the POST has no responses.secondary"

# The replay's capture read back: self_check survives a second replay.
OUT4=$T/again.jsonl
replay again --candidate "$CAN" -c "$OUT4" "$OUT3"
is "$ST" 0 "a capture with self_check replays"
is "$(cap_nlines "$OUT4")" 3 "... all three exchanges"

# --- usage errors ----------------------------------------------------------
replay noprim --candidate "$CAN" --self-check 1 "$IN"
is "$ST" 2 "--self-check without --primary: exit 2"
like "$ERR" "^paritytap replay: --self-check needs --primary URL" \
    "... the message says it needs --primary"
replay both --primary "$PRI" --candidate "$CAN" --secondary "$SEC" \
    --self-check 1 "$IN"
is "$ST" 2 "--secondary and --self-check: exit 2"
like "$ERR" "^paritytap replay: --secondary and --self-check: choose one" \
    "... the message names both"
replay badurl --candidate "$CAN" --secondary ftp://example.com "$IN"
is "$ST" 2 "--secondary ftp://...: exit 2"
like "$ERR" "--secondary ftp://example.com: only http:// and https://" \
    "... the message names --secondary and the URL"
replay badrate --primary "$PRI" --candidate "$CAN" --self-check 0 "$IN"
is "$ST" 2 "--self-check 0: exit 2"
like "$ERR" "^paritytap replay: --self-check: '0' is not above 0" \
    "... the message names the option"
printf '[replay]\nsecondary = %s\n' "$SEC" >"$T/r.conf"
OUT5=$T/conf.jsonl
replay conf --candidate "$CAN" --config "$T/r.conf" -c "$OUT5" "$IN"
is "$ST" 0 "secondary = URL in [replay]: exit 0"
is "$(cap_get "$OUT5" rp-get .responses.secondary.status)" 500 \
    "secondary = URL in [replay]: responses.secondary recorded"

done_testing
