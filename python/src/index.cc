// VideoIndex: build and search a video collection's index from Python.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "bindings.h"
#include "tensors.h"
#include "xclip/index.h"

namespace xclip::python {

namespace {

py::dict report_dict(const IndexUpdateReport& r) {
  py::dict d;
  d["added"] = r.added;
  d["updated"] = r.updated;
  d["moved"] = r.moved;
  d["removed"] = r.removed;
  d["unchanged"] = r.unchanged;
  d["windows_added"] = r.windows_added;
  d["decoded"] = r.decoded;
  d["pictures_decoded"] = r.pictures_decoded;
  d["pictures_in_files"] = r.pictures_in_files;
  d["failed"] = r.failed;
  d["seconds"] = r.seconds;
  return d;
}

SearchOptions search_options(int top, int rerank, int nprobe) {
  SearchOptions o;
  o.top = top;
  o.rerank = rerank;
  o.nprobe = nprobe;
  return o;
}

}  // namespace

void bind_index(py::module_& m) {
  py::class_<SearchHit>(m, "SearchHit")
      .def_readonly("window_id", &SearchHit::window_id)
      .def_readonly("path", &SearchHit::path)
      .def_readonly("start", &SearchHit::start)
      .def_readonly("end", &SearchHit::end)
      .def_readonly("score", &SearchHit::score)
      .def_readonly("stage1_score", &SearchHit::stage1_score)
      .def_readonly("reranked", &SearchHit::reranked)
      .def("__repr__", [](const SearchHit& h) {
        return "SearchHit(path='" + h.path + "', start=" + std::to_string(h.start) + ", end=" + std::to_string(h.end) +
               ", score=" + std::to_string(h.score) + ")";
      });

  py::class_<IndexedWindow>(m, "IndexedWindow")
      .def_readonly("id", &IndexedWindow::id)
      .def_readonly("path", &IndexedWindow::path)
      .def_readonly("start", &IndexedWindow::start)
      .def_readonly("end", &IndexedWindow::end)
      .def_readonly("frame_indices", &IndexedWindow::frame_indices)
      .def_property_readonly("embedding", [](const IndexedWindow& w) {
        return py::array_t<float>(w.embedding.size(), w.embedding.data());
      });

  py::class_<VideoIndex>(m, "VideoIndex",
                         "A video collection's search index: windows with X-CLIP features, two-stage search.")
      .def(py::init([](const std::string& dir, const std::string& model, double window_seconds, double stride_seconds,
                       int num_frames, WeightType dtype, int num_threads, bool create, std::int64_t approximate_from,
                       const std::string& seek, int shards) {
             IndexOpenOptions o;
             o.settings.seek = parse_seek_mode(seek);
             o.model = model;
             o.settings.window_seconds = window_seconds;
             o.settings.stride_seconds = stride_seconds;
             o.settings.num_frames = num_frames;
             o.dtype = dtype;
             o.num_threads = num_threads;
             o.create = create;
             o.approximate_from = approximate_from;
             o.shards = shards;
             py::gil_scoped_release release;
             return std::make_unique<VideoIndex>(VideoIndex::open(dir, o));
           }),
           py::arg("dir"), py::arg("model") = "", py::arg("window_seconds") = 10.0, py::arg("stride_seconds") = 0.0,
           py::arg("num_frames") = 0, py::arg("dtype") = WeightType::Auto, py::arg("num_threads") = 0,
           py::arg("create") = true, py::arg("approximate_from") = 100000, py::arg("seek") = "exact",
           py::arg("shards") = 0,
           "dtype Auto (as everywhere): int8 for a folder from `xclip convert` whose self-check passed, else "
           "float32. seek='keyframe' embeds the keyframe at or before each sampled frame (fast, inexact; "
           "recorded in the index). shards=N creates a collection of N shards (searched as one index); "
           "opening, 0 takes what the folder holds")
      .def(
          "update",
          [](VideoIndex& index, const std::vector<std::string>& paths, py::object on_progress, int shard,
             bool remove_vanished) {
            IndexProgressCallback progress;
            if (!on_progress.is_none())
              progress = [&on_progress](const IndexProgress& p) {
                py::gil_scoped_acquire acquire;
                on_progress(p.files_done, p.files_total, p.windows_done, p.elapsed_seconds);
              };
            IndexUpdateOptions u;
            u.shard = shard;
            u.remove_vanished = remove_vanished;
            IndexUpdateReport r;
            {
              py::gil_scoped_release release;
              r = index.update(paths, progress, u);
            }
            return report_dict(r);
          },
          py::arg("paths"), py::arg("on_progress") = py::none(), py::arg("shard") = -1,
          py::arg("remove_vanished") = true,
          "Adds new, re-embeds changed, renames moved and drops deleted videos under `paths`. "
          "on_progress(files_done, files_total, windows_done, seconds) after each embedded file. A "
          "collection: shard=K updates only shard K (one process per shard); remove_vanished=False leaves "
          "files gone from disk for a later pass (another shard may still adopt them).")
      .def("remove", &VideoIndex::remove, py::arg("paths"), py::call_guard<py::gil_scoped_release>())
      .def(
          "search",
          [](VideoIndex& index, const std::string& text, int top, int rerank, int nprobe) {
            return index.search(text, search_options(top, rerank, nprobe));
          },
          py::arg("text"), py::arg("top") = 10, py::arg("rerank") = 100, py::arg("nprobe") = 32,
          py::call_guard<py::gil_scoped_release>())
      .def(
          "search_like",
          [](VideoIndex& index, const std::string& path, int top, int nprobe) {
            return index.search_like(path, search_options(top, 0, nprobe));
          },
          py::arg("video"), py::arg("top") = 10, py::arg("nprobe") = 32, py::call_guard<py::gil_scoped_release>())
      .def(
          "search_text_features",
          [](VideoIndex& index, const py::object& features, int top, int rerank, int nprobe) {
            const Tensor t = from_numpy(features, "text_features");
            py::gil_scoped_release release;
            return index.search_text_features(t, search_options(top, rerank, nprobe));
          },
          py::arg("text_features"), py::arg("top") = 10, py::arg("rerank") = 100, py::arg("nprobe") = 32)
      .def(
          "text_features",
          [](VideoIndex& index, const std::string& text) {
            Tensor t;
            {
              py::gil_scoped_release release;
              t = index.text_features(text);
            }
            return to_numpy(t);
          },
          py::arg("text"), "The query's get_text_features row [1, projection_dim], as search() embeds it.")
      .def("thumbnail_path", &VideoIndex::thumbnail_path, py::arg("window_id"))
      .def("thumbnail",
           [](const VideoIndex& index, std::int64_t id) {
             const std::vector<std::uint8_t> jpeg = index.thumbnail(id);
             return py::bytes(reinterpret_cast<const char*>(jpeg.data()), jpeg.size());
           },
           py::arg("window_id"))
      .def("windows", &VideoIndex::windows)
      .def_static("shard_of", &collection_shard_of, py::arg("path"), py::arg("shards"),
                  "The shard of a collection of `shards` that holds the file at `path`.")
      .def("info", [](const VideoIndex& index) {
        const IndexInfo i = index.info();
        py::dict d;
        d["dir"] = i.dir;
        d["model"] = i.model;
        d["model_fingerprint"] = i.model_fingerprint;
        d["revision"] = i.revision;
        d["dtype"] = i.dtype;
        d["format_version"] = i.format_version;
        d["window_seconds"] = i.settings.window_seconds;
        d["stride_seconds"] = i.settings.stride_seconds;
        d["num_frames"] = i.settings.num_frames;
        d["seek"] = seek_mode_name(i.settings.seek);
        d["videos"] = i.videos;
        d["windows"] = i.windows;
        d["stage1"] = i.stage1;
        d["shards"] = i.shards;
        d["shard_dirs"] = i.shard_dirs;
        return d;
      });
}

}  // namespace xclip::python
