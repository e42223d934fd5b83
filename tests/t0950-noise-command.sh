#!/bin/sh
# paritytap noise on captures whose exchanges carry a second answer of
# the primary's (tests/backends/noisyapp.py: a timestamp, a request id, a
# counter, a shuffled array and a time header on every answer; three real
# drifts in the candidate): the noise paths with their evidence, the real
# value drift as signal, the shape drifts never listed, a volatile-looking
# path with no second-copy evidence as a hint; --format config and json;
# undecided below --noise-min-sample; usage errors.

. "$(dirname "$0")/lib.sh"
need jq python3
need_binaries

APP=$top_srcdir/tests/backends/noisyapp.py
python3 "$APP" capture 200 >"$T/second.jsonl"
python3 "$APP" capture 200 5 >"$T/self.jsonl"

# --- a second copy on every exchange ---
"$PARITYTAP" noise "$T/second.jsonl" >"$T/text.out" 2>"$T/text.err"
is "$?" 0 "noise: exit 0"
is "$(cat "$T/text.err")" "paritytap noise: 200 exchanges, 200 with a second answer" \
    "the summary line counts the samples"
is "$(head -n 1 "$T/text.out")" \
    "GET /items/{id} (200 samples from a second copy)" "one route, 200 samples"
is "$(awk 'NR > 1 { print $1, $2 }' "$T/text.out" | tr '\n' '|')" \
    'noise $.counter:|signal $.currency:|noise $.request_id:|noise $.started_at:|noise $.tags:|noise $.ts:|noise x-served-at:|' \
    "six noise paths, the value drift as signal, the shape drifts not listed"
like "$(grep ' \$\.ts:' "$T/text.out")" \
    'candidate differs 100\.0% \(200\), second copy 100\.0% \(200\); e\.g\. "2[0-9-]*T[0-9:.]*Z" vs "2[0-9-]*T[0-9:.]*Z"; looks like an RFC 3339 time$' \
    "\$.ts: both rates, example values, the hint"
like "$(grep ' \$\.request_id:' "$T/text.out")" 'looks like a UUID$' \
    "\$.request_id: looks like a UUID"
like "$(grep ' \$\.currency:' "$T/text.out")" \
    'candidate differs 14\.0% \(28\), second copy 0\.0% \(0\); e\.g\. "EUR" vs "USD" \(candidate\)$' \
    "\$.currency: 28 of 200 (every 7th), never in the second copy"

"$PARITYTAP" noise --format config "$T/second.jsonl" >"$T/learned.ini" \
    2>/dev/null
is "$(cat "$T/learned.ini")" '# Learned by paritytap noise from 200 samples.

[route "GET /items/{id}"]
ignore = $.counter
ignore = $.request_id
ignore = $.started_at
unordered = $.tags
ignore = $.ts
ignore-header = x-served-at' "--format config: the noise paths as a route section; \$.tags, whose elements only move, unordered"
"$PARITYTAP" noise --config "$T/learned.ini" "$T/second.jsonl" \
    >"$T/again.out" 2>/dev/null
is "$?" 0 "the learned file is a valid --config"
is "$(awk 'NR > 1 { print $1, $2 }' "$T/again.out" | tr '\n' '|')" \
    'signal $.currency:|' "... under which only the real value drift differs"

"$PARITYTAP" noise --format json "$T/second.jsonl" >"$T/j.json" 2>/dev/null
is "$(jq -c '[.exchanges, .samples, (.paths | length)]' "$T/j.json")" \
    '[200,200,7]' "--format json: exchanges, samples, seven paths"
is "$(jq -c '.paths[] | select(.path == "$.currency") |
    [.raw, .noise, .is_noise, .decided]' "$T/j.json")" '[28,0,false,true]' \
    "... \$.currency: raw 28, noise 0, not noise, decided"
is "$(jq -c '.paths[] | select(.path == "$.counter") |
    [.raw, .noise, .is_noise, (.examples | length)]' "$T/j.json")" \
    '[200,200,true,2]' "... \$.counter: 200 and 200, noise, two examples"

# --- the primary answering twice (--self-check): one copy ---
"$PARITYTAP" noise "$T/self.jsonl" >"$T/self.out" 2>"$T/self.err"
is "$(cat "$T/self.err")" "paritytap noise: 200 exchanges, 40 with a second answer" \
    "self-check capture: every 5th exchange is a sample"
like "$(grep ' \$\.started_at:' "$T/self.out")" \
    '^  hint +\$\.started_at: candidate differs 100\.0% \(40\), second copy 0\.0% \(0\); .*looks like an RFC 3339 time, but no second copy differed there: not ignored$' \
    "\$.started_at never changes within one copy: a hint, not noise"
"$PARITYTAP" noise --format config "$T/self.jsonl" >"$T/self.ini" 2>/dev/null
unlike "$(cat "$T/self.ini")" 'started_at' "... and not in --format config"
contains "$(cat "$T/self.ini")" 'ignore = $.ts' "... where \$.ts is"

# --- below the sample ---
head -n 19 "$T/second.jsonl" >"$T/few.jsonl"
"$PARITYTAP" noise "$T/few.jsonl" >"$T/few.out" 2>/dev/null
is "$(awk 'NR > 1 { print $1 }' "$T/few.out" | sort -u)" undecided \
    "19 samples: every path undecided (--noise-min-sample 20)"
"$PARITYTAP" noise --noise-min-sample 19 "$T/few.jsonl" >"$T/few19.out" \
    2>/dev/null
is "$(grep -c '^  noise ' "$T/few19.out")" 6 "--noise-min-sample 19: decided"
"$PARITYTAP" noise --noise-relative 0 --noise-absolute 0 "$T/second.jsonl" \
    >"$T/strict.out" 2>/dev/null
is "$(grep -c '^  noise ' "$T/strict.out")" 6 \
    "thresholds 0: equal rates are still noise"

# --- nothing to learn from, and usage errors ---
jq -c 'del(.responses.secondary)' "$T/few.jsonl" >"$T/none.jsonl"
"$PARITYTAP" noise "$T/none.jsonl" >"$T/none.out" 2>"$T/none.err"
is "$?" 0 "a capture without second answers: exit 0"
is "$(cat "$T/none.err")" "paritytap noise: 19 exchanges, none with a second answer: nothing learned (run with --secondary URL or --self-check RATE)" \
    "... and says why nothing was learned"
# usage NAME WANT ARGS...: noise ARGS exits 2 and says WANT.
usage() {
	_n=$1
	_w=$2
	shift 2
	"$PARITYTAP" noise "$@" >/dev/null 2>"$T/$_n.err"
	is "$?" 2 "noise $*: exit 2"
	contains "$(cat "$T/$_n.err")" "$_w" "... $_w"
}
usage fmt "--format: 'yaml' is not text, json or config" --format yaml \
    "$T/few.jsonl"
usage none "no capture file given"
usage missing "$T/absent.jsonl" "$T/absent.jsonl"
usage ms "--noise-min-sample: '0' is not a number from 1 to 1000000" \
    --noise-min-sample 0 "$T/few.jsonl"
usage rel "--noise-relative: 'x' is not a percentage from 0 to 100" \
    --noise-relative x "$T/few.jsonl"
printf 'not json\n' >"$T/bad.jsonl"
usage bad "$T/bad.jsonl:1" "$T/bad.jsonl"

done_testing
