#!/bin/sh
# SIGTERM under load (DESIGN §7.6): the proxy stops accepting, finishes
# the exchanges in flight, flushes the capture and exits 0.  Every request
# that got an HTTP response has exactly one capture line, and no line is
# torn.
#
# No clock: the slow exchange is held by the primary (an hour, until
# released) and the grace period is two hours, so it is in flight for as
# long as the test needs; the late request is sent once the proxy has
# said it is stopping; each load loop runs until its first unanswered
# request, so SIGTERM comes mid-load by construction.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

BODY_OK='{"ok":true}'
start_slow_backends 50 100
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" --grace 7200000 || bail "the proxy did not start"
URL=$PROXY_URL

# loop N: sequential requests, each on its own connection, until the
# first that gets no response (the proxy has stopped accepting); the
# response headers of request I go to $T/l.N.I.hdr.  $T/l.N.last is the
# number of the last request sent.
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

# A request that is in flight when SIGTERM arrives (until released).
curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -D "$T/slow.hdr" -o "$T/slow.body" \
    "$URL/slow" 2>/dev/null &
slow_pid=$!
track "$slow_pid"

loops=
for n in 1 2 3 4 5 6 7 8; do
	loop "$n" &
	track $!
	loops="$loops $!"
done

ok "load is flowing (40 requests reached the primary)" \
    wait_for 30 backend_nrequests_ge primary 40
ok "the slow request is in flight" \
    wait_for 10 backend_has primary '.target == "/slow"'

kill -TERM "$PROXY_PID"
# The proxy prints this once every loop has stopped accepting: no new
# connection is looked at after it.
ok "the proxy says it is stopping" \
    wait_for 30 grep -q '^paritytap: SIGTERM: stopping' "$PROXY_ERR"
# While the slow exchange keeps the proxy in its grace period, a new
# client gets no HTTP response: the proxy has stopped accepting.  The
# slow exchange is released only once the late client waits for its
# answer (its request sits in a backlog the proxy no longer accepts from).
curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -o /dev/null \
    -w '%{http_code}' "$URL/late" >"$T/late.code" 2>/dev/null &
late_pid=$!
track "$late_pid"
ok "the late client waits for an answer" wait_for 30 asleep "$late_pid"
backend_release primary
wait_pid "$late_pid" 120
is "$(cat "$T/late.code")" 000 "after SIGTERM a new request gets no response"

wait_pid "$PROXY_PID" 30
is "$WAIT_STATUS" 0 "the proxy exits 0 after SIGTERM"
PROXY_PID=
for p in $loops; do
	wait_pid "$p" 120
done
wait_pid "$slow_pid" 30

is "$(head -n 1 "$T/slow.hdr" | tr -d '\r' | cut -d' ' -f2)" 200 \
    "the request in flight at SIGTERM got its 200"
is "$(cat "$T/slow.body")" "$BODY_OK" "... with the primary's body"
slow_id=$(header_of "$T/slow.hdr" "$TRACE_HEADER")

# Every response the clients got, by trace id.
: >"$T/answered"
: >"$T/statuses"
for f in "$T"/l.*.hdr; do
	[ -s "$f" ] || continue
	head -n 1 "$f" | tr -d '\r' | cut -d' ' -f2 >>"$T/statuses"
	header_of "$f" "$TRACE_HEADER" >>"$T/answered"
done
echo "$slow_id" >>"$T/answered"
n_answered=$(grep -c . "$T/answered")
cmp_ok "$n_answered" -ge 41 "at least 41 requests were answered"
n_sent=$(cat "$T"/l.*.last | awk '{ n += $1 } END { print n }')
is "$((n_answered - 1))" "$((n_sent - 8))" \
    "SIGTERM came mid-load: each loop's requests were answered but its last"
ok "the primary has read all the proxy sent" \
    wait_for 10 backend_idle primary
is "$(backend_requests primary | jq -r .target | grep -c '^/late$')" 0 \
    "the proxy never forwarded the late request"
is "$(grep -vc '^200$' "$T/statuses")" 0 \
    "every answered request got 200 (in-flight exchanges were finished)"
is "$(grep -c '^$' "$T/answered")" 0 "every response carried a trace id"

ok "the capture has no torn line" cap_valid "$CAP"
jq -r .id "$CAP" | sort >"$T/captured"
is "$(uniq -d "$T/captured" | wc -l | tr -d ' ')" 0 \
    "no trace id has two capture lines"
sort "$T/answered" >"$T/answered.sorted"
missing=$(comm -23 "$T/answered.sorted" "$T/captured")
is "$(printf '%s' "$missing" | grep -c .)" 0 \
    "every answered request has its capture line"
[ -z "$missing" ] || diag "answered but not captured:" "$missing"
cmp_ok "$(cap_nlines "$CAP")" -ge "$n_answered" \
    "at least as many capture lines as responses"
is "$(jq -r --arg id "$slow_id" 'select(.id == $id) | .verdict' "$CAP")" \
    match "the slow exchange was finished on both sides (match)"
jq -r 'select(.verdict != "match") | .id + " " + .verdict' "$CAP" | sort |
    join - "$T/answered.sorted" >"$T/unfinished"
is "$(grep -c . "$T/unfinished")" 0 \
    "every answered exchange was finished on both sides (match)"
[ -s "$T/unfinished" ] && diag "answered, not match:" "$(head "$T/unfinished")"
like "$(cat "$PROXY_ERR")" '^paritytap proxy: [0-9]+ exchanges' \
    "the proxy printed its exit summary"

done_testing
