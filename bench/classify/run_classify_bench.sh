#!/usr/bin/env bash
# xclip classify over 32 short videos with 400 labels: videos per second and peak memory.
#   bench/classify/run_classify_bench.sh [BUILD_DIR] [MODEL]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD="${1:-build}"
MODEL="${2:-$BUILD/models/base-patch32}"
DIR="$BUILD/bench_videos/classify"
mkdir -p "$DIR"
for i in $(seq 1 32); do
  f="$DIR/clip_$i.mp4"
  [ -f "$f" ] || ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc2=size=640x360:rate=30:duration=3" \
    -vf "hue=h=$((i * 11))" -c:v libx264 -preset veryfast -g 30 -pix_fmt yuv420p "$f"
done
LABELS="$DIR/labels.txt"
/usr/bin/python3 - "$LABELS" <<'PY'
import sys
verbs = ["playing", "eating", "riding", "throwing", "cutting", "washing", "climbing", "juggling", "painting", "carrying",
         "opening", "folding", "kicking", "pushing", "cleaning", "repairing", "dancing with", "jumping over", "looking at",
         "talking about"]
nouns = ["a ball", "spaghetti", "a horse", "a frisbee", "vegetables", "a car", "a rock wall", "oranges", "a fence",
         "boxes", "a door", "laundry", "a bottle", "a cart", "the kitchen", "a bicycle", "a partner", "a rope", "the sky",
         "the weather"]
open(sys.argv[1], "w").write("\n".join("%s %s" % (v, n) for v in verbs for n in nouns) + "\n")
PY
start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$DIR/maxrss_kb" "$BUILD/xclip" classify "$DIR"/clip_*.mp4 --model "$MODEL" --labels-file "$LABELS" \
  --template "a video of a person {}." --format csv --top 1 --quiet > "$DIR/result.csv"
end=$(date +%s.%N)
/usr/bin/python3 - "$start" "$end" "$(cat "$DIR/maxrss_kb")" <<'PY'
import sys
start, end, rss = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print("xclip classify: 32 videos x 400 labels in %.1f s -> %.2f videos/s, peak RSS %.0f MB" % (end - start, 32 / (end - start), rss / 1024))
PY
