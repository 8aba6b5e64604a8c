#!/usr/bin/env bash
# Dedup: ten builds of one tree where 1% of the files change between builds should take at most
# 1.1x the disk of the first version (`du -sb .quilt`). Prints the store size after each build
# and, at the end, how it splits between objects, manifests and the rest (the SQLite database).
#
# usage: scripts/bench-dedup.sh
# env:   FILES (default 10000), SIZE (bytes per file, default 4096), VERSIONS (default 10),
#        QUILT, BENCH_TMP
set -euo pipefail

FILES=${FILES:-10000}
SIZE=${SIZE:-4096}
VERSIONS=${VERSIONS:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
QUILT=${QUILT:-$TARGET/release/quilt}
[ -x "$QUILT" ] || { echo "no quilt binary at $QUILT (cargo build --release)" >&2; exit 2; }

TMP=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/quilt-bench-dedup.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
TREE=$TMP/tree

python3 "$ROOT/benches/gen-tree.py" "$TREE" "$FILES" "$SIZE"
cd "$TREE"
"$QUILT" --no-progress init >/dev/null
size() { du -sb .quilt | cut -f1; }
objects() { du -sb .quilt/objects | cut -f1; }
first= first_objects=
for v in $(seq 1 "$VERSIONS"); do
  if [ "$v" -gt 1 ]; then
    python3 "$ROOT/benches/gen-tree.py" "$TREE" "$FILES" "$SIZE" --touch-percent 1 --round "$v"
  fi
  out=$("$QUILT" --no-progress --json build bench/dedup -m "v$v" | tail -1)
  s=$(size)
  first=${first:-$s}
  first_objects=${first_objects:-$(objects)}
  echo "version $v: store $s bytes ($(echo "scale=3; $s / $first" | bc)x of one version) $out"
done
echo "tree: $(du -sb --exclude=.quilt "$TREE" | cut -f1) bytes of $FILES files of $SIZE bytes" \
  "($(( FILES * SIZE )) bytes of content)"
echo "Dedup: $VERSIONS versions take $(echo "scale=3; $(size) / $first" | bc)x the store of one" \
  "(target <= 1.1x)"
echo "Dedup, objects only: $(echo "scale=3; $(objects) / $first_objects" | bc)x" \
  "(expected 1 + 0.01 x $(( VERSIONS - 1 )) from the changed files alone)"
echo "store breakdown (du -sb):"
du -sb .quilt/* | sort -n -r | sed 's/^/  /'
