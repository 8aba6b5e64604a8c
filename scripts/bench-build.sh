#!/usr/bin/env bash
# P2 and P3: `quilt build` of FILES files of 4 KiB into a fresh store, against quilt3's
# `Package().set_dir` + `build` into a local registry on the same tree, in the same run; then a
# no-op `quilt status` and a no-op rebuild of that tree.
#
# usage: scripts/bench-build.sh            (FILES=100000 by default)
# env:   FILES, QUILT (the binary; default: release build under CARGO_TARGET_DIR or target/),
#        PY (a python with quilt3; default /root/.cache/quilt-venv/bin/python),
#        QUILT_RUNS / PY_RUNS (hyperfine runs), BENCH_TMP (where the tree goes)
#
# Times come from hyperfine when it is installed (warm page cache: one untimed warm-up run),
# peak RSS from one /usr/bin/time -v run each. Note that quilt3's build into a local registry
# only hashes the files and writes the manifest; quilt also copies every object into its store.
set -euo pipefail

FILES=${FILES:-100000}
PY=${PY:-/root/.cache/quilt-venv/bin/python}
QUILT_RUNS=${QUILT_RUNS:-5}
PY_RUNS=${PY_RUNS:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
QUILT=${QUILT:-$TARGET/release/quilt}
export QUILT_DISABLE_USAGE_METRICS=true NO_COLOR=1

[ -x "$QUILT" ] || { echo "no quilt binary at $QUILT (cargo build --release)" >&2; exit 2; }
"$PY" -c 'import quilt3' 2>/dev/null || { echo "$PY has no quilt3" >&2; exit 2; }

TMP=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/quilt-bench-build.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
TREE=$TMP/tree WORK=$TMP/work REG=$TMP/registry

load() { cut -d' ' -f1-3 /proc/loadavg; }
# Peak RSS in MB of one run of the command.
rss_mb() {
  /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ {printf "%.0f", $2/1024}'
}
# Mean seconds of a hyperfine export, or of a single timed run without hyperfine.
mean_s() { "$PY" -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["results"][0]["mean"])' "$1"; }

echo "== generating $FILES files of 4 KiB under $TREE"
python3 "$ROOT/benches/gen-tree.py" "$TREE" "$FILES" 4096
sleep 0.5 # past the build's racy window, so the stat cache trusts every file
cat > "$TMP/q3build.py" <<'PYEOF'
import sys, quilt3
pkg = quilt3.Package()
pkg.set_dir(".", sys.argv[1])
print(pkg.build("bench/tree", registry="file://" + sys.argv[2], message="bench"))
PYEOF
# Warm the page cache with the whole tree.
find "$TREE" -type f -print0 | xargs -0 cat > /dev/null

fresh_quilt="rm -rf $WORK && mkdir -p $WORK && cd $WORK && $QUILT --no-progress init >/dev/null"
build_quilt="cd $WORK && $QUILT --no-progress build bench/tree $TREE -m bench"
fresh_py="rm -rf $REG"
build_py="$PY $TMP/q3build.py $TREE $REG"

echo "== P2 load before: $(load)"
if command -v hyperfine >/dev/null; then
  hyperfine --style basic --warmup 1 --runs "$QUILT_RUNS" --prepare "$fresh_quilt" \
    --export-json "$TMP/quilt.json" -n "quilt build" "$build_quilt"
  hyperfine --style basic --runs "$PY_RUNS" --prepare "$fresh_py" \
    --export-json "$TMP/py.json" -n "quilt3 build" "$build_py"
  tq=$(mean_s "$TMP/quilt.json") tp=$(mean_s "$TMP/py.json")
else
  bash -c "$fresh_quilt"; s=$(date +%s.%N); bash -c "$build_quilt" >/dev/null; e=$(date +%s.%N)
  tq=$(echo "$e - $s" | bc)
  bash -c "$fresh_py"; s=$(date +%s.%N); bash -c "$build_py" >/dev/null; e=$(date +%s.%N)
  tp=$(echo "$e - $s" | bc)
fi
bash -c "$fresh_quilt"
rq=$(rss_mb bash -c "$build_quilt")
bash -c "$fresh_py"
rp=$(rss_mb bash -c "$build_py")
echo "== P2 load after: $(load)"
bash -c "$build_quilt --json" | tail -1 > "$TMP/second.json"
echo "P2 quilt build:  ${tq} s, peak RSS ${rq} MB"
echo "P2 quilt3 build: ${tp} s, peak RSS ${rp} MB"
echo "P2 ratio: quilt is $(echo "scale=1; $tp / $tq" | bc)x faster (target >= 20x)"
echo "P2 store size: $(du -sb "$WORK/.quilt" | cut -f1) bytes for $FILES files"

# P3: status needs the tree to be the working directory, so give it its own store.
cd "$TREE"
"$QUILT" --no-progress init >/dev/null
"$QUILT" --no-progress build bench/tree -m bench >/dev/null
"$QUILT" --no-progress build bench/tree -m bench >/dev/null
echo "== P3 second build: $("$QUILT" --no-progress --json build bench/tree -m bench | tail -1)"
echo "== P3 load before: $(load)"
if command -v hyperfine >/dev/null; then
  hyperfine --style basic --warmup 2 --runs 10 --export-json "$TMP/status.json" \
    -n "quilt status (no-op)" "cd $TREE && $QUILT --no-progress status"
  hyperfine --style basic --warmup 2 --runs 10 --export-json "$TMP/rebuild.json" \
    -n "quilt build (no-op)" "cd $TREE && $QUILT --no-progress build bench/tree -m bench"
  echo "P3 no-op status:  $(mean_s "$TMP/status.json") s (target <= 0.3 s)"
  echo "P3 no-op rebuild: $(mean_s "$TMP/rebuild.json") s (target <= 0.3 s)"
fi
echo "P3 peak RSS: status $(rss_mb "$QUILT" --no-progress status) MB," \
  "rebuild $(rss_mb "$QUILT" --no-progress build bench/tree -m bench) MB"
echo "== P3 load after: $(load)"
