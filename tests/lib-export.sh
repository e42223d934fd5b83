# tests/lib-export.sh: sourced by the export tests after tests/lib.sh.
#
# export_record: records, through the proxy, a capture of ten exchanges
# with the bodies export has to get right (a chunked response, a gzip one,
# binary bodies both ways, a chunked request, a body cut by
# --capture-body-limit, a candidate that does not speak HTTP, a redirect,
# a query string, a HEAD request).  Sets CAP (the capture) and B_JSON (the
# JSON body most routes answer with); the bodies are in $T: bin.dat (the
# /bin response), upload.dat (the /upload request), long.txt (the /long
# response, cut at 4096 bytes) and short.txt (the /chunkedup request).

export_record() {
	head -c 3000 /dev/urandom >"$T/bin.dat"
	printf '\000\377\376binary\r\n\000' >>"$T/bin.dat"
	head -c 2000 /dev/urandom >"$T/upload.dat"
	awk 'BEGIN { for (i = 0; i < 400; i++)
		printf "line %04d of a long text body\n", i }' >"$T/long.txt"
	head -c 3000 "$T/long.txt" >"$T/short.txt"
	B_JSON=$(jq -nc '{items: [range(0; 30) | {id: ., name: "item \(.)"}]}')
	CT='[["Content-Type", "application/json"]]'
	jq -n --arg j "$B_JSON" --arg bin "$T/bin.dat" --arg long "$T/long.txt" \
	    --argjson ct "$CT" '{routes: [
		{path: "/chunked", chunked: true, status: 200, headers: $ct, body: $j},
		{path: "/gzip", gzip: true, status: 200, headers: $ct, body: $j},
		{path: "/bin", status: 200,
		    headers: [["Content-Type", "application/octet-stream"]],
		    body_file: $bin},
		{path: "/long", status: 200, headers: [["Content-Type", "text/plain"]],
		    body_file: $long},
		{path: "/cerr", status: 200, headers: $ct, body: $j},
		{path: "/upload", status: 201, headers: $ct, body: "{\"ok\":true}"},
		{path: "/chunkedup", status: 201, headers: $ct, body: "{\"ok\":true}"},
		{path: "/moved", status: 302, headers: [["Location", "/v2/items"]],
		    body: ""},
		{path: "/items", status: 200, headers: $ct, body: $j}
		]}' >"$T/primary.json"
	jq '.routes |= map(if .path == "/cerr" then
		{path: "/cerr", raw: "NOT HTTP AT ALL\r\n\r\n"}
	    elif .path == "/chunked" then del(.chunked) else . end)' \
	    "$T/primary.json" >"$T/candidate.json"
	start_backend primary "$T/primary.json"
	start_backend candidate "$T/candidate.json"
	CAP=$T/capture.jsonl
	start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
	    --candidate "http://127.0.0.1:$(backend_port candidate)" \
	    --capture "$CAP" --capture-body-limit 4096 || bail "the proxy did not start"
	req chunked "$PROXY_URL/chunked"
	req gzip --compressed "$PROXY_URL/gzip"
	req bin "$PROXY_URL/bin"
	req long "$PROXY_URL/long"
	req cerr "$PROXY_URL/cerr"
	req upload -X POST -H 'Content-Type: application/octet-stream' \
	    --data-binary "@$T/upload.dat" "$PROXY_URL/upload"
	req chunkedup -X POST -H 'Transfer-Encoding: chunked' \
	    -H 'Content-Type: text/plain' --data-binary "@$T/short.txt" \
	    "$PROXY_URL/chunkedup"
	req moved "$PROXY_URL/moved"
	req items "$PROXY_URL/items?q=caf%C3%A9+au+lait&page=2&flag"
	req head -I "$PROXY_URL/gzip"
	stop_proxy
	is "$PROXY_STATUS" 0 "the proxy recorded 10 exchanges and exited 0"
	is "$(cap_nlines "$CAP")" 10 "the capture has 10 lines"
	is "$(jq -r 'select(.request.target == "/chunkedup") | .request.headers[] |
	    select(.name == "Transfer-Encoding") | .value' "$CAP")" chunked \
	    "the /chunkedup request was chunked"
	is "$(jq -r 'select(.request.target == "/long") | .responses.primary.truncated' \
	    "$CAP")" true "the /long body is cut in the capture (--capture-body-limit)"
	is "$(jq -r 'select(.request.target == "/cerr") | .responses.candidate.status' \
	    "$CAP")" 0 "the /cerr candidate failed (status 0) in the capture"
}
