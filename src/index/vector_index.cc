#include "index/vector_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/check.h"
#include "ops/linear.h"

namespace xclip::index {

std::int64_t ivf_lists_for(std::int64_t n) {
  std::int64_t lists = 64;
  while (lists * lists < 16 * n && lists < 65536) lists *= 2;  // about 4·√n, FAISS's rule of thumb
  return lists;
}

VectorIndex::VectorIndex(std::unique_ptr<faiss::Index> index) : index_(std::move(index)) {}
VectorIndex::VectorIndex(VectorIndex&&) noexcept = default;
VectorIndex& VectorIndex::operator=(VectorIndex&&) noexcept = default;
VectorIndex::~VectorIndex() = default;

namespace {

std::unique_ptr<faiss::Index> build_flat(const float* vectors, const std::int64_t* ids, std::int64_t n, int dim) {
  auto index = std::make_unique<faiss::IndexIDMap2>(new faiss::IndexFlatIP(dim));
  index->own_fields = true;
  if (n > 0) index->add_with_ids(n, vectors, ids);
  return index;
}

std::unique_ptr<faiss::Index> build_ivf(const float* vectors, const std::int64_t* ids, std::int64_t n, int dim) {
  const std::int64_t lists = ivf_lists_for(n);
  auto index = std::make_unique<faiss::IndexIVFFlat>(new faiss::IndexFlatIP(dim), dim, static_cast<std::size_t>(lists),
                                                     faiss::METRIC_INNER_PRODUCT);
  index->own_fields = true;
  // 64 training points per list and 10 k-means rounds: the lists only route queries, and
  // FAISS's defaults (256 points, 25 rounds) would cost minutes at a million vectors.
  index->cp.max_points_per_centroid = 64;
  index->cp.niter = 10;
  const std::int64_t train_n = std::min<std::int64_t>(n, lists * 64);
  const std::int64_t step = std::max<std::int64_t>(1, n / train_n);
  std::vector<float> sample;
  sample.reserve(static_cast<std::size_t>(train_n * dim));
  for (std::int64_t i = 0, taken = 0; i < n && taken < train_n; i += step, ++taken)
    sample.insert(sample.end(), vectors + i * dim, vectors + (i + 1) * dim);
  index->train(static_cast<faiss::Index::idx_t>(sample.size() / dim), sample.data());
  index->add_with_ids(n, vectors, ids);
  return index;
}

}  // namespace

VectorIndex VectorIndex::build(const float* vectors, const std::int64_t* ids, std::int64_t n, int dim,
                               std::int64_t approximate_from) {
  try {
    if (n >= approximate_from && n >= 2 * 64) return VectorIndex(build_ivf(vectors, ids, n, dim));
    return VectorIndex(build_flat(vectors, ids, n, dim));
  } catch (const faiss::FaissException& e) {
    XCLIP_FAIL(InvalidArgument) << "building the vector index of " << n << " vectors failed: " << e.what();
  }
  __builtin_unreachable();  // the failure above always throws
}

VectorIndex VectorIndex::load(const std::string& path, int dim) {
  std::unique_ptr<faiss::Index> index;
  try {
    index.reset(faiss::read_index(path.c_str()));
  } catch (const faiss::FaissException& e) {
    XCLIP_FAIL(FormatError) << path << ": not a readable vector index: " << e.what();
  }
  XCLIP_CHECK(index->d == dim && index->metric_type == faiss::METRIC_INNER_PRODUCT, FormatError)
      << path << ": a vector index of " << index->d << "-dimensional vectors, expected " << dim;
  const bool known = dynamic_cast<faiss::IndexIDMap2*>(index.get()) || dynamic_cast<faiss::IndexIVFFlat*>(index.get());
  XCLIP_CHECK(known, FormatError) << path << ": an unexpected kind of FAISS index";
  return VectorIndex(std::move(index));
}

void VectorIndex::save(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  try {
    faiss::write_index(index_.get(), tmp.c_str());
  } catch (const faiss::FaissException& e) {
    XCLIP_FAIL(IoError) << tmp << ": cannot write the vector index: " << e.what();
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  XCLIP_CHECK(!ec, IoError) << path << ": cannot replace the vector index: " << ec.message();
}

namespace {

// The k best (score, row) of `scores`, best first; ties by row.
void top_k(const std::vector<float>& scores, std::int64_t k, std::vector<std::int64_t>& rows) {
  rows.resize(scores.size());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<std::int64_t>(i);
  k = std::min<std::int64_t>(k, static_cast<std::int64_t>(rows.size()));
  std::partial_sort(rows.begin(), rows.begin() + k, rows.end(), [&](std::int64_t a, std::int64_t b) {
    const float sa = scores[static_cast<std::size_t>(a)], sb = scores[static_cast<std::size_t>(b)];
    return sa > sb || (sa == sb && a < b);
  });
  rows.resize(static_cast<std::size_t>(k));
}

}  // namespace

// The inverted lists scanned with our matrix-vector kernel as well (FAISS's own scan is the
// portable one): the nprobe nearest centroids, then every vector of those lists.
void VectorIndex::search_ivf(const faiss::IndexIVFFlat& ivf, const float* query, std::int64_t k, int nprobe,
                             Neighbours& out) const {
  const auto* centroids = static_cast<const faiss::IndexFlat*>(ivf.quantizer);
  const std::int64_t d = ivf.d, lists = static_cast<std::int64_t>(ivf.nlist);
  std::vector<float> centroid_scores(static_cast<std::size_t>(lists));
  ops::linear(query, 1, d, d, centroids->get_xb(), nullptr, lists, centroid_scores.data());
  std::vector<std::int64_t> probe;
  top_k(centroid_scores, std::max(1, nprobe), probe);
  std::vector<float> scores;
  std::vector<std::int64_t> ids;
  for (std::int64_t list : probe) {
    const std::size_t size = ivf.invlists->list_size(static_cast<std::size_t>(list));
    if (size == 0) continue;
    const std::size_t at = scores.size();
    scores.resize(at + size);
    const auto* codes = reinterpret_cast<const float*>(ivf.invlists->get_codes(static_cast<std::size_t>(list)));
    ops::linear(query, 1, d, d, codes, nullptr, static_cast<std::int64_t>(size), scores.data() + at);
    const auto* list_ids = ivf.invlists->get_ids(static_cast<std::size_t>(list));
    ids.insert(ids.end(), list_ids, list_ids + size);
  }
  std::vector<std::int64_t> best;
  top_k(scores, k, best);
  out.ids.clear();
  out.scores.clear();
  for (std::int64_t row : best) {
    out.ids.push_back(ids[static_cast<std::size_t>(row)]);
    out.scores.push_back(scores[static_cast<std::size_t>(row)]);
  }
}

// Exact search as one matrix-vector product on our own kernels: Debian's FAISS is built for
// any x86-64 CPU and scans about 5x slower than the AVX-512 GEMV here.
void VectorIndex::search_flat(const float* query, std::int64_t k, Neighbours& out) const {
  auto* map = static_cast<faiss::IndexIDMap2*>(index_.get());
  const auto* flat = static_cast<const faiss::IndexFlat*>(map->index);
  const std::int64_t n = flat->ntotal;
  std::vector<float> scores(static_cast<std::size_t>(n));
  ops::linear(query, 1, flat->d, flat->d, flat->get_xb(), nullptr, n, scores.data());
  std::vector<std::int64_t> best;
  top_k(scores, k, best);
  for (std::size_t i = 0; i < best.size(); ++i) {
    out.ids[i] = map->id_map[static_cast<std::size_t>(best[i])];
    out.scores[i] = scores[static_cast<std::size_t>(best[i])];
  }
}

Neighbours VectorIndex::search(const float* query, std::int64_t k, int nprobe) const {
  Neighbours out;
  k = std::min<std::int64_t>(k, index_->ntotal);
  if (k <= 0) return out;
  out.ids.resize(static_cast<std::size_t>(k));
  out.scores.resize(static_cast<std::size_t>(k));
  if (auto* ivf = dynamic_cast<faiss::IndexIVFFlat*>(index_.get())) {
    search_ivf(*ivf, query, k, nprobe, out);
  } else {
    search_flat(query, k, out);
  }
  // Fewer than k reachable (few lists probed): FAISS pads with id -1.
  while (!out.ids.empty() && out.ids.back() < 0) {
    out.ids.pop_back();
    out.scores.pop_back();
  }
  return out;
}

std::int64_t VectorIndex::size() const { return index_->ntotal; }

std::string VectorIndex::kind() const {
  if (auto* ivf = dynamic_cast<const faiss::IndexIVFFlat*>(index_.get())) return "ivf" + std::to_string(ivf->nlist);
  return "flat";
}

}  // namespace xclip::index
