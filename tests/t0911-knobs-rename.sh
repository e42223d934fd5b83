#!/bin/sh
# The rename hint: a member missing on the candidate and one extra on it,
# in the same object and holding the same value, are reported together
# as a likely rename.  Both diffs stay (a renamed member is still a shape
# divergence) and name each other: "hint":"rename" with "renamed_to" on
# the missing one and "renamed_from" on the extra one in the capture,
# "(renamed to PATH?)" on the DIVERGE line.  Near misses: another value,
# or the same value in another object, is no rename.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

CT='[["Content-Type", "application/json"]]'
jq -n --argjson ct "$CT" '{routes: [
	{path: "/user", headers: $ct, body: "{\"id\":7,\"name\":\"Ada\"}"},
	{path: "/near", headers: $ct, body: "{\"id\":7,\"name\":\"Ada\"}"},
	{path: "/moved", headers: $ct,
	 body: "{\"a\":{\"name\":\"Ada\"},\"b\":{}}"}]}' >"$T/primary.json"
jq -n --argjson ct "$CT" '{routes: [
	{path: "/user", headers: $ct, body: "{\"id\":7,\"full_name\":\"Ada\"}"},
	{path: "/near", headers: $ct,
	 body: "{\"id\":7,\"full_name\":\"Ada Lovelace\"}"},
	{path: "/moved", headers: $ct,
	 body: "{\"a\":{},\"b\":{\"full_name\":\"Ada\"}}"}]}' >"$T/candidate.json"
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
CAP=$T/cap.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$CAP" || bail "the proxy did not start"
req user "$PROXY_URL/user"
is "$BODY" '{"id":7,"name":"Ada"}' "the client got the primary's body"
id_user=$TRACE
req near "$PROXY_URL/near"
id_near=$TRACE
req moved "$PROXY_URL/moved"
id_moved=$TRACE
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"

is "$(cap_get "$CAP" "$id_user" .verdict)" shape \
    "a rename is still a shape divergence"
is "$(cap_get "$CAP" "$id_user" '.diffs[] | select(.kind == "missing") | [.path, .hint, .renamed_to] | join(" ")')" \
    '$.name rename $.full_name' \
    "the missing member: hint rename, renamed_to \$.full_name"
is "$(cap_get "$CAP" "$id_user" '.diffs[] | select(.kind == "extra") | [.path, .hint, .renamed_from] | join(" ")')" \
    '$.full_name rename $.name' \
    "the extra member: hint rename, renamed_from \$.name"
is "$(cap_get "$CAP" "$id_near" '.diffs | map(.kind + " " + .path) | join(",")')" \
    'extra $.full_name,missing $.name' "near miss, another value: both diffs"
is "$(cap_get "$CAP" "$id_near" '[.diffs[] | select(has("hint") or has("renamed_to") or has("renamed_from"))] | length')" \
    0 "near miss, another value: no rename hint"
is "$(cap_get "$CAP" "$id_moved" '[.diffs[] | select(has("hint"))] | length')" \
    0 "near miss, the same value in another object: no rename hint"

DL=$(diverge_lines)
like "$DL" "^DIVERGE shape GET /user id=$id_user status 200=200 \\\$\\.full_name extra\\(candidate\\) \\\$\\.name missing\\(candidate\\) \\(renamed to \\\$\\.full_name\\?\\)\$" \
    "the DIVERGE line: \$.name missing(candidate) (renamed to \$.full_name?)"
like "$DL" "^DIVERGE shape GET /near id=$id_near status 200=200 \\\$\\.full_name extra\\(candidate\\) \\\$\\.name missing\\(candidate\\)\$" \
    "near miss: the DIVERGE line has no rename"
done_testing
