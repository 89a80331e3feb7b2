#include "pipeline/prepare.h"

#include <cstring>

#include "core/check.h"
#include "xclip/pipeline.h"

namespace xclip {

namespace pipeline {

Tensor preprocess_frames(VideoReader& reader, const std::vector<std::int64_t>& indices, const VideoProcessor& processor,
                         std::vector<std::int64_t>& used, const FrameSink& also) {
  Tensor out;  // shaped by the first frame: the processor's output size does not change
  std::size_t frame_floats = 0;
  const auto sink = [&](const std::vector<std::size_t>& rows, const std::uint8_t* rgb, int h, int w, double pts) {
    // The decoder's picture is read where it lies: it outlives this call, the view does not
    // (a copy was 6 MB per 1080p frame).
    const Tensor one = Tensor::borrow(DType::U8, {1, h, w, 3}, rgb, nullptr);
    const Tensor pixels = processor.preprocess_video(one);  // [1, 3, out_h, out_w]
    XCLIP_CHECK(!out.defined() || static_cast<std::size_t>(pixels.numel()) == frame_floats, FormatError)
        << reader.info().path << ": frames of different sizes give different model inputs (the processor does "
        << "not resize to a fixed size)";
    if (!out.defined()) {
      out = Tensor::empty(DType::F32,
                          {static_cast<std::int64_t>(indices.size()), pixels.dim(1), pixels.dim(2), pixels.dim(3)});
      frame_floats = static_cast<std::size_t>(pixels.numel());
    }
    for (std::size_t row : rows)
      std::memcpy(out.mutable_data<float>() + row * frame_floats, pixels.data<float>(), frame_floats * sizeof(float));
    if (also) also(rows, rgb, h, w, pts);
  };
  DecodedFrames decoded = reader.frames_at(indices, sink);
  used = std::move(decoded.indices);
  return out;
}

}  // namespace pipeline

PreparedClips prepare_video(VideoReader& reader, const SamplingOptions& sampling, const VideoProcessor& processor) {
  const SampledClips sampled = sample_clips(reader, sampling);
  PreparedClips out;
  out.repeated = sampled.repeated;
  for (const auto& indices : sampled.indices) {
    std::vector<std::int64_t> used;
    const Tensor frames = pipeline::preprocess_frames(reader, indices, processor, used);  // [T, 3, h, w]
    out.clips.push_back(frames.reshaped({1, frames.dim(0), frames.dim(1), frames.dim(2), frames.dim(3)}));
    out.indices.push_back(std::move(used));
  }
  return out;
}

}  // namespace xclip
