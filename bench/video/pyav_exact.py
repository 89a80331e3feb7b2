#!/usr/bin/env python3
"""PyAV baseline for frame sampling: the exact per-target strategy a careful Python user
writes (seek to the keyframe at or before each target, decode forward to it, convert it to
RGB; targets later in the same stretch are decoded on without a new seek), timed under each
of PyAV's threading settings.

usage: pyav_exact.py VIDEO INDICES [--iters N]
INDICES: comma-separated frame indices in presentation order (the C++ bench passes X-CLIP's
uniform ones). Prints JSON: the median ms per threading setting and the fastest.
"""

import argparse
import json
import statistics
import time

import av


def presentation_times(path):
    """Every video packet's pts in presentation order (frame index -> pts), as a demux pass."""
    with av.open(path) as container:
        stream = container.streams.video[0]
        pts = [p.pts for p in container.demux(stream) if p.pts is not None and p.size > 0]
    return sorted(pts)


def keyframe_times(path):
    with av.open(path) as container:
        stream = container.streams.video[0]
        return sorted(p.pts for p in container.demux(stream) if p.is_keyframe and p.pts is not None)


def sample(path, indices, thread_type):
    """The frames at `indices` as RGB arrays; the demux pass that maps indices to pts included."""
    times = presentation_times(path)
    keys = keyframe_times(path)
    wanted = sorted(set(indices))
    frames = {}
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = thread_type
        stream.thread_count = 0
        decoder = None
        position = None  # pts of the last decoded frame
        for index in wanted:
            target = times[index]
            key = max([k for k in keys if k <= target], default=keys[0])
            if decoder is None or position is None or target <= position or key > position:
                container.seek(target, stream=stream, backward=True, any_frame=False)
                decoder = container.decode(stream)
            for frame in decoder:
                position = frame.pts
                if frame.pts == target:
                    frames[index] = frame.to_ndarray(format="rgb24")
                    break
                if frame.pts is not None and frame.pts > target:
                    raise RuntimeError(f"frame {index} (pts {target}) was skipped")
    return [frames[i] for i in indices]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("video")
    parser.add_argument("indices")
    parser.add_argument("--iters", type=int, default=3)
    args = parser.parse_args()
    indices = [int(i) for i in args.indices.split(",")]
    result = {}
    for thread_type in ("SLICE", "FRAME", "AUTO"):
        times = []
        for _ in range(args.iters):
            start = time.perf_counter()
            frames = sample(args.video, indices, thread_type)
            times.append((time.perf_counter() - start) * 1000)
        assert len(frames) == len(indices)
        result[thread_type] = statistics.median(times)
    best = min(result, key=result.get)
    print(json.dumps({"ms": result, "fastest": best, "fastest_ms": result[best]}))


if __name__ == "__main__":
    main()
