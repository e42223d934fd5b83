#!/bin/sh
# replay --junit-per signature: one testcase per diff signature (verdict,
# route, folded diff paths), failing when one of its exchanges fails, so
# that 1,758 exchanges sharing 3 signatures are 3 testcases a CI page can
# show; with a baseline, with --fail-on, checked with xmllint.  The
# capture is recorded with the real proxy in front of two test backends
# (tests/fixtures/drift-primary.json and drift-candidate.json), then
# repeated to 1,758 exchanges with jq.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries
command -v xmllint >/dev/null 2>&1 ||
    skip_all "xmllint is not installed (apt-get install libxml2-utils)"

start_backend primary "$FIXTURES/drift-primary.json"
start_backend candidate "$FIXTURES/drift-candidate.json"
PURL=http://127.0.0.1:$(backend_port primary)
CURL=http://127.0.0.1:$(backend_port candidate)

start_proxy --primary "$PURL" --candidate "$CURL" --capture "$T/rec.jsonl" -q ||
    bail "the proxy did not start"
for p in /users/1 /users/3 /health; do
	req rec "$PROXY_URL$p"
	[ "$HTTP_CODE" = 200 ] || bail "GET $p through the proxy: $HTTP_CODE"
done
stop_proxy
is "$(cap_nlines "$T/rec.jsonl")" 3 "the proxy recorded 3 exchanges"

# 586 copies of the three, each with its own id: 1,758 exchanges.
jq -c -s '[range(586) as $k | .[] |
    .id = ("t" + ($k | tostring | ("0000" + .)[-4:]) + "-" +
        (.request.target | ltrimstr("/") | sub("/"; "")))] | .[]' \
    "$T/rec.jsonl" >"$T/cap.jsonl"
is "$(cap_nlines "$T/cap.jsonl")" 1758 "the capture: 1758 exchanges"

# replay ARGS...: run paritytap replay -q; sets RC, ERR.
replay() {
	"$PARITYTAP" replay -q "$@" >"$T/out" 2>"$T/err"
	RC=$?
	ERR=$(cat "$T/err")
}
# xq FILE XPATH: the string value of XPATH in the file.
xq() {
	xmllint --xpath "$2" "$1"
}

replay --concurrency 32 --junit "$T/sig.xml" --junit-per signature \
    --candidate "$CURL" "$T/cap.jsonl"
is "$RC" 1 "--junit-per signature: exit 1 (shape divergences)"
backend_idle candidate
is "$(backend_nrequests candidate)" 1761 "every exchange was replayed (1758 and the 3 recorded)"
ok "--junit-per signature: well-formed XML" xmllint --noout "$T/sig.xml"
is "$(xq "$T/sig.xml" 'count(//testcase)')" 3 \
    "1758 exchanges, 3 signatures: 3 testcases"
is "$(xq "$T/sig.xml" 'string(//testsuite/@tests)')/$(xq "$T/sig.xml" 'string(//testsuite/@failures)')" \
    3/2 "the suite says 3 tests, 2 failures"
is "$(xq "$T/sig.xml" '//testcase/@name' | sed 's/^ *name="//; s/"$//')" \
'match GET /health
shape GET /users/{id} $.email
shape GET /users/{id} $.email $.nick' \
    "the testcases are named by their signatures, the most frequent first (then by text)"
is "$(xq "$T/sig.xml" 'string(//testcase[@name="shape GET /users/{id} $.email $.nick"]/@classname)')" \
    'GET /users/{id}' "a testcase's class is its route"
is "$(xq "$T/sig.xml" 'string(//testcase[@name="shape GET /users/{id} $.email"]/failure/@type)')" \
    shape "the failure's type is the verdict"
is "$(xq "$T/sig.xml" 'string(//testcase[@name="shape GET /users/{id} $.email"]/failure/@message)')" \
    '586 of 586 exchanges fail: shape GET /users/{id} $.email' \
    "the failure message counts the failing exchanges"
is "$(xq "$T/sig.xml" 'string(//testcase[@name="shape GET /users/{id} $.email"]/failure)' | sed -n 1p)" \
    '586 exchanges, e.g. id=t0000-users1, id=t0001-users1, id=t0002-users1' \
    "the failure names the smallest example ids"
like "$(xq "$T/sig.xml" 'string(//testcase[@name="shape GET /users/{id} $.email"]/failure)' | sed -n 2p)" \
    '^id=t0000-users1: DIVERGE shape GET /users/\{id\} id=t0000-users1 .*\$\.email missing\(candidate\)' \
    "... and the flag line of the first failing exchange"
is "$(xq "$T/sig.xml" 'count(//testcase[@name="match GET /health"]/failure)')" 0 \
    "the matching signature passes"
is "$(xq "$T/sig.xml" 'string(//testcase[@name="match GET /health"]/system-out)')" \
    '586 exchanges, e.g. id=t0000-health, id=t0001-health, id=t0002-health' \
    "... saying how many exchanges it holds"
ok "the file is small: one testcase per signature, not per exchange" \
    test "$(wc -c <"$T/sig.xml")" -lt 4000

# A baseline of today's drifts: every signature passes.
"$PARITYTAP" report -q --format baseline -o "$T/base.txt" "$T/rec.jsonl"
replay --baseline "$T/base.txt" --junit "$T/base.xml" --junit-per signature \
    --candidate "$CURL" "$T/cap.jsonl"
is "$RC" 0 "--baseline: exit 0"
is "$(xq "$T/base.xml" 'count(//testcase)')/$(xq "$T/base.xml" 'count(//failure)')" \
    3/0 "--baseline: 3 testcases, none failing"
is "$(xq "$T/base.xml" 'string(//testcase[@name="shape GET /users/{id} $.email"]/system-out)')" \
    '586 exchanges, e.g. id=t0000-users1, id=t0001-users1, id=t0002-users1
(passes: the baseline lists the drifts it would fail on)' \
    "--baseline: a forgiven signature says why it passes"

# --fail-on: a signature fails only through a verdict that fails the run.
replay --fail-on status --junit "$T/status.xml" --junit-per signature \
    --candidate "$CURL" "$T/cap.jsonl"
is "$RC" 0 "--fail-on status: exit 0"
is "$(xq "$T/status.xml" 'count(//testcase)')/$(xq "$T/status.xml" 'count(//failure)')" \
    3/0 "--fail-on status: 3 testcases, none failing"

replay --junit "$T/x.xml" --junit-per signatures --candidate "$CURL" "$T/cap.jsonl"
is "$RC" 2 "--junit-per signatures: exit 2"
contains "$ERR" "--junit-per: 'signatures' is not exchange, drift or signature" \
    "... naming the values"
"$PARITYTAP" replay --help >"$T/help" 2>&1
contains "$(tr -s ' \n' '  ' <"$T/help")" "or signature: one per diff signature (verdict, route, folded paths), failing when one of its exchanges fails" \
    "--help documents --junit-per signature"

done_testing
