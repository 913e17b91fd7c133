#!/usr/bin/env bash
# What `make test` checks of the packaging: `cmake --install` into a scratch prefix gives a working
# command, its man page and completion; CPack builds the .deb and its Depends name the Debian
# packages of the libraries it links. Nothing outside the build folder and the scratch prefix is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
"$prefix/bin/fabtwin" --version
grep -q '^\.TH FABTWIN 1' "$prefix/share/man/man1/fabtwin.1"
grep -q 'complete .* fabtwin' "$prefix/share/bash-completion/completions/fabtwin"
if ! (cd "$build" && cpack >"$prefix/cpack.log" 2>&1); then
  cat "$prefix/cpack.log" >&2
  exit 1
fi
deb=$(ls -t "$build"/fabtwin_*.deb | head -n 1)
depends=$(dpkg-deb -f "$deb" Depends)
echo "package: $deb"
echo "Depends: $depends"
for lib in libns3 libibverbs1 libstdc++6; do
  if [[ $depends != *"$lib"* ]]; then
    echo "check-package: $deb does not depend on $lib, which fabtwin links" >&2
    exit 1
  fi
done
