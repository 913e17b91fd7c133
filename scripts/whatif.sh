#!/usr/bin/env bash
# The main job: what a cluster architect asks first. 16 hosts x 8 GPUs at 400 Gb/s, cabled
# rail-optimized or as a leaf-spine with the same 24 switches and 256 cables (all 8 NICs of a host on
# one leaf), running a flat ring or the rail-aware hierarchical all-reduce; each predicted by the
# analytic model and simulated packet by packet, side by side in one table and one plot.
#
# Usage: scripts/whatif.sh [FABTWIN] [MEASURED.json]
# A measured run (from `fabtwin run` or `fabtwin import-nccl`) of the same collective joins the table
# as its first column, and every other column is then compared against it.
set -euo pipefail
cd "$(dirname "$0")/.."
fabtwin=${1:-build/release/bench/fabtwin}
measured=${2:-}
out=results/whatif
mkdir -p "$out"

# The matrix is a sweep file: results/sweeps/whatif.json (fabrics x algorithms x backends).
"$fabtwin" sweep results/sweeps/whatif.json -o "$out" --jobs 2 >&2
# A run's results file, by its name in the sweep (NAME.HASH.json: older results of other matrices in
# the folder are never picked up).
run() {
  "$fabtwin" sweep results/sweeps/whatif.json -o "$out" --list | awk -v n="$1" -v d="$out" '$2 == n { print d "/" $2 "." $3 ".json" }'
}
files=()
[[ -n $measured ]] && files+=("$measured")
for fabric in rail leafspine; do
  for algo in ring hierarchical; do
    for backend in packet analytic; do files+=("$(run "$fabric-$algo-$backend")"); done
  done
done
"$fabtwin" sweep results/sweeps/whatif.json -o "$out" --merge >"$out/ranking.txt"
# Every curve in one plot; the full comparison in a file.
"$fabtwin" compare "${files[@]}" --plot "$out/whatif.png" >"$out/compare-all.txt"
# On the terminal: the four designs as the packet model sees them (against the first), then how far the
# analytic prediction sits from the packet simulation in each.
packets=()
[[ -n $measured ]] && packets+=("$measured")
for f in rail-ring rail-hierarchical leafspine-ring leafspine-hierarchical; do packets+=("$(run "$f-packet")"); done
echo
"$fabtwin" compare "${packets[@]}"
echo
echo "# analytic prediction against the packet simulation, |error| median / worst:"
printf '# %-24s %s\n' "" "small (<= 1MiB)                    large (>= 16MiB)"
for f in rail-ring rail-hierarchical leafspine-ring leafspine-hierarchical; do
  line=$("$fabtwin" compare "$(run "$f-packet")" "$(run "$f-analytic")" | grep -E "^#   analytic" | sed 's/^#   analytic *//')
  printf '# %-24s %s\n' "$f" "$line"
done
echo "#"
echo "# plot (every curve): $out/whatif.png; full table: $out/compare-all.txt; designs ranked per size: $out/ranking.txt; per run: $out/*.txt"
