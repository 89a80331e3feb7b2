// Shared by the benchmark programs: the 400 label prompts and repeated timing.
#pragma once

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

namespace xclip::bench {

// 20 verbs x 20 objects; processor_baseline.py and run_classify_bench.sh build the same list.
inline std::vector<std::string> labels400(const std::string& prefix = "a video of a person ") {
  const char* verbs[] = {"playing", "eating", "riding", "throwing", "cutting", "washing", "climbing", "juggling",
                         "painting", "carrying", "opening", "folding", "kicking", "pushing", "cleaning", "repairing",
                         "dancing with", "jumping over", "looking at", "talking about"};
  const char* nouns[] = {"a ball", "spaghetti", "a horse", "a frisbee", "vegetables", "a car", "a rock wall", "oranges",
                         "a fence", "boxes", "a door", "laundry", "a bottle", "a cart", "the kitchen", "a bicycle",
                         "a partner", "a rope", "the sky", "the weather"};
  std::vector<std::string> out;
  for (const char* v : verbs)
    for (const char* n : nouns) out.push_back(prefix + v + " " + n + ".");
  return out;
}

// Milliseconds of `repeats` runs of f, sorted ascending.
template <class F>
std::vector<double> sorted_times_ms(int repeats, F f) {
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t;
}

template <class F>
double median_ms(int repeats, F f) {
  const std::vector<double> t = sorted_times_ms(repeats, f);
  return t[t.size() / 2];
}

}  // namespace xclip::bench
