// Rewrites a model folder once so that later loads are fast: int8 linear weights stored
// ready to use (no quantization at load), or every weight as float32 safetensors (from
// pytorch_model.bin, F16/BF16 or an int8 folder).
#pragma once

#include <optional>
#include <string>

#include "xclip/options.h"

namespace xclip {

// What convert_model measured before writing an int8 folder: the float32 source and the
// int8 result on probe inputs (synthetic videos, a fixed list of 400 prompts).
struct ConversionCheck {
  double min_video_cosine = 0.0;  // over the probe videos' get_video_features
  double min_text_cosine = 0.0;   // over the prompts' get_text_features
  // Fraction of videos whose best prompt under int8 is float32's best, or one float32 scores
  // within 0.25 standard deviations (over the prompts) of it: a tie, not a changed answer.
  double top1_agreement = 0.0;
  int videos = 0, prompts = 0;
  double threshold = 0.0;       // the min_cosine it was held to
  double top1_threshold = 0.0;  // the min_top1 it was held to
  bool passed = false;          // both cosines >= threshold and top1_agreement >= top1_threshold
  // What the candidate's products ran on: "int8" (exact int32 kernels), "float32" (int8
  // weights dequantized, on a CPU whose int8 kernels are not exact: see int8_products_exact),
  // or "bf16". A check made in float32 says nothing of int8 kernels, so WeightType::Auto
  // trusts it only on CPUs that also multiply int8 weights in float32.
  std::string products = "int8";

  std::string to_json() const;
  static ConversionCheck from_json(const std::string& text, const std::string& source);
};

struct ConvertOptions {
  // Int8: the linear layers that LoadOptions::weights = Int8 runs in int8 are stored as I8
  // `<name>` [out, in] plus F32 `<name>_scale` [out] (symmetric, per output channel: the very
  // values an Int8 load of the source computes), plus I64 `<name>_outlier_channels` [n] and
  // F32 `<name>_outlier_columns` [out, n] for the input channels that were activation
  // outliers on the probe inputs (multiplied in float32 at run time); everything else F32.
  // F32: all float32.
  WeightType weights = WeightType::Int8;
  int num_threads = 0;  // for quantizing; 0 = XCLIP_NUM_THREADS or the number of cores
  // Int8 only: the int8 model's embeddings must stay within this cosine of float32's on the
  // probe inputs, else nothing is written (InvalidArgument with the numbers)...
  double min_cosine = 0.999;
  // ...and the zero-shot answer (the best of 400 prompts) must stay the same for this
  // fraction of the probe videos...
  double min_top1 = 0.99;
  // ...unless `force`: the folder is written with the failed check recorded, and
  // WeightType::Auto then runs it in float32.
  bool force = false;
};

// Reads the model folder `source` (as Model::load does, checking every tensor) and writes
// `destination`/model.safetensors plus copies of the folder's other files (config.json,
// tokenizer and preprocessor files). `destination` is created if needed and must not be
// `source`. Model::load(destination) then runs int8 by default for an int8 folder. Such a
// folder is this project's format: transformers cannot read int8 weights.
// Returns the int8 self-check (passed and empty for F32).
ConversionCheck convert_model(const std::string& source, const std::string& destination,
                              const ConvertOptions& options = {});

// The self-check convert_model runs, for any folder: `folder` loaded with `weights` (Int8:
// quantized at load or as converted; Bf16) against float32, on the same probe inputs.
ConversionCheck check_precision(const std::string& folder, WeightType weights, double min_cosine = 0.999,
                                double min_top1 = 0.99);

// Whether this CPU's int8 kernels give exact int32 products (oneDNN with VNNI: AVX512-VNNI,
// AMX). Without VNNI they add pairs of products in int16 with saturation, so int8 weights are
// multiplied in float32 after dequantization instead: the same weights, float32's speed.
bool int8_products_exact();

// The check recorded in `folder`/model.safetensors (metadata "xclip_check"), if any.
std::optional<ConversionCheck> read_conversion_check(const std::string& folder);

}  // namespace xclip
