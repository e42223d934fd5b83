#!/bin/sh
# report on a capture whose diffs carry "noise":true: the noise paths
# are listed apart, with their counts, and are no part of a signature;
# the JSON report has them under "noise".

. "$(dirname "$0")/lib.sh"
need jq python3
need_binaries

python3 "$top_srcdir/tests/backends/noisyapp.py" capture 3 >"$T/raw.jsonl"
# Three exchanges as a proxy that learned $.ts and x-served-at would
# write them: one real value drift beside noise, one with noise alone,
# one shape drift beside noise.
jq -c '
    if .request.target == "/items/1" then
	.verdict = "value" | .diffs = [
	    {kind: "value", path: "$.currency", primary: "\"EUR\"",
	     candidate: "\"USD\""},
	    {kind: "value", path: "$.ts", primary: "\"a\"", candidate: "\"b\"",
	     noise: true}]
    elif .request.target == "/items/2" then
	.verdict = "match" | .diffs = [
	    {kind: "value", path: "$.ts", primary: "\"a\"", candidate: "\"b\"",
	     noise: true},
	    {kind: "header", path: "x-served-at", primary: "a",
	     candidate: "b", noise: true}]
    else
	.verdict = "shape" | .diffs = [
	    {kind: "missing", path: "$.name", side: "candidate",
	     primary: "\"item-3\""},
	    {kind: "value", path: "$.tags[3]", primary: "\"a\"",
	     candidate: "\"b\"", noise: true}]
    end' "$T/raw.jsonl" >"$T/cap.jsonl"

"$PARITYTAP" report "$T/cap.jsonl" >"$T/text.out" 2>"$T/text.err"
is "$?" 0 "report: exit 0"
is "$(sed -n '/^Signatures/,/^$/p' "$T/text.out" |
    grep -E -e '^Signatures' -e '^ +[0-9]+  ' -e '^$' |
    sed 's/^ *//' | tr '\n' '|')" \
    'Signatures (2)|1  shape GET /items/{id} $.name|1  value GET /items/{id} $.currency||' \
    "signatures: the real paths only, no noise path"
is "$(sed -n '/^Noise/,$p' "$T/text.out")" 'Noise (learned from a second copy; not divergences)
   DIFFS  ROUTE PATH
       1  GET /items/{id} $.tags[*]
       2  GET /items/{id} $.ts
       1  GET /items/{id} x-served-at' \
    "the Noise section: each route and folded path with its count" ||
    diag_file "$T/text.out"
"$PARITYTAP" report --format json "$T/cap.jsonl" >"$T/j.json" 2>/dev/null
is "$(jq -c '.noise' "$T/j.json")" \
    '[{"route":"GET /items/{id}","path":"$.tags[*]","diffs":1},{"route":"GET /items/{id}","path":"$.ts","diffs":2},{"route":"GET /items/{id}","path":"x-served-at","diffs":1}]' \
    "--format json: .noise"
is "$(jq -c '[.signatures[].signature]' "$T/j.json")" \
    '["shape GET /items/{id} $.name","value GET /items/{id} $.currency"]' \
    "... and the signatures"

done_testing
