#!/usr/bin/env bash
# Installs what xclip.cpp needs to build and test on Debian 12 (run as root, or with sudo).
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libdnnl-dev            # oneDNN: the GEMM backend
  nlohmann-json3-dev     # config.json, safetensors headers
  libutf8proc-dev        # Unicode tables for the tokenizer
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev  # video decoding
  ffmpeg                 # tests make their videos with the ffmpeg CLI
  libcurl4-openssl-dev   # hub downloads
  libsqlite3-dev libfaiss-dev  # the search index: records in SQLite, stage-1 vectors in FAISS
  libcpp-httplib-dev     # xclip serve's HTTP server
  chromium               # the search page's browser test (headless)
  libgtest-dev libgmock-dev
  python3 python3-numpy  # synthesises the test checkpoints; numpy is the Python package's array type
  python3-dev pybind11-dev python3-pybind11  # the Python extension module
  python3-venv python3-pip python3-setuptools python3-wheel  # pip install --no-build-isolation .
  python3-pytest         # the Python tests
  python3-av python3-torch  # the documentation's examples (PyAV decoding, torch tensors) as tests
  python3-distributed    # the Dask recipe's test (LocalCluster)
  python3-pil            # the Pillow baseline of the processor benchmark
  time                   # peak memory in the classify benchmark
  clang libclang-rt-14-dev  # libFuzzer + AddressSanitizer targets (scripts/run_fuzz.sh, run in CI)
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
