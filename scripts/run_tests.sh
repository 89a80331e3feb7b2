#!/usr/bin/env bash
# Installs dependencies, builds Release (preset ci-cpu: warnings are errors), runs the fuzz
# targets for a bounded time (XCLIP_FUZZ_SECONDS per target, default 60), then the whole test
# suite (unit, golden, slow, python, server) so that CTest's summary closes the output.
# The synthetic checkpoints are written into build/models once per build folder.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install_deps.sh
BUILD_DIR="${BUILD_DIR:-build}"
cmake --preset ci-cpu -B "$BUILD_DIR"   # the preset CI and CMakePresets.json share
cmake --build "$BUILD_DIR" -j"$(nproc)"
./scripts/run_fuzz.sh "${XCLIP_FUZZ_SECONDS:-60}"
# Tests labelled "manual" (the precision suites of large-patch14 and base-patch32-16f, ~10
# minutes on 2 cores; base-patch32's and base-patch16's stay) run only when asked for:
# scripts/run_tests.sh -L manual.
if [ "$#" -eq 0 ]; then set -- -LE manual; fi
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$(nproc)" "$@"
