// Model (shared, immutable) and Session (per-thread scratch memory).
#include <pybind11/stl.h>

#include "bindings.h"
#include "tensors.h"
#include "xclip/convert.h"
#include "xclip/hub.h"
#include "xclip/model.h"

namespace xclip::python {

namespace {

using ModelPtr = std::shared_ptr<Model>;

ModelPtr mutable_ptr(std::shared_ptr<const Model> m) { return std::const_pointer_cast<Model>(std::move(m)); }

LoadOptions load_options(WeightType dtype, ModelPart part, int num_threads, const std::string& revision,
                         bool interpolate_frames) {
  LoadOptions o;
  o.interpolate_frames = interpolate_frames;
  o.weights = dtype;
  o.part = part;
  o.num_threads = num_threads;
  o.hub.revision = revision;
  return o;
}

ForwardOptions forward_options(bool hidden_states, bool attentions, bool loss, bool interpolate) {
  ForwardOptions o;
  o.output_hidden_states = hidden_states;
  o.output_attentions = attentions;
  o.return_loss = loss;
  o.interpolate_pos_encoding = interpolate;
  return o;
}

// Runs `compute` without the GIL (inputs were converted before, outputs are converted after).
template <class F>
auto without_gil(F compute) {
  py::gil_scoped_release release;
  return compute();
}

}  // namespace

void bind_model(py::module_& m) {
  m.def(
      "resolve_model",
      [](const std::string& path_or_id, const std::string& revision, bool progress, bool offline) {
        HubOptions hub;
        hub.revision = revision;
        hub.progress = progress;
        if (offline) hub.offline = true;  // else $HF_HUB_OFFLINE decides
        py::gil_scoped_release release;
        return resolve_model(path_or_id, hub);
      },
      py::arg("path_or_id"), py::arg("revision") = "", py::arg("progress") = true, py::arg("offline") = false,
      "A model folder for a folder or a hub id (downloaded into the Hugging Face cache if needed; offline=True: "
      "from the cache only, as transformers' local_files_only).");
  m.def("int8_products_exact", &int8_products_exact,
        "Whether this CPU's int8 kernels give exact products (VNNI); where they do not, int8 weights are "
        "multiplied in float32 after dequantization.");
  py::enum_<WeightType>(m, "WeightType")
      .value("Auto", WeightType::Auto)
      .value("F32", WeightType::F32)
      .value("Int8", WeightType::Int8)
      .value("Bf16", WeightType::Bf16);
  m.def("weight_type_name", &weight_type_name, py::arg("type"),
        "The one spelling of a precision: 'float32', 'bfloat16', 'int8' or 'auto'.");
  m.def("parse_weight_type", &parse_weight_type, py::arg("name"),
        "A precision from any accepted spelling (float32/f32/fp32, bfloat16/bf16, int8, auto).");
  py::enum_<ModelPart>(m, "ModelPart")
      .value("Full", ModelPart::Full)
      .value("TextModel", ModelPart::TextModel)
      .value("VisionModel", ModelPart::VisionModel);

  py::class_<Model, ModelPtr>(m, "Model", "A loaded X-CLIP model; immutable, share it between threads.")
      .def_static(
          "load",
          [](const std::string& path, WeightType dtype, ModelPart part, int threads, const std::string& revision,
             bool interpolate_frames) {
            const LoadOptions o = load_options(dtype, part, threads, revision, interpolate_frames);
            return mutable_ptr(without_gil([&] { return Model::load(path, o); }));
          },
          py::arg("path_or_id"), py::arg("dtype") = WeightType::Auto, py::arg("part") = ModelPart::Full,
          py::arg("num_threads") = 0, py::arg("revision") = "", py::arg("interpolate_frames") = false,
          "Loads a model folder or a hub id (org/name[@revision]) through the Hugging Face cache.")
      .def_static(
          "from_weights",
          [](const std::string& config_json, const py::dict& weights, WeightType dtype, ModelPart part, int threads) {
            const XCLIPConfig config = XCLIPConfig::from_json(config_json, "config");
            std::map<std::string, Tensor> tensors;
            for (const auto& [name, value] : weights) {
              const std::string key = py::str(name);
              tensors.emplace(key, from_numpy(value, key));
            }
            const LoadOptions o = load_options(dtype, part, threads, "", false);
            return mutable_ptr(without_gil([&] { return Model::from_weights(config, std::move(tensors), o); }));
          },
          py::arg("config_json"), py::arg("weights"), py::arg("dtype") = WeightType::Auto,
          py::arg("part") = ModelPart::Full, py::arg("num_threads") = 0,
          "A model from a config (config.json text) and a dict of state-dict arrays.")
      .def_static(
          "weight_shapes",
          [](const std::string& config_json, ModelPart part) {
            return Model::weight_shapes(XCLIPConfig::from_json(config_json, "config"), part);
          },
          py::arg("config_json"), py::arg("part") = ModelPart::Full,
          "[(state-dict name, shape)] of the floating-point weights a model of this config reads.")
      .def_property_readonly("path", &Model::path)
      .def_property_readonly("num_threads", &Model::num_threads)
      .def_property_readonly("part", &Model::part)
      .def_property_readonly("dtype", [](const Model& model) { return weight_type_name(model.weights()); })
      .def_property_readonly("num_frames", [](const Model& model) { return model.config().vision_config.num_frames; })
      .def_property_readonly("interpolate_frames", &Model::interpolate_frames)
      .def_property_readonly("projection_dim", [](const Model& model) { return model.config().projection_dim; });

  py::class_<Session>(m, "Session", "Scratch memory for one thread running a Model.")
      .def(py::init([](ModelPtr model) { return std::make_unique<Session>(model); }), py::arg("model"))
      .def(
          "forward",
          [](Session& s, const py::handle& input_ids, const py::handle& pixel_values, const py::handle& attention_mask,
             bool hidden_states, bool attentions, bool loss, bool interpolate) {
            ForwardInputs in;
            in.input_ids = from_numpy(input_ids, "input_ids");
            in.pixel_values = from_numpy(pixel_values, "pixel_values");
            in.attention_mask = optional_from_numpy(attention_mask, "attention_mask");
            const ForwardOptions o = forward_options(hidden_states, attentions, loss, interpolate);
            return to_dict(without_gil([&] { return s.forward(in, o); }));
          },
          py::arg("input_ids"), py::arg("pixel_values"), py::arg("attention_mask") = py::none(),
          py::arg("output_hidden_states") = false, py::arg("output_attentions") = false, py::arg("return_loss") = false,
          py::arg("interpolate_pos_encoding") = false, "XCLIPModel.forward: a dict of outputs by transformers' names.")
      .def(
          "get_text_features",
          [](Session& s, const py::handle& input_ids, const py::handle& attention_mask) {
            const Tensor ids = from_numpy(input_ids, "input_ids");
            const Tensor mask = optional_from_numpy(attention_mask, "attention_mask");
            return to_numpy(without_gil([&] { return s.get_text_features(ids, mask); }));
          },
          py::arg("input_ids"), py::arg("attention_mask") = py::none())
      .def(
          "get_video_features",
          [](Session& s, const py::handle& pixel_values, bool interpolate) {
            const Tensor pixels = from_numpy(pixel_values, "pixel_values");
            return to_numpy(without_gil([&] { return s.get_video_features(pixels, interpolate); }));
          },
          py::arg("pixel_values"), py::arg("interpolate_pos_encoding") = false)
      .def(
          "forward_with_text_features",
          [](Session& s, const py::handle& pixel_values, const py::handle& text_features, bool interpolate) {
            const Tensor pixels = from_numpy(pixel_values, "pixel_values");
            const Tensor features = from_numpy(text_features, "text_features");
            return to_dict(without_gil([&] { return s.forward_with_text_features(pixels, features, interpolate); }));
          },
          py::arg("pixel_values"), py::arg("text_features"), py::arg("interpolate_pos_encoding") = false)
      .def(
          "text_model",
          [](Session& s, const py::handle& input_ids, const py::handle& attention_mask, bool hidden_states,
             bool attentions) {
            const Tensor ids = from_numpy(input_ids, "input_ids");
            const Tensor mask = optional_from_numpy(attention_mask, "attention_mask");
            const ForwardOptions o = forward_options(hidden_states, attentions, false, false);
            return to_dict(without_gil([&] { return s.text_model(ids, mask, o); }));
          },
          py::arg("input_ids"), py::arg("attention_mask") = py::none(), py::arg("output_hidden_states") = false,
          py::arg("output_attentions") = false, "XCLIPTextModel.forward")
      .def(
          "vision_model",
          [](Session& s, const py::handle& pixel_values, bool hidden_states, bool attentions, bool interpolate) {
            const Tensor pixels = from_numpy(pixel_values, "pixel_values");
            const ForwardOptions o = forward_options(hidden_states, attentions, false, interpolate);
            return to_dict(without_gil([&] { return s.vision_model(pixels, o); }));
          },
          py::arg("pixel_values"), py::arg("output_hidden_states") = false, py::arg("output_attentions") = false,
          py::arg("interpolate_pos_encoding") = false, "XCLIPVisionModel.forward on [videos*frames, 3, H, W]");
}

}  // namespace xclip::python
