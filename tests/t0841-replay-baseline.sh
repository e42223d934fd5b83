#!/bin/sh
# The CI gate on new drifts: a capture recorded with the real proxy in
# front of two test backends (tests/fixtures/drift-primary.json and
# drift-candidate.json: 15 drifts on four routes and a byte difference),
# its baseline made by `report --format baseline`, then `replay
# --baseline` against today's candidate (exit 0) and against its next
# build that has one new drift (drift-candidate-next.json: exit 1 and the
# drift listed); what a baseline forgives and what it does not; the new
# drifts on stderr and in --json; --junit-per drift checked with xmllint;
# bad baselines.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

TAB=$(printf '\t')

start_backend primary "$FIXTURES/drift-primary.json"
start_backend candidate "$FIXTURES/drift-candidate.json"
start_backend next "$FIXTURES/drift-candidate-next.json"
PURL=http://127.0.0.1:$(backend_port primary)
CURL=http://127.0.0.1:$(backend_port candidate)
NURL=http://127.0.0.1:$(backend_port next)

# --- record today's traffic ---
start_proxy --primary "$PURL" --candidate "$CURL" --capture "$T/all.jsonl" -q ||
    bail "the proxy did not start"
for p in /users/1 /users/2 /users/3 /orders/7 /wide /health /hello; do
	req rec "$PROXY_URL$p"
	[ "$HTTP_CODE" = 200 ] || bail "GET $p through the proxy: $HTTP_CODE"
done
stop_proxy
is "$(cap_nlines "$T/all.jsonl")" 7 "the proxy recorded 7 exchanges"
# The JSON routes in one capture, the greeting (a byte difference, no
# drift) in another.
jq -c 'select(.route != "GET /hello")' "$T/all.jsonl" >"$T/cap.jsonl"
jq -c 'select(.route == "GET /hello")' "$T/all.jsonl" >"$T/hello.jsonl"
CAP=$T/cap.jsonl
HELLO=$T/hello.jsonl
id_of() {
	jq -r --arg t "$1" 'select(.request.target == $t) | .id' "$T/all.jsonl"
}
U1=$(id_of /users/1)
U2=$(id_of /users/2)
U3=$(id_of /users/3)
ORD=$(id_of /orders/7)
WIDE=$(id_of /wide)
HID=$(id_of /hello)
FIRSTU=$(printf '%s\n' "$U1" "$U2" "$U3" | sort | head -n 1)

# replay ARGS...: run paritytap replay; sets RC, OUT (stdout), ERR (stderr).
replay() {
	"$PARITYTAP" replay "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# new_drifts: the lines of the new drift list on stderr.
new_drifts() {
	printf '%s\n' "$ERR" | sed -n '/^paritytap replay: .*new drift/,$p'
}

# --- the baseline ---
"$PARITYTAP" report --format baseline -o "$T/base.txt" "$CAP" 2>"$T/report.err"
is "$?" 0 "report --format baseline: exit 0"
{
	for f in 01 02 03 04 05 06 07 08 09 10 11 12; do
		printf 'GET /wide\tmissing\t$.f%s\tcandidate\n' "$f"
	done
} >"$T/wide-lines"
is "$(grep -v '^#' "$T/base.txt")" \
"GET /orders/{id}${TAB}type(integer->string)${TAB}\$.total${TAB}both
GET /users/{id}${TAB}extra${TAB}\$.nick${TAB}candidate
GET /users/{id}${TAB}missing${TAB}\$.email${TAB}candidate
$(cat "$T/wide-lines")" "the baseline: the 15 drifts of today's traffic, sorted"
like "$(sed -n 4p "$T/base.txt")" '^# 15 drifts in 6 exchanges of 1 capture, ' \
    "the baseline says what it was made from"

# --- without a baseline: every drift is new ---
np=$(backend_nrequests primary)
replay --candidate "$CURL" "$CAP"
is "$RC" 1 "no baseline: exit 1 (shape divergences)"
is "$OUT" 'paritytap replay: 6 exchanges: 6/6 status match · 1/6 shape match · 5 shape divergences · 0 errors' \
    "no baseline: the summary line"
is "$(new_drifts | sed -n 1p)" "paritytap replay: 15 new drifts:" \
    "no baseline: 15 new drifts"
is "$(new_drifts | sed -n 2,4p)" \
"  GET /users/{id} missing \$.email (candidate): 3 exchanges, e.g. id=$FIRSTU
  GET /orders/{id} type(integer->string) \$.total (both): 1 exchange, e.g. id=$ORD
  GET /users/{id} extra \$.nick (candidate): 1 exchange, e.g. id=$U3" \
    "no baseline: the most frequent first, each with its count and smallest id"
is "$(new_drifts | sed -n 5,12p | sed 's/ (candidate).*//')" \
"  GET /wide missing \$.f01
  GET /wide missing \$.f02
  GET /wide missing \$.f03
  GET /wide missing \$.f04
  GET /wide missing \$.f05
  GET /wide missing \$.f06
  GET /wide missing \$.f07
  ... and 5 more" "no baseline: ten listed, then how many more"
is "$(new_drifts | wc -l | tr -d ' ')" 12 "no baseline: nothing else in the list"
is "$(backend_nrequests primary)" "$np" "the recorded primary is not asked again"

# --- today's candidate with its baseline: the gate passes ---
nc=$(backend_nrequests candidate)
replay --baseline "$T/base.txt" --candidate "$CURL" "$CAP"
is "$RC" 0 "--baseline, today's candidate: exit 0"
is "$(backend_nrequests candidate)" $((nc + 6)) \
    "--baseline, today's candidate: all 6 requests replayed"
is "$OUT" 'paritytap replay: 6 exchanges: 6/6 status match · 1/6 shape match · 5 shape divergences · 0 errors' \
    "--baseline: the summary still counts the divergences"
is "$(printf '%s\n' "$ERR" | grep -c '^DIVERGE shape ')" 5 \
    "--baseline: the DIVERGE lines are still printed"
is "$(printf '%s\n' "$ERR" | grep '^paritytap replay:')" \
    "paritytap replay: no new drift; 15 in the baseline" \
    "--baseline: says no drift is new"

# --- the next build: one new drift fails the gate ---
replay --baseline "$T/base.txt" --candidate "$NURL" "$CAP"
is "$RC" 1 "--baseline, a new drift: exit 1"
is "$(new_drifts)" \
"paritytap replay: 1 new drift (not in $T/base.txt; 15 in it):
  GET /users/{id} missing \$.name (candidate): 1 exchange, e.g. id=$U2" \
    "--baseline: the new drift listed with its exchange"
is "$(printf '%s\n' "$ERR" | grep -c "^DIVERGE shape GET /users/{id} id=$U2 .* \\\$.name missing(candidate)")" \
    1 "the DIVERGE line of that exchange names \$.name"

replay --baseline "$T/base.txt" --json -q --candidate "$NURL" "$CAP"
is "$RC" 1 "--json: exit 1"
is "$(printf '%s' "$OUT" | jq -r '[.baseline, .drifts_total, .drifts_baselined, (.new_drifts | length), .exit] | @tsv')" \
    "$(printf '%s\t16\t15\t1\t1' "$T/base.txt")" \
    "--json: the baseline, 16 drifts, 15 in it, 1 new, exit 1"
is "$(printf '%s' "$OUT" | jq -c '.new_drifts[0] | del(.id)')" \
    "{\"drift\":\"GET /users/{id} missing \$.name (candidate)\",\"route\":\"GET /users/{id}\",\"kind\":\"missing\",\"path\":\"\$.name\",\"side\":\"candidate\",\"verdict\":\"shape\",\"count\":1,\"example_ids\":[\"$U2\"],\"fails\":true}" \
    "--json: the new drift's fields"
like "$(printf '%s' "$OUT" | jq -r '.new_drifts[0].id')" '^[0-9a-f]{16}$' \
    "--json: the drift's id"
is "$(printf '%s' "$OUT" | jq -r '.failures | map(.id) | join(" ")')" "$U2" \
    "--json: the one failing exchange is the one with the new drift"
is "$(printf '%s' "$OUT" | jq -r '.verdicts.shape')" 5 \
    "--json: the verdicts are counted as before"
is "$(printf '%s\n' "$ERR" | grep -c '^DIVERGE')" 0 "-q: no DIVERGE lines"
like "$(printf '%s\n' "$ERR" | sed -n 1p)" '^paritytap replay: 1 new drift ' \
    "-q: the new drifts are still listed"

# --- what a baseline forgives, and what it does not ---
# /orders/7: a baselined type change and a value difference.
replay -q --json --baseline "$T/base.txt" --fail-on shape,value \
    --candidate "$CURL" "$CAP"
is "$RC" 1 "--fail-on shape,value: the order's value difference fails"
is "$(printf '%s' "$OUT" | jq -c '.failures | map([.id, .verdict, .judged])')" \
    "[[\"$ORD\",\"shape\",\"value\"]]" \
    "... judged value once its type change is forgiven; nothing else fails"
replay -q --baseline "$T/base.txt" --fail-on value --candidate "$CURL" "$CAP"
is "$RC" 0 "--fail-on value: a shape exchange does not fail with a baseline, as without"
replay -q --fail-on value --candidate "$CURL" "$CAP"
is "$RC" 0 "--fail-on value: ... and without one"
replay -q --baseline "$T/base.txt" --candidate "$CURL" "$HELLO"
is "$RC" 1 "a byte difference carries no drift: it fails with a baseline too"
replay -q --fail-on status --candidate "$NURL" "$CAP"
is "$RC" 0 "--fail-on status: the shape drifts do not fail"
is "$(printf '%s\n' "$ERR" | grep -F 'missing $.name')" \
    "  GET /users/{id} missing \$.name (candidate): 1 exchange, e.g. id=$U2 (not failing: its verdict is not in --fail-on)" \
    "... and the list says why each passes"

# The baseline from the config file.
printf '[replay]\nbaseline = %s\n' "$T/base.txt" >"$T/gate.ini"
replay -q --config "$T/gate.ini" --candidate "$CURL" "$CAP"
is "$RC" 0 "baseline = FILE in [replay]: exit 0"

# --- JUnit ---
if command -v xmllint >/dev/null 2>&1; then
	XMLLINT=1
else
	XMLLINT=
fi
# xcount FILE XPATH: count(XPATH) in the file.
xcount() {
	xmllint --xpath "count($2)" "$1"
}

replay -q --baseline "$T/base.txt" --junit "$T/ex.xml" --candidate "$CURL" "$CAP"
is "$RC" 0 "--junit per exchange with a baseline: exit 0"
if [ -n "$XMLLINT" ]; then
	ok "--junit per exchange: well-formed XML" xmllint --noout "$T/ex.xml"
	is "$(xcount "$T/ex.xml" //testcase)" 6 "per exchange: one testcase per exchange"
	is "$(xcount "$T/ex.xml" //failure)" 0 "per exchange: no failure"
	is "$(xcount "$T/ex.xml" '//testcase/system-out[contains(., "the baseline lists the drifts")]')" \
	    5 "per exchange: the 5 forgiven divergences say so"
else
	skip "xmllint not installed (apt-get install libxml2-utils)"
	skip "xmllint not installed"
	skip "xmllint not installed"
	skip "xmllint not installed"
fi

replay -q --baseline "$T/base.txt" --junit "$T/drift.xml" --junit-per drift \
    --candidate "$NURL" "$CAP" "$HELLO"
is "$RC" 1 "--junit-per drift, the next build: exit 1"
if [ -n "$XMLLINT" ]; then
	ok "--junit-per drift: well-formed XML" xmllint --noout "$T/drift.xml"
	is "$(xcount "$T/drift.xml" //testcase)" 17 \
	    "per drift: 16 drifts and the byte difference, 17 testcases"
	is "$(xmllint --xpath 'string(//testsuite/@tests)' "$T/drift.xml")/$(xmllint --xpath 'string(//testsuite/@failures)' "$T/drift.xml")" \
	    17/2 "per drift: the suite says 17 tests, 2 failures"
	is "$(xmllint --xpath 'string(//testcase[failure]/@name)' "$T/drift.xml")" \
	    'GET /users/{id} missing $.name (candidate)' \
	    "per drift: the first failure is the new drift, named readably"
	is "$(xmllint --xpath 'string(//testcase[failure[@type="shape"]]/@classname)' "$T/drift.xml")" \
	    'GET /users/{id}' "per drift: its class is its route, its type its verdict"
	like "$(xmllint --xpath 'string(//testcase/failure[@type="shape"])' "$T/drift.xml")" \
	    "1 exchange, e.g. id=$U2\$" "per drift: the failure names the exchange"
	is "$(xmllint --xpath 'string(//testcase[failure[@type="body"]]/@name)' "$T/drift.xml")" \
	    "GET /hello id=$HID" \
	    "per drift: the byte difference, which carries no drift, is its exchange's testcase"
	is "$(xcount "$T/drift.xml" '//testcase[not(failure)]/system-out[starts-with(., "in the baseline; ")]')" \
	    15 "per drift: the 15 baselined drifts pass, saying so"
	is "$(xmllint --xpath 'string(//testcase[@name="GET /orders/{id} type(integer->string) $.total (both)"]/system-out)' "$T/drift.xml")" \
	    "in the baseline; 1 exchange, e.g. id=$ORD" \
	    "per drift: a baselined drift's exchanges"
else
	for i in 1 2 3 4 5 6 7 8 9; do
		skip "xmllint not installed"
	done
fi

replay -q --junit "$T/all.xml" --junit-per drift --candidate "$CURL" "$CAP"
is "$RC" 1 "--junit-per drift, no baseline: exit 1"
if [ -n "$XMLLINT" ]; then
	is "$(xcount "$T/all.xml" //testcase)/$(xcount "$T/all.xml" //failure)" \
	    15/15 "per drift, no baseline: 15 drifts, each a failure"
else
	skip "xmllint not installed"
fi

# --- bad input ---
nc=$(backend_nrequests candidate)
{ sed -n 1,4p "$T/base.txt"; printf 'GET /users/{id}\tmissing\t$.email\n'; } >"$T/bad.txt"
replay --baseline "$T/bad.txt" --candidate "$CURL" "$CAP"
is "$RC" 2 "a baseline line with 3 fields: exit 2"
is "$ERR" "paritytap replay: --baseline: $T/bad.txt:5: fewer than 4 tab-separated fields (ROUTE, KIND, PATH, SIDE)" \
    "... naming the file and line and what is wrong"
is "$OUT" "" "... no summary"
replay --baseline "$T/none.txt" --candidate "$CURL" "$CAP"
is "$RC" 2 "a missing baseline: exit 2"
contains "$ERR" "$T/none.txt: No such file or directory" "... naming it"
backend_idle candidate
is "$(backend_nrequests candidate)" "$nc" "a bad baseline: nothing is replayed"
replay --junit "$T/x.xml" --junit-per testcase --candidate "$CURL" "$CAP"
is "$RC" 2 "--junit-per testcase: exit 2"
contains "$ERR" "--junit-per: 'testcase' is not exchange or drift" "... naming the option"
replay --junit-per drift --candidate "$CURL" "$CAP"
is "$RC" 2 "--junit-per without --junit: exit 2"
contains "$ERR" "--junit-per: no --junit FILE to write" "... saying so"
replay --help
contains "$OUT" "--baseline FILE" "--help documents --baseline"
contains "$OUT" "--junit-per WHAT" "--help documents --junit-per"

done_testing
