#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang and runs each for SECONDS (default 20) from a seed
# corpus made of tests/data, in a scratch folder (nothing under tests/ is written). A crash, a leak, a
# sanitizer report or a hang over 10 s fails the run and leaves the input in build/fuzz/crashes/.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]; FUZZ_RUNS=N instead stops each target after N inputs
# (SECONDS then only bounds it).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
build=build/fuzz
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(fuzz_topology_file fuzz_topology_spec fuzz_results fuzz_history fuzz_nccl_tests fuzz_perftest fuzz_sweep
    fuzz_hello)
fi

CXX=clang++ cmake -S fuzz -B "$build" -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j "${JOBS:-2}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
seed() {
  local target=$1
  shift
  mkdir -p "$work/$target"
  cp "$@" "$work/$target/"
}
seed fuzz_topology_file tests/data/topologies/*.json
seed fuzz_results tests/data/results/*.json tests/data/p2p/*.json results/baselines/*.json
seed fuzz_nccl_tests tests/data/nccl-tests/*.log tests/data/nccl-tests/*.json tests/data/nccl-tests/*.md
seed fuzz_perftest tests/data/perftest/*
seed fuzz_sweep results/sweeps/*.json
mkdir -p "$work/fuzz_topology_spec" "$work/fuzz_history" "$work/fuzz_hello"
i=0
for spec in fat-tree:k=4 fat-tree:tiers=2,hosts=16,hosts_per_leaf=4,oversub=2 leaf-spine:hosts=8 \
  rail:hosts=4,gpus=8,hosts_per_leaf=2,node=dgx-h100 rail-only:hosts=4,gpus=4,hosts_per_leaf=2 \
  rail:hosts=2,gpu=a100,nics=4,planes=2,speed=200Gbps,latency=1us,mtu=4KiB; do
  printf '%s' "$spec" >"$work/fuzz_topology_spec/seed$((i++))"
done
printf '%s\n' '{"schema":"fabtwin-history","schema_version":1,"recorded":"2026-01-01T00:00:00Z","scenario":"s","file":"c.json","git_revision":"abc","run_time":"t","host":"h","status":"pass","rows":[{"size_bytes":1024,"busbw_gbps":1.5,"time_s":1e-5}]}' \
  >"$work/fuzz_history/seed0"
printf '\x01\x00\x00\x00\x0d\x00\x00\x00\x01\x00\x00\x00\x02job-a' >"$work/fuzz_hello/seed0"

mkdir -p "$build/crashes"
for t in "${targets[@]}"; do
  if ! "$build/$t" -max_total_time="$seconds" -runs="${FUZZ_RUNS:--1}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/crashes/$t-" "$work/$t" >"$work/$t.log" 2>&1; then
    tail -n 60 "$work/$t.log"
    echo "fuzz: $t failed; the input is in $build/crashes/ (make it a regression test)" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
  took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$work/$t.log" | tail -n 1)
  echo "fuzz: $t: ${runs:-?} inputs in ${took:-$seconds}s, no crash"
done
