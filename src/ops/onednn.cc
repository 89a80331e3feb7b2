#include "ops/onednn.h"

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
  dnnl::memory user({{K, N}, type, dnnl::memory::format_tag::ba}, cpu_engine(), const_cast<void*>(W));
  dnnl::stream stream(cpu_engine());
  dnnl::reorder(user, *out).execute(stream, user, *out);
  stream.wait();
  return out;
}

}  // namespace xclip::ops
