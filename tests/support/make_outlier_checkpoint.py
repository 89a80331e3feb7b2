#!/usr/bin/env python3
"""Model folders shaped like trained checkpoints, made from a synthetic preset: the outlier
channels that trained ViTs and CLIP text towers carry, which random weights lack.

patterns (the first four are shaped like trained towers: their outliers do not make the
float32 function any more sensitive than the preset's own):
  ln-gain     3 channels per tower whose LayerNorm gains are 20-60x the others in every encoder
              layer, and the weights reading them (q/k/v, fc1) as much smaller: large
              activations, small weights, the float32 function of the preset
  ln-offset   3 channels per tower whose LayerNorm biases put a systematic offset 20-60x the
              typical value into every token (same sign in every token, as trained outlier
              channels carry)
  text-only   ln-gain in the text tower only
  massive     one channel of one token per tower (the text's first token, one image patch)
              carrying a "massive activation" 500x the typical value, an attention sink
  unbalanced  LayerNorm gains 20-60x on 3 channels with nothing else changed: every token's
              q/k/v are dominated by those channels, attention saturates and the model is
              ill-conditioned (rounding only its weights to bf16 in float64 math already moves
              the text embeddings to cosine ~0.96). No 8- or 16-bit weight format holds on it:
              the fixture for convert's refusal.

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
ENCODER_LAYER_NORM = re.compile(r"^(text_model|vision_model)\.encoder\.layers\.(\d+)\.(layer_norm[12])\.weight$")
READERS = {"layer_norm1": ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"], "layer_norm2": ["mlp.fc1"]}


def pick_channels(tensors, tower, rng):
    hidden = tensors[tower + ".encoder.layers.0.layer_norm1.weight"].shape[0]
    return rng.choice(hidden, size=3, replace=False), rng.uniform(20.0, 60.0, size=3).astype(np.float32)


def unbalanced_ln_gains(tensors, towers, rng):
    for tower in towers:
        channels, gains = pick_channels(tensors, tower, rng)
        for name in [k for k in tensors if LAYER_NORMS.match(k) and k.startswith(tower + ".")]:
            if name.startswith(tower + ".post_layernorm") or name.startswith(tower + ".final_layer_norm"):
                continue  # the pooled output keeps its scale; the residual stream carries the outliers
            tensors[name][channels] *= gains


def balanced_ln_gains(tensors, towers, rng):
    for tower in towers:
        channels, gains = pick_channels(tensors, tower, rng)
        for name in list(tensors):
            m = ENCODER_LAYER_NORM.match(name)
            if not m or m.group(1) != tower:
                continue
            prefix = f"{tower}.encoder.layers.{m.group(2)}."
            tensors[name][channels] *= gains
            tensors[prefix + m.group(3) + ".bias"][channels] *= gains
            for reader in READERS[m.group(3)]:
                tensors[prefix + reader + ".weight"][:, channels] /= gains


def ln_offsets(tensors, towers, rng):
    for tower in towers:
        channels, gains = pick_channels(tensors, tower, rng)
        signs = rng.choice([-1.0, 1.0], size=3).astype(np.float32)
        for name in list(tensors):
            m = ENCODER_LAYER_NORM.match(name)
            if not m or m.group(1) != tower:
                continue
            typical = float(np.abs(tensors[name]).mean())  # a normalised value times the gain
            tensors[name.replace(".weight", ".bias")][channels] = signs * gains * typical


def massive_activation(tensors, rng):
    for embeddings, token in (("text_model.embeddings", 0), ("vision_model.embeddings", None)):
        position = tensors[embeddings + ".position_embedding.weight"]
        channel = rng.integers(position.shape[1])
        row = token if token is not None else int(rng.integers(1, position.shape[0]))
        typical = float(np.abs(position).mean())
        position[row, channel] += 500.0 * typical


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("source")
    parser.add_argument("pattern", choices=["ln-gain", "ln-offset", "text-only", "massive", "unbalanced"])
    parser.add_argument("output")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    source, output = Path(args.source), Path(args.output)
    if output.exists():
        shutil.rmtree(output)
    shutil.copytree(source, output)
    tensors, metadata = read_safetensors(source / "model.safetensors")
    rng = np.random.default_rng(args.seed)
    both = ["text_model", "vision_model"]
    if args.pattern == "ln-gain":
        balanced_ln_gains(tensors, both, rng)
    elif args.pattern == "ln-offset":
        ln_offsets(tensors, both, rng)
    elif args.pattern == "text-only":
        balanced_ln_gains(tensors, ["text_model"], rng)
    elif args.pattern == "massive":
        massive_activation(tensors, rng)
    else:
        unbalanced_ln_gains(tensors, both, rng)
    write_safetensors(output / "model.safetensors", tensors, metadata)


if __name__ == "__main__":
    main()
