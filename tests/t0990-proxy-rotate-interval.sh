#!/bin/sh
# Captures that last: --rotate-interval starts a new file on each multiple
# of the interval, closed files take a UTC stamp that sorts in time order,
# --rotate-compress gzips them in the background (report reads them back),
# --rotate-keep removes the oldest of this capture's files and no other,
# and no empty file is left behind.  Nothing here waits on the clock: each
# step waits until the file it needs exists.

. "$(dirname "$0")/lib.sh"
need curl jq gzip
need_binaries

start_json_backends '{"ok":true,"items":[{"id":1,"name":"a"},{"id":2,"name":"b"}]}'

STAMP='[0-9]{8}T[0-9]{6}\.[0-9]{3}Z'

# gz_holds DIR GLOB ID: a .gz file of DIR matching GLOB holds the id.
gz_holds() {
	for _f in "$1"/$2; do
		[ -f "$_f" ] || continue
		gzip -dc "$_f" 2>/dev/null | grep -q "\"id\":\"$3\"" && return 0
	done
	return 1
}

# all_ids DIR: the id of every line of every file of DIR, plain or .gz,
# files in name order.
all_ids() {
	for _f in $(cd "$1" && LC_ALL=C ls); do
		case $_f in
		*.gz)	gzip -dc "$1/$_f" 2>/dev/null ;;
		*.jsonl) cat "$1/$_f" 2>/dev/null ;;
		esac
	done | jq -r .id
}

# --- by time, compressed, one file: every exchange in exactly one file ---
DIR=$T/rot
mkdir "$DIR"
start_proxy -v --primary "$PRI" --candidate "$CAN" --capture "$DIR/c.jsonl" \
    --rotate-interval 1s --rotate-compress || bail "the proxy did not start"
: >"$T/sent"
round=1
while [ $round -le 4 ]; do
	req "r$round" "$PROXY_URL/rot/$round"
	echo "$TRACE" >>"$T/sent"
	ok "round $round: the file holding it is closed and compressed" \
	    wait_for 30 gz_holds "$DIR" 'c-*.jsonl.gz' "$TRACE"
	if [ $round = 2 ]; then
		# Reopening between rotations loses nothing.
		kill -HUP "$PROXY_PID"
		ok "round 2: SIGHUP reopens the files" \
		    wait_for 30 grep -q "SIGHUP: reopening" "$PROXY_ERR"
	fi
	round=$((round + 1))
done
req last "$PROXY_URL/rot/last"
echo "$TRACE" >>"$T/sent"
# all_have DIR ID: some file of DIR holds the id.
all_have() {
	all_ids "$1" | grep -qx "$2"
}
ok "the last exchange is written" wait_for 10 all_have "$DIR" "$TRACE"
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"

ngz=$(ls "$DIR" | grep -Ec "^c-$STAMP\\.jsonl\\.gz\$")
cmp_ok "$ngz" -ge 4 "at least 4 closed files, named c-STAMP.jsonl.gz ($ngz)"
is "$(ls "$DIR" | grep -Evc "^c-$STAMP\\.jsonl\\.gz\$|^c\\.jsonl\$")" 0 \
    "no other file: no plain closed file, no temporary file"
is "$(find "$DIR" -type f -empty | wc -l | tr -d ' ')" 0 "no empty file"
bad=0
for f in "$DIR"/c-*.jsonl.gz; do
	gzip -t "$f" || bad=$((bad + 1))
	[ "$(stat -c %a "$f")" = 600 ] || bad=$((bad + 1))
	[ "$(gzip -dc "$f" | wc -l)" -ge 1 ] || bad=$((bad + 1))
done
is "$bad" 0 "every .gz is whole, mode 0600 and holds lines"
is "$(all_ids "$DIR" | sort | uniq -d | wc -l | tr -d ' ')" 0 \
    "no exchange is in two files"
is "$(all_ids "$DIR" | tr '\n' ' ')" "$(tr '\n' ' ' <"$T/sent")" \
    "the files in name order hold the exchanges in the order they came"
# A file begun by a rotation begins on a whole second, UTC.
first=$(cd "$DIR" && LC_ALL=C ls c-*.jsonl.gz | head -n 1)
is "$(cd "$DIR" && LC_ALL=C ls c-*.jsonl.gz | sed 1d |
    grep -vc '\.000Z\.jsonl\.gz$')" 0 \
    "every file after the first begins on a multiple of the interval"
"$PARITYTAP" report --format json "$DIR"/c*.jsonl* \
    >"$T/report-gz.out" 2>"$T/report-gz.err"
is "$?" 0 "report reads the rotated .gz files and the current one"
is "$(jq -r .exchanges "$T/report-gz.out")" 5 \
    "report counts all 5 exchanges across the rotated set"

# --- an interval with nothing in it leaves no file ---
EMPTY=$T/quiet
mkdir "$EMPTY"
start_proxy -vv --primary "$PRI" --candidate "$CAN" --capture "$EMPTY/" \
    --rotate-interval 1s || bail "the proxy did not start"
ok "directory mode: the first file is made at start, and with nothing in it \
is removed when its interval ends" wait_for 30 grep -Eq \
    "capture: $EMPTY/paritytap-$STAMP-[0-9]+\\.jsonl: removed, nothing was written to it" \
    "$PROXY_ERR"
is "$(ls "$EMPTY" | wc -l | tr -d ' ')" 0 "no file is made for a quiet interval"
req q1 "$PROXY_URL/quiet/1"
ok "the next exchange makes the next file" \
    wait_for 10 sh -c "cat '$EMPTY'/* 2>/dev/null | grep -q '$TRACE'"
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
is "$(ls "$EMPTY" | wc -l | tr -d ' ')" 1 "one file, the exchange's"
f=$(ls "$EMPTY")
like "$f" "^paritytap-[0-9]{8}T[0-9]{6}\\.000Z-[0-9]+\\.jsonl\$" \
    "named for the interval it began (.000Z), with the pid"

# --- retention: the newest N of this capture's closed files, no other ---
KEEP=$T/keep
mkdir "$KEEP"
for f in notes.txt c-old.jsonl c-20200101T000000Z.jsonl \
    d-20200101T000000.000Z.jsonl c-20200101T000000.000Z.jsonl.tmp; do
	echo '{}' >"$KEEP/$f"
done
# A closed file of an earlier run is this capture's too: the oldest.
echo '{}' | gzip >"$KEEP/c-20200101T000000.000Z.jsonl.gz"
start_proxy --primary "$PRI" --candidate "$CAN" --capture "$KEEP/c.jsonl" \
    --rotate-interval 1s --rotate-keep 2 --rotate-compress ||
    bail "the proxy did not start"
# nscheme: this capture's files: closed ones (plain or .gz) and the open one.
nscheme() {
	ls "$KEEP" | grep -E "^c-$STAMP\\.jsonl(\\.gz)?\$|^c\\.jsonl\$" |
	    sed 's/\.gz$//' | sort -u | wc -l | tr -d ' '
}
: >"$T/kept"
round=1
most=0
while [ $round -le 4 ]; do
	req "k$round" "$PROXY_URL/keep/$round"
	echo "$TRACE" >>"$T/kept"
	ok "keep round $round: its file is closed and compressed" \
	    wait_for 30 gz_holds "$KEEP" 'c-*.jsonl.gz' "$TRACE"
	n=$(nscheme)
	[ "$n" -gt "$most" ] && most=$n
	round=$((round + 1))
done
cmp_ok "$most" -le 3 "while running, never more than 2 closed files and the \
open one ($most)"
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
is "$(ls "$KEEP" | grep -Ec "^c-$STAMP\\.jsonl\\.gz\$")" 2 \
    "--rotate-keep 2: two closed files are left"
is "$(all_ids "$KEEP" | grep -v null | tr '\n' ' ')" \
    "$(sed -n '3,4p' "$T/kept" | tr '\n' ' ')" \
    "they are the newest two, with the last two exchanges"
ok "the earlier run's closed file, the oldest, is removed" \
    test ! -e "$KEEP/c-20200101T000000.000Z.jsonl.gz"
left=0
for f in notes.txt c-old.jsonl c-20200101T000000Z.jsonl \
    d-20200101T000000.000Z.jsonl c-20200101T000000.000Z.jsonl.tmp; do
	[ -f "$KEEP/$f" ] && left=$((left + 1))
done
is "$left" 5 "files of other names are left alone"

# --- compression is of closed files: the one being written stays plain ---
PLAIN=$T/plain
mkdir "$PLAIN"
# A closed file an earlier run left plain (killed before compressing it).
gzip -dc "$(cd "$KEEP" && LC_ALL=C ls -d "$KEEP"/c-*.jsonl.gz | tail -n 1)" \
    >"$PLAIN/c-20200101T000000.000Z.jsonl"
left_id=$(jq -r .id "$PLAIN/c-20200101T000000.000Z.jsonl")
start_proxy --primary "$PRI" --candidate "$CAN" --capture "$PLAIN/c.jsonl" \
    --rotate-size 1M --rotate-compress || bail "the proxy did not start"
req p1 "$PROXY_URL/plain/1"
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
is "$(ls "$PLAIN" | tr '\n' ' ')" "c-20200101T000000.000Z.jsonl.gz c.jsonl " \
    "at exit the file being written stays plain, under its name; the \
closed file an earlier run left plain is compressed"
ok "with its exchange" cap_has_id "$PLAIN/c.jsonl" "$TRACE"
is "$(gzip -dc "$PLAIN/c-20200101T000000.000Z.jsonl.gz" | jq -r .id)" \
    "$left_id" "the earlier run's file keeps its line"

# --- a run with no exchange: no file, and said ---
NONE=$T/none
mkdir "$NONE"
start_proxy --primary "$PRI" --candidate "$CAN" --capture "$NONE/c.jsonl" ||
    bail "the proxy did not start"
ok "the capture file is made at start" test -f "$NONE/c.jsonl"
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
is "$(ls "$NONE" | wc -l | tr -d ' ')" 0 "no empty file is left at exit"
ok "stderr says no exchange was recorded and the empty file was removed" \
    grep -q "capture: no exchange was recorded; the empty $NONE/c.jsonl was removed" \
    "$PROXY_ERR"
# A file this run did not make is left as it was, even empty.
: >"$NONE/given.jsonl"
start_proxy --primary "$PRI" --candidate "$CAN" \
    --capture "$NONE/given.jsonl" || bail "the proxy did not start"
stop_proxy
ok "an empty file that was there before is kept" test -f "$NONE/given.jsonl"

# --- options ---
"$PARITYTAP" proxy --listen 127.0.0.1:0 --primary "$PRI" --candidate "$CAN" \
    --rotate-interval 1h >/dev/null 2>"$T/o1.err"
is "$?" 2 "--rotate-interval without --capture: exit 2"
like "$(cat "$T/o1.err")" "--rotate-interval: there is no --capture to rotate" \
    "... saying so"
"$PARITYTAP" proxy --listen 127.0.0.1:0 --primary "$PRI" --candidate "$CAN" \
    --capture "$T/o.jsonl" --rotate-keep 3 >/dev/null 2>"$T/o2.err"
is "$?" 2 "--rotate-keep without a rotation: exit 2"
like "$(cat "$T/o2.err")" "--rotate-keep: needs --rotate-size or --rotate-interval" \
    "... saying so"
"$PARITYTAP" proxy --listen 127.0.0.1:0 --primary "$PRI" --candidate "$CAN" \
    --capture "$T/o.jsonl" --rotate-interval 500ms >/dev/null 2>"$T/o3.err"
is "$?" 2 "--rotate-interval below a second: exit 2"
like "$(cat "$T/o3.err")" "--rotate-interval: 500ms: out of range" "... saying so"
"$PARITYTAP" proxy --listen 127.0.0.1:0 --primary "$PRI" --candidate "$CAN" \
    --capture "$T/o.jsonl" --rotate-size 1M --rotate-keep 0 \
    >/dev/null 2>"$T/o4.err"
is "$?" 2 "--rotate-keep 0: exit 2"
like "$(cat "$T/o4.err")" "--rotate-keep" "... naming the option"
printf '[proxy]\nrotate-interval = 2h\n' >"$T/bad.conf"
"$PARITYTAP" proxy --listen 127.0.0.1:0 --primary "$PRI" --candidate "$CAN" \
    --config "$T/bad.conf" >/dev/null 2>"$T/o5.err"
is "$?" 2 "rotate-interval is a config key (and needs --capture there too)"
like "$(cat "$T/o5.err")" "--rotate-interval: there is no --capture" \
    "... saying so"
like "$("$PARITYTAP" proxy --help | grep -A2 -e --rotate-interval |
    tr -s '\n ' '  ')" "--rotate-interval DURATION .*\\(s if no unit\\)" \
    "proxy --help lists --rotate-interval with its unit"
like "$("$PARITYTAP" sniff --help)" "--rotate-keep N" \
    "sniff --help lists the rotation options"

done_testing
