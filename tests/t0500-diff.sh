#!/bin/sh
# paritytap diff as a user sees it: the session-log and materializer
# probes, shape and exact modes, --ignore, missing documents, inputs that
# do not parse, stdin, unreadable files, --json and --fail-on.

. "$(dirname "$0")/lib.sh"
need jq gzip
[ -x "$PARITYTAP" ] || bail "PARITYTAP=$PARITYTAP is not executable"
F=$FIXTURES
DOT=$(printf '\302\267')

# run ARGS...: paritytap diff ARGS; sets OUT, ERR, RC.
run() {
	"$PARITYTAP" diff "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# The session-log probe: rows differ only in timestamp and daemon.
run "$F/diff-session-rust.jsonl" "$F/diff-session-go.jsonl"
is "$RC" 0 "session log, shape mode: exit 0"
is "$OUT" "paritytap diff: 4 documents: 4/4 shape match $DOT 0 divergences $DOT 0 errors" \
    "session log, shape mode: the summary line"
is "$ERR" "" "session log, shape mode: no DIVERGE line"

run --mode exact "$F/diff-session-rust.jsonl" "$F/diff-session-go.jsonl"
is "$RC" 1 "session log, exact mode without --ignore: exit 1"
is "$(printf '%s\n' "$ERR" | grep -c '^DIVERGE value line [1-4] ')" 4 \
    "session log, exact mode: four DIVERGE value lines"
contains "$ERR" "DIVERGE value line 1 \$.daemon value \$.timestamp value" \
    "session log, exact mode: the line names timestamp and daemon"
contains "$OUT" "0/4 exact match $DOT 4 value divergences" \
    "session log, exact mode: 0/4 exact match"

run --mode exact --ignore '$.timestamp' --ignore '$.daemon' \
    "$F/diff-session-rust.jsonl" "$F/diff-session-go.jsonl"
is "$RC" 0 "session log, exact mode ignoring timestamp and daemon: exit 0"
is "$OUT" "paritytap diff: 4 documents: 4/4 shape match $DOT 4/4 exact match $DOT 0 divergences $DOT 0 errors" \
    "session log: 4/4 exact match, unicode row included"

# The materializer probe: Go's omitempty drops line_offset 0.
run "$F/diff-materializer-bun.jsonl" "$F/diff-materializer-go.jsonl"
is "$RC" 1 "materializer, omitempty: exit 1"
is "$OUT" "paritytap diff: 2 documents: 0/2 shape match $DOT 2 shape divergences $DOT 0 errors" \
    "materializer, omitempty: 0/2 shape match"
like "$ERR" '^DIVERGE shape line 1 \$\.provenance\.line_offset missing\(candidate\)' \
    "materializer: DIVERGE shape line 1 \$.provenance.line_offset missing(candidate)"
like "$ERR" '^DIVERGE shape line 2 \$\.provenance\.line_offset missing\(candidate\)' \
    "materializer: line 2 flagged too"

run --mode exact --ignore '$.provenance.recorded_at' \
    "$F/diff-materializer-bun.jsonl" "$F/diff-materializer-go-fixed.jsonl"
is "$RC" 0 "materializer after the fix, modulo recorded_at: exit 0"
contains "$OUT" "2/2 exact match" "materializer after the fix: 2/2 exact match"
run --mode exact "$F/diff-materializer-bun.jsonl" \
    "$F/diff-materializer-go-fixed.jsonl"
is "$RC" 1 "materializer after the fix, recorded_at not ignored: exit 1"
like "$ERR" '^DIVERGE value line 1 \$\.provenance\.recorded_at value$' \
    "exact mode names the value that differs"
run --mode exact --ignore '$..recorded_at' \
    "$F/diff-materializer-bun.jsonl" "$F/diff-materializer-go-fixed.jsonl"
is "$RC" 0 "--ignore '\$..recorded_at' matches at any depth"

# The omitempty case inline, one document on each side, through stdin.
printf '{"provenance":{"line_offset":0,"path":"a.jsonl"}}\n' >"$T/a.json"
printf '{"provenance":{"path":"a.jsonl"}}' |
    "$PARITYTAP" diff "$T/a.json" - >"$T/out" 2>"$T/err"
is "$?" 1 "stdin as B: the omitempty document diverges (exit 1)"
is "$(cat "$T/err")" 'DIVERGE shape line 1 $.provenance.line_offset missing(candidate)' \
    "stdin as B: the DIVERGE line"
"$PARITYTAP" diff - "$F/diff-session-go.jsonl" \
    <"$F/diff-session-rust.jsonl" >"$T/out" 2>"$T/err"
is "$?" 0 "stdin as A: exit 0"
contains "$(cat "$T/out")" "4/4 shape match" "stdin as A: 4/4 shape match"
run - - </dev/null
is "$RC" 2 "both A and B '-': exit 2"
contains "$ERR" "only one of A and B may be -" "both '-': the message says why"

# Exact is stricter than shape.
printf '{"a":1,"b":"x"}\n' >"$T/v1.jsonl"
printf '{"b":"y","a":2}\n' >"$T/v2.jsonl"
run "$T/v1.jsonl" "$T/v2.jsonl"
is "$RC" 0 "values differ, shape mode: exit 0"
run --mode exact "$T/v1.jsonl" "$T/v2.jsonl"
is "$RC" 1 "values differ, exact mode: exit 1"
contains "$ERR" 'DIVERGE value line 1 $.a value $.b value' \
    "values differ, exact mode: both paths named"
printf '{"a":1.0}\n' >"$T/r1.jsonl"
printf '{"a":1.00}\n' >"$T/r2.jsonl"
run --mode exact "$T/r1.jsonl" "$T/r2.jsonl"
is "$RC" 0 "exact mode compares numbers once parsed (1.0 = 1.00)"

# One JSON document per file, whatever its layout.
run --mode exact "$F/diff-single-primary.json" "$F/diff-single-candidate.json"
is "$RC" 0 "a pretty-printed document and a compact one with other key order"
is "$OUT" "paritytap diff: 1 document: 1/1 shape match $DOT 1/1 exact match $DOT 0 divergences $DOT 0 errors" \
    "a file that parses as one value is one document"

# Blank lines are skipped, CRLF is accepted; lines are each file's own.
printf '{"a":1}\r\n\r\n{"a":2,"b":0}\r\n' >"$T/crlf.jsonl"
printf '{"a":1}\n{"a":2}\n' >"$T/lf.jsonl"
run "$T/crlf.jsonl" "$T/lf.jsonl"
is "$RC" 1 "CRLF and a blank line: two documents, the second diverges"
is "$ERR" 'DIVERGE shape line 3/2 $.b missing(candidate)' \
    "the DIVERGE line shows A's line 3 and B's line 2"

# Different document counts are divergences, not truncation.
run "$F/diff-five.jsonl" "$F/diff-four.jsonl"
is "$RC" 1 "A has 5 documents, B 4: exit 1"
is "$OUT" "paritytap diff: 5 documents: 4/5 shape match $DOT 1 shape divergence (1 missing document) $DOT 0 errors" \
    "A 5, B 4: the summary counts the missing document"
is "$ERR" 'DIVERGE shape line 5/- $ missing(candidate)' \
    "A 5, B 4: document 5 is missing on the candidate"
run "$F/diff-four.jsonl" "$F/diff-five.jsonl"
is "$RC" 1 "A has 4 documents, B 5: exit 1"
is "$ERR" 'DIVERGE shape line -/5 $ extra(candidate)' \
    "A 4, B 5: document 5 is extra on the candidate"
run --fail-on value "$F/diff-five.jsonl" "$F/diff-four.jsonl"
is "$RC" 0 "--fail-on value: a missing document (shape) does not fail"
: >"$T/empty"
run "$T/empty" "$F/diff-four.jsonl"
is "$RC" 1 "an empty A against 4 documents: exit 1"
contains "$OUT" "4 shape divergences (4 missing documents)" \
    "an empty A: four missing documents"

# Both inputs invalid is never a match.
run "$F/diff-invalid.jsonl" "$F/diff-invalid.jsonl"
is "$RC" 1 "the same invalid line on both sides: exit 1"
is "$OUT" "paritytap diff: 3 documents: 2/3 shape match $DOT 0 divergences $DOT 1 error" \
    "both sides invalid: counted as an error"
like "$ERR" '^DIVERGE body line 2 invalid_json\(primary\) .* invalid_json\(candidate\)' \
    "both sides invalid: flagged on both sides"
run --fail-on value "$F/diff-invalid.jsonl" "$F/diff-invalid.jsonl"
is "$RC" 1 "an invalid document fails whatever --fail-on says"
printf 'not json\n' >"$T/bad"
run "$T/bad" "$T/bad"
is "$RC" 1 "two identical files that are not JSON: exit 1"
run "$T/empty" "$T/empty"
is "$RC" 1 "two empty files: exit 1 (an empty comparison is not parity)"
contains "$ERR" "hold no documents" "two empty files: the message says why"

# Unreadable files: exit 2, the file named.
run "$T/nosuch.jsonl" "$F/diff-four.jsonl"
is "$RC" 2 "a missing file: exit 2"
is "$ERR" "paritytap diff: cannot open $T/nosuch.jsonl: No such file or directory" \
    "a missing file: the message names it"
run "$F/diff-four.jsonl" "$T"
is "$RC" 2 "a directory: exit 2"
contains "$ERR" "cannot read $T: Is a directory" "a directory: named"

# gzip is read transparently.
gzip -c "$F/diff-session-go.jsonl" >"$T/go.jsonl.gz"
run "$F/diff-session-rust.jsonl" "$T/go.jsonl.gz"
is "$RC" 0 "a .gz file is read decompressed"

# --json.
json_doc() {
	[ "$(jq -s length "$1")" = 1 ] && jq -e 'type == "object"' "$1" >/dev/null
}
run --json "$F/diff-materializer-bun.jsonl" "$F/diff-materializer-go.jsonl"
is "$RC" 1 "--json: the exit status is the same"
ok "--json: stdout is one JSON document" json_doc "$T/out"
is "$(jq -r '[.mode, .documents, .shape_match, .divergences, .errors] |
    @tsv' "$T/out")" "$(printf 'shape\t2\t0\t2\t0')" \
    "--json: mode and counts"
is "$(jq -r '.results[0].diffs[] | select(.kind == "missing") |
    .path + " " + .side + " " + .primary' "$T/out")" \
    '$.provenance.line_offset candidate 0' \
    "--json: the missing diff with the primary's value"
is "$(jq -r '[.results[].verdict] | join(",")' "$T/out")" "shape,shape" \
    "--json: one result per document"
run --json --mode exact --ignore '$.timestamp' --ignore '$.daemon' \
    "$F/diff-session-rust.jsonl" "$F/diff-session-go.jsonl"
is "$(jq -r '[.exact_match, .failing, (.results | length)] | @tsv' \
    "$T/out")" "$(printf '4\t0\t4')" "--json, exact mode: exact_match"

# Options and usage errors.
run -q "$F/diff-materializer-bun.jsonl" "$F/diff-materializer-go.jsonl"
is "$RC:$ERR" "1:" "-q: no DIVERGE lines, same exit status"
run --mode fuzzy "$T/v1.jsonl" "$T/v2.jsonl"
is "$RC" 2 "--mode fuzzy: exit 2"
contains "$ERR" "--mode: 'fuzzy' is not shape or exact" "--mode: named"
run --ignore 'timestamp' "$T/v1.jsonl" "$T/v2.jsonl"
is "$RC" 2 "--ignore without \$: exit 2"
contains "$ERR" '--ignore: invalid ignore pattern "timestamp"' \
    "--ignore: the pattern is named"
run --fail-on shape,nonsense "$T/v1.jsonl" "$T/v2.jsonl"
is "$RC" 2 "--fail-on with an unknown verdict: exit 2"
contains "$ERR" "--fail-on: unknown verdict 'nonsense'" "--fail-on: named"
run "$T/v1.jsonl"
is "$RC" 2 "one file only: exit 2"
run "$T/v1.jsonl" "$T/v2.jsonl" "$T/v2.jsonl"
is "$RC" 2 "three files: exit 2"
contains "$ERR" "unexpected argument" "three files: said"
run --color sometimes "$T/v1.jsonl" "$T/v2.jsonl"
is "$RC" 2 "--color sometimes: exit 2"
run --mode exact --color always "$T/v1.jsonl" "$T/v2.jsonl"
contains "$ERR" "$(printf '\033[33mDIVERGE value\033[0m line 1')" \
    "--color always colours the verdict"
run --help
is "$RC" 0 "--help: exit 0"
for o in --mode --ignore --fail-on --json --strict-order --lenient-numbers \
    --quiet --verbose --color --help; do
	contains "$OUT" "$o" "--help lists $o"
done
MANDOC=${MANDOC:-$(command -v mandoc)}
if [ -n "$MANDOC" ]; then
	"$MANDOC" -Tascii "$top_srcdir/man/paritytap.1" | sed 's/.\x08//g' |
	    sed -n '/^   diff$/,/^[A-Z]/p' >"$T/man"
	for o in --mode --ignore --fail-on --json --strict-order \
	    --lenient-numbers --quiet --verbose --color --help; do
		contains "$(cat "$T/man")" "$o" "paritytap(1) diff section: $o"
	done
else
	skip "mandoc is not installed"
fi
printf '{"a":1}\n' >"$T/i.jsonl"
printf '{"a":1.0}\n' >"$T/f.jsonl"
run "$T/i.jsonl" "$T/f.jsonl"
contains "$ERR" '$.a type(integer->real)' "integer vs real is a type diff"
run --lenient-numbers "$T/i.jsonl" "$T/f.jsonl"
is "$RC" 0 "--lenient-numbers: 1 and 1.0 have one shape"
printf '{"b":1,"a":2}\n' >"$T/o1.jsonl"
printf '{"a":2,"b":1}\n' >"$T/o2.jsonl"
run --strict-order --fail-on shape,order "$T/o1.jsonl" "$T/o2.jsonl"
is "$RC" 2 "--fail-on order: not a verdict, exit 2"
run --strict-order --json "$T/o1.jsonl" "$T/o2.jsonl"
is "$(jq -r '[.results[0].diffs[].kind] | join(",")' "$T/out")" "order" \
    "--strict-order reports key order"


# One rule for key order under --strict-order, whatever else differs: it
# is a shape divergence in both modes, never an exact match, and the
# DIVERGE line names it as the man page does, PATH order(candidate).
printf '{"b":1,"a":2}\n{"b":1,"a":2}\n' >"$T/o1.jsonl"
printf '{"a":2,"b":1}\n{"a":3,"b":1}\n' >"$T/o2.jsonl"
for mode in shape exact; do
	run --mode "$mode" --strict-order --json "$T/o1.jsonl" "$T/o2.jsonl"
	is "$RC" 1 "--strict-order, $mode mode: exit 1"
	is "$(jq -r '[.results[] | .verdict, .shape_match] | join(",")' \
	    "$T/out")" "shape,false,shape,false" \
	    "--strict-order, $mode mode: order alone and order with a value diff are both shape"
	run --mode "$mode" --strict-order "$T/o1.jsonl" "$T/o2.jsonl"
	is "$ERR" 'DIVERGE shape line 1 $ order(candidate)
DIVERGE shape line 2 $ order(candidate) $.a value' \
	    "--strict-order, $mode mode: the DIVERGE lines"
done
run --mode exact --strict-order --json "$T/o1.jsonl" "$T/o2.jsonl"
is "$(jq -r '[.exact_match, (.results[] | .exact_match)] | join(",")' \
    "$T/out")" "0,false,false" "--strict-order, exact mode: no exact match"
run --mode exact --json "$T/o1.jsonl" "$T/o2.jsonl"
is "$(jq -r '[.results[] | .verdict] | join(",")' "$T/out")" "match,value" \
    "exact mode without --strict-order: order is not a difference"

# Exact mode counts numbers equal when the engine does, and reports every
# difference at its path.
printf '{"x":0.0,"y":1}\n{"x":0.0,"y":1}\n{"x":1,"y":[1.5]}\n' >"$T/n1.jsonl"
printf '{"x":-0.0,"y":1}\n{"x":-0.0,"y":2}\n{"x":1.0,"y":[2.5]}\n' \
    >"$T/n2.jsonl"
run --mode exact --lenient-numbers --json "$T/n1.jsonl" "$T/n2.jsonl"
is "$(jq -r '[.results[] | .verdict] | join(",")' "$T/out")" \
    "match,value,value" "exact mode: 0.0 = -0.0, 1 = 1.0 with --lenient-numbers"
is "$(jq -r '[.results[] | [.diffs[] | "\(.kind) \(.path)"] | join(";")] |
    join("|")' "$T/out")" '|value $.y|value $.y[0]' \
    "exact mode: each difference at its path, none at \$ for equal numbers"
run --mode exact --lenient-numbers "$T/n1.jsonl" "$T/n2.jsonl"
contains "$OUT" "1/3 exact match" "exact mode: equal numbers are an exact match"
run --mode exact "$T/n1.jsonl" "$T/n2.jsonl"
like "$ERR" '^DIVERGE shape line 3 \$\.x type\(integer->real\) \$\.y\[0\] value$' \
    "exact mode without --lenient-numbers: 1 vs 1.0 is a type diff at \$.x"

done_testing
