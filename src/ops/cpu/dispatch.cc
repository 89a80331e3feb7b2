// Picks the kernel variant once: the best the CPU supports, or XCLIP_CPU_ISA if set.
#include <cstdio>
#include <cstdlib>
#include <atomic>
#include <mutex>

#include "core/check.h"
#include "ops/cpu/kernels.h"

namespace xclip::cpu {

namespace scalar {
extern const CpuKernels kTable;
}
namespace avx2 {
extern const CpuKernels kTable;
}
namespace avx512 {
extern const CpuKernels kTable;
}

namespace {

bool cpu_has(const char* feature) {
  __builtin_cpu_init();
  const std::string f = feature;
  if (f == "avx2") return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (f == "avx512")
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  return f == "scalar";
}

struct Variant {
  const char* name;
  const CpuKernels* table;
};
const Variant kVariants[] = {{"scalar", &scalar::kTable}, {"avx2", &avx2::kTable}, {"avx512", &avx512::kTable}};

const CpuKernels* choose() {
  if (const char* forced = std::getenv("XCLIP_CPU_ISA"); forced && *forced) {
    const CpuKernels* k = kernels_for_isa(forced);
    XCLIP_CHECK(k != nullptr, UnsupportedError)
        << "XCLIP_CPU_ISA=" << forced << " is not supported on this CPU (supported: scalar, avx2, avx512 where available)";
    return k;
  }
  const CpuKernels* best = &scalar::kTable;
  for (const Variant& v : kVariants)
    if (cpu_has(v.name)) best = v.table;
  return best;
}

std::atomic<const CpuKernels*>& active() {
  static std::atomic<const CpuKernels*> table{choose()};
  return table;
}

}  // namespace

const CpuKernels& kernels() { return *active().load(std::memory_order_acquire); }

void use_isa(const std::string& isa) {
  const CpuKernels* k = kernels_for_isa(isa);
  XCLIP_CHECK(k != nullptr, UnsupportedError) << "kernel variant '" << isa << "' is not supported on this CPU";
  active().store(k, std::memory_order_release);
}

std::vector<std::string> supported_isas() {
  std::vector<std::string> out;
  for (const Variant& v : kVariants)
    if (cpu_has(v.name)) out.push_back(v.name);
  return out;
}

const CpuKernels* kernels_for_isa(const std::string& isa) {
  for (const Variant& v : kVariants)
    if (isa == v.name && cpu_has(v.name)) return v.table;
  return nullptr;
}

}  // namespace xclip::cpu
