#!/usr/bin/env bash
# Fails when a header under src/ includes the public façade (it must use xclip/config.h,
# xclip/outputs.h and the other data headers), or when the CLI includes anything from src/.
set -euo pipefail
root="$1"
status=0
if grep -rnE '#include "xclip/(model|pipeline|xclip)\.h"' "$root/src" --include='*.h'; then
  echo "error: the headers above include the public façade; include xclip/config.h or xclip/outputs.h" >&2
  status=1
fi
if grep -rnE '#include "(core|io|ops|model|text|vision|video|pipeline|api)/' "$root/tools/cli"; then
  echo "error: tools/cli includes library internals; it must use include/xclip only" >&2
  status=1
fi
[ "$status" -eq 0 ] && echo "layering ok: src/ headers avoid the façade, tools/cli uses include/xclip only"
exit "$status"
