# Shared set-up of the benchmarks that compare quilt with restic on a local SeaweedFS server.
# Sourced (not run) by scripts/bench-packed.sh and scripts/bench-chunks.sh, from the repository
# root, after they set WORK (a fresh temp directory) and ROOT (the repository).
#
#   bench_setup         installs the test tools (quilt3 venv, weed) and restic, builds quilt
#                       (QUILT is set to the binary; a given QUILT is used as is)
#   bench_start_server  starts SeaweedFS in $WORK/s3 (stopped by the EXIT trap it installs,
#                       which also removes $WORK) and exports the AWS_* variables
#   mkbucket NAME       creates a bucket
#   bucket_bytes NAME   the total size of the objects in a bucket
#   restic_env NAME     points restic at s3://NAME on the server (RESTIC_* variables)
#   secs, elapsed T0 T1, load

VENV="${QUILT_VENV:-$HOME/.cache/quilt-venv}"
export QUILT_DISABLE_USAGE_METRICS=true AWS_REGION=us-east-1

bench_setup() {
  bash "$ROOT/scripts/test-setup.sh"
  if ! command -v restic >/dev/null 2>&1; then
    echo "installing restic (apt-get)" >&2
    if [ "$(id -u)" = 0 ]; then apt-get install -y -qq restic >&2; else sudo apt-get install -y -qq restic >&2; fi
  fi
  command -v restic >/dev/null 2>&1 || { echo "restic is not installed and could not be" >&2; exit 2; }
  if [ -z "${QUILT:-}" ]; then
    (cd "$ROOT" && cargo build --release --quiet)
    QUILT="${CARGO_TARGET_DIR:-$ROOT/target}/release/quilt"
  fi
  [ -x "$QUILT" ] || { echo "no quilt binary at $QUILT" >&2; exit 2; }
  echo "quilt: $QUILT ($("$QUILT" --version)); $(restic version | cut -d' ' -f1-2)"
}

bench_start_server() {
  # Stop the server before its directory goes: the watcher finds the server through that
  # directory, so removing it first would leave the server running.
  trap 'cd /; bash "$ROOT/scripts/s3-server.sh" stop "$WORK/s3" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  eval "export $(WEED="$VENV/bin/weed" S3_SERVER_WATCH_PID=$$ bash "$ROOT/scripts/s3-server.sh" start "$WORK/s3" "$port")"
}

mkbucket() {
  curl -s -o /dev/null -X PUT -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
    --aws-sigv4 'aws:amz:us-east-1:s3' --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    "$AWS_ENDPOINT_URL/$1"
}

bucket_bytes() {
  "$VENV/bin/python" - "$1" <<'PY'
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
total = 0
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[1]):
    total += sum(o["Size"] for o in page.get("Contents", []))
print(total)
PY
}

restic_env() {
  export RESTIC_REPOSITORY="s3:$AWS_ENDPOINT_URL/$1" RESTIC_PASSWORD=bench-password
  export RESTIC_CACHE_DIR="$WORK/restic-cache"
}

secs() { python3 -c "import time; print(time.time())"; }
elapsed() { python3 -c "print(f'{$2-$1:.2f}')"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
