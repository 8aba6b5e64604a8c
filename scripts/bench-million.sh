#!/usr/bin/env bash
# P6: peak RSS of `quilt build` of 1,000,000 small files into a fresh store (target <= 500 MB),
# measured with /usr/bin/time -v ("Maximum resident set size"). Also reports the no-op rebuild
# and status, which load the stat cache and the manifest for all those files.
#
# usage: scripts/bench-million.sh
# env:   FILES (default 1000000), SIZE (bytes per file, default 64), QUILT, BENCH_TMP
# Disk: about 4 GB for the tree (one 4 KiB block per file) plus the store.
set -euo pipefail

FILES=${FILES:-1000000}
SIZE=${SIZE:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
QUILT=${QUILT:-$TARGET/release/quilt}
[ -x "$QUILT" ] || { echo "no quilt binary at $QUILT (cargo build --release)" >&2; exit 2; }

TMP=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/quilt-bench-million.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
TREE=$TMP/tree

load() { cut -d' ' -f1-3 /proc/loadavg; }
# Runs the command under /usr/bin/time -v; prints "<wall s> <peak RSS MB>".
measure() {
  /usr/bin/time -v "$@" 2>"$TMP/time.txt" >"$TMP/out.txt" || { cat "$TMP/time.txt" >&2; exit 1; }
  awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]}
              /Maximum resident/ {r=$2}
              END {printf "%.2f %.0f\n", s, r/1024}' "$TMP/time.txt"
}

echo "== generating $FILES files of $SIZE bytes under $TREE"
start=$(date +%s)
python3 "$ROOT/benches/gen-tree.py" "$TREE" "$FILES" "$SIZE"
echo "generated in $(( $(date +%s) - start )) s"
sleep 0.5
find "$TREE" -type f -print0 | xargs -0 cat > /dev/null # warm the page cache

cd "$TREE"
"$QUILT" --no-progress init >/dev/null
echo "== load before: $(load)"
read -r t r < <(measure "$QUILT" --no-progress --json build bench/million -m bench)
echo "P6 build ($FILES files): ${t} s, peak RSS ${r} MB (target <= 500 MB)"
tail -1 "$TMP/out.txt"
echo "== load after: $(load)"
read -r t r < <(measure "$QUILT" --no-progress --json build bench/million -m bench)
echo "P6 no-op rebuild: ${t} s, peak RSS ${r} MB"
tail -1 "$TMP/out.txt"
read -r t r < <(measure "$QUILT" --no-progress status)
echo "P6 no-op status: ${t} s, peak RSS ${r} MB"
echo "store: $(du -sb "$TREE/.quilt" | cut -f1) bytes"
echo "== load after: $(load)"
