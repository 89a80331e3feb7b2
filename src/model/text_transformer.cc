#include "model/text_transformer.h"

#include <cstring>

#include "core/check.h"

namespace xclip::model {

namespace {
EncoderDims text_dims(const XCLIPTextConfig& c) {
  return {c.hidden_size, c.intermediate_size, c.num_attention_heads, c.hidden_act, c.layer_norm_eps};
}
}  // namespace

TextTransformer::TextTransformer(const WeightLoader& weights, const std::string& prefix, const XCLIPTextConfig& c)
    : config_(c),
      embeddings_(weights, prefix + ".embeddings", c),
      encoder_(weights, prefix + ".encoder", text_dims(c), c.num_hidden_layers),
      final_layer_norm_(weights, prefix + ".final_layer_norm", c.hidden_size, c.layer_norm_eps) {}

void TextTransformer::validate(const Tensor& ids, const Tensor& mask) const {
  XCLIP_CHECK(ids.defined() && ids.dtype() == DType::I64 && ids.rank() == 2, InvalidArgument)
      << "input_ids: expected I64 [texts, length], got " << ids.describe();
  XCLIP_CHECK(ids.dim(0) > 0 && ids.dim(1) > 0, InvalidArgument) << "input_ids: empty batch " << ids.describe();
  XCLIP_CHECK(ids.dim(1) <= config_.max_position_embeddings, InvalidArgument)
      << "input_ids: sequence length " << ids.dim(1) << " exceeds max_position_embeddings = "
      << config_.max_position_embeddings << "; truncate the texts (tokenizer truncation, max_length "
      << config_.max_position_embeddings << ")";
  const std::int64_t* id = ids.data<std::int64_t>();
  for (std::int64_t i = 0; i < ids.numel(); ++i) {
    XCLIP_CHECK(id[i] >= 0 && id[i] < config_.vocab_size, InvalidArgument)
        << "input_ids[" << i / ids.dim(1) << "][" << i % ids.dim(1) << "] = " << id[i] << " is outside the vocabulary [0, "
        << config_.vocab_size << ")";
  }
  if (!mask.defined()) return;
  XCLIP_CHECK(mask.dtype() == DType::I64 && mask.shape() == ids.shape(), InvalidArgument)
      << "attention_mask: expected I64 " << shape_to_string(ids.shape()) << " like input_ids, got " << mask.describe();
  const std::int64_t* m = mask.data<std::int64_t>();
  for (std::int64_t i = 0; i < mask.numel(); ++i) {
    XCLIP_CHECK(m[i] == 0 || m[i] == 1, InvalidArgument)
        << "attention_mask[" << i / ids.dim(1) << "][" << i % ids.dim(1) << "] = " << m[i] << ", expected 0 or 1";
  }
}

TextOutput TextTransformer::forward(const Tensor& ids, const Tensor& mask, RunState& s, bool keep_last_hidden_state) const {
  validate(ids, mask);
  ArenaScope scope(s.arena);
  const std::int64_t texts = ids.dim(0), length = ids.dim(1), d = config_.hidden_size;
  float* x = s.arena.alloc_floats(texts * length * d);
  embeddings_.forward(ids.data<std::int64_t>(), texts, length, x);
  s.tap("text_model.embeddings", "out", x, {texts, length, d});

  ops::AttentionMask attention_mask;
  attention_mask.causal = true;
  if (mask.defined()) attention_mask.key_padding = mask.data<std::int64_t>();
  encoder_.forward(x, texts, length, attention_mask, s, "text_model_output");

  final_layer_norm_.apply(x, texts * length, x);
  s.tap("text_model.final_layer_norm", "out", x, {texts, length, d});

  TextOutput out;
  if (keep_last_hidden_state) out.last_hidden_state = RunState::copy(x, {texts, length, d});
  // Pool at the end-of-text token, found as argmax(input_ids) (its id is the largest in
  // the CLIP vocabulary); the first occurrence wins, as in torch.argmax.
  out.pooler_output = Tensor::empty(DType::F32, {texts, d});
  const std::int64_t* id = ids.data<std::int64_t>();
  for (std::int64_t t = 0; t < texts; ++t) {
    std::int64_t best = 0;
    for (std::int64_t j = 1; j < length; ++j)
      if (id[t * length + j] > id[t * length + best]) best = j;
    std::memcpy(out.pooler_output.mutable_data<float>() + t * d, x + (t * length + best) * d, sizeof(float) * d);
  }
  return out;
}

}  // namespace xclip::model
