// Name -> weight lookup over the checkpoint files of a model folder. Modules ask for each
// weight with its expected shape; problems are collected and reported together by finish().
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "xclip/tensor.h"

namespace xclip::io {

// A linear weight stored as int8 by `xclip convert`.
struct Int8Weight {
  Tensor values;  // I8 [out, in]
  Tensor scales;  // F32 [out]: W ≈ values · scale per row
  // Optional float32 copies of the columns of the input channels that were activation
  // outliers on convert's probe inputs: I64 [n] ascending, F32 [out, n]; undefined if none.
  Tensor outlier_channels, outlier_columns;
};

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
  // A linear weight that `xclip convert` stored as int8: I8 `name` [out, in] with F32
  // `name` + "_scale" [out], and optionally I64 `name` + "_outlier_channels" [n] with F32
  // `name` + "_outlier_columns" [out, n]; all mapped, not copied. nullopt when `name` is
  // absent or stored as a float type (ask get() then). A bad set is recorded as a problem
  // (placeholder returned), like get() does.
  std::optional<Int8Weight> get_int8(const std::string& name, const std::vector<std::int64_t>& shape) const;
  // Throws FormatError listing missing, mis-shaped and unexpected tensors, if any. With
  // `only_prefix` (a part of the model loaded alone, e.g. "text_model."), tensors outside it
  // are not unexpected: transformers' XCLIPTextModel reads an XCLIPModel folder the same way.
  void finish(const std::string& only_prefix = "") const;

  const std::string& source() const { return source_; }
  const std::map<std::string, Tensor>& tensors() const { return tensors_; }
  // True when any weight is stored as int8 (a folder written by `xclip convert --dtype int8`).
  bool holds_int8() const;
  std::size_t converted_bytes() const { return converted_bytes_; }

 private:
  // The optional outlier columns of int8 weight `name` into `weight`; false (a problem
  // recorded) when they are malformed.
  bool read_outlier_columns(const std::string& name, const std::vector<std::int64_t>& shape, Int8Weight& weight) const;

  std::string source_;
  std::map<std::string, Tensor> tensors_;
  mutable std::set<std::string> used_;
  mutable std::vector<std::string> problems_;
  mutable std::vector<Tensor> owned_;  // converted or placeholder buffers
  mutable std::size_t converted_bytes_ = 0;
};

}  // namespace xclip::io
