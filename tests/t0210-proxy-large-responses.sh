#!/bin/sh
# Responses longer than --max-body: the client gets every byte, the proxy
# keeps a prefix for comparison and the sha256 of the whole, and two long
# bodies are told equal or not by that hash.

. "$(dirname "$0")/lib.sh"
need curl jq sha256sum
need_binaries

# A 20000-byte body, and the same with its last byte changed.
big=$(head -c 20000 /dev/zero | tr '\0' 'a')
other="$(printf '%s' "$big" | head -c 19999)b"
mkfix() {
	jq -n --arg same "$big" --arg last "$2" '{routes: [
	    {method: "GET", path: "/same", status: 200,
	     headers: [["Content-Type", "text/plain"]], body: $same},
	    {method: "GET", path: "/last", status: 200,
	     headers: [["Content-Type", "text/plain"]], body: $last}]}' >"$1"
}
mkfix "$T/primary.json" "$big"
mkfix "$T/candidate.json" "$other"
start_backend primary "$T/primary.json"
start_backend candidate "$T/candidate.json"
CAP=$T/capture.jsonl
start_proxy --primary "http://127.0.0.1:$(backend_port primary)" \
    --candidate "http://127.0.0.1:$(backend_port candidate)" \
    --max-body 2k --capture "$CAP" || bail "the proxy did not start"

want=$(printf '%s' "$big" | sha256sum | cut -d' ' -f1)
req same "$PROXY_URL/same"
is "$HTTP_CODE" 200 "same: 200"
is "$(sha256sum <"$T/same.body" | cut -d' ' -f1)" "$want" \
    "same: the client got all 20000 bytes"
id_same=$TRACE
req last "$PROXY_URL/last"
is "$(sha256sum <"$T/last.body" | cut -d' ' -f1)" "$want" \
    "last: the client got the primary's body, not the candidate's"
id_last=$TRACE

stop_proxy
is "$PROXY_STATUS" 0 "the proxy exits 0"
is "$(cap_get "$CAP" "$id_same" .verdict)" match \
    "same: two equal long bodies match (by sha256)"
is "$(cap_get "$CAP" "$id_same" .responses.primary.body_sha256)" "$want" \
    "same: the capture holds the sha256 of the whole body"
is "$(cap_get "$CAP" "$id_same" .responses.primary.body_bytes)" 20000 \
    "same: body_bytes counts the whole body"
is "$(cap_get "$CAP" "$id_same" .responses.primary.truncated)" true \
    "same: the kept body is marked truncated"
is "$(cap_get "$CAP" "$id_last" .verdict)" body \
    "last: long bodies that differ in their last byte are a body divergence"
isnt "$(cap_get "$CAP" "$id_last" .responses.candidate.body_sha256)" "$want" \
    "last: the candidate's hash differs"

done_testing
