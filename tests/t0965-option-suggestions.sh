#!/bin/sh
# An unknown option, or config key, names the closest one when one is
# close and no other is as close: a letter missing, one too many, one
# wrong, or two swapped.  Far from every option, nothing is guessed.
# Every command takes -q; JSON output is asked for with --json or
# --format json alike, in every command that has it.

. "$(dirname "$0")/lib.sh"
need_binaries

# run NAME ARGS...: paritytap ARGS; ST, ERR.
run() {
	_n=$1
	shift
	"$PARITYTAP" "$@" >"$T/$_n.out" 2>"$T/$_n.err" </dev/null
	ST=$?
	ERR=$(cat "$T/$_n.err")
}

for c in 'proxy|--candiate x|--candidate' \
    'proxy|--primry=http://a:1|--primary' \
    'replay|--concurency 3|--concurrency' \
    'report|--fromat json|--format' \
    'sniff|--interfcae lo|--interface' \
    'import|--prot 80|--port' \
    'export|--fromat har|--format' \
    'diff|--ignroe $.a|--ignore' \
    'rejudge|--outptu x|--output' \
    'noise|--fromat json|--format' \
    'record|--otuput x|--output'; do
	cmd=${c%%|*}
	rest=${c#*|}
	arg=${rest%%|*}
	want=${rest#*|}
	# shellcheck disable=SC2086
	run "$cmd" $cmd $arg
	is "$ST" 2 "$cmd $arg: exit 2"
	like "$ERR" "^paritytap $cmd: unknown option ${arg%% *} \\(did you mean $want\\?\\)" \
	    "$cmd $arg: suggests $want"
done

run far proxy --zzzzzz
is "$ST" 2 "--zzzzzz: exit 2"
is "$(head -n 1 "$T/far.err")" "paritytap proxy: unknown option --zzzzzz" \
    "--zzzzzz: nothing close, no guess"
# Two letters swapped in a short name.
run short proxy --hsot x
like "$ERR" "did you mean --host\\?" "--hsot: suggests --host"

printf '[proxy]\ncandiate = http://a:2\n' >"$T/k.conf"
run key proxy --config "$T/k.conf" --primary http://a:1
is "$ST" 2 "a misspelt config key: exit 2"
like "$ERR" "k.conf:2: unknown key 'candiate' in \\[proxy\\] \\(did you mean 'candidate'\\?\\)" \
    "a misspelt config key: names file, line and the closest key"

for cmd in proxy replay report diff import export sniff record noise rejudge; do
	run "q-$cmd" $cmd -q --help
	is "$ST" 0 "$cmd takes -q"
done
run noise-q noise -q "$top_srcdir/tests/fixtures/report-a.jsonl"
is "$ST" 0 "noise -q: exit 0"
is "$ERR" "" "noise -q: no summary line"
run noise-v noise "$top_srcdir/tests/fixtures/report-a.jsonl"
like "$ERR" "^paritytap noise: 12 exchanges" "noise without -q: the summary line"

F=$top_srcdir/tests/fixtures/report-a.jsonl
"$PARITYTAP" report --json "$F" >"$T/r1.json" 2>/dev/null
"$PARITYTAP" report --format json "$F" >"$T/r2.json" 2>/dev/null
ok "report --json is --format json" cmp -s "$T/r1.json" "$T/r2.json"
is "$(jq -r .exchanges "$T/r1.json")" 12 "... a JSON report"
"$PARITYTAP" noise --json "$F" >"$T/n1.json" 2>/dev/null
"$PARITYTAP" noise --format json "$F" >"$T/n2.json" 2>/dev/null
ok "noise --json is --format json" cmp -s "$T/n1.json" "$T/n2.json"
is "$(jq -r .exchanges "$T/n1.json")" 12 "... a JSON document"
"$PARITYTAP" rejudge --json -o "$T/j1.jsonl" "$F" >"$T/j1.json" 2>/dev/null
"$PARITYTAP" rejudge --format json -o "$T/j2.jsonl" "$F" >"$T/j2.json" \
    2>/dev/null
ok "rejudge --format json is --json" cmp -s "$T/j1.json" "$T/j2.json"
is "$(jq -r .read "$T/j1.json")" 12 "... a JSON summary"
A=$top_srcdir/tests/fixtures/diff-single-primary.json
B=$top_srcdir/tests/fixtures/diff-single-candidate.json
"$PARITYTAP" diff --json "$A" "$B" >"$T/d1.json" 2>/dev/null
"$PARITYTAP" diff --format json "$A" "$B" >"$T/d2.json" 2>/dev/null
ok "diff --format json is --json" cmp -s "$T/d1.json" "$T/d2.json"
is "$(jq -r .documents "$T/d1.json")" 1 "... a JSON result"
"$PARITYTAP" replay --format json --candidate http://127.0.0.1:1 "$F" \
    >"$T/p.json" 2>/dev/null
is "$(jq -r .exchanges "$T/p.json")" 12 "replay --format json: the JSON summary"
run fmt replay --format yaml --candidate http://127.0.0.1:1 "$F"
is "$ST" 2 "replay --format yaml: exit 2"
like "$ERR" "--format: 'yaml' is not text or json" "... said"

done_testing
