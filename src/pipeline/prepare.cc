#include <cstring>
#include <mutex>

#include "core/check.h"
#include "xclip/pipeline.h"

namespace xclip {

namespace {

// Clip of `indices`: every frame preprocessed as soon as it is decoded. preprocess_video
// treats frames one by one, so the numbers equal preprocessing the decoded clip whole.
Tensor prepare_clip(VideoReader& reader, const std::vector<std::int64_t>& indices, const VideoProcessor& processor,
                    std::vector<std::int64_t>& used) {
  Tensor clip;  // F32 [1, T, 3, out_h, out_w], shaped by the first frame
  std::size_t frame_floats = 0;
  // Each frame at its own size: a stream may change resolution (the processor's output size
  // does not).
  const auto sink = [&](const std::vector<std::size_t>& rows, const std::uint8_t* rgb, int h, int w, double) {
    Tensor one = Tensor::empty(DType::U8, {1, h, w, 3});
    std::memcpy(one.mutable_raw(), rgb, one.nbytes());
    const Tensor pixels = processor.preprocess_video(one);  // [1, 3, out_h, out_w]
    XCLIP_CHECK(!clip.defined() || static_cast<std::size_t>(pixels.numel()) == frame_floats, FormatError)
        << reader.info().path << ": frames of different sizes give different model inputs (the processor does "
        << "not resize to a fixed size)";
    if (!clip.defined()) {
      clip = Tensor::empty(DType::F32, {1, static_cast<std::int64_t>(indices.size()), pixels.dim(1), pixels.dim(2),
                                        pixels.dim(3)});
      frame_floats = static_cast<std::size_t>(pixels.numel());
    }
    for (std::size_t row : rows)
      std::memcpy(clip.mutable_data<float>() + row * frame_floats, pixels.data<float>(), frame_floats * sizeof(float));
  };
  DecodedFrames decoded = reader.frames_at(indices, sink);
  used = std::move(decoded.indices);
  return clip;
}

}  // namespace

PreparedClips prepare_video(VideoReader& reader, const SamplingOptions& sampling, const VideoProcessor& processor) {
  const SampledClips sampled = sample_clips(reader, sampling);
  PreparedClips out;
  out.repeated = sampled.repeated;
  for (const auto& indices : sampled.indices) {
    std::vector<std::int64_t> used;
    out.clips.push_back(prepare_clip(reader, indices, processor, used));
    out.indices.push_back(std::move(used));
  }
  return out;
}

}  // namespace xclip
