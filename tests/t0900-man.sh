#!/bin/sh
# The man pages pass mandoc's lint with no warning.
MANDOC=${MANDOC:-$(command -v mandoc)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
if [ -z "$MANDOC" ]; then
	echo "1..0 # SKIP mandoc is not installed"
	exit 0
fi
n=0
fail=0
for page in "$top_srcdir"/man/paritytap.1 "$top_srcdir"/man/paritytap-capture.5 \
    "$top_srcdir"/man/libparitytap-preload.8; do
	n=$((n + 1))
	out=$("$MANDOC" -Tlint -Wwarning "$page" 2>&1)
	if [ -z "$out" ]; then
		echo "ok $n - $(basename "$page"): mandoc -Tlint -Wwarning is clean"
	else
		echo "not ok $n - $(basename "$page"): mandoc -Tlint -Wwarning"
		printf '%s\n' "$out" | sed 's/^/# /'
		fail=1
	fi
	n=$((n + 1))
	# Overstrike (bold) in -Tascii output is "X<BS>X": strip it.
	case "$page" in
	*.5)	want='body_b64' ;;
	*.8)	want='PARITYTAP_PRELOAD_OUT' ;;
	*)	want='--candidate' ;;
	esac
	if "$MANDOC" -Tascii "$page" | sed 's/.\x08//g' | grep -q -- "$want"; then
		echo "ok $n - $(basename "$page") renders and mentions $want"
	else
		echo "not ok $n - $(basename "$page") renders and mentions $want"
		fail=1
	fi
done
echo "1..$n"
exit $fail
