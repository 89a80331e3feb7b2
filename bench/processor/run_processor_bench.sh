#!/usr/bin/env bash
# Processor benchmark: xclip.cpp against Pillow + numpy (and a plain-Python BPE) on the same
# cores. Three alternating rounds (the machines are shared and noisy); medians over rounds.
#   bench/processor/run_processor_bench.sh [BUILD_DIR] [MODEL_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD="${1:-build}"
MODEL="${2:-$BUILD/models/base-patch32}"
SHARED="$(cd .. && pwd)/shared"
rounds=()
for round in 1 2 3; do
  rounds+=("$("$BUILD/bench/xclip_bench_processor" "$MODEL")")
  # The baseline runs with this machine's numpy set-up, minus the OpenBLAS pinning variables.
  rounds+=("$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/processor/processor_baseline.py "$MODEL" "$SHARED")")
done
/usr/bin/python3 - "${rounds[@]}" <<'PY'
import json, statistics, sys
runs = [json.loads(a) for a in sys.argv[1:]]
ours, base = runs[0::2], runs[1::2]
print("%-28s %12s %16s %8s   (medians of 3 alternating rounds)" % ("workload", "xclip.cpp ms", "Pillow/numpy ms", "speed-up"))
for key, name in (("preprocess_8x1080p_ms", "preprocess 8 x 1920x1080"), ("tokenize_400_ms", "tokenize 400 prompts")):
    o = statistics.median(r[key] for r in ours)
    b = statistics.median(r[key] for r in base)
    print("%-28s %12.2f %16.2f %7.1fx" % (name, o, b, b / o))
PY
