#!/usr/bin/env bash
# The KV service's figures on this machine (fsync on): writes/s and latency at 1, 16 and 256
# clients, reads/s by ReadIndex and under leases, and failover after the leader's SIGKILL.
# Usage: examples/kv/figures.sh [SECONDS per workload, default 10]
set -euo pipefail
cd "$(dirname "$0")/../.."
export KV_FIGURES_SECONDS=${1:-10}
cargo test --release -p pureraft-kv --test figures -- --ignored --nocapture
