// XCLIPTextEmbeddings (CLIPTextEmbeddings): token embedding + absolute position embedding.
// https://github.com/huggingface/transformers/blob/v5.0.0/src/transformers/models/clip/modeling_clip.py
#pragma once

#include <cstdint>
#include <string>

#include "model/weight_loader.h"
#include "model/run_state.h"
#include "xclip/config.h"

namespace xclip::model {

class TextEmbeddings {
 public:
  TextEmbeddings(const WeightLoader& weights, const std::string& prefix, const XCLIPTextConfig& config);

  // out[texts, length, hidden] from ids [texts, length] (validated by the caller).
  void forward(const std::int64_t* input_ids, std::int64_t texts, std::int64_t length, float* out) const;

 private:
  const float* token_embedding_;     // token_embedding.weight [vocab_size, hidden]
  const float* position_embedding_;  // position_embedding.weight [max_position_embeddings, hidden]
  std::int64_t hidden_size_;
};

}  // namespace xclip::model
