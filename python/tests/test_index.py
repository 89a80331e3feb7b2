"""The search index from Python: the same hits as `xclip search`, incremental updates,
removal, thumbnails, and clear errors."""

import json
import subprocess

import numpy as np
import pytest

import xclip
from conftest import BUILD, make_video, model_dir


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    root = tmp_path_factory.mktemp("collection")
    for i, source in enumerate(["testsrc2", "mandelbrot", "life"]):
        make_video(root / f"clip{i}.mp4", f"{source}=size=96x64:rate=8", f"-t 9 -vf hue=H=t*0.5+{i}")
    return root


@pytest.fixture(scope="module")
def built(collection, tmp_path_factory):
    directory = tmp_path_factory.mktemp("index") / "videos.xclip"
    index = xclip.VideoIndex(str(directory), model=model_dir("tiny"), window_seconds=3.0)
    report = index.update([str(collection)])
    assert report["added"] == 3 and report["failed"] == []
    return index, directory


def test_search_matches_the_cli(built):
    index, directory = built
    hits = index.search("a spinning fractal", top=5, rerank=100)
    assert len(hits) == 5
    assert all(h.reranked for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    cli = subprocess.run([str(BUILD / "xclip"), "search", "a spinning fractal", "--index", str(directory), "--top",
                          "5", "--format", "json"], check=True, capture_output=True, text=True)
    expected = json.loads(cli.stdout)
    assert [(h.path, h.start, h.end) for h in hits] == [(e["path"], e["start"], e["end"]) for e in expected]
    np.testing.assert_allclose([h.score for h in hits], [e["score"] for e in expected], rtol=0, atol=1e-6)
    for e in expected:
        assert open(e["thumbnail"], "rb").read(2) == b"\xff\xd8"  # a JPEG


def test_info_windows_and_thumbnails(built):
    index, _ = built
    info = index.info()
    assert info["videos"] == 3 and info["windows"] == 9 and info["stage1"] == "flat"
    windows = index.windows()
    assert len(windows) == 9
    assert all(abs(np.linalg.norm(w.embedding) - 1) < 1e-5 for w in windows)
    assert index.thumbnail(windows[0].id)[:2] == b"\xff\xd8"


def test_text_features_and_like(built, collection):
    index, _ = built
    features = xclip.embed_texts(["a spinning fractal"], model=model_dir("tiny"))
    by_features = index.search_text_features(np.asarray(features, dtype=np.float32), top=3)
    by_text = index.search("a spinning fractal", top=3)
    assert [h.window_id for h in by_features] == [h.window_id for h in by_text]
    like = index.search_like(str(collection / "clip1.mp4"), top=3)
    assert like[0].path.endswith("clip1.mp4")


def test_remove_and_update(collection, tmp_path):
    index = xclip.VideoIndex(str(tmp_path / "i"), model=model_dir("tiny"), window_seconds=3.0)
    index.update([str(collection)])
    assert index.remove([str(collection / "clip0.mp4")]) == 1
    assert all(not w.path.endswith("clip0.mp4") for w in index.windows())
    report = index.update([str(collection)])
    assert report["added"] == 1 and report["unchanged"] == 2


def test_errors(built, tmp_path):
    index, directory = built
    with pytest.raises(xclip.InvalidArgument, match="was built with the model"):
        xclip.VideoIndex(str(directory), model=model_dir("tiny-8f"))
    with pytest.raises(xclip.IoError, match="no index here"):
        xclip.VideoIndex(str(tmp_path / "none"), create=False)
    with pytest.raises(xclip.InvalidArgument, match="needs a model"):
        xclip.VideoIndex(str(tmp_path / "new"))
    with pytest.raises(xclip.InvalidArgument, match="top must be positive"):
        index.search("a dog", top=0)


def test_dtype_auto_and_keyframe_mode_are_recorded(collection, tmp_path):
    exact = xclip.VideoIndex(str(tmp_path / "exact.xclip"), model=model_dir("tiny"), window_seconds=3.0)
    exact.update([str(collection)])
    assert exact.info()["dtype"] == "float32" and exact.info()["seek"] == "exact"  # auto on a float folder
    fast = xclip.VideoIndex(str(tmp_path / "fast.xclip"), model=model_dir("tiny"), window_seconds=3.0,
                            seek="keyframe")
    fast.update([str(collection)])
    assert fast.info()["seek"] == "keyframe"
    reopened = xclip.VideoIndex(str(tmp_path / "fast.xclip"), create=False)
    assert reopened.info()["seek"] == "keyframe"
    exact_frames = {(w.path, w.start): w.frame_indices for w in exact.windows()}
    assert any(w.frame_indices != exact_frames[(w.path, w.start)] for w in fast.windows())
    with pytest.raises(xclip.InvalidArgument, match="seek"):
        xclip.VideoIndex(str(tmp_path / "bad.xclip"), model=model_dir("tiny"), seek="fastest")
