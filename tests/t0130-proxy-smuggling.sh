#!/bin/sh
# Strict parsing (DESIGN §7.3): every ambiguous or malformed request gets a
# 400 with Connection: close, reaches no backend and writes no capture
# line.  A valid request on a fresh connection still works afterwards.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

start_backend primary
start_backend candidate
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" --header-timeout 1000 || bail "the proxy did not start"

# Each payload is written with printf so that it may hold NUL, bare CR or
# bare LF bytes exactly.
printf 'POST /smuggle HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG' \
    >"$T/cl_te.req"
printf 'POST /smuggle HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\nG' \
    >"$T/te_cl.req"
printf 'POST /smuggle HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!' \
    >"$T/two_cl.req"
printf 'POST /smuggle HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\nhello' \
    >"$T/cl_nonnumeric.req"
printf 'POST /smuggle HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' \
    >"$T/te_space_colon.req"
printf 'GET /smuggle HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n' \
    >"$T/obs_fold.req"
printf 'GET /smuggle HTTP/1.1\r\nHost: x\r\nX-Nul: a\000b\r\n\r\n' \
    >"$T/nul_in_value.req"
printf 'GET /smuggle HTTP/1.1\r\nHost: x\r\nX-Cr: a\rb\r\n\r\n' \
    >"$T/cr_in_value.req"
printf 'GET /smuggle HTTP/1.1\nHost: x\n\n' >"$T/bare_lf.req"
printf 'GET /smuggle HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n' \
    >"$T/bare_lf_header.req"
printf 'POST /smuggle HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' \
    >"$T/te_gzip_chunked.req"
printf 'POST /smuggle HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\nhello' \
    >"$T/te_identity.req"

printf 'GET /smuggle HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n' \
    >"$T/two_host.req"

CASES="cl_te te_cl two_cl cl_nonnumeric te_space_colon obs_fold nul_in_value
    cr_in_value bare_lf bare_lf_header te_gzip_chunked te_identity two_host"

for c in $CASES; do
	"$RAWCLIENT" 127.0.0.1 "$PROXY_PORT" --timeout $((PT_WAIT_MIN * 1000)) \
	    <"$T/$c.req" >"$T/$c.resp" 2>"$T/$c.rawerr"
	st=$?
	status_line=$(head -n 1 "$T/$c.resp" | tr -d '\r')
	like "$status_line" '^HTTP/1\.[01] 400 ' "$c: 400 status line"
	is "$st" 0 "$c: the proxy closed the connection"
	hdrs=$(tr -d '\r' <"$T/$c.resp" | sed '/^$/q')
	like "$hdrs" '^[Cc]onnection: *close$' "$c: Connection: close"
	body=$(tr -d '\r' <"$T/$c.resp" | sed '1,/^$/d')
	like "$(printf '%s' "$body" | jq -r .error 2>/dev/null)" '^bad request' \
	    "$c: the body is {\"error\":\"bad request: ...\"}"
done

# Header limits (DESIGN §7.3): more than 100 header lines, more than
# 64 KiB of headers.  400 or 431, and nothing forwarded.
{
	printf 'GET /many HTTP/1.1\r\nHost: x\r\n'
	i=1
	while [ $i -le 150 ]; do
		printf 'X-H-%d: v\r\n' $i
		i=$((i + 1))
	done
	printf '\r\n'
} >"$T/many_headers.req"
{
	printf 'GET /huge HTTP/1.1\r\nHost: x\r\nX-Huge: '
	head -c 70000 /dev/zero | tr '\0' 'a'
	printf '\r\n\r\n'
} >"$T/huge_header.req"
for c in many_headers huge_header; do
	"$RAWCLIENT" 127.0.0.1 "$PROXY_PORT" --timeout $((PT_WAIT_MIN * 1000)) \
	    <"$T/$c.req" >"$T/$c.resp" 2>"$T/$c.rawerr"
	like "$(head -n 1 "$T/$c.resp" | tr -d '\r')" '^HTTP/1\.[01] (400|431) ' \
	    "$c: 400 or 431 status line"
done

# Slowloris: a header block that never ends is cut at the deadline
# (--header-timeout, 10 s by default, 1 s here).
printf 'GET /slowloris HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n' >"$T/slowloris.req"
"$RAWCLIENT" 127.0.0.1 "$PROXY_PORT" --timeout 120000 <"$T/slowloris.req" \
    >"$T/slowloris.resp" 2>"$T/slowloris.rawerr"
is "$?" 0 "slowloris: the proxy closes an unfinished header block (--header-timeout)"
like "$(head -n 1 "$T/slowloris.resp" | tr -d '\r')" '^(HTTP/1\.[01] 408 |$)' \
    "slowloris: 408 or a silent close"

# A valid request on a fresh connection still works.
printf 'POST /fine HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello' \
    >"$T/valid.req"
"$RAWCLIENT" 127.0.0.1 "$PROXY_PORT" --timeout $((PT_WAIT_MIN * 1000)) <"$T/valid.req" \
    >"$T/valid.resp" 2>"$T/valid.rawerr"
like "$(head -n 1 "$T/valid.resp" | tr -d '\r')" '^HTTP/1\.1 200 ' \
    "a valid request afterwards gets 200"
contains "$(cat "$T/valid.resp")" '"target":"/fine"' \
    "... with the primary's answer"
ok "the candidate received the valid request" \
    wait_for 10 backend_nrequests_ge candidate 1
is "$(backend_requests primary | jq -r '.method + " " + .target + " " + .body')" \
    "POST /fine hello" "the primary received exactly the valid request"
is "$(backend_requests candidate | jq -r '.method + " " + .target + " " + .body')" \
    "POST /fine hello" "the candidate received exactly the valid request"

# curl through a keep-alive connection after the bad ones, too.
req curl_after "$PROXY_URL/fine2"
is "$HTTP_CODE" 200 "curl afterwards gets 200"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
# A mirror, if one was (wrongly) sent, is asynchronous.  Once the proxy
# has exited it has written all it ever will, and a backend asleep (in
# its event loop's wait) has read and logged all of it: no time to guess.
for b in primary candidate; do
	eval "bpid=\$pt_backend_pid_$b"
	ok "$b: idle after the proxy exited" wait_for 10 asleep "$bpid"
	is "$(backend_requests $b | jq -r .target | tr '\n' ' ')" \
	    "/fine /fine2 " "$b: received only the two valid requests"
	is "$(backend_events $b '.event == "bad_request"' | wc -l |
	    tr -d ' ')" 0 "$b: received no bytes it could not parse"
done
ok "the capture is valid JSONL" cap_valid "$CAP"
is "$(cap_nlines "$CAP")" 2 "the capture has only the two valid requests"
is "$(jq -r .request.target "$CAP" | sort | tr '\n' ' ')" "/fine /fine2 " \
    "the capture lines are the valid requests"

done_testing
