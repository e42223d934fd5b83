#!/bin/sh
# paritytap record around busybox httpd, which serves each connection in
# a forked child that moves the socket to fd 0, dups it onto fd 1, reads
# the request from fd 0 and writes the response to fd 1: one connection
# seen through two fds.  Every exchange is in the capture with its
# response, byte for byte what curl got.  Then busybox httpd in inetd
# mode (-i) started by busybox nc -e: the socket is on fds 0 and 1 from
# the start, inherited across exec, on a listening port of the kernel's
# outgoing range.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries
RECPROBE=${RECPROBE:-$top_builddir/tests/backends/recprobe}
[ -x "$RECPROBE" ] || bail "RECPROBE=$RECPROBE is not executable"
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

BUSYBOX=${BUSYBOX:-$(command -v busybox 2>/dev/null || true)}
[ -n "$BUSYBOX" ] && "$BUSYBOX" httpd --help >/dev/null 2>&1 ||
    skip_all "busybox (with httpd) not installed"

mkdir "$T/www"
printf '{"hello":"busybox","n":[1,2,3]}\n' >"$T/www/a.json"
i=0
while [ $i -lt 3000 ]; do
	echo "line $i of a file busybox httpd writes to its fd 1"
	i=$((i + 1))
done >"$T/www/big.txt"

PORT=$("$RECPROBE" freeport)
"$PARITYTAP" record -o "$T/bb.jsonl" -- \
    "$BUSYBOX" httpd -f -p "127.0.0.1:$PORT" -h "$T/www" \
    >"$T/bb.out" 2>"$T/bb.err" &
BBPID=$!
track "$BBPID"
if ! "$RECPROBE" waitport "$PORT" 10; then
	diag_file "$T/bb.err"
	bail "busybox httpd did not start under record"
fi
curl -s -o "$T/a" -o "$T/big" -o "$T/missing" \
    "http://127.0.0.1:$PORT/a.json" "http://127.0.0.1:$PORT/big.txt" \
    "http://127.0.0.1:$PORT/missing"
is "$?" 0 "curl got its answers"
# The children that served the connections have written their files and
# exited before the server is stopped.
served() {
	for _h in $(children_of "$BBPID"); do
		for _c in $(children_of "$_h"); do
			alive "$_c" && return 1
		done
	done
	return 0
}
wait_for 10 served || bail "busybox httpd's children did not exit"
kill -TERM "$BBPID"
wait_pid "$BBPID" 20
is "$WAIT_STATUS" 143 "SIGTERM through record ends busybox httpd (128 + 15)"

is "$(cap_nlines "$T/bb.jsonl")" 3 "the three exchanges are in the capture"
is "$(jq -r '.request.target + " " + (.responses.primary.status | tostring)' \
    "$T/bb.jsonl" | sort | tr '\n' '|')" \
    "/a.json 200|/big.txt 200|/missing 404|" \
    "each request with its response's status"
for f in a big missing; do
	case $f in
	a) t=/a.json ;;
	big) t=/big.txt ;;
	missing) t=/missing ;;
	esac
	jq -j --arg t "$t" 'select(.request.target == $t) |
	    .responses.primary.body' "$T/bb.jsonl" >"$T/cap.$f"
	ok "the body of $t is byte for byte what curl got" \
	    cmp -s "$T/cap.$f" "$T/$f"
done
like "$(cat "$T/bb.err")" '^paritytap record: 3 exchanges from .*, 3 connections, .* 0 unanswered' \
    "import: one connection per exchange, none unanswered"

# --- inetd mode: nc accepts one connection and execs httpd -i on it ---
# (A connect to see whether it listens would be the one it serves: ss
# looks instead.)
if ! command -v ss >/dev/null 2>&1; then
	for _i in 1 2 3 4; do
		skip "ss not installed"
	done
	done_testing
fi
listening() {
	ss -ltnH "sport = :$1" 2>/dev/null | grep -q .
}
PORT=$("$RECPROBE" freeport)
"$PARITYTAP" record -o "$T/inetd.jsonl" -- \
    "$BUSYBOX" nc -l -p "$PORT" -e "$BUSYBOX" httpd -i -h "$T/www" \
    >"$T/inetd.out" 2>"$T/inetd.err" &
NCPID=$!
track "$NCPID"
wait_for 10 listening "$PORT" || bail "busybox nc did not listen"
curl -s -o "$T/inetd.big" "http://127.0.0.1:$PORT/big.txt"
is "$?" 0 "inetd: curl got its answer"
wait_pid "$NCPID" 20
is "$WAIT_STATUS" 0 "inetd: nc and httpd exit 0 after the connection"
is "$(jq -r '.request.target + " " + (.responses.primary.status |
    tostring)' "$T/inetd.jsonl")" "/big.txt 200" \
    "inetd: the one exchange, with its response's status"
jq -j '.responses.primary.body' "$T/inetd.jsonl" >"$T/inetd.cap"
ok "inetd: the body is byte for byte what curl got" \
    cmp -s "$T/inetd.cap" "$T/inetd.big"
done_testing
