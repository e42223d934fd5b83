#!/bin/sh
# Hostile requests from public corpora (tests/hostile/requests: llhttp's
# fixtures, http-garden's payloads, smuggler's Transfer-Encoding
# mutations), each on its own connection to one proxy: the client gets
# the status nginx (or, where the file says why, paritytap's stricter
# rule) gives, a refused request reaches neither backend, not a byte, and
# an accepted one reaches each backend exactly once, re-framed with
# Content-Length.  One test point per case.
#
# After each case a sentinel request on a new connection marks the end of
# what the case may have sent: whatever a backend logged between the
# previous sentinel and this one is the case's.

. "$(dirname "$0")/lib.sh"
need jq
need_binaries

CASES=$top_srcdir/tests/hostile/requests
[ -f "$CASES" ] || bail "$CASES is missing"

# The cases, one a line: ID, EXPECT, FORWARD and REQUEST, tab-separated
# (a tab in a request is written \t, so none is in a field).
awk '
	function flush() {
		if (id == "")
			return
		if (src == "" || req == "" || st == "" || fwd == "") {
			print "case " id " lacks a source, request, expect or " \
			    "forward line" >"/dev/stderr"
			bad = 1
		}
		print id "\t" st "\t" fwd "\t" req
		id = src = req = st = fwd = ""
	}
	/^#/ { next }
	/^$/ { flush(); next }
	{
		k = $1
		v = substr($0, length(k) + 2)
	}
	k == "case" { flush(); id = v; next }
	k == "source" { src = v; next }
	k == "request" { req = v; next }
	k == "expect" { st = v; next }
	k == "forward" { fwd = v; next }
	k == "nginx" || k == "note" { next }
	{ print "unknown line: " $0 >"/dev/stderr"; bad = 1 }
	END { flush(); exit bad }
' "$CASES" >"$T/cases.tsv" 2>"$T/cases.err" || {
	diag_file "$T/cases.err"
	bail "$CASES is malformed"
}
[ "$(cut -f1 "$T/cases.tsv" | sort | uniq -d)" = "" ] ||
    bail "$CASES has two cases of the same id"

start_backend primary
start_backend candidate
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" -q ||
    bail "the proxy did not start"

# unescape STRING FILE: write the bytes a C-style escaped string stands
# for (\r \n \t \\ and three-digit octal: printf's own escapes).
unescape() {
	# shellcheck disable=SC2059
	case $1 in
	*%*) printf "$(printf '%s' "$1" | sed 's/%/%%/g')" >"$2" ;;
	*) printf "$1" >"$2" ;;
	esac
}

# log_lines NAME: the lines the backend has logged so far.
log_lines() {
	echo $(($(wc -l <"$T/$1.log")))
}

# want_files TARGET BODY: $T/want.target and $T/want.body hold the bytes
# of an escaped target and body ("-": none).
want_files() {
	unescape "$1" "$T/want.target"
	if [ "$2" = - ]; then
		: >"$T/want.body"
	else
		unescape "$2" "$T/want.body"
	fi
}

# case_report P0 C0 SENTINEL METHOD LENGTH NAMES: five lines, from one jq.  For each
# backend (primary, then candidate), the request and bad_request events it
# logged after line P0 (C0) of its log and before the sentinel, as a JSON
# array, then what is compared of the one request it should be: method,
# target, body, whether it has a Transfer-Encoding, its Content-Length (0
# for no body counts as none), and the names of the headers it has that
# were not in the client's header block (NAMES, comma-separated: the
# names there without an underscore) nor are
# the proxy's own (Host, Content-Length, X-Forwarded-For, the trace id):
# a trailer must not become a header.  Last, that summary for the canonical form
# of METHOD with $T/want.target and $T/want.body: no Transfer-Encoding, a
# Content-Length of LENGTH (the body's bytes) when there is a body, no
# header from elsewhere.
case_report() {
	{
		tail -n "+$(($1 + 1))" "$T/primary.log"
		printf '\n--next--\n'
		tail -n "+$(($2 + 1))" "$T/candidate.log"
	} | jq -cnR --arg s "$3" --arg m "$4" --arg cl "$5" --arg names "$6" \
	    --arg trace "$TRACE_HEADER" \
	    --rawfile t "$T/want.target" \
	    --rawfile b "$T/want.body" '
	def events: [.[] | fromjson? | select(type == "object" and
	    (.event == "request" or .event == "bad_request"))] |
	    (map(.target == $s) | index(true)) as $i |
	    if $i == null then . else .[:$i] end;
	def summary: if length == 1 and .[0].event == "request" then .[0] |
	    [.method, .target, .body,
	     ([.headers[] | select(.[0] | ascii_downcase ==
	       "transfer-encoding")] | length > 0),
	     ([.headers[] | select(.[0] | ascii_downcase ==
	       "content-length") | .[1]] | join(",")),
	     ([.headers[] | .[0] | ascii_downcase] - ($names | split(",")) -
	      ["host", "content-length", "x-forwarded-for",
	       ($trace | ascii_downcase)])] |
	    if .[2] == "" and .[4] == "0" then .[4] = "" else . end
	    else "not one request" end;
	[inputs] | index("--next--") as $k |
	((.[:$k], .[$k + 1:]) | events | (., summary)),
	[$m, $t, $b, false, $cl, []]'
}

# await_candidate STRING: the candidate's log holds STRING (a mirror comes
# a moment after the client's answer; poll often, and give up only after
# PT_WAIT_MIN).
await_candidate() {
	_n=$((PT_WAIT_MIN * 50))
	while [ "$_n" -gt 0 ]; do
		grep -qF -- "$1" "$T/candidate.log" && return 0
		sleep 0.02
		_n=$((_n - 1))
	done
	return 1
}

ncases=0
naccepted=0
while IFS='	' read -r id expect forward request; do
	ncases=$((ncases + 1))
	p0=$(log_lines primary)
	c0=$(log_lines candidate)

	unescape "$request" "$T/case.req"
	"$RAWCLIENT" 127.0.0.1 "$PROXY_PORT" --one-response \
	    --timeout $((PT_WAIT_MIN * 1000)) <"$T/case.req" \
	    >"$T/case.resp" 2>"$T/case.rawerr"
	rc=$?
	# The status of the response, after any interim (1xx) ones.
	got=$(awk '
	    { sub(/\r$/, "") }
	    skip { if ($0 == "") skip = 0; next }
	    /^HTTP\/1\.[01] 1[0-9][0-9]( |$)/ { skip = 1; next }
	    /^HTTP\/1\.[01] [0-9][0-9][0-9]( |$)/ { print substr($0, 10, 3) }
	    { exit }' "$T/case.resp")
	if [ -z "$got" ]; then
		case $rc in
		0) if [ -s "$T/case.resp" ]; then
			got="not HTTP: $(head -c 60 "$T/case.resp" | od -An -c |
			    tr -s ' \n' ' ')"
		   else
			got=close
		   fi ;;
		4) got="no answer in $PT_WAIT_MIN s" ;;
		*) got="rawclient failed: $(cat "$T/case.rawerr")" ;;
		esac
	fi

	# An answered request's mirror, found by its trace id, is in before
	# the sentinel is sent, whatever order the candidate would read two
	# connections in.
	trace=$(sed -n "/^\r\{0,1\}\$/q;s/^$TRACE_HEADER: *\([^\r]*\)\r\{0,1\}\$/\1/p" \
	    "$T/case.resp")
	if [ -n "$trace" ] && [ "$forward" != none ]; then
		await_candidate "\"$TRACE_HEADER\",\"$trace\"" ||
		    diag "$id: the candidate never received the mirror of $trace"
	fi

	# The sentinel: answered, and logged by both backends, after
	# whatever the case made the proxy send them.
	sentinel=/__hostile/$ncases
	printf 'GET %s HTTP/1.1\r\nHost: sentinel\r\nConnection: close\r\n\r\n' \
	    "$sentinel" >"$T/sentinel.req"
	"$RAWCLIENT" 127.0.0.1 "$PROXY_PORT" --timeout $((PT_WAIT_MIN * 1000)) \
	    <"$T/sentinel.req" >"$T/sentinel.resp" 2>&1
	line=
	read -r line <"$T/sentinel.resp"
	case $line in
	"HTTP/1.1 200 "*) ;;
	*) bail "$id: the sentinel after it was not answered 200" ;;
	esac
	await_candidate "\"target\":\"$sentinel\"" ||
	    bail "$id: the candidate never received the sentinel after it"
	fm= ft= fb=
	if [ "$forward" = none ]; then
		want_files - -
	else
		# METHOD TARGET BODY: the body may hold spaces.
		fm=${forward%% *}
		rest=${forward#* }
		ft=${rest%% *}
		fb=${rest#* }
		want_files "$ft" "$fb"
	fi
	len=$(($(wc -c <"$T/want.body")))
	[ "$len" != 0 ] || len=
	# The names in the request's header block, lower case, but for
	# those with an underscore: nginx drops them (underscores_in_headers
	# off), lest Transfer_Encoding be read as Transfer-Encoding.
	names=$(tr -d '\000' <"$T/case.req" | awk '
	    NR == 1 { next }
	    /^\r?$/ { exit }
	    {
		i = index($0, ":")
		if (i > 1 && index(substr($0, 1, i - 1), "_") == 0)
			printf "%s,", tolower(substr($0, 1, i - 1))
	    }')
	case_report "$p0" "$c0" "$sentinel" "$fm" "$len" "$names" >"$T/report" ||
	    bail "$id: jq failed on the backends' logs"
	{
		read -r pev
		read -r psum
		read -r cev
		read -r csum
		read -r want
	} <"$T/report"

	wrong=
	[ "$got" = "$expect" ] || wrong="status: got $got, want $expect"
	if [ "$forward" = none ]; then
		[ "$pev" = "[]" ] ||
		    wrong="$wrong${wrong:+; }primary received $pev"
		[ "$cev" = "[]" ] ||
		    wrong="$wrong${wrong:+; }candidate received $cev"
		what="$expect, nothing forwarded"
	else
		naccepted=$((naccepted + 1))
		[ "$psum" = "$want" ] ||
		    wrong="$wrong${wrong:+; }primary received $pev, want $want"
		[ "$csum" = "$want" ] ||
		    wrong="$wrong${wrong:+; }candidate received $cev, want $want"
		what="$expect, $fm $ft forwarded once"
	fi
	if [ -z "$wrong" ]; then
		pass "$id: $what"
	else
		fail "$id: $what" "$wrong" \
		    "request: $(printf '%s' "$request" | cut -c1-300)"
	fi
done <"$T/cases.tsv"

cmp_ok "$ncases" -ge 150 "at least 150 cases ($ncases)"

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
# Once the proxy has exited it has sent all it ever will; a backend asleep
# has logged all of it.
for b in primary candidate; do
	eval "bpid=\$pt_backend_pid_$b"
	ok "$b: idle after the proxy exited" wait_for 10 asleep "$bpid"
	is "$(backend_nrequests $b)" $((ncases + naccepted)) \
	    "$b: received the $naccepted accepted requests and the $ncases sentinels, nothing else"
	is "$(backend_events $b '.event == "bad_request"' | wc -l |
	    tr -d ' ')" 0 "$b: received no bytes it could not parse"
done

done_testing
