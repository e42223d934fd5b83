#!/bin/sh
# A gzip "bomb" (a few KB that inflate to 48 MiB) on both sides, the
# candidate's one byte longer: the compare decodes a body up to --max-body
# and no further, in the proxy, replay, rejudge and sniff alike.  Past it the
# exchange is a body divergence whose diffs say each body decodes to more
# than --max-body and cannot be compared (never a match, never a silent
# cut); the client still gets the primary's exact bytes, the process
# stays up, and its peak memory stays far below the two decoded bodies.
# A bomb whose gzip trailer lies about its size is stopped at the bound
# too.  The same bytes on both sides match without being decoded whole.
# export --max-body writes such a body to a HAR as received, saying why.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-sniff.sh"
need curl jq gzip head tail cmp python3
need_binaries

MIB=1048576
# 48 MiB of zeros, and the same with one byte more: each ~47 KB gzipped.
head -c $((48 * MIB)) /dev/zero | gzip -nc >"$T/p.gz"
{ head -c $((48 * MIB)) /dev/zero; printf x; } | gzip -nc >"$T/c.gz"
# The primary's bomb with a trailer that says it holds 100 bytes.
python3 -c '
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[-4:] = (100).to_bytes(4, "little")
open(sys.argv[2], "wb").write(b)' "$T/p.gz" "$T/liar.gz"
cmp_ok "$(wc -c <"$T/p.gz")" -lt 100000 "the bomb is under 100 KB gzipped"

HDRS='[["Content-Type", "text/plain"], ["Content-Encoding", "gzip"]]'
fixture() {
	jq -n --argjson h "$HDRS" --arg bomb "$1" --arg liar "$2" '{routes: [
		{path: "/bomb", headers: $h, body_file: $bomb},
		{path: "/liar", headers: $h, body_file: $liar},
		{path: "/same", headers: $h, body_file: $bomb}]}'
}
fixture "$T/p.gz" "$T/liar.gz" >"$T/primary.json"
fixture "$T/c.gz" "$T/c.gz" >"$T/candidate.json"
# /same: the primary's bomb on both sides.
jq --arg f "$T/p.gz" '.routes[2].body_file = $f' "$T/candidate.json" \
    >"$T/candidate2.json"
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate2.json"
P=http://127.0.0.1:$(backend_port primary)
C=http://127.0.0.1:$(backend_port candidate)

# Peak memory is only a measure without a sanitizer's shadow and
# quarantine; 40 MiB is generous: the two bodies decoded would be 96 MiB.
LIMIT_KB=40960
if san=$(sanitized); then
	MEM=
else
	MEM=1
fi

# mem_ok WHAT KB: the peak resident set KB is under LIMIT_KB.
mem_ok() {
	if [ -n "$MEM" ]; then
		cmp_ok "$2" -lt "$LIMIT_KB" "$1: peak memory $2 kB, under 40 MiB"
	else
		skip "$1: peak memory means nothing under $san"
	fi
}

# check_bomb WHERE FILE ID: the exchange's verdict and diffs say each body
# decodes past --max-body (1 MiB here).
check_bomb() {
	is "$(cap_get "$2" "$3" .verdict)" body \
	    "$1: /bomb is a body divergence"
	is "$(cap_get "$2" "$3" '[.diffs[] | "\(.kind) \(.side) \(.detail)"] | join("; ")')" \
	    "body primary primary body decodes to more than --max-body (1048576 bytes), cannot compare; body candidate candidate body decodes to more than --max-body (1048576 bytes), cannot compare" \
	    "$1: /bomb: a diff on each side says it decodes past --max-body"
}

# --- the proxy ---
CAP=$T/proxy.jsonl
start_proxy --primary "$P" --candidate "$C" --max-body 1M --capture "$CAP" ||
    bail "the proxy did not start"
for r in bomb liar same; do
	req "$r" "$PROXY_URL/$r"
	is "$HTTP_CODE" 200 "proxy /$r: the client gets 200"
	eval "id_$r=\$TRACE"
done
ok "proxy /bomb: the client gets the primary's exact bytes" \
    cmp -s "$T/p.gz" "$T/bomb.body"
ok "proxy /liar: the client gets the primary's exact bytes" \
    cmp -s "$T/liar.gz" "$T/liar.body"
ok "proxy: the /same line is written" wait_for 20 cap_has_id "$CAP" "$id_same"
ok "proxy: the /liar line is written" wait_for 20 cap_has_id "$CAP" "$id_liar"
ok "proxy: the /bomb line is written" wait_for 20 cap_has_id "$CAP" "$id_bomb"
check_bomb proxy "$CAP" "$id_bomb"
is "$(cap_get "$CAP" "$id_liar" '[.diffs[] | "\(.side) \(.detail)"] | join("; ")')" \
    "primary primary body decodes to more than --max-body (1048576 bytes), cannot compare; candidate candidate body decodes to more than --max-body (1048576 bytes), cannot compare" \
    "proxy /liar: a trailer that lies is stopped at --max-body too"
is "$(cap_get "$CAP" "$id_same" .verdict)" match \
    "proxy /same: the same bytes on both sides match"
ok "proxy: still up after the bombs" alive "$PROXY_PID"
req after "$PROXY_URL/same"
is "$HTTP_CODE" 200 "proxy: answers the next request"
ok "proxy: its line is written" wait_for 20 cap_has_id "$CAP" "$TRACE"
mem_ok proxy "$(awk '/^VmHWM:/ { print $2 }' "/proc/$PROXY_PID/status")"
stop_proxy
is "$PROXY_STATUS" 0 "proxy: exit 0"
like "$(cat "$PROXY_ERR")" '^paritytap proxy: 4 exchanges: .* 2 body divergences' \
    "proxy: the summary counts the two bodies it could not compare"

# --- replay ---
/usr/bin/time -f %M -o "$T/replay.kb" "$PARITYTAP" replay --candidate "$C" \
    --max-body 1M --capture "$T/replay.jsonl" "$CAP" >"$T/replay.out" \
    2>"$T/replay.err"
is "$?" 1 "replay: exit 1 (body divergences fail the run)"
check_bomb replay "$T/replay.jsonl" "$id_bomb"
mem_ok replay "$(tail -n 1 "$T/replay.kb")"

# --- rejudge: the capture holds the bombs as received ---
is "$(cap_get "$CAP" "$id_bomb" '.responses.primary | has("body_b64")')" \
    true "the capture keeps the bomb as received (body_b64)"
/usr/bin/time -f %M -o "$T/rejudge.kb" "$PARITYTAP" rejudge --max-body 1M \
    -o "$T/rejudged.jsonl" "$CAP" >/dev/null 2>"$T/rejudge.err"
is "$?" 0 "rejudge --max-body 1M: exit 0"
check_bomb rejudge "$T/rejudged.jsonl" "$id_bomb"
is "$(cap_get "$T/rejudged.jsonl" "$id_same" .verdict)" match \
    "rejudge: /same still matches"
mem_ok rejudge "$(tail -n 1 "$T/rejudge.kb")"
# Past the default (8M) as well: 48 MiB is not decoded by default.
"$PARITYTAP" rejudge -o "$T/rejudged8.jsonl" "$CAP" >/dev/null 2>&1
like "$(cap_get "$T/rejudged8.jsonl" "$id_bomb" '.diffs[0].detail')" \
    'decodes to more than --max-body \(8388608 bytes\)' \
    "rejudge: by default the bound is 8M"

# --- export --format har ---
/usr/bin/time -f %M -o "$T/har.kb" "$PARITYTAP" export --format har \
    --max-body 1M -o "$T/out.har" "$CAP" 2>"$T/har.err"
is "$?" 0 "export --max-body 1M: exit 0"
cmp_ok "$(wc -c <"$T/out.har")" -lt $MIB "the HAR is under 1 MiB"
is "$(jq -r --arg id "$id_bomb" '.log.entries[] | select(._paritytap.id == $id) |
    .response.content | "\(.encoding) \(._encoded) \(._decode_error)"' "$T/out.har")" \
    "base64 gzip decoded body over 1048576 bytes" \
    "HAR: the bomb is kept as received, and says why"
jq -r --arg id "$id_bomb" '.log.entries[] | select(._paritytap.id == $id) |
    .response.content.text' "$T/out.har" | base64 -d >"$T/har.gz"
ok "HAR: its text is the bytes received" cmp -s "$T/p.gz" "$T/har.gz"
mem_ok export "$(tail -n 1 "$T/har.kb")"
"$PARITYTAP" export --format har --max-body 0 -o "$T/zero.har" "$CAP" \
    2>"$T/zero.err"
is "$?" 2 "export --max-body 0: exit 2"
like "$(cat "$T/zero.err")" '^paritytap export: --max-body: must be at least 1' \
    "export --max-body 0: the error names the option"

# --- sniff: the primary's bomb seen on the wire, the candidate asked ---
if can_capture; then
	start_sniff --port "$(backend_port primary)" --candidate "$C" \
	    --max-body 1M --capture "$T/sniff.jsonl" --count 1 \
	    --stats-interval 0 || bail "sniff did not start"
	req sniffbomb -H 'X-Paritytap-Trace-Id: sn-bomb' "$P/bomb"
	is "$HTTP_CODE" 200 "sniff: the client gets the primary's 200"
	wait_pid "$SNIFF_PID" 60
	is "$WAIT_STATUS" 0 "sniff --count 1: exit 0"
	check_bomb sniff "$T/sniff.jsonl" sn-bomb
	like "$(cat "$SNIFF_ERR")" \
	    '^paritytap sniff: 1 exchange: .* 1 body divergence' \
	    "sniff: the summary counts the body it could not compare"
else
	skip "sniff: capturing on lo needs root with CAP_NET_RAW (uid $(id -u))"
fi

done_testing
