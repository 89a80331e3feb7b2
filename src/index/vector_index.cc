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

namespace xclip::index {

std::int64_t ivf_lists_for(std::int64_t n) {
  std::int64_t lists = 64;
  while (lists * lists < n && lists < 65536) lists *= 2;
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

Neighbours VectorIndex::search(const float* query, std::int64_t k, int nprobe) const {
  Neighbours out;
  k = std::min<std::int64_t>(k, index_->ntotal);
  if (k <= 0) return out;
  out.ids.resize(static_cast<std::size_t>(k));
  out.scores.resize(static_cast<std::size_t>(k));
  if (auto* ivf = dynamic_cast<faiss::IndexIVFFlat*>(index_.get())) {
    faiss::SearchParametersIVF params;
    params.nprobe = static_cast<std::size_t>(std::max(1, nprobe));
    ivf->search(1, query, k, out.scores.data(), out.ids.data(), &params);
  } else {
    index_->search(1, query, k, out.scores.data(), out.ids.data());
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
