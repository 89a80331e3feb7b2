#pragma once

#include <cstdint>

namespace xclip::ops {

// torch.nn.functional.interpolate(mode="bicubic", align_corners=False) with an output size:
// in [channels, in_h, in_w] -> out [channels, out_h, out_w]; cubic coefficient A = -0.75,
// source indices clamped at the borders.
void bicubic_resize(const float* in, std::int64_t channels, std::int64_t in_h, std::int64_t in_w, float* out,
                    std::int64_t out_h, std::int64_t out_w);

}  // namespace xclip::ops

namespace xclip::ops {

// torch.nn.functional.interpolate(mode="linear", align_corners=False) along the rows:
// in [in_rows, cols] -> out [out_rows, cols]. Output row i samples source position
// (i + 0.5) · in_rows / out_rows - 0.5, clamped at 0, between its two neighbour rows.
void interpolate_linear_rows(const float* in, std::int64_t in_rows, std::int64_t cols, std::int64_t out_rows,
                             float* out);

}  // namespace xclip::ops
