#!/bin/sh
# The admin listener's /metrics: the text format promtool accepts (no
# errors, no lint warnings), every family of DESIGN §5 with # HELP and
# # TYPE, the exchanges the test sent by route and verdict exactly, and
# /healthz, 404, 405, HEAD; --admin's address forms and its usage errors.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-admin.sh"
need curl
need_binaries

start_backend primary
start_backend candidate
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" --admin 0 || bail "the proxy did not start"
ADMIN=$(admin_addr)
like "$ADMIN" '^127\.0\.0\.1:[1-9][0-9]*$' \
    "--admin 0: loopback, the port on the start line"

# The test backend answers each with its own name: a value divergence.
for i in 1 2 3; do one a "$PROXY_URL/users/$i"; done
one b "$PROXY_URL/health"
is "$HTTP_CODE" 200 "the client's requests are answered"
ok "every exchange is compared and recorded" wait_for 30 processed

scrape
is "$HTTP_CODE" 200 "GET /metrics: 200"
like "$(header_of "$T/scrape.hdr" Content-Type)" \
    '^text/plain; version=0\.0\.4; charset=utf-8' "the 0.0.4 content type"
is "$(metric 'paritytap_exchanges_total{route="GET /users/{id}",verdict="value"}')" \
    3 "three exchanges on GET /users/{id}, verdict value"
is "$(metric 'paritytap_exchanges_total{route="GET /health",verdict="value"}')" \
    1 "one on GET /health"
is "$(grep -c '^paritytap_exchanges_total' "$T/scrape.body")" 2 \
    "no other exchange series"
is "$(metric 'paritytap_backend_latency_seconds_count{side="candidate",route="GET /users/{id}"}')" \
    3 "the candidate's latency histogram counts the three"
is "$(metric 'paritytap_backend_latency_seconds_bucket{side="primary",route="GET /users/{id}",le="+Inf"}')" \
    3 "... and so does the primary's, up to +Inf"
is "$(metric 'paritytap_backend_errors_total{side="candidate",reason="connect"}')" \
    0 "no candidate errors"
is "$(metric 'paritytap_queue_dropped_total')" 0 "nothing dropped"
is "$(metric 'paritytap_inflight{side="candidate"}')" 0 "nothing in flight"
cb=$(metric paritytap_capture_bytes_total)
is "$cb" "$(wc -c <"$CAP" | tr -d ' ')" \
    "capture bytes: the capture file's size"
like "$(grep '^paritytap_build_info' "$T/scrape.body")" \
    '^paritytap_build_info\{version="[0-9][^"]*"\} 1$' "build_info"
is "$(metric process_start_time_seconds | grep -c '^[1-9][0-9]*$')" 1 \
    "process_start_time_seconds"
like "$(metric process_resident_memory_bytes)" '^[1-9][0-9]*$' \
    "process_resident_memory_bytes"
like "$(metric process_open_fds)" '^[1-9][0-9]*$' "process_open_fds"

for f in paritytap_exchanges_total paritytap_drifts \
    paritytap_drift_events_total paritytap_backend_errors_total \
    paritytap_backend_latency_seconds paritytap_mirror_dropped_total \
    paritytap_queue_depth paritytap_queue_dropped_total \
    paritytap_capture_bytes_total paritytap_capture_errors_total \
    paritytap_alerts_sent_total paritytap_alerts_failed_total \
    paritytap_inflight paritytap_build_info process_cpu_seconds_total \
    process_resident_memory_bytes process_virtual_memory_bytes \
    process_open_fds process_max_fds process_start_time_seconds; do
	ok "$f: # HELP and # TYPE" eval \
	    'grep -q "^# HELP $f " "$T/scrape.body" &&
	    grep -q "^# TYPE $f " "$T/scrape.body"'
done

if command -v promtool >/dev/null 2>&1; then
	promtool check metrics <"$T/scrape.body" >"$T/promtool.out" 2>&1
	is "$?" 0 "promtool check metrics: no error"
	is "$(cat "$T/promtool.out")" "" "... and no lint warning"
	diag_file "$T/promtool.out"
else
	skip "promtool not installed" 2
fi

admin health /healthz
is "$HTTP_CODE:$BODY" "200:ok" "GET /healthz: 200 ok"
admin nothing /nothing
is "$HTTP_CODE" 404 "an unknown path: 404"
admin post /healthz -X POST -d x
is "$HTTP_CODE" 405 "POST: 405"
like "$(header_of "$T/post.hdr" Allow)" '^GET, HEAD' "... saying what is allowed"
admin head /healthz -I
is "$HTTP_CODE" 200 "HEAD /healthz: 200"
is "$(header_of "$T/head.hdr" Content-Length)" 3 "... the length of ok"
is "$(grep -c '^ok' "$T/head.body")" 0 "... without the body"
admin page /
is "$HTTP_CODE" 200 "GET /: the dashboard"
like "$BODY" 'paritytap' "... a page that says paritytap"
like "$(header_of "$T/page.hdr" Content-Type)" '^text/html' "... as HTML"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy stops cleanly with the admin listener on"

# --admin's forms and errors.
usage() {
	"$PARITYTAP" proxy --listen 127.0.0.1:0 \
	    --primary "http://127.0.0.1:$(backend_port primary)" \
	    --candidate "http://127.0.0.1:$(backend_port candidate)" \
	    "$@" >"$T/usage.out" 2>"$T/usage.err"
	USAGE_STATUS=$?
}
usage --admin 127.0.0.1:99999
is "$USAGE_STATUS" 2 "--admin with a port past 65535: usage error"
like "$(cat "$T/usage.err")" '--admin 127\.0\.0\.1:99999: bad port' \
    "... naming it"
usage --admin '[::1'
is "$USAGE_STATUS" 2 "--admin [::1: usage error"
like "$(cat "$T/usage.err")" 'not ADDR:PORT' "... saying the form"
usage --admin 0 --admin-token "$T/absent"
is "$USAGE_STATUS" 2 "--admin-token of a missing file: usage error"
like "$(cat "$T/usage.err")" "--admin-token $T/absent: No such file" \
    "... naming the file"
printf '\n' >"$T/empty"
usage --admin 0 --admin-token "$T/empty"
is "$USAGE_STATUS" 2 "--admin-token of an empty file: usage error"
like "$(cat "$T/usage.err")" 'the file is empty' "... saying so"
usage --admin 0 --max-routes 0
is "$USAGE_STATUS" 2 "--max-routes 0: usage error"
like "$(cat "$T/usage.err")" 'max-routes' "... naming it"
usage --admin 0 --ready-window soon
is "$USAGE_STATUS" 2 "--ready-window soon: usage error"
like "$(cat "$T/usage.err")" 'ready-window.*not a duration' "... naming it"

if curl -s -o /dev/null --max-time 2 "http://[::1]:1/" 2>/dev/null ||
    [ -f /proc/net/if_inet6 ]; then
	start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
	    --candidate "http://127.0.0.1:$(backend_port candidate)" \
	    --admin '[::1]:0' || bail "the proxy did not start on [::1]"
	ADMIN=$(admin_addr)
	like "$ADMIN" '^\[::1\]:[1-9][0-9]*$' "--admin [::1]:0: an IPv6 address"
	admin v6 /healthz
	is "$HTTP_CODE" 200 "... that answers"
	stop_proxy
else
	skip "no IPv6" 2
fi

done_testing
