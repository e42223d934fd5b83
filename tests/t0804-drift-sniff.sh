#!/bin/sh
# sniff follows drifts as the proxy does: clients talk to the primary on
# the loopback, sniff sends what it sees to the candidate; 200 exchanges
# carrying three drifts in all combinations print three NEW lines, the
# events carry the states, a drift resolves and comes back, --state keeps
# the table for the next run.  Capturing needs root with CAP_NET_RAW;
# without, only the usage errors are checked.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-drift.sh"
. "$top_srcdir/tests/lib-sniff.sh"
need curl jq timeout
need_binaries

sniff_once ra --resolve-after 5x
is "$ST" 2 "sniff --resolve-after 5x: exit 2"
contains "$ERR" '--resolve-after: "5x": unknown unit "x"' \
    "... the error names the option and the unit"
printf 'GET /x\tmissing\n' >"$T/short"
sniff_once short --baseline "$T/short"
is "$ST" 2 "sniff with a malformed baseline: exit 2"
contains "$ERR" "--baseline $T/short:1: fewer than 4 tab-separated fields" \
    "... the error names the file and line"
sniff_once help --help
contains "$(cat "$T/help.out")" "--baseline FILE" "sniff --help lists --baseline"

need_capture


drift_fixtures
start_backend primary "$T/primary.json"
PPORT=$BACKEND_PORT
start_backend candidate "$T/candidate.json"
CURL="http://127.0.0.1:$(backend_port candidate)"
EV=$T/events.jsonl
S=$T/state.json

# --- three drifts in all combinations ---
start_sniff --port "$PPORT" --candidate "$CURL" --events "$EV" \
    --state "$S" --resolve-after 300ms --stats-interval 0 --count 200 ||
    bail "sniff did not start"
is "$(drift_send combos "http://127.0.0.1:$PPORT/d/[0-1][0-1][0-1]?n=[1-25]")" \
    200 "200 requests straight to the primary, 200 answers"
wait_pid "$SNIFF_PID" 60
is "$WAIT_STATUS" 0 "--count 200: sniff exits 0 by itself"
E=$SNIFF_ERR
is "$(nlines NEW "$E")" 3 "exactly three NEW lines"
like "$(lines NEW "$E" | grep -E "$DRIFT_A")" \
    "^NEW shape $DRIFT_A drift=[0-9a-f]{16} id=" "NEW: \$.a missing"
like "$(lines NEW "$E" | grep -E "$DRIFT_D")" \
    "^NEW shape $DRIFT_D drift=[0-9a-f]{16} id=" "NEW: \$.d extra"
like "$(lines NEW "$E" | grep -E "$DRIFT_C")" \
    "^NEW shape $DRIFT_C drift=[0-9a-f]{16} id=" "NEW: \$.c type"
is "$(jq -s length "$EV")" 175 "--events: the 175 divergent exchanges"
is "$(jq -c '.drifts[] | select(.state == "new")' "$EV" | wc -l | tr -d ' ')" \
    3 "--events: three drifts in state new"
contains "$(grep '^paritytap sniff: 200 exchanges:' "$E")" \
    "175 shape divergences · 0 errors · 3 drifts (3 new this run)" \
    "the summary counts three drifts"
is "$(jq '.drifts | length' "$S")" 3 "--state: written at exit, three drifts"

# --- the next run: known drifts are not new; resolved, then regressed ---
start_sniff --port "$PPORT" --candidate "$CURL" --state "$S" \
    --resolve-after 300ms --stats-interval 0 ||
    bail "sniff did not start again"
E=$SNIFF_ERR
resolved_a() {
	curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -o /dev/null \
	    "http://127.0.0.1:$PPORT/d/000"
	grep -Eq "^RESOLVED shape $DRIFT_A " "$E"
}
ok "RESOLVED: \$.a, after matching traffic on its route" \
    wait_for 60 resolved_a
is "$(drift_send back "http://127.0.0.1:$PPORT/d/100")" 1 \
    "\$.a again"
has_regressed() {
	grep -Eq "^REGRESSED shape $DRIFT_A " "$E"
}
ok "REGRESSED: \$.a" wait_for 60 has_regressed
stop_sniff
is "$WAIT_STATUS" 0 "SIGINT: sniff exits 0"
is "$(nlines NEW "$E")" 0 "the second run prints no NEW line"
like "$(grep '^paritytap sniff: [0-9]* exchanges*:' "$E")" ' · 3 drifts \(2 resolved\)$' \
    "the summary: the state's three drifts, \$.c and \$.d still resolved"

done_testing
