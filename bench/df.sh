#!/usr/bin/env bash
# `docker system df`, `docker ps -as` and prune with N containers and VOLS volumes holding files,
# against a fresh release stratad and against the reference Docker 20.10, in the same run, with the
# stock docker CLI and curl on the sockets.
#
# Content is made the same way on both engines, over the API (one keep-alive curl per batch):
# volumes dfb_v1..dfb_vVOLS, and N containers `busybox true`, container I with volume dfb_vI at
# /data (volumes beyond N have no container); FILES files of FILE_SIZE bytes are written into
# each volume's Mountpoint from the host (one python3 process: os.open/write/close, far faster
# than a process per file), and one file into each container's UpperDir. Objects are added in
# STEPS (volume counts; container I comes with volume I); at each step GET /system/df is timed
# twice: the first answer after the new objects arrived (strata measures the new ones once) and
# then the best of REPEAT. At the last step the CLI
# commands and the container listing are timed (best of REPEAT); with PRUNE=1 the engine then
# prunes the containers and the volumes (by the run's label; at API 1.41 volume prune takes
# named volumes too), timed. Each engine's objects are gone before the next engine starts (disk peak: one
# engine's content, about VOLS x FILES x 4 KiB).
#
# Usage: sudo bench/df.sh [N]                      (default N=200; VOLS=N: one volume each)
#   knobs: VOLS=N FILES=20 FILE_SIZE=4096 STEPS="<VOLS>" REPEAT=5 PRUNE=1 SKIP_DOCKER=
#          REF=unix:///run/ref-docker.sock (the reference daemon; its busybox:latest is used)
#          STRATAD=target/release/stratad
#   the issue's big case (1000 containers, 5000 volumes, 1 million files; ~20 min):
#          sudo VOLS=5000 FILES=200 FILE_SIZE=64 STEPS="200 1000 5000" REPEAT=3 bench/df.sh 1000
#          (creating the million files takes ~2 min per engine, deleting them ~10 min: Docker's
#          volume prune does it while timed, strata's prune moves them aside and the script then
#          deletes strata's data-root)
#
# The report goes to stdout and to bench/results/<stamp>-df-n<N>-v<VOLS>.txt.
#
# Everything made on the reference daemon is named dfb<pid>_* (containers also carry the label
# bench=df-<pid>) and is removed at the end; strata runs on temporary roots under /var/tmp that
# are removed too.
set -euo pipefail
N=${1:-200}
VOLS=${VOLS:-$N}
FILES=${FILES:-20}
FILE_SIZE=${FILE_SIZE:-4096}
STEPS=${STEPS:-$VOLS}
REPEAT=${REPEAT:-5}
PRUNE=${PRUNE:-1}
SKIP_DOCKER=${SKIP_DOCKER:-}
REF=${REF:-unix:///run/ref-docker.sock}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STRATAD=${STRATAD:-$ROOT/target/release/stratad}
[ "$VOLS" -ge "$N" ] || { echo "VOLS ($VOLS) must be at least N ($N)" >&2; exit 2; }
[ -x "$STRATAD" ] || cargo build --release -q -p stratad --manifest-path "$ROOT/Cargo.toml"
TAG="df-$$"
prefix="dfb${TAG#df-}_"
W=$(mktemp -d /var/tmp/strata-df-bench.XXXXXX)
SOCK="unix://$W/strata.sock"
PID=""

log() { echo "[df] $(date +%T) $*" >&2; }

stop_strata() {
  [ -n "$PID" ] || return 0
  kill "$PID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  PID=""
}

ref_cleanup() {
  DOCKER_HOST=$REF docker ps -aq --filter "label=bench=$TAG" | xargs -r -n 500 env DOCKER_HOST=$REF docker rm -f >/dev/null 2>&1 || true
  DOCKER_HOST=$REF docker volume ls -q --filter "name=^$prefix" | xargs -r -n 500 env DOCKER_HOST=$REF docker volume rm >/dev/null 2>&1 || true
}

cleanup() {
  set +e
  [ -n "$SKIP_DOCKER" ] || ref_cleanup
  stop_strata
  rm -rf "$W"
}
trap cleanup EXIT

# Writes FILES files of FILE_SIZE bytes into each directory read from stdin.
cat >"$W/fill.py" <<'EOF'
import os, sys
files, size = int(sys.argv[1]), int(sys.argv[2])
data = os.urandom(size)
flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
for d in sys.stdin.read().split():
    for i in range(files):
        fd = os.open(os.path.join(d, "f%d" % i), flags, 0o644)
        os.write(fd, data)
        os.close(fd)
EOF

# POST one JSON body per line of stdin ("path<TAB>body") on one keep-alive curl; fails unless
# every answer is 2xx.
post_all() { # DOCKER_HOST
  local sock=${1#unix://} cfg="$W/post.cfg" first=1 path body
  : >"$cfg"
  while IFS=$'\t' read -r path body; do
    [ $first = 1 ] || echo next >>"$cfg"
    first=0
    body=${body//\\/\\\\}
    printf 'unix-socket = "%s"\nurl = "http://x/v1.41%s"\nrequest = "POST"\nheader = "Content-Type: application/json"\ndata = "%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' \
      "$sock" "$path" "${body//\"/\\\"}" >>"$cfg"
  done
  [ $first = 1 ] && return 0
  curl -sS -K "$cfg" >"$W/codes"
  if grep -qv '^2' "$W/codes"; then
    log "some requests failed on $1: $(sort "$W/codes" | uniq -c | tr '\n' ' ')"
    return 1
  fi
}

api_get() { curl -sf --unix-socket "${1#unix://}" "http://x/v1.41$2"; }

ms() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
best() { # DOCKER_HOST cmd...
  local h=$1 b=999999 x
  shift
  for _ in $(seq 1 "$REPEAT"); do
    x=$(DOCKER_HOST=$h ms docker "$@")
    [ "$x" -lt "$b" ] && b=$x
  done
  echo "$b"
}
# The API alone (no CLI start-up): curl on the socket; one call, or the best of REPEAT.
api_once() { curl -s -o /dev/null -w '%{time_total}' --unix-socket "${1#unix://}" -X "${3:-GET}" "http://x/v1.41$2" | awk '{ printf "%d", $1 * 1000 }'; }
api_ms() { # DOCKER_HOST path
  local b=999999 x
  for _ in $(seq 1 "$REPEAT"); do
    x=$(api_once "$1" "$2")
    [ "$x" -lt "$b" ] && b=$x
  done
  echo "$b"
}

# Volumes FROM..TO, labelled (the prune at the end selects them by that label only).
create_volumes() { # DOCKER_HOST FROM TO
  local i
  for i in $(seq "$2" "$3"); do
    printf '/volumes/create\t{"Name":"%sv%d","Labels":{"bench":"%s"}}\n' "$prefix" "$i" "$TAG"
  done | post_all "$1"
}

# Volumes FROM..TO, and containers FROM..min(TO, N), container I with volume vI at /data; files
# written into the new volumes and one into each new container's UpperDir.
add_objects() { # DOCKER_HOST FROM TO
  local h=$1 from=$2 to=$3 i
  [ "$from" -le "$to" ] || return 0
  create_volumes "$h" "$from" "$to"
  for ((i = from; i <= to && i <= N; i++)); do
    printf '/containers/create?name=%sc%d\t{"Image":"busybox","Cmd":["true"],"Labels":{"bench":"%s"},"HostConfig":{"Binds":["%sv%d:/data"]}}\n' \
      "$prefix" "$i" "$TAG" "$prefix" "$i"
  done | post_all "$h"
  for ((i = from; i <= to && i <= N; i++)); do echo "${prefix}c$i"; done |
    xargs -r -n 500 env DOCKER_HOST=$h docker inspect -f '{{.GraphDriver.Data.UpperDir}}' |
    while read -r u; do head -c "$FILE_SIZE" /dev/urandom >"$u/rwfile"; done
  for i in $(seq "$from" "$to"); do echo "${prefix}v$i"; done |
    xargs -r -n 500 env DOCKER_HOST=$h docker volume inspect -f '{{.Mountpoint}}' |
    python3 "$W/fill.py" "$FILES" "$FILE_SIZE"
}

declare -A R
ENGINES=(strata)
[ -n "$SKIP_DOCKER" ] || ENGINES+=(docker)
for engine in "${ENGINES[@]}"; do
  if [ "$engine" = strata ]; then
    echo '{}' >"$W/daemon.json"
    "$STRATAD" --data-root "$W/data" --exec-root "$W/exec" --host "$SOCK" --pidfile "$W/stratad.pid" \
      --config-file "$W/daemon.json" >"$W/stratad.log" 2>&1 &
    PID=$!
    for _ in $(seq 1 100); do DOCKER_HOST=$SOCK docker version >/dev/null 2>&1 && break; sleep 0.1; done
    DOCKER_HOST=$REF docker save busybox:latest | DOCKER_HOST=$SOCK docker load -q >/dev/null
    h=$SOCK
  else
    h=$REF
  fi
  have=0
  for s in $STEPS $VOLS; do
    [ "$s" -gt "$have" ] && [ "$s" -le "$VOLS" ] || continue
    log "$engine: volumes $((have + 1))..$s (containers up to $((s < N ? s : N))), $FILES files each"
    add_objects "$h" "$((have + 1))" "$s"
    have=$s
    sync
    R[$engine.first.$s]=$(api_once "$h" /system/df)
    R[$engine.warm.$s]=$(api_ms "$h" /system/df)
    log "$engine: $s volumes: first ${R[$engine.first.$s]} ms, then ${R[$engine.warm.$s]} ms"
  done
  R[$engine.df]=$(best "$h" system df)
  R[$engine.dfv]=$(best "$h" system df -v)
  R[$engine.ps]=$(best "$h" ps -as)
  R[$engine.apips]=$(api_ms "$h" '/containers/json?all=1&size=1')
  R[$engine.table]=$(DOCKER_HOST=$h docker system df)
  if [ "$PRUNE" = 1 ]; then
    log "$engine: prune"
    by_label="filters=%7B%22label%22%3A%7B%22bench%3D$TAG%22%3Atrue%7D%7D"
    R[$engine.cprune]=$(api_once "$h" "/containers/prune?$by_label" POST)
    R[$engine.vprune]=$(api_once "$h" "/volumes/prune?$by_label" POST)
    R[$engine.left]=$(DOCKER_HOST=$h docker volume ls -q --filter "name=^$prefix" | wc -l)
  fi
  if [ "$engine" = strata ]; then
    stop_strata
    log "strata: removing its data-root"
    rm -rf "$W/data"
  else
    ref_cleanup
  fi
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }
row() { printf '%-44s %8s %8s %8s\n' "$1" "$2" "${3:--}" "$(ratio "$2" "${3:-}")"; }
report() {
  echo "N=$N containers, $VOLS volumes x $FILES files x $FILE_SIZE B ($((VOLS * FILES)) files); best of $REPEAT (ms)"
  printf '%-44s %8s %8s %8s\n' command strata docker ratio
  declare -A seen
  for s in $STEPS $VOLS; do
    [ -n "${R[strata.first.$s]:-}" ] || continue
    [ -z "${seen[$s]:-}" ] || continue
    seen[$s]=1
    what="$s vol, $((s < N ? s : N)) ct"
    row "API GET /system/df, $what, first" "${R[strata.first.$s]}" "${R[docker.first.$s]:-}"
    row "API GET /system/df, $what" "${R[strata.warm.$s]}" "${R[docker.warm.$s]:-}"
  done
  row "docker system df" "${R[strata.df]}" "${R[docker.df]:-}"
  row "docker system df -v" "${R[strata.dfv]}" "${R[docker.dfv]:-}"
  row "docker ps -as" "${R[strata.ps]}" "${R[docker.ps]:-}"
  row "API GET /containers/json?all=1&size=1" "${R[strata.apips]}" "${R[docker.apips]:-}"
  if [ "$PRUNE" = 1 ]; then
    row "API POST /containers/prune ($N)" "${R[strata.cprune]}" "${R[docker.cprune]:-}"
    row "API POST /volumes/prune ($VOLS)" "${R[strata.vprune]}" "${R[docker.vprune]:-}"
    echo "volumes left after prune: strata ${R[strata.left]}, docker ${R[docker.left]:--}"
  fi
  echo
  echo "--- strata: docker system df"
  echo "${R[strata.table]}"
  if [ -z "$SKIP_DOCKER" ]; then
    echo "--- docker: docker system df (the reference also holds its own other objects)"
    echo "${R[docker.table]}"
  fi
}
OUT=$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)-df-n$N-v$VOLS.txt
mkdir -p "$(dirname "$OUT")"
report | tee "$OUT"
log "written to $OUT"
