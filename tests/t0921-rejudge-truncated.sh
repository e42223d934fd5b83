#!/bin/sh
# rejudge and bodies cut at the capture limit (--capture-body-limit): the
# recorded sha256 of the whole bodies decide.  Equal hashes: the bodies
# match and the rest (headers, status) is judged again under the new
# rules.  Different hashes: the bodies were judged whole live and cannot
# be again, so the recorded verdict and diffs stay, counted as kept.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

PAD=$(printf '%0300d' 0)
cat >"$T/primary.json" <<JSON
{"routes":[
 {"path":"/same","status":200,"headers":[["Content-Type","application/json"],["X-Build","p-1"]],"body_json":{"pad":"$PAD","ts":"2026-05-02T10:00:00Z"}},
 {"path":"/ts","status":200,"headers":[["Content-Type","application/json"],["X-Build","p-1"]],"body_json":{"pad":"$PAD","ts":"2026-05-02T10:00:00Z"}},
 {"path":"/small","status":200,"headers":[["Content-Type","application/json"],["X-Build","p-1"]],"body_json":{"ts":"2026-05-02T10:00:00Z"}}
]}
JSON
cat >"$T/candidate.json" <<JSON
{"routes":[
 {"path":"/same","status":200,"headers":[["Content-Type","application/json"],["X-Build","c-2"]],"body_json":{"pad":"$PAD","ts":"2026-05-02T10:00:00Z"}},
 {"path":"/ts","status":200,"headers":[["Content-Type","application/json"],["X-Build","c-2"]],"body_json":{"pad":"$PAD","ts":"2026-05-02T10:00:09Z"}},
 {"path":"/small","status":200,"headers":[["Content-Type","application/json"],["X-Build","c-2"]],"body_json":{"ts":"2026-05-02T10:00:09Z"}}
]}
JSON
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
CAP=$T/cap.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" --capture-body-limit 100 ||
    bail "the proxy did not start"
for p in same ts small; do
	req "$p" "$PROXY_URL/$p"
done
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"

# get PATH FILE JQ: a filter on the line of a path.
get() {
	jq -c --arg t "/$1" "select(.request.target == \$t) | $3" "$2"
}
is "$(get same "$CAP" '[.responses[].truncated]')" '[true,true]' \
    "/same: both bodies were cut in the capture"
is "$(get ts "$CAP" '[.responses[].truncated]')" '[true,true]' \
    "/ts: both bodies were cut in the capture"
is "$(get same "$CAP" .verdict)" '"header"' "/same was recorded as header"
is "$(get ts "$CAP" '[.verdict, [.diffs[].path]]')" '["header",["$.ts","x-build"]]' \
    "/ts was recorded with \$.ts and X-Build, judged on the whole bodies"
is "$(get small "$CAP" '[.verdict, [.diffs[].path]]')" '["header",["$.ts","x-build"]]' \
    "/small was recorded with \$.ts and X-Build too"

"$PARITYTAP" rejudge --ignore '$.ts' --ignore-header X-Build "$CAP" \
    -o "$T/out.jsonl" 2>"$T/err"
is "$?" 0 "rejudge exits 0"
is "$(get same "$T/out.jsonl" '[.verdict, .diffs]')" '["match",[]]' \
    "/same: equal sha256, the bodies match and the header is ignored now"
is "$(get small "$T/out.jsonl" '[.verdict, .diffs]')" '["match",[]]' \
    "/small, whole: re-judged under the new rules"
is "$(get ts "$T/out.jsonl" '[.verdict, .diffs]')" \
    "$(get ts "$CAP" '[.verdict, .diffs]')" \
    "/ts: different sha256, the recorded verdict and diffs stay"
is "$(grep -F '"target":"/ts"' "$T/out.jsonl")" \
    "$(grep -F '"target":"/ts"' "$CAP")" "/ts: its line is copied as it was"
contains "$(cat "$T/err")" \
    "3 exchanges read · 2 re-judged · 1 kept (1 truncated, sha256 not equal)" \
    "the summary counts the cut one as kept"
contains "$(cat "$T/err")" "header 3 → 1 · match 0 → 2" \
    "the summary gives the verdict counts before and after"

# A side kept whole against a cut one: its bytes are hashed and compared
# with the cut side's sha256.
FULL="{\"pad\":\"$PAD\",\"ts\":\"2026-05-02T10:00:00Z\"}"
is "$(get same "$CAP" .responses.primary.body_sha256)" \
    "\"$(printf '%s' "$FULL" | sha256sum | cut -d' ' -f1)\"" \
    "the recorded sha256 is that of the whole body"
# half FILE BODY: /same with the candidate's body whole and BODY.
half() {
	jq -c --arg b "$2" 'if .request.target == "/same" then
		.responses.candidate.body = $b |
		.responses.candidate.body_bytes = ($b | length) |
		del(.responses.candidate.truncated,
		    .responses.candidate.body_sha256)
	    else . end' "$CAP" >"$1"
}
half "$T/whole.jsonl" "$FULL"
"$PARITYTAP" rejudge --ignore-header X-Build "$T/whole.jsonl" \
    -o "$T/whole.out" 2>"$T/whole.err"
is "$(get same "$T/whole.out" '[.verdict, .diffs]')" '["match",[]]' \
    "a whole body with the cut one's sha256: re-judged, a match"
contains "$(cat "$T/whole.err")" "2 re-judged · 1 kept (1 truncated" \
    "only /ts is kept"
half "$T/other.jsonl" "$(printf '%s' "$FULL" | sed 's/10:00:00/10:00:01/')"
"$PARITYTAP" rejudge --ignore-header X-Build --ignore '$.ts' \
    "$T/other.jsonl" -o "$T/other.out" 2>"$T/other.err"
is "$(get same "$T/other.out" .verdict)" '"header"' \
    "a whole body with another sha256: the recorded verdict stays"
contains "$(cat "$T/other.err")" "1 re-judged · 2 kept (2 truncated" \
    "and it is counted as kept"

done_testing
