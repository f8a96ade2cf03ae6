#!/usr/bin/env bash
# bench/volumes.sh - volume benchmark: stratad (release build) against a reference dockerd, in
# the same run, over the API with curl (keep-alive, parallel clients).
#
# Metrics (one `metric strata docker unit` line each, medians where repeated):
#   create_per_s      POST /volumes/create of NVOL volumes by PAR keep-alive curl clients
#   list_ms           GET /volumes with NVOL volumes present
#   rss_mb            daemon RSS with NVOL volumes present
#   restart_ready_ms  SIGTERM, start again, until GET /volumes lists all NVOL volumes
#   prune_ms          POST /volumes/prune of the NVOL volumes (label filter)
#
# The reference is the shared dockerd at REF_SOCK for create/list/RSS/prune (everything this
# script makes is named bench_vol_* with label bench=1 and is pruned by that label only). The
# restart metric restarts a daemon, so for Docker it uses a private dockerd of the same build
# (REF_RESTART=private, default) instead of disturbing the shared one; REF_RESTART=skip skips it.
#
# Usage (as root, from the repository):  bench/volumes.sh
# Knobs: NVOL=5000 PAR=4 REPS=7 REF_SOCK=/run/ref-docker.sock REF_PID=/run/ref-docker.pid
#        STRATAD=target/release/stratad BENCH_DIR=/var/tmp/strata-volbench REF_RESTART=private
#        SKIP_DOCKER=1 (strata only)
set -u -o pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

NVOL=${NVOL:-5000}
PAR=${PAR:-4}
REPS=${REPS:-7}
REF_SOCK=${REF_SOCK:-/run/ref-docker.sock}
REF_PID=${REF_PID:-/run/ref-docker.pid}
REF_RESTART=${REF_RESTART:-private}
STRATAD=${STRATAD:-target/release/stratad}
DIR=${BENCH_DIR:-/var/tmp/strata-volbench}
PREFIX=bench_vol_
LABEL=bench=1

[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
if [ ! -x "$STRATAD" ]; then
  echo "building the release binaries" >&2
  cargo build --release --bins >&2 || exit 1
fi

log() { echo "[bench] $*" >&2; }
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{ if (NR==0) {print "NA"; exit} if (NR%2) v=a[(NR+1)/2]; else v=(a[NR/2]+a[NR/2+1])/2; printf "%.1f\n", v }'; }
rss_mb() { awk '/^VmRSS/{printf "%.1f\n", $2/1024}' "/proc/$1/status" 2>/dev/null || echo NA; }
count() { curl -s --unix-socket "$1" http://localhost/volumes | jq '.Volumes | length'; }

# create volumes FROM..TO (default 1..NVOL) on socket $1 with PAR keep-alive curl clients;
# prints "ok elapsed_us"
bulk_create_raw() {
  local sock=$1 from=${2:-1} to=${3:-$NVOL} i c s e ok
  rm -f "$DIR"/k.*.cfg "$DIR"/codes.*
  for ((i = from; i <= to; i++)); do
    c=$((i % PAR))
    {
      [ -s "$DIR/k.$c.cfg" ] && echo next
      printf 'unix-socket = "%s"\nurl = "http://localhost/volumes/create"\nrequest = "POST"\nheader = "Content-Type: application/json"\n' "$sock"
      printf 'data = "{\\"Name\\":\\"%s%06d\\",\\"Labels\\":{\\"bench\\":\\"1\\"}}"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' "$PREFIX" "$i"
    } >>"$DIR/k.$c.cfg"
  done
  s=$(now_us)
  for ((c = 0; c < PAR; c++)); do curl -sS -K "$DIR/k.$c.cfg" >"$DIR/codes.$c" & done
  wait
  e=$(now_us)
  ok=$(cat "$DIR"/codes.* | grep -c '^201$')
  [ "$ok" -eq $((to - from + 1)) ] || log "only $ok of $((to - from + 1)) creates succeeded on $sock"
  echo "$ok $((e - s))"
}
# all NVOL at once; prints volumes/s
bulk_create() {
  local ok us
  read -r ok us < <(bulk_create_raw "$1")
  awk -v n="$ok" -v us="$us" 'BEGIN{printf "%.0f\n", n / (us / 1e6)}'
}

list_ms() {
  local sock=$1 a=() i
  curl -s --unix-socket "$sock" -o /dev/null http://localhost/volumes
  for ((i = 0; i < REPS; i++)); do
    a+=("$(curl -s --unix-socket "$sock" -o /dev/null -w '%{time_total}' http://localhost/volumes | awk '{printf "%.2f", $1*1000}')")
  done
  median "${a[@]}"
}

# prune through API 1.41 on both daemons: there every unused volume the filter selects goes
# (Docker 20.10 does not know the `all` filter of 1.42)
prune_ms() {
  local sock=$1 filters s e
  filters=$(printf '{"label":["%s"]}' "$LABEL" | jq -sRr @uri)
  s=$(now_us)
  curl -s --unix-socket "$sock" -XPOST -o "$DIR/prune.json" "http://localhost/v1.41/volumes/prune?filters=$filters"
  e=$(now_us)
  local n; n=$(jq '.VolumesDeleted | length' "$DIR/prune.json")
  [ "$n" -eq "$NVOL" ] || log "prune on $sock removed $n of $NVOL"
  awk -v us=$((e - s)) 'BEGIN{printf "%.0f\n", us/1000}'
}

# restart_ready_ms SOCK STOP_CMD START_CMD: time from the stop signal until all NVOL volumes
# list, appended to the array READY (not printed: the daemon must not start in a subshell)
READY=()
restart_ready_ms() {
  local sock=$1 stop=$2 start=$3 s e deadline
  s=$(now_us)
  bash -c "$stop"
  bash -c "$start"
  deadline=$((s + 120000000))
  while [ "$(now_us)" -lt "$deadline" ]; do
    [ "$(count "$sock" 2>/dev/null)" = "$NVOL" ] && break
    sleep 0.005
  done
  e=$(now_us)
  READY+=($(((e - s) / 1000)))
}

wait_sock() { local i; for ((i = 0; i < 2000; i++)); do curl -sf --unix-socket "$1" http://localhost/_ping >/dev/null && return 0; sleep 0.01; done; return 1; }
wait_gone() { local i; for ((i = 0; i < 3000; i++)); do [ -d "/proc/$1" ] || return 0; sleep 0.005; done; return 1; }

rm -rf "$DIR"; mkdir -p "$DIR"
cleanup() {
  [ "$BASHPID" = "$$" ] || return 0 # only the main shell cleans up, not a subshell
  [ -f "$DIR/strata.pid" ] && kill "$(cat "$DIR/strata.pid")" 2>/dev/null
  [ -f "$DIR/docker.pid" ] && kill "$(cat "$DIR/docker.pid")" 2>/dev/null
  sleep 1
  filters=$(printf '{"label":["%s"]}' "$LABEL" | jq -sRr @uri)
  curl -s --unix-socket "$REF_SOCK" -XPOST -o /dev/null "http://localhost/v1.41/volumes/prune?filters=$filters"
  umount -R "$DIR/docker-exec" 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT

# The phases are ordered so that no mass deletion precedes a create phase: on ext4 without a
# journal (these VMs' root filesystem) creating inodes is several times slower for minutes
# after many were deleted, which would penalise whichever daemon creates second.

# ---- start strata
SSOCK=$DIR/strata.sock
echo '{}' >"$DIR/daemon.json"
STRATA_START="cd '$PWD' && nohup '$STRATAD' --config-file '$DIR/daemon.json' --data-root '$DIR/strata-root' --exec-root '$DIR/strata-exec' -H 'unix://$SSOCK' --pidfile '$DIR/strata.pid' --log-level warn >>'$DIR/strata.log' 2>&1 & for i in \$(seq 2000); do curl -sf --unix-socket '$SSOCK' http://localhost/_ping >/dev/null && break; sleep 0.005; done"
STRATA_STOP="p=\$(cat '$DIR/strata.pid'); kill -TERM \$p; while [ -d /proc/\$p ]; do sleep 0.002; done"
bash -c "$STRATA_START"
wait_sock "$SSOCK" || { echo "stratad did not start" >&2; cat "$DIR/strata.log" >&2; exit 1; }
D_CREATE=NA D_LIST=NA D_RSS=NA D_PRUNE=NA D_RESTART=NA
WITH_DOCKER=1
[ "${SKIP_DOCKER:-0}" = 1 ] && WITH_DOCKER=0
if [ $WITH_DOCKER = 1 ] && [ ! -S "$REF_SOCK" ]; then echo "no reference dockerd at $REF_SOCK" >&2; exit 1; fi

# ---- creates: in halves, strata-docker-docker-strata, so that a drift of the machine's state
# during the run (the filesystem fills, other load comes and goes) favours neither
HALF=$((NVOL / 2))
rate() { awk -v n1="$1" -v u1="$2" -v n2="$3" -v u2="$4" 'BEGIN{printf "%.0f\n", (n1 + n2) / ((u1 + u2) / 1e6)}'; }
log "creating $NVOL volumes on each daemon"
read -r s_ok1 s_us1 < <(bulk_create_raw "$SSOCK" 1 "$HALF")
if [ $WITH_DOCKER = 1 ]; then
  read -r d_ok1 d_us1 < <(bulk_create_raw "$REF_SOCK" 1 "$HALF")
  read -r d_ok2 d_us2 < <(bulk_create_raw "$REF_SOCK" $((HALF + 1)) "$NVOL")
  D_CREATE=$(rate "$d_ok1" "$d_us1" "$d_ok2" "$d_us2")
fi
read -r s_ok2 s_us2 < <(bulk_create_raw "$SSOCK" $((HALF + 1)) "$NVOL")
S_CREATE=$(rate "$s_ok1" "$s_us1" "$s_ok2" "$s_us2")

# ---- lists and memory
S_LIST=$(list_ms "$SSOCK")
S_RSS=$(rss_mb "$(cat "$DIR/strata.pid")")
if [ $WITH_DOCKER = 1 ]; then
  D_LIST=$(list_ms "$REF_SOCK")
  D_RSS=$(rss_mb "$(cat "$REF_PID")")
fi

# ---- restarts
log "strata: restart"
READY=(); for ((r = 0; r < 3; r++)); do restart_ready_ms "$SSOCK" "$STRATA_STOP" "$STRATA_START"; done
S_RESTART=$(median "${READY[@]}")
S_RSS_RESTART=$(rss_mb "$(cat "$DIR/strata.pid")")
if [ $WITH_DOCKER = 1 ] && [ "$REF_RESTART" = private ] && command -v dockerd >/dev/null; then
  # A private dockerd of the same build: restarting the shared one would disturb its users.
  PSOCK=$DIR/docker.sock
  DOCKER_START="nohup dockerd --host 'unix://$PSOCK' --data-root '$DIR/docker-root' --exec-root '$DIR/docker-exec' --pidfile '$DIR/docker.pid' --iptables=false --bridge=none >>'$DIR/docker.log' 2>&1 & for i in \$(seq 6000); do curl -sf --unix-socket '$PSOCK' http://localhost/_ping >/dev/null && break; sleep 0.01; done"
  DOCKER_STOP="p=\$(cat '$DIR/docker.pid'); kill -TERM \$p; while [ -d /proc/\$p ]; do sleep 0.005; done"
  bash -c "$DOCKER_START"
  if wait_sock "$PSOCK"; then
    log "private dockerd: creating $NVOL volumes, restart"
    bulk_create "$PSOCK" >/dev/null
    READY=(); for ((r = 0; r < 3; r++)); do restart_ready_ms "$PSOCK" "$DOCKER_STOP" "$DOCKER_START"; done
    D_RESTART=$(median "${READY[@]}")
    bash -c "$DOCKER_STOP"
  else
    log "private dockerd did not start (see $DIR/docker.log)"
  fi
fi

# ---- prunes (the deletions come last)
log "strata: prune"
S_PRUNE=$(prune_ms "$SSOCK")
if [ $WITH_DOCKER = 1 ]; then
  log "docker: prune"
  D_PRUNE=$(prune_ms "$REF_SOCK")
fi

echo "# volumes bench $(date -u +%FT%TZ) nvol=$NVOL parallel=$PAR kernel=$(uname -r) cpus=$(nproc)"
echo "# strata $("$STRATAD" --version 2>/dev/null) | docker $(docker -H "unix://$REF_SOCK" version --format '{{.Server.Version}}' 2>/dev/null)"
printf '%-18s %10s %10s  %s\n' metric strata docker unit
printf '%-18s %10s %10s  %s\n' create_per_s "$S_CREATE" "$D_CREATE" volumes/s
printf '%-18s %10s %10s  %s\n' list_ms "$S_LIST" "$D_LIST" ms
printf '%-18s %10s %10s  %s\n' prune_ms "$S_PRUNE" "$D_PRUNE" ms
printf '%-18s %10s %10s  %s\n' restart_ready_ms "$S_RESTART" "$D_RESTART" ms
printf '%-18s %10s %10s  %s\n' rss_mb "$S_RSS" "$D_RSS" MB
printf '%-18s %10s %10s  %s\n' rss_after_restart "$S_RSS_RESTART" NA MB
