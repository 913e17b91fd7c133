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

sweep=(-b 1MiB -e 64MiB -f 4)
declare -A fabrics=(
  [rail]="rail:hosts=16,gpus=8,hosts_per_leaf=16"
  [leafspine]="fat-tree:tiers=2,hosts=16,gpus=8,hosts_per_leaf=2"
)
files=()
[[ -n $measured ]] && files+=("$measured")
for fabric in rail leafspine; do
  for algo in ring hierarchical; do
    for backend in packet analytic; do
      name="$fabric-$algo-$backend"
      echo "whatif: $name (${fabrics[$fabric]})" >&2
      "$fabtwin" sim --backend "$backend" --topology "${fabrics[$fabric]}" --algo "$algo" "${sweep[@]}" \
        --json "$out/$name.json" >"$out/$name.txt"
      files+=("$out/$name.json")
    done
  done
done
# Every curve in one plot; the full comparison in a file.
"$fabtwin" compare "${files[@]}" --plot "$out/whatif.png" >"$out/compare-all.txt"
# On the terminal: the four designs as the packet model sees them (against the first), then how far the
# analytic prediction sits from the packet simulation in each.
packets=()
[[ -n $measured ]] && packets+=("$measured")
for f in rail-ring rail-hierarchical leafspine-ring leafspine-hierarchical; do packets+=("$out/$f-packet.json"); done
echo
"$fabtwin" compare "${packets[@]}"
echo
echo "# analytic prediction against the packet simulation, |error| median / worst:"
printf '# %-24s %s\n' "" "small (<= 1MiB)                    large (>= 16MiB)"
for f in rail-ring rail-hierarchical leafspine-ring leafspine-hierarchical; do
  line=$("$fabtwin" compare "$out/$f-packet.json" "$out/$f-analytic.json" | grep -E "^#   analytic" | sed 's/^#   analytic *//')
  printf '# %-24s %s\n' "$f" "$line"
done
echo "#"
echo "# plot (every curve): $out/whatif.png; full table: $out/compare-all.txt; per run: $out/*.txt"
