#!/bin/sh
# --state FILE: the drift table survives a restart, and a kill -9 once
# the file was written, so known drifts are not NEW again; a state file
# that does not parse, and bad drift options, are usage errors (exit 2)
# that name what is wrong.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-drift.sh"
need curl jq timeout
need_binaries

# run NAME ARGS...: paritytap proxy on a free port that exits at once
# (bounded to 10 s); sets ST and ERR.
run() {
	_n=$1
	shift
	timeout 10 "$PARITYTAP" proxy --listen 127.0.0.1:0 \
	    --primary http://127.0.0.1:1 --candidate http://127.0.0.1:2 "$@" \
	    >"$T/$_n.out" 2>"$T/$_n.err" </dev/null
	ST=$?
	ERR=$(cat "$T/$_n.err")
}

# --- bad options ---
run ra --resolve-after soon
is "$ST" 2 "--resolve-after soon: exit 2"
contains "$ERR" '--resolve-after: "soon" is not a duration' \
    "... the error names the option and the value"
run ra0 --resolve-after 0
is "$ST" 2 "--resolve-after 0: exit 2"
contains "$ERR" "--resolve-after: 0 seconds: out of range" \
    "... a bare number is seconds, and 0 is out of range"
run si --state-interval 1ms
is "$ST" 2 "--state-interval 1ms: exit 2"
contains "$ERR" "--state-interval: 1ms: out of range (10ms to" \
    "... the error says the range"
run nodir --state "$T/no/such/dir/state.json"
is "$ST" 2 "--state in a directory that does not exist: exit 2"
contains "$ERR" "--state $T/no/such/dir/state.json.tmp: No such file or directory" \
    "... the error names the file it could not write"
run help --help
contains "$(cat "$T/help.out")" "--state-interval DURATION" \
    "--help lists --state-interval"
contains "$(cat "$T/help.out")" "--resolve-after DURATION" \
    "--help lists --resolve-after"

# --- a restart, after a kill -9 ---
drift_fixtures
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
S=$T/state.json
CAP=$T/capture.jsonl
# The config file takes the options as keys.
cat >"$T/proxy.ini" <<EOF
[proxy]
primary = http://127.0.0.1:$(backend_port primary)
candidate = http://127.0.0.1:$(backend_port candidate)
state = $S
state-interval = 100ms
resolve-after = 1h
EOF
start_proxy --config "$T/proxy.ini" --capture "$CAP" ||
    bail "the proxy did not start"
E1=$PROXY_ERR
ok "--state: the file is written at start" test -s "$S"
is "$(jq -c '.drifts' "$S")" "[]" "... with no drift yet"
req d110 "$PROXY_URL/d/110"
is "$HTTP_CODE" 200 "a request carrying \$.a and \$.d"
# nnew_ge FILE N: FILE has at least N NEW lines.
nnew_ge() {
	[ "$(nlines NEW "$1")" -ge "$2" ]
}
ok "two NEW lines" wait_for 30 nnew_ge "$E1" 2
is "$(nlines NEW "$E1")" 2 "... and no more"
# state_has N: the state file holds N drifts (it is replaced whole, so
# it is never read half-written).
state_has() {
	[ "$(jq '.drifts | length' "$S" 2>/dev/null)" = "$1" ]
}
ok "within --state-interval, the state file holds the two drifts" \
    wait_for 30 state_has 2
stop_proxy KILL
is "$PROXY_STATUS" 137 "the proxy is killed with SIGKILL"
is "$(jq -r '.drifts[] | [.route, .kind, .path, .side, .verdict, .state,
    (.count | tostring), .example.request] | join(" ")' "$S" | sort |
    tr '\n' '|')" \
    "GET /d/{id} extra \$.d candidate shape new 1 GET /d/110|GET /d/{id} missing \$.a candidate shape new 1 GET /d/110|" \
    "the state after kill -9: both drifts with key, verdict, state, count and example"
is "$(jq -r '.routes[] | .route + " " + (.exchanges | tostring)' "$S")" \
    "GET /d/{id} 1" "... and the route's exchanges"
is "$(grep -c '^{"id":' "$S")" 2 "... one drift per line"
ok "no FILE.tmp is left" test ! -e "$S.tmp"

start_proxy --config "$T/proxy.ini" --capture "$CAP" ||
    bail "the proxy did not start again"
E2=$PROXY_ERR
req d111 "$PROXY_URL/d/111"
is "$HTTP_CODE" 200 "after the restart: a request carrying all three drifts"
TRACE_C=$TRACE
stop_proxy
is "$PROXY_STATUS" 0 "the second proxy exits 0"
is "$(nlines NEW "$E2")" 1 "the restart prints one NEW line, not three"
like "$(lines NEW "$E2")" "^NEW shape $DRIFT_C drift=[0-9a-f]{16} id=$TRACE_C\$" \
    "... for \$.c, the one the first run never saw"
like "$(grep '^paritytap proxy: [0-9]* exchanges*:' "$E2")" \
    ' · 3 drifts \(1 new this run\)$' \
    "the summary: three drifts known, one new this run"
is "$(jq -r '.drifts[] | .path + "=" + .state + "/" + (.count | tostring)' \
    "$S" | sort | tr '\n' ' ')" '$.a=ongoing/2 $.c=new/1 $.d=ongoing/2 ' \
    "the state at stop: counts across both runs"

# --- a state file that does not parse ---
head -n 4 "$S" >"$T/torn.json"
run torn --state "$T/torn.json"
is "$ST" 2 "a torn state file: exit 2"
like "$ERR" "^paritytap proxy: --state $T/torn.json:5: " \
    "... the error names the file and the line"
sed 's/"state":"new"/"state":"fresh"/' "$S" >"$T/bad.json"
run bad --state "$T/bad.json"
is "$ST" 2 "a drift with an unknown state: exit 2"
contains "$ERR" "--state $T/bad.json: drifts[2] (the 3rd drift): \"state\" is not new, ongoing, resolved or regressed" \
    "... the error names the file, the drift (\$.c, still new) and what is wrong"
is "$(cat "$T/torn.json" | wc -l | tr -d ' ')" 4 \
    "a state file that does not parse is left as it was"

done_testing
