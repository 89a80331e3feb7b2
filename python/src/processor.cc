// Tokenizer, VideoProcessor and XCLIPProcessor.
#include <pybind11/stl.h>

#include <filesystem>

#include "bindings.h"
#include "tensors.h"
#include "xclip/error.h"
#include "xclip/hub.h"
#include "xclip/processor.h"

namespace xclip::python {

namespace {

std::string folder_of(const std::string& path_or_id, const std::string& revision) {
  std::error_code ec;
  if (std::filesystem::is_directory(path_or_id, ec)) return path_or_id;
  HubOptions hub;
  hub.revision = revision;
  py::gil_scoped_release release;
  return resolve_model(path_or_id, hub);
}

TokenizeOptions tokenize_options(const std::string& padding, bool truncation, std::optional<int> max_length,
                                 bool add_special_tokens) {
  TokenizeOptions o;
  if (padding == "longest") o.padding = Padding::Longest;
  else if (padding == "max_length") o.padding = Padding::MaxLength;
  else if (padding == "do_not_pad") o.padding = Padding::DoNotPad;
  else throw InvalidArgument("padding must be 'longest', 'max_length' or 'do_not_pad', got '" + padding + "'");
  o.truncation = truncation;
  o.max_length = max_length;
  o.add_special_tokens = add_special_tokens;
  return o;
}

std::vector<Tensor> videos_from(const py::list& videos) {
  std::vector<Tensor> out;
  for (std::size_t i = 0; i < videos.size(); ++i)
    out.push_back(from_numpy(videos[i], "videos[" + std::to_string(i) + "]"));
  return out;
}

}  // namespace

void bind_processor(py::module_& m) {
  py::enum_<ResizeBackend>(m, "ResizeBackend")
      .value("Torchvision", ResizeBackend::Torchvision)
      .value("Pil", ResizeBackend::Pil);

  py::class_<Tokenizer>(m, "Tokenizer", "The CLIP byte-level BPE tokenizer (as CLIPTokenizerFast).")
      .def_static(
          "from_pretrained",
          [](const std::string& path_or_id, const std::string& revision) {
            return Tokenizer::from_folder(folder_of(path_or_id, revision));
          },
          py::arg("path_or_id"), py::arg("revision") = "")
      .def(
          "encode_batch",
          [](const Tokenizer& t, const std::vector<std::string>& texts, const std::string& padding, bool truncation,
             std::optional<int> max_length, bool add_special_tokens) {
            const TokenizeOptions o = tokenize_options(padding, truncation, max_length, add_special_tokens);
            std::vector<Encoding> enc;
            {
              py::gil_scoped_release release;
              enc = t.encode_batch(texts, o);
            }
            py::list ids, masks;
            for (const Encoding& e : enc) {
              ids.append(py::cast(e.input_ids));
              masks.append(py::cast(e.attention_mask));
            }
            return py::make_tuple(ids, masks);
          },
          py::arg("texts"), py::arg("padding") = "do_not_pad", py::arg("truncation") = false,
          py::arg("max_length") = py::none(), py::arg("add_special_tokens") = true,
          "-> (input_ids, attention_mask) as lists of lists")
      .def("decode", &Tokenizer::decode, py::arg("ids"), py::arg("skip_special_tokens") = false)
      .def("batch_decode", &Tokenizer::batch_decode, py::arg("ids"), py::arg("skip_special_tokens") = false)
      .def("convert_ids_to_tokens", &Tokenizer::convert_ids_to_tokens, py::arg("ids"))
      .def_property_readonly("vocab_size", &Tokenizer::vocab_size)
      .def_property_readonly("pad_token_id", &Tokenizer::pad_token_id)
      .def_property_readonly("model_max_length", &Tokenizer::model_max_length);

  py::class_<ImageProcessorConfig>(m, "ImageProcessorConfig", "preprocessor_config.json of VideoMAEImageProcessor.")
      .def(py::init<>())
      .def_readwrite("do_resize", &ImageProcessorConfig::do_resize)
      .def_readwrite("shortest_edge", &ImageProcessorConfig::shortest_edge)
      .def_readwrite("height", &ImageProcessorConfig::height)
      .def_readwrite("width", &ImageProcessorConfig::width)
      .def_readwrite("do_center_crop", &ImageProcessorConfig::do_center_crop)
      .def_readwrite("crop_height", &ImageProcessorConfig::crop_height)
      .def_readwrite("crop_width", &ImageProcessorConfig::crop_width)
      .def_readwrite("do_rescale", &ImageProcessorConfig::do_rescale)
      .def_readwrite("rescale_factor", &ImageProcessorConfig::rescale_factor)
      .def_readwrite("do_normalize", &ImageProcessorConfig::do_normalize)
      .def_readwrite("image_mean", &ImageProcessorConfig::image_mean)
      .def_readwrite("image_std", &ImageProcessorConfig::image_std);

  py::class_<VideoProcessor>(m, "VideoProcessor", "VideoMAEImageProcessor of a model folder.")
      .def(py::init<ImageProcessorConfig, ResizeBackend>(), py::arg("config"),
           py::arg("backend") = ResizeBackend::Torchvision)
      .def_property_readonly("config", [](const VideoProcessor& p) { return p.config(); }, "a copy")
      .def_property_readonly("backend", &VideoProcessor::backend)
      .def_static("from_folder", &VideoProcessor::from_folder, py::arg("folder"),
                  py::arg("backend") = ResizeBackend::Torchvision)
      .def(
          "preprocess",
          [](const VideoProcessor& p, const py::list& videos) {
            const std::vector<Tensor> in = videos_from(videos);
            Tensor out;
            {
              py::gil_scoped_release release;
              out = p.preprocess(in);
            }
            return to_numpy(out);
          },
          py::arg("videos"), "U8 [frames, H, W, C] arrays -> F32 [videos, frames, 3, h, w]");

  py::class_<XCLIPProcessor>(m, "XCLIPProcessor", "CLIP tokenizer + VideoMAE image processor.")
      .def_static(
          "from_pretrained",
          [](const std::string& path_or_id, ResizeBackend backend, const std::string& revision) {
            return XCLIPProcessor::from_folder(folder_of(path_or_id, revision), backend);
          },
          py::arg("path_or_id"), py::arg("backend") = ResizeBackend::Torchvision, py::arg("revision") = "")
      .def_property_readonly("tokenizer", &XCLIPProcessor::tokenizer, py::return_value_policy::reference_internal)
      .def_property_readonly("video_processor", &XCLIPProcessor::video_processor,
                             py::return_value_policy::reference_internal);
}

}  // namespace xclip::python
