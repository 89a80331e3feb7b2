"""XCLIPModel, XCLIPTextModel and XCLIPVisionModel with transformers' call signatures and
output objects, on the C++ engine. Inputs may be numpy arrays, lists or torch tensors;
outputs are torch tensors (zero-copy) when any input was one, numpy arrays otherwise."""

import json
import os
import shutil
import threading

import numpy as np

from . import _xclip
from ._arrays import any_torch, as_numpy, convert, torch_module
from .configuration import XCLIPConfig, XCLIPTextConfig, XCLIPVisionConfig, read_config_json
from .dtypes import dtype_name, torch_dtype_of, weight_type
from .initialization import init_weights
from .outputs import BaseModelOutputWithPooling, XCLIPOutput

# The files of a model folder that hold weights (what save_pretrained copies).
_WEIGHT_FILE_PREFIXES = ("model.safetensors", "model-", "pytorch_model")


def _inference_only(what, instead):
    return _xclip.UnsupportedError(f"{what}: xclip runs inference only on its C++ engine; {instead}")


class _PreTrainedModel:
    """Loading, threads, output conversion and the torch.nn.Module conventions shared by the
    three models."""

    config_class = XCLIPConfig
    _part = _xclip.ModelPart.Full

    def __init__(self, config, *, dtype=None, num_threads=0, seed=None, _model=None, _folder=None):
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} takes a {self.config_class.__name__}, got {type(config).__name__}")
        self.config = config
        self._folder = _folder
        self._seed = None
        self._num_threads = num_threads
        if _model is None:  # from a config: random weights, as transformers initialises them
            # A drawn seed is kept, so that save_pretrained and pickling rebuild the same weights.
            self._seed = int(np.random.SeedSequence().entropy % (1 << 63)) if seed is None else int(seed)
            _model = self._model_from_seed(config, dtype, num_threads, self._seed)
        self._model = _model
        self._local = threading.local()

    @classmethod
    def _model_from_seed(cls, config, dtype, num_threads, seed):
        full = cls._full_config_dict(config)
        config_json = json.dumps(full)
        weights = init_weights(config_json, full, cls._part, seed)
        return _xclip.Model.from_weights(config_json, weights, weight_type(dtype), cls._part, num_threads)

    @staticmethod
    def _full_config_dict(config):
        """The XCLIPConfig dict the engine builds from: a tower's config goes in its slot."""
        key = type(config)._key_in_xclip_config
        return XCLIPConfig(**{key: config.to_dict()}).to_dict() if key else config.to_dict()

    @classmethod
    def from_pretrained(cls, path_or_id, *, dtype=None, torch_dtype=None, revision=None, num_threads=0,
                        interpolate_frames=False, local_files_only=False, **_ignored):
        """A model folder or a hub id; dtype "float32" (default for a float folder),
        "bfloat16" or "int8" (default for a folder written by `xclip convert`).
        interpolate_frames=True accepts videos of another frame count than the config's
        num_frames (the MIT position embeddings are resized linearly along time).
        local_files_only=True never touches the network (the hub cache or a folder only)."""
        folder = _xclip.resolve_model(str(path_or_id), revision or "", offline=bool(local_files_only))
        config = cls.config_class.from_pretrained(folder)
        model = _xclip.Model.load(folder, weight_type(dtype if dtype is not None else torch_dtype), cls._part,
                                  num_threads, revision or "", bool(interpolate_frames))
        return cls(config, _model=model, _folder=folder, num_threads=num_threads)

    # Precision and placement, as torch code reads them.
    @property
    def dtype(self):
        """The dtype inputs should have, as transformers' model.dtype: torch.float32 (float32 and
        int8 weights, whose activations are float32) or torch.bfloat16; a numpy dtype or
        'bfloat16' without torch. The weights' own precision is `weights_dtype`."""
        return torch_dtype_of(self._model.dtype)

    @property
    def weights_dtype(self):
        """'float32', 'bfloat16' or 'int8': the precision the engine runs the weights in."""
        return self._model.dtype

    @property
    def device(self):
        torch = torch_module()
        return torch.device("cpu") if torch is not None else "cpu"

    @property
    def name_or_path(self):
        return self._folder or ""

    def num_parameters(self, only_trainable=False, exclude_embeddings=False):
        """The parameter count of transformers' model (every weight the module reads)."""
        config_json = json.dumps(self._full_config_dict(self.config))
        total = 0
        for name, shape in _xclip.Model.weight_shapes(config_json, self._part):
            if exclude_embeddings and "embedding" in name:
                continue
            total += int(np.prod(shape, dtype=np.int64))
        return total

    def save_pretrained(self, save_directory, **_ignored):
        """config.json and the weights: the loaded folder's weight files as they are, or, for
        a model built from a config, model.safetensors with its (seeded) random weights."""
        os.makedirs(save_directory, exist_ok=True)
        self.config.save_pretrained(save_directory)
        if self._folder is not None:
            for name in sorted(os.listdir(self._folder)):
                if name.startswith(_WEIGHT_FILE_PREFIXES):
                    shutil.copyfile(os.path.join(self._folder, name), os.path.join(save_directory, name))
            return
        full = self._full_config_dict(self.config)
        weights = init_weights(json.dumps(full), full, self._part, self._seed)
        _xclip.save_safetensors(os.path.join(save_directory, "model.safetensors"), weights, {"format": "pt"})

    # Pickling ships the recipe (folder or config and seed, options), not the weights: a
    # Dask worker or a multiprocessing child loads the model itself.
    def __reduce__(self):
        if self._folder is not None:
            recipe = ("folder", self._folder, self.weights_dtype, self._num_threads, self._model.interpolate_frames)
        else:
            recipe = ("config", self.config, self.weights_dtype, self._num_threads, self._seed)
        return (_restore_model, (type(self), recipe))

    def _session(self):
        """One scratch session per thread: threads can share the model."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = _xclip.Session(self._model)
        return session

    # torch.nn.Module conventions that code written for transformers calls.
    def eval(self):
        return self

    def train(self, mode=True):
        if mode:
            raise _inference_only("train()", "fine-tune with transformers' XCLIPModel, then load its folder here")
        return self

    def requires_grad_(self, requires_grad=True):
        if requires_grad:
            raise _inference_only("requires_grad_()", "gradients need transformers' XCLIPModel")
        return self

    def parameters(self, *args, **kwargs):
        raise _inference_only("parameters()", "the weights live in the engine; num_parameters() counts them and "
                              "xclip.load_safetensors reads a folder's tensors")

    def half(self):
        raise _inference_only("half()", "float16 is not supported; load with dtype='bfloat16' (or 'int8') instead")

    def bfloat16(self):
        if self.weights_dtype == "bfloat16":
            return self
        raise _inference_only("bfloat16()", "the precision is chosen when loading: from_pretrained(..., "
                              "dtype='bfloat16')")

    def float(self):
        if self.weights_dtype == "float32":
            return self
        raise _inference_only("float()", "the precision is chosen when loading: from_pretrained(..., dtype='float32')")

    def cpu(self):
        return self

    def cuda(self, *args, **kwargs):
        raise _xclip.UnsupportedError("xclip runs on the CPU; there is no CUDA device to move the model to")

    def to(self, *args, **kwargs):
        """model.to("cpu"), .to(torch.device("cpu")) and .to(model.dtype) keep the model; other
        devices and dtypes are refused (the precision is chosen when loading)."""
        for target in list(args) + [kwargs.get("device"), kwargs.get("dtype")]:
            if target is None:
                continue
            name = str(target)
            if name in ("cpu", "torch.device('cpu')") or name.startswith("cpu"):
                continue
            try:
                wanted = dtype_name(target)
            except _xclip.UnsupportedError:
                raise _xclip.UnsupportedError(f"xclip runs on the CPU; cannot move the model to {target}") from None
            if wanted != self.weights_dtype and not (wanted == "float32" and self.weights_dtype == "int8"):
                raise _inference_only(f"to({target})", "the precision is chosen when loading: "
                                      f"from_pretrained(..., dtype='{wanted}')")
        return self

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def _flags(self, output_hidden_states, output_attentions, return_dict):
        """Call arguments, else the config's (as transformers reads model.config)."""
        config = self.config
        return (_flag(output_hidden_states, getattr(config, "output_hidden_states", False)),
                _flag(output_attentions, getattr(config, "output_attentions", False)),
                _flag(return_dict, getattr(config, "return_dict", True)))


def _restore_model(cls, recipe):
    kind, source, dtype, num_threads, extra = recipe
    if kind == "folder":
        return cls.from_pretrained(source, dtype=dtype, num_threads=num_threads, interpolate_frames=extra)
    return cls(source, dtype=dtype, num_threads=num_threads, seed=extra)


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


# Inputs of any dtype transformers casts: ids and masks to int64, pixels to float32.
def _ids(value):
    return None if value is None else as_numpy(value, np.int64)


def _pixels(value):
    return None if value is None else as_numpy(value, np.float32)


def _loss(array, torch_out):
    """The 0-d loss; as a torch tensor, one whose backward() says why it cannot run."""
    if array is None:
        return None
    loss = np.asarray(array, dtype=np.float32).reshape(())
    if not torch_out:
        return loss
    from ._arrays import inference_loss

    return inference_loss(loss)


class XCLIPModel(_PreTrainedModel):
    """transformers.XCLIPModel: forward, get_text_features, get_video_features."""

    def forward(self, input_ids=None, pixel_values=None, attention_mask=None, position_ids=None, return_loss=None,
                output_attentions=None, output_hidden_states=None, return_dict=None, interpolate_pos_encoding=False):
        _no_position_ids(position_ids)
        if input_ids is None or pixel_values is None:
            raise _xclip.InvalidArgument("XCLIPModel.forward needs input_ids and pixel_values")
        hidden, attentions, as_dict = self._flags(output_hidden_states, output_attentions, return_dict)
        torch_out = any_torch(input_ids, pixel_values, attention_mask)
        outputs = self._session().forward(_ids(input_ids), _pixels(pixel_values), _ids(attention_mask), hidden,
                                          attentions, _flag(return_loss), bool(interpolate_pos_encoding))
        result = XCLIPOutput(
            loss=_loss(outputs.get("loss"), torch_out),
            logits_per_video=_out(outputs["logits_per_video"], torch_out),
            logits_per_text=_out(outputs["logits_per_text"], torch_out),
            text_embeds=_out(outputs["text_embeds"], torch_out),
            video_embeds=_out(outputs["video_embeds"], torch_out),
            text_model_output=_tower_output(outputs, "text_model_output/", torch_out),
            vision_model_output=_tower_output(outputs, "vision_model_output/", torch_out),
            mit_output=_tower_output(outputs, "mit_output/", torch_out))
        if as_dict:
            return result
        # transformers' tuple: (loss,) logits x2, embeds x2, then the text and vision towers'
        # outputs as tuples; the MIT's output is only in the output object.
        head = (result.loss,) if result.loss is not None else ()
        return head + (result.logits_per_video, result.logits_per_text, result.text_embeds, result.video_embeds,
                       result.text_model_output.to_tuple(), result.vision_model_output.to_tuple())

    def get_text_features(self, input_ids=None, attention_mask=None, position_ids=None, **_ignored):
        _no_position_ids(position_ids)
        torch_out = any_torch(input_ids, attention_mask)
        return _out(self._session().get_text_features(_ids(input_ids), _ids(attention_mask)), torch_out)

    def get_video_features(self, pixel_values=None, interpolate_pos_encoding=False, **_ignored):
        return _out(self._session().get_video_features(_pixels(pixel_values), bool(interpolate_pos_encoding)),
                    any_torch(pixel_values))


class XCLIPTextModel(_PreTrainedModel):
    """transformers.XCLIPTextModel: the text tower; reads an XCLIPModel folder's text_model.*."""

    config_class = XCLIPTextConfig
    _part = _xclip.ModelPart.TextModel

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, output_attentions=None,
                output_hidden_states=None, return_dict=None):
        _no_position_ids(position_ids)
        hidden, attentions, as_dict = self._flags(output_hidden_states, output_attentions, return_dict)
        torch_out = any_torch(input_ids, attention_mask)
        outputs = self._session().text_model(_ids(input_ids), _ids(attention_mask), hidden, attentions)
        result = _tower_output(outputs, "", torch_out)
        return result if as_dict else result.to_tuple()


class XCLIPVisionModel(_PreTrainedModel):
    """transformers.XCLIPVisionModel: the cross-frame vision tower on [videos*frames, 3, H, W]."""

    config_class = XCLIPVisionConfig
    _part = _xclip.ModelPart.VisionModel

    def forward(self, pixel_values=None, output_attentions=None, output_hidden_states=None, return_dict=None,
                interpolate_pos_encoding=False):
        hidden, attentions, as_dict = self._flags(output_hidden_states, output_attentions, return_dict)
        torch_out = any_torch(pixel_values)
        outputs = self._session().vision_model(_pixels(pixel_values), hidden, attentions,
                                               bool(interpolate_pos_encoding))
        result = _tower_output(outputs, "", torch_out)
        return result if as_dict else result.to_tuple()


class AutoModel:
    """AutoModel.from_pretrained / from_config for X-CLIP folders."""

    _by_type = {"xclip": XCLIPModel, "xclip_text_model": XCLIPTextModel, "xclip_vision_model": XCLIPVisionModel}

    @classmethod
    def from_pretrained(cls, path_or_id, revision=None, local_files_only=False, **kwargs):
        folder = _xclip.resolve_model(str(path_or_id), revision or "", offline=bool(local_files_only))
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
