#include "ops/attention.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "core/parallel.h"
#include "core/scratch.h"
#include "ops/cpu/kernels.h"

namespace xclip::ops {

namespace {

// Per-thread scratch, grown once and reused across calls (no allocation per layer once warm).
struct HeadScratch {
  std::vector<float> keys_t;  // [head_dim, kv_stride]: one head's keys, transposed, zero-padded
  std::vector<float> probs;   // [q_len, kv_stride]: scores, then probabilities
};

}  // namespace

void attention(const AttentionShape& s, const float* q, std::int64_t ldq, const float* k, std::int64_t ldk,
               const float* v, std::int64_t ldv, float scale, const AttentionMask& mask, float* out, float* weights) {
  const cpu::CpuKernels& kern = cpu::kernels();
  const std::int64_t hidden = s.heads * s.head_dim;
  const float masked = std::numeric_limits<float>::lowest();
  // Rows of scores padded to whole 16-float vectors, so the score product needs no tail.
  const std::int64_t kv_stride = (s.kv_len + 15) / 16 * 16;
  const std::int64_t tasks = s.batch * s.heads;
  const std::int64_t work_per_task = s.q_len * s.kv_len * s.head_dim;
  parallel_for(
      0, tasks, std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(work_per_task, 1)),
      [&](std::int64_t lo, std::int64_t hi) {
        thread_local HeadScratch scratch;
        float* keys_t = grow_only(scratch.keys_t, static_cast<std::size_t>(s.head_dim * kv_stride));
        float* probs = grow_only(scratch.probs, static_cast<std::size_t>(s.q_len * kv_stride));
        for (std::int64_t task = lo; task < hi; ++task) {
          const std::int64_t b = task / s.heads;
          const std::int64_t h = task % s.heads;
          const float* qb = q + b * s.q_len * ldq + h * s.head_dim;
          const float* kb = k + b * s.kv_len * ldk + h * s.head_dim;
          const float* vb = v + b * s.kv_len * ldv + h * s.head_dim;
          const std::int64_t* pad = mask.key_padding ? mask.key_padding + b * s.kv_len : nullptr;
          for (std::int64_t d = 0; d < s.head_dim; ++d) {
            float* row = keys_t + d * kv_stride;
            for (std::int64_t j = 0; j < s.kv_len; ++j) row[j] = kb[j * ldk + d];
            std::fill(row + s.kv_len, row + kv_stride, 0.0f);
          }
          kern.f32_small_gemm(s.q_len, kv_stride, s.head_dim, scale, qb, ldq, keys_t, kv_stride, probs, kv_stride);
          for (std::int64_t i = 0; i < s.q_len; ++i) {
            float* row = probs + i * kv_stride;
            for (std::int64_t j = 0; j < s.kv_len; ++j) {
              if ((mask.causal && j > i) || (pad && pad[j] == 0)) row[j] = masked;
            }
            kern.f32_softmax(row, s.kv_len);
            if (weights) {
              std::memcpy(weights + ((b * s.heads + h) * s.q_len + i) * s.kv_len, row, sizeof(float) * s.kv_len);
            }
          }
          kern.f32_small_gemm(s.q_len, s.head_dim, s.kv_len, 1.0f, probs, kv_stride, vb, ldv,
                              out + b * s.q_len * hidden + h * s.head_dim, hidden);
        }
      });
}

}  // namespace xclip::ops
