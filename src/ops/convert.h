// Element type conversions used when loading half-precision checkpoints.
#pragma once

#include <cstdint>

namespace xclip::ops {

void f16_to_f32(const std::uint16_t* in, float* out, std::int64_t n);
void bf16_to_f32(const std::uint16_t* in, float* out, std::int64_t n);

}  // namespace xclip::ops
