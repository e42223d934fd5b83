#!/bin/sh
# The config file (DESIGN §8): [proxy] keys are the long options, a
# [route "METHOD /path"] section carries per-route ignores, flags win over
# the file, and an unknown key or a malformed value is a usage error (exit
# 2) whose message names FILE:LINE.

. "$(dirname "$0")/lib.sh"
need curl jq timeout
need_binaries

B_P='{"ok":true,"Reason":"all checks passed"}'
B_C='{"ok":true}'
CT='[["Content-Type", "application/json"]]'
jq -n --arg b "$B_P" --argjson ct "$CT" \
    '{default: {status: 200, headers: $ct, body: $b}}' >"$T/primary.json"
jq -n --arg b "$B_C" --argjson ct "$CT" \
    '{default: {status: 200, headers: $ct, body: $b}}' >"$T/candidate.json"
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
PRI=http://127.0.0.1:$(backend_port primary)
CAN=http://127.0.0.1:$(backend_port candidate)

# --- a config file that sets the backends, the capture and a route rule ---
CAP=$T/from-config.jsonl
cat >"$T/good.ini" <<EOF2
# paritytap test configuration
[proxy]
primary = $PRI
candidate = $CAN
capture = $CAP

[route "POST /v1/validate"]
ignore = \$.Reason
EOF2
start_proxy --config "$T/good.ini" || bail "the proxy did not start with $T/good.ini"
req v -X POST -H 'Content-Type: application/json' --data '{"case":"x"}' \
    "$PROXY_URL/v1/validate"
is "$HTTP_CODE" 200 "config: the backends come from [proxy]"
is "$BODY" "$B_P" "config: the client got the primary's body"
id_v=$TRACE
req o "$PROXY_URL/other"
id_o=$TRACE
stop_proxy
is "$PROXY_STATUS" 0 "config: the proxy exits 0"
ok "config: the capture file comes from [proxy] capture" test -s "$CAP"
is "$(cap_get "$CAP" "$id_v" .verdict)" match \
    "config: [route \"POST /v1/validate\"] ignore = \$.Reason hides the missing \$.Reason"
is "$(cap_get "$CAP" "$id_o" .verdict)" shape \
    "config: the ignore applies to that route only (GET /other: shape)"
is "$(cap_get "$CAP" "$id_o" '[.diffs[] | select(.kind == "missing" and .path == "$.Reason")] | length')" \
    1 "config: GET /other lists missing \$.Reason"
DL=$(diverge_lines)
is "$(printf '%s\n' "$DL" | grep -c '^DIVERGE')" 1 "config: one DIVERGE line"
like "$DL" "^DIVERGE shape GET /other id=$id_o status 200=200 \\\$\\.Reason missing\\(candidate\\)" \
    "config: the flag is for GET /other"

# --- flags win over the file ---
CAP2=$T/flags.jsonl
cat >"$T/flags.ini" <<EOF2
[proxy]
primary = $PRI
candidate = $CAN
capture = $T/not-this-one.jsonl
sample = 0
trace-header = X-Config-Trace
EOF2
start_proxy --config "$T/flags.ini" --capture "$CAP2" ||
    bail "the proxy did not start with $T/flags.ini"
req s0 "$PROXY_URL/items"
id_s0=$(header_of "$T/s0.hdr" X-Config-Trace)
stop_proxy
is "$PROXY_STATUS" 0 "flags: the proxy exits 0"
ok "flags: --capture wins over the file's capture" test -s "$CAP2"
ok "flags: the file's capture is not written" test ! -e "$T/not-this-one.jsonl"
like "$id_s0" '^[[:graph:]]+$' "config: trace-header from the file is used"
is "$(cap_get "$CAP2" "$id_s0" '.verdict + " " + .skip_reason')" \
    "skipped sample" "config: sample = 0 from the file is used"

c0=$(backend_nrequests candidate)
CAP3=$T/flags3.jsonl
start_proxy --config "$T/flags.ini" --capture "$CAP3" --sample 1 \
    --trace-header X-Flag-Trace || bail "the proxy did not start"
req s1 "$PROXY_URL/items"
id_s1=$(header_of "$T/s1.hdr" X-Flag-Trace)
like "$id_s1" '^[[:graph:]]+$' "flags: --trace-header wins over the file"
is "$(header_of "$T/s1.hdr" X-Config-Trace)" "" \
    "flags: the file's trace-header is not used"
ok "flags: --sample 1 wins over the file's sample = 0 (mirrored)" \
    wait_for 10 backend_nrequests_ge candidate $((c0 + 1))
stop_proxy
is "$PROXY_STATUS" 0 "flags: the proxy exits 0"
is "$(cap_get "$CAP3" "$id_s1" .verdict)" shape \
    "flags: the exchange was compared (shape: no route rule here)"

# --- errors name FILE:LINE ---
# bad_config NAME LINE DESC: the file must be refused with exit 2 and a
# message naming NAME:LINE.
bad_config() {
	timeout 10 "$PARITYTAP" proxy --listen 127.0.0.1:0 \
	    --config "$T/$1" >"$T/$1.out" 2>"$T/$1.err" </dev/null
	_st=$?
	is "$_st" 2 "$3: exit 2"
	contains "$(cat "$T/$1.err")" "$1:$2" "$3: the message names $1:$2"
}

printf '[proxy]\nprimary = %s\nfrobnicate = 1\ncandidate = %s\n' \
    "$PRI" "$CAN" >"$T/unknown-key.ini"
bad_config unknown-key.ini 3 "an unknown key"

printf '[proxy]\nsample = lots\nprimary = %s\ncandidate = %s\n' \
    "$PRI" "$CAN" >"$T/bad-sample.ini"
bad_config bad-sample.ini 2 "a malformed sample value"

printf '[proxy]\nprimary = %s\ncandidate = %s\n\n[route "POST /v1/validate"]\nignore = not-a-path\n' \
    "$PRI" "$CAN" >"$T/bad-ignore.ini"
bad_config bad-ignore.ini 6 "a malformed JSONPath in a route section"

printf '[proxy]\nprimary = %s\ncandidate = %s\n[nonsense]\nx = 1\n' \
    "$PRI" "$CAN" >"$T/bad-section.ini"
timeout 10 "$PARITYTAP" proxy --listen 127.0.0.1:0 \
    --config "$T/bad-section.ini" >/dev/null 2>"$T/bad-section.err" </dev/null
is "$?" 2 "an unknown section: exit 2"
contains "$(cat "$T/bad-section.err")" "bad-section.ini:" \
    "an unknown section: the message names the file and line"

done_testing
