#!/usr/bin/env bash
# bench/backup.sh - volume backup, restore and clone: strata (release build) against the guide's
# method (`docker run busybox tar czf` on the reference Docker) and the host's own tar, in one run
# over the same ~1 GB volume.
#
# Dataset (DATA_MB, default 1024): a third compressible text (C headers and docs of this host,
# sliced into 4 MiB files), a third random (6 x 64 MiB + 100 KiB files), the rest 4 KiB files
# (half text, half random) -- many small files, as a database or upload volume has.
#
# Metrics (one `metric value unit` line each; caches warm, every restore ends with its data
# synced: strata syncs before it answers, the others get a `sync` inside the timing). Nothing
# is deleted before the end: on ext4 without a journal (these VMs) creating files is several
# times slower for minutes after mass deletions, which would penalise whatever runs next.
#   backup_{guide,host_gzip,host_zstd,strata}_s / _mbps   time and MB/s of volume data
#   restore_{guide,host_gzip,host_zstd,strata}_s / _mbps
#   restore_strata_before_s / _mbps                       with BEFORE_STRATAD/BEFORE_STRATA: another
#                                                         build's restore of the same backup, in the
#                                                         same rounds (to compare builds fairly)
#   size_{guide_gz,host_zst,strata_zst}_mb                 output sizes
#   clone_{ext4_copy,xfs_reflink}_s, cp_a_ext4_s, cp_reflink_xfs_s
#
# Usage (as root, from the repository):  bench/backup.sh   (writes bench/results/<stamp>-backup.txt)
# Knobs: DATA_MB=1024 ROUNDS=2 BENCH_DIR=/var/tmp/strata-backupbench REF_SOCK=/run/ref-docker.sock
#        STRATAD=target/release/stratad STRATA=target/release/strata SKIP_DOCKER=1 SKIP_XFS=1
#        BEFORE_STRATAD=… BEFORE_STRATA=… (an older build, e.g. copied aside before a change)
set -u -o pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

DATA_MB=${DATA_MB:-1024}
DIR=${BENCH_DIR:-/var/tmp/strata-backupbench}
REF_SOCK=${REF_SOCK:-/run/ref-docker.sock}
STRATAD=${STRATAD:-target/release/stratad}
STRATA=${STRATA:-target/release/strata}
REF="docker -H unix://$REF_SOCK"
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
# The figures go to stdout and to bench/results/<stamp>-backup[-<DATA_MB>].txt.
mkdir -p bench/results
RESULT=bench/results/$(date -u +%Y%m%dT%H%M%SZ)-backup$([ "$DATA_MB" = 1024 ] || echo "-$DATA_MB").txt
exec > >(tee "$RESULT")
if [ ! -x "$STRATAD" ] || [ ! -x "$STRATA" ]; then
  echo "building the release binaries" >&2
  cargo build --release --bins >&2 || exit 1
fi
STRATAD=$(realpath "$STRATAD"); STRATA=$(realpath "$STRATA")
BEFORE_STRATAD=${BEFORE_STRATAD:-}; BEFORE_STRATA=${BEFORE_STRATA:-}
if [ -n "$BEFORE_STRATAD" ]; then
  BEFORE_STRATAD=$(realpath "$BEFORE_STRATAD"); BEFORE_STRATA=$(realpath "${BEFORE_STRATA:-$STRATA}")
fi

cleanup() {
  for p in "$DIR"/*.pid; do [ -f "$p" ] && kill -TERM "$(cat "$p")" 2>/dev/null; done
  sleep 0.5
  if [ -z "${SKIP_DOCKER:-}" ]; then
    $REF volume rm -f bench_backup_src bench_backup_dst1 bench_backup_dst2 bench_backup_dst3 >/dev/null 2>&1
  fi
  # The daemons may take a moment to exit and let go of the XFS; a lazy unmount never leaves it
  # mounted (a leftover mount made the next run's `rm -rf` fail).
  umount "$DIR/xfs" 2>/dev/null || { sleep 2; umount "$DIR/xfs" 2>/dev/null || umount -l "$DIR/xfs" 2>/dev/null; }
  rm -rf "$DIR"
}
trap cleanup EXIT
umount -l "$DIR/xfs" 2>/dev/null
rm -rf "$DIR"; mkdir -p "$DIR/data" "$DIR/out"
# Every copy is kept until the end (see above): about (8 + 3 * ROUNDS) times the volume.
need_mb=$((DATA_MB * (8 + 3 * ${ROUNDS:-2}) + 2048))
free_mb=$(df -Pm "$DIR" | awk 'NR == 2 {print $4}')
if [ "$free_mb" -lt "$need_mb" ]; then
  echo "not enough space in $DIR: ${free_mb} MB free, ${need_mb} MB needed (lower DATA_MB or ROUNDS)" >&2
  exit 1
fi

now() { date +%s.%N; }
# elapsed START -> seconds with 2 decimals
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }
mbps() { awk -v mb="$DATA_REAL_MB" -v s="$1" 'BEGIN{printf "%.0f", mb/s}'; }
metric() { printf '%-28s %10s %s\n' "$1" "$2" "$3"; }
size_mb() { du -sm --apparent-size "$1" | awk '{print $1}'; }

# ---- dataset
echo "generating ${DATA_MB} MB of data in $DIR/data" >&2
third=$((DATA_MB / 3))
corpus=$DIR/corpus.txt
find /usr/include /usr/share/doc -type f -size -2M \( -name '*.h' -o -name '*.txt' -o -name 'README*' -o -name 'copyright' \) -print0 2>/dev/null \
  | xargs -0 cat 2>/dev/null | head -c $((64 << 20)) >"$corpus"
mkdir -p "$DIR/data/text" "$DIR/data/random" "$DIR/data/small"
i=0
while [ $((i * 4)) -lt "$third" ]; do
  # each file a different slice of the corpus, so nothing repeats within a compressor's window
  tail -c +$(((i * 7919 % 60) * 1048576 + 1)) "$corpus" | head -c $((4 << 20)) >"$DIR/data/text/log$i.txt"
  i=$((i + 1))
done
for i in 1 2 3 4 5 6; do head -c $((64 << 20)) /dev/urandom >"$DIR/data/random/blob$i.bin"; done
rest=$(( (third - 384) * 10 )); [ "$rest" -lt 0 ] && rest=0
for i in $(seq "$rest"); do head -c 102400 /dev/urandom >"$DIR/data/random/part$i.bin"; done
small=$(( (DATA_MB - 2 * third) * 256 ))
mkdir -p "$DIR/data/small/t" "$DIR/data/small/r"
for i in $(seq $((small / 2))); do
  tail -c +$((i * 4096 % (60 << 20) + 1)) "$corpus" | head -c 4096 >"$DIR/data/small/t/f$i"
done
head -c $(((small / 2) * 4096)) /dev/urandom | split -b 4096 -a 6 - "$DIR/data/small/r/f"
chown -R 999:999 "$DIR/data/text"; chmod 0700 "$DIR/data/text"; ln -s text/log0.txt "$DIR/data/latest"
rm -f "$corpus"
DATA_REAL_MB=$(size_mb "$DIR/data")
FILES=$(find "$DIR/data" | wc -l)
echo "# $(date -u +%FT%TZ) $(nproc) cores; volume: ${DATA_REAL_MB} MB in ${FILES} entries; $("$STRATAD" --version 2>/dev/null)"
sync

# ---- strata daemon on the same filesystem
start_strata() { # NAME DATAROOT [STRATAD]
  echo '{}' >"$DIR/$1.json"
  nohup "${3:-$STRATAD}" --config-file "$DIR/$1.json" --data-root "$2" --exec-root "$DIR/$1-exec" \
    -H "unix://$DIR/$1.sock" --pidfile "$DIR/$1.pid" --log-level warn >>"$DIR/$1.log" 2>&1 &
  for _ in $(seq 2000); do curl -sf --unix-socket "$DIR/$1.sock" http://localhost/_ping >/dev/null && return; sleep 0.01; done
  echo "stratad $1 did not start" >&2; exit 1
}
start_strata strata "$DIR/strata-root"
S="$STRATA -H unix://$DIR/strata.sock"
if [ -n "$BEFORE_STRATAD" ]; then
  start_strata before "$DIR/before-root" "$BEFORE_STRATAD"
  B="$BEFORE_STRATA -H unix://$DIR/before.sock"
fi
$S volume create benchvol >/dev/null
cp -a "$DIR/data/." "$DIR/strata-root/volumes/benchvol/_data/"
sync

# ---- backup
if [ -z "${SKIP_DOCKER:-}" ]; then
  $REF volume create bench_backup_src >/dev/null
  src_mp=$($REF volume inspect -f '{{.Mountpoint}}' bench_backup_src)
  cp -a "$DIR/data/." "$src_mp/"; sync
  t=$(now)
  $REF run --rm -v bench_backup_src:/source:ro -v "$DIR/out:/backup" busybox tar czf /backup/guide.tar.gz -C /source . || exit 1
  s=$(since "$t"); metric backup_guide_s "$s" s; metric backup_guide_mbps "$(mbps "$s")" MB/s
  metric size_guide_gz_mb "$(size_mb "$DIR/out/guide.tar.gz")" MB
fi
t=$(now); tar czf "$DIR/out/host.tar.gz" -C "$DIR/data" .; s=$(since "$t")
metric backup_host_gzip_s "$s" s; metric backup_host_gzip_mbps "$(mbps "$s")" MB/s
t=$(now); tar -C "$DIR/data" -cf - . | zstd -q -T0 -3 -o "$DIR/out/host.tar.zst"; s=$(since "$t")
metric backup_host_zstd_s "$s" s; metric backup_host_zstd_mbps "$(mbps "$s")" MB/s
metric size_host_zst_mb "$(size_mb "$DIR/out/host.tar.zst")" MB
mkdir -p "$DIR/out/strata"
t=$(now); file=$($S volume backup benchvol --to "$DIR/out/strata" 2>/dev/null) || exit 1; s=$(since "$t")
metric backup_strata_s "$s" s; metric backup_strata_mbps "$(mbps "$s")" MB/s
metric size_strata_zst_mb "$(size_mb "$file")" MB

# ---- restore: ROUNDS rounds, the methods interleaved, the best time of each reported (the
# time of creating ~90k files on this shared VM moves by 50% from one minute to the next)
ROUNDS=${ROUNDS:-2}
best() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "" || b < a) print b; else print a }'; }
g_best=""; z_best=""; s_best=""; b_best=""
t=$(now); mkdir -p "$DIR/rgz"; tar xzf "$DIR/out/host.tar.gz" -C "$DIR/rgz"; sync; s=$(since "$t")
metric restore_host_gzip_s "$s" s; metric restore_host_gzip_mbps "$(mbps "$s")" MB/s
for round in $(seq "$ROUNDS"); do
  if [ -z "${SKIP_DOCKER:-}" ]; then
    $REF volume create "bench_backup_dst$round" >/dev/null
    sync; t=$(now)
    $REF run --rm -v "bench_backup_dst$round:/target" -v "$DIR/out:/backup" busybox tar xzf /backup/guide.tar.gz -C /target || exit 1
    sync; g_best=$(best "$g_best" "$(since "$t")")
  fi
  mkdir -p "$DIR/rzst$round"; sync; t=$(now)
  zstd -q -dc "$DIR/out/host.tar.zst" | tar x -C "$DIR/rzst$round"; sync; z_best=$(best "$z_best" "$(since "$t")")
  # The two builds take turns going first.
  builds="now before"; [ $((round % 2)) -eq 0 ] && builds="before now"
  for build in $builds; do
    if [ "$build" = now ]; then
      sync; t=$(now)
      $S volume restore "$file" --name "restored$round" >/dev/null 2>&1 || exit 1
      s_best=$(best "$s_best" "$(since "$t")")
    elif [ -n "$BEFORE_STRATAD" ]; then
      sync; t=$(now)
      $B volume restore "$file" --name "restored$round" >/dev/null 2>&1 || exit 1
      b_best=$(best "$b_best" "$(since "$t")")
    fi
  done
done
if [ -n "$g_best" ]; then metric restore_guide_s "$g_best" s; metric restore_guide_mbps "$(mbps "$g_best")" MB/s; fi
metric restore_host_zstd_s "$z_best" s; metric restore_host_zstd_mbps "$(mbps "$z_best")" MB/s
metric restore_strata_s "$s_best" s; metric restore_strata_mbps "$(mbps "$s_best")" MB/s
if [ -n "$b_best" ]; then
  metric restore_strata_before_s "$b_best" s; metric restore_strata_before_mbps "$(mbps "$b_best")" MB/s
fi
if diff -r --no-dereference "$DIR/data" "$DIR/strata-root/volumes/restored1/_data" >/dev/null; then
  metric restore_strata_identical yes ""
else
  metric restore_strata_identical NO ""
fi

# ---- clone: ext4 (copy_file_range) here, reflinks on an xfs loop filesystem
t=$(now); $S volume clone benchvol benchclone >/dev/null || exit 1; sync; s=$(since "$t")
metric clone_ext4_copy_s "$s" s
t=$(now); cp -a "$DIR/data" "$DIR/cpa"; sync; s=$(since "$t"); metric cp_a_ext4_s "$s" s
if [ -z "${SKIP_XFS:-}" ] && command -v mkfs.xfs >/dev/null; then
  truncate -s $((DATA_MB * 3 + 512))M "$DIR/xfs.img"
  mkfs.xfs -q -m reflink=1 "$DIR/xfs.img" && mkdir -p "$DIR/xfs" && mount -o loop "$DIR/xfs.img" "$DIR/xfs"
  start_strata xfsd "$DIR/xfs/root"
  X="$STRATA -H unix://$DIR/xfsd.sock"
  $X volume create benchvol >/dev/null
  cp -a "$DIR/data/." "$DIR/xfs/root/volumes/benchvol/_data/"; sync
  t=$(now); $X volume clone benchvol benchclone >/dev/null || exit 1; sync; s=$(since "$t")
  metric clone_xfs_reflink_s "$s" s
  t=$(now); cp -a --reflink=always "$DIR/xfs/root/volumes/benchvol/_data" "$DIR/xfs/cpa" 2>/dev/null; sync; s=$(since "$t")
  metric cp_reflink_xfs_s "$s" s
  kill -TERM "$(cat "$DIR/xfsd.pid")"; sleep 1
fi
