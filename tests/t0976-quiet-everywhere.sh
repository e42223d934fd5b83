#!/bin/sh
# -q on every command: --help lists it, the command takes it, and it
# keeps quiet what that command's entry says, changing nothing else: the
# summary line of import, export, noise, rejudge and record; the DIVERGE
# lines of replay, diff and the proxy (their summary stays); the capture
# reader's warnings (a torn last line) of report, noise, rejudge and
# replay.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-sniff.sh"
need curl jq
need_binaries
LIB=${PARITYTAP_PRELOAD:-$(dirname "$PARITYTAP")/.libs/libparitytap-preload.so}

CAP=$top_srcdir/captures/validator.jsonl
# The capture with a torn last line after it (a crash mid-write).
cat "$CAP" >"$T/torn.jsonl"
printf '{"paritytap":1,"id":"torn"' >>"$T/torn.jsonl"
start_backend primary "$FIXTURES/validator-primary.json"
start_backend candidate "$FIXTURES/validator-candidate.json"
PRI="http://127.0.0.1:$(backend_port primary)"
CAN="http://127.0.0.1:$(backend_port candidate)"

for cmd in proxy replay report diff import export sniff record noise \
    rejudge; do
	like "$("$PARITYTAP" "$cmd" --help)" '^  -q, --quiet  ' \
	    "$cmd --help lists -q, --quiet"
done

# pair NAME ARGS...: paritytap ARGS without and with -q (after the
# command's name): $T/NAME.{out,err,st} and $T/NAME-q.{out,err,st}.
pair() {
	_n=$1
	shift
	_c=$1
	shift
	"$PARITYTAP" "$_c" "$@" >"$T/$_n.out" 2>"$T/$_n.err" </dev/null
	echo $? >"$T/$_n.st"
	"$PARITYTAP" "$_c" -q "$@" >"$T/$_n-q.out" 2>"$T/$_n-q.err" </dev/null
	echo $? >"$T/$_n-q.st"
	is "$(cat "$T/$_n-q.st")" "$(cat "$T/$_n.st")" \
	    "$_n -q: the same exit status ($(cat "$T/$_n.st"))"
}

# --- report: no reading warning; the same report ---
pair report report "$T/torn.jsonl"
like "$(cat "$T/report.err")" 'torn.jsonl:7: skipping torn last line' \
    "report: the torn last line is warned about"
is "$(cat "$T/report-q.err")" "" "report -q: nothing on stderr"
ok "report -q: the same report" cmp -s "$T/report.out" "$T/report-q.out"

# --- noise: no summary line, no warning; the same table ---
pair noise noise "$T/torn.jsonl"
like "$(cat "$T/noise.err")" '^paritytap noise: 6 exchanges, ' \
    "noise: the summary line"
is "$(cat "$T/noise-q.err")" "" "noise -q: nothing on stderr"
ok "noise -q: the same output" cmp -s "$T/noise.out" "$T/noise-q.out"

# --- rejudge: no summary line, no warning; the same capture ---
pair rejudge rejudge -o "$T/rj.jsonl" "$T/torn.jsonl"
cp "$T/rj.jsonl" "$T/rj1.jsonl"
"$PARITYTAP" rejudge -q -o "$T/rj2.jsonl" "$T/torn.jsonl" 2>/dev/null
like "$(cat "$T/rejudge.err")" '^paritytap rejudge: 6 exchanges read ' \
    "rejudge: the summary line"
is "$(cat "$T/rejudge-q.err")" "" "rejudge -q: nothing on stderr"
ok "rejudge -q: the same capture" cmp -s "$T/rj1.jsonl" "$T/rj2.jsonl"

# --- export and import: no summary line; the same files ---
pair export export --format har -o "$T/v.har" "$CAP"
like "$(cat "$T/export.err")" '^paritytap export: 6 exchanges, 6 entries' \
    "export: the summary line"
is "$(cat "$T/export-q.err")" "" "export -q: nothing on stderr"
"$PARITYTAP" export --format pcap -o "$T/v.pcap" "$CAP" 2>/dev/null ||
    bail "export --format pcap failed"
"$PARITYTAP" import -o "$T/i1.jsonl" "$T/v.pcap" 2>"$T/import.err"
"$PARITYTAP" import -q -o "$T/i2.jsonl" "$T/v.pcap" 2>"$T/import-q.err"
like "$(cat "$T/import.err")" '^paritytap import: 12 exchanges from 1 file' \
    "import: the summary line"
is "$(cat "$T/import-q.err")" "" "import -q: nothing on stderr"
is "$(jq -c '[.request.target, .responses.primary.status]' "$T/i2.jsonl")" \
    "$(jq -c '[.request.target, .responses.primary.status]' "$T/i1.jsonl")" \
    "import -q: the same exchanges"

# --- replay: no DIVERGE line, no warning; the same summary ---
pair replay replay --candidate "$CAN" "$T/torn.jsonl"
is "$(grep -c '^DIVERGE shape ' "$T/replay.err")" 5 "replay: 5 DIVERGE lines"
like "$(cat "$T/replay.err")" 'torn.jsonl:7: skipping torn last line' \
    "replay: the torn last line is warned about"
is "$(grep -c '^DIVERGE\|torn' "$T/replay-q.err")" 0 \
    "replay -q: no DIVERGE line, no warning"
like "$(cat "$T/replay-q.out")" '^paritytap replay: 6 exchanges: ' \
    "replay -q: the summary line stays"
ok "replay -q: the same stdout" cmp -s "$T/replay.out" "$T/replay-q.out"

# --- diff: no DIVERGE line; the same summary ---
pair diff diff --mode exact "$FIXTURES/diff-session-go.jsonl" \
    "$FIXTURES/diff-session-rust.jsonl"
is "$(grep -c '^DIVERGE' "$T/diff.err")" 4 "diff --mode exact: 4 DIVERGE lines"
is "$(grep -c '^DIVERGE' "$T/diff-q.err")" 0 "diff -q: no DIVERGE line"
like "$(cat "$T/diff-q.out")" '^paritytap diff: 4 documents: ' \
    "diff -q: the summary line stays"
ok "diff -q: the same stdout" cmp -s "$T/diff.out" "$T/diff-q.out"

# --- record: no summary line; the same capture ---
if [ -f "$LIB" ]; then
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
	export ASAN_OPTIONS
	"$PARITYTAP" record -o "$T/r1.jsonl" -- curl -s -o /dev/null \
	    "$PRI/nothing/here" 2>"$T/record.err"
	"$PARITYTAP" record -q -o "$T/r2.jsonl" -- curl -s -o /dev/null \
	    "$PRI/nothing/here" 2>"$T/record-q.err"
	like "$(cat "$T/record.err")" '^paritytap record: 1 exchange from ' \
	    "record: the summary line"
	is "$(cat "$T/record-q.err")" "" "record -q: nothing on stderr"
	is "$(jq -r .request.target "$T/r2.jsonl")" /nothing/here \
	    "record -q: the exchange is recorded"
else
	skip "record: the library $LIB is not built"
fi

# --- proxy: no DIVERGE line; the summary stays ---
start_proxy -q --primary "$PRI" --candidate "$CAN" ||
    bail "the proxy did not start"
req shape -X POST -H 'Content-Type: application/json' \
    --data '{"case":"schema_field"}' "$PROXY_URL/v1/validate"
is "$HTTP_CODE" 422 "proxy -q: the client gets the primary's 422"
stop_proxy
is "$PROXY_STATUS" 0 "proxy -q: exit 0"
is "$(grep -c '^DIVERGE' "$PROXY_ERR")" 0 "proxy -q: no DIVERGE line"
like "$(cat "$PROXY_ERR")" \
    '^paritytap proxy: 1 exchange: 1/1 status match .* 1 shape divergence' \
    "proxy -q: the summary line stays, counting the divergence"

# --- sniff: takes -q (what it keeps quiet: t0620, t0977) ---
sniff_once sniff-q -q --interface no-such-if0
is "$ST" 2 "sniff -q on an interface that does not exist: exit 2"
unlike "$ERR" 'unknown option' "sniff: -q is an option it knows"

done_testing
