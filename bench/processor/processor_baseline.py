#!/usr/bin/env python3
"""Baseline for the processor benchmark: the same work with Pillow + numpy, the way
transformers 4.x's VideoMAEImageProcessor does it (PIL resize of each frame, numpy centre
crop, rescale, normalise, channels first), and the same 400 prompts through a plain-Python
CLIP BPE (the reference encoder of ../shared/tools/synth_checkpoint.py).

Usage: processor_baseline.py MODEL_DIR SHARED_DIR [ITERS]   -> prints one JSON line
"""
import json
import os
import sys
import time

import numpy as np
from PIL import Image


def bench_frames():
    t, h, w = 8, 1080, 1920
    y, x = np.mgrid[0:h, 0:w]
    frames = np.empty((t, h, w, 3), dtype=np.uint8)
    for f in range(t):
        for c in range(3):
            frames[f, :, :, c] = ((x * (c + 1) + y * 3 + f * 17 + ((x * y) % 7)) & 255).astype(np.uint8)
    return frames


def bench_prompts():
    verbs = ["playing", "eating", "riding", "throwing", "cutting", "washing", "climbing", "juggling", "painting",
             "carrying", "opening", "folding", "kicking", "pushing", "cleaning", "repairing", "dancing with",
             "jumping over", "looking at", "talking about"]
    nouns = ["a ball", "spaghetti", "a horse", "a frisbee", "vegetables", "a car", "a rock wall", "oranges", "a fence",
             "boxes", "a door", "laundry", "a bottle", "a cart", "the kitchen", "a bicycle", "a partner", "a rope",
             "the sky", "the weather"]
    return ["a video of a person %s %s." % (v, n) for v in verbs for n in nouns]


def preprocess(frames, cfg):
    size = cfg["size"]["shortest_edge"] if isinstance(cfg["size"], dict) else cfg["size"]
    crop = cfg["crop_size"]
    ch, cw = (crop["height"], crop["width"]) if isinstance(crop, dict) else (crop, crop)
    mean = np.array(cfg["image_mean"], dtype=np.float32)
    std = np.array(cfg["image_std"], dtype=np.float32)
    out = []
    for frame in frames:
        h, w = frame.shape[:2]
        short, long = (w, h) if w <= h else (h, w)
        new_long = int(size * long / short)
        nh, nw = (new_long, size) if w <= h else (size, new_long)
        img = np.array(Image.fromarray(frame).resize((nw, nh), resample=Image.BILINEAR, reducing_gap=None))
        top, left = (nh - ch) // 2, (nw - cw) // 2
        img = img[top:top + ch, left:left + cw]
        img = (img.astype(np.float64) * cfg["rescale_factor"]).astype(np.float32)
        img = (img - mean) / std
        out.append(img.transpose(2, 0, 1))
    return np.stack(out)[None]


def median_ms(iters, fn):
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return sorted(times)[len(times) // 2]


def main():
    model, shared = sys.argv[1], sys.argv[2]
    iters = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    sys.path.insert(0, os.path.join(shared, "tools"))
    import synth_checkpoint as sc

    cfg = json.load(open(os.path.join(model, "preprocessor_config.json")))
    frames = bench_frames()
    prompts = bench_prompts()
    vocab, merges = sc.load_tokenizer_vocab_files(model)
    video_ms = median_ms(iters, lambda: preprocess(frames, cfg))
    text_ms = median_ms(iters, lambda: [sc.ClipBPE(vocab, merges).encode(p) for p in prompts])
    print(json.dumps({"preprocess_8x1080p_ms": round(video_ms, 2), "tokenize_400_ms": round(text_ms, 2)}))


if __name__ == "__main__":
    main()
