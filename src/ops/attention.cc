#include "ops/attention.h"

#include <cstring>
#include <limits>
#include <vector>

#include "core/parallel.h"
#include "ops/cpu/kernels.h"

namespace xclip::ops {

void attention(const AttentionShape& s, const float* q, std::int64_t ldq, const float* k, std::int64_t ldk,
               const float* v, std::int64_t ldv, float scale, const AttentionMask& mask, float* out, float* weights) {
  const cpu::CpuKernels& kern = cpu::kernels();
  const std::int64_t hidden = s.heads * s.head_dim;
  const float masked = std::numeric_limits<float>::lowest();
  const std::int64_t tasks = s.batch * s.heads;
  const std::int64_t work_per_task = s.q_len * s.kv_len * s.head_dim;
  parallel_for(0, tasks, std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(work_per_task, 1)),
               [&](std::int64_t lo, std::int64_t hi) {
                 // One scores row per thread, grown once and reused across calls.
                 thread_local std::vector<float> scores_buffer;
                 if (static_cast<std::int64_t>(scores_buffer.size()) < s.kv_len) scores_buffer.resize(s.kv_len);
                 float* scores = scores_buffer.data();
                 for (std::int64_t task = lo; task < hi; ++task) {
                   const std::int64_t b = task / s.heads;
                   const std::int64_t h = task % s.heads;
                   const float* qb = q + b * s.q_len * ldq + h * s.head_dim;
                   const float* kb = k + b * s.kv_len * ldk + h * s.head_dim;
                   const float* vb = v + b * s.kv_len * ldv + h * s.head_dim;
                   const std::int64_t* pad = mask.key_padding ? mask.key_padding + b * s.kv_len : nullptr;
                   for (std::int64_t i = 0; i < s.q_len; ++i) {
                     const float* qi = qb + i * ldq;
                     for (std::int64_t j = 0; j < s.kv_len; ++j) {
                       const bool is_masked = (mask.causal && j > i) || (pad && pad[j] == 0);
                       scores[j] = is_masked ? masked : kern.f32_dot(qi, kb + j * ldk, s.head_dim) * scale;
                     }
                     kern.f32_softmax(scores, s.kv_len);
                     float* oi = out + (b * s.q_len + i) * hidden + h * s.head_dim;
                     std::memset(oi, 0, sizeof(float) * s.head_dim);
                     for (std::int64_t j = 0; j < s.kv_len; ++j) {
                       if (scores[j] != 0.0f) kern.f32_axpy(scores[j], vb + j * ldv, oi, s.head_dim);
                     }
                     if (weights) {
                       std::memcpy(weights + ((b * s.heads + h) * s.q_len + i) * s.kv_len, scores, sizeof(float) * s.kv_len);
                     }
                   }
                 }
               });
}

}  // namespace xclip::ops
