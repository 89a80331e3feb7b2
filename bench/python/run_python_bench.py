#!/usr/bin/env python3
"""Python overhead of the xclip package, measured in one run:

1. get_video_features on a batch of VIDEOS videos, from Python (xclip.XCLIPModel) and from
   C++ (xclip_bench_video_features, a resident process making the same call on the same
   pixels), alternating call by call so that each pair sees the same load of this shared
   machine; prints the medians and the median of the per-pair ratios Python / C++.
2. Two Python threads sharing one model (one intra-op thread each) against one thread doing
   the same calls: the GIL is released during compute, so two threads should finish sooner.

usage: PYTHONPATH=BUILD/python bench/python/run_python_bench.py BUILD MODEL_DIR [VIDEOS] [PAIRS]
"""

import statistics
import subprocess
import sys
import threading
import time

import numpy as np

import xclip


def pixels(model, videos):
    v = model.config.vision_config
    shape = (videos, v.num_frames, 3, v.image_size, v.image_size)
    i = np.arange(int(np.prod(shape)), dtype=np.int64)
    return (((i * 7919) % 2001).astype(np.float32) / 1000.0 - 1.0).reshape(shape)


class CppBench:
    """The C++ benchmark process: one timed get_video_features per request."""

    def __init__(self, build, model_dir, videos, threads):
        self.process = subprocess.Popen([f"{build}/bench/xclip_bench_video_features", model_dir, str(videos),
                                         str(threads)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the C++ benchmark did not start")

    def call_ms(self):
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)


def python_ms(model, batch):
    t0 = time.perf_counter()
    model.get_video_features(pixel_values=batch)
    return (time.perf_counter() - t0) * 1e3


def threaded_seconds(model, batch, calls, threads):
    def work(n):
        for _ in range(n):
            model.get_video_features(pixel_values=batch)

    model.get_video_features(pixel_values=batch)
    workers = [threading.Thread(target=work, args=(calls // threads,)) for _ in range(threads)]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - t0


def main():
    build, model_dir = sys.argv[1], sys.argv[2]
    videos = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    pairs = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    model = xclip.XCLIPModel.from_pretrained(model_dir, num_threads=2)
    batch = pixels(model, videos)
    print(f"xclip {xclip.__version__}, model {model_dir}, get_video_features on {batch.shape}, 2 threads")
    cpp_bench = CppBench(build, model_dir, videos, 2)
    python_ms(model, batch)  # warm-up, as the C++ side did
    cpp, py = [], []
    for i in range(pairs):
        cpp.append(cpp_bench.call_ms())
        py.append(python_ms(model, batch))
        print(f"pair {i + 1}: C++ {cpp[-1]:.1f} ms, Python {py[-1]:.1f} ms", flush=True)
    cpp_bench.close()
    ratios = [p / c for p, c in zip(py, cpp)]
    print(f"get_video_features x{videos}: C++ median {statistics.median(cpp):.1f} ms, Python median "
          f"{statistics.median(py):.1f} ms; Python / C++ per pair: median {statistics.median(ratios):.3f} "
          f"[{min(ratios):.3f}-{max(ratios):.3f}]")

    single = xclip.XCLIPModel.from_pretrained(model_dir, num_threads=1)
    one_video = pixels(single, 1)
    calls = 4
    t1 = threaded_seconds(single, one_video, calls, 1)
    t2 = threaded_seconds(single, one_video, calls, 2)
    print(f"{calls} calls of get_video_features x1 (1 intra-op thread): one Python thread {t1:.2f} s, "
          f"two Python threads {t2:.2f} s, speed-up {t1 / t2:.2f}x")


if __name__ == "__main__":
    main()
