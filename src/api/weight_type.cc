#include "core/check.h"
#include "xclip/options.h"

namespace xclip {

const char* weight_type_name(WeightType type) {
  switch (type) {
    case WeightType::Auto: return "auto";
    case WeightType::F32: return "float32";
    case WeightType::Int8: return "int8";
    case WeightType::Bf16: return "bfloat16";
  }
  return "unknown";
}

WeightType parse_weight_type(const std::string& name) {
  if (name == "auto") return WeightType::Auto;
  if (name == "float32" || name == "f32" || name == "fp32") return WeightType::F32;
  if (name == "bfloat16" || name == "bf16") return WeightType::Bf16;
  if (name == "int8") return WeightType::Int8;
  XCLIP_FAIL(InvalidArgument) << "dtype must be auto, float32 (f32), bfloat16 (bf16) or int8, got '" << name << "'";
  __builtin_unreachable();
}

}  // namespace xclip
