#!/bin/sh
# The command line: --version, the command table, help, usage errors (exit
# 2, naming what was wrong) and a listen address in use (exit 3).

. "$(dirname "$0")/lib.sh"
need jq timeout
need_binaries

# run NAME ARGS...: run paritytap (bounded to 10 s) with stdout/stderr to
# $T/NAME.out/.err; sets ST, OUT, ERR.
run() {
	_n=$1
	shift
	timeout 10 "$PARITYTAP" "$@" >"$T/$_n.out" 2>"$T/$_n.err" </dev/null
	ST=$?
	OUT=$(cat "$T/$_n.out")
	ERR=$(cat "$T/$_n.err")
}

run version --version
is "$ST" 0 "--version exits 0"
like "$OUT" '^paritytap [0-9]+\.[0-9]+\.[0-9]+' \
    "--version prints 'paritytap X.Y.Z' on stdout"
contains "$OUT" "0.1.0" "--version names version 0.1.0"

run bare
is "$ST" 2 "no command exits 2"
like "$OUT
$ERR" '^[[:space:]]*proxy([[:space:]]|$)' \
    "no command prints the command table (a line for proxy)"

run unknown frobnicate
is "$ST" 2 "an unknown command exits 2"
contains "$ERR" "frobnicate" "the message names the unknown command"

run help_proxy help proxy
is "$ST" 0 "'help proxy' exits 0"
contains "$OUT" "--candidate" "'help proxy' documents --candidate on stdout"
contains "$OUT" "--primary" "'help proxy' documents --primary"

run proxy_help proxy --help
is "$ST" 0 "'proxy --help' exits 0"
contains "$OUT" "--candidate" "'proxy --help' documents --candidate on stdout"

run proxy_h proxy -h
is "$ST" 0 "'proxy -h' exits 0"

run help_bogus help frobnicate
is "$ST" 2 "'help' of an unknown command exits 2"
contains "$ERR" "frobnicate" "... and names it"

P=http://127.0.0.1:9
run badopt proxy --listen 127.0.0.1:0 --primary $P --candidate $P \
    --no-such-option
is "$ST" 2 "an unknown option exits 2"
contains "$ERR" "no-such-option" "the message names the unknown option"

run noprimary proxy --listen 127.0.0.1:0 --candidate $P
is "$ST" 2 "missing --primary exits 2"
contains "$ERR" "primary" "the message names --primary"

run nocandidate proxy --listen 127.0.0.1:0 --primary $P
is "$ST" 2 "missing --candidate exits 2"
contains "$ERR" "candidate" "the message names --candidate"

run nolisten proxy --primary $P --candidate $P
is "$ST" 2 "missing --listen exits 2"
contains "$ERR" "listen" "the message names --listen"

for v in 1.5 abc -0.1 ''; do
	run sample proxy --listen 127.0.0.1:0 --primary $P --candidate $P \
	    --sample "$v"
	is "$ST" 2 "--sample '$v' exits 2"
	contains "$ERR" "sample" "the message for --sample '$v' names --sample"
done

run badurl proxy --listen 127.0.0.1:0 --primary not-a-url --candidate $P
is "$ST" 2 "--primary not-a-url exits 2"
contains "$ERR" "not-a-url" "the message names the bad URL"

run badtimeout proxy --listen 127.0.0.1:0 --primary $P --candidate $P \
    --primary-timeout soon
is "$ST" 2 "--primary-timeout soon exits 2"
contains "$ERR" "primary-timeout" "the message names --primary-timeout"

run badmaxbody proxy --listen 127.0.0.1:0 --primary $P --candidate $P \
    --max-body lots
is "$ST" 2 "--max-body lots exits 2"

run badcolor proxy --listen 127.0.0.1:0 --primary $P --candidate $P \
    --color sometimes
is "$ST" 2 "--color sometimes exits 2"

run noconfig proxy --listen 127.0.0.1:0 --primary $P --candidate $P \
    --config "$T/does-not-exist.ini"
is "$ST" 2 "an unreadable --config exits 2"
contains "$ERR" "does-not-exist.ini" "the message names the config file"

# A port that is in use: a test backend holds it.
start_backend holder
run inuse proxy --listen "127.0.0.1:$BACKEND_PORT" --primary $P --candidate $P
is "$ST" 3 "--listen on a port in use exits 3"
contains "$ERR" "$BACKEND_PORT" "the message names the address"

done_testing
