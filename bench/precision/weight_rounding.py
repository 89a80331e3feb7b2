#!/usr/bin/env python3
"""How much a model's text embeddings move when only its weights are rounded.

Runs the text tower of a model folder in float64 numpy on 16 fixed prompts (random token ids
ending in the end-of-text id), once with the weights as stored and once with every encoder
linear weight rounded to bf16, then to per-row int8, and prints the worst cosine between the
embeddings. Everything else stays float64, so the cosine is a bound no bf16 or int8
implementation of the model can beat: a checkpoint whose weights alone cannot be rounded to
bf16 within cosine 0.9999 is ill-conditioned, not badly served.

usage: weight_rounding.py FOLDER [--require-bf16-below C | --require-bf16-above C]
(exit status 1 when the requirement does not hold; numpy and the standard library only)
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "support"))
from make_outlier_checkpoint import read_safetensors  # noqa: E402


def bf16(a):
    bits = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16  # round to nearest even
    return bits.astype(np.uint32).view(np.float32).astype(np.float64)


def int8_rows(w):
    scale = np.abs(w).max(axis=1, keepdims=True) / 127.0
    scale[scale == 0] = 1.0
    return np.round(w / scale) * scale


class TextTower:
    def __init__(self, folder, round_weights=None):
        self.tensors, _ = read_safetensors(Path(folder) / "model.safetensors")
        config = json.loads((Path(folder) / "config.json").read_text())["text_config"]
        self.heads = config["num_attention_heads"]
        self.layers = config["num_hidden_layers"]
        self.eps = config.get("layer_norm_eps", 1e-5)
        self.round_weights = round_weights

    def weight(self, name):
        w = self.tensors[name].astype(np.float64)
        is_linear = ".encoder.layers." in name and (name.endswith("_proj.weight") or name.endswith("fc1.weight")
                                                    or name.endswith("fc2.weight"))
        return self.round_weights(w) if self.round_weights and is_linear else w

    def layer_norm(self, x, prefix):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self.weight(prefix + ".weight") + self.weight(prefix + ".bias")

    def linear(self, x, prefix):
        return x @ self.weight(prefix + ".weight").T + self.weight(prefix + ".bias")

    def embed(self, ids):
        batch, length = ids.shape
        x = self.weight("text_model.embeddings.token_embedding.weight")[ids]
        x = x + self.weight("text_model.embeddings.position_embedding.weight")[:length]
        width = x.shape[-1]
        head = width // self.heads
        causal = np.triu(np.full((length, length), -np.inf), 1)
        for i in range(self.layers):
            p = f"text_model.encoder.layers.{i}."
            h = self.layer_norm(x, p + "layer_norm1")
            q, k, v = (self.linear(h, p + f"self_attn.{n}_proj").reshape(batch, length, self.heads, head).transpose(0, 2, 1, 3)
                       for n in "qkv")
            scores = q @ k.transpose(0, 1, 3, 2) * head ** -0.5 + causal
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, width)
            x = x + self.linear(context, p + "self_attn.out_proj")
            h = self.linear(self.layer_norm(x, p + "layer_norm2"), p + "mlp.fc1")
            x = x + self.linear(h / (1 + np.exp(-1.702 * h)), p + "mlp.fc2")
        x = self.layer_norm(x, "text_model.final_layer_norm")
        pooled = x[np.arange(batch), ids.argmax(-1)]
        return pooled @ self.weight("text_projection.weight").T


def worst_cosine(a, b):
    return float(np.min(np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--require-bf16-below", type=float)
    group.add_argument("--require-bf16-above", type=float)
    args = parser.parse_args()
    vocab = read_safetensors(Path(args.folder) / "model.safetensors")[0][
        "text_model.embeddings.token_embedding.weight"].shape[0]
    ids = np.random.default_rng(1).integers(1, vocab - 1, size=(16, 10))
    ids[:, -1] = vocab - 1  # pooled at the largest id, as the end-of-text token is
    reference = TextTower(args.folder).embed(ids)
    bf16_cosine = worst_cosine(reference, TextTower(args.folder, bf16).embed(ids))
    int8_cosine = worst_cosine(reference, TextTower(args.folder, int8_rows).embed(ids))
    print(f"{args.folder}: text embeddings, float64 math, weights rounded: "
          f"bf16 cosine {bf16_cosine:.6f}, int8 (per row) cosine {int8_cosine:.6f}")
    if args.require_bf16_below is not None and not bf16_cosine < args.require_bf16_below:
        sys.exit(f"expected bf16 cosine below {args.require_bf16_below}")
    if args.require_bf16_above is not None and not bf16_cosine > args.require_bf16_above:
        sys.exit(f"expected bf16 cosine above {args.require_bf16_above}")


if __name__ == "__main__":
    main()
