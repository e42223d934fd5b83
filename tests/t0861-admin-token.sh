#!/bin/sh
# --admin-token: every admin request must carry "Authorization: Bearer"
# and the file's token (its trailing newline trimmed).  None, a wrong
# one, a prefix of it, one longer, a too-long header or another scheme:
# 401 with WWW-Authenticate: Bearer, on every path, and nothing leaks.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-admin.sh"
need curl
need_binaries

start_backend primary
start_backend candidate
TOKEN=s3cret-token-0123456789
printf '%s\n' "$TOKEN" >"$T/token"
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --admin 0 --admin-token "$T/token" || bail "the proxy did not start"
ADMIN=$(admin_addr)

# refused NAME WHAT [CURL ARGS]: the request is refused with 401.
refused() {
	_rn=$1
	_rw=$2
	shift 2
	for _p in /metrics /api/summary /api/drifts /api/exchanges /healthz; do
		admin "$_rn" "$_p" "$@"
		is "$HTTP_CODE" 401 "$_rw: $_p is 401"
	done
	is "$(header_of "$T/$_rn.hdr" WWW-Authenticate)" Bearer \
	    "$_rw: WWW-Authenticate: Bearer"
	is "$(grep -c paritytap_ "$T/$_rn.body")" 0 "$_rw: no metric in the body"
}

refused none "no token"
refused wrong "a wrong token" -H "Authorization: Bearer nope"
refused prefix "a prefix of the token" \
    -H "Authorization: Bearer ${TOKEN%?}"
refused longer "the token and more" -H "Authorization: Bearer ${TOKEN}x"
refused basic "the token as Basic" -H "Authorization: Basic $TOKEN"
refused bare "the token without a scheme" -H "Authorization: $TOKEN"
refused empty "Bearer and nothing" -H "Authorization: Bearer "
long=$(head -c 6000 /dev/zero | tr '\0' a)
refused long "a 6000-byte token" -H "Authorization: Bearer $long"
refused newline "the token with its newline, percent-encoded" \
    -H "Authorization: Bearer $TOKEN%0a"

admin page /
is "$HTTP_CODE" 200 "the dashboard page: 200 without the token"
like "$BODY" '<title>[^<]*paritytap' "... it is the page"
is "$(grep -c paritytap_build_info "$T/page.body")" 0 \
    "... and holds no data"
admin pagepost / -X POST
is "$HTTP_CODE" 401 "a POST to / still needs the token"

admin right /metrics -H "Authorization: Bearer $TOKEN"
is "$HTTP_CODE" 200 "the right token: 200"
like "$BODY" 'paritytap_build_info' "... and the metrics"
admin right2 /healthz -H "authorization: bearer $TOKEN"
is "$HTTP_CODE:$BODY" "200:ok" "the scheme and header name in any case"

# A header block past the admin listener's bound: refused, not served.
huge=$(head -c 20000 /dev/zero | tr '\0' b)
admin huge /metrics -H "Authorization: Bearer $TOKEN" -H "X-Pad: $huge"
isnt "$HTTP_CODE" 200 "a 20000-byte header block is not served"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy stops cleanly"
unlike "$(cat "$PROXY_ERR")" "$TOKEN" "the token is never printed"

done_testing
