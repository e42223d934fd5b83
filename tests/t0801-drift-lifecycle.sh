#!/bin/sh
# A drift's lifecycle through a real proxy, with --resolve-after 500ms:
# new, ongoing, resolved only once its own route carried traffic without
# it for that long (traffic elsewhere resolves nothing), regressed when
# it comes back.  Each transition is one line on stderr, and --events
# carries the states (a resolved drift as a line of its own).

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-drift.sh"
need curl jq
need_binaries

drift_fixtures
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
EV=$T/events.jsonl
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --events "$EV" --capture "$CAP" --resolve-after 500ms ||
    bail "the proxy did not start"
E=$PROXY_ERR
sent=0

# one PATH: one request through the proxy.
one() {
	req one "$PROXY_URL$1"
	sent=$((sent + 1))
	[ "$HTTP_CODE" = 200 ] || diag "$1: got $HTTP_CODE"
}

# processed: the proxy has compared and recorded every request sent (the
# capture comes after the drift table in the pipeline).
processed() {
	[ "$(cap_nlines "$CAP")" -ge "$sent" ]
}

# has WORD ERE: some line of the proxy's stderr matches "^WORD ERE".
has() {
	grep -Eq "^$1 shape $2 " "$E"
}

# --- new: two drifts in one exchange ---
one /d/110
ok "an exchange carrying \$.a and \$.d: both NEW" \
    wait_for 30 eval 'has NEW "$DRIFT_A" && has NEW "$DRIFT_D"'
ID_A=$(drift_of "$(lines NEW "$E" | grep -E "$DRIFT_A")")
ID_D=$(drift_of "$(lines NEW "$E" | grep -E "$DRIFT_D")")
T0=$(now_ms)

# --- traffic on another route, longer than --resolve-after ---
while [ $(($(now_ms) - T0)) -lt 1000 ]; do
	one /other/x
done
ok "the other route's requests are all compared" wait_for 30 processed
is "$(nlines RESOLVED "$E")" 0 \
    "a second of traffic on another route resolves nothing"

# --- resolved: the first exchange on its route without it ---
one /d/100
ok "RESOLVED: \$.d, by an exchange on its route that lacks it" \
    wait_for 30 has RESOLVED "$DRIFT_D"
like "$(lines RESOLVED "$E")" "^RESOLVED shape $DRIFT_D drift=$ID_D seen=1\$" \
    "... the line names the drift, its id and how many exchanges carried it"
ok "the exchange is recorded" wait_for 30 processed
is "$(nlines RESOLVED "$E")" 1 "... and \$.a, seen in that exchange, goes on"
is "$(jq -r 'select(.request.target == "/d/100") | .drifts[] |
    .path + "=" + .state' "$EV")" '$.a=ongoing' \
    "--events: that exchange carries \$.a, ongoing"

# Matches on the route until $.a too is resolved (500 ms after it was
# last seen, in the exchanges' time).
resolved_a() {
	one /d/000
	has RESOLVED "$DRIFT_A"
}
ok "RESOLVED: \$.a, after matching traffic on its route" \
    wait_for 60 resolved_a
like "$(lines RESOLVED "$E" | grep -E "$DRIFT_A")" \
    "^RESOLVED shape $DRIFT_A drift=$ID_A seen=2\$" "... seen in 2 exchanges"

# --events: a resolved drift is a line of its own.
resolved_events() {
	[ "$(jq -c 'select(.event == "drift")' "$EV" | wc -l)" -eq 2 ]
}
ok "--events: two drift lines" wait_for 30 resolved_events
is "$(jq -r 'select(.event == "drift") | [.state, .id, .route, .kind,
    .path, .side, .verdict, (.count | tostring), (.baselined | tostring)] |
    join(" ")' "$EV" | tr '\n' '|')" \
    "resolved $ID_D GET /d/{id} extra \$.d candidate shape 1 false|resolved $ID_A GET /d/{id} missing \$.a candidate shape 2 false|" \
    "... each resolved, with the drift's key, verdict and count"
is "$(jq -r 'select(.event == "drift" and .path == "$.a") |
    [(.route_total > 2), (.first_seen < .last_seen), (.last_seen < .ts)] |
    map(tostring) | join(" ")' "$EV")" "true true true" \
    "... its route's exchanges, first and last seen, and when it resolved"

# --- regressed, then ongoing ---
n_new=$(nlines NEW "$E")
one /d/100
ok "REGRESSED: \$.a comes back" wait_for 30 has REGRESSED "$DRIFT_A"
TRACE_R=$TRACE
like "$(lines REGRESSED "$E")" \
    "^REGRESSED shape $DRIFT_A drift=$ID_A id=$TRACE_R\$" \
    "... with the trace id of the exchange that brought it back"
one /d/100
TRACE_O=$TRACE
ok "both exchanges are recorded" wait_for 30 processed
is "$(jq -r --arg r "$TRACE_R" --arg o "$TRACE_O" \
    'select(.id == $r or .id == $o) | .drifts[] | .state' "$EV" |
    tr '\n' ' ')" "regressed ongoing " \
    "--events: regressed, then ongoing again"
is "$(nlines NEW "$E")" "$n_new" "no NEW line again for a known drift"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
is "$(nlines NEW "$E") $(nlines RESOLVED "$E") $(nlines REGRESSED "$E")" \
    "2 2 1" "two NEW, two RESOLVED, one REGRESSED line in all"
like "$(grep '^paritytap proxy: [0-9]* exchanges:' "$E")" \
    ' · 2 drifts \(2 new this run, 1 resolved\)$' \
    "the summary: two drifts, \$.d still resolved"

done_testing
