#include "ops/layer_norm.h"

#include "core/parallel.h"
#include "ops/cpu/kernels.h"

namespace xclip::ops {

void layer_norm(const float* x, std::int64_t rows, std::int64_t n, std::int64_t ld, const float* weight,
                const float* bias, float eps, float* y) {
  const cpu::CpuKernels& k = cpu::kernels();
  parallel_for(0, rows, std::max<std::int64_t>(1, 8192 / std::max<std::int64_t>(n, 1)), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) k.f32_layer_norm(x + r * ld, weight, bias, eps, y + r * ld, n);
  });
}

}  // namespace xclip::ops
