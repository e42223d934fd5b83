#!/bin/sh
# paritytap import: a packet whose time stamp no capture line can hold
# (microseconds outside 0 to 999999, a year past 9999) is skipped with a
# message naming the file and the packet, counted in the summary, and the
# exit status is 2; the other packets are imported and every line written
# has an RFC 3339 time that report and export read back.  The times at
# the edges of the range (years 0000 and 9999, 999999 microseconds) are
# imported as they are.  The pcaps are the export of a sample capture,
# their time stamps rewritten by pcapmangle.

. "$(dirname "$0")/lib.sh"

PCAPMANGLE=${PCAPMANGLE:-$top_builddir/tests/backends/pcapmangle}

need jq date
need_binaries
[ -x "$PCAPMANGLE" ] || bail "PCAPMANGLE=$PCAPMANGLE is not executable"

# The form format_rfc3339 writes: four-digit year, six-digit microseconds.
TS_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$'

# import NAME FILE: import FILE into $T/NAME.jsonl; its exit status in
# $T/NAME.rc, its standard error in $T/NAME.err.
import() {
	"$PARITYTAP" import -o "$T/$1.jsonl" "$2" 2>"$T/$1.err"
	echo $? >"$T/$1.rc"
}

# lines_ok NAME WHAT: every line of $T/NAME.jsonl has a well-formed time,
# and report and export read the file.
lines_ok() {
	_bad=$(jq -r .ts "$T/$1.jsonl" | grep -Evc "$TS_RE")
	is "$_bad" 0 "$2: every capture line's ts is RFC 3339 with a 4-digit year"
	"$PARITYTAP" report "$T/$1.jsonl" >"$T/$1.report" 2>&1
	is "$?" 0 "$2: report reads the capture"
	"$PARITYTAP" export --format pcap -o "$T/$1.again.pcap" \
	    "$T/$1.jsonl" >"$T/$1.export" 2>&1
	is "$?" 0 "$2: export reads the capture"
}

"$PARITYTAP" export --format pcap -o "$T/a.pcap" \
    "$top_srcdir/tests/fixtures/report-a.jsonl" 2>/dev/null ||
    bail "export of the sample capture failed"
import base "$T/a.pcap"
is "$(cat "$T/base.rc")" 0 "the unchanged pcap imports"
N=$(cap_nlines "$T/base.jsonl")
cmp_ok "$N" -gt 1 "the unchanged pcap gives exchanges"
# The second the sample capture starts at; packet 4 is the first request.
SEC=$(date -u -d "$(jq -r .ts "$T/base.jsonl" | sort | head -n 1 |
    cut -c1-19)Z" +%s) || bail "date cannot read the sample's time"

# --- a classic pcap with a negative microsecond field ---

"$PCAPMANGLE" --ts "4:$SEC:-112" "$T/a.pcap" "$T/neg.pcap" ||
    bail "pcapmangle failed"
import neg "$T/neg.pcap"
is "$(cat "$T/neg.rc")" 2 "negative microseconds: exit status 2"
contains "$(cat "$T/neg.err")" \
    "paritytap import: $T/neg.pcap: packet 4: time stamp $SEC s -112 us is out of range (microseconds 0 to 999999, years 0000 to 9999), packet skipped" \
    "negative microseconds: the message names the file, the packet and the time"
contains "$(cat "$T/neg.err")" \
    "paritytap import: $T/neg.pcap: 1 packet with a bad time stamp skipped" \
    "negative microseconds: the file's count"
like "$(cat "$T/neg.err")" '^paritytap import: [0-9]+ exchanges? from 1 file, .*, 1 packet with a bad time stamp$' \
    "negative microseconds: counted in the summary"
is "$(grep -c 'packet skipped' "$T/neg.err")" 1 \
    "negative microseconds: only that packet is named"
is "$(cap_nlines "$T/neg.jsonl")" "$((N - 1))" \
    "negative microseconds: every exchange but the one of that packet is written"
lines_ok neg "negative microseconds"

# --- microseconds at the edge: 999999 taken, 1000000 refused ---

"$PCAPMANGLE" --ts "4:$SEC:999999" "$T/a.pcap" "$T/edge.pcap" ||
    bail "pcapmangle failed"
import edge "$T/edge.pcap"
is "$(cat "$T/edge.rc")" 0 "999999 microseconds: imported, exit status 0"
is "$(cap_nlines "$T/edge.jsonl")" "$N" "999999 microseconds: every exchange"
is "$(jq -r .ts "$T/edge.jsonl" | grep -c '\.999999Z$')" 1 \
    "999999 microseconds: written as .999999"
lines_ok edge "999999 microseconds"

"$PCAPMANGLE" --ts "4:$SEC:1000000" "$T/a.pcap" "$T/over.pcap" ||
    bail "pcapmangle failed"
import over "$T/over.pcap"
is "$(cat "$T/over.rc")" 2 "1000000 microseconds: exit status 2"
contains "$(cat "$T/over.err")" \
    "$T/over.pcap: packet 4: time stamp $SEC s 1000000 us is out of range" \
    "1000000 microseconds: the message names the packet"
is "$(cap_nlines "$T/over.jsonl")" "$((N - 1))" \
    "1000000 microseconds: the other exchanges are written"
lines_ok over "1000000 microseconds"

# --- pcapng: a year past 9999, and one so far that gmtime fails ---

# 300000000000 s after the epoch is in the year 11476.
"$PCAPMANGLE" --pcapng --ts 4:300000000000:5 "$T/a.pcap" "$T/far.pcapng" ||
    bail "pcapmangle failed"
import far "$T/far.pcapng"
is "$(cat "$T/far.rc")" 2 "year 11476: exit status 2"
contains "$(cat "$T/far.err")" \
    "paritytap import: $T/far.pcapng: packet 4: time stamp 300000000000 s 5 us is out of range (microseconds 0 to 999999, years 0000 to 9999), packet skipped" \
    "year 11476: the message names the file, the packet and the time"
is "$(cap_nlines "$T/far.jsonl")" "$((N - 1))" \
    "year 11476: the other exchanges are written"
lines_ok far "year 11476"

# An interface time offset of 9e18 s puts every packet past any year.
"$PCAPMANGLE" --pcapng --tsoffset 9000000000000000000 "$T/a.pcap" \
    "$T/huge.pcapng" || bail "pcapmangle failed"
import huge "$T/huge.pcapng"
is "$(cat "$T/huge.rc")" 2 "9e18 s: exit status 2"
is "$(grep -c '^paritytap import: .*huge.pcapng: packet [0-9]*: time stamp 9000000001[0-9]* s [0-9]* us is out of range' \
    "$T/huge.err")" 10 "9e18 s: the first 10 packets are named"
like "$(cat "$T/huge.err")" \
    "^paritytap import: $T/huge.pcapng: [0-9]+ packets with a bad time stamp skipped\$" \
    "9e18 s: the file's count"
like "$(cat "$T/huge.err")" '^paritytap import: 0 exchanges from 1 file, 0 connections, .*, [0-9]+ packets with a bad time stamp$' \
    "9e18 s: nothing imported, all counted in the summary"
is "$(cap_nlines "$T/huge.jsonl")" 0 "9e18 s: no line written"

# --- the edges of the range: the years 0000 and 9999 ---

# Shift the capture so that its first second is 0000-01-01T00:00:00.
"$PCAPMANGLE" --pcapng --tsoffset "$((-62167219200 - SEC))" "$T/a.pcap" \
    "$T/y0.pcapng" || bail "pcapmangle failed"
import y0 "$T/y0.pcapng"
is "$(cat "$T/y0.rc")" 0 "year 0000: imported, exit status 0"
is "$(cap_nlines "$T/y0.jsonl")" "$N" "year 0000: every exchange"
is "$(jq -r .ts "$T/y0.jsonl" | grep -vc '^0000-01-01T00:00:0')" 0 \
    "year 0000: written as 0000-01-01T00:00:0x"
lines_ok y0 "year 0000"
contains "$(cat "$T/y0.report")" "first 0000-01-01T00:00:00." \
    "year 0000: report shows the first time as it is"

"$PCAPMANGLE" --pcapng --ts 4:253402300799:999999 "$T/a.pcap" \
    "$T/y9.pcapng" || bail "pcapmangle failed"
import y9 "$T/y9.pcapng"
is "$(cat "$T/y9.rc")" 0 "9999-12-31T23:59:59.999999: imported, exit status 0"
is "$(jq -r .ts "$T/y9.jsonl" | grep -c '^9999-12-31T23:59:59\.999999Z$')" 1 \
    "9999-12-31T23:59:59.999999: written as it is"
lines_ok y9 "year 9999"

done_testing
