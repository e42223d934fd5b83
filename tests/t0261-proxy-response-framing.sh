#!/bin/sh
# The framing of what the client gets is the proxy's own: a primary whose
# Connection header lists Content-Length (or Transfer-Encoding) does not
# take the framing of the relayed response with it.  Pipelined requests
# on one kept-alive client connection: each response must end where its
# body ends, or the next one runs into it.  HTTP/1.1 and HTTP/1.0
# clients, byte for byte.

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

# The testbackend adds Content-Length: 5 after these headers, or chunks
# the body ("hello world" in chunks of 3, 3, 3 and 2 bytes).
jq -n '{routes: [
    {path: "/cl-listed", headers: [["Connection", "Content-Length"]],
     body: "hello"},
    {path: "/cl-close-listed",
     headers: [["Connection", "close, Content-Length"]], body: "hello"},
    {path: "/cl-listed-upper",
     headers: [["Connection", "keep-alive, CONTENT-LENGTH"]],
     body: "hello"},
    {path: "/te-listed", headers: [["Connection", "Transfer-Encoding"]],
     chunked: true, body: "hello world"}],
    default: {headers: [["Content-Type", "application/json"]],
     body: "{\"next\":true}"}}' >"$T/primary.json"
start_backend primary "$T/primary.json"
start_backend candidate "$T/primary.json"
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" || bail "the proxy did not start"

# get ID PATH [EXTRA-HEADER]: an HTTP/1.1 request line and headers.
get() {
	printf 'GET %s HTTP/1.1\r\nHost: x\r\nX-Paritytap-Trace-Id: %s\r\n%b\r\n' \
	    "$2" "$1" "${3:-}"
}

# next ID [EXTRA-HEADER]: the response to /next, as the client must get it.
next() {
	printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\nX-Paritytap-Trace-Id: %s\r\n%b\r\n{"next":true}' \
	    "$1" "${2:-}"
}

{
	get t1 /cl-listed
	get t2 /next
	get t3 /cl-close-listed
	get t4 /next
	get t5 /cl-listed-upper
	get t6 /next
	get t7 /te-listed
	get t8 /next 'Connection: close\r\n'
} >"$T/pipe.req"
"$RAWCLIENT" 127.0.0.1 "$PROXY_PORT" --timeout $((PT_WAIT_MIN * 1000)) \
    <"$T/pipe.req" >"$T/pipe.resp" 2>"$T/pipe.err"
is "$?" 0 "HTTP/1.1: the proxy answered all and closed"
{
	printf 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Paritytap-Trace-Id: t1\r\n\r\nhello'
	next t2
	printf 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Paritytap-Trace-Id: t3\r\n\r\nhello'
	next t4
	printf 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Paritytap-Trace-Id: t5\r\n\r\nhello'
	next t6
	printf 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Paritytap-Trace-Id: t7\r\n\r\n3\r\nhel\r\n3\r\nlo \r\n3\r\nwor\r\n2\r\nld\r\n0\r\n\r\n'
	next t8 'Connection: close\r\n'
} >"$T/pipe.want"
same_bytes "HTTP/1.1: every response framed, the next one after its body" \
    "$T/pipe.want" "$T/pipe.resp"

# An HTTP/1.0 client that keeps its connection alive.
{
	printf 'GET /cl-listed HTTP/1.0\r\nConnection: keep-alive\r\nX-Paritytap-Trace-Id: u1\r\n\r\n'
	printf 'GET /next HTTP/1.0\r\nX-Paritytap-Trace-Id: u2\r\n\r\n'
} >"$T/h10.req"
"$RAWCLIENT" 127.0.0.1 "$PROXY_PORT" --timeout $((PT_WAIT_MIN * 1000)) \
    <"$T/h10.req" >"$T/h10.resp" 2>"$T/h10.err"
is "$?" 0 "HTTP/1.0: the proxy answered both and closed"
{
	printf 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Paritytap-Trace-Id: u1\r\nConnection: keep-alive\r\n\r\nhello'
	next u2 'Connection: close\r\n'
} >"$T/h10.want"
same_bytes "HTTP/1.0: the response keeps its Content-Length" \
    "$T/h10.want" "$T/h10.resp"

# The capture keeps the primary's headers as it sent them.
ok "the last exchange is captured" wait_for 30 cap_has_id "$CAP" u2
is "$(cap_get "$CAP" t1 '.responses.primary.headers | map(join(": ")) | join(" | ")')" \
    "Connection: Content-Length | Content-Length: 5" \
    "the capture records the primary's headers as sent"
is "$(cap_get "$CAP" t7 '.responses.primary.body')" "hello world" \
    "the capture records the dechunked body"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"

done_testing
