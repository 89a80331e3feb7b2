"""Shared fixtures. Paths come from the environment that tests/CMakeLists.txt (or
scripts/run_tests.sh) sets; a missing model, golden or tool is a failure, never a skip."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("XCLIP_BUILD_DIR", REPO / "build"))
MODELS = Path(os.environ.get("XCLIP_MODELS_DIR", BUILD / "models"))
SHARED = Path(os.environ.get("XCLIP_SHARED_DIR", REPO.parent / "shared"))
GOLDEN = SHARED / "golden"


def model_dir(preset):
    path = MODELS / preset
    if not (path / "config.json").is_file():
        pytest.fail(f"synthesised model {path} is missing: run the synth.{preset} CTest setup first")
    return str(path)


@pytest.fixture(scope="module")
def model():
    """The tiny model (4 frames of 32x32, projection_dim 32), as transformers' from_pretrained."""
    import xclip

    return xclip.XCLIPModel.from_pretrained(model_dir("tiny"))


@pytest.fixture(scope="module")
def processor():
    import xclip

    return xclip.XCLIPProcessor.from_pretrained(model_dir("tiny"))


@pytest.fixture(scope="session")
def golden_index():
    path = GOLDEN / "index.json"
    if not path.is_file():
        pytest.fail(f"golden index {path} is missing (is ../shared beside the repository?)")
    return json.loads(path.read_text())


_golden_files = {}


def golden_tensor(file, key):
    import xclip

    if file not in _golden_files:
        path = GOLDEN / file
        if not path.is_file():
            pytest.fail(f"golden file {path} is missing")
        _golden_files[file] = xclip.load_safetensors(str(path))[0]
    return np.array(_golden_files[file][key])


def make_video(path, source, extra=""):
    """A video made by the ffmpeg CLI from a lavfi source (tests make their own inputs)."""
    if shutil.which("ffmpeg") is None:
        pytest.fail("the ffmpeg CLI is needed to make test videos")
    if not os.path.exists(path):
        cmd = (f"ffmpeg -nostdin -loglevel error -y -f lavfi -i {source} -c:v libx264 -g 10 -pix_fmt yuv420p "
               f"{extra} {path}")
        subprocess.run(cmd, shell=True, check=True)
    return str(path)


@pytest.fixture(scope="session")
def videos(tmp_path_factory):
    """Three short clips of different sizes and lengths, and one corrupt file."""
    root = tmp_path_factory.mktemp("videos")
    out = {
        "testsrc": make_video(root / "testsrc.mp4", "testsrc2=size=160x120:rate=25:duration=2"),
        "mandelbrot": make_video(root / "mandelbrot.mp4", "mandelbrot=size=96x64:rate=10", "-t 2"),
        "life": make_video(root / "life.mp4", "life=size=128x96:rate=15", "-t 3"),
    }
    corrupt = root / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4096))
    out["corrupt"] = str(corrupt)
    return out
