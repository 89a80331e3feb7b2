// Name -> weight lookup over the checkpoint files of a model folder. Modules ask for each
// weight with its expected shape; problems are collected and reported together by finish().
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "xclip/tensor.h"

namespace xclip::io {

class WeightStore {
 public:
  // model.safetensors, the shards of model.safetensors.index.json, or (when no safetensors
  // exist) pytorch_model.bin / the shards of pytorch_model.bin.index.json.
  static WeightStore open_folder(const std::string& dir);
  // From tensors already read (each keeps its file mapping alive).
  static WeightStore from_tensors(std::map<std::string, Tensor> tensors, std::string source);

  // F32 data of `name` with exactly `shape`; F16/BF16 are converted once here. On a missing
  // or mis-shaped weight the problem is recorded and a zero buffer returned, so that one
  // load reports every problem; finish() then throws.
  const float* get(const std::string& name, const std::vector<std::int64_t>& shape) const;
  // Throws FormatError listing missing, mis-shaped and unexpected tensors, if any.
  void finish() const;

  const std::string& source() const { return source_; }
  // Modules built from this store also keep int8 copies of their linear weights.
  void set_quantize_int8(bool on) { quantize_int8_ = on; }
  bool quantize_int8() const { return quantize_int8_; }
  std::size_t converted_bytes() const { return converted_bytes_; }

 private:
  std::string source_;
  std::map<std::string, Tensor> tensors_;
  mutable std::set<std::string> used_;
  mutable std::vector<std::string> problems_;
  mutable std::vector<Tensor> owned_;  // converted or placeholder buffers
  mutable std::size_t converted_bytes_ = 0;
  bool quantize_int8_ = false;
};

}  // namespace xclip::io
