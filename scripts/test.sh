#!/usr/bin/env bash
# The whole test suite: set-up, formatting, lints, docs, then every test of the workspace.
# Runs on a fresh machine with a Rust toolchain, Python 3 and network access to the package
# registries. It refuses to start when QUILT_S3_TESTS=skip or QUILT_SKIP_PYTHON is set: those
# skip groups of tests, which is for running single test binaries locally, not the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/refuse-skips.sh
bash scripts/test-setup.sh
export QUILT_TEST_PYTHON="${QUILT_VENV:-$HOME/.cache/quilt-venv}/bin/python"
export WEED="${WEED:-${QUILT_VENV:-$HOME/.cache/quilt-venv}/bin/weed}"
export QUILT_DISABLE_USAGE_METRICS=true
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# Every public item is documented and every intra-doc link resolves.
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --quiet
cargo test --workspace --no-fail-fast -- --test-threads=2
# The examples/ program: a package built from two files and metadata, pushed to a directory
# remote, browsed back and installed (it checks each step and fails otherwise). Its install
# goes through a cache store of its own.
example_cache="$(mktemp -d)"
QUILT_CACHE_DIR="$example_cache" cargo run --quiet --example package
rm -rf "$example_cache"
