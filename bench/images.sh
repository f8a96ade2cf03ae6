#!/usr/bin/env bash
# Image throughput of strata next to the reference Docker, in one run, with the shared
# engine-bench (its `image` and `anchors` sections): import, save, load of a ~323 MB rootfs tar
# of mixed file sizes, removal of the image, and the host's own `tar -x` (+ sync) as the anchor.
#
#   sudo bench/images.sh                 # release build, strata on /var/lib/strata-bench
#   REF_HOST=unix:///run/ref-docker.sock BENCH_CACHE_DIR=/var/tmp/bench_cache bench/images.sh
#
# Results go to bench/results/<date>-{strata,docker}.txt (one `metric value unit` per line).
# This machine's ext4 has no journal and creates files up to 7x slower for minutes after a mass
# delete, so the script waits between the engines (BENCH_PAUSE seconds, default 360); or put
# STRATA_BENCH_ROOT on a loop-mounted journaled filesystem (REF_HOST= skips the Docker run):
#   truncate -s 8G /var/tmp/bench.img && mkfs.ext4 -q /var/tmp/bench.img && mkdir -p /mnt/bench &&
#   mount -o loop /var/tmp/bench.img /mnt/bench && STRATA_BENCH_ROOT=/mnt/bench/strata REF_HOST= bench/images.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${BENCH:-/work/shared/bench/engine-bench.sh}
REF_HOST=${REF_HOST-unix:///run/ref-docker.sock}
ROOT=${STRATA_BENCH_ROOT:-/var/lib/strata-bench}
PAUSE=${BENCH_PAUSE:-360}
export BENCH_CACHE_DIR=${BENCH_CACHE_DIR:-/var/tmp/bench_cache}
export BENCH_SKIP=${BENCH_SKIP:-"run volume df commit io"}
export BENCH_HEAVY_REPS=${BENCH_HEAVY_REPS:-3}
out=bench/results; mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)

cargo build --release --bins
rm -rf "$ROOT"; mkdir -p "$ROOT"
echo '{}' >"$ROOT.json"
./target/release/stratad --data-root "$ROOT/data" --exec-root "$ROOT/exec" --host "unix://$ROOT/strata.sock" \
  --pidfile "$ROOT/strata.pid" --config-file "$ROOT.json" >"$ROOT/stratad.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$ROOT/strata.sock" ] && break; sleep 0.1; done

# The work dir (host anchors, archives) on the same filesystem as the data-root.
DOCKER_HOST="unix://$ROOT/strata.sock" BENCH_DAEMON_PID=$pid BENCH_WORKDIR="$ROOT/work" bash "$BENCH" | tee "$out/$stamp-strata.txt"
kill "$pid"; wait "$pid" 2>/dev/null || true
trap - EXIT
if [ -n "$REF_HOST" ] && [ -S "${REF_HOST#unix://}" ]; then
  echo "# waiting ${PAUSE}s for the filesystem to settle before the reference run" >&2
  sleep "$PAUSE"
  DOCKER_HOST=$REF_HOST bash "$BENCH" | tee "$out/$stamp-docker.txt"
fi
