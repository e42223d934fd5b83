#!/bin/sh
# A path in a backend URL is a prefix put before every request's target
# for that backend only (as nginx's proxy_pass with a URI under
# "location /"); the capture keeps the client's target.  A target that a
# server could fold out of the prefix (a ".." segment, however spelt) is
# never sent behind it: that side gets the error "prefix".  A prefix that
# cannot be put before a target unambiguously is refused at start.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-sniff.sh"
need curl jq timeout
need_binaries

jq -n '{default: {status: 200, headers: [["Content-Type", "application/json"]],
    body: "{\"ok\":true}"}}' >"$T/b.json"
start_backend primary "$T/b.json"
start_backend candidate "$T/b.json"
PRI=http://127.0.0.1:$(backend_port primary)
CAN=http://127.0.0.1:$(backend_port candidate)
CAP=$T/capture.jsonl

# targets NAME: the targets the backend received, one a line, in order.
targets() {
	backend_requests "$1" | jq -r .target
}

# --- a prefix on the candidate only ---------------------------------------
start_proxy --primary "$PRI" --candidate "$CAN/v2" --capture "$CAP" ||
    bail "the proxy did not start"
req q "$PROXY_URL/orders/7?expand=items&x=%2F"
is "$HTTP_CODE" 200 "candidate prefix: the client got the primary's 200"
ID1=$TRACE
ok "candidate prefix: the candidate received it" \
    wait_for 10 backend_nrequests_ge candidate 1
ok "candidate prefix: the capture line is written" \
    wait_for 10 cap_has_id "$CAP" "$ID1"
is "$(targets primary)" "/orders/7?expand=items&x=%2F" \
    "candidate prefix: the primary got the client's target"
is "$(targets candidate)" "/v2/orders/7?expand=items&x=%2F" \
    "candidate prefix: the candidate got /v2 before it, query kept"
is "$(cap_get "$CAP" "$ID1" .request.target)" "/orders/7?expand=items&x=%2F" \
    "candidate prefix: the capture keeps the client's target"
is "$(cap_get "$CAP" "$ID1" .verdict)" match \
    "candidate prefix: the answers compare as usual"
# Everything but the target is the same for both.
is "$(backend_requests candidate | jq -c '[.method, .headers, .body]')" \
    "$(backend_requests primary | jq -c '[.method, .headers, .body]')" \
    "candidate prefix: the method, headers and body are the same"

# A dot segment, however spelt, would let the candidate's server fold the
# target out of /v2: the candidate is not sent it, the primary is.
n=1
for t in '/../admin' '/a/%2e%2E/admin' '/a/.%2E' '/a\..\b' \
    '/a%2F..%2Fadmin' '/./x' '/..;x=1/admin' '/a/%2e%2e%3b/admin' \
    '/a/..%5cadmin'; do
	req dot --path-as-is "$PROXY_URL$t"
	t=$(printf '%s' "$t" | tr '\\' '|')	# a description without escapes
	is "$HTTP_CODE" 200 "dot segment $t: the client got the primary's 200"
	ok "dot segment $t: the capture line is written" \
	    wait_for 10 cap_has_id "$CAP" "$TRACE"
	is "$(cap_get "$CAP" "$TRACE" .responses.candidate.error)" prefix \
	    "dot segment $t: the candidate's error is 'prefix'"
	n=$((n + 1))
	is "$(backend_nrequests primary)" "$n" \
	    "dot segment $t: the primary was sent it"
done
is "$(backend_nrequests candidate)" 1 \
    "dot segments: the candidate was sent none of them"
# Dots inside a segment are a name, not a step up.
req dots "$PROXY_URL/files/a..b/.hidden/v1.2;..=x/..a"
ok "dots in a name: the candidate received it" \
    wait_for 10 backend_nrequests_ge candidate 2
is "$(targets candidate | tail -n 1)" "/v2/files/a..b/.hidden/v1.2;..=x/..a" \
    "dots in a name: sent behind the prefix as they are"
stop_proxy

# --- a prefix on both, a trailing slash, a lone slash ---------------------
start_proxy --primary "$PRI/api/" --candidate "$CAN/" --capture "$CAP" ||
    bail "the proxy did not start"
req both "$PROXY_URL/x?y=1"
is "$HTTP_CODE" 200 "prefix on the primary: 200"
ok "prefix on the primary: the candidate received it" \
    wait_for 10 backend_nrequests_ge candidate 3
is "$(targets primary | tail -n 1)" "/api/x?y=1" \
    "a trailing slash adds no second one: /api/ makes /api/x"
is "$(targets candidate | tail -n 1)" "/x?y=1" \
    "a lone slash is no prefix"
req root "$PROXY_URL/"
ok "the root: the candidate received it" \
    wait_for 10 backend_nrequests_ge candidate 4
is "$(targets primary | tail -n 1)" "/api/" "the root goes to /api/"
stop_proxy

# --- replay: the same, from a capture ---------------------------------------
jq -cn '{paritytap: 1, id: "rp-1", ts: "2026-05-02T10:00:00.000000Z",
    source: "proxy", request: {method: "GET", target: "/r/1?q=2",
    version: "1.1", headers: [{name: "Host", value: "api.example"}],
    body: "", body_bytes: 0}, responses: {primary: {status: 200,
    headers: [{name: "Content-Type", value: "application/json"}],
    body: "{\"ok\":true}", body_bytes: 11, ms: 1}}, verdict: "recorded",
    diffs: []}' >"$T/in.jsonl"
"$PARITYTAP" replay --primary "$PRI/live" --candidate "$CAN/v3" \
    --capture "$T/replay.jsonl" "$T/in.jsonl" >"$T/rp.out" 2>"$T/rp.err"
is "$?" 0 "replay with prefixes: exit 0"
is "$(targets primary | tail -n 1)" "/live/r/1?q=2" \
    "replay: the primary got its prefix"
is "$(targets candidate | tail -n 1)" "/v3/r/1?q=2" \
    "replay: the candidate got its prefix"
is "$(jq -r .request.target "$T/replay.jsonl")" "/r/1?q=2" \
    "replay: the capture keeps the recorded target"

# --- prefixes that are refused ---------------------------------------------
usage() {	# usage NAME ARGS...: a proxy that must not start
	_n=$1
	shift
	"$PARITYTAP" proxy --listen 127.0.0.1:0 "$@" \
	    >"$T/$_n.out" 2>"$T/$_n.err" </dev/null
	ST=$?
	ERR=$(cat "$T/$_n.err")
}
for bad in 'query|/v2?a=1|a query or fragment in the URL' \
    'fragment|/v2#a|a query or fragment in the URL' \
    'pct|/v%32|path prefix: percent-encoding is not supported' \
    'dotdot|/v2/../admin|path prefix: a .\.. or .\.\.. segment' \
    'dot|/./v2|path prefix: a .\.. or .\.\.. segment' \
    'empty|//v2|path prefix: an empty segment' \
    'space|/v 2|path prefix: a character outside a URL path' \
    'backslash|/v2\x|path prefix: a character outside a URL path'; do
	name=${bad%%|*}
	rest=${bad#*|}
	path=${rest%%|*}
	msg=${rest#*|}
	usage "$name" --primary "$PRI" --candidate "$CAN$path"
	is "$ST" 2 "prefix $path: exit 2"
	like "$ERR" "^paritytap proxy: --candidate $CAN.*: $msg" \
	    "prefix $path: the message names --candidate and the reason"
done
usage prim --primary "$PRI/a/../b" --candidate "$CAN"
like "$ERR" "^paritytap proxy: --primary $PRI/a/../b: path prefix" \
    "a bad --primary prefix: the message names --primary"
"$PARITYTAP" replay --candidate "$CAN/v2/../x" "$T/in.jsonl" \
    >"$T/ru.out" 2>"$T/ru.err"
is "$?" 2 "replay, a bad prefix: exit 2"
like "$(cat "$T/ru.err")" "^paritytap replay: --candidate $CAN/v2/../x: path prefix: a" \
    "replay, a bad prefix: the message names --candidate"
sniff_once sn --secondary "http://127.0.0.1:1/v%2e"
is "$ST" 2 "sniff, a bad prefix: exit 2"
like "$ERR" "^paritytap sniff: --secondary http://127.0.0.1:1/v%2e: path prefix: percent" \
    "sniff, a bad prefix: the message names --secondary"

done_testing
