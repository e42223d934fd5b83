#!/bin/sh
# --candidate-header 'NAME: VALUE' (repeatable) and --candidate-host NAME
# (proxy, replay, sniff; config keys of the same names): the candidate's
# copy of each request carries them, in place of the request's own of the
# same name; the primary and the secondary (a copy of the primary) get the
# request as it was.  A header that frames the request, a malformed one,
# and Host (--candidate-host is for that) are usage errors naming it.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-sniff.sh"
need curl jq timeout
need_binaries

jq -n '{default: {status: 200, headers: [["Content-Type", "application/json"]],
    body: "{\"ok\":true}"}}' >"$T/b.json"
start_backend primary "$T/b.json"
start_backend candidate "$T/b.json"
start_backend secondary "$T/b.json"
PRI=http://127.0.0.1:$(backend_port primary)
CAN=http://127.0.0.1:$(backend_port candidate)
SEC=http://127.0.0.1:$(backend_port secondary)
CAP=$T/capture.jsonl

# request_of NAME ID: the request (method, target, headers in order, body)
# a backend received with that trace id.
request_of() {
	backend_requests "$1" | jq -c --arg id "$2" \
	    'select(any(.headers[]; .[0] == "X-Paritytap-Trace-Id" and
	    .[1] == $id)) | [.method, .target, .headers, .body]'
}

# swapped ID EXTRA: the primary's request with the headers named in EXTRA
# (a JSON array of [name, value]) taken out and EXTRA appended, in order:
# what the candidate must have received.
swapped() {
	request_of primary "$1" | jq -c --argjson x "$2" '
	    ($x | map(.[0] | ascii_downcase)) as $names |
	    .[2] = ([.[2][] | select((.[0] | ascii_downcase) as $n |
	    $names | index($n) | not)] + $x)'
}

# --- proxy ------------------------------------------------------------------
start_proxy --primary "$PRI" --candidate "$CAN" --secondary "$SEC" \
    --capture "$CAP" --candidate-header 'X-Shadow: 1' \
    --candidate-header 'authorization:   Bearer test-token  ' \
    --candidate-host shadow.internal ||
    bail "the proxy did not start"
req one -X POST -H 'Authorization: Bearer real-token' \
    -H 'X-Kept: yes' --data-binary '{"a":1}' "$PROXY_URL/pay?x=1"
is "$HTTP_CODE" 200 "proxy: the client got the primary's 200"
ID=$TRACE
ok "proxy: the capture line is written" wait_for 10 cap_has_id "$CAP" "$ID"
P=$(request_of primary "$ID")
like "$P" '\["Authorization","Bearer real-token"\]' \
    "proxy: the primary got the client's Authorization"
unlike "$P" 'X-Shadow|shadow.internal|test-token' \
    "proxy: the primary got none of the candidate's headers"
is "$(request_of secondary "$ID")" "$P" \
    "proxy: the secondary got the primary's request, byte for byte"
is "$(request_of candidate "$ID")" "$(swapped "$ID" '[["X-Shadow", "1"],
    ["authorization", "Bearer test-token"], ["Host", "shadow.internal"]]')" \
    "proxy: the candidate got the request with its own three in place"
is "$(cap_get "$CAP" "$ID" '.request.headers[] | select(.name == "Host") |
    .value')" "127.0.0.1:$PROXY_PORT" \
    "proxy: the capture keeps the client's Host"
stop_proxy

# From the config file; a later value of a name replaces an earlier one.
printf '[proxy]\ncandidate-header = X-Mode: shadow\ncandidate-header = x-mode: dry-run\ncandidate-host = cfg.internal\n' \
    >"$T/p.conf"
start_proxy --primary "$PRI" --candidate "$CAN" --config "$T/p.conf" ||
    bail "the proxy did not start with the config file"
req two "$PROXY_URL/cfg"
is "$HTTP_CODE" 200 "config: 200"
ID2=$TRACE
ok "config: the candidate received it" \
    wait_for 10 backend_has candidate '.event == "request" and .target == "/cfg"'
is "$(request_of candidate "$ID2")" "$(swapped "$ID2" '[["X-Mode", "dry-run"],
    ["Host", "cfg.internal"]]')" \
    "config: the candidate got the keys' headers, the later value"
stop_proxy

# --- replay -----------------------------------------------------------------
IN=$T/in.jsonl
jq -cn '{paritytap: 1, id: "rp-1", ts: "2026-05-02T10:00:00.000000Z",
    source: "proxy", request: {method: "GET", target: "/r/1", version: "1.1",
    headers: [{name: "Host", value: "api.example"},
    {name: "X-Mode", value: "live"}], body: "", body_bytes: 0},
    responses: {primary: {status: 200, headers: [{name: "Content-Type",
    value: "application/json"}], body: "{\"ok\":true}", body_bytes: 11,
    ms: 1}}, verdict: "recorded", diffs: []}' >"$IN"
"$PARITYTAP" replay --primary "$PRI" --candidate "$CAN" \
    --candidate-header 'X-Mode: shadow' --candidate-host replay.internal \
    --capture "$T/replay.jsonl" "$IN" >"$T/replay.out" 2>"$T/replay.err"
is "$?" 0 "replay: exit 0"
RID=$(jq -r .id "$T/replay.jsonl")
is "$(request_of candidate "$RID" | jq -c '.[2] | map(select(.[0] |
    test("^(host|x-mode)$"; "i")))')" \
    '[["X-Mode","shadow"],["Host","replay.internal"]]' \
    "replay: the candidate got X-Mode and Host of its own"
is "$(request_of primary "$RID" | jq -c '.[2] | map(select(.[0] |
    test("^(host|x-mode)$"; "i")))')" \
    '[["Host","api.example"],["X-Mode","live"]]' \
    "replay: the primary got the recorded ones"
is "$(request_of candidate "$RID" | jq -c 'del(.[2])')" \
    "$(request_of primary "$RID" | jq -c 'del(.[2])')" \
    "replay: method, target and body the same for both"

# --- usage errors -----------------------------------------------------------
usage() {	# usage NAME ARGS...: a proxy that must not start
	_n=$1
	shift
	"$PARITYTAP" proxy --listen 127.0.0.1:0 --primary "$PRI" \
	    --candidate "$CAN" "$@" >"$T/$_n.out" 2>"$T/$_n.err" </dev/null
	ST=$?
	ERR=$(cat "$T/$_n.err")
}
check() {	# check NAME VALUE ERE: --candidate-header VALUE is refused
	usage "$1" --candidate-header "$2"
	is "$ST" 2 "--candidate-header '$1': exit 2"
	like "$ERR" "^paritytap proxy: --candidate-header: $3" \
	    "--candidate-header '$1': the message names what is wrong"
}
check nocolon 'X-Shadow 1' "'X-Shadow 1': no colon \\(NAME: VALUE\\)"
check emptyname ': 1' "'' is not a header name"
check space 'X Shadow: 1' "'X Shadow' is not a header name"
check spacebefore 'X-Shadow : 1' "'X-Shadow ' is not a header name"
check cr "$(printf 'X-Shadow: 1\rX-Evil: 2')" \
    "X-Shadow: the value holds a control character"
check lf "$(printf 'X-Shadow: 1\nX-Evil: 2')" \
    "X-Shadow: the value holds a control character"
check host 'Host: evil.example' "Host: use --candidate-host"
for h in Connection Transfer-Encoding Content-Length Keep-Alive TE Upgrade \
    Trailer Expect Proxy-Authorization; do
	check "$h" "$h: x" "$h frames the request on its hop; it cannot be set"
done
for bad in 'empty|' 'space|a b' "crlf|$(printf 'a\r\nX: y')" 'slash|a/b'; do
	usage host --candidate-host "${bad#*|}"
	is "$ST" 2 "--candidate-host ${bad%%|*}: exit 2"
	like "$ERR" "^paritytap proxy: --candidate-host: '" \
	    "--candidate-host ${bad%%|*}: the message names the option"
done
like "$ERR" "'a/b' is not a host name" "--candidate-host: says why"
"$PARITYTAP" replay --candidate "$CAN" --candidate-header 'X' "$IN" \
    >"$T/ru.out" 2>"$T/ru.err"
is "$?" 2 "replay: a bad --candidate-header is exit 2"
like "$(cat "$T/ru.err")" "^paritytap replay: --candidate-header: 'X': no colon" \
    "replay: the message names the option"
sniff_once sn --candidate-header 'Connection: close'
is "$ST" 2 "sniff: a bad --candidate-header is exit 2"
like "$ERR" "^paritytap sniff: --candidate-header: Connection frames" \
    "sniff: the message names the option"
for c in proxy replay sniff; do
	"$PARITYTAP" $c --help >"$T/help.$c"
	like "$(cat "$T/help.$c")" "^      --candidate-header 'NAME: VALUE' " \
	    "$c --help lists --candidate-header"
	like "$(cat "$T/help.$c")" "^      --candidate-host NAME " \
	    "$c --help lists --candidate-host"
done

done_testing
