#!/bin/sh
# paritytap report --format json documents every member it emits: each
# key jq finds in a rich report (two captures the real proxy recorded,
# tests/fixtures/report-a.jsonl and report-b.jsonl, plus a diff marked
# noise, a line with no verdict and one with a verdict from a newer
# version, a baseline, every example) is named in the man page's report
# section.  The "none" verdict those two lines get is counted and
# documented.

. "$(dirname "$0")/lib.sh"
need jq
[ -x "$PARITYTAP" ] || bail "PARITYTAP=$PARITYTAP is not executable"
MAN=$top_srcdir/man/paritytap.1

cat "$FIXTURES/report-a.jsonl" "$FIXTURES/report-b.jsonl" >"$T/cap.jsonl"
# A diff learned to be noise, on a copy of the first line.
jq -c 'select(.route == "GET /v1/users/{id}") | .id = "noise-1" |
    .diffs += [{kind: "value", path: "$.tags[3]", primary: "\"a\"",
        candidate: "\"b\"", noise: true}]' "$FIXTURES/report-a.jsonl" |
    head -n 1 >>"$T/cap.jsonl"
# No verdict, and a verdict this version does not know.
jq -c 'select(.route == "GET /v1/hello") | .id = "no-verdict" | del(.verdict)' \
    "$FIXTURES/report-a.jsonl" "$FIXTURES/report-b.jsonl" | head -n 1 >>"$T/cap.jsonl"
jq -c 'select(.route == "GET /v1/hello") | .id = "new-verdict" |
    .verdict = "semantic"' "$FIXTURES/report-a.jsonl" "$FIXTURES/report-b.jsonl" |
    head -n 1 >>"$T/cap.jsonl"
is "$(cap_nlines "$T/cap.jsonl")" 20 "the capture: 17 recorded exchanges and 3 made here"

"$PARITYTAP" report -q -f baseline -o "$T/base.txt" "$FIXTURES/report-a.jsonl"
"$PARITYTAP" report -f json --examples 100 --baseline "$T/base.txt" \
    "$T/cap.jsonl" >"$T/report.json" 2>"$T/report.err"
is "$?" 0 "report -f json: exit 0"

# --- the none verdict ---------------------------------------------------------

is "$(jq -c '[.totals.verdicts.none, (.routes[] | select(.route == "GET /v1/hello") | .verdicts.none)]' "$T/report.json")" \
    '[2,2]' "JSON: the line with no verdict and the one with an unknown verdict count as none"
"$PARITYTAP" report "$T/cap.jsonl" >"$T/report.txt" 2>&1
ok "text: a none row when there is one" grep -q '^  none  *2 ' "$T/report.txt"
# The VERDICTS section of the page, as roff.
sed -n '/^\.Sh VERDICTS/,/^\.Ss /p' "$MAN" >"$T/verdicts.roff"
for v in primary_error candidate_error both_failed status shape body header \
    value match skipped recorded none; do
	ok "VERDICTS documents $v" grep -qx ".It Cm $v" "$T/verdicts.roff"
done

# --- every member -------------------------------------------------------------

# The words of the report section's macro lines (.Li, .It Li, ...): the
# names the page sets in literal type.
sed -n '/^\.Ss report$/,/^\.Ss noise$/p' "$MAN" | grep '^\.' |
    sed 's/^\.[A-Za-z][a-z]* //' | tr ' ' '\n' |
    sed 's/^[(]//; s/[),.;:]*$//' | grep -v '^[A-Z][a-z]$' | sort -u \
    >"$T/man-words"
jq -r '[paths | .[] | select(type == "string")] | unique[]' "$T/report.json" \
    >"$T/keys"
ok "the report has at least 70 distinct member names" \
    test "$(wc -l <"$T/keys")" -ge 70
for k in time_axis per_bucket examples status_codes places body_truncated \
    noise baselined; do
	ok "the rich report has $k" grep -qx "$k" "$T/keys"
done
comm -23 "$T/keys" "$T/man-words" >"$T/undocumented"
is "$(cat "$T/undocumented")" "" \
    "every member of the JSON report is named in the man page's report section"

done_testing
