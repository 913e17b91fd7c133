#!/bin/bash
# Runs inside the test VM (see run-vm.sh): sets up two Soft-RoCE devices on a veth pair and runs
# fabtwin's verbs runs on them: every all-reduce algorithm with 2, 3 and 4 ranks, sizes from 0 B to
# a few MiB, data checked; the failure cases (a rank killed mid-run, a root that never answers, a
# bad GID index), each of which must end every rank non-zero, clearly and without hanging; and
# perftest's ib_write_bw next to fabtwin's ring all-reduce busbw over the same devices.
# Usage: guest.sh FABTWIN RESULTS_DIR [SECTIONS]. Writes RESULTS_DIR/rc, then powers the VM off.
set -uo pipefail
fabtwin=$1
results=$2
sections=${3:-correctness,failures,performance}
want() { [[ ,$sections, == *,$1,* ]]; }
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
failures=0
passes=0
t_start=$(date +%s)

finish() {
  echo "guest: $passes checks passed, $failures failed, $(($(date +%s) - t_start)) s in the guest"
  echo $((failures > 0 ? 1 : 0)) >"$results/rc"
  sync
  busybox poweroff -f
}
trap finish EXIT

pass() { passes=$((passes + 1)); echo "PASS $*"; }
fail() { failures=$((failures + 1)); echo "FAIL $*"; }

# /tmp stays the host's (through the overlay, writes land in its tmpfs upper layer): a checkout under
# the host's /tmp, as CI's clean clones may be, must stay visible here. Our own files go under /run.
mount -t tmpfs tmpfs /run
hostname fabtwin-vm
ip link set lo up
for m in crc32_generic ib_core ib_uverbs udp_tunnel ip6_udp_tunnel rdma_rxe veth; do
  modprobe "$m" || { fail "modprobe $m"; exit; }
done
ip link add veth0 type veth peer name veth1
# rxe resolves the peer's link-local GID like any IPv6 neighbour: a tentative address (duplicate
# address detection, about 1 s) makes the first QP connection time out.
sysctl -qw net.ipv6.conf.veth0.accept_dad=0 net.ipv6.conf.veth1.accept_dad=0
ip link set veth0 up
ip link set veth1 up
rdma link add rxe0 type rxe netdev veth0 || { fail "rdma link add rxe0"; exit; }
rdma link add rxe1 type rxe netdev veth1 || { fail "rdma link add rxe1"; exit; }
for i in $(seq 1 100); do
  s0=$(cat /sys/class/infiniband/rxe0/ports/1/state 2>/dev/null)
  s1=$(cat /sys/class/infiniband/rxe1/ports/1/state 2>/dev/null)
  gid=$(cat /sys/class/infiniband/rxe1/ports/1/gids/0 2>/dev/null)
  [[ $s0 == *ACTIVE* && $s1 == *ACTIVE* && $gid != 0000:0000:0000:0000:0000:0000:0000:0000 ]] && break
  sleep 0.1
done
echo "guest: rxe0 $s0, rxe1 $s1 (GID 0 $gid) after $(($(date +%s) - t_start)) s"

out=/run/fabtwin-out
mkdir -p $out
port=20000

# run_job NAME RANKS LIMIT_S ARGS...: one fabtwin process per rank, rank r on rxe(r%2), all under a
# time limit so a hang shows as a failure instead of stalling CI. Leaves codes in rc_0.. and output
# in $out/NAME.r.{out,err}.
run_job() {
  local name=$1 n=$2 limit=$3
  shift 3
  port=$((port + 1))
  local pids=()
  for ((r = 0; r < n; r++)); do
    timeout -k 2 "$limit" "$fabtwin" run --rank $r --world "$n" --root 127.0.0.1:$port --device rxe$((r % 2)) \
      "$@" >"$out/$name.$r.out" 2>"$out/$name.$r.err" &
    pids+=($!)
  done
  for ((r = 0; r < n; r++)); do
    wait "${pids[$r]}"
    eval "rc_$r=$?"
  done
}

show() {  # show NAME RANKS: what the ranks printed
  local r
  for ((r = 0; r < $2; r++)); do
    sed "s/^/  [$1 rank $r] /" "$out/$1.$r.out" "$out/$1.$r.err"
  done
}

# --- Correctness: every all-reduce algorithm, 2-4 ranks, 0 B and ragged sizes up to ~1.9 MiB ------
# -b 0 -f 5: 0, 1, 5, 25, ... 1953125 B: none a multiple of the element size or of the rank count.
algos="ring tree halving-doubling recursive-doubling hierarchical direct"
t_matrix=$(date +%s)
want correctness || algos=""
for n in 2 3 4; do
  for algo in $algos; do
    extra=()
    # Two ranks per host, so the rail-aware algorithm has both an intra- and an inter-host level.
    [[ $algo == hierarchical && $n == 4 ]] && extra=(--ranks-per-host 2)
    name=ar-$algo-$n
    t0=$(date +%s%N)
    run_job "$name" "$n" 60 --algo "$algo" -b 0 -e 2MiB -f 5 -w 0 -n 1 -c 1 --timeout 20s "${extra[@]}"
    ok=1
    for ((r = 0; r < n; r++)); do eval "[[ \$rc_$r == 0 ]]" || ok=0; done
    grep -q "Out of bounds values : 0 OK" "$out/$name.0.out" || ok=0
    rows=$(grep -c '^ *[0-9]' "$out/$name.0.out")
    [[ $rows == 11 ]] || ok=0
    ms=$((($(date +%s%N) - t0) / 1000000))
    if ((ok)); then pass "all_reduce $algo, $n ranks, $rows sizes 0 B..1.9 MiB, in and out of place, checked ($ms ms)"; else
      fail "all_reduce $algo, $n ranks (exit codes $rc_0 $rc_1 ..., $rows rows)"
      show "$name" "$n"
    fi
  done
done
if want correctness; then
  echo "guest: correctness matrix took $(($(date +%s) - t_matrix)) s; 3 ranks, ring:"
  sed 's/^/  /' "$out/ar-ring-3.0.out"
fi

# --- Failure cases: every rank must end non-zero, with a clear message, well within its limit --------
# expect_fail NAME RANKS PATTERN: every rank non-zero and not killed by `timeout` (124/137), and the
# pattern in some rank's standard error.
expect_fail() {
  local name=$1 n=$2 pattern=$3 ok=1 r codes=""
  for ((r = 0; r < n; r++)); do
    eval "code=\$rc_$r"
    codes+=" $code"
    [[ $code != 0 && $code != 124 && $code != 137 ]] || ok=0
  done
  cat "$out/$name".*.err | grep -q -- "$pattern" || ok=0
  if ((ok)); then
    pass "$name: exit codes$codes"
    for ((r = 0; r < n; r++)); do sed -n "1s/^/  [rank $r] /p" "$out/$name.$r.err"; done
  else
    fail "$name: exit codes$codes, expected every rank non-zero and \"$pattern\""
    show "$name" "$n"
  fi
}

if want failures; then
# A rank killed mid-run (SIGKILL: no chance to say goodbye). Rank 2 runs without `timeout` so that
# its own pid is the one killed.
port=$((port + 1))
pids=()
for r in 0 1 2; do
  cmd=("$fabtwin" run --rank $r --world 3 --root 127.0.0.1:$port --device rxe$((r % 2)) --algo ring
    -b 256KiB -e 256KiB -n 100000 -w 0 -c 0 --timeout 20s)
  if ((r < 2)); then cmd=(timeout -k 2 60 "${cmd[@]}"); fi
  "${cmd[@]}" >"$out/killed.$r.out" 2>"$out/killed.$r.err" &
  pids+=($!)
done
for i in $(seq 1 200); do
  grep -q "#wrong" "$out/killed.0.out" 2>/dev/null && break
  sleep 0.1
done
sleep 1
t0=$(date +%s%N)
kill -9 "${pids[2]}"
for r in 0 1 2; do
  wait "${pids[$r]}" 2>/dev/null
  eval "rc_$r=$?"
done
echo "guest: survivors of the killed rank finished $((($(date +%s%N) - t0) / 1000000)) ms after the kill"
rc_2=1  # killed on purpose: only the survivors' codes and messages matter
expect_fail killed 3 "rank 2"

# A root that accepts the connection but never answers (a hung rank 0), and no root at all.
port=$((port + 1))
# nc keeps the connection open as long as its standard input stays open and silent.
sleep 60 | busybox nc -l -p $port >/dev/null 2>&1 &
nc_pid=$!
sleep 0.5
timeout -k 2 30 "$fabtwin" run --rank 1 --world 2 --root 127.0.0.1:$port --device rxe1 --timeout 3s \
  -b 8 -e 8 >"$out/silent-root.0.out" 2>"$out/silent-root.0.err"
rc_0=$?
kill "$nc_pid" 2>/dev/null
expect_fail silent-root 1 "waiting for rank 0 (the root) to answer"
port=$((port + 1))
timeout -k 2 30 "$fabtwin" run --rank 1 --world 2 --root 127.0.0.1:$port --device rxe1 --timeout 3s \
  -b 8 -e 8 >"$out/no-root.0.out" 2>"$out/no-root.0.err"
rc_0=$?
expect_fail no-root 1 "could not reach the root"

# A bad GID index on one rank only: that rank reports it, and the others stop too.
port=$((port + 1))
timeout -k 2 30 "$fabtwin" run --rank 0 --world 2 --root 127.0.0.1:$port --device rxe0 --timeout 10s \
  -b 8 -e 8 >"$out/bad-gid.0.out" 2>"$out/bad-gid.0.err" &
p0=$!
timeout -k 2 30 "$fabtwin" run --rank 1 --world 2 --root 127.0.0.1:$port --device rxe1 --timeout 10s \
  --gid-index 7 -b 8 -e 8 >"$out/bad-gid.1.out" 2>"$out/bad-gid.1.err"
rc_1=$?
wait $p0
rc_0=$?
expect_fail bad-gid 2 "gid-index 7"
run_job bad-gid-range 2 30 --gid-index 4096 -b 8 -e 8 --timeout 10s
expect_fail bad-gid-range 2 "has GID indexes 0.."
fi

# --- Performance next to perftest (reported, not asserted) ----------------------------------------
if want performance; then
size=1048576
# perftest_bw NAME ARGS...: ib_write_bw server on rxe1, client on rxe0; prints the average Gb/s.
perftest_bw() {
  local name=$1
  shift
  port=$((port + 1))
  timeout -k 2 60 ib_write_bw -d rxe1 -x 0 -F --report_gbits -s $size -n 200 -p $port "$@" >"$out/$name.server" 2>&1 &
  local srv=$!
  sleep 1
  timeout -k 2 60 ib_write_bw -d rxe0 -x 0 -F --report_gbits -s $size -n 200 -p $port "$@" 127.0.0.1 \
    >"$out/$name.client" 2>&1
  local rc=$?
  wait $srv
  # The result line: bytes, iterations, peak Gb/s, average Gb/s, message rate.
  local gbits
  gbits=$(awk -v s=$size '$1 == s && NF >= 5 {print $4}' "$out/$name.client" | tail -n1)
  if [[ $rc == 0 && -n $gbits ]]; then echo "$gbits"; else sed 's/^/  [ib_write_bw] /' "$out/$name.client" >&2; fi
}
perf_gbits=$(perftest_bw perftest)
[[ -n $perf_gbits ]] && pass "ib_write_bw rxe0 -> rxe1, $size B: $perf_gbits Gb/s" || fail "ib_write_bw"
# Both directions at once, as a 2-rank ring loads them: the same kernel and CPUs carry both.
bidir_gbits=$(perftest_bw perftest-bidir -b)
[[ -n $bidir_gbits ]] && pass "ib_write_bw -b (both directions), $size B: $bidir_gbits Gb/s in total" ||
  fail "ib_write_bw -b"

run_job p2p 2 90 --p2p -b 1024 -e $size -f 32 -n 200 -w 20 --json "$out/p2p.json" --timeout 20s
ok=1
[[ $rc_0 == 0 && $rc_1 == 0 ]] || ok=0
for field in '"collective": "p2p_write"' '"bw_gbps"' '"latency_s"' '"time_s"' '"backend": "verbs"'; do
  grep -q "$field" "$out/p2p.json" || ok=0
done
if ((ok)); then pass "fabtwin run --p2p rxe0 <-> rxe1, JSON as notes/p2p-format.md"; sed 's/^/  /' "$out/p2p.0.out"; else
  fail "fabtwin run --p2p"
  show p2p 2
fi
p2p_gbps=$(awk -v s=$size '$1 == s {print $3}' "$out/p2p.0.out")  # 4 decimals: enough here

for chunks in 0 8; do
  run_job ring-perf-$chunks 2 90 --algo ring -b $size -e $size -n 10 -w 2 -c 1 --outplace --chunks $chunks \
    --json "$out/ring-$chunks.json" --timeout 20s
  # From the JSON: the table rounds to nccl-tests' few decimals, too coarse under emulation.
  b=$(sed -n 's/.*"busbw_gbps": \([0-9.e+-]*\).*/\1/p' "$out/ring-$chunks.json" | head -n1)
  if [[ $rc_0 == 0 && $rc_1 == 0 && -n $b ]] && grep -q '"busbw_gbps"' "$out/ring-$chunks.json"; then
    pass "fabtwin ring all_reduce, 2 ranks, $size B out of place, --chunks $chunks: busbw $b GB/s"
  else
    fail "fabtwin ring all_reduce perf run, --chunks $chunks"
    show ring-perf-$chunks 2
  fi
  eval "busbw_$chunks=\$b"
done
# The measured file must be one the comparison reads: the schema is shared by every backend.
if "$fabtwin" compare "$out/ring-0.json" "$out/ring-8.json" >"$out/compare.out" 2>&1; then
  pass "fabtwin compare reads the verbs results"
else
  fail "fabtwin compare on the verbs results: $(tail -n 3 "$out/compare.out")"
fi
# run's table is nccl-tests' own: read back through standard input, it gives the rows its JSON has.
count_rows() { grep -o '"size_bytes"' "$1" | wc -l; }
if "$fabtwin" import-nccl - -o "$out/ring-back.json" <"$out/ring-perf-0.0.out" >"$out/import.out" 2>&1 &&
  [[ $(count_rows "$out/ring-back.json") == $(count_rows "$out/ring-0.json") ]]; then
  pass "fabtwin run's table imports back with import-nccl -: $(head -n 1 "$out/import.out")"
else
  fail "import-nccl - on fabtwin run's table: $(tail -n 3 "$out/import.out")"
fi
# -I 1 -K 1: nccl-tests' per-iteration columns after each half, read back as the rows' per_iteration;
# -a 3 takes the slowest rank's time.
run_job per-iteration 2 60 --algo ring -b 64KiB -e 256KiB -f 4 -n 8 -w 1 -c 1 -I 1 -K 1 -a 3 \
  --json "$out/per-iteration.json"
if [[ $rc_0 == 0 && $rc_1 == 0 ]] && grep -q 'i_p99' "$out/per-iteration.0.out" &&
  "$fabtwin" import-nccl - -o "$out/per-iteration-back.json" <"$out/per-iteration.0.out" >"$out/pi.out" 2>&1 &&
  [[ $(grep -c '"p99_us"' "$out/per-iteration-back.json") == 4 && $(grep -c '"p99_us"' "$out/per-iteration.json") == 4 ]] &&
  grep -q '"average": 3' "$out/per-iteration.json"; then
  pass "fabtwin run -I 1 -K 1 -a 3: per-iteration columns, imported back: $(grep -m1 -A1 '"per_iteration"' "$out/per-iteration.json" | tr -s ' \n' ' ')"
else
  fail "fabtwin run -I 1: $(tail -n 3 "$out/pi.out" 2>/dev/null)"
  show per-iteration 2
fi
# -d all -o all: every type and reduction, checked, in one table; --csv holds them all (6 x 4 x 2 halves).
run_job all-types 2 90 --algo ring -b 1KiB -e 1KiB -n 1 -w 0 -c 1 -d all -o all --csv "$out/all-types.csv"
if [[ $rc_0 == 0 && $rc_1 == 0 && $(wc -l <"$out/all-types.csv") == 49 ]] && ! grep -q ',fail,' "$out/all-types.csv" &&
  grep -q ',bfloat16,min,' "$out/all-types.csv"; then
  pass "fabtwin run -d all -o all: 24 series checked, $(($(wc -l <"$out/all-types.csv") - 1)) CSV rows"
else
  fail "fabtwin run -d all -o all: $(wc -l <"$out/all-types.csv" 2>/dev/null) CSV lines"
  show all-types 2
fi
# Under Slurm, no --root: rank 0 listens on the first host of the node list, on a port of the job; with
# --devices rxe (NCCL_IB_HCA's syntax) local rank i takes the i-th rxe device.
pids=()
for r in 0 1; do
  env SLURM_PROCID=$r SLURM_NTASKS=2 SLURM_LOCALID=$r SLURM_JOB_ID=4711 SLURM_STEP_ID=0 \
    SLURM_JOB_NODELIST=127.0.0.1 timeout -k 2 60 "$fabtwin" run --devices rxe --algo ring -b 1KiB -e 1KiB \
    -n 1 -w 0 -c 1 >"$out/slurm.$r.out" 2>"$out/slurm.$r.err" &
  pids+=($!)
done
wait "${pids[0]}"; rc_0=$?
wait "${pids[1]}"; rc_1=$?
if [[ $rc_0 == 0 && $rc_1 == 0 ]] && grep -q 'rank 0 .* device rxe0 ' "$out/slurm.0.out" &&
  grep -q 'rank 1 .* device rxe1 ' "$out/slurm.0.out"; then
  pass "fabtwin run under Slurm variables: root from SLURM_JOB_NODELIST, local rank 0 on rxe0 and 1 on rxe1"
else
  fail "fabtwin run under Slurm variables with --devices rxe"
  show slurm 2
fi
busbw=$busbw_0
if [[ -n $perf_gbits && -n $busbw ]]; then
  awk -v b="$busbw" -v b8="$busbw_8" -v g="$perf_gbits" -v d="$bidir_gbits" -v p="$p2p_gbps" 'BEGIN {
    w = g / 8
    printf "RATIO busbw / ib_write_bw = %.4f GB/s / %.4f GB/s = %.2f (goal 0.9; reported, not asserted)\n", b, w, (w > 0 ? b / w : 0)
    if (b8 != "") printf "RATIO busbw (--chunks 8) / ib_write_bw = %.4f / %.4f = %.2f\n", b8, w, (w > 0 ? b8 / w : 0)
    if (d != "") printf "RATIO busbw / (ib_write_bw -b per direction) = %.4f / %.4f = %.2f\n", b, d / 16, (d > 0 ? b / (d / 16) : 0)
    if (p != "") printf "RATIO fabtwin --p2p / ib_write_bw = %.4f GB/s / %.4f GB/s = %.2f\n", p, w, (w > 0 ? p / w : 0)
  }'
fi
fi
