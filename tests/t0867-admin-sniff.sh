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
. "$top_srcdir/tests/lib-sniff.sh"
need curl jq timeout
need_binaries

sniff_once bad --admin 127.0.0.1:x
is "$ST" 2 "sniff --admin 127.0.0.1:x: exit 2"
contains "$ERR" "--admin 127.0.0.1:x: bad port" "... naming it"
sniff_once tok --admin 0 --admin-token "$T/absent"
is "$ST" 2 "sniff --admin-token of a missing file: exit 2"
contains "$ERR" "--admin-token $T/absent" "... naming the file"
sniff_once help --help
contains "$(cat "$T/help.out")" "--admin ADDR:PORT" "sniff --help lists --admin"

need_capture

drift_fixtures
start_backend primary "$T/primary.json"
PPORT=$BACKEND_PORT
start_backend candidate "$T/candidate.json"
CAP=$T/capture.jsonl
start_sniff --port "$PPORT" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" --stats-interval 0 --admin 0 ||
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
stop_sniff TERM
is "$SNIFF_STATUS" 0 "sniff stops cleanly"

# --- a candidate that holds its answers, --max-inflight 1 ---
# (a candidate timeout of an hour: the held mirror never times out,
# however slow the machine)
jq -n --argjson d 3600000 '{default: {status: 200, delay_ms: $d,
    headers: [["Content-Type", "application/json"]], body: "{}"}}' \
    >"$T/held.json"
start_backend held "$T/held.json"
start_sniff --port "$PPORT" \
    --candidate "http://127.0.0.1:$(backend_port held)" --max-inflight 1 \
    --candidate-timeout 3600000 \
    --capture "$T/capture2.jsonl" --stats-interval 0 --admin 0 ||
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
stop_sniff TERM
is "$SNIFF_STATUS" 0 "the second sniff stops cleanly"
contains "$(cat "$SNIFF_ERR")" "paritytap sniff: 1 exchanges dropped: the candidate had --max-inflight 1 requests in flight" \
    "... and says it dropped one"

done_testing
