#!/bin/sh
# sniff holds DIVERGE lines back as the proxy does, on the clock of the
# packets it sees: 30 requests straight to the primary on the loopback
# carrying one drift, --flag-limit 4/1h prints 4 lines and the summary
# counts 26 held back; the events file still has all 30.  Capturing
# needs root with CAP_NET_RAW; without, only the usage errors are
# checked.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-drift.sh"
. "$top_srcdir/tests/lib-sniff.sh"
need curl jq timeout
need_binaries

sniff_once lim --flag-limit 4/1x
is "$ST" 2 "sniff --flag-limit 4/1x: exit 2"
contains "$ERR" '--flag-limit: "1x": unknown unit "x"' \
    "... the error names the option and the unit"
sniff_once help --help
contains "$(cat "$T/help.out")" "--flag-limit N/DURATION" \
    "sniff --help lists --flag-limit"

need_capture

drift_fixtures
start_backend primary "$T/primary.json"
PPORT=$BACKEND_PORT
start_backend candidate "$T/candidate.json"
CURL="http://127.0.0.1:$(backend_port candidate)"
EV=$T/events.jsonl

start_sniff --port "$PPORT" --candidate "$CURL" --events "$EV" \
    --stats-interval 0 --count 30 --flag-limit 4/1h ||
    bail "sniff did not start"
is "$(drift_send a "http://127.0.0.1:$PPORT/d/100?n=[1-30]")" 30 \
    "30 requests missing \$.a straight to the primary"
wait_pid "$SNIFF_PID" 60
is "$WAIT_STATUS" 0 "--count 30: sniff exits 0 by itself"
E=$SNIFF_ERR
is "$(grep -Ec '^DIVERGE shape GET /d/\{id\} id=[^ ]+ status 200=200 \$\.a missing\(candidate\)$' "$E")" \
    4 "4 DIVERGE lines"
is "$(grep -c '^DIVERGE ' "$E")" 4 "... and no other"
like "$(grep '^paritytap sniff: 30 exchanges:' "$E")" \
    ' · 30 shape divergences · .* · 26 DIVERGE lines held back \(--flag-limit\)$' \
    "the summary counts the 26 held back"
is "$(jq -s length "$EV")" 30 "--events: the 30 divergent exchanges"

done_testing
