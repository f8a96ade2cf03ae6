#!/usr/bin/env bash
# docker cp throughput of strata-fsview (GET / PUT /containers/{id}/archive without the HTTP
# layer) against host GNU tar on the same 1 GiB tree, warm cache, same pipes:
#   GET: `cp_throughput get` | cat >/dev/null   vs   tar -cf - | cat >/dev/null
#   PUT: cp_throughput put < tree.tar ; sync     vs   tar -xf tree.tar ; sync
# (GNU tar short-cuts `-f /dev/null`, hence the pipe through cat.)
# Usage: bench/cp.sh [workdir]   (default /var/tmp/strata-cp-bench; needs ~3.5 GB)
#
# 2026-11-26, 2-core VM shared with other builds, ext4, 1 GiB in 4420 files (4x64M, 64x4M,
# 256x1M, 4096x64K), best of 3 after a warm-up, two runs:
#   GET  strata 835 / 914 MB/s   tar -c 984 / 1116 MB/s   (0.82-0.85x; strata-archive's pack
#        hashes every stream with SHA-256, ~0.55 s of CPU per GiB, unneeded for cp)
#   PUT  strata 336 / 204 MB/s   tar -x 201 / 207 MB/s    (with sync; disk-bound, 1.0-1.7x)
set -euo pipefail
W=${1:-/var/tmp/strata-cp-bench}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -q -p strata-fsview --example cp_throughput --manifest-path "$ROOT/Cargo.toml"
BIN="$ROOT/target/release/examples/cp_throughput"
mkdir -p "$W"
if [ ! -f "$W/.made" ]; then
  rm -rf "$W/rootfs"; mkdir -p "$W/rootfs/tree"
  mk() { # count size dir
    mkdir -p "$W/rootfs/tree/$3"
    for i in $(seq 1 "$1"); do head -c "$2" /dev/urandom >"$W/rootfs/tree/$3/f$i"; done
  }
  mk 4 64M big; mk 64 4M mid; mk 256 1M small; mk 4096 64K tiny
  touch "$W/.made"
fi
BYTES=$(du -sb "$W/rootfs/tree" | cut -f1)
mbps() { awk -v b="$BYTES" -v s="$1" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
t() { local s e; s=$(date +%s.%N); "$@"; e=$(date +%s.%N); awk -v s="$s" -v e="$e" 'BEGIN { print e - s }'; }
run() { # label [put]
  local best=999999 x d
  for i in 0 1 2 3; do
    if [ "${2:-}" = put ]; then d=$(fresh); x=$(t "$1" "$d"); rm -rf "$d"; else x=$(t "$1"); fi
    [ "$i" = 0 ] && continue # warm-up
    best=$(awk -v a="$best" -v b="$x" 'BEGIN { print (b < a) ? b : a }')
  done
  printf '%-28s %6.2f s %6s MB/s\n' "$1" "$best" "$(mbps "$best")"
}
get_strata() { "$BIN" get "$W/rootfs" /tree 2>/dev/null | cat >/dev/null; }
get_tar() { tar -C "$W/rootfs" -cf - tree | cat >/dev/null; }
[ -f "$W/tree.tar" ] || tar -C "$W/rootfs" -cf "$W/tree.tar" tree
# Each extraction goes to a fresh directory (made before the clock starts); all are removed after.
fresh() { local d; d=$(mktemp -d "$W/dst.XXXXXX"); sync; echo "$d"; }
put_strata() { "$BIN" put "$1" / <"$W/tree.tar"; sync; }
put_tar() { tar -C "$1" -xf "$W/tree.tar"; sync; }
echo "tree: $BYTES bytes, $(find "$W/rootfs/tree" -type f | wc -l) files"
run get_strata; run get_tar; run put_strata put; run put_tar put
