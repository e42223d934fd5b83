#!/bin/sh
# --normalize REGEX (repeatable; its [compare] key and [route "..."] form):
# in text bodies every match is replaced before the bytes are compared, so
# a timestamp or a request id is no body divergence.  Near misses: a real
# text difference next to them stays a body diff, and a match that one
# side lacks is not hidden.  replay takes the same option.  A bad regex
# is a usage error naming the option and the regex library's complaint.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

TXT='[["Content-Type", "text/plain"]]'
jq -n --argjson ct "$TXT" '{routes: [
	{path: "/status", headers: $ct,
	 body: "generated 2026-05-02T10:00:00Z req=4f2a9c\nall good\n"},
	{path: "/near", headers: $ct,
	 body: "generated 2026-05-02T10:00:00Z req=4f2a9c\nall good\n"},
	{path: "/gone", headers: $ct,
	 body: "generated 2026-05-02T10:00:00Z\n"}]}' >"$T/primary.json"
jq -n --argjson ct "$TXT" '{routes: [
	{path: "/status", headers: $ct,
	 body: "generated 2026-05-02T10:00:03Z req=77e01b\nall good\n"},
	{path: "/near", headers: $ct,
	 body: "generated 2026-05-02T10:00:03Z req=77e01b\nall bad\n"},
	{path: "/gone", headers: $ct, body: "generated \n"}]}' \
    >"$T/candidate.json"
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
PRI=http://127.0.0.1:$(backend_port primary)
CAN=http://127.0.0.1:$(backend_port candidate)
TS='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]+Z'
RID='req=[0-9a-f]+'

# run NAME ARGS...: GET /status, /near and /gone through a proxy started
# with ARGS; sets id_status, id_near, id_gone; the capture is $T/NAME.jsonl.
run() {
	_cap=$T/$1.jsonl
	shift
	start_proxy --primary "$PRI" --candidate "$CAN" --capture "$_cap" \
	    "$@" || bail "the proxy did not start: $*"
	req status "$PROXY_URL/status"
	is "$BODY" "$(printf 'generated 2026-05-02T10:00:00Z req=4f2a9c\nall good')" \
	    "the client got the primary's body"
	id_status=$TRACE
	req near "$PROXY_URL/near"
	id_near=$TRACE
	req gone "$PROXY_URL/gone"
	id_gone=$TRACE
	stop_proxy
	is "$PROXY_STATUS" 0 "the proxy exits 0"
}

run plain
is "$(cap_get "$T/plain.jsonl" "$id_status" .verdict)" body \
    "without --normalize: a body divergence"

run flag --normalize "$TS" --normalize "$RID"
CAP=$T/flag.jsonl
is "$(cap_get "$CAP" "$id_status" '.verdict + " " + (.diffs | length | tostring)')" \
    'match 0' "--normalize timestamp and request id: match"
is "$(cap_get "$CAP" "$id_near" '.verdict + " " + (.diffs | map(.kind + ": " + .detail) | join(","))')" \
    'body body: bodies differ at byte 20 (25 vs 24 bytes), after --normalize' \
    "near miss: good vs bad is still a body diff, offset in the normalized text"
is "$(cap_get "$CAP" "$id_gone" .verdict)" body \
    "near miss: a timestamp on one side only is not hidden"
is "$(cap_get "$CAP" "$id_near" '.responses.candidate.body')" \
    "$(printf 'generated 2026-05-02T10:00:03Z req=77e01b\nall bad\n')" \
    "the capture keeps the bodies as received"
DL=$(diverge_lines)
unlike "$DL" "GET /status" "--normalize: no DIVERGE line for /status"
like "$DL" "^DIVERGE body GET /near id=$id_near status 200=200 body\$" \
    "near miss: the DIVERGE line for /near"

cat >"$T/compare.ini" <<EOF2
[compare]
normalize = $TS
normalize = $RID
EOF2
run compare --config "$T/compare.ini"
is "$(cap_get "$T/compare.jsonl" "$id_status" .verdict)" match \
    "[compare] normalize: match"

cat >"$T/route.ini" <<EOF2
[route "GET /status"]
normalize = $TS
normalize = $RID
EOF2
run route --config "$T/route.ini"
is "$(cap_get "$T/route.jsonl" "$id_status" .verdict)" match \
    "[route \"GET /status\"] normalize: match there"
is "$(cap_get "$T/route.jsonl" "$id_gone" '.diffs[0].detail')" \
    'bodies differ at byte 10 (31 vs 11 bytes)' \
    "a route's normalize applies to that route only"

# replay: the recorded primary against the live candidate.
"$PARITYTAP" replay --candidate "$CAN" --normalize "$TS" --normalize "$RID" \
    --filter route='GET /status' --capture "$T/replay.jsonl" \
    "$T/plain.jsonl" >"$T/replay.out" 2>"$T/replay.err"
is "$?" 0 "replay --normalize: exit 0"
is "$(jq -r .verdict "$T/replay.jsonl")" match "replay --normalize: match"

# Bad regexes.
"$PARITYTAP" proxy --listen 127.0.0.1:0 --primary "$PRI" --candidate "$CAN" \
    --normalize 'a(' >/dev/null 2>"$T/bad.err"
is "$?" 2 "--normalize 'a(': usage error (exit 2)"
contains "$(cat "$T/bad.err")" \
    "paritytap proxy: --normalize: 'a(' is not a valid extended regular expression: " \
    "the error names the option and the regex"
printf '[route "GET /x"]\nnormalize = [z-a]\n' >"$T/bad.ini"
"$PARITYTAP" replay --candidate "$CAN" --config "$T/bad.ini" \
    "$T/plain.jsonl" >/dev/null 2>"$T/badini.err"
is "$?" 2 "a bad route normalize: usage error (exit 2)"
contains "$(cat "$T/badini.err")" \
    "$T/bad.ini:2: normalize: '[z-a]' is not a valid extended regular expression" \
    "the error names the file, line, key and regex"

done_testing
