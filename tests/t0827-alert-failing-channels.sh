#!/bin/sh
# Alert channels that fail behind a real proxy: a webhook that hangs and
# an Alertmanager that answers 500.  The clients never wait for them
# (every request is answered while the webhook still holds the first
# message: an ordering, not a timing), the capture keeps every line, and
# the failures are counted on the summary line and said on stderr.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-alert.sh"
. "$top_srcdir/tests/lib-drift.sh"
need_binaries

start_sink hang hang
HANG_URL=$SINK_URL
start_sink e500 500
E500_URL=$SINK_URL

drift_fixtures
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$T/cap.jsonl" --alert-url "$HANG_URL/hook" \
    --alert-group-wait 10ms --alert-timeout 1h \
    --alertmanager "$E500_URL" --alert-tries 2 --grace 1000 ||
    bail "the proxy did not start"

# The first drifts: the webhook takes the message and never answers.
is "$(drift_send first "$PROXY_URL/d/[100-111]")" 12 \
    "12 drifting requests answered 200"
ok "the webhook holds the first message" wait_for 60 sink_ge hang 1
ok "Alertmanager's 500s are tried twice" wait_for 60 sink_ge e500 2

# While it hangs: 1,000 more requests, all the drifts, every one answered.
is "$(drift_send more "$PROXY_URL/d/[0-1][0-1][0-1]?n=[1-125]")" 1000 \
    "1,000 more requests answered 200 while the webhook hangs"
is "$(sink_n hang)" 1 "... the webhook still holds its one message"
ok "... it is still hanging" alive "$SINK_PID"
ok "every request is in the capture" \
    wait_for 60 eval '[ "$(cap_nlines "$T/cap.jsonl")" -ge 1012 ]'

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
is "$(cap_nlines "$T/cap.jsonl")" 1012 "the capture has all 1,012 lines"
sum=$(tail -n 1 "$PROXY_ERR")
like "$sum" '1012 exchanges' "the summary counts 1,012 exchanges"
like "$sum" ' [0-9]+ alerts sent, [1-9][0-9]* failed' \
    "the summary counts the failed alerts ($sum)"
like "$(cat "$PROXY_ERR")" 'alertmanager .*500' \
    "the 500s are said on stderr"
like "$(cat "$PROXY_ERR")" 'webhook .*(timed out|not sent|unsent|failed)' \
    "the hanging webhook's message is said unsent at exit"

done_testing
