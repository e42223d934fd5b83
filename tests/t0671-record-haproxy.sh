#!/bin/sh
# paritytap record around haproxy with two threads (nbthread 2), in
# front of a test server that is not recorded, under 64 concurrent
# keep-alive connections.  record sees both of haproxy's sides: each
# client's exchange with haproxy and haproxy's with the server (told
# apart by the X-Forwarded-For haproxy adds, and by port when the kept
# packets are imported again).  Each side holds every exchange, each
# body byte for byte what its client got, and record says that no
# record was lost.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-record.sh"
need curl jq
need_binaries
RECPROBE=${RECPROBE:-$top_builddir/tests/backends/recprobe}
POOLSERVER=${POOLSERVER:-$top_builddir/tests/backends/poolserver}
[ -x "$RECPROBE" ] || bail "RECPROBE=$RECPROBE is not executable"
[ -x "$POOLSERVER" ] || bail "POOLSERVER=$POOLSERVER is not executable"
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

HAPROXY=${HAPROXY:-$(command -v haproxy 2>/dev/null || echo /usr/sbin/haproxy)}
[ -x "$HAPROXY" ] || skip_all "haproxy not installed"

CONNS=64
REQS=256

# The body sizes: 1000 to 400999 bytes, so that a thread has much to
# write while the other records.
size_of() {
	echo $((1000 + ($1 * 7919) % 400000))
}

# The server haproxy forwards to, not recorded: 16 worker threads.
"$POOLSERVER" "$T/pool.port" 16 "$REQS" 2>"$T/pool.err" &
track $!
wait_for 10 test -s "$T/pool.port" || bail "poolserver did not start"
BPORT=$(cat "$T/pool.port")

PORT=$("$RECPROBE" freeport)
cat >"$T/haproxy.cfg" <<EOC
global
	nbthread 2
defaults
	mode http
	option forwardfor
	timeout connect 10s
	timeout client 60s
	timeout server 60s
frontend fe
	bind 127.0.0.1:$PORT
	default_backend be
backend be
	server s1 127.0.0.1:$BPORT
EOC
"$PARITYTAP" record -o "$T/hap.jsonl" --pcap "$T/hap.pcap" -- \
    "$HAPROXY" -db -f "$T/haproxy.cfg" >"$T/hap.out" 2>"$T/hap.err" &
pid=$!
track "$pid"
if ! "$RECPROBE" waitport "$PORT" 10; then
	diag_file "$T/hap.err"
	bail "haproxy did not start under record"
fi

record_fetch "$PORT" record_size_path
hpid=$(children_of "$pid" | head -n 1)
is "$(sed -n 's/^Threads:[[:space:]]*//p' "/proc/$hpid/status")" 2 \
    "haproxy runs two threads"
record_sizes_check
sort "$T/want" >"$T/want.sorted"

# SIGUSR1: haproxy's soft stop, which ends once its connections are.
kill -USR1 "$pid"
wait_pid "$pid" 30
is "$WAIT_STATUS" 0 "SIGUSR1 through record stops haproxy; exit status 0"

unlike "$(cat "$T/hap.err")" 'dropped|not written|could not|no TCP traffic' \
    "no record was dropped"
like "$(cat "$T/hap.err")" \
    'record: 1 process wrote [1-9][0-9]* records; 0 lost to a busy lock, 0 lost to write errors' \
    "record says what haproxy wrote and that it lost nothing"
like "$(cat "$T/hap.err")" "^paritytap record: $((2 * REQS)) exchanges from .*, 0 unparsable streams, 0 gaps, 0 unanswered" \
    "the import found both sides' exchanges whole"

# The clients' side: no X-Forwarded-For (haproxy sends header names in
# lower case).
jq -c 'select(all(.request.headers[];
    (.name | ascii_downcase) != "x-forwarded-for"))' \
    "$T/hap.jsonl" >"$T/front.jsonl"
is "$(cap_nlines "$T/front.jsonl")" "$REQS" \
    "clients' side: exactly $REQS exchanges"
jq -r '.request.target + " " + .responses.primary.body' "$T/front.jsonl" |
    sort >"$T/front.got"
ok "clients' side: every body is byte for byte what its client got" \
    cmp -s "$T/front.got" "$T/want.sorted"

# haproxy's side towards the server: each request with the header.
jq -c 'select(any(.request.headers[];
    (.name | ascii_downcase) == "x-forwarded-for"))' \
    "$T/hap.jsonl" >"$T/back.jsonl"
is "$(cap_nlines "$T/back.jsonl")" "$REQS" \
    "server's side: exactly $REQS exchanges"
is "$(jq -r '.request.headers[] |
    select((.name | ascii_downcase) == "x-forwarded-for") | .value' \
    "$T/back.jsonl" | sort -u)" 127.0.0.1 \
    "server's side: each request carries haproxy's X-Forwarded-For"
jq -r '.request.target + " " + .responses.primary.body' "$T/back.jsonl" |
    sort >"$T/back.got"
ok "server's side: every body is byte for byte what the client got" \
    cmp -s "$T/back.got" "$T/want.sorted"
is "$(jq -r '.responses.primary.status' "$T/hap.jsonl" | sort -u)" 200 \
    "every exchange is a 200"

# The packets record kept, imported again one port at a time.
"$PARITYTAP" import --port "$PORT" "$T/hap.pcap" >"$T/front2.jsonl" \
    2>"$T/front2.err"
like "$(tail -n 1 "$T/front2.err")" "^paritytap import: $REQS exchanges from .*, 0 unparsable streams, 0 gaps, 0 unanswered" \
    "the kept packets on haproxy's port: the clients' $REQS exchanges"
"$PARITYTAP" import --port "$BPORT" "$T/hap.pcap" >"$T/back2.jsonl" \
    2>"$T/back2.err"
like "$(tail -n 1 "$T/back2.err")" "^paritytap import: $REQS exchanges from .*, 0 unparsable streams, 0 gaps, 0 unanswered" \
    "the kept packets on the server's port: haproxy's $REQS exchanges"
is "$(jq -r '.request.headers[] |
    select((.name | ascii_downcase) == "x-forwarded-for") | .value' \
    "$T/back2.jsonl" | wc -l | tr -d ' ')" "$REQS" \
    "... each with haproxy's X-Forwarded-For"

done_testing
