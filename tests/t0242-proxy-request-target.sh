#!/bin/sh
# A request's target and Host (DESIGN §7.2 and §7.3, RFC 9112 3.2),
# answered as nginx answers them: an HTTP/1.1 request without Host, a Host
# that is not host[:port] and "*" outside OPTIONS get 400 and reach no
# backend; an absolute-form target is sent on in origin-form with its
# authority as Host (--host still wins); a header whose name has an
# underscore is dropped (nginx's underscores_in_headers off).

. "$(dirname "$0")/lib.sh"
need jq
need_binaries

start_backend primary
start_backend candidate
PRI=127.0.0.1:$(backend_port primary)
CAP=$T/capture.jsonl
start_proxy --primary "http://$PRI" \
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

# received BACKEND ID: the request with that trace id the backend
# received, compact JSON: method, target, headers in wire order, body.
received() {
	backend_requests "$1" | jq -c --arg id "$2" \
	    'select(any(.headers[]; .[1] == $id)) | {method, target, headers,
	    body}'
}

# Refused, each on a connection of its own.
printf 'GET /no-host HTTP/1.1\r\nX-A: 1\r\n\r\n' >"$T/no_host.req"
printf 'GET /host-list HTTP/1.1\r\nHost: a.example, b.example\r\n\r\n' \
    >"$T/host_list.req"
printf 'GET /host-empty HTTP/1.1\r\nHost: \r\n\r\n' >"$T/host_empty.req"
printf 'GET /host-path HTTP/1.1\r\nHost: a.example/admin\r\n\r\n' \
    >"$T/host_path.req"
printf 'GET * HTTP/1.1\r\nHost: x\r\n\r\n' >"$T/get_star.req"
printf 'GET http://x.example/abs-no-host HTTP/1.1\r\n\r\n' \
    >"$T/abs_no_host.req"
printf 'GET http://user@x.example/abs-userinfo HTTP/1.1\r\nHost: x.example\r\n\r\n' \
    >"$T/abs_userinfo.req"
printf 'GET ftp://x.example/abs-ftp HTTP/1.1\r\nHost: x.example\r\n\r\n' \
    >"$T/abs_ftp.req"
for c in "no_host|HTTP/1.1 request without Host" \
    "host_list|invalid Host: a.example, b.example" \
    "host_empty|invalid Host: " \
    "host_path|invalid Host: a.example/admin" \
    "get_star|request target * outside OPTIONS" \
    "abs_no_host|HTTP/1.1 request without Host" \
    "abs_userinfo|invalid authority in the request target: user@x.example" \
    "abs_ftp|request target is neither a path nor an http or https URI"; do
	name=${c%%|*}
	send "$name"
	is "$STATUS_LINE" "HTTP/1.1 400 Bad Request" "$name: 400"
	is "$ERROR" "bad request: ${c#*|}" "$name: the error names the fault"
	is "$RAW_STATUS" 0 "$name: the proxy closed the connection"
done

# Absolute-form beside a different Host: origin-form, the target's
# authority as Host.
printf 'GET http://X.example:8080/abs?q=1 HTTP/1.1\r\nHost: other.example\r\nX-Paritytap-Trace-Id: t0242-abs\r\nConnection: close\r\n\r\n' \
    >"$T/abs.req"
# Underscored names dropped, however they would normalize.
printf 'POST /under HTTP/1.1\r\nHost: x\r\nX-Paritytap-Trace-Id: t0242-under\r\nTransfer_Encoding: chunked\r\nContent_Length: 3\r\nX_Api_Key: k\r\nX-Kept: yes\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello' \
    >"$T/under.req"
# OPTIONS * as it is; HTTP/1.0 without Host gets the primary's authority.
printf 'OPTIONS * HTTP/1.1\r\nHost: x\r\nX-Paritytap-Trace-Id: t0242-star\r\nConnection: close\r\n\r\n' \
    >"$T/star.req"
printf 'GET /h10 HTTP/1.0\r\nX-Paritytap-Trace-Id: t0242-h10\r\n\r\n' \
    >"$T/h10.req"
for c in abs under star h10; do
	send $c
	like "$STATUS_LINE" '^HTTP/1\.1 200 OK$' "$c: 200"
	ok "$c: the candidate received the mirror" wait_for 10 backend_has \
	    candidate "any(.headers[]?; .[1] == \"t0242-$c\")"
done
XFF='["X-Forwarded-For","127.0.0.1"]'
for b in primary candidate; do
	is "$(received $b t0242-abs)" \
	    '{"method":"GET","target":"/abs?q=1","headers":[["Host","X.example:8080"],'"$XFF"',["X-Paritytap-Trace-Id","t0242-abs"]],"body":""}' \
	    "$b: absolute-form sent as origin-form, the authority as Host"
	is "$(received $b t0242-under)" \
	    '{"method":"POST","target":"/under","headers":[["Host","x"],["X-Kept","yes"],'"$XFF"',["X-Paritytap-Trace-Id","t0242-under"],["Content-Length","5"]],"body":"hello"}' \
	    "$b: no header with an underscore in its name"
	is "$(received $b t0242-star)" \
	    '{"method":"OPTIONS","target":"*","headers":[["Host","x"],'"$XFF"',["X-Paritytap-Trace-Id","t0242-star"]],"body":""}' \
	    "$b: OPTIONS * as sent"
	is "$(received $b t0242-h10)" \
	    '{"method":"GET","target":"/h10","headers":[["Host","'"$PRI"'"],'"$XFF"',["X-Paritytap-Trace-Id","t0242-h10"]],"body":""}' \
	    "$b: HTTP/1.0 without Host: the primary's authority"
done
ok "the absolute-form exchange is recorded" wait_for 10 cap_has_id "$CAP" \
    t0242-abs
is "$(cap_get "$CAP" t0242-abs '.request.target + " " + .route + " " +
    (.request.headers[] | select(.name == "Host") | .value)')" \
    "/abs?q=1 GET /abs X.example:8080" \
    "the capture records the request as the backends got it"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
for b in primary candidate; do
	eval "bpid=\$pt_backend_pid_$b"
	ok "$b: idle after the proxy exited" wait_for 10 asleep "$bpid"
	is "$(backend_requests $b | jq -r .target | sort | tr '\n' ' ')" \
	    "* /abs?q=1 /h10 /under " "$b: received only the accepted requests"
	is "$(backend_events $b '.event == "bad_request"' | wc -l |
	    tr -d ' ')" 0 "$b: received no bytes it could not parse"
done
is "$(jq -r .request.target "$CAP" | sort | tr '\n' ' ')" \
    "* /abs?q=1 /h10 /under " "the capture has only the accepted requests"

# --host still rewrites Host, an absolute-form's authority too.
start_proxy --primary "http://$PRI" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --host api.internal || bail "the proxy did not start"
sed 's/t0242-abs/t0242-abs-host/' "$T/abs.req" >"$T/abs_host.req"
send abs_host
is "$STATUS_LINE" "HTTP/1.1 200 OK" "--host, absolute-form: 200"
ok "--host: the candidate received the mirror" wait_for 10 backend_has \
    candidate 'any(.headers[]?; .[1] == "t0242-abs-host")'
for b in primary candidate; do
	is "$(received $b t0242-abs-host)" \
	    '{"method":"GET","target":"/abs?q=1","headers":[["Host","api.internal"],'"$XFF"',["X-Paritytap-Trace-Id","t0242-abs-host"]],"body":""}' \
	    "$b: --host wins over the target's authority"
done
stop_proxy
is "$PROXY_STATUS" 0 "the second proxy exits 0"

done_testing
