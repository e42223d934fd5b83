# tests/lib-alert.sh: the alerting tests' helpers, sourced after lib.sh.
#
# ALERTFEED drives the alert channels as the drift table does (drift
# events as JSON lines on stdin); alertsink.py receives what they post.

ALERTFEED=${ALERTFEED:-$top_builddir/tests/backends/alertfeed}
ALERTSINK=$top_srcdir/tests/backends/alertsink.py

need python3 jq curl
[ -x "$ALERTFEED" ] || bail "ALERTFEED=$ALERTFEED is not executable"

# start_sink NAME [MODE [DELAY_MS]]: a receiver on a free port; its bodies
# in $T/NAME.bodies (one line each), requests in $T/NAME.bodies.reqs; sets
# SINK_URL and SINK_PID.
start_sink() {
	: >"$T/$1.bodies"
	: >"$T/$1.bodies.reqs"
	python3 "$ALERTSINK" "$T/$1.port" "$T/$1.bodies" "${2:-ok}" \
	    "${3:-0}" 2>"$T/$1.berr" &
	SINK_PID=$!
	track $SINK_PID
	wait_for 30 test -s "$T/$1.port" || bail "alertsink $1 did not start"
	SINK_URL=http://127.0.0.1:$(cat "$T/$1.port")
}

# sink_n NAME: how many requests the receiver got.
sink_n() {
	wc -l <"$T/$1.bodies.reqs" | tr -d ' '
}

# sink_ge NAME N: the receiver got at least N requests.
sink_ge() {
	[ "$(sink_n "$1")" -ge "$2" ]
}

# drift_event STATE ROUTE KIND PATH [COUNT [EXAMPLE_ID [AT]]]: one line
# for alertfeed.
drift_event() {
	jq -cn --arg s "$1" --arg r "$2" --arg k "$3" --arg p "$4" \
	    --argjson c "${5:-1}" --arg e "${6:-trace-1}" \
	    --argjson at "${7:-$(date +%s)}" \
	    '{state: $s, route: $r, kind: $k, path: $p, side: "candidate",
	      verdict: "shape", count: $c, first_seen: ($at - 60),
	      last_seen: $at, at: $at, example_id: $e,
	      example_request: "GET /users/42"}'
}

# feed NAME EVENTS ARGS...: run alertfeed to the end on the events file;
# its stdout in $T/NAME.out, stderr in $T/NAME.err, status in FEED_STATUS.
feed() {
	_name=$1
	_events=$2
	shift 2
	"$ALERTFEED" "$@" <"$_events" >"$T/$_name.out" 2>"$T/$_name.err"
	FEED_STATUS=$?
}

# start_alertmanager: a real Alertmanager on a free loopback port that
# routes ParitytapDrift, grouped by the drift's labels (group_wait and
# group_interval 1s), to a receiver "am" ($T/am.bodies); sets AM_URL.
# Skips the script when Alertmanager is not installed.
start_alertmanager() {
	AM=$(command -v prometheus-alertmanager || command -v alertmanager) ||
	    skip_all "prometheus-alertmanager not installed (Debian package prometheus-alertmanager)"
	start_sink am
	cat >"$T/am.yml" <<EOC
route:
  receiver: paritytap-drift
  group_by: [alertname, route, kind, path, side]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: paritytap-drift
    webhook_configs:
      - url: $SINK_URL/paritytap-drift
        send_resolved: true
EOC
	"$AM" --config.file="$T/am.yml" --web.listen-address=127.0.0.1:0 \
	    --cluster.listen-address= --storage.path="$T/amdata" \
	    >"$T/alertmanager.berr" 2>&1 &
	track $!
	wait_for 60 eval '[ -n "$(am_port)" ]' ||
	    bail "alertmanager did not start"
	AM_URL=http://127.0.0.1:$(am_port)
	wait_for 60 am_alerts >/dev/null || bail "alertmanager does not answer"
}

# am_port: the port Alertmanager said it listens on.
am_port() {
	sed -n 's/.*msg="Listening on" address=127\.0\.0\.1:\([0-9]*\).*/\1/p' \
	    "$T/alertmanager.berr" | head -n 1
}

# am_alerts: the alerts Alertmanager holds, as JSON.
am_alerts() {
	curl -sf "$AM_URL/api/v2/alerts"
}
