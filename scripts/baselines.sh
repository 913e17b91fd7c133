#!/usr/bin/env bash
# Baselines of the deterministic simulators, listed in results/baselines/scenarios.txt.
#   scripts/baselines.sh FABTWIN check NAME      regenerate NAME with `fabtwin sim --json` and check it
#                                                against results/baselines/NAME.json (exit 1 on drift)
#   scripts/baselines.sh FABTWIN update [NAME..] rewrite the baselines (all, or the names given)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
list="$root/results/baselines/scenarios.txt"
# The simulators are deterministic: anything above floating-point noise is drift.
tolerance="${FABTWIN_BASELINE_TOLERANCE:-0.0001%}"

usage() {
  echo "usage: $0 FABTWIN check NAME | $0 FABTWIN update [NAME...]" >&2
  exit 2
}
[[ $# -ge 2 ]] || usage
fabtwin="$1"
mode="$2"
shift 2

# The sim arguments of scenario $1, or nothing when it is not listed.
scenario_args() {
  awk -v name="$1" '$1 == name { $1 = ""; sub(/^ +/, ""); print; found = 1 } END { exit !found }' "$list"
}

names() {
  grep -Ev '^[[:space:]]*(#|$)' "$list" | awk '{ print $1 }'
}

case "$mode" in
  check)
    [[ $# -eq 1 ]] || usage
    name="$1"
    args="$(scenario_args "$name")" || { echo "$0: no scenario \"$name\" in $list" >&2; exit 2; }
    scratch="$(mktemp -d)"
    trap 'rm -rf "$scratch"' EXIT
    # shellcheck disable=SC2086  # the arguments are words, as written in the list
    "$fabtwin" sim $args --json "$scratch/$name.json" > /dev/null
    "$fabtwin" check --baseline "$root/results/baselines/$name.json" "$scratch/$name.json" --tolerance "$tolerance"
    ;;
  update)
    [[ $# -gt 0 ]] || set -- $(names)
    for name in "$@"; do
      args="$(scenario_args "$name")" || { echo "$0: no scenario \"$name\" in $list" >&2; exit 2; }
      # shellcheck disable=SC2086
      "$fabtwin" sim $args --json "$root/results/baselines/$name.json" > /dev/null
      echo "wrote results/baselines/$name.json"
    done
    ;;
  *)
    usage
    ;;
esac
