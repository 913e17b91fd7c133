#!/usr/bin/env bash
# Every results format fabtwin writes, checked against its JSON Schema in results/schemas/ (draft
# 2020-12, python3-jsonschema): sim (analytic, packet, flow), sweep runs and --merge --json, import-nccl
# (text and -J), import-perftest, calibrate, compare --json, check --json and --history.
# Usage: scripts/check-schemas.sh FABTWIN
set -euo pipefail
fabtwin=$1
root=$(cd "$(dirname "$0")/.." && pwd)
data=$root/tests/data
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$fabtwin" sim --topology fat-tree:k=4 -b 1MiB -e 256MiB -f 16 --json sim.json >/dev/null
"$fabtwin" sim --topology fat-tree:tiers=2,hosts=8,hosts_per_leaf=4 --backend packet -b 64KiB -e 256KiB -f 4 \
  --json packet.json >/dev/null
"$fabtwin" sim --topology fat-tree:tiers=2,hosts=8,hosts_per_leaf=4 --backend flow -b 64KiB -e 256KiB -f 4 \
  --json flow.json >/dev/null
printf '%s' '{"sizes": {"min": "64KiB", "max": "256KiB", "factor": 4}, "topologies": {"ft": "fat-tree:k=4"},
  "algorithms": ["ring", "direct"], "backends": ["analytic", "flow"]}' >matrix.json
"$fabtwin" sweep matrix.json -o sweep >/dev/null
"$fabtwin" sweep matrix.json -o sweep --merge --json ranking.json >/dev/null
"$fabtwin" import-nccl "$data/nccl-tests/all_reduce_perf_2.19.6_timestamps_per_iteration.log" -o text.json >/dev/null
"$fabtwin" import-nccl "$data/nccl-tests/all_reduce_perf_2.19.6.json" -o json.json >/dev/null
"$fabtwin" import-nccl "$data/nccl-tests/rccl_tests_in_place_algo_columns.log" -o rccl.json >/dev/null
"$fabtwin" import-nccl "$data/nccl-tests/all_reduce_perf_cputime.log" -o cputime.json >/dev/null
"$fabtwin" import-perftest "$data/perftest/ib_write_bw_a.txt" "$data/perftest/ib_write_lat_a.txt" -o p2p.json >/dev/null
"$fabtwin" calibrate p2p.json -o calibration.json >/dev/null
"$fabtwin" compare text.json sim.json --json comparison.json >/dev/null
"$fabtwin" check --baseline sim.json sim.json --json verdicts.json --history history.jsonl >/dev/null
# Debian's interpreter, which has python3-jsonschema (install-deps.sh); another python3 may lack it.
python=/usr/bin/python3
[[ -x $python ]] || python=python3
"$python" - "$root/results/schemas" <<'PY'
import json, sys
from jsonschema import Draft202012Validator
schemas = sys.argv[1]
def check(schema, path, doc):
    v = Draft202012Validator(json.load(open(f"{schemas}/{schema}.schema.json")))
    errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
    for e in errors:
        print(f"{path}: /{'/'.join(map(str, e.path))}: {e.message}", file=sys.stderr)
    if errors:
        sys.exit(f"{path} does not follow {schema}")
    print(f"schema: {path} follows {schema}")
for f in ["sim.json", "packet.json", "flow.json", "text.json", "json.json", "rccl.json", "cputime.json", "p2p.json"]:
    check("fabtwin-results", f, json.load(open(f)))
check("fabtwin-calibration", "calibration.json", json.load(open("calibration.json")))
check("fabtwin-comparison", "comparison.json", json.load(open("comparison.json")))
check("fabtwin-sweep-ranking", "ranking.json", json.load(open("ranking.json")))
import glob
for f in sorted(glob.glob("sweep/*.json")):
    check("fabtwin-results", f, json.load(open(f)))
check("fabtwin-history", "verdicts.json", json.load(open("verdicts.json")))
for i, line in enumerate(open("history.jsonl")):
    check("fabtwin-history", f"history.jsonl:{i + 1}", json.loads(line))
# The schemas have teeth: what the readers refuse, they refuse too.
bad = json.load(open("sim.json"))
bad["rows"][0]["time_s"] = -1
bad_p2p = json.load(open("p2p.json"))
del bad_p2p["rows"][0]["latency_s"]
for schema, doc, what in [("fabtwin-results", bad, "a negative time"), ("fabtwin-results", bad_p2p, "a p2p row without latency")]:
    v = Draft202012Validator(json.load(open(f"{schemas}/{schema}.schema.json")))
    if v.is_valid(doc):
        sys.exit(f"{schema} accepts {what}")
    print(f"schema: {schema} refuses {what}")
PY
