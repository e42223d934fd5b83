#!/bin/sh
# Request trailers (DESIGN §7.3, RFC 9112 7.1.2) are never forwarded: both
# backends get the dechunked body and the head's own headers, nothing the
# trailer section said.  A malformed trailer section is refused like a
# malformed header block (400, 431 over the limits) and reaches no backend.

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

# A chunked request whose trailers would smuggle headers if they were
# appended to the head: none of them reaches a backend.
printf 'POST /trailers HTTP/1.1\r\nHost: api.example\r\nX-Paritytap-Trace-Id: t0240-ok\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\nContent-Length: 99\r\nX-Smuggled: GET /admin HTTP/1.1\r\nX-Last: 1\r\n\r\n' \
    >"$T/ok.req"
send ok
is "$STATUS_LINE" "HTTP/1.1 200 OK" "valid trailers: 200"
is "$RAW_STATUS" 0 "valid trailers: answered, then closed (Connection: close)"
ok "the candidate received the mirror" wait_for 10 backend_nrequests_ge \
    candidate 1
WANT='{"method":"POST","target":"/trailers","headers":[["Host","api.example"],["X-Forwarded-For","127.0.0.1"],["X-Paritytap-Trace-Id","t0240-ok"],["Content-Length","11"]],"body":"hello world"}'
for b in primary candidate; do
	is "$(received $b)" "$WANT" \
	    "$b: exactly the head's headers and the dechunked body, no trailer"
done
ok "the exchange is recorded" wait_for 10 cap_has_id "$CAP" t0240-ok
is "$(cap_get "$CAP" t0240-ok '[.request.headers[].name] | join(",")')" \
    "Host,X-Paritytap-Trace-Id,Transfer-Encoding,Trailer,Connection" \
    "the capture records the head's headers, no trailer"

# Malformed trailer sections: each 400, nothing forwarded.
printf 'POST /bad-space HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-A: 1\r\nTransfer-Encoding : chunked\r\n\r\n' \
    >"$T/space_colon.req"
printf 'POST /bad-fold HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-A: 1\r\n X-B: 2\r\n\r\n' \
    >"$T/obs_fold.req"
printf 'POST /bad-lf HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-A: 1\nContent-Length: 5\r\n\r\n' \
    >"$T/bare_lf.req"
printf 'POST /bad-ctl HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-A: a\001b\r\n\r\n' \
    >"$T/ctl.req"
printf 'POST /bad-colon HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-No-Colon\r\n\r\n' \
    >"$T/no_colon.req"
for c in "space_colon|whitespace in trailer field name" \
    "obs_fold|obsolete line folding (obs-fold) in trailer" \
    "bare_lf|bare LF line ending in trailer" \
    "ctl|control character in a trailer value" \
    "no_colon|trailer line without a colon"; do
	name=${c%%|*}
	send "$name"
	is "$STATUS_LINE" "HTTP/1.1 400 Bad Request" "$name: 400"
	is "$ERROR" "bad request: ${c#*|}" "$name: the error names the fault"
	is "$RAW_STATUS" 0 "$name: the proxy closed the connection"
done

# Over the limits of a header block: 431.
{
	printf 'POST /bad-many HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n'
	i=0
	while [ $i -le 100 ]; do
		printf 'X-T-%d: v\r\n' $i
		i=$((i + 1))
	done
	printf '\r\n'
} >"$T/many.req"
send many
is "$STATUS_LINE" "HTTP/1.1 431 Request Header Fields Too Large" \
    "101 trailer fields: 431"
is "$ERROR" "bad request: more than 100 trailer fields" \
    "101 trailer fields: the error says so"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
# Once the proxy has exited it has written all it ever will, and a backend
# asleep has read and logged all of it.
for b in primary candidate; do
	eval "bpid=\$pt_backend_pid_$b"
	ok "$b: idle after the proxy exited" wait_for 10 asleep "$bpid"
	is "$(received $b)" "$WANT" \
	    "$b: received the valid request and nothing else"
	is "$(backend_events $b '.event == "bad_request"' | wc -l |
	    tr -d ' ')" 0 "$b: received no bytes it could not parse"
done
is "$(jq -r .request.target "$CAP" | tr '\n' ' ')" "/trailers " \
    "the capture has only the valid request"

done_testing
