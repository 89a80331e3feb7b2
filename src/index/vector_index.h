// Stage 1 of a search: the nearest L2-normalised vectors by inner product, over FAISS
// (Debian libfaiss). Exact (flat) while the collection is small; an inverted-file index
// (k-means lists, `nprobe` of them scanned per query) from `approximate_from` vectors on.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace faiss {
struct Index;
struct IndexIVFFlat;
}

namespace xclip::index {

struct Neighbours {
  std::vector<std::int64_t> ids;  // best first
  std::vector<float> scores;
};

class VectorIndex {
 public:
  // `vectors` [n, dim] with their `ids`. Flat below approximate_from, IVF at or above it.
  static VectorIndex build(const float* vectors, const std::int64_t* ids, std::int64_t n, int dim,
                           std::int64_t approximate_from);
  // FormatError naming `path` if the file is not a FAISS index of `dim`-vectors.
  static VectorIndex load(const std::string& path, int dim);
  VectorIndex(VectorIndex&&) noexcept;
  VectorIndex& operator=(VectorIndex&&) noexcept;
  ~VectorIndex();

  // Written to a temporary file beside `path`, then renamed over it (never half written).
  void save(const std::string& path) const;
  Neighbours search(const float* query, std::int64_t k, int nprobe) const;
  std::int64_t size() const;
  std::string kind() const;  // "flat" or "ivf<nlist>"

 private:
  explicit VectorIndex(std::unique_ptr<faiss::Index> index);
  void search_flat(const float* query, std::int64_t k, Neighbours& out) const;
  void search_ivf(const faiss::IndexIVFFlat& ivf, const float* query, std::int64_t k, int nprobe,
                  Neighbours& out) const;
  std::unique_ptr<faiss::Index> index_;
};

// Inverted lists for n vectors: about 4·√n, a power of two, 64 to 65536.
std::int64_t ivf_lists_for(std::int64_t n);

}  // namespace xclip::index
