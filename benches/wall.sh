#!/usr/bin/env bash
# Wall-clock rates of pureraft and its peers, interleaved in one sitting: for each workload,
# pureraft (examples/workload.rs NAME --seconds S: 3 runs, median), then raft-rs
# (shared/peer-bench/run.sh NAME) and raft-io (run-raftio.sh NAME), each also the median of 3
# runs of 3 s. Then one table of the medians side by side. This machine drifts by 15-30% from
# minute to minute: interleaving keeps the comparison fair; instruction counts (ir.sh) are the
# figures to trust.
#
# Usage: benches/wall.sh [--seconds S] [--passes P] [NAME ...]
#   --seconds S  length of each pureraft run (default 3, the peers' run length)
#   --passes P   go through every workload P times (default 1); the table takes each
#                crate's median over the passes
#   NAME         only these workloads (default: commit3_b1 commit3_b64 commit5_b64 tick_idle
#                elect3; the peers have no commit5_b64)
# PEER_BENCH overrides where the peer harnesses live.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
peer_bench=${PEER_BENCH:-$here/../../shared/peer-bench}
seconds=3
passes=1
names=()
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --passes) passes=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) names+=("$1"); shift ;;
  esac
done
[ ${#names[@]} -gt 0 ] || names=(commit3_b1 commit3_b64 commit5_b64 tick_idle elect3)

cargo build --release --locked -q --manifest-path "$repo/Cargo.toml" --example workload
bin=${CARGO_TARGET_DIR:-$repo/target}/release/examples/workload

out=$(mktemp)
trap 'rm -f "$out"' EXIT
# tagged CRATE CMD...: runs CMD, shows its output, and records its WORKLOAD lines for CRATE.
tagged() { local crate=$1; shift
  { "$@" || echo "($crate: $* failed)"; } | tee /dev/stderr | sed -n "s/^WORKLOAD /$crate /p" >> "$out"; }

for pass in $(seq 1 "$passes"); do
  for name in "${names[@]}"; do
    echo "== pass $pass: $name" >&2
    tagged pureraft "$bin" "$name" --seconds "$seconds"
    case $name in
      commit5_b64) ;; # no peer counterpart
      commit3_b64)
        tagged raft-rs bash "$peer_bench/run.sh" commit3_b64 commit3_b64_onemsg
        tagged raft-io bash "$peer_bench/run-raftio.sh" commit3_b64 ;;
      *)
        tagged raft-rs bash "$peer_bench/run.sh" "$name"
        tagged raft-io bash "$peer_bench/run-raftio.sh" "$name" ;;
    esac
  done
done

# median CRATE NAME: the median over the passes of CRATE's value for NAME, or nothing.
median() { sed -n "s/^$1 name=$2 value=\([0-9]*\) .*/\1/p" "$out" | sort -n |
  awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
unit() { sed -n "s/^pureraft name=$1 value=[0-9]* unit=\(.*\)$/\1/p" "$out" | head -n 1; }
# ratio A B: A / B to two decimals, or '-' if either is missing.
ratio() { if [ -n "$1" ] && [ -n "$2" ] && [ "$2" -gt 0 ]; then
  awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; else echo -; fi; }

echo
echo "Wall clock, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $passes pass(es); medians; ratio = pureraft / peer"
printf '%-28s %14s %14s %14s %13s %13s  %s\n' workload pureraft raft-rs raft-io pure/raft-rs pure/raft-io unit
for name in "${names[@]}"; do
  p=$(median pureraft "$name"); r=$(median raft-rs "$name"); i=$(median raft-io "$name")
  printf '%-28s %14s %14s %14s %13s %13s  %s\n' "$name" "${p:--}" "${r:--}" "${i:--}" \
    "$(ratio "$p" "$r")" "$(ratio "$p" "$i")" "$(unit "$name")"
  if [ "$name" = commit3_b64 ]; then
    r=$(median raft-rs commit3_b64_onemsg)
    printf '%-28s %14s %14s %14s %13s %13s  %s\n' "commit3_b64(raft-rs:onemsg)" "${p:--}" "${r:--}" - \
      "$(ratio "$p" "$r")" - "$(unit "$name")"
  fi
done
