#!/usr/bin/env bash
# strata's whole test suite: installs what the tests need, builds the binaries, runs every test
# (unit, API and CLI tests against real stratad daemons, privileged tests as root), then the
# formatting and lint checks. This is the command CI runs (.ci/run) and the README gives.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
ensure_deps

t0=$(date +%s)
cargo build --locked --workspace --bins
cargo test --locked --workspace
cargo fmt --all -- --check
cargo clippy --locked --workspace --all-targets -- -D warnings
echo "strata: all tests passed in $(( $(date +%s) - t0 ))s"
