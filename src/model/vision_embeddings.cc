#include "model/vision_embeddings.h"

#include <cmath>
#include <cstring>

#include "core/parallel.h"
#include "ops/bf16_linear.h"
#include "ops/interpolate.h"

namespace xclip::model {

VisionEmbeddings::VisionEmbeddings(const WeightLoader& weights, const std::string& prefix, const XCLIPVisionConfig& c)
    : hidden_size_(c.hidden_size),
      num_channels_(c.num_channels),
      patch_size_(c.patch_size),
      num_positions_((c.image_size / c.patch_size) * (c.image_size / c.patch_size) + 1),
      class_embedding_(weights.get(prefix + ".class_embedding", {c.hidden_size})),
      position_embedding_(weights.get(prefix + ".position_embedding.weight", {num_positions_, c.hidden_size})) {
  patch_embedding_.weight =
      weights.get(prefix + ".patch_embedding.weight", {c.hidden_size, c.num_channels, c.patch_size, c.patch_size});
  patch_embedding_.in = c.num_channels * c.patch_size * c.patch_size;
  patch_embedding_.out = c.hidden_size;
  // In reduced precision the patch embedding was the one large float32 product left (~7 % of
  // an int8 forward of 8 videos). bf16 rounds the pixels to 8 significant bits, finer than
  // the int8 layers' activations; convert keeps the weight float32, so folders do not change.
  if ((weights.int8() || weights.bf16()) && ops::bf16_supported())
    patch_embedding_.bf16 = ops::prepare_bf16(patch_embedding_.weight, patch_embedding_.out, patch_embedding_.in);
}

const float* VisionEmbeddings::positions_for(std::int64_t grid_h, std::int64_t grid_w, bool interpolate,
                                             RunState& s) const {
  const std::int64_t patches = grid_h * grid_w;
  // transformers keeps the table when the grid matches and the image is square.
  if (!interpolate || (patches == num_positions_ - 1 && grid_h == grid_w)) return position_embedding_;
  const std::int64_t d = hidden_size_;
  const std::int64_t side = static_cast<std::int64_t>(std::sqrt(static_cast<double>(num_positions_ - 1)));
  // [side·side, d] -> channels-first [d, side, side] -> resize -> back to [grid_h·grid_w, d].
  float* planes = s.arena.alloc_floats(d * side * side);
  for (std::int64_t p = 0; p < side * side; ++p)
    for (std::int64_t c = 0; c < d; ++c) planes[c * side * side + p] = position_embedding_[(1 + p) * d + c];
  float* resized = s.arena.alloc_floats(d * patches);
  ops::bicubic_resize(planes, d, side, side, resized, grid_h, grid_w);
  float* table = s.arena.alloc_floats((1 + patches) * d);
  std::memcpy(table, position_embedding_, sizeof(float) * d);
  for (std::int64_t p = 0; p < patches; ++p)
    for (std::int64_t c = 0; c < d; ++c) table[(1 + p) * d + c] = resized[c * patches + p];
  return table;
}

void VisionEmbeddings::forward(const float* pixels, std::int64_t images, std::int64_t height, std::int64_t width,
                               bool interpolate_pos_encoding, float* out, std::int64_t stride_tokens, RunState& s) const {
  ArenaScope scope(s.arena);
  const std::int64_t p = patch_size_, c = num_channels_, d = hidden_size_;
  const std::int64_t grid_h = height / p, grid_w = width / p, patches = grid_h * grid_w;
  const std::int64_t patch_len = c * p * p;

  // im2col: one row per patch, laid out (channel, y, x) like the conv weight.
  float* columns = s.arena.alloc_floats(images * patches * patch_len);
  parallel_for(0, images * patches, 16, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      const std::int64_t image = r / patches, gy = (r % patches) / grid_w, gx = r % grid_w;
      float* dst = columns + r * patch_len;
      for (std::int64_t ch = 0; ch < c; ++ch)
        for (std::int64_t y = 0; y < p; ++y)
          std::memcpy(dst + (ch * p + y) * p,
                      pixels + ((image * c + ch) * height + gy * p + y) * width + gx * p, sizeof(float) * p);
    }
  });
  float* embedded = s.arena.alloc_floats(images * patches * d);
  patch_embedding_.forward(columns, images * patches, patch_len, embedded);

  const float* positions = positions_for(grid_h, grid_w, interpolate_pos_encoding, s);
  parallel_for(0, images, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t image = lo; image < hi; ++image) {
      float* rows = out + image * stride_tokens * d;
      for (std::int64_t i = 0; i < d; ++i) rows[i] = class_embedding_[i] + positions[i];
      for (std::int64_t t = 0; t < patches; ++t) {
        const float* src = embedded + (image * patches + t) * d;
        const float* pos = positions + (1 + t) * d;
        float* dst = rows + (1 + t) * d;
        for (std::int64_t i = 0; i < d; ++i) dst[i] = src[i] + pos[i];
      }
    }
  });
}

}  // namespace xclip::model
