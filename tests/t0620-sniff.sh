#!/bin/sh
# paritytap sniff: passive shadowing on the loopback interface.  A client
# talks to the primary directly; sniff watches the traffic with libpcap,
# sends each request it sees to the candidate and compares the answers:
# the six validator requests (6/6 status, five shape drifts), a
# keep-alive connection carrying several requests, traffic on another
# port left alone, the skips, the exit counts.  Capturing needs root or
# CAP_NET_RAW; without, only the usage errors and the permission error
# are checked.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-sniff.sh"
need curl jq timeout
need_binaries

PFIX=$FIXTURES/validator-primary.json
CFIX=$FIXTURES/validator-candidate.json
CASES="schema_field schema_type completeness consistency policy valid"

# run NAME ARGS...: run paritytap (bounded to 10 s), stdout/stderr to
# $T/NAME.out/.err; sets ST and ERR.
run() {
	_n=$1
	shift
	timeout 10 "$PARITYTAP" "$@" >"$T/$_n.out" 2>"$T/$_n.err" </dev/null
	ST=$?
	ERR=$(cat "$T/$_n.err")
}

# --- usage errors: exit 2 before any capture is opened ---
run noiface sniff --port 80 --candidate http://127.0.0.1:1
is "$ST" 2 "no --interface: exit 2"
contains "$ERR" "--interface IFACE is required" "... the error says so"
run noport sniff -i lo --candidate http://127.0.0.1:1
is "$ST" 2 "no --port: exit 2"
contains "$ERR" "--port N is required" "... the error says so"
run nocand sniff -i lo --port 80
is "$ST" 2 "no --candidate: exit 2"
contains "$ERR" "--candidate URL is required" "... the error says so"
run port0 sniff -i lo --port 0 --candidate http://127.0.0.1:1
is "$ST" 2 "--port 0: exit 2"
like "$ERR" "^paritytap sniff: --port: '0' is not" "... the error names --port"
run portbig sniff -i lo --port 70000 --candidate http://127.0.0.1:1
is "$ST" 2 "--port 70000: exit 2"
run badurl sniff -i lo --port 80 --candidate ftp://127.0.0.1:1
is "$ST" 2 "an ftp:// candidate: exit 2"
contains "$ERR" "--candidate ftp://127.0.0.1:1" "... the error names the URL"
run primary sniff -i lo --port 80 --primary http://127.0.0.1:1 \
    --candidate http://127.0.0.1:2
is "$ST" 2 "--primary: exit 2 (the primary is what is watched)"
run stats sniff -i lo --port 80 --candidate http://127.0.0.1:1 \
    --stats-interval x
is "$ST" 2 "--stats-interval x: exit 2"
run buffer sniff -i lo --port 80 --candidate http://127.0.0.1:1 \
    --buffer-size 1k
is "$ST" 2 "--buffer-size 1k: exit 2"
contains "$ERR" "--buffer-size: '1k' is not from 64K to 2G" \
    "... the error names the option and the range"
printf '[sniff]\ninterface = lo\nlisten = 127.0.0.1:0\n' >"$T/bad.ini"
run badini sniff --config "$T/bad.ini" --port 80 \
    --candidate http://127.0.0.1:1
is "$ST" 2 "--config with a key sniff does not take: exit 2"
like "$ERR" "bad.ini:3: .*listen" "... the error names file:line and the key"
run help sniff --help
is "$ST" 0 "--help: exit 0"
contains "$(cat "$T/help.out")" "--stats-interval SECS" \
    "--help lists --stats-interval"

# --- privileges ---

# check_denied NAME: the permission error of run NAME.
check_denied() {
	is "$ST" 3 "without CAP_NET_RAW: exit 3"
	contains "$ERR" "cannot capture on lo: permission denied" \
	    "... the error names the interface and says permission denied"
	contains "$ERR" "needs root or the CAP_NET_RAW capability" \
	    "... and says what it needs"
	contains "$ERR" "setcap cap_net_raw+ep" "... and how to grant it"
}
if [ "$(id -u)" -ne 0 ]; then
	run denied sniff -i lo --port 80 --candidate http://127.0.0.1:1
	if [ "$ST" -eq 3 ]; then
		check_denied
	else
		skip "this user may capture (CAP_NET_RAW on the binary?)"
	fi
elif command -v setpriv >/dev/null 2>&1 && id nobody >/dev/null 2>&1 &&
    setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
    -- test -x "$PARITYTAP" 2>/dev/null; then
	timeout 10 setpriv --reuid=nobody --regid="$(id -g nobody)" \
	    --clear-groups -- "$PARITYTAP" sniff -i lo --port 80 \
	    --candidate http://127.0.0.1:1 >"$T/denied.out" \
	    2>"$T/denied.err" </dev/null
	ST=$?
	ERR=$(cat "$T/denied.err")
	check_denied
else
	skip "cannot run the binary as user nobody (setpriv, or the path)"
fi

need_capture

run nosuch sniff -i paritytap-no0 --port 80 --candidate http://127.0.0.1:1
is "$ST" 2 "an unknown interface: exit 2"
contains "$ERR" "--interface paritytap-no0: no such interface" \
    "... the error names the interface"

# --- sniffing ---
# fixture_field FIXTURE CASE FIELD: a route's field for one case.
fixture_field() {
	jq -r --arg m "\"case\":\"$2\"" \
	    ".routes[] | select(.body_contains == \$m) | .$3" "$1"
}

start_backend primary "$PFIX"
PPORT=$BACKEND_PORT
start_backend candidate "$CFIX"
CURL="http://127.0.0.1:$(backend_port candidate)"
CAP=$T/capture.jsonl
start_sniff --port "$PPORT" --candidate "$CURL" --capture "$CAP" \
    --events "$T/events.jsonl" || bail "sniff did not start"
like "$(cat "$SNIFF_ERR")" "^sniff: listening on lo \\(tcp port $PPORT\\)" \
    "sniff says it is listening on lo, and on which port"

for c in $CASES; do
	printf '{"case":"%s","input":{"claim":"the sky is blue"}}' "$c" \
	    >"$T/$c.req"
	req "$c" -X POST -H 'Content-Type: application/json' \
	    --data-binary "@$T/$c.req" "http://127.0.0.1:$PPORT/v1/validate"
	is "$HTTP_CODE" "$(fixture_field "$PFIX" "$c" status)" \
	    "$c: the client got the primary's answer, directly"
done
# cap_nlines_ge FILE N: the capture has at least N lines.
cap_nlines_ge() {
	[ "$(cap_nlines "$1")" -ge "$2" ]
}
wait_for 10 backend_nrequests_ge candidate 6
wait_for 10 cap_nlines_ge "$CAP" 6
stop_sniff INT
is "$SNIFF_STATUS" 0 "SIGINT: sniff exits 0"
E=$(cat "$SNIFF_ERR")

# The live flags.
DL=$(grep '^DIVERGE ' "$SNIFF_ERR")
is "$(printf '%s\n' "$DL" | grep -c '^DIVERGE shape POST /v1/validate id=')" \
    5 "five 'DIVERGE shape POST /v1/validate' lines"
is "$(printf '%s\n' "$DL" | grep -c '^DIVERGE')" 5 "no other DIVERGE line"
like "$DL" ' status 422=422 .*\$\.Policy missing\(candidate\)' \
    "the policy drift: status 422=422, \$.Policy missing on the candidate"

# The exit counts.
contains "$E" "paritytap sniff: 6 exchanges: 6/6 status match · 1/6 shape match · 5 shape divergences · 0 errors" \
    "the exit summary: 6/6 status, 1/6 shape, 5 shape divergences"
like "$E" '^paritytap sniff: [0-9]+ packets received, [0-9]+ dropped by the kernel, [0-9]+ by the interface$' \
    "the exit prints the pcap counts"
pkts=$(sed -n 's/^paritytap sniff: \([0-9]*\) packets received.*/\1/p' "$SNIFF_ERR" |
    tail -n 1)
cmp_ok "${pkts:-0}" -ge 36 "at least 6 packets per exchange were received"

# The capture.
ok "the capture is valid JSONL" cap_valid "$CAP"
is "$(cap_nlines "$CAP")" 6 "the capture has 6 lines"
is "$(jq -s '[.[] | select(.paritytap == 1 and .source == "sniff" and
    .route == "POST /v1/validate")] | length' "$CAP")" 6 \
    "every line has source sniff and route 'POST /v1/validate'"
is "$(jq -s '[.[] | select(.verdict == "shape")] | length' "$CAP")" 5 \
    "5 exchanges with verdict shape"
is "$(jq -s '[.[] | select(.verdict == "match")] | length' "$CAP")" 1 \
    "1 exchange with verdict match"
for c in $CASES; do
	line=$(jq -c --arg b "$(cat "$T/$c.req")" \
	    'select(.request.body == $b)' "$CAP")
	is "$(printf '%s' "$line" | jq -r '.request.method + " " +
	    .request.target')" "POST /v1/validate" \
	    "$c: the capture records the observed request"
	is "$(printf '%s' "$line" | jq -r .responses.primary.body)" \
	    "$(fixture_field "$PFIX" "$c" body)" \
	    "$c: the primary's response as seen on the wire"
	is "$(printf '%s' "$line" | jq -r .responses.candidate.body)" \
	    "$(fixture_field "$CFIX" "$c" body)" \
	    "$c: the candidate's response"
	eval "id_$c=\$(printf '%s' \"\$line\" | jq -r .id)"
done
is "$(jq -r --arg id "$id_valid" 'select(.id == $id) | .verdict' "$CAP")" \
    match "valid: verdict match"
is "$(jq -r --arg id "$id_policy" 'select(.id == $id) |
    [.diffs[] | .kind + " " + .path] | sort | join(",")' "$CAP")" \
    'extra $.Kind,extra $.Reason,missing $.Policy' \
    "policy: the capture lists its diffs"
like "$id_policy" "$MINTED_ID_RE" "an id is minted for a request without one"
is "$(jq -s length "$T/events.jsonl")" 5 "--events: the 5 divergent exchanges"

# The candidate got each request once, with the capture's id.
is "$(backend_nrequests candidate)" 6 "the candidate received 6 requests"
is "$(backend_requests candidate | jq -r .body | sort | md5sum)" \
    "$(backend_requests primary | jq -r .body | sort | md5sum)" \
    "... the same bodies the primary received"
is "$(backend_requests candidate | jq -r --arg h "$TRACE_HEADER" \
    '.headers[] | select(.[0] == $h) | .[1]' | sort | tr '\n' ' ')" \
    "$(jq -r .id "$CAP" | sort | tr '\n' ' ')" \
    "... each carrying the capture line's id in $TRACE_HEADER"
is "$(backend_nrequests primary)" 6 "the primary received only the client's 6"

# --- a keep-alive connection; traffic on another port ---
start_backend other "$PFIX"
OPORT=$BACKEND_PORT
CAP2=$T/keepalive.jsonl
start_sniff --port "$PPORT" --candidate "$CURL" --capture "$CAP2" \
    --count 3 --stats-interval 0 || bail "sniff did not start (keep-alive)"
n0=$(backend_nrequests candidate)
a0=$(backend_events primary '.event == "accept"' | wc -l | tr -d ' ')
req other -X POST --data-binary '{"case":"valid","input":{"via":"other"}}' \
    "http://127.0.0.1:$OPORT/v1/validate"
is "$HTTP_CODE" 200 "a request to a port not sniffed"
curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -o /dev/null \
    -X POST --data-binary "@$T/policy.req" \
    "http://127.0.0.1:$PPORT/v1/validate" \
    --next -o /dev/null -X POST --data-binary "@$T/valid.req" \
    "http://127.0.0.1:$PPORT/v1/validate" \
    --next -o /dev/null -X POST --data-binary "@$T/completeness.req" \
    "http://127.0.0.1:$PPORT/v1/validate" 2>"$T/ka.curlerr"
is "$?" 0 "three requests on one keep-alive connection"
is "$(backend_events primary '.event == "accept"' | wc -l | tr -d ' ')" \
    "$((a0 + 1))" "... the primary accepted one connection for them"
wait_pid "$SNIFF_PID" 20
is "$WAIT_STATUS" 0 "--count 3: sniff exits 0 by itself"
is "$(cap_nlines "$CAP2")" 3 "the three exchanges are captured"
is "$(jq -r '.request.body' "$CAP2" | tr '\n' ' ')" \
    "$(cat "$T/policy.req") $(cat "$T/valid.req") $(cat "$T/completeness.req") " \
    "... in the order they were sent"
is "$(jq -r .verdict "$CAP2" | tr '\n' ' ')" "shape match shape " \
    "... each paired with its own response"
is "$(($(backend_nrequests candidate) - n0))" 3 \
    "the candidate got the three, not the other port's request"
is "$(grep -c '"via":"other"' "$CAP2")" 0 \
    "the other port's request is not in the capture"
contains "$(cat "$SNIFF_ERR")" "paritytap sniff: 3 exchanges:" \
    "the exit summary counts 3 exchanges"

# --- pipelining; a connection opened before sniff started ---
CAP5=$T/pipelined.jsonl
# The connection's first request goes before sniff starts watching.
if command -v python3 >/dev/null 2>&1; then
	python3 - "$PPORT" "$T" "$T/schema_type.req" "$T/consistency.req" \
	    "$PT_WAIT_MIN" >"$T/early.out" 2>&1 <<'PY' &
import http.client, os, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]),
    timeout=int(sys.argv[5]))
def send(path):
    c.request("POST", "/v1/validate", body=open(path, "rb").read())
    r = c.getresponse()
    r.read()
    print(r.status, flush=True)
send(sys.argv[3])
open(sys.argv[2] + "/early.ready", "w").close()
while not os.path.exists(sys.argv[2] + "/early.go"):
    time.sleep(0.05)
send(sys.argv[4])
send(sys.argv[4])
PY
	early_pid=$!
	track "$early_pid"
	wait_for 10 [ -e "$T/early.ready" ]
fi
start_sniff --port "$PPORT" --candidate "$CURL" --capture "$CAP5" \
    --count 5 --stats-interval 0 || bail "sniff did not start (pipelining)"
n0=$(backend_nrequests candidate)
# The last one asks to close: rawclient reads until the backend closes
# after the third response (its timeout only bounds a failure).
{
	for c in schema_field valid policy; do
		printf 'POST /v1/validate HTTP/1.1\r\nHost: x\r\n'
		[ "$c" = policy ] && printf 'Connection: close\r\n'
		printf 'Content-Length: %s\r\n\r\n' "$(wc -c <"$T/$c.req")"
		cat "$T/$c.req"
	done
} | "$RAWCLIENT" 127.0.0.1 "$PPORT" --timeout $((PT_WAIT_MIN * 1000)) \
    >"$T/pipe.out" 2>"$T/pipe.err"
is "$(grep -o 'HTTP/1.1 [0-9]*' "$T/pipe.out" | wc -l | tr -d ' ')" 3 \
    "three pipelined requests in one write, three responses"
if [ -n "${early_pid:-}" ]; then
	: >"$T/early.go"
	wait_pid "$early_pid" 20
	is "$(tr '\n' ' ' <"$T/early.out")" "422 422 422 " \
	    "a keep-alive connection opened before sniff: three requests"
else
	skip "python3 not installed: no connection opened before sniff"
	printf 'POST /v1/validate HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %s\r\n\r\n%s' \
	    "$(wc -c <"$T/consistency.req")" "$(cat "$T/consistency.req")" |
	    "$RAWCLIENT" 127.0.0.1 "$PPORT" --timeout $((PT_WAIT_MIN * 1000)) \
	    >/dev/null
	printf 'POST /v1/validate HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %s\r\n\r\n%s' \
	    "$(wc -c <"$T/consistency.req")" "$(cat "$T/consistency.req")" |
	    "$RAWCLIENT" 127.0.0.1 "$PPORT" --timeout $((PT_WAIT_MIN * 1000)) \
	    >/dev/null
fi
wait_pid "$SNIFF_PID" 20
is "$WAIT_STATUS" 0 "--count 5: exit 0"
is "$(jq -r '.request.body | fromjson | .case' "$CAP5" | sort | tr '\n' ' ')" \
    "consistency consistency policy schema_field valid " \
    "the pipelined three, and the two sent on the older connection after sniff started"
is "$(jq -s '[.[] | select(.responses.primary.body ==
    .responses.candidate.body or .verdict == "shape")] | length' "$CAP5")" 5 \
    "each paired with its own response"
is "$(jq -r 'select(.request.body | fromjson | .case == "valid") | .verdict' \
    "$CAP5")" match "the pipelined valid case: match"
is "$(($(backend_nrequests candidate) - n0))" 5 "the candidate got the five"

# --- a request and a response over many segments ---
CAP4=$T/large.jsonl
start_sniff --port "$PPORT" --candidate "$CURL" --capture "$CAP4" \
    --count 1 --stats-interval 0 || bail "sniff did not start (large)"
pad=$(head -c 300000 /dev/zero | tr '\0' x)
printf '{"case":"valid","input":{"pad":"%s"}}' "$pad" >"$T/large.req"
req large -X POST -H 'Content-Type: application/json' \
    --data-binary "@$T/large.req" "http://127.0.0.1:$PPORT/v1/validate"
is "$HTTP_CODE" 200 "a 300 kB request to the primary"
wait_pid "$SNIFF_PID" 20
is "$WAIT_STATUS" 0 "--count 1: exit 0"
is "$(jq -r '.verdict + " " + (.request.body_bytes | tostring)' "$CAP4")" \
    "match $(wc -c <"$T/large.req" | tr -d ' ')" \
    "the 300 kB request is reassembled whole and compared: match"
is "$(backend_requests candidate | tail -n 1 | jq -r '.body | length')" \
    "$(wc -c <"$T/large.req" | tr -d ' ')" \
    "... and the candidate got all of its body"

# --- --mirror-methods: the rest is recorded as skipped ---
CAP3=$T/skipped.jsonl
start_sniff --port "$PPORT" --candidate "$CURL" --capture "$CAP3" \
    --mirror-methods GET --count 1 || bail "sniff did not start (skips)"
n0=$(backend_nrequests candidate)
req skip -X POST --data-binary "@$T/valid.req" \
    "http://127.0.0.1:$PPORT/v1/validate"
wait_pid "$SNIFF_PID" 20
is "$WAIT_STATUS" 0 "--mirror-methods GET --count 1: exit 0"
is "$(jq -r '.verdict + " " + .skip_reason' "$CAP3")" "skipped method" \
    "a POST is recorded as skipped, reason method"
is "$(jq -r '.responses.primary.status' "$CAP3")" 200 \
    "... with the primary's response it got"
is "$(backend_nrequests candidate)" "$n0" "... and not sent to the candidate"

# --- --duration, --stats-interval, an unreachable candidate ---
start_sniff --port "$PPORT" --candidate "http://127.0.0.1:1" \
    --duration 3 --stats-interval 1 --candidate-timeout 1000 \
    --capture "$T/down.jsonl" || bail "sniff did not start (duration)"
req down -X POST --data-binary "@$T/valid.req" \
    "http://127.0.0.1:$PPORT/v1/validate"
wait_pid "$SNIFF_PID" 20
is "$WAIT_STATUS" 0 "--duration 3: sniff exits 0 by itself"
cmp_ok "$(grep -c '^paritytap sniff: [0-9]* packets received' "$SNIFF_ERR")" -ge 3 \
    "--stats-interval 1: the counts every second, and at exit"
is "$(jq -r '.verdict + " " + .responses.candidate.error' "$T/down.jsonl")" \
    "candidate_error connect" \
    "a candidate that refuses: candidate_error, connect"

# --- the config file: [sniff] and [route] sections ---
cat >"$T/sniff.ini" <<EOF
[sniff]
interface = lo
port = $PPORT
candidate = $CURL
count = 1
capture = $T/config.jsonl

[route "POST /v1/validate"]
ignore = \$..Kind
ignore = \$..Reason
ignore = \$..Policy
EOF
"$PARITYTAP" sniff --config "$T/sniff.ini" --stats-interval 0 \
    >"$T/config.out" 2>"$T/config.err" </dev/null &
cfg_pid=$!
track "$cfg_pid"
wait_for 10 grep -q '^sniff: listening on lo ' "$T/config.err"
req config -X POST --data-binary "@$T/policy.req" \
    "http://127.0.0.1:$PPORT/v1/validate"
wait_pid "$cfg_pid" 20
is "$WAIT_STATUS" 0 "--config: interface, port, candidate and count from [sniff]"
is "$(jq -r .verdict "$T/config.jsonl" 2>/dev/null)" match \
    "... and the route's ignores apply: the policy drift is a match"

# --- SIGINT right after the response: the packets still buffered count ---
start_sniff --port "$PPORT" --candidate "$CURL" --capture "$T/last.jsonl" \
    --stats-interval 0 || bail "sniff did not start (last packets)"
req last -X POST --data-binary "@$T/schema_field.req" \
    "http://127.0.0.1:$PPORT/v1/validate"
stop_sniff INT
is "$SNIFF_STATUS" 0 "SIGINT at once: exit 0"
is "$(jq -r .verdict "$T/last.jsonl" 2>/dev/null)" shape \
    "the exchange that ended just before SIGINT is still compared"

# --- at exit, a candidate that never answers gets --grace ---
if command -v python3 >/dev/null 2>&1; then
	python3 -c '
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held = []
while True:
    c = s.accept()[0]
    held.append(c)
    c.recv(1)
    open(sys.argv[2], "a").write("got bytes\n")
' "$T/silent.port" "$T/silent.got" 2>/dev/null &
	track $!
	wait_for 10 [ -s "$T/silent.port" ]
	# The candidate deadline is an hour: only --grace can end the wait.
	start_sniff --port "$PPORT" \
	    --candidate "http://127.0.0.1:$(cat "$T/silent.port")" \
	    --grace 500 --candidate-timeout 3600000 \
	    --capture "$T/silent.jsonl" ||
	    bail "sniff did not start (silent candidate)"
	req silent -X POST --data-binary "@$T/valid.req" \
	    "http://127.0.0.1:$PPORT/v1/validate"
	ok "the silent candidate got the mirrored request" \
	    wait_for 30 test -s "$T/silent.got"
	stop_sniff INT
	is "$SNIFF_STATUS" 0 \
	    "a silent candidate: SIGINT still exits 0 (after --grace 500, not the hour-long candidate timeout)"
	is "$(jq -r '.verdict + " " + .responses.candidate.error' \
	    "$T/silent.jsonl")" "candidate_error timeout" \
	    "the exchange still waiting is recorded: candidate_error, timeout"
else
	skip "python3 not installed: no silent candidate"
fi

done_testing
