// Per-call state threaded through the modules: scratch memory, the options, the tap callback
// and the named outputs being collected.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/arena.h"
#include "xclip/config.h"
#include "xclip/outputs.h"
#include "xclip/options.h"

namespace xclip::model {

struct RunState {
  Arena& arena;
  const ForwardOptions& options;
  NamedTensors* outputs = nullptr;  // where hidden states / attentions go, when requested

  bool tapping() const { return static_cast<bool>(options.tap); }
  bool want_hidden_states() const { return options.output_hidden_states && outputs != nullptr; }
  bool want_attentions() const { return options.output_attentions && outputs != nullptr; }

  // Owned copy of `outer` blocks of `rows` rows (taken from blocks `block_stride` rows apart)
  // of `cols` floats, shaped `shape`. Lets modules hand out [BT, S, D] views of buffers that
  // carry an extra token per frame.
  static Tensor copy_rows(const float* data, std::int64_t outer, std::int64_t rows, std::int64_t block_stride,
                          std::int64_t cols, std::vector<std::int64_t> shape);
  static Tensor copy(const float* data, std::vector<std::int64_t> shape);

  void tap(const std::string& module, const char* slot, const float* data, std::vector<std::int64_t> shape) const;
  void tap(const std::string& module, const char* slot, const Tensor& value) const;
  void record(const std::string& name, Tensor value) const;
};

}  // namespace xclip::model
