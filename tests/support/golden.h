// The golden references of ../shared/golden, read once per test process. A missing file
// throws, so the test that needs it fails loudly.
#pragma once

#include <fstream>
#include <map>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "support/test_paths.h"

namespace xclip::test {

inline const nlohmann::json& golden_index() {
  static const nlohmann::json index = [] {
    const std::string path = golden_dir() + "/index.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("golden index missing: " + path);
    return nlohmann::json::parse(in);
  }();
  return index;
}

// golden_dir()/<name>, opened on first use.
inline const io::SafetensorsFile& golden_file(const std::string& name) {
  static std::map<std::string, io::SafetensorsFile> files;
  auto it = files.find(name);
  if (it == files.end()) it = files.emplace(name, io::SafetensorsFile::open(golden_dir() + "/" + name)).first;
  return it->second;
}

}  // namespace xclip::test
