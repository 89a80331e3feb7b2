#include "model/run_state.h"

#include <cstring>

namespace xclip::model {

Tensor RunState::copy_rows(const float* data, std::int64_t outer, std::int64_t rows, std::int64_t block_stride,
                           std::int64_t cols, std::vector<std::int64_t> shape) {
  Tensor t = Tensor::empty(DType::F32, std::move(shape));
  float* dst = t.mutable_data<float>();
  for (std::int64_t o = 0; o < outer; ++o)
    std::memcpy(dst + o * rows * cols, data + o * block_stride * cols, sizeof(float) * rows * cols);
  return t;
}

Tensor RunState::copy(const float* data, std::vector<std::int64_t> shape) {
  Tensor t = Tensor::empty(DType::F32, std::move(shape));
  if (t.nbytes()) std::memcpy(t.mutable_data<float>(), data, t.nbytes());
  return t;
}

void RunState::tap(const std::string& module, const char* slot, const float* data, std::vector<std::int64_t> shape) const {
  if (!tapping()) return;
  options.tap(module, slot, copy(data, std::move(shape)));
}

void RunState::tap(const std::string& module, const char* slot, const Tensor& value) const {
  if (tapping()) options.tap(module, slot, value);
}

void RunState::record(const std::string& name, Tensor value) const {
  if (outputs) outputs->add(name, std::move(value));
}

}  // namespace xclip::model
