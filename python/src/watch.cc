// The watcher for Python (xclip.watch wraps it in a generator): records come to a callable as
// JSON lines, the vocabulary the CLI prints.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <atomic>

#include "bindings.h"
#include "xclip/watch.h"

namespace xclip::python {

namespace {

struct PyWatcher {
  std::unique_ptr<Watcher> watcher;
  std::atomic<bool> stop{false};
};

}  // namespace

void bind_watch(py::module_& m) {
  py::class_<PyWatcher>(m, "Watcher", "Standing labels and queries on a live source (see xclip.watch).")
      .def(py::init([](const std::string& model, const std::vector<std::string>& labels,
                       const std::vector<std::string>& queries, const std::vector<std::string>& background,
                       const std::string& text_template, double window, double stride, double on, double off, int hold,
                       double cooldown, const std::string& thumbnails, const std::string& exec,
                       const std::string& webhook, bool follow, double timeout, int max_reconnects,
                       std::optional<bool> skip_when_behind, WeightType dtype, int num_threads, int max_frames) {
             WatchOptions o;
             o.model = model;
             o.labels = labels;
             o.queries = queries;
             o.background = background;
             o.text_template = text_template;
             o.window_seconds = window;
             o.stride_seconds = stride;
             o.events = EventOptions{on, hold, off, cooldown};
             o.thumbnails_dir = thumbnails;
             o.exec_command = exec;
             o.webhook_url = webhook;
             o.follow = follow;
             o.open_timeout_seconds = o.read_timeout_seconds = timeout;
             o.max_reconnects = max_reconnects;
             o.skip_when_behind = skip_when_behind;
             o.dtype = dtype;
             o.num_threads = num_threads;
             o.max_frames_per_window = max_frames;
             auto w = std::make_unique<PyWatcher>();
             py::gil_scoped_release release;
             w->watcher = std::make_unique<Watcher>(o);
             return w;
           }),
           py::arg("model"), py::arg("labels"), py::arg("queries"), py::arg("background"), py::arg("template"),
           py::arg("window"), py::arg("stride"), py::arg("on"), py::arg("off"), py::arg("hold"), py::arg("cooldown"),
           py::arg("thumbnails"), py::arg("exec"), py::arg("webhook"), py::arg("follow"), py::arg("timeout"),
           py::arg("max_reconnects"), py::arg("skip_when_behind"), py::arg("dtype"), py::arg("num_threads"),
           py::arg("max_frames"))
      .def(
          "run",
          [](PyWatcher& w, const std::string& source, const py::function& on_record) {
            WatchSummary s;
            {
              py::gil_scoped_release release;
              s = w.watcher->run(
                  source,
                  [&](const WatchRecord& r) {
                    const std::string line = watch_record_json(r);
                    py::gil_scoped_acquire acquire;
                    on_record(line);
                  },
                  &w.stop);
            }
            py::dict d;
            d["frames"] = s.frames;
            d["windows"] = s.windows;
            d["skipped"] = s.skipped;
            d["events"] = s.events;
            d["corrupt_packets"] = s.corrupt_packets;
            d["reconnects"] = s.reconnects;
            d["deliveries_failed"] = s.deliveries_failed;
            d["deliveries_dropped"] = s.deliveries_dropped;
            return d;
          },
          py::arg("source"), py::arg("on_record"))
      .def("stop", [](PyWatcher& w) { w.stop = true; });
}

}  // namespace xclip::python
