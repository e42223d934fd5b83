#!/bin/sh
# Arrays compared in any order (--unordered JSONPATH, its [compare] key
# and its [route "..."] form), and without it the order hint: two arrays
# holding the same elements in another order are one value diff at the
# array, "hint":"order", never a diff per index nor a shape divergence.
# Each with its near miss: an element really changed stays visible.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

CT='[["Content-Type", "application/json"]]'
# GET /tags: the same tags, another order (a Go map's iteration).
# GET /items: reordered, and item 1's "v" really changed.
# GET /shape: reordered, and one element changed type.
jq -n --argjson ct "$CT" '{routes: [
	{path: "/tags", headers: $ct, body: "{\"tags\":[\"a\",\"b\",\"c\"],\"n\":1}"},
	{path: "/items", headers: $ct,
	 body: "{\"items\":[{\"id\":1,\"v\":\"a\"},{\"id\":2,\"v\":\"b\"}]}"},
	{path: "/shape", headers: $ct, body: "{\"ids\":[1,2]}"}]}' \
    >"$T/primary.json"
jq -n --argjson ct "$CT" '{routes: [
	{path: "/tags", headers: $ct, body: "{\"tags\":[\"c\",\"a\",\"b\"],\"n\":1}"},
	{path: "/items", headers: $ct,
	 body: "{\"items\":[{\"id\":2,\"v\":\"b\"},{\"id\":1,\"v\":\"X\"}]}"},
	{path: "/shape", headers: $ct, body: "{\"ids\":[\"2\",1]}"}]}' \
    >"$T/candidate.json"
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
PRI=http://127.0.0.1:$(backend_port primary)
CAN=http://127.0.0.1:$(backend_port candidate)

# run NAME ARGS...: one request to each path through a proxy started with
# ARGS; sets id_tags, id_items, id_shape; the capture is $T/NAME.jsonl.
run() {
	_cap=$T/$1.jsonl
	shift
	start_proxy --primary "$PRI" --candidate "$CAN" --capture "$_cap" \
	    "$@" || bail "the proxy did not start: $*"
	req tags "$PROXY_URL/tags"
	is "$BODY" '{"tags":["a","b","c"],"n":1}' "the client got the primary's /tags"
	id_tags=$TRACE
	req items "$PROXY_URL/items"
	id_items=$TRACE
	req shape "$PROXY_URL/shape"
	id_shape=$TRACE
	stop_proxy
	is "$PROXY_STATUS" 0 "the proxy exits 0"
}

# --- no knob: the order hint --------------------------------------------
run plain
CAP=$T/plain.jsonl
is "$(cap_get "$CAP" "$id_tags" .verdict)" value \
    "order only: a value verdict, not shape"
is "$(cap_get "$CAP" "$id_tags" '.diffs | map([.kind, .path, .hint] | join(" ")) | join(",")')" \
    'value $.tags order' "order only: one diff at the array, hint order"
like "$(cap_get "$CAP" "$id_tags" '.diffs[0].detail')" \
    '^same 3 elements in a different order' "order only: the detail says so"
is "$(cap_get "$CAP" "$id_items" '.diffs | map(.kind + " " + .path) | join(",")')" \
    'value $.items[0].id,value $.items[0].v,value $.items[1].id,value $.items[1].v' \
    "near miss: reordered and one item changed: diffs by index, no hint"
is "$(cap_get "$CAP" "$id_items" '[.diffs[] | select(.hint)] | length')" 0 \
    "near miss: no order hint when an element differs"
is "$(cap_get "$CAP" "$id_shape" .verdict)" shape \
    "near miss: a type change among reordered elements is still shape"
DL=$(diverge_lines)
like "$DL" "^DIVERGE value GET /tags id=$id_tags status 200=200 \\\$\\.tags value\\(order\\)\$" \
    "the DIVERGE line shows \$.tags value(order)"
like "$DL" "^DIVERGE value GET /items id=$id_items status 200=200 \\\$\\.items\\[0\\]\\.id value " \
    "the DIVERGE line of /items lists the index diffs"

# --- --unordered --------------------------------------------------------
run flag --unordered '$.tags' --unordered '$.items'
CAP=$T/flag.jsonl
is "$(cap_get "$CAP" "$id_tags" '.verdict + " " + (.diffs | length | tostring)')" \
    "match 0" "--unordered \$.tags: reordered tags match"
is "$(cap_get "$CAP" "$id_items" .verdict)" value \
    "--unordered \$.items, near miss: still a value verdict"
is "$(cap_get "$CAP" "$id_items" '.diffs | map([.kind, .path, .primary, .candidate] | join(" ")) | join(",")')" \
    'value $.items[0].v "a" "X"' \
    "near miss: only the changed member, at the primary item's index"
is "$(cap_get "$CAP" "$id_shape" .verdict)" shape \
    "--unordered elsewhere: /shape unchanged"
DL=$(diverge_lines)
unlike "$DL" "GET /tags" "--unordered: no DIVERGE line for /tags"
like "$DL" "^DIVERGE value GET /items id=$id_items status 200=200 \\\$\\.items\\[0\\]\\.v value\$" \
    "--unordered: the /items line names \$.items[0].v"

# --- [compare] unordered, and a route's ----------------------------------
cat >"$T/compare.ini" <<EOF2
[compare]
unordered = \$.tags
EOF2
run compare --config "$T/compare.ini"
is "$(cap_get "$T/compare.jsonl" "$id_tags" .verdict)" match \
    "[compare] unordered = \$.tags: match"

cat >"$T/route.ini" <<EOF2
[route "GET /items"]
unordered = \$.items
[route "GET /shape"]
unordered = \$.tags
EOF2
run route --config "$T/route.ini"
CAP=$T/route.jsonl
is "$(cap_get "$CAP" "$id_items" '.diffs | map(.path) | join(",")')" \
    '$.items[0].v' "[route \"GET /items\"] unordered = \$.items applies there"
is "$(cap_get "$CAP" "$id_tags" '.diffs | map(.path + " " + .hint) | join(",")')" \
    '$.tags order' "a route's unordered applies to that route only"

# --- paritytap diff --------------------------------------------------------
printf '{"tags":["a","b","c"]}\n' >"$T/a.jsonl"
printf '{"tags":["c","a","b"]}\n' >"$T/b.jsonl"
"$PARITYTAP" diff --mode exact "$T/a.jsonl" "$T/b.jsonl" >"$T/diff.out" 2>"$T/diff.err"
is "$?" 1 "diff --mode exact: reordered tags are a value difference (exit 1)"
is "$(grep '^DIVERGE' "$T/diff.err")" 'DIVERGE value line 1 $.tags value(order)' \
    "diff: the DIVERGE line shows the order hint"
"$PARITYTAP" diff --mode exact --unordered '$.tags' "$T/a.jsonl" "$T/b.jsonl" \
    >"$T/diff2.out" 2>"$T/diff2.err"
is "$?" 0 "diff --mode exact --unordered \$.tags: exit 0"
contains "$(cat "$T/diff2.out" "$T/diff2.err")" "1/1 exact match" \
    "diff --unordered: 1/1 exact match"

# --- bad input ------------------------------------------------------------
"$PARITYTAP" proxy --listen 127.0.0.1:0 --primary "$PRI" --candidate "$CAN" \
    --unordered 'tags' >/dev/null 2>"$T/bad.err"
is "$?" 2 "--unordered tags: usage error (exit 2)"
contains "$(cat "$T/bad.err")" \
    'paritytap proxy: --unordered: invalid JSONPath "tags": must start with $' \
    "the error names --unordered and the path"
printf '[route "GET /x"]\nunordered = $.a[\n' >"$T/bad.ini"
"$PARITYTAP" proxy --listen 127.0.0.1:0 --primary "$PRI" --candidate "$CAN" \
    --config "$T/bad.ini" >/dev/null 2>"$T/badini.err"
is "$?" 2 "a bad route unordered: usage error (exit 2)"
contains "$(cat "$T/badini.err")" "$T/bad.ini:2: unordered: invalid JSONPath" \
    "the error names the file, the line and the key"

done_testing
