#!/bin/sh
# A real Alertmanager: two paritytap instances shadowing the same pair
# raise the same drift and the receiver gets one notification; the drift
# resolves and it gets the resolved one.  The shipped example
# configuration passes amtool check-config.
#
# The instances are alertfeed runs, which hand drift events to the alert
# channels as the proxy's drift table does.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-alert.sh"

start_alertmanager
need amtool

out=$(amtool check-config "$top_srcdir/contrib/alertmanager/alertmanager.yml" 2>&1)
is "$?" 0 "amtool check-config passes on contrib/alertmanager/alertmanager.yml"
contains "$out" "SUCCESS" "amtool says SUCCESS"


PAIR="--primary http://users-v1.internal:8080 --candidate http://users-v2.internal:8080"
now=$(date +%s)

# Instance A sees the drift first, instance B a little later.
drift_event new "GET /users/:id" missing '$.email' 12 trace-a "$now" >"$T/a.ev"
feed a "$T/a.ev" --alertmanager "$AM_URL" $PAIR
is "$FEED_STATUS" 0 "instance A: exit status 0"
is "$(sed -n 's/^alertmanager //p' "$T/a.out")" \
    "sent=1 failed=0 dropped=0" "instance A: one alert sent"
drift_event new "GET /users/:id" missing '$.email' 7 trace-b \
    "$((now + 1))" >"$T/b.ev"
feed b "$T/b.ev" --alertmanager "$AM_URL/" $PAIR
is "$FEED_STATUS" 0 "instance B: exit status 0"
is "$(sed -n 's/^alertmanager //p' "$T/b.out")" \
    "sent=1 failed=0 dropped=0" "instance B: one alert sent"

# Alertmanager merged them: one alert, B's annotations the latest.
has_b() {
	am_alerts | jq -e '[.[] | select(.labels.alertname == "ParitytapDrift")]
	    | length == 1 and .[0].annotations.trace_id == "trace-b"' \
	    >/dev/null
}
ok "Alertmanager holds one alert for both instances" wait_for 60 has_b
a=$(am_alerts | jq -c '.[0]')
is "$(printf '%s' "$a" | jq -c '.labels')" \
    '{"alertname":"ParitytapDrift","instance":"users-v1.internal:8080->users-v2.internal:8080","kind":"missing","path":"$.email","route":"GET /users/:id","side":"candidate","verdict":"shape"}' \
    "labels: alertname, route, kind, path, side, verdict, instance (the pair)"
is "$(printf '%s' "$a" | jq -r '.annotations.request')" "GET /users/42" \
    "annotation request: the example request line"
is "$(printf '%s' "$a" | jq -r '.annotations.summary')" \
    'GET /users/:id: candidate missing at $.email (shape)' \
    "annotation summary"
like "$(printf '%s' "$a" | jq -r '.annotations.drift_id')" '^[0-9a-f]{16}$' \
    "annotation drift_id: 16 hex digits"
is "$(printf '%s' "$a" | jq -r '.status.state')" active "the alert fires"

firing() {
	grep -c '"status":"firing"' "$T/am.bodies"
}
ok "the receiver gets the firing notification" wait_for 60 sink_ge am 1

# Both instances see it resolved.
drift_event resolved "GET /users/:id" missing '$.email' 12 trace-a \
    "$((now + 2))" >"$T/ra.ev"
feed ra "$T/ra.ev" --alertmanager "$AM_URL" $PAIR
is "$FEED_STATUS" 0 "instance A resolves: exit status 0"
drift_event resolved "GET /users/:id" missing '$.email' 7 trace-b \
    "$((now + 2))" >"$T/rb.ev"
feed rb "$T/rb.ev" --alertmanager "$AM_URL" $PAIR
is "$FEED_STATUS" 0 "instance B resolves: exit status 0"
resolved() {
	grep -q '"status":"resolved"' "$T/am.bodies"
}
ok "the receiver gets the resolved notification" wait_for 60 resolved

is "$(sink_n am)" 2 "two notifications in all: firing, then resolved"
is "$(jq -r '.status' "$T/am.bodies" | tr '\n' ' ')" "firing resolved " \
    "in that order"
is "$(jq -r '.alerts | length' "$T/am.bodies" | tr '\n' ' ')" "1 1 " \
    "each about one alert"
is "$(jq -r '.alerts[0].labels.path' "$T/am.bodies" | tr '\n' ' ')" \
    '$.email $.email ' "the drift's path in both"
is "$(tail -n 1 "$T/am.bodies" | jq -r '.alerts[0].endsAt')" \
    "$(date -u -d "@$((now + 2))" +%Y-%m-%dT%H:%M:%SZ)" \
    "endsAt: when it resolved"
is "$(head -n 1 "$T/am.bodies" | jq -r '.alerts[0].startsAt')" \
    "$(date -u -d "@$((now - 60))" +%Y-%m-%dT%H:%M:%SZ)" \
    "startsAt: when it was first seen"

# It comes back: it fires again, from when it regressed.
drift_event regressed "GET /users/:id" missing '$.email' 13 trace-c \
    "$((now + 3))" >"$T/g.ev"
feed g "$T/g.ev" --alertmanager "$AM_URL" $PAIR
is "$(sed -n 's/^alertmanager //p' "$T/g.out")" \
    "sent=1 failed=0 dropped=0" "regressed: one alert sent"
ok "regressed: the receiver gets a third notification" wait_for 60 sink_ge am 3
is "$(tail -n 1 "$T/am.bodies" | jq -r '[.status, .alerts[0].status,
    .alerts[0].startsAt] | join(" ")')" \
    "firing firing $(date -u -d "@$((now + 3))" +%Y-%m-%dT%H:%M:%SZ)" \
    "regressed: firing again, startsAt when it regressed"

done_testing
