#!/usr/bin/env bash
# Push memory: peak anonymous memory (RssAnon: heap and stacks, not the mapped packs) of a first
# push of FILES small objects (default 1,000,000; target < 500 MB), sampled every 50 ms from
# /proc/PID/status by benches/peak-rss.py. Pushes go to a directory remote and, when this build
# has the packed layout, to a packed directory remote. Each push is then repeated with nothing
# new, for its time.
#
# usage: scripts/bench-push-memory.sh
# env:   FILES (default 1000000), SIZE (bytes per file, default 64), QUILT, BENCH_TMP
# Disk: about 4 GB for the tree (one 4 KiB block per file), plus the store and the remote.
set -euo pipefail

FILES=${FILES:-1000000}
SIZE=${SIZE:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${QUILT:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
  QUILT=${CARGO_TARGET_DIR:-$ROOT/target}/release/quilt
fi
[ -x "$QUILT" ] || { echo "no quilt binary at $QUILT" >&2; exit 2; }
export QUILT_DISABLE_USAGE_METRICS=true

TMP=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/quilt-bench-push-memory.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
TREE=$TMP/tree
load() { cut -d' ' -f1-3 /proc/loadavg; }
# Runs a quilt command under the sampler; prints the sampler's line prefixed by a label.
measure() {
  local label=$1; shift
  local line
  line=$(python3 "$ROOT/benches/peak-rss.py" --out "$TMP/out.json" -- "$@") \
    || { echo "$label: failed: $line" >&2; exit 1; }
  echo "$label: $line"
}
has_packed() { "$QUILT" push --help | grep -q -- '--layout'; }

echo "== load before: $(load)"
echo "== generating $FILES files of $SIZE bytes"
python3 "$ROOT/benches/gen-tree.py" "$TREE" "$FILES" "$SIZE"
cd "$TREE"
"$QUILT" -q --no-progress init >/dev/null
"$QUILT" -q --no-progress build bench/pushmem -m bench >/dev/null
echo "store: $(du -sb "$TREE/.quilt" | cut -f1) bytes"

echo "== load: $(load)"
measure "directory remote, first push of $FILES objects" \
  "$QUILT" --no-progress --json push bench/pushmem "$TMP/remote-dir" --create-remote
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('  uploaded', d.get('objects_uploaded'), 'objects,', d.get('bytes_uploaded'), 'bytes')" "$TMP/out.json" 2>/dev/null || true
measure "directory remote, nothing-new push" \
  "$QUILT" --no-progress --json push bench/pushmem "$TMP/remote-dir"

if has_packed; then
  echo "== load: $(load)"
  mkdir -p "$TMP/remote-packed"
  measure "packed directory remote, first push of $FILES objects" \
    "$QUILT" --no-progress --json push bench/pushmem "$TMP/remote-packed" --layout packed
  measure "packed directory remote, nothing-new push" \
    "$QUILT" --no-progress --json push bench/pushmem "$TMP/remote-packed" --layout packed
else
  echo "packed remote: skipped (--layout packed not supported by this build)"
fi
echo "== load after: $(load)"
