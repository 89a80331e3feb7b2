#!/usr/bin/env bash
# The documented packaging, offline: `pip wheel --no-build-isolation .` from a copy of the
# repository builds a wheel; the wheel installs into a fresh venv (Debian's site packages for
# numpy); `import xclip` there, away from the sources, runs a model. The wheel must carry its
# module whole: no run-time path into the build tree, every shared library from the system,
# and the version the C++ library reports.
set -euo pipefail
repo="$1" build="$2" model="$3"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A copy, so that pip's scratch files never land in the checkout.
mkdir "$work/src"
git -C "$repo" ls-files -z --cached --others --exclude-standard | (cd "$repo" && xargs -0 cp --parents -t "$work/src")
version="$(sed -n 's/^#define XCLIP_VERSION_STRING "\(.*\)"/\1/p' "$repo/include/xclip/version.h")"

XCLIP_CMAKE_BUILD_DIR="$build" PIP_NO_INDEX=1 /usr/bin/python3 -m pip wheel -q --no-build-isolation --no-deps \
  -w "$work/wheels" "$work/src"
wheel="$(ls "$work"/wheels/xclip-*.whl)"
case "$(basename "$wheel")" in
  "xclip-$version-"*) ;;
  *) echo "wheel $(basename "$wheel") does not carry the library's version $version" >&2; exit 1 ;;
esac
rm -rf "$work/src"  # nothing of the sources is left to import from

/usr/bin/python3 -m venv --system-site-packages "$work/env"
PIP_NO_INDEX=1 "$work/env/bin/pip" install -q --no-deps "$wheel"
module="$(ls "$work"/env/lib/python3*/site-packages/xclip/_xclip*.so)"
if readelf -d "$module" | grep -E 'RPATH|RUNPATH'; then
  echo "$module has a run-time library path (it would point into the build machine's folders)" >&2; exit 1
fi
if ldd "$module" | grep -E "not found|$build|$repo"; then
  echo "$module needs libraries outside the system's folders" >&2; exit 1
fi

cd "$work"
"$work/env/bin/python" - "$model" "$version" <<'PY'
import sys
import numpy as np
import xclip
assert "site-packages" in xclip.__file__, xclip.__file__
assert xclip.__version__ == sys.argv[2], (xclip.__version__, sys.argv[2])
model = xclip.AutoModel.from_pretrained(sys.argv[1])
tokenizer = xclip.AutoTokenizer.from_pretrained(sys.argv[1])
features = model.get_text_features(**tokenizer(["a dog"], return_tensors="np"))
assert features.shape == (1, model.config.projection_dim) and np.isfinite(features).all()
print("wheel-installed xclip", xclip.__version__, "from", xclip.__file__)
PY
