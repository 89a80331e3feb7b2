#!/usr/bin/env python3
"""The CPU benchmark's table, from the JSON its rounds printed (run_cpu_bench.sh calls this).

  cpu_bench_report.py OURS_F32 TORCH OURS_INT8 OURS_BF16

Each argument is a JSON array with one object per round (xclip_bench_workloads or
xclip_torch.py bench output; {} for a bf16 run the CPU refused). Times are pooled over the
rounds; medians and [min-max] are printed.
"% peak" is the median over all timings of the GFLOP/s each reached divided by the GEMM peak
measured just before it; "peak then" the median of those peaks.
"""
import json
import statistics
import sys

WORKLOADS = ["a_forward_1v3t", "b_zero_shot_1v400t", "c_video_features_8v", "d_text_features_400t"]


def pooled(rounds, name):
    return sorted(t for r in rounds for t in r["times_ms"][name])


def per_round(rounds, key):
    return " / ".join("%.0f" % r[key] for r in rounds)


def print_reduced(title, rounds, torch):
    print(title)
    for name in WORKLOADS:
        times, mt = pooled(rounds, name), statistics.median(pooled(torch, name))
        mo = statistics.median(times)
        print("%-22s %8.1f [%5.0f-%5.0f] %8.1f %17s %6.2fx" % (name, mo, times[0], times[-1], mt, "", mt / mo))


def main():
    ours, torch, ours8, ours16 = (json.loads(a) for a in sys.argv[1:5])
    first = ours[0]
    print("xclip.cpp: %s kernels, %s GEMM, %d threads; %d rounds, ours and PyTorch alternating" %
          (first["isa"], first["gemm"], first["threads"], len(ours)))
    print("float32: GEMM peak at the start of each round %s GFLOP/s; load %s ms; first forward %s ms" %
          (per_round(ours, "gemm_peak_gflops"), per_round(ours, "load_ms"), per_round(ours, "first_forward_ms")))
    blas = torch[0]["blas"]
    print("PyTorch %s, %d threads, BLAS %s (%s kernels: %s)" %
          (torch[0]["torch"], torch[0]["threads"], blas["library"], blas["kernels"], blas["config"]))
    print("%-22s %18s %18s %7s %9s %10s %7s" % ("workload", "xclip.cpp ms", "PyTorch ms", "ratio", "GFLOP/s",
                                               "peak then", "% peak"))
    # % peak: each timing against the GEMM peak measured just before it in the same process,
    # the median of those paired ratios (the machine's speed moves within minutes).
    for name in WORKLOADS + ["vision_only_1v"]:
        times = pooled(ours, name)
        mo = statistics.median(times)
        g = first["gflop"][name] / (mo / 1e3)
        pairs = [(t, p) for r in ours for t, p in zip(r["times_ms"][name], r["peak_gflops_before"][name])]
        share = statistics.median(first["gflop"][name] / (t / 1e3) / p for t, p in pairs)
        peak = statistics.median(p for _, p in pairs)
        if name in torch[0]["times_ms"]:
            t = pooled(torch, name)
            mt = statistics.median(t)
            print("%-22s %8.1f [%5.0f-%5.0f] %8.1f [%5.0f-%5.0f] %6.2fx %9.1f %10.0f %6.0f%%" %
                  (name, mo, times[0], times[-1], mt, t[0], t[-1], mt / mo, g, peak, 100 * share))
        else:
            print("%-22s %8.1f [%5.0f-%5.0f] %18s %7s %9.1f %10.0f %6.0f%%" %
                  ("(vision tower, 1 video)", mo, times[0], times[-1], "", "", g, peak, 100 * share))
    if ours8[0]["int8_products"] != "int8":
        print("(this CPU has no exact int8 kernels (no VNNI): the int8 weights are multiplied in float32)")
    print_reduced("int8 weights (folder from `xclip convert`; load %s ms, first forward %s ms), against PyTorch float32:" %
                  (per_round(ours8, "load_ms"), per_round(ours8, "first_forward_ms")), ours8, torch)
    if any("times_ms" not in r for r in ours16):
        print("bf16: not run (this CPU has no AVX512-BF16)")
    else:
        print_reduced("bf16 weights (--dtype bf16; first forward %s ms), against PyTorch float32:" %
                      per_round(ours16, "first_forward_ms"), ours16, torch)


if __name__ == "__main__":
    main()
