// Locations of shared fixtures and of the checkpoints synthesised into the build folder.
// Both come from CMake; XCLIP_SHARED_DIR / XCLIP_MODELS_DIR in the environment override them.
#pragma once

#include <cstdlib>
#include <string>

namespace xclip::test {

inline std::string shared_dir() {
  if (const char* env = std::getenv("XCLIP_SHARED_DIR")) return env;
  return XCLIP_TEST_SHARED_DIR;
}

inline std::string models_dir() {
  if (const char* env = std::getenv("XCLIP_MODELS_DIR")) return env;
  return XCLIP_TEST_MODELS_DIR;
}

inline std::string golden_dir() { return shared_dir() + "/golden"; }

inline std::string scratch_dir() { return XCLIP_TEST_SCRATCH_DIR; }

}  // namespace xclip::test
