"""numpy <-> torch at the edges of the package. torch is optional: it is imported only when
a caller passes torch tensors, asks for return_tensors="pt", or reads model.dtype/device."""

import sys

import numpy as np


def torch_module():
    """torch when it can be imported, else None."""
    if "torch" not in sys.modules:
        try:
            import torch  # noqa: F401
        except ImportError:
            return None
    return sys.modules["torch"]


def is_torch(value):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def any_torch(*values):
    return any(is_torch(v) for v in values)


def as_numpy(value, dtype=None):
    """A numpy view (or copy) of an array-like; torch tensors are detached to the CPU (bfloat16,
    which numpy lacks, through float32)."""
    if value is None:
        return None
    if is_torch(value):
        value = value.detach().cpu()
        if value.dtype == sys.modules["torch"].bfloat16:
            value = value.float()
        value = value.numpy()
    array = np.asarray(value)
    return array.astype(dtype, copy=False) if dtype is not None else array


def convert(array, return_tensors):
    """`array` as numpy ("np"), torch ("pt", zero-copy) or plain lists (None)."""
    if array is None:
        return None
    if return_tensors == "pt":
        import torch

        # np.ascontiguousarray would turn a 0-d array into shape (1,).
        return torch.from_numpy(np.require(array, requirements="C"))
    if return_tensors in ("np", "numpy"):
        return array
    if return_tensors is None:
        return array.tolist()
    raise ValueError(f"return_tensors must be 'np', 'pt' or None, got {return_tensors!r}")


def inference_loss(loss):
    """A 0-d torch tensor whose backward() explains that there is no autograd graph."""
    import torch

    from ._torch_loss import InferenceOnlyLoss

    return torch.from_numpy(np.require(loss, requirements="C")).as_subclass(InferenceOnlyLoss)
