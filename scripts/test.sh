#!/usr/bin/env bash
# The whole test suite: installs what the tests need (idempotent), then
# formatting, lints and every test of the workspace, PostgreSQL included.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ci-deps.sh

export TERN_TEST_PG="${TERN_TEST_PG:-postgres://tern:tern@127.0.0.1:5432/postgres}"

echo "== disk free before the build"
df -h . | tail -1
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked --no-fail-fast
echo "== disk used by the build"
du -sh "${CARGO_TARGET_DIR:-target}" 2>/dev/null || true
