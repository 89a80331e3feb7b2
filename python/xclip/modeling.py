"""XCLIPModel, XCLIPTextModel and XCLIPVisionModel with transformers' call signatures and
output objects, on the C++ engine. Inputs may be numpy arrays, lists or torch tensors;
outputs are torch tensors (zero-copy) when any input was one, numpy arrays otherwise."""

import json
import threading

from . import _xclip
from ._arrays import any_torch, as_numpy, convert
from .configuration import XCLIPConfig, XCLIPTextConfig, XCLIPVisionConfig, read_config_json
from .initialization import init_weights
from .outputs import BaseModelOutputWithPooling, XCLIPOutput


def _weight_type(dtype):
    """dtype= / torch_dtype= of from_pretrained -> the engine's WeightType."""
    if dtype is None or dtype == "auto":
        return _xclip.WeightType.Auto
    name = str(dtype).replace("torch.", "").replace("<class 'numpy.", "").rstrip("'>")
    table = {"float32": _xclip.WeightType.F32, "float": _xclip.WeightType.F32, "f32": _xclip.WeightType.F32,
             "bfloat16": _xclip.WeightType.Bf16, "bf16": _xclip.WeightType.Bf16, "int8": _xclip.WeightType.Int8,
             "qint8": _xclip.WeightType.Int8}
    if name not in table:
        raise _xclip.UnsupportedError(
            f"dtype {dtype!r} is not supported; use 'float32' (transformers' numbers), 'bfloat16' or 'int8'")
    return table[name]


class _PreTrainedModel:
    """Loading, threads and output conversion shared by the three models."""

    config_class = XCLIPConfig
    _part = _xclip.ModelPart.Full

    def __init__(self, config, *, dtype=None, num_threads=0, seed=None, _model=None):
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} takes a {self.config_class.__name__}, got {type(config).__name__}")
        self.config = config
        if _model is None:  # from a config: random weights, as transformers initialises them
            full = self._full_config_dict(config)
            config_json = json.dumps(full)
            weights = init_weights(config_json, full, self._part, seed)
            _model = _xclip.Model.from_weights(config_json, weights, _weight_type(dtype), self._part, num_threads)
        self._model = _model
        self._local = threading.local()

    @staticmethod
    def _full_config_dict(config):
        """The XCLIPConfig dict the engine builds from: a tower's config goes in its slot."""
        key = type(config)._key_in_xclip_config
        return XCLIPConfig(**{key: config.to_dict()}).to_dict() if key else config.to_dict()

    @classmethod
    def from_pretrained(cls, path_or_id, *, dtype=None, torch_dtype=None, revision=None, num_threads=0,
                        interpolate_frames=False, **_ignored):
        """A model folder or a hub id; dtype "float32" (default for a float folder),
        "bfloat16" or "int8" (default for a folder written by `xclip convert`).
        interpolate_frames=True accepts videos of another frame count than the config's
        num_frames (the MIT position embeddings are resized linearly along time)."""
        folder = _xclip.resolve_model(str(path_or_id), revision or "")
        config = cls.config_class.from_pretrained(folder)
        model = _xclip.Model.load(folder, _weight_type(dtype if dtype is not None else torch_dtype), cls._part,
                                  num_threads, revision or "", bool(interpolate_frames))
        return cls(config, _model=model)

    @property
    def dtype(self):
        return self._model.dtype

    def _session(self):
        """One scratch session per thread: threads can share the model."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = _xclip.Session(self._model)
        return session

    # torch.nn.Module conventions that code written for transformers calls.
    def eval(self):
        return self

    def to(self, device=None, *args, **kwargs):
        if device is not None and str(device) not in ("cpu", "torch.float32"):
            raise _xclip.UnsupportedError(f"xclip runs on the CPU; cannot move the model to {device}")
        return self

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)


def _out(array, torch_out):
    return convert(array, "pt" if torch_out else "np")


def _stack(outputs, prefix, torch_out):
    """hidden_states/<k> -> a tuple in layer order (None when absent)."""
    keys = sorted((k for k in outputs if k.startswith(prefix)), key=lambda k: int(k[len(prefix):]))
    return tuple(_out(outputs[k], torch_out) for k in keys) or None


def _tower_output(outputs, prefix, torch_out):
    return BaseModelOutputWithPooling(
        last_hidden_state=_out(outputs.get(prefix + "last_hidden_state"), torch_out),
        pooler_output=_out(outputs.get(prefix + "pooler_output"), torch_out),
        hidden_states=_stack(outputs, prefix + "hidden_states/", torch_out),
        attentions=_stack(outputs, prefix + "attentions/", torch_out))


def _no_position_ids(position_ids):
    if position_ids is not None:
        raise _xclip.UnsupportedError("custom position_ids are not supported; the default positions are used")


def _flag(value, default=False):
    return default if value is None else bool(value)


def _returned(result, return_dict):
    """The output object, or its tuple with return_dict=False (as transformers)."""
    return result if _flag(return_dict, True) else result.to_tuple()


class XCLIPModel(_PreTrainedModel):
    """transformers.XCLIPModel: forward, get_text_features, get_video_features."""

    def forward(self, input_ids=None, pixel_values=None, attention_mask=None, position_ids=None, return_loss=None,
                output_attentions=None, output_hidden_states=None, return_dict=None, interpolate_pos_encoding=False):
        _no_position_ids(position_ids)
        if input_ids is None or pixel_values is None:
            raise _xclip.InvalidArgument("XCLIPModel.forward needs input_ids and pixel_values")
        torch_out = any_torch(input_ids, pixel_values, attention_mask)
        outputs = self._session().forward(
            as_numpy(input_ids), as_numpy(pixel_values), as_numpy(attention_mask), _flag(output_hidden_states),
            _flag(output_attentions), _flag(return_loss), bool(interpolate_pos_encoding))
        loss = outputs.get("loss")
        result = XCLIPOutput(
            loss=_out(loss.reshape(()) if loss is not None else None, torch_out),
            logits_per_video=_out(outputs["logits_per_video"], torch_out),
            logits_per_text=_out(outputs["logits_per_text"], torch_out),
            text_embeds=_out(outputs["text_embeds"], torch_out),
            video_embeds=_out(outputs["video_embeds"], torch_out),
            text_model_output=_tower_output(outputs, "text_model_output/", torch_out),
            vision_model_output=_tower_output(outputs, "vision_model_output/", torch_out),
            mit_output=_tower_output(outputs, "mit_output/", torch_out))
        return _returned(result, return_dict)

    def get_text_features(self, input_ids=None, attention_mask=None, position_ids=None, **_ignored):
        _no_position_ids(position_ids)
        torch_out = any_torch(input_ids, attention_mask)
        return _out(self._session().get_text_features(as_numpy(input_ids), as_numpy(attention_mask)), torch_out)

    def get_video_features(self, pixel_values=None, interpolate_pos_encoding=False, **_ignored):
        return _out(self._session().get_video_features(as_numpy(pixel_values), bool(interpolate_pos_encoding)),
                    any_torch(pixel_values))


class XCLIPTextModel(_PreTrainedModel):
    """transformers.XCLIPTextModel: the text tower; reads an XCLIPModel folder's text_model.*."""

    config_class = XCLIPTextConfig
    _part = _xclip.ModelPart.TextModel

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, output_attentions=None,
                output_hidden_states=None, return_dict=None):
        _no_position_ids(position_ids)
        torch_out = any_torch(input_ids, attention_mask)
        outputs = self._session().text_model(as_numpy(input_ids), as_numpy(attention_mask),
                                             _flag(output_hidden_states), _flag(output_attentions))
        result = _tower_output(outputs, "", torch_out)
        return _returned(result, return_dict)


class XCLIPVisionModel(_PreTrainedModel):
    """transformers.XCLIPVisionModel: the cross-frame vision tower on [videos*frames, 3, H, W]."""

    config_class = XCLIPVisionConfig
    _part = _xclip.ModelPart.VisionModel

    def forward(self, pixel_values=None, output_attentions=None, output_hidden_states=None, return_dict=None,
                interpolate_pos_encoding=False):
        torch_out = any_torch(pixel_values)
        outputs = self._session().vision_model(as_numpy(pixel_values), _flag(output_hidden_states),
                                               _flag(output_attentions), bool(interpolate_pos_encoding))
        result = _tower_output(outputs, "", torch_out)
        return _returned(result, return_dict)


class AutoModel:
    """AutoModel.from_pretrained / from_config for X-CLIP folders."""

    _by_type = {"xclip": XCLIPModel, "xclip_text_model": XCLIPTextModel, "xclip_vision_model": XCLIPVisionModel}

    @classmethod
    def from_pretrained(cls, path_or_id, revision=None, **kwargs):
        folder = _xclip.resolve_model(str(path_or_id), revision or "")
        model_type = read_config_json(folder).get("model_type", "xclip")
        if model_type not in cls._by_type:
            raise _xclip.UnsupportedError(f"{folder}: model_type {model_type!r} is not an X-CLIP model")
        return cls._by_type[model_type].from_pretrained(folder, **kwargs)

    @classmethod
    def from_config(cls, config, **kwargs):
        for model_class in cls._by_type.values():
            if isinstance(config, model_class.config_class):
                return model_class(config, **kwargs)
        raise TypeError(f"not an X-CLIP config: {type(config).__name__}")
