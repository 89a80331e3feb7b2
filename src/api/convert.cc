#include "xclip/convert.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>
#include <utility>
#include <vector>

#include "api/conversion_check.h"
#include "core/check.h"
#include "core/parallel.h"
#include "io/safetensors.h"
#include "io/weight_store.h"
#include "model/weight_loader.h"
#include "model/xclip_model.h"
#include "ops/quantized_linear.h"
#include "xclip/model.h"

namespace xclip {

namespace fs = std::filesystem;

namespace {

bool is_weights_file(const std::string& name) {
  for (const char* prefix : {"model.safetensors", "model-", "pytorch_model", "tf_model", "flax_model"})
    if (name.rfind(prefix, 0) == 0) return true;
  return false;
}

bool is_float(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::F64; }

// Copies config, tokenizer and preprocessor files (symlinks of a hub snapshot followed).
void copy_side_files(const fs::path& source, const fs::path& destination) {
  for (const fs::directory_entry& entry : fs::directory_iterator(source)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || is_weights_file(name) || name.empty() || name[0] == '.') continue;
    std::error_code ec;
    fs::copy_file(entry.path(), destination / name, fs::copy_options::overwrite_existing, ec);
    XCLIP_CHECK(!ec, IoError) << (destination / name).string() << ": cannot copy from " << entry.path().string() << ": "
                              << ec.message();
  }
}

// The scales and outlier columns stored beside an int8 weight.
bool is_int8_companion(const std::string& name, const io::WeightStore& store) {
  for (const std::string suffix : {"_scale", "_outlier_channels", "_outlier_columns"}) {
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    auto base = store.tensors().find(name.substr(0, name.size() - suffix.size()));
    if (base != store.tensors().end() && base->second.dtype() == DType::I8) return true;
  }
  return false;
}

// I64 `channels` and F32 [rows, channels] copies of those columns of weight[rows, cols].
std::pair<Tensor, Tensor> float_columns(const float* weight, std::int64_t rows, std::int64_t cols,
                                        const std::set<std::int64_t>& channels) {
  const std::int64_t n = static_cast<std::int64_t>(channels.size());
  const std::vector<std::int64_t> list(channels.begin(), channels.end());
  Tensor columns = Tensor::empty(DType::F32, {rows, n});
  float* out = columns.mutable_data<float>();
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t i = 0; i < n; ++i) out[r * n + i] = weight[r * cols + list[i]];
  return {Tensor::from_values<std::int64_t>(DType::I64, {n}, list.data()), std::move(columns)};
}

}  // namespace

ConversionCheck check_precision(const std::string& folder, WeightType weights, double min_cosine, double min_top1) {
  XCLIP_CHECK(weights == WeightType::Int8 || weights == WeightType::Bf16, InvalidArgument)
      << "check_precision: weights must be Int8 or Bf16";
  LoadOptions f32, reduced;
  f32.weights = WeightType::F32;
  reduced.weights = weights;
  return api::compare_on_probe(Model::load(folder, f32), Model::load(folder, reduced), folder, min_cosine, min_top1);
}

bool int8_products_exact() { return ops::int8_products_exact(); }

std::optional<ConversionCheck> read_conversion_check(const std::string& folder) {
  const std::string path = folder + "/model.safetensors";
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  const io::SafetensorsFile file = io::SafetensorsFile::open(path);
  auto it = file.metadata().find("xclip_check");
  if (it == file.metadata().end()) return std::nullopt;
  return ConversionCheck::from_json(it->second, path + " (metadata xclip_check)");
}

ConversionCheck convert_model(const std::string& source, const std::string& destination,
                              const ConvertOptions& options) {
  XCLIP_CHECK(options.weights == WeightType::Int8 || options.weights == WeightType::F32, InvalidArgument)
      << "convert_model: weights must be Int8 or F32";
  std::error_code ec;
  XCLIP_CHECK(fs::is_directory(source, ec), IoError) << source << ": model folder not found";
  fs::create_directories(destination, ec);
  XCLIP_CHECK(!ec && fs::is_directory(destination), IoError)
      << destination << ": cannot create the folder: " << ec.message();
  XCLIP_CHECK(!fs::equivalent(source, destination, ec), InvalidArgument)
      << destination << ": the destination is the source folder; write the converted model elsewhere";
  set_num_threads(options.num_threads);

  // Building the model (the load path, in float32 so that nothing is quantized twice)
  // validates every tensor against config.json and records which linear weights an int8 load
  // runs in int8: exactly those get quantized.
  const XCLIPConfig config = XCLIPConfig::from_file(source + "/config.json");
  io::WeightStore store = io::WeightStore::open_folder(source);
  const model::WeightLoader loader(store, model::LinearPrecision::F32);
  const model::XclipModel validated(loader, config);
  store.finish();

  const bool to_int8 = options.weights == WeightType::Int8;
  // The input channels that are activation outliers on the probe inputs, per weight: their
  // float32 columns are stored beside the int8 values (ops/outlier_channels.h).
  std::map<std::string, std::set<std::int64_t>> outliers;
  if (to_int8) {
    LoadOptions int8;
    int8.weights = WeightType::Int8;
    outliers = api::record_outlier_channels(Model::load(source, int8), source);
  }
  std::vector<std::pair<std::string, Tensor>> floats, int8s;
  for (const auto& [name, t] : store.tensors()) {
    if (is_int8_companion(name, store)) continue;  // written with (or folded into) its weight
    if (to_int8 && loader.quantizable().count(name)) {
      if (auto q = store.get_int8(name, t.shape())) {  // already int8: kept bit for bit
        int8s.emplace_back(name, q->values);
        floats.emplace_back(name + "_scale", q->scales);
        if (q->outlier_channels.defined()) {
          floats.emplace_back(name + "_outlier_channels", q->outlier_channels);
          floats.emplace_back(name + "_outlier_columns", q->outlier_columns);
        }
        continue;
      }
      const float* weight = store.get(name, t.shape());
      ops::QuantizedMatrix q = ops::QuantizedMatrix::quantize(weight, t.dim(0), t.dim(1));
      int8s.emplace_back(name, std::move(q.values));
      floats.emplace_back(name + "_scale", std::move(q.scales));
      if (auto it = outliers.find(name); it != outliers.end()) {
        auto [channels, columns] = float_columns(weight, t.dim(0), t.dim(1), it->second);
        floats.emplace_back(name + "_outlier_channels", std::move(channels));
        floats.emplace_back(name + "_outlier_columns", std::move(columns));
      }
    } else if (is_float(t.dtype()) || t.dtype() == DType::I8) {
      const float* data = store.get(name, t.shape());
      floats.emplace_back(name, t.dtype() == DType::F32 ? t : Tensor::from_values<float>(DType::F32, t.shape(), data));
    } else {
      floats.emplace_back(name, t);  // integer buffers (position_ids) as they are
    }
  }
  store.finish();
  // 8-byte types first and I8 last: every tensor's data then starts aligned to its element.
  std::stable_partition(floats.begin(), floats.end(), [](const auto& e) { return dtype_size(e.second.dtype()) == 8; });
  for (auto& entry : int8s) floats.push_back(std::move(entry));

  std::map<std::string, std::string> metadata = {{"format", "pt"}, {"xclip_weights", to_int8 ? "int8" : "f32"}};
  ConversionCheck check;
  check.passed = true;
  if (to_int8) {
    LoadOptions f32, int8;
    f32.weights = WeightType::F32;
    int8.weights = WeightType::Int8;
    check = api::compare_on_probe(Model::load(source, f32),
                                  Model::from_weights(config, std::map<std::string, Tensor>(floats.begin(), floats.end()), int8),
                                  source, options.min_cosine, options.min_top1);
    XCLIP_CHECK(check.passed || options.force, InvalidArgument)
        << source << ": int8 would change this model's answers: on the probe inputs the int8 embeddings reach "
        << "cosine " << check.min_video_cosine << " (videos) and " << check.min_text_cosine
        << " (texts) of float32's (threshold " << options.min_cosine << "); the best of " << check.prompts
        << " prompts stays the same for " << check.top1_agreement * 100 << " % of " << check.videos
        << " probe videos (threshold " << options.min_top1 * 100 << " %). Nothing was written. Keep float32 (--dtype f32), or write the "
        << "folder anyway (--force: xclip then runs it in float32 unless --dtype int8 is asked for)";
    metadata["xclip_check"] = check.to_json();
  }
  copy_side_files(source, destination);
  io::write_safetensors((fs::path(destination) / "model.safetensors").string(), floats, metadata);
  return check;
}

}  // namespace xclip
