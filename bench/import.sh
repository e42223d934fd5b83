#!/usr/bin/env bash
#
# bench/import.sh: how fast paritytap import turns a large pcap into a
# capture, next to tshark reading the same HTTP out of the same file in the
# same run.
#
# A benchmark, not a test: `make check` never runs it.  Run it from the
# top of a built tree:
#
#	bench/import.sh
#
# The pcap is synthetic, written by python3 (standard library only) in a
# second or two: N exchanges (GET /v1/items/K answered by a small JSON
# body) over CONNS keep-alive connections to port 80, each with its
# handshake, an ACK per response and the closing FINs; the connections'
# exchanges interleave as they would on a busy server.  Nothing listens on
# the network.
#
# Environment:
#	PARITYTAP	paritytap binary [./paritytap]
#	TSHARK		tshark binary [tshark]
#	N		exchanges in the pcap [100000]
#	CONNS		connections they are spread over [100]
#	KEEP=1		keep the temporary directory
#
# Runs: paritytap import -o FILE; tshark -r FILE -Y http -T fields -e
# http.request.uri -e http.response.code.  Target: import at least 5x
# faster.

set -u

PARITYTAP=${PARITYTAP:-./paritytap}
TSHARK=${TSHARK:-tshark}
N=${N:-100000}
CONNS=${CONNS:-100}
KEEP=${KEEP:-0}
BENCH=bench/import.sh

die() {
	echo "$BENCH: $*" >&2
	exit 2
}

[ -x "$PARITYTAP" ] ||
    die "$PARITYTAP not found: build first (make), or set PARITYTAP"
command -v "$TSHARK" >/dev/null 2>&1 ||
    die "tshark not found: apt-get install tshark, or set TSHARK"
command -v python3 >/dev/null 2>&1 || die "python3 not found"
command -v bc >/dev/null 2>&1 || die "bc not found"
case $N in ''|*[!0-9]*) die "N must be a number: $N" ;; esac
case $CONNS in ''|*[!0-9]*|0) die "CONNS must be a number above 0: $CONNS" ;; esac

TMP=$(mktemp -d "${TMPDIR:-/tmp}/paritytap-bench-import.XXXXXX") ||
    die "mktemp failed"
cleanup() {
	if [ "$KEEP" = 1 ]; then
		echo "$BENCH: kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now() {
	date +%s%N
}

# secs T0 T1: nanoseconds to seconds.
secs() {
	echo "($2 - $1) / 1000000000" | bc -l
}

PCAP=$TMP/bench.pcap
t0=$(now)
python3 - "$PCAP" "$N" "$CONNS" <<'EOF' || die "writing the pcap failed"
import struct, sys

path, n, conns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = open(path, "wb", buffering=1 << 20)
out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
t = [1795000000, 0]
eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"

def cksum(h):
    s = sum(struct.unpack("!10H", h))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff

def packet(c, srv, flags, payload=b""):
    st = state[c]
    cli = bytes([10, 1, st[3], 1])
    if srv:
        src, dst, sp, dp, seq, ack = SRV, cli, 80, st[0], st[2], st[1]
    else:
        src, dst, sp, dp, seq, ack = cli, SRV, st[0], 80, st[1], st[2]
    tcp = struct.pack("!HHIIBBHHH", sp, dp, seq & 0xffffffff,
        ack & 0xffffffff, 0x50, flags, 65535, 0, 0)
    ln = 20 + len(tcp) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, ln, 0, 0x4000, 64, 6, 0,
        src, dst)
    ip = ip[:10] + struct.pack("!H", cksum(ip)) + ip[12:]
    frame = eth + ip + tcp + payload
    t[1] += 7
    if t[1] >= 1000000:
        t[0] += 1
        t[1] -= 1000000
    out.write(struct.pack("<IIII", t[0], t[1], len(frame), len(frame)))
    out.write(frame)
    step = len(payload) + (1 if flags & 0x03 else 0)
    if srv:
        st[2] += step
    else:
        st[1] += step

# Per connection: client port, client seq, server seq, client address.
SRV = bytes([10, 0, 0, 1])
state = [[20000 + c % 40000, 1000 + c * 7919, 5000000 + c * 104729,
    c // 40000 % 256] for c in range(conns)]
for c in range(conns):
    packet(c, False, 0x02)
    packet(c, True, 0x12)
    packet(c, False, 0x10)
for i in range(n):
    c = i % conns
    body = b'{"id":%d,"ok":true,"name":"item %d"}' % (i, i)
    packet(c, False, 0x18, b"GET /v1/items/%d HTTP/1.1\r\nHost: bench\r\n"
        b"User-Agent: bench\r\nAccept: */*\r\n\r\n" % i)
    packet(c, True, 0x18, b"HTTP/1.1 200 OK\r\nContent-Type: "
        b"application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    packet(c, False, 0x10)
for c in range(conns):
    packet(c, False, 0x11)
    packet(c, True, 0x11)
    packet(c, False, 0x10)
out.close()
EOF
t1=$(now)
printf 'pcap: %d exchanges over %d connections, %d bytes, written in %.2f s\n' \
    "$N" "$CONNS" "$(wc -c <"$PCAP")" "$(secs "$t0" "$t1")"

t0=$(now)
"$PARITYTAP" import -o "$TMP/bench.jsonl" "$PCAP" 2>"$TMP/import.err"
rc=$?
t1=$(now)
IMPORT=$(secs "$t0" "$t1")
[ "$rc" -eq 0 ] || die "import exited $rc: $(cat "$TMP/import.err")"
lines=$(wc -l <"$TMP/bench.jsonl")
[ "$lines" -eq "$N" ] || die "import wrote $lines exchanges, not $N"
printf '%-10s %8.2f s  %8.0f exchanges/s  %s\n' "import" "$IMPORT" \
    "$(echo "$N / $IMPORT" | bc -l)" "$(tail -n 1 "$TMP/import.err")"

t0=$(now)
"$TSHARK" -r "$PCAP" -Y http -T fields -e http.request.uri \
    -e http.response.code >"$TMP/tshark.out" 2>"$TMP/tshark.err"
rc=$?
t1=$(now)
TSHARK_S=$(secs "$t0" "$t1")
[ "$rc" -eq 0 ] || die "tshark exited $rc: $(cat "$TMP/tshark.err")"
tlines=$(wc -l <"$TMP/tshark.out")
printf '%-10s %8.2f s  %8.0f exchanges/s  (%d HTTP messages)\n' "tshark" \
    "$TSHARK_S" "$(echo "$N / $TSHARK_S" | bc -l)" "$tlines"
[ "$tlines" -eq $((2 * N)) ] ||
    echo "$BENCH: tshark saw $tlines HTTP messages, not $((2 * N))" >&2
printf 'ratio (tshark time / import time): %.1f (target >= 5)\n' \
    "$(echo "$TSHARK_S / $IMPORT" | bc -l)"
