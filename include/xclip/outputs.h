// Inputs and outputs of a forward pass, named as transformers names them.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "xclip/tensor.h"

namespace xclip {

// Ordered name -> tensor list; names follow transformers' output fields
// ("logits_per_video", "text_model_output/hidden_states/3", ...).
class NamedTensors {
 public:
  void add(std::string name, Tensor value);
  bool contains(const std::string& name) const;
  const Tensor& at(const std::string& name) const;  // throws InvalidArgument if absent
  const std::vector<std::pair<std::string, Tensor>>& items() const { return items_; }
  std::size_t size() const { return items_.size(); }

 private:
  std::vector<std::pair<std::string, Tensor>> items_;
};

struct ForwardInputs {
  Tensor input_ids;       // I64 [texts, length]
  Tensor attention_mask;  // I64 [texts, length], optional (undefined = no padding mask)
  Tensor pixel_values;    // F32 [videos, frames, channels, height, width]
};

}  // namespace xclip
