# Sourced by .ci/run and scripts/test.sh: the whole suite runs every group, so a variable that
# skips a group (meant for local runs of single tests) makes it stop with an error instead of
# reporting skipped tests as passed.
refused=()
[ "${QUILT_S3_TESTS:-}" = skip ] && refused+=("QUILT_S3_TESTS=skip (skips the S3 tests)")
[ -n "${QUILT_SKIP_PYTHON+set}" ] && refused+=("QUILT_SKIP_PYTHON=${QUILT_SKIP_PYTHON} (skips the quilt3 tests)")
if [ ${#refused[@]} -gt 0 ]; then
  for r in "${refused[@]}"; do
    echo "error: $r is set; the full suite does not skip tests." >&2
  done
  echo "Unset it (unset QUILT_S3_TESTS QUILT_SKIP_PYTHON), or run single test binaries with cargo test for a partial run." >&2
  exit 1
fi
unset refused
