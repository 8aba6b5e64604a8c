#!/usr/bin/env bash
# Many small files to S3: quilt's packed remote against restic, in one run on one local
# SeaweedFS server, on the same tree of N files of 4 KiB with distinct contents (default 100,000):
#   first push       `quilt push --layout packed` (after an untimed `quilt build`) vs
#                    `restic backup` (after an untimed `restic init`)
#   nothing-new push requests and time of a second `quilt push` (goal: at most 3 requests);
#                    restic's second backup for reference
#   pull             `quilt install --from URL --layout packed` into a fresh cache and directory
#                    vs `restic restore latest --target` into a fresh directory (fresh cache);
#                    both results are checked byte for byte against the tree
#   reference        a first push of the same version to a quilt3-layout remote (one PUT per
#                    object); PLAIN=0 skips it
# usage: scripts/bench-packed.sh [N]
# env:   QUILT (a built binary; default: cargo build --release), PLAIN (1), BENCH_TMP
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
N=${1:-100000}
PLAIN=${PLAIN:-1}
. "$ROOT/scripts/bench-s3-env.sh"
bench_setup
if ! "$QUILT" push --help | grep -q -- '--layout'; then
  echo "bench-packed.sh: --layout packed not supported by this build ($QUILT)" >&2
  exit 1
fi
WORK=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/quilt-bench-packed.XXXXXX")
bench_start_server
mkbucket bench-packed; mkbucket bench-restic; mkbucket bench-plain
Q=("$QUILT" -q --no-progress)
# sha256 over every file's path and bytes under a directory (its .quilt left out).
tree_digest() {
  python3 - "$1" <<'PY'
import hashlib, os, sys
root, h = sys.argv[1], hashlib.sha256()
for d, dirs, files in os.walk(root):
    dirs[:] = sorted(x for x in dirs if x != ".quilt")
    for f in sorted(files):
        p = os.path.join(d, f)
        h.update(os.path.relpath(p, root).encode() + b"\0")
        with open(p, "rb") as fh:
            h.update(fh.read())
print(h.hexdigest())
PY
}
json() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }

echo "load before: $(load)"
python3 "$ROOT/benches/gen-tree.py" "$WORK/tree" "$N" 4096
SRC=$(tree_digest "$WORK/tree")
cd "$WORK/tree"
"${Q[@]}" init >/dev/null
t0=$(secs); "${Q[@]}" build bench/packed -m bench >/dev/null; t1=$(secs)
BUILD=$(elapsed "$t0" "$t1")
sync

echo "load before the first pushes: $(load)"
t0=$(secs)
"$QUILT" --no-progress --json push bench/packed s3://bench-packed --layout packed >"$WORK/push1.json"
t1=$(secs)
Q_PUSH=$(elapsed "$t0" "$t1")
restic_env bench-restic
restic init --quiet >/dev/null
t0=$(secs); restic backup --quiet --exclude .quilt . >/dev/null; t1=$(secs)
R_BACKUP=$(elapsed "$t0" "$t1")
Q_BYTES=$(bucket_bytes bench-packed); R_BYTES=$(bucket_bytes bench-restic)

t0=$(secs)
"$QUILT" --no-progress --json push bench/packed s3://bench-packed --layout packed >"$WORK/push2.json"
t1=$(secs)
Q_NOOP=$(elapsed "$t0" "$t1"); Q_NOOP_REQ=$(json "$WORK/push2.json" "['requests']")
t0=$(secs); restic backup --quiet --exclude .quilt . >/dev/null; t1=$(secs)
R_NOOP=$(elapsed "$t0" "$t1")

echo "load before the pulls: $(load)"
mkdir -p "$WORK/pull" && cd "$WORK/pull"
t0=$(secs)
QUILT_CACHE_DIR="$WORK/qcache" "${Q[@]}" install bench/packed --from s3://bench-packed \
  --layout packed --dest "$WORK/q-out" >/dev/null
t1=$(secs)
Q_PULL=$(elapsed "$t0" "$t1")
export RESTIC_CACHE_DIR="$WORK/restic-cache-pull"
t0=$(secs); restic restore --quiet latest --target "$WORK/r-out" >/dev/null; t1=$(secs)
R_PULL=$(elapsed "$t0" "$t1")
Q_OK=$([ "$(tree_digest "$WORK/q-out")" = "$SRC" ] && echo equal || echo DIFFERENT)
R_OK=$([ "$(tree_digest "$WORK/r-out")" = "$SRC" ] && echo equal || echo DIFFERENT)

P_PUSH=skipped; P_REQ=-
if [ "$PLAIN" = 1 ]; then
  cd "$WORK/tree"
  t0=$(secs)
  "$QUILT" --no-progress --json push bench/packed s3://bench-plain >"$WORK/plain.json"
  t1=$(secs)
  P_PUSH=$(elapsed "$t0" "$t1"); P_REQ=$(json "$WORK/plain.json" "['requests']")
fi
echo "load after: $(load)"

ratio() { python3 -c "print(f'{$1/$2:.2f}x')"; }
cat <<EOF

$N x 4 KiB files; quilt build (not in the push) ${BUILD}s
| step | quilt (packed remote) | restic | quilt / restic |
|---|---|---|---|
| first push / backup | ${Q_PUSH}s ($(json "$WORK/push1.json" "['requests']") requests, bucket ${Q_BYTES} B) | ${R_BACKUP}s (bucket ${R_BYTES} B) | $(ratio "$Q_PUSH" "$R_BACKUP") |
| nothing-new push / backup | ${Q_NOOP}s, ${Q_NOOP_REQ} requests | ${R_NOOP}s | $(ratio "$Q_NOOP" "$R_NOOP") |
| pull: install / restore | ${Q_PULL}s (tree ${Q_OK}) | ${R_PULL}s (tree ${R_OK}) | $(ratio "$Q_PULL" "$R_PULL") |
| reference: first push, quilt3 layout | ${P_PUSH}s (${P_REQ} requests) | | |
EOF
[ "$Q_OK" = equal ] && [ "$R_OK" = equal ]
