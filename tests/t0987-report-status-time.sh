#!/bin/sh
# paritytap report: the status codes each side answered per route
# ("200: 13/14, 201: 1/0, error: 1/1", primary/candidate) and the time
# axis, each signature's exchanges per minute, hour or day over the
# captures' span (the narrowest bucket that needs at most 120), in text
# (an ASCII bar "_.:-=+*#%@"), JSON (start, width, counts) and HTML
# (inline SVG, checked in headless Chromium when it is installed).  The
# exchanges are those the real proxy recorded in
# tests/fixtures/report-a.jsonl and report-b.jsonl, their times spread
# with jq; every expected figure is computed again here with jq.

. "$(dirname "$0")/lib.sh"
need jq
[ -x "$PARITYTAP" ] || bail "PARITYTAP=$PARITYTAP is not executable"

cat "$FIXTURES/report-a.jsonl" "$FIXTURES/report-b.jsonl" >"$T/ab.jsonl"

# spread STEP: the 17 exchanges, the i-th at 2026-11-21T10:00:07Z + i*STEP
# seconds.
spread() {
	jq -c -s --argjson step "$1" 'to_entries[] | .key as $i | .value |
	    .ts = ((1795255207 + $i * $step) | todate | sub("Z$"; ".000000Z"))' \
	    "$T/ab.jsonl"
}
spread 37 >"$T/min.jsonl"
spread 1200 >"$T/hour.jsonl"
spread 32400 >"$T/day.jsonl"

# run NAME ARGS...: paritytap report to $T/NAME.out/.err; sets ST, OUT.
run() {
	_n=$1
	shift
	"$PARITYTAP" report "$@" >"$T/$_n.out" 2>"$T/$_n.err" </dev/null
	ST=$?
	OUT=$(cat "$T/$_n.out")
}

# --- status codes -------------------------------------------------------------

# The mix of every route as jq counts it: "ROUTE<TAB>200: 1/1, error: 0/1".
jq -r -s '
    def st(s): if s == null then empty elif s.error != null then "error"
        else (s.status | tostring) end;
    def mix: (map(st(.responses.primary)) | group_by(.) |
        map({key: .[0], value: [length, 0]})) as $p |
        (map(st(.responses.candidate)) | group_by(.) |
        map({key: .[0], value: [0, length]})) as $c |
        ($p + $c) | group_by(.key) |
        map({key: .[0].key, p: (map(.value[0]) | add),
            c: (map(.value[1]) | add)}) |
        sort_by(if .key == "error" then 1000 else (.key | tonumber) end) |
        map("\(.key): \(.p)/\(.c)") | join(", ");
    (group_by(.route)[] | "\(.[0].route)\t\(mix)"), "(all)\t\(mix)"' \
    "$T/min.jsonl" >"$T/want-mix"
is "$(grep -c . "$T/want-mix")" 11 "jq: 10 routes and (all)"
is "$(grep -F 'POST /v1/sessions' "$T/want-mix" | cut -f2)" "200: 0/1, 201: 1/0" \
    "jq: the sessions route answered 201 on the primary, 200 on the candidate"

run text "$T/min.jsonl"
is "$ST" 0 "text: exit 0"
sed -n '/^Status codes (primary\/candidate)$/,/^$/p' "$T/text.out" |
    sed '1d; /^$/d; s/^  //; s/  *\([0-9e][0-9r]*[0-9o]*: \)/\t\1/' >"$T/got-mix"
ok "text: a status line per route and for all, as jq counts them" \
    cmp -s "$T/want-mix" "$T/got-mix"
cmp -s "$T/want-mix" "$T/got-mix" || diff "$T/want-mix" "$T/got-mix" | sed 's/^/# /'
like "$OUT" '^  GET /v1/search +200: 1/0, error: 0/1$' \
    "text: a candidate timeout is an error, not a status"

run json -f json "$T/min.jsonl"
J=$T/json.out
jq -r '(.routes[] | [.route, .status_codes]), ["(all)", .totals.status_codes] |
    "\(.[0])\t\(.[1] | map("\(.status // "error"): \(.primary)/\(.candidate)") | join(", "))"' \
    "$J" >"$T/json-mix"
ok "JSON: status_codes per route and in totals, as jq counts them" \
    cmp -s "$T/want-mix" "$T/json-mix"
is "$(jq -c '.routes[] | select(.route == "GET /v1/report") | .status_codes' "$J")" \
    '[{"status":200,"primary":0,"candidate":1},{"status":null,"primary":1,"candidate":0}]' \
    "JSON: a failed side's count under status null, last"

# --- the time axis ------------------------------------------------------------

run jsonmin -f json "$T/min.jsonl"
is "$(jq -c .time_axis "$T/jsonmin.out")" \
    '{"start":"2026-11-21T10:00:00.000000Z","bucket":"minute","bucket_seconds":60,"buckets":10}' \
    "JSON: 17 exchanges 37 s apart (10:00:07 to 10:09:59): 10 minutes from 10:00"

# Each divergent exchange's minute and signature: the signature is found
# by the report itself (--examples 1000 lists every exchange of each).
"$PARITYTAP" report -f json --examples 1000 "$T/min.jsonl" >"$T/all-ex.json"
jq -r '.signatures[] | .signature as $s | .examples[] | [$s, .ts] | @tsv' \
    "$T/all-ex.json" >"$T/sig-ts"
is "$(wc -l <"$T/sig-ts" | tr -d ' ')" \
    "$(jq -s '[.[] | select(.verdict | IN("match", "skipped", "recorded") | not)] | length' "$T/min.jsonl")" \
    "every divergent exchange is an example of one signature"
jq -R -s -r 'split("\n") | map(select(. != "") | split("\t")) |
    map({s: .[0], m: (.[1] | sub("\\.[0-9]+Z$"; "Z") | fromdate | (. - 1795255200) / 60 | floor)}) |
    group_by(.s)[] | .[0].s as $s |
    [range(10) as $k | map(select(.m == $k)) | length] |
    "\($s)\t\(map(tostring) | join(","))"' "$T/sig-ts" | sort >"$T/want-buckets"
jq -r '.signatures[] | "\(.signature)\t\(.per_bucket | map(tostring) | join(","))"' \
    "$T/jsonmin.out" | sort >"$T/got-buckets"
ok "JSON: per_bucket of each signature, as jq counts its exchanges' minutes" \
    cmp -s "$T/want-buckets" "$T/got-buckets"
cmp -s "$T/want-buckets" "$T/got-buckets" || diff "$T/want-buckets" "$T/got-buckets" | sed 's/^/# /'
is "$(jq -c '.signatures[] | select(.signature == "shape GET /v1/users/{id} $.line_offset") | .per_bucket' "$T/jsonmin.out")" \
    '[2,0,0,0,0,0,0,1,1,0]' "JSON: the users signature's four exchanges: two in the first minute, one in the 8th and 9th"

# The text bar: "_" for none, else ".:-=+*#%@" by ceil(9 * n / max).
jq -r '.signatures[] | "\(.signature)\t" + (.per_bucket | max as $m |
    map(. as $n | if $n == 0 then "_" else
        ("_.:-=+*#%@" | .[((9 * $n + $m - 1) / $m | floor):][:1]) end) |
    join(""))' "$T/jsonmin.out" | sort >"$T/want-bars"
run textmin "$T/min.jsonl"
awk '/^ +[0-9]+  / { sig = $0; sub(/^ +[0-9]+  /, "", sig) }
    /^          per minute from 2026-11-21T10:00:00.000000Z \(max [0-9]+\): \|/ {
        bar = $0; sub(/.*: \|/, "", bar); sub(/\|$/, "", bar); print sig "\t" bar }' \
    "$T/textmin.out" | sort >"$T/got-bars"
is "$(wc -l <"$T/got-bars" | tr -d ' ')" 9 "text: a time line under each of the 9 signatures"
ok "text: each signature's bar, one ASCII character a minute" \
    cmp -s "$T/want-bars" "$T/got-bars"
cmp -s "$T/want-bars" "$T/got-bars" || diff "$T/want-bars" "$T/got-bars" | sed 's/^/# /'
ok "text: the users signature's line" grep -qxF \
    '          per minute from 2026-11-21T10:00:00.000000Z (max 2): |@______++_|' "$T/textmin.out"
is "$(grep '^          per ' "$T/textmin.out" | LC_ALL=C grep -c '[^ -~]')" 0 \
    "text: the time lines are ASCII, for any terminal"

run jsonhour -f json "$T/hour.jsonl"
is "$(jq -c .time_axis "$T/jsonhour.out")" \
    '{"start":"2026-11-21T10:00:00.000000Z","bucket":"hour","bucket_seconds":3600,"buckets":6}' \
    "20 minutes apart (5 h 20 min, 321 minutes): 6 hours"
run texthour "$T/hour.jsonl"
ok "text: per hour" grep -q '^          per hour from 2026-11-21T10:00:00.000000Z (max [0-9]*): |[_.:=+*#%@-]\{6\}|$' "$T/texthour.out"
run jsonday -f json "$T/day.jsonl"
is "$(jq -c .time_axis "$T/jsonday.out")" \
    '{"start":"2026-11-21T00:00:00.000000Z","bucket":"day","bucket_seconds":86400,"buckets":7}' \
    "9 hours apart (144 hours): 7 days"

# --- HTML ---------------------------------------------------------------------

run html -f html -o "$T/report.html" "$T/min.jsonl"
is "$ST" 0 "HTML: exit 0"
H=$(cat "$T/report.html")
contains "$H" '<table id="status-codes">' "HTML: a status code table"
contains "$H" '<tr><th scope="row" class="name">POST /v1/sessions</th><td>200</td><td>0</td><td class="bad">1</td></tr>' \
    "HTML: a status row, the count that differs marked"
contains "$H" '; over time: 10 buckets of one minute from 2026-11-21T10:00:00.000000Z' \
    "HTML: the axis said above the signatures"
unlike "$H" '<script' "HTML: no script"

if ! have_chromium; then
	skip "chromium is not installed: the HTML page is not rendered"
else
	chrome_dom dom "file://$T/report.html"
	is "$?" 0 "chromium --dump-dom exits 0"
	sed 's/</\n</g' "$T/dom.html" >"$T/dom.lines"
	is "$(grep -c '^<svg class="timeline"' "$T/dom.lines")" 9 \
	    "rendered: an SVG time axis for each of the 9 signatures"
	is "$(grep -c '^<rect class="bucket' "$T/dom.lines")" 90 \
	    "rendered: 10 bars in each (90)"
	# The bars of each SVG, in page order, as "c,c,c".
	awk '/^<svg class="timeline"/ { if (n) print line; line = ""; n = 1 }
	    /^<rect class="bucket/ { match($0, /data-count="[0-9]+"/);
	        c = substr($0, RSTART + 12, RLENGTH - 13);
	        line = line (line == "" ? "" : ",") c }
	    END { if (n) print line }' "$T/dom.lines" >"$T/dom-bars"
	is "$(cat "$T/dom-bars")" \
	    "$(jq -r '.signatures[] | .per_bucket | map(tostring) | join(",")' "$T/jsonmin.out")" \
	    "rendered: each SVG's bars carry the signature's counts, in order"
	is "$(sed -n '/^<table id="status-codes">/,/^<\/table>/p' "$T/dom.lines" |
	    grep -c '^<tr')" \
	    "$(jq '[.routes[].status_codes[], .totals.status_codes[]] | length + 1' "$T/json.out")" \
	    "rendered: the status table, a row per route and status (and its head)"
fi

done_testing
