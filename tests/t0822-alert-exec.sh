#!/bin/sh
# The exec hook (--alert-exec): run without a shell, the webhook's JSON
# on stdin, at most --alert-exec-max at once, killed past
# --alert-exec-timeout; its exit status and stderr logged, failures
# counted.  Every channel at once.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-alert.sh"

PAIR="--primary http://a:1 --candidate http://b:2"
now=$(date +%s)

# hook.sh DIR ARGS...: stdin to DIR/N.json, its arguments to DIR/N.args;
# the most hooks seen running at once in DIR/max.
cat >"$T/hook.sh" <<'EOH'
#!/bin/sh
dir=$1
shift
mkdir -p "$dir/running"
: >"$dir/running/$$"
n=$(ls "$dir/running" | wc -l)
max=$(cat "$dir/max" 2>/dev/null || echo 0)
[ "$n" -gt "$max" ] && echo "$n" >"$dir/max"
cat >"$dir/$$.json"
printf '%s\n' "$@" >"$dir/$$.args"
echo "hook $$ done" >&2
sleep 0.2
rm -f "$dir/running/$$"
EOH
chmod +x "$T/hook.sh"

: >"$T/ev"
i=1
while [ "$i" -le 25 ]; do
	drift_event new "GET /items" extra "\$.f$i" 1 "trace-$i" "$now" \
	    >>"$T/ev"
	i=$((i + 1))
done

# No shell: ';', '$X' and quotes reach the hook as they are.
mkdir "$T/h1"
feed h1 "$T/ev" --alert-exec "$T/hook.sh $T/h1 a;b \$X 'q'" \
    --alert-exec-max 2 --alert-group-wait 50ms $PAIR
is "$FEED_STATUS" 0 "exit status 0"
is "$(sed -n 2p "$T/h1.out")" "exec sent=25 failed=0 dropped=0" \
    "25 transitions sent in 3 runs"
is "$(ls "$T/h1"/*.json | wc -l | tr -d ' ')" 3 "3 runs (10, 10, 5 drifts)"
is "$(cat "$T/h1"/*.json | jq '.drifts | length' | sort -n | tr '\n' ' ')" \
    "5 10 10 " "the batches"
is "$(cat "$T/h1"/*.json | jq -r '.drifts[].path' | sort -u | wc -l | tr -d ' ')" \
    25 "every drift once"
j=$(ls "$T/h1"/*.json | head -n 1)
is "$(jq -c '[.version, .source, .instance]' "$j")" \
    '[1,"paritytap","a:1->b:2"]' "stdin: the webhook's JSON"
is "$(cat "$(ls "$T/h1"/*.args | head -n 1)" | tr '\n' ' ')" \
    "a;b \$X 'q' " "argv split at spaces, no shell"
cmp_ok "$(cat "$T/h1/max")" -le 2 "at most 2 hooks at once"
contains "$(cat "$T/h1.err")" "alertfeed: · 25 alerts sent, 0 failed" \
    "the summary"

# A hook that fails: its status and stderr are logged, the alert counted.
cat >"$T/fail.sh" <<'EOH'
#!/bin/sh
cat >/dev/null
echo "no route to the pager" >&2
exit 3
EOH
chmod +x "$T/fail.sh"
drift_event new "GET /items" extra '$.a' 1 t "$now" >"$T/one"
feed fail "$T/one" --alert-exec "$T/fail.sh" --alert-group-wait 10ms $PAIR
is "$FEED_STATUS" 0 "a failing hook: exit status 0"
is "$(sed -n 2p "$T/fail.out")" "exec sent=0 failed=1 dropped=0" \
    "a failing hook: counted failed"
like "$(cat "$T/fail.err")" \
    "alerts: exec .*fail.sh: exited 3; 1 alert not sent; stderr: no route to the pager" \
    "a failing hook: status and stderr logged"
contains "$(cat "$T/fail.err")" "· 0 alerts sent, 1 failed" \
    "a failing hook: the summary"

# A hook that hangs is killed past --alert-exec-timeout, one that ignores
# SIGTERM too.
cat >"$T/hang.sh" <<'EOH'
#!/bin/sh
[ "$1" = stubborn ] && trap '' TERM
echo $$ >"$2"
while :; do sleep 1; done
EOH
chmod +x "$T/hang.sh"
for mode in plain stubborn; do
	feed "hang-$mode" "$T/one" --alert-exec \
	    "$T/hang.sh $mode $T/hang-$mode.pid" --alert-exec-timeout 300ms \
	    --alert-group-wait 10ms --grace 1h $PAIR
	is "$FEED_STATUS" 0 "$mode hanging hook: exit status 0"
	is "$(sed -n 2p "$T/hang-$mode.out")" "exec sent=0 failed=1 dropped=0" \
	    "$mode hanging hook: counted failed"
	contains "$(cat "$T/hang-$mode.err")" \
	    "killed after 300 ms (--alert-exec-timeout); 1 alert not sent" \
	    "$mode hanging hook: said"
	pid=$(cat "$T/hang-$mode.pid")
	ok "$mode hanging hook: it is gone" sh -c "! kill -0 $pid 2>/dev/null"
done

# Every channel at once (Alertmanager's API and the webhook on one
# receiver).
start_sink hook
mkdir "$T/h2"
feed all "$T/one" --alertmanager "$SINK_URL" --alert-url "$SINK_URL/x" \
    --alert-exec "$T/hook.sh $T/h2" --alert-group-wait 10ms $PAIR
is "$FEED_STATUS" 0 "all channels: exit status 0"
is "$(sed 1d "$T/all.out" | tr '\n' ' ')" \
    "alertmanager sent=1 failed=0 dropped=0 webhook sent=1 failed=0 dropped=0 exec sent=1 failed=0 dropped=0 " \
    "all channels: each sent one"
is "$(cut -d' ' -f2 "$T/hook.bodies.reqs" | sort | tr '\n' ' ')" \
    "/api/v2/alerts /x " "Alertmanager's and the webhook's POSTs"
is "$(ls "$T/h2"/*.json | wc -l | tr -d ' ')" 1 "and the hook ran"

done_testing
