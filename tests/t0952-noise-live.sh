#!/bin/sh
# The noise learner live: a proxy in front of tests/backends/noisyapp.py
# (a timestamp, a request id, a counter, a shuffled array, a time header
# on every answer; three real drifts in the candidate).  With --secondary
# (a second copy of the primary), and separately with --self-check (the
# primary asked twice): once a route has its 20 samples, every noise
# diff in the capture is marked "noise":true and decides nothing, while
# each real drift is still flagged on every exchange that has it, on its
# DIVERGE line and in its verdict; paritytap noise shows the evidence.

. "$(dirname "$0")/lib.sh"
need curl jq python3
need_binaries

APP=$top_srcdir/tests/backends/noisyapp.py
N=120

# start_app NAME ROLE: noisyapp on a free port; its URL in $APP_URL.
start_app() {
	python3 "$APP" serve "$2" "$T/$1.port" 2>"$T/$1.err" &
	track $!
	wait_for 30 test -s "$T/$1.port" || bail "noisyapp $1 did not start"
	APP_URL=http://127.0.0.1:$(cat "$T/$1.port")
}
start_app primary primary
PRI=$APP_URL
start_app second primary
SEC=$APP_URL
start_app candidate candidate
CAN=$APP_URL

# drift_of ID: the real drifts of /items/ID, as the paths they are on.
drift_of() {
	_d=
	[ $(($1 % 3)) -eq 0 ] && _d="$_d \$.name"
	[ $(($1 % 5)) -eq 0 ] && _d="$_d \$.price"
	[ $(($1 % 7)) -eq 0 ] && _d="$_d \$.currency"
	printf '%s\n' "${_d# }"
}

# check NAME CAP ERR NOISE-PATHS [EXTRA]: the capture CAP and the proxy's
# stderr ERR of a run of $N requests; EXTRA is a path every exchange
# differs at and that is not noise.
check() {
	_name=$1
	_cap=$2
	_err=$3
	_extra=${5:-}
	is "$(cap_nlines "$_cap")" "$N" "$_name: $N exchanges recorded"
	# Per exchange, in capture order (| between the fields): the samples
	# so far, whether it is a sample (as the learner counts them: three
	# answers, no error, one status), its item id, its trace id, its
	# verdict, its real (unmarked) diff paths, its marked paths, and its
	# unmarked value-kind diffs at the noise paths.
	jq -r --arg np "$4" '
	    ($np | split(" ")) as $noise |
	    .responses as $r |
	    [(if $r.secondary and ($r.secondary.error | not) and
		 ($r.primary.error | not) and ($r.candidate.error | not) and
		 $r.secondary.status == $r.primary.status and
		 $r.candidate.status == $r.primary.status then 1 else 0 end),
	     (.request.target | ltrimstr("/items/")), .id,
	     .verdict,
	     ([.diffs[] | select(.noise | not) | .path |
	       select(. != null) | sub("\\[[0-9]+\\]"; "[*]")] | unique |
	       join(" ")),
	     ([.diffs[] | select(.noise) | .path] | length),
	     ([.diffs[] | select((.noise | not) and
	       (.kind == "value" or .kind == "order" or .kind == "header")) |
	       .path | sub("\\[[0-9]+\\]"; "[*]") |
	       select(. as $p | $noise | index($p))] | length)] |
	    map(tostring) | join("|")' \
	    "$_cap" >"$T/$_name.rows"
	awk -F'|' '{ s += $1; print s "|" $0 }' "$T/$_name.rows" \
	    >"$T/$_name.tab"
	_samples=$(awk -F'|' 'END { print $1 }' "$T/$_name.tab")
	cmp_ok "$_samples" -ge 20 "$_name: at least 20 samples ($_samples)"
	_bad_before=
	_bad_after=
	_bad_drift=
	_bad_verdict=
	_after=0
	while IFS='|' read -r _s _x _id _tid _v _real _marked _unmarked; do
		_want=$(drift_of "$_id")
		_wantx=$(printf '%s %s\n' "$_want" "$_extra" | sed 's/^ *//; s/ *$//')
		if [ "$_s" -lt 20 ]; then
			[ "$_marked" -eq 0 ] || _bad_before="$_bad_before $_id"
			continue
		fi
		_after=$((_after + 1))
		[ "$_unmarked" -eq 0 ] || _bad_after="$_bad_after $_id"
		[ "$_marked" -gt 0 ] || _bad_after="$_bad_after $_id"
		# The real paths left are exactly the drifts.
		_got=$(printf '%s\n' "$_real" | tr ' ' '\n' | grep -v '^$' |
		    grep -v '^\$\.price$\|^\$\.name$\|^\$\.currency$' || true)
		[ -z "$_extra" ] || _got=$(printf '%s\n' "$_got" |
		    grep -v -F -x -e "$_extra" || true)
		[ -z "$_got" ] || _bad_drift="$_bad_drift $_id($_got)"
		for _p in $_wantx; do
			case " $_real " in
			*" $_p "*) ;;
			*) _bad_drift="$_bad_drift $_id(no $_p)" ;;
			esac
		done
		case $_wantx in
		*name*|*price*) _wv=shape ;;
		?*) _wv=value ;;
		*) _wv=match ;;
		esac
		[ "$_v" = "$_wv" ] || _bad_verdict="$_bad_verdict $_id:$_v"
	done <"$T/$_name.tab"
	cmp_ok "$_after" -gt 50 "$_name: more than 50 exchanges after the sample"
	is "$_bad_before" "" "$_name: nothing is marked before the 20th sample"
	is "$_bad_after" "" \
	    "$_name: after it, every diff at a noise path is marked noise" ||
	    diag "the first such exchange and the table's rows around it:" \
	    "$(jq -c --arg i "/items/${_bad_after# }" \
	    'select(.request.target == ($i | sub(" .*"; ""))) |
	    {verdict, diffs, secondary: .responses.secondary.status,
	    error: .responses.secondary.error}' "$_cap" | cut -c1-900)" \
	    "$(head -n 30 "$T/$_name.tab")"
	is "$_bad_drift" "" \
	    "$_name: after it, each exchange's unmarked diffs are its real drifts"
	is "$_bad_verdict" "" \
	    "$_name: verdicts: shape, value (\$.currency) or match, by the drifts"
	# The DIVERGE lines after the sample: one per exchange with a drift.
	_bad_flag=
	while IFS='|' read -r _s _x _id _tid _v _real _marked _unmarked; do
		[ "$_s" -ge 20 ] || continue
		_line=$(grep "^DIVERGE [a-z]* GET /items/{id} id=$_tid " "$_err")
		_want=$(drift_of "$_id")
		_want=$(printf '%s %s\n' "$_want" "$_extra" | sed 's/^ *//; s/ *$//')
		if [ -z "$_want" ]; then
			[ -z "$_line" ] || _bad_flag="$_bad_flag $_id(flagged)"
			continue
		fi
		for _p in $_want; do
			case $_line in
			*" $_p "*|*" $_p") ;;
			*) _bad_flag="$_bad_flag $_id(no $_p)" ;;
			esac
		done
		case $_line in
		*'$.ts'*|*request_id*|*counter*|*tags*|*served-at*)
			_bad_flag="$_bad_flag $_id(noise on the line)" ;;
		esac
	done <"$T/$_name.tab"
	is "$_bad_flag" "" \
	    "$_name: after the sample, a DIVERGE line for each real drift, none for noise, no noise path on a line"
}

# --- --secondary ---
# (--flag-limit 0: every DIVERGE line is checked, none held back; long
# timeouts: on a busy machine a slow answer must not become an error)
CAP=$T/second.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --secondary "$SEC" \
    --flag-limit 0 --candidate-timeout 120000 --secondary-timeout 120000 \
    --capture "$CAP" || bail "the proxy did not start"
curl -sS --noproxy '*' -o /dev/null "$PROXY_URL/items/[1-$N]" \
    2>"$T/curl.err"
is "$?" 0 "--secondary: $N requests answered"
wait_for 60 sh -c "[ \"\$(wc -l <'$CAP')\" -ge $N ]"
stop_proxy
is "$PROXY_STATUS" 0 "--secondary: the proxy exits 0"
check second "$CAP" "$PROXY_ERR" \
    '$.ts $.request_id $.counter $.tags[*] $.tags $.started_at x-served-at'
"$PARITYTAP" noise "$CAP" >"$T/second.noise" 2>/dev/null
is "$(awk 'NR > 1 && $1 == "noise" { print $2 }' "$T/second.noise" |
    tr '\n' ' ')" '$.counter: $.request_id: $.started_at: $.tags: $.ts: x-served-at: ' \
    "paritytap noise: the six noise paths" || diag_file "$T/second.noise"
like "$(grep ' \$\.currency:' "$T/second.noise")" '^  signal ' \
    "... and \$.currency as signal"

# --- --self-check: the primary asked twice ---
CAP=$T/self.jsonl
start_proxy --primary "$PRI" --candidate "$CAN" --self-check 0.2 \
    --flag-limit 0 --candidate-timeout 120000 --secondary-timeout 120000 \
    --capture "$CAP" || bail "the proxy did not start"
N=200
curl -sS --noproxy '*' -o /dev/null "$PROXY_URL/items/[1-$N]" \
    2>"$T/curl2.err"
is "$?" 0 "--self-check: $N requests answered"
wait_for 60 sh -c "[ \"\$(wc -l <'$CAP')\" -ge $N ]"
stop_proxy
is "$PROXY_STATUS" 0 "--self-check: the proxy exits 0"
# $.started_at never changes within one process: not noise here; every
# exchange carries it as a value diff, so it is one of the real paths.
check self "$CAP" "$PROXY_ERR" \
    '$.ts $.request_id $.counter $.tags[*] $.tags x-served-at' '$.started_at'
"$PARITYTAP" noise "$CAP" >"$T/self.noise" 2>/dev/null
like "$(grep ' \$\.started_at:' "$T/self.noise")" '^  hint .*not ignored$' \
    "paritytap noise: \$.started_at a hint, not ignored"

done_testing
