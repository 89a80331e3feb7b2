// Shared by `frames`, `classify` and `embed`: sampling options from the command line.
#pragma once

#include "args.h"
#include "xclip/video.h"

namespace xclip::cli {

// --frames, --sampling, --frame-sample-rate, --seed, --clips, --start, --end, --indices.
// `default_frames` 0 leaves the count to the model.
SamplingOptions parse_sampling_options(const Args& args, int default_frames);

// --seek exact|keyframe (default exact).
SeekMode parse_seek_mode(const Args& args);

}  // namespace xclip::cli
