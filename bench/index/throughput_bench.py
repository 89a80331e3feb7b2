"""What indexing costs: seconds of video indexed per second (and per core) for 1080p, 720p and
480p H.264 with long and short GOPs, with and without B-frames, next to ffmpeg's decode-only
time of the same file, per dtype and mode; and what the fast mode (--seek keyframe) changes in
the results against an exact index of the same collection (each window's embedding cosine, and
the top-10 overlap over 100 queries). Prints the CPU steal of each run.

usage: throughput_bench.py [--build build] [--seconds 20] [--runs 1] [--model DIR] [--int8 DIR]

With --runs N the table is measured N times in a row (the videos made once) and a summary says,
per row, wall / (decode-only + embed-only) in each run and whether it stayed within 1.1x.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from cpu_steal import StealMeter  # noqa: E402

# name, size, GOP, B-frames (x264's default is 3)
VIDEOS = [("1080p, 10 s GOP, B-frames", "1920x1080", 250, 3),
          ("1080p, 1 s GOP, no B-frames", "1920x1080", 25, 0),
          ("720p, 10 s GOP, B-frames", "1280x720", 250, 3),
          ("480p, 10 s GOP, B-frames", "854x480", 250, 3)]
# label, dtype folder ("f32" / "int8"), extra index options
MODES = [("float32, exact, 2 s windows", "f32", ["--window", "2"]),
         ("int8, exact, 2 s windows", "int8", ["--window", "2"]),
         ("int8, keyframe, 2 s windows", "int8", ["--window", "2", "--seek", "keyframe"]),
         ("int8, exact, 10 s windows", "int8", ["--window", "10"]),
         ("float32, exact, 10 s windows", "f32", ["--window", "10"])]
NOUNS = ["a dog", "a cat", "a person", "a car", "colour bars", "a test pattern", "a clock", "the sea", "a crowd",
         "a bicycle"]
ACTIONS = ["running", "standing still", "moving left", "turning", "in the dark", "on a bright day", "close up",
           "far away", "spinning", "changing colour"]


def make_video(path, size, gop, bframes, seconds):
    # Noise keeps the bit rate of a camera's video (~5 Mbit/s at 1080p), not a test card's.
    if os.path.exists(path):  # made by an earlier run of this invocation
        return
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size={size}:rate=25,noise=alls=4:allf=t", "-t", str(seconds), "-c:v", "libx264",
                    "-preset", "veryfast", "-crf", "23", "-g", str(gop), "-bf", str(bframes), "-pix_fmt", "yuv420p",
                    path], check=True)


def timed(command):
    """(wall seconds, CPU steal %, standard output)."""
    with StealMeter() as steal:
        start = time.monotonic()
        done = subprocess.run(command, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wall = time.monotonic() - start
    return wall, steal.percent, done.stdout


def decode_only(path):
    return timed(["ffmpeg", "-nostdin", "-loglevel", "error", "-threads", "0", "-i", path, "-f", "null", "-"])[0]


def index(xclip, path, folder, model, options):
    shutil.rmtree(folder, ignore_errors=True)
    wall, steal, report = timed([xclip, "index", path, "--index", folder, "--model", model, "--quiet", "--format",
                                 "json", *options])
    report = json.loads(report)
    return wall, steal, report["pictures_decoded"], report["pictures_in_files"]


def embed_only(model, windows, frames=8, batch=4):
    """The model's share: get_video_features of `windows` clips already decoded and preprocessed
    (the compute does not depend on the pixels), batched as the index batches them."""
    pixels = np.random.default_rng(0).standard_normal((batch, frames, 3, 224, 224), dtype=np.float32)
    model.get_video_features(pixel_values=pixels[:1])  # warm-up: first-call allocations
    start = time.monotonic()
    for done in range(0, windows, batch):
        model.get_video_features(pixel_values=pixels[:min(batch, windows - done)])
    return time.monotonic() - start


def throughput(args, xclip, work, cores):
    print(f"== throughput: {args.seconds} s files, {cores} cores; ffmpeg -threads 0 -f null for decode-only ==")
    import xclip as package  # `xclip` here is the binary's path

    embed = {}
    for dtype in ("f32", "int8"):
        model = package.AutoModel.from_pretrained(args.model if dtype == "f32" else args.int8)  # loaded once per dtype
        for window in (2, 10):
            embed[(dtype, window)] = embed_only(model, args.seconds // window)
    for (dtype, window), seconds in embed.items():
        print(f"embed-only, {dtype}, {args.seconds // window} windows of {window} s: {seconds:.2f} s")
    # What every run pays whatever the length: process start, model load, the weights' packing
    # on the first forward, the index's creation; measured on a clip of one window.
    clip = os.path.join(work, "clip.mp4")
    make_video(clip, "320x240", 50, 0, 2)
    for dtype in ("f32", "int8"):
        model = args.model if dtype == "f32" else args.int8
        cost = min(index(xclip, clip, os.path.join(work, "index"), model, ["--window", "2"])[0] for _ in range(3))
        print(f"start-up, {dtype}: {cost:.2f} s (index of one 2 s window of 320x240, best of 3)")
    print("| video | mode | wall s | decode-only s | ratio | embed-only s | wall / (decode + embed) | pictures decoded "
          "| video s per s | per core | steal % |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    rows = []
    for k, (name, size, gop, bframes) in enumerate(VIDEOS):
        path = os.path.join(work, f"v{k}.mp4")
        make_video(path, size, gop, bframes, args.seconds)
        for label, dtype, options in MODES:
            model = args.model if dtype == "f32" else args.int8
            # Alternate the sides: decode-only before the index on even modes, after on odd ones.
            first_decode = len(rows) % 2 == 0
            if first_decode:
                decode = decode_only(path)
            wall, steal, decoded, pictures = index(xclip, path, os.path.join(work, "index"), model, options)
            if not first_decode:
                decode = decode_only(path)
            speed = args.seconds / wall
            window = int(options[options.index("--window") + 1])
            model_share = embed[(dtype, window)]
            overlap = wall / (decode + model_share)
            rows.append((name, label, wall, decode, overlap))
            print(f"| {name} | {label} | {wall:.1f} | {decode:.1f} | {wall / decode:.2f}x | {model_share:.1f} | "
                  f"{overlap:.2f}x | {decoded} of {pictures} | {speed:.2f} | {speed / cores:.2f} | "
                  f"{steal:.1f} |",
                  flush=True)
    for name, label, wall, _, _ in rows:
        if name.startswith("1080p, 10 s"):
            print(f"an hour of 1080p ({label}) takes {60 * wall / args.seconds:.0f} minutes on {cores} cores")
    return rows


def results_change(args, xclip_bin, work):
    import xclip

    print("== what --seek keyframe changes (int8, 2 s windows), against an exact index of the same files ==")
    folder = os.path.join(work, "collection")
    os.makedirs(folder, exist_ok=True)
    for k, (_, _, gop, bframes) in enumerate(VIDEOS[:1] + VIDEOS[2:]):  # the GOPs of the table, at 640x360
        path = os.path.join(folder, f"c{k}.mp4")
        make_video(path, "640x360", gop, bframes, args.seconds)
    exact, fast = os.path.join(work, "exact.xclip"), os.path.join(work, "fast.xclip")
    for out, extra in [(exact, []), (fast, ["--seek", "keyframe"])]:
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run([xclip_bin, "index", folder, "--index", out, "--model", args.int8, "--window", "2", "--quiet",
                        *extra], check=True, stdout=subprocess.DEVNULL)
    a, b = xclip.VideoIndex(exact), xclip.VideoIndex(fast)
    wa = sorted(a.windows(), key=lambda w: (w.path, w.start))
    wb = sorted(b.windows(), key=lambda w: (w.path, w.start))
    assert [(w.path, w.start) for w in wa] == [(w.path, w.start) for w in wb]
    # The stored embeddings (L2-normalised) of the same windows.
    cosines = [float(np.dot(x.embedding, y.embedding)) for x, y in zip(wa, wb)]
    queries = [f"{n} {v}" for n in NOUNS for v in ACTIONS]
    overlaps = []
    for q in queries:
        top_a = {(h.path, h.start) for h in a.search(q, top=10)}
        top_b = {(h.path, h.start) for h in b.search(q, top=10)}
        overlaps.append(len(top_a & top_b) / max(1, len(top_a)))
    same_frames = sum(list(x.frame_indices) == list(y.frame_indices) for x, y in zip(wa, wb))
    print(f"{len(wa)} windows ({same_frames} with the same frames in both); window embedding cosine, keyframe vs "
          f"exact: mean {np.mean(cosines):.4f}, min {np.min(cosines):.4f}; top-10 overlap over {len(queries)} "
          f"queries: mean {np.mean(overlaps):.2f}, min {np.min(overlaps):.2f}")
    print("(synthetic checkpoint: random weights; real weights can move differently)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--runs", type=int, default=1, help="measure the table this many times in a row")
    parser.add_argument("--model", default=None, help="float32 folder (default BUILD/models/base-patch32)")
    parser.add_argument("--int8", default=None, help="int8 folder from xclip convert (default BUILD/models/base-patch32-int8)")
    args = parser.parse_args()
    args.model = args.model or os.path.join(args.build, "models/base-patch32")
    args.int8 = args.int8 or os.path.join(args.build, "models/base-patch32-int8")
    xclip_bin = os.path.join(args.build, "xclip")
    sys.path.insert(0, os.path.join(args.build, "python"))
    for folder in (args.model, args.int8):
        if not os.path.exists(os.path.join(folder, "config.json")):
            sys.exit(f"missing {folder}: ctest -R synth.base-patch32 makes it, xclip convert the int8 one")
    info = json.loads(subprocess.run([xclip_bin, "info", "--model", args.int8], check=True, capture_output=True,
                                     text=True).stdout)
    print(f"int8 folder {args.int8} runs in {info.get('runs_in', info.get('dtype'))}")
    cores = os.cpu_count()
    with tempfile.TemporaryDirectory(prefix="xclip-throughput-") as work:
        runs = []
        for run in range(args.runs):
            if args.runs > 1:
                print(f"== run {run + 1} of {args.runs} ==")
            runs.append(throughput(args, xclip_bin, work, cores))
        if args.runs > 1:
            summarise(runs)
        results_change(args, xclip_bin, work)


def summarise(runs, target=1.1):
    print(f"== wall / (decode-only + embed-only) in each of {len(runs)} consecutive runs (target {target}x) ==")
    for k, (name, label, *_) in enumerate(runs[0]):
        ratios = [rows[k][4] for rows in runs]
        verdict = "met in every run" if max(ratios) <= target else f"over in {sum(r > target for r in ratios)}"
        print(f"{name} | {label}: " + ", ".join(f"{r:.2f}x" for r in ratios) + f" ({verdict})")


main()
