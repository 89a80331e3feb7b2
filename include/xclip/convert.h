// Rewrites a model folder once so that later loads are fast: int8 linear weights stored
// ready to use (no quantization at load), or every weight as float32 safetensors (from
// pytorch_model.bin, F16/BF16 or an int8 folder).
#pragma once

#include <string>

#include "xclip/options.h"

namespace xclip {

struct ConvertOptions {
  // Int8: the linear layers that LoadOptions::weights = Int8 runs in int8 are stored as I8
  // `<name>` [out, in] plus F32 `<name>_scale` [out] (symmetric, per output channel: the very
  // values an Int8 load of the source computes); everything else F32. F32: all float32.
  WeightType weights = WeightType::Int8;
  int num_threads = 0;  // for quantizing; 0 = XCLIP_NUM_THREADS or the number of cores
};

// Reads the model folder `source` (as Model::load does, checking every tensor) and writes
// `destination`/model.safetensors plus copies of the folder's other files (config.json,
// tokenizer and preprocessor files). `destination` is created if needed and must not be
// `source`. Model::load(destination) then runs int8 by default for an int8 folder. Such a
// folder is this project's format: transformers cannot read int8 weights.
void convert_model(const std::string& source, const std::string& destination, const ConvertOptions& options = {});

}  // namespace xclip
