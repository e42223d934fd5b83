#!/bin/sh
# sniff --secondary URL: each request seen on the wire and sent to the
# candidate also goes to a second copy of the primary, which gets exactly
# the candidate's request; its answer is responses.secondary, and it
# never changes the verdict.  Capturing needs root with CAP_NET_RAW;
# without, only the usage errors are checked.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-sniff.sh"
need curl jq timeout
need_binaries

sniff_once badurl --secondary ftp://example.com
is "$ST" 2 "--secondary ftp://...: exit 2"
like "$ERR" "--secondary ftp://example.com: only http://" \
    "... the message names --secondary and the URL"
sniff_once selfcheck --self-check 1
is "$ST" 2 "--self-check: not a sniff option (the primary is only watched)"
"$PARITYTAP" sniff --help >"$T/help.out"
like "$(cat "$T/help.out")" "^      --secondary URL " "--help lists --secondary"

need_capture

BODY='{"id":5,"name":"five"}'
jq -n --arg b "$BODY" '{default: {status: 200,
    headers: [["Content-Type", "application/json"]], body: $b}}' \
    >"$T/same.json"
jq -n '{default: {status: 503, body: "down for maintenance"}}' \
    >"$T/other.json"
start_backend primary "$T/same.json"
PPORT=$BACKEND_PORT
start_backend candidate "$T/same.json"
start_backend secondary "$T/other.json"
CAN=http://127.0.0.1:$(backend_port candidate)
SEC=http://127.0.0.1:$(backend_port secondary)

request_of() {
	backend_requests "$1" | jq -c --arg id "$2" \
	    'select(any(.headers[]; .[0] == "X-Paritytap-Trace-Id" and
	    .[1] == $id)) | del(.ts_ms, .conn, .event)'
}

CAP=$T/capture.jsonl
start_sniff --port "$PPORT" --candidate "$CAN" --secondary "$SEC" \
    --capture "$CAP" --count 2 --stats-interval 0 ||
    bail "sniff did not start"
req one -H 'X-Paritytap-Trace-Id: sn-get' "http://127.0.0.1:$PPORT/v1/s/1"
is "$HTTP_CODE" 200 "GET to the primary: 200"
req two -H 'X-Paritytap-Trace-Id: sn-post' -X POST \
    --data-binary '{"a":[1,2]}' "http://127.0.0.1:$PPORT/v1/s"
is "$HTTP_CODE" 200 "POST to the primary: 200"
wait_pid "$SNIFF_PID" 30
is "$WAIT_STATUS" 0 "--count 2: sniff exits 0"
for id in sn-get sn-post; do
	is "$(request_of secondary $id | wc -l | tr -d ' ')" 1 \
	    "$id: the secondary got it once"
	is "$(request_of secondary $id)" "$(request_of candidate $id)" \
	    "$id: the secondary got exactly the candidate's request"
	is "$(cap_get "$CAP" $id .responses.secondary.status)" 503 \
	    "$id: responses.secondary has the secondary's status"
	is "$(cap_get "$CAP" $id .responses.secondary.body)" \
	    "down for maintenance" "$id: responses.secondary has its body"
	is "$(cap_get "$CAP" $id .verdict)" match "$id: the verdict stays match"
done

done_testing
