#!/bin/sh
# --ignore-content-type-params (and its [compare] key and [route "..."]
# form) compares only the media type of Content-Type: application/json
# equals application/json; charset=utf-8.  Near miss: another media type
# (application/problem+json, with a charset too) is still a header diff.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

B='{"ok":true}'
jq -n --arg b "$B" '{routes: [
	{path: "/a", headers: [["Content-Type", "application/json"]], body: $b},
	{path: "/b", headers: [["Content-Type", "application/json"]], body: $b}]}' \
    >"$T/primary.json"
jq -n --arg b "$B" '{routes: [
	{path: "/a", headers: [["Content-Type", "application/json; charset=utf-8"]],
	 body: $b},
	{path: "/b", headers: [["Content-Type",
	 "application/problem+json; charset=utf-8"]], body: $b}]}' \
    >"$T/candidate.json"
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
PRI=http://127.0.0.1:$(backend_port primary)
CAN=http://127.0.0.1:$(backend_port candidate)

# run NAME ARGS...: GET /a and GET /b through a proxy started with ARGS;
# sets id_a and id_b; the capture is $T/NAME.jsonl.
run() {
	_cap=$T/$1.jsonl
	shift
	start_proxy --primary "$PRI" --candidate "$CAN" --capture "$_cap" \
	    "$@" || bail "the proxy did not start: $*"
	req a "$PROXY_URL/a"
	is "$(header_of "$T/a.hdr" Content-Type)" application/json \
	    "the client got the primary's Content-Type"
	id_a=$TRACE
	req b "$PROXY_URL/b"
	id_b=$TRACE
	stop_proxy
	is "$PROXY_STATUS" 0 "the proxy exits 0"
}

run plain
is "$(cap_get "$T/plain.jsonl" "$id_a" '.verdict + " " + (.diffs | map(.kind + ":" + .path) | join(","))')" \
    'header header:content-type' "by default a charset is a header diff"

run flag --ignore-content-type-params
CAP=$T/flag.jsonl
is "$(cap_get "$CAP" "$id_a" '.verdict + " " + (.diffs | length | tostring)')" \
    'match 0' "--ignore-content-type-params: application/json; charset=utf-8 matches"
is "$(cap_get "$CAP" "$id_b" '.verdict + " " + (.diffs | map(.kind + ":" + .path + " " + .primary + " | " + .candidate) | join(","))')" \
    'header header:content-type application/json | application/problem+json; charset=utf-8' \
    "near miss: another media type is still a header diff"
DL=$(diverge_lines)
unlike "$DL" "GET /a" "--ignore-content-type-params: no DIVERGE line for /a"
like "$DL" "^DIVERGE header GET /b id=$id_b status 200=200 header:content-type\$" \
    "near miss: the DIVERGE line for /b"

printf '[compare]\nignore-content-type-params = yes\n' >"$T/compare.ini"
run compare --config "$T/compare.ini"
is "$(cap_get "$T/compare.jsonl" "$id_a" .verdict)" match \
    "[compare] ignore-content-type-params = yes"

printf '[route "GET /a"]\nignore-content-type-params = yes\n' >"$T/route.ini"
run route --config "$T/route.ini"
is "$(cap_get "$T/route.jsonl" "$id_a" .verdict)" match \
    "[route \"GET /a\"] ignore-content-type-params = yes"

printf '[route "GET /a"]\nignore-content-type-params = no\n' >"$T/off.ini"
run off --config "$T/off.ini" --ignore-content-type-params
is "$(cap_get "$T/off.jsonl" "$id_a" .verdict)" header \
    "a route's ignore-content-type-params = no wins over the flag"

printf '[route "GET /a"]\nignore-content-type-params = maybe\n' >"$T/bad.ini"
"$PARITYTAP" proxy --listen 127.0.0.1:0 --primary "$PRI" --candidate "$CAN" \
    --config "$T/bad.ini" >/dev/null 2>"$T/bad.err"
is "$?" 2 "a malformed value: usage error (exit 2)"
contains "$(cat "$T/bad.err")" "$T/bad.ini:2:" "the error names the file and line"
contains "$(cat "$T/bad.err")" "ignore-content-type-params" "the error names the key"

done_testing
