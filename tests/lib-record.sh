# tests/lib-record.sh: sourced after lib.sh by the recorder's tests that
# load a server under paritytap record (t066*, t067*).  $REQS requests on
# $CONNS parallel connections; each answer lands in $T/b.N.

# record_fetch PORT PATH-FUNCTION: GET the path PATH-FUNCTION N prints,
# for N from 1 to $REQS, from 127.0.0.1:PORT with one curl --parallel;
# checks that curl got every answer.
record_fetch() {
	_i=1
	: >"$T/curl.cfg"
	while [ "$_i" -le "$REQS" ]; do
		printf 'url = "http://127.0.0.1:%s%s"\noutput = "%s/b.%s"\n' \
		    "$1" "$($2 "$_i")" "$T" "$_i" >>"$T/curl.cfg"
		_i=$((_i + 1))
	done
	curl -sS --parallel --parallel-max "$CONNS" -K "$T/curl.cfg" \
	    2>"$T/curl.err"
	is "$?" 0 "curl got every answer"
}

# record_file_path N: /fN.txt, the files record_files_check compares.
record_file_path() {
	printf '/f%s.txt' "$1"
}

# record_files_check WWW: each answer $T/b.N is WWW/fN.txt whole; $T/want
# gets "/fN.txt BODY" for each, as the capture should hold them.
record_files_check() {
	_bad=
	: >"$T/want"
	_i=1
	while [ "$_i" -le "$REQS" ]; do
		cmp -s "$T/b.$_i" "$1/f$_i.txt" || _bad="$_bad $_i"
		printf '/f%s.txt %s\n' "$_i" "$(cat "$T/b.$_i")" >>"$T/want"
		_i=$((_i + 1))
	done
	is "$_bad" "" "each client got its whole file"
}

# record_size_path N: /SIZE/N, SIZE from the test's size_of N (a backend
# that answers SIZE bytes).
record_size_path() {
	printf '/%s/%s' "$(size_of "$1")" "$1"
}

# record_sizes_check: each answer $T/b.N has size_of N bytes; $T/want
# gets "/SIZE/N BODY" for each.
record_sizes_check() {
	_bad=
	: >"$T/want"
	_i=1
	while [ "$_i" -le "$REQS" ]; do
		[ "$(wc -c <"$T/b.$_i" | tr -d ' ')" = "$(size_of "$_i")" ] ||
		    _bad="$_bad $_i"
		printf '/%s/%s %s\n' "$(size_of "$_i")" "$_i" \
		    "$(cat "$T/b.$_i")" >>"$T/want"
		_i=$((_i + 1))
	done
	is "$_bad" "" "each client got its whole body"
}
