#!/usr/bin/env bash
# Large-file build: a fresh `quilt build` of FILES files of SIZE_MIB MiB of random bytes
# (4 x 512 MiB by default; the large files are chunked), against quilt3's `Package().set_dir`
# + `build` into a local registry of the same tree, in the same run; then a no-op rebuild
# (every file a stat-cache hit: nothing re-read, nothing re-chunked), and the store's size.
#
# usage: scripts/bench-large-build.sh
# env:   FILES, SIZE_MIB, QUILT (the binary; default: release build under CARGO_TARGET_DIR or
#        target/), PY (a python with quilt3; default /root/.cache/quilt-venv/bin/python),
#        RUNS (hyperfine runs of each), BENCH_TMP (where the tree goes)
#
# Times come from hyperfine (warm page cache: the tree is read once before timing). quilt3's
# build into a local registry only hashes the files and writes the manifest; quilt also
# stores every byte (as chunks in packs).
set -euo pipefail

FILES=${FILES:-4}
SIZE_MIB=${SIZE_MIB:-512}
RUNS=${RUNS:-3}
PY=${PY:-/root/.cache/quilt-venv/bin/python}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
QUILT=${QUILT:-$TARGET/release/quilt}
export QUILT_DISABLE_USAGE_METRICS=true NO_COLOR=1

[ -x "$QUILT" ] || { echo "no quilt binary at $QUILT (cargo build --release)" >&2; exit 2; }
"$PY" -c 'import quilt3' 2>/dev/null || { echo "$PY has no quilt3" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine is needed" >&2; exit 2; }

TMP=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/quilt-bench-large.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
TREE=$TMP/tree WORK=$TMP/work REG=$TMP/registry
mkdir -p "$TREE"

load() { cut -d' ' -f1-3 /proc/loadavg; }
mean_s() { "$PY" -c 'import json,sys; print("%.2f" % json.load(open(sys.argv[1]))["results"][0]["mean"])' "$1"; }

echo "== generating $FILES files of $SIZE_MIB MiB under $TREE"
for i in $(seq 1 "$FILES"); do
  head -c "$((SIZE_MIB << 20))" /dev/urandom > "$TREE/file$i.bin"
done
sleep 0.5 # past the build's racy window, so the stat cache trusts every file
cat "$TREE"/* > /dev/null
cat > "$TMP/q3build.py" <<'PYEOF'
import sys, quilt3
pkg = quilt3.Package()
pkg.set_dir(".", sys.argv[1])
print(pkg.build("bench/large", registry="file://" + sys.argv[2], message="bench"))
PYEOF

fresh_quilt="rm -rf $WORK && mkdir -p $WORK && cd $WORK && $QUILT --no-progress init >/dev/null"
build_quilt="cd $WORK && $QUILT --no-progress build bench/large $TREE -m bench"
echo "== load before: $(load)"
hyperfine --style basic --runs "$RUNS" --prepare "$fresh_quilt" \
  --export-json "$TMP/quilt.json" -n "quilt build" "$build_quilt"
hyperfine --style basic --runs "$RUNS" --prepare "rm -rf $REG" \
  --export-json "$TMP/py.json" -n "quilt3 build" "$PY $TMP/q3build.py $TREE $REG"
echo "== load after: $(load)"
tq=$(mean_s "$TMP/quilt.json") tp=$(mean_s "$TMP/py.json")

# The store the last timed run left, then a rebuild of the unchanged tree.
store_bytes=$(du -sb "$WORK/.quilt" | cut -f1)
hyperfine --style basic --warmup 1 --runs 5 --export-json "$TMP/rebuild.json" \
  -n "quilt build (no-op)" "$build_quilt"
echo "large build quilt:  $tq s for $FILES x $SIZE_MIB MiB"
echo "large build quilt3: $tp s"
echo "large build ratio: quilt3 / quilt = $(echo "scale=2; $tp / $tq" | bc) (target >= 1)"
echo "large build store: $store_bytes bytes for $((FILES * SIZE_MIB)) MiB of files"
echo "large build no-op rebuild: $(mean_s "$TMP/rebuild.json") s"
