#!/bin/sh
# Odd responses.  From the primary: a 101 Switching Protocols nobody asked
# for, a status outside 100-599, a status line whose version the line's
# end cuts short ("H", then "1.1 200 OK" on the next lines) and one of
# another protocol ("HXYZ/1.1 200 OK") give the client a 502; a 204
# reaches the client without Content-Length or body, a 304 keeps the
# Content-Length the 200 would have had and has no body; interim 1xx
# (100, 102, 103 Early Hints) are dropped and the client gets the final
# response, which is what is recorded.  From the candidate: the same odd
# answers are recorded as a bad_response of its side, and the client gets
# the primary's answer untouched.  Pipelined on one kept-alive client
# connection, byte for byte.

. "$(dirname "$0")/lib.sh"
need jq
need_binaries

# same_bytes DESC EXPECTED-FILE ACTUAL-FILE: the files are identical.
same_bytes() {
	if cmp -s "$2" "$3"; then
		pass "$1"
	else
		fail "$1" "expected:" "$(od -c "$2" | head -n 40)" \
		    "got:" "$(od -c "$3" | head -n 40)"
	fi
}

jq -n '{routes: [
    {path: "/p/101", raw: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nxyz"},
    {path: "/p/600", raw: "HTTP/1.1 600 Odd\r\nContent-Length: 2\r\n\r\nok"},
    {path: "/p/099", raw: "HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\nok"},
    {path: "/p/cut", raw: "H\r\n\r\n1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
    {path: "/p/proto", raw: "HXYZ/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
    {path: "/p/204", status: 204,
     headers: [["X-A", "1"], ["Content-Length", "5"]]},
    {path: "/p/204-body", raw: "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello"},
    {path: "/p/304", status: 304,
     headers: [["ETag", "\"x\""], ["Content-Length", "5"]]},
    {path: "/p/103", raw: "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
    {path: "/p/100-102", raw: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"}],
    default: {headers: [["Content-Type", "application/json"]],
     body: "{\"ok\":true}"}}' >"$T/primary.json"
jq -n '{routes: [
    {path: "/c/101", raw: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nxyz"},
    {path: "/c/600", raw: "HTTP/1.1 600 Odd\r\nContent-Length: 2\r\n\r\nok"}],
    default: {headers: [["Content-Type", "application/json"]],
     body: "{\"ok\":true}"}}' >"$T/candidate.json"
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
PPORT=$(backend_port primary)
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$PPORT" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" || bail "the proxy did not start"

# get ID PATH [EXTRA-HEADER]: an HTTP/1.1 request line and headers.
get() {
	printf 'GET %s HTTP/1.1\r\nHost: x\r\nX-Paritytap-Trace-Id: %s\r\n%b\r\n' \
	    "$2" "$1" "${3:-}"
}

# bad ID CAUSE [EXTRA-HEADER]: the 502 the client gets for a bad primary
# response.
bad() {
	_b="{\"error\":\"primary bad_response: 127.0.0.1:$PPORT: $2\",\"trace_id\":\"$1\"}"
	printf 'HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nContent-Length: %d\r\nX-Paritytap-Trace-Id: %s\r\n%b\r\n%s\n' \
	    $((${#_b} + 1)) "$1" "${3:-}" "$_b"
}

# want ID PATH [EXTRA-HEADER]: the response the client must get.
want() {
	case $2 in
	/p/101)	bad "$1" '101 Switching Protocols to a request that asked for no upgrade' "${3:-}" ;;
	/p/600)	bad "$1" 'status 600 is outside 100-599' "${3:-}" ;;
	/p/099)	bad "$1" 'status 099 is outside 100-599' "${3:-}" ;;
	/p/cut)	bad "$1" 'invalid HTTP version' "${3:-}" ;;
	/p/proto) bad "$1" 'status line names a protocol other than HTTP' "${3:-}" ;;
	/p/204)
		printf 'HTTP/1.1 204 No Content\r\nX-A: 1\r\nX-Paritytap-Trace-Id: %s\r\n%b\r\n' \
		    "$1" "${3:-}" ;;
	/p/204-body)
		printf 'HTTP/1.1 204 No Content\r\nX-Paritytap-Trace-Id: %s\r\n%b\r\n' \
		    "$1" "${3:-}" ;;
	/p/304)
		printf 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 5\r\nX-Paritytap-Trace-Id: %s\r\n%b\r\n' \
		    "$1" "${3:-}" ;;
	/p/103|/p/100-102)
		printf 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Paritytap-Trace-Id: %s\r\n%b\r\nok' \
		    "$1" "${3:-}" ;;
	*)
		printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nX-Paritytap-Trace-Id: %s\r\n%b\r\n{"ok":true}' \
		    "$1" "${3:-}" ;;
	esac
}

CASES="p1 /p/101
p2 /p/600
p3 /p/099
p0 /p/cut
pp /p/proto
p4 /p/204
p5 /p/204-body
p6 /p/304
p7 /p/103
p8 /p/100-102
c1 /c/101
c2 /c/600"

# Each case alone, on its own connection.
while read -r id path; do
	get "$id-alone" "$path" 'Connection: close\r\n' >"$T/$id.req"
	"$RAWCLIENT" 127.0.0.1 "$PROXY_PORT" \
	    --timeout $((PT_WAIT_MIN * 1000)) <"$T/$id.req" >"$T/$id.resp" \
	    2>"$T/$id.err"
	want "$id-alone" "$path" 'Connection: close\r\n' >"$T/$id.want"
	same_bytes "$path: the client got the response it must, byte for byte" \
	    "$T/$id.want" "$T/$id.resp"
done <<EOF
$CASES
EOF

# All of them pipelined on one kept-alive connection: each response ends
# where it must, the next one follows.
{
	echo "$CASES" | while read -r id path; do
		get "$id" "$path"
	done
	get p9 /next 'Connection: close\r\n'
} >"$T/pipe.req"
"$RAWCLIENT" 127.0.0.1 "$PROXY_PORT" --timeout $((PT_WAIT_MIN * 1000)) \
    <"$T/pipe.req" >"$T/pipe.resp" 2>"$T/pipe.err"
is "$?" 0 "pipelined: the proxy answered all and closed"
{
	echo "$CASES" | while read -r id path; do
		want "$id" "$path"
	done
	want p9 /next 'Connection: close\r\n'
} >"$T/pipe.want"
same_bytes "pipelined: every response as it must be, byte for byte" \
    "$T/pipe.want" "$T/pipe.resp"

ok "the last exchange is captured" wait_for 30 cap_has_id "$CAP" p9
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"

# rec ID: verdict, then status/error of each side, as captured.
rec() {
	cap_get "$CAP" "$1" '"\(.verdict) \(.responses.primary |
	    "\(.status)/\(.error)") \(.responses.candidate |
	    "\(.status)/\(.error)")"'
}
is "$(rec p1)" "primary_error 0/bad_response 200/null" \
    "p1: a primary 101 is recorded as bad_response"
is "$(rec p2)" "primary_error 0/bad_response 200/null" \
    "p2: a primary status 600 is recorded as bad_response"
is "$(rec p3)" "primary_error 0/bad_response 200/null" \
    "p3: a primary status 099 is recorded as bad_response"
is "$(rec p0)" "primary_error 0/bad_response 200/null" \
    "p0: a primary status line cut short (H, then the next lines) is recorded as bad_response"
is "$(rec pp)" "primary_error 0/bad_response 200/null" \
    "pp: a primary status line of another protocol (HXYZ/1.1) is recorded as bad_response"
is "$(cap_get "$CAP" p1 .responses.primary.error_detail)" \
    "127.0.0.1:$PPORT: 101 Switching Protocols to a request that asked for no upgrade" \
    "p1: the capture names the 101"
is "$(rec p4 | cut -d' ' -f2)" "204/null" "p4: the 204 is recorded"
is "$(cap_get "$CAP" p4 '.responses.primary.headers | map(join(": ")) | join(" | ")')" \
    "X-A: 1 | Content-Length: 5" \
    "p4: the capture keeps the 204's headers as the primary sent them"
is "$(rec p7 | cut -d' ' -f2)" "200/null" \
    "p7: the final response after a 103 is recorded"
is "$(cap_get "$CAP" p7 .responses.primary.body)" ok \
    "p7: with its body"
is "$(rec c1)" "candidate_error 200/null 0/bad_response" \
    "c1: a candidate 101 is the candidate's bad_response"
is "$(rec c2)" "candidate_error 200/null 0/bad_response" \
    "c2: a candidate status 600 is the candidate's bad_response"
is "$(cap_get "$CAP" c1 .responses.primary.body)" '{"ok":true}' \
    "c1: the primary's side is recorded as it answered"

# Each request reached each backend once (each path twice: alone, then
# pipelined): nothing is sent again after a bad response.  The mirrors
# may overlap on several connections, so the order is not compared.
backend_idle primary
backend_idle candidate
for b in primary candidate; do
	is "$(backend_requests $b | jq -r .target | sort | tr '\n' ' ')" \
	    "$({ echo "$CASES"; echo "$CASES"; echo "x /next"; } |
	    cut -d' ' -f2 | sort | tr '\n' ' ')" \
	    "$b: each request once"
done

done_testing
