#!/bin/sh
# The validator parity case through the real proxy: six POST /v1/validate
# requests, the primary answering with Rust's externally tagged enums
# ({"Schema":{"field":..}}), the candidate with Go's flat structs
# ({"Kind":"schema","Field":..}).  Both sides agree on every status; five
# body shapes differ, one case is identical.  The client must see exactly
# the primary's answers; the proxy must flag the five shape drifts live
# and capture all six exchanges.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

PFIX=$FIXTURES/validator-primary.json
CFIX=$FIXTURES/validator-candidate.json
CASES="schema_field schema_type completeness consistency policy valid"

start_backend primary "$PFIX"
start_backend candidate "$CFIX"
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" || bail "the proxy did not start"

# fixture_field FIXTURE CASE FIELD: a route's field for one case.
fixture_field() {
	jq -r --arg m "\"case\":\"$2\"" \
	    ".routes[] | select(.body_contains == \$m) | .$3" "$1"
}

client_ids=
for c in $CASES; do
	printf '{"case":"%s","input":{"claim":"the sky is blue"}}' "$c" \
	    >"$T/$c.req"
	req "$c" -X POST -H 'Content-Type: application/json' \
	    --data-binary "@$T/$c.req" "$PROXY_URL/v1/validate"
	is "$HTTP_CODE" "$(fixture_field "$PFIX" "$c" status)" \
	    "$c: the client got the primary's status"
	fixture_field "$PFIX" "$c" body | tr -d '\n' >"$T/$c.want"
	if cmp -s "$T/$c.want" "$T/$c.body"; then
		pass "$c: the client got the primary's body byte for byte"
	else
		fail "$c: the client got the primary's body byte for byte" \
		    "got:  $(cat "$T/$c.body")" "want: $(cat "$T/$c.want")"
	fi
	ct=$(header_of "$T/$c.hdr" Content-Type)
	is "$ct" "application/json" "$c: the client got the primary's Content-Type"
	like "$TRACE" '^[[:graph:]]+$' "$c: the response carries $TRACE_HEADER"
	eval "id_$c=\$TRACE"
	client_ids="$client_ids $TRACE"
done

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0 on SIGTERM"
like "$(cat "$PROXY_ERR")" '^paritytap proxy: 6 exchanges' \
    "the exit summary counts 6 exchanges"

# --- the live flags ---
DL=$(diverge_lines)
is "$(printf '%s\n' "$DL" | grep -c '^DIVERGE shape POST /v1/validate id=')" 5 \
    "exactly five 'DIVERGE shape POST /v1/validate' lines"
is "$(printf '%s\n' "$DL" | grep -c '^DIVERGE')" 5 "no other DIVERGE line"

# check_flag CASE TOKEN...: the case's DIVERGE line carries exactly these
# diff tokens (and "status 422=422").
check_flag() {
	_c=$1
	shift
	eval "_id=\$id_$_c"
	_line=$(printf '%s\n' "$DL" | grep -F " id=$_id " | head -n 1)
	like "$_line" "^DIVERGE shape POST /v1/validate id=$_id status 422=422 " \
	    "$_c: flagged as 'shape', id and 'status 422=422'"
	for _tok in "$@"; do
		contains "$_line " " $_tok " "$_c: the flag lists '$_tok'"
	done
	is "$(printf '%s' "$_line" | grep -o '(candidate)' | wc -l | tr -d ' ')" \
	    "$#" "$_c: the flag lists $# diffs, no more"
}
check_flag schema_field '$.Schema missing(candidate)' \
    '$.Kind extra(candidate)' '$.Field extra(candidate)' \
    '$.Reason extra(candidate)'
check_flag schema_type '$.Schema missing(candidate)' \
    '$.Kind extra(candidate)' '$.Field extra(candidate)' \
    '$.Reason extra(candidate)'
check_flag completeness '$.Completeness missing(candidate)' \
    '$.Kind extra(candidate)' '$.Reason extra(candidate)'
check_flag consistency '$.Consistency missing(candidate)' \
    '$.Kind extra(candidate)' '$.Reason extra(candidate)'
check_flag policy '$.Policy missing(candidate)' \
    '$.Kind extra(candidate)' '$.Reason extra(candidate)'
is "$(printf '%s\n' "$DL" | grep -cF "id=$id_valid")" 0 \
    "valid: the identical case is not flagged"

# --- the capture ---
ok "the capture is valid JSONL, no torn line" cap_valid "$CAP"
is "$(cap_nlines "$CAP")" 6 "the capture has 6 lines"
is "$(jq -r .id "$CAP" | sort | tr '\n' ' ')" \
    "$(printf '%s\n' $client_ids | sort | tr '\n' ' ')" \
    "the capture ids are the trace ids the client got back"
is "$(jq -s '[.[] | select(.responses.primary.status ==
    .responses.candidate.status)] | length' "$CAP")" 6 \
    "6/6 status equal in the capture"
is "$(jq -s '[.[] | select(.verdict == "shape")] | length' "$CAP")" 5 \
    "5 exchanges with verdict shape"
is "$(jq -s '[.[] | select(.verdict == "match")] | length' "$CAP")" 1 \
    "1 exchange with verdict match"
is "$(cap_get "$CAP" "$id_valid" .verdict)" match "valid: verdict match"
is "$(jq -s '[.[] | select(.paritytap == 1 and .source == "proxy" and
    .route == "POST /v1/validate")] | length' "$CAP")" 6 \
    "every line has paritytap 1, source proxy, route 'POST /v1/validate'"
is "$(jq -s '[.[] | select(.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$"))] | length' "$CAP")" 6 \
    "every ts is RFC 3339 UTC with microseconds"

for c in $CASES; do
	eval "id=\$id_$c"
	is "$(cap_get "$CAP" "$id" '.request.method + " " + .request.target')" \
	    "POST /v1/validate" "$c: the capture records the request line"
	is "$(cap_get "$CAP" "$id" .request.body)" "$(cat "$T/$c.req")" \
	    "$c: the capture records the request body"
	is "$(cap_get "$CAP" "$id" .responses.primary.body)" \
	    "$(fixture_field "$PFIX" "$c" body)" \
	    "$c: the capture records the primary's body"
	is "$(cap_get "$CAP" "$id" .responses.candidate.body)" \
	    "$(fixture_field "$CFIX" "$c" body)" \
	    "$c: the capture records the candidate's body"
done

# check_diff CASE KIND PATH: the capture's diffs hold this one.
check_diff() {
	eval "_id=\$id_$1"
	is "$(cap_get "$CAP" "$_id" "[.diffs[] | select(.kind == \"$2\" and
	    .path == \"$3\" and .side == \"candidate\")] | length")" 1 \
	    "$1: the capture lists $2 $3 on the candidate"
}
check_diff schema_field missing '$.Schema'
check_diff schema_field extra '$.Kind'
check_diff schema_field extra '$.Field'
check_diff schema_field extra '$.Reason'
is "$(cap_get "$CAP" "$id_schema_field" '.diffs | length')" 4 \
    "schema_field: 4 diffs in the capture"
check_diff policy missing '$.Policy'
is "$(cap_get "$CAP" "$id_valid" '.diffs // [] | length')" 0 \
    "valid: no diffs in the capture"

# --- both backends saw the same requests ---
is "$(backend_nrequests primary)" 6 "the primary received 6 requests"
is "$(backend_nrequests candidate)" 6 "the candidate received 6 requests"
is "$(backend_requests primary | jq -r .body | sort | md5sum)" \
    "$(backend_requests candidate | jq -r .body | sort | md5sum)" \
    "both backends received the same bodies"

# -q silences the flags, not the capture.
start_proxy -q --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$T/quiet.jsonl" || bail "the proxy did not start with -q"
req quiet -X POST --data-binary "@$T/policy.req" "$PROXY_URL/v1/validate"
is "$HTTP_CODE" 422 "-q: the client still gets the primary's answer"
stop_proxy
is "$PROXY_STATUS" 0 "-q: the proxy exits 0"
is "$(diverge_lines | wc -l | tr -d ' ')" 0 "-q prints no DIVERGE line"
is "$(jq -r .verdict "$T/quiet.jsonl" 2>/dev/null)" shape \
    "-q: the capture still records the shape verdict"

done_testing
