#!/bin/sh
# Chunk framing (DESIGN §7.3, RFC 9112 7.1): what a lenient parser takes
# and nginx and llhttp's strict mode refuse gets 400, the error naming the
# fault, and nothing reaches a backend.  A well-framed chunked request,
# chunk extensions and all, still goes through.

. "$(dirname "$0")/lib.sh"
need jq
need_binaries

start_backend primary
start_backend candidate
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" || bail "the proxy did not start"

# send NAME: send $T/NAME.req on a connection of its own; sets RAW_STATUS,
# STATUS_LINE and ERROR (the "error" of the proxy's JSON answer).
send() {
	"$RAWCLIENT" 127.0.0.1 "$PROXY_PORT" --timeout $((PT_WAIT_MIN * 1000)) \
	    <"$T/$1.req" >"$T/$1.resp" 2>"$T/$1.rawerr"
	RAW_STATUS=$?
	STATUS_LINE=$(head -n 1 "$T/$1.resp" | tr -d '\r')
	ERROR=$(tr -d '\r' <"$T/$1.resp" | sed '1,/^$/d' |
	    jq -r .error 2>/dev/null)
}

# received BACKEND: every request the backend received, one compact JSON
# line each: method, target, headers in wire order, body.
received() {
	backend_requests "$1" | jq -c '{method, target, headers, body}'
}

# chunked NAME VERSION BODY: a chunked POST /NAME with that framing.
chunked() {
	printf "POST /$1 HTTP/$2\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n$3" \
	    >"$T/$1.req"
}

chunked bare_cr_size 1.1 '5\rhello\r\n0\r\n\r\n'
chunked bare_lf_size 1.1 '5\nhello\r\n0\r\n\r\n'
chunked data_no_crlf 1.1 '5\r\nhelloXX0\r\n\r\n'
chunked data_bare_lf 1.1 '5\r\nhello\n0\r\n\r\n'
chunked ext_bare_lf 1.1 '5;a\nb\r\nhello\r\n0\r\n\r\n'
chunked ext_ctl 1.1 '5;a="\001"\r\nhello\r\n0\r\n\r\n'
chunked ext_space 1.1 '5 \r\nhello\r\n0\r\n\r\n'
chunked size_overflow 1.1 'fffffffffffffffffff\r\nhello\r\n0\r\n\r\n'
chunked http10 1.0 '5\r\nhello\r\n0\r\n\r\n'
for c in "bare_cr_size|bare CR in a chunk size line" \
    "bare_lf_size|bare LF after a chunk size" \
    "data_no_crlf|chunk data not followed by CRLF" \
    "data_bare_lf|chunk data not followed by CRLF" \
    "ext_bare_lf|bare LF in a chunk extension" \
    "ext_ctl|malformed chunk extension" \
    "ext_space|malformed chunk extension" \
    "size_overflow|chunk size too large" \
    "http10|Transfer-Encoding in an HTTP/1.0 request"; do
	name=${c%%|*}
	send "$name"
	like "$STATUS_LINE" '^HTTP/1\.1 400 Bad Request$' "$name: 400"
	is "$ERROR" "bad request: ${c#*|}" "$name: the error names the fault"
	is "$RAW_STATUS" 0 "$name: the proxy closed the connection"
done

# Well framed: extensions (token and quoted values, BWS before ";" and
# "="), leading zeros, upper-case hex.
printf 'POST /fine HTTP/1.1\r\nHost: x\r\nX-Paritytap-Trace-Id: t0241-ok\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0005 ; a ; b = c;q="x \\" y"\r\nhello\r\n00A\r\n0123456789\r\n0;last\r\n\r\n' \
    >"$T/fine.req"
send fine
is "$STATUS_LINE" "HTTP/1.1 200 OK" "well-framed chunked request: 200"
ok "the candidate received the mirror" wait_for 10 backend_nrequests_ge \
    candidate 1
WANT='{"method":"POST","target":"/fine","headers":[["Host","x"],["X-Forwarded-For","127.0.0.1"],["X-Paritytap-Trace-Id","t0241-ok"],["Content-Length","15"]],"body":"hello0123456789"}'

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
# Once the proxy has exited it has written all it ever will, and a backend
# asleep has read and logged all of it.
for b in primary candidate; do
	eval "bpid=\$pt_backend_pid_$b"
	ok "$b: idle after the proxy exited" wait_for 10 asleep "$bpid"
	is "$(received $b)" "$WANT" \
	    "$b: received the well-framed request, dechunked, and nothing else"
	is "$(backend_events $b '.event == "bad_request"' | wc -l |
	    tr -d ' ')" 0 "$b: received no bytes it could not parse"
done
is "$(jq -r .request.target "$CAP" | tr '\n' ' ')" "/fine " \
    "the capture has only the well-framed request"

done_testing
