#!/bin/sh
# The JSON webhook (--alert-url) and Slack's shape (--alert-format slack),
# as a test server receives them, field by field: batches of at most 10
# drifts, every state but reminders and baselined drifts.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-alert.sh"

PAIR="--primary http://users-v1.internal:8080 --candidate http://10.0.0.7:9000/v2"
now=$(date +%s)

# 10 new drifts, one resolved, one regressed; a reminder and a baselined
# drift are not sent.
: >"$T/ev"
for i in 1 2 3 4 5 6 7 8 9 10; do
	drift_event new "GET /users/:id" missing "\$.f$i" "$i" "trace-$i" \
	    "$now" >>"$T/ev"
done
drift_event resolved "POST /orders" "type(integer->string)" '$.total' 40 \
    trace-r "$now" >>"$T/ev"
drift_event regressed "GET /health" "status 200->500" - 2 trace-g \
    "$now" >>"$T/ev"
drift_event ongoing "GET /users/:id" missing '$.f1' 99 trace-o "$now" \
    >>"$T/ev"
drift_event new "GET /known" extra '$.x' 1 trace-k "$now" |
    jq -c '.baselined = true' >>"$T/ev"

start_sink hook
feed hook "$T/ev" --alert-url "$SINK_URL/hooks/drift?team=api" \
    --alert-group-wait 100ms $PAIR
is "$FEED_STATUS" 0 "exit status 0"
is "$(cat "$T/hook.out")" "submitted 14
webhook sent=12 failed=0 dropped=0" "12 transitions sent, none failed"
contains "$(cat "$T/hook.err")" "alertfeed: · 12 alerts sent, 0 failed" \
    "the summary says so"
is "$(sink_n hook)" 2 "two messages: at most 10 drifts each"
is "$(cat "$T/hook.bodies.reqs")" "POST /hooks/drift?team=api application/json
POST /hooks/drift?team=api application/json" \
    "POSTed as application/json to the URL's path and query"
first=$(sed -n 1p "$T/hook.bodies")
second=$(sed -n 2p "$T/hook.bodies")
is "$(printf '%s' "$first" | jq -c '[.version, .source, .instance]')" \
    '[1,"paritytap","users-v1.internal:8080->10.0.0.7:9000"]' \
    "version 1, source paritytap, instance the pair"
is "$(printf '%s' "$first" | jq '.drifts | length')" 10 "first: 10 drifts"
is "$(printf '%s' "$second" | jq '.drifts | length')" 2 "second: 2 drifts"
is "$(printf '%s' "$first" | jq -c '.drifts[2] | keys')" \
    '["count","example","first_seen","id","kind","last_seen","path","route","side","state","verdict"]' \
    "a drift's fields"
d=$(printf '%s' "$first" | jq -c '.drifts[2]')
is "$(printf '%s' "$d" | jq -r '.state')" new "state"
is "$(printf '%s' "$d" | jq -r '.route')" "GET /users/:id" "route"
is "$(printf '%s' "$d" | jq -r '.kind')" missing "kind"
is "$(printf '%s' "$d" | jq -r '.path')" '$.f3' "path"
is "$(printf '%s' "$d" | jq -r '.side')" candidate "side"
is "$(printf '%s' "$d" | jq -r '.verdict')" shape "verdict"
is "$(printf '%s' "$d" | jq -r '.count')" 3 "count"
is "$(printf '%s' "$d" | jq -r '.first_seen')" \
    "$(date -u -d "@$((now - 60))" +%Y-%m-%dT%H:%M:%S).000000Z" \
    "first_seen, RFC 3339"
is "$(printf '%s' "$d" | jq -r '.last_seen')" \
    "$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%S).000000Z" "last_seen"
is "$(printf '%s' "$d" | jq -c '.example')" \
    '{"trace_id":"trace-3","request":"GET /users/42"}' "example"
like "$(printf '%s' "$d" | jq -r '.id')" '^[0-9a-f]{16}$' "id: 16 hex digits"
is "$(cat "$T/hook.bodies" | jq -r '.drifts[].id' | sort -u | wc -l | tr -d ' ')" \
    12 "12 drifts, 12 ids"
is "$(printf '%s' "$second" | jq -c '[.drifts[] | [.state, .route, .kind, .path, .count]]')" \
    '[["resolved","POST /orders","type(integer->string)","$.total",40],["regressed","GET /health","status 200->500","-",2]]' \
    "resolved and regressed drifts"
unlike "$(cat "$T/hook.bodies")" 'trace-o|trace-k|known' \
    "no reminder, no baselined drift"

# Slack's incoming webhook: a text, and one line per drift.
start_sink slack
feed slack "$T/ev" --alert-url "$SINK_URL/services/T0/B0/x" \
    --alert-format slack --alert-group-wait 100ms $PAIR
is "$FEED_STATUS" 0 "slack: exit status 0"
is "$(sed -n 2p "$T/slack.out")" "slack sent=12 failed=0 dropped=0" \
    "slack: 12 sent"
is "$(sink_n slack)" 2 "slack: two messages"
s2=$(sed -n 2p "$T/slack.bodies")
is "$(printf '%s' "$s2" | jq -r '.text')" \
    'paritytap users-v1.internal:8080->10.0.0.7:9000: 2 drifts
RESOLVED POST /orders: candidate type(integer->string) at $.total (shape, 40 exchanges)
REGRESSED GET /health: candidate status 200->500 at - (shape, 2 exchanges)' \
    "slack: text, a line per drift"
is "$(printf '%s' "$s2" | jq -c '[.blocks[] | .type, .text.type]')" \
    '["section","mrkdwn","section","mrkdwn"]' "slack: blocks are sections"
is "$(printf '%s' "$s2" | jq -r '.blocks[1].text.text')" \
    'RESOLVED POST /orders: candidate type(integer->string) at $.total (shape, 40 exchanges)
REGRESSED GET /health: candidate status 200->500 at - (shape, 2 exchanges)' \
    "slack: the second block holds the lines"
is "$(sed -n 1p "$T/slack.bodies" | jq -r '.blocks[1].text.text' | wc -l | tr -d ' ')" \
    10 "slack: 10 lines in the first message"

done_testing
