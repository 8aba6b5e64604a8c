#!/usr/bin/env bash
# Packaging S3 data in place, against a local SeaweedFS server, measured in one run:
#   I1  N small objects (default 10,000 x 4 KiB) uploaded with SHA-256 checksums:
#       `quilt build --registry` of the prefix vs quilt3's set_dir + build of the same prefix,
#       and quilt's requests by kind (goal: one HEAD per object + the LIST pages, 0 GET bytes)
#   I2  M objects without checksums (default 6 x 64 MiB): quilt's hashing throughput vs the raw
#       GET throughput of the same objects (curl, all at once)
# usage: scripts/bench-inplace.sh [N] [M] [SIZE_MIB] [JOBS]
# QUILT=/path/to/quilt skips the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
M=${2:-6}
SIZE_MIB=${3:-64}
JOBS=${4:-16}
VENV="${QUILT_VENV:-$HOME/.cache/quilt-venv}"
PY="$VENV/bin/python"
bash scripts/test-setup.sh
if [[ -z ${QUILT:-} ]]; then
    cargo build --release --quiet
    QUILT="${CARGO_TARGET_DIR:-$PWD/target}/release/quilt"
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/quilt-bench-inplace.XXXXXX")
# The server is stopped (through its pid file in $WORK/s3) before $WORK is removed.
trap 'bash scripts/s3-server.sh stop "$WORK/s3"; rm -rf "$WORK"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
eval "export $(WEED="$VENV/bin/weed" S3_SERVER_WATCH_PID=$$ bash scripts/s3-server.sh start "$WORK/s3" "$PORT")"
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 QUILT_DISABLE_USAGE_METRICS=true
export AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent HOME="$WORK/home"
mkdir -p "$HOME"
signed() { curl -s --aws-sigv4 'aws:amz:us-east-1:s3' --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"; }
mkbucket() { signed -o /dev/null -X PUT "$AWS_ENDPOINT_URL/$1"; }
secs() { python3 -c "import time; print(time.time())"; }
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, d))" "$@"; }

echo "load: $(cat /proc/loadavg)"
for b in src reg-quilt reg-quilt3 reg-raw; do mkbucket "$b"; done

# I1: small objects that carry checksums.
"$PY" tests/py/inplace.py many src small/ "$N" 4096
t0=$(secs)
"$QUILT" -q --no-progress --json build bench/small s3://src/small/ --registry s3://reg-quilt --jobs "$JOBS" > "$WORK/i1.json"
t1=$(secs)
QUILT_I1=$(python3 -c "print(round($t1-$t0,3))")
t0=$(secs)
"$PY" -c "
import quilt3; p = quilt3.Package().set_dir('/', 's3://src/small/')
print(p.build('bench/small', registry='s3://reg-quilt3'))" > "$WORK/i1-quilt3.txt" 2>/dev/null
t1=$(secs)
QUILT3_I1=$(python3 -c "print(round($t1-$t0,3))")
SAME=$([[ $(field "$WORK/i1.json" top_hash) == $(tail -1 "$WORK/i1-quilt3.txt") ]] && echo "equal top hashes" || echo "TOP HASHES DIFFER")
echo "I1: in-place build of $N x 4 KiB with checksums: quilt ${QUILT_I1}s, quilt3 ${QUILT3_I1}s, ratio $(python3 -c "print(round($QUILT3_I1/$QUILT_I1,1))")x ($SAME)"
echo "I1: quilt's requests to the source: $(field "$WORK/i1.json" 'source_requests'); from checksums $(field "$WORK/i1.json" from_checksums) of $(field "$WORK/i1.json" files)"

# I2: large objects without checksums: plain PUTs of distinct bytes.
head -c $((SIZE_MIB << 20)) /dev/urandom > "$WORK/blob"
for i in $(seq 1 "$M"); do
    printf '%08d' "$i" | dd of="$WORK/blob" bs=1 seek=0 conv=notrunc status=none
    signed -o /dev/null -X PUT --data-binary "@$WORK/blob" "$AWS_ENDPOINT_URL/src/large/l$i.bin"
done
rm -f "$WORK/blob"
BYTES=$((M * (SIZE_MIB << 20)))
t0=$(secs)
seq 1 "$M" | xargs -P "$M" -I{} curl -s -o /dev/null --aws-sigv4 'aws:amz:us-east-1:s3' --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$AWS_ENDPOINT_URL/src/large/l{}.bin"
t1=$(secs)
RAW=$(python3 -c "print(round($BYTES/($t1-$t0)/1e6))")
t0=$(secs)
"$QUILT" -q --no-progress --json build bench/large s3://src/large/ --registry s3://reg-quilt --jobs "$JOBS" > "$WORK/i2.json"
t1=$(secs)
HASHED=$(python3 -c "print(round($(field "$WORK/i2.json" hashed_bytes)/($t1-$t0)/1e6))")
echo "I2: $M x $SIZE_MIB MiB without checksums: raw GET (curl, $M at once) $RAW MB/s, quilt in-place hashing $HASHED MB/s ($(python3 -c "print(round(100*$HASHED/$RAW))")% of raw); requests $(field "$WORK/i2.json" 'source_requests')"
