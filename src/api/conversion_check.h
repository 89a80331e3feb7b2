// The self-check of reduced precision: a float32 model and a reduced-precision one run side
// by side on probe inputs that need no data set (synthetic videos, 400 prompts).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "xclip/config.h"
#include "xclip/convert.h"
#include "xclip/tensor.h"

namespace xclip {
class Model;
}  // namespace xclip

namespace xclip::api {

// `candidate` (int8 or bf16) against `reference` (float32) on the probe inputs made for the
// model folder `folder` (its tokenizer when it has one).
ConversionCheck compare_on_probe(const std::shared_ptr<const Model>& reference,
                                 const std::shared_ptr<const Model>& candidate, const std::string& folder,
                                 double threshold, double top1_threshold);

// Whether WeightType::Auto may run an int8 folder in int8 on a CPU whose int8 products are
// `exact_int8_products` or not: its check passed, and ran on int8 kernels unless this CPU too
// multiplies int8 weights in float32 (which is at least as precise as int8 kernels).
bool int8_check_trusted(const std::optional<ConversionCheck>& check, bool exact_int8_products);

// The input channels each quantizable weight of `int8_model` sees as activation outliers on
// the probe inputs (ops/outlier_channels.h): weight name -> channels.
std::map<std::string, std::set<std::int64_t>> record_outlier_channels(const std::shared_ptr<const Model>& int8_model,
                                                                      const std::string& folder);

}  // namespace xclip::api
