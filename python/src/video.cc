// VideoReader and the frame samplers.
#include <pybind11/stl.h>

#include "bindings.h"
#include "tensors.h"
#include "xclip/error.h"
#include "xclip/video.h"

namespace xclip::python {

namespace {

// Closing a decoder joins FFmpeg's frame threads, which may be waiting for the GIL (PyAV,
// when imported, forwards FFmpeg's log lines to Python): close without holding it.
struct ReleaseGilDelete {
  void operator()(VideoReader* reader) const {
    py::gil_scoped_release release;
    delete reader;
  }
};
using ReaderHolder = std::unique_ptr<VideoReader, ReleaseGilDelete>;

py::tuple frames_tuple(const DecodedFrames& d) {
  return py::make_tuple(to_numpy(d.frames), py::cast(d.indices), py::cast(d.pts_seconds));
}

}  // namespace

void bind_video(py::module_& m) {
  py::class_<VideoInfo>(m, "VideoInfo")
      .def_readonly("path", &VideoInfo::path)
      .def_readonly("container", &VideoInfo::container)
      .def_readonly("codec", &VideoInfo::codec)
      .def_readonly("pixel_format", &VideoInfo::pixel_format)
      .def_readonly("width", &VideoInfo::width)
      .def_readonly("height", &VideoInfo::height)
      .def_readonly("rotation", &VideoInfo::rotation)
      .def_readonly("average_fps", &VideoInfo::average_fps)
      .def_readonly("duration_seconds", &VideoInfo::duration_seconds)
      .def_readonly("frame_count", &VideoInfo::frame_count)
      .def_readonly("frame_count_exact", &VideoInfo::frame_count_exact)
      .def_readonly("frame_index", &VideoInfo::frame_index)
      .def("__repr__", [](const VideoInfo& i) {
        return "VideoInfo(path='" + i.path + "', codec='" + i.codec + "', " + std::to_string(i.width) + "x" +
               std::to_string(i.height) + ", frames=" + std::to_string(i.frame_count) + ")";
      });

  py::enum_<SeekMode>(m, "SeekMode").value("Exact", SeekMode::Exact).value("Keyframe", SeekMode::Keyframe);

  py::class_<VideoReader, ReaderHolder>(m, "VideoReader", "Frames of any video FFmpeg reads, by index or time.")
      .def(py::init([](const std::string& path, bool exact_count, int threads, const std::string& seek,
                       std::int64_t max_pixels, std::int64_t max_frames) {
             VideoOpenOptions o;
             if (max_pixels <= 0 || max_frames <= 0) throw InvalidArgument("max_pixels and max_frames must be positive");
             o.limits.max_pixels = max_pixels;
             o.limits.max_frames = max_frames;
             o.frame_count = exact_count ? FrameCountMode::Exact : FrameCountMode::Header;
             o.threads = threads;
             o.seek = parse_seek_mode(seek);
             py::gil_scoped_release release;
             return ReaderHolder(new VideoReader(VideoReader::open(path, o)));
           }),
           py::arg("path"), py::arg("exact_count") = true, py::arg("threads") = 0, py::arg("seek") = "exact",
           py::arg("max_pixels") = DecodeLimits{}.max_pixels, py::arg("max_frames") = DecodeLimits{}.max_frames,
           "seek='keyframe' replaces each requested frame by the keyframe at or before it (inexact, fast); "
           "frames_at returns the indices used. max_pixels (per frame) and max_frames (per call) bound what "
           "a file may cost to decode (defaults: 8192x4320, 1024)")
      .def_property_readonly("info", &VideoReader::info)
      .def(
          "frames_at",
          [](VideoReader& r, const std::vector<std::int64_t>& indices) {
            DecodedFrames d;
            {
              py::gil_scoped_release release;
              d = r.frames_at(indices);
            }
            return frames_tuple(d);
          },
          py::arg("indices"), "-> (frames U8 [T, H, W, 3], indices, pts_seconds)")
      .def(
          "frames_at_times",
          [](VideoReader& r, const std::vector<double>& seconds) {
            DecodedFrames d;
            {
              py::gil_scoped_release release;
              d = r.frames_at_times(seconds);
            }
            return frames_tuple(d);
          },
          py::arg("seconds"))
      .def("index_at_time", &VideoReader::index_at_time, py::arg("seconds"),
           py::call_guard<py::gil_scoped_release>());

  py::enum_<SamplingMethod>(m, "SamplingMethod")
      .value("Uniform", SamplingMethod::Uniform)
      .value("Consecutive", SamplingMethod::Consecutive)
      .value("Random", SamplingMethod::Random);
  py::class_<SamplingOptions>(m, "SamplingOptions")
      .def(py::init<>())
      .def_readwrite("num_frames", &SamplingOptions::num_frames)
      .def_readwrite("method", &SamplingOptions::method)
      .def_readwrite("frame_sample_rate", &SamplingOptions::frame_sample_rate)
      .def_readwrite("seed", &SamplingOptions::seed)
      .def_readwrite("clips", &SamplingOptions::clips)
      .def_readwrite("start", &SamplingOptions::start)
      .def_readwrite("end", &SamplingOptions::end)
      .def_readwrite("indices", &SamplingOptions::indices);
  m.def(
      "sample_clips",
      [](VideoReader& reader, const SamplingOptions& o) {
        SampledClips c;
        {
          py::gil_scoped_release release;
          c = sample_clips(reader, o);
        }
        return py::make_tuple(py::cast(c.indices), c.repeated);
      },
      py::arg("reader"), py::arg("options"), "-> (index lists per view, frames repeat)");
  m.def("parse_sampling_method", &parse_sampling_method, py::arg("name"));

  py::module_ s = m.def_submodule("sampling", "Frame samplers: frame count -> frame indices.");
  s.def("uniform", &sampling::uniform, py::arg("frame_count"), py::arg("num_frames"));
  s.def("consecutive", &sampling::consecutive, py::arg("frame_count"), py::arg("clip_len"),
        py::arg("frame_sample_rate"), py::arg("seed"));
  s.def("random", &sampling::random, py::arg("frame_count"), py::arg("num_frames"), py::arg("seed"));
  s.def("uniform_clips", &sampling::uniform_clips, py::arg("frame_count"), py::arg("num_frames"), py::arg("clips"));
}

}  // namespace xclip::python
