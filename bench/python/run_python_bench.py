#!/usr/bin/env python3
"""Python overhead of the xclip package, measured in one run:

1. get_video_features on a batch of VIDEOS videos, from Python (xclip.XCLIPModel) and from
   C++ (xclip_bench_video_features, the same call on the same pixels), in alternating rounds;
   prints the medians and Python / C++.
2. Two Python threads sharing one model (one intra-op thread each) against one thread doing
   the same calls: the GIL is released during compute, so two threads should finish sooner.

usage: PYTHONPATH=BUILD/python bench/python/run_python_bench.py BUILD MODEL_DIR [VIDEOS] [REPEATS] [ROUNDS]
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


def cpp_times(build, model_dir, videos, repeats, threads):
    out = subprocess.run([f"{build}/bench/xclip_bench_video_features", model_dir, str(videos), str(repeats),
                          str(threads)], check=True, capture_output=True, text=True).stdout
    return [float(line) for line in out.split()]


def python_times(model, batch, repeats):
    model.get_video_features(pixel_values=batch)  # warm-up, as the C++ side does
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.get_video_features(pixel_values=batch)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


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
    repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    model = xclip.XCLIPModel.from_pretrained(model_dir, num_threads=2)
    batch = pixels(model, videos)
    print(f"xclip {xclip.__version__}, model {model_dir}, get_video_features on {batch.shape}, 2 threads")
    cpp, py = [], []
    for r in range(rounds):
        cpp += cpp_times(build, model_dir, videos, repeats, 2)
        py += python_times(model, batch, repeats)
        print(f"round {r + 1}: C++ {statistics.median(cpp):.1f} ms, Python {statistics.median(py):.1f} ms")
    c, p = statistics.median(cpp), statistics.median(py)
    print(f"get_video_features x{videos}: C++ median {c:.1f} ms [{min(cpp):.1f}-{max(cpp):.1f}], "
          f"Python median {p:.1f} ms [{min(py):.1f}-{max(py):.1f}], Python / C++ = {p / c:.3f}")

    single = xclip.XCLIPModel.from_pretrained(model_dir, num_threads=1)
    one_video = pixels(single, 1)
    calls = 4
    t1 = threaded_seconds(single, one_video, calls, 1)
    t2 = threaded_seconds(single, one_video, calls, 2)
    print(f"{calls} calls of get_video_features x1 (1 intra-op thread): one Python thread {t1:.2f} s, "
          f"two Python threads {t2:.2f} s, speed-up {t1 / t2:.2f}x")


if __name__ == "__main__":
    main()
