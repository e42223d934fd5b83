#!/bin/sh
# Channels that fail: 500s are retried with backoff up to --alert-tries,
# a 400 is not, a refused connection is; a channel that hangs never holds
# up alerts_submit: thousands of transitions go by, what does not fit
# its queue is dropped and counted, what is left at the deadline is
# counted failed.  A batch still waiting is sent at the end.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-alert.sh"

PAIR="--primary http://a:1 --candidate http://b:2"
now=$(date +%s)
drift_event new "GET /items" extra '$.a' 1 t "$now" >"$T/one"

# 500: three tries, then given up.
start_sink e500 500
feed e500 "$T/one" --alert-url "$SINK_URL/" --alert-tries 3 \
    --alert-group-wait 10ms $PAIR
is "$FEED_STATUS" 0 "500: exit status 0"
is "$(sink_n e500)" 3 "500: tried 3 times"
is "$(sed -n 2p "$T/e500.out")" "webhook sent=0 failed=1 dropped=0" \
    "500: counted failed"
contains "$(cat "$T/e500.err")" "answered 500: nope (try 1 of 3; again in 1000 ms)" \
    "500: the first retry said"
contains "$(cat "$T/e500.err")" "answered 500: nope (try 2 of 3; again in 2000 ms)" \
    "500: the backoff doubles"
like "$(cat "$T/e500.err")" "webhook .*: answered 500: nope; 1 alert not sent" \
    "500: giving up said"
contains "$(cat "$T/e500.err")" "· 0 alerts sent, 1 failed" "500: the summary"

# 400: a permanent failure, not retried.
start_sink e400 400
feed e400 "$T/one" --alertmanager "$SINK_URL" --alert-tries 3 $PAIR
is "$(sink_n e400)" 1 "400: tried once"
is "$(sed -n 2p "$T/e400.out")" "alertmanager sent=0 failed=1 dropped=0" \
    "400: counted failed"
like "$(cat "$T/e400.err")" "alertmanager .*: answered 400: nope; 1 alert not sent" \
    "400: said"

# A refused connection: a receiver that is gone.
start_sink gone
kill "$SINK_PID"
gone_url=$SINK_URL
gone_down() {
	! curl -s -o /dev/null "$gone_url/"
}
wait_for 30 gone_down
feed gone "$T/one" --alert-url "$gone_url/" --alert-tries 2 \
    --alert-group-wait 10ms $PAIR
is "$(sed -n 2p "$T/gone.out")" "webhook sent=0 failed=1 dropped=0" \
    "refused: counted failed"
contains "$(cat "$T/gone.err")" "no answer (connection failed or timed out) (try 1 of 2" \
    "refused: retried"

# A receiver that hangs: the first message is held there; 4999 more
# transitions go by at once, 99 fit the queue, the rest are dropped.
start_sink hang hang
: >"$T/many"
i=2
while [ "$i" -le 5000 ]; do
	echo "{\"state\":\"new\",\"path\":\"\$.f$i\",\"at\":$now}"
	i=$((i + 1))
done >"$T/many"
mkfifo "$T/fifo"
"$ALERTFEED" --alert-url "$SINK_URL/" --alert-queue 100 \
    --alert-group-wait 10ms --alert-timeout 1h --grace 1s $PAIR \
    <"$T/fifo" >"$T/hang.out" 2>"$T/hang.err" &
feeder=$!
track $feeder
exec 3>"$T/fifo"
cat "$T/one" >&3
ok "hang: the first message reaches the receiver" wait_for 30 sink_ge hang 1
# In the background: a feeder that stopped reading would block it.
cat "$T/many" >&3 &
track $!
exec 3>&-
submitted() {
	grep -q '^submitted 5000$' "$T/hang.out"
}
ok "hang: all 5000 transitions submitted" wait_for 60 submitted
is "$(sink_n hang)" 1 "hang: the receiver still holds the first"
wait_pid "$feeder" 60
is "$WAIT_STATUS" 0 "hang: exit status 0 once the deadline passed"
is "$(sed -n 2p "$T/hang.out")" "webhook sent=0 failed=100 dropped=4900" \
    "hang: 100 failed, 4900 dropped"
like "$(cat "$T/hang.err")" "alerts: webhook: queue full \(100 transitions waiting\): 1 dropped so far" \
    "hang: the first drop said at once"
is "$(grep -c 'queue full (' "$T/hang.err")" 1 "hang: and not 4900 times"
like "$(cat "$T/hang.err")" "webhook .*: 100 alerts not sent by the deadline" \
    "hang: the unsent said"
like "$(cat "$T/hang.err")" "webhook .*: 4900 alerts dropped \(queue full, --alert-queue 100\)" \
    "hang: the dropped said"
contains "$(cat "$T/hang.err")" "· 0 alerts sent, 100 failed, 4900 dropped" \
    "hang: the summary"

# A batch whose group wait has not passed is sent at the end.
start_sink late
feed late "$T/one" --alert-url "$SINK_URL/" --alert-group-wait 1h $PAIR
is "$(sed -n 2p "$T/late.out")" "webhook sent=1 failed=0 dropped=0" \
    "a waiting batch: sent at the end"
is "$(sink_n late)" 1 "a waiting batch: the receiver got it"

done_testing
