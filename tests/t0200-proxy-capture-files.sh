#!/bin/sh
# Capture files from the proxy: mode 0600, reopened on SIGHUP after a
# logrotate-style rename, rotated by size with no line lost, and --events
# holding exactly the divergent exchanges.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

start_backend primary "$FIXTURES/validator-primary.json"
start_backend candidate "$FIXTURES/validator-candidate.json"
P="http://127.0.0.1:$(backend_port primary)"
C="http://127.0.0.1:$(backend_port candidate)"

# validate CASE: one validator request through the current proxy.
validate() {
	req "$1" -H 'Content-Type: application/json' \
	    -d "{\"case\":\"$1\"}" "$PROXY_URL/v1/validate"
}

# SIGHUP: the file renamed away keeps what was written before; the proxy
# writes the rest to a new file at the original path.
CAP=$T/run.jsonl
start_proxy --primary "$P" --candidate "$C" --capture "$CAP" \
    --events "$T/events.jsonl" || bail "the proxy did not start"
validate schema_field
validate valid
ok "the first two exchanges are written" \
    wait_for 10 sh -c "[ \$(wc -l <'$CAP') -eq 2 ]"
is "$(stat -c %a "$CAP")" 600 "the capture is created mode 0600"
mv "$CAP" "$T/run.1.jsonl"
kill -HUP "$PROXY_PID"
ok "SIGHUP makes the proxy open a new file at the capture path" \
    wait_for 10 test -f "$CAP"
validate policy
validate consistency
validate valid
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
is "$(cap_nlines "$T/run.1.jsonl")" 2 "the rotated-away file kept its 2 lines"
is "$(cap_nlines "$CAP")" 3 "the reopened file has the 3 later lines"
ok "the rotated-away file is valid" cap_valid "$T/run.1.jsonl"
ok "the new file is valid" cap_valid "$CAP"
is "$(jq -r .verdict "$T/events.jsonl" | sort | uniq -c | tr -s ' ' | sed 's/^ //')" \
    "3 shape" "--events holds the three divergent exchanges, no match"

# Rotation by size: 30 exchanges of ~1.5 KiB each over 4 KiB files.
DIR=$T/caps
mkdir "$DIR"
start_proxy --primary "$P" --candidate "$C" --capture "$DIR/run.jsonl" \
    --rotate-size 4k || bail "the proxy did not start"
i=0
while [ $i -lt 30 ]; do
	validate schema_type
	i=$((i + 1))
done
stop_proxy
is "$PROXY_STATUS" 0 "the rotating proxy exits 0"
nfiles=$(ls "$DIR" | wc -l | tr -d ' ')
cmp_ok "$nfiles" -ge 4 "--rotate-size 4k over ~45 KiB made several files ($nfiles)"
is "$(cat "$DIR"/*.jsonl | wc -l | tr -d ' ')" 30 \
    "the files hold the 30 exchanges between them"
is "$(cat "$DIR"/*.jsonl | jq -r .id | sort -u | wc -l | tr -d ' ')" 30 \
    "each exchange exactly once"
bad=0
for f in "$DIR"/*.jsonl; do
	cap_valid "$f" || bad=$((bad + 1))
done
is "$bad" 0 "no file has a torn line"

done_testing
