#!/bin/sh
# paritytap import: a server that answers before the request body is
# whole (413, 401, 405, 417, as nginx, lighttpd and others do).  The
# answer is the request's, whose body is marked truncated and holds the
# bytes sent before the answer began; the rest of the body, if the
# client sends it, is not a request, even where it reads like one; the
# exchanges after it are paired as usual.  The captures are written by
# pcapgen.

. "$(dirname "$0")/lib.sh"

PCAPGEN=${PCAPGEN:-$top_builddir/tests/backends/pcapgen}

need jq
need_binaries
[ -x "$PCAPGEN" ] || bail "PCAPGEN=$PCAPGEN is not executable"

# import NAME: write $T/NAME.pcap from the script on standard input and
# import it; the exchanges (method, target, request body_bytes and
# truncated, status, error, response body) one a line in $T/NAME.got,
# the summary line in SUMMARY, the exit status in STATUS.
import() {
	"$PCAPGEN" "$T/$1.pcap" || bail "pcapgen failed"
	"$PARITYTAP" import "$T/$1.pcap" >"$T/$1.jsonl" 2>"$T/$1.err"
	STATUS=$?
	SUMMARY=$(tail -n 1 "$T/$1.err")
	jq -r '[.request | .method, .target, .body_bytes, .truncated] +
	    [.responses.primary | .status, .error, .body] | map(tostring) |
	    join(" ")' "$T/$1.jsonl" >"$T/$1.got"
}

# --- 413 and the connection closed ----------------------------------------------
import too_large <<'EOF'
syn
c POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n
c fill 3000
s HTTP/1.1 413 Request Entity Too Large\r\nConnection: close\r\nContent-Length: 9\r\n\r\ntoo large
fin
EOF
is "$STATUS" 0 "413: import exits 0"
is "$(cat "$T/too_large.got")" "POST /upload 3000 true 413 null too large" \
    "413: the exchange kept, its body cut at 3000 bytes and marked truncated"
is "$(jq -r .request.body "$T/too_large.jsonl")" \
    "$(head -c 3000 /dev/zero | tr '\0' x)" \
    "413: the body holds the bytes sent before the answer"
is "$SUMMARY" "paritytap import: 1 exchange from 1 file, 1 connection, 0 unparsable streams, 0 gaps, 0 unanswered" \
    "413: the summary"

# --- 401 on a kept-alive connection, the rest of the body sent ----------------
# The rest of the body holds a line that reads like a request line.
import keepalive <<'EOF'
syn
c POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5031\r\n\r\n
c fill 1000
s HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nauth
c GET /fake HTTP/1.1\r\n
c fill 4000
c Host: x\r\n\r\n
c GET /next HTTP/1.1\r\nHost: x\r\n\r\n
s HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok
fin
EOF
is "$(cat "$T/keepalive.got")" "POST /up 1000 true 401 null auth
GET /next 0 null 200 null ok" \
    "401: the early answer paired, the rest of the body skipped, /next paired"
is "$SUMMARY" "paritytap import: 2 exchanges from 1 file, 1 connection, 0 unparsable streams, 0 gaps, 0 unanswered" \
    "401: the summary: nothing unanswered, no response without a request"

# --- 417 to Expect: 100-continue, no body sent ---------------------------------
import expect <<'EOF'
syn
c PUT /doc HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n
s HTTP/1.1 417 Expectation Failed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n
fin
EOF
is "$(cat "$T/expect.got")" "PUT /doc 0 true 417 null " \
    "417: the answer is PUT's, its body (never sent) empty and truncated"
is "$SUMMARY" "paritytap import: 1 exchange from 1 file, 1 connection, 0 unparsable streams, 0 gaps, 0 unanswered" \
    "417: the summary"

# The same after 100 Continue: the body comes whole, the answer is final.
import continued <<'EOF'
syn
c PUT /doc HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n
s HTTP/1.1 100 Continue\r\n\r\n
c 0123456789
s HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n
fin
EOF
is "$(cat "$T/continued.got")" "PUT /doc 10 null 201 null " \
    "100 Continue: the interim answer is not taken for an early one"

# --- chunked: 405 after the first chunk, then the rest ----------------------
import chunked <<'EOF'
syn
c POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n
s HTTP/1.1 405 Not Allowed\r\nContent-Length: 3\r\n\r\nno!
c 5\r\nworld\r\n0\r\n\r\n
c DELETE /y HTTP/1.1\r\nHost: x\r\n\r\n
s HTTP/1.1 204 No Content\r\n\r\n
fin
EOF
is "$(cat "$T/chunked.got")" "POST /x 5 true 405 null no!
DELETE /y 0 null 204 null " \
    "405 to a chunked body: paired, cut after its first chunk; the next paired"
is "$SUMMARY" "paritytap import: 2 exchanges from 1 file, 1 connection, 0 unparsable streams, 0 gaps, 0 unanswered" \
    "405 to a chunked body: the summary"

done_testing
