#!/usr/bin/env bash
# P4 / P5 / pull throughput against a local SeaweedFS server, measured in one run:
#   P4  first push of N small objects (default 10,000 x 4 KiB): quilt vs quilt3's push
#   P5  a push with nothing new of M objects (default 100,000): requests and wall time
#   pull throughput of large files vs the server's raw GET throughput (curl)
# usage: scripts/bench-push.sh [N] [M]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
M=${2:-100000}
VENV="${QUILT_VENV:-$HOME/.cache/quilt-venv}"
bash scripts/test-setup.sh
cargo build --release --quiet
QUILT="${CARGO_TARGET_DIR:-$PWD/target}/release/quilt"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/quilt-bench-push.XXXXXX")
# Stop the server before its directory goes: the watcher finds the server through that
# directory, so removing it first would leave the server running.
ROOT=$PWD
trap 'cd /; bash "$ROOT/scripts/s3-server.sh" stop "$WORK/s3" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
eval "export $(WEED="$VENV/bin/weed" S3_SERVER_WATCH_PID=$$ bash scripts/s3-server.sh start "$WORK/s3" "$PORT")"
export AWS_REGION=us-east-1 QUILT_DISABLE_USAGE_METRICS=true
mkbucket() { curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' --aws-sigv4 'aws:amz:us-east-1:s3' --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$AWS_ENDPOINT_URL/$1" >/dev/null; }
gen() { python3 - "$1" "$2" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"d{i // 1000:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:06d}.bin"), "wb") as f:
        f.write(i.to_bytes(8, "little") * 512)
PY
}
secs() { python3 -c "import time; print(time.time())"; }

echo "load: $(cat /proc/loadavg)"
gen "$WORK/small" "$N"
mkbucket bench-quilt; mkbucket bench-quilt3
cd "$WORK/small" && "$QUILT" -q --no-progress init && "$QUILT" -q --no-progress build bench/small >/dev/null
t0=$(secs); "$QUILT" -q --no-progress --json push bench/small s3://bench-quilt > "$WORK/p4.json"; t1=$(secs)
QUILT_P4=$(python3 -c "print(round($t1-$t0,3))")
t0=$(secs)
"$VENV/bin/python" -c "
import quilt3; p = quilt3.Package(); p.set_dir('/', '$WORK/small')
p.push('bench/small', registry='s3://bench-quilt3', message='bench', force=True)" >/dev/null 2>&1
t1=$(secs)
QUILT3_P4=$(python3 -c "print(round($t1-$t0,3))")
echo "P4: first push of $N x 4 KiB: quilt ${QUILT_P4}s, quilt3 ${QUILT3_P4}s, ratio $(python3 -c "print(round($QUILT3_P4/$QUILT_P4,1))")x"

gen "$WORK/many" "$M"
mkbucket bench-many
cd "$WORK/many" && "$QUILT" -q --no-progress init && "$QUILT" -q --no-progress build bench/many >/dev/null
"$QUILT" -q --no-progress push bench/many s3://bench-many >/dev/null
t0=$(secs); "$QUILT" --no-progress --json push bench/many s3://bench-many > "$WORK/p5.json"; t1=$(secs)
echo "P5: no-op push of $M objects: $(python3 -c "import json; print(json.load(open('$WORK/p5.json'))['requests'])") requests, $(python3 -c "print(round($t1-$t0,3))")s"

mkdir -p "$WORK/large" && for i in 1 2 3 4; do head -c 268435456 /dev/urandom > "$WORK/large/l$i.bin"; done
mkbucket bench-large
cd "$WORK/large" && "$QUILT" -q --no-progress init && "$QUILT" -q --no-progress build bench/large >/dev/null
"$QUILT" -q --no-progress push bench/large s3://bench-large >/dev/null
KEY=$(ls "$WORK/large/.quilt/objects/loose"/*/* | head -1 | awk -F/ '{print $(NF-1) $NF}')
t0=$(secs); curl -s -o /dev/null --aws-sigv4 'aws:amz:us-east-1:s3' --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$AWS_ENDPOINT_URL/bench-large/.quilt/objects/$KEY"; t1=$(secs)
RAW=$(python3 -c "print(round(268435456/($t1-$t0)/1e6))")
mkdir -p "$WORK/pull" && cd "$WORK/pull" && "$QUILT" -q --no-progress init
t0=$(secs); "$QUILT" -q --no-progress fetch bench/large s3://bench-large >/dev/null; t1=$(secs)
echo "pull: 1 GiB in $(python3 -c "print(round($t1-$t0,2))")s = $(python3 -c "print(round(1073741824/($t1-$t0)/1e6))") MB/s; raw single GET ${RAW} MB/s"
echo "load: $(cat /proc/loadavg)"
