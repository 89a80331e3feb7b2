// Reading and writing .safetensors files (the format of Hugging Face checkpoints and of the
// tensors the xclip tool reads and writes). Files are untrusted: sizes and offsets are checked.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "xclip/tensor.h"

namespace xclip {

struct SafetensorsContents {
  std::string path;
  std::vector<std::string> names;          // in file order
  std::map<std::string, Tensor> tensors;   // read-only views of the memory-mapped file
  std::map<std::string, std::string> metadata;

  // FormatError naming the file when `name` is absent.
  const Tensor& at(const std::string& name) const;
  bool contains(const std::string& name) const { return tensors.count(name) != 0; }
};

// IoError (unreadable) or FormatError (corrupt header, offsets, sizes).
SafetensorsContents load_safetensors(const std::string& path);

// Writes the tensors in order to a temporary file renamed into place.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace xclip
