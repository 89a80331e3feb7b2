#!/usr/bin/env bash
# cmake --install the build into a temporary prefix, then build tests/install (find_package)
# and a one-file program with pkg-config against it, outside the source tree, and run both.
set -euo pipefail
src="$1" build="$2" model="$3"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cp "$src/tests/install/CMakeLists.txt" "$src/tests/install/consumer.cc" "$work/"
cmake -S "$work" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" >/dev/null
"$work/build/consumer" "$model"
libdir="$(ls -d "$work"/prefix/lib*/pkgconfig)"
sed -i "s|^prefix=.*|prefix=$work/prefix|" "$libdir/xclip.pc"
# shellcheck disable=SC2046
g++ -std=c++20 -O1 "$work/consumer.cc" -o "$work/consumer_pc" \
  $(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs xclip)
"$work/consumer_pc" "$model"
echo "installed package: find_package(xclip) and pkg-config both build and run"
