#!/bin/sh
# Build the libFuzzer targets of tests/fuzz/ into fuzz-build/ (make fuzz
# runs this with the build's settings in the environment).  The library's
# sources are compiled again with clang's coverage instrumentation and
# AddressSanitizer and UndefinedBehaviorSanitizer, apart from the normal
# build, which may use another compiler.
#
#	FUZZ_CC		clang with libFuzzer
#	FUZZ_CPPFLAGS	the build's -D and -I flags
#	FUZZ_CFLAGS	the libraries' compile flags (pkg-config)
#	FUZZ_LIBS	the libraries to link
#	FUZZ_SOURCES	the library's sources, relative to top_srcdir (or,
#			for those the build makes, to the build tree)
#	FUZZ_TARGETS	the targets (tests/fuzz/fuzz-NAME.c)
#	top_srcdir
#
# Exit status: 0, or 1 with a message (no clang with libFuzzer: 1 too,
# saying so).

set -eu

out=fuzz-build
cc=${FUZZ_CC:-}
if [ -z "$cc" ] || ! command -v "$cc" >/dev/null 2>&1; then
	echo "make fuzz: no clang found (configure looks for clang, clang-14" \
	    "... or takes FUZZ_CC=...): the fuzz targets need clang's" \
	    "libFuzzer; not built" >&2
	exit 1
fi
mkdir -p "$out/obj"
# A compiler that links a fuzz target has libFuzzer (libclang-rt-NN-dev).
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
    '{ (void)d; (void)n; return 0; }' >"$out/probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined -o "$out/probe" \
    "$out/probe.c" >"$out/probe.log" 2>&1; then
	echo "make fuzz: $cc cannot link a libFuzzer target" \
	    "(-fsanitize=fuzzer: is libclang-rt-14-dev or the like" \
	    "installed?); not built:" >&2
	sed 's/^/  /' "$out/probe.log" >&2
	exit 1
fi

flags="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
	-fno-sanitize-recover=undefined"
objs=""
for src in $FUZZ_SOURCES; do
	case $src in
	*.c) ;;
	*) continue ;;
	esac
	obj=$out/obj/$(basename "$src" .c).o
	objs="$objs $obj"
	# A source the build makes (the dashboard) is in the build tree.
	path=$top_srcdir/$src
	[ -f "$path" ] || path=$src
	if [ ! -f "$obj" ] || [ "$path" -nt "$obj" ] ||
	    [ "$top_srcdir/src/paritytap.h" -nt "$obj" ]; then
		echo "  CC(fuzz) $src"
		# shellcheck disable=SC2086
		"$cc" $flags -fsanitize=fuzzer-no-link $FUZZ_CPPFLAGS \
		    $FUZZ_CFLAGS -D_GNU_SOURCE -c -o "$obj" "$path"
	fi
done
for t in $FUZZ_TARGETS; do
	echo "  CCLD(fuzz) $out/fuzz-$t"
	# shellcheck disable=SC2086
	"$cc" $flags -fsanitize=fuzzer $FUZZ_CPPFLAGS $FUZZ_CFLAGS \
	    -D_GNU_SOURCE -I"$top_srcdir/tests/fuzz" -o "$out/fuzz-$t" \
	    "$top_srcdir/tests/fuzz/fuzz-$t.c" $objs $FUZZ_LIBS
done
echo "make fuzz: built$(for t in $FUZZ_TARGETS; do printf ' %s' \
    "$out/fuzz-$t"; done)"
