#include "model/mlp.h"

#include "ops/linear.h"

namespace xclip::model {

Mlp::Mlp(const WeightLoader& weights, const std::string& prefix, std::int64_t hidden_size,
         std::int64_t intermediate_size, const std::string& hidden_act)
    : fc1_(weights, prefix + ".fc1", hidden_size, intermediate_size, true),
      fc2_(weights, prefix + ".fc2", intermediate_size, hidden_size, true),
      act_(activation_from_name(hidden_act)) {}

void Mlp::forward_accumulate(const float* x, std::int64_t rows, float* residual, RunState& s) const {
  ArenaScope scope(s.arena);
  float* hidden = s.arena.alloc_floats(rows * fc1_.out);
  fc1_.forward(x, rows, fc1_.in, hidden, act_);
  fc2_.forward_accumulate(hidden, rows, residual);
}

}  // namespace xclip::model
