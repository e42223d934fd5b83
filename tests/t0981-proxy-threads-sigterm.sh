#!/bin/sh
# SIGTERM under load with --threads 4: the main thread takes the signal
# and tells every loop; each stops accepting (before the proxy says it
# is stopping) and finishes its own exchanges in flight; the proxy exits
# 0 once all are done.  Every request
# a client got an answer for has exactly one capture line, and the exit
# summary counts what the capture holds.
#
# No clock: slow exchanges are held by the primary (an hour, until
# released) and the grace period is two hours, so they are in flight for
# as long as the test needs; each load loop runs until its first
# unanswered request, so SIGTERM comes mid-load by construction.  Each
# request opens its own connection, so the kernel spreads them over the
# four listening sockets.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

SLOW=6
start_slow_backends 20 40
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" --grace 7200000 --threads 4 ||
    bail "the proxy did not start"
URL=$PROXY_URL

# loop N: sequential requests, each on its own connection, until the
# first that gets no response; the response headers of request I go to
# $T/l.N.I.hdr, the number of the last request sent to $T/l.N.last.
loop() {
	_i=1
	while [ "$_i" -le 100000 ]; do
		curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" \
		    -D "$T/l.$1.$_i.hdr" -o /dev/null "$URL/load/$1/$_i" \
		    2>/dev/null || break
		_i=$((_i + 1))
	done
	echo "$_i" >"$T/l.$1.last"
}

# Requests in flight when SIGTERM arrives, each on its own connection.
slows=
k=1
while [ "$k" -le "$SLOW" ]; do
	curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -D "$T/slow.$k.hdr" \
	    -o "$T/slow.$k.body" "$URL/slow?k=$k" 2>/dev/null &
	track $!
	slows="$slows $!"
	k=$((k + 1))
done

loops=
for n in 1 2 3 4 5 6 7 8; do
	loop "$n" &
	track $!
	loops="$loops $!"
done

ok "load is flowing (80 requests reached the primary)" \
    wait_for 60 backend_nrequests_ge primary 80
ok "the $SLOW slow requests are in flight" wait_for 30 sh -c \
    "[ \$(jq -cR 'fromjson? | select(.event == \"request\" and
    (.target | startswith(\"/slow\")))' '$T/primary.log' | wc -l) -eq $SLOW ]"

kill -TERM "$PROXY_PID"
ok "the proxy says it is stopping" \
    wait_for 30 grep -q '^paritytap: SIGTERM: stopping' "$PROXY_ERR"
# The slow exchanges hold the proxy in its grace period: it cannot have
# finished, whichever loop holds them.
ok "the proxy still runs: its slow exchanges are in flight" alive "$PROXY_PID"
# Printed once every loop has stopped accepting: a new client, whichever
# listening socket the kernel gives it to, gets no HTTP response.
curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -o /dev/null \
    -w '%{http_code}' "$URL/late" >"$T/late.code" 2>/dev/null &
late_pid=$!
track "$late_pid"
ok "a late client waits for an answer" wait_for 30 asleep "$late_pid"
backend_release primary

wait_pid "$PROXY_PID" 60
is "$WAIT_STATUS" 0 "the proxy exits 0 after SIGTERM"
PROXY_PID=
wait_pid "$late_pid" 60
is "$(cat "$T/late.code")" 000 "after SIGTERM a new request gets no response"
for p in $loops $slows; do
	wait_pid "$p" 60
done

: >"$T/answered"
: >"$T/statuses"
for f in "$T"/l.*.hdr "$T"/slow.*.hdr; do
	[ -s "$f" ] || continue
	head -n 1 "$f" | tr -d '\r' | cut -d' ' -f2 >>"$T/statuses"
	header_of "$f" "$TRACE_HEADER" >>"$T/answered"
done
n_answered=$(grep -c . "$T/answered")
n_sent=$(cat "$T"/l.*.last | awk '{ n += $1 } END { print n }')
is "$n_answered" "$((n_sent - 8 + SLOW))" \
    "each loop's requests were answered but its last, and so was each slow one"
is "$(grep -vc '^200$' "$T/statuses")" 0 \
    "every answered request got 200 (in-flight exchanges were finished)"
is "$(grep -c '^$' "$T/answered")" 0 "every response carried a trace id"
is "$(grep -l '"ok":true' "$T"/slow.*.body | wc -l | tr -d ' ')" "$SLOW" \
    "each slow request got the primary's body"

ok "the capture has no torn line" cap_valid "$CAP"
jq -r .id "$CAP" | sort >"$T/captured"
is "$(uniq -d "$T/captured" | grep -c .)" 0 "no trace id has two lines"
sort "$T/answered" >"$T/answered.sorted"
missing=$(comm -23 "$T/answered.sorted" "$T/captured")
is "$(printf '%s' "$missing" | grep -c .)" 0 \
    "every answered request has its capture line"
[ -z "$missing" ] || diag "answered but not captured:" "$missing"
jq -r 'select(.verdict != "match") | .id + " " + .verdict' "$CAP" | sort |
    join - "$T/answered.sorted" >"$T/unfinished"
is "$(grep -c . "$T/unfinished")" 0 \
    "every answered exchange was finished on both sides (match)"
n_cap=$(cap_nlines "$CAP")
like "$(cat "$PROXY_ERR")" "paritytap proxy: $n_cap exchanges" \
    "the exit summary counts the $n_cap exchanges in the capture"
unlike "$(cat "$PROXY_ERR")" 'not recorded' "no exchange went unrecorded"
ok "the primary has read all the proxy sent" wait_for 10 backend_idle primary
is "$(backend_requests primary | jq -r .target | grep -c '^/late$')" 0 \
    "the proxy never forwarded the late request"

done_testing
