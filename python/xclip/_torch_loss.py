"""The loss tensor of a torch call (imported only when torch is in use)."""

import torch


class InferenceOnlyLoss(torch.Tensor):
    """A 0-d float tensor like transformers' loss, whose backward() says why it cannot run."""

    def backward(self, *args, **kwargs):
        raise RuntimeError("xclip's loss has no autograd graph: the C++ engine runs inference only; train with "
                           "transformers' XCLIPModel (xclip loads the folder it saves)")
