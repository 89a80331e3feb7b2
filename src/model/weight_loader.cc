#include "model/weight_loader.h"

#include "core/check.h"
#include "ops/bf16_linear.h"

namespace xclip::model {

LinearPrecision resolve_precision(WeightType requested, const io::WeightStore& store, bool int8_trusted) {
  switch (requested) {
    case WeightType::F32:
      return LinearPrecision::F32;
    case WeightType::Int8:
      return LinearPrecision::Int8;
    case WeightType::Bf16:
      XCLIP_CHECK(ops::bf16_supported(), UnsupportedError)
          << "bf16 weights need a CPU with AVX512-BF16, which this one lacks; use int8 or f32";
      return LinearPrecision::Bf16;
    case WeightType::Auto:
      break;
  }
  return store.holds_int8() && int8_trusted ? LinearPrecision::Int8 : LinearPrecision::F32;
}

}  // namespace xclip::model
