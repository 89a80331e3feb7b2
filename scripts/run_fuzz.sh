#!/usr/bin/env bash
# Builds the libFuzzer + AddressSanitizer targets (clang; preset `fuzz`) and runs each for
# SECONDS (default 60) from a seed corpus made here: small videos of several codecs and
# containers for xclip_video_fuzz, a safetensors file, a torch checkpoint, a config.json and
# texts for xclip_parsers_fuzz. Any crash, sanitizer report, leak or input slower than 20 s
# fails the run (libFuzzer exits non-zero and keeps the input under build-fuzz/crashes).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
cmake --preset fuzz >/dev/null
cmake --build build-fuzz -j"$(nproc)"

# The fuzz build is also the embeddings-only build (preset embeddings-only: no index, hub
# downloads or server, with FAISS, SQLite and libcurl hidden from CMake): its CLI must embed
# and say what it lacks, and link none of those libraries.
if ldd build-fuzz/xclip | grep -E "faiss|sqlite|curl|httplib"; then
  echo "the embeddings-only xclip links a library it must not need" >&2
  exit 1
fi
for command in index search serve; do
  set +e
  message="$(ASAN_OPTIONS=detect_leaks=0 build-fuzz/xclip "$command" 2>&1)"
  status=$?
  set -e
  if [ "$status" -ne 2 ] || ! grep -q "has no $command (configured with XCLIP_WITH_" <<<"$message"; then
    echo "embeddings-only xclip $command: expected exit 2 naming the missing layer, got $status: $message" >&2
    exit 1
  fi
done

corpus=build-fuzz/corpus
mkdir -p "$corpus/video" "$corpus/parsers" build-fuzz/crashes
make_seed() {  # name, ffmpeg output options
  local out="$corpus/video/$1"; shift
  [ -f "$out" ] || ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=64x48:rate=10:duration=1 "$@" "$out"
}
make_seed h264.mp4 -c:v libx264 -g 4 -bf 2 -pix_fmt yuv420p
make_seed vp9.webm -c:v libvpx-vp9 -b:v 100k
make_seed mpeg4.avi -c:v mpeg4
make_seed mjpeg.mkv -c:v mjpeg
make_seed h264.ts -c:v libx264 -pix_fmt yuv420p
# No presentation timestamps and reordered frames: frames counted from the first (reopen path).
make_seed mpeg4_bframes.avi -c:v mpeg4 -bf 2
make_seed mpeg2_bframes.mpg -c:v mpeg2video -bf 2
# AVI open GOPs: keyframes placed in presentation order by picture type (display_order.h).
make_seed avi_open_gop.avi -c:v mpeg4 -g 4 -bf 2
# The classes of issue 25: program streams with B-frames, HEVC with open GOPs (CRA / RASL),
# intra refresh, 10-bit with rotation, two video streams, a still photo.
make_seed ps_bframes.vob -c:v mpeg2video -bf 2 -g 6 -f vob
make_seed hevc_open_gop.ts -c:v libx265 -x265-params keyint=5:open-gop=1:bframes=2:log-level=error -pix_fmt yuv420p
make_seed intra_refresh.mp4 -c:v libx264 -x264-params intra-refresh=1:keyint=6 -pix_fmt yuv420p
make_seed ten_bit_rotated.mp4 -c:v libx264 -pix_fmt yuv420p10le -metadata:s:v:0 rotate=90
# MP4 sample tables read with their composition offsets ('ctts'), negative ones included.
make_seed ctts_negative.mp4 -c:v libx264 -g 4 -bf 3 -pix_fmt yuv420p -movflags negative_cts_offsets
make_seed two_streams.mkv -map 0 -map 0 -c:v libx264 -pix_fmt yuv420p -disposition:v:0 0 -disposition:v:1 default
[ -f "$corpus/video/photo.jpg" ] || ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=64x48 -frames:v 1 \
  "$corpus/video/photo.jpg"
cp ../shared/golden/tiny_pytorch_model.bin "$corpus/parsers/tiny_pytorch_model.bin"
/usr/bin/python3 - "$corpus/parsers" <<'PY'
import json, struct, sys
folder = sys.argv[1]
header = json.dumps({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                     "__metadata__": {"format": "pt"}}).encode()
open(f"{folder}/small.safetensors", "wb").write(struct.pack("<Q", len(header)) + header + bytes(16))
json.dump({"model_type": "xclip", "projection_dim": 16, "text_config": {"hidden_size": 32},
           "vision_config": {"num_frames": 4, "patch_size": 16}}, open(f"{folder}/config.json", "w"))
open(f"{folder}/text.txt", "w", encoding="utf-8").write("a video of a person playing sports, ünïcödé 🎉")
PY

# ... and it classifies a video (the tiny synthetic checkpoint, made here).
[ -f build-fuzz/models/tiny/config.json ] ||
  /usr/bin/python3 ../shared/tools/synth_checkpoint.py --preset tiny --seed 0 --out build-fuzz/models/tiny >/dev/null
ASAN_OPTIONS=detect_leaks=0 build-fuzz/xclip classify "$corpus/video/h264.mp4" --model build-fuzz/models/tiny \
  --labels "a dog,a cat" --format json --quiet | grep -q '"probability"'
echo "embeddings-only build: no FAISS, SQLite, libcurl or cpp-httplib; it classifies; index/search/serve say what is missing"

run() {  # target, corpus folder
  echo "== $1: ${seconds} s"
  "./build-fuzz/$1" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix=build-fuzz/crashes/ "$2"
}
run xclip_video_fuzz "$corpus/video"
run xclip_parsers_fuzz "$corpus/parsers"
echo "fuzzing: no crash, sanitizer report or hang in ${seconds} s per target"
