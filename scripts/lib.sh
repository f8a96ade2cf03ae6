# shellcheck shell=bash
# Shared by scripts/demo.sh and scripts/test.sh: install what strata needs on a Debian machine.

# Debian packages the daemon and the tests use, and the command that proves each is present.
#   runc            the OCI runtime containers run with
#   busybox-static  the static busybox the test and demo images are built from
#   sqlite3         to inspect the metadata database in tests
#   xfsprogs        loop-mounted XFS for project-quota (volume size) tests
#   e2fsprogs       loop-mounted ext4 for tests
#   btrfs-progs     loop-mounted btrfs with quota groups for volume size tests
#   curl, jq        API calls in the demo and benchmarks
#   docker-compose  compose v1 (1.29, python/docker-py) for the compose tests; the v2 plugin is
#                   not packaged in Debian, PyPI or npm
#   iproute2        ss, to find the process serving a socket (the demo stops only its own stratad)
STRATA_DEPS=(
  "runc:runc"
  "busybox-static:/bin/busybox"
  "sqlite3:sqlite3"
  "xfsprogs:mkfs.xfs"
  "e2fsprogs:mkfs.ext4"
  "btrfs-progs:mkfs.btrfs"
  "curl:curl"
  "jq:jq"
  "docker-compose:docker-compose"
  "iproute2:ss"
)

have() {
  case "$1" in
    /*) [ -x "$1" ] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

ensure_deps() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "strata: run this as root (it installs packages, mounts filesystems and runs containers)" >&2
    exit 1
  fi
  local missing=() entry pkg probe
  for entry in "${STRATA_DEPS[@]}"; do
    pkg=${entry%%:*}
    probe=${entry#*:}
    if [ "$pkg" = busybox-static ]; then
      # The image fixtures need a statically linked busybox; the dynamic one is not enough.
      if ! (have "$probe" && file -L "$probe" 2>/dev/null | grep -q 'statically linked'); then
        missing+=("$pkg")
      fi
    elif ! have "$probe"; then
      missing+=("$pkg")
    fi
  done
  have file || missing+=(file)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "strata: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if ! have cargo; then
    echo "strata: cargo is missing: install a Rust toolchain (1.95 or newer) first" >&2
    exit 1
  fi
  if ! have /usr/local/bin/docker && ! have docker; then
    echo "strata: installing the docker CLI (docker.io) to drive strata with" >&2
    apt-get install -y -qq docker.io >/dev/null
  fi
  # `docker compose …` (the guide's spelling) runs docker-compose v1 through a small CLI plugin
  # when the docker CLI has no compose plugin of its own.
  if ! docker compose version >/dev/null 2>&1; then
    local plugins=/usr/local/lib/docker/cli-plugins
    mkdir -p "$plugins"
    install -m 0755 "$(dirname "${BASH_SOURCE[0]}")/docker-compose-v1-plugin" "$plugins/docker-compose"
  fi
  # Overlay mounts need the module; a missing module makes strata fall back to vfs.
  modprobe overlay 2>/dev/null || true
}
