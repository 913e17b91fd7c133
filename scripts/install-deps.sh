#!/usr/bin/env bash
# Installs every build and test dependency from Debian 12 packages. Idempotent: packages already
# present are skipped, so a warm machine pays only for a dpkg query.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang-format
  # ns-3 3.37's CMake config refuses to load unless all of these are present.
  libns3-dev ns3 libgsl-dev libxml2-dev libsqlite3-dev libpython3.11-dev
  libibverbs-dev rdma-core ibverbs-providers
  libcli11-dev libbenchmark-dev libgtest-dev nlohmann-json3-dev
  gnuplot-nox
  # The flow-level backend (fabric/flow): SimGrid's max-min network solver.
  libsimgrid-dev
  # The JSON Schemas of results/schemas, checked against what the commands write (ctest schemas).
  python3 python3-jsonschema
  # The .deb (cpack, scripts/check-package.sh): dpkg-shlibdeps computes its Depends.
  dpkg-dev
  # The fuzz targets (scripts/fuzz.sh): clang with its libFuzzer and sanitizer runtimes.
  clang libclang-rt-14-dev
  # The verbs harness (ctest label `verbs`): a qemu guest running Debian's kernel, whose rdma_rxe
  # module gives Soft-RoCE devices, with perftest beside fabtwin for comparison.
  qemu-system-x86 linux-image-amd64 busybox-static ibverbs-utils perftest cpio kmod iproute2
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
echo "install-deps: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
