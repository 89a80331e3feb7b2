// The self-check of `convert_model` for int8: the float32 source and the converted weights
// run side by side on probe inputs that need no data set (synthetic videos, 400 prompts).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "xclip/config.h"
#include "xclip/convert.h"
#include "xclip/tensor.h"

namespace xclip::api {

// `int8_weights`: the tensors convert_model is about to write (I8 + scales, float rest).
ConversionCheck check_int8_conversion(const std::string& source_folder, const XCLIPConfig& config,
                                      std::map<std::string, Tensor> int8_weights, double threshold,
                                      double top1_threshold);

}  // namespace xclip::api
