#!/usr/bin/env bash
# Checkout and install of FILES files of 4 KiB: a fresh `quilt install --dest` and a fresh
# `quilt checkout` into a new working directory sharing the store, RUNS times each, for one or
# two binaries (to compare a change against the code before it).
#
# usage: scripts/bench-checkout.sh            (FILES=100000, RUNS=3 by default)
# env:   FILES, RUNS, QUILT (the binary; default: release build under CARGO_TARGET_DIR or
#        target/), QUILT_BEFORE (a second binary, timed the same way in the same run),
#        BENCH_TMP (where the trees go; the same file system is what is measured)
#
# Each timed run starts after `sync`, so the dirty pages of the previous run (and of the
# removal of its tree) are not flushed inside the next one. Times are wall-clock seconds: until
# the command exits, and until a `sync` after it returns ("durable after"), which is the fair
# comparison between a quilt that flushes and one that leaves it to the kernel.
set -euo pipefail

FILES=${FILES:-100000}
RUNS=${RUNS:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
QUILT=${QUILT:-$TARGET/release/quilt}
export NO_COLOR=1

[ -x "$QUILT" ] || { echo "no quilt binary at $QUILT (cargo build --release)" >&2; exit 2; }
if [ -n "${QUILT_BEFORE:-}" ] && [ ! -x "$QUILT_BEFORE" ]; then
  echo "no binary at QUILT_BEFORE=$QUILT_BEFORE" >&2; exit 2
fi

TMP=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/quilt-bench-checkout.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
TREE=$TMP/tree WORK=$TMP/work

load() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }

echo "== generating $FILES files of 4 KiB under $TREE"
python3 "$ROOT/benches/gen-tree.py" "$TREE" "$FILES" 4096
# Each binary gets a store of its own, built by itself (an older quilt may not open a store
# of a newer schema).
store_for() { # BIN DIR
  mkdir -p "$2"
  (cd "$2" && "$1" --no-progress init >/dev/null &&
    "$1" --no-progress build bench/tree "$TREE" -m bench >/dev/null)
}
store_for "$QUILT" "$WORK"
[ -n "${QUILT_BEFORE:-}" ] && store_for "$QUILT_BEFORE" "$TMP/work-before"
rm -rf "$TREE"

# time_one LABEL BIN MODE: one fresh install (MODE=install) or checkout (MODE=checkout).
time_one() {
  local label=$1 bin=$2 mode=$3 out=$TMP/out s e d work=$WORK
  [ "$label" = before ] && work=$TMP/work-before
  rm -rf "$out"
  if [ "$mode" = checkout ]; then
    mkdir -p "$out"
    (cd "$out" && "$bin" --no-progress init --store "$work/.quilt" >/dev/null)
  fi
  sync
  s=$(now)
  if [ "$mode" = install ]; then
    (cd "$work" && "$bin" --no-progress install bench/tree --dest "$out" >/dev/null 2>&1) ||
      { echo "$label install failed" >&2; exit 1; }
  else
    (cd "$out" && "$bin" --no-progress checkout bench/tree >/dev/null 2>&1) ||
      { echo "$label checkout failed" >&2; exit 1; }
  fi
  e=$(now)
  # Then until the tree is on disk: a quilt that does not flush leaves that work to the
  # kernel's writeback, which the next run would otherwise pay for.
  sync
  d=$(now)
  [ "$(find "$out" -name '*.bin' | wc -l)" -eq "$FILES" ] || { echo "$label wrote too few files" >&2; exit 1; }
  printf '%s %s run: %.3f s, durable after %.3f s\n' "$label" "$mode" "$(echo "$e - $s" | bc)" "$(echo "$d - $s" | bc)"
}

echo "== load before: $(load)"
for mode in install checkout; do
  for run in $(seq "$RUNS"); do
    [ -n "${QUILT_BEFORE:-}" ] && time_one before "$QUILT_BEFORE" "$mode"
    time_one after "$QUILT" "$mode"
  done
done
echo "== load after: $(load)"
