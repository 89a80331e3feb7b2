// Public Model / Session on top of model::XclipModel (or one tower of it, loaded alone).
#include "xclip/model.h"

#include <sys/stat.h>

#include "api/conversion_check.h"
#include "core/arena.h"
#include "core/check.h"
#include "core/parallel.h"
#include "io/weight_store.h"
#include "model/weight_loader.h"
#include "model/xclip_model.h"
#include "ops/gemm.h"
#include "xclip/convert.h"
#include "xclip/hub.h"

namespace xclip {

namespace {

const char* part_name(ModelPart part) {
  switch (part) {
    case ModelPart::Full:
      return "XCLIPModel";
    case ModelPart::TextModel:
      return "XCLIPTextModel";
    case ModelPart::VisionModel:
      return "XCLIPVisionModel";
  }
  return "?";
}

// State-dict prefix of a tower loaded alone ("" = everything is expected).
std::string part_prefix(ModelPart part) {
  if (part == ModelPart::TextModel) return "text_model.";
  if (part == ModelPart::VisionModel) return "vision_model.";
  return "";
}

WeightType to_weight_type(model::LinearPrecision p) {
  if (p == model::LinearPrecision::Int8) return WeightType::Int8;
  return p == model::LinearPrecision::Bf16 ? WeightType::Bf16 : WeightType::F32;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Auto runs an int8 folder in int8 only when convert_model's self-check passed for it.
bool auto_may_run_int8(WeightType requested, const io::WeightStore& store, const std::string& folder) {
  return requested == WeightType::Auto && store.holds_int8() &&
         api::int8_check_trusted(read_conversion_check(folder), int8_products_exact());
}

}  // namespace

struct Model::Impl {
  std::string path;
  XCLIPConfig config;
  io::WeightStore store;
  model::LinearPrecision precision = model::LinearPrecision::F32;
  ModelPart part = ModelPart::Full;
  bool interpolate_frames = false;
  // Exactly one of these, by `part`.
  std::unique_ptr<model::XclipModel> xclip;
  std::unique_ptr<model::TextTransformer> text;
  std::unique_ptr<model::VisionTransformer> vision;
  int threads = 1;

  const model::XclipModel& full(const char* what) const {
    XCLIP_CHECK(xclip != nullptr, InvalidArgument)
        << what << " needs the whole XCLIPModel, but this model was loaded as " << part_name(part);
    return *xclip;
  }
  const model::TextTransformer& text_model() const {
    if (xclip) return xclip->text_model();
    XCLIP_CHECK(text != nullptr, InvalidArgument)
        << "the text model is not part of this model (loaded as " << part_name(part) << ")";
    return *text;
  }
  const model::VisionTransformer& vision_model() const {
    if (xclip) return xclip->vision_model();
    XCLIP_CHECK(vision != nullptr, InvalidArgument)
        << "the vision model is not part of this model (loaded as " << part_name(part) << ")";
    return *vision;
  }

  // Builds the modules `part` asks for from `store` (every weight checked against config).
  // `int8_trusted`: WeightType::Auto may run the store's int8 weights in int8.
  void build(const LoadOptions& options, bool int8_trusted) {
    precision = model::resolve_precision(options.weights, store, int8_trusted);
    part = options.part;
    interpolate_frames = options.interpolate_frames;
    const model::WeightLoader loader(store, precision);
    build_modules(loader);
    store.finish(part_prefix(part));
    ops::warm_up_gemm();
  }

  void build_modules(const model::WeightLoader& loader) {
    switch (part) {
      case ModelPart::Full:
        xclip = std::make_unique<model::XclipModel>(loader, config);
        break;
      case ModelPart::TextModel:
        text = std::make_unique<model::TextTransformer>(loader, "text_model", config.text_config);
        break;
      case ModelPart::VisionModel:
        vision = std::make_unique<model::VisionTransformer>(loader, "vision_model", config.vision_config);
        break;
    }
  }
};

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

const XCLIPConfig& Model::config() const { return impl_->config; }
const std::string& Model::path() const { return impl_->path; }
int Model::num_threads() const { return impl_->threads; }
WeightType Model::weights() const { return to_weight_type(impl_->precision); }
ModelPart Model::part() const { return impl_->part; }
bool Model::interpolate_frames() const { return impl_->interpolate_frames; }

std::shared_ptr<const Model> Model::load(const std::string& path_or_id, const LoadOptions& options) {
  // A folder wins over a hub id of the same spelling, as in transformers' from_pretrained.
  const std::string path = is_directory(path_or_id) ? path_or_id : resolve_model(path_or_id, options.hub);
  XCLIP_CHECK(is_directory(path), IoError) << path << ": not a folder (expected a model folder with config.json)";
  const int threads = set_num_threads(options.num_threads);
  return run_with_threads(threads, [&] {
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->threads = threads;
    impl->config = XCLIPConfig::from_file(path + "/config.json");
    impl->store = io::WeightStore::open_folder(path);
    impl->build(options, auto_may_run_int8(options.weights, impl->store, path));
    return std::shared_ptr<const Model>(new Model(std::move(impl)));
  });
}

WeightType Model::resolve_weights(const std::string& folder, WeightType requested) {
  // Only Auto depends on the folder; an explicit request is checked as load() checks it.
  const io::WeightStore store = requested == WeightType::Auto ? io::WeightStore::open_folder(folder)
                                                              : io::WeightStore::from_tensors({}, folder);
  return to_weight_type(model::resolve_precision(requested, store, auto_may_run_int8(requested, store, folder)));
}

std::shared_ptr<const Model> Model::from_weights(const XCLIPConfig& config, std::map<std::string, Tensor> weights,
                                                 const LoadOptions& options) {
  const int threads = set_num_threads(options.num_threads);
  return run_with_threads(threads, [&] {
    auto impl = std::make_unique<Impl>();
    impl->path = "";
    impl->threads = threads;
    impl->config = config;
    impl->store = io::WeightStore::from_tensors(std::move(weights), "weights in memory");
    impl->build(options, true);
    return std::shared_ptr<const Model>(new Model(std::move(impl)));
  });
}

std::vector<std::pair<std::string, std::vector<std::int64_t>>> Model::weight_shapes(const XCLIPConfig& config,
                                                                                    ModelPart part) {
  // Building over an empty store records every request (missing weights get placeholders).
  Impl impl;
  impl.config = config;
  impl.part = part;
  impl.store = io::WeightStore::from_tensors({}, "no weights");
  const model::WeightLoader loader(impl.store, model::LinearPrecision::F32);
  impl.build_modules(loader);
  return loader.requested();
}

struct Session::State {
  Arena arena;
};

namespace {

// What every Session call does first: the model's thread count (OpenMP's is per calling
// thread, so a session used from another thread than the one that loaded the model --
// Python threads, a server's workers -- would otherwise run with the process default), a
// fresh arena, and the call's options with the model's load-time interpolate_frames.
ForwardOptions start_call(const Model& model, Arena& arena, ForwardOptions options) {
  set_num_threads(model.num_threads());
  arena.reset();
  options.interpolate_frames = options.interpolate_frames || model.interpolate_frames();
  return options;
}

}  // namespace

Session::Session(std::shared_ptr<const Model> model) : model_(std::move(model)), state_(std::make_unique<State>()) {
  XCLIP_CHECK(model_ != nullptr, InvalidArgument) << "Session needs a loaded model";
}
Session::~Session() = default;

std::size_t Session::workspace_bytes() const { return state_->arena.capacity(); }

NamedTensors Session::forward(const ForwardInputs& inputs, const ForwardOptions& options) {
  return run_with_threads(model_->num_threads(), [&] {
    const model::XclipModel& xclip = model_->impl().full("forward");
    const ForwardOptions o = start_call(*model_, state_->arena, options);
    model::RunState s{state_->arena, o};
    return xclip.forward(inputs, s);
  });
}

Tensor Session::get_text_features(const Tensor& input_ids, const Tensor& attention_mask) {
  return run_with_threads(model_->num_threads(), [&] {
    const model::XclipModel& xclip = model_->impl().full("get_text_features");
    const ForwardOptions options = start_call(*model_, state_->arena, {});
    model::RunState s{state_->arena, options};
    return xclip.get_text_features(input_ids, attention_mask, s);
  });
}

NamedTensors Session::forward_with_text_features(const Tensor& pixel_values, const Tensor& text_features,
                                                 bool interpolate_pos_encoding) {
  return run_with_threads(model_->num_threads(), [&] {
    const model::XclipModel& xclip = model_->impl().full("forward_with_text_features");
    ForwardOptions requested;
    requested.interpolate_pos_encoding = interpolate_pos_encoding;
    const ForwardOptions options = start_call(*model_, state_->arena, requested);
    model::RunState s{state_->arena, options};
    return xclip.forward_with_text_features(pixel_values, text_features, s);
  });
}

Tensor Session::get_video_features(const Tensor& pixel_values, bool interpolate_pos_encoding) {
  return run_with_threads(model_->num_threads(), [&] {
    const model::XclipModel& xclip = model_->impl().full("get_video_features");
    const ForwardOptions options = start_call(*model_, state_->arena, {});
    model::RunState s{state_->arena, options};
    return xclip.get_video_features(pixel_values, interpolate_pos_encoding, s);
  });
}

VideoSearchFeatures Session::get_video_search_features(const Tensor& pixel_values, bool interpolate_pos_encoding) {
  return run_with_threads(model_->num_threads(), [&] {
    const model::XclipModel& xclip = model_->impl().full("get_video_search_features");
    const ForwardOptions options = start_call(*model_, state_->arena, {});
    model::RunState s{state_->arena, options};
    return xclip.video_search_features(pixel_values, interpolate_pos_encoding, s);
  });
}

Tensor Session::logits_from_video_features(const VideoSearchFeatures& video, const Tensor& text_features) {
  return run_with_threads(model_->num_threads(), [&] {
    const model::XclipModel& xclip = model_->impl().full("logits_from_video_features");
    const ForwardOptions options = start_call(*model_, state_->arena, {});
    model::RunState s{state_->arena, options};
    return xclip.logits_from_video_features(video, text_features, s);
  });
}

namespace {

// Hidden states and attentions the encoders recorded as "<tower>_output/<name>", renamed as
// the standalone tower model names them.
void add_recorded(const NamedTensors& recorded, const std::string& tower_prefix, NamedTensors& out) {
  for (const auto& [name, value] : recorded.items())
    out.add(name.rfind(tower_prefix, 0) == 0 ? name.substr(tower_prefix.size()) : name, value);
}

}  // namespace

NamedTensors Session::text_model(const Tensor& input_ids, const Tensor& attention_mask, const ForwardOptions& options) {
  return run_with_threads(model_->num_threads(), [&] {
    const model::TextTransformer& text = model_->impl().text_model();
    const ForwardOptions o = start_call(*model_, state_->arena, options);
    model::RunState s{state_->arena, o};
    NamedTensors recorded;
    s.outputs = &recorded;
    model::TextOutput t = text.forward(input_ids, attention_mask, s, true);
    NamedTensors out;
    out.add("last_hidden_state", t.last_hidden_state);
    out.add("pooler_output", t.pooler_output);
    add_recorded(recorded, "text_model_output/", out);
    return out;
  });
}

NamedTensors Session::vision_model(const Tensor& pixel_values, const ForwardOptions& options) {
  return run_with_threads(model_->num_threads(), [&] {
    const model::VisionTransformer& vision = model_->impl().vision_model();
    const int frames = model_->config().vision_config.num_frames;
    XCLIP_CHECK(pixel_values.defined() && pixel_values.dtype() == DType::F32 && pixel_values.rank() == 4,
                InvalidArgument)
        << "pixel_values: expected F32 [videos*num_frames, channels, height, width], got " << pixel_values.describe();
    XCLIP_CHECK(pixel_values.dim(0) > 0 && pixel_values.dim(0) % frames == 0, InvalidArgument)
        << "pixel_values: " << pixel_values.dim(0)
        << " images is not a whole number of videos of num_frames = " << frames
        << " (the cross-frame attention mixes the frames of one video)";
    const Tensor videos = pixel_values.reshaped(
        {pixel_values.dim(0) / frames, frames, pixel_values.dim(1), pixel_values.dim(2), pixel_values.dim(3)});
    const ForwardOptions o = start_call(*model_, state_->arena, options);
    model::RunState s{state_->arena, o};
    NamedTensors recorded;
    s.outputs = &recorded;
    const model::VisionOutput v = vision.forward(videos, o.interpolate_pos_encoding, s);
    NamedTensors out;
    out.add("last_hidden_state", vision.last_hidden_state(v));
    out.add("pooler_output", v.pooler_output);
    add_recorded(recorded, "vision_model_output/", out);
    return out;
  });
}

}  // namespace xclip
