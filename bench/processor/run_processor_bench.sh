#!/usr/bin/env bash
# Processor benchmark: xclip.cpp against Pillow + numpy (and a plain-Python BPE) on the same
# cores, in one run. Needs a build (build/) and the synthetic base-patch32 folder.
#   bench/processor/run_processor_bench.sh [BUILD_DIR] [MODEL_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD="${1:-build}"
MODEL="${2:-$BUILD/models/base-patch32}"
SHARED="$(cd .. && pwd)/shared"
ours=$("$BUILD/bench/xclip_bench_processor" "$MODEL")
# The baseline runs with the numpy/OpenBLAS set-up of this machine, minus the pinning variables.
base=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/processor/processor_baseline.py "$MODEL" "$SHARED")
/usr/bin/python3 - "$ours" "$base" <<'PY'
import json, sys
ours, base = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print("%-28s %12s %16s %8s" % ("workload", "xclip.cpp ms", "Pillow/numpy ms", "speed-up"))
for key, name in (("preprocess_8x1080p_ms", "preprocess 8 x 1920x1080"), ("tokenize_400_ms", "tokenize 400 prompts")):
    print("%-28s %12.2f %16.2f %7.1fx" % (name, ours[key], base[key], base[key] / ours[key]))
PY
