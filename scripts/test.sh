#!/usr/bin/env bash
# strata's whole test suite: installs what the tests need, builds the binaries, runs every test
# (unit, API and CLI tests against real stratad daemons, privileged tests as root), then the
# formatting and lint checks. This is the command CI runs (.ci/run) and the README gives.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
ensure_deps

# A one-shot build (CI, a fresh clone) gains nothing from incremental compilation, which would
# double the size of target/.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"; fi

t0=$(date +%s)
cargo build --locked --workspace --bins
cargo test --locked --workspace
cargo fmt --all -- --check
cargo clippy --locked --workspace --all-targets -- -D warnings
echo "strata: all tests passed in $(( $(date +%s) - t0 ))s"
