#!/usr/bin/env bash
# The main job: set up a fresh Debian machine, build strata, start stratad on its embedded
# defaults (socket unix:///run/strata.sock, data-root /var/lib/strata) and show it working
# through the stock docker CLI. stratad keeps running afterwards; stop it with
#   kill "$(cat /run/strata.pid)"
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
ensure_deps

SOCK=/run/strata.sock
PIDFILE=/run/strata.pid
LOG=/var/log/stratad.log
DOCKER=/usr/local/bin/docker
[ -x "$DOCKER" ] || DOCKER=$(command -v docker)

cargo build --release --locked --bins
install -m 0755 target/release/stratad target/release/strata /usr/local/bin/

if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  echo "strata: restarting the running stratad (pid $(cat "$PIDFILE")) on the new build"
  kill "$(cat "$PIDFILE")"
  for _ in $(seq 100); do kill -0 "$(cat "$PIDFILE" 2>/dev/null)" 2>/dev/null || break; sleep 0.1; done
fi
nohup /usr/local/bin/stratad >>"$LOG" 2>&1 &
for _ in $(seq 100); do
  curl -s --unix-socket "$SOCK" -o /dev/null http://strata/_ping && break
  sleep 0.1
done

step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "$2"; }
step "The server behind the docker CLI is strata" "docker -H unix://$SOCK version"
"$DOCKER" -H "unix://$SOCK" version
step "Storage driver and where the state lives" "docker -H unix://$SOCK info"
"$DOCKER" -H "unix://$SOCK" info
step "The strata CLI speaks the same API" "strata info --format '{{.Driver}} on {{.DockerRootDir}}'"
/usr/local/bin/strata -H "unix://$SOCK" info --format '{{.Driver}} on {{.DockerRootDir}}'

printf '\nstratad is running (pid %s, log %s).\n' "$(cat "$PIDFILE")" "$LOG"
printf 'Point the docker CLI at it with:  export DOCKER_HOST=unix://%s\n' "$SOCK"
