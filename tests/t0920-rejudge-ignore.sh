#!/bin/sh
# rejudge against a fresh run: the same requests through a proxy without
# rules, then through one with an ignore list (flags and a config file
# with [compare], a route section and the proxy's own section).  The
# first run's capture re-judged under that list gives the second run's
# verdicts and diffs, line for line, and the same counts; everything but
# the judgement is kept as recorded; re-judged under its own rules a
# capture comes out byte for byte the same.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

J='"headers":[["Content-Type","application/json"]]'
# Each path is one request.  /u/N carries a timestamp and a request id
# that differ (noise), /u/7 also a real drift; /s a header noise and a
# status drift; /t text; /k a missing key; /n only an order difference.
cat >"$T/primary.json" <<JSON
{"routes":[
 {"path":"/u/1","status":200,$J,"body_json":{"ts":"2026-05-02T10:00:00Z","meta":{"rid":"a1"},"n":1}},
 {"path":"/u/2","status":200,$J,"body_json":{"ts":"2026-05-02T10:00:01Z","meta":{"rid":"a2"},"n":2}},
 {"path":"/u/7","status":200,$J,"body_json":{"ts":"2026-05-02T10:00:02Z","meta":{"rid":"a3"},"n":7}},
 {"path":"/r/1","status":200,$J,"body_json":{"items":[{"rid":"x","v":1}],"ts":"2026-05-02T10:00:00Z"}},
 {"path":"/h","status":200,"headers":[["Content-Type","application/json"],["X-Build","p-1"]],"body_json":{"a":1}},
 {"path":"/s","status":200,$J,"body_json":{"ts":"2026-05-02T10:00:00Z"}},
 {"path":"/t","status":200,"headers":[["Content-Type","text/plain"]],"body":"hello"},
 {"path":"/k","status":200,$J,"body_json":{"a":1,"ts":"2026-05-02T10:00:00Z"}},
 {"path":"/n","status":200,$J,"body":"{\"b\":1,\"a\":2}"}
],"default":{"status":200,$J,"body_json":{"ok":true}}}
JSON
cat >"$T/candidate.json" <<JSON
{"routes":[
 {"path":"/u/1","status":200,$J,"body_json":{"ts":"2026-05-02T10:00:09Z","meta":{"rid":"b1"},"n":1}},
 {"path":"/u/2","status":200,$J,"body_json":{"ts":"2026-05-02T10:00:09Z","meta":{"rid":"b2"},"n":2}},
 {"path":"/u/7","status":200,$J,"body_json":{"ts":"2026-05-02T10:00:09Z","meta":{"rid":"b3"},"n":8}},
 {"path":"/r/1","status":200,$J,"body_json":{"items":[{"rid":"y","v":1}],"ts":"2026-05-02T10:00:05Z"}},
 {"path":"/h","status":200,"headers":[["Content-Type","application/json"],["X-Build","c-9"]],"body_json":{"a":1}},
 {"path":"/s","status":404,$J,"body_json":{"ts":"2026-05-02T10:00:03Z"}},
 {"path":"/t","status":200,"headers":[["Content-Type","text/plain"]],"body":"world"},
 {"path":"/k","status":200,$J,"body_json":{"ts":"2026-05-02T10:00:04Z"}},
 {"path":"/n","status":200,$J,"body":"{\"a\":2,\"b\":1}"}
],"default":{"status":200,$J,"body_json":{"ok":true}}}
JSON
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
P=http://127.0.0.1:$(backend_port primary)
C=http://127.0.0.1:$(backend_port candidate)

# The rules: $.ts everywhere, X-Build, and $..rid on one route only (a
# route the plain run did not know: it recorded "GET /u/{id}").
cat >"$T/rules.conf" <<'CONF'
[proxy]
candidate-timeout = 5000

[compare]
ignore = $.ts
ignore-header = X-Build

[route "GET /u/{uid}"]
ignore = $..rid
CONF

PATHS="/u/1 /u/2 /u/7 /r/1 /h /s /t /k /n /other"
# run NAME ARGS...: every path once through a proxy with ARGS; the
# capture is $T/NAME.jsonl.
run() {
	_name=$1
	shift
	start_proxy --primary "$P" --candidate "$C" \
	    --capture "$T/$_name.jsonl" "$@" || bail "the proxy did not start"
	for _p in $PATHS; do
		req "$_name" "$PROXY_URL$_p"
	done
	stop_proxy
	is "$PROXY_STATUS" 0 "the $_name proxy exits 0"
	is "$(cap_nlines "$T/$_name.jsonl")" 10 "the $_name run captured 10"
}
run plain
run ruled --config "$T/rules.conf" --strict-order

# verdicts FILE: "target verdict diffs" per line, sorted by target.
verdicts() {
	jq -c '[.request.target, .verdict, .diffs]' "$1" | sort
}
# counts FILE: "verdict count" lines.
counts() {
	jq -r .verdict "$1" | sort | uniq -c | awk '{ print $2, $1 }'
}

"$PARITYTAP" rejudge --config "$T/rules.conf" --strict-order \
    "$T/plain.jsonl" -o "$T/rejudged.jsonl" 2>"$T/rejudge.err"
is "$?" 0 "rejudge exits 0"
ok "the output is a valid capture" cap_valid "$T/rejudged.jsonl"
is "$(cap_nlines "$T/rejudged.jsonl")" 10 "one line per exchange read"
isnt "$(verdicts "$T/plain.jsonl")" "$(verdicts "$T/ruled.jsonl")" \
    "the rules change verdicts in a live run"
is "$(verdicts "$T/rejudged.jsonl")" "$(verdicts "$T/ruled.jsonl")" \
    "each line's verdict and diffs are those of the run with the rules"
is "$(counts "$T/rejudged.jsonl")" "$(counts "$T/ruled.jsonl")" \
    "same capture re-judged, same counts as the run with the rules"
is "$("$PARITYTAP" report -f json "$T/rejudged.jsonl" | jq -c .totals.verdicts)" \
    "$("$PARITYTAP" report -f json "$T/ruled.jsonl" | jq -c .totals.verdicts)" \
    "report totals the same as for the run with the rules"
# The real drifts are still flagged.
for t in /u/7 /s /t /k /n; do
	v=$(jq -r --arg t "$t" 'select(.request.target == $t) | .verdict' \
	    "$T/rejudged.jsonl")
	isnt "$v" match "$t keeps its drift ($v)"
done
is "$(jq -r 'select(.request.target == "/u/7") | [.diffs[].path] | join(" ")' \
    "$T/rejudged.jsonl")" '$.n' "/u/7: only \$.n is left"
is "$(jq -r 'select(.request.target == "/r/1") | [.diffs[].path] | join(" ")' \
    "$T/rejudged.jsonl")" '$.items[0].rid' \
    "/r/1: \$..rid is ignored on its own route only"

is "$(jq -c 'del(.verdict, .diffs)' "$T/rejudged.jsonl")" \
    "$(jq -c 'del(.verdict, .diffs)' "$T/plain.jsonl")" \
    "everything but the judgement is kept as recorded, in order"
is "$(jq -c 'keys_unsorted' "$T/rejudged.jsonl")" \
    "$(jq -c 'keys_unsorted' "$T/plain.jsonl")" \
    "the members are in the recorded order"

# The summary: read, re-judged, and the counts before and after.
n_value=$(jq -r 'select(.verdict == "value") | .id' "$T/plain.jsonl" | wc -l)
n_match=$(jq -r 'select(.verdict == "match") | .id' "$T/plain.jsonl" | wc -l)
r_match=$(jq -r 'select(.verdict == "match") | .id' "$T/ruled.jsonl" | wc -l)
r_value=$(jq -r 'select(.verdict == "value") | .id' "$T/ruled.jsonl" | wc -l)
like "$(cat "$T/rejudge.err")" \
    "^paritytap rejudge: 10 exchanges read · 10 re-judged · 0 kept · " \
    "the summary says what was read and re-judged"
contains "$(cat "$T/rejudge.err")" "value $n_value → $r_value" \
    "the summary gives the value count before and after"
contains "$(cat "$T/rejudge.err")" "match $n_match → $r_match" \
    "the summary gives the match count before and after"

# Under the rules it was recorded with, a capture is unchanged.
"$PARITYTAP" rejudge "$T/plain.jsonl" -o "$T/same.jsonl" 2>"$T/same.err"
is "$?" 0 "rejudge with no rules exits 0"
ok "re-judged under its own rules, the capture is byte for byte the same" \
    cmp -s "$T/plain.jsonl" "$T/same.jsonl"
"$PARITYTAP" rejudge --config "$T/rules.conf" --strict-order \
    "$T/ruled.jsonl" -o "$T/same2.jsonl" 2>/dev/null
ok "the run with the rules, re-judged under them, is the same too" \
    cmp -s "$T/ruled.jsonl" "$T/same2.jsonl"

done_testing
