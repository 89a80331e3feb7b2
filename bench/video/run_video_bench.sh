#!/usr/bin/env bash
# Video sampling benchmark: makes (once) a 60-second 1920x1080 H.264 file with a keyframe
# every 10 seconds, then times 8/16/32 uniform frames against sequential decoding.
#   bench/video/run_video_bench.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD="${1:-build}"
VIDEO="$BUILD/bench_videos/h264_1080p_60s_gop10s.mp4"
if [ ! -f "$VIDEO" ]; then
  mkdir -p "$(dirname "$VIDEO")"
  ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=1920x1080:rate=30:duration=60 \
    -c:v libx264 -preset veryfast -g 300 -keyint_min 300 -sc_threshold 0 -pix_fmt yuv420p "$VIDEO.partial.mp4"
  mv "$VIDEO.partial.mp4" "$VIDEO"
fi
"$BUILD/bench/xclip_bench_video" "$VIDEO" --frames 8,16,32 --iters 3
