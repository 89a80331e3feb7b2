// What the index tests share: the synthesised models and small collections of generated
// videos (made with the ffmpeg CLI at test time, kept in the scratch folder between runs).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "support/test_paths.h"

namespace xclip::test {

inline std::string model_dir(const std::string& preset) {
  const std::string dir = models_dir() + "/" + preset;
  if (!std::filesystem::exists(dir + "/config.json")) throw std::runtime_error("synthesised checkpoint missing: " + dir);
  return dir;
}

inline void run_shell(const std::string& cmd) {
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("command failed: " + cmd);
}

// `count` videos of `seconds` each, every one with its own test pattern and motion.
inline std::string make_collection(const std::string& name, int count, int seconds) {
  const std::string dir = scratch_dir() + "/videos_" + name;
  std::filesystem::create_directories(dir);
  const char* sources[] = {"testsrc2", "smptebars", "rgbtestsrc", "mandelbrot", "life", "testsrc"};
  for (int i = 0; i < count; ++i) {
    const std::string path = dir + "/clip" + std::to_string(i) + ".mp4";
    if (std::filesystem::exists(path)) continue;
    const std::string src = std::string(sources[i % 6]) + "=size=96x64:rate=8";
    // The hue turns with time, so that no two windows show the same picture.
    run_shell("ffmpeg -nostdin -loglevel error -y -f lavfi -i " + src + " -t " + std::to_string(seconds) +
              " -vf hue=H=" + std::to_string(i) + "+t*0.7 -c:v libx264 -g 16 -pix_fmt yuv420p " + path);
  }
  return dir;
}

}  // namespace xclip::test
