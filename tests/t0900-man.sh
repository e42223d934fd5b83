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
for page in "$top_srcdir"/man/paritytap.1 "$top_srcdir"/man/paritytap-capture.5; do
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
	if "$MANDOC" -Tascii "$page" | grep -q -- '--candidate'; then
		echo "ok $n - $(basename "$page") renders"
	else
		case "$page" in
		*.5)	"$MANDOC" -Tascii "$page" | grep -q 'body_b64' &&
			    echo "ok $n - $(basename "$page") renders" ||
			    { echo "not ok $n - $(basename "$page") renders"; fail=1; } ;;
		*)	echo "not ok $n - $(basename "$page") renders"; fail=1 ;;
		esac
	fi
done
echo "1..$n"
exit $fail
