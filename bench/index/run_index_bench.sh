#!/usr/bin/env bash
# Search-index benchmark: stage 1 at 10k / 100k / 1M synthetic windows (build time, disk,
# memory, p50/p99 latency, recall@10 against exact search), stage 2 for 100 windows on
# base-patch32, and the real path: windows indexed per second from 1080p H.264 files.
#   bench/index/run_index_bench.sh [build-dir]     (SIZES=10000,100000 to skip the 1M run)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD="${1:-build}"
MODEL="$BUILD/models/base-patch32"
[ -f "$MODEL/config.json" ] || { echo "missing $MODEL: run ctest -R synth.base-patch32 first" >&2; exit 1; }
SIZES="${SIZES:-10000,100000,1000000}"

echo "== stage 1 and stage 2 (xclip_bench_index) =="
"$BUILD/bench/xclip_bench_index" --sizes "$SIZES" --queries 200 --model "$MODEL" 2> >(grep -v "WARNING clustering" >&2)

echo "== real path: 1080p H.264 (60 s, 30 fps, 10 s GOP, B-frames), base-patch32, 8 frames per window =="
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/videos"
for i in 0 1; do
  ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30" -t 60 -vf "hue=H=t*0.3+$i" \
    -c:v libx264 -preset veryfast -g 300 -bf 2 -pix_fmt yuv420p "$WORK/videos/clip$i.mp4"
done
for window in 10 2; do
  start=$(date +%s.%N)
  "$BUILD/xclip" index "$WORK/videos" --index "$WORK/index$window" --model "$MODEL" --window "$window" --quiet \
    --format json > "$WORK/report.json"
  end=$(date +%s.%N)
  windows=$(python3 -c "import json; print(json.load(open('$WORK/report.json'))['windows_added'])")
  python3 -c "print(f'window {$window:>2} s: {$windows} windows in {$end - $start:.1f} s = {$windows / ($end - $start):.2f} windows/s (decode, preprocess, vision tower, thumbnails, SQLite)')"
done
