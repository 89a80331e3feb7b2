// The model-level view of a checkpoint, in the manner of candle's VarBuilder: modules ask it
// for their weights by state-dict name and expected shape; it carries the precision policy
// (which precision the linear layers run in) and records which weights are linear layers
// that may run in reduced precision, so that `convert` quantizes exactly those. The I/O
// store underneath only maps names to bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "io/weight_store.h"
#include "xclip/options.h"

namespace xclip::model {

enum class LinearPrecision { F32, Int8, Bf16 };

class WeightLoader {
 public:
  WeightLoader(const io::WeightStore& store, LinearPrecision precision) : store_(store), precision_(precision) {}

  // F32 data of `name` with exactly `shape` (see WeightStore::get: problems are collected).
  const float* get(const std::string& name, const std::vector<std::int64_t>& shape) const {
    requested_.emplace_back(name, shape);
    return store_.get(name, shape);
  }
  // The int8 weight `convert` stored for `name`, if any (WeightStore::get_int8).
  std::optional<io::Int8Weight> get_int8(const std::string& name,
                                                    const std::vector<std::int64_t>& shape) const {
    return store_.get_int8(name, shape);
  }

  LinearPrecision precision() const { return precision_; }
  bool int8() const { return precision_ == LinearPrecision::Int8; }
  bool bf16() const { return precision_ == LinearPrecision::Bf16; }

  // Linear weights that run in the reduced precision record themselves here.
  void mark_quantizable(const std::string& name) const { quantizable_.insert(name); }
  const std::set<std::string>& quantizable() const { return quantizable_; }
  // Every (name, shape) the modules asked for, in order: the model's state dict.
  const std::vector<std::pair<std::string, std::vector<std::int64_t>>>& requested() const { return requested_; }

  const io::WeightStore& store() const { return store_; }

 private:
  const io::WeightStore& store_;
  LinearPrecision precision_;
  mutable std::set<std::string> quantizable_;
  mutable std::vector<std::pair<std::string, std::vector<std::int64_t>>> requested_;
};

// What a load with `requested` runs in: Auto is Int8 for weights holding int8 tensors when
// `int8_trusted` (a folder whose conversion check passed), else F32. Bf16 needs AVX512-BF16.
LinearPrecision resolve_precision(WeightType requested, const io::WeightStore& store, bool int8_trusted);

}  // namespace xclip::model
