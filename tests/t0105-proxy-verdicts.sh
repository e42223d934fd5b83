#!/bin/sh
# The verdict table (DESIGN §4) as a user of the proxy sees it: one
# request per row, each flagged live with the right verdict and diff
# tokens (or not flagged at all), captured with that verdict, and the
# divergent ones written to --events.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

# row PATH P-STATUS P-CT P-BODY C-STATUS C-CT C-BODY: one fixture route
# on each side, appended to $T/p.routes and $T/c.routes.
: >"$T/p.routes"
: >"$T/c.routes"
row() {
	jq -nc --arg p "$1" --argjson s "$2" --arg ct "$3" --arg b "$4" \
	    '{path: $p, status: $s, headers: [["Content-Type", $ct]], body: $b}' \
	    >>"$T/p.routes"
	jq -nc --arg p "$1" --argjson s "$5" --arg ct "$6" --arg b "$7" \
	    '{path: $p, status: $s, headers: [["Content-Type", $ct]], body: $b}' \
	    >>"$T/c.routes"
}
J=application/json
row /status 200 $J '{"ok":true}' 500 $J '{"ok":true}'
row /both5xx 503 $J '{"error":"down"}' 503 $J '{"error":"down"}'
row /type 200 $J '{"count":1}' 200 $J '{"count":"1"}'
row /null 200 $J '{"a":null,"b":1}' 200 $J '{"b":1}'
row /omitempty 200 $J '{"line_offset":0,"path":"a.jsonl"}' 200 $J '{"path":"a.jsonl"}'
row /real 200 $J '{"a":1}' 200 $J '{"a":1.0}'
row /array 200 $J '[{"a":1}]' 200 $J '[{"b":1}]'
row /deep 200 $J '{"a":{"b":{"c":1,"d":2}}}' 200 $J '{"a":{"b":{"d":2}}}'
row /value 200 $J '{"a":1,"b":"x"}' 200 $J '{"a":2,"b":"x"}'
row /order 200 $J '{"b":1,"a":2}' 200 $J '{"a":2,"b":1}'
row /unicode 200 $J '{"msg":"Zoë ✓ 日本"}' 200 $J '{"msg":"Zoë ✓ 日本"}'
row /ignored 200 $J '{"recorded_at":"2026-05-02T10:00:00Z","a":1}' \
    200 $J '{"recorded_at":"2026-05-02T10:00:07Z","a":1}'
row /text 200 text/plain 'hello' 200 text/plain 'world'
row /textsame 200 text/plain 'same text' 200 text/plain 'same text'
row /invalid 200 $J '{"a":1}' 200 $J '{"a":'
row /header 200 $J '{"a":1}' 200 "$J; charset=utf-8" '{"a":1}'
row /emptyarray 200 $J '{"items":[]}' 200 $J '{"items":[{"id":1}]}'
jq -s '{routes: .}' "$T/p.routes" >"$T/primary.json"
jq -s '{routes: .}' "$T/c.routes" >"$T/candidate.json"

start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
CAP=$T/capture.jsonl
EV=$T/events.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" --events "$EV" --ignore '$..recorded_at' ||
    bail "the proxy did not start"

PATHS="status both5xx type null omitempty real array deep value order unicode
    ignored text textsame invalid header emptyarray"
for p in $PATHS; do
	req "$p" "$PROXY_URL/$p"
	eval "id_$p=\$TRACE"
	eval "code_$p=\$HTTP_CODE"
done
is "$code_status" 200 "the client always gets the primary's status (200)"
is "$code_both5xx" 503 "the client gets the primary's 503"
is "$(cat "$T/unicode.body")" '{"msg":"Zoë ✓ 日本"}' \
    "unicode bodies reach the client intact"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
DL=$(diverge_lines)

# verdict PATH VERDICT [TOKEN...]: the capture's verdict for PATH, its
# DIVERGE line (none for match) and the tokens on that line.
verdict() {
	_p=$1
	_v=$2
	shift 2
	eval "_id=\$id_$_p"
	is "$(cap_get "$CAP" "$_id" .verdict)" "$_v" "/$_p: verdict $_v"
	_line=$(printf '%s\n' "$DL" | grep -F " id=$_id " | head -n 1)
	case $_v in
	match)
		is "$_line" "" "/$_p: not flagged"
		;;
	*)
		like "$_line" "^DIVERGE $_v GET /$_p id=$_id status " \
		    "/$_p: flagged 'DIVERGE $_v GET /$_p id=...'"
		;;
	esac
	for _tok in "$@"; do
		contains "$_line " " $_tok" "/$_p: the flag lists '$_tok'"
	done
}

verdict status status
contains "$(printf '%s\n' "$DL" | grep -F " id=$id_status ")" \
    " status 200!=500" "/status: the flag says 'status 200!=500'"
verdict both5xx both_failed
verdict type shape '$.count type(integer->string)'
verdict null shape '$.a missing(candidate)'
verdict omitempty shape '$.line_offset missing(candidate)'
verdict real shape '$.a type(integer->real)'
verdict array shape '$[0].a missing(candidate)' '$[0].b extra(candidate)'
verdict deep shape '$.a.b.c missing(candidate)'
verdict value value '$.a value'
verdict order match
verdict unicode match
verdict ignored match
verdict text body 'body'
verdict textsame match
verdict invalid body 'invalid_json(candidate)'
verdict header header 'header:content-type'
verdict emptyarray value

is "$(cap_get "$CAP" "$id_type" '.diffs[] | select(.path == "$.count") |
    .kind + " " + .primary + " " + .candidate')" "type integer string" \
    "/type: the capture's diff is type integer -> string"
is "$(cap_get "$CAP" "$id_value" '[.diffs[] | select(.kind == "value")] |
    length')" 1 "/value: one value diff in the capture"
is "$(cap_get "$CAP" "$id_ignored" '[.diffs[]? | select(.path ==
    "$.recorded_at")] | length')" 0 \
    "/ignored: no diff at the ignored path"

# --events: the divergent exchanges, the same lines as the capture.
ok "the events file is valid JSONL" cap_valid "$EV"
is "$(jq -r .id "$EV" | sort | tr '\n' ' ')" \
    "$(jq -r 'select(.verdict != "match") | .id' "$CAP" | sort | tr '\n' ' ')" \
    "--events holds exactly the divergent exchanges"
is "$(jq -c --arg id "$id_type" 'select(.id == $id) | del(.drifts)' "$EV")" \
    "$(jq -c --arg id "$id_type" 'select(.id == $id)' "$CAP")" \
    "--events lines are the capture's lines, with one member more"
is "$(jq -r --arg id "$id_type" 'select(.id == $id) | .drifts[] |
    [.kind, .path, .side, .state] | join(" ")' "$EV")" \
    'type(integer->string) $.count both new' \
    "... the drifts the exchange carries, with their states"
like "$(cat "$PROXY_ERR")" '^paritytap proxy: 17 exchanges' \
    "the exit summary counts 17 exchanges"

# --ignore-header and --lenient-numbers.
CAP2=$T/options.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP2" --ignore-header Content-Type --lenient-numbers ||
    bail "the proxy did not start"
req header2 "$PROXY_URL/header"
id_header2=$TRACE
req real2 "$PROXY_URL/real"
id_real2=$TRACE

# Route templating: numeric, UUID and long hex segments become {id}.
req r1 "$PROXY_URL/users/42"
id_r1=$TRACE
req r2 "$PROXY_URL/users/550e8400-e29b-41d4-a716-446655440000/orders?page=2"
id_r2=$TRACE
req r3 "$PROXY_URL/blobs/0123456789abcdef0123456789abcdef"
id_r3=$TRACE
req r4 "$PROXY_URL/v1/validate"
id_r4=$TRACE
stop_proxy
is "$PROXY_STATUS" 0 "options: the proxy exits 0"
is "$(cap_get "$CAP2" "$id_header2" .verdict)" match \
    "--ignore-header Content-Type: the charset difference is not flagged"
like "$(cap_get "$CAP2" "$id_real2" .verdict)" '^(value|match)$' \
    "--lenient-numbers: 1 vs 1.0 is not a shape difference"
is "$(cap_get "$CAP2" "$id_r1" .route)" "GET /users/{id}" "route: GET /users/{id}"
is "$(cap_get "$CAP2" "$id_r2" .route)" "GET /users/{id}/orders" \
    "route: a UUID segment, the query dropped"
is "$(cap_get "$CAP2" "$id_r3" .route)" "GET /blobs/{id}" "route: a long hex segment"
is "$(cap_get "$CAP2" "$id_r4" .route)" "GET /v1/validate" \
    "route: 'v1' and words are kept"

done_testing
