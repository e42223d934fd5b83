#!/bin/sh
# rejudge keeps what it cannot judge again: a side's error (primary_error,
# candidate_error, both failed) keeps its error verdict, a skipped mirror
# its skip, a recorded exchange (one side) stays recorded; each line is
# copied as it was and the summary counts them as kept.  In the same
# capture the exchanges that can be judged again are.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

J='"headers":[["Content-Type","application/json"]]'
cat >"$T/primary.json" <<JSON
{"routes":[
 {"path":"/perr","reset":true},
 {"path":"/both","reset":true},
 {"path":"/cerr","status":200,$J,"body_json":{"ts":1}},
 {"path":"/ok","status":200,$J,"body_json":{"ts":1}}
],"default":{"status":200,$J,"body_json":{"ts":1}}}
JSON
cat >"$T/candidate.json" <<JSON
{"routes":[
 {"path":"/perr","status":200,$J,"body_json":{"ts":2}},
 {"path":"/both","reset":true},
 {"path":"/cerr","reset":true},
 {"path":"/ok","status":200,$J,"body_json":{"ts":2}}
],"default":{"status":200,$J,"body_json":{"ts":2}}}
JSON
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
CAP=$T/cap.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" --mirror-methods GET ||
    bail "the proxy did not start"
for p in perr both cerr ok; do
	req "$p" "$PROXY_URL/$p"
done
req post -X POST --data '{}' "$PROXY_URL/ok"
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
# A recorded exchange, as import writes it: the primary alone.
jq -c 'select(.request.target == "/ok" and .request.method == "GET") |
    .id = "recorded-1" | .source = "import" | .verdict = "recorded" |
    .diffs = [] | del(.responses.candidate)' "$CAP" >>"$CAP"

# v METHOD PATH FILE: the verdict of that request.
v() {
	jq -r --arg m "$1" --arg t "/$2" \
	    'select(.request.method == $m and .request.target == $t and
	    .id != "recorded-1") | .verdict' "$3"
}
is "$(v GET perr "$CAP")" primary_error "/perr was recorded primary_error"
is "$(v GET both "$CAP")" both_failed "/both was recorded both_failed"
is "$(v GET cerr "$CAP")" candidate_error "/cerr was recorded candidate_error"
is "$(v POST ok "$CAP")" skipped "the POST was skipped"
is "$(v GET ok "$CAP")" value "GET /ok was recorded value"

# With every error line touched by hand: proof they are copied, not
# written again.
sed 's/"verdict":"\(primary_error\|candidate_error\|both_failed\|skipped\|recorded\)"/"verdict" : "\1"/' \
    "$CAP" >"$T/spaced.jsonl"
"$PARITYTAP" rejudge --ignore '$.ts' "$T/spaced.jsonl" -o "$T/out.jsonl" \
    2>"$T/err"
is "$?" 0 "rejudge exits 0"
is "$(v GET ok "$T/out.jsonl")" match "GET /ok is re-judged: a match now"
okid=$(jq -r 'select(.verdict == "value") | .id' "$CAP")
is "$(grep -vF "\"id\":\"$okid\"" "$T/out.jsonl")" \
    "$(grep -vF "\"id\":\"$okid\"" "$T/spaced.jsonl")" \
    "the other lines are copied byte for byte"
is "$(jq -r .verdict "$T/out.jsonl" | sort | tr '\n' ' ')" \
    "both_failed candidate_error match primary_error recorded skipped " \
    "the error, skipped and recorded verdicts stay"
is "$(jq -c 'select(.verdict == "candidate_error") | .diffs' "$T/out.jsonl")" \
    "$(jq -c 'select(.verdict == "candidate_error") | .diffs' "$CAP")" \
    "and so do their diffs"
contains "$(cat "$T/err")" \
    "6 exchanges read · 1 re-judged · 5 kept (2 skipped or recorded, 3 with a side's error)" \
    "the summary counts them as kept, by reason"
contains "$(cat "$T/err")" \
    "value 1 → 0 · match 0 → 1 · both_failed 1 → 1 · candidate_error 1 → 1 · primary_error 1 → 1 · skipped 1 → 1 · recorded 1 → 1" \
    "the summary gives each verdict before and after"

# --json: the same counts for scripts, on stdout.
"$PARITYTAP" rejudge --json -q --ignore '$.ts' "$T/spaced.jsonl" \
    -o "$T/out2.jsonl" >"$T/json" 2>"$T/json.err"
is "$?" 0 "--json exits 0"
is "$(jq -c '[.read, .rejudged, .kept, .kept_by_reason]' "$T/json")" \
    '[6,1,5,{"skipped_or_recorded":2,"error":3,"truncated":0}]' \
    "--json: read, re-judged, kept and why"
is "$(jq -c '[.before.value, .after.value, .before.match, .after.match,
    .after.candidate_error]' "$T/json")" '[1,0,0,1,1]' \
    "--json: each verdict before and after"
is "$(cat "$T/json.err")" "" "--json -q: nothing on stderr"
"$PARITYTAP" rejudge --json "$T/spaced.jsonl" -o - >/dev/null 2>"$T/json2.err"
is "$?" 2 "--json with -o -: a usage error"
like "$(cat "$T/json2.err")" "--json writes the summary to stdout" \
    "--json with -o -: the message says why"

done_testing
