#!/bin/sh
# The JSON outputs share their names: "exchanges" (the total read),
# "verdicts" (verdict -> count, adding up to the total) and "failing"
# (how many fail the gate: --fail-on where the command has one, else the
# default status,shape,body,candidate_error) in replay, rejudge, report,
# diff, noise and the admin listener's /api/summary; the names each had
# before stay beside them.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-admin.sh"
need curl jq
need_binaries

CAP=$top_srcdir/captures/validator.jsonl
start_backend primary "$FIXTURES/validator-primary.json"
start_backend candidate "$FIXTURES/validator-candidate.json"
PRI="http://127.0.0.1:$(backend_port primary)"
CAN="http://127.0.0.1:$(backend_port candidate)"
GO=$FIXTURES/diff-session-go.jsonl
RUST=$FIXTURES/diff-session-rust.jsonl

# names NAME FILE: [exchanges, the sum of verdicts, failing] and their
# types, as "6 6 5 number object number".
names() {
	jq -r '[.exchanges, ([.verdicts[]] | add), .failing,
	    (.exchanges | type), (.verdicts | type), (.failing | type)] |
	    map(tostring) | join(" ")' "$2"
}

# --- replay: failing is the exchanges that fail --fail-on ---
"$PARITYTAP" replay --json --candidate "$CAN" "$CAP" >"$T/replay.json" \
    2>/dev/null
is "$(names replay "$T/replay.json")" "6 6 5 number object number" \
    "replay --json: exchanges 6, verdicts add up to 6, 5 failing"
is "$(jq -c .verdicts "$T/replay.json")" '{"match":1,"shape":5}' \
    "replay --json: verdicts by name"
is "$(jq '.failing == (.failures | length)' "$T/replay.json")" true \
    "replay --json: failing counts the failures listed"
"$PARITYTAP" replay --format json --fail-on status --candidate "$CAN" "$CAP" \
    >"$T/replay-status.json" 2>/dev/null
is "$(jq .failing "$T/replay-status.json")" 0 \
    "replay --fail-on status: no exchange fails, failing 0"

# --- rejudge: the verdicts after, beside read/before/after ---
"$PARITYTAP" rejudge --json -o "$T/rj.jsonl" "$CAP" >"$T/rejudge.json" \
    2>/dev/null
is "$(names rejudge "$T/rejudge.json")" "6 6 5 number object number" \
    "rejudge --json: exchanges 6, verdicts add up to 6, 5 failing"
is "$(jq '.exchanges == .read and .verdicts == .after' "$T/rejudge.json")" \
    true "rejudge --json: read and after stay, the same numbers"
"$PARITYTAP" rejudge --json --ignore '$' -o "$T/rj2.jsonl" "$CAP" \
    >"$T/rejudge-ignored.json" 2>/dev/null
is "$(jq -c '[.failing, .verdicts.match]' "$T/rejudge-ignored.json")" \
    '[0,6]' "rejudge --ignore \$: every body ignored, failing 0"

# --- report ---
"$PARITYTAP" report --json "$CAP" >"$T/report.json" 2>/dev/null
is "$(names report "$T/report.json")" "6 6 5 number object number" \
    "report --json: exchanges 6, verdicts add up to 6, 5 failing"
is "$(jq '.verdicts == .totals.verdicts' "$T/report.json")" true \
    "report --json: totals.verdicts stays, the same object"

# --- noise ---
"$PARITYTAP" noise --json "$CAP" >"$T/noise.json" 2>/dev/null
is "$(names noise "$T/noise.json")" "6 6 5 number object number" \
    "noise --json: exchanges 6, verdicts add up to 6, 5 failing"

# --- diff: a pair of documents counts as an exchange ---
"$PARITYTAP" diff --json "$GO" "$RUST" >"$T/diff.json" 2>/dev/null
is "$(names diff "$T/diff.json")" "4 4 0 number object number" \
    "diff --json: exchanges 4, verdicts add up to 4, none failing"
is "$(jq -c '[.documents, .verdicts]' "$T/diff.json")" '[4,{"value":4}]' \
    "diff --json: documents stays; four value verdicts"
"$PARITYTAP" diff --json --fail-on value "$GO" "$RUST" \
    >"$T/diff-value.json" 2>/dev/null
is "$(jq .failing "$T/diff-value.json")" 4 \
    "diff --fail-on value: the four pairs fail"

# --- the proxy's /api/summary ---
start_proxy -q --primary "$PRI" --candidate "$CAN" --admin 0 ||
    bail "the proxy did not start"
ADMIN=$(admin_addr)
for c in schema_field valid; do
	req "$c" -X POST -H 'Content-Type: application/json' \
	    --data "{\"case\":\"$c\"}" "$PROXY_URL/v1/validate"
done
processed2() {
	admin s /api/summary
	[ "$(jq -r .exchanges "$T/s.body")" = 2 ]
}
ok "/api/summary: the two exchanges are counted" wait_for 60 processed2
is "$(names admin "$T/s.body")" "2 2 1 number object number" \
    "/api/summary: exchanges 2, verdicts add up to 2, 1 failing"
stop_proxy

done_testing
