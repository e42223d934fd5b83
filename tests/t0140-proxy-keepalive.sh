#!/bin/sh
# Keep-alive both ways (DESIGN §7.4): 100 requests over one client
# connection reach each backend over a handful of pooled connections, not
# one connection per request; pipelined requests are answered in order.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

start_backend primary
start_backend candidate
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" || bail "the proxy did not start"

# One curl, 100 URLs: curl reuses its connection to the proxy.
curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -o /dev/null \
    -w '%{http_code} %{num_connects}\n' "$PROXY_URL/ka/[1-100]" \
    >"$T/codes" 2>"$T/curl.err"
is "$(grep -c '^200 ' "$T/codes")" 100 "100 requests, 100 answers 200"
is "$(awk '{ n += $2 } END { print n + 0 }' "$T/codes")" 1 \
    "the client's connection to the proxy was kept alive (1 connect)"

ok "the candidate received all 100 mirrors" \
    wait_for 20 backend_nrequests_ge candidate 100

# /__stats counts only connections that carried a real request, so the
# stats connection itself is not in "connections".
for b in primary candidate; do
	stats=$(backend_stats $b)
	is "$(printf '%s' "$stats" | jq -r .requests)" 100 \
	    "$b: /__stats requests == 100"
	cmp_ok "$(printf '%s' "$stats" | jq -r .connections)" -le 4 \
	    "$b: 100 requests came over at most 4 connections"
	cmp_ok "$(printf '%s' "$stats" | jq -r .connections)" -ge 1 \
	    "$b: at least one connection"
done
is "$(backend_requests primary | jq -r .target | tr '\n' ' ')" \
    "$(i=1; while [ $i -le 100 ]; do printf '/ka/%d ' $i; i=$((i + 1)); done)" \
    "the primary received the 100 requests in order"

# Pipelining: three requests in one write, the second with a body, the
# third asking to close.
printf 'GET /p/1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /p/2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /p/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
    >"$T/pipe.req"
"$RAWCLIENT" 127.0.0.1 "$PROXY_PORT" --timeout $((PT_WAIT_MIN * 1000)) <"$T/pipe.req" \
    >"$T/pipe.resp" 2>"$T/pipe.err"
st=$?
is "$st" 0 "pipelined: the proxy closed after 'Connection: close'"
is "$(grep -o 'HTTP/1\.[01] [0-9][0-9][0-9]' "$T/pipe.resp" | tr '\n' ' ')" \
    "HTTP/1.1 200 HTTP/1.1 200 HTTP/1.1 200 " \
    "pipelined: three 200 responses"
is "$(grep -o '"target":"/p/[0-9]"' "$T/pipe.resp" | tr '\n' ' ')" \
    '"target":"/p/1" "target":"/p/2" "target":"/p/3" ' \
    "pipelined: the responses come in request order"
contains "$(cat "$T/pipe.resp")" '"method":"POST","target":"/p/2"' \
    "pipelined: the POST reached the primary as a POST"
contains "$(grep -o '"target":"/p/2"[^}]*"body":"[^"]*"' "$T/pipe.resp")" \
    '"body":"hello"' "pipelined: the POST's body reached the primary"

# An HTTP/1.0 client without keep-alive: answered, then closed.
printf 'GET /h10 HTTP/1.0\r\nHost: x\r\n\r\n' >"$T/h10.req"
"$RAWCLIENT" 127.0.0.1 "$PROXY_PORT" --timeout $((PT_WAIT_MIN * 1000)) <"$T/h10.req" \
    >"$T/h10.resp" 2>"$T/h10.err"
st=$?
like "$(head -n 1 "$T/h10.resp" | tr -d '\r')" '^HTTP/1\.[01] 200 ' \
    "HTTP/1.0: 200"
is "$st" 0 "HTTP/1.0: the proxy closed the connection after the response"
contains "$(cat "$T/h10.resp")" '"target":"/h10"' "HTTP/1.0: the primary's body"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
is "$(cap_nlines "$CAP")" 104 "104 capture lines"
ok "the capture is valid JSONL" cap_valid "$CAP"

done_testing
