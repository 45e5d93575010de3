#!/usr/bin/env bash
# The KV linearizability test at length: SECONDS of kill -9 and isolations per run (default
# 300), with ReadIndex reads, with lease reads, and with asynchronous persistence, each
# history checked.
# Usage: examples/kv/lincheck.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
export KV_LINCHECK_SECONDS=${1:-300}
cargo test --release -p pureraft-kv --test linearizability -- --nocapture --test-threads 1
