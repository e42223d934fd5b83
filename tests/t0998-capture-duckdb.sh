#!/bin/sh
# A capture is readable as it is in DuckDB (paritytap-capture(5)): the
# man page's three queries run on a set of rotated files, the closed ones
# gzipped by --rotate-compress, give what jq reads from the same files:
# the exchanges per route, a gzip body kept decoded and parsed as JSON,
# and each difference as a row.  DuckDB is DuckDB for Node
# (@duckdb/node-api, from the npm registry: .ci/run installs it).

. "$(dirname "$0")/lib.sh"
need curl jq gzip node
need_binaries

QUERY="node $top_srcdir/tests/duckdb-query.mjs"
$QUERY 'SELECT 1' >/dev/null 2>&1
[ $? = 77 ] && skip_all "DuckDB for Node (@duckdb/node-api) is not installed"

JSON=$(jq -nc '{user: {id: 42, name: "Zoë"},
    items: [range(0; 20) | {n: ., tag: "t\(.)"}]}')
printf '%s' "$JSON" >"$T/json"
gzip -nc <"$T/json" >"$T/json.gz"
CT='["Content-Type", "application/json"]'
jq -n --argjson ct "$CT" --arg d "$T" '{routes: [
	{path: "/gz", headers: [$ct, ["Content-Encoding", "gzip"]],
	    body_file: "\($d)/json.gz"},
	{path: "/plain", headers: [$ct], body: "{\"a\":1,\"b\":2}"}]}' \
    >"$T/primary.json"
jq -n --argjson ct "$CT" --arg d "$T" '{routes: [
	{path: "/gz", headers: [$ct, ["Content-Encoding", "gzip"]],
	    body_file: "\($d)/json.gz"},
	{path: "/plain", headers: [$ct], body: "{\"a\":1}"}]}' \
    >"$T/candidate.json"
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"

# One exchange a file: every closed file is compressed, the last one
# stays plain.
DIR=$T/captures
mkdir "$DIR"
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --capture "$DIR/c.jsonl" --rotate-size 1 --rotate-compress ||
    bail "the proxy did not start"
for path in gz plain gz plain gz; do
	req "$path" "$PROXY_URL/$path"
	is "$HTTP_CODE" 200 "/$path: 200"
done
stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
ngz=$(ls "$DIR" | grep -c '\.jsonl\.gz$')
cmp_ok "$ngz" -ge 4 "the closed files are gzipped ($ngz)"
gzip -dcf "$DIR"/* >"$T/all.jsonl"
is "$(jq -s length "$T/all.jsonl")" 5 "jq: 5 exchanges in the set"

# The man page's queries, with the glob that takes the gzipped files too.
man_query() {
	sed -n "/^$1/,/;\$/p" "$top_srcdir/man/paritytap-capture.5" |
	    sed "s|'captures/|'$DIR/|"
}
Q1=$(man_query 'SELECT route,')
Q2=$(man_query 'SELECT id,$')
Q3=$(man_query 'SELECT id, route, d.kind')
for q in Q1 Q2 Q3; do
	eval "v=\$$q"
	like "$v" "$DIR" "$q: the man page's query, found and pointed here"
done

# 1. Latency and counts by route.
$QUERY "$Q1" >"$T/q1" 2>"$T/q1.err"
is "$?" 0 "DuckDB runs the latency query" || diag_file "$T/q1.err"
is "$(jq -c '[.[0], .[1], .[4]]' "$T/q1" | sort)" \
    "$(jq -s -c 'group_by(.route)[] | [.[0].route, length,
        ([.[] | select(.verdict == "shape")] | length)]' "$T/all.jsonl" |
        sort)" \
    "DuckDB: exchanges and shape diverges per route, as jq counts them"

# 2. The decoded bodies, parsed as JSON.
$QUERY "$Q2" >"$T/q2" 2>"$T/q2.err"
is "$?" 0 "DuckDB runs the decoded-body query" || diag_file "$T/q2.err"
is "$(jq -r '.[1] + " " + .[2]' "$T/q2" | sort -u)" "gzip Zoë" \
    "DuckDB: the gzip body, kept decoded, read as JSON"
saved=$(($(wc -c <"$T/json") - $(wc -c <"$T/json.gz")))
is "$(jq -r '.[3]' "$T/q2" | sort -u)" "$saved" \
    "DuckDB: the bytes gzip saved ($saved)"
is "$(jq -r '.[0]' "$T/q2" | sort)" \
    "$(jq -r 'select(.responses.primary.body_decoded == "gzip") | .id' \
        "$T/all.jsonl" | sort)" \
    "DuckDB: every gzip exchange, and only those"

# 3. Each difference as a row.
$QUERY "$Q3" >"$T/q3" 2>"$T/q3.err"
is "$?" 0 "DuckDB runs the differences query" || diag_file "$T/q3.err"
is "$(jq -r 'join(" ")' "$T/q3" | sort)" \
    "$(jq -r '.id as $i | .route as $r | (.diffs // [])[] |
        select(.kind == "missing" or .kind == "extra" or .kind == "type") |
        "\($i) \($r) \(.kind) \(.path)"' "$T/all.jsonl" | sort)" \
    "DuckDB: the differences, as jq lists them"
like "$(cat "$T/q3")" 'missing' "... the candidate's missing member among them"

done_testing
