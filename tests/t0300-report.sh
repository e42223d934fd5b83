#!/bin/sh
# paritytap report: golden text and JSON reports of captures recorded with
# the real proxy (captures/validator.jsonl; tests/fixtures/report-a.jsonl
# and report-b.jsonl, see tests/fixtures/make-report-fixtures.sh), gzip,
# stdin, quoted globs, merged files, malformed and torn input, -o, and the
# HTML page checked in headless Chromium (skipped when it is absent).
#
# PT_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.

. "$(dirname "$0")/lib.sh"
need jq gzip
[ -x "$PARITYTAP" ] || bail "PARITYTAP=$PARITYTAP is not executable"

GOLDEN=$top_srcdir/tests/golden
A=tests/fixtures/report-a.jsonl
B=tests/fixtures/report-b.jsonl
V=captures/validator.jsonl

# run NAME ARGS...: run paritytap report from the source directory (so
# capture names in the output are relative), stdout/stderr to
# $T/NAME.out/.err; sets ST, OUT, ERR.
run() {
	_n=$1
	shift
	(cd "$top_srcdir" && timeout 30 "$PARITYTAP" report "$@") \
	    >"$T/$_n.out" 2>"$T/$_n.err" </dev/null
	ST=$?
	OUT=$(cat "$T/$_n.out")
	ERR=$(cat "$T/$_n.err")
}

# golden NAME FILE: FILE matches tests/golden/NAME byte for byte.
golden() {
	if [ -n "${PT_UPDATE_GOLDEN:-}" ]; then
		cp "$2" "$GOLDEN/$1"
		pass "$1: golden file rewritten"
	elif cmp -s "$GOLDEN/$1" "$2"; then
		pass "$1: the output matches the golden file"
	else
		fail "$1: the output matches the golden file"
		diff -u "$GOLDEN/$1" "$2" | head -n 40 | sed 's/^/# /'
	fi
}

# --- golden reports ---------------------------------------------------------

run vtext "$V"
is "$ST" 0 "validator: text report exits 0 (divergences are no error)"
golden report-validator.txt "$T/vtext.out"
like "$OUT" '^  *2  shape POST /v1/validate \$\.Field \$\.Kind \$\.Reason \$\.Schema$' \
    "validator: the two schema cases share one signature, counted twice"
like "$OUT" '^  6 exchanges: 6/6 status match · 1/6 shape match · 5 shape divergences · 0 errors$' \
    "validator: the summary line is the proxy's"

run vjson --format json "$V"
is "$ST" 0 "validator: JSON report exits 0"
golden report-validator.json "$T/vjson.out"
is "$(jq -r '[.totals.count, .totals.match, .totals.shape, .signatures_total] | @tsv' "$T/vjson.out")" \
    "$(printf '6\t1\t5\t4')" "validator: JSON counts 6 exchanges, 1 match, 5 shape, 4 signatures"

run abtext "$A" "$B"
is "$ST" 0 "two captures: text report exits 0"
golden report-ab.txt "$T/abtext.out"
like "$OUT" '^  *4  shape GET /v1/users/\{id\} \$\.line_offset$' \
    "two captures: a signature seen in both files is merged (4)"
like "$OUT" '^  *2  shape GET /v1/items \$\.items\[\*\]\.SKU \$\.items\[\*\]\.sku$' \
    "array indexes fold to [*]: three elements, one signature"
like "$OUT" 'candidate_error GET /v1/search candidate:timeout' \
    "a candidate timeout has its own signature"
like "$OUT" '^  GET /v1/users/\{id\} +6 +2 +0 +4 +0 +0 +0 +0 ' \
    "the route table: 6 users requests, 2 match, 4 shape"
like "$OUT" '^  DELETE /v1/users/\{id\} +1 +0 +0 +0 +0 +0 +0 +0 +[0-9.]+ +[0-9.]+ +- +-$' \
    "a skipped exchange is counted, in no verdict column, no candidate latency"
like "$OUT" '^  GET /v1/broken +1 +0 +0 +0 +0 +0 +0 +1 ' \
    "both_failed counts as an error"

run abjson -f json "$A" "$B"
is "$ST" 0 "two captures: JSON report exits 0"
golden report-ab.json "$T/abjson.out"
is "$(jq -r '[.captures[].exchanges] | @tsv' "$T/abjson.out")" "$(printf '12\t5')" \
    "JSON: exchanges per capture file"
is "$(jq -r '.signatures | map(.count) | @csv' "$T/abjson.out")" "4,2,2,1,1,1,1,1,1" \
    "JSON: signatures by count, most first"
is "$(jq -r '.routes | map(.route) == (map(.route) | sort)' "$T/abjson.out")" true \
    "JSON: routes sorted"
is "$(jq -r '.totals.errors' "$T/abjson.out")" 3 \
    "JSON: errors = primary_error + candidate_error + both_failed"

# The percentiles, computed independently with jq (nearest rank).
WANT=$(cat "$top_srcdir/$A" "$top_srcdir/$B" | jq -s -c '
	def pct($p): sort | if length == 0 then null
	    else .[(($p * length + 99) / 100 | floor) - 1] end;
	group_by(.route) | map({route: .[0].route,
	    primary: ([.[].responses.primary.ms // empty] | [pct(50), pct(99)]),
	    candidate: ([.[].responses.candidate.ms // empty] | [pct(50), pct(99)])})')
GOT=$(jq -c '.routes | map({route,
	primary: [.latency_ms.primary.p50, .latency_ms.primary.p99],
	candidate: [.latency_ms.candidate.p50, .latency_ms.candidate.p99]})' \
    "$T/abjson.out")
is "$GOT" "$WANT" "JSON: p50/p99 per route and side, as jq computes them"

# The same captures the other way round: the same report but for the
# order of the file list (the example is the earliest, whatever the order).
run bajson -f json "$B" "$A"
is "$(jq -S 'del(.captures)' "$T/bajson.out")" \
    "$(jq -S 'del(.captures)' "$T/abjson.out")" \
    "the file order does not change the report"

# --- inputs -----------------------------------------------------------------

gzip -c "$top_srcdir/$A" >"$T/a.jsonl.gz"
run gz -f json "$T/a.jsonl.gz"
is "$ST" 0 ".jsonl.gz: exits 0"
run plain -f json "$A"
is "$(jq -S 'del(.captures)' "$T/gz.out")" \
    "$(jq -S 'del(.captures)' "$T/plain.out")" \
    ".jsonl.gz: the same report as the plain file"

(cd "$top_srcdir" && "$PARITYTAP" report -f json - <"$A") >"$T/stdin.out" \
    2>"$T/stdin.err"
is "$(jq -r '.captures[0].file + " " + (.exchanges | tostring)' "$T/stdin.out")" \
    "stdin 12" "'-' reads stdin"

mkdir "$T/dir"
cp "$top_srcdir/$A" "$T/dir/a.jsonl"
cp "$top_srcdir/$B" "$T/dir/b.jsonl"
run glob -f json "$T/dir/*.jsonl"
is "$ST" 0 "a quoted glob: exits 0"
is "$(jq -r '[.captures[].file | sub(".*/"; "")] | @tsv' "$T/glob.out")" \
    "$(printf 'a.jsonl\tb.jsonl')" "a quoted glob is expanded, in order"
is "$(jq -S 'del(.captures)' "$T/glob.out")" \
    "$(jq -S 'del(.captures)' "$T/abjson.out")" \
    "a quoted glob: the same report as the files named"

run noglob "$T/dir/*.nothing"
is "$ST" 2 "a glob matching nothing exits 2"
contains "$ERR" "*.nothing: no file matches" "... and names the pattern"

run missing "$T/no-such.jsonl"
is "$ST" 2 "a missing capture exits 2"
contains "$ERR" "$T/no-such.jsonl: No such file or directory" \
    "... and names the file"

# A malformed second line.
{
	sed -n 1p "$top_srcdir/$A"
	echo '{"paritytap":1,"id":"x",'
	sed -n 2,3p "$top_srcdir/$A"
} >"$T/bad.jsonl"
run bad -o "$T/bad-out.txt" "$T/bad.jsonl"
is "$ST" 2 "a malformed line exits 2"
like "$ERR" "^paritytap report: $T/bad.jsonl:2: invalid JSON" \
    "... and names the file and line"
ok "... and -o FILE is not created" test ! -e "$T/bad-out.txt"

run lenient --lenient -f json "$T/bad.jsonl"
is "$ST" 0 "--lenient: a malformed line is skipped"
like "$ERR" "$T/bad.jsonl:2: .*skipped" "--lenient: the warning names file and line"
is "$(jq -r .exchanges "$T/lenient.out")" 3 "--lenient: the other lines are counted"

# A torn last line (a crash mid-write): a warning, still a report.
{
	sed -n 1,2p "$top_srcdir/$A"
	sed -n 3p "$top_srcdir/$A" | head -c 100
} >"$T/torn.jsonl"
run torn -f json "$T/torn.jsonl"
is "$ST" 0 "a torn last line: exits 0"
like "$ERR" "torn.jsonl:3: skipping torn last line" "a torn last line: warned"
is "$(jq -r .exchanges "$T/torn.out")" 2 "a torn last line: the rest is counted"

# A second file's malformed line is named with its own file.
run bad2 "$A" "$T/bad.jsonl"
is "$ST" 2 "a malformed line in the second file exits 2"
contains "$ERR" "$T/bad.jsonl:2:" "... naming that file"

: >"$T/empty.jsonl"
run empty0 -f json "$T/empty.jsonl"
is "$ST" 2 "an empty capture: exits 2 (a report of nothing is no clean run)"
contains "$ERR" "no exchange in $T/empty.jsonl" "... saying so"
run empty -f json --allow-empty "$T/empty.jsonl"
is "$ST" 0 "an empty capture with --allow-empty: exits 0"
is "$(jq -r '[.exchanges, .signatures_total, (.first == null)] | @tsv' "$T/empty.out")" \
    "$(printf '0\t0\ttrue')" "an empty capture: an empty report"

# --- options ----------------------------------------------------------------

run top --top 2 "$A" "$B"
like "$OUT" '^Signatures \(top 2 of 9\)$' "--top 2: the heading says 2 of 9"
is "$(grep -c '^ *[0-9][0-9]*  [a-z_]* ' "$T/top.out")" 2 "--top 2: two signatures listed"
run topjson --top 1 -f json "$A"
is "$(jq -r '[.signatures_total, (.signatures | length)] | @tsv' "$T/topjson.out")" \
    "$(printf '9\t1')" "--top 1 -f json: one listed, the total kept"

run out -o "$T/report.txt" "$A" "$B"
is "$ST" 0 "-o FILE: exits 0"
is "$OUT" "" "-o FILE: nothing on stdout"
ok "-o FILE: the file is the text report" cmp -s "$T/report.txt" "$T/abtext.out"
is "$(stat -c %a "$T/report.txt")" 600 "-o FILE: created mode 0600"

run badfmt --format yaml "$A"
is "$ST" 2 "--format yaml exits 2"
contains "$ERR" "--format: 'yaml' is not text, json, html or baseline" "... naming the option"
run badtop --top lots "$A"
is "$ST" 2 "--top lots exits 2"
contains "$ERR" "--top" "... naming the option"
run noargs
is "$ST" 2 "no capture exits 2"
contains "$ERR" "no capture file given" "... and says so"
run badopt --frobnicate "$A"
is "$ST" 2 "an unknown option exits 2"
contains "$ERR" "frobnicate" "... naming it"
run help --help
is "$ST" 0 "--help exits 0"
contains "$OUT" "--format FORMAT" "--help documents --format"
contains "$OUT" "--lenient" "--help documents --lenient"
run badout -o "$T/no/such/dir/r.txt" "$A"
is "$ST" 2 "-o in a missing directory exits 2"
contains "$ERR" "$T/no/such/dir/r.txt" "... naming the file"

# --- HTML -------------------------------------------------------------------

run html -f html -o "$T/report.html" "$A" "$B"
is "$ST" 0 "--format html -o FILE: exits 0"
H=$(cat "$T/report.html")
unlike "$H" '<script|<link|<img|<iframe|src=|url\(|@import' \
    "HTML: self-contained (no script, link, image, src or url())"
unlike "$H" 'href="[a-z]+:' "HTML: links stay on the page"
contains "$H" 'data-path="$.line_offset"' "HTML: the dropped field is highlighted"
contains "$H" 'data-path="$.items[0].sku"' \
    "HTML: a diff inside a gzipped body's array is highlighted (decoded)"

run htmltop -f html --top 2 "$A" "$B"
is "$(printf '%s\n' "$OUT" | grep -c '<section class="example"')" 2 \
    "HTML --top 2: two examples"
contains "$OUT" "9 signatures, the top 2 shown" "HTML --top 2: says so"

if ! have_chromium; then
	skip "chromium is not installed: the HTML page is not rendered"
else
	mkdir "$T/chrome-shot"
	chrome_dom dom "file://$T/report.html"
	is "$?" 0 "chromium --dump-dom exits 0"
	D=$(cat "$T/dom.html")
	for id in verdicts routes signatures; do
		contains "$D" "<table id=\"$id\">" "rendered: the $id table"
	done
	is "$(grep -o '<tr><td class="name">GET /v1/users/{id}</td>' "$T/dom.html" | wc -l | tr -d ' ')" \
	    1 "rendered: one row for GET /v1/users/{id}"
	is "$(grep -o '<figure class="latency-chart">' "$T/dom.html" | wc -l | tr -d ' ')" \
	    10 "rendered: one latency chart per route (10)"
	is "$(grep -o '<section class="example"' "$T/dom.html" | wc -l | tr -d ' ')" \
	    9 "rendered: one example per signature (9)"
	is "$(grep -o '<div class="side-by-side">' "$T/dom.html" | wc -l | tr -d ' ')" \
	    "$(jq '[.signatures[] | [.count, 3] | min] | add' "$T/abjson.out")" \
	    "rendered: each example exchange side by side (three at most a signature)"
	contains "$D" '<div class="side primary"><h4>primary · 200' \
	    "rendered: the primary's side with its status"
	contains "$D" '<div class="side candidate"><h4>candidate · 200' \
	    "rendered: the candidate's side with its status"
	contains "$D" '<mark class="diff diff-missing" data-path="$.line_offset">"line_offset": 0</mark>' \
	    "rendered: the missing field marked in the primary's body"
	contains "$D" '<mark class="diff diff-extra" data-path="$.items[2].SKU">"SKU": "c-3"</mark>' \
	    "rendered: an extra field marked in the candidate's body"
	timeout 90 $CHROME --user-data-dir="$T/chrome-shot" \
	    --screenshot="$T/report.png" --window-size=1280,2000 \
	    "file://$T/report.html" >/dev/null 2>"$T/chrome-shot.err"
	is "$?" 0 "chromium --screenshot exits 0"
	is "$(head -c 8 "$T/report.png" | od -An -tx1 | tr -d ' \n')" \
	    89504e470d0a1a0a "the screenshot is a PNG"
	cmp_ok "$(wc -c <"$T/report.png" | tr -d ' ')" -gt 20000 \
	    "the screenshot is not blank"
	if [ -n "${PT_KEEP_SHOT:-}" ]; then
		cp "$T/report.png" "$PT_KEEP_SHOT"
	fi
fi

done_testing
