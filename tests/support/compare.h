// Tensor comparison with explicit tolerances; failures name the tensor, the worst index and
// both values.
#pragma once

#include <cmath>
#include <sstream>
#include <string>

#include "xclip/tensor.h"

namespace xclip::test {

struct Tolerance {
  double abs = 0.0;       // |ours - ref| <= abs + rel * scale
  double rel = 0.0;
  bool scale_by_max = false;  // scale = max(1, max|ref|) instead of |ref[i]|
};

struct CompareResult {
  bool ok = true;
  double max_abs_diff = 0.0;
  std::string message;
};

inline CompareResult compare_f32(const std::string& name, const Tensor& ours, const Tensor& ref, const Tolerance& tol) {
  CompareResult r;
  std::ostringstream msg;
  if (ours.numel() != ref.numel() || ours.dtype() != DType::F32 || ref.dtype() != DType::F32) {
    r.ok = false;
    msg << name << ": got " << ours.describe() << ", reference " << ref.describe();
    r.message = msg.str();
    return r;
  }
  const float* a = ours.data<float>();
  const float* b = ref.data<float>();
  double max_ref = 0.0;
  for (std::int64_t i = 0; i < ref.numel(); ++i) max_ref = std::max(max_ref, std::fabs(static_cast<double>(b[i])));
  std::int64_t worst = -1;
  double worst_excess = 0.0;
  for (std::int64_t i = 0; i < ref.numel(); ++i) {
    const double diff = std::fabs(static_cast<double>(a[i]) - b[i]);
    if (std::isnan(a[i]) != std::isnan(b[i])) {
      worst = i;
      worst_excess = INFINITY;
      break;
    }
    if (!(diff == diff)) continue;  // both NaN
    r.max_abs_diff = std::max(r.max_abs_diff, diff);
    const double scale = tol.scale_by_max ? std::max(1.0, max_ref) : std::fabs(static_cast<double>(b[i]));
    const double allowed = tol.abs + tol.rel * scale;
    if (diff > allowed && diff - allowed > worst_excess) {
      worst_excess = diff - allowed;
      worst = i;
    }
  }
  if (worst >= 0) {
    r.ok = false;
    msg << name << ": max |diff| " << r.max_abs_diff << " exceeds tolerance (abs " << tol.abs << ", rel " << tol.rel
        << (tol.scale_by_max ? " x max(1, max|ref|)" : "") << "); worst at flat index " << worst << ": ours "
        << a[worst] << ", reference " << b[worst] << ", shape " << shape_to_string(ref.shape());
    r.message = msg.str();
  }
  return r;
}

}  // namespace xclip::test
