#!/usr/bin/env bash
# CPU speed against PyTorch, same inputs and thread count, one invocation:
#   bench/cpu/run_cpu_bench.sh [BUILD_DIR] [MODEL_DIR] [THREADS] [REPEATS]
# Installs what it needs (Debian's python3-torch and OpenBLAS, the BLAS it must run on) and
# refuses to run the baseline on any other BLAS (it prints the library and kernel family).
# The PyTorch baseline runs with the set-up that makes it fastest here: glibc malloc
# thresholds, passive OpenMP waiting, OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (for that
# command only), torch.set_num_threads(THREADS), torch.inference_mode().
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
SHARED="$(cd .. && pwd)/shared"
source bench/common/steal.sh
steal_mark
INPUTS="$BUILD/bench_cpu_inputs.safetensors"
/usr/bin/python3 bench/cpu/xclip_torch.py check "$SHARED/golden" "$BUILD/models" >&2
ours=$("$BUILD/bench/xclip_bench_workloads" "$MODEL" "$INPUTS" "$THREADS" "$REPEATS" f32)
# The int8 run loads a folder converted once (`xclip convert`), as a deployment would.
INT8_MODEL="$MODEL-int8"
[ -f "$INT8_MODEL/model.safetensors" ] || "$BUILD/xclip" convert --model "$MODEL" --output "$INT8_MODEL" >&2
ours8=$("$BUILD/bench/xclip_bench_workloads" "$INT8_MODEL" "$INPUTS" "$THREADS" "$REPEATS" auto)
# bf16 where the CPU has AVX512-BF16 (the load refuses elsewhere; the table then says so).
ours16=$("$BUILD/bench/xclip_bench_workloads" "$MODEL" "$INPUTS" "$THREADS" "$REPEATS" bf16 2>/dev/null || echo '{}')
torch=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=17179869184 \
        OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/cpu/xclip_torch.py bench "$MODEL" "$INPUTS" "$THREADS" "$REPEATS")
/usr/bin/python3 - "$ours" "$torch" "$ours8" "$ours16" <<'PY'
import json, statistics, sys
ours, torch, ours8, ours16 = (json.loads(a) for a in sys.argv[1:5])
peak = ours["gemm_peak_gflops"]
print("xclip.cpp: %s kernels, %s GEMM, %d threads; GEMM peak measured now: %.0f GFLOP/s; load %.0f ms, first forward %.0f ms" %
      (ours["isa"], ours["gemm"], ours["threads"], peak, ours["load_ms"], ours["first_forward_ms"]))
print("PyTorch %s, %d threads, BLAS %s (%s kernels: %s)" %
      (torch["torch"], torch["threads"], torch["blas"]["library"], torch["blas"]["kernels"], torch["blas"]["config"]))
print("%-22s %18s %18s %7s %9s %7s" % ("workload", "xclip.cpp ms", "PyTorch ms", "ratio", "GFLOP/s", "% peak"))
for name, times in ours["times_ms"].items():
    if name not in torch["times_ms"]:
        continue
    o, t = times, torch["times_ms"][name]
    mo, mt = statistics.median(o), statistics.median(t)
    g = ours["gflop"][name] / (mo / 1e3)
    print("%-22s %8.1f [%5.0f-%5.0f] %8.1f [%5.0f-%5.0f] %6.2fx %9.1f %6.0f%%" %
          (name, mo, o[0], o[-1], mt, t[0], t[-1], mt / mo, g, 100 * g / peak))
v = ours["times_ms"]["vision_only_1v"]
g = ours["gflop"]["vision_only_1v"] / (statistics.median(v) / 1e3)
print("vision tower alone (1 video): %.1f ms, %.1f GFLOP/s = %.0f%% of the GEMM peak" % (statistics.median(v), g, 100 * g / peak))
print("int8 weights (folder from `xclip convert`, load %.0f ms, first forward %.0f ms), against PyTorch float32:" %
      (ours8["load_ms"], ours8["first_forward_ms"]))
if ours8["int8_products"] != "int8":
    print("  (this CPU has no exact int8 kernels (no VNNI): the int8 weights are multiplied in float32)")
for name, times in ours8["times_ms"].items():
    if name not in torch["times_ms"]:
        continue
    mo, mt = statistics.median(times), statistics.median(torch["times_ms"][name])
    print("%-22s %8.1f [%5.0f-%5.0f] %8.1f %17s %6.2fx" % (name, mo, times[0], times[-1], mt, "", mt / mo))
if "times_ms" not in ours16:
    print("bf16: not run (this CPU has no AVX512-BF16)")
else:
    print("bf16 weights (--dtype bf16, first forward %.0f ms), against PyTorch float32:" % ours16["first_forward_ms"])
    for name, times in ours16["times_ms"].items():
        if name not in torch["times_ms"]:
            continue
        mo, mt = statistics.median(times), statistics.median(torch["times_ms"][name])
        print("%-22s %8.1f [%5.0f-%5.0f] %8.1f %17s %6.2fx" % (name, mo, times[0], times[-1], mt, "", mt / mo))
PY
steal_report
