// Workflow: classify / embed many videos with decoding ahead, batching and views.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "bindings.h"
#include "tensors.h"
#include "xclip/pipeline.h"
#include "xclip/safetensors.h"

namespace xclip::python {

namespace {

// Python callables run on the workflow's calling thread, which holds no GIL while the
// workflow runs: take it for the call. Results are also collected for the return value.
struct Collector {
  py::object on_result, on_progress;
  std::vector<VideoResult> results;

  ResultCallback result_callback() {
    return [this](const VideoResult& r) {
      results.push_back(r);
      if (on_result.is_none()) return;
      py::gil_scoped_acquire acquire;
      on_result(r);
    };
  }
  ProgressCallback progress_callback() {
    return [this](const WorkflowProgress& p) {
      if (on_progress.is_none()) return;
      py::gil_scoped_acquire acquire;
      on_progress(p.done, p.total, p.failed, p.elapsed_seconds);
    };
  }
};

}  // namespace

void bind_workflow(py::module_& m) {
  py::class_<WorkflowOptions>(m, "WorkflowOptions")
      .def(py::init<>())
      .def_readwrite("dtype", &WorkflowOptions::dtype)
      .def_readwrite("num_threads", &WorkflowOptions::num_threads)
      .def_readwrite("backend", &WorkflowOptions::backend)
      .def_readwrite("sampling", &WorkflowOptions::sampling)
      .def_readwrite("interpolate_frames", &WorkflowOptions::interpolate_frames)
      .def_readwrite("batch_size", &WorkflowOptions::batch_size)
      .def_readwrite("prefetch", &WorkflowOptions::prefetch)
      .def_readwrite("decode_threads", &WorkflowOptions::decode_threads)
      .def_readwrite("seek", &WorkflowOptions::seek)
      .def_property(
          "max_pixels", [](const WorkflowOptions& o) { return o.decode_limits.max_pixels; },
          [](WorkflowOptions& o, std::int64_t v) { o.decode_limits.max_pixels = v; })
      .def_property(
          "max_frames", [](const WorkflowOptions& o) { return o.decode_limits.max_frames; },
          [](WorkflowOptions& o, std::int64_t v) { o.decode_limits.max_frames = v; })
      .def_readwrite("text_template", &WorkflowOptions::text_template)
      .def_readwrite("normalize", &WorkflowOptions::normalize)
      .def_property(
          "revision", [](const WorkflowOptions& o) { return o.hub.revision; },
          [](WorkflowOptions& o, const std::string& r) { o.hub.revision = r; });

  py::class_<VideoResult>(m, "VideoResult")
      .def_readonly("position", &VideoResult::position)
      .def_readonly("path", &VideoResult::path)
      .def_readonly("error", &VideoResult::error)
      .def_readonly("repeated_frames", &VideoResult::repeated_frames)
      .def_readonly("frame_indices", &VideoResult::frame_indices)
      .def_property_readonly("ok", &VideoResult::ok)
      .def_property_readonly("embedding",
                             [](const VideoResult& r) { return py::array_t<float>(r.embedding.size(), r.embedding.data()); })
      .def_property_readonly("logits", [](const VideoResult& r) { return py::array_t<float>(r.logits.size(), r.logits.data()); })
      .def_property_readonly("probabilities", [](const VideoResult& r) {
        return py::array_t<float>(r.probabilities.size(), r.probabilities.data());
      })
      .def("__repr__", [](const VideoResult& r) {
        return "VideoResult(path='" + r.path + "'" + (r.ok() ? "" : ", error='" + r.error + "'") + ")";
      });

  py::class_<Workflow>(m, "Workflow", "Files -> answers: sampling, decode-ahead, batching, views, streaming.")
      .def(py::init([](const std::string& model, const WorkflowOptions& o) {
             py::gil_scoped_release release;
             return std::make_unique<Workflow>(model, o);
           }),
           py::arg("model"), py::arg("options") = WorkflowOptions())
      .def(
          "embed_texts",
          [](Workflow& w, const std::vector<std::string>& texts) {
            Tensor t;
            {
              py::gil_scoped_release release;
              t = w.embed_texts(texts);
            }
            return to_numpy(t);
          },
          py::arg("texts"))
      .def(
          "classify",
          [](Workflow& w, const std::vector<std::string>& paths, const std::vector<std::string>& labels,
             py::object on_result, py::object on_progress) {
            Collector c{std::move(on_result), std::move(on_progress), {}};
            {
              py::gil_scoped_release release;
              w.classify(paths, labels, c.result_callback(), c.progress_callback());
            }
            return c.results;
          },
          py::arg("paths"), py::arg("labels"), py::arg("on_result") = py::none(), py::arg("on_progress") = py::none())
      .def(
          "embed_videos",
          [](Workflow& w, const std::vector<std::string>& paths, py::object on_result, py::object on_progress) {
            Collector c{std::move(on_result), std::move(on_progress), {}};
            {
              py::gil_scoped_release release;
              w.embed_videos(paths, c.result_callback(), c.progress_callback());
            }
            return c.results;
          },
          py::arg("paths"), py::arg("on_result") = py::none(), py::arg("on_progress") = py::none())
      .def_property_readonly("num_frames", [](const Workflow& w) { return w.options().sampling.num_frames; });
}

void bind_safetensors(py::module_& m) {
  m.def(
      "load_safetensors",
      [](const std::string& path) {
        const SafetensorsContents c = load_safetensors(path);
        py::dict tensors;
        for (const std::string& name : c.names) tensors[py::str(name)] = to_numpy(c.at(name));
        return py::make_tuple(tensors, c.metadata);
      },
      py::arg("path"), "-> (dict of read-only arrays in file order, metadata)");
  m.def(
      "save_safetensors",
      [](const std::string& path, const py::dict& tensors, const std::map<std::string, std::string>& metadata) {
        std::vector<std::pair<std::string, Tensor>> list;
        for (const auto& [name, value] : tensors) {
          const std::string key = py::str(name);
          list.emplace_back(key, from_numpy(value, key));
        }
        save_safetensors(path, list, metadata);
      },
      py::arg("path"), py::arg("tensors"), py::arg("metadata") = std::map<std::string, std::string>());
}

}  // namespace xclip::python
