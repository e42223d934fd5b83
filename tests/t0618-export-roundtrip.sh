#!/bin/sh
# The round trip capture -> export --format pcap -> import: every side of
# every exchange comes back as an exchange of its own (source import,
# verdict recorded) with the same method, target, request body, status,
# response body, start time and latency.  The sample captures, and the
# capture of tests/lib-export.sh with its chunked, gzip, binary, cut and
# failed bodies.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-export.sh"
need curl jq cmp
need_binaries

CAPTURES=$top_srcdir/captures
LC_ALL=C
export LC_ALL

# sides CAPTURE: one line per side of each exchange, sorted: what the
# round trip must keep (a side that got no response has no latency the
# pcap could carry: 0).
sides() {
	jq -c '. as $e | $e.responses | to_entries[] |
	    [$e.ts, $e.request.method, $e.request.target,
	     ($e.request.body // $e.request.body_b64),
	     .value.status, (.value.body // .value.body_b64 // ""),
	     (if .value.status == 0 then 0 else .value.ms end)]' "$1" | sort
}

# imported CAPTURE: the same for an imported capture (the primary side).
imported() {
	jq -c '[.ts, .request.method, .request.target,
	    (.request.body // .request.body_b64),
	    .responses.primary.status,
	    (.responses.primary.body // .responses.primary.body_b64 // ""),
	    .responses.primary.ms]' "$1" | sort
}

# roundtrip NAME CAPTURE: export to pcap, import, compare.
roundtrip() {
	"$PARITYTAP" export -q -o "$T/$1.pcap" "$2"
	is "$?" 0 "$1: export exits 0"
	"$PARITYTAP" import -q -o "$T/$1.jsonl" "$T/$1.pcap" 2>"$T/$1.err"
	is "$?" 0 "$1: import of the export exits 0"
	is "$(cap_nlines "$T/$1.jsonl")" \
	    "$(jq '.responses | length' "$2" | awk '{ n += $1 } END { print n }')" \
	    "$1: one imported exchange per side exported"
	is "$(jq -r '[.source, .verdict] | join(" ")' "$T/$1.jsonl" | sort -u)" \
	    "import recorded" "$1: source import, verdict recorded"
	sides "$2" >"$T/$1.want"
	imported "$T/$1.jsonl" >"$T/$1.got"
	if cmp -s "$T/$1.want" "$T/$1.got"; then
		pass "$1: method, target, bodies, status, ts and ms come back"
	else
		fail "$1: method, target, bodies, status, ts and ms come back" \
		    "$(diff "$T/$1.want" "$T/$1.got" | head -n 20)"
	fi
}

roundtrip validator "$CAPTURES/validator.jsonl"
roundtrip session-log "$CAPTURES/session-log.jsonl"

export_record
# The failed candidate comes back as a request with no answer, which
# import records as a failed primary: compare what both sides carry.
roundtrip recorded "$CAP"
is "$(jq -r 'select(.request.target == "/cerr" and
    .responses.primary.status == 0) | .responses.primary.error' \
    "$T/recorded.jsonl")" reset \
    "recorded: the failed candidate comes back failed (reset)"
is "$(jq -r 'select(.request.target == "/long") | .responses.primary.body' \
    "$T/recorded.jsonl" | sort -u | wc -c | tr -d ' ')" 4097 \
    "recorded: the cut body comes back as its 4096 bytes kept"

# A capture that cannot be written: every line lost is counted, the exit
# status says so.
if [ -w /dev/full ]; then
	"$PARITYTAP" import -q "$T/validator.pcap" >/dev/full 2>"$T/full.err"
	is "$?" 3 "import to a full disk: exit 3"
	like "$(cat "$T/full.err")" 'import: stdout: 12 capture lines lost' \
	    "import to a full disk: the lines lost are counted"
else
	skip "no /dev/full"
	skip "no /dev/full"
fi

done_testing
