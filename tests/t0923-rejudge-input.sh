#!/bin/sh
# rejudge's input and output: - reads stdin and -o - writes stdout, .gz
# captures are read, several captures make one output in order, -o may
# name an input (replaced at the end); bad input exits 2 with a message
# that names the file and line, and leaves an existing output as it was.

. "$(dirname "$0")/lib.sh"
need jq gzip
need_binaries

CAP=$FIXTURES/report-a.jsonl
RULES="--ignore $.now --ignore-header X-Build"
# shellcheck disable=SC2086
"$PARITYTAP" rejudge $RULES "$CAP" -o "$T/want.jsonl" 2>"$T/want.err"
is "$?" 0 "rejudge of a file exits 0"
isnt "$(cat "$T/want.jsonl")" "$(cat "$CAP")" "the rules change the capture"

# shellcheck disable=SC2086
"$PARITYTAP" rejudge $RULES - -o - <"$CAP" >"$T/stdout.jsonl" \
    2>"$T/stdout.err"
is "$?" 0 "stdin to stdout exits 0"
ok "stdin to stdout gives the same lines" cmp -s "$T/want.jsonl" \
    "$T/stdout.jsonl"
is "$(cat "$T/stdout.err")" "$(cat "$T/want.err")" \
    "the summary goes to stderr, the same"

gzip -c "$CAP" >"$T/cap.jsonl.gz"
# shellcheck disable=SC2086
"$PARITYTAP" rejudge $RULES "$T/cap.jsonl.gz" -o "$T/gz.jsonl" 2>/dev/null
is "$?" 0 "a .gz capture: exits 0"
ok "a .gz capture gives the same lines" cmp -s "$T/want.jsonl" "$T/gz.jsonl"

# shellcheck disable=SC2086
"$PARITYTAP" rejudge $RULES "$CAP" "$T/cap.jsonl.gz" -o "$T/two.jsonl" \
    2>"$T/two.err"
is "$(cat "$T/two.jsonl")" "$(cat "$T/want.jsonl" "$T/want.jsonl")" \
    "two captures: both, in order, in one output"
n=$(cap_nlines "$CAP")
like "$(cat "$T/two.err")" "^paritytap rejudge: $((2 * n)) exchanges read" \
    "the summary counts both"

cp "$CAP" "$T/inplace.jsonl"
# shellcheck disable=SC2086
"$PARITYTAP" rejudge $RULES "$T/inplace.jsonl" -o "$T/inplace.jsonl" \
    2>/dev/null
is "$?" 0 "-o naming the input: exits 0"
ok "the input is replaced by the re-judged capture" cmp -s \
    "$T/want.jsonl" "$T/inplace.jsonl"
is "$(ls -A "$T" | grep -c '^\.')" 0 "no temporary file is left"

# What is not a regular file is written as it is, never replaced: a
# FIFO stays a FIFO (and its reader gets the lines), a symbolic link a
# link to the file it names.
mkfifo "$T/fifo"
cat "$T/fifo" >"$T/fifo.got" &
reader=$!
# shellcheck disable=SC2086
"$PARITYTAP" rejudge $RULES "$CAP" -o "$T/fifo" 2>/dev/null
is "$?" 0 "-o a FIFO: exits 0"
# Never leave the reader blocked: open the FIFO as a writer too (read
# and write: it does not block) and close it, or kill the reader if the
# FIFO was replaced.
if test -p "$T/fifo"; then
	exec 3<>"$T/fifo"
	exec 3>&-
else
	kill "$reader"
fi
wait "$reader"
ok "-o a FIFO: it is still one" test -p "$T/fifo"
ok "-o a FIFO: its reader got the re-judged capture" cmp -s \
    "$T/want.jsonl" "$T/fifo.got"
echo old >"$T/target.jsonl"
ln -s target.jsonl "$T/link.jsonl"
# shellcheck disable=SC2086
"$PARITYTAP" rejudge $RULES "$CAP" -o "$T/link.jsonl" 2>/dev/null
is "$?" 0 "-o a symbolic link: exits 0"
ok "-o a symbolic link: it is still one" test -L "$T/link.jsonl"
ok "-o a symbolic link: the file it names holds the output" cmp -s \
    "$T/want.jsonl" "$T/target.jsonl"

# bad ARGS...: rejudge must exit 2 and leave $T/keep.jsonl alone; the
# message is in $T/bad.err.
bad() {
	echo "kept" >"$T/keep.jsonl"
	"$PARITYTAP" rejudge "$@" -o "$T/keep.jsonl" >"$T/bad.out" 2>"$T/bad.err"
	BAD_STATUS=$?
	BAD_KEPT=$(cat "$T/keep.jsonl")
	BAD_ERR=$(cat "$T/bad.err")
}

# A pcap file given by mistake.
printf '\324\303\262\241\002\000\004\000\000\000\000\000\000\000\000\000' \
    >"$T/x.pcap"
printf '\377\377\000\000\001\000\000\000GET / HTTP/1.1\r\n\r\n' >>"$T/x.pcap"
bad "$T/x.pcap"
is "$BAD_STATUS" 2 "a pcap: exit 2"
is "$BAD_ERR" "paritytap rejudge: $T/x.pcap:1: a packet capture, not a paritytap capture (paritytap import reads it)" \
    "a pcap: the message names the file and says what to do"
is "$BAD_KEPT" kept "a pcap: the output is left as it was"

# A line that is not JSON, the third.
{ head -n 2 "$CAP"; echo 'not json'; tail -n 1 "$CAP"; } >"$T/notjson.jsonl"
bad "$T/notjson.jsonl"
is "$BAD_STATUS" 2 "a line that is not JSON: exit 2"
like "$BAD_ERR" "^paritytap rejudge: $T/notjson.jsonl:3: invalid JSON" \
    "a line that is not JSON: the message names file:line"
is "$BAD_KEPT" kept "a line that is not JSON: the output is left as it was"

# The same line on stdin.
bad - <"$T/notjson.jsonl"
like "$BAD_ERR" "^paritytap rejudge: stdin:3: invalid JSON" \
    "on stdin: the message names stdin:3"

# JSON, but not an exchange.
{ head -n 1 "$CAP"; echo '{"paritytap":1,"id":"x"}'; } >"$T/noreq.jsonl"
bad "$T/noreq.jsonl"
is "$BAD_STATUS" 2 "an object that is no exchange: exit 2"
like "$BAD_ERR" "^paritytap rejudge: $T/noreq.jsonl:2: " \
    "an object that is no exchange: the message names file:line"

# --lenient skips the bad line, and leaves it out.
"$PARITYTAP" rejudge --lenient "$T/notjson.jsonl" -o "$T/lenient.jsonl" \
    2>"$T/lenient.err"
is "$?" 0 "--lenient: exit 0"
is "$(cap_nlines "$T/lenient.jsonl")" 3 "--lenient: the bad line is left out"
like "$(cat "$T/lenient.err")" "notjson.jsonl:3: .*skipped" \
    "--lenient: a warning names file:line"

bad "$T/missing.jsonl"
is "$BAD_STATUS" 2 "a missing capture: exit 2"
is "$BAD_ERR" "paritytap rejudge: $T/missing.jsonl: No such file or directory" \
    "a missing capture: the message names it"
is "$BAD_KEPT" kept "a missing capture: the output is left as it was"

"$PARITYTAP" rejudge "$CAP" >/dev/null 2>"$T/noout.err"
is "$?" 2 "no -o: exit 2"
like "$(cat "$T/noout.err")" "^paritytap rejudge: -o OUT is required" \
    "no -o: the message says so"
"$PARITYTAP" rejudge -o - >/dev/null 2>"$T/nocap.err"
is "$?" 2 "no capture: exit 2"
like "$(cat "$T/nocap.err")" "^paritytap rejudge: no capture file given" \
    "no capture: the message says so"
bad --ignore 'now' "$CAP"
is "$BAD_STATUS" 2 "a bad --ignore: exit 2"
like "$BAD_ERR" "^paritytap rejudge: --ignore: invalid ignore pattern" \
    "a bad --ignore: the message names the option"
printf '[compare]\nignore = $.now\nbogus = 1\n' >"$T/bad.conf"
bad --config "$T/bad.conf" "$CAP"
is "$BAD_STATUS" 2 "a bad config key: exit 2"
is "$(head -n 1 "$T/bad.err")" \
    "paritytap rejudge: $T/bad.conf:3: unknown key 'bogus' in [compare]" \
    "a bad config key: the message names file:line"

"$PARITYTAP" help rejudge >"$T/help" 2>&1
is "$?" 0 "help rejudge exits 0"
like "$(cat "$T/help")" '^usage: paritytap rejudge ' "help rejudge: the usage"
like "$("$PARITYTAP" --help)" '^  rejudge ' "the command table lists rejudge"

done_testing
