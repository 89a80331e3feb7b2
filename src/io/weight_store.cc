#include "io/weight_store.h"

#include <sys/stat.h>

#include <cstring>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "io/mmap_file.h"
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
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(read_text_file(index_path));
  } catch (const nlohmann::json::exception& e) {
    XCLIP_FAIL(FormatError) << index_path << ": not valid JSON: " << e.what();
  }
  XCLIP_CHECK(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(), FormatError)
      << index_path << ": expected an object with a 'weight_map' object";
  std::set<std::string> files;
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    XCLIP_CHECK(it.value().is_string(), FormatError) << index_path << ": weight_map['" << it.key() << "'] is not a file name";
    const std::string file = it.value().get<std::string>();
    XCLIP_CHECK(!file.empty() && file.find('/') == std::string::npos && file != "." && file != "..", FormatError)
        << index_path << ": weight_map['" << it.key() << "'] = '" << file << "' is not a plain file name in the folder";
    files.insert(file);
  }
  XCLIP_CHECK(!files.empty(), FormatError) << index_path << ": weight_map is empty";
  return {files.begin(), files.end()};
}

}  // namespace

WeightStore WeightStore::open_folder(const std::string& dir) {
  const std::string single = dir + "/model.safetensors";
  const std::string index = dir + "/model.safetensors.index.json";
  std::vector<SafetensorsFile> files;
  if (file_exists(single)) {
    files.push_back(SafetensorsFile::open(single));
    return from_files(std::move(files), single);
  }
  if (file_exists(index)) {
    for (const std::string& shard : shard_names(index)) files.push_back(SafetensorsFile::open(dir + "/" + shard));
    return from_files(std::move(files), index);
  }
  XCLIP_CHECK(!file_exists(dir + "/pytorch_model.bin") && !file_exists(dir + "/pytorch_model.bin.index.json"), UnsupportedError)
      << dir << ": only pytorch_model.bin weights found; this build reads model.safetensors (convert with "
      << "transformers' save_pretrained(safe_serialization=True))";
  XCLIP_FAIL(IoError) << dir << ": no model.safetensors or model.safetensors.index.json in the model folder";
}

WeightStore WeightStore::from_files(std::vector<SafetensorsFile> files, std::string source) {
  WeightStore store;
  store.source_ = std::move(source);
  for (const SafetensorsFile& f : files) {
    for (const std::string& name : f.names()) {
      XCLIP_CHECK(store.tensors_.count(name) == 0, FormatError)
          << f.path() << ": tensor '" << name << "' also appears in another shard";
      store.tensors_[name] = f.get(name);
    }
  }
  store.files_ = std::move(files);
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
    default:
      problems_.push_back(name + ": dtype " + dtype_name(t.dtype()) + " is not a floating-point weight type (F32, F16, BF16)");
      return placeholder();
  }
}

void WeightStore::finish() const {
  std::vector<std::string> problems = problems_;
  for (const auto& [name, t] : tensors_) {
    if (used_.count(name) == 0 && !is_ignorable_buffer(name)) problems.push_back("unexpected tensor " + name + " " + t.describe());
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
