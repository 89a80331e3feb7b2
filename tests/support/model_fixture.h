// Helpers for tests on the synthesised tiny checkpoint: copy it, rewrite its tensors, run it.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "io/safetensors.h"
#include "support/test_paths.h"
#include "xclip/xclip.h"

namespace xclip::test {

using TensorList = std::vector<std::pair<std::string, Tensor>>;

inline std::string tiny_model_dir() { return models_dir() + "/tiny"; }

// All tensors of the tiny checkpoint, in file order.
inline TensorList tiny_tensors() {
  const io::SafetensorsFile f = io::SafetensorsFile::open(tiny_model_dir() + "/model.safetensors");
  TensorList out;
  for (const std::string& name : f.names()) out.emplace_back(name, f.get(name));
  return out;
}

// A fresh copy of the tiny model folder under the scratch dir, without model.safetensors.
inline std::string copy_tiny_folder(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(scratch_dir()) / ("model_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& entry : fs::directory_iterator(tiny_model_dir())) {
    if (entry.path().filename() == "model.safetensors" || !entry.is_regular_file()) continue;
    fs::copy_file(entry.path(), dir / entry.path().filename());
  }
  return dir.string();
}

// A copy of preset `preset` with outlier channels of `pattern`, made by
// tests/support/make_outlier_checkpoint.py under the scratch dir (throws when the script fails).
inline std::string outlier_folder(const std::string& preset, const std::string& pattern) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(scratch_dir()) / ("outliers_" + preset + "_" + pattern);
  const std::string cmd = "/usr/bin/python3 " + std::string(XCLIP_TEST_SOURCE_DIR) +
                          "/support/make_outlier_checkpoint.py " + models_dir() + "/" + preset + " " + pattern + " " +
                          dir.string();
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("fixture script failed: " + cmd);
  return dir.string();
}

// The message of the xclip::Error that loading `dir` throws (a test failure if it loads).
inline std::string expect_load_error(const std::string& dir) {
  try {
    Model::load(dir);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "loading " << dir << " should fail";
  return "";
}

// Golden inputs of the tiny preset: basic texts and the two processed videos.
struct TinyInputs {
  Tensor input_ids, attention_mask, pixel_values;
};

inline TinyInputs tiny_inputs() {
  const io::SafetensorsFile g = io::SafetensorsFile::open(golden_dir() + "/golden_tiny.safetensors");
  return {g.get("tiny/inputs/basic/input_ids"), g.get("tiny/inputs/basic/attention_mask"),
          g.get("tiny/inputs/pixel_values_2v")};
}

}  // namespace xclip::test
