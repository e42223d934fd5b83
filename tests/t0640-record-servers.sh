#!/bin/sh
# paritytap record with servers written for the test: a threaded server
# (connections served at once on several threads), a forking server (each
# child writes its own pcap), and a client that closes and reuses fds
# (a file and a dup2 on a socket's old number, a daemon-style close of
# every fd).  Each capture holds exactly the exchanges that happened,
# byte for byte.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries
RECPROBE=${RECPROBE:-$top_builddir/tests/backends/recprobe}
[ -x "$RECPROBE" ] || bail "RECPROBE=$RECPROBE is not executable"
# A test program built with AddressSanitizer runs with the (uninstrumented)
# library loaded before the sanitizer's runtime.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

CLIENTS=4

# serve MODE: record "recprobe serve MODE" while CLIENTS curls make two
# requests each (keep-alive) at the same time.
serve() {
	_m=$1
	rm -f "$T/$_m.port"
	"$PARITYTAP" record -o "$T/$_m.jsonl" --pcap "$T/$_m.pcap" -- \
	    "$RECPROBE" serve "$_m" "$T/$_m.port" "$CLIENTS" \
	    2>"$T/$_m.err" &
	_pid=$!
	track "$_pid"
	wait_for 10 test -s "$T/$_m.port" || bail "$_m server did not start"
	_port=$(cat "$T/$_m.port")
	_i=1
	_cpids=
	while [ $_i -le $CLIENTS ]; do
		curl -s -o "$T/$_m.$_i.a" -o "$T/$_m.$_i.b" \
		    --data-binary "body of client $_i" \
		    "http://127.0.0.1:$_port/$_m/$_i/a" \
		    "http://127.0.0.1:$_port/$_m/$_i/b?x=$_i" &
		_cpids="$_cpids $!"
		_i=$((_i + 1))
	done
	for _c in $_cpids; do
		wait "$_c"
	done
	wait_pid "$_pid" 20
	is "$WAIT_STATUS" 0 "$_m: the server and record exit 0"
	unlike "$(cat "$T/$_m.err")" 'dropped|not written' \
	    "$_m: no record was dropped"
	is "$(cap_nlines "$T/$_m.jsonl")" $((CLIENTS * 2)) \
	    "$_m: exactly $((CLIENTS * 2)) exchanges in the capture"
	_bad=
	_i=1
	while [ $_i -le $CLIENTS ]; do
		for _r in "a" "b?x=$_i"; do
			_f=${_r%%\?*}
			jq -j --arg t "/$_m/$_i/$_r" 'select(.request.target == $t) |
			    .responses.primary.body' "$T/$_m.jsonl" \
			    >"$T/$_m.$_i.$_f.cap"
			cmp -s "$T/$_m.$_i.$_f.cap" "$T/$_m.$_i.$_f" ||
			    _bad="$_bad /$_m/$_i/$_r"
			_got=$(jq -r --arg t "/$_m/$_i/$_r" \
			    'select(.request.target == $t) | .request.body' \
			    "$T/$_m.jsonl")
			[ "$_got" = "body of client $_i" ] ||
			    _bad="$_bad request:/$_m/$_i/$_r"
		done
		_i=$((_i + 1))
	done
	is "$_bad" "" "$_m: every request and response body is byte for byte what was sent"
}

serve thread
serve fork

# --- killed while it waits: what it did is in the file ---
# The threaded server has no handler for SIGTERM: it dies at once, in
# accept or read, and what the library had gathered must be written.
rm -f "$T/kill.port"
"$PARITYTAP" record -o "$T/kill.jsonl" -- "$RECPROBE" serve thread \
    "$T/kill.port" 1000 2>"$T/kill.err" &
kpid=$!
track "$kpid"
wait_for 10 test -s "$T/kill.port" || bail "the server did not start"
kport=$(cat "$T/kill.port")
curl -s -o "$T/kill.1" "http://127.0.0.1:$kport/kill/1" &&
curl -s -o "$T/kill.2" -o "$T/kill.3" "http://127.0.0.1:$kport/kill/2" "http://127.0.0.1:$kport/kill/3"
# The library writes what it gathered before each call that may wait
# (read, accept); curl has its response as soon as the server's write
# returns, a step earlier.  So "before the signal" is: once every thread
# of the server waits again, not the moment curl is done.
spid=$(children_of "$kpid" | head -n 1)
wait_for 60 asleep "$spid" ||
    diag "the server's threads did not all come to wait: $(cat /proc/"$spid"/task/*/stat 2>/dev/null)"
kill -TERM "$kpid"
wait_pid "$kpid" 20
is "$WAIT_STATUS" 143 "killed: record exits 128 + SIGTERM, as the server did"
is "$(jq -r .request.target "$T/kill.jsonl" | sort | tr '\n' ' ')" \
    "/kill/1 /kill/2 /kill/3 " \
    "killed: the exchanges before the signal are in the capture"

# --- fds closed and reused ---
start_backend reuse
mkdir "$T/reuse"
out=$(cd "$T/reuse" && "$PARITYTAP" record -o "$T/reuse.jsonl" \
    --pcap "$T/reuse.pcap" -- "$RECPROBE" reuse "$BACKEND_PORT" \
    2>"$T/reuse.err")
is "$?" 0 "reuse: record exits 0"
unlike "$(cat "$T/reuse.err")" 'recprobe' "reuse: the client saw no error"
is "$(tr -d '\r' <"$T/reuse/recprobe-file.txt")" "GET /not-http HTTP/1.1" \
    "reuse: the file on a socket's old fd number was written"
is "$(cat "$T/reuse/recprobe-dup2.txt")" mine \
    "reuse: a dup2 onto the recorder's fd gives the program that fd"
is "$(cap_nlines "$T/reuse.jsonl")" 5 "reuse: exactly five exchanges in the capture"
is "$(jq -r .request.target "$T/reuse.jsonl" | tr '\n' ' ')" \
    "/reuse/1 /reuse/2 /reuse/3 /reuse/4 /reuse/5 " \
    "reuse: each connection's request, the file's bytes in none"
is "$(jq -r 'select(.request.target == "/reuse/5") | .request.body' \
    "$T/reuse.jsonl")" "body sent with sendfile" \
    "reuse: a body sent with sendfile from the file's offset is recorded"
is "$(jq -r .responses.primary.body "$T/reuse.jsonl")" "$out" \
    "reuse: the responses are byte for byte what the client got"
unlike "$(cat "$T/reuse.err")" 'dropped|not written' \
    "reuse: the library kept its file through the close loop"

done_testing
