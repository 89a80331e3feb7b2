#include "model/weights.h"

#include <cstring>
#include <optional>

#include "core/check.h"
#include "ops/layer_norm.h"
#include "ops/linear.h"

namespace xclip::model {

LayerNormWeights::LayerNormWeights(const WeightLoader& weights, const std::string& prefix, std::int64_t d, double e)
    : weight(weights.get(prefix + ".weight", {d})),
      bias(weights.get(prefix + ".bias", {d})),
      dim(d),
      eps(static_cast<float>(e)) {}

void LayerNormWeights::apply(const float* x, std::int64_t rows, float* y) const {
  ops::layer_norm(x, rows, dim, dim, weight, bias, eps, y);
}

namespace {

std::shared_ptr<const ops::QuantizedMatrix> packed(ops::QuantizedMatrix m) {
  m.pack();
  return std::make_shared<const ops::QuantizedMatrix>(std::move(m));
}

// Runs in int8 when the loader asks for it: the converted folder's int8 weight as it is, or
// the float weight quantized now (not yet packed: stacked() concatenates first). Outlier
// channels are multiplied with the float weight's columns, or the ones convert stored.
std::optional<ops::QuantizedMatrix> int8_weight(const WeightLoader& weights, const std::string& name, std::int64_t in,
                                                std::int64_t out, const float** weight) {
  weights.mark_quantizable(name);
  if (weights.int8()) {
    if (auto q = weights.get_int8(name, {out, in})) {
      *weight = nullptr;
      ops::QuantizedMatrix m{q->values, q->scales, out, in, {}, {name}, nullptr};
      m.exact.push_back(ops::ExactColumns{nullptr, q->outlier_channels, q->outlier_columns});
      return m;
    }
  }
  *weight = weights.get(name, {out, in});
  if (!weights.int8()) return std::nullopt;
  ops::QuantizedMatrix m = ops::QuantizedMatrix::quantize(*weight, out, in);
  m.exact.push_back(ops::ExactColumns{*weight, Tensor(), Tensor()});
  m.names = {name};
  return m;
}

}  // namespace

LinearWeights::LinearWeights(const WeightLoader& weights, const std::string& prefix, std::int64_t i, std::int64_t o,
                             bool has_bias, bool quantizable)
    : bias(has_bias ? weights.get(prefix + ".bias", {o}) : nullptr), in(i), out(o) {
  if (quantizable) {
    if (auto q = int8_weight(weights, prefix + ".weight", i, o, &weight)) int8 = packed(std::move(*q));
    if (weights.bf16()) bf16 = ops::prepare_bf16(weight, o, i);
  } else {
    weight = weights.get(prefix + ".weight", {o, i});
  }
}

LinearWeights LinearWeights::stacked(const WeightLoader& weights, const std::vector<std::string>& prefixes,
                                     std::int64_t in, std::int64_t out, bool has_bias) {
  const std::int64_t parts = static_cast<std::int64_t>(prefixes.size());
  LinearWeights l;
  l.in = in;
  l.out = parts * out;
  if (has_bias) l.owned_bias_ = Tensor::empty(DType::F32, {l.out});
  std::vector<std::optional<ops::QuantizedMatrix>> q(prefixes.size());
  std::vector<const float*> w(prefixes.size());
  for (std::int64_t p = 0; p < parts; ++p) {
    const std::string& prefix = prefixes[static_cast<std::size_t>(p)];
    q[p] = int8_weight(weights, prefix + ".weight", in, out, &w[p]);
    if (has_bias)
      std::memcpy(l.owned_bias_.mutable_data<float>() + p * out, weights.get(prefix + ".bias", {out}),
                  sizeof(float) * out);
  }
  l.bias = has_bias ? l.owned_bias_.data<float>() : nullptr;
  if (weights.int8()) {
    ops::QuantizedMatrix stackedq;
    stackedq.rows = l.out;
    stackedq.cols = in;
    stackedq.values = Tensor::empty(DType::I8, {l.out, in});
    stackedq.scales = Tensor::empty(DType::F32, {l.out});
    for (std::int64_t p = 0; p < parts; ++p) {
      std::memcpy(stackedq.values.mutable_data<std::int8_t>() + p * out * in, q[p]->values.data<std::int8_t>(),
                  out * in);
      std::memcpy(stackedq.scales.mutable_data<float>() + p * out, q[p]->scales.data<float>(), sizeof(float) * out);
      stackedq.exact.push_back(q[p]->exact.front());
      stackedq.names.push_back(q[p]->names.front());
    }
    l.int8 = packed(std::move(stackedq));
    return l;
  }
  l.owned_weight_ = Tensor::empty(DType::F32, {l.out, in});
  for (std::int64_t p = 0; p < parts; ++p)
    std::memcpy(l.owned_weight_.mutable_data<float>() + p * out * in, w[p], sizeof(float) * out * in);
  l.weight = l.owned_weight_.data<float>();
  if (weights.bf16()) l.bf16 = ops::prepare_bf16(l.weight, l.out, in);
  return l;
}

void LinearWeights::forward(const float* x, std::int64_t rows, std::int64_t ldx, float* y, cpu::Activation act) const {
  if (int8) {
    ops::linear_q8(x, rows, in, ldx, *int8, bias, y, act, false);
  } else if (bf16) {
    ops::linear_bf16(x, rows, in, ldx, *bf16, bias, y, act, false);
  } else {
    ops::linear(x, rows, in, ldx, weight, bias, out, y, act);
  }
}

void LinearWeights::forward_accumulate(const float* x, std::int64_t rows, float* y) const {
  if (int8) {
    ops::linear_q8(x, rows, in, in, *int8, bias, y, cpu::Activation::Identity, true);
  } else if (bf16) {
    ops::linear_bf16(x, rows, in, in, *bf16, bias, y, cpu::Activation::Identity, true);
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
