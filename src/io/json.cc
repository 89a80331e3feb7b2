#include "io/json.h"

#include "core/check.h"
#include "io/mmap_file.h"

namespace xclip::io {

nlohmann::json parse_json(const std::string& text, const std::string& source) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    XCLIP_FAIL(FormatError) << source << ": not valid JSON: " << e.what();
  }
  __builtin_unreachable();  // the failure above always throws
}

nlohmann::json parse_json_object(const std::string& text, const std::string& source) {
  nlohmann::json j = parse_json(text, source);
  XCLIP_CHECK(j.is_object(), FormatError) << source << ": top level must be a JSON object";
  return j;
}

nlohmann::json read_json_object(const std::string& path) { return parse_json_object(read_text_file(path), path); }

}  // namespace xclip::io
