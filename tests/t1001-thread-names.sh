#!/bin/sh
# The threads of a replay and of the proxy, as ps -L shows them: named,
# and in a replay the reader and the comparison a nice value 10 above the
# event loop's (a replay waits for them, so they may fall behind); the
# proxy's comparison keeps the loop's (a live source does not wait).

. "$(dirname "$0")/lib.sh"
need jq
need_binaries

[ -d /proc/self/task ] || skip_all "no /proc: threads are not listed"

# stat_nice DIR: the nice value in DIR/stat, a process's or a thread's
# (field 19; the fields after the name start at the state, the third).
stat_nice() {
	sed 's/^.*) //' "$1/stat" | awk '{ print $17 }'
}

# task_nice PID NAME: the nice value of PID's thread named NAME.
task_nice() {
	for _t in /proc/"$1"/task/*; do
		[ "$(cat "$_t/comm" 2>/dev/null)" = "$2" ] || continue
		stat_nice "$_t"
		return 0
	done
	echo none
}

# cap_has_line FILE: the capture holds a whole line.
cap_has_line() {
	grep -q '"verdict"' "$1" 2>/dev/null
}

# nice_is PID NAME N: the thread is there and runs at nice value N (a
# thread names itself and sets its nice value as it starts: awaited).
nice_is() {
	[ "$(task_nice "$1" "$2")" = "$3" ]
}

start_json_backends '{"ok":true}'

# A replay reading its capture from a FIFO held open: 400 exchanges
# (more than the reader's 64 KiB reads) are sent, and the reader thread
# stays, waiting for the rest of a read, until the FIFO is closed.
mkfifo "$T/cap.fifo"
"$PARITYTAP" replay --candidate "$CAN" - <"$T/cap.fifo" \
    >"$T/replay.out" 2>"$T/replay.err" &
RPID=$!
track "$RPID"
exec 3>"$T/cap.fifo"
awk 'BEGIN {
	for (i = 1; i <= 400; i++)
		printf "{\"paritytap\":1,\"id\":\"18ea000000000001-%08x\",\"ts\":\"2026-11-21T12:00:00.000000Z\",\"source\":\"proxy\",\"route\":\"GET /v1/items/{id}\",\"request\":{\"method\":\"GET\",\"target\":\"/v1/items/%d\",\"version\":\"1.1\",\"headers\":[{\"name\":\"Host\",\"value\":\"example.test\"}]},\"responses\":{\"primary\":{\"status\":200,\"headers\":[{\"name\":\"Content-Type\",\"value\":\"application/json\"}],\"body\":\"{\\\"ok\\\":true}\",\"body_bytes\":11,\"ms\":0.5}},\"verdict\":\"match\"}\n", i, i
}' >"$T/cap.jsonl"
cmp_ok "$(wc -c <"$T/cap.jsonl")" -gt 65536 "the capture is more than 64 KiB"
cat "$T/cap.jsonl" >&3
ok "replay: the candidate received recorded requests" \
    wait_for 30 backend_nrequests_ge candidate 1

main=$(stat_nice "/proc/$RPID")
# Nice values stop at 19 (a suite run under nice 10 or more).
bg=$((main + 10))
[ "$bg" -le 19 ] || bg=19
ok "replay: the thread named replay-reader runs at nice +10 (at most 19)" \
    wait_for 30 nice_is "$RPID" replay-reader "$bg"
ok "replay: the thread named pipeline runs at nice +10 (at most 19)" \
    wait_for 30 nice_is "$RPID" pipeline "$bg"
diag "replay's threads: $(cat /proc/"$RPID"/task/*/comm | tr '\n' ' ')"
exec 3>&-
wait_pid "$RPID" 30
is "$WAIT_STATUS" 0 "replay: exit 0 once its capture ends"
like "$(cat "$T/replay.out")" "400 exchanges: 400/400 status match" \
    "replay: every exchange is compared"

# The proxy: its comparison thread at the process's own nice value, once
# it has compared an exchange (so it is past anything it does first).
start_proxy --threads 2 --primary "$PRI" --candidate "$CAN" \
    --capture "$T/proxy.jsonl" || bail "the proxy did not start"
curl -sS --noproxy '*' -o /dev/null "$PROXY_URL/v1/items/2"
ok "proxy: the exchange is captured" \
    wait_for 30 cap_has_line "$T/proxy.jsonl"
main=$(stat_nice "/proc/$PROXY_PID")
is "$(task_nice "$PROXY_PID" pipeline)" "$main" \
    "proxy: the thread named pipeline runs at the process's nice value"
ok "proxy: the second loop, named proxy-loop-1, at the process's nice value" \
    wait_for 30 nice_is "$PROXY_PID" proxy-loop-1 "$main"
stop_proxy
is "$PROXY_STATUS" 0 "proxy: exit 0 on SIGTERM"

done_testing
