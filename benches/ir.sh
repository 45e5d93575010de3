#!/usr/bin/env bash
# Instructions per operation (valgrind callgrind) for pureraft's side of the step-throughput
# workloads, measured exactly as shared/peer-bench/ir.sh measures raft-rs:
# (Ir(n2) - Ir(n1)) / (n2 - n1) in fixed-work mode (examples/workload.rs NAME OPS), so set-up
# and tear-down cancel out. Deterministic, unlike wall-clock times on a noisy machine.
#
# Usage: benches/ir.sh [--peers] [NAME ...]
#   NAME     only these pureraft workloads (default: all, each also as NAME_async, NAME_range
#            and NAME_async_range: asynchronous persistence, zero-copy apply, both)
#   --peers  also run shared/peer-bench/ir.sh (raft-rs) and ir-raftio.sh (raft-io), then print
#            one table: workload, pureraft, raft-rs, raft-io, and the peers' ratios to pureraft
#            (PEER_BENCH overrides where the peer harnesses live).
# Needs valgrind. Prints `IR name=... value=... unit=instructions/<op>` lines, a table of the
# host modes, and the commit latency of commit3_fsync in ticks (examples/fsync_latency).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
peers=no
names=()
for arg in "$@"; do
  case $arg in
    --peers) peers=yes ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) names+=("$arg") ;;
  esac
done

cargo build --release --locked -q --manifest-path "$repo/Cargo.toml" --example workload
bin=${CARGO_TARGET_DIR:-$repo/target}/release/examples/workload

ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 >/dev/null |
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }

ours=$(mktemp)
trap 'rm -f "$ours" "$ours.rs" "$ours.io"' EXIT
while read -r base n1 n2 unit; do
  for name in "$base" "${base}_async" "${base}_range" "${base}_async_range"; do
    if [ ${#names[@]} -gt 0 ] && ! printf '%s\n' "${names[@]}" | grep -qx "$name"; then
      continue
    fi
    a=$(ir "$name" "$n1"); b=$(ir "$name" "$n2")
    echo "IR name=$name value=$(( (b - a) / (n2 - n1) )) unit=instructions/$unit" | tee -a "$ours"
  done
done <<'LIST'
commit3_b1 64000 128000 entry
commit3_b64 64000 128000 entry
commit5_b64 64000 128000 entry
tick_idle 1024000 2048000 tick
elect3 2000 4000 election
elect3_prevote 2000 4000 election
read_index 64000 128000 read
read_lease 64000 128000 read
LIST

# modes: the four host modes of every workload measured, side by side.
modes() {
  echo
  echo "Instructions per op by host mode: synchronous (the default), asynchronous persistence,"
  echo "zero-copy apply (ranges), both"
  printf '%-16s %10s %10s %10s %12s\n' workload sync async range async_range
  for base in commit3_b1 commit3_b64 commit5_b64 tick_idle elect3 elect3_prevote read_index read_lease; do
    p=$(value "$base" "$ours")
    [ -n "$p" ] || continue
    printf '%-16s %10s %10s %10s %12s\n' "$base" "$p" "$(value "${base}_async" "$ours")" \
      "$(value "${base}_range" "$ours")" "$(value "${base}_async_range" "$ours")"
  done
}

# value NAME FILE: the value of workload NAME in FILE's IR lines, or nothing.
value() { sed -n "s/^IR name=$1 value=\([0-9]*\) .*/\1/p" "$2" | head -n 1; }

[ "$peers" = yes ] || { modes; exit 0; }

peer_bench=${PEER_BENCH:-$here/../../shared/peer-bench}
echo "== raft-rs ($peer_bench/ir.sh)"
bash "$peer_bench/ir.sh" | tee "$ours.rs"
echo "== raft-io ($peer_bench/ir-raftio.sh)"
bash "$peer_bench/ir-raftio.sh" | tee "$ours.io"

# ratio A B: A / B to one decimal, or '-' if either is missing.
ratio() { if [ -n "$1" ] && [ -n "$2" ] && [ "$2" -gt 0 ]; then
  awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; else echo -; fi; }

echo
echo "Instructions per op (valgrind callgrind; ratio = peer / pureraft, above 1 means pureraft runs fewer)"
printf '%-34s %12s %12s %12s %14s %14s\n' workload pureraft raft-rs raft-io raft-rs/pure raft-io/pure
# Each row: pureraft's workload, then the peers' workload it is compared with.
while read -r label ours_name rs_name io_name; do
  p=$(value "$ours_name" "$ours"); r=$(value "$rs_name" "$ours.rs"); i=$(value "$io_name" "$ours.io")
  [ -n "$p" ] || continue
  printf '%-34s %12s %12s %12s %14s %14s\n' "$label" "$p" "${r:--}" "${i:--}" "$(ratio "$r" "$p")" "$(ratio "$i" "$p")"
done <<'ROWS'
commit3_b1 commit3_b1 commit3_b1 commit3_b1
commit3_b64 commit3_b64 commit3_b64 commit3_b64
commit3_b64(raft-rs:batchappend) commit3_b64 commit3_b64_batchappend -
commit3_b64(raft-rs:onemsg) commit3_b64 commit3_b64_onemsg -
commit5_b64 commit5_b64 - -
tick_idle tick_idle tick_idle tick_idle
elect3 elect3 elect3 elect3
elect3(pureraft:prevote,checkquorum) elect3_prevote - -
read_index(pureraft:64_per_round) read_index - -
read_lease(pureraft:64_per_tick) read_lease - -
ROWS
modes

# commit3_fsync: not instructions but commit latency in ticks with a slow disk, synchronous
# and asynchronous persistence side by side (benches/harness/latency.rs).
echo
cargo run --release --locked -q --manifest-path "$repo/Cargo.toml" --example fsync_latency
