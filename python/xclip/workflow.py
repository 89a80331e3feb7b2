"""The library's workflow from video files to answers: xclip.classify, xclip.embed_videos,
xclip.embed_texts, and Workflow to keep one model loaded across calls. Decoding runs ahead
on a C++ thread; the GIL is released while videos decode and the model runs."""

import collections

import numpy as np

from . import _xclip
from .dtypes import weight_type

DEFAULT_MODEL = "microsoft/xclip-base-patch32"

# embed_videos' answer: embeddings [N, D] of the videos that could be read, their paths in
# input order, and {path: error} for the others (never silently dropped).
Embeddings = collections.namedtuple("Embeddings", ["embeddings", "paths", "errors"])


def _options(frames=None, sampling="uniform", frame_sample_rate=1, seed=0, clips=1, start=None, end=None,
             indices=None, interpolate_frames=False, seek="exact", batch_size=4, prefetch=4, dtype=None, num_threads=0, backend="torchvision",
             template="{}", normalize=False, revision=None, max_pixels=None, max_frames=None):
    o = _xclip.WorkflowOptions()
    if max_pixels is not None:
        o.max_pixels = int(max_pixels)
    if max_frames is not None:
        o.max_frames = int(max_frames)
    if o.max_pixels <= 0 or o.max_frames <= 0:
        raise _xclip.InvalidArgument("max_pixels and max_frames must be positive")
    s = _xclip.SamplingOptions()
    s.num_frames = int(frames or 0)
    s.method = _xclip.parse_sampling_method(sampling)
    s.frame_sample_rate = int(frame_sample_rate)
    s.seed = int(seed)
    s.clips = int(clips)
    s.start = -1.0 if start is None else float(start)
    s.end = -1.0 if end is None else float(end)
    s.indices = [int(i) for i in (indices or [])]
    o.sampling = s
    o.interpolate_frames = bool(interpolate_frames)
    seeks = {"exact": _xclip.SeekMode.Exact, "keyframe": _xclip.SeekMode.Keyframe}
    if seek not in seeks:
        raise _xclip.InvalidArgument(f"seek must be 'exact' or 'keyframe', got {seek!r}")
    o.seek = seeks[seek]
    o.batch_size = int(batch_size)
    o.prefetch = int(prefetch)
    o.dtype = weight_type(dtype)
    o.num_threads = int(num_threads)
    backends = {"torchvision": _xclip.ResizeBackend.Torchvision, "pil": _xclip.ResizeBackend.Pil}
    if backend not in backends:
        raise _xclip.InvalidArgument(f"backend must be 'torchvision' or 'pil', got {backend!r}")
    o.backend = backends[backend]
    o.text_template = template
    o.normalize = bool(normalize)
    o.revision = revision or ""
    return o


class Workflow:
    """A loaded model with its processor and options, for many calls (one per thread).

    Options: frames, sampling ("uniform" | "consecutive" | "random"), frame_sample_rate,
    seed, clips (views averaged), start / end (seconds), indices, interpolate_frames
    (another frame count than the model's), seek ("exact" | "keyframe": each sampled frame
    replaced by the keyframe at or before it, fast and inexact), batch_size, prefetch,
    dtype ("float32" | "bfloat16" | "int8" | None = as stored), num_threads, backend
    ("torchvision" | "pil"), template ("a video of {}."), normalize (L2), revision, max_pixels
    and max_frames (what one video may cost to decode: pixels per frame, frames per clip;
    defaults 8192x4320 and 1024).
    """

    def __init__(self, model=DEFAULT_MODEL, **options):
        self._workflow = _xclip.Workflow(str(model), _options(**options))

    def classify(self, paths, labels, on_result=None, on_progress=None):
        """Per video (input order): .path, .ok, .error, .probabilities and .logits per label."""
        return self._workflow.classify([str(p) for p in paths], list(labels), on_result, on_progress)

    def embed_videos(self, paths, on_result=None, on_progress=None):
        results = self._workflow.embed_videos([str(p) for p in paths], on_result, on_progress)
        good = [r for r in results if r.ok]
        dim = good[0].embedding.shape[0] if good else 0
        embeddings = np.stack([r.embedding for r in good]) if good else np.zeros((0, dim), np.float32)
        return Embeddings(embeddings, [r.path for r in good], {r.path: r.error for r in results if not r.ok})

    def embed_texts(self, texts):
        return self._workflow.embed_texts(list(texts))

    @property
    def num_frames(self):
        return self._workflow.num_frames


def classify(paths, labels, model=DEFAULT_MODEL, on_result=None, on_progress=None, **options):
    """Zero-shot classification of video files: see Workflow.classify for the results."""
    return Workflow(model, **options).classify(paths, labels, on_result, on_progress)


def embed_videos(paths, model=DEFAULT_MODEL, on_result=None, on_progress=None, **options):
    """get_video_features of video files -> Embeddings(embeddings, paths, errors)."""
    return Workflow(model, **options).embed_videos(paths, on_result, on_progress)


def embed_texts(texts, model=DEFAULT_MODEL, **options):
    """get_text_features of the prompts `template` makes of `texts` -> [N, D] float32."""
    return Workflow(model, **options).embed_texts(texts)
