#pragma once

#include <cstdint>

namespace xclip::ops {

// torch.nn.functional.interpolate(mode="bicubic", align_corners=False) with an output size:
// in [channels, in_h, in_w] -> out [channels, out_h, out_w]; cubic coefficient A = -0.75,
// source indices clamped at the borders.
void bicubic_resize(const float* in, std::int64_t channels, std::int64_t in_h, std::int64_t in_w, float* out,
                    std::int64_t out_h, std::int64_t out_w);

}  // namespace xclip::ops
