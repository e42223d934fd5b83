#!/bin/sh
# Two real proxies shadowing the same pair raise the same drift: a real
# Alertmanager holds one alert and its receiver gets one notification;
# when the drift is fixed both proxies resolve it and the receiver gets
# the resolved one.  The whole path: compare, drift table, alert channel,
# Alertmanager, webhook.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-alert.sh"
. "$top_srcdir/tests/lib-drift.sh"
need_binaries

start_alertmanager

drift_fixtures
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
P=http://127.0.0.1:$(backend_port primary)
C=http://127.0.0.1:$(backend_port candidate)

start_proxy --primary "$P" --candidate "$C" --capture "$T/a.jsonl" \
    --resolve-after 300ms --alertmanager "$AM_URL" --admin 0 ||
    bail "proxy A did not start"
A_URL=$PROXY_URL A_PID=$PROXY_PID A_ERR=$PROXY_ERR
A_ADMIN=$(sed -n 's/.*, admin \([^)]*\))$/\1/p' "$A_ERR" | head -n 1)
start_proxy --primary "$P" --candidate "$C" --capture "$T/b.jsonl" \
    --resolve-after 300ms --alertmanager "$AM_URL" ||
    bail "proxy B did not start"
B_URL=$PROXY_URL B_PID=$PROXY_PID B_ERR=$PROXY_ERR

# The candidate drops $.a on /d/100: proxy A sees it first.
is "$(curl -s -o /dev/null -w '%{http_code}' "$A_URL/d/100")" 200 \
    "proxy A answers"
ok "proxy A: NEW" wait_for 30 grep -Eq "^NEW shape $DRIFT_A " "$A_ERR"
one_alert() {
	am_alerts | jq -e --arg t "$1" '[.[] |
	    select(.labels.alertname == "ParitytapDrift")] | length == 1 and
	    .[0].annotations.trace_id == $t and .[0].status.state == "active"' \
	    >/dev/null
}
trace_of() {
	sed -n "s/^NEW shape .* id=\([^ ]*\)\$/\1/p" "$1" | head -n 1
}
ok "Alertmanager fires the alert from proxy A" \
    wait_for 60 one_alert "$(trace_of "$A_ERR")"
ok "the receiver gets the firing notification" wait_for 60 sink_ge am 1
is "$(am_alerts | jq -r '.[0].generatorURL')" "http://$A_ADMIN/" \
    "generatorURL: proxy A's dashboard"

# Proxy B sees the same drift: same labels, one alert, no new notification.
is "$(curl -s -o /dev/null -w '%{http_code}' "$B_URL/d/100")" 200 \
    "proxy B answers"
ok "proxy B: NEW" wait_for 30 grep -Eq "^NEW shape $DRIFT_A " "$B_ERR"
ok "Alertmanager still holds one alert, now with proxy B's example" \
    wait_for 60 one_alert "$(trace_of "$B_ERR")"
is "$(am_alerts | jq -c '.[0].labels')" \
    "$(jq -cn --arg i "${P#http://}->${C#http://}" '{alertname:
    "ParitytapDrift", instance: $i, kind: "missing", path: "$.a",
    route: "GET /d/{id}", side: "candidate", verdict: "shape"}')" \
    "its labels: the drift and the pair, the same from both proxies"

# The candidate is fixed: matches on the route resolve it in both.
resolved_in() {
	curl -s -o /dev/null "$1/d/000"
	grep -Eq "^RESOLVED shape $DRIFT_A " "$2"
}
ok "proxy A: RESOLVED" wait_for 60 resolved_in "$A_URL" "$A_ERR"
ok "proxy B: RESOLVED" wait_for 60 resolved_in "$B_URL" "$B_ERR"
resolved() {
	grep -q '"status":"resolved"' "$T/am.bodies"
}
ok "the receiver gets the resolved notification" wait_for 60 resolved

stop_proxy
is "$PROXY_STATUS" 0 "proxy B exits 0"
like "$(tail -n 1 "$B_ERR")" ' 2 alerts sent, 0 failed$' \
    "proxy B: two alerts sent (new, resolved), none failed"
PROXY_PID=$A_PID
stop_proxy
is "$PROXY_STATUS" 0 "proxy A exits 0"
like "$(tail -n 1 "$A_ERR")" ' 2 alerts sent, 0 failed$' \
    "proxy A: two alerts sent, none failed"

is "$(sink_n am)" 2 "two notifications in all, for two proxies"
is "$(jq -r '.status' "$T/am.bodies" | tr '\n' ' ')" "firing resolved " \
    "firing, then resolved"
is "$(jq -r '.alerts | length' "$T/am.bodies" | tr '\n' ' ')" "1 1 " \
    "each about one alert"

done_testing
