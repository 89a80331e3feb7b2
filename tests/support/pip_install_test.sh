#!/usr/bin/env bash
# python3 -m venv --system-site-packages ENV && ENV/bin/pip install --no-build-isolation .
# from a copy of the repository, then `import xclip` outside the source tree runs a model.
set -euo pipefail
repo="$1" build="$2" model="$3"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A copy, so that pip's scratch files never land in the checkout.
mkdir "$work/src"
git -C "$repo" ls-files -z --cached --others --exclude-standard | (cd "$repo" && xargs -0 cp --parents -t "$work/src")
/usr/bin/python3 -m venv --system-site-packages "$work/env"
XCLIP_CMAKE_BUILD_DIR="$build" PIP_NO_INDEX=1 "$work/env/bin/pip" install -q --no-build-isolation "$work/src"
cd "$work"
"$work/env/bin/python" - "$model" <<'PY'
import sys
import numpy as np
import xclip
assert "site-packages" in xclip.__file__, xclip.__file__
model = xclip.AutoModel.from_pretrained(sys.argv[1])
tokenizer = xclip.AutoTokenizer.from_pretrained(sys.argv[1])
features = model.get_text_features(**tokenizer(["a dog"], return_tensors="np"))
assert features.shape == (1, model.config.projection_dim) and np.isfinite(features).all()
print("pip-installed xclip", xclip.__version__, "from", xclip.__file__)
PY
