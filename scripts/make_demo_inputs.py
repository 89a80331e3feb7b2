#!/usr/bin/env python3
"""Writes an `xclip forward` inputs file for the demo: the frames of ../shared/golden's pool
(already processed to 224x224) as one video, and the token ids of three labels.

Usage: make_demo_inputs.py GOLDEN_DIR NUM_FRAMES OUT.safetensors
Only the standard library and numpy are used (a demo helper, never a runtime dependency).
"""
import json
import struct
import sys

import numpy as np


def read_tensor(path, key):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        entry = header[key]
        begin, end = entry["data_offsets"]
        f.seek(8 + n + begin)
        return np.frombuffer(f.read(end - begin), dtype="<f4").reshape(entry["shape"])


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, arr in tensors.items():
        blob = np.ascontiguousarray(arr).tobytes()
        dtype = {"float32": "F32", "int64": "I64"}[str(arr.dtype)]
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    golden_dir, frames, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    pool = read_tensor(golden_dir + "/golden_base.safetensors", "pool/pixel_values")
    pixel_values = pool[np.arange(frames) % pool.shape[0]][None].astype("<f4")
    # "playing sports", "eating spaghetti", "go shopping" as the CLIP tokenizer encodes them.
    ids = np.array([[49406, 1629, 2054, 49407], [49406, 4371, 18440, 49407], [49406, 861, 4266, 49407]], dtype="<i8")
    write_safetensors(out, {"input_ids": ids, "attention_mask": np.ones_like(ids), "pixel_values": pixel_values})


if __name__ == "__main__":
    main()
