// JSON documents from untrusted files: parse errors become FormatError naming the source.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace xclip::io {

// Parses `text`; FormatError "<source>: not valid JSON: ..." on failure.
nlohmann::json parse_json(const std::string& text, const std::string& source);
// The same for a whole JSON object: FormatError if the top level is anything else.
nlohmann::json parse_json_object(const std::string& text, const std::string& source);
// read_text_file + parse_json_object.
nlohmann::json read_json_object(const std::string& path);

}  // namespace xclip::io
