"""numpy <-> torch at the edges of the package. torch is optional: it is imported only when
a caller passes torch tensors or asks for return_tensors="pt"."""

import sys

import numpy as np


def is_torch(value):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def any_torch(*values):
    return any(is_torch(v) for v in values)


def as_numpy(value, dtype=None):
    """A numpy view (or copy) of an array-like; torch tensors are detached to the CPU."""
    if value is None:
        return None
    if is_torch(value):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    return array.astype(dtype, copy=False) if dtype is not None else array


def convert(array, return_tensors):
    """`array` as numpy ("np"), torch ("pt", zero-copy) or plain lists (None)."""
    if array is None:
        return None
    if return_tensors == "pt":
        import torch

        return torch.from_numpy(np.ascontiguousarray(array))
    if return_tensors in ("np", "numpy"):
        return array
    if return_tensors is None:
        return array.tolist()
    raise ValueError(f"return_tensors must be 'np', 'pt' or None, got {return_tensors!r}")
