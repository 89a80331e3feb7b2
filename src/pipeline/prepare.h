// Frames decoded and reduced to the model's input as they come (prepare_video's core, also the
// index's): memory follows the processor's output size, not the source's resolution.
#pragma once

#include <cstdint>
#include <vector>

#include "xclip/processor.h"
#include "xclip/video.h"

namespace xclip::pipeline {

// F32 [indices.size(), 3, h, w]: frame `indices[k]` of `reader` preprocessed into row k.
// preprocess_video treats frames one by one, so the numbers equal preprocessing the decoded
// frames whole. `used` receives the frames actually decoded (the keyframes, in keyframe
// mode); `also`, when given, sees every decoded frame too (its full-size RGB), after it is
// preprocessed. Frames of a stream that changes resolution are each taken at their own size.
Tensor preprocess_frames(VideoReader& reader, const std::vector<std::int64_t>& indices, const VideoProcessor& processor,
                         std::vector<std::int64_t>& used, const FrameSink& also = {});

}  // namespace xclip::pipeline
