#!/usr/bin/env bash
# CPU speed against PyTorch, same inputs and thread count, one invocation:
#   bench/cpu/run_cpu_bench.sh [BUILD_DIR] [MODEL_DIR] [THREADS] [REPEATS] [ROUNDS]
# Installs what it needs (Debian's python3-torch and OpenBLAS, the BLAS it must run on) and
# refuses to run the baseline on any other BLAS (it prints the library and kernel family).
# The PyTorch baseline runs with the set-up that makes it fastest here: glibc malloc
# thresholds, passive OpenMP waiting, OpenBLAS's best kernel family for this CPU (below),
# OPENBLAS_L2_SIZE unset (for that command only), torch.set_num_threads(THREADS),
# torch.inference_mode().
set -euo pipefail
cd "$(dirname "$0")/../.."
for package in python3-torch libopenblas0-pthread; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      python3-torch libopenblas0-pthread >&2
    break
  fi
done
BUILD="${1:-build}"
MODEL="${2:-$BUILD/models/base-patch32}"
THREADS="${3:-$(nproc)}"
REPEATS="${4:-5}"
ROUNDS="${5:-2}"
SHARED="$(cd .. && pwd)/shared"
source bench/common/steal.sh
steal_mark
INPUTS="$BUILD/bench_cpu_inputs.safetensors"
/usr/bin/python3 bench/cpu/xclip_torch.py check "$SHARED/golden" "$BUILD/models" >&2
# The int8 run loads a folder converted once (`xclip convert`), as a deployment would.
INT8_MODEL="$MODEL-int8"
[ -f "$INT8_MODEL/model.safetensors" ] || "$BUILD/xclip" convert --model "$MODEL" --output "$INT8_MODEL" >&2
run_ours() {
  ours+=("$("$BUILD/bench/xclip_bench_workloads" "$MODEL" "$INPUTS" "$THREADS" "$REPEATS" f32)")
  ours8+=("$("$BUILD/bench/xclip_bench_workloads" "$INT8_MODEL" "$INPUTS" "$THREADS" "$REPEATS" auto)")
  # bf16 where the CPU has AVX512-BF16 (the load refuses elsewhere; the table then says so).
  ours16+=("$("$BUILD/bench/xclip_bench_workloads" "$MODEL" "$INPUTS" "$THREADS" "$REPEATS" bf16 2>/dev/null || echo '{}')")
}
# OpenBLAS 0.3.21's run-time dispatch does not know every new CPU (Sapphire Rapids, Zen 4)
# and falls back to its generic Prescott kernels, some 5x slower: the baseline names the best
# family this CPU's flags support instead, and xclip_torch.py refuses to time generic kernels.
best_openblas_coretype() {
  local flags
  flags="$(grep -m1 '^flags' /proc/cpuinfo)"
  has() { [[ " $flags " == *" $1 "* ]]; }
  if has avx512f && has avx512bw && has avx512vl && has avx512dq; then
    if has avx512_bf16; then echo Cooperlake; else echo SkylakeX; fi
  elif has avx2 && has fma; then
    if grep -q -m1 AuthenticAMD /proc/cpuinfo; then echo Zen; else echo Haswell; fi
  else
    echo "this CPU has no AVX2: OpenBLAS would run generic kernels, and a baseline on them means nothing" >&2
    return 1
  fi
}
CORETYPE="$(best_openblas_coretype)"
echo "PyTorch baseline: OPENBLAS_CORETYPE=$CORETYPE (for its command only)" >&2
run_torch() {
  torch+=("$(env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE="$CORETYPE" XCLIP_EXPECTED_OPENBLAS_KERNELS="$CORETYPE" \
          MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=17179869184 \
          OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/cpu/xclip_torch.py bench "$MODEL" "$INPUTS" "$THREADS" "$REPEATS")")
}
# Rounds alternate which side runs first (ours, PyTorch | PyTorch, ours | ...): a shared
# machine's speed drifts within minutes, and timing one side entirely before the other would
# put the drift into the ratio. Each side's samples are pooled over the rounds.
ours=(); ours8=(); ours16=(); torch=()
run_ours  # also writes the inputs PyTorch reads
run_torch
for ((round = 2; round <= ROUNDS; round++)); do
  if ((round % 2 == 0)); then run_torch; run_ours; else run_ours; run_torch; fi
done
to_json_array() { local IFS=,; echo "[$*]"; }
/usr/bin/python3 bench/cpu/cpu_bench_report.py "$(to_json_array "${ours[@]}")" "$(to_json_array "${torch[@]}")" \
  "$(to_json_array "${ours8[@]}")" "$(to_json_array "${ours16[@]}")"
steal_report
