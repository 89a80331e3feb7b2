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

// What X-CLIP's score needs from a video, kept so that texts can be scored against it
// later without the frames (a search index stores one per window):
// Session::get_video_search_features makes it, Session::logits_from_video_features uses it.
struct VideoSearchFeatures {
  Tensor video_embeds;  // F32 [videos, projection_dim]: get_video_features
  // The keys and values every prompt-generator layer derives from the video's patch
  // features: F32 [prompt_layers, videos, patches, 2·projection_dim] ([k | v] per patch).
  Tensor prompt_keys_values;
};

}  // namespace xclip
