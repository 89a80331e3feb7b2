// The int8 weight packer against oneDNN's own reorder: byte for byte, on the blocked layouts
// oneDNN's int8 matmuls ask for (with their s8·s8 compensation) and on the layout the matmul
// picks on this CPU.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "ops/onednn.h"

namespace xclip::ops {
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

std::vector<std::int8_t> random_weights(std::int64_t N, std::int64_t K) {
  std::mt19937 rng(static_cast<unsigned>(N * 131 + K));
  std::uniform_int_distribution<int> value(-127, 127);
  std::vector<std::int8_t> W(static_cast<std::size_t>(N * K));
  for (auto& w : W) w = static_cast<std::int8_t>(value(rng));
  return W;
}

// The bytes oneDNN's reorder writes for W [N, K] in `layout`: the padded weights, then the
// compensation when the layout carries one (oneDNN leaves the rest of its extra room unset).
std::vector<std::int8_t> meaningful_bytes(const dnnl::memory& packed, const dnnl::memory::desc& layout) {
  const dnnl_memory_desc_t& d = layout.data;
  std::int64_t bytes = d.padded_dims[0] * d.padded_dims[1];
  if (d.extra.flags != 0) bytes += d.padded_dims[1] * 4;
  const auto* data = static_cast<const std::int8_t*>(packed.get_data_handle());
  return std::vector<std::int8_t>(data, data + bytes);
}

void expect_same_as_onednn(std::int64_t K, std::int64_t N, const dnnl::memory::desc& layout, const char* what) {
  SCOPED_TRACE(std::string(what) + " K=" + std::to_string(K) + " N=" + std::to_string(N));
  const std::vector<std::int8_t> W = random_weights(N, K);
  dnnl::memory theirs(layout, cpu_engine());
  dnnl::memory source({{K, N}, dt::s8, tag::ba}, cpu_engine(), const_cast<std::int8_t*>(W.data()));
  dnnl::stream stream(cpu_engine());
  try {
    dnnl::reorder(source, theirs).execute(stream, source, theirs);
  } catch (const dnnl::error& e) {
    FAIL() << "oneDNN cannot reorder into this layout: " << e.what();
  }
  stream.wait();
  dnnl::memory ours(layout, cpu_engine());
  std::memset(ours.get_data_handle(), 0x5A, layout.get_size());  // padding must be written, not found
  ASSERT_TRUE(pack_s8_weights(W.data(), N, K, layout, ours.get_data_handle())) << what << " K=" << K << " N=" << N;
  EXPECT_EQ(meaningful_bytes(ours, layout), meaningful_bytes(theirs, layout)) << what << " K=" << K << " N=" << N;
}

dnnl::memory::desc compensated(dnnl::memory::desc layout) {
  layout.data.extra.flags = dnnl_memory_extra_flag_compensation_conv_s8s8;
  layout.data.extra.compensation_mask = 2;
  return layout;
}

TEST(OnednnPackTest, BlockedLayoutsEqualOnednnsReorder) {
  for (const auto& [K, N] : {std::pair<std::int64_t, std::int64_t>{768, 3072}, {3072, 768}, {100, 37}, {64, 64}}) {
    expect_same_as_onednn(K, N, compensated(dnnl::memory::desc({K, N}, dt::s8, tag::BA16a64b4a)),
                          "BA16a64b4a + compensation");
    expect_same_as_onednn(K, N, dnnl::memory::desc({K, N}, dt::s8, tag::BA16a64b4a), "BA16a64b4a");
    expect_same_as_onednn(K, N, compensated(dnnl::memory::desc({K, N}, dt::s8, tag::BA16a32b4a)),
                          "BA16a32b4a + compensation");
    expect_same_as_onednn(K, N, dnnl::memory::desc({K, N}, dt::s8, tag::ab), "ab");
    expect_same_as_onednn(K, N, dnnl::memory::desc({K, N}, dt::s8, tag::ba), "ba");
  }
}

// The layout this CPU's int8 matmul asks for (the brgemm kernels of AVX-512 VNNI and AMX ask
// for a blocked one): packed here, byte-equal to oneDNN's reorder, wherever it is a blocked
// layout whose extras the packer knows; any other is refused, so oneDNN reorders it.
TEST(OnednnPackTest, ThisCpusMatmulLayoutIsPackedAsOnednnDoesOrRefused) {
  for (const auto& [K, N] : {std::pair<std::int64_t, std::int64_t>{768, 3072}, {3072, 768}, {768, 512}}) {
    const dnnl::matmul::primitive_desc probe = weights_layout_probe(K, N, dt::s8, dt::s8, dt::s32);
    const dnnl::memory::desc layout = probe.weights_desc();
    const dnnl_memory_desc_t& d = layout.data;
    const bool known_extras = d.extra.flags == 0 || (d.extra.flags == dnnl_memory_extra_flag_compensation_conv_s8s8 &&
                                                     d.extra.compensation_mask == 2);
    if (d.format_kind == dnnl_blocked && known_extras) {
      expect_same_as_onednn(K, N, layout, probe.impl_info_str());
    } else {
      std::vector<std::int8_t> W = random_weights(N, K), out(layout.get_size());
      EXPECT_FALSE(pack_s8_weights(W.data(), N, K, layout, out.data())) << probe.impl_info_str();
    }
  }
}

TEST(OnednnPackTest, RefusesLayoutsItDoesNotKnow) {
  const std::vector<std::int8_t> W = random_weights(8, 8);
  std::vector<std::int8_t> out(4096);
  dnnl::memory::desc wrong_shape({16, 8}, dt::s8, tag::ab);
  EXPECT_FALSE(pack_s8_weights(W.data(), 8, 8, wrong_shape, out.data()));
  dnnl::memory::desc other_extra = compensated(dnnl::memory::desc({8, 8}, dt::s8, tag::ab));
  other_extra.data.extra.flags |= dnnl_memory_extra_flag_scale_adjust;
  EXPECT_FALSE(pack_s8_weights(W.data(), 8, 8, other_extra, out.data()));
  dnnl::memory::desc per_tensor = compensated(dnnl::memory::desc({8, 8}, dt::s8, tag::ab));
  per_tensor.data.extra.compensation_mask = 1;
  EXPECT_FALSE(pack_s8_weights(W.data(), 8, 8, per_tensor, out.data()));
  EXPECT_FALSE(pack_s8_weights(W.data(), 8, 8, dnnl::memory::desc({8, 8}, dt::f32, tag::ab), out.data()));
}

}  // namespace
}  // namespace xclip::ops
