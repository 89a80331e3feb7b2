// Options structs of the public API; every member has a usable default.
#pragma once

#include <functional>
#include <string>

#include "xclip/hub.h"
#include "xclip/tensor.h"

namespace xclip {

enum class WeightType {
  Auto,  // as the folder stores them: int8 for a folder written by convert_model() whose int8
         // self-check passed (ConversionCheck), else F32
  F32,   // transformers' numbers (int8 weights of a converted folder are dequantized)
  Int8,  // linear layers of both towers, the MIT and the prompt generator in int8 (per-channel
         // weight scales, per-row activation scales): faster, approximate
  Bf16,  // the same layers in bfloat16 (float32 accumulation) on CPUs with AVX512-BF16;
         // UnsupportedError at load elsewhere
};

// The one spelling of each precision, printed by every front-end (CLI, server, Python, index
// files): "float32", "bfloat16", "int8" (and "auto").
const char* weight_type_name(WeightType type);
// Any accepted spelling ("float32", "f32", "fp32", "bfloat16", "bf16", "int8", "auto") ->
// WeightType; InvalidArgument naming the accepted ones otherwise.
WeightType parse_weight_type(const std::string& name);

// Which part of a checkpoint to build: the whole XCLIPModel, or one tower alone as
// transformers' XCLIPTextModel / XCLIPVisionModel (the rest of the folder is ignored).
enum class ModelPart { Full, TextModel, VisionModel };

struct LoadOptions {
  // Intra-op threads; 0 = XCLIP_NUM_THREADS or the number of cores.
  int num_threads = 0;
  WeightType weights = WeightType::Auto;
  ModelPart part = ModelPart::Full;
  // ForwardOptions::interpolate_frames for every call of this model's sessions.
  bool interpolate_frames = false;
  HubOptions hub;  // used when the path is a hub id
};

// Called with named intermediate results: module path as in transformers' named_modules()
// ("vision_model.encoder.layers.3"), a slot ("in0", "out", "weights") and the value.
using TapFn = std::function<void(const std::string& module, const std::string& slot, const Tensor&)>;

struct ForwardOptions {
  bool output_hidden_states = false;
  bool output_attentions = false;
  bool return_loss = false;
  // Resize the vision position embeddings bicubically to the input's patch grid.
  bool interpolate_pos_encoding = false;
  // Accept another frame count than the config's num_frames: the MIT's position embeddings
  // are resized linearly along time (as torch's interpolate, mode "linear",
  // align_corners=False). At num_frames the result is bit-identical to running without it.
  bool interpolate_frames = false;
  TapFn tap;  // optional, for debugging and golden tests
};

}  // namespace xclip
