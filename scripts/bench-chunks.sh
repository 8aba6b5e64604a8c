#!/usr/bin/env bash
# Large files that change a little: quilt's chunked store and packed remote against restic, in
# one run on one local SeaweedFS server. Ten versions (VERSIONS) of a 1 GiB file (SIZE), each
# with 1 MiB of random bytes inserted at a random offset and 1 MiB overwritten elsewhere
# (benches/gen-versions.py: seeded, the same files every run). After each version:
#   store growth   `quilt build`, then the local store's size (`du -sb .quilt/objects`, and the
#                  bytes in packs and loose objects), against `restic backup` of the same file
#                  and its repository's size on the server; the growth is the size after the
#                  last version over the size after the first (goal for quilt: <= 1.1x)
#   chunked push   `quilt push --layout packed` of the version to a remote holding the previous
#                  one: the push's bytes_uploaded and the bucket's growth (goal: <= 8 MiB),
#                  against the growth of restic's repository. Skipped, with a note, when this
#                  build has no packed layout; the store growth is measured either way.
# usage: scripts/bench-chunks.sh
# env:   QUILT (a built binary; default: cargo build --release), VERSIONS (10), SIZE (bytes,
#        default 1073741824), BENCH_TMP. Disk: up to VERSIONS x SIZE for a store without chunks.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VERSIONS=${VERSIONS:-10}
SIZE=${SIZE:-1073741824}
. "$ROOT/scripts/bench-s3-env.sh"
bench_setup
PACKED=1
if ! "$QUILT" push --help | grep -q -- '--layout'; then
  PACKED=0
  echo "chunked push: skipped (--layout packed not supported by this build)"
fi
WORK=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/quilt-bench-chunks.XXXXXX")
bench_start_server
mkbucket bench-restic; mkbucket bench-packed
restic_env bench-restic
restic init --quiet >/dev/null
mkdir -p "$WORK/big" && cd "$WORK/big"
"$QUILT" -q --no-progress init >/dev/null
# Bytes in files matching a pattern under a directory (0 when none).
bytes_of() { find "$1" -type f -name "$2" -printf '%s\n' 2>/dev/null | awk '{s+=$1} END {print s+0}'; }
mib() { python3 -c "print(f'{$1/1048576:.1f}')"; }

echo "load before: $(load)"
printf '| v | quilt build s | objects (du -sb) | in packs | loose | restic backup s | restic repo | push s | push bytes_uploaded | packed bucket growth | restic repo growth |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
R_PREV=0; P_PREV=0
for v in $(seq 1 "$VERSIONS"); do
  if [ "$v" = 1 ]; then
    python3 "$ROOT/benches/gen-versions.py" big.bin "$SIZE" >"$WORK/edit.log"
  else
    python3 "$ROOT/benches/gen-versions.py" big.bin "$SIZE" --edit "$v" >>"$WORK/edit.log"
  fi
  sync
  t0=$(secs); "$QUILT" -q --no-progress build bench/big -m "v$v" >/dev/null; t1=$(secs)
  BUILD=$(elapsed "$t0" "$t1")
  OBJ=$(du -sb .quilt/objects | cut -f1)
  PACKS=$(bytes_of .quilt/objects/pack '*.pack')
  LOOSE=$(bytes_of .quilt/objects/loose '*')
  t0=$(secs); restic backup --quiet big.bin >/dev/null; t1=$(secs)
  BACKUP=$(elapsed "$t0" "$t1")
  R_NOW=$(bucket_bytes bench-restic)
  PUSH=-; UP=-; P_GROW=-
  if [ "$PACKED" = 1 ]; then
    t0=$(secs)
    "$QUILT" --no-progress --json push bench/big s3://bench-packed --layout packed >"$WORK/push.json"
    t1=$(secs)
    PUSH=$(elapsed "$t0" "$t1")
    UP=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['bytes_uploaded'])" "$WORK/push.json")
    P_NOW=$(bucket_bytes bench-packed)
    P_GROW=$((P_NOW - P_PREV)); P_PREV=$P_NOW
    echo "$v $UP $P_GROW" >>"$WORK/push.log"
  fi
  R_GROW=$((R_NOW - R_PREV)); R_PREV=$R_NOW
  echo "$v $OBJ $R_NOW $R_GROW" >>"$WORK/sizes.log"
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$v" "$BUILD" "$OBJ" "$PACKS" "$LOOSE" \
    "$BACKUP" "$R_NOW" "$PUSH" "$UP" "$P_GROW" "$R_GROW"
done
echo "load after: $(load)"
sed 's/^/  /' "$WORK/edit.log"

python3 - "$WORK/sizes.log" "$WORK/push.log" <<'PY'
import os, sys
rows = [list(map(int, l.split())) for l in open(sys.argv[1])]
first, last = rows[0], rows[-1]
q, r = last[1] / first[1], last[2] / first[2]
print(f"store growth over {len(rows)} versions: quilt {q:.3f}x ({first[1]} -> {last[1]} bytes), "
      f"restic {r:.3f}x ({first[2]} -> {last[2]} bytes); goal for quilt <= 1.1x: "
      + ("met" if q <= 1.1 else "NOT met"))
later = [row[3] for row in rows[1:]]
if later:
    print(f"restic repository growth per later version: mean {sum(later)/len(later)/2**20:.2f} MiB, max {max(later)/2**20:.2f} MiB")
if os.path.exists(sys.argv[2]):
    pushes = [list(map(int, l.split())) for l in open(sys.argv[2])][1:]
    if pushes:
        up = [p[1] for p in pushes]
        grow = [p[2] for p in pushes]
        worst = max(max(up), max(grow))
        print(f"chunked push of versions 2..{len(rows)}: bytes_uploaded mean {sum(up)/len(up)/2**20:.2f} MiB, max {max(up)/2**20:.2f} MiB; "
              f"bucket growth mean {sum(grow)/len(grow)/2**20:.2f} MiB, max {max(grow)/2**20:.2f} MiB; goal <= 8 MiB: "
              + ("met" if worst <= 8 * 2**20 else "NOT met"))
PY
