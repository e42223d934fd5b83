#!/bin/sh
# Responses that have no body whatever their Content-Length says (304,
# 204, 1xx: RFC 9112 6.3): the proxy must not wait for a body that never
# comes, on either side, and the connection to each backend stays usable.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

cat >"$T/backend.json" <<'JSON'
{"routes": [
 {"path": "/cached", "status": 304,
  "headers": [["ETag", "\"v1\""], ["Content-Length", "17"]]},
 {"path": "/gone", "status": 204, "headers": [["Content-Length", "9"]]},
 {"path": "/after", "status": 200, "body": "{\"a\":1}"}
]}
JSON
start_backend primary "$T/backend.json"
start_backend candidate "$T/backend.json"
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --primary-timeout 3600000 --candidate-timeout 3600000 --capture "$CAP" ||
    bail "the proxy did not start"

req cached "$PROXY_URL/cached"
is "$HTTP_CODE" 304 "a 304 with a Content-Length reaches the client"
req gone "$PROXY_URL/gone"
is "$HTTP_CODE" 204 "a 204 with a Content-Length reaches the client"
req after "$PROXY_URL/after"
is "$HTTP_CODE" 200 "the next request is answered"
is "$BODY" '{"a":1}' "with its body"
three_lines() { [ "$(cap_nlines "$CAP")" -ge 3 ]; }
# The timeouts are an hour: recorded while the proxy runs is recorded
# without waiting for one, however slow the machine.
ok "all three exchanges are recorded without waiting for a timeout" \
    wait_for 60 three_lines
ok "... while the proxy runs (timeouts of 1 h)" alive "$PROXY_PID"
stop_proxy
is "$(jq -r '.responses.primary.status' "$CAP" | tr '\n' ' ')" \
    "304 204 200 " "the primary's statuses are recorded"
is "$(jq -r '.verdict' "$CAP" | sort | uniq -c | tr -s ' ' | tr '\n' ' ')" \
    " 3 match " "all three match; no side timed out"
is "$(jq -r '[.responses[].error] | map(select(. != null)) | length' "$CAP" |
    sort -u)" 0 "no error on any side"
done_testing
