#!/bin/sh
# A gate that cannot pass on nothing: replay and report exit 2, saying
# so, when the captures hold no exchange (an empty file, only blank
# lines, an empty .jsonl.gz, empty stdin) or when an input is no capture
# at all (a pcap, a pcapng, a HAR file, binary data, other text), each
# named.  --allow-empty (and replay's config key) accepts an empty input.
# import given a capture says it is one.

. "$(dirname "$0")/lib.sh"
need jq gzip
need_binaries
PCAPGEN=${PCAPGEN:-$top_builddir/tests/backends/pcapgen}
[ -x "$PCAPGEN" ] || bail "PCAPGEN=$PCAPGEN is not executable"
CAP=$top_srcdir/tests/fixtures/report-a.jsonl

# The inputs.
: >"$T/empty.jsonl"
printf '\n  \n\n' >"$T/blank.jsonl"
: | gzip >"$T/empty.jsonl.gz"
printf 'syn\nc GET / HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n\ns HTTP/1.1 204 No Content\\r\\n\\r\\n\nfin\n' |
    "$PCAPGEN" "$T/one.pcap" || bail "pcapgen failed"
printf '\012\015\015\012\034\000\000\000\115\074\053\032' >"$T/one.pcapng"
"$PARITYTAP" export --format har -o "$T/one.har" "$CAP" 2>"$T/har.err" ||
    bail "export --format har failed: $(cat "$T/har.err")"
head -c 512 "$PARITYTAP" >"$T/binary.dat"
printf 'id,verdict\n1,match\n' >"$T/table.csv"

# run NAME CMD ARGS...: paritytap CMD ARGS; ST, ERR.
run() {
	_n=$1
	shift
	"$PARITYTAP" "$@" >"$T/$_n.out" 2>"$T/$_n.err" </dev/null
	ST=$?
	ERR=$(cat "$T/$_n.err")
}

for cmd in report replay; do
	if [ $cmd = replay ]; then
		set -- replay --candidate http://127.0.0.1:1
	else
		set -- report
	fi
	for f in empty.jsonl blank.jsonl empty.jsonl.gz; do
		run "$cmd-$f" "$@" "$T/$f"
		is "$ST" 2 "$cmd $f: exit 2"
		like "$ERR" "^paritytap $cmd: no exchange in $T/$f: nothing .* \\(--allow-empty to accept\\)$" \
		    "$cmd $f: it says the input held no exchange"
		run "$cmd-$f-ok" "$@" --allow-empty "$T/$f"
		is "$ST" 0 "$cmd $f --allow-empty: exit 0"
	done
	run "$cmd-two" "$@" "$T/empty.jsonl" "$T/blank.jsonl"
	is "$ST" 2 "$cmd two empty files: exit 2"
	like "$ERR" "no exchange in $T/empty.jsonl \\.\\.\\.: " \
	    "$cmd two empty files: ... said"
	"$PARITYTAP" "$@" - <"$T/empty.jsonl" >"$T/$cmd-stdin.out" \
	    2>"$T/$cmd-stdin.err"
	is "$?" 2 "$cmd empty stdin: exit 2"
	if [ $cmd = replay ]; then	# report reads no config file
		printf '[replay]\nallow-empty = true\n' >"$T/replay.conf"
		run replay-conf "$@" --config "$T/replay.conf" "$T/empty.jsonl"
		is "$ST" 0 "replay: allow-empty = true in [replay]: exit 0"
	fi

	for kind in 'one.pcap|a pcap file: run paritytap import first' \
	    'one.pcapng|a pcapng file: run paritytap import first' \
	    'one.har|a HAR file, not a capture' \
	    'binary.dat|binary data, not a capture' \
	    'table.csv|not a capture \(JSON lines, each an object\)'; do
		f=${kind%%|*}
		msg=${kind#*|}
		run "$cmd-$f" "$@" "$T/$f"
		is "$ST" 2 "$cmd $f: exit 2"
		like "$ERR" "^paritytap $cmd: $T/$f:1: this is $msg" \
		    "$cmd $f: it says what the file is"
		# Not even --allow-empty makes a wrong file pass.
		run "$cmd-$f-ok" "$@" --allow-empty "$T/$f"
		is "$ST" 2 "$cmd $f --allow-empty: still exit 2"
	done
	# A capture after a wrong file: the wrong file still stops it.
	run "$cmd-mixed" "$@" "$CAP" "$T/one.pcap"
	is "$ST" 2 "$cmd a capture and a pcap: exit 2"
done

# A real capture still reads as one (gzipped too).
gzip -c "$CAP" >"$T/cap.jsonl.gz"
run report-gz report --format json "$T/cap.jsonl.gz"
is "$ST" 0 "report a .jsonl.gz capture: exit 0"
is "$(jq -r .exchanges "$T/report-gz.out")" 12 "... all 12 exchanges read"

# import given a capture.
run import-cap import -o "$T/imported.jsonl" "$CAP"
is "$ST" 2 "import of a capture: exit 2"
like "$ERR" "^paritytap import: $CAP: this is a paritytap capture already: report, replay and diff read it as it is" \
    "import of a capture: it says so"
run import-pcap import -o "$T/imported.jsonl" "$T/one.pcap"
is "$ST" 0 "import of the pcap: exit 0"
is "$(jq -r '.request.method + " " + (.responses.primary.status | tostring)' \
    "$T/imported.jsonl")" "GET 204" "... its one exchange"

done_testing
