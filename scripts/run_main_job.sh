#!/usr/bin/env bash
# The main job, end to end on a fresh Debian 12 machine: install, build, then score three
# labels against a video with an X-CLIP model.
#
#   ./scripts/run_main_job.sh [MODEL_DIR]
#
# MODEL_DIR is a Hugging Face X-CLIP folder (config.json + model.safetensors), e.g. a
# snapshot of microsoft/xclip-base-patch32. Without one (no network here), the synthetic
# base-patch32 checkpoint (random weights, real shapes) is generated into build/models.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target xclip_cli >/dev/null
SHARED="$(cd .. && pwd)/shared"
MODEL="${1:-}"
if [ -z "$MODEL" ]; then
  MODEL=build/models/base-patch32
  cmake -DPYTHON=/usr/bin/python3 -DSYNTH="$SHARED/tools/synth_checkpoint.py" -DPRESET=base-patch32 \
        -DOUT=build/models -P tests/support/synth_models.cmake
fi
FRAMES=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['vision_config'].get('num_frames', 8))" "$MODEL/config.json")
/usr/bin/python3 scripts/make_demo_inputs.py "$SHARED/golden" "$FRAMES" build/demo_inputs.safetensors
./build/xclip forward --model "$MODEL" --inputs build/demo_inputs.safetensors --outputs build/demo_outputs.safetensors
/usr/bin/python3 - <<'PY'
import json, struct
import numpy as np
with open("build/demo_outputs.safetensors", "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]; h = json.loads(f.read(n)); base = 8 + n
    e = h["logits_per_video"]; f.seek(base + e["data_offsets"][0])
    logits = np.frombuffer(f.read(e["data_offsets"][1] - e["data_offsets"][0]), "<f4").reshape(e["shape"])[0]
p = np.exp(logits - logits.max()); p /= p.sum()
for label, prob in sorted(zip(["playing sports", "eating spaghetti", "go shopping"], p), key=lambda x: -x[1]):
    print(f"{prob:8.4f}  {label}")
PY
