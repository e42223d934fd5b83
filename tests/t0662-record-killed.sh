#!/bin/sh
# A threaded server killed by SIGTERM (it has no handler: it dies at
# once, its exit handlers never run) while 64 keep-alive clients keep it
# busy: record still says what the process wrote and how many records it
# lost, from the counters the library keeps current in its file.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries
POOLSERVER=${POOLSERVER:-$top_builddir/tests/backends/poolserver}
[ -x "$POOLSERVER" ] || bail "POOLSERVER=$POOLSERVER is not executable"
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

CONNS=64
REQS=100000

"$PARITYTAP" record -o "$T/kill.jsonl" -- \
    "$POOLSERVER" "$T/kill.port" 16 "$REQS" 2>"$T/kill.err" &
pid=$!
track "$pid"
wait_for 10 test -s "$T/kill.port" || bail "poolserver did not start"
port=$(cat "$T/kill.port")

# Far more requests than can be answered before the signal.
i=1
: >"$T/curl.cfg"
while [ $i -le 4096 ]; do
	printf 'url = "http://127.0.0.1:%s/%s/%s"\noutput = "%s/b.%s"\n' \
	    "$port" $((1000 + (i * 7919) % 150000)) "$i" "$T" "$i" \
	    >>"$T/curl.cfg"
	i=$((i + 1))
done
curl -sS --parallel --parallel-max "$CONNS" -K "$T/curl.cfg" \
    2>"$T/curl.err" &
cpid=$!
track "$cpid"

# Under load: a few hundred answers are in, more are coming.
answered() {
	[ "$(ls "$T" | grep -c '^b\.')" -ge "$1" ]
}
wait_for 30 answered 300 || bail "the clients got no answers"
ok "the server still works when the signal comes" alive "$pid"
kill -TERM "$pid"
wait_pid "$pid" 20
is "$WAIT_STATUS" 143 "record exits 128 + SIGTERM, as the server did"
wait_pid "$cpid" 20

like "$(cat "$T/kill.err")" \
    'record: 1 process wrote [1-9][0-9]* records; [0-9]+ lost to a busy lock, [0-9]+ lost to write errors' \
    "record says what the killed process wrote and lost"
n=$(sed -n 's/.*record: 1 process wrote \([0-9]*\) records.*/\1/p' \
    "$T/kill.err")
# At least a request and its answer per exchange in the capture (the
# counters are at most 10 ms behind the file).
[ -n "$n" ] || n=0
ok "the counters saw the records of the exchanges in the capture" \
    [ "$n" -ge "$(cap_nlines "$T/kill.jsonl")" ]

done_testing
