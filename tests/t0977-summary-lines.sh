#!/bin/sh
# One style for every command's summary line: "paritytap COMMAND: " and
# the count of what it read (exchanges; documents for diff), on the
# stream the manual names: replay's and diff's on standard output, the
# others' on standard error; the proxy's and sniff's at exit and on
# SIGUSR2 alike.

. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/lib-sniff.sh"
need curl jq
need_binaries
LIB=${PARITYTAP_PRELOAD:-$(dirname "$PARITYTAP")/.libs/libparitytap-preload.so}

CAP=$top_srcdir/captures/validator.jsonl
STYLE='^paritytap (proxy|sniff|replay|rejudge|report|diff|noise|import|export|record): [0-9]+ (exchange|document)s?(: | from |, | read )'
DOT='·'
start_backend primary "$FIXTURES/validator-primary.json"
start_backend candidate "$FIXTURES/validator-candidate.json"
PRI="http://127.0.0.1:$(backend_port primary)"
CAN="http://127.0.0.1:$(backend_port candidate)"

# cap_nlines_ge FILE N: the capture holds at least N lines.
cap_nlines_ge() {
	[ "$(cap_nlines "$1")" -ge "$2" ]
}

# styled CMD FILE: FILE's lines in the style, of CMD.
styled() {
	grep -E "$STYLE" "$2" | grep "^paritytap $1: "
}

# one CMD FILE WANT: FILE holds exactly one line in the style, of CMD,
# and it is WANT (an ERE).
one() {
	is "$(styled "$1" "$2" | wc -l | tr -d ' ')" 1 \
	    "$1: one summary line in the style"
	like "$(styled "$1" "$2")" "$3" "$1: the line says what it read"
}

# --- replay, on standard output; with --json, on standard error ---
"$PARITYTAP" replay --candidate "$CAN" "$CAP" >"$T/replay.out" \
    2>"$T/replay.err"
is "$(cat "$T/replay.out")" \
    "paritytap replay: 6 exchanges: 6/6 status match $DOT 1/6 shape match $DOT 5 shape divergences $DOT 0 errors" \
    "replay: the summary line is stdout's one line, the words DESIGN gives"
one replay "$T/replay.out" '^paritytap replay: 6 exchanges: '
"$PARITYTAP" replay --json --candidate "$CAN" "$CAP" >"$T/rj.out" \
    2>"$T/rj.err"
one replay "$T/rj.err" '^paritytap replay: 6 exchanges: '
is "$(jq -r .summary "$T/rj.out")" \
    "6 exchanges: 6/6 status match $DOT 1/6 shape match $DOT 5 shape divergences $DOT 0 errors" \
    "replay --json: .summary keeps the words without the prefix"

# --- diff, on standard output ---
"$PARITYTAP" diff "$FIXTURES/diff-session-go.jsonl" \
    "$FIXTURES/diff-session-rust.jsonl" >"$T/diff.out" 2>"$T/diff.err"
one diff "$T/diff.out" "^paritytap diff: 4 documents: 4/4 shape match $DOT 0 divergences $DOT 0 errors\$"

# --- report: its header line, on standard output ---
"$PARITYTAP" report "$CAP" >"$T/report.out" 2>"$T/report.err"
one report "$T/report.out" '^paritytap report: 6 exchanges from 1 capture$'

# --- rejudge, noise, export, import: on standard error ---
"$PARITYTAP" rejudge -o "$T/rejudged.jsonl" "$CAP" >"$T/rejudge.out" \
    2>"$T/rejudge.err"
one rejudge "$T/rejudge.err" '^paritytap rejudge: 6 exchanges read '
"$PARITYTAP" noise "$CAP" >"$T/noise.out" 2>"$T/noise.err"
one noise "$T/noise.err" '^paritytap noise: 6 exchanges, none with a second answer'
"$PARITYTAP" export --format pcap -o "$T/v.pcap" "$CAP" >"$T/export.out" \
    2>"$T/export.err"
one export "$T/export.err" "^paritytap export: 6 exchanges, 12 streams -> $T/v.pcap\$"
"$PARITYTAP" export --format har -o "$T/v.har" "$CAP" >"$T/har.out" \
    2>"$T/har.err"
one export "$T/har.err" "^paritytap export: 6 exchanges, 6 entries -> $T/v.har\$"
"$PARITYTAP" import -o "$T/imported.jsonl" "$T/v.pcap" >"$T/import.out" \
    2>"$T/import.err"
one import "$T/import.err" '^paritytap import: 12 exchanges from 1 file, 12 connections, 0 unparsable streams'
for f in replay.err diff.err report.err rejudge.out noise.out export.out \
    import.out; do
	is "$(grep -cE "$STYLE" "$T/$f")" 0 "$f: no summary line on the other stream"
done

# --- record: the import's line under record's name ---
if [ -f "$LIB" ]; then
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
	export ASAN_OPTIONS
	"$PARITYTAP" record -o "$T/rec.jsonl" -- \
	    curl -s -o /dev/null "$PRI/nothing/here" 2>"$T/record.err"
	one record "$T/record.err" '^paritytap record: 1 exchange from [0-9]+ files?, 1 connection, '
else
	skip "record: the library $LIB is not built"
fi

# --- proxy: on SIGUSR2 and at exit ---
start_proxy --primary "$PRI" --candidate "$CAN" -q ||
    bail "the proxy did not start"
req one -X POST -H 'Content-Type: application/json' \
    --data '{"case":"ok"}' "$PROXY_URL/v1/validate"
kill -USR2 "$PROXY_PID"
ok "proxy: SIGUSR2 prints a summary line" \
    wait_for 60 grep -qE "$STYLE" "$PROXY_ERR"
stop_proxy
is "$PROXY_STATUS" 0 "proxy: exit 0"
is "$(styled proxy "$PROXY_ERR" | wc -l | tr -d ' ')" 2 \
    "proxy: two summary lines in the style, SIGUSR2's and the last"
like "$(styled proxy "$PROXY_ERR" | tail -n 1)" \
    '^paritytap proxy: 1 exchange: 1/1 status match ' \
    "proxy: the last line counts the one exchange"

# --- sniff: on SIGUSR2 and at exit ---
if can_capture; then
	start_sniff -q --port "$(backend_port primary)" --candidate "$CAN" \
	    --stats-interval 0 --capture "$T/sniff.jsonl" ||
	    bail "sniff did not start"
	req sniffed -X POST -H 'Content-Type: application/json' \
	    --data '{"case":"ok"}' "$PRI/v1/validate"
	ok "sniff: the exchange is captured" \
	    wait_for 60 cap_nlines_ge "$T/sniff.jsonl" 1
	kill -USR2 "$SNIFF_PID"
	ok "sniff: SIGUSR2 prints a summary line" \
	    wait_for 60 grep -qE "$STYLE" "$SNIFF_ERR"
	stop_sniff
	is "$SNIFF_STATUS" 0 "sniff: exit 0"
	is "$(styled sniff "$SNIFF_ERR" | wc -l | tr -d ' ')" 2 \
	    "sniff: two summary lines in the style, SIGUSR2's and the last"
	like "$(styled sniff "$SNIFF_ERR" | tail -n 1)" \
	    '^paritytap sniff: 1 exchange: 1/1 status match ' \
	    "sniff: the last line counts the one exchange"
	like "$(cat "$SNIFF_ERR")" '^paritytap sniff: [0-9]+ packets received' \
	    "sniff: its packet counts under the same prefix"
else
	skip "sniff: capturing on lo needs root with CAP_NET_RAW (uid $(id -u))"
fi

done_testing
