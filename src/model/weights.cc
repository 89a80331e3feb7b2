#include "model/weights.h"

#include "core/check.h"
#include "ops/layer_norm.h"
#include "ops/linear.h"

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
                             bool has_bias, bool quantizable)
    : weight(store.get(prefix + ".weight", {o, i})),
      bias(has_bias ? store.get(prefix + ".bias", {o}) : nullptr),
      in(i),
      out(o) {
  if (quantizable && store.quantize_int8()) int8 = std::make_shared<ops::QuantizedMatrix>(ops::QuantizedMatrix::quantize(weight, o, i));
}

LinearWeights LinearWeights::owned(Tensor w, Tensor b, bool quantize_int8) {
  LinearWeights l;
  l.out = w.dim(0);
  l.in = w.dim(1);
  l.owned_weight_ = std::move(w);
  l.owned_bias_ = std::move(b);
  l.weight = l.owned_weight_.data<float>();
  l.bias = l.owned_bias_.defined() ? l.owned_bias_.data<float>() : nullptr;
  if (quantize_int8) l.int8 = std::make_shared<ops::QuantizedMatrix>(ops::QuantizedMatrix::quantize(l.weight, l.out, l.in));
  return l;
}

void LinearWeights::forward(const float* x, std::int64_t rows, std::int64_t ldx, float* y, cpu::Activation act) const {
  if (int8) {
    ops::linear_q8(x, rows, in, ldx, *int8, bias, y, act, false);
  } else {
    ops::linear(x, rows, in, ldx, weight, bias, out, y, act);
  }
}

void LinearWeights::forward_accumulate(const float* x, std::int64_t rows, float* y) const {
  if (int8) {
    ops::linear_q8(x, rows, in, in, *int8, bias, y, cpu::Activation::Identity, true);
  } else {
    ops::linear_accumulate(x, rows, in, weight, bias, out, y);
  }
}

void add_projection(const LinearWeights& proj, const float* x, std::int64_t rows, float* residual, RunState& s,
                    const std::string& path, std::vector<std::int64_t> tap_shape) {
  if (!s.tapping()) {
    proj.forward_accumulate(x, rows, residual);
    return;
  }
  ArenaScope scope(s.arena);
  const std::int64_t n = rows * proj.out;
  float* projected = s.arena.alloc_floats(n);
  proj.forward(x, rows, proj.in, projected);
  s.tap(path, "out", projected, std::move(tap_shape));
  for (std::int64_t i = 0; i < n; ++i) residual[i] += projected[i];
}

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
