// Public Model / Session / NamedTensors on top of model::XclipModel.
#include "xclip/model.h"

#include <sys/stat.h>

#include "core/arena.h"
#include "core/check.h"
#include "core/parallel.h"
#include "io/weight_store.h"
#include "model/xclip_model.h"
#include "ops/bf16_linear.h"

namespace xclip {

void NamedTensors::add(std::string name, Tensor value) { items_.emplace_back(std::move(name), std::move(value)); }

bool NamedTensors::contains(const std::string& name) const {
  for (const auto& item : items_)
    if (item.first == name) return true;
  return false;
}

const Tensor& NamedTensors::at(const std::string& name) const {
  for (const auto& item : items_)
    if (item.first == name) return item.second;
  XCLIP_FAIL(InvalidArgument) << "no output named '" << name << "'";
  __builtin_unreachable();  // the failure above always throws
}

struct Model::Impl {
  std::string path;
  XCLIPConfig config;
  io::WeightStore store;
  std::unique_ptr<model::XclipModel> xclip;
  int threads = 1;
};

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

const XCLIPConfig& Model::config() const { return impl_->config; }
const std::string& Model::path() const { return impl_->path; }
int Model::num_threads() const { return impl_->threads; }
WeightType Model::weights() const {
  if (impl_->store.quantize_int8()) return WeightType::Int8;
  return impl_->store.bf16() ? WeightType::Bf16 : WeightType::F32;
}

std::shared_ptr<const Model> Model::load(const std::string& path, const LoadOptions& options) {
  struct stat st {};
  XCLIP_CHECK(::stat(path.c_str(), &st) == 0, IoError) << path << ": model folder not found";
  XCLIP_CHECK(S_ISDIR(st.st_mode), IoError) << path << ": not a folder (expected a model folder with config.json)";
  set_num_threads(options.num_threads);
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->threads = xclip::num_threads();
  impl->config = XCLIPConfig::from_file(path + "/config.json");
  impl->store = io::WeightStore::open_folder(path);
  XCLIP_CHECK(options.weights != WeightType::Bf16 || ops::bf16_supported(), UnsupportedError)
      << "bf16 weights need a CPU with AVX512-BF16, which this one lacks; use int8 or f32";
  impl->store.set_quantize_int8(options.weights == WeightType::Int8 ||
                                (options.weights == WeightType::Auto && impl->store.holds_int8()));
  impl->store.set_bf16(options.weights == WeightType::Bf16);
  impl->xclip = std::make_unique<model::XclipModel>(impl->store, impl->config);
  impl->store.finish();
  return std::shared_ptr<const Model>(new Model(std::move(impl)));
}

struct Session::State {
  Arena arena;
};

Session::Session(std::shared_ptr<const Model> model) : model_(std::move(model)), state_(std::make_unique<State>()) {
  XCLIP_CHECK(model_ != nullptr, InvalidArgument) << "Session needs a loaded model";
}
Session::~Session() = default;

NamedTensors Session::forward(const ForwardInputs& inputs, const ForwardOptions& options) {
  state_->arena.reset();
  model::RunState s{state_->arena, options};
  return model_->impl().xclip->forward(inputs, s);
}

Tensor Session::get_text_features(const Tensor& input_ids, const Tensor& attention_mask) {
  state_->arena.reset();
  const ForwardOptions options;
  model::RunState s{state_->arena, options};
  return model_->impl().xclip->get_text_features(input_ids, attention_mask, s);
}

NamedTensors Session::forward_with_text_features(const Tensor& pixel_values, const Tensor& text_features,
                                                 bool interpolate_pos_encoding) {
  state_->arena.reset();
  ForwardOptions options;
  options.interpolate_pos_encoding = interpolate_pos_encoding;
  model::RunState s{state_->arena, options};
  return model_->impl().xclip->forward_with_text_features(pixel_values, text_features, s);
}

Tensor Session::get_video_features(const Tensor& pixel_values, bool interpolate_pos_encoding) {
  state_->arena.reset();
  const ForwardOptions options;
  model::RunState s{state_->arena, options};
  return model_->impl().xclip->get_video_features(pixel_values, interpolate_pos_encoding, s);
}

}  // namespace xclip
