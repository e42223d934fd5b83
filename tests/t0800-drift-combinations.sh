#!/bin/sh
# Drifts through a real proxy: 1,000 exchanges carrying three independent
# drifts in all eight combinations are three drifts, never seven
# signatures: three NEW lines on stderr, three "new" drifts in --events,
# each exchange's line naming its own drifts with their states, and the
# summary counting three.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-drift.sh"
need curl jq
need_binaries

drift_fixtures
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
EV=$T/events.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --events "$EV" --flag-limit 0 || bail "the proxy did not start"

# Every divergence prints its line (--flag-limit 0: no window can hold
# some back however long the 1,000 requests take).
# 8 combinations x 125: /d/000?n=1 ... /d/111?n=125.
is "$(drift_send combos "$PROXY_URL/d/[0-1][0-1][0-1]?n=[1-125]")" 1000 \
    "1,000 requests, 1,000 answers 200"
ok "the candidate received the 1,000 mirrors" \
    wait_for 60 backend_nrequests_ge candidate 1000
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"

E=$PROXY_ERR
is "$(nlines NEW "$E")" 3 "exactly three NEW lines"
NA=$(lines NEW "$E" | grep -E "^NEW shape $DRIFT_A drift=")
ND=$(lines NEW "$E" | grep -E "^NEW shape $DRIFT_D drift=")
NC=$(lines NEW "$E" | grep -E "^NEW shape $DRIFT_C drift=")
like "$NA" "^NEW shape $DRIFT_A drift=[0-9a-f]{16} id=[0-9a-f-]+\$" \
    "NEW: \$.a missing on the candidate, with the drift's id and a trace id"
like "$ND" "^NEW shape $DRIFT_D drift=[0-9a-f]{16} id=" \
    "NEW: \$.d extra on the candidate"
like "$NC" "^NEW shape $DRIFT_C drift=[0-9a-f]{16} id=" \
    "NEW: \$.c integer -> string"
is "$(nlines RESOLVED "$E") $(nlines REGRESSED "$E")" "0 0" \
    "no RESOLVED or REGRESSED line (the default --resolve-after is 10m)"
is "$(nlines DIVERGE "$E")" 875 "875 DIVERGE lines (all but the 125 matches)"
contains "$(grep '^paritytap proxy: 1000 exchanges:' "$E")" \
    "875 shape divergences · 0 errors · 3 drifts (3 new this run)" \
    "the summary counts three drifts, all new this run"

# --events: every divergent exchange with its drifts and their states.
ok "the events file is valid JSONL" cap_valid "$EV"
is "$(jq -s length "$EV")" 875 "--events: the 875 divergent exchanges"
is "$(jq -c '.drifts[] | select(.state == "new")' "$EV" | wc -l | tr -d ' ')" \
    3 "--events: three drifts in state new, one per drift"
is "$(jq -r '.drifts[].id' "$EV" | sort -u | tr '\n' ' ')" \
    "$(printf '%s\n' "$(drift_of "$NA")" "$(drift_of "$ND")" \
    "$(drift_of "$NC")" | sort | tr '\n' ' ')" \
    "--events: the drifts' ids are the NEW lines' ids, and no other"
for p in a d c; do
	eval "line=\$N$(echo $p | tr a-z A-Z)"
	id=$(drift_of "$line")
	trace=$(printf '%s\n' "$line" | sed -n 's/.* id=\(.*\)$/\1/p')
	is "$(jq -r --arg id "$id" 'select(.drifts[].id == $id) | .id' "$EV" |
	    wc -l | tr -d ' ')" 500 "\$.$p: 500 exchanges carry it"
	is "$(jq -r --arg t "$trace" --arg id "$id" 'select(.id == $t) |
	    .drifts[] | select(.id == $id) | .state' "$EV")" new \
	    "\$.$p: the NEW line's exchange carries it in state new"
	is "$(jq -r --arg id "$id" '.drifts[] | select(.id == $id) | .state' \
	    "$EV" | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')" \
	    "new=1 ongoing=499 " "\$.$p: new once, then ongoing"
done
is "$(jq -r 'select(.request.target | startswith("/d/101")) |
    [.drifts[] | .kind + " " + .path + " " + .side] | join(",")' "$EV" |
    sort -u)" \
    'missing $.a candidate,type(integer->string) $.c both' \
    "an exchange carrying two of the drifts lists those two"

done_testing
