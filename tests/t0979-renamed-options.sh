#!/bin/sh
# One name for one concept: record's --max-bytes is now --max-body, the
# body limit's name in every command.  The old name still works, on the
# command line and as a [record] key, with the same result, and says the
# new name once, whatever the number of times and places it is given; a
# misspelling close to it offers the new name.  --capture names the
# capture a command writes: for import, record and rejudge, whose output
# is a capture, it is -o.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries
LIB=${PARITYTAP_PRELOAD:-$(dirname "$PARITYTAP")/.libs/libparitytap-preload.so}
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

CAP=$top_srcdir/captures/validator.jsonl
WARN='paritytap record: --max-bytes is now --max-body; the old name goes in a later release'
start_backend primary
BURL="http://127.0.0.1:$(backend_port primary)"

# rec NAME ARGS...: record ARGS, then curl of a long target; the pcap in
# $T/NAME.pcap, stderr in $T/NAME.err, the exit status in ST.
rec() {
	_n=$1
	shift
	"$PARITYTAP" record -o "$T/$_n.jsonl" --pcap "$T/$_n.pcap" "$@" -- \
	    curl -s -o /dev/null "$BURL/a/rather/long/target/that/is/cut" \
	    2>"$T/$_n.err"
	ST=$?
}

# cut_line NAME: the line saying what the limit cut.
cut_line() {
	grep 'bytes over --max-body not recorded' "$T/$1.err"
}

if [ -f "$LIB" ]; then
	rec new --max-body 60
	is "$ST" 0 "record --max-body 60: exit 0"
	like "$(cut_line new)" '^paritytap: record: [0-9]+ bytes over --max-body not recorded$' \
	    "--max-body: the cut is said"
	is "$(grep -c 'is now' "$T/new.err")" 0 "--max-body: no warning"

	rec old --max-bytes 60
	is "$ST" 0 "record --max-bytes 60: exit 0"
	is "$(grep -c 'is now' "$T/old.err")" 1 "--max-bytes: one warning"
	is "$(grep 'is now' "$T/old.err")" "$WARN" "... naming the new name"
	is "$(cut_line old)" "$(cut_line new)" "--max-bytes: the same cut"
	is "$(wc -c <"$T/old.pcap")" "$(wc -c <"$T/new.pcap")" \
	    "--max-bytes: a pcap of the same size"

	rec twice --max-bytes 60 --max-bytes=60
	is "$(grep -c 'is now' "$T/twice.err")" 1 \
	    "--max-bytes given twice: warned once"

	printf '[proxy]\nlisten = 127.0.0.1:1\n\n[record]\nmax-bytes = 60\n' \
	    >"$T/old.conf"
	rec conf --config "$T/old.conf"
	is "$ST" 0 "max-bytes in [record]: exit 0"
	is "$(grep 'is now' "$T/conf.err")" \
	    "paritytap record: $T/old.conf: max-bytes is now max-body; the old name goes in a later release" \
	    "max-bytes in [record]: one warning, naming the file"
	is "$(cut_line conf)" "$(cut_line new)" "max-bytes in [record]: the same cut"

	printf '[record]\nmax-body = 60\n' >"$T/new.conf"
	rec newconf --config "$T/new.conf"
	is "$(cut_line newconf)" "$(cut_line new)" "max-body in [record]: the same cut"
	is "$(grep -c 'is now' "$T/newconf.err")" 0 "max-body in [record]: no warning"

	rec both --config "$T/old.conf" --max-bytes 60
	is "$(grep -c 'is now' "$T/both.err")" 1 \
	    "--max-bytes and max-bytes in [record]: warned once"

	rec cap --capture "$T/cap-opt.jsonl"
	is "$ST" 0 "record --capture FILE: exit 0"
	is "$(jq -r .request.target "$T/cap-opt.jsonl")" \
	    /a/rather/long/target/that/is/cut \
	    "record --capture FILE: the capture is written there, as with -o"
else
	skip "record: the library $LIB is not built"
fi

"$PARITYTAP" record --max-bites 60 -- true >/dev/null 2>"$T/typo.err"
is "$?" 2 "--max-bites: exit 2"
is "$(head -n 1 "$T/typo.err")" \
    "paritytap record: unknown option --max-bites (did you mean --max-body?)" \
    "--max-bites: the new name is offered"
H=$("$PARITYTAP" record --help)
like "$H" '^      --max-body BYTES ' "record --help lists --max-body"
unlike "$H" '^ .*--max-bytes BYTES' "... and not --max-bytes as an option"

# --- --capture is -o for import and rejudge ---
"$PARITYTAP" export --format pcap -o "$T/v.pcap" "$CAP" 2>/dev/null ||
    bail "export failed"
"$PARITYTAP" import -q -o "$T/i-o.jsonl" "$T/v.pcap"
"$PARITYTAP" import -q --capture "$T/i-capture.jsonl" "$T/v.pcap"
"$PARITYTAP" import -q -c "$T/i-c.jsonl" "$T/v.pcap"
is "$(jq -c '[.request.target, .responses.primary.status]' "$T/i-capture.jsonl" | wc -l | tr -d ' ')" 12 \
    "import --capture FILE: the 12 exchanges written there"
is "$(jq -c '[.request.body, .responses.primary.body]' "$T/i-capture.jsonl")" \
    "$(jq -c '[.request.body, .responses.primary.body]' "$T/i-o.jsonl")" \
    "import --capture FILE: as -o FILE"
is "$(jq -c '[.request.body, .responses.primary.body]' "$T/i-c.jsonl")" \
    "$(jq -c '[.request.body, .responses.primary.body]' "$T/i-o.jsonl")" \
    "import -c FILE: as -o FILE"
"$PARITYTAP" rejudge -q -o "$T/r-o.jsonl" "$CAP"
"$PARITYTAP" rejudge -q --capture "$T/r-capture.jsonl" "$CAP"
ok "rejudge --capture FILE: the same capture as -o FILE" \
    cmp -s "$T/r-o.jsonl" "$T/r-capture.jsonl"
is "$(cap_nlines "$T/r-capture.jsonl")" 6 "... its 6 exchanges"

done_testing
