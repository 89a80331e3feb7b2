// Element type conversions: half-precision checkpoints at load, bf16 activations.
#pragma once

#include <cstdint>

namespace xclip::ops {

void f16_to_f32(const std::uint16_t* in, float* out, std::int64_t n);
void bf16_to_f32(const std::uint16_t* in, float* out, std::int64_t n);
// Round to nearest even, as torch's .to(torch.bfloat16) (for finite inputs).
void f32_to_bf16(const float* in, std::uint16_t* out, std::int64_t n);

}  // namespace xclip::ops
