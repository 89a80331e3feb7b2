// Search at scale with synthetic vectors (no decoding): for each collection size, the
// stage-1 index's build time, disk and memory, single-query p50/p99 latency and recall@10
// against exact search, for the exact (flat) index and the approximate (IVF) one at several
// nprobe; then stage 2 (X-CLIP's logit for N candidates, features read from SQLite) on a
// real model.
//
//   xclip_bench_index [--sizes 10000,100000,1000000] [--queries 200] [--model DIR] [--rerank 100]
//                     [--shards 1,2,4,8]
//
// --shards: stage 1 of a collection, the same vectors split over S shards (by id, as a path
// hash spreads files), each shard's index built by the collection's rule (IVF once the whole
// collection has 100k windows), queried at once on up to one thread per core and merged, as VideoIndex does.
//
// Synthetic vectors imitate a video collection: windows cluster around their video and
// scene (1 cluster per 50 windows, cosine to the centre about 0.8); queries are noisier
// points near random clusters (a text embedding is not a copy of any window's).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <string>
#include <vector>

#include "common/bench_util.h"
#include "index/index_store.h"
#include "index/vector_index.h"
#include "xclip/xclip.h"

namespace {

using namespace xclip;
namespace fs = std::filesystem;

constexpr int kDim = 512;

void normalize(float* v) {
  double s = 0;
  for (int i = 0; i < kDim; ++i) s += static_cast<double>(v[i]) * v[i];
  const float inv = static_cast<float>(1.0 / std::sqrt(s));
  for (int i = 0; i < kDim; ++i) v[i] *= inv;
}

// n unit vectors around n/50 centres; `spread` is the noise norm relative to the centre.
std::vector<float> clustered(std::int64_t n, std::int64_t clusters, double spread, std::mt19937_64& rng,
                             const std::vector<float>& centres) {
  std::normal_distribution<float> normal(0.0f, static_cast<float>(spread / std::sqrt(kDim)));
  std::uniform_int_distribution<std::int64_t> pick(0, clusters - 1);
  std::vector<float> out(static_cast<std::size_t>(n * kDim));
  for (std::int64_t i = 0; i < n; ++i) {
    const float* c = centres.data() + pick(rng) * kDim;
    float* v = out.data() + i * kDim;
    for (int d = 0; d < kDim; ++d) v[d] = c[d] + normal(rng);
    normalize(v);
  }
  return out;
}

std::int64_t resident_kib() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  if (f) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Latency {
  double p50 = 0, p99 = 0, recall = 0;
};

Latency measure(const index::VectorIndex& idx, const std::vector<float>& queries, int count, int nprobe,
                const std::vector<std::vector<std::int64_t>>& truth) {
  std::vector<double> times;
  double hits = 0;
  for (int q = 0; q < count; ++q) {
    const auto t0 = std::chrono::steady_clock::now();
    const index::Neighbours n = idx.search(queries.data() + static_cast<std::size_t>(q) * kDim, 10, nprobe);
    times.push_back(seconds_since(t0) * 1e3);
    const std::set<std::int64_t> want(truth[static_cast<std::size_t>(q)].begin(), truth[static_cast<std::size_t>(q)].end());
    for (std::int64_t id : n.ids) hits += want.count(id);
  }
  std::sort(times.begin(), times.end());
  Latency l;
  l.p50 = times[times.size() / 2];
  l.p99 = times[std::min(times.size() - 1, static_cast<std::size_t>(std::ceil(0.99 * times.size())) - 1)];
  l.recall = hits / (10.0 * count);
  return l;
}

// n windows and the queries, the same for every run of a size (seeded by it), ids 1..n.
struct SyntheticSet {
  std::vector<float> vectors, queries;
  std::vector<std::int64_t> ids;
};

SyntheticSet synthetic_set(std::int64_t n, int queries_count) {
  std::mt19937_64 rng(42 + n);
  const std::int64_t clusters = std::max<std::int64_t>(1, n / 50);
  std::vector<float> centres(static_cast<std::size_t>(clusters * kDim));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& x : centres) x = normal(rng);
  for (std::int64_t c = 0; c < clusters; ++c) normalize(centres.data() + c * kDim);
  SyntheticSet set;
  set.vectors = clustered(n, clusters, 0.75, rng, centres);
  set.queries = clustered(queries_count, clusters, 1.2, rng, centres);
  set.ids.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) set.ids[static_cast<std::size_t>(i)] = i + 1;
  return set;
}

void bench_size(std::int64_t n, int queries_count) {
  const SyntheticSet set = synthetic_set(n, queries_count);
  const std::vector<float>& vectors = set.vectors;
  const std::vector<float>& queries = set.queries;
  const std::vector<std::int64_t>& ids = set.ids;

  // Exact reference: the flat index, also timed as the "exact stage 1".
  const std::int64_t rss0 = resident_kib();
  auto t0 = std::chrono::steady_clock::now();
  const index::VectorIndex flat = index::VectorIndex::build(vectors.data(), ids.data(), n, kDim, n + 1);
  const double flat_build = seconds_since(t0);
  const std::int64_t flat_kib = resident_kib() - rss0;
  std::vector<std::vector<std::int64_t>> truth;
  for (int q = 0; q < queries_count; ++q) truth.push_back(flat.search(queries.data() + q * kDim, 10, 1).ids);

  const std::int64_t rss1 = resident_kib();
  t0 = std::chrono::steady_clock::now();
  const index::VectorIndex ivf = index::VectorIndex::build(vectors.data(), ids.data(), n, kDim, 0);
  const double ivf_build = seconds_since(t0);
  const std::int64_t ivf_kib = resident_kib() - rss1;
  const std::string file = (fs::temp_directory_path() / "xclip_bench_vectors.faiss").string();
  ivf.save(file);
  const double ivf_mb = static_cast<double>(fs::file_size(file)) / 1e6;
  flat.save(file);
  const double flat_mb = static_cast<double>(fs::file_size(file)) / 1e6;
  fs::remove(file);

  const int flat_queries = n >= 1000000 ? std::min(queries_count, 50) : queries_count;
  const Latency f = measure(flat, queries, flat_queries, 1, truth);
  std::printf("%8lld  %-9s build %7.2f s  disk %7.1f MB  memory %7.1f MB  p50 %7.2f ms  p99 %7.2f ms  recall@10 %.3f\n",
              static_cast<long long>(n), "flat", flat_build, flat_mb, flat_kib / 1024.0, f.p50, f.p99, f.recall);
  for (int nprobe : {16, 32, 64, 128}) {
    const Latency a = measure(ivf, queries, queries_count, nprobe, truth);
    std::printf("%8lld  %-9s build %7.2f s  disk %7.1f MB  memory %7.1f MB  p50 %7.2f ms  p99 %7.2f ms  recall@10 %.3f"
                "  (nprobe %d)\n",
                static_cast<long long>(n), ivf.kind().c_str(), ivf_build, ivf_mb, ivf_kib / 1024.0, a.p50, a.p99,
                a.recall, nprobe);
  }
  std::fflush(stdout);
}

// Stage 2 for `rerank` windows: features read from an SQLite index of synthetic windows,
// then X-CLIP's logit (prompt generator on the stored keys/values, logit scale).
void bench_stage2(const std::string& model_dir, int rerank) {
  auto model = Model::load(model_dir);
  Session session(model);
  const XCLIPConfig& c = model->config();
  const std::int64_t side = c.vision_config.image_size / c.vision_config.patch_size;
  const index::FeatureShape shape{c.projection_dim, c.prompt_layers, side * side};
  const std::string dir = (fs::temp_directory_path() / "xclip_bench_stage2").string();
  fs::remove_all(dir);
  std::vector<std::int64_t> ids;
  {
    index::IndexStore store(dir, true);
    std::mt19937_64 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    index::VideoRecord video{dir + "/synthetic.mp4", 1, 1, "0", 1000.0, 8000, {}};
    for (int w = 0; w < rerank; ++w) {
      index::WindowRecord r;
      r.start = w;
      r.end = w + 1;
      r.frame_indices = {0};
      r.embedding.resize(static_cast<std::size_t>(shape.dim));
      r.keys_values.resize(static_cast<std::size_t>(shape.keys_values_floats()));
      for (float& x : r.embedding) x = normal(rng);
      for (float& x : r.keys_values) x = normal(rng);
      r.thumbnail = {0xff, 0xd8};
      video.windows.push_back(std::move(r));
    }
    store.put_video(video, shape);
    store.checkpoint();  // as VideoIndex::update leaves it
    ids.resize(static_cast<std::size_t>(rerank));
    for (int i = 0; i < rerank; ++i) ids[static_cast<std::size_t>(i)] = i + 1;
  }
  index::IndexStore store(dir, false);
  const XCLIPProcessor processor = XCLIPProcessor::from_folder(model_dir);
  TokenizeOptions tok;
  tok.padding = Padding::Longest;
  tok.truncation = true;
  const auto [input_ids, mask] = processor.tokenizer().encode_to_tensors({"a dog catching a frisbee"}, tok);
  Tensor text;
  const double text_ms = bench::median_ms(10, [&] { text = session.get_text_features(input_ids, mask); });
  // Buffers kept between queries, as VideoIndex keeps them.
  std::vector<float> embeddings(static_cast<std::size_t>(rerank * shape.dim));
  std::vector<float> keys_values(static_cast<std::size_t>(rerank * shape.keys_values_floats()));
  const double read_ms = bench::median_ms(10, [&] {
    store.read_search_features(ids, shape, embeddings.data(), keys_values.data());
  });
  VideoSearchFeatures features;
  features.video_embeds = Tensor::borrow(DType::F32, {rerank, shape.dim}, embeddings.data(), nullptr);
  features.prompt_keys_values = Tensor::borrow(DType::F32, {shape.layers, rerank, shape.patches, 2 * shape.dim},
                                               keys_values.data(), nullptr);
  const double score_ms = bench::median_ms(10, [&] { session.logits_from_video_features(features, text); });
  std::printf("stage 2, %d windows, %s (%d threads): read features %.2f ms + X-CLIP logits %.2f ms = %.2f ms "
              "(query text embedding %.2f ms, shared with stage 1)\n",
              rerank, fs::path(model_dir).filename().c_str(), model->num_threads(), read_ms, score_ms,
              read_ms + score_ms, text_ms);
  fs::remove_all(dir);
}

// Stage 1 over S shards: p50/p99 of one query fanned out to every shard and merged, and
// recall@10 against exact search over all the vectors.
void bench_fanout(std::int64_t n, int queries_count, const std::vector<std::int64_t>& shard_counts) {
  const SyntheticSet set = synthetic_set(n, queries_count);
  const std::vector<float>& vectors = set.vectors;
  const std::vector<float>& queries = set.queries;
  const std::vector<std::int64_t>& all_ids = set.ids;
  const index::VectorIndex exact = index::VectorIndex::build(vectors.data(), all_ids.data(), n, kDim, n + 1);
  std::vector<std::vector<std::int64_t>> truth;
  for (int q = 0; q < queries_count; ++q) truth.push_back(exact.search(queries.data() + q * kDim, 10, 1).ids);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  for (std::int64_t shards : shard_counts) {
    std::vector<std::vector<float>> parts(static_cast<std::size_t>(shards));
    std::vector<std::vector<std::int64_t>> part_ids(static_cast<std::size_t>(shards));
    for (std::int64_t i = 0; i < n; ++i) {
      const std::size_t s = static_cast<std::size_t>(i % shards);
      parts[s].insert(parts[s].end(), vectors.begin() + i * kDim, vectors.begin() + (i + 1) * kDim);
      part_ids[s].push_back(i + 1);
    }
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<index::VectorIndex> indexes;
    for (std::size_t s = 0; s < parts.size(); ++s)
      indexes.push_back(index::VectorIndex::build(parts[s].data(), part_ids[s].data(),
                                                  static_cast<std::int64_t>(part_ids[s].size()), kDim,
                                                  (100000 + shards - 1) / shards));
    const double build = seconds_since(t0);
    const std::size_t workers = static_cast<std::size_t>(std::min<std::int64_t>(shards, cores));
    std::vector<double> times;
    double hits = 0;
    for (int q = 0; q < queries_count; ++q) {
      const float* query = queries.data() + static_cast<std::size_t>(q) * kDim;
      const auto start = std::chrono::steady_clock::now();
      std::vector<index::Neighbours> found(indexes.size());
      std::atomic<std::size_t> next{0};
      const auto work = [&] {
        for (std::size_t i; (i = next.fetch_add(1)) < indexes.size();) found[i] = indexes[i].search(query, 10, 32);
      };
      std::vector<std::thread> pool;
      for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(work);
      work();
      for (std::thread& t : pool) t.join();
      std::vector<std::pair<float, std::int64_t>> merged;
      for (const index::Neighbours& f : found)
        for (std::size_t i = 0; i < f.ids.size(); ++i) merged.emplace_back(f.scores[i], f.ids[i]);
      std::partial_sort(merged.begin(), merged.begin() + std::min<std::ptrdiff_t>(10, merged.size()), merged.end(),
                        [](const auto& a, const auto& b) { return a.first > b.first; });
      times.push_back(seconds_since(start) * 1e3);
      const std::set<std::int64_t> want(truth[static_cast<std::size_t>(q)].begin(), truth[static_cast<std::size_t>(q)].end());
      for (std::size_t i = 0; i < std::min<std::size_t>(10, merged.size()); ++i) hits += want.count(merged[i].second);
    }
    std::sort(times.begin(), times.end());
    const double p50 = times[times.size() / 2];
    const double p99 = times[std::min(times.size() - 1, static_cast<std::size_t>(std::ceil(0.99 * times.size())) - 1)];
    std::printf("%8lld windows  %2lld shards (%s each)  build %7.2f s  p50 %7.2f ms  p99 %7.2f ms  recall@10 %.3f\n",
                static_cast<long long>(n), static_cast<long long>(shards), indexes.front().kind().c_str(), build, p50,
                p99, hits / (10.0 * queries_count));
    std::fflush(stdout);
  }
}

std::vector<std::int64_t> parse_sizes(const std::string& s) {
  std::vector<std::int64_t> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stoll(item));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::int64_t> sizes = {10000, 100000, 1000000};
  int queries = 200, rerank = 100;
  std::vector<std::int64_t> shards;
  std::string model = XCLIP_BENCH_DEFAULT_MODEL;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--sizes") sizes = parse_sizes(v);
    else if (a == "--queries") queries = std::stoi(v);
    else if (a == "--model") model = v;
    else if (a == "--rerank") rerank = std::stoi(v);
    else if (a == "--shards") shards = parse_sizes(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  try {
    std::printf("stage 1, %d-dim unit vectors, %d queries, single-query latency on %u cores\n", kDim, queries,
                std::thread::hardware_concurrency());
    if (!shards.empty()) {
      std::printf("stage 1 fanned out over shards (nprobe 32 where IVF), %d queries, %u cores\n", queries,
                  std::thread::hardware_concurrency());
      for (std::int64_t n : sizes) bench_fanout(n, queries, shards);
      return 0;
    }
    for (std::int64_t n : sizes) bench_size(n, queries);
    if (!model.empty()) bench_stage2(model, rerank);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xclip_bench_index: %s\n", e.what());
    return 1;
  }
  return 0;
}
