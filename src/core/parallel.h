// The intra-op thread pool: OpenMP's team, shared with the GEMM library (oneDNN also runs
// on libgomp), so element-wise work and matrix products never compete for cores.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <thread>
#include <type_traits>

namespace xclip {

// The thread count asked for: n when positive, else XCLIP_NUM_THREADS, else OMP_NUM_THREADS,
// else all cores.
int requested_num_threads(int n);

// Sets the calling thread's count for parallel_for and GEMM (OpenMP's is per thread) and
// returns requested_num_threads(n). On the stale thread of a forked child (below) the thread
// runs alone whatever is asked.
int set_num_threads(int n);
int num_threads();

// True on the thread that called fork(), in the child. libgomp's team of that thread did not
// survive the fork: a parallel region there would wait for it forever.
bool on_stale_openmp_thread();

// Runs fn() here, or, on the stale thread of a forked child, on a new thread (whose OpenMP
// team is fresh) with `threads` threads, and waits for it. Exceptions reach the caller.
template <class Fn>
auto run_with_threads(int threads, Fn&& fn) -> decltype(fn()) {
  using Result = decltype(fn());
  if constexpr (std::is_void_v<Result>) {
    run_with_threads(threads, [&] {
      fn();
      return 0;
    });
  } else {
    if (!on_stale_openmp_thread()) return fn();
    Result result{};
    std::exception_ptr error;
    std::thread([&] {
      try {
        set_num_threads(threads);
        result = fn();
      } catch (...) {
        error = std::current_exception();
      }
    }).join();
    if (error) std::rethrow_exception(error);
    return result;
  }
}

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
