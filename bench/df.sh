#!/usr/bin/env bash
# `docker system df` and `docker ps -as` with N containers and N volumes holding files, against a
# fresh release stratad and against the reference Docker 20.10, in the same run, with the stock
# docker CLI. Content is made the same way on both: `docker create -v dfb_vI:/data busybox` for
# each I, then FILES files of FILE_SIZE bytes written into each volume's Mountpoint and one file
# into each container's UpperDir from the host. Prints the best of REPEAT timings of each command
# (the first df, which measures everything, is reported apart), the ratios, and both `system df`
# tables.
#
# Usage: sudo bench/df.sh [N]            (default N=200; FILES=20 FILE_SIZE=4096 REPEAT=5)
#        REF=unix:///run/ref-docker.sock (the reference daemon; its busybox:latest is used)
#
# Everything made on the reference daemon carries the label bench=df-<pid> and is removed at the
# end; strata runs on temporary roots under /var/tmp that are removed too.
set -euo pipefail
N=${1:-200}
FILES=${FILES:-20}
FILE_SIZE=${FILE_SIZE:-4096}
REPEAT=${REPEAT:-5}
REF=${REF:-unix:///run/ref-docker.sock}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STRATAD=${STRATAD:-$ROOT/target/release/stratad}
[ -x "$STRATAD" ] || cargo build --release -q -p stratad --manifest-path "$ROOT/Cargo.toml"
TAG="df-$$"
W=$(mktemp -d /var/tmp/strata-df-bench.XXXXXX)
SOCK="unix://$W/strata.sock"
PID=""

cleanup() {
  set +e
  DOCKER_HOST=$REF docker rm -f $(DOCKER_HOST=$REF docker ps -aq --filter "label=bench=$TAG") >/dev/null 2>&1
  DOCKER_HOST=$REF docker volume rm $(DOCKER_HOST=$REF docker volume ls -q --filter "name=^dfb${TAG#df-}_") >/dev/null 2>&1
  if [ -n "$PID" ]; then
    kill "$PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$W"
}
trap cleanup EXIT

echo '{}' >"$W/daemon.json"
"$STRATAD" --data-root "$W/data" --exec-root "$W/exec" --host "$SOCK" --pidfile "$W/stratad.pid" \
  --config-file "$W/daemon.json" >"$W/stratad.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do DOCKER_HOST=$SOCK docker version >/dev/null 2>&1 && break; sleep 0.1; done
DOCKER_HOST=$REF docker save busybox:latest | DOCKER_HOST=$SOCK docker load -q >/dev/null

# Same names on both daemons; the reference's carry the run's suffix so nothing clashes.
prefix="dfb${TAG#df-}_"
populate() { # DOCKER_HOST
  local h=$1 names=() vols=()
  for i in $(seq 1 "$N"); do
    DOCKER_HOST=$h docker create --name "${prefix}c$i" --label "bench=$TAG" -v "${prefix}v$i:/data" busybox true >/dev/null
    names+=("${prefix}c$i")
    vols+=("${prefix}v$i")
  done
  for m in $(DOCKER_HOST=$h docker volume inspect -f '{{.Mountpoint}}' "${vols[@]}"); do
    for f in $(seq 1 "$FILES"); do head -c "$FILE_SIZE" /dev/urandom >"$m/f$f"; done
  done
  for u in $(DOCKER_HOST=$h docker inspect -f '{{.GraphDriver.Data.UpperDir}}' "${names[@]}"); do
    head -c "$FILE_SIZE" /dev/urandom >"$u/rwfile"
  done
}

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

# The API alone (no CLI start-up): curl on the socket.
api_ms() { # DOCKER_HOST path
  local sock=${1#unix://} b=999999 x
  for _ in $(seq 1 "$REPEAT"); do
    x=$(curl -s -o /dev/null -w '%{time_total}' --unix-socket "$sock" "http://x/v1.41$2" | awk '{ printf "%d", $1 * 1000 }')
    [ "$x" -lt "$b" ] && b=$x
  done
  echo "$b"
}

declare -A R
for engine in strata docker; do
  h=$SOCK
  [ "$engine" = docker ] && h=$REF
  populate "$h"
  sync
  R[$engine.first]=$(DOCKER_HOST=$h ms docker system df)
  R[$engine.df]=$(best "$h" system df)
  R[$engine.dfv]=$(best "$h" system df -v)
  R[$engine.ps]=$(best "$h" ps -as)
  R[$engine.apidf]=$(api_ms "$h" /system/df)
  R[$engine.apips]=$(api_ms "$h" '/containers/json?all=1&size=1')
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
echo "N=$N containers, $N volumes x $FILES files x $FILE_SIZE B; best of $REPEAT (ms)"
printf '%-28s %8s %8s %8s\n' command strata docker ratio
for k in first df dfv ps apidf apips; do
  case $k in
    first) label="system df (first, cold)" ;;
    df) label="system df" ;;
    dfv) label="system df -v" ;;
    ps) label="ps -as" ;;
    apidf) label="API GET /system/df" ;;
    apips) label="API GET /containers/json?size=1" ;;
  esac
  printf '%-28s %8s %8s %8s\n' "$label" "${R[strata.$k]}" "${R[docker.$k]}" "$(ratio "${R[strata.$k]}" "${R[docker.$k]}")"
done
echo
echo "--- strata: docker system df"
DOCKER_HOST=$SOCK docker system df
echo "--- docker: docker system df (the reference also holds its own other objects)"
DOCKER_HOST=$REF docker system df
