#!/bin/sh
# paritytap import: captures a network cannot be made to give on demand,
# written from a script by pcapgen: a segment of a response the capture
# lost (its hole acknowledged by the client, all packets at one time as
# some capture tools write them), a capture begun after the handshake in
# the middle of a response, and an answer with no request before bytes
# that cannot be parsed.  Every exchange, its status, its error and the
# summary line's counts, which agree with each other.

. "$(dirname "$0")/lib.sh"

PCAPGEN=${PCAPGEN:-$top_builddir/tests/backends/pcapgen}

need jq
need_binaries
[ -x "$PCAPGEN" ] || bail "PCAPGEN=$PCAPGEN is not executable"

# import NAME: write $T/NAME.pcap from the script on standard input and
# import it; the exchanges (target, status, error, body) one a line in
# $T/NAME.got, the summary line in SUMMARY, the exit status in STATUS.
import() {
	"$PCAPGEN" "$T/$1.pcap" || bail "pcapgen failed"
	"$PARITYTAP" import "$T/$1.pcap" >"$T/$1.jsonl" 2>"$T/$1.err"
	STATUS=$?
	SUMMARY=$(tail -n 1 "$T/$1.err")
	jq -r '[.request.method, .request.target,
	    (.responses.primary | .status, .error, .body)] | map(tostring) |
	    join(" ")' "$T/$1.jsonl" >"$T/$1.got"
}

# --- an acknowledged hole, then the next exchanges -------------------------
# The last segment of /a's response is lost; the client acknowledges it,
# then asks for /b and /c.  Every packet has the same time: only the
# sequence numbers say that /b's response came after /b.
import hole <<'EOF'
step 0
syn
c GET /a HTTP/1.1\r\nHost: x\r\n\r\n
s HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n0123456789
s lost abcdefghij
c ack
c GET /b HTTP/1.1\r\nHost: x\r\n\r\n
s HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok
c GET /c HTTP/1.1\r\nHost: x\r\n\r\n
s HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope
c ack
fin
EOF
is "$STATUS" 0 "hole: import exits 0"
is "$(cat "$T/hole.got")" "GET /a 200 reset 0123456789
GET /b 200 null ok
GET /c 404 null nope" \
    "hole: /a failed by the hole (the body before it kept), /b and /c paired with their responses"
is "$SUMMARY" "paritytap import: 3 exchanges from 1 file, 1 connection, 0 unparsable streams, 1 gap (1 connection resumed, 0 bytes skipped), 1 unanswered" \
    "hole: one gap, the connection resumed, only /a unanswered"

# The same with a millisecond between packets.
import hole_timed <<'EOF'
syn
c GET /a HTTP/1.1\r\nHost: x\r\n\r\n
s HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n
s lostfill 5000
c ack
c GET /b HTTP/1.1\r\nHost: x\r\n\r\n
s HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok
fin
EOF
is "$(cat "$T/hole_timed.got")" "GET /a 200 reset 
GET /b 200 null ok" "hole, timed: /a failed, /b paired"
is "$SUMMARY" "paritytap import: 2 exchanges from 1 file, 1 connection, 0 unparsable streams, 1 gap (1 connection resumed, 0 bytes skipped), 1 unanswered" \
    "hole, timed: the summary"

# --- a capture begun in the middle of a response -----------------------------
# No handshake: the first bytes are the end of a response body (lines
# ending in a bare LF, then 3000 bytes of one line); then two whole
# exchanges.
import midstream <<'EOF'
s yyyyyyyy\nyyyy\nyyyyyyyyyy
s fill 3000
c ack
c GET /b HTTP/1.1\r\nHost: x\r\n\r\n
s HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok
c POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello
s HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone
fin
EOF
is "$STATUS" 0 "midstream: import exits 0"
is "$(cat "$T/midstream.got")" "GET /b 200 null ok
POST /c 201 null done" "midstream: both whole exchanges kept"
is "$SUMMARY" "paritytap import: 2 exchanges from 1 file, 1 connection, 0 unparsable streams, 1 gap (1 connection resumed, 3024 bytes skipped), 0 unanswered" \
    "midstream: the response's end skipped as a gap, the connection resumed"

# Begun in the middle of a request body: the client's bytes up to the
# next request line are skipped, and the response to the request cut is
# not given to the next one.
import midstream_req <<'EOF'
c xxxxxxxxxx
c fill 2000
s HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok
c GET /d HTTP/1.1\r\nHost: x\r\n\r\n
s HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nddd
fin
EOF
is "$(cat "$T/midstream_req.got")" "GET /d 200 null ddd" \
    "midstream in a request: the next exchange kept"
is "$SUMMARY" "paritytap import: 1 exchange from 1 file, 1 connection, 0 unparsable streams, 1 gap (1 connection resumed, 2010 bytes skipped), 0 unanswered, 1 response without a request" \
    "midstream in a request: the summary"

# A connection without its handshake that begins with a request is read
# as before.
import nosyn <<'EOF'
c GET /e HTTP/1.1\r\nHost: x\r\n\r\n
s HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ne
c GET /f HTTP/1.1\r\nHost: x\r\n\r\n
s HTTP/1.1 500 Oops\r\nContent-Length: 1\r\n\r\nf
fin
EOF
is "$(cat "$T/nosyn.got")" "GET /e 200 null e
GET /f 500 null f" "no handshake, begun at a request: both exchanges"
is "$SUMMARY" "paritytap import: 2 exchanges from 1 file, 1 connection, 0 unparsable streams, 0 gaps, 0 unanswered" \
    "no handshake, begun at a request: no gap"

# ... and so is one that pipelines: nothing was skipped, nothing to prove.
import nosyn_pipelined <<'EOF'
c GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n
s HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2
fin
EOF
is "$(cat "$T/nosyn_pipelined.got")" "GET /1 200 null 1
GET /2 200 null 2" "no handshake, pipelined: both exchanges"
is "$SUMMARY" "paritytap import: 2 exchanges from 1 file, 1 connection, 0 unparsable streams, 0 gaps, 0 unanswered" \
    "no handshake, pipelined: no gap"

# A connection without its handshake in which no message ever starts (TLS,
# or another protocol) is an unparsable stream, not a gap.
import nothttp <<'EOF'
s not a status line\n
c nor a request line
s fill 3000
c fill 500
fin
EOF
is "$(cat "$T/nothttp.got")" "" "no handshake, no message: no exchange"
is "$SUMMARY" "paritytap import: 0 exchanges from 1 file, 1 connection, 1 unparsable stream, 0 gaps, 0 unanswered" \
    "no handshake, no message: one unparsable stream, no gap, no bytes skipped"

# --- an answer with no request, then bytes that cannot be parsed -------------
# The skipped bytes are a gap's: the summary never says "0 gaps" and
# then counts bytes skipped.
import orphan <<'EOF'
syn
s HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n
c GET /a HTTP/1.1\r\nHost: x\r\n\r\n
s garbage\r\n
s HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok
c GET /b HTTP/1.1\r\nHost: x\r\n\r\n
s HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok
fin
EOF
is "$(cat "$T/orphan.got")" "GET /a 0 reset 
GET /b 200 null ok" \
    "orphan: /a's response cannot be told, /b paired"
is "$SUMMARY" "paritytap import: 2 exchanges from 1 file, 1 connection, 0 unparsable streams, 1 gap (1 connection resumed, 9 bytes skipped), 1 unanswered, 2 responses without a request" \
    "orphan: bytes skipped are counted with a gap and a connection resumed"

done_testing
