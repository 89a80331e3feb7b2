#!/usr/bin/env bash
# The layers, lowest first; a file may include library internals ("<layer>/...") only from its
# own layer or a lower one:
#
#   core -> ops -> io -> text | vision | video -> model -> api -> pipeline -> index -> front-ends
#
# (text, vision and video are one level: none of them includes another.) The front-ends
# (tools/cli, tools/server, tools/common, python/src) and the public headers (include/xclip) include no
# internals at all: they see include/xclip only. Headers under src/ take their data types from
# include/xclip/config.h, outputs.h and the other data headers, never from the facade (model.h,
# pipeline.h, xclip.h).
set -euo pipefail
root="$1"
status=0

rank() {
  case "$1" in
    core) echo 0 ;;
    ops) echo 1 ;;
    io) echo 2 ;;
    text | vision | video) echo 3 ;;
    model) echo 4 ;;
    api) echo 5 ;;
    pipeline) echo 6 ;;
    index) echo 7 ;;
    *) echo 99 ;;
  esac
}

internal='#include "(core|ops|io|text|vision|video|model|api|pipeline|index)/'
for dir in "$root"/src/*/; do
  layer="$(basename "$dir")"
  own="$(rank "$layer")"
  if [ "$own" -eq 99 ]; then
    echo "error: src/$layer is not in the layer order of $0; add it there" >&2
    status=1
    continue
  fi
  while IFS= read -r line; do
    file="${line%%:*}"
    included="$(echo "$line" | sed -E 's/.*#include "([a-z]+)\/.*/\1/')"
    theirs="$(rank "$included")"
    if [ "$theirs" -gt "$own" ] || { [ "$theirs" -eq "$own" ] && [ "$included" != "$layer" ]; }; then
      echo "error: ${file#"$root"/} ($layer) includes $included/, which is not below it: $line" >&2
      status=1
    fi
  done < <(grep -rnE "$internal" "$dir" || true)
done

for front in tools/cli tools/server tools/common python/src include/xclip; do
  if grep -rnE "$internal" "$root/$front"; then
    echo "error: $front includes library internals above; it must use include/xclip only" >&2
    status=1
  fi
done

if grep -rnE '#include "xclip/(model|pipeline|xclip)\.h"' "$root/src" --include='*.h'; then
  echo "error: the headers above include the public facade; include xclip/config.h or xclip/outputs.h" >&2
  status=1
fi

# The libraries of the build (CMakeLists.txt) cut the order in three: xclip_engine (core, ops,
# io, text, vision, model, api), xclip_video (video, pipeline) and xclip_index (index). A file
# of a library includes nothing of a library above it, public headers included, so that an
# embeddings-only build links without the index and the engine without FFmpeg.
library_rule() {  # layers..., then the pattern of what they must not include
  local pattern="${!#}" layer
  for layer in "${@:1:$#-1}"; do
    if grep -rnE "$pattern" "$root/src/$layer"; then
      echo "error: src/$layer includes the above from a library above its own (see CMakeLists.txt)" >&2
      status=1
    fi
  done
}
library_rule core ops io text vision model api \
  '#include "(video|pipeline|index)/|#include "xclip/(video|pipeline|index|watch|xclip)\.h"'
library_rule video pipeline '#include "index/|#include "xclip/(index|xclip)\.h"'

[ "$status" -eq 0 ] && echo "layering ok: core -> ops -> io -> text|vision|video -> model -> api -> pipeline -> index -> front-ends; libraries engine < video < index"
exit "$status"
