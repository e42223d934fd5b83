#!/bin/sh
# Seed the fuzz targets' corpora from the tree's samples:
#
#	tests/fuzz/seed.sh DIR
#
# makes DIR/capture, DIR/shape, DIR/http and DIR/pcap (kept if there:
# libFuzzer adds to them as it runs) and puts in them
#   capture: each line of the sample captures (tests/fixtures, captures);
#   shape:   the JSON documents of tests/fixtures, each pair of
#            NAME-primary.json and NAME-candidate.json as A and B;
#   http:    the handful of messages in tests/fuzz/seeds/http;
#   pcap:    the sample captures exported as pcap (paritytap export), as
#            pcapng too (pcapmangle), as the import tests make them.
# and the files of tests/fuzz/seeds/TARGET.  PARITYTAP and PCAPMANGLE
# name the programs (make fuzz sets them); without them the pcap corpus
# has only what tests/fuzz/seeds/pcap holds.

set -eu

[ $# -eq 1 ] || { echo "usage: seed.sh DIR" >&2; exit 1; }
out=$1
top=${top_srcdir:-$(dirname "$0")/../..}
seeds=$top/tests/fuzz/seeds
mkdir -p "$out/capture" "$out/shape" "$out/http" "$out/pcap"

for t in capture shape http pcap; do
	[ -d "$seeds/$t" ] || continue
	for f in "$seeds/$t"/*; do
		[ -f "$f" ] && cp "$f" "$out/$t/seed-$(basename "$f")"
	done
done

# Lines of the sample captures, the first 40 of each file.
for f in "$top"/tests/fixtures/*.jsonl "$top"/captures/*.jsonl; do
	[ -f "$f" ] || continue
	n=0
	head -n 40 "$f" | while IFS= read -r line; do
		n=$((n + 1))
		printf '%s' "$line" >"$out/capture/$(basename "$f" .jsonl)-$n"
	done
done

# Each document alone (compared with nothing, and with itself), and the
# primary/candidate pairs, with each flags value (strict order, lenient
# numbers).
for f in "$top"/tests/fixtures/*.json; do
	[ -f "$f" ] || continue
	b=$(basename "$f" .json)
	{ printf '\000'; cat "$f"; } >"$out/shape/$b"
	case $b in
	*-primary)
		c=$(dirname "$f")/${b%-primary}-candidate.json
		[ -f "$c" ] || continue
		for flags in 000 001 002 003; do
			{ printf "\\$flags"; cat "$f"; printf '\000'; cat "$c"; } \
			    >"$out/shape/${b%-primary}-pair-$flags"
		done
		;;
	esac
done

# The sample captures as pcap and pcapng files.
if [ -n "${PARITYTAP:-}" ] && [ -x "$PARITYTAP" ]; then
	for f in "$top"/tests/fixtures/*.jsonl "$top"/captures/*.jsonl; do
		[ -f "$f" ] || continue
		b=$(basename "$f" .jsonl)
		"$PARITYTAP" export --format pcap -o "$out/pcap/$b.pcap" "$f" \
		    2>/dev/null || { rm -f "$out/pcap/$b.pcap"; continue; }
		if [ -n "${PCAPMANGLE:-}" ] && [ -x "$PCAPMANGLE" ]; then
			"$PCAPMANGLE" --pcapng "$out/pcap/$b.pcap" \
			    "$out/pcap/$b.pcapng" || rm -f "$out/pcap/$b.pcapng"
			"$PCAPMANGLE" --shuffle --dup "$out/pcap/$b.pcap" \
			    "$out/pcap/$b-mangled.pcap" ||
			    rm -f "$out/pcap/$b-mangled.pcap"
		fi
	done
fi
# Big samples make slow seeds: libFuzzer's -max_len cuts them anyway.
for t in capture shape http pcap; do
	echo "seed.sh: $out/$t: $(ls "$out/$t" | wc -l) files"
done
