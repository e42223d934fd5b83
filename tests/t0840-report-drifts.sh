#!/bin/sh
# paritytap report's drifts: the per-drift table (count, share of the
# route, first and last seen, example ids) in text, JSON and HTML (checked
# in headless Chromium when it is installed), --top on both lists,
# --format baseline and --baseline, on the captures recorded with the
# real proxy that t0300 reads (tests/fixtures/report-a.jsonl and
# report-b.jsonl).  The counts, shares and examples are computed again
# here with jq from the capture lines.

. "$(dirname "$0")/lib.sh"
need jq
[ -x "$PARITYTAP" ] || bail "PARITYTAP=$PARITYTAP is not executable"

A=tests/fixtures/report-a.jsonl
B=tests/fixtures/report-b.jsonl
V=captures/validator.jsonl
TAB=$(printf '\t')

# run NAME ARGS...: run paritytap report from the source directory, stdout
# and stderr to $T/NAME.out/.err; sets ST, OUT, ERR.
run() {
	_n=$1
	shift
	(cd "$top_srcdir" && timeout 30 "$PARITYTAP" report "$@") \
	    >"$T/$_n.out" 2>"$T/$_n.err" </dev/null
	ST=$?
	OUT=$(cat "$T/$_n.out")
	ERR=$(cat "$T/$_n.err")
}

# drift_rows FILE: the rows of the text report's drift table, each row's
# two lines joined by " | ".
drift_rows() {
	sed -n '/^Drifts/,$p' "$1" | sed -n '3,$p' | paste -d '|' - - |
	    sed 's/| */ | /'
}

# The exchanges of both captures, one JSON array.
cat "$top_srcdir/$A" "$top_srcdir/$B" | jq -s . >"$T/all.json"

# jq_drift ROUTE KIND PATH: the exchanges that carry a missing or extra
# drift, whose folded path is PATH, as [count, route total, first, last,
# earliest three ids], computed from the capture lines.
jq_drift() {
	jq -c --arg r "$1" --arg k "$2" --arg p "$3" '
	    (map(select(.route == $r)) | length) as $total |
	    map(select(.route == $r and any(.diffs[];
	        .kind == $k and (.path | gsub("\\[[0-9]+\\]"; "[*]")) == $p)))
	    | sort_by(.ts, .id)
	    | [length, $total, .[0].ts, (map(.ts) | max), (.[:3] | map(.id))]' \
	    "$T/all.json"
}

# --- the text table ---------------------------------------------------------

run text "$A" "$B"
is "$ST" 0 "text: exits 0"
ok "text: the signatures are still listed" grep -qx 'Signatures (9)' "$T/text.out"
is "$(sed -n '/^Drifts/p' "$T/text.out")" "Drifts (6)" \
    "text: the Drifts heading counts 6 drifts"
is "$(sed -n '/^Drifts/{n;p;}' "$T/text.out")" \
    "   COUNT  SHARE   DRIFT" "text: the column headings"
is "$(drift_rows "$T/text.out" | sed 's/ *|.*//')" \
"       4  66.7%   GET /v1/users/{id} missing \$.line_offset (candidate)
       2  100.0%  GET /v1/items extra \$.items[*].SKU (candidate)
       2  100.0%  GET /v1/items missing \$.items[*].sku (candidate)
       1  100.0%  GET /v1/config header:content-type (both)
       1  100.0%  GET /v1/search candidate_error:timeout (candidate)
       1  100.0%  POST /v1/sessions status 201->200 (both)" \
    "text: six drift rows, most frequent first, values and bytes are none"
unlike "$(sed -n '/^Drifts/,$p' "$T/text.out")" 'GET /v1/clock|GET /v1/hello|GET /v1/broken|GET /v1/report' \
    "text: no drift from a value difference, a byte difference, a failed primary"

set -- $(jq_drift 'GET /v1/users/{id}' missing '$.line_offset' | jq -r '
    [.[0], .[1], .[2], .[3], .[4][]] | @tsv')
is "$1/$2" 4/6 "jq: 4 of the 6 users exchanges miss \$.line_offset"
row=$(drift_rows "$T/text.out" | grep -F 'missing $.line_offset')
is "${row#*| }" "first $3  last $4  examples $5 $6 $7" \
    "text: first and last seen and the three earliest example ids, as jq finds them"
set -- $(jq_drift 'GET /v1/items' missing '$.items[*].sku' | jq -r '
    [.[0], .[1], .[4][]] | @tsv')
is "$1/$2" 2/2 "jq: both items exchanges miss \$.items[*].sku (three elements each)"
row=$(drift_rows "$T/text.out" | grep -F 'missing $.items[*].sku')
like "$row" " examples $3 $4\$" "text: two examples for a drift seen twice"
row=$(drift_rows "$T/text.out" | grep -F 'header:content-type')
like "$row" "  example 18ea1776903f40b1-2feb2a4b\$" \
    "text: one example is called an example"

# --- JSON -------------------------------------------------------------------

run json -f json "$A" "$B"
is "$ST" 0 "JSON: exits 0"
is "$(jq -r '[.drifts_total, .drifts_new, (.drifts | length)] | @tsv' "$T/json.out")" \
    "$(printf '6\t6\t6')" "JSON: drifts_total, drifts_new and the list, all 6"
is "$(jq -c '.drifts[0] | del(.id, .example_ids, .first_seen, .last_seen)' "$T/json.out")" \
    '{"drift":"GET /v1/users/{id} missing $.line_offset (candidate)","route":"GET /v1/users/{id}","kind":"missing","path":"$.line_offset","side":"candidate","verdict":"shape","count":4,"route_exchanges":6,"share":0.6667,"baselined":false}' \
    "JSON: the first drift's fields"
is "$(jq -c '.drifts[0] | [.count, .route_exchanges, .first_seen, .last_seen, .example_ids]' "$T/json.out")" \
    "$(jq_drift 'GET /v1/users/{id}' missing '$.line_offset')" \
    "JSON: count, route total, times and examples as jq computes them"
is "$(jq -c '.drifts[1] | [.count, .route_exchanges, .first_seen, .last_seen, .example_ids]' "$T/json.out")" \
    "$(jq_drift 'GET /v1/items' extra '$.items[*].SKU')" \
    "JSON: the folded extra drift, as jq computes it"
like "$(jq -r '.drifts[].id' "$T/json.out" | sort -u | tr '\n' ' ')" \
    '^([0-9a-f]{16} ){6}$' "JSON: six distinct 16-hex ids"
is "$(jq -r '.drifts | map(.kind + " " + .path + " " + .side + " " + .verdict) | .[3:] | join(",")' "$T/json.out")" \
    'header:content-type - both header,candidate_error:timeout - candidate candidate_error,status 201->200 - both status' \
    "JSON: a header, a failed candidate and a status change, with no path"
is "$(jq -r '[.drifts[].share] | @csv' "$T/json.out")" "0.6667,1,1,1,1,1" \
    "JSON: shares of the route"

run json2 -f json "$B" "$A"
is "$(jq -c .drifts "$T/json2.out")" "$(jq -c .drifts "$T/json.out")" \
    "JSON: the file order does not change the drifts or their examples"

# Three independent drifts of the validator in all their combinations
# are four signatures but seven drifts, each counted once per exchange.
run vjson -f json "$V"
is "$(jq -r '[.signatures_total, .drifts_total] | @tsv' "$T/vjson.out")" \
    "$(printf '4\t7')" "validator: 4 signatures, 7 drifts"
is "$(jq -r '.drifts[] | select(.path == "$.Kind") | .count' "$T/vjson.out")" \
    "$(jq -s '[.[] | select(any(.diffs[]; .path == "$.Kind"))] | length' "$top_srcdir/$V")" \
    "validator: \$.Kind counted in every exchange that has it, whatever else it has"

# --- --top ------------------------------------------------------------------

run top --top 2 "$A" "$B"
is "$(sed -n '/^Drifts/p' "$T/top.out")" "Drifts (top 2 of 6)" \
    "--top 2: the drift heading says 2 of 6"
is "$(drift_rows "$T/top.out" | wc -l | tr -d ' ')" 2 "--top 2: two drift rows"
ok "--top 2: the signatures too" grep -qx 'Signatures (top 2 of 9)' "$T/top.out"
run topjson --top 1 -f json "$A" "$B"
is "$(jq -r '[.drifts_total, (.drifts | length), .drifts[0].count] | @tsv' "$T/topjson.out")" \
    "$(printf '6\t1\t4')" "--top 1 -f json: the most frequent drift, the total kept"

# --- --format baseline ------------------------------------------------------

run base -f baseline "$A" "$B"
is "$ST" 0 "--format baseline: exits 0"
printf '%s\n' \
    '# paritytap baseline: drifts known and accepted, counted but never alerted.' \
    '# One per line: ROUTE, KIND, PATH and SIDE separated by tabs (- for none);' \
    '# lines starting with # are comments.  See paritytap(1), --baseline.' \
    '# 6 drifts in 17 exchanges of 2 captures, 2026-11-21T14:59:59.386055Z to 2026-11-21T15:00:00.287252Z' \
    "GET /v1/config${TAB}header:content-type${TAB}-${TAB}both" \
    "GET /v1/items${TAB}extra${TAB}\$.items[*].SKU${TAB}candidate" \
    "GET /v1/items${TAB}missing${TAB}\$.items[*].sku${TAB}candidate" \
    "GET /v1/search${TAB}candidate_error:timeout${TAB}-${TAB}candidate" \
    "GET /v1/users/{id}${TAB}missing${TAB}\$.line_offset${TAB}candidate" \
    "POST /v1/sessions${TAB}status 201->200${TAB}-${TAB}both" >"$T/want-base"
ok "--format baseline: a header, then every drift sorted, tab-separated" \
    cmp -s "$T/want-base" "$T/base.out"
if ! cmp -s "$T/want-base" "$T/base.out"; then
	diff "$T/want-base" "$T/base.out" | sed 's/^/# /'
fi
run basetop -f baseline --top 1 "$A" "$B"
ok "--format baseline: --top does not cut the list" \
    cmp -s "$T/want-base" "$T/basetop.out"
run baseout -f baseline -o "$T/baseline.txt" "$A" "$B"
is "$OUT" "" "--format baseline -o FILE: nothing on stdout"
ok "-o FILE: the file is the baseline" cmp -s "$T/want-base" "$T/baseline.txt"
: >"$T/empty.jsonl"
run baseempty -f baseline --allow-empty "$T/empty.jsonl"
is "$(grep -vc '^#' "$T/baseempty.out")" 0 "an empty capture: a baseline with no drift"
contains "$OUT" "# no exchange in 1 capture" "... saying so"

# --- --baseline -------------------------------------------------------------

run marked --baseline "$T/baseline.txt" "$A" "$B"
is "$ST" 0 "--baseline: exits 0"
is "$(sed -n '/^Drifts/p' "$T/marked.out")" "Drifts (6; 0 new, 6 in the baseline)" \
    "--baseline of the same captures: every drift in it"
is "$(sed -n '/^Drifts/{n;p;}' "$T/marked.out")" \
    "   COUNT  SHARE   BASELINE  DRIFT" "--baseline: a BASELINE column"

# A baseline edited by hand: the items drifts left out, comments, blank
# lines and spaces around the fields.
{
	echo '# accepted on review'
	echo
	grep -v -e '^#' -e items "$T/baseline.txt" | sed "s/$TAB/ $TAB /g"
	echo '   # an indented comment'
} >"$T/edited.txt"
run edited --baseline "$T/edited.txt" "$A" "$B"
is "$ST" 0 "an edited baseline: exits 0"
is "$(sed -n '/^Drifts/p' "$T/edited.out")" "Drifts (6; 2 new, 4 in the baseline)" \
    "an edited baseline: 2 new, 4 in the baseline"
is "$(drift_rows "$T/edited.out" | sed 's/ *|.*//')" \
"       4  66.7%   yes       GET /v1/users/{id} missing \$.line_offset (candidate)
       2  100.0%  no        GET /v1/items extra \$.items[*].SKU (candidate)
       2  100.0%  no        GET /v1/items missing \$.items[*].sku (candidate)
       1  100.0%  yes       GET /v1/config header:content-type (both)
       1  100.0%  yes       GET /v1/search candidate_error:timeout (candidate)
       1  100.0%  yes       POST /v1/sessions status 201->200 (both)" \
    "an edited baseline: the items drifts are the new ones"
run editedjson -f json --baseline "$T/edited.txt" "$A" "$B"
is "$(jq -r '.drifts_new' "$T/editedjson.out")" 2 "JSON --baseline: drifts_new 2"
is "$(jq -r '[.drifts[] | select(.baselined | not) | .path] | join(" ")' "$T/editedjson.out")" \
    '$.items[*].SKU $.items[*].sku' "JSON --baseline: baselined false on the items drifts only"
is "$(jq -r '[.drifts[] | select(.baselined) ] | length' "$T/editedjson.out")" 4 \
    "JSON --baseline: baselined true on the other four"

# Bad baselines: exit 2 naming the file and line, nothing written.
{ sed -n 1,4p "$T/baseline.txt"; printf 'GET /v1/items\tmissing\t$.x\n'; } >"$T/short.txt"
run short -o "$T/short-out.txt" --baseline "$T/short.txt" "$A"
is "$ST" 2 "a baseline line with 3 fields: exit 2"
is "$ERR" "paritytap report: --baseline: $T/short.txt:5: fewer than 4 tab-separated fields (ROUTE, KIND, PATH, SIDE)" \
    "... naming the file and line and what is wrong"
ok "... and -o FILE is not created" test ! -e "$T/short-out.txt"
printf 'GET /v1/items\tmissing\t$.x\tnobody\n' >"$T/side.txt"
run side --baseline "$T/side.txt" "$A"
is "$ST" 2 "a baseline line with an unknown side: exit 2"
contains "$ERR" "$T/side.txt:1: the side is not primary, candidate, secondary or both" \
    "... saying so"
run nobase --baseline "$T/no-such.txt" "$A"
is "$ST" 2 "a missing baseline: exit 2"
contains "$ERR" "$T/no-such.txt: No such file or directory" "... naming it"
run both -f baseline --baseline "$T/baseline.txt" "$A"
is "$ST" 2 "--baseline with --format baseline: exit 2"
contains "$ERR" "--format baseline lists every drift" "... saying why"

run help --help
contains "$OUT" "--baseline FILE" "--help documents --baseline"
contains "$OUT" "or baseline (every drift" "--help documents --format baseline"

# --- HTML -------------------------------------------------------------------

run html -f html --baseline "$T/edited.txt" -o "$T/report.html" "$A" "$B"
is "$ST" 0 "HTML --baseline: exits 0"
H=$(cat "$T/report.html")
contains "$H" '<table id="drifts">' "HTML: a drift table"
contains "$H" '6 drifts, 2 new, 4 in the baseline' "HTML: the count, new and in the baseline"
contains "$H" '<tr><td>4</td><td>66.7%</td><td class="name">yes</td><td class="name">GET /v1/users/{id} missing $.line_offset (candidate)</td>' \
    "HTML: the users row with its count, share and baseline mark"
contains "$H" '<td class="name bad">no</td><td class="name">GET /v1/items extra $.items[*].SKU (candidate)</td>' \
    "HTML: a new drift marked"
run htmltop -f html --top 2 "$A" "$B"
contains "$OUT" "6 drifts, the top 2 shown" "HTML --top 2: says so"

if ! have_chromium; then
	skip "chromium is not installed: the HTML page is not rendered"
else
	chrome_dom dom "file://$T/report.html"
	is "$?" 0 "chromium --dump-dom exits 0"
	# The rendered rows of the drift table: its tbody, one row a line.
	sed -n '/<table id="drifts">/,/<\/table>/p' "$T/dom.html" |
	    grep -o '<tr><td>[0-9]*</td><td>[0-9.]*%</td><td class="name[a-z ]*">[a-z]*</td><td class="name">[^<]*</td>' \
	    >"$T/dom-rows"
	is "$(cat "$T/dom-rows")" \
'<tr><td>4</td><td>66.7%</td><td class="name">yes</td><td class="name">GET /v1/users/{id} missing $.line_offset (candidate)</td>
<tr><td>2</td><td>100.0%</td><td class="name bad">no</td><td class="name">GET /v1/items extra $.items[*].SKU (candidate)</td>
<tr><td>2</td><td>100.0%</td><td class="name bad">no</td><td class="name">GET /v1/items missing $.items[*].sku (candidate)</td>
<tr><td>1</td><td>100.0%</td><td class="name">yes</td><td class="name">GET /v1/config header:content-type (both)</td>
<tr><td>1</td><td>100.0%</td><td class="name">yes</td><td class="name">GET /v1/search candidate_error:timeout (candidate)</td>
<tr><td>1</td><td>100.0%</td><td class="name">yes</td><td class="name">POST /v1/sessions status 201-&gt;200 (both)</td>' \
	    "rendered: the drift table's six rows, as the browser parsed them"
	for id in verdicts routes signatures drifts; do
		contains "$(cat "$T/dom.html")" "<table id=\"$id\">" \
		    "rendered: the $id table"
	done
	is "$(grep -o '<section class="example"' "$T/dom.html" | wc -l | tr -d ' ')" \
	    9 "rendered: the examples still follow, one per signature"
fi

done_testing
