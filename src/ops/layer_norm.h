#pragma once

#include <cstdint>

namespace xclip::ops {

// Row-wise LayerNorm of x[rows, n] into y (may alias x); rows are `ld` floats apart in both.
void layer_norm(const float* x, std::int64_t rows, std::int64_t n, std::int64_t ld, const float* weight,
                const float* bias, float eps, float* y);

}  // namespace xclip::ops
