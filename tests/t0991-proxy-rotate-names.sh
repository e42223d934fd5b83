#!/bin/sh
# Rotated capture files sort in time order: many rotations within one
# second (--rotate-size) take distinct names, none overwritten, and the
# files in name order (LC_ALL=C ls) hold the exchanges in the order they
# were answered; no empty file is left at exit.

. "$(dirname "$0")/lib.sh"
need curl jq
need_binaries

start_json_backends '{"ok":true,"padding":"0123456789012345678901234567890123456789"}'

# in_order DIR: the ids of DIR's files, files in byte order of name.
in_order() {
	for _f in $(cd "$1" && LC_ALL=C ls); do
		cat "$1/$_f"
	done | jq -r .request.target
}

# lines_written DIR N: DIR's files hold N lines.
lines_written() {
	[ "$(cat "$1"/* 2>/dev/null | wc -l | tr -d ' ')" -eq "$2" ]
}

for mode in file dir; do
	D=$T/$mode
	mkdir "$D"
	if [ $mode = file ]; then
		CAP=$D/c.jsonl
	else
		CAP=$D/
	fi
	start_proxy --primary "$PRI" --candidate "$CAN" --capture "$CAP" \
	    --rotate-size 1 || bail "the proxy did not start"
	# One request after another, each once the last one's line is
	# written: each line fills a file, and the order written is the
	# order sent (an exchange is written when both sides have answered,
	# so without the wait a slow candidate could put one line after the
	# next one's).
	: >"$T/$mode.codes"
	i=1
	while [ $i -le 40 ]; do
		curl -sS --noproxy '*' --max-time 60 -o /dev/null \
		    -w '%{http_code}\n' "$PROXY_URL/n/$i" >>"$T/$mode.codes"
		wait_for 30 lines_written "$D" $i ||
		    diag "$mode: line $i was not written"
		i=$((i + 1))
	done
	is "$(grep -c '^200$' "$T/$mode.codes")" 40 "$mode: 40 answered"
	stop_proxy
	is "$PROXY_STATUS" 0 "$mode: the proxy exits 0"
	is "$(ls "$D" | wc -l | tr -d ' ')" 40 \
	    "$mode: 40 files, one a line: no name taken twice"
	is "$(in_order "$D" | tr '\n' ' ')" \
	    "$(i=1; while [ $i -le 40 ]; do printf '/n/%d ' $i; i=$((i + 1)); done)" \
	    "$mode: the files in name order hold the exchanges in order"
	is "$(find "$D" -type f -empty | wc -l | tr -d ' ')" 0 \
	    "$mode: no empty file at exit"
done

done_testing
