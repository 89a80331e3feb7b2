// PyTorch checkpoints (pytorch_model.bin): the zip archive torch.save writes, with a state
// dict pickled inside. Only the small pickle subset torch uses for tensors is understood:
// the globals that rebuild tensors and storages and OrderedDict are allowed, any other
// global or opcode is an error that names it. Nothing in the file is ever executed.
#pragma once

#include <map>
#include <string>

#include "xclip/tensor.h"

namespace xclip::io {

// name -> tensor (borrowed from the mapped file when contiguous, else copied).
// Throws IoError / FormatError / UnsupportedError with the file named.
std::map<std::string, Tensor> load_torch_checkpoint(const std::string& path);

}  // namespace xclip::io
