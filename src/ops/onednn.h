// Shared oneDNN objects of the ops that use its primitives (int8 and bf16 matmuls).
#pragma once

#include <cstdint>

#include <dnnl.hpp>

namespace xclip::ops {

// The one CPU engine every primitive and memory object is made on.
dnnl::engine& cpu_engine();

// A dense row-major [rows, cols] matrix.
inline dnnl::memory::desc rows_desc(std::int64_t rows, std::int64_t cols, dnnl::memory::data_type type) {
  return dnnl::memory::desc({rows, cols}, type, dnnl::memory::format_tag::ab);
}

}  // namespace xclip::ops
