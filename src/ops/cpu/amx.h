// Matrix products on AMX tiles (Intel Sapphire Rapids and later): int8·int8 → int32 and
// bf16·bf16 → float32, for the reduced-precision linear layers. On the 2-core Xeon measured,
// oneDNN 2.6's AMX kernels ran the 400-row products of one video at 130–310 GOP/s in most
// runs (about its float32 sgemm's speed) and these 32×32 blocks 1.4–3.5× faster; in one run
// oneDNN was as fast as they (bench/cpu/amx_products_bench.cc compares both). Since threads
// take work items from a shared counter, they also beat oneDNN on the 3,264- and 5,200-row
// products of 8 videos and 400 prompts (1.1–2.5× int8, 0.9–2.7× bf16, three runs), so they
// take products of every size. Each finished block goes straight to a caller's epilogue
// while it is still in cache: large products need no int32 buffer or second pass either.
#pragma once

#include <cstdint>
#include <functional>

namespace xclip::cpu {

// True when the CPU has AMX tiles with int8 and bf16 products, the kernel lets this process
// use the tile registers, and XCLIP_AMX is not "0" (the switch that compares with oneDNN).
bool amx_usable();

// Rows and columns of one output block; the A operand's rows are read in whole blocks, so
// callers allocate round_up(M, kAmxBlock) rows (the extra ones are ignored in the output).
constexpr std::int64_t kAmxBlock = 32;
inline std::int64_t amx_padded_rows(std::int64_t M) { return (M + kAmxBlock - 1) / kAmxBlock * kAmxBlock; }

// Whether W [N, K] can be packed: N a multiple of 32, K of 64 (int8) or 32 (bf16).
bool amx_s8_shape_ok(std::int64_t N, std::int64_t K);
bool amx_bf16_shape_ok(std::int64_t N, std::int64_t K);

// W [N, K] row-major (nn.Linear) into the tile layout, N·K elements: per 16 output columns
// and per K chunk (64 int8 / 32 bf16), one 1 KiB tile whose row r holds, for each column, the
// 4 int8 (2 bf16) inputs 4r.. (2r..) of the chunk.
void amx_pack_s8(const std::int8_t* W, std::int64_t N, std::int64_t K, std::int8_t* packed);
void amx_pack_bf16(const std::uint16_t* W, std::int64_t N, std::int64_t K, std::uint16_t* packed);

// Receives one finished block: output rows [row0, row0 + rows) (rows ≤ 32, padding rows left
// out) and columns [col0, col0 + 32); values c[r · 32 + j]. Called from several threads at
// once, for disjoint blocks.
using AmxS32Sink = std::function<void(std::int64_t row0, std::int64_t rows, std::int64_t col0, const std::int32_t* c)>;
using AmxF32Sink = std::function<void(std::int64_t row0, std::int64_t rows, std::int64_t col0, const float* c)>;

// A[M, K] (rows K elements apart, amx_padded_rows(M) rows readable) times the packed W, in
// parallel over blocks. Shapes must satisfy the *_shape_ok checks and amx_usable().
void amx_matmul_s8(const std::int8_t* A, std::int64_t M, std::int64_t K, const std::int8_t* packed, std::int64_t N,
                   const AmxS32Sink& sink);
void amx_matmul_bf16(const std::uint16_t* A, std::int64_t M, std::int64_t K, const std::uint16_t* packed,
                     std::int64_t N, const AmxF32Sink& sink);

}  // namespace xclip::cpu
