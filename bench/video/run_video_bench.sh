#!/usr/bin/env bash
# Video sampling benchmark: makes (once) two 60-second 1920x1080 H.264 files with a keyframe
# every 10 seconds, one with B-frames (x264's default) and one without, then times 8/16/32
# uniform frames with VideoReader (exact and keyframe seeking) against sequential decoding,
# and 8 frames against PyAV's exact per-target strategy at its fastest threading setting.
#   bench/video/run_video_bench.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD="${1:-build}"
source bench/common/steal.sh
steal_mark
make_video() {  # OUT BFRAMES
  [ -f "$1" ] && return
  mkdir -p "$(dirname "$1")"
  ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=1920x1080:rate=30:duration=60 \
    -c:v libx264 -preset veryfast -bf "$2" -g 300 -keyint_min 300 -sc_threshold 0 -pix_fmt yuv420p "$1.partial.mp4"
  mv "$1.partial.mp4" "$1"
}
for kind in bframes no_bframes; do
  VIDEO="$BUILD/bench_videos/h264_1080p_60s_gop10s_$kind.mp4"
  make_video "$VIDEO" "$([ "$kind" = bframes ] && echo 3 || echo 0)"
  TABLE=$("$BUILD/bench/xclip_bench_video" "$VIDEO" --frames 8,16,32 --iters 3)
  echo "$TABLE"
  OURS_8=$(echo "$TABLE" | awk '$1 == "8" { print $2 }')
  INDICES=$("$BUILD/bench/xclip_bench_video" "$VIDEO" --indices 8)
  /usr/bin/python3 bench/video/pyav_exact.py "$VIDEO" "$INDICES" --iters 3 | /usr/bin/python3 -c "
import json, sys
r = json.load(sys.stdin)
ours = float(sys.argv[1])
print('PyAV exact strategy, 8 frames: ' + ', '.join('%s %.1f ms' % kv for kv in r['ms'].items()) +
      '; fastest %s %.1f ms; xclip.cpp exact %.1f ms: %.2fx' % (r['fastest'], r['fastest_ms'], ours, r['fastest_ms'] / ours))" "$OURS_8"
done
steal_report
