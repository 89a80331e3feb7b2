// The avx512 variant of the row kernels (flags set per file in CMakeLists.txt).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#if defined(__AVX2__)
// GCC 12 reports its own AVX-512 intrinsics (the _mm512_undefined_* pass-through operands)
// as uninitialised at -O3 (GCC bug 105593, fixed in 13); the warning is about the header.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif

#include "ops/cpu/kernels.h"

#define XCLIP_ISA_NAME "avx512"

namespace xclip::cpu::avx512 {
#include "ops/cpu/kernels_impl.inc"
}  // namespace xclip::cpu::avx512
