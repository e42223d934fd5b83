#!/bin/sh
# --self-check RATE: without a second copy, a sample of the mirrored safe
# requests (GET and HEAD, or the --mirror-methods ones when given) goes
# to the primary a second time, and that answer is recorded as
# responses.secondary with "self_check":true.  The sample is a count, not
# a coin: the n-th eligible request is sent twice when n * RATE reaches a
# new whole number, so with 0.5 the 2nd, 4th, 6th ...  A POST is never
# sent twice unless --mirror-methods lists it.  The client's answer and
# the verdict are the primary's and the candidate's, as without it.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

# No fixture: each backend echoes the request it got, under its name.
start_backend primary
start_backend candidate
PRI=http://127.0.0.1:$(backend_port primary)
CAN=http://127.0.0.1:$(backend_port candidate)

# nreq NAME ID: how many requests with that trace id the backend got.
nreq() {
	backend_requests "$1" | jq -c --arg id "$2" \
	    'select(any(.headers[]; .[0] == "X-Paritytap-Trace-Id" and
	    .[1] == $id))' | wc -l | tr -d ' '
}

# send NAME ID ARGS...: one request with a trace id of the test's.
send() {
	_sn=$1
	_sid=$2
	shift 2
	req "$_sn" -H "X-Paritytap-Trace-Id: $_sid" "$@"
}

# --- RATE 1: every GET and HEAD twice, a POST once ----------------------
CAP=$T/all.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --self-check 1 \
    --capture "$CAP" --ignore '$.name' || bail "the proxy did not start"
like "$(cat "$PROXY_ERR")" "candidate $CAN, self-check 1\\)" \
    "the start line says self-check 1"
send g1 sc-get-1 "$PROXY_URL/v1/items/1"
is "$HTTP_CODE" 200 "GET: 200"
is "$(printf '%s' "$BODY" | jq -r .name)" primary \
    "GET: the client got the primary's answer"
send g2 sc-get-2 "$PROXY_URL/v1/items/2?x=1"
send h1 sc-head-1 -I "$PROXY_URL/v1/items/3"
is "$HTTP_CODE" 200 "HEAD: 200"
send p1 sc-post-1 -X POST --data-binary '{"a":1}' "$PROXY_URL/v1/items"
is "$HTTP_CODE" 200 "POST: 200"
send d1 sc-del-1 -X DELETE "$PROXY_URL/v1/items/4"
is "$HTTP_CODE" 200 "DELETE: 200"
ok "five exchanges captured" wait_for 10 cap_has_id "$CAP" sc-del-1
for id in sc-get-1 sc-get-2 sc-head-1 sc-post-1 sc-del-1; do
	ok "$id captured" wait_for 10 cap_has_id "$CAP" "$id"
done
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"

for id in sc-get-1 sc-get-2 sc-head-1; do
	is "$(nreq primary $id)" 2 "$id: the primary got it twice"
	is "$(nreq candidate $id)" 1 "$id: the candidate got it once"
	is "$(cap_get "$CAP" $id .responses.secondary.self_check)" true \
	    "$id: responses.secondary is marked self_check"
	is "$(cap_get "$CAP" $id .responses.secondary.status)" 200 \
	    "$id: responses.secondary has the primary's second status"
	is "$(cap_get "$CAP" $id .verdict)" match "$id: verdict match"
done
# Both primary requests are the same bytes (the echo shows what came).
is "$(backend_requests primary | jq -c 'select(any(.headers[];
    .[1] == "sc-get-2")) | del(.ts_ms, .conn)' | sort -u | wc -l | tr -d ' ')" \
    1 "the primary got the same request both times"
is "$(cap_get "$CAP" sc-get-2 .responses.secondary.body)" \
    "$(cap_get "$CAP" sc-get-2 .responses.primary.body)" \
    "responses.secondary is the primary's answer"
for id in sc-post-1 sc-del-1; do
	is "$(nreq primary $id)" 1 "$id: the primary got it once, never twice"
	is "$(nreq candidate $id)" 1 "$id: the candidate got it"
	is "$(cap_get "$CAP" $id '.responses | has("secondary")')" false \
	    "$id: no responses.secondary"
done

# --- RATE 0.5: the 2nd, 4th and 6th GET; a POST between does not count --
CAP2=$T/half.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --self-check 0.5 \
    --capture "$CAP2" || bail "the proxy did not start"
for i in 1 2 3; do
	send h$i half-$i "$PROXY_URL/v1/half/$i"
done
send hp half-post -X POST --data-binary x "$PROXY_URL/v1/half"
for i in 4 5 6; do
	send h$i half-$i "$PROXY_URL/v1/half/$i"
done
ok "seven exchanges captured" wait_for 10 sh -c \
    "[ \$(wc -l <'$CAP2') -ge 7 ]"
stop_proxy
got=
for i in 1 2 3 4 5 6; do
	[ "$(cap_get "$CAP2" half-$i '.responses.secondary.self_check')" = \
	    true ] && got="$got $i"
done
is "$got" " 2 4 6" "RATE 0.5: the 2nd, 4th and 6th GET were self-checked"
n=0
for i in 1 2 3 4 5 6; do
	n=$((n + $(nreq primary half-$i)))
done
is "$n" 9 "RATE 0.5: the primary got 6 GETs and 3 second ones"
is "$(nreq primary half-post)" 1 "RATE 0.5: the POST once"

# --- --mirror-methods says which methods may go twice -------------------
CAP3=$T/methods.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --self-check 1 \
    --mirror-methods GET,PUT --capture "$CAP3" ||
    bail "the proxy did not start"
send m1 mm-put -X PUT --data-binary y "$PROXY_URL/v1/m/1"
send m2 mm-head -I "$PROXY_URL/v1/m/2"
send m3 mm-get "$PROXY_URL/v1/m/3"
ok "three exchanges captured" wait_for 10 sh -c \
    "[ \$(wc -l <'$CAP3') -ge 3 ]"
stop_proxy
is "$(nreq primary mm-put)" 2 "--mirror-methods GET,PUT: a PUT twice"
is "$(cap_get "$CAP3" mm-put .responses.secondary.self_check)" true \
    "--mirror-methods GET,PUT: the PUT's second answer is marked"
is "$(nreq primary mm-head)" 1 \
    "--mirror-methods GET,PUT: a HEAD (not mirrored) once"
is "$(nreq candidate mm-head)" 0 \
    "--mirror-methods GET,PUT: the HEAD not mirrored to the candidate"
is "$(nreq primary mm-get)" 2 "--mirror-methods GET,PUT: a GET twice"

# --- the config file's key ----------------------------------------------
CAP4=$T/config.jsonl
printf '[proxy]\nself-check = 100%%\n' >"$T/pt.conf"
start_proxy --primary "$PRI" --candidate "$CAN" --config "$T/pt.conf" \
    --capture "$CAP4" || bail "the proxy did not start"
send c1 conf-1 "$PROXY_URL/v1/c"
ok "config: captured" wait_for 10 cap_has_id "$CAP4" conf-1
stop_proxy
is "$(nreq primary conf-1)" 2 "self-check = 100% in [proxy]: a GET twice"

# --- the reader: report and replay read self_check back ----------------
"$PARITYTAP" report --format json "$CAP" >"$T/report.json" 2>"$T/report.err"
is "$?" 0 "report reads a capture with self_check"

# --- usage errors --------------------------------------------------------
usage() {	# usage NAME ARGS...: a proxy that must not start
	_n=$1
	shift
	"$PARITYTAP" proxy --listen 127.0.0.1:0 --primary "$PRI" \
	    --candidate "$CAN" "$@" >"$T/$_n.out" 2>"$T/$_n.err" </dev/null
	ST=$?
	ERR=$(cat "$T/$_n.err")
}
for bad in 0 0.0000001 1.5 -0.2 abc 101%; do
	usage "rate$bad" --self-check "$bad"
	is "$ST" 2 "--self-check $bad: exit 2"
	like "$ERR" "^paritytap proxy: --self-check: '$bad' is not" \
	    "--self-check $bad: the message names the option and the value"
done
printf '[proxy]\nself-check = 2\n' >"$T/bad.conf"
usage conf --config "$T/bad.conf"
is "$ST" 2 "self-check = 2 in the config: exit 2"
like "$ERR" "--self-check: '2' is not" \
    "self-check = 2 in the config: the message names the key"

"$PARITYTAP" proxy --help >"$T/help.out"
like "$(cat "$T/help.out")" "^      --self-check RATE " "--help lists --self-check"

done_testing
