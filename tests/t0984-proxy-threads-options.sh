#!/bin/sh
# --threads takes 1 to 64; anything else is a usage error (exit 2) that
# names the option and the value, on the command line and in the config
# file, and the proxy does not start.  --help and the man page list it.
# A second proxy on the port several loops share is refused.

. "$(dirname "$0")/lib.sh"
need jq
need_binaries

# bad DESC VALUE: proxy --threads VALUE is refused with a message naming it.
bad() {
	"$PARITYTAP" proxy --listen 127.0.0.1:0 --primary http://127.0.0.1:1 \
	    --candidate http://127.0.0.1:1 --threads "$2" >"$T/out" 2>"$T/err"
	is "$?" 2 "$1: exit 2"
	contains "$(cat "$T/err")" "--threads: '$2' is not a number from 1 to 64" \
	    "$1: the message names --threads and the value"
	unlike "$(cat "$T/err")" "listening" "$1: the proxy did not start"
}

bad "zero threads" 0
bad "not a number" abc
bad "too many" 1000
bad "negative" -2
bad "empty" ""

printf '[proxy]\nprimary = http://127.0.0.1:1\ncandidate = http://127.0.0.1:1\nthreads = 0\n' \
    >"$T/bad.ini"
"$PARITYTAP" proxy --listen 127.0.0.1:0 --config "$T/bad.ini" \
    >"$T/out" 2>"$T/err"
is "$?" 2 "threads = 0 in the config file: exit 2"
contains "$(cat "$T/err")" "bad.ini:4" "... the message names the file and line"
contains "$(cat "$T/err")" "'0' is not a number from 1 to 64" \
    "... and the value"

"$PARITYTAP" proxy --help >"$T/help" 2>&1
like "$(cat "$T/help")" '--threads N +event loops' "--help lists --threads"
contains "$(cat "$top_srcdir/man/paritytap.1")" ".It Fl -threads Ar n" \
    "the man page lists --threads"

# A second proxy on a port the first one's loops share is refused, as it
# would be with one loop: SO_REUSEPORT must not let it take half of the
# first one's clients.
jq -n '{default: {status: 200, body: "{}"}}' >"$T/backend.json"
start_backend primary "$T/backend.json"
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port primary)" --threads 2 ||
    bail "the proxy did not start"
"$PARITYTAP" proxy --listen "127.0.0.1:$PROXY_PORT" --threads 2 \
    --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port primary)" \
    >"$T/second.out" 2>"$T/second.err" &
second=$!
track "$second"
# second_settled: it exited, or (wrongly) started listening.
second_settled() {
	! alive "$second" || grep -q 'listening on' "$T/second.err"
}
ok "the second proxy settles" wait_for 30 second_settled
unlike "$(cat "$T/second.err")" "listening on" \
    "a second proxy on the same port does not start"
kill -TERM "$second" 2>/dev/null
wait_pid "$second" 30
is "$WAIT_STATUS" 3 "... it exits 3"
contains "$(cat "$T/second.err")" \
    "cannot listen on 127.0.0.1:$PROXY_PORT: Address already in use" \
    "... saying the address is in use"
stop_proxy
is "$PROXY_STATUS" 0 "the first proxy exits 0"

done_testing
