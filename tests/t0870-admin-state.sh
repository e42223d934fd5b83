#!/bin/sh
# Drifts read from --state are on the admin listener from the start:
# /api/drifts lists them with their state, count and example, and
# paritytap_drifts{state} counts them, before any exchange of the new run
# carries one.  The first exchange that carries one again counts on from
# the state file's count.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-admin.sh"
. "$top_srcdir/tests/lib-drift.sh"
need curl jq
need_binaries

drift_fixtures
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
S=$T/state.json
CAP=$T/capture.jsonl
BACKENDS="--primary http://127.0.0.1:$(backend_port primary)
    --candidate http://127.0.0.1:$(backend_port candidate)"

# --- the first run: $.a twice (new, then ongoing), $.d once ---
# shellcheck disable=SC2086
start_proxy $BACKENDS --state "$S" --capture "$CAP" ||
    bail "the proxy did not start"
for p in /d/100 /d/110; do
	req "r${p##*/}" "$PROXY_URL$p"
	is "$HTTP_CODE" 200 "first run: GET $p"
done
stop_proxy
is "$PROXY_STATUS" 0 "the first run exits 0"
is "$(jq -r '.drifts[] | .path + "=" + .state + "/" + (.count | tostring)' \
    "$S" | sort | tr '\n' ' ')" '$.a=ongoing/2 $.d=new/1 ' \
    "the state file holds \$.a (ongoing, 2) and \$.d (new, 1)"

# --- the second run: nothing sent yet ---
# shellcheck disable=SC2086
start_proxy $BACKENDS --state "$S" --capture "$CAP.2" --admin 0 ||
    bail "the proxy did not start again"
ADMIN=$(admin_addr)
admin drifts /api/drifts
is "$HTTP_CODE" 200 "GET /api/drifts: 200"
is "$(jq -r '.drifts[] | [.path, .state, (.count | tostring),
    .example.request] | join(" ")' "$T/drifts.body" | sort | tr '\n' '|')" \
    '$.a ongoing 2 GET /d/100|$.d new 1 GET /d/110|' \
    "... lists both drifts of the state file, with state, count and example"
is "$(jq -r '[.drifts[].id] | sort | join(" ")' "$T/drifts.body")" \
    "$(jq -r '[.drifts[].id] | sort | join(" ")' "$S")" \
    "... under the state file's ids"
scrape
is "$(metric 'paritytap_drifts{state="new"}')" 1 \
    'paritytap_drifts{state="new"}: 1'
is "$(metric 'paritytap_drifts{state="ongoing"}')" 1 \
    'paritytap_drifts{state="ongoing"}: 1'
is "$(metric 'paritytap_drift_events_total{state="new"}')" 0 \
    '... while paritytap_drift_events_total{state="new"} stays 0: no transition'
admin summary /api/summary
is "$(jq -c '[.drifts.new, .drifts.ongoing]' "$T/summary.body")" '[1,1]' \
    "/api/summary: one new drift, one ongoing"

# --- an exchange carries $.a again ---
req again "$PROXY_URL/d/100"
is "$HTTP_CODE" 200 "second run: GET /d/100"
# a_count: $.a's count on /api/drifts.
a_count() {
	admin drifts2 /api/drifts
	jq -r '.drifts[] | select(.path == "$.a") | .count' "$T/drifts2.body"
}
a_is_3() {
	[ "$(a_count)" = 3 ]
}
ok "\$.a's count goes on from the state file's: 3" wait_for 30 a_is_3
is "$(jq -r '.drifts[] | select(.path == "$.d") | .count' \
    "$T/drifts2.body")" 1 "... and \$.d's stays 1"
stop_proxy
is "$PROXY_STATUS" 0 "the second run exits 0"

done_testing
