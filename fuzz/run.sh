#!/usr/bin/env bash
# Runs one fuzz target for a given time on the nightly toolchain, growing fuzz/corpus/TARGET.
# Usage: fuzz/run.sh TARGET SECONDS [extra libFuzzer flags...]   (TARGET: step, cluster, restore)
# Then, to keep the committed corpus small: cargo +nightly fuzz cmin TARGET
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
target=${1:?usage: fuzz/run.sh TARGET SECONDS}
seconds=${2:?usage: fuzz/run.sh TARGET SECONDS}
shift 2
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
cd "$here/.."
exec cargo +nightly fuzz run "$target" -- \
  -max_total_time="$seconds" -print_final_stats=1 "$@"
