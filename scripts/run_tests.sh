#!/usr/bin/env bash
# Installs dependencies, builds Release, runs the fuzz targets for a bounded time
# (XCLIP_FUZZ_SECONDS per target, default 60), then the whole test suite (unit, golden,
# slow, python, server) so that CTest's summary closes the output.
# The synthetic checkpoints are written into build/models once per build folder.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install_deps.sh
BUILD_DIR="${BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DXCLIP_WERROR=ON
cmake --build "$BUILD_DIR" -j"$(nproc)"
./scripts/run_fuzz.sh "${XCLIP_FUZZ_SECONDS:-60}"
# Tests labelled "manual" (large-patch14's precision suite, ~6 minutes on 2 cores) run only
# when asked for: scripts/run_tests.sh -L manual.
if [ "$#" -eq 0 ]; then set -- -LE manual; fi
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$(nproc)" "$@"
