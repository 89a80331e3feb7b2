#!/usr/bin/env python3
"""X-CLIP inference written directly in PyTorch: the baseline of the CPU benchmark.

Loads a model folder (config.json + model.safetensors, read with numpy) and computes what
transformers' XCLIPModel computes at inference (forward, get_text_features,
get_video_features), with plain torch ops under torch.inference_mode().

  xclip_torch.py check GOLDEN_DIR MODELS_DIR        compare with ../shared/golden (exit 1 on mismatch)
  xclip_torch.py bench MODEL_DIR INPUTS THREADS REPEATS   time the 4 workloads, print JSON
"""
import ctypes
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"F32": np.float32, "I64": np.int64, "U8": np.uint8, "F64": np.float64}


def read_safetensors(path, names=None):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        out = {}
        for name, e in header.items():
            if name == "__metadata__" or (names is not None and name not in names):
                continue
            b, end = e["data_offsets"]
            f.seek(8 + n + b)
            out[name] = np.frombuffer(f.read(end - b), dtype=DTYPES[e["dtype"]]).reshape(e["shape"]).copy()
        return out


ACT = {
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
    "gelu": F.gelu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "silu": F.silu,
}


class XClip:
    def __init__(self, folder):
        cfg = json.load(open(folder + "/config.json"))
        self.t = dict(cfg.get("text_config") or {})
        self.v = dict(cfg.get("vision_config") or {})
        self.cfg = cfg
        self.w = {k: torch.from_numpy(v) for k, v in read_safetensors(folder + "/model.safetensors").items()}

    def ln(self, x, p, eps):
        return F.layer_norm(x, x.shape[-1:], self.w[p + ".weight"], self.w[p + ".bias"], eps)

    def lin(self, x, p, bias=True):
        return F.linear(x, self.w[p + ".weight"], self.w.get(p + ".bias") if bias else None)

    def attn(self, x, p, heads, mask=None, kv=None, proj="out_proj", bias=True):
        b, n, d = x.shape
        kv = x if kv is None else kv
        m = kv.shape[1]
        hd = d // heads
        q = self.lin(x, p + ".q_proj", bias).view(b, n, heads, hd).transpose(1, 2)
        k = self.lin(kv, p + ".k_proj", bias).view(b, m, heads, hd).transpose(1, 2)
        v = self.lin(kv, p + ".v_proj", bias).view(b, m, heads, hd).transpose(1, 2)
        s = (q @ k.transpose(-1, -2)) * hd ** -0.5
        if mask is not None:
            s = s + mask
        o = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, n, d)
        return self.lin(o, p + "." + proj)

    def layer(self, x, p, heads, act, eps, mask=None):
        x = x + self.attn(self.ln(x, p + ".layer_norm1", eps), p + ".self_attn", heads, mask)
        h = ACT[act](self.lin(self.ln(x, p + ".layer_norm2", eps), p + ".mlp.fc1"))
        return x + self.lin(h, p + ".mlp.fc2")

    def text(self, ids, mask):
        t = self.t
        eps, heads, act = t.get("layer_norm_eps", 1e-5), t.get("num_attention_heads", 8), t.get("hidden_act", "quick_gelu")
        n, l = ids.shape
        x = self.w["text_model.embeddings.token_embedding.weight"][ids] + self.w["text_model.embeddings.position_embedding.weight"][:l]
        big = torch.finfo(torch.float32).min
        m = torch.full((l, l), big).triu(1)[None, None].expand(n, 1, l, l).clone()
        if mask is not None:
            m = m.masked_fill(mask[:, None, None, :] == 0, big)
        for i in range(t.get("num_hidden_layers", 12)):
            x = self.layer(x, "text_model.encoder.layers.%d" % i, heads, act, eps, m)
        x = self.ln(x, "text_model.final_layer_norm", eps)
        pooled = x[torch.arange(n), ids.argmax(-1)]
        return self.lin(pooled, "text_projection", bias=False)

    def vision(self, pixels):
        v = self.v
        eps, heads, act = v.get("layer_norm_eps", 1e-5), v.get("num_attention_heads", 12), v.get("hidden_act", "quick_gelu")
        b, t = pixels.shape[:2]
        x = F.conv2d(pixels.flatten(0, 1), self.w["vision_model.embeddings.patch_embedding.weight"], stride=v.get("patch_size", 32))
        x = x.flatten(2).transpose(1, 2)
        cls = self.w["vision_model.embeddings.class_embedding"].expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], 1) + self.w["vision_model.embeddings.position_embedding.weight"]
        x = self.ln(x, "vision_model.pre_layernorm", eps)
        s = x.shape[1]
        for i in range(v.get("num_hidden_layers", 12)):
            p = "vision_model.encoder.layers.%d" % i
            msg = self.lin(x[:, 0], p + ".message_fc").view(b, t, -1)
            msg = msg + self.attn(self.ln(msg, p + ".message_ln", eps), p + ".message_attn", heads)
            y = torch.cat([x, msg.reshape(b * t, 1, -1)], 1)
            y = y + self.attn(self.ln(y, p + ".layer_norm1", eps), p + ".self_attn", heads)
            x = y[:, :s]
            x = x + self.lin(ACT[act](self.lin(self.ln(x, p + ".layer_norm2", eps), p + ".mlp.fc1")), p + ".mlp.fc2")
        pooled = self.ln(x[:, 0], "vision_model.post_layernorm", eps)
        cls = self.lin(pooled, "visual_projection", bias=False).view(b, t, -1)
        h = cls + self.w["mit.position_embedding"]
        for i in range(v.get("mit_num_hidden_layers", 1)):
            h = self.layer(h, "mit.encoder.layers.%d" % i, v.get("mit_num_attention_heads", 8), act, eps)
        video = (h + cls).mean(1)
        img = self.ln(x[:, 1:], "prompts_visual_layernorm", eps) @ self.w["prompts_visual_projection"]
        return video, img.view(b, t, -1, video.shape[-1]).mean(1)

    def prompts(self, text, visual):
        c, teps, veps = self.cfg, self.t.get("layer_norm_eps", 1e-5), self.v.get("layer_norm_eps", 1e-5)
        heads, act = c.get("prompt_num_attention_heads", 8), c.get("prompt_hidden_act", "quick_gelu")
        visual = self.ln(visual, "prompts_generator.layernorm", veps)
        for i in range(c.get("prompt_layers", 2)):
            p = "prompts_generator.decoder.%d" % i
            text = text + self.attn(self.ln(text, p + ".norm1", teps), p + ".cross_attn", heads, kv=visual, proj="proj", bias=False)
            text = text + self.lin(ACT[act](self.lin(self.ln(text, p + ".norm3", teps), p + ".mlp.0")), p + ".mlp.3")
        return self.w["prompts_generator.alpha"] * text

    def forward(self, ids, mask, pixels):
        video, img = self.vision(pixels)
        text = self.text(ids, mask)
        text = text.unsqueeze(0).expand(video.shape[0], -1, -1)
        text = text + self.prompts(text, img)
        video = video / video.norm(dim=-1, keepdim=True)
        text = text / text.norm(dim=-1, keepdim=True)
        return torch.einsum("bd,bkd->bk", video, self.w["logit_scale"].exp() * text)

    def video_features(self, pixels):
        return self.vision(pixels)[0]


def check(golden_dir, models_dir):
    g = read_safetensors(golden_dir + "/golden_tiny.safetensors")
    worst = 0.0
    with torch.inference_mode():
        for preset in ("tiny", "tiny-8f"):
            m = XClip(models_dir + "/" + preset)
            ids = torch.from_numpy(g[preset + "/inputs/basic/input_ids"])
            mask = torch.from_numpy(g[preset + "/inputs/basic/attention_mask"])
            pix = torch.from_numpy(g[preset + "/inputs/pixel_values_2v"])
            logits = m.forward(ids, mask, pix).numpy()
            worst = max(worst, float(np.abs(logits - g[preset + "/fwd_2v3t/logits_per_video"]).max()))
            vf = m.video_features(pix).numpy()
            worst = max(worst, float(np.abs(vf - g[preset + "/get_video_features/video_features"]).max()))
            tf = m.text(ids, mask).numpy()
            worst = max(worst, float(np.abs(tf - g[preset + "/get_text_features/text_features"]).max()))
        b = read_safetensors(golden_dir + "/golden_base.safetensors")
        m = XClip(models_dir + "/base-patch32")
        pool = torch.from_numpy(b["pool/pixel_values"])
        pix = pool[torch.arange(8)][None]
        logits = m.forward(torch.from_numpy(b["base-patch32/fwd_1v3t/input_ids"]),
                           torch.from_numpy(b["base-patch32/fwd_1v3t/attention_mask"]), pix).numpy()
        worst = max(worst, float(np.abs(logits - b["base-patch32/fwd_1v3t/logits_per_video"]).max()))
    print(json.dumps({"max_abs_diff_vs_golden": worst, "ok": worst <= 2e-5}))
    return 0 if worst <= 2e-5 else 1


def blas_in_use():
    """The BLAS library this process's torch runs its float32 products on, and its kernel
    family: Debian's torch calls libblas.so.3, which the alternatives system points at
    OpenBLAS or at the reference BLAS (some 50x slower: any ratio against it is meaningless)."""
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))  # make sure the library is loaded
    with open("/proc/self/maps") as maps:
        paths = sorted({line.split()[-1] for line in maps if "blas" in line.rsplit("/", 1)[-1]})
    real = [os.path.realpath(p) for p in paths]
    openblas = [p for p in real if "openblas" in p]
    if not openblas:
        raise SystemExit(f"PyTorch runs on {real or 'no BLAS library found'}, not OpenBLAS: the baseline would be "
                         "meaningless. apt-get install libopenblas0-pthread (it becomes libblas.so.3).")
    lib = ctypes.CDLL(openblas[0])
    lib.openblas_get_config.restype = ctypes.c_char_p
    lib.openblas_get_corename.restype = ctypes.c_char_p
    kernels = lib.openblas_get_corename().decode()
    # Kernel families that mean OpenBLAS did not recognise the CPU (or was told to run generic code).
    if kernels.lower() in ("prescott", "core2", "nehalem", "katmai", "coppermine", "northwood", "generic", "unknown"):
        raise SystemExit(f"OpenBLAS runs its generic {kernels} kernels here: a baseline on them is several times "
                         "too slow. Set OPENBLAS_CORETYPE to the best family of this CPU (run_cpu_bench.sh does).")
    expected = os.environ.get("XCLIP_EXPECTED_OPENBLAS_KERNELS")
    if expected and kernels.lower() != expected.lower():
        raise SystemExit(f"OpenBLAS runs {kernels} kernels, not the {expected} asked for with OPENBLAS_CORETYPE")
    return {"library": openblas[0], "config": lib.openblas_get_config().decode(), "kernels": kernels,
            "coretype_env": os.environ.get("OPENBLAS_CORETYPE", "")}


def bench(folder, inputs, threads, repeats):
    torch.set_num_threads(threads)
    blas = blas_in_use()
    m = XClip(folder)
    x = {k: torch.from_numpy(v) for k, v in read_safetensors(inputs).items()}
    work = {
        "a_forward_1v3t": lambda: m.forward(x["ids3"], x["mask3"], x["video1"]),
        "b_zero_shot_1v400t": lambda: m.forward(x["ids400"], x["mask400"], x["video1"]),
        "c_video_features_8v": lambda: m.video_features(x["video8"]),
        "d_text_features_400t": lambda: m.text(x["ids400"], x["mask400"]),
    }
    out = {}
    with torch.inference_mode():
        for name, fn in work.items():
            fn()  # warm-up
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1e3)
            out[name] = sorted(times)
    print(json.dumps({"torch": torch.__version__, "threads": threads, "blas": blas, "times_ms": out}))


if __name__ == "__main__":
    if sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    bench(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
