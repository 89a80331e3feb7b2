#include "video_request.h"

#include <limits>

namespace xclip::server {

using json = nlohmann::json;

namespace {

constexpr int kMaxFormParts = 64;

// "a, b\nc" -> ["a", "b", "c"] (blank items dropped).
json split_list(const std::string& text) {
  json list = json::array();
  std::string item;
  for (char c : text + ",") {
    if (c == ',' || c == '\n') {
      const auto b = item.find_first_not_of(" \t\r"), e = item.find_last_not_of(" \t\r");
      if (b != std::string::npos) list.push_back(item.substr(b, e - b + 1));
      item.clear();
    } else {
      item += c;
    }
  }
  return list;
}

long long parse_integer(const std::string& text, const char* name) {
  try {
    std::size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size() && v >= std::numeric_limits<int>::min() && v <= std::numeric_limits<int>::max()) return v;
  } catch (const std::exception&) {
  }
  throw HttpError(422, "validation", std::string("\"") + name + "\" must be an integer in the int range");
}

double parse_number(const std::string& text, const char* name) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  throw HttpError(422, "validation", std::string("\"") + name + "\" must be a number");
}

std::vector<std::int64_t> indices_field(const json& options) {
  std::vector<std::int64_t> out;
  if (!options.contains("indices")) return out;
  const json& v = options["indices"];
  if (!v.is_array() || v.size() > 65536)
    throw HttpError(422, "validation", "\"indices\" must be a list of frame numbers");
  for (const json& i : v) {
    if (!i.is_number_integer()) throw HttpError(422, "validation", "\"indices\" must hold integers");
    out.push_back(i.get<std::int64_t>());
  }
  return out;
}

double seconds_field(const json& options, const char* name) {
  const double v = field_or<double>(options, name, -1.0);
  if (options.contains(name) && !(v >= 0))
    throw HttpError(422, "validation", std::string("\"") + name + "\" must be seconds >= 0");
  return v;
}

}  // namespace

VideoBody video_body_of(const std::string& content_type) {
  const std::string type = ascii_lower(content_type);
  if (type.rfind("multipart/form-data", 0) == 0) return VideoBody::Multipart;
  if (type.rfind("application/json", 0) == 0) return VideoBody::Json;
  return VideoBody::Raw;
}

VideoRequestReader::VideoRequestReader(VideoBody body, const VideoRequestLimits& limits, TempFile& upload)
    : body_(body), limits_(limits), upload_(upload) {}

void VideoRequestReader::begin_part(const std::string& name) {
  field_ = name;
  in_file_ = name == "video";
  if (in_file_ && ++videos_ > 1) throw HttpError(422, "validation", "the form has more than one \"video\" file");
  if (++parts_ > kMaxFormParts)
    throw HttpError(413, "payload_too_large", "the form has more than " + std::to_string(kMaxFormParts) + " parts");
}

void VideoRequestReader::append(const char* data, std::size_t size) {
  if (body_ == VideoBody::Json) {
    if (json_.size() + size > limits_.max_json_bytes)
      throw HttpError(413, "payload_too_large", "the JSON body is larger than the limit");
    json_.append(data, size);
  } else if (body_ == VideoBody::Raw || in_file_) {
    upload_.write(data, size, limits_.max_upload_bytes);
  } else {
    field_bytes_ += size;  // all text fields together, as one JSON body
    if (field_bytes_ > limits_.max_json_bytes)
      throw HttpError(413, "payload_too_large", "the form's text fields are larger than the JSON limit");
    fields_[field_].append(data, size);
  }
}

VideoRequest VideoRequestReader::finish(bool complete, const std::multimap<std::string, std::string>& query) {
  VideoRequest v;
  if (body_ == VideoBody::Json) {
    v.options = parse_json_body(json_, limits_.max_json_bytes);
    if (!v.options.is_object() || !v.options.contains("path") || !v.options["path"].is_string())
      throw HttpError(422, "validation", "a JSON request names the video as {\"path\": ...} (or upload it)");
    v.path = confine_path(v.options["path"].get<std::string>(), limits_.allow_dirs);
    return v;
  }
  if (body_ == VideoBody::Multipart) {
    if (!complete) throw HttpError(400, "bad_request", "the multipart body is incomplete (no closing boundary)");
    v.options = json::object();
    for (const auto& [name, value] : fields_) {
      if (name == "options") {  // a JSON object of options as one field
        const json parsed = parse_json_body(value, limits_.max_json_bytes);
        if (!parsed.is_object()) throw HttpError(422, "validation", "the \"options\" field must be a JSON object");
        v.options.update(parsed);
      } else {
        v.options[name] = value;
      }
    }
    if (upload_.size() == 0) throw HttpError(422, "validation", "no \"video\" file in the form");
  } else {
    if (upload_.size() == 0) throw HttpError(422, "validation", "the request has no video (empty body)");
    v.options = json::object();
    for (const auto& [name, value] : query) v.options[name] = value;
  }
  typed_form_fields(v.options);
  upload_.close();
  v.path = upload_.path();
  return v;
}

void typed_form_fields(json& options) {
  if (options.contains("labels") && options["labels"].is_string())
    options["labels"] = split_list(options["labels"].get<std::string>());
  for (const char* name : {"top", "frames", "clips", "seed", "frame_sample_rate"})
    if (options.contains(name) && options[name].is_string())
      options[name] = parse_integer(options[name].get<std::string>(), name);
  for (const char* name : {"start", "end"})
    if (options.contains(name) && options[name].is_string())
      options[name] = parse_number(options[name].get<std::string>(), name);
  if (options.contains("indices") && options["indices"].is_string()) {
    json list = json::array();
    for (const json& item : split_list(options["indices"].get<std::string>()))
      list.push_back(parse_integer(item.get<std::string>(), "indices"));
    options["indices"] = list;
  }
  for (const char* name : {"normalize"})
    if (options.contains(name) && options[name].is_string()) {
      const std::string v = ascii_lower(options[name].get<std::string>());
      if (v != "true" && v != "false" && v != "1" && v != "0")
        throw HttpError(422, "validation", std::string("\"") + name + "\" must be true or false");
      options[name] = v == "true" || v == "1";
    }
}

SamplingOptions sampling_of(const json& options, int model_frames, std::int64_t max_frames) {
  SamplingOptions s;
  s.num_frames = field_or<int>(options, "frames", model_frames);
  s.method = parse_sampling_method(field_or<std::string>(options, "sampling", "uniform"));
  s.frame_sample_rate = field_or<int>(options, "frame_sample_rate", 1);
  s.seed = static_cast<std::uint64_t>(field_or<int>(options, "seed", 0));
  s.clips = field_or<int>(options, "clips", 1);
  s.start = seconds_field(options, "start");
  s.end = seconds_field(options, "end");
  s.indices = indices_field(options);
  const std::int64_t per_view = s.indices.empty() ? s.num_frames : static_cast<std::int64_t>(s.indices.size());
  const std::int64_t views = s.indices.empty() ? s.clips : 1;
  if (per_view > 0 && views > 0 && per_view * views > max_frames)
    throw HttpError(422, "validation",
                    "the request decodes " + std::to_string(per_view * views) + " frames (" + std::to_string(views) +
                        " views of " + std::to_string(per_view) + "); this server allows " +
                        std::to_string(max_frames) + " per video (--max-frames)");
  return s;
}

SeekMode seek_of(const json& options) { return parse_seek_mode(field_or<std::string>(options, "seek", "exact")); }

}  // namespace xclip::server
