#!/bin/sh
# paritytap record around busybox httpd, which serves each connection in
# a forked child that moves the socket to fd 0, dups it onto fd 1, reads
# the request from fd 0 and writes the response to fd 1: one connection
# seen through two fds.  Every exchange is in the capture with its
# response, byte for byte what curl got.

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
like "$(cat "$T/bb.err")" ' 3 connections, 3 exchanges, .* 0 unanswered' \
    "import: one connection per exchange, none unanswered"
done_testing
