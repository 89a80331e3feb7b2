#include "core/parallel.h"

#include <cstdlib>
#include <string>
#include <thread>

namespace xclip {

void set_num_threads(int n) {
  if (n <= 0) {
    if (const char* env = std::getenv("XCLIP_NUM_THREADS")) n = std::atoi(env);
  }
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  omp_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace xclip
