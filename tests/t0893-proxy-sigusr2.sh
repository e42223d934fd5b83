#!/bin/sh
# SIGUSR2 prints the summary line so far, as the final one is printed
# (same prefix, same text), from the live counts: sent twice while
# clients keep sending, each line counts at least what the one before
# did, every client is answered, and once the traffic is over the line
# is exactly the one the proxy prints when it stops.  sniff does the same
# (capturing on lo needs root with CAP_NET_RAW).

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-sniff.sh"
need curl jq
need_binaries

jq -n '{default: {status: 200, headers: [["Content-Type", "application/json"]],
    body_json: {kind: "a", n: 1}}}' >"$T/primary.json"
jq -n '{default: {status: 200, headers: [["Content-Type", "application/json"]],
    body_json: {kind: "a"}}}' >"$T/candidate.json"
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
PRI=http://127.0.0.1:$(backend_port primary)
CAN=http://127.0.0.1:$(backend_port candidate)

# cap_nlines_ge FILE N: the capture holds at least N lines.
cap_nlines_ge() {
	[ "$(cap_nlines "$1")" -ge "$2" ]
}

# summaries FILE PREFIX: the summary lines in a stderr file.
summaries() {
	grep -E "^$2: [0-9]+ exchanges?: " "$1"
}

# nsummaries_ge FILE PREFIX N: at least N summary lines.
nsummaries_ge() {
	[ "$(summaries "$1" "$2" | wc -l)" -ge "$3" ]
}

# total LINE: the exchange count a summary line starts with.
total() {
	printf '%s\n' "$1" | sed -n 's/^[a-z ]*: \([0-9][0-9]*\) exchanges*: .*/\1/p'
}

LINE5="5 exchanges: 5/5 status match · 0/5 shape match · 5 shape divergences · 0 errors · 1 drift (1 new this run)"

CAP=$T/cap.jsonl
start_proxy -q --primary "$PRI" --candidate "$CAN" --capture "$CAP" ||
    bail "the proxy did not start"
curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -o /dev/null \
    -w '%{http_code}\n' "$PROXY_URL/first/[1-5]" >"$T/first.codes"
is "$(grep -c '^200$' "$T/first.codes")" 5 "5 requests, 5 answers 200"
ok "the 5 exchanges are captured" wait_for 60 cap_nlines_ge "$CAP" 5
kill -USR2 "$PROXY_PID"
ok "USR2: a summary line appears" wait_for 60 nsummaries_ge "$PROXY_ERR" "paritytap proxy" 1
is "$(summaries "$PROXY_ERR" "paritytap proxy")" "paritytap proxy: $LINE5" \
    "USR2: the line is the summary so far, prefixed as the final one"

# Traffic in the background: 200 requests over 4 clients.
for c in 1 2 3 4; do
	curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -o /dev/null \
	    -w '%{http_code}\n' "$PROXY_URL/load/$c/[1-50]" \
	    >"$T/load.$c.codes" 2>"$T/load.$c.err" &
	eval "load_$c=\$!"
	track $!
done
ok "traffic: exchanges are being captured" wait_for 60 cap_nlines_ge "$CAP" 15
kill -USR2 "$PROXY_PID"
ok "USR2 under traffic: a second summary line" \
    wait_for 60 nsummaries_ge "$PROXY_ERR" "paritytap proxy" 2
n2=$(total "$(summaries "$PROXY_ERR" "paritytap proxy" | sed -n 2p)")
cmp_ok "$n2" -ge 5 "USR2 under traffic: the count did not go down"
cmp_ok "$n2" -le 205 "USR2 under traffic: at most the exchanges sent"
for c in 1 2 3 4; do
	eval "wait \$load_$c"
done
is "$(cat "$T"/load.*.codes | grep -c '^200$')" 200 \
    "traffic: every one of the 200 requests was answered 200"
ok "traffic: all 205 exchanges are captured" wait_for 60 cap_nlines_ge "$CAP" 205
kill -USR2 "$PROXY_PID"
ok "USR2 after the traffic: a third summary line" \
    wait_for 60 nsummaries_ge "$PROXY_ERR" "paritytap proxy" 3
l3=$(summaries "$PROXY_ERR" "paritytap proxy" | sed -n 3p)
n3=$(total "$l3")
cmp_ok "$n3" -ge "$n2" "USR2: the third count is not below the second"
is "$n3" 205 "USR2: the third line counts the 205 exchanges"
unlike "$(cat "$PROXY_ERR")" 'SIGUSR2: ignored' "USR2: not 'ignored'"
req after "$PROXY_URL/first/6"
is "$HTTP_CODE" 200 "the proxy still answers after three SIGUSR2"
ok "that exchange is captured" wait_for 60 cap_nlines_ge "$CAP" 206
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
is "$(summaries "$PROXY_ERR" "paritytap proxy" | sed -n 4p)" \
    "$(printf '%s\n' "$l3" | sed 's/205/206/g')" \
    "the final line is the SIGUSR2 line's text, with the last exchange"
is "$(summaries "$PROXY_ERR" "paritytap proxy" | wc -l | tr -d ' ')" 4 \
    "three SIGUSR2 lines and the final one, nothing else"

# --- sniff ---
need_capture
ok "sniff: started" start_sniff -q --port "$(backend_port primary)" \
    --candidate "$CAN" --stats-interval 0 --capture "$T/sniff.jsonl"
curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -o /dev/null \
    -w '%{http_code}\n' "$PRI/sniffed/[1-5]" >"$T/sniff.codes"
is "$(grep -c '^200$' "$T/sniff.codes")" 5 "sniff: 5 requests to the primary"
ok "sniff: the 5 exchanges are captured" \
    wait_for 60 cap_nlines_ge "$T/sniff.jsonl" 5
kill -USR2 "$SNIFF_PID"
ok "sniff USR2: a summary line appears" \
    wait_for 60 nsummaries_ge "$SNIFF_ERR" "paritytap sniff" 1
is "$(summaries "$SNIFF_ERR" "paritytap sniff")" "paritytap sniff: $LINE5" \
    "sniff USR2: the summary so far, prefixed as sniff's final line"
ok "sniff: still running after SIGUSR2" alive "$SNIFF_PID"
kill -TERM "$SNIFF_PID"
wait_pid "$SNIFF_PID" 30
is "$WAIT_STATUS" 0 "sniff exits 0"
is "$(summaries "$SNIFF_ERR" "paritytap sniff" | sed -n 2p)" "paritytap sniff: $LINE5" \
    "sniff: the final line is the SIGUSR2 line"
done_testing
