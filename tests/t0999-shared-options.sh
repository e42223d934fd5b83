#!/bin/sh
# The options every command shares, walked command by command: --help
# lists -v, --verbose and --config FILE; each command takes -v, and
# --config with its own section, where a key it does not take is an error
# naming the file, line, key and section (with the closest key when one
# is close); paritytap(1) lists both in each command's entry.  The
# commands that read captures say with -v what each file held; record
# says what it ran and imported.  diff, import and export read their
# section: a key there does what the flag does.

. "$(dirname "$0")/lib.sh"
need jq
need_binaries
LIB=${PARITYTAP_PRELOAD:-$(dirname "$PARITYTAP")/.libs/libparitytap-preload.so}
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

CAP=$top_srcdir/captures/validator.jsonl
MAN=$top_srcdir/man/paritytap.1
CMDS="proxy replay report diff import export sniff record noise rejudge"

# man_entry CMD: the command's entry in paritytap(1), up to the next one.
man_entry() {
	awk -v cmd="$1" '
		/^\.S[hs] / { on = ($0 == ".Ss " cmd) }
		on' "$MAN"
}

for cmd in $CMDS; do
	help=$("$PARITYTAP" "$cmd" --help)
	like "$help" '^  -v, --verbose  ' "$cmd --help lists -v, --verbose"
	like "$help" '^      --config FILE  ' "$cmd --help lists --config FILE"

	"$PARITYTAP" "$cmd" -v --help >/dev/null 2>"$T/$cmd-v.err"
	is "$?" 0 "$cmd takes -v"
	is "$(cat "$T/$cmd-v.err")" "" "$cmd -v: no complaint"
	"$PARITYTAP" "$cmd" --verbose --help >/dev/null 2>&1
	is "$?" 0 "$cmd takes --verbose"

	printf '# %s\n[%s]\nno-such-key = 1\n' "$cmd" "$cmd" >"$T/$cmd.conf"
	"$PARITYTAP" "$cmd" --config "$T/$cmd.conf" >/dev/null \
	    2>"$T/$cmd-conf.err" </dev/null
	is "$?" 2 "$cmd --config: an unknown key in [$cmd]: exit 2"
	is "$(head -n 1 "$T/$cmd-conf.err")" \
	    "paritytap $cmd: $T/$cmd.conf:3: unknown key 'no-such-key' in [$cmd]" \
	    "$cmd --config: the error names the file, line, key and section"
	printf '[%s]\nquite = yes\n' "$cmd" >"$T/$cmd-typo.conf"
	"$PARITYTAP" "$cmd" --config "$T/$cmd-typo.conf" >/dev/null \
	    2>"$T/$cmd-typo.err" </dev/null
	like "$(head -n 1 "$T/$cmd-typo.err")" \
	    "unknown key 'quite' in \\[$cmd\\] \\(did you mean 'quiet'\\?\\)" \
	    "$cmd --config: a misspelt key names the closest one"

	entry=$(man_entry "$cmd")
	like "$entry" '^\.It Fl v , Fl -verbose$' \
	    "paritytap(1): the $cmd entry lists -v, --verbose"
	like "$entry" '^\.It Fl -config Ar file$' \
	    "paritytap(1): the $cmd entry lists --config"
done

# --- -v says what each capture file held, for the commands reading them ---
for cmd in report noise export rejudge; do
	case $cmd in
	export) args="--format har -o $T/v.har" ;;
	rejudge) args="-o $T/v.jsonl" ;;
	*) args= ;;
	esac
	# shellcheck disable=SC2086
	"$PARITYTAP" "$cmd" $args "$CAP" >/dev/null 2>"$T/$cmd-quiet.err"
	# shellcheck disable=SC2086
	"$PARITYTAP" "$cmd" -v $args "$CAP" >/dev/null 2>"$T/$cmd-loud.err"
	is "$?" 0 "$cmd -v: exit 0"
	like "$(cat "$T/$cmd-loud.err")" \
	    "^paritytap: .*validator.jsonl: 6 exchanges read from 6 lines" \
	    "$cmd -v: says what the capture held"
	unlike "$(cat "$T/$cmd-quiet.err")" 'exchanges read from' \
	    "$cmd without -v: does not"
done

"$PARITYTAP" diff -v "$FIXTURES/diff-session-go.jsonl" \
    "$FIXTURES/diff-single-primary.json" >/dev/null 2>"$T/diff-v.err"
like "$(cat "$T/diff-v.err")" \
    '^paritytap: .*diff-session-go.jsonl: 4 documents \(one a line\), [0-9]+ bytes$' \
    "diff -v: says how many documents A held"
like "$(cat "$T/diff-v.err")" \
    '^paritytap: .*diff-single-primary.json: 1 document \(one JSON value\)' \
    "diff -v: and B, one JSON value"

if [ -f "$LIB" ]; then
	"$PARITYTAP" record -v -o "$T/r.jsonl" -- true 2>"$T/record-v.err"
	is "$?" 0 "record -v: exit 0"
	like "$(cat "$T/record-v.err")" '^paritytap: record: running true with .*libparitytap-preload' \
	    "record -v: names the library it runs true with"
	like "$(cat "$T/record-v.err")" '^paritytap: record: true exited 0$' \
	    "record -v: says how the command ended"
	"$PARITYTAP" record -o "$T/r.jsonl" -- true 2>"$T/record.err"
	unlike "$(cat "$T/record.err")" 'record: running' \
	    "record without -v: does not"
else
	skip "record -v: the library $LIB is not built"
	skip "record -v: the library $LIB is not built"
	skip "record -v: the library $LIB is not built"
	skip "record -v: the library $LIB is not built"
fi

# --- diff, import, export: their section's keys do what the flags do ---
GO=$FIXTURES/diff-session-go.jsonl
RUST=$FIXTURES/diff-session-rust.jsonl
"$PARITYTAP" diff --mode exact --json "$GO" "$RUST" >"$T/diff-flag.json" \
    2>/dev/null
printf '[compare]\nstrict-order = no\n\n[diff]\nmode = exact\nformat = json\n' \
    >"$T/diff.conf"
"$PARITYTAP" diff --config "$T/diff.conf" "$GO" "$RUST" >"$T/diff-conf.json" \
    2>/dev/null
is "$?" 1 "diff --config: exit 1 (the documents differ)"
is "$(jq -c .verdicts "$T/diff-conf.json")" \
    "$(jq -c .verdicts "$T/diff-flag.json")" \
    "diff --config: [diff] mode = exact and format = json, as the flags"
"$PARITYTAP" diff --config "$T/diff.conf" --format text "$GO" "$RUST" \
    >"$T/diff-text.out" 2>/dev/null
like "$(cat "$T/diff-text.out")" '^paritytap diff: 4 documents: ' \
    "diff --config: a flag wins over the file"

printf '[export]\nformat = har\n' >"$T/export.conf"
"$PARITYTAP" export --config "$T/export.conf" -o "$T/conf.out" "$CAP" \
    2>/dev/null
is "$?" 0 "export --config: exit 0 with no --format flag"
is "$(jq '.log.entries | length' "$T/conf.out")" 6 \
    "export --config: format = har from [export]"

"$PARITYTAP" export --format pcap -o "$T/v.pcap" "$CAP" 2>/dev/null ||
    bail "export --format pcap failed"
printf '[proxy]\nlisten = 127.0.0.1:1\n\n[import]\nsource = record\n' \
    >"$T/import.conf"
"$PARITYTAP" import --config "$T/import.conf" -o "$T/imp.jsonl" "$T/v.pcap" \
    2>/dev/null
is "$?" 0 "import --config: exit 0, [proxy] passed over"
is "$(jq -r .source "$T/imp.jsonl" | sort -u)" record \
    "import --config: source = record from [import]"

done_testing
