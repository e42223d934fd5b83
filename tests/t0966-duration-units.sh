#!/bin/sh
# Durations take units everywhere (500ms, 2s, 1m, 1h), on the command line
# and in the config file; a bare number keeps the option's unit, which
# --help says, as does the error for a bad value.  --timeout is every
# backend's deadline, and a side's own (--candidate-timeout) wins over it.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

jq -n '{default: {status: 200, headers: [["Content-Type", "application/json"]],
    body: "{\"a\":1}"}}' >"$T/fast.json"
jq -n '{default: {status: 200, body: "{\"a\":1}", delay_ms: 3600000}}' \
    >"$T/held.json"
start_backend primary "$T/fast.json"
start_backend candidate "$T/held.json"
PRI=http://127.0.0.1:$(backend_port primary)
CAN=http://127.0.0.1:$(backend_port candidate)

# A candidate that holds its answer meets a deadline given with a unit.
start_proxy --primary "$PRI" --candidate "$CAN" --candidate-timeout 300ms \
    --grace 2s --capture "$T/c.jsonl" || bail "the proxy did not start"
req one "$PROXY_URL/x"
is "$HTTP_CODE" 200 "300ms: the client got the primary's answer"
ok "300ms: the capture line is written" wait_for 30 cap_has_id "$T/c.jsonl" "$TRACE"
is "$(cap_get "$T/c.jsonl" "$TRACE" .responses.candidate.error_detail)" \
    "no complete response after 300 ms" "300ms: the candidate's deadline"
stop_proxy

# --timeout is every side's; a side's own wins over it, in either order.
start_proxy --primary "$PRI" --candidate "$CAN" --timeout 400ms \
    --capture "$T/t1.jsonl" || bail "the proxy with --timeout did not start"
req t1 "$PROXY_URL/t1"
ok "--timeout: the capture line is written" wait_for 30 cap_has_id "$T/t1.jsonl" "$TRACE"
is "$(cap_get "$T/t1.jsonl" "$TRACE" .responses.candidate.error_detail)" \
    "no complete response after 400 ms" "--timeout 400ms: the candidate's deadline"
stop_proxy
start_proxy --primary "$PRI" --candidate "$CAN" --candidate-timeout 250ms \
    --timeout 1h --capture "$T/t2.jsonl" || bail "the proxy did not start"
req t2 "$PROXY_URL/t2"
ok "--candidate-timeout before --timeout: the capture line is written" \
    wait_for 30 cap_has_id "$T/t2.jsonl" "$TRACE"
is "$(cap_get "$T/t2.jsonl" "$TRACE" .responses.candidate.error_detail)" \
    "no complete response after 250 ms" "the candidate's own deadline wins"
stop_proxy
"$PARITYTAP" replay --candidate "$CAN" --timeout 1h --candidate-timeout 350ms \
    --capture "$T/t3.jsonl" "$T/t1.jsonl" >/dev/null 2>"$T/t3.err"
is "$(jq -r .responses.candidate.error_detail "$T/t3.jsonl")" \
    "no complete response after 350 ms" "replay: --candidate-timeout wins over --timeout"
backend_release candidate

# The same in the config file, and a bare number in milliseconds.
printf '[proxy]\ncandidate-timeout = 1.5s\n' >"$T/p.conf"
"$PARITYTAP" proxy --config "$T/p.conf" --listen 127.0.0.1:0 \
    --primary "$PRI" --candidate "$CAN" --candidate-timeout 2x \
    >/dev/null 2>"$T/bad.err"
is "$?" 2 "a bad unit: exit 2"
is "$(head -n 1 "$T/bad.err")" \
    "paritytap proxy: --candidate-timeout: \"2x\": unknown unit \"x\" (ms, s, m, h)" \
    "a bad unit: named, with the units"
"$PARITYTAP" replay --candidate "$CAN" --timeout 0 "$T/none.jsonl" \
    >/dev/null 2>"$T/zero.err"
is "$?" 2 "replay --timeout 0: exit 2"
is "$(head -n 1 "$T/zero.err")" \
    "paritytap replay: --timeout: 0 milliseconds: out of range (1ms to 86400000ms)" \
    "replay --timeout 0: a bare number is milliseconds, and it says so"
printf '[proxy]\nprimary-timeout = 1m\ngrace = 2h\n' >"$T/q.conf"
start_proxy --config "$T/q.conf" --primary "$PRI" --candidate "$PRI" ||
    bail "the proxy with units in its config did not start"
is "$(req two "$PROXY_URL/y"; echo "$HTTP_CODE")" 200 \
    "units in the config file are taken"
stop_proxy

for c in 'proxy|primary-timeout|ms' 'proxy|candidate-timeout|ms' \
    'proxy|header-timeout|ms' 'proxy|grace|ms' 'proxy|alert-timeout|s' \
    'proxy|state-interval|s' 'replay|timeout|ms' 'sniff|grace|ms' \
    'sniff|candidate-timeout|ms'; do
	cmd=${c%%|*}
	rest=${c#*|}
	opt=${rest%%|*}
	unit=${rest#*|}
	"$PARITYTAP" $cmd --help >"$T/help.out"
	# The option's entry: its line and the next, joined.
	entry=$(awk -v o="--$opt " 'index($0, o) { p = 1; s = $0; next }
	    p { if ($0 ~ /^      --/) exit; s = s " " $0 } END { print s }' \
	    "$T/help.out" | tr -s ' ')
	like "$entry" "--$opt DURATION .*\\($unit if no unit\\)|--$opt DURATION .*; $unit if no unit\\)" \
	    "$cmd --help: --$opt says its unit ($unit)"
done

done_testing
