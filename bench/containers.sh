#!/usr/bin/env bash
# bench/containers.sh - container benchmark: a private release stratad against the reference
# Docker, in the same run, through the stock docker CLI (and curl on the socket for the API).
#
# Metrics (strata, docker, strata/docker):
#   run_rm_p50_ms, run_rm_p95_ms  `docker run --rm IMG true`, N_RUN runs
#   run_d_rm_per_s                `docker run -d IMG sleep` then `docker rm -f`, N_CYCLE cycles
#   start_100_per_s               `docker run -d` of N_CT containers that keep running
#   ps_a_cli_ms, ps_a_api_ms      `docker ps -a` / GET /containers/json?all=1 with them present
#   rm_100_per_s                  `docker rm -f` of the N_CT containers (one command)
#   daemon_rss_idle_mb            the daemon's RSS (stratad / dockerd) before the containers
#   daemon_rss_100_mb             the same with N_CT running containers
#   engine_rss_100_mb             everything the engine keeps in memory for them: stratad alone;
#                                 dockerd + containerd + one containerd-shim per container
#   volume_write_mb_s             `docker run --rm -v VOL:/data IMG dd … bs=1M count=VOL_MB
#                                 conv=fsync`, whole command (container start included)
#   volume_dd_mb_s                what dd itself reports inside that container
#   io_{layer,volume,bind,tmpfs}_mb_s  dd of IO_MB with conv=fsync inside one container to its
#                                 writable layer, a named volume, a bind mount and a tmpfs (dd's
#                                 own time, from busybox time: 10 ms resolution)
#   guide_backup_ms, guide_restore_ms  the guide's `docker run --rm -v VOL:/source:ro -v DIR:/backup
#                                 IMG tar czf …` and `… tar xzf …` of BK_MB in BK_FILES files
#   host_dd_mb_s                  the same dd on the host, same filesystem (the physical ceiling)
#
# Both engines get the same image: a rootfs tar of Debian's static busybox imported as
# bench_ct_bb:latest. Sections alternate strata/docker so drift of this shared machine favours
# neither. The reference is the shared dockerd at REF_SOCK (everything made there is named
# bench_ct_* and removed at the end); strata is a private daemon on its own data-root.
#
# Usage (as root, from the repository):  bench/containers.sh
# Knobs: N_RUN=20 N_CYCLE=20 N_CT=100 VOL_MB=100 VOL_REPS=3 IO_MB=256 BK_MB=64 BK_FILES=256 REF_SOCK=/run/ref-docker.sock
#        REF_PID=/run/ref-docker.pid REF_EXEC=/run/ref-docker STRATAD=target/release/stratad
#        BENCH_DIR=/var/tmp/strata-ctbench SKIP_DOCKER=1 (strata only) OUT=bench/results/…
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

N_RUN=${N_RUN:-20}
N_CYCLE=${N_CYCLE:-20}
N_CT=${N_CT:-100}
VOL_MB=${VOL_MB:-100}
VOL_REPS=${VOL_REPS:-3}
IO_MB=${IO_MB:-256}
BK_MB=${BK_MB:-64}
BK_FILES=${BK_FILES:-256}
REF_SOCK=${REF_SOCK:-/run/ref-docker.sock}
REF_PID=${REF_PID:-/run/ref-docker.pid}
REF_EXEC=${REF_EXEC:-/run/ref-docker}
STRATAD=${STRATAD:-target/release/stratad}
DIR=${BENCH_DIR:-/var/tmp/strata-ctbench}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-bench/results/$STAMP-containers.txt}
IMG=bench_ct_bb:latest
DOCKER_BIN=/usr/local/bin/docker
[ -x "$DOCKER_BIN" ] || DOCKER_BIN=$(command -v docker)

[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
if [ ! -x "$STRATAD" ]; then
  echo "building the release binaries" >&2
  cargo build --release --locked --bins >&2
fi

log() { printf '[bench %(%T)T] %s\n' -1 "$*" >&2; }
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
ms_since() { awk -v a="$1" -v b="$(now_us)" 'BEGIN{printf "%.1f\n", (b - a) / 1000}'; }
# median / nearest-rank percentile of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{if (NR==0) {print "NA"; exit} if (NR%2) v=a[(NR+1)/2]; else v=(a[NR/2]+a[NR/2+1])/2; printf "%.1f\n", v}'; }
pct() { local p=$1; shift; printf '%s\n' "$@" | sort -g | awk -v p="$p" '{a[NR]=$1} END{if (NR==0) {print "NA"; exit} i=int(p/100*NR+0.999999); if (i<1) i=1; printf "%.1f\n", a[i]}'; }
rss_mb() { awk '/^VmRSS/{printf "%.1f\n", $2/1024}' "/proc/$1/status" 2>/dev/null || echo NA; }
# dk SOCK ARGS…: the docker CLI against one engine
dk() { local sock=$1; shift; timeout 300 "$DOCKER_BIN" -H "unix://$sock" "$@"; }

ENGINES=(strata)
[ "${SKIP_DOCKER:-0}" = 1 ] || ENGINES+=(docker)
declare -A SOCK PID R

# Memory of what the engine keeps alive for its containers. strata: stratad only (no shim, no
# containerd; the containers' own processes are not counted on either side). Docker: dockerd, its
# containerd and the shims, which carry the exec-root's path on their command line.
engine_rss_mb() {
  if [ "$1" = strata ]; then rss_mb "${PID[strata]}"; return; fi
  local d=${PID[docker]}
  ps -eo pid=,rss=,args= | awk -v d="$d" -v ex="$REF_EXEC/" '
    $1 == d { t += $2; next }
    index($0, ex) && ($3 ~ /containerd/) { t += $2 }
    END { printf "%.1f\n", t / 1024 }'
}

# ---- set-up: a private stratad, the shared reference dockerd, the same image in both
rm -rf "$DIR"
mkdir -p "$DIR" "$(dirname "$OUT")"
SOCK[strata]=$DIR/strata.sock
cleanup() {
  local rc=$? e names
  trap - EXIT INT TERM
  log "cleanup"
  for e in "${ENGINES[@]}"; do
    [ -S "${SOCK[$e]}" ] || continue
    names=$(dk "${SOCK[$e]}" ps -a --format '{{.Names}}' 2>/dev/null | grep '^bench_ct_' || true)
    [ -z "$names" ] || xargs -r timeout 300 "$DOCKER_BIN" -H "unix://${SOCK[$e]}" rm -f <<<"$names" >/dev/null 2>&1 || true
    dk "${SOCK[$e]}" volume rm -f bench_ct_vol >/dev/null 2>&1 || true
    dk "${SOCK[$e]}" rmi -f "$IMG" >/dev/null 2>&1 || true
  done
  if [ -f "$DIR/strata.pid" ]; then
    kill "$(cat "$DIR/strata.pid")" 2>/dev/null || true
    for _ in $(seq 100); do [ -f "$DIR/strata.pid" ] || break; sleep 0.1; done
  fi
  # Never rm -rf through a mount that is still there.
  if findmnt -rn -o TARGET | grep -q "^$DIR/"; then
    log "mounts remain under $DIR; left in place"
  else
    rm -rf "$DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo '{}' >"$DIR/daemon.json"
nohup "$STRATAD" --config-file "$DIR/daemon.json" --data-root "$DIR/strata-root" --exec-root "$DIR/strata-exec" \
  -H "unix://${SOCK[strata]}" --pidfile "$DIR/strata.pid" --log-level warn >>"$DIR/strata.log" 2>&1 </dev/null &
for _ in $(seq 200); do curl -sf --unix-socket "${SOCK[strata]}" http://localhost/_ping >/dev/null && break; sleep 0.05; done
curl -sf --unix-socket "${SOCK[strata]}" http://localhost/_ping >/dev/null || { echo "stratad did not start:" >&2; cat "$DIR/strata.log" >&2; exit 1; }
PID[strata]=$(cat "$DIR/strata.pid")
if [ "${SKIP_DOCKER:-0}" != 1 ]; then
  if ! curl -sf --unix-socket "$REF_SOCK" http://localhost/_ping >/dev/null; then
    echo "no reference dockerd at $REF_SOCK; start it as ../shared/DESIGN.md says, or SKIP_DOCKER=1" >&2
    exit 1
  fi
  SOCK[docker]=$REF_SOCK
  PID[docker]=$(cat "$REF_PID")
fi

log "building the busybox image"
root=$DIR/rootfs
mkdir -p "$root"/{bin,etc,tmp}
cp /bin/busybox "$root/bin/busybox"
for applet in sh true sleep dd rm cat mkdir tail cp tar gzip; do ln -s busybox "$root/bin/$applet"; done
echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
chmod 1777 "$root/tmp"
tar --numeric-owner -C "$root" -cf "$DIR/rootfs.tar" .
for e in "${ENGINES[@]}"; do
  dk "${SOCK[$e]}" import "$DIR/rootfs.tar" "$IMG" >/dev/null
  dk "${SOCK[$e]}" run --rm "$IMG" true # warm-up: first-use caches on both sides
done

# ---- idle memory
for e in "${ENGINES[@]}"; do R[$e,daemon_rss_idle_mb]=$(rss_mb "${PID[$e]}"); done

# ---- run --rm latency
log "run --rm latency ($N_RUN runs each)"
declare -A LAT
for ((i = 0; i < N_RUN; i++)); do
  for e in "${ENGINES[@]}"; do
    s=$(now_us)
    dk "${SOCK[$e]}" run --rm "$IMG" true
    LAT[$e]+="$(ms_since "$s") "
  done
done
for e in "${ENGINES[@]}"; do
  # shellcheck disable=SC2086 # the samples are space-separated on purpose
  R[$e,run_rm_p50_ms]=$(median ${LAT[$e]})
  # shellcheck disable=SC2086
  R[$e,run_rm_p95_ms]=$(pct 95 ${LAT[$e]})
done

# ---- run -d + rm -f cycles
log "run -d + rm -f ($N_CYCLE cycles each)"
for e in "${ENGINES[@]}"; do
  s=$(now_us)
  for ((i = 0; i < N_CYCLE; i++)); do
    dk "${SOCK[$e]}" run -d --name "bench_ct_cycle" "$IMG" sleep 600 >/dev/null
    dk "${SOCK[$e]}" rm -f bench_ct_cycle >/dev/null
  done
  R[$e,run_d_rm_per_s]=$(awk -v n="$N_CYCLE" -v ms="$(ms_since "$s")" 'BEGIN{printf "%.2f\n", n / (ms / 1000)}')
done

# ---- N_CT running containers: start rate, memory, ps -a, removal
for e in "${ENGINES[@]}"; do
  log "$e: starting $N_CT containers"
  s=$(now_us)
  for ((i = 0; i < N_CT; i++)); do
    dk "${SOCK[$e]}" run -d --name "bench_ct_$i" "$IMG" sleep 3600 >/dev/null
  done
  R[$e,start_100_per_s]=$(awk -v n="$N_CT" -v ms="$(ms_since "$s")" 'BEGIN{printf "%.2f\n", n / (ms / 1000)}')
  sleep 2 # let the daemon settle (allocator, goroutines) before reading its memory
  R[$e,daemon_rss_100_mb]=$(rss_mb "${PID[$e]}")
  R[$e,engine_rss_100_mb]=$(engine_rss_mb "$e")
  R[$e,containers_listed]=$(dk "${SOCK[$e]}" ps -aq | wc -l)
  a=()
  for ((i = 0; i < 7; i++)); do s=$(now_us); dk "${SOCK[$e]}" ps -a >/dev/null; a+=("$(ms_since "$s")"); done
  R[$e,ps_a_cli_ms]=$(median "${a[@]}")
  a=()
  for ((i = 0; i < 7; i++)); do
    a+=("$(curl -s --unix-socket "${SOCK[$e]}" -o /dev/null -w '%{time_total}' 'http://localhost/containers/json?all=1' | awk '{printf "%.2f", $1 * 1000}')")
  done
  R[$e,ps_a_api_ms]=$(median "${a[@]}")
  log "$e: removing them"
  s=$(now_us)
  seq 0 $((N_CT - 1)) | sed 's/^/bench_ct_/' | xargs timeout 300 "$DOCKER_BIN" -H "unix://${SOCK[$e]}" rm -f >/dev/null
  R[$e,rm_100_per_s]=$(awk -v n="$N_CT" -v ms="$(ms_since "$s")" 'BEGIN{printf "%.2f\n", n / (ms / 1000)}')
done

# ---- writing VOL_MB into a named volume
log "volume write ($VOL_MB MB, $VOL_REPS reps)"
a=()
for ((i = 0; i < VOL_REPS; i++)); do
  s=$(now_us)
  dd if=/dev/zero of="$DIR/host.dd" bs=1M count="$VOL_MB" conv=fsync status=none
  a+=("$(awk -v mb="$VOL_MB" -v ms="$(ms_since "$s")" 'BEGIN{printf "%.1f\n", mb * 1.048576 / (ms / 1000)}')")
  rm -f "$DIR/host.dd"
done
HOST_DD=$(median "${a[@]}")
for e in "${ENGINES[@]}"; do dk "${SOCK[$e]}" volume create bench_ct_vol >/dev/null; done
declare -A VW VD
for ((i = 0; i < VOL_REPS; i++)); do
  for e in "${ENGINES[@]}"; do
    s=$(now_us)
    # Debian's busybox dd prints no rate: busybox time prints dd's elapsed seconds last.
    out=$(dk "${SOCK[$e]}" run --rm -v bench_ct_vol:/data "$IMG" sh -c "rm -f /data/f; busybox time -f %e dd if=/dev/zero of=/data/f bs=1M count=$VOL_MB conv=fsync" 2>&1)
    VW[$e]+="$(awk -v mb="$VOL_MB" -v ms="$(ms_since "$s")" 'BEGIN{printf "%.1f\n", mb * 1.048576 / (ms / 1000)}') "
    VD[$e]+="$(tail -n 1 <<<"$out" | awk -v mb="$VOL_MB" '/^[0-9.]+$/ { printf "%.1f\n", mb * 1.048576 / ($1 > 0 ? $1 : 0.01) }') "
  done
done
for e in "${ENGINES[@]}"; do
  # shellcheck disable=SC2086
  R[$e,volume_write_mb_s]=$(median ${VW[$e]})
  # shellcheck disable=SC2086
  R[$e,volume_dd_mb_s]=$(median ${VD[$e]})
done

# ---- the guide's "performance" table: layer, volume, bind mount and tmpfs in one container each
log "io: layer, volume, bind, tmpfs ($IO_MB MB, $VOL_REPS reps)"
mkdir -p "$DIR/bind"
a=()
for ((i = 0; i < VOL_REPS; i++)); do
  s=$(now_us)
  dd if=/dev/zero of="$DIR/host.dd" bs=1M count="$IO_MB" conv=fsync status=none
  a+=("$(awk -v mb="$IO_MB" -v ms="$(ms_since "$s")" 'BEGIN{printf "%.1f\n", mb * 1.048576 / (ms / 1000)}')")
  rm -f "$DIR/host.dd"
done
HOST_IO=$(median "${a[@]}")
# shellcheck disable=SC2016 # expanded by the container's shell
iosh='for t in /layer /volume /bind /tmpfs; do i=0; while [ $i -lt '"$VOL_REPS"' ]; do
  mkdir -p $t; echo "$t $(busybox time -f %e dd if=/dev/zero of=$t/f bs=1M count='"$IO_MB"' conv=fsync 2>&1 | tail -n 1)"
  rm -f $t/f; i=$((i + 1)); done; done'
declare -A IOOUT
# strata, docker, docker, strata: the machine's drift (writeback, other load) favours neither
order=("${ENGINES[@]}")
for ((i = ${#ENGINES[@]} - 1; i >= 0; i--)); do order+=("${ENGINES[i]}"); done
for e in "${order[@]}"; do
  out=$(dk "${SOCK[$e]}" run --rm -v bench_ct_vol:/volume -v "$DIR/bind:/bind" --tmpfs "/tmpfs:size=$((IO_MB + 64))m" "$IMG" sh -c "$iosh" 2>&1) || log "$e: io run failed: $out"
  IOOUT[$e]+="$out"$'\n'
done
for e in "${ENGINES[@]}"; do
  for t in layer volume bind tmpfs; do
    mapfile -t a < <(awk -v t="/$t" -v mb="$IO_MB" '$1 == t && $2 ~ /^[0-9.]+$/ { printf "%.1f\n", mb * 1.048576 / ($2 > 0 ? $2 : 0.01) }' <<<"${IOOUT[$e]}")
    R[$e,io_${t}_mb_s]=$(median "${a[@]}")
  done
done

# ---- the guide's backup and restore: tar czf / tar xzf through a throw-away container
log "backup/restore of a ${BK_MB} MB volume with the guide's tar method"
mkdir -p "$DIR/bkdata" "$DIR/backup"
# incompressible data in BK_FILES files, the same bytes for both engines
head -c "$((BK_MB * 1024 * 1024))" /dev/urandom >"$DIR/bk.raw"
split -n "$BK_FILES" -a 4 "$DIR/bk.raw" "$DIR/bkdata/f"
rm -f "$DIR/bk.raw"
declare -A BK RS
for e in "${ENGINES[@]}"; do
  dk "${SOCK[$e]}" volume create bench_ct_bk >/dev/null
  dk "${SOCK[$e]}" run --rm -v bench_ct_bk:/data -v "$DIR/bkdata:/src:ro" "$IMG" sh -c 'cp -a /src/. /data/'
done
for ((i = 0; i < VOL_REPS; i++)); do
  for e in "${ENGINES[@]}"; do
    rm -f "$DIR/backup/b.tar.gz"
    s=$(now_us)
    dk "${SOCK[$e]}" run --rm -v bench_ct_bk:/source:ro -v "$DIR/backup:/backup" "$IMG" tar czf /backup/b.tar.gz -C /source .
    BK[$e]+="$(ms_since "$s") "
    dk "${SOCK[$e]}" volume create bench_ct_rs >/dev/null
    s=$(now_us)
    dk "${SOCK[$e]}" run --rm -v bench_ct_rs:/target -v "$DIR/backup:/backup" "$IMG" tar xzf /backup/b.tar.gz -C /target
    RS[$e]+="$(ms_since "$s") "
    dk "${SOCK[$e]}" volume rm bench_ct_rs >/dev/null
  done
done
for e in "${ENGINES[@]}"; do
  # shellcheck disable=SC2086
  R[$e,guide_backup_ms]=$(median ${BK[$e]})
  # shellcheck disable=SC2086
  R[$e,guide_restore_ms]=$(median ${RS[$e]})
  dk "${SOCK[$e]}" volume rm bench_ct_bk >/dev/null
done
s=$(now_us)
tar czf "$DIR/host.tar.gz" -C "$DIR/bkdata" .
HOST_TGZ=$(ms_since "$s")
rm -f "$DIR/host.tar.gz"

# ---- report
{
  echo "# bench/containers.sh $STAMP host=$(hostname) kernel=$(uname -r) cpus=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# strata: $("$STRATAD" --version 2>/dev/null) storage=$(dk "${SOCK[strata]}" info --format '{{.Driver}}')"
  if [ -n "${SOCK[docker]:-}" ]; then
    echo "# docker: $(dk "${SOCK[docker]}" version --format '{{.Server.Version}}') storage=$(dk "${SOCK[docker]}" info --format '{{.Driver}}'), containers listed at 100: ${R[docker,containers_listed]}"
  fi
  echo "# N_RUN=$N_RUN N_CYCLE=$N_CYCLE N_CT=$N_CT VOL_MB=$VOL_MB VOL_REPS=$VOL_REPS IO_MB=$IO_MB"
  printf '%-20s %10s %10s %14s  %s\n' metric strata docker strata/docker better
  for m in run_rm_p50_ms:lower run_rm_p95_ms:lower run_d_rm_per_s:higher start_100_per_s:higher \
    ps_a_cli_ms:lower ps_a_api_ms:lower rm_100_per_s:higher daemon_rss_idle_mb:lower \
    daemon_rss_100_mb:lower engine_rss_100_mb:lower volume_write_mb_s:higher volume_dd_mb_s:higher guide_backup_ms:lower guide_restore_ms:lower \
    io_layer_mb_s:higher io_volume_mb_s:higher io_bind_mb_s:higher io_tmpfs_mb_s:higher; do
    name=${m%%:*}
    sv=${R[strata,$name]:-NA}
    dv=${R[docker,$name]:-NA}
    ratio=$(awk -v a="$sv" -v b="$dv" 'BEGIN{ if (a == "NA" || b == "NA" || b + 0 == 0) print "NA"; else printf "%.2f\n", a / b }')
    printf '%-20s %10s %10s %14s  %s\n' "$name" "$sv" "$dv" "$ratio" "${m#*:}"
  done
  printf '%-20s %10s %10s %14s  %s\n' host_dd_mb_s "$HOST_DD" "$HOST_DD" "" "(host, VOL_MB: ceiling of volume_*)"
  printf '%-20s %10s %10s %14s  %s\n' host_tar_czf_ms "$HOST_TGZ" "$HOST_TGZ" "" "(host tar czf of the same data)"
  printf '%-20s %10s %10s %14s  %s\n' host_io_mb_s "$HOST_IO" "$HOST_IO" "" "(host, IO_MB: ceiling of io_*)"
} | tee "$OUT"
bench/chart.sh "$OUT" >/dev/null
log "written to $OUT and ${OUT%.txt}.svg"
