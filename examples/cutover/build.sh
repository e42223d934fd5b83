#!/bin/sh
# Build the two services of the cutover demo into OUTDIR, out of the
# source tree (it may be read-only):
#
#	examples/cutover/build.sh [--test] OUTDIR
#
# OUTDIR/gateway     the Rust service (cargo --target-dir OUTDIR/rust)
# OUTDIR/validatord  the Go service (go build -o; its cache under OUTDIR
#                    when $HOME is not writable)
#
# Neither build touches the network: the Rust service uses std only
# (cargo --offline), the Go one the standard library (GOPROXY=off).
# Both builds are incremental: a second run with nothing changed takes
# about a second.  Uses the cargo in PATH or in ~/.cargo/bin.  --test
# runs both services' unit tests (cargo test, go test) first.
set -eu

unit=
if [ "${1:-}" = --test ]; then
	unit=1
	shift
fi
[ $# -eq 1 ] || { echo "usage: $0 [--test] OUTDIR" >&2; exit 2; }
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)

PATH=$PATH:${HOME:-/nonexistent}/.cargo/bin
export PATH
command -v cargo >/dev/null 2>&1 || { echo "$0: cargo not found" >&2; exit 3; }
command -v go >/dev/null 2>&1 || { echo "$0: go not found" >&2; exit 3; }

if [ -n "$unit" ]; then
	cargo test --offline --quiet \
	    --manifest-path "$src/rust/Cargo.toml" --target-dir "$out/rust"
fi
cargo build --offline --release --quiet \
    --manifest-path "$src/rust/Cargo.toml" --target-dir "$out/rust"
cp "$out/rust/release/gateway" "$out/gateway.new"
mv "$out/gateway.new" "$out/gateway"

GOFLAGS=-mod=mod
GOPROXY=off
GOTOOLCHAIN=local
export GOFLAGS GOPROXY GOTOOLCHAIN
# Go keeps its build cache and module path under $HOME by default.
if [ -z "${HOME:-}" ] || [ ! -d "$HOME" ] || [ ! -w "$HOME" ]; then
	GOCACHE=${GOCACHE:-$out/gocache}
	GOPATH=${GOPATH:-$out/gopath}
	export GOCACHE GOPATH
fi
if [ -n "$unit" ]; then
	(cd "$src/go" && go test .)
fi
(cd "$src/go" && go build -o "$out/validatord.new" .)
mv "$out/validatord.new" "$out/validatord"
