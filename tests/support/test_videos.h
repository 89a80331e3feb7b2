// Short H.264 clips made with the ffmpeg CLI from a lavfi source, once per scratch folder.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "support/test_paths.h"

namespace xclip::test {

// `folder` under the scratch dir; `source` a lavfi graph plus any extra input options.
inline std::string make_clip(const std::string& folder, const std::string& name, const std::string& source) {
  const std::string dir = scratch_dir() + "/" + folder;
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/" + name;
  if (!std::filesystem::exists(path)) {
    const std::string cmd = "ffmpeg -nostdin -loglevel error -y -f lavfi -i " + source +
                            " -c:v libx264 -g 10 -pix_fmt yuv420p " + path + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("ffmpeg failed: " + cmd);
  }
  return path;
}

}  // namespace xclip::test
