#include "model/vision_transformer.h"

#include <cstring>

#include "core/check.h"
#include "ops/layer_norm.h"

namespace xclip::model {

VisionTransformer::VisionTransformer(const WeightLoader& weights, const std::string& prefix,
                                     const XCLIPVisionConfig& c)
    : config_(c),
      embeddings_(weights, prefix + ".embeddings", c),
      pre_layernorm_(weights, prefix + ".pre_layernorm", c.hidden_size, c.layer_norm_eps),
      encoder_(weights, prefix + ".encoder", c),
      post_layernorm_(weights, prefix + ".post_layernorm", c.hidden_size, c.layer_norm_eps) {}

void VisionTransformer::validate(const Tensor& pv, bool interpolate, bool interpolate_frames) const {
  const XCLIPVisionConfig& c = config_;
  XCLIP_CHECK(pv.defined() && pv.dtype() == DType::F32 && pv.rank() == 5, InvalidArgument)
      << "pixel_values: expected F32 [videos, frames, channels, height, width], got " << pv.describe();
  XCLIP_CHECK(pv.dim(0) > 0, InvalidArgument) << "pixel_values: no videos in " << pv.describe();
  XCLIP_CHECK(pv.dim(1) == c.num_frames || (interpolate_frames && pv.dim(1) > 0), InvalidArgument)
      << "pixel_values: each video must have num_frames = " << c.num_frames << " frames (the MIT has one position "
      << "embedding per frame), got " << pv.dim(1) << " in " << pv.describe()
      << "; a model loaded with interpolate_frames (Python: from_pretrained(..., interpolate_frames=True), C++: "
      << "LoadOptions::interpolate_frames, CLI: --interpolate-frames) resizes the embeddings to other counts";
  XCLIP_CHECK(pv.dim(2) == c.num_channels, InvalidArgument)
      << "pixel_values: expected " << c.num_channels << " channels, got " << pv.dim(2) << " in " << pv.describe();
  const std::int64_t h = pv.dim(3), w = pv.dim(4);
  if (!interpolate) {
    XCLIP_CHECK(h == c.image_size && w == c.image_size, InvalidArgument)
        << "pixel_values: input image size (" << h << "*" << w << ") doesn't match model (" << c.image_size << "*"
        << c.image_size << "); resize the frames or enable interpolate_pos_encoding";
  }
  XCLIP_CHECK(h >= c.patch_size && w >= c.patch_size, InvalidArgument)
      << "pixel_values: frames of " << h << "x" << w << " are smaller than one " << c.patch_size << "px patch";
  XCLIP_CHECK(h <= 16384 && w <= 16384, InvalidArgument) << "pixel_values: frames of " << h << "x" << w << " are too large";
}

VisionOutput VisionTransformer::forward(const Tensor& pv, bool interpolate, RunState& s) const {
  validate(pv, interpolate, s.options.interpolate_frames);
  VisionOutput out;
  out.videos = pv.dim(0);
  out.frames = pv.dim(1);
  const std::int64_t h = pv.dim(3), w = pv.dim(4), p = config_.patch_size, d = config_.hidden_size;
  out.tokens = (h / p) * (w / p) + 1;
  const std::int64_t images = out.videos * out.frames, stride = out.tokens + 1;
  out.hidden = s.arena.alloc_floats(images * stride * d);
  // Message slots start at zero so that the whole buffer can be normalised row by row.
  for (std::int64_t f = 0; f < images; ++f) std::memset(out.hidden + (f * stride + out.tokens) * d, 0, sizeof(float) * d);

  embeddings_.forward(pv.data<float>(), images, h, w, interpolate, out.hidden, stride, s);
  if (s.tapping())
    s.tap("vision_model.embeddings", "out", RunState::copy_rows(out.hidden, images, out.tokens, stride, d, {images, out.tokens, d}));
  pre_layernorm_.apply(out.hidden, images * stride, out.hidden);
  if (s.tapping())
    s.tap("vision_model.pre_layernorm", "out",
          RunState::copy_rows(out.hidden, images, out.tokens, stride, d, {images, out.tokens, d}));
  encoder_.forward(out.hidden, out.videos, out.frames, out.tokens, s);

  out.pooler_output = Tensor::empty(DType::F32, {images, d});
  float* pooled = out.pooler_output.mutable_data<float>();
  for (std::int64_t f = 0; f < images; ++f) std::memcpy(pooled + f * d, out.hidden + f * stride * d, sizeof(float) * d);
  post_layernorm_.apply(pooled, images, pooled);
  s.tap("vision_model.post_layernorm", "out", out.pooler_output);
  return out;
}

Tensor VisionTransformer::last_hidden_state(const VisionOutput& out) const {
  const std::int64_t images = out.videos * out.frames, d = config_.hidden_size;
  return RunState::copy_rows(out.hidden, images, out.tokens, out.tokens + 1, d, {images, out.tokens, d});
}

}  // namespace xclip::model
