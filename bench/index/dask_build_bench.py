#!/usr/bin/env python3
"""Building a sharded index on Dask: 2 worker processes x 1 thread against 1 worker x 1
thread, on the same generated collection, in one run (ABBA order, so that drift on a shared
machine hits both sides alike); prints each build, the speed-up and the CPU steal.

    PYTHONPATH=build/python python3 bench/index/dask_build_bench.py [--model build/models/base-patch32]
        [--videos 16] [--seconds 6] [--shards 8]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from cpu_steal import cpu_ticks  # noqa: E402

os.environ["OMP_NUM_THREADS"] = "1"  # inherited by the worker processes: 1 thread each

from distributed import Client, LocalCluster  # noqa: E402

from xclip.distributed import index_collection  # noqa: E402

SOURCES = ["testsrc2", "smptebars", "rgbtestsrc", "mandelbrot", "life", "testsrc"]


def make_videos(folder, count, seconds):
    os.makedirs(folder, exist_ok=True)
    for i in range(count):
        path = os.path.join(folder, f"clip{i:03d}.mp4")
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        f"{SOURCES[i % 6]}=size=320x240:rate=30", "-t", str(seconds), "-vf", f"hue=H={i}+t*0.5",
                        "-c:v", "libx264", "-g", "60", "-pix_fmt", "yuv420p", path], check=True)


def build(workers, videos, work, model, shards):
    index_dir = os.path.join(work, f"index-{workers}w-{time.monotonic_ns()}")
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        started = time.monotonic()
        report = index_collection([videos], index_dir, model, client, shards=shards, window_seconds=2.0,
                                  num_threads=1)
        seconds = time.monotonic() - started
    shutil.rmtree(index_dir)
    if report["failed"]:
        sys.exit(f"failed files: {report['failed']}")
    return seconds, report["windows_added"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="build/models/base-patch32")
    parser.add_argument("--videos", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--shards", type=int, default=8)
    args = parser.parse_args()
    model = os.path.abspath(args.model)
    if not os.path.exists(os.path.join(model, "config.json")):
        sys.exit(f"missing {model}: run ctest -R synth first")
    work = tempfile.mkdtemp(prefix="xclip-dask-bench-")
    try:
        videos = os.path.join(work, "videos")
        make_videos(videos, args.videos, args.seconds)
        print(f"{args.videos} videos of {args.seconds} s (320x240, 30 fps, H.264), 2 s windows, "
              f"{os.path.basename(model)}, {args.shards} shards, {os.cpu_count()} cores")
        total0, steal0 = cpu_ticks()
        times = {1: [], 2: []}
        for workers in (1, 2, 2, 1):
            seconds, windows = build(workers, videos, work, model, args.shards)
            times[workers].append(seconds)
            print(f"  {workers} worker(s) x 1 thread: {windows} windows in {seconds:6.2f} s "
                  f"= {windows / seconds:5.2f} windows/s", flush=True)
        total1, steal1 = cpu_ticks()
        one, two = statistics.median(times[1]), statistics.median(times[2])
        print(f"speed-up, 2 workers over 1 (medians): {one / two:.2f}x")
        steal = 100.0 * (steal1 - steal0) / max(1, total1 - total0)
        print(f"CPU steal during this run: {steal:.1f} % of the CPU time")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
