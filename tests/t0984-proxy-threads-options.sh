#!/bin/sh
# --threads takes 1 to 64; anything else is a usage error (exit 2) that
# names the option and the value, on the command line and in the config
# file, and the proxy does not start.  --help and the man page list it.

. "$(dirname "$0")/lib.sh"
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

done_testing
