#!/bin/sh
# The JSON API against traffic with a known drift: a candidate that drops
# $.a on GET /d/{id}.  /api/summary's counts, routes and backends,
# /api/drifts' one drift field by field, /api/exchanges' divergent
# exchanges newest first, each exactly the capture's line for it.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-admin.sh"
. "$top_srcdir/tests/lib-drift.sh"
need curl jq
need_binaries

drift_fixtures
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" --admin 0 --admin-keep 2 ||
    bail "the proxy did not start"
ADMIN=$(admin_addr)

for p in /d/100 /d/000 /d/100 /d/000 /d/100 /other/x; do
	one "r$sent" "$PROXY_URL$p"
	[ "$HTTP_CODE" = 200 ] || diag "$p: $HTTP_CODE"
done
ok "the six exchanges are recorded" wait_for 30 processed

admin summary /api/summary
S=$T/summary.body
is "$HTTP_CODE" 200 "GET /api/summary: 200"
like "$(header_of "$T/summary.hdr" Content-Type)" '^application/json' \
    "... JSON"
is "$(jq -r .command "$S")" proxy "command"
like "$(jq -r .version "$S")" '^[0-9]' "version"
is "$(jq -r '.started_at | type' "$S")" number "started_at"
is "$(jq -r '.uptime_seconds >= 0' "$S")" true "uptime_seconds"
is "$(jq -r .exchanges "$S")" 6 "exchanges: 6"
is "$(jq -cS .verdicts "$S")" '{"match":3,"shape":3}' "verdicts: 3 match, 3 shape"
is "$(jq -c '[.routes[] | [.route, .exchanges, .divergent]]' "$S")" \
    '[["GET /d/{id}",5,3],["GET /other/x",1,0]]' "routes: counts and divergent"
is "$(jq -cS '.routes[0].verdicts' "$S")" '{"match":2,"shape":3}' \
    "... and their verdicts"
is "$(jq -cS .dropped "$S")" '{"inflight":0,"inflight_bytes":0}' "dropped"
is "$(jq -c '[.queue.depth, .queue.dropped]' "$S")" '[0,0]' "queue"
is "$(jq -r .capture.bytes "$S")" "$(wc -c <"$CAP" | tr -d ' ')" \
    "capture bytes: the file's size"
is "$(jq -r .capture.errors "$S")" 0 "capture errors"
for side in primary candidate; do
	is "$(jq -c ".backends.$side | [.errors, .inflight]" "$S")" '[{},0]' \
	    "$side: no errors, nothing in flight"
	is "$(jq -r ".backends.$side | (.p50_ms > 0 and .p99_ms >= .p50_ms)" \
	    "$S")" true "$side: p50_ms and p99_ms"
done
is "$(jq -cS .drifts "$S")" \
    '{"baselined":0,"new":0,"ongoing":1,"regressed":0,"resolved":0}' \
    "drifts: one, ongoing"
is "$(jq -c .alerts "$S")" '{}' "alerts: no channel"
is "$(jq '.rate | length' "$S")" 60 "rate: 60 minutes"
is "$(jq '[.rate[].exchanges] | add' "$S")" 6 "... holding the 6 exchanges"
is "$(jq '[.rate[].divergent] | add' "$S")" 3 "... 3 of them divergent"
is "$(jq '.rate[-1].t % 60' "$S")" 0 "... each at a minute's start"

admin drifts /api/drifts
D=$T/drifts.body
is "$HTTP_CODE" 200 "GET /api/drifts: 200"
is "$(jq '.drifts | length' "$D")" 1 "one drift"
is "$(jq -c '.drifts[0] | [.route, .kind, .path, .side, .verdict, .state,
    .count, .baselined]' "$D")" \
    '["GET /d/{id}","missing","$.a","candidate","shape","ongoing",3,false]' \
    "route, kind, path, side, verdict, state, count, baselined"
like "$(jq -r '.drifts[0].id' "$D")" '^[0-9a-f]{16}$' "its id"
first=$(jq -r '.id' "$CAP" | head -n 1)
is "$(jq -r '.drifts[0].example.trace_id' "$D")" "$first" \
    "example: the first exchange that carried it"
is "$(jq -r '.drifts[0] | (.last_seen >= .first_seen)' "$D")" true \
    "first_seen, last_seen"
admin drifts2 '/api/drifts?state=resolved'
is "$(jq -c .drifts "$T/drifts2.body")" '[]' "?state=resolved: none"
admin drifts3 '/api/drifts?state=ongoing&limit=0'
is "$(jq -c .drifts "$T/drifts3.body")" '[]' "?limit=0: none"
admin drifts4 '/api/drifts?state=bogus'
is "$HTTP_CODE" 400 "?state=bogus: 400"
like "$(jq -r .error "$T/drifts4.body")" '^state' "... naming it"

admin ex /api/exchanges
E=$T/ex.body
is "$HTTP_CODE" 200 "GET /api/exchanges: 200"
is "$(jq '.exchanges | length' "$E")" 2 "--admin-keep 2: the last two"
want=$(jq -r 'select(.verdict == "shape") | .id' "$CAP" | tail -n 2 |
    sort -r | tr '\n' ' ')
# Ids start with the time, so newest first is descending.
is "$(jq -r '.exchanges[].id' "$E" | tr '\n' ' ')" "$want" \
    "the last two divergent, newest first"
for id in $(jq -r '.exchanges[].id' "$E"); do
	is "$(jq -cS --arg id "$id" '.exchanges[] | select(.id == $id)' "$E")" \
	    "$(jq -cS --arg id "$id" 'select(.id == $id)' "$CAP")" \
	    "$id: exactly the capture's line"
done
admin ex2 '/api/exchanges?verdict=match'
is "$(jq -c .exchanges "$T/ex2.body")" '[]' "?verdict=match: none kept"
admin ex3 '/api/exchanges?verdict=shape&route=GET%20/d/%7Bid%7D&limit=1'
is "$(jq -r '.exchanges[].id' "$T/ex3.body")" "$(echo "$want" | cut -d' ' -f1)" \
    "?verdict=shape&route=...&limit=1: the newest"
admin ex4 '/api/exchanges?route=GET%20/other/x'
is "$(jq -c .exchanges "$T/ex4.body")" '[]' "?route= another route: none"
admin ex5 '/api/exchanges?verdict=nope'
is "$HTTP_CODE" 400 "?verdict=nope: 400"
admin ex6 '/api/exchanges?limit=x'
is "$HTTP_CODE" 400 "?limit=x: 400"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy stops cleanly"

done_testing
