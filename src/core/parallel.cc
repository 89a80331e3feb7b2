#include "core/parallel.h"

#include <pthread.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

namespace xclip {

namespace {

// After fork() only the forking thread lives on in the child, but libgomp still believes
// that thread's team of workers exists: its next parallel region waits for them forever
// (GCC's libgomp is not fork-safe). Other threads of the child get fresh teams. So the
// child remembers which thread that was and keeps OpenMP off it.
std::atomic<bool> g_forked{false};
pthread_t g_forked_thread;

void after_fork_in_child() {
  g_forked_thread = pthread_self();
  g_forked.store(true);
  omp_set_num_threads(1);  // a region of one thread never touches the stale team
}

void watch_for_fork() {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(nullptr, nullptr, after_fork_in_child); });
}

int positive_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return 0;
  // OMP_NUM_THREADS may list one count per nesting level ("4,2"): the first is ours.
  const int n = std::atoi(value);
  return n > 0 ? n : 0;
}

}  // namespace

int requested_num_threads(int n) {
  if (n <= 0) n = positive_env("XCLIP_NUM_THREADS");
  if (n <= 0) n = positive_env("OMP_NUM_THREADS");
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return n;
}

int set_num_threads(int n) {
  watch_for_fork();
  n = requested_num_threads(n);
  omp_set_num_threads(on_stale_openmp_thread() ? 1 : n);
  return n;
}

int num_threads() { return omp_get_max_threads(); }

bool on_stale_openmp_thread() { return g_forked.load() && pthread_equal(pthread_self(), g_forked_thread); }

}  // namespace xclip
