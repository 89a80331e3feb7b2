// The scalar variant of the row kernels (flags set per file in CMakeLists.txt).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "ops/cpu/kernels.h"

#define XCLIP_ISA_NAME "scalar"

namespace xclip::cpu::scalar {
#include "ops/cpu/kernels_impl.inc"
}  // namespace xclip::cpu::scalar
