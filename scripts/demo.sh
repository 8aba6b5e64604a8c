#!/usr/bin/env bash
# A five-minute tour on the embedded default (a local store plus a directory remote, no
# server): generate a dataset, build two versions, inspect them, push to a directory remote,
# install from it elsewhere and verify everything.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
QUILT="${CARGO_TARGET_DIR:-$PWD/target}/release/quilt"
DEMO="$(mktemp -d "${TMPDIR:-/tmp}/quilt-demo.XXXXXX")"
echo "demo directory: $DEMO"
mkdir -p "$DEMO/dataset/csv" "$DEMO/dataset/images"
for i in $(seq 1 200); do printf 'id,value\n%d,%d\n' "$i" "$((i * i))" > "$DEMO/dataset/csv/part-$i.csv"; done
for i in $(seq 1 20); do head -c 200000 /dev/urandom > "$DEMO/dataset/images/img-$i.bin"; done
head -c 20000000 /dev/urandom > "$DEMO/dataset/large.bin"
cp "$DEMO/dataset/csv/part-1.csv" "$DEMO/dataset/csv/copy-of-part-1.csv"

cd "$DEMO/dataset"
q() { echo "+ quilt $*" >&2; "$QUILT" --no-progress "$@"; }
q init
V1=$(q build demo/dataset -m "first version" --meta '{"source": "generated", "rows": 200}')
echo "v1 = $V1"
printf 'id,value\n1,-1\n' > csv/part-1.csv
echo "new" > notes.txt
q status
V2=$(q build demo/dataset -m "second version")
q log demo/dataset
q diff "${V1:0:12}" "${V2:0:12}"
q remote add origin "$DEMO/remote"
q push demo/dataset
q checkout "demo/dataset@${V1:0:12}"
q status
q verify
cd "$DEMO"
q install "demo/dataset@${V2:0:12}" --from "file://$DEMO/remote" --dest "$DEMO/restored"
grep -q -- "-1" "$DEMO/restored/csv/part-1.csv"   # v2 content
test -f "$DEMO/restored/notes.txt"
cmp "$DEMO/restored/large.bin" "$DEMO/dataset/large.bin"
echo "demo finished: every step succeeded ($DEMO)"
