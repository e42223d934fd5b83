#!/bin/sh
# sniff serves the admin listener as the proxy does: its usage errors,
# and, with the capture rights, /metrics counting what it saw by route
# and verdict, /api/summary naming the command, /readyz once both sides
# answered; paritytap_inflight{side="candidate"} while a candidate holds
# a mirror, and paritytap_mirror_dropped_total{reason="inflight"} for the
# one over --max-inflight.  Capturing needs root with CAP_NET_RAW; without, only the
# usage errors are checked.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-admin.sh"
. "$top_srcdir/tests/lib-drift.sh"
need curl jq timeout
need_binaries

# run NAME ARGS...: paritytap sniff that exits at once (bounded to 10 s).
run() {
	_n=$1
	shift
	timeout 10 "$PARITYTAP" sniff -i lo --port 80 \
	    --candidate http://127.0.0.1:2 "$@" >"$T/$_n.out" \
	    2>"$T/$_n.err" </dev/null
	ST=$?
	ERR=$(cat "$T/$_n.err")
}
run bad --admin 127.0.0.1:x
is "$ST" 2 "sniff --admin 127.0.0.1:x: exit 2"
contains "$ERR" "--admin 127.0.0.1:x: bad port" "... naming it"
run tok --admin 0 --admin-token "$T/absent"
is "$ST" 2 "sniff --admin-token of a missing file: exit 2"
contains "$ERR" "--admin-token $T/absent" "... naming the file"
run help --help
contains "$(cat "$T/help.out")" "--admin ADDR:PORT" "sniff --help lists --admin"

capeff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status 2>/dev/null)
if [ "$(id -u)" -ne 0 ] || [ -z "$capeff" ] ||
    [ $(((0x$capeff >> 13) & 1)) -ne 1 ]; then
	skip "capturing on lo needs root with CAP_NET_RAW (uid $(id -u))"
	done_testing
fi

drift_fixtures
start_backend primary "$T/primary.json"
PPORT=$BACKEND_PORT
start_backend candidate "$T/candidate.json"
CAP=$T/capture.jsonl
SNIFF_ERR=$T/sniff.err
"$PARITYTAP" sniff -i lo --port "$PPORT" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" --stats-interval 0 --admin 0 >"$T/sniff.out" \
    2>"$SNIFF_ERR" </dev/null &
SNIFF_PID=$!
track "$SNIFF_PID"
wait_for 10 grep -qs '^sniff: listening on lo ' "$SNIFF_ERR" ||
    bail "sniff did not start"
ADMIN=$(sed -n 's/.*, admin \([^ ]*\)$/\1/p' "$SNIFF_ERR" | head -n 1)
like "$ADMIN" '^127\.0\.0\.1:[1-9][0-9]*$' "the start line names the admin address"

is "$(drift_send a "http://127.0.0.1:$PPORT/d/[0-1]00")" 2 \
    "two requests straight to the primary"
sent=2
ok "sniff recorded both" wait_for 30 processed
scrape
is "$(metric 'paritytap_exchanges_total{route="GET /d/{id}",verdict="shape"}')" \
    1 "/metrics: one shape on GET /d/{id}"
is "$(metric 'paritytap_exchanges_total{route="GET /d/{id}",verdict="match"}')" \
    1 "/metrics: one match"
admin summary /api/summary
is "$(jq -r '[.command, .exchanges] | @tsv' "$T/summary.body")" \
    "$(printf 'sniff\t2')" "/api/summary: sniff, 2 exchanges"
admin ready /readyz
is "$HTTP_CODE" 200 "/readyz: both sides answered"
kill -TERM "$SNIFF_PID"
wait_pid "$SNIFF_PID" 30
is "$WAIT_STATUS" 0 "sniff stops cleanly"

# --- a candidate that holds its answers, --max-inflight 1 ---
# (a candidate timeout of an hour: the held mirror never times out,
# however slow the machine)
jq -n --argjson d 3600000 '{default: {status: 200, delay_ms: $d,
    headers: [["Content-Type", "application/json"]], body: "{}"}}' \
    >"$T/held.json"
start_backend held "$T/held.json"
SNIFF_ERR=$T/sniff2.err
"$PARITYTAP" sniff -i lo --port "$PPORT" \
    --candidate "http://127.0.0.1:$(backend_port held)" --max-inflight 1 \
    --candidate-timeout 3600000 \
    --capture "$T/capture2.jsonl" --stats-interval 0 --admin 0 \
    >"$T/sniff2.out" 2>"$SNIFF_ERR" </dev/null &
SNIFF_PID=$!
track "$SNIFF_PID"
wait_for 10 grep -qs '^sniff: listening on lo ' "$SNIFF_ERR" ||
    bail "the second sniff did not start"
ADMIN=$(sed -n 's/.*, admin \([^ ]*\)$/\1/p' "$SNIFF_ERR" | head -n 1)
# sample NAME VALUE: a scrape now has sample NAME at VALUE.
sample() {
	scrape
	[ "$(metric "$1")" = "$2" ]
}
is "$(drift_send h1 "http://127.0.0.1:$PPORT/d/000")" 1 \
    "a request to the primary"
ok "the held candidate has its mirror" wait_for 30 backend_nrequests_ge held 1
ok 'paritytap_inflight{side="candidate"} 1' \
    wait_for 30 sample 'paritytap_inflight{side="candidate"}' 1
is "$(metric 'paritytap_inflight{side="primary"}')" 0 \
    '... and {side="primary"} 0: sniff only watches the primary'
is "$(drift_send h2 "http://127.0.0.1:$PPORT/d/000")" 1 \
    "a second request while the first mirror is held"
ok 'paritytap_mirror_dropped_total{reason="inflight"} 1' \
    wait_for 30 sample 'paritytap_mirror_dropped_total{reason="inflight"}' 1
admin summary2 /api/summary
is "$(jq -c '[.dropped.inflight, .backends.candidate.inflight]' \
    "$T/summary2.body")" '[1,1]' "/api/summary: dropped.inflight 1, candidate inflight 1"
is "$(backend_nrequests held)" 1 "the candidate got only the first"
backend_release held
ok 'once released, paritytap_inflight{side="candidate"} 0' \
    wait_for 30 sample 'paritytap_inflight{side="candidate"}' 0
kill -TERM "$SNIFF_PID"
wait_pid "$SNIFF_PID" 30
is "$WAIT_STATUS" 0 "the second sniff stops cleanly"
contains "$(cat "$SNIFF_ERR")" "sniff: 1 exchanges dropped: the candidate had --max-inflight 1 requests in flight" \
    "... and says it dropped one"

done_testing
