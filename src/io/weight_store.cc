#include "io/weight_store.h"

#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/check.h"
#include "io/json.h"
#include "io/mmap_file.h"
#include "io/torch_checkpoint.h"
#include "ops/convert.h"

namespace xclip::io {

namespace {

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Buffers that transformers keeps in some state dicts but that carry no learned values.
bool is_ignorable_buffer(const std::string& name) {
  const std::string suffix = ".position_ids";
  return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<std::string> shard_names(const std::string& index_path) {
  const nlohmann::json index = read_json_object(index_path);
  XCLIP_CHECK(index.contains("weight_map") && index["weight_map"].is_object(), FormatError)
      << index_path << ": expected an object with a 'weight_map' object";
  std::set<std::string> files;
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    XCLIP_CHECK(it.value().is_string(), FormatError)
        << index_path << ": weight_map['" << it.key() << "'] is not a file name";
    const std::string file = it.value().get<std::string>();
    XCLIP_CHECK(!file.empty() && file.find('/') == std::string::npos && file != "." && file != "..", FormatError)
        << index_path << ": weight_map['" << it.key() << "'] = '" << file << "' is not a plain file name in the folder";
    files.insert(file);
  }
  XCLIP_CHECK(!files.empty(), FormatError) << index_path << ": weight_map is empty";
  return {files.begin(), files.end()};
}

}  // namespace

namespace {

void add_all(std::map<std::string, Tensor>& into, std::map<std::string, Tensor> from, const std::string& file) {
  for (auto& [name, t] : from)
    XCLIP_CHECK(into.emplace(name, std::move(t)).second, FormatError)
        << file << ": tensor '" << name << "' also appears in another shard";
}

std::map<std::string, Tensor> read_safetensors(const std::string& path) {
  const SafetensorsFile f = SafetensorsFile::open(path);
  std::map<std::string, Tensor> out;
  for (const std::string& name : f.names()) out.emplace(name, f.get(name));
  return out;
}

}  // namespace

WeightStore WeightStore::open_folder(const std::string& dir) {
  std::map<std::string, Tensor> tensors;
  for (const auto& [single, index, reader] :
       {std::tuple{"model.safetensors", "model.safetensors.index.json", &read_safetensors},
        std::tuple{"pytorch_model.bin", "pytorch_model.bin.index.json", &load_torch_checkpoint}}) {
    if (file_exists(dir + "/" + single)) {
      add_all(tensors, reader(dir + "/" + single), dir + "/" + single);
      return from_tensors(std::move(tensors), dir + "/" + single);
    }
    if (file_exists(dir + "/" + index)) {
      for (const std::string& shard : shard_names(dir + "/" + index))
        add_all(tensors, reader(dir + "/" + shard), dir + "/" + shard);
      return from_tensors(std::move(tensors), dir + "/" + index);
    }
  }
  XCLIP_FAIL(IoError) << dir << ": no model.safetensors, pytorch_model.bin or their .index.json in the model folder";
  __builtin_unreachable();  // the failure above always throws
}

WeightStore WeightStore::from_tensors(std::map<std::string, Tensor> tensors, std::string source) {
  WeightStore store;
  store.source_ = std::move(source);
  store.tensors_ = std::move(tensors);
  return store;
}

const float* WeightStore::get(const std::string& name, const std::vector<std::int64_t>& shape) const {
  used_.insert(name);
  auto placeholder = [&]() {
    owned_.push_back(Tensor::zeros(DType::F32, shape));
    return owned_.back().data<float>();
  };
  auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    problems_.push_back("missing tensor " + name + " " + shape_to_string(shape));
    return placeholder();
  }
  const Tensor& t = it->second;
  if (t.shape() != shape) {
    problems_.push_back(name + ": expected shape " + shape_to_string(shape) + ", got " + shape_to_string(t.shape()));
    return placeholder();
  }
  switch (t.dtype()) {
    case DType::F32:
      return t.data<float>();
    case DType::F16:
    case DType::BF16: {
      Tensor converted = Tensor::empty(DType::F32, shape);
      if (t.dtype() == DType::F16) {
        ops::f16_to_f32(t.data<std::uint16_t>(), converted.mutable_data<float>(), t.numel());
      } else {
        ops::bf16_to_f32(t.data<std::uint16_t>(), converted.mutable_data<float>(), t.numel());
      }
      converted_bytes_ += converted.nbytes();
      owned_.push_back(std::move(converted));
      return owned_.back().data<float>();
    }
    case DType::I8: {
      // An int8 linear weight read as float (float32 math requested on a converted folder).
      const std::size_t problems_before = problems_.size();
      const auto q = get_int8(name, shape);
      if (!q || problems_.size() != problems_before) return placeholder();  // a bad pair, already reported
      Tensor dequantized = Tensor::empty(DType::F32, shape);
      const std::int8_t* v = q->values.data<std::int8_t>();
      const float* scale = q->scales.data<float>();
      float* out = dequantized.mutable_data<float>();
      const std::int64_t cols = shape[1];
      for (std::int64_t r = 0; r < shape[0]; ++r)
        for (std::int64_t c = 0; c < cols; ++c) out[r * cols + c] = static_cast<float>(v[r * cols + c]) * scale[r];
      if (q->outlier_channels.defined()) {  // the columns stored in float32 are exact
        const std::int64_t n = q->outlier_channels.numel();
        const std::int64_t* channels = q->outlier_channels.data<std::int64_t>();
        for (std::int64_t r = 0; r < shape[0]; ++r)
          for (std::int64_t i = 0; i < n; ++i) out[r * cols + channels[i]] = q->outlier_columns.data<float>()[r * n + i];
      }
      converted_bytes_ += dequantized.nbytes();
      owned_.push_back(std::move(dequantized));
      return owned_.back().data<float>();
    }
    default:
      problems_.push_back(name + ": dtype " + dtype_name(t.dtype()) +
                          " is not a floating-point weight type (F32, F16, BF16)");
      return placeholder();
  }
}

bool WeightStore::read_outlier_columns(const std::string& name, const std::vector<std::int64_t>& shape,
                                       Int8Weight& weight) const {
  const std::string channels_name = name + "_outlier_channels", columns_name = name + "_outlier_columns";
  const auto channels = tensors_.find(channels_name), columns = tensors_.find(columns_name);
  if (channels == tensors_.end() && columns == tensors_.end()) return true;
  used_.insert(channels_name);
  used_.insert(columns_name);
  if (channels == tensors_.end() || columns == tensors_.end()) {
    problems_.push_back(name + ": " + (channels == tensors_.end() ? columns_name : channels_name) +
                        " without its partner " + (channels == tensors_.end() ? channels_name : columns_name));
    return false;
  }
  const Tensor& c = channels->second;
  if (c.dtype() != DType::I64 || c.rank() != 1 || c.numel() > shape[1]) {
    problems_.push_back(channels_name + ": expected I64 [n] with n <= " + std::to_string(shape[1]) + ", got " +
                        c.describe());
    return false;
  }
  const std::int64_t n = c.numel();
  const std::int64_t* ch = c.data<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i) {
    if (ch[i] < 0 || ch[i] >= shape[1] || (i > 0 && ch[i] <= ch[i - 1])) {
      problems_.push_back(channels_name + ": channels must be ascending input channels below " +
                          std::to_string(shape[1]) + " (entry " + std::to_string(i) + " is " + std::to_string(ch[i]) +
                          ")");
      return false;
    }
  }
  const Tensor& w = columns->second;
  if (w.dtype() != DType::F32 || w.shape() != std::vector<std::int64_t>{shape[0], n}) {
    problems_.push_back(columns_name + ": expected F32 [" + std::to_string(shape[0]) + ", " + std::to_string(n) +
                        "], got " + w.describe());
    return false;
  }
  const float* values = w.data<float>();
  for (std::int64_t i = 0; i < w.numel(); ++i) {
    if (!std::isfinite(values[i])) {
      problems_.push_back(columns_name + ": value " + std::to_string(i) + " is not finite");
      return false;
    }
  }
  weight.outlier_channels = c;
  weight.outlier_columns = w;
  return true;
}

std::optional<Int8Weight> WeightStore::get_int8(const std::string& name,
                                                               const std::vector<std::int64_t>& shape) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end() || it->second.dtype() != DType::I8) return std::nullopt;
  used_.insert(name);
  const std::string scale_name = name + "_scale";
  used_.insert(scale_name);
  auto placeholder = [&]() {
    owned_.push_back(Tensor::zeros(DType::I8, shape));
    Tensor values = owned_.back();
    owned_.push_back(Tensor::zeros(DType::F32, {shape.empty() ? 0 : shape[0]}));
    return std::optional<Int8Weight>{Int8Weight{values, owned_.back(), Tensor(), Tensor()}};
  };
  const Tensor& values = it->second;
  if (shape.size() != 2) {
    problems_.push_back(name + ": dtype I8, but int8 is only for linear weights [out, in] (expected a float " +
                        shape_to_string(shape) + ")");
    return placeholder();
  }
  if (values.shape() != shape) {
    problems_.push_back(name + ": expected shape " + shape_to_string(shape) + ", got " +
                        shape_to_string(values.shape()));
    return placeholder();
  }
  auto scale = tensors_.find(scale_name);
  if (scale == tensors_.end()) {
    problems_.push_back(name + ": int8 weight without its per-row scales " + scale_name + " [" +
                        std::to_string(shape[0]) + "]");
    return placeholder();
  }
  if (scale->second.dtype() != DType::F32 || scale->second.shape() != std::vector<std::int64_t>{shape[0]}) {
    problems_.push_back(scale_name + ": expected F32 [" + std::to_string(shape[0]) + "], got " +
                        scale->second.describe());
    return placeholder();
  }
  const float* scales = scale->second.data<float>();
  for (std::int64_t r = 0; r < shape[0]; ++r) {
    if (!(std::isfinite(scales[r]) && scales[r] > 0.0f)) {
      problems_.push_back(scale_name + "[" + std::to_string(r) + "] = " + std::to_string(scales[r]) +
                          ": int8 scales must be finite and positive");
      return placeholder();
    }
  }
  Int8Weight weight{values, scale->second, Tensor(), Tensor()};
  if (!read_outlier_columns(name, shape, weight)) return placeholder();
  return weight;
}

bool WeightStore::holds_int8() const {
  for (const auto& [name, t] : tensors_)
    if (t.dtype() == DType::I8) return true;
  return false;
}

void WeightStore::finish(const std::string& only_prefix) const {
  std::vector<std::string> problems = problems_;
  for (const auto& [name, t] : tensors_) {
    if (name.rfind(only_prefix, 0) != 0) continue;
    if (used_.count(name) == 0 && !is_ignorable_buffer(name))
      problems.push_back("unexpected tensor " + name + " " + t.describe());
  }
  if (problems.empty()) return;
  std::ostringstream msg;
  msg << source_ << ": the checkpoint does not match config.json (" << problems.size() << " problem"
      << (problems.size() > 1 ? "s" : "") << "):";
  const std::size_t shown = std::min<std::size_t>(problems.size(), 50);
  for (std::size_t i = 0; i < shown; ++i) msg << "\n  " << problems[i];
  if (shown < problems.size()) msg << "\n  ... and " << (problems.size() - shown) << " more";
  XCLIP_FAIL(FormatError) << msg.str();
}

}  // namespace xclip::io
