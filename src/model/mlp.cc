#include "model/mlp.h"

#include "ops/linear.h"

namespace xclip::model {

Mlp::Mlp(const io::WeightStore& store, const std::string& prefix, std::int64_t hidden_size,
         std::int64_t intermediate_size, const std::string& hidden_act)
    : fc1_(store, prefix + ".fc1", hidden_size, intermediate_size, true),
      fc2_(store, prefix + ".fc2", intermediate_size, hidden_size, true),
      act_(activation_from_name(hidden_act)) {}

void Mlp::forward_accumulate(const float* x, std::int64_t rows, float* residual, RunState& s) const {
  ArenaScope scope(s.arena);
  float* hidden = s.arena.alloc_floats(rows * fc1_.out);
  ops::linear(x, rows, fc1_.in, fc1_.in, fc1_.weight, fc1_.bias, fc1_.out, hidden, act_);
  ops::linear_accumulate(hidden, rows, fc2_.in, fc2_.weight, fc2_.bias, fc2_.out, residual);
}

}  // namespace xclip::model
