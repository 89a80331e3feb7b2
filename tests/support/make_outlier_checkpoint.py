#!/usr/bin/env python3
"""Model folders shaped like trained checkpoints, made from a synthetic preset: the outlier
channels that trained ViTs and CLIP text towers carry, which random weights lack.

patterns:
  ln-gain    3 residual channels with LayerNorm gains 20-60x the others, through both towers
  text-only  the same, in the text tower only
  massive    one residual channel carrying a massive activation (x80 in every embedding)

usage: make_outlier_checkpoint.py SOURCE_FOLDER PATTERN OUTPUT_FOLDER [--seed S]
Only numpy and the standard library: safetensors is a JSON header and raw little-endian data.
"""

import argparse
import json
import re
import shutil
import struct
from pathlib import Path

import numpy as np

DTYPES = {"F32": np.float32, "I64": np.int64, "F16": np.float16, "I8": np.int8, "U8": np.uint8}


def read_safetensors(path):
    data = Path(path).read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    metadata = header.pop("__metadata__", {})
    body = data[8 + length:]
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(body[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"]).copy()
    return tensors, metadata


def write_safetensors(path, tensors, metadata):
    names = {np.dtype(v).name: k for k, v in DTYPES.items()}
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": names[array.dtype.name], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


LAYER_NORMS = re.compile(r"^(text_model|vision_model)\.(encoder\.layers\.\d+\.layer_norm[12]|pre_layrnorm|"
                         r"pre_layernorm|final_layer_norm|post_layernorm)\.weight$")


def outlier_ln_gains(tensors, towers, rng):
    for tower in towers:
        hidden = next(v.shape[0] for k, v in tensors.items() if LAYER_NORMS.match(k) and k.startswith(tower))
        channels = rng.choice(hidden, size=3, replace=False)
        gains = rng.uniform(20.0, 60.0, size=3).astype(np.float32)
        for name in [k for k in tensors if LAYER_NORMS.match(k) and k.startswith(tower + ".")]:
            if name.startswith(tower + ".post_layernorm") or name.startswith(tower + ".final_layer_norm"):
                continue  # the pooled output keeps its scale; the residual stream carries the outliers
            tensors[name][channels] *= gains


def massive_activation(tensors, rng):
    for embeddings in ("text_model.embeddings", "vision_model.embeddings"):
        position = tensors[embeddings + ".position_embedding.weight"]
        channel = rng.integers(position.shape[1])
        typical = float(np.abs(position).mean())
        position[:, channel] += 80.0 * typical * 10
        if embeddings.startswith("vision"):
            tensors[embeddings + ".class_embedding"][channel] += 80.0 * typical * 10


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("source")
    parser.add_argument("pattern", choices=["ln-gain", "text-only", "massive"])
    parser.add_argument("output")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    source, output = Path(args.source), Path(args.output)
    if output.exists():
        shutil.rmtree(output)
    shutil.copytree(source, output)
    tensors, metadata = read_safetensors(source / "model.safetensors")
    rng = np.random.default_rng(args.seed)
    if args.pattern == "ln-gain":
        outlier_ln_gains(tensors, ["text_model", "vision_model"], rng)
    elif args.pattern == "text-only":
        outlier_ln_gains(tensors, ["text_model"], rng)
    else:
        massive_activation(tensors, rng)
    write_safetensors(output / "model.safetensors", tensors, metadata)


if __name__ == "__main__":
    main()
