// The AMX tile products against exact (int8) and double-precision (bf16) references, on row
// counts around the block size and the shapes of the X-CLIP towers. Instantiated only where
// amx_usable() (the kernels cannot run elsewhere); whether it is usable is itself checked
// against the CPU's flags on every machine.
#include "ops/cpu/amx.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "ops/convert.h"
#include "xclip/error.h"

namespace xclip::cpu {
namespace {

std::set<std::string> cpu_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::set<std::string> flags;
    for (std::string w; words >> w;) flags.insert(w);
    return flags;
  }
  return {};
}

// Where the CPU lists the flags, Linux must also grant this process the tile state (kernels
// before 5.16 cannot): asked here directly, apart from the library's own probe.
bool kernel_grants_tile_state() {
#if defined(__x86_64__) && defined(SYS_arch_prctl)
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

TEST(AmxUsableTest, FollowsTheCpuFlagsTheKernelAndTheSwitch) {
  const std::set<std::string> flags = cpu_flags();
  ASSERT_FALSE(flags.empty()) << "no flags line in /proc/cpuinfo";
  const bool has = flags.count("amx_tile") && flags.count("amx_int8") && flags.count("amx_bf16");
  const char* env = std::getenv("XCLIP_AMX");
  const bool switched_off = env && std::string(env) == "0";
  const bool granted = has && kernel_grants_tile_state();
  EXPECT_EQ(amx_usable(), granted && !switched_off)
      << "flags say AMX " << (has ? "present" : "absent") << ", the kernel " << (granted ? "grants" : "refuses")
      << " the tile state";
}

TEST(AmxShapeTest, PackingRefusesShapesOffTheTileGrid) {
  std::vector<std::int8_t> w(48 * 64), packed(w.size());
  EXPECT_THROW(amx_pack_s8(w.data(), 48, 64, packed.data()), InvalidArgument);
  EXPECT_THROW(amx_pack_s8(w.data(), 32, 96, packed.data()), InvalidArgument);
  std::vector<std::uint16_t> w16(32 * 48), packed16(w16.size());
  EXPECT_THROW(amx_pack_bf16(w16.data(), 32, 48, packed16.data()), InvalidArgument);
  EXPECT_TRUE(amx_s8_shape_ok(2304, 768));
  EXPECT_TRUE(amx_bf16_shape_ok(512, 2048));
  EXPECT_EQ(amx_padded_rows(1), 32);
  EXPECT_EQ(amx_padded_rows(408), 416);
}

struct Shape {
  std::int64_t M, K, N;
};

class AmxTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { set_num_threads(GetParam()); }
  void TearDown() override { set_num_threads(0); }
  const std::vector<Shape> shapes_ = {{1, 64, 32},    {31, 128, 64},  {32, 64, 96}, {33, 768, 64},
                                      {408, 768, 96}, {77, 512, 256}, {5, 3072, 32}};
};

// Collects the blocks a product hands over, checking each output element arrives once.
template <class T>
struct Collected {
  std::vector<T> c;
  std::vector<int> seen;
  Collected(std::int64_t M, std::int64_t N) : c(static_cast<std::size_t>(M * N)), seen(c.size(), 0) {}
  void take(std::int64_t N, std::int64_t row0, std::int64_t rows, std::int64_t col0, const T* block) {
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t j = 0; j < kAmxBlock; ++j) {
        c[(row0 + r) * N + col0 + j] = block[r * kAmxBlock + j];
        ++seen[(row0 + r) * N + col0 + j];  // blocks are disjoint: no two threads touch one element
      }
  }
};

TEST_P(AmxTest, Int8ProductsAreExact) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> value(-128, 127);
  for (const Shape& s : shapes_) {
    // Padding rows hold garbage on purpose: they must not reach the output.
    std::vector<std::int8_t> a(static_cast<std::size_t>(amx_padded_rows(s.M) * s.K)), w(s.N * s.K), packed(w.size());
    for (auto& v : a) v = static_cast<std::int8_t>(value(rng));
    for (auto& v : w) v = static_cast<std::int8_t>(value(rng) % 2 ? 127 : value(rng));  // many at the range's end
    amx_pack_s8(w.data(), s.N, s.K, packed.data());
    Collected<std::int32_t> out(s.M, s.N);
    amx_matmul_s8(a.data(), s.M, s.K, packed.data(), s.N,
                  [&](std::int64_t row0, std::int64_t rows, std::int64_t col0, const std::int32_t* block) {
                    out.take(s.N, row0, rows, col0, block);
                  });
    for (std::int64_t m = 0; m < s.M; ++m)
      for (std::int64_t n = 0; n < s.N; ++n) {
        std::int64_t exact = 0;
        for (std::int64_t k = 0; k < s.K; ++k) exact += std::int64_t{a[m * s.K + k]} * w[n * s.K + k];
        ASSERT_EQ(out.seen[m * s.N + n], 1) << "M=" << s.M << " K=" << s.K << " N=" << s.N << " at " << m << "," << n;
        ASSERT_EQ(out.c[m * s.N + n], exact) << "M=" << s.M << " K=" << s.K << " N=" << s.N << " at " << m << "," << n;
      }
  }
}

TEST_P(AmxTest, Bf16ProductsMatchDoublePrecision) {
  std::mt19937 rng(6);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (const Shape& s : shapes_) {
    std::vector<float> af(static_cast<std::size_t>(amx_padded_rows(s.M) * s.K)), wf(s.N * s.K);
    for (auto& v : af) v = dist(rng);
    for (auto& v : wf) v = dist(rng) * 0.05f;
    wf[0] = 300.0f;  // one large weight: the products' float32 sums must not lose it
    std::vector<std::uint16_t> a(af.size()), w(wf.size()), packed(wf.size());
    ops::f32_to_bf16(af.data(), a.data(), static_cast<std::int64_t>(af.size()));
    ops::f32_to_bf16(wf.data(), w.data(), static_cast<std::int64_t>(wf.size()));
    amx_pack_bf16(w.data(), s.N, s.K, packed.data());
    std::vector<float> ar(a.size()), wr(w.size());  // the rounded values, exactly
    ops::bf16_to_f32(a.data(), ar.data(), static_cast<std::int64_t>(a.size()));
    ops::bf16_to_f32(w.data(), wr.data(), static_cast<std::int64_t>(w.size()));
    Collected<float> out(s.M, s.N);
    amx_matmul_bf16(a.data(), s.M, s.K, packed.data(), s.N,
                    [&](std::int64_t row0, std::int64_t rows, std::int64_t col0, const float* block) {
                      out.take(s.N, row0, rows, col0, block);
                    });
    for (std::int64_t m = 0; m < s.M; ++m)
      for (std::int64_t n = 0; n < s.N; ++n) {
        double want = 0, magnitude = 0;
        for (std::int64_t k = 0; k < s.K; ++k) {
          want += double{ar[m * s.K + k]} * wr[n * s.K + k];
          magnitude += std::abs(double{ar[m * s.K + k]} * wr[n * s.K + k]);
        }
        ASSERT_EQ(out.seen[m * s.N + n], 1) << "M=" << s.M << " K=" << s.K << " N=" << s.N << " at " << m << "," << n;
        // bf16 × bf16 products are exact in float32; only the float32 sums round, each by at
        // most 2^-24 of a partial sum (the bound of K recursive additions). A wrong layout or
        // block is off by whole products.
        ASSERT_NEAR(out.c[m * s.N + n], want, static_cast<double>(s.K) * 0x1p-24 * magnitude)
            << "M=" << s.M << " K=" << s.K << " N=" << s.N << " at " << m << "," << n;
      }
  }
}

std::vector<int> thread_counts_where_amx_runs() { return amx_usable() ? std::vector<int>{1, 2} : std::vector<int>{}; }

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(AmxTest);
INSTANTIATE_TEST_SUITE_P(Threads, AmxTest, ::testing::ValuesIn(thread_counts_where_amx_runs()));

}  // namespace
}  // namespace xclip::cpu
