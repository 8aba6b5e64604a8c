#!/usr/bin/env bash
# Install of a quilt3 package from a versioned bucket, quilt against quilt3, in one run.
#   quilt3 pushes v1 of bench/versioned (N files, default 1,000 x 4 KiB) into a bucket with
#   versioning enabled, then v2 over the same keys, so every physical key of v1 names an older
#   version (`?versionId=`). Then, RUNS times (default 3), alternating: `quilt install
#   bench/versioned@<v1> --from s3://… --dest D` with an empty cache, and quilt3's
#   `Package.install(..., top_hash=<v1>, dest=D)` with an empty cache. Each result is checked
#   byte for byte against v1's files.
# usage: scripts/bench-versioned-install.sh [N] [RUNS]
#   QUILT_BIN=path uses that quilt binary instead of building a release one.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
N=${1:-1000}
RUNS=${2:-3}
VENV="${QUILT_VENV:-$HOME/.cache/quilt-venv}"
PY="$VENV/bin/python"
if [[ -z ${QUILT_BIN:-} ]]; then
    bash scripts/test-setup.sh
    cargo build --release --quiet
    QUILT_BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/quilt"
fi
QUILT_BIN=$(realpath "$QUILT_BIN")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/quilt-bench-versioned.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
eval "export $(WEED="$VENV/bin/weed" S3_SERVER_WATCH_PID=$$ bash scripts/s3-server.sh start "$WORK/s3" "$PORT")"
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 QUILT_DISABLE_USAGE_METRICS=true
export AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent
BUCKET=bench-versioned
curl -s -o /dev/null -X PUT -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' --aws-sigv4 'aws:amz:us-east-1:s3' \
    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$AWS_ENDPOINT_URL/$BUCKET"
"$PY" "$REPO/tests/py/s3admin.py" versioning "$BUCKET"

gen() { python3 - "$1" "$2" "$3" <<'PY'
import os, sys
root, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    d = os.path.join(root, f"d{i // 100:02d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05d}.bin"), "wb") as f:
        f.write((i * 7919 + seed).to_bytes(8, "little") * 512)
PY
}
push() { "$PY" "$REPO/tests/py/remote.py" push "$1" bench/versioned "s3://$BUCKET" bench 2>/dev/null | tail -1; }
secs() { python3 -c "import time; print(time.time())"; }

cd "$WORK"  # outside any quilt working directory: install uses its cache store
echo "load: $(cat /proc/loadavg)"
gen "$WORK/v1" "$N" 1
gen "$WORK/v2" "$N" 2
V1=$(push "$WORK/v1")
V2=$(push "$WORK/v2")
echo "quilt3 pushed v1 $V1 and v2 $V2 ($N files x 4 KiB each, same keys)"

Q=(); Q3=()
for run in $(seq "$RUNS"); do
    dest="$WORK/quilt-$run"
    t0=$(secs)
    QUILT_CACHE_DIR="$WORK/cache-quilt-$run" "$QUILT_BIN" -q --no-progress install \
        "bench/versioned@$V1" --from "s3://$BUCKET" --dest "$dest" >/dev/null
    t1=$(secs)
    diff -r -q "$WORK/v1" "$dest" >/dev/null || { echo "quilt's install differs from v1"; exit 1; }
    Q+=("$(python3 -c "print(round($t1-$t0,3))")")

    dest="$WORK/quilt3-$run"
    t0=$(secs)
    XDG_CACHE_HOME="$WORK/cache-quilt3-$run" "$PY" -c "
import quilt3
quilt3.Package.install('bench/versioned', registry='s3://$BUCKET', top_hash='$V1', dest='$dest')" \
        >/dev/null 2>&1
    t1=$(secs)
    diff -r -q "$WORK/v1" "$dest" >/dev/null || { echo "quilt3's install differs from v1"; exit 1; }
    Q3+=("$(python3 -c "print(round($t1-$t0,3))")")
done
mean() { python3 -c "import sys; v=[float(x) for x in sys.argv[1:]]; print(round(sum(v)/len(v),3))" "$@"; }
echo "quilt  install of v1 (versioned GETs): ${Q[*]} s, mean $(mean "${Q[@]}") s"
echo "quilt3 install of v1 (versioned GETs): ${Q3[*]} s, mean $(mean "${Q3[@]}") s"
echo "ratio: $(python3 -c "print(round($(mean "${Q3[@]}")/$(mean "${Q[@]}"),1))")x"
echo "load: $(cat /proc/loadavg)"
