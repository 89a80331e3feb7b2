#include "model/text_embeddings.h"

#include "core/parallel.h"

namespace xclip::model {

TextEmbeddings::TextEmbeddings(const WeightLoader& weights, const std::string& prefix, const XCLIPTextConfig& c)
    : token_embedding_(weights.get(prefix + ".token_embedding.weight", {c.vocab_size, c.hidden_size})),
      position_embedding_(weights.get(prefix + ".position_embedding.weight", {c.max_position_embeddings, c.hidden_size})),
      hidden_size_(c.hidden_size) {}

void TextEmbeddings::forward(const std::int64_t* input_ids, std::int64_t texts, std::int64_t length, float* out) const {
  const std::int64_t d = hidden_size_;
  parallel_for(0, texts * length, 64, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      const float* token = token_embedding_ + input_ids[r] * d;
      const float* position = position_embedding_ + (r % length) * d;
      float* dst = out + r * d;
      for (std::int64_t i = 0; i < d; ++i) dst[i] = token[i] + position[i];
    }
  });
}

}  // namespace xclip::model
