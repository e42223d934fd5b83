#!/bin/sh
# The pipeline between the proxy's loop and its consumers (DESIGN §7.6):
# a full disk is said while it happens and makes the exit status 3; a
# capture cut short by an earlier run is appended to cleanly; an --events
# FIFO without a reader, with a reader that never reads or with one that
# leaves neither blocks nor stops anything; SIGHUP and SIGUSR1 reopen the
# capture and the events file, SIGUSR2 prints the summary so far; a
# consumer stuck for good keeps memory under --queue-size and the stop
# under --grace, with what was lost counted.

. "$(dirname "$0")/lib.sh"
need curl jq mkfifo
need_binaries

jq -n '{default: {status: 200, headers: [["Content-Type", "application/json"]],
    body_json: {kind: "a", n: 1}}}' >"$T/primary.json"
jq -n '{default: {status: 200, headers: [["Content-Type", "application/json"]],
    body_json: {Kind: "a", n: 1}}}' >"$T/candidate.json"
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
PRI=http://127.0.0.1:$(backend_port primary)
CAN=http://127.0.0.1:$(backend_port candidate)

# err_has TEXT: the proxy's stderr holds TEXT.
err_has() {
	grep -qF -- "$1" "$PROXY_ERR"
}

# nlines_ge FILE N: FILE holds at least N lines.
nlines_ge() {
	[ "$(cap_nlines "$1")" -ge "$2" ]
}

# --- a full disk: said while it happens, counted, exit 3 ---
start_proxy --primary "$PRI" --candidate "$CAN" --capture /dev/full ||
    bail "the proxy did not start with --capture /dev/full"
req full1 "$PROXY_URL/full/1"
is "$HTTP_CODE" 200 "disk full: the client is answered"
ok "disk full: the failed write is said while the proxy runs" \
    wait_for 60 err_has "capture: /dev/full: write: No space left on device"
stop_proxy
is "$PROXY_STATUS" 3 "disk full: the proxy exits 3 at stop"
ok "disk full: the stop says how many exchanges were not recorded" \
    err_has "1 exchange not recorded in the capture"

# --- a capture whose last line an earlier run cut short ---
CAP=$T/torn.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --capture "$CAP" ||
    bail "the proxy did not start"
req torn1 "$PROXY_URL/torn/1"
stop_proxy
printf '{"paritytap":1,"id":"cut-short","ts":"2026-' >>"$CAP"
start_proxy --primary "$PRI" --candidate "$CAN" --capture "$CAP" ||
    bail "the proxy did not start on a torn capture"
req torn2 "$PROXY_URL/torn/2"
stop_proxy
is "$PROXY_STATUS" 0 "torn: the proxy exits 0"
ok "torn: the cut line is said" err_has "removed a line cut short"
ok "torn: the file is whole lines" cap_valid "$CAP"
is "$(jq -r .request.target "$CAP" | tr '\n' ' ')" "/torn/1 /torn/2 " \
    "torn: both exchanges are in the file"
"$PARITYTAP" report "$CAP" >"$T/torn.report" 2>"$T/torn.report.err"
is "$?" 0 "torn: report reads the file"

# --- an --events FIFO with no reader: start-up does not wait ---
mkfifo "$T/ev.fifo"
CAP=$T/fifo.jsonl
start_proxy -v --primary "$PRI" --candidate "$CAN" --capture "$CAP" \
    --events "$T/ev.fifo" || bail "the proxy did not start with a reader-less FIFO"
pass "no reader: the proxy starts"
ok "no reader: it says so" err_has "a FIFO with no reader"
req nr1 "$PROXY_URL/noreader/1"
is "$HTTP_CODE" 200 "no reader: the client is answered"
ok "no reader: the exchange is captured" wait_for 60 cap_has_id "$CAP" "$TRACE"
# A reader comes: the FIFO is opened again within a second or so.
cat "$T/ev.fifo" >"$T/ev.out" &
reader=$!
track "$reader"
# reader_got: send a divergent request, then look for events.
reader_got() {
	curl -sS --noproxy '*' --max-time 30 -o /dev/null "$PROXY_URL/noreader/more"
	[ -s "$T/ev.out" ]
}
ok "no reader: a reader that comes later gets events" wait_for 60 reader_got
ok "no reader: the events are JSON lines of divergent exchanges" \
    sh -c "head -n 1 '$T/ev.out' | jq -e '.verdict == \"shape\"' >/dev/null"
stop_proxy
is "$PROXY_STATUS" 0 "no reader: the proxy exits 0"
ok "no reader: the events dropped meanwhile are counted" \
    err_has "dropped (no reader)"
kill "$reader" 2>/dev/null
wait "$reader" 2>/dev/null

# --- a reader that leaves: said, and the proxy goes on ---
mkfifo "$T/ev2.fifo"
head -c 1 "$T/ev2.fifo" >/dev/null &
reader=$!
track "$reader"
start_proxy --primary "$PRI" --candidate "$CAN" --events "$T/ev2.fifo" ||
    bail "the proxy did not start"
# The reader may open the FIFO after the proxy first tried (it is then
# opened again a second later): send divergent requests until the reader
# has had its byte and left.
reader_left() {
	curl -sS --noproxy '*' --max-time 30 -o /dev/null "$PROXY_URL/gone/first"
	! alive "$reader"
}
ok "reader gone: the reader had an event and left" wait_for 60 reader_left
kill "$reader" 2>/dev/null
wait "$reader" 2>/dev/null
# gone_said: another divergent request, then the message.
gone_said() {
	curl -sS --noproxy '*' --max-time 30 -o /dev/null "$PROXY_URL/gone/more"
	err_has "the reader went away"
}
ok "reader gone: said" wait_for 60 gone_said
req gone2 "$PROXY_URL/gone/2"
is "$HTTP_CODE" 200 "reader gone: the proxy still answers"
stop_proxy
is "$PROXY_STATUS" 0 "reader gone: the proxy exits 0"

# --- a reader that never reads: the capture goes on, the stop is quick ---
# 389 KB JSON bodies: a few events fill the pipe and the events buffer.
awk 'BEGIN { printf "{\"items\":["; for (i = 0; i < 20000; i++)
    printf "%s{\"i\":%d,\"v\":\"x\"}", (i ? "," : ""), i; printf "]}" }' \
    >"$T/big.json"
jq -n --arg f "$T/big.json" '{default: {status: 200,
    headers: [["Content-Type", "application/json"]], body_file: $f}}' \
    >"$T/bigp.json"
start_backend bigp "$T/bigp.json"
mkfifo "$T/ev3.fifo"
exec 3<>"$T/ev3.fifo"
CAP=$T/stuck-events.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port bigp)" \
    --candidate "$CAN" --capture "$CAP" --events "$T/ev3.fifo" --grace 1000 ||
    bail "the proxy did not start"
curl -sS --noproxy '*' --max-time 120 -o /dev/null -w '%{http_code}\n' \
    "$PROXY_URL/stuck/[1-20]" >"$T/stuck.codes" 2>/dev/null
is "$(grep -c '^200$' "$T/stuck.codes")" 20 \
    "events never read: all 20 clients answered"
ok "events never read: all 20 exchanges captured while the proxy runs" \
    wait_for 60 nlines_ge "$CAP" 20
stop_proxy
is "$PROXY_STATUS" 0 "events never read: the proxy exits 0"
ok "events never read: the dropped events are counted" \
    err_has "events dropped"
exec 3<&-

# --- SIGHUP and SIGUSR1 reopen the capture and the events file ---
CAP=$T/hup.jsonl
EV=$T/hup.events
start_proxy -v --primary "$PRI" --candidate "$CAN" --capture "$CAP" \
    --events "$EV" || bail "the proxy did not start"
for sig in HUP USR1; do
	req "$sig.a" "$PROXY_URL/$sig/a"
	ida=$TRACE
	ok "$sig: the first event is written" wait_for 60 cap_has_id "$EV" "$ida"
	ok "$sig: the first exchange is captured" wait_for 60 cap_has_id "$CAP" "$ida"
	mv "$EV" "$EV.$sig"
	mv "$CAP" "$CAP.$sig"
	kill "-$sig" "$PROXY_PID"
	ok "$sig: the proxy says it reopens" \
	    wait_for 60 err_has "SIG$sig: reopening the capture and events files"
	req "$sig.b" "$PROXY_URL/$sig/b"
	idb=$TRACE
	ok "$sig: the next event goes to a new events file" \
	    wait_for 60 cap_has_id "$EV" "$idb"
	ok "$sig: the next exchange goes to a new capture" \
	    wait_for 60 cap_has_id "$CAP" "$idb"
	is "$(jq -r .id "$EV.$sig" | tail -n 1)" "$ida" \
	    "$sig: the moved events file ends with the event before the signal"
	is "$(jq -r .id "$EV" | tr '\n' ' ')" "$idb " \
	    "$sig: the new events file holds only the event after it"
	is "$(jq -r .id "$CAP" | tr '\n' ' ')" "$idb " \
	    "$sig: the new capture holds only the exchange after it"
	is "$(stat -c %a "$EV")" 600 "$sig: the new events file is mode 0600"
done
kill -USR2 "$PROXY_PID"
ok "USR2: the summary line so far" \
    wait_for 60 err_has "paritytap proxy: 4 exchanges: 4/4 status match"
req usr2 "$PROXY_URL/usr2"
is "$HTTP_CODE" 200 "USR2: the proxy still answers"
stop_proxy
is "$PROXY_STATUS" 0 "signals: the proxy exits 0"

# --- a consumer stuck for good (a capture nobody reads) under load ---
# The proxy's memory stays near --queue-size, clients are answered,
# exchanges over the budget are recorded without comparison or dropped,
# counted while it happens and at stop, and the stop takes --grace.
mkfifo "$T/cap.fifo"
exec 4<>"$T/cap.fifo"
start_proxy --primary "http://127.0.0.1:$(backend_port bigp)" \
    --candidate "http://127.0.0.1:$(backend_port bigp)" \
    --capture "$T/cap.fifo" --queue-size 1M --grace 1000 ||
    bail "the proxy did not start"
curl -sS --noproxy '*' --max-time 300 -o /dev/null -w '%{http_code}\n' \
    "$PROXY_URL/load/[1-400]" >"$T/load.codes" 2>/dev/null
is "$(grep -c '^200$' "$T/load.codes")" 400 \
    "stuck capture: all 400 clients answered"
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$PROXY_PID/status")
if ldd "$PARITYTAP" 2>/dev/null | grep -q 'libasan' ||
    grep -q 'libasan' "/proc/$PROXY_PID/maps" 2>/dev/null; then
	skip "peak memory is not meaningful under AddressSanitizer"
else
	# 400 exchanges of 2 x 389 KB would be 311 MB held.  The bound:
	# --queue-size, the exchange in flight, and the comparison the
	# pipeline made before its capture write stuck (two parsed
	# documents of 20,000 objects, 10 to 50 MB).
	cmp_ok "$hwm" -lt 100000 \
	    "stuck capture: peak memory stayed under 100 MB (${hwm} kB)"
fi
ok "stuck capture: the queue being full is said while it happens" \
    wait_for 60 err_has "the compare stage is behind"
stop_proxy
is "$PROXY_STATUS" 3 "stuck capture: the stop ends, exit 3"
ok "stuck capture: the summary counts the dropped exchanges" \
    err_has "dropped (pipeline full)"
# Exchanges recorded without comparison are not counted as compared.
sm=$(grep -o '[0-9]*/[0-9]* status match' "$PROXY_ERR" | tail -n 1)
cmp_ok "${sm%%/*}" -le "$(echo "$sm" | sed 's|^[0-9]*/\([0-9]*\) .*|\1|')" \
    "stuck capture: status matches are counted among compared ones ($sm)"
ok "stuck capture: the stop says the consumer is stuck" \
    err_has "a consumer is stuck"
exec 4<&-

done_testing
