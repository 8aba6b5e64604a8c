#!/usr/bin/env bash
# Fuzzes one cargo-fuzz target until it has used CPU_SECONDS of CPU time (not wall time: the
# machine is shared), then stops it with SIGINT so libFuzzer prints its final stats.
#   fuzz/run-for-cpu.sh TARGET [CPU_SECONDS=1200]
# NICE (default 19) is the fuzzer's niceness; a negative one (as root) gives it a core of its
# own on a busy machine. FUZZ_DIR (default: this script's folder) is the fuzz/ folder whose
# built targets run, e.g. that of another checkout. WRAP is a command put before the fuzzer,
# e.g. WRAP=eatmydata for the pack targets, whose every input initialises a scratch store and
# would otherwise spend most of its time waiting for fsync.
# The working corpus lives outside the repository (FUZZ_WORK, default ~/.cache/quilt-fuzz),
# seeded from fuzz/corpus/TARGET; `cargo fuzz cmin` brings a minimized copy back. Crashers go
# to fuzz/artifacts/TARGET/ (not in git). Needs `cargo fuzz build TARGET` first.
set -euo pipefail
target="$1"
cpu="${2:-1200}"
here="${FUZZ_DIR:-$(cd "$(dirname "$0")" && pwd)}"
work="${FUZZ_WORK:-$HOME/.cache/quilt-fuzz}"
bin="$here/target/x86_64-unknown-linux-gnu/release/$target"
[ -x "$bin" ] || { echo "error: $bin is not built: run cargo +nightly fuzz build $target" >&2; exit 1; }
corpus="$work/corpus/$target"
log="$work/logs/$target.log"
mkdir -p "$corpus" "$work/logs" "$here/artifacts/$target"
cp -n "$here/corpus/$target/"* "$corpus/" 2>/dev/null || true
count() { find "$corpus" -type f | wc -l; }
bytes() { find "$corpus" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
echo "$target: corpus before: $(count) files, $(bytes) bytes" | tee "$log.summary"
nice -n "${NICE:-19}" ${WRAP:-} "$bin" "$corpus" -artifact_prefix="$here/artifacts/$target/" -print_final_stats=1 \
  -max_total_time=86400 >"$log" 2>&1 &
pid=$!
tick=$(getconf CLK_TCK)
used=0
while kill -0 "$pid" 2>/dev/null; do
  read -r -a st <"/proc/$pid/stat" || break
  # Fields 14 and 15 (utime, stime) counted after the parenthesised command name.
  used=$(( (st[13] + st[14]) / tick ))
  if [ "$used" -ge "$cpu" ]; then
    kill -INT "$pid"
    break
  fi
  sleep 5
done
wait "$pid" || true
echo "$target: CPU seconds: $used" | tee -a "$log.summary"
echo "$target: corpus after: $(count) files, $(bytes) bytes" | tee -a "$log.summary"
grep -E "stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs|^==[0-9]+== ERROR|panicked|Test unit written" "$log" \
  | tee -a "$log.summary" || true
