// A video named by an HTTP request, and the fields that came with it. The three shapes a
// client may send -- multipart (one "video" file part and form fields), JSON {"path": ...}
// inside an allowed root, or the raw bytes as the body -- are read here from the pieces the
// HTTP library hands over, so the rules for hostile bodies are tested without a socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "http_guard.h"
#include "xclip/video.h"

namespace xclip::server {

struct VideoRequest {
  std::string path;        // the file to decode (an upload's temporary file, or a confined path)
  nlohmann::json options;  // the other fields (labels, template, top, normalize, frames, clips, ...)
};

struct VideoRequestLimits {
  std::size_t max_upload_bytes = 0;
  std::size_t max_json_bytes = 0;
  std::vector<std::string> allow_dirs;  // roots a JSON {"path"} may name
};

enum class VideoBody { Multipart, Json, Raw };

// Which shape a request's body has, from its Content-Type (already checked to be one the
// route accepts).
VideoBody video_body_of(const std::string& content_type);

// Fed the body in pieces as it arrives; each HttpError it throws is the answer (413 past a
// limit, 422 for a second "video" part, ...). The upload streams into `upload`.
class VideoRequestReader {
 public:
  VideoRequestReader(VideoBody body, const VideoRequestLimits& limits, TempFile& upload);

  // Multipart: a part named `name` starts.
  void begin_part(const std::string& name);
  // Bytes of the current part, of the JSON body or of the raw video.
  void append(const char* data, std::size_t size);
  // The body ended (`complete`: a multipart body reached its closing boundary); `query` holds
  // the URL's parameters (a raw body's options: ?labels=a,b&top=2).
  VideoRequest finish(bool complete, const std::multimap<std::string, std::string>& query = {});

 private:
  VideoBody body_;
  const VideoRequestLimits& limits_;
  TempFile& upload_;
  std::string field_;  // the multipart part being read
  bool in_file_ = false;
  int videos_ = 0, parts_ = 0;
  std::size_t field_bytes_ = 0;
  std::map<std::string, std::string> fields_;
  std::string json_;
};

// Form fields and query parameters are strings: "a, b" labels become a list, "top", "frames",
// "clips", "seed" and "frame_sample_rate" integers, "start" and "end" numbers, "indices"
// ("0,8,16") a list of integers; a value that does not parse is a 422 naming the field.
void typed_form_fields(nlohmann::json& options);

// The sampling options of a video request, as the CLI's and Python's (frames, sampling,
// frame_sample_rate, seed, clips, start, end, indices); `model_frames` is the count when
// "frames" is absent. A wrong type is a 422 naming the field; so are views that would decode
// more than `max_frames` frames in all (each view is a separate decode). The library checks
// the values themselves (sample_clips).
SamplingOptions sampling_of(const nlohmann::json& options, int model_frames, std::int64_t max_frames);
SeekMode seek_of(const nlohmann::json& options);

}  // namespace xclip::server
