#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install, build, classify a video, then index its
# folder and search it by text.
#
#   ./scripts/run_main_job.sh [VIDEO] [MODEL]
#
# MODEL is a hub id (default microsoft/xclip-base-patch32, downloaded into the Hugging Face
# cache) or a local model folder. VIDEO defaults to a clip generated with ffmpeg. Where the
# hub cannot be reached (these build machines have no internet), the script says so and
# runs the same command on the synthetic base-patch32 checkpoint (real shapes, random
# weights) generated into build/models, so the whole pipeline still runs end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install_deps.sh
cmake --preset release -B build >/dev/null
cmake --build build -j"$(nproc)" --target xclip_cli >/dev/null
VIDEO="${1:-build/demo/demo.mp4}"
MODEL="${2:-microsoft/xclip-base-patch32}"
if [ ! -f "$VIDEO" ]; then
  mkdir -p "$(dirname "$VIDEO")"
  ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=640x360:rate=30:duration=4 -c:v libx264 -pix_fmt yuv420p "$VIDEO"
fi
LABELS="playing sports,eating spaghetti,go shopping"
INDEX="build/demo/index.xclip"

# Classify the video, then index its folder (incremental: a re-run skips what is done) and
# search the index by text.
demo() {
  ./build/xclip classify "$VIDEO" --model "$1" --labels "$LABELS" &&
    ./build/xclip index "$(dirname "$VIDEO")" --index "$INDEX" --model "$1" --window 2 --quiet &&
    ./build/xclip search "playing sports" --index "$INDEX" --top 3
}

if demo "$MODEL"; then
  exit 0
fi
echo >&2
echo "Could not run with $MODEL (see the error above). With network, the model is downloaded" >&2
echo "into the Hugging Face cache; otherwise pass a local folder: $0 VIDEO /path/to/xclip-base-patch32" >&2
echo "Running on the synthetic base-patch32 checkpoint instead (random weights: meaningless probabilities):" >&2
cmake -DPYTHON=/usr/bin/python3 -DSYNTH="$(cd .. && pwd)/shared/tools/synth_checkpoint.py" -DPRESET=base-patch32 \
      -DOUT=build/models -P tests/support/synth_models.cmake
rm -rf "$INDEX"  # an index belongs to one model
demo build/models/base-patch32
