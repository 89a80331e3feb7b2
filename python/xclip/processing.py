"""XCLIPProcessor, the CLIP tokenizer and the VideoMAE image processor, called as in
transformers: processor(text=..., videos=..., return_tensors="np"|"pt", padding=...)."""

import numpy as np

from . import _xclip
from ._arrays import as_numpy, convert, is_torch


class BatchFeature(dict):
    """A dict whose keys are also attributes (transformers' BatchFeature / BatchEncoding)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def to(self, *args, **kwargs):
        """torch's .to() on every torch tensor (other values as they are)."""
        return BatchFeature({k: v.to(*args, **kwargs) if is_torch(v) else v for k, v in self.items()})


def _padding_name(padding):
    if padding is True or padding == "longest":
        return "longest"
    if padding is False or padding is None or padding == "do_not_pad":
        return "do_not_pad"
    if padding == "max_length":
        return "max_length"
    raise ValueError(f"padding must be True, False, 'longest', 'max_length' or 'do_not_pad', got {padding!r}")


class CLIPTokenizer:
    """The model folder's CLIP tokenizer, with the numbers of CLIPTokenizerFast."""

    def __init__(self, tokenizer):
        self._tokenizer = tokenizer

    @classmethod
    def from_pretrained(cls, path_or_id, revision=None, **_ignored):
        return cls(_xclip.Tokenizer.from_pretrained(str(path_or_id), revision or ""))

    def __call__(self, text, padding=False, truncation=None, max_length=None, return_tensors=None,
                 add_special_tokens=True, **_ignored):
        single = isinstance(text, str)
        texts = [text] if single else list(text)
        if not all(isinstance(t, str) for t in texts):
            raise _xclip.InvalidArgument("text must be a string or a list of strings")
        ids, mask = self._tokenizer.encode_batch(texts, _padding_name(padding), bool(truncation), max_length,
                                                 add_special_tokens)
        if return_tensors is None:
            return BatchFeature(input_ids=ids[0] if single else ids, attention_mask=mask[0] if single else mask)
        if len({len(row) for row in ids}) > 1:
            raise _xclip.InvalidArgument("texts of different lengths cannot form one tensor: pass padding=True")
        return BatchFeature(input_ids=convert(np.asarray(ids, dtype=np.int64), return_tensors),
                            attention_mask=convert(np.asarray(mask, dtype=np.int64), return_tensors))

    def decode(self, ids, skip_special_tokens=False, **_ignored):
        return self._tokenizer.decode([int(i) for i in as_numpy(ids).reshape(-1)], skip_special_tokens)

    def batch_decode(self, sequences, skip_special_tokens=False, **_ignored):
        return [self.decode(s, skip_special_tokens) for s in sequences]

    def convert_ids_to_tokens(self, ids):
        return self._tokenizer.convert_ids_to_tokens([int(i) for i in ids])

    @property
    def vocab_size(self):
        return self._tokenizer.vocab_size

    @property
    def pad_token_id(self):
        pad = self._tokenizer.pad_token_id
        return None if pad < 0 else pad

    @property
    def model_max_length(self):
        return self._tokenizer.model_max_length


def _as_video(frames):
    """One video: [T, H, W, C] uint8 from a 4-D array or a list of [H, W, C] frames."""
    if isinstance(frames, (list, tuple)):
        video = np.stack([as_numpy(f) for f in frames])
    else:
        video = as_numpy(frames)
    if video.ndim == 3:  # a single image: a one-frame video
        video = video[None]
    if video.ndim != 4:
        raise _xclip.InvalidArgument(f"a video must be [frames, height, width, channels], got shape {video.shape}")
    if video.dtype != np.uint8:
        raise _xclip.InvalidArgument(f"video frames must be uint8 RGB (as PyAV's to_ndarray('rgb24')), got {video.dtype}")
    return np.ascontiguousarray(video)


def _as_videos(videos):
    """One or several videos -> a list of [T, H, W, C] arrays."""
    if isinstance(videos, (list, tuple)):
        if len(videos) == 0:
            raise _xclip.InvalidArgument("videos is empty")
        first = videos[0]
        if isinstance(first, (list, tuple)) or as_numpy(first).ndim == 4:
            return [_as_video(v) for v in videos]  # a list of videos
        return [_as_video(videos)]  # a list of frames: one video
    array = as_numpy(videos)
    if array.ndim == 5:
        return [_as_video(v) for v in array]
    return [_as_video(array)]


def _height_width(size):
    if isinstance(size, dict):
        return int(size["height"]), int(size["width"])
    if isinstance(size, (list, tuple)):
        return int(size[0]), int(size[1])
    return int(size), int(size)


def _set_size(config, size):
    if isinstance(size, dict) and "shortest_edge" in size:
        config.shortest_edge = int(size["shortest_edge"])
        config.height = config.width = None
    elif isinstance(size, int):
        config.shortest_edge = size
        config.height = config.width = None
    else:
        config.shortest_edge = None
        config.height, config.width = _height_width(size)


class VideoMAEImageProcessor:
    """The folder's preprocessor_config.json: resize, center crop, rescale, normalize."""

    def __init__(self, processor):
        self._processor = processor

    def __call__(self, videos, return_tensors=None, size=None, crop_size=None, do_resize=None, do_center_crop=None,
                 do_rescale=None, rescale_factor=None, do_normalize=None, image_mean=None, image_std=None,
                 **_ignored):
        """Call-time overrides as in transformers: size ({"shortest_edge": N} or {"height",
        "width"}), crop_size ({"height", "width"}), do_* flags, rescale_factor, mean / std."""
        overrides = dict(do_resize=do_resize, do_center_crop=do_center_crop, do_rescale=do_rescale,
                         rescale_factor=rescale_factor, do_normalize=do_normalize, image_mean=image_mean,
                         image_std=image_std)
        processor = self._processor
        if size is not None or crop_size is not None or any(v is not None for v in overrides.values()):
            config = processor.config
            if size is not None:
                _set_size(config, size)
            if crop_size is not None:
                config.crop_height, config.crop_width = _height_width(crop_size)
            for name, value in overrides.items():
                if value is not None:
                    setattr(config, name, value)
            processor = _xclip.VideoProcessor(config, processor.backend)
        pixel_values = processor.preprocess(_as_videos(videos))
        return BatchFeature(pixel_values=convert(pixel_values, return_tensors))


class XCLIPProcessor:
    """CLIP tokenizer + VideoMAE image processor, as transformers' XCLIPProcessor."""

    def __init__(self, processor):
        self._processor = processor
        self.tokenizer = CLIPTokenizer(processor.tokenizer)
        self.image_processor = VideoMAEImageProcessor(processor.video_processor)

    @classmethod
    def from_pretrained(cls, path_or_id, revision=None, backend="torchvision", **_ignored):
        """`backend`: "torchvision" (transformers 5.x resizing, the default) or "pil" (4.x)."""
        backends = {"torchvision": _xclip.ResizeBackend.Torchvision, "pil": _xclip.ResizeBackend.Pil}
        if backend not in backends:
            raise _xclip.InvalidArgument(f"backend must be 'torchvision' or 'pil', got {backend!r}")
        return cls(_xclip.XCLIPProcessor.from_pretrained(str(path_or_id), backends[backend], revision or ""))

    def __call__(self, text=None, videos=None, return_tensors=None, padding=False, truncation=None, max_length=None,
                 **image_kwargs):
        if text is None and videos is None:
            raise _xclip.InvalidArgument("give text, videos or both")
        out = BatchFeature()
        if text is not None:
            out.update(self.tokenizer(text, padding=padding, truncation=truncation, max_length=max_length,
                                      return_tensors=return_tensors))
        if videos is not None:
            out.update(self.image_processor(videos, return_tensors=return_tensors, **image_kwargs))
        return out

    def decode(self, *args, **kwargs):
        return self.tokenizer.decode(*args, **kwargs)

    def batch_decode(self, *args, **kwargs):
        return self.tokenizer.batch_decode(*args, **kwargs)


AutoProcessor = XCLIPProcessor
AutoTokenizer = CLIPTokenizer
