#!/bin/sh
# Out of file descriptors, accept(2) fails while the connection waits in
# the backlog: the proxy must pause accepting and say so at most once a
# second, not spin on the listening socket writing the same error (a
# plain listener wrote millions of lines in seconds).  Every client is
# still answered once descriptors are free again.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

# The primary holds each request a while, so connections pile up.
jq -n '{default: {status: 200, headers: [["Content-Type", "application/json"]],
    body_json: {ok: true}, delay_ms: 300}}' >"$T/slow.json"
start_backend primary "$T/slow.json"
start_backend candidate

# A descriptor limit the proxy cannot raise: 40, hard and soft.
cat >"$T/lowfd.sh" <<EOS
#!/bin/sh
ulimit -n 40 || exit 99
exec "$PARITYTAP" "\$@"
EOS
chmod +x "$T/lowfd.sh"
REAL=$PARITYTAP
PARITYTAP=$T/lowfd.sh
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --header-timeout 2000 ||
    bail "the proxy did not start under ulimit -n 40"
PARITYTAP=$REAL

start=$(date +%s)
# Forty clients that never finish their header block hold every free
# descriptor until the proxy cuts them off at --header-timeout (2 s);
# meanwhile the 60 requests wait in the listen backlog.
printf 'GET /slow HTTP/1.1\r\nHost: x\r\n' >"$T/partial.req"
i=0
holders=
while [ $i -lt 40 ]; do
	"$RAWCLIENT" 127.0.0.1 "$PROXY_PORT" --timeout 120000 \
	    <"$T/partial.req" >/dev/null 2>&1 &
	holders="$holders $!"
	track $!
	i=$((i + 1))
done
curl -sS --noproxy '*' --max-time 300 --parallel --parallel-immediate \
    --parallel-max 60 -H 'Connection: close' -o /dev/null -w '%{http_code}\n' \
    "$PROXY_URL/fd/[1-60]" >"$T/codes" 2>/dev/null
for p in $holders; do
	wait "$p" 2>/dev/null
done
elapsed=$(( $(date +%s) - start ))

is "$(grep -c '^000$' "$T/codes")" 0 "every client got a response"
is "$(wc -l <"$T/codes" | tr -d ' ')" 60 "60 responses"
n=$(grep -c 'Too many open files' "$PROXY_ERR")
cmp_ok "$n" -ge 1 "running out of descriptors is said"
# At most one line a second, whatever the machine's speed: the bound
# grows with the time the run took.
cmp_ok "$n" -le $((elapsed + 2)) \
    "... at most once a second ($n lines in ${elapsed} s)"
ok "the proxy is still running" alive "$PROXY_PID"
req after "$PROXY_URL/after"
is "$HTTP_CODE" 200 "a request afterwards is answered"
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"

done_testing
