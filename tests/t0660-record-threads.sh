#!/bin/sh
# paritytap record around a server built as Apache's event MPM
# (poolserver: one thread waits for every idle connection, a pool of
# workers serves one request at a time, so a connection's exchanges go
# through several threads) under 64 concurrent keep-alive connections:
# every exchange is in the capture, each body byte for byte what its
# client got, and record says that no record was lost.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-record.sh"
need curl jq
need_binaries
POOLSERVER=${POOLSERVER:-$top_builddir/tests/backends/poolserver}
[ -x "$POOLSERVER" ] || bail "POOLSERVER=$POOLSERVER is not executable"
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

CONNS=64
REQS=256
WORKERS=16

# The body sizes: 1000 to 150999 bytes, so that buffers fill at
# different points and records run over several segments.
size_of() {
	echo $((1000 + ($1 * 7919) % 150000))
}

"$PARITYTAP" record -o "$T/pool.jsonl" --pcap "$T/pool.pcap" -- \
    "$POOLSERVER" "$T/pool.port" "$WORKERS" "$REQS" 2>"$T/pool.err" &
pid=$!
track "$pid"
wait_for 10 test -s "$T/pool.port" || bail "poolserver did not start"
port=$(cat "$T/pool.port")

record_fetch "$port" record_size_path
wait_pid "$pid" 30
is "$WAIT_STATUS" 0 "the server and record exit 0"

record_sizes_check

unlike "$(cat "$T/pool.err")" 'dropped|not written' "no record was dropped"
like "$(cat "$T/pool.err")" \
    'record: 1 process wrote [1-9][0-9]* records; 0 lost to a busy lock, 0 lost to write errors' \
    "record says what the process wrote and that it lost nothing"
is "$(cap_nlines "$T/pool.jsonl")" "$REQS" "exactly $REQS exchanges in the capture"
like "$(cat "$T/pool.err")" "^paritytap record: $REQS exchanges from .*, 0 unparsable streams, 0 gaps, 0 unanswered" \
    "the import found every exchange whole"
jq -r '.request.target + " " + .responses.primary.body' "$T/pool.jsonl" |
    sort >"$T/got"
sort "$T/want" >"$T/want.sorted"
ok "every body in the capture is byte for byte what its client got" \
    cmp -s "$T/got" "$T/want.sorted"
is "$(jq -r '.responses.primary.status' "$T/pool.jsonl" | sort -u)" 200 \
    "every exchange is a 200"

done_testing
