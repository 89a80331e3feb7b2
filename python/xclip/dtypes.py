"""One spelling per precision: 'float32', 'bfloat16', 'int8' (the engine's names, printed
everywhere); torch dtypes, numpy dtypes and the short forms are accepted on input."""

import numpy as np

from . import _xclip
from ._arrays import torch_module

_ALIASES = {"float32": "float32", "float": "float32", "f32": "float32", "fp32": "float32",
            "bfloat16": "bfloat16", "bf16": "bfloat16", "int8": "int8", "qint8": "int8", "i8": "int8"}
_WEIGHT_TYPES = {"float32": _xclip.WeightType.F32, "bfloat16": _xclip.WeightType.Bf16, "int8": _xclip.WeightType.Int8}


def dtype_name(dtype):
    """The canonical name of a dtype given as a string, a torch dtype or a numpy dtype."""
    name = str(dtype).replace("torch.", "")
    try:
        name = np.dtype(dtype).name if not isinstance(dtype, str) and "bfloat16" not in name else name
    except TypeError:
        pass
    if name not in _ALIASES:
        raise _xclip.UnsupportedError(
            f"dtype {dtype!r} is not supported; use 'float32' (transformers' numbers), 'bfloat16' or 'int8'")
    return _ALIASES[name]


def weight_type(dtype):
    """dtype= / torch_dtype= of from_pretrained -> the engine's WeightType (None, 'auto': as stored)."""
    if dtype is None or dtype == "auto":
        return _xclip.WeightType.Auto
    return _WEIGHT_TYPES[dtype_name(dtype)]


def torch_dtype_of(weights_dtype):
    """model.dtype for weights run in `weights_dtype`: activations are float32 except in bfloat16."""
    torch = torch_module()
    if weights_dtype == "bfloat16":
        return torch.bfloat16 if torch is not None else "bfloat16"
    return torch.float32 if torch is not None else np.dtype(np.float32)
