#!/bin/sh
# rejudge --secondary-learned: noise learned from the captures' second
# answers (tests/backends/noisyapp.py) marks the noise diffs of every
# exchange, the first ones included, and only the three real drifts are
# left to decide the verdicts; the same verdicts as rejudging with the
# ignore file paritytap noise --format config writes.  Not from stdin.

. "$(dirname "$0")/lib.sh"
need jq python3
need_binaries

N=120
python3 "$top_srcdir/tests/backends/noisyapp.py" capture "$N" >"$T/cap.jsonl"

# want: the verdict each /items/ID should have, one per line.
i=1
while [ "$i" -le "$N" ]; do
	if [ $((i % 3)) -eq 0 ] || [ $((i % 5)) -eq 0 ]; then
		echo shape
	elif [ $((i % 7)) -eq 0 ]; then
		echo value
	else
		echo match
	fi
	i=$((i + 1))
done >"$T/want"

"$PARITYTAP" rejudge "$T/cap.jsonl" -o "$T/plain.jsonl" 2>"$T/plain.err"
is "$?" 0 "rejudge without learning: exit 0"
is "$(jq -r .verdict "$T/plain.jsonl" | grep -c '^match$')" 0 \
    "... every exchange diverges on its noise"

"$PARITYTAP" rejudge --secondary-learned "$T/cap.jsonl" \
    -o "$T/learned.jsonl" 2>"$T/learned.err"
is "$?" 0 "rejudge --secondary-learned: exit 0"
is "$(jq -r .verdict "$T/learned.jsonl" | tr '\n' ' ')" \
    "$(tr '\n' ' ' <"$T/want")" \
    "each exchange's verdict is its real drifts' (shape, value on \$.currency, or match)"
is "$(jq '[.diffs[] | select((.kind == "value" or .kind == "header") and
    .path != "$.currency" and (.noise | not))] | length' \
    "$T/learned.jsonl" | sort -u)" 0 \
    "every value and header diff but \$.currency is marked noise, the first exchanges' too"
is "$(jq '[.diffs[] | select(.path == "$.currency" and .noise)] | length' \
    "$T/learned.jsonl" | sort -u)" 0 "\$.currency is never marked"
is "$(jq -c '[.diffs[] | select(.kind == "missing" or .kind == "type") |
    .path] | unique' "$T/learned.jsonl" | sort -u | tr '\n' ' ')" \
    '["$.name","$.price"] ["$.name"] ["$.price"] [] ' \
    "the shape drifts are kept, unmarked"
like "$(cat "$T/learned.err")" \
    "^paritytap rejudge: $N exchanges read · $N re-judged · 0 kept · .* · [1-9][0-9]* diffs marked noise\$" \
    "the summary counts the diffs marked noise"

"$PARITYTAP" noise --format config "$T/cap.jsonl" >"$T/learned.ini" \
    2>/dev/null
"$PARITYTAP" rejudge --config "$T/learned.ini" "$T/cap.jsonl" \
    -o "$T/config.jsonl" 2>/dev/null
is "$(jq -r .verdict "$T/config.jsonl" | tr '\n' ' ')" \
    "$(jq -r .verdict "$T/learned.jsonl" | tr '\n' ' ')" \
    "the same verdicts as rejudge --config with noise's learned file"

"$PARITYTAP" rejudge --secondary-learned - -o "$T/x.jsonl" \
    <"$T/cap.jsonl" >/dev/null 2>"$T/stdin.err"
is "$?" 2 "--secondary-learned from stdin: exit 2"
contains "$(cat "$T/stdin.err")" \
    "--secondary-learned reads each capture twice: not from stdin" \
    "... and says why"

done_testing
