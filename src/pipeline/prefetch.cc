#include "pipeline/prefetch.h"

#include "xclip/pipeline.h"

namespace xclip::pipeline {

VideoPrefetcher::VideoPrefetcher(std::vector<std::string> paths, SamplingOptions sampling,
                                 const VideoProcessor& processor, std::size_t capacity, VideoOpenOptions open_options)
    : paths_(std::move(paths)),
      sampling_(std::move(sampling)),
      processor_(processor),
      open_options_(open_options),
      prefetcher_(capacity, [this](const Prefetcher<PreparedVideo>::Emit& emit) {
        for (std::size_t i = 0; i < paths_.size(); ++i)
          if (!emit(prepare(i))) return;
      }) {}

PreparedVideo VideoPrefetcher::prepare(std::size_t position) const {
  PreparedVideo v;
  v.position = position;
  v.path = paths_[position];
  try {
    VideoReader reader = VideoReader::open(v.path, open_options_);
    PreparedClips prepared = prepare_video(reader, sampling_, processor_);
    v.repeated = prepared.repeated;
    v.clips = std::move(prepared.clips);
    v.indices = std::move(prepared.indices);  // the keyframes used, in keyframe mode
  } catch (const std::exception& e) {  // reported with the video's result; the run goes on
    v.error = e.what();
    v.clips.clear();
    v.indices.clear();
  }
  return v;
}

}  // namespace xclip::pipeline
