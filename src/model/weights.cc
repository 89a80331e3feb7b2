#include "model/weights.h"

#include "core/check.h"
#include "ops/layer_norm.h"

namespace xclip::model {

LayerNormWeights::LayerNormWeights(const io::WeightStore& store, const std::string& prefix, std::int64_t d, double e)
    : weight(store.get(prefix + ".weight", {d})),
      bias(store.get(prefix + ".bias", {d})),
      dim(d),
      eps(static_cast<float>(e)) {}

void LayerNormWeights::apply(const float* x, std::int64_t rows, float* y) const {
  ops::layer_norm(x, rows, dim, dim, weight, bias, eps, y);
}

LinearWeights::LinearWeights(const io::WeightStore& store, const std::string& prefix, std::int64_t i, std::int64_t o,
                             bool has_bias)
    : weight(store.get(prefix + ".weight", {o, i})),
      bias(has_bias ? store.get(prefix + ".bias", {o}) : nullptr),
      in(i),
      out(o) {}

cpu::Activation activation_from_name(const std::string& name) {
  if (name == "quick_gelu") return cpu::Activation::QuickGelu;
  if (name == "gelu") return cpu::Activation::Gelu;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return cpu::Activation::GeluTanh;
  if (name == "gelu_fast") return cpu::Activation::GeluFast;
  if (name == "relu") return cpu::Activation::Relu;
  if (name == "silu" || name == "swish") return cpu::Activation::Silu;
  XCLIP_FAIL(FormatError) << "unsupported activation '" << name << "'";
}

}  // namespace xclip::model
