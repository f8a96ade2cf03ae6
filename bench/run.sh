#!/usr/bin/env bash
# bench/run.sh - the benchmark suite: strata against Docker, side by side, in one command.
#
#   sudo bench/run.sh
#
# It builds the release binaries if needed (cargo decides), makes a scratch filesystem, starts a
# private stratad and its own private dockerd (never the shared one, unless REF= is given), loads
# the same busybox image (Debian's static busybox, no registry) into both, and runs each workload
# through the stock docker CLI and, for the small operations, the API with curl --unix-socket,
# alternating the engines sample by sample (or section by section where a section builds state),
# so the drift of this shared machine favours neither. It prints a table of medians with the
# strata/Docker ratio, writes it to bench/results/<stamp>-suite.txt with an SVG chart of the
# ratios (<stamp>-suite.svg, by bench/chart.sh), and removes everything it made (daemons,
# containers, mounts, directories) on success, failure or Ctrl-C.
#
# Sections (SECTIONS= to choose, in this order):
#   host        physical references: tar -x of the image tar (+ syncfs), sha256sum, (dd conv=fsync
#               and tar | zstd -T0 are taken in `io` and `backup`, next to what they anchor)
#   run         `docker run --rm IMG true` latency, p50 and p95
#   io          dd conv=fsync of IO_MB inside a container to its writable layer, a named volume,
#               a bind mount and a tmpfs; the same dd on the host, same filesystem
#   containers  N_CT running containers: `run -d` rate, daemon and engine RSS idle and loaded,
#               `ps -a` (CLI and API), `rm -f` of all of them
#   df          `system df` (-v, API) with DF_CT containers and 4*DF_CT volumes holding files
#   commit      `docker commit` and `docker diff` of COMMIT_FILES files of COMMIT_KB KiB
#   image       import, save, load of an IMG_MB rootfs tar of mixed file sizes (MB/s), rmi
#   backup      the guide's `run --rm … tar czf` / `tar xzf` on both engines, `strata volume
#               backup` / `restore`, the host's tar czf, tar | zstd -T0 and zstd -dc | tar x
#   volumes     volume create/inspect/ls/rm/prune (CLI and API) at each of VOL_LEVELS existing
#               volumes, the API create rate in between, RSS, restart-to-ready (`docker version`
#               answers) and until all volumes list, prune of them all
#
# Knobs (defaults: a full run in 5.5-7 minutes on a 2-core VM under load):
#   N_RUN=20 N_CT=100 DF_CT=50 DF_FILES=10 COMMIT_REPS=3 COMMIT_FILES=1000 COMMIT_KB=100
#   IMG_MB=160 IMG_REPS=3 IO_MB=256 IO_REPS=3 BK_MB=128 BK_REPS=3 REPS=7 (small read-only ops)
#   VOL_LEVELS="0 1000 5000" VOL_REPS=5 VOL_PAR=4 PRUNE_N=10 RESTART_REPS=3
#   SECTIONS="host run io containers df commit image backup volumes"
#   SKIP_DOCKER=1             strata only
#   REF=unix:///run/ref-docker.sock [REF_PID=/run/ref-docker.pid REF_EXEC=/run/ref-docker]
#                             use that running Docker instead of starting one (its restart is
#                             then not measured; everything made there is named bsuite_* and
#                             removed, prunes are label-filtered)
#   BENCH_FS=loop|dir         loop (default): a fresh journaled ext4 of FS_GB (8; a default run
#                             peaks near 2.5 GB) in a file allocated under BENCH_DIR, on a loop device
#                             with direct I/O, holds both data-roots and every work file; dir: plain
#                             directories under BENCH_DIR (on this VM: ext4 without a journal, where
#                             creating files is several times slower for minutes after mass
#                             deletions, which makes section order matter)
#   BENCH_DIR=/var/tmp/strata-bench  NO_BUILD=1  STRATAD=… STRATA=… DOCKER=… OUT_DIR=bench/results
#   CMD_TIMEOUT=300 (seconds, any one command)
set -u -o pipefail
export LC_ALL=C
umask 022
cd "$(dirname "$0")/.." || exit 1
REPO=$PWD
T_START=$EPOCHREALTIME

N_RUN=${N_RUN:-20}
N_CT=${N_CT:-100}
DF_CT=${DF_CT:-50}
DF_FILES=${DF_FILES:-10}
COMMIT_REPS=${COMMIT_REPS:-3}
COMMIT_FILES=${COMMIT_FILES:-1000}
COMMIT_KB=${COMMIT_KB:-100}
IMG_MB=${IMG_MB:-160}
IMG_REPS=${IMG_REPS:-3}
IO_MB=${IO_MB:-256}
IO_REPS=${IO_REPS:-3}
BK_MB=${BK_MB:-128}
BK_REPS=${BK_REPS:-3}
REPS=${REPS:-7}
VOL_LEVELS=${VOL_LEVELS:-"0 1000 5000"}
VOL_REPS=${VOL_REPS:-5}
VOL_PAR=${VOL_PAR:-4}
PRUNE_N=${PRUNE_N:-10}
RESTART_REPS=${RESTART_REPS:-3}
SECTIONS=${SECTIONS:-"host run io containers df commit image backup volumes"}
CMD_TIMEOUT=${CMD_TIMEOUT:-300}
BENCH_FS=${BENCH_FS:-loop}
FS_GB=${FS_GB:-8}
BENCH_DIR=${BENCH_DIR:-/var/tmp/strata-bench}
OUT_DIR=${OUT_DIR:-bench/results}
STRATAD=${STRATAD:-$REPO/target/release/stratad}
STRATA=${STRATA:-$REPO/target/release/strata}
DOCKER=${DOCKER:-/usr/local/bin/docker}
[ -x "$DOCKER" ] || DOCKER=$(command -v docker || echo docker)
REF=${REF:-}
SKIP_DOCKER=${SKIP_DOCKER:-0}

# Fixed places: sockets and exec-roots on /run (short paths), one lock for the whole suite.
LOCK=/run/strata-bench.lock
S_SOCK=/run/strata-bench.sock
S_PIDF=/run/strata-bench.pid
S_EXEC=/run/strata-bench
D_SOCK=/run/strata-bench-docker.sock
D_PIDF=/run/strata-bench-docker.pid
D_EXEC=/run/strata-bench-docker
FS=$BENCH_DIR/fs
W=$FS/work
IMG=bsuite_bb:latest
P=bsuite_ # every object the suite makes is named so

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$OUT_DIR/$STAMP-suite.txt
SVG=$OUT_DIR/$STAMP-suite.svg

log() { printf '[suite %(%T)T %5ss] %s\n' -1 "$(elapsed_s)" "$*" >&2; }
elapsed_s() { local n=${EPOCHREALTIME/./} s=${T_START/./}; echo $(((n - s) / 1000000)); }
die() { log "error: $*"; exit 1; }
want() { [[ " $SECTIONS " == *" $1 "* ]]; }

case $BENCH_DIR in /?*/?*) ;; *) die "BENCH_DIR must be an absolute path two levels deep at least: it is removed at the end" ;; esac
[ "$(id -u)" -eq 0 ] || die "run as root (sudo bench/run.sh): the suite mounts filesystems and starts daemons"
for tool in curl jq awk tar zstd sha256sum busybox findmnt; do
  command -v "$tool" >/dev/null || die "missing $tool (apt-get install curl jq zstd busybox-static util-linux)"
done
[ "$BENCH_FS" = loop ] && { command -v mkfs.ext4 >/dev/null || die "missing mkfs.ext4 (e2fsprogs), or BENCH_FS=dir"; }
BUSYBOX=$(command -v busybox)
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' || log "warning: $BUSYBOX may not be static (apt-get install busybox-static)"

# ---- engines
ENG=(strata)
declare -A SOCK PIDF EXEC_ROOT
SOCK[strata]=$S_SOCK PIDF[strata]=$S_PIDF EXEC_ROOT[strata]=$S_EXEC
OWN_DOCKER=0
if [ "$SKIP_DOCKER" != 1 ]; then
  ENG+=(docker)
  if [ -n "$REF" ]; then
    SOCK[docker]=${REF#unix://}
    PIDF[docker]=${REF_PID:-/run/ref-docker.pid}
    EXEC_ROOT[docker]=${REF_EXEC:-/run/ref-docker}
  else
    OWN_DOCKER=1
    SOCK[docker]=$D_SOCK PIDF[docker]=$D_PIDF EXEC_ROOT[docker]=$D_EXEC
    if ! command -v dockerd >/dev/null; then
      [ "${NO_INSTALL:-0}" = 1 ] && die "dockerd is not installed: apt-get install docker.io, or SKIP_DOCKER=1"
      log "dockerd is not installed: apt-get install docker.io"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >&2 || die "could not install docker.io; run with SKIP_DOCKER=1"
    fi
    [ -S /run/containerd/containerd.sock ] &&
      log "note: /run/containerd/containerd.sock exists, so dockerd will use that containerd rather than start its own"
  fi
fi

# order K: the engines, starting with a different one for odd K (ABBA over consecutive samples)
order() { if [ "${#ENG[@]}" -eq 1 ] || (($1 % 2 == 0)); then echo "${ENG[@]}"; else echo "${ENG[1]} ${ENG[0]}"; fi; }

exec 9>"$LOCK"
flock -n 9 || die "another bench/run.sh holds $LOCK"

if [ "${NO_BUILD:-0}" != 1 ]; then
  log "cargo build --release --bins (does nothing when up to date)"
  cargo build --release --bins >&2 || die "the build failed"
fi
if [ ! -x "$STRATAD" ] || [ ! -x "$STRATA" ]; then die "no $STRATAD or $STRATA"; fi

# ---- results: samples, values, errors
declare -A SMP VAL
ERRS=$BENCH_DIR/errors.txt
NERR=0
add() { SMP[$1|$2]+="$3 "; }                # KEY ENGINE VALUE (ENGINE: strata, docker, host)
setv() { VAL[$1|$2]=$3; }
# fail WHAT RC OUTPUT_FILE: keep the failing command and its output for the report
fail() {
  NERR=$((NERR + 1))
  {
    echo "- \`$1\` exited $2:"
    sed -e 's/^/      /' "$3" 2>/dev/null | head -n 15
  } >>"$ERRS"
  log "FAILED ($2): $1"
}
# note TEXT: a wrong result (not a failing command)
note_err() { NERR=$((NERR + 1)); echo "- $*" >>"$ERRS"; log "WRONG: $*"; }

us_now() { local t=$EPOCHREALTIME; echo "${t/./}"; }
us2ms() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
# t_ms CMD…: run CMD (output kept in $W/last.out), set T to its wall time in ms; the exit status
# is CMD's, and a failure is recorded. Runs in the current shell (a daemon may be started here).
T=0
t_ms() {
  local s e rc
  s=$EPOCHREALTIME
  "$@" >"$W/last.out" 2>&1
  rc=$?
  e=$EPOCHREALTIME
  T=$(us2ms $((${e/./} - ${s/./})))
  [ "$rc" -eq 0 ] || fail "$*" "$rc" "$W/last.out"
  return "$rc"
}
# MB/s (10^6 bytes) of BYTES in MS milliseconds
mbs() { awk -v b="$1" -v ms="$2" 'BEGIN { if (ms <= 0) print "NA"; else printf "%.1f\n", b / 1e6 / (ms / 1000) }'; }
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { if (ms <= 0) print "NA"; else printf "%.2f\n", n / (ms / 1000) }'; }
median() { printf '%s\n' "$@" | awk 'NF' | sort -g | awk '{a[NR]=$1} END{if (NR==0) {print "NA"; exit} v = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.4f\n", v}'; }
pct() { local p=$1; shift; printf '%s\n' "$@" | awk 'NF' | sort -g | awk -v p="$p" '{a[NR]=$1} END{if (NR==0) {print "NA"; exit} i=int(p/100*NR+0.999999); if (i<1) i=1; printf "%.4f\n", a[i]}'; }

dk() { local e=$1; shift; timeout "$CMD_TIMEOUT" "$DOCKER" -H "unix://${SOCK[$e]}" "$@"; }
# api ENGINE METHOD PATH [JSON]: print the request's time in ms; fails (and records) on a non-2xx
api() {
  local e=$1 m=$2 path=$3 body=${4:-} out code t
  local args=(-s --unix-socket "${SOCK[$e]}" -X "$m" -o "$W/api.out" -w '%{http_code} %{time_total}')
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' -d "$body")
  out=$(timeout "$CMD_TIMEOUT" curl "${args[@]}" "http://localhost$path") || true
  read -r code t <<<"$out"
  if [[ "${code:-0}" != 2* ]]; then fail "curl -X $m ${SOCK[$e]} $path" "HTTP ${code:-none}" "$W/api.out"; return 1; fi
  awk -v t="$t" 'BEGIN { printf "%.2f\n", t * 1000 }'
}
rss_mb() { awk '/^VmRSS/ { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo NA; }
pid_of() { [ -f "${PIDF[$1]}" ] && tr -dc 0-9 <"${PIDF[$1]}"; }
# What the engine keeps in memory: stratad alone; dockerd + its containerd + the shims (both carry
# the exec-root in their command line). The containers' own processes are not counted.
engine_rss_mb() {
  local pid; pid=$(pid_of "$1")
  [ -n "$pid" ] || { echo NA; return; }
  if [ "$1" = strata ]; then rss_mb "$pid"; return; fi
  ps -eo pid=,rss=,args= | awk -v d="$pid" -v ex="${EXEC_ROOT[docker]}/" '
    $1 == d { t += $2; next }
    index($0, ex) && $3 ~ /containerd/ { t += $2 }
    END { printf "%.1f\n", t / 1024 }'
}

# ---- daemons
# Both daemons start from a subshell: they are not jobs of this shell, so `wait` never waits for them.
start_strata() {
  (nohup "$STRATAD" --config-file "$BENCH_DIR/stratad.json" --data-root "$FS/strata" --exec-root "$S_EXEC" \
    -H "unix://$S_SOCK" --pidfile "$S_PIDF" --log-level warn >>"$BENCH_DIR/stratad.log" 2>&1 </dev/null &)
}
start_docker() {
  (nohup dockerd --config-file "$BENCH_DIR/dockerd.json" --host "unix://$D_SOCK" --data-root "$FS/docker" \
    --exec-root "$D_EXEC" --pidfile "$D_PIDF" --iptables=false --ip-masq=false --bridge=none \
    --log-level warn >>"$BENCH_DIR/dockerd.log" 2>&1 </dev/null &)
}
start_engine() { if [ "$1" = strata ]; then start_strata; else start_docker; fi; }
# wait_ready ENGINE: until `docker version` answers (curl polls /_ping first, every 5 ms)
wait_ready() {
  local e=$1 i
  for ((i = 0; i < 12000; i++)); do
    curl -sf --unix-socket "${SOCK[$e]}" -o /dev/null http://localhost/_ping 2>/dev/null && break
    sleep 0.005
  done
  for ((i = 0; i < 100; i++)); do
    dk "$e" version >/dev/null 2>&1 && return 0
    sleep 0.01
  done
  return 1
}
descendants() { local c; for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done; }
# stop_engine ENGINE: SIGTERM, wait for the daemon and its children (dockerd's containerd) to exit
stop_engine() {
  local pid kids p i
  pid=$(pid_of "$1")
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 0
  kids=$(descendants "$pid")
  kill -TERM "$pid" 2>/dev/null
  for p in $pid $kids; do
    for ((i = 0; i < 6000; i++)); do [ -d "/proc/$p" ] || break; sleep 0.005; done
    [ -d "/proc/$p" ] && kill -KILL "$p" 2>/dev/null
  done
  for ((i = 0; i < 200; i++)); do [ -S "${SOCK[$1]}" ] || break; sleep 0.005; done
  return 0
}

# ---- clean-up (also of a run that died: we hold the lock, so nothing here is in use)
ours() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qE "$S_SOCK|$D_SOCK"; }
teardown() {
  local e names pid m
  for e in "${ENG[@]}"; do
    [ -S "${SOCK[$e]}" ] || continue
    names=$(dk "$e" ps -aq --filter "name=$P" 2>/dev/null)
    # shellcheck disable=SC2086 # one name per word
    [ -z "$names" ] || dk "$e" rm -f $names >/dev/null 2>&1
    names=$(dk "$e" volume ls -q --filter "name=$P" 2>/dev/null)
    [ -z "$names" ] || xargs -r -n 500 timeout "$CMD_TIMEOUT" "$DOCKER" -H "unix://${SOCK[$e]}" volume rm -f <<<"$names" >/dev/null 2>&1
    names=$(dk "$e" images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep "^$P")
    # shellcheck disable=SC2086
    [ -z "$names" ] || dk "$e" rmi -f $names >/dev/null 2>&1
  done
  for e in strata docker; do
    [ "$e" = docker ] && [ "$OWN_DOCKER" != 1 ] && continue
    [ -n "${PIDF[$e]:-}" ] || continue
    pid=$(pid_of "$e")
    if [ -n "$pid" ] && ours "$pid"; then stop_engine "$e"; fi
  done
  # Never rm -rf through a mount: detach whatever the engines left (deepest first), then the fs.
  for m in $(findmnt -rn -o TARGET | grep -E "^($BENCH_DIR|$S_EXEC|$D_EXEC)(/|$)" | sort -r); do
    umount -l "$m" 2>/dev/null
  done
  if findmnt -rn -o TARGET | grep -qE "^($BENCH_DIR|$S_EXEC|$D_EXEC)(/|$)"; then
    log "mounts remain under $BENCH_DIR; left in place"
    return 1
  fi
  if [ -f "$BENCH_DIR/fs.img" ]; then
    for m in $(losetup -j "$BENCH_DIR/fs.img" -O NAME -n 2>/dev/null); do losetup -d "$m"; done
  fi
  rm -rf "$BENCH_DIR" "$S_EXEC" "$S_SOCK" "$S_PIDF"
  [ "$OWN_DOCKER" = 1 ] && rm -rf "$D_EXEC" "$D_SOCK" "$D_PIDF"
  return 0
}
REPORTED=0
# The script's own stdout and stderr, for on_exit: a signal's trap may run inside a function whose
# output t_ms sends to a file.
exec 3>&1 4>&2
on_exit() {
  local rc=$?
  trap - EXIT INT TERM HUP
  exec 1>&3 2>&4
  if [ "$REPORTED" = 0 ] && [ -n "${SMP[*]:-}" ]; then
    log "interrupted: writing what was measured"
    INCOMPLETE=1 report >/dev/null && log "partial results: $OUT and $SVG"
  fi
  log "cleaning up"
  teardown
  exit "$rc"
}

# ---- the report (defined before any section runs: an interrupted run writes what it has)
# The rows: KEY|BETTER|LABEL, or "#TITLE" for a section (a | in a LABEL is written \| for markdown). BETTER is lower/higher, or "host" for a
# physical reference measured on the host alone.
rows() {
  local n
  echo "#Containers"
  echo "run_p50|lower|\`docker run --rm busybox true\`, p50 of $N_RUN (ms)"
  echo "run_p95|lower|\`docker run --rm busybox true\`, p95 of $N_RUN (ms)"
  echo "start_rate|higher|\`docker run -d\` of $N_CT containers that keep running (containers/s)"
  echo "ps_cli|lower|\`docker ps -a\` with $N_CT running (ms)"
  echo "ps_api|lower|\`GET /containers/json?all=1\` with $N_CT running (ms)"
  echo "rm_rate|higher|\`docker rm -f\` of the $N_CT in one command (containers/s)"
  echo "#Memory"
  echo "rss_idle|lower|daemon RSS, idle (MB)"
  echo "rss_loaded|lower|daemon RSS, $N_CT running containers (MB)"
  echo "engine_rss_idle|lower|engine RSS¹, idle (MB)"
  echo "engine_rss_loaded|lower|engine RSS¹, $N_CT running containers (MB)"
  echo "rss_vols|lower|daemon RSS, ${VOL_LEVELS##* } volumes (MB)"
  echo "#Volumes"
  for n in $VOL_LEVELS; do
    [ "$n" -gt 0 ] && echo "vol_bulk_$n|higher|API volume create, $VOL_PAR keep-alive clients, up to $n (volumes/s)"
    echo "vol_create_cli_$n|lower|\`docker volume create\`, $n present (ms)"
    echo "vol_inspect_cli_$n|lower|\`docker volume inspect\`, $n present (ms)"
    echo "vol_ls_cli_$n|lower|\`docker volume ls\`, $n present (ms)"
    echo "vol_rm_cli_$n|lower|\`docker volume rm\`, $n present (ms)"
    echo "vol_prune_cli_$n|lower|\`docker volume prune\` of $PRUNE_N (label filter), $n present (ms)"
    echo "vol_create_api_$n|lower|\`POST /volumes/create\`, $n present (ms)"
    echo "vol_inspect_api_$n|lower|\`GET /volumes/NAME\`, $n present (ms)"
    echo "vol_ls_api_$n|lower|\`GET /volumes\`, $n present (ms)"
    echo "vol_rm_api_$n|lower|\`DELETE /volumes/NAME\`, $n present (ms)"
    echo "vol_prune_api_$n|lower|\`POST /volumes/prune\` of $PRUNE_N (label filter), $n present (ms)"
  done
  n=${VOL_LEVELS##* }
  echo "restart_ready|lower|restart with $n volumes: start until \`docker version\` answers (ms)"
  echo "restart_first|lower|the first of those restarts, after all the containers this run made (ms)"
  echo "restart_listed|lower|restart with $n volumes: start until \`GET /volumes\` lists all (ms)"
  echo "vol_prune_all|lower|\`docker volume prune\` of the $n (s)"
  echo "#Disk usage: $DF_CT containers, $((DF_CT * 4)) volumes with $((DF_FILES + 1)) files each"
  echo "df_cold|lower|first \`docker system df\` (ms)"
  echo "df_cli|lower|\`docker system df\` (ms)"
  echo "dfv_cli|lower|\`docker system df -v\` (ms)"
  echo "df_api|lower|\`GET /system/df\` (ms)"
  echo "ps_size_api|lower|\`GET /containers/json?all=1&size=1\` (ms)"
  echo "#Layers: $COMMIT_FILES files of $COMMIT_KB KiB written in a container"
  echo "layer_write|lower|\`docker run\` writing them (s)"
  echo "commit|lower|\`docker commit\` (ms)"
  echo "diff_cli|lower|\`docker diff\` (ms)"
  echo "diff_api|lower|\`GET /containers/ID/changes\` (ms)"
  echo "#Images: a ${IMG_MB} MiB rootfs tar, $IMG_FILES files"
  echo "img_import|higher|\`docker import\` (MB/s)"
  echo "img_save|higher|\`docker save -o\` (MB/s)"
  echo "img_load|higher|\`docker load -i\` (MB/s)"
  echo "img_rmi|lower|\`docker rmi\` of the imported image (ms)"
  echo "#Writes: dd ${IO_MB} MiB conv=fsync inside a container; host column: the same dd on the host"
  echo "io_layer|higher|to the container's writable layer (MB/s)"
  echo "io_volume|higher|to a named volume (MB/s)"
  echo "io_bind|higher|to a bind mount (MB/s)"
  echo "io_tmpfs|higher|to a tmpfs (MB/s)"
  echo "#Backup and restore: ${BK_MB} MiB in ${BK_ENTRIES:-NA} entries (times include a sync)"
  echo "guide_backup|lower|the guide's backup, \`run --rm … tar czf\` (s)"
  echo "guide_restore|lower|the guide's restore, \`run --rm … tar xzf\` into a new volume (s)"
  echo "size_guide|lower|the guide's .tar.gz (MB)"
  echo "native_backup|lower|\`strata volume backup\` (strata) vs the guide's backup on Docker (s)"
  echo "native_restore|lower|\`strata volume restore\` (strata) vs the guide's restore on Docker (s)"
  echo "size_native|lower|strata's .tar.zst vs the guide's .tar.gz on Docker (MB)"
  echo "#Physical references: the host alone, same filesystem"
  echo "host_tar_x|host|\`tar -x\` of the image tar (MB/s)"
  echo "host_tar_x_sync|host|\`tar -x\` of the image tar, then syncfs (MB/s)"
  echo "host_sha256|host|\`sha256sum\` of the image tar (MB/s)"
  echo "io_host|host|\`dd bs=1M count=$IO_MB conv=fsync\` (MB/s)"
  echo "host_zstd|host|\`tar -c \\| zstd -T0 -3\` of the backup data, synced (s)"
  echo "host_zstd_size|host|its .tar.zst (MB)"
  echo "host_unzstd|host|\`zstd -dc \\| tar -x\` of it, synced (s)"
  echo "host_gzip|host|\`tar czf\` of the backup data (s)"
}
# where a row takes its Docker or host column from another key
declare -A DOCKER_FROM=([native_backup]=guide_backup [native_restore]=guide_restore [size_native]=size_guide)
declare -A HOST_FROM=([io_layer]=io_host [io_volume]=io_host [io_bind]=io_host [img_import]=host_tar_x_sync [img_load]=host_tar_x_sync
  [native_backup]=host_zstd [native_restore]=host_unzstd [size_native]=host_zstd_size [guide_backup]=host_gzip)
value() { # KEY ENGINE: the value set, else the median of the samples; 3 significant figures
  local v=${VAL[$1|$2]:-}
  # shellcheck disable=SC2086
  [ -n "$v" ] || v=$(median ${SMP[$1|$2]:-})
  awk -v v="$v" 'BEGIN { if (v == "NA" || v == "") { print "NA"; exit }
    a = (v < 0) ? -v : v
    if (a >= 100) printf "%.0f\n", v; else if (a >= 10) printf "%.1f\n", v; else if (a >= 1) printf "%.2f\n", v; else printf "%.3f\n", v }'
}
report() {
  local line key better label sv dv hv ratio pending=""
  LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
  {
    echo "# bench/run.sh ${STAMP}${INCOMPLETE:+ — INCOMPLETE (interrupted)}: strata against ${D_COL}, medians"
    echo "# machine: $(hostname), $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r), $(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release 2>/dev/null)"
    echo "# load average: $LOAD_START at the start, $LOAD_END at the end; run took $(elapsed_s) s"
    echo "# work and data-roots on $FS_DESC"
    echo "# strata: $S_VERSION, storage $(dk strata info --format '{{.Driver}}' 2>/dev/null)"
    if [[ " ${ENG[*]} " == *" docker "* ]]; then
      echo "# docker: dockerd $D_VERSION (API ${APIV[docker]:-?}) $([ "$OWN_DOCKER" = 1 ] && echo "private, started by the suite" || echo "at $REF"), storage $(dk docker info --format '{{.Driver}}' 2>/dev/null); CLI $("$DOCKER" --version | cut -d, -f1)"
    fi
    echo "# sizes: N_RUN=$N_RUN N_CT=$N_CT DF_CT=$DF_CT DF_FILES=$DF_FILES COMMIT_REPS=$COMMIT_REPS COMMIT_FILES=$COMMIT_FILES COMMIT_KB=$COMMIT_KB"
    echo "#        IMG_MB=$IMG_MB IMG_REPS=$IMG_REPS IO_MB=$IO_MB IO_REPS=$IO_REPS BK_MB=$BK_MB BK_REPS=$BK_REPS REPS=$REPS"
    echo "#        VOL_LEVELS=\"$VOL_LEVELS\" VOL_REPS=$VOL_REPS VOL_PAR=$VOL_PAR PRUNE_N=$PRUNE_N RESTART_REPS=$RESTART_REPS"
    echo "# ratio = strata / Docker; \"better\" says which way is better; MB = 10^6 bytes"
    echo
    echo "| metric | strata | $D_COL | strata/Docker | better | host |"
    echo "|---|---:|---:|---:|---|---:|"
    while IFS= read -r line; do
      if [[ $line == \#* ]]; then pending="| **${line#\#}** | | | | | |"; continue; fi
      IFS='|' read -r key better label <<<"$line"
      if [ "$better" = host ]; then
        sv=""; dv=""; ratio=""; hv=$(value "$key" host)
        [ "$hv" = NA ] && continue
        better="—"
      else
        sv=$(value "$key" strata)
        dv=$(value "${DOCKER_FROM[$key]:-$key}" docker)
        hv=""
        [ -n "${HOST_FROM[$key]:-}" ] && hv=$(value "${HOST_FROM[$key]}" host)
        [ "$hv" = NA ] && hv=""
        [ "$sv" = NA ] && [ "$dv" = NA ] && continue
        ratio=$(awk -v a="$sv" -v b="$dv" 'BEGIN { if (a == "NA" || b == "NA" || b + 0 == 0) { print "NA"; exit }
          r = a / b; if (r < 0.1) printf "%.3f\n", r; else printf "%.2f\n", r }')
      fi
      [ -n "$pending" ] && { echo "$pending"; pending=""; }
      echo "| $label | $sv | $dv | $ratio | $better | $hv |"
    done < <(rows)
    echo
    echo "¹ engine RSS: stratad alone (no shim, no containerd: it is the containers' subreaper); dockerd +"
    echo "  containerd + one containerd-shim-runc-v2 per running container. Their own processes are not counted."
    sv=$(value native_backup strata)
    if [ "$sv" != NA ]; then
      awk -v n="$sv" -v gs="$(value guide_backup strata)" -v gd="$(value guide_backup docker)" \
        -v rn="$(value native_restore strata)" -v rs="$(value guide_restore strata)" -v rd="$(value guide_restore docker)" '
        function x(a, b) { return (a == "NA" || b == "NA" || a + 0 == 0) ? "NA" : sprintf("%.1fx", b / a) }
        BEGIN {
          printf "\n`strata volume backup` is %s as fast as the guide'"'"'s method on strata, %s as fast as on Docker;\n", x(n, gs), x(n, gd)
          printf "`strata volume restore` is %s as fast as the guide'"'"'s restore on strata, %s as fast as on Docker.\n", x(rn, rs), x(rn, rd)
        }'
    fi
    echo
    if [ -s "$ERRS" ]; then
      echo "## Failures and wrong results ($(grep -c '^- ' "$ERRS"))"
      echo
      cat "$ERRS"
      echo
    fi
    echo "## Samples (ms unless the metric says otherwise)"
    echo
    for key in "${!SMP[@]}"; do echo "    ${key/|/ } ${SMP[$key]}"; done | sort
  } >"$OUT"
  REPORTED=1
  bench/chart.sh "$OUT" "$SVG" >/dev/null
}


teardown || die "could not clean up an earlier run under $BENCH_DIR"
trap on_exit EXIT
trap 'exit 130' INT TERM HUP

# ---- scratch filesystem
mkdir -p "$BENCH_DIR" "$OUT_DIR"
: >"$ERRS"
if [ "$BENCH_FS" = loop ]; then
  # the image is allocated in full: leave 4 GB to the other users of the disk
  avail=$(df -Pk "$BENCH_DIR" | awk 'NR == 2 { print int($4 / 1048576) }')
  [ "$avail" -ge $((FS_GB + 4)) ] || die "only ${avail} GB free under $BENCH_DIR: FS_GB=$FS_GB needs $((FS_GB + 4)) (a default run peaks near 2.5 GB)"
  # allocated up front (no block of the image is allocated on the host while an engine writes),
  # inode tables and journal written by mkfs (no lazy-init thread writes during the run)
  fallocate -l "${FS_GB}G" "$BENCH_DIR/fs.img" 2>/dev/null || truncate -s "${FS_GB}G" "$BENCH_DIR/fs.img"
  mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$BENCH_DIR/fs.img" || die "mkfs.ext4 failed"
  # direct I/O: the image's data is not cached twice (once per filesystem)
  dio="direct I/O"
  dev=$(losetup --find --show --direct-io=on --sector-size 4096 "$BENCH_DIR/fs.img" 2>/dev/null) ||
    { dev=$(losetup --find --show "$BENCH_DIR/fs.img") && dio="buffered"; } || die "no loop device (BENCH_FS=dir avoids it)"
  mkdir -p "$FS"
  mount "$dev" "$FS" || die "cannot mount $dev"
  FS_DESC="a fresh ext4 with a journal, ${FS_GB} GB on $dev ($dio) backed by a file on the host's $(findmnt -n -o FSTYPE -T "$BENCH_DIR"), at $FS"
else
  mkdir -p "$FS"
  FS_DESC="directories under $BENCH_DIR ($(findmnt -n -o FSTYPE -T "$FS"), $(findmnt -n -o SOURCE -T "$FS"))"
fi
mkdir -p "$W"

# ---- the daemons
echo '{}' >"$BENCH_DIR/stratad.json"
echo '{}' >"$BENCH_DIR/dockerd.json"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "starting stratad$([ "$OWN_DOCKER" = 1 ] && echo " and dockerd") (work on $FS)"
start_strata
[ "$OWN_DOCKER" = 1 ] && start_docker
wait_ready strata || { tail -n 20 "$BENCH_DIR/stratad.log" >&2; die "stratad did not start"; }
if [[ " ${ENG[*]} " == *" docker "* ]]; then
  wait_ready docker || { tail -n 20 "$BENCH_DIR/dockerd.log" >&2; die "no Docker at ${SOCK[docker]}"; }
fi
declare -A PRUNE_ALL APIV
for e in "${ENG[@]}"; do
  APIV[$e]=$(dk "$e" version --format '{{.Server.APIVersion}}')
  # API >= 1.42 prunes only anonymous volumes unless --all
  PRUNE_ALL[$e]=""
  [ "$(printf '%s\n%s\n' 1.42 "${APIV[$e]}" | sort -V | head -n 1)" = 1.42 ] && PRUNE_ALL[$e]=--all
done
S_VERSION="$("$STRATAD" --version 2>/dev/null) at $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)$(git -C "$REPO" diff --quiet HEAD -- crates Cargo.toml Cargo.lock 2>/dev/null || echo "+uncommitted changes")"
D_VERSION="(not run)"
[[ " ${ENG[*]} " == *" docker "* ]] && D_VERSION=$(dk docker version --format '{{.Server.Version}}')
D_COL="Docker ${D_VERSION}"

# ---- the image: Debian's static busybox with every applet
log "building the busybox image and loading it into ${ENG[*]}"
R=$W/bbroot
mkdir -p "$R/bin" "$R/etc" "$R/tmp" "$R/root"
cp "$BUSYBOX" "$R/bin/busybox"
for a in $("$BUSYBOX" --list); do [ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\n' >"$R/etc/group"
chmod 1777 "$R/tmp"
tar --numeric-owner -C "$R" -cf "$W/bb.tar" .
for e in "${ENG[@]}"; do
  dk "$e" import -c 'CMD ["/bin/sh"]' "$W/bb.tar" "$IMG" >/dev/null || die "$e: import of the busybox image failed"
  dk "$e" run --rm "$IMG" true || die "$e: the first run failed" # warm-up: first-use caches
done
# a clock with microseconds inside the containers (busybox adjtimex), else /proc/uptime (10 ms)
# shellcheck disable=SC2016 # run by the container's shell
CLOCK='busybox adjtimex 2>/dev/null | awk '\''/tv_sec/ {s=$2} /tv_usec/ {u=$2} END {printf "%d%06d\n", s, u}'\'''
if ! dk strata run --rm "$IMG" sh -c "$CLOCK" | grep -qE '^[1-9][0-9]{12,}$'; then
  # shellcheck disable=SC2016
  CLOCK='awk '\''{ printf "%d\n", $1 * 1000000 }'\'' /proc/uptime'
  log "no adjtimex in the container: dd is timed with /proc/uptime (10 ms)"
fi
for e in "${ENG[@]}"; do
  setv rss_idle "$e" "$(rss_mb "$(pid_of "$e")")"
  setv engine_rss_idle "$e" "$(engine_rss_mb "$e")"
done

# ---- the input files (made once, the same bytes for both engines)
# IMG_MB MiB of random files: 40% in 32 MiB files, 20% 4 MiB, 20% 1 MiB, 10% 64 KiB, 10% 4 KiB
make_img_tar() {
  local r=$W/imgroot spec sz pct n
  [ -s "$W/img.tar" ] && return 0
  cp -a "$R" "$r"
  for spec in 32:40 4:20 1:20 0.0625:10 0.00390625:10; do
    sz=${spec%:*} pct=${spec#*:}
    n=$(awk -v m="$IMG_MB" -v s="$sz" -v p="$pct" 'BEGIN { n = int(m * p / 100 / s + 0.5); print (n < 1) ? 1 : n }')
    sz=$(awk -v s="$sz" 'BEGIN { printf "%d", s * 1048576 }')
    mkdir -p "$r/data/s$sz"
    head -c $((n * sz)) /dev/urandom | split -b "$sz" -a 5 - "$r/data/s$sz/f"
  done
  tar --numeric-owner -C "$r" -cf "$W/img.tar" .
  IMG_FILES=$(find "$r/data" -type f | wc -l)
  rm -rf "$r"
}
IMG_FILES=NA

SEC=0 # section counter: sections that cannot interleave samples alternate which engine goes first

# ======================================================================== host
if want host; then
  log "host: physical references (tar -x, sha256sum of a ${IMG_MB} MiB tar)"
  make_img_tar
  TARB=$(stat -c %s "$W/img.tar")
  for ((i = 0; i < IMG_REPS; i++)); do
    mkdir -p "$W/hx$i"
    sync -f "$W"
    s=$EPOCHREALTIME
    tar -C "$W/hx$i" -xf "$W/img.tar"
    e1=$EPOCHREALTIME
    sync -f "$W/hx$i"
    e2=$EPOCHREALTIME
    add host_tar_x host "$(mbs "$TARB" "$(us2ms $((${e1/./} - ${s/./})))")"
    add host_tar_x_sync host "$(mbs "$TARB" "$(us2ms $((${e2/./} - ${s/./})))")"
    t_ms sha256sum "$W/img.tar" && add host_sha256 host "$(mbs "$TARB" "$T")"
  done
  rm -rf "$W"/hx*
fi

# ======================================================================== run --rm
if want run; then
  log "run: docker run --rm $IMG true, $N_RUN samples each"
  for ((i = 0; i < N_RUN; i++)); do
    for e in $(order "$i"); do t_ms dk "$e" run --rm "$IMG" true && add run_p50 "$e" "$T"; done
  done
  for e in "${ENG[@]}"; do
    # shellcheck disable=SC2086 # the samples are space-separated on purpose
    setv run_p95 "$e" "$(pct 95 ${SMP[run_p50|$e]:-})"
  done
fi

# ======================================================================== io
if want io; then
  log "io: dd ${IO_MB} MiB conv=fsync to layer, volume, bind mount, tmpfs and the host; $IO_REPS samples"
  mkdir -p "$W/bind" "$W/hostio"
  for e in "${ENG[@]}"; do dk "$e" volume create "${P}io" >/dev/null; done
  # shellcheck disable=SC2016 # expanded by the container's shell
  iosh='now() { '"$CLOCK"'; }
  for t in /layer /volume /bind /tmpfs; do
    mkdir -p $t; sync; s=$(now)
    dd if=/dev/zero of=$t/f bs=1M count='"$IO_MB"' conv=fsync 2>/dev/null && echo "$t $s $(now)"
    rm -f $t/f
  done'
  bytes=$((IO_MB * 1048576))
  for ((i = 0; i < IO_REPS; i++)); do
    # the host's dd first in even samples, last in odd ones
    if ((i % 2 == 0)); then who="host $(order "$i")"; else who="$(order "$i") host"; fi
    for e in $who; do
      if [ "$e" = host ]; then
        sync -f "$W"
        t_ms "$BUSYBOX" dd if=/dev/zero of="$W/hostio/f" bs=1M count="$IO_MB" conv=fsync && add io_host host "$(mbs "$bytes" "$T")"
        rm -f "$W/hostio/f"
        continue
      fi
      out=$(dk "$e" run --rm -v "${P}io:/volume" -v "$W/bind:/bind" --tmpfs "/tmpfs:size=$((IO_MB + 64))m" "$IMG" sh -c "$iosh" 2>&1)
      for t in layer volume bind tmpfs; do
        v=$(awk -v t="/$t" -v b="$bytes" '$1 == t && $3 > $2 { printf "%.1f\n", b / ($3 - $2) }' <<<"$out")
        if [ -n "$v" ]; then add "io_$t" "$e" "$v"; else echo "$out" >"$W/io.err"; fail "$e: dd to /$t in a container" "?" "$W/io.err"; fi
      done
    done
  done
  for e in "${ENG[@]}"; do dk "$e" volume rm "${P}io" >/dev/null; done
  rm -rf "$W/bind" "$W/hostio"
fi

# ======================================================================== containers
if want containers; then
  for e in $(order $SEC); do
    log "containers: $e: $N_CT running containers"
    s=$(us_now)
    ok=0
    for ((i = 0; i < N_CT; i++)); do t_ms dk "$e" run -d --name "${P}ct$i" "$IMG" sleep 3600 && ok=$((ok + 1)); done
    setv start_rate "$e" "$(rate "$ok" "$(us2ms $(($(us_now) - s)))")"
    sleep 2 # let the daemon settle before its memory is read
    setv rss_loaded "$e" "$(rss_mb "$(pid_of "$e")")"
    setv engine_rss_loaded "$e" "$(engine_rss_mb "$e")"
    n=$(dk "$e" ps -q --filter "name=${P}ct" | wc -l)
    [ "$n" -eq "$N_CT" ] || note_err "$e: \`docker ps -q\` lists $n running containers of the $N_CT started"
    for ((i = 0; i < REPS; i++)); do
      t_ms dk "$e" ps -a && add ps_cli "$e" "$T"
      v=$(api "$e" GET '/containers/json?all=1') && add ps_api "$e" "$v"
    done
    t_ms dk "$e" rm -f $(seq -f "${P}ct%g" 0 $((N_CT - 1))) && setv rm_rate "$e" "$(rate "$N_CT" "$T")"
    n=$(dk "$e" ps -aq --filter "name=${P}ct" | wc -l)
    [ "$n" -eq 0 ] || note_err "$e: $n containers remain after \`docker rm -f\` of the $N_CT"
  done
  SEC=$((SEC + 1))
fi

# ======================================================================== system df
if want df; then
  # shellcheck disable=SC2016 # expanded by the container's shell
  dfsh='for d in /v0 /v1 /v2 /v3; do i=0; while [ $i -lt '"$DF_FILES"' ]; do
      dd if=/dev/urandom of=$d/f$i bs=4k count=1 2>/dev/null; i=$((i + 1)); done; mkdir -p $d/sub; echo x >$d/sub/f; done
    dd if=/dev/urandom of=/layerfile bs=64k count=4 2>/dev/null'
  for e in $(order $SEC); do
    log "df: $e: $DF_CT containers writing into $((DF_CT * 4)) volumes"
    pids=()
    for ((i = 0; i < DF_CT; i++)); do
      m=()
      for k in 0 1 2 3; do m+=(-v "${P}dfv$((i * 4 + k)):/v$k"); done
      dk "$e" run --name "${P}df$i" "${m[@]}" "$IMG" sh -c "$dfsh" >/dev/null 2>>"$W/df.err" &
      pids+=($!)
      if [ "${#pids[@]}" -ge 2 ]; then wait "${pids[@]}"; pids=(); fi
    done
    [ "${#pids[@]}" -eq 0 ] || wait "${pids[@]}"
    n=$(dk "$e" ps -aq --filter "name=${P}df" --filter exited=0 | wc -l)
    [ "$n" -eq "$DF_CT" ] || note_err "$e: $n of the $DF_CT df containers exited 0 ($(head -c 300 "$W/df.err"))"
    sync -f "$W"
    t_ms dk "$e" system df && setv df_cold "$e" "$T"
    for ((i = 0; i < REPS; i++)); do
      t_ms dk "$e" system df && add df_cli "$e" "$T"
      t_ms dk "$e" system df -v && add dfv_cli "$e" "$T"
      v=$(api "$e" GET /system/df) && add df_api "$e" "$v"
      v=$(api "$e" GET '/containers/json?all=1&size=1') && add ps_size_api "$e" "$v"
    done
    dk "$e" system df >"$W/df.$e.txt" 2>&1
    dk "$e" rm -f $(seq -f "${P}df%g" 0 $((DF_CT - 1))) >/dev/null
    dk "$e" volume rm $(seq -f "${P}dfv%g" 0 $((DF_CT * 4 - 1))) >/dev/null
  done
  SEC=$((SEC + 1))
fi

# ======================================================================== commit / diff
if want commit; then
  log "commit: $COMMIT_REPS containers writing $COMMIT_FILES files of $COMMIT_KB KiB each, per engine"
  # shellcheck disable=SC2016 # expanded by the container's shell
  csh='mkdir /data; i=0; while [ $i -lt '"$COMMIT_FILES"' ]; do dd if=/dev/urandom of=/data/f$i bs='"$COMMIT_KB"'k count=1 2>/dev/null; i=$((i + 1)); done'
  for ((i = 0; i < COMMIT_REPS; i++)); do
    for e in $(order "$i"); do t_ms dk "$e" run --name "${P}commit$i" "$IMG" sh -c "$csh" && add layer_write "$e" "$(awk -v t="$T" 'BEGIN { printf "%.3f", t / 1000 }')"; done
  done
  for ((i = 0; i < COMMIT_REPS; i++)); do
    for e in $(order "$i"); do sync -f "$W"; t_ms dk "$e" commit "${P}commit$i" "${P}commit:$i" && add commit "$e" "$T"; done
  done
  for ((i = 0; i < REPS; i++)); do
    for e in $(order "$i"); do
      t_ms dk "$e" diff "${P}commit0" && add diff_cli "$e" "$T"
      v=$(api "$e" GET "/containers/${P}commit0/changes") && add diff_api "$e" "$v"
    done
  done
  declare -A DIFFN
  for e in "${ENG[@]}"; do
    DIFFN[$e]=$(dk "$e" diff "${P}commit0" | wc -l)
    [ "${DIFFN[$e]}" -eq $((COMMIT_FILES + 1)) ] || note_err "$e: \`docker diff\` lists ${DIFFN[$e]} changes, $((COMMIT_FILES + 1)) expected (/data and its files)"
    n=$(dk "$e" run --rm "${P}commit:0" sh -c 'ls /data | wc -l')
    [ "$n" = "$COMMIT_FILES" ] || note_err "$e: the committed image holds $n files in /data, $COMMIT_FILES expected"
  done
  for e in "${ENG[@]}"; do
    dk "$e" rm -f $(seq -f "${P}commit%g" 0 $((COMMIT_REPS - 1))) >/dev/null
    dk "$e" rmi $(seq -f "${P}commit:%g" 0 $((COMMIT_REPS - 1))) >/dev/null
  done
fi

# ======================================================================== images
# uniq_member TAG: one tiny tar member (no end-of-archive blocks), put in front of the image tar so
# that every import and load is a new layer for the engine (nothing deduplicated)
uniq_member() {
  local u=$W/uniq/$1
  mkdir -p "$u"
  echo "bench/run.sh $1 $STAMP" >"$u/.bench_unique"
  tar -b1 -C "$u" -cf - ./.bench_unique | head -c -1024
}
import_one() { { uniq_member "imp$2"; cat "$W/img.tar"; } | dk "$1" import - "${P}imp:$2"; }
# a docker-save archive (legacy layout) with one unique layer: the bytes both engines load in rep I
make_load_archive() {
  local a=$W/arch dsha cfg csha
  rm -rf "$a"
  mkdir -p "$a/layer"
  { uniq_member "load$1"; cat "$W/img.tar"; } >"$a/layer/layer.tar"
  dsha=$(sha256sum "$a/layer/layer.tar" | cut -d' ' -f1)
  cfg='{"architecture":"amd64","os":"linux","created":"2026-01-01T00:00:00Z","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:'$dsha'"]},"history":[{"created":"2026-01-01T00:00:00Z","created_by":"bench/run.sh"}]}'
  csha=$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)
  printf '%s' "$cfg" >"$a/$csha.json"
  printf '[{"Config":"%s.json","RepoTags":["%sload:%s"],"Layers":["layer/layer.tar"]}]' "$csha" "$P" "$1" >"$a/manifest.json"
  tar -C "$a" -cf "$W/load.tar" manifest.json "$csha.json" layer
  rm -rf "$a"
}
if want image; then
  make_img_tar
  TARB=$(stat -c %s "$W/img.tar")
  log "image: import, save, load of a $((TARB / 1000000)) MB tar, $IMG_REPS samples each"
  for ((i = 0; i < IMG_REPS; i++)); do
    for e in $(order "$i"); do sync -f "$W"; t_ms import_one "$e" "$i" && add img_import "$e" "$(mbs $((TARB + 512)) "$T")"; done
  done
  for ((i = 0; i < IMG_REPS; i++)); do
    for e in $(order "$i"); do
      rm -f "$W/save.tar"
      sync -f "$W"
      t_ms dk "$e" save -o "$W/save.tar" "${P}imp:$i" && add img_save "$e" "$(mbs "$(stat -c %s "$W/save.tar")" "$T")"
    done
  done
  rm -f "$W/save.tar"
  for ((i = 0; i < IMG_REPS; i++)); do
    make_load_archive "$i"
    for e in $(order "$i"); do
      sync -f "$W"
      t_ms dk "$e" load -i "$W/load.tar" && add img_load "$e" "$(mbs "$(stat -c %s "$W/load.tar")" "$T")"
      n=$(dk "$e" run --rm "${P}load:$i" sh -c 'find /data -type f | wc -l')
      [ "$n" = "$IMG_FILES" ] || note_err "$e: the loaded image holds $n data files, $IMG_FILES expected"
    done
  done
  rm -f "$W/load.tar"
  for ((i = 0; i < IMG_REPS; i++)); do
    for e in $(order "$i"); do
      t_ms dk "$e" rmi "${P}imp:$i" && add img_rmi "$e" "$T"
      dk "$e" rmi "${P}load:$i" >/dev/null
    done
  done
fi

# ======================================================================== backup / restore
# BK_MB of volume data: a third text in 4 MiB files, a third random in 8 MiB files, a third in
# 4 KiB files (half text, half random)
make_bk_data() {
  local d=$W/bkdata corpus=$W/corpus.txt third n i
  third=$((BK_MB / 3))
  mkdir -p "$d/text" "$d/random" "$d/small/t" "$d/small/r"
  find /usr/include /usr/share/doc /usr/share/common-licenses -type f -size -2M 2>/dev/null | head -n 20000 |
    xargs -r cat 2>/dev/null | head -c $((32 << 20)) >"$corpus"
  [ -s "$corpus" ] || seq 1 4000000 >"$corpus"
  for ((i = 0; i * 4 < third; i++)); do
    # each file starts elsewhere in the corpus, so little repeats within a compressor's window
    { tail -c +$(((i * 7919 % 28) * 1048576 + 1)) "$corpus"; cat "$corpus"; } | head -c $((4 << 20)) >"$d/text/log$i.txt"
  done
  n=$(((third + 7) / 8))
  head -c $((n * 8 << 20)) /dev/urandom | split -b $((8 << 20)) -a 3 - "$d/random/blob"
  n=$(((BK_MB - 2 * third) * 128)) # 4 KiB files per half
  head -c $((n * 4096)) /dev/urandom | split -b 4096 -a 5 - "$d/small/r/f"
  while cat "$corpus"; do :; done | head -c $((n * 4096)) | split -b 4096 -a 5 - "$d/small/t/f"
  rm -f "$corpus"
  BK_BYTES=$(du -sb --apparent-size "$d" | cut -f1)
  BK_ENTRIES=$(find "$d" | wc -l)
}
same_tree() { diff -r --no-dereference "$1" "$2" >/dev/null 2>&1; }
if want backup; then
  make_bk_data
  log "backup: $((BK_BYTES / 1000000)) MB in $BK_ENTRIES entries, $BK_REPS samples"
  mkdir -p "$W/out"
  declare -A MP
  for e in "${ENG[@]}"; do
    dk "$e" volume create "${P}bk" >/dev/null
    MP[$e]=$(dk "$e" volume inspect -f '{{.Mountpoint}}' "${P}bk")
    cp -a "$W/bkdata/." "${MP[$e]}/"
    # a container touches it once, so both engines know the volume as used before the clock runs
    dk "$e" run --rm -v "${P}bk:/source:ro" "$IMG" du -s /source >/dev/null
  done
  sync -f "$W"
  # strata on the guide's method too: it is the same docker CLI command on both engines
  for ((i = 0; i < BK_REPS; i++)); do
    for e in $(order "$i"); do
      rm -f "$W/out/g.tar.gz"
      sync -f "$W"
      if t_ms dk "$e" run --rm -v "${P}bk:/source:ro" -v "$W/out:/backup" "$IMG" tar czf /backup/g.tar.gz -C /source .; then
        b=$T
        t_ms sync -f "$W/out" && add guide_backup "$e" "$(awk -v a="$b" -v b="$T" 'BEGIN { printf "%.3f", (a + b) / 1000 }')"
        setv size_guide "$e" "$(awk -v b="$(stat -c %s "$W/out/g.tar.gz")" 'BEGIN { printf "%.1f", b / 1e6 }')"
      fi
      dk "$e" volume create "${P}rs$i" >/dev/null
      mp=$(dk "$e" volume inspect -f '{{.Mountpoint}}' "${P}rs$i")
      sync -f "$W"
      if t_ms dk "$e" run --rm -v "${P}rs$i:/target" -v "$W/out:/backup" "$IMG" tar xzf /backup/g.tar.gz -C /target; then
        b=$T
        t_ms sync -f "$mp" && add guide_restore "$e" "$(awk -v a="$b" -v b="$T" 'BEGIN { printf "%.3f", (a + b) / 1000 }')"
        [ "$i" -gt 0 ] || same_tree "$W/bkdata" "$mp" || note_err "$e: the guide's restore differs from the data (diff -r $W/bkdata $mp)"
      fi
      dk "$e" volume rm "${P}rs$i" >/dev/null
    done
    # strata's own backup and restore, right after the guide's (the Docker sample being the
    # reference, strata's native figures sit in the strata column of their own rows)
    rm -rf "$W/out/native"
    mkdir -p "$W/out/native"
    sync -f "$W"
    if t_ms "$STRATA" -H "unix://$S_SOCK" volume backup "${P}bk" --to "$W/out/native"; then
      b=$T
      file=$(grep -m1 '\.tar\.zst$' "$W/last.out")
      t_ms sync -f "$W/out" && add native_backup strata "$(awk -v a="$b" -v b="$T" 'BEGIN { printf "%.3f", (a + b) / 1000 }')"
      [ -n "$file" ] && setv size_native strata "$(awk -v b="$(stat -c %s "$file")" 'BEGIN { printf "%.1f", b / 1e6 }')"
      sync -f "$W"
      if [ -n "$file" ] && t_ms "$STRATA" -H "unix://$S_SOCK" volume restore "$file" --name "${P}nrs$i"; then
        add native_restore strata "$(awk -v a="$T" 'BEGIN { printf "%.3f", a / 1000 }')"
        mp=$(dk strata volume inspect -f '{{.Mountpoint}}' "${P}nrs$i")
        [ "$i" -gt 0 ] || same_tree "$W/bkdata" "$mp" || note_err "strata: \`strata volume restore\` differs from the data (diff -r $W/bkdata $mp)"
        dk strata volume rm "${P}nrs$i" >/dev/null
      fi
    fi
    # the host's own: tar | zstd -T0, and back with a sync
    rm -f "$W/out/h.tar.zst"
    sync -f "$W"
    s=$EPOCHREALTIME
    tar -C "$W/bkdata" -cf - . | zstd -q -T0 -3 -o "$W/out/h.tar.zst" && sync -f "$W/out"
    e1=$EPOCHREALTIME
    add host_zstd host "$(us2ms $((${e1/./} - ${s/./})) | awk '{ printf "%.3f", $1 / 1000 }')"
    mkdir -p "$W/hrs$i"
    sync -f "$W"
    s=$EPOCHREALTIME
    zstd -q -dc "$W/out/h.tar.zst" | tar -C "$W/hrs$i" -xf - && sync -f "$W/hrs$i"
    e1=$EPOCHREALTIME
    add host_unzstd host "$(us2ms $((${e1/./} - ${s/./})) | awk '{ printf "%.3f", $1 / 1000 }')"
    rm -rf "$W/hrs$i"
  done
  setv host_zstd_size host "$(awk -v b="$(stat -c %s "$W/out/h.tar.zst")" 'BEGIN { printf "%.1f", b / 1e6 }')"
  sync -f "$W"
  t_ms tar czf "$W/out/h.tar.gz" -C "$W/bkdata" . && add host_gzip host "$(awk -v t="$T" 'BEGIN { printf "%.3f", t / 1000 }')"
  for e in "${ENG[@]}"; do dk "$e" volume rm "${P}bk" >/dev/null; done
  rm -rf "$W/out" "$W/bkdata"
fi

# ======================================================================== volumes
# bulk_create ENGINE FROM TO: volumes ${P}v<i> with label bsuite.bulk=1 through the API by
# VOL_PAR keep-alive curl clients; sets BULK_OK and BULK_MS
bulk_create() {
  local e=$1 from=$2 to=$3 prefix=${4:-${P}v} label=${5:-bsuite.bulk} i c s
  rm -f "$W"/k.*.cfg "$W"/codes.*
  for ((i = from; i <= to; i++)); do
    c=$((i % VOL_PAR))
    # shellcheck disable=SC2094 # the test reads it before this block appends
    {
      [ -s "$W/k.$c.cfg" ] && echo next
      printf 'unix-socket = "%s"\nurl = "http://localhost/volumes/create"\nrequest = "POST"\nheader = "Content-Type: application/json"\n' "${SOCK[$e]}"
      printf 'data = "{\\"Name\\":\\"%s%06d\\",\\"Labels\\":{\\"%s\\":\\"1\\"}}"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' "$prefix" "$i" "$label"
    } >>"$W/k.$c.cfg"
  done
  local pids=()
  s=$(us_now)
  for ((c = 0; c < VOL_PAR; c++)); do
    [ -f "$W/k.$c.cfg" ] || continue
    timeout "$CMD_TIMEOUT" curl -sS -K "$W/k.$c.cfg" >"$W/codes.$c" 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}"
  BULK_MS=$(us2ms $(($(us_now) - s)))
  BULK_OK=$(cat "$W"/codes.* | grep -c '^201$')
  [ "$BULK_OK" -eq $((to - from + 1)) ] || { cat "$W"/codes.* | sort | uniq -c >"$W/bulk.err"; fail "$e: API create of volumes $from..$to" "$BULK_OK ok" "$W/bulk.err"; }
}
vol_count() { curl -s --unix-socket "${SOCK[$1]}" http://localhost/volumes | jq '.Volumes | length'; }
# ops_at N: create/inspect/ls/rm and prune with N volumes present, CLI and API
ops_at() {
  local n=$1 i e v f
  log "volumes: create/inspect/ls/rm/prune with $n volumes present"
  for ((i = 0; i < VOL_REPS; i++)); do
    for e in $(order "$i"); do
      t_ms dk "$e" volume create --label bsuite.op=1 "${P}op$i" && add "vol_create_cli_$n" "$e" "$T"
      t_ms dk "$e" volume inspect "${P}op$i" && add "vol_inspect_cli_$n" "$e" "$T"
      t_ms dk "$e" volume ls && add "vol_ls_cli_$n" "$e" "$T"
      t_ms dk "$e" volume rm "${P}op$i" && add "vol_rm_cli_$n" "$e" "$T"
      v=$(api "$e" POST /volumes/create "{\"Name\":\"${P}opa$i\",\"Labels\":{\"bsuite.op\":\"1\"}}") && add "vol_create_api_$n" "$e" "$v"
      v=$(api "$e" GET "/volumes/${P}opa$i") && add "vol_inspect_api_$n" "$e" "$v"
      v=$(api "$e" GET /volumes) && add "vol_ls_api_$n" "$e" "$v"
      v=$(api "$e" DELETE "/volumes/${P}opa$i") && add "vol_rm_api_$n" "$e" "$v"
    done
  done
  f=$(printf '{"label":["bsuite.prune=1"]}' | jq -sRr @uri)
  for ((i = 0; i < 3; i++)); do
    for e in $(order "$i"); do
      bulk_create "$e" 1 "$PRUNE_N" "${P}pr" bsuite.prune
      # shellcheck disable=SC2086 # PRUNE_ALL is empty or one flag
      if t_ms dk "$e" volume prune -f ${PRUNE_ALL[$e]} --filter label=bsuite.prune=1; then
        add "vol_prune_cli_$n" "$e" "$T"
        v=$(grep -c "^${P}pr" "$W/last.out")
        [ "$v" -eq "$PRUNE_N" ] || note_err "$e: \`docker volume prune -f ${PRUNE_ALL[$e]} --filter label=…\` removed $v of $PRUNE_N unused volumes"
      fi
      bulk_create "$e" 1 "$PRUNE_N" "${P}pr" bsuite.prune
      # API 1.41 on both: there prune takes every unused volume the filter selects
      v=$(api "$e" POST "/v1.41/volumes/prune?filters=$f") && add "vol_prune_api_$n" "$e" "$v"
      v=$(jq '.VolumesDeleted | length' "$W/api.out" 2>/dev/null)
      [ "$v" = "$PRUNE_N" ] || note_err "$e: POST /v1.41/volumes/prune (label filter) removed $v of $PRUNE_N unused volumes"
    done
  done
}
if want volumes; then
  have=0
  k=0
  for n in $VOL_LEVELS; do
    if [ "$n" -gt "$have" ]; then
      for e in $(order $k); do
        log "volumes: $e: creating volumes $((have + 1))..$n through the API ($VOL_PAR clients)"
        bulk_create "$e" $((have + 1)) "$n"
        setv "vol_bulk_$n" "$e" "$(rate "$BULK_OK" "$BULK_MS")"
      done
      k=$((k + 1))
      have=$n
    fi
    ops_at "$n"
  done
  for e in "${ENG[@]}"; do setv rss_vols "$e" "$(rss_mb "$(pid_of "$e")")"; done
  if [ "$have" -gt 0 ]; then
    for ((i = 0; i < RESTART_REPS; i++)); do
      for e in $(order "$i"); do
        [ "$e" = docker ] && [ "$OWN_DOCKER" != 1 ] && continue
        want_n=$(vol_count "$e")
        log "volumes: $e: restart with $want_n volumes"
        stop_engine "$e"
        s=$(us_now)
        start_engine "$e"
        if wait_ready "$e"; then
          add restart_ready "$e" "$(us2ms $(($(us_now) - s)))"
          [ "$i" -gt 0 ] || setv restart_first "$e" "$(us2ms $(($(us_now) - s)))"
          for ((j = 0; j < 20000; j++)); do [ "$(vol_count "$e" 2>/dev/null)" = "$want_n" ] && break; sleep 0.005; done
          add restart_listed "$e" "$(us2ms $(($(us_now) - s)))"
        else
          echo "(see the daemon's log)" >"$W/restart.err"
          fail "$e: restart with $want_n volumes" "not ready" "$W/restart.err"
          die "$e did not come back"
        fi
      done
    done
    for e in $(order $k); do
      log "volumes: $e: prune of the $have"
      # shellcheck disable=SC2086
      if t_ms dk "$e" volume prune -f ${PRUNE_ALL[$e]} --filter label=bsuite.bulk=1; then
        setv vol_prune_all "$e" "$(awk -v t="$T" 'BEGIN { printf "%.3f", t / 1000 }')"
        v=$(grep -c "^${P}v" "$W/last.out")
        [ "$v" -eq "$have" ] || note_err "$e: the prune of the $have volumes removed $v"
      fi
    done
  fi
fi

# ======================================================================== report
report
sed -n '/^| metric/,/^## Samples/p' "$OUT" | sed '$d'
log "done in $(elapsed_s) s: $OUT and $SVG"
