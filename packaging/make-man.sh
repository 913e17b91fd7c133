#!/usr/bin/env bash
# Writes fabtwin(1) from the built command's own --help, so the man page never drifts from the options.
# Usage: packaging/make-man.sh FABTWIN OUT
set -euo pipefail
bin=$1
out=$2
version=$("$bin" --version | awk '{print $2}')
# roff treats a leading '.' or "'" as a request and '\' as an escape: neutralise them.
escape() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }
subcommands=$("$bin" --help | awk '/^Subcommands:/{on=1; next} on && NF {print $1}')
{
  echo ".TH FABTWIN 1 \"\" \"fabtwin $version\" \"User Commands\""
  echo ".SH NAME"
  echo "fabtwin \\- network-fabric emulator and collective benchmark suite"
  echo ".SH SYNOPSIS"
  echo ".B fabtwin"
  echo "[\\fIOPTIONS\\fR] \\fISUBCOMMAND\\fR [\\fIARGS\\fR]"
  echo ".SH DESCRIPTION"
  echo "One collective, written once as a plan, predicted by an analytic model, simulated on a packet-level"
  echo "ns-3 model of an InfiniBand or RoCE fabric, and measured over RDMA verbs, with results that sit beside nccl-tests tables."
  echo ".SH OPTIONS"
  echo ".nf"
  "$bin" --help | awk '/^Options:/{on=1; next} /^Subcommands:/{on=0} on' | escape
  echo ".fi"
  for s in $subcommands; do
    echo ".SH \"fabtwin $s\""
    echo ".nf"
    "$bin" "$s" --help | escape
    echo ".fi"
  done
  echo ".SH SEE ALSO"
  echo "The README of the source tree: quick start, the nccl-tests flag mapping, file formats."
} >"$out.tmp"
mv "$out.tmp" "$out"
