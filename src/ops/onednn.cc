#include "ops/onednn.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <vector>

#include "core/parallel.h"

namespace xclip::ops {

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::matmul::primitive_desc weights_layout_probe(std::int64_t K, std::int64_t N, dnnl::memory::data_type src,
                                                  dnnl::memory::data_type weights, dnnl::memory::data_type dst) {
  const dnnl::memory::desc any({K, N}, weights, dnnl::memory::format_tag::any);
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(rows_desc(1, K, src), any, rows_desc(1, N, dst)),
                                      cpu_engine());
}

std::unique_ptr<dnnl::memory> reorder_linear_weights(const void* W, std::int64_t N, std::int64_t K,
                                                     dnnl::memory::data_type type, const dnnl::memory::desc& layout) {
  auto out = std::make_unique<dnnl::memory>(layout, cpu_engine());
  if (type == dnnl::memory::data_type::s8 && layout.data_type() == type &&
      pack_s8_weights(static_cast<const std::int8_t*>(W), N, K, layout, out->get_data_handle())) {
    return out;
  }
  dnnl::memory user({{K, N}, type, dnnl::memory::format_tag::ba}, cpu_engine(), const_cast<void*>(W));
  dnnl::stream stream(cpu_engine());
  dnnl::reorder(user, *out).execute(stream, user, *out);
  stream.wait();
  return out;
}

namespace {

// Where element (k, n) of a 2-D blocked layout lives is a sum of a part that depends on k only
// and a part that depends on n only (each block digit belongs to one dimension): the byte
// offsets of every k and every n, or nothing for a layout that is not plain blocked.
struct BlockedOffsets {
  std::vector<std::int64_t> of_k, of_n;  // over the padded dimensions
  std::int64_t k_run = 1;                // consecutive k that are consecutive bytes (the innermost block)
};

std::optional<BlockedOffsets> blocked_offsets(const dnnl_memory_desc_t& d) {
  if (d.ndims != 2 || d.format_kind != dnnl_blocked || d.offset0 != 0) return std::nullopt;
  const dnnl_blocking_desc_t& b = d.format_desc.blocking;
  std::array<std::int64_t, 2> block = {1, 1};  // each dimension's inner block
  for (int j = 0; j < b.inner_nblks; ++j) {
    if (b.inner_idxs[j] < 0 || b.inner_idxs[j] > 1 || b.inner_blks[j] <= 0) return std::nullopt;
    block[static_cast<std::size_t>(b.inner_idxs[j])] *= b.inner_blks[j];
  }
  BlockedOffsets offsets;
  if (b.inner_nblks > 0 && b.inner_idxs[b.inner_nblks - 1] == 0) offsets.k_run = b.inner_blks[b.inner_nblks - 1];
  if (b.inner_nblks == 0 && b.strides[0] == 1) offsets.k_run = d.padded_dims[0];
  for (int dim = 0; dim < 2; ++dim) {
    const std::int64_t padded = d.padded_dims[dim];
    if (padded <= 0 || padded % block[static_cast<std::size_t>(dim)] != 0) return std::nullopt;
    std::vector<std::int64_t>& of = dim == 0 ? offsets.of_k : offsets.of_n;
    of.resize(static_cast<std::size_t>(padded));
    for (std::int64_t x = 0; x < padded; ++x) {
      std::int64_t at = x / block[static_cast<std::size_t>(dim)] * b.strides[dim];
      // Inner digits, innermost block first: each multiplies by the blocks inside it.
      std::int64_t inside = 1, consumed = 1;
      for (int j = b.inner_nblks - 1; j >= 0; --j) {
        if (b.inner_idxs[j] == dim) {
          at += (x / consumed) % b.inner_blks[j] * inside;
          consumed *= b.inner_blks[j];
        }
        inside *= b.inner_blks[j];
      }
      of[static_cast<std::size_t>(x)] = at;
    }
  }
  return offsets;
}

}  // namespace

bool pack_s8_weights(const std::int8_t* W, std::int64_t N, std::int64_t K, const dnnl::memory::desc& layout,
                     void* out) {
  const dnnl_memory_desc_t& d = layout.data;
  if (d.data_type != dnnl_s8 || d.dims[0] != K || d.dims[1] != N) return false;
  const bool compensated = d.extra.flags == dnnl_memory_extra_flag_compensation_conv_s8s8 &&
                           d.extra.compensation_mask == 2;  // one value per output column
  if (d.extra.flags != 0 && !compensated) return false;
  const std::optional<BlockedOffsets> offsets = blocked_offsets(d);
  if (!offsets) return false;
  const std::int64_t padded_k = d.padded_dims[0], padded_n = d.padded_dims[1];
  const std::int64_t weight_bytes = padded_k * padded_n;
  const std::int64_t compensation_bytes = compensated ? padded_n * 4 : 0;
  if (static_cast<std::int64_t>(layout.get_size()) < weight_bytes + compensation_bytes) return false;
  auto* dst = static_cast<std::int8_t*>(out);
  if (padded_k != K || padded_n != N) std::memset(dst, 0, static_cast<std::size_t>(weight_bytes));
  std::int8_t* compensation = compensated ? dst + weight_bytes : nullptr;  // int32 each
  parallel_for(0, padded_n, 16, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t n = lo; n < hi; ++n) {
      std::int32_t sum = 0;
      if (n < N) {
        std::int8_t* column = dst + offsets->of_n[static_cast<std::size_t>(n)];
        const std::int8_t* row = W + n * K;
        for (std::int64_t k = 0; k < K; k += offsets->k_run) {
          const std::int64_t run = std::min(offsets->k_run, K - k);
          std::memcpy(column + offsets->of_k[static_cast<std::size_t>(k)], row + k, static_cast<std::size_t>(run));
        }
        for (std::int64_t k = 0; k < K; ++k) sum += row[k];
      }
      const std::int32_t value = -128 * sum;  // the s8·s8 product is computed as (x + 128)·W
      if (compensation != nullptr) std::memcpy(compensation + n * 4, &value, sizeof(value));
    }
  });
  return true;
}

}  // namespace xclip::ops
