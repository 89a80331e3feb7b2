#include "ops/onednn.h"

namespace xclip::ops {

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

}  // namespace xclip::ops
