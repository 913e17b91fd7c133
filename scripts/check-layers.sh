#!/usr/bin/env bash
# The seam, checked: algorithms never name a backend, backends never name an algorithm, each backend
# links only what it needs, and no source file outgrows one screenful of purpose.
#   scripts/check-layers.sh FABTWIN      (FABTWIN: the built command, whose `sim --list` names the algorithms)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fabtwin="${1:?usage: $0 FABTWIN}"
cd "$root"
failed=0
complain() {
  echo "check-layers: $*" >&2
  failed=1
}

sources() { git ls-files "$@" | grep -E '\.(cpp|hpp)$' || true; }

# 1. Algorithms and topologies know nothing of the backends, the results or the experiments.
for f in $(sources collectives topologies); do
  if grep -nE '#include "fabtwin/(backend|analytic|packet|verbs|results|experiment)/' "$f"; then
    complain "$f: the algorithm library includes a backend or results header"
  fi
done

# 2. Backends know no algorithm: no algorithm library header, no algorithm's name.
names=$("$fabtwin" sim --list | awk '$1 != "(any)" { print $2 }' | sort -u)
for f in $(sources fabric); do
  if grep -n '#include "fabtwin/coll/algorithms.hpp"' "$f"; then
    complain "$f: a backend includes the algorithm library"
  fi
  for name in $names; do
    if grep -n "\"$name\"" "$f"; then complain "$f: a backend names the algorithm \"$name\""; fi
  done
done

# 3. Each backend links only what it needs: ns-3 stays in packet/, rdma-core in verbs/, SimGrid in flow/.
for f in $(sources fabric | grep -v '^fabric/packet/'); do
  if grep -n '#include <ns3/' "$f"; then complain "$f: ns-3 outside fabric/packet"; fi
done
for f in $(sources fabric bench results | grep -v '^fabric/verbs/' | grep -v '^bench/cli/cli_run.cpp'); do
  if grep -n '#include <infiniband/' "$f"; then complain "$f: rdma-core outside fabric/verbs"; fi
done

for f in $(sources topologies collectives fabric bench results | grep -v '^fabric/flow/'); do
  if grep -nE '#include <(simgrid|xbt)/' "$f"; then complain "$f: SimGrid outside fabric/flow"; fi
done

# 4. Files of one purpose: no source outside tests/ over 500 lines.
for f in $(sources topologies collectives fabric results bench); do
  lines=$(wc -l < "$f")
  if ((lines > 500)); then complain "$f: $lines lines (split it: one purpose per file, about 500 at most)"; fi
done

if ((failed)); then exit 1; fi
echo "check-layers: algorithms name no backend, backends name no algorithm ($(echo $names | wc -w) algorithm names checked), every source under 500 lines"
