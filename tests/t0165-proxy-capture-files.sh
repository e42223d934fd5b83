#!/bin/sh
# Capture files (DESIGN §3, §7.6): --capture DIR creates files inside it,
# --rotate-size starts new files without losing a line, SIGHUP reopens the
# file (logrotate moves it away first), every file is mode 0600 and the
# lines are flushed on a timer, not only at exit.

. "$(dirname "$0")/lib.sh"
need curl jq stat
need_binaries

start_json_backends '{"ok":true,"padding":"0123456789012345678901234567890123456789"}'

# nlines_ge FILE N: FILE holds at least N lines.
nlines_ge() {
	[ "$(cap_nlines "$1")" -ge "$2" ]
}

# all_lines DIR: every capture line in every file of DIR.
all_lines() {
	cat "$1"/* 2>/dev/null
}

# --- a directory ---
mkdir "$T/dir"
start_proxy --primary "$PRI" --candidate "$CAN" --capture "$T/dir" ||
    bail "the proxy did not start with --capture DIR"
req d1 "$PROXY_URL/dir/1"
req d2 "$PROXY_URL/dir/2"
stop_proxy
is "$PROXY_STATUS" 0 "dir: the proxy exits 0"
is "$(ls "$T/dir" | wc -l | tr -d ' ')" 1 "dir: one capture file inside"
f=$(ls "$T/dir" | head -n 1)
like "$f" '\.jsonl$' "dir: the file ends in .jsonl"
is "$(stat -c %a "$T/dir/$f")" 600 "dir: the file is mode 0600"
is "$(cap_nlines "$T/dir/$f")" 2 "dir: 2 lines"

# --- flushed while running ---
CAP=$T/live.jsonl
start_proxy -v --primary "$PRI" --candidate "$CAN" --capture "$CAP" ||
    bail "the proxy did not start"
req l1 "$PROXY_URL/live/1"
ok "a line reaches the file while the proxy runs (timer flush)" \
    wait_for 10 cap_has_id "$CAP" "$TRACE"

# --- SIGHUP reopens ---
req l2 "$PROXY_URL/live/2"
ok "hup: both lines flushed" wait_for 10 nlines_ge "$CAP" 2
mv "$CAP" "$CAP.1"
kill -HUP "$PROXY_PID"
# Printed from the loop as it handles the signal, in the callback that
# asks the pipeline to reopen: every exchange finished after that line
# goes to the new file (the pipeline keeps that order).
ok "hup: the proxy reopened its files" \
    wait_for 30 grep -q 'SIGHUP: reopening the capture and events files' \
    "$PROXY_ERR"
req l3 "$PROXY_URL/live/3"
id3=$TRACE
req l4 "$PROXY_URL/live/4"
id4=$TRACE
ok "hup: the proxy survives SIGHUP" alive "$PROXY_PID"
ok "hup: the lines after SIGHUP go to a new file" \
    wait_for 10 nlines_ge "$CAP" 2
stop_proxy
is "$PROXY_STATUS" 0 "hup: the proxy exits 0"
is "$(cap_nlines "$CAP.1")" 2 "hup: the moved file kept its 2 lines"
is "$(jq -r .id "$CAP" | tr '\n' ' ')" "$id3 $id4 " \
    "hup: the new file holds the 2 later exchanges"
is "$(stat -c %a "$CAP")" 600 "hup: the new file is mode 0600"

# --- rotation ---
mkdir "$T/rot"
start_proxy --primary "$PRI" --candidate "$CAN" \
    --capture "$T/rot/c.jsonl" --rotate-size 2k || bail "the proxy did not start"
curl -sS --noproxy '*' --max-time 60 -o /dev/null -w '%{http_code}\n' \
    "$PROXY_URL/rot/[1-30]" >"$T/rot.codes" 2>/dev/null
is "$(grep -c '^200$' "$T/rot.codes")" 30 "rotate: 30 requests answered"
stop_proxy
is "$PROXY_STATUS" 0 "rotate: the proxy exits 0"
nfiles=$(ls "$T/rot" | wc -l | tr -d ' ')
cmp_ok "$nfiles" -ge 2 "rotate: more than one file past 2k"
is "$(all_lines "$T/rot" | wc -l | tr -d ' ')" 30 "rotate: no line lost"
is "$(all_lines "$T/rot" | jq -r .request.target | sort -u | wc -l | tr -d ' ')" \
    30 "rotate: no line duplicated"
bad=0
for f in "$T"/rot/*; do
	cap_valid "$f" || bad=$((bad + 1))
	[ "$(stat -c %a "$f")" = 600 ] || bad=$((bad + 1))
done
is "$bad" 0 "rotate: every file is whole JSONL lines, mode 0600"
big=0
for f in "$T"/rot/*; do
	# A rotated file may pass 2k by its last line, not by more.
	[ "$(wc -c <"$f")" -gt 4096 ] && big=$((big + 1))
done
is "$big" 0 "rotate: no file grows far past --rotate-size"

done_testing
