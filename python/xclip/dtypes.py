"""One spelling per precision: 'float32', 'bfloat16', 'int8' (the engine's names, printed
everywhere); torch dtypes, numpy dtypes and the short forms are accepted on input."""

import numpy as np

from . import _xclip
from ._arrays import torch_module


def dtype_name(dtype):
    """The canonical name of a dtype given as a string, a torch dtype or a numpy dtype (the
    library's one vocabulary: 'float32', 'bfloat16', 'int8')."""
    name = str(dtype).replace("torch.", "")
    if not isinstance(dtype, str) and "bfloat16" not in name:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            pass
    try:
        canonical = _xclip.weight_type_name(_xclip.parse_weight_type({"float": "float32", "qint8": "int8"}.get(name, name)))
    except _xclip.InvalidArgument:
        canonical = "auto"
    if canonical == "auto":
        raise _xclip.UnsupportedError(
            f"dtype {dtype!r} is not supported; use 'float32' (transformers' numbers), 'bfloat16' or 'int8'")
    return canonical


def weight_type(dtype):
    """dtype= / torch_dtype= of from_pretrained -> the engine's WeightType (None, 'auto': as stored)."""
    if dtype is None or dtype == "auto":
        return _xclip.WeightType.Auto
    return _xclip.parse_weight_type(dtype_name(dtype))


def torch_dtype_of(weights_dtype):
    """model.dtype for weights run in `weights_dtype`: activations are float32 except in bfloat16."""
    torch = torch_module()
    if weights_dtype == "bfloat16":
        return torch.bfloat16 if torch is not None else "bfloat16"
    return torch.float32 if torch is not None else np.dtype(np.float32)
