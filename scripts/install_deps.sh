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
  libgtest-dev libgmock-dev
  python3 python3-numpy  # synthesises the test checkpoints (tests only, never at run time)
  python3-pil            # the Pillow baseline of the processor benchmark
  time                   # peak memory in the classify benchmark
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
