#!/usr/bin/env python3
"""What `xclip watch` keeps up with on this machine: a synthetic H.264 stream pushed in real
time (ffmpeg -re) to udp://127.0.0.1, watched with a 2 s window and a 1 s stride (3 labels),
for several resolutions and frame rates, in float32 and int8. Prints, per run, the windows
analysed and skipped, and the latency from the arrival of the frame that closes a window to
its record (p50 / p99), and the CPU steal.

    python3 bench/watch/watch_bench.py [--build build] [--model build/models/base-patch32] [--seconds 20]
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from cpu_steal import cpu_ticks  # noqa: E402

CONFIGS = [(640, 360, 30), (1280, 720, 30), (1920, 1080, 30), (1920, 1080, 60), (2560, 1440, 30), (3840, 2160, 30)]


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_stream(folder, width, height, fps, seconds):
    path = os.path.join(folder, f"{width}x{height}p{fps}.ts")
    if not os.path.exists(path):
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}", "-c:v", "libx264",
                        "-preset", "veryfast", "-g", str(fps), "-pix_fmt", "yuv420p", "-f", "mpegts", path], check=True)
    return path


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def run(xclip, model, stream):
    port = free_udp_port()
    watcher = subprocess.Popen([xclip, "watch", f"udp://127.0.0.1:{port}", "--model", model, "--labels",
                                "a person walking,a car,a dog", "--window", "2", "--stride", "1", "--format", "jsonl",
                                "--skip-when-behind", "yes", "--open-timeout", "60", "--timeout", "5"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(3)  # the model loads, the port is bound
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-i", stream, "-c", "copy", "-f", "mpegts",
                    f"udp://127.0.0.1:{port}?pkt_size=1316"], check=True)
    time.sleep(3)
    watcher.send_signal(signal.SIGTERM)
    out, err = watcher.communicate(timeout=60)
    if watcher.returncode != 0:
        sys.exit(err.decode())
    records = [json.loads(line) for line in out.decode().splitlines()]
    windows = [r for r in records if r["type"] == "window"]
    skips = [r for r in records if r["type"] == "skip"]
    latencies = [w["latency_ms"] for w in windows]
    return len(windows), len(skips), latencies


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--model", default="build/models/base-patch32")
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    xclip = os.path.abspath(os.path.join(args.build, "xclip"))
    model = os.path.abspath(args.model)
    work = tempfile.mkdtemp(prefix="xclip-watch-bench-")
    int8 = os.path.join(work, "int8")
    subprocess.run([xclip, "convert", "--model", model, "--output", int8], check=True, capture_output=True)
    print(f"xclip watch, {os.path.basename(model)}, 2 s window, 1 s stride, 3 labels, {os.cpu_count()} cores, "
          f"{args.seconds} s streams pushed in real time to udp://127.0.0.1")
    print("| dtype | stream | windows | skipped | latency p50 | latency p99 |")
    print("| --- | --- | --- | --- | --- | --- |")
    total0, steal0 = cpu_ticks()
    for dtype, folder in (("float32", model), ("int8", int8)):
        for width, height, fps in CONFIGS:
            stream = make_stream(work, width, height, fps, args.seconds)
            windows, skipped, latencies = run(xclip, folder, stream)
            print(f"| {dtype} | {width}x{height} {fps} fps | {windows} | {skipped} | "
                  f"{statistics.median(latencies):.0f} ms | {percentile(latencies, 0.99):.0f} ms |", flush=True)
    total1, steal1 = cpu_ticks()
    print(f"CPU steal during this run: {100.0 * (steal1 - steal0) / max(1, total1 - total0):.1f} % of the CPU time")


if __name__ == "__main__":
    main()
