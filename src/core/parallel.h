// The intra-op thread pool: OpenMP's team, shared with the GEMM library (oneDNN also runs
// on libgomp), so element-wise work and matrix products never compete for cores.
#pragma once

#include <algorithm>
#include <cstdint>

#include <omp.h>

namespace xclip {

// Threads used by parallel_for and GEMM. 0 = XCLIP_NUM_THREADS or all cores.
void set_num_threads(int n);
int num_threads();

// Calls fn(lo, hi) over [begin, end) split in contiguous chunks, one per thread. Runs inline
// when the range is below `grain` or when already inside a parallel region (no nesting).
// fn must not throw.
template <class Fn>
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain, Fn&& fn) {
  const std::int64_t n = end - begin;
  if (n <= 0) return;
  const int threads = omp_get_max_threads();
  if (n <= std::max<std::int64_t>(grain, 1) || threads <= 1 || omp_in_parallel()) {
    fn(begin, end);
    return;
  }
  const std::int64_t chunks = std::min<std::int64_t>(threads, (n + grain - 1) / std::max<std::int64_t>(grain, 1));
#pragma omp parallel num_threads(static_cast<int>(chunks))
  {
    const std::int64_t t = omp_get_thread_num();
    const std::int64_t nt = omp_get_num_threads();
    const std::int64_t lo = begin + n * t / nt;
    const std::int64_t hi = begin + n * (t + 1) / nt;
    if (lo < hi) fn(lo, hi);
  }
}

}  // namespace xclip
