// Shared oneDNN objects of the ops that use its primitives (int8 and bf16 matmuls).
#pragma once

#include <cstdint>
#include <dnnl.hpp>
#include <memory>

namespace xclip::ops {

// The one CPU engine every primitive and memory object is made on.
dnnl::engine& cpu_engine();

// A dense row-major [rows, cols] matrix.
inline dnnl::memory::desc rows_desc(std::int64_t rows, std::int64_t cols, dnnl::memory::data_type type) {
  return dnnl::memory::desc({rows, cols}, type, dnnl::memory::format_tag::ab);
}

// A one-row matmul x[1, K] · W[K, N] with the weights' layout left to oneDNN: its
// weights_desc() is the blocked layout to convert nn.Linear weights into once (the same
// for every row count on the CPUs seen), its impl_info_str() the kernel oneDNN picked.
dnnl::matmul::primitive_desc weights_layout_probe(std::int64_t K, std::int64_t N, dnnl::memory::data_type src,
                                                  dnnl::memory::data_type weights, dnnl::memory::data_type dst);

// nn.Linear weights W [N, K] row-major of `type` (= [K, N] in "ba" order) reordered into
// `layout`; the reorder converts the element type on the way (and, for s8 into an s8·s8
// matmul layout, computes the compensation that product needs).
std::unique_ptr<dnnl::memory> reorder_linear_weights(const void* W, std::int64_t N, std::int64_t K,
                                                     dnnl::memory::data_type type, const dnnl::memory::desc& layout);

// W [N, K] int8 row-major written into `layout` by this library instead of oneDNN's reorder
// (whose generic s8 path runs at ~300 MB/s: ~0.3 s of every int8 process start for
// base-patch32): any 2-D blocked layout, with or without the s8·s8 compensation oneDNN appends
// (one int32 per output column, -128 · Σ_k W[n, k], after the padded weights). Returns false,
// writing nothing, for a layout it does not know (the caller then reorders with oneDNN);
// where it returns true the bytes equal oneDNN's (tests/ops/onednn_pack_test.cc).
bool pack_s8_weights(const std::int8_t* W, std::int64_t N, std::int64_t K, const dnnl::memory::desc& layout,
                     void* out);

}  // namespace xclip::ops
