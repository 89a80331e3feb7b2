#include "ops/cpu/amx.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/check.h"
#include "core/parallel.h"

#if defined(__AMX_TILE__) && defined(__AMX_INT8__) && defined(__AMX_BF16__)
#define XCLIP_HAVE_AMX 1
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace xclip::cpu {

namespace {

// Both element types fill a tile row with 64 bytes and each output column with 4 bytes per
// tile row (4 int8 or 2 bf16 of K), so layout and loops are shared, in bytes.
constexpr std::int64_t kChunkBytes = 64;   // of one A row per tile, = one tile row
constexpr std::int64_t kTileBytes = 1024;  // 16 rows × 64 bytes
constexpr std::int64_t kTileCols = 16;

// Packs W's rows (nn.Linear output columns, `row_bytes` each) as amx.h describes: per tile,
// a 16×16 transpose of 4-byte groups, done through a local copy of the 16 source segments
// (contiguous reads, then fixed-size loops the compiler unrolls).
void pack_bytes(const std::uint8_t* W, std::int64_t N, std::int64_t row_bytes, std::uint8_t* packed) {
  const std::int64_t chunks = row_bytes / kChunkBytes;
  parallel_for(0, N / kTileCols, 4, [&](std::int64_t lo, std::int64_t hi) {
    std::uint32_t in[kTileCols][16], out[16][kTileCols];
    for (std::int64_t t = lo; t < hi; ++t)
      for (std::int64_t kc = 0; kc < chunks; ++kc) {
        for (std::int64_t col = 0; col < kTileCols; ++col)
          std::memcpy(in[col], W + (t * kTileCols + col) * row_bytes + kc * kChunkBytes, kChunkBytes);
        for (int r = 0; r < 16; ++r)
          for (int col = 0; col < kTileCols; ++col) out[r][col] = in[col][r];
        std::memcpy(packed + (t * chunks + kc) * kTileBytes, out, kTileBytes);
      }
  });
}

#ifdef XCLIP_HAVE_AMX

bool probe_amx() {
  const char* env = std::getenv("XCLIP_AMX");
  if (env && std::string(env) == "0") return false;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool bf16 = d & (1u << 22), tile = d & (1u << 24), int8 = d & (1u << 25);
  if (!(bf16 && tile && int8)) return false;
  // Linux hands out the 8 KiB tile state only to processes that ask (ARCH_REQ_XCOMP_PERM for
  // XFEATURE_XTILEDATA); the permission covers every thread of the process.
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

// Palette 1, tiles 0–7 all 16 rows × 64 bytes: 0–3 the 2×2 output tiles of a block, 4–5 the
// A tiles of its two row halves, 6–7 the B tiles of its two column halves.
void configure_tiles() {
  struct alignas(64) Config {
    std::uint8_t palette = 1, start_row = 0, reserved[14] = {};
    std::uint16_t colsb[16] = {};
    std::uint8_t rows[16] = {};
  } config;
  for (int t = 0; t < 8; ++t) {
    config.colsb[t] = 64;
    config.rows[t] = 16;
  }
  _tile_loadconfig(&config);
}

// One 32×32 block of C over the whole of K: a (the block's first row, `a_stride` bytes apart)
// times two packed 16-column panels b0, b1; c receives 32 rows of 32 4-byte values.
template <bool kBf16>
void multiply_block(const std::uint8_t* a, std::int64_t a_stride, const std::uint8_t* b0, const std::uint8_t* b1,
                    std::int64_t chunks, void* c) {
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  const std::uint8_t* a1 = a + 16 * a_stride;
  for (std::int64_t kc = 0; kc < chunks; ++kc) {
    _tile_loadd(4, a + kc * kChunkBytes, a_stride);
    _tile_loadd(5, a1 + kc * kChunkBytes, a_stride);
    _tile_loadd(6, b0 + kc * kTileBytes, 64);
    _tile_loadd(7, b1 + kc * kTileBytes, 64);
    if constexpr (kBf16) {
      _tile_dpbf16ps(0, 4, 6);
      _tile_dpbf16ps(1, 4, 7);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    } else {
      _tile_dpbssd(0, 4, 6);
      _tile_dpbssd(1, 4, 7);
      _tile_dpbssd(2, 5, 6);
      _tile_dpbssd(3, 5, 7);
    }
  }
  auto* out = static_cast<std::uint8_t*>(c);
  _tile_stored(0, out, 128);
  _tile_stored(1, out + 64, 128);
  _tile_stored(2, out + 16 * 128, 128);
  _tile_stored(3, out + 16 * 128 + 64, 128);
}

// Work items are (row chunk, column group) pairs: a chunk's A rows and a group's packed
// columns stay in L2 while the blocks between them are multiplied, row block by row block,
// each across the group's columns: a thread's output rows are then written left to right,
// 1 KiB at a time, a stream the store prefetcher follows. Column panel by column panel (32
// rows of 128 bytes, 6 KiB apart) took 1.1–2× as long on the 3,264- and 5,200-row products
// and up to 1.4× on 408 rows (bench/cpu/amx_products_bench.cc, alternating builds).
template <bool kBf16, class Sink>
void multiply(const std::uint8_t* A, std::int64_t M, std::int64_t row_bytes, const std::uint8_t* packed, std::int64_t N,
              const Sink& sink) {
  const std::int64_t chunks = row_bytes / kChunkBytes;
  const std::int64_t m_blocks = amx_padded_rows(M) / kAmxBlock, n_blocks = N / kAmxBlock;
  const std::int64_t rows_per_item = std::min<std::int64_t>(m_blocks, 8);
  const std::int64_t row_items = (m_blocks + rows_per_item - 1) / rows_per_item;
  // Columns per item: 8 blocks, fewer until there are ~8 items per thread (a thread's last
  // item is what the others may wait for).
  std::int64_t cols_per_item = std::min<std::int64_t>(n_blocks, 8);
  while (cols_per_item > 1 && row_items * ((n_blocks + cols_per_item - 1) / cols_per_item) < 8 * num_threads())
    cols_per_item /= 2;
  const std::int64_t col_items = (n_blocks + cols_per_item - 1) / cols_per_item;
  const std::int64_t items = row_items * col_items;
  // Threads take the next item as they finish one: on a shared VM one core is often slower
  // than the other for a while, and fixed halves left the faster one waiting at the end.
  std::atomic<std::int64_t> next{0};
  parallel_for(0, std::min<std::int64_t>(items, num_threads()), 1, [&](std::int64_t, std::int64_t) {
    configure_tiles();
    alignas(64) std::uint8_t c[kAmxBlock * kAmxBlock * 4];
    for (std::int64_t item = next.fetch_add(1, std::memory_order_relaxed); item < items;
         item = next.fetch_add(1, std::memory_order_relaxed)) {
      const std::int64_t mb0 = item / col_items * rows_per_item, nb0 = item % col_items * cols_per_item;
      const std::int64_t mb1 = std::min(m_blocks, mb0 + rows_per_item), nb1 = std::min(n_blocks, nb0 + cols_per_item);
      for (std::int64_t mb = mb0; mb < mb1; ++mb) {
        const std::int64_t row0 = mb * kAmxBlock;
        for (std::int64_t nb = nb0; nb < nb1; ++nb) {
          const std::uint8_t* b0 = packed + 2 * nb * chunks * kTileBytes;
          multiply_block<kBf16>(A + row0 * row_bytes, row_bytes, b0, b0 + chunks * kTileBytes, chunks, c);
          sink(row0, std::min(kAmxBlock, M - row0), nb * kAmxBlock, c);
        }
      }
    }
    _tile_release();
  });
}

#endif  // XCLIP_HAVE_AMX

}  // namespace

bool amx_usable() {
#ifdef XCLIP_HAVE_AMX
  static const bool usable = probe_amx();
  return usable;
#else
  return false;
#endif
}

bool amx_s8_shape_ok(std::int64_t N, std::int64_t K) { return N > 0 && K > 0 && N % 32 == 0 && K % 64 == 0; }
bool amx_bf16_shape_ok(std::int64_t N, std::int64_t K) { return N > 0 && K > 0 && N % 32 == 0 && K % 32 == 0; }

void amx_pack_s8(const std::int8_t* W, std::int64_t N, std::int64_t K, std::int8_t* packed) {
  XCLIP_CHECK(amx_s8_shape_ok(N, K), InvalidArgument) << "AMX int8 packing needs N % 32 == 0 and K % 64 == 0";
  pack_bytes(reinterpret_cast<const std::uint8_t*>(W), N, K, reinterpret_cast<std::uint8_t*>(packed));
}

void amx_pack_bf16(const std::uint16_t* W, std::int64_t N, std::int64_t K, std::uint16_t* packed) {
  XCLIP_CHECK(amx_bf16_shape_ok(N, K), InvalidArgument) << "AMX bf16 packing needs N % 32 == 0 and K % 32 == 0";
  pack_bytes(reinterpret_cast<const std::uint8_t*>(W), N, 2 * K, reinterpret_cast<std::uint8_t*>(packed));
}

void amx_matmul_s8(const std::int8_t* A, std::int64_t M, std::int64_t K, const std::int8_t* packed, std::int64_t N,
                   const AmxS32Sink& sink) {
  XCLIP_CHECK(amx_usable() && amx_s8_shape_ok(N, K), UnsupportedError) << "AMX int8 product unavailable here";
#ifdef XCLIP_HAVE_AMX
  multiply<false>(reinterpret_cast<const std::uint8_t*>(A), M, K, reinterpret_cast<const std::uint8_t*>(packed), N,
                  [&](std::int64_t row0, std::int64_t rows, std::int64_t col0, const std::uint8_t* c) {
                    sink(row0, rows, col0, reinterpret_cast<const std::int32_t*>(c));
                  });
#else
  (void)A, (void)M, (void)packed, (void)sink;
#endif
}

void amx_matmul_bf16(const std::uint16_t* A, std::int64_t M, std::int64_t K, const std::uint16_t* packed,
                     std::int64_t N, const AmxF32Sink& sink) {
  XCLIP_CHECK(amx_usable() && amx_bf16_shape_ok(N, K), UnsupportedError) << "AMX bf16 product unavailable here";
#ifdef XCLIP_HAVE_AMX
  multiply<true>(reinterpret_cast<const std::uint8_t*>(A), M, 2 * K, reinterpret_cast<const std::uint8_t*>(packed), N,
                 [&](std::int64_t row0, std::int64_t rows, std::int64_t col0, const std::uint8_t* c) {
                   sink(row0, rows, col0, reinterpret_cast<const float*>(c));
                 });
#else
  (void)A, (void)M, (void)packed, (void)sink;
#endif
}

}  // namespace xclip::cpu
