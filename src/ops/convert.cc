#include "ops/convert.h"

#include <cstring>

#include "core/parallel.h"

namespace xclip::ops {

namespace {

// IEEE binary16 -> binary32, including subnormals, infinities and NaN.
float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exponent = (h >> 10) & 0x1fu;
  std::uint32_t mantissa = h & 0x3ffu;
  std::uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal: normalise
    exponent = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

}  // namespace

void f16_to_f32(const std::uint16_t* in, float* out, std::int64_t n) {
  parallel_for(0, n, 1 << 16, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) out[i] = half_to_float(in[i]);
  });
}

void bf16_to_f32(const std::uint16_t* in, float* out, std::int64_t n) {
  parallel_for(0, n, 1 << 16, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      const std::uint32_t bits = static_cast<std::uint32_t>(in[i]) << 16;
      std::memcpy(&out[i], &bits, sizeof(float));
    }
  });
}

void f32_to_bf16(const float* in, std::uint16_t* out, std::int64_t n) {
  parallel_for(0, n, 1 << 16, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      std::uint32_t bits;
      std::memcpy(&bits, &in[i], sizeof(bits));
      bits += 0x7FFFu + ((bits >> 16) & 1u);
      out[i] = static_cast<std::uint16_t>(bits >> 16);
    }
  });
}

}  // namespace xclip::ops
