# tests/lib-drift.sh: sourced after lib.sh by the drift tests (t080*).

JSON_CT='"headers":[["Content-Type","application/json"]]'

# drift_fixtures: $T/primary.json answers {"a":1,"c":1} on every path;
# $T/candidate.json answers /d/XYZ (X, Y, Z each 0 or 1) with three
# independent drifts: X drops $.a, Y adds $.d, Z makes $.c a string.
# /d/000 matches; every /d/XYZ is the one route "GET /d/{id}".
drift_fixtures() {
	printf '{"routes":[],"default":{"status":200,%s,"body_json":{"a":1,"c":1}}}\n' \
	    "$JSON_CT" >"$T/primary.json"
	{
		printf '{"routes":['
		_sep=
		for _x in 0 1; do
			for _y in 0 1; do
				for _z in 0 1; do
					_b='{'
					[ "$_x" = 0 ] && _b="$_b\"a\":1,"
					[ "$_y" = 1 ] && _b="$_b\"d\":1,"
					if [ "$_z" = 1 ]; then
						_b="$_b\"c\":\"1\"}"
					else
						_b="$_b\"c\":1}"
					fi
					printf '%s{"path":"/d/%s%s%s","status":200,%s,"body_json":%s}' \
					    "$_sep" "$_x" "$_y" "$_z" "$JSON_CT" "$_b"
					_sep=,
				done
			done
		done
		printf '],"default":{"status":200,%s,"body_json":{"a":1,"c":1}}}\n' \
		    "$JSON_CT"
	} >"$T/candidate.json"
}

# The three drifts' tokens on a NEW, RESOLVED or REGRESSED line, as EREs.
DRIFT_A='GET /d/\{id\} \$\.a missing\(candidate\)'
DRIFT_D='GET /d/\{id\} \$\.d extra\(candidate\)'
DRIFT_C='GET /d/\{id\} \$\.c type\(integer->string\)'

# drift_send NAME URL-GLOB: requests with one curl (its URL globbing,
# one keep-alive connection); the status codes go to $T/NAME.codes, one
# a line.  Prints how many were 200.
drift_send() {
	curl -sS --noproxy '*' --max-time "$PT_WAIT_MIN" -o /dev/null \
	    -w '%{http_code}\n' "$2" >"$T/$1.codes" 2>"$T/$1.curlerr"
	grep -c '^200$' "$T/$1.codes"
}

# lines WORD FILE: the lines of FILE that start with WORD and a space.
lines() {
	grep "^$1 " "$2"
}

# nlines WORD FILE: how many.
nlines() {
	grep -c "^$1 " "$2"
}

# drift_of LINE: the drift= id of a NEW/RESOLVED/REGRESSED line.
drift_of() {
	printf '%s\n' "$1" | sed -n 's/.* drift=\([0-9a-f]*\).*/\1/p'
}
