"""XCLIPProcessor, the CLIP tokenizer and the VideoMAE image processor, called as in
transformers: processor(text=..., videos=..., return_tensors="np"|"pt", padding=...)."""

import json
import os
import shutil

import numpy as np

from . import _xclip
from ._arrays import as_numpy, convert, is_torch, torch_module

# What a model folder holds for each part of the processor (what save_pretrained copies).
_TOKENIZER_FILES = ("vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                    "added_tokens.json")
_IMAGE_PROCESSOR_FILES = ("preprocessor_config.json",)
_SPECIAL_TOKEN_DEFAULTS = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
                           "unk_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}


def _resolve(path_or_id, revision=None, local_files_only=False):
    return _xclip.resolve_model(str(path_or_id), revision or "", offline=bool(local_files_only))


def _copy_files(folder, names, save_directory):
    os.makedirs(save_directory, exist_ok=True)
    written = []
    for name in names:
        source = os.path.join(folder, name)
        if folder and os.path.isfile(source):
            target = os.path.join(save_directory, name)
            shutil.copyfile(source, target)
            written.append(target)
    return written


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return {}
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _xclip.FormatError(f"{path}: not valid JSON: {e}") from None


class BatchFeature(dict):
    """A dict whose keys are also attributes (transformers' BatchFeature / BatchEncoding)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def to(self, *args, **kwargs):
        """As transformers: a dtype casts the floating-point tensors only (input_ids stay
        integers); a device (or device and dtype) moves every torch tensor."""
        torch = torch_module()
        dtypes = [a for a in args if torch is not None and isinstance(a, torch.dtype)]
        devices = [a for a in args if torch is None or not isinstance(a, torch.dtype)]
        dtype = kwargs.get("dtype", dtypes[0] if dtypes else None)
        device = kwargs.get("device", devices[0] if devices else None)
        out = BatchFeature()
        for key, value in self.items():
            if is_torch(value):
                if device is not None:
                    value = value.to(device=device)
                if dtype is not None and torch.is_floating_point(value):
                    value = value.to(dtype=dtype)
            out[key] = value
        return out


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

    def __init__(self, tokenizer, folder=None):
        self._tokenizer = tokenizer
        self._folder = folder
        self._vocab = None
        special = {**_SPECIAL_TOKEN_DEFAULTS}
        if folder:
            for name in ("special_tokens_map.json", "tokenizer_config.json"):
                for key, value in _read_json(os.path.join(folder, name)).items():
                    if key in special and isinstance(value, (str, dict)):
                        special[key] = value["content"] if isinstance(value, dict) else value
        self._special = special

    @classmethod
    def from_pretrained(cls, path_or_id, revision=None, local_files_only=False, **_ignored):
        folder = _resolve(path_or_id, revision, local_files_only)
        return cls(_xclip.Tokenizer.from_pretrained(folder), folder)

    def __call__(self, text, padding=False, truncation=None, max_length=None, return_tensors=None,
                 add_special_tokens=True, pad_to_multiple_of=None, return_attention_mask=None, **_ignored):
        single = isinstance(text, str)
        texts = [text] if single else list(text)
        if not all(isinstance(t, str) for t in texts):
            raise _xclip.InvalidArgument("text must be a string or a list of strings")
        ids, mask = self._tokenizer.encode_batch(texts, _padding_name(padding), bool(truncation), max_length,
                                                 add_special_tokens)
        if pad_to_multiple_of and _padding_name(padding) != "do_not_pad":
            ids, mask = self._pad_to_multiple(ids, mask, int(pad_to_multiple_of))
        out = BatchFeature()
        if return_tensors is None:
            out["input_ids"] = ids[0] if single else ids
            if return_attention_mask is not False:
                out["attention_mask"] = mask[0] if single else mask
            return out
        if len({len(row) for row in ids}) > 1:
            raise _xclip.InvalidArgument("texts of different lengths cannot form one tensor: pass padding=True")
        out["input_ids"] = convert(np.asarray(ids, dtype=np.int64), return_tensors)
        if return_attention_mask is not False:
            out["attention_mask"] = convert(np.asarray(mask, dtype=np.int64), return_tensors)
        return out

    def _pad_to_multiple(self, ids, mask, multiple):
        """Right padding (CLIP's side) up to the next multiple of `multiple`."""
        if multiple <= 0:
            raise _xclip.InvalidArgument(f"pad_to_multiple_of must be positive, got {multiple}")
        pad = self.pad_token_id
        out_ids, out_mask = [], []
        for row_ids, row_mask in zip(ids, mask):
            extra = -len(row_ids) % multiple
            out_ids.append(list(row_ids) + [pad] * extra)
            out_mask.append(list(row_mask) + [0] * extra)
        return out_ids, out_mask

    # The tokenizer's vocabulary and special tokens, as transformers' CLIPTokenizer(Fast).
    def encode(self, text, add_special_tokens=True, padding=False, truncation=None, max_length=None,
               return_tensors=None, **_ignored):
        ids = self(text, padding=padding, truncation=truncation, max_length=max_length,
                   add_special_tokens=add_special_tokens)["input_ids"]
        return ids if return_tensors is None else convert(np.asarray([ids], dtype=np.int64), return_tensors)

    def tokenize(self, text, **_ignored):
        return self.convert_ids_to_tokens(self.encode(text, add_special_tokens=False))

    def get_vocab(self):
        if self._vocab is None:
            self._vocab = self._read_vocab()
        return dict(self._vocab)

    def _read_vocab(self):
        if not self._folder:
            raise _xclip.UnsupportedError("this tokenizer was not loaded from a folder; its vocabulary is unknown")
        vocab = _read_json(os.path.join(self._folder, "vocab.json"))
        tokenizer_json = _read_json(os.path.join(self._folder, "tokenizer.json"))
        if not vocab:
            vocab = dict(tokenizer_json.get("model", {}).get("vocab", {}))
        for added in tokenizer_json.get("added_tokens", []):
            vocab.setdefault(added["content"], added["id"])
        if not vocab:
            raise _xclip.FormatError(f"{self._folder}: no vocab.json or tokenizer.json vocabulary")
        return vocab

    def convert_tokens_to_ids(self, tokens):
        vocab = self.get_vocab() if self._vocab is None else self._vocab
        unk = vocab.get(self.unk_token)
        if isinstance(tokens, str):
            return vocab.get(tokens, unk)
        return [vocab.get(t, unk) for t in tokens]

    def __len__(self):
        return len(self.get_vocab() if self._vocab is None else self._vocab)

    def save_pretrained(self, save_directory, **_ignored):
        """The folder's tokenizer files, copied as they are."""
        return tuple(_copy_files(self._folder, _TOKENIZER_FILES, save_directory))

    @property
    def bos_token(self):
        return self._special["bos_token"]

    @property
    def eos_token(self):
        return self._special["eos_token"]

    @property
    def unk_token(self):
        return self._special["unk_token"]

    @property
    def pad_token(self):
        return self._special["pad_token"]

    @property
    def bos_token_id(self):
        return self.convert_tokens_to_ids(self.bos_token)

    @property
    def eos_token_id(self):
        return self.convert_tokens_to_ids(self.eos_token)

    @property
    def unk_token_id(self):
        return self.convert_tokens_to_ids(self.unk_token)

    @property
    def all_special_tokens(self):
        return list(dict.fromkeys(self._special[k] for k in ("bos_token", "eos_token", "unk_token", "pad_token")))

    @property
    def padding_side(self):
        return "right"

    def decode(self, ids, skip_special_tokens=False, **_ignored):
        return self._tokenizer.decode([int(i) for i in as_numpy(ids).reshape(-1)], skip_special_tokens)

    def batch_decode(self, sequences, skip_special_tokens=False, **_ignored):
        return [self.decode(s, skip_special_tokens) for s in sequences]

    def convert_ids_to_tokens(self, ids, skip_special_tokens=False):
        single = isinstance(ids, (int, np.integer))
        tokens = self._tokenizer.convert_ids_to_tokens([int(i) for i in ([ids] if single else as_numpy(ids).reshape(-1))])
        if skip_special_tokens:
            tokens = [t for t in tokens if t not in self.all_special_tokens]
        return tokens[0] if single else tokens

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


def _is_pil(value):
    return type(value).__module__.startswith("PIL.") and hasattr(value, "mode")


def _frame_array(frame):
    """One frame as an array: PIL images as RGB, RGBA or greyscale (other modes through RGB)."""
    if _is_pil(frame):
        return np.asarray(frame if frame.mode in ("L", "RGB", "RGBA") else frame.convert("RGB"))
    return as_numpy(frame)


def _channels_last(video):
    """[T, H, W, C] from [T, H, W, C], [T, C, H, W] or greyscale [T, H, W] (transformers'
    rule: a first axis of 1 or 3 channels wins over the last when both could be)."""
    if video.ndim == 3:  # greyscale frames
        return video[..., None]
    if video.shape[1] in (1, 3):
        return video.transpose(0, 2, 3, 1)
    if video.shape[3] in (1, 3, 4):
        return video
    raise _xclip.InvalidArgument(
        f"cannot tell the channel axis of frames of shape {tuple(video.shape[1:])}: expected [height, width, "
        f"channels] or [channels, height, width] with 1 (grey), 3 (RGB) or 4 (RGBA, last axis only) channels")


def _from_unit_range(video, do_rescale):
    """Whether frames are floats already rescaled to 0-1 (do_rescale=False), which the 8-bit
    processor takes as levels times 255 and rescales back."""
    return do_rescale is False and video.dtype.kind == "f"


def _as_levels(video, do_rescale):
    """uint8 frames for the 8-bit processor. Floats (and wider integers) must hold 8-bit levels:
    0-255, or 0-1 where do_rescale=False says they are already rescaled (as decoded video
    divided by 255 is)."""
    if video.dtype == np.uint8:
        return video
    if video.dtype == np.bool_ or video.dtype.kind not in "iuf":
        raise _xclip.InvalidArgument(f"video frames must be numbers (uint8 RGB levels), got {video.dtype}")
    levels = video.astype(np.float64) * (255.0 if _from_unit_range(video, do_rescale) else 1.0)
    rounded = np.rint(levels)
    if levels.size and (rounded.min() < 0 or rounded.max() > 255 or np.abs(levels - rounded).max() > 1e-3):
        scale = "0-1 (do_rescale=False)" if do_rescale is False else "0-255"
        raise _xclip.InvalidArgument(
            f"{video.dtype} frames must hold 8-bit levels in {scale}, as decoded video does; these range over "
            f"[{float(video.min()):g}, {float(video.max()):g}] with values between levels: pass uint8 frames")
    return rounded.astype(np.uint8)


def _as_video(frames, do_rescale=None):
    """One video: [T, H, W, C] uint8 from a 4-D array or tensor ([T, H, W, C] or [T, C, H, W]),
    a list of frames (arrays, tensors, PIL images), or one frame."""
    if isinstance(frames, (list, tuple)):
        if len(frames) == 0:
            raise _xclip.InvalidArgument("a video needs at least one frame")
        parts = [_frame_array(f) for f in frames]
        if any(p.ndim not in (2, 3) for p in parts):
            raise _xclip.InvalidArgument(f"frames must be 2-D or 3-D images, got shapes {[p.shape for p in parts]}")
        parts = [p[..., None] if p.ndim == 2 else _channels_last(p[None])[0] for p in parts]
        if len({p.shape for p in parts}) > 1:
            raise _xclip.InvalidArgument(f"the frames of one video differ in size: {sorted({p.shape for p in parts})}")
        video = np.stack(parts)
    else:
        video = _frame_array(frames)
        if video.ndim == 2:  # one greyscale frame
            video = video[None, :, :, None]
        elif video.ndim == 3:  # one frame
            video = _channels_last(video[None])
        elif video.ndim == 4:
            video = _channels_last(video)
        else:
            raise _xclip.InvalidArgument(
                f"a video must be [frames, height, width, channels] or [frames, channels, height, width], "
                f"got shape {video.shape}")
    return np.ascontiguousarray(_as_levels(video, do_rescale))


def _any_float(videos):
    """Whether the frames given are floating point (the first frame decides, as one dtype is
    expected throughout)."""
    first = videos
    while isinstance(first, (list, tuple)) and first:
        first = first[0]
    return not _is_pil(first) and as_numpy(first).dtype.kind == "f"


def _is_frame(value):
    return _is_pil(value) or as_numpy(value).ndim in (2, 3)


def _as_videos(videos, do_rescale=None):
    """One or several videos -> a list of [T, H, W, C] uint8 arrays."""
    if isinstance(videos, (list, tuple)):
        if len(videos) == 0:
            raise _xclip.InvalidArgument("videos is empty")
        if _is_frame(videos[0]):
            return [_as_video(videos, do_rescale)]  # a list of frames: one video
        return [_as_video(v, do_rescale) for v in videos]  # a list of videos
    array = _frame_array(videos)
    if array.ndim == 5:
        return [_as_video(v, do_rescale) for v in array]
    return [_as_video(array, do_rescale)]


def _backend(name):
    backends = {"torchvision": _xclip.ResizeBackend.Torchvision, "pil": _xclip.ResizeBackend.Pil}
    if name not in backends:
        raise _xclip.InvalidArgument(f"backend must be 'torchvision' or 'pil', got {name!r}")
    return backends[name]


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

    def __init__(self, processor, folder=None):
        self._processor = processor
        self._folder = folder

    @classmethod
    def from_pretrained(cls, path_or_id, revision=None, local_files_only=False, backend="torchvision", **_ignored):
        folder = _resolve(path_or_id, revision, local_files_only)
        return cls(_xclip.VideoProcessor.from_folder(folder, _backend(backend)), folder)

    def save_pretrained(self, save_directory, **_ignored):
        """The folder's preprocessor_config.json, copied as it is."""
        return tuple(_copy_files(self._folder, _IMAGE_PROCESSOR_FILES, save_directory))

    # The settings, under transformers' names.
    @property
    def size(self):
        c = self._processor.config
        return {"shortest_edge": c.shortest_edge} if c.shortest_edge else {"height": c.height, "width": c.width}

    @property
    def crop_size(self):
        c = self._processor.config
        return {"height": c.crop_height, "width": c.crop_width}

    def __getattr__(self, name):
        if name in ("do_resize", "do_center_crop", "do_rescale", "rescale_factor", "do_normalize", "image_mean",
                    "image_std"):
            value = getattr(self._processor.config, name)
            return list(value) if name in ("image_mean", "image_std") else value
        raise AttributeError(f"VideoMAEImageProcessor has no attribute {name!r}")

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
        frames = _as_videos(videos, do_rescale)
        if do_rescale is False and _any_float(videos):  # 0-1 floats became levels: rescale them back
            config = processor.config
            config.do_rescale, config.rescale_factor = True, 1.0 / 255.0
            processor = _xclip.VideoProcessor(config, processor.backend)
        pixel_values = processor.preprocess(frames)
        return BatchFeature(pixel_values=convert(pixel_values, return_tensors))


class XCLIPProcessor:
    """CLIP tokenizer + VideoMAE image processor, as transformers' XCLIPProcessor."""

    def __init__(self, processor, folder=None):
        self._processor = processor
        self.tokenizer = CLIPTokenizer(processor.tokenizer, folder)
        self.image_processor = VideoMAEImageProcessor(processor.video_processor, folder)

    @property
    def video_processor(self):
        """transformers 5.x's name of the same image processor."""
        return self.image_processor

    @classmethod
    def from_pretrained(cls, path_or_id, revision=None, backend="torchvision", local_files_only=False, **_ignored):
        """`backend`: "torchvision" (transformers 5.x resizing, the default) or "pil" (4.x)."""
        folder = _resolve(path_or_id, revision, local_files_only)
        return cls(_xclip.XCLIPProcessor.from_pretrained(folder, _backend(backend)), folder)

    def save_pretrained(self, save_directory, **_ignored):
        """The tokenizer's and image processor's files, as transformers writes a processor."""
        return self.tokenizer.save_pretrained(save_directory) + self.image_processor.save_pretrained(save_directory)

    def __call__(self, text=None, videos=None, return_tensors=None, padding=False, truncation=None, max_length=None,
                 pad_to_multiple_of=None, return_attention_mask=None, **image_kwargs):
        if text is None and videos is None:
            raise _xclip.InvalidArgument("give text, videos or both")
        out = BatchFeature()
        if text is not None:
            out.update(self.tokenizer(text, padding=padding, truncation=truncation, max_length=max_length,
                                      return_tensors=return_tensors, pad_to_multiple_of=pad_to_multiple_of,
                                      return_attention_mask=return_attention_mask))
        if videos is not None:
            out.update(self.image_processor(videos, return_tensors=return_tensors, **image_kwargs))
        return out

    def decode(self, *args, **kwargs):
        return self.tokenizer.decode(*args, **kwargs)

    def batch_decode(self, *args, **kwargs):
        return self.tokenizer.batch_decode(*args, **kwargs)


AutoProcessor = XCLIPProcessor
AutoTokenizer = CLIPTokenizer
