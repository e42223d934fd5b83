#!/bin/sh
# paritytap replay against the test backends: a capture recorded here with
# the real proxy (the six validator cases) is replayed against the
# candidate alone (the primary's side read from the capture) and against
# both live; the summary line, the DIVERGE lines, the exit status as a CI
# gate (--fail-on), --filter, --json, --junit and --capture are checked.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

PFIX=$FIXTURES/validator-primary.json
CFIX=$FIXTURES/validator-candidate.json
CASES="schema_field schema_type completeness consistency policy valid"
SUMMARY_SHAPE='6 exchanges: 6/6 status match · 1/6 shape match · 5 shape divergences · 0 errors'

start_backend primary "$PFIX"
start_backend candidate "$CFIX"
PURL=http://127.0.0.1:$(backend_port primary)
CURL=http://127.0.0.1:$(backend_port candidate)

# --- record the capture with the proxy ---
CAP=$T/validator.jsonl
start_proxy --primary "$PURL" --candidate "$CURL" --capture "$CAP" ||
    bail "the proxy did not start"
for c in $CASES; do
	printf '{"case":"%s","input":{"claim":"the sky is blue"}}' "$c" \
	    >"$T/$c.req"
	req "$c" -X POST -H 'Content-Type: application/json' \
	    --data-binary "@$T/$c.req" "$PROXY_URL/v1/validate"
done
stop_proxy
is "$(cap_nlines "$CAP")" 6 "the proxy recorded 6 exchanges"

# replay ARGS...: run paritytap replay; sets RC, OUT (stdout), ERR (stderr).
replay() {
	"$PARITYTAP" replay "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# --- the candidate against the recorded primary (the CI mode) ---
np=$(backend_nrequests primary)
nc=$(backend_nrequests candidate)
replay --candidate "$CURL" "$CAP"
is "$RC" 1 "recorded primary: exit 1 (shape divergences)"
is "$OUT" "paritytap replay: $SUMMARY_SHAPE" "recorded primary: the summary line on stdout"
is "$(printf '%s\n' "$ERR" | grep -c '^DIVERGE shape POST /v1/validate id=')" 5 \
    "recorded primary: five DIVERGE shape lines on stderr"
unlike "$ERR" "$(printf '\r')" "no progress bar when stderr is not a TTY"
is "$(backend_nrequests candidate)" $((nc + 6)) \
    "recorded primary: the candidate got the 6 requests"
is "$(backend_nrequests primary)" "$np" \
    "recorded primary: the primary got none"
id=$(jq -r 'select(.request.body | contains("policy")) | .id' "$CAP")
line=$(printf '%s\n' "$ERR" | grep -F " id=$id ")
like "$line" '^DIVERGE shape POST /v1/validate id=[^ ]+ status 422=422 ' \
    "the flag line names the recorded id and the statuses"
contains "$line " ' $.Policy missing(candidate) ' \
    "the flag line lists \$.Policy missing on the candidate"
got=$(backend_requests candidate | tail -n 6 |
    jq -r --arg id "$id" 'select(.headers[] | .[0] == "X-Paritytap-Trace-Id"
    and .[1] == $id) | .body')
is "$got" "$(cat "$T/policy.req")" \
    "the replayed request carries the recorded id and body"
got=$(backend_requests candidate | tail -n 1 |
    jq -r '[.headers[] | select(.[0] | ascii_downcase ==
    "content-length")] | length')
is "$got" 1 "the replayed request has one Content-Length"

# --- both live ---
replay --primary "$PURL" --candidate "$CURL" "$CAP"
is "$RC" 1 "live primary: exit 1"
is "$OUT" "paritytap replay: $SUMMARY_SHAPE" "live primary: the same summary"
is "$(backend_nrequests primary)" $((np + 6)) \
    "live primary: the primary got the 6 requests"
is "$(printf '%s\n' "$ERR" | grep -c '^DIVERGE shape ')" 5 \
    "live primary: five DIVERGE lines"

# A candidate that is the primary: parity, exit 0.
replay --candidate "$PURL" "$CAP"
is "$RC" 0 "a candidate identical to the recording: exit 0"
is "$OUT" 'paritytap replay: 6 exchanges: 6/6 status match · 6/6 shape match · 0 divergences · 0 errors' \
    "the summary reports parity"
is "$(printf '%s\n' "$ERR" | grep -c '^DIVERGE')" 0 "no DIVERGE line"

# --- --fail-on ---
replay --fail-on status,candidate_error --candidate "$CURL" "$CAP"
is "$RC" 0 "--fail-on status,candidate_error: shape divergences pass"
replay --fail-on shape --candidate "$CURL" "$CAP"
is "$RC" 1 "--fail-on shape: exit 1"
replay --fail-on nonsense --candidate "$CURL" "$CAP"
is "$RC" 2 "--fail-on with an unknown verdict: exit 2"
like "$ERR" "^paritytap replay: --fail-on: unknown verdict 'nonsense'" \
    "the error names --fail-on and the word"

# --- the config file ---
printf '[replay]\nfail-on = status\n[compare]\nignore = $.Kind\n' >"$T/ok.ini"
replay --config "$T/ok.ini" --candidate "$CURL" "$CAP"
is "$RC" 0 "--config: fail-on from [replay] applies"
replay --config "$T/ok.ini" --fail-on shape --candidate "$CURL" "$CAP"
is "$RC" 1 "--config: a flag wins over the file"
printf '[replay]\nfail-on = status\nbogus = 1\n' >"$T/bad.ini"
replay --config "$T/bad.ini" --candidate "$CURL" "$CAP"
is "$RC" 2 "--config with an unknown key: exit 2"
like "$ERR" "bad.ini:3: unknown key 'bogus' in \\[replay\\]" \
    "the error names file:line and the key"

# --- --filter ---
replay --filter verdict=match --candidate "$CURL" "$CAP"
is "$RC" 0 "--filter verdict=match: the one matching exchange, exit 0"
like "$OUT" '^paritytap replay: 1 exchange: 1/1 status match' "--filter verdict=match: 1 exchange"
replay --filter 'route=POST /v1/*' --filter method=post \
    --candidate "$CURL" "$CAP"
is "$RC" 1 "--filter route=GLOB method=post: all six, exit 1"
like "$OUT" '^paritytap replay: 6 exchanges' "--filter route= and method= select all six"
replay --filter 'route=GET *' --candidate "$CURL" "$CAP"
is "$RC" 0 "--filter selecting nothing: exit 0"
like "$OUT" '^paritytap replay: 0 exchanges' "--filter selecting nothing: 0 exchanges"
replay --filter colour=red --candidate "$CURL" "$CAP"
is "$RC" 2 "--filter with an unknown key: exit 2"
like "$ERR" "--filter: 'colour=red' is not" "the error names --filter"

# --- --json ---
replay --json -q --candidate "$CURL" "$CAP"
is "$RC" 1 "--json: exit 1"
is "$(printf '%s' "$OUT" | jq -r '.exchanges')" 6 "--json: .exchanges"
is "$(printf '%s' "$OUT" | jq -r '.verdicts.shape')" 5 "--json: .verdicts.shape"
is "$(printf '%s' "$OUT" | jq -r '.verdicts.match')" 1 "--json: .verdicts.match"
is "$(printf '%s' "$OUT" | jq -r '.failures | length')" 5 "--json: 5 failures"
is "$(printf '%s' "$OUT" | jq -r --arg id "$id" '.failures[] |
    select(.id == $id) | [.diffs[] | select(.path == "$.Policy") | .kind]
    | join(",")')" missing "--json: a failure lists its diffs"
is "$(printf '%s' "$OUT" | jq -r '.exit')" 1 "--json: .exit"
is "$(printf '%s' "$OUT" | jq -r '.summary')" "$SUMMARY_SHAPE" "--json: .summary"
is "$(printf '%s\n' "$ERR" | grep -c DIVERGE)" 0 "-q: no DIVERGE lines"

# --- --junit ---
replay --junit "$T/junit.xml" --candidate "$CURL" "$CAP"
is "$RC" 1 "--junit: exit 1"
if command -v xmllint >/dev/null 2>&1; then
	ok "--junit: well-formed XML" xmllint --noout "$T/junit.xml"
	is "$(xmllint --xpath 'count(//testcase)' "$T/junit.xml")" 6 \
	    "--junit: one testcase per exchange"
	is "$(xmllint --xpath 'count(//testcase/failure[@type="shape"])' \
	    "$T/junit.xml")" 5 "--junit: one shape failure per divergence"
	is "$(xmllint --xpath 'string(//testsuite/@failures)' \
	    "$T/junit.xml")" 5 "--junit: failures=5 on the suite"
else
	skip "xmllint not installed (apt-get install libxml2-utils)"
	skip "xmllint not installed"
	skip "xmllint not installed"
	skip "xmllint not installed"
fi
is "$(grep -c '<failure ' "$T/junit.xml")" 5 "--junit: five <failure> elements"

# --- --capture OUT ---
replay -q --capture "$T/replayed.jsonl" --candidate "$CURL" "$CAP"
is "$(cap_nlines "$T/replayed.jsonl")" 6 "--capture: 6 lines"
ok "--capture: every line is valid JSON" cap_valid "$T/replayed.jsonl"
is "$(jq -r .source "$T/replayed.jsonl" | sort -u)" replay \
    "--capture: every line has source replay"
is "$(jq -r .id "$T/replayed.jsonl" | sort)" "$(jq -r .id "$CAP" | sort)" \
    "--capture: the recorded ids"
is "$(jq -r .verdict "$T/replayed.jsonl" | sort | uniq -c |
    tr -s ' ' | sed 's/^ //' | tr '\n' ',')" '1 match,5 shape,' \
    "--capture: 5 shape, 1 match"

# --- captures that are not whole ---
cp "$CAP" "$T/torn.jsonl"
head -n 1 "$CAP" | head -c 100 >>"$T/torn.jsonl"
replay --candidate "$CURL" "$T/torn.jsonl"
is "$RC" 1 "a torn last line: still exit 1 per the verdicts"
like "$ERR" 'torn.jsonl:7: skipping torn last line' \
    "a torn last line: a warning naming file and line"
is "$OUT" "paritytap replay: $SUMMARY_SHAPE" "a torn last line: the six whole lines replayed"

{ head -n 2 "$CAP"; echo '{"paritytap":1,"id":'; tail -n 4 "$CAP"; } \
    >"$T/bad.jsonl"
replay --candidate "$CURL" "$T/bad.jsonl"
is "$RC" 2 "a malformed line: exit 2"
like "$ERR" '^paritytap replay: .*bad.jsonl:3: ' \
    "a malformed line: the error names file:line"
replay --lenient -q --candidate "$CURL" "$T/bad.jsonl"
is "$RC" 1 "--lenient: the malformed line is skipped"
like "$OUT" "^paritytap replay: 6 exchanges" "--lenient: the six whole lines are replayed"

replay --candidate "$CURL" "$T/nonexistent.jsonl"
is "$RC" 2 "a missing capture: exit 2"
like "$ERR" 'nonexistent.jsonl: No such file' "the error names the file"
is "$OUT" "" "a missing capture: no summary on stdout"

gzip -c "$CAP" >"$T/validator.jsonl.gz"
replay -q --candidate "$CURL" "$T/validator.jsonl.gz"
is "$OUT" "paritytap replay: $SUMMARY_SHAPE" "a .jsonl.gz capture replays the same"

# --- usage and runtime errors ---
replay "$CAP"
is "$RC" 2 "no --candidate: exit 2"
like "$ERR" '--candidate URL is required' "the error says --candidate is needed"
replay --candidate "$CURL"
is "$RC" 2 "no capture: exit 2"
replay --candidate ftp://x "$CAP"
is "$RC" 2 "a bad URL: exit 2"
replay --concurrency 0 --candidate "$CURL" "$CAP"
is "$RC" 2 "--concurrency 0: exit 2"
like "$ERR" '^paritytap replay: --concurrency: ' "the error names --concurrency"
replay --rate fast --candidate "$CURL" "$CAP"
is "$RC" 2 "--rate fast: exit 2"

start_backend gone
GONE=http://127.0.0.1:$(backend_port gone)
stop_backend gone
replay -q --candidate "$GONE" "$CAP"
is "$RC" 3 "no backend reachable: exit 3"
like "$ERR" 'cannot reach any backend' "exit 3 says why"
like "$OUT" '^paritytap replay: 6 exchanges: 0/6 status match .* 6 errors' \
    "exit 3: the summary still counts the errors"

# --- pacing ---
t0=$(now_ms)
replay -q --rate 20/s --concurrency 1 --candidate "$PURL" "$CAP"
t1=$(now_ms)
is "$RC" 0 "--rate 20/s --concurrency 1: exit 0"
cmp_ok $((t1 - t0)) -ge 240 "--rate 20/s: six requests take at least 250 ms"

# --- the progress bar, on a TTY only ---
if command -v script >/dev/null 2>&1; then
	script -qec "'$PARITYTAP' replay --rate 10 --candidate '$PURL' \
	    '$CAP' 2>&1 >/dev/null" /dev/null </dev/null >"$T/tty.out" 2>&1
	like "$(tr '\r' '\n' <"$T/tty.out")" '^\[[#.]{30}\] [0-9]/6 exchanges, ' \
	    "a progress bar on stderr when it is a TTY"
else
	skip "script(1) not installed: no pseudo-terminal for the progress bar"
fi

done_testing
